#!/usr/bin/env bash
# VM introspection on hostile input: `vantage crawl --vm ram=FILE` must
# refuse what is not a usable Linux guest with exit 2 and a message naming
# the file, or crawl it (exit 0) when the kernel is found and only parts of
# it are unreadable - never crash (a signal, exit >= 128) and never hang.
# Each file is crawled cold (empty profile cache) and warm (the good
# guest's profile cached, so only the banner probe guards the way in).
#
# Inputs are made from a real guest's RAM (the snapshot vm.sh saves, or one
# booted here when it is missing; vm_snapshot in vm_lib.sh): random bytes
# of several sizes, the RAM cut at 1..128 MiB and inside the kernel image,
# RAM of a guest still in its firmware and at later moments of its boot,
# the BTF zeroed (found from the guest's own /proc/kallsyms and the BTF
# magic), the kallsyms token table zeroed or garbled, init_top_pgt zeroed,
# many copies of a real token table (each a candidate for the scan),
# ELF cores (a good one and hostile program headers), a FIFO, a directory,
# a device, an empty and a missing file.  Then vmi_fuzz.c runs a few hundred
# generated bad images in process (build/tests/vmi_fuzz, built by `make unit`
# with ASan and UBSan).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm_lib.sh"
cd "$(dirname "$0")/../.."

SHM=$(mktemp -d /dev/shm/vantage-bad.XXXXXX)
on_exit "rm -rf '$SHM'"
GOODCACHE=$TMP/cache-good

if ! vm_snapshot; then
	not_ok "a guest RAM snapshot"
	exit 1
fi
ok "a guest RAM snapshot ($(basename "$VM_SNAP_MEM"))"
GOOD=$VM_SNAP_MEM
vm_truth kallsyms "$VM_SNAP_LOG" >"$TMP/kallsyms"

# ---- making bad files ----------------------------------------------------------------

cat >"$TMP/mut.py" <<'EOF'
# mut.py OP ...: hostile RAM files made from a good one (see vm_bad.sh)
import os, random, shutil, struct, sys

MIB2 = 2 << 20
DIGITS = b"0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00"

def syms(path):
    s = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 3:
            s[f[2]] = int(f[0], 16)
    return s

def phys_text(src, s):
    """Physical address of _text: where the BTF magic sits at a 2 MiB phase."""
    rel = s["__start_BTF"] - s["_text"]
    data = open(src, "rb").read()
    at = data.find(b"\x9f\xeb\x01\x00\x18\x00\x00\x00")
    while at >= 0:
        if at >= rel and (at - rel) % MIB2 == 0:
            return at - rel
        at = data.find(b"\x9f\xeb\x01\x00\x18\x00\x00\x00", at + 1)
    sys.exit("BTF magic not found at a 2 MiB phase")

def digit_runs(path):
    data = open(path, "rb").read()
    out, at = [], data.find(DIGITS)
    while at >= 0:
        out.append(at)
        at = data.find(DIGITS, at + 1)
    return out

def patch(dst, at, b):
    with open(dst, "r+b") as f:
        f.seek(at)
        f.write(b)

def elf_core(dst, segs, payload, e_machine=62, phnum=None, phoff=64, cls=2):
    """segs: (p_type, p_offset, p_paddr, p_filesz); payload: [(offset, src, src_off, len)]"""
    eh = b"\x7fELF" + bytes([cls, 1, 1, 0]) + b"\0" * 8
    eh += struct.pack("<HHIQQQIHHHHHH", 4, e_machine, 1, 0, phoff, 0, 0, 64, 56,
                      len(segs) if phnum is None else phnum, 0, 0, 0)
    with open(dst, "wb") as f:
        f.write(eh)
        f.seek(phoff if phoff < 1 << 20 else 64)
        for t, off, pa, sz in segs:
            f.write(struct.pack("<IIQQQQQQ", t, 7, off, 0, pa, sz, sz, 4096))
        for off, src, soff, n in payload:
            f.seek(off)
            with open(src, "rb") as s:
                s.seek(soff)
                left = n
                while left:
                    b = s.read(min(left, 1 << 20))
                    if not b:
                        break
                    f.write(b)
                    left -= len(b)

