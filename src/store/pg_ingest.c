/*
 * pg_ingest.c - the PostgreSQL backend storing frames: store_put_frame(s)
 * and store_put_frames_at() (frames and a consumer group's offsets in one
 * transaction).
 *
 * A frame is decoded with frame/decode.c and features/metric_series.c
 * exactly as the SQLite backend does (header and metric records become
 * templates, numeric fields points), then written with a handful of
 * statements whatever its size:
 *   - records: each hashed (SHA-256 of feature, key, value; 16 bytes);
 *     those not in the handle's cache are sent at once as arrays
 *     (INSERT ... SELECT unnest ... ON CONFLICT (hash) DO NOTHING), which
 *     gives the new ids and the ids of those already stored;
 *   - sets (one feature's record ids in order, by hash) the same way;
 *   - the frame row, then its points as one INSERT of arrays into the
 *     hour's partition of `points` (a point of the same series and time
 *     again replaces the value, as a frame stored twice does in SQLite).
 * Each frame of a batch runs in a savepoint: a refused frame is rolled
 * back alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../features/metric_series.h"
#include "../frame/decode.h"
#include "../util/jscan.h"
#include "../util/sha256.h"
#include "../util/xalloc.h"
#include "offsets_fence.h"
#include "pg_internal.h"

#define MAX_PARTS 64

struct prec { /* a record of the frame */
	unsigned char h[16];
	int64_t fid;
	struct js_span key;
	const char *vp;    /* the value in the frame's text, or NULL: */
	size_t voff, vlen; /* in vals (a template made here) */
	int64_t id;
};

struct ppart {
	int64_t fid;
	char name[32];
	size_t nlen;
	size_t *recs; /* indexes into the frame's records */
	size_t n, cap;
	int64_t set;
};

struct ppoint {
	int64_t series;
	struct point p;
	size_t order;
	size_t noff, nlen, loff, llen; /* name and labels in pnames */
};

struct ping {
	struct pg_store *s;
	int64_t sysrow, t;
	struct ppart parts[MAX_PARTS];
	int nparts, cur;
	struct prec *r;
	size_t nr, rcap;
	struct buf vals, tmpl, scratch;
	int64_t *durs;
	size_t ndurs;
	struct ppoint *pts;
	size_t npts, pcap;
	struct buf pnames;
	int64_t head; /* index of the header record + 1 */
	int lineno;
	int64_t new_records, new_sets, new_points;
	struct sha256 *sha;
	struct js_span sys; /* the header's system and fields */
	struct frame_head hd;
	bool sent;  /* its new records are being inserted (resolve_send) */
	bool plain; /* without ON CONFLICT; the arrays sent: */
	struct buf arr[4];
};

/*
 * The batch being stored: frames go through two steps, so that the
 * server inserts a frame's records while this process decodes and hashes
 * the next frame:
 *   decode   the lines decoded, the records hashed, nothing asked of the
 *            server (but a feature name never seen: settle() first);
 *   settle   the frame's records' ids (the insert sent at the end of its
 *            decode), its system, sets, row and points, in its savepoint.
 * `in` is the frame decoded whose records are being inserted.
 */
struct pbatch {
	struct ping *in;
	struct store_frame *f;
	bool sp;        /* frames in savepoints */
	int64_t cnt[4]; /* frames, records, sets, points stored */
};

static int settle(struct pg_store *s);

static uint64_t key64(const unsigned char *h)
{
	uint64_t k;
	memcpy(&k, h, 8);
	return k;
}

static void hex(const unsigned char *h, size_t n, char *o)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		o[2 * i] = d[h[i] >> 4];
		o[2 * i + 1] = d[h[i] & 15];
	}
	o[2 * n] = 0;
}

static int hash3(struct ping *in, const void *a, size_t an, const void *b, size_t bn, const void *c,
                 size_t cn, unsigned char out[16])
{
	unsigned char d[32];
	static const unsigned char z = 0;
	if (sha256_begin(in->sha) < 0 || sha256_update(in->sha, a, an) < 0 ||
	    sha256_update(in->sha, &z, 1) < 0 || sha256_update(in->sha, b, bn) < 0 ||
	    sha256_update(in->sha, &z, 1) < 0 || sha256_update(in->sha, c, cn) < 0 ||
	    sha256_end(in->sha, d) < 0)
		return pg_failf(in->s, -ENOMEM, "hashing a record");
	memcpy(out, d, 16);
	return 0;
}

/* A record (its id found later, by resolve_send()); the value copied
 * when `copy` (a template in a buffer used again), else pointed at. */
static int add_record(struct ping *in, int64_t fid, const char *fname, size_t fnlen,
                      struct js_span key, const char *val, size_t vlen, bool copy, size_t *idx)
{
	if (in->nr == in->rcap) {
		in->rcap = in->rcap ? in->rcap * 2 : 256;
		in->r = xreallocarray(in->r, in->rcap, sizeof(*in->r));
	}
	struct prec *r = &in->r[in->nr];
	memset(r, 0, sizeof(*r));
	int e = hash3(in, fname, fnlen, key.p, key.n, val, vlen, r->h);
	if (e < 0)
		return e;
	r->fid = fid;
	r->key = key;
	r->vlen = vlen;
	if (copy) {
		r->voff = in->vals.len;
		buf_add(&in->vals, val, vlen);
	} else {
		r->vp = val;
	}
	*idx = in->nr++;
	return 0;
}

static const char *value_of(const struct ping *in, const struct prec *r)
{
	return r->vp ? r->vp : in->vals.data + r->voff;
}

