/*
 * dirwalk.h - the depth-first directory walk behind view_walk(), over any
 * file system a backend can list (fsroot.c over file descriptors,
 * image_walk.c over ext4 inodes).
 *
 * The walker owns what is the same everywhere: the stack of directories
 * being read, the path text ("/" joined, the walk of "/" giving "/x"),
 * skipping "." and "..", the vt_walk_ops callbacks and VT_WALK_SKIP, the
 * depth limit (a directory deeper than max_depth is reported ELOOP and not
 * entered) and error reports (a path that cannot be read is reported
 * through ops->error and the walk goes on).  The backend owns what a
 * directory and an entry are: it reads names, stats, reads links and
 * enters directories through struct dirwalk_ops.
 *
 * Levels: the walker keeps max_depth backend level records (level_size
 * bytes each, zeroed at start, the one at index d read at depth d + 1's
 * parent, i.e. the directory of depth d).  `enter` starts one, `leave`
 * ends one, `drop` frees what a level kept for reuse at the very end.
 */
#ifndef VANTAGE_VIEWS_DIRWALK_H
#define VANTAGE_VIEWS_DIRWALK_H

#include <stddef.h>
#include <sys/types.h>

#include "view.h"

struct dirwalk_ops {
	size_t level_size; /* bytes of one backend level record */
	/*
	 * Put the walk's root (the normalized path, len bytes, "/" or
	 * "/a/b") in place to be reported: *parent and *name are then passed
	 * to stat/readlink/enter for it (parent may be NULL, for the
	 * backend's own meaning).  A negative errno fails the walk.
	 */
	int (*start)(void *fs, const char *path, size_t len, void **parent, const char **name);
	/*
	 * The next name of directory `lv`: 1 with *name and *n (not necessarily
	 * NUL-terminated; the backend may remember what else it read for the
	 * stat that follows), 0 at its end, or a negative errno to report
	 * (with the directory's path) before asking again.
	 */
	int (*next_entry)(void *fs, void *lv, const char **name, size_t *n);
	/* Stat entry `name` of `parent` (not following a symlink), setting
	 * *priv for the entry's vt_walk_entry.priv.  Negative errno: reported,
	 * the entry skipped. */
	int (*stat)(void *fs, void *parent, const char *name, struct vt_stat *st, void **priv);
	/* Read the symlink just stated: its length (dst NUL-terminated) or a
	 * negative errno (reported; the entry is given without link). */
	ssize_t (*readlink)(void *fs, void *parent, const char *name, char *dst, size_t cap);
	/* Start reading the directory just stated as level `lv` (depth
	 * `depth`): 0, a positive errno to report (not entered), or a
	 * negative errno that stops the walk (-ENOMEM). */
	int (*enter)(void *fs, void *parent, const char *name, void *lv, int depth);
	/* Stop reading level lv (entered).  */
	void (*leave)(void *fs, void *lv);
	/* Free what level lv kept for reuse (any level, entered or not; may be NULL). */
	void (*drop)(void *fs, void *lv);
};

/*
 * Walk from `root` (normalized with fsroot_normalize) depth first,
 * reporting every entry through wops; directories deeper than max_depth
 * are reported ELOOP.  Returns 0 at the end, the non-zero value a
 * callback stopped with, or a negative errno (bad root, -ENOMEM).
 */
int dirwalk(const struct dirwalk_ops *ops, void *fs, int max_depth, const char *root,
            const struct vt_walk_ops *wops, void *ctx);

#endif
