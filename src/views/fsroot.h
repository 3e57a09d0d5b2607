/*
 * fsroot.h - file access confined to a directory taken as a system's root.
 *
 * Shared by every backend whose files live in a directory tree we can open:
 * the host ("/"), a mounted root (--root DIR), a container
 * (/proc/<pid>/root).  Every path is resolved INSIDE the root: symlinks,
 * absolute or with "..", are resolved as if the root were "/", so nothing
 * outside is ever opened (openat2 with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS,
 * or a component-by-component walk with O_NOFOLLOW on kernels without
 * openat2).  Only regular files are opened for reading (O_NONBLOCK so a
 * FIFO can never block; type checked with fstat after open).
 *
 * These functions implement the file ops of struct view_ops; a backend
 * stores a struct fsroot and forwards to them.
 */
#ifndef VANTAGE_FSROOT_H
#define VANTAGE_FSROOT_H

#include "view.h"

struct fsroot {
	int dirfd;       /* O_PATH|O_DIRECTORY fd of the root */
	char path[4096]; /* the root as given (for messages) */
};

/* Open `dir` as a root.  Returns 0 or a negative errno. */
int fsroot_init(struct fsroot *r, const char *dir);
void fsroot_fini(struct fsroot *r);

/* Open `path` (inside the root) with `flags` (O_RDONLY, O_DIRECTORY,
 * O_PATH...).  Returns an fd or a negative errno. */
int fsroot_openat(struct fsroot *r, const char *path, int flags);
/* The same through a component-by-component walk (O_NOFOLLOW on every
 * step, symlinks resolved inside the root, at most 40 of them, ".." at the
 * root stays there).  fsroot_openat() uses it when the kernel lacks
 * openat2(); exported so tests exercise it on any kernel. */
int fsroot_openat_walk(struct fsroot *r, const char *path, int flags);

int fsroot_file_open(struct fsroot *r, const char *path, struct vfile **out);
ssize_t fsroot_file_read(struct vfile *f, void *dst, size_t n);
int fsroot_file_stat(struct vfile *f, struct vt_stat *out);
void fsroot_file_close(struct vfile *f);
int fsroot_stat(struct fsroot *r, const char *path, struct vt_stat *out);
/* Walk `root` (a path inside the root) depth-first: the entry for `root`
 * itself first (depth 0), then its contents.  Symlinks are reported, never
 * followed; directories deeper than FSROOT_WALK_MAX_DEPTH are reported
 * through ops->error (ELOOP) and not read.  Returns 0, the non-zero value
 * an entry callback stopped with, or a negative errno when `root` itself
 * cannot be reached. */
#define FSROOT_WALK_MAX_DEPTH VT_WALK_MAX_DEPTH
int fsroot_walk(struct fsroot *r, const char *root, const struct vt_walk_ops *ops, void *ctx);
int fsroot_walk_open(struct fsroot *r, const struct vt_walk_entry *e, struct vfile **out);

/* Fill a vt_stat from a struct stat. */
struct stat;
void fsroot_fill_stat(const struct stat *st, struct vt_stat *out);

/*
 * Lexically normalise `path` into dst (cap bytes): a leading "/", no empty
 * or "." components, ".." removing the previous component (never above
 * "/"), no trailing slash.  "" and "/" give "/".  Returns the length or
 * -ENAMETOOLONG.  (Shared with the disk-image view.)
 */
int fsroot_normalize(const char *path, char *dst, size_t cap);

#endif
