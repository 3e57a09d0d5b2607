/*
 * kallsyms.c - find and decode the kernel's compressed symbol table in a
 * window of guest memory.  See kallsyms.h for the layouts.
 *
 * The search runs from the token table outwards, and every step is
 * checked by a later one: the token index must give exactly the token
 * lengths; the markers must start at 0 and grow; a num_syms candidate must
 * need exactly as many markers as were found, and decoding names from it
 * must land on the markers and end where the markers begin.  Only then are
 * the offsets read.  Garbage fails one of these checks and is reported.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kallsyms.h"

#define MAX_TOKEN 128           /* longest token accepted */
#define MAX_NAME 512            /* longest expanded symbol name */
#define WINDOW_BACK (12u << 20) /* how far before the token table tables may start */

static const unsigned char digits[] = "0\0"
                                      "1\0"
                                      "2\0"
                                      "3\0"
                                      "4\0"
                                      "5\0"
                                      "6\0"
                                      "7\0"
                                      "8\0"
                                      "9";

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

size_t kallsyms_scan(const unsigned char *buf, size_t len, size_t from)
{
	if (from >= len)
		return (size_t)-1;
	const unsigned char *p = memmem(buf + from, len - from, digits, sizeof(digits));
	return p ? (size_t)(p - buf) : (size_t)-1;
}

/* Start of token 1: walk back 0x2f NUL-terminated tokens from "0".  (Token
 * 0's own start cannot be told this way - whatever precedes the table may
 * not end in a NUL - so the index gives it, in check_tokens.) */
static int token1_start(const unsigned char *win, size_t digit0, size_t *out)
{
	size_t p = digit0;
	for (int k = 1; k < '0'; k++) {
		if (p < 2 || win[p - 1] != 0)
			return -EINVAL;
		size_t q = p - 1; /* the NUL ending the previous token */
		size_t n = 0;
		while (q > 0 && win[q - 1] != 0 && n < MAX_TOKEN) {
			q--;
			n++;
		}
		if (q == 0 || n >= MAX_TOKEN)
			return -EINVAL;
		p = q;
	}
	*out = p;
	return 0;
}

/* Tokens 1..255 forward from p1; the index after them must agree, and
 * gives token 0's length, hence the table's start. */
static int check_tokens(const unsigned char *win, size_t len, size_t p1,
                        struct kallsyms_layout *lay)
{
	size_t p = p1;
	uint32_t start[256];
	for (int k = 1; k < 256; k++) {
		start[k] = (uint32_t)(p - p1);
		if (p >= len)
			return -EINVAL;
		const unsigned char *z =
		    memchr(win + p, 0, len - p < MAX_TOKEN ? len - p : MAX_TOKEN);
		if (!z)
			return -EINVAL;
		p = (size_t)(z - win) + 1;
	}
	lay->ti = (p + 7) & ~(size_t)7;
	if (lay->ti + 512 > len)
		return -EINVAL;
	uint16_t idx[256];
	memcpy(idx, win + lay->ti, sizeof(idx));
	uint32_t l0 = idx[1]; /* token 0 with its NUL */
	if (idx[0] != 0 || l0 < 1 || l0 > MAX_TOKEN || l0 > p1 || win[p1 - 1] != 0)
		return -EINVAL;
	for (int k = 1; k < 256; k++)
		if (idx[k] != l0 + start[k])
			return -EINVAL;
	if (memchr(win + p1 - l0, 0, l0 - 1))
		return -EINVAL; /* token 0 holds a NUL: not where the index says */
	lay->tt = p1 - l0;
	memcpy(lay->tindex, idx, sizeof(idx));
	return 0;
}

/* One compressed name at *p: its length in token codes (1 or 2 bytes). */
static int name_len(const unsigned char *win, size_t len, size_t *p, size_t *n)
{
	if (*p >= len)
		return -EINVAL;
	size_t l = win[*p];
	if (l & 0x80) {
		if (*p + 1 >= len)
			return -EINVAL;
		l = (l & 0x7f) | ((size_t)win[*p + 1] << 7);
		*p += 2;
	} else {
		*p += 1;
	}
	if (l == 0 || l > len - *p)
		return -EINVAL;
	*n = l;
	return 0;
}

