# vantage diff on real containers: web, app and db crawled while healthy,
# then one fault at a time (each compared with the crawl just before it);
# the cause must be among the top three entries.  The four faults of the
# acceptance set, then a larger set; prints the rank each case got and the
# share ranked first and in the top three.  Also: two healthy crawls give no
# entry above the noise line, field-level changes, the store path
# (SYSTEM@TIME, vantage changes, the API), bad arguments.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
T=d$$
FEATURES=os,process,connection,package,config,metric,library

mk_busybox_root "$TMP/base" >/dev/null || { not_ok "busybox root"; exit 1; }
for c in web app db; do cp -a "$TMP/base" "$TMP/$c"; done

# web: busybox httpd on :80 and a dynamically linked worker mapping libc
libc=$(ldd /bin/sleep | awk '$1 ~ /^libc\.so/ {print $3}')
ld=$(ldd /bin/sleep | awk '$1 ~ /ld-linux/ {print $1}')
mkdir -p "$TMP/web/usr/sbin" "$TMP/web$(dirname "$libc")" "$TMP/web$(dirname "$ld")"
cp /bin/sleep "$TMP/web/usr/sbin/web-worker"
cp "$libc" "$TMP/web$libc"
cp "$ld" "$TMP/web$ld"
printf 'root_dir=/var/www\nindex=index.html\nlisten=80\n' >"$TMP/web/etc/web.conf"
echo hello >"$TMP/web/var/www/index.html"
# app: a config file its process names on its command line
{
	echo "# app settings"
	echo "db_host=127.0.0.1"
	echo "db_port=5432"
	echo "db_name=orders"
	for i in $(seq 1 30); do echo "feature_$i=on"; done
	echo "workers=4"
} >"$TMP/app/etc/app.conf"
printf '127.0.0.1 localhost\n10.0.0.2 db\n' >"$TMP/app/etc/hosts"
printf 'nameserver 10.0.0.53\nsearch corp.test\n' >"$TMP/app/etc/resolv.conf"
ln -sf /usr/share/zoneinfo/UTC "$TMP/app/etc/localtime"
# db: a dpkg database of its own (the package feature reads the system's root)
mkdir -p "$TMP/db/var/lib/dpkg"
for p in "libpq5 15.3-1" "postgresql 15.3-1" "openssl 3.0.14-1" "tzdata 2024a-1"; do
	set -- $p
	printf 'Package: %s\nStatus: install ok installed\nVersion: %s\nArchitecture: amd64\n\n' "$1" "$2"
done >"$TMP/db/var/lib/dpkg/status"
# a package shipping a conffile, for the upgrade that explains its change
printf 'listen_port = 5432\n' >"$TMP/db/etc/pg.conf"
printf 'Package: pgconf\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: all\nConffiles:\n /etc/pg.conf %s\n\n' \
	"$(md5sum <"$TMP/db/etc/pg.conf" | cut -c1-32)" >>"$TMP/db/var/lib/dpkg/status"

wpid=$(start_unshare_container $T-web "$TMP/web" \
	'httpd -p 80 -h /var/www; /usr/sbin/web-worker 1000000') || { not_ok "start web"; exit 1; }
apid=$(start_unshare_container $T-app "$TMP/app" \
	"sh -c 'while :; do sleep 1; done' app-server /etc/app.conf") || { not_ok "start app"; exit 1; }
dpid=$(start_unshare_container $T-db "$TMP/db" \
	'mkdir -p /data; mount -t tmpfs -o size=512k tmpfs /data; httpd -p 5432 -h /var/www') ||
	{ not_ok "start db"; exit 1; }
wait_for 10 sh -c "grep -qs web-worker /proc/*/cmdline && [ -n \"\$(ls /proc/$dpid/root/data 2>/dev/null; grep -s ' /data ' /proc/$dpid/mountinfo)\" ]"

