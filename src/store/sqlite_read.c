/*
 * sqlite_read.c - the SQLite backend's answers: systems, frames, series, metric names,
 * latest points.  Every answer is JSON appended to a struct buf.
 *
 * Stored text is kept JSON-escaped (exactly as the crawler wrote it), so
 * strings are copied into the answer between quotes without decoding, and
 * filters given as C strings are escaped the same way before comparing.
 *
 * Records stored as templates (frame headers, metric records;
 * sqlite_ingest.c) are rebuilt here with frame_tmpl_render(): '#T' becomes the frame time, '#' in a
 * header the next duration of the frame's `nums`, '#' in a metric record the point of the matching
 * series at the frame's time (raw; once raw points have expired, the minute's or the hour's
 * average; null when nothing is kept).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../features/metric_series.h"
#include "../frame/decode.h"
#include "../util/json.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "sqlite_internal.h"
#include "store_json.h"

static void iso(int64_t ms, char *dst, size_t cap)
{
	format_time_utc(ms * 1000000, dst, cap);
}

/* ---- systems ---------------------------------------------------------------------- */

static void bind_escaped(sqlite3_stmt *st, int i, const char *s, struct buf *b)
{
	if (!s) {
		sqlite3_bind_null(st, i);
		return;
	}
	buf_reset(b);
	js_escape_raw(b, s, strlen(s));
	sqlite3_bind_text(st, i, b->data, (int)b->len, SQLITE_TRANSIENT);
}

int sqlite_systems_json(struct store *base, const struct store_system_filter *f, struct buf *out)
{
	struct sqlite_store *s = sq(base);
	int fr = sq_follow(s);
	if (fr < 0)
		return fr;
	struct store_system_filter none = {.gone = -1};
	if (!f)
		f = &none;
	sqlite3_stmt *st;
	int rc =
	    sqlite3_prepare_v2(s->db,
	                       "SELECT sid, name, kind, runtime, image, host, labels, first_seen,"
	                       " last_seen, gone, gone_at, gone_reason FROM systems"
	                       " WHERE (?1 IS NULL OR kind = ?1)"
	                       " AND (?2 IS NULL OR runtime = ?2) AND (?3 < 0 OR gone = ?3)"
	                       " ORDER BY sid",
	                       -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "listing systems");
	struct buf tmp = BUF_INIT;
	bind_escaped(st, 1, f->kind, &tmp);
	bind_escaped(st, 2, f->runtime, &tmp);
	sqlite3_bind_int(st, 3, f->gone < 0 ? -1 : f->gone != 0);
	struct json j;
	jw_init(&j, out);
	jw_arr_begin(&j, NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *labels = (const char *)sqlite3_column_text(st, 6);
		if (!labels)
			labels = "{}";
		if (f->label && !sj_label_match(labels, f->label))
			continue;
		jw_obj_begin(&j, NULL);
		sj_raw_str(&j, "id", (const char *)sqlite3_column_text(st, 0), &tmp);
		sj_raw_str(&j, "name", (const char *)sqlite3_column_text(st, 1), &tmp);
		sj_raw_str(&j, "kind", (const char *)sqlite3_column_text(st, 2), &tmp);
		sj_raw_str(&j, "runtime", (const char *)sqlite3_column_text(st, 3), &tmp);
		sj_raw_str(&j, "image", (const char *)sqlite3_column_text(st, 4), &tmp);
		sj_raw_str(&j, "host", (const char *)sqlite3_column_text(st, 5), &tmp);
		jw_raw(&j, "labels", labels, strlen(labels));
		sj_iso_member(&j, "first_seen", sqlite3_column_int64(st, 7));
		sj_iso_member(&j, "last_seen", sqlite3_column_int64(st, 8));
		bool gone = sqlite3_column_int(st, 9) != 0;
		jw_bool(&j, "gone", gone);
		if (gone) { /* when and why (if the engine knew) */
			if (sqlite3_column_type(st, 10) == SQLITE_NULL)
				jw_null(&j, "gone_at");
			else
				sj_iso_member(&j, "gone_at", sqlite3_column_int64(st, 10));
			const char *why = (const char *)sqlite3_column_text(st, 11);
			if (why)
				jw_raw(&j, "gone_reason", why, strlen(why));
			else
				jw_null(&j, "gone_reason");
		}
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	sqlite3_finalize(st);
	buf_free(&tmp);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "listing systems");
}

