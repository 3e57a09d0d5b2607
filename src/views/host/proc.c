/*
 * proc.c - processes of a procfs, and uid -> user name from a passwd.
 *
 * procfs_processes() lists the numeric entries of a procfs directory with
 * getdents64 on its own fd (so the caller's fd offset is untouched) into
 * a compact array of pids, then reads them.  For each process it opens
 * /proc/<pid> ONCE (O_PATH) and reads everything relative to that
 * directory fd: stat, status, cmdline and cgroup with one read() each
 * into a reader's reusable buffers, exe and cwd with readlinkat, the
 * number of open fds with fstatat.  Holding the directory fd pins the
 * process: if the PID is reused while we read, the reads fail instead of
 * silently mixing two processes.  No stdio, no allocation per process,
 * no getpwuid(): user names come from a passwd_cache.  When the whole
 * procfs is walked, the cgroup path mostly comes from a map built from
 * the cgroup hierarchies instead of /proc/<pid>/cgroup (the dearest file
 * of all): see "cgroup paths" below.
 *
 * Nearly all of that time is spent in the kernel and procfs scales over
 * CPUs, so with enough pids the list is cut in chunks of WALK_CHUNK read
 * by worker threads (one per usable CPU, at most WALK_MAX_THREADS), each
 * into a batch: the records plus a small arena holding their strings.
 * The calling thread emits the batches in chunk order, so the callback
 * and the error hook are only ever called from the calling thread, one
 * call at a time, in ascending pid order, exactly as a sequential walk
 * would; few pids, or no thread to be had, and the calling thread reads
 * the chunks itself.  See struct proc_walk for the hand-over.
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
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "../../util/buf.h"
#include "../../util/u64set.h"
#include "../../util/util.h"
#include "cgroup.h"
#include "host.h"
#include "../../linux/proc_parse.h"

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

/* ---- cgroup paths without reading /proc/PID/cgroup ---------------------- */

/*
 * /proc/PID/cgroup is the dearest file of a process: the kernel walks
 * every hierarchy (ten on a v1/v2 hybrid) under global cgroup locks, so
 * readers on two CPUs mostly wait for each other.  With many processes
 * the walk instead lists, once, the threads of every cgroup of the
 * hierarchies proc_cgroup_pick() can take the path from (the unified one,
 * memory's), from their "cgroup.threads" or "tasks", into a map thread
 * id -> cgroup path; a process's path is proc_cgroup_choose() of its
 * leader's (tid == pid) entries.  That is the path its file gives:
 *   - thread lists leave out exiting tasks, so a zombie leader is absent;
 *     an absent pid (also one born after the map) reads its file;
 *   - a tid met in two cgroups (it moved while we listed) is marked and
 *     reads its file, as does a pid under a directory not entered (a name
 *     holding '\n', deeper than CGMAP_DEPTH);
 *   - paths are the mount's root plus the directories walked: relative to
 *     our cgroup namespace, as are the paths of /proc/PID/cgroup we read;
 *   - the lists hold ids of our PID namespace: the map is only used when
 *     it is the procfs's (NSpid of self has one level), and only after it
 *     gave our own process the path its own cgroup file gives.
 * Anything unexpected and no map is used.  Nor is one built when listing
 * the cgroups would cost more than reading the files: the walk stops after
 * npids * lines / CGMAP_DIR_COST directories, `lines` being the number of
 * hierarchies (lines of the file).
 */

#define CGMAP_MIN_PIDS 64          /* fewer processes: read their files */
#define CGMAP_DIR_COST 8           /* listing a cgroup costs as much as 8 cgroup lines */
#define CGMAP_DEPTH 32             /* cgroup directories deeper: files */
#define CGMAP_LIST_MAX (16u << 20) /* a longer thread list: no map */
#define CGMAP_MAX_TIDS (1u << 20)  /* more threads than this: no map */

/* tid -> the offset of its NUL-terminated path in `paths` (a u64map of
 * int32_t), -1 for a tid met in two cgroups. */
