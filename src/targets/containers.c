/*
 * containers.c - container discovery from /proc (see containers.h).
 *
 * How, in three steps:
 *
 *   pass      getdents64 over /proc; per process one fstatat of ns/pid and
 *             one read of cgroup (recognised by cgroup_id.c).  A process is
 *             either counted as the host's or appended to its group, found
 *             through a u64map (util/u64set.h) of group key hashes (runtime +
 *             id, or PID namespace inode).  Only group members are stored.
 *   describe  per group: the init (NSpid 1, read from the status of the
 *             members in ascending pid order; or, in the host's PID
 *             namespace, the oldest member whose parent is outside), its
 *             stat (state, start time), its other namespace inodes, its
 *             cgroup file (path, freezer state).
 *   enrich    runtime metadata (runtime_meta.c), then for runtime "none"
 *             the UTS hostnames, read by one helper thread that setns()es
 *             into each UTS namespace in turn (a thread's UTS namespace is
 *             its own; the thread exits, so ours never changes).
 *
 * Cost: two syscalls plus one small read per process, and about a dozen
 * small reads per container.  No stdio; every path is relative to proc_fd.
 */
#include "containers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/u64set.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "../linux/proc_parse.h"
#include "cgroup_id.h"
#include "runtime_meta.h"

#define CGROUP_READ_MAX 8192 /* /proc/PID/cgroup: a dozen lines of paths */
#define STATUS_READ_MAX 4096
#define INIT_PROBES 64    /* members whose status is read to find NSpid 1 */
#define OLDEST_PROBES 256 /* members whose stat is read to find the oldest */

struct member {
	int pid;
	uint64_t pidns;
};

struct group {
	struct cgroup_cid cid; /* runtime "" for a PID-namespace group */
	uint64_t pidns;        /* key of a PID-namespace group */
	uint64_t hash;
	struct member *m;
	int n, cap;
};

struct groups {
	struct group *v;
	int n, cap;
	struct u64map idx; /* key_hash -> index in v (int); on a hash collision
	                    * the later group is found by a linear search */
};

struct host_ns {
	uint64_t pid, mnt, net, uts;
	int pid1;
};

/* ---- small I/O helpers --------------------------------------------------- */

/* A namespace's inode from the link text "pid:[4026531836]" (readlink is
 * cheaper than a stat of the magic link).  0 and *err set on failure. */
static uint64_t ns_inode(int proc_fd, int pid, const char *ns, int *err)
{
	char path[48], t[64];
	snprintf(path, sizeof(path), "%d/ns/%s", pid, ns);
	ssize_t n = readlinkat(proc_fd, path, t, sizeof(t) - 1);
	if (n < 0) {
		if (err)
			*err = errno;
		return 0;
	}
	t[n] = 0;
	const char *p = memchr(t, '[', (size_t)n);
	uint64_t v;
	if (!p)
		goto bad;
	p++;
	if (!parse_u64(&p, t + n, &v) || p >= t + n || *p != ']')
		goto bad;
	return v;
bad:
	if (err)
		*err = EINVAL;
	return 0;
}

/*
 * Read /proc/<pid>/<file> into dst (NUL-terminated); length or -errno.
 * The per-process files read here are seq_files produced by one show()
 * call, so one read() returns all of a file that fits: a second read is
 * only made when the buffer came back full.
 */
static ssize_t read_proc(int proc_fd, int pid, const char *file, char *dst, size_t cap)
{
	char path[48];
	size_t got = 0;
	snprintf(path, sizeof(path), "%d/%s", pid, file);
	int fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < cap - 1) {
		ssize_t n = read(fd, dst + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			dst[got] = 0;
			return got ? (ssize_t)got : -e;
		}
		got += (size_t)n;
		if (n == 0 || got < cap - 1)
			break;
	}
	close(fd);
	dst[got] = 0;
	return (ssize_t)got;
}

