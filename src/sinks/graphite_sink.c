/*
 * graphite_sink.c - the Graphite sink: the metric records of each frame
 * as Graphite's plaintext protocol ("PATH VALUE UNIX_TS\n") over TCP to
 * carbon (docs/sinks.md, "graphite").
 *
 * URL: graphite://HOST[:PORT][?OPTIONS] (PORT 2003; [::1]:2003 for IPv6):
 *   template=T   the path of a point (default {kind}.{name}.{metric}.{labels}),
 *                from {kind} {name} {id} {host} {image} {runtime} (the
 *                system) and {metric} (the series, "memory.used_pct") and
 *                {labels} (the series' label values, '.'-joined)
 *   prefix=P     put before the path with a '.' (default "vantage"; "" none)
 *   resend=DUR   how long a sent frame is kept to be sent again if the
 *                connection turns out broken (10s; 0 none)
 *   timeout=DUR  connect and send timeout (2s)
 *   spool_max_bytes, spool_max_age   over the config's
 *
 * Points: each `metric` record gives its series as the store names them
 * (features/metric_series.h): "disk:/" {"used_pct": 41.2} is the series
 * disk.used_pct with label mountpoint "/".  Every value put into a path
 * ({name}, a label value ...) is sanitized: a byte outside [A-Za-z0-9_-]
 * becomes '_' (so a dot, a space, a '/' or a ';' never makes a level or a
 * tag), at most 200 bytes; {metric} keeps its dots (identifiers joined by
 * '.').  Empty levels are dropped.  The time is the frame's, in whole
 * seconds; a value is the number as the record held it.
 *
 * Delivery: the lines of a frame are sent from end_frame on the open
 * connection (made there when none is open and the spool is empty: up to
 * `timeout`).  While carbon is down (a refused or timed-out connection, a
 * failed send, the peer closing) frames go to the sink's on-disk spool
 * (spool.h: bounded, drop-oldest, counted on /metrics), and every frame
 * after them while it holds anything; a thread of the sink replays it,
 * with the spool's backoff (1 s doubled up to 5 min), in batches of 100
 * frames.  A TCP send succeeds once the bytes are in our kernel, before
 * carbon read them: so the frames sent in the last `resend` seconds are
 * kept, and spooled again when the connection is found broken (a send
 * fails, or the thread, every 100 ms, or the next frame sees carbon close
 * it).  Delivery is therefore at least once; a point sent twice is
 * harmless (whisper keeps one value per path and time slot), and replayed
 * points may arrive after newer ones (each carries its own time).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../features/feature.h"
#include "../features/metric_series.h"
#include "../frame/decode.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "sinks.h"
#include "spool.h"

#define GS_DEFAULT_TEMPLATE "{kind}.{name}.{metric}.{labels}"
#define GS_LEVEL_MAX 200
#define GS_BATCH_FRAMES 100
#define GS_RESEND_MAX_BYTES (16u << 20)

/* A frame sent on the open connection, kept for `resend`. */
struct sent_frame {
	int64_t at; /* mono ns */
	char *data;
	size_t len;
	uint64_t lines;
};

struct graphite_sink {
	struct sink base;
	char host[256], port[16];
	char *tmpl, *prefix;
	int64_t timeout_ms, resend_ns;
	struct spool *spool;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool thread_started, stop;
	int fd;       /* the connection to carbon, or -1 */
	bool broken;  /* replay saw the connection fail (handled out of it) */
	bool failing; /* an episode of failures is logged */
	/* the frame being received */
	struct buf cur;
	bool cur_ok;
	/* scratch of end_frame */
	struct buf lines, tmplbuf, path, name;
	const struct system_id *sys;
	int64_t ts;
	uint64_t nlines;
	/* the frames of the resend window, oldest first */
	struct sent_frame *sent;
	size_t nsent, capsent, sent_bytes;
	struct buf body; /* scratch of replay */
};

/* ---- paths ----------------------------------------------------------------------- */

/* Append `s` sanitized as one or more levels: bytes outside [A-Za-z0-9_-]
 * become '_' ('.' too, unless keep_dots). */
static void put_level(struct buf *b, const char *s, size_t n, bool keep_dots)
{
	if (n > GS_LEVEL_MAX)
		n = GS_LEVEL_MAX;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '_' || c == '-' || (keep_dots && c == '.');
		buf_addc(b, ok ? c : '_');
	}
}

