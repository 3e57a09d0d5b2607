/*
 * Unit tests: the statistics parsers of views/host/stats_parse.c (/proc/stat
 * cpu lines, meminfo, loadavg, mountinfo, diskstats, file system classes)
 * and the line reader, fed good, malformed and truncated input.  Every
 * input is copied into an exact-size heap block (no terminator) so ASan
 * catches any read past its end; each good input is also parsed at every
 * prefix length to show truncation never crashes.  Last, the host's real
 * stat ops run against this machine's /proc, twice (the second time
 * through the files the view kept open), and the kept mount table follows
 * a mount and an unmount in a mount namespace of the test's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "views/host/host.h"
#include "../../src/linux/linereader.h"
#include "views/host/stats.h"
#include "../../src/linux/stats_parse.h"

static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static int cpu_line(const char *s, struct cpu_ticks *t)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	int r = stat_parse_cpu_line(p, n, t);
	free(p);
	return r;
}

/* ---- /proc/stat ---------------------------------------------------------- */

static void cpu_total_and_percpu(void **state)
{
	struct cpu_ticks t;
	assert_int_equal(cpu_line("cpu  1231 0 959 64582 198 0 56 1 0 0", &t), 1);
	assert_int_equal(t.cpu, -1);
	assert_int_equal(t.ncols, 10);
	assert_int_equal(t.user, 1231);
	assert_int_equal(t.system, 959);
	assert_int_equal(t.idle, 64582);
	assert_int_equal(t.iowait, 198);
	assert_int_equal(t.softirq, 56);
	assert_int_equal(t.steal, 1);

	assert_int_equal(cpu_line("cpu17 1 2 3 4 5 6 7 8 9 10", &t), 1);
	assert_int_equal(t.cpu, 17);
	assert_int_equal(t.guest_nice, 10);
	/* tabs, and columns a future kernel may add */
	assert_int_equal(cpu_line("cpu1\t1 2 3 4 5 6 7 8 9 10 11 12", &t), 1);
	assert_int_equal(t.cpu, 1);
	assert_int_equal(t.ncols, 10);
}

static void cpu_old_kernels(void **state)
{
	struct cpu_ticks t;
	/* 2.4: four columns; 2.6.0: seven; 2.6.11: eight (no guest) */
	assert_int_equal(cpu_line("cpu 10 20 30 40", &t), 1);
	assert_int_equal(t.ncols, 4);
	assert_int_equal(t.idle, 40);
	assert_int_equal(t.iowait, 0);
	assert_int_equal(t.steal, 0);
	assert_int_equal(cpu_line("cpu0 1 2 3 4 5 6 7", &t), 1);
	assert_int_equal(t.ncols, 7);
	assert_int_equal(t.softirq, 7);
	assert_int_equal(t.steal, 0);
	assert_int_equal(cpu_line("cpu0 1 2 3 4 5 6 7 8", &t), 1);
	assert_int_equal(t.steal, 8);
}

static void cpu_other_and_malformed(void **state)
{
	struct cpu_ticks t;
	assert_int_equal(cpu_line("intr 12345 0 0 0", &t), 0);
	assert_int_equal(cpu_line("ctxt 99", &t), 0);
	assert_int_equal(cpu_line("", &t), 0);
	assert_int_equal(cpu_line("cp", &t), 0);
	assert_int_equal(cpu_line("cpufreq 1 2 3 4", &t), 0);
	assert_int_equal(cpu_line("cpu", &t), -EINVAL);
	assert_int_equal(cpu_line("cpu ", &t), -EINVAL);
	assert_int_equal(cpu_line("cpu 1 2 3", &t), -EINVAL);
	assert_int_equal(cpu_line("cpu 1 2 x 4", &t), -EINVAL);
	assert_int_equal(cpu_line("cpu 1 2 3 -4", &t), -EINVAL);
	assert_int_equal(cpu_line("cpu1x 1 2 3 4", &t), -EINVAL);
	assert_int_equal(cpu_line("cpu99999999999 1 2 3 4", &t), -EINVAL);
	assert_int_equal(cpu_line("cpu 99999999999999999999999 2 3 4", &t), -EINVAL);
}

static void cpu_truncated(void **state)
{
	const char *s = "cpu3 1231 0 959 64582 198 0 56 1 0 0";
	size_t n = strlen(s);
	struct cpu_ticks t;
	for (size_t k = 0; k <= n; k++) {
		char *p = exact(s, k);
		int r = stat_parse_cpu_line(p, k, &t);
		assert_true(r >= -EINVAL && r <= 1);
		free(p);
	}
}

