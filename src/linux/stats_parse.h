/*
 * stats_parse.h - pure parsers for the kernel's statistics files.
 *
 * Every function here takes the text it parses as (pointer, length), never
 * reads past it, never trusts it (the text may be truncated, unterminated
 * or garbage) and touches no file: the readers in views/host/stats.c and
 * cgroup.c do the I/O, these functions only turn text into numbers, so each one is
 * unit-tested with good, malformed and truncated input
 * (tests/unit/test_stats_parse.c, tests/unit/test_cgroup_parse.c).
 *
 * Return values: 0 (or a count) on success, -EINVAL for text that is not
 * what was expected, -ENOENT for a key that is absent.  Sums of counters
 * saturate at UINT64_MAX instead of wrapping.
 */
#ifndef VANTAGE_STATS_PARSE_H
#define VANTAGE_STATS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"

/*
 * Split text into lines: returns true and sets *line and *len (without the
 * '\n') for the next line at *p, advancing *p; false at the end.  A last
 * line without '\n' is returned too.
 */
bool stats_next_line(const char **p, const char *end, const char **line, size_t *len);

/* Parse an unsigned decimal number with an optional fraction ("0.22",
 * "12", "3.") at *p, advancing *p.  No sign, no exponent, no locale. */
bool stats_parse_decimal(const char **p, const char *end, double *out);

/* ---- /proc/stat ---------------------------------------------------------- */

/* The columns of one "cpu"/"cpuN" line, in USER_HZ ticks.  `ncols` is the
 * number of columns present: 4 on 2.4 kernels (user nice system idle), 7
 * with iowait/irq/softirq, 8 with steal, 9-10 with guest/guest_nice.
 * Missing columns are 0.  guest time is already included in user. */
struct cpu_ticks {
	int cpu; /* -1 for the "cpu" total line */
	int ncols;
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice;
};

/* Returns 1 and fills *out for a cpu line, 0 for any other line, -EINVAL
 * for a cpu line that is malformed (fewer than 4 numbers, garbage). */
int stat_parse_cpu_line(const char *line, size_t len, struct cpu_ticks *out);

/* ---- /proc/meminfo, /proc/loadavg ---------------------------------------- */

/* Fills *out (zeroed first).  `have` gets VM_AVAILABLE when MemAvailable
 * is there (absent before 3.14), VM_CACHE with Buffers and Cached,
 * VM_SWAP with SwapTotal and SwapFree.  Lines it cannot read are skipped.
 * -EINVAL when MemTotal or MemFree is missing. */
int meminfo_parse(const char *buf, size_t len, struct vt_mem *out);

/* "0.22 0.07 0.02 1/87 4546" -> load1/5/15, running, total.  -EINVAL if
 * any of the first four fields is missing or malformed. */
int loadavg_parse(const char *buf, size_t len, struct vt_load *out);

/* ---- /proc/self/mountinfo ------------------------------------------------- */

/* One mountinfo line.  The strings point into the caller's scratch buffer,
 * NUL-terminated, with the kernel's octal escapes (\040 space, \011 tab,
 * \012 newline, \134 backslash) decoded.  `options` are the per-mount
 * options, `super_options` those of the file system. */
struct mountinfo {
	int mount_id, parent_id;
	unsigned major, minor;
	const char *root;
	const char *mountpoint;
	const char *options;
	const char *fstype;
	const char *source;
	const char *super_options;
};

/* Minimum scratch size for a line of `len` bytes. */
#define MOUNTINFO_SCRATCH(len) ((len) + 8)

/*
 * Parse one line ("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3
 * /dev/root rw,errors=continue").  Optional fields before the " - "
 * separator are skipped.  Returns 0, -EINVAL when a field is missing or
 * malformed (no separator, no fstype), -ENOSPC when scratch is smaller
 * than MOUNTINFO_SCRATCH(len).
 */
int mountinfo_parse_line(const char *line, size_t len, char *scratch, size_t cap,
                         struct mountinfo *out);