/* Skip `count` names from p; the offset after them, or (size_t)-1. */
static size_t skip_names(const unsigned char *win, size_t end, size_t p, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		size_t n;
		if (name_len(win, end, &p, &n))
			return (size_t)-1;
		p += n;
	}
	return p;
}

/* Markers at m (cnt of them): find num_syms and names before them. */
static int find_names(const unsigned char *win, size_t len, struct kallsyms_layout *lay, size_t m,
                      uint32_t cnt)
{
	uint32_t last = rd32(win + m + 4 * (size_t)(cnt - 1));
	if (last >= m)
		return -EINVAL;
	size_t hi = m - last;                       /* names start at most here */
	size_t span = (size_t)256 * (MAX_NAME + 2); /* the last block at most */
	size_t lo = hi > span + 16 ? hi - span : 16;
	for (size_t s = hi & ~(size_t)3; s >= lo; s -= 4) {
		for (int back = 8; back >= 4; back -= 4) {
			uint32_t n = rd32(win + s - back);
			if (!n || (n + 255) / 256 != cnt)
				continue;
			size_t e = skip_names(win, m, s + last, n - 256 * (cnt - 1));
			if (e == (size_t)-1 || e > m || m - e >= 8)
				continue;
			/* a block in the middle must land on its marker too */
			uint32_t k = cnt / 2;
			if (k + 1 < cnt) {
				size_t a = s + rd32(win + m + 4 * (size_t)k);
				size_t b = s + rd32(win + m + 4 * (size_t)(k + 1));
				if (skip_names(win, m, a, 256) != b)
					continue;
			}
			lay->names = s;
			lay->names_end = e;
			lay->num_syms = n;
			lay->nump = s - back;
			return 0;
		}
		if (s < 4)
			break;
	}
	return -EINVAL;
}

/* A run-time or link-time kernel image address: where _text can be. */
static bool image_addr(uint64_t v)
{
	return v >= 0xffffffff80000000ull && v < 0xffffffffc0000000ull && !(v & 4095);
}

/* The offsets and relative base: before num_syms (layout A) or after the
 * token index (layout B, Linux 6.10+), told apart by a relative base that
 * must be a kernel-image address. */
static int place_offsets(const unsigned char *win, size_t len, struct kallsyms_layout *lay)
{
	size_t n4 = 4 * (size_t)lay->num_syms;
	uint64_t v;
	if (lay->nump >= 8 + n4) {
		size_t rb = (lay->nump - 8) & ~(size_t)7;
		memcpy(&v, win + rb, 8);
		if (image_addr(v)) {
			lay->relbase = rb;
			lay->offsets = (rb - n4) & ~(size_t)7;
			lay->layout = 'A';
			return 0;
		}
	}
	size_t off = (lay->ti + 512 + 7) & ~(size_t)7;
	size_t rb = (off + n4 + 7) & ~(size_t)7;
	if (!lay->seqs && rb + 8 <= len) {
		memcpy(&v, win + rb, 8);
		if (image_addr(v)) {
			lay->offsets = off;
			lay->relbase = rb;
			lay->layout = 'B';
			return 0;
		}
	}
	return -EINVAL;
}

int kallsyms_tokens_ok(const unsigned char *win, size_t len, size_t digit0)
{
	struct kallsyms_layout lay;
	size_t p1;
	return digit0 < len && !token1_start(win, digit0, &p1) && !check_tokens(win, len, p1, &lay);
}

