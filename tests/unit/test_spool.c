/* Unit tests: the on-disk spool of sinks (src/sinks/spool.c): order, bounds
 * and the drop-oldest counts, a torn tail, replay after a restart, the
 * backoff after a failure, max_age with a fake clock. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sinks/spool.h"
#include "util/buf.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/vantage-spool-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct spool *open_spool(const char *name, uint64_t max_bytes, uint64_t seg,
                                int64_t (*clock)(void))
{
	struct spool_opts o = {
	    .dir = dir, .name = name, .max_bytes = max_bytes, .segment_bytes = seg, .clock = clock};
	char err[256];
	struct spool *sp;
	int r = spool_open(&o, &sp, err, sizeof(err));
	if (r < 0)
		fail_msg("%s", err);
	return sp;
}

static void put(struct spool *sp, int i)
{
	char frame[200];
	int n = snprintf(frame, sizeof(frame), "{\"frame\":%d,\"pad\":\"%0*d\"}\n", i, 100, i);
	assert_int_equal(spool_append(sp, frame, (size_t)n, (uint64_t)i % 7 + 1), 0);
}

/* What deliver saw, in order. */
struct got {
	int v[4096];
	int n;
	int fail; /* fail the next `fail` calls */
	size_t max_seen;
};

static int deliver(void *ctx, const struct spool_item *items, size_t n)
{
	struct got *g = ctx;
	if (g->fail) {
		g->fail--;
		return -ECONNREFUSED;
	}
	if (n > g->max_seen)
		g->max_seen = n;
	for (size_t i = 0; i < n; i++) {
		int v;
		char head[32]; /* data is len bytes, no NUL after them */
		size_t hl = items[i].len < sizeof(head) - 1 ? items[i].len : sizeof(head) - 1;
		memcpy(head, items[i].data, hl);
		head[hl] = '\0';
		assert_int_equal(sscanf(head, "{\"frame\":%d", &v), 1);
		assert_int_equal(items[i].records, (uint64_t)v % 7 + 1);
		assert_true(items[i].len > 100);
		g->v[g->n++] = v;
	}
	return 0;
}

static void drain(struct spool *sp, struct got *g, size_t batch)
{
	struct spool_limits lim = {.max_items = batch};
	int r;
	while ((r = spool_replay(sp, &lim, deliver, g)) > 0)
		;
	assert_int_equal(r, 0);
}

static void test_order(void **state)
{
	struct spool *sp = open_spool("order", 0, 4096, NULL);
	assert_true(spool_empty(sp));
	for (int i = 0; i < 300; i++)
		put(sp, i);
	assert_false(spool_empty(sp));
	const struct spool_counters *c = spool_counters(sp);
	assert_int_equal(atomic_load(&c->frames), 300);
	struct got g = {0};
	drain(sp, &g, 16);
	assert_int_equal(g.n, 300);
	assert_int_equal(g.max_seen, 16);
	for (int i = 0; i < 300; i++)
		assert_int_equal(g.v[i], i);
	assert_true(spool_empty(sp));
	assert_int_equal(atomic_load(&c->spooled_frames), 300);
	assert_int_equal(atomic_load(&c->replayed_frames), 300);
	assert_int_equal(atomic_load(&c->dropped_frames), 0);
	assert_int_equal(atomic_load(&c->frames), 0);
	assert_int_equal(atomic_load(&c->bytes), 0);
	assert_int_equal(atomic_load(&c->replayed_bytes), atomic_load(&c->spooled_bytes));
	/* appending after a drain starts a new segment and keeps working */
	put(sp, 1000);
	g.n = 0;
	drain(sp, &g, 1);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.v[0], 1000);
	spool_close(sp);
}

static void test_bounds(void **state)
{
	/* ~160 B a frame, 4 KiB segments, 16 KiB at most */
	struct spool *sp = open_spool("bounds", 16384, 4096, NULL);
	const struct spool_counters *c = spool_counters(sp);
	for (int i = 0; i < 1000; i++) {
		put(sp, i);
		assert_true(atomic_load(&c->bytes) <= 16384);
	}
	uint64_t dropped = atomic_load(&c->dropped_frames);
	assert_true(dropped > 0);
	assert_int_equal(atomic_load(&c->frames) + dropped, 1000);
	struct got g = {0};
	drain(sp, &g, 10);
	/* the newest survive, in order; the drop counter says how many were lost */
	assert_int_equal((uint64_t)g.n + dropped, 1000);
	for (int i = 0; i < g.n; i++)
		assert_int_equal(g.v[i], (int)dropped + i);
	assert_int_equal(g.v[g.n - 1], 999);
	/* records dropped: the sum of the counts of frames 0 .. dropped-1 */
	uint64_t recs = 0;
	for (uint64_t i = 0; i < dropped; i++)
		recs += i % 7 + 1;
	assert_int_equal(atomic_load(&c->dropped_records), recs);
	/* a frame larger than the whole spool is refused and counted */
	char *big = calloc(1, 20000);
	assert_int_equal(spool_append(sp, big, 20000, 3), -EFBIG);
	free(big);
	assert_int_equal(atomic_load(&c->dropped_frames), dropped + 1);
	spool_close(sp);
}

static char *last_segment(void)
{
	static char path[256];
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "ls %s/*.seg | tail -1", dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(path, sizeof(path), p));
	pclose(p);
	path[strcspn(path, "\n")] = 0;
	return path;
}

