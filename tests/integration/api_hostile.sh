#!/usr/bin/env bash
# Integration test: the API against hostile clients and operators (the
# hostile probe of issue 10).  A series request with a long metric name
# and a bad label, 3000 times, must not grow the server (the selector
# buffer was leaked: D2); 520 slow clients sending one header line every
# 2 s (slowloris, reopening what the server closes) must not lock out an
# authorized client (D3); a new [api] token, or new contents of its
# token_file, applied by SIGHUP: the old token refused, the new one let
# in, a bad one logged and the current one kept (D4); `vantage api` exits
# 2 for usage errors (D13e) and names a directory given as --token-file;
# `serve` warns on a token file other users can read (D13d).
source "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { not_ok "curl is installed (apt-get install curl)"; exit 1; }
SLOW=$(cd "$(dirname "$0")" && pwd)/slowloris.py
DB=$TMP/store.db
TOKEN=hostile-test-token-0123456789abcdef

"$VANTAGE" crawl -f os,metric -i 0.2 >"$TMP/f.jsonl" 2>"$TMP/crawl.err"
"$VANTAGE" api --db "$DB" --import "$TMP/f.jsonl" 2>"$TMP/import.err"
check_eq "a store to serve (crawl, --import)" 0 $?
HOST=$(jq -r 'select(.feature == "frame") | .value.id' "$TMP/f.jsonl")

