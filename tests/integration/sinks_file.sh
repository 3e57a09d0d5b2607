#!/bin/bash
# The file sink's rotation (issue 14): by size and by age, rotated files
# named PATH.TIMESTAMP, compressed with zstd (they decompress with `zstd -d`
# to valid JSON Lines, every frame crawled in them once), keep=N honoured,
# a compression a crash cut short (NAME.zst.tmp) never shown as a file.
source "$(dirname "$0")/lib.sh"

# frames DIR: frame headers of the current file and the rotated ones, as
# "system time", decompressed, oldest first
frames() {
	local f
	for f in $(ls "$1"/out.jsonl.* 2>/dev/null | sort) "$1/out.jsonl"; do
		case $f in *.zst) zstd -dcq "$f" ;; *) cat "$f" ;; esac
	done | jq -r 'select(.feature == "frame") | "\(.system) \(.time)"'
}
valid_jsonl() { zstd -dcq "$1" | jq -e . >/dev/null 2>&1 && [ "$(zstd -dcq "$1" | jq -c . | wc -l)" = "$(zstd -dcq "$1" | wc -l)" ]; }

# ---- by size, compressed, keep=3 -------------------------------------------------
D=$TMP/size
mkdir -p "$D"
for i in 1 2 3 4 5 6; do
	"$VANTAGE" crawl --host -f os,metric -o "$TMP/c$i.jsonl" \
		--sink "file://$D/out.jsonl?rotate_size=4K&keep=3&compress=zstd" 2>>"$TMP/err"
done
n=$(ls "$D"/out.jsonl.*.zst 2>/dev/null | wc -l)
check_eq "rotated by size: keep=3 rotated files left" 3 "$n"
check "named PATH.YYYYMMDDTHHMMSS.mmmZ.zst" bash -c "ls '$D' | grep -Eq '^out\.jsonl\.[0-9]{8}T[0-9]{6}\.[0-9]{3}Z\.zst$'"
allvalid=true
for z in "$D"/out.jsonl.*.zst; do valid_jsonl "$z" || allvalid=false; done
check "every rotated file decompresses (zstd -d) to valid JSON Lines" $allvalid
check_eq "the 3 newest frames crawled are in them, in order" \
	"$(cat "$TMP"/c{4,5,6}.jsonl | jq -r 'select(.feature == "frame") | "\(.system) \(.time)"')" "$(frames "$D")"
check "no temporary file is left" bash -c "! ls '$D' | grep -q tmp"

# ---- by age, under the daemon ---------------------------------------------------
D=$TMP/age
mkdir -p "$D"
PORT=$(free_port)
"$VANTAGE" serve --no-vms --no-containers --db "$TMP/s.db" --listen "127.0.0.1:$PORT" --metric-interval 1s \
	--sink "file://$D/out.jsonl?rotate_age=2s&compress=zstd" --sink "$TMP/all.jsonl" 2>"$TMP/serve.log" &
SERVE_PID=$!
on_exit "kill -9 $SERVE_PID"
rotated_at_least() { [ "$(ls "$D"/out.jsonl.*.zst 2>/dev/null | wc -l)" -ge "$1" ]; }
check "rotated by age: 3 files within 30 s" wait_for 30 rotated_at_least 3
kill -TERM "$SERVE_PID"
wait_for 30 bash -c "! kill -0 $SERVE_PID 2>/dev/null"
check_eq "every frame the daemon crawled is in the rotated files and the current one, once, in order" \
	"$(jq -r 'select(.feature == "frame") | "\(.system) \(.time)"' "$TMP/all.jsonl")" "$(frames "$D")"
allvalid=true
for z in "$D"/out.jsonl.*.zst; do valid_jsonl "$z" || allvalid=false; done
check "…and the rotated files are valid JSON Lines" $allvalid

# ---- a crash in the middle of a compression ------------------------------------------
D=$TMP/crash
mkdir -p "$D"
"$VANTAGE" crawl --host -f os -o /dev/null --sink "file://$D/out.jsonl?rotate_size=100M" 2>>"$TMP/err"
cp "$D/out.jsonl" "$D/out.jsonl.20250101T000000.000Z"
head -c 100 /dev/urandom >"$D/out.jsonl.20250101T000000.000Z.zst.tmp"
"$VANTAGE" crawl --host -f os -o /dev/null --sink "file://$D/out.jsonl?rotate_size=100M&compress=zstd" 2>>"$TMP/err"
check "a half-written NAME.zst.tmp is removed at open" test ! -e "$D/out.jsonl.20250101T000000.000Z.zst.tmp"
check "…and NAME compressed again" valid_jsonl "$D/out.jsonl.20250101T000000.000Z.zst"
check "…the uncompressed NAME removed" test ! -e "$D/out.jsonl.20250101T000000.000Z"
check_eq "an existing file is rotated at open, not truncated: 2 rotated files" 2 "$(ls "$D"/out.jsonl.*.zst | wc -l)"

# ---- bad options ---------------------------------------------------------------------
"$VANTAGE" crawl --host -f os -o /dev/null --sink "file://$D/x?rotate_size=big" 2>"$TMP/e1"
check_eq "a bad rotate_size: exit 2" 2 $?
check "…named in the message ($(cat "$TMP/e1"))" grep -q "rotate_size: not a size: 'big'" "$TMP/e1"
"$VANTAGE" crawl --host -f os -o /dev/null --sink "file://$D/x?keep=3" 2>"$TMP/e2"
check_eq "keep without rotation: exit 2" 2 $?
