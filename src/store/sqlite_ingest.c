/*
 * sqlite_ingest.c - the SQLite backend storing frames: the put_frame and
 * mark_gone ops (store_put_frame(), store_mark_gone()).
 *
 * A frame arrives as the JSON Lines text the crawler writes.  It is read
 * line by line with frame/decode.c (values are kept as the exact text
 * written), all in one transaction:
 *
 *   header   the system row is created or updated; the header value is
 *            stored as a *template*: its volatile parts (the time, the
 *            durations in duration_ms and feature_ms) are replaced by
 *            placeholders ('#T', '#') and kept in the frame row (times as
 *            the frame's t, durations as varint microseconds in `nums`),
 *            so the header of an unchanged system is one shared record.
 *   records  each record is hashed (SHA-256 of feature, key and value
 *            text, first 16 bytes) and looked up among the records stored
 *            recently (a cache of hash -> id, shared by all systems) and
 *            the system's previous records of the feature (read back and
 *            hashed once when the cache does not hold them, e.g. after a
 *            restart); only a record found in neither is inserted.  There
 *            is no index on hashes: new records are appended, never
 *            scattered over a random-keyed index.
 *   metric   numeric fields of `metric` records become points of series
 *            "<base>.<field>" (features/metric_series.c: the key grammar), and the
 *            record itself is stored as a template with '#' where a
 *            number was, so a metric record costs its points and no text;
 *            the record is rebuilt from the points when read (sqlite_read.c).  A
 *            number whose text would not come back identical (too long, an
 *            exponent) stays literally in the template.
 *   sets     per feature, the frame's record ids in order, delta+zigzag
 *            varints; identical lists are one `sets` row (by hash), so a
 *            frame of an unchanged system adds one frames row (~60 bytes).
 *
 * A frame either goes in whole or not at all; on any error the
 * transaction is rolled back and the caches emptied.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../features/metric_series.h"
#include "../frame/decode.h"
#include "../util/sha256.h"
#include "../util/util.h"
#include "sqlite_internal.h"

#define MAX_PARTS 64

/* One feature's records within the frame being stored. */
struct part {
	char name[32];
	size_t nlen;
	int64_t fid;
	int64_t n, prev;
	struct buf ids;
	bool in_header; /* named in the header's features list */
	bool started, tried;
	uint64_t epoch0;    /* s->recs.epoch at the part's first record */
	struct hmap before; /* the system's previous records of the feature */
};

struct ingest {
	struct sqlite_store *s;
	int64_t sysrow, t;
	struct part parts[MAX_PARTS];
	int nparts, cur;
	struct buf tmpl, nums, scratch;
	struct pvec pts; /* the frame's metric points */
	int64_t npoints, nrecs_new;
	int lineno;
};

/* ---- points ------------------------------------------------------------------- */

/* ---- series ------------------------------------------------------------------- */

int64_t series_id(struct sqlite_store *s, int64_t sysrow, const char *name, size_t nlen,
                  const char *labels, size_t llen, bool create)
{
	struct buf k = BUF_INIT;
	buf_add(&k, &sysrow, sizeof(sysrow));
	buf_add(&k, name, nlen);
	buf_addc(&k, 0);
	buf_add(&k, labels, llen);
	int64_t id = hmap_get(&s->series, k.data, k.len);
	if (id) {
		buf_free(&k);
		return id;
	}
	sqlite3_stmt *st = stmt(s, ST_SERIES_FIND);
	if (!st) {
		buf_free(&k);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, sysrow);
	sqlite3_bind_text(st, 2, name, (int)nlen, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, labels, (int)llen, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
	} else if (rc != SQLITE_DONE) {
		id = sq_fail(s, rc, "finding a series");
	} else if (create) {
		st = stmt(s, ST_SERIES_INS);
		if (!st) {
			id = -EIO;
		} else {
			sqlite3_bind_int64(st, 1, sysrow);
			sqlite3_bind_text(st, 2, name, (int)nlen, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, labels, (int)llen, SQLITE_STATIC);
			rc = sqlite3_step(st);
			id = rc == SQLITE_DONE ? sqlite3_last_insert_rowid(s->db)
			                       : sq_fail(s, rc, "adding a series");
		}
	}
	if (st)
		sqlite3_reset(st);
	if (id > 0)
		hmap_put(&s->series, k.data, k.len, id);
	buf_free(&k);
	return id;
}

