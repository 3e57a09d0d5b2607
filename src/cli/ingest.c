/*
 * ingest.c - `vantage ingest`: frames from a Kafka topic into a store, as
 * a member of a consumer group (several ingest processes share the
 * topic's partitions), each frame stored exactly once.
 *
 * Messages are those of the Kafka sink (frame/busmsg.h): full frames and
 * delta frames (frame/delta.h), cut into parts when large.  Parts are put
 * back together per partition and system; a delta is applied to the last
 * full record set of its chain (kept in memory, bounded by --state-mb:
 * the least recently used chains are forgotten beyond it) when its base
 * hash matches, and the rebuilt frame is checked against the producer's
 * hash.
 *
 * Exactly once: frames are stored in batches, each with the group's
 * positions in ONE store transaction (store_put_frames_at); Kafka's own
 * commits are not used.  Three positions per partition are kept, as
 * store offsets of the topic names TOPIC, TOPIC#seen and TOPIC#base:
 *   TOPIC       where to resume: the first part of a frame not yet whole,
 *               else the next message
 *   TOPIC#seen  the next message after those processed: a frame whose
 *               last part is below it is in the store (or was refused)
 *   TOPIC#base  the first message of the oldest full frame a chain of the
 *               partition still builds on (chains used in the last 15 min)
 * On assignment the consumer seeks to min(TOPIC, TOPIC#base) and reads
 * again up to TOPIC#seen without storing, which rebuilds the delta bases
 * a new process (after a crash, or a partition moved to another member)
 * does not have.
 *
 * Fenced: each batch moves TOPIC#seen from the value this process read
 * (at assignment) or last wrote, given twice to store_put_frames_at; the
 * store refuses the batch (-ESTALE) when another consumer moved it since
 * (this process is a zombie: it lost the partition during a long pause
 * and has not polled since; or the store lost its last commits, e.g. a
 * PostgreSQL crash with synchronous_commit off).  Then nothing of the
 * batch was stored: it is dropped, and every partition held is read
 * again from the store's positions (revoked ones go at the next poll).
 * A reset of a group (its positions deleted from the store) passes the
 * fence: "nothing stored" holds for any expectation.
 *
 * Bad input (a truncated message, an envelope that is not JSON, a future
 * format version, a part missing, a delta with an unknown base or whose
 * rebuilt frame does not match) is counted, logged with its topic,
 * partition and offset, and skipped: the consumer goes on.  A delta
 * whose base is unknown waits for the chain's next full frame (the
 * producer sends one every full_every frames: a consumer cannot ask for
 * one over Kafka).
 */
#include <errno.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../frame/busmsg.h"
#include "../frame/delta.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "cli.h"

#define CHAIN_IDLE_NS (15 * 60 * 1000000000LL) /* a chain idle this long pins no base */
#define MAX_PARTITIONS 4096

static void ingest_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage ingest --from kafka://BROKER[,BROKER...]/TOPIC --store URL "
	        "[OPTIONS]\n"
	        "\n"
	        "Consume the frames Vantage collectors publish to Kafka (the kafka:// sink of\n"
	        "crawl and serve: full and delta frames) into a store, each frame exactly once,\n"
	        "as a member of a consumer group: run several to share the topic's partitions.\n"
	        "\n"
	        "  -f, --from URL       the topic: kafka://BROKER[,BROKER...]/TOPIC\n"
	        "  -s, --store URL      the store (a path, sqlite:PATH, postgres://...)\n"
	        "  -g, --group NAME     the consumer group (vantage-ingest); the store keeps\n"
	        "                       each group's positions\n"
	        "  -b, --batch N        frames per store transaction at most (500)\n"
	        "      --state-mb MB    memory for the delta bases (1024): the least recently\n"
	        "                       used are forgotten beyond it\n"
	        "      --idle-exit SEC  exit after SEC seconds without a message (tests,\n"
	        "                       batch loads); default: run until SIGTERM/SIGINT\n"
	        "      --log-level L    debug, info, warn (default), error\n"
	        "  -h, --help           show this help\n"
	        "\n"
	        "At exit, one JSON line of counts goes to stdout: messages, frames stored,\n"
	        "frames full/delta, and every kind of bad input skipped.\n"
	        "Exit status: 0 done, 1 a failure (the store or Kafka), 2 bad usage.\n");
}

