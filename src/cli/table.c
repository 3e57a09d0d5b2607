/*
 * table.c - the text tables of the store queries (`vantage systems`,
 * `show`, `metrics`): columns sized to their content, long cells cut,
 * control characters shown as '?' since systems name themselves.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/xalloc.h"
#include "table.h"

void table_init(struct table *t, int ncol)
{
	memset(t, 0, sizeof(*t));
	t->ncol = ncol;
	t->right = xcalloc((size_t)ncol, sizeof(bool));
}

void table_row(struct table *t)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cell = xreallocarray(t->cell, (size_t)t->cap * (size_t)t->ncol, sizeof(char *));
	}
	memset(&t->cell[(size_t)t->nrows * (size_t)t->ncol], 0, (size_t)t->ncol * sizeof(char *));
	t->nrows++;
}

void table_set(struct table *t, int col, const char *s, bool full)
{
	size_t n = s ? strlen(s) : 0;
	if (!n)
		s = "-", n = 1;
	char *d;
	if (!full && n > CELL_MAX) {
		d = xmalloc(CELL_MAX + 1);
		snprintf(d, CELL_MAX + 1, "%.*s...", CELL_MAX - 3, s);
	} else {
		d = xstrndup(s, n);
	}
	for (char *p = d; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	char **slot = &t->cell[(size_t)(t->nrows - 1) * (size_t)t->ncol + (size_t)col];
	free(*slot);
	*slot = d;
}

void table_print(struct table *t, const char *indent)
{
	size_t *w = xcalloc((size_t)t->ncol, sizeof(*w));
	for (int r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncol; c++) {
			const char *s = t->cell[(size_t)r * (size_t)t->ncol + (size_t)c];
			if (s && strlen(s) > w[c])
				w[c] = strlen(s);
		}
	for (int r = 0; r < t->nrows; r++) {
		fputs(indent, stdout);
		for (int c = 0; c < t->ncol; c++) {
			const char *s = t->cell[(size_t)r * (size_t)t->ncol + (size_t)c];
			if (!s)
				s = "-";
			if (c == t->ncol - 1 && !t->right[c])
				printf("%s\n", s);
			else if (t->right[c])
				printf("%*s%s", (int)w[c], s, c == t->ncol - 1 ? "\n" : "  ");
			else
				printf("%-*s  ", (int)w[c], s);
		}
	}
	free(w);
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < (size_t)t->nrows * (size_t)t->ncol; i++)
		free(t->cell[i]);
	free(t->cell);
	free(t->right);
}
