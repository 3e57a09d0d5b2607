/*
 * http_sink.c - the HTTP sink: frames POSTed as JSON Lines in batches
 * through libcurl, spooled on disk while the receiver is down and replayed
 * in order when it returns (docs/sinks.md, "http").
 *
 * URL: http(s)://[USER:PASS@]HOST[:PORT]/PATH[?QUERY][#OPTIONS]: the part
 * before '#' is what is POSTed to; OPTIONS ("k=v&k=v", never sent) are
 * batch_frames (100), batch_bytes (1M), batch_time (1s), timeout (10s),
 * ca (a CA file for TLS; verification is always on), token_file /
 * token (a bearer token: sent as "Authorization: Bearer ...", never
 * logged), spool_max_bytes and spool_max_age (over the config's).
 *
 * Frames: the bytes of each frame are collected from begin_frame to
 * end_frame and added to the batch in memory; a batch is POSTed when it
 * holds batch_frames or batch_bytes, when its oldest frame is batch_time
 * old (a thread of the sink looks every 100 ms), and at close.  Answers:
 * 2xx delivered; 408, 429, 5xx, a connection or TLS error or a timeout:
 * the frames go to the spool and are retried with the spool's backoff
 * (1 s doubled up to 5 min, jittered); another 4xx (or 3xx): the receiver
 * refuses them, retrying would not help: a batch is then POSTed again
 * frame by frame so that only the frames refused are dropped, each
 * counted as rejected and logged with the status.
 *
 * Order: while the spool holds anything, new frames go behind it in the
 * spool; the spool is replayed (in batches of the same limits) before any
 * new batch is sent.  A mutex of the sink orders frame ends, the thread
 * and close: a POST holds it (up to `timeout`).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../features/feature.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "sinks.h"
#include "spool.h"

struct pending_frame {
	size_t at, len;
	uint64_t records;
};

struct http_sink {
	struct sink base;
	char *post_url; /* without the fragment */
	char *ca;
	struct curl_slist *headers; /* holds the token: never logged */
	CURL *curl;
	char curl_err[CURL_ERROR_SIZE];
	size_t batch_frames, batch_bytes;
	int64_t batch_ns, timeout_ms;
	struct spool *spool;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool thread_started, stop;
	/* the frame being received, and the batch */
	struct buf cur;
	bool cur_ok;
	struct buf batch;
	struct pending_frame *pf;
	size_t npf, cappf;
	int64_t batch_since; /* mono ns of the batch's first frame */
	bool failing;        /* an episode of failures is logged */
	long last_status;
	struct buf answer; /* the start of the receiver's answer, for logs */
	struct buf body;   /* scratch of replay */
	/* local counts */
	uint64_t rejected_frames, posted_frames;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t keep_answer(char *p, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;
	if (b->len < 300)
		buf_add(b, p, size * n < 300 - b->len ? size * n : 300 - b->len);
	return size * n;
}

/* 0: delivered; 1: refused (4xx, do not retry); < 0: retry later. */
static int post(struct http_sink *hs, const void *body, size_t len)
{
	CURL *c = hs->curl;
	buf_reset(&hs->answer);
	hs->curl_err[0] = 0;
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	CURLcode cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		hs->last_status = 0;
		if (!hs->failing)
			log_warn("sink %s: %s; frames go to the spool %s until it answers",
			         hs->base.desc,
			         hs->curl_err[0] ? hs->curl_err : curl_easy_strerror(cr),
			         spool_dir(hs->spool));
		hs->failing = true;
		return cr == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
	}
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	hs->last_status = status;
	if (status >= 200 && status < 300) {
		if (hs->failing)
			log_warn("sink %s: delivering again", hs->base.desc);
		hs->failing = false;
		return 0;
	}
	if (status >= 500 || status == 408 || status == 429) {
		if (!hs->failing)
			log_warn(
			    "sink %s: HTTP %ld; frames go to the spool %s until it accepts them",
			    hs->base.desc, status, spool_dir(hs->spool));
		hs->failing = true;
		return -EAGAIN;
	}
	return 1;
}

static void rejected(struct http_sink *hs, uint64_t records, size_t len)
{
	hs->rejected_frames++;
	log_error("sink %s: HTTP %ld: the receiver refuses a frame (%llu records, %zu bytes); "
	          "dropped: %.*s",
	          hs->base.desc, hs->last_status, (unsigned long long)records, len,
	          (int)strcspn(buf_str(&hs->answer), "\r\n"), buf_str(&hs->answer));
	spool_count_rejected(hs->spool, 1, records, len);
}

/* POST the frames items[0..n) whose bytes are contiguous at `body`: 0 when
 * each was delivered or refused, < 0 (retry them all) otherwise. */