static int parse_pid(const char *s)
{
	int v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* ---- host namespaces ----------------------------------------------------- */

static bool is_kthreadd(int proc_fd)
{
	char comm[32];
	ssize_t n = read_proc(proc_fd, 2, "comm", comm, sizeof(comm));
	return n > 0 && strncmp(comm, "kthreadd\n", 9) == 0;
}

static void host_namespaces(int proc_fd, struct host_ns *h)
{
	int cands[3] = {1, 2, -1}, n = 0;
	memset(h, 0, sizeof(*h));
	for (int i = 0; i < 3 && !h->pid; i++) {
		int pid = cands[i];
		if (pid == 2 && !is_kthreadd(proc_fd))
			continue;
		if (pid < 0)
			pid = getpid();
		h->pid = ns_inode(proc_fd, pid, "pid", NULL);
		n = pid;
	}
	h->pid1 = n;
	h->mnt = ns_inode(proc_fd, n, "mnt", NULL);
	h->net = ns_inode(proc_fd, n, "net", NULL);
	h->uts = ns_inode(proc_fd, n, "uts", NULL);
}

/* ---- grouping ------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t key_hash(const struct cgroup_cid *cid, uint64_t pidns)
{
	uint64_t h = 14695981039346656037ull;
	h = fnv(h, cid->runtime, strlen(cid->runtime));
	h = fnv(h, "/", 1);
	h = fnv(h, cid->id, strlen(cid->id));
	return fnv(h, &pidns, sizeof(pidns));
}

static bool key_eq(const struct group *g, const struct cgroup_cid *cid, uint64_t pidns)
{
	return g->pidns == pidns && strcmp(g->cid.runtime, cid->runtime) == 0 &&
	       strcmp(g->cid.id, cid->id) == 0;
}

/* The group of a key, or NULL. */
static struct group *group_find(const struct groups *gs, const struct cgroup_cid *cid,
                                uint64_t pidns)
{
	uint64_t h = key_hash(cid, pidns);
	const int *i = u64map_get(&gs->idx, h);
	if (!i)
		return NULL;
	if (key_eq(&gs->v[*i], cid, pidns))
		return &gs->v[*i];
	for (int j = 0; j < gs->n; j++) /* two keys with one hash: never in practice */
		if (gs->v[j].hash == h && key_eq(&gs->v[j], cid, pidns))
			return &gs->v[j];
	return NULL;
}

/* The group of a key, made when new. */
static struct group *group_get(struct groups *gs, const struct cgroup_cid *cid, uint64_t pidns)
{
	struct group *g = group_find(gs, cid, pidns);
	if (g)
		return g;
	uint64_t h = key_hash(cid, pidns);
	bool added;
	if (!gs->idx.vsize) /* zeroed groups: set up on the first add */
		u64map_init(&gs->idx, sizeof(int));
	int *slot = u64map_put(&gs->idx, h, &added);
	if (!slot)
		xalloc_die(0);
	if (gs->n == gs->cap) {
		gs->cap = gs->cap ? gs->cap * 2 : 16;
		gs->v = xreallocarray(gs->v, (size_t)gs->cap, sizeof(*gs->v));
	}
	g = &gs->v[gs->n];
	memset(g, 0, sizeof(*g));
	g->cid = *cid;
	g->pidns = pidns;
	g->hash = h;
	if (added) /* else the hash is another key's: found by the linear search */
		*slot = gs->n;
	gs->n++;
	return g;
}

static void group_add(struct group *g, int pid, uint64_t pidns)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 8;
		g->m = xreallocarray(g->m, (size_t)g->cap, sizeof(*g->m));
	}
	g->m[g->n++] = (struct member){pid, pidns};
}

static void groups_free(struct groups *gs)
{
	for (int i = 0; i < gs->n; i++)
		free(gs->v[i].m);
	free(gs->v);
	u64map_free(&gs->idx);
	memset(gs, 0, sizeof(*gs));
}

/* ---- runtime cgroups, found by walking one hierarchy --------------------- */

/* pid -> group index: a u64map of int. */
struct pidmap {
	struct u64map m;
};

static void pidmap_put(struct pidmap *m, int pid, int gi)
{
	if (!m->m.vsize) /* a zeroed pidmap: set up on the first put */
		u64map_init(&m->m, sizeof(int));
	int *v = u64map_put(&m->m, (uint64_t)pid, NULL);
	if (!v)
		xalloc_die(0);
	*v = gi;
}