/* ---- meminfo, loadavg ------------------------------------------------------ */

static const char MEMINFO[] = "MemTotal:       24683656 kB\n"
                              "MemFree:        23684908 kB\n"
                              "MemAvailable:   24236044 kB\n"
                              "Buffers:           27348 kB\n"
                              "Cached:           581612 kB\n"
                              "SwapCached:            0 kB\n"
                              "SwapTotal:       1048572 kB\n"
                              "SwapFree:         524288 kB\n"
                              "HugePages_Total:       0\n";

static int meminfo(const char *s, size_t n, struct vt_mem *m)
{
	char *p = exact(s, n);
	int r = meminfo_parse(p, n, m);
	free(p);
	return r;
}

static void meminfo_good(void **state)
{
	struct vt_mem m;
	assert_int_equal(meminfo(MEMINFO, strlen(MEMINFO), &m), 0);
	assert_int_equal(m.total_kb, 24683656);
	assert_int_equal(m.free_kb, 23684908);
	assert_int_equal(m.available_kb, 24236044);
	assert_int_equal(m.buffers_kb, 27348);
	assert_int_equal(m.cached_kb, 581612); /* not SwapCached */
	assert_int_equal(m.swap_total_kb, 1048572);
	assert_int_equal(m.swap_free_kb, 524288);
	assert_int_equal(m.have, VM_AVAILABLE | VM_SWAP | VM_CACHE);
}

static void meminfo_old_kernel(void **state)
{
	/* 3.13 and before: no MemAvailable */
	const char *s = "MemTotal: 1000 kB\nMemFree: 200 kB\nBuffers: 10 kB\nCached: 30 kB\n"
	                "SwapTotal: 0 kB\nSwapFree: 0 kB"; /* no final newline */
	struct vt_mem m;
	assert_int_equal(meminfo(s, strlen(s), &m), 0);
	assert_false(m.have & VM_AVAILABLE);
	assert_true(m.have & VM_CACHE);
	assert_true(m.have & VM_SWAP);
	assert_int_equal(m.cached_kb, 30);
	assert_int_equal(m.swap_total_kb, 0);
}

static void meminfo_malformed(void **state)
{
	struct vt_mem m;
	const char *nototal = "MemFree: 200 kB\n";
	const char *garbage = "MemTotal: lots\nMemFree: 1 kB\n";
	const char *skipbad = "MemTotal: 100 kB\nMemFree: 50 kB\nCached: x kB\nBuffers 7\n";
	assert_int_equal(meminfo(nototal, strlen(nototal), &m), -EINVAL);
	assert_int_equal(meminfo(garbage, strlen(garbage), &m), -EINVAL);
	assert_int_equal(meminfo("", 0, &m), -EINVAL);
	assert_int_equal(meminfo("\0\0\n\xff", 4, &m), -EINVAL);
	assert_int_equal(meminfo(skipbad, strlen(skipbad), &m), 0);
	assert_int_equal(m.total_kb, 100);
	assert_false(m.have & VM_CACHE);
	/* every prefix: parses or refuses, never crashes */
	for (size_t k = 0; k <= strlen(MEMINFO); k++) {
		int r = meminfo(MEMINFO, k, &m);
		assert_true(r == 0 || r == -EINVAL);
		if (k >= strlen(MEMINFO) - 1)
			assert_int_equal(r, 0);
	}
}

static int loadavg(const char *s, struct vt_load *l)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	int r = loadavg_parse(p, n, l);
	free(p);
	return r;
}

