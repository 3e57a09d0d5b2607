# The daemon (issue 4): `vantage serve` with a real store, real unshare
# containers, real signals.  Start-up line, containers appearing within
# about two metric intervals and marked gone when stopped, SIGHUP changing
# an interval (seen in the frame rate) and surviving a bad file, SIGTERM
# exiting 0 with an intact database, kill -9 during heavy writes losing
# nothing that was reported stored, a corrupt or foreign database refused
# with its name, configuration errors (exit 2), a full disk.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"

# start_serve LOG ARGS...: vantage serve in the background; SERVE_PID
start_serve() {
	local log=$1
	shift
	"$VANTAGE" serve --no-vms "$@" 2>"$log" &
	SERVE_PID=$!
	on_exit "kill -9 $SERVE_PID"
}

# systems_json DB: every system of the store (present and gone)
systems_json() { "$VANTAGE" systems --all --json --db "$1" 2>/dev/null; }
# jq_true FILTER [ARGS]: stdin satisfies FILTER (jq 1.6's -e says yes to no input)
jq_true() { [ "$(jq -r "$@" 2>/dev/null)" = true ]; }
has_system() { systems_json "$1" | jq_true --arg n "$2" 'any(.[]; .name == $n)'; }
is_gone() { systems_json "$1" | jq_true --arg n "$2" 'any(.[]; .name == $n and .gone == true)'; }
# the number of raw points of the host's memory.used_pct since epoch second $2
host_points() {
	"$VANTAGE" metrics "$HOST_ID" memory.used_pct --db "$1" --since "$2" --step 1s --stat count --json 2>/dev/null |
		jq '[.points[][1] // 0] | add // 0'
}
api_get() { curl -s --max-time 5 "http://127.0.0.1:$PORT$1"; }

mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }

# ---- configuration errors: exit 2, naming file, line and key -----------------
printf '[intervals]\nmetric = 1s\nprocess = soon\n' >"$TMP/bad.ini"
"$VANTAGE" serve --config "$TMP/bad.ini" --db "$TMP/never.db" 2>"$TMP/err"
check_eq "bad value in the config file: exit 2" 2 $?
check "the error names file, line and key ($(cat "$TMP/err"))" \
	grep -q "$TMP/bad.ini, line 3: \[intervals\] process: not a duration: 'soon'" "$TMP/err"
printf '[api]\nlisten = 127.0.0.1:0\ncolour = blue\n' >"$TMP/bad2.ini"
"$VANTAGE" serve --config "$TMP/bad2.ini" --db "$TMP/never.db" 2>"$TMP/err"
check_eq "unknown key: exit 2" 2 $?
check "the error names the unknown key" grep -q "line 3: \[api\] colour: unknown key" "$TMP/err"
"$VANTAGE" serve --metric-interval 0.2 --db "$TMP/never.db" 2>"$TMP/err"
check_eq "metric interval under 1 s: exit 2" 2 $?
check "the error names the flag" grep -q -- "--metric-interval" "$TMP/err"
"$VANTAGE" serve --config "$TMP/nonexistent.ini" 2>"$TMP/err"
check_eq "a missing --config file: exit 2" 2 $?
"$VANTAGE" serve --listen 0.0.0.0:0 --db "$TMP/never.db" 2>"$TMP/err"
check_eq "a non-loopback address without a token: exit 2" 2 $?
check "…saying a token is needed ($(head -1 "$TMP/err"))" grep -qi token "$TMP/err"
check "no store was created by a refused start" test ! -e "$TMP/never.db"
"$VANTAGE" serve --help >"$TMP/help"
check_eq "serve --help exits 0" 0 $?
for f in --db --listen --token --token-file --workers --timeout --file-timeout --no-containers --config-path \
	--config-max-size --file-root --exclude --hash --hash-max-size --log-level --metric-interval \
	--process-interval --connection-interval --os-interval --module-interval --interface-interval \
	--package-interval --config-interval --file-interval --config; do
	grep -q -- "$f" "$TMP/help" || { not_ok "serve --help lists $f"; continue; }
done
ok "serve --help lists every flag"
docs=$(dirname "$0")/../../docs/configuration.md
missing=$(grep -oE '^ +\(([a-z_]+)( =|:)' "$TMP/help" | grep -oE '[a-z_]+' | sort -u |
	while read -r k; do grep -q "\`$k\`" "$docs" || echo "$k"; done)
