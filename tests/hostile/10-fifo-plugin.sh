#!/bin/sh
# Defect 6. A FIFO named *.so in the plugin directory (a directory that is
# otherwise trusted: ours, writable by nobody else).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fifo.sh"
mkdir -m 0755 "$work/plugins"
mkfifo -m 0644 "$work/plugins/evil.so"
fifo_case "FIFO *.so" 'evil.so: .*not a regular file: refused' --rules "$rules" --plugin-dir "$work/plugins"
