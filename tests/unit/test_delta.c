/*
 * Unit tests: delta frames (src/frame/delta.c) and the bus envelope
 * (src/frame/busmsg.c).  Round trips encode -> apply give back the very
 * frame (bytes and set hash) for changed, added, removed and reordered
 * records, an empty base and an empty frame; a delta applied to the wrong
 * base, and hostile deltas (counts past the base, zero counts, huge
 * numbers, garbage lines, a truncated body, a wrong hash) are refused with
 * -EINVAL and leave the output as it was; envelopes round trip, and bad
 * ones (not JSON, future version, parts out of range, a part longer than
 * its body) are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame/busmsg.h"
#include "frame/delta.h"
#include "util/buf.h"

#define PFX "{\"system\":\"host:a\",\"time\":\"2026-12-06T07:00:00.000Z\",\"feature\":\""
#define PFX2 "{\"system\":\"host:a\",\"time\":\"2026-12-06T07:01:00.000Z\",\"feature\":\""

/* A frame of records "feature:key=value" separated by '|', with prefix pfx. */
static void make_frame(struct buf *b, const char *pfx, const char *recs)
{
	buf_reset(b);
	buf_printf(b, "%sframe\",\"key\":\"host:a\",\"value\":{\"records\":1}}\n", pfx);
	const char *p = recs;
	while (p && *p) {
		const char *e = strchr(p, '|');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *colon = memchr(p, ':', n), *eq = memchr(p, '=', n);
		assert_non_null(colon);
		assert_non_null(eq);
		buf_printf(b, "%s%.*s\",\"key\":\"%.*s\",\"value\":{\"v\":\"%.*s\"}}\n", pfx,
		           (int)(colon - p), p, (int)(eq - colon - 1), colon + 1,
		           (int)(p + n - eq - 1), eq + 1);
		p = e ? e + 1 : NULL;
	}
}

/* Encode new against base, apply, and check the frame comes back. */
static size_t round_trip(const char *base_recs, const char *new_recs)
{
	struct buf fb = BUF_INIT, fn = BUF_INIT, body = BUF_INIT, out = BUF_INIT;
	struct delta_set sb, sn, so;
	delta_set_init(&sb);
	delta_set_init(&sn);
	delta_set_init(&so);
	make_frame(&fb, PFX, base_recs);
	make_frame(&fn, PFX2, new_recs);
	const char *h;
	size_t hl;
	char err[256];
	assert_int_equal(delta_split(fb.data, fb.len, &h, &hl, &sb, err, sizeof(err)), 0);
	assert_int_equal(delta_split(fn.data, fn.len, &h, &hl, &sn, err, sizeof(err)), 0);
	delta_encode(&sb, h, hl, &sn, &body);
	int r = delta_apply(&sb, body.data, body.len, sn.hash, &out, &so, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "%s\n", err);
	assert_int_equal(r, 0);
	assert_int_equal(out.len, fn.len);
	assert_memory_equal(out.data, fn.data, fn.len);
	assert_string_equal(so.hash, sn.hash);
	size_t n = body.len;
	buf_free(&fb);
	buf_free(&fn);
	buf_free(&body);
	buf_free(&out);
	delta_set_free(&sb);
	delta_set_free(&sn);
	delta_set_free(&so);
	return n;
}

static void test_round_trips(void **state)
{
	(void)state;
	const char *base = "process:1=init|process:2=kthreadd|process:30=sshd|package:a=1|"
	                   "package:b=2|config:/etc/x=abc";
	/* unchanged: keeps only */
	size_t same = round_trip(base, base);
	/* one value changed, one added, one removed */
	round_trip(base, "process:1=init|process:30=sshd2|process:31=bash|package:a=1|package:b=2|"
	                 "config:/etc/x=abc");
	/* reordered */
	round_trip(base, "config:/etc/x=abc|package:b=2|package:a=1|process:30=sshd|process:1=init|"
	                 "process:2=kthreadd");
	/* duplicates, everything new, empty base, empty frame */
	round_trip(base, "process:1=init|process:1=init|process:1=init");
	round_trip(base, "x:1=a|y:2=b");
	round_trip("", base);
	round_trip(base, "");
	round_trip("", "");
	/* a delta of an unchanged frame is small: the header and one keep */
	assert_true(same < 200);
}

/* Apply `body` (after a valid header) to the base; expect -EINVAL and the
 * output untouched. */