/* ---- rebuilding templates -------------------------------------------------------- */

struct render {
	struct sqlite_store *s;
	int64_t sysrow, t;
	const unsigned char *np, *nend; /* header durations */
	struct metric_key mk;
	struct buf labels, name;
};

/* A '#' of a metric record: the point of the member's series. */
static void metric_value(void *ctx, struct js_span field, struct buf *out)
{
	struct render *c = ctx;
	struct sqlite_store *s = c->s;
	buf_reset(&c->name);
	metric_series_name(&c->mk, field, &c->name);
	int64_t sid = series_id(s, c->sysrow, c->name.data, c->name.len, c->labels.data,
	                        c->labels.len, false);
	if (sid > 0) {
		struct point p;
		int r = point_at(s, sid, c->t, &p);
		if (r > 0) {
			format_point(&p, out);
			return;
		}
	}
	/* raw points expired: the minute's or the hour's average */
	static const enum stmt_id order[] = {ST_P1M_GET, ST_P1H_GET};
	static const int64_t res[] = {MS_MIN, MS_HOUR};
	for (int i = 0; sid > 0 && i < 2; i++) {
		sqlite3_stmt *st = stmt(s, order[i]);
		if (!st)
			break;
		sqlite3_bind_int64(st, 1, sid);
		sqlite3_bind_int64(st, 2, floor_to(c->t, res[i]));
		bool hit = sqlite3_step(st) == SQLITE_ROW;
		if (hit) {
			struct json j;
			jw_init(&j, out);
			jw_double(&j, NULL, sqlite3_column_double(st, 0), 6);
		}
		sqlite3_reset(st);
		if (hit)
			return;
	}
	buf_add(out, "null", 4);
}

/* A '#' of a header: the frame's next duration. */
static void header_value(void *ctx, struct js_span member, struct buf *out)
{
	struct render *c = ctx;
	uint64_t m;
	if (c->np && vget(&c->np, c->nend, &m))
		frame_put_milli(out, unzz(m));
	else
		buf_add(out, "null", 4);
}

/* ---- frames ----------------------------------------------------------------------- */

struct frame_row {
	int64_t id, t, head;
	struct buf nums, parts;
};

static void frame_row_free(struct frame_row *f)
{
	buf_free(&f->nums);
	buf_free(&f->parts);
}

static int find_frame_at(struct sqlite_store *s, int64_t sysrow, int64_t at, int bit,
                         struct frame_row *f);

/* The last frame of `sysrow` at or before `at` having feature bit `bit`
 * (bit < 0: any).  The latest (at <= 0) is the last one not in the future
 * (store_future_ms: after the clock was set back, the frames taken before
 * are ahead of now; the newest taken since is the latest), else the last
 * one.  1 found, 0 none, negative errno. */
static int find_frame(struct sqlite_store *s, int64_t sysrow, int64_t at, int bit,
                      struct frame_row *f)
{
	if (at > 0)
		return find_frame_at(s, sysrow, at, bit, f);
	int r = find_frame_at(s, sysrow, store_future_ms(), bit, f);
	return r == 0 ? find_frame_at(s, sysrow, 0, bit, f) : r;
}

static int find_frame_at(struct sqlite_store *s, int64_t sysrow, int64_t at, int bit,
                         struct frame_row *f)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT id, t, head, nums, parts FROM frames WHERE system = ?1"
	                            " AND t <= ?2 AND (?3 = 0 OR (fmask & ?3) != 0)"
	                            " ORDER BY t DESC, id DESC LIMIT 1",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "finding a frame");
	sqlite3_bind_int64(st, 1, sysrow);
	sqlite3_bind_int64(st, 2, at > 0 ? at : INT64_MAX);
	sqlite3_bind_int64(st, 3, bit < 0 ? 0 : (int64_t)(1ULL << bit));
	rc = sqlite3_step(st);
	int r = 0;
	if (rc == SQLITE_ROW) {
		f->id = sqlite3_column_int64(st, 0);
		f->t = sqlite3_column_int64(st, 1);
		f->head = sqlite3_column_int64(st, 2);
		buf_reset(&f->nums);
		buf_reset(&f->parts);
		buf_add(&f->nums, sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3));
		buf_add(&f->parts, sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4));
		r = 1;
	} else if (rc != SQLITE_DONE) {
		r = sq_fail(s, rc, "finding a frame");
	}
	sqlite3_finalize(st);
	return r;
}

