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
 *     queue_mb=MB            librdkafka's queue of messages in memory (256)
 *     timeout_ms=MS          how long a message may wait for delivery before
 *                            its frame goes to the spool (30000; without a
 *                            spool 0: for ever)
 *     spool=on|off           keep undelivered frames in the sink's on-disk
 *                            spool (spool.h) (on)
 *     replay_ms=MS           how long one replay from the spool waits for
 *                            its delivery (2000)
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
 * Nothing lost: a frame is kept (its full text) until the delivery
 * reports of all its messages came.  One that failed (no broker took it
 * within timeout_ms, librdkafka's queue was full, or the sink closes with
 * it undelivered) goes whole into the sink's on-disk spool (spool.h:
 * bounded, drop-oldest, counted on /metrics), and so does every frame
 * after it while the spool holds anything, so frames keep their order.
 * The spool is replayed at the following frames (and at close) when its
 * backoff allows: one frame at a time, sent whole, waiting up to
 * replay_ms for its delivery report (the frame's caller waits that long;
 * the spool's backoff, 1 s doubling to 5 min, spaces the attempts out).
 * Frames from the spool are at least once: one whose delivery was not
 * known at close is spooled and may be delivered twice (vantage ingest
 * drops a frame equal to one of the last 32 of its chain).  A chain whose frame
 * went to the spool goes on with a full frame.  The deltas of that chain
 * sent after it, before its failure was known, are spooled whole too,
 * delivered or not: their base reaches the consumer only from the spool,
 * after them (the consumer counts each as `unknown_base`, then stores the
 * whole frame replayed).  With spool=off (or no
 * spool directory) frames wait in librdkafka's queue in memory for ever
 * (timeout_ms 0), bounded by queue_mb: when it is full the sink waits up
 * to 10 s for room, then drops the frame (counted, logged).
 */
#include <errno.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../frame/busmsg.h"
#include "../frame/delta.h"
#include "../util/buf.h"
#include "../util/json.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "sinks.h"
#include "spool.h"

#define KS_BLOCK_MS 10000 /* wait for room in a full queue at most */

/* A frame sent (or being replayed) until its delivery reports came. */
struct inflight {
	struct inflight *next;
	size_t chain;
	uint32_t left; /* messages without a delivery report yet */
	bool failed;   /* a message failed (or could not be queued) */
	bool replay;   /* from the spool: stays there if it fails */
	bool delta;    /* sent as a delta of the chain's previous frame */
	uint64_t records;
	size_t len;  /* of data: the text to spool (0 without a spool) */
	char data[]; /* a spool item: prefix line + the frame */
};

struct chain {
	char *sys, *name;
	struct delta_set base; /* the set of the last frame sent */
	bool have_base, force_full;
	bool base_spooled; /* a frame went to the spool: the deltas in flight after
	                    * it reach the consumer before their base */
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
	struct spool *spool; /* NULL: spool=off */
	bool want_spool, timeout_set;
	int replay_ms;
	struct inflight *head, *tail; /* oldest first */
	/* counts */
	uint64_t frames, full, deltas, messages, bytes, full_bytes, delta_bytes;
	uint64_t delivered, failed, dropped, spooled, replayed;
	uint64_t orphans; /* delivered deltas spooled whole: their base was spooled */
};

/* ---- delivery reports ----------------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka_sink *ks = opaque;
	struct inflight *f = m->_private;
	if (f && f->left)
		f->left--;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		ks->delivered++;
		return;
	}
	ks->failed++;
	if (f) {
		f->failed = true;
		if (f->chain < ks->nchains)
			ks->chains[f->chain].force_full = true;
	}
	if (ks->failed == 1 || ks->failed % 1000 == 0)
		log_warn("%s: a message was not delivered: %s (%llu so far; its frame %s)",
		         ks->base.desc, rd_kafka_err2str(m->err), (unsigned long long)ks->failed,
		         ks->spool ? "goes to the spool" : "is lost");
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

/* Produce one message of frame f; without a spool, waits for room in a
 * full queue up to KS_BLOCK_MS. */
static int produce(struct kafka_sink *ks, const char *key, struct inflight *f)
{
	for (int waited = 0;; waited += 100) {
		rd_kafka_resp_err_t e = rd_kafka_producev(
		    ks->rk, RD_KAFKA_V_RKT(ks->rkt), RD_KAFKA_V_KEY(key, strlen(key)),
		    RD_KAFKA_V_VALUE(ks->msg.data, ks->msg.len),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(f), RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
			f->left++;
			ks->messages++;
			ks->bytes += ks->msg.len;
			rd_kafka_poll(ks->rk, 0);
			return 0;
		}
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || waited >= KS_BLOCK_MS || ks->spool) {
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
                     struct inflight *f)
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
		int r = produce(ks, m->system, f);
		if (r < 0)
			return r;
		off += n;
	}
	return 0;
}

