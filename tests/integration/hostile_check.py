#!/usr/bin/env python3
"""Checks Vantage's output against a hostile guest, byte for byte.

Used by tests/integration/hostile_guest.sh (and the soaks that reuse it).
Every string Vantage writes is decoded from JSON and turned back into bytes
with the surrogateescape convention of docs/formats.md (\\udcXX is byte XX),
then compared with what the kernel or the file system holds.

  hostile_check.py mknames DIR
      makes DIR with files whose names hold newlines, tabs, CR, ESC,
      other control characters, DEL, quotes, backslashes, literal "\\u0000"
      and "\\udcff", invalid UTF-8 (lone bytes, truncated, overlong,
      surrogates), valid multi-byte UTF-8, 255-byte names, names that look
      like JSON or a crawler line; a directory with such a name holding
      such a file; symlinks out of the root (absolute, relative, to "/",
      to a directory) and one whose target bytes are hostile.
  hostile_check.py parse FORMAT OUT
      every line of OUT parses (FORMAT json: a JSON object with the five
      keys; crawler: three TAB-separated columns, a JSON string key and a
      JSON object value); prints the number of frames and records.
  hostile_check.py tree FORMAT OUT ROOT START [MAXDEPTH]
      the `file` records of OUT (their keys, `path`, `type`, and the link
      target) are exactly the entries of ROOT/START walked without
      following symlinks, MAXDEPTH (default 256) levels deep; for the
      crawler format also `name`.  FORMAT api: OUT is the answer of
      GET /api/v1/systems/ID/frame?feature=file.
  hostile_check.py mapped FORMAT OUT PREFIX
      the `library` records whose path starts with PREFIX: one line each,
      sorted, "PATH-BYTES-REPR DELETED PROCESSES".
  hostile_check.py sockets FORMAT OUT PID
      the number of `connection` records owned by PID.
  hostile_check.py proc FORMAT OUT PID CMDLINE_MAX
      the process record of PID: comm (and, in the crawler format, the key
      "<comm>/<pid>") equals /proc/PID/comm's bytes, cmdline equals
      /proc/PID/cmdline cut at CMDLINE_MAX bytes, NULs as spaces, and
      cmdline_truncated is true exactly when the cut happened; fds equals
      the count of /proc/PID/fd.
"""
import json
import os
import stat
import sys


def b(s):
    """A string of Vantage's JSON back to the bytes it stands for."""
    return s.encode("utf-8", "surrogateescape")


def records(fmt, path):
    """(feature, key, value) of every line; raises on a line that does not parse."""
    if fmt == "api":
        with open(path, "rb") as f:
            doc = json.loads(f.read())
        for r in doc["records"]:
            yield r["feature"], r["key"], r["value"]
        return
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            line = raw.decode("ascii")  # pure ASCII, or this raises
            if not line.endswith("\n"):
                raise ValueError("line %d: no newline at its end" % n)
            line = line[:-1]
            if fmt == "json":
                o = json.loads(line)
                if list(o.keys()) != ["system", "time", "feature", "key", "value"]:
                    raise ValueError("line %d: keys %s" % (n, list(o.keys())))
                yield o["feature"], o["key"], o["value"]
            else:
                cols = line.split("\t")
                if len(cols) < 3:
                    raise ValueError("line %d: %d columns" % (n, len(cols)))
                # the key column is a JSON string with no raw TAB in it
                feat, key, val = cols[0], json.loads(cols[1]), json.loads("\t".join(cols[2:]))
                if "\t" in cols[2] and not isinstance(val, dict):
                    raise ValueError("line %d: value" % n)
                yield feat, key, val


