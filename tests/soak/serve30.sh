#!/usr/bin/env bash
# serve30 - `vantage serve` for 30 minutes with the host and 50 churning
# containers at a 1 s metric interval, the dashboard's API calls and
# /metrics polled: does the daemon stay flat?
#
#   make soak SOAK=serve30            (or: bash tests/soak/serve30.sh)
#
# Starts N (50) busybox containers (unshare + cgroups, a sleeping process
# each) and `vantage serve --no-vms --metric-interval 1s --token ...` on a
# free loopback port with its own store in a temporary directory.  Then for
# SOAK_MINUTES (30) minutes:
#   - churn: every CHURN_EVERY (60) s, CHURN (5) containers stop and as many
#     new ones start (the daemon discovers them and marks the old ones gone);
#   - the dashboard: every POLL (3) s the calls its pages make (systems,
#     a chart of the host and of a container, search, topology, alarms,
#     logs, health) and /metrics, with the token: every answer must be 200;
#   - samples every 10 s of the daemon: VmRSS, open descriptors, threads,
#     utime+stime.
# Prints "# figure:" lines: the RSS slope (least squares over the samples
# after WARMUP minutes, default a sixth of the run, at least 1), the
# fitted growth over that window, the residual noise, RSS min/max,
# descriptors and threads min/max after the warm-up, the CPU average, the
# store's size and growth, the requests made and failed.
#
# Passes when: the daemon never exits; no API call fails; threads after the
# warm-up stay within THREAD_BAND (2); descriptors and RSS do not grow.  Both
# are fitted by least squares against time and the number of systems the
# daemon watches (it holds descriptors and memory per container, and other
# tests' containers come and go on a shared host): descriptors pass when
# the fitted growth over the window is at most FD_BAND (16); RSS when the
# fitted slope is at most SLOPE_MAX KB/min (default 16 KB/min: < 1 MB an
# hour, 23 MB a day) within 2 standard errors of the fit (RSS scatters by
# megabytes from sample to sample: malloc's arenas, answers in flight; the
# standard error says how well 180 samples pin the slope down anyway).
#
# Knobs: SOAK_MINUTES, N, CHURN, CHURN_EVERY, POLL, WARMUP, SLOPE_MAX,
# FD_BAND, THREAD_BAND, KEEP=DIR (copy the samples and the daemon's log
# there).  Other tests' containers on the same host are seen by the daemon
# too (it watches the whole host): the samples say how many systems it
# watched.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/../integration/containers_lib.sh"

MIN=${SOAK_MINUTES:-30}
N=${N:-50}
CHURN=${CHURN:-5}
CHURN_EVERY=${CHURN_EVERY:-60}
POLL=${POLL:-3}
WARMUP=${WARMUP:-$(awk -v m="$MIN" 'BEGIN { w = m / 6; if (w < 1) w = 1; printf "%g", w }')}
SLOPE_MAX=${SLOPE_MAX:-16}
FD_BAND=${FD_BAND:-16}
THREAD_BAND=${THREAD_BAND:-2}
HZ=$(getconf CLK_TCK)
TOKEN=soak-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
PREFIX=soak$$

echo "# serve30: $MIN min, $N containers (churn $CHURN every ${CHURN_EVERY}s), poll every ${POLL}s, warm-up ${WARMUP} min"
mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
next=0
live=()
start_one() {
	next=$((next + 1))
	start_unshare_container "$PREFIX-$next" "$TMP/root" 'sleep 1000000' >/dev/null || return 1
	live+=("$PREFIX-$next")
}
for _ in $(seq "$N"); do start_one || { not_ok "container $PREFIX-$next started"; exit 1; }; done
ok "$N containers started"

PORT=$(free_port)
"$VANTAGE" serve --no-vms --db "$TMP/store.db" --listen "127.0.0.1:$PORT" --token "$TOKEN" \
	--metric-interval 1s 2>"$TMP/serve.log" &
SERVE=$!
on_exit "kill -9 $SERVE"
if ! wait_for 20 grep -q 'API on http://' "$TMP/serve.log"; then
	not_ok "vantage serve started"
	cat "$TMP/serve.log" | sed 's/^/# /'
	exit 1
