/*
 * sqlite_points.c - the SQLite backend's raw metric points: where they are written, how they are
 * compacted, and how they are read back.
 *
 * Writes must be cheap: a frame brings one point for each of its system's
 * series (a host has ~200) and SQLite rewrites whole pages.  So a frame's
 * points are ONE row of points_new, keyed (m, system, t) with m the minute
 * (t / 60000), its `data` blob holding each point as
 *     varint(zigzag(series - previous series) << 2 | tag), then the value
 * (series ascending), tags as below.  One insert per frame; the frames of
 * one minute of every system lie together, so the 1-minute roll-up reads a
 * minute with one range scan.
 *
 * Reads of one series over hours must be cheap too, so once an hour the
 * complete hours of points_new are compacted into points_raw: one row per
 * series and hour (keyed (series, h)) whose `data` blob holds the points,
 * each as varint((dt << 2) | tag) then the value, dt the milliseconds since
 * the previous point (the first since h):
 *     tag 0  the same value as the previous point (no bytes)
 *     tag 1  an integer: zigzag varint of its difference to the previous
 *            integer (in a frame blob: of the integer itself)
 *     tag 2  a double: 8 bytes, little endian
 *     tag 3  null
 * A gauge that does not change costs 3 bytes a point at a 10 s interval.
 * Points that arrive late for an hour already compacted are merged into its
 * chunk at the next compaction; until then readers merge both tables.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_internal.h"

void point_from_col(sqlite3_stmt *st, int col, int64_t t, struct point *p)
{
	p->t = t;
	p->type = sqlite3_column_type(st, col);
	p->i = 0;
	p->d = 0;
	if (p->type == SQLITE_INTEGER) {
		p->i = sqlite3_column_int64(st, col);
		p->d = (double)p->i;
	} else if (p->type == SQLITE_FLOAT) {
		p->d = sqlite3_column_double(st, col);
	} else {
		p->type = SQLITE_NULL;
	}
}

void point_bind(sqlite3_stmt *st, int idx, const struct point *p)
{
	if (p->type == SQLITE_INTEGER)
		sqlite3_bind_int64(st, idx, p->i);
	else if (p->type == SQLITE_FLOAT)
		sqlite3_bind_double(st, idx, p->d);
	else
		sqlite3_bind_null(st, idx);
}

static void put_double(struct buf *out, double d)
{
	unsigned char b[8];
	uint64_t bits;
	memcpy(&bits, &d, 8);
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(bits >> (8 * i));
	buf_add(out, b, 8);
}

static bool get_double(const unsigned char **p, const unsigned char *end, double *d)
{
	if (end - *p < 8)
		return false;
	uint64_t bits = 0;
	for (int i = 0; i < 8; i++)
		bits |= (uint64_t)(*p)[i] << (8 * i);
	*p += 8;
	memcpy(d, &bits, 8);
	return true;
}

/* ---- chunks -------------------------------------------------------------------- */

/* Bit for bit: -0.0 is not 0.0, and a NaN equals the same NaN. */
static bool same_bits(double a, double b)
{
	uint64_t x, y;
	memcpy(&x, &a, 8);
	memcpy(&y, &b, 8);
	return x == y;
}

void chunk_encode(const struct point *p, size_t n, int64_t h, struct buf *out)
{
	int64_t prev_t = h, prev_i = 0;
	const struct point *last = NULL;
	for (size_t k = 0; k < n; k++) {
		uint64_t dt = (uint64_t)(p[k].t - prev_t);
		prev_t = p[k].t;
		int tag;
		if (last && last->type == p[k].type &&
		    (p[k].type == SQLITE_NULL ||
		     (p[k].type == SQLITE_INTEGER && last->i == p[k].i) ||
		     (p[k].type == SQLITE_FLOAT && same_bits(last->d, p[k].d))))
			tag = 0;
		else
			tag = p[k].type == SQLITE_INTEGER ? 1 : p[k].type == SQLITE_FLOAT ? 2 : 3;
		vput(out, dt << 2 | (uint64_t)tag);
		if (tag == 1) {
			vput(out, zz((int64_t)((uint64_t)p[k].i - (uint64_t)prev_i)));
			prev_i = p[k].i;
		} else if (tag == 2) {
			put_double(out, p[k].d);
		}
		last = &p[k];
	}
}

