/*
 * fuzz_frame.c - frames as they arrive from Kafka and as the store reads
 * them: bus messages (src/frame/busmsg.c), full and delta frames
 * (src/frame/delta.c), record lines, frame headers and their templates
 * (src/frame/decode.c), metric records and their templates
 * (src/features/metric_series.c) rebuilt the store's way
 * (src/store/store_json.c).
 *
 * The first byte picks (fuzz_pick, 3):
 *   0  Kafka messages, separated by NUL bytes, of one chain, read as
 *      `vantage ingest` reads them (busmsg_parse, then delta_split of a
 *      full frame or delta_apply of a delta on the base kept from the last
 *      full frame), every frame got this way then read as the store does
 *      (below)
 *   1  two JSON Lines frames separated by a NUL byte, a base and the next
 *      one: the Kafka sink's delta_encode between them and delta_apply of
 *      that must rebuild the next frame's records (same set hash)
 *   2  one JSON Lines frame as the store's ingest reads it: each line
 *      decoded (frame_line_decode); the header's template and durations
 *      (frame_head_decode) rendered back (frame_tmpl_render) and decoded
 *      again giving the same template; each metric record's template and
 *      points (metric_series_record) rendered back (sj_record_value) and
 *      taken apart again giving the same; sj_valid_json of each value
 *
 * Seeds (fuzz/corpus/frame/, first byte the pick): frames of
 * `build/vantage crawl` of this machine's host and a container (small
 * features), a delta between two of them, and the Kafka messages the
 * Kafka sink made of them (captured from tests/integration/kafka_mock.c).
 */
#include "fuzz.h"

#include "features/metric_series.h"
#include "frame/busmsg.h"
#include "frame/decode.h"
#include "frame/delta.h"
#include "store/store_json.h"
#include "util/buf.h"
#include "util/jscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL

/* Equal byte strings (either may be NULL when empty). */
static bool same(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* ---- the store's reading of one frame ------------------------------------------ */

struct nums {
	int64_t *v;
	size_t n, cap, at;
};

static void nums_add(struct nums *s, int64_t v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			abort();
	}
	s->v[s->n++] = v;
}

static void header_hole(void *ctx, struct js_span member, struct buf *out)
{
	struct nums *s = ctx;
	if (s->at < s->n)
		frame_put_milli(out, s->v[s->at++]);
	else
		buf_add(out, "null", 4);
}

/* A header value: template and durations, rendered and decoded again. */
static void header(struct js_span value, int64_t t)
{
	struct frame_head h;
	struct buf tmpl = BUF_INIT, durs = BUF_INIT, again = BUF_INIT, tmpl2 = BUF_INIT,
	           durs2 = BUF_INIT, out = BUF_INIT;
	char err[256];
	if (frame_head_decode(value, t, &h, &tmpl, &durs, err, sizeof(err)) == 0) {
		struct nums s = {0};
		for (size_t i = 0; i + sizeof(int64_t) <= durs.len; i += sizeof(int64_t)) {
			int64_t m;
			memcpy(&m, durs.data + i, sizeof(m));
			nums_add(&s, m);
		}
		frame_tmpl_render((struct js_span){tmpl.data, tmpl.len}, t, header_hole, &s,
		                  &again);
		if (s.at != s.n)
			__builtin_trap(); /* every duration taken out has its '#' */
		/* the rebuilt header is the same header */
		struct frame_head h2;
		if (frame_head_decode((struct js_span){again.data, again.len}, t, &h2, &tmpl2,
		                      &durs2, err, sizeof(err)) != 0)
			__builtin_trap();
		if (!same(tmpl2.data, tmpl2.len, tmpl.data, tmpl.len) ||
		    !same(durs2.data, durs2.len, durs.data, durs.len))
			__builtin_trap();
		/* and the store's way of rebuilding it */
		s.at = 0;
		buf_addc(&tmpl, 0);
		sj_record_value("frame", "", tmpl.data, tmpl.len - 1, t, NULL, NULL, NULL,
		                header_hole, &s, &out);
		if (!same(out.data, out.len, again.data, again.len))
			__builtin_trap();
		free(s.v);
	}
	buf_free(&tmpl);
	buf_free(&durs);
	buf_free(&again);
	buf_free(&tmpl2);
	buf_free(&durs2);
	buf_free(&out);
}