/* ---- records and sets --------------------------------------------------------- */

static int hash16(struct sqlite_store *s, const void *a, size_t an, const void *b, size_t bn,
                  const void *c, size_t cn, unsigned char out[16])
{
	unsigned char d[SHA256_LEN];
	static const char zero = 0;
	if (sha256_begin(s->sha) < 0 || sha256_update(s->sha, a, an) < 0 ||
	    sha256_update(s->sha, &zero, 1) < 0 || sha256_update(s->sha, b, bn) < 0 ||
	    sha256_update(s->sha, &zero, 1) < 0 || sha256_update(s->sha, c, cn) < 0 ||
	    sha256_end(s->sha, d) < 0)
		return sq_failf(s, -ENOMEM, "hashing failed");
	memcpy(out, d, 16);
	return 0;
}

/* key of s->warm: (system row, feature id) */
static void warm_key(int64_t sysrow, int64_t fid, unsigned char k[16])
{
	memcpy(k, &sysrow, 8);
	memcpy(k + 8, &fid, 8);
}

/* Hash -> id of each record of a varint id list (delta+zigzag) into m. */
static int preload_ids(struct ingest *in, const unsigned char *p, const unsigned char *end,
                       struct hmap *m)
{
	struct sqlite_store *s = in->s;
	uint64_t v;
	int64_t id = 0;
	while (p < end && vget(&p, end, &v)) {
		id += unzz(v);
		sqlite3_stmt *st = stmt(s, ST_REC_GET);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, id);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(st);
			return sq_fail(s, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
			               "reading a record");
		}
		const char *fn = feature_name(s, sqlite3_column_int64(st, 0));
		unsigned char h[16];
		int r = hash16(s, fn, strlen(fn), sqlite3_column_text(st, 1),
		               (size_t)sqlite3_column_bytes(st, 1), sqlite3_column_text(st, 2),
		               (size_t)sqlite3_column_bytes(st, 2), h);
		sqlite3_reset(st);
		if (r < 0)
			return r;
		hmap_put(m, h, 16, id);
	}
	return 0;
}

/*
 * The system's previous record set of this part's feature, as hashes, into
 * pt->before (sized for it, freed with the part): the records a new frame
 * most likely repeats.  Only needed when the cache does not already hold
 * them all (s->warm).
 */
static int load_prev(struct ingest *in, struct part *pt)
{
	struct sqlite_store *s = in->s;
	unsigned char wk[16];
	warm_key(in->sysrow, pt->fid, wk);
	if (hmap_get(&s->warm, wk, 16) == (int64_t)s->recs.epoch + 1)
		return 0;
	sqlite3_stmt *st = stmt(s, ST_PREV_FRAME);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, in->sysrow);
	sqlite3_bind_int64(st, 2, (int64_t)(1ULL << feature_bit(pt->fid)));
	int rc = sqlite3_step(st);
	struct buf parts = BUF_INIT, ids = BUF_INIT;
	if (rc == SQLITE_ROW)
		buf_add(&parts, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(s, rc, "reading the previous frame");
	/* no previous frame: parts.data is NULL (no arithmetic on it) */
	const unsigned char *p = (const unsigned char *)parts.data, *end = p ? p + parts.len : p;
	uint64_t set;
	int r = 0;
	int64_t n = 0;
	while (r == 0 && p < end && vget(&p, end, &set)) {
		st = stmt(s, ST_SET_GET);
		if (!st) {
			r = -EIO;
			break;
		}
		sqlite3_bind_int64(st, 1, (int64_t)set);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == pt->fid) {
			n = sqlite3_column_int64(st, 1);
			buf_add(&ids, sqlite3_column_blob(st, 2),
			        (size_t)sqlite3_column_bytes(st, 2));
		}
		sqlite3_reset(st);
		if (n)
			break;
	}
	if (r == 0 && n > 0) {
		uint32_t cap = 64;
		while (cap < (uint64_t)n * 2 && cap < (1u << 30))
			cap <<= 1;
		hmap_init(&pt->before, cap);
		r = preload_ids(in, (const unsigned char *)ids.data,
		                (const unsigned char *)ids.data + ids.len, &pt->before);
	}
	buf_free(&parts);
	buf_free(&ids);
	return r;
}

