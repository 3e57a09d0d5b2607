/*
 * search_narrow.c - the index of a query's candidate records only: the
 * query's words handed to the store (store_state_records_matching(), the
 * PostgreSQL text index), which gives the records that can match; the
 * query is then evaluated over them exactly as over the whole state, so
 * the answer is the same (docs/search.md, "On PostgreSQL").
 *
 * The filter is an OR of one store selector per query selector (those
 * under "not" too: their matches decide as much), each the selector's
 * feature and, ANDed, one word group per condition the text can narrow:
 *   WORD, "text"        the word
 *   f=v  f~v            v (a substring of the decoded leaf; not a number:
 *                       "3306" equals 3306.0; not a /regex/)
 *   f in (a,b)          a or b (none a number)
 * A word must be printable ASCII of 3 bytes or more.  != !~ < <= > >= and
 * the rest narrow nothing; a selector left with neither a feature nor a
 * word narrows nothing, and then neither does the query (-ENOTSUP: the
 * caller reads the whole state).  Selectors of feature "system" need no
 * record (every system's own record is always in the index).
 *
 * The query was parsed with Vantage's features only; against the index a
 * word that is a feature of the store only ("myfeat name=x") starts a
 * selector of its own.  So a selector is cut at each text word that is
 * not one of Vantage's features: one store selector per piece, the piece
 * starting with that word (whose records, feature name included in the
 * text the store matches, are then all candidates).
 *
 * VANTAGE_SEARCH_NARROW=0 in the environment turns this off (the whole
 * state is read, as on SQLite): to measure one against the other.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../features/feature.h"
#include "../store/store.h"
#include "../util/xalloc.h"
#include "search_index.h"
#include "search_parse.h"

struct narrow {
	struct store_text_sel *sel;
	size_t nsel, cap;
	bool wide; /* a selector that narrows nothing */
};

static bool word_ok(const char *w)
{
	size_t n = strlen(w);
	if (n < 3)
		return false;
	for (size_t i = 0; i < n; i++)
		if (w[i] < 0x20 || w[i] > 0x7e)
			return false;
	return true;
}

static bool numeric(const char *w)
{
	char *end;
	(void)strtod(w, &end);
	return end != w;
}

/* The condition gives a word group (its vals) */
static bool narrows(const struct sq_cond *c)
{
	switch (c->op) {
	case SQ_TEXT:
		return word_ok(c->vals[0]);
	case SQ_EQ:
	case SQ_MATCH:
		return !c->re && c->nvals == 1 && !c->num && !numeric(c->vals[0]) &&
		       word_ok(c->vals[0]);
	case SQ_IN:
		for (size_t i = 0; i < c->nvals; i++)
			if (numeric(c->vals[i]) || !word_ok(c->vals[i]))
				return false;
		return c->nvals > 0;
	default:
		return false;
	}
}

/* A text word the index could take for a feature */
static bool maybe_feature(const struct sq_cond *c)
{
	return c->op == SQ_TEXT && !feature_find(c->vals[0]) && strcmp(c->vals[0], "system") != 0;
}

/* One store selector: conds [a, z) of n, feature f */
static void piece(struct narrow *w, const char *f, const struct sq_cond *c, size_t a, size_t z)
{
	size_t k = 0;
	for (size_t i = a; i < z; i++)
		k += narrows(&c[i]);
	if (!k && !f) {
		w->wide = true;
		return;
	}
	struct store_text_any *all = xcalloc(k + 1, sizeof(*all));
	k = 0;
	for (size_t i = a; i < z; i++)
		if (narrows(&c[i]))
			all[k++] =
			    (struct store_text_any){(const char *const *)c[i].vals, c[i].nvals};
	if (w->nsel == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->sel = xreallocarray(w->sel, w->cap, sizeof(*w->sel));
	}
	w->sel[w->nsel++] = (struct store_text_sel){f, all, k};
}

static void walk(struct narrow *w, const struct sq_node *n)
{
	if (!n || w->wide)
		return;
	if (n->kind != SQ_SEL) {
		walk(w, n->a);
		walk(w, n->b);
		return;
	}
	if (n->feature && strcmp(n->feature, "system") == 0)
		return;
	size_t a = 0;
	const char *f = n->feature;
	for (size_t i = 1; i <= n->nconds; i++)
		if (i == n->nconds || maybe_feature(&n->conds[i])) {
			piece(w, f, n->conds, a, i);
			a = i;
			f = NULL;
		}
	if (!n->nconds)
		piece(w, f, n->conds, 0, 0);
}

struct build {
	struct search_index *ix;
	int err;
};

static int on_system(void *ctx, uint32_t idx, const struct store_state_system *y)
{
	struct build *b = ctx;
	int r = search_index_add_system(b->ix, idx, y->id, y->name, y->kind, y->runtime, y->image,
	                                y->host, y->labels);
	return r < 0 ? (b->err = r) : 0;
}

static int on_record(void *ctx, const struct store_state_record *rec)
{
	struct build *b = ctx;
	int r = search_index_add_record(b->ix, rec->feature, rec->key, rec->key_len, rec->value,
	                                rec->value_len, rec->systems, rec->nsystems, rec->group);
	if (r == -EINVAL)
		return 0; /* a value that is not JSON (never stored so): left out */
	return r < 0 ? (b->err = r) : 0;
}

int search_index_build_for(struct store *st, int64_t at_ms, const struct sq_node *q,
                           struct search_index **out, char *err, size_t errlen)
{
	*out = NULL;
	struct narrow w = {0};
	const char *env = getenv("VANTAGE_SEARCH_NARROW");
	if (env && strcmp(env, "0") == 0)
		return -ENOTSUP; /* to measure against the whole state (docs/scale.md) */
	walk(&w, q);
	int r = -ENOTSUP;
	struct build b = {0};
	if (!w.wide) {
		b.ix = search_index_new();
		b.ix->at_ms = at_ms;
		r = store_state_records_matching(st, at_ms, w.sel, w.nsel, on_system, on_record,
		                                 &b);
		if (r == 0)
			r = search_index_finish(b.ix);
	}
	for (size_t i = 0; i < w.nsel; i++)
		free((void *)w.sel[i].all);
	free(w.sel);
	if (r == -ENOTSUP && !b.err) {
		search_index_free(b.ix);
		return r;
	}
	if (r < 0) {
		if (b.err)
			snprintf(err, errlen, "building the search index: %s",
			         b.err == -E2BIG ? "more than 4 GiB of record text"
			                         : strerror(-b.err));
		else
			snprintf(err, errlen, "%s", store_errmsg(st));
		search_index_free(b.ix);
		return r;
	}
	*out = b.ix;
	return 0;
}