/* ---- state ---------------------------------------------------------------------- */

#define RECENT 32

struct chain {
	struct chain *next; /* bucket */
	char *sys, *name;
	int32_t partition;
	struct delta_set set;
	bool have;
	int64_t full_off; /* first message of the full frame the set builds on */
	/* hashes of the chain's last frames, a ring: a spool's resend of one
	 * of them is dropped (RECENT: the frames of a long outage's last
	 * timeout go first, from librdkafka's queue, and the spool's after) */
	uint64_t recent[RECENT];
	unsigned nrecent;
	int64_t used_ns;
};

struct pending {
	struct pending *next;
	int32_t partition;
	struct busmsg env;
	struct buf body;
	int64_t first_off;
};

struct part_state {
	bool on;
	int64_t next;  /* next offset to process; -1 none yet */
	int64_t seen;  /* frames ending below were stored before */
	int64_t fence; /* TOPIC#seen as stored (read, or written by us); -1 none */
	int64_t start;
};

struct counts {
	uint64_t messages, bytes, full, delta, stored, records, replayed, refused;
	uint64_t bad_envelope, future_version, truncated, missing_part, unknown_base, bad_delta,
	    bad_hash, crawler_format, kafka_errors, duplicate, fenced;
};

static struct {
	rd_kafka_t *rk;
	struct store *st;
	const char *topic, *group;
	int batch_max;
	size_t state_max, state_bytes;
	struct chain *bucket[4096];
	size_t nchains;
	struct pending *pend;
	struct part_state ps[MAX_PARTITIONS];
	/* the batch */
	struct buf *frames;
	int nframes, capframes;
	size_t batch_bytes;
	bool dirty; /* positions moved since the last store */
	struct counts c;
	struct delta_set tmpset;
	int fatal;
	bool revoking;             /* in the rebalance callback, partitions going */
	bool assigned;             /* partitions were assigned once: --idle-exit counts from then */
	int64_t first_ns, last_ns; /* the first message read, the last batch stored */
} g;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static unsigned bucket_of(const char *sys, const char *name)
{
	uint64_t h = fnv1a(FNV1A_BASIS, sys, strlen(sys));
	h = fnv1a(h, "\x1f", 1);
	h = fnv1a(h, name, strlen(name));
	return (unsigned)(h % ARRAY_SIZE(g.bucket));
}

static struct chain *chain_get(const char *sys, const char *name, int32_t partition)
{
	unsigned b = bucket_of(sys, name);
	for (struct chain *c = g.bucket[b]; c; c = c->next)
		if (strcmp(c->sys, sys) == 0 && strcmp(c->name, name) == 0) {
			c->partition = partition;
			return c;
		}
	struct chain *c = xcalloc(1, sizeof(*c));
	c->sys = xstrdup(sys);
	c->name = xstrdup(name);
	c->partition = partition;
	delta_set_init(&c->set);
	c->next = g.bucket[b];
	g.bucket[b] = c;
	g.nchains++;
	return c;
}

static void chain_forget(struct chain *c)
{
	g.state_bytes -= delta_set_bytes(&c->set);
	delta_set_free(&c->set);
	c->have = false;
}

/* Keep the delta bases under --state-mb: forget the least recently used. */
static void state_bound(void)
{
	while (g.state_bytes > g.state_max) {
		struct chain *old = NULL;
		for (size_t b = 0; b < ARRAY_SIZE(g.bucket); b++)
			for (struct chain *c = g.bucket[b]; c; c = c->next)
				if (c->have && (!old || c->used_ns < old->used_ns))
					old = c;
		if (!old)
			break;
		log_info("ingest: forgetting the delta base of %s (%s): over --state-mb", old->sys,
		         old->name);
		chain_forget(old);
	}
}

