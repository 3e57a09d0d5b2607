/*
 * pathwalk.c - component iteration and symlink splicing for confined path
 * resolution.  See pathwalk.h.
 */
#include <errno.h>
#include <string.h>

#include "pathwalk.h"

int pathwalk_init(struct pathwalk *w, const char *path)
{
	size_t len = strlen(path);
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	w->pos = sizeof(w->work) - 1 - len;
	memcpy(w->work + w->pos, path, len);
	w->work[sizeof(w->work) - 1] = 0;
	return 0;
}

int pathwalk_next(struct pathwalk *w, const char **name, size_t *n, bool *last)
{
	const size_t end = sizeof(w->work) - 1; /* index of the final NUL */
	size_t k;

	while (w->pos < end && w->work[w->pos] == '/')
		w->pos++;
	if (w->pos == end)
		return 1;
	*name = w->work + w->pos;
	for (k = 0; w->pos + k < end && w->work[w->pos + k] != '/'; k++)
		;
	w->pos += k;
	*n = k;
	*last = w->pos == end; /* no trailing slash */
	return 0;
}

int pathwalk_splice(struct pathwalk *w, const char *target, size_t n)
{
	if (n + 1 > w->pos)
		return -ENAMETOOLONG;
	/* A separator keeps the target and a non-empty rest apart (extra
	 * slashes are harmless); none after a final component, which stays
	 * final. */
	if (w->pos < sizeof(w->work) - 1)
		w->work[--w->pos] = '/';
	w->pos -= n;
	memmove(w->work + w->pos, target, n);
	return 0;
}
