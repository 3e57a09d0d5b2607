#!/usr/bin/env bash
# Integration test: the `connection` feature on the live host.
#
# A tiny C program (compiled here), run as `a b) (c`, opens on loopback:
# a TCP listener on a free port, a UDP socket (unconnected), a connected
# UDP socket, an IPv6 TCP listener on ::1, and a connection to itself that
# it closes (its client end stays in TIME_WAIT, with no inode and no
# owner).  A second copy, `vt-client`, connects to the listener and holds
# the connection.  Then `vantage crawl --features connection` must show
# every one with the right fields and owners, and the whole TCP and UDP
# lists must agree with `ss -tan` / `ss -uan` taken right before and
# after (sockets that changed in between are allowed), and the owners of
# listening sockets with `ss -tlnp`.
source "$(dirname "$0")/lib.sh"

jqt() { jq -e "$@" >/dev/null; }

cat >"$TMP/sockets.c" <<'EOF'
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0)
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

static int sock4(int type, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, type, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		exit(1);
	return fd;
}

static void connect4(int fd, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		exit(2);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "connect") == 0) {	/* the client */
		int c = socket(AF_INET, SOCK_STREAM, 0);

		connect4(c, atoi(argv[2]));
		printf("%d\n", port_of(c));
		fflush(stdout);
		for (;;)
			pause();
	}
	int l = sock4(SOCK_STREAM, 0), u = sock4(SOCK_DGRAM, 0), uc = sock4(SOCK_DGRAM, 0);
	int tw = socket(AF_INET, SOCK_STREAM, 0), l6 = socket(AF_INET6, SOCK_STREAM, 0), p6 = 0;
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};

	listen(l, 16);
	connect4(uc, port_of(u));
	if (l6 >= 0 && bind(l6, (struct sockaddr *)&a6, sizeof(a6)) == 0 && listen(l6, 4) == 0)
		p6 = port_of(l6);
	/* a connection closed by its client first: the client end goes
	 * to TIME_WAIT */
	connect4(tw, port_of(l));
	int twport = port_of(tw), acc = accept(l, NULL, NULL);
	close(tw);
	usleep(20000);
	close(acc);
	printf("%d %d %d %d %d %d\n", port_of(l), port_of(u), port_of(uc), p6, twport, port_of(uc));
	fflush(stdout);
	for (;;) {
		int c = accept(l, NULL, NULL);	/* accepted ends stay open */
		if (c < 0)
			pause();
	}
}
EOF
SERVER="$TMP/a b) (c"
CLIENT="$TMP/vt-client"
if ! cc -O1 -o "$SERVER" "$TMP/sockets.c" 2>"$TMP/cc.err"; then
	not_ok "compile the socket program"; cat "$TMP/cc.err"; exit 1
fi
cp "$SERVER" "$CLIENT"

"$SERVER" >"$TMP/ports" 2>/dev/null </dev/null &
srv=$!
on_exit "kill $srv"
for _ in $(seq 100); do [ -s "$TMP/ports" ] && break; sleep 0.05; done
read -r port uport ucport p6 twport _ <"$TMP/ports"
check "server started (ports: ${port:-none})" [ -n "${port:-}" ]
"$CLIENT" connect "$port" >"$TMP/cport" 2>/dev/null </dev/null &
cli=$!
on_exit "kill $cli"
for _ in $(seq 100); do [ -s "$TMP/cport" ] && break; sleep 0.05; done
read -r cport <"$TMP/cport"
check "client connected (port ${cport:-none})" [ -n "${cport:-}" ]

# ---- crawl, with ss right before and after ------------------------------
ss -Htan >"$TMP/ss_t1"; ss -Huan >"$TMP/ss_u1"; ss -Htlnp >"$TMP/ss_p1"
out=$TMP/out.json
$VANTAGE crawl --features connection >"$out" 2>"$TMP/err"
check_eq "crawl exits 0" 0 $?
ss -Htan >"$TMP/ss_t2"; ss -Huan >"$TMP/ss_u2"; ss -Htlnp >"$TMP/ss_p2"

check_eq "header lists the connection feature" '["connection"]' "$(head -1 "$out" | jq -c .value.features)"
check "every line is one record with the five keys" \
	jqt -s 'all(keys == ["feature","key","system","time","value"])' "$out"
