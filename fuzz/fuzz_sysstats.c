/*
 * fuzz_sysstats.c - the parsers of the kernel's system-wide text files:
 * /proc/stat, meminfo, loadavg, mountinfo, diskstats, the cgroup counter
 * files (src/linux/stats_parse.c), /proc/net/dev (netdev_parse.c),
 * nf_conntrack (conntrack_parse.c), /proc/net/tcp, tcp6, udp, udp6
 * (procnet_parse.c), the line reader that streams them
 * (src/linux/linereader.c) and the cgroup hierarchy finder that reads
 * mountinfo through it (cgroup_mounts_open, src/views/host/cgroup.c).
 * They come from the host, but also from a container's /proc and from
 * files a guest controls.
 *
 * The first byte picks the parser (fuzz_pick):
 *   0 /proc/stat  1 meminfo  2 loadavg  3 mountinfo  4 diskstats
 *   5 a one-number cgroup file (memory.current, pids.max...)
 *   6 a keyed cgroup file (cpu.stat, memory.stat, memory.events)
 *   7 io.stat  8 blkio.throttle.io_service_bytes  9 /proc/net/dev
 *   10 nf_conntrack  11 /proc/net/tcp|tcp6|udp|udp6  12 the line reader
 *   (the next byte sets its buffer size)  13 mountinfo through
 *   cgroup_mounts_open()
 * Seeds in fuzz/corpus/sysstats/: the real files of this machine.
 */
#include "fuzz.h"

#include "linux/conntrack_parse.h"
#include "linux/linereader.h"
#include "linux/netdev_parse.h"
#include "linux/procnet_parse.h"
#include "linux/stats_parse.h"
#include "views/host/cgroup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define NPICK 14

/* Calls fn on each line of [s, s+n). */
static void each_line(const char *s, size_t n, void (*fn)(const char *l, size_t ln))
{
	const char *p = s, *e = s + n, *l;
	size_t ln;
	while (stats_next_line(&p, e, &l, &ln)) {
		CHECK(l >= s && ln <= n && (size_t)(l - s) <= n - ln);
		fn(l, ln);
	}
}

static void cpu_line(const char *l, size_t n)
{
	struct cpu_ticks t;
	if (stat_parse_cpu_line(l, n, &t) == 1)
		CHECK(t.ncols >= 4 && t.ncols <= 10 && t.cpu >= -1);
}

static void cstr(const char *s)
{
	CHECK(s != NULL);
	(void)strlen(s); /* NUL-terminated inside scratch (ASan) */
}

static void mountinfo_line(const char *l, size_t n)
{
	size_t cap = MOUNTINFO_SCRATCH(n);
	char *scratch = malloc(cap);
	struct mountinfo mi;
	if (!scratch)
		abort();
	if (mountinfo_parse_line(l, n, scratch, cap, &mi) == 0) {
		const char *f[] = {mi.root,   mi.mountpoint, mi.options,
		                   mi.fstype, mi.source,     mi.super_options};
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			cstr(f[i]);
			CHECK(f[i] >= scratch && f[i] < scratch + cap);
		}
		(void)mount_has_option(mi.options, "ro");
		(void)mount_has_option(mi.super_options, "memory");
		(void)fs_classify(mi.fstype);
	}
	/* a scratch one byte too small is refused, not overrun */
	CHECK(mountinfo_parse_line(l, n, scratch, cap - 1, &mi) == -ENOSPC);
	free(scratch);
	/* unescaping into buffers of every small size */
	char d[8];
	for (size_t c = 1; c <= sizeof(d); c++) {
		size_t k = mountinfo_unescape(l, n, d, c);
		CHECK(k < c && d[k] == '\0');
	}
}

static void diskstats_line(const char *l, size_t n)
{
	struct diskstats d;
	if (diskstats_parse_line(l, n, &d) == 0)
		CHECK(memchr(d.name, '\0', sizeof(d.name)) != NULL);
}

static void netdev_line(const char *l, size_t n)
{
	struct netdev_line d;
	if (netdev_parse_line(l, n, &d) == 1) {
		CHECK(memchr(d.name, '\0', sizeof(d.name)) != NULL);
		CHECK(d.c.ifname == d.name);
	}
}

static void procnet_line(const char *l, size_t n)
{
	struct procnet_sock ps;
	static const int fp[4][2] = {{AF_INET, IPPROTO_TCP},
	                             {AF_INET6, IPPROTO_TCP},
	                             {AF_INET, IPPROTO_UDP},
	                             {AF_INET6, IPPROTO_UDP}};
	for (int i = 0; i < 4; i++)
		if (procnet_parse_line(l, n, fp[i][0], fp[i][1], &ps) == 0) {
			CHECK(ps.s.family == fp[i][0] && ps.s.proto == fp[i][1]);
			struct vt_sock vs;
			sd_sock_format(&ps.s, &vs);
		}
}

