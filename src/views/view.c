/*
 * view.c - the wrappers features call (see view.h).  Each checks that the
 * backend implements the op and returns -ENOTSUP otherwise, so features
 * can ask any view anything.
 */
#include "view.h"

#include <errno.h>
#include <netinet/tcp.h>

#include "../util/util.h"

#define CALL(op, ...) ((v)->ops->op ? (v)->ops->op(__VA_ARGS__) : -ENOTSUP)

int view_processes(struct view *v, const struct view_iter *it,
                   int (*cb)(void *ctx, const struct vt_proc *p))
{
	return CALL(processes, v, it, cb);
}

int view_sockets(struct view *v, const struct view_iter *it,
                 int (*cb)(void *ctx, const struct vt_sock *s))
{
	return CALL(sockets, v, it, cb);
}

int view_kernel(struct view *v, struct vt_kernel *out)
{
	return CALL(kernel, v, out);
}

int view_modules(struct view *v, const struct view_iter *it,
                 int (*cb)(void *ctx, const struct vt_module *m))
{
	return CALL(modules, v, it, cb);
}

int view_cpu_times(struct view *v, const struct view_iter *it,
                   int (*cb)(void *ctx, const struct vt_cpu *c))
{
	return CALL(cpu_times, v, it, cb);
}

int view_memory(struct view *v, struct vt_mem *out)
{
	return CALL(memory, v, out);
}

int view_load(struct view *v, struct vt_load *out)
{
	return CALL(load, v, out);
}

int view_filesystems(struct view *v, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_fs *f))
{
	return CALL(filesystems, v, it, cb);
}

int view_disk_io(struct view *v, const struct view_iter *it,
                 int (*cb)(void *ctx, const struct vt_diskio *d))
{
	return CALL(disk_io, v, it, cb);
}

int view_interfaces(struct view *v, const struct view_iter *it,
                    int (*cb)(void *ctx, const struct vt_iface *i))
{
	return CALL(interfaces, v, it, cb);
}

int view_netio(struct view *v, const struct view_iter *it,
               int (*cb)(void *ctx, const struct vt_netio *n))
{
	return CALL(netio, v, it, cb);
}

int view_cgroup(struct view *v, struct vt_cgroup *out)
{
	return CALL(cgroup, v, out);
}

int view_mappings(struct view *v, int pid, const struct view_iter *it,
                  int (*cb)(void *ctx, const struct maps_line *m))
{
	return CALL(mappings, v, pid, it, cb);
}

int view_file_open(struct view *v, const char *path, struct vfile **out)
{
	return CALL(file_open, v, path, out);
}

ssize_t view_file_read(struct view *v, struct vfile *f, void *dst, size_t n)
{
	return CALL(file_read, f, dst, n);
}

int view_file_stat(struct view *v, struct vfile *f, struct vt_stat *out)
{
	return CALL(file_stat, f, out);
}

void view_file_close(struct view *v, struct vfile *f)
{
	if (f && v->ops->file_close)
		v->ops->file_close(f);
}

int view_stat(struct view *v, const char *path, struct vt_stat *out)
{
	return CALL(stat, v, path, out);
}

int view_walk(struct view *v, const char *root, const struct vt_walk_ops *ops, void *ctx)
{
	return CALL(walk, v, root, ops, ctx);
}

int view_walk_open(struct view *v, const struct vt_walk_entry *e, struct vfile **out)
{
	return CALL(walk_open, v, e, out);
}

void view_destroy(struct view *v)
{
	if (v && v->ops->destroy)
		v->ops->destroy(v);
}

struct vread {
	struct view *v;
	struct vfile *f;
};

static ssize_t vfile_read_cb(void *ctx, void *dst, size_t n)
{
	struct vread *r = ctx;
	ssize_t got = view_file_read(r->v, r->f, dst, n);
	return got == -EAGAIN ? -EINTR : got; /* both: try again */
}

ssize_t view_read_file(struct view *v, const char *path, struct buf *out, size_t max,
                       bool *truncated)
{
	struct vread r = {.v = v};
	if (truncated)
		*truncated = false;
	int rc = view_file_open(v, path, &r.f);
	if (rc < 0)
		return rc;
	ssize_t n = read_bounded(vfile_read_cb, &r, out, max, truncated);
	view_file_close(v, r.f);
	return n;
}