static void test_torn_tail(void **state)
{
	struct spool *sp = open_spool("torn", 0, 0, NULL);
	for (int i = 0; i < 5; i++)
		put(sp, i);
	spool_close(sp);
	/* a crash in the middle of an append: half a header and no bytes */
	const char *seg = last_segment();
	int fd = open(seg, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "VSP1\x99\x00", 6), 6);
	close(fd);
	sp = open_spool("torn", 0, 0, NULL);
	const struct spool_counters *c = spool_counters(sp);
	assert_int_equal(atomic_load(&c->torn_bytes), 6);
	assert_int_equal(atomic_load(&c->frames), 5);
	/* appends after recovery go after the good records */
	put(sp, 5);
	spool_close(sp);
	/* a torn payload: the last record's bytes cut short */
	seg = last_segment();
	struct stat st;
	assert_int_equal(stat(seg, &st), 0);
	assert_int_equal(truncate(seg, st.st_size - 10), 0);
	sp = open_spool("torn", 0, 0, NULL);
	c = spool_counters(sp);
	assert_int_equal(atomic_load(&c->torn_records), 2);
	struct got g = {0};
	drain(sp, &g, 4);
	assert_int_equal(g.n, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(g.v[i], i);
	spool_close(sp);
}

static void test_corrupt_byte(void **state)
{
	struct spool *sp = open_spool("flip", 0, 0, NULL);
	for (int i = 0; i < 3; i++)
		put(sp, i);
	spool_close(sp);
	/* one flipped byte in the last record's bytes: its checksum fails */
	const char *seg = last_segment();
	struct stat st;
	assert_int_equal(stat(seg, &st), 0);
	int fd = open(seg, O_RDWR);
	char b;
	assert_int_equal(pread(fd, &b, 1, st.st_size - 5), 1);
	b ^= 0x20;
	assert_int_equal(pwrite(fd, &b, 1, st.st_size - 5), 1);
	close(fd);
	sp = open_spool("flip", 0, 0, NULL);
	struct got g = {0};
	drain(sp, &g, 8);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.v[1], 1);
	assert_int_equal(atomic_load(&spool_counters(sp)->torn_records), 1);
	spool_close(sp);
}

static void test_restart(void **state)
{
	struct spool *sp = open_spool("restart", 0, 2048, NULL);
	for (int i = 0; i < 40; i++)
		put(sp, i);
	struct got g = {0};
	struct spool_limits lim = {.max_items = 15};
	assert_int_equal(spool_replay(sp, &lim, deliver, &g), 15);
	spool_close(sp);
	/* the next run replays what is left, from where the last one stopped */
	sp = open_spool("restart", 0, 2048, NULL);
	assert_int_equal(atomic_load(&spool_counters(sp)->frames), 25);
	put(sp, 40);
	drain(sp, &g, 7);
	assert_int_equal(g.n, 41);
	for (int i = 0; i < 41; i++)
		assert_int_equal(g.v[i], i);
	spool_close(sp);
	/* and nothing the third time */
	sp = open_spool("restart", 0, 2048, NULL);
	assert_true(spool_empty(sp));
	spool_close(sp);
}

static void test_backoff(void **state)
{
	struct spool *sp = open_spool("backoff", 0, 0, NULL);
	put(sp, 1);
	put(sp, 2);
	struct got g = {.fail = 1};
	assert_int_equal(spool_replay(sp, NULL, deliver, &g), -ECONNREFUSED);
	/* the backoff holds replay back: deliver is not called */
	assert_false(spool_due(sp));
	assert_int_equal(spool_replay(sp, NULL, deliver, &g), -EAGAIN);
	assert_int_equal(g.n, 0);
	assert_int_equal(atomic_load(&spool_counters(sp)->frames), 2);
	spool_close(sp);
	/* a new process (or a reopened spool) tries at once */
	sp = open_spool("backoff", 0, 0, NULL);
	drain(sp, &g, 5);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.v[0], 1);
	spool_close(sp);
}

static int64_t fake_now;
static int64_t fake_clock(void)
{
	return fake_now;
}

static void test_max_age(void **state)
{
	struct spool_opts o = {
	    .dir = dir, .name = "age", .max_age_s = 60, .segment_bytes = 1024, .clock = fake_clock};
	char err[256];
	struct spool *sp;
	fake_now = 1000000000000000000LL;
	assert_int_equal(spool_open(&o, &sp, err, sizeof(err)), 0);
	for (int i = 0; i < 20; i++) {
		fake_now += 10 * 1000000000LL; /* 10 s a frame */
		put(sp, i);
	}
	/* at the time of frame 19 + 5 s, frames older than 60 s are 0..13 */
	fake_now += 5 * 1000000000LL;
	struct got g = {0};
	drain(sp, &g, 3);
	assert_int_equal(g.n, 6);
	assert_int_equal(g.v[0], 14);
	const struct spool_counters *c = spool_counters(sp);
	assert_int_equal(atomic_load(&c->dropped_frames), 14);
	assert_int_equal(atomic_load(&c->replayed_frames), 6);
	spool_close(sp);
}

static void test_dir_name_and_metrics(void **state)
{
	char d[256];
	spool_dir_for("/var/lib/vantage/spool",
	              "https://user:secret@example.com:8443/in?x=1#token=t", d, sizeof(d));
	assert_null(strstr(d, "secret"));
	assert_null(strstr(d, "token"));
	assert_non_null(strstr(d, "/var/lib/vantage/spool/https_example.com_8443_in-"));
	struct buf b = BUF_INIT;
	spool_metrics(&b);
	assert_non_null(strstr(buf_str(&b), "vantage_sink_spool_frames_total{sink=\"order\","
	                                    "event=\"replayed\"} 301\n"));
	assert_non_null(strstr(buf_str(&b), "# TYPE vantage_sink_spool_size_bytes gauge"));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backoff, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_age, setup, teardown),
	    cmocka_unit_test(test_dir_name_and_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
