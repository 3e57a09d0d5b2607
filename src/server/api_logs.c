/*
 * api_logs.c - the log endpoints (api_logs.h, docs/api.md).
 *
 * GET /api/v1/logs?system=&source=&q=&level=&since=&until=&after=&limit=&order=
 *     lines from this thread's read-only store handle:
 *     {"lines": [{id, system, source, time, level, line}...],
 *      "newest_id": N}   (newest_id: the store's newest line, where a live
 *     tail of what follows starts)
 *
 * GET /api/v1/logs/tail?system=&source=&q=&level=&after=&format=sse|ndjson
 *     the lines stored after `after` (default: the newest at the request),
 *     in id order, as they come: a streamed answer of unknown length
 *     (chunked), server-sent events ("id: N" and "data: {line}", a ": ping"
 *     comment every 15 s) or NDJSON (one line object a line; an empty
 *     line every 15 s keeps the connection alive).
 *
 * A tail is libmicrohttpd's content reader (tail_read) on the worker
 * thread of its connection, with its own read-only store handle.  It
 * holds at most one batch of text (TAIL_BUF_MAX bytes, lines of at most
 * TAIL_BATCH lines): when that is sent it reads the next lines; when there
 * are none it suspends its connection, and a ticker thread resumes the
 * suspended tails every TAIL_POLL_MS (no worker thread waits, none spins).
 * At most TAIL_MAX tails at once (503 beyond): each is a connection
 * counted by the server's connection limit too.  Stopping the server
 * ends them (api_logs_streams_end()).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../store/logs_json.h"
#include "../store/store.h"
#include "../util/json.h"
#include "../util/logsev.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "api_logs.h"
#include "instance.h"
#include "mhd.h"
#include "request.h"

#define LOGS_LIMIT_DEFAULT 100
#define LOGS_LIMIT_MAX 10000
#define TAIL_MAX 64
#define TAIL_BATCH 500
#define TAIL_BUF_MAX (64 * 1024)
#define TAIL_POLL_MS 500
#define TAIL_HEARTBEAT_MS 15000

/* ---- parameters ------------------------------------------------------------- */

struct logs_params {
	struct store_log_query q;
	const char *ids[1];
};

static int time_param(struct request *r, const char *name, int64_t *out)
{
	const char *v = req_param(r, name);
	if (v && parse_time(v, r->now_ms, out) < 0) {
		req_error(r, 400, name,
		          "%s '%s' is not a time: use ISO-8601 UTC (2026-11-22T10:00:00Z), epoch "
		          "seconds, or a duration before now (30s, 5m, 1h, 2d)",
		          name, v);
		return -1;
	}
	return 0;
}

static int int_param(struct request *r, const char *name, long long lo, long long hi,
                     long long *out)
{
	const char *v = req_param(r, name);
	if (!v)
		return 0;
	char *end;
	long long x = strtoll(v, &end, 10);
	if (end == v || *end || x < lo || x > hi) {
		req_error(r, 400, name, "'%s' is a whole number from %lld to %lld", name, lo, hi);
		return -1;
	}
	*out = x;
	return 0;
}

/* The filters common to both endpoints. */
static int parse_filters(struct request *r, struct logs_params *p)
{
	memset(p, 0, sizeof(*p));
	p->q.max_level = 7;
	const char *sys = req_param(r, "system"), *level = req_param(r, "level");
	if (sys && *sys) {
		p->ids[0] = sys;
		p->q.system_ids = p->ids;
		p->q.nsystems = 1;
	}
	p->q.source = req_param(r, "source");
	if (p->q.source && !*p->q.source)
		p->q.source = NULL;
	p->q.match = req_param(r, "q");
	if (p->q.match && !*p->q.match)
		p->q.match = NULL;
	if (level && *level) {
		p->q.max_level = logsev_parse(level);
		if (p->q.max_level < 0) {
			req_error(
			    r, 400, "level",
			    "level '%s' is not one of emerg, alert, crit, err, warning, notice, "
			    "info, debug (or 0-7)",
			    level);
			return -1;
		}
		p->q.exclude_unknown = true;
	}
	long long after = 0;
	if (int_param(r, "after", 0, INT64_MAX, &after) < 0)
		return -1;
	p->q.after_id = after;
	return 0;
}

static int on_newest(void *ctx, int64_t id, const struct store_log *l)
{
	*(int64_t *)ctx = id;
	return 0;
}

/* The id of the newest line stored (0: none). */
static int newest_id(struct store *st, int64_t *id)
{
	struct store_log_query q = {.max_level = 7, .by_id = true, .reverse = true, .limit = 1};
	*id = 0;
	return store_logs(st, &q, on_newest, id);
}

