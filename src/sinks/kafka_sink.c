/*
 * kafka_sink.c - the Kafka sink: frames to a Kafka topic through
 * librdkafka.  URL:
 *
 *   kafka://BROKER[,BROKER...]/TOPIC[?OPTION=VALUE&...]
 *     format=jsonl|crawler   the frames' format this sink takes (jsonl)
 *     compression=lz4|zstd|gzip|snappy|none   (lz4)
 *     delta=on|off           delta frames (delta.h) for JSON frames (on)
 *     full_every=K           a full frame every K frames of a chain (60)
 *     max_message=BYTES      a message's size at most; larger frames are
 *                            cut into parts (900000; the broker's
 *                            message.max.bytes default is 1000012)
 *     queue_mb=MB            librdkafka's queue of undelivered messages
 *                            (256): the bound of what waits while the
 *                            brokers are unreachable
 *     timeout_ms=MS          how long a message may wait for delivery
 *                            (0: for ever, the default)
 *     flush_ms=MS            how long close waits for deliveries (30000)
 *
 * Each frame is collected whole (begin_frame .. end_frame), then sent as
 * one or more messages (busmsg.h: an envelope line and a part of the body)
 * keyed by the system id, so a system's frames land in one partition in
 * order.  The producer is idempotent (enable.idempotence: no duplicates
 * or reordering from its retries).  A JSON frame is sent as a delta from
 * the previous frame of its chain (the system and its feature list) when
 * that one was not reported failed, the chain has one, and fewer than
 * full_every frames went since the last full frame; else it is sent whole.
 * A failed delivery (a delivery report with an error) makes the chain's
 * next frame a full one.  Delivery reports are counted (delivered,
 * failed) and the counts logged at close.
 *
 * While no broker is reachable messages wait in librdkafka's queue in
 * memory (queue_mb); when it is full the sink waits up to 10 s for room,
 * then drops the frame (counted, logged, the chain's next frame full).
 * What is still queued when the sink closes after flush_ms is lost and
 * counted.  (An on-disk spool replaces this queue when the sinks' spool
 * lands: docs/sinks.md.)
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../frame/busmsg.h"
#include "../frame/delta.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "sinks.h"

#define KS_BLOCK_MS 10000 /* wait for room in a full queue at most */

struct chain {
	char *sys, *name;
	struct delta_set base; /* the set of the last frame sent */
	bool have_base, force_full;
	uint64_t seq;
	int since_full;
};

struct kafka_sink {
	struct sink base;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	enum frame_format fmt;
	bool delta;
	int full_every;
	size_t max_message;
	int flush_ms;
	struct buf cur;  /* the frame being collected */
	struct buf body; /* a delta body */
	struct buf msg;  /* one message */
	struct delta_set set;
	struct chain *chains;
	size_t nchains, capchains;
	struct frame_info info;
	char sys[BUSMSG_MAX_ID], chain[BUSMSG_MAX_CHAIN];
	bool in_frame;
	/* counts */
	uint64_t frames, full, deltas, messages, bytes, full_bytes, delta_bytes;
	uint64_t delivered, failed, dropped;
};

/* ---- delivery reports ----------------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka_sink *ks = opaque;
	size_t c = (size_t)(uintptr_t)m->_private;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		ks->delivered++;
		return;
	}
	ks->failed++;
	if (c >= 1 && c <= ks->nchains)
		ks->chains[c - 1].force_full = true;
	if (ks->failed == 1 || ks->failed % 1000 == 0)
		log_warn("%s: a message was not delivered: %s (%llu so far; the next frame of "
		         "its system goes whole)",
		         ks->base.desc, rd_kafka_err2str(m->err), (unsigned long long)ks->failed);
}

/* ---- chains ----------------------------------------------------------------------- */

