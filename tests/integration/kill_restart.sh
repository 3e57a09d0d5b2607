#!/usr/bin/env bash
# SIGKILL at random moments, then restart (issue 17, faults).  Nothing
# acknowledged is lost and the store passes `vantage db check`:
#   1. `vantage serve` crawling every feature every 1-2 s (the host and its
#      containers) into a SQLite store, SIGKILLed KILLS times at a random
#      moment of its crawls and store writes and started again.  Just before
#      each kill the frames committed so far are read from the store (what
#      any reader has been shown: acknowledged); after the kill they are all
#      there, the store passes `vantage db check`, and the daemon starts
#      again on it.
#   2. `vantage ingest` consuming frames from Kafka (kafka_mock: librdkafka's
#      mock cluster) while a daemon produces them, SIGKILLed KILLS times at
#      a random moment (random --batch, 1-8) and started again; frames it
#      had committed are never lost; at the end every frame produced is in
#      its store exactly once, the same frames (system, time) as the
#      producer's own store, and `vantage db check` passes.
# The moments come from KILL_SEED (printed; set it to repeat a run).
source "$(dirname "$0")/lib.sh"
need_testbin kafka_mock
KILL_SEED=${KILL_SEED:-$(date +%s)}
KILLS=${KILLS:-6}               # of the daemon
INGEST_KILLS=${INGEST_KILLS:-3} # of ingest: each restart waits ~10 s for the group's rebalance
echo "# kill seed $KILL_SEED, $KILLS kills of serve, $INGEST_KILLS of ingest (the two run side by side)"

