/*
 * search_index.c - the search index: distinct records with their leaves,
 * full text and postings (search_index.h), built from the store's state.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/jscan.h"
#include "../util/u64set.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "search_index.h"

#define ARENA_MAX 0xfff00000u /* offsets are 32 bits */
#define LEAF_DEPTH 8

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
	return grow_array(v, cap, need, size);
}

struct search_index *search_index_new(void)
{
	struct search_index *ix = xcalloc(1, sizeof(*ix));
	buf_addc(&ix->arena, '\0');
	struct u64map *m = xcalloc(1, sizeof(*m));
	u64map_init(m, sizeof(uint32_t));
	ix->path_map = m;
	ix->p_version = ix->p_manager = UINT32_MAX;
	return ix;
}

void search_index_free(struct search_index *ix)
{
	if (!ix)
		return;
	buf_free(&ix->arena);
	buf_free(&ix->text);
	free(ix->recs);
	free(ix->leaves);
	free(ix->posts);
	free(ix->sys_pool);
	free(ix->sys);
	free(ix->group_post);
	for (size_t i = 0; i < ix->nfeatures; i++) {
		free(ix->features[i]);
		if (ix->by_feature)
			free(ix->by_feature[i]);
	}
	free(ix->by_feature);
	free(ix->nby_feature);
	free(ix->rank);
	free(ix->path_str);
	u64map_free(ix->path_map);
	free(ix->path_map);
	free(ix);
}

/* Append bytes (and a NUL) to the arena: their offset. */
static int put_str(struct search_index *ix, const char *p, size_t n, uint32_t *off)
{
	if (ix->arena.len + n + 1 > ARENA_MAX)
		return -E2BIG;
	*off = (uint32_t)ix->arena.len;
	buf_add(&ix->arena, p, n);
	buf_addc(&ix->arena, '\0');
	return 0;
}

/* Decoded text of raw escaped string content into the arena. */
static int put_decoded(struct search_index *ix, const char *p, size_t n, uint32_t *off,
                       uint32_t *len)
{
	if (!memchr(p, '\\', n)) {
		*len = (uint32_t)n;
		return put_str(ix, p, n, off);
	}
	struct buf t = BUF_INIT;
	js_unescape(&t, p, n);
	*len = (uint32_t)t.len;
	int r = put_str(ix, t.data ? t.data : "", t.len, off);
	buf_free(&t);
	return r;
}

int search_index_feature(const struct search_index *ix, const char *name)
{
	for (size_t i = 0; i < ix->nfeatures; i++)
		if (strcmp(ix->features[i], name) == 0)
			return (int)i;
	return -1;
}

static int feature_no(struct search_index *ix, const char *name)
{
	int f = search_index_feature(ix, name);
	if (f >= 0)
		return f;
	if (ix->nfeatures >= SX_FEATURES)
		return -E2BIG;
	ix->features[ix->nfeatures] = xstrdup(name);
	return (int)ix->nfeatures++;
}

static uint64_t path_hash(const char *p, size_t n)
{
	return fnv1a(FNV1A_BASIS, p, n);
}

uint32_t search_index_path(const struct search_index *ix, const char *path)
{
	size_t n = strlen(path);
	for (uint64_t h = path_hash(path, n);; h++) {
		uint32_t *id = u64map_get(ix->path_map, h);
		if (!id)
			return UINT32_MAX;
		if (strcmp(sx_str(ix, ix->path_str[*id - 1]), path) == 0)
			return *id - 1;
	}
}

static int path_id(struct search_index *ix, const char *p, size_t n, uint32_t *out)
{
	for (uint64_t h = path_hash(p, n);; h++) {
		bool added;
		uint32_t *id = u64map_put(ix->path_map, h, &added);
		if (!id)
			return -ENOMEM;
		if (!added) {
			const char *s = sx_str(ix, ix->path_str[*id - 1]);
			if (strlen(s) == n && memcmp(s, p, n) == 0) {
				*out = *id - 1;
				return 0;
			}
			continue;
		}
		int r = grow((void **)&ix->path_str, &ix->cappaths, ix->npaths + 1,
		             sizeof(*ix->path_str));
		uint32_t off = 0;
		if (r == 0)
			r = put_str(ix, p, n, &off);
		if (r < 0)
			return r;
		ix->path_str[ix->npaths] = off;
		id = u64map_get(ix->path_map, h);
		*id = (uint32_t)++ix->npaths;
		*out = *id - 1;
		if (n == 7 && memcmp(p, "version", 7) == 0)
			ix->p_version = *out;
		if (n == 7 && memcmp(p, "manager", 7) == 0)
			ix->p_manager = *out;
		return 0;
	}
}

