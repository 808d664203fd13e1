#!/usr/bin/env python3
"""Judge the sensor's silence records ("11", X.1367 Appendix I.3) against
the capture, independently of the sensor: tshark reads the capture.

  tools/judge-silence.py CAPTURE RECORDS.jsonl

For every "11" record it checks the rule of the project's default mappings
("Silence of a periodic sender"):

  polled device (Modbus/TCP, Responder IP#unit): at least one request to the
  device sent after its last answer (any answer, exception included) is
  still unanswered when the record is made, and the record comes 3 learned
  periods (or more) after that last answer;

  notifying device (ECHONET Lite, Responder IP#EOJ): the device sent nothing
  from that object between its last message and the record, more than
  3 learned periods; DNP3 (Responder IP#outstation, unsolicited responses):
  no DNP3 frame at all from that IP address in that time.

Prints one verdict line per record and a total; exit status 1 if any
record is judged wrong.  tshark 4.0 has no ECHONET Lite dissector: those
frames are parsed here from the UDP payload (EHD1 0x10, EHD2 0x81, SEOJ at
offset 4).
"""
import bisect
import collections
import datetime
import json
import subprocess
import sys

FACTOR = 3
# The record's time is the moment the silence passed its limit (3 periods
# after the last word); the printed period is rounded to the millisecond.
SLACK = 0.002 * FACTOR


def epoch(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def tshark(capture, display_filter, fields):
    cmd = ["tshark", "-r", capture, "-n", "-Y", display_filter, "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        yield line.split("\t")


def modbus_events(capture, ips):
    """(requests, answers) per "IP#unit": sorted lists of times."""
    requests = collections.defaultdict(list)
    answers = collections.defaultdict(list)
    flt = "mbtcp && (" + " || ".join("ip.addr==%s" % ip for ip in sorted(ips)) + ")"
    for t, src, dst, sport, dport, units in tshark(
            capture, flt, ["frame.time_epoch", "ip.src", "ip.dst", "tcp.srcport",
                           "tcp.dstport", "mbtcp.unit_id"]):
        for unit in units.split(","):
            if not unit:
                continue
            if dport == "502" and dst in ips:
                requests["%s#%s" % (dst, unit)].append(float(t))
            elif sport == "502" and src in ips:
                answers["%s#%s" % (src, unit)].append(float(t))
    for d in (requests, answers):
        for v in d.values():
            v.sort()
    return requests, answers


def echonet_events(capture, ips):
    """Frames sent per "IP#SEOJ": sorted lists of times."""
    sent = collections.defaultdict(list)
    flt = "udp.port==3610 && (" + " || ".join("ip.src==%s" % ip for ip in sorted(ips)) + ")"
    for t, src, payload in tshark(capture, flt, ["frame.time_epoch", "ip.src", "udp.payload"]):
        b = bytes.fromhex(payload.replace(":", ""))
        if len(b) >= 12 and b[0] == 0x10 and b[1] == 0x81:
            sent["%s#%s" % (src, b[4:7].hex().upper())].append(float(t))
    for v in sent.values():
        v.sort()
    return sent


def dnp3_events(capture, uids):
    """Frames sent per DNP3 outstation "IP#link-address": every DNP3 frame
    from its IP address counts (a notifier is alive while its node answers
    anything), so each outstation's list holds its node's frames."""
    sent = collections.defaultdict(list)
    by_ip = collections.defaultdict(set)
    for uid in uids:
        by_ip[uid.split("#")[0]].add(uid)
    flt = "dnp3 && (" + " || ".join("ip.src==%s" % ip for ip in sorted(by_ip)) + ")"
    for t, src in tshark(capture, flt, ["frame.time_epoch", "ip.src"]):
        for uid in by_ip.get(src, ()):
            sent[uid].append(float(t))
    for v in sent.values():
        v.sort()
    return sent


def is_silence(rec):
    """An Appendix I.3 record: code 11 with no requester (a Modbus 0A
    exception also maps to 11, but answers a request)."""
    return rec["Error Code"] == "11" and not rec["Requester"] and "Learned Period" in rec["Description"]


def last_before(times, t):
    i = bisect.bisect_right(times, t)
    return times[i - 1] if i else None


def judge_polled(rec, requests, answers):
    uid = rec["Responder"]["Unique ID"]
    t = epoch(rec["Timestamp"])
    period = float(rec["Description"]["Learned Period"].split()[0])
    last = last_before(answers.get(uid, []), t)
    if last is None:
        return False, "never answered before the record"
    asked = [r for r in requests.get(uid, []) if last < r <= t]
    if not asked:
        return False, "not asked after its last answer %.3f (poller paused %.3f s)" % (last, t - last)
    if t - last < FACTOR * period - SLACK:
        return False, "only %.3f s after its last answer (period %.3f s)" % (t - last, period)
    return True, "%d request(s) after its last answer, unanswered for %.3f s (period %.3f s)" % (
        len(asked), t - asked[0], period)


def judge_notifier(rec, sent):
    uid = rec["Responder"]["Unique ID"]
    t = epoch(rec["Timestamp"])
    period = float(rec["Description"]["Learned Period"].split()[0])
    last = last_before(sent.get(uid, []), t)
    if last is None:
        return False, "never heard before the record"
    if t - last < FACTOR * period - SLACK:
        return False, "heard %.3f s before the record (period %.3f s)" % (t - last, period)
    return True, "silent %.3f s (period %.3f s)" % (t - last, period)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: judge-silence.py CAPTURE RECORDS.jsonl")
    capture, records = sys.argv[1], sys.argv[2]
    silences = [r for r in map(json.loads, open(records)) if is_silence(r)]
    by_proto = collections.defaultdict(list)
    for r in silences:
        by_proto[r["Protocol"]].append(r)
    ips = lambda rs: {r["Responder"]["Unique ID"].split("#")[0] for r in rs}
    verdicts = []
    if by_proto.get("Modbus/TCP"):
        requests, answers = modbus_events(capture, ips(by_proto["Modbus/TCP"]))
        verdicts += [(r, judge_polled(r, requests, answers)) for r in by_proto.pop("Modbus/TCP")]
    if by_proto.get("ECHONET Lite"):
        sent = echonet_events(capture, ips(by_proto["ECHONET Lite"]))
        verdicts += [(r, judge_notifier(r, sent)) for r in by_proto.pop("ECHONET Lite")]
    if by_proto.get("DNP3"):
        sent = dnp3_events(capture, {r["Responder"]["Unique ID"] for r in by_proto["DNP3"]})
        verdicts += [(r, judge_notifier(r, sent)) for r in by_proto.pop("DNP3")]
    for proto, rs in by_proto.items():
        verdicts += [(r, (False, "no judge for protocol %s" % proto)) for r in rs]
    good = 0
    for r, (ok, why) in sorted(verdicts, key=lambda v: v[0]["Timestamp"]):
        good += ok
        print("%s %s %s %s: %s" % ("RIGHT" if ok else "WRONG", r["Timestamp"], r["Protocol"],
                                   r["Responder"]["Unique ID"], why))
    print("%d silence records: %d right, %d wrong" % (len(verdicts), good, len(verdicts) - good))
    sys.exit(0 if good == len(verdicts) else 1)


if __name__ == "__main__":
    main()
