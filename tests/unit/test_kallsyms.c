/*
 * test_kallsyms.c - the kallsyms decoder on tables built here in both
 * known layouts (A with and without seqs_of_names, B), then on garbage,
 * truncations and corruptions: a wrong table must be refused, never read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmi/kallsyms.h"

#define NSYM 700 /* three markers */
#define BASE 0xffffffff92600000ull

struct img {
	unsigned char *b;
	size_t len, cap;
};

static void put(struct img *m, const void *p, size_t n)
{
	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2;
		m->b = realloc(m->b, m->cap);
	}
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void align8(struct img *m)
{
	static const unsigned char z[8];
	put(m, z, (8 - m->len % 8) % 8);
}

static void name_of(int i, char *dst)
{
	if (i == 0)
		strcpy(dst, "T_text");
	else if (i == 1)
		strcpy(dst, "Dinit_task");
	else if (i == 2)
		strcpy(dst, "Dkernel_cpustat"); /* per-CPU: absolute */
	else
		sprintf(dst, "tsym_%d_%s", i, i % 3 ? "a" : "long_name_here");
}

static int32_t offset_of(int i)
{
	if (i == 2)
		return 0x201c0; /* absolute */
	/* relative: addr = base - 1 - off, addr = BASE + i*16 */
	return (int32_t)(-1 - (int64_t)i * 16);
}

static void put_names(struct img *m, uint32_t *markers)
{
	size_t start = m->len;
	for (int i = 0; i < NSYM; i++) {
		char n[64];
		name_of(i, n);
		if (i % 256 == 0)
			markers[i / 256] = (uint32_t)(m->len - start);
		unsigned char l = (unsigned char)strlen(n);
		put(m, &l, 1);
		put(m, n, l); /* identity tokens: each byte is its own token */
	}
}

static void put_tokens(struct img *m, size_t *tt)
{
	align8(m);
	*tt = m->len;
	uint16_t idx[256];
	size_t s = m->len;
	for (int c = 0; c < 256; c++) {
		idx[c] = (uint16_t)(m->len - s);
		char t[4];
		if (c >= 0x20 && c < 0x7f) {
			t[0] = (char)c;
			t[1] = 0;
		} else {
			strcpy(t, "qz");
		}
		put(m, t, strlen(t) + 1);
	}
	align8(m);
	put(m, idx, sizeof(idx));
}

static void put_offsets(struct img *m)
{
	for (int i = 0; i < NSYM; i++) {
		int32_t o = offset_of(i);
		put(m, &o, 4);
	}
}

/* layout A (seqs: with kallsyms_seqs_of_names) or B */
static struct img build(char layout, int seqs)
{
	struct img m = {0};
	uint32_t num = NSYM, markers[(NSYM + 255) / 256];
	uint64_t base = BASE;
	put(&m, "padding!", 8);
	if (layout == 'A') {
		put_offsets(&m);
		align8(&m);
		put(&m, &base, 8);
	}
	put(&m, &num, 4);
	align8(&m);
	put_names(&m, markers);
	align8(&m);
	put(&m, markers, sizeof(markers));
	if (seqs) {
		for (int i = 0; i < NSYM; i++)
			put(&m, "\x01\x02\x03", 3);
	}
	size_t tt;
	put_tokens(&m, &tt);
	if (layout == 'B') {
		align8(&m);
		put_offsets(&m);
		align8(&m);
		put(&m, &base, 8);
		for (int i = 0; i < NSYM; i++)
			put(&m, "\x01\x02\x03", 3);
	}
	put(&m, "trailing bytes..", 16);
	return m;
}

static int parse(const struct img *m, struct kallsyms_layout *lay)
{
	char err[256];
	size_t at = 0;
	while ((at = kallsyms_scan(m->b, m->len, at)) != (size_t)-1) {
		if (!kallsyms_parse(m->b, m->len, at, lay, err, sizeof(err)))
			return 0;
		at++;
	}
	return -1;
}