# rnd_delay MIN MAX: D, a random delay of MIN..MAX ms in seconds (in this
# shell: RANDOM in a command substitution would not follow the seed)
rnd_delay() { local ms=$(($1 + RANDOM % ($2 - $1 + 1))); D=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000))); }
# frames DB: "system time count" of every frame, sorted (committed ones only)
frames() { sqlite3 -readonly "$1" "SELECT y.sid || ' ' || f.t || ' ' || count(*) FROM frames f JOIN systems y ON y.id = f.system GROUP BY y.sid, f.t ORDER BY 1" 2>/dev/null; }
# keys DB: "system time" of every frame, sorted, once each
keys() { sqlite3 -readonly "$1" "SELECT DISTINCT y.sid || ' ' || f.t FROM frames f JOIN systems y ON y.id = f.system ORDER BY 1" 2>/dev/null; }
nframes() { sqlite3 -readonly "$1" "SELECT count(*) FROM frames" 2>/dev/null || echo 0; }
more_than() { [ "$(nframes "$1")" -gt "$2" ]; }
# lost WITNESS DB: witnessed frames missing from DB now (comm: both sorted alike)
# (a file of its own per store: the serve and ingest loops run side by side)
lost() {
	local now=$TMP/now.${2##*/}
	keys "$2" >"$now"
	LC_ALL=C comm -23 <(LC_ALL=C sort "$1") <(LC_ALL=C sort "$now") | wc -l
}

# ---- 1. the daemon -------------------------------------------------------------------
DB=$TMP/serve.db
start_serve() {
	"$VANTAGE" serve --db "$DB" --listen off --no-vms --metric-interval 1 --process-interval 1s \
		--connection-interval 1s --os-interval 1s --module-interval 1s --interface-interval 1s \
		--package-interval 2s --config-interval 2s --log-level info 2>>"$TMP/serve.log" &
	SP=$!
	echo "$SP" >"$TMP/serve.pid" # (run in a subshell: the test's exit kills it by this file)
}
on_exit 'kill -9 $(cat "$TMP/serve.pid")' 
serve_kills() {
RANDOM=$KILL_SEED
survived=0 lostn=0 checked=0 witnessed=0
for ((k = 1; k <= KILLS; k++)); do
	before=$(nframes "$DB")
	start_serve
	if ! wait_for 15 more_than "$DB" "$before"; then
		not_ok "serve run $k stores frames"
		tail -5 "$TMP/serve.log" | sed 's/^/#   /'
		kill -9 "$SP"
		break
	fi
	rnd_delay 0 2500
	d=$D
	sleep "$d"
	keys "$DB" >"$TMP/w$k"
	{ kill -9 "$SP"; wait "$SP"; } 2>/dev/null
	n=$(lost "$TMP/w$k" "$DB")
	if [ "$n" != 0 ]; then # a second look, and what is missing
		echo "# serve kill $k: $n lost; a second look: $(lost "$TMP/w$k" "$DB")"
		LC_ALL=C comm -23 <(LC_ALL=C sort "$TMP/w$k") <(LC_ALL=C sort "$TMP/now.${DB##*/}") | head -5 | sed 's/^/#   missing: /'
	fi
	w=$(wc -l <"$TMP/w$k")
	witnessed=$w
	lostn=$((lostn + n))
	"$VANTAGE" db check --db "$DB" >"$TMP/check$k" 2>&1 && checked=$((checked + 1))
	echo "# serve kill $k at +${d}s: $w frames committed before, $n lost, db check: $(tail -1 "$TMP/check$k")"
	[ "$n" = 0 ] && survived=$((survived + 1))
done
check_eq "serve SIGKILLed $KILLS times: no committed frame lost ($witnessed frames at the last kill)" "$KILLS 0" "$survived $lostn"
check_eq "…and vantage db check passed after every kill" "$KILLS" "$checked"
grep -v '^ok\|^sqlite\|^store\|^frame\|^record\|^points\|^kept\|^log' "$TMP"/check* 2>/dev/null | head -5 | sed 's/^/#   /'
start_serve
check "serve starts again after the last kill and stores" wait_for 15 more_than "$DB" "$(nframes "$DB")"
kill -TERM "$SP"
wait "$SP"
check_eq "…and stops cleanly (SIGTERM: exit 0)" 0 $?
check "the daemon logged no error over its runs" bash -c "! grep ': error:' '$TMP/serve.log'"
grep ': error:' "$TMP/serve.log" | head -3 | sed 's/^/#   /'
}
serve_kills >"$TMP/serve_kills.out" 2>&1 &
SK=$!
on_exit "kill $SK"

# ---- 2. ingest from Kafka -----------------------------------------------------------------
"$TESTBIN/kafka_mock" -n 1 -t kr -p 4 >"$TMP/mock.out" 2>"$TMP/mock.err" &
on_exit "kill $!"
wait_for 10 grep -q : "$TMP/mock.out" || { not_ok "kafka_mock up"; cat "$TMP/mock.err"; exit 1; }
B=$(head -1 "$TMP/mock.out")
P=$TMP/producer.db
"$VANTAGE" serve --db "$P" --listen off --no-vms --no-containers --metric-interval 1 \
	--process-interval 1s --os-interval 1s --module-interval 1s --sink "kafka://$B/kr" \
	--log-level info 2>"$TMP/producer.log" &
PP=$!
on_exit "kill -9 $PP"
I=$TMP/ingest.db
RANDOM=$((KILL_SEED + 1))
survived=0 lostn=0 checked=0
for ((k = 1; k <= INGEST_KILLS; k++)); do
	before=$(nframes "$I")
	batch=$((1 + RANDOM % 8))
	"$VANTAGE" ingest --from "kafka://$B/kr" --store "$I" --batch "$batch" --log-level info \
		>/dev/null 2>>"$TMP/ingest.log" &
	IP=$!
	on_exit "kill -9 $IP"
	if ! wait_for 30 more_than "$I" "$before"; then
		not_ok "ingest run $k stores frames"
		tail -5 "$TMP/ingest.log" | sed 's/^/#   /'
		break
	fi
	rnd_delay 0 2000
	d=$D
	sleep "$d"
	keys "$I" >"$TMP/iw$k"
	{ kill -9 "$IP"; wait "$IP"; } 2>/dev/null
	n=$(lost "$TMP/iw$k" "$I")
	lostn=$((lostn + n))
	"$VANTAGE" db check --db "$I" >"$TMP/icheck$k" 2>&1 && checked=$((checked + 1))
	echo "# ingest kill $k (batch $batch) at +${d}s: $(wc -l <"$TMP/iw$k") frames committed before, $n lost, db check: $(tail -1 "$TMP/icheck$k")"
	[ "$n" = 0 ] && survived=$((survived + 1))
done
kill -TERM "$PP"
wait "$PP"
check_eq "the producing daemon stops cleanly" 0 $?
produced=$(sed -n 's/.*kafka:\/\/[^ ]*: \([0-9]*\) frames.*/\1/p' "$TMP/producer.log" | tail -1)
check "…and every frame it produced was delivered to Kafka ($produced)" \
	grep -q "dropped frames 0, spooled [0-9]*, replayed [0-9]*, undelivered at close 0" "$TMP/producer.log"
check_eq "ingest SIGKILLed $INGEST_KILLS times: no committed frame lost" "$INGEST_KILLS 0" "$survived $lostn"
check_eq "…and vantage db check passed after every kill" "$INGEST_KILLS" "$checked"
"$VANTAGE" ingest --from "kafka://$B/kr" --store "$I" --idle-exit 3 >"$TMP/final.json" 2>>"$TMP/ingest.log"
check_eq "ingest restarted after the last kill: exit 0" 0 $?
check_eq "every frame produced is in the ingested store ($produced)" "${produced:-x}" "$(nframes "$I")"
check_eq "…the same frames (system, time) as the producer's own store, none twice" \
	"$(frames "$P")" "$(frames "$I")"
"$VANTAGE" db check --db "$I" >"$TMP/icheck.final" 2>&1
check_eq "vantage db check of the ingested store at the end: exit 0" 0 $?
wait $SK
cat "$TMP/serve_kills.out"