check_eq "every key of serve --help is documented in docs/configuration.md" "" "$missing"

# ---- start: the API line, the host in the store ------------------------------
PORT=$(free_port)
DB=$TMP/store/v.db # its directory does not exist yet: serve makes it
cat >"$TMP/v.ini" <<EOF
[intervals]
metric = 1s
process = 2s
[log]
level = info
EOF
t0=$(date +%s.%N)
start_serve "$TMP/serve.log" --config "$TMP/v.ini" --db "$DB" --listen "127.0.0.1:$PORT"
wait_for 10 grep -q "API on" "$TMP/serve.log"
check_eq "stderr says where the API is" "vantage: API on http://127.0.0.1:$PORT" \
	"$(grep "API on" "$TMP/serve.log")"
check "the store's directory was created" test -d "$TMP/store"
wait_for 10 bash -c "[ \"\$($VANTAGE systems --json --db $DB 2>/dev/null | jq 'map(select(.kind==\"host\"))|length')\" = 1 ]"
HOST_ID=$("$VANTAGE" systems --json --db "$DB" --kind host | jq -r '.[0].id')
check "the host is in the store ($HOST_ID)" test -n "$HOST_ID" -a "$HOST_ID" != null
check_eq "the host's id is the one 'vantage ls' gives" "$("$VANTAGE" ls --json | jq -r 'select(.kind=="host").id')" "$HOST_ID"
if command -v curl >/dev/null; then
	check "the API answers /api/v1/health" bash -c "curl -sf --max-time 5 http://127.0.0.1:$PORT/api/v1/health | jq -r 'type' | grep -qx object"
fi

# ---- a new container appears within about two metric intervals ----------------
start_unshare_container svc1 "$TMP/root" 'sleep 1000000' >/dev/null || not_ok "start container svc1"
t_start=$(date +%s%N)
wait_for 10 has_system "$DB" svc1
t_seen=$(date +%s%N)
ms=$(((t_seen - t_start) / 1000000))
check "container svc1 is in the store within 2.5 s at a 1 s metric interval (${ms} ms)" \
	has_system "$DB" svc1
check "…within 2.5 s" test "$ms" -le 2500
CT_ID=$(systems_json "$DB" | jq -r '.[] | select(.name=="svc1") | .id')
check "…as a container of runtime none ($CT_ID)" bash -c "[[ '$CT_ID' == container:none:pidns-* ]]"
feats=$("$VANTAGE" show "$CT_ID" --db "$DB" --feature os --json | jq -r '.frame.features | join(",")')
check "its first frame has every fast feature at once, not only metric ($feats)" \
	bash -c "[[ ',$feats,' == *,os,* && ',$feats,' == *,process,* && ',$feats,' == *,metric,* ]]"
wait_for 10 bash -c "'$VANTAGE' show '$CT_ID' --db '$DB' --feature package --json >/dev/null 2>&1"
check "…and the slow lane crawled its packages/config too" \
	bash -c "'$VANTAGE' show '$CT_ID' --db '$DB' --feature config --json >/dev/null"

# ---- stopped: marked gone ---------------------------------------------------------
stop_unshare_container svc1
t_stop=$(date +%s%N)
wait_for 10 is_gone "$DB" svc1
ms=$((($(date +%s%N) - t_stop) / 1000000))
check "stopped container svc1 is marked gone (${ms} ms)" is_gone "$DB" svc1
check "…within 2.5 s" test "$ms" -le 2500
check "…and no longer listed without --all" \
	bash -c "[ \"\$('$VANTAGE' systems --json --db '$DB' | jq 'any(.[]; .name==\"svc1\")')\" = false ]"

# ---- SIGHUP: a new metric interval shows in the frame rate ------------------------
# ms_to N: milliseconds until the host has N points of memory.used_pct since
# the current epoch second (one may be from just before now), 99999 if not in 20 s
points_reach() { [ "$(host_points "$DB" "$2")" -ge "$1" ] 2>/dev/null; }
ms_to() {
	local s t
	s=$(date +%s)
	t=$(date +%s%N)
	wait_for 20 points_reach "$1" "$s" || { echo 99999; return; }
	echo $((($(date +%s%N) - t) / 1000000))
}
ms=$(ms_to 5)
sed -i 's/^metric = 1s/metric = 3s/' "$TMP/v.ini"
kill -HUP "$SERVE_PID"
wait_for 5 grep -q "interval of metric: 1s -> 3s" "$TMP/serve.log"
check "SIGHUP logged the new interval" grep -q "interval of metric: 1s -> 3s" "$TMP/serve.log"
sleep 1 # a point scheduled at the old interval may still land: let it
after=$(ms_to 4)
check "metric at 1 s: 5 host points in 2.5-7 s (${ms} ms)" test "$ms" -ge 2500 -a "$ms" -le 7000
check "after SIGHUP, metric at 3 s: 4 host points in 5-16 s (${after} ms)" test "$after" -ge 5000 -a "$after" -le 16000

