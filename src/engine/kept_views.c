/*
 * kept_views.c - views and carries kept between a lane's ticks (see
 * kept_views.h).
 */
#include "kept_views.h"

#include <errno.h>
#include <stdlib.h>

#include "../views/view.h"

static void free_carries(struct kept_view *e)
{
	for (int f = 0; f < FEATURE_MAX && f < (int)feature_count; f++) {
		if (e->carry[f] && feature_table[f]->prime_free)
			feature_table[f]->prime_free(e->carry[f]);
		e->carry[f] = NULL;
	}
}

static void entry_free(struct kept_view *e)
{
	if (e->v)
		view_destroy(e->v);
	free_carries(e);
	free(e);
}

struct kept_view *kept_entry(struct kept_views *kv, const struct target *t, uint64_t h)
{
	for (int i = 0; i < kv->n; i++) {
		struct kept_view *k = kv->v[i];
		if (k->h != h)
			continue;
		if (k->gen == t->gen)
			return k;
		entry_free(k); /* the system restarted */
		kv->v[i] = kv->v[--kv->n];
		break;
	}
	if (kv->n == kv->cap) {
		int cap = kv->cap ? kv->cap * 2 : 16;
		struct kept_view **v = realloc(kv->v, (size_t)cap * sizeof(struct kept_view *));
		if (!v)
			return NULL;
		kv->v = v;
		kv->cap = cap;
	}
	struct kept_view *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->h = h;
	e->gen = t->gen;
	kv->v[kv->n++] = e;
	return e;
}

/* A keep_view system whose last open failed recently: true to wait. */
static bool retry_later(struct kept_views *kv, uint64_t h, int64_t now)
{
	for (int i = 0; i < kv->nfail; i++)
		if (kv->fail[i].h == h) {
			if (now - kv->fail[i].at < KEPT_RETRY_NS)
				return true;
			kv->fail[i] = kv->fail[--kv->nfail];
			break;
		}
	return false;
}

static void note_failure(struct kept_views *kv, uint64_t h, int64_t now)
{
	struct kept_fail *f = realloc(kv->fail, (size_t)(kv->nfail + 1) * sizeof(*f));
	if (f) {
		kv->fail = f;
		kv->fail[kv->nfail++] = (struct kept_fail){.h = h, .at = now};
	}
}

struct view *kept_view(struct kept_views *kv, const struct target *t, uint64_t h, int proc_fd,
                       int64_t now, char *err, size_t errlen)
{
	if (errlen)
		err[0] = 0;
	struct kept_view *e = kept_entry(kv, t, h);
	if (!e)
		return NULL;
	if (e->v)
		return e->v;
	bool remember = t->kind->keep_view;
	if (remember && retry_later(kv, h, now))
		return NULL;
	struct view *v;
	int r = target_open(t, proc_fd, &v, err, errlen);
	if (r < 0) {
		if (remember)
			note_failure(kv, h, now);
		else if (errlen)
			err[0] = 0; /* the crawl opens its own and reports the error */
		return NULL;
	}
	e->v = v;
	return v;
}

void kept_carries_fresh(struct kept_view *e, const int64_t *max_age, int64_t now)
{
	for (int f = 0; f < FEATURE_MAX && f < (int)feature_count; f++) {
		if (!e->carry[f] || now - e->carry_at[f] <= max_age[f])
			continue;
		if (feature_table[f]->prime_free)
			feature_table[f]->prime_free(e->carry[f]);
		e->carry[f] = NULL;
	}
}

void kept_carries_left(struct kept_view *e, uint64_t feats, int64_t now)
{
	for (int f = 0; f < FEATURE_MAX; f++)
		if (e->carry[f] && (feats >> f) & 1)
			e->carry_at[f] = now;
}

void kept_forget(struct kept_views *kv, uint64_t h)
{
	for (int i = 0; i < kv->n; i++)
		if (kv->v[i]->h == h) {
			/* the entry and what it holds are left to the stuck crawl */
			kv->v[i] = kv->v[--kv->n];
			return;
		}
}

void kept_prune(struct kept_views *kv, const struct idset *present)
{
	for (int i = 0; i < kv->n;) {
		if (idset_has(present, kv->v[i]->h)) {
			i++;
			continue;
		}
		entry_free(kv->v[i]);
		kv->v[i] = kv->v[--kv->n];
	}
}

void kept_free(struct kept_views *kv)
{
	for (int i = 0; i < kv->n; i++)
		entry_free(kv->v[i]);
	free(kv->v);
	free(kv->fail);
	*kv = (struct kept_views){0};
}