struct pts {
	struct buf text; /* each exact point's value as written back, NUL-separated */
	struct nums ends;
	size_t at, pos;
	unsigned n;
};

static int point(void *ctx, struct js_span name, struct js_span labels, const struct frame_num *v)
{
	struct pts *p = ctx;
	p->n++;
	if (!v->exact)
		return 0;
	char b[64];
	int n = v->isint ? snprintf(b, sizeof(b), "%lld", (long long)v->i)
	                 : frame_fmt_double(v->d, b, sizeof(b));
	buf_add(&p->text, b, (size_t)n);
	nums_add(&p->ends, (int64_t)p->text.len);
	return 0;
}

static void metric_hole(void *ctx, struct js_span field, struct buf *out)
{
	struct pts *p = ctx;
	if (p->at >= p->ends.n)
		__builtin_trap(); /* a '#' with no point */
	size_t e = (size_t)p->ends.v[p->at++];
	buf_add(out, p->text.data + p->pos, e - p->pos);
	p->pos = e;
}

/* A metric record: template and points, rendered the store's way and taken
 * apart again giving the same. */
static void metric(struct js_span feature, struct js_span key, struct js_span value, int64_t t)
{
	struct pts a = {.text = BUF_INIT}, b = {.text = BUF_INIT};
	struct buf tmpl = BUF_INIT, tmpl2 = BUF_INIT, out = BUF_INIT, labels = BUF_INIT;
	if (metric_series_record(key, value, &tmpl, point, &a) == 1) {
		char *k = strndup(key.p, key.n), *f = strndup(feature.p, feature.n);
		struct metric_key mk;
		buf_addc(&tmpl, 0);
		sj_record_value(f, k, tmpl.data, tmpl.len - 1, t, &mk, &labels, metric_hole, NULL,
		                &a, &out);
		if (memchr(tmpl.data, '#', tmpl.len - 1) && a.at != a.ends.n)
			__builtin_trap(); /* a point with no '#' */
		if (metric_series_record(key, (struct js_span){out.data, out.len}, &tmpl2, point,
		                         &b) != 1 ||
		    !same(tmpl2.data, tmpl2.len, tmpl.data, tmpl.len - 1) || b.n != a.n ||
		    !same(b.text.data, b.text.len, a.text.data, a.text.len))
			__builtin_trap();
		free(k);
		free(f);
	}
	buf_free(&a.text);
	free(a.ends.v);
	buf_free(&b.text);
	free(b.ends.v);
	buf_free(&tmpl);
	buf_free(&tmpl2);
	buf_free(&out);
	buf_free(&labels);
}

static void store_read(const char *p, size_t len)
{
	const char *end = p + len;
	char err[256];
	struct buf v = BUF_INIT;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct frame_line l;
		if (le > p && frame_line_decode(p, le, &l, err, sizeof(err)) == 0) {
			if (!l.system.p || !l.feature.p || !l.key.p || !l.value.p)
				__builtin_trap();
			int64_t t = T0;
			if (l.time.p) {
				bool ok;
				int64_t x = frame_parse_time(l.time.p, l.time.n, &ok);
				if (ok)
					t = x;
			}
			buf_reset(&v);
			buf_add(&v, l.value.p, l.value.n);
			buf_addc(&v, 0);
			if (!sj_valid_json(v.data))
				__builtin_trap(); /* frame_line_decode took it as JSON */
			if (js_eq(l.feature, "frame"))
				header(l.value, t);
			else if (metric_series_feature(l.feature))
				metric(l.feature, l.key, l.value, t);
			else if (l.value.n && (l.value.p[0] == '-' ||
			                       (l.value.p[0] >= '0' && l.value.p[0] <= '9'))) {
				struct frame_num n;
				frame_parse_number(l.value, &n);
			}
		}
		p = le + 1;
	}
	buf_free(&v);
}

/* ---- Kafka messages ------------------------------------------------------------ */

