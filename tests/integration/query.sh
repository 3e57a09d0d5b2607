# The CLI over the store file (issue 4): `vantage systems`, `vantage show`,
# `vantage metrics` against a store filled by a short `vantage serve` run
# with two real containers: --json shapes, tables, how SYSTEM is resolved,
# and errors (exit 2, naming the bad argument).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"

# jq_ok FILTER FILE: FILTER gives true on FILE (jq 1.6's -e says yes to no input)
jq_ok() { [ "$(jq -r "$1" "$2" 2>/dev/null)" = true ]; }

mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
# hostile data for the tables: a name that is not UTF-8, a NUL and a terminal escape
printf 'a\000b\033[31mred\n' >"$TMP/root/etc/caf"$'\xe9'".conf"
start_unshare_container qweb "$TMP/root" 'sleep 1000000' >/dev/null || { not_ok "start qweb"; exit 1; }
start_unshare_container qdb "$TMP/root" 'sleep 1000000' >/dev/null || { not_ok "start qdb"; exit 1; }
start_unshare_container qold "$TMP/root" 'sleep 1000000' >/dev/null || { not_ok "start qold"; exit 1; }

# their hostnames (the names) are set by their init: wait for them
wait_for 10 bash -c "[ \"\$('$VANTAGE' ls --json | jq -r 'select(.kind==\"container\").name' | sort | tr '\n' ' ')\" = 'qdb qold qweb ' ]"
DB=$TMP/q.db
"$VANTAGE" serve --no-vms --db "$DB" --listen "127.0.0.1:$(free_port)" --metric-interval 1 --process-interval 1 \
	2>"$TMP/serve.log" &
pid=$!
on_exit "kill -9 $pid"
gone_ok() { [ "$("$VANTAGE" systems --gone --json --db "$DB" 2>/dev/null | jq 'any(.[]; .name=="qold")')" = true ]; }
wait_for 10 bash -c "[ \"\$('$VANTAGE' systems --json --db '$DB' 2>/dev/null | jq length)\" = 4 ]"
stop_unshare_container qold
wait_for 10 gone_ok
# what the checks below read: 3 points of the host's memory.used_pct, the
# slow lane's config of qweb, qweb's cgroup series
store_ready() {
	local host
	host=$("$VANTAGE" systems --json --db "$DB" --kind host 2>/dev/null | jq -r '.[0].id') || return 1
	[ "$("$VANTAGE" metrics "$host" memory.used_pct --since 5m --step 1s --stat max --json --db "$DB" 2>/dev/null |
		jq '[.points[][1] | select(. != null)] | length >= 3')" = true ] &&
		"$VANTAGE" show qweb --feature config --json --db "$DB" >/dev/null 2>&1 &&
		[ "$("$VANTAGE" metrics qweb --json --db "$DB" 2>/dev/null | jq 'any(.[]; startswith("cgroup.mem"))')" = true ]
}
wait_for 20 store_ready
kill -TERM $pid
wait $pid
check_eq "the store was filled by a short serve run" 0 $?

# ---- vantage systems --------------------------------------------------------------
S=$TMP/systems.json
"$VANTAGE" systems --json --db "$DB" >"$S"
check_eq "systems --json exits 0" 0 $?
check_eq "systems --json: an array of host + 2 present containers" 3 "$(jq length "$S")"
check "…each with id, name, kind, runtime, image, host, labels, first_seen, last_seen, gone" \
	jq_ok 'all(.[]; has("id") and has("name") and has("kind") and has("runtime") and has("image")
		and has("host") and (.labels|type=="object") and (.first_seen|type=="string")
		and (.last_seen|type=="string") and .gone == false)' "$S"
HOST_ID=$(jq -r '.[] | select(.kind=="host") | .id' "$S")
WEB_ID=$(jq -r '.[] | select(.name=="qweb") | .id' "$S")
check "the host is there ($HOST_ID)" test -n "$HOST_ID"
check "container qweb is there ($WEB_ID)" test -n "$WEB_ID"
check_eq "--all adds the gone container" 4 "$("$VANTAGE" systems --all --json --db "$DB" | jq length)"
check_eq "--gone: only it" qold "$("$VANTAGE" systems --gone --json --db "$DB" | jq -r '.[].name')"
check_eq "--kind container" "qdb qweb" "$("$VANTAGE" systems --kind container --json --db "$DB" | jq -r '[.[].name]|sort|join(" ")')"
check_eq "--kind host" "$HOST_ID" "$("$VANTAGE" systems --kind host --json --db "$DB" | jq -r '.[].id')"
check_eq "--runtime none" 2 "$("$VANTAGE" systems --runtime none --json --db "$DB" | jq length)"
check_eq "--runtime podman: none here" 0 "$("$VANTAGE" systems --runtime podman --json --db "$DB" | jq length)"
check_eq "--label that nobody has" 0 "$("$VANTAGE" systems --label app=nope --json --db "$DB" | jq length)"

