/*
 * Unit tests: the /proc/net/dev parser (linux/netdev_parse.c) fed good,
 * malformed, truncated and random input, each copied into an exact-size
 * heap block (no terminator) so ASan catches a read past its end; last,
 * this machine's own /proc/net/dev parses whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "linux/netdev_parse.h"

static int parse(const char *s, size_t n, struct netdev_line *out)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	int r = netdev_parse_line(p, n, out);
	free(p);
	return r;
}

static int parse_s(const char *s, struct netdev_line *out)
{
	return parse(s, strlen(s), out);
}

static const char good[] = "  eth0: 1234 56 7 8 9 10 11 12 "
                           "98765432109 4321 13 14 15 16 17 18";

static void test_good(void **state)
{
	struct netdev_line l;
	assert_int_equal(parse_s(good, &l), 1);
	assert_string_equal(l.name, "eth0");
	assert_ptr_equal(l.c.ifname, l.name);
	assert_int_equal(l.c.rx_bytes, 1234);
	assert_int_equal(l.c.rx_packets, 56);
	assert_int_equal(l.c.rx_errors, 7);
	assert_int_equal(l.c.rx_dropped, 8);
	assert_true(l.c.tx_bytes == 98765432109ull);
	assert_int_equal(l.c.tx_packets, 4321);
	assert_int_equal(l.c.tx_errors, 13);
	assert_int_equal(l.c.tx_dropped, 14);
	/* no space after the colon (a long name), a 64-bit counter */
	assert_int_equal(parse_s("veth1234567890a:18446744073709551615 0 0 0 0 0 0 0 "
	                         "0 0 0 0 0 0 0 0",
	                         &l),
	                 1);
	assert_string_equal(l.name, "veth1234567890a");
	assert_true(l.c.rx_bytes == UINT64_MAX);
}

static void test_headers(void **state)
{
	struct netdev_line l;
	assert_int_equal(parse_s("Inter-|   Receive                            |  Transmit", &l),
	                 0);
	assert_int_equal(parse_s(" face |bytes    packets errs drop fifo frame compressed", &l), 0);
	assert_int_equal(parse_s("", &l), 0);
	assert_int_equal(parse_s("   \t ", &l), 0);
}

static void test_malformed(void **state)
{
	struct netdev_line l;
	static const char *const bad[] = {
	    "eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",                     /* no colon */
	    ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",                        /* no name */
	    "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15",                       /* 15 numbers */
	    "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17",                 /* 17 */
	    "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16x",                   /* garbage */
	    "eth0: 1 2 3 -4 5 6 7 8 9 10 11 12 13 14 15 16",                   /* a sign */
	    "eth0: 18446744073709551616 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", /* overflow */
	    "a name: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",                  /* a blank in it */
	    "a/b: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",                     /* a slash */
	    "0123456789012345678901234567890123456789: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_s(bad[i], &l) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
}

/* Every prefix of a good line: never a crash, never a line with fewer
 * than its 16 numbers taken as whole (the last number may be cut). */
static void test_prefixes(void **state)
{
	struct netdev_line l;
	size_t n = strlen(good);
	for (size_t k = 0; k < n; k++) {
		int r = parse(good, k, &l);
		assert_true(r == 0 || r == -EINVAL || (r == 1 && k > n - 3));
	}
}

/* Random bytes and random mixes of the characters that matter. */
static void test_garbage(void **state)
{
	static const char alpha[] = "0123456789 :|\t\ne-x/";
	char s[160];
	struct netdev_line l;
	srand(12345);
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(rand() % (int)sizeof(s));
		for (size_t i = 0; i < n; i++)
			s[i] = round % 2 ? (char)(rand() & 0xff)
			                 : alpha[rand() % (int)(sizeof(alpha) - 1)];
		int r = parse(s, n, &l);
		assert_true(r == 0 || r == 1 || r == -EINVAL);
		if (r == 1)
			assert_true(strlen(l.name) > 0 && strlen(l.name) < NETDEV_NAME_MAX);
	}
}

/* This machine's /proc/net/dev: every line a header or an interface, lo among them. */
static void test_real(void **state)
{
	FILE *f = fopen("/proc/net/dev", "r");
	if (!f)
		skip();
	char line[1024];
	int ifaces = 0, lo = 0;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\n");
		struct netdev_line l;
		int r = parse(line, n, &l);
		if (r < 0)
			fail_msg("/proc/net/dev line not parsed: %s", line);
		ifaces += r;
		lo += r == 1 && strcmp(l.name, "lo") == 0;
	}
	fclose(f);
	assert_true(ifaces >= 1);
	assert_int_equal(lo, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),      cmocka_unit_test(test_headers),
	    cmocka_unit_test(test_malformed), cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_garbage),   cmocka_unit_test(test_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