static void text_add(struct search_index *ix, const char *p, size_t n)
{
	size_t at = ix->text.len;
	buf_add(&ix->text, p, n);
	for (size_t i = at; i < ix->text.len; i++) {
		char c = ix->text.data[i];
		ix->text.data[i] = c == '\n' ? ' ' : (char)tolower((unsigned char)c);
	}
	buf_addc(&ix->text, '\n');
}

struct walk {
	struct search_index *ix;
	struct sx_rec *rec;
	struct buf path;
};

static int add_leaf(struct walk *w, struct js_span v)
{
	struct search_index *ix = w->ix;
	int r = grow((void **)&ix->leaves, &ix->capleaves, ix->nleaves + 1, sizeof(*ix->leaves));
	if (r < 0)
		return r;
	struct sx_leaf *l = &ix->leaves[ix->nleaves];
	memset(l, 0, sizeof(*l));
	const char *path = w->path.len ? w->path.data : "value";
	r = path_id(ix, path, w->path.len ? w->path.len : 5, &l->path);
	if (r < 0)
		return r;
	struct js_span c;
	if (js_str(v, &c)) {
		l->type = SX_STR;
		r = put_decoded(ix, c.p, c.n, &l->str, &l->len);
	} else {
		l->type = v.p[0] == 'n'                      ? SX_NULL
		          : (v.p[0] == 't' || v.p[0] == 'f') ? SX_BOOL
		                                             : SX_NUM;
		if (l->type == SX_NUM)
			l->num = strtod(v.p, NULL);
		l->len = (uint32_t)v.n;
		r = put_str(ix, v.p, v.n, &l->str);
	}
	if (r < 0)
		return r;
	text_add(ix, sx_str(ix, l->str), l->len);
	if (l->path == ix->p_manager && l->type == SX_STR)
		w->rec->manager = l->str;
	if (l->path == ix->p_version)
		w->rec->version = l->path;
	ix->nleaves++;
	w->rec->nleaf++;
	return 0;
}

static int walk_value(struct walk *w, struct js_span v, int depth)
{
	if (v.n && (v.p[0] == '{' || v.p[0] == '[') && depth < LEAF_DEPTH) {
		struct js_iter it;
		if (js_iter_begin(&it, v, 0) < 0)
			return -EINVAL;
		struct js_span name, val;
		int r, k;
		if (v.p[0] == '[') {
			while ((k = js_arr_next(&it, &val)) == 1)
				if ((r = walk_value(w, val, depth + 1)) < 0)
					return r;
			return k < 0 ? -EINVAL : 0;
		}
		size_t plen = w->path.len;
		while ((k = js_obj_next(&it, &name, &val)) == 1) {
			w->path.len = plen;
			if (plen)
				buf_addc(&w->path, '.');
			if (memchr(name.p, '\\', name.n))
				js_unescape(&w->path, name.p, name.n);
			else
				buf_add(&w->path, name.p, name.n);
			buf_str(&w->path);
			if ((r = walk_value(w, val, depth + 1)) < 0)
				return r;
		}
		w->path.len = plen;
		buf_str(&w->path);
		return k < 0 ? -EINVAL : 0;
	}
	return add_leaf(w, v);
}

/* One record: key and value raw; the posting given. */
static int add_rec(struct search_index *ix, int feature, const char *key, size_t key_len,
                   const char *value, size_t value_len, uint32_t post, uint32_t *out)
{
	struct js_span v = {value, value_len};
	const char *e = js_skip(value, value + value_len, 0);
	if (!e || js_ws(e, value + value_len) != value + value_len)
		return -EINVAL;
	int r = grow((void **)&ix->recs, &ix->caprecs, ix->nrecs + 1, sizeof(*ix->recs));
	if (r < 0)
		return r;
	struct sx_rec *rec = &ix->recs[ix->nrecs];
	memset(rec, 0, sizeof(*rec));
	rec->feature = (uint32_t)feature;
	rec->post = post;
	rec->manager = rec->version = UINT32_MAX;
	rec->key_len = (uint32_t)key_len;
	rec->val_len = (uint32_t)value_len;
	uint32_t dlen;
	if ((r = put_str(ix, key, key_len, &rec->key)) < 0 ||
	    (r = put_decoded(ix, key, key_len, &rec->dkey, &dlen)) < 0 ||
	    (r = put_str(ix, value, value_len, &rec->val)) < 0)
		return r;
	if (ix->text.len > ARENA_MAX)
		return -E2BIG;
	rec->text = (uint32_t)ix->text.len;
	text_add(ix, sx_str(ix, rec->dkey), dlen);
	rec->leaf = (uint32_t)ix->nleaves;
	struct walk w = {.ix = ix, .rec = rec};
	r = walk_value(&w, (struct js_span){v.p, (size_t)(e - value)}, 0);
	buf_free(&w.path);
	if (r < 0)
		return r;
	rec->text_len = (uint32_t)(ix->text.len - rec->text);
	*out = (uint32_t)ix->nrecs++;
	return 0;
}