static int post_items(struct http_sink *hs, const char *body, const struct spool_item *items,
                      size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += items[i].len;
	int r = post(hs, body, len);
	if (r <= 0) {
		if (r == 0)
			hs->posted_frames += n;
		return r;
	}
	if (n == 1) {
		rejected(hs, items[0].records, items[0].len);
		return 0;
	}
	/* one frame of the batch is refused: find which, frame by frame (a
	 * retryable failure here resends the batch: at least once) */
	const char *p = body;
	for (size_t i = 0; i < n; i++) {
		r = post(hs, p, items[i].len);
		if (r < 0)
			return r;
		if (r > 0)
			rejected(hs, items[i].records, items[i].len);
		else
			hs->posted_frames++;
		p += items[i].len;
	}
	return 0;
}

/* spool replay: the items are not contiguous; join them. */
static int deliver(void *ctx, const struct spool_item *items, size_t n)
{
	struct http_sink *hs = ctx;
	buf_reset(&hs->body);
	for (size_t i = 0; i < n; i++)
		buf_add(&hs->body, items[i].data, items[i].len);
	return post_items(hs, hs->body.data, items, n);
}

/* Replay the spool while it delivers; true when it is empty. */
static bool replay(struct http_sink *hs)
{
	struct spool_limits lim = {.max_items = hs->batch_frames, .max_bytes = hs->batch_bytes};
	int r;
	while ((r = spool_replay(hs->spool, &lim, deliver, hs)) > 0)
		;
	return r == 0;
}

static void clear_batch(struct http_sink *hs)
{
	buf_reset(&hs->batch);
	hs->npf = 0;
}

static void spool_batch(struct http_sink *hs)
{
	for (size_t i = 0; i < hs->npf; i++)
		spool_append(hs->spool, hs->batch.data + hs->pf[i].at, hs->pf[i].len,
		             hs->pf[i].records);
	clear_batch(hs);
}

/* Send the batch; behind the spool when it holds anything (the thread
 * replays it).  Under hs->lock. */
static void send_batch(struct http_sink *hs)
{
	if (!hs->npf)
		return;
	if (!spool_empty(hs->spool)) {
		spool_batch(hs);
		return;
	}
	struct spool_item *items = xcalloc(hs->npf, sizeof(*items));
	for (size_t i = 0; i < hs->npf; i++)
		items[i] = (struct spool_item){.data = hs->batch.data + hs->pf[i].at,
		                               .len = hs->pf[i].len,
		                               .records = hs->pf[i].records};
	int r = post_items(hs, hs->batch.data, items, hs->npf);
	free(items);
	if (r < 0) {
		spool_batch(hs);
		spool_retry_later(hs->spool);
	}
	clear_batch(hs);
}

static void *http_thread(void *arg)
{
	struct http_sink *hs = arg;
	pthread_mutex_lock(&hs->lock);
	while (!hs->stop) {
		bool busy = false;
		if (hs->npf && mono_ns() - hs->batch_since >= hs->batch_ns) {
			send_batch(hs);
		} else if (!spool_empty(hs->spool) && spool_due(hs->spool)) {
			/* one batch at a time: frame ends get the lock in between */
			struct spool_limits lim = {.max_items = hs->batch_frames,
			                           .max_bytes = hs->batch_bytes};
			busy = spool_replay(hs->spool, &lim, deliver, hs) > 0;
		}
		if (busy) {
			pthread_mutex_unlock(&hs->lock);
			sched_yield();
			pthread_mutex_lock(&hs->lock);
			continue;
		}
		struct timespec ts;
		mono_deadline(&ts, 100 * 1000000LL);
		pthread_cond_timedwait(&hs->wake, &hs->lock, &ts);
	}
	pthread_mutex_unlock(&hs->lock);
	return NULL;
}

/* ---- the sink ------------------------------------------------------------------------ */

static int hs_begin(struct sink *s, const struct frame_info *info)
{
	struct http_sink *hs = (struct http_sink *)s;
	if (info->fmt != FRAME_JSON)
		return -EPROTONOSUPPORT; /* JSON Lines only */
	buf_reset(&hs->cur);
	hs->cur_ok = true;
	return 0;
}

static int hs_write(struct sink *s, const void *data, size_t len)
{
	struct http_sink *hs = (struct http_sink *)s;
	if (hs->cur.len + len > (256u << 20))
		return -EFBIG;
	buf_add(&hs->cur, data, len);
	return 0;
}