struct cgmap {
	struct u64map m;
	struct buf paths;
};

/* The maps of a walk: read-only once built, shared by the workers. */
struct cgmaps {
	struct proc_cgroup_shape shape;
	struct cgmap v2, memory;
};

static int cgmap_add(struct cgmap *m, int32_t tid, int32_t off)
{
	int32_t *s;
	bool added;

	if (u64map_count(&m->m) >= CGMAP_MAX_TIDS)
		return -E2BIG;
	if (!m->m.vsize) /* a zeroed cgmap (calloc): set up on the first add */
		u64map_init(&m->m, sizeof(int32_t));
	s = u64map_put(&m->m, (uint32_t)tid, &added);
	if (!s)
		return -ENOMEM;
	if (added)
		*s = off;
	else if (*s != off)
		*s = -1;
	return 0;
}

/* The path of thread `tid`, or NULL when unknown or ambiguous. */
static const char *cgmap_get(const struct cgmap *m, int tid)
{
	const int32_t *s = u64map_get(&m->m, (uint32_t)tid);

	return s && *s >= 0 ? m->paths.data + *s : NULL;
}

static void cgmap_free(struct cgmap *m)
{
	u64map_free(&m->m);
	buf_free(&m->paths);
	memset(m, 0, sizeof(*m));
}

/* One hierarchy's walk. */
struct cgwalk {
	struct cgmap *m;
	const char *list; /* "cgroup.threads" (v2) or "tasks" (v1) */
	size_t budget;    /* directories that may still be listed */
	struct buf path;  /* the current cgroup's path */
	struct buf file;  /* its thread list */
};

