/*
 * logs_common.c - the table of log sources a query of either backend
 * reads (logs_common.h): rows by id, the query's system and source
 * filters applied to them; the retention rules of a handle.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "../util/xalloc.h"
#include "logs_common.h"

void log_srcs_add(struct log_srcs *t, int64_t id, const char *system, const char *source)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	t->v[t->n++] = (struct log_src){.id = id,
	                                .system = xstrdup(system ? system : ""),
	                                .source = xstrdup(source ? source : "")};
}

void log_srcs_free(struct log_srcs *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].system);
		free(t->v[i].source);
	}
	free(t->v);
	*t = (struct log_srcs){0};
}

size_t log_srcs_select(struct log_srcs *t, const struct store_log_query *q, bool *filtered)
{
	*filtered = (q->system_ids && q->nsystems) || q->source;
	size_t n = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct log_src *r = &t->v[i];
		bool want = !q->source || strcmp(q->source, r->source) == 0;
		if (want && q->system_ids && q->nsystems) {
			want = false;
			for (size_t k = 0; k < q->nsystems && !want; k++)
				want = q->system_ids[k] && strcmp(q->system_ids[k], r->system) == 0;
		}
		r->want = want;
		n += want;
	}
	return n;
}

const struct log_src *log_srcs_find(const struct log_srcs *t, int64_t id)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->v[lo].id == id ? &t->v[lo] : NULL;
}

void log_retention_set(struct log_retention *lr, int64_t def, const struct store_log_retain *r,
                       size_t n)
{
	log_retention_free(lr);
	lr->set = true;
	lr->def = def;
	lr->v = n ? xreallocarray(NULL, n, sizeof(*lr->v)) : NULL;
	for (size_t i = 0; i < n; i++)
		lr->v[i] = (struct store_log_retain){.glob = xstrdup(r[i].glob), .ms = r[i].ms};
	lr->n = n;
}

void log_retention_free(struct log_retention *lr)
{
	for (size_t i = 0; i < lr->n; i++)
		free((char *)lr->v[i].glob);
	free(lr->v);
	*lr = (struct log_retention){0};
}

int64_t log_retention_of(const struct log_retention *lr, const char *source)
{
	for (size_t i = 0; i < lr->n; i++)
		if (fnmatch(lr->v[i].glob, source ? source : "", 0) == 0)
			return lr->v[i].ms;
	return log_retention_default(lr);
}

int64_t log_retention_default(const struct log_retention *lr)
{
	return lr->set ? lr->def : LOG_RETAIN_DEFAULT;
}
