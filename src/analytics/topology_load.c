/*
 * topology_load.c - fill a topology's input (topology.h) from the store
 * or from frames as `vantage crawl` writes them.
 *
 * From the store, per system: the records of its last frame holding
 * `connection` at the time asked (store_frame_json), those of the frame
 * holding it before that one (for the rates: the deltas of the tcp_info
 * counters between the two), and its addresses from its `os` record (its
 * `interface` records when it has none).  With a time, a system gone
 * before it (its last connection frame older than TOPO_STALE_MS before
 * the time and the system marked gone) is left out.
 *
 * Everything is read with the raw scanner (util/jscan.h) except the list
 * of systems (jansson: one small object per system).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/jscan.h"
#include "../util/timefmt.h"
#include "../util/xalloc.h"
#include "topology.h"
#include "topology_load.h"

/* ---- a stored answer {"frame": header, "records": [...]} ------------------- */

typedef void (*rec_fn)(void *ctx, struct js_span feature, struct js_span value);

/* The header's "time" in ms (0 when absent). */
static int64_t header_time(struct js_span h)
{
	struct js_iter it;
	struct js_span name, val, c;
	int64_t ms = 0;

	if (js_iter_begin(&it, h, JS_TRUSTED) < 0) /* validated by parse_answer's pass */
		return 0;
	while (js_obj_next(&it, &name, &val) == 1)
		if (js_eq(name, "time") && js_str(val, &c) && parse_time_iso(c.p, c.n, &ms) == 0)
			return ms;
	return 0;
}

static int parse_answer(const char *text, size_t n, int64_t *time_ms, rec_fn fn, void *ctx)
{
	struct js_span whole = {text, n}, name, val, rec, rn, rv;
	struct js_iter it, ri, fi;
	int r;

	*time_ms = 0;
	if (js_iter_begin(&it, whole, 0) < 0)
		return -EINVAL;
	while ((r = js_obj_next(&it, &name, &val)) == 1) {
		if (js_eq(name, "frame")) {
			*time_ms = header_time(val);
		} else if (js_eq(name, "records")) {
			/* the pass over the whole answer validated it: trusted below */
			if (js_iter_begin(&ri, val, JS_TRUSTED) < 0)
				return -EINVAL;
			while ((r = js_arr_next(&ri, &rec)) == 1) {
				struct js_span feature = {"", 0}, value = {NULL, 0}, c;
				if (js_iter_begin(&fi, rec, JS_TRUSTED) < 0)
					return -EINVAL;
				while (js_obj_next(&fi, &rn, &rv) == 1) {
					if (js_eq(rn, "feature") && js_str(rv, &c))
						feature = c;
					else if (js_eq(rn, "value"))
						value = rv;
				}
				if (value.p)
					fn(ctx, feature, value);
			}
			if (r < 0)
				return -EINVAL;
		}
	}
	return r < 0 ? -EINVAL : 0;
}

static void add_sock_rec(void *ctx, struct js_span feature, struct js_span value)
{
	struct topo_system *s = ctx;
	struct topo_sock k;
	if (js_eq(feature, "connection") && topo_parse_connection(value.p, value.n, &k) == 1)
		topo_add_sock(s, &k);
}

static void add_addr_rec(void *ctx, struct js_span feature, struct js_span value)
{
	topo_parse_addresses(value.p, value.n, ctx);
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int load_all(struct store *st, int64_t at_ms, struct topo_input *in, char *err,
                    size_t errlen)
{
	struct store_system_filter f = {.gone = at_ms ? -1 : 0};
	struct buf b = {0};
	json_error_t je;
	int r = store_systems_json(st, &f, &b);

	in->at_ms = at_ms;
	err[0] = 0;
	if (r < 0) {
		snprintf(err, errlen, "cannot list the systems: %s", store_errmsg(st));
		buf_free(&b);
		return r;
	}
	json_t *list = json_loadb(b.data, b.len, 0, &je);
	if (!json_is_array(list)) {
		snprintf(err, errlen, "the store's list of systems does not parse: %s", je.text);
		json_decref(list);
		buf_free(&b);
		return -EINVAL;
	}
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o)
	{
		const char *id = jstr(o, "id");
		int64_t t;
		if (!id)
			continue;
		buf_reset(&b);
		r = store_frame_json(st, id, at_ms, "connection", &b);
		if (r == -ENOENT) {
			r = 0; /* no frame with connections (then) */
			continue;
		}
		if (r < 0)
			break;
		struct topo_system *s = topo_add_system(in, id, jstr(o, "name"), jstr(o, "kind"),
		                                        jstr(o, "image"), jstr(o, "host"));
		r = parse_answer(b.data, b.len, &s->time_ms, add_sock_rec, s);
		if (r < 0) {
			snprintf(err, errlen, "%s: the stored connection records do not parse", id);
			break;
		}
		if (at_ms && json_is_true(json_object_get(o, "gone")) &&
		    s->time_ms < at_ms - TOPO_STALE_MS) {
			/* gone before the time asked: not part of the graph */
			struct topo_system *last = &in->sys[--in->n];
			free(last->id);
			free(last->name);
			free(last->kind);
			free(last->image);
			free(last->host);
			free(last->socks);
			r = 0;
			continue;
		}
		/* the frame before, for the rates */
		buf_reset(&b);
		if (s->time_ms > 0 &&
		    store_frame_json(st, id, s->time_ms - 1, "connection", &b) == 0) {
			struct topo_system prev = {0};
			if (parse_answer(b.data, b.len, &t, add_sock_rec, &prev) == 0)
				topo_set_prev(s, prev.socks, prev.nsocks, t);
			free(prev.socks);
		}
		/* addresses */
		buf_reset(&b);
		r = store_frame_json(st, id, at_ms, "os", &b);
		if (r == 0)
			parse_answer(b.data, b.len, &t, add_addr_rec, s);
		if (s->naddrs == 0) {
			buf_reset(&b);
			if (store_frame_json(st, id, at_ms, "interface", &b) == 0)
				parse_answer(b.data, b.len, &t, add_addr_rec, s);
		}
		r = 0;
	}
	if (r < 0 && !*err)
		snprintf(err, errlen, "reading the store: %s", store_errmsg(st));
	json_decref(list);
	buf_free(&b);
	return r < 0 ? r : 0;
}