static void bad(uint64_t *counter, int32_t partition, int64_t offset, const char *what)
{
	(*counter)++;
	log_warn("ingest: %s [%d] offset %lld: %s", g.topic, (int)partition, (long long)offset,
	         what);
}

/* ---- storing -------------------------------------------------------------------- */

struct offs {
	struct store_offset o[4 * MAX_PARTITIONS];
	char names[3][300];
	size_t n;
};

static void positions(struct offs *x)
{
	snprintf(x->names[0], sizeof(x->names[0]), "%s", g.topic);
	snprintf(x->names[1], sizeof(x->names[1]), "%s#seen", g.topic);
	snprintf(x->names[2], sizeof(x->names[2]), "%s#base", g.topic);
	x->n = 0;
	int64_t now = mono_ns();
	for (int32_t p = 0; p < MAX_PARTITIONS; p++) {
		struct part_state *ps = &g.ps[p];
		if (!ps->on || ps->next < 0)
			continue;
		int64_t resume = ps->next;
		int64_t base = resume;
		for (struct pending *q = g.pend; q; q = q->next)
			if (q->partition == p && q->first_off < resume)
				resume = q->first_off;
		for (size_t b = 0; b < ARRAY_SIZE(g.bucket); b++)
			for (struct chain *c = g.bucket[b]; c; c = c->next)
				if (c->have && c->partition == p &&
				    now - c->used_ns < CHAIN_IDLE_NS && c->full_off < base)
					base = c->full_off;
		int64_t seen = ps->next > ps->seen ? ps->next : ps->seen;
		x->o[x->n++] = (struct store_offset){x->names[0], p, resume};
		/* TOPIC#seen twice: moved from what this process read or wrote
		 * (the store refuses the batch when another consumer moved it
		 * since: this one is then a zombie, or the store lost its last
		 * commits) */
		x->o[x->n++] = (struct store_offset){x->names[1], p, ps->fence};
		x->o[x->n++] = (struct store_offset){x->names[1], p, seen};
		x->o[x->n++] = (struct store_offset){x->names[2], p, base};
	}
}

static void reseek(void);
static void pending_free(struct pending *q);

/* Forget what was read of partition p (its parts of frames, its chains). */
static void part_forget(int32_t p)
{
	for (struct pending **pp = &g.pend; *pp;) {
		struct pending *q = *pp;
		if (q->partition == p) {
			*pp = q->next;
			pending_free(q);
		} else {
			pp = &q->next;
		}
	}
	for (size_t b = 0; b < ARRAY_SIZE(g.bucket); b++)
		for (struct chain *c = g.bucket[b]; c; c = c->next)
			if (c->partition == p && c->have) {
				chain_forget(c);
				c->nrecent = 0;
			}
}

static void batch_drop(void)
{
	for (int i = 0; i < g.nframes; i++)
		buf_reset(&g.frames[i]);
	g.nframes = 0;
	g.batch_bytes = 0;
	g.dirty = false;
}

