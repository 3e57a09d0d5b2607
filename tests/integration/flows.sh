#!/usr/bin/env bash
# Network flows (issue 15, item 3; docs/flows.md): two containers made here
# (unshare, busybox), each with a veth pair whose host end is on a bridge of
# the host; the client sends UDP to the server at a known rate (python3 in
# the client's network namespace, paced), packets sampled 1 in 100 on the
# client's host end.
#   1. The sampling path alone (flows_tool: the kernel's 1-in-N filter,
#      header parsing, the flow recorder, the store): the sample pool is the
#      packets that crossed, the samples about 1 in 100 of them, and the
#      stored flows' bytes scaled by the rate are within 20 % of what was
#      sent, keyed by the two addresses, proto 17 and the port.
#   2. The daemon end to end, when this build has the sFlow sink and the
#      collector: `vantage serve --sample HOSTEND --sample-rate 100 --sink
#      sflow://127.0.0.1:P --sflow-listen 127.0.0.1:P`: GET /api/v1/flows
#      and `vantage flows` name the client -> server pair as the top
#      talker, its rate within 20 % of the rate sent.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
T=t$$
need_testbin flows_tool
RATE=100
PPS=5000
SIZE=1000            # UDP payload: frames of 1042 bytes on the veth
FRAME=$((SIZE + 42)) # + UDP 8, IPv4 20, Ethernet 14

mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
CPID=$(start_unshare_container $T-cli "$TMP/root") || { not_ok "start the client container"; exit 1; }
SPID=$(start_unshare_container $T-srv "$TMP/root") || { not_ok "start the server container"; exit 1; }

# ---- the network: veth pairs into the containers, host ends on a bridge ------------
BR=vflb$$ HC=vflc$$ HS=vfls$$
NET=10.213.$((RANDOM % 200)).
ip link add "$BR" type bridge || { not_ok "a bridge # cannot create links"; exit 1; }
on_exit "ip link del $BR"
on_exit "ip link del $HC"
on_exit "ip link del $HS"
setup_end() { # HOSTEND PID ADDR
	ip link add "$1" type veth peer name eth0 netns "$2" &&
		ip link set "$1" master "$BR" && ip link set "$1" up &&
		nsenter -t "$2" -n ip addr add "$3/24" dev eth0 &&
		nsenter -t "$2" -n ip link set eth0 up
}
ip link set "$BR" up
check "the client's veth (host end $HC)" setup_end "$HC" "$CPID" "${NET}2"
check "the server's veth (host end $HS)" setup_end "$HS" "$SPID" "${NET}3"

cat >"$TMP/send.py" <<'PY'
# send.py DST PORT SIZE PPS SECS: UDP datagrams of SIZE bytes at PPS a second
import socket, sys, time
dst, port, size, pps, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
payload = b"x" * size
t0 = time.monotonic()
sent = 0
while True:
    el = time.monotonic() - t0
    if el >= secs:
        break
    while sent < int(el * pps) + 1:
        try:
            s.sendto(payload, (dst, port))
            sent += 1
        except OSError:
            time.sleep(0.001)
    time.sleep(0.002)
print(sent)
PY
send() { nsenter -t "$CPID" -n python3 "$TMP/send.py" "${NET}3" 9999 "$SIZE" "$PPS" "$1"; }
# the server end drops the datagrams quietly (no ICMP port unreachable back)
nsenter -t "$SPID" -n sh -c 'echo 0 >/proc/sys/net/ipv4/icmp_ratelimit; echo 0 >/proc/sys/net/ipv4/icmp_ratemask' 2>/dev/null
nsenter -t "$SPID" -n python3 -c 'import socket,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0",9999)); time.sleep(60)' &
SINKPID=$!
on_exit "kill $SINKPID"

# within GOT WANT PCT: GOT is within PCT % of WANT; ratio GOT WANT: "GOT (ratio R)"
within() { python3 -c "import sys; g, w, p = map(float, sys.argv[1:]); sys.exit(0 if abs(g / w - 1) <= p / 100 else 1)" "$1" "$2" "$3"; }
ratio() { python3 -c "import sys; g, w = map(float, sys.argv[1:]); print('%.0f (ratio %.3f)' % (g, g / w))" "$1" "$2"; }

# ---- 1. the sampling path alone --------------------------------------------------------
DB1=$TMP/tool/v.db
"$TESTBIN/flows_tool" sample "$HC" $RATE 6 "$DB1" >"$TMP/tool.json" 2>"$TMP/tool.err" &
TOOL=$!
sleep 0.5 # the tool's socket is open (its filter attached) before the first packet
SENT=$(send 4)
wait $TOOL
check_eq "flows_tool ran" 0 $?
cat "$TMP/tool.err"
echo "# sent $SENT datagrams; tool: $(cat "$TMP/tool.json")"
pool=$(jq .pool "$TMP/tool.json")
samples=$(jq .samples "$TMP/tool.json")
# the pool counts the veth's packets both ways: the datagrams, and a few ARP
check "the sample pool is the packets that crossed ($pool for $SENT sent)" \
	within "$pool" "$SENT" 5
