/*
 * view.h - the one abstraction every feature reads through.
 *
 * A view answers questions about ONE system: list its processes, list its
 * sockets, open a file inside its root, read its cgroup counters, read its
 * kernel's facts and counters.  There is one implementation (backend) per
 * way of reaching a system:
 *
 *   host       live procfs + sysfs + netlink of the host (views/host/)
 *   root       a mounted root file system, kind "image" (views/root.c)
 *   container  live procfs/namespaces/cgroups of a container (views/container.c)
 *   vm         guest-memory introspection             (views/vm.c, src/vmi/)
 *   image      a raw ext2/3/4 disk image through libext2fs (views/image.c)
 *
 * Features never look at /proc or the file system directly: they call the
 * view_*() wrappers below and format what comes back.  A backend fills
 * structured records (struct vt_*) and streams them to a callback; it never
 * builds a whole list in memory.  An operation a backend cannot answer has
 * a NULL op, and the wrapper returns -ENOTSUP.
 *
 * Data in records passed to callbacks is owned by the backend and valid
 * only during the callback.
 *
 * Partial failure: a backend that cannot read one item (a process that
 * exited, a file that denies access) still calls the callback with the
 * fields it has, `have` telling which are valid and `err` holding the
 * first errno met; or, when it has nothing, calls the `error` hook of the
 * iteration (struct view_iter) so the feature can count it.  A whole-op
 * failure returns a negative errno.
 *
 * Callbacks return 0 to continue, or a non-zero value which stops the
 * iteration and is returned by the op.
 */
#ifndef VANTAGE_VIEW_H
#define VANTAGE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../linux/maps_parse.h"
#include "../linux/records.h"
#include "../util/buf.h"

struct view;

/* An open regular file inside the system; read with view_file_read(). */
struct vfile;

/* One entry met by a walk. `path` is the path inside the system ("/etc/x"),
 * `link` the target of a symlink (as stored, never followed) or NULL. */
struct vt_walk_entry {
	const char *path;
	const char *name; /* last component */
	struct vt_stat st;
	const char *link;
	int depth;
	void *priv; /* backend's handle for view_walk_open() */
};

/* What a walk reports besides entries: a path it could not read. */
struct vt_walk_ops {
	/* Called for each entry. Return VT_WALK_SKIP on a directory to not
	 * descend into it, 0 to go on, anything else (>0) to stop. */
	int (*entry)(void *ctx, const struct vt_walk_entry *e);
	/* Called for a path that could not be read (err: positive errno, or
	 * VT_WALK_TOO_DEEP). */
	void (*error)(void *ctx, const char *path, int err);
};
#define VT_WALK_SKIP (-1)
/* The err of error() for a directory VT_WALK_MAX_DEPTH levels below the
 * walk's start: reported, never read (not an errno). */
#define VT_WALK_TOO_DEEP 0x10000
#define VT_WALK_MAX_DEPTH 256

/* Generic per-item error hook for the iterating ops below: `what` names the
 * item ("pid 1234", "/proc/net/dev"), err is a positive errno.  `source`
 * (may be NULL) is told when the op read from other than its usual source
 * (sockets: "procfs" when sock_diag cannot answer). */
struct view_iter {
	void *ctx;
	void (*error)(void *ctx, const char *what, int err);
	void (*source)(void *ctx, const char *source);
};

/* ---- the backend interface ---------------------------------------------- */

struct view_ops {
	const char *name; /* "host", "root", ... */

	int (*processes)(struct view *v, const struct view_iter *it,
	                 int (*cb)(void *ctx, const struct vt_proc *p));
	/* Sockets of the system's network namespace.  Owners resolved when
	 * the backend can; unresolved ones lack VS_OWNER. */
	int (*sockets)(struct view *v, const struct view_iter *it,
	               int (*cb)(void *ctx, const struct vt_sock *s));
	int (*kernel)(struct view *v, struct vt_kernel *out);
	int (*modules)(struct view *v, const struct view_iter *it,
	               int (*cb)(void *ctx, const struct vt_module *m));
	int (*cpu_times)(struct view *v, const struct view_iter *it,
	                 int (*cb)(void *ctx, const struct vt_cpu *c));
	int (*memory)(struct view *v, struct vt_mem *out);
	int (*load)(struct view *v, struct vt_load *out);
	int (*filesystems)(struct view *v, const struct view_iter *it,
	                   int (*cb)(void *ctx, const struct vt_fs *f));
	int (*disk_io)(struct view *v, const struct view_iter *it,
	               int (*cb)(void *ctx, const struct vt_diskio *d));
	int (*interfaces)(struct view *v, const struct view_iter *it,
	                  int (*cb)(void *ctx, const struct vt_iface *i));
	/* The interfaces' counters alone (cheaper than interfaces(): what a
	 * daemon reads every tick); optional, interfaces() otherwise. */
	int (*netio)(struct view *v, const struct view_iter *it,
	             int (*cb)(void *ctx, const struct vt_netio *n));
	int (*cgroup)(struct view *v, struct vt_cgroup *out);
	/* The memory mappings of one process of the system (`pid` as
	 * struct vt_proc's pid: the view's outside), one per line of its
	 * /proc/PID/maps; paths as the system names them.  -ESRCH for a
	 * process that is not the system's (or is gone). */
	int (*mappings)(struct view *v, int pid, const struct view_iter *it,
	                int (*cb)(void *ctx, const struct maps_line *m));

