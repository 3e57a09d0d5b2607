/*
 * locked_sink.c - the store sinks of the daemon's lanes, sharing one store
 * handle under one lock (see locked_sink.h).
 *
 * A frame comes as begin_frame, its bytes, end_frame (with the frame's
 * summary: its record and error counts feed the counters) and a flush;
 * the inner store sink stores the frame at end_frame.
 */
#include "locked_sink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../frame/frame.h"
#include "../sinks/sinks.h"
#include "../sinks/store_sink.h"
#include "../store/store.h"
#include "../util/log.h"
#include "../util/util.h"

static const struct sink_ops lsink_ops;

struct lsink {
	struct sink base;
	struct store_share *sh;
	int slot;
	struct sink *inner;
	bool in_frame;    /* bytes written since the last flush */
	uint64_t records; /* records of the frames ended since the last store */
	bool batching;    /* in a batch (locked_sink_batch) */
};

static void count(const struct store_share *sh, enum engine_counter c, int64_t v)
{
	if (sh->report && sh->report->count)
		sh->report->count(sh->report->arg, c, v);
}

static void say_error(const struct store_share *sh, const char *msg)
{
	if (sh->report && sh->report->error)
		sh->report->error(sh->report->arg, msg);
}

void store_share_init(struct store_share *sh, struct store *st, const char *path,
                      const struct engine_report *report)
{
	memset(sh, 0, sizeof(*sh));
	sh->st = st;
	sh->path = path;
	sh->report = report;
	pthread_mutex_init(&sh->lock, NULL);
}

static int lsink_write(struct sink *s, const void *data, size_t len)
{
	struct lsink *ls = (struct lsink *)s;
	pthread_mutex_lock(&ls->sh->lock);
	int r = -ESHUTDOWN;
	if (!ls->sh->closed) {
		r = sink_write(ls->inner, data, len);
		ls->in_frame = true;
	}
	pthread_mutex_unlock(&ls->sh->lock);
	return r;
}

static int lsink_write_fd(struct sink *s, int fd, size_t len)
{
	struct lsink *ls = (struct lsink *)s;
	pthread_mutex_lock(&ls->sh->lock);
	int r = ls->sh->closed ? -ESHUTDOWN : sink_write_fd(ls->inner, fd, len);
	ls->in_frame = true;
	pthread_mutex_unlock(&ls->sh->lock);
	return r;
}

static int total_pending(const struct store_share *sh)
{
	int n = 0;
	for (int i = 0; i < STORE_SHARE_SINKS; i++)
		n += sh->pending[i];
	return n;
}

/* What a store sink stored and refused since it was last asked: counted. */
static void count_stored(struct store_share *sh, struct sink *inner)
{
	uint64_t stored, refused;
	sink_store_take(inner, &stored, &refused);
	if (stored > 0) {
		count(sh, EC_FRAMES_STORED, (int64_t)stored);
		count(sh, EC_LAST_FRAME_ID, sink_store_last_id(inner));
	}
	if (refused > 0)
		count(sh, EC_FRAMES_FAILED, (int64_t)refused);
}

/* Frames a sink's full retry queue dropped since last counted (lock held). */
static void count_dropped(struct store_share *sh, int slot, struct sink *inner)
{
	if (slot < 0 || slot >= STORE_SHARE_SINKS)
		return;
	uint64_t d = sink_store_dropped(inner);
	if (d > sh->dropped[slot]) {
		count(sh, EC_FRAMES_DROPPED, (int64_t)(d - sh->dropped[slot]));
		sh->dropped[slot] = d;
	}
}

/* Retry the frames the other writers hold (lock held); counted. */
static void retry_others(struct store_share *sh, int self)
{
	for (int i = 0; i < STORE_SHARE_SINKS; i++) {
		struct lsink *o = (struct lsink *)sh->sinks[i];
		if (i == self || !o || !o->inner || sh->pending[i] == 0)
			continue;
		int r = sink_store_retry(o->inner);
		count_stored(sh, o->inner);
		sh->pending[i] = sink_store_pending(o->inner);
		if (r < 0)
			break; /* still no room */
	}
}

/* After the store was tried (lock held): counters, and one log line per
 * episode. */
