# HTTPS for the API (issue 17): `vantage serve` and `vantage api` with
# --tls-cert/--tls-key (libmicrohttpd over GnuTLS) against a certificate made
# here with openssl: curl verifies it, plain HTTP on the port gets no answer,
# the token is still required on an address other hosts can reach, bad files
# are refused naming the file, and the key's text never reaches a log.
source "$(dirname "$0")/lib.sh"

cd "$TMP" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
chmod 600 key.pem
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.pem -out othercert.pem -days 2 \
	-subj /CN=other 2>/dev/null
chmod 600 other.pem
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >token
chmod 600 token
keyline=$(sed -n 2p key.pem) # a line of the key's base64: must never be printed

# ---- serve over HTTPS -----------------------------------------------------------
PORT=$(free_port)
"$VANTAGE" serve --no-vms --no-containers --db "$TMP/s.db" --listen "127.0.0.1:$PORT" \
	--tls-cert cert.pem --tls-key key.pem --log-level info 2>serve.log &
pid=$!
on_exit "kill -9 $pid"
hget() { curl -sS --max-time 5 --cacert "$TMP/cert.pem" "https://127.0.0.1:$PORT$1"; }
if wait_for 20 hget /api/v1/health >health.json 2>/dev/null; then
	ok "serve: the API answers over HTTPS, the certificate verified by curl"
else
	not_ok "serve: no HTTPS answer"; sed 's/^/#   /' serve.log
fi
check "serve: health says ok" jq -e '.status == "ok"' health.json
check "serve: says https:// on stderr" grep -q "API on https://127.0.0.1:$PORT" serve.log
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$PORT/api/v1/health")
check "serve: plain HTTP on the HTTPS port gets no HTTP answer (got '$code')" [ "$code" = 000 ]
check "serve: the dashboard page over HTTPS carries its Content-Security-Policy" \
	sh -c "curl -sS -D - -o /dev/null --max-time 5 --cacert '$TMP/cert.pem' https://127.0.0.1:$PORT/ | grep -qi '^content-security-policy:'"
check "serve: /metrics over HTTPS" sh -c "curl -sS --max-time 5 --cacert '$TMP/cert.pem' https://127.0.0.1:$PORT/metrics | grep -q '^vantage_'"
ver=$(curl -sS -o /dev/null -w '%{ssl_verify_result}' --max-time 5 --cacert "$TMP/cert.pem" "https://localhost:$PORT/api/v1/health")
check_eq "serve: certificate verified for the name localhost" 0 "$ver"
kill -TERM "$pid"
wait "$pid"
check_eq "serve: SIGTERM exits 0" 0 $?
check "serve: the key's text is in no log line" sh -c "! grep -qF -- '$keyline' serve.log"

# ---- vantage api: HTTPS, and the token on a non-loopback address ----------------------
PORT=$(free_port)
"$VANTAGE" api --db "$TMP/s.db" --listen "0.0.0.0:$PORT" --tls-cert cert.pem --tls-key key.pem 2>api.err
check_eq "api: 0.0.0.0 over HTTPS without a token is still refused (exit 2)" 2 $?
check "api: the refusal says why" grep -q "without a bearer token" api.err
"$VANTAGE" api --db "$TMP/s.db" --listen "0.0.0.0:$PORT" --tls-cert cert.pem --tls-key key.pem \
	--token-file token 2>api.log &
apid=$!
on_exit "kill -9 $apid"
tok=$(cat token)
if wait_for 20 curl -sfS --max-time 5 --cacert cert.pem -H "Authorization: Bearer $tok" \
	"https://127.0.0.1:$PORT/api/v1/systems" -o systems.json 2>/dev/null; then
	ok "api: HTTPS with the bearer token answers"
else
	not_ok "api: HTTPS with the token"; sed 's/^/#   /' api.log
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert cert.pem "https://127.0.0.1:$PORT/api/v1/systems")
check_eq "api: HTTPS without the token is 401" 401 "$code"
check "api: says https:// on stderr" grep -q "listening on https://0.0.0.0:$PORT" api.log
kill -TERM "$apid"
wait "$apid"

# ---- bad files: exit 2 naming the file, before anything listens ------------------------
bad() { # DESC EXPECTED-GREP ARGS...
	local desc=$1 pat=$2
	shift 2
	"$VANTAGE" api --db "$TMP/s.db" --listen 127.0.0.1:0 "$@" 2>bad.err &
	local p=$!
	local i
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$p" 2>/dev/null; then
		kill -9 "$p"; wait "$p" 2>/dev/null
		not_ok "$desc: still running"
		return
	fi
	wait "$p"
	local rc=$?
	if [ "$rc" -ne 0 ] && grep -q -- "$pat" bad.err && ! grep -qF -- "$keyline" bad.err; then
		ok "$desc (exit $rc: $(head -c 160 bad.err | tr '\n' ' '))"
	else
		not_ok "$desc"; echo "#   exit $rc"; sed 's/^/#   /' bad.err
	fi
}
bad "a certificate without a key" "needs both" --tls-cert cert.pem
bad "a key without a certificate" "needs both" --tls-key key.pem
bad "a missing certificate file" "tls_cert $TMP/nope.pem: No such file" --tls-cert "$TMP/nope.pem" --tls-key key.pem
bad "the key given as the certificate" "no PEM certificate" --tls-cert key.pem --tls-key key.pem
bad "the certificate given as the key" "no PEM private key" --tls-cert cert.pem --tls-key cert.pem
bad "a key that is not the certificate's" "cannot start the HTTPS server" --tls-cert cert.pem --tls-key other.pem
bad "a directory as the certificate" "not a regular file" --tls-cert "$TMP" --tls-key key.pem
cp key.pem open.pem
chmod 644 open.pem
PORT=$(free_port)
"$VANTAGE" api --db "$TMP/s.db" --listen "127.0.0.1:$PORT" --tls-cert cert.pem --tls-key open.pem 2>open.log &
opid=$!
on_exit "kill -9 $opid"
wait_for 20 curl -sf --max-time 5 --cacert cert.pem "https://127.0.0.1:$PORT/api/v1/health" -o /dev/null
check "a key file others can read is warned about" grep -q "open.pem is readable by other users" open.log
kill -TERM "$opid"

# ---- the config file's [api] tls_cert / tls_key -----------------------------------------
PORT=$(free_port)
printf '[api]\nlisten = 127.0.0.1:%s\ntls_cert = %s\ntls_key = %s\n' "$PORT" "$TMP/cert.pem" "$TMP/key.pem" >tls.ini
"$VANTAGE" serve --no-vms --no-containers --config tls.ini --db "$TMP/c.db" 2>cfg.log &
cpid=$!
on_exit "kill -9 $cpid"
if wait_for 20 curl -sf --max-time 5 --cacert cert.pem "https://127.0.0.1:$PORT/api/v1/health" -o /dev/null; then
	ok "[api] tls_cert and tls_key in the config file serve HTTPS"
else
	not_ok "[api] tls_cert/tls_key"; sed 's/^/#   /' cfg.log
fi
kill -TERM "$cpid"
