#!/bin/sh
# Defect 8. A capture with a 16-byte snaplen: no IP header left, 0 records.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snaplen.sh"
snaplen_case 16
