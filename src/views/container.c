/*
 * container.c - a live container seen from the host (see container.h).
 *
 * The view embeds a struct host_view as its first member, so the host's
 * readers that take a `struct view *` (kernel facts, memory, file
 * systems...) work on it unchanged; what differs is overridden here:
 * the pid filter, the network namespace, the root, the cgroup.
 *
 * Namespace switches: the network namespace is entered once, at open, to
 * create the netlink sockets every later dump uses (netns.h); interface
 * counters (netio) come from /proc/<init>/net/dev, kept open (stats.h),
 * which is bound to the namespace it was opened in; the UTS
 * namespace once per kernel() call, for the hostname.  A container sharing
 * the host's network namespace (podman --network=host) gets no sockets of
 * its own: it is shown only the sockets its processes own.
 */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../util/util.h"
#include "../linux/proc_parse.h"
#include "../targets/cgroup_id.h"
#include "host/cgroup.h"
#include "host/host.h"
#include "host/netns.h"
#include "host/stats.h"

struct container_view {
	struct host_view h; /* first: host readers cast to it */
	int *pids;          /* sorted host pids of the container */
	int npids;
	int init_pid;
	bool own_netns; /* false: shares the host's network namespace */
	struct nl_sockets nl;
	int uts_fd; /* /proc/<init>/ns/uts, -1 when shared with the host */
	struct cgroup_mounts cg;
	bool cg_open;
	struct cgroup_dirs *cgd; /* the container's own cgroup, its files kept open */
	char cg_none[256];       /* why it has no cgroup counters; "" when it has */
	bool runtime_none;       /* found by its PID namespace only */
	uint64_t pidns;
	char mountinfo[32];   /* "<init>/mountinfo" */
	char root_path[4096]; /* the root as the host names it; "" when "/" or unknown */
	size_t root_len;
};

static struct container_view *cv(struct view *v)
{
	return (struct container_view *)v;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static bool in_container(void *ctx, int pid)
{
	struct container_view *c = ctx;
	return bsearch(&pid, c->pids, (size_t)c->npids, sizeof(int), cmp_int) != NULL;
}

/*
 * exe and cwd are read with readlink() from the host, which names them
 * relative to the HOST's root when the container's root is reachable from
 * it (a chroot, an overlay mounted in the host's namespace): strip that
 * prefix so paths are the container's own ("/bin/sh").
 */
struct proc_ctx {
	struct container_view *c;
	const struct view_iter *it;
	int (*cb)(void *ctx, const struct vt_proc *p);
};

static const char *inside(const struct container_view *c, const char *path)
{
	size_t n = c->root_len;
	if (!path || n == 0 || strncmp(path, c->root_path, n) != 0)
		return path;
	if (path[n] == '/')
		return path + n;
	return path[n] == 0 ? "/" : path;
}

static int proc_inside(void *ctx, const struct vt_proc *p)
{
	struct proc_ctx *pc = ctx;
	struct vt_proc q = *p;
	q.exe = inside(pc->c, p->exe);
	q.cwd = inside(pc->c, p->cwd);
	return pc->cb(pc->it ? pc->it->ctx : NULL, &q);
}

/* Mappings: only the container's processes; paths its own (as exe). */
struct maps_ctx {
	struct container_view *c;
	const struct view_iter *it;
	int (*cb)(void *ctx, const struct maps_line *m);
};

static int map_inside(void *ctx, const struct maps_line *m)
{
	struct maps_ctx *mc = ctx;
	struct maps_line q = *m;
	size_t n = mc->c->root_len;
	if (n && q.path_len > n && q.path[n] == '/' && memcmp(q.path, mc->c->root_path, n) == 0)
		q.path += n, q.path_len -= n;
	return mc->cb(mc->it ? mc->it->ctx : NULL, &q);
}

static int c_mappings(struct view *v, int pid, const struct view_iter *it,
                      int (*cb)(void *ctx, const struct maps_line *m))
{
	struct container_view *c = (struct container_view *)v;
	if (!in_container(c, pid))
		return -ESRCH;
	struct maps_ctx mc = {.c = c, .it = it, .cb = cb};
	struct view_iter wrap = {.ctx = &mc}; /* procfs_mappings reports no item */
	return procfs_mappings(c->h.proc_fd, pid, &wrap, map_inside);
}

static void proc_error(void *ctx, const char *what, int err)
{
	struct proc_ctx *pc = ctx;
	if (pc->it && pc->it->error)
		pc->it->error(pc->it->ctx, what, err);
}

static int c_processes(struct view *v, const struct view_iter *it,
                       int (*cb)(void *ctx, const struct vt_proc *p))
{
	struct container_view *c = cv(v);
	if (!c->h.users)
		c->h.users = passwd_cache_new(&c->h.fs);
	struct proc_ctx pc = {.c = c, .it = it, .cb = cb};
	struct view_iter wrap = {.ctx = &pc, .error = proc_error};
	return procfs_processes(c->h.proc_fd, c->h.users, in_container, c, &wrap, proc_inside);
}

/* For a container in the host's netns: only sockets its processes own. */
struct owned_ctx {
	int (*cb)(void *ctx, const struct vt_sock *s);
	const struct view_iter *it;
	struct container_view *c;
};

static int owned_only(void *ctx, const struct vt_sock *s)
{
	struct owned_ctx *o = ctx;
	if (!(s->have & VS_OWNER) || !in_container(o->c, s->pid))
		return 0;
	return o->cb(o->it ? o->it->ctx : NULL, s);
}

static void owned_error(void *ctx, const char *what, int err)
{
	struct owned_ctx *o = ctx;
	if (o->it && o->it->error)
		o->it->error(o->it->ctx, what, err);
}

static void owned_source(void *ctx, const char *source)
{
	struct owned_ctx *o = ctx;
	if (o->it && o->it->source)
		o->it->source(o->it->ctx, source);
}

static int c_sockets(struct view *v, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_sock *s))
{
	struct container_view *c = cv(v);
	if (!c->own_netns) {
		struct owned_ctx o = {.cb = cb, .it = it, .c = c};
		struct view_iter wrap = {.ctx = &o, .error = owned_error, .source = owned_source};
		return sockdiag_sockets(c->h.proc_fd, in_container, c, &wrap, owned_only);
	}
	char netdir[24]; /* without sock_diag: /proc/<init>/net shows its netns */
	snprintf(netdir, sizeof(netdir), "%d/net", c->init_pid);
	nl_sockets_use(&c->nl);
	int r = sockdiag_sockets_ns(c->h.proc_fd, netdir, in_container, c, it, cb);
	nl_sockets_use(NULL);
	return r;
}