static void loadavg_cases(void **state)
{
	struct vt_load l;
	assert_int_equal(loadavg("0.22 0.07 1.50 1/87 4546\n", &l), 0);
	assert_true(l.load1 > 0.2199 && l.load1 < 0.2201);
	assert_true(l.load5 > 0.0699 && l.load5 < 0.0701);
	assert_true(l.load15 > 1.4999 && l.load15 < 1.5001); /* the 15-minute one */
	assert_int_equal(l.running, 1);
	assert_int_equal(l.total, 87);
	assert_int_equal(loadavg("12.00 3 0.5 10/2000", &l), 0);
	assert_int_equal(l.total, 2000);
	assert_int_equal(loadavg("", &l), -EINVAL);
	assert_int_equal(loadavg("0.22 0.07", &l), -EINVAL);
	assert_int_equal(loadavg("0.22 0.07 0.02 1", &l), -EINVAL);
	assert_int_equal(loadavg("0.22 0.07 0.02 1/", &l), -EINVAL);
	assert_int_equal(loadavg("0,22 0,07 0,02 1/87 1", &l), -EINVAL);
	assert_int_equal(loadavg("-1 0 0 1/2 3", &l), -EINVAL);
	assert_int_equal(loadavg("nan 0 0 1/2 3", &l), -EINVAL);
	const char *s = "0.22 0.07 0.02 1/87 4546\n";
	for (size_t k = 0; k <= strlen(s); k++) {
		char *p = exact(s, k);
		int r = loadavg_parse(p, k, &l);
		assert_true(r == 0 || r == -EINVAL);
		free(p);
	}
}

static void decimal_parser(void **state)
{
	const char *s = "3.25x";
	const char *p = s;
	double d;
	assert_true(stats_parse_decimal(&p, s + 5, &d));
	assert_true(d > 3.2499 && d < 3.2501);
	assert_int_equal(p - s, 4);
	p = s;
	assert_true(stats_parse_decimal(&p, s + 2, &d)); /* "3." */
	assert_true(d == 3.0);
	char big[400];
	memset(big, '9', sizeof(big));
	p = big;
	assert_false(stats_parse_decimal(&p, big + sizeof(big), &d)); /* inf */
	p = ".5";
	assert_false(stats_parse_decimal(&p, p + 2, &d));
}

/* ---- mountinfo ------------------------------------------------------------- */

static int mi(const char *s, struct mountinfo *m, char *scratch, size_t cap)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	int r = mountinfo_parse_line(p, n, scratch, cap, m);
	free(p); /* strings must live in scratch, not in the input */
	return r;
}

static void mountinfo_good(void **state)
{
	char sc[512];
	struct mountinfo m;
	assert_int_equal(mi("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root "
	                    "rw,errors=continue",
	                    &m, sc, sizeof(sc)),
	                 0);
	assert_int_equal(m.mount_id, 36);
	assert_int_equal(m.parent_id, 35);
	assert_int_equal(m.major, 98);
	assert_int_equal(m.minor, 0);
	assert_string_equal(m.root, "/mnt1");
	assert_string_equal(m.mountpoint, "/mnt2");
	assert_string_equal(m.options, "rw,noatime");
	assert_string_equal(m.fstype, "ext3");
	assert_string_equal(m.source, "/dev/root");
	assert_string_equal(m.super_options, "rw,errors=continue");

	/* no optional fields; several optional fields */
	assert_int_equal(
	    mi("27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard", &m, sc, sizeof(sc)), 0);
	assert_string_equal(m.mountpoint, "/");
	assert_int_equal(mi("5 1 0:5 / /x rw shared:1 master:2 propagate_from:3 unbindable - "
	                    "tmpfs tmpfs rw",
	                    &m, sc, sizeof(sc)),
	                 0);
	assert_string_equal(m.fstype, "tmpfs");
	/* cgroup v1 super options name the controllers */
	assert_int_equal(mi("32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup "
	                    "rw,cpu,cpuacct",
	                    &m, sc, sizeof(sc)),
	                 0);
	assert_true(mount_has_option(m.super_options, "cpu"));
	assert_true(mount_has_option(m.super_options, "cpuacct"));
	assert_false(mount_has_option(m.super_options, "cpuset"));
	assert_false(mount_has_option(m.super_options, "cp"));
	/* super options absent: tolerated */
	assert_int_equal(mi("1 0 0:1 / / rw - rootfs rootfs", &m, sc, sizeof(sc)), 0);
	assert_string_equal(m.super_options, "");
}

