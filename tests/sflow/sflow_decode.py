#!/usr/bin/env python3
"""sflow_decode.py - an independent sFlow version 5 decoder for the tests.

Written from the published structures, not from Vantage's C code:
  - sFlow Version 5 (sflow.org/sflow_version_5.txt): datagram, samples
    (flow 0:1, counters 0:2, expanded 0:3 / 0:4), generic_if, ethernet,
    processor, sampled_header, sampled_ethernet, sampled_ipv4/6,
    extended_switch;
  - sFlow Host Structures (sflow.org/sflow_host.txt): host_descr 2000,
    host_adapters 2001, host_parent 2002, host_cpu 2003, host_memory 2004,
    host_disk_io 2005, host_net_io 2006, mib2 ip/icmp/tcp/udp 2007-2010,
    virt_node 2100 .. virt_net_io 2104, extended_socket_ipv4/6 2100/2101
    (flow records).
Everything is XDR: big-endian, 4-byte aligned, strings and opaques a u32
length then the bytes padded to 4.

Input: classic pcap files (Ethernet, Linux cooked, raw IP or BSD loopback
link types; IPv4/IPv6 UDP), files holding one raw UDP payload, or
datagrams received on a UDP socket (--listen).  Output: one JSON object
per datagram and line (--pretty: indented), stdlib only.

  sflow_decode.py capture.pcap              decode every datagram
  sflow_decode.py --port 6343 capture.pcap  only UDP to that port
  sflow_decode.py --payloads capture.pcap   print each UDP payload as hex
  sflow_decode.py --hex HEX...              decode hex datagrams
  sflow_decode.py --listen 127.0.0.1:6343 --count 10 --timeout 5
  sflow_decode.py --strict ...              exit 1 if any datagram had errors

As a module: decode_datagram(bytes) -> dict, pcap_udp_payloads(path).
A record whose length differs from its structure's size is decoded as far
as it holds (host_cpu: 68 or 80 bytes) and noted in "errors" when it is
shorter than the structure; unknown records keep their tag and length.
"""

import argparse
import ipaddress
import json
import socket
import struct
import sys


class DecodeError(Exception):
    pass


class XDR:
    """A cursor over a bytes object; every read checks the bounds."""

    def __init__(self, data, off=0, end=None):
        self.d = data
        self.off = off
        self.end = len(data) if end is None else end

    def left(self):
        return self.end - self.off

    def need(self, n, what):
        if n < 0 or self.off + n > self.end:
            raise DecodeError("%s: need %d bytes at %d, %d left" % (what, n, self.off, self.left()))

    def u32(self, what="u32"):
        self.need(4, what)
        v = struct.unpack_from(">I", self.d, self.off)[0]
        self.off += 4
        return v

    def i32(self, what="i32"):
        self.need(4, what)
        v = struct.unpack_from(">i", self.d, self.off)[0]
        self.off += 4
        return v

    def u64(self, what="u64"):
        self.need(8, what)
        v = struct.unpack_from(">Q", self.d, self.off)[0]
        self.off += 8
        return v

    def f32(self, what="float"):
        self.need(4, what)
        v = struct.unpack_from(">f", self.d, self.off)[0]
        self.off += 4
        return round(v, 6)

    def fixed(self, n, what="opaque"):
        """n bytes then padding to 4."""
        padded = (n + 3) & ~3
        self.need(padded, what)
        v = self.d[self.off:self.off + n]
        self.off += padded
        return v

    def opaque(self, maxlen=None, what="opaque"):
        n = self.u32(what + " length")
        if maxlen is not None and n > maxlen:
            raise DecodeError("%s: length %d > %d" % (what, n, maxlen))
        return self.fixed(n, what)

    def string(self, maxlen=None, what="string"):
        return self.opaque(maxlen, what).decode("utf-8", "replace")

    def ip4(self, what="ipv4"):
        return str(ipaddress.IPv4Address(self.fixed(4, what)))

    def ip6(self, what="ipv6"):
        return str(ipaddress.IPv6Address(self.fixed(16, what)))

    def mac(self, what="mac"):
        return ":".join("%02x" % b for b in self.fixed(6, what))