static int new_post(struct search_index *ix, const uint32_t *sys, size_t n, uint32_t *out)
{
	int r = grow((void **)&ix->posts, &ix->capposts, ix->nposts + 1, sizeof(*ix->posts));
	if (r == 0)
		r = grow((void **)&ix->sys_pool, &ix->cappool, ix->npool + n,
		         sizeof(*ix->sys_pool));
	if (r < 0)
		return r;
	ix->posts[ix->nposts] = (struct sx_post){(uint32_t)ix->npool, (uint32_t)n};
	memcpy(ix->sys_pool + ix->npool, sys, n * sizeof(*sys));
	ix->npool += n;
	*out = (uint32_t)ix->nposts++;
	return 0;
}

static void raw_member(struct buf *b, const char *name, const char *raw)
{
	if (b->len > 1)
		buf_addc(b, ',');
	buf_printf(b, "\"%s\":", name);
	if (!raw) {
		buf_add(b, "null", 4);
		return;
	}
	buf_addc(b, '"');
	buf_adds(b, raw);
	buf_addc(b, '"');
}

int search_index_add_system(struct search_index *ix, uint32_t idx, const char *id, const char *name,
                            const char *kind, const char *runtime, const char *image,
                            const char *host, const char *labels)
{
	if (idx != ix->nsys)
		return -EINVAL;
	int r = grow((void **)&ix->sys, &ix->capsys, ix->nsys + 1, sizeof(*ix->sys));
	if (r < 0)
		return r;
	struct sx_sys *y = &ix->sys[ix->nsys];
	if (!id)
		id = "";
	if ((r = put_str(ix, id, strlen(id), &y->id)) < 0 ||
	    (r = put_str(ix, name ? name : id, strlen(name ? name : id), &y->name)) < 0)
		return r;
	struct buf v = BUF_INIT;
	buf_addc(&v, '{');
	raw_member(&v, "id", id);
	raw_member(&v, "name", name);
	raw_member(&v, "kind", kind);
	raw_member(&v, "runtime", runtime);
	raw_member(&v, "image", image);
	raw_member(&v, "host", host);
	buf_add(&v, ",\"labels\":", 10);
	buf_adds(&v, labels && *labels ? labels : "{}");
	buf_addc(&v, '}');
	uint32_t post = 0;
	int f = feature_no(ix, "system");
	r = f < 0 ? f : new_post(ix, &idx, 1, &post);
	if (r == 0)
		r = add_rec(ix, f, id, strlen(id), v.data, v.len, post, &y->rec);
	buf_free(&v);
	if (r < 0)
		return r;
	ix->nsys++;
	return 0;
}

int search_index_add_record(struct search_index *ix, const char *feature, const char *key,
                            size_t key_len, const char *value, size_t value_len,
                            const uint32_t *systems, size_t n, uint32_t group)
{
	if (strcmp(feature, "system") == 0)
		return 0; /* the name is taken by the systems' own records */
	int f = feature_no(ix, feature);
	if (f < 0)
		return f;
	for (size_t i = 0; i < n; i++)
		if (systems[i] >= ix->nsys || (i && systems[i] <= systems[i - 1]))
			return -EINVAL;
	if (group >= ix->ngroups) {
		size_t ng = group + 1 > ix->ngroups * 2 ? group + 1 : ix->ngroups * 2;
		uint32_t *g = reallocarray(ix->group_post, ng, sizeof(*g));
		if (!g)
			return -ENOMEM;
		memset(g + ix->ngroups, 0, (ng - ix->ngroups) * sizeof(*g));
		ix->group_post = g;
		ix->ngroups = ng;
	}
	int r;
	if (!ix->group_post[group]) {
		uint32_t p;
		if ((r = new_post(ix, systems, n, &p)) < 0)
			return r;
		ix->group_post[group] = p + 1;
	}
	uint32_t post = ix->group_post[group] - 1, ri;
	r = add_rec(ix, f, key, key_len, value, value_len, post, &ri);
	if (r < 0)
		return r;
	/* what an index of each system's copy would hold: the record, its
	 * leaves and text, once per system */
	const struct sx_rec *rec = &ix->recs[ri];
	uint64_t one = sizeof(*rec) + rec->key_len * 2 + rec->val_len + rec->text_len +
	               (uint64_t)rec->nleaf * sizeof(struct sx_leaf) + 4 + sizeof(uint32_t);
	for (uint32_t i = 0; i < rec->nleaf; i++)
		one += ix->leaves[rec->leaf + i].len + 1;
	ix->pairs += n;
	ix->per_frame_bytes += one * n;
	return 0;
}