static void mountinfo_escapes(void **state)
{
	char sc[512];
	struct mountinfo m;
	assert_int_equal(mi("40 27 8:1 /my\\040dir /mnt/with\\040space\\011tab\\134back rw - "
	                    "vfat /dev/sd\\040b1 rw",
	                    &m, sc, sizeof(sc)),
	                 0);
	assert_string_equal(m.root, "/my dir");
	assert_string_equal(m.mountpoint, "/mnt/with space\ttab\\back");
	assert_string_equal(m.source, "/dev/sd b1");
	/* a newline in a mount point */
	assert_int_equal(mi("41 27 8:1 / /a\\012b rw - ext4 /dev/x rw", &m, sc, sizeof(sc)), 0);
	assert_string_equal(m.mountpoint, "/a\nb");
	/* not escapes: kept literally (incomplete, not octal, \000, > 0377) */
	char out[32];
	assert_int_equal(mountinfo_unescape("a\\04", 4, out, sizeof(out)), 4);
	assert_string_equal(out, "a\\04");
	assert_int_equal(mountinfo_unescape("\\09x", 4, out, sizeof(out)), 4);
	assert_int_equal(mountinfo_unescape("\\000", 4, out, sizeof(out)), 4);
	assert_string_equal(out, "\\000");
	assert_int_equal(mountinfo_unescape("\\777", 4, out, sizeof(out)), 4);
	assert_int_equal(mountinfo_unescape("x\\", 2, out, sizeof(out)), 2);
	/* bounded output */
	assert_int_equal(mountinfo_unescape("abcdef", 6, out, 4), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(mountinfo_unescape("abc", 3, out, 0), 0);
}

static void mountinfo_malformed(void **state)
{
	char sc[512];
	struct mountinfo m;
	/* no " - " separator */
	assert_int_equal(mi("36 35 98:0 / /mnt rw,noatime ext3 /dev/root rw", &m, sc, sizeof(sc)),
	                 -EINVAL);
	/* separator but no fstype / no source */
	assert_int_equal(mi("36 35 98:0 / /mnt rw -", &m, sc, sizeof(sc)), -EINVAL);
	assert_int_equal(mi("36 35 98:0 / /mnt rw - ext4", &m, sc, sizeof(sc)), -EINVAL);
	/* bad numbers */
	assert_int_equal(mi("x 35 98:0 / /mnt rw - ext4 /dev/a rw", &m, sc, sizeof(sc)), -EINVAL);
	assert_int_equal(mi("36 35 98-0 / /mnt rw - ext4 /dev/a rw", &m, sc, sizeof(sc)), -EINVAL);
	assert_int_equal(mi("36 35 98: / /mnt rw - ext4 /dev/a rw", &m, sc, sizeof(sc)), -EINVAL);
	assert_int_equal(mi("99999999999 35 1:0 / /m rw - ext4 /dev/a rw", &m, sc, sizeof(sc)),
	                 -EINVAL);
	/* empty fields (double spaces) */
	assert_int_equal(mi("36  35 98:0 / /mnt rw - ext4 /dev/a rw", &m, sc, sizeof(sc)), -EINVAL);
	assert_int_equal(mi("", &m, sc, sizeof(sc)), -EINVAL);
	/* scratch too small */
	assert_int_equal(mi("1 0 0:1 / / rw - ext4 /dev/a rw", &m, sc, 8), -ENOSPC);

	/* every prefix of a good line */
	const char *s = "36 35 98:0 /mnt\\0401 /mnt2 rw,noatime master:1 - ext3 /dev/root rw";
	size_t n = strlen(s);
	for (size_t k = 0; k <= n; k++) {
		char *p = exact(s, k);
		int r = mountinfo_parse_line(p, k, sc, sizeof(sc), &m);
		assert_true(r == 0 || r == -EINVAL);
		if (k < strlen("36 35 98:0 /mnt\\0401 /mnt2 rw,noatime master:1 - ext3 /"))
			assert_int_equal(r, -EINVAL);
		free(p);
	}
}

static void fs_classes(void **state)
{
	assert_int_equal(fs_classify("ext4"), FS_LOCAL);
	assert_int_equal(fs_classify("xfs"), FS_LOCAL);
	assert_int_equal(fs_classify("btrfs"), FS_LOCAL);
	assert_int_equal(fs_classify("tmpfs"), FS_LOCAL);
	assert_int_equal(fs_classify("overlay"), FS_LOCAL);
	assert_int_equal(fs_classify("vfat"), FS_LOCAL);
	assert_int_equal(fs_classify("zfs"), FS_LOCAL);
	assert_int_equal(fs_classify("fuseblk"), FS_LOCAL);
	assert_int_equal(fs_classify("proc"), FS_PSEUDO);
	assert_int_equal(fs_classify("sysfs"), FS_PSEUDO);
	assert_int_equal(fs_classify("cgroup2"), FS_PSEUDO);
	assert_int_equal(fs_classify("devtmpfs"), FS_PSEUDO);
	assert_int_equal(fs_classify("autofs"), FS_PSEUDO);
	assert_int_equal(fs_classify(""), FS_PSEUDO);
	assert_int_equal(fs_classify(NULL), FS_PSEUDO);
	assert_int_equal(fs_classify("nfs4"), FS_NETWORK);
	assert_int_equal(fs_classify("cifs"), FS_NETWORK);
	assert_int_equal(fs_classify("fuse.sshfs"), FS_NETWORK);
	assert_int_equal(fs_classify("fuse"), FS_NETWORK);
}

/* ---- diskstats -------------------------------------------------------------- */

static int ds(const char *s, struct diskstats *d)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	int r = diskstats_parse_line(p, n, d);
	free(p);
	return r;
}