def address(x):
    t = x.u32("address type")
    if t == 1:
        return {"type": 1, "addr": x.ip4()}
    if t == 2:
        return {"type": 2, "addr": x.ip6()}
    if t == 0:
        return {"type": 0, "addr": None}
    raise DecodeError("unknown address type %d" % t)


def fields(x, spec):
    """spec: list of (name, kind) read in order; kind u32/i32/u64/f32."""
    out = {}
    for name, kind in spec:
        out[name] = getattr(x, kind)(name)
    return out


def U(*names):
    return [(n, "u32") for n in names]


def Q(*names):
    return [(n, "u64") for n in names]


# ------------------------------------------------------------ counter records

GENERIC_IF = (U("ifIndex", "ifType") + Q("ifSpeed") + U("ifDirection", "ifStatus") + Q("ifInOctets") +
              U("ifInUcastPkts", "ifInMulticastPkts", "ifInBroadcastPkts", "ifInDiscards", "ifInErrors",
                "ifInUnknownProtos") + Q("ifOutOctets") +
              U("ifOutUcastPkts", "ifOutMulticastPkts", "ifOutBroadcastPkts", "ifOutDiscards", "ifOutErrors",
                "ifPromiscuousMode"))
ETHERNET = U("dot3StatsAlignmentErrors", "dot3StatsFCSErrors", "dot3StatsSingleCollisionFrames",
             "dot3StatsMultipleCollisionFrames", "dot3StatsSQETestErrors", "dot3StatsDeferredTransmissions",
             "dot3StatsLateCollisions", "dot3StatsExcessiveCollisions", "dot3StatsInternalMacTransmitErrors",
             "dot3StatsCarrierSenseErrors", "dot3StatsFrameTooLongs", "dot3StatsInternalMacReceiveErrors",
             "dot3StatsSymbolErrors")
PROCESSOR = [("cpu_5s", "i32"), ("cpu_1m", "i32"), ("cpu_5m", "i32")] + Q("total_memory", "free_memory")
HOST_CPU_68 = ([("load_one", "f32"), ("load_five", "f32"), ("load_fifteen", "f32")] +
               U("proc_run", "proc_total", "cpu_num", "cpu_speed", "uptime", "cpu_user", "cpu_nice",
                 "cpu_system", "cpu_idle", "cpu_wio", "cpu_intr", "cpu_sintr", "interrupts", "contexts"))
HOST_CPU_EXTRA = U("cpu_steal", "cpu_guest", "cpu_guest_nice")
HOST_MEMORY = (Q("mem_total", "mem_free", "mem_shared", "mem_buffers", "mem_cached", "swap_total", "swap_free") +
               U("page_in", "page_out", "swap_in", "swap_out"))
HOST_DISK_IO = (Q("disk_total", "disk_free") + U("part_max_used", "reads") + Q("bytes_read") +
                U("read_time", "writes") + Q("bytes_written") + U("write_time"))
NET_IO = (Q("bytes_in") + U("pkts_in", "errs_in", "drops_in") + Q("bytes_out") +
          U("pkts_out", "errs_out", "drops_out"))
MIB2_IP = U("ipForwarding", "ipDefaultTTL", "ipInReceives", "ipInHdrErrors", "ipInAddrErrors", "ipForwDatagrams",
            "ipInUnknownProtos", "ipInDiscards", "ipInDelivers", "ipOutRequests", "ipOutDiscards",
            "ipOutNoRoutes", "ipReasmTimeout", "ipReasmReqds", "ipReasmOKs", "ipReasmFails", "ipFragOKs",
            "ipFragFails", "ipFragCreates")
MIB2_ICMP = U("icmpInMsgs", "icmpInErrors", "icmpInDestUnreachs", "icmpInTimeExcds", "icmpInParamProbs",
              "icmpInSrcQuenchs", "icmpInRedirects", "icmpInEchos", "icmpInEchoReps", "icmpInTimestamps",
              "icmpInAddrMasks", "icmpInAddrMaskReps", "icmpOutMsgs", "icmpOutErrors", "icmpOutDestUnreachs",
              "icmpOutTimeExcds", "icmpOutParamProbs", "icmpOutSrcQuenchs", "icmpOutRedirects", "icmpOutEchos",
              "icmpOutEchoReps", "icmpOutTimestamps", "icmpOutTimestampReps", "icmpOutAddrMasks",
              "icmpOutAddrMaskReps")
