/*
 * search_eval.c - evaluating a parsed query over the search index and writing
 * the answer (search.h has the semantics).
 *
 * A selector scans the records it can match: those of its feature, or,
 * for a word over every feature, the hits of one memmem over the index's
 * whole text; each record is tested against every condition.  The systems
 * of the matching records (their postings, each posting read once per
 * selector) form a bit set per selector; and, or, not combine the sets.
 * The answer pairs each passing system with the records its positive
 * selectors matched, counted first so that only the first `limit` pairs
 * in (system, feature, key) order are collected and sorted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../features/feature.h"
#include "../util/json.h"
#include "../util/timefmt.h"
#include "../util/xalloc.h"
#include "search.h"
#include "search_version.h"

struct ev {
	const struct search_index *ix;
	size_t words;       /* of a system bit set */
	uint32_t *post_gen; /* per posting: the selector that last read it */
	uint32_t gen;
	uint32_t *pos; /* records matched by positive selectors */
	size_t npos, cappos;
};

static bool is_feature(const char *w, void *ctx)
{
	const struct search_index *ix = ctx;
	return (ix && search_index_feature(ix, w) >= 0) || feature_find(w) ||
	       strcmp(w, "system") == 0;
}

struct sq_node *search_parse(const struct search_index *ix, const char *text, struct sq_error *err)
{
	return sq_parse(text, is_feature, (void *)ix, err);
}

/* A value to test: a leaf, or the record's key. */
struct val {
	const char *s;
	enum sx_type type;
	double num;
};

static bool num_of(const char *s, double *d)
{
	char *end;
	if (!*s)
		return false;
	*d = strtod(s, &end);
	return !*end;
}

/* v compared with text `q` (a number when qnum): <0, 0, >0. */
static int compare(const struct val *v, const char *q, bool qnum, double qn, bool version,
                   const char *manager)
{
	if (version && v->type == SX_STR)
		return vercmp(manager, v->s, q);
	double d = v->num;
	if (qnum && (v->type == SX_NUM || (v->type == SX_STR && num_of(v->s, &d))))
		return d < qn ? -1 : d > qn;
	int r = strcmp(v->s, q);
	return r < 0 ? -1 : r > 0;
}

static bool equal(const struct val *v, const char *q, bool qnum, double qn)
{
	double d = v->num;
	if (qnum && (v->type == SX_NUM || (v->type == SX_STR && num_of(v->s, &d))))
		return d == qn;
	return strcmp(v->s, q) == 0;
}

/* One value against a positive operator (NE and NMATCH test EQ and
 * MATCH, negated by the caller). */
static bool val_test(const struct sq_cond *c, const struct val *v, bool version,
                     const char *manager)
{
	switch (c->op) {
	case SQ_EQ:
	case SQ_NE:
		return equal(v, c->vals[0], c->num, c->n);
	case SQ_IN:
		for (size_t i = 0; i < c->nvals; i++) {
			double d = 0;
			bool qnum = num_of(c->vals[i], &d);
			if (equal(v, c->vals[i], qnum, d))
				return true;
		}
		return false;
	case SQ_MATCH:
	case SQ_NMATCH:
		if (c->re)
			return regexec(c->re, v->s, 0, NULL, 0) == 0;
		return strcasestr(v->s, c->vals[0]) != NULL;
	case SQ_LT:
		return compare(v, c->vals[0], c->num, c->n, version, manager) < 0;
	case SQ_LE:
		return compare(v, c->vals[0], c->num, c->n, version, manager) <= 0;
	case SQ_GT:
		return compare(v, c->vals[0], c->num, c->n, version, manager) > 0;
	case SQ_GE:
		return compare(v, c->vals[0], c->num, c->n, version, manager) >= 0;
	default:
		return false;
	}
}

static bool text_has(const struct search_index *ix, const struct sx_rec *r, const char *w)
{
	if (!ix->text.data)
		return false;
	return memmem(ix->text.data + r->text, r->text_len, w, strlen(w)) != NULL;
}

