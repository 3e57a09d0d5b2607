/*
 * schedule.c - due times of the daemon's features (see schedule.h).
 */
#include "schedule.h"

#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>

#include "../features/feature.h"
#include "../util/log.h"
#include "../util/util.h"

void schedule_init(struct schedule *s, int64_t now)
{
	memset(s, 0, sizeof(*s));
	s->nfeat =
	    feature_count < SCHEDULE_MAX_FEATURES ? (int)feature_count : SCHEDULE_MAX_FEATURES;
	s->metric = -1;
	for (int i = 0; i < s->nfeat; i++)
		if (feature_table[i]->paces_discovery && s->metric < 0)
			s->metric = i;
	s->next_maintain = now + MAINTAIN_EVERY_NS;
}

void schedule_apply(struct schedule *s, const double *interval, int n, int64_t now, bool at_start)
{
	for (int i = 0; i < s->nfeat; i++) {
		double old = s->interval[i], iv = i < n ? interval[i] : 0;
		s->interval[i] = iv;
		if (at_start || (iv > 0 && old <= 0)) {
			s->next_due[i] = now; /* everything at start; a feature turned on at once */
		} else if (iv > 0 && iv != old) {
			int64_t sooner = now + (int64_t)(iv * 1e9);
			if (sooner < s->next_due[i])
				s->next_due[i] = sooner;
			log_info("interval of %s: %gs -> %gs", feature_table[i]->name, old, iv);
		} else if (iv <= 0 && old > 0) {
			log_info("feature %s turned off", feature_table[i]->name);
		}
	}
}

struct due schedule_due(struct schedule *s, int64_t now)
{
	struct due d = {0};
	now += SCHEDULE_EARLY_NS;
	for (int i = 0; i < s->nfeat; i++) {
		if (s->interval[i] <= 0 || s->next_due[i] > now)
			continue;
		d.feats |= 1ull << i;
		int64_t step = (int64_t)(s->interval[i] * 1e9);
		s->next_due[i] += step;
		if (s->next_due[i] <= now)
			s->next_due[i] = now + step;
	}
	d.maintain = s->next_maintain <= now;
	if (d.maintain)
		s->next_maintain = now + MAINTAIN_EVERY_NS;
	d.discover = s->metric >= 0 && (d.feats >> s->metric) & 1;
	return d;
}

int64_t schedule_next(const struct schedule *s)
{
	int64_t next = s->next_maintain;
	for (int i = 0; i < s->nfeat; i++)
		if (s->interval[i] > 0 && s->next_due[i] < next)
			next = s->next_due[i];
	return next <= 0 ? 1 : next;
}

int schedule_arm(const struct schedule *s, int tfd)
{
	/* armed relative to now (a delay, not TFD_TIMER_ABSTIME): the same on
	 * CLOCK_MONOTONIC, and what a shim that fakes the wall clock
	 * (libfaketime, tests/integration/clock_jump.sh) leaves alone, where it
	 * shifts an absolute expiry by its offset even on the monotonic clock */
	int64_t delay = schedule_next(s) - mono_ns();
	if (delay < 1)
		delay = 1; /* 0 would disarm it */
	struct itimerspec its = {
	    .it_value = {.tv_sec = delay / 1000000000, .tv_nsec = delay % 1000000000}};
	if (timerfd_settime(tfd, 0, &its, NULL) < 0) {
		log_error("timerfd: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

uint64_t schedule_enabled(const struct schedule *s)
{
	uint64_t m = 0;
	for (int i = 0; i < s->nfeat; i++)
		if (s->interval[i] > 0)
			m |= 1ull << i;
	return m;
}