MIB2_TCP = U("tcpRtoAlgorithm", "tcpRtoMin", "tcpRtoMax", "tcpMaxConn", "tcpActiveOpens", "tcpPassiveOpens",
             "tcpAttemptFails", "tcpEstabResets", "tcpCurrEstab", "tcpInSegs", "tcpOutSegs", "tcpRetransSegs",
             "tcpInErrs", "tcpOutRsts", "tcpInCsumErrors")
MIB2_UDP = U("udpInDatagrams", "udpNoPorts", "udpInErrors", "udpOutDatagrams", "udpRcvbufErrors",
             "udpSndbufErrors", "udpInCsumErrors")
VIRT_NODE = U("mhz", "cpus") + Q("memory", "memory_free") + U("num_domains")
VIRT_CPU = U("state", "cpuTime", "nrVirtCpu")
VIRT_MEMORY = Q("memory", "maxMemory")
VIRT_DISK_IO = Q("capacity", "allocation", "available") + U("rd_req") + Q("rd_bytes") + U("wr_req") + \
    Q("wr_bytes") + U("errs")


def host_descr(x):
    r = {"hostname": x.string(64, "hostname")}
    r["uuid"] = fmt_uuid(x.fixed(16, "uuid"))
    r["machine_type"] = x.u32("machine_type")
    r["os_name"] = x.u32("os_name")
    r["os_release"] = x.string(32, "os_release")
    return r


def fmt_uuid(b):
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


def host_adapters(x):
    n = x.u32("adapters")
    out = []
    for _ in range(n):
        a = {"ifIndex": x.u32("ifIndex")}
        nm = x.u32("num_macs")
        a["macs"] = [x.mac() for _ in range(nm)]
        out.append(a)
    return {"adapters": out}


def host_cpu(x):
    r = fields(x, HOST_CPU_68)
    if x.left() >= 12:
        r.update(fields(x, HOST_CPU_EXTRA))
    return r


def spec(s):
    return lambda x: fields(x, s)


COUNTER_RECORDS = {
    # (enterprise, format): (name, size of the structure or None, decoder)
    (0, 1): ("generic_if", 88, spec(GENERIC_IF)),
    (0, 2): ("ethernet", 52, spec(ETHERNET)),
    (0, 1001): ("processor", 28, spec(PROCESSOR)),
    (0, 2000): ("host_descr", None, host_descr),
    (0, 2001): ("host_adapters", None, host_adapters),
    (0, 2002): ("host_parent", 8, spec(U("container_type", "container_index"))),
    (0, 2003): ("host_cpu", 68, host_cpu),
    (0, 2004): ("host_memory", 72, spec(HOST_MEMORY)),
    (0, 2005): ("host_disk_io", 52, spec(HOST_DISK_IO)),
    (0, 2006): ("host_net_io", 40, spec(NET_IO)),
    (0, 2007): ("mib2_ip_group", 76, spec(MIB2_IP)),
    (0, 2008): ("mib2_icmp_group", 100, spec(MIB2_ICMP)),
    (0, 2009): ("mib2_tcp_group", 60, spec(MIB2_TCP)),
    (0, 2010): ("mib2_udp_group", 28, spec(MIB2_UDP)),
    (0, 2100): ("virt_node", 28, spec(VIRT_NODE)),
    (0, 2101): ("virt_cpu", 12, spec(VIRT_CPU)),
    (0, 2102): ("virt_memory", 16, spec(VIRT_MEMORY)),
    (0, 2103): ("virt_disk_io", 52, spec(VIRT_DISK_IO)),
    (0, 2104): ("virt_net_io", 40, spec(NET_IO)),
}

# ---------------------------------------------------------------- flow records