static void note_flush(struct lsink *ls, int r)
{
	struct store_share *sh = ls->sh;
	char msg[256];
	count_stored(sh, ls->inner);
	count_dropped(sh, ls->slot, ls->inner);
	if (r < 0)
		count(sh, EC_STORE_ERRORS, 1);
	if (r == 0 && !ls->batching) {
		count(sh, EC_RECORDS_STORED, (int64_t)ls->records);
		ls->records = 0;
	}
	sh->pending[ls->slot] = sink_store_pending(ls->inner);
	if (r == 0)
		retry_others(sh, ls->slot);
	int pending = total_pending(sh);
	count(sh, EC_PENDING, pending);
	if (r == -ENOSPC && !sh->full) {
		sh->full = true;
		count(sh, EC_STORE_FULL, 1);
	}
	if (r < 0 && !sh->trouble) {
		sh->trouble = true;
		if (r == -ENOSPC) {
			log_error("store %s: disk full; %d frames pending (kept in memory, retried "
			          "at every crawl; reads still served)",
			          sh->path, pending);
			snprintf(msg, sizeof(msg), "store %s: disk full; %d frames pending",
			         sh->path, pending);
		} else {
			log_error("store %s: cannot store frames: %s; %d frames pending", sh->path,
			          strerror(-r), pending);
			snprintf(msg, sizeof(msg), "store %s: %s; %d frames pending", sh->path,
			         strerror(-r), pending);
		}
		say_error(sh, msg);
	} else if (r == 0 && sh->trouble && pending == 0) {
		sh->trouble = false;
		if (sh->full)
			count(sh, EC_STORE_FULL, 0);
		sh->full = false;
		uint64_t dropped = 0;
		for (int i = 0; i < STORE_SHARE_SINKS; i++)
			dropped += sh->dropped[i];
		if (dropped)
			log_warn(
			    "store %s: writing again; every pending frame is stored (%llu frames "
			    "dropped since start: the queue was full)",
			    sh->path, (unsigned long long)dropped);
		else
			log_warn("store %s: writing again; every pending frame is stored",
			         sh->path);
		say_error(sh, sh->lost[0] ? sh->lost : NULL);
	}
}

/*
 * Before storing (lock held): is the store's file still the one open?
 * When it was deleted (or replaced), writing on would put frames where
 * nobody sees them again: say so once, keep saying it (the health
 * endpoint's last_error) until exit, and open the store at its path again:
 * a new, empty store when the file was deleted.
 */
static void check_file(struct store_share *sh)
{
	int r = store_check(sh->st);
	if (r != -ESTALE)
		return; /* 0, or the path cannot be looked at now: carry on */
	char why[300];
	snprintf(why, sizeof(why), "%s", store_errmsg(sh->st));
	r = store_reopen(sh->st);
	if (r < 0) {
		if (!sh->reopen_failed) {
			log_error("store %s; cannot open a store there again: %s", why,
			          store_errmsg(sh->st));
			snprintf(sh->lost, sizeof(sh->lost), "store %s; cannot open it again", why);
			say_error(sh, sh->lost);
		}
		sh->reopen_failed = true;
		return;
	}
	sh->reopen_failed = false;
	log_error("store %s; frames now go to the store at that path (a new, empty one when "
	          "the file was deleted): what was stored before is not in it",
	          why);
	snprintf(sh->lost, sizeof(sh->lost),
	         "store %s; a store was opened at that path again (frames stored before are "
	         "not in it)",
	         why);
	say_error(sh, sh->lost);
}

static int lsink_flush(struct sink *s)
{
	struct lsink *ls = (struct lsink *)s;
	pthread_mutex_lock(&ls->sh->lock);
	int r = -ESHUTDOWN;
	if (!ls->sh->closed) {
		if (!ls->batching) /* a batch checks the file once, when it ends */
			check_file(ls->sh);
		r = sink_flush(ls->inner);
		note_flush(ls, r);
	}
	ls->in_frame = false;
	pthread_mutex_unlock(&ls->sh->lock);
	return r;
}

int locked_sink_batch(struct sink *s, bool on)
{
	if (!s || s->ops != &lsink_ops)
		return 0;
	struct lsink *ls = (struct lsink *)s;
	pthread_mutex_lock(&ls->sh->lock);
	int r = -ESHUTDOWN;
	if (!ls->sh->closed) {
		if (!on)
			check_file(ls->sh);
		ls->batching = on;
		r = sink_store_batch(ls->inner, on);
		if (!on)
			note_flush(ls, r);
	}
	pthread_mutex_unlock(&ls->sh->lock);
	return r;
}

static int lsink_begin_frame(struct sink *s, const struct frame_info *info)
{
	struct lsink *ls = (struct lsink *)s;
	pthread_mutex_lock(&ls->sh->lock);
	int r = ls->sh->closed ? -ESHUTDOWN : sink_begin_frame(ls->inner, info);
	pthread_mutex_unlock(&ls->sh->lock);
	return r;
}

/* Crawl errors are counted (vantage_crawl_errors_total) and said in the
 * log, each feature's first message with its system, at most
 * CRAWL_LOG_MAX lines a minute: a host whose every container fails the
 * same way does not flood the log (the first line of the next minute says
 * how many were left out).  Under sh->lock. */
#define CRAWL_LOG_MAX 10