static int pidmap_get(const struct pidmap *m, int pid)
{
	const int *v = u64map_get(&m->m, (uint64_t)pid);
	return v ? *v : -1;
}

#define WALK_DEPTH 32
#define WALK_DIRS 65536
#define PROCS_READ_MAX (4u << 20)

struct cgwalk {
	struct groups *gs;
	struct pidmap *pm;
	char path[4096]; /* the cgroup path of the directory being read */
	size_t plen;
	int budget; /* directories left to open */
};

/* Map every pid of cgroup.procs in directory dfd to group gi. */
static void map_procs(int dfd, int gi, struct cgwalk *w)
{
	struct buf b = BUF_INIT;
	if (read_file_at(dfd, "cgroup.procs", &b, PROCS_READ_MAX) > 0) {
		const char *p = b.data, *end = b.data + b.len;
		while (p < end) {
			uint64_t v;
			if (parse_u64(&p, end, &v) && v > 0 && v < INT32_MAX)
				pidmap_put(w->pm, (int)v, gi);
			while (p < end && *p != '\n')
				p++;
			p++;
		}
	}
	buf_free(&b);
}

/* Walk the subdirectories of dfd (closed here).  gi >= 0: we are inside
 * container gi's cgroup, every process below belongs to it; gi < 0: look
 * for a container's cgroup by its path. */
static void walk_dir(int dfd, int gi, struct cgwalk *w, int depth)
{
	if (gi >= 0)
		map_procs(dfd, gi, w);
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	struct dirent *de;
	size_t saved = w->plen;
	while ((de = readdir(d)) && w->budget > 0) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		size_t nl = strlen(de->d_name);
		if (depth + 1 >= WALK_DEPTH || saved + 1 + nl >= sizeof(w->path))
			continue;
		w->path[saved] = '/';
		memcpy(w->path + saved + 1, de->d_name, nl + 1);
		w->plen = saved + 1 + nl;
		int sub_gi = gi;
		struct cgroup_cid cid;
		if (gi < 0 && cgroup_id_from_path(w->path, w->plen, &cid))
			sub_gi = (int)(group_get(w->gs, &cid, 0) - w->gs->v);
		int sfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		w->budget--;
		if (sfd >= 0)
			walk_dir(sfd, sub_gi, w, depth + 1);
		w->plen = saved;
		w->path[saved] = 0;
	}
	closedir(d);
}

/* The hierarchy walked: the cgroup2 root on a pure v2 host, else the
 * first v1 hierarchy every runtime joins (name=systemd, memory, ...). */
