/*
 * delta.c - delta frames: split a frame into its record set, encode the
 * changes from a base set, apply them back (see delta.h).
 */
#include "delta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/sha256.h"
#include "../util/util.h"
#include "../util/xalloc.h"

static const char FEATURE_TAG[] = ",\"feature\":\"";

void delta_set_init(struct delta_set *s)
{
	memset(s, 0, sizeof(*s));
}

void delta_set_free(struct delta_set *s)
{
	buf_free(&s->text);
	free(s->off);
	delta_set_init(s);
}

size_t delta_set_bytes(const struct delta_set *s)
{
	return s->text.cap + s->cap * sizeof(size_t) + sizeof(*s);
}

static void set_reset(struct delta_set *s)
{
	buf_reset(&s->text);
	s->n = 0;
	s->hash[0] = 0;
}

static void set_add(struct delta_set *s, const char *p, size_t n)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->off = xreallocarray(s->off, s->cap, sizeof(*s->off));
	}
	s->off[s->n++] = s->text.len;
	buf_add(&s->text, p, n);
	buf_addc(&s->text, '\n');
}

/* Length of content i (its newline not counted). */
static size_t content_len(const struct delta_set *s, size_t i)
{
	size_t end = i + 1 < s->n ? s->off[i + 1] : s->text.len;
	return end - s->off[i] - 1;
}

static void set_hash(struct delta_set *s)
{
	char hex[SHA256_HEX_LEN + 1];
	if (sha256_hex(s->text.data ? s->text.data : "", s->text.len, hex) < 0)
		memset(hex, '0', sizeof(hex) - 1);
	memcpy(s->hash, hex, DELTA_HASH_LEN);
	s->hash[DELTA_HASH_LEN] = 0;
}

/* The prefix of the header line [p, p+n): up to and including the
 * ',"feature":"' tag; 0 if there is none. */
static size_t head_prefix(const char *p, size_t n)
{
	static const char start[] = "{\"system\":";
	if (n < sizeof(start) - 1 || memcmp(p, start, sizeof(start) - 1) != 0)
		return 0;
	const char *t = memmem(p, n, FEATURE_TAG, sizeof(FEATURE_TAG) - 1);
	if (!t)
		return 0;
	size_t pl = (size_t)(t - p) + sizeof(FEATURE_TAG) - 1;
	if (n - pl < 6 || memcmp(p + pl, "frame\"", 6) != 0)
		return 0;
	return pl;
}

int delta_split(const char *p, size_t len, const char **head, size_t *headlen,
                struct delta_set *set, char *err, size_t errlen)
{
	set_reset(set);
	const char *end = p + len, *nl = memchr(p, '\n', len);
	size_t hl = nl ? (size_t)(nl - p) : len;
	size_t pl = head_prefix(p, hl);
	if (!pl) {
		snprintf(err, errlen, "not a JSON Lines frame (its first line is not a header)");
		return -EINVAL;
	}
	*head = p;
	*headlen = hl;
	for (const char *q = nl ? nl + 1 : end; q < end;) {
		const char *e = memchr(q, '\n', (size_t)(end - q));
		size_t n = e ? (size_t)(e - q) : (size_t)(end - q);
		if (n == 0) {
			q++;
			continue;
		}
		if (n < pl || memcmp(q, p, pl) != 0) {
			snprintf(err, errlen, "record %zu does not share the header's prefix",
			         set->n + 1);
			return -EINVAL;
		}
		/* what delta_apply() takes back as a record: a content that ends
		 * the object (else a full frame would give a delta nobody applies) */
		if (n == pl || q[n - 1] != '}') {
			snprintf(err, errlen, "record %zu does not end with '}'", set->n + 1);
			return -EINVAL;
		}
		set_add(set, q + pl, n - pl);
		q += n + 1;
	}
	set_hash(set);
	return 0;
}

int delta_frame_hash(const char *p, size_t len, char hash[DELTA_HASH_LEN + 1], char *err,
                     size_t errlen)
{
	struct delta_set s;
	delta_set_init(&s);
	const char *h;
	size_t hl;
	int r = delta_split(p, len, &h, &hl, &s, err, errlen);
	if (r == 0)
		memcpy(hash, s.hash, DELTA_HASH_LEN + 1);
	delta_set_free(&s);
	return r;
}

/* ---- encoding ------------------------------------------------------------------ */

/* Open-addressing index of the base's contents: slot -> index + 1. */
struct index {
	size_t *slot;
	size_t mask;
};

static uint64_t content_hash(const char *p, size_t n)
{
	return fnv1a(FNV1A_BASIS, p, n);
}

static void index_build(struct index *x, const struct delta_set *s)
{
	size_t cap = 16;
	while (cap < s->n * 2)
		cap *= 2;
	x->slot = xcalloc(cap, sizeof(*x->slot));
	x->mask = cap - 1;
	for (size_t i = 0; i < s->n; i++) {
		size_t h = (size_t)content_hash(s->text.data + s->off[i], content_len(s, i));
		while (x->slot[h & x->mask])
			h++;
		x->slot[h & x->mask] = i + 1;
	}
}