NAMES = [
    b"new\nline", b"tab\there", b"cr\rret", b"esc\x1b[31mred\x1b[0m", b"bell\x07",
    b"del\x7f", b'quote"q', b"back\\slash", b"trail\\", b"\\u0000lit", b"\\udcff",
    b"inv\xff\xfe", b"lone\xc3", b"cut\xe2\x82", b"overlong\xc0\xaf", b"surr\xed\xa0\x80",
    b"big\xf4\x90\x80\x80", b"valid\xc3\xa9", b"emoji\xf0\x9f\x98\x80", b"ctl\x01\x02\x1f",
    b" lead", b"trail ", b"x" * 255, b"\xe9" * 255, b"\xf0\x9f\x98\x80" * 63, b"metadata",
    b'{"k":1}\t"x"\n', b"a\tb\tc", b"process\t\"x\"\t{}", b"nul\\x00", b"-",
    b"..." , b"\xc2\xa0nbsp", b"\xef\xbb\xbfbom",
]


def cmd_mknames(d):
    d = os.fsencode(d)
    os.makedirs(d, exist_ok=True)
    for n in NAMES:
        with open(d + b"/" + n, "wb") as f:
            f.write(n)
    sub = d + b"/dir\n\t\xff\"\\"
    os.makedirs(sub, exist_ok=True)
    for n in NAMES[:8]:
        open(sub + b"/" + n, "wb").close()
    os.symlink(b"/etc/shadow", d + b"/esc-abs")
    os.symlink(b"../../../../../../../../etc/passwd", d + b"/esc-rel")
    os.symlink(b"/", d + b"/esc-root")
    os.symlink(b"/etc", d + b"/esc-dir")
    os.symlink(b"tgt\n\t\xff\"\\\x01", d + b"/link\nhostile")
    print("%d names" % (len(NAMES) + 8 + 5 + 1))
    return 0


def cmd_parse(fmt, path):
    frames = recs = 0
    for feat, _, _ in records(fmt, path):
        if feat in ("frame", "metadata"):
            frames += 1
        else:
            recs += 1
    print("parsed %d frames, %d records" % (frames, recs))
    return 0


TYPES = {
    stat.S_IFREG: ("file", "file"), stat.S_IFDIR: ("dir", "dir"),
    stat.S_IFLNK: ("symlink", "link"), stat.S_IFCHR: ("chardev", "char"),
    stat.S_IFBLK: ("blockdev", "block"), stat.S_IFIFO: ("fifo", "pipe"),
    stat.S_IFSOCK: ("socket", "socket"),
}


def walk(root, start, maxdepth):
    """path inside -> (type json, type crawler, link target or None, name)."""
    out = {}
    base = os.fsencode(root).rstrip(b"/")

    def add(inside, depth):
        st = os.lstat(base + inside)
        t = TYPES.get(stat.S_IFMT(st.st_mode), ("unknown", "unknown"))
        link = os.readlink(base + inside) if stat.S_ISLNK(st.st_mode) else None
        out[inside] = (t[0], t[1], link, inside.rsplit(b"/", 1)[-1] or b"/")
        if stat.S_ISDIR(st.st_mode) and depth < maxdepth:
            for e in os.scandir(base + inside):
                add((inside if inside != b"/" else b"") + b"/" + e.name, depth + 1)

    add(os.fsencode(start), 0)
    return out


def show(x):
    return repr(x)[:200]


def cmd_tree(fmt, path, root, start, maxdepth):
    want = walk(root, start, maxdepth)
    got, bad = {}, []
    crawler = fmt == "crawler"
    base = os.fsencode(root).rstrip(b"/")
    contents = 0
    for feat, key, v in records(fmt, path):
        if feat == "config":  # a config record: its content is the file's, exactly
            k = b(key)
            st = os.lstat(base + k)
            if "content" in v:
                contents += 1
                with open(base + k, "rb") as f:
                    data = f.read()
                if not stat.S_ISREG(st.st_mode) or b(v["content"]) != data:
                    bad.append("config %s: content %s, want %s" %
                               (show(k), show(b(v["content"])), show(data)))
            continue
        if feat != "file":
            continue
        k = b(key)
        if b(v["path"]) != k:
            bad.append("key %s but path %s" % (show(k), show(b(v["path"]))))
        if k in got:
            bad.append("key %s twice" % show(k))
        link = v.get("linksto" if crawler else "link")
        got[k] = (v["type"], b(link) if link is not None else None,
                  b(v["name"]) if crawler else None)
    for k, w in want.items():
        g = got.get(k)
        if g is None:
            bad.append("missing: %s" % show(k))
            continue
        t = w[1] if crawler else w[0]
        if g[0] != t:
            bad.append("%s: type %s, want %s" % (show(k), g[0], t))
        if g[1] != w[2]:
            bad.append("%s: link %s, want %s" % (show(k), show(g[1]), show(w[2])))
        if crawler and g[2] != w[3]:
            bad.append("%s: name %s, want %s" % (show(k), show(g[2]), show(w[3])))
    for k in got:
        if k not in want:
            bad.append("not in the tree: %s" % show(k))
    for m in bad[:10]:
        print("#   " + m)
    print("tree: %d entries, %d records, %d config contents, %d differences" %
          (len(want), len(got), contents, len(bad)))
    return 1 if bad else 0


