#!/bin/sh
# Defect 7. --spool-dir naming a file (/etc/passwd in the issue; a file of
# the test's here).  --check-config must not create anything either.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/checkcfg.sh"
printf 'root:x:0:0::/root:/bin/sh\n' >"$work/passwd"
check_same "--spool-dir FILE" --syslog udp://127.0.0.1:9 --spool-dir "$work/passwd"
