/*
 * store_sink.c - the store sink: frames into the embedded store.  URLs:
 * "store:" (the caller's store, sink_env), sqlite:PATH and store:PATH (a
 * store this sink opens and closes).
 *
 * The bytes of one frame are collected from begin_frame to end_frame
 * (frame.c) and handed whole to the store at end_frame; in a batch
 * (sink_store_batch: the daemon's tick) they are queued and the batch's
 * frames stored together in ONE store transaction (store_put_frames) when
 * it ends, or as soon as it holds STORE_SINK_BATCH_MAX bytes; a frame larger
 * than that (a container with a million files) is not copied into the
 * batch: it is stored at once, with the batch before it, in one
 * transaction.  The buffer of a frame above STORE_SINK_KEEP_MAX is freed
 * once stored, so that one huge frame does not stay resident.  A writer
 * that does not mark frames (bytes, then flush) gets the old behaviour: the
 * bytes collected since the last flush are one frame, stored at flush.
 * When the store cannot take a frame for a passing reason (-ENOSPC: the
 * disk is full; -EBUSY: another writer holds the lock too long; a lost
 * connection to the store's server: -ECONNREFUSED, -ECONNRESET...) the frame
 * is kept in a queue in memory and retried, oldest first, before the next
 * frame, so frames are stored in order and nothing collected is lost while
 * the disk is full.  The queue is bounded (STORE_SINK_QUEUE_MAX bytes):
 * beyond it the oldest frames are dropped, counted (as refused: the
 * daemon's frames_failed) and logged.  Any other
 * error (a malformed frame) drops that frame alone.  end_frame (or flush)
 * returns the store's error so the caller can report it.  The store takes
 * JSON frames only: a frame in the crawler's format is refused at
 * begin_frame.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/util.h"
#include "sinks.h"
#include "store_sink.h"

#define STORE_SINK_QUEUE_MAX (64u << 20)
#define STORE_SINK_BATCH_MAX (8u << 20) /* a batch this large is stored at once */
#define STORE_SINK_KEEP_MAX (16u << 20) /* a larger frame buffer is freed after use */

struct qframe {
	struct qframe *next;
	size_t len;
	char data[];
};

struct store_sink {
	struct sink base;
	struct store *st;
	struct buf cur; /* the frame being collected */
	/* frames not stored yet, oldest first: those a store refused for a
	 * passing reason (pending), then the batch's (the last nbatch) */
	struct qframe *head, *tail;
	int qlen;
	size_t qbytes;
	int nbatch;
	size_t batch_bytes;
	bool batching;
	uint64_t dropped;
	bool drop_said;                   /* a drop was logged since the queue was last empty */
	uint64_t stored_new, refused_new; /* since sink_store_take() */
	int64_t last_id;                  /* id of the last frame stored, 0 before any */
	bool ended;                       /* end_frame tried the store since the last flush */
	bool own;                         /* st was opened by this sink: close it */
	bool warned_fmt;                  /* a crawler-format frame was refused (logged once) */
};

/* A passing reason: the disk full, the lock held, the store's server
 * (PostgreSQL) unreachable or restarting: the frame is kept and retried. */
static bool transient(int r)
{
	return r == -ENOSPC || r == -EBUSY || r == -ECONNREFUSED || r == -ECONNRESET ||
	       r == -ENOTCONN || r == -ETIMEDOUT || r == -EHOSTUNREACH || r == -ENETUNREACH ||
	       r == -EPIPE;
}

static int ss_write(struct sink *s, const void *data, size_t len)
{
	struct store_sink *ss = (struct store_sink *)s;
	buf_add(&ss->cur, data, len);
	return 0;
}