/* The previous frame's header record, if it is the one hashed `h`. */
static int prev_head(struct ingest *in, const unsigned char h[16], int64_t *id)
{
	struct sqlite_store *s = in->s;
	sqlite3_stmt *st = stmt(s, ST_PREV_FRAME);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, in->sysrow);
	sqlite3_bind_int64(st, 2, 0);
	int rc = sqlite3_step(st);
	int64_t head = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(s, rc, "reading the previous frame");
	if (!head)
		return 0;
	struct hmap one;
	struct buf v = BUF_INIT;
	hmap_init(&one, 4);
	vput(&v, zz(head));
	int r = preload_ids(in, (const unsigned char *)v.data,
	                    (const unsigned char *)v.data + v.len, &one);
	if (r == 0)
		*id = hmap_get(&one, h, 16);
	hmap_free(&one);
	buf_free(&v);
	return r;
}

/*
 * The id of the record (feature, key, value), inserted if new.  Records
 * are found by their hash: in the cache of recently stored records (any
 * system: containers of one image share their packages), else among the
 * system's previous records of the feature (`pt`; NULL for the header).
 * A record seen in neither is stored as a new one.
 */
static int intern_record(struct ingest *in, struct part *pt, int64_t fid, const char *fname,
                         size_t fnlen, struct js_span key, const char *val, size_t vlen,
                         int64_t *id)
{
	struct sqlite_store *s = in->s;
	unsigned char h[16];
	int r = hash16(s, fname, fnlen, key.p, key.n, val, vlen, h);
	if (r < 0)
		return r;
	if (pt && !pt->started) {
		pt->started = true;
		pt->epoch0 = s->recs.epoch;
	}
	*id = hmap_get(&s->recs, h, 16);
	if (!*id && pt) {
		if (!pt->tried) {
			pt->tried = true;
			r = load_prev(in, pt);
			if (r < 0)
				return r;
		}
		if (pt->before.e)
			*id = hmap_get(&pt->before, h, 16);
	} else if (!*id) {
		r = prev_head(in, h, id);
		if (r < 0)
			return r;
	}
	if (!*id) {
		sqlite3_stmt *st = stmt(s, ST_REC_INS);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, fid);
		sqlite3_bind_text(st, 2, key.p, (int)key.n, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, val, (int)vlen, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return sq_fail(s, rc, "storing a record");
		*id = sqlite3_last_insert_rowid(s->db);
		in->nrecs_new++;
	}
	hmap_put(&s->recs, h, 16, *id);
	return 0;
}

/* After the frame: parts whose records all went through the cache
 * without it being emptied leave it warm for their next frame. */
static void mark_warm(struct ingest *in)
{
	struct sqlite_store *s = in->s;
	for (int i = 0; i < in->nparts; i++) {
		struct part *pt = &in->parts[i];
		if (pt->started && pt->epoch0 == s->recs.epoch) {
			unsigned char wk[16];
			warm_key(in->sysrow, pt->fid, wk);
			hmap_put(&s->warm, wk, 16, (int64_t)s->recs.epoch + 1);
		}
	}
}

