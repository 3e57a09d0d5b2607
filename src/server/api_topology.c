/*
 * api_topology.c - GET /api/v1/topology[?at=TIME][&group_by=host|image|none]:
 * who talks to whom from the stored frames (analytics/topology_graph.c;
 * docs/api.md, docs/topology.md).  TIME is an ISO-8601 time, epoch seconds
 * or -DURATION ("-1h"); without one, the latest frames of the present
 * systems.  The answer is `vantage topology --json`'s.
 *
 * The latest graph (no `at`) costs milliseconds of CPU for a busy host
 * (every system's connections parsed and resolved), so its answer is
 * built once and shared by the worker threads, one per group_by: kept
 * while the store's statistics (which every write moves) are unchanged and
 * for at most CACHE_MS (its "time" and the flows' window move on).  A
 * worker thread that builds or waits holds up every connection it serves,
 * so when the cached graph is out of date but younger than STALE_MS it
 * answers, and the next one is built on a thread of its own (bgtask.c: its
 * own store handle, one build per group_by at a time; api_topology_end()
 * waits for them).  With no graph yet, or an older one, the request builds
 * it (one thread at a time: the others wait, then answer from it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../analytics/topology.h"
#include "../analytics/topology_load.h"
#include "../store/store.h"
#include "../util/log.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "api.h"
#include "bgtask.h"
#include "instance.h"
#include "request.h"

#define CACHE_MS 1000
#define STALE_MS 10000

struct cached {
	const void *srv;  /* the server it was built for (several may share the process) */
	struct buf key;   /* the store's statistics then */
	struct buf body;  /* the answer (200) */
	int64_t built_ns; /* mono_ns(); 0: empty */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached cache[3]; /* by enum topo_group */
static struct bg_task bg[3] = {BG_TASK_INIT, BG_TASK_INIT, BG_TASK_INIT};

/* The graph of st at at_ms (0: the latest) as JSON into body: 0, or a
 * negative errno (a store error). */
static int render(struct store *st, int64_t at_ms, enum topo_group group, struct buf *body)
{
	struct topo_input in;
	char err[512] = "";
	topo_input_init(&in);
	int rc = topo_load_store(st, at_ms, &in, err, sizeof(err));
	struct topo_graph g;
	if (rc == 0 && topo_build(&in, group, &g) < 0)
		rc = -ENOMEM;
	if (rc == 0) {
		topo_add_flows(&g, &in, st, at_ms); /* sampled flows on the edges, when any */
		topo_json(&g, body);
		topo_graph_free(&g);
	}
	topo_input_free(&in);
	return rc;
}

/* Copies the cached answer of group into r (when r is not NULL) when it
 * is server srv's and fresh: its key is key and it is younger than
 * CACHE_MS (or, with stale, whatever its key when younger than STALE_MS);
 * true when it did. */
static bool from_cache(struct request *r, const void *srv, unsigned group, const struct buf *key,
                       bool stale)
{
	pthread_mutex_lock(&cache_lock);
	struct cached *c = &cache[group];
	int64_t age = mono_ns() - c->built_ns;
	bool hit = c->built_ns && c->srv == srv &&
	           (stale ? age < (int64_t)STALE_MS * 1000000
	                  : age < (int64_t)CACHE_MS * 1000000 && c->key.len == key->len &&
	                        memcmp(c->key.data, key->data, key->len) == 0);
	if (hit && r) {
		buf_reset(&r->body);
		buf_add(&r->body, c->body.data, c->body.len);
	}
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

/* Build the latest graph of group for server srv under key (the store's
 * statistics, which every write moves) and cache it (build_lock held, the
 * cache found out of date): 0, or a negative errno. */
static int build(struct store *st, const void *srv, unsigned group, const struct buf *key,
                 struct buf *body)
{
	int64_t t = mono_ns();
	buf_reset(body);
	int rc = render(st, 0, (enum topo_group)group, body);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&cache_lock);
	struct cached *c = &cache[group];
	c->srv = srv;
	buf_reset(&c->key);
	buf_add(&c->key, key->data, key->len);
	buf_reset(&c->body);
	buf_add(&c->body, body->data, body->len);
	c->built_ns = t;
	pthread_mutex_unlock(&cache_lock);
	return 0;
}

struct bg_arg {
	const void *srv; /* the key's, never dereferenced */
	unsigned group;
};

static void bg_build(struct store *st, void *arg)
{
	struct bg_arg *a = arg;
	struct buf key = BUF_INIT, body = BUF_INIT;
	int rc = store_stats_json(st, &key);
	pthread_mutex_lock(&build_lock);
	if (rc == 0 && !from_cache(NULL, a->srv, a->group, &key, false))
		rc = build(st, a->srv, a->group, &key, &body);
	pthread_mutex_unlock(&build_lock);
	if (rc < 0) /* the next request builds it, and says what fails */
		log_debug("topology: the background build of the graph failed (%d)", rc);
	buf_free(&key);
	buf_free(&body);
}

void api_topology_end(void)
{
	for (unsigned i = 0; i < 3; i++)
		bg_task_wait(&bg[i]);
}

static void latest(struct request *r, struct store *st, enum topo_group group)
{
	unsigned gi = (unsigned)group < 3 ? (unsigned)group : 0;
	struct buf key = BUF_INIT;
	int rc = store_stats_json(st, &key);
	if (rc < 0) {
		buf_free(&key);
		req_store_error(r, rc, "store");
		return;
	}
	if (from_cache(r, r->srv, gi, &key, false)) {
		buf_free(&key);
		return;
	}
	/* out of date: a recent graph answers while the next is built apart */
	if (r->srv && from_cache(r, r->srv, gi, &key, true)) {
		struct bg_arg *a = xmalloc(sizeof(*a));
		*a = (struct bg_arg){.srv = r->srv, .group = gi};
		if (bg_task_start(&bg[gi], r->srv->store_path, bg_build, a, free)) {
			buf_free(&key);
			return;
		}
	}
	pthread_mutex_lock(&build_lock);
	/* another thread may have built it while this one waited */
	if (!from_cache(r, r->srv, gi, &key, false)) {
		if ((rc = build(st, r->srv, gi, &key, &r->body)) < 0) {
			buf_reset(&r->body);
			req_store_error(r, rc, "topology");
		}
	}
	pthread_mutex_unlock(&build_lock);
	buf_free(&key);
}

void api_topology(struct request *r)
{
	static const char *const allowed[] = {"at", "group_by", NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	const char *at = req_param(r, "at"), *gb = req_param(r, "group_by");
	enum topo_group group = TOPO_GROUP_NONE;
	int64_t at_ms = 0;
	if (gb && !topo_group_parse(gb, &group)) {
		req_error(r, 400, "group_by", "'group_by' is host, image or none");
		return;
	}
	if (at && (parse_time(at, r->now_ms, &at_ms) < 0 || at_ms <= 0)) {
		req_error(r, 400, "at",
		          "bad time '%s' (an ISO-8601 time, epoch seconds or -DURATION)", at);
		return;
	}
	struct store *st = req_store(r);
	if (!st)
		return;
	if (at) {
		int rc = render(st, at_ms, group, &r->body);
		if (rc < 0) {
			buf_reset(&r->body);
			req_store_error(r, rc, "topology");
		}
	} else
		latest(r, st, group);
}