def parse_packet(b):
    """Ethernet (802.1Q tags), IPv4/IPv6, TCP/UDP ports of a sampled header."""
    r = {}
    if len(b) < 14:
        return r
    r["dst_mac"] = ":".join("%02x" % c for c in b[0:6])
    r["src_mac"] = ":".join("%02x" % c for c in b[6:12])
    et = struct.unpack_from(">H", b, 12)[0]
    off = 14
    vlans = []
    while et in (0x8100, 0x88a8) and off + 4 <= len(b):
        vlans.append(struct.unpack_from(">H", b, off)[0] & 0xfff)
        et = struct.unpack_from(">H", b, off + 2)[0]
        off += 4
    if vlans:
        r["vlans"] = vlans
    r["ethertype"] = et
    proto = None
    if et == 0x0800 and off + 20 <= len(b):
        ihl = (b[off] & 0x0f) * 4
        proto = b[off + 9]
        r["src_ip"] = str(ipaddress.IPv4Address(b[off + 12:off + 16]))
        r["dst_ip"] = str(ipaddress.IPv4Address(b[off + 16:off + 20]))
        r["ip_length"] = struct.unpack_from(">H", b, off + 2)[0]
        off += ihl
    elif et == 0x86dd and off + 40 <= len(b):
        proto = b[off + 6]
        r["src_ip"] = str(ipaddress.IPv6Address(b[off + 8:off + 24]))
        r["dst_ip"] = str(ipaddress.IPv6Address(b[off + 24:off + 40]))
        off += 40
    if proto is not None:
        r["protocol"] = proto
        if proto in (6, 17) and off + 4 <= len(b):
            r["src_port"], r["dst_port"] = struct.unpack_from(">HH", b, off)
    return r


def sampled_header(x):
    r = {"header_protocol": x.u32(), "frame_length": x.u32(), "stripped": x.u32()}
    h = x.opaque(None, "header")
    r["header_length"] = len(h)
    r["header"] = h.hex()
    if r["header_protocol"] == 1:
        r["decoded"] = parse_packet(h)
    return r


def sampled_ethernet(x):
    return {"length": x.u32(), "src_mac": x.mac(), "dst_mac": x.mac(), "type": x.u32()}


def sampled_ipv4(x):
    return {"length": x.u32(), "protocol": x.u32(), "src_ip": x.ip4(), "dst_ip": x.ip4(),
            "src_port": x.u32(), "dst_port": x.u32(), "tcp_flags": x.u32(), "tos": x.u32()}


def sampled_ipv6(x):
    return {"length": x.u32(), "protocol": x.u32(), "src_ip": x.ip6(), "dst_ip": x.ip6(),
            "src_port": x.u32(), "dst_port": x.u32(), "tcp_flags": x.u32(), "priority": x.u32()}


def ext_socket4(x):
    return {"protocol": x.u32(), "local_ip": x.ip4(), "remote_ip": x.ip4(), "local_port": x.u32(),
            "remote_port": x.u32()}


def ext_socket6(x):
    return {"protocol": x.u32(), "local_ip": x.ip6(), "remote_ip": x.ip6(), "local_port": x.u32(),
            "remote_port": x.u32()}


FLOW_RECORDS = {
    (0, 1): ("sampled_header", None, sampled_header),
    (0, 2): ("sampled_ethernet", 24, sampled_ethernet),
    (0, 3): ("sampled_ipv4", 32, sampled_ipv4),
    (0, 4): ("sampled_ipv6", 56, sampled_ipv6),
    (0, 1001): ("extended_switch", 16, spec(U("src_vlan", "src_priority", "dst_vlan", "dst_priority"))),
    (0, 2100): ("extended_socket_ipv4", 20, ext_socket4),
    (0, 2101): ("extended_socket_ipv6", 44, ext_socket6),
}

# --------------------------------------------------------------------- samples


def records(x, table, errors, where):
    n = x.u32("record count")
    out = []
    for i in range(n):
        tag = x.u32("record tag")
        length = x.u32("record length")
        ent, fmt = tag >> 12, tag & 0xfff
        rec = {"enterprise": ent, "format": fmt, "length": length}
        if length > x.left():
            raise DecodeError("%s record %d (%d:%d): length %d past its sample (%d left)" %
                              (where, i, ent, fmt, length, x.left()))
        start = x.off
        known = table.get((ent, fmt))
        if known is None:
            rec["type"] = "unknown"
        else:
            name, size, dec = known
            rec["type"] = name
            if size is not None and length < size:
                errors.append("%s record %s: length %d < %d" % (where, name, length, size))
            sub = XDR(x.d, start, start + length)
            try:
                rec["data"] = dec(sub)
                if sub.left():
                    rec["trailing"] = sub.left()
            except DecodeError as e:
                errors.append("%s record %s: %s" % (where, name, e))
        x.off = start + ((length + 3) & ~3) if length & 3 else start + length
        if x.off > x.end:
            raise DecodeError("%s record %d: padding past its sample" % (where, i))
        out.append(rec)
    return out