static struct ppart *part_for(struct ping *in, const char *name, size_t n, int *err)
{
	if (in->cur >= 0 && in->parts[in->cur].nlen == n &&
	    memcmp(in->parts[in->cur].name, name, n) == 0)
		return &in->parts[in->cur];
	for (int i = 0; i < in->nparts; i++)
		if (in->parts[i].nlen == n && memcmp(in->parts[i].name, name, n) == 0) {
			in->cur = i;
			return &in->parts[i];
		}
	if (in->nparts >= MAX_PARTS || n == 0 || n >= sizeof(in->parts[0].name)) {
		*err = pg_failf(in->s, -EINVAL, "frame line %d: bad or too many feature names",
		                in->lineno);
		return NULL;
	}
	int64_t fid = 0;
	for (int i = 0; i < in->s->nfeats && !fid; i++)
		if (strlen(in->s->feats[i].name) == n && memcmp(in->s->feats[i].name, name, n) == 0)
			fid = in->s->feats[i].id;
	if (!fid) { /* asked of the server: the frame whose records are in flight first */
		int e = settle(in->s);
		fid = e < 0 ? e : pg_feature_id(in->s, name, n, true);
	}
	if (fid < 0) {
		*err = (int)fid;
		return NULL;
	}
	struct ppart *pt = &in->parts[in->nparts];
	memset(pt, 0, sizeof(*pt));
	memcpy(pt->name, name, n);
	pt->nlen = n;
	pt->fid = fid;
	in->cur = in->nparts++;
	return pt;
}

static void part_add(struct ppart *pt, size_t idx)
{
	if (pt->n == pt->cap) {
		pt->cap = pt->cap ? pt->cap * 2 : 32;
		pt->recs = xreallocarray(pt->recs, pt->cap, sizeof(*pt->recs));
	}
	pt->recs[pt->n++] = idx;
}

/* ---- series and points ------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return (h ^ 0xff) * 0x100000001b3ULL;
}

static int64_t series_of(struct pg_store *s, int64_t sysrow, struct js_span name,
                         struct js_span labels)
{
	uint64_t k = fnv(fnv(fnv(0xcbf29ce484222325ULL, &sysrow, sizeof(sysrow)), name.p, name.n),
	                 labels.p, labels.n);
	int64_t *c = u64map_get(&s->series, k);
	if (c)
		return *c;
	char sys[24], nm[160];
	snprintf(sys, sizeof(sys), "%" PRId64, sysrow);
	snprintf(nm, sizeof(nm), "%.*s", (int)name.n, name.p);
	struct buf lb = BUF_INIT;
	buf_add(&lb, labels.p, labels.n);
	const char *p[] = {sys, nm, buf_str(&lb)};
	int e;
	PGresult *r = pg_q(s,
	                   "WITH i AS (INSERT INTO series(system, name, labels) VALUES($1, $2, $3)"
	                   " ON CONFLICT DO NOTHING RETURNING id) SELECT id FROM i UNION ALL"
	                   " SELECT id FROM series WHERE system = $1 AND name = $2 AND labels = $3",
	                   3, p, "storing a series", &e);
	buf_free(&lb);
	if (!r)
		return e;
	int64_t id = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	if (id <= 0)
		return pg_failf(s, -EIO, "storing series %s", nm);
	bool added;
	int64_t *v = u64map_put(&s->series, k, &added);
	if (v)
		*v = id;
	return id;
}

/* A point; its series is found when the frame settles (series_ids()). */
static int add_point(void *ctx, struct js_span name, struct js_span labels,
                     const struct frame_num *v)
{
	struct ping *in = ctx;
	if (in->npts == in->pcap) {
		in->pcap = in->pcap ? in->pcap * 2 : 256;
		in->pts = xreallocarray(in->pts, in->pcap, sizeof(*in->pts));
	}
	struct ppoint *p = &in->pts[in->npts];
	p->series = 0;
	p->order = in->npts++;
	p->noff = in->pnames.len;
	p->nlen = name.n;
	buf_add(&in->pnames, name.p, name.n);
	p->loff = in->pnames.len;
	p->llen = labels.n;
	buf_add(&in->pnames, labels.p, labels.n);
	p->p = (struct point){
	    .t = in->t, .i = v->isint ? v->i : 0, .d = v->d, .type = v->isint ? PT_INT : PT_FLOAT};
	return 0;
}

static int series_ids(struct ping *in)
{
	for (size_t i = 0; i < in->npts; i++) {
		struct ppoint *p = &in->pts[i];
		struct js_span name = {in->pnames.data + p->noff, p->nlen},
		               labels = {in->pnames.data + p->loff, p->llen};
		int64_t sid = series_of(in->s, in->sysrow, name, labels);
		if (sid < 0)
			return (int)sid;
		p->series = p->p.series = sid;
	}
	return 0;
}

