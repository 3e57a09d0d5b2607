# vantage search over a store holding this host and three real containers
# (unshare + chroot into busybox roots, each with its own package database
# and a server listening), crawled through `crawl --sink sqlite:PATH`.
# Every answer is computed independently with jq from the crawl's own
# output (and dpkg --compare-versions for dpkg's ordering); a bad query's
# error points at the bad token with exit status 2; the API's answer is the
# CLI's; the answers are bounded.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
T=s$$
DB=$TMP/store.db
FEATURES=os,process,connection,package

mk_busybox_root "$TMP/base" >/dev/null || { not_ok "busybox root"; exit 1; }
for c in a b c; do cp -a "$TMP/base" "$TMP/$c"; done
dpkg_pkg() { # NAME VERSION
	printf 'Package: %s\nStatus: install ok installed\nArchitecture: amd64\nVersion: %s\nInstalled-Size: 100\n\n' "$1" "$2"
}
mkdir -p "$TMP/a/var/lib/dpkg" "$TMP/b/var/lib/dpkg" "$TMP/c/lib/apk/db"
{ dpkg_pkg openssl 3.0.11-1~deb12u2; dpkg_pkg curl 7.88.1-10+deb12u5; dpkg_pkg "zz-$T" 1.0; } >"$TMP/a/var/lib/dpkg/status"
{ dpkg_pkg openssl 3.0.15-1~deb12u1; dpkg_pkg libc6 2.36-9; } >"$TMP/b/var/lib/dpkg/status"
printf 'P:openssl\nV:3.0.14-r0\nA:x86_64\nI:1000\n\nP:curl\nV:8.5.0-r0\nA:x86_64\nI:500\n\n' >"$TMP/c/lib/apk/db/installed"

for c in a b c; do
	port=$((7100 + $(printf '%d' "'$c")))
	start_unshare_container $T-$c "$TMP/$c" "httpd -f -p $port -h /tmp" >/dev/null ||
		{ not_ok "start container $c"; exit 1; }
done
wait_for 10 sh -c "[ \$(grep -ls 'httpd' /proc/[0-9]*/cmdline | wc -l) -ge 3 ]"

$VANTAGE crawl --host -c $T-a -c $T-b -c $T-c -f $FEATURES --sink "sqlite:$DB" -o "$TMP/crawl.jsonl" 2>"$TMP/crawl.err"
check "the host and three containers are crawled into the store" \
	test "$(jq -s '[.[] | select(.feature == "frame")] | length' "$TMP/crawl.jsonl")" = 4
jq -c 'select(.feature != "frame" and .feature != "metric")' "$TMP/crawl.jsonl" >"$TMP/records.jsonl"

# search QUERY: the answer as sorted "system feature key" lines
search() { $VANTAGE search --db "$DB" --json --limit 100000 "$@"; }
pairs() { jq -r '.results[] | "\(.system) \(.feature) \(.key)"' | sort; }
# expect DESC QUERY JQ_FILTER: the filter selects crawl records (one a line)
expect() {
	local desc=$1 q=$2 f=$3
	search "$q" >"$TMP/got.json" 2>"$TMP/got.err"
	pairs <"$TMP/got.json" >"$TMP/got.txt"
	jq -r "select($f) | \"\(.system) \(.feature) \(.key)\"" "$TMP/records.jsonl" | sort >"$TMP/want.txt"
	if [ -s "$TMP/want.txt" ] && cmp -s "$TMP/got.txt" "$TMP/want.txt"; then
		ok "$desc: $(wc -l <"$TMP/want.txt") results as jq finds them"
	else
		not_ok "$desc ($q)"
		diff "$TMP/want.txt" "$TMP/got.txt" | sed 's/^/# /' | head -20
		sed 's/^/# /' "$TMP/got.err"
	fi
}

expect "field selector" 'package name=openssl' '.feature == "package" and .value.name == "openssl"'
expect "two conditions on one record" "connection state=LISTEN local_port=$((7100 + 97))" \
	".feature == \"connection\" and .value.state == \"LISTEN\" and .value.local_port == $((7100 + 97))"
expect "contains, any case" 'process cmdline~HTTPD' \
	'.feature == "process" and (.value.cmdline // "" | ascii_downcase | contains("httpd"))'
expect "regex (it runs to the next space)" 'process cmdline~/^httpd.-f.-p.71[0-9]+/' \
	'.feature == "process" and (.value.cmdline // "" | test("^httpd.-f.-p.71[0-9]+"))'
expect "in a list" 'package name in (curl, libc6)' \
	'.feature == "package" and (.value.name == "curl" or .value.name == "libc6")'
expect "a bare word over keys and values" "zz-$T" \
	"(.key | ascii_downcase | contains(\"zz-$T\")) or ([.value | .. | scalars | tostring | ascii_downcase | contains(\"zz-$T\")] | any)"
# systems with both packages, and the records that made them match
both=$(jq -r 'select(.feature == "package" and (.value.name == "openssl" or .value.name == "curl")) | "\(.system) \(.value.name)"' \
	"$TMP/records.jsonl" | sort -u | awk '{n[$1]++} END {for (s in n) if (n[s] == 2) print s}' | sort)
