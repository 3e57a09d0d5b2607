/*
 * prometheus.c - GET /metrics: the latest point of every stored series and
 * Vantage's own metrics in the Prometheus text exposition format 0.0.4,
 * valid under `promtool check metrics` (docs/api.md).
 *
 * Series: the store's series "memory.used_pct" of a system becomes the
 * gauge vantage_memory_used_pct{system, name, kind, runtime, image, +the
 * series' own labels} with the value of its latest point, named and
 * labelled by analytics/promql_names.c (the query API under /prometheus
 * names them there too): names sanitized to [a-zA-Z0-9_] and abbreviated
 * units turned into Prometheus base units, with the value converted (_kb
 * -> _bytes x1024, _ms -> _seconds /1000, _per_s -> _per_second).
 *
 * The exposition format wants every sample of a metric family together
 * under one HELP and TYPE, but the store hands points out system by
 * system; so points are collected (family, label text, value), sorted by
 * family and labels, and written in one pass, which also drops a second
 * series with the same family and labels (two names that sanitize alike).
 * Label values come from observed systems: they are escaped, and bytes
 * that are not valid UTF-8 are replaced by U+FFFD (Prometheus rejects a
 * whole scrape with one invalid label value).
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../analytics/alarm_engine.h"
#include "../analytics/promql_names.h"
#include "../engine/sflow_collector.h"
#include "../sinks/spool.h"
#include "../util/version.h"
#include "../store/store.h"
#include "../util/log.h"
#include "../util/util.h"
#include "instance.h"
#include "prometheus.h"
#include "request.h"

/* ---- collecting the series --------------------------------------------------- */

struct entry {
	size_t family, labels, metric; /* offsets into the string arena */
	double value;
};

struct collect {
	struct entry *e;
	size_t n, cap;
	struct buf arena;    /* NUL-separated strings */
	struct buf fam, lab; /* scratch */
};

/* Append name="value" to c->lab (prom_series_labels gives each name once). */
static void add_label(void *ctx, const char *name, const char *v, size_t n)
{
	struct collect *c = ctx;
	if (c->lab.len > 1)
		buf_addc(&c->lab, ',');
	buf_adds(&c->lab, name);
	buf_addc(&c->lab, '=');
	prom_label_value(&c->lab, v, n);
}

static size_t arena_add(struct buf *a, const char *s, size_t n)
{
	size_t off = a->len;
	buf_add(a, s, n);
	buf_addc(a, 0);
	return off;
}

static int collect_point(void *ctx, const struct store_latest *p)
{
	struct collect *c = ctx;
	if (!p->metric || !p->system_id)
		return 0;
	double scale;
	prom_family_name(p->metric, &c->fam, &scale);
	buf_reset(&c->lab);
	buf_addc(&c->lab, '{');
	struct prom_ident id = {.system_id = p->system_id,
	                        .name = p->system_name,
	                        .kind = p->kind,
	                        .runtime = p->runtime,
	                        .image = p->image,
	                        .labels_json = p->labels_json};
	if (prom_series_labels(&id, add_label, c) < 0)
		log_debug("metrics: malformed labels of %s %s: %.80s", p->system_id, p->metric,
		          p->labels_json);
	buf_addc(&c->lab, '}');
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct entry *e = realloc(c->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		c->e = e;
		c->cap = cap;
	}
	struct entry *e = &c->e[c->n++];
	e->family = arena_add(&c->arena, c->fam.data, c->fam.len);
	e->labels = arena_add(&c->arena, c->lab.data, c->lab.len);
	e->metric = arena_add(&c->arena, p->metric, strlen(p->metric));
	e->value = p->value * scale;
	return 0;
}

static int cmp_entry(const void *a, const void *b, void *arg)
{
	const char *s = arg;
	const struct entry *x = a, *y = b;
	int d = strcmp(s + x->family, s + y->family);
	return d ? d : strcmp(s + x->labels, s + y->labels);
}

/* ---- Vantage's own metrics ----------------------------------------------------- */

struct own {
	struct buf *out;
	/* families written here; series with these names are dropped */
	struct buf names;
};