def main():
    op = sys.argv[1]
    if op == "info":                    # info SRC KALLSYMS
        src, s = sys.argv[2], syms(sys.argv[3])
        pt = phys_text(src, s)
        print(pt, s["__start_BTF"] - s["_text"] + pt, s["__stop_BTF"] - s["_text"] + pt,
              s["init_top_pgt"] - s["_text"] + pt)
        return
    if op == "random":                  # random DST SIZE SEED
        r = random.Random(int(sys.argv[4]))
        with open(sys.argv[2], "wb") as f:
            left = int(sys.argv[3])
            while left:
                n = min(left, 1 << 20)
                f.write(r.randbytes(n))
                left -= n
        return
    if op == "ttcopies":                # ttcopies SRC DST SIZE STEP PHYS_TEXT: a real token table, many times
        src, dst, size, step = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        pt = int(sys.argv[6])
        runs = digit_runs(src)
        data = open(src, "rb").read()
        # the kernel's own table: in its image, with multi-letter tokens before "0"
        # (other digit runs are character tables: one letter each)
        def long_tokens(r):
            toks = data[max(r - 2048, 0):r].split(b"\0")[-48:-1]
            return any(len(t) > 1 for t in toks)
        tt = [r for r in runs if pt <= r < pt + (64 << 20) and long_tokens(r)][0]
        chunk = data[tt - 2048:tt + 4096]
        b = bytearray(size)
        for o in range(4096, size - len(chunk), step):
            b[o:o + len(chunk)] = chunk
        open(dst, "wb").write(b)
        return
    src, dst = sys.argv[2], sys.argv[3]
    if op == "trunc":                   # trunc SRC DST BYTES
        n = int(sys.argv[4])
        with open(src, "rb") as s, open(dst, "wb") as d:
            left = n
            while left:
                b = s.read(min(left, 1 << 20))
                d.write(b)
                left -= len(b)
        return
    if op == "elf":                     # elf SRC DST VARIANT
        v, size = sys.argv[4], os.path.getsize(src)
        H = 1 << 20                     # payload offset: where QEMU would put it, roughly
        P = H + 3 * 4096                # page-aligned, not 2 MiB-aligned (as QEMU's)
        whole = [(1, P, 0, size)]
        if v == "good":
            elf_core(dst, whole, [(P, src, 0, size)])
        elif v == "unaligned":          # p_offset not congruent to p_paddr modulo 8
            elf_core(dst, [(1, H + 123, 0, size)], [(H + 123, src, 0, size)])
        elif v == "split":              # two segments, in reverse file order
            half = size // 2
            elf_core(dst, [(4, 4096, 0, 64), (1, H + half, 0, half), (1, H, half, size - half)],
                     [(H, src, half, size - half), (H + half, src, 0, half)])
        elif v == "phnum":              # program headers far past the end
            elf_core(dst, whole, [(P, src, 0, size)], phnum=65535, phoff=size)
        elif v == "segbeyond":
            elf_core(dst, [(1, 1 << 40, 0, size)], [(H, src, 0, 4 << 20)])
        elif v == "toomany":
            segs = [(1, H + 4096 * i, 4096 * i, 4096) for i in range(40)]
            elf_core(dst, segs, [(H, src, 0, 40 * 4096 + (1 << 20))])
        elif v == "wrap":               # a segment ending past 2^64, and the RAM
            elf_core(dst, [(1, H, 0xfffffffffffff000, 8192), (1, P, 0, size)],
                     [(P, src, 0, size)])
        elif v == "overlap":            # the same addresses twice, garbage first
            elf_core(dst, [(1, H, 0, size), (1, H, 0, size)], [(H, src, 0, size)])
            patch(dst, H, random.Random(5).randbytes(size // 2))
        elif v == "arm":
            elf_core(dst, whole, [(P, src, 0, size)], e_machine=183)
        elif v == "elf32":
            elf_core(dst, whole, [(P, src, 0, 1 << 20)], cls=1)
        elif v == "noload":
            elf_core(dst, [(4, 4096, 0, 64)], [(H, src, 0, 1 << 20)])
        elif v == "truncated":
            elf_core(dst, whole, [(P, src, 0, size // 3)])
        else:
            sys.exit("unknown variant " + v)
        return
    shutil.copyfile(src, dst)
    if op == "zero":                    # zero SRC DST START END
        a, e = int(sys.argv[4]), int(sys.argv[5])
        with open(dst, "r+b") as f:
            f.seek(a)
            left = e - a
            while left:
                n = min(left, 1 << 20)
                f.write(b"\0" * n)
                left -= n
    elif op == "zero_tt":               # every digit run and 1 KiB around it
        for r in digit_runs(src):
            patch(dst, max(r - 1024, 0), b"\0" * 2048)
    elif op == "garble_tt":             # around every digit run, the run kept
        rnd = random.Random(int(sys.argv[4]))
        for r in digit_runs(src):
            patch(dst, max(r - 1024, 0), rnd.randbytes(1024))
            patch(dst, r + len(DIGITS), rnd.randbytes(1024))
    else:
        sys.exit("unknown op " + op)

main()
EOF
mut() { python3 "$TMP/mut.py" "$@"; }

read -r PT BTF0 BTF1 PGT < <(mut info "$GOOD" "$TMP/kallsyms")
if [ -n "${PGT:-}" ]; then
	ok "the kernel in the snapshot: _text at physical $(printf '%#x' "$PT"), BTF $(( (BTF1 - BTF0) >> 10 )) KiB"
else
	not_ok "the kernel found in the snapshot from its kallsyms and BTF magic"
	PT=0 BTF0=0 BTF1=0 PGT=0
fi

# ---- crawling them ------------------------------------------------------------------------

# the good guest: crawled, and its profile cached for the warm runs
VANTAGE_CACHE_DIR=$GOODCACHE "$VANTAGE" crawl --vm "ram=$GOOD" -i 0 >"$TMP/good.json" 2>"$TMP/good.err"
check_eq "the good snapshot crawls (exit 0)" 0 $?
check "the good snapshot: processes found" \
	test "$(jq -c 'select(.feature == "process")' "$TMP/good.json" | wc -l)" -gt 20
VANTAGE_CACHE_DIR=$GOODCACHE "$VANTAGE" crawl --vm "ram=$GOOD" -i 0 >"$TMP/good2.json" 2>"$TMP/good2.err"
check_eq "the good snapshot: cold, then warm (profile_cached)" "false true" \
	"$(head -1 "$TMP/good.json" | jq -r .value.labels.profile_cached) $(head -1 "$TMP/good2.json" | jq -r .value.labels.profile_cached)"
records() { jq -c 'select(.feature != "frame") | [.feature, .key, .value]' "$1"; }
if [ "$(records "$TMP/good.json" | wc -l)" -gt 50 ] && cmp -s <(records "$TMP/good.json") <(records "$TMP/good2.json"); then
	ok "the good snapshot: cold and warm crawls give the same $(records "$TMP/good.json" | wc -l) records"
else
	not_ok "the good snapshot: cold and warm crawls give the same records"
	diff <(records "$TMP/good.json") <(records "$TMP/good2.json") | head | sed 's/^/#   /'
fi
good_procs() { jq -r 'select(.feature == "process") | .value | "\(.pid) \(.ppid) \(.comm) \(.cmdline)"' "$1" | sort; }
good_procs "$TMP/good.json" >"$TMP/good.procs"

# bad WHAT FILE COLD WARM [REGEX]: crawl FILE cold and warm; COLD/WARM list
# the exit statuses allowed ("2", "0 2"); with exit 2 stderr must name the
# file (and match REGEX when given, cold), with 0 a vm frame must come out.
# A crawl still running after $LIMIT seconds (60) is a hang.
LIMIT=60
bad() {
	local what=$1 file=$2 allow mode rc msg re cache
	for mode in cold warm; do
		if [ $mode = cold ]; then
			allow=$3 re=${5:-}
			cache=$(mktemp -d "$TMP/cold.XXXXXX")
		else
			allow=$4 re=
			cache=$GOODCACHE
		fi
		VANTAGE_CACHE_DIR=$cache timeout -k 5 "$LIMIT" "$VANTAGE" crawl --vm "ram=$file" -i 0 \
			>"$TMP/bad.json" 2>"$TMP/bad.err" </dev/null
		rc=$?
		msg=$(head -c 400 "$TMP/bad.err" | tr '\n' ' ')
		if [ $rc -ge 124 ]; then
			not_ok "$what ($mode): exit $rc ($([ $rc = 124 ] && echo "hung: killed after $LIMIT s" || echo 'crashed'))"
			echo "#   $msg"
		elif [[ " $allow " != *" $rc "* ]]; then
			not_ok "$what ($mode): exit $rc, expected ${allow// / or }"
			echo "#   $msg"
		elif [ $rc = 2 ] && { [[ $msg != *"$file"* ]] || [ -s "$TMP/bad.json" ]; }; then
			not_ok "$what ($mode): exit 2 with a message naming the file and no frame"
			echo "#   $msg"
		elif [ $rc = 2 ] && [ -n "$re" ] && ! grep -qE "$re" <<<"$msg"; then
			not_ok "$what ($mode): the message says /$re/"
			echo "#   $msg"
		elif [ $rc = 0 ] && [ "$(head -1 "$TMP/bad.json" | jq -r .value.kind 2>/dev/null)" != vm ]; then
			not_ok "$what ($mode): exit 0 with a vm frame"
		elif [ $rc = 0 ]; then
			ok "$what ($mode): crawled, $(head -1 "$TMP/bad.json" | jq -c '[.value.records, ([.value.errors[]] | add)]') records/errors"
		else
			ok "$what ($mode): refused: ${msg#*: }"
		fi
		[ $mode = warm ] || rm -rf "$cache"
	done
}

# random bytes
for size in 100 $((1 << 20)) $((4 << 20)) $((64 << 20)); do
	mut random "$SHM/random.mem" $size $size
	if [ $size -lt $((1 << 20)) ]; then
		bad "random bytes, $size" "$SHM/random.mem" 2 2 "too small"
	else
		bad "random bytes, $((size >> 20)) MiB" "$SHM/random.mem" 2 2 "no Linux kernel"
	fi
done
: >"$SHM/empty.mem"
bad "an empty file" "$SHM/empty.mem" 2 2 "too small"
bad "a missing file" "$SHM/no-such.mem" 2 2 "No such file"
bad "a directory" "$SHM" 2 2 "not a regular file"
bad "a character device" /dev/zero 2 2 "not a regular file"
mkfifo "$SHM/fifo.mem"
LIMIT=10 bad "a FIFO" "$SHM/fifo.mem" 2 2 "not a regular file"
rm -f "$SHM/fifo.mem" "$SHM/random.mem"

# the RAM cut short: before the kernel nothing can be found; past its start
# what is there may be crawled
for mib in 1 8 16 32 64 128; do
	n=$((mib << 20))
	mut trunc "$GOOD" "$SHM/cut.mem" $n
	if [ $n -le "$PT" ]; then
		bad "RAM cut at $mib MiB (the kernel starts at $((PT >> 20)) MiB)" "$SHM/cut.mem" 2 2 "no Linux kernel"
	else
		bad "RAM cut at $mib MiB (past the kernel's start)" "$SHM/cut.mem" "0 2" "0 2"
	fi
done
for cut in $((PT + (4 << 20))) $(( (BTF0 + BTF1) / 2 )) $((PGT + 2048)); do
	mut trunc "$GOOD" "$SHM/cut.mem" $cut
	bad "RAM cut inside the kernel image (at $(printf '%#x' $cut))" "$SHM/cut.mem" 2 "0 2"
done
rm -f "$SHM/cut.mem"

# damaged kernel structures
mut zero "$GOOD" "$SHM/nobtf.mem" "$BTF0" "$BTF1"
bad "BTF zeroed" "$SHM/nobtf.mem" 2 "0 2" "BTF"
mut zero "$GOOD" "$SHM/nobtf.mem" "$((BTF0 + 24))" "$((BTF0 + 4096))"
bad "BTF header kept, its first types zeroed" "$SHM/nobtf.mem" 2 "0 2" "BTF|type"
rm -f "$SHM/nobtf.mem"
mut zero_tt "$GOOD" "$SHM/nott.mem"
bad "kallsyms token table zeroed" "$SHM/nott.mem" 2 "0 2" "kallsyms|no Linux kernel"
mut garble_tt "$GOOD" "$SHM/nott.mem" 7
bad "kallsyms token table garbled" "$SHM/nott.mem" 2 "0 2" "kallsyms|layout|token"
rm -f "$SHM/nott.mem"
mut zero "$GOOD" "$SHM/nopgt.mem" "$PGT" "$((PGT + 4096))"
bad "init_top_pgt zeroed" "$SHM/nopgt.mem" 2 2 "page tables"
rm -f "$SHM/nopgt.mem"
mut ttcopies "$GOOD" "$SHM/tt.mem" $((16 << 20)) 32768 "$PT"
bad "500 copies of a real token table, no kernel" "$SHM/tt.mem" 2 2
rm -f "$SHM/tt.mem"

# ELF cores: good ones must give the same processes as the raw RAM
for v in good split; do
	mut elf "$GOOD" "$SHM/core.elf" $v
	VANTAGE_CACHE_DIR=$GOODCACHE "$VANTAGE" crawl --vm "ram=$SHM/core.elf" -i 0 >"$TMP/core.json" 2>"$TMP/core.err"
	check_eq "ELF core ($v): exit 0" 0 $?
	check "ELF core ($v): the processes of the raw RAM" cmp -s "$TMP/good.procs" <(good_procs "$TMP/core.json")
done
mut elf "$GOOD" "$SHM/core.elf" good
bad "ELF core (good)" "$SHM/core.elf" 0 0
for v in phnum segbeyond toomany arm elf32 noload truncated; do
	mut elf "$GOOD" "$SHM/core.elf" $v
	bad "ELF core with hostile headers ($v)" "$SHM/core.elf" 2 2 "ELF|core|segment|x86-64|too small"
done
for v in wrap overlap unaligned; do
	mut elf "$GOOD" "$SHM/core.elf" $v
	bad "ELF core with hostile segments ($v)" "$SHM/core.elf" "0 2" "0 2"
done
rm -f "$SHM/core.elf"

# a guest in its firmware, and later moments of its boot: one QEMU, its
# RAM copied while stopped at each moment
if vm_start fw 256M ""; then
	wait_for 5 test -S "$VM_QMP"
	t0=$(date +%s%N)
	for at in 300 2000 4000 6000; do
		# the boot's own time passing is the point: until $at ms after start
		while [ $((($(date +%s%N) - t0) / 1000000)) -lt $at ]; do sleep 0.05; done
		vm_qmp stop >/dev/null && cp "$VM_RAM" "$SHM/boot-$at.mem" && vm_qmp cont >/dev/null
	done
	vm_stop
	for at in 300 2000 4000 6000; do
		f=$SHM/boot-$at.mem
		[ -s "$f" ] || { not_ok "RAM copied at $at ms of the boot"; continue; }
		if grep -qa "Linux version 6" "$f"; then
			bad "RAM $at ms into the boot (kernel banner present)" "$f" "0 2" "0 2"
		else
			bad "RAM $at ms into the boot (firmware, no kernel yet)" "$f" 2 2 "no Linux kernel"
		fi
		rm -f "$f"
	done
else
	not_ok "start a guest to catch it in its firmware"
fi

# ---- generated bad images, in process (vmi_fuzz.c, ASan + UBSan) --------------------

if [ -x "$TESTBIN/vmi_fuzz" ]; then
	ok "vmi_fuzz built with ASan and UBSan (make unit)"
	seed=${VMI_FUZZ_SEED:-$(date +%s)}
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		timeout -k 5 300 "$TESTBIN/vmi_fuzz" "$GOOD" "$TMP/fuzzcache" -n 400 -s 30 -S "$seed" \
		>"$TMP/fuzz.out" 2>"$TMP/fuzz.err"
	rc=$?
	sed 's/^/# /' "$TMP/fuzz.out" | grep -v VIOLATION
	iters=$(sed -n 's/^vmi_fuzz: ok \([0-9]*\) iterations.*/\1/p' "$TMP/fuzz.out")
	if [ $rc = 0 ] && [ "${iters:-0}" -ge 200 ]; then
		ok "vmi_fuzz: $iters generated bad images, every view op returned, no memory error"
	else
		last=$(grep '^iter ' "$TMP/fuzz.err" | tail -1)
		n=$(awk '{ print $2 }' <<<"$last")
		not_ok "vmi_fuzz: exit $rc in iteration ${n:-?} (replay: vmi_fuzz $GOOD CACHEDIR -S $seed -i ${n:-N})"
		grep VIOLATION "$TMP/fuzz.out" | head | sed 's/^/#   /'
		grep -v '^iter ' "$TMP/fuzz.err" | head -40 | sed 's/^/#   /'
		echo "#   last: $last"
	fi
else
	not_ok "vmi_fuzz built with ASan and UBSan: $TESTBIN/vmi_fuzz is missing, run 'make unit' first"
fi
true