int chunk_decode(const void *data, size_t len, int64_t h, int64_t from, int64_t to,
                 struct pvec *out)
{
	const unsigned char *p = data, *end = p + len;
	int64_t t = h, prev_i = 0;
	struct point cur = {.type = SQLITE_NULL};
	uint64_t v;
	while (p < end) {
		if (!vget(&p, end, &v))
			return -EINVAL;
		t += (int64_t)(v >> 2);
		int tag = (int)(v & 3);
		if (tag == 1) {
			uint64_t d;
			if (!vget(&p, end, &d))
				return -EINVAL;
			prev_i = (int64_t)((uint64_t)prev_i + (uint64_t)unzz(d));
			cur.type = SQLITE_INTEGER;
			cur.i = prev_i;
			cur.d = (double)prev_i;
		} else if (tag == 2) {
			if (end - p < 8)
				return -EINVAL;
			uint64_t bits = 0;
			for (int i = 0; i < 8; i++)
				bits |= (uint64_t)p[i] << (8 * i);
			p += 8;
			cur.type = SQLITE_FLOAT;
			memcpy(&cur.d, &bits, 8);
		} else if (tag == 3) {
			cur.type = SQLITE_NULL;
		}
		cur.t = t;
		if (t >= from && t < to) {
			int r = pvec_add(out, &cur);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* ---- frame blobs ---------------------------------------------------------------- */

void fpoints_encode(const struct point *p, size_t n, struct buf *out)
{
	int64_t prev = 0;
	for (size_t k = 0; k < n; k++) {
		int tag = p[k].type == SQLITE_INTEGER ? 1 : p[k].type == SQLITE_FLOAT ? 2 : 3;
		vput(out, zz(p[k].series - prev) << 2 | (uint64_t)tag);
		prev = p[k].series;
		if (tag == 1)
			vput(out, zz(p[k].i));
		else if (tag == 2)
			put_double(out, p[k].d);
	}
}

int fpoints_decode(const void *data, size_t len, int64_t t, int64_t series, struct pvec *out)
{
	const unsigned char *p = data, *end = p + len;
	int64_t cur = 0;
	uint64_t v;
	while (p < end) {
		if (!vget(&p, end, &v))
			return -EINVAL;
		cur += unzz(v >> 2);
		struct point pt = {.t = t, .series = cur, .type = SQLITE_NULL};
		switch (v & 3) {
		case 1:
			if (!vget(&p, end, &v))
				return -EINVAL;
			pt.type = SQLITE_INTEGER;
			pt.i = unzz(v);
			pt.d = (double)pt.i;
			break;
		case 2:
			if (!get_double(&p, end, &pt.d))
				return -EINVAL;
			pt.type = SQLITE_FLOAT;
			break;
		case 3:
			break;
		default:
			return -EINVAL;
		}
		if (series == 0 || series == cur) {
			int r = pvec_add(out, &pt);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int fpoints_pick(const void *data, size_t len, int64_t t, struct sread *r, size_t n)
{
	const unsigned char *p = data, *end = p + len;
	int64_t cur = 0;
	size_t k = 0;
	uint64_t v;
	while (p < end && k < n) {
		if (!vget(&p, end, &v))
			return -EINVAL;
		cur += unzz(v >> 2);
		int tag = (int)(v & 3);
		while (k < n && r[k].id < cur)
			k++;
		if (k == n || r[k].id != cur) { /* not wanted: skip its value */
			if (tag == 1) {
				while (p < end && (*p & 0x80))
					p++;
				if (p++ >= end)
					return -EINVAL;
			} else if (tag == 2) {
				if (end - p < 8)
					return -EINVAL;
				p += 8;
			} else if (tag == 0) {
				return -EINVAL;
			}
			continue;
		}
		struct point pt = {.t = t, .series = cur, .type = SQLITE_NULL};
		if (tag == 1) {
			if (!vget(&p, end, &v))
				return -EINVAL;
			pt.type = SQLITE_INTEGER;
			pt.i = unzz(v);
			pt.d = (double)pt.i;
		} else if (tag == 2) {
			if (!get_double(&p, end, &pt.d))
				return -EINVAL;
			pt.type = SQLITE_FLOAT;
		} else if (tag == 0) {
			return -EINVAL;
		}
		int e = pvec_add(&r[k].pts, &pt);
		if (e < 0)
			return e;
	}
	return 0;
}

/* ---- reading ------------------------------------------------------------------- */

static int cmp_time(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	/* equal times: keep the order added (the newer copy last) */
	return x < y ? -1 : x > y;
}

static int cmp_series_time(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	if (x->series != y->series)
		return x->series < y->series ? -1 : 1;
	return cmp_time(a, b);
}

/* Sort; of points with the same time (and series, when sorting by it)
 * keep the last added. */
static void sort_unique_by(struct pvec *v, int (*cmp)(const void *, const void *))
{
	if (v->n < 2)
		return;
	qsort(v->v, v->n, sizeof(*v->v), cmp);
	bool by_series = cmp == cmp_series_time;
	size_t w = 0;
	for (size_t i = 0; i < v->n; i++) {
		if (w && v->v[w - 1].t == v->v[i].t &&
		    (!by_series || v->v[w - 1].series == v->v[i].series))
			v->v[w - 1] = v->v[i];
		else
			v->v[w++] = v->v[i];
	}
	v->n = w;
}

void pvec_sort_unique(struct pvec *v)
{
	sort_unique_by(v, cmp_series_time);
}

int new_range(struct sqlite_store *s, int64_t *lo, int64_t *hi)
{
	sqlite3_stmt *st = stmt(s, ST_NEW_RANGE);
	if (!st)
		return -EIO;
	int rc = sqlite3_step(st);
	*lo = 1, *hi = 0;
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*lo = sqlite3_column_int64(st, 0);
		*hi = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : sq_fail(s, rc, "reading points");
}

int new_points(struct sqlite_store *s, int64_t sysrow, int64_t series, int64_t from, int64_t to,
               struct pvec *out)
{
	int64_t lo, hi;
	int r = new_range(s, &lo, &hi);
	if (r < 0 || lo > hi || from >= to)
		return r;
	int64_t m0 = floor_to(from, MS_MIN) / MS_MIN, m1 = floor_to(to - 1, MS_MIN) / MS_MIN;
	if (m0 < lo)
		m0 = lo;
	if (m1 > hi)
		m1 = hi;
	for (int64_t m = m0; m <= m1 && r == 0; m++) {
		sqlite3_stmt *st = stmt(s, ST_NEW_MINUTE);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, m);
		sqlite3_bind_int64(st, 2, sysrow);
		sqlite3_bind_int64(st, 3, from);
		sqlite3_bind_int64(st, 4, to);
		int rc;
		while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
			r = fpoints_decode(sqlite3_column_blob(st, 1),
			                   (size_t)sqlite3_column_bytes(st, 1),
			                   sqlite3_column_int64(st, 0), series, out);
		sqlite3_reset(st);
		if (r == -EINVAL)
			r = sq_failf(s, -EINVAL, "corrupt points of system %lld",
			             (long long)sysrow);
		else if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
			r = sq_fail(s, rc, "reading points");
	}
	return r;
}

static int64_t series_system(struct sqlite_store *s, int64_t series)
{
	sqlite3_stmt *st = stmt(s, ST_SERIES_SYS);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, series);
	int rc = sqlite3_step(st);
	int64_t sys = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? sys : sq_fail(s, rc, "reading a series");
}

int raw_read(struct sqlite_store *s, int64_t series, int64_t from, int64_t to, struct pvec *out)
{
	out->n = 0;
	if (from >= to)
		return 0;
	sqlite3_stmt *st = stmt(s, ST_CHUNK_RANGE);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, series);
	sqlite3_bind_int64(st, 2, floor_to(from, MS_HOUR));
	sqlite3_bind_int64(st, 3, to);
	int rc, r = 0;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = chunk_decode(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
		                 sqlite3_column_int64(st, 0), from, to, out);
	sqlite3_reset(st);
	if (r == -EINVAL)
		return sq_failf(s, -EINVAL, "a corrupt chunk of points (series %lld)",
		                (long long)series);
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_fail(s, rc, "reading points");
	int64_t sys = r == 0 ? series_system(s, series) : 0;
	if (sys < 0)
		return (int)sys;
	if (r == 0 && sys > 0)
		r = new_points(s, sys, series, from, to, out);
	for (size_t i = 0; r == 0 && i < out->n; i++)
		out->v[i].series = series;
	if (r == 0)
		sort_unique_by(out, cmp_time);
	return r;
}

int point_at(struct sqlite_store *s, int64_t series, int64_t t, struct point *p)
{
	struct pvec v = {0};
	int r = raw_read(s, series, t, t + 1, &v);
	if (r == 0 && v.n) {
		*p = v.v[v.n - 1];
		r = 1;
	}
	pvec_free(&v);
	return r;
}

/* ---- compaction ----------------------------------------------------------------- */

/* One series' points (sorted by time) into its hourly chunks. */
static int compact_series(struct sqlite_store *s, const struct point *pts, size_t n, int64_t *delta,
                          struct buf *blob)
{
	int r = 0;
	size_t i = 0;
	int64_t series = pts[0].series;
	while (i < n && r == 0) {
		int64_t h = floor_to(pts[i].t, MS_HOUR);
		size_t j = i;
		while (j < n && pts[j].t < h + MS_HOUR)
			j++;
		/* an existing chunk (late points): merge, new points win */
		struct pvec merged = {0};
		int64_t old_n = 0;
		sqlite3_stmt *st = stmt(s, ST_CHUNK_GET);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, series);
		sqlite3_bind_int64(st, 2, h);
		if (sqlite3_step(st) == SQLITE_ROW) {
			old_n = sqlite3_column_int64(st, 0);
			r = chunk_decode(sqlite3_column_blob(st, 1),
			                 (size_t)sqlite3_column_bytes(st, 1), h, h, h + MS_HOUR,
			                 &merged);
		}
		sqlite3_reset(st);
		const struct point *src = pts + i;
		size_t cnt = j - i;
		if (r == 0 && merged.n) {
			for (size_t k = i; k < j && r == 0; k++)
				r = pvec_add(&merged, &pts[k]);
			sort_unique_by(&merged, cmp_time);
			src = merged.v;
			cnt = merged.n;
		}
		if (r == 0) {
			buf_reset(blob);
			chunk_encode(src, cnt, h, blob);
			st = stmt(s, ST_CHUNK_PUT);
			if (!st) {
				r = -EIO;
			} else {
				sqlite3_bind_int64(st, 1, series);
				sqlite3_bind_int64(st, 2, h);
				sqlite3_bind_int64(st, 3, (int64_t)cnt);
				sqlite3_bind_blob(st, 4, blob->data ? blob->data : "",
				                  (int)blob->len, SQLITE_STATIC);
				int rc = sqlite3_step(st);
				sqlite3_reset(st);
				if (rc != SQLITE_DONE)
					r = sq_fail(s, rc, "storing a chunk of points");
			}
			/* points merged away are points no more */
			*delta += (int64_t)cnt - old_n - (int64_t)(j - i);
		}
		pvec_free(&merged);
		i = j;
	}
	return r;
}

/*
 * Compact every minute of points_new below `upto` (a minute boundary,
 * already rolled up) into chunks, then delete those rows; late points
 * below an earlier watermark go too.  One transaction; the caller holds
 * none; nothing written when there is nothing to do.
 */
int compact_points(struct sqlite_store *s, int64_t upto)
{
	int64_t lo, hi, m1 = upto / MS_MIN;
	int r = new_range(s, &lo, &hi);
	if (r < 0)
		return r;
	bool work = lo <= hi && lo < m1;
	if (!work && meta_get(s, "compacted", 0) >= upto)
		return 0; /* nothing to do: no transaction */
	r = sq_begin(s);
	if (r < 0)
		return r;
	sqlite3_stmt *sys = NULL, *del = NULL;
	struct pvec pts = {0};
	struct buf blob = BUF_INIT;
	int64_t *ids = NULL, delta = 0;
	size_t n = 0, cap = 0;
	int rc = SQLITE_DONE;
	if (work) {
		rc = sqlite3_prepare_v2(
		    s->db, "SELECT DISTINCT system FROM points_new WHERE m < ?1", -1, &sys, NULL);
		if (rc != SQLITE_OK)
			r = sq_fail(s, rc, "compacting points");
	}
	if (r == 0 && sys) {
		sqlite3_bind_int64(sys, 1, m1);
		while (r == 0 && (rc = sqlite3_step(sys)) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				int64_t *v = realloc(ids, cap * sizeof(*v));
				if (!v) {
					r = -ENOMEM;
					break;
				}
				ids = v;
			}
			ids[n++] = sqlite3_column_int64(sys, 0);
		}
		if (r == 0 && rc != SQLITE_DONE)
			r = sq_fail(s, rc, "compacting points");
	}
	sqlite3_finalize(sys);
	/* system by system: its frames' points, regrouped by series */
	for (size_t i = 0; r == 0 && i < n; i++) {
		pts.n = 0;
		r = new_points(s, ids[i], 0, lo * MS_MIN, m1 * MS_MIN, &pts);
		if (r < 0)
			break;
		size_t before = pts.n;
		pvec_sort_unique(&pts);
		delta -= (int64_t)(before - pts.n); /* one frame stored twice */
		for (size_t a = 0, b; r == 0 && a < pts.n; a = b) {
			for (b = a; b < pts.n && pts.v[b].series == pts.v[a].series; b++)
				;
			r = compact_series(s, pts.v + a, b - a, &delta, &blob);
		}
	}
	if (r == 0 && work) {
		rc = sqlite3_prepare_v2(s->db, "DELETE FROM points_new WHERE m < ?1", -1, &del,
		                        NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(del, 1, m1);
			rc = sqlite3_step(del);
		}
		sqlite3_finalize(del);
		if (rc != SQLITE_DONE)
			r = sq_fail(s, rc, "compacting points");
	}
	if (r == 0)
		r = count_add(s, "points_raw", delta);
	if (r == 0 && meta_get(s, "compacted", 0) < upto)
		r = meta_set(s, "compacted", upto);
	free(ids);
	pvec_free(&pts);
	buf_free(&blob);
	if (r < 0) {
		sq_rollback(s);
		return r;
	}
	return sq_commit(s);
}
