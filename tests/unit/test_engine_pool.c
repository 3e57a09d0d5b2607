/* Unit tests: the crawl pool (engine/crawl_run.c) and its time limit, on a
 * fake system whose view answers slowly, written to a sink in memory.  No
 * timing is asserted beyond "it gave up and wrote a frame saying so". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#else /* the build for valgrind (make valgrind) */
static void __lsan_disable(void) {}
static void __lsan_enable(void) {}
#endif

#include "engine/crawl_run.h"
#include "frame/sink.h"
#include "util/buf.h"
#include "views/view.h"

/* ---- a sink into memory -------------------------------------------------------- */

struct memsink {
	struct sink base;
	struct buf out;
	int flushes; /* one per frame */
};

static int mem_write(struct sink *s, const void *data, size_t len)
{
	buf_add(&((struct memsink *)s)->out, data, len);
	return 0;
}

static int mem_flush(struct sink *s)
{
	((struct memsink *)s)->flushes++;
	return 0;
}

static void mem_close(struct sink *s) {}

static const struct sink_ops mem_ops = {
    .name = "memory", .write = mem_write, .flush = mem_flush, .close = mem_close};

/* ---- a view whose load() takes `delay_ms` -------------------------------------- */

struct slow_view {
	struct view base;
	int delay_ms;
};

static int slow_load(struct view *v, struct vt_load *out)
{
	struct slow_view *sv = (struct slow_view *)v;
	struct timespec ts = {.tv_sec = sv->delay_ms / 1000,
	                      .tv_nsec = (long)(sv->delay_ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
	memset(out, 0, sizeof(*out));
	return 0;
}

static void slow_destroy(struct view *v) {}

static const struct view_ops slow_ops = {.load = slow_load, .destroy = slow_destroy};

/* ---- features: one asks the slow view, the next is cheap ----------------------- */

static int crawl_slow(struct crawl_ctx *c)
{
	struct vt_load l;
	return view_load(c->view, &l);
}

static int cheap_calls;

static int crawl_cheap(struct crawl_ctx *c)
{
	__atomic_add_fetch(&cheap_calls, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static const struct feature slow_feature = {.name = "slow", .crawl = crawl_slow};
static const struct feature cheap_feature = {.name = "cheap", .crawl = crawl_cheap};
static const struct feature *const feats[] = {&slow_feature, &cheap_feature};

static struct crawl_target target(struct view *v)
{
	struct crawl_target t = {.view = v};
	strcpy(t.sys.id, "host:test");
	strcpy(t.sys.name, "test");
	strcpy(t.sys.kind, "host");
	strcpy(t.sys.host, "test");
	return t;
}

static int run(struct crawl_target *t, struct memsink *ms, double timeout)
{
	struct crawl_opts opts = {.sample_interval = 0};
	struct crawl_run run = {
	    .targets = t,
	    .ntargets = 1,
	    .feats = feats,
	    .nfeats = 2,
	    .opts = &opts,
	    .fmt = FRAME_JSON,
	    .sink = &ms->base,
	    .proc_fd = -1,
	    .workers = 1,
	    .timeout = timeout,
	};
	return crawl_run(&run);
}

/* The system is slow but not stuck: the features not started by the
 * limit are recorded as not crawled; the frame is the worker's. */
static void test_limit_between_features(void **state)
{
	struct slow_view v = {.base.ops = &slow_ops, .delay_ms = 400};
	struct memsink ms = {.base.ops = &mem_ops};
	struct crawl_target t = target(&v.base);
	assert_int_equal(run(&t, &ms, 0.1), 0);
	assert_false(t.abandoned);
	assert_int_equal(ms.flushes, 1);
	const char *s = buf_str(&ms.out);
	assert_non_null(strstr(s, "not crawled: the system's time limit of 0.1 s had passed"));
	assert_null(strstr(s, "abandoned"));
	buf_free(&ms.out);
}

/* Sleep `s` seconds with the stack below the caller's frame, where run()'s
 * frame (and its struct crawl_run) was, overwritten: a worker coming back
 * meanwhile and still reading that would go astray. */
static __attribute__((noinline)) void sleep_on_scribbled_stack(unsigned s)
{
	volatile unsigned char junk[16384];
	memset((void *)junk, 0x7f, sizeof(junk));
	sleep(s);
	__asm__ volatile("" ::"r"(junk) : "memory");
}

/* The system's worker is stuck beyond the limit and the grace second:
 * the run gives up on it, writes a frame saying so, and returns; the
 * worker's own frame, when it comes back, is dropped, and it runs none of
 * the system's features left.  The caller's target array is freed as
 * soon as the run returns (as a caller reusing it for its next run): a
 * worker still reading it is a use after free under ASan. */
static void test_stuck_system_abandoned(void **state)
{
	struct slow_view v = {.base.ops = &slow_ops, .delay_ms = 2500};
	struct memsink ms = {.base.ops = &mem_ops};
	struct crawl_target *t = malloc(sizeof(*t));
	assert_non_null(t);
	*t = target(&v.base);
	__atomic_store_n(&cheap_calls, 0, __ATOMIC_SEQ_CST);
	__lsan_disable(); /* the pool is left to the stuck worker (it frees it on return) */
	int r = run(t, &ms, 0.1);
	__lsan_enable();
	assert_int_equal(r, 0);
	bool abandoned = t->abandoned;
	memset(t, 0x7f, sizeof(*t));
	free(t);
	assert_true(abandoned);
	assert_int_equal(ms.flushes, 1);
	assert_non_null(strstr(buf_str(&ms.out), "the crawl did not finish within its time "
	                                         "limit of 0.1 s and was abandoned"));
	/* let the worker come back (the run's description is gone by then: it
	 * must not need it): its frame must not be written */
	sleep_on_scribbled_stack(2);
	assert_int_equal(ms.flushes, 1);
	assert_int_equal(__atomic_load_n(&cheap_calls, __ATOMIC_SEQ_CST), 0);
	buf_free(&ms.out);
}

/* A fast system: one frame, no limit message. */
static void test_in_time(void **state)
{
	struct slow_view v = {.base.ops = &slow_ops, .delay_ms = 0};
	struct memsink ms = {.base.ops = &mem_ops};
	struct crawl_target t = target(&v.base);
	assert_int_equal(run(&t, &ms, 30), 0);
	assert_false(t.abandoned);
	assert_int_equal(ms.flushes, 1);
	assert_null(strstr(buf_str(&ms.out), "time limit"));
	assert_non_null(strstr(buf_str(&ms.out), "\"features\":[\"slow\",\"cheap\"]"));
	buf_free(&ms.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_time),
	    cmocka_unit_test(test_limit_between_features),
	    cmocka_unit_test(test_stuck_system_abandoned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
