/* Unit tests: times and durations as text (util/timefmt.c), under ASan
 * and UBSan. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/timefmt.h"

static void format_utc(void **state)
{
	char b[32];
	format_time_utc(1795341600123LL * 1000000, b, sizeof(b));
	assert_string_equal(b, "2026-11-22T10:00:00.123Z");
	format_time_utc(0, b, sizeof(b));
	assert_string_equal(b, "1970-01-01T00:00:00.000Z");
	format_time_utc(-1, b, sizeof(b)); /* just before the epoch */
	assert_string_equal(b, "1969-12-31T23:59:59.999Z");
	format_time_utc(1709164800000LL * 1000000, b, sizeof(b));
	assert_string_equal(b, "2024-02-29T00:00:00.000Z");
	format_time_utc_sec(1795341600, b, sizeof(b));
	assert_string_equal(b, "2026-11-22T10:00:00Z");
	format_time_local(0, b, sizeof(b));
	assert_int_equal(strlen(b), 24);
}

static void durations(void **state)
{
	int64_t ms;
	struct {
		const char *s;
		int64_t ms;
	} good[] = {{"30s", 30000},
	            {"5m", 300000},
	            {"1h", 3600000},
	            {"2d", 172800000},
	            {"1w", 604800000},
	            {"250ms", 250},
	            {"90", 90000},
	            {"1.5s", 1500},
	            {"0.5m", 30000},
	            {"1000d", 86400000000LL},
	            {"10s", 10000},
	            {"1.5h", 5400000},
	            {"30", 30000},
	            {"0", 0},
	            {"0s", 0},
	            {"0.0001s", 0}}; /* below 1 ms: 0, which the API and CLI refuse as a step */
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse_duration_ms(good[i].s, &ms) != 0)
			fail_msg("refused duration '%s'", good[i].s);
		assert_int_equal(ms, good[i].ms);
	}
	double sec;
	assert_int_equal(parse_duration_sec("1.5h", &sec), 0);
	assert_true(sec == 5400);
	assert_int_equal(parse_duration_sec("250ms", &sec), 0);
	assert_true(sec == 0.25);
	const char *bad[] = {"", "s", "-1s", "+3", "1x", "1 h", "1hh", "1.s", ".5s", "1e3s", "h1",
	                     "nan", "inf", "5 s", "10ss", "99999999999999999999s", "9999999w",
	                     "1ws",
	                     /* strtod's forms: no hex floats, exponents or blanks anywhere a
	                      * duration is parsed (config file, flags, API) */
	                     "0x10", "0x10s", "0X10", "0x1p-20", "1e-300", "1e308", "0.001e3", " 1",
	                     "1 ", "1\n", "1s\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_duration_ms(bad[i], &ms) != -EINVAL)
			fail_msg("accepted duration '%s'", bad[i]);
	assert_int_equal(parse_duration_ms(NULL, &ms), -EINVAL);
}

static void times(void **state)
{
	int64_t ms, now = 1795341600000LL; /* 2026-11-22T10:00:00Z */
	struct {
		const char *s;
		int64_t ms;
	} good[] = {
	    {"2026-11-22T10:00:00Z", 1795341600000LL},
	    {"2026-11-22T10:00:00.123Z", 1795341600123LL},
	    {"2026-11-22T10:00:00.5Z", 1795341600500LL},
	    {"2026-11-22T10:00:00.123456789Z", 1795341600123LL},
	    {"2026-11-22T12:00:00+02:00", 1795341600000LL},
	    {"2026-11-22T09:30:00-0030", 1795341600000LL},
	    {"2026-11-22", 1795305600000LL},
	    {"1970-01-01T00:00:00Z", 0},
	    {"2024-02-29T00:00:00Z", 1709164800000LL},
	    {"2000-03-01T00:00:00Z", 951868800000LL},
	    {"1795341600", 1795341600000LL},
	    {"1795341600.25", 1795341600250LL},
	    {"1h", 1795341600000LL - 3600000},
	    {"-1h", 1795341600000LL - 3600000},
	    {"-250ms", 1795341600000LL - 250},
	    {"now", 1795341600000LL},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse_time(good[i].s, now, &ms) != 0)
			fail_msg("refused time '%s'", good[i].s);
		assert_int_equal(ms, good[i].ms);
	}
	const char *bad[] = {"",
	                     "2026-11-22T10:00:00", /* no zone */
	                     "2026-11-22T10:00Z",
	                     "2026-13-01T00:00:00Z",
	                     "2025-02-29T00:00:00Z",
	                     "2026-11-31T00:00:00Z",
	                     "2026-11-22T24:00:00Z",
	                     "2026-11-22T10:00:00.Z",
	                     "2026-11-22T10:00:00.1234567890Z",
	                     "2026-11-22T10:00:00Zjunk",
	                     "2026-11-22T10:00:00+2",
	                     "1969-12-31T23:59:59Z",
	                     "1970-01-01T00:00:00+01:00",
	                     "2026-11-2",
	                     "-5", /* a negative epoch, not "5 s ago" */
	                     "-",
	                     "-0s",
	                     "--1h",
	                     "12abc",
	                     "yesterday",
	                     "1795341600.",
	                     "0s",
	                     "99999999999999999999",
	                     "100000w", /* before 1970 */
	                     "-100000w"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_time(bad[i], now, &ms) != -EINVAL)
			fail_msg("accepted time '%s'", bad[i]);
	assert_int_equal(parse_time(NULL, now, &ms), -EINVAL);
}