def cmd_proc(fmt, path, pid, cmax):
    with open("/proc/%d/comm" % pid, "rb") as f:
        comm = f.read()[:-1]
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        raw = f.read()
    cut = len(raw) > cmax
    cmd = raw[:cmax].rstrip(b"\0").replace(b"\0", b" ")
    nfds = len(os.listdir("/proc/%d/fd" % pid))
    crawler = fmt == "crawler"
    rec = None
    for feat, key, v in records(fmt, path):
        if feat == "process" and v.get("pid") == pid:
            rec = (key, v)
    if rec is None:
        print("#   no process record of pid %d" % pid)
        return 1
    key, v = rec
    bad = []
    want_key = comm + b"/" + str(pid).encode() if crawler else str(pid).encode()
    if b(key) != want_key:
        bad.append("key %s, want %s" % (show(b(key)), show(want_key)))
    if b(v["pname" if crawler else "comm"]) != comm:
        bad.append("comm %s, want %s" % (show(b(v["pname" if crawler else "comm"])), show(comm)))
    got = b(v["cmd" if crawler else "cmdline"])
    if got != cmd:
        i = next((i for i in range(min(len(got), len(cmd))) if got[i] != cmd[i]),
                 min(len(got), len(cmd)))
        bad.append("cmdline differs at byte %d (%d vs %d bytes): %s vs %s" %
                   (i, len(got), len(cmd), show(got[i:i + 20]), show(cmd[i:i + 20])))
    if bool(v.get("cmdline_truncated", False)) != cut:
        bad.append("cmdline_truncated %s, want %s" % (v.get("cmdline_truncated"), cut))
    if abs(v.get("fds", -1) - nfds) > 2:
        bad.append("fds %s, want %d" % (v.get("fds"), nfds))
    for m in bad:
        print("#   " + m)
    print("proc %d: comm %s, cmdline %d bytes (of %d), fds %d, %d differences" %
          (pid, show(comm), len(cmd), len(raw), nfds, len(bad)))
    return 1 if bad else 0


def cmd_mapped(fmt, path, prefix):
    rows = []
    for feat, _, v in records(fmt, path):
        if feat == "library" and b(v["path"]).startswith(os.fsencode(prefix)):
            rows.append("%r %s %d" % (b(v["path"]), v["deleted"], v["processes"]))
    print("\n".join(sorted(rows)))
    return 0


def cmd_sockets(fmt, path, pid):
    print(sum(1 for feat, _, v in records(fmt, path) if feat == "connection" and v.get("pid") == pid))
    return 0


def main(a):
    try:
        if a[0] == "mknames":
            return cmd_mknames(a[1])
        if a[0] == "parse":
            return cmd_parse(a[1], a[2])
        if a[0] == "tree":
            return cmd_tree(a[1], a[2], a[3], a[4], int(a[5]) if len(a) > 5 else 256)
        if a[0] == "mapped":
            return cmd_mapped(a[1], a[2], a[3])
        if a[0] == "sockets":
            return cmd_sockets(a[1], a[2], int(a[3]))
        if a[0] == "proc":
            return cmd_proc(a[1], a[2], int(a[3]), int(a[4]))
    except (ValueError, UnicodeError, KeyError, TypeError) as e:
        print("#   %s: %s" % (type(e).__name__, e))
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
