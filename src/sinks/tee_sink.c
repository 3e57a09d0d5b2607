/*
 * tee_sink.c - the tee: every frame to each of several sinks (sinks.h).
 *
 * The daemon writes each frame to the store and to the sinks of --sink.
 * Members are independent: one that fails at begin_frame, a write or
 * end_frame gets nothing more of that frame, the others get all of it, and
 * the next frame is offered to every member again.  Failures are reported
 * once per episode (a member that starts failing; one that delivers again)
 * through the report callback, or logged.
 *
 * Invariants: in_frame is true from a begin_frame that some member took to
 * its end_frame; m->began and m->err describe the current (or last) frame
 * of each member; m->bad is the episode state the reports follow, with
 * m->flush_err keeping a member whose flushes fail in its episode.  With
 * SINK_TEE_LOCKED, `lock` is held from begin_frame to end_frame, and
 * around any call outside a frame; the report callback runs under it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../util/util.h"
#include "sinks.h"

struct member {
	struct sink *s;
	bool borrowed;
	bool began; /* took begin_frame of the current frame */
	int err;    /* its first error in the current frame, 0 if none */
	int flush_err;
	bool bad; /* reported failing, not yet reported delivering again */
};

struct tee_sink {
	struct sink base;
	unsigned flags;
	pthread_mutex_t lock;
	sink_report_fn report;
	void *ctx;
	struct member *m;
	int n, cap;
	bool in_frame;
};

static const struct sink_ops tee_sink_ops;

static void fail(struct tee_sink *t, struct member *m, int err)
{
	if (m->bad)
		return;
	m->bad = true;
	if (t->report)
		t->report(t->ctx, m->s, err);
	else
		log_warn("sink %s: %s; frames still go to the other sinks", m->s->desc,
		         strerror(-err));
}

static void recover(struct tee_sink *t, struct member *m)
{
	if (!m->bad)
		return;
	m->bad = false;
	if (t->report)
		t->report(t->ctx, m->s, 0);
	else
		log_warn("sink %s: delivering frames again", m->s->desc);
}

static void lock(struct tee_sink *t)
{
	if (t->flags & SINK_TEE_LOCKED)
		pthread_mutex_lock(&t->lock);
}

static void unlock(struct tee_sink *t)
{
	if (t->flags & SINK_TEE_LOCKED)
		pthread_mutex_unlock(&t->lock);
}

static int tee_begin_frame(struct sink *s, const struct frame_info *info)
{
	struct tee_sink *t = (struct tee_sink *)s;
	lock(t);
	int took = 0, first = 0;
	for (int i = 0; i < t->n; i++) {
		struct member *m = &t->m[i];
		m->err = sink_begin_frame(m->s, info);
		m->began = m->err == 0;
		if (m->err) {
			fail(t, m, m->err);
			if (!first)
				first = m->err;
		} else {
			took++;
		}
	}
	if (t->n && !took) {
		unlock(t); /* no end_frame follows */
		return first;
	}
	t->in_frame = true;
	return 0;
}

/* Whether a write goes to member m: outside frames (a writer that does
 * not mark them) every member; in a frame those still delivering it. */
static bool active(const struct tee_sink *t, const struct member *m)
{
	return !t->in_frame || (m->began && !m->err);
}

static int tee_deliver(struct tee_sink *t, const void *data, int fd, size_t len)
{
	if (!t->in_frame)
		lock(t);
	int ok = 0, first = 0;
	for (int i = 0; i < t->n; i++) {
		struct member *m = &t->m[i];
		if (!active(t, m))
			continue;
		int r = data ? sink_write(m->s, data, len) : sink_write_fd(m->s, fd, len);
		if (r < 0) {
			if (t->in_frame)
				m->err = r;
			fail(t, m, r);
			if (!first)
				first = r;
		} else {
			ok++;
		}
	}
	if (!t->in_frame)
		unlock(t);
	return ok || !t->n ? 0 : first;
}

static int tee_write(struct sink *s, const void *data, size_t len)
{
	return tee_deliver((struct tee_sink *)s, data, -1, len);
}

static int tee_write_fd(struct sink *s, int fd, size_t len)
{
	return tee_deliver((struct tee_sink *)s, NULL, fd, len);
}

static int tee_end_frame(struct sink *s, const struct frame_summary *sum)
{
	struct tee_sink *t = (struct tee_sink *)s;
	int first = 0;
	for (int i = 0; i < t->n; i++) {
		struct member *m = &t->m[i];
		if (m->began) {
			struct frame_summary ms = *sum;
			if (m->err) {
				ms.write_err = m->err;
				ms.bytes = 0;
			}
			int r = sink_end_frame(m->s, &ms);
			if (r < 0 && !m->err) {
				m->err = r;
				fail(t, m, r);
			}
			if (!m->err && !m->flush_err)
				recover(t, m);
		}
		if (m->err && !first)
			first = m->err;
	}
	t->in_frame = false;
	unlock(t);
	return first;
}

