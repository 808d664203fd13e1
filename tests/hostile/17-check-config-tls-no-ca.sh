#!/bin/sh
# Defect 7. tls:// without --syslog-ca
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/checkcfg.sh"
check_same "tls:// without a CA file" --syslog tls://127.0.0.1:6514