	/* Files, always confined to the system's root: symlinks resolve
	 * inside it and never escape; paths are absolute inside the system. */
	int (*file_open)(struct view *v, const char *path, struct vfile **out);
	ssize_t (*file_read)(struct vfile *f, void *dst, size_t n);
	int (*file_stat)(struct vfile *f, struct vt_stat *out);
	void (*file_close)(struct vfile *f);
	/* lstat-like: does not follow a final symlink. */
	int (*stat)(struct view *v, const char *path, struct vt_stat *out);
	int (*walk)(struct view *v, const char *root, const struct vt_walk_ops *ops, void *ctx);
	/* Open the regular file of a walk entry (valid during the entry cb). */
	int (*walk_open)(struct view *v, const struct vt_walk_entry *e, struct vfile **out);

	void (*destroy)(struct view *v);
};

/* Every backend embeds this as its first member. */
struct view {
	const struct view_ops *ops;
};

/* ---- wrappers: what features call --------------------------------------- */

int view_processes(struct view *v, const struct view_iter *it,
                   int (*cb)(void *ctx, const struct vt_proc *p));
int view_sockets(struct view *v, const struct view_iter *it,
                 int (*cb)(void *ctx, const struct vt_sock *s));
int view_kernel(struct view *v, struct vt_kernel *out);
int view_modules(struct view *v, const struct view_iter *it,
                 int (*cb)(void *ctx, const struct vt_module *m));
int view_cpu_times(struct view *v, const struct view_iter *it,
                   int (*cb)(void *ctx, const struct vt_cpu *c));
int view_memory(struct view *v, struct vt_mem *out);
int view_load(struct view *v, struct vt_load *out);
int view_filesystems(struct view *v, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_fs *f));
int view_disk_io(struct view *v, const struct view_iter *it,
                 int (*cb)(void *ctx, const struct vt_diskio *d));
int view_interfaces(struct view *v, const struct view_iter *it,
                    int (*cb)(void *ctx, const struct vt_iface *i));
int view_netio(struct view *v, const struct view_iter *it,
               int (*cb)(void *ctx, const struct vt_netio *n));
int view_cgroup(struct view *v, struct vt_cgroup *out);
int view_mappings(struct view *v, int pid, const struct view_iter *it,
                  int (*cb)(void *ctx, const struct maps_line *m));
int view_file_open(struct view *v, const char *path, struct vfile **out);
ssize_t view_file_read(struct view *v, struct vfile *f, void *dst, size_t n);
int view_file_stat(struct view *v, struct vfile *f, struct vt_stat *out);
void view_file_close(struct view *v, struct vfile *f);
int view_stat(struct view *v, const char *path, struct vt_stat *out);
int view_walk(struct view *v, const char *root, const struct vt_walk_ops *ops, void *ctx);
int view_walk_open(struct view *v, const struct vt_walk_entry *e, struct vfile **out);
void view_destroy(struct view *v);

/*
 * Read a whole regular file of the system into `out` (appended), at most
 * `max` bytes.  Refuses anything but a regular file (FIFOs, devices) with
 * -EINVAL, so a hostile system cannot make a read block.  Returns bytes
 * read or a negative errno; *truncated set when the file was larger.
 */
ssize_t view_read_file(struct view *v, const char *path, struct buf *out, size_t max,
                       bool *truncated);

/* True when the backend implements the named capability. */
#define VIEW_HAS(v, op) ((v)->ops->op != NULL)

/* ---- backends ------------------------------------------------------------ */

/* The live host: procfs at /proc, files under "/", the host's netns. */
int view_host_open(struct view **out);
/* A mounted root file system at `dir`: files only (kind "image"). */
int view_root_open(const char *dir, struct view **out);

#endif