/* ---- frames as `vantage crawl` writes them -------------------------------- */

static char *span_dup(struct js_span v)
{
	struct buf b = {0};
	struct js_span c;
	if (!js_str(v, &c))
		return NULL;
	js_unescape(&b, c.p, c.n);
	char *s = xstrdup(buf_str(&b));
	buf_free(&b);
	return s;
}

/* A header record's value: a new system of `in` (or the one of that id). */
static struct topo_system *header_system(struct topo_input *in, struct js_span h)
{
	struct js_iter it;
	struct js_span name, val, c;
	char *f[5] = {0}; /* id name kind image host */
	static const char *const names[5] = {"id", "name", "kind", "image", "host"};
	int64_t ms = 0;

	if (js_iter_begin(&it, h, 0) < 0)
		return NULL;
	while (js_obj_next(&it, &name, &val) == 1) {
		for (int k = 0; k < 5; k++)
			if (!f[k] && js_eq(name, names[k]))
				f[k] = span_dup(val);
		if (js_eq(name, "time") && js_str(val, &c))
			parse_time_iso(c.p, c.n, &ms);
	}
	struct topo_system *s = NULL;
	if (f[0]) {
		s = topo_find_system(in, f[0]);
		if (!s)
			s = topo_add_system(in, f[0], f[1], f[2], f[3], f[4]);
		s->nsocks = 0; /* a later frame of the system replaces it */
		s->time_ms = ms;
	}
	for (int k = 0; k < 5; k++)
		free(f[k]);
	return s;
}

int topo_load_frames(const char *text, size_t n, struct topo_input *in, char *err, size_t errlen)
{
	const char *p = text, *end = text + n;
	struct topo_system *cur = NULL;
	size_t line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct js_span whole = {p, (size_t)(le - p)}, name, val, feature = {"", 0},
		               value = {0}, c;
		struct js_iter it;
		line++;
		if (whole.n && js_iter_begin(&it, whole, 0) == 0) {
			while (js_obj_next(&it, &name, &val) == 1) {
				if (js_eq(name, "feature") && js_str(val, &c))
					feature = c;
				else if (js_eq(name, "value"))
					value = val;
			}
			if (value.p && js_eq(feature, "frame"))
				cur = header_system(in, value);
			else if (value.p && cur && js_eq(feature, "connection"))
				add_sock_rec(cur, feature, value);
			else if (value.p && cur &&
			         (js_eq(feature, "os") || js_eq(feature, "interface")))
				add_addr_rec(cur, feature, value);
		} else if (whole.n) {
			snprintf(err, errlen, "line %zu is not a record", line);
			return -EINVAL;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

void topo_set_prev_input(struct topo_input *cur, const struct topo_input *prev)
{
	for (size_t i = 0; i < cur->n; i++)
		for (size_t k = 0; k < prev->n; k++)
			if (!strcmp(cur->sys[i].id, prev->sys[k].id)) {
				topo_set_prev(&cur->sys[i], prev->sys[k].socks, prev->sys[k].nsocks,
				              prev->sys[k].time_ms);
				break;
			}
}

int topo_load_store(struct store *st, int64_t at_ms, struct topo_input *in, char *err,
                    size_t errlen)
{
	store_read_begin(st); /* one snapshot, one lock, for every system's reads */
	int r = load_all(st, at_ms, in, err, errlen);
	store_read_end(st);
	return r;
}
