#!/bin/sh
# Defect 6. -c names a FIFO.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fifo.sh"
mkfifo "$work/x1367ids.conf"
fifo_case "-c FIFO" 'x1367ids.conf: a FIFO, not a regular file: refused' --rules "$rules" -c "$work/x1367ids.conf"
