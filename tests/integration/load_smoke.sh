# The load path in small (issue 17; the full runs are bench/containers500,
# bench/sockets50k, bench/apiload and tests/soak/serve30.sh): `vantage
# serve` at a 1 s metric interval with 100 containers and 5,000 held
# sockets, then 10 s of API load at a fixed rate (build/bench/loadgen, open
# loop, with the token) over systems, series, chart, search, topology,
# /metrics and a frame while 50 slow clients hold connections from the same
# address.  Zero failed authorized requests, every container and socket
# seen, no crawl error, the slow clients cut by the guard, the daemon alive
# with its descriptors bounded.  ~45 s.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"

N=${N:-100}
PAIRS=${PAIRS:-2500}
RATE=${RATE:-300}
LOADGEN=$(dirname "$VANTAGE")/bench/loadgen
[ -x "$LOADGEN" ] || { not_ok "build/bench/loadgen is missing: run 'make' first"; exit 1; }
ulimit -n 20000
TOKEN=smoke-$(od -An -N16 -tx8 /dev/urandom | tr -d ' ')

# ---- 100 containers and 5,000 sockets ---------------------------------------
mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
started=0
for i in $(seq "$N"); do
	start_unshare_container "ls$$-$i" "$TMP/root" 'sleep 1000000' >/dev/null 2>&1 && started=$((started + 1))
done
check_eq "$N containers started" "$N" "$started"
python3 "$(dirname "$0")/hold_sockets.py" "$PAIRS" >"$TMP/ports" 2>"$TMP/hold.err" &
HOLD=$!
on_exit "kill $HOLD"
wait_for 30 test -s "$TMP/ports"
check "$((2 * PAIRS)) loopback sockets held ($(cat "$TMP/hold.err"))" test -s "$TMP/ports"

PORT=$(free_port)
"$VANTAGE" serve --no-vms --metric-interval 1s --db "$TMP/s.db" --listen "127.0.0.1:$PORT" \
	--token "$TOKEN" 2>"$TMP/serve.log" &
D=$!
on_exit "kill -9 $D"
URL=http://127.0.0.1:$PORT
get() { curl -s --max-time 10 -H "Authorization: Bearer $TOKEN" "$URL$1"; }
metric() { get /metrics | awk -v m="$1" '$1 == m { print $2 }'; }
ours() { get '/api/v1/systems?kind=container&gone=false' | jq --arg p "ls$$-" '[.systems[] | select(.name | startswith($p))] | length'; }
wait_for 30 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' '$URL/api/v1/systems?kind=container&gone=false' | jq --arg p 'ls$$-' '[.systems[] | select(.name | startswith(\$p))] | length')\" = $N ]" 2>/dev/null
check_eq "the daemon watches the $N containers" "$N" "$(ours)"
HOST=$(get '/api/v1/systems?kind=host' | jq -r '.systems[0].id')
HE=$(jq -rn --arg s "$HOST" '$s | @uri')
ports=$(tr ' ' ',' <"$TMP/ports")
held() {
	get "/api/v1/systems/$HE/frame?feature=connection" | jq --arg p "$ports" '($p | split(",") | map(tonumber)) as $ps
		| [.. | objects | select(.state? == "ESTABLISHED" and ((.local_port as $l | $ps | index($l)) or (.remote_port as $r | $ps | index($r))))] | length'
}
wait_for 20 eval 'test "$(held)" = $((2 * PAIRS))'
check_eq "the host's connection frame holds every held socket" $((2 * PAIRS)) "$(held)"

# ---- API load while slow clients hold connections ----------------------------
cat >"$TMP/paths" <<EOF
/api/v1/systems
/api/v1/systems/$HE/metrics/cpu.busy_pct?since=1h&step=10s
/api/v1/chart?system=$HE&metric=cpu.busy_pct&metric=memory.used_pct&from=-1h&width=800
/api/v1/search?q=process%20comm%3Dsleep&limit=100
/api/v1/topology
/metrics
/api/v1/systems/$HE/frame?feature=os
EOF
ev0=$(metric vantage_http_connections_evicted_total)
e0=$(metric vantage_crawl_errors_total)
python3 "$(dirname "$0")/slowloris.py" 127.0.0.1 "$PORT" 50 1 15 >"$TMP/slow.out" 2>&1 &
SLOW=$!
on_exit "kill $SLOW"
wait_for 5 grep -q opened "$TMP/slow.out"
"$LOADGEN" -a "127.0.0.1:$PORT" -r "$RATE" -d 10 -c 32 -p "$TMP/paths" \
	-H "Authorization: Bearer $TOKEN" >"$TMP/load.out" 2>&1
rc=$?
fds=$(ls "/proc/$D/fd" | wc -l)
wait $SLOW
sed 's/^/# /' "$TMP/load.out"
echo "# slow clients: $(tail -1 "$TMP/slow.out")"
check_eq "every authorized request answered 2xx at $RATE/s for 10 s ($(head -1 "$TMP/load.out" | grep -o 'p99_ms=[0-9.]*'))" 0 "$rc"
check "…all $((RATE * 10)) of them" grep -q "^all requests=$((RATE * 10)) ok=$((RATE * 10)) " "$TMP/load.out"
ev1=$(metric vantage_http_connections_evicted_total)
check "the guard cut slow clients ($((${ev1%.*} - ${ev0%.*})) connections)" test "${ev1%.*}" -gt "${ev0%.*}"
# the daemon's descriptors: its own (~40 a container: cgroup files kept open) and at most the caps' connections
check "the daemon's descriptors under the attack stay bounded ($fds)" test "$fds" -lt $((N * 60 + 600))
check "the daemon answers after the load" test "$(get /api/v1/health | jq -r .status 2>/dev/null)" != ""
check_eq "no crawl error during the load" "${e0%.*}" "$(metric vantage_crawl_errors_total | cut -d. -f1)"
check_eq "no frame failed" 0 "$(metric vantage_frames_failed_total | cut -d. -f1)"
check "no error in the daemon's log" sh -c "! grep -E ': (error|fatal):' '$TMP/serve.log'"
check "the daemon is alive" kill -0 "$D"
