/*
 * store.c - the store's front door: store_open() picks a backend by the
 * scheme of the store URL, and every other call of store.h is forwarded
 * to the backend of the handle (backend.h).
 *
 * URLs:
 *   PATH, sqlite:PATH     the embedded SQLite store (sqlite*.c); a path
 *                         that itself starts with "sqlite:" is written
 *                         "./sqlite:..." or "sqlite:sqlite:..."
 *   postgres://..., postgresql://...
 *                         the PostgreSQL backend (pg*.c), given the whole
 *                         URL (libpq's, plus schema=NAME)
 *   other SCHEME://...    -EINVAL, "unknown store scheme"
 *
 * Errors of store_open() are kept per thread for store_errmsg(NULL).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../util/util.h"
#include "backend.h"

static __thread char open_err[512];

/* "scheme://" at the start of url: the scheme's length, else 0. */
static size_t url_scheme(const char *url)
{
	size_t n = 0;
	if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
		return 0;
	while ((url[n] >= 'a' && url[n] <= 'z') || (url[n] >= 'A' && url[n] <= 'Z') ||
	       (url[n] >= '0' && url[n] <= '9') || url[n] == '+' || url[n] == '-' || url[n] == '.')
		n++;
	return strncmp(url + n, "://", 3) == 0 ? n : 0;
}

int64_t store_future_ms(void)
{
	return now_ns() / 1000000 + STORE_FUTURE_SLACK_MS;
}

int store_open(const char *url, enum store_mode mode, struct store **out)
{
	*out = NULL;
	open_err[0] = 0;
	if (!url || !*url) {
		snprintf(open_err, sizeof(open_err), "no store given (an empty path)");
		return -EINVAL;
	}
	const struct store_backend *be = &store_backend_sqlite;
	const char *loc = url;
	size_t sn = url_scheme(url);
	if (strncmp(url, "sqlite:", 7) == 0) {
		loc = url + 7;
		if (strncmp(loc, "//", 2) == 0) /* sqlite:///abs/path */
			loc += 2;
	} else if (sn) {
		if ((sn == 8 && strncmp(url, "postgres", 8) == 0) ||
		    (sn == 10 && strncmp(url, "postgresql", 10) == 0)) {
			int r = store_backend_pg.open(url, mode, out, open_err, sizeof(open_err));
			if (r < 0)
				*out = NULL;
			return r;
		}
		snprintf(open_err, sizeof(open_err),
		         "%.200s: unknown store scheme \"%.*s\" (give a path, sqlite:PATH or"
		         " postgres://...)",
		         url, (int)(sn > 32 ? 32 : sn), url);
		return -EINVAL;
	}
	if (!*loc) {
		snprintf(open_err, sizeof(open_err), "%s: no path after the scheme", url);
		return -EINVAL;
	}
	int r = be->open(loc, mode, out, open_err, sizeof(open_err));
	if (r < 0)
		*out = NULL;
	return r;
}

char *store_url_safe(const char *url, char *out, size_t cap)
{
	struct buf b = BUF_INIT;
	const char *auth = strstr(url, "://"), *at = NULL, *colon = NULL;
	if (auth) {
		auth += 3;
		size_t an = strcspn(auth, "/?#");
		at = memchr(auth, '@', an);
		colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	}
	for (const char *p = url; *p;) {
		if (p == colon) {
			buf_adds(&b, ":***");
			p = at;
		} else if (p > url && (p[-1] == '?' || p[-1] == '&') &&
		           strncmp(p, "password=", 9) == 0) {
			buf_adds(&b, "password=***");
			p += strcspn(p, "&#");
		} else {
			buf_addc(&b, *p++);
		}
	}
	snprintf(out, cap, "%s", buf_str(&b));
	buf_free(&b);
	return out;
}

void store_close(struct store *s)
{
	if (s)
		s->be->close(s);
}

const char *store_errmsg(const struct store *s)
{
	return s ? s->be->errmsg(s) : open_err;
}

int store_check(struct store *s)
{
	return s->be->check ? s->be->check(s) : 0;
}