/* A JSON string's text decoded (label values are JSON strings in labels). */
static void put_json_level(struct buf *b, struct js_span v, struct buf *tmp)
{
	buf_reset(tmp);
	struct js_span s;
	if (js_str(v, &s))
		js_unescape(tmp, s.p, s.n);
	else
		buf_add(tmp, v.p, v.n);
	put_level(b, tmp->data ? tmp->data : "", tmp->len, false);
}

/* The label values of a labels object ({"mountpoint":"/"}), '.'-joined. */
static void put_labels(struct graphite_sink *gs, struct js_span labels, struct buf *b)
{
	struct js_iter it;
	struct js_span k, v;
	struct buf tmp = BUF_INIT;
	bool first = true;
	js_iter_begin(&it, labels, 0);
	while (js_obj_next(&it, &k, &v) == 1) {
		if (!first)
			buf_addc(b, '.');
		first = false;
		put_json_level(b, v, &tmp);
	}
	buf_free(&tmp);
	(void)gs;
}

/* `out` = prefix.template expanded, empty levels dropped. */
static void make_path(struct graphite_sink *gs, struct js_span name, struct js_span labels,
                      struct buf *out)
{
	const struct system_id *sys = gs->sys;
	struct buf *raw = &gs->name;
	buf_reset(raw);
	if (gs->prefix[0]) {
		put_level(raw, gs->prefix, strlen(gs->prefix), true);
		buf_addc(raw, '.');
	}
	for (const char *p = gs->tmpl; *p;) {
		const char *close = *p == '{' ? strchr(p, '}') : NULL;
		if (!close) {
			put_level(raw, p, 1, true);
			p++;
			continue;
		}
		size_t n = (size_t)(close - p - 1);
		const char *k = p + 1;
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(k, lit, n) == 0)
		if (IS("kind"))
			put_level(raw, sys->kind, strlen(sys->kind), false);
		else if (IS("name"))
			put_level(raw, sys->name, strlen(sys->name), false);
		else if (IS("id"))
			put_level(raw, sys->id, strlen(sys->id), false);
		else if (IS("host"))
			put_level(raw, sys->host, strlen(sys->host), false);
		else if (IS("image"))
			put_level(raw, sys->image, strlen(sys->image), false);
		else if (IS("runtime"))
			put_level(raw, sys->runtime, strlen(sys->runtime), false);
		else if (IS("metric"))
			put_level(raw, name.p, name.n, true);
		else if (IS("labels"))
			put_labels(gs, labels, raw);
#undef IS
		p = close + 1;
	}
	/* drop empty levels: no leading, trailing or doubled dots */
	buf_reset(out);
	for (size_t i = 0; i < raw->len; i++) {
		char c = raw->data[i];
		if (c == '.' && (out->len == 0 || out->data[out->len - 1] == '.'))
			continue;
		buf_addc(out, c);
	}
	while (out->len && out->data[out->len - 1] == '.')
		out->len--;
}

/* A point of a metric record (metric_series_record's callback). */
static int add_point(void *ctx, struct js_span name, struct js_span labels,
                     const struct frame_num *v)
{
	struct graphite_sink *gs = ctx;
	make_path(gs, name, labels, &gs->path);
	if (!gs->path.len)
		return 0;
	char num[40];
	if (v->isint)
		snprintf(num, sizeof(num), "%lld", (long long)v->i);
	else
		frame_fmt_double(v->d, num, sizeof(num));
	buf_add(&gs->lines, gs->path.data, gs->path.len);
	buf_printf(&gs->lines, " %s %lld\n", num, (long long)gs->ts);
	gs->nlines++;
	return 0;
}

/* The plaintext lines of the frame in gs->cur, into gs->lines. */
static void frame_lines(struct graphite_sink *gs, const struct frame_summary *sum)
{
	buf_reset(&gs->lines);
	gs->nlines = 0;
	gs->sys = sum->sys;
	gs->ts = sum->time_ns / 1000000000LL;
	const char *p = gs->cur.data, *end = p + gs->cur.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct frame_line l;
		char err[120];
		if (le > p && frame_line_decode(p, le, &l, err, sizeof(err)) == 0 &&
		    metric_series_feature(l.feature)) {
			buf_reset(&gs->tmplbuf);
			(void)metric_series_record(l.key, l.value, &gs->tmplbuf, add_point, gs);
		}
		p = nl ? nl + 1 : end;
	}
}

