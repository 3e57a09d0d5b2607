#!/usr/bin/env python3
"""sflow_send.py - send sFlow datagrams to a collector, for the tests and
the bench (stdlib only; decoding by sflow_decode.py, not by Vantage).

  sflow_send.py replay PCAP HOST:PORT [--gap S]   the capture's UDP payloads
  sflow_send.py expect PCAP                       what a collector should store
                                                  from them (JSON, see below)
  sflow_send.py garbage HOST:PORT [--seed N]      bad datagrams; prints JSON
                                                  {"sent", "rejected"} as
                                                  sflow_decode.py judges them
  sflow_send.py flood PCAP HOST:PORT --rate R --seconds S
                                                  the capture's first datagram
                                                  R times a second, sequence
                                                  numbers and uptime advancing;
                                                  prints {"sent", "seconds"}
  sflow_send.py agents HOST:PORT --agents N --seconds S [--rate R]
                                                  N simulated agents, each a
                                                  host-counter datagram every
                                                  second (R: per second, all)

"expect" gives, for the capture's host (the last datagram, and the last two
for rates, as metric.c's fields would read them): memory_used_pct,
memory_total_kb, cpu_busy_pct, cpu_points (samples with a rate: two in a row
whose uptime and CPU time advanced), load1, datagrams, uuid, agent.
"""

import argparse
import json
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sflow_decode  # noqa: E402


def target(spec):
    host, _, port = spec.rpartition(":")
    return (host.strip("[]") or "127.0.0.1", int(port))


def payloads(pcap):
    return [p for _ts, p in sflow_decode.pcap_udp_payloads(pcap)]


def sock_for(addr):
    s = socket.socket(socket.AF_INET6 if ":" in addr[0] else socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    return s


def records(d):
    out = {}
    for s in d.get("samples", []):
        for r in s.get("records", []):
            if "data" in r:
                out[r["type"]] = r["data"]
    return out


def pct(part, whole):
    return 100.0 * part / whole if whole else 0.0


def expect(pcap):
    ds = [sflow_decode.decode_datagram(p) for p in payloads(pcap)]
    ok = [d for d in ds if not d["errors"]]
    last = records(ok[-1])
    m = last["host_memory"]
    total = m["mem_total"] // 1024
    avail = min(total, m["mem_free"] // 1024 + m["mem_buffers"] // 1024 + m["mem_cached"] // 1024)
    names = ["cpu_user", "cpu_nice", "cpu_system", "cpu_idle", "cpu_wio", "cpu_intr", "cpu_sintr", "cpu_steal"]
    points, busy = 0, None
    for a, b in zip(ok, ok[1:]):
        ra, rb = records(a)["host_cpu"], records(b)["host_cpu"]
        if b["uptime_ms"] <= a["uptime_ms"]:
            continue
        d = [(rb[n] - ra[n]) % (1 << 32) for n in names]
        if sum(d) == 0:
            continue
        points += 1
        busy = 100.0 - pct(d[3] + d[4], sum(d))
    descr = last["host_descr"]
    return {
        "datagrams": len(ok),
        "agent": ok[-1]["agent"]["addr"],
        "uuid": descr["uuid"],
        "hostname": descr["hostname"],
        "memory_total_kb": total,
        "memory_used_pct": round(pct(total - avail, total), 2),
        "cpu_busy_pct": round(busy, 2),
        "cpu_points": points,
        "load1": round(last["host_cpu"]["load_one"], 2),
        "disk_reads_last": last["host_disk_io"]["reads"],
    }


def replay(pcap, addr, gap):
    s = sock_for(addr)
    n = 0
    for p in payloads(pcap):
        s.sendto(p, addr)
        n += 1
        if gap:
            time.sleep(gap)
    print(json.dumps({"sent": n}))


def garbage(addr, seed, pcap):
    rnd = random.Random(seed)
    good = payloads(pcap)[0]
    sent, rejected = 0, 0
    s = sock_for(addr)
    out = []
    for _ in range(500):  # random bytes
        out.append(bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 1500))))
    for _ in range(100):  # another version
        out.append(struct.pack(">I", rnd.choice([1, 2, 4, 6, 0xffffffff])) + good[4:])
    for _ in range(100):  # truncated
        out.append(good[:rnd.randrange(0, len(good))])
    for _ in range(100):  # a lying sample length
        b = bytearray(good)
        struct.pack_into(">I", b, 32, rnd.randrange(len(good), 1 << 32))
        out.append(bytes(b))
    for _ in range(100):  # a lying record length (the first record's)
        b = bytearray(good)
        struct.pack_into(">I", b, 28 + 8 + 16 + 4, rnd.randrange(700, 1 << 32))
        out.append(bytes(b))
    for _ in range(50):  # a vendor's enterprise on the sample: skipped, not rejected
        b = bytearray(good)
        struct.pack_into(">I", b, 28, (rnd.randrange(1, 1 << 20) << 12) | 4)
        out.append(bytes(b))
    for d in out:
        s.sendto(d, addr)
        sent += 1
        if sflow_decode.decode_datagram(d)["errors"]:
            rejected += 1
        if sent % 100 == 0:
            time.sleep(0.01)  # not a flood: every one should be read
    print(json.dumps({"sent": sent, "rejected": rejected}))