/* Counters from the net/dev of the container's network namespace, kept
 * open: no netlink dump (and no namespace switch) per tick. */
static int c_netio(struct view *v, const struct view_iter *it,
                   int (*cb)(void *ctx, const struct vt_netio *n))
{
	struct container_view *c = cv(v);
	char path[40];
	snprintf(path, sizeof(path), "%d/net/dev", c->init_pid);
	int r = netdev_counters(host_stats(&c->h), c->h.proc_fd, path, it, cb);
	return r == -ENOENT ? -ESRCH : r;
}

static int c_interfaces(struct view *v, const struct view_iter *it,
                        int (*cb)(void *ctx, const struct vt_iface *i))
{
	struct container_view *c = cv(v);
	if (!c->own_netns)
		return host_interfaces(v, it, cb);
	nl_sockets_use(&c->nl);
	int r = host_interfaces(v, it, cb);
	nl_sockets_use(NULL);
	return r;
}

struct kernel_call {
	struct view *v;
	struct vt_kernel *out;
};

static int kernel_in_ns(void *arg)
{
	struct kernel_call *k = arg;
	return host_kernel(k->v, k->out);
}

static int c_kernel(struct view *v, struct vt_kernel *out)
{
	struct container_view *c = cv(v);
	if (c->uts_fd < 0)
		return host_kernel(v, out);
	struct kernel_call k = {.v = v, .out = out};
	return ns_run_in(c->uts_fd, CLONE_NEWUTS, kernel_in_ns, &k);
}

/*
 * A pid of the container's cgroup that belongs to it: one of its pids, a
 * process of its PID namespace (forked since discovery), or the init's
 * parent (the `unshare` or `bwrap` that started it stays outside the PID
 * namespace, often in the same cgroup).
 */
struct cg_member_ctx {
	struct container_view *c;
	int init_ppid;
};

static bool cg_member(void *ctx, int pid)
{
	const struct cg_member_ctx *m = ctx;
	char path[64];
	struct stat st;
	if (in_container(m->c, pid) || pid == m->init_ppid)
		return true;
	snprintf(path, sizeof(path), "%d/ns/pid", pid);
	return m->c->pidns && fstatat(m->c->h.proc_fd, path, &st, 0) == 0 &&
	       st.st_ino == m->c->pidns;
}

static int init_ppid(const struct container_view *c)
{
	char path[64], st[1024];
	struct proc_stat ps;
	snprintf(path, sizeof(path), "%d/stat", c->init_pid);
	ssize_t n = read_small_at(c->h.proc_fd, path, st, sizeof(st));
	return n > 0 && proc_parse_stat(st, (size_t)n, &ps) == 0 ? ps.ppid : -1;
}

/*
 * Which cgroup the counters come from, per hierarchy, from the init's
 * /proc/PID/cgroup: the cgroup that identified the container (cut after the
 * runtime's component, so sub-cgroups made inside it are included).  A
 * container found only by its PID namespace is read where its init is,
 * unless that is the host's root cgroup or a cgroup holding other
 * processes of the host.  Sets c->cg_none when nothing is left.
 */