static int open_hierarchy(int root_fd)
{
	static const char *const v1[] = {"systemd", "memory", "pids", "cpu", "unified"};
	int fd = openat(root_fd, "sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (faccessat(fd, "cgroup.controllers", F_OK, 0) == 0)
		return fd;
	for (size_t i = 0; i < ARRAY_SIZE(v1); i++) {
		int h = openat(fd, v1[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (h >= 0 && faccessat(h, "cgroup.procs", F_OK, 0) == 0) {
			close(fd);
			return h;
		}
		if (h >= 0)
			close(h);
	}
	close(fd);
	return -1;
}

static void walk_cgroups(int root_fd, struct groups *gs, struct pidmap *pm)
{
	struct cgwalk w = {.gs = gs, .pm = pm, .budget = WALK_DIRS};
	int fd = open_hierarchy(root_fd);
	if (fd >= 0)
		walk_dir(fd, -1, &w, 0);
}

/* ---- the pass over /proc -------------------------------------------------- */

/* Classify one process: a container's member, a host process, or gone.
 * Only processes outside the host's PID namespace that the cgroup walk did
 * not place have their cgroup file read, and only until their PID
 * namespace is known to hold a runtime-less container: its other
 * processes join it without a read. */
static void classify(int proc_fd, int pid, const struct host_ns *h, struct groups *gs,
                     const struct pidmap *pm, int *host_procs)
{
	char cg[CGROUP_READ_MAX];
	struct cgroup_cid cid;
	int err = 0;
	uint64_t pidns = ns_inode(proc_fd, pid, "pid", &err);
	if (!pidns && (err == ENOENT || err == ESRCH))
		return; /* exited (or a zombie: it has no namespaces left) */
	int gi = pidmap_get(pm, pid);
	if (gi >= 0 && gi < gs->n) {
		group_add(&gs->v[gi], pid, pidns);
		return;
	}
	if (!pidns || pidns == h->pid) {
		(*host_procs)++;
		return;
	}
	memset(&cid, 0, sizeof(cid));
	struct group *g = group_find(gs, &cid, pidns);
	if (g) {
		group_add(g, pid, pidns);
		return;
	}
	ssize_t n = read_proc(proc_fd, pid, "cgroup", cg, sizeof(cg));
	if (n > 0 && cgroup_id_from_file(cg, (size_t)n, &cid, NULL, NULL)) {
		group_add(group_get(gs, &cid, 0), pid, pidns);
		return;
	}
	memset(&cid, 0, sizeof(cid));
	group_add(group_get(gs, &cid, pidns), pid, pidns);
}

static int scan_proc(int proc_fd, const struct host_ns *h, struct groups *gs,
                     const struct pidmap *pm, int *host_procs)
{
	char dbuf[32768];
	int dfd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (;;) {
		long nr = syscall(SYS_getdents64, dfd, dbuf, sizeof(dbuf));
		if (nr < 0) {
			int e = errno;
			close(dfd);
			return -e;
		}
		if (nr == 0)
			break;
		for (long off = 0; off < nr;) {
			struct dirent64 *de = (struct dirent64 *)(dbuf + off);
			off += de->d_reclen;
			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			int pid = parse_pid(de->d_name);
			if (pid > 0)
				classify(proc_fd, pid, h, gs, pm, host_procs);
		}
	}
	close(dfd);
	return 0;
}

/* ---- describing one container ------------------------------------------- */

static int cmp_member(const void *a, const void *b)
{
	int x = ((const struct member *)a)->pid, y = ((const struct member *)b)->pid;
	return (x > y) - (x < y);
}

static bool has_member(const struct group *g, int pid)
{
	int lo = 0, hi = g->n - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (g->m[mid].pid == pid)
			return true;
		if (g->m[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

static int read_stat(int proc_fd, int pid, struct proc_stat *st)
{
	char b[1024];
	ssize_t n = read_proc(proc_fd, pid, "stat", b, sizeof(b));
	if (n <= 0)
		return -ENOENT;
	return proc_parse_stat(b, (size_t)n, st);
}

/* The init of a group (members sorted by pid): see the file comment. */
static int find_init(int proc_fd, const struct group *g, uint64_t host_pidns)
{
	char b[STATUS_READ_MAX];
	int probes = 0;
	for (int i = 0; i < g->n && probes < INIT_PROBES; i++) {
		if (!g->m[i].pidns || g->m[i].pidns == host_pidns)
			continue;
		probes++;
		struct proc_status ps;
		ssize_t n = read_proc(proc_fd, g->m[i].pid, "status", b, sizeof(b));
		if (n > 0 && proc_parse_status(b, (size_t)n, &ps) == 0 && (ps.have & PS_NSPID) &&
		    ps.nspid == 1)
			return g->m[i].pid;
	}
	int best = -1;
	uint64_t best_start = UINT64_MAX;
	for (int i = 0; i < g->n && i < OLDEST_PROBES; i++) {
		struct proc_stat st;
		if (read_stat(proc_fd, g->m[i].pid, &st) < 0)
			continue;
		bool outside = !has_member(g, st.ppid);
		if (outside && st.starttime < best_start) {
			best = g->m[i].pid;
			best_start = st.starttime;
		}
	}
	return best > 0 ? best : g->m[0].pid;
}

/* A cgroup path from the kernel, checked before it goes into a path:
 * absolute, no "." or ".." component, no NUL, not absurdly long. */
static bool plain_path(const char *p, size_t n)
{
	if (n == 0 || p[0] != '/' || n > 900 || memchr(p, 0, n))
		return false;
	for (size_t i = 1; i <= n;) {
		size_t j = i;
		while (j < n && p[j] != '/')
			j++;
		size_t l = j - i;
		if ((l == 1 && p[i] == '.') || (l == 2 && p[i] == '.' && p[i + 1] == '.'))
			return false;
		i = j + 1;
	}
	return true;
}

/* Is the container's cgroup frozen: v1 freezer.state FROZEN (or FREEZING),
 * or "frozen 1" in cgroup2's cgroup.events?  The hierarchies are looked
 * for at their usual places below the root (sys/fs/cgroup/freezer, and
 * sys/fs/cgroup or its hybrid "unified" directory). */
static bool frozen(int root_fd, const char *cg, size_t cglen)
{
	const char *p;
	size_t pl;
	char path[1024], st[64];
	if (cgroup_controller_path(cg, cglen, "freezer", &p, &pl) == 0 && plain_path(p, pl)) {
		snprintf(path, sizeof(path), "sys/fs/cgroup/freezer%.*s/freezer.state", (int)pl, p);
		if (read_small_at(root_fd, path, st, sizeof(st)) > 0)
			return strncmp(st, "FROZEN", 6) == 0 || strncmp(st, "FREEZING", 8) == 0;
	}
	if (cgroup_controller_path(cg, cglen, "", &p, &pl) == 0 && plain_path(p, pl)) {
		static const char *const mounts[] = {"sys/fs/cgroup", "sys/fs/cgroup/unified"};
		for (size_t i = 0; i < ARRAY_SIZE(mounts); i++) {
			snprintf(path, sizeof(path), "%s%.*s/cgroup.events", mounts[i], (int)pl, p);
			ssize_t n = read_small_at(root_fd, path, st, sizeof(st));
			if (n > 0)
				return strstr(st, "frozen 1") != NULL;
		}
	}
	return false;
}

struct describe_ctx {
	int proc_fd, root_fd;
	const struct host_ns *h;
	int64_t btime;
	long hz;
	char hostname[256];
};

/* Fill the process side of a container from its group; -ENOENT when it
 * has vanished. */
static int describe(const struct describe_ctx *dc, struct group *g, struct container *c)
{
	char cg[CGROUP_READ_MAX];
	struct proc_stat st;
	int err = 0;

	qsort(g->m, (size_t)g->n, sizeof(*g->m), cmp_member);
	c->init_pid = find_init(dc->proc_fd, g, dc->h->pid);
	for (int i = 0; i < g->n; i++)
		if (g->m[i].pid == c->init_pid)
			c->pidns = g->m[i].pidns;
	c->mntns = ns_inode(dc->proc_fd, c->init_pid, "mnt", &err);
	if (!c->mntns && err == ENOENT)
		return -ENOENT; /* gone meanwhile */
	c->netns = ns_inode(dc->proc_fd, c->init_pid, "net", NULL);
	c->utsns = ns_inode(dc->proc_fd, c->init_pid, "uts", NULL);

	c->pids = xcalloc((size_t)g->n, sizeof(int));
	for (int i = 0; i < g->n; i++)
		c->pids[i] = g->m[i].pid;
	c->npids = g->n;

	bool have_stat = read_stat(dc->proc_fd, c->init_pid, &st) == 0;
	if (have_stat && dc->hz > 0 && dc->btime > 0)
		c->created = dc->btime + (int64_t)(st.starttime / (uint64_t)dc->hz);
	if (have_stat)
		copy_str(c->sys.name, sizeof(c->sys.name), st.comm, strlen(st.comm));

	const char *p;
	size_t pl;
	ssize_t n = read_proc(dc->proc_fd, c->init_pid, "cgroup", cg, sizeof(cg));
	if (n > 0 && cgroup_pick_path(cg, (size_t)n, &p, &pl) == 0)
		copy_str(c->cgroup, sizeof(c->cgroup), p, pl);
	const char *state = "running";
	if (n > 0 && frozen(dc->root_fd, cg, (size_t)n))
		state = "paused";
	else if (have_stat && (st.state == 'T' || st.state == 't'))
		state = "stopped";
	copy_str(c->state, sizeof(c->state), state, strlen(state));

	if (g->cid.runtime[0]) {
		copy_str(c->sys.runtime, sizeof(c->sys.runtime), g->cid.runtime,
		         strlen(g->cid.runtime));
		copy_str(c->cid, sizeof(c->cid), g->cid.id, strlen(g->cid.id));
		copy_str(c->pod_uid, sizeof(c->pod_uid), g->cid.pod_uid, strlen(g->cid.pod_uid));
		/* Without metadata: the name from the path, else the short id. */
		if (!strcmp(c->sys.runtime, "lxc") || !strcmp(c->sys.runtime, "nspawn"))
			copy_str(c->sys.name, sizeof(c->sys.name), c->cid, strlen(c->cid));
		else
			container_short_id(c, c->sys.name, sizeof(c->sys.name));
	} else {
		copy_str(c->sys.runtime, sizeof(c->sys.runtime), "none", 4);
		snprintf(c->cid, sizeof(c->cid), "pidns-%llu", (unsigned long long)g->pidns);
		/* The name stays the init's comm until the UTS pass. */
	}
	copy_str(c->sys.kind, sizeof(c->sys.kind), "container", 9);
	copy_str(c->sys.host, sizeof(c->sys.host), dc->hostname, strlen(dc->hostname));
	return 0;
}

/* Merge what the runtime's files say. */
static void enrich(struct meta_ctx *mc, struct container *c)
{
	struct container_meta m = {0};
	if (strcmp(c->sys.runtime, "none") != 0 &&
	    meta_lookup(mc, c->sys.runtime, c->cid, &m) == 0) {
		if (m.runtime[0])
			copy_str(c->sys.runtime, sizeof(c->sys.runtime), m.runtime,
			         strlen(m.runtime));
		if (m.name[0])
			copy_str(c->sys.name, sizeof(c->sys.name), m.name, strlen(m.name));
		if (m.image[0])
			copy_str(c->sys.image, sizeof(c->sys.image), m.image, strlen(m.image));
		if (m.created > 0)
			c->created = m.created;
		if (!strcmp(c->state, "running") &&
		    (!strcmp(m.state, "stopping") || !strcmp(m.state, "removing") ||
		     !strcmp(m.state, "restarting")))
			copy_str(c->state, sizeof(c->state), m.state, strlen(m.state));
	}
	if (c->pod_uid[0]) {
		if (!m.labels)
			m.labels = json_object();
		if (m.labels && !json_object_get(m.labels, "io.kubernetes.pod.uid"))
			json_object_set_new(m.labels, "io.kubernetes.pod.uid",
			                    json_string(c->pod_uid));
	}
	char *lj = m.labels
	               ? json_dumps(m.labels, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)
	               : NULL;
	c->labels_json = lj ? lj : xstrdup("{}");
	c->sys.labels_json = c->labels_json;
	snprintf(c->sys.id, sizeof(c->sys.id), "container:%s:%s", c->sys.runtime, c->cid);
	container_meta_clear(&m);
}

/* ---- UTS hostnames of runtime-less containers ----------------------------- */

struct uts_job {
	int proc_fd;
	struct container *v;
	int n;
	const struct host_ns *h;
	const char *host_name;
};

static void *uts_thread(void *arg)
{
	struct uts_job *j = arg;
	for (int i = 0; i < j->n; i++) {
		struct container *c = &j->v[i];
		if (strcmp(c->sys.runtime, "none") != 0 || !c->utsns || c->utsns == j->h->uts)
			continue;
		char path[48];
		snprintf(path, sizeof(path), "%d/ns/uts", c->init_pid);
		int fd = openat(j->proc_fd, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct utsname u;
		if (setns(fd, CLONE_NEWUTS) == 0 && uname(&u) == 0 && u.nodename[0] &&
		    strcmp(u.nodename, j->host_name) != 0)
			copy_str(c->sys.name, sizeof(c->sys.name), u.nodename, strlen(u.nodename));
		close(fd);
	}
	return NULL;
}

static void uts_names(int proc_fd, struct container_list *l, const struct host_ns *h,
                      const char *host_name)
{
	bool any = false;
	for (int i = 0; i < l->n && !any; i++)
		any = !strcmp(l->v[i].sys.runtime, "none") && l->v[i].utsns &&
		      l->v[i].utsns != h->uts;
	if (!any)
		return;
	struct uts_job j = {proc_fd, l->v, l->n, h, host_name};
	pthread_t t;
	if (pthread_create(&t, NULL, uts_thread, &j) != 0) {
		log_debug("containers: no thread for UTS names");
		return;
	}
	pthread_join(t, NULL);
}

/* ---- the list ------------------------------------------------------------ */

static int cmp_container(const void *a, const void *b)
{
	const struct container *x = a, *y = b;
	int r = strcmp(x->sys.runtime, y->sys.runtime);
	if (!r)
		r = strcmp(x->sys.name, y->sys.name);
	return r ? r : strcmp(x->cid, y->cid);
}

void container_short_id(const struct container *c, char *dst, size_t cap)
{
	size_t n = strlen(c->cid);
	bool hex = n == 64 && strspn(c->cid, "0123456789abcdef") == 64;
	copy_str(dst, cap, c->cid, hex ? 12 : n);
}

int containers_discover_at(int proc_fd, int root_fd, struct container_list *out)
{
	struct host_ns h;
	struct groups gs = {0};
	struct describe_ctx dc = {.proc_fd = proc_fd, .root_fd = root_fd, .h = &h};
	char b[4096];

	memset(out, 0, sizeof(*out));
	host_namespaces(proc_fd, &h);
	out->host_pid1 = h.pid1;
	struct pidmap pm = {0};
	walk_cgroups(root_fd, &gs, &pm);
	int r = scan_proc(proc_fd, &h, &gs, &pm, &out->host_procs);
	u64map_free(&pm.m);
	if (r < 0) {
		groups_free(&gs);
		return r;
	}
	ssize_t n = read_small_at(proc_fd, "stat", b, sizeof(b));
	if (n <= 0 || proc_parse_btime(b, (size_t)n, &dc.btime) < 0) {
		/* /proc/stat of a many-CPU host is longer than b: read it whole */
		struct buf sb = BUF_INIT;
		if (read_file_at(proc_fd, "stat", &sb, 1u << 20) > 0)
			proc_parse_btime(sb.data, sb.len, &dc.btime);
		buf_free(&sb);
	}
	dc.hz = sysconf(_SC_CLK_TCK);
	if (gethostname(dc.hostname, sizeof(dc.hostname)) != 0)
		dc.hostname[0] = 0;
	dc.hostname[sizeof(dc.hostname) - 1] = 0;

	out->v = xcalloc((size_t)(gs.n ? gs.n : 1), sizeof(*out->v));
	struct meta_ctx mc;
	meta_ctx_init(&mc, root_fd);
	for (int i = 0; i < gs.n; i++) {
		struct container *c = &out->v[out->n];
		memset(c, 0, sizeof(*c));
		if (gs.v[i].n == 0)
			continue; /* a cgroup whose processes all exited */
		if (describe(&dc, &gs.v[i], c) < 0) {
			free(c->pids);
			continue;
		}
		enrich(&mc, c);
		out->n++;
	}
	meta_ctx_free(&mc);
	groups_free(&gs);
	uts_names(proc_fd, out, &h, dc.hostname);
	qsort(out->v, (size_t)out->n, sizeof(*out->v), cmp_container);
	for (int i = 0; i < out->n; i++)
		out->v[i].sys.labels_json = out->v[i].labels_json;
	return 0;
}

int containers_discover(int proc_fd, struct container_list *out)
{
	int root_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return -errno;
	int r = containers_discover_at(proc_fd, root_fd, out);
	close(root_fd);
	return r;
}

void container_list_free(struct container_list *l)
{
	for (int i = 0; i < l->n; i++) {
		free(l->v[i].labels_json);
		free(l->v[i].pids);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const struct container *container_find(const struct container_list *l, const char *id_or_name)
{
	const struct container *hit = NULL;
	size_t n = strlen(id_or_name);
	if (!n)
		return NULL;
	for (int i = 0; i < l->n; i++) {
		const struct container *c = &l->v[i];
		if (!strcmp(c->sys.id, id_or_name) || !strcmp(c->cid, id_or_name))
			return c;
	}
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].sys.name, id_or_name))
			return &l->v[i];
	if (n < 4)
		return NULL;
	for (int i = 0; i < l->n; i++) {
		if (strncmp(l->v[i].cid, id_or_name, n) == 0) {
			if (hit)
				return NULL; /* ambiguous */
			hit = &l->v[i];
		}
	}
	return hit;
}
