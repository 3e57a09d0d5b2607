#!/usr/bin/env bash
# Hostile places for the store (docs/storage.md, "Crashes, full disks, bad
# files"): --db a block device (a loop device), /dev/null, /dev/full or a
# FIFO is refused by serve and by the read-only commands, naming the path
# and what it is, with nothing written and nothing left in /dev, and no
# hang; a store on a read-only file system is read by `vantage api` and
# `vantage systems`, and serve names EROFS; two daemons on one store (the
# second is refused with the first's pid); a serve that cannot bind its
# address leaves no store; the store deleted under serve (noticed, shown by
# the health endpoint, a new store made there); after a full disk, a frame
# of the slow lane is stored at the next crawl of any lane.
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."

SERVE=(--no-vms --no-containers --metric-interval 1s --log-level info)
# health PORT: the health endpoint's answer, the HTTP status on a last line
health() { curl -s -m 3 -w '\n%{http_code}\n' "http://127.0.0.1:$1/api/v1/health"; }
hj() { health "$1" | head -n -1; }
no_dev_litter() { ! ls /dev | grep -qE -- '-(journal|wal|shm)$|\.lock$'; }

# ---- devices and FIFOs are not stores ---------------------------------------------
check "no SQLite files in /dev before" no_dev_litter
truncate -s 8M "$TMP/img"
LOOP=$(losetup -f --show "$TMP/img")
check "a loop device for the test ($LOOP)" test -b "$LOOP"
[ -b "$LOOP" ] && on_exit "losetup -d $LOOP"
mkfifo "$TMP/fifo"
for dev in "$LOOP" /dev/null /dev/full "$TMP/fifo"; do
	case $dev in
	/dev/loop*) what="a block device" ;;
	"$TMP/fifo") what="a FIFO" ;;
	*) what="a character device" ;;
	esac
	timeout 10 "$VANTAGE" serve --db "$dev" "${SERVE[@]}" --listen 127.0.0.1:0 2>"$TMP/err"
	rc=$?
	check_eq "serve --db $dev: exit 1 (refused, no hang)" 1 $rc
	check "…saying '$dev: is $what, not a store file'" grep -qF "$dev: is $what, not a store file" "$TMP/err"
	timeout 10 "$VANTAGE" api --db "$dev" --listen 127.0.0.1:0 2>"$TMP/err"
	rc=$?
	check_eq "api --db $dev: exit 1 (refused, no hang)" 1 $rc
	check "…naming $dev and what it is" grep -qF "$dev: is $what" "$TMP/err"
	for cmd in systems "show host" "metrics host"; do
		# shellcheck disable=SC2086
		timeout 10 "$VANTAGE" $cmd --db "$dev" >/dev/null 2>"$TMP/err"
		rc=$?
		check "$cmd --db $dev: refused without hanging (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
		check "…naming $dev and what it is" grep -qF "$dev: is $what" "$TMP/err"
	done
done
check "nothing was written onto the loop device" test "$(tr -d '\0' <"$TMP/img" | wc -c)" = 0
check "no -journal, -wal, -shm or .lock file left in /dev" no_dev_litter
for dev in "$LOOP" /dev/null /dev/full; do # what a store open on a device would leave
	for sfx in -journal -wal -shm .lock; do
		[ -f "$dev$sfx" ] && rm -f "$dev$sfx"
	done
done

# ---- a store on a read-only file system ---------------------------------------------
mkdir -p "$TMP/ro"
mount -t tmpfs -o size=16m tmpfs "$TMP/ro" && on_exit "umount -l $TMP/ro"
"$VANTAGE" crawl --features os,metric -i 0.2 >"$TMP/frame.jsonl" 2>/dev/null
"$VANTAGE" api --db "$TMP/ro/s.db" --import "$TMP/frame.jsonl" 2>/dev/null
check "a store made on the tmpfs" test -s "$TMP/ro/s.db"
mount -o remount,ro "$TMP/ro"
check "the tmpfs is read-only now" sh -c "! touch '$TMP/ro/x' 2>/dev/null"
n=$("$VANTAGE" systems --db "$TMP/ro/s.db" --json 2>"$TMP/err" | jq length)
check_eq "vantage systems reads the store on the read-only file system" 1 "$n"
PORT=$(free_port)
"$VANTAGE" api --db "$TMP/ro/s.db" --listen "127.0.0.1:$PORT" 2>"$TMP/api.log" &
API=$!
on_exit "kill -9 $API"
wait_for 5 sh -c "curl -s -m 2 http://127.0.0.1:$PORT/api/v1/health | grep -q '\"status\": *\"ok\"'"
check "vantage api serves it: health ok" sh -c "curl -s -m 2 http://127.0.0.1:$PORT/api/v1/health | jq -e '.status == \"ok\" and .store.frames == 1' >/dev/null"
check "…and its system" sh -c "curl -s -m 2 http://127.0.0.1:$PORT/api/v1/systems | jq -e 'length == 1' >/dev/null"
kill "$API"
timeout 10 "$VANTAGE" serve --db "$TMP/ro/s.db" "${SERVE[@]}" --listen 127.0.0.1:0 2>"$TMP/err"
check_eq "serve on the read-only file system: exit 1" 1 $?
check "…saying the file system is read-only (EROFS)" grep -q "$TMP/ro/s.db: .*read-only (EROFS)" "$TMP/err"