in_container() { # in_container NAME CMD...: run CMD in the container, in its cgroups
	local name=$1 pid
	shift
	pid=$(cat "$CT_STATE/$name.pid")
	(
		for d in $(unshare_cgroup_dirs "$name"); do echo "$BASHPID" >"$d/cgroup.procs"; done
		exec nsenter -t "$pid" -a -r -w "$@"
	)
}

crawl() { # crawl OUT: the three containers
	$VANTAGE crawl -c $T-web -c $T-app -c $T-db -f $FEATURES -o "$1" 2>>"$TMP/crawl.err"
}

# rank CASE SYSTEM JQ_PREDICATE: rank of the first entry matching, 0 if none
declare -a RANKS=()
rank_of() {
	local name=$1 sys=$2 pred=$3 r
	$VANTAGE diff "$TMP/before.jsonl@$sys" "$TMP/after.jsonl@$sys" --json >"$TMP/$name.json" 2>"$TMP/$name.err"
	r=$(jq "[.entries[] | ($pred)] | index(true) // -1 | . + 1" "$TMP/$name.json" 2>/dev/null)
	[ -n "$r" ] || r=0
	echo "# $name: rank $r of $(jq '.entries|length' "$TMP/$name.json" 2>/dev/null) entries; top 3:"
	jq -r '.entries[:3][] | "#    \(.score)  \(.change) \(.feature) \(.key)"' "$TMP/$name.json" 2>/dev/null
	RANKS+=("$r")
	R=$r
}
fault() { # fault NAME SYSTEM PREDICATE 'sh code' [acceptance]
	local name=$1 sys=$2 pred=$3 code=$4
	crawl "$TMP/before.jsonl"
	eval "$code"
	sleep 1
	crawl "$TMP/after.jsonl"
	cp "$TMP/before.jsonl" "$TMP/$name.before.jsonl"
	cp "$TMP/after.jsonl" "$TMP/$name.after.jsonl"
	rank_of "$name" "$sys" "$pred"
	check "$name: the cause is in the top three (rank $R)" test "$R" -ge 1 -a "$R" -le 3
}

# ---- two healthy crawls: nothing above the noise line ------------------------
crawl "$TMP/h1.jsonl"
sleep 2
crawl "$TMP/h2.jsonl"
for c in web app db; do
	$VANTAGE diff "$TMP/h1.jsonl@$T-$c" "$TMP/h2.jsonl@$T-$c" --json >"$TMP/healthy-$c.json"
	check_eq "healthy $c a few seconds apart: no entry above the noise line" 0 \
		"$(jq '.entries|length' "$TMP/healthy-$c.json")"
done
$VANTAGE diff "$TMP/h1.jsonl@$T-app" "$TMP/h2.jsonl@$T-app" >/dev/null
check_eq "no change: exit 0" 0 $?
$VANTAGE diff "$TMP/h1.jsonl@$T-app" "$TMP/h2.jsonl@$T-app" --all --json >"$TMP/all.json"
check "--all shows what was sunk, each marked" \
	jq -e '(.entries|length) == .sunk and all(.entries[]; .sunk == true)' "$TMP/all.json"
check "the volatile fields are listed" jq -e '.volatile | index("process.cpu_user_s") != null or length > 0' "$TMP/all.json"

# ---- the acceptance set ------------------------------------------------------
fault a-config-port $T-app '.feature=="config" and .key=="/etc/app.conf"' \
	"sed -i 's/^db_port=5432/db_port=5433/' '$TMP/app/etc/app.conf'"
check_eq "a: the changed key, before and after" '["5432","5433"]' \
	"$(jq -c '.entries[] | select(.key=="/etc/app.conf") | .keys.db_port' "$TMP/a-config-port.json")"
check_eq "a: the changed lines" '["-db_port=5432","+db_port=5433"]' \
	"$(jq -c '.entries[] | select(.key=="/etc/app.conf") | .lines' "$TMP/a-config-port.json")"
check "a: one changed entry, not a removal and an addition" \
	jq -e '[.entries[] | select(.key=="/etc/app.conf")] | length == 1 and .[0].change == "changed"' \
	"$TMP/a-config-port.json"