static void messages(const char *p, size_t len)
{
	struct delta_set base, tmp;
	delta_set_init(&base);
	delta_set_init(&tmp);
	bool have = false;
	struct buf rebuilt = BUF_INIT;
	char err[256];
	const char *end = p + len;
	while (p < end) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
		struct busmsg m;
		size_t bo = 0;
		int r = busmsg_parse(p, n, &m, &bo, err, sizeof(err));
		if (r == 0) {
			if (bo > n || m.part < 1 || m.part > m.parts ||
			    m.parts > BUSMSG_MAX_PARTS || strlen(m.hash) > DELTA_HASH_LEN ||
			    strlen(m.system) >= BUSMSG_MAX_ID)
				__builtin_trap();
			/* the envelope written again reads back the same */
			struct buf w = BUF_INIT;
			busmsg_write(&w, &m);
			struct busmsg m2;
			size_t bo2;
			if (busmsg_parse(w.data, w.len, &m2, &bo2, err, sizeof(err)) != 0 ||
			    bo2 != w.len || m2.seq != m.seq || m2.len != m.len ||
			    m2.delta != m.delta || strcmp(m2.system, m.system) != 0 ||
			    strcmp(m2.chain, m.chain) != 0 || strcmp(m2.hash, m.hash) != 0 ||
			    strcmp(m2.base, m.base) != 0)
				__builtin_trap();
			buf_free(&w);
			const char *body = p + bo;
			size_t blen = n - bo;
			if (!m.delta) {
				const char *h;
				size_t hl;
				if (delta_split(body, blen, &h, &hl, &tmp, err, sizeof(err)) == 0) {
					struct delta_set t = base;
					base = tmp;
					tmp = t;
					have = true;
				} else {
					have = false;
				}
				store_read(body, blen);
			} else if (have && strcmp(base.hash, m.base) == 0) {
				buf_reset(&rebuilt);
				if (delta_apply(&base, body, blen, m.hash, &rebuilt, &tmp, err,
				                sizeof(err)) == 0) {
					struct delta_set t = base;
					base = tmp;
					tmp = t;
					store_read(rebuilt.data, rebuilt.len);
				}
			}
		}
		p += n + 1;
	}
	delta_set_free(&base);
	delta_set_free(&tmp);
	buf_free(&rebuilt);
}

/* ---- delta round trip ---------------------------------------------------------- */

static void roundtrip(const char *p, size_t len)
{
	const char *z = memchr(p, 0, len);
	if (!z)
		return;
	const char *q = z + 1;
	size_t blen = (size_t)(z - p), clen = len - blen - 1;
	struct delta_set base, cur, out;
	delta_set_init(&base);
	delta_set_init(&cur);
	delta_set_init(&out);
	const char *h, *h2;
	size_t hl, hl2;
	char err[256];
	if (delta_split(p, blen, &h, &hl, &base, err, sizeof(err)) == 0 &&
	    delta_split(q, clen, &h2, &hl2, &cur, err, sizeof(err)) == 0) {
		struct buf body = BUF_INIT, frame = BUF_INIT;
		delta_encode(&base, h2, hl2, &cur, &body);
		if (delta_apply(&base, body.data, body.len, cur.hash, &frame, &out, err,
		                sizeof(err)) != 0)
			__builtin_trap(); /* our own delta does not apply */
		if (out.n != cur.n || strcmp(out.hash, cur.hash) != 0)
			__builtin_trap();
		/* the rebuilt frame splits into the same set */
		char hash[DELTA_HASH_LEN + 1];
		if (delta_frame_hash(frame.data, frame.len, hash, err, sizeof(err)) != 0 ||
		    strcmp(hash, cur.hash) != 0)
			__builtin_trap();
		buf_free(&body);
		buf_free(&frame);
	}
	delta_set_free(&base);
	delta_set_free(&cur);
	delta_set_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned k = fuzz_pick(&data, &size, 3);
	const char *s = (const char *)data; /* no NUL after it, as a Kafka payload has none */
	switch (k) {
	case 0:
		messages(s, size);
		break;
	case 1:
		roundtrip(s, size);
		break;
	default:
		store_read(s, size);
		break;
	}
	return 0;
}