static int intern_set(struct ingest *in, struct part *pt, int64_t *id)
{
	struct sqlite_store *s = in->s;
	unsigned char h[16];
	char meta[32];
	int mn = snprintf(meta, sizeof(meta), "%lld/%lld", (long long)pt->fid, (long long)pt->n);
	int r =
	    hash16(s, "set", 3, meta, (size_t)mn, pt->ids.data ? pt->ids.data : "", pt->ids.len, h);
	if (r < 0)
		return r;
	sqlite3_stmt *st = stmt(s, ST_SET_INS);
	if (!st)
		return -EIO;
	sqlite3_bind_blob(st, 1, h, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, pt->fid);
	sqlite3_bind_int64(st, 3, pt->n);
	sqlite3_bind_blob(st, 4, pt->ids.data ? pt->ids.data : "", (int)pt->ids.len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, "storing a record set");
	if (sqlite3_changes(s->db) == 1) {
		*id = sqlite3_last_insert_rowid(s->db);
		return count_add(s, "sets", 1);
	}
	st = stmt(s, ST_SET_FIND);
	if (!st)
		return -EIO;
	sqlite3_bind_blob(st, 1, h, 16, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return *id ? 0 : sq_fail(s, rc == SQLITE_ROW ? SQLITE_CORRUPT : rc, "finding a record set");
}

static struct part *part_for(struct ingest *in, const char *name, size_t n, int *err)
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
		*err = sq_failf(in->s, -EINVAL, "frame line %d: bad or too many feature names",
		                in->lineno);
		return NULL;
	}
	int64_t fid = feature_id(in->s, name, n, true);
	if (fid < 0) {
		*err = (int)fid;
		return NULL;
	}
	struct part *pt = &in->parts[in->nparts];
	memset(pt, 0, sizeof(*pt));
	memcpy(pt->name, name, n);
	pt->nlen = n;
	pt->fid = fid;
	in->cur = in->nparts++;
	return pt;
}

static void part_add(struct part *pt, int64_t id)
{
	vput(&pt->ids, zz(id - pt->prev));
	pt->prev = id;
	pt->n++;
}

/* ---- the header ----------------------------------------------------------------- */

/* The header: in->tmpl gets its template and in->nums its durations
 * (varints); the features it names become the frame's first parts. */
static int parse_header(struct ingest *in, const struct frame_line *l, struct frame_head *h)
{
	char err[200];
	buf_reset(&in->scratch);
	int r = frame_head_decode(l->value, in->t, h, &in->tmpl, &in->scratch, err, sizeof(err));
	if (r < 0)
		return sq_failf(in->s, r, "%s", err);
	const int64_t *d = (const int64_t *)(void *)in->scratch.data;
	for (size_t i = 0; i < in->scratch.len / sizeof(int64_t); i++)
		vput(&in->nums, zz(d[i]));
	/* the parts named in the header come first, in its order */
	if (h->features.p) {
		struct js_iter it;
		struct js_span v;
		js_iter_begin(&it, h->features, 0);
		while (js_arr_next(&it, &v) == 1) {
			struct js_span fname;
			if (!js_str(v, &fname))
				continue;
			int e = 0;
			struct part *pt = part_for(in, fname.p, fname.n, &e);
			if (!pt)
				return e;
			pt->in_header = true;
		}
		in->cur = -1;
	}
	return 0;
}