printf '[intervals]\nmetric = 1s\n[crawl]\nworkers = lots\n' >"$TMP/v.ini"
kill -HUP "$SERVE_PID"
wait_for 5 grep -q "keeping the current configuration" "$TMP/serve.log"
check "a bad file on SIGHUP is logged, naming the key, and the old config kept" \
	grep -q "reload: $TMP/v.ini, line 4: \[crawl\] workers: .*keeping the current configuration" "$TMP/serve.log"
sleep 0.5 # the point: it is still running a moment after the bad reload
check "the daemon is still running" kill -0 "$SERVE_PID"
kept=$(ms_to 4)
check "…with its 3 s metric interval (4 host points in ${kept} ms: 5-16 s)" test "$kept" -ge 5000 -a "$kept" -le 16000

# ---- SIGTERM: quick, exit 0, database intact ---------------------------------------
t_term=$(date +%s%N)
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
rc=$?
ms=$((($(date +%s%N) - t_term) / 1000000))
check_eq "SIGTERM: exit status 0" 0 "$rc"
check "…within 3 s (${ms} ms)" test "$ms" -le 3000
check "…logged as a clean stop" grep -q "stopped; store $DB closed" "$TMP/serve.log"
check_eq "PRAGMA integrity_check after SIGTERM" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"
check "no error was logged (but the bad reload)" bash -c "! grep ': error:' '$TMP/serve.log' | grep -vq 'error: reload:'"
grep ': error:' "$TMP/serve.log" | grep -v 'error: reload:' | head -3 | sed 's/^/#   /'

# ---- kill -9 during heavy writes; nothing reported is lost ---------------------------
for i in 1 2 3 4 5; do
	start_unshare_container "heavy$i" "$TMP/root" 'sleep 1000000' >/dev/null || not_ok "start heavy$i"
done
PORT=$(free_port)
start_serve "$TMP/serve2.log" --db "$DB" --listen "127.0.0.1:$PORT" --metric-interval 1 \
	--process-interval 1 --connection-interval 1 --os-interval 1 --interface-interval 1 \
	--workers 2 --log-level warn
wait_for 10 grep -q "API on" "$TMP/serve2.log"
# frames of the host and the 5 containers stored, writes going on
wait_for 15 bash -c "[ \"\$('$VANTAGE' systems --json --db '$DB' 2>/dev/null | jq length)\" -ge 6 ]"
# what the CLI reports stored now: the latest frame of each present system
"$VANTAGE" systems --json --db "$DB" | jq -r '.[].id' >"$TMP/ids"
: >"$TMP/seen"
while read -r id; do
	t=$("$VANTAGE" show "$id" --db "$DB" --json 2>/dev/null | jq -r .frame.time)
	[ -n "$t" ] && [ "$t" != null ] && echo "$id $t" >>"$TMP/seen"
done <"$TMP/ids"
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
nseen=$(wc -l <"$TMP/seen")
check "frames of host + 5 containers were reported before the kill ($nseen)" test "$nseen" -ge 6
check_eq "after kill -9: PRAGMA integrity_check" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"
PORT=$(free_port)
start_serve "$TMP/serve3.log" --db "$DB" --listen "127.0.0.1:$PORT" --metric-interval 1
wait_for 10 grep -q "API on" "$TMP/serve3.log"
check "the daemon starts again on the same store" grep -q "API on" "$TMP/serve3.log"
lost=0
while read -r id t; do
	got=$("$VANTAGE" show "$id" --db "$DB" --at "$t" --json 2>/dev/null | jq -r .frame.time)
	[ "$got" = "$t" ] || { lost=$((lost + 1)); echo "#   lost: $id at $t (got $got)"; }
