#!/bin/sh
# Self-test of the validator, the oracle of the regression tests: known-good
# records pass, and each known-bad line is refused with the exact message.
#   tests/tools/x1367-validate-selftest.sh [path/to/x1367-validate]
set -u
V=${1:-${top_builddir:-.}/tests/tools/x1367-validate}
T=$(mktemp -d /tmp/x1367-validate-selftest.XXXXXX) || exit 99
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; fail=1; }

S='"Description":{"Status":"This message was sent from IDS not IoTGW"}'
H='"Timestamp":"2018-08-28T09:34:55.1Z","Reporter":{"IP Address":"1.2.3.4"},"Protocol":"P"'

# ---- good input -------------------------------------------------------------
cat > "$T/good" <<EOF
{"Timestamp":"2018-08-28T09:34:55.0Z","Reporter":{"IP Address":"192.168.100.249"},"Protocol":"EEE Company's protocol","Requester":{"Unique ID":"0000","Transmitted Code":"02000100"},"Responder":{"Unique ID":"0002","Transmitted Code":"000000000010000C"},"Error Code":"21","Error Message":"Certification Failed",$S}
{"Timestamp":"2018-08-28T09:34:55.123456Z","Reporter":{"IP Address":"FE80:0:0:0:200:86FF:FE05:80DA"},"Protocol":"ECHONET Lite","Requester":{},"Responder":{"Unique ID":"x","Transmitted Code":""},"Error Code":"2E01","Error Message":"Extended Reasons","Description":{"Status":"This message was sent from IDS not IoTGW","k\u0001":"v\n/"}}
{$H,"Requester":{},"Responder":{},"Error Code":"E3","Error Message":"Private Reason",$S}
EOF
if "$V" --min 3 "$T/good" 2>"$T/err" >"$T/out" && [ ! -s "$T/out" ] &&
   [ "$(cat "$T/err")" = "3 records valid" ]; then ok "good records"; else not_ok "good records"; fi
if "$V" <"$T/good" 2>/dev/null; then ok "standard input"; else not_ok "standard input"; fi
if "$V" --min 4 "$T/good" 2>"$T/err"; then not_ok "--min"; else
	grep -q '3 records, expected at least 4' "$T/err" && ok "--min" || not_ok "--min message"; fi
if : | "$V" 2>"$T/err" && [ "$(cat "$T/err")" = "0 records valid" ]; then ok "empty input"; else not_ok "empty input"; fi
if : | "$V" --min 1 2>/dev/null; then not_ok "empty input --min 1"; else ok "empty input --min 1"; fi
"$V" --bogus </dev/null 2>/dev/null; [ $? -eq 2 ] && ok "usage error" || not_ok "usage error"
"$V" /nonexistent/x.jsonl 2>/dev/null; [ $? -eq 2 ] && ok "missing file" || not_ok "missing file"

