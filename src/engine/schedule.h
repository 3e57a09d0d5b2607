/*
 * schedule.h - when each feature is due: the daemon's clock.
 *
 * Owned by the daemon's main thread, which never crawls: per feature of
 * feature_table, an interval (0: off) and the next time it is due
 * (CLOCK_MONOTONIC ns), and store maintenance once a minute.  At each
 * wake-up schedule_due() says what is due and moves each due feature to
 * its next tick; ticks missed while a lane was busy are skipped, not run
 * in a burst (the lane merges what is posted meanwhile: a tick is delayed,
 * never queued twice).  The timer is armed at schedule_next().
 *
 * Every function takes `now` from the caller (mono_ns()), so the
 * arithmetic can be tested without waiting.
 */
#ifndef VANTAGE_SCHEDULE_H
#define VANTAGE_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#define SCHEDULE_MAX_FEATURES 64
#define MAINTAIN_EVERY_NS (60 * 1000000000LL)
#define SCHEDULE_EARLY_NS (5 * 1000000LL) /* 5 ms early is on time */

struct schedule {
	int nfeat;  /* features of feature_table scheduled (<= SCHEDULE_MAX_FEATURES) */
	int metric; /* index of the metric feature, -1 if none */
	double interval[SCHEDULE_MAX_FEATURES]; /* seconds; 0: off */
	int64_t next_due[SCHEDULE_MAX_FEATURES];
	int64_t next_maintain;
};

/* What is due at one wake-up. */
struct due {
	uint64_t feats; /* bits of feature_table */
	bool discover;  /* metric is due: rediscover the systems first */
	bool maintain;  /* store maintenance */
};

/* An empty schedule for the features of feature_table (all off). */
void schedule_init(struct schedule *s, int64_t now);

/* Take new intervals (interval[i] for feature i, n of them).  At start
 * everything is due now; later a feature turned on is due now, and a
 * changed interval moves the next tick sooner if it is shorter (changes
 * are logged). */
void schedule_apply(struct schedule *s, const double *interval, int n, int64_t now, bool at_start);

/* What is due at `now`; advances what it returns. */
struct due schedule_due(struct schedule *s, int64_t now);

/* The earliest moment something is due (for the timer). */
int64_t schedule_next(const struct schedule *s);

/* Arm timerfd `tfd` (CLOCK_MONOTONIC) at schedule_next(); 0 or -errno. */
int schedule_arm(const struct schedule *s, int tfd);

/* Features with an interval. */
uint64_t schedule_enabled(const struct schedule *s);

/* Metric's two samples: a system's first crawl takes them min(1 s,
 * interval / 2) apart; later ticks start from the last tick's sample (the
 * lane's carries, lane.h), so rates are on every tick and no tick waits. */

#endif
