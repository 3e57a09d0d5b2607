/*
 * metric_series.h - how a record of the `metric` feature (metric.c) becomes
 * time series: its key grammar and which of its fields are series.  Pure
 * (no view, no storage): the store calls it when storing and when reading
 * metric records back, and any other consumer of frames may.
 *
 * A record ("disk:/", {"used_pct": 41.2, "mountpoint": "/", ...}) gives one
 * point per numeric field, of the series named "<base>.<field>" with the
 * labels the key carries:
 *   "disk:<mnt>"     base "disk",   labels {"mountpoint": <mnt>}
 *   "diskio:<dev>"   base "diskio", labels {"device": <dev>}
 *   "net:<if>"       base "net",    labels {"interface": <if>}
 *   "<x>:<y>"        base <x>,      labels {"instance": <y>}
 *   "cpu<N>"         base "cpu",    labels {"cpu": "<N>"}
 *   anything else    base = key, no labels ("memory", "cpu", "cgroup")
 * The base and the field must be identifiers ([A-Za-z0-9_], 1..64
 * characters); interval_s is not a series.  Keys and label values are raw
 * JSON text (escaped, as in the record), so labels come out as JSON.
 */
#ifndef VANTAGE_FEATURES_METRIC_SERIES_H
#define VANTAGE_FEATURES_METRIC_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../frame/decode.h"
#include "../util/buf.h"
#include "../util/jscan.h"

/* Records of this feature (raw name) are metric records. */
bool metric_series_feature(struct js_span feature);

/* A metric record key, mapped. */
struct metric_key {
	struct js_span base, lname, lval;
	char lname_buf[16];
};
/* Map a key; false when it gives no valid series name. */
bool metric_series_key(struct js_span key, struct metric_key *mk);
/* The key's labels as a JSON object ("{}" when none), appended. */
void metric_series_labels(const struct metric_key *mk, struct buf *out);
/* The series name "<base>.<field>" of a field, appended. */
void metric_series_name(const struct metric_key *mk, struct js_span field, struct buf *out);
/* Is this field (raw name) of a metric record a series? */
bool metric_series_field(struct js_span field);

/*
 * The points of a metric record and its template.  For each field that is
 * a series and holds a number, point(ctx, name, labels, value) is called
 * (name and labels as above, valid during the call).  tmpl gets the record
 * value with '#' for each number that comes back as the same text
 * (value->exact); the others stay literally.  Returns 1 when a template
 * was made, 0 when the record gives no series (stored as it is), or the
 * first negative value point() returned.
 */
int metric_series_record(struct js_span key, struct js_span value, struct buf *tmpl,
                         int (*point)(void *ctx, struct js_span name, struct js_span labels,
                                      const struct frame_num *value),
                         void *ctx);

#endif
