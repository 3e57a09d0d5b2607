#!/usr/bin/env python3
"""sflow_sink_check.py - compare what the sFlow sink sent with the frames.

  sflow_sink_check.py FRAMES.jsonl DATAGRAMS.hex CONTAINER_NAME MTU SUB_AGENT [AGENT]

FRAMES: the frames the sink was given (a file sink beside it); DATAGRAMS:
one datagram a line in hex, as the test's receiver saved them.  Datagrams
are decoded by tests/sflow/sflow_decode.py, written independently of the
encoder.  Each host frame with metric records must have become one sample
of data source 2:1 and the container's frames samples of 3:<index>, in
order, every field equal to the frame's own figure by the mapping of
docs/sflow.md.  Prints TAP lines ("ok - ...", "not ok - ..."), and the
agent address as "# agent ADDR" for the caller.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sflow"))
import sflow_decode  # noqa: E402

M32 = 1 << 32
FLOW_ADDR = "10.253.77.2"  # the container's address in sflow_sink.sh
failed = []


def check(desc, cond, detail=""):
    if cond:
        print("ok - " + desc)
    else:
        print("not ok - " + desc)
        if detail:
            print("#   " + str(detail)[:2000])
        failed.append(desc)


def fnv_index(sid):
    h = 2166136261
    for b in sid.encode():
        h ^= b
        h = (h * 16777619) & 0xFFFFFFFF
    return 2 + h % 0xFFFFFE


def read_frames(path):
    """[(system id, kind, name, {key: value} of metric records, os value, [interfaces])]"""
    frames, cur = [], None
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["feature"] == "frame":
                v = r["value"]
                cur = {"id": r["system"], "kind": v.get("kind"), "name": v.get("name"),
                       "metric": {}, "os": None, "ifs": []}
                frames.append(cur)
            elif cur is not None and r["system"] == cur["id"]:
                if r["feature"] == "metric":
                    cur["metric"][r["key"]] = r["value"]
                elif r["feature"] == "os":
                    cur["os"] = r["value"]
                elif r["feature"] == "interface":
                    cur["ifs"].append(r["value"])
    return frames


WHOLE = re.compile(r"^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+|nvme\d+n\d+|mmcblk\d+)$")
PSEUDO = {"tmpfs", "devtmpfs", "ramfs", "overlay", "squashfs", "nsfs", "autofs"}


def net_sum(m, loop):
    s = [0] * 8
    names = ["rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
             "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"]
    for k, v in m.items():
        if k.startswith("net:") and k[4:] not in loop:
            for i, n in enumerate(names):
                s[i] += v.get(n, 0)
    return {"bytes_in": s[0], "pkts_in": s[1] % M32, "errs_in": s[2] % M32,
            "drops_in": s[3] % M32, "bytes_out": s[4], "pkts_out": s[5] % M32,
            "errs_out": s[6] % M32, "drops_out": s[7] % M32}


def host_expect(fr, loop):
    m, e = fr["metric"], {}
    mem = m.get("memory")
    if mem:
        e["host_memory"] = {"mem_total": mem["total_kb"] * 1024, "mem_free": mem["free_kb"] * 1024,
                            "mem_buffers": mem.get("buffers_kb", 0) * 1024,
                            "mem_cached": mem.get("cached_kb", 0) * 1024,
                            "swap_total": mem.get("swap_total_kb", 0) * 1024,
                            "swap_free": mem.get("swap_free_kb", 0) * 1024}
    devs, tot, free, mx = set(), 0, 0, 0.0
    for k, v in m.items():
        if k.startswith("disk:") and v.get("fstype") not in PSEUDO and v["device"] not in devs:
            devs.add(v["device"])
            tot += v["size_bytes"]
            free += v["avail_bytes"]
            mx = max(mx, v["used_pct"])
    io = {"reads": 0, "writes": 0, "read_bytes": 0, "write_bytes": 0, "read_ms": 0, "write_ms": 0}
    for k, v in m.items():
        if k.startswith("diskio:") and WHOLE.match(k[7:]):
            for n in io:
                io[n] += v[n]
    e["host_disk_io"] = {"disk_total": tot, "disk_free": free, "part_max_used": round(mx * 100),
                         "reads": io["reads"] % M32, "bytes_read": io["read_bytes"],
                         "read_time": io["read_ms"] % M32, "writes": io["writes"] % M32,
                         "bytes_written": io["write_bytes"], "write_time": io["write_ms"] % M32}
    e["host_net_io"] = net_sum(m, loop)
    return e


def main():
    frames_path, dg_path, ct_name, mtu, sub_agent = sys.argv[1:6]
    want_agent = sys.argv[6] if len(sys.argv) > 6 else None
    mtu, sub_agent = int(mtu), int(sub_agent)
    frames = read_frames(frames_path)
    dgs = []
    with open(dg_path) as f:
        for line in f:
            line = line.strip()
            if line:
                dgs.append(sflow_decode.decode_datagram(bytes.fromhex(line)))
    check("datagrams received (%d)" % len(dgs), len(dgs) > 0)
    if not dgs:
        return
    errs = [(d["seq"], d["errors"]) for d in dgs if d["errors"]]
    check("the independent decoder reads every datagram without an error", not errs, errs)
    check("every datagram is within the MTU (%d; largest %d)" % (mtu, max(d["length"] for d in dgs)),
          all(d["length"] <= mtu for d in dgs))
    seqs = [d["seq"] for d in dgs]
    check("datagram sequence numbers are 1, 2, ... %d" % len(dgs), seqs == list(range(1, len(dgs) + 1)),
          seqs)
    agents = {(d["agent"]["addr"], d["sub_agent"]) for d in dgs}
    check("one agent and sub-agent %d in every datagram (%s)" % (sub_agent, agents),
          len(agents) == 1 and list(agents)[0][1] == sub_agent)
    agent = list(agents)[0][0]
    if want_agent:
        check("the agent address is the one before (%s)" % want_agent, agent == want_agent)
    print("# agent %s" % agent)
    up = [d["uptime_ms"] for d in dgs]
    check("uptime never goes back", all(a <= b for a, b in zip(up, up[1:])), up)

    samples = {}
    for d in dgs:
        for s in d["samples"]:
            if s.get("type") != "counters":
                continue
            samples.setdefault((s["ds_class"], s["ds_index"]), []).append(s)
    for ds, ss in samples.items():
        q = [s["seq"] for s in ss]
        if q != list(range(1, len(q) + 1)):
            check("sample sequence of data source %d:%d is 1, 2, ..." % ds, False, q)
            break
    else:
        check("each of the %d data sources numbers its samples 1, 2, ..." % len(samples), True)

    rate = int(os.environ.get("FLOW_RATE", "0"))
    if rate:  # packets sampled on the host's end of the container's veth
        flows = {}
        for d in dgs:
            for s in d["samples"]:
                if s.get("type") == "flow":
                    flows.setdefault((s["ds_class"], s["ds_index"]), []).append(s)
        n = sum(len(v) for v in flows.values())
        check("flow samples arrived (%d, data sources %s)" % (n, sorted(flows)), n > 0)
        seq_ok = all([s["seq"] for s in v] == list(range(1, len(v) + 1)) for v in flows.values())
        check("each data source numbers its flow samples 1, 2, ... (apart from its counter samples)", seq_ok)
        bad, ours = [], 0
        for v in flows.values():
            for s in v:
                hdr = [r for r in s["records"] if r.get("type") == "sampled_header"]
                pk = hdr[0]["data"].get("decoded", {}) if hdr else {}
                if s["sampling_rate"] != rate or not hdr or hdr[0]["data"]["header_protocol"] != 1:
                    bad.append(s)
                elif "." in pk.get("src_ip", ""):  # IPv4 on that veth: the container's traffic
                    if FLOW_ADDR in (pk["src_ip"], pk["dst_ip"]):
                        ours += 1
                    else:
                        bad.append(pk)
        check("every flow sample: 1 in %d, a sampled Ethernet header; its IPv4 packets (%d) to or from %s"
              % (rate, ours, FLOW_ADDR), not bad and ours > 0, bad[:2])

    def recs(s):
        return {r["type"]: r["data"] for r in s["records"]}

    # ---- the host
    hframes = [f for f in frames if f["kind"] == "host" and f["metric"]]
    hs = samples.get((2, 1), [])
    check("one host sample (2:1) per host frame with metrics (%d, %d)" % (len(hframes), len(hs)),
          len(hframes) == len(hs) and hs)
    os_v = next((f["os"] for f in frames if f["kind"] == "host" and f["os"]), None)
    loop = {i["name"] for f in frames if f["kind"] == "host" for i in f["ifs"] if "loopback" in i["flags"]}
    loop.add("lo")
    bad = {"memory": [], "disk": [], "net": [], "cpu": [], "descr": []}
    prev = None
    for fr, s in zip(hframes, hs):
        r = recs(s)
        e = host_expect(fr, loop)
        for name, key in (("host_memory", "memory"), ("host_disk_io", "disk"), ("host_net_io", "net")):
            got = {k: r.get(name, {}).get(k) for k in e[name]}
            if got != e[name]:
                bad[key].append((s["seq"], got, e[name]))
        m = fr["metric"]
        cpu, ld = r.get("host_cpu", {}), m.get("load", {})
        ncpu = sum(1 for k in m if re.match(r"^cpu\d+$", k))
        c = m.get("cpu", {})
        ok = (cpu.get("cpu_num") == ncpu and abs(cpu.get("load_one", -1) - ld.get("load1", 0)) < 0.006
              and abs(cpu.get("load_fifteen", -1) - ld.get("load15", 0)) < 0.006
              and cpu.get("proc_run") == ld.get("runnable") and cpu.get("proc_total") == ld.get("tasks")
              and cpu.get("uptime") == int(ld.get("uptime_s", 0)))
        # the CPU counters advance by each share of the frame's interval
        if ok and "user_pct" in c:
            total = c["interval_s"] * 1000 * ncpu
            for f_, p_ in (("cpu_user", "user_pct"), ("cpu_system", "system_pct"),
                           ("cpu_idle", "idle_pct"), ("cpu_wio", "iowait_pct"),
                           ("cpu_nice", "nice_pct"), ("cpu_sintr", "softirq_pct")):
                base = prev[f_] if prev else 0
                delta = (cpu[f_] - base) % M32
                if abs(delta - c[p_] / 100 * total) > 2:
                    ok = False
        if not ok:
            bad["cpu"].append((s["seq"], cpu, c, ld))
        prev = cpu
        d = r.get("host_descr", {})
        if os_v and (d.get("hostname") != os_v["hostname"] or d.get("os_release") != os_v["kernel_release"]
                     or d.get("machine_type") != (3 if os_v["architecture"] == "x86_64" else d.get("machine_type"))
                     or d.get("os_name") != 2):
            bad["descr"].append((s["seq"], d))
        mid = fr["id"].split(":", 1)[1]
        if re.match(r"^[0-9a-f]{32}$", mid) and d.get("uuid", "").replace("-", "") != mid:
            bad["descr"].append((s["seq"], d.get("uuid"), mid))
    for key, what in (("memory", "host_memory: total, free, buffers, cached, swap (KiB x 1024)"),
                      ("disk", "host_disk_io: file systems by device, whole disks' I/O"),
                      ("net", "host_net_io: the interfaces' counters but loopback's"),
                      ("cpu", "host_cpu: load, tasks, CPUs, uptime; ms counters advance by each share x interval"),
                      ("descr", "host_descr: hostname, kernel release, machine type, uuid = machine-id")):
        check("every host sample's %s equal the frame's" % what, hs and not bad[key], bad[key][:2])

    # ---- the container
    cframes = [f for f in frames if f["kind"] == "container" and f["name"] == ct_name and f["metric"]]
    check("frames of container %s with metrics (%d)" % (ct_name, len(cframes)), cframes)
    if not cframes:
        return
    cid = cframes[0]["id"]
    idx = fnv_index(cid)
    cs = samples.get((3, idx), [])
    check("one sample of data source 3:%d (FNV-1a of %s) per container frame (%d, %d)"
          % (idx, cid, len(cframes), len(cs)), len(cs) == len(cframes))
    bad = []
    cloop = {i["name"] for f in frames if f["id"] == cid for i in f["ifs"] if "loopback" in i["flags"]}
    cloop.add("lo")
    for fr, s in zip(cframes, cs):
        r, m = recs(s), fr["metric"]
        mem, cg = m.get("memory", {}), m.get("cgroup", {})
        want = {
            "host_descr.hostname": ct_name,
            "host_parent": {"container_type": 2, "container_index": 1},
            "virt_cpu.state": 1,
            "virt_cpu.cpuTime": (cg.get("cpu_usage_ns", 0) // 1000000) % M32,
            "virt_memory": {"memory": mem.get("used_kb", 0) * 1024, "maxMemory": mem.get("total_kb", 0) * 1024},
            "virt_net_io": net_sum(m, cloop),
            "virt_disk_io.capacity": m.get("disk:/", {}).get("size_bytes", 0),
            "virt_disk_io.available": m.get("disk:/", {}).get("avail_bytes", 0),
            "virt_disk_io.rd_bytes": cg.get("io_read_bytes", 0),
            "virt_disk_io.wr_bytes": cg.get("io_write_bytes", 0),
        }
        for k, v in want.items():
            rec, _, field = k.partition(".")
            got = r.get(rec)
            if field and got is not None:
                got = got.get(field)
            if got != v:
                bad.append((s["seq"], k, got, v))
    check("every container sample: host_descr (its name), host_parent 2:1, virt_cpu (cgroup CPU ms), "
          "virt_memory (used, limit), virt_disk_io (root fs, cgroup I/O), virt_net_io equal the frame's",
          not bad, bad[:3])
    nb = [x for x in (recs(s).get("virt_net_io", {}).get("bytes_in", 0) for s in cs)]
    check("the container's interface carried traffic (virt_net_io bytes_in %s)" % nb[-1:], nb and nb[-1] > 0)
    if len(hs) > 1:  # a crawl sends the host's sample before it saw a guest
        vn = [recs(s).get("virt_node") for s in hs if "virt_node" in recs(s)]
        check("the host's samples carry virt_node once guests were seen (%d of %d)" % (len(vn), len(hs)),
              vn and all(v["num_domains"] >= 1 for v in vn) and "virt_node" in recs(hs[-1]))


if __name__ == "__main__":
    main()
    sys.exit(1 if failed else 0)
