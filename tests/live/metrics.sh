#!/bin/sh
# --metrics-listen on a live sensor, judged by the real Prometheus tools
# (issue 13 part 3).  The sensor captures on a veth in a network namespace
# and serves http://127.0.0.1:9367/metrics on that namespace's loopback.
#
# 1. Scrape with curl: before any traffic and after replaying five real
#    captures (Modbus, ECHONET Lite, MQTT, CoAP, TLS), `promtool check
#    metrics` passes on both; once the sensor is quiet (deadlines passed),
#    the scrape says exactly what the statistics line (SIGUSR1) says at the
#    same time: packets, bytes, records, records per code and per protocol,
#    flows, parse errors, packets received on the interface, a syslog
#    collector's delivered/queued/spooled/dropped (every record delivered
#    to a UDP collector on the namespace's loopback); memory > 0.
#    A wrong path answers 404, POST 405.
# 2. A Prometheus server started here in the same namespace (scrape
#    interval 1 s) scrapes the sensor while tcpreplay plays
#    tests/live/data/modbus-exceptions-spread.pcap (28 Modbus exceptions
#    over 11 s, real timing); its HTTP API then shows the target up and
#    x1367ids_records_total rising through at least 3 distinct values by
#    exactly 28, never falling.
#
# Needs root, ip netns, tcpreplay, python3, curl, promtool and prometheus
# (Debian: prometheus); otherwise SKIP (exit 77).  Namespaces "soc<pid>A/B".
LIVE_PREFIX=${LIVE_PREFIX:-soc$$}
. "$(dirname "$0")/lib.sh"
needs_root_and_netns curl promtool prometheus
start=$(now)
port=9367
prom_port=9090
ip -n "$NS_B" link set lo up

in_b() { ip netns exec "$NS_B" "$@"; }

# scrape OUT [PATH [METHOD]]: prints the HTTP status.
scrape() {
	in_b curl -sS --max-time 5 -X "${3:-GET}" -o "$1" -w '%{http_code}' "http://127.0.0.1:$port${2:-/metrics}" 2>>"$work/curl.err"
}

# promtool_ok NAME FILE
promtool_ok() {
	if promtool check metrics <"$2" >"$work/$1.promtool" 2>&1; then
		ok "$1: promtool check metrics passes ($(grep -c '^x1367ids_' "$2") samples, $(grep -c '^# TYPE' "$2") families)"
	else
		ko "$1: promtool check metrics fails:"
		sed 's/^/    /' "$work/$1.promtool" | head -n 20
	fi
}

# Deadlines of 2 s for every protocol (TLS: 60 s by default): the sensor is
# quiet soon after the replay, so a statistics line and a scrape taken
# then see the same state.
# A syslog collector on the namespace's loopback: the per-collector metrics.
# (ip netns exec directly, not through in_b: $! must be the collector's
# own pid, which ip netns exec becomes, for the cleanup to kill it)
ip netns exec "$NS_B" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5514))
out = open(sys.argv[1], "ab", 0)
while True:
    out.write(s.recv(65535) + b"\n")
' "$work/collector.out" 2>"$work/collector.err" &
live_bg_pids="$live_bg_pids $!"
live_start_sensor metrics --allow-root --metrics-listen "127.0.0.1:$port" --stats-interval 0 \
	--syslog udp://127.0.0.1:5514 \
	--request-timeout modbus=2000 --request-timeout echonet-lite=2000 --request-timeout mqtt=2000 \
	--request-timeout coap=2000 --request-timeout tls=2000 || { ko "sensor did not start"; finish; }