$VANTAGE diff "$TMP/before.jsonl@$T-app" "$TMP/after.jsonl@$T-app" | sed 's/^/#   /'
check "a: why names the process whose argv names the file" \
	jq -e '.entries[0].why.used_by | test("app.conf|sh")' "$TMP/a-config-port.json"

fault b-disk-full $T-db '.feature=="metric" and .key=="disk:/data"' \
	"dd if=/dev/zero of=/proc/$dpid/root/data/fill bs=64k 2>/dev/null"
check "b: the disk's used_pct before and after" \
	jq -e '.entries[] | select(.key=="disk:/data") | .fields.used_pct[1] >= 90' "$TMP/b-disk-full.json"

fault c-library-removed $T-web '.feature=="library" and (.key|test("libc"))' \
	"rm -f '$TMP/web$libc'"

fault d-process-died $T-web '(.feature=="process" and (.key|test("httpd"))) or (.feature=="connection" and (.key|test(":80 ")))' \
	"pkill -KILL -f '^httpd -p 80' "
check "d: the dead server's process is an entry" \
	jq -e 'any(.entries[]; .feature=="process" and .change=="removed" and (.key|test("httpd")))' \
	"$TMP/d-process-died.json"

# ---- a larger set --------------------------------------------------------------
fault e-hosts-changed $T-app '.feature=="config" and .key=="/etc/hosts"' \
	"sed -i 's/^10.0.0.2 db/10.0.0.9 db/' '$TMP/app/etc/hosts'"
fault f-config-mode $T-app '.feature=="config" and .key=="/etc/app.conf"' \
	"chmod 000 '$TMP/app/etc/app.conf'"
fault g-config-removed $T-web '.feature=="config" and .key=="/etc/web.conf"' \
	"rm -f '$TMP/web/etc/web.conf'"
fault h-port-moved $T-db '.feature=="connection" and (.key|test(":5432 "))' \
	"pkill -KILL -f '^httpd -p 5432'; in_container $T-db httpd -p 5433 -h /var/www"
fault i-worker-died $T-web '.feature=="process" and (.key|test("web-worker"))' \
	"pkill -KILL -f '^/usr/sbin/web-worker'"
check "i: the libraries only the worker mapped fold under its exit" \
	jq -e '[.entries[] | select(.feature=="library")] | length == 0' "$TMP/i-worker-died.json"
fault j-user-changed $T-app '.feature=="config" and .key=="/etc/passwd"' \
	"sed -i 's/^www:x:33:33/www:x:0:0/' '$TMP/app/etc/passwd'"

fault k-resolver-changed $T-app '.feature=="config" and .key=="/etc/resolv.conf"' \
	"sed -i 's/^nameserver 10.0.0.53/nameserver 10.9.9.9/' '$TMP/app/etc/resolv.conf'"
fault l-package-downgraded $T-db '.feature=="package" and .key=="libpq5"' \
	"sed -i 's/^Version: 15.3-1\$/Version: 15.1-1/' '$TMP/db/var/lib/dpkg/status'"
fault m-package-removed $T-db '.feature=="package" and .key=="openssl"' \
	"python3 - '$TMP/db/var/lib/dpkg/status' <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().split('\n\n')
open(p, 'w').write('\n\n'.join(b for b in s if not b.startswith('Package: openssl')))
PY"
fault n-backdoor-listener $T-web '.feature=="connection" and (.key|test(":4444 LISTEN"))' \
	"in_container $T-web nc -l -p 4444 </dev/null >/dev/null 2>&1 &"
fault o-cron-added $T-app '.feature=="config" and .key=="/etc/crontab"' \
	"echo '* * * * * root /tmp/x' >'$TMP/app/etc/crontab'"
fault p-timezone-link $T-app '.feature=="config" and .key=="/etc/localtime"' \
	"ln -sfn /usr/share/zoneinfo/Asia/Tokyo '$TMP/app/etc/localtime'"
