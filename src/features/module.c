/*
 * module.c - the `module` feature: loaded kernel modules, one record per
 * module (key = its name), from view_modules().
 *
 * Fields: name, size (bytes), refcount (null when the kernel does not
 * count), state ("Live", "Loading", "Unloading"), used_by (names of the
 * modules that use it).  A view without a kernel (--root) has no modules;
 * a kernel without module support lists none.
 */
#include <errno.h>
#include <string.h>

#include "feature.h"

static int one_module(void *ctx, const struct vt_module *m)
{
	struct crawl_ctx *c = ctx;
	struct frame *f = c->frame;
	struct json *j = rec_begin(f, m->name);
	jw_str(j, "name", m->name);
	jw_uint(j, "size", m->size);
	if (m->refcount >= 0)
		jw_int(j, "refcount", m->refcount);
	else
		jw_null(j, "refcount");
	jw_str(j, "state", m->state);
	jw_arr_begin(j, "used_by");
	for (const char *s = m->deps ? m->deps : ""; *s;) {
		size_t n = strcspn(s, ",");
		if (n)
			jw_strn(j, NULL, s, n);
		s += n;
		if (*s == ',')
			s++;
	}
	jw_arr_end(j);
	return rec_end(f) < 0 ? 1 : 0;
}

static int crawl(struct crawl_ctx *c)
{
	struct view_iter it = feature_iter(c);
	int r = view_modules(c->view, &it, one_module);
	return r < 0 ? r : 0;
}

const struct feature feature_module = {
    .name = "module",
    .description = "loaded kernel modules",
    .crawl = crawl,
    .default_interval = 300,
};
