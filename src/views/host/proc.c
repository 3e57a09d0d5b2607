/*
 * proc.c - processes of a procfs, and uid -> user name from a passwd.
 *
 * procfs_processes() walks the numeric entries of a procfs directory with
 * getdents64 on its own fd (so the caller's fd offset is untouched) and,
 * for each process, opens /proc/<pid> ONCE and reads everything relative
 * to that directory fd: stat, status, cmdline and cgroup with one read()
 * each into buffers reused for the whole walk, exe and cwd with
 * readlinkat, the number of open fds with fstatat.  Holding the directory
 * fd pins the process: if the PID is reused while we read, the reads fail
 * instead of silently mixing two processes.  No stdio, no allocation per
 * process, no getpwuid(): user names come from a passwd_cache.
 *
 * Failure rules (see view.h):
 *   - the dir or its stat is gone (ENOENT/ESRCH): the process exited
 *     before we saw it; skipped silently.
 *   - stat cannot be read for another reason (EACCES...): nothing is
 *     known, the iteration's error hook is called with "pid N".
 *   - stat read but a later file fails: the record is still emitted,
 *     `have` naming what was read and `err` the first errno (a file gone
 *     after stat means the process exited mid-read: ESRCH).
 *   - exe/cwd that do not exist (kernel threads, zombies) are simply
 *     absent; EACCES on them (PID 1 in some sandboxes) sets `err`.
 *
 * The passwd cache parses the system's own etc/passwd (through its
 * fsroot, so a container's users resolve in the container) once into an
 * array sorted by uid; lookups are a binary search.  The first entry of a
 * uid wins, as with getpwuid().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../../util/buf.h"
#include "../../util/util.h"
#include "host.h"
#include "proc_parse.h"

#define CMDLINE_MAX ((size_t)64 << 10) /* longer command lines are cut */
#define PASSWD_MAX (8u << 20)          /* a larger etc/passwd is cut */
#define PROC_STAT_MAX (256u << 10)     /* /proc/stat (btime) */

/* ---- passwd cache ----------------------------------------------------- */

struct passwd_entry {
	uint32_t uid;
	uint32_t off; /* of the NUL-terminated name in `names` */
};

/* Invariant: `v` is sorted by uid with no duplicate uid. */
struct passwd_cache {
	struct passwd_entry *v;
	size_t n;
	struct buf names;
};

