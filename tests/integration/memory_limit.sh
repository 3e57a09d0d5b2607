#!/bin/bash
# `vantage serve` under a tight cgroup memory limit (issue 17, faults): the
# daemon runs in a cgroup of its own limited to 96 MB (the v1 memory
# hierarchy, or cgroup2's memory.max), crawling the host and three
# containers; a hog in the same cgroup takes the memory up to 93 % then
# 95.5 % of the limit, and lets it go.  The daemon must read the limit, shed
# work in the documented order (engine/memguard.h, docs/running.md "Under a
# memory limit") and say so once per change (log, /metrics), refuse new
# live tails while shedding, keep storing metric frames, never be
# OOM-killed, and resume everything when memory falls.  Then the soft limit
# (--memory-limit, [serve] memory_limit and SIGHUP) alone.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
VANTAGE=${VANTAGE_PLAIN:-$VANTAGE} # it measures the daemon's memory: the plain build (ASan's quarantine and shadow would count)

LIMIT=$((96 << 20))
CGREL=vantage-test/mem$$
if [ -d "$CGROUP_FS/memory" ] && [ -f "$CGROUP_FS/memory/cgroup.procs" ]; then
	CG=$CGROUP_FS/memory/$CGREL
	mkdir -p "$CG" || { not_ok "cannot make $CG"; exit 1; }
	echo "$LIMIT" >"$CG/memory.limit_in_bytes"
	usage() { cat "$CG/memory.usage_in_bytes"; }
	cache() { awk '$1 == "total_cache" { print $2 }' "$CG/memory.stat"; }
	ooms() { awk '$1 == "oom_kill" { print $2 }' "$CG/memory.oom_control"; }
elif [ -f "$CGROUP_FS/cgroup.controllers" ] && grep -qw memory "$CGROUP_FS/cgroup.controllers"; then
	echo +memory >"$CGROUP_FS/cgroup.subtree_control" 2>/dev/null
	mkdir -p "$CGROUP_FS/vantage-test" && echo +memory >"$CGROUP_FS/vantage-test/cgroup.subtree_control"
	CG=$CGROUP_FS/$CGREL
	mkdir -p "$CG" || { not_ok "cannot make $CG"; exit 1; }
	echo "$LIMIT" >"$CG/memory.max"
	usage() { cat "$CG/memory.current"; }
	cache() { awk '$1 == "file" { print $2 }' "$CG/memory.stat"; }
	ooms() { awk '$1 == "oom_kill" { print $2 }' "$CG/memory.events"; }
else
	ok "# SKIP no cgroup memory controller here"
	exit 0
fi
on_exit "rmdir '$CG'"
on_exit "for p in \$(cat '$CG/cgroup.procs' 2>/dev/null); do kill -9 \$p; done; sleep 0.3"

ROOT=$TMP/root
mk_busybox_root "$ROOT" || { not_ok "busybox root"; exit 1; }
for i in 1 2 3; do
	start_unshare_container "memct$i" "$ROOT" "httpd -f -p 80" >/dev/null ||
		{ not_ok "container memct$i"; exit 1; }
done

DB=$TMP/v.db
PORT=$(free_port)
LOG=$TMP/serve.log
# the daemon joins the cgroup before exec: all its memory is charged there
bash -c "echo \$\$ >'$CG/cgroup.procs' && exec '$VANTAGE' serve --no-vms --db '$DB' \
	--listen 127.0.0.1:$PORT --metric-interval 1 --process-interval 2 \
	--package-interval 3 --config-interval 3" 2>"$LOG" &
PID=$!
on_exit "kill -9 $PID"