/* ---- frames in flight, the spool ------------------------------------------------ */

/* A frame as a spool item: {"system":..,"chain":..,"fmt":..}\n + the frame. */
static void item_prefix(struct buf *b, const char *sys, const char *chain, enum frame_format fmt)
{
	buf_adds(b, "{\"system\":");
	jw_escape(b, sys, strlen(sys));
	buf_adds(b, ",\"chain\":");
	jw_escape(b, chain, strlen(chain));
	buf_printf(b, ",\"fmt\":\"%s\"}\n", fmt == FRAME_CRAWLER ? "crawler" : "jsonl");
}

static struct inflight *inflight_new(struct kafka_sink *ks, size_t chain, uint64_t records,
                                     bool replay)
{
	struct buf item = BUF_INIT;
	if (ks->spool && !replay) {
		item_prefix(&item, ks->sys, ks->chain, ks->fmt);
		buf_add(&item, ks->cur.data, ks->cur.len);
	}
	struct inflight *f = xmalloc(sizeof(*f) + item.len + 1);
	*f = (struct inflight){
	    .chain = chain, .replay = replay, .records = records, .len = item.len};
	if (item.len)
		memcpy(f->data, item.data, item.len);
	buf_free(&item);
	if (ks->tail)
		ks->tail->next = f;
	else
		ks->head = f;
	ks->tail = f;
	return f;
}

/* The chain's next frame is a full one; the consumer's base is unknown. */
static void chain_reset(struct chain *c)
{
	c->force_full = true;
	c->have_base = false;
}

static void to_spool(struct kafka_sink *ks, const char *data, size_t len, uint64_t records,
                     size_t chain)
{
	if (spool_append(ks->spool, data, len, records) == 0)
		ks->spooled++;
	else
		ks->dropped++; /* counted by the spool too */
	if (chain < ks->nchains)
		chain_reset(&ks->chains[chain]);
}

/* Frames whose delivery reports all came, oldest first: a failed one goes
 * to the spool (or is counted lost).  `all`: at close, the frames still
 * waiting too (their fate unknown: spooled, at least once). */
static void settle(struct kafka_sink *ks, bool all)
{
	while (ks->head && (ks->head->left == 0 || all)) {
		struct inflight *f = ks->head;
		ks->head = f->next;
		if (!ks->head)
			ks->tail = NULL;
		bool known = f->chain < ks->nchains;
		bool orphan = known && f->delta && ks->chains[f->chain].base_spooled && ks->spool;
		if (known && !f->delta && !f->failed && !f->left) /* the consumer's base: this */
			ks->chains[f->chain].base_spooled = false;
		if (((f->failed || f->left) && !f->replay) || orphan) {
			if (ks->spool) {
				if (orphan && !f->failed && !f->left)
					ks->orphans++;
				to_spool(ks, f->data, f->len, f->records, f->chain);
				if (known)
					ks->chains[f->chain].base_spooled = true;
			} else {
				ks->dropped++;
				log_warn("%s: a frame was not delivered; %llu lost so far",
				         ks->base.desc, (unsigned long long)ks->dropped);
			}
		}
		free(f);
	}
}

/* Replay one spooled frame: sent whole, then wait up to replay_ms for its
 * delivery reports.  0 delivered, or a negative errno (it stays). */
