/*
 * stats.c - the host's statistics: CPU times, memory, load, mounted file
 * systems, disk I/O, interface counters and the root cgroup's counters.
 *
 * How: every op reads a kernel file through the host view's proc_fd (or
 * sys_fd for cgroups) and hands the text to a pure parser of
 * linux/stats_parse.c (linux/netdev_parse.c for net/dev).  The files stay
 * open in the view's stats cache (stats.h) and are read again from offset
 * 0 with pread() into one buffer the cache keeps (grown to the largest
 * file, bounded by FILE_MAX), so a daemon's tick opens no file and
 * allocates nothing; the mount table is parsed again only when poll() on
 * its open mountinfo says it changed.
 *
 * Decisions:
 * - CPU times are USER_HZ ticks converted to seconds with sysconf(_SC_CLK_TCK).
 * - File systems: see stats.h (pseudo and network/FUSE file systems are
 *   skipped; statfs goes through an O_PATH fd opened inside the view's root;
 *   a mount hidden by a later mount on the same point is skipped, detected
 *   by comparing statx()'s mount id with mountinfo's, once per mount
 *   table).
 * - Disk I/O: every device of /proc/diskstats, whole disks and partitions,
 *   except ram* and loop* devices that never did any I/O.  Bytes are sectors
 *   * 512 (the unit of diskstats whatever the device's sector size).
 * - Interface counters: net/dev of the view's network namespace (the file
 *   is bound to the namespace it was opened in).
 * - cgroup: the root cgroup ("/") read by cgroup.c from wherever each
 *   controller is mounted (v2, v1 or hybrid); its directories stay open
 *   until the mount table changes.
 */
#include "host.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../../util/buf.h"
#include "../../util/util.h"
#include "cgroup.h"
#include "../../linux/netdev_parse.h"
#include "../../linux/stats_parse.h"

#define HOST(v) ((struct host_view *)(v))
#define LINE_MAX_MOUNTINFO 16384 /* two escaped PATH_MAX paths and options */
#define FILE_MAX (64u << 20)     /* a kernel file read whole, at most */
#define MOUNTS_BAD_MAX 16        /* malformed mountinfo lines remembered */

/* ---- the cache ------------------------------------------------------------ */

/* A kernel file kept open, read again from offset 0. */
struct kept_file {
	int fd; /* -1: not open */
	char path[48];
};

/* One local file system of the mount table, as parsed. */
struct mount_entry {
	size_t mountpoint, source, fstype; /* offsets in mount_cache.strings */
	int mount_id;
	int hidden; /* -1 not checked yet, 0 no, 1 under a later mount */
};

struct mount_cache {
	struct kept_file f;
	bool valid;   /* entries hold the table as last read */
	unsigned gen; /* bumped at each re-read */
	struct mount_entry *v;
	int n, cap;
	struct buf strings;
	int bad[MOUNTS_BAD_MAX]; /* line numbers of malformed lines */
	int nbad;
	bool too_long; /* a line longer than LINE_MAX_MOUNTINFO */
};

struct stats_cache {
	struct kept_file stat, meminfo, loadavg, diskstats, netdev;
	struct buf b; /* what the last file read holds */
	struct mount_cache mounts;
	/* the host's root cgroup, opened at mount generation cg_gen */
	struct cgroup_mounts cg;
	struct cgroup_dirs *cgd; /* the root cgroup's files, kept open */
	bool cg_open, cgd_open;
	unsigned cg_gen;
};

static void kf_init(struct kept_file *kf)
{
	kf->fd = -1;
	kf->path[0] = 0;
}

static void kf_close(struct kept_file *kf)
{
	if (kf->fd >= 0)
		close(kf->fd);
	kf->fd = -1;
}

struct stats_cache *stats_cache_new(void)
{
	struct stats_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	kf_init(&c->stat);
	kf_init(&c->meminfo);
	kf_init(&c->loadavg);
	kf_init(&c->diskstats);
	kf_init(&c->netdev);
	kf_init(&c->mounts.f);
	return c;
}

static void cg_close(struct stats_cache *c)
{
	if (c->cgd_open)
		cgroup_dirs_close(c->cgd);
	c->cgd = NULL;
	if (c->cg_open)
		cgroup_mounts_close(&c->cg);
	c->cgd_open = c->cg_open = false;
}

void stats_cache_free(struct stats_cache *c)
{
	if (!c)
		return;
	kf_close(&c->stat);
	kf_close(&c->meminfo);
	kf_close(&c->loadavg);
	kf_close(&c->diskstats);
	kf_close(&c->netdev);
	kf_close(&c->mounts.f);
	free(c->mounts.v);
	buf_free(&c->mounts.strings);
	buf_free(&c->b);
	cg_close(c);
	free(c);
}

