/*
 * pg_read.c - the PostgreSQL backend's answers: systems, frames (records
 * rebuilt from their templates as the SQLite backend does, so answers are
 * byte-identical for the same frames), series (the buckets and
 * statistics of series_common.c), metric names, frame times, the state of
 * every system, latest points, counts.  A read session is one REPEATABLE
 * READ, READ ONLY transaction; outside one, an answer that takes several
 * statements opens its own.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../features/metric_series.h"
#include "../frame/decode.h"
#include "../util/jscan.h"
#include "../util/json.h"
#include "../util/timefmt.h"
#include "../util/xalloc.h"
#include "store_json.h"
#include "pg_internal.h"

static void iso(int64_t ms, char *dst, size_t cap)
{
	format_time_utc(ms * 1000000, dst, cap);
}

static const char *col(PGresult *r, int i, int c)
{
	return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

static int64_t i64(PGresult *r, int i, int c)
{
	return strtoll(PQgetvalue(r, i, c), NULL, 10);
}

/* A snapshot for an answer of several statements (none inside a session
 * or a write).  true when it opened one (end it with snap_end). */
static bool snap_begin(struct pg_store *s)
{
	if (s->read_session || PQtransactionStatus(s->c) != PQTRANS_IDLE)
		return false;
	return pg_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "a read") == 0;
}

static void snap_end(struct pg_store *s, bool mine)
{
	if (mine)
		PQclear(PQexec(s->c, "COMMIT"));
}

int pg_read_begin(struct store *b)
{
	struct pg_store *s = pgs(b);
	if (s->read_session || PQtransactionStatus(s->c) != PQTRANS_IDLE)
		return 0;
	int e = pg_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "beginning a read");
	if (e == 0)
		s->read_session = true;
	return e;
}

void pg_read_end(struct store *b)
{
	struct pg_store *s = pgs(b);
	if (!s->read_session)
		return;
	PQclear(PQexec(s->c, "COMMIT"));
	s->read_session = false;
}

static int find_system(struct pg_store *s, const char *id, int64_t *row)
{
	*row = pg_system_row(s, id);
	if (*row < 0)
		return (int)*row;
	return *row ? 0 : pg_failf(s, -ENOENT, "no system '%s' in the store", id);
}

/* ---- systems ---------------------------------------------------------------------- */

int pg_systems_json(struct store *b, const struct store_system_filter *f, struct buf *out)
{
	struct pg_store *s = pgs(b);
	struct store_system_filter none = {.gone = -1};
	if (!f)
		f = &none;
	struct buf k = BUF_INIT, rt = BUF_INIT, tmp = BUF_INIT;
	if (f->kind)
		js_escape_raw(&k, f->kind, strlen(f->kind));
	if (f->runtime)
		js_escape_raw(&rt, f->runtime, strlen(f->runtime));
	char g[8];
	snprintf(g, sizeof(g), "%d", f->gone < 0 ? -1 : f->gone != 0);
	const char *p[] = {f->kind ? buf_str(&k) : NULL, f->runtime ? buf_str(&rt) : NULL, g};
	int e;
	PGresult *r = pg_q(s,
	                   "SELECT sid, name, kind, runtime, image, host, labels, first_seen,"
	                   " last_seen, gone, gone_at, gone_reason FROM systems"
	                   " WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR"
	                   " runtime = $2) AND ($3::int < 0 OR gone = ($3::int = 1))"
	                   " ORDER BY sid COLLATE \"C\"",
	                   3, p, "listing systems", &e);
	buf_free(&k);
	buf_free(&rt);
	if (!r)
		return e;
	struct json j;
	jw_init(&j, out);
	jw_arr_begin(&j, NULL);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *labels = col(r, i, 6) ? col(r, i, 6) : "{}";
		if (f->label && !sj_label_match(labels, f->label))
			continue;
		jw_obj_begin(&j, NULL);
		sj_raw_str(&j, "id", col(r, i, 0), &tmp);
		sj_raw_str(&j, "name", col(r, i, 1), &tmp);
		sj_raw_str(&j, "kind", col(r, i, 2), &tmp);
		sj_raw_str(&j, "runtime", col(r, i, 3), &tmp);
		sj_raw_str(&j, "image", col(r, i, 4), &tmp);
		sj_raw_str(&j, "host", col(r, i, 5), &tmp);
		jw_raw(&j, "labels", labels, strlen(labels));
		sj_iso_member(&j, "first_seen", i64(r, i, 7));
		sj_iso_member(&j, "last_seen", i64(r, i, 8));
		bool gone = PQgetvalue(r, i, 9)[0] == 't';
		jw_bool(&j, "gone", gone);
		if (gone) {
			if (!col(r, i, 10))
				jw_null(&j, "gone_at");
			else
				sj_iso_member(&j, "gone_at", i64(r, i, 10));
			const char *why = col(r, i, 11);
			if (why)
				jw_raw(&j, "gone_reason", why, strlen(why));
			else
				jw_null(&j, "gone_reason");
		}
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	PQclear(r);
	buf_free(&tmp);
	return 0;
}

