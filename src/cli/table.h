/*
 * table.h - a text table for the terminal: rows of cells, each column as
 * wide as its widest cell, numbers right-aligned.  Row 0 holds the titles.
 * Out of memory aborts (the table is for a person reading it).
 *
 *	struct table t;
 *	table_init(&t, 2);
 *	table_row(&t); table_set(&t, 0, "KEY", true); table_set(&t, 1, "VALUE", true);
 *	table_row(&t); ...
 *	table_print(&t, "");
 *	table_free(&t);
 */
#ifndef VANTAGE_CLI_TABLE_H
#define VANTAGE_CLI_TABLE_H

#include <stdbool.h>

#define CELL_MAX 48 /* widest cell of a table unless `full` */

struct table {
	int ncol, nrows, cap;
	char **cell; /* nrows x ncol, row 0 the titles */
	bool *right; /* per column: right-aligned (numbers) */
};

void table_init(struct table *t, int ncol);
/* Start a row; cells are set with table_set(). */
void table_row(struct table *t);
/* Set a cell of the last row: cut to CELL_MAX (unless `full`), control
 * characters as '?', "-" when empty. */
void table_set(struct table *t, int col, const char *s, bool full);
/* Print every row, each line starting with `indent`. */
void table_print(struct table *t, const char *indent);
void table_free(struct table *t);

#endif
