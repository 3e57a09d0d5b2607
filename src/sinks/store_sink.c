/*
 * store_sink.c - the store sink: frames into the embedded store.  URLs:
 * "store:" (the caller's store, sink_env), sqlite:PATH and store:PATH (a
 * store this sink opens and closes).
 *
 * The bytes of one frame are collected from begin_frame to end_frame
 * (frame.c) and handed whole to store_put_frame() at end_frame.  A writer
 * that does not mark frames (bytes, then flush) gets the old behaviour: the
 * bytes collected since the last flush are one frame, stored at flush.
 * When the store cannot take a frame for a passing reason (-ENOSPC: the
 * disk is full; -EBUSY: another writer holds the lock too long) the frame
 * is kept in a queue in memory and retried, oldest first, before the next
 * frame, so frames are stored in order and nothing collected is lost while
 * the disk is full.  The queue is bounded (STORE_SINK_QUEUE_MAX bytes):
 * beyond it the oldest frames are dropped, counted and logged.  Any other
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

struct qframe {
	struct qframe *next;
	size_t len;
	char data[];
};

struct store_sink {
	struct sink base;
	struct store *st;
	struct buf cur; /* the frame being collected */
	struct qframe *head, *tail;
	int qlen;
	size_t qbytes;
	uint64_t dropped;
	int64_t last_id; /* id of the last frame stored, 0 before any */
	bool ended;      /* end_frame tried the store since the last flush */
	bool own;        /* st was opened by this sink: close it */
	bool warned_fmt; /* a crawler-format frame was refused (logged once) */
};

static bool transient(int r)
{
	return r == -ENOSPC || r == -EBUSY;
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

static void drop_oldest(struct store_sink *ss, const char *why)
{
	struct qframe *q = ss->head;
	ss->head = q->next;
	if (!ss->head)
		ss->tail = NULL;
	ss->qlen--;
	ss->qbytes -= q->len;
	ss->dropped++;
	log_warn("store sink: a frame of %zu bytes was dropped (%s); %llu dropped so far", q->len,
	         why, (unsigned long long)ss->dropped);
	free(q);
}

static void enqueue(struct store_sink *ss, const char *data, size_t len)
{
	if (len > STORE_SINK_QUEUE_MAX) {
		ss->dropped++;
		log_warn("store sink: a frame of %zu bytes is larger than the retry queue; dropped",
		         len);
		return;
	}
	while (ss->head && ss->qbytes + len > STORE_SINK_QUEUE_MAX)
		drop_oldest(ss, "the retry queue is full");
	struct qframe *q = malloc(sizeof(*q) + len);
	if (!q) {
		ss->dropped++;
		log_warn("store sink: out of memory; a frame was dropped");
		return;
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
}

/* Retry queued frames, oldest first; stop at the first transient error. */
static int retry_queue(struct store_sink *ss)
{
	while (ss->head) {
		struct qframe *q = ss->head;
		int64_t id = 0;
		int r = store_put_frame(ss->st, q->data, q->len, &id);
		if (r == 0)
			ss->last_id = id;
		if (transient(r))
			return r;
		if (r < 0)
			log_warn("store sink: a queued frame was refused: %s",
			         store_errmsg(ss->st));
		ss->head = q->next;
		if (!ss->head)
			ss->tail = NULL;
		ss->qlen--;
		ss->qbytes -= q->len;
		free(q);
	}
	return 0;
}

/* Store the frame collected in cur (after the queue, to keep the order). */
static int store_cur(struct store_sink *ss)
{
	int r = retry_queue(ss);
	if (ss->cur.len == 0)
		return r;
	if (r == 0) {
		int64_t id = 0;
		r = store_put_frame(ss->st, ss->cur.data, ss->cur.len, &id);
		if (r == 0)
			ss->last_id = id;
		if (transient(r))
			enqueue(ss, ss->cur.data, ss->cur.len);
	} else {
		enqueue(ss, ss->cur.data, ss->cur.len); /* keep the order */
	}
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
		return retry_queue(ss);
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
	return ((struct store_sink *)s)->qlen;
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