int store_reopen(struct store *s)
{
	return s->be->reopen ? s->be->reopen(s) : -ENOTSUP;
}

int store_put_frame(struct store *s, const char *jsonl, size_t len, int64_t *frame_id)
{
	return s->be->put_frame(s, jsonl, len, frame_id);
}

int store_put_frames(struct store *s, struct store_frame *f, int n)
{
	if (s->be->put_frames)
		return s->be->put_frames(s, f, n);
	int r = 0;
	for (int i = 0; i < n; i++) {
		if (r < 0) { /* a transient failure: the rest is not tried */
			f[i].err = r;
			continue;
		}
		f[i].id = 0;
		f[i].err = s->be->put_frame(s, f[i].jsonl, f[i].len, &f[i].id);
		if (f[i].err == -ENOSPC || f[i].err == -EBUSY)
			r = f[i].err;
	}
	return r;
}

int store_put_frames_at(struct store *s, struct store_frame *f, int n, const char *group,
                        const struct store_offset *o, size_t no)
{
	if (!s->be->put_frames_at)
		return -ENOTSUP;
	return s->be->put_frames_at(s, f, n, group, o, no);
}

int store_offsets(struct store *s, const char *group,
                  int (*cb)(void *ctx, const struct store_offset *o), void *ctx)
{
	return s->be->offsets ? s->be->offsets(s, group, cb, ctx) : -ENOTSUP;
}

int store_mark_gone(struct store *s, const char *kind, const char *host, const char *const *present,
                    int n, int64_t now_ms)
{
	return s->be->mark_gone(s, kind, host, present, n, now_ms);
}

int store_maintain(struct store *s, int64_t now_ms)
{
	return s->be->maintain(s, now_ms);
}

int store_systems_json(struct store *s, const struct store_system_filter *f, struct buf *out)
{
	return s->be->systems_json(s, f, out);
}

int store_frame_json(struct store *s, const char *system_id, int64_t at_ms, const char *feature,
                     struct buf *out)
{
	return s->be->frame_json(s, system_id, at_ms, feature, out);
}

int store_series_json(struct store *s, const char *system_id, const char *metric, int64_t from_ms,
                      int64_t to_ms, int64_t step_ms, const char *stat, struct buf *out)
{
	return s->be->series_json(s, system_id, metric, from_ms, to_ms, step_ms, stat, out);
}

int store_metric_names_json(struct store *s, const char *system_id, struct buf *out)
{
	return s->be->metric_names_json(s, system_id, out);
}

int store_read_begin(struct store *s)
{
	return s->be->read_begin ? s->be->read_begin(s) : 0;
}

void store_read_end(struct store *s)
{
	if (s->be->read_end)
		s->be->read_end(s);
}

int store_frame_times(struct store *s, const char *system_id, int64_t from_ms, int64_t to_ms,
                      const char *except, size_t max, int64_t **times, size_t *n)
{
	*times = NULL;
	*n = 0;
	return s->be->frame_times(s, system_id, from_ms, to_ms, except, max, times, n);
}

int store_state_records(struct store *s, int64_t at_ms,
                        int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
                        int (*record)(void *ctx, const struct store_state_record *r), void *ctx)
{
	if (!s->be->state_records)
		return -ENOTSUP;
	return s->be->state_records(s, at_ms, system, record, ctx);
}

int store_state_records_matching(
    struct store *s, int64_t at_ms, const struct store_text_sel *sel, size_t nsel,
    int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
    int (*record)(void *ctx, const struct store_state_record *r), void *ctx)
{
	if (!s->be->state_records_matching)
		return -ENOTSUP;
	for (size_t i = 0; i < nsel; i++)
		for (size_t k = 0; k < sel[i].n; k++)
			for (size_t w = 0; w < sel[i].all[k].n; w++) {
				const char *p = sel[i].all[k].words[w];
				size_t l = strlen(p);
				if (l < 3)
					return -EINVAL;
				for (size_t c = 0; c < l; c++)
					if (p[c] < 0x20 || p[c] > 0x7e)
						return -EINVAL;
			}
	return s->be->state_records_matching(s, at_ms, sel, nsel, system, record, ctx);
}