"$VANTAGE" systems --db "$DB" >"$TMP/table"
check_eq "systems table exits 0" 0 $?
check "table header" grep -qE '^ID +NAME +KIND +RUNTIME +IMAGE +LAST SEEN +STATE$' "$TMP/table"
check_eq "table: a header and 3 rows" 4 "$(wc -l <"$TMP/table")"
col=$(head -1 "$TMP/table" | awk '{print index($0, "KIND")}')
row=$(grep -m1 ' qweb ' "$TMP/table")
check "columns are aligned (KIND at column $col)" test "${row:$((col - 1)):9}" = container
check "the row of qweb says present" bash -c "grep ' qweb ' '$TMP/table' | grep -q present"
check "--all shows qold as gone" bash -c "'$VANTAGE' systems --all --db '$DB' | grep ' qold ' | grep -q gone"
short=$(awk '/ qweb /{print $1}' "$TMP/table")
check_eq "the short id of a runtime-less container is its whole last part" "${WEB_ID##*:}" "$short"
hshort=$(awk '$3=="host"{print $1}' "$TMP/table")
check_eq "the short id of the host: 12 digits of its machine id" "$(cut -c1-12 <<<"${HOST_ID##*:}")" "$hshort"

# ---- vantage show ------------------------------------------------------------------
F=$TMP/show.json
"$VANTAGE" show "$HOST_ID" --json --db "$DB" >"$F"
check_eq "show --json exits 0" 0 $?
check "show --json: {frame: header, records: [{feature, key, value}]}" \
	jq_ok '(.frame|type=="object") and (.records|type=="array") and
		all(.records[]; has("feature") and has("key") and has("value"))' "$F"
check_eq "…the frame is the host's" "$HOST_ID" "$(jq -r .frame.id "$F")"
check "…with a time" jq_ok '.frame.time | test("^20[0-9-]+T[0-9:.]+Z$")' "$F"
check_eq "show by name" "$WEB_ID" "$("$VANTAGE" show qweb --json --db "$DB" | jq -r .frame.id)"
check_eq "show by the short id ($short)" "$WEB_ID" "$("$VANTAGE" show "$short" --json --db "$DB" | jq -r .frame.id)"
check_eq "show by a prefix of the host's id ($hshort)" "$HOST_ID" "$("$VANTAGE" show "$hshort" --json --db "$DB" | jq -r .frame.id)"
check_eq "show a gone system by name" qold "$("$VANTAGE" show qold --json --db "$DB" | jq -r .frame.name)"
check_eq "show --feature process: only process records" process \
	"$("$VANTAGE" show qweb --feature process --json --db "$DB" | jq -r '[.records[].feature]|unique|join(",")')"
check "…the container's own processes (sh, sleep)" \
	bash -c "[ \"\$('$VANTAGE' show qweb --feature process --json --db '$DB' | jq -c '[.records[].value.comm]|sort')\" = '[\"sh\",\"sleep\"]' ]"
t=$(jq -r .frame.time "$F")
check_eq "show --at the frame's own time gives that frame" "$t" \
	"$("$VANTAGE" show "$HOST_ID" --at "$t" --json --db "$DB" | jq -r .frame.time)"
check "show --at 1s (a second ago) works" bash -c "'$VANTAGE' show '$HOST_ID' --at 1s --json --db '$DB' >/dev/null"

"$VANTAGE" show qweb --db "$DB" >"$TMP/show.txt"
check_eq "show table exits 0" 0 $?
check "show table: the header" grep -q "^SYSTEM    $WEB_ID" "$TMP/show.txt"
check "show table: records grouped by feature" grep -qE '^metric \([0-9]+ records?, [0-9T:.Z-]+\)$' "$TMP/show.txt"
"$VANTAGE" show qweb --feature process --db "$DB" >"$TMP/proc.txt"
check "show --feature process: one group, a table of fields (transposed: 2 wide records)" \
	bash -c "grep -qE '^process \(2 records(, [0-9T:.Z-]+)?\)$' '$TMP/proc.txt' && grep -qE '^  comm +sh +sleep' '$TMP/proc.txt'"

"$VANTAGE" show qweb --feature config --db "$DB" >"$TMP/cfg.txt" 2>"$TMP/err"
check_eq "show a frame holding bytes that are not UTF-8, a NUL, an escape: exit 0" 0 $?
check "…the invalid byte shown as \\xE9" grep -qF 'caf\xE9.conf' "$TMP/cfg.txt"
check "…no escape character reaches the terminal" bash -c "! grep -q $'\\033' '$TMP/cfg.txt'"
check "…the NUL shown as \\0" grep -qF 'a\0b?[31mred' "$TMP/cfg.txt"

# ---- vantage metrics -----------------------------------------------------------------
"$VANTAGE" metrics "$HOST_ID" --json --db "$DB" >"$TMP/names.json"
check "metrics SYSTEM --json: the names of its series" jq_ok 'type=="array" and length > 3 and any(.[]; .=="memory.used_pct")' "$TMP/names.json"
check "metrics SYSTEM: one name a line" bash -c "'$VANTAGE' metrics '$HOST_ID' --db '$DB' | grep -qx memory.used_pct"
M=$TMP/series.json
"$VANTAGE" metrics "$HOST_ID" memory.used_pct --since 5m --step 1s --stat max --json --db "$DB" >"$M"
check_eq "metrics --json exits 0" 0 $?
check "metrics --json: {system, metric, stat, step_s, points: [[time, value]]}" \
	jq_ok '.system and .metric=="memory.used_pct" and .stat=="max" and .step_s==1 and
		(.points|type=="array") and all(.points[]; (.[0]|type=="string"))' "$M"
check "…points with values between 0 and 100" jq_ok '[.points[][1] | select(. != null)] | length >= 3 and all(.[]; . >= 0 and . <= 100)' "$M"
check "a container's cgroup memory series" bash -c "[ \"\$('$VANTAGE' metrics qweb --json --db '$DB' | jq 'any(.[]; startswith(\"cgroup.mem\"))')\" = true ]"
"$VANTAGE" metrics "$HOST_ID" memory.used_pct --since 5m --step 10s --db "$DB" >"$TMP/series.txt"
check_eq "metrics table exits 0" 0 $?
check "metrics table: TIME and the stat of the metric" grep -qE '^TIME +avg\(memory.used_pct\)$' "$TMP/series.txt"

# ---- errors: exit 2, naming what is wrong -------------------------------------------------
err() { # err DESC PATTERN COMMAND...
	local desc=$1 pat=$2
	shift 2
	"$@" >/dev/null 2>"$TMP/err"
	local rc=$?
	if [ "$rc" = 2 ] && grep -q -- "$pat" "$TMP/err"; then ok "$desc"; else
		not_ok "$desc"; echo "#   rc $rc: $(cat "$TMP/err")"; fi
}
err "show: an unknown system" "no system 'nosuch'" "$VANTAGE" show nosuch --db "$DB"
err "metrics: an unknown system" "no system 'nosuch'" "$VANTAGE" metrics nosuch memory.used_pct --db "$DB"
err "show: an ambiguous prefix lists the candidates" "fits 3 systems" "$VANTAGE" show container: --db "$DB"
err "metrics: a bad --stat" "unknown --stat 'p95'" "$VANTAGE" metrics "$HOST_ID" memory.used_pct --stat p95 --db "$DB"
err "metrics: a bad --since" "--since 'yesterdayish'" "$VANTAGE" metrics "$HOST_ID" memory.used_pct --since yesterdayish --db "$DB"
err "metrics: a bad --step" "--step '0s'" "$VANTAGE" metrics "$HOST_ID" memory.used_pct --step 0s --db "$DB"
err "metrics: an unknown metric" "no metric 'memory.nope'" "$VANTAGE" metrics "$HOST_ID" memory.nope --db "$DB"
err "show: a bad --at" "--at 'tomorrow'" "$VANTAGE" show "$HOST_ID" --at tomorrow --db "$DB"
err "show: --at before the first frame" "no frame at or before" "$VANTAGE" show "$HOST_ID" --at 2001-01-01T00:00:00Z --db "$DB"
err "show: an unknown --feature" "unknown --feature 'pakage'" "$VANTAGE" show "$HOST_ID" --feature pakage --db "$DB"
err "show: no SYSTEM" "which system" "$VANTAGE" show --db "$DB"
err "systems: a missing --db" "--db '$TMP/missing.db'" "$VANTAGE" systems --db "$TMP/missing.db"
err "systems: an unknown option" "unrecognized option\|unknown option" "$VANTAGE" systems --colour --db "$DB"
head -c 100000 /dev/urandom >"$TMP/junk.db"
"$VANTAGE" systems --db "$TMP/junk.db" >/dev/null 2>"$TMP/err"
check "a corrupt --db: an error naming it ($(head -1 "$TMP/err"))" grep -q "$TMP/junk.db" "$TMP/err"
for c in systems show metrics; do
	check "$c --help" bash -c "'$VANTAGE' $c --help | grep -q 'Usage: vantage $c'"
done