static size_t chain_find(struct kafka_sink *ks, const char *sys, const char *name)
{
	for (size_t i = 0; i < ks->nchains; i++)
		if (strcmp(ks->chains[i].sys, sys) == 0 && strcmp(ks->chains[i].name, name) == 0)
			return i;
	if (ks->nchains == ks->capchains) {
		ks->capchains = ks->capchains ? ks->capchains * 2 : 16;
		ks->chains = xreallocarray(ks->chains, ks->capchains, sizeof(*ks->chains));
	}
	struct chain *c = &ks->chains[ks->nchains];
	memset(c, 0, sizeof(*c));
	c->sys = xstrdup(sys);
	c->name = xstrdup(name);
	delta_set_init(&c->base);
	return ks->nchains++;
}

/* ---- sending ---------------------------------------------------------------------- */

/* Produce one message; waits for room in a full queue up to KS_BLOCK_MS. */
static int produce(struct kafka_sink *ks, const char *key, size_t chain)
{
	for (int waited = 0;; waited += 100) {
		rd_kafka_resp_err_t e = rd_kafka_producev(
		    ks->rk, RD_KAFKA_V_RKT(ks->rkt), RD_KAFKA_V_KEY(key, strlen(key)),
		    RD_KAFKA_V_VALUE(ks->msg.data, ks->msg.len),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_OPAQUE((void *)(uintptr_t)(chain + 1)), RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
			ks->messages++;
			ks->bytes += ks->msg.len;
			rd_kafka_poll(ks->rk, 0);
			return 0;
		}
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || waited >= KS_BLOCK_MS) {
			log_warn("%s: cannot queue a message: %s", ks->base.desc,
			         rd_kafka_err2str(e));
			return e == RD_KAFKA_RESP_ERR__QUEUE_FULL ? -ENOBUFS : -EIO;
		}
		rd_kafka_poll(ks->rk, 100);
	}
}

/* Where to cut a part of at most `cap` bytes from [p, p+n): after the
 * last newline of the part if that keeps it over half full. */
static size_t cut_at(const char *p, size_t n, size_t cap)
{
	if (n <= cap)
		return n;
	const char *nl = memrchr(p, '\n', cap);
	if (nl && (size_t)(nl + 1 - p) > cap / 2)
		return (size_t)(nl + 1 - p);
	return cap;
}

/* Send a body as one message or several parts. */
static int send_body(struct kafka_sink *ks, struct busmsg *m, const char *body, size_t len,
                     size_t chain)
{
	size_t room = ks->max_message > 2048 ? ks->max_message - 2048 : 1024;
	/* count the parts first: every envelope says how many */
	uint32_t parts = 0;
	for (size_t off = 0; off < len || parts == 0; parts++)
		off += cut_at(body + off, len - off, room);
	m->parts = parts;
	m->len = len;
	size_t off = 0;
	for (uint32_t i = 1; i <= parts; i++) {
		size_t n = cut_at(body + off, len - off, room);
		m->part = i;
		buf_reset(&ks->msg);
		busmsg_write(&ks->msg, m);
		buf_add(&ks->msg, body + off, n);
		int r = produce(ks, m->system, chain);
		if (r < 0)
			return r;
		off += n;
	}
	return 0;
}

