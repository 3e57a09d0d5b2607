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
 *   OOM kills     memory.events oom_kill            memory.oom_control oom_kill
 *
 * v1 controllers are read first; the cgroup2 directory then fills only what
 * is still missing, so a hybrid machine gets each counter from the
 * hierarchy that really accounts it.  Limits are effective ones: the
 * tightest of the cgroup and its ancestors (memory.stat's
 * hierarchical_memory_limit on v1; the limit files of each ancestor level
 * otherwise, cpu.max and cpu.cfs_quota_us/cfs_period_us for the CPU quota).
 *
 * A struct cgroup_dirs keeps a table of fds, one per (level, file), opened
 * on first need: level 0 is the cgroup, level k its k-th ancestor (limit
 * files only).  Reads are pread() at offset 0, which makes the kernel
 * render the file afresh.
 */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../util/util.h"
#include "../../util/xalloc.h"
#include "../../linux/linereader.h"
#include "../../linux/proc_parse.h"
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

/* ---- the files of a cgroup ----------------------------------------------------- */

#define CG_LEVELS 16       /* the cgroup and up to 15 ancestors */
#define CG_RETRY_ABSENT 64 /* reads between tries of absent files */
#define CG_PATH_MAX 1024   /* a cgroup path below its mount */
#define CG_WALK_DIRS 256   /* cgroups cgroup_foreign_pid() reads */
#define CG_PROCS_MAX (4u << 20)

enum cg_file {
	F2_CPU_STAT,
	F2_CPU_MAX,
	F2_MEM_CURRENT,
	F2_MEM_MAX,
	F2_MEM_STAT,
	F2_IO_STAT,
	F2_PIDS_CURRENT,
	F2_PIDS_MAX,
	F2_MEM_EVENTS,
	F1_USAGE,
	F1_USAGE_USER,
	F1_USAGE_SYS,
	F1_CPUACCT_STAT,
	F1_CPU_STAT,
	F1_CFS_QUOTA,
	F1_CFS_PERIOD,
	F1_MEM_USAGE,
	F1_MEM_LIMIT,
	F1_MEM_STAT,
	F1_BLKIO_BYTES_REC,
	F1_BLKIO_BYTES,
	F1_BLKIO_OPS_REC,
	F1_BLKIO_OPS,
	F1_PIDS_CURRENT,
	F1_PIDS_MAX,
	F1_MEM_OOM,
	CG_NFILES
};

static const struct {
	const char *name;
	unsigned char hier;
} files[CG_NFILES] = {
    [F2_CPU_STAT] = {"cpu.stat", CG_V2},
    [F2_CPU_MAX] = {"cpu.max", CG_V2},
    [F2_MEM_CURRENT] = {"memory.current", CG_V2},
    [F2_MEM_MAX] = {"memory.max", CG_V2},
    [F2_MEM_STAT] = {"memory.stat", CG_V2},
    [F2_IO_STAT] = {"io.stat", CG_V2},
    [F2_PIDS_CURRENT] = {"pids.current", CG_V2},
    [F2_PIDS_MAX] = {"pids.max", CG_V2},
    [F2_MEM_EVENTS] = {"memory.events", CG_V2},
    [F1_USAGE] = {"cpuacct.usage", CG_CPUACCT},
    [F1_USAGE_USER] = {"cpuacct.usage_user", CG_CPUACCT},
    [F1_USAGE_SYS] = {"cpuacct.usage_sys", CG_CPUACCT},
    [F1_CPUACCT_STAT] = {"cpuacct.stat", CG_CPUACCT},
    [F1_CPU_STAT] = {"cpu.stat", CG_CPU},
    [F1_CFS_QUOTA] = {"cpu.cfs_quota_us", CG_CPU},
    [F1_CFS_PERIOD] = {"cpu.cfs_period_us", CG_CPU},
    [F1_MEM_USAGE] = {"memory.usage_in_bytes", CG_MEMORY},
    [F1_MEM_LIMIT] = {"memory.limit_in_bytes", CG_MEMORY},
    [F1_MEM_STAT] = {"memory.stat", CG_MEMORY},
    [F1_BLKIO_BYTES_REC] = {"blkio.throttle.io_service_bytes_recursive", CG_BLKIO},
    [F1_BLKIO_BYTES] = {"blkio.throttle.io_service_bytes", CG_BLKIO},
    [F1_BLKIO_OPS_REC] = {"blkio.throttle.io_serviced_recursive", CG_BLKIO},
    [F1_BLKIO_OPS] = {"blkio.throttle.io_serviced", CG_BLKIO},
    [F1_PIDS_CURRENT] = {"pids.current", CG_PIDS},
    [F1_PIDS_MAX] = {"pids.max", CG_PIDS},
    [F1_MEM_OOM] = {"memory.oom_control", CG_MEMORY},
};