static void expect_refused(const char *ops, const char *want)
{
	struct buf fb = BUF_INIT, body = BUF_INIT, out = BUF_INIT;
	struct delta_set sb, so;
	delta_set_init(&sb);
	delta_set_init(&so);
	make_frame(&fb, PFX, "a:1=x|a:2=y|a:3=z");
	const char *h;
	size_t hl;
	char err[256];
	assert_int_equal(delta_split(fb.data, fb.len, &h, &hl, &sb, err, sizeof(err)), 0);
	buf_add(&body, h, hl);
	buf_adds(&body, "\n");
	buf_adds(&body, ops);
	buf_adds(&out, "kept");
	int r = delta_apply(&sb, body.data, body.len, want ? want : sb.hash, &out, &so, err,
	                    sizeof(err));
	assert_int_equal(r, -EINVAL);
	assert_int_equal(out.len, 4);
	assert_string_equal(out.data, "kept");
	buf_free(&fb);
	buf_free(&body);
	buf_free(&out);
	delta_set_free(&sb);
	delta_set_free(&so);
}

static void test_hostile(void **state)
{
	(void)state;
	expect_refused("{\"k\":4}\n", NULL);                    /* past the base */
	expect_refused("{\"k\":2}\n{\"s\":2}\n", NULL);         /* skip past it */
	expect_refused("{\"k\":0}\n", NULL);                    /* zero */
	expect_refused("{\"k\":18446744073709551615}\n", NULL); /* huge */
	expect_refused("{\"k\":99999999999999999999999}\n", NULL);
	expect_refused("{\"k\":-1}\n", NULL);
	expect_refused("{\"k\":1x}\n", NULL);
	expect_refused("garbage\n", NULL);
	expect_refused("{\"feature\":\"a\",\"key\":\"1\",\"val", NULL);    /* truncated */
	expect_refused("{\"k\":3}\n", "00000000000000000000000000000000"); /* wrong hash */
	expect_refused("", "0123");                                        /* wrong hash */
}