static int cg_setup(struct container_view *c)
{
	char file[8192], path[64], paths[CG_NHIER][1024], shared[1024] = "";
	struct cgroup_paths p = {{0}};
	struct cg_member_ctx mc = {.c = c, .init_ppid = -1};
	int at_root = 0, shared_pid = 0;
	bool any = false;

	snprintf(path, sizeof(path), "%d/cgroup", c->init_pid);
	ssize_t n = read_small_at(c->h.proc_fd, path, file, sizeof(file));
	if (n <= 0)
		return n < 0 ? (int)n : -ENOENT;
	for (int h = 0; h < CG_NHIER; h++) {
		const char *s;
		size_t l;
		int r = cgroup_container_path(file, (size_t)n, h == CG_V2 ? "" : cg_ctrl_name(h),
		                              &s, &l);
		if (r < 0 || l == 0 || l >= sizeof(paths[h]))
			continue;
		copy_str(paths[h], sizeof(paths[h]), s, l);
		if (r == 0 && !c->runtime_none)
			continue; /* a runtime's container outside its cgroup here */
		if (strcmp(paths[h], "/") == 0) {
			at_root++;
			continue;
		}
		if (r == 0) {
			if (mc.init_ppid < 0)
				mc.init_ppid = init_ppid(c);
			int f = cgroup_foreign_pid(&c->cg, h, paths[h], cg_member, &mc);
			if (f > 0 && !shared_pid) {
				shared_pid = f;
				copy_str(shared, sizeof(shared), paths[h], strlen(paths[h]));
			}
			if (f != 0)
				continue;
		}
		p.path[h] = paths[h];
		any = true;
	}
	if (any)
		return cgroup_dirs_open_paths(&c->cg, &p, &c->cgd);
	if (shared_pid)
		snprintf(c->cg_none, sizeof(c->cg_none),
		         "the system's cgroup %.180s is shared with the host (pid %d is in it)",
		         shared, shared_pid);
	else if (at_root)
		snprintf(c->cg_none, sizeof(c->cg_none),
		         "the system's processes are in the host's root cgroup");
	else
		snprintf(c->cg_none, sizeof(c->cg_none), "the system has no cgroup of its own");
	return -ENOENT;
}

static int c_cgroup(struct view *v, struct vt_cgroup *out)
{
	struct container_view *c = cv(v);
	memset(out, 0, sizeof(*out));
	if (!c->cg_open)
		return -ENOTSUP;
	if (!c->cgd && !c->cg_none[0]) {
		int r = cg_setup(c);
		if (r < 0 && !c->cg_none[0])
			return r;
	}
	if (c->cg_none[0]) {
		out->none_why = c->cg_none;
		return -ENOENT;
	}
	return cgroup_dirs_read(c->cgd, out);
}

/*
 * Memory as the container sees it: its limit is its total (the host's
 * memory when unlimited), usage net of page cache is what is used.
 */
static int c_memory(struct view *v, struct vt_mem *out)
{
	struct vt_cgroup cg;
	struct vt_mem host;
	int r = c_cgroup(v, &cg);
	if (r < 0)
		return cg.none_why ? -ENOTSUP : r; /* no cgroup of its own: not an error */
	if (!(cg.have & VC_MEM))
		return -ENOENT;
	r = host_memory(v, &host);
	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	uint64_t total = host.total_kb * 1024;
	if ((cg.have & VC_MEMLIMIT) && cg.mem_limit < total)
		total = cg.mem_limit;
	uint64_t cache = (cg.have & VC_MEMSTAT) ? cg.mem_cache : 0;
	uint64_t used = cg.mem_usage > cache ? cg.mem_usage - cache : 0;
	if (used > total)
		used = total;
	out->total_kb = total / 1024;
	out->free_kb = cg.mem_usage < total ? (total - cg.mem_usage) / 1024 : 0;
	out->available_kb = (total - used) / 1024;
	out->cached_kb = cache / 1024;
	out->have = VM_AVAILABLE | ((cg.have & VC_MEMSTAT) ? VM_CACHE : 0);
	return 0;
}

static int c_filesystems(struct view *v, const struct view_iter *it,
                         int (*cb)(void *ctx, const struct vt_fs *f))
{
	struct container_view *c = cv(v);
	return mounts_filesystems_kept(host_stats(&c->h), c->h.proc_fd, c->mountinfo, &c->h.fs, it,
	                               cb);
}

static int c_file_open(struct view *v, const char *path, struct vfile **out)
{
	return fsroot_file_open(&cv(v)->h.fs, path, out);
}

static int c_stat(struct view *v, const char *path, struct vt_stat *out)
{
	return fsroot_stat(&cv(v)->h.fs, path, out);
}