/* ---- the connection -------------------------------------------------------------- */

static int wait_fd(int fd, short ev, int64_t ms)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int r;
	do
		r = poll(&p, 1, (int)ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int gs_connect(struct graphite_sink *gs)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	int e = getaddrinfo(gs->host, gs->port, &hints, &ai);
	if (e) {
		if (!gs->failing)
			log_warn("sink %s: %s: %s; frames go to the spool %s", gs->base.desc,
			         gs->host, gai_strerror(e), spool_dir(gs->spool));
		gs->failing = true;
		return -EHOSTUNREACH;
	}
	int r = -ECONNREFUSED;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                a->ai_protocol);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
			r = -errno;
			close(fd);
			continue;
		}
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		r = wait_fd(fd, POLLOUT, gs->timeout_ms);
		if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
			r = -soerr;
		if (r == 0) {
			gs->fd = fd;
			break;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	if (r < 0 && !gs->failing)
		log_warn("sink %s: cannot connect: %s; frames go to the spool %s until carbon "
		         "answers",
		         gs->base.desc, strerror(-r), spool_dir(gs->spool));
	if (r < 0)
		gs->failing = true;
	return r;
}

/* Has carbon closed the connection (it never sends anything)? */
static bool peer_closed(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLERR | POLLHUP | POLLRDHUP))
		return true;
	char b[256];
	ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static int send_all(struct graphite_sink *gs, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(gs->fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			int r = wait_fd(gs->fd, POLLOUT, gs->timeout_ms);
			if (r < 0)
				return r;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- the resend window ----------------------------------------------------------- */

static void sent_drop_first(struct graphite_sink *gs, size_t k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k; i++) {
		gs->sent_bytes -= gs->sent[i].len;
		free(gs->sent[i].data);
	}
	memmove(gs->sent, gs->sent + k, (gs->nsent - k) * sizeof(*gs->sent));
	gs->nsent -= k;
}

static void sent_prune(struct graphite_sink *gs)
{
	int64_t now = mono_ns();
	size_t k = 0;
	while (k < gs->nsent && now - gs->sent[k].at >= gs->resend_ns)
		k++;
	if (k)
		sent_drop_first(gs, k);
}

static void sent_add(struct graphite_sink *gs, const char *data, size_t len, uint64_t lines)
{
	if (gs->resend_ns <= 0 || len > GS_RESEND_MAX_BYTES)
		return;
	sent_prune(gs);
	while (gs->nsent && gs->sent_bytes + len > GS_RESEND_MAX_BYTES)
		sent_drop_first(gs, 1);
	if (grow_array((void **)&gs->sent, &gs->capsent, gs->nsent + 1, sizeof(*gs->sent)) < 0)
		return;
	char *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, data, len);
	gs->sent[gs->nsent++] =
	    (struct sent_frame){.at = mono_ns(), .data = copy, .len = len, .lines = lines};
	gs->sent_bytes += len;
}

/* The connection is broken: close it; what was sent on it lately goes to
 * the spool again (at least once).  Under gs->lock, outside replay. */
static void broken(struct graphite_sink *gs, int err)
{
	if (gs->fd >= 0)
		close(gs->fd);
	gs->fd = -1;
	gs->broken = false;
	if (!gs->failing)
		log_warn("sink %s: the connection broke (%s); the last %zu frames sent and what "
		         "follows go to the spool %s until carbon answers",
		         gs->base.desc, strerror(-err), gs->nsent, spool_dir(gs->spool));
	gs->failing = true;
	for (size_t i = 0; i < gs->nsent; i++)
		spool_append(gs->spool, gs->sent[i].data, gs->sent[i].len, gs->sent[i].lines);
	sent_drop_first(gs, gs->nsent);
}

/* Send one frame's lines on the connection (made if needed). */
static int send_frame(struct graphite_sink *gs, const char *data, size_t len, uint64_t lines)
{
	int r = 0;
	if (gs->fd >= 0 && peer_closed(gs->fd)) {
		gs->broken = true;
		return -ECONNRESET;
	}
	if (gs->fd < 0 && (r = gs_connect(gs)) < 0)
		return r;
	r = send_all(gs, data, len);
	if (r < 0) {
		gs->broken = true;
		return r;
	}
	if (gs->failing)
		log_warn("sink %s: delivering again", gs->base.desc);
	gs->failing = false;
	sent_add(gs, data, len, lines);
	return 0;
}

