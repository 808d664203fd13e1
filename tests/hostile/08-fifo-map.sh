#!/bin/sh
# Defect 6. A FIFO named *.map in the rules directory.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fifo.sh"
mkfifo "$work/rules/zz-local.map"
fifo_case "FIFO *.map" 'zz-local.map: a FIFO, not a regular file: refused' --rules "$work/rules"
