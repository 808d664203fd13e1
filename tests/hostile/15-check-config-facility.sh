#!/bin/sh
# Defect 7. --syslog-facility nope
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/checkcfg.sh"
check_same "--syslog-facility nope" --syslog udp://127.0.0.1:9 --syslog-facility nope
