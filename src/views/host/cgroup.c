/*
 * cgroup.c - find the cgroup hierarchies and read one cgroup's counters.
 *
 * How: cgroup_mounts_open() streams a mountinfo file and opens one
 * directory fd per hierarchy (the cgroup2 mount, and the v1 mount of each
 * controller we read: cpu, cpuacct, memory, blkio, pids).  cgroup_read()
 * resolves the cgroup's directory under each hierarchy and reads the
 * counter files there with the pure parsers of linux/stats_parse.c:
 *
 *   what          v2                                v1
 *   cpu time      cpu.stat usage/user/system_usec   cpuacct.usage, .usage_user,
 *                                                   .usage_sys (or cpuacct.stat ticks)
 *   throttling    cpu.stat nr_periods, nr_throttled, cpu.stat (same, throttled_time ns)
 *                 throttled_usec
 *   memory        memory.current, memory.max,       memory.usage_in_bytes,
 *                 memory.stat file/anon             .limit_in_bytes, memory.stat
 *                                                   total_cache/total_rss
 *   I/O           io.stat                           blkio.throttle.io_service_bytes
 *                                                   / io_serviced (_recursive first)
 *   pids          pids.current, pids.max            same names
 *
 * v1 controllers are read first; the cgroup2 directory then fills only what
 * is still missing, so a hybrid machine gets each counter from the
 * hierarchy that really accounts it.
 */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../../util/util.h"
#include "../../linux/linereader.h"
#include "../../linux/stats_parse.h"

#define CG_FILE_MAX (1u << 20) /* io.stat of a host with many disks */

static const char *const ctrl_names[CG_NCTRL] = {"cpu", "cpuacct", "memory", "blkio", "pids"};

const char *cg_ctrl_name(enum cg_ctrl c)
{
	return (unsigned)c < CG_NCTRL ? ctrl_names[c] : "?";
}

static void mounts_init(struct cgroup_mounts *m)
{
	memset(m, 0, sizeof(*m));
	m->v2_fd = -1;
	for (int i = 0; i < CG_NCTRL; i++)
		m->v1_fd[i] = -1;
}

bool cgroup_mounts_any(const struct cgroup_mounts *m)
{
	if (m->v2_fd >= 0)
		return true;
	for (int i = 0; i < CG_NCTRL; i++)
		if (m->v1_fd[i] >= 0)
			return true;
	return false;
}

/* Open a mount point: under /sys through sys_fd, else by absolute path. */
static int open_mountpoint(const char *mp, int sys_fd)
{
	int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	if (sys_fd >= 0 && strncmp(mp, "/sys/", 5) == 0 && mp[5])
		return openat(sys_fd, mp + 5, flags);
	return open(mp, flags);
}

/* Keep mount `mi` in *fd/root if the slot is empty, or if it shows the
 * whole hierarchy ("/") where the kept one shows only a subtree. */
static void take_mount(int *fd, char *root, const struct mountinfo *mi, int sys_fd)
{
	bool whole = strcmp(mi->root, "/") == 0;
	if (*fd >= 0 && (!whole || strcmp(root, "/") == 0))
		return;
	if (strlen(mi->root) >= CG_ROOT_MAX)
		return;
	int nfd = open_mountpoint(mi->mountpoint, sys_fd);
	if (nfd < 0)
		return;
	if (*fd >= 0)
		close(*fd);
	*fd = nfd;
	strcpy(root, mi->root);
}

