# Containers crawled from the outside (issue 3): unshare-based containers
# made by this test; the same feature code as the host.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
# names unique to this run, so that runs on one machine never see each other's containers
T=t$$

mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
cat >"$TMP/root/etc/os-release" <<'X'
ID=vantagetest
NAME="Vantage Test OS"
VERSION_ID=7.1
X
echo 'web:x:1234:1234:web:/:/bin/sh' >>"$TMP/root/etc/passwd"

pid=$(start_unshare_container $T-web "$TMP/root" 'httpd -f -p 18080 -u 1234') || { not_ok "start container"; exit 1; }
for _ in $(seq 100); do ss -H -tln "( sport = :18080 )" -N "$(ip netns identify "$pid" 2>/dev/null)" >/dev/null 2>&1; \
	nsenter -t "$pid" -n ss -H -tln 2>/dev/null | grep -q 18080 && break; sleep 0.05; done
id=$($VANTAGE ls --json | jq -r "select(.name==\"$T-web\") | .id")
check "container $T-web is listed by vantage ls" test -n "$id"

out=$TMP/web.jsonl
$VANTAGE crawl --container $T-web -f os,process,connection,interface,metric,package,config -i 0.2 \
	--config-path /etc >"$out" 2>"$TMP/err"
check_eq "crawl --container exits 0" 0 $?
hdr=$(head -1 "$out")
check_eq "one frame, for the container" 1 "$(jq -s '[.[]|select(.feature=="frame")]|length' "$out")"
check_eq "header kind is container" container "$(jq -r .value.kind <<<"$hdr")"
check_eq "header id" "$id" "$(jq -r .value.id <<<"$hdr")"
check_eq "header name" $T-web "$(jq -r .value.name <<<"$hdr")"
check_eq "header names the host it runs on" "$(hostname)" "$(jq -r .value.host <<<"$hdr")"
check_eq "os-release is the container's" "vantagetest 7.1" \
	"$(jq -r 'select(.feature=="os") | "\(.value.id) \(.value.version_id)"' "$out")"
check_eq "hostname is the container's UTS name" $T-web "$(jq -r 'select(.feature=="os").value.hostname' "$out")"
check_eq "PID 1 inside is the container's init (host pid $pid)" 1 \
	"$(jq -r "select(.feature==\"process\" and .value.pid==$pid).value.nspid" "$out")"
check_eq "exe is the path inside the container" /bin/busybox \
	"$(jq -r "select(.feature==\"process\" and .value.pid==$pid).value.exe" "$out")"
check_eq "httpd runs as user 'web' from the container's passwd" web \
	"$(jq -r 'select(.feature=="process" and .value.comm=="httpd").value.user' "$out")"
nprocs_ct=$(jq -s '[.[]|select(.feature=="process")]|length' "$out")
check_eq "only the container's processes (init, httpd)" 2 "$nprocs_ct"
check_eq "listener inside is in the container's frame, owned by httpd" httpd \
	"$(jq -r 'select(.feature=="connection" and .value.local_port==18080 and .value.state=="LISTEN").value.comm' "$out")"
check_eq "the container's interfaces: only lo" lo "$(jq -r 'select(.feature=="interface").key' "$out" | tr '\n' ' ' | sed 's/ $//')"
check "config comes from the container's /etc" \
	jq_any '.feature=="config" and .key=="/etc/os-release" and (.value.content | test("vantagetest"))' "$out"
check "cgroup memory usage is reported" jq_any '.feature=="metric" and .key=="cgroup" and .value.mem_usage_bytes > 0' "$out"

host=$TMP/host.jsonl
$VANTAGE crawl -f connection,process >"$host"
check_eq "the container's listener is not in the host's frame" 0 \
	"$(jq -s '[.[]|select(.feature=="connection" and .value.local_port==18080)]|length' "$host")"
check "the host's frame still lists the container's processes (host view sees all)" \
	jq_any ".feature==\"process\" and .value.pid==$pid" "$host"

# memory limit, used % of the limit
UNSHARE_MEM_LIMIT=67108864 start_unshare_container $T-lim "$TMP/root" 'sleep 100000' >/dev/null
$VANTAGE crawl --container $T-lim -f metric -i 0 >"$TMP/lim.jsonl"
check_eq "memory limit of the container's cgroup" 67108864 \
	"$(jq -r 'select(.key=="cgroup").value.mem_limit_bytes' "$TMP/lim.jsonl")"
check_eq "memory total of the container is its limit" 65536 \
	"$(jq -r 'select(.key=="memory").value.total_kb' "$TMP/lim.jsonl")"

# --- hostile container ---------------------------------------------------
bad=$TMP/bad
mk_busybox_root "$bad" >/dev/null
rm -f "$bad/etc/os-release"
ln -s /etc/shadow "$bad/etc/os-release"
mkdir -p "$bad/var/lib/dpkg" "$bad/etc/deep"
ln -s /proc/kcore "$bad/var/lib/dpkg/status"
ln -s ../../../../../../etc/machine-id "$bad/etc/machine-id"
ln -s ../../../../../../etc/hostname "$bad/etc/deep/rel-escape"
ln -s /etc "$bad/etc/abs-dir-escape"
mkdir -p "$bad/lib/apk/db"; ln -s /proc/1/status "$bad/lib/apk/db/installed"
mkdir -p "$bad/etc/kern"; ln -s /proc/1/status "$bad/etc/kern/status"
mkfifo "$bad/etc/fifo.conf"
truncate -s 10G "$bad/etc/sparse.conf"
ln -s loop1 "$bad/etc/loop2"; ln -s loop2 "$bad/etc/loop1"
mkdir -p "$bad/etc/locked"; echo secret >"$bad/etc/locked/x"; chmod 000 "$bad/etc/locked"
start_unshare_container $T-bad "$bad" 'sleep 100000' >/dev/null
start=$(date +%s%N)
timeout 60 $VANTAGE crawl --container $T-bad -f os,package,config,file --config-path /etc \
	--file-root /etc >"$TMP/bad.jsonl" 2>"$TMP/bad.err"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check_eq "hostile container: crawl finishes (no block on FIFO, sparse file, loops)" 0 $rc