# start_api LOG ARGS...: `vantage api` in the background; API_PID, URL
start_api() {
	local log=$1 i
	shift
	"$VANTAGE" api "$@" 2>"$log" &
	API_PID=$!
	on_exit "kill $API_PID"
	for ((i = 0; i < 100; i++)); do
		URL=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$log")
		[ -n "$URL" ] && return 0
		kill -0 "$API_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
nfd() { ls "/proc/$1/fd" | wc -l; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# ---- D2: a bad label must not leak the selector -------------------------------------------
# (its RSS is measured: the plain build, ASan's quarantine would count)
VANTAGE=${VANTAGE_PLAIN:-$VANTAGE} start_api "$TMP/api.err" --db "$DB" --listen 127.0.0.1:0
check "vantage api started" test -n "$URL"
# N requests on one keep-alive connection; prints the status codes seen
series_flood() {
	python3 - "$URL" "$HOST" "$1" <<'EOF'
import http.client, sys, urllib.parse, collections
url, host, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = urllib.parse.urlparse(url)
name = "m" * 8000
path = "/api/v1/systems/%s/metrics/%s?label=bad" % (urllib.parse.quote(host, safe=""), name)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
seen = collections.Counter()
for _ in range(n):
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    seen[r.status] += 1
print(" ".join("%d:%d" % kv for kv in sorted(seen.items())))
EOF
}
series_flood 300 >/dev/null # the allocator's arenas of every worker thread grow first
before=$(rss_kb "$API_PID")
seen=$(series_flood 3000)
after=$(rss_kb "$API_PID")
echo "# D2: RSS ${before} kB -> ${after} kB after 3000 requests with an 8000-character name and a bad label"
check_eq "3000 series requests with a bad label: all answered 400" "400:3000" "$seen"
check "... and the server's RSS grew by less than 4 MB (${before} -> ${after} kB)" \
	test $((after - before)) -lt 4096
kill "$API_PID"
wait "$API_PID" 2>/dev/null

# ---- D3: slow clients do not lock out an authorized one -------------------------------------
start_api "$TMP/slow.err" --db "$DB" --listen 127.0.0.1:0 --token "$TOKEN"
check "vantage api --token started" test -n "$URL"
PORT=${URL##*:}
# each worker thread opens its store handle on its first request: warm them
for i in $(seq 16); do code -m3 -H "Authorization: Bearer $TOKEN" "$URL/api/v1/health" >/dev/null; done
fds0=$(nfd "$API_PID")
python3 "$SLOW" 127.0.0.1 "$PORT" 520 2 14 >"$TMP/slow.out" 2>&1 &
SLOW_PID=$!
on_exit "kill $SLOW_PID"
wait_for 10 grep -q '^opened' "$TMP/slow.out"
check "520 slow clients connected ($(head -1 "$TMP/slow.out"))" grep -q '^opened 520$' "$TMP/slow.out"
sleep 3 # the point: the slow clients have sent several header lines and reopened what was closed
good=0 anon=0
for i in 1 2 3 4 5; do
	c=$(code -m3 -H "Authorization: Bearer $TOKEN" "$URL/api/v1/health")
	[ "$c" = 200 ] && good=$((good + 1))
	c=$(code -m3 "$URL/api/v1/health")
	[ "$c" = 401 ] && anon=$((anon + 1))
	sleep 0.5
done
fds1=$(nfd "$API_PID")
echo "# D3: descriptors ${fds0} before, ${fds1} under attack"
check_eq "under 520 slow clients: 5 of 5 authorized requests answered 200 within 3 s" 5 "$good"
check_eq "... and 5 of 5 requests without the token answered 401" 5 "$anon"
check "... the server holds at most 64 connections of one address (+ 16 fds: ${fds1})" \
	test "$fds1" -le $((fds0 + 64 + 16))
wait "$SLOW_PID"
check "the slow clients were closed and reopened ($(tail -1 "$TMP/slow.out"))" \
	grep -q 'reopened=[1-9]' "$TMP/slow.out"
check_eq "... and the server is still up" 200 "$(code -m3 -H "Authorization: Bearer $TOKEN" "$URL/api/v1/health")"
# (+ 6: the store handles of worker threads the warm-up missed)
wait_for 5 eval 'test "$(nfd "$API_PID")" -le $((fds0 + 6))'
check "... its descriptors back to about ${fds0} ($(nfd "$API_PID"))" test "$(nfd "$API_PID")" -le $((fds0 + 6))
kill "$API_PID"
wait "$API_PID" 2>/dev/null

# ---- D13e, D13d: `vantage api` usage errors exit 2 -----------------------------------------
"$VANTAGE" api --db "$DB" --listen 127.0.0.1:x 2>"$TMP/err"
check_eq "api: a malformed --listen exits 2" 2 $?
"$VANTAGE" api --db "$DB" --listen 0.0.0.0:0 2>"$TMP/err"
check_eq "api: a non-loopback address without a token exits 2" 2 $?
check "... saying a token is needed" grep -q "without a bearer token" "$TMP/err"
"$VANTAGE" api --db "$DB" --listen 127.0.0.1:0 --token 'has space' 2>"$TMP/err"
check_eq "api: a bad token exits 2" 2 $?
"$VANTAGE" api --db "$DB" --listen 127.0.0.1:0 --token-file "$TMP" 2>"$TMP/err"
check_eq "api --token-file DIR: refused (exit 1)" 1 $?
check "... saying it is a directory ($(cat "$TMP/err"))" grep -q "is a directory" "$TMP/err"
check "... and nothing about other users or an empty file" \
	sh -c "! grep -q -e 'other users' -e empty '$TMP/err'"

# ---- D4: SIGHUP applies a new token ------------------------------------------------------------
PORT=$(free_port)
OLD=OLD-aaaaaaaaaaaaaaaaaaaaaaaaaaaa NEW=NEW-bbbbbbbbbbbbbbbbbbbbbbbbbbbb
printf '[api]\nlisten = 127.0.0.1:%s\ntoken = %s\n[log]\nlevel = info\n' "$PORT" "$OLD" >"$TMP/t.ini"
"$VANTAGE" serve --config "$TMP/t.ini" --db "$TMP/serve.db" --no-vms --no-containers 2>"$TMP/serve.log" &
SERVE_PID=$!
on_exit "kill -9 $SERVE_PID"
U=http://127.0.0.1:$PORT/api/v1/health
wait_for 10 eval 'test "$(code -m2 -H "Authorization: Bearer $OLD" "$U")" = 200'
check_eq "serve with token OLD: OLD is let in" 200 "$(code -m2 -H "Authorization: Bearer $OLD" "$U")"
# hup PATTERN: SIGHUP, then wait for PATTERN in the log (once more than before)
hup() {
	local n pat=$1
	n=$(grep -c -- "$pat" "$TMP/serve.log")
	kill -HUP "$SERVE_PID"
	wait_for 5 eval 'test "$(grep -c -- "$pat" "$TMP/serve.log")" -gt "$n"'
}
sed -i "s/$OLD/$NEW/" "$TMP/t.ini"
hup "changed the API token"
check "SIGHUP with a new token: logged ($(grep -o 'reload: changed the API token.*' "$TMP/serve.log" | head -1))" \
	grep -q "reload: changed the API token" "$TMP/serve.log"
check "... the token is not in the log" sh -c "! grep -q -e '$OLD' -e '$NEW' '$TMP/serve.log'"
check "... no 'restart' asked for the token" sh -c "! grep -q 'token.*restart' '$TMP/serve.log'"
check_eq "... the old token is refused (401)" 401 "$(code -m2 -H "Authorization: Bearer $OLD" "$U")"
check_eq "... the new token is let in (200)" 200 "$(code -m2 -H "Authorization: Bearer $NEW" "$U")"

# token_file: the same path with new contents
T3=T3-cccccccccccccccccccccccccccc T4=T4-dddddddddddddddddddddddddddd
printf '%s\n' "$T3" >"$TMP/token"
chmod 600 "$TMP/token"
printf '[api]\nlisten = 127.0.0.1:%s\ntoken_file = %s\n[log]\nlevel = info\n' "$PORT" "$TMP/token" >"$TMP/t.ini"
hup "changed the API token"
check_eq "SIGHUP from token to token_file: its token is let in" 200 "$(code -m2 -H "Authorization: Bearer $T3" "$U")"
check_eq "... and the previous one refused" 401 "$(code -m2 -H "Authorization: Bearer $NEW" "$U")"
printf '%s\n' "$T4" >"$TMP/token"
hup "changed the API token"
check_eq "new contents of the same token_file, SIGHUP: the new token is let in" 200 \
	"$(code -m2 -H "Authorization: Bearer $T4" "$U")"
check_eq "... the old one refused" 401 "$(code -m2 -H "Authorization: Bearer $T3" "$U")"
printf 'bad token\n' >"$TMP/token"
hup "keeping the current configuration"
check "a bad token on SIGHUP: logged, the current configuration kept" \
	grep -q "reload: .*token.*keeping the current configuration" "$TMP/serve.log"
check_eq "... the current token still let in" 200 "$(code -m2 -H "Authorization: Bearer $T4" "$U")"
printf '%s\n' "$T4" >"$TMP/token"
chmod 644 "$TMP/token"
hup "reloading the configuration"
check "a token file other users can read: serve warns on SIGHUP" \
	grep -q "token file $TMP/token is readable by other users" "$TMP/serve.log"
kill "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
"$VANTAGE" serve --config "$TMP/t.ini" --db "$TMP/serve.db" --no-vms --no-containers --listen 127.0.0.1:0 \
	2>"$TMP/serve2.log" &
P2=$!
on_exit "kill -9 $P2"
wait_for 10 grep -q "API on http" "$TMP/serve2.log"
check "... and at start" grep -q "token file $TMP/token is readable by other users" "$TMP/serve2.log"
kill "$P2"
wait "$P2" 2>/dev/null