static void log_crawl_errors(struct store_share *sh, const struct frame_summary *sum)
{
	int64_t now = mono_ns();
	if (now - sh->errlog_start_ns >= 60 * (int64_t)1000000000) {
		if (sh->errlog_left)
			log_warn("crawl: %llu more items not read in the minute before, not logged "
			         "one by one",
			         (unsigned long long)sh->errlog_left);
		sh->errlog_start_ns = now;
		sh->errlog_lines = 0;
		sh->errlog_left = 0;
	}
	for (int i = 0; i < sum->nfeatures; i++) {
		const struct frame_feature_summary *f = &sum->feature[i];
		if (!f->errors)
			continue;
		if (sh->errlog_lines >= CRAWL_LOG_MAX) {
			sh->errlog_left += f->errors;
			continue;
		}
		sh->errlog_lines++;
		/* the message names the guest's items: its control bytes would
		 * forge lines of the log */
		char m[FRAME_MSG_MAX]; /* a message's most: its start, its end and the reason */
		snprintf(m, sizeof(m), "%s", f->nmsg ? f->msg[0] : "(no message)");
		for (char *c = m; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		log_warn("crawl of %s, %s: %s%s", sum->sys ? sum->sys->id : "?", f->name, m,
		         f->errors > 1 ? " (and more in the frame's header)" : "");
	}
}

static int lsink_end_frame(struct sink *s, const struct frame_summary *sum)
{
	struct lsink *ls = (struct lsink *)s;
	pthread_mutex_lock(&ls->sh->lock);
	int r = -ESHUTDOWN;
	if (!ls->sh->closed) {
		if (sum->errors) {
			count(ls->sh, EC_CRAWL_ERRORS, (int64_t)sum->errors);
			log_crawl_errors(ls->sh, sum);
		}
		if (!sum->write_err)
			ls->records += sum->records;
		ls->in_frame = !sum->write_err;
		if (!ls->batching)
			check_file(ls->sh);
		r = sink_end_frame(ls->inner, sum); /* stores the frame, or adds it to the batch */
		note_flush(ls, r);
	}
	ls->in_frame = false;
	pthread_mutex_unlock(&ls->sh->lock);
	return r;
}

/* Sampled packets to the inner sink, under the lock. */
static int lsink_flows(struct sink *s, const struct sflow_flow *f, size_t n)
{
	struct lsink *ls = (struct lsink *)s;
	pthread_mutex_lock(&ls->sh->lock);
	int r = ls->sh->closed ? -ESHUTDOWN : sink_flows(ls->inner, f, n);
	pthread_mutex_unlock(&ls->sh->lock);
	return r;
}

/* Closed with the store (lock held by the caller), not freed. */
static void lsink_close(struct sink *s)
{
	struct lsink *ls = (struct lsink *)s;
	sink_close(ls->inner);
	ls->inner = NULL;
}

static const struct sink_ops lsink_ops = {
    .name = "store",
    .write = lsink_write,
    .write_fd = lsink_write_fd,
    .begin_frame = lsink_begin_frame,
    .end_frame = lsink_end_frame,
    .flows = lsink_flows,
    .flush = lsink_flush,
    .close = lsink_close,
};

int locked_sink_open(struct store_share *sh, int slot, struct sink **out)
{
	struct lsink *ls = calloc(1, sizeof(*ls));
	if (!ls)
		return -ENOMEM;
	int r = sink_store_open(sh->st, &ls->inner);
	if (r < 0) {
		free(ls);
		return r;
	}
	ls->base.ops = &lsink_ops;
	snprintf(ls->base.desc, sizeof(ls->base.desc), "store %s", sh->path);
	ls->sh = sh;
	ls->slot = slot;
	if (slot >= 0 && slot < STORE_SHARE_SINKS)
		sh->sinks[slot] = &ls->base;
	*out = &ls->base;
	return 0;
}

int store_share_close(struct store_share *sh, struct sink **sinks, const bool *free_them, int n)
{
	pthread_mutex_lock(&sh->lock);
	int pending = 0;
	for (int i = 0; i < n; i++) {
		struct lsink *ls = (struct lsink *)sinks[i];
		if (!ls)
			continue;
		if (ls->inner) {
			ls->batching = false; /* a batch left open by an abandoned lane */
			if (sink_store_pending(ls->inner) > 0 ||
			    sink_store_batch(ls->inner, false)) {
				note_flush(ls, sink_flush(ls->inner));
				pending += sink_store_pending(ls->inner);
			}
		}
		lsink_close(&ls->base);
		for (int k = 0; k < STORE_SHARE_SINKS; k++)
			if (sh->sinks[k] == &ls->base)
				sh->sinks[k] = NULL;
		if (free_them[i])
			free(ls);
		sinks[i] = NULL;
	}
	if (pending)
		log_error("store %s: %d frames could not be stored before exit", sh->path, pending);
	store_close(sh->st);
	sh->st = NULL;
	sh->closed = true;
	pthread_mutex_unlock(&sh->lock);
	return pending;
}