fi
ok "vantage serve started (pid $SERVE, port $PORT)"

get() { curl -s -o "$TMP/body" -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$1"; }
wait_for 30 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' http://127.0.0.1:$PORT/api/v1/systems | jq '.systems|length')\" -gt $N ]" 2>/dev/null
get /api/v1/systems >/dev/null
HOST=$(jq -r '[.systems[] | select(.kind == "host")][0].id' "$TMP/body")
HOSTE=$(jq -rn --arg s "$HOST" '$s | @uri')
check "the daemon sees the host and the containers ($(jq '.systems|length' "$TMP/body") systems)" \
	test "$(jq '.systems|length' "$TMP/body")" -gt "$N"

# the first process frames (the daemon's first pass over 50 containers):
# before them a container's process frame is rightly a 404
first_ct=$(jq -r '[.systems[] | select(.kind == "container")] | sort_by(.first_seen) | .[0].id // empty' "$TMP/body")
wait_for 60 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' \"http://127.0.0.1:$PORT/api/v1/systems/$(jq -rn --arg s "$first_ct" '$s | @uri')/frame?feature=process\")\" = 200 ]"

# ---- the poller: the dashboard's calls and /metrics --------------------------
poller() {
	local reqs=0 errs=0 p code ct cte
	while [ ! -e "$TMP/stop" ]; do
		# the oldest container: a new one may not have its process frame yet
		ct=$(jq -r '[.systems[] | select(.kind == "container" and (.gone | not))] | sort_by(.first_seen) | .[0].id // empty' "$TMP/systems" 2>/dev/null)
		cte=$(jq -rn --arg s "${ct:-$HOST}" '$s | @uri')
		for p in /api/v1/health /api/v1/systems \
			"/api/v1/chart?system=$HOSTE&metric=cpu.busy_pct&metric=memory.used_pct&from=-15m&width=600" \
			"/api/v1/chart?system=$cte&metric=cgroup.mem_usage_bytes&metric=cgroup.cpu_pct&from=-15m&width=600" \
			"/api/v1/systems/$cte/frame?feature=process" \
			"/api/v1/search?q=process%20comm%3Dsleep&limit=100" /api/v1/topology /api/v1/alarms \
			"/api/v1/logs?limit=50" /metrics; do
			code=$(get "$p")
			reqs=$((reqs + 1))
			if [ "$code" != 200 ]; then
				errs=$((errs + 1))
				echo "$(date +%T) $code $p" >>"$TMP/poll.err"
			fi
			[ "$p" = /api/v1/systems ] && [ "$code" = 200 ] && cp "$TMP/body" "$TMP/systems"
		done
		echo "$reqs $errs" >"$TMP/poll.count"
		sleep "$POLL"
	done
}
cp "$TMP/body" "$TMP/systems"
poller &
POLLER=$!
on_exit "kill $POLLER"

# ---- churn ------------------------------------------------------------------
churner() {
	local i
	while [ ! -e "$TMP/stop" ]; do
		sleep "$CHURN_EVERY"
		[ -e "$TMP/stop" ] && break
		for ((i = 0; i < CHURN; i++)); do
			stop_unshare_container "${live[0]}"
			live=("${live[@]:1}")
			start_one || echo "$(date +%T) start failed" >>"$TMP/churn.err"
		done
		echo $((next - N)) >"$TMP/churned"
	done
}
churner 2>/dev/null &
CHURNER=$!
on_exit "kill $CHURNER"

# ---- samples ----------------------------------------------------------------
# t_s rss_kb fds threads cpu_ticks systems_watched anon_kb
sample() {
	local st rss thr fds ticks sys anon
	st=$(cat "/proc/$SERVE/status" 2>/dev/null) || return 1
	rss=$(awk '/^VmRSS:/ { print $2 }' <<<"$st")
	anon=$(awk '/^RssAnon:/ { print $2 }' <<<"$st")
	thr=$(awk '/^Threads:/ { print $2 }' <<<"$st")
	fds=$(ls "/proc/$SERVE/fd" 2>/dev/null | wc -l)
	ticks=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$SERVE/stat")
	sys=$(curl -s --max-time 5 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" |
		awk '/^vantage_systems_watched / { print $2 }')
	local t=$(($(date +%s) - T0))
	echo "$t $rss $fds $thr $ticks ${sys:-0} $anon" >>"$TMP/samples"
	# what the descriptors are, by kind (numbers and container names folded)
	for f in /proc/"$SERVE"/fd/*; do readlink "$f"; done 2>/dev/null |
		sed -E "s/$PREFIX-[0-9]+/CT/g; s/[0-9]+/N/g; s/ /_/g" | sort | uniq -c >"$TMP/fds.$t"
}
T0=$(date +%s)
END=$((T0 + $(awk -v m="$MIN" 'BEGIN { printf "%d", m * 60 }')))
alive=1
while [ "$(date +%s)" -lt "$END" ]; do
	sample || { alive=0; break; }
	sleep 10
done
sample || alive=0
touch "$TMP/stop"
wait "$POLLER" 2>/dev/null
kill "$CHURNER" 2>/dev/null
wait "$CHURNER" 2>/dev/null

check "the daemon ran for $MIN minutes" test "$alive" = 1 -a -d "/proc/$SERVE"
if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$TMP/samples" "$TMP/serve.log" "$KEEP/" && cp "$TMP"/poll.err "$KEEP/" 2>/dev/null; fi

# ---- figures ----------------------------------------------------------------
read -r reqs errs <"$TMP/poll.count"
churned=$(cat "$TMP/churned" 2>/dev/null || echo 0)
w=$(awk -v m="$WARMUP" 'BEGIN { print m * 60 }')
# fit COLUMN: least squares of the column against time (minutes) and the
# number of systems watched (other tests' containers come and go on a shared
# host; the daemon holds descriptors and memory per system), over the
# samples after the warm-up.  Prints: slope per minute, fitted growth over
# the window (slope x span), residual sd, samples, span (min), per system.
fit() {
	awk -v w="$w" -v c="$1" '$1 >= w {
		n++; X[n] = $1 / 60; S[n] = $6; Y[n] = $c
	} END {
		if (n < 4) { print "0 0 0", n, "0 0"; exit }
		for (i = 1; i <= n; i++) { mx += X[i] / n; ms += S[i] / n; my += Y[i] / n }
		for (i = 1; i <= n; i++) {
			x = X[i] - mx; s = S[i] - ms; y = Y[i] - my
			xx += x * x; ss += s * s; xs += x * s; xy += x * y; sy += s * y
		}
		d = xx * ss - xs * xs
		if (ss == 0 || d == 0) { b = xy / xx; k = 0; vb = 1 / xx } else { b = (xy * ss - sy * xs) / d; k = (sy * xx - xy * xs) / d; vb = ss / d }
		for (i = 1; i <= n; i++) { r = Y[i] - my - b * (X[i] - mx) - k * (S[i] - ms); rr += r * r }
		span = X[n] - X[1]; sd = sqrt(rr / (n - 3))
		printf "%.2f %.0f %.0f %d %.1f %.1f %.2f\n", b, b * span, sd, n, span, k, sd * sqrt(vb)
	}' "$TMP/samples"
}
read -r slope growth sd nsamp span perrss se <<<"$(fit 2)"
read -r fslope fgrowth fsd _ _ perfd _ <<<"$(fit 3)"
read -r aslope agrowth asd _ _ peranon ase <<<"$(fit 7)"
band() { awk -v w="$w" -v c="$1" '$1 >= w { if (mn == "" || $c < mn) mn = $c; if ($c > mx) mx = $c } END { print mn + 0, mx + 0 }' "$TMP/samples"; }
read -r rmin rmax <<<"$(band 2)"
read -r fmin fmax <<<"$(band 3)"
read -r tmin tmax <<<"$(band 4)"
read -r smin smax <<<"$(band 6)"
rss0=$(awk 'NR == 1 { print $2 }' "$TMP/samples")
cpu=$(awk -v hz="$HZ" 'NR == 1 { t0 = $1; c0 = $5 } { t = $1; c = $5 } END { if (t > t0) printf "%.2f", 100 * (c - c0) / hz / (t - t0); else print 0 }' "$TMP/samples")
cpuw=$(awk -v hz="$HZ" -v w="$w" '$1 >= w && !s { t0 = $1; c0 = $5; s = 1 } { t = $1; c = $5 } END { if (t > t0) printf "%.2f", 100 * (c - c0) / hz / (t - t0); else print 0 }' "$TMP/samples")
db=$(du -k "$TMP"/store.db* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
frames=$(curl -s --max-time 5 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" | awk '/^vantage_frames_stored_total / { print $2 }')

echo "# figure: RSS slope ${slope} ± ${se} KB/min (1 standard error) over ${span} min after a ${WARMUP}-min warm-up ($nsamp samples; ${perrss} KB per system watched): fitted growth ${growth} KB, residual sd ${sd} KB"
echo "# figure: anonymous RSS (the heap) slope ${aslope} ± ${ase} KB/min: fitted growth ${agrowth} KB, residual sd ${asd} KB"
echo "# figure: RSS ${rss0} KB at start, ${rmin}-${rmax} KB after the warm-up"
echo "# figure: descriptors ${fmin}-${fmax} (slope ${fslope}/min, ${perfd} per system watched, fitted growth ${fgrowth}), threads ${tmin}-${tmax} after the warm-up; systems watched ${smin}-${smax}"
echo "# figure: CPU ${cpu} % of one core on average (${cpuw} % after the warm-up)"
echo "# figure: store $((db / 1024)) MB after $MIN min ($(awk -v d="$db" -v m="$MIN" 'BEGIN { printf "%.2f", d / 1024 / m }') MB/min), ${frames:-?} frames stored"
echo "# figure: API ${reqs} requests, ${errs} failed; ${churned} containers replaced"

check_eq "every API call answered 200 ($reqs calls)" 0 "$errs"
[ -s "$TMP/poll.err" ] && head -5 "$TMP/poll.err" | sed 's/^/#   /'
check "no container failed to start during the churn" test ! -s "$TMP/churn.err"
# the descriptors of the fewest and of the most after the warm-up, by kind
lo=$(awk -v w="$w" '$1 >= w && (mn == "" || $3 < mn) { mn = $3; t = $1 } END { print t }' "$TMP/samples")
hi=$(awk -v w="$w" '$1 >= w && $3 > mx { mx = $3; t = $1 } END { print t }' "$TMP/samples")
if [ -f "$TMP/fds.$lo" ] && [ -f "$TMP/fds.$hi" ]; then
	echo "# descriptors by kind, the most ($hi s) against the fewest ($lo s) after the warm-up:"
	join -1 2 -2 2 -a 1 -a 2 -e 0 -o 0,1.1,2.1 <(awk '{ print $1, $2 }' "$TMP/fds.$lo" | sort -k2) \
		<(awk '{ print $1, $2 }' "$TMP/fds.$hi" | sort -k2) |
		awk '$2 != $3 { printf "#   %+d %s (%d -> %d)\n", $3 - $2, $1, $2, $3 }' | sort -t' ' -k2 -rn | head -12
fi
check "descriptors do not grow: fitted growth ${fgrowth} <= $FD_BAND, systems watched accounted ($fmin-$fmax for $smin-$smax systems)" \
	test "$(awk -v g="$fgrowth" -v b="$FD_BAND" 'BEGIN { print (g <= b) }')" = 1
check "threads stay within $THREAD_BAND ($tmin-$tmax)" test $((tmax - tmin)) -le "$THREAD_BAND"
flat=$(awk -v b="$slope" -v se="$se" -v m="$SLOPE_MAX" 'BEGIN { print (b - 2 * se <= m) ? 1 : 0 }')
check "RSS does not grow beyond noise (slope ${slope} ± ${se} KB/min: within 2 standard errors of <= $SLOPE_MAX KB/min)" test "$flat" = 1
grep -E ': (error|fatal)' "$TMP/serve.log" | head -5 | sed 's/^/#   log: /'
kill -TERM "$SERVE"
wait "$SERVE"
check_eq "the daemon exits 0 on SIGTERM" 0 $?