static int send_frame(struct kafka_sink *ks)
{
	struct busmsg m = {.fmt = ks->fmt, .version = BUSMSG_VERSION};
	copy_str(m.system, sizeof(m.system), ks->sys, strlen(ks->sys));
	copy_str(m.chain, sizeof(m.chain), ks->chain, strlen(ks->chain));
	size_t ci = chain_find(ks, ks->sys, ks->chain);
	struct chain *c = &ks->chains[ci];
	m.seq = ++c->seq;
	ks->frames++;
	const char *head = NULL;
	size_t headlen = 0;
	char err[256];
	bool split = ks->delta && ks->fmt == FRAME_JSON &&
	             delta_split(ks->cur.data, ks->cur.len, &head, &headlen, &ks->set, err,
	                         sizeof(err)) == 0;
	const char *body = ks->cur.data;
	size_t len = ks->cur.len;
	if (split && c->have_base && !c->force_full && c->since_full + 1 < ks->full_every) {
		buf_reset(&ks->body);
		delta_encode(&c->base, head, headlen, &ks->set, &ks->body);
		if (ks->body.len < ks->cur.len) {
			m.delta = true;
			memcpy(m.base, c->base.hash, sizeof(m.base));
			body = ks->body.data;
			len = ks->body.len;
		}
	}
	if (split)
		memcpy(m.hash, ks->set.hash, sizeof(m.hash));
	int r = send_body(ks, &m, body, len, ci);
	if (r < 0) {
		ks->dropped++;
		c->force_full = true;
		c->have_base = false;
		log_warn("%s: a frame of %s was dropped (%s); %llu dropped so far", ks->base.desc,
		         ks->sys, strerror(-r), (unsigned long long)ks->dropped);
		return r;
	}
	if (m.delta) {
		ks->deltas++;
		ks->delta_bytes += len;
		c->since_full++;
	} else {
		ks->full++;
		ks->full_bytes += len;
		c->since_full = 0;
		c->force_full = false;
	}
	if (split) { /* the new base: swap sets */
		struct delta_set t = c->base;
		c->base = ks->set;
		ks->set = t;
		c->have_base = true;
	} else {
		c->have_base = false;
	}
	return 0;
}

/* ---- sink ops ------------------------------------------------------------------- */

static int ks_begin_frame(struct sink *s, const struct frame_info *info)
{
	struct kafka_sink *ks = (struct kafka_sink *)s;
	if (info->fmt != ks->fmt) {
		log_warn("%s: frames in %s format are not sent (the URL says format=%s)", s->desc,
		         info->fmt == FRAME_JSON ? "JSON" : "the crawler's",
		         ks->fmt == FRAME_JSON ? "jsonl" : "crawler");
		return -EPROTONOSUPPORT;
	}
	buf_reset(&ks->cur);
	copy_str(ks->sys, sizeof(ks->sys), info->sys->id, strlen(info->sys->id));
	size_t n = 0;
	ks->chain[0] = 0;
	for (int i = 0; i < info->nfeatures && n + 1 < sizeof(ks->chain); i++)
		n += (size_t)snprintf(ks->chain + n, sizeof(ks->chain) - n, "%s%s", i ? "," : "",
		                      info->features[i]);
	ks->in_frame = true;
	return 0;
}

static int ks_write(struct sink *s, const void *data, size_t len)
{
	struct kafka_sink *ks = (struct kafka_sink *)s;
	buf_add(&ks->cur, data, len);
	return 0;
}

static int ks_end_frame(struct sink *s, const struct frame_summary *sum)
{
	struct kafka_sink *ks = (struct kafka_sink *)s;
	ks->in_frame = false;
	if (sum->write_err || ks->cur.len == 0) {
		buf_reset(&ks->cur);
		return 0;
	}
	int r = send_frame(ks);
	buf_reset(&ks->cur);
	return r;
}

static int ks_flush(struct sink *s)
{
	struct kafka_sink *ks = (struct kafka_sink *)s;
	rd_kafka_poll(ks->rk, 0);
	return 0;
}

static void ks_close(struct sink *s)
{
	struct kafka_sink *ks = (struct kafka_sink *)s;
	rd_kafka_flush(ks->rk, ks->flush_ms);
	int left = rd_kafka_outq_len(ks->rk);
	rd_kafka_poll(ks->rk, 0);
	bool bad = left > 0 || ks->failed || ks->dropped;
	log_msg(bad ? LOG_WARN : LOG_INFO,
	        "%s: %llu frames (%llu full, %llu delta: %llu and %llu bytes), %llu messages, "
	        "%llu bytes; delivered %llu, failed %llu, dropped frames %llu, undelivered at "
	        "close %d",
	        s->desc, (unsigned long long)ks->frames, (unsigned long long)ks->full,
	        (unsigned long long)ks->deltas, (unsigned long long)ks->full_bytes,
	        (unsigned long long)ks->delta_bytes, (unsigned long long)ks->messages,
	        (unsigned long long)ks->bytes, (unsigned long long)ks->delivered,
	        (unsigned long long)ks->failed, (unsigned long long)ks->dropped, left);
	rd_kafka_topic_destroy(ks->rkt);
	rd_kafka_destroy(ks->rk);
	for (size_t i = 0; i < ks->nchains; i++) {
		free(ks->chains[i].sys);
		free(ks->chains[i].name);
		delta_set_free(&ks->chains[i].base);
	}
	free(ks->chains);
	delta_set_free(&ks->set);
	buf_free(&ks->cur);
	buf_free(&ks->body);
	buf_free(&ks->msg);
	free(ks);
}

