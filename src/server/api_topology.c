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
 * for at most CACHE_MS (its "time" and the flows' window move on).  One
 * thread builds at a time: a request that comes meanwhile is answered from
 * the graph before when it is younger than STALE_MS (a worker thread that
 * waits holds up every connection it serves), else waits for the build.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "../analytics/topology.h"
#include "../analytics/topology_load.h"
#include "../store/store.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "api.h"
#include "request.h"

#define CACHE_MS 1000
#define STALE_MS 10000

struct cached {
	struct buf key, body;
	int64_t built_ns; /* mono_ns(); 0: empty */
	int status;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cached cache[3]; /* by enum topo_group */

/* The answer into r: the graph of st at at_ms (0: the latest). */
static void answer(struct request *r, struct store *st, int64_t at_ms, enum topo_group group)
{
	struct topo_input in;
	char err[512] = "";
	topo_input_init(&in);
	int rc = topo_load_store(st, at_ms, &in, err, sizeof(err));
	if (rc < 0) {
		req_store_error(r, rc, "topology");
		topo_input_free(&in);
		return;
	}
	struct topo_graph g;
	if (topo_build(&in, group, &g) < 0) {
		req_store_error(r, -ENOMEM, "topology");
		topo_input_free(&in);
		return;
	}
	topo_add_flows(&g, &in, st, at_ms); /* sampled flows on the edges, when any */
	topo_json(&g, &r->body);
	topo_graph_free(&g);
	topo_input_free(&in);
}

/* Copies the cached answer of group into r when its key is key and it is
 * fresh (or, with stale, whatever its key when younger than STALE_MS);
 * true when it did. */
static bool from_cache(struct request *r, unsigned group, const struct buf *key, bool stale)
{
	pthread_mutex_lock(&cache_lock);
	struct cached *c = &cache[group];
	int64_t age = mono_ns() - c->built_ns;
	bool hit =
	    c->built_ns && (stale ? age < (int64_t)STALE_MS * 1000000
	                          : age < (int64_t)CACHE_MS * 1000000 && c->key.len == key->len &&
	                                memcmp(c->key.data, key->data, key->len) == 0);
	if (hit) {
		r->status = c->status;
		buf_reset(&r->body);
		buf_add(&r->body, c->body.data, c->body.len);
	}
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

static void latest(struct request *r, struct store *st, enum topo_group group)
{
	unsigned gi = (unsigned)group < 3 ? (unsigned)group : 0;
	/* the key: this server (several may share the process) and the store's
	 * statistics */
	struct buf key = BUF_INIT;
	buf_printf(&key, "%p ", (void *)r->srv);
	int rc = store_stats_json(st, &key);
	if (rc < 0) {
		buf_free(&key);
		req_store_error(r, rc, "store");
		return;
	}
	if (!from_cache(r, gi, &key, false)) {
		if (pthread_mutex_trylock(&build_lock) != 0) {
			/* another thread builds: answer from the graph before
			 * (at most STALE_MS old) rather than hold a worker thread */
			if (from_cache(r, gi, &key, true)) {
				buf_free(&key);
				return;
			}
			pthread_mutex_lock(&build_lock);
		}
		/* another thread may have built it while this one waited */
		if (!from_cache(r, gi, &key, false)) {
			int64_t t = mono_ns();
			answer(r, st, 0, group);
			if (r->status == 200) {
				pthread_mutex_lock(&cache_lock);
				struct cached *c = &cache[gi];
				buf_reset(&c->key);
				buf_add(&c->key, key.data, key.len);
				buf_reset(&c->body);
				buf_add(&c->body, r->body.data, r->body.len);
				c->status = r->status;
				c->built_ns = t;
				pthread_mutex_unlock(&cache_lock);
			}
		}
		pthread_mutex_unlock(&build_lock);
	}
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
	if (at)
		answer(r, st, at_ms, group);
	else
		latest(r, st, group);
}
