/*
 * sqlite_state.c - the SQLite backend's store_state_records(): the state
 * of every system (latest, or at a time), each distinct record once with
 * the systems holding it (store.h has the contract).
 *
 * The work follows the schema (docs/storage.md): a system's state is a
 * list of sets (one per feature, from the latest frame holding it); many
 * systems point at the same set (an unchanged image's package list), so
 * the systems are gathered per distinct set first.  A record can be in
 * several sets (a package shared by two images whose lists differ): the
 * sets holding each record are found by sorting (record id, set) pairs,
 * and records held by the same combination of sets share one list of
 * systems (a group).  Records are then read once each, in id order.
 * Nothing here is sized by a constant: allocation failures give -ENOMEM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "sqlite_internal.h"

struct sset {
	int64_t id, feature;
	unsigned char *ids; /* the set's record ids (delta, zigzag varints) */
	size_t ids_len;
	uint32_t *sys; /* systems holding it, ascending */
	size_t nsys, cap;
};

struct pair {
	int64_t rec;
	uint32_t set;
};

struct group {
	uint64_t hash;
	uint32_t *sets, nsets;
	uint32_t *sys;
	size_t nsys;
};

struct state {
	struct sqlite_store *s;
	int64_t metric_fid;
	struct sset *sets;
	size_t nsets, capsets;
	struct u64map set_idx; /* set id -> index + 1 (uint32_t) */
	struct group *groups;
	size_t ngroups, capgroups;
	struct u64map group_idx; /* combination hash -> index + 1 (uint32_t) */
};

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
	return grow_array(v, cap, need, size);
}

/* The index of set `id` in st->sets, read from the store the first time.
 * 0 or a negative errno. */
static int load_set(struct state *st, int64_t id, uint32_t *out)
{
	uint32_t *slot = u64map_get(&st->set_idx, (uint64_t)id);
	if (slot) {
		*out = *slot - 1;
		return 0;
	}
	sqlite3_stmt *q = stmt(st->s, ST_SET_GET);
	if (!q)
		return -EIO;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q);
		return sq_fail(st->s, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
		               "reading a record set");
	}
	int r = grow((void **)&st->sets, &st->capsets, st->nsets + 1, sizeof(*st->sets));
	struct sset *e = &st->sets[st->nsets];
	if (r == 0) {
		memset(e, 0, sizeof(*e));
		e->id = id;
		e->feature = sqlite3_column_int64(q, 0);
		e->ids_len = (size_t)sqlite3_column_bytes(q, 2);
		e->ids = malloc(e->ids_len + 1);
		if (!e->ids)
			r = -ENOMEM;
		else if (e->ids_len)
			memcpy(e->ids, sqlite3_column_blob(q, 2), e->ids_len);
	}
	sqlite3_reset(q);
	if (r < 0)
		return r;
	bool added;
	slot = u64map_put(&st->set_idx, (uint64_t)id, &added);
	if (!slot) {
		free(e->ids);
		return -ENOMEM;
	}
	*slot = (uint32_t)++st->nsets;
	*out = *slot - 1;
	return 0;
}

/* The sets of frame `parts` of features in `want` (bits) not yet in
 * *have, taken for system `sys`; the bits taken are added to *have. */
static int take_parts(struct state *st, const void *parts, size_t len, uint32_t sys, uint64_t want,
                      uint64_t *have)
{
	const unsigned char *p = parts, *end = p + len;
	uint64_t set;
	while (p < end && vget(&p, end, &set)) {
		uint32_t i = 0;
		int r = load_set(st, (int64_t)set, &i);
		if (r < 0)
			return r;
		struct sset *e = &st->sets[i];
		int64_t f = e->feature;
		if (f <= 0 || f > 64 || !(want & ~*have & (1ULL << (f - 1))))
			continue;
		*have |= 1ULL << (f - 1);
		if (e->nsys && e->sys[e->nsys - 1] == sys)
			continue;
		r = grow((void **)&e->sys, &e->cap, e->nsys + 1, sizeof(*e->sys));
		if (r < 0)
			return r;
		e->sys[e->nsys++] = sys;
	}
	return 0;
}

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	if (x->rec != y->rec)
		return x->rec < y->rec ? -1 : 1;
	return x->set < y->set ? -1 : x->set > y->set;
}

/* The union of two ascending lists into a new one. */
static uint32_t *merge(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, size_t *n)
{
	uint32_t *o = reallocarray(NULL, na + nb + 1, sizeof(*o));
	if (!o)
		return NULL;
	size_t i = 0, j = 0, k = 0;
	while (i < na || j < nb) {
		uint32_t v;
		if (j >= nb || (i < na && a[i] < b[j]))
			v = a[i++];
		else if (i >= na || b[j] < a[i])
			v = b[j++];
		else
			v = a[i++], j++;
		o[k++] = v;
	}
	*n = k;
	return o;
}