static void store_batch(void)
{
	if (g.nframes == 0 && !g.dirty)
		return;
	static struct offs x;
	positions(&x);
	struct store_frame *f = xcalloc((size_t)(g.nframes ? g.nframes : 1), sizeof(*f));
	for (int i = 0; i < g.nframes; i++)
		f[i] = (struct store_frame){.jsonl = g.frames[i].data, .len = g.frames[i].len};
	for (int attempt = 0;; attempt++) {
		int r = store_put_frames_at(g.st, f, g.nframes, g.group, x.o, x.n);
		if (r == 0)
			break;
		if (r == -ESTALE) {
			/* another consumer stored this partition since we read its
			 * position: nothing of the batch was stored; read again from
			 * the store's positions */
			g.c.fenced++;
			log_warn("ingest: %s; %d frames not stored, reading again from the "
			         "store's positions",
			         store_errmsg(g.st), g.nframes);
			free(f);
			batch_drop();
			if (!g.revoking)
				reseek();
			return;
		}
		if (stop && attempt > 3) {
			log_error(
			    "ingest: the store failed (%s); %d frames not stored, they will be "
			    "read again",
			    store_errmsg(g.st), g.nframes);
			g.fatal = 1;
			free(f);
			return;
		}
		log_warn("ingest: the store failed: %s; retrying", store_errmsg(g.st));
		sleep(1);
		store_check(g.st); /* a lost connection is made again */
	}
	for (size_t i = 0; i < x.n; i++) /* the positions now stored */
		if (x.o[i].topic == x.names[1] && x.o[i].partition >= 0 &&
		    x.o[i].partition < MAX_PARTITIONS)
			g.ps[x.o[i].partition].fence = x.o[i].offset;
	for (int i = 0; i < g.nframes; i++) {
		if (f[i].err == 0) {
			g.c.stored++;
			const char *q = f[i].jsonl, *e = q + f[i].len;
			while ((q = memchr(q, '\n', (size_t)(e - q))) != NULL && ++q < e)
				g.c.records++; /* the lines after the header's */
		} else {
			g.c.refused++;
			log_warn("ingest: a frame was refused by the store: %s",
			         strerror(-f[i].err));
		}
	}
	free(f);
	batch_drop();
	g.last_ns = mono_ns();
}

static void batch_add(const char *p, size_t n)
{
	if (g.nframes == g.capframes) {
		g.capframes = g.capframes ? g.capframes * 2 : 64;
		g.frames = xreallocarray(g.frames, (size_t)g.capframes, sizeof(*g.frames));
		for (int i = g.nframes; i < g.capframes; i++)
			g.frames[i] = (struct buf)BUF_INIT;
	}
	buf_add(&g.frames[g.nframes++], p, n);
	g.batch_bytes += n;
	if (g.nframes >= g.batch_max || g.batch_bytes > (64u << 20))
		store_batch();
}

/* ---- frames --------------------------------------------------------------------- */

/* A whole body: a full frame or a delta, its parts from first to last. */
static void frame_in(const struct busmsg *m, const char *body, size_t len, int32_t p, int64_t first,
                     int64_t last)
{
	char err[256];
	if (m->fmt == FRAME_CRAWLER) {
		bad(&g.c.crawler_format, p, last, "a frame in the crawler's format (not stored)");
		return;
	}
	struct chain *c = chain_get(m->system, m->chain, p);
	c->used_ns = mono_ns();
	static struct buf rebuilt = BUF_INIT;
	const char *text = body;
	size_t tlen = len;
	g.state_bytes -= delta_set_bytes(&c->set);
	if (!m->delta) {
		const char *h;
		size_t hl;
		if (delta_split(body, len, &h, &hl, &g.tmpset, err, sizeof(err)) < 0) {
			c->have = false; /* a frame no delta can build on; stored all the same */
		} else if (m->hash[0] && strcmp(m->hash, g.tmpset.hash) != 0) {
			g.state_bytes += delta_set_bytes(&c->set);
			bad(&g.c.bad_hash, p, last,
			    "a full frame whose records are not the ones hashed");
			return;
		} else {
			struct delta_set t = c->set;
			c->set = g.tmpset;
			g.tmpset = t;
			c->have = true;
			c->full_off = first;
		}
		g.c.full++;
	} else {
		if (!c->have || strcmp(c->set.hash, m->base) != 0) {
			g.state_bytes += delta_set_bytes(&c->set);
			char what[700];
			snprintf(
			    what, sizeof(what),
			    "a delta of %s on base %.12s, not known here: waiting for its next "
			    "full frame",
			    m->system, m->base);
			bad(&g.c.unknown_base, p, last, what);
			return;
		}
		buf_reset(&rebuilt);
		if (delta_apply(&c->set, body, len, m->hash, &rebuilt, &g.tmpset, err,
		                sizeof(err)) < 0) {
			g.state_bytes += delta_set_bytes(&c->set);
			bad(&g.c.bad_delta, p, last, err);
			return;
		}
		struct delta_set t = c->set;
		c->set = g.tmpset;
		g.tmpset = t;
		text = rebuilt.data;
		tlen = rebuilt.len;
		g.c.delta++;
	}
	g.state_bytes += delta_set_bytes(&c->set);
	state_bound();
	/* the frame's identity: its header line and its set's hash (the
	 * records hashed once already), else every byte of it */
	uint64_t h;
	const char *nl = memchr(text, '\n', tlen);
	if (c->have && nl)
		h = fnv1a(fnv1a(FNV1A_BASIS, text, (size_t)(nl - text)), c->set.hash,
		          strlen(c->set.hash));
	else
		h = fnv1a(FNV1A_BASIS, text, tlen);
	for (unsigned i = 0; i < c->nrecent && i < RECENT; i++)
		if (c->recent[i] == h) {
			g.c.duplicate++; /* the same frame again: a producer's spool resent it */
			return;
		}
	c->recent[c->nrecent++ % RECENT] = h;
	if (last < g.ps[p].seen) {
		g.c.replayed++; /* stored before: read again to rebuild the bases */
		return;
	}
	batch_add(text, tlen);
}

