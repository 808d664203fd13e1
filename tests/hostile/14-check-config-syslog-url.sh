#!/bin/sh
# Defect 7. --syslog bogus://x
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/checkcfg.sh"
check_same "--syslog bogus://x" --syslog bogus://x
