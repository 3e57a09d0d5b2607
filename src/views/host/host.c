/*
 * host.c - the live host backend: the view object and its ops table.
 *
 * The ops themselves live in the sibling files named in host.h; this file
 * opens /proc, /sys and the root, and forwards the file ops to fsroot.
 */
#include "host.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static struct host_view *hv(struct view *v)
{
	return (struct host_view *)v;
}

static int host_processes(struct view *v, const struct view_iter *it,
                          int (*cb)(void *ctx, const struct vt_proc *p))
{
	struct host_view *h = hv(v);
	if (!h->users)
		h->users = passwd_cache_new(&h->fs);
	return procfs_processes(h->proc_fd, h->users, NULL, NULL, it, cb);
}

static int host_sockets(struct view *v, const struct view_iter *it,
                        int (*cb)(void *ctx, const struct vt_sock *s))
{
	return sockdiag_sockets(hv(v)->proc_fd, NULL, NULL, it, cb);
}

static int host_mappings(struct view *v, int pid, const struct view_iter *it,
                         int (*cb)(void *ctx, const struct maps_line *m))
{
	return procfs_mappings(hv(v)->proc_fd, pid, it, cb);
}

static int host_file_open(struct view *v, const char *path, struct vfile **out)
{
	return fsroot_file_open(&hv(v)->fs, path, out);
}

static int host_stat(struct view *v, const char *path, struct vt_stat *out)
{
	return fsroot_stat(&hv(v)->fs, path, out);
}

static int host_walk(struct view *v, const char *root, const struct vt_walk_ops *ops, void *ctx)
{
	return fsroot_walk(&hv(v)->fs, root, ops, ctx);
}

static int host_walk_open(struct view *v, const struct vt_walk_entry *e, struct vfile **out)
{
	return fsroot_walk_open(&hv(v)->fs, e, out);
}

static void host_destroy(struct view *v)
{
	struct host_view *h = hv(v);
	if (h->users)
		passwd_cache_free(h->users);
	stats_cache_free(h->stats);
	if (h->proc_fd >= 0)
		close(h->proc_fd);
	if (h->sys_fd >= 0)
		close(h->sys_fd);
	fsroot_fini(&h->fs);
	free(h);
}

static const struct view_ops host_ops = {
    .name = "host",
    .processes = host_processes,
    .sockets = host_sockets,
    .kernel = host_kernel,
    .modules = host_modules,
    .cpu_times = host_cpu_times,
    .memory = host_memory,
    .load = host_load,
    .filesystems = host_filesystems,
    .disk_io = host_disk_io,
    .interfaces = host_interfaces,
    .netio = host_netio,
    .cgroup = host_cgroup,
    .mappings = host_mappings,
    .file_open = host_file_open,
    .file_read = fsroot_file_read,
    .file_stat = fsroot_file_stat,
    .file_close = fsroot_file_close,
    .stat = host_stat,
    .walk = host_walk,
    .walk_open = host_walk_open,
    .destroy = host_destroy,
};

int view_host_open(struct view **out)
{
	struct host_view *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->base.ops = &host_ops;
	h->sys_fd = -1;
	h->fs.dirfd = -1;
	h->proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->proc_fd < 0) {
		int e = errno;
		free(h);
		return -e;
	}
	h->sys_fd = open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fsroot_init(&h->fs, "/");
	if (r < 0) {
		host_destroy(&h->base);
		return r;
	}
	*out = &h->base;
	return 0;
}