def source(v):
    return {"ds_class": v >> 24, "ds_index": v & 0xffffff}


def interface(v):
    fmt = v >> 30
    return {"format": fmt, "value": v & 0x3fffffff}


def sample(x, ent, fmt, errors, i):
    where = "sample %d" % i
    if ent != 0:
        return {"type": "unknown"}
    if fmt == 2:
        s = {"type": "counters", "seq": x.u32("seq")}
        s.update(source(x.u32("source_id")))
        s["records"] = records(x, COUNTER_RECORDS, errors, where)
    elif fmt == 4:
        s = {"type": "counters_expanded", "seq": x.u32("seq"), "ds_class": x.u32(), "ds_index": x.u32()}
        s["records"] = records(x, COUNTER_RECORDS, errors, where)
    elif fmt == 1:
        s = {"type": "flow", "seq": x.u32("seq")}
        s.update(source(x.u32("source_id")))
        s.update({"sampling_rate": x.u32(), "sample_pool": x.u32(), "drops": x.u32()})
        s["input"] = interface(x.u32())
        s["output"] = interface(x.u32())
        s["records"] = records(x, FLOW_RECORDS, errors, where)
    elif fmt == 3:
        s = {"type": "flow_expanded", "seq": x.u32("seq"), "ds_class": x.u32(), "ds_index": x.u32(),
             "sampling_rate": x.u32(), "sample_pool": x.u32(), "drops": x.u32()}
        s["input"] = {"format": x.u32(), "value": x.u32()}
        s["output"] = {"format": x.u32(), "value": x.u32()}
        s["records"] = records(x, FLOW_RECORDS, errors, where)
    else:
        return {"type": "unknown"}
    if x.left():
        s["trailing"] = x.left()
    return s


def decode_datagram(data):
    """One sFlow datagram (bytes) -> dict; "errors" lists what was wrong."""
    x = XDR(data)
    out = {"length": len(data), "errors": []}
    errors = out["errors"]
    try:
        out["version"] = x.u32("version")
        if out["version"] != 5:
            raise DecodeError("version %d, not 5" % out["version"])
        out["agent"] = address(x)
        out["sub_agent"] = x.u32("sub_agent_id")
        out["seq"] = x.u32("sequence")
        out["uptime_ms"] = x.u32("uptime")
        n = x.u32("sample count")
        out["nsamples"] = n
        out["samples"] = []
        for i in range(n):
            tag = x.u32("sample tag")
            length = x.u32("sample length")
            if length > x.left():
                raise DecodeError("sample %d: length %d past the datagram (%d left)" % (i, length, x.left()))
            ent, fmt = tag >> 12, tag & 0xfff
            start = x.off
            sub = XDR(data, start, start + length)
            s = {"enterprise": ent, "format": fmt, "length": length}
            s.update(sample(sub, ent, fmt, errors, i))
            out["samples"].append(s)
            x.off = start + length
        if x.left():
            out["trailing"] = x.left()
    except DecodeError as e:
        errors.append(str(e))
    return out


# ---------------------------------------------------------------------- inputs


def pcap_udp_payloads(path, port=None):
    """Yield (timestamp, payload bytes) of every UDP packet of a classic pcap."""
    with open(path, "rb") as f:
        data = f.read()
    yield from pcap_udp_payloads_bytes(data, port)


