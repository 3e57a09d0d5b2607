/* Unit tests: the daemon's clock and lanes without threads (engine/
 * schedule.c, engine/lane.c): due-time arithmetic, requests posted while a
 * lane is busy merged, a tick delayed never queued twice; and util/idset.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/engine.h"
#include "engine/lane.h"
#include "engine/schedule.h"
#include "engine/target.h"
#include "features/feature.h"
#include "util/idset.h"

#define S 1000000000LL

static int feature_at(const char *name)
{
	for (size_t i = 0; i < feature_count; i++)
		if (strcmp(feature_table[i]->name, name) == 0)
			return (int)i;
	fail_msg("no feature %s", name);
	return -1;
}

/* Intervals: metric every 10 s, package every 60 s, the rest off. */
static void setup_schedule(struct schedule *s, int64_t now)
{
	double iv[SCHEDULE_MAX_FEATURES] = {0};
	iv[feature_at("metric")] = 10;
	iv[feature_at("package")] = 60;
	schedule_init(s, now);
	schedule_apply(s, iv, s->nfeat, now, true);
}

static void test_schedule_start(void **state)
{
	struct schedule s;
	int64_t t0 = 1000 * S;
	setup_schedule(&s, t0);
	int metric = feature_at("metric"), package = feature_at("package");
	assert_int_equal(s.metric, metric);
	assert_int_equal(schedule_enabled(&s), (1ull << metric) | (1ull << package));
	/* everything enabled is due at start, with discovery */
	assert_int_equal(schedule_next(&s), t0);
	struct due d = schedule_due(&s, t0);
	assert_int_equal(d.feats, (1ull << metric) | (1ull << package));
	assert_true(d.discover);
	assert_false(d.maintain);
	assert_int_equal(s.next_due[metric], t0 + 10 * S);
	assert_int_equal(s.next_due[package], t0 + 60 * S);
	assert_int_equal(schedule_next(&s), t0 + 10 * S);
	/* nothing more until then; 5 ms early counts as on time */
	assert_int_equal(schedule_due(&s, t0 + 9 * S).feats, 0);
	d = schedule_due(&s, t0 + 10 * S - 4000000);
	assert_int_equal(d.feats, 1ull << metric);
	assert_true(d.discover);
	/* the next tick keeps the phase: 20 s after start, not 20 s - 4 ms */
	assert_int_equal(s.next_due[metric], t0 + 20 * S);
}

static void test_schedule_missed_ticks_skipped(void **state)
{
	struct schedule s;
	int64_t t0 = 1000 * S;
	setup_schedule(&s, t0);
	int metric = feature_at("metric");
	schedule_due(&s, t0);
	/* the main thread wakes 35 s late: metric is due once, not 3 times,
	 * and its next tick is one interval from now */
	struct due d = schedule_due(&s, t0 + 35 * S);
	assert_true((d.feats >> metric) & 1);
	assert_int_equal(s.next_due[metric], t0 + 35 * S + 5000000 + 10 * S);
	assert_int_equal(schedule_due(&s, t0 + 36 * S).feats, 0);
	/* maintenance once a minute */
	d = schedule_due(&s, t0 + MAINTAIN_EVERY_NS);
	assert_true(d.maintain);
	assert_false(schedule_due(&s, t0 + MAINTAIN_EVERY_NS + S).maintain);
}

static void test_schedule_reload(void **state)
{
	struct schedule s;
	int64_t t0 = 1000 * S;
	setup_schedule(&s, t0);
	int metric = feature_at("metric"), process = feature_at("process");
	schedule_due(&s, t0);
	double iv[SCHEDULE_MAX_FEATURES] = {0};
	iv[metric] = 2;   /* shorter: the next tick comes sooner */
	iv[process] = 30; /* turned on: due at once */
	schedule_apply(&s, iv, s.nfeat, t0 + S, false);
	assert_int_equal(s.next_due[metric], t0 + 3 * S);
	assert_int_equal(s.next_due[process], t0 + S);
	assert_true((schedule_enabled(&s) >> process) & 1);
	assert_false((schedule_enabled(&s) >> feature_at("package")) & 1);
	/* a longer interval does not delay the tick already planned */
	iv[metric] = 100;
	schedule_apply(&s, iv, s.nfeat, t0 + 2 * S, false);
	assert_int_equal(s.next_due[metric], t0 + 3 * S);
	/* what a lane does with the intervals it is posted: metric's rates are
	 * taken over min(1 s, interval / 2) */
	struct crawl_opts o;
	assert_int_equal(crawl_opts_init(&o), 0);
	crawl_opts_fit(&o, s.interval);
	assert_true(o.sample_interval == 1.0);
	iv[metric] = 1;
	schedule_apply(&s, iv, s.nfeat, t0 + 2 * S, false);
	crawl_opts_fit(&o, s.interval);
	assert_true(o.sample_interval == 0.5);
	crawl_opts_free(&o);
}

static void test_lane_of(void **state)
{
	assert_int_equal(lane_of(feature_find("metric")), LANE_FAST);
	assert_int_equal(lane_of(feature_find("process")), LANE_FAST);
	assert_int_equal(lane_of(feature_find("package")), LANE_SLOW);
	assert_int_equal(lane_of(feature_find("config")), LANE_SLOW);
	assert_int_equal(lane_of(feature_find("file")), LANE_FILE);
}

/* The engine's lanes without threads: what a busy lane finds when it is
 * done with its crawl. */
