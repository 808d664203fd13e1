#!/bin/sh
# Defect 8. A capture with a 60-byte snaplen: headers, no Modbus payload.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snaplen.sh"
snaplen_case 60