# ---- 1. curl and promtool ---------------------------------------------------
i=0
while [ "$(scrape "$work/scrape0.txt")" != 200 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
if [ -s "$work/scrape0.txt" ] && grep -q '^x1367ids_packets_total 0$' "$work/scrape0.txt"; then
	ok "first scrape: 200, x1367ids_packets_total 0"
else
	ko "first scrape: no x1367ids_packets_total 0 ($(head -c 300 "$work/scrape0.txt" 2>/dev/null))"
fi
promtool_ok idle "$work/scrape0.txt"
[ "$(scrape "$work/nf.txt" /nope)" = 404 ] && ok "GET /nope: 404" || ko "GET /nope: not 404"
[ "$(scrape "$work/post.txt" /metrics POST)" = 405 ] && ok "POST /metrics: 405" || ko "POST /metrics: not 405"

sent_all=0
for name in modbus-pymodbus echonet-npm mqtt-mosquitto coap-libcoap tls-openssl; do
	live_replay "$work/$name.tcpreplay" "$top_srcdir/pcaps/real/$name.pcap" --pps 500 ||
		ko "tcpreplay $name failed: $(tail -n 2 "$work/$name.tcpreplay")"
	sent_all=$((sent_all + $(replay_sent "$work/$name.tcpreplay")))
done
# Quiet: every deadline (2 s) passed, no packet on the veth; the records
# file must not grow while the statistics line and the scrape are taken
# (else once more).
sleep 3
for try in 1 2 3; do
	nrec=$(wc -l <"$work/metrics.jsonl")   # (live_stats_now uses $before)
	live_stats_now metrics || ko "no statistics line on SIGUSR1"
	sleep 1.5   # a metrics snapshot after that line (published once a second)
	code=$(scrape "$work/scrape1.txt")
	[ "$(wc -l <"$work/metrics.jsonl")" = "$nrec" ] && break
	note "records still arriving (try $try: $nrec, then $(wc -l <"$work/metrics.jsonl"))"
done
[ "$code" = 200 ] || ko "scrape after the replay: HTTP $code"
promtool_ok busy "$work/scrape1.txt"
if python3 - "$work/metrics.stats" "$work/scrape1.txt" "$work/metrics.jsonl" "$VETH_B" "$sent_all" >"$work/compare.out" 2>&1 <<'PY'
import json, re, sys
stats_file, scrape_file, records_file, iface, sent = sys.argv[1:6]
stats = json.loads([l for l in open(stats_file) if l.startswith("{")][-1])
samples = {}
for line in open(scrape_file):
    if line.startswith("#") or not line.strip():
        continue
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line.strip())
    assert m, "unparsable sample: " + line
    labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or "")))
    samples[(m.group(1), labels)] = float(m.group(4))
def get(name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))
bad = []
def same(what, metric, want):
    if metric != want:
        bad.append("%s: metrics %r, statistics line %r" % (what, metric, want))
records = sum(1 for l in open(records_file) if l.strip())
same("packets", get("x1367ids_packets_total"), stats["packets"])
same("bytes", get("x1367ids_bytes_total"), stats["bytes"])
same("records", get("x1367ids_records_total"), stats["records"])
same("records in the -w file", get("x1367ids_records_total"), records)
same("parse errors", get("x1367ids_parse_errors_total"), stats["parse_errors"])
same("flows created", get("x1367ids_flows_created_total"), stats["flows"]["created"])
for code, n in stats["records_by_code"].items():
    same("records of code " + code, get("x1367ids_records_by_code_total", code=code), n)
for proto, p in stats["protocols"].items():
    for k in ("records", "flows", "parse_errors"):
        same(proto + " " + k, get("x1367ids_protocol_%s_total" % k, protocol=proto), p[k])
same("received on " + iface, get("x1367ids_capture_received_total", interface=iface),
     stats["capture"][iface]["received"])
if stats["packets"] != int(sent):
    bad.append("the sensor counted %d packets, tcpreplay sent %s" % (stats["packets"], sent))
for url, d in stats.get("syslog", {}).items():
    for k in ("delivered", "dropped"):
        same("syslog %s %s" % (url, k), get("x1367ids_syslog_%s_total" % k, collector=url), d[k])
    for k in ("queued", "spooled"):
        same("syslog %s %s" % (url, k), get("x1367ids_syslog_" + k, collector=url), d[k])
    same("syslog %s delivered = records" % url, get("x1367ids_syslog_delivered_total", collector=url), records)