static void own_family(struct own *o, const char *name, const char *type, const char *help)
{
	buf_printf(o->out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	buf_adds(&o->names, name);
	buf_addc(&o->names, '\n');
}

static void own_metric(struct own *o, const char *name, const char *type, const char *help,
                       double v)
{
	char val[40];
	prom_format_value(v, val, sizeof(val));
	own_family(o, name, type, help);
	buf_printf(o->out, "%s %s\n", name, val);
}

static bool own_name(const struct own *o, const char *fam)
{
	size_t n = strlen(fam);
	const char *p = buf_str(&o->names);
	while ((p = strstr(p, fam))) {
		if ((p == o->names.data || p[-1] == '\n') && p[n] == '\n')
			return true;
		p += n;
	}
	return false;
}

static void store_stat(void *ctx, const char *k, const char *v, bool str)
{
	struct own *o = ctx;
	char *end;
	double d = strtod(v, &end);
	if (str || *end || end == v)
		return;
	struct buf name = BUF_INIT, lab = BUF_INIT, help = BUF_INIT;
	prom_label_name(k, strlen(k), &lab);
	buf_printf(&name, "vantage_store_%s",
	           strcmp(buf_str(&lab), "bytes") == 0 ? "size_bytes" : buf_str(&lab));
	buf_printf(&help, "Store: %s (as in /api/v1/health).", buf_str(&lab));
	own_metric(o, buf_str(&name), "gauge", buf_str(&help), d);
	buf_free(&name);
	buf_free(&lab);
	buf_free(&help);
}

/* The sFlow collector's counters (docs/sflow.md). */
static void sflow_metrics(struct own *o, struct sflow_collector *sc)
{
	struct sflow_collector_stats s;
	sflow_collector_stats(sc, &s);
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} m[] = {
#define SF(n, t, h, f) {"vantage_sflow_" n, t, h, offsetof(struct sflow_collector_stats, f)}
	    SF("received_total", "counter", "sFlow datagrams read from the socket.", received),
	    SF("received_bytes_total", "counter", "Bytes of the sFlow datagrams read.", bytes),
	    SF("dropped_queue_total", "counter",
	       "sFlow datagrams the kernel dropped: the collector's queue was full.",
	       dropped_queue),
	    SF("oversized_total", "counter", "sFlow datagrams too large to read whole: dropped.",
	       oversized),
	    SF("rejected_total", "counter", "sFlow datagrams the decoder refused (by kind below).",
	       rejected),
	    SF("datagrams_total", "counter", "sFlow datagrams decoded whole.", decode.datagrams),
	    SF("bad_version_total", "counter",
	       "sFlow datagrams of another version (or agent address type).", decode.bad_version),
	    SF("truncated_total", "counter", "sFlow datagrams shorter than what they state.",
	       decode.truncated),
	    SF("bad_length_total", "counter",
	       "sFlow samples or records whose length runs past their container.",
	       decode.bad_length),
	    SF("unknown_samples_total", "counter",
	       "sFlow samples skipped: another enterprise or an unknown format.",
	       decode.unknown_sample),
	    SF("unknown_records_total", "counter",
	       "sFlow records skipped: another enterprise or a format not mapped.",
	       decode.unknown_record),
	    SF("frames_total", "counter", "Frames made of sFlow counter samples.", systems.frames),
	    SF("frame_errors_total", "counter", "Frames of sFlow samples the store refused.",
	       systems.frame_errors),
	    SF("stale_samples_total", "counter",
	       "sFlow counter samples dropped: sequence number repeated or older.", systems.stale),
	    SF("lost_samples_total", "counter", "sFlow counter samples missed (sequence gaps).",
	       systems.lost),
	    SF("agent_restarts_total", "counter", "sFlow agents seen restarting.",
	       systems.restarts),
	    SF("sources_full_total", "counter",
	       "sFlow samples of data sources beyond the collector's bound: ignored.",
	       systems.sources_full),
	    SF("undecided_samples_total", "counter",
	       "sFlow samples of VMs or containers held while their kind was not known yet.",
	       systems.undecided),
	    SF("coalesced_samples_total", "counter",
	       "sFlow samples within 0.25 s of their source's last stored one: not stored.",
	       systems.coalesced),
	    SF("sources", "gauge", "sFlow data sources followed.", systems.sources),
	    SF("flow_errors_total", "counter", "sFlow flow samples the flow recorder refused.",
	       flow_errors),
	    SF("throttled_total", "counter",
	       "Times the sFlow collector waited for its rate limit (a flood).", throttled),
#undef SF
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		uint64_t v;
		memcpy(&v, (const char *)&s + m[i].off, sizeof(v));
		own_metric(o, m[i].name, m[i].type, m[i].help, (double)v);
	}
	own_family(o, "vantage_sflow_samples_total", "counter",
	           "sFlow samples decoded, by type (counters, flow).");
	buf_printf(o->out, "vantage_sflow_samples_total{type=\"counters\"} %llu\n",
	           (unsigned long long)s.decode.counter_samples);
	buf_printf(o->out, "vantage_sflow_samples_total{type=\"flow\"} %llu\n",
	           (unsigned long long)s.decode.flow_samples);
}