/* parse_time_iso reads exactly n bytes; what format_time_utc writes reads back. */
static void iso_roundtrip(void **state)
{
	static const char s[] = "2026-11-22T10:00:00.123Zjunk";
	int64_t ms;
	assert_int_equal(parse_time_iso(s, 24, &ms), 0);
	assert_int_equal(ms, 1795341600123LL);
	assert_int_equal(parse_time_iso(s, 23, &ms), -EINVAL);
	assert_int_equal(parse_time_iso(s, 0, &ms), -EINVAL);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 20000; i++) {
		char b[32];
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int64_t t = (int64_t)(x % 9000000000000ull); /* ns fit in int64 until 2262 */
		format_time_utc(t * 1000000, b, sizeof(b));
		/* an exact-size copy, so ASan sees a read past the end */
		size_t n = strlen(b);
		char *c = malloc(n);
		memcpy(c, b, n);
		if (parse_time_iso(c, n, &ms) != 0 || ms != t)
			fail_msg("%s does not read back as %lld", b, (long long)t);
		free(c);
	}
}

/* Nothing parsed is past TIME_MAX_MS, the last ms whose ns fit an int64_t:
 * every time goes to format_time_utc() as ms * 1000000 (found by
 * fuzz/fuzz_query.c: 9999-12-31T23:59:59Z overflowed there). */
static void time_max(void **state)
{
	int64_t ms;
	char b[32];
	assert_int_equal(parse_time_iso("2262-04-11T23:47:16.854Z", 24, &ms), 0);
	assert_int_equal(ms, TIME_MAX_MS);
	format_time_utc(ms * 1000000, b, sizeof(b));
	assert_string_equal(b, "2262-04-11T23:47:16.854Z");
	const char *bad[] = {"2262-04-11T23:47:16.855Z", "2262-04-12", "9999-12-31T23:59:59Z",
	                     "9999-12-31T23:59:59.999999999Z", "2262-04-11T23:47:16.854-00:01"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_time_iso(bad[i], strlen(bad[i]), &ms) != -EINVAL ||
		    parse_time(bad[i], 0, &ms) != -EINVAL)
			fail_msg("accepted time '%s'", bad[i]);
	assert_int_equal(parse_duration_ms("106751d", &ms), 0);
	assert_int_equal(parse_duration_ms("106752d", &ms), -EINVAL);
	assert_int_equal(parse_time("9223372036.854", 0, &ms), 0);
	assert_int_equal(ms, TIME_MAX_MS);
	assert_int_equal(parse_time("9223372036.855", 0, &ms), -EINVAL);
	assert_int_equal(parse_time("9223372037", 0, &ms), -EINVAL);
}

/* Random bytes never crash the parsers. */
static void garbage(void **state)
{
	static const char alpha[] = "0123456789-:TZz.+ msdhw,now";
	uint64_t x = 12345;
	for (int i = 0; i < 20000; i++) {
		char b[40];
		int64_t ms;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t n = x % sizeof(b);
		for (size_t k = 0; k < n; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			b[k] = (i & 1) ? (char)(x >> 24) : alpha[(x >> 24) % (sizeof(alpha) - 1)];
			if (!b[k])
				b[k] = '0';
		}
		b[n] = 0;
		parse_time(b, 1795341600000LL, &ms);
		parse_duration_ms(b, &ms);
		parse_time_iso(b, n, &ms);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(format_utc),    cmocka_unit_test(durations), cmocka_unit_test(times),
	    cmocka_unit_test(iso_roundtrip), cmocka_unit_test(time_max),  cmocka_unit_test(garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