static int deliver(void *ctx, const struct spool_item *items, size_t n)
{
	struct kafka_sink *ks = ctx;
	for (size_t i = 0; i < n; i++) {
		const char *p = items[i].data, *nl = memchr(p, '\n', items[i].len);
		json_error_t je;
		json_t *o = nl ? json_loadb(p, (size_t)(nl - p), 0, &je) : NULL;
		const char *sys = json_string_value(json_object_get(o, "system"));
		const char *chain = json_string_value(json_object_get(o, "chain"));
		const char *fmt = json_string_value(json_object_get(o, "fmt"));
		if (!sys || !chain || !fmt) {
			json_decref(o);
			log_warn("%s: a spooled frame without its prefix: skipped", ks->base.desc);
			spool_count_rejected(ks->spool, 1, items[i].records, items[i].len);
			continue;
		}
		struct busmsg m = {.version = BUSMSG_VERSION,
		                   .fmt = strcmp(fmt, "crawler") == 0 ? FRAME_CRAWLER : FRAME_JSON};
		copy_str(m.system, sizeof(m.system), sys, strlen(sys));
		copy_str(m.chain, sizeof(m.chain), chain, strlen(chain));
		json_decref(o);
		const char *body = nl + 1;
		size_t len = items[i].len - (size_t)(body - p);
		size_t ci = chain_find(ks, m.system, m.chain);
		m.seq = ++ks->chains[ci].seq;
		char err[256];
		if (m.fmt == FRAME_JSON &&
		    delta_frame_hash(body, len, m.hash, err, sizeof(err)) < 0)
			m.hash[0] = 0;
		struct inflight *f = inflight_new(ks, ci, items[i].records, true);
		int r = send_body(ks, &m, body, len, f);
		for (int waited = 0; r == 0 && f->left && waited < ks->replay_ms; waited += 50)
			rd_kafka_poll(ks->rk, 50);
		if (r < 0 || f->left || f->failed)
			return r < 0 ? r : -EAGAIN;
		ks->replayed++;
		ks->full++;
		ks->full_bytes += len;
		chain_reset(&ks->chains[ci]); /* the consumer's base is this frame now */
	}
	return 0;
}

/* Replay the spool while it delivers (at most `max` frames). */
static void replay(struct kafka_sink *ks, int max)
{
	if (!ks->spool || spool_empty(ks->spool) || !spool_due(ks->spool))
		return;
	struct spool_limits lim = {.max_items = 1};
	for (int i = 0; i < max && spool_replay(ks->spool, &lim, deliver, ks) > 0; i++)
		;
	settle(ks, false);
}

