/*
 * engine.c - the daemon's engine: starting and stopping the lanes over the
 * shared store, and posting what the schedule says is due (see engine.h).
 */
#include "engine.h"

#include <errno.h>
#include <string.h>

#include "../util/log.h"
#include "../util/util.h"

void engine_init(struct engine *e, int proc_fd, struct store *st, const char *db_path,
                 const struct engine_report *report)
{
	memset(e, 0, sizeof(*e));
	e->proc_fd = proc_fd;
	e->watch[kind_host.index] = true;
	if (report)
		e->report = *report;
	store_share_init(&e->store, st, db_path, &e->report);
	schedule_init(&e->sched, mono_ns());
	for (int i = 0; i < NLANES; i++)
		e->lanes[i].procdir = -1;
}

int engine_start(struct engine *e)
{
	for (int i = 0; i < NLANES; i++) {
		struct lane *l = &e->lanes[i];
		lane_init(l, i, e);
		int r = locked_sink_open(&e->store, i, &l->sink);
		if (r < 0) {
			log_error("store %s: cannot open the store sink: %s", e->store.path,
			          strerror(-r));
			return r;
		}
		if (pthread_create(&l->tid, NULL, lane_main, l) != 0) {
			log_error("cannot start a crawl thread");
			return -EAGAIN;
		}
		l->started = true;
	}
	return 0;
}

void engine_tick(struct engine *e, int64_t now)
{
	struct due d = schedule_due(&e->sched, now);
	struct lane_request rq = {
	    .enabled = schedule_enabled(&e->sched),
	    .workers = e->workers,
	    .sample_interval = schedule_sample_interval(&e->sched),
	};
	for (int i = 0; i < NLANES; i++) {
		rq.due = d.feats & e->lanes[i].feats;
		rq.maintain = d.maintain && i == LANE_FAST;
		rq.discover = d.discover && i == LANE_FAST;
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
	for (int i = 0; i < NLANES; i++)
		sinks[i] = e->lanes[i].sink;
	store_share_close(&e->store, sinks, joined, NLANES);
	for (int i = 0; i < NLANES; i++) {
		e->lanes[i].sink = NULL;
		if (joined[i]) /* else still in use by its thread: left for exit */
			lane_free(&e->lanes[i]);
	}
}