/* ---- frames ----------------------------------------------------------------------- */

struct render {
	struct pg_store *s;
	int64_t sysrow, t;
	const int64_t *nums;
	size_t nnums, ni;
	struct metric_key mk;
	struct buf labels, name;
	PGresult *pts; /* name, labels, i, v of the system's points at pts_t */
	int64_t pts_t;
};

static void load_points(struct render *c)
{
	if (c->pts && c->pts_t == c->t)
		return;
	PQclear(c->pts);
	c->pts = NULL;
	char sys[24], t[24];
	snprintf(sys, sizeof(sys), "%" PRId64, c->sysrow);
	snprintf(t, sizeof(t), "%" PRId64, c->t);
	const char *p[] = {sys, t};
	int e;
	c->pts = pg_q(c->s,
	              "SELECT s.name, s.labels, p.i, p.v, s.id FROM series s JOIN points p ON"
	              " p.series = s.id AND p.t = $2 WHERE s.system = $1",
	              2, p, "reading points", &e);
	c->pts_t = c->t;
}

static void metric_value(void *ctx, struct js_span field, struct buf *out)
{
	struct render *c = ctx;
	buf_reset(&c->name);
	metric_series_name(&c->mk, field, &c->name);
	load_points(c);
	const char *nm = buf_str(&c->name), *lb = buf_str(&c->labels);
	for (int i = 0; c->pts && i < PQntuples(c->pts); i++) {
		if (strcmp(PQgetvalue(c->pts, i, 0), nm) != 0 ||
		    strcmp(PQgetvalue(c->pts, i, 1), lb) != 0)
			continue;
		struct point p = {.type = PT_NULL};
		if (!PQgetisnull(c->pts, i, 2)) {
			p.type = PT_INT;
			p.i = strtoll(PQgetvalue(c->pts, i, 2), NULL, 10);
		} else if (!PQgetisnull(c->pts, i, 3)) {
			p.type = PT_FLOAT;
			p.d = strtod(PQgetvalue(c->pts, i, 3), NULL);
		}
		format_point(&p, out);
		return;
	}
	/* raw points expired: the minute's or the hour's average */
	char sys[24], m[24], h[24];
	snprintf(sys, sizeof(sys), "%" PRId64, c->sysrow);
	snprintf(m, sizeof(m), "%" PRId64, floor_to(c->t, MS_MIN));
	snprintf(h, sizeof(h), "%" PRId64, floor_to(c->t, MS_HOUR));
	const char *p[] = {sys, nm, lb, m, h};
	int e;
	PGresult *r = pg_q(c->s,
	                   "WITH s AS (SELECT id FROM series WHERE system = $1 AND name = $2 AND"
	                   " labels = $3) SELECT avg, 1 FROM points_1m WHERE series = (SELECT id"
	                   " FROM s) AND t = $4 UNION ALL SELECT avg, 2 FROM points_1h WHERE"
	                   " series = (SELECT id FROM s) AND t = $5 ORDER BY 2 LIMIT 1",
	                   5, p, "reading roll-ups", &e);
	if (r && PQntuples(r)) {
		struct json j;
		jw_init(&j, out);
		jw_double(&j, NULL, strtod(PQgetvalue(r, 0, 0), NULL), 6);
	} else {
		buf_add(out, "null", 4);
	}
	PQclear(r);
}