int cgroup_mounts_open(int proc_fd, const char *mountinfo, int sys_fd, struct cgroup_mounts *m)
{
	struct linereader lr;
	const char *line;
	size_t len;
	char scratch[MOUNTINFO_SCRATCH(16384)];
	int r;

	mounts_init(m);
	int fd = openat(proc_fd, mountinfo, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((r = lr_init(&lr, fd, 16384)) < 0)
		return r;
	while ((r = lr_next(&lr, &line, &len)) > 0) {
		struct mountinfo mi;
		if (len < 8 || !memmem(line, len, " - cgroup", 9))
			continue; /* fast path: not a cgroup mount */
		if (mountinfo_parse_line(line, len, scratch, sizeof(scratch), &mi) < 0)
			continue;
		if (strcmp(mi.fstype, "cgroup2") == 0) {
			take_mount(&m->v2_fd, m->v2_root, &mi, sys_fd);
			continue;
		}
		if (strcmp(mi.fstype, "cgroup") != 0)
			continue;
		for (int c = 0; c < CG_NCTRL; c++)
			if (mount_has_option(mi.super_options, ctrl_names[c]))
				take_mount(&m->v1_fd[c], m->v1_root[c], &mi, sys_fd);
	}
	lr_close(&lr);
	if (r < 0) {
		cgroup_mounts_close(m);
		return r;
	}
	return 0;
}

void cgroup_mounts_close(struct cgroup_mounts *m)
{
	if (m->v2_fd >= 0)
		close(m->v2_fd);
	for (int i = 0; i < CG_NCTRL; i++)
		if (m->v1_fd[i] >= 0)
			close(m->v1_fd[i]);
	mounts_init(m);
}

/* ---- reading files ------------------------------------------------------- */

/* A one-value file: a number (limit=false) or a limit. */
static bool read_value(int dirfd, const char *name, bool limit, uint64_t *out)
{
	char tmp[64];
	ssize_t n = read_small_at(dirfd, name, tmp, sizeof(tmp));
	if (n <= 0)
		return false;
	return (limit ? cg_parse_limit(tmp, (size_t)n, out) : cg_parse_u64(tmp, (size_t)n, out)) ==
	       0;
}

/* A multi-line file into b (reset first). */
static bool read_text(int dirfd, const char *name, struct buf *b)
{
	buf_reset(b);
	return read_file_at(dirfd, name, b, CG_FILE_MAX) > 0;
}

static bool keyed(const struct buf *b, const char *key, uint64_t *out)
{
	return cg_parse_keyed(b->data, b->len, key, out) == 0;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	if (1000000000 % hz == 0)
		return mul_sat(ticks, 1000000000 / (uint64_t)hz);
	return (uint64_t)((double)ticks * 1e9 / (double)hz);
}

/* ---- v2 -------------------------------------------------------------------- */

static void v2_cpu(int d, struct buf *b, struct vt_cgroup *o)
{
	uint64_t usage, user = 0, sys = 0, periods, throttled, tus;
	if (!read_text(d, "cpu.stat", b))
		return;
	if (!(o->have & VC_CPU) && keyed(b, "usage_usec", &usage)) {
		keyed(b, "user_usec", &user);
		keyed(b, "system_usec", &sys);
		o->cpu_usage_ns = mul_sat(usage, 1000);
		o->cpu_user_ns = mul_sat(user, 1000);
		o->cpu_system_ns = mul_sat(sys, 1000);
		o->have |= VC_CPU;
	}
	if (!(o->have & VC_THROTTLE) && keyed(b, "nr_periods", &periods) &&
	    keyed(b, "nr_throttled", &throttled) && keyed(b, "throttled_usec", &tus)) {
		o->nr_periods = periods;
		o->nr_throttled = throttled;
		o->throttled_ns = mul_sat(tus, 1000);
		o->have |= VC_THROTTLE;
	}
}

static void v2_memory(int d, struct buf *b, struct vt_cgroup *o)
{
	if (!(o->have & VC_MEM) && read_value(d, "memory.current", false, &o->mem_usage))
		o->have |= VC_MEM;
	if (!(o->have & VC_MEMLIMIT) && read_value(d, "memory.max", true, &o->mem_limit))
		o->have |= VC_MEMLIMIT;
	if (!(o->have & VC_MEMSTAT) && read_text(d, "memory.stat", b) &&
	    keyed(b, "file", &o->mem_cache) && keyed(b, "anon", &o->mem_anon))
		o->have |= VC_MEMSTAT;
}

static void v2_io(int d, struct buf *b, struct vt_cgroup *o)
{
	struct cg_io io;
	if (o->have & VC_IO)
		return;
	/* An empty io.stat is valid: no I/O yet. */
	buf_reset(b);
	if (read_file_at(d, "io.stat", b, CG_FILE_MAX) < 0 ||
	    cg_parse_io_stat(b->data ? b->data : "", b->len, &io) < 0)
		return;
	o->io_read_bytes = io.read_bytes;
	o->io_write_bytes = io.write_bytes;
	o->io_read_ops = io.read_ops;
	o->io_write_ops = io.write_ops;
	o->have |= VC_IO;
}

static void read_pids(int d, struct vt_cgroup *o)
{
	if (!(o->have & VC_PIDS) && read_value(d, "pids.current", false, &o->pids_current))
		o->have |= VC_PIDS;
	if (!(o->have & VC_PIDSLIMIT) && read_value(d, "pids.max", true, &o->pids_limit))
		o->have |= VC_PIDSLIMIT;
}

int cgroup_read_v2(int d, struct vt_cgroup *o)
{
	struct buf b = BUF_INIT;
	unsigned before = o->have;
	if (d < 0)
		return -ENOENT;
	v2_cpu(d, &b, o);
	v2_memory(d, &b, o);
	v2_io(d, &b, o);
	read_pids(d, o);
	buf_free(&b);
	return o->have != before ? 0 : -ENOENT;
}

/* ---- v1 -------------------------------------------------------------------- */

static void v1_cpuacct(int d, struct buf *b, struct vt_cgroup *o)
{
	uint64_t user, sys;
	if (d < 0 || (o->have & VC_CPU) || !read_value(d, "cpuacct.usage", false, &o->cpu_usage_ns))
		return;
	o->have |= VC_CPU;
	if (read_value(d, "cpuacct.usage_user", false, &user) &&
	    read_value(d, "cpuacct.usage_sys", false, &sys)) {
		o->cpu_user_ns = user;
		o->cpu_system_ns = sys;
	} else if (read_text(d, "cpuacct.stat", b) && keyed(b, "user", &user) &&
	           keyed(b, "system", &sys)) {
		o->cpu_user_ns = ticks_to_ns(user);
		o->cpu_system_ns = ticks_to_ns(sys);
	}
}

static void v1_cpu(int d, struct buf *b, struct vt_cgroup *o)
{
	if (d < 0 || (o->have & VC_THROTTLE) || !read_text(d, "cpu.stat", b))
		return;
	if (keyed(b, "nr_periods", &o->nr_periods) && keyed(b, "nr_throttled", &o->nr_throttled) &&
	    keyed(b, "throttled_time", &o->throttled_ns))
		o->have |= VC_THROTTLE;
}

static void v1_memory(int d, struct buf *b, struct vt_cgroup *o)
{
	if (d < 0)
		return;
	if (!(o->have & VC_MEM) && read_value(d, "memory.usage_in_bytes", false, &o->mem_usage))
		o->have |= VC_MEM;
	if (!(o->have & VC_MEMLIMIT) && read_value(d, "memory.limit_in_bytes", true, &o->mem_limit))
		o->have |= VC_MEMLIMIT;
	if (!(o->have & VC_MEMSTAT) && read_text(d, "memory.stat", b)) {
		/* total_* are hierarchical (this cgroup and below), like usage. */
		if ((keyed(b, "total_cache", &o->mem_cache) &&
		     keyed(b, "total_rss", &o->mem_anon)) ||
		    (keyed(b, "cache", &o->mem_cache) && keyed(b, "rss", &o->mem_anon)))
			o->have |= VC_MEMSTAT;
	}
}

/* The first of `names` that exists and parses, as read/write sums. */
static bool v1_blkio_file(int d, struct buf *b, const char *const names[2], uint64_t *r,
                          uint64_t *w)
{
	for (int i = 0; i < 2; i++) {
		buf_reset(b);
		if (read_file_at(d, names[i], b, CG_FILE_MAX) < 0)
			continue;
		if (cg_parse_blkio(b->data ? b->data : "", b->len, r, w) >= 0)
			return true;
	}
	return false;
}

static void v1_blkio(int d, struct buf *b, struct vt_cgroup *o)
{
	static const char *const bytes[2] = {"blkio.throttle.io_service_bytes_recursive",
	                                     "blkio.throttle.io_service_bytes"};
	static const char *const ops[2] = {"blkio.throttle.io_serviced_recursive",
	                                   "blkio.throttle.io_serviced"};
	if (d < 0 || (o->have & VC_IO))
		return;
	if (v1_blkio_file(d, b, bytes, &o->io_read_bytes, &o->io_write_bytes) &&
	    v1_blkio_file(d, b, ops, &o->io_read_ops, &o->io_write_ops))
		o->have |= VC_IO;
}

int cgroup_read_v1(const int dirfd[CG_NCTRL], struct vt_cgroup *o)
{
	struct buf b = BUF_INIT;
	unsigned before = o->have;
	v1_cpuacct(dirfd[CG_CPUACCT], &b, o);
	v1_cpu(dirfd[CG_CPU], &b, o);
	v1_memory(dirfd[CG_MEMORY], &b, o);
	v1_blkio(dirfd[CG_BLKIO], &b, o);
	if (dirfd[CG_PIDS] >= 0)
		read_pids(dirfd[CG_PIDS], o);
	buf_free(&b);
	return o->have != before ? 0 : -ENOENT;
}

/* ---- paths ------------------------------------------------------------------ */

static bool has_dotdot(const char *p)
{
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/'))
			return true;
	return false;
}

/* Open `path` below a mount whose root is `root`.  -EINVAL when the path
 * is not below the root. */
static int open_cgroup_dir(int mfd, const char *root, const char *path)
{
	size_t rl = strlen(root);
	const char *rel = path;
	if (strcmp(root, "/") != 0) {
		if (strncmp(path, root, rl) != 0 || (path[rl] != 0 && path[rl] != '/'))
			return -EINVAL;
		rel = path + rl;
	}
	while (*rel == '/')
		rel++;
	int fd = openat(mfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int cgroup_dirs_open(const struct cgroup_mounts *m, const char *path, int version,
                     struct cgroup_dirs *d)
{
	int bad = 0;
	bool any = false;

	d->v2 = -1;
	for (int c = 0; c < CG_NCTRL; c++)
		d->v1[c] = -1;
	if (!path || path[0] != '/' || has_dotdot(path))
		return -EINVAL;
	for (int c = 0; c < CG_NCTRL; c++) {
		if (version == 2 || m->v1_fd[c] < 0)
			continue;
		d->v1[c] = open_cgroup_dir(m->v1_fd[c], m->v1_root[c], path);
		if (d->v1[c] == -EINVAL)
			bad = -EINVAL;
		any |= d->v1[c] >= 0;
	}
	if (version != 1 && m->v2_fd >= 0) {
		d->v2 = open_cgroup_dir(m->v2_fd, m->v2_root, path);
		if (d->v2 == -EINVAL)
			bad = -EINVAL;
		any |= d->v2 >= 0;
	}
	if (any)
		return 0;
	cgroup_dirs_close(d);
	return bad ? bad : -ENOENT;
}

int cgroup_dirs_read(const struct cgroup_dirs *d, struct vt_cgroup *out)
{
	int v1[CG_NCTRL], r = -ENOENT;
	bool any_v1 = false;

	memset(out, 0, sizeof(*out));
	for (int c = 0; c < CG_NCTRL; c++)
		v1[c] = d->v1[c] >= 0 ? d->v1[c] : -1;
	if (cgroup_read_v1(v1, out) == 0) {
		any_v1 = true;
		r = 0;
	}
	if (d->v2 >= 0 && cgroup_read_v2(d->v2, out) == 0)
		r = 0;
	out->version = any_v1 ? 1 : 2;
	return r;
}

void cgroup_dirs_close(struct cgroup_dirs *d)
{
	for (int c = 0; c < CG_NCTRL; c++) {
		if (d->v1[c] >= 0)
			close(d->v1[c]);
		d->v1[c] = -1;
	}
	if (d->v2 >= 0)
		close(d->v2);
	d->v2 = -1;
}

int cgroup_read(const struct cgroup_mounts *m, const char *path, int version, struct vt_cgroup *out)
{
	struct cgroup_dirs d;
	memset(out, 0, sizeof(*out));
	int r = cgroup_dirs_open(m, path, version, &d);
	if (r < 0)
		return r;
	r = cgroup_dirs_read(&d, out);
	cgroup_dirs_close(&d);
	return r;
}
