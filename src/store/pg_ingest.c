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
#include "pg_internal.h"

#define MAX_PARTS 64

struct prec { /* a record of the frame */
	unsigned char h[16];
	int64_t fid;
	struct js_span key;
	size_t voff, vlen; /* in vals */
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
	int64_t head; /* index of the header record + 1 */
	int lineno;
	int64_t new_records, new_sets, new_points;
	struct sha256 *sha;
};

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

static int add_record(struct ping *in, int64_t fid, const char *fname, size_t fnlen,
                      struct js_span key, const char *val, size_t vlen, size_t *idx)
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
	r->voff = in->vals.len;
	r->vlen = vlen;
	buf_add(&in->vals, val, vlen);
	int64_t *id = u64map_get(&in->s->recs, key64(r->h));
	r->id = id ? *id : 0;
	*idx = in->nr++;
	return 0;
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
	int64_t fid = pg_feature_id(in->s, name, n, true);
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

static int add_point(void *ctx, struct js_span name, struct js_span labels,
                     const struct frame_num *v)
{
	struct ping *in = ctx;
	int64_t sid = series_of(in->s, in->sysrow, name, labels);
	if (sid < 0)
		return (int)sid;
	if (in->npts == in->pcap) {
		in->pcap = in->pcap ? in->pcap * 2 : 256;
		in->pts = xreallocarray(in->pts, in->pcap, sizeof(*in->pts));
	}
	struct ppoint *p = &in->pts[in->npts];
	p->series = sid;
	p->order = in->npts++;
	p->p = (struct point){.t = in->t,
	                      .i = v->isint ? v->i : 0,
	                      .d = v->d,
	                      .type = v->isint ? PT_INT : PT_FLOAT,
	                      .series = sid};
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
	qsort(in->pts, in->npts, sizeof(*in->pts), cmp_ppoint);
	size_t w = 0; /* of one series twice, the last */
	for (size_t i = 0; i < in->npts; i++) {
		if (w && in->pts[w - 1].series == in->pts[i].series)
			w--;
		in->pts[w++] = in->pts[i];
	}
	in->npts = w;
	int e = pg_raw_partition(s, floor_to(in->t, MS_HOUR) / MS_HOUR);
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
	const char *q2[] = {sys, t};
	PQclear(pg_q(s,
	             "UPDATE systems SET last_metric = $2 WHERE id = $1 AND (last_metric IS NULL"
	             " OR last_metric < $2)",
	             2, q2, "updating the system", &e));
	return e;
}

/* ---- records and sets ------------------------------------------------------------- */

