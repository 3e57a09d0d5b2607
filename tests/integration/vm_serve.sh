# VMs on a second kernel and in the daemon (issue 5).  A guest running
# Debian's 6.12 kernel (another kallsyms layout, percpu RSS counters, the
# 6.4+ module memory layout) is crawled with no input but its RAM and
# compared with what it printed on its own console; then `vantage serve`
# finds it among the systems, stores its metrics every interval, and marks
# it gone when QEMU stops.  Also: symbols from a System.map instead of kallsyms.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm_lib.sh"

# the newest Debian 6.12 kernel, in the fixture cache
kernel_612() {
	local cache=${VANTAGE_FIXTURES:-/var/cache/vantage-fixtures} pkg deb dir
	mkdir -p "$cache"
	deb=$(ls "$cache"/linux-image-6.12.*-amd64_*.deb 2>/dev/null | sort -V | tail -1)
	if [ -z "$deb" ]; then
		pkg=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' |
			awk '{print $1}' | sort -V | tail -1)
		[ -n "$pkg" ] || { echo "# no linux-image-6.12 package in the archive" >&2; return 1; }
		(cd "$cache" && apt-get download -q "$pkg" >/dev/null 2>&1) || return 1
		deb=$(ls "$cache"/linux-image-6.12.*-amd64_*.deb | sort -V | tail -1)
	fi
	dir=${deb%.deb}
	[ -d "$dir/boot" ] || dpkg -x "$deb" "$dir" || return 1
	VM_KVER=$(ls "$dir/lib/modules" | head -1)
	VM_VMLINUZ=$dir/boot/vmlinuz-$VM_KVER
	VM_MODDIR=$dir/lib/modules/$VM_KVER
}

export VANTAGE_CACHE_DIR=$TMP/cache
# jq_true FILTER [ARGS]: stdin satisfies FILTER (jq 1.6's -e says yes to no input)
jq_true() { [ "$(jq -r "$@" 2>/dev/null)" = true ]; }
if ! kernel_612; then
	not_ok "a Debian 6.12 kernel could be fetched"
	exit 0
fi
vm_initramfs "$TMP/initrd612.gz"
VM_INITRD=$TMP/initrd612.gz
vm_start k612 256M ""
if ! vm_wait_ready 180; then
	not_ok "the 6.12 guest booted"
	exit 0
fi
ok "the 6.12 guest ($VM_KVER) booted"

# ---- crawl by name, guest paused: compare with the console ----------------------
out=$TMP/k612.json
"$VANTAGE" crawl --vm "$VM_NAME" --pause -i 0 -f os,process,module,metric >"$out" 2>"$TMP/err"
check_eq "crawl --vm NAME exits 0" 0 $?
hdr=$(head -1 "$out")
check_eq "frame: kind vm" vm "$(jq -r .value.kind <<<"$hdr")"
check_eq "frame: id is the guest's uuid" "vm:$VM_UUID" "$(jq -r .value.id <<<"$hdr")"
check_eq "frame: no errors" 0 "$(jq '[.value.errors[]] | add' <<<"$hdr")"
check "frame: pause time reported" jq_true '.value.labels.paused_ms >= 0' <<<"$hdr"
check_eq "guest running again after --pause" '"running"' \
	"$(vm_qmp query-status | jq -c .status)"

os=$(jq -c 'select(.feature=="os") | .value' "$out")
check_eq "kernel release" "$VM_KVER" "$(jq -r .kernel_release <<<"$os")"
check_eq "hostname" "$(vm_truth hostname | tr -d '\r' | head -1)" "$(jq -r .hostname <<<"$os")"

# processes: pid, comm and argv of every user process ps printed (not ps/cat)
vm_truth ps | awk 'NR > 1 && $6 != "ps" && $6 != "cat" && $7 !~ /^\[/ {
	printf "%s %s", $1, $6; for (i = 7; i <= NF; i++) printf " %s", $i; print "" }' |
	sed 's/ {[^}]*}//' | sort -n >"$TMP/ps.truth"
jq -r 'select(.feature=="process" and .value.cmdline != null) |
	"\(.value.pid) \(.value.comm) \(.value.cmdline)"' "$out" | sort -n >"$TMP/ps.got"
check "user processes match ps in the guest (pid, comm, argv)" diff "$TMP/ps.truth" "$TMP/ps.got"
nk=$(vm_truth ps | awk 'NR > 1 && $7 ~ /^\[/' | wc -l)
nkg=$(jq -r 'select(.feature=="process" and .value.cmdline == null) | .value.pid' "$out" | wc -l)
check_eq "kernel threads: as many as ps showed" "$nk" "$nkg"
check_eq "RSS of 'sleep 1000001' as ps showed it" \
	"$(vm_truth ps | awk '$7 == "sleep" && $8 == "1000001" {print $5}')" \
	"$(jq -r 'select(.feature=="process" and .value.cmdline == "sleep 1000001") | .value.rss_kb' "$out")"
check_eq "uid of the httpd run as www" 33 \
	"$(jq -r 'select(.feature=="process" and (.value.cmdline // "" | test("-u www"))) | .value.uid' "$out")"