static int emit_header(struct sqlite_store *s, struct render *c, const struct frame_row *f,
                       struct buf *out)
{
	sqlite3_stmt *st = stmt(s, ST_REC_GET);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, f->head);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return sq_fail(s, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
		               "reading a frame header");
	}
	struct buf v = BUF_INIT;
	buf_add(&v, sqlite3_column_text(st, 2), (size_t)sqlite3_column_bytes(st, 2));
	sqlite3_reset(st);
	c->t = f->t;
	c->np = (const unsigned char *)f->nums.data;
	c->nend = c->np + f->nums.len;
	sj_record_value("frame", "", v.data, v.len, c->t, &c->mk, &c->labels, metric_value,
	                header_value, c, out);
	buf_free(&v);
	return 0;
}

/* Records of one set (only feature `fid` when fid > 0); *nout counts. */
static int emit_set(struct sqlite_store *s, struct render *c, int64_t set, int64_t fid, bool *first,
                    struct buf *out, int64_t *set_fid)
{
	sqlite3_stmt *st = stmt(s, ST_SET_GET);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, set);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return sq_fail(s, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, "reading a record set");
	}
	*set_fid = sqlite3_column_int64(st, 0);
	if (fid > 0 && *set_fid != fid) {
		sqlite3_reset(st);
		return 0;
	}
	struct buf ids = BUF_INIT, val = BUF_INIT, key = BUF_INIT;
	buf_add(&ids, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
	sqlite3_reset(st);
	const char *fname = feature_name(s, *set_fid);
	char fn[40];
	copy_str(fn, sizeof(fn), fname, strlen(fname));
	const unsigned char *p = (const unsigned char *)ids.data, *end = p + ids.len;
	uint64_t v;
	int64_t id = 0;
	int r = 0;
	while (r == 0 && p < end && vget(&p, end, &v)) {
		id += unzz(v);
		st = stmt(s, ST_REC_GET);
		if (!st) {
			r = -EIO;
			break;
		}
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(st);
			r = sq_fail(s, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc, "reading a record");
			break;
		}
		buf_reset(&key);
		buf_reset(&val);
		buf_add(&key, sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1));
		buf_add(&val, sqlite3_column_text(st, 2), (size_t)sqlite3_column_bytes(st, 2));
		sqlite3_reset(st);
		if (!*first)
			buf_addc(out, ',');
		*first = false;
		buf_printf(out, "{\"feature\":\"%s\",\"key\":\"", fn);
		buf_add(out, key.data, key.len);
		buf_add(out, "\",\"value\":", 10);
		sj_record_value(fn, key.data, val.data, val.len, c->t, &c->mk, &c->labels,
		                metric_value, header_value, c, out);
		buf_addc(out, '}');
	}
	buf_free(&ids);
	buf_free(&val);
	buf_free(&key);
	return r;
}

/* Records of the parts of frame f (feature fid only when > 0). */
static int emit_parts(struct sqlite_store *s, struct render *c, const struct frame_row *f,
                      int64_t fid, bool *first, struct buf *out, uint64_t *seen_bits)
{
	const unsigned char *p = (const unsigned char *)f->parts.data, *end = p + f->parts.len;
	uint64_t set;
	int r = 0;
	c->t = f->t;
	while (r == 0 && p < end && vget(&p, end, &set)) {
		int64_t sf = 0;
		r = emit_set(s, c, (int64_t)set, fid, first, out, &sf);
		if (seen_bits && sf > 0 && sf <= 64 && (fid <= 0 || sf == fid))
			*seen_bits |= 1ULL << (sf - 1);
	}
	return r;
}

/* The row of system `id`: 0, or -ENOENT ("no system ...") or the store's error. */
static int find_system(struct sqlite_store *s, const char *id, int64_t *row)
{
	int err;
	*row = system_row(s, id, &err);
	if (err)
		return err;
	return *row ? 0 : sq_failf(s, -ENOENT, "no system '%s' in the store", id);
}

static int frame_json(struct sqlite_store *s, const char *system_id, int64_t at_ms,
                      const char *feature, struct buf *out);

/* One read transaction around the whole answer: one snapshot, and one
 * lock taken instead of one per record read (20,000 records: 65 ms of
 * locking alone). */