check "about 1 sample in $RATE ($samples samples of $pool packets)" \
	within "$samples" "$((pool / RATE))" 30
check_eq "no samples dropped" 0 "$(jq .drops "$TMP/tool.json")"
check "every sample parsed as IP (but ARP)" [ "$(jq '.samples - .ip' "$TMP/tool.json")" -le 3 ]
$VANTAGE flows --db "$DB1" --window 1h -g src,dst,proto,dport --json >"$TMP/top1.json"
check_eq "vantage flows --db exits 0" 0 $?
check_eq "the top flow is client -> server, UDP port 9999" "${NET}2 ${NET}3 17 9999" \
	"$(jq -r '.flows[0] | "\(.src) \(.dst) \(.proto) \(.dport)"' "$TMP/top1.json")"
got=$(jq '.flows[0].bytes_per_s * .window_s' "$TMP/top1.json")
check "its bytes scaled by the rate: $(ratio "$got" $((SENT * FRAME))) of $((SENT * FRAME)) sent" \
	within "$got" $((SENT * FRAME)) 20

# ---- 2. the daemon: sampler -> sFlow sink -> collector -> store -------------------------
# (the sink: a build without it refuses the URL at once)
if ! $VANTAGE serve --help 2>&1 | grep -q -- '--sflow-listen' ||
	$VANTAGE crawl -f os --sink sflow://127.0.0.1:9 2>&1 | grep -qi 'unknown\|scheme\|not supported'; then
	ok "vantage serve --sample into its own collector # SKIP this build has no sFlow sink or collector"
	exit 0
fi
PORT=$(free_port)
SPORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
API=http://127.0.0.1:$PORT
DB=$TMP/db/v.db
$VANTAGE serve --db "$DB" --listen "127.0.0.1:$PORT" --no-vms --metric-interval 1s \
	--os-interval 1s --interface-interval 1s --sample "$HC" --sample-rate $RATE \
	--sink "sflow://127.0.0.1:$SPORT" --sflow-listen "127.0.0.1:$SPORT" 2>"$TMP/serve.log" &
SERVE=$!
on_exit "kill $SERVE; wait $SERVE"
cid() { curl -sf "$API/api/v1/systems" | jq -r ".systems[] | select(.name==\"$1\") | .id"; }
has_addr() { # NAME ADDR: the store holds the container's os record with its address
	local id
	id=$(cid "$1")
	[ -n "$id" ] && curl -sf -G "$API/api/v1/systems/$(jq -rn --arg s "$id" '$s|@uri')/frame" \
		--data-urlencode feature=os | jq -e --arg a "$2" '.records[].value.ip_addresses | index($a)' >/dev/null
}
check "the daemon knows the client's address" wait_for 20 has_addr $T-cli "${NET}2"
check "the daemon knows the server's address" wait_for 10 has_addr $T-srv "${NET}3"
# the samples of a second go out together at the next second (sampler) and
# are stamped on arrival (collector): the rate is the window's bytes over
# the time of sending, the window taken wide enough to hold every sample
T0=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
t0=$(date +%s%N)
SENT=$(send 8)
t1=$(date +%s%N)
SECS=$(python3 -c "print(($t1 - $t0) / 1e9)")
echo "# sent $SENT datagrams in $SECS s from $T0"
last=-1 same=0
top() { # the flows since T0, until their sample count stays the same for 2 s
	curl -sf -G "$API/api/v1/flows" --data-urlencode "from=$T0" --data-urlencode window=1h \
		>"$TMP/top2.json" || return 1
	local n
	n=$(jq '[.flows[].samples] | add // 0' "$TMP/top2.json")
	if [ "$n" = "$last" ]; then same=$((same + 1)); else same=0; fi
	last=$n
	[ "$n" -ge $((SENT / RATE * 8 / 10)) ] && [ $same -ge 2 ] && return 0
	sleep 0.9
	return 1
}
check "the flows reach the store through sFlow" wait_for 15 top
cat "$TMP/top2.json"
echo
check_eq "the top talker pair is client -> server" "$T-cli $T-srv" \
	"$(jq -r '.flows[0] | "\(.src_system_name) \(.dst_system_name)"' "$TMP/top2.json")"
got=$(jq --argjson s "$SECS" '.flows[0].bytes_per_s * .window_s / $s' "$TMP/top2.json")
want=$(python3 -c "print($SENT * $FRAME / $SECS)")
check "its rate: $(ratio "$got" "$want") B/s for $want B/s sent" within "$got" "$want" 20
$VANTAGE flows --api "$API" --window 60s >"$TMP/top2.txt"
check_eq "vantage flows --api exits 0" 0 $?
cat "$TMP/top2.txt"
check "vantage flows prints the pair by name first" \
	sh -c "sed -n 2p '$TMP/top2.txt' | grep -q '^$T-cli  *$T-srv '"