static void header_value(void *ctx, struct js_span member, struct buf *out)
{
	struct render *c = ctx;
	if (c->ni < c->nnums)
		frame_put_milli(out, c->nums[c->ni++]);
	else
		buf_add(out, "null", 4);
}

/* Parse "{1,2,3}" into a malloc'd array. */
static size_t int_array(const char *a, int64_t **out)
{
	size_t n = 0, cap = 0;
	*out = NULL;
	for (const char *p = a + (*a == '{'); *p && *p != '}';) {
		char *e;
		long long v = strtoll(p, &e, 10);
		if (e == p)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xreallocarray(*out, cap, sizeof(**out));
		}
		(*out)[n++] = v;
		p = *e == ',' ? e + 1 : e;
	}
	return n;
}

struct frow {
	int64_t id, t, head;
	int64_t *feats, *parts, *nums;
	size_t nfeats, nparts, nnums;
};

static void frow_free(struct frow *f)
{
	free(f->feats);
	free(f->parts);
	free(f->nums);
	memset(f, 0, sizeof(*f));
}

static int find_frame_at(struct pg_store *s, int64_t sysrow, int64_t at, int64_t fid,
                         struct frow *f);

/* The last frame of sysrow at or before at with feature fid (0: any).  The
 * latest (at <= 0) is the last one not in the future (store_future_ms:
 * after the clock was set back, the frames taken before are ahead of now;
 * the newest taken since is the latest), else the last one. */
static int find_frame(struct pg_store *s, int64_t sysrow, int64_t at, int64_t fid, struct frow *f)
{
	if (at > 0)
		return find_frame_at(s, sysrow, at, fid, f);
	int r = find_frame_at(s, sysrow, store_future_ms(), fid, f);
	return r == 0 ? find_frame_at(s, sysrow, 0, fid, f) : r;
}

static int find_frame_at(struct pg_store *s, int64_t sysrow, int64_t at, int64_t fid,
                         struct frow *f)
{
	char sys[24], a[24], fs[24];
	snprintf(sys, sizeof(sys), "%" PRId64, sysrow);
	snprintf(a, sizeof(a), "%" PRId64, at > 0 ? at : INT64_MAX);
	snprintf(fs, sizeof(fs), "%" PRId64, fid);
	const char *p[] = {sys, a, fs};
	int e;
	PGresult *r = pg_q(s,
	                   "SELECT id, t, head, feats, parts, nums FROM frames WHERE system = $1"
	                   " AND t <= $2 AND ($3::int = 0 OR $3::int = ANY(feats))"
	                   " ORDER BY t DESC, id DESC LIMIT 1",
	                   3, p, "finding a frame", &e);
	if (!r)
		return e;
	int found = PQntuples(r) > 0;
	if (found) {
		frow_free(f);
		f->id = i64(r, 0, 0);
		f->t = i64(r, 0, 1);
		f->head = i64(r, 0, 2);
		f->nfeats = int_array(PQgetvalue(r, 0, 3), &f->feats);
		f->nparts = int_array(PQgetvalue(r, 0, 4), &f->parts);
		f->nnums = int_array(PQgetvalue(r, 0, 5), &f->nums);
	}
	PQclear(r);
	return found;
}

static int emit_header(struct pg_store *s, struct render *c, const struct frow *f, struct buf *out)
{
	char id[24];
	snprintf(id, sizeof(id), "%" PRId64, f->head);
	const char *p[] = {id};
	int e;
	PGresult *r =
	    pg_q(s, "SELECT value FROM records WHERE id = $1", 1, p, "reading a frame header", &e);
	if (!r)
		return e;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return pg_failf(s, -EINVAL, "frame %" PRId64 ": its header is missing", f->id);
	}
	c->t = f->t;
	c->nums = f->nums;
	c->nnums = f->nnums;
	c->ni = 0;
	sj_record_value("frame", "", PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0), c->t,
	                &c->mk, &c->labels, metric_value, header_value, c, out);
	PQclear(r);
	return 0;
}

