/*
 * kept_views.c - views kept open between a lane's ticks (see kept_views.h).
 */
#include "kept_views.h"

#include <errno.h>
#include <stdlib.h>

#include "../views/view.h"

/* The kept view of system h (opened for `gen`): 1 with *out set, or 0 when
 * one must be opened (room for it made; a view of an older gen closed),
 * or -ENOMEM. */
static int kept_find(struct kept_views *kv, uint64_t h, int gen, struct view **out)
{
	for (int i = 0; i < kv->n; i++) {
		struct kept_view *k = &kv->v[i];
		if (k->h != h)
			continue;
		if (k->gen == gen) {
			*out = k->v;
			return 1;
		}
		view_destroy(k->v);
		kv->v[i] = kv->v[--kv->n];
		break;
	}
	if (kv->n == kv->cap) {
		int cap = kv->cap ? kv->cap * 2 : 16;
		struct kept_view *v = realloc(kv->v, (size_t)cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		kv->v = v;
		kv->cap = cap;
	}
	return 0;
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
	struct view *v;
	if (errlen)
		err[0] = 0;
	int k = kept_find(kv, h, t->gen, &v);
	if (k)
		return k > 0 ? v : NULL;
	bool remember = t->kind->keep_view;
	if (remember && retry_later(kv, h, now))
		return NULL;
	int r = target_open(t, proc_fd, &v, err, errlen);
	if (r < 0) {
		if (remember)
			note_failure(kv, h, now);
		else if (errlen)
			err[0] = 0; /* the crawl opens its own and reports the error */
		return NULL;
	}
	kv->v[kv->n++] = (struct kept_view){.h = h, .gen = t->gen, .v = v};
	return v;
}

void kept_forget(struct kept_views *kv, const struct view *v)
{
	for (int i = 0; i < kv->n; i++)
		if (kv->v[i].v == v) {
			kv->v[i] = kv->v[--kv->n];
			return;
		}
}

void kept_prune(struct kept_views *kv, const struct idset *present)
{
	for (int i = 0; i < kv->n;) {
		if (idset_has(present, kv->v[i].h)) {
			i++;
			continue;
		}
		view_destroy(kv->v[i].v);
		kv->v[i] = kv->v[--kv->n];
	}
}

void kept_free(struct kept_views *kv)
{
	for (int i = 0; i < kv->n; i++)
		view_destroy(kv->v[i].v);
	free(kv->v);
	free(kv->fail);
	*kv = (struct kept_views){0};
}