/* Does record r meet condition c (its field's path id `path`)? */
static bool cond_match(const struct search_index *ix, const struct sx_rec *r,
                       const struct sq_cond *c, uint32_t path)
{
	if (c->op == SQ_TEXT || !c->field)
		return text_has(ix, r, c->vals[0]);
	bool neg = c->op == SQ_NE || c->op == SQ_NMATCH;
	if (strcmp(c->field, "key") == 0) {
		struct val v = {sx_str(ix, r->dkey), SX_STR, 0};
		return val_test(c, &v, false, NULL) != neg;
	}
	if (path == UINT32_MAX)
		return false;
	const char *manager = r->manager == UINT32_MAX ? NULL : sx_str(ix, r->manager);
	bool version = path == ix->p_version;
	bool present = false;
	for (uint32_t i = 0; i < r->nleaf; i++) {
		const struct sx_leaf *l = &ix->leaves[r->leaf + i];
		if (l->path != path)
			continue;
		present = true;
		struct val v = {sx_str(ix, l->str), (enum sx_type)l->type, l->num};
		if (val_test(c, &v, version, manager))
			return !neg;
	}
	return neg && present;
}

static bool rec_match(const struct search_index *ix, const struct sx_rec *r,
                      const struct sq_node *n, const uint32_t *paths)
{
	for (size_t i = 0; i < n->nconds; i++)
		if (!cond_match(ix, r, &n->conds[i], paths[i]))
			return false;
	return true;
}

static void add_post(struct ev *e, uint64_t *bits, uint32_t post)
{
	if (e->post_gen[post] == e->gen)
		return;
	e->post_gen[post] = e->gen;
	const struct sx_post *p = &e->ix->posts[post];
	const uint32_t *s = e->ix->sys_pool + p->off;
	for (uint32_t i = 0; i < p->n; i++)
		bits[s[i] >> 6] |= 1ULL << (s[i] & 63);
}

static void matched(struct ev *e, uint64_t *bits, uint32_t ri, bool positive)
{
	add_post(e, bits, e->ix->recs[ri].post);
	if (!positive)
		return;
	if (e->npos == e->cappos) {
		e->cappos = e->cappos ? e->cappos * 2 : 256;
		e->pos = xreallocarray(e->pos, e->cappos, sizeof(*e->pos));
	}
	e->pos[e->npos++] = ri;
}

static uint64_t *eval_sel(struct ev *e, const struct sq_node *n, bool positive)
{
	const struct search_index *ix = e->ix;
	uint64_t *bits = xcalloc(e->words, sizeof(*bits));
	e->gen++;
	uint32_t *paths = xcalloc(n->nconds + 1, sizeof(*paths));
	const char *word = NULL; /* a text condition for the memmem scan */
	for (size_t i = 0; i < n->nconds; i++) {
		const struct sq_cond *c = &n->conds[i];
		paths[i] = c->field ? search_index_path(ix, c->field) : UINT32_MAX;
		if (c->op == SQ_TEXT && !word)
			word = c->vals[0];
	}
	int sysf = search_index_feature(ix, "system");
	if (n->feature) {
		int f = search_index_feature(ix, n->feature);
		for (size_t i = 0; f >= 0 && i < ix->nby_feature[f]; i++) {
			uint32_t ri = ix->by_feature[f][i];
			if (rec_match(ix, &ix->recs[ri], n, paths))
				matched(e, bits, ri, positive);
		}
	} else if (word && *word && ix->text.data) {
		/* one scan of all the text; a hit names its record by offset */
		const char *t = ix->text.data, *end = t + ix->text.len;
		size_t wl = strlen(word), lo = 0;
		while (t < end) {
			const char *h = memmem(t, (size_t)(end - t), word, wl);
			if (!h)
				break;
			uint32_t off = (uint32_t)(h - ix->text.data);
			size_t a = lo, b = ix->nrecs; /* last record with text <= off */
			while (b - a > 1) {
				size_t m = (a + b) / 2;
				if (ix->recs[m].text <= off)
					a = m;
				else
					b = m;
			}
			const struct sx_rec *r = &ix->recs[a];
			if ((int)r->feature != sysf && rec_match(ix, r, n, paths))
				matched(e, bits, (uint32_t)a, positive);
			t = ix->text.data + r->text + r->text_len;
			lo = a;
		}
	} else {
		for (size_t ri = 0; ri < ix->nrecs; ri++)
			if ((int)ix->recs[ri].feature != sysf &&
			    rec_match(ix, &ix->recs[ri], n, paths))
				matched(e, bits, (uint32_t)ri, positive);
	}
	free(paths);
	return bits;
}

