/* placeholder */
#include <errno.h>
#include "fsroot.h"
int fsroot_init(struct fsroot *r, const char *dir) { return -ENOTSUP; }
void fsroot_fini(struct fsroot *r) {}
int fsroot_openat(struct fsroot *r, const char *path, int flags) { return -ENOTSUP; }
int fsroot_file_open(struct fsroot *r, const char *path, struct vfile **out) { return -ENOTSUP; }
ssize_t fsroot_file_read(struct vfile *f, void *dst, size_t n) { return -ENOTSUP; }
int fsroot_file_stat(struct vfile *f, struct vt_stat *out) { return -ENOTSUP; }
void fsroot_file_close(struct vfile *f) {}
int fsroot_stat(struct fsroot *r, const char *path, struct vt_stat *out) { return -ENOTSUP; }
int fsroot_walk(struct fsroot *r, const char *root, const struct vt_walk_ops *ops, void *ctx) { return -ENOTSUP; }
int fsroot_walk_open(struct fsroot *r, const struct vt_walk_entry *e, struct vfile **out) { return -ENOTSUP; }
