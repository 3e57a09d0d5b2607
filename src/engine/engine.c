/*
 * engine.c - the daemon's engine: starting and stopping the lanes over the
 * shared store, and posting what the schedule says is due (see engine.h).
 */
#include "engine.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "../sinks/sinks.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "memguard.h"

void engine_init(struct engine *e, int proc_fd, struct store *st, const char *db_path,
                 const struct engine_report *report)
{
	memset(e, 0, sizeof(*e));
	/* one malloc arena for the daemon's few threads: an arena per crawl
	 * worker kept about 1 MB more resident for no gain */
	mallopt(M_ARENA_MAX, 1);
	e->proc_fd = proc_fd;
	e->watch[kind_host.index] = true;
	if (report)
		e->report = *report;
	store_share_init(&e->store, st, db_path, &e->report);
	schedule_init(&e->sched, mono_ns());
	for (int i = 0; i < NLANES; i++)
		e->lanes[i].procdir = -1;
}

/* A member of the extra sinks fails, or delivers again (err == 0). */
static void extra_report(void *ctx, const struct sink *member, int err)
{
	struct engine *e = ctx;
	char msg[512];
	if (err < 0) {
		log_error("sink %s: %s; its frames are not delivered until it works again",
		          member->desc, strerror(-err));
		snprintf(msg, sizeof(msg), "sink %s: %s", member->desc, strerror(-err));
		if (e->report.error)
			e->report.error(e->report.arg, msg);
	} else {
		log_warn("sink %s: delivering again", member->desc);
		if (e->report.error)
			e->report.error(e->report.arg, NULL);
	}
}

/* Open the sink of `url` into the tee (and the lists); 0 or an errno. */
static int add_extra(struct engine *e, struct sink *tee, const char *url)
{
	struct sink_env env = {.store_path = e->store.path,
	                       .spool_dir = e->spool_dir,
	                       .spool_max_bytes = e->spool_max_bytes,
	                       .spool_max_age_s = e->spool_max_age_s};
	char err[512];
	struct sink *s;
	int r = sink_open(url, &env, &s, err, sizeof(err));
	if (r < 0) {
		if (r == -EINVAL || r == -ENOTSUP)
			log_error("--sink: %s", err);
		else
			log_error("sink %s: %s", url, strerror(-r));
		return r;
	}
	e->extra_sinks = xrealloc(e->extra_sinks, sizeof(struct sink *) * (size_t)(e->nextras + 1));
	e->extra_urls = xrealloc(e->extra_urls, sizeof(*e->extra_urls) * (size_t)(e->nextras + 1));
	if ((r = sink_tee_add(tee, s, 0)) < 0) {
		sink_close(s);
		return r;
	}
	e->extra_sinks[e->nextras] = s;
	e->extra_urls[e->nextras++] = xstrdup(url);
	return 0;
}

/* The extra sinks (--sink), behind one locked tee the lanes share: made
 * even with none, so that a reload can add some. */
static int open_extras(struct engine *e)
{
	int r = sink_tee_open(SINK_TEE_LOCKED, extra_report, e, &e->extras);
	for (int i = 0; r == 0 && i < e->nsinks; i++)
		r = add_extra(e, e->extras, e->sinks[i]);
	return r;
}

struct set_sinks {
	struct engine *e;
	char *const *urls;
	int n, failed;
};

static bool has_url(char *const *urls, int n, const char *url)
{
	for (int i = 0; i < n; i++)
		if (strcmp(urls[i], url) == 0)
			return true;
	return false;
}

