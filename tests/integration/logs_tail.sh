#!/usr/bin/env bash
# Logs collected from outside (issue 16): `vantage serve` tails real
# podman containers' output (k8s-file) and files in their roots into the
# store, exactly once.  Counted against what is on disk:
#   - a container printing 20000 lines fast: every record of its ctr.log
#     stored once (stdout and stderr told apart);
#   - a process in a container writing numbered lines to a file as fast as
#     it can while the host rotates it by rename and then by copytruncate: every
#     line on disk (the file and its rotated copies) stored, none twice,
#     none that was never written;
#   - a container restarted mid-stream: its ctr.log, both runs, stored once;
#   - the daemon killed with SIGKILL mid-stream and started again: still
#     every line once;
#   - hostile files in the root: a 100 MB line (cut to the limit with a
#     marker, counted), invalid UTF-8 and NUL bytes (escaped), a log file
#     replaced by a symlink to a host file (resolved inside the root: the
#     host file's text never appears), a FIFO in place of a log file
#     (refused and counted; the daemon goes on reading).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"

command -v sqlite3 >/dev/null || { not_ok "sqlite3 is installed"; exit 1; }
podman_setup || { not_ok "podman and runc are installed"; exit 1; }
DB=$TMP/v.db
PORT=$(free_port)
SECRET="vt-host-secret-$$-$RANDOM"
[ -n "${LOGS_TAIL_KEEP:-}" ] && on_exit "cp $TMP/serve.log $LOGS_TAIL_KEEP"
echo "$SECRET" >"$TMP/secret.txt"

