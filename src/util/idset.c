/*
 * idset.c - sets of system ids as sorted 64-bit hashes (see idset.h).
 */
#include "idset.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

uint64_t id_hash(const char *s)
{
	return fnv1a(FNV1A_BASIS, s, strlen(s));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

bool idset_has(const struct idset *s, uint64_t h)
{
	return s->n && bsearch(&h, s->v, (size_t)s->n, sizeof(h), cmp_u64);
}

bool idset_add(struct idset *s, uint64_t h)
{
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 32;
		uint64_t *v = realloc(s->v, (size_t)cap * sizeof(*v));
		if (!v)
			return false;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = h;
	return true;
}

void idset_sort(struct idset *s)
{
	if (s->n > 1)
		qsort(s->v, (size_t)s->n, sizeof(*s->v), cmp_u64);
}

uint64_t idset_signature(const struct idset *s, uint64_t seed)
{
	uint64_t sig = seed;
	for (int i = 0; i < s->n; i++)
		sig = (sig ^ s->v[i]) * 1099511628211ull;
	return sig;
}

void idset_clear(struct idset *s)
{
	s->n = 0;
}

void idset_free(struct idset *s)
{
	free(s->v);
	*s = (struct idset){0};
}