int store_latest_points(struct store *s, int (*cb)(void *ctx, const struct store_latest *p),
                        void *ctx)
{
	return s->be->latest_points(s, cb, ctx);
}

int store_stats_json(struct store *s, struct buf *out)
{
	return s->be->stats_json(s, out);
}

int store_verify(struct store *s,
                 int (*cb)(void *ctx, const char *check, int64_t problems, const char *detail),
                 void *ctx)
{
	return s->be->verify ? s->be->verify(s, cb, ctx) : -ENOTSUP;
}

int store_series_read(struct store *s, const struct store_series_query *q,
                      int (*cb)(void *ctx, const struct store_series_data *d), void *ctx)
{
	return s->be->series_read ? s->be->series_read(s, q, cb, ctx) : -ENOTSUP;
}

int store_object_put(struct store *s, const char *kind, const char *name, const char *json,
                     int64_t now_ms)
{
	return s->be->object_put ? s->be->object_put(s, kind, name, json, now_ms) : -ENOTSUP;
}

int store_object_delete(struct store *s, const char *kind, const char *name)
{
	return s->be->object_delete ? s->be->object_delete(s, kind, name) : -ENOTSUP;
}

int store_objects(struct store *s, const char *kind,
                  int (*cb)(void *ctx, const char *name, const char *json, int64_t updated_ms),
                  void *ctx)
{
	return s->be->objects ? s->be->objects(s, kind, cb, ctx) : -ENOTSUP;
}

int store_event_put(struct store *s, const struct store_event *e, int64_t *id)
{
	return s->be->event_put ? s->be->event_put(s, e, id) : -ENOTSUP;
}

int store_events(struct store *s, const struct store_event_filter *f,
                 int (*cb)(void *ctx, int64_t id, const struct store_event *e), void *ctx)
{
	return s->be->events ? s->be->events(s, f, cb, ctx) : -ENOTSUP;
}

int store_gone_reason(struct store *s, const char *system_id, const char *reason_json,
                      int64_t now_ms)
{
	return s->be->gone_reason ? s->be->gone_reason(s, system_id, reason_json, now_ms)
	                          : -ENOTSUP;
}

int store_put_logs(struct store *s, const struct store_log *l, size_t n,
                   const struct store_log_cursor *c, size_t nc)
{
	return s->be->put_logs ? s->be->put_logs(s, l, n, c, nc) : -ENOTSUP;
}

int store_log_cursors(struct store *s, int (*cb)(void *ctx, const struct store_log_cursor *c),
                      void *ctx)
{
	return s->be->log_cursors ? s->be->log_cursors(s, cb, ctx) : -ENOTSUP;
}

int store_logs(struct store *s, const struct store_log_query *q,
               int (*cb)(void *ctx, int64_t id, const struct store_log *l), void *ctx)
{
	return s->be->logs ? s->be->logs(s, q, cb, ctx) : -ENOTSUP;
}

int store_log_retention(struct store *s, int64_t default_ms, const struct store_log_retain *r,
                        size_t n)
{
	if (default_ms < 1000)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!r[i].glob || !r[i].glob[0] || r[i].ms < 1000)
			return -EINVAL;
	return s->be->log_retention ? s->be->log_retention(s, default_ms, r, n) : -ENOTSUP;
}

int store_put_flows(struct store *s, const struct store_flow *f, size_t n)
{
	return s->be->put_flows ? s->be->put_flows(s, f, n) : -ENOTSUP;
}

int store_flows_top(struct store *s, int64_t from_ms, int64_t to_ms, const char *group,
                    size_t limit, int (*cb)(void *ctx, const struct store_flow_top *t), void *ctx)
{
	return s->be->flows_top ? s->be->flows_top(s, from_ms, to_ms, group, limit, cb, ctx)
	                        : -ENOTSUP;
}