/* spool replay: each item in order; none delivered unless all were. */
static int deliver(void *ctx, const struct spool_item *items, size_t n)
{
	struct graphite_sink *gs = ctx;
	buf_reset(&gs->body);
	uint64_t lines = 0;
	for (size_t i = 0; i < n; i++) {
		buf_add(&gs->body, items[i].data, items[i].len);
		lines += items[i].records;
	}
	return send_frame(gs, gs->body.data, gs->body.len, lines);
}

static void *gs_thread(void *arg)
{
	struct graphite_sink *gs = arg;
	pthread_mutex_lock(&gs->lock);
	while (!gs->stop) {
		bool busy = false;
		sent_prune(gs);
		if (gs->fd >= 0 && peer_closed(gs->fd))
			broken(gs, -ECONNRESET);
		if (!spool_empty(gs->spool) && spool_due(gs->spool)) {
			struct spool_limits lim = {.max_items = GS_BATCH_FRAMES,
			                           .max_bytes = 4u << 20};
			int r = spool_replay(gs->spool, &lim, deliver, gs);
			busy = r > 0;
			if (gs->broken)
				broken(gs, r < 0 ? r : -ECONNRESET);
		}
		if (busy) {
			pthread_mutex_unlock(&gs->lock);
			sched_yield();
			pthread_mutex_lock(&gs->lock);
			continue;
		}
		struct timespec ts;
		mono_deadline(&ts, 100 * 1000000LL);
		pthread_cond_timedwait(&gs->wake, &gs->lock, &ts);
	}
	pthread_mutex_unlock(&gs->lock);
	return NULL;
}

/* ---- the sink ------------------------------------------------------------------------ */

static int gs_begin(struct sink *s, const struct frame_info *info)
{
	struct graphite_sink *gs = (struct graphite_sink *)s;
	if (info->fmt != FRAME_JSON)
		return -EPROTONOSUPPORT; /* the metric records are read from JSON Lines */
	buf_reset(&gs->cur);
	gs->cur_ok = true;
	return 0;
}

static int gs_write(struct sink *s, const void *data, size_t len)
{
	struct graphite_sink *gs = (struct graphite_sink *)s;
	if (gs->cur.len + len > (256u << 20)) {
		gs->cur_ok = false;
		return -EFBIG;
	}
	buf_add(&gs->cur, data, len);
	return 0;
}

static int gs_end(struct sink *s, const struct frame_summary *sum)
{
	struct graphite_sink *gs = (struct graphite_sink *)s;
	if (sum->write_err || !gs->cur_ok || !gs->cur.len) {
		buf_reset(&gs->cur);
		return 0;
	}
	pthread_mutex_lock(&gs->lock);
	frame_lines(gs, sum);
	buf_reset(&gs->cur);
	int r = 0;
	if (gs->lines.len) {
		bool tried = spool_empty(gs->spool);
		int e = tried ? send_frame(gs, gs->lines.data, gs->lines.len, gs->nlines) : 0;
		if (gs->broken)
			broken(gs, e < 0 ? e : -ECONNRESET);
		if (!tried || e < 0)
			r = spool_append(gs->spool, gs->lines.data, gs->lines.len, gs->nlines);
		if (e < 0)
			spool_retry_later(gs->spool); /* the thread replays after the backoff */
	}
	pthread_mutex_unlock(&gs->lock);
	return r < 0 ? r : 0; /* delivered, or safe in the spool */
}