static int hs_end(struct sink *s, const struct frame_summary *sum)
{
	struct http_sink *hs = (struct http_sink *)s;
	if (sum->write_err || !hs->cur_ok || !hs->cur.len) {
		buf_reset(&hs->cur);
		return 0;
	}
	pthread_mutex_lock(&hs->lock);
	if (grow_array((void **)&hs->pf, &hs->cappf, hs->npf + 1, sizeof(*hs->pf)) < 0) {
		pthread_mutex_unlock(&hs->lock);
		return -ENOMEM;
	}
	if (!hs->npf)
		hs->batch_since = mono_ns();
	hs->pf[hs->npf++] = (struct pending_frame){
	    .at = hs->batch.len, .len = hs->cur.len, .records = sum->records};
	buf_add(&hs->batch, hs->cur.data, hs->cur.len);
	buf_reset(&hs->cur);
	if (hs->npf >= hs->batch_frames || hs->batch.len >= hs->batch_bytes)
		send_batch(hs);
	pthread_mutex_unlock(&hs->lock);
	return 0; /* delivered, or safe in the spool */
}

static void hs_close(struct sink *s)
{
	struct http_sink *hs = (struct http_sink *)s;
	if (hs->thread_started) {
		pthread_mutex_lock(&hs->lock);
		hs->stop = true;
		pthread_cond_signal(&hs->wake);
		pthread_mutex_unlock(&hs->lock);
		pthread_join(hs->thread, NULL);
	}
	if (hs->spool) {
		/* the last chance of this process: replay if not backing off */
		if (!spool_empty(hs->spool) && spool_due(hs->spool))
			(void)replay(hs);
		send_batch(hs);
		const struct spool_counters *c = spool_counters(hs->spool);
		if (!spool_empty(hs->spool))
			log_info("sink %s: %llu frames wait in the spool %s", hs->base.desc,
			         (unsigned long long)atomic_load(&c->frames), spool_dir(hs->spool));
	}
	spool_close(hs->spool);
	if (hs->curl)
		curl_easy_cleanup(hs->curl);
	curl_slist_free_all(hs->headers);
	pthread_mutex_destroy(&hs->lock);
	pthread_cond_destroy(&hs->wake);
	buf_free(&hs->cur);
	buf_free(&hs->batch);
	buf_free(&hs->answer);
	buf_free(&hs->body);
	free(hs->pf);
	free(hs->post_url);
	free(hs->ca);
	free(hs);
}

static const struct sink_ops http_sink_ops = {
    .name = "http",
    .begin_frame = hs_begin,
    .write = hs_write,
    .end_frame = hs_end,
    .close = hs_close,
};

/* ---- opening ---------------------------------------------------------------------- */

struct http_opts {
	struct http_sink *hs;
	char *token;
	struct sink_env env;
};

static int read_token(const char *path, char **out, char *err, size_t errlen)
{
	struct buf b = BUF_INIT;
	ssize_t n = read_file_at(AT_FDCWD, path, &b, 4096);
	if (n < 0) {
		snprintf(err, errlen, "token_file %s: %s", path, strerror((int)-n));
		buf_free(&b);
		return (int)n;
	}
	const char *t = buf_str(&b);
	size_t len = strcspn(t, "\r\n");
	if (!len) {
		snprintf(err, errlen, "token_file %s: empty", path);
		buf_free(&b);
		return -EINVAL;
	}
	free(*out);
	*out = xstrndup(t, len);
	buf_free(&b);
	return 0;
}

static int http_opt(void *ctx, const char *key, const char *v, char *err, size_t errlen)
{
	struct http_opts *o = ctx;
	struct http_sink *hs = o->hs;
	uint64_t u;
	double d;
	if (strcmp(key, "batch_frames") == 0) {
		if (feature_parse_size(v, &u) < 0 || u < 1 || u > 100000)
			goto bad;
		hs->batch_frames = (size_t)u;
	} else if (strcmp(key, "batch_bytes") == 0) {
		if (feature_parse_size(v, &u) < 0 || u < 1 || u > (256u << 20))
			goto bad;
		hs->batch_bytes = (size_t)u;
	} else if (strcmp(key, "batch_time") == 0 || strcmp(key, "timeout") == 0) {
		if (feature_parse_duration(v, &d) < 0 || d <= 0 || d > 3600)
			goto bad;
		if (key[0] == 'b')
			hs->batch_ns = (int64_t)(d * 1e9);
		else
			hs->timeout_ms = (int64_t)(d * 1e3);
	} else if (strcmp(key, "ca") == 0) {
		free(hs->ca);
		hs->ca = xstrdup(v);
	} else if (strcmp(key, "token_file") == 0) {
		return read_token(v, &o->token, err, errlen);
	} else if (strcmp(key, "token") == 0) {
		free(o->token);
		o->token = xstrdup(v);
	} else if (strcmp(key, "spool_max_bytes") == 0) {
		if (feature_parse_size(v, &u) < 0 || u < 4096)
			goto bad;
		o->env.spool_max_bytes = u;
	} else if (strcmp(key, "spool_max_age") == 0) {
		if (feature_parse_duration(v, &d) < 0 || d < 1)
			goto bad;
		o->env.spool_max_age_s = (int64_t)d;
	} else {
		snprintf(
		    err, errlen,
		    "unknown option \"%s\" (batch_frames, batch_bytes, batch_time, timeout, ca, "
		    "token_file, token, spool_max_bytes, spool_max_age)",
		    key);
		return -EINVAL;
	}
	return 0;
bad:
	/* values are not echoed: a token may be mistyped as another key */
	snprintf(err, errlen, "option %s: a bad value", key);
	return -EINVAL;
}