static int cmp_ppoint(const void *a, const void *b)
{
	const struct ppoint *x = a, *y = b;
	if (x->series != y->series)
		return x->series < y->series ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

int pg_raw_partition(struct pg_store *s, int64_t h)
{
	if (u64map_has(&s->parts, (uint64_t)h))
		return 0;
	char sql[400];
	int64_t a = h * MS_HOUR;
	snprintf(sql, sizeof(sql),
	         "SELECT pg_advisory_xact_lock(%lld); CREATE TABLE IF NOT EXISTS points_r%lld"
	         " PARTITION OF points FOR VALUES FROM (%lld) TO (%lld)",
	         (long long)PG_LOCK_DDL, (long long)h, (long long)a, (long long)(a + MS_HOUR));
	int e = pg_exec(s, sql, "making a partition of points");
	bool added;
	if (e == 0)
		u64map_put(&s->parts, (uint64_t)h, &added);
	return e;
}

static int store_points(struct ping *in)
{
	struct pg_store *s = in->s;
	int e = series_ids(in);
	if (e < 0)
		return e;
	qsort(in->pts, in->npts, sizeof(*in->pts), cmp_ppoint);
	size_t w = 0; /* of one series twice, the last */
	for (size_t i = 0; i < in->npts; i++) {
		if (w && in->pts[w - 1].series == in->pts[i].series)
			w--;
		in->pts[w++] = in->pts[i];
	}
	in->npts = w;
	e = pg_raw_partition(s, floor_to(in->t, MS_HOUR) / MS_HOUR);
	if (e < 0)
		return e;
	struct buf ids = BUF_INIT, iv = BUF_INIT, dv = BUF_INIT;
	buf_addc(&ids, '{');
	buf_addc(&iv, '{');
	buf_addc(&dv, '{');
	for (size_t i = 0; i < in->npts; i++) {
		const struct point *p = &in->pts[i].p;
		const char *sep = i ? "," : "";
		buf_printf(&ids, "%s%" PRId64, sep, in->pts[i].series);
		if (p->type == PT_INT)
			buf_printf(&iv, "%s%" PRId64, sep, p->i);
		else
			buf_printf(&iv, "%sNULL", sep);
		if (p->type == PT_FLOAT && p->d == p->d && p->d - p->d == 0)
			buf_printf(&dv, "%s%.17g", sep, p->d);
		else if (p->type == PT_INT)
			buf_printf(&dv, "%s%.17g", sep, (double)p->i);
		else
			buf_printf(&dv, "%sNULL", sep);
	}
	buf_addc(&ids, '}');
	buf_addc(&iv, '}');
	buf_addc(&dv, '}');
	char t[24];
	snprintf(t, sizeof(t), "%" PRId64, in->t);
	const char *p[] = {buf_str(&ids), t, buf_str(&iv), buf_str(&dv)};
	PGresult *r = pg_q(s,
	                   "INSERT INTO points(series, t, i, v) SELECT unnest($1::bigint[]), $2,"
	                   " unnest($3::bigint[]), unnest($4::float8[])"
	                   " ON CONFLICT (t, series) DO NOTHING",
	                   4, p, "storing points", &e);
	int64_t added = r ? strtoll(PQcmdTuples(r), NULL, 10) : 0;
	PQclear(r);
	if (r && added < (int64_t)in->npts) /* the same system and time again: new values win */
		PQclear(
		    pg_q(s,
		         "UPDATE points p SET i = x.i, v = x.v FROM (SELECT unnest($1::bigint[])"
		         " AS series, unnest($3::bigint[]) AS i, unnest($4::float8[]) AS v) x"
		         " WHERE p.t = $2 AND p.series = x.series",
		         4, p, "storing points", &e));
	buf_free(&ids);
	buf_free(&iv);
	buf_free(&dv);
	if (e < 0)
		return e;
	in->new_points += added;
	/* late points lower the roll-up watermarks; the system's last metric time */
	int64_t m = floor_to(in->t, MS_MIN), h = floor_to(in->t, MS_HOUR);
	char ms[24], hs[24], sys[24];
	snprintf(ms, sizeof(ms), "%" PRId64, m);
	snprintf(hs, sizeof(hs), "%" PRId64, h);
	snprintf(sys, sizeof(sys), "%" PRId64, in->sysrow);
	const char *q[] = {ms, hs};
	/* the first points set them (as the SQLite backend does); later ones
	 * only lower them, and an UPDATE that matches nothing locks nothing */
	PQclear(pg_q(s,
	             s->wm_set
	                 ? "UPDATE meta SET value = CASE key WHEN 'rollup_1m' THEN $1::bigint"
	                   " ELSE $2::bigint END WHERE (key = 'rollup_1m' AND value > $1::bigint)"
	                   " OR (key = 'rollup_1h' AND value > $2::bigint)"
	                 : "INSERT INTO meta(key, value) VALUES('rollup_1m', $1::bigint),"
	                   " ('rollup_1h', $2::bigint) ON CONFLICT (key) DO UPDATE SET"
	                   " value = excluded.value WHERE meta.value > excluded.value",
	             2, q, "lowering the roll-up watermarks", &e));
	if (e == 0)
		s->wm_set = true;
	if (e < 0)
		return e;
	/* as last_seen: the newest, unless the one kept is in the future */
	char fut[24];
	snprintf(fut, sizeof(fut), "%" PRId64, store_future_ms());
	const char *q2[] = {sys, t, fut};
	PQclear(pg_q(s,
	             "UPDATE systems SET last_metric = $2 WHERE id = $1 AND (last_metric IS NULL"
	             " OR last_metric < $2 OR last_metric > $3::bigint)",
	             3, q2, "updating the system", &e));
	return e;
}

/* ---- records and sets ------------------------------------------------------------- */

/* ---- binary parameters -------------------------------------------------------------- */

enum { OID_INT4 = 23, OID_TEXT = 25, OID_UUID = 2950 }; /* pg_type.h */

static void be32(struct buf *b, uint32_t v)
{
	unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
	                      (unsigned char)(v >> 8), (unsigned char)v};
	buf_add(b, c, 4);
}

static int64_t get_be64(const char *p)
{
	const unsigned char *c = (const unsigned char *)p;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | c[i];
	return (int64_t)v;
}

/* A one-dimensional array in PostgreSQL's binary format (array_recv):
 * begun, its elements added, its length set at the end. */
static void arr_begin(struct buf *b, uint32_t elem_oid)
{
	buf_reset(b);
	be32(b, 1); /* dimensions */
	be32(b, 0); /* no NULLs */
	be32(b, elem_oid);
	be32(b, 0); /* the length, set by arr_end */
	be32(b, 1); /* lower bound */
}

static void arr_add(struct buf *b, const void *p, size_t n)
{
	be32(b, (uint32_t)n);
	buf_add(b, p, n);
}

static void arr_end(struct buf *b, size_t n)
{
	struct buf t = BUF_INIT;
	be32(&t, (uint32_t)n);
	memcpy(b->data + 12, t.data, 4);
	buf_free(&t);
}

/* Rows of (id int8, hash uuid) in binary: into the records cache. */
static int take_ids(struct ping *in, PGresult *r, bool fresh)
{
	for (int i = 0; i < PQntuples(r); i++) {
		if (PQgetlength(r, i, 0) != 8 || PQgetlength(r, i, 1) != 16)
			return pg_failf(in->s, -EIO, "storing records: an unexpected answer");
		bool added;
		int64_t *c = u64map_put(&in->s->recs,
		                        key64((const unsigned char *)PQgetvalue(r, i, 1)), &added);
		if (c)
			*c = get_be64(PQgetvalue(r, i, 0));
		if (fresh)
			in->new_records++;
	}
	return 0;
}

