#!/bin/bash
# mqtt-mosquitto.sh — capture real Eclipse Mosquitto (Debian 12: mosquitto 2.0.11 broker,
# mosquitto_pub / mosquitto_sub) traffic, MQTT 3.1.1 and 5.0, into
# pcaps/real/mqtt-mosquitto.pcap. Run as root; needs mosquitto, mosquitto-clients, tcpdump,
# iproute2, python3 (see README.md). Everything runs in throw-away network namespaces.
#
# Nodes: 1 = 192.0.2.11 broker A: password_file (mosquitto_passwd) + acl_file,
#            allow_anonymous false — refused logins, refused publishes, protocol errors
#        2 = 192.0.2.12 clients: mosquitto_pub / mosquitto_sub, and a raw-socket client
#            (python3) for what the real clients never send
#        3 = 192.0.2.13 broker B: the same users in Mosquitto's dynamic-security plugin —
#            refused subscriptions (2.0.11's acl_file check grants every SUBSCRIBE:
#            "FIXME - implement ACL subscription strings", the refusal only happens
#            when messages are delivered; the plugin refuses in the SUBACK)
#        4 = 192.0.2.14 subscriber "dashboard" on broker A (3.1.1, QoS 2)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/pcaps/real/mqtt-mosquitto.pcap}
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/x1367-mqtt.XXXXXX)}
PY=/usr/bin/python3
DYNSEC=/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so
mkdir -p "$(dirname "$OUT")"

for cmd in mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd tcpdump; do
	command -v $cmd >/dev/null || {
		echo "$cmd missing: apt-get install -y mosquitto mosquitto-clients tcpdump" >&2
		exit 1
	}
done
[[ -f $DYNSEC ]] || { echo "$DYNSEC missing (Debian's mosquitto package ships it)" >&2; exit 1; }

# shellcheck source=netns.sh
. "$HERE/netns.sh"

# The broker drops root for user mosquitto: its files must be readable by it.
chmod 755 "$LOGDIR"

# ---- broker A: password_file + acl_file --------------------------------------
mosquitto_passwd -c -b "$LOGDIR/passwd" sensor s3cret
mosquitto_passwd -b "$LOGDIR/passwd" reader r3ad
cat >"$LOGDIR/acl" <<'EOF'
# sensor publishes its readings; reader (the dashboard) only reads them.
user sensor
topic readwrite sensors/#
user reader
topic read sensors/#
EOF
chmod 644 "$LOGDIR/passwd" "$LOGDIR/acl"

# ---- broker B: the same two users in the dynamic-security plugin ---------------
# mosquitto_ctrl is not in Debian's mosquitto-clients: the plugin's JSON file is
# written here (PBKDF2-SHA512, 101 iterations, as the plugin itself hashes).
$PY - "$LOGDIR/dynsec.json" <<'EOF'
import base64, hashlib, json, os, sys

def client(user, password, role):
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, 101)
    return {"username": user, "roles": [{"rolename": role}],
            "password": base64.b64encode(digest).decode(),
            "salt": base64.b64encode(salt).decode(), "iterations": 101}

def acl(kind, topic):
    return {"acltype": kind, "topic": topic, "priority": 0, "allow": True}

config = {
    "defaultACLAccess": {"publishClientSend": False, "publishClientReceive": True,
                         "subscribe": False, "unsubscribe": True},
    "clients": [client("sensor", "s3cret", "sensor"), client("reader", "r3ad", "reader")],
    "groups": [],
    "roles": [
        {"rolename": "sensor", "acls": [acl("publishClientSend", "sensors/#"),
                                        acl("subscribePattern", "sensors/#")]},
        {"rolename": "reader", "acls": [acl("subscribePattern", "sensors/#")]},
    ],
}
with open(sys.argv[1], "w") as f:
    json.dump(config, f, indent=1)
EOF
chmod 666 "$LOGDIR/dynsec.json"   # the plugin writes it back

netns_setup 4
A=$(netns_ip4 1)
B=$(netns_ip4 3)

cat >"$LOGDIR/brokerA.conf" <<EOF
per_listener_settings false
allow_anonymous false
password_file $LOGDIR/passwd
acl_file $LOGDIR/acl
persistence false
log_dest stderr
log_type all
listener 1883 $A
EOF
cat >"$LOGDIR/brokerB.conf" <<EOF
allow_anonymous false
plugin $DYNSEC
plugin_opt_config_file $LOGDIR/dynsec.json
persistence false
log_dest stderr
log_type all
listener 1883 $B
EOF

netns_capture "$OUT.tmp" 'tcp port 1883'
netns_log "brokers: A on $A (password_file + acl_file), B on $B (dynamic security)"
netns_spawn 1 "$LOGDIR/brokerA.log" mosquitto -c "$LOGDIR/brokerA.conf"
netns_spawn 3 "$LOGDIR/brokerB.log" mosquitto -c "$LOGDIR/brokerB.conf"
sleep 1

# Client commands; a refusal makes them exit non-zero, which is the point.
pub() { netns_exec 2 mosquitto_pub "$@" >>"$LOGDIR/clients.log" 2>&1 || echo "mosquitto_pub $*: exit $?" >>"$LOGDIR/clients.log"; }
sub() { netns_exec 2 mosquitto_sub "$@" >>"$LOGDIR/clients.log" 2>&1 || echo "mosquitto_sub $*: exit $?" >>"$LOGDIR/clients.log"; }

# ---- 1. successful traffic on broker A ------------------------------------------
netns_log "dashboard subscribes to sensors/# (3.1.1, QoS 2)"
netns_spawn 4 "$LOGDIR/dashboard.log" mosquitto_sub -h "$A" -u reader -P r3ad -i dashboard \
	-V mqttv311 -q 2 -t 'sensors/#' -v -C 4 -W 60
