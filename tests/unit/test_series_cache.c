/* Unit tests: the caches of a read-only store handle behind
 * store_series_json() (the decoded raw points, sqlite_series.c, and the
 * answers' text, sqlite_read.c) give byte for byte the answers of a handle
 * that does not cache (a read-write one), over sliding and jumping ranges,
 * every statistic and steps that do and do not divide a minute, and after
 * another connection writes (late points inside a cached range, new
 * points, compaction). */
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
#include "util/timefmt.h"

/* 2023-11-14T22:00:00.000Z, on an hour boundary */
#define T0 1699999200000LL
#define SEC 1000LL
#define HOUR 3600000LL

/* A metric frame of host:abc at t: memory (a percentage with decimals, a
 * large integer) and two disks (two series of one name). */
static void put_frame(struct store *s, int64_t t)
{
	char iso[40];
	format_time_utc(t * 1000000, iso, sizeof(iso));
	double pct = (double)(lrand48() % 100000000) / 1e6 - (lrand48() % 8 == 0 ? 50 : 0);
	long long kb = 3000000000LL + lrand48() % 1000;
	struct buf b = {0};
	buf_printf(&b,
	           "{\"system\":\"host:abc\",\"time\":\"%s\",\"feature\":\"frame\",\"key\":"
	           "\"host:abc\",\"value\":{\"id\":\"host:abc\",\"name\":\"box\",\"kind\":"
	           "\"host\",\"host\":\"box\",\"time\":\"%s\",\"features\":[\"metric\"],"
	           "\"duration_ms\":1,\"records\":0,\"errors\":{},\"feature_ms\":{}}}\n",
	           iso, iso);
	buf_printf(&b,
	           "{\"system\":\"host:abc\",\"time\":\"%s\",\"feature\":\"metric\",\"key\":"
	           "\"memory\",\"value\":{\"used_pct\":%.9g,\"used_kb\":%lld}}\n",
	           iso, pct, kb);
	for (int d = 0; d < 2; d++)
		buf_printf(
		    &b,
		    "{\"system\":\"host:abc\",\"time\":\"%s\",\"feature\":\"metric\",\"key\":"
		    "\"disk\",\"value\":{\"mountpoint\":\"/d%d\",\"used_pct\":%.4f}}\n",
		    iso, d, (double)(lrand48() % 10000) / 100.0);
	int64_t id;
	int r = store_put_frame(s, b.data, b.len, &id);
	if (r < 0)
		fprintf(stderr, "put_frame: %s\n", store_errmsg(s));
	assert_int_equal(r, 0);
	buf_free(&b);
}

static void same_answer(struct store *ro, struct store *rw, const char *metric, int64_t from,
                        int64_t to, int64_t step, const char *stat)
{
	struct buf a = {0}, b = {0};
	int ra = store_series_json(ro, "host:abc", metric, from, to, step, stat, &a);
	int rb = store_series_json(rw, "host:abc", metric, from, to, step, stat, &b);
	assert_int_equal(ra, rb);
	if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)) {
		fprintf(stderr, "%s [%lld, %lld] step %lld %s:\ncached   %.300s\nuncached %.300s\n",
		        metric, (long long)from, (long long)to, (long long)step, stat, buf_str(&a),
		        buf_str(&b));
		fail();
	}
	buf_free(&a);
	buf_free(&b);
}

static const char *const stats[] = {"avg", "min", "max", "sum", "count", "p50", "p90", "p99"};
static const char *const metrics[] = {"memory.used_pct", "memory.used_kb", "disk.used_pct",
                                      "disk.used_pct{mountpoint=\"/d1\"}"};
static const int64_t steps[] = {1 * SEC, 7 * SEC, 10 * SEC, 13 * SEC, 30 * SEC};

/* Requests of a client polling "the last `span`" as time goes by, with
 * jumps back and forth. */
static void poll(struct store *ro, struct store *rw, int64_t now, int64_t span, int n)
{
	for (int i = 0; i < n; i++) {
		const char *m = metrics[lrand48() % 4];
		const char *st = stats[lrand48() % 8];
		int64_t step = steps[lrand48() % 5];
		int64_t t = now;
		for (int k = 0; k < 6; k++) { /* the same key, sliding */
			t += lrand48() % (k == 3 ? 20 * 60 * SEC : 15 * SEC);
			if (k == 4)
				t -= lrand48() % HOUR;
			same_answer(ro, rw, m, t - span, t, step, st);
		}
	}
}

static void test_cached_answers_identical(void **state)
{
	srand48(12);
	struct store *rw = tmpstore_open(STORE_RW);
	/* 4 h of frames 10 s apart (with ms offsets), hours compacted */
	int64_t t = T0;
	for (; t < T0 + 4 * HOUR; t += 10 * SEC + lrand48() % 3)
		put_frame(rw, t);
	assert_int_equal(store_maintain(rw, t), 0);
	struct store *ro = tmpstore_open(STORE_RO);
	poll(ro, rw, T0 + 3 * HOUR, 2 * HOUR, 40);
	poll(ro, rw, T0 + 2 * HOUR, 30 * 60 * SEC, 20);

	/* another connection writes: a late point inside the cached range,
	 * then newer ones; the read-only handle must see each */
	same_answer(ro, rw, "memory.used_pct", T0 + HOUR, T0 + 3 * HOUR, 10 * SEC, "max");
	put_frame(rw, T0 + 2 * HOUR + 5 * SEC);
	same_answer(ro, rw, "memory.used_pct", T0 + HOUR, T0 + 3 * HOUR, 10 * SEC, "max");
	same_answer(ro, rw, "memory.used_pct", T0 + HOUR + 7, T0 + 3 * HOUR + 7, 10 * SEC, "count");
	for (int k = 0; k < 30; k++, t += 10 * SEC) {
		put_frame(rw, t);
		same_answer(ro, rw, "memory.used_pct", t - HOUR, t + 1, 10 * SEC, "avg");
		same_answer(ro, rw, "disk.used_pct", t - HOUR, t + 1, 7 * SEC, "p90");
	}
	assert_int_equal(store_maintain(rw, t + HOUR), 0); /* compaction */
	poll(ro, rw, t - HOUR, HOUR, 20);
	store_close(ro);
	store_close(rw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_cached_answers_identical, tmpstore_setup,
	                                    tmpstore_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