static int ss_write_fd(struct sink *s, int fd, size_t len)
{
	struct store_sink *ss = (struct store_sink *)s;
	buf_reserve(&ss->cur, len);
	size_t off = 0;
	while (off < len) {
		ssize_t n = pread(fd, ss->cur.data + ss->cur.len, len - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		ss->cur.len += (size_t)n;
		off += (size_t)n;
	}
	ss->cur.data[ss->cur.len] = 0;
	return 0;
}

static void unlink_head(struct store_sink *ss)
{
	struct qframe *q = ss->head;
	if (!q)
		return;
	ss->head = q->next;
	if (!ss->head)
		ss->tail = NULL;
	ss->qlen--;
	ss->qbytes -= q->len;
	if (ss->nbatch > ss->qlen) { /* the head was the batch's */
		ss->nbatch = ss->qlen;
		ss->batch_bytes = ss->nbatch ? ss->batch_bytes - q->len : 0;
	}
	free(q);
}

/* The oldest queued frame goes; logged once while the queue stays
 * non-empty (a long full disk drops one frame a crawl: counted, on
 * /metrics as vantage_store_frames_dropped_total, not logged each time). */
static void drop_oldest(struct store_sink *ss, const char *why)
{
	size_t len = ss->head->len;
	unlink_head(ss);
	ss->dropped++;
	ss->refused_new++;
	if (!ss->drop_said)
		log_warn("store sink: a frame of %zu bytes was dropped (%s); the oldest frames are "
		         "dropped from now on while it stays full (%llu dropped so far)",
		         len, why, (unsigned long long)ss->dropped);
	ss->drop_said = true;
}

/* Queue a frame at the tail (a batch's when `batch`); false if dropped. */
static bool enqueue(struct store_sink *ss, const char *data, size_t len, bool batch)
{
	if (len > STORE_SINK_QUEUE_MAX) {
		ss->dropped++;
		ss->refused_new++;
		log_warn("store sink: a frame of %zu bytes is larger than the retry queue; dropped",
		         len);
		return false;
	}
	while (ss->head && ss->qbytes + len > STORE_SINK_QUEUE_MAX)
		drop_oldest(ss, "the retry queue is full");
	struct qframe *q = malloc(sizeof(*q) + len);
	if (!q) {
		ss->dropped++;
		ss->refused_new++;
		log_warn("store sink: out of memory; a frame was dropped");
		return false;
	}
	q->next = NULL;
	q->len = len;
	memcpy(q->data, data, len);
	if (ss->tail)
		ss->tail->next = q;
	else
		ss->head = q;
	ss->tail = q;
	ss->qlen++;
	ss->qbytes += len;
	if (batch) {
		ss->nbatch++;
		ss->batch_bytes += len;
	} else {
		ss->nbatch = 0; /* the batch's frames were tried with it */
		ss->batch_bytes = 0;
	}
	return true;
}

/*
 * Store every queued frame, oldest first, and (when `cur` is not NULL)
 * the frame collected in it, in one store transaction.  Frames stored or
 * refused for good leave the queue; after a transient failure they all
 * stay (cur queued behind them, to keep the order).  0, or the store's
 * error (a transient one, or that of a refused frame).
 */
static int store_all(struct store_sink *ss, const struct buf *cur)
{
	int n = ss->qlen + (cur ? 1 : 0);
	if (n == 0)
		return 0;
	struct store_frame one = {0}, *f = n == 1 ? &one : calloc((size_t)n, sizeof(*f));
	if (!f)
		return -ENOMEM;
	int i = 0;
	for (struct qframe *q = ss->head; q; q = q->next)
		f[i++] = (struct store_frame){.jsonl = q->data, .len = q->len};
	if (cur)
		f[i++] = (struct store_frame){.jsonl = cur->data, .len = cur->len};
	int r = store_put_frames(ss->st, f, n), first_err = 0;
	for (i = 0; i < n; i++) {
		bool queued = i < n - (cur ? 1 : 0);
		if (transient(f[i].err)) {
			if (!queued)
				enqueue(ss, cur->data, cur->len, false);
			continue;
		}
		if (f[i].err == 0) {
			ss->last_id = f[i].id;
			ss->stored_new++;
		} else {
			ss->refused_new++;
			if (!first_err)
				first_err = f[i].err;
			log_warn("store sink: a frame was refused: %s", store_errmsg(ss->st));
		}
		/* stored or refused: the head, as frames that failed for a
		 * passing reason are always the last ones (store_put_frames
		 * stops at the first) */
		if (queued)
			unlink_head(ss);
	}
	if (f != &one)
		free(f);
	if (!ss->head)
		ss->drop_said = false;
	ss->nbatch = 0; /* tried: what is left is pending */
	ss->batch_bytes = 0;
	return r < 0 ? r : first_err;
}

/* Retry queued frames, oldest first. */
static int retry_queue(struct store_sink *ss)
{
	return store_all(ss, NULL);
}

/* Store the frame collected in cur (after the queue, to keep the order),
 * or add it to the batch. */
static int store_cur(struct store_sink *ss)
{
	int r = 0;
	if (ss->cur.len == 0)
		r = ss->batching ? 0 : retry_queue(ss);
	else if (!ss->batching || ss->cur.len > STORE_SINK_BATCH_MAX)
		r = store_all(ss, &ss->cur); /* a large frame: not copied into the batch */
	else if (enqueue(ss, ss->cur.data, ss->cur.len, true) &&
	         ss->batch_bytes > STORE_SINK_BATCH_MAX)
		r = retry_queue(ss); /* a large batch: store what it has now */
	if (ss->cur.cap > STORE_SINK_KEEP_MAX)
		buf_free(&ss->cur);
	else
		buf_reset(&ss->cur);
	return r;
}

static int ss_begin_frame(struct sink *s, const struct frame_info *info)
{
	struct store_sink *ss = (struct store_sink *)s;
	if (info->fmt != FRAME_JSON) {
		if (!ss->warned_fmt)
			log_warn("%s: the store takes frames in JSON only; frames in the "
			         "crawler's format are not stored",
			         s->desc);
		ss->warned_fmt = true;
		return -EPROTONOSUPPORT;
	}
	buf_reset(&ss->cur);
	return 0;
}

static int ss_end_frame(struct sink *s, const struct frame_summary *sum)
{
	struct store_sink *ss = (struct store_sink *)s;
	ss->ended = true;
	if (sum->write_err) {
		buf_reset(&ss->cur); /* an incomplete frame: not stored */
		return ss->batching ? 0 : retry_queue(ss);
	}
	return store_cur(ss);
}

static int ss_flush(struct sink *s)
{
	struct store_sink *ss = (struct store_sink *)s;
	if (ss->ended && ss->cur.len == 0) {
		ss->ended = false; /* end_frame just tried: its result stands */
		return 0;
	}
	ss->ended = false;
	return store_cur(ss);
}

static void ss_close(struct sink *s)
{
	struct store_sink *ss = (struct store_sink *)s;
	if (ss->nbatch)
		retry_queue(ss); /* a batch left open */
	if (ss->qlen)
		log_warn("store sink: closing with %d frame(s) not stored", ss->qlen);
	while (ss->head) {
		struct qframe *q = ss->head;
		ss->head = q->next;
		free(q);
	}
	buf_free(&ss->cur);
	if (ss->own)
		store_close(ss->st);
	free(ss);
}

static const struct sink_ops store_sink_ops = {
    .name = "store",
    .begin_frame = ss_begin_frame,
    .write = ss_write,
    .write_fd = ss_write_fd,
    .end_frame = ss_end_frame,
    .flush = ss_flush,
    .close = ss_close,
};

int sink_store_open(struct store *st, struct sink **out)
{
	struct store_sink *ss = calloc(1, sizeof(*ss));
	if (!ss)
		return -ENOMEM;
	ss->base.ops = &store_sink_ops;
	ss->st = st;
	copy_str(ss->base.desc, sizeof(ss->base.desc), "store", 5);
	*out = &ss->base;
	return 0;
}

int sink_store_pending(struct sink *s)
{
	if (!s || s->ops != &store_sink_ops)
		return 0;
	struct store_sink *ss = (struct store_sink *)s;
	return ss->qlen - ss->nbatch;
}

int sink_store_batch(struct sink *s, bool on)
{
	if (!s || s->ops != &store_sink_ops)
		return 0;
	struct store_sink *ss = (struct store_sink *)s;
	ss->batching = on;
	return on ? 0 : retry_queue(ss);
}

void sink_store_take(struct sink *s, uint64_t *stored, uint64_t *refused)
{
	*stored = *refused = 0;
	if (!s || s->ops != &store_sink_ops)
		return;
	struct store_sink *ss = (struct store_sink *)s;
	*stored = ss->stored_new;
	*refused = ss->refused_new;
	ss->stored_new = ss->refused_new = 0;
}

int sink_store_retry(struct sink *s)
{
	if (!s || s->ops != &store_sink_ops)
		return 0;
	return retry_queue((struct store_sink *)s);
}

int64_t sink_store_last_id(struct sink *s)
{
	if (!s || s->ops != &store_sink_ops)
		return 0;
	return ((struct store_sink *)s)->last_id;
}

/* "store:" (env->store), store:PATH, sqlite:PATH, sqlite://PATH */
static int store_open_url(const char *url, const char *rest, const struct sink_env *env,
                          struct sink **out, char *err, size_t errlen)
{
	const char *path = rest;
	if (strncmp(path, "//", 2) == 0)
		path += 2;
	if (!*path) {
		if (strncmp(url, "store:", 6) != 0) {
			snprintf(err, errlen, "sink \"%s\": no store named (sqlite:PATH)", url);
			return -EINVAL;
		}
		if (!env || !env->store) {
			snprintf(err, errlen,
			         "sink \"%s\": no store is open here; name one (store:PATH)", url);
			return -EINVAL;
		}
		int r = sink_store_open(env->store, out);
		if (r < 0)
			snprintf(err, errlen, "sink \"%s\": %s", url, strerror(-r));
		else if (env->store_path)
			snprintf((*out)->desc, sizeof((*out)->desc), "store %s", env->store_path);
		return r;
	}
	struct store *st;
	int r = store_open(path, STORE_RW, &st);
	if (r < 0) {
		snprintf(err, errlen, "sink \"%s\": %s", url, store_errmsg(NULL));
		return r;
	}
	r = sink_store_open(st, out);
	if (r < 0) {
		store_close(st);
		snprintf(err, errlen, "sink \"%s\": %s", url, strerror(-r));
		return r;
	}
	struct store_sink *ss = (struct store_sink *)*out;
	ss->own = true;
	snprintf(ss->base.desc, sizeof(ss->base.desc), "store %s", path);
	return 0;
}

const struct sink_scheme sink_scheme_sqlite = {
    .scheme = "sqlite",
    .usage = "sqlite:PATH",
    .open = store_open_url,
};

const struct sink_scheme sink_scheme_store = {
    .scheme = "store",
    .usage = "store:[PATH]",
    .open = store_open_url,
};

uint64_t sink_store_dropped(struct sink *s)
{
	if (!s || s->ops != &store_sink_ops)
		return 0;
	return ((struct store_sink *)s)->dropped;
}

size_t sink_store_queued_bytes(struct sink *s)
{
	if (!s || s->ops != &store_sink_ops)
		return 0;
	return ((struct store_sink *)s)->qbytes;
}