/* The first index >= from of content [p, p+n) in s, or SIZE_MAX. */
static size_t index_find(const struct index *x, const struct delta_set *s, const char *p, size_t n,
                         size_t from)
{
	size_t best = SIZE_MAX;
	for (size_t h = (size_t)content_hash(p, n);; h++) {
		size_t v = x->slot[h & x->mask];
		if (!v)
			return best;
		size_t i = v - 1;
		if (i >= from && i < best && content_len(s, i) == n &&
		    memcmp(s->text.data + s->off[i], p, n) == 0)
			best = i;
	}
}

static void flush_keep(struct buf *body, size_t *keep)
{
	if (*keep)
		buf_printf(body, "{\"k\":%zu}\n", *keep);
	*keep = 0;
}

void delta_encode(const struct delta_set *base, const char *head, size_t headlen,
                  const struct delta_set *cur, struct buf *body)
{
	buf_add(body, head, headlen);
	buf_addc(body, '\n');
	struct index x;
	index_build(&x, base);
	size_t i = 0, keep = 0;
	for (size_t k = 0; k < cur->n; k++) {
		const char *p = cur->text.data + cur->off[k];
		size_t n = content_len(cur, k);
		size_t j = index_find(&x, base, p, n, i);
		if (j == SIZE_MAX) {
			flush_keep(body, &keep);
			buf_adds(body, "{\"feature\":\"");
			buf_add(body, p, n + 1); /* with its newline */
			continue;
		}
		if (j > i) {
			flush_keep(body, &keep);
			buf_printf(body, "{\"s\":%zu}\n", j - i);
		}
		keep++;
		i = j + 1;
	}
	flush_keep(body, &keep);
	free(x.slot);
}

/* ---- applying ------------------------------------------------------------------ */

/* {"k":N} or {"s":N}: the op letter and N; 0 if the line is not one. */
static char count_op(const char *p, size_t n, size_t *count)
{
	if (n < 7 || memcmp(p, "{\"", 2) != 0 || (p[2] != 'k' && p[2] != 's') ||
	    memcmp(p + 3, "\":", 2) != 0 || p[n - 1] != '}')
		return 0;
	const char *q = p + 5, *e = p + n - 1;
	uint64_t v;
	if (!parse_u64(&q, e, &v) || q != e)
		return 0;
	*count = (size_t)v;
	return p[2];
}

int delta_apply(const struct delta_set *base, const char *p, size_t len, const char *want,
                struct buf *frame, struct delta_set *out, char *err, size_t errlen)
{
	size_t start = frame->len;
	set_reset(out);
	const char *end = p + len, *nl = memchr(p, '\n', len);
	size_t hl = nl ? (size_t)(nl - p) : len;
	size_t pl = head_prefix(p, hl);
	int r = 0;
	if (!pl) {
		snprintf(err, errlen, "delta: its first line is not a frame header");
		r = -EINVAL;
		goto fail;
	}
	buf_add(frame, p, hl);
	buf_addc(frame, '\n');
	size_t i = 0, line = 1;
	for (const char *q = nl ? nl + 1 : end; q < end;) {
		const char *e = memchr(q, '\n', (size_t)(end - q));
		size_t n = e ? (size_t)(e - q) : (size_t)(end - q);
		line++;
		size_t cnt = 0;
		char op = count_op(q, n, &cnt);
		if (op) {
			if (cnt == 0 || cnt > base->n - i) {
				snprintf(err, errlen,
				         "delta line %zu: %s %zu records at record %zu of a base "
				         "of %zu",
				         line, op == 'k' ? "keeps" : "skips", cnt, i, base->n);
				r = -EINVAL;
				goto fail;
			}
			for (size_t k = 0; op == 'k' && k < cnt; k++, i++) {
				const char *c = base->text.data + base->off[i];
				size_t cl = content_len(base, i);
				buf_add(frame, p, pl);
				buf_add(frame, c, cl + 1);
				set_add(out, c, cl);
			}
			if (op == 's')
				i += cnt;
		} else if (n > 12 && memcmp(q, "{\"feature\":\"", 12) == 0 && q[n - 1] == '}') {
			buf_add(frame, p, pl);
			buf_add(frame, q + 12, n - 12);
			buf_addc(frame, '\n');
			set_add(out, q + 12, n - 12);
		} else {
			snprintf(err, errlen, "delta line %zu: neither a record nor a keep/skip",
			         line);
			r = -EINVAL;
			goto fail;
		}
		if (frame->len - start > DELTA_MAX_FRAME) {
			snprintf(err, errlen, "delta: the frame rebuilt passes %zu bytes",
			         DELTA_MAX_FRAME);
			r = -EINVAL;
			goto fail;
		}
		q += n + 1;
	}
	set_hash(out);
	if (strcmp(out->hash, want) != 0) {
		snprintf(err, errlen, "delta: the frame rebuilt has set %s, the producer's %.40s",
		         out->hash, want);
		r = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	frame->len = start;
	if (frame->data)
		frame->data[start] = 0;
	return r;
}