/* The records of frame f's parts (only feature fid when > 0), in order. */
static int emit_parts(struct pg_store *s, struct render *c, const struct frow *f, int64_t fid,
                      bool *first, struct buf *out, struct u64map *seen)
{
	struct buf ids = BUF_INIT;
	buf_addc(&ids, '{');
	size_t n = 0;
	for (size_t i = 0; i < f->nparts && i < f->nfeats; i++) {
		if (fid > 0 && f->feats[i] != fid)
			continue;
		buf_printf(&ids, "%s%" PRId64, n++ ? "," : "", f->parts[i]);
		bool added;
		if (seen)
			u64map_put(seen, (uint64_t)f->feats[i], &added);
	}
	buf_addc(&ids, '}');
	if (!n) {
		buf_free(&ids);
		return 0;
	}
	const char *p[] = {buf_str(&ids)};
	int e;
	PGresult *r = pg_q(s,
	                   "SELECT x.feature, r.key, r.value FROM unnest($1::bigint[]) WITH"
	                   " ORDINALITY AS sp(set, o) JOIN sets x ON x.id = sp.set,"
	                   " unnest(x.ids) WITH ORDINALITY AS ri(rid, k) JOIN records r ON"
	                   " r.id = ri.rid ORDER BY sp.o, ri.k",
	                   1, p, "reading records", &e);
	buf_free(&ids);
	if (!r)
		return e;
	c->t = f->t;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *fn = pg_feature_name(s, i64(r, i, 0));
		if (!*first)
			buf_addc(out, ',');
		*first = false;
		buf_printf(out, "{\"feature\":\"%s\",\"key\":\"", fn);
		buf_add(out, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
		buf_add(out, "\",\"value\":", 10);
		sj_record_value(fn, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
		                (size_t)PQgetlength(r, i, 2), c->t, &c->mk, &c->labels,
		                metric_value, header_value, c, out);
		buf_addc(out, '}');
	}
	PQclear(r);
	return 0;
}

static int frame_json(struct pg_store *s, const char *system_id, int64_t at_ms, const char *feature,
                      struct buf *out)
{
	int64_t sysrow;
	int e = find_system(s, system_id, &sysrow);
	if (e)
		return e;
	int64_t fid = 0;
	if (feature) {
		fid = pg_feature_id(s, feature, strlen(feature), false);
		if (fid < 0)
			return (int)fid;
		if (fid == 0)
			return pg_failf(s, -ENOENT, "no frame of '%s' with feature '%s'", system_id,
			                feature);
	}
	struct frow f = {0}, g = {0};
	int r = find_frame(s, sysrow, at_ms, fid, &f);
	if (r <= 0) {
		frow_free(&f);
		if (r == 0)
			return pg_failf(s, -ENOENT, "no frame of '%s'%s%s%s", system_id,
			                feature ? " with feature '" : "", feature ? feature : "",
			                feature ? "'" : "");
		return r;
	}
	struct render c = {.s = s, .sysrow = sysrow};
	size_t start = out->len;
	buf_add(out, "{\"frame\":", 9);
	r = emit_header(s, &c, &f, out);
	buf_add(out, ",\"records\":[", 12);
	bool first = true;
	if (r == 0 && feature) {
		r = emit_parts(s, &c, &f, fid, &first, out, NULL);
		buf_addc(out, ']');
	} else if (r == 0) {
		/* the system's features in id order (as the SQLite backend's bits) */
		char sys[24];
		snprintf(sys, sizeof(sys), "%" PRId64, sysrow);
		const char *p[] = {sys};
		int64_t *want = NULL;
		size_t nwant = 0;
		PGresult *q = pg_q(s, "SELECT feats FROM systems WHERE id = $1", 1, p,
		                   "reading a system", &r);
		if (q && PQntuples(q))
			nwant = int_array(PQgetvalue(q, 0, 0), &want);
		PQclear(q);
		struct u64map have;
		u64map_init(&have, 0);
		struct buf times = BUF_INIT;
		if (r == 0)
			r = emit_parts(s, &c, &f, 0, &first, out, &have);
		char t[40];
		iso(f.t, t, sizeof(t));
		for (size_t i = 0; i < nwant; i++)
			if (u64map_has(&have, (uint64_t)want[i]))
				buf_printf(&times, "%s\"%s\":\"%s\"", times.len ? "," : "",
				           pg_feature_name(s, want[i]), t);
		for (size_t i = 0; r == 0 && i < nwant; i++) {
			if (u64map_has(&have, (uint64_t)want[i]))
				continue;
			r = find_frame(s, sysrow, at_ms, want[i], &g);
			if (r <= 0)
				break;
			r = emit_parts(s, &c, &g, want[i], &first, out, &have);
			if (r == 0) {
				iso(g.t, t, sizeof(t));
				buf_printf(&times, "%s\"%s\":\"%s\"", times.len ? "," : "",
				           pg_feature_name(s, want[i]), t);
			}
		}
		if (r > 0)
			r = 0;
		free(want);
		u64map_free(&have);
		buf_addc(out, ']');
		buf_add(out, ",\"feature_times\":{", 18);
		buf_add(out, times.data ? times.data : "", times.len);
		buf_addc(out, '}');
		buf_free(&times);
	}
	buf_addc(out, '}');
	frow_free(&f);
	frow_free(&g);
	PQclear(c.pts);
	buf_free(&c.labels);
	buf_free(&c.name);
	if (r < 0)
		out->len = start, out->data[start] = 0;
	return r;
}

