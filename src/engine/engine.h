/*
 * engine.h - the daemon's engine: lanes crawling into the store on a
 * schedule (the core of `vantage serve`, which adds the configuration,
 * the signals and the REST API around it).
 *
 * Threads:
 *   main    the owner's loop (cli/serve.c: an epoll loop over a signalfd
 *           and one timerfd armed at schedule_next()).  It owns the
 *           schedule (schedule.h) and posts what is due to the lanes with
 *           engine_tick(); it never crawls and never touches the store.
 *   lanes   three threads that crawl (lane.h).
 *
 * The store: ONE read-write handle shared by the lanes through locked
 * sinks (locked_sink.h).  What the engine does is counted through
 * engine_report (report.h).
 *
 * Fields are marked by who touches them: "start" (set before
 * engine_start(), constant after), "main" (main thread only), the rest
 * belongs to the lanes and the store share.
 */
#ifndef VANTAGE_ENGINE_H
#define VANTAGE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "../features/feature.h"
#include "lane.h"
#include "locked_sink.h"
#include "report.h"
#include "schedule.h"
#include "target.h"

struct engine {
	int proc_fd;                  /* start: the host's /proc */
	bool watch[TARGET_MAX_KINDS]; /* start: kinds to discover, by kind index */
	struct crawl_opts opts;       /* start: copied into each lane */
	struct engine_report report;  /* start */
	const char *const *sinks;     /* start: URLs of extra sinks (every frame goes to each) */
	/* start: called by a lane after its frames of a tick are stored (data
	 * up to now_ms, wall clock, is in the store); NULL: none.  From the
	 * lanes' threads; must not block (the daemon's alarms). */
	void (*stored)(void *arg, int64_t now_ms);
	void *stored_arg;
	/* start: called by the fast lane after each discovery that changed
	 * the systems, with them (valid during the call only; the log
	 * collector, engine/logtail.h); NULL: none.  Must not block. */
	void (*discovered)(void *arg, const struct target_set *set);
	void *discovered_arg;
	int nsinks;
	/* start: the spools of the extra sinks (sinks.h struct sink_env):
	 * NULL / 0 for the defaults */
	const char *spool_dir;
	uint64_t spool_max_bytes;
	int64_t spool_max_age_s;
	struct sink *extras; /* a locked tee of the extra sinks (none at first, maybe) */
	/* its members and the URLs they were opened from (engine_set_sinks) */
	struct sink **extra_sinks;
	char **extra_urls;
	int nextras;
	struct store_share store;
	bool abandoned;       /* a lane thread was left running: keep the engine */
	bool maintain_failed; /* fast lane: the last store maintenance failed (logged once) */
	struct lane lanes[NLANES];

	/* start: the memory guard (memguard.h), NULL: none; owned by the
	 * caller.  main: its level, applied by engine_tick */
	struct memguard *guard;
	int shed_level;
	uint64_t shed_ticks; /* metric ticks at level MEMGUARD_METRIC_ONLY */

	/* main: the schedule and what reloads change */
	struct schedule sched;
	int workers;
	double timeout, file_timeout;
};

/* Set up e over an open read-write store (owned by e from now on: closed
 * by engine_stop()).  `db_path` names it in messages. */
void engine_init(struct engine *e, int proc_fd, struct store *st, const char *db_path,
                 const struct engine_report *report);

/* Start the lanes; 0 or a negative errno (logged).  Call engine_stop()
 * in every case. */
int engine_start(struct engine *e);

/* Post to the lanes what is due at `now` (mono ns), less what the memory
 * guard's level sheds (memguard.h; counted as EC_SKIPPED). */
void engine_tick(struct engine *e, int64_t now);

/* Main thread: sample the memory guard (at most once a second) and take
 * its level; reported as EC_SHED_LEVEL, EC_MEM_USED, EC_MEM_LIMIT. */
void engine_memcheck(struct engine *e, int64_t now);

/* Main thread: make the extra sinks those of urls[0..n) (SIGHUP): a sink
 * whose URL is still there stays open as it is (its connection, batch and
 * spool untouched); one whose URL is gone is closed (what it holds goes to
 * its spool, which stays on disk); a new URL is opened, after the closes
 * (a URL changed in its options only may name the same spool).  Between
 * frames: the lanes wait for it.  A URL that cannot be opened is logged and
 * left out; returns the number of such URLs, 0 when all are open. */
int engine_set_sinks(struct engine *e, char *const *urls, int n);

/* Stop: the fast lane finishes the crawl it is in (crawl_run bounds it by
 * the time limit); the slow lane gets 10 s and the file lane 3 s, then
 * their crawl is left behind (its frame is not stored, e->abandoned set);
 * frames still pending are retried once, and the store is closed. */
void engine_stop(struct engine *e);

#endif