static int cmp_rank(const void *a, const void *b, void *ctx)
{
	const struct search_index *sort_ix = ctx;
	const struct sx_rec *x = &sort_ix->recs[*(const uint32_t *)a];
	const struct sx_rec *y = &sort_ix->recs[*(const uint32_t *)b];
	int r = strcmp(sort_ix->features[x->feature], sort_ix->features[y->feature]);
	if (!r)
		r = strcmp(sx_str(sort_ix, x->key), sx_str(sort_ix, y->key));
	return r;
}

int search_index_finish(struct search_index *ix)
{
	ix->by_feature = xcalloc(SX_FEATURES, sizeof(*ix->by_feature));
	ix->nby_feature = xcalloc(SX_FEATURES, sizeof(*ix->nby_feature));
	for (size_t i = 0; i < ix->nrecs; i++)
		ix->nby_feature[ix->recs[i].feature]++;
	for (size_t f = 0; f < ix->nfeatures; f++) {
		ix->by_feature[f] = reallocarray(NULL, ix->nby_feature[f] + 1, sizeof(uint32_t));
		if (!ix->by_feature[f])
			return -ENOMEM;
		ix->nby_feature[f] = 0;
	}
	for (size_t i = 0; i < ix->nrecs; i++) {
		uint32_t f = ix->recs[i].feature;
		ix->by_feature[f][ix->nby_feature[f]++] = (uint32_t)i;
	}
	uint32_t *order = reallocarray(NULL, ix->nrecs + 1, sizeof(*order));
	ix->rank = reallocarray(NULL, ix->nrecs + 1, sizeof(*ix->rank));
	if (!order || !ix->rank) {
		free(order);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ix->nrecs; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, ix->nrecs, sizeof(*order), cmp_rank, ix);
	for (size_t i = 0; i < ix->nrecs; i++)
		ix->rank[order[i]] = (uint32_t)i;
	free(order);
	ix->finished = true;
	return 0;
}

void search_index_stats(const struct search_index *ix, struct search_index_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->systems = ix->nsys;
	s->records = ix->nrecs - ix->nsys; /* without the systems' own */
	s->pairs = ix->pairs;
	s->postings = ix->nposts;
	s->paths = ix->npaths;
	s->features = ix->nfeatures;
	s->bytes = ix->arena.len + ix->text.len + ix->nrecs * sizeof(*ix->recs) +
	           ix->nleaves * sizeof(*ix->leaves) + ix->nposts * sizeof(*ix->posts) +
	           ix->npool * sizeof(*ix->sys_pool) + ix->nsys * sizeof(*ix->sys) +
	           ix->nrecs * 2 * sizeof(uint32_t) /* by_feature, rank */ +
	           ix->npaths * (sizeof(uint32_t) + 2 * sizeof(uint64_t));
	s->per_frame_bytes = ix->per_frame_bytes;
}

/* ---- from the store ---- */

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

int search_index_build(struct store *st, int64_t at_ms, struct search_index **out, char *err,
                       size_t errlen)
{
	struct build b = {.ix = search_index_new()};
	b.ix->at_ms = at_ms;
	int r = store_state_records(st, at_ms, on_system, on_record, &b);
	if (r == 0)
		r = search_index_finish(b.ix);
	if (r < 0) {
		if (b.err)
			snprintf(err, errlen, "building the search index: %s",
			         b.err == -E2BIG ? "more than 4 GiB of record text"
			                         : strerror(-b.err));
		else
			snprintf(err, errlen, "%s", store_errmsg(st));
		search_index_free(b.ix);
		*out = NULL;
		return r;
	}
	*out = b.ix;
	return 0;
}