int sqlite_frame_json(struct store *base, const char *system_id, int64_t at_ms, const char *feature,
                      struct buf *out)
{
	struct sqlite_store *s = sq(base);
	int fr = sq_follow(s);
	if (fr < 0)
		return fr;
	bool txn = sqlite3_get_autocommit(s->db) &&
	           sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	int r = frame_json(s, system_id, at_ms, feature, out);
	if (txn)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return r;
}

static int frame_json(struct sqlite_store *s, const char *system_id, int64_t at_ms,
                      const char *feature, struct buf *out)
{
	int64_t sysrow;
	int err = find_system(s, system_id, &sysrow);
	if (err)
		return err;
	int64_t fid = 0;
	if (feature) {
		fid = feature_id(s, feature, strlen(feature), false);
		if (fid < 0)
			return (int)fid;
		if (fid == 0)
			return sq_failf(s, -ENOENT, "no frame of '%s' with feature '%s'", system_id,
			                feature);
	}
	struct frame_row f = {0};
	int bit = fid > 0 ? feature_bit(fid) : -1;
	int r = find_frame(s, sysrow, at_ms, bit, &f);
	if (r <= 0) {
		frame_row_free(&f);
		if (r == 0)
			return sq_failf(s, -ENOENT, "no frame of '%s'%s%s%s", system_id,
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
		/* the latest records of every feature the system has had: the
		 * daemon crawls features on different intervals, so they come
		 * from the latest frame holding each */
		uint64_t want = 0, have = 0;
		sqlite3_stmt *st;
		int rc = sqlite3_prepare_v2(s->db, "SELECT fmask FROM systems WHERE id = ?1", -1,
		                            &st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, sysrow);
			if (sqlite3_step(st) == SQLITE_ROW)
				want = (uint64_t)sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		}
		struct buf times = BUF_INIT;
		struct frame_row g = {0};
		uint64_t before = 0;
		r = emit_parts(s, &c, &f, 0, &first, out, &have);
		char t[40];
		iso(f.t, t, sizeof(t));
		for (int b = 0; b < 64; b++)
			if ((have & ~before) & (1ULL << b))
				buf_printf(&times, "%s\"%s\":\"%s\"", times.len ? "," : "",
				           feature_name(s, b + 1), t);
		for (int b = 0; r == 0 && b < 63; b++) {
			if (!(want & (1ULL << b)) || (have & (1ULL << b)))
				continue;
			r = find_frame(s, sysrow, at_ms, b, &g);
			if (r <= 0)
				break;
			before = have;
			r = emit_parts(s, &c, &g, b + 1, &first, out, &have);
			if (r == 0 && (have & ~before)) {
				iso(g.t, t, sizeof(t));
				buf_printf(&times, "%s\"%s\":\"%s\"", times.len ? "," : "",
				           feature_name(s, b + 1), t);
			}
		}
		if (r > 0)
			r = 0;
		frame_row_free(&g);
		buf_addc(out, ']');
		buf_add(out, ",\"feature_times\":{", 18);
		buf_add(out, times.data ? times.data : "", times.len);
		buf_addc(out, '}');
		buf_free(&times);
	}
	buf_addc(out, '}');
	frame_row_free(&f);
	buf_free(&c.labels);
	buf_free(&c.name);
	if (r < 0)
		out->len = start, out->data[start] = 0;
	return r;
}

/* ---- series ----------------------------------------------------------------------- */

/* ---- the answers' text cache -------------------------------------------------- */

/* A read-only handle keeps the text of the points of the series it last
 * answered from raw points (cache_version(): for one database version):
 * for one series, step and statistic, the buckets wholly inside the range
 * asked ([lo, hi): a bucket's value depends only on the raw points in it).
 * The next answer of "the last 24 h" a little later reduces and writes
 * only the buckets at its two ends, and copies the rest. */
#define TC_SLOTS 16
#define TC_BYTES (4 << 20) /* of text a handle */
#define TC_EDGE_MAX 64     /* buckets written around the copy before it is built anew */

struct tc_ent {
	int64_t version, series, step; /* the key, with the statistic */
	int kind, pct;
	int64_t lo, hi; /* whole buckets: lo <= time < hi */
	int64_t *bt;    /* n bucket times */
	size_t *off;    /* where each one's '[' is in text, and text.len at [n] */
	size_t n;
	struct buf text; /* "[..],[..]..." */
	uint64_t used;
};