#define FD_CLOSED (-1) /* open when next needed */
#define FD_ABSENT (-2) /* not there: tried again CG_RETRY_ABSENT reads later */

/*
 * base[h]: the fd paths in hierarchy h are relative to (a mount, or a
 * cgroup directory given by the caller), -1 when h is not read; rel[h]:
 * the cgroup below it ("" for base itself), no leading, trailing or double
 * slashes; nlev[h]: levels readable there (1: the cgroup only).
 */
struct cgroup_dirs {
	int base[CG_NHIER];
	char *rel[CG_NHIER];
	int nlev[CG_NHIER];
	int fd[CG_LEVELS][CG_NFILES];
	struct buf b;
	unsigned reads;
	bool stale;   /* a read failed with ENODEV/ENOENT: reopen */
	bool used_v1; /* a v1 file was read in this sample */
};

static struct cgroup_dirs *dirs_new(void)
{
	struct cgroup_dirs *d = xcalloc(1, sizeof(*d));
	for (int h = 0; h < CG_NHIER; h++)
		d->base[h] = -1;
	for (int l = 0; l < CG_LEVELS; l++)
		for (int f = 0; f < CG_NFILES; f++)
			d->fd[l][f] = FD_CLOSED;
	return d;
}

/* Close every file; absent ones too are tried again. */
static void dirs_close_files(struct cgroup_dirs *d)
{
	for (int l = 0; l < CG_LEVELS; l++)
		for (int f = 0; f < CG_NFILES; f++) {
			if (d->fd[l][f] >= 0)
				close(d->fd[l][f]);
			d->fd[l][f] = FD_CLOSED;
		}
}

void cgroup_dirs_close(struct cgroup_dirs *d)
{
	if (!d)
		return;
	dirs_close_files(d);
	for (int h = 0; h < CG_NHIER; h++)
		free(d->rel[h]);
	buf_free(&d->b);
	free(d);
}

int cgroup_dirs_nfiles(const struct cgroup_dirs *d)
{
	int n = 0;
	for (int l = 0; l < CG_LEVELS; l++)
		for (int f = 0; f < CG_NFILES; f++)
			n += d->fd[l][f] >= 0;
	return n;
}

/* "a/b/c" less `lev` components, then "/name" ("name" alone at the base). */
static bool level_file(const char *rel, int lev, const char *name, char *out, size_t cap)
{
	size_t n = strlen(rel);
	for (int i = 0; i < lev && n > 0; i++) {
		while (n > 0 && rel[n - 1] != '/')
			n--;
		if (n > 0)
			n--; /* the slash */
	}
	int w =
	    n ? snprintf(out, cap, "%.*s/%s", (int)n, rel, name) : snprintf(out, cap, "%s", name);
	return w > 0 && (size_t)w < cap;
}

