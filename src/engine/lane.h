/*
 * lane.h - the daemon's crawl threads.
 *
 * Three lanes crawl, each for the features that declare it (struct
 * feature's .lane), so a slow crawl never delays a fast one:
 *   fast  the default: metric, process, connection, os, module, interface,
 *         library (and the discovery of systems every metric tick, marking
 *         gone systems in the store, store maintenance)
 *   slow  package, config
 *   file  file (a walk of the whole file system)
 * A lane runs one request at a time through crawl_run() (its worker pool);
 * requests posted while it is busy are merged (features OR-ed, the newest
 * limits kept) and run when it is done: a tick is delayed, never queued
 * twice.
 *
 * Per lane, a system it has not crawled before (a new container, or
 * everything at start) gets every enabled feature of the lane its kind
 * takes, at once; the others get the features now due.  The ids seen are
 * kept in an idset.  The fast lane rediscovers the systems (every kind the
 * engine watches, engine/target.h) when metric (the feature that
 * paces_discovery) is due and a change of the pids in /proc may have
 * changed the systems (or 30 s passed, or a feature other than metric is
 * due for a kind found from processes: it needs their current pids): a
 * pid that exited matters when it was a system's (a container's init, a
 * QEMU), a new pid when it is a QEMU, or in a container (by its cgroup)
 * or PID namespace not known yet; a new host process, or one joining a
 * known container, does not.  The other lanes when they run (at
 * their own, rarer ticks) or when the fast lane saw a new system.  Views
 * are kept between ticks as kept_views.h says, and so is what a feature
 * with prime() (metric) leaves for its next crawl of a system: its last
 * sample, the next crawl's first (a carry is used when no older than
 * twice the feature's interval and 2 s; else the system is primed).
 */
#ifndef VANTAGE_LANE_H
#define VANTAGE_LANE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../features/feature.h"
#include "../util/idset.h"
#include "crawl_run.h"
#include "kept_views.h"
#include "target.h"

enum {
	LANE_FAST = FEATURE_LANE_FAST,
	LANE_SLOW = FEATURE_LANE_SLOW,
	LANE_FILE = FEATURE_LANE_FILE,
	NLANES = FEATURE_NLANES
};

extern const char *const lane_names[NLANES];

/* Which lane crawls a feature. */
int lane_of(const struct feature *f);

/* What the main thread asks of a lane. */
struct lane_request {
	uint64_t due;     /* features due (bits of feature_table) */
	uint64_t enabled; /* features with an interval, at post time */
	bool discover;    /* rediscover the systems first */
	bool maintain;    /* run store maintenance afterwards */
	int workers;
	double timeout;
	/* every feature's interval (seconds; 0 off), for the features that
	 * fit their settings to it (metric's sampling interval) */
	double interval[FEATURE_MAX];
};

struct engine;
struct gone_tracker;
struct vm_klog;

struct lane {
	int idx;
	struct engine *e;
	uint64_t feats; /* bits of feature_table this lane crawls */
	pthread_t tid;
	bool started;

	/* Requests from the main thread, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct lane_request rq; /* merged while busy */
	bool stop, done;

	/* The lane's own state: touched only by its thread. */
	struct sink *store_sink; /* the lane's locked store sink */
	struct sink *sink; /* where its frames go: store_sink, or a tee of it and the extra sinks */
	struct crawl_opts opts; /* the lane's own copy (borrowed when out of memory) */
	bool opts_borrowed;
	struct target_set set; /* the systems found at the last discovery */
	bool have_list;
	uint64_t proc_sig;          /* signature of the pids at the last check */
	int *pids, npids, cap_pids; /* the pids at the last check, ascending */
	int *cur_pids, ncur, cap_cur;
	int64_t discovered_at; /* mono ns of the last discovery */
	int procdir;           /* /proc, for the pid signature; -1 until used */
	struct idset known;    /* systems crawled with every feature */
	struct idset next;     /* the next `known`, built during a run (reused) */
	struct crawl_target *targets;
	struct kept_view **entries; /* per target: its kept entry (carries), or NULL */
	uint64_t *table_masks;      /* per target: its features, bits of feature_table */
	int cap;
	struct kept_views views;
	/* fast lane: the set of systems last given to store_mark_gone */
	uint64_t gone_sig;
	bool gone_synced;
	struct gone_tracker *gone; /* fast lane: why systems went (gone.h) */
	struct vm_klog *klog;      /* fast lane: the VMs' kernel logs (vm_klog.h) */
	int runs;
};

/* Set up lane idx of engine e (no thread yet). */
void lane_init(struct lane *l, int idx, struct engine *e);

/* Merge rq into the lane's pending request and wake it: due features are
 * OR-ed (only the lane's own), discover and maintain too; enabled, workers
 * and the limits are the newest. */
void lane_post(struct lane *l, const struct lane_request *rq);

/* Take the pending request, if there is one (lock held by the caller). */
bool lane_take_locked(struct lane *l, struct lane_request *out);

/* The thread (pthread_create(..., lane_main, l)). */
void *lane_main(void *arg);

/* Wait until lane l's thread has stopped, at most `secs` (< 0: no limit). */
bool lane_wait(struct lane *l, double secs);

/* Free what the lane holds (its thread stopped and joined). */
void lane_free(struct lane *l);

#endif