expect "has A and has B: systems that have both" 'has package name=openssl and has package name=curl' \
	"(.feature == \"package\" and (.value.name == \"openssl\" or .value.name == \"curl\")) and
	 (.system as \$s | [\"$(echo $both | sed 's/ /","/g')\"] | index(\$s) != null)"
expect "not" "process cmdline~httpd and not has package name=libc6" \
	".feature == \"process\" and (.value.cmdline // \"\" | contains(\"httpd\")) and
	 (.system as \$s | [$(jq -r 'select(.feature == "package" and .value.name == "libc6") | .system' "$TMP/records.jsonl" | sed 's/.*/"&"/' | paste -sd,)] | index(\$s) == null)"

# versions by each manager's ordering: dpkg's through dpkg itself
dpkg_lt=$(jq -r 'select(.feature == "package" and .value.name == "openssl" and .value.manager == "dpkg") | "\(.system) \(.value.version)"' \
	"$TMP/records.jsonl" | while read -r s v; do dpkg --compare-versions "$v" lt 3.0.14 && echo "$s"; done | sort)
search 'package name=openssl version<3.0.14' | jq -r '.results[].system' | sort >"$TMP/got.txt"
check_eq "dpkg versions below 3.0.14 as dpkg orders them (a: 3.0.11-1~deb12u2)" "$dpkg_lt" "$(cat "$TMP/got.txt")"
asys=$(jq -r "select(.feature == \"frame\" and .value.name == \"$T-a\") | .system" "$TMP/crawl.jsonl")
check "container a (3.0.11-1~deb12u2) is among them" grep -qx "$asys" "$TMP/got.txt"
csys=$(jq -r "select(.feature == \"frame\" and .value.name == \"$T-c\") | .system" "$TMP/crawl.jsonl")
check "apk: 3.0.14-r0 < 3.0.14-r1 but not < 3.0.14" sh -c \
	"search() { $VANTAGE search --db '$DB' --json \"\$@\"; }
	 search 'package manager=apk name=openssl version<3.0.14-r1' | jq -e '.results | length == 1 and .[0].system == \"$csys\"' >/dev/null &&
	 search 'package manager=apk name=openssl version<3.0.14' | jq -e '.results == []' >/dev/null"

# a bad query: the column of the bad token, a caret under it, exit 2
$VANTAGE search --db "$DB" 'package name=openssl version<' >/dev/null 2>"$TMP/bad.err"
rc=$?
check_eq "a bad query exits 2" 2 "$rc"
check "the error names column 29 and puts the caret under the '<'" sh -c \
	"grep -q 'column 29' '$TMP/bad.err' && [ \"\$(sed -n 3p '$TMP/bad.err')\" = '                              ^' ]"
sed 's/^/# /' "$TMP/bad.err"
$VANTAGE search --db "$DB" '(package name=a' >/dev/null 2>&1
check_eq "an unclosed parenthesis exits 2" 2 "$?"

# bounded: --limit, the total still counted
search 'package' >"$TMP/all.json"
n=$(jq -s '[.[] | select(.feature == "package")] | length' "$TMP/records.jsonl")
$VANTAGE search --db "$DB" --json --limit 2 package >"$TMP/lim.json"
check "--limit 2: two results, truncated, total $n as jq counts" \
	jq -e ".results | length == 2" "$TMP/lim.json"
check_eq "the total is every package record" "$n" "$(jq .total "$TMP/lim.json")"
check_eq "truncated" true "$(jq .truncated "$TMP/lim.json")"
check "the index reports its size and the per-frame size" \
	jq -e '.index.bytes > 0 and .index.per_frame_bytes > 0 and .index.systems == 4' "$TMP/lim.json"
$VANTAGE search --db "$DB" --stats >"$TMP/stats.txt" 2>&1
check "--stats prints the index bytes" grep -q 'index bytes: [0-9]' "$TMP/stats.txt"
sed 's/^/# /' "$TMP/stats.txt"

# the API answers what the CLI answers
port=$(free_port)
$VANTAGE api --db "$DB" --listen 127.0.0.1:$port >"$TMP/api.log" 2>&1 &
apipid=$!
on_exit "kill $apipid 2>/dev/null"
wait_for 10 curl -fs "http://127.0.0.1:$port/api/v1/health" -o /dev/null
for q in 'package name=openssl version<3.0.14' 'has package name=openssl and has package name=curl' 'httpd'; do
	enc=$(jq -rn --arg q "$q" '$q | @uri')
	curl -s "http://127.0.0.1:$port/api/v1/search?q=$enc" >"$TMP/api.json"
	$VANTAGE search --db "$DB" --json "$q" >"$TMP/cli.json"
	check "the API's answer is the CLI's: $q" cmp -s "$TMP/api.json" "$TMP/cli.json"
done
code=$(curl -s -o "$TMP/api_bad.json" -w '%{http_code}' "http://127.0.0.1:$port/api/v1/search?q=package%20name%3D")
check "the API: a bad query is a 400 with the column" sh -c \
	"[ $code = 400 ] && jq -e '.column == 13 and .parameter == \"q\"' '$TMP/api_bad.json' >/dev/null"
kill $apipid 2>/dev/null
wait $apipid 2>/dev/null