/* Ids of the records not found in the cache: one statement for all. */
static int resolve_records(struct ping *in)
{
	struct pg_store *s = in->s;
	struct u64map seen;
	u64map_init(&seen, 0);
	struct buf h = BUF_INIT, f = BUF_INIT, k = BUF_INIT, v = BUF_INIT;
	size_t n = 0;
	const char **ks = NULL, **vs = NULL;
	size_t *kl = NULL, *vl = NULL;
	buf_addc(&h, '{');
	buf_addc(&f, '{');
	for (size_t i = 0; i < in->nr; i++) {
		bool added;
		if (in->r[i].id || !u64map_put(&seen, key64(in->r[i].h), &added) || !added)
			continue;
		char x[33];
		hex(in->r[i].h, 16, x);
		buf_printf(&h, "%s%s", n ? "," : "", x);
		buf_printf(&f, "%s%" PRId64, n ? "," : "", in->r[i].fid);
		ks = xreallocarray(ks, n + 1, sizeof(*ks));
		vs = xreallocarray(vs, n + 1, sizeof(*vs));
		kl = xreallocarray(kl, n + 1, sizeof(*kl));
		vl = xreallocarray(vl, n + 1, sizeof(*vl));
		ks[n] = in->r[i].key.p;
		kl[n] = in->r[i].key.n;
		vs[n] = in->vals.data + in->r[i].voff;
		vl[n] = in->r[i].vlen;
		n++;
	}
	u64map_free(&seen);
	buf_addc(&h, '}');
	buf_addc(&f, '}');
	int e = 0;
	if (n) {
		pg_text_array(&k, ks, kl, n);
		pg_text_array(&v, vs, vl, n);
		const char *p[] = {buf_str(&h), buf_str(&f), buf_str(&k), buf_str(&v)};
		for (int pass = 0; pass < 2 && e == 0; pass++) {
			PGresult *r = pg_q(
			    s,
			    pass == 0
			        ? "WITH v AS (SELECT decode(h, 'hex') AS h, f, k, val FROM"
			          " unnest($1::text[], $2::int[], $3::text[], $4::text[]) AS v(h, "
			          "f, k,"
			          " val)), i AS (INSERT INTO records(hash, feature, key, value)"
			          " SELECT h, f, k, val FROM v ON CONFLICT (hash) DO NOTHING"
			          " RETURNING id, hash) SELECT encode(hash, 'hex'), id, 1 FROM i"
			          " UNION ALL SELECT encode(r.hash, 'hex'), r.id, 0 FROM records r"
			          " WHERE r.hash IN (SELECT h FROM v)"
			        : "SELECT encode(hash, 'hex'), id, 0 FROM records WHERE hash IN"
			          " (SELECT decode(h, 'hex') FROM unnest($1::text[]) AS v(h))"
			          " AND $2::int[] IS NOT NULL AND $3::text[] IS NOT NULL AND"
			          " $4::text[] IS NOT NULL",
			    4, p, "storing records", &e);
			if (!r)
				break;
			for (int i = 0; i < PQntuples(r); i++) {
				unsigned char hb[16];
				const char *x = PQgetvalue(r, i, 0);
				for (int b = 0; b < 16; b++) {
					unsigned hi, lo;
					sscanf(x + 2 * b, "%1x%1x", &hi, &lo);
					hb[b] = (unsigned char)(hi << 4 | lo);
				}
				bool added;
				int64_t *c = u64map_put(&s->recs, key64(hb), &added);
				if (c)
					*c = strtoll(PQgetvalue(r, i, 1), NULL, 10);
				if (PQgetvalue(r, i, 2)[0] == '1')
					in->new_records++;
			}
			PQclear(r);
			bool missing = false;
			for (size_t i = 0; i < in->nr; i++) {
				if (in->r[i].id)
					continue;
				int64_t *c = u64map_get(&s->recs, key64(in->r[i].h));
				if (c)
					in->r[i].id = *c;
				else
					missing = true;
			}
			if (!missing)
				break;
			if (pass == 1)
				e = pg_failf(s, -EIO, "storing records: an id not found");
		}
	}
	free(ks);
	free(vs);
	free(kl);
	free(vl);
	buf_free(&h);
	buf_free(&f);
	buf_free(&k);
	buf_free(&v);
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
		         "WITH v AS (SELECT decode(h, 'hex') AS h, f, ids::bigint[] AS ids"
		         " FROM unnest($1::text[], $2::int[], $3::text[]) AS v(h, f, ids)),"
		         " i AS (INSERT INTO sets(hash, feature, ids) SELECT h, f, ids"
		         " FROM v ON CONFLICT (hash) DO NOTHING RETURNING id, hash)"
		         " SELECT encode(hash, 'hex'), id, 1 FROM i UNION ALL"
		         " SELECT encode(x.hash, 'hex'), x.id, 0 FROM sets x WHERE"
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

static int upsert_system(struct ping *in, struct js_span sys, const struct frame_head *hd)
{
	struct buf b[7];
	const char *p[8];
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
	int e;
	PGresult *r = pg_q(
	    in->s,
	    "INSERT INTO systems AS s(sid, name, kind, runtime, image, host, labels, first_seen,"
	    " last_seen) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT(sid) DO UPDATE SET"
	    " name = CASE WHEN excluded.last_seen >= s.last_seen THEN excluded.name ELSE s.name "
	    "END,"
	    " kind = CASE WHEN excluded.last_seen >= s.last_seen THEN excluded.kind ELSE s.kind "
	    "END,"
	    " runtime = CASE WHEN excluded.last_seen >= s.last_seen THEN excluded.runtime"
	    " ELSE s.runtime END,"
	    " image = CASE WHEN excluded.last_seen >= s.last_seen THEN excluded.image ELSE s.image"
	    " END,"
	    " host = CASE WHEN excluded.last_seen >= s.last_seen THEN excluded.host ELSE s.host "
	    "END,"
	    " labels = CASE WHEN excluded.last_seen >= s.last_seen THEN excluded.labels"
	    " ELSE s.labels END,"
	    " gone = CASE WHEN excluded.last_seen >= s.last_seen THEN false ELSE s.gone END,"
	    " gone_at = CASE WHEN excluded.last_seen >= s.last_seen THEN NULL ELSE s.gone_at END,"
	    " gone_reason = CASE WHEN excluded.last_seen >= s.last_seen THEN NULL"
	    " ELSE s.gone_reason END,"
	    " first_seen = least(s.first_seen, excluded.first_seen),"
	    " last_seen = greatest(s.last_seen, excluded.last_seen) RETURNING id",
	    8, p, "storing the system", &e);
	for (int i = 0; i < 7; i++)
		buf_free(&b[i]);
	if (!r)
		return e;
	in->sysrow = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

static int finish_frame(struct ping *in, int64_t *frame_id)
{
	struct pg_store *s = in->s;
	int e = resolve_records(in);
	if (e == 0)
		e = resolve_sets(in);
	if (e < 0)
		return e;
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

static int ingest_lines(struct ping *in, const char *p, const char *end, int64_t *frame_id)
{
	struct pg_store *s = in->s;
	struct frame_line l, hl = {0};
	struct frame_head h;
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
			r = frame_head_decode(l.value, in->t, &h, &in->tmpl, &in->scratch, err,
			                      sizeof(err));
			if (r < 0)
				return pg_failf(s, r, "%s", err);
			in->ndurs = in->scratch.len / sizeof(int64_t);
			in->durs = xreallocarray(NULL, in->ndurs + 1, sizeof(int64_t));
			memcpy(in->durs, in->scratch.data, in->ndurs * sizeof(int64_t));
			if (h.features.p) { /* the header's features first, in its order */
				struct js_iter it;
				struct js_span v, fname;
				js_iter_begin(&it, h.features, 0);
				while (r == 0 && js_arr_next(&it, &v) == 1)
					if (js_str(v, &fname) &&
					    !part_for(in, fname.p, fname.n, &r))
						break;
				in->cur = -1;
			}
			if (r == 0)
				r = upsert_system(in, l.system, &h);
			if (r == 0) {
				int64_t fid = pg_feature_id(s, "frame", 5, true);
				size_t idx = 0;
				r = fid < 0 ? (int)fid
				            : add_record(in, fid, "frame", 5, l.system,
				                         in->tmpl.data, in->tmpl.len, &idx);
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
			if (metric_series_feature(l.feature)) {
				buf_reset(&in->tmpl);
				r = metric_series_record(l.key, l.value, &in->tmpl, add_point, in);
				if (r == 1) {
					val = in->tmpl.data;
					vlen = in->tmpl.len;
				}
				if (r > 0)
					r = 0;
			}
			size_t idx;
			if (r == 0)
				r = add_record(in, pt->fid, pt->name, pt->nlen, l.key, val, vlen,
				               &idx);
			if (r == 0)
				part_add(pt, idx);
		}
		p = nl ? nl + 1 : end;
	}
	if (r == 0 && !have_header)
		r = pg_failf(s, -EINVAL, "no frame header (an empty frame)");
	if (r == 0)
		r = finish_frame(in, frame_id);
	if (r == 0 && in->npts)
		r = store_points(in);
	return r;
}

/* One frame in the open transaction; counts added to *cnt. */
static int put_one(struct pg_store *s, const char *jsonl, size_t len, int64_t *frame_id,
                   int64_t cnt[4])
{
	struct ping *in = xcalloc(1, sizeof(*in));
	in->s = s;
	in->cur = -1;
	in->sha = sha256_new();
	int r = in->sha ? ingest_lines(in, jsonl, jsonl + len, frame_id)
	                : pg_failf(s, -ENOMEM, "out of memory");
	if (r == 0) {
		cnt[0]++;
		cnt[1] += in->new_records;
		cnt[2] += in->new_sets;
		cnt[3] += in->new_points;
	}
	for (int i = 0; i < in->nparts; i++)
		free(in->parts[i].recs);
	free(in->r);
	free(in->pts);
	free(in->durs);
	buf_free(&in->vals);
	buf_free(&in->tmpl);
	buf_free(&in->scratch);
	sha256_free(in->sha);
	free(in);
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

static int offsets_put(struct pg_store *s, const char *group, const struct store_offset *o,
                       size_t no)
{
	int e = 0;
	for (size_t i = 0; i < no && e == 0; i++) {
		if (!o[i].topic)
			return pg_failf(s, -EINVAL, "consumer offset %zu: no topic", i);
		char part[16], off[24];
		snprintf(part, sizeof(part), "%" PRId32, o[i].partition);
		snprintf(off, sizeof(off), "%" PRId64, o[i].offset);
		const char *p[] = {group, o[i].topic, part, off};
		PQclear(pg_q(s,
		             "INSERT INTO offsets(grp, topic, part, next) VALUES($1, $2, $3, $4)"
		             " ON CONFLICT (grp, topic, part) DO UPDATE SET next = excluded.next",
		             4, p, "storing consumer offsets", &e));
	}
	return e;
}

static bool transient(int e)
{
	return e == -ENOSPC || e == -EBUSY || e == -ECONNREFUSED || e == -ECONNRESET || e == -EIO;
}

static int put_batch(struct pg_store *s, struct store_frame *f, int n, const char *group,
                     const struct store_offset *o, size_t no)
{
	int64_t cnt[4] = {0};
	int r = pg_begin(s);
	for (int i = 0; i < n && r == 0; i++) {
		f[i].id = 0;
		f[i].err = n > 1 || group ? pg_exec(s, "SAVEPOINT frame", "a savepoint") : 0;
		int64_t c[4] = {0};
		if (f[i].err == 0)
			f[i].err = put_one(s, f[i].jsonl, f[i].len, &f[i].id, c);
		if (f[i].err == 0) {
			for (int k = 0; k < 4; k++)
				cnt[k] += c[k];
			if (n > 1 || group)
				r = pg_exec(s, "RELEASE frame", "a savepoint");
			continue;
		}
		if (transient(f[i].err) || !(n > 1 || group)) {
			r = f[i].err;
			break;
		}
		char why[sizeof(s->err)];
		memcpy(why, s->err, sizeof(why));
		r = pg_exec(s, "ROLLBACK TO frame; RELEASE frame", "a savepoint");
		pg_caches_clear(s);
		s->nfeats = 0;
		if (r == 0)
			memcpy(s->err, why, sizeof(why));
	}
	if (r == 0)
		r = counts_put(s, cnt);
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
