/*
 * Unit tests: the fence of store_put_frames_at() against a zombie
 * consumer (store.h, store/offsets_fence.c).  A position given twice is a
 * move from the offset the consumer read to a new one: stored only while
 * the store still holds the first (or nothing yet); otherwise the whole
 * batch (frames and positions) is refused with -ESTALE, naming the
 * position.  Two handles on one store stand for two consumers of a group.
 *
 * Through store.h only, so that every backend runs it: the backend is
 * chosen as in test_store_conformance.c, by VANTAGE_TEST_STORE_URL (a URL
 * template whose "%s" becomes a fresh directory, or for postgres:// a
 * fresh schema; default "sqlite:%s/db").  tests/integration/store_pg.sh
 * runs it against PostgreSQL.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/store.h"
#include "tmpstore.h"
#include "util/buf.h"

static char url[600];

static int setup(void **state)
{
	tmpstore_setup(state);
	tmpstore_url(url, sizeof(url));
	return 0;
}

static struct store *open_rw(void)
{
	struct store *s = NULL;
	int r = store_open(url, STORE_RW, &s);
	if (r < 0)
		fprintf(stderr, "open %s: %s\n", url, store_errmsg(NULL));
	assert_int_equal(r, 0);
	return s;
}

/* A frame of system `sid` at minute `m` with one os record. */
static void frame(struct buf *b, const char *sid, int m, const char *os)
{
	buf_reset(b);
	buf_printf(b,
	           "{\"system\":\"%s\",\"time\":\"2023-11-14T22:%02d:00.000Z\",\"feature\":"
	           "\"frame\",\"key\":\"%s\",\"value\":{\"id\":\"%s\",\"name\":\"box\","
	           "\"kind\":\"host\",\"host\":\"box\",\"time\":\"2023-11-14T22:%02d:00.000Z\","
	           "\"features\":[\"os\"],\"duration_ms\":1,\"records\":1,\"errors\":{}}}\n"
	           "{\"system\":\"%s\",\"time\":\"2023-11-14T22:%02d:00.000Z\",\"feature\":\"os\","
	           "\"key\":\"os\",\"value\":{\"name\":\"%s\"}}\n",
	           sid, m, sid, sid, m, sid, m, os);
}

static int collect(void *ctx, const struct store_offset *o)
{
	buf_printf(ctx, "%s/%d=%lld;", o->topic, (int)o->partition, (long long)o->offset);
	return 0;
}

static const char *offsets(struct store *s, struct buf *b)
{
	buf_reset(b);
	assert_int_equal(store_offsets(s, "g", collect, b), 0);
	return buf_str(b);
}

static int64_t nframes(struct store *s)
{
	struct buf b = BUF_INIT;
	assert_int_equal(store_stats_json(s, &b), 0);
	const char *p = strstr(buf_str(&b), "\"frames\":");
	assert_non_null(p);
	int64_t n = strtoll(p + 9, NULL, 10);
	buf_free(&b);
	return n;
}

/* One frame and the move of t#seen/0 from `from` to `to` (t/0 set to `to`). */
static int put(struct store *s, struct buf *fb, int64_t from, int64_t to)
{
	struct store_frame f = {.jsonl = fb->data, .len = fb->len};
	const struct store_offset o[] = {{"t", 0, to}, {"t#seen", 0, from}, {"t#seen", 0, to}};
	return store_put_frames_at(s, &f, 1, "g", o, 3);
}

/* Two consumers: the one that read the position last stores; the zombie
 * that read it before is refused, its frame not stored. */
static void test_zombie_refused(void **state)
{
	struct store *a = open_rw(), *b = open_rw();
	struct buf fb = BUF_INIT, o = BUF_INIT;
	/* nothing stored yet: a move from "none" (-1) is stored */
	frame(&fb, "host:a", 0, "first");
	assert_int_equal(put(a, &fb, -1, 5), 0);
	assert_string_equal(offsets(a, &o), "t/0=5;t#seen/0=5;");
	/* a pauses (a zombie: the group gave partition 0 to b); b reads 5
	 * and stores the frames of offsets 5..8 */
	frame(&fb, "host:a", 1, "second");
	assert_int_equal(put(b, &fb, 5, 9), 0);
	assert_int_equal(nframes(b), 2);
	/* a wakes up with the same messages: it read the position as 5 */
	frame(&fb, "host:a", 1, "second");
	assert_int_equal(put(a, &fb, 5, 9), -ESTALE);
	assert_non_null(strstr(store_errmsg(a), "t#seen [0]"));
	assert_non_null(strstr(store_errmsg(a), "stored offset is 9"));
	assert_int_equal(nframes(a), 2); /* not stored twice */
	assert_string_equal(offsets(a, &o), "t/0=9;t#seen/0=9;");
	/* a reads the store's position again and goes on from there */
	frame(&fb, "host:a", 2, "third");
	assert_int_equal(put(a, &fb, 9, 12), 0);
	assert_int_equal(nframes(b), 3);
	/* now b is the one behind */
	assert_int_equal(put(b, &fb, 9, 12), -ESTALE);
	assert_int_equal(nframes(b), 3);
	store_close(a);
	store_close(b);
	buf_free(&fb);
	buf_free(&o);
}

/* "None stored" expected, one stored: refused.  A position given once is
 * set whatever it held (no fence).  Positions of other partitions and
 * groups do not fence each other. */
static void test_fence_cases(void **state)
{
	struct store *s = open_rw();
	struct buf fb = BUF_INIT, o = BUF_INIT;
	frame(&fb, "host:b", 0, "x");
	assert_int_equal(put(s, &fb, 7, 10), 0); /* none stored: any expectation holds */
	assert_string_equal(offsets(s, &o), "t/0=10;t#seen/0=10;");
	frame(&fb, "host:b", 1, "y");
	assert_int_equal(put(s, &fb, -1, 11), -ESTALE);
	assert_int_equal(nframes(s), 1);
	/* without a fence: set */
	const struct store_offset set[] = {{"t#seen", 0, 3}};
	assert_int_equal(store_put_frames_at(s, NULL, 0, "g", set, 1), 0);
	assert_string_equal(offsets(s, &o), "t/0=10;t#seen/0=3;");
	/* a batch of two partitions: one stale position refuses both */
	struct store_frame f = {.jsonl = fb.data, .len = fb.len};
	const struct store_offset two[] = {
	    {"t#seen", 1, -1}, {"t#seen", 1, 4}, {"t#seen", 0, 2}, {"t#seen", 0, 6}};
	assert_int_equal(store_put_frames_at(s, &f, 1, "g", two, 4), -ESTALE);
	assert_int_equal(f.err, -ESTALE);
	assert_int_equal(nframes(s), 1);
	assert_string_equal(offsets(s, &o), "t/0=10;t#seen/0=3;");
	/* another group's positions are its own */
	const struct store_offset other[] = {{"t#seen", 0, -1}, {"t#seen", 0, 1}};
	assert_int_equal(store_put_frames_at(s, NULL, 0, "h", other, 2), 0);
	store_close(s);
	buf_free(&fb);
	buf_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_zombie_refused, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_fence_cases, setup, tmpstore_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