static uint64_t *eval(struct ev *e, const struct sq_node *n, bool positive)
{
	if (n->kind == SQ_SEL)
		return eval_sel(e, n, positive);
	uint64_t *a = eval(e, n->a, n->kind == SQ_NOT ? !positive : positive);
	if (n->kind == SQ_NOT) {
		for (size_t i = 0; i < e->words; i++)
			a[i] = ~a[i];
		size_t rem = e->ix->nsys & 63;
		if (rem && e->words)
			a[e->words - 1] &= (1ULL << rem) - 1;
		return a;
	}
	uint64_t *b = eval(e, n->b, positive);
	for (size_t i = 0; i < e->words; i++)
		a[i] = n->kind == SQ_AND ? a[i] & b[i] : a[i] | b[i];
	free(b);
	return a;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_hit(const void *a, const void *b, void *ctx)
{
	const struct search_index *hit_ix = ctx;
	const struct search_hit *x = a, *y = b;
	if (x->sys != y->sys)
		return x->sys < y->sys ? -1 : 1;
	uint32_t rx = x->rec == SEARCH_NO_RECORD ? 0 : hit_ix->rank[x->rec] + 1;
	uint32_t ry = y->rec == SEARCH_NO_RECORD ? 0 : hit_ix->rank[y->rec] + 1;
	return rx < ry ? -1 : rx > ry;
}

static bool bit(const uint64_t *b, uint32_t s)
{
	return (b[s >> 6] >> (s & 63)) & 1;
}

int search_eval(const struct search_index *ix, const struct sq_node *q, size_t limit,
                struct search_result *r)
{
	memset(r, 0, sizeof(*r));
	if (limit > SEARCH_LIMIT_MAX)
		limit = SEARCH_LIMIT_MAX;
	struct ev e = {.ix = ix, .words = (ix->nsys + 63) / 64 + 1};
	e.post_gen = xcalloc(ix->nposts + 1, sizeof(*e.post_gen));
	uint64_t *fin = eval(&e, q, true);
	/* the positive records, once each */
	if (e.npos)
		qsort(e.pos, e.npos, sizeof(*e.pos), cmp_u32);
	size_t np = 0;
	for (size_t i = 0; i < e.npos; i++)
		if (!np || e.pos[np - 1] != e.pos[i])
			e.pos[np++] = e.pos[i];
	/* answers per system, then the last system the limit reaches */
	size_t *cnt = xcalloc(ix->nsys + 1, sizeof(*cnt));
	for (size_t i = 0; i < np; i++) {
		const struct sx_post *p = &ix->posts[ix->recs[e.pos[i]].post];
		for (uint32_t k = 0; k < p->n; k++) {
			uint32_t s = ix->sys_pool[p->off + k];
			if (bit(fin, s))
				cnt[s]++;
		}
	}
	size_t cut = ix->nsys, sum = 0;
	bool *bare = xcalloc(ix->nsys + 1, sizeof(*bare));
	for (uint32_t s = 0; s < ix->nsys; s++) {
		if (!bit(fin, s))
			continue;
		r->systems++;
		if (!cnt[s])
			cnt[s] = 1, bare[s] = true; /* named with no record */
		if (sum < limit && sum + cnt[s] >= limit)
			cut = s;
		sum += cnt[s];
	}
	r->total = sum;
	r->truncated = sum > limit;
	size_t cap = 0;
	for (size_t i = 0; limit && i < np; i++) {
		const struct sx_post *p = &ix->posts[ix->recs[e.pos[i]].post];
		for (uint32_t k = 0; k < p->n; k++) {
			uint32_t s = ix->sys_pool[p->off + k];
			if (s > cut)
				break; /* postings are ascending */
			if (!bit(fin, s))
				continue;
			if (r->nhits == cap) {
				cap = cap ? cap * 2 : 64;
				r->hits = xreallocarray(r->hits, cap, sizeof(*r->hits));
			}
			r->hits[r->nhits++] = (struct search_hit){s, e.pos[i]};
		}
	}
	for (uint32_t s = 0; limit && s < ix->nsys && s <= cut; s++) {
		if (!bare[s])
			continue;
		if (r->nhits == cap) {
			cap = cap ? cap * 2 : 64;
			r->hits = xreallocarray(r->hits, cap, sizeof(*r->hits));
		}
		r->hits[r->nhits++] = (struct search_hit){s, SEARCH_NO_RECORD};
	}
	if (r->nhits)
		qsort_r(r->hits, r->nhits, sizeof(*r->hits), cmp_hit, (void *)ix);
	if (r->nhits > limit)
		r->nhits = limit;
	free(cnt);
	free(bare);
	free(fin);
	free(e.pos);
	free(e.post_gen);
	return 0;
}

void search_result_free(struct search_result *r)
{
	free(r->hits);
	memset(r, 0, sizeof(*r));
}

static void raw_string(struct json *j, const char *name, const char *raw)
{
	struct buf t = BUF_INIT;
	buf_addc(&t, '"');
	buf_adds(&t, raw);
	buf_addc(&t, '"');
	jw_raw(j, name, t.data, t.len);
	buf_free(&t);
}

void search_result_json(const struct search_index *ix, const struct search_result *r,
                        const char *query, size_t limit, struct buf *out)
{
	struct json j;
	jw_init(&j, out);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "query", query);
	if (ix->at_ms > 0) {
		char t[40];
		format_time_utc(ix->at_ms * 1000000, t, sizeof(t));
		jw_str(&j, "at", t);
	}
	jw_arr_begin(&j, "results");
	for (size_t i = 0; i < r->nhits; i++) {
		const struct search_hit *h = &r->hits[i];
		const struct sx_sys *y = &ix->sys[h->sys];
		jw_obj_begin(&j, NULL);
		raw_string(&j, "system", sx_str(ix, y->id));
		raw_string(&j, "name", sx_str(ix, y->name));
		if (h->rec == SEARCH_NO_RECORD) {
			jw_null(&j, "feature");
			jw_null(&j, "key");
			jw_null(&j, "value");
		} else {
			const struct sx_rec *rec = &ix->recs[h->rec];
			jw_str(&j, "feature", ix->features[rec->feature]);
			raw_string(&j, "key", sx_str(ix, rec->key));
			jw_raw(&j, "value", sx_str(ix, rec->val), rec->val_len);
		}
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_uint(&j, "systems", r->systems);
	jw_uint(&j, "total", r->total);
	jw_bool(&j, "truncated", r->truncated);
	jw_uint(&j, "limit", limit > SEARCH_LIMIT_MAX ? SEARCH_LIMIT_MAX : limit);
	struct search_index_stats st;
	search_index_stats(ix, &st);
	jw_obj_begin(&j, "index");
	jw_uint(&j, "systems", st.systems);
	jw_uint(&j, "records", st.records);
	jw_uint(&j, "pairs", st.pairs);
	jw_uint(&j, "postings", st.postings);
	jw_uint(&j, "bytes", st.bytes);
	jw_uint(&j, "per_frame_bytes", st.per_frame_bytes);
	jw_obj_end(&j);
	jw_obj_end(&j);
	buf_addc(out, '\n');
}
