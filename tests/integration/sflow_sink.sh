#!/bin/bash
# The sFlow sink (issue 15): `vantage crawl` and `vantage serve` with
# --sink sflow://127.0.0.1:PORT into a python3 UDP receiver started here,
# beside a file sink that records the frames.  Every datagram is decoded by
# tests/sflow/sflow_decode.py (written from the published structures, not
# from our encoder) and each sample compared, field by field, with the
# frame it came from (sflow_sink_check.py): the host's memory, CPU, disks
# and interfaces, a container's CPU time, memory, root file system, I/O and
# traffic (a veth pair gives it some), flow samples of packets sampled on
# that veth, sequence numbers, the MTU; the agent address and sub-agent
# stay across a restart.  Then the round trip: the sink of one vantage serve
# into the collector of another (--sflow-listen): our host and container
# become systems there, with the sender's memory, load, traffic and I/O.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
T=vsf$$

# ---- the receiver: each datagram one hex line of $1 ---------------------------------
cat >"$TMP/recv.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(sys.argv[2], "w") as f:
    f.write(str(s.getsockname()[1]))
with open(sys.argv[1], "a") as out:
    while True:
        d = s.recv(65535)
        out.write(d.hex() + "\n")
        out.flush()
PY
# start_receiver FILE: sets RPORT, RECV_PID
start_receiver() {
	rm -f "$TMP/port"
	python3 "$TMP/recv.py" "$1" "$TMP/port" &
	RECV_PID=$!
	on_exit "kill $RECV_PID"
	wait_for 5 test -s "$TMP/port"
	RPORT=$(cat "$TMP/port")
}
stop_receiver() { kill "$RECV_PID" 2>/dev/null; wait "$RECV_PID" 2>/dev/null; }
count_lines() { [ -s "$1" ] && wc -l <"$1" || echo 0; }

# ---- a container with an interface that carries traffic ----------------------------
mk_busybox_root "$TMP/root" || { not_ok "busybox root"; exit 1; }
pid=$(start_unshare_container "$T" "$TMP/root" 'sleep 1000000') || { not_ok "start container"; exit 1; }
ip link add "${T}h" type veth peer name "${T}c" || { not_ok "veth pair"; exit 1; }
on_exit "ip link del ${T}h"
ip link set "${T}c" netns "$pid"
nsenter -t "$pid" -n ip addr add 10.253.77.2/30 dev "${T}c"
nsenter -t "$pid" -n ip link set "${T}c" up
ip addr add 10.253.77.1/30 dev "${T}h"
ip link set "${T}h" up
# traffic: UDP datagrams to the container (which answers ARP, and port unreachable)
send_udp() { python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[1])):
    s.sendto(b"x" * 1000, ("10.253.77.2", 9))
    time.sleep(0.05)' "$1" 2>/dev/null; }
sent() { [ "$(cat "/sys/class/net/${T}h/statistics/tx_bytes")" -gt 5000 ]; }
send_udp 10
check "the container's interface receives traffic" wait_for 5 sent

# ---- crawl: the host and the container, one sample each ----------------------------
start_receiver "$TMP/crawl.hex"
"$VANTAGE" crawl --host --container "$T" -f os,metric,interface -i 0.5 -o "$TMP/crawl.jsonl" \
	--sink "sflow://127.0.0.1:$RPORT?sub_agent=7" 2>"$TMP/crawl.err"
check_eq "crawl with the sflow sink: exit 0 $(tail -2 "$TMP/crawl.err")" 0 $?
got_two() { [ "$(python3 -c "
import sys; sys.path.insert(0, '$HERE/../sflow'); import sflow_decode
print(sum(sflow_decode.decode_datagram(bytes.fromhex(l.strip()))['nsamples'] for l in open('$TMP/crawl.hex') if l.strip()))")" -ge 2 ]; }
check "the receiver got the two samples" wait_for 5 got_two
stop_receiver
python3 "$HERE/sflow_sink_check.py" "$TMP/crawl.jsonl" "$TMP/crawl.hex" "$T" 1400 7 | tee "$TMP/check1"