/* Decode the kernel's octal escapes of [s, s+n) into dst (cap bytes,
 * NUL-terminated, truncated if needed).  Returns the decoded length. */
size_t mountinfo_unescape(const char *s, size_t n, char *dst, size_t cap);

/* True if `opts` (comma-separated) holds the option `name` exactly. */
bool mount_has_option(const char *opts, const char *name);

/* What kind of file system an fstype names, for disk usage reports:
 * FS_PSEUDO has no meaningful usage (proc, sysfs, cgroup, devpts...),
 * FS_NETWORK may block statfs() for minutes when its server hangs (nfs,
 * cifs, ceph, fuse.sshfs... and every FUSE file system but fuseblk, whose
 * daemon can hang too), FS_LOCAL is everything else (ext4, xfs, btrfs,
 * vfat, tmpfs, overlay, zfs, squashfs, fuseblk...). */
enum fs_class { FS_LOCAL, FS_PSEUDO, FS_NETWORK };
enum fs_class fs_classify(const char *fstype);

/* ---- /proc/diskstats ------------------------------------------------------ */

/* One device line.  `nfields` counts every field of the line including
 * major, minor and name: 14 (2.6+), 18 (4.18+, discards), 20 (5.5+,
 * flushes), or 7 for partitions on 2.6.0-2.6.24 kernels (reads,
 * read_sectors, writes, write_sectors only).  Missing counters are 0. */
struct diskstats {
	unsigned major, minor;
	char name[64];
	int nfields;
	uint64_t reads, reads_merged, read_sectors, read_ms;
	uint64_t writes, writes_merged, write_sectors, write_ms;
	uint64_t in_flight, io_ms, weighted_ms;
	uint64_t discards, discards_merged, discard_sectors, discard_ms;
	uint64_t flushes, flush_ms;
};

/* Returns 0, or -EINVAL (too few fields, garbage, a name too long). */
int diskstats_parse_line(const char *line, size_t len, struct diskstats *out);

/* ---- cgroup counter files (v1 and v2) ------------------------------------ */

/* v1 reports "no limit" as the largest page-aligned value below 2^63
 * (9223372036854771712 with 4 KiB pages, less with larger pages): any value
 * at or above this is taken as unlimited. */
#define CG_V1_UNLIMITED_MIN 0x7FFFFFFFFFF00000ULL

/* A file holding one number ("53837824\n"): memory.current, cpuacct.usage,
 * pids.current, memory.usage_in_bytes. */
int cg_parse_u64(const char *buf, size_t len, uint64_t *out);

/* A limit: "max" (v2) or a number; "max", "-1" and v1's huge "unlimited"
 * values give UINT64_MAX.  memory.max, memory.limit_in_bytes, pids.max. */
int cg_parse_limit(const char *buf, size_t len, uint64_t *out);

/* A flat keyed file of "key value" lines (cpu.stat, memory.stat,
 * cpuacct.stat): the value of `key`, -ENOENT when absent, -EINVAL when the
 * key is there but its value is not a number. */
int cg_parse_keyed(const char *buf, size_t len, const char *key, uint64_t *out);

struct cg_io {
	uint64_t read_bytes, write_bytes, read_ops, write_ops;
};

/* v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N"
 * per device, summed into *out (zeroed first).  Unknown keys are ignored.
 * Returns the number of device lines, or -EINVAL for a malformed line. */
int cg_parse_io_stat(const char *buf, size_t len, struct cg_io *out);

/* v1 blkio.throttle.io_service_bytes / io_serviced (and their _recursive
 * and CFQ/BFQ twins): "MAJ:MIN Read N" ... "MAJ:MIN Total N", then
 * "Total N".  The Read and Write lines of every device are summed.
 * Returns the number of device lines, or -EINVAL for a malformed line. */
int cg_parse_blkio(const char *buf, size_t len, uint64_t *read, uint64_t *write);

#endif
