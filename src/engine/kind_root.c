/*
 * kind_root.c - a root file system mounted at a directory, as a kind of
 * system (kind "image" in frames: it is files only, like a disk image).
 * Named by the user (crawl --root DIR), never discovered; viewed through
 * views/root.c.  It has files only: it takes the features that run on
 * files alone.  obj: a struct path_target.
 */
#include "../views/view.h"
#include "target.h"

static void root_identity(void *obj, struct system_id *out)
{
	system_image_identity(((const struct path_target *)obj)->path, out);
}

static int root_open(void *obj, int proc_fd, struct view **out, char *err, size_t errlen)
{
	return view_root_open(((const struct path_target *)obj)->path, out);
}

bool target_files_only(const struct feature *f)
{
	return f->on_files_only;
}

const struct target_kind kind_root = {
    .name = "root",
    .index = 3,
    .identity = root_identity,
    .open = root_open,
    .takes = target_files_only,
};