static struct pending *pending_take(int32_t p, const char *sys)
{
	for (struct pending **pp = &g.pend; *pp; pp = &(*pp)->next)
		if ((*pp)->partition == p && strcmp((*pp)->env.system, sys) == 0) {
			struct pending *q = *pp;
			*pp = q->next;
			return q;
		}
	return NULL;
}

static void pending_free(struct pending *q)
{
	if (q) {
		buf_free(&q->body);
		free(q);
	}
}

static void message_in(const rd_kafka_message_t *km)
{
	int32_t p = km->partition;
	int64_t off = km->offset;
	if (p < 0 || p >= MAX_PARTITIONS)
		return;
	if (!g.c.messages++)
		g.first_ns = mono_ns();
	g.c.bytes += km->len;
	g.ps[p].next = off + 1;
	g.dirty = true;
	struct busmsg m;
	size_t bo = 0;
	char err[256];
	const char *data = km->payload ? km->payload : "";
	int r = busmsg_parse(data, km->len, &m, &bo, err, sizeof(err));
	if (r == -EPROTONOSUPPORT) {
		bad(&g.c.future_version, p, off, err);
		return;
	}
	if (r < 0) {
		bad(&g.c.bad_envelope, p, off, err);
		return;
	}
	const char *body = data + bo;
	size_t blen = km->len - bo;
	if (m.parts == 1) {
		struct pending *old = pending_take(p, m.system);
		if (old) {
			bad(&g.c.missing_part, p, old->first_off,
			    "a frame whose last parts never came (dropped)");
			pending_free(old);
		}
		if (blen != m.len) {
			bad(&g.c.truncated, p, off, "a message shorter than its envelope says");
			return;
		}
		frame_in(&m, body, blen, p, off, off);
		return;
	}
	struct pending *q = pending_take(p, m.system);
	if (m.part == 1) {
		if (q) {
			bad(&g.c.missing_part, p, q->first_off,
			    "a frame whose last parts never came (dropped)");
			pending_free(q);
		}
		q = xcalloc(1, sizeof(*q));
		q->partition = p;
		q->env = m;
		q->first_off = off;
	} else if (!q || q->env.seq != m.seq || q->env.parts != m.parts || q->env.len != m.len ||
	           q->env.part + 1 != m.part || strcmp(q->env.chain, m.chain) != 0) {
		bad(&g.c.missing_part, p, off,
		    "a part of a frame whose earlier parts are missing (dropped)");
		pending_free(q);
		return;
	}
	if (q->body.len + blen > m.len) {
		bad(&g.c.truncated, p, off, "parts longer than their frame");
		pending_free(q);
		return;
	}
	buf_add(&q->body, body, blen);
	q->env.part = m.part;
	if (m.part < m.parts) {
		q->next = g.pend;
		g.pend = q;
		return;
	}
	if (q->body.len != m.len)
		bad(&g.c.truncated, p, off, "a frame shorter than its envelope says");
	else
		frame_in(&q->env, q->body.data ? q->body.data : "", q->body.len, p, q->first_off,
		         off);
	pending_free(q);
}

