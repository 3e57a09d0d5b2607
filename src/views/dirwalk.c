/*
 * dirwalk.c - the depth-first directory walk shared by the views that
 * read file systems (fsroot.c, image_walk.c).  See dirwalk.h.
 *
 * Invariant: levels 0..top are entered (top == -1 when the walk is done);
 * path[pathlen[d]] is where the names of level d's entries are appended.
 */
#include "dirwalk.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fsroot.h"

struct walker {
	const struct dirwalk_ops *ops;
	void *fs;
	const struct vt_walk_ops *wops;
	void *ctx;
	int top, max_depth;
	char *levels;    /* max_depth records of ops->level_size bytes */
	size_t *pathlen; /* per level: length of its directory's path */
	char link[PATH_MAX];
	char *path; /* PATH_MAX + max_depth * (NAME_MAX + 1) + 2 */
};

static void *level(struct walker *w, int d)
{
	return w->levels + (size_t)d * w->ops->level_size;
}

static void walk_error(struct walker *w, int err)
{
	if (w->wops->error)
		w->wops->error(w->ctx, w->path, err);
}

/* Report entry `name` of `parent` (its path in w->path, of length plen);
 * descend when it is a directory the callback did not skip.  Returns 0 to
 * go on, else the value to stop the walk with. */
static int walk_entry(struct walker *w, void *parent, const char *name, size_t plen, int depth)
{
	struct vt_walk_entry e = {.path = w->path, .name = name, .depth = depth};
	int rc;

	rc = w->ops->stat(w->fs, parent, name, &e.st, &e.priv);
	if (rc < 0) {
		walk_error(w, -rc);
		return 0;
	}
	if (e.st.type == VF_LNK) {
		ssize_t n = w->ops->readlink(w->fs, parent, name, w->link, sizeof(w->link));

		if (n < 0)
			walk_error(w, (int)-n);
		else
			e.link = w->link;
	}
	rc = w->wops->entry(w->ctx, &e);
	if (rc == VT_WALK_SKIP)
		return 0;
	if (rc)
		return rc;
	if (e.st.type != VF_DIR)
		return 0;
	if (w->top + 1 >= w->max_depth) {
		walk_error(w, VT_WALK_TOO_DEEP);
		return 0;
	}
	rc = w->ops->enter(w->fs, parent, name, level(w, w->top + 1), w->top + 1);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		walk_error(w, rc);
		return 0;
	}
	w->top++;
	w->pathlen[w->top] = plen;
	return 0;
}

/* Read the stack until it is empty or a callback stops. */
static int walk_loop(struct walker *w)
{
	while (w->top >= 0) {
		void *lv = level(w, w->top);
		const char *name;
		size_t n, plen;
		int rc = w->ops->next_entry(w->fs, lv, &name, &n);

		if (rc == 0) {
			w->ops->leave(w->fs, lv);
			w->top--;
			continue;
		}
		plen = w->pathlen[w->top];
		w->path[plen] = 0;
		if (rc < 0) {
			walk_error(w, -rc);
			continue;
		}
		if (name[0] == '.' && (n == 1 || (n == 2 && name[1] == '.')))
			continue;
		if (n > NAME_MAX) {
			walk_error(w, ENAMETOOLONG);
			continue;
		}
		if (plen != 1) /* the walk of "/" has entries "/x", not "//x" */
			w->path[plen++] = '/';
		memcpy(w->path + plen, name, n);
		plen += n;
		w->path[plen] = 0;
		rc = walk_entry(w, lv, w->path + plen - n, plen, w->top + 1);
		if (rc)
			return rc;
	}
	return 0;
}

int dirwalk(const struct dirwalk_ops *ops, void *fs, int max_depth, const char *root,
            const struct vt_walk_ops *wops, void *ctx)
{
	struct walker *w;
	void *parent = NULL;
	const char *name = NULL;
	int len, rc;

	if (!root || !wops || !wops->entry || max_depth <= 0)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->ops = ops;
	w->fs = fs;
	w->wops = wops;
	w->ctx = ctx;
	w->top = -1;
	w->max_depth = max_depth;
	w->levels = calloc((size_t)max_depth, ops->level_size);
	w->pathlen = calloc((size_t)max_depth, sizeof(*w->pathlen));
	w->path = malloc(PATH_MAX + (size_t)max_depth * (NAME_MAX + 1) + 2);
	if (!w->levels || !w->pathlen || !w->path) {
		rc = -ENOMEM;
		goto out;
	}
	len = fsroot_normalize(root, w->path, PATH_MAX);
	rc = len < 0 ? len : ops->start(fs, w->path, (size_t)len, &parent, &name);
	if (rc == 0)
		rc = walk_entry(w, parent, name, (size_t)len, 0);
	if (rc == 0)
		rc = walk_loop(w);
	for (; w->top >= 0; w->top--)
		ops->leave(fs, level(w, w->top));
	if (ops->drop)
		for (int i = 0; i < max_depth; i++)
			ops->drop(fs, level(w, i));
out:
	free(w->levels);
	free(w->pathlen);
	free(w->path);
	free(w);
	return rc;
}