/* The URL for messages and the spool's name: no user info, no query, no
 * fragment (any of them may hold a secret). */
static void public_url(const char *url, char *dst, size_t cap)
{
	const char *sep = strstr(url, "://");
	const char *host = sep ? sep + 3 : url;
	size_t hostlen = strcspn(host, "/?#");
	const char *at = memchr(host, '@', hostlen);
	size_t n = 0;
	for (const char *p = url; *p && *p != '#' && *p != '?' && n + 1 < cap; p++) {
		if (at && p >= host && p <= at)
			continue;
		dst[n++] = *p;
	}
	dst[n] = 0;
}

static int http_open_url(const char *url, const char *rest, const struct sink_env *env,
                         struct sink **out, char *err, size_t errlen)
{
	char pub[1024];
	public_url(url, pub, sizeof(pub));
	if (strncmp(rest, "//", 2) != 0 || !rest[2] || rest[2] == '/') {
		snprintf(err, errlen, "sink \"%s\": no host (http://HOST[:PORT]/PATH)", pub);
		return -EINVAL;
	}
	pthread_once(&curl_once, curl_init_once);
	struct http_sink *hs = xcalloc(1, sizeof(*hs));
	hs->base.ops = &http_sink_ops;
	copy_str(hs->base.desc, sizeof(hs->base.desc), pub, strlen(pub));
	hs->batch_frames = 100;
	hs->batch_bytes = 1u << 20;
	hs->batch_ns = 1000000000LL;
	hs->timeout_ms = 10000;
	pthread_mutex_init(&hs->lock, NULL);
	cond_init_mono(&hs->wake);
	const char *hash = strchr(url, '#');
	hs->post_url = hash ? xstrndup(url, (size_t)(hash - url)) : xstrdup(url);
	struct http_opts o = {.hs = hs};
	if (env)
		o.env = *env;
	char why[512];
	int r = 0;
	if (hash && (r = sink_url_options(hash + 1, strlen(hash + 1), http_opt, &o, why,
	                                  sizeof(why))) < 0) {
		snprintf(err, errlen, "sink \"%s\": %s", pub, why);
		goto fail;
	}
	hs->curl = curl_easy_init();
	if (!hs->curl) {
		r = -ENOMEM;
		snprintf(err, errlen, "sink \"%s\": cannot start libcurl", pub);
		goto fail;
	}
	hs->headers = curl_slist_append(NULL, "Content-Type: application/x-ndjson");
	hs->headers = curl_slist_append(hs->headers, "Expect:");
	if (o.token) {
		struct buf h = BUF_INIT;
		buf_printf(&h, "Authorization: Bearer %s", o.token);
		hs->headers = curl_slist_append(hs->headers, buf_str(&h));
		explicit_bzero(h.data, h.len);
		buf_free(&h);
		explicit_bzero(o.token, strlen(o.token));
		free(o.token);
		o.token = NULL;
	}
	CURL *c = hs->curl;
	curl_easy_setopt(c, CURLOPT_URL, hs->post_url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs->headers);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)hs->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(hs->timeout_ms < 5000 ? hs->timeout_ms : 5000));
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, hs->curl_err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &hs->answer);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "vantage");
	if (hs->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, hs->ca);
	if ((r = sink_spool_open(hs->post_url, pub, &o.env, &hs->spool, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "sink \"%s\": %s", pub, why);
		goto fail;
	}
	if (pthread_create(&hs->thread, NULL, http_thread, hs) != 0) {
		r = -EAGAIN;
		snprintf(err, errlen, "sink \"%s\": cannot start its thread", pub);
		goto fail;
	}
	hs->thread_started = true;
	*out = &hs->base;
	return 0;
fail:
	free(o.token);
	hs_close(&hs->base);
	return r;
}

const struct sink_scheme sink_scheme_http = {
    .scheme = "http",
    .usage = "http://HOST/PATH",
    .open = http_open_url,
};

const struct sink_scheme sink_scheme_https = {
    .scheme = "https",
    .usage = "https://HOST/PATH",
    .open = http_open_url,
};