/* The group of the combination sets[0..n) (ascending set indexes). */
static int group_of(struct state *st, const uint32_t *sets, uint32_t n, uint32_t *out)
{
	uint64_t h = fnv1a(FNV1A_BASIS, sets, n * sizeof(*sets));
	for (;; h++) {
		bool added;
		uint32_t *slot = u64map_put(&st->group_idx, h, &added);
		if (!slot)
			return -ENOMEM;
		if (!added) {
			struct group *g = &st->groups[*slot - 1];
			if (g->nsets == n && memcmp(g->sets, sets, n * sizeof(*sets)) == 0) {
				*out = *slot - 1;
				return 0;
			}
			continue; /* a collision: the next hash */
		}
		int r = grow((void **)&st->groups, &st->capgroups, st->ngroups + 1,
		             sizeof(*st->groups));
		if (r < 0)
			return r;
		struct group *g = &st->groups[st->ngroups];
		memset(g, 0, sizeof(*g));
		g->hash = h;
		g->sets = reallocarray(NULL, n, sizeof(*sets));
		if (!g->sets)
			return -ENOMEM;
		memcpy(g->sets, sets, n * sizeof(*sets));
		g->nsets = n;
		const struct sset *e = &st->sets[sets[0]];
		g->sys = reallocarray(NULL, e->nsys + 1, sizeof(*g->sys));
		if (!g->sys)
			return -ENOMEM;
		memcpy(g->sys, e->sys, e->nsys * sizeof(*g->sys));
		g->nsys = e->nsys;
		for (uint32_t i = 1; i < n; i++) {
			e = &st->sets[sets[i]];
			size_t m;
			uint32_t *u = merge(g->sys, g->nsys, e->sys, e->nsys, &m);
			if (!u)
				return -ENOMEM;
			free(g->sys);
			g->sys = u;
			g->nsys = m;
		}
		slot = u64map_get(&st->group_idx, h);
		*slot = (uint32_t)++st->ngroups;
		*out = (uint32_t)st->ngroups - 1;
		return 0;
	}
}

static void state_free(struct state *st)
{
	for (size_t i = 0; i < st->nsets; i++) {
		free(st->sets[i].ids);
		free(st->sets[i].sys);
	}
	free(st->sets);
	for (size_t i = 0; i < st->ngroups; i++) {
		free(st->groups[i].sets);
		free(st->groups[i].sys);
	}
	free(st->groups);
	u64map_free(&st->set_idx);
	u64map_free(&st->group_idx);
}

/* Every system's sets: the systems callback, then the sets of each. */
static int gather(struct state *st, int64_t at_ms,
                  int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
                  void *ctx)
{
	struct sqlite_store *s = st->s;
	sqlite3_stmt *sy = NULL, *last = NULL, *feat = NULL;
	int rc = sqlite3_prepare_v2(
	    s->db,
	    "SELECT id, sid, name, kind, runtime, image, host, labels, fmask FROM systems"
	    " WHERE (?1 = 0 AND gone = 0) OR (?1 > 0 AND first_seen <= ?1"
	    " AND NOT (gone = 1 AND gone_at IS NOT NULL AND gone_at <= ?1)) ORDER BY sid",
	    -1, &sy, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
		                        "SELECT t, parts FROM frames WHERE system = ?1 AND t <= ?2"
		                        " ORDER BY t DESC, id DESC LIMIT 1",
		                        -1, &last, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
		                        "SELECT parts FROM frames WHERE system = ?1 AND t <= ?2"
		                        " AND (fmask & ?3) != 0 ORDER BY t DESC, id DESC LIMIT 1",
		                        -1, &feat, NULL);
	int r = rc == SQLITE_OK ? 0 : sq_fail(s, rc, "reading the systems' state");
	if (r == 0)
		sqlite3_bind_int64(sy, 1, at_ms > 0 ? at_ms : 0);
	uint32_t idx = 0;
	uint64_t skip = 0;
	if (st->metric_fid > 0 && st->metric_fid <= 64)
		skip = 1ULL << (st->metric_fid - 1);
	while (r == 0 && (rc = sqlite3_step(sy)) == SQLITE_ROW) {
		int64_t row = sqlite3_column_int64(sy, 0);
		uint64_t want = (uint64_t)sqlite3_column_int64(sy, 8) & ~skip, have = 0;
		sqlite3_bind_int64(last, 1, row);
		sqlite3_bind_int64(last, 2, at_ms > 0 ? at_ms : INT64_MAX);
		rc = sqlite3_step(last);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(last);
			if (rc == SQLITE_DONE)
				continue; /* no frame then */
			r = sq_fail(s, rc, "reading the systems' state");
			break;
		}
		struct store_state_system y = {
		    .id = (const char *)sqlite3_column_text(sy, 1),
		    .name = (const char *)sqlite3_column_text(sy, 2),
		    .kind = (const char *)sqlite3_column_text(sy, 3),
		    .runtime = (const char *)sqlite3_column_text(sy, 4),
		    .image = (const char *)sqlite3_column_text(sy, 5),
		    .host = (const char *)sqlite3_column_text(sy, 6),
		    .labels = (const char *)sqlite3_column_text(sy, 7),
		    .t = sqlite3_column_int64(last, 0),
		};
		if (!y.labels)
			y.labels = "{}";
		r = take_parts(st, sqlite3_column_blob(last, 1),
		               (size_t)sqlite3_column_bytes(last, 1), idx, want, &have);
		sqlite3_reset(last);
		if (r == 0)
			r = system(ctx, idx, &y);
		/* features crawled on other intervals: their latest frame each */
		for (int b = 0; r == 0 && b < 63; b++) {
			if (!(want & ~have & (1ULL << b)))
				continue;
			sqlite3_bind_int64(feat, 1, row);
			sqlite3_bind_int64(feat, 2, at_ms > 0 ? at_ms : INT64_MAX);
			sqlite3_bind_int64(feat, 3, (int64_t)(1ULL << b));
			rc = sqlite3_step(feat);
			if (rc == SQLITE_ROW)
				r = take_parts(st, sqlite3_column_blob(feat, 0),
				               (size_t)sqlite3_column_bytes(feat, 0), idx,
				               1ULL << b, &have);
			else if (rc != SQLITE_DONE)
				r = sq_fail(s, rc, "reading the systems' state");
			sqlite3_reset(feat);
		}
		idx++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_fail(s, rc, "reading the systems' state");
	sqlite3_finalize(sy);
	sqlite3_finalize(last);
	sqlite3_finalize(feat);
	return r;
}

