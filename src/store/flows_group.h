/*
 * flows_group.h - the `group` of store_flows_top() (store.h): a comma list
 * of flow columns checked against the known ones, shared by the SQLite and
 * PostgreSQL backends, which build their GROUP BY from the indexes (never
 * from the caller's text).  Also the flows' retention.
 */
#ifndef VANTAGE_FLOWS_GROUP_H
#define VANTAGE_FLOWS_GROUP_H

#include <stddef.h>

#include "series_common.h"

#define FLOWS_RETAIN MS_HOUR /* flow records: 1 hour */
#define FLOWS_NCOLS 7

/* The column names, by index: src_system, dst_system, src, dst, sport,
 * dport, proto. */
extern const char *const flows_cols[FLOWS_NCOLS];

/* "src_system,dst_system" -> idx[] = {0, 1}, *n = 2.  NULL or "" -> 0
 * columns (one total).  -EINVAL (message in err) for an unknown or
 * repeated name. */
int flows_group_parse(const char *group, int idx[FLOWS_NCOLS], int *n, char *err, size_t errlen);

#endif
