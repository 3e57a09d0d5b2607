/*
 * drift_text.c - changed lines and changed keys of a text file
 * (drift_text.h).
 */
#include "drift_text.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/xalloc.h"

#define DRIFT_TEXT_MAX_CELLS (4u << 20) /* of the LCS table: 8 MiB */

struct line {
	const char *p;
	size_t n;
};

static size_t split_lines(const char *s, size_t len, struct line **out)
{
	size_t n = 0, cap = 0;
	struct line *v = NULL;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && s[j] != '\n')
			j++;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n++] = (struct line){s + i, j - i};
		i = j + 1;
	}
	*out = v;
	return n;
}

static bool line_eq(const struct line *a, const struct line *b)
{
	return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

static void add_line(json_t *arr, char sign, const struct line *l, size_t max, size_t *more)
{
	if (json_array_size(arr) >= max) {
		(*more)++;
		return;
	}
	struct buf b = BUF_INIT;
	buf_addc(&b, sign);
	buf_add(&b, l->p, l->n);
	json_array_append_new(arr, json_stringn(b.data, b.len));
	buf_free(&b);
}

/* Lines of a not in b (by content, as a multiset), for texts too long
 * for the table. */
static void lacks(const struct line *a, size_t na, const struct line *b, size_t nb, char sign,
                  json_t *arr, size_t max, size_t *more)
{
	bool *used = xcalloc(nb ? nb : 1, sizeof(*used));
	for (size_t i = 0; i < na; i++) {
		bool found = false;
		for (size_t j = 0; j < nb && !found; j++)
			if (!used[j] && line_eq(&a[i], &b[j]))
				used[j] = found = true;
		if (!found)
			add_line(arr, sign, &a[i], max, more);
	}
	free(used);
}

static json_t *line_diff(const struct line *a, size_t na, const struct line *b, size_t nb,
                         size_t max)
{
	json_t *arr = json_array();
	size_t more = 0;
	/* common head and tail first: most edits touch a few lines */
	size_t head = 0;
	while (head < na && head < nb && line_eq(&a[head], &b[head]))
		head++;
	size_t tail = 0;
	while (tail < na - head && tail < nb - head &&
	       line_eq(&a[na - 1 - tail], &b[nb - 1 - tail]))
		tail++;
	const struct line *x = a + head, *y = b + head;
	size_t n = na - head - tail, m = nb - head - tail;
	if (n > DRIFT_TEXT_MAX_LINES || m > DRIFT_TEXT_MAX_LINES || n * m > DRIFT_TEXT_MAX_CELLS) {
		lacks(x, n, y, m, '-', arr, max, &more);
		lacks(y, m, x, n, '+', arr, max, &more);
	} else {
		/* LCS table, (n+1) x (m+1) of 16-bit lengths */
		uint16_t *t = xcalloc((n + 1) * (m + 1), sizeof(*t));
#define T(i, j) t[(i) * (m + 1) + (j)]
		for (size_t i = n; i-- > 0;)
			for (size_t j = m; j-- > 0;)
				T(i, j) =
				    line_eq(&x[i], &y[j])
				        ? (uint16_t)(T(i + 1, j + 1) + 1)
				        : (T(i + 1, j) >= T(i, j + 1) ? T(i + 1, j) : T(i, j + 1));
		size_t i = 0, j = 0;
		while (i < n || j < m) {
			if (i < n && j < m && line_eq(&x[i], &y[j])) {
				i++, j++;
			} else if (j >= m || (i < n && T(i + 1, j) >= T(i, j + 1))) {
				add_line(arr, '-', &x[i++], max, &more);
			} else {
				add_line(arr, '+', &y[j++], max, &more);
			}
		}
#undef T
		free(t);
	}
	if (more) {
		char s[64];
		snprintf(s, sizeof(s), "... %zu more", more);
		json_array_append_new(arr, json_string(s));
	}
	return arr;
}

static size_t trim_end(const char *p, size_t n)
{
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == ';'))
		n--;
	return n;
}

/* Parse key/value lines into an object {key: value}; *kv counts lines that
 * had that shape, *other the ones that did not. */
static json_t *keys_of(const struct line *l, size_t n, size_t *kv, size_t *other)
{
	json_t *o = json_object();
	char section[256] = "";
	struct buf k = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		const char *p = l[i].p, *e = l[i].p + l[i].n;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p == e || *p == '#' || *p == ';' || *p == '\r')
			continue;
		if (*p == '[') {
			const char *q = memchr(p, ']', (size_t)(e - p));
			if (q) {
				snprintf(section, sizeof(section), "%.*s", (int)(q - p - 1), p + 1);
				(*kv)++;
				continue;
			}
		}
		const char *ks = p;
		while (p < e && (isalnum((unsigned char)*p) || *p == '_' || *p == '.' ||
		                 *p == '-' || *p == '/'))
			p++;
		const char *ke = p;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		bool sep = p < e && (*p == '=' || *p == ':');
		if (ke == ks || (!sep && p == ke)) {
			(*other)++;
			continue;
		}
		if (sep)
			p++;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		size_t vn = trim_end(p, (size_t)(e - p));
		buf_reset(&k);
		if (section[0])
			buf_printf(&k, "%s.", section);
		buf_add(&k, ks, (size_t)(ke - ks));
		buf_addc(&k, '\0');
		json_object_set_new(o, k.data, json_stringn(p, vn));
		(*kv)++;
	}
	buf_free(&k);
	return o;
}

void drift_text_diff(const char *a, size_t alen, const char *b, size_t blen, size_t max_lines,
                     json_t **lines, json_t **keys)
{
	struct line *la, *lb;
	size_t na = split_lines(a, alen, &la), nb = split_lines(b, blen, &lb);
	*lines = line_diff(la, na, lb, nb, max_lines);
	size_t kv = 0, other = 0;
	json_t *ka = keys_of(la, na, &kv, &other), *kb = keys_of(lb, nb, &kv, &other);
	*keys = NULL;
	if (kv > 0 && kv >= 4 * other) { /* mostly key/value lines */
		json_t *d = json_object();
		const char *k;
		json_t *v;
		json_object_foreach(ka, k, v)
		{
			json_t *w = json_object_get(kb, k);
			if (!w || !json_equal(v, w))
				json_object_set_new(d, k,
				                    json_pack("[OO]", v, w ? w : json_null()));
		}
		json_object_foreach(kb, k, v)
		{
			if (!json_object_get(ka, k))
				json_object_set_new(d, k, json_pack("[oO]", json_null(), v));
		}
		*keys = d;
	}
	json_decref(ka);
	json_decref(kb);
	free(la);
	free(lb);
}
