#!/usr/bin/env bash
# Hostile guests (issue 17, docs/reliability.md "Hostile guests"): real
# runtime-less containers (unshare + cgroups, containers_lib.sh) whose roots
# and processes are built to break a crawler, crawled by `vantage crawl` in
# both formats and by `vantage serve`.  Every output line must parse, and
# every hostile name must come back EXACTLY: hostile_check.py decodes the
# JSON (\udcXX is byte XX) and compares bytes with the file system and /proc.
#
#   big    a root with HOSTILE_FILES files (default 100,000 in CI; the soak
#          tests/soak/hostile_million.sh runs 1,000,000) and a chain of
#          HOSTILE_DEPTH (10,000) directories: the walk lists the first 256
#          levels, counts one error naming the depth limit, and goes on.
#   names  a root with names holding newlines, tabs, control characters,
#          invalid UTF-8, quotes and backslashes, and symlinks out of the root
#          (never followed), and in it the hostile process: an argv of
#          128 KiB, a comm with a tab, a newline, a quote, a backslash and an
#          invalid byte, 10,000 descriptors (1,000 UDP sockets), a
#          /proc/PID/maps of 100,000 lines over a file whose name holds a
#          newline and ends in " (deleted)", and a really deleted mapping.
#   serve  the daemon crawls both containers (file, process, connection,
#          library every few seconds): no crash, each frame stored, names
#          exact through the store and the API; its crawl times and peak RSS
#          are printed as "# figure:" lines.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
VANTAGE=${VANTAGE_PLAIN:-$VANTAGE} # it measures the daemon's memory: the plain build (ASan's quarantine and shadow would count)
need_testbin hostile_tool
HT=$TESTBIN/hostile_tool
CHECK=$(cd "$(dirname "$0")" && pwd)/hostile_check.py
FILES=${HOSTILE_FILES:-100000}
DEPTH=${HOSTILE_DEPTH:-10000}
ARGV_BYTES=131072
NFDS=10000
NMAPS=100000
CMDLINE_MAX=65536 # docs/formats.md: the command line is cut there
T=h$$
COMM='c\tm\nd"\\\xff'

# /proc/PID/maps of 100,000 lines needs more mappings than the default 65,530
old_maps=$(sysctl -n vm.max_map_count)
if [ "$old_maps" -lt $((NMAPS + 1000)) ]; then
	sysctl -qw vm.max_map_count=$((NMAPS * 2)) || { not_ok "raise vm.max_map_count"; exit 1; }
	on_exit "sysctl -qw vm.max_map_count=$old_maps"
fi

