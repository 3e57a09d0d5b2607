# Secrets (issue 17): the config feature redacts well-known secrets by
# default and keeps the file's own hash; --no-config-redact keeps content;
# a secret never reaches the daemon's log or an error: the API token (wrong
# tokens sent, a reload), a PostgreSQL password in a store URL that fails.
source "$(dirname "$0")/lib.sh"

R=$TMP/root
mkdir -p "$R/etc/app"
cat >"$R/etc/app/app.conf" <<'C'
[db]
user = app
password = "Hunter2-secret"
url = postgres://app:Url-Pass-99@db:5432/app
PasswordAuthentication yes
C
cat >"$R/etc/app/id_deploy" <<'C'
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAAKeyBodyLineOne
KeyBodyLineTwo
-----END OPENSSH PRIVATE KEY-----
C
printf '{"name": "svc", "apiToken": "tok-Zq81", "x": 1}\n' >"$R/etc/app/svc.json"
printf 'GITHUB=ghp_0123456789abcdefghijABCDEFGHIJ012345\n' >"$R/etc/app/ci.env"

"$VANTAGE" crawl --root "$R" --features config --config-path /etc/app >"$TMP/on.jsonl" 2>"$TMP/on.err"
check_eq "crawl with redaction: exit 0" 0 $?
leaks=$(grep -c -e Hunter2 -e Url-Pass-99 -e KeyBodyLine -e tok-Zq81 -e ghp_0123 "$TMP/on.jsonl")
check_eq "no secret in the frames" 0 "$leaks"
cont() { jq -r --arg k "$2" 'select(.feature == "config" and .key == $k) | .value.content' "$1"; }
field() { jq -r --arg k "$2" "select(.feature == \"config\" and .key == \$k) | .value.$3" "$1"; }
check "the password's line stays, its value replaced" grep -qx 'password = "\[REDACTED\]"' <(cont "$TMP/on.jsonl" /etc/app/app.conf)
check "the URL keeps its user and host" grep -qx 'url = postgres://app:\[REDACTED\]@db:5432/app' <(cont "$TMP/on.jsonl" /etc/app/app.conf)
check "PasswordAuthentication keeps its value" grep -qx 'PasswordAuthentication yes' <(cont "$TMP/on.jsonl" /etc/app/app.conf)
check_eq "app.conf: 2 redacted" 2 "$(field "$TMP/on.jsonl" /etc/app/app.conf redacted)"
check_eq "the private key's body is one [REDACTED] line" \
	"$(printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\n[REDACTED]\n-----END OPENSSH PRIVATE KEY-----')" \
	"$(cont "$TMP/on.jsonl" /etc/app/id_deploy)"
check_eq "a JSON member (apiToken)" '{"name": "svc", "apiToken": "[REDACTED]", "x": 1}' "$(cont "$TMP/on.jsonl" /etc/app/svc.json)"
check_eq "a GitHub token by its shape" 'GITHUB=[REDACTED]' "$(cont "$TMP/on.jsonl" /etc/app/ci.env)"
check_eq "sha256 is the file's own" "$(sha256sum "$R/etc/app/app.conf" | cut -d' ' -f1)" \
	"$(field "$TMP/on.jsonl" /etc/app/app.conf sha256)"

"$VANTAGE" crawl --root "$R" --features config --config-path /etc/app --no-config-redact >"$TMP/off.jsonl" 2>/dev/null
check_eq "--no-config-redact: content as it is" "$(cat "$R/etc/app/app.conf")" "$(cont "$TMP/off.jsonl" /etc/app/app.conf)"
check_eq "--no-config-redact: no redacted field" null "$(field "$TMP/off.jsonl" /etc/app/app.conf redacted)"

# ---- the daemon's output holds no token ------------------------------------------------
tok=Tk-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$tok" >"$TMP/token"
chmod 600 "$TMP/token"
PORT=$(free_port)
printf '[api]\nlisten = 127.0.0.1:%s\ntoken_file = %s\n' "$PORT" "$TMP/token" >"$TMP/d.ini"
"$VANTAGE" serve --no-vms --no-containers --no-logs --config "$TMP/d.ini" --db "$TMP/d.db" --log-level debug \
	2>"$TMP/serve.log" &
pid=$!
on_exit "kill -9 $pid"
wait_for 20 curl -sf --max-time 3 -H "Authorization: Bearer $tok" "http://127.0.0.1:$PORT/api/v1/health" -o /dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H "Authorization: Bearer wrong-$tok" "http://127.0.0.1:$PORT/api/v1/systems")
check_eq "a wrong token is refused (401)" 401 "$code"
curl -s -o /dev/null --max-time 3 "http://127.0.0.1:$PORT/api/v1/systems?token=$tok" # a token in a URL
tok2=Tk2-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$tok2" >"$TMP/token"
kill -HUP "$pid"
wait_for 10 curl -sf --max-time 3 -H "Authorization: Bearer $tok2" "http://127.0.0.1:$PORT/api/v1/health" -o /dev/null
check "after SIGHUP the new token is in force" curl -sf --max-time 3 -H "Authorization: Bearer $tok2" "http://127.0.0.1:$PORT/api/v1/health" -o /dev/null
kill -TERM "$pid"
wait "$pid"
n=$(grep -c -e "$tok" -e "$tok2" "$TMP/serve.log")
grep -e "$tok" -e "$tok2" "$TMP/serve.log" | sed "s/^/#   leak: /"
check_eq "neither token appears in the debug log ($(wc -l <"$TMP/serve.log") lines)" 0 "$n"

# ---- a store URL's password in an error --------------------------------------------------
"$VANTAGE" systems --db "postgres://vantage:Pg-Secret-77@127.0.0.1:1/vantage" >/dev/null 2>"$TMP/pg.err"
rc=$?
check "an unreachable PostgreSQL store fails (exit $rc)" test "$rc" -ne 0
check "its error does not show the password ($(head -c 150 "$TMP/pg.err"))" sh -c "! grep -q Pg-Secret-77 '$TMP/pg.err'"
"$VANTAGE" serve --no-vms --no-containers --no-logs --listen off --db "postgres://vantage:Pg-Secret-77@127.0.0.1:1/vantage" \
	2>"$TMP/pgs.err" &
spid=$!
on_exit "kill -9 $spid"
wait_for 15 sh -c "! kill -0 $spid 2>/dev/null || grep -q . '$TMP/pgs.err'"
sleep 1 # it may say more before it exits
kill -9 "$spid" 2>/dev/null
check "serve's error about the store does not show the password" sh -c "grep -q . '$TMP/pgs.err' && ! grep -q Pg-Secret-77 '$TMP/pgs.err'"