/* Under the tee's lock: close the sinks gone, then open the new ones. */
static int set_sinks_locked(void *ctx, struct sink *tee)
{
	struct set_sinks *x = ctx;
	struct engine *e = x->e;
	for (int i = 0; i < e->nextras;) {
		if (has_url(x->urls, x->n, e->extra_urls[i])) {
			i++;
			continue;
		}
		log_info("reload: closing the sink %s", e->extra_sinks[i]->desc);
		sink_tee_drop(tee, e->extra_sinks[i]); /* closes it: its frames to its spool */
		free(e->extra_urls[i]);
		e->nextras--;
		memmove(&e->extra_sinks[i], &e->extra_sinks[i + 1],
		        sizeof(struct sink *) * (size_t)(e->nextras - i));
		memmove(&e->extra_urls[i], &e->extra_urls[i + 1],
		        sizeof(*e->extra_urls) * (size_t)(e->nextras - i));
	}
	for (int i = 0; i < x->n; i++) {
		if (has_url(e->extra_urls, e->nextras, x->urls[i]) ||
		    has_url(x->urls, i, x->urls[i]))
			continue;
		if (add_extra(e, tee, x->urls[i]) < 0)
			x->failed++;
		else
			log_info("reload: opened the sink %s",
			         e->extra_sinks[e->nextras - 1]->desc);
	}
	return 0;
}

int engine_set_sinks(struct engine *e, char *const *urls, int n)
{
	if (!e->extras)
		return 0; /* not started */
	struct set_sinks x = {.e = e, .urls = urls, .n = n};
	sink_tee_edit(e->extras, set_sinks_locked, &x);
	return x.failed;
}

/* The lane tee's members report their failures themselves (the locked
 * store sink, the extras' tee): the lane tee says nothing more. */
static void lane_report(void *ctx, const struct sink *member, int err)
{
	(void)ctx;
	(void)member;
	(void)err;
}

/* The lane's sink: its store sink, and the extra sinks. */
static int lane_sinks(struct engine *e, struct lane *l, int i)
{
	int r = locked_sink_open(&e->store, i, &l->store_sink);
	if (r < 0) {
		log_error("store %s: cannot open the store sink: %s", e->store.path, strerror(-r));
		return r;
	}
	l->sink = l->store_sink;
	if (!e->extras)
		return 0;
	if ((r = sink_tee_open(0, lane_report, NULL, &l->sink)) < 0 ||
	    (r = sink_tee_add(l->sink, l->store_sink, SINK_TEE_BORROW)) < 0 ||
	    (r = sink_tee_add(l->sink, e->extras, SINK_TEE_BORROW)) < 0)
		log_error("cannot set up the sinks: %s", strerror(-r));
	return r;
}

int engine_start(struct engine *e)
{
	int r = open_extras(e);
	if (r < 0)
		return r;
	for (int i = 0; i < NLANES; i++) {
		struct lane *l = &e->lanes[i];
		lane_init(l, i, e);
		if ((r = lane_sinks(e, l, i)) < 0)
			return r;
		if (pthread_create(&l->tid, NULL, lane_main, l) != 0) {
			log_error("cannot start a crawl thread");
			return -EAGAIN;
		}
		l->started = true;
	}
	return 0;
}

static void count(struct engine *e, enum engine_counter c, int64_t v)
{
	if (e->report.count)
		e->report.count(e->report.arg, c, v);
}

void engine_memcheck(struct engine *e, int64_t now)
{
	if (!e->guard)
		return;
	struct memguard_sample s;
	bool changed;
	int l = memguard_check(e->guard, now, &s, &changed);
	e->shed_level = l;
	count(e, EC_SHED_LEVEL, l);
	count(e, EC_MEM_USED, (int64_t)s.used);
	count(e, EC_MEM_LIMIT, (int64_t)s.limit);
}

/* The features of lane i that shedding at level `lv` keeps (of `m`);
 * `metric_tick`: metric is due at this tick. */
static uint64_t shed_keep(struct engine *e, int i, int lv, uint64_t m, bool metric_tick)
{
	if (lv >= MEMGUARD_TRIM && i == LANE_FILE)
		return 0;
	if (lv >= MEMGUARD_REFUSE_STREAMS && i == LANE_SLOW)
		return 0;
	if (lv >= MEMGUARD_METRIC_ONLY && i == LANE_FAST) {
		int mi = e->sched.metric;
		m &= mi >= 0 ? 1ull << mi : 0;
		if (metric_tick && e->shed_ticks % 2 == 1)
			m = 0; /* every other metric tick: its interval doubled */
	}
	return m;
}