fault q-config-owner $T-web '.feature=="config" and .key=="/etc/web.conf"' \
	"printf 'root_dir=/var/www\n' >'$TMP/web/etc/web.conf'; crawl '$TMP/before.jsonl'; chown 33:33 '$TMP/web/etc/web.conf'"
fault r-user-added $T-db '.feature=="config" and .key=="/etc/passwd"' \
	"echo 'toor:x:0:0::/root:/bin/sh' >>'$TMP/db/etc/passwd'"
fault s-app-restarted-other-args $T-app '.feature=="process" and (.key|test("app-server /etc/app.conf"))' \
	"pkill -KILL -f '^sh -c while :; do sleep 1; done app-server /etc/app.conf'; in_container $T-app sh -c 'while :; do sleep 1; done' app-server /etc/app-test.conf &"
fault t-group-changed $T-app '.feature=="config" and .key=="/etc/group"' \
	"sed -i 's/^root:x:0:\$/root:x:0:www/' '$TMP/app/etc/group'"
fault u-package-upgraded $T-db '.feature=="package" and .key=="pgconf"' \
	"printf 'listen_port = 5432\\nshared_buffers = 128MB\\n' >'$TMP/db/etc/pg.conf'
	 sed -i -e 's/^Version: 1.0-1\$/Version: 1.1-1/' \
		-e \"s| /etc/pg.conf .*| /etc/pg.conf \$(md5sum <'$TMP/db/etc/pg.conf' | cut -c1-32)|\" \
		'$TMP/db/var/lib/dpkg/status'"
check_eq "u: the upgrade is one entry, the conffile it ships folds under it" \
	'1 ["/etc/pg.conf"]' \
	"$(jq -c '[(.entries|length), (.entries[0].explains)] | map(tostring) | join(" ")' -r "$TMP/u-package-upgraded.json")"