static void bind_span(sqlite3_stmt *st, int i, bool has, struct js_span v)
{
	if (has)
		sqlite3_bind_text(st, i, v.p, (int)v.n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static int upsert_system(struct ingest *in, const struct frame_line *l, const struct frame_head *h)
{
	struct sqlite_store *s = in->s;
	sqlite3_stmt *st = stmt(s, ST_SYS_UPSERT);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, l->system.p, (int)l->system.n, SQLITE_STATIC);
	bind_span(st, 2, h->has_name, h->name);
	bind_span(st, 3, h->has_kind, h->kind);
	bind_span(st, 4, h->has_runtime, h->runtime);
	bind_span(st, 5, h->has_image, h->image);
	bind_span(st, 6, h->has_host, h->host);
	if (h->labels.p)
		sqlite3_bind_text(st, 7, h->labels.p, (int)h->labels.n, SQLITE_STATIC);
	else
		sqlite3_bind_text(st, 7, "{}", 2, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, in->t);
	sqlite3_bind_int64(st, 9, store_future_ms());
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		in->sysrow = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : sq_fail(s, rc, "storing the system");
}

/* ---- metric records ----------------------------------------------------------- */

/* A point of a metric record (metric_series_record's callback). */
static int add_point(void *ctx, struct js_span name, struct js_span labels,
                     const struct frame_num *v)
{
	struct ingest *in = ctx;
	int64_t sid = series_id(in->s, in->sysrow, name.p, name.n, labels.p, labels.n, true);
	if (sid < 0)
		return (int)sid;
	struct point p = {.t = in->t,
	                  .i = v->isint ? v->i : 0,
	                  .d = v->d,
	                  .type = v->isint ? SQLITE_INTEGER : SQLITE_FLOAT,
	                  .series = sid};
	return pvec_add(&in->pts, &p);
}

/* The frame's points as one row of points_new (merged into the row of a
 * frame of the same system and time stored before). */
static int store_points(struct ingest *in)
{
	struct sqlite_store *s = in->s;
	pvec_sort_unique(&in->pts);
	int64_t m = floor_to(in->t, MS_MIN) / MS_MIN;
	buf_reset(&in->scratch);
	fpoints_encode(in->pts.v, in->pts.n, &in->scratch);
	sqlite3_stmt *st = stmt(s, ST_POINT_INS);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, m);
	sqlite3_bind_int64(st, 2, in->sysrow);
	sqlite3_bind_int64(st, 3, in->t);
	sqlite3_bind_blob(st, 4, in->scratch.data, (int)in->scratch.len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, "storing points");
	if (sqlite3_changes(s->db) == 1) {
		in->npoints += (int64_t)in->pts.n;
		return 0;
	}
	/* the same system and time again: merge, the new values win */
	struct pvec old = {0};
	st = stmt(s, ST_POINT_GET);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, m);
	sqlite3_bind_int64(st, 2, in->sysrow);
	sqlite3_bind_int64(st, 3, in->t);
	int r = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		r = fpoints_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
		                   in->t, 0, &old);
	sqlite3_reset(st);
	size_t had = old.n;
	for (size_t k = 0; r == 0 && k < in->pts.n; k++)
		r = pvec_add(&old, &in->pts.v[k]);
	if (r == 0) {
		pvec_sort_unique(&old);
		in->npoints += (int64_t)old.n - (int64_t)had;
		buf_reset(&in->scratch);
		fpoints_encode(old.v, old.n, &in->scratch);
		st = stmt(s, ST_POINT_UPD);
		if (!st) {
			r = -EIO;
		} else {
			sqlite3_bind_int64(st, 1, m);
			sqlite3_bind_int64(st, 2, in->sysrow);
			sqlite3_bind_int64(st, 3, in->t);
			sqlite3_bind_blob(st, 4, in->scratch.data, (int)in->scratch.len,
			                  SQLITE_STATIC);
			rc = sqlite3_step(st);
			sqlite3_reset(st);
			if (rc != SQLITE_DONE)
				r = sq_fail(s, rc, "storing points");
		}
	}
	pvec_free(&old);
	return r;
}

/* ---- the frame -------------------------------------------------------------------- */

static int store_record(struct ingest *in, const struct frame_line *l)
{
	int err = 0;
	struct part *pt = part_for(in, l->feature.p, l->feature.n, &err);
	if (!pt)
		return err;
	/* the value was validated by frame_line_decode */
	const char *val = l->value.p;
	size_t vlen = l->value.n;
	if (metric_series_feature(l->feature)) {
		/* points for its numeric fields; the record becomes a template */
		buf_reset(&in->tmpl);
		int r = metric_series_record(l->key, l->value, &in->tmpl, add_point, in);
		if (r < 0)
			return r;
		if (r == 1) {
			val = in->tmpl.data;
			vlen = in->tmpl.len;
		}
	}
	int64_t id;
	int r = intern_record(in, pt, pt->fid, pt->name, pt->nlen, l->key, val, vlen, &id);
	if (r < 0)
		return r;
	part_add(pt, id);
	return 0;
}