int kallsyms_parse(const unsigned char *win, size_t len, size_t digit0, struct kallsyms_layout *lay,
                   char *err, size_t errlen)
{
	memset(lay, 0, sizeof(*lay));
	size_t p1;
	if (digit0 >= len || token1_start(win, digit0, &p1) || check_tokens(win, len, p1, lay)) {
		snprintf(err, errlen,
		         "no kallsyms token table at the digit run (not a token table)");
		return -EINVAL;
	}
	/* Markers: a run of growing u32 from 0 ending at the token table or,
	 * with kallsyms_seqs_of_names, 3 bytes per symbol before it. */
	size_t floor = lay->tt > WINDOW_BACK ? lay->tt - WINDOW_BACK : 0;
	for (size_t p = (lay->tt - 4) & ~(size_t)3; p > floor + 8; p -= 4) {
		if (rd32(win + p) != 0)
			continue;
		uint32_t cnt = 1, prev = 0;
		size_t q = p + 4;
		while (q + 4 <= lay->tt) {
			uint32_t v = rd32(win + q);
			if (v <= prev || v - prev > 256u * (MAX_NAME + 2))
				break;
			prev = v;
			cnt++;
			q += 4;
		}
		if (cnt < 2 && lay->tt - q > 8)
			continue;
		size_t mend = (q + 7) & ~(size_t)7;
		if (find_names(win, len, lay, p, cnt))
			continue;
		size_t seq_end = (q + 3 * (size_t)lay->num_syms + 7) & ~(size_t)7;
		if (mend == lay->tt || q == lay->tt)
			lay->seqs = 0;
		else if (seq_end == lay->tt || q + 3 * (size_t)lay->num_syms == lay->tt)
			lay->seqs = 1;
		else
			continue;
		lay->markers = p;
		lay->nmarkers = cnt;
		if (place_offsets(win, len, lay))
			continue;
		return 0;
	}
	snprintf(err, errlen,
	         "kallsyms token table found, but the tables around it have an unknown layout "
	         "(known: Linux 4.6 to 6.12 with base-relative offsets)");
	return -EINVAL;
}

static uint64_t sym_addr(const unsigned char *win, const struct kallsyms_layout *lay,
                         uint64_t relbase, uint32_t i, int *percpu)
{
	int32_t off = (int32_t)rd32(win + lay->offsets + 4 * (size_t)i);
	*percpu = off >= 0;
	return off >= 0 ? (uint64_t)off : relbase - 1 - (uint64_t)(int64_t)off;
}

int kallsyms_each(const unsigned char *win, size_t len, const struct kallsyms_layout *lay,
                  uint64_t relbase,
                  int (*cb)(void *ctx, char type, const char *name, uint64_t addr), void *ctx)
{
	char name[MAX_NAME + 1];
	size_t p = lay->names;
	for (uint32_t i = 0; i < lay->num_syms; i++) {
		size_t n, o = 0;
		if (name_len(win, lay->names_end, &p, &n))
			return -EINVAL;
		for (size_t k = 0; k < n; k++) {
			const unsigned char *t = win + lay->tt + lay->tindex[win[p + k]];
			while (*t && o < MAX_NAME)
				name[o++] = (char)*t++;
		}
		p += n;
		name[o] = 0;
		if (o < 2)
			continue;
		int percpu;
		uint64_t a = sym_addr(win, lay, relbase, i, &percpu);
		int r = cb(ctx, name[0], name + 1, a);
		if (r)
			return r;
	}
	(void)len;
	return 0;
}

struct lookup {
	const unsigned char *win;
	const struct kallsyms_layout *lay;
	struct ksym *want;
	int nwant, found;
};

static int lookup_cb(void *ctx, char type, const char *name, uint64_t addr)
{
	struct lookup *l = ctx;
	for (int i = 0; i < l->nwant; i++) {
		struct ksym *k = &l->want[i];
		if (k->found || name[0] != k->name[0] || strcmp(name, k->name) != 0)
			continue;
		k->addr = addr;
		k->found = 1;
		/* absolute entries are per-CPU offsets, far below the kernel */
		k->percpu = addr < 0x100000000ull;
		l->found++;
		break;
	}
	(void)type;
	return l->found == l->nwant;
}

int kallsyms_lookup(const unsigned char *win, size_t len, const struct kallsyms_layout *lay,
                    uint64_t relbase, struct ksym *want, int nwant)
{
	struct lookup l = {win, lay, want, nwant, 0};
	for (int i = 0; i < nwant; i++)
		want[i].found = 0;
	int r = kallsyms_each(win, len, lay, relbase, lookup_cb, &l);
	return r < 0 ? r : l.found;
}