static void gs_close(struct sink *s)
{
	struct graphite_sink *gs = (struct graphite_sink *)s;
	if (gs->thread_started) {
		pthread_mutex_lock(&gs->lock);
		gs->stop = true;
		pthread_cond_signal(&gs->wake);
		pthread_mutex_unlock(&gs->lock);
		pthread_join(gs->thread, NULL);
	}
	if (gs->spool) {
		/* the last chance of this process: replay if not backing off */
		struct spool_limits lim = {.max_items = GS_BATCH_FRAMES, .max_bytes = 4u << 20};
		while (!spool_empty(gs->spool) && spool_due(gs->spool) &&
		       spool_replay(gs->spool, &lim, deliver, gs) > 0)
			;
		if (gs->broken)
			broken(gs, -ECONNRESET);
		const struct spool_counters *c = spool_counters(gs->spool);
		if (!spool_empty(gs->spool))
			log_info("sink %s: %llu frames wait in the spool %s", gs->base.desc,
			         (unsigned long long)atomic_load(&c->frames), spool_dir(gs->spool));
	}
	if (gs->fd >= 0) {
		shutdown(gs->fd, SHUT_WR); /* what was sent still reaches carbon */
		close(gs->fd);
	}
	spool_close(gs->spool);
	sent_drop_first(gs, gs->nsent);
	free(gs->sent);
	pthread_mutex_destroy(&gs->lock);
	pthread_cond_destroy(&gs->wake);
	buf_free(&gs->cur);
	buf_free(&gs->lines);
	buf_free(&gs->tmplbuf);
	buf_free(&gs->path);
	buf_free(&gs->name);
	buf_free(&gs->body);
	free(gs->tmpl);
	free(gs->prefix);
	free(gs);
}

static const struct sink_ops graphite_sink_ops = {
    .name = "graphite",
    .begin_frame = gs_begin,
    .write = gs_write,
    .end_frame = gs_end,
    .close = gs_close,
};

/* ---- opening ---------------------------------------------------------------------- */

struct gs_opts {
	struct graphite_sink *gs;
	struct sink_env env;
};

/* A template: text and {kind} {name} {id} {host} {image} {runtime}
 * {metric} {labels}, with {metric} at least once. */
static int check_template(const char *t, char *err, size_t errlen)
{
	static const char *const vars[] = {"kind",  "name",    "id",     "host",
	                                   "image", "runtime", "metric", "labels"};
	bool metric = false;
	for (const char *p = t; *p; p++) {
		if (*p == '}') {
			snprintf(err, errlen, "template: a '}' without '{'");
			return -EINVAL;
		}
		if (*p != '{')
			continue;
		const char *close = strchr(p, '}');
		size_t n = close ? (size_t)(close - p - 1) : 0;
		bool known = false;
		for (size_t i = 0; close && i < sizeof(vars) / sizeof(vars[0]); i++)
			known = known || (strlen(vars[i]) == n && memcmp(p + 1, vars[i], n) == 0);
		if (!known) {
			snprintf(
			    err, errlen,
			    "template: unknown variable \"%.*s\" (kind, name, id, host, image, "
			    "runtime, metric, labels)",
			    (int)(close ? n + 2 : strlen(p)), p);
			return -EINVAL;
		}
		metric = metric || (n == 6 && memcmp(p + 1, "metric", 6) == 0);
		p = close;
	}
	if (!metric) {
		snprintf(err, errlen, "template: {metric} is missing (every series needs a path)");
		return -EINVAL;
	}
	return 0;
}