static const struct sink_ops kafka_sink_ops = {
    .name = "kafka",
    .begin_frame = ks_begin_frame,
    .write = ks_write,
    .end_frame = ks_end_frame,
    .flush = ks_flush,
    .close = ks_close,
};

/* ---- opening ------------------------------------------------------------------------ */

static int set_conf(rd_kafka_conf_t *conf, const char *name, const char *val, const char *url,
                    char *err, size_t errlen)
{
	char e[256];
	if (rd_kafka_conf_set(conf, name, val, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "sink \"%s\": %s=%s: %s", url, name, val, e);
		return -EINVAL;
	}
	return 0;
}

static bool parse_int_opt(const char *v, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

/* Apply one OPTION=VALUE of the URL. */
static int url_option(struct kafka_sink *ks, rd_kafka_conf_t *conf, const char *opt,
                      const char *url, char *err, size_t errlen)
{
	const char *eq = strchr(opt, '=');
	if (!eq) {
		snprintf(err, errlen, "sink \"%s\": option \"%s\" has no value", url, opt);
		return -EINVAL;
	}
	size_t nl = (size_t)(eq - opt);
	const char *v = eq + 1;
	long x = 0;
	char num[32];
#define IS(name) (nl == strlen(name) && strncmp(opt, name, nl) == 0)
	if (IS("format")) {
		if (strcmp(v, "jsonl") == 0 || strcmp(v, "json") == 0)
			ks->fmt = FRAME_JSON;
		else if (strcmp(v, "crawler") == 0)
			ks->fmt = FRAME_CRAWLER;
		else
			goto bad;
		return 0;
	}
	if (IS("compression"))
		return strcmp(v, "lz4") == 0 || strcmp(v, "zstd") == 0 || strcmp(v, "gzip") == 0 ||
		               strcmp(v, "snappy") == 0 || strcmp(v, "none") == 0
		           ? set_conf(conf, "compression.codec", v, url, err, errlen)
		           : (snprintf(err, errlen,
		                       "sink \"%s\": compression=%s (lz4, zstd, gzip, snappy or "
		                       "none)",
		                       url, v),
		              -EINVAL);
	if (IS("delta")) {
		if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0) {
			ks->delta = strcmp(v, "on") == 0;
			return 0;
		}
		goto bad;
	}
	if (IS("full_every") && parse_int_opt(v, 1, 1000000, &x)) {
		ks->full_every = (int)x;
		return 0;
	}
	if (IS("max_message") && parse_int_opt(v, 4096, 100000000, &x)) {
		ks->max_message = (size_t)x;
		snprintf(num, sizeof(num), "%ld", x + 4096);
		return set_conf(conf, "message.max.bytes", num, url, err, errlen);
	}
	if (IS("queue_mb") && parse_int_opt(v, 1, 2097151 / 1024, &x)) {
		snprintf(num, sizeof(num), "%ld", x * 1024);
		return set_conf(conf, "queue.buffering.max.kbytes", num, url, err, errlen);
	}
	if (IS("timeout_ms") && parse_int_opt(v, 0, INT32_MAX, &x))
		return set_conf(conf, "message.timeout.ms", v, url, err, errlen);
	if (IS("flush_ms") && parse_int_opt(v, 0, INT32_MAX, &x)) {
		ks->flush_ms = (int)x;
		return 0;
	}
#undef IS
bad:
	snprintf(err, errlen,
	         "sink \"%s\": option \"%s\" unknown or out of range (format, compression, "
	         "delta, full_every, max_message, queue_mb, timeout_ms, flush_ms: "
	         "docs/sinks.md)",
	         url, opt);
	return -EINVAL;
}