static int tee_flush(struct sink *s)
{
	struct tee_sink *t = (struct tee_sink *)s;
	lock(t);
	int first = 0;
	for (int i = 0; i < t->n; i++) {
		struct member *m = &t->m[i];
		int r = sink_flush(m->s);
		m->flush_err = r;
		if (r < 0) {
			fail(t, m, r);
			if (!first)
				first = r;
		}
	}
	unlock(t);
	return first;
}

/* Sampled packets to every member that takes them (between frames). */
static int tee_flows(struct sink *s, const struct sflow_flow *f, size_t n)
{
	struct tee_sink *t = (struct tee_sink *)s;
	lock(t);
	int first = 0;
	for (int i = 0; i < t->n; i++) {
		int r = sink_flows(t->m[i].s, f, n);
		if (r < 0 && !first)
			first = r;
	}
	unlock(t);
	return first;
}

static void tee_close(struct sink *s)
{
	struct tee_sink *t = (struct tee_sink *)s;
	for (int i = 0; i < t->n; i++)
		if (!t->m[i].borrowed)
			sink_close(t->m[i].s);
	if (t->flags & SINK_TEE_LOCKED)
		pthread_mutex_destroy(&t->lock);
	free(t->m);
	free(t);
}

int sink_tee_add(struct sink *s, struct sink *member, unsigned flags)
{
	struct tee_sink *t = (struct tee_sink *)s;
	if (s->ops != &tee_sink_ops || !member)
		return -EINVAL;
	if (t->n == t->cap) {
		int cap = t->cap ? t->cap * 2 : 4;
		struct member *m = realloc(t->m, (size_t)cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		t->m = m;
		t->cap = cap;
	}
	t->m[t->n++] = (struct member){.s = member, .borrowed = flags & SINK_TEE_BORROW};
	/* desc: "store /var/lib/vantage/db + stdout + ..." (cut to fit) */
	size_t l = strlen(s->desc);
	if (t->n > 1)
		copy_str(s->desc + l, sizeof(s->desc) - l, " + ", 3);
	l = strlen(s->desc);
	copy_str(s->desc + l, sizeof(s->desc) - l, member->desc, strlen(member->desc));
	return 0;
}

/* desc again from the members (after one is dropped) */
static void tee_desc(struct tee_sink *t)
{
	t->base.desc[0] = 0;
	for (int i = 0; i < t->n; i++) {
		size_t l = strlen(t->base.desc);
		if (i)
			copy_str(t->base.desc + l, sizeof(t->base.desc) - l, " + ", 3);
		l = strlen(t->base.desc);
		copy_str(t->base.desc + l, sizeof(t->base.desc) - l, t->m[i].s->desc,
		         strlen(t->m[i].s->desc));
	}
}

int sink_tee_drop(struct sink *s, struct sink *member)
{
	struct tee_sink *t = (struct tee_sink *)s;
	if (s->ops != &tee_sink_ops)
		return -EINVAL;
	for (int i = 0; i < t->n; i++) {
		if (t->m[i].s != member)
			continue;
		if (!t->m[i].borrowed)
			sink_close(member);
		memmove(&t->m[i], &t->m[i + 1], (size_t)(t->n - i - 1) * sizeof(*t->m));
		t->n--;
		tee_desc(t);
		return 0;
	}
	return -ENOENT;
}

int sink_tee_edit(struct sink *s, int (*fn)(void *ctx, struct sink *tee), void *ctx)
{
	struct tee_sink *t = (struct tee_sink *)s;
	if (s->ops != &tee_sink_ops)
		return -EINVAL;
	lock(t); /* between frames: no member is in one */
	int r = fn(ctx, s);
	unlock(t);
	return r;
}

int sink_tee_count(const struct sink *s)
{
	return s && s->ops == &tee_sink_ops ? ((const struct tee_sink *)s)->n : 0;
}

static const struct sink_ops tee_sink_ops = {
    .name = "tee",
    .begin_frame = tee_begin_frame,
    .write = tee_write,
    .write_fd = tee_write_fd,
    .end_frame = tee_end_frame,
    .flows = tee_flows,
    .flush = tee_flush,
    .close = tee_close,
};

int sink_tee_open(unsigned flags, sink_report_fn report, void *ctx, struct sink **out)
{
	struct tee_sink *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->base.ops = &tee_sink_ops;
	t->flags = flags;
	t->report = report;
	t->ctx = ctx;
	if (flags & SINK_TEE_LOCKED)
		pthread_mutex_init(&t->lock, NULL);
	*out = &t->base;
	return 0;
}