check "every record has every field (and a connected TCP socket its tcp_info counters)" jqt -s '[.[1:][] | .value] |
	all((keys - ["bytes_acked","bytes_received","retrans","rtt_us"]) == (["comm","family","inode","local_addr","local_port","pid","proto","remote_addr","remote_port","state","uid"])) and
	all(select(.proto == "tcp" and .remote_port != 0) | has("bytes_acked") and has("rtt_us"))' "$out"
recs=$TMP/recs.json
tail -n +2 "$out" | jq -s '[.[] | select(.feature == "connection")]' >"$recs"
# rec KEY: the value of the record with that key
rec() { jq -c --arg k "$1" '[.[] | select(.key == $k) | .value][0]' "$recs"; }

# ---- the listener ---------------------------------------------------------
l=$(rec "tcp/127.0.0.1/$port")
check "listener record keyed tcp/127.0.0.1/$port" [ "$l" != null ]
check_eq "listener state" LISTEN "$(jq -r .state <<<"$l")"
check_eq "listener pid is the server's" "$srv" "$(jq -r .pid <<<"$l")"
check_eq "listener comm" "a b) (c" "$(jq -r .comm <<<"$l")"
check_eq "listener proto/family" "tcp ipv4" "$(jq -r '"\(.proto) \(.family)"' <<<"$l")"
check_eq "listener local port is a number" number "$(jq -r '.local_port | type' <<<"$l")"
check_eq "listener remote end" "0.0.0.0 0" "$(jq -r '"\(.remote_addr) \(.remote_port)"' <<<"$l")"
check_eq "listener uid" "$(id -u)" "$(jq -r .uid <<<"$l")"
ino=$(grep -E "127\.0\.0\.1:$port\b" "$TMP/ss_p1" >/dev/null && ss -Htlne "sport = :$port" | grep -o 'ino:[0-9]*' | head -1 | cut -d: -f2)
check_eq "listener inode matches ss" "${ino:-?}" "$(jq -r .inode <<<"$l")"

# ---- the established connection, both ends --------------------------------
c=$(rec "tcp/127.0.0.1/$cport/127.0.0.1/$port")
check "client end keyed tcp/127.0.0.1/$cport/127.0.0.1/$port" [ "$c" != null ]
check_eq "client end state/owner" "ESTABLISHED $cli vt-client" "$(jq -r '"\(.state) \(.pid) \(.comm)"' <<<"$c")"
s=$(rec "tcp/127.0.0.1/$port/127.0.0.1/$cport")
check "server end keyed tcp/127.0.0.1/$port/127.0.0.1/$cport" [ "$s" != null ]
check_eq "server end state/owner" "ESTABLISHED $srv a b) (c" "$(jq -r '"\(.state) \(.pid) \(.comm)"' <<<"$s")"

# ---- TIME_WAIT: no inode, no owner, not an error --------------------------
t=$(rec "tcp/127.0.0.1/$twport/127.0.0.1/$port")
check_eq "closed client end is TIME_WAIT without inode or owner" "TIME_WAIT null null null" \
	"$(jq -r '"\(.state) \(.inode) \(.pid) \(.comm)"' <<<"$t")"

# ---- UDP -------------------------------------------------------------------
u=$(rec "udp/127.0.0.1/$uport")
check_eq "unconnected UDP socket" "udp ipv4 UNCONN $srv a b) (c" \
	"$(jq -r '"\(.proto) \(.family) \(.state) \(.pid) \(.comm)"' <<<"$u")"
uc=$(rec "udp/127.0.0.1/$ucport/127.0.0.1/$uport")
check_eq "connected UDP socket" "ESTABLISHED $srv" "$(jq -r '"\(.state) \(.pid)"' <<<"$uc")"

# ---- IPv6 --------------------------------------------------------------------
if [ "${p6:-0}" != 0 ]; then
	v6=$(rec "tcp6/::1/$p6")
	check_eq "IPv6 listener on ::1" "tcp ipv6 LISTEN $srv" \
		"$(jq -r '"\(.proto) \(.family) \(.state) \(.pid)"' <<<"$v6")"
else
	ok "IPv6 listener on ::1 # SKIP no IPv6 loopback"
fi

# ---- the reference crawler's layout ----------------------------------------
$VANTAGE crawl --features connection --format crawler >"$TMP/crawler" 2>/dev/null
line=$(grep -P "^connection\t\"$srv/127\.0\.0\.1/$port\"\t" "$TMP/crawler" | head -1)
check "crawler layout keys the listener <pid>/<ip>/<port>" [ -n "$line" ]
check_eq "crawler layout fields" "127.0.0.1 $port 0.0.0.0 0 LISTEN $srv a b) (c" \
	"$(cut -f3 <<<"$line" | jq -r '"\(.localipaddr) \(.localport) \(.remoteipaddr) \(.remoteport) \(.connstatus) \(.pid) \(.pname)"')"