static void diskstats_formats(void **state)
{
	struct diskstats d;
	/* 14 fields (2.6.25 - 4.17) */
	assert_int_equal(ds("   8       0 sda 100 2 3000 40 50 6 7000 80 0 90 120", &d), 0);
	assert_int_equal(d.nfields, 14);
	assert_int_equal(d.major, 8);
	assert_string_equal(d.name, "sda");
	assert_int_equal(d.reads, 100);
	assert_int_equal(d.read_sectors, 3000);
	assert_int_equal(d.writes, 50);
	assert_int_equal(d.write_sectors, 7000);
	assert_int_equal(d.io_ms, 90);
	assert_int_equal(d.discards, 0);
	/* 18 fields (4.18+) */
	assert_int_equal(ds(" 259 1 nvme0n1p1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", &d), 0);
	assert_int_equal(d.nfields, 18);
	assert_int_equal(d.minor, 1);
	assert_int_equal(d.discard_ms, 15);
	assert_int_equal(d.flushes, 0);
	/* 20 fields (5.5+), this machine's layout */
	assert_int_equal(ds(" 254       0 vda 25789 5038 1869962 4251 2050 5146 361688 1281 0 "
	                    "4232 6202 3835 76 101008 622 276 46",
	                    &d),
	                 0);
	assert_int_equal(d.nfields, 20);
	assert_int_equal(d.reads, 25789);
	assert_int_equal(d.write_sectors, 361688);
	assert_int_equal(d.flushes, 276);
	assert_int_equal(d.flush_ms, 46);
	/* more fields from a future kernel: accepted */
	assert_int_equal(ds("8 0 sdb 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19", &d), 0);
	assert_int_equal(d.nfields, 22);
	/* old partition lines: 7 fields */
	assert_int_equal(ds("   3    1 hda1 11 22 33 44", &d), 0);
	assert_int_equal(d.nfields, 7);
	assert_int_equal(d.reads, 11);
	assert_int_equal(d.read_sectors, 22);
	assert_int_equal(d.writes, 33);
	assert_int_equal(d.write_sectors, 44);
}

static void diskstats_malformed(void **state)
{
	struct diskstats d;
	assert_int_equal(ds("", &d), -EINVAL);
	assert_int_equal(ds("8 0", &d), -EINVAL);
	assert_int_equal(ds("8 0 sda", &d), -EINVAL);
	assert_int_equal(ds("8 0 sda 1 2 3 4 5 6 7 8", &d), -EINVAL); /* 11 fields */
	assert_int_equal(ds("8 0 sda 1 2 3 4 5 6 7 8 9 10 x", &d), -EINVAL);
	assert_int_equal(ds("a 0 sda 1 2 3 4 5 6 7 8 9 10 11", &d), -EINVAL);
	assert_int_equal(ds("8 0 sda 1 2 3 4 5 6 7 8 9 10 -11", &d), -EINVAL);
	char longname[200];
	snprintf(longname, sizeof(longname), "8 0 %0100d 1 2 3 4 5 6 7 8 9 10 11", 0);
	assert_int_equal(ds(longname, &d), -EINVAL);
	const char *s = "   8       0 sda 100 2 3000 40 50 6 7000 80 0 90 120 1 2 3 4 5 6";
	for (size_t k = 0; k <= strlen(s); k++) {
		char *p = exact(s, k);
		int r = diskstats_parse_line(p, k, &d);
		assert_true(r == 0 || r == -EINVAL);
		free(p);
	}
}

/* ---- line splitting and the line reader ---------------------------------------- */