# ---- a serve that cannot listen makes no store ---------------------------------------
PORT=$(free_port)
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$PORT)); s.listen(); time.sleep(30)" &
HOLD=$!
on_exit "kill -9 $HOLD"
wait_for 5 sh -c "ss -ltn | grep -q ':$PORT '"
timeout 10 "$VANTAGE" serve --db "$TMP/nobind/s.db" "${SERVE[@]}" --listen "127.0.0.1:$PORT" 2>"$TMP/err"
check_eq "serve on a port in use: exit 1" 1 $?
check "…saying the address is in use" grep -q "listen on 127.0.0.1:$PORT: Address already in use" "$TMP/err"
check "…and no store file (nor its directory) was made" test ! -e "$TMP/nobind"
kill -9 "$HOLD"
wait "$HOLD" 2>/dev/null

# ---- two daemons on one store; the store deleted under the daemon --------------------
DB=$TMP/d/s.db
PORT=$(free_port)
"$VANTAGE" serve --db "$DB" "${SERVE[@]}" --listen "127.0.0.1:$PORT" 2>"$TMP/serve.log" &
S1=$!
on_exit "kill -9 $S1"
wait_for 10 sh -c "curl -s -m 2 http://127.0.0.1:$PORT/api/v1/health | jq -e '.daemon.frames_stored >= 2' >/dev/null"
check "serve stores frames" sh -c "curl -s -m 2 http://127.0.0.1:$PORT/api/v1/health | jq -e '.status == \"ok\"' >/dev/null"
timeout 10 "$VANTAGE" serve --db "$DB" "${SERVE[@]}" --listen 127.0.0.1:0 2>"$TMP/err"
check_eq "a second serve on the same store: exit 1" 1 $?
check "…naming the first daemon's pid ($S1)" grep -q "in use by another vantage serve (pid $S1," "$TMP/err"
check "the first daemon still runs" kill -0 "$S1"

rm "$DB"
not_ok_health() { health "$PORT" >"$TMP/h"; ! jq -e '.status == "ok"' "$TMP/h" >/dev/null 2>&1; }
if wait_for 5 not_ok_health; then
	ok "health is not ok once the store file is deleted ($(head -c 200 "$TMP/h" | tr '\n' ' '))"
else
	not_ok "health is not ok once the store file is deleted ($(head -c 200 "$TMP/h" | tr '\n' ' '))"
fi
deg() { health "$PORT" | head -n -1 | jq -e '.status == "degraded" and (.daemon.last_error | test("deleted"))' >/dev/null; }
wait_for 5 deg
check "…degraded, its last_error saying the store was deleted" deg
check "a new store is at the path" test -s "$DB"
fr() { "$VANTAGE" systems --db "$DB" --json 2>/dev/null | jq -e 'length == 1' >/dev/null; }
wait_for 5 fr
check "collection goes on into the new store" fr
api_sys() { curl -s -m 2 "http://127.0.0.1:$PORT/api/v1/systems" | jq -e 'length == 1' >/dev/null; }
check "the API reads the new store" api_sys
sleep 2 # more frames: the error must not be logged again
check_eq "the deletion is logged once" 1 "$(grep -c 'the store file was deleted while in use' "$TMP/serve.log")"
kill "$S1"
wait "$S1"
check_eq "the daemon stops with status 0" 0 $?
check "…removing its lock file" test ! -e "$DB.lock"

# ---- a full disk: a slow lane's pending frame is stored at any lane's crawl ----------
# The slow lane (package) crawls every 15 s; the disk is full from about
# 2 s to about 19 s, so the package frame of second 15 waits in memory.
# Once there is room, the next crawl of the fast lane (every second)
# must store it too: health is ok again long before the slow lane's next
# tick at second 30.
mkdir -p "$TMP/full"
mount -t tmpfs -o size=16m tmpfs "$TMP/full" && on_exit "umount -l $TMP/full"
PORT=$(free_port)
"$VANTAGE" serve --db "$TMP/full/s.db" "${SERVE[@]}" --package-interval 15s --config-interval off \
	--listen "127.0.0.1:$PORT" 2>"$TMP/full.log" &
S2=$!
on_exit "kill -9 $S2"
t0=$(date +%s)
wait_for 10 sh -c "curl -s -m 2 http://127.0.0.1:$PORT/api/v1/health | jq -e '.daemon.frames_stored >= 2' >/dev/null"
dd if=/dev/zero of="$TMP/full/fill" bs=64k 2>/dev/null
full() { hj "$PORT" | jq -e '.status == "degraded" and (.daemon.last_error | test("disk full"))' >/dev/null; }
wait_for 10 full
check "the full disk shows in health" full
sleep $((t0 + 19 - $(date +%s))) # past the slow lane's crawl at second 15
check "frames are pending" sh -c "curl -s -m 2 http://127.0.0.1:$PORT/api/v1/health | jq -e '.daemon.pending_frames >= 2' >/dev/null"
rm "$TMP/full/fill"
okh() { hj "$PORT" | jq -e '.status == "ok" and .daemon.pending_frames == 0' >/dev/null; }
wait_for 5 okh
check "every pending frame is stored and health is ok within 5 s of space returning ($(($(date +%s) - t0)) s after start)" okh
check "…before the slow lane's next crawl" test $(($(date +%s) - t0)) -lt 29
kill "$S2"
wait "$S2"