/* Map the threads of cgroup `dfd` (path w->path) and of its descendants. */
static int cgwalk_dir(struct cgwalk *w, int dfd, int depth)
{
	char dents[2048] __attribute__((aligned(8)));
	const char *p, *end;
	bool cut;
	ssize_t n;
	int32_t off;
	int fd, tid, r;

	if (w->budget == 0 || w->m->paths.len > INT32_MAX - w->path.len - 1)
		return -E2BIG;
	w->budget--;
	fd = openat(dfd, w->list, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno; /* removed meanwhile */
	buf_reset(&w->file);
	n = read_fd_bounded(fd, &w->file, CGMAP_LIST_MAX, &cut);
	close(fd);
	if (n < 0)
		return n == -ENODEV || n == -ENOENT ? 0 : (int)n;
	if (cut)
		return -E2BIG;
	off = (int32_t)w->m->paths.len;
	buf_add(&w->m->paths, w->path.data, w->path.len);
	buf_addc(&w->m->paths, '\0');
	p = w->file.data;
	end = p + w->file.len;
	while (p && proc_pidlist_next(&p, end, &tid))
		if ((r = cgmap_add(w->m, tid, off)) < 0)
			return r;

	if (depth >= CGMAP_DEPTH)
		return 0;
	while ((n = getdents64(dfd, dents, sizeof(dents))) > 0) {
		for (ssize_t o = 0; o < n;) {
			struct dirent64 *d = (struct dirent64 *)(dents + o);
			size_t len = w->path.len, nl;

			if (d->d_reclen == 0)
				return -EIO;
			o += d->d_reclen;
			nl = strlen(d->d_name);
			if (d->d_type != DT_DIR || strcmp(d->d_name, ".") == 0 ||
			    strcmp(d->d_name, "..") == 0 || memchr(d->d_name, '\n', nl))
				continue;
			fd = openat(dfd, d->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				continue; /* removed meanwhile */
			if (len > 1)
				buf_addc(&w->path, '/');
			buf_add(&w->path, d->d_name, nl);
			r = cgwalk_dir(w, fd, depth + 1);
			close(fd);
			w->path.len = len;
			w->path.data[len] = '\0';
			if (r < 0)
				return r;
		}
	}
	return n < 0 ? -errno : 0;
}

/* Map hierarchy `root_fd` (a mount showing cgroup `root`) into `m`. */
static int cgmap_build(struct cgmap *m, int root_fd, const char *root, const char *list,
                       unsigned long magic, size_t *budget)
{
	struct cgwalk w = {.m = m, .list = list, .budget = *budget};
	struct statfs sf;
	int r;

	if (root_fd < 0 || fstatfs(root_fd, &sf) < 0 || (unsigned long)sf.f_type != magic)
		return -ENOENT;
	buf_adds(&w.path, root);
	r = cgwalk_dir(&w, root_fd, 0);
	*budget = w.budget;
	buf_free(&w.path);
	buf_free(&w.file);
	return r;
}

/* The path the maps give process `pid`, or NULL: read its file. */
static const char *cgmaps_get(const struct cgmaps *c, int pid)
{
	return proc_cgroup_choose(&c->shape, c->shape.v2 ? cgmap_get(&c->v2, pid) : NULL,
	                          c->shape.memory ? cgmap_get(&c->memory, pid) : NULL);
}

static void cgmaps_free(struct cgmaps *c)
{
	if (!c)
		return;
	cgmap_free(&c->v2);
	cgmap_free(&c->memory);
	free(c);
}

/* Is proc_fd's PID namespace ours?  Then "self" has one NSpid level. */
static bool same_pidns(int proc_fd)
{
	char buf[4096];
	struct proc_status st;
	ssize_t n = read_small_at(proc_fd, "self/status", buf, sizeof(buf));

	return n > 0 && proc_parse_status(buf, (size_t)n, &st) == 0 && (st.have & PS_NSPID) &&
	       st.nspid_levels == 1;
}

/* Build the maps for a walk of `npids` processes of `proc_fd`, or NULL
 * when they would not pay or cannot be trusted. */
static struct cgmaps *cgmaps_new(int proc_fd, size_t npids)
{
	char self[8192];
	struct cgroup_mounts mnt;
	struct cgmaps *c;
	const char *want, *got;
	size_t budget, wlen;
	ssize_t n;
	int r = 0;

	if (npids < CGMAP_MIN_PIDS || !same_pidns(proc_fd))
		return NULL;
	n = read_small_at(proc_fd, "self/cgroup", self, sizeof(self));
	if (n <= 0 || (size_t)n >= sizeof(self) - 1)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (proc_cgroup_shape(self, (size_t)n, &c->shape) < 0 ||
	    proc_cgroup_pick(self, (size_t)n, &want, &wlen) < 0 ||
	    (!c->shape.v2 && !c->shape.memory) ||
	    (budget = npids * c->shape.lines / CGMAP_DIR_COST) == 0 ||
	    cgroup_mounts_open(proc_fd, "self/mountinfo", -1, &mnt) < 0) {
		cgmaps_free(c);
		return NULL;
	}
	if (c->shape.v2)
		r = cgmap_build(&c->v2, mnt.v2_fd, mnt.v2_root, "cgroup.threads",
		                CGROUP2_SUPER_MAGIC, &budget);
	if (r == 0 && c->shape.memory)
		r = cgmap_build(&c->memory, mnt.v1_fd[CG_MEMORY], mnt.v1_root[CG_MEMORY], "tasks",
		                CGROUP_SUPER_MAGIC, &budget);
	cgroup_mounts_close(&mnt);
	/* Our own path, from the maps and from our file, must agree. */
	got = r == 0 ? cgmaps_get(c, (int)getpid()) : NULL;
	if (!got || strlen(got) != wlen || memcmp(got, want, wlen) != 0) {
		cgmaps_free(c);
		return NULL;
	}
	return c;
}

/* ---- processes -------------------------------------------------------- */

#define WALK_CHUNK 16           /* pids a worker reads at a time: one batch */
#define WALK_MAX_THREADS 4      /* workers at most (one per usable CPU) */
#define WALK_PIDS_PER_THREAD 64 /* fewer pids than this per worker: not worth one */

/* Facts read once per walk, shared read-only by the workers. */
struct proc_env {
	int proc_fd;
	struct passwd_cache *users;
	long hz;
	uint64_t page_kb;
	int64_t btime;
	bool have_btime;
	bool fds_by_size; /* st_size of <pid>/fd counts fds (Linux >= 6.2) */
	/* cgroup paths without the files; NULL until built (published with
	 * a release store, read with acquire loads), or when there is none */
	const struct cgmaps *cg;
};

/* One reader's buffers, reused for every process it reads. */
struct proc_scratch {
	char stat[2048];
	char status[8192];
	char cgroup[8192];
	char exe[PATH_MAX];
	char cwd[PATH_MAX];
	char cmdline[CMDLINE_MAX + 2];                 /* one byte more tells a cut */
	char dents[32768] __attribute__((aligned(8))); /* struct dirent64 */
};

/*
 * A process read, held until the calling thread emits it.  Its strings
 * are copied into the batch's arena and located by offset (the arena may
 * move while it grows); a field's VP_* bit tells whether it is there.
 * `report` != 0: no record, the error hook is called with "pid N".
 */
struct proc_ent {
	struct vt_proc p;
	int report;
	uint32_t cmdline, exe, cwd, cgroup;
};

enum batch_state { B_FREE, B_FILLING, B_READY };

/* The processes of one chunk of the pid list, in pid list order. */
struct batch {
	enum batch_state state;
	size_t chunk;
	unsigned n;
	struct proc_ent ent[WALK_CHUNK];
	struct buf arena;
};

/*
 * A walk: the pid list cut in chunks of WALK_CHUNK, read by worker
 * threads into batches and emitted in chunk order by the calling thread.
 * Under `lock`: next, stop, and every batch's state and chunk.  A worker
 * takes a free batch and the next chunk in one step, so a chunk taken is
 * always being filled: the chunk the caller waits for is never starved of
 * a batch.  `cond` is broadcast whenever a batch becomes ready or free,
 * and on stop.
 */
struct proc_walk {
	struct proc_env env;
	int *pids;
	size_t npids, nchunks;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t next;
	bool stop;
	struct batch *batch;
	size_t nbatch;
	bool want_cg;      /* build the cgroup map (the whole procfs is walked) */
	struct cgmaps *cg; /* it, once built (env.cg is its published copy) */
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

static void read_fds(const struct proc_env *env, struct proc_scratch *s, int dfd, struct vt_proc *p)
{
	struct stat st;

	if (fstatat(dfd, "fd", &st, 0) < 0) {
		note(p, gone_to_esrch(errno));
		return;
	}
	if (env->fds_by_size || st.st_size > 0) {
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

static void read_status(const struct proc_env *env, struct proc_scratch *s, int dfd,
                        struct vt_proc *p)
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
		p->user = passwd_cache_name(env->users, st.uid);
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

static void read_cmdline(struct proc_scratch *s, int dfd, struct vt_proc *p)
{
	ssize_t n = read_at(dfd, "cmdline", s->cmdline, CMDLINE_MAX + 1);

	if (n < 0) {
		note(p, gone_to_esrch((int)-n));
		return;
	}
	if ((size_t)n > CMDLINE_MAX) {
		n = CMDLINE_MAX;
		p->cmdline_cut = true;
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

static void read_cgroup(struct proc_scratch *s, int dfd, struct vt_proc *p)
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
static void from_stat(const struct proc_env *env, const struct proc_stat *st, struct vt_proc *p)
{
	p->ppid = st->ppid;
	p->state = st->state;
	memcpy(p->comm, st->comm, sizeof(p->comm));
	p->threads = st->threads;
	p->rss_kb = st->rss * env->page_kb;
	p->vsz_kb = st->vsize / 1024;
	p->cpu_user_s = (double)st->utime / (double)env->hz;
	p->cpu_system_s = (double)st->stime / (double)env->hz;
	p->have |= VP_PPID | VP_STATE | VP_COMM | VP_THREADS | VP_RSS | VP_VSZ | VP_CPU;
	if (env->have_btime) {
		p->start_time = env->btime + (int64_t)(st->starttime / (uint64_t)env->hz);
		p->have |= VP_START;
	}
}

/*
 * Read process `pid` into `p` (its strings in `s`).  Returns 1 when there
 * is a record, 0 when the process is skipped silently (it exited), or
 * -errno when nothing is known and the error hook must be told.
 */
static int read_proc(const struct proc_env *env, struct proc_scratch *s, int pid, struct vt_proc *p)
{
	const struct cgmaps *cg;
	struct proc_stat st;
	char name[16];
	ssize_t n;
	int dfd, r;

	snprintf(name, sizeof(name), "%d", pid);
	/* O_PATH: only a handle for the *at() calls below, cheaper to open
	 * and close than a readable directory. */
	dfd = openat(env->proc_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT || errno == ESRCH ? 0 : -errno;

	n = read_at(dfd, "stat", s->stat, sizeof(s->stat));
	if (n <= 0) {
		r = n < 0 && n != -ENOENT && n != -ESRCH ? (int)n : 0;
		goto out;
	}
	if (proc_parse_stat(s->stat, (size_t)n, &st) < 0) {
		r = -EINVAL;
		goto out;
	}

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	from_stat(env, &st, p);
	read_status(env, s, dfd, p);
	read_cmdline(s, dfd, p);
	read_link(dfd, "exe", s->exe, sizeof(s->exe), p, &p->exe, VP_EXE);
	read_link(dfd, "cwd", s->cwd, sizeof(s->cwd), p, &p->cwd, VP_CWD);
	read_fds(env, s, dfd, p);
	cg = __atomic_load_n(&env->cg, __ATOMIC_ACQUIRE);
	if (cg && (p->cgroup = cgmaps_get(cg, pid)))
		p->have |= VP_CGROUP;
	else
		read_cgroup(s, dfd, p);
	r = 1;
out:
	close(dfd);
	return r;
}

/* Copy string `str` (n bytes) into the arena, NUL-terminated. */
static uint32_t keep(struct buf *arena, const char *str, size_t n)
{
	uint32_t off = (uint32_t)arena->len;

	buf_add(arena, str, n);
	buf_addc(arena, '\0');
	return off;
}

/* Read the pids of chunk b->chunk into `b`. */
static void fill_batch(const struct proc_walk *w, struct proc_scratch *s, struct batch *b)
{
	size_t i = b->chunk * WALK_CHUNK;
	size_t end = i + WALK_CHUNK < w->npids ? i + WALK_CHUNK : w->npids;

	b->n = 0;
	buf_reset(&b->arena);
	for (; i < end; i++) {
		struct proc_ent *e = &b->ent[b->n];
		struct vt_proc *p = &e->p;
		int r = read_proc(&w->env, s, w->pids[i], p);

		if (r == 0)
			continue;
		b->n++;
		e->report = r < 0 ? -r : 0;
		if (r < 0) {
			p->pid = w->pids[i];
			continue;
		}
		if (p->have & VP_CMDLINE)
			e->cmdline = keep(&b->arena, p->cmdline, p->cmdline_len);
		if (p->have & VP_EXE)
			e->exe = keep(&b->arena, p->exe, strlen(p->exe));
		if (p->have & VP_CWD)
			e->cwd = keep(&b->arena, p->cwd, strlen(p->cwd));
		if (p->have & VP_CGROUP)
			e->cgroup = keep(&b->arena, p->cgroup, strlen(p->cgroup));
	}
}

/* Hand the records of `b` to the callback, in order. */
static int emit_batch(struct batch *b, const struct view_iter *it,
                      int (*cb)(void *ctx, const struct vt_proc *p))
{
	const char *a = b->arena.data;
	unsigned i;

	for (i = 0; i < b->n; i++) {
		struct proc_ent *e = &b->ent[i];
		struct vt_proc *p = &e->p;
		int r;

		if (e->report) {
			report(it, p->pid, e->report);
			continue;
		}
		if (p->have & VP_CMDLINE)
			p->cmdline = a + e->cmdline;
		if (p->have & VP_EXE)
			p->exe = a + e->exe;
		if (p->have & VP_CWD)
			p->cwd = a + e->cwd;
		if (p->have & VP_CGROUP)
			p->cgroup = a + e->cgroup;
		r = cb(it ? it->ctx : NULL, p);
		if (r)
			return r;
	}
	return 0;
}

/* A free batch, or NULL.  Under w->lock. */
static struct batch *free_batch(struct proc_walk *w)
{
	for (size_t i = 0; i < w->nbatch; i++)
		if (w->batch[i].state == B_FREE)
			return &w->batch[i];
	return NULL;
}

/* The batch holding chunk `c` once it is read, or NULL.  Under w->lock. */
static struct batch *ready_batch(struct proc_walk *w, size_t c)
{
	for (size_t i = 0; i < w->nbatch; i++)
		if (w->batch[i].state == B_READY && w->batch[i].chunk == c)
			return &w->batch[i];
	return NULL;
}

struct worker {
	pthread_t tid;
	struct proc_walk *w;
	struct proc_scratch *s;
};

static void *walk_worker(void *arg)
{
	struct worker *me = arg;
	struct proc_walk *w = me->w;
	struct batch *b = NULL;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && w->next < w->nchunks && !(b = free_batch(w)))
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop || w->next >= w->nchunks)
			break;
		b->chunk = w->next++;
		b->state = B_FILLING;
		pthread_mutex_unlock(&w->lock);
		fill_batch(w, me->s, b);
		pthread_mutex_lock(&w->lock);
		b->state = B_READY;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Emit every chunk in order as the workers read them.  Returns the first
 * non-zero callback result, and then stops the workers. */
static int walk_emit(struct proc_walk *w, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_proc *p))
{
	int r = 0;

	for (size_t c = 0; c < w->nchunks && r == 0; c++) {
		struct batch *b;

		pthread_mutex_lock(&w->lock);
		while (!(b = ready_batch(w, c)))
			pthread_cond_wait(&w->cond, &w->lock);
		pthread_mutex_unlock(&w->lock);
		r = emit_batch(b, it, cb);
		pthread_mutex_lock(&w->lock);
		b->state = B_FREE;
		if (r)
			w->stop = true;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
	return r;
}

/* How many worker threads for `npids` pids: one per usable CPU, at most
 * WALK_MAX_THREADS; 0 (read on the calling thread) when fewer than two
 * would run. */
static size_t walk_threads(size_t npids)
{
	cpu_set_t set;
	long ncpu = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
	                                                         : sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = npids / WALK_PIDS_PER_THREAD;

	if (n > WALK_MAX_THREADS)
		n = WALK_MAX_THREADS;
	if (ncpu > 0 && n > (size_t)ncpu)
		n = (size_t)ncpu;
	return n >= 2 ? n : 0;
}

/*
 * Run the walk with `nt` workers (scratch buffers in s[0..nt-1]); with
 * none, or when no thread can be started, the calling thread reads and
 * emits chunk by chunk.  Signals are blocked in the workers, so handlers
 * run on the calling thread.
 */
static int walk_run(struct proc_walk *w, struct proc_scratch *s, size_t nt,
                    const struct view_iter *it, int (*cb)(void *ctx, const struct vt_proc *p))
{
	struct worker workers[WALK_MAX_THREADS];
	sigset_t all, old;
	size_t started = 0, i;
	int r = 0;

	if (nt) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		for (; started < nt; started++) {
			workers[started].w = w;
			workers[started].s = &s[started];
			if (pthread_create(&workers[started].tid, NULL, walk_worker,
			                   &workers[started]) != 0)
				break;
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	/* The map is built while the workers start reading (they read the
	 * cgroup files until it is published); alone, before reading. */
	if (w->want_cg) {
		w->cg = cgmaps_new(w->env.proc_fd, w->npids);
		__atomic_store_n(&w->env.cg, w->cg, __ATOMIC_RELEASE);
	}
	if (started) {
		r = walk_emit(w, it, cb);
	} else {
		for (size_t c = 0; c < w->nchunks && r == 0; c++) {
			w->batch[0].chunk = c;
			fill_batch(w, &s[0], &w->batch[0]);
			r = emit_batch(&w->batch[0], it, cb);
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(workers[i].tid, NULL);
	return r;
}

/* Boot time and kernel facts, read once per walk. */
static void env_init(struct proc_env *env, int proc_fd, struct passwd_cache *users)
{
	struct buf b = BUF_INIT;
	struct utsname u;
	long page = sysconf(_SC_PAGESIZE);

	memset(env, 0, sizeof(*env));
	env->proc_fd = proc_fd;
	env->users = users;
	env->hz = sysconf(_SC_CLK_TCK);
	if (env->hz <= 0)
		env->hz = 100;
	env->page_kb = page > 0 ? (uint64_t)page / 1024 : 4;
	if (read_file_at(proc_fd, "stat", &b, PROC_STAT_MAX) > 0 &&
	    proc_parse_btime(b.data, b.len, &env->btime) == 0)
		env->have_btime = true;
	buf_free(&b);
	env->fds_by_size = uname(&u) == 0 && proc_release_ge(u.release, 6, 2);
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

/* The pids of proc_fd passing `filter`, in /proc's (ascending) order,
 * into w->pids, listed through `dents` (`cap` bytes). */
static int list_pids(struct proc_walk *w, pid_filter_fn filter, void *filter_ctx, char *dents,
                     size_t cap)
{
	size_t have = 0;
	ssize_t n;
	int r = 0, dirfd = openat(w->env.proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dirfd < 0)
		return -errno;
	while (r == 0 && (n = getdents64(dirfd, dents, cap)) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(dents + off);
			int pid = name_to_pid(d->d_name);

			if (d->d_reclen == 0)
				break;
			off += d->d_reclen;
			if (pid < 0 || (filter && !filter(filter_ctx, pid)))
				continue;
			if (w->npids == have) {
				size_t ncap = have ? have * 2 : 1024;
				int *np = realloc(w->pids, ncap * sizeof(*np));

				if (!np) {
					r = -ENOMEM;
					break;
				}
				w->pids = np;
				have = ncap;
			}
			w->pids[w->npids++] = pid;
		}
	}
	if (r == 0 && n < 0)
		r = -errno;
	close(dirfd);
	return r;
}

int procfs_processes(int proc_fd, struct passwd_cache *users, pid_filter_fn filter,
                     void *filter_ctx, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_proc *p))
{
	struct proc_walk w = {0};
	struct proc_scratch *s;
	size_t nt, i;
	int r;

	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	env_init(&w.env, proc_fd, users);
	r = list_pids(&w, filter, filter_ctx, s->dents, sizeof(s->dents));
	if (r < 0)
		goto out;
	w.nchunks = (w.npids + WALK_CHUNK - 1) / WALK_CHUNK;
	w.want_cg = !filter;

	/* One scratch per worker, two batches each so that a worker never
	 * waits for the caller to emit; fewer workers if memory is short. */
	nt = walk_threads(w.npids);
	if (nt) {
		struct proc_scratch *more = realloc(s, nt * sizeof(*s));

		if (more)
			s = more;
		else
			nt = 0;
	}
	w.nbatch = nt ? 2 * nt : 1;
	w.batch = calloc(w.nbatch, sizeof(*w.batch));
	if (!w.batch) {
		r = -ENOMEM;
		goto out;
	}
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	r = walk_run(&w, s, nt, it, cb);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	for (i = 0; i < w.nbatch; i++)
		buf_free(&w.batch[i].arena);
	free(w.batch);
out:
	cgmaps_free(w.cg);
	free(w.pids);
	free(s);
	return r;
}