struct tcache {
	struct tc_ent e[TC_SLOTS];
	size_t n, bytes; /* entries, text held */
	uint64_t tick;
};

static void tc_drop(struct tcache *tc, size_t i)
{
	struct tc_ent *c = &tc->e[i];
	tc->bytes -= c->text.len;
	free(c->bt);
	free(c->off);
	buf_free(&c->text);
	tc->n--;
	*c = tc->e[tc->n]; /* the last one in its place */
	tc->e[tc->n] = (struct tc_ent){0};
}

void tcache_free(struct tcache *tc)
{
	if (!tc)
		return;
	while (tc->n)
		tc_drop(tc, 0);
	free(tc);
}

static struct tc_ent *tc_find(struct tcache *tc, int64_t version, int64_t series, int64_t step,
                              const struct stat_spec *sp)
{
	for (size_t i = 0; tc && i < tc->n; i++) {
		struct tc_ent *c = &tc->e[i];
		if (c->version == version && c->series == series && c->step == step &&
		    c->kind == (int)sp->kind && c->pct == sp->pct)
			return c;
	}
	return NULL;
}

/* The first of c's buckets at or after t. */
static size_t tc_bound(const struct tc_ent *c, int64_t t)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->bt[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Keep the whole buckets of an answer over [from, to]: x's points, their
 * text at text (offs: where each starts, relative to text).  Best effort:
 * nothing kept when memory is short. */
static void tc_put(struct sqlite_store *s, int64_t version, int64_t series, int64_t step,
                   const struct stat_spec *sp, const struct tv *x, const char *text,
                   size_t text_len, const size_t *offs, int64_t from, int64_t to)
{
	if (!s->tc && !(s->tc = calloc(1, sizeof(*s->tc))))
		return;
	struct tcache *tc = s->tc;
	int64_t lo = ceil_to(from, step), hi = floor_to(to + 1, step);
	size_t a = 0, b = x->n;
	while (a < b && x->t[a] < lo)
		a++;
	while (b > a && x->t[b - 1] >= hi)
		b--;
	size_t t0 = a < b ? offs[a] : 0, t1 = b < x->n ? offs[b] - 1 : text_len;
	if (t1 - t0 > TC_BYTES / 2)
		return;
	for (size_t i = 0; i < tc->n; i++) /* an older copy, or of another version */
		if (tc->e[i].version != version ||
		    (tc->e[i].series == series && tc->e[i].step == step &&
		     tc->e[i].kind == (int)sp->kind && tc->e[i].pct == sp->pct))
			tc_drop(tc, i--);
	while (tc->n == TC_SLOTS || (tc->n && tc->bytes + (t1 - t0) > TC_BYTES)) {
		size_t old = 0;
		for (size_t i = 1; i < tc->n; i++)
			if (tc->e[i].used < tc->e[old].used)
				old = i;
		tc_drop(tc, old);
	}
	struct tc_ent c = {.version = version,
	                   .series = series,
	                   .step = step,
	                   .kind = (int)sp->kind,
	                   .pct = sp->pct,
	                   .lo = lo,
	                   .hi = hi,
	                   .n = b - a,
	                   .used = ++tc->tick};
	c.bt = malloc((c.n + 1) * sizeof(*c.bt));
	c.off = malloc((c.n + 1) * sizeof(*c.off));
	if (!c.bt || !c.off) {
		free(c.bt);
		free(c.off);
		return;
	}
	/* the text of points [a, b): from a's '[' to b's ',' (or the end) */
	if (a < b)
		buf_add(&c.text, text + t0, t1 - t0);
	for (size_t i = a; i < b; i++) {
		c.bt[i - a] = x->t[i];
		c.off[i - a] = offs[i] - t0;
	}
	c.off[c.n] = c.text.len;
	tc->bytes += c.text.len;
	tc->e[tc->n++] = c;
}

/* r with only its points in [from, end) (a view). */
static struct sread slice(const struct sread *r, int64_t from, int64_t end)
{
	struct sread v = *r;
	size_t a = 0, b = r->pts.n;
	while (a < b) { /* the first at or after from */
		size_t mid = a + (b - a) / 2;
		if (r->pts.v[mid].t < from)
			a = mid + 1;
		else
			b = mid;
	}
	b = a;
	while (b < r->pts.n && r->pts.v[b].t < end)
		b++;
	v.pts.v = r->pts.v ? r->pts.v + a : NULL;
	v.pts.n = v.pts.cap = b - a;
	v.borrowed = true;
	return v;
}

/* The "points" of one series over [from, to]: reduced (series_reduce) and
 * written, or at a level-0 (raw) read of a read-only handle, the buckets
 * the text cache holds copied and only those around them reduced. */
static int points_json(struct sqlite_store *s, const struct sread *ri, int64_t from, int64_t to,
                       int64_t step, int level, const struct levels *lv, const struct stat_spec *sp,
                       int64_t version, struct tv *x, struct json *j)
{
	bool count = sp->kind == STAT_COUNT;
	struct rollup_src src = sqlite_rollups(s);
	bool cacheable = version >= 0 && level == 0;
	struct tc_ent *c = cacheable ? tc_find(s->tc, version, ri->id, step, sp) : NULL;
	int64_t u0 = ceil_to(from, step), u1 = floor_to(to + 1, step);
	if (c) {
		u0 = u0 > c->lo ? u0 : c->lo;
		u1 = u1 < c->hi ? u1 : c->hi;
		if (u0 >= u1 || (u0 - from) / step + (to - u1) / step > TC_EDGE_MAX)
			c = NULL;
	}
	jw_arr_begin(j, "points");
	struct buf *o = j->out;
	size_t start = o->len;
	int e;
	if (!c) {
		x->n = 0;
		e = series_reduce(&src, ri, from, to, step, level, lv, sp, x);
		size_t *offs = e == 0 && cacheable ? malloc((x->n + 1) * sizeof(*offs)) : NULL;
		if (e == 0)
			series_points_text(x, 0, x->n, count, true, o, offs);
		if (offs) {
			for (size_t i = 0; i < x->n; i++)
				offs[i] -= start;
			tc_put(s, version, ri->id, step, sp, x, o->data + start, o->len - start,
			       offs, from, to);
		}
		free(offs);
	} else {
		c->used = ++s->tc->tick;
		x->n = 0; /* the buckets before the copy, ... */
		struct sread head = slice(ri, from, u0), tail = slice(ri, u1, to + 1);
		e = series_reduce(&src, &head, from, u0 - 1, step, level, lv, sp, x);
		if (e == 0)
			series_points_text(x, 0, x->n, count, true, o, NULL);
		size_t i0 = tc_bound(c, u0), i1 = tc_bound(c, u1);
		if (e == 0 && i0 < i1) { /* ... the copy (without the ',' after it), ... */
			if (o->len > start)
				buf_addc(o, ',');
			size_t end = i1 < c->n ? c->off[i1] - 1 : c->off[c->n];
			buf_add(o, c->text.data + c->off[i0], end - c->off[i0]);
		}
		bool first = o->len == start;
		x->n = 0; /* ... and after it */
		if (e == 0)
			e = series_reduce(&src, &tail, u1, to, step, level, lv, sp, x);
		if (e == 0)
			series_points_text(x, 0, x->n, count, first, o, NULL);
	}
	if (o->len > start)
		j->first[j->depth] = false;
	jw_arr_end(j);
	return e;
}

int sqlite_series_json(struct store *base, const char *system_id, const char *metric,
                       int64_t from_ms, int64_t to_ms, int64_t step_ms, const char *stat,
                       struct buf *out)
{
	struct sqlite_store *s = sq(base);
	int fr = sq_follow(s);
	if (fr < 0)
		return fr;
	struct stat_spec sp;
	if (stat_parse(stat, false, &sp) < 0)
		return sq_failf(s, -EINVAL,
		                "unknown statistic '%s' (avg, min, max, sum, count, p50,"
		                " p90, p99)",
		                stat ? stat : "");
	if (step_ms <= 0 || from_ms > to_ms)
		return sq_failf(s, -EINVAL, "bad range or step");
	struct label_sel sel;
	if (!metric || label_sel_parse(metric, &sel) < 0) {
		if (metric)
			label_sel_free(&sel);
		return sq_failf(s, -EINVAL, "bad metric '%s' (NAME or NAME{label=value,...})",
		                metric ? metric : "");
	}
	int64_t sysrow;
	int err = find_system(s, system_id, &sysrow);
	if (err) {
		label_sel_free(&sel);
		return err;
	}
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT id, labels FROM series WHERE system = ?1 AND name = ?2"
	                            " ORDER BY labels",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK) {
		label_sel_free(&sel);
		return sq_fail(s, rc, "finding series");
	}
	sqlite3_bind_int64(st, 1, sysrow);
	sqlite3_bind_text(st, 2, sel.name, -1, SQLITE_STATIC);
	struct sread *r = NULL;
	char **labels = NULL;
	size_t nser = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *l = (const char *)sqlite3_column_text(st, 1);
		if (!l || !label_sel_match(&sel, l))
			continue;
		r = xreallocarray(r, nser + 1, sizeof(*r));
		labels = xreallocarray(labels, nser + 1, sizeof(*labels));
		memset(&r[nser], 0, sizeof(*r));
		r[nser].id = sqlite3_column_int64(st, 0);
		r[nser].sys = sysrow;
		r[nser].tag = nser;
		labels[nser++] = xstrdup(l);
	}
	int e = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "finding series");
	sqlite3_finalize(st);
	label_sel_free(&sel);
	if (e == 0 && nser == 0)
		e = sq_failf(s, -ENOENT, "no metric '%s' for system '%s'", metric, system_id);
	/* one snapshot for the whole answer */
	bool txn = e == 0 && sqlite3_get_autocommit(s->db) &&
	           sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	struct levels lv;
	levels_load(s, &lv);
	int64_t version = e == 0 ? cache_version(s) : -1; /* after a read: in the snapshot */
	int64_t step;
	int level = level_pick(&lv, from_ms, step_ms, &step);
	/* the series' raw points at once (a frame's blob is walked once),
	 * gathered in id order; answered in labels order */
	struct sread *byid = NULL;
	if (e == 0 && r) {
		byid = xreallocarray(NULL, nser, sizeof(*byid));
		memcpy(byid, r, nser * sizeof(*byid));
		for (size_t a = 1; a < nser; a++) /* insertion sort: few series */
			for (size_t b = a; b > 0 && byid[b - 1].id > byid[b].id; b--) {
				struct sread t = byid[b];
				byid[b] = byid[b - 1];
				byid[b - 1] = t;
			}
		e = raw_gather_cached(s, byid, nser, raw_start(&lv, level, from_ms, to_ms),
		                      to_ms + 1, &lv);
	}
	struct tv x = {0};
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
			const struct sread *ri = &byid[0];
			for (size_t k = 0; k < nser; k++)
				if (byid[k].tag == i)
					ri = &byid[k];
			if (nser > 1)
				jw_obj_begin(&j, NULL);
			jw_raw(&j, "labels", labels[i], strlen(labels[i]));
			e = points_json(s, ri, from_ms, to_ms, step, level, &lv, &sp, version, &x,
			                &j);
			if (nser > 1)
				jw_obj_end(&j);
		}
		if (nser > 1)
			jw_arr_end(&j);
		jw_obj_end(&j);
	}
	if (txn)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	tv_free(&x);
	for (size_t i = 0; i < nser; i++) {
		free(labels[i]);
		if (byid)
			sread_free(&byid[i]);
	}
	free(labels);
	free(r);
	free(byid);
	return e;
}

