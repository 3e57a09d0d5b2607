#!/usr/bin/env bash
# The embedded store with real frames of this host: a crawl stored and read
# back exactly; kill -9 during heavy writes; a full disk (a 2 MB tmpfs)
# with the store sink queueing and then catching up; corrupt and foreign
# database files.  Drives the store through tests/integration/store_tool.c,
# built by `make unit` as build/tests/store_tool.
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."

need_testbin store_tool
TOOL=$TESTBIN/store_tool
quiet() { "$@" >/dev/null; }
ok "the store driver is built (make unit: build/tests/store_tool)"

# ---- a real crawl, stored and read back exactly --------------------------------
$VANTAGE crawl --features os,process,connection,module,package,metric,interface -i 0.2 \
	>"$TMP/one.jsonl" 2>/dev/null
DB=$TMP/a.db
check "store a real frame" quiet "$TOOL" ingest "$DB" "$TMP/one.jsonl" 1
SID=$(head -1 "$TMP/one.jsonl" | jq -r .system)
T=$(head -1 "$TMP/one.jsonl" | jq -r .time)
MS=$(date -d "$T" +%s%3N)
"$TOOL" frame "$DB" "$SID" "" "$MS" >"$TMP/back.json"
jq -c '.records[]' "$TMP/back.json" >"$TMP/back.txt"
tail -n +2 "$TMP/one.jsonl" | jq -c '{feature, key, value}' >"$TMP/orig.txt"
check "every record reads back as crawled ($(wc -l <"$TMP/orig.txt") records)" cmp -s "$TMP/orig.txt" "$TMP/back.txt"
check_eq "the header reads back as crawled" "$(head -1 "$TMP/one.jsonl" | jq -c .value)" "$(jq -c .frame "$TMP/back.json")"
# byte for byte, not only after jq: each record's text is in the answer
missing=$(tail -n +2 "$TMP/one.jsonl" | head -500 | while IFS= read -r l; do
	r="{${l#*\"time\":\"$T\",}"
	grep -qF -- "$r" "$TMP/back.json" || echo x
done | wc -l)
check_eq "records come back byte for byte" 0 "$missing"
names=$("$TOOL" names "$DB" "$SID")
check "metric names include memory.used_pct and cpu.busy_pct" \
	quiet jq -e 'index("memory.used_pct") and index("cpu.busy_pct")' <<<"$names"
"$TOOL" series "$DB" "$SID" 'memory.used_pct' "$((MS - 1000))" "$((MS + 1000))" 1000 avg >"$TMP/series.json"
want=$(tail -n +2 "$TMP/one.jsonl" | jq -r 'select(.feature == "metric" and .key == "memory") | .value.used_pct')
check_eq "the memory series holds the crawled value" "$want" "$(jq -r '.points[0][1]' "$TMP/series.json")"
check "the latest points name the host" grep -q "^$SID .* memory.used_pct {} " <("$TOOL" latest "$DB")

# 60 crawls' worth of the same system: records are shared
"$TOOL" ingest "$DB" "$TMP/one.jsonl" 60 10000 >/dev/null
stats=$("$TOOL" check "$DB" | tail -1)
nrec=$(jq .records <<<"$stats")
lines=$(wc -l <"$TMP/one.jsonl")
check "61 frames of an unchanged system keep one copy of each record ($nrec records, $lines lines a frame)" \
	test "$nrec" -le "$lines"

# ---- kill -9 during heavy writes --------------------------------------------------
$VANTAGE crawl --features os,process,package,metric -i 0.1 >"$TMP/k.jsonl" 2>/dev/null
DB=$TMP/k.db
"$TOOL" loop "$DB" "$TMP/k.jsonl" 1000000 1000 new >"$TMP/ids.txt" 2>"$TMP/loop.err" &
pid=$!
on_exit "kill -9 $pid"
# kill it once it is well into its writes
wait_for 15 bash -c "[ \$(grep -cE '^[0-9]+\$' '$TMP/ids.txt') -ge 20 ]"
kill -9 "$pid"
wait "$pid" 2>/dev/null
# only whole lines were reported
grep -E '^[0-9]+$' "$TMP/ids.txt" >"$TMP/ids.ok"
n=$(wc -l <"$TMP/ids.ok")
check "frames were being written when killed ($n stored)" test "$n" -gt 5
check_eq "after kill -9 the database opens and integrity_check is ok" ok "$("$TOOL" check "$DB" | head -1)"
"$TOOL" frames "$DB" >"$TMP/have.txt"
check_eq "every frame reported stored is there" "" "$(comm -23 <(sort "$TMP/ids.ok") <(sort "$TMP/have.txt"))"
check "the last reported frame reads back" quiet "$TOOL" frame "$DB" "$(head -1 "$TMP/k.jsonl" | jq -r .system)"