/* ---- the group ------------------------------------------------------------------ */

static int offset_cb(void *ctx, const struct store_offset *o)
{
	rd_kafka_topic_partition_list_t *l = ctx;
	size_t tl = strlen(g.topic);
	if (strncmp(o->topic, g.topic, tl) != 0 || o->partition < 0 ||
	    o->partition >= MAX_PARTITIONS)
		return 0;
	const char *suffix = o->topic + tl;
	rd_kafka_topic_partition_t *tp =
	    rd_kafka_topic_partition_list_find(l, g.topic, o->partition);
	if (!tp)
		return 0;
	struct part_state *ps = &g.ps[o->partition];
	if (strcmp(suffix, "") == 0 || strcmp(suffix, "#base") == 0) {
		if (tp->offset < 0 || o->offset < tp->offset)
			tp->offset = o->offset;
	} else if (strcmp(suffix, "#seen") == 0) {
		ps->seen = o->offset;
		ps->fence = o->offset;
	}
	return 0;
}

/* Partitions `parts` from the group's positions in the store (their
 * offsets set in the list; the caller assigns it). */
static void from_store(rd_kafka_topic_partition_list_t *parts)
{
	for (int i = 0; i < parts->cnt; i++) {
		parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
		int32_t p = parts->elems[i].partition;
		if (p >= 0 && p < MAX_PARTITIONS)
			g.ps[p] =
			    (struct part_state){.on = true, .next = -1, .seen = -1, .fence = -1};
	}
	int r = store_offsets(g.st, g.group, offset_cb, parts);
	if (r < 0) {
		log_error("ingest: cannot read the group's positions from the store: %s",
		          store_errmsg(g.st));
		g.fatal = 1;
		stop = 1;
	}
	for (int i = 0; i < parts->cnt; i++) {
		rd_kafka_topic_partition_t *tp = &parts->elems[i];
		if (tp->offset < 0)
			tp->offset = RD_KAFKA_OFFSET_BEGINNING;
		log_info("ingest: partition %d from offset %lld (stored up to %lld)",
		         (int)tp->partition, (long long)tp->offset,
		         tp->partition < MAX_PARTITIONS ? (long long)g.ps[tp->partition].seen
		                                        : -1LL);
	}
}

/* After the store refused a batch (-ESTALE): every partition held read
 * again from the store's positions, what was read of them forgotten. */