void engine_tick(struct engine *e, int64_t now)
{
	engine_memcheck(e, now);
	struct due d = schedule_due(&e->sched, now);
	struct lane_request rq = {
	    .workers = e->workers,
	};
	uint64_t enabled = schedule_enabled(&e->sched);
	int lv = e->shed_level;
	bool metric_tick = d.discover; /* metric is due */
	if (lv >= MEMGUARD_METRIC_ONLY && metric_tick)
		e->shed_ticks++;
	memcpy(rq.interval, e->sched.interval, sizeof(rq.interval));
	for (int i = 0; i < NLANES; i++) {
		uint64_t due = d.feats & e->lanes[i].feats;
		rq.due = shed_keep(e, i, lv, due, metric_tick);
		rq.enabled = (enabled & ~e->lanes[i].feats) |
		             shed_keep(e, i, lv, enabled & e->lanes[i].feats, false);
		if (rq.due != due)
			count(e, EC_SKIPPED, __builtin_popcountll(due & ~rq.due));
		rq.maintain = d.maintain && i == LANE_FAST;
		rq.discover = d.discover && i == LANE_FAST && (rq.due || lv < MEMGUARD_METRIC_ONLY);
		rq.timeout = i == LANE_FILE ? e->file_timeout : e->timeout;
		if (rq.due || rq.maintain || rq.discover)
			lane_post(&e->lanes[i], &rq);
	}
}

void engine_stop(struct engine *e)
{
	bool joined[NLANES] = {0};
	struct sink *sinks[NLANES];
	for (int i = 0; i < NLANES; i++) {
		struct lane *l = &e->lanes[i];
		if (!l->started)
			continue;
		pthread_mutex_lock(&l->lock);
		l->stop = true;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->lock);
	}
	for (int i = 0; i < NLANES; i++) {
		struct lane *l = &e->lanes[i];
		if (!l->started) {
			joined[i] = true; /* no thread: nothing uses its sink */
			continue;
		}
		/* the fast lane's crawl is short (crawl_run gives up on a stuck
		 * system after its limit + 1 s); the others get a few seconds,
		 * then their frame is given up: a file walk may take an hour */
		double limit = i == LANE_FAST ? -1 : i == LANE_SLOW ? 10 : 3;
		if (lane_wait(l, limit)) {
			pthread_join(l->tid, NULL);
			joined[i] = true;
		} else {
			log_warn("the %s crawl did not finish in time; its frame is not stored",
			         lane_names[i]);
			pthread_detach(l->tid);
			e->abandoned = true;
		}
	}
	/* the last chance for frames kept back by a full disk, then close */
	for (int i = 0; i < NLANES; i++) {
		struct lane *l = &e->lanes[i];
		if (joined[i] && l->sink && l->sink != l->store_sink)
			sink_close(l->sink); /* the tee; its members are borrowed */
		sinks[i] = l->store_sink;
	}
	store_share_close(&e->store, sinks, joined, NLANES);
	bool all_joined = true;
	for (int i = 0; i < NLANES; i++)
		all_joined &= joined[i];
	if (e->extras && all_joined) /* else an abandoned lane may still write to it */
		sink_close(e->extras);
	e->extras = NULL;
	for (int i = 0; i < e->nextras; i++)
		free(e->extra_urls[i]);
	free(e->extra_urls);
	free(e->extra_sinks);
	e->extra_urls = NULL;
	e->extra_sinks = NULL;
	e->nextras = 0;
	for (int i = 0; i < NLANES; i++) {
		e->lanes[i].sink = NULL;
		e->lanes[i].store_sink = NULL;
		if (joined[i]) /* else still in use by its thread: left for exit */
			lane_free(&e->lanes[i]);
	}
}