int sqlite_metric_names_json(struct store *base, const char *system_id, struct buf *out)
{
	struct sqlite_store *s = sq(base);
	int fr = sq_follow(s);
	if (fr < 0)
		return fr;
	int64_t sysrow;
	int err = find_system(s, system_id, &sysrow);
	if (err)
		return err;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
	    s->db, "SELECT DISTINCT name FROM series WHERE system = ?1 ORDER BY name", -1, &st,
	    NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "listing metrics");
	sqlite3_bind_int64(st, 1, sysrow);
	struct json j;
	jw_init(&j, out);
	jw_arr_begin(&j, NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		jw_str(&j, NULL, (const char *)sqlite3_column_text(st, 0));
	jw_arr_end(&j);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "listing metrics");
}

/* ---- latest points ---------------------------------------------------------------- */

int sqlite_latest_points(struct store *base, int (*cb)(void *ctx, const struct store_latest *p),
                         void *ctx)
{
	struct sqlite_store *s = sq(base);
	int fr = sq_follow(s);
	if (fr < 0)
		return fr;
	/* each present system's latest metric frame is one row of points_new */
	sqlite3_stmt *st, *ser;
	int rc = sqlite3_prepare_v2(
	    s->db,
	    "SELECT sy.sid, sy.name, sy.kind, sy.runtime, sy.image, sy.last_metric,"
	    " p.data FROM systems sy JOIN points_new p"
	    " ON p.m = sy.last_metric / 60000 AND p.system = sy.id"
	    " AND p.t = sy.last_metric"
	    " WHERE sy.gone = 0 AND sy.last_metric IS NOT NULL ORDER BY sy.sid",
	    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading latest points");
	rc = sqlite3_prepare_v2(s->db, "SELECT name, labels FROM series WHERE id = ?1", -1, &ser,
	                        NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return sq_fail(s, rc, "reading latest points");
	}
	struct buf b[5] = {BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT};
	struct pvec pts = {0};
	int r = 0;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *f[5];
		for (int i = 0; i < 5; i++) {
			const char *raw = (const char *)sqlite3_column_text(st, i);
			buf_reset(&b[i]);
			if (raw)
				js_unescape(&b[i], raw, strlen(raw));
			f[i] = raw ? buf_str(&b[i]) : NULL;
		}
		int64_t t = sqlite3_column_int64(st, 5);
		pts.n = 0;
		if (fpoints_decode(sqlite3_column_blob(st, 6), (size_t)sqlite3_column_bytes(st, 6),
		                   t, 0, &pts) < 0)
			continue;
		for (size_t i = 0; r == 0 && i < pts.n; i++) {
			if (pts.v[i].type == SQLITE_NULL)
				continue;
			sqlite3_bind_int64(ser, 1, pts.v[i].series);
			if (sqlite3_step(ser) == SQLITE_ROW) {
				struct store_latest p = {
				    .system_id = f[0],
				    .system_name = f[1],
				    .name = f[1],
				    .kind = f[2],
				    .runtime = f[3],
				    .image = f[4],
				    .metric = (const char *)sqlite3_column_text(ser, 0),
				    .labels_json = (const char *)sqlite3_column_text(ser, 1),
				    .value = pts.v[i].d,
				    .time_ms = t,
				};
				r = cb(ctx, &p);
			}
			sqlite3_reset(ser);
		}
	}
	sqlite3_finalize(st);
	sqlite3_finalize(ser);
	pvec_free(&pts);
	for (int i = 0; i < 5; i++)
		buf_free(&b[i]);
	if (r)
		return r;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_fail(s, rc, "reading latest points");
}