/* ---- GET /api/v1/logs --------------------------------------------------------- */

static int on_line(void *ctx, int64_t id, const struct store_log *l)
{
	logs_json_line(ctx, id, l, NULL);
	return 0;
}

void api_logs(struct request *r)
{
	static const char *const allowed[] = {"system", "source", "q",     "level", "since",
	                                      "until",  "after",  "limit", "order", NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	struct logs_params p;
	if (parse_filters(r, &p) < 0 || time_param(r, "since", &p.q.from_ms) < 0 ||
	    time_param(r, "until", &p.q.to_ms) < 0)
		return;
	long long limit = LOGS_LIMIT_DEFAULT;
	if (int_param(r, "limit", 1, LOGS_LIMIT_MAX, &limit) < 0)
		return;
	p.q.limit = (size_t)limit;
	const char *order = req_param(r, "order");
	if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
		req_error(r, 400, "order",
		          "order '%s' is asc (oldest first) or desc (newest first)", order);
		return;
	}
	p.q.reverse = !order || strcmp(order, "desc") == 0;
	struct store *st = req_store(r);
	if (!st)
		return;
	int64_t newest = 0;
	int rc = newest_id(st, &newest);
	buf_reset(&r->body);
	struct json j;
	jw_init(&j, &r->body);
	jw_obj_begin(&j, NULL);
	jw_arr_begin(&j, "lines");
	if (rc == 0)
		rc = store_logs(st, &p.q, on_line, &j);
	if (rc < 0) {
		req_store_error(r, rc, "logs");
		return;
	}
	jw_arr_end(&j);
	jw_int(&j, "newest_id", newest);
	jw_obj_end(&j);
	buf_addc(&r->body, '\n');
}

/* ---- the live tail ------------------------------------------------------------- */

