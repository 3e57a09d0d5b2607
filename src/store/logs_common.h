/*
 * logs_common.h - what the log stores of both backends (sqlite_logs.c,
 * pg_logs.c) share: the retention of log lines and the table of sources
 * a query reads its lines' system and source from.
 *
 * Each backend keeps one row per (system, source) pair ever written: a
 * small id the lines point at, the collector's cursor of that source and
 * an optional retention of its own.  A query loads them once
 * (src_table), resolves its system and source filters to a list of ids,
 * and gives each line the strings of its row.
 */
#ifndef VANTAGE_STORE_LOGS_COMMON_H
#define VANTAGE_STORE_LOGS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define LOG_RETAIN_DEFAULT (7 * 86400000LL) /* log lines: 7 days */
#define LOG_QUERY_LIMIT 1000                /* store_logs() with limit 0 */
#define LOG_EXPIRE_CHUNK 20000              /* lines deleted per transaction */

struct log_src {
	int64_t id;
	char *system, *source;
	bool want; /* the query's filters keep it */
};
struct log_srcs {
	struct log_src *v; /* ascending id */
	size_t n, cap;
};

/* Append a row (ids must come in ascending order). */
void log_srcs_add(struct log_srcs *t, int64_t id, const char *system, const char *source);
void log_srcs_free(struct log_srcs *t);
/* Mark the rows the query's system and source filters keep; returns how
 * many, and whether the query filters on them at all in *filtered. */
size_t log_srcs_select(struct log_srcs *t, const struct store_log_query *q, bool *filtered);
/* The retention rules a handle was given (store_log_retention). */
struct log_retention {
	bool set; /* store_log_retention() was called */
	int64_t def;
	struct store_log_retain *v; /* globs owned */
	size_t n;
};
void log_retention_set(struct log_retention *lr, int64_t def, const struct store_log_retain *r,
                       size_t n);
void log_retention_free(struct log_retention *lr);
/* The retention of a source: the first rule matching, else the default. */
int64_t log_retention_of(const struct log_retention *lr, const char *source);
/* The default of a handle: the one it was given, else LOG_RETAIN_DEFAULT. */
int64_t log_retention_default(const struct log_retention *lr);

/* The row of an id, or NULL. */
const struct log_src *log_srcs_find(const struct log_srcs *t, int64_t id);

#endif