static void test_wrong_base(void **state)
{
	(void)state;
	struct buf f1 = BUF_INIT, f2 = BUF_INIT, f3 = BUF_INIT, body = BUF_INIT, out = BUF_INIT;
	struct delta_set s1, s2, s3, so;
	delta_set_init(&s1);
	delta_set_init(&s2);
	delta_set_init(&s3);
	delta_set_init(&so);
	make_frame(&f1, PFX, "a:1=x|a:2=y|a:3=z");
	make_frame(&f2, PFX2, "a:1=x|a:2=Y|a:3=z");
	make_frame(&f3, PFX, "a:1=q|a:2=r|a:3=s");
	const char *h;
	size_t hl;
	char err[256];
	assert_int_equal(delta_split(f1.data, f1.len, &h, &hl, &s1, err, sizeof(err)), 0);
	assert_int_equal(delta_split(f3.data, f3.len, &h, &hl, &s3, err, sizeof(err)), 0);
	assert_int_equal(delta_split(f2.data, f2.len, &h, &hl, &s2, err, sizeof(err)), 0);
	delta_encode(&s1, h, hl, &s2, &body);
	/* the same shape of base but other records: the hash check catches it */
	assert_int_equal(
	    delta_apply(&s3, body.data, body.len, s2.hash, &out, &so, err, sizeof(err)), -EINVAL);
	assert_int_equal(out.len, 0);
	assert_int_equal(
	    delta_apply(&s1, body.data, body.len, s2.hash, &out, &so, err, sizeof(err)), 0);
	/* a frame whose records do not share the header's prefix is not split */
	buf_adds(&f1, "{\"system\":\"other\",\"time\":\"x\",\"feature\":\"a\",\"key\":1}\n");
	assert_int_equal(delta_split(f1.data, f1.len, &h, &hl, &s1, err, sizeof(err)), -EINVAL);
	assert_int_equal(delta_split("nope\n", 5, &h, &hl, &s1, err, sizeof(err)), -EINVAL);
	/* nor one whose record has bytes after its object, or none at all:
	 * a delta of it would not apply (found by fuzz/fuzz_frame.c) */
	make_frame(&f1, PFX, "os:linux=a");
	f1.len--; /* "...}u\n" */
	buf_adds(&f1, "u\n");
	assert_int_equal(delta_split(f1.data, f1.len, &h, &hl, &s1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "record 1 does not end with '}'");
	make_frame(&f1, PFX, "");
	buf_adds(&f1, PFX "\n");
	assert_int_equal(delta_split(f1.data, f1.len, &h, &hl, &s1, err, sizeof(err)), -EINVAL);
	buf_free(&f1);
	buf_free(&f2);
	buf_free(&f3);
	buf_free(&body);
	buf_free(&out);
	delta_set_free(&s1);
	delta_set_free(&s2);
	delta_set_free(&s3);
	delta_set_free(&so);
}

static void test_envelope(void **state)
{
	(void)state;
	struct busmsg m = {
	    .delta = true, .fmt = FRAME_JSON, .seq = 7, .part = 2, .parts = 3, .len = 10};
	strcpy(m.system, "host:\"odd\"\n");
	strcpy(m.chain, "os,process");
	memset(m.hash, 'a', DELTA_HASH_LEN);
	memset(m.base, 'b', DELTA_HASH_LEN);
	struct buf b = BUF_INIT;
	busmsg_write(&b, &m);
	buf_adds(&b, "0123");
	struct busmsg r;
	size_t off;
	char err[256];
	assert_int_equal(busmsg_parse(b.data, b.len, &r, &off, err, sizeof(err)), 0);
	assert_true(r.delta);
	assert_string_equal(r.system, m.system);
	assert_string_equal(r.chain, m.chain);
	assert_string_equal(r.base, m.base);
	assert_int_equal(r.seq, 7);
	assert_int_equal(r.part, 2);
	assert_int_equal(r.parts, 3);
	assert_int_equal(b.len - off, 4);
	/* a part longer than the body */
	buf_adds(&b, "0123456789");
	assert_int_equal(busmsg_parse(b.data, b.len, &r, &off, err, sizeof(err)), -EINVAL);
	/* a full frame has no base, whatever its envelope says: what is read is
	 * what busmsg_write() would write (found by fuzz/fuzz_frame.c) */
	static const char full[] =
	    "{\"vantage\":1,\"type\":\"full\",\"fmt\":\"jsonl\",\"system\":\"s\",\"chain\":\"c\","
	    "\"seq\":1,\"part\":1,\"parts\":1,\"len\":0,\"base\":\"911d49384856eb\"}\n";
	assert_int_equal(busmsg_parse(full, strlen(full), &r, &off, err, sizeof(err)), 0);
	assert_string_equal(r.base, "");
	static const char *const bad[] = {
	    "",
	    "{\"vantage\":1",
	    "not json\n",
	    "[1]\n",
	    "{\"vantage\":1,\"type\":\"full\",\"fmt\":\"jsonl\",\"system\":\"s\",\"chain\":\"c\","
	    "\"seq\":1,\"part\":0,\"parts\":1,\"len\":0}\n",
	    "{\"vantage\":1,\"type\":\"full\",\"fmt\":\"jsonl\",\"system\":\"s\",\"chain\":\"c\","
	    "\"seq\":1,\"part\":2,\"parts\":1,\"len\":0}\n",
	    "{\"vantage\":1,\"type\":\"what\",\"fmt\":\"jsonl\",\"system\":\"s\",\"chain\":\"c\","
	    "\"seq\":1,\"part\":1,\"parts\":1,\"len\":0}\n",
	    "{\"vantage\":1,\"type\":\"delta\",\"fmt\":\"jsonl\",\"system\":\"s\",\"chain\":\"c\","
	    "\"seq\":1,\"part\":1,\"parts\":1,\"len\":0,\"hash\":\"x\",\"base\":\"y\"}\n",
	    "{\"vantage\":1,\"type\":\"full\",\"fmt\":\"jsonl\",\"system\":\"s\",\"chain\":\"c\","
	    "\"seq\":-1,\"part\":1,\"parts\":1,\"len\":0}\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(busmsg_parse(bad[i], strlen(bad[i]), &r, &off, err, sizeof(err)),
		                 -EINVAL);
	const char *future = "{\"vantage\":2,\"type\":\"full\"}\n";
	assert_int_equal(busmsg_parse(future, strlen(future), &r, &off, err, sizeof(err)),
	                 -EPROTONOSUPPORT);
	assert_int_equal(r.version, 2);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_wrong_base),
	    cmocka_unit_test(test_envelope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
