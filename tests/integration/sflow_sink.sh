#!/bin/bash
# The sFlow sink (issue 15): `vantage crawl` and `vantage serve` with
# --sink sflow://127.0.0.1:PORT into a python3 UDP receiver started here,
# beside a file sink that records the frames.  Every datagram is decoded by
# tests/sflow/sflow_decode.py (written from the published structures, not
# from our encoder) and each sample compared, field by field, with the
# frame it came from (sflow_sink_check.py): the host's memory, CPU, disks
# and interfaces, a container's CPU time, memory, root file system, I/O and
# traffic (a veth pair gives it some), flow samples of packets sampled on
# that veth, sequence numbers, the MTU; the agent
# address and sub-agent stay across a restart.
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

# ---- nobody listening: sends fail or vanish, the crawl does not ---------------------
"$VANTAGE" crawl --host -f metric -i 0 -o /dev/null --sink "sflow://127.0.0.1:9?delay_ms=0" \
	2>"$TMP/crawl3.err"
check_eq "a crawl into a port nobody listens on: exit 0" 0 $?
"$VANTAGE" crawl --host -f metric -i 0 -o /dev/null --sink "sflow://127.0.0.1:6343?mtu=12" \
	2>"$TMP/crawl4.err"
check "a bad option is an error naming it ($(head -1 "$TMP/crawl4.err"))" grep -q "option mtu: a bad value" "$TMP/crawl4.err"