/* The fd of file f at level lev, opened when needed; -1 when absent. */
static int file_fd(struct cgroup_dirs *d, int lev, int f)
{
	int h = files[f].hier, *fd = &d->fd[lev][f];
	char path[CG_PATH_MAX + 64];
	if (*fd >= 0 || *fd == FD_ABSENT)
		return *fd >= 0 ? *fd : -1;
	if (d->base[h] < 0 || lev >= d->nlev[h] ||
	    !level_file(d->rel[h], lev, files[f].name, path, sizeof(path))) {
		*fd = FD_ABSENT;
		return -1;
	}
	int r = openat(d->base[h], path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (r < 0) {
		/* out of fds or memory: try again next time */
		if (errno != EMFILE && errno != ENFILE && errno != ENOMEM && errno != EINTR)
			*fd = FD_ABSENT;
		return -1;
	}
	*fd = r;
	return r;
}

/* File f at level lev into d->b (NUL-terminated); false when unreadable. */
static bool read_text(struct cgroup_dirs *d, int lev, int f)
{
	int fd = file_fd(d, lev, f);
	struct buf *b = &d->b;
	if (fd < 0)
		return false;
	size_t cap = b->cap > 4096 ? b->cap - 1 : 4096;
	for (;;) {
		buf_reset(b);
		buf_reserve(b, cap);
		ssize_t n = pread(fd, b->data, cap, 0);
		if (n < 0) {
			if (errno == ENODEV || errno == ENOENT)
				d->stale = true;
			return false;
		}
		if ((size_t)n < cap) {
			b->len = (size_t)n;
			b->data[n] = 0;
			if (files[f].hier != CG_V2)
				d->used_v1 = true;
			return true;
		}
		if (cap >= CG_FILE_MAX)
			return false;
		cap *= 2;
	}
}

/* A one-value file: a number (limit=false) or a limit. */
static bool read_value(struct cgroup_dirs *d, int lev, int f, bool limit, uint64_t *out)
{
	if (!read_text(d, lev, f))
		return false;
	return (limit ? cg_parse_limit(d->b.data, d->b.len, out)
	              : cg_parse_u64(d->b.data, d->b.len, out)) == 0;
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

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The tightest of limit file f over the ancestors of the cgroup (levels
 * 1 and up), starting from `v`. */
static uint64_t ancestors_min(struct cgroup_dirs *d, int f, uint64_t v)
{
	uint64_t a;
	for (int l = 1; l < d->nlev[files[f].hier]; l++)
		if (read_value(d, l, f, true, &a))
			v = min_u64(v, a);
	return v;
}

/* ---- v2 -------------------------------------------------------------------- */

static void v2_cpu(struct cgroup_dirs *d, struct vt_cgroup *o)
{
	uint64_t usage, user = 0, sys = 0, periods, throttled, tus;
	if ((o->have & VC_CPU) && (o->have & VC_THROTTLE))
		return;
	if (!read_text(d, 0, F2_CPU_STAT))
		return;
	const struct buf *b = &d->b;
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

static void v2_memory(struct cgroup_dirs *d, struct vt_cgroup *o)
{
	uint64_t lim;
	if (!(o->have & VC_MEM) && read_value(d, 0, F2_MEM_CURRENT, false, &o->mem_usage))
		o->have |= VC_MEM;
	if (!(o->have & VC_MEMLIMIT) && read_value(d, 0, F2_MEM_MAX, true, &lim)) {
		o->mem_limit_own = lim;
		o->mem_limit = ancestors_min(d, F2_MEM_MAX, lim);
		o->have |= VC_MEMLIMIT;
	}
	if (!(o->have & VC_MEMSTAT) && read_text(d, 0, F2_MEM_STAT) &&
	    keyed(&d->b, "file", &o->mem_cache) && keyed(&d->b, "anon", &o->mem_anon))
		o->have |= VC_MEMSTAT;
	/* memory.events counts the cgroup's subtree (unless mounted with
	 * memory_localevents) */
	if (!(o->have & VC_OOM) && read_text(d, 0, F2_MEM_EVENTS) &&
	    keyed(&d->b, "oom_kill", &o->oom_kills))
		o->have |= VC_OOM;
}

static void v2_io(struct cgroup_dirs *d, struct vt_cgroup *o)
{
	struct cg_io io;
	/* An empty io.stat is valid: no I/O yet. */
	if ((o->have & VC_IO) || !read_text(d, 0, F2_IO_STAT) ||
	    cg_parse_io_stat(d->b.data, d->b.len, &io) < 0)
		return;
	o->io_read_bytes = io.read_bytes;
	o->io_write_bytes = io.write_bytes;
	o->io_read_ops = io.read_ops;
	o->io_write_ops = io.write_ops;
	o->have |= VC_IO;
}

/* pids.current and pids.max (f_cur, f_max) of v1 or v2. */
static void read_pids(struct cgroup_dirs *d, int f_cur, int f_max, struct vt_cgroup *o)
{
	uint64_t lim;
	if (!(o->have & VC_PIDS) && read_value(d, 0, f_cur, false, &o->pids_current))
		o->have |= VC_PIDS;
	if (!(o->have & VC_PIDSLIMIT) && read_value(d, 0, f_max, true, &lim)) {
		o->pids_limit_own = lim;
		o->pids_limit = ancestors_min(d, f_max, lim);
		o->have |= VC_PIDSLIMIT;
	}
}

/* ---- CPU quota --------------------------------------------------------------- */

/* Cores of a quota and period (quota UINT64_MAX: none); 0 for none. */
static double cores(uint64_t quota, uint64_t period)
{
	if (quota == UINT64_MAX || period == 0)
		return 0;
	return (double)quota / (double)period;
}

/* The tighter of two quotas in cores, 0 standing for none. */
static double min_cores(double a, double b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

/* v2 cpu.max: "max 100000" or "50000 100000" (the period is optional). */
static bool v2_cpu_max(struct cgroup_dirs *d, int lev, double *out)
{
	uint64_t quota, period = 100000;
	if (!read_text(d, lev, F2_CPU_MAX))
		return false;
	const char *p = d->b.data, *end = p + d->b.len, *sp = memchr(p, ' ', d->b.len);
	if (cg_parse_limit(p, sp ? (size_t)(sp - p) : d->b.len, &quota) < 0)
		return false;
	if (sp && cg_parse_u64(sp + 1, (size_t)(end - sp - 1), &period) < 0)
		return false;
	*out = cores(quota, period);
	return true;
}

/* v1 cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us. */
static bool v1_cfs(struct cgroup_dirs *d, int lev, double *out)
{
	uint64_t quota, period;
	if (!read_value(d, lev, F1_CFS_QUOTA, true, &quota) ||
	    !read_value(d, lev, F1_CFS_PERIOD, false, &period))
		return false;
	*out = cores(quota, period);
	return true;
}

static void cpu_limit(struct cgroup_dirs *d, struct vt_cgroup *o)
{
	bool (*at)(struct cgroup_dirs *, int, double *) = v1_cfs;
	int h = CG_CPU;
	double own, a;
	if (d->base[CG_CPU] < 0 || !v1_cfs(d, 0, &own)) {
		at = v2_cpu_max;
		h = CG_V2;
		if (!v2_cpu_max(d, 0, &own))
			return;
	}
	o->cpu_limit_own = o->cpu_limit = own;
	for (int l = 1; l < d->nlev[h]; l++)
		if (at(d, l, &a))
			o->cpu_limit = min_cores(o->cpu_limit, a);
	o->have |= VC_CPULIMIT;
}

/* ---- v1 -------------------------------------------------------------------- */

static void v1_cpuacct(struct cgroup_dirs *d, struct vt_cgroup *o)
{
	uint64_t user, sys;
	if ((o->have & VC_CPU) || !read_value(d, 0, F1_USAGE, false, &o->cpu_usage_ns))
		return;
	o->have |= VC_CPU;
	if (read_value(d, 0, F1_USAGE_USER, false, &user) &&
	    read_value(d, 0, F1_USAGE_SYS, false, &sys)) {
		o->cpu_user_ns = user;
		o->cpu_system_ns = sys;
	} else if (read_text(d, 0, F1_CPUACCT_STAT) && keyed(&d->b, "user", &user) &&
	           keyed(&d->b, "system", &sys)) {
		o->cpu_user_ns = ticks_to_ns(user);
		o->cpu_system_ns = ticks_to_ns(sys);
	}
}

static void v1_cpu(struct cgroup_dirs *d, struct vt_cgroup *o)
{
	if ((o->have & VC_THROTTLE) || !read_text(d, 0, F1_CPU_STAT))
		return;
	if (keyed(&d->b, "nr_periods", &o->nr_periods) &&
	    keyed(&d->b, "nr_throttled", &o->nr_throttled) &&
	    keyed(&d->b, "throttled_time", &o->throttled_ns))
		o->have |= VC_THROTTLE;
}

static void v1_memory(struct cgroup_dirs *d, struct vt_cgroup *o)
{
	uint64_t lim, h;
	bool have_lim = false;
	if (!(o->have & VC_MEM) && read_value(d, 0, F1_MEM_USAGE, false, &o->mem_usage))
		o->have |= VC_MEM;
	if (!(o->have & VC_MEMLIMIT) && read_value(d, 0, F1_MEM_LIMIT, true, &lim))
		have_lim = true;
	if ((have_lim || !(o->have & VC_MEMSTAT)) && read_text(d, 0, F1_MEM_STAT)) {
		/* total_* are hierarchical (this cgroup and below), like usage. */
		if (!(o->have & VC_MEMSTAT) &&
		    ((keyed(&d->b, "total_cache", &o->mem_cache) &&
		      keyed(&d->b, "total_rss", &o->mem_anon)) ||
		     (keyed(&d->b, "cache", &o->mem_cache) && keyed(&d->b, "rss", &o->mem_anon))))
			o->have |= VC_MEMSTAT;
		/* the tightest limit of the cgroup and its ancestors */
		if (have_lim && keyed(&d->b, "hierarchical_memory_limit", &h)) {
			if (h >= CG_V1_UNLIMITED_MIN)
				h = UINT64_MAX;
			o->mem_limit = min_u64(lim, h);
		} else if (have_lim) {
			o->mem_limit = lim;
		}
	} else if (have_lim) {
		o->mem_limit = lim;
	}
	if (have_lim) {
		o->mem_limit_own = lim;
		o->have |= VC_MEMLIMIT;
	}
	if (!(o->have & VC_OOM) && read_text(d, 0, F1_MEM_OOM) &&
	    keyed(&d->b, "oom_kill", &o->oom_kills))
		o->have |= VC_OOM;
}

/* The first of two blkio files that exists and parses, as read/write sums. */
static bool v1_blkio_file(struct cgroup_dirs *d, int f1, int f2, uint64_t *r, uint64_t *w)
{
	return (read_text(d, 0, f1) && cg_parse_blkio(d->b.data, d->b.len, r, w) >= 0) ||
	       (read_text(d, 0, f2) && cg_parse_blkio(d->b.data, d->b.len, r, w) >= 0);
}

static void v1_blkio(struct cgroup_dirs *d, struct vt_cgroup *o)
{
	if (o->have & VC_IO)
		return;
	if (v1_blkio_file(d, F1_BLKIO_BYTES_REC, F1_BLKIO_BYTES, &o->io_read_bytes,
	                  &o->io_write_bytes) &&
	    v1_blkio_file(d, F1_BLKIO_OPS_REC, F1_BLKIO_OPS, &o->io_read_ops, &o->io_write_ops))
		o->have |= VC_IO;
}

/* ---- one sample ---------------------------------------------------------------- */

/* Fill what *o lacks: v1 first, then cgroup2 (a hybrid machine gets each
 * counter from the hierarchy that really accounts it). */
static void read_all(struct cgroup_dirs *d, struct vt_cgroup *o)
{
	v1_cpuacct(d, o);
	v1_cpu(d, o);
	v1_memory(d, o);
	v1_blkio(d, o);
	read_pids(d, F1_PIDS_CURRENT, F1_PIDS_MAX, o);
	v2_cpu(d, o);
	v2_memory(d, o);
	v2_io(d, o);
	read_pids(d, F2_PIDS_CURRENT, F2_PIDS_MAX, o);
	if (!(o->have & VC_CPULIMIT))
		cpu_limit(d, o);
	if (d->used_v1)
		o->version = 1;
	else if (!o->version)
		o->version = 2;
}

int cgroup_dirs_read(struct cgroup_dirs *d, struct vt_cgroup *out)
{
	if (++d->reads % CG_RETRY_ABSENT == 0)
		for (int l = 0; l < CG_LEVELS; l++)
			for (int f = 0; f < CG_NFILES; f++)
				if (d->fd[l][f] == FD_ABSENT)
					d->fd[l][f] = FD_CLOSED;
	for (int attempt = 0;; attempt++) {
		memset(out, 0, sizeof(*out));
		d->stale = d->used_v1 = false;
		read_all(d, out);
		if (!d->stale || attempt > 0)
			break;
		dirs_close_files(d); /* removed (and perhaps made again): reopen */
	}
	return out->have ? 0 : -ENOENT;
}

/* cgroup_read_v1/v2: a cgroup_dirs over the caller's directories, its own
 * level only; the files are closed after the read. */
static int read_dirfds(const int dirfd[CG_NHIER], struct vt_cgroup *out)
{
	struct cgroup_dirs *d = dirs_new();
	unsigned before = out->have;
	for (int h = 0; h < CG_NHIER; h++) {
		if (dirfd[h] < 0)
			continue;
		d->base[h] = dirfd[h];
		d->rel[h] = xstrdup("");
		d->nlev[h] = 1;
	}
	read_all(d, out);
	cgroup_dirs_close(d);
	return out->have != before ? 0 : -ENOENT;
}

int cgroup_read_v2(int dirfd, struct vt_cgroup *out)
{
	int fds[CG_NHIER];
	for (int h = 0; h < CG_NHIER; h++)
		fds[h] = -1;
	fds[CG_V2] = dirfd;
	return dirfd < 0 ? -ENOENT : read_dirfds(fds, out);
}

int cgroup_read_v1(const int dirfd[CG_NCTRL], struct vt_cgroup *out)
{
	int fds[CG_NHIER];
	for (int h = 0; h < CG_NHIER; h++)
		fds[h] = h < CG_NCTRL ? dirfd[h] : -1;
	return read_dirfds(fds, out);
}

/* ---- paths ------------------------------------------------------------------ */

static bool has_dotdot(const char *p)
{
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/'))
			return true;
	return false;
}

/* `path` below a mount whose root is `root`, as a relative path with no
 * leading, trailing or double slashes, into out.  -EINVAL when the path is
 * not below the root (or too long). */
static int rel_path(const char *root, const char *path, char *out, size_t cap)
{
	size_t rl = strlen(root), o = 0;
	const char *rel = path;
	if (!path || path[0] != '/' || has_dotdot(path))
		return -EINVAL;
	if (strcmp(root, "/") != 0) {
		if (strncmp(path, root, rl) != 0 || (path[rl] != 0 && path[rl] != '/'))
			return -EINVAL;
		rel = path + rl;
	}
	for (const char *s = rel; *s; s++) {
		if (*s == '/' && (o == 0 || out[o - 1] == '/'))
			continue;
		if (o + 1 >= cap)
			return -EINVAL;
		out[o++] = *s;
	}
	if (o > 0 && out[o - 1] == '/')
		o--;
	out[o] = 0;
	return 0;
}

static int mount_of(const struct cgroup_mounts *m, int h, const char **root)
{
	*root = h == CG_V2 ? m->v2_root : m->v1_root[h];
	return h == CG_V2 ? m->v2_fd : m->v1_fd[h];
}

/* Open directory `path` of hierarchy h; -ENOENT when not mounted. */
static int open_cgroup_dir(const struct cgroup_mounts *m, int h, const char *path)
{
	char rel[CG_PATH_MAX];
	const char *root;
	int mfd = mount_of(m, h, &root);
	if (mfd < 0)
		return -ENOENT;
	int r = rel_path(root, path, rel, sizeof(rel));
	if (r < 0)
		return r;
	int fd = openat(mfd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int cgroup_dirs_open_paths(const struct cgroup_mounts *m, const struct cgroup_paths *p,
                           struct cgroup_dirs **out)
{
	struct cgroup_dirs *d = dirs_new();
	char rel[CG_PATH_MAX];
	int bad = 0;
	bool any = false;

	*out = NULL;
	for (int h = 0; h < CG_NHIER; h++) {
		const char *root;
		struct stat st;
		int mfd = mount_of(m, h, &root);
		if (!p->path[h] || mfd < 0)
			continue;
		if (rel_path(root, p->path[h], rel, sizeof(rel)) < 0) {
			bad = -EINVAL;
			continue;
		}
		if (fstatat(mfd, rel[0] ? rel : ".", &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		/* levels: the cgroup, then each ancestor below the hierarchy's
		 * root (the root has no limits); a mount showing a subtree
		 * (a cgroup namespace) has a limitable cgroup at its root */
		int n = rel[0] ? 1 : 0;
		for (const char *s = rel; *s; s++)
			n += *s == '/';
		if (strcmp(root, "/") != 0)
			n++;
		d->base[h] = mfd;
		d->rel[h] = xstrdup(rel);
		d->nlev[h] = n < 1 ? 1 : n > CG_LEVELS ? CG_LEVELS : n;
		any = true;
	}
	if (!any) {
		cgroup_dirs_close(d);
		return bad ? bad : -ENOENT;
	}
	*out = d;
	return 0;
}

int cgroup_dirs_open(const struct cgroup_mounts *m, const char *path, int version,
                     struct cgroup_dirs **out)
{
	struct cgroup_paths p = {{0}};
	*out = NULL;
	if (!path || path[0] != '/' || has_dotdot(path))
		return -EINVAL;
	for (int h = 0; h < CG_NHIER; h++)
		if (h == CG_V2 ? version != 1 : version != 2)
			p.path[h] = path;
	return cgroup_dirs_open_paths(m, &p, out);
}

int cgroup_read(const struct cgroup_mounts *m, const char *path, int version, struct vt_cgroup *out)
{
	struct cgroup_dirs *d;
	memset(out, 0, sizeof(*out));
	int r = cgroup_dirs_open(m, path, version, &d);
	if (r < 0)
		return r;
	r = cgroup_dirs_read(d, out);
	cgroup_dirs_close(d);
	return r;
}

/* ---- the OOM-kill counter ------------------------------------------------------ */

int cgroup_oom_open(const struct cgroup_mounts *m, int hier, const char *path)
{
	if (hier != CG_V2 && hier != CG_MEMORY)
		return -EINVAL;
	int dfd = open_cgroup_dir(m, hier, path);
	if (dfd < 0)
		return dfd;
	int fd = openat(dfd, hier == CG_V2 ? "memory.events" : "memory.oom_control",
	                O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int err = errno;
	close(dfd);
	return fd < 0 ? -err : fd;
}

int cgroup_oom_read(int fd, uint64_t *out)
{
	char b[512];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
	if (n < 0)
		return -errno;
	b[n] = 0;
	return cg_parse_keyed(b, (size_t)n, "oom_kill", out) == 0 ? 0 : -ENOENT;
}

/* ---- is a cgroup the system's own ------------------------------------------- */

struct foreign_walk {
	bool (*member)(void *ctx, int pid);
	void *ctx;
	struct buf b;
	int budget;
};

/* The first pid of dfd's cgroup.procs, or of a cgroup below, that is not
 * a member; 0 when none.  dfd is closed here. */
static int walk_foreign(int dfd, struct foreign_walk *w, int depth)
{
	int pid, found = 0;
	buf_reset(&w->b);
	if (read_file_at(dfd, "cgroup.procs", &w->b, CG_PROCS_MAX) > 0) {
		const char *p = w->b.data, *end = p + w->b.len;
		while (!found && proc_pidlist_next(&p, end, &pid))
			if (!w->member(w->ctx, pid))
				found = pid;
	}
	DIR *dir = found ? NULL : fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return found;
	}
	struct dirent *de;
	while (!found && (de = readdir(dir)) && w->budget > 0) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.' || depth >= CG_LEVELS)
			continue;
		int sfd =
		    openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		w->budget--;
		if (sfd >= 0)
			found = walk_foreign(sfd, w, depth + 1);
	}
	closedir(dir);
	return found;
}

int cgroup_foreign_pid(const struct cgroup_mounts *m, int hier, const char *path,
                       bool (*member)(void *ctx, int pid), void *ctx)
{
	if (hier < 0 || hier >= CG_NHIER)
		return -EINVAL;
	int dfd = open_cgroup_dir(m, hier, path);
	if (dfd < 0)
		return dfd;
	struct foreign_walk w = {.member = member, .ctx = ctx, .budget = CG_WALK_DIRS};
	int r = walk_foreign(dfd, &w, 0);
	buf_free(&w.b);
	return r;
}