struct stats_cache *host_stats(struct host_view *h)
{
	if (!h->stats)
		h->stats = stats_cache_new();
	return h->stats;
}

/* Open kf at `path` (relative to dirfd) unless it is open there already. */
static int kf_open(struct kept_file *kf, int dirfd, const char *path)
{
	if (kf->fd >= 0 && strcmp(kf->path, path) == 0)
		return 0;
	kf_close(kf);
	if (strlen(path) >= sizeof(kf->path))
		return -ENAMETOOLONG;
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	kf->fd = fd;
	strcpy(kf->path, path);
	return 0;
}

/* The whole file into b (NUL-terminated); its length or a negative errno
 * (-EFBIG beyond FILE_MAX).  A failed read closes the file: the next call
 * opens it again. */
static ssize_t kf_read(struct kept_file *kf, int dirfd, const char *path, struct buf *b)
{
	int r = kf_open(kf, dirfd, path);
	if (r < 0)
		return r;
	b->len = 0;
	for (;;) {
		if (!b->data || b->cap - b->len < 4096 + 1)
			buf_reserve(b, b->cap > 4096 ? b->cap : 4096);
		size_t room = b->cap - b->len - 1;
		ssize_t n = pread(kf->fd, b->data + b->len, room, (off_t)b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			kf_close(kf);
			return -e;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		if (b->len > FILE_MAX) {
			kf_close(kf);
			return -EFBIG;
		}
	}
	b->data[b->len] = 0;
	return (ssize_t)b->len;
}

/* Read a file through the cache when there is one, else open and close it. */
static ssize_t read_kept(struct stats_cache *c, struct kept_file *kf, int dirfd, const char *path,
                         struct buf *tmp)
{
	struct kept_file once;
	if (!c) {
		kf_init(&once);
		ssize_t n = kf_read(&once, dirfd, path, tmp);
		kf_close(&once);
		return n;
	}
	return kf_read(kf, dirfd, path, &c->b);
}

static void iter_error(const struct view_iter *it, const char *what, int err)
{
	if (it && it->error)
		it->error(it->ctx, what, err);
}

static double clock_ticks(void)
{
	long hz = sysconf(_SC_CLK_TCK);
	return hz > 0 ? (double)hz : 100.0;
}

/* ---- CPU ------------------------------------------------------------------ */

/* A kept file's text: through the view's cache (text in c->b), or read
 * once into tmp when the cache could not be made. */
struct text {
	const char *p, *end;
	struct buf tmp;
};

static int read_text(struct host_view *h, struct kept_file *(*pick)(struct stats_cache *),
                     int dirfd, const char *path, struct text *t)
{
	struct stats_cache *c = host_stats(h);
	t->tmp = (struct buf)BUF_INIT;
	ssize_t n = read_kept(c, c ? pick(c) : NULL, dirfd, path, &t->tmp);
	if (n < 0) {
		buf_free(&t->tmp);
		return (int)n;
	}
	t->p = c ? c->b.data : t->tmp.data;
	t->end = t->p + n;
	return 0;
}

static struct kept_file *pick_stat(struct stats_cache *c)
{
	return &c->stat;
}
static struct kept_file *pick_meminfo(struct stats_cache *c)
{
	return &c->meminfo;
}
static struct kept_file *pick_loadavg(struct stats_cache *c)
{
	return &c->loadavg;
}
static struct kept_file *pick_diskstats(struct stats_cache *c)
{
	return &c->diskstats;
}

int host_cpu_times(struct view *v, const struct view_iter *it,
                   int (*cb)(void *ctx, const struct vt_cpu *c))
{
	struct text t;
	const char *line;
	size_t len;
	double hz = clock_ticks();
	int r, found = 0, lineno = 0;

	if ((r = read_text(HOST(v), pick_stat, HOST(v)->proc_fd, "stat", &t)) < 0)
		return r;
	while (stats_next_line(&t.p, t.end, &line, &len)) {
		struct cpu_ticks k;
		char what[32];
		lineno++;
		int kind = stat_parse_cpu_line(line, len, &k);
		if (kind == 0) {
			if (found)
				break; /* the cpu lines are over */
			continue;
		}
		if (kind < 0) {
			snprintf(what, sizeof(what), "/proc/stat line %d", lineno);
			iter_error(it, what, EINVAL);
			continue;
		}
		found++;
		struct vt_cpu c = {
		    .cpu = k.cpu,
		    .user = (double)k.user / hz,
		    .nice = (double)k.nice / hz,
		    .system = (double)k.system / hz,
		    .idle = (double)k.idle / hz,
		    .iowait = (double)k.iowait / hz,
		    .irq = (double)k.irq / hz,
		    .softirq = (double)k.softirq / hz,
		    .steal = (double)k.steal / hz,
		};
		if ((r = cb(it ? it->ctx : NULL, &c)) != 0)
			break;
	}
	buf_free(&t.tmp);
	if (r != 0)
		return r;
	return found ? 0 : -ENODATA;
}

/* ---- memory, load ---------------------------------------------------------- */

int host_memory(struct view *v, struct vt_mem *out)
{
	struct text t;
	int r = read_text(HOST(v), pick_meminfo, HOST(v)->proc_fd, "meminfo", &t);
	if (r < 0)
		return r;
	r = meminfo_parse(t.p, (size_t)(t.end - t.p), out);
	buf_free(&t.tmp);
	return r;
}

int host_load(struct view *v, struct vt_load *out)
{
	struct text t;
	int r = read_text(HOST(v), pick_loadavg, HOST(v)->proc_fd, "loadavg", &t);
	if (r < 0)
		return r;
	r = loadavg_parse(t.p, (size_t)(t.end - t.p), out);
	buf_free(&t.tmp);
	return r;
}

/* ---- file systems ------------------------------------------------------------ */

/* True when the mount at fd is not the one mountinfo calls `mount_id`
 * (another mount sits on the same point).  False when unsure. */
static bool mount_hidden(int fd, int mount_id)
{
#ifdef STATX_MNT_ID
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &sx) == 0 &&
	    (sx.stx_mask & STATX_MNT_ID))
		return sx.stx_mnt_id != (uint64_t)mount_id;