done <"$TMP/seen"
check_eq "every frame reported before kill -9 is still there" 0 "$lost"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
check_eq "…and it stops cleanly again" 0 $?
check_eq "PRAGMA integrity_check at the end" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"
for i in 1 2 3 4 5; do stop_unshare_container "heavy$i"; done

# ---- a corrupt or foreign database is refused, by name ----------------------------------
head -c 200000 /dev/urandom >"$TMP/corrupt.db"
cp "$TMP/corrupt.db" "$TMP/corrupt.copy"
timeout 10 "$VANTAGE" serve --db "$TMP/corrupt.db" --listen 127.0.0.1:0 2>"$TMP/err"
rc=$?
check "a corrupt store: serve exits with an error (rc $rc)" test "$rc" -eq 1 -o "$rc" -eq 2
check "…naming the file ($(head -1 "$TMP/err"))" grep -q "$TMP/corrupt.db" "$TMP/err"
check "…and leaves it as it was" cmp -s "$TMP/corrupt.db" "$TMP/corrupt.copy"
sqlite3 "$TMP/foreign.db" 'CREATE TABLE recipes(name TEXT); INSERT INTO recipes VALUES ("soup");'
timeout 10 "$VANTAGE" serve --db "$TMP/foreign.db" --listen 127.0.0.1:0 2>"$TMP/err"
rc=$?
check "another program's SQLite file: serve exits with an error (rc $rc)" test "$rc" -eq 1 -o "$rc" -eq 2
check "…naming the file ($(head -1 "$TMP/err"))" grep -q "$TMP/foreign.db" "$TMP/err"
check_eq "…and its data untouched" soup "$(sqlite3 "$TMP/foreign.db" 'SELECT name FROM recipes')"

# ---- a full disk: one error per episode, reads go on, writing resumes ---------------------
mkdir -p "$TMP/small"
if mount -t tmpfs -o size=8m tmpfs "$TMP/small" 2>/dev/null; then
	on_exit "umount -l '$TMP/small'"
	PORT=$(free_port)
	start_serve "$TMP/serve4.log" --db "$TMP/small/v.db" --listen "127.0.0.1:$PORT" \
		--metric-interval 1 --process-interval 1 --no-containers
	wait_for 10 grep -q "API on" "$TMP/serve4.log"
	wait_for 10 bash -c "[ \"\$('$VANTAGE' systems --json --db '$TMP/small/v.db' 2>/dev/null | jq length)\" -ge 1 ]"
	dd if=/dev/zero of="$TMP/small/fill" bs=64k 2>/dev/null # until the disk is full
	wait_for 15 grep -q "disk full" "$TMP/serve4.log"
	check "a full disk is logged ($(grep -m1 'disk full' "$TMP/serve4.log"))" \
		grep -q "error: store $TMP/small/v.db: disk full; [0-9]* frames pending" "$TMP/serve4.log"
	sleep 3 # the point: time for more failed writes, which must not be logged again
	check_eq "…once for the episode" 1 "$(grep -c 'disk full' "$TMP/serve4.log")"
	check "reads still work while the disk is full" \
		bash -c "[ \"\$('$VANTAGE' systems --json --db '$TMP/small/v.db' | jq 'length >= 1')\" = true ]"
	if command -v curl >/dev/null; then
		check "the API still answers" bash -c "[ \"\$(curl -sf --max-time 5 http://127.0.0.1:$PORT/api/v1/systems | jq 'length >= 1')\" = true ]"
	fi
	check "the daemon is still running" kill -0 "$SERVE_PID"
	t_full=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
	rm -f "$TMP/small/fill"
	wait_for 15 grep -q "writing again" "$TMP/serve4.log"
	check "writing resumes when space returns" grep -q "writing again" "$TMP/serve4.log"
	newer() {
		tlast=$("$VANTAGE" show "$HOST_ID" --db "$TMP/small/v.db" --json 2>/dev/null | jq -r .frame.time)
		[[ "$tlast" > "$t_full" ]]
	}
	wait_for 10 newer
	check "new frames are stored again ($tlast > $t_full)" bash -c "[[ '$tlast' > '$t_full' ]]"
	kill -TERM "$SERVE_PID"
	wait "$SERVE_PID"
	check_eq "…and it stops cleanly" 0 $?
	check_eq "PRAGMA integrity_check after the full disk" ok "$(sqlite3 "$TMP/small/v.db" 'PRAGMA integrity_check')"
else
	ok "# SKIP full disk: cannot mount a tmpfs here"
fi
