/*
 * modules_parse.c - parser of /proc/modules lines (see modules_parse.h).
 *
 * A line is copied into a scratch area and split there into NUL-terminated
 * fields, so the record's strings need no allocation.  Every field is
 * checked; nothing past `len` is read.
 */
#include "modules_parse.h"

#include <errno.h>
#include <string.h>

#include "../util/util.h"

/* Split the next blank-separated token in [*p, end); NUL-terminate it. */
static char *token(char **p, char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r'))
		(*p)++;
	if (*p == end)
		return NULL;
	char *t = *p;
	while (*p < end && **p != ' ' && **p != '\t' && **p != '\r')
		(*p)++;
	if (*p < end)
		*(*p)++ = 0;
	return t;
}

static bool parse_dec(const char *s, uint64_t *out)
{
	const char *p = s, *end = s + strlen(s);
	return parse_u64(&p, end, out) && p == end;
}

int modules_parse_line(const char *line, size_t len, char *scratch, struct vt_module *out)
{
	/* a NUL inside the line would cut a field short: refuse it */
	if (memchr(line, 0, len))
		return -EINVAL;
	memcpy(scratch, line, len);
	scratch[len] = 0;
	char *p = scratch, *end = scratch + len;
	char *name = token(&p, end), *size = token(&p, end), *refs = token(&p, end);
	char *deps = token(&p, end), *state = token(&p, end);
	if (!state)
		return -EINVAL;
	if (!parse_dec(size, &out->size))
		return -EINVAL;
	if (!strcmp(refs, "-")) {
		out->refcount = -1;
	} else {
		uint64_t r;
		if (!parse_dec(refs, &r) || r > INT64_MAX)
			return -EINVAL;
		out->refcount = (int64_t)r;
	}
	if (!strcmp(deps, "-")) {
		deps[0] = 0;
	} else {
		size_t n = strlen(deps);
		if (n && deps[n - 1] == ',')
			deps[n - 1] = 0;
	}
	out->name = name;
	out->deps = deps;
	out->state = state;
	return 0;
}

int modules_parse(const char *buf, size_t len, int (*cb)(void *ctx, const struct vt_module *m),
                  void (*bad)(void *ctx, unsigned lineno), void *ctx)
{
	char scratch[MODULES_LINE_MAX + 1];
	const char *p = buf, *end = buf + len;
	unsigned lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t n = (size_t)(le - p);
		lineno++;
		const char *q = p;
		while (q < le && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (q < le) {
			struct vt_module m;
			if (n > MODULES_LINE_MAX || modules_parse_line(p, n, scratch, &m) < 0) {
				if (bad)
					bad(ctx, lineno);
			} else {
				int r = cb(ctx, &m);
				if (r)
					return r;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}