# ---- serve: a sample per system per tick, datagrams within mtu=600 -----------------
# host_samples FILE N: FILE holds N samples of the host at least
host_samples() { [ "$(python3 -c "
import sys; sys.path.insert(0, '$HERE/../sflow'); import sflow_decode
n = 0
for l in open('$1'):
    if l.strip():
        n += sum(1 for s in sflow_decode.decode_datagram(bytes.fromhex(l.strip()))['samples'] if s.get('ds_index') == 1)
print(n)" 2>/dev/null || echo 0)" -ge "$2" ]; }
run_serve() { # $1: hex file, $2: frames file; runs until the host sent $3 samples; $4... more flags
	start_receiver "$1"
	SPORT=$(free_port)
	"$VANTAGE" serve --no-vms --db "$TMP/s.db" --listen "127.0.0.1:$SPORT" --metric-interval 1s \
		--sink "sflow://127.0.0.1:$RPORT?sub_agent=7&mtu=600&delay_ms=100" --sink "$2" "${@:4}" \
		2>"$TMP/serve.log" &
	SERVE_PID=$!
	on_exit "kill -9 $SERVE_PID"
	check "serve sent $3 host samples" wait_for 40 host_samples "$1" "$3"
	kill -TERM "$SERVE_PID"
	wait_for 20 bash -c "! kill -0 $SERVE_PID 2>/dev/null"
	check "serve stopped" bash -c "! kill -0 $SERVE_PID 2>/dev/null"
	stop_receiver
}
( while :; do send_udp 20; done ) &
PING_PID=$!
on_exit "kill $PING_PID"
# ... and packets sampled 1 in 5 on the host's end of the container's veth: flow samples
run_serve "$TMP/serve1.hex" "$TMP/serve1.jsonl" 6 --sample "${T}h" --sample-rate 5
FLOW_RATE=5 python3 "$HERE/sflow_sink_check.py" "$TMP/serve1.jsonl" "$TMP/serve1.hex" "$T" 600 7 |
	tee "$TMP/check2"
agent=$(sed -n 's/^# agent //p' "$TMP/check2")
check "an agent address other than 0.0.0.0 ($agent)" test -n "$agent" -a "$agent" != 0.0.0.0

# ---- a restart: the same agent and sub-agent, sequences from 1 again ----------------
run_serve "$TMP/serve2.hex" "$TMP/serve2.jsonl" 3
python3 "$HERE/sflow_sink_check.py" "$TMP/serve2.jsonl" "$TMP/serve2.hex" "$T" 600 7 "$agent" |
	grep -E "agent|sequence"
kill "$PING_PID"

# ---- round trip: our sink into our own collector (another vantage serve) ----------
"$VANTAGE" serve --no-vms --no-containers --db "$TMP/col.db" --listen 127.0.0.1:0 \
	--sflow-listen 127.0.0.1:0 2>"$TMP/col.log" &
COL_PID=$!
on_exit "kill -9 $COL_PID"
col_addrs() {
	CAPI=$(sed -n 's|^vantage: API on http://\(.*\)$|\1|p' "$TMP/col.log")
	CUDP=$(sed -n 's|.*sFlow collector on udp://\(.*\)$|\1|p' "$TMP/col.log")
	[ -n "$CAPI" ] && [ -n "$CUDP" ]
}
check "the collector listens for sFlow" wait_for 10 col_addrs
SPORT=$(free_port)
"$VANTAGE" serve --no-vms --db "$TMP/rt.db" --listen "127.0.0.1:$SPORT" --metric-interval 1s \
	--sink "sflow://$CUDP?sub_agent=9&delay_ms=50" --sink "$TMP/rt.jsonl" 2>"$TMP/rt.log" &