/* kafka://BROKERS/TOPIC[?options] */
static int kafka_open_url(const char *url, const char *rest, const struct sink_env *env,
                          struct sink **out, char *err, size_t errlen)
{
	if (strncmp(rest, "//", 2) != 0) {
		snprintf(err, errlen, "sink \"%s\": expected kafka://BROKER[,BROKER...]/TOPIC",
		         url);
		return -EINVAL;
	}
	rest += 2;
	const char *slash = strchr(rest, '/');
	const char *q = slash ? strchr(slash, '?') : NULL;
	size_t tl = slash ? (q ? (size_t)(q - slash - 1) : strlen(slash + 1)) : 0;
	if (!slash || slash == rest || tl == 0 || tl > 249) {
		snprintf(err, errlen,
		         "sink \"%s\": expected kafka://BROKER[,BROKER...]/TOPIC (no %s)", url,
		         !slash || slash == rest ? "broker" : "topic");
		return -EINVAL;
	}
	char *brokers = xstrndup(rest, (size_t)(slash - rest));
	char *topic = xstrndup(slash + 1, tl);
	struct kafka_sink *ks = xcalloc(1, sizeof(*ks));
	ks->base.ops = &kafka_sink_ops;
	ks->fmt = FRAME_JSON;
	ks->delta = true;
	ks->full_every = 60;
	ks->max_message = 900000;
	ks->flush_ms = 30000;
	delta_set_init(&ks->set);
	snprintf(ks->base.desc, sizeof(ks->base.desc), "kafka://%s/%s", brokers, topic);
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	int r = 0;
	static const char *const defaults[][2] = {
	    {"enable.idempotence", "true"},
	    {"compression.codec", "lz4"},
	    {"linger.ms", "50"},
	    {"message.timeout.ms", "0"},
	    {"queue.buffering.max.kbytes", "262144"},
	    {"client.id", "vantage"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(defaults) && r == 0; i++)
		r = set_conf(conf, defaults[i][0], defaults[i][1], url, err, errlen);
	if (r == 0)
		r = set_conf(conf, "bootstrap.servers", brokers, url, err, errlen);
	if (q) {
		char *opts = xstrdup(q + 1), *save = NULL;
		for (char *o = strtok_r(opts, "&", &save); o && r == 0;
		     o = strtok_r(NULL, "&", &save))
			r = url_option(ks, conf, o, url, err, errlen);
		free(opts);
	}
	if (r == 0) {
		rd_kafka_conf_set_opaque(conf, ks);
		rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
		char e[512];
		ks->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
		if (!ks->rk) {
			snprintf(err, errlen, "sink \"%s\": %s", url, e);
			r = -EINVAL;
		} else {
			conf = NULL; /* the handle owns it */
			ks->rkt = rd_kafka_topic_new(ks->rk, topic, NULL);
			if (!ks->rkt) {
				snprintf(err, errlen, "sink \"%s\": topic %s: %s", url, topic,
				         rd_kafka_err2str(rd_kafka_last_error()));
				r = -EINVAL;
			}
		}
	}
	if (conf)
		rd_kafka_conf_destroy(conf);
	free(brokers);
	free(topic);
	if (r < 0) {
		if (ks->rk)
			rd_kafka_destroy(ks->rk);
		free(ks);
		return r;
	}
	*out = &ks->base;
	return 0;
}

const struct sink_scheme sink_scheme_kafka = {
    .scheme = "kafka",
    .usage = "kafka://BROKER[,BROKER...]/TOPIC",
    .open = kafka_open_url,
};