static void test_lane_requests_merged(void **state)
{
	struct engine *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	engine_init(e, -1, NULL, "test.db", NULL);
	for (int i = 0; i < NLANES; i++)
		lane_init(&e->lanes[i], i, e);
	double iv[SCHEDULE_MAX_FEATURES] = {0};
	int metric = feature_at("metric"), process = feature_at("process"),
	    package = feature_at("package");
	iv[metric] = 10;
	iv[process] = 30;
	iv[package] = 60;
	int64_t t0 = 1000 * S;
	schedule_apply(&e->sched, iv, e->sched.nfeat, t0, true);
	e->workers = 4;
	e->timeout = 30;
	e->file_timeout = 3600;

	/* at start: every lane with an enabled feature gets it */
	engine_tick(e, t0);
	struct lane_request rq;
	struct lane *fast = &e->lanes[LANE_FAST], *slow = &e->lanes[LANE_SLOW];
	/* the fast lane is busy: two more metric ticks come */
	engine_tick(e, t0 + 10 * S);
	e->workers = 2; /* a reload meanwhile */
	engine_tick(e, t0 + 20 * S);
	pthread_mutex_lock(&fast->lock);
	assert_true(lane_take_locked(fast, &rq));
	/* one request: metric and process OR-ed, the newest limits */
	assert_int_equal(rq.due, (1ull << metric) | (1ull << process));
	assert_true(rq.discover);
	assert_int_equal(rq.workers, 2);
	assert_true(rq.timeout == 30);
	assert_int_equal(rq.enabled, (1ull << metric) | (1ull << process) | (1ull << package));
	/* never queued twice: nothing is left */
	assert_false(lane_take_locked(fast, &rq));
	pthread_mutex_unlock(&fast->lock);
	/* the slow lane got package only, no discovery of its own */
	pthread_mutex_lock(&slow->lock);
	assert_true(lane_take_locked(slow, &rq));
	assert_int_equal(rq.due, 1ull << package);
	assert_false(rq.discover);
	assert_false(lane_take_locked(slow, &rq));
	pthread_mutex_unlock(&slow->lock);
	/* the file lane: file is off, nothing posted */
	pthread_mutex_lock(&e->lanes[LANE_FILE].lock);
	assert_false(lane_take_locked(&e->lanes[LANE_FILE], &rq));
	pthread_mutex_unlock(&e->lanes[LANE_FILE].lock);

	/* a lane takes only its own features */
	struct lane_request in = {.due = ~0ull, .enabled = ~0ull, .workers = 1};
	lane_post(slow, &in);
	pthread_mutex_lock(&slow->lock);
	assert_true(lane_take_locked(slow, &rq));
	assert_int_equal(rq.due, slow->feats);
	pthread_mutex_unlock(&slow->lock);
	for (int i = 0; i < NLANES; i++)
		lane_free(&e->lanes[i]);
	free(e);
}

/* The kinds table: indices, and the features each kind takes. */
static void test_kinds(void **state)
{
	for (int i = 0; i < target_nkinds; i++) {
		assert_int_equal(target_kinds[i]->index, i);
		assert_true(i < TARGET_MAX_KINDS);
		assert_non_null(target_kinds[i]->open);
		assert_non_null(target_kinds[i]->identity);
	}
	const struct feature *file = feature_find("file"), *os = feature_find("os"),
	                     *process = feature_find("process"), *package = feature_find("package");
	/* the host takes all; 'file' is never a default */
	assert_true(target_takes(&kind_host, file));
	assert_false(target_default_feature(&kind_host, file));
	assert_true(target_default_feature(&kind_host, process));
	/* a VM: what needs no files */
	assert_true(target_default_feature(&kind_vm, os));
	assert_true(target_default_feature(&kind_vm, process));
	assert_false(target_takes(&kind_vm, package));
	/* a root or an image: files only */
	assert_true(target_default_feature(&kind_root, package));
	assert_false(target_takes(&kind_image, process));
	assert_null(kind_root.discover);
	assert_null(kind_image.discover);
}

static void test_idset(void **state)
{
	struct idset s = {0};
	assert_false(idset_has(&s, id_hash("host:a")));
	for (int i = 0; i < 100; i++) {
		char id[32];
		snprintf(id, sizeof(id), "container:podman:%d", 99 - i);
		assert_true(idset_add(&s, id_hash(id)));
	}
	idset_sort(&s);
	assert_int_equal(s.n, 100);
	for (int i = 1; i < s.n; i++)
		assert_true(s.v[i - 1] <= s.v[i]);
	assert_true(idset_has(&s, id_hash("container:podman:0")));
	assert_true(idset_has(&s, id_hash("container:podman:99")));
	assert_false(idset_has(&s, id_hash("container:podman:100")));
	/* FNV-1a: a known value */
	assert_int_equal(id_hash(""), 14695981039346656037ull);
	assert_int_equal(id_hash("a"), 0xaf63dc4c8601ec8cull);
	/* the signature depends on the set, not on the order it was built in */
	struct idset t = {0};
	for (int i = 0; i < 100; i++) {
		char id[32];
		snprintf(id, sizeof(id), "container:podman:%d", i);
		idset_add(&t, id_hash(id));
	}
	idset_sort(&t);
	assert_int_equal(idset_signature(&s, 7), idset_signature(&t, 7));
	idset_clear(&t);
	assert_int_equal(t.n, 0);
	assert_false(idset_has(&t, id_hash("container:podman:0")));
	assert_int_not_equal(idset_signature(&s, 7), idset_signature(&t, 7));
	idset_free(&s);
	idset_free(&t);
	assert_null(s.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schedule_start),
	    cmocka_unit_test(test_schedule_missed_ticks_skipped),
	    cmocka_unit_test(test_schedule_reload),
	    cmocka_unit_test(test_lane_of),
	    cmocka_unit_test(test_lane_requests_merged),
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_idset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
