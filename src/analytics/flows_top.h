/*
 * flows_top.h - top talkers over a window, as sFlow analyzers show them
 * (docs/flows.md): the flow records of the store (store_flows_top) grouped
 * by source and destination system, address, ports or protocol, bytes/s
 * and packets/s scaled by each sample's sampling rate, as the JSON answer
 * GET /api/v1/flows and `vantage flows --json` give:
 *
 *   {"from": ISO, "to": ISO, "window_s": 60, "group": ["src_system", ...],
 *    "flows": [{"src_system": "ID", "src_system_name": "web", ...,
 *               "bytes_per_s": 1.2e6, "bits_per_s": 9.6e6,
 *               "packets_per_s": 830.5, "samples": 498}, ...]}
 *
 * largest bytes/s first; a key unknown (an address no system owns) is null.
 */
#ifndef VANTAGE_FLOWS_TOP_H
#define VANTAGE_FLOWS_TOP_H

#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

struct store;

#define FLOWS_DEFAULT_GROUP "src_system,dst_system"
#define FLOWS_DEFAULT_WINDOW_MS 60000
#define FLOWS_GROUP_MAX 7

/* The answer for [from_ms, to_ms] into out.  0, or a negative errno with
 * err set (-EINVAL: a bad group). */
int flows_top_json(struct store *st, int64_t from_ms, int64_t to_ms, const char *group,
                   size_t limit, struct buf *out, char *err, size_t errlen);

#endif
