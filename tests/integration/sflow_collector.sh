#!/usr/bin/env bash
# Integration test: the sFlow collector (vantage serve --sflow-listen).
# The 63 datagrams a real Host sFlow agent sent (tests/sflow/
# hsflowd-host-1s.pcap) are replayed over UDP, 100 ms apart: every one is
# decoded (/metrics), the agent's host is a system (/api/v1/systems) with
# its identity from host_descr, its counters are stored monotonic, and
# memory, CPU and load equal what the independent decoder
# (tests/sflow/sflow_decode.py, through sflow_send.py expect) reads from the
# same capture.  Then bad datagrams (random, other versions, truncated,
# lying lengths, other enterprises) are counted as that decoder judges
# them, and a flood of valid datagrams over the collector's rate limit is
# dropped and counted while the API keeps answering.
source "$(dirname "$0")/lib.sh"

for tool in curl jq python3; do
	command -v "$tool" >/dev/null || { not_ok "$tool is installed"; exit 1; }
done
SF=$(cd "$(dirname "$0")/../sflow" && pwd)
PCAP=$SF/hsflowd-host-1s.pcap
DB=$TMP/store.db

"$VANTAGE" serve --no-vms --no-containers --db "$DB" --listen 127.0.0.1:0 \
	--sflow-listen 127.0.0.1:0 --sflow-max-rate 2000 2>"$TMP/serve.log" &
PID=$!
on_exit "kill $PID; wait $PID"
have_addrs() {
	API=$(sed -n 's|^vantage: API on http://\(.*\)$|\1|p' "$TMP/serve.log")
	UDP=$(sed -n 's|.*sFlow collector on udp://\(.*\)$|\1|p' "$TMP/serve.log")
	[ -n "$API" ] && [ -n "$UDP" ]
}
wait_for 10 have_addrs
check "serve listens for sFlow (udp://$UDP) and HTTP ($API)" have_addrs
have_addrs || { cat "$TMP/serve.log"; exit 1; }