check "hostile container: took under 20 s ($ms ms)" test "$ms" -lt 20000
shadow_hash=$(awk -F: '$2 ~ /^\$/ {print $2; exit}' /etc/shadow)
if [ -n "$shadow_hash" ]; then
	check "hostile container: no host shadow hash in the frame" bash -c "! grep -qF -- '$shadow_hash' '$TMP/bad.jsonl'"
else
	check "hostile container: no 'root:' shadow line in the frame" bash -c "! grep -q 'root:[^x]*:[0-9]*:0:99999' '$TMP/bad.jsonl'"
fi
check "hostile container: host machine-id not reported" bash -c "! grep -qF \"\$(cat /etc/machine-id)\\\"\" <(jq -r 'select(.feature==\"os\").value.machine_id' '$TMP/bad.jsonl')"
check_eq "hostile container: os id unknown (os-release -> /etc/shadow resolves inside)" null \
	"$(jq -r 'select(.feature=="os").value.id' "$TMP/bad.jsonl")"
check_eq "hostile container: no packages from /proc/kcore" 0 \
	"$(jq -s '[.[]|select(.feature=="package")]|length' "$TMP/bad.jsonl")"
check "hostile container: a symlink into its procfs is not read as a file" \
	bash -c "! jq -r 'select(.feature==\"config\" and .key==\"/etc/kern/status\").value.content // empty' '$TMP/bad.jsonl' | grep -q 'Pid:'"
check "hostile container: a package database pointing into procfs is refused and reported" \
	jq_any '.feature=="frame" and (.value.messages.package | tostring | test("installed: Operation not permitted"))' "$TMP/bad.jsonl"
check "hostile container: relative escape not followed (no host hostname as content)" \
	bash -c "! jq -r 'select(.feature==\"config\" and .key==\"/etc/deep/rel-escape\").value.content // empty' '$TMP/bad.jsonl' | grep -qx '$(hostname)'"
check "hostile container: absolute dir symlink not descended" \
	bash -c "! jq -r 'select(.feature==\"file\").key' '$TMP/bad.jsonl' | grep -q '^/etc/abs-dir-escape/'"
check "hostile container: FIFO skipped and counted" jq_any '.feature=="frame" and .value.skipped.config >= 1' "$TMP/bad.jsonl"
check "hostile container: 10G sparse file has no content and hash skipped" \
	jq_any '.feature=="config" and .key=="/etc/sparse.conf" and .value.content == null and .value.hash_skipped and .value.size == 10737418240' "$TMP/bad.jsonl"

# --- 20 containers, one killed during the crawl --------------------------
# a root with many files, so that walking each one takes a while
mkdir -p "$TMP/root/data"
for d in $(seq 1 40); do mkdir "$TMP/root/data/$d"; (cd "$TMP/root/data/$d" && touch $(seq 1 250)); done
for i in $(seq 1 20); do
	start_unshare_container "$T-m$i" "$TMP/root" 'sleep 100000' >/dev/null || not_ok "start $T-m$i"
done
# one worker, a slow feature first (a walk of each root) so the crawl is
# still going when container m15 is killed
victim=$(cat "$CT_STATE/$T-m15.pid")
$VANTAGE crawl --containers -w 1 -f file,os,process --file-root / -i 0 >"$TMP/many.jsonl" 2>"$TMP/many.err" &
cpid=$!
for _ in $(seq 400); do n=$(grep -c '"feature":"frame"' "$TMP/many.jsonl" 2>/dev/null); [ "${n:-0}" -ge 2 ] && break; sleep 0.01; done
stop_unshare_container $T-m15
wait $cpid
check_eq "crawl of many containers exits 0 when one dies" 0 $?
frames=$(jq -c 'select(.feature=="frame") | .value' "$TMP/many.jsonl")
mframes=$(jq -r "select(.name|test(\"^$T-m[0-9]+\$\")) | .name" <<<"$frames" | sort | tr '\n' ' ')
check_eq "20 frames, one per container" 20 "$(wc -w <<<"$mframes")"
full=$(jq -r "select((.name|test(\"^$T-m[0-9]+\$\")) and ([.errors[]]|add) == 0) | .name" <<<"$frames" | wc -l)
check_eq "19 full frames" 19 "$full"
partial=$(jq -r "select(.name==\"$T-m15\") | ([.errors[]]|add)" <<<"$frames")
check "the killed container's frame is partial with its error ($partial errors)" test "${partial:-0}" -ge 1
check "the killed container's frame says why" jq_any "select(.name==\"$T-m15\") | .messages | tostring | test(\"exited|No such process|No such file\")" <(printf '%s\n' "$frames")

# --- errors ---------------------------------------------------------------
$VANTAGE crawl --container no-such-container -f os >/dev/null 2>"$TMP/e1"
rc=$?
check_eq "unknown container: exit 2" 2 $rc
check "unknown container: message names it" grep -q "no-such-container" "$TMP/e1"
$VANTAGE crawl --containers --root / >/dev/null 2>"$TMP/e2"
check_eq "--containers with --root: exit 2" 2 $?