/* Point the frame's records at the cached ids; true when all have one. */
static bool ids_from_cache(struct ping *in)
{
	bool all = true;
	for (size_t i = 0; i < in->nr; i++) {
		if (in->r[i].id)
			continue;
		int64_t *c = u64map_get(&in->s->recs, key64(in->r[i].h));
		if (c)
			in->r[i].id = *c;
		else
			all = false;
	}
	return all;
}

/*
 * Ids of the records not found in the cache.  The new ones are inserted
 * in one statement, their values sent as binary arrays (no quoting, no
 * parsing of text arrays), which answers their ids; only those it did not
 * insert (stored before, by another frame or another process) are looked
 * up, by their hash, in a second statement.  When every record is new
 * (the frame of a new system) that is one statement and no lookup.  The
 * insert is sent (resolve_send) and its answer read when the frame
 * settles (resolve_take), the next frame decoded meanwhile.
 */
static const char sql_plain[] = "INSERT INTO records(hash, feature, key, value) SELECT * FROM"
                                " unnest($1::uuid[], $2::int[], $3::text[], $4::text[])"
                                " RETURNING id, hash";
static const char sql_careful[] = "INSERT INTO records(hash, feature, key, value) SELECT * FROM"
                                  " unnest($1::uuid[], $2::int[], $3::text[], $4::text[])"
                                  " ON CONFLICT (hash) DO NOTHING RETURNING id, hash";

static int resolve_send(struct ping *in)
{
	struct pg_store *s = in->s;
	if (ids_from_cache(in))
		return 0;
	struct u64map seen;
	u64map_init(&seen, 0);
	struct buf *a = in->arr; /* kept for a second try */
	arr_begin(&a[0], OID_UUID);
	arr_begin(&a[1], OID_INT4);
	arr_begin(&a[2], OID_TEXT);
	arr_begin(&a[3], OID_TEXT);
	size_t n = 0;
	for (size_t i = 0; i < in->nr; i++) {
		const struct prec *r = &in->r[i];
		bool added;
		if (r->id || !u64map_put(&seen, key64(r->h), &added) || !added)
			continue;
		unsigned char f[4] = {(unsigned char)(r->fid >> 24), (unsigned char)(r->fid >> 16),
		                      (unsigned char)(r->fid >> 8), (unsigned char)r->fid};
		arr_add(&a[0], r->h, 16);
		arr_add(&a[1], f, 4);
		arr_add(&a[2], r->key.p, r->key.n);
		arr_add(&a[3], value_of(in, r), r->vlen);
		n++;
	}
	u64map_free(&seen);
	for (int k = 0; k < 4; k++)
		arr_end(&a[k], n);
	/* records not known here are new, as a rule: inserted without
	 * ON CONFLICT (whose check before each row was a fifth of the
	 * server's time), in the frame's savepoint; a record stored before
	 * makes the insert fail, and then it is made again with ON CONFLICT
	 * (resolve_take), and so are the next frames' for a while */
	in->plain = s->bt && s->bt->sp && s->careful == 0;
	if (s->careful > 0)
		s->careful--;
	int e = in->plain ? pg_qb_send(s, sql_plain, 4, NULL, a, "storing records")
	                  : pg_qb_send(s, sql_careful, 4, NULL, a, "storing records");
	in->sent = e == 0;
	return e;
}

static int resolve_take(struct ping *in)
{
	struct pg_store *s = in->s;
	if (!in->sent)
		return 0;
	in->sent = false;
	int e;
	PGresult *r = pg_qb_result(s, "storing records", &e);
	if (!r && in->plain && strcmp(s->sqlstate, "23505") == 0) {
		/* a record was stored before: again, with ON CONFLICT */
		s->careful = 64;
		e = pg_exec(s, "ROLLBACK TO frame", "a savepoint");
		if (e == 0)
			r = pg_qb(s, sql_careful, 4, NULL, in->arr, "storing records", &e);
	}
	if (r)
		e = take_ids(in, r, true);
	PQclear(r);
	if (e < 0 || ids_from_cache(in))
		return e;
	/* stored before: their ids by hash */
	struct u64map seen;
	u64map_init(&seen, 0);
	struct buf a = BUF_INIT;
	arr_begin(&a, OID_UUID);
	size_t m = 0;
	for (size_t i = 0; i < in->nr; i++) {
		bool added;
		if (in->r[i].id || !u64map_put(&seen, key64(in->r[i].h), &added) || !added)
			continue;
		arr_add(&a, in->r[i].h, 16);
		m++;
	}
	u64map_free(&seen);
	arr_end(&a, m);
	r = pg_qb(s, "SELECT id, hash FROM records WHERE hash = ANY($1::uuid[])", 1, NULL, &a,
	          "storing records", &e);
	buf_free(&a);
	if (r)
		e = take_ids(in, r, false);
	PQclear(r);
	if (e == 0 && !ids_from_cache(in))
		e = pg_failf(s, -EIO, "storing records: an id not found");
	return e;
}