#else
	(void)fd;
	(void)mount_id;
#endif
	return false;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* statfs one mount; 1 if it is to be reported, 0 to skip, -errno.
 * *hidden: -1 to check it (set to 0 or 1 then), else what was found. */
static int stat_mount(struct fsroot *root, const char *mountpoint, const char *source,
                      const char *fstype, int mount_id, int *hidden, struct vt_fs *fs)
{
	struct statvfs sv;
	int fd = fsroot_openat(root, mountpoint, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return fd;
	if (*hidden < 0)
		*hidden = mount_hidden(fd, mount_id);
	if (*hidden) {
		close(fd);
		return 0;
	}
	int r = fstatvfs(fd, &sv);
	int e = errno;
	close(fd);
	if (r < 0)
		return -e;
	if (sv.f_blocks == 0)
		return 0;
	uint64_t frsize = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
	uint64_t bfree = sv.f_bfree <= sv.f_blocks ? sv.f_bfree : sv.f_blocks;
	*fs = (struct vt_fs){
	    .mountpoint = mountpoint,
	    .device = source,
	    .fstype = fstype,
	    .size_bytes = mul_sat(sv.f_blocks, frsize),
	    .used_bytes = mul_sat(sv.f_blocks - bfree, frsize),
	    .avail_bytes = mul_sat(sv.f_bavail <= bfree ? sv.f_bavail : bfree, frsize),
	    .inodes = sv.f_files,
	    .inodes_free = sv.f_ffree <= sv.f_files ? sv.f_ffree : sv.f_files,
	};
	return 1;
}

/* Has the mount table of the open mountinfo file changed since it was
 * last read?  True when unsure. */
static bool mounts_changed(const struct mount_cache *mc)
{
	struct pollfd p = {.fd = mc->f.fd, .events = POLLPRI};
	if (mc->f.fd < 0 || poll(&p, 1, 0) < 0)
		return true;
	return (p.revents & (POLLPRI | POLLERR | POLLNVAL)) != 0;
}

static size_t add_string(struct buf *b, const char *s)
{
	size_t off = b->len;
	buf_add(b, s, strlen(s) + 1);
	return off;
}

/* Parse the mount table in text into mc's entries (local file systems). */
static int mounts_parse(struct mount_cache *mc, const char *p, const char *end)
{
	const char *line;
	size_t len;
	int lineno = 0;
	char *sc = malloc(MOUNTINFO_SCRATCH(LINE_MAX_MOUNTINFO));
	if (!sc)
		return -ENOMEM;
	mc->n = mc->nbad = 0;
	mc->too_long = false;
	buf_reset(&mc->strings);
	while (stats_next_line(&p, end, &line, &len)) {
		struct mountinfo mi;
		lineno++;
		if (len > LINE_MAX_MOUNTINFO) {
			mc->too_long = true;
			continue;
		}
		if (mountinfo_parse_line(line, len, sc, MOUNTINFO_SCRATCH(LINE_MAX_MOUNTINFO),
		                         &mi) < 0) {
			if (mc->nbad < MOUNTS_BAD_MAX)
				mc->bad[mc->nbad++] = lineno;
			continue;
		}
		if (fs_classify(mi.fstype) != FS_LOCAL)
			continue;
		if (mc->n == mc->cap) {
			int cap = mc->cap ? mc->cap * 2 : 32;
			struct mount_entry *v = realloc(mc->v, (size_t)cap * sizeof(*v));
			if (!v) {
				free(sc);
				return -ENOMEM;
			}
			mc->v = v;
			mc->cap = cap;
		}
		struct mount_entry *e = &mc->v[mc->n++];
		e->mountpoint = add_string(&mc->strings, mi.mountpoint);
		e->source = add_string(&mc->strings, mi.source);
		e->fstype = add_string(&mc->strings, mi.fstype);
		e->mount_id = mi.mount_id;
		e->hidden = -1;
	}
	free(sc);
	return 0;
}

/* The mount table of `mountinfo` in mc, read again when it changed. */
static int mounts_refresh(struct mount_cache *mc, struct buf *b, int proc_fd, const char *mountinfo)
{
	bool same_file = mc->f.fd >= 0 && strcmp(mc->f.path, mountinfo) == 0;
	if (mc->valid && same_file && !mounts_changed(mc))
		return 0;
	mc->valid = false;
	ssize_t n = kf_read(&mc->f, proc_fd, mountinfo, b);
	if (n < 0)
		return (int)n;
	/* the poll that saw the change consumed it (and an open starts
	 * clean): a change after this read is a new event */
	int r = mounts_parse(mc, b->data, b->data + n);
	if (r < 0)
		return r;
	mc->valid = true;
	mc->gen++;
	return 0;
}

static int mounts_walk(struct mount_cache *mc, struct fsroot *root, const struct view_iter *it,
                       int (*cb)(void *ctx, const struct vt_fs *f))
{
	char what[64];
	for (int i = 0; i < mc->nbad; i++) {
		snprintf(what, sizeof(what), "mountinfo line %d", mc->bad[i]);
		iter_error(it, what, EINVAL);
	}
	if (mc->too_long)
		iter_error(it, "mountinfo (line too long)", E2BIG);
	const char *str = mc->strings.data;
	for (int i = 0; i < mc->n; i++) {
		struct mount_entry *e = &mc->v[i];
		struct vt_fs fs;
		int k = stat_mount(root, str + e->mountpoint, str + e->source, str + e->fstype,
		                   e->mount_id, &e->hidden, &fs);
		if (k < 0)
			iter_error(it, str + e->mountpoint, -k);
		if (k <= 0)
			continue;
		int r = cb(it ? it->ctx : NULL, &fs);
		if (r != 0)
			return r;
	}
	return 0;
}

int mounts_filesystems_kept(struct stats_cache *c, int proc_fd, const char *mountinfo,
                            struct fsroot *root, const struct view_iter *it,
                            int (*cb)(void *ctx, const struct vt_fs *f))
{
	if (!c)
		return mounts_filesystems(proc_fd, mountinfo, root, it, cb);
	int r = mounts_refresh(&c->mounts, &c->b, proc_fd, mountinfo);
	if (r < 0)
		return r;
	return mounts_walk(&c->mounts, root, it, cb);
}

int mounts_filesystems(int proc_fd, const char *mountinfo, struct fsroot *root,
                       const struct view_iter *it, int (*cb)(void *ctx, const struct vt_fs *f))
{
	struct mount_cache mc = {0};
	struct buf b = BUF_INIT;
	kf_init(&mc.f);
	int r = mounts_refresh(&mc, &b, proc_fd, mountinfo);
	if (r == 0)
		r = mounts_walk(&mc, root, it, cb);
	kf_close(&mc.f);
	free(mc.v);
	buf_free(&mc.strings);
	buf_free(&b);
	return r;
}

int host_filesystems(struct view *v, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_fs *f))
{
	struct host_view *h = HOST(v);
	return mounts_filesystems_kept(host_stats(h), h->proc_fd, "self/mountinfo", &h->fs, it, cb);
}