int sqlite_frame_times(struct store *base, const char *system_id, int64_t from_ms, int64_t to_ms,
                       const char *except, size_t max, int64_t **times, size_t *n)
{
	struct sqlite_store *s = sq(base);
	int fr = sq_follow(s);
	if (fr < 0)
		return fr;
	int64_t sysrow;
	int err = find_system(s, system_id, &sysrow);
	if (err)
		return err;
	int64_t skip = -1; /* the fmask of a frame of `except` only */
	if (except) {
		int64_t fid = feature_id(s, except, strlen(except), false);
		if (fid < 0)
			return (int)fid;
		if (fid > 0)
			skip = (int64_t)(1ULL << feature_bit(fid));
	}
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT t FROM (SELECT t FROM frames WHERE system = ?1"
	                            " AND t >= ?2 AND t <= ?3 AND fmask != ?4"
	                            " ORDER BY t DESC LIMIT ?5) ORDER BY t",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "listing frames");
	sqlite3_bind_int64(st, 1, sysrow);
	sqlite3_bind_int64(st, 2, from_ms);
	sqlite3_bind_int64(st, 3, to_ms);
	sqlite3_bind_int64(st, 4, skip);
	sqlite3_bind_int64(st, 5, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	size_t cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*times = xreallocarray(*times, cap, sizeof(**times));
		}
		(*times)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	int r = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "listing frames");
	sqlite3_finalize(st);
	if (r < 0) {
		free(*times);
		*times = NULL;
		*n = 0;
	}
	return r;
}

int sqlite_read_begin(struct store *base)
{
	struct sqlite_store *s = sq(base);
	if (s->read_session || !sqlite3_get_autocommit(s->db))
		return 0;
	int fr = sq_follow(s);
	if (fr < 0)
		return fr;
	int rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "beginning a read");
	s->read_session = true;
	return 0;
}

void sqlite_read_end(struct store *base)
{
	struct sqlite_store *s = sq(base);
	if (!s->read_session)
		return;
	if (!sqlite3_get_autocommit(s->db)) /* not when the handle was opened again */
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	s->read_session = false;
}