vm_truth modules | awk '{print $1, $2, $3, $5}' | sort >"$TMP/mod.truth"
jq -r 'select(.feature=="module") | "\(.value.name) \(.value.size) \(.value.refcount) \(.value.state)"' \
	"$out" | sort >"$TMP/mod.got"
check "modules match /proc/modules (name, size, refcount, state)" diff "$TMP/mod.truth" "$TMP/mod.got"
total=$(vm_truth meminfo | awk '/^MemTotal:/ {print $2}')
check_eq "memory total as MemTotal" "$total" \
	"$(jq -r 'select(.feature=="metric" and .key=="memory") | .value.total_kb' "$out")"

# the second crawl of the same kernel uses the profile learned by the first
"$VANTAGE" crawl --vm "$VM_UUID" -i 0 -f os >"$TMP/k2.json" 2>/dev/null
check_eq "second crawl: profile from the cache" true \
	"$(head -1 "$TMP/k2.json" | jq .value.labels.profile_cached)"

# ---- symbols from a System.map instead of kallsyms -------------------------------
# The guest printed its key symbols (/proc/kallsyms, run-time addresses); taking
# its KASLR shift off them gives what the kernel's System.map says (link-time,
# _text at 0xffffffff81000000), so the crawl must find the shift itself.
vm_truth kallsyms >"$TMP/kallsyms.runtime"
python3 - "$TMP/kallsyms.runtime" >"$TMP/System.map" <<-'PY'
	import sys
	rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 3]
	text = next(int(a, 16) for a, t, n in rows if n == "_text")
	for a, t, n in rows:
	    print("%016x %s %s" % (int(a, 16) - text + 0xffffffff81000000, t, n))
	PY
check "System.map: _text at its link address" grep -q '^ffffffff81000000 T _text$' "$TMP/System.map"
"$VANTAGE" crawl --vm "ram=$VM_RAM,system-map=$TMP/System.map" -i 0 -f os,process,module \
	>"$TMP/sm.json" 2>"$TMP/sm.err"
check_eq "crawl with a System.map exits 0" 0 $?
check_eq "System.map: the same modules" "$(jq -r 'select(.feature=="module") | .key' "$out" | sort)" \
	"$(jq -r 'select(.feature=="module") | .key' "$TMP/sm.json" | sort)"
check_eq "System.map: the same user processes" \
	"$(jq -r 'select(.feature=="process" and .value.cmdline != null) | .value.cmdline' "$out" | sort)" \
	"$(jq -r 'select(.feature=="process" and .value.cmdline != null) | .value.cmdline' "$TMP/sm.json" | sort)"
check_eq "System.map: the hostname" "$(jq -r .hostname <<<"$os")" \
	"$(jq -r 'select(.feature=="os") | .value.hostname' "$TMP/sm.json")"
echo "ffffffffffffffff B The real System.map is in the linux-image-$VM_KVER-dbg package" >"$TMP/stub.map"
"$VANTAGE" crawl --vm "ram=$VM_RAM,system-map=$TMP/stub.map" -i 0 -f os >/dev/null 2>"$TMP/stub.err"
check_eq "Debian's stub System.map: exit 2" 2 $?
check "…with a message naming the stub" grep -q "stub.map.*no kernel symbols" "$TMP/stub.err"

# ---- the daemon --------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
db=$TMP/serve.db
"$VANTAGE" serve --db "$db" --listen "127.0.0.1:$port" --metric-interval 1s --no-containers \
	2>"$TMP/serve.log" &
spid=$!
on_exit "kill -9 $spid 2>/dev/null"
systems() { curl -sf "http://127.0.0.1:$port/api/v1/systems?gone=any" 2>/dev/null; }
vm_listed() { systems | jq_true --arg id "vm:$VM_UUID" 'any(.systems[]; .id == $id and .kind == "vm")'; }
t0=$SECONDS
for _ in $(seq 300); do vm_listed && break; sleep 0.1; done
echo "# the guest was listed after $((SECONDS - t0)) s"
if vm_listed; then
	ok "serve: the guest is in the systems list (kind vm)"
else
	not_ok "serve: the guest is in the systems list (kind vm)"
	sed 's/^/#   /' "$TMP/serve.log" | tail -20
	systems | head -c 2000 | sed 's/^/#   /'
fi
sleep 3.5
pts=$(curl -sf "http://127.0.0.1:$port/api/v1/systems/vm:$VM_UUID/metrics/memory.used_pct?since=5m&step=1s" |
	jq '.points | length')
check "serve: the guest's memory.used_pct has a point every interval (got $pts)" \
	test "${pts:-0}" -ge 2
frame=$(curl -sf "http://127.0.0.1:$port/api/v1/systems/vm:$VM_UUID/frame")
check "serve: the guest's frame holds its processes" \
	jq_true '[.. | objects | select(.cmdline? == "sleep 1000001")] | length >= 1' <<<"$frame"
vm_stop
gone() { systems | jq_true --arg id "vm:$VM_UUID" 'any(.systems[]; .id == $id and .gone == true)'; }
for _ in $(seq 100); do gone && break; sleep 0.1; done
check "serve: the guest is marked gone once QEMU stopped" gone
kill -TERM $spid
wait $spid
check_eq "serve exits 0 on SIGTERM" 0 $?
