#!/usr/bin/env python3
"""Hold N established loopback TCP connections, both ends open (2N sockets),
used by load_smoke.sh and bench/sockets50k.

    hold_sockets.py N

Clients bound to 127.0.X.Y (the port picked at connect) connect to 8
listeners on 127.0.0.1 and are accepted by this process; raise its
descriptor limit first (2N + a few).  Prints the 8 listening ports on one
line once every connection is accepted, then sleeps until killed.
"""
import socket
import sys
import time

IP_BIND_ADDRESS_NO_PORT = 24


def main():
    pairs = int(sys.argv[1])
    ls = []
    for _ in range(8):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4096)
        listener.setblocking(False)
        ls.append(listener)
    ports = [x.getsockname()[1] for x in ls]
    cs, ss = [], []

    def accept_all():
        for listener in ls:
            while True:
                try:
                    ss.append(listener.accept()[0])
                except BlockingIOError:
                    break

    for i in range(pairs):
        c = socket.socket()
        c.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        c.bind(("127.0.%d.%d" % (1 + (i // 250) % 250, 2 + i % 250), 0))
        c.connect(("127.0.0.1", ports[i % 8]))
        cs.append(c)
        if i % 8 == 7:
            accept_all()
    while len(ss) < pairs:
        accept_all()
        time.sleep(0.001)
    print(" ".join(map(str, ports)), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