static int finish_frame(struct ingest *in, int64_t head, int64_t *frame_id)
{
	struct sqlite_store *s = in->s;
	struct buf parts = BUF_INIT;
	uint64_t fmask = 0;
	int r = 0;
	for (int i = 0; i < in->nparts && r == 0; i++) {
		int64_t set = 0;
		r = intern_set(in, &in->parts[i], &set);
		if (r == 0) {
			vput(&parts, (uint64_t)set);
			fmask |= 1ULL << feature_bit(in->parts[i].fid);
		}
	}
	sqlite3_stmt *st = r == 0 ? stmt(s, ST_FRAME_INS) : NULL;
	if (r == 0 && !st)
		r = -EIO;
	if (r == 0) {
		sqlite3_bind_int64(st, 1, in->sysrow);
		sqlite3_bind_int64(st, 2, in->t);
		sqlite3_bind_int64(st, 3, (int64_t)fmask);
		sqlite3_bind_int64(st, 4, head);
		if (in->nums.len)
			sqlite3_bind_blob(st, 5, in->nums.data, (int)in->nums.len, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_blob(st, 6, parts.data ? parts.data : "", (int)parts.len,
		                  SQLITE_STATIC);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			r = sq_fail(s, rc, "storing the frame");
		else
			*frame_id = sqlite3_last_insert_rowid(s->db);
	}
	st = r == 0 ? stmt(s, ST_SYS_FMASK) : NULL;
	if (r == 0 && !st)
		r = -EIO;
	if (r == 0) {
		/* the union of the system's frames' features, for store_frame_json */
		sqlite3_bind_int64(st, 1, in->sysrow);
		sqlite3_bind_int64(st, 2, (int64_t)fmask);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			r = sq_fail(s, rc, "updating the system");
	}
	buf_free(&parts);
	return r;
}

/* Lower the roll-up watermarks when points land in rolled buckets. */
static int note_points(struct ingest *in)
{
	struct sqlite_store *s = in->s;
	sqlite3_stmt *st = stmt(s, ST_SYS_METRIC);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, in->sysrow);
	sqlite3_bind_int64(st, 2, in->t);
	sqlite3_bind_int64(st, 3, store_future_ms());
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, "updating the system");
	int64_t m = floor_to(in->t, MS_MIN), h = floor_to(in->t, MS_HOUR);
	int r = 0;
	if (s->wm1m < 0 || m < s->wm1m) {
		r = meta_set(s, "rollup_1m", m);
		if (r == 0 && s->wm1m >= 0)
			s->wm1m = m; /* the next frame of a batch compares with it */
	}
	if (r == 0 && (s->wm1h < 0 || h < s->wm1h)) {
		r = meta_set(s, "rollup_1h", h);
		if (r == 0 && s->wm1h >= 0)
			s->wm1h = h;
	}
	return r;
}

static void ingest_free(struct ingest *in)
{
	for (int i = 0; i < in->nparts; i++) {
		buf_free(&in->parts[i].ids);
		hmap_free(&in->parts[i].before);
	}
	buf_free(&in->tmpl);
	pvec_free(&in->pts);
	buf_free(&in->nums);
	buf_free(&in->scratch);
}