def flood(pcap, addr, rate, seconds):
    good = bytearray(payloads(pcap)[0])
    s = sock_for(addr)
    t0 = time.time()
    i = 0
    while time.time() - t0 < seconds:
        for _ in range(rate // 100):  # 10 ms worth
            seq = 1000 + i
            struct.pack_into(">II", good, 16, seq, 100000 + i * 10)
            struct.pack_into(">I", good, 36, seq)
            s.sendto(good, addr)
            i += 1
        late = t0 + i / rate - time.time()
        if late > 0:
            time.sleep(late)
    print(json.dumps({"sent": i, "seconds": round(time.time() - t0, 3)}))


def agents(addr, n, seconds, pcap):
    """n agents (10.x.y.z), each one host datagram a second, sequence and
    uptime advancing and the CPU counters moving so rates are real."""
    base = bytearray(payloads(pcap)[0])
    cpu = base.find(struct.pack(">II", 2003, 80)) + 8 + 32  # cpu_user
    s = sock_for(addr)
    t0 = time.time()
    sent = 0
    for sec in range(seconds):
        for a in range(n):
            b = bytearray(base)
            ip = bytes([10, (a >> 16) & 255, (a >> 8) & 255, a & 255])
            b[8:12] = ip
            seq = sec + 1
            struct.pack_into(">II", b, 16, seq, 1000 * (sec + 1))
            struct.pack_into(">I", b, 36, seq)
            user, nice, system, idle = struct.unpack_from(">IIII", b, cpu)
            struct.pack_into(">IIII", b, cpu, user + sec * 300, nice, system + sec * 100,
                             idle + sec * 600)
            sent += 1
            s.sendto(bytes(b), addr)
        nxt = t0 + sec + 1
        while time.time() < nxt:
            time.sleep(min(0.05, max(0.0, nxt - time.time())))
    print(json.dumps({"sent": sent, "seconds": round(time.time() - t0, 3)}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("replay")
    p.add_argument("pcap")
    p.add_argument("target")
    p.add_argument("--gap", type=float, default=0.0)
    p = sub.add_parser("expect")
    p.add_argument("pcap")
    p = sub.add_parser("garbage")
    p.add_argument("target")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pcap", default=os.path.join(os.path.dirname(__file__), "hsflowd-host-1s.pcap"))
    p = sub.add_parser("flood")
    p.add_argument("pcap")
    p.add_argument("target")
    p.add_argument("--rate", type=int, default=50000)
    p.add_argument("--seconds", type=float, default=4)
    p = sub.add_parser("agents")
    p.add_argument("target")
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--pcap", default=os.path.join(os.path.dirname(__file__), "hsflowd-host-1s.pcap"))
    a = ap.parse_args()
    if a.cmd == "replay":
        replay(a.pcap, target(a.target), a.gap)
    elif a.cmd == "expect":
        print(json.dumps(expect(a.pcap)))
    elif a.cmd == "garbage":
        garbage(target(a.target), a.seed, a.pcap)
    elif a.cmd == "flood":
        flood(a.pcap, target(a.target), a.rate, a.seconds)
    elif a.cmd == "agents":
        agents(target(a.target), a.agents, a.seconds, a.pcap)


if __name__ == "__main__":
    main()