# check_tree DESC FORMAT OUT ROOT START: the file records are the tree, exactly
check_tree() {
	local r
	r=$(python3 "$CHECK" tree "$2" "$3" "$4" "$5" 2>&1)
	check "$1 ($(tail -1 <<<"$r"))" test $? -eq 0 -a -z "$(grep '^#' <<<"$r")"
	grep '^#' <<<"$r" | head -12
}
check_parse() {
	local r
	r=$(python3 "$CHECK" parse "$2" "$3" 2>&1)
	check "$1 ($r)" test $? -eq 0 -a -z "$(grep '^#' <<<"$r")"
	grep '^#' <<<"$r" | head -5
}
check_proc() {
	local r
	r=$(python3 "$CHECK" proc "$2" "$3" "$4" $CMDLINE_MAX 2>&1)
	check "$1 ($(tail -1 <<<"$r"))" test $? -eq 0 -a -z "$(grep '^#' <<<"$r")"
	grep '^#' <<<"$r" | head -8
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
hdr() { head -1 "$1" | jq -c ".value | $2"; }
meta() { head -1 "$1" | cut -f3- | jq -c "$2"; }

# ---- the roots ---------------------------------------------------------------
echo "# ${SECONDS}s: the roots"
t0=$(date +%s%N)
# the big root is a tmpfs of its own: making (and removing) a million
# files on a busy disk takes minutes, in memory seconds (~1 KiB a file)
mkdir -p "$TMP/big"
mount -t tmpfs -o size=4g,nr_inodes=$((FILES + DEPTH + 100000)) vantage-hostile "$TMP/big" ||
	{ not_ok "mount a tmpfs for the big root"; exit 1; }
on_exit "umount -l '$TMP/big'"
mk_busybox_root "$TMP/big" >/dev/null && mk_busybox_root "$TMP/names" >/dev/null ||
	{ not_ok "busybox roots"; exit 1; }
mkdir -p "$TMP/big/hostile"
# names of 200 bytes: the frame is ~70 MB at 100,000 files, above the
# daemon's 64 MiB retry queue (frames that size were once dropped whole)
made=$("$HT" files "$TMP/big/hostile/many" "$FILES" 10000 200)
deep=$("$HT" deep "$TMP/big/hostile" "$DEPTH")
check_eq "root 'big': $FILES files and a $DEPTH-deep chain made ($(ms_since "$t0") ms)" "$FILES $DEPTH" "$made $deep"
python3 "$CHECK" mknames "$TMP/names/hostile" >/dev/null
check "root 'names': hostile names and escaping symlinks made" test -L "$TMP/names/hostile/esc-abs"
cp "$HT" "$TMP/names/hostile_tool"
# the process: exec'd by the job the container's init starts, so it is
# the init's child; it prints its pid (inside) when everything holds
printf '%s\n' "exec /hostile_tool proc $ARGV_BYTES $NFDS $NMAPS \"\$(printf '/tmp/map\\nfile\\t\\377 (deleted)')\" '$COMM' >/tmp/ready 2>&1" \
	>"$TMP/names/start.sh"

start_unshare_container $T-big "$TMP/big" 'sleep 1000000' >/dev/null || { not_ok "start $T-big"; exit 1; }
ipid=$(start_unshare_container $T-names "$TMP/names" '/bin/sh /start.sh') || { not_ok "start $T-names"; exit 1; }
wait_for 30 grep -q '^ready' "$TMP/names/tmp/ready"
check "the hostile process is ready in $T-names ($(cat "$TMP/names/tmp/ready" 2>/dev/null | head -3))" \
	grep -q '^ready' "$TMP/names/tmp/ready"
hp=$(cut -d' ' -f1 <"/proc/$ipid/task/$ipid/children" 2>/dev/null)
check "its host pid ($hp) holds $NFDS+ descriptors and $NMAPS+ mappings" \
	test "$(ls "/proc/$hp/fd" 2>/dev/null | wc -l)" -ge $NFDS -a "$(wc -l <"/proc/$hp/maps")" -ge $NMAPS
check_eq "its argv is $ARGV_BYTES bytes" $ARGV_BYTES "$(wc -c <"/proc/$hp/cmdline")"

# ---- crawl: the big root -------------------------------------------------------
echo "# ${SECONDS}s: crawl: the big root"
for fmt in json crawler; do
	out=$TMP/big.$fmt
	t=$(date +%s%N)
	timeout 120 "$VANTAGE" crawl --container $T-big -f file --file-root /hostile --format $fmt >"$out" 2>"$TMP/big.err"
	rc=$?
	ms=$(ms_since "$t")
	check_eq "big/$fmt: crawl exits 0 (${ms} ms for $FILES files)" 0 $rc
	echo "# figure: crawl --container of $FILES files + a $DEPTH-deep chain, $fmt: $ms ms, $(du -m "$out" | cut -f1) MB of output"
	# (the tree check parses every line too, and fails on one that does not)
	check_tree "big/$fmt: every line parses; every file and directory exactly once, 256 levels of the chain" \
		$fmt "$out" "$TMP/big" /hostile
	if [ $fmt = json ]; then e=$(hdr "$out" .errors.file); m=$(hdr "$out" .messages.file[0]); else
		e=$(meta "$out" .errors.file); m=$(meta "$out" .messages.file[0]); fi
	check_eq "big/$fmt: one error, the depth limit" 1 "$e"
	check "big/$fmt: its message names the limit and keeps the path's end ($(cut -c1-40 <<<"$m")...$(tail -c 60 <<<"$m"))" \
		grep -q '/d/d\.\.\./d/d.*/d: more than 256 directories deep, not read"$' <<<"$m"
done

# ---- crawl: the hostile names and the hostile process ----------------------------
echo "# ${SECONDS}s: crawl: the hostile names and the hostile process"
shadow_hash=$(awk -F: '$2 ~ /^\$/ {print $2; exit}' /etc/shadow)
for fmt in json crawler; do
	out=$TMP/names.$fmt
	t=$(date +%s%N)
	timeout 120 "$VANTAGE" crawl --container $T-names -f process,connection,library,file,config \
		--file-root /hostile --config-path /hostile -i 0 --format $fmt >"$out" 2>"$TMP/names.err"
	rc=$?
	ms=$(ms_since "$t")
	check_eq "names/$fmt: crawl exits 0 ($ms ms)" 0 $rc
	echo "# figure: crawl --container of the hostile process (128 KiB argv, $NFDS fds, $NMAPS maps lines) and names, $fmt: $ms ms"
	check_parse "names/$fmt: every line parses" $fmt "$out"
	check_tree "names/$fmt: every hostile name exact (file keys, paths, link targets; config contents)" \
		$fmt "$out" "$TMP/names" /hostile
	check_proc "names/$fmt: comm, cmdline (cut at 64 KiB), fds of the hostile process exact" $fmt "$out" "$hp"
	check "names/$fmt: no content of the host's shadow" bash -c "! grep -qF -- '${shadow_hash:-root:}' '$out'"
	check "names/$fmt: escaping symlinks reported, not followed (nothing under esc-dir, esc-root)" \
		bash -c "! grep -aqE '\"/hostile/esc-(dir|root)/' '$out'"
	if [ $fmt = json ]; then
		sk=$(hdr "$out" .skipped.process)
		msgs=$(hdr "$out" .messages.process)
	else
		sk=$(meta "$out" .skipped.process)
		msgs=$(meta "$out" .messages.process)
	fi
	check_eq "names/$fmt: the cut command line is counted as skipped" 1 "$sk"
	check "names/$fmt: ... with a message naming the process" grep -q "command line cut at" <<<"$msgs"
	check_eq "names/$fmt: its 1,000 UDP sockets are attributed to it" 1000 "$(python3 "$CHECK" sockets $fmt "$out" "$hp")"
	check_eq "names/$fmt: its mapped files: the name with a newline and ' (deleted)' exact and not deleted, the unlinked one deleted" \
		"b'/tmp/map\\nfile\\t\\xff (deleted)' False 1
b'/tmp/map\\nfile\\t\\xff (deleted).gone' True 1" "$(python3 "$CHECK" mapped $fmt "$out" /tmp/map)"
done

# ---- the daemon -----------------------------------------------------------------------
echo "# ${SECONDS}s: the daemon"
PORT=$(free_port)
cat >"$TMP/serve.ini" <<EOF
[intervals]
metric = 2s
process = 3s
connection = 3s
library = 5s
file = 5s
config = 1h
package = 1h
[crawl]
file_root = /hostile
timeout = 60s
EOF
t=$(date +%s%N)
"$VANTAGE" serve --no-vms --config "$TMP/serve.ini" --db "$TMP/s.db" --listen "127.0.0.1:$PORT" 2>"$TMP/serve.log" &
SP=$!
on_exit "kill -9 $SP"
api() { curl -s --max-time 120 "http://127.0.0.1:$PORT$1"; }
cid() { api "/api/v1/systems?kind=container" | jq -r --arg n "$1" '.systems[] | select(.name==$n) | .id'; }
# the file frame of NAME is in the store: read by `vantage show` (its own
# process: the daemon's memory is the crawl's and the store's alone)
stored() { [ "$("$VANTAGE" show "$1" -f file --json --db "$TMP/s.db" 2>/dev/null | jq '.records | length')" -gt 0 ] 2>/dev/null; }
file_frame() {
	local id
	id=$(cid "$1")
	[ -n "$id" ] && api "/api/v1/systems/$(jq -rn --arg s "$id" '$s|@uri')/frame?feature=file" >"$TMP/api.$1.json" &&
		[ "$(jq '.records | length' "$TMP/api.$1.json" 2>/dev/null)" -gt 0 ]
}
wait_for 90 stored $T-big
check "serve: the big root's file frame is stored ($(ms_since "$t") ms after start)" stored $T-big
wait_for 30 stored $T-names
hwm_crawl=$(awk '/^VmHWM:/ {print $2}' /proc/$SP/status)
echo "# ${SECONDS}s: stored"
file_frame $T-big || echo "# the API's answer: $(head -c 300 "$TMP/api.$T-big.json")"
file_frame $T-names || echo "# the API's answer: $(head -c 300 "$TMP/api.$T-names.json")"
check_tree "serve: the big root exact through the store and the API" api "$TMP/api.$T-big.json" "$TMP/big" /hostile
check_tree "serve: the hostile names exact through the store and the API" api "$TMP/api.$T-names.json" "$TMP/names" /hostile
nid=$(jq -rn --arg s "$(cid $T-names)" '$s|@uri')
wait_for 20 sh -c "curl -s 'http://127.0.0.1:$PORT/api/v1/systems/$nid/frame?feature=process' >'$TMP/api.proc.json' && grep -q '\"pid\":$hp,' '$TMP/api.proc.json'"
check_proc "serve: the hostile process exact through the store and the API" api "$TMP/api.proc.json" "$hp"
# a few more passes with everything due, then the figures
sleep 6 # more file (5 s) and library passes over both containers: the point of the wait
check "serve: still running after repeated crawls" kill -0 $SP
fms=$(jq '.frame.feature_ms.file' "$TMP/api.$T-big.json")
health=$(api /api/v1/health)
echo "# figure: serve: file feature over $FILES files + the chain: $fms ms; last crawl pass $(jq '.daemon.last_crawl_duration_ms' <<<"$health") ms; $(jq '.daemon.frames_stored' <<<"$health") frames stored, $(jq '.daemon.frames_failed' <<<"$health") failed"
hwm=$(awk '/^VmHWM:/ {print $2}' /proc/$SP/status)
rss=$(awk '/^VmRSS:/ {print $2}' /proc/$SP/status)
fds=$(ls /proc/$SP/fd | wc -l)
echo "# figure: serve: peak RSS $((hwm_crawl / 1024)) MiB crawling and storing, $((hwm / 1024)) MiB after the API answered the frames; RSS now $((rss / 1024)) MiB, $fds descriptors"
check_eq "serve: no frame failed" 0 "$(jq '.daemon.frames_failed' <<<"$health")"
# the bound: the largest frame's bytes (held while stored) plus 160 MiB
# (measured: +118 MiB at 1,000,000 files, +25 MiB at 100,000)
bound=$(($(stat -c %s "$TMP/big.json") / 1024 + 163840))
check "serve: peak RSS while crawling and storing bounded by the frame's size + 160 MiB ($((hwm_crawl / 1024)) of $((bound / 1024)) MiB)" \
	test "$hwm_crawl" -lt "$bound"
check "serve: no crash or error lines in its log" bash -c "! grep -qiE 'sanitizer|segfault|abort|error:' '$TMP/serve.log'"
kill -TERM $SP
wait_for 30 bash -c "! kill -0 $SP 2>/dev/null"
wait $SP
check_eq "serve: SIGTERM exits 0" 0 $?
grep -iE 'warn|error' "$TMP/serve.log" | grep -v dashboard | head -5 | sed 's/^/#   serve: /'

# ---- `vantage api` over that store: a huge answer's memory given back ---------------
# (the plain build, as the whole suite: ASan would hold what was freed)
APORT=$(free_port)
"$VANTAGE" api --db "$TMP/s.db" --listen "127.0.0.1:$APORT" 2>"$TMP/api.log" &
AP=$!
on_exit "kill -9 $AP"
aapi() { curl -s --max-time 120 "http://127.0.0.1:$APORT$1"; }
wait_for 15 aapi /api/v1/health >/dev/null
bid=$(aapi "/api/v1/systems?kind=container" | jq -r --arg n "$T-big" '.systems[] | select(.name==$n) | .id | @uri')
aapi "/api/v1/systems/$bid" >/dev/null # the store handle and its caches, before the baseline
rssnow() { awk '/^VmRSS:/ {print $2}' /proc/$AP/status; }
rss0=$(rssnow)
abytes=$(aapi "/api/v1/systems/$bid/frame?feature=file" | wc -c)
# (the answer is freed once sent, a moment after the client has it all)
wait_for 10 bash -c "[ \$(awk '/^VmRSS:/ {print \$2}' /proc/$AP/status) -lt $((rss0 + 16384)) ]"
rss1=$(rssnow)
ahwm=$(awk '/^VmHWM:/ {print $2}' /proc/$AP/status)
echo "# figure: api: the big root's file frame, $abytes bytes: RSS $((rss0 / 1024)) MiB before, peak $((ahwm / 1024)) MiB, $((rss1 / 1024)) MiB after"
check "api: the memory of a $((abytes >> 20)) MiB answer is given back (RSS $((rss1 / 1024)) MiB after, $((rss0 / 1024)) MiB before)" \
	test "$abytes" -gt $((16 << 20)) -a "$rss1" -lt $((rss0 + 16384))
kill -TERM $AP
wait $AP
check_eq "api: SIGTERM exits 0" 0 $?
echo "# ${SECONDS}s: done"