def pcap_udp_payloads_bytes(data, port=None):
    if len(data) < 24:
        raise DecodeError("pcap: short global header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise DecodeError("not a classic pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack_from(e + "I", data, 20)[0] & 0x0fffffff
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack_from(e + "IIII", data, off)
        off += 16
        pkt = data[off:off + incl]
        off += incl
        ts = sec + frac / (1e9 if nano else 1e6)
        p = udp_payload(pkt, linktype, port)
        if p is not None:
            yield ts, p


def udp_payload(pkt, linktype, port):
    if linktype == 1:  # Ethernet
        if len(pkt) < 14:
            return None
        et = struct.unpack_from(">H", pkt, 12)[0]
        off = 14
        while et in (0x8100, 0x88a8) and off + 4 <= len(pkt):
            et = struct.unpack_from(">H", pkt, off + 2)[0]
            off += 4
    elif linktype == 113:  # Linux cooked
        if len(pkt) < 16:
            return None
        et = struct.unpack_from(">H", pkt, 14)[0]
        off = 16
    elif linktype in (101, 12, 14):  # raw IP
        if not pkt:
            return None
        et = 0x0800 if pkt[0] >> 4 == 4 else 0x86dd
        off = 0
    elif linktype == 0:  # BSD loopback: host-order family
        if len(pkt) < 4:
            return None
        fam = struct.unpack_from("<I", pkt, 0)[0]
        if fam > 0xffff:
            fam = struct.unpack_from(">I", pkt, 0)[0]
        et = 0x0800 if fam == 2 else 0x86dd
        off = 4
    else:
        return None
    if et == 0x0800:
        if off + 20 > len(pkt) or pkt[off + 9] != 17:
            return None
        ihl = (pkt[off] & 0x0f) * 4
        total = struct.unpack_from(">H", pkt, off + 2)[0]
        end = min(len(pkt), off + total)
        off += ihl
    elif et == 0x86dd:
        if off + 40 > len(pkt) or pkt[off + 6] != 17:
            return None
        end = min(len(pkt), off + 40 + struct.unpack_from(">H", pkt, off + 4)[0])
        off += 40
    else:
        return None
    if off + 8 > end:
        return None
    dport = struct.unpack_from(">H", pkt, off + 2)[0]
    ulen = struct.unpack_from(">H", pkt, off + 4)[0]
    if port is not None and dport != port:
        return None
    return pkt[off + 8:min(end, off + ulen)]


def file_datagrams(path, port=None):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        for _ts, p in pcap_udp_payloads_bytes(data, port):
            yield p
    else:
        yield data  # one raw UDP payload


def listen_datagrams(spec_, count, timeout):
    host, _, port = spec_.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    s.settimeout(timeout)
    got = 0
    try:
        while count <= 0 or got < count:
            try:
                data, _ = s.recvfrom(65535)
            except socket.timeout:
                break
            got += 1
            yield data
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser(description="independent sFlow v5 decoder: JSON per datagram")
    ap.add_argument("files", nargs="*", help="pcap files or files of one raw UDP payload")
    ap.add_argument("--port", type=int, help="pcap: only UDP packets to this port")
    ap.add_argument("--hex", nargs="*", default=[], help="datagrams as hex strings")
    ap.add_argument("--listen", help="[ADDR:]PORT: decode datagrams received there")
    ap.add_argument("--count", type=int, default=0, help="--listen: stop after N datagrams")
    ap.add_argument("--timeout", type=float, default=5.0, help="--listen: stop after S s without one")
    ap.add_argument("--payloads", action="store_true", help="print each UDP payload as hex, no decoding")
    ap.add_argument("--pretty", action="store_true", help="indented JSON")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a datagram had errors")
    a = ap.parse_args()

    def sources():
        for h in a.hex:
            yield bytes.fromhex(h)
        for path in a.files:
            yield from file_datagrams(path, a.port)
        if a.listen:
            spec_ = a.listen if ":" in a.listen else "0.0.0.0:" + a.listen
            yield from listen_datagrams(spec_, a.count, a.timeout)

    bad = 0
    for d in sources():
        if a.payloads:
            print(d.hex())
            continue
        r = decode_datagram(d)
        if r["errors"]:
            bad += 1
        print(json.dumps(r, indent=2 if a.pretty else None, sort_keys=False))
        sys.stdout.flush()
    return 1 if a.strict and bad else 0


if __name__ == "__main__":
    sys.exit(main())