static int resolve_sets(struct ping *in)
{
	struct pg_store *s = in->s;
	struct buf h = BUF_INIT, f = BUF_INIT, ids = BUF_INIT, one = BUF_INIT;
	unsigned char hs[MAX_PARTS][16] = {{0}};
	size_t n = 0;
	const char *idv[MAX_PARTS];
	size_t idl[MAX_PARTS];
	size_t offs[MAX_PARTS] = {0};
	struct buf all = BUF_INIT;
	int e = 0;
	buf_addc(&h, '{');
	buf_addc(&f, '{');
	for (int i = 0; i < in->nparts && e == 0; i++) {
		struct ppart *pt = &in->parts[i];
		buf_reset(&one);
		buf_addc(&one, '{');
		for (size_t k = 0; k < pt->n; k++)
			buf_printf(&one, "%s%" PRId64, k ? "," : "", in->r[pt->recs[k]].id);
		buf_addc(&one, '}');
		char meta[32];
		int mn = snprintf(meta, sizeof(meta), "set/%" PRId64, pt->fid);
		e = hash3(in, meta, (size_t)mn, "", 0, one.data, one.len, hs[i]);
		int64_t *c = u64map_get(&s->sets, key64(hs[i]));
		pt->set = c ? *c : 0;
		if (pt->set)
			continue;
		bool dup = false;
		for (int j = 0; j < i; j++)
			dup = dup || memcmp(hs[j], hs[i], 16) == 0;
		if (dup)
			continue;
		char x[33];
		hex(hs[i], 16, x);
		buf_printf(&h, "%s%s", n ? "," : "", x);
		buf_printf(&f, "%s%" PRId64, n ? "," : "", pt->fid);
		offs[n] = all.len;
		idl[n] = one.len;
		buf_add(&all, one.data, one.len);
		n++;
	}
	buf_addc(&h, '}');
	buf_addc(&f, '}');
	for (size_t k = 0; k < n; k++)
		idv[k] = all.data + offs[k];
	if (e == 0 && n) {
		pg_text_array(&ids, idv, idl, n);
		const char *p[] = {buf_str(&h), buf_str(&f), buf_str(&ids)};
		PGresult *r =
		    pg_q(s,
		         "WITH v AS (SELECT h::uuid AS h, f, ids::bigint[] AS ids"
		         " FROM unnest($1::text[], $2::int[], $3::text[]) AS v(h, f, ids)),"
		         " i AS (INSERT INTO sets(hash, feature, ids) SELECT h, f, ids"
		         " FROM v ON CONFLICT (hash) DO NOTHING RETURNING id, hash)"
		         " SELECT replace(hash::text, '-', ''), id, 1 FROM i UNION ALL"
		         " SELECT replace(x.hash::text, '-', ''), x.id, 0 FROM sets x WHERE"
		         " x.hash IN (SELECT h FROM v)",
		         3, p, "storing record sets", &e);
		for (int i = 0; r && i < PQntuples(r); i++) {
			const char *x = PQgetvalue(r, i, 0);
			for (int j = 0; j < in->nparts; j++) {
				char hx[33];
				hex(hs[j], 16, hx);
				if (strcmp(hx, x) != 0)
					continue;
				in->parts[j].set = strtoll(PQgetvalue(r, i, 1), NULL, 10);
				bool added;
				int64_t *c = u64map_put(&s->sets, key64(hs[j]), &added);
				if (c)
					*c = in->parts[j].set;
			}
			if (PQgetvalue(r, i, 2)[0] == '1')
				in->new_sets++;
		}
		PQclear(r);
	}
	for (int i = 0; i < in->nparts && e == 0; i++)
		if (!in->parts[i].set)
			e = pg_failf(s, -EBUSY,
			             "storing record sets: a set stored meanwhile; retry");
	buf_free(&h);
	buf_free(&f);
	buf_free(&ids);
	buf_free(&one);
	buf_free(&all);
	return e;
}

/* ---- the frame -------------------------------------------------------------------- */

/* The frame is the system's latest: newer than the last seen, or the last seen
 * is in the future ($9: the clock was set back). */
#define NEWER "(excluded.last_seen >= s.last_seen OR s.last_seen > $9::bigint)"