static int ingest_lines(struct ingest *in, const char *p, const char *end, int64_t *frame_id)
{
	struct sqlite_store *s = in->s;
	struct frame_line l, hl = {0};
	struct frame_head h;
	int64_t head = 0;
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
			return sq_failf(s, r, "frame line %d: %s", in->lineno, err);
		if (!have_header) {
			bool ok;
			if (!js_eq(l.feature, "frame") || !l.time.p)
				return sq_failf(
				    s, -EINVAL,
				    "frame line %d: the first record must be the frame header"
				    " (feature \"frame\" with a time)",
				    in->lineno);
			in->t = frame_parse_time(l.time.p, l.time.n, &ok);
			if (!ok)
				return sq_failf(s, -EINVAL, "frame header: bad time \"%.*s\"",
				                (int)(l.time.n > 40 ? 40 : l.time.n), l.time.p);
			hl = l;
			r = parse_header(in, &l, &h);
			if (r == 0)
				r = upsert_system(in, &l, &h);
			if (r == 0) {
				int64_t fid = feature_id(s, "frame", 5, true);
				r = fid < 0 ? (int)fid
				            : intern_record(in, NULL, fid, "frame", 5, l.system,
				                            in->tmpl.data, in->tmpl.len, &head);
			}
			have_header = true;
		} else if (js_eq(l.feature, "frame")) {
			return sq_failf(s, -EINVAL, "frame line %d: a second frame header",
			                in->lineno);
		} else if (l.system.n != hl.system.n ||
		           memcmp(l.system.p, hl.system.p, l.system.n) != 0) {
			return sq_failf(s, -EINVAL, "frame line %d: a record of another system",
			                in->lineno);
		} else {
			r = store_record(in, &l);
		}
		p = nl ? nl + 1 : end;
	}
	if (r == 0 && !have_header)
		r = sq_failf(s, -EINVAL, "no frame header (an empty frame)");
	if (r == 0)
		r = finish_frame(in, head, frame_id);
	if (r == 0 && in->pts.n)
		r = store_points(in);
	if (r == 0 && in->pts.n)
		r = note_points(in);
	if (r == 0)
		r = count_add(s, "frames", 1);
	if (r == 0)
		r = count_add(s, "records", in->nrecs_new);
	if (r == 0)
		r = count_add(s, "points_raw", in->npoints);
	if (r == 0)
		mark_warm(in);
	return r;
}

/* One frame inside the open transaction. */
static int put_one(struct sqlite_store *s, const char *jsonl, size_t len, int64_t *frame_id)
{
	struct ingest *in = calloc(1, sizeof(*in));
	if (!in)
		return sq_failf(s, -ENOMEM, "out of memory");
	in->s = s;
	in->cur = -1;
	int r = ingest_lines(in, jsonl, jsonl + len, frame_id);
	ingest_free(in);
	free(in);
	return r;
}

static void reload_watermarks(struct sqlite_store *s)
{
	s->wm1m = meta_get(s, "rollup_1m", -1);
	s->wm1h = meta_get(s, "rollup_1h", -1);
}

int sqlite_put_frame(struct store *base, const char *jsonl, size_t len, int64_t *frame_id)
{
	struct sqlite_store *s = sq(base);
	if (s->ro)
		return sq_failf(s, -EROFS, "the store is open read-only");
	int r = sq_sync_caches(s);
	if (r < 0)
		return r;
	r = sq_begin(s);
	if (r < 0)
		return r;
	int64_t id = 0;
	r = put_one(s, jsonl, len, &id);
	if (r == 0)
		r = sq_commit(s);
	else
		sq_rollback(s);
	if (r == 0) {
		reload_watermarks(s); /* they may have moved */
		if (frame_id)
			*frame_id = id;
	}
	return r;
}

/*
 * A batch: one transaction, a savepoint per frame.  A frame refused is
 * rolled back to its savepoint alone (and the caches, which may name rows
 * it added, are emptied); a transient error, or an error after which
 * SQLite has rolled the whole transaction back itself (autocommit again),
 * ends the batch with nothing stored.
 */