if not stats.get("syslog"):
    bad.append("no syslog collector in the statistics")
if not (get("x1367ids_resident_memory_bytes") or 0) > 0:
    bad.append("no x1367ids_resident_memory_bytes")
protos = sorted(p for p, v in stats["protocols"].items() if v["records"])
print("%d packets, %d records, codes %s, protocols with records %s" %
      (stats["packets"], records, ",".join(sorted(stats["records_by_code"])), ",".join(protos)))
if len(protos) < 5:
    bad.append("records from only %d protocols" % len(protos))
for b in bad:
    print("MISMATCH " + b)
sys.exit(1 if bad else 0)
PY
then
	ok "the scrape equals the statistics line: $(cat "$work/compare.out")"
else
	ko "the scrape and the statistics line differ:"
	sed 's/^/    /' "$work/compare.out"
fi

# ---- 2. a real Prometheus server -----------------------------------------------
cat >"$work/prometheus.yml" <<EOF2
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: x1367ids
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF2
promtool check config "$work/prometheus.yml" >"$work/promcfg.out" 2>&1 || ko "promtool check config: $(cat "$work/promcfg.out")"
ip netns exec "$NS_B" prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
	--web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
live_bg_pids="$live_bg_pids $prom_pid"
# api PATH [curl options]: GET /api/v1/PATH (-G --data-urlencode for queries)
api() {
	p=$1
	shift
	in_b curl -sS -g --max-time 5 -G "$@" "http://127.0.0.1:$prom_port/api/v1/$p" 2>>"$work/curl.err"
}
i=0
until in_b curl -sf --max-time 2 "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -ge 300 ] || ! kill -0 "$prom_pid" 2>/dev/null; then
		ko "prometheus not ready within 30 s:"; tail -n 10 "$work/prometheus.log" | sed 's/^/    /'
		finish
	fi
	sleep 0.1
done
# Until the first scrape of the target is in.
i=0
until api query --data-urlencode 'query=up' | grep -q '"value":\[[0-9.]*,"1"\]'; do
	i=$((i + 1))
	[ $i -ge 100 ] && { ko "prometheus never scraped the sensor: $(api targets | head -c 400)"; finish; }
	sleep 0.1
done
t0=$(date +%s)
live_replay "$work/spread.tcpreplay" "$live_dir/data/modbus-exceptions-spread.pcap" ||
	ko "tcpreplay of the spread capture failed"
sleep 3   # the last record's scrape
t1=$(date +%s)
api query_range --data-urlencode query=x1367ids_records_total --data-urlencode "start=$((t0 - 1))" \
	--data-urlencode "end=$t1" --data-urlencode step=1 >"$work/range.json"
api query --data-urlencode 'query=up{job="x1367ids"}' >"$work/up.json"
if python3 - "$work/range.json" "$work/up.json" >"$work/prom.out" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
up = json.load(open(sys.argv[2]))
assert r["status"] == "success", r
series = r["data"]["result"]
assert len(series) == 1, "series: %r" % series
vals = [float(v) for _, v in series[0]["values"]]
upv = up["data"]["result"][0]["value"][1]
print("up=%s, %d points, x1367ids_records_total %g -> %g, %d distinct values" %
      (upv, len(vals), vals[0], vals[-1], len(set(vals))))
assert upv == "1", "target not up"
assert all(b >= a for a, b in zip(vals, vals[1:])), "the counter fell: %r" % vals
assert vals[-1] - vals[0] == 28, "rose by %g, not 28: %r" % (vals[-1] - vals[0], vals)
assert len(set(vals)) >= 3, "moved in fewer than 3 steps: %r" % vals
PY
then
	ok "prometheus saw the counters move: $(cat "$work/prom.out")"
else
	ko "prometheus: $(cat "$work/prom.out")"
fi

live_stop_sensor
[ "$sensor_rc" = 0 ] && ok "exit 0 on SIGTERM" || ko "exit $sensor_rc on SIGTERM: $(tail -n 3 "$work/metrics.err")"
note "$(since "$start") s"
finish