static int c_walk(struct view *v, const char *root, const struct vt_walk_ops *ops, void *ctx)
{
	return fsroot_walk(&cv(v)->h.fs, root, ops, ctx);
}

static int c_walk_open(struct view *v, const struct vt_walk_entry *e, struct vfile **out)
{
	return fsroot_walk_open(&cv(v)->h.fs, e, out);
}

static void c_destroy(struct view *v)
{
	struct container_view *c = cv(v);
	if (c->h.users)
		passwd_cache_free(c->h.users);
	stats_cache_free(c->h.stats);
	fsroot_fini(&c->h.fs);
	if (c->h.sys_fd >= 0)
		close(c->h.sys_fd);
	nl_sockets_close(&c->nl);
	if (c->uts_fd >= 0)
		close(c->uts_fd);
	cgroup_dirs_close(c->cgd);
	if (c->cg_open)
		cgroup_mounts_close(&c->cg);
	free(c->pids);
	free(c);
}

static const struct view_ops container_ops = {
    .name = "container",
    .processes = c_processes,
    .sockets = c_sockets,
    .kernel = c_kernel,
    .memory = c_memory,
    .filesystems = c_filesystems,
    .interfaces = c_interfaces,
    .netio = c_netio,
    .cgroup = c_cgroup,
    .mappings = c_mappings,
    .file_open = c_file_open,
    .file_read = fsroot_file_read,
    .file_stat = fsroot_file_stat,
    .file_close = fsroot_file_close,
    .stat = c_stat,
    .walk = c_walk,
    .walk_open = c_walk_open,
    .destroy = c_destroy,
};

/* Inode of /proc/<pid>/ns/<name> and, when it differs from the host's
 * (those of /proc/self), an fd of it. */
static int ns_differs(int proc_fd, int pid, const char *name, int *fd_out)
{
	char path[64];
	struct stat mine, theirs;
	*fd_out = -1;
	snprintf(path, sizeof(path), "self/ns/%s", name);
	if (fstatat(proc_fd, path, &mine, 0) < 0)
		return -errno;
	snprintf(path, sizeof(path), "%d/ns/%s", pid, name);
	int fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	if (fstat(fd, &theirs) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (theirs.st_ino == mine.st_ino && theirs.st_dev == mine.st_dev) {
		close(fd);
		return 0;
	}
	*fd_out = fd;
	return 1;
}

int view_container_open(int proc_fd, const struct container *k, struct view **out)
{
	struct container_view *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->h.base.ops = &container_ops;
	c->h.proc_fd = proc_fd;
	c->h.fs.dirfd = -1;
	c->uts_fd = -1;
	c->nl.diag_fd = c->nl.route_fd = -1;
	c->init_pid = k->init_pid;
	c->h.sys_fd = open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	c->pids = malloc((size_t)(k->npids > 0 ? k->npids : 1) * sizeof(int));
	if (!c->pids) {
		c_destroy(&c->h.base);
		return -ENOMEM;
	}
	memcpy(c->pids, k->pids, (size_t)k->npids * sizeof(int));
	c->npids = k->npids;
	qsort(c->pids, (size_t)c->npids, sizeof(int), cmp_int);
	c->runtime_none = strcmp(k->sys.runtime, "none") == 0;
	c->pidns = k->pidns;
	snprintf(c->mountinfo, sizeof(c->mountinfo), "%d/mountinfo", k->init_pid);

	char root[64];
	snprintf(root, sizeof(root), "/proc/%d/root", k->init_pid);
	int r = fsroot_init(&c->h.fs, root);
	if (r < 0) {
		c_destroy(&c->h.base);
		return r == -ENOENT ? -ESRCH : r;
	}
	ssize_t rl = readlinkat(proc_fd, root + 6, c->root_path, sizeof(c->root_path) - 1);
	if (rl > 1 && c->root_path[0] == '/') {
		c->root_path[rl] = 0;
		c->root_len = (size_t)rl;
	} else {
		c->root_path[0] = 0;
	}
	int netfd;
	r = ns_differs(proc_fd, k->init_pid, "net", &netfd);
	if (r < 0) {
		c_destroy(&c->h.base);
		return r;
	}
	if (r == 1) {
		c->own_netns = true;
		r = nl_sockets_open(netfd, &c->nl);
		close(netfd);
		if (r < 0) {
			c_destroy(&c->h.base);
			return r;
		}
	}
	r = ns_differs(proc_fd, k->init_pid, "uts", &c->uts_fd);
	if (r < 0) {
		c_destroy(&c->h.base);
		return r;
	}
	/* the cgroup hierarchies as the host mounts them */
	if (cgroup_mounts_open(proc_fd, "self/mountinfo", c->h.sys_fd, &c->cg) == 0)
		c->cg_open = true;
	*out = &c->h.base;
	return 0;
}