static void own_metrics(struct request *r, struct own *o, bool store_ok, struct buf *stats)
{
	struct server *srv = r->srv;
	struct server_stats *st = srv->stats;
	own_metric(o, "vantage_up", "gauge", "1 when Vantage answers and can read its store.",
	           store_ok);
	own_family(o, "vantage_build_info", "gauge", "Vantage's version and mode; always 1.");
	buf_printf(o->out, "vantage_build_info{version=\"%s\",mode=\"%s\"} 1\n", VANTAGE_VERSION,
	           st ? "serve" : "api");
	int64_t started = st ? atomic_load(&st->started_ms) : srv->started_ms;
	own_metric(o, "vantage_start_time_seconds", "gauge",
	           "When Vantage started, seconds since the epoch.", (double)started / 1000.0);
	if (store_ok && prom_flat_object(stats->data, stats->len, store_stat, o) < 0)
		log_debug("metrics: malformed store stats");
	own_family(o, "vantage_http_requests_total", "counter",
	           "HTTP requests answered, by status code.");
	for (int i = 0; i < SERVER_CODES; i++) {
		uint64_t n = atomic_load(&srv->requests[i]);
		if (server_codes[i])
			buf_printf(o->out, "vantage_http_requests_total{code=\"%d\"} %llu\n",
			           server_codes[i], (unsigned long long)n);
		else
			buf_printf(o->out, "vantage_http_requests_total{code=\"other\"} %llu\n",
			           (unsigned long long)n);
	}
	if (srv->guard_made)
		own_metric(o, "vantage_http_connections_evicted_total", "counter",
		           "Connections shut down by the server's caps while waiting for a request "
		           "(slow clients).",
		           (double)atomic_load(&srv->guard.evicted));
	if (srv->linger.running) {
		own_metric(o, "vantage_http_lingering_closes_total", "counter",
		           "Connections answered before their request body was read, closed after "
		           "reading what the client still sent (so it reads the answer).",
		           (double)atomic_load(&srv->linger.lingered));
		own_metric(o, "vantage_http_lingering_refused_total", "counter",
		           "The same, closed at once: every lingering slot was taken.",
		           (double)atomic_load(&srv->linger.refused));
	}
	if (!st)
		return;
	own_metric(o, "vantage_frames_stored_total", "counter",
	           "Frames committed to the store by this daemon.",
	           (double)atomic_load(&st->frames_stored));
	own_metric(o, "vantage_frames_failed_total", "counter", "Frames dropped after every retry.",
	           (double)atomic_load(&st->frames_failed));
	own_metric(o, "vantage_records_stored_total", "counter",
	           "Records of the frames committed to the store.",
	           (double)atomic_load(&st->records_stored));
	own_metric(o, "vantage_crawls_total", "counter", "Crawl passes finished.",
	           (double)atomic_load(&st->crawls));
	own_metric(o, "vantage_crawl_errors_total", "counter",
	           "Errors of items and features during crawls.",
	           (double)atomic_load(&st->crawl_errors));
	own_metric(o, "vantage_last_crawl_duration_seconds", "gauge",
	           "Duration of the last crawl pass.",
	           (double)atomic_load(&st->last_crawl_us) / 1e6);
	own_metric(o, "vantage_last_crawl_timestamp_seconds", "gauge",
	           "End of the last crawl pass, seconds since the epoch.",
	           (double)atomic_load(&st->last_crawl_ms) / 1000.0);
	own_metric(o, "vantage_pending_frames", "gauge",
	           "Frames waiting for the store (a full disk).",
	           (double)atomic_load(&st->pending_frames));
	own_metric(o, "vantage_systems_watched", "gauge", "Systems the daemon watches now.",
	           (double)atomic_load(&st->systems));
	own_metric(o, "vantage_store_write_errors_total", "counter",
	           "Store writes (transactions) that failed; their frames wait in memory.",
	           (double)atomic_load(&st->store_errors));
	own_metric(o, "vantage_store_full", "gauge",
	           "1 while the store's disk is full (frames wait in memory), else 0.",
	           (double)atomic_load(&st->store_full));
	own_metric(o, "vantage_store_frames_dropped_total", "counter",
	           "Frames dropped because the queue of frames waiting for the store was full.",
	           (double)atomic_load(&st->frames_dropped));
	own_metric(o, "vantage_memory_shed_level", "gauge",
	           "The memory guard's level: 0 not shedding, 1-3 shedding (docs/running.md).",
	           (double)atomic_load(&st->shed_level));
	own_metric(o, "vantage_memory_shed_skipped_total", "counter",
	           "Crawls not run because the daemon was shedding work under memory pressure.",
	           (double)atomic_load(&st->shed_skipped));
	own_metric(o, "vantage_memory_used_bytes", "gauge",
	           "Memory the daemon's cgroup uses, page cache excluded (or its own RSS).",
	           (double)atomic_load(&st->mem_used));
	own_metric(o, "vantage_memory_limit_bytes", "gauge",
	           "The memory limit the guard works to (cgroup or memory_limit), 0: none.",
	           (double)atomic_load(&st->mem_limit));
	struct sflow_collector *sc = atomic_load(&st->sflow);
	if (sc)
		sflow_metrics(o, sc);
	if (st->extra_metrics)
		st->extra_metrics(st->extra_metrics_arg, o->out);
}

