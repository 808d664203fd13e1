#!/bin/sh
# Defect 6. --syslog-ca, --syslog-cert, --syslog-key name FIFOs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fifo.sh"
mkfifo "$work/ca.pem"
fifo_case "--syslog-ca FIFO" '^x1367ids: --syslog-ca .*ca.pem: a FIFO, not a regular file: refused' --rules "$rules" \
	--syslog tls://127.0.0.1:6514 --syslog-ca "$work/ca.pem"