static void check_layout(char layout, int seqs)
{
	struct img m = build(layout, seqs);
	struct kallsyms_layout lay;
	assert_int_equal(parse(&m, &lay), 0);
	assert_int_equal(lay.num_syms, NSYM);
	assert_int_equal(lay.layout, layout);
	assert_int_equal(lay.seqs, seqs);
	uint64_t rb;
	memcpy(&rb, m.b + lay.relbase, 8);
	assert_true(rb == BASE);
	struct ksym w[] = {{.name = "_text"},
	                   {.name = "init_task"},
	                   {.name = "kernel_cpustat"},
	                   {.name = "sym_500_a"},
	                   {.name = "no_such_symbol"}};
	assert_int_equal(kallsyms_lookup(m.b, m.len, &lay, rb, w, 5), 4);
	assert_true(w[0].addr == BASE);
	assert_true(w[1].addr == BASE + 16);
	assert_true(w[2].addr == 0x201c0 && w[2].percpu);
	assert_true(w[3].addr == BASE + 500 * 16 && !w[3].percpu);
	assert_false(w[4].found);
	free(m.b);
}

static void layout_a(void **s)
{
	check_layout('A', 0);
}

static void layout_a_seqs(void **s)
{
	check_layout('A', 1);
}

static void layout_b(void **s)
{
	check_layout('B', 0);
}

/* Every truncation of a good table: refused or decoded, never a crash
 * (ASan watches), and never a table with a different symbol count. */
static void truncations(void **s)
{
	struct img m = build('A', 1);
	for (size_t cut = 0; cut < m.len; cut += 7) {
		unsigned char *c = malloc(cut ? cut : 1);
		memcpy(c, m.b, cut);
		struct img t = {c, cut, cut};
		struct kallsyms_layout lay;
		if (!parse(&t, &lay)) {
			assert_int_equal(lay.num_syms, NSYM);
			uint64_t rb;
			memcpy(&rb, t.b + lay.relbase, 8);
			struct ksym w[] = {{.name = "init_task"}};
			kallsyms_lookup(t.b, t.len, &lay, rb, w, 1);
		}
		free(c);
	}
	free(m.b);
}

/* A corrupted token index or marker or num_syms: refused. */
static void corruptions(void **s)
{
	struct img m = build('A', 0);
	struct kallsyms_layout lay;
	assert_int_equal(parse(&m, &lay), 0);
	struct kallsyms_layout good = lay;
	/* token index off by one */
	m.b[good.ti + 2 * 40] ^= 1;
	assert_int_not_equal(parse(&m, &lay), 0);
	m.b[good.ti + 2 * 40] ^= 1;
	/* num_syms */
	uint32_t bad = NSYM + 300;
	memcpy(m.b + good.nump, &bad, 4);
	assert_int_not_equal(parse(&m, &lay), 0);
	bad = NSYM;
	memcpy(m.b + good.nump, &bad, 4);
	/* relative base not a kernel address: unknown layout, not a misread */
	uint64_t zero = 0x0a2934302dull;
	memcpy(m.b + good.relbase, &zero, 8);
	assert_int_not_equal(parse(&m, &lay), 0);
	free(m.b);
}

/* Random bytes with the digit run planted: refused without a crash. */
static void garbage(void **s)
{
	srand(7);
	for (int round = 0; round < 200; round++) {
		size_t n = 4096 + (size_t)(rand() % 65536);
		unsigned char *b = malloc(n);
		for (size_t i = 0; i < n; i++)
			b[i] = (unsigned char)(rand() % (round % 2 ? 4 : 256));
		size_t at = (size_t)rand() % (n - 32);
		memcpy(b + at,
		       "0\0"
		       "1\0"
		       "2\0"
		       "3\0"
		       "4\0"
		       "5\0"
		       "6\0"
		       "7\0"
		       "8\0"
		       "9",
		       20);
		struct img t = {b, n, n};
		struct kallsyms_layout lay;
		assert_int_not_equal(parse(&t, &lay), 0);
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(layout_a),    cmocka_unit_test(layout_a_seqs),
	    cmocka_unit_test(layout_b),    cmocka_unit_test(truncations),
	    cmocka_unit_test(corruptions), cmocka_unit_test(garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