start_serve() {
	"$VANTAGE" serve --no-vms --db "$DB" --listen "127.0.0.1:$PORT" --metric-interval 1 \
		--log-glob '/var/log/vt/*.log' --log-multiline-start '/var/log/vt/ml*=>^[0-9]{4}-' \
		--log-level "${LOGS_TAIL_LEVEL:-info}" 2>>"$TMP/serve.log" &
	SERVE_PID=$!
	on_exit "kill -9 $SERVE_PID 2>/dev/null"
	wait_for 10 grep -q "API on" "$TMP/serve.log"
}
# q SQL: a query on the store (read-only, beside the daemon)
q() { sqlite3 -readonly "$DB" "$1" 2>/dev/null; }
# lines SYSTEM SOURCE: the stored lines of a source, one a line
lines() {
	q "SELECT l.line FROM log_lines l JOIN log_sources s ON l.src = s.id
	   WHERE s.system = '$1' AND s.source = '$2' ORDER BY l.id"
}
count() { lines "$1" "$2" | wc -l; }
count_is() { [ "$(count "$1" "$2")" -ge "$3" ]; }
has_line() { lines "$1" "$2" | grep -qF -- "$3"; }
# ctr_records FILE: the messages of a k8s-file log, joined as stored ("F" ends a line)
ctr_records() {
	awk '{ s = $2; t = $3; sub(/^[^ ]+ [^ ]+ [^ ]+ ?/, ""); acc[s] = acc[s] $0
	       if (t ~ /^F/) { print acc[s]; acc[s] = "" } }' "$1"
}
metric() { curl -s "127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

start_serve || { not_ok "the daemon starts"; cat "$TMP/serve.log"; exit 1; }

# ---- a fast container, a file writer, a container to restart ------------------------------
cid1=$(start_podman vt-out --log-driver k8s-file -- sh -c \
	'sleep 2; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); echo "out $i"; done; echo "err last" >&2; sleep 1000000') ||
	{ not_ok "podman run vt-out"; exit 1; }
cid2=$(start_podman vt-file --log-driver k8s-file -- sh -c \
	'mkdir -p /var/log/vt; sleep 2; i=0; while [ ! -f /tmp/stop ] && [ $i -lt 500000 ]; do i=$((i+1)); echo "file $i" >>/var/log/vt/app.log; done; echo $i >/tmp/done; sleep 1000000') ||
	{ not_ok "podman run vt-file"; exit 1; }
cid3=$(start_podman vt-again --log-driver k8s-file -- sh -c \
	'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); echo "again $i"; [ $((i % 1000)) = 0 ] && sleep 0.3; done; sleep 1000000') ||
	{ not_ok "podman run vt-again"; exit 1; }
# a container that prints and exits: its output is read to the end after it is gone
cid4=$(start_podman vt-brief --log-driver k8s-file -- sh -c \
	'sleep 2; i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "brief $i"; done') ||
	{ not_ok "podman run vt-brief"; exit 1; }
S1=container:podman:$cid1 S2=container:podman:$cid2 S3=container:podman:$cid3
S4=container:podman:$cid4
pid2=$(podman inspect -f '{{.State.Pid}}' vt-file)
R2=/proc/$pid2/root/var/log/vt
log3=$(podman inspect -f '{{.HostConfig.LogConfig.Path}}' vt-again)
log1=$(podman inspect -f '{{.HostConfig.LogConfig.Path}}' vt-out)

# rotations while the writer writes: by rename, then by copytruncate
wait_for 20 bash -c "[ -f $R2/app.log ] && [ \$(wc -l <$R2/app.log) -ge 3000 ]"
mv "$R2/app.log" "$R2/app.log.1"
wait_for 20 bash -c "[ -f $R2/app.log ] && [ \$(wc -l <$R2/app.log) -ge 3000 ]"
# (rotations hours apart in life: the new file is being read before the next one)
wait_for 10 has_line "$S2" file:/var/log/vt/app.log "$(head -1 "$R2/app.log")"
cp "$R2/app.log" "$R2/app.log.2" && : >"$R2/app.log"
# the daemon killed mid-stream, and started again
wait_for 20 bash -c "[ -f $R2/app.log ] && [ \$(wc -l <$R2/app.log) -ge 2000 ]"
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
start_serve || { not_ok "the daemon starts again after SIGKILL"; cat "$TMP/serve.log"; exit 1; }
check "the daemon started again after SIGKILL" true
# the container restarted mid-stream
podman restart -t 0 vt-again >/dev/null 2>&1 || not_ok "podman restart vt-again"

# the writer goes on after the restart, then stops
wait_for 20 bash -c "[ \$(wc -l <$R2/app.log) -ge 4000 ]"
touch "/proc/$pid2/root/tmp/stop"
wait_for 10 test -s "/proc/$pid2/root/tmp/done"
check "the file writer finished" test -s "/proc/$pid2/root/tmp/done"
written=$(cat "/proc/$pid2/root/tmp/done")

# ---- the container's output: ctr.log, once --------------------------------------------
expect_out=$(ctr_records "$log1" | grep -c '^out ')
check_eq "vt-out's ctr.log holds its 20000 lines" 20000 "$expect_out"
wait_for 20 count_is "$S1" stdout 20000
check_eq "stdout: 20000 lines stored" 20000 "$(count "$S1" stdout)"
check_eq "stdout: none twice" 0 "$(lines "$S1" stdout | sort | uniq -d | wc -l)"
wait_for 5 count_is "$S1" stderr 1
check_eq "stderr: its one line" "err last" "$(lines "$S1" stderr)"

# ---- the container that exited --------------------------------------------------------
wait_for 20 count_is "$S4" stdout 3000
check_eq "an exited container's output: its 3000 lines, once" "3000 0" \
	"$(count "$S4" stdout) $(lines "$S4" stdout | sort | uniq -d | wc -l)"
check "vt-brief has exited" test "$(podman inspect -f '{{.State.Running}}' vt-brief)" = false

# ---- the file through rotations and the SIGKILL --------------------------------------------
src=file:/var/log/vt/app.log
file_all_stored() {
	cat "$R2/app.log" "$R2/app.log.1" "$R2/app.log.2" | sort -u |
		comm -23 - <(lines "$S2" "$src" | sort -u) | grep -q . && return 1
	return 0
}
wait_for 20 file_all_stored
ondisk=$(cat "$R2/app.log" "$R2/app.log.1" "$R2/app.log.2" | sort -u)
stored=$(lines "$S2" "$src" | sort)
check_eq "every line on disk (file and rotated copies, $(wc -l <<<"$ondisk")) is stored" "" \
	"$(comm -23 <(echo "$ondisk") <(echo "$stored" | sort -u) | head -3)"
check_eq "no line of the file stored twice" "" "$(uniq -d <<<"$stored" | head -3)"
check_eq "every stored line was written" "" \
	"$(awk -v n="$written" '!/^file [0-9]+$/ || $2 < 1 || $2 > n' <<<"$stored" | head -3)"
miss=$(comm -23 <(echo "$ondisk") <(echo "$stored" | sort -u) | awk '{print $2}' | sort -n)
[ -n "$miss" ] && echo "# missing: $(wc -l <<<"$miss") lines, numbers $(head -1 <<<"$miss") to $(tail -1 <<<"$miss")"
echo "# file: $(wc -l <<<"$stored") stored of $written written ($(wc -l <<<"$ondisk") on disk after copytruncate)"

# ---- the restarted container: both runs, once ----------------------------------------------
again_done() {
	[ "$(ctr_records "$log3" | grep -c '^again ')" -ge 20001 ] &&
		[ "$(count "$S3" stdout)" -ge "$(ctr_records "$log3" | grep -c '^again ')" ]
}
wait_for 30 again_done
exp3=$(ctr_records "$log3" | grep '^again ' | sort)
got3=$(lines "$S3" stdout | grep '^again ' | sort)
check_eq "vt-again was restarted mid-stream: its first line twice in its ctr.log" 2 \
	"$(grep -cx 'again 1' <<<"$exp3")"
check_eq "vt-again: what its ctr.log holds is stored, once ($(wc -l <<<"$exp3") lines)" \
	"$(md5sum <<<"$exp3")" "$(md5sum <<<"$got3")"

# ---- multi-line records ---------------------------------------------------------------------
printf '2026-12-06 10:00:00 ERROR boom\n  at a.b(C.java:1)\n  at d.e(F.java:2)\n2026-12-06 10:00:01 INFO next\n' \
	>"$R2/ml.log"
ml_count() { q "SELECT count(*) FROM log_lines l JOIN log_sources s ON l.src = s.id
	WHERE s.system = '$S2' AND s.source = 'file:/var/log/vt/ml.log'"; }
ml_two() { [ "$(ml_count)" = 2 ]; }
wait_for 10 ml_two
check_eq "a stack trace is one record, the next line another" 2 "$(ml_count)"
check_eq "the record holds its three lines" 1 \
	"$(q "SELECT count(*) FROM log_lines WHERE line = '2026-12-06 10:00:00 ERROR boom' || char(10) ||
	     '  at a.b(C.java:1)' || char(10) || '  at d.e(F.java:2)' AND level = 3")"

# ---- hostile files in a container's root --------------------------------------------------
head -c 100000000 /dev/zero | tr '\0' a >"$R2/big.log"
printf '\nafter big\n' >>"$R2/big.log"
printf 'bad \xff\xfe nul \x00 end \x1b[31m\n' >"$R2/bin.log"
echo "planted first line" >"$R2/planted.log"
wait_for 10 has_line "$S2" file:/var/log/vt/planted.log "planted first line"
ln -s "$TMP/secret.txt" "$R2/planted.log.new" && mv -T "$R2/planted.log.new" "$R2/planted.log"
ln -s "$TMP/secret.txt" "$R2/link.log"
mkfifo "$R2/fifo.log"
echo "after the fifo" >"$R2/later.log"
wait_for 20 has_line "$S2" file:/var/log/vt/big.log "after big"
big=$(lines "$S2" file:/var/log/vt/big.log | head -1)
check "the 100 MB line is stored cut to 16 KiB (${#big} bytes)" test "${#big}" -le 16384 -a "${#big}" -ge 16000
check "the cut line says so" grep -qE '\[cut: [0-9]+ bytes more\]$' <<<"$big"
wait_for 10 has_line "$S2" file:/var/log/vt/bin.log "bad"
check_eq "invalid UTF-8, NUL and ESC escaped" 'bad \xff\xfe nul \x00 end \x1b[31m' \
	"$(lines "$S2" file:/var/log/vt/bin.log)"
wait_for 10 has_line "$S2" file:/var/log/vt/later.log "after the fifo"
check "a file after the FIFO is read: the daemon is not stuck" \
	has_line "$S2" file:/var/log/vt/later.log "after the fifo"
sleep 1.5 # the planted file's rename is drained after 1 s of quiet: give it that time
check_eq "the host file behind a symlink never appears" 0 \
	"$(q "SELECT count(*) FROM log_lines WHERE line LIKE '%$SECRET%'")"
check_eq "the planted file's real line, once" 1 "$(lines "$S2" file:/var/log/vt/planted.log | grep -c 'planted first line')"
refused() { [ "$(metric 'vantage_logs_refused_total{source="file"}')" -ge 1 ] 2>/dev/null; }
wait_for 5 refused
check "the FIFO is refused and counted (vantage_logs_refused_total $(metric 'vantage_logs_refused_total{source="file"}'))" \
	test "$(metric 'vantage_logs_refused_total{source="file"}')" -ge 1
check "the cut line is counted (vantage_logs_truncated_total $(metric 'vantage_logs_truncated_total{source="file"}'))" \
	test "$(metric 'vantage_logs_truncated_total{source="file"}')" -ge 1
check "lines are counted (vantage_logs_lines_total{source=\"stdio\"} $(metric 'vantage_logs_lines_total{source="stdio"}'))" \
	test "$(metric 'vantage_logs_lines_total{source="stdio"}')" -ge 1
check "the refusal is logged" grep -q "a FIFO in place of a log file" "$TMP/serve.log"

kill "$SERVE_PID"
wait "$SERVE_PID"
check_eq "the daemon stops with status 0" 0 $?
echo "# $SECONDS s"
