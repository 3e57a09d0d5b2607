/* sqlite.c - placeholder until the store lands. */
#include <errno.h>
#include "store.h"
int store_open(const char *path, enum store_mode mode, struct store **out) { *out = 0; return -ENOTSUP; }
void store_close(struct store *s) {}
const char *store_errmsg(const struct store *s) { return "store not built yet"; }
int store_put_frame(struct store *s, const char *jsonl, size_t len, int64_t *frame_id) { return -ENOTSUP; }
int store_mark_gone(struct store *s, const char *kind, const char *const *present, int n, int64_t now_ms) { return -ENOTSUP; }
int store_maintain(struct store *s, int64_t now_ms) { return -ENOTSUP; }
int store_systems_json(struct store *s, const struct store_system_filter *f, struct buf *out) { return -ENOTSUP; }
int store_frame_json(struct store *s, const char *system_id, int64_t at_ms, const char *feature, struct buf *out) { return -ENOTSUP; }
int store_series_json(struct store *s, const char *system_id, const char *metric, int64_t from_ms, int64_t to_ms, int64_t step_ms, const char *stat, struct buf *out) { return -ENOTSUP; }
int store_metric_names_json(struct store *s, const char *system_id, struct buf *out) { return -ENOTSUP; }
int store_latest_points(struct store *s, int (*cb)(void *ctx, const struct store_latest *p), void *ctx) { return -ENOTSUP; }
int store_stats_json(struct store *s, struct buf *out) { return -ENOTSUP; }