static int upsert_system(struct ping *in, struct js_span sys, const struct frame_head *hd)
{
	struct buf b[7];
	const char *p[9];
	const struct js_span *sp[] = {&sys,         &hd->name,  &hd->kind,
	                              &hd->runtime, &hd->image, &hd->host};
	const bool has[] = {true,          hd->has_name, hd->has_kind, hd->has_runtime,
	                    hd->has_image, hd->has_host};
	for (int i = 0; i < 7; i++)
		b[i] = (struct buf)BUF_INIT;
	for (int i = 0; i < 6; i++) {
		buf_add(&b[i], sp[i]->p, sp[i]->n);
		p[i] = has[i] ? buf_str(&b[i]) : NULL;
	}
	if (hd->labels.p)
		buf_add(&b[6], hd->labels.p, hd->labels.n);
	else
		buf_adds(&b[6], "{}");
	p[6] = buf_str(&b[6]);
	char t[24];
	snprintf(t, sizeof(t), "%" PRId64, in->t);
	p[7] = t;
	char fut[24];
	snprintf(fut, sizeof(fut), "%" PRId64, store_future_ms());
	p[8] = fut;
	int e;
	PGresult *r = pg_q(
	    in->s,
	    "INSERT INTO systems AS s(sid, name, kind, runtime, image, host, labels, first_seen,"
	    " last_seen) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT(sid) DO UPDATE SET"
	    /* a frame newer than the last seen, or any frame when the last seen
	     * is in the future ($9: now + slack; the clock was set back): it is
	     * the system's latest (docs/storage.md) */
	    " name = CASE WHEN " NEWER " THEN excluded.name ELSE s.name END,"
	    " kind = CASE WHEN " NEWER " THEN excluded.kind ELSE s.kind END,"
	    " runtime = CASE WHEN " NEWER " THEN excluded.runtime ELSE s.runtime END,"
	    " image = CASE WHEN " NEWER " THEN excluded.image ELSE s.image END,"
	    " host = CASE WHEN " NEWER " THEN excluded.host ELSE s.host END,"
	    " labels = CASE WHEN " NEWER " THEN excluded.labels ELSE s.labels END,"
	    " gone = CASE WHEN " NEWER " THEN false ELSE s.gone END,"
	    " gone_at = CASE WHEN " NEWER " THEN NULL ELSE s.gone_at END,"
	    " gone_reason = CASE WHEN " NEWER " THEN NULL ELSE s.gone_reason END,"
	    " first_seen = least(s.first_seen, excluded.first_seen),"
	    " last_seen = CASE WHEN s.last_seen > $9::bigint THEN excluded.last_seen"
	    " ELSE greatest(s.last_seen, excluded.last_seen) END RETURNING id",
	    9, p, "storing the system", &e);
	for (int i = 0; i < 7; i++)
		buf_free(&b[i]);
	if (!r)
		return e;
	in->sysrow = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

/* The frame's row, the system's features. */
static int frame_row(struct ping *in, int64_t *frame_id)
{
	struct pg_store *s = in->s;
	int e;
	struct buf feats = BUF_INIT, nums = BUF_INIT, parts = BUF_INIT;
	buf_addc(&feats, '{');
	buf_addc(&parts, '{');
	for (int i = 0; i < in->nparts; i++) {
		buf_printf(&feats, "%s%" PRId64, i ? "," : "", in->parts[i].fid);
		buf_printf(&parts, "%s%" PRId64, i ? "," : "", in->parts[i].set);
	}
	buf_addc(&feats, '}');
	buf_addc(&parts, '}');
	buf_addc(&nums, '{');
	for (size_t i = 0; i < in->ndurs; i++)
		buf_printf(&nums, "%s%" PRId64, i ? "," : "", in->durs[i]);
	buf_addc(&nums, '}');
	char sys[24], t[24], head[24];
	snprintf(sys, sizeof(sys), "%" PRId64, in->sysrow);
	snprintf(t, sizeof(t), "%" PRId64, in->t);
	snprintf(head, sizeof(head), "%" PRId64, in->r[in->head - 1].id);
	const char *p[] = {sys, t, buf_str(&feats), head, buf_str(&nums), buf_str(&parts)};
	PGresult *r = pg_q(s,
	                   "INSERT INTO frames(system, t, feats, head, nums, parts)"
	                   " VALUES($1, $2, $3, $4, $5, $6) RETURNING id",
	                   6, p, "storing the frame", &e);
	if (r) {
		*frame_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		const char *q[] = {sys, buf_str(&feats)};
		PQclear(pg_q(s,
		             "UPDATE systems SET feats = ARRAY(SELECT DISTINCT x FROM"
		             " unnest(feats || $2::int[]) AS x ORDER BY x) WHERE id = $1"
		             " AND NOT feats @> $2::int[]",
		             2, q, "updating the system", &e));
	}
	buf_free(&feats);
	buf_free(&nums);
	buf_free(&parts);
	return e;
}

/* A feature's id: known here, else asked of the server (the frame in
 * flight settled first: one statement at a time on the connection). */
static int64_t feature_of(struct ping *in, const char *name, size_t n)
{
	for (int i = 0; i < in->s->nfeats; i++)
		if (strlen(in->s->feats[i].name) == n && memcmp(in->s->feats[i].name, name, n) == 0)
			return in->s->feats[i].id;
	int e = settle(in->s);
	return e < 0 ? e : pg_feature_id(in->s, name, n, true);
}

/* The decoding step: lines decoded, records hashed, points collected. */
static int decode(struct ping *in, const char *p, const char *end)
{
	struct pg_store *s = in->s;
	struct frame_line l, hl = {0};
	bool have_header = false;
	int r = 0;
	while (p < end && r == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		in->lineno++;
		if (js_ws(p, le) == le) {
			p = nl ? nl + 1 : end;
			continue;
		}
		char err[120];
		r = frame_line_decode(p, le, &l, err, sizeof(err));
		if (r < 0)
			return pg_failf(s, r, "frame line %d: %s", in->lineno, err);
		if (!have_header) {
			bool ok;
			if (!js_eq(l.feature, "frame") || !l.time.p)
				return pg_failf(
				    s, -EINVAL,
				    "frame line %d: the first record must be the frame header"
				    " (feature \"frame\" with a time)",
				    in->lineno);
			in->t = frame_parse_time(l.time.p, l.time.n, &ok);
			if (!ok)
				return pg_failf(s, -EINVAL, "frame header: bad time \"%.*s\"",
				                (int)(l.time.n > 40 ? 40 : l.time.n), l.time.p);
			hl = l;
			buf_reset(&in->scratch);
			buf_reset(&in->tmpl);
			r = frame_head_decode(l.value, in->t, &in->hd, &in->tmpl, &in->scratch, err,
			                      sizeof(err));
			if (r < 0)
				return pg_failf(s, r, "%s", err);
			in->sys = l.system;
			in->ndurs = in->scratch.len / sizeof(int64_t);
			in->durs = xreallocarray(in->durs, in->ndurs + 1, sizeof(int64_t));
			if (in->ndurs) /* no durations: scratch.data may be NULL */
				memcpy(in->durs, in->scratch.data, in->ndurs * sizeof(int64_t));
			if (in->hd.features.p) { /* the header's features first, in its order */
				struct js_iter it;
				struct js_span v, fname;
				js_iter_begin(&it, in->hd.features, 0);
				while (r == 0 && js_arr_next(&it, &v) == 1)
					if (js_str(v, &fname) &&
					    !part_for(in, fname.p, fname.n, &r))
						break;
				in->cur = -1;
			}
			if (r == 0) {
				int64_t fid = feature_of(in, "frame", 5);
				size_t idx = 0;
				r = fid < 0 ? (int)fid
				            : add_record(in, fid, "frame", 5, l.system,
				                         in->tmpl.data, in->tmpl.len, true, &idx);
				in->head = (int64_t)idx + 1;
			}
			have_header = true;
		} else if (js_eq(l.feature, "frame")) {
			return pg_failf(s, -EINVAL, "frame line %d: a second frame header",
			                in->lineno);
		} else if (l.system.n != hl.system.n ||
		           memcmp(l.system.p, hl.system.p, l.system.n) != 0) {
			return pg_failf(s, -EINVAL, "frame line %d: a record of another system",
			                in->lineno);
		} else {
			struct ppart *pt = part_for(in, l.feature.p, l.feature.n, &r);
			if (!pt)
				return r;
			const char *val = l.value.p;
			size_t vlen = l.value.n;
			bool copy = false;
			if (metric_series_feature(l.feature)) {
				buf_reset(&in->tmpl);
				r = metric_series_record(l.key, l.value, &in->tmpl, add_point, in);
				if (r == 1) {
					val = in->tmpl.data;
					vlen = in->tmpl.len;
					copy = true;
				}
				if (r > 0)
					r = 0;
			}
			size_t idx;
			if (r == 0)
				r = add_record(in, pt->fid, pt->name, pt->nlen, l.key, val, vlen,
				               copy, &idx);
			if (r == 0)
				part_add(pt, idx);
		}
		p = nl ? nl + 1 : end;
	}
	if (r == 0 && !have_header)
		r = pg_failf(s, -EINVAL, "no frame header (an empty frame)");
	return r;
}

/* The settling step of a decoded frame whose records were sent. */
static int finish(struct ping *in, int64_t *frame_id)
{
	int e = resolve_take(in);
	if (e == 0)
		e = upsert_system(in, in->sys, &in->hd);
	if (e == 0)
		e = resolve_sets(in);
	if (e == 0)
		e = frame_row(in, frame_id);
	if (e == 0 && in->npts)
		e = store_points(in);
	return e;
}

static struct ping *ping_new(struct pg_store *s)
{
	struct ping *in = xcalloc(1, sizeof(*in));
	in->s = s;
	in->cur = -1;
	in->sha = sha256_new();
	return in;
}

/* For the next frame, the buffers kept. */
static void ping_reset(struct ping *in)
{
	for (int i = 0; i < in->nparts; i++)
		free(in->parts[i].recs);
	in->nparts = 0;
	in->cur = -1;
	in->nr = in->npts = in->ndurs = 0;
	buf_reset(&in->vals);
	buf_reset(&in->tmpl);
	buf_reset(&in->scratch);
	buf_reset(&in->pnames);
	in->head = 0;
	in->lineno = 0;
	in->new_records = in->new_sets = in->new_points = 0;
	in->sysrow = in->t = 0;
	in->sent = false;
}

static void ping_free(struct ping *in)
{
	if (!in)
		return;
	ping_reset(in);
	free(in->r);
	free(in->pts);
	free(in->durs);
	buf_free(&in->vals);
	buf_free(&in->tmpl);
	buf_free(&in->scratch);
	buf_free(&in->pnames);
	for (int k = 0; k < 4; k++)
		buf_free(&in->arr[k]);
	sha256_free(in->sha);
	free(in);
}

static bool transient(int e)
{
	return e == -ENOSPC || e == -EBUSY || e == -ECONNREFUSED || e == -ECONNRESET || e == -EIO;
}

/*
 * The frame in flight settles: stored (its savepoint released), or
 * refused (its .err; its savepoint rolled back).  0, or a failure that
 * loses the batch.
 */
static int settle(struct pg_store *s)
{
	struct pbatch *bt = s->bt;
	if (!bt || !bt->in)
		return 0;
	struct ping *in = bt->in;
	struct store_frame *f = bt->f;
	bt->in = NULL;
	f->err = finish(in, &f->id);
	if (f->err == 0) {
		bt->cnt[0]++;
		bt->cnt[1] += in->new_records;
		bt->cnt[2] += in->new_sets;
		bt->cnt[3] += in->new_points;
		return bt->sp ? pg_exec(s, "RELEASE frame", "a savepoint") : 0;
	}
	f->id = 0;
	if (transient(f->err) || !bt->sp)
		return f->err;
	char why[sizeof(s->err)];
	memcpy(why, s->err, sizeof(why));
	int r = pg_exec(s, "ROLLBACK TO frame; RELEASE frame", "a savepoint");
	pg_caches_clear(s);
	s->nfeats = 0;
	if (r == 0)
		memcpy(s->err, why, sizeof(why));
	return r;
}

static int counts_put(struct pg_store *s, const int64_t cnt[4])
{
	static const char *const names[] = {"frames", "records", "sets", "points_raw"};
	struct buf sql = BUF_INIT;
	buf_adds(&sql, "INSERT INTO counts(name, n) VALUES");
	int n = 0;
	for (int i = 0; i < 4; i++)
		if (cnt[i])
			buf_printf(&sql, "%s('%s', %" PRId64 ")", n++ ? "," : "", names[i], cnt[i]);
	int e = n ? pg_exec(s, buf_str(&sql), "counting") : 0;
	buf_free(&sql);
	return e;
}

/*
 * The group's positions, at the end of the batch's transaction.  Fenced
 * positions (given twice, offsets_fence.c) are checked under a
 * transaction-scoped advisory lock of the group (taken last, so writers
 * of one group only wait for each other's check and commit): the check
 * and the write are then one step for every consumer of the group, and a
 * position that moved since this consumer read it refuses the whole batch
 * (-ESTALE).  Then every position is written in one statement.
 */
static int offsets_put(struct pg_store *s, const char *group, const struct store_offset *o,
                       size_t no)
{
	struct fence_pos *p;
	size_t n, bad;
	if (fence_plan(o, no, &p, &n, &bad) < 0)
		return pg_failf(s, -EINVAL, "consumer offset %zu: no topic", bad);
	int e = 0;
	bool fenced = false;
	for (size_t i = 0; i < n; i++)
		fenced = fenced || p[i].fenced;
	struct buf key = BUF_INIT;
	buf_printf(&key, "%s/%s", s->schema, group);
	if (fenced) {
		const char *q[] = {buf_str(&key)};
		PQclear(pg_q(s, "SELECT pg_advisory_xact_lock(22082, hashtext($1))", 1, q,
		             "locking the consumer group's offsets", &e));
	}
	PGresult *r = NULL;
	if (e == 0 && fenced) {
		const char *q[] = {group};
		r = pg_q(s, "SELECT topic, part, next FROM offsets WHERE grp = $1", 1, q,
		         "reading consumer offsets", &e);
	}
	for (size_t i = 0; r && e == 0 && i < n; i++) {
		if (!p[i].fenced)
			continue;
		bool have = false;
		int64_t v = 0;
		for (int k = 0; k < PQntuples(r) && !have; k++)
			if (strcmp(PQgetvalue(r, k, 0), p[i].topic) == 0 &&
			    strtol(PQgetvalue(r, k, 1), NULL, 10) == p[i].partition) {
				have = true;
				v = strtoll(PQgetvalue(r, k, 2), NULL, 10);
			}
		if (!fence_holds(&p[i], have, v))
			e = pg_failf(
			    s, -ESTALE,
			    "consumer group %s, %s [%d]: the stored offset is %lld, not"
			    " %lld as this consumer read it: another consumer stored since,"
			    " or the store lost its last commits (nothing stored; read"
			    " again from the stored offset)",
			    group, p[i].topic, (int)p[i].partition, (long long)v,
			    (long long)p[i].expect);
	}
	PQclear(r);
	buf_free(&key);
	if (e == 0 && n) {
		struct buf t = BUF_INIT, pa = BUF_INIT, nx = BUF_INIT;
		const char **tv = xreallocarray(NULL, n, sizeof(*tv));
		size_t *tl = xreallocarray(NULL, n, sizeof(*tl));
		buf_addc(&pa, '{');
		buf_addc(&nx, '{');
		for (size_t i = 0; i < n; i++) {
			tv[i] = p[i].topic;
			tl[i] = strlen(p[i].topic);
			buf_printf(&pa, "%s%" PRId32, i ? "," : "", p[i].partition);
			buf_printf(&nx, "%s%" PRId64, i ? "," : "", p[i].next);
		}
		buf_addc(&pa, '}');
		buf_addc(&nx, '}');
		pg_text_array(&t, tv, tl, n);
		const char *q[] = {group, buf_str(&t), buf_str(&pa), buf_str(&nx)};
		PQclear(pg_q(s,
		             "INSERT INTO offsets(grp, topic, part, next) SELECT $1, * FROM"
		             " unnest($2::text[], $3::int[], $4::bigint[]) ON CONFLICT"
		             " (grp, topic, part) DO UPDATE SET next = excluded.next",
		             4, q, "storing consumer offsets", &e));
		free(tv);
		free(tl);
		buf_free(&t);
		buf_free(&pa);
		buf_free(&nx);
	}
	free(p);
	return e;
}

static int put_batch(struct pg_store *s, struct store_frame *f, int n, const char *group,
                     const struct store_offset *o, size_t no)
{
	struct pbatch *bt = xcalloc(1, sizeof(*bt));
	bt->sp = n > 1 || group;
	struct ping *pin[2] = {ping_new(s), ping_new(s)};
	int cur = 0;
	int r = pg_begin(s);
	/* a batch with its consumer's positions: committed without waiting
	 * for the WAL flush (a crash of the server loses the batch AND its
	 * positions, which the fence then reports to the consumer: it reads
	 * them again, docs/scale.md) */
	if (r == 0 && group)
		r = pg_exec(s, "SET LOCAL synchronous_commit TO off", "a transaction");
	s->bt = bt;
	for (int i = 0; i < n && r == 0; i++) {
		struct ping *in = pin[cur];
		ping_reset(in);
		f[i].id = 0;
		f[i].err = in->sha ? decode(in, f[i].jsonl, f[i].jsonl + f[i].len)
		                   : pg_failf(s, -ENOMEM, "out of memory");
		char why[sizeof(s->err)];
		memcpy(why, s->err, sizeof(why));
		r = settle(s); /* the previous frame, while this one was decoded */
		if (r < 0)
			break;
		memcpy(s->err, why, sizeof(why));
		bool saved = false;
		if (f[i].err == 0 && bt->sp) {
			f[i].err = pg_exec(s, "SAVEPOINT frame", "a savepoint");
			saved = f[i].err == 0;
		}
		if (f[i].err == 0)
			f[i].err = resolve_send(in);
		if (f[i].err == 0) {
			bt->in = in;
			bt->f = &f[i];
			cur ^= 1;
			continue;
		}
		if (transient(f[i].err) || !bt->sp) {
			r = f[i].err;
			break;
		}
		if (saved) { /* refused by the server: back to before the frame */
			memcpy(why, s->err, sizeof(why));
			r = pg_exec(s, "ROLLBACK TO frame; RELEASE frame", "a savepoint");
			pg_caches_clear(s);
			s->nfeats = 0;
			if (r == 0)
				memcpy(s->err, why, sizeof(why));
		}
	}
	if (r == 0)
		r = settle(s);
	s->bt = NULL;
	ping_free(pin[0]);
	ping_free(pin[1]);
	if (r == 0)
		r = counts_put(s, bt->cnt);
	free(bt);
	if (r == 0 && group)
		r = offsets_put(s, group, o, no);
	if (r == 0)
		r = pg_commit(s);
	else
		pg_rollback(s);
	if (r < 0) {
		for (int i = 0; i < n; i++)
			f[i].err = r, f[i].id = 0;
		return r;
	}
	return 0;
}

int pg_put_frame(struct store *b, const char *jsonl, size_t len, int64_t *id)
{
	struct store_frame f = {.jsonl = jsonl, .len = len};
	int r = put_batch(pgs(b), &f, 1, NULL, NULL, 0);
	if (r == 0 && f.err == 0 && id)
		*id = f.id;
	return r < 0 ? r : f.err;
}

int pg_put_frames(struct store *b, struct store_frame *f, int n)
{
	return put_batch(pgs(b), f, n, NULL, NULL, 0);
}

int pg_put_frames_at(struct store *b, struct store_frame *f, int n, const char *group,
                     const struct store_offset *o, size_t no)
{
	if (!group || !*group)
		return pg_failf(pgs(b), -EINVAL, "no consumer group given");
	return put_batch(pgs(b), f, n, group, o, no);
}