static void reseek(void)
{
	rd_kafka_topic_partition_list_t *parts = NULL;
	if (rd_kafka_assignment(g.rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
		return;
	for (int i = 0; i < parts->cnt; i++)
		if (parts->elems[i].partition >= 0 && parts->elems[i].partition < MAX_PARTITIONS)
			part_forget(parts->elems[i].partition);
	from_store(parts);
	rd_kafka_resp_err_t e = rd_kafka_assign(g.rk, parts);
	if (e)
		log_warn("ingest: seeking to the store's positions: %s", rd_kafka_err2str(e));
	rd_kafka_topic_partition_list_destroy(parts);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		from_store(parts);
		rd_kafka_assign(rk, parts);
		g.assigned = true;
		return;
	}
	/* revoked (or an error): store what was read, forget the partitions */
	g.revoking = true;
	store_batch();
	g.revoking = false;
	for (int i = 0; i < parts->cnt; i++) {
		int32_t p = parts->elems[i].partition;
		if (p < 0 || p >= MAX_PARTITIONS)
			continue;
		g.ps[p].on = false;
		part_forget(p);
	}
	rd_kafka_assign(rk, NULL);
}

/* kafka://BROKERS/TOPIC -> brokers, topic (allocated) */
static int parse_from(const char *url, char **brokers, char **topic)
{
	if (strncmp(url, "kafka://", 8) != 0)
		return -EINVAL;
	const char *b = url + 8, *slash = strchr(b, '/');
	if (!slash || slash == b || !slash[1] || strchr(slash + 1, '/') || strchr(slash + 1, '?'))
		return -EINVAL;
	*brokers = xstrndup(b, (size_t)(slash - b));
	*topic = xstrdup(slash + 1);
	return 0;
}

static void print_counts(void)
{
	const struct counts *c = &g.c;
	double busy = g.last_ns > g.first_ns ? (double)(g.last_ns - g.first_ns) / 1e9 : 0;
	printf("{\"messages\":%llu,\"bytes\":%llu,\"frames_full\":%llu,\"frames_delta\":%llu,"
	       "\"stored\":%llu,\"records\":%llu,\"busy_s\":%.3f,\"replayed\":%llu,\"refused\":%"
	       "llu,\"bad_envelope\":%llu,"
	       "\"future_version\":%llu,\"truncated\":%llu,\"missing_part\":%llu,"
	       "\"unknown_base\":%llu,\"bad_delta\":%llu,\"bad_hash\":%llu,"
	       "\"crawler_format\":%llu,\"kafka_errors\":%llu,\"duplicate\":%llu,"
	       "\"fenced\":%llu}\n",
	       (unsigned long long)c->messages, (unsigned long long)c->bytes,
	       (unsigned long long)c->full, (unsigned long long)c->delta,
	       (unsigned long long)c->stored, (unsigned long long)c->records, busy,
	       (unsigned long long)c->replayed, (unsigned long long)c->refused,
	       (unsigned long long)c->bad_envelope, (unsigned long long)c->future_version,
	       (unsigned long long)c->truncated, (unsigned long long)c->missing_part,
	       (unsigned long long)c->unknown_base, (unsigned long long)c->bad_delta,
	       (unsigned long long)c->bad_hash, (unsigned long long)c->crawler_format,
	       (unsigned long long)c->kafka_errors, (unsigned long long)c->duplicate,
	       (unsigned long long)c->fenced);
	fflush(stdout);
}

static int set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char e[256];
	if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "vantage ingest: %s=%s: %s\n", k, v, e);
		return -1;
	}
	return 0;
}

static void cleanup(void)
{
	for (size_t b = 0; b < ARRAY_SIZE(g.bucket); b++)
		while (g.bucket[b]) {
			struct chain *c = g.bucket[b];
			g.bucket[b] = c->next;
			delta_set_free(&c->set);
			free(c->sys);
			free(c->name);
			free(c);
		}
	while (g.pend) {
		struct pending *q = g.pend;
		g.pend = q->next;
		pending_free(q);
	}
	for (int i = 0; i < g.capframes; i++)
		buf_free(&g.frames[i]);
	free(g.frames);
	delta_set_free(&g.tmpset);
}