/* ---- disk I/O ------------------------------------------------------------------- */

/* ram and loop devices exist by the dozen and mostly never serve I/O. */
static bool idle_virtual_disk(const struct diskstats *d)
{
	bool virt = strncmp(d->name, "ram", 3) == 0 || strncmp(d->name, "loop", 4) == 0;
	return virt && d->reads == 0 && d->writes == 0;
}

int host_disk_io(struct view *v, const struct view_iter *it,
                 int (*cb)(void *ctx, const struct vt_diskio *d))
{
	struct text t;
	const char *line;
	size_t len;
	int r, lineno = 0;

	if ((r = read_text(HOST(v), pick_diskstats, HOST(v)->proc_fd, "diskstats", &t)) < 0)
		return r;
	while (stats_next_line(&t.p, t.end, &line, &len)) {
		struct diskstats d;
		lineno++;
		if (diskstats_parse_line(line, len, &d) < 0) {
			char what[48];
			snprintf(what, sizeof(what), "/proc/diskstats line %d", lineno);
			iter_error(it, what, EINVAL);
			continue;
		}
		if (idle_virtual_disk(&d))
			continue;
		struct vt_diskio io = {
		    .device = d.name,
		    .reads = d.reads,
		    .writes = d.writes,
		    .read_bytes = mul_sat(d.read_sectors, 512),
		    .write_bytes = mul_sat(d.write_sectors, 512),
		    .read_ms = d.read_ms,
		    .write_ms = d.write_ms,
		    .io_ms = d.io_ms,
		};
		if ((r = cb(it ? it->ctx : NULL, &io)) != 0)
			break;
	}
	buf_free(&t.tmp);
	return r;
}