static int ct_cb(void *ctx, const struct ct_entry *e)
{
	(*(long *)ctx)++;
	return 0;
}

static void linereader(const uint8_t *data, size_t size)
{
	size_t cap = 64 + (size ? data[0] : 0);
	if (size) {
		data++;
		size--;
	}
	const char *path = fuzz_file("lr", data, size);
	if (!path)
		abort();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		abort();
	struct linereader lr;
	if (lr_init(&lr, fd, cap) < 0)
		abort();
	/* the lines must be exactly those of the input shorter than cap, and
	 * the others counted as skipped */
	const char *in = (const char *)data, *ie = in + size;
	uint64_t skipped = 0;
	const char *line;
	size_t len;
	int r;
	while ((r = lr_next(&lr, &line, &len)) > 0) {
		CHECK(line >= lr.buf && len < lr.cap && (size_t)(line - lr.buf) + len <= lr.cap);
		for (;;) { /* the next input line kept */
			CHECK(in < ie);
			const char *nl = memchr(in, '\n', (size_t)(ie - in));
			size_t il = nl ? (size_t)(nl - in) : (size_t)(ie - in);
			const char *l0 = in;
			in += il + (nl != NULL);
			if (il >= cap) {
				skipped++;
				continue;
			}
			CHECK(il == len && memcmp(l0, line, len) == 0);
			break;
		}
	}
	CHECK(r == 0);
	while (in < ie) { /* what is left is only lines too long */
		const char *nl = memchr(in, '\n', (size_t)(ie - in));
		size_t il = nl ? (size_t)(nl - in) : (size_t)(ie - in);
		CHECK(il >= cap);
		skipped++;
		in += il + (nl != NULL);
	}
	CHECK(lr.skipped == skipped);
	lr_close(&lr);
}

static void mounts_open(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("mountinfo", data, size);
	if (!path)
		abort();
	struct cgroup_mounts m;
	if (cgroup_mounts_open(AT_FDCWD, path, -1, &m) == 0) {
		CHECK(memchr(m.v2_root, '\0', sizeof(m.v2_root)) != NULL);
		for (int c = 0; c < CG_NCTRL; c++)
			CHECK(memchr(m.v1_root[c], '\0', sizeof(m.v1_root[c])) != NULL);
		(void)cgroup_mounts_any(&m);
		cgroup_mounts_close(&m);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned k = fuzz_pick(&data, &size, NPICK);
	if (k == 12) {
		linereader(data, size);
		return 0;
	}
	if (k == 13) {
		mounts_open(data, size);
		return 0;
	}
	/* an exact-size heap copy: ASan sees any read past the end */
	char *s = malloc(size ? size : 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	switch (k) {
	case 0:
		each_line(s, size, cpu_line);
		break;
	case 1: {
		struct vt_mem m;
		(void)meminfo_parse(s, size, &m);
		break;
	}
	case 2: {
		struct vt_load l;
		(void)loadavg_parse(s, size, &l);
		break;
	}
	case 3:
		each_line(s, size, mountinfo_line);
		break;
	case 4:
		each_line(s, size, diskstats_line);
		break;
	case 5: {
		uint64_t v;
		(void)cg_parse_u64(s, size, &v);
		(void)cg_parse_limit(s, size, &v);
		const char *p = s;
		double d;
		(void)stats_parse_decimal(&p, s + size, &d);
		CHECK(p >= s && p <= s + size);
		break;
	}
	case 6: {
		static const char *const keys[] = {
		    "usage_usec",   "user_usec",      "system_usec",    "nr_periods",
		    "nr_throttled", "throttled_usec", "throttled_time", "file",
		    "anon",         "total_cache",    "total_rss",      "hierarchical_memory_limit",
		    "oom_kill",     "user",           "system"};
		uint64_t v;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			(void)cg_parse_keyed(s, size, keys[i], &v);
		break;
	}
	case 7: {
		struct cg_io io;
		(void)cg_parse_io_stat(s, size, &io);
		break;
	}
	case 8: {
		uint64_t r, w;
		(void)cg_parse_blkio(s, size, &r, &w);
		break;
	}
	case 9:
		each_line(s, size, netdev_line);
		break;
	case 10: {
		long n = 0;
		long r = ct_parse_table(s, size, ct_cb, &n);
		CHECK(r == n);
		break;
	}
	case 11:
		each_line(s, size, procnet_line);
		break;
	}
	free(s);
	return 0;
}
