/*
 * root.c - a mounted root file system seen as a system of kind "image".
 *
 * Only the file ops exist: there are no processes, sockets or kernel to
 * ask, so features that need them report "not supported" through the
 * view wrappers.  Every path is confined to the root by fsroot.
 */
#include <errno.h>
#include <stdlib.h>

#include "fsroot.h"
#include "view.h"

struct root_view {
	struct view base;
	struct fsroot fs;
};

static struct fsroot *fs(struct view *v)
{
	return &((struct root_view *)v)->fs;
}

static int root_file_open(struct view *v, const char *path, struct vfile **out)
{
	return fsroot_file_open(fs(v), path, out);
}

static int root_stat(struct view *v, const char *path, struct vt_stat *out)
{
	return fsroot_stat(fs(v), path, out);
}

static int root_walk(struct view *v, const char *root, const struct vt_walk_ops *ops, void *ctx)
{
	return fsroot_walk(fs(v), root, ops, ctx);
}

static int root_walk_open(struct view *v, const struct vt_walk_entry *e, struct vfile **out)
{
	return fsroot_walk_open(fs(v), e, out);
}

static void root_destroy(struct view *v)
{
	fsroot_fini(fs(v));
	free(v);
}

static const struct view_ops root_ops = {
    .name = "root",
    .file_open = root_file_open,
    .file_read = fsroot_file_read,
    .file_stat = fsroot_file_stat,
    .file_close = fsroot_file_close,
    .stat = root_stat,
    .walk = root_walk,
    .walk_open = root_walk_open,
    .destroy = root_destroy,
};

int view_root_open(const char *dir, struct view **out)
{
	struct root_view *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->base.ops = &root_ops;
	int e = fsroot_init(&r->fs, dir);
	if (e < 0) {
		free(r);
		return e;
	}
	*out = &r->base;
	return 0;
}
