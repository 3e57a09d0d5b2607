#!/usr/bin/env bash
# Integration test: the connection feature's /proc/net path against its
# sock_diag path, on the same sockets of this host (whose kernel has
# sock_diag, so the feature itself never falls back here; the guest of
# cgroup_v2.sh is the one without).  A python program holds sockets of
# every kind the parser must decode: TCP and UDP over IPv4 and IPv6, a
# v4-mapped IPv6 connection, a connected UDP6 socket, bytes left unread, a
# TIME_WAIT end (no inode), a socket of uid 65534.  build/tests/procnet_tool
# lists the namespace's sockets through sock_diag, then /proc/thread-self/
# net (views/host/procnet.c), then sock_diag again: every procfs socket
# must be in one of the dumps, and every socket of both dumps in procfs,
# with the same addresses, ports, state, inode and uid.
source "$(dirname "$0")/lib.sh"
need_testbin procnet_tool

cat >"$TMP/socks.py" <<'EOF2'
import os, socket, sys, time
def tcp(fam, addr):
    l = socket.socket(fam); l.bind((addr, 0)); l.listen(8); return l
l6 = tcp(socket.AF_INET6, "::1")
c6 = socket.create_connection(("::1", l6.getsockname()[1])); a6, _ = l6.accept()
lany = tcp(socket.AF_INET6, "::")                      # dual stack
c4 = socket.create_connection(("127.0.0.1", lany.getsockname()[1])); a4, _ = lany.accept()
c4.send(b"x" * 1234)                                   # unread: rx_queue
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(("::1", 0))
u6.connect(("::1", 9))                                 # connected UDP6
t = socket.create_connection(("127.0.0.1", lany.getsockname()[1])); ta, _ = lany.accept()
tw = t.getsockname()[1]; t.close(); time.sleep(0.05); ta.close()   # client end: TIME_WAIT
r, w = os.pipe()                                       # the child's port
hold_r, hold_w = os.pipe()                             # the child waits on it
if os.fork() == 0:
    os.close(hold_w)
    os.setuid(65534)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    os.write(w, b"%d\n" % u.getsockname()[1]); os.close(w)
    os.read(hold_r, 1); os._exit(0)                     # EOF: the parent is gone
os.close(hold_r)
nobody = int(os.read(r, 16))
print(l6.getsockname()[1], lany.getsockname()[1], c4.getsockname()[1], u6.getsockname()[1], tw, nobody, flush=True)
sys.stdin.read()
EOF2
mkfifo "$TMP/hold"
python3 "$TMP/socks.py" <"$TMP/hold" >"$TMP/ports" 2>"$TMP/py.err" &
py=$!
exec 9>"$TMP/hold"
on_exit "exec 9>&-; kill $py"
wait_for 10 test -s "$TMP/ports"
read -r p6 pany c4 u6 tw nobody <"$TMP/ports"
check "the socket program is up (ports ${p6:-none} ${pany:-} ${u6:-} ${nobody:-})" test -n "${nobody:-}"

"$TESTBIN/procnet_tool" >"$TMP/all" 2>"$TMP/err"
check_eq "procnet_tool exits 0, nothing on stderr" "0 " "$? $(head -3 "$TMP/err")"
for s in sockdiag1 procfs sockdiag2; do
	awk -v s=$s '$1 == s { $1 = ""; print substr($0, 2) }' "$TMP/all" | sort >"$TMP/$s"
done
sort -u "$TMP/sockdiag1" "$TMP/sockdiag2" >"$TMP/either"
comm -12 "$TMP/sockdiag1" "$TMP/sockdiag2" >"$TMP/both"
check_eq "every procfs socket is one sock_diag dumped" "" "$(comm -23 "$TMP/procfs" "$TMP/either" | head -5)"
check_eq "every socket of both sock_diag dumps is in procfs" "" "$(comm -23 "$TMP/both" "$TMP/procfs" | head -5)"
check "the sockets compared: $(wc -l <"$TMP/procfs") (procfs) and $(wc -l <"$TMP/both") (both dumps)" \
	test "$(wc -l <"$TMP/both")" -ge 8

# the program's own sockets, as procfs decoded them
has() { grep -qE "$1" "$TMP/procfs"; }
check "tcp6 listener on ::1 (state 10)" has "^tcp6 ::1 $p6 :: 0 10 [1-9][0-9]* 0$"
check "tcp6 loopback connection" has "^tcp6 ::1 [0-9]+ ::1 $p6 1 [1-9]"
check "v4-mapped accepted end on the dual-stack listener" \
	has "^tcp6 ::ffff:127.0.0.1 $pany ::ffff:127.0.0.1 $c4 1 [1-9]"
check "its IPv4 client" has "^tcp 127.0.0.1 $c4 127.0.0.1 $pany 1 [1-9]"
check "connected udp6 (state 1)" has "^udp6 ::1 $u6 ::1 9 1 [1-9]"
check "TIME_WAIT end: no inode (state 6, inode 0)" has "^tcp 127.0.0.1 $tw 127.0.0.1 $pany 6 0 0$"
check "udp socket of uid 65534 (state 7)" has "^udp 127.0.0.1 $nobody 0.0.0.0 0 7 [1-9][0-9]* 65534$"
