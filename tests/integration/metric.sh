#!/usr/bin/env bash
# Integration test: the `metric` feature on the live host.
#
# Crawls `vantage crawl --features metric --interval SEC` and checks the
# records against the kernel's own numbers: memory against /proc/meminfo,
# the root file system against df, load against /proc/loadavg, CPU
# percentages summing to 100 and rising under a busy loop the test starts,
# loopback counters and rates rising while the test sends UDP over lo,
# disk I/O and cgroup records present; then interval 0 (cumulative values,
# no rates) and the reference crawler's layout.
source "$(dirname "$0")/lib.sh"

# within A B TOL: |A - B| <= TOL
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
# between X LO HI
between() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }
# val FILE KEY JQ-PATH: a field of the record with that key
val() { jq -r --arg k "$2" "select(.feature == \"metric\" and .key == \$k) | .value$3" "$1"; }

OUT=$TMP/metric.json
"$VANTAGE" crawl --features metric --interval 0.5 >"$OUT" 2>"$TMP/err"
check "crawl --features metric exits 0" test $? -eq 0
check_eq "no metric errors in the header" 0 \
	"$(jq -r 'select(.feature == "frame") | .value.errors.metric' "$OUT")"

# ---- memory ----------------------------------------------------------------------
memtotal=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
check_eq "memory total_kb equals MemTotal" "$memtotal" "$(val "$OUT" memory .total_kb)"
total=$(val "$OUT" memory .total_kb)
avail=$(val "$OUT" memory .available_kb)
used=$(val "$OUT" memory .used_kb)
pct=$(val "$OUT" memory .used_pct)
check "memory used_pct in 0..100 ($pct)" between "$pct" 0 100
check_eq "memory used_kb = total - available" "$((total - avail))" "$used"
check "memory used_pct matches total and available" \
	within "$pct" "$(awk -v t="$total" -v a="$avail" 'BEGIN { print (t - a) * 100 / t }')" 0.01
memavail=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
check "memory available_kb near MemAvailable (10%)" within "$avail" "$memavail" "$((memtotal / 10))"

# ---- CPU ---------------------------------------------------------------------------
sum=$(val "$OUT" cpu '| .user_pct + .nice_pct + .system_pct + .idle_pct + .iowait_pct + .irq_pct + .softirq_pct + .steal_pct')
check "cpu percentages sum to 100 ± 2 ($sum)" within "$sum" 100 2
ncpu=$(grep -c '^cpu[0-9]' /proc/stat)
check_eq "one record per CPU" "$ncpu" \
	"$(jq -r 'select(.feature == "metric" and (.key | test("^cpu[0-9]+$"))) | .key' "$OUT" | wc -l)"