/* (record id, set) for every record of every set held by a system. */
static int pairs_of(struct state *st, struct pair **out, size_t *n)
{
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < st->nsets; i++) {
		const struct sset *e = &st->sets[i];
		if (!e->nsys)
			continue;
		const unsigned char *p = e->ids, *end = p + e->ids_len;
		uint64_t v;
		int64_t id = 0;
		while (p < end && vget(&p, end, &v)) {
			id += unzz(v);
			if (grow((void **)out, &cap, *n + 1, sizeof(**out)) < 0)
				return -ENOMEM;
			(*out)[(*n)++] = (struct pair){id, (uint32_t)i};
		}
	}
	if (*n)
		qsort(*out, *n, sizeof(**out), cmp_pair);
	return 0;
}

static int emit_records(struct state *st, const struct pair *pr, size_t n,
                        int (*record)(void *ctx, const struct store_state_record *r), void *ctx)
{
	struct sqlite_store *s = st->s;
	uint32_t *combo = NULL;
	size_t capc = 0;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n;) {
		size_t j = i;
		uint32_t nc = 0;
		for (; j < n && pr[j].rec == pr[i].rec; j++) {
			if (nc && combo[nc - 1] == pr[j].set)
				continue;
			if (grow((void **)&combo, &capc, nc + 1, sizeof(*combo)) < 0) {
				r = -ENOMEM;
				break;
			}
			combo[nc++] = pr[j].set;
		}
		uint32_t g = 0;
		if (r == 0)
			r = group_of(st, combo, nc, &g);
		if (r < 0)
			break;
		sqlite3_stmt *q = stmt(s, ST_REC_GET);
		if (!q) {
			r = -EIO;
			break;
		}
		sqlite3_bind_int64(q, 1, pr[i].rec);
		int rc = sqlite3_step(q);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(q);
			r = sq_fail(s, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, "reading a record");
			break;
		}
		const struct group *gr = &st->groups[g];
		struct store_state_record rec = {
		    .id = pr[i].rec,
		    .feature = feature_name(s, sqlite3_column_int64(q, 0)),
		    .key = (const char *)sqlite3_column_text(q, 1),
		    .key_len = (size_t)sqlite3_column_bytes(q, 1),
		    .value = (const char *)sqlite3_column_text(q, 2),
		    .value_len = (size_t)sqlite3_column_bytes(q, 2),
		    .systems = gr->sys,
		    .nsystems = gr->nsys,
		    .group = g,
		};
		if (!rec.key)
			rec.key = "";
		if (!rec.value)
			rec.value = "null";
		r = record(ctx, &rec);
		sqlite3_reset(q);
		i = j;
	}
	free(combo);
	return r;
}

int sqlite_state_records(struct store *base, int64_t at_ms,
                         int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
                         int (*record)(void *ctx, const struct store_state_record *r), void *ctx)
{
	struct sqlite_store *s = sq(base);
	int r = sq_follow(s);
	if (r < 0)
		return r;
	struct state st = {.s = s};
	u64map_init(&st.set_idx, sizeof(uint32_t));
	u64map_init(&st.group_idx, sizeof(uint32_t));
	st.metric_fid = feature_id(s, "metric", 6, false);
	if (st.metric_fid < 0)
		return (int)st.metric_fid;
	/* one read transaction: the systems, frames and records agree */
	r = sq_exec(s, "BEGIN");
	if (r < 0)
		return r;
	r = gather(&st, at_ms, system, ctx);
	struct pair *pr = NULL;
	size_t n = 0;
	if (r == 0)
		r = pairs_of(&st, &pr, &n);
	if (r == 0)
		r = emit_records(&st, pr, n, record, ctx);
	free(pr);
	sq_exec(s, "COMMIT");
	state_free(&st);
	if (r == -ENOMEM)
		sq_failf(s, -ENOMEM, "out of memory reading the systems' state");
	return r;
}