# ---- the whole list against ss ----------------------------------------------
# ss prints "a.b.c.d:port", "[v6]:port", "[fe80::1]%eth0:port", "*:port".
# norm_ss: "local remote STATE" per line, in our naming.
norm_ss() {
	awk '{ st = $1; l = $4; r = $5
	       gsub(/%[^:\]]*/, "", l); gsub(/%[^:\]]*/, "", r)
	       sub(/^\*:/, "[::]:", l); sub(/^\*:/, "[::]:", r)
	       if (st == "ESTAB") st = "ESTABLISHED"
	       gsub(/-/, "_", st); sub(/_1$/, "1", st); sub(/_2$/, "2", st)
	       print l, r, st }' "$1" | sort -u
}
# ours PROTO: the same from our records
ours() {
	jq -r --arg p "$1" '
		def ep(a; p): if (a | contains(":")) then "[\(a)]:\(p)" else "\(a):\(p)" end;
		def rp(a; p): if p == 0 then (if (a | contains(":")) then "[\(a)]:*" else "\(a):*" end) else ep(a; p) end;
		.[] | .value | select(.proto == $p) |
		"\(ep(.local_addr; .local_port)) \(rp(.remote_addr; .remote_port)) \(.state)"' "$recs" | sort -u
}
compare() { # proto ss1 ss2
	local p=$1 stable both mine missing n_mine n_in
	norm_ss "$2" >"$TMP/a"; norm_ss "$3" >"$TMP/b"
	ours "$p" >"$TMP/mine"
	comm -12 "$TMP/a" "$TMP/b" >"$TMP/stable"
	sort -u "$TMP/a" "$TMP/b" >"$TMP/either"
	missing=$(comm -23 "$TMP/stable" "$TMP/mine")
	check "$p: every socket ss saw before and after is ours ($(wc -l <"$TMP/stable") stable)" [ -z "$missing" ]
	[ -z "$missing" ] || sed 's/^/#   missing: /' <<<"$missing"
	n_mine=$(wc -l <"$TMP/mine")
	n_in=$(comm -12 "$TMP/mine" "$TMP/either" | wc -l)
	check "$p: our sockets are in ss ($n_in of $n_mine)" [ $((n_in * 10)) -ge $((n_mine * 9)) ]
	[ $((n_in * 10)) -ge $((n_mine * 9)) ] || comm -23 "$TMP/mine" "$TMP/either" | sed 's/^/#   extra: /'
}
compare tcp "$TMP/ss_t1" "$TMP/ss_t2"
compare udp "$TMP/ss_u1" "$TMP/ss_u2"

# ---- owners of listening sockets against ss -tlnp ---------------------------
bad=0 n=0
while read -r _ _ _ local _ users; do
	lp=${local##*:}; la=${local%:*}; la=${la#[}; la=${la%]}; la=${la%%%*}
	[ "$la" == "*" ] && la="::"
	grep -qF "$local" "$TMP/ss_p2" || continue	# changed meanwhile
	want=$(grep -o 'pid=[0-9]*' <<<"$users" | cut -d= -f2 | sort -u | tr '\n' ' ')
	got=$(jq -r --arg a "$la" --argjson p "$lp" \
		'[.[] | .value | select(.proto == "tcp" and .state == "LISTEN" and .local_addr == $a and .local_port == $p) | .pid][0] // "none"' "$recs")
	n=$((n + 1))
	if [ -z "$want" ]; then
		[ "$got" == none ] || [ "$got" == null ] || { bad=$((bad + 1)); echo "#   $local: ss no owner, ours $got"; }
	elif ! grep -qw -- "$got" <<<"$want"; then
		bad=$((bad + 1)); echo "#   $local: ss pids $want, ours $got"
	fi
done <"$TMP/ss_p1"
check "owners of $n listening sockets agree with ss -tlnp" [ "$bad" -eq 0 ]

# ---- accounting: unowned sockets are not errors -------------------------------
nerr=$(head -1 "$out" | jq '.value.errors.connection')
denied=$(head -1 "$out" | jq '[.value.messages.connection // [] | .[] | select(test("fds: Permission denied"))] | length')
check "header errors only count fd directories that denied access ($nerr errors, $denied denials)" \
	[ "$nerr" -eq "$denied" ]