bad=$(jq -r 'select(.feature == "metric" and (.key | test("^cpu[0-9]+$")))
	| select((.value.user_pct + .value.nice_pct + .value.system_pct + .value.idle_pct
		+ .value.iowait_pct + .value.irq_pct + .value.softirq_pct + .value.steal_pct
		- 100 | fabs) > 2) | .key' "$OUT")
check_eq "per-CPU percentages sum to 100 ± 2" "" "$bad"
iv=$(val "$OUT" cpu .interval_s)
check "cpu interval_s about 0.5 ($iv)" between "$iv" 0.45 1.5

# One spinning shell per CPU (at most 16): the total must show it.
nspin=$((ncpu < 16 ? ncpu : 16))
spinners=()
for _ in $(seq "$nspin"); do
	timeout 4 sh -c 'while :; do :; done' &
	spinners+=($!)
	on_exit "kill $!"
done
sleep 0.3
"$VANTAGE" crawl --features metric --interval 1 >"$TMP/busy.json" 2>/dev/null
kill "${spinners[@]}" 2>/dev/null
bp=$(val "$TMP/busy.json" cpu .busy_pct)
check "busy loop shows in cpu busy_pct (>= 25: $bp)" between "$bp" 25 100

# ---- file systems --------------------------------------------------------------------
rootpct=$(val "$OUT" "disk:/" .used_pct)
check "disk:/ present" test -n "$rootpct" -a "$rootpct" != null
dfpct=$(df --output=pcent / | tail -1 | tr -dc 0-9)
check "disk:/ used_pct within 1 of df ($rootpct vs $dfpct%)" within "$rootpct" "$dfpct" 1
check_eq "disk:/ device is what df shows" "$(df --output=source / | tail -1)" "$(val "$OUT" "disk:/" .device)"
pseudo=$(jq -r 'select(.feature == "metric" and (.key | startswith("disk:")))
	| select(.value.fstype | test("^(proc|sysfs|cgroup2?|devpts|devtmpfs|mqueue)$")) | .key' "$OUT")
check_eq "no pseudo file systems reported" "" "$pseudo"

# ---- load ------------------------------------------------------------------------------
read -r l1 l5 l15 _ </proc/loadavg
check "load1 near /proc/loadavg ($(val "$OUT" load .load1) vs $l1)" within "$(val "$OUT" load .load1)" "$l1" 1.5
check "load5 near /proc/loadavg" within "$(val "$OUT" load .load5)" "$l5" 0.5
check "load15 near /proc/loadavg" within "$(val "$OUT" load .load15)" "$l15" 0.3

# ---- disk I/O, cgroup ---------------------------------------------------------------------
ndisk=$(jq -r 'select(.feature == "metric" and (.key | startswith("diskio:")))
	| select(.value.read_bytes_per_s != null and .value.interval_s > 0) | .key' "$OUT" | wc -l)
check "diskio records with rates ($ndisk)" test "$ndisk" -ge 1
loops=$(jq -r 'select(.feature == "metric" and (.key | test("^diskio:(loop|ram)")))
	| select(.value.reads == 0 and .value.writes == 0) | .key' "$OUT")
check_eq "idle loop/ram devices left out" "" "$loops"
check "cgroup record with a version" between "$(val "$OUT" cgroup .version)" 1 2

# ---- network: loopback traffic during the crawl ----------------------------------------------
if [ -n "$(val "$OUT" net:lo .rx_bytes)" ]; then
	before=$(cat /sys/class/net/lo/statistics/rx_bytes)
	(
		sleep 0.2
		for _ in $(seq 300); do printf '%1000s' x >/dev/udp/127.0.0.1/9 2>/dev/null; done
	) &
	sender=$!
	on_exit "kill $sender"
	"$VANTAGE" crawl --features metric --interval 1 >"$TMP/net.json" 2>/dev/null
	wait "$sender"
	rx=$(val "$TMP/net.json" net:lo .rx_bytes)
	rate=$(val "$TMP/net.json" net:lo .rx_bytes_per_s)
	check "lo rx_bytes rose ($before -> $rx)" test "$rx" -gt $((before + 100000))
	check "lo rx_bytes_per_s shows the traffic ($rate)" between "$rate" 100000 1e12
else
	not_ok "net:lo record present"
fi

# ---- interval 0: one sample -----------------------------------------------------------------
"$VANTAGE" crawl --features metric --interval 0 >"$TMP/zero.json" 2>/dev/null
check_eq "interval 0: cpu has cumulative seconds, no percentages" "true false" \
	"$(val "$TMP/zero.json" cpu '| [has("user_s"), has("user_pct")] | map(tostring) | join(" ")')"
rates=$(jq -r 'select(.feature == "metric") | .value | keys[] | select(endswith("_per_s"))' "$TMP/zero.json")
check_eq "interval 0: no rates anywhere" "" "$rates"

# ---- the reference crawler's layout -------------------------------------------------------------
"$VANTAGE" crawl --features metric --interval 0.2 --format crawler >"$TMP/c.tsv" 2>/dev/null
field() { awk -F'\t' -v f="$1" -v k="\"$2\"" '$1 == f && $2 == k { print $3 }' "$TMP/c.tsv" | jq -r ".$3"; }
read -r l1 l5 l15 _ </proc/loadavg
check "crawler: longterm is the 15-minute load" within "$(field load load longterm)" "$l15" 0.3
check "crawler: memory_util_percentage" between "$(field memory memory memory_util_percentage)" 0 100
check_eq "crawler: memory_used in bytes" "$(($(field memory memory used_kb) * 1024))" \
	"$(field memory memory memory_used)"
check "crawler: cpu-0 with cpu_util" between "$(field cpu cpu-0 cpu_util)" 0 100
check_eq "crawler: no all-CPU record" "" "$(awk -F'\t' '$1 == "cpu" && $2 == "\"cpu-total\""' "$TMP/c.tsv")"
check_eq "crawler: disk / with partitionname" "$(df --output=source / | tail -1)" \
	"$(field disk / partitionname)"
