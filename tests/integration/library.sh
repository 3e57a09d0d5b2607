# The library feature on the live host and in a container: every file a
# process maps, checked against /proc/PID/maps read here; a library deleted
# while mapped; the deleted-only option; a container's own paths and pids.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
T=l$$

# a process that maps a private copy of a library, which is then deleted
lib=$(ldd /bin/sleep | awk '$1 ~ /^libc\.so/ {print $3}')
cp "$lib" "$TMP/libvtest.so.6"
LD_PRELOAD="$TMP/libvtest.so.6" sleep 300 &
spid=$!
on_exit "kill $spid"
wait_for 5 grep -q libvtest "/proc/$spid/maps"
rm "$TMP/libvtest.so.6"

out=$TMP/host.jsonl
$VANTAGE crawl --features library >"$out" 2>"$TMP/err"
check_eq "crawl --features library exits 0" 0 $?
check "records were written" jq_any 'select(.feature=="library")' "$out"

# every file the process maps (an inode, a path) is a record listing its pid
want=$(awk '$5 != 0 && $6 ~ /^\// {print $6}' "/proc/$spid/maps" | sort -u)
got=$(jq -r "select(.feature==\"library\" and (.value.pids|index($spid))) | .value.path" "$out" | sort -u)
check_eq "the files mapped by pid $spid, as in /proc/$spid/maps" "$want" "$got"
rec=$(jq -c "select(.feature==\"library\" and .value.path==\"$TMP/libvtest.so.6\")" "$out")
check_eq "the deleted library is marked deleted" true "$(jq -r .value.deleted <<<"$rec")"
check_eq "its inode is the one in /proc/$spid/maps" \
	"$(awk '/libvtest/ {print $5; exit}' "/proc/$spid/maps")" "$(jq -r .value.inode <<<"$rec")"
check_eq "it is mapped executable" true "$(jq -r .value.executable <<<"$rec")"
libc=$(jq -c "select(.feature==\"library\" and .value.path==\"$(readlink -f "$lib")\")" "$out")
check "libc is mapped by many processes" test "$(jq -r .value.processes <<<"$libc")" -gt 1
check_eq "processes counts the pids listed" "$(jq -r '.value.pids|length' <<<"$libc")" \
	"$(jq -r .value.processes <<<"$libc")"
check_eq "no anonymous or pseudo mapping is a record" 0 \
	"$(jq -s '[.[]|select(.feature=="library" and (.key|test("^\\[|^/memfd:|^$")))]|length' "$out")"

$VANTAGE crawl --features library --library-deleted-only >"$TMP/del.jsonl" 2>/dev/null
check_eq "--library-deleted-only: only deleted files" 0 \
	"$(jq -s '[.[]|select(.feature=="library" and .value.deleted==false)]|length' "$TMP/del.jsonl")"
check "--library-deleted-only keeps the deleted library" \
	jq_any "select(.feature==\"library\" and .value.path==\"$TMP/libvtest.so.6\")" "$TMP/del.jsonl"

$VANTAGE crawl >"$TMP/default.jsonl" 2>/dev/null
check_eq "library is opt-in: not in a default crawl" false \
	"$(head -1 "$TMP/default.jsonl" | jq '.value.features|index("library") != null')"

# a container: its processes' files, paths and pids as seen inside
mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
cpid=$(start_unshare_container $T-lib "$TMP/root" 'sleep 1000') || { not_ok "start container"; exit 1; }
$VANTAGE crawl --container $T-lib --features library >"$TMP/ct.jsonl" 2>"$TMP/err"
check_eq "crawl --container --features library exits 0" 0 $?
bb=$(jq -c 'select(.feature=="library" and .value.path=="/bin/busybox")' "$TMP/ct.jsonl")
check "the container's busybox, by its path inside" test -n "$bb"
check_eq "PID 1 inside maps it" true "$(jq '.value.pids|index(1) != null' <<<"$bb")"
check_eq "no host path leaks into the container's records" 0 \
	"$(jq -s "[.[]|select(.feature==\"library\" and (.key|startswith(\"$TMP\")))]|length" "$TMP/ct.jsonl")"
check_eq "no host process is listed" "" \
	"$(jq -r "select(.feature==\"library\" and (.value.pids|index($spid))) | .key" "$TMP/ct.jsonl")"
stop_unshare_container $T-lib

# kinds without mappings
$VANTAGE crawl --root "$TMP/root" --features library >/dev/null 2>"$TMP/err"
check_eq "--root refuses library (a files-only view)" 2 $?