int cmd_ingest(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"from", required_argument, 0, 'f'},
	    {"store", required_argument, 0, 's'},
	    {"group", required_argument, 0, 'g'},
	    {"batch", required_argument, 0, 'b'},
	    {"state-mb", required_argument, 0, 1},
	    {"idle-exit", required_argument, 0, 2},
	    {"log-level", required_argument, 0, 3},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	const char *from = NULL, *store_url = NULL, *group = "vantage-ingest";
	long batch = 500, state_mb = 1024, idle_exit = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:s:g:b:h", longopts, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 's':
			store_url = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'b':
		case 1:
		case 2: {
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < (c == 2 ? 0 : 1) || v > 1000000) {
				fprintf(stderr, "vantage ingest: bad number \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			*(c == 'b' ? &batch : c == 1 ? &state_mb : &idle_exit) = v;
			break;
		}
		case 3: {
			int l = log_level_parse(optarg);
			if (l < 0) {
				fprintf(stderr, "vantage ingest: unknown log level \"%s\"\n",
				        optarg);
				return EXIT_USAGE;
			}
			log_threshold = (enum log_level)l;
			break;
		}
		case 'h':
			ingest_usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'vantage ingest --help'.\n");
			return EXIT_USAGE;
		}
	}
	char *brokers = NULL, *topic = NULL;
	if (optind < argc || !from || !store_url || parse_from(from, &brokers, &topic) < 0) {
		fprintf(stderr, "vantage ingest: %s\nTry 'vantage ingest --help'.\n",
		        optind < argc ? "unexpected argument"
		        : !from       ? "--from kafka://BROKERS/TOPIC is required"
		        : !store_url  ? "--store URL is required"
		                      : "--from: expected kafka://BROKER[,BROKER...]/TOPIC");
		return EXIT_USAGE;
	}
	memset(&g, 0, sizeof(g));
	g.topic = topic;
	g.group = group;
	g.batch_max = (int)batch;
	g.state_max = (size_t)state_mb << 20;
	delta_set_init(&g.tmpset);
	int r = store_open(store_url, STORE_RW, &g.st);
	if (r < 0) {
		fprintf(stderr, "vantage ingest: %s\n", store_errmsg(NULL));
		free(brokers);
		free(topic);
		return EXIT_FAIL;
	}
	char e[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (set(conf, "bootstrap.servers", brokers) < 0 || set(conf, "group.id", group) < 0 ||
	    set(conf, "enable.auto.commit", "false") < 0 ||
	    set(conf, "enable.auto.offset.store", "false") < 0 ||
	    set(conf, "auto.offset.reset", "earliest") < 0 ||
	    set(conf, "enable.partition.eof", "false") < 0 ||
	    set(conf, "session.timeout.ms", "10000") < 0 ||
	    set(conf, "heartbeat.interval.ms", "1000") < 0 ||
	    set(conf, "max.poll.interval.ms", "20000") < 0 ||
	    set(conf, "client.id", "vantage-ingest") < 0) {
		rd_kafka_conf_destroy(conf);
		store_close(g.st);
		return EXIT_USAGE;
	}
	rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	g.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
	if (!g.rk) {
		fprintf(stderr, "vantage ingest: %s\n", e);
		store_close(g.st);
		return EXIT_FAIL;
	}
	rd_kafka_poll_set_consumer(g.rk);
	rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t ke = rd_kafka_subscribe(g.rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (ke) {
		fprintf(stderr, "vantage ingest: subscribing to %s: %s\n", topic,
		        rd_kafka_err2str(ke));
		rd_kafka_destroy(g.rk);
		store_close(g.st);
		return EXIT_FAIL;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int64_t last_msg = mono_ns();
	while (!stop) {
		rd_kafka_message_t *km = rd_kafka_consumer_poll(g.rk, 100);
		if (!km) {
			store_batch(); /* quiet: store what is read */
			if (!g.assigned)
				last_msg = mono_ns();
			else if (idle_exit &&
			         mono_ns() - (g.last_ns > last_msg ? g.last_ns : last_msg) >
			             idle_exit * 1000000000LL)
				break; /* idle: no message since the last message or store */
			continue;
		}
		last_msg = mono_ns();
		if (km->err) {
			if (km->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
				g.c.kafka_errors++;
				log_warn("ingest: %s", rd_kafka_message_errstr(km));
			}
		} else {
			message_in(km);
		}
		rd_kafka_message_destroy(km);
	}
	store_batch();
	rd_kafka_consumer_close(g.rk);
	rd_kafka_destroy(g.rk);
	store_close(g.st);
	print_counts();
	cleanup();
	free(brokers);
	free(topic);
	return g.fatal ? EXIT_FAIL : EXIT_OK;
}