# ---- a full disk --------------------------------------------------------------------
SMALL=$TMP/small
mkdir -p "$SMALL"
if mount -t tmpfs -o size=2m tmpfs "$SMALL" 2>/dev/null; then
	on_exit "umount -l $SMALL"
	$VANTAGE crawl --features os,metric,interface -i 0.1 >"$TMP/s.jsonl" 2>/dev/null
	DB=$SMALL/s.db
	STORE_TOOL_PAUSE_PENDING=3 "$TOOL" sink "$DB" "$TMP/s.jsonl" 400 new >"$TMP/sink.out" 2>"$TMP/sink.err" &
	pid=$!
	on_exit "kill -9 $pid"
	paused_or_dead() { grep -q '^paused' "$TMP/sink.out" || ! kill -0 "$pid" 2>/dev/null; }
	wait_for 30 paused_or_dead
	check "the disk filled up and frames wait in the sink's queue" grep -q '^paused' "$TMP/sink.out"
	check "the store said ENOSPC" grep -q 'flush=-28 pending=' "$TMP/sink.out"
	# reads go on while the disk is full
	check "the full store still answers reads" quiet "$TOOL" systems "$DB"
	check_eq "the full store is intact" ok "$("$TOOL" check "$DB" 2>/dev/null | head -1)"
	stored_before=$("$TOOL" frames "$DB" | wc -l)
	mount -o remount,size=64m "$SMALL"
	kill -CONT "$pid"
	wait "$pid"
	check "after space returns the queue drains" grep -q '^final flush=0 pending=0' "$TMP/sink.out"
	check_eq "every frame is stored (400 rounds)" 400 "$("$TOOL" frames "$DB" | wc -l)"
	check "more were stored after the disk had room again ($stored_before before)" test "$stored_before" -lt 400
	check_eq "integrity_check after the full disk" ok "$("$TOOL" check "$DB" | head -1)"
	check_eq "no frame was dropped" "" "$(grep -i dropped "$TMP/sink.err")"
else
	ok "# SKIP full disk test: cannot mount a tmpfs"
fi

# ---- corrupt and foreign files --------------------------------------------------------
head -c 65536 /dev/urandom >"$TMP/junk.db"
out=$("$TOOL" systems "$TMP/junk.db" 2>&1)
check_eq "a file of random bytes is refused (exit 3)" 3 "$?"
check "the message names the file ($out)" grep -qF "$TMP/junk.db" <<<"$out"
out=$("$TOOL" maintain "$TMP/junk.db" 0 2>&1)
check "read-write open of random bytes is refused too" grep -qF "$TMP/junk.db: " <<<"$out"
check_eq "and the file is left as it was" 65536 "$(stat -c %s "$TMP/junk.db")"
if command -v sqlite3 >/dev/null; then
	sqlite3 "$TMP/other.db" "CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL);"
	out=$("$TOOL" maintain "$TMP/other.db" 0 2>&1)
	check "a foreign SQLite database is refused, naming it and its tables ($out)" \
		grep -q "$TMP/other.db: not a Vantage store.*invoices" <<<"$out"
	check_eq "the foreign database is untouched" "invoices" "$(sqlite3 "$TMP/other.db" .tables)"
fi
# a store cut in half
cp "$TMP/a.db" "$TMP/cut.db"
truncate -s $(($(stat -c %s "$TMP/a.db") / 2)) "$TMP/cut.db"
out=$("$TOOL" frame "$TMP/cut.db" "$SID" 2>&1)
rc=$?
check "a store cut in half gives an error naming it, not a crash (rc $rc)" \
	bash -c "[ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -qF '$TMP/cut.db' <<<'$out'"