/* ---- GET /metrics ------------------------------------------------------------------ */

static void write_series(struct buf *out, struct collect *c, const struct own *o)
{
	const char *s = c->arena.data;
	if (c->n) /* no series yet: c->e is NULL, which qsort_r may not get */
		qsort_r(c->e, c->n, sizeof(c->e[0]), cmp_entry, (void *)s);
	const char *fam = NULL;
	const struct entry *prev = NULL;
	bool skip = false;
	char val[40];
	for (size_t i = 0; i < c->n; i++) {
		const struct entry *e = &c->e[i];
		if (!fam || strcmp(fam, s + e->family) != 0) {
			fam = s + e->family;
			prev = NULL;
			skip = own_name(o, fam);
			if (skip) {
				log_debug("metrics: series %s dropped: its name is Vantage's own",
				          s + e->metric);
				continue;
			}
			buf_printf(out,
			           "# HELP %s Latest point of the series %s of each system.\n"
			           "# TYPE %s gauge\n",
			           fam, s + e->metric, fam);
		}
		if (skip)
			continue;
		if (prev && strcmp(s + prev->labels, s + e->labels) == 0)
			continue; /* two names sanitized alike: the first wins */
		prev = e;
		prom_format_value(e->value, val, sizeof(val));
		buf_printf(out, "%s%s %s\n", fam, s + e->labels, val);
	}
}

/* ---- the daemon's alarms: vantage_alarm_state ------------------------------------ */

struct alarm_lines {
	struct buf *out;
	size_t n;
};

static void alarm_line(void *ctx, const char *alarm, const char *system_id, const char *system_name,
                       enum alarm_state st)
{
	struct alarm_lines *a = ctx;
	if (!a->n++)
		buf_adds(a->out,
		         "# HELP vantage_alarm_state The current state of each alarm and system "
		         "(docs/alarms.md).\n# TYPE vantage_alarm_state gauge\n");
	buf_adds(a->out, "vantage_alarm_state{alarm=");
	prom_label_value(a->out, alarm, strlen(alarm));
	buf_adds(a->out, ",system=");
	prom_label_value(a->out, system_id, strlen(system_id));
	buf_adds(a->out, ",name=");
	prom_label_value(a->out, system_name, strlen(system_name));
	buf_adds(a->out, ",state=");
	const char *sn = alarm_state_name(st);
	prom_label_value(a->out, sn, strlen(sn));
	buf_adds(a->out, "} 1\n");
}

/* One series per alarm and system, its current state as a label: from the
 * daemon's engine, or (`vantage api`) as the daemon left them in the store. */
static int alarm_state_obj(void *ctx, const char *name, const char *json, int64_t updated)
{
	json_t *doc = json_loads(json, 0, NULL);
	const char *alarm = json_string_value(json_object_get(doc, "alarm"));
	const char *sys = json_string_value(json_object_get(doc, "system"));
	const char *sname = json_string_value(json_object_get(doc, "system_name"));
	const char *st = json_string_value(json_object_get(doc, "state"));
	if (alarm && sys && st)
		alarm_line(ctx, alarm, sys, sname ? sname : sys,
		           strcmp(st, "OK") == 0      ? ALARM_STATE_OK
		           : strcmp(st, "ALARM") == 0 ? ALARM_STATE_ALARM
		                                      : ALARM_STATE_INSUFFICIENT);
	json_decref(doc);
	return 0;
}

