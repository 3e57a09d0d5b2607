/*
 * pathwalk.h - the path text of a confined, component-by-component
 * resolution (fsroot.c over file descriptors, image_walk.c over ext4
 * inodes).
 *
 * The unresolved rest of the path lives at the END of `work` (work[pos] up
 * to the NUL in the last byte), so a symlink's target is put in front of
 * it without moving it.  The caller keeps the directories resolved so far
 * and decides what "." , ".." and a symlink mean; this only hands out the
 * components and splices targets in.
 */
#ifndef VANTAGE_PATHWALK_H
#define VANTAGE_PATHWALK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct pathwalk {
	size_t pos;
	char work[2 * PATH_MAX];
};

/* Start with `path`; -ENAMETOOLONG when it is PATH_MAX or longer. */
int pathwalk_init(struct pathwalk *w, const char *path);
/* The next component (slashes skipped): 0 with name/n and `last` (nothing
 * follows it, not even a slash), or 1 when the path is used up. */
int pathwalk_next(struct pathwalk *w, const char **name, size_t *n, bool *last);
/* Put a symlink's target (n bytes) in front of the rest. */
int pathwalk_splice(struct pathwalk *w, const char *target, size_t n);

#endif