metric() { # NAME: its value on /metrics (no labels)
	curl -s "http://$API/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

# ---- the capture ------------------------------------------------------------------------------------
python3 "$SF/sflow_send.py" expect "$PCAP" >"$TMP/expect.json"
N=$(jq .datagrams "$TMP/expect.json")
UUID=$(jq -r .uuid "$TMP/expect.json")
AGENT=$(jq -r .agent "$TMP/expect.json")
check "the independent decoder reads the capture ($N datagrams)" test "$N" -ge 60
python3 "$SF/sflow_send.py" replay "$PCAP" "$UDP" --gap 0.1 >/dev/null
decoded() { [ "$(metric vantage_sflow_datagrams_total)" = "$N" ]; }
wait_for 10 decoded
check_eq "every datagram decoded (vantage_sflow_datagrams_total)" "$N" "$(metric vantage_sflow_datagrams_total)"
check_eq "none rejected" 0 "$(metric vantage_sflow_rejected_total)"
# (the agent sent two samples at the same uptime, 50684 ms: the second is
# coalesced into the first)
check_eq "a frame per counter sample, but the one at the same agent uptime as the one before" \
	$((N - 1)) "$(metric vantage_sflow_frames_total)"
check_eq "...which is counted as coalesced" 1 "$(metric vantage_sflow_coalesced_samples_total)"
# 4 records per datagram are the mib2 ip/icmp/tcp/udp groups: known, not mapped
check_eq "unmapped records skipped and counted" $((4 * N)) "$(metric vantage_sflow_unknown_records_total)"
if command -v promtool >/dev/null; then
	curl -s "http://$API/metrics" >"$TMP/metrics.txt"
	check "/metrics with the collector's counters passes promtool check metrics" \
		promtool check metrics <"$TMP/metrics.txt"
fi

SYS="host:sflow:$AGENT:$UUID"
stored() { curl -s "http://$API/api/v1/systems" | jq -e --arg s "$SYS" '.systems[] | select(.id == $s)' >/dev/null; }
wait_for 10 stored
curl -s "http://$API/api/v1/systems" >"$TMP/systems.json"
check "the agent's host is a system ($SYS)" stored
check_eq "its kind, name and labels" "host vm sflow $UUID 6.18.44-fc-v769" \
	"$(jq -r --arg s "$SYS" '.systems[] | select(.id == $s) | "\(.kind) \(.name) \(.labels.source) \(.labels.uuid) \(.labels.os_release)"' "$TMP/systems.json")"

ESYS=$(jq -rn --arg s "$SYS" '$s | @uri')
series() { # METRIC STAT: [[time, value]...] in 1 s buckets over the last 5 minutes
	curl -s "http://$API/api/v1/systems/$ESYS/metrics/$1?since=5m&step=1s&stat=$2" | jq -c .points
}
# monotonic: each 1 s bucket's smallest reads count is at least the previous bucket's largest
mins=$(series diskio.reads min) maxs=$(series diskio.reads max)
mono=$(jq -n --argjson lo "$mins" --argjson hi "$maxs" \
	'[range(1; $lo | length)] | all(. as $i | $lo[$i][1] >= $hi[$i - 1][1])')
check_eq "disk reads stored monotonic ($(jq length <<<"$mins") buckets)" true "$mono"
check_eq "the last disk reads as the decoder reads them" "$(jq .disk_reads_last "$TMP/expect.json")" \
	"$(jq '.[-1][1]' <<<"$maxs")"
npoints=$(series cpu.busy_pct count | jq '[.[][1]] | add')
check_eq "a CPU point per pair of samples with time between them" "$(jq .cpu_points "$TMP/expect.json")" "$npoints"

prom() { # METRIC: the sFlow host's latest value on /metrics
	curl -s "http://$API/metrics" | awk -v n="$1" -v s="system=\"$SYS\"" 'index($0, n "{") == 1 && index($0, s) { print $2 }'
}
check_eq "memory.used_pct as the decoder reads it" "$(jq .memory_used_pct "$TMP/expect.json")" \
	"$(prom vantage_memory_used_pct)"
check_eq "memory total as the decoder reads it" "$(jq '.memory_total_kb * 1024' "$TMP/expect.json")" \
	"$(prom vantage_memory_total_bytes)"
check_eq "cpu.busy_pct as the decoder reads it" "$(jq .cpu_busy_pct "$TMP/expect.json" | sed 's/\.0$//')" \
	"$(prom vantage_cpu_busy_pct)"
check_eq "load1 as the decoder reads it" "$(jq .load1 "$TMP/expect.json")" "$(prom vantage_load_load1)"
plausible=$(awk -v m="$(prom vantage_memory_used_pct)" -v c="$(prom vantage_cpu_busy_pct)" \
	'BEGIN { print (m > 0 && m < 100 && c >= 0 && c <= 100) ? "yes" : "no" }')
check_eq "memory and CPU percentages plausible" yes "$plausible"

# ---- bad input -----------------------------------------------------------------------------------------
before=$(metric vantage_sflow_received_total)
python3 "$SF/sflow_send.py" garbage "$UDP" --seed 7 >"$TMP/garbage.json"
G=$(jq .sent "$TMP/garbage.json")
R=$(jq .rejected "$TMP/garbage.json")
got_all() { [ "$(metric vantage_sflow_received_total)" = $((before + G)) ]; }
wait_for 10 got_all
check_eq "every bad datagram read" $((before + G)) "$(metric vantage_sflow_received_total)"
check_eq "rejected as the independent decoder judges them ($R of $G)" "$R" "$(metric vantage_sflow_rejected_total)"
for k in bad_version truncated bad_length unknown_samples; do
	v=$(metric "vantage_sflow_${k}_total")
	check "vantage_sflow_${k}_total counted ($v)" test "${v:-0}" -gt 0
done
check "the daemon lives" kill -0 $PID

# ---- a flood over the rate limit (2000/s) -----------------------------------------------------------
frames0=$(metric vantage_sflow_frames_total) dg0=$(metric vantage_sflow_datagrams_total)
python3 "$SF/sflow_send.py" flood "$PCAP" "$UDP" --rate 30000 --seconds 5 >"$TMP/flood.json" &
FLOOD=$!
answered=0 asked=0
while kill -0 $FLOOD 2>/dev/null; do
	asked=$((asked + 1))
	code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$API/api/v1/systems")
	[ "$code" = 200 ] && answered=$((answered + 1))
	sleep 0.2
done
wait $FLOOD
F=$(jq .sent "$TMP/flood.json")
FS=$(jq .seconds "$TMP/flood.json")
check "the API answered during the flood ($answered of $asked)" test "$answered" -eq "$asked" -a "$asked" -gt 0
# what the socket took is read, the rest counted as dropped there; loopback
# also drops before the socket (the kernel's backlog), which no socket sees
sent_all=$((before + G + F))
settled() { # the queue drained: the counters stop moving
	local a b
	a=$(metric vantage_sflow_received_total)
	sleep 0.5 # the time the counters are given to move
	b=$(metric vantage_sflow_received_total)
	[ "$a" = "$b" ]
}
wait_for 20 settled
r=$(metric vantage_sflow_received_total) d=$(metric vantage_sflow_dropped_queue_total)
check "flood datagrams read ($r) and dropped at the queue ($d): no more than sent ($sent_all)" \
	test $((r + d)) -le $sent_all -a "$d" -gt 0 -a "$r" -gt $((before + G))
check "the flood was throttled (rate limit 2000/s)" test "$(metric vantage_sflow_throttled_total)" -gt 0
decoded_flood=$(($(metric vantage_sflow_datagrams_total) - N))
check "at most the rate limit decoded ($decoded_flood of $F sent in $FS s)" \
	test "$decoded_flood" -le $((2000 * 8))
# one source, its uptime 10 ms further each datagram: one frame each 0.25 s
# of agent time (25 datagrams) at most, the rest coalesced
fl_frames=$(($(metric vantage_sflow_frames_total) - frames0)) fl_dg=$(($(metric vantage_sflow_datagrams_total) - dg0))
echo "# flood: $fl_dg datagrams decoded, $fl_frames frames stored, $(metric vantage_sflow_coalesced_samples_total) coalesced"
check "the flood's samples of one source are coalesced, not stored ($fl_frames frames of $fl_dg datagrams)" \
	test "$fl_frames" -ge 1 -a $((fl_frames * 20)) -le "$fl_dg" -a "$(metric vantage_sflow_coalesced_samples_total)" -gt 1
check "the daemon lives after the flood" kill -0 $PID
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$API/api/v1/health")
check_eq "and answers" 200 "$code"

kill $PID
wait $PID
check_eq "serve exits 0 on SIGTERM" 0 $?