static int put_batch(struct sqlite_store *s, struct store_frame *f, int n, const char *group,
                     const struct store_offset *o, size_t no)
{
	int r = s->ro ? sq_failf(s, -EROFS, "the store is open read-only") : 0;
	if (r == 0)
		r = sq_sync_caches(s);
	if (r == 0)
		r = sq_begin(s);
	for (int i = 0; i < n && r == 0; i++) {
		f[i].id = 0;
		f[i].err = sq_exec(s, "SAVEPOINT frame");
		if (f[i].err == 0)
			f[i].err = put_one(s, f[i].jsonl, f[i].len, &f[i].id);
		if (f[i].err == 0) {
			r = sq_exec(s, "RELEASE frame");
			continue;
		}
		if (f[i].err == -ENOSPC || f[i].err == -EBUSY || sqlite3_get_autocommit(s->db)) {
			r = f[i].err;
			break;
		}
		char why[sizeof(s->err)]; /* the frame's message outlives the rollback */
		memcpy(why, s->err, sizeof(why));
		r = sq_exec(s, "ROLLBACK TO frame; RELEASE frame");
		sq_caches_clear(s);
		reload_watermarks(s);
		if (r == 0)
			memcpy(s->err, why, sizeof(why));
	}
	if (r == 0 && group)
		r = offsets_put(s, group, o, no);
	if (r == 0)
		r = sq_commit(s);
	if (r < 0) {
		sq_rollback(s);
		for (int i = 0; i < n; i++)
			f[i].err = r, f[i].id = 0;
		return r;
	}
	reload_watermarks(s);
	return 0;
}

int sqlite_put_frames(struct store *base, struct store_frame *f, int n)
{
	return put_batch(sq(base), f, n, NULL, NULL, 0);
}

int sqlite_put_frames_at(struct store *base, struct store_frame *f, int n, const char *group,
                         const struct store_offset *o, size_t no)
{
	if (!group || !*group)
		return sq_failf(sq(base), -EINVAL, "no consumer group given");
	return put_batch(sq(base), f, n, group, o, no);
}

/* ---- gone systems --------------------------------------------------------------- */

int sqlite_mark_gone(struct store *base, const char *kind, const char *host,
                     const char *const *present, int n, int64_t now_ms)
{
	struct sqlite_store *s = sq(base);
	if (s->ro)
		return sq_failf(s, -EROFS, "the store is open read-only");
	int r = sq_begin(s);
	if (r < 0)
		return r;
	r = sq_exec(s, "CREATE TEMP TABLE IF NOT EXISTS present(sid TEXT PRIMARY KEY);"
	               "DELETE FROM temp.present;");
	sqlite3_stmt *st = NULL;
	struct buf e = BUF_INIT, h = BUF_INIT;
	int rc = SQLITE_OK;
	if (r == 0)
		rc = sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO temp.present(sid) VALUES(?1)",
		                        -1, &st, NULL);
	for (int i = 0; r == 0 && rc == SQLITE_OK && i < n; i++) {
		buf_reset(&e);
		js_escape_raw(&e, present[i], strlen(present[i]));
		sqlite3_bind_text(st, 1, e.data, (int)e.len, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (r == 0 && rc != SQLITE_OK)
		r = sq_fail(s, rc, "marking gone systems");
	for (int pass = 0; pass < 2 && r == 0; pass++) {
		const char *sql =
		    pass == 0
		        ? "UPDATE systems SET gone = 1, gone_at = ?2 WHERE kind = ?1 AND gone = 0"
		          " AND (?3 IS NULL OR host = ?3)"
		          " AND sid NOT IN (SELECT sid FROM temp.present)"
		        : "UPDATE systems SET gone = 0, gone_at = NULL, gone_reason = NULL WHERE "
		          "kind = ?1"
		          " AND gone = 1"
		          " AND sid IN (SELECT sid FROM temp.present)";
		rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
		if (rc == SQLITE_OK) {
			buf_reset(&e);
			js_escape_raw(&e, kind, strlen(kind));
			sqlite3_bind_text(st, 1, e.data, (int)e.len, SQLITE_STATIC);
			if (pass == 0)
				sqlite3_bind_int64(st, 2, now_ms);
			if (pass == 0 && host) {
				js_escape_raw(&h, host, strlen(host));
				sqlite3_bind_text(st, 3, h.data, (int)h.len, SQLITE_STATIC);
			}
			rc = sqlite3_step(st);
			sqlite3_finalize(st);
		}
		if (rc != SQLITE_DONE)
			r = sq_fail(s, rc, "marking gone systems");
	}
	buf_free(&h);
	buf_free(&e);
	if (r == 0)
		return sq_commit(s);
	sq_rollback(s);
	return r;
}
