/*
 * api_chart.h - the downsampling of GET /api/v1/chart (api_chart.c), on
 * its own so unit tests can reach it.
 *
 * A range [from, from + nbuckets * bucket_ms) is cut in nbuckets buckets
 * (one per pixel); each bucket keeps its minimum and its maximum point, in
 * time order, or one point when they are the same point.  So a series of
 * any length gives at most 2 * nbuckets points and a spike, up or down,
 * is never averaged away.
 */
#ifndef VANTAGE_SERVER_API_CHART_H
#define VANTAGE_SERVER_API_CHART_H

#include <stddef.h>
#include <stdint.h>

/* Downsample the n points (t ascending, ms; NaN values are skipped) into
 * ot/ov, which hold at least min(n, 2 * nbuckets) points.  Points before
 * `from` go to the first bucket, points past the last bucket to the last.
 * Returns the number of points written. */
size_t chart_downsample(const int64_t *t, const double *v, size_t n, int64_t from,
                        int64_t bucket_ms, size_t nbuckets, int64_t *ot, double *ov);

#endif
