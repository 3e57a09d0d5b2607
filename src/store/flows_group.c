/*
 * flows_group.c - the group of store_flows_top() checked against the flow
 * columns (flows_group.h).
 */
#include "flows_group.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char *const flows_cols[FLOWS_NCOLS] = {"src_system", "dst_system", "src",  "dst",
                                             "sport",      "dport",      "proto"};

int flows_group_parse(const char *group, int idx[FLOWS_NCOLS], int *n, char *err, size_t errlen)
{
	*n = 0;
	if (!group)
		return 0;
	const char *p = group;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		int k = -1;
		for (int i = 0; i < FLOWS_NCOLS; i++)
			if (strlen(flows_cols[i]) == len && !strncmp(flows_cols[i], p, len))
				k = i;
		bool dup = false;
		for (int i = 0; i < *n && k >= 0; i++)
			dup = dup || idx[i] == k;
		if (k < 0 || dup || *n == FLOWS_NCOLS) {
			snprintf(err, errlen,
			         "group '%s': %s '%.*s' (known: src_system, dst_system, src, dst, "
			         "sport, dport, proto)",
			         group, k < 0 ? "unknown column" : "repeated column", (int)len, p);
			return -EINVAL;
		}
		idx[(*n)++] = k;
		p = e ? e + 1 : p + len;
	}
	return 0;
}