static void next_line(void **state)
{
	const char *s = "a\n\nbc";
	const char *p = s, *l;
	size_t n;
	assert_true(stats_next_line(&p, s + 5, &l, &n));
	assert_int_equal(n, 1);
	assert_true(stats_next_line(&p, s + 5, &l, &n));
	assert_int_equal(n, 0);
	assert_true(stats_next_line(&p, s + 5, &l, &n));
	assert_int_equal(n, 2);
	assert_memory_equal(l, "bc", 2);
	assert_false(stats_next_line(&p, s + 5, &l, &n));
}

static int pipe_with(const char *text, size_t n)
{
	int fd[2];
	assert_int_equal(pipe(fd), 0);
	assert_int_equal(write(fd[1], text, n), (ssize_t)n);
	close(fd[1]);
	return fd[0];
}

static void linereader_lines(void **state)
{
	struct linereader lr;
	const char *l;
	size_t n;
	/* a tiny buffer (64, the minimum) forces refills and one too-long line */
	char text[400];
	int off = snprintf(text, sizeof(text), "first\n");
	memset(text + off, 'x', 100);
	off += 100;
	off += snprintf(text + off, sizeof(text) - (size_t)off, "\nsecond\n\nlast");
	assert_int_equal(lr_init(&lr, pipe_with(text, (size_t)off), 16), 0);
	assert_int_equal(lr_next(&lr, &l, &n), 1);
	assert_int_equal(n, 5);
	assert_memory_equal(l, "first", 5);
	assert_int_equal(lr_next(&lr, &l, &n), 1);
	assert_int_equal(n, 6);
	assert_memory_equal(l, "second", 6);
	assert_int_equal(lr.skipped, 1);
	assert_int_equal(lr_next(&lr, &l, &n), 1);
	assert_int_equal(n, 0);
	assert_int_equal(lr_next(&lr, &l, &n), 1);
	assert_memory_equal(l, "last", 4);
	assert_int_equal(lr_next(&lr, &l, &n), 0);
	assert_int_equal(lr_next(&lr, &l, &n), 0);
	lr_close(&lr);

	/* a too-long last line without newline is dropped; empty input */
	memset(text, 'y', 200);
	assert_int_equal(lr_init(&lr, pipe_with(text, 200), 64), 0);
	assert_int_equal(lr_next(&lr, &l, &n), 0);
	assert_int_equal(lr.skipped, 1);
	lr_close(&lr);
	assert_int_equal(lr_init(&lr, pipe_with("", 0), 64), 0);
	assert_int_equal(lr_next(&lr, &l, &n), 0);
	lr_close(&lr);
}

/* ---- the host's real ops on this machine ------------------------------------------- */

struct count {
	int n;
	int errors;
	bool total, root;
	double sum;
};

static int count_cpu(void *ctx, const struct vt_cpu *c)
{
	struct count *k = ctx;
	k->n++;
	if (c->cpu == -1)
		k->total = true;
	return 0;
}

static const char *watch_mount; /* count_fs: set k->sum when it is seen */

static int count_fs(void *ctx, const struct vt_fs *f)
{
	struct count *k = ctx;
	k->n++;
	if (watch_mount && strcmp(f->mountpoint, watch_mount) == 0)
		k->sum = 1;
	if (strcmp(f->mountpoint, "/") == 0) {
		k->root = true;
		assert_true(f->size_bytes > 0);
		assert_true(f->used_bytes <= f->size_bytes);
	}
	assert_int_not_equal(fs_classify(f->fstype), FS_PSEUDO);
	return 0;
}

static int count_disk(void *ctx, const struct vt_diskio *d)
{
	struct count *k = ctx;
	k->n++;
	assert_true(strncmp(d->device, "loop", 4) != 0 || d->reads || d->writes);
	return 0;
}

static int stop_at_one(void *ctx, const struct vt_cpu *c)
{
	return 7;
}

static void count_error(void *ctx, const char *what, int err)
{
	((struct count *)ctx)->errors++;
}

static int count_netio(void *ctx, const struct vt_netio *n)
{
	struct count *k = ctx;
	k->n++;
	if (strcmp(n->ifname, "lo") == 0)
		k->root = true;
	return 0;
}

static bool saw_mount(struct host_view *h, const char *dir)
{
	struct count k = {0};
	struct view_iter it = {.ctx = &k, .error = count_error};
	watch_mount = dir;
	assert_int_equal(host_filesystems(&h->base, &it, count_fs), 0);
	watch_mount = NULL;
	return k.sum == 1;
}