n=${#RANKS[@]}
top1=0 top3=0
for r in "${RANKS[@]}"; do
	[ "$r" = 1 ] && top1=$((top1 + 1))
	[ "$r" -ge 1 ] && [ "$r" -le 3 ] && top3=$((top3 + 1))
done
echo "# ranks: ${RANKS[*]}; first in $top1 of $n, top three in $top3 of $n"

# ---- the store: SYSTEM@TIME, changes, the API ------------------------------------
DB=$TMP/store.db
$VANTAGE api --db "$DB" --import "$TMP/h1.jsonl" >/dev/null 2>&1
$VANTAGE api --db "$DB" --import "$TMP/after.jsonl" >/dev/null 2>&1
t1=$(jq -r "select(.feature==\"frame\" and .value.name==\"$T-web\") | .time" "$TMP/h1.jsonl")
$VANTAGE diff --db "$DB" "$T-web@$t1" $T-web --json >"$TMP/store.json"
check_eq "store: SYSTEM@TIME against the latest exits 3 (changes found)" 3 $?
check "store: the dead worker is found" \
	jq -e 'any(.entries[]; .feature=="process" and (.key|test("web-worker")))' "$TMP/store.json"
$VANTAGE changes --db "$DB" $T-web --since 1h --json >"$TMP/changes.json"
check_eq "changes: one change between the two stored frames" 1 "$(jq '.changes|length' "$TMP/changes.json")"
port=$(free_port)
$VANTAGE api --db "$DB" --listen 127.0.0.1:$port >/dev/null 2>&1 &
apipid=$!
on_exit "kill $apipid"
wait_for 5 curl -sf "http://127.0.0.1:$port/api/v1/health"
wid=$(jq -r 'select(.feature=="frame" and .value.name=="'$T-web'") | .value.id' "$TMP/h1.jsonl" | head -1)
curl -s "http://127.0.0.1:$port/api/v1/diff?a=$wid@$t1&b=$wid" >"$TMP/api.json"
check "API: entries found" jq -e '.entries|length > 0' "$TMP/api.json"
check_eq "API: the same entries as the command line" \
	"$(jq -c '[.entries[]|[.feature,.key,.change,.score]]' "$TMP/store.json")" \
	"$(jq -c '[.entries[]|[.feature,.key,.change,.score]]' "$TMP/api.json")"
code=$(curl -s -o "$TMP/api400.json" -w '%{http_code}' "http://127.0.0.1:$port/api/v1/diff?a=$wid@yesterday&b=$wid")
check_eq "API: a bad time is a 400" 400 "$code"
check_eq "API: naming the parameter" a "$(jq -r .parameter "$TMP/api400.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/diff?a=nosuch&b=$wid")
check_eq "API: an unknown system is a 404" 404 "$code"

# ---- --bisect: where did the app go bad? ------------------------------------------
DB2=$TMP/bisect.db
# five frames of the app; the probe flips between the 3rd and the 4th
for f in h1 h2 j-user-changed.before j-user-changed.after t-group-changed.after; do
	$VANTAGE api --db "$DB2" --import "$TMP/$f.jsonl" >/dev/null 2>&1
done
$VANTAGE diff --db "$DB2" --bisect $T-app --probe 'config key=/etc/passwd content~www:x:0:0' \
	--since 1d --json >"$TMP/bisect.json"
check_eq "bisect: exit 3 (a flip found, changes listed)" 3 $?
check_eq "bisect: false before, true after" "false true" \
	"$(jq -r '[.bisect.before, .bisect.after] | map(tostring) | join(" ")' "$TMP/bisect.json")"
app_time() { jq -r "select(.feature==\"frame\" and .value.name==\"$T-app\") | .time" "$1"; }
check_eq "bisect: the pair is the frames before and after the fault" \
	"$(app_time "$TMP/j-user-changed.before.jsonl") $(app_time "$TMP/j-user-changed.after.jsonl")" \
	"$(jq -r '.bisect.from + " " + .bisect.to' "$TMP/bisect.json")"
check_eq "bisect: the cause ranks first" "config /etc/passwd" \
	"$(jq -r '.entries[0] | .feature + " " + .key' "$TMP/bisect.json")"
$VANTAGE diff --db "$DB2" --bisect $T-app --probe 'config key=/etc/passwd content~nosuchuser' \
	--since 1d >"$TMP/noflip.out"
check_eq "bisect: a probe that never flips exits 0" 0 $?
check "and says so" grep -q "never flips" "$TMP/noflip.out"
$VANTAGE diff --db "$DB2" --bisect $T-app --probe 'config content~=(' 2>"$TMP/err"
check_eq "bisect: a bad probe exits 2" 2 $?
check "and points at the bad token" grep -q "column" "$TMP/err"

# ---- bad input -----------------------------------------------------------------
$VANTAGE diff "$TMP/h1.jsonl" "$TMP/h2.jsonl" 2>"$TMP/err"
check_eq "a file of several frames without @SYSTEM: exit 2" 2 $?
check "the message says to name the system" grep -q "FILE@SYSTEM" "$TMP/err"
echo '{"not":"a record"}' >"$TMP/bad.jsonl"
$VANTAGE diff "$TMP/bad.jsonl" "$TMP/h2.jsonl@$T-db" 2>"$TMP/err"
check_eq "a file that is not a crawl: exit 2" 2 $?
check "the message names the file and line" grep -q "bad.jsonl line 1" "$TMP/err"
printf 'config * changed sometimes\n' >"$TMP/bad.rules"
$VANTAGE diff --rules "$TMP/bad.rules" "$TMP/h1.jsonl@$T-db" "$TMP/h2.jsonl@$T-db" 2>"$TMP/err"
check_eq "a bad rules file: exit 2" 2 $?
check "the message names the rules file, line and word" grep -q "bad.rules line 1: .*'sometimes'" "$TMP/err"
$VANTAGE diff "$TMP/h1.jsonl@$T-db" "$TMP/nosuch.jsonl" 2>"$TMP/err"
check_eq "a missing file: exit 1" 1 $?
$VANTAGE diff --db "$DB" nosuchsystem $T-web 2>"$TMP/err"
check_eq "an unknown system: exit 2" 2 $?