metric() { curl -s -m 3 "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2; exit }'; }
level() { metric vantage_memory_shed_level; }
tail_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/logs/tail?format=ndjson"; }
frames_of() { # frames of feature $1 of the host in the store
	sqlite3 "$DB" "SELECT count(*) FROM frames WHERE fmask & (SELECT 1 << (id - 1) FROM features
		WHERE name = '$1') > 0 AND system = (SELECT id FROM systems WHERE kind = 'host')" 2>/dev/null
}
ge() { awk -v a="${1:-0}" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

wait_for 15 bash -c "[ \"\$(curl -s -m 2 http://127.0.0.1:$PORT/metrics | awk '\$1==\"vantage_memory_limit_bytes\"{print \$2}')\" = $LIMIT ]"
check_eq "the daemon reads its cgroup's limit (vantage_memory_limit_bytes)" "$LIMIT" "$(metric vantage_memory_limit_bytes)"
wait_for 10 bash -c "[ \"\$('$VANTAGE' systems --json --db '$DB' 2>/dev/null | jq '[.[] | select(.name | startswith(\"memct\"))] | length')\" = 3 ]"
check "it crawls the host and the 3 containers" \
	bash -c "[ \"\$('$VANTAGE' systems --json --db '$DB' | jq '[.[] | select(.name | startswith(\"memct\"))] | length')\" = 3 ]"
sleep 3 # a few ticks of every feature at rest
used0=$(metric vantage_memory_used_bytes)
check_eq "at rest ($((used0 >> 20)) MB of $((LIMIT >> 20)) MB used): not shedding" 0 "$(level)"
check_eq "…and live tails are served" 200 "$(tail_code)"
pk0=$(frames_of package)

# ---- a hog in the same cgroup takes memory up to a fraction of the limit, and holds ----
# it grows 1 MB at a time while the cgroup's usage less its page cache is
# below the target; stops when told (a file) and exits when that file goes
hog() { # TARGET_FRACTION FLAG
	python3 - "$1" "$2" "$CG" <<'EOF' &
import os, sys, time
frac, flag, cg = float(sys.argv[1]), sys.argv[2], sys.argv[3]
open(os.path.join(cg, "cgroup.procs"), "w").write(str(os.getpid()))
def val(name):
    return int(open(os.path.join(cg, name)).read().split()[0])
v1 = os.path.exists(os.path.join(cg, "memory.limit_in_bytes"))
limit = val("memory.limit_in_bytes" if v1 else "memory.max")
def used():
    st = dict(l.split() for l in open(os.path.join(cg, "memory.stat")))
    return val("memory.usage_in_bytes" if v1 else "memory.current") - int(st["total_cache" if v1 else "file"])
chunks = []
while True:
    if os.path.exists(flag + ".stop"):
        break
    if used() < frac * limit:
        chunks.append(b"h" * (1 << 18))
    else:
        if not os.path.exists(flag):
            open(flag, "w").write(str(len(chunks)))
        time.sleep(0.05)

EOF
}
hog 0.90 "$TMP/hog1"
HOG=$!
on_exit "kill -9 $HOG"
wait_for 10 test -e "$TMP/hog1"
wait_for 6 bash -c "[ \"\$(curl -s -m 2 http://127.0.0.1:$PORT/metrics | awk '\$1==\"vantage_memory_shed_level\"{print \$2}')\" -ge 2 ] 2>/dev/null"
lv=$(level)
check "hog at 90 % ($(($(cat "$TMP/hog1") / 4)) MB): the daemon sheds (level $lv >= 2)" test "${lv:-0}" -ge 2
check "…and says so in its log, with the figures ($(grep -m1 'shedding level' "$LOG" | cut -c1-110)...)" \
	grep -q "warning: memory: [0-9]*% of the limit (.* of $((LIMIT >> 20)).0 MB, cgroup /$CGREL): shedding level [23]" "$LOG"
check_eq "…refuses new live tails (503)" 503 "$(tail_code)"
sk0=$(metric vantage_memory_shed_skipped_total)
m0=$(frames_of metric)
p0=$(frames_of process)
sleep 4 # the point: four seconds of shedding
sk1=$(metric vantage_memory_shed_skipped_total)
check "…skips crawls, counted (vantage_memory_shed_skipped_total $sk0 -> $sk1)" ge "$sk1" "$((sk0 + 2))"
check "…and keeps storing the metric frames ($m0 -> $(frames_of metric))" ge "$(frames_of metric)" "$((m0 + 1))"
check "…no package crawl while shedding ($(frames_of package) package frames)" \
	test "$(frames_of package)" -le "$((pk0 + 1))"
if [ "$(level)" = 2 ]; then # level 2 keeps the fast lane whole
	check "…at level 2 the process crawls go on ($p0 -> $(frames_of process))" ge "$(frames_of process)" "$((p0 + 1))"
else
	ok "# SKIP the hog's memory went past 95 %: level 3 at once ($(level))"
fi

touch "$TMP/hog1.stop" # the first hog lets go; a second one goes to 95.5 %
wait "$HOG" 2>/dev/null
hog 0.955 "$TMP/hog2"
HOG2=$!
on_exit "kill -9 $HOG2"
wait_for 10 test -e "$TMP/hog2"
wait_for 6 bash -c "[ \"\$(curl -s -m 2 http://127.0.0.1:$PORT/metrics | awk '\$1==\"vantage_memory_shed_level\"{print \$2}')\" = 3 ]"
check_eq "hog at 95.5 %: level 3 (metric only, every other tick)" 3 "$(level)"
p0=$(frames_of process)
m0=$(frames_of metric)
sleep 6 # the point: six seconds at level 3
m1=$(frames_of metric)
check "…metric frames still stored, at half the rate ($m0 -> $m1 in 6 s)" \
	bash -c "[ $m1 -ge $((m0 + 1)) ] && [ $m1 -le $((m0 + 5)) ]"
check "…process crawls skipped ($p0 -> $(frames_of process) process frames)" test "$(frames_of process)" -le "$((p0 + 1))"
check "the daemon is alive" kill -0 "$PID"

touch "$TMP/hog2.stop"
wait "$HOG2" 2>/dev/null
wait_for 8 bash -c "[ \"\$(curl -s -m 2 http://127.0.0.1:$PORT/metrics | awk '\$1==\"vantage_memory_shed_level\"{print \$2}')\" = 0 ]"
check_eq "the hog gone: shedding over (level 0)" 0 "$(level)"
check "…logged ($(grep -m1 'shedding over' "$LOG" | cut -c1-100)...)" grep -q "shedding over, all work resumed (level 0)" "$LOG"
check_eq "…live tails served again" 200 "$(tail_code)"
pk1=$(frames_of package)
wait_for 8 bash -c "[ \"\$(sqlite3 '$DB' \"SELECT count(*) FROM frames WHERE fmask & (SELECT 1 << (id - 1) FROM features WHERE name = 'package') > 0 AND system = (SELECT id FROM systems WHERE kind = 'host')\")\" -gt $pk1 ]"
check "…package crawls resumed ($pk1 -> $(frames_of package) package frames)" ge "$(frames_of package)" "$((pk1 + 1))"
nchange=$(grep -c 'warning: memory: ' "$LOG")
check "every change of level is logged once: $nchange lines for 0 -> 2/3 -> 3 -> 0" test "$nchange" -ge 2 -a "$nchange" -le 5
check_eq "no OOM kill in the daemon's cgroup" 0 "$(ooms)"
check "the daemon was never killed" kill -0 "$PID"
kill -TERM "$PID"
wait "$PID"
check_eq "it stops cleanly (exit 0)" 0 $?
check_eq "PRAGMA integrity_check" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"
grep 'warning: memory' "$LOG" | sed 's/^/# /'

# ---- the soft limit alone: --memory-limit, then a reload that lifts it ----
cat >"$TMP/v.ini" <<EOF
[serve]
memory_limit = 8M
EOF
PORT=$(free_port)
"$VANTAGE" serve --no-vms --no-containers --config "$TMP/v.ini" --db "$TMP/soft.db" \
	--listen 127.0.0.1:$PORT --metric-interval 1 2>"$TMP/soft.log" &
SP=$!
on_exit "kill -9 $SP"
wait_for 10 bash -c "[ \"\$(curl -s -m 2 http://127.0.0.1:$PORT/metrics | awk '\$1==\"vantage_memory_shed_level\"{print \$2}')\" = 3 ]"
check_eq "[serve] memory_limit = 8M below the daemon's RSS: level 3" 3 "$(level)"
check "…logged against memory_limit" grep -q "of 8.0 MB, memory_limit): shedding level" "$TMP/soft.log"
printf '[serve]\nmemory_limit = 1G\n' >"$TMP/v.ini"
kill -HUP "$SP"
wait_for 6 bash -c "[ \"\$(curl -s -m 2 http://127.0.0.1:$PORT/metrics | awk '\$1==\"vantage_memory_shed_level\"{print \$2}')\" = 0 ]"
check_eq "SIGHUP with memory_limit = 1G: shedding over" 0 "$(level)"
check_eq "…the limit on /metrics is the new one" $((1 << 30)) "$(metric vantage_memory_limit_bytes)"
out=$("$VANTAGE" serve --memory-limit 12Q --db "$TMP/x.db" --listen off 2>&1)
rc=$?
check "--memory-limit 12Q: exit 2 and a message naming it (rc $rc: $out)" \
	bash -c "[ $rc = 2 ] && grep -q '12Q' <<<'$out'"
kill -TERM "$SP"
wait "$SP"
check_eq "it stops cleanly" 0 $?