# ---- bad lines, one reason each ----------------------------------------------
{
printf '%s\n' '{"Timestamp":"2018-08-28T09:34:55.0Z","Reporter":{"IP Address":"192.168.2.11"},"Protocol":"ABC","Requester":{},"Responder":{},"Error Code":"30","Error Message":"Invalid Command"}'
printf '%s\n' '{"Timestamp":"2018-08-28T09:34:55.0Z","Reporter":{"IP Address":"1.2.3.4"},"Protocol":"Z","Requester":{},"Responder":{},"Error Code":"11","Error Message":"Communication Failed","Description":{"Status":"Responder stopped sending data."}}'
printf '%s\n' "{\"Timestamp\":\"2018-08-28T09:34:55Z\",\"Reporter\":{\"IP Address\":\"1.2.3.4\"},\"Protocol\":\"P\",\"Requester\":{},\"Responder\":{},\"Error Code\":\"30\",\"Error Message\":\"Invalid Command\",$S}"
printf '%s\n' "{\"Timestamp\":\"2018-08-28T09:34:55.1Z\",\"Reporter\":{\"IP Address\":\"1.2.3.256\"},\"Protocol\":\"P\",\"Requester\":{},\"Responder\":{},\"Error Code\":\"30\",\"Error Message\":\"Invalid Command\",$S}"
printf '%s\n' "{\"Timestamp\":\"2018-08-28T09:34:55.1Z\",\"Reporter\":{\"IP Address\":\"FE80::1\"},\"Protocol\":\"P\",\"Requester\":{},\"Responder\":{},\"Error Code\":\"30\",\"Error Message\":\"Invalid Command\",$S}"
printf '%s\n' "{$H,\"Requester\":{\"Unique ID\":\"a\",\"Transmitted Code\":\"0a\"},\"Responder\":{},\"Error Code\":\"30\",\"Error Message\":\"Invalid Command\",$S}"
printf '%s\n' "{$H,\"Requester\":{},\"Responder\":{\"Unique Name\":\"a\",\"Transmitted Code\":\"0A\"},\"Error Code\":\"30\",\"Error Message\":\"Invalid Command\",$S}"
printf '%s\n' "{$H,\"Requester\":{},\"Responder\":{},\"Error Code\":\"50\",\"Error Message\":\"Invalid Command\",$S}"
printf '%s\n' "{$H,\"Requester\":{},\"Responder\":{},\"Error Code\":\"30\",\"Error Message\":\"Invalid command\",$S}"
printf '%s\n' "{$H,\"Requester\":{},\"Responder\":{},\"Error Code\":\"30\",\"Error Message\":\"Invalid Command\",\"Description\":\"text\"}"
printf '%s\n' "{\"Timestamp\":\"2018-08-28T09:34:55.1Z\",\"Protocol\":\"P\",\"Reporter\":{\"IP Address\":\"1.2.3.4\"},\"Requester\":{},\"Responder\":{},\"Error Code\":\"30\",\"Error Message\":\"Invalid Command\",$S}"
printf '%s\n' "{$H,\"Requester\":{},\"Responder\":{},\"Error Code\":\"30\",\"Error Message\":\"Invalid Command\",$S,\"Extra\":1}"
printf '{%s,"Requester":{},"Responder":{},"Error Code":"30","Error Message":"Invalid Command",%s}\r\n' "$H" "$S"
printf '{%s,"Requester":{},"Responder":{},"Error Code":"30","Error Message":"Invalid \377",%s}\n' "$H" "$S"
printf '%s\n' '[1,2]' ''
printf '%s\n' "{$H,\"Requester\":{},\"Responder\":{},\"Error Code\":\"30\",\"Error Message\":\"Invalid Command\",$S"
} > "$T/bad"
cat > "$T/want" <<EOF
x1367-validate: $T/bad:1: missing key "Description"
x1367-validate: $T/bad:2: Description Status is not "This message was sent from IDS not IoTGW"
x1367-validate: $T/bad:3: Timestamp "2018-08-28T09:34:55Z" does not match the Recommendation's pattern (YYYY-MM-DDTHH:MM:SS.fffZ, fractional seconds required)
x1367-validate: $T/bad:4: Reporter IP Address "1.2.3.256" is neither a dotted quad nor eight groups of 1-4 uppercase hex digits
x1367-validate: $T/bad:5: Reporter IP Address "FE80::1" is neither a dotted quad nor eight groups of 1-4 uppercase hex digits
x1367-validate: $T/bad:6: Requester Transmitted Code "0a" is not uppercase hex
x1367-validate: $T/bad:7: Responder must be {} or exactly {"Unique ID": string, "Transmitted Code": string}
x1367-validate: $T/bad:8: Error Code "50" is not a valid X.1367 code (Annex A)
x1367-validate: $T/bad:9: Error Message "Invalid command" is not "Invalid Command", the message of code 30
x1367-validate: $T/bad:10: Description is not an object
x1367-validate: $T/bad:11: key "Protocol" where "Reporter" belongs (order: Timestamp, Reporter, Protocol, Requester, Responder, Error Code, Error Message, Description)
x1367-validate: $T/bad:12: unexpected key "Extra"
x1367-validate: $T/bad:13: raw control character 0x0D at byte 240
x1367-validate: $T/bad:14: not valid JSON: invalid utf-8 string
x1367-validate: $T/bad:15: not a JSON object
x1367-validate: $T/bad:16: empty line
x1367-validate: $T/bad:17: not valid JSON: unexpected end of line
EOF
"$V" "$T/bad" >"$T/out" 2>"$T/err"; rc=$?
if [ $rc -eq 1 ] && diff -u "$T/want" "$T/out"; then ok "bad lines"; else not_ok "bad lines (rc $rc)"; fi
grep -q '17 of 17 records invalid' "$T/err" && ok "summary" || not_ok "summary"
exit $fail
