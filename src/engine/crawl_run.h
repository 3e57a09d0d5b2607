/*
 * crawl_run.h - the crawl pool: crawl many systems in parallel into frames.
 *
 * A run is a list of systems (of any kind, engine/target.h) and a list of
 * features.  Worker threads (`workers`) take systems one at a time, open
 * the system's view, run the features into one frame, and write the
 * frame to the sink (frames are written whole, one at a time).
 *
 * Rates: when a feature has a prime() hook (metric) and the sampling
 * interval is above 0, every system is primed first, then the run sleeps
 * what is left of ONE interval, then the systems are crawled: the wait is
 * paid once per run, not once per system.  A system that brings the last
 * sample of its previous crawl (crawl_target's carry: the daemon) is not
 * primed; when none needs priming the run neither primes nor sleeps.
 *
 * Per system: a target's feat_mask may select a subset of the features
 * (its frame lists only those); only systems whose subset has a feature
 * with prime() are primed.
 *
 * Views: the run opens each system's view for the crawl (and one more for
 * priming) and closes it, unless the target brings its own (a daemon keeps
 * views of systems it crawls every few seconds).
 *
 * Time limit: each system gets `timeout` seconds.  Features not started
 * by then are recorded as timed out in the frame.  A system whose worker
 * is stuck in the kernel beyond the limit (plus a grace second) gets a
 * frame of its own from the main thread saying so, and the run finishes
 * without waiting for it: one frozen container never stalls the others.
 */
#ifndef VANTAGE_CRAWL_RUN_H
#define VANTAGE_CRAWL_RUN_H

#include "../features/feature.h"
#include "target.h"

struct crawl_target {
	/* The system, opened through its kind when `view` is NULL (borrowed:
	 * it must outlive the run). */
	const struct target *target;
	struct system_id sys;
	/* Which of the run's features this system gets: bit i stands for
	 * run->feats[i]; 0 means all of them.  (The daemon crawls a system
	 * new to it with every feature, the others with those now due.) */
	uint64_t feat_mask;
	/* A view of the system the caller opened and keeps (borrowed: the run
	 * neither opens nor closes one then), or NULL. */
	struct view *view;
	/* Per feature of feature_table (FEATURE_MAX slots), or NULL: what the
	 * last crawl of this system left for the next (struct crawl_ctx's
	 * carry), owned by the caller.  An abandoned crawl may still write
	 * its slot: the caller must then forget the slots, never free them. */
	void **carry;
	/* Out: the run gave up on this system (its worker is stuck in the
	 * kernel); a borrowed view may still be in use and must not be
	 * closed or used again. */
	bool abandoned;
	/* Optional hooks around this system's features, run by its worker
	 * with the view open: enter() before the first feature (a non-zero
	 * return is recorded as a system error and no feature runs), leave()
	 * after the last, always when enter() was called, before the frame
	 * is written (so it may still change the identity's labels). */
	int (*enter)(struct crawl_target *t, struct frame *fr);
	void (*leave)(struct crawl_target *t, struct frame *fr);
	void *hook_arg;
};

struct crawl_run {
	struct crawl_target *targets;
	int ntargets;
	const struct feature *const *feats;
	int nfeats;
	const struct crawl_opts *opts;
	enum frame_format fmt;
	struct sink *sink;
	int proc_fd;    /* the host's /proc, for opening views; -1: none */
	int workers;    /* >= 1 */
	double timeout; /* seconds per system */
};

/* Returns 0 when every frame was written, else a negative errno of the
 * first sink failure (frames of other systems are still attempted). */
int crawl_run(const struct crawl_run *run);

/* Raise the soft limit of open files to the hard one, so that many
 * systems' views can be open at once. */
void crawl_raise_nofile(void);

#endif