/* ---- interface counters ------------------------------------------------------------ */

static int netdev_walk(const char *p, const char *end, const char *path, const struct view_iter *it,
                       int (*cb)(void *ctx, const struct vt_netio *n))
{
	const char *line;
	size_t len;
	int lineno = 0;
	while (stats_next_line(&p, end, &line, &len)) {
		struct netdev_line l;
		lineno++;
		int k = netdev_parse_line(line, len, &l);
		if (k < 0) {
			char what[96];
			snprintf(what, sizeof(what), "/proc/%s line %d", path, lineno);
			iter_error(it, what, EINVAL);
		}
		if (k <= 0)
			continue;
		int r = cb(it ? it->ctx : NULL, &l.c);
		if (r != 0)
			return r;
	}
	return 0;
}

int netdev_counters(struct stats_cache *c, int proc_fd, const char *netdev,
                    const struct view_iter *it, int (*cb)(void *ctx, const struct vt_netio *n))
{
	struct buf tmp = BUF_INIT;
	ssize_t n = read_kept(c, c ? &c->netdev : NULL, proc_fd, netdev, &tmp);
	if (n < 0)
		return (int)n;
	const char *p = c ? c->b.data : tmp.data;
	int r = netdev_walk(p, p + n, netdev, it, cb);
	buf_free(&tmp);
	return r;
}

int host_netio(struct view *v, const struct view_iter *it,
               int (*cb)(void *ctx, const struct vt_netio *n))
{
	struct host_view *h = HOST(v);
	return netdev_counters(host_stats(h), h->proc_fd, "self/net/dev", it, cb);
}

/* ---- cgroup ------------------------------------------------------------------- */

int host_cgroup(struct view *v, struct vt_cgroup *out)
{
	struct host_view *h = HOST(v);
	struct stats_cache *c = host_stats(h);
	if (!c) {
		struct cgroup_mounts m;
		int r = cgroup_mounts_open(h->proc_fd, "self/mountinfo", h->sys_fd, &m);
		if (r < 0)
			return r;
		r = cgroup_mounts_any(&m) ? cgroup_read(&m, "/", 0, out) : -ENOENT;
		cgroup_mounts_close(&m);
		return r;
	}
	/* the cgroup mounts as the mount table now has them */
	int r = mounts_refresh(&c->mounts, &c->b, h->proc_fd, "self/mountinfo");
	if (r < 0)
		return r;
	if (!c->cg_open || c->cg_gen != c->mounts.gen) {
		cg_close(c);
		r = cgroup_mounts_open(h->proc_fd, "self/mountinfo", h->sys_fd, &c->cg);
		if (r < 0)
			return r;
		c->cg_open = true;
		c->cg_gen = c->mounts.gen;
		if (cgroup_mounts_any(&c->cg) && cgroup_dirs_open(&c->cg, "/", 0, &c->cgd) == 0)
			c->cgd_open = true;
	}
	if (!c->cgd_open) {
		memset(out, 0, sizeof(*out));
		return -ENOENT;
	}
	return cgroup_dirs_read(c->cgd, out);
}