RT_PID=$!
on_exit "kill -9 $RT_PID"
MID=$(jq -r 'select(.feature == "frame" and .value.kind == "host") | .system' "$TMP/serve1.jsonl" | head -1)
MID=${MID#host:}
UUID="${MID:0:8}-${MID:8:4}-${MID:12:4}-${MID:16:4}-${MID:20:12}"
HSYS="host:sflow:$agent:$UUID"
csys() { curl -s "http://$CAPI/api/v1/systems" |
	jq -r --arg h "$HSYS" --arg n "$T" '.systems[] | select(.labels.parent == $h and .name == $n) | .id'; }
have_both() { [ -n "$(csys)" ] && curl -s "http://$CAPI/api/v1/systems" | jq -e --arg h "$HSYS" '.systems[] | select(.id == $h)' >/dev/null; }
check "the collector made systems of our host ($HSYS) and of container $T" wait_for 30 have_both
CSYS=$(csys)
# a few more samples, then the sender stops (its sink sends what it holds) and the
# collector's latest frames are those of the sender's last frames
have_points() { [ "$(curl -s "http://$CAPI/api/v1/systems/$(jq -rn --arg s "$HSYS" '$s|@uri')/metrics/cpu.busy_pct?since=5m&step=1s&stat=count" | jq '[.points[][1]] | add // 0')" -ge 3 ]; }
check "the host's CPU series has points there (rates from successive samples)" wait_for 20 have_points
kill -TERM "$RT_PID"
wait_for 20 bash -c "! kill -0 $RT_PID 2>/dev/null"
sleep 1 # the collector's thread stores what it read (no state to wait on from outside but its frames)
frame_of() { curl -s "http://$CAPI/api/v1/systems/$(jq -rn --arg s "$1" '$s|@uri')/frame?feature=metric"; }
frame_of "$HSYS" >"$TMP/col_host.json"
frame_of "$CSYS" >"$TMP/col_ct.json"
python3 - "$TMP/rt.jsonl" "$TMP/col_host.json" "$TMP/col_ct.json" "$T" <<'PY'
import json, sys
frames, cur = [], None
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["feature"] == "frame":
        cur = {"kind": r["value"].get("kind"), "name": r["value"].get("name"), "m": {}}
        frames.append(cur)
    elif r["feature"] == "metric":
        cur["m"][r["key"]] = r["value"]
host = [f for f in frames if f["kind"] == "host" and "memory" in f["m"]][-1]["m"]
ct = [f for f in frames if f["kind"] == "container" and f["name"] == sys.argv[4] and "memory" in f["m"]][-1]["m"]
def recs(path):
    j = json.load(open(path))
    return {r["key"]: r["value"] for r in j.get("records", j.get("frame", {}).get("records", []))}
ch, cc = recs(sys.argv[2]), recs(sys.argv[3])
def check(desc, want, got):
    print(("ok - " if want == got else "not ok - ") + desc + (" (%s)" % (want,) if want == got else ""))
    if want != got:
        print("#   want %s got %s" % (want, got))
rx = sum(v["rx_bytes"] for k, v in host.items() if k.startswith("net:") and k != "net:lo")
check("round trip: the host's memory total and free, in KiB", (host["memory"]["total_kb"], host["memory"]["free_kb"]),
      (ch.get("memory", {}).get("total_kb"), ch.get("memory", {}).get("free_kb")))
check("round trip: the host's buffers and cache", (host["memory"]["buffers_kb"], host["memory"]["cached_kb"]),
      (ch.get("memory", {}).get("buffers_kb"), ch.get("memory", {}).get("cached_kb")))
check("round trip: the host's load and tasks", (host["load"]["load1"], host["load"]["tasks"]),
      (round(ch.get("load", {}).get("load1", -1), 2), ch.get("load", {}).get("tasks")))
check("round trip: the host's bytes received (net:all)", rx, ch.get("net:all", {}).get("rx_bytes"))
check("round trip: the container's memory used and limit, in KiB", (ct["memory"]["used_kb"], ct["memory"]["total_kb"]),
      (cc.get("memory", {}).get("used_kb"), cc.get("memory", {}).get("total_kb")))
crx = sum(v["rx_bytes"] for k, v in ct.items() if k.startswith("net:") and k != "net:lo")
check("round trip: the container's bytes received (net:all)", crx, cc.get("net:all", {}).get("rx_bytes"))
check("round trip: the container's block I/O read bytes", ct.get("cgroup", {}).get("io_read_bytes", 0),
      cc.get("cgroup", {}).get("io_read_bytes"))
PY

# ---- nobody listening: sends fail or vanish, the crawl does not ---------------------
"$VANTAGE" crawl --host -f metric -i 0 -o /dev/null --sink "sflow://127.0.0.1:9?delay_ms=0" \
	2>"$TMP/crawl3.err"
check_eq "a crawl into a port nobody listens on: exit 0" 0 $?
"$VANTAGE" crawl --host -f metric -i 0 -o /dev/null --sink "sflow://127.0.0.1:6343?mtu=12" \
	2>"$TMP/crawl4.err"
check "a bad option is an error naming it ($(head -1 "$TMP/crawl4.err"))" grep -q "option mtu: a bad value" "$TMP/crawl4.err"