int pg_frame_json(struct store *b, const char *system_id, int64_t at_ms, const char *feature,
                  struct buf *out)
{
	struct pg_store *s = pgs(b);
	bool mine = snap_begin(s);
	int r = frame_json(s, system_id, at_ms, feature, out);
	snap_end(s, mine);
	return r;
}

/* ---- series ----------------------------------------------------------------------- */

void pg_levels(struct pg_store *s, struct levels *lv)
{
	lv->raw_cut = pg_meta_get(s, "raw_cut", 0);
	lv->m1_cut = pg_meta_get(s, "m1_cut", 0);
	lv->wm1m = pg_meta_get(s, "rollup_1m", -1);
	lv->wm1h = pg_meta_get(s, "rollup_1h", -1);
	lv->compacted = 0;
}

static int rollup_rows(void *ctx, int level, int64_t series, int64_t from, int64_t to,
                       int (*each)(void *ectx, const struct agg *a, double avg), void *ectx)
{
	struct pg_store *s = ctx;
	char sr[24], f[24], t[24];
	snprintf(sr, sizeof(sr), "%" PRId64, series);
	snprintf(f, sizeof(f), "%" PRId64, from);
	snprintf(t, sizeof(t), "%" PRId64, to);
	const char *p[] = {sr, f, t};
	int e;
	PGresult *r = pg_q(s,
	                   level == 1 ? "SELECT t, min, max, sum, count, p50, p90, p99, avg FROM"
	                                " points_1m WHERE series = $1 AND t >= $2 AND t < $3"
	                                " ORDER BY t"
	                              : "SELECT t, min, max, sum, count, p50, p90, p99, avg FROM"
	                                " points_1h WHERE series = $1 AND t >= $2 AND t < $3"
	                                " ORDER BY t",
	                   3, p, "reading roll-ups", &e);
	if (!r)
		return e;
	for (int i = 0; e == 0 && i < PQntuples(r); i++) {
		struct agg a = {.t = i64(r, i, 0),
		                .min = strtod(PQgetvalue(r, i, 1), NULL),
		                .max = strtod(PQgetvalue(r, i, 2), NULL),
		                .sum = strtod(PQgetvalue(r, i, 3), NULL),
		                .count = i64(r, i, 4)};
		for (int k = 0; k < 3; k++)
			a.p[k] = strtod(PQgetvalue(r, i, 5 + k), NULL);
		e = each(ectx, &a, strtod(PQgetvalue(r, i, 8), NULL));
	}
	PQclear(r);
	return e;
}

struct rollup_src pg_rollups(struct pg_store *s)
{
	return (struct rollup_src){.rows = rollup_rows, .ctx = s};
}

