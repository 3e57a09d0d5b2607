/*
 * kinds.c - the table of kinds of system, and target sets (see target.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

const struct target_kind *const target_kinds[] = {
    &kind_host, &kind_container, &kind_vm, &kind_root, &kind_image,
};
const int target_nkinds = (int)(sizeof(target_kinds) / sizeof(target_kinds[0]));

void target_set_init(struct target_set *s, int proc_fd)
{
	memset(s, 0, sizeof(*s));
	s->proc_fd = proc_fd;
}

int target_discover(struct target_set *s, const struct target_kind *k)
{
	return k->discover ? k->discover(s) : 0;
}

struct target *target_add(struct target_set *s, const struct target_kind *k, void *obj)
{
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 16;
		struct target *v = realloc(s->v, (size_t)cap * sizeof(*v));
		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	struct target *t = &s->v[s->n++];
	*t = (struct target){.kind = k, .obj = obj, .procs = -1, .state = "running"};
	k->identity(obj, &t->sys);
	return t;
}

void target_set_free(struct target_set *s)
{
	for (int i = 0; i < target_nkinds; i++) {
		const struct target_kind *k = target_kinds[i];
		if (s->data[k->index] && k->release)
			k->release(s->data[k->index]);
		s->data[k->index] = NULL;
	}
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

bool target_takes(const struct target_kind *k, const struct feature *f)
{
	return !k->takes || k->takes(f);
}

bool target_default_feature(const struct target_kind *k, const struct feature *f)
{
	return !f->opt_in && target_takes(k, f);
}

int target_open(const struct target *t, int proc_fd, struct view **out, char *err, size_t errlen)
{
	if (errlen)
		err[0] = 0;
	return t->kind->open(t->obj, proc_fd, out, err, errlen);
}