static int gs_opt(void *ctx, const char *key, const char *v, char *err, size_t errlen)
{
	struct gs_opts *o = ctx;
	struct graphite_sink *gs = o->gs;
	uint64_t u;
	double d;
	if (strcmp(key, "template") == 0) {
		int r = check_template(v, err, errlen);
		if (r < 0)
			return r;
		free(gs->tmpl);
		gs->tmpl = xstrdup(v);
	} else if (strcmp(key, "prefix") == 0) {
		if (strlen(v) > GS_LEVEL_MAX)
			goto bad;
		free(gs->prefix);
		gs->prefix = xstrdup(v);
	} else if (strcmp(key, "resend") == 0) {
		if (feature_parse_duration(v, &d) < 0 || d < 0 || d > 3600)
			goto bad;
		gs->resend_ns = (int64_t)(d * 1e9);
	} else if (strcmp(key, "timeout") == 0) {
		if (feature_parse_duration(v, &d) < 0 || d <= 0 || d > 600)
			goto bad;
		gs->timeout_ms = (int64_t)(d * 1e3);
	} else if (strcmp(key, "spool_max_bytes") == 0) {
		if (feature_parse_size(v, &u) < 0 || u < 4096)
			goto bad;
		o->env.spool_max_bytes = u;
	} else if (strcmp(key, "spool_max_age") == 0) {
		if (feature_parse_duration(v, &d) < 0 || d < 1)
			goto bad;
		o->env.spool_max_age_s = (int64_t)d;
	} else {
		snprintf(err, errlen,
		         "unknown option \"%s\" (template, prefix, resend, timeout, "
		         "spool_max_bytes, spool_max_age)",
		         key);
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(err, errlen, "option %s: a bad value \"%.64s\"", key, v);
	return -EINVAL;
}

/* "//HOST[:PORT]" (HOST may be [IPv6]) up to '?' or the end. */
static int parse_addr(struct graphite_sink *gs, const char *rest, size_t n, char *err,
                      size_t errlen)
{
	if (n < 3 || strncmp(rest, "//", 2) != 0) {
		snprintf(err, errlen, "no host (graphite://HOST:PORT)");
		return -EINVAL;
	}
	const char *h = rest + 2, *end = rest + n, *port = NULL;
	size_t hl;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (!rb) {
			snprintf(err, errlen, "an IPv6 address without ']'");
			return -EINVAL;
		}
		hl = (size_t)(rb - h - 1);
		h++;
		if (rb + 1 < end && rb[1] == ':')
			port = rb + 2;
		else if (rb + 1 < end && rb[1] != '/') {
			snprintf(err, errlen, "bad address");
			return -EINVAL;
		}
	} else {
		const char *colon = memchr(h, ':', (size_t)(end - h));
		const char *slash = memchr(h, '/', (size_t)(end - h));
		const char *hend = colon ? colon : slash ? slash : end;
		hl = (size_t)(hend - h);
		if (colon)
			port = colon + 1;
	}
	const char *pend = end;
	if (port && memchr(port, '/', (size_t)(end - port)))
		pend = memchr(port, '/', (size_t)(end - port));
	if (!hl || hl >= sizeof(gs->host)) {
		snprintf(err, errlen, "no host (graphite://HOST:PORT)");
		return -EINVAL;
	}
	copy_str(gs->host, sizeof(gs->host), h, hl);
	if (port) {
		size_t pl = (size_t)(pend - port);
		char tmp[16];
		if (!pl || pl >= sizeof(tmp)) {
			snprintf(err, errlen, "bad port");
			return -EINVAL;
		}
		copy_str(tmp, sizeof(tmp), port, pl);
		char *e;
		long v = strtol(tmp, &e, 10);
		if (*e || v < 1 || v > 65535) {
			snprintf(err, errlen, "bad port \"%s\"", tmp);
			return -EINVAL;
		}
		snprintf(gs->port, sizeof(gs->port), "%ld", v);
	} else {
		snprintf(gs->port, sizeof(gs->port), "2003");
	}
	return 0;
}

static int gs_open(const char *url, const char *rest, const struct sink_env *env, struct sink **out,
                   char *err, size_t errlen)
{
	const char *q = strchr(rest, '?');
	size_t alen = q ? (size_t)(q - rest) : strlen(rest);
	char pub[600];
	snprintf(pub, sizeof(pub), "graphite:%.*s", (int)(alen > 500 ? 500 : alen), rest);
	struct graphite_sink *gs = xcalloc(1, sizeof(*gs));
	gs->base.ops = &graphite_sink_ops;
	copy_str(gs->base.desc, sizeof(gs->base.desc), pub, strlen(pub));
	gs->fd = -1;
	gs->tmpl = xstrdup(GS_DEFAULT_TEMPLATE);
	gs->prefix = xstrdup("vantage");
	gs->resend_ns = 10 * 1000000000LL;
	gs->timeout_ms = 2000;
	pthread_mutex_init(&gs->lock, NULL);
	cond_init_mono(&gs->wake);
	struct gs_opts o = {.gs = gs};
	if (env)
		o.env = *env;
	char why[512];
	int r = parse_addr(gs, rest, alen, why, sizeof(why));
	if (r == 0 && q)
		r = sink_url_options(q + 1, strlen(q + 1), gs_opt, &o, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "sink \"%s\": %s", pub, why);
		goto fail;
	}
	(void)url;
	if ((r = sink_spool_open(pub, pub, &o.env, &gs->spool, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "sink \"%s\": %s", pub, why);
		goto fail;
	}
	if (pthread_create(&gs->thread, NULL, gs_thread, gs) != 0) {
		r = -EAGAIN;
		snprintf(err, errlen, "sink \"%s\": cannot start its thread", pub);
		goto fail;
	}
	gs->thread_started = true;
	*out = &gs->base;
	return 0;
fail:
	gs_close(&gs->base);
	return r;
}

const struct sink_scheme sink_scheme_graphite = {
    .scheme = "graphite",
    .usage = "graphite://HOST:PORT",
    .open = gs_open,
};