static void alarm_states(struct request *r, struct store *s)
{
	struct alarm_lines a = {.out = &r->body};
	struct alarm_engine *e = atomic_load(&r->srv->alarms);
	if (e)
		alarm_engine_states(e, alarm_line, &a);
	else if (s)
		store_objects(s, "alarm_state", alarm_state_obj, &a);
}

/* The series' text: the latest point of every series of a busy host's
 * store is ~1 MB to read and write (100 containers), so it is made once and
 * shared by the worker threads, kept while the store's statistics (which
 * every write moves) are unchanged and for at most SERIES_CACHE_MS.  One
 * thread makes it at a time; a scrape that comes meanwhile gets the text
 * before (at most SERIES_STALE_MS old) rather than hold a worker thread,
 * whose other connections would wait too. */
#define SERIES_CACHE_MS 1000
#define SERIES_STALE_MS 10000

static pthread_mutex_t series_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t series_build = PTHREAD_MUTEX_INITIALIZER;
static struct buf series_key, series_text;
static int64_t series_ns; /* mono_ns() when made; 0: none */

static bool series_cached(struct buf *out, const struct buf *key, bool stale)
{
	pthread_mutex_lock(&series_lock);
	int64_t age = mono_ns() - series_ns;
	bool hit = series_ns && (stale ? age < (int64_t)SERIES_STALE_MS * 1000000
	                               : age < (int64_t)SERIES_CACHE_MS * 1000000 &&
	                                     series_key.len == key->len &&
	                                     memcmp(series_key.data, key->data, key->len) == 0);
	if (hit)
		buf_add(out, series_text.data, series_text.len);
	pthread_mutex_unlock(&series_lock);
	return hit;
}

/* Appends the series' text to out (see above); 0, or < 0 when the store
 * failed (nothing appended). */
static int series(struct buf *out, struct store *s, const struct buf *key, const struct own *o)
{
	if (series_cached(out, key, false))
		return 0;
	if (pthread_mutex_trylock(&series_build) != 0) {
		if (series_cached(out, key, true))
			return 0;
		pthread_mutex_lock(&series_build);
	}
	int rc = 0;
	if (!series_cached(out, key, false)) { /* not made while this one waited */
		struct collect c = {0};
		int64_t t = mono_ns();
		rc = store_latest_points(s, collect_point, &c);
		if (rc >= 0) {
			size_t at = out->len;
			write_series(out, &c, o);
			pthread_mutex_lock(&series_lock);
			buf_reset(&series_key);
			buf_add(&series_key, key->data, key->len);
			buf_reset(&series_text);
			buf_add(&series_text, out->data + at, out->len - at);
			series_ns = t;
			pthread_mutex_unlock(&series_lock);
		}
		free(c.e);
		buf_free(&c.arena);
		buf_free(&c.fam);
		buf_free(&c.lab);
	}
	pthread_mutex_unlock(&series_build);
	return rc < 0 ? rc : 0;
}

void prom_metrics(struct request *r)
{
	static const char *const allowed[] = {NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	struct store *s = req_store(r);
	struct buf stats = BUF_INIT, key = BUF_INIT;
	bool ok = s != NULL;
	if (ok && store_stats_json(s, &stats) < 0) {
		log_warn("metrics: store stats: %s", store_errmsg(s));
		ok = false;
	}
	/* scrapes get the own metrics (vantage_up 0) even when the store fails */
	r->status = 200;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_reset(&r->body);
	struct own o = {.out = &r->body};
	own_metrics(r, &o, ok, &stats);
	if (ok) {
		/* the key: this server (several may share the process) and the
		 * store's statistics */
		buf_printf(&key, "%p ", (void *)r->srv);
		buf_add(&key, stats.data, stats.len);
		if (series(&r->body, s, &key, &o) < 0)
			log_warn("metrics: latest points: %s", store_errmsg(s));
	}
	alarm_states(r, ok ? s : NULL);
	spool_metrics(&r->body); /* the sinks' spools (sinks/spool.h) */
	if (!r->body.data)
		buf_adds(&r->body, "");
	buf_free(&o.names);
	buf_free(&stats);
	buf_free(&key);
}