DASHBOARD=$NETNS_LAST_PID
sleep 0.5
pub -h "$A" -u sensor -P s3cret -i sensor-311-q1 -V mqttv311 -q 1 -t sensors/temp -m 21.5
pub -h "$A" -u sensor -P s3cret -i sensor-5-q2 -V mqttv5 -q 2 -t sensors/humidity -m 40
pub -h "$A" -u sensor -P s3cret -i sensor-311-q0 -V mqttv311 -q 0 -t sensors/door -m closed
sleep 0.3

# ---- 2. refused logins ------------------------------------------------------------
netns_log "refused logins"
pub -h "$A" -u sensor -P wrong -i badpw-311 -V mqttv311 -t sensors/temp -m x
pub -h "$A" -u sensor -P wrong -i badpw-5 -V mqttv5 -t sensors/temp -m x
pub -h "$A" -u mallory -P guess -i unknown-5 -V mqttv5 -t sensors/temp -m x
pub -h "$A" -i anonymous-311 -V mqttv311 -t sensors/temp -m x
sleep 0.3

# ---- 3. publishes the acl_file forbids ---------------------------------------------
netns_log "forbidden publishes"
pub -h "$A" -u sensor -P s3cret -i pubdeny-311 -V mqttv311 -q 1 -t admin/config -m x
pub -h "$A" -u sensor -P s3cret -i pubdeny-5-q1 -V mqttv5 -q 1 -t admin/config -m x
pub -h "$A" -u sensor -P s3cret -i pubdeny-5-q2 -V mqttv5 -q 2 -t admin/config -m x
sleep 0.3

# ---- 4. protocol errors, from a raw socket ------------------------------------------
netns_log "raw client: protocol errors"
netns_exec 2 $PY - "$A" >>"$LOGDIR/raw.log" 2>&1 <<'EOF' || true
import socket, struct, sys, time

broker = sys.argv[1]

def s16(b):
    return struct.pack(">H", len(b)) + b

def varint(n):
    out = b""
    while True:
        d, n = n % 128, n // 128
        out += bytes([d | (0x80 if n else 0)])
        if not n:
            return out

def packet(b0, body):
    return bytes([b0]) + varint(len(body)) + body

def connect(level, cid, user=None, password=None):
    flags = 0x02 | (0x80 if user else 0) | (0x40 if password else 0)
    body = s16(b"MQTT") + bytes([level, flags]) + struct.pack(">H", 30)
    if level == 5:
        body += b"\x00"                      # no properties
    body += s16(cid)
    if user:
        body += s16(user)
    if password:
        body += s16(password)
    return packet(0x10, body)

def session(name, packets):
    s = socket.create_connection((broker, 1883))
    s.settimeout(1.0)
    got = b""
    for p in packets:
        s.sendall(p)
        time.sleep(0.2)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                got += b"<closed>"
                break
            got += d
    except socket.timeout:
        pass
    s.close()
    print(name, got.hex(), flush=True)

login4 = connect(4, b"raw-311", b"sensor", b"s3cret")
# Protocol level 6 does not exist: CONNACK 0x01.
session("level-6", [connect(6, b"raw-level6", b"sensor", b"s3cret")])
# 3.1.1: '#' not last in a filter; the broker hangs up without SUBACK.
session("311-bad-filter", [login4, packet(0x82, struct.pack(">H", 7) + s16(b"a/#/b") + b"\x00")])
# 5.0: the same; DISCONNECT 0x81 Malformed Packet.
session("5-bad-filter", [connect(5, b"raw-5-filter", b"sensor", b"s3cret"),
                         packet(0x82, struct.pack(">H", 7) + b"\x00" + s16(b"a/#/b") + b"\x00")])
# 5.0: a wildcard in a topic name (QoS 1); DISCONNECT 0x82 Protocol Error.
session("5-wildcard-publish", [connect(5, b"raw-5-wild", b"sensor", b"s3cret"),
                               packet(0x32, s16(b"sensors/#") + struct.pack(">H", 9) + b"\x00" + b"21.5")])
# 5.0: packet type 0 (reserved); DISCONNECT 0x82 Protocol Error.
session("5-reserved-type", [connect(5, b"raw-5-type0", b"sensor", b"s3cret"), b"\x00\x03abc"])
EOF
sleep 0.3

# ---- 5. refused subscriptions on broker B ---------------------------------------------
netns_log "forbidden subscriptions (broker B)"
sub -h "$B" -u sensor -P s3cret -i subdeny-311 -V mqttv311 -t 'admin/#' -C 1 -W 2
sub -h "$B" -u sensor -P s3cret -i subdeny-5 -V mqttv5 -t 'admin/#' -t 'sensors/#' -C 1 -W 2

# ---- 6. the capture clock runs past the 5 s deadlines -------------------------------------
sleep 4
netns_log "last publish (the dashboard's 4th message)"
pub -h "$A" -u sensor -P s3cret -i sensor-311-last -V mqttv311 -q 1 -t sensors/temp -m 21.7
wait "$DASHBOARD" || true
sleep 0.5
netns_capture_stop
mv "$OUT.tmp" "$OUT"
chown "$(id -u):$(id -g)" "$OUT"   # tcpdump wrote it as user tcpdump
rm -f "$OUT.tmp.tcpdump.log"
netns_log "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $LOGDIR"
cat "$LOGDIR/clients.log" "$LOGDIR/raw.log" "$LOGDIR/dashboard.log" >&2