static int passwd_cmp(const void *a, const void *b)
{
	const struct passwd_entry *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Read the whole (bounded) etc/passwd of `fs` into `out`. */
static int passwd_read(struct fsroot *fs, struct buf *out)
{
	struct vfile *f;
	char chunk[16384];
	ssize_t n;
	int r = fsroot_file_open(fs, "/etc/passwd", &f);

	if (r < 0)
		return r;
	while (out->len < PASSWD_MAX && (n = fsroot_file_read(f, chunk, sizeof(chunk))) > 0)
		buf_add(out, chunk,
		        (size_t)n < PASSWD_MAX - out->len ? (size_t)n : PASSWD_MAX - out->len);
	fsroot_file_close(f);
	return 0;
}

static void passwd_index(struct passwd_cache *c, const char *p, const char *end)
{
	const char *name;
	size_t name_len, cap = 0, i, j;
	uint32_t uid;

	while (passwd_next(&p, end, &name, &name_len, &uid)) {
		if (name_len > 255 || memchr(name, '\0', name_len))
			continue;
		if (c->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct passwd_entry *nv = realloc(c->v, ncap * sizeof(*nv));

			if (!nv)
				break;
			c->v = nv;
			cap = ncap;
		}
		c->v[c->n].uid = uid;
		c->v[c->n].off = (uint32_t)c->names.len;
		c->n++;
		buf_add(&c->names, name, name_len);
		buf_addc(&c->names, '\0');
	}
	if (c->n == 0)
		return;
	qsort(c->v, c->n, sizeof(*c->v), passwd_cmp);
	for (i = 1, j = 0; i < c->n; i++)
		if (c->v[i].uid != c->v[j].uid)
			c->v[++j] = c->v[i];
	c->n = j + 1;
}

struct passwd_cache *passwd_cache_new(struct fsroot *fs)
{
	struct passwd_cache *c = calloc(1, sizeof(*c));
	struct buf file = BUF_INIT;

	if (!c)
		return NULL;
	/* A system without a readable passwd gets an empty cache: names
	 * are then simply absent. */
	if (fs && passwd_read(fs, &file) == 0 && file.len)
		passwd_index(c, file.data, file.data + file.len);
	buf_free(&file);
	return c;
}

const char *passwd_cache_name(struct passwd_cache *c, uint32_t uid)
{
	size_t lo = 0, hi;

	if (!c)
		return NULL;
	hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->v[mid].uid == uid)
			return c->names.data + c->v[mid].off;
		if (c->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void passwd_cache_free(struct passwd_cache *c)
{
	if (!c)
		return;
	free(c->v);
	buf_free(&c->names);
	free(c);
}

/* ---- processes -------------------------------------------------------- */

/* State of one walk; the buffers are reused for every process. */
struct proc_scan {
	int proc_fd;
	struct passwd_cache *users;
	const struct view_iter *it;
	long hz;
	uint64_t page_kb;
	int64_t btime;
	bool have_btime;
	bool fds_by_size; /* st_size of <pid>/fd counts fds (Linux >= 6.2) */

	char stat[2048];
	char status[8192];
	char cgroup[8192];
	char exe[PATH_MAX];
	char cwd[PATH_MAX];
	char cmdline[CMDLINE_MAX + 1];
	char dents[32768] __attribute__((aligned(8))); /* struct dirent64 */
};

static void note(struct vt_proc *p, int err)
{
	if (!p->err)
		p->err = err;
}

/* A file that vanished after we read stat: the process exited. */
static int gone_to_esrch(int err)
{
	return err == ENOENT ? ESRCH : err;
}

static void report(const struct view_iter *it, int pid, int err)
{
	char what[32];

	if (!it || !it->error)
		return;
	snprintf(what, sizeof(what), "pid %d", pid);
	it->error(it->ctx, what, err);
}

/* One openat + one read + close.  Returns bytes read or -errno. */
static ssize_t read_at(int dfd, const char *name, char *dst, size_t cap)
{
	ssize_t n;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return -errno;
	do
		n = read(fd, dst, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

/* readlinkat into dst (NUL-terminated).  Returns 0 or -errno. */
static int link_at(int dfd, const char *name, char *dst, size_t cap)
{
	ssize_t n = readlinkat(dfd, name, dst, cap);

	if (n < 0)
		return -errno;
	if ((size_t)n >= cap)
		return -ENAMETOOLONG;
	dst[n] = '\0';
	return 0;
}

/* Count entries of <pid>/fd (kernels before 6.2). */
static int count_fds(int dfd, char *dents, size_t cap, uint64_t *out)
{
	uint64_t count = 0;
	ssize_t n;
	int fd = openat(dfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = getdents64(fd, dents, cap)) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(dents + off);

			if (d->d_reclen == 0)
				break;
			if (d->d_name[0] != '.')
				count++;
			off += d->d_reclen;
		}
	}
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	*out = count;
	return 0;
}

static void read_fds(struct proc_scan *s, int dfd, struct vt_proc *p)
{
	struct stat st;

	if (fstatat(dfd, "fd", &st, 0) < 0) {
		note(p, gone_to_esrch(errno));
		return;
	}
	if (s->fds_by_size || st.st_size > 0) {
		p->fds = (uint64_t)st.st_size;
	} else {
		int r = count_fds(dfd, s->dents, sizeof(s->dents), &p->fds);

		if (r < 0) {
			note(p, gone_to_esrch(-r));
			return;
		}
	}
	p->have |= VP_FDS;
}

static void read_status(struct proc_scan *s, int dfd, struct vt_proc *p)
{
	struct proc_status st;
	ssize_t n = read_at(dfd, "status", s->status, sizeof(s->status));

	if (n < 0) {
		note(p, gone_to_esrch((int)-n));
		return;
	}
	if (proc_parse_status(s->status, (size_t)n, &st) < 0) {
		note(p, n == 0 ? ESRCH : EINVAL);
		return;
	}
	if (st.have & PS_UID) {
		p->uid = st.uid;
		p->have |= VP_UID;
		p->user = passwd_cache_name(s->users, st.uid);
		if (p->user)
			p->have |= VP_USER;
	}
	if (st.have & PS_NSPID) {
		p->nspid = st.nspid;
		p->have |= VP_NSPID;
	}
	if (st.have & PS_THREADS)
		p->threads = st.threads;
	if (st.have & PS_RSS)
		p->rss_kb = st.rss_kb;
	if (st.have & PS_VSZ)
		p->vsz_kb = st.vsz_kb;
}

static void read_cmdline(struct proc_scan *s, int dfd, struct vt_proc *p)
{
	ssize_t n = read_at(dfd, "cmdline", s->cmdline, CMDLINE_MAX);

	if (n < 0) {
		note(p, gone_to_esrch((int)-n));
		return;
	}
	p->cmdline_len = proc_cmdline_join(s->cmdline, (size_t)n);
	s->cmdline[p->cmdline_len] = '\0';
	p->cmdline = s->cmdline;
	p->have |= VP_CMDLINE;
}

/* exe or cwd: absent without error when the process has none. */
static void read_link(int dfd, const char *name, char *dst, size_t cap, struct vt_proc *p,
                      const char **field, unsigned bit)
{
	int r = link_at(dfd, name, dst, cap);

	if (r == 0) {
		*field = dst;
		p->have |= bit;
	} else if (r != -ENOENT) {
		note(p, gone_to_esrch(-r));
	}
}

static void read_cgroup(struct proc_scan *s, int dfd, struct vt_proc *p)
{
	ssize_t n = read_at(dfd, "cgroup", s->cgroup, sizeof(s->cgroup) - 1);
	const char *path;
	size_t len;

	if (n < 0) {
		note(p, gone_to_esrch((int)-n));
		return;
	}
	if ((size_t)n == sizeof(s->cgroup) - 1) { /* cut: drop the partial line */
		const char *nl = memrchr(s->cgroup, '\n', (size_t)n);

		n = nl ? nl - s->cgroup : 0;
	}
	if (proc_cgroup_pick(s->cgroup, (size_t)n, &path, &len) < 0)
		return; /* no cgroup line (no cgroup support) */
	/* The path is the tail of its line: terminate it in place. */
	((char *)path)[len] = '\0';
	p->cgroup = path;
	p->have |= VP_CGROUP;
}

/* Fill `p` from the fields of stat. */
static void from_stat(struct proc_scan *s, const struct proc_stat *st, struct vt_proc *p)
{
	p->ppid = st->ppid;
	p->state = st->state;
	memcpy(p->comm, st->comm, sizeof(p->comm));
	p->threads = st->threads;
	p->rss_kb = st->rss * s->page_kb;
	p->vsz_kb = st->vsize / 1024;
	p->cpu_user_s = (double)st->utime / (double)s->hz;
	p->cpu_system_s = (double)st->stime / (double)s->hz;
	p->have |= VP_PPID | VP_STATE | VP_COMM | VP_THREADS | VP_RSS | VP_VSZ | VP_CPU;
	if (s->have_btime) {
		p->start_time = s->btime + (int64_t)(st->starttime / (uint64_t)s->hz);
		p->have |= VP_START;
	}
}

/*
 * Read process `pid` into `p`.  Returns 1 when there is a record to emit,
 * 0 when the process is skipped (exited, or reported through the error
 * hook).  *dfd_out receives the open directory (closed by the caller).
 */
static int read_proc(struct proc_scan *s, int pid, struct vt_proc *p, int *dfd_out)
{
	struct proc_stat st;
	char name[16];
	ssize_t n;
	int dfd;

	snprintf(name, sizeof(name), "%d", pid);
	/* O_PATH: only a handle for the *at() calls below, cheaper to open
	 * and close than a readable directory. */
	dfd = openat(s->proc_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno != ENOENT && errno != ESRCH)
			report(s->it, pid, errno);
		return 0;
	}
	*dfd_out = dfd;

	n = read_at(dfd, "stat", s->stat, sizeof(s->stat));
	if (n <= 0) {
		if (n < 0 && n != -ENOENT && n != -ESRCH)
			report(s->it, pid, (int)-n);
		return 0;
	}
	if (proc_parse_stat(s->stat, (size_t)n, &st) < 0) {
		report(s->it, pid, EINVAL);
		return 0;
	}

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	from_stat(s, &st, p);
	read_status(s, dfd, p);
	read_cmdline(s, dfd, p);
	read_link(dfd, "exe", s->exe, sizeof(s->exe), p, &p->exe, VP_EXE);
	read_link(dfd, "cwd", s->cwd, sizeof(s->cwd), p, &p->cwd, VP_CWD);
	read_fds(s, dfd, p);
	read_cgroup(s, dfd, p);
	return 1;
}

/* Boot time and kernel facts, read once per walk. */
static void scan_init(struct proc_scan *s)
{
	struct buf b = BUF_INIT;
	struct utsname u;
	long page = sysconf(_SC_PAGESIZE);

	s->hz = sysconf(_SC_CLK_TCK);
	if (s->hz <= 0)
		s->hz = 100;
	s->page_kb = page > 0 ? (uint64_t)page / 1024 : 4;
	if (read_file_at(s->proc_fd, "stat", &b, PROC_STAT_MAX) > 0 &&
	    proc_parse_btime(b.data, b.len, &s->btime) == 0)
		s->have_btime = true;
	buf_free(&b);
	s->fds_by_size = uname(&u) == 0 && proc_release_ge(u.release, 6, 2);
}

/* A directory name that is a PID, or -1. */
static int name_to_pid(const char *name)
{
	const char *p = name, *end = name + strnlen(name, 16);
	uint64_t v;

	if (!parse_u64(&p, end, &v) || p != end || v == 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

int procfs_processes(int proc_fd, struct passwd_cache *users, pid_filter_fn filter,
                     void *filter_ctx, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_proc *p))
{
	struct proc_scan *s;
	struct vt_proc p;
	ssize_t n;
	int dirfd, r = 0;

	dirfd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	s = malloc(sizeof(*s));
	if (!s) {
		close(dirfd);
		return -ENOMEM;
	}
	s->proc_fd = proc_fd;
	s->users = users;
	s->it = it;
	scan_init(s);

	while (r == 0 && (n = getdents64(dirfd, s->dents, sizeof(s->dents))) > 0) {
		for (ssize_t off = 0; r == 0 && off < n;) {
			struct dirent64 *d = (struct dirent64 *)(s->dents + off);
			int pid = name_to_pid(d->d_name), dfd = -1;

			if (d->d_reclen == 0)
				break;
			off += d->d_reclen;
			if (pid < 0 || (filter && !filter(filter_ctx, pid)))
				continue;
			if (read_proc(s, pid, &p, &dfd))
				r = cb(it ? it->ctx : NULL, &p);
			if (dfd >= 0)
				close(dfd);
		}
	}
	if (r == 0 && n < 0)
		r = -errno;
	close(dirfd);
	free(s);
	return r;
}
