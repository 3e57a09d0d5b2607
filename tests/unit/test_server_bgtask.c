/*
 * Unit tests: a build on the store run apart from its request
 * (src/server/bgtask.c), on a real store file:
 *   - the build runs on another thread with a handle of its own, open on
 *     the store (it reads what a write put there), and its argument is
 *     freed after it;
 *   - while one runs, a second start is dropped (its argument freed at
 *     once) and says it is in hand (true);
 *   - bg_task_wait() returns only when the build has ended;
 *   - a store that cannot be opened: the build is not called, its
 *     argument is freed, and the task can start again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/bgtask.h"
#include "store/store.h"
#include "tmpstore.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool entered, release_it;
static int calls, freed;
static pthread_t caller;
static bool other_thread;
static size_t systems_seen;

struct arg {
	int id;
};

static void arg_free(void *p)
{
	pthread_mutex_lock(&mu);
	freed++;
	pthread_mutex_unlock(&mu);
	free(p);
}

static void fn(struct store *st, void *p)
{
	struct buf j = BUF_INIT;
	struct store_system_filter f = {.gone = -1};
	assert_int_equal(store_systems_json(st, &f, &j), 0);
	size_t n = 0;
	for (const char *c = j.data; c && (c = strstr(c, "\"id\":\"container:")); c++)
		n++;
	buf_free(&j);
	pthread_mutex_lock(&mu);
	other_thread = !pthread_equal(pthread_self(), caller);
	systems_seen = n;
	calls++;
	entered = true;
	pthread_cond_broadcast(&cv);
	while (!release_it)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	(void)p;
}

static struct arg *new_arg(int id)
{
	struct arg *a = malloc(sizeof(*a));
	a->id = id;
	return a;
}

static void reset(void)
{
	entered = release_it = false;
	calls = freed = 0;
	caller = pthread_self();
}

/* One metric frame of container sid in the store, by a handle closed after. */
static void put_one(const char *sid)
{
	struct store *w = tmpstore_open(STORE_RW);
	tmpstore_put_metrics(w, sid, "nginx:1", 1700000000000, 10, 1);
	store_close(w);
}

static void test_runs_apart_one_at_a_time(void **state)
{
	(void)state;
	reset();
	put_one("container:aaaa1111");
	struct bg_task t = BG_TASK_INIT;
	assert_true(bg_task_start(&t, path, fn, new_arg(1), arg_free));
	pthread_mutex_lock(&mu);
	while (!entered)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	/* the first is in fn: a second is dropped, its argument freed */
	assert_true(bg_task_start(&t, path, fn, new_arg(2), arg_free));
	pthread_mutex_lock(&mu);
	assert_int_equal(freed, 1);
	assert_int_equal(calls, 1);
	assert_true(other_thread);
	assert_int_equal(systems_seen, 1);
	release_it = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	bg_task_wait(&t);
	assert_false(t.running);
	assert_int_equal(freed, 2); /* the first one's, after fn */
	assert_int_equal(calls, 1);
	/* after the wait, the task starts again */
	release_it = true;
	assert_true(bg_task_start(&t, path, fn, new_arg(3), arg_free));
	bg_task_wait(&t);
	assert_int_equal(calls, 2);
	assert_int_equal(freed, 3);
}

static void test_reads_the_store(void **state)
{
	(void)state;
	reset();
	release_it = true;
	put_one("container:bbbb2222");
	struct bg_task t = BG_TASK_INIT;
	assert_true(bg_task_start(&t, path, fn, new_arg(1), arg_free));
	bg_task_wait(&t);
	assert_int_equal(calls, 1);
	assert_int_equal(systems_seen, 1); /* its own handle read what the write put there */
	put_one("container:cccc3333");
	assert_true(bg_task_start(&t, path, fn, new_arg(2), arg_free));
	bg_task_wait(&t);
	assert_int_equal(systems_seen, 2);
}

static void test_bad_store(void **state)
{
	(void)state;
	reset();
	release_it = true;
	struct bg_task t = BG_TASK_INIT;
	put_one("container:dddd4444"); /* the good store, for the second start */
	assert_true(bg_task_start(&t, "/nonexistent/dir/v.db", fn, new_arg(1), arg_free));
	bg_task_wait(&t);
	assert_int_equal(calls, 0);
	assert_int_equal(freed, 1);
	assert_true(bg_task_start(&t, path, fn, new_arg(2), arg_free));
	bg_task_wait(&t);
	assert_int_equal(calls, 1);
	assert_int_equal(freed, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_runs_apart_one_at_a_time, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_reads_the_store, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_store, tmpstore_setup, tmpstore_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