/* The kept mount table is read again after a mount and after an unmount
 * (poll on the open mountinfo), in a mount namespace of this process's
 * own (root only; skipped otherwise). */
static void kept_mounts_follow(void **state)
{
	char dir[] = "/tmp/vantage-stats-XXXXXX";
	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		skip();
	assert_non_null(mkdtemp(dir));
	struct host_view h = {0};
	h.proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	h.sys_fd = -1;
	assert_true(h.proc_fd >= 0);
	assert_int_equal(fsroot_init(&h.fs, "/"), 0);
	assert_false(saw_mount(&h, dir));
	assert_false(saw_mount(&h, dir)); /* nothing changed: the kept table */
	assert_int_equal(mount("vantage-test", dir, "tmpfs", 0, "size=1m"), 0);
	assert_true(saw_mount(&h, dir));
	assert_true(saw_mount(&h, dir));
	assert_int_equal(umount(dir), 0);
	assert_false(saw_mount(&h, dir));
	rmdir(dir);
	stats_cache_free(h.stats);
	fsroot_fini(&h.fs);
	close(h.proc_fd);
}

static void real_host(void **state)
{
	struct host_view h = {0};
	struct count k = {0};
	struct view_iter it = {.ctx = &k, .error = count_error};
	h.proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	h.sys_fd = open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(h.proc_fd >= 0 && h.sys_fd >= 0);
	assert_int_equal(fsroot_init(&h.fs, "/"), 0);

	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	assert_int_equal(host_cpu_times(&h.base, &it, count_cpu), 0);
	assert_true(k.total);
	assert_true(k.n >= 2 && k.n <= ncpu + 1);
	assert_int_equal(host_cpu_times(&h.base, &it, stop_at_one), 7);

	struct vt_mem m;
	assert_int_equal(host_memory(&h.base, &m), 0);
	assert_true(m.total_kb > 0 && m.free_kb <= m.total_kb);
	struct vt_load l;
	assert_int_equal(host_load(&h.base, &l), 0);
	assert_true(l.total >= 1);

	for (int pass = 0; pass < 2; pass++) { /* the second: through the kept files */
		memset(&k, 0, sizeof(k));
		assert_int_equal(host_filesystems(&h.base, &it, count_fs), 0);
		assert_true(k.root);
		assert_int_equal(k.errors, 0);

		memset(&k, 0, sizeof(k));
		assert_int_equal(host_disk_io(&h.base, &it, count_disk), 0);
		assert_int_equal(k.errors, 0);

		memset(&k, 0, sizeof(k));
		assert_int_equal(host_netio(&h.base, &it, count_netio), 0);
		assert_int_equal(k.errors, 0);
		assert_true(k.root); /* lo */

		memset(&k, 0, sizeof(k));
		assert_int_equal(host_cpu_times(&h.base, &it, count_cpu), 0);
		assert_true(k.total);
		assert_int_equal(host_memory(&h.base, &m), 0);
		assert_true(m.total_kb > 0);

		struct vt_cgroup cg;
		int r = host_cgroup(&h.base, &cg);
		assert_true(r == 0 || r == -ENOENT);
		if (r == 0)
			assert_true(cg.version == 1 || cg.version == 2);
	}
	assert_non_null(h.stats);
	stats_cache_free(h.stats);
	fsroot_fini(&h.fs);
	close(h.proc_fd);
	close(h.sys_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(kept_mounts_follow),  cmocka_unit_test(cpu_total_and_percpu),
	    cmocka_unit_test(cpu_old_kernels),     cmocka_unit_test(cpu_other_and_malformed),
	    cmocka_unit_test(cpu_truncated),       cmocka_unit_test(meminfo_good),
	    cmocka_unit_test(meminfo_old_kernel),  cmocka_unit_test(meminfo_malformed),
	    cmocka_unit_test(loadavg_cases),       cmocka_unit_test(decimal_parser),
	    cmocka_unit_test(mountinfo_good),      cmocka_unit_test(mountinfo_escapes),
	    cmocka_unit_test(mountinfo_malformed), cmocka_unit_test(fs_classes),
	    cmocka_unit_test(diskstats_formats),   cmocka_unit_test(diskstats_malformed),
	    cmocka_unit_test(next_line),           cmocka_unit_test(linereader_lines),
	    cmocka_unit_test(real_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