struct tail {
	struct server *srv;
	struct MHD_Connection *conn;
	struct store *st;
	char *system, *source, *match;
	struct logs_params p;
	bool sse;
	struct buf out; /* text to send: out.data[off..len) */
	size_t off;
	int64_t last_sent_ms;
	bool suspended;
	bool done;         /* the error is said: end */
	struct tail *next; /* in the suspended list */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tail *suspended; /* under lock */
static struct server *ending;  /* under lock: the server stopping */
static atomic_int ntails;
static pthread_once_t ticker_once = PTHREAD_ONCE_INIT;

static int64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

/* Every TAIL_POLL_MS: the suspended tails look for new lines again. */
static void *ticker(void *arg)
{
	for (;;) {
		struct timespec ts = {0, TAIL_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&lock);
		for (struct tail *t = suspended; t; t = t->next) {
			t->suspended = false;
			mhd.resume_connection(t->conn);
		}
		suspended = NULL;
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static void start_ticker(void)
{
	pthread_t th;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &a, ticker, NULL) != 0)
		fprintf(stderr, "vantage: cannot start the live tail's ticker thread\n");
	pthread_attr_destroy(&a);
}

/* Take t out of the suspended list (under lock). */
static void unlist(struct tail *t)
{
	for (struct tail **pp = &suspended; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	t->suspended = false;
}

void api_logs_streams_end(struct server *srv, bool begin)
{
	pthread_mutex_lock(&lock);
	if (begin) {
		ending = srv;
		for (struct tail **pp = &suspended; *pp;) {
			struct tail *t = *pp;
			if (t->srv == srv) {
				*pp = t->next;
				t->suspended = false;
				mhd.resume_connection(t->conn);
			} else {
				pp = &t->next;
			}
		}
	} else if (ending == srv) {
		ending = NULL;
	}
	pthread_mutex_unlock(&lock);
}

static int on_tail_line(void *ctx, int64_t id, const struct store_log *l)
{
	struct tail *t = ctx;
	t->p.q.after_id = id;
	if (t->sse)
		buf_printf(&t->out, "id: %lld\ndata: ", (long long)id);
	struct json j;
	jw_init(&j, &t->out);
	logs_json_line(&j, id, l, NULL);
	buf_adds(&t->out, t->sse ? "\n\n" : "\n");
	return t->out.len >= TAIL_BUF_MAX ? 1 : 0; /* a full buffer: the rest next time */
}

static ssize_t tail_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct tail *t = cls;
	if (t->off >= t->out.len && t->done)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (t->off >= t->out.len) {
		buf_reset(&t->out);
		t->off = 0;
		int rc = store_logs(t->st, &t->p.q, on_tail_line, t);
		if (rc < 0) {
			/* say why, then end */
			struct json j;
			if (t->sse)
				buf_adds(&t->out, "event: error\ndata: ");
			jw_init(&j, &t->out);
			jw_obj_begin(&j, NULL);
			jw_str(&j, "error", store_errmsg(t->st));
			jw_obj_end(&j);
			buf_adds(&t->out, t->sse ? "\n\n" : "\n");
			t->done = true;
		} else if (!t->out.len && mono_ms() - t->last_sent_ms >= TAIL_HEARTBEAT_MS) {
			buf_adds(&t->out, t->sse ? ": ping\n\n" : "\n");
		}
		if (!t->out.len) {
			if (t->done)
				return MHD_CONTENT_READER_END_OF_STREAM;
			pthread_mutex_lock(&lock);
			if (ending == t->srv) {
				pthread_mutex_unlock(&lock);
				return MHD_CONTENT_READER_END_OF_STREAM;
			}
			/* nothing new: wait suspended until the ticker resumes us */
			pthread_once(&ticker_once, start_ticker);
			t->suspended = true;
			t->next = suspended;
			suspended = t;
			mhd.suspend_connection(t->conn);
			pthread_mutex_unlock(&lock);
			return 0;
		}
	}
	size_t n = t->out.len - t->off;
	if (n > max)
		n = max;
	memcpy(buf, t->out.data + t->off, n);
	t->off += n;
	t->last_sent_ms = mono_ms();
	return (ssize_t)n;
}

static void tail_free(void *cls)
{
	struct tail *t = cls;
	pthread_mutex_lock(&lock);
	if (t->suspended)
		unlist(t);
	pthread_mutex_unlock(&lock);
	if (t->st)
		store_close(t->st);
	buf_free(&t->out);
	free(t->system);
	free(t->source);
	free(t->match);
	free(t);
	atomic_fetch_sub(&ntails, 1);
}

void api_logs_tail(struct request *r)
{
	static const char *const allowed[] = {"system", "source", "q", "level",
	                                      "after",  "format", NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	struct logs_params p;
	if (parse_filters(r, &p) < 0)
		return;
	const char *format = req_param(r, "format");
	if (format && strcmp(format, "sse") != 0 && strcmp(format, "ndjson") != 0) {
		req_error(r, 400, "format", "format '%s' is sse or ndjson", format);
		return;
	}
	if (!r->conn) {
		req_error(r, 501, NULL, "the live tail needs the HTTP server");
		return;
	}
	/* the daemon sheds work under memory pressure (engine/memguard.h: level 2) */
	if (r->srv->stats && atomic_load(&r->srv->stats->shed_level) >= 2) {
		req_error(r, 503, NULL,
		          "the daemon is short of memory and sheds work: no new live tails now; "
		          "try again later");
		return;
	}
	if (atomic_fetch_add(&ntails, 1) >= TAIL_MAX) {
		atomic_fetch_sub(&ntails, 1);
		req_error(r, 503, NULL, "too many live tails at once (%d): try again later",
		          TAIL_MAX);
		return;
	}
	struct tail *t = xcalloc(1, sizeof(*t));
	t->srv = r->srv;
	t->conn = r->conn;
	t->sse = format && strcmp(format, "sse") == 0;
	int rc = store_open(r->srv->store_path, STORE_RO, &t->st);
	if (rc == 0 && !req_param(r, "after"))
		rc = newest_id(t->st, &p.q.after_id);
	if (rc == 0 && p.q.match) { /* a bad search is answered now, not in the stream */
		struct store_log_query check = p.q;
		check.limit = 1;
		check.after_id = 0;
		rc = store_logs(t->st, &check, on_newest, &(int64_t){0});
	}
	if (rc < 0) {
		if (t->st && rc == -EINVAL)
			req_error(r, 400, "q", "%s", store_errmsg(t->st));
		else
			req_error(r, 503, NULL, "store unavailable: %s",
			          t->st ? store_errmsg(t->st) : store_errmsg(NULL));
		tail_free(t);
		return;
	}
	/* the query keeps pointers: to copies owned by the tail */
	t->p = p;
	if (p.ids[0]) {
		t->system = xstrdup(p.ids[0]);
		t->p.ids[0] = t->system;
		t->p.q.system_ids = t->p.ids;
	}
	if (p.q.source)
		t->p.q.source = t->source = xstrdup(p.q.source);
	if (p.q.match)
		t->p.q.match = t->match = xstrdup(p.q.match);
	t->p.q.by_id = true;
	t->p.q.limit = TAIL_BATCH;
	t->last_sent_ms = mono_ms();
	/* the first bytes at once: headers reach the client before any line */
	buf_adds(&t->out, t->sse ? ": tail\n\n" : "\n");
	r->content_type = t->sse ? "text/event-stream" : "application/x-ndjson";
	r->stream_read = tail_read;
	r->stream_free = tail_free;
	r->stream_ctx = t;
}
