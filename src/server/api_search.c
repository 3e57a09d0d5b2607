/*
 * api_search.c - GET /api/v1/search?q=QUERY[&limit=N][&at=TIME]: records
 * across every system in the store (analytics/search_eval.c; docs/api.md,
 * docs/search.md).  The answer is `vantage search --json`'s.
 *
 * The index of the latest state is built once and shared by the worker
 * threads (it is immutable once built; each request holds a reference),
 * and built again when the store has changed: its statistics (counts,
 * bytes, WAL size), which every write moves, are the index's key.  An
 * index at a time (`at`), or of the query's candidate records (a store
 * with a text index, PostgreSQL: search_index_build_for()), is built for
 * the request alone.  A worker thread that builds holds up every
 * connection it serves (tens of milliseconds for a busy host, each time
 * the daemon stores), so after a change a search is answered from the
 * index before, when that one is at most SEARCH_STALE_MAX_S old, and the
 * next one is built on a thread of its own (its own store handle; one at
 * a time; api_search_end() waits for it).  With no index yet, or an
 * older one, the request builds it and waits, as do those that come
 * meanwhile with none to answer from.  A bad query is a
 * 400 naming the column of the bad token: {"error", "parameter": "q",
 * "column"}.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../analytics/search.h"
#include "../store/store.h"
#include "../util/json.h"
#include "../util/log.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "api.h"
#include "bgtask.h"
#include "instance.h"
#include "request.h"

/* How old an index may answer while the next one is built. */
#define SEARCH_STALE_MAX_S 10

