/*
 * regex_guard.c - what a client's regular expression may cost to compile.
 * See regex_guard.h.
 *
 * One pass over the pattern with a stack of open groups.  Each group keeps
 * the size of its branches so far and of the last item (an atom or a
 * closed group), which a repetition operator that follows multiplies by
 * the copies glibc makes of it: {m,n} max(m, n) + 1, '+' 2, '*' and '?' 1.
 */
#include "regex_guard.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define DEPTH 256

struct group {
	uint64_t done; /* size of the branches and items before `last` */
	uint64_t last; /* size of the last item (0: none yet) */
};

static uint64_t add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t mul(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* A bound "{m}", "{m,}" or "{m,n}" at p: its largest count in *max, the
 * text after it in *end; false when it is none (regcomp judges it). */
static bool bound(const char *p, uint64_t *max, const char **end)
{
	uint64_t m = 0, n = 0;
	bool any = false, comma = false, anyn = false;
	for (p++; *p >= '0' && *p <= '9'; p++, any = true)
		m = m > 100000 ? m : m * 10 + (uint64_t)(*p - '0');
	if (*p == ',') {
		comma = true;
		for (p++; *p >= '0' && *p <= '9'; p++, anyn = true)
			n = n > 100000 ? n : n * 10 + (uint64_t)(*p - '0');
	}
	if (!any || *p != '}')
		return false;
	*max = comma && anyn && n > m ? n : m;
	*end = p + 1;
	return true;
}

int regex_guard(const char *pat, char *err, size_t errlen)
{
	struct group st[DEPTH];
	int top = 0;
	st[0] = (struct group){0, 0};
	bool after_rep = false; /* the last token was a repetition operator */
	for (const char *p = pat; *p;) {
		struct group *g = &st[top];
		char c = *p;
		if (c == '*' || c == '+' || c == '?' || c == '{') {
			uint64_t k = c == '+' ? 2 : 1;
			const char *next = p + 1;
			if (c == '{') {
				uint64_t max;
				if (!bound(p, &max, &next)) { /* a literal '{' */
					g->done = add(g->done, g->last);
					g->last = 1;
					after_rep = false;
					p++;
					continue;
				}
				if (max > REGEX_GUARD_MAX_REPEAT) {
					snprintf(err, errlen, "a repetition count past %d",
					         REGEX_GUARD_MAX_REPEAT);
					return -EINVAL;
				}
				k = max + 1;
			}
			if (after_rep && c != '?') {
				snprintf(err, errlen,
				         "a repetition operator '%c' after another one", c);
				return -EINVAL;
			}
			g->last = mul(g->last ? g->last : 1, k);
			after_rep = true;
			p = next;
		} else {
			after_rep = false;
			if (c == '(') {
				if (top + 1 >= DEPTH) {
					snprintf(err, errlen, "groups nested deeper than %d",
					         DEPTH);
					return -EINVAL;
				}
				st[++top] = (struct group){0, 0};
				p++;
				continue;
			}
			uint64_t item = 1;
			if (c == ')' && top > 0) {
				item = add(add(g->done, g->last), 1);
				top--;
				g = &st[top];
				p++;
			} else if (c == '|') {
				g->done = add(add(g->done, g->last), 1);
				g->last = 0;
				p++;
				continue;
			} else if (c == '[') { /* a bracket expression: one node */
				p++;
				if (*p == '^')
					p++;
				if (*p == ']')
					p++;
				while (*p && *p != ']') {
					if (*p == '[' &&
					    (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
						char close = p[1];
						p += 2;
						while (*p && !(p[0] == close && p[1] == ']'))
							p++;
						if (*p)
							p += 2;
					} else {
						p++;
					}
				}
				if (*p)
					p++;
			} else if (c == '\\' && p[1]) {
				p += 2;
			} else {
				p++;
			}
			g->done = add(g->done, g->last);
			g->last = item;
		}
		uint64_t total = 0;
		for (int i = 0; i <= top; i++)
			total = add(total, add(st[i].done, st[i].last));
		if (total > REGEX_GUARD_MAX_NODES) {
			snprintf(err, errlen,
			         "it stands for more than %d nodes once its repetitions "
			         "are expanded",
			         REGEX_GUARD_MAX_NODES);
			return -EINVAL;
		}
	}
	return 0;
}