static int send_frame(struct kafka_sink *ks, uint64_t records)
{
	settle(ks, false);
	replay(ks, 64);
	struct busmsg m = {.fmt = ks->fmt, .version = BUSMSG_VERSION};
	copy_str(m.system, sizeof(m.system), ks->sys, strlen(ks->sys));
	copy_str(m.chain, sizeof(m.chain), ks->chain, strlen(ks->chain));
	size_t ci = chain_find(ks, ks->sys, ks->chain);
	struct chain *c = &ks->chains[ci];
	ks->frames++;
	if (ks->spool && !spool_empty(ks->spool)) { /* behind the spool: keep the order */
		struct buf item = BUF_INIT;
		item_prefix(&item, ks->sys, ks->chain, ks->fmt);
		buf_add(&item, ks->cur.data, ks->cur.len);
		to_spool(ks, item.data, item.len, records, ci);
		buf_free(&item);
		return 0;
	}
	m.seq = ++c->seq;
	const char *head = NULL;
	size_t headlen = 0;
	char err[256];
	bool split =
	    ks->fmt == FRAME_JSON && delta_split(ks->cur.data, ks->cur.len, &head, &headlen,
	                                         &ks->set, err, sizeof(err)) == 0;
	const char *body = ks->cur.data;
	size_t len = ks->cur.len;
	if (split && ks->delta && c->have_base && !c->force_full &&
	    c->since_full + 1 < ks->full_every) {
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
	struct inflight *f = inflight_new(ks, ci, records, false);
	int r = send_body(ks, &m, body, len, f);
	if (r < 0) {
		f->failed = true; /* settled (spooled or lost) once its queued parts report */
		chain_reset(c);
		settle(ks, false);
		return ks->spool ? 0 : r;
	}
	f->delta = m.delta;
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
	if (split && ks->delta) { /* the new base: swap sets */
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
	int r = send_frame(ks, sum->records);
	buf_reset(&ks->cur);
	return r;
}

static int ks_flush(struct sink *s)
{
	struct kafka_sink *ks = (struct kafka_sink *)s;
	rd_kafka_poll(ks->rk, 0);
	settle(ks, false);
	return 0;
}

static void ks_close(struct sink *s)
{
	struct kafka_sink *ks = (struct kafka_sink *)s;
	rd_kafka_flush(ks->rk, ks->flush_ms);
	settle(ks, false);
	replay(ks, 1000); /* a backlog of an earlier run, when the brokers take it */
	int left = rd_kafka_outq_len(ks->rk);
	if (left && ks->spool) {
		/* what is still queued goes to the spool (its fate unknown for
		 * what is in flight: at least once) */
		rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE);
		rd_kafka_poll(ks->rk, 100);
	}
	settle(ks, true);
	bool bad = left > 0 || ks->failed || ks->dropped || ks->spooled;
	log_msg(bad ? LOG_WARN : LOG_INFO,
	        "%s: %llu frames (%llu full, %llu delta: %llu and %llu bytes), %llu messages, "
	        "%llu bytes; delivered %llu, failed %llu, dropped frames %llu, spooled %llu, "
	        "replayed %llu, undelivered at close %d (deltas spooled after their base: %llu)",
	        s->desc, (unsigned long long)ks->frames, (unsigned long long)ks->full,
	        (unsigned long long)ks->deltas, (unsigned long long)ks->full_bytes,
	        (unsigned long long)ks->delta_bytes, (unsigned long long)ks->messages,
	        (unsigned long long)ks->bytes, (unsigned long long)ks->delivered,
	        (unsigned long long)ks->failed, (unsigned long long)ks->dropped,
	        (unsigned long long)ks->spooled, (unsigned long long)ks->replayed, left,
	        (unsigned long long)ks->orphans);
	rd_kafka_topic_destroy(ks->rkt);
	rd_kafka_destroy(ks->rk);
	spool_close(ks->spool);
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
	if (IS("timeout_ms") && parse_int_opt(v, 0, INT32_MAX, &x)) {
		ks->timeout_set = true;
		return set_conf(conf, "message.timeout.ms", v, url, err, errlen);
	}
	if (IS("flush_ms") && parse_int_opt(v, 0, INT32_MAX, &x)) {
		ks->flush_ms = (int)x;
		return 0;
	}
	if (IS("replay_ms") && parse_int_opt(v, 100, 600000, &x)) {
		ks->replay_ms = (int)x;
		return 0;
	}
	if (IS("spool")) {
		if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0) {
			ks->want_spool = strcmp(v, "on") == 0;
			return 0;
		}
		goto bad;
	}
#undef IS
bad:
	snprintf(err, errlen,
	         "sink \"%s\": option \"%s\" unknown or out of range (format, compression, "
	         "delta, full_every, max_message, queue_mb, timeout_ms, spool, replay_ms, "
	         "flush_ms: docs/sinks.md)",
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
		         slash == rest ? "broker" : "topic");
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
	ks->replay_ms = 2000;
	ks->want_spool = true;
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
	if (r == 0 && !ks->want_spool && !ks->timeout_set)
		r = set_conf(conf, "message.timeout.ms", "0", url, err, errlen);
	if (r == 0 && ks->want_spool) {
		char e[1024];
		r = sink_spool_open(ks->base.desc, ks->base.desc, env, &ks->spool, e, sizeof(e));
		if (r < 0)
			snprintf(err, errlen, "sink \"%s\": %s (or spool=off)", url, e);
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
		spool_close(ks->spool);
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