struct shared {
	struct search_index *ix;
	int refs;         /* requests using it, and 1 while it is the cached one */
	int64_t built_ns; /* mono_ns() when its build started */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared *cached;
static struct buf cached_key;
static struct bg_task bg = BG_TASK_INIT;

static void release(struct shared *s)
{
	pthread_mutex_lock(&lock);
	bool last = --s->refs == 0;
	pthread_mutex_unlock(&lock);
	if (last) {
		search_index_free(s->ix);
		free(s);
	}
}

/* The cached index with a reference taken when its key is key (any key
 * when key is NULL), else NULL. */
static struct shared *cached_for(const struct buf *key)
{
	struct shared *s = NULL;
	pthread_mutex_lock(&lock);
	if (cached && (!key || (cached_key.len == key->len &&
	                        memcmp(cached_key.data, key->data, key->len) == 0))) {
		s = cached;
		s->refs++;
	}
	pthread_mutex_unlock(&lock);
	return s;
}

/* Build the index of store `st` under `key` and make it the cached one
 * (build_lock held): the new one with a reference for the caller, or
 * NULL with *rc and err set. */
static struct shared *build(struct store *st, const struct buf *key, char *err, size_t errlen,
                            int *rc)
{
	struct search_index *ix;
	int64_t t0 = mono_ns();
	*rc = search_index_build(st, 0, &ix, err, errlen);
	if (*rc < 0)
		return NULL;
	struct shared *s = xcalloc(1, sizeof(*s));
	s->ix = ix;
	s->built_ns = t0;
	s->refs = 2; /* the caller's, and the cache's */
	pthread_mutex_lock(&lock);
	struct shared *old = cached;
	cached = s;
	buf_reset(&cached_key);
	buf_add(&cached_key, key->data, key->len);
	pthread_mutex_unlock(&lock);
	if (old)
		release(old);
	return s;
}

/* The background build: the index of what st holds then, under its key. */
static void bg_build(struct store *st, void *arg)
{
	(void)arg;
	char err[512];
	struct buf key = BUF_INIT;
	pthread_mutex_lock(&build_lock);
	struct shared *s = NULL;
	int rc = store_stats_json(st, &key);
	if (rc == 0 && !(s = cached_for(&key)))
		s = build(st, &key, err, sizeof(err), &rc);
	if (s)
		release(s);
	pthread_mutex_unlock(&build_lock);
	if (rc < 0) /* the next request builds it, and says what fails */
		log_debug("search: the background build of the index failed (%d)", rc);
	buf_free(&key);
}

void api_search_end(void)
{
	bg_task_wait(&bg);
}

/* Whether a thread builds the index now. */
static bool build_busy(void)
{
	if (pthread_mutex_trylock(&build_lock) != 0)
		return true;
	pthread_mutex_unlock(&build_lock);
	return false;
}

/* The index of the latest state: the cached one while the store's
 * statistics are unchanged, else a new one.  NULL with an answer set. */
static struct shared *latest(struct request *r, struct store *st)
{
	struct buf key = BUF_INIT;
	int rc = store_stats_json(st, &key);
	if (rc < 0) {
		buf_free(&key);
		req_store_error(r, rc, "store");
		return NULL;
	}
	struct shared *s = cached_for(&key);
	if (s) {
		buf_free(&key);
		return s;
	}
	/* the store changed: a recent index answers now and a new one is
	 * built in the background, rather than hold this worker thread,
	 * whose other connections would wait too */
	if ((s = cached_for(NULL))) {
		bool recent = mono_ns() - s->built_ns < (int64_t)SEARCH_STALE_MAX_S * 1000000000;
		if (recent && (build_busy() || (r->srv && bg_task_start(&bg, r->srv->store_path,
		                                                        bg_build, NULL, NULL)))) {
			buf_free(&key);
			return s;
		}
		release(s);
		s = NULL;
	}
	pthread_mutex_lock(&build_lock);
	/* another thread may have built it while this one waited */
	if ((s = cached_for(&key))) {
		pthread_mutex_unlock(&build_lock);
		buf_free(&key);
		return s;
	}
	char err[512];
	s = build(st, &key, err, sizeof(err), &rc);
	pthread_mutex_unlock(&build_lock);
	buf_free(&key);
	if (!s)
		req_error(r, 500, NULL, "%s", err);
	return s;
}

void api_search(struct request *r)
{
	static const char *const allowed[] = {"q", "limit", "at", NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	const char *q = req_param(r, "q"), *lim = req_param(r, "limit"), *at = req_param(r, "at");
	if (!q || !*q) {
		req_error(r, 400, "q", "'q' is required: a query (docs/search.md)");
		return;
	}
	long limit = SEARCH_LIMIT_DEFAULT;
	if (lim) {
		char *end;
		limit = strtol(lim, &end, 10);
		if (end == lim || *end || limit < 0 || limit > SEARCH_LIMIT_MAX) {
			req_error(r, 400, "limit", "'limit' is a whole number from 0 to %d",
			          SEARCH_LIMIT_MAX);
			return;
		}
	}
	int64_t at_ms = 0;
	if (at && (parse_time(at, r->now_ms, &at_ms) < 0 || at_ms <= 0)) {
		req_error(r, 400, "at",
		          "bad time '%s' (an ISO-8601 time, epoch seconds or -DURATION)", at);
		return;
	}
	struct sq_error err;
	struct sq_node *tree = search_parse(NULL, q, &err);
	if (!tree) {
		r->status = 400;
		buf_reset(&r->body);
		struct json j;
		jw_init(&j, &r->body);
		jw_obj_begin(&j, NULL);
		jw_str(&j, "error", err.msg);
		jw_str(&j, "parameter", "q");
		jw_int(&j, "column", err.col);
		jw_obj_end(&j);
		buf_addc(&r->body, '\n');
		return;
	}
	struct store *st = req_store(r);
	if (!st) {
		sq_free(tree);
		return;
	}
	struct shared own = {0}, *s = NULL;
	/* the query's candidate records only, when the store can (PostgreSQL);
	 * else the whole state (the latest one cached) */
	char e[512];
	int rc = search_index_build_for(st, at_ms, tree, &own.ix, e, sizeof(e));
	if (rc == -ENOTSUP && at_ms > 0)
		rc = search_index_build(st, at_ms, &own.ix, e, sizeof(e));
	if (rc < 0 && rc != -ENOTSUP) {
		sq_free(tree);
		req_error(r, 500, NULL, "%s", e);
		return;
	}
	if (own.ix) {
		s = &own;
	} else if (!(s = latest(r, st))) {
		sq_free(tree);
		return;
	}
	/* parsed again against the index: features only it knows */
	sq_free(tree);
	tree = search_parse(s->ix, q, &err);
	if (tree) {
		struct search_result res;
		search_eval(s->ix, tree, (size_t)limit, &res);
		search_result_json(s->ix, &res, q, (size_t)limit, &r->body);
		search_result_free(&res);
		sq_free(tree);
	}
	if (s == &own)
		search_index_free(own.ix);
	else
		release(s);
}