static int cmp_sread_id(const void *a, const void *b)
{
	const struct sread *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

int pg_raw_gather(struct pg_store *s, struct sread *r, size_t n, int64_t from, int64_t to)
{
	for (size_t k = 0; k < n; k++)
		r[k].pts.n = 0;
	if (from >= to || n == 0)
		return 0;
	struct buf ids = BUF_INIT;
	buf_addc(&ids, '{');
	for (size_t k = 0; k < n; k++)
		buf_printf(&ids, "%s%" PRId64, k ? "," : "", r[k].id);
	buf_addc(&ids, '}');
	char f[24], t[24];
	snprintf(f, sizeof(f), "%" PRId64, from);
	snprintf(t, sizeof(t), "%" PRId64, to);
	const char *p[] = {buf_str(&ids), f, t};
	int e;
	PGresult *q = pg_q(s,
	                   "SELECT series, t, i, v FROM points WHERE series = ANY($1::bigint[])"
	                   " AND t >= $2 AND t < $3 ORDER BY series, t",
	                   3, p, "reading points", &e);
	buf_free(&ids);
	if (!q)
		return e;
	struct sread key;
	for (int i = 0; e == 0 && i < PQntuples(q); i++) {
		key.id = i64(q, i, 0);
		struct sread *x = NULL;
		for (size_t k = 0; k < n && !x; k++) /* few series, or sorted below */
			if (r[k].id == key.id)
				x = &r[k];
		if (!x)
			continue;
		struct point pt = {.t = i64(q, i, 1), .series = key.id, .type = PT_NULL};
		if (!PQgetisnull(q, i, 2)) {
			pt.type = PT_INT;
			pt.i = i64(q, i, 2);
			pt.d = (double)pt.i;
		} else if (!PQgetisnull(q, i, 3)) {
			pt.type = PT_FLOAT;
			pt.d = strtod(PQgetvalue(q, i, 3), NULL);
		}
		e = pvec_add(&x->pts, &pt);
	}
	PQclear(q);
	(void)cmp_sread_id;
	return e;
}

int pg_series_json(struct store *b, const char *system_id, const char *metric, int64_t from_ms,
                   int64_t to_ms, int64_t step_ms, const char *stat, struct buf *out)
{
	struct pg_store *s = pgs(b);
	struct stat_spec sp;
	if (stat_parse(stat, false, &sp) < 0)
		return pg_failf(s, -EINVAL,
		                "unknown statistic '%s' (avg, min, max, sum, count, p50, p90, p99)",
		                stat ? stat : "");
	if (step_ms <= 0 || from_ms > to_ms)
		return pg_failf(s, -EINVAL, "bad range or step");
	struct label_sel sel;
	if (!metric || label_sel_parse(metric, &sel) < 0) {
		if (metric)
			label_sel_free(&sel);
		return pg_failf(s, -EINVAL, "bad metric '%s' (NAME or NAME{label=value,...})",
		                metric ? metric : "");
	}
	bool mine = snap_begin(s);
	int64_t sysrow;
	int e = find_system(s, system_id, &sysrow);
	struct sread *r = NULL;
	char **labels = NULL;
	size_t nser = 0;
	if (e == 0) {
		char sys[24];
		snprintf(sys, sizeof(sys), "%" PRId64, sysrow);
		const char *p[] = {sys, sel.name};
		PGresult *q = pg_q(s,
		                   "SELECT id, labels FROM series WHERE system = $1 AND name = $2"
		                   " ORDER BY labels COLLATE \"C\"",
		                   2, p, "finding series", &e);
		for (int i = 0; q && i < PQntuples(q); i++) {
			const char *l = PQgetvalue(q, i, 1);
			if (!label_sel_match(&sel, l))
				continue;
			r = xreallocarray(r, nser + 1, sizeof(*r));
			labels = xreallocarray(labels, nser + 1, sizeof(*labels));
			memset(&r[nser], 0, sizeof(*r));
			r[nser].id = i64(q, i, 0);
			r[nser].sys = sysrow;
			labels[nser++] = xstrdup(l);
		}
		PQclear(q);
	}
	label_sel_free(&sel);
	if (e == 0 && nser == 0)
		e = pg_failf(s, -ENOENT, "no metric '%s' for system '%s'", metric, system_id);
	struct levels lv;
	int64_t step = step_ms;
	int level = 0;
	if (e == 0) {
		pg_levels(s, &lv);
		level = level_pick(&lv, from_ms, step_ms, &step);
		e = pg_raw_gather(s, r, nser, raw_start(&lv, level, from_ms, to_ms), to_ms + 1);
	}
	struct tv x = {0};
	struct rollup_src src = pg_rollups(s);
	if (e == 0) {
		struct json j;
		jw_init(&j, out);
		jw_obj_begin(&j, NULL);
		jw_str(&j, "system", system_id);
		jw_str(&j, "metric", metric);
		jw_str(&j, "stat", stat);
		jw_double(&j, "step_s", (double)step / 1000.0, 3);
		jw_str(&j, "source", level == 0 ? "raw" : level == 1 ? "1m" : "1h");
		if (nser > 1)
			jw_arr_begin(&j, "series");
		for (size_t i = 0; e == 0 && i < nser; i++) {
			x.n = 0;
			e = series_reduce(&src, &r[i], from_ms, to_ms, step, level, &lv, &sp, &x);
			if (nser > 1)
				jw_obj_begin(&j, NULL);
			jw_raw(&j, "labels", labels[i], strlen(labels[i]));
			series_points_json(&x, sp.kind == STAT_COUNT, &j);
			if (nser > 1)
				jw_obj_end(&j);
		}
		if (nser > 1)
			jw_arr_end(&j);
		jw_obj_end(&j);
	}
	snap_end(s, mine);
	tv_free(&x);
	for (size_t i = 0; i < nser; i++) {
		free(labels[i]);
		pvec_free(&r[i].pts);
	}
	free(labels);
	free(r);
	return e;
}

int pg_metric_names_json(struct store *b, const char *system_id, struct buf *out)
{
	struct pg_store *s = pgs(b);
	int64_t sysrow;
	int e = find_system(s, system_id, &sysrow);
	if (e)
		return e;
	char sys[24];
	snprintf(sys, sizeof(sys), "%" PRId64, sysrow);
	const char *p[] = {sys};
	PGresult *r = pg_q(s,
	                   "SELECT DISTINCT name COLLATE \"C\" FROM series WHERE system = $1"
	                   " ORDER BY 1",
	                   1, p, "listing metrics", &e);
	if (!r)
		return e;
	struct json j;
	jw_init(&j, out);
	jw_arr_begin(&j, NULL);
	for (int i = 0; i < PQntuples(r); i++)
		jw_str(&j, NULL, PQgetvalue(r, i, 0));
	jw_arr_end(&j);
	PQclear(r);
	return 0;
}

int pg_frame_times(struct store *b, const char *system_id, int64_t from_ms, int64_t to_ms,
                   const char *except, size_t max, int64_t **times, size_t *n)
{
	struct pg_store *s = pgs(b);
	int64_t sysrow;
	int e = find_system(s, system_id, &sysrow);
	if (e)
		return e;
	int64_t skip = -1;
	if (except) {
		int64_t fid = pg_feature_id(s, except, strlen(except), false);
		if (fid < 0)
			return (int)fid;
		if (fid > 0)
			skip = fid;
	}
	char sys[24], f[24], t[24], sk[24], mx[24];
	snprintf(sys, sizeof(sys), "%" PRId64, sysrow);
	snprintf(f, sizeof(f), "%" PRId64, from_ms);
	snprintf(t, sizeof(t), "%" PRId64, to_ms);
	snprintf(sk, sizeof(sk), "%" PRId64, skip);
	snprintf(mx, sizeof(mx), "%" PRId64, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	const char *p[] = {sys, f, t, sk, mx};
	PGresult *r = pg_q(s,
	                   "SELECT t FROM (SELECT t FROM frames WHERE system = $1 AND t >= $2"
	                   " AND t <= $3 AND feats <> ARRAY[$4::int] ORDER BY t DESC LIMIT $5) x"
	                   " ORDER BY t",
	                   5, p, "listing frames", &e);
	if (!r)
		return e;
	if (PQntuples(r)) {
		*times = xreallocarray(NULL, (size_t)PQntuples(r), sizeof(**times));
		for (int i = 0; i < PQntuples(r); i++)
			(*times)[(*n)++] = i64(r, i, 0);
	}
	PQclear(r);
	return 0;
}

/* ---- latest points, counts ----------------------------------------------------- */

int pg_latest_points(struct store *b, int (*cb)(void *ctx, const struct store_latest *p), void *ctx)
{
	struct pg_store *s = pgs(b);
	int e;
	PGresult *r = pg_q(s,
	                   "SELECT sy.sid, sy.name, sy.kind, sy.runtime, sy.image, sy.last_metric,"
	                   " se.name, se.labels, p.i, p.v FROM systems sy JOIN series se ON"
	                   " se.system = sy.id JOIN points p ON p.series = se.id AND"
	                   " p.t = sy.last_metric WHERE NOT sy.gone AND sy.last_metric IS NOT NULL"
	                   " AND (p.i IS NOT NULL OR p.v IS NOT NULL)"
	                   " ORDER BY sy.sid COLLATE \"C\", se.id",
	                   0, NULL, "reading latest points", &e);
	if (!r)
		return e;
	struct buf bb[5] = {BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT};
	for (int i = 0; e == 0 && i < PQntuples(r); i++) {
		const char *f[5];
		for (int k = 0; k < 5; k++) {
			const char *raw = col(r, i, k);
			buf_reset(&bb[k]);
			if (raw)
				js_unescape(&bb[k], raw, strlen(raw));
			f[k] = raw ? buf_str(&bb[k]) : NULL;
		}
		double v =
		    PQgetisnull(r, i, 8) ? strtod(PQgetvalue(r, i, 9), NULL) : (double)i64(r, i, 8);
		struct store_latest p = {.system_id = f[0],
		                         .system_name = f[1],
		                         .name = f[1],
		                         .kind = f[2],
		                         .runtime = f[3],
		                         .image = f[4],
		                         .metric = PQgetvalue(r, i, 6),
		                         .labels_json = PQgetvalue(r, i, 7),
		                         .value = v,
		                         .time_ms = i64(r, i, 5)};
		e = cb(ctx, &p);
	}
	for (int k = 0; k < 5; k++)
		buf_free(&bb[k]);
	PQclear(r);
	return e;
}

int pg_stats_json(struct store *b, struct buf *out)
{
	struct pg_store *s = pgs(b);
	int e;
	PGresult *r =
	    pg_q(s,
	         "SELECT (SELECT coalesce(sum(n), 0) FROM counts WHERE name = 'frames'),"
	         " (SELECT coalesce(sum(n), 0) FROM counts WHERE name = 'records'),"
	         " (SELECT coalesce(sum(n), 0) FROM counts WHERE name = 'sets'),"
	         " (SELECT coalesce(sum(n), 0) FROM counts WHERE name = 'points_raw'),"
	         " (SELECT coalesce(sum(n), 0) FROM counts WHERE name = 'points_1m'),"
	         " (SELECT coalesce(sum(n), 0) FROM counts WHERE name = 'points_1h'),"
	         " (SELECT count(*) FROM systems), (SELECT count(*) FROM series),"
	         " (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
	         " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE"
	         " n.nspname = current_schema() AND c.relkind = 'r'),"
	         " (SELECT value FROM meta WHERE key = 'schema_version')",
	         0, NULL, "reading counts", &e);
	if (!r)
		return e;
	struct json j;
	jw_init(&j, out);
	jw_obj_begin(&j, NULL);
	static const char *const names[] = {"frames",    "records", "sets",   "points", "points_1m",
	                                    "points_1h", "systems", "series", "bytes"};
	for (int k = 0; k < 9; k++)
		jw_int(&j, names[k], i64(r, 0, k));
	jw_int(&j, "free_bytes", 0);
	jw_int(&j, "wal_bytes", 0);
	jw_int(&j, "schema_version", i64(r, 0, 9));
	jw_str(&j, "backend", "postgres");
	jw_obj_end(&j);
	PQclear(r);
	return 0;
}
