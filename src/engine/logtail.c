/*
 * logtail.c - the log collector thread of `vantage serve` (see logtail.h).
 *
 * Ownership: everything below struct logtail belongs to the collector's
 * thread, except `pending` (the last discovery, under `lock`) and the
 * counters (atomics).  A file (struct lt_file) points at its system
 * (struct lt_sys) and at the root it is opened through; systems are freed
 * only when no file refers to them, right after a flush (the batch points
 * at their strings).
 *
 * A file's reading is logtail_file.c's; the state both share is in
 * logtail_int.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "../store/store.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "logtail_int.h"
#include "logtail_journal.h"

static const char *const kind_label[K_PULL0] = {"stdio", "file", "journal", "console"};

/* ---- the pulled sources ---------------------------------------------------------- */

const struct logtail_pull *const logtail_pulls[] = {
    NULL, /* a VM's kernel log ("kmsg") plugs in here */
};
#define PULLS_MAX (sizeof(logtail_pulls) / sizeof(logtail_pulls[0]))
_Static_assert(PULLS_MAX <= LT_PULLS_MAX, "room for the pulled sources in struct lt_sys");

static size_t npulls(void)
{
	size_t n = 0;
	while (n < PULLS_MAX && logtail_pulls[n])
		n++;
	return n;
}

/* ---- cursors -------------------------------------------------------------------------- */

int lt_cursor_find(struct logtail *t, const char *sys, const char *key, bool make)
{
	for (size_t i = 0; i < t->ncur; i++)
		if (strcmp(t->cur[i].key, key) == 0 && strcmp(t->cur[i].sys, sys) == 0)
			return (int)i;
	if (!make)
		return -1;
	if (grow_array((void **)&t->cur, &t->capcur, t->ncur + 1, sizeof(*t->cur)) < 0)
		return -1;
	t->cur[t->ncur] = (struct cursor_ent){.sys = xstrdup(sys), .key = xstrdup(key)};
	return (int)t->ncur++;
}

void lt_cursor_set(struct logtail *t, int i, const char *pos)
{
	if (i < 0)
		return;
	struct cursor_ent *c = &t->cur[i];
	if (c->pos && strcmp(c->pos, pos) == 0)
		return;
	free(c->pos);
	c->pos = xstrdup(pos);
	c->dirty = true;
}

static int load_cursor(void *ctx, const struct store_log_cursor *c)
{
	struct logtail *t = ctx;
	int i = lt_cursor_find(t, c->system_id, c->source, true);
	if (i >= 0) {
		free(t->cur[i].pos);
		t->cur[i].pos = xstrdup(c->pos);
	}
	return 0;
}

/* ---- counters ------------------------------------------------------------------------- */

void lt_count_line(struct logtail *t, int k, size_t bytes)
{
	atomic_fetch_add_explicit(&t->lines_c[k], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->bytes_c[k], bytes, memory_order_relaxed);
}

/* ---- the batch ------------------------------------------------------------------------ */

bool lt_batch_full(const struct logtail *t)
{
	return t->nlines >= (size_t)t->cfg.batch_lines || t->arena.len >= (16u << 20);
}

/* A record into the batch: escaped already (text, n). */
void lt_batch_add(struct logtail *t, const char *sys, const char *source, int64_t time_ms,
                  int level, const char *text, size_t n)
{
	if (t->nlines == t->caplines) {
		t->caplines = t->caplines ? t->caplines * 2 : 1024;
		t->lines = xrealloc(t->lines, t->caplines * sizeof(*t->lines));
	}
	t->lines[t->nlines++] = (struct batch_line){.sys = sys,
	                                            .source = source,
	                                            .time_ms = time_ms ? time_ms : t->now_ms,
	                                            .level = level,
	                                            .at = t->arena.len,
	                                            .len = n};
	buf_add(&t->arena, text, n);
	if (!t->batch_since)
		t->batch_since = mono_ns();
}

/* Store the batch and the dirty cursors in one transaction.  0, or a
 * negative errno (the batch is kept). */
static int flush(struct logtail *t)
{
	size_t nc = 0;
	for (size_t i = 0; i < t->ncur; i++)
		nc += t->cur[i].dirty;
	if (!t->nlines && !nc)
		return 0;
	struct store_log *l = t->nlines ? malloc(t->nlines * sizeof(*l)) : NULL;
	struct store_log_cursor *c = nc ? malloc(nc * sizeof(*c)) : NULL;
	if ((t->nlines && !l) || (nc && !c)) {
		free(l);
		free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->nlines; i++) {
		const struct batch_line *b = &t->lines[i];
		l[i] = (struct store_log){.system_id = b->sys,
		                          .source = b->source,
		                          .time_ms = b->time_ms,
		                          .level = b->level,
		                          .line = t->arena.data + b->at,
		                          .len = b->len};
	}
	size_t k = 0;
	for (size_t i = 0; i < t->ncur; i++)
		if (t->cur[i].dirty && c && k < nc)
			c[k++] = (struct store_log_cursor){.system_id = t->cur[i].sys,
			                                   .source = t->cur[i].key,
			                                   .pos = t->cur[i].pos};
	/* the arena holds lines without NULs between them: store_put_logs
	 * takes (line, len) */
	int r;
	pthread_mutex_lock(&t->store->lock);
	if (t->store->closed)
		r = -ESHUTDOWN;
	else
		r = store_put_logs(t->store->st, l, t->nlines, c, nc);
	pthread_mutex_unlock(&t->store->lock);
	free(l);
	free(c);
	if (r < 0) {
		if (!t->store_off)
			log_warn("logs: the store refused %zu lines: %s%s", t->nlines, strerror(-r),
			         r == -ENOTSUP ? " (this store keeps no logs)" : "; retrying");
		t->store_off = true;
		t->retry_at = mono_ns() + RETRY_NS;
		return r;
	}
	if (t->store_off)
		log_info("logs: the store takes lines again");
	t->store_off = false;
	for (size_t i = 0; i < t->ncur; i++)
		t->cur[i].dirty = false;
	t->nlines = 0;
	buf_reset(&t->arena);
	t->batch_since = 0;
	t->retry_at = 0;
	atomic_fetch_add(&t->batches, 1);
	return 0;
}

static struct lt_sys *sys_find(struct logtail *t, const char *id)
{
	for (size_t i = 0; i < t->nsys; i++)
		if (strcmp(t->sys[i]->id, id) == 0)
			return t->sys[i];
	return NULL;
}

static void sys_pulls_close(struct lt_sys *s)
{
	for (size_t k = 0; k < npulls(); k++) {
		if (s->pull_state[k])
			logtail_pulls[k]->close(s->pull_state[k]);
		s->pull_state[k] = NULL;
		s->pull_off[k] = false;
	}
}

static void apply_discovery(struct logtail *t, struct pend *p)
{
	for (size_t i = 0; i < t->nsys; i++)
		t->sys[i]->present = false;
	for (size_t i = 0; i < p->n; i++) {
		struct pend_sys *ps = &p->v[i];
		struct lt_sys *s = sys_find(t, ps->id);
		if (!s) {
			s = xcalloc(1, sizeof(*s));
			s->id = xstrdup(ps->id);
			s->init_pid = -1;
			for (size_t k = 0; k < LT_PULLS_MAX; k++)
				s->pull_cursor[k] = -1;
			if (grow_array((void **)&t->sys, &t->capsys, t->nsys + 1,
			               sizeof(struct lt_sys *)) < 0) {
				free(s->id);
				free(s);
				continue;
			}
			t->sys[t->nsys++] = s;
		}
		s->present = true;
		for (size_t k = 0; k < t->nfiles; k++) /* back (a container restarted) */
			if (t->files[k]->sys == s)
				t->files[k]->gone_seen = false;
		copy_str(s->kind, sizeof(s->kind), ps->kind, strlen(ps->kind));
		s->host = ps->host;
		s->have_vm = ps->have_vm;
		if (ps->have_vm)
			s->vm = ps->vm;
		/* the root its files are read through */
		struct fsroot *root = NULL;
		if (s->host) {
			root = t->host_root_ok ? &t->host_root : NULL;
		} else if (ps->init_pid > 0) {
			if (ps->init_pid != s->init_pid) {
				if (s->root_ok)
					fsroot_fini(&s->root);
				char rp[64];
				snprintf(rp, sizeof(rp), "/proc/%d/root", ps->init_pid);
				s->root_ok = fsroot_init(&s->root, rp) == 0;
				s->init_pid = ps->init_pid;
				/* the globs' directories are watched again in this root */
				for (size_t k = 0; k < t->ndirs; k++)
					if (t->dirs[k]->sys == s && t->dirs[k]->root == &s->root &&
					    !t->dirs[k]->dead) {
						inotify_rm_watch(t->ifd, t->dirs[k]->wd);
						t->dirs[k]->dead = true;
					}
			}
			root = s->root_ok ? &s->root : NULL;
		}
		/* stdio and console files: host paths */
		for (size_t k = 0; k < ps->srcs.n && t->host_root_ok; k++) {
			struct lt_file *f = lt_file_add(t, s, &t->host_root, &ps->srcs.v[k]);
			if (f)
				lt_watch_dir_of(t, f);
		}
		if (root && strcmp(s->kind, "vm") != 0) {
			for (int g = 0; g < t->nglobs; g++) {
				char dir[PATH_MAX];
				const char *pat;
				if (logsrc_glob_split(t->globs[g], dir, sizeof(dir), &pat) < 0)
					continue;
				struct lt_dir *d = lt_dir_add(t, s, root, dir, pat);
				if (d)
					lt_dir_scan(t, d);
			}
		}
		if (s->host && t->cfg.journal && !t->journal && !t->jfailed &&
		    (t->cfg.journal_dir ||
		     (t->host_root_ok && logsrc_has_journal(t->host_root.dirfd)))) {
			int jc = lt_cursor_find(t, s->id, "journal", true);
			struct ltj *j;
			int r = ltj_open(t->cfg.journal_dir, jc >= 0 ? t->cur[jc].pos : NULL, &j,
			                 &t->jfd);
			if (r < 0) {
				/* said once, not at every scan */
				log_warn("logs: cannot open the journal%s%s: %s",
				         t->cfg.journal_dir ? " in " : "",
				         t->cfg.journal_dir ? t->cfg.journal_dir : "",
				         strerror(-r));
				t->jfailed = true;
			} else {
				t->journal = j;
				t->jsys = s;
				s->refs++;
				t->jcur = jc;
				if (t->jfd >= 0) {
					struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 3};
					epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->jfd, &ev);
				}
				t->jready = true;
			}
		}
	}
	/* gone systems: their files are read to their end, then closed */
	for (size_t i = 0; i < t->nsys; i++) {
		struct lt_sys *s = t->sys[i];
		if (s->present)
			continue;
		sys_pulls_close(s);
		for (size_t k = 0; k < t->ndirs; k++)
			if (t->dirs[k]->sys == s && !t->dirs[k]->dead) {
				inotify_rm_watch(t->ifd, t->dirs[k]->wd);
				t->dirs[k]->dead = true;
			}
		for (size_t k = 0; k < t->nfiles; k++)
			if (t->files[k]->sys == s && !t->files[k]->gone_seen) {
				t->files[k]->gone_seen = true;
				t->files[k]->ready = true;
				t->files[k]->quiet_since = mono_ns();
			}
	}
}

/* Free what is done with (after a flush: the batch refers to nothing). */
static void collect(struct logtail *t)
{
	size_t w = 0;
	for (size_t i = 0; i < t->nfiles; i++) {
		struct lt_file *f = t->files[i];
		if (!f->dead) {
			t->files[w++] = f;
			continue;
		}
		f->sys->refs--;
		buf_free(&f->raw);
		buf_free(&f->part[0].b);
		buf_free(&f->part[1].b);
		buf_free(&f->rec);
		free(f);
	}
	t->nfiles = w;
	w = 0;
	for (size_t i = 0; i < t->ndirs; i++) {
		if (t->dirs[i]->dead)
			free(t->dirs[i]);
		else
			t->dirs[w++] = t->dirs[i];
	}
	t->ndirs = w;
	w = 0;
	for (size_t i = 0; i < t->nsys; i++) {
		struct lt_sys *s = t->sys[i];
		bool dirs = false;
		for (size_t k = 0; k < t->ndirs; k++)
			dirs |= t->dirs[k]->sys == s;
		if (s->present || s->refs > 0 || dirs) {
			t->sys[w++] = s;
			continue;
		}
		if (s->root_ok)
			fsroot_fini(&s->root);
		free(s->id);
		free(s);
	}
	t->nsys = w;
}

/* ---- the journal ------------------------------------------------------------------------ */

static void journal_read(struct logtail *t)
{
	if (!t->journal || !t->jready)
		return;
	bool any = false;
	while (!lt_batch_full(t)) {
		const char *msg;
		size_t n;
		int level;
		int64_t tm;
		if (ltj_next(t->journal, &msg, &n, &level, &tm) <= 0) {
			t->jready = false;
			break;
		}
		any = true;
		buf_reset(&t->esc);
		if (lt_escape_cut(t, &t->esc, msg, n, 0))
			atomic_fetch_add_explicit(&t->trunc_c[K_JOURNAL], 1, memory_order_relaxed);
		lt_batch_add(t, t->jsys->id, "journal", tm, level, t->esc.data, t->esc.len);
		lt_count_line(t, K_JOURNAL, t->esc.len);
	}
	if (any) {
		char *c = ltj_cursor(t->journal);
		if (c)
			lt_cursor_set(t, t->jcur, c);
		free(c);
	}
}

/* ---- pulled sources ---------------------------------------------------------------------- */

struct logtail_out {
	struct logtail *t;
	struct lt_sys *s;
	const char *source;
	int kidx;
	int cur;
};

int logtail_emit(struct logtail_out *o, int64_t time_ms, int level, const char *line, size_t len)
{
	struct logtail *t = o->t;
	if (lt_batch_full(t))
		return -ENOBUFS;
	buf_reset(&t->esc);
	if (lt_escape_cut(t, &t->esc, line, len, 0))
		atomic_fetch_add_explicit(&t->trunc_c[o->kidx], 1, memory_order_relaxed);
	lt_batch_add(t, o->s->id, o->source, time_ms, level, t->esc.data, t->esc.len);
	lt_count_line(t, o->kidx, t->esc.len);
	return 0;
}

void logtail_set_cursor(struct logtail_out *o, const char *pos)
{
	lt_cursor_set(o->t, o->cur, pos);
}

static int64_t pulls_run(struct logtail *t, int64_t now)
{
	int64_t next = 0;
	for (size_t i = 0; i < t->nsys; i++) {
		struct lt_sys *s = t->sys[i];
		if (!s->present)
			continue;
		for (size_t k = 0; k < npulls(); k++) {
			const struct logtail_pull *p = logtail_pulls[k];
			if (s->pull_off[k] || strcmp(p->kind, s->kind) != 0)
				continue;
			if (s->pull_next[k] > now) {
				if (!next || s->pull_next[k] < next)
					next = s->pull_next[k];
				continue;
			}
			s->pull_next[k] = now + (int64_t)p->interval_ms * 1000000;
			if (!next || s->pull_next[k] < next)
				next = s->pull_next[k];
			if (!s->pull_state[k]) {
				struct logtail_system ls = {.id = s->id,
				                            .kind = s->kind,
				                            .init_pid = s->init_pid,
				                            .vm = s->have_vm ? &s->vm : NULL};
				int r = p->open(&ls, t->proc_fd, &s->pull_state[k]);
				if (r == -ENOTSUP)
					s->pull_off[k] = true;
				if (r < 0)
					continue;
			}
			if (s->pull_cursor[k] < 0)
				s->pull_cursor[k] = lt_cursor_find(t, s->id, p->source, true);
			struct logtail_out o = {.t = t,
			                        .s = s,
			                        .source = p->source,
			                        .kidx = K_PULL0 + (int)k < NKIND ? K_PULL0 + (int)k
			                                                         : NKIND - 1,
			                        .cur = s->pull_cursor[k]};
			const char *c = o.cur >= 0 ? t->cur[o.cur].pos : NULL;
			int r = p->read(s->pull_state[k], c, &o);
			if (r < 0)
				log_debug("logs: %s %s: %s", s->id, p->source, strerror(-r));
		}
	}
	return next;
}

/* ---- the thread --------------------------------------------------------------------------- */

static void handle_inotify(struct logtail *t)
{
	char ev[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(t->ifd, ev, sizeof(ev));
		if (n <= 0)
			return;
		for (char *p = ev; p < ev + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				for (size_t i = 0; i < t->nfiles; i++) {
					t->files[i]->ready = true;
					lt_check_rotation(t, t->files[i]);
				}
				for (size_t i = 0; i < t->ndirs; i++)
					lt_dir_scan(t, t->dirs[i]);
				continue;
			}
			bool dir = false;
			for (size_t i = 0; i < t->ndirs; i++) {
				if (t->dirs[i]->wd != e->wd || t->dirs[i]->dead)
					continue;
				dir = true;
				if (e->len)
					lt_dir_event(t, t->dirs[i], e->name);
			}
			if (dir)
				continue;
			for (size_t i = 0; i < t->nfiles; i++)
				if (t->files[i]->wd == e->wd)
					t->files[i]->ready = true;
		}
	}
}

static void take_pending(struct logtail *t)
{
	pthread_mutex_lock(&t->lock);
	struct pend *p = t->pending;
	t->pending = NULL;
	pthread_mutex_unlock(&t->lock);
	if (!p)
		return;
	apply_discovery(t, p);
	for (size_t i = 0; i < p->n; i++)
		logsrc_list_free(&p->v[i].srcs);
	free(p->v);
	free(p);
}

/* Read every ready file; returns true when some are still ready. */
static bool read_files(struct logtail *t, char *buf)
{
	bool more = false;
	for (size_t i = 0; i < t->nfiles; i++) {
		struct lt_file *f = t->files[i];
		if (!f->ready || f->dead)
			continue;
		if (lt_batch_full(t)) {
			more = true;
			break;
		}
		bool done = lt_file_read(t, f, buf);
		f->ready = !done;
		more |= !done;
	}
	return more;
}

/* Timed work: drains, multi-line records, gone systems' files.  Returns
 * the next deadline (mono ns), 0 for none. */
static int64_t timers(struct logtail *t, char *buf)
{
	int64_t now = mono_ns(), next = 0;
#define NEXT(x)                                                                                    \
	do {                                                                                       \
		if (!next || (x) < next)                                                           \
			next = (x);                                                                \
	} while (0)
	for (size_t i = 0; i < t->nfiles; i++) {
		struct lt_file *f = t->files[i];
		if (f->dead)
			continue;
		if (f->draining) {
			if (now >= f->drain_until)
				lt_drain_done(t, f, buf);
			else
				NEXT(f->drain_until);
		}
		if (f->rec_open) {
			int64_t at = f->rec_mono + MULTILINE_IDLE_NS;
			if (now >= at) {
				lt_rec_emit(t, f);
				lt_set_pend(f, f->last_end);
				lt_file_cursor(t, f);
			} else {
				NEXT(at);
			}
		}
		if (f->gone_seen && !f->sys->present) {
			int64_t at = f->quiet_since + GONE_QUIET_NS;
			if (now >= at) {
				(void)lt_file_read(t, f, buf);
				lt_file_finish(t, f);
				lt_file_cursor(t, f);
				lt_close_fd(t, f);
				f->dead = true;
			} else {
				NEXT(at);
			}
		}
	}
	if (t->batch_since)
		NEXT(t->batch_since + (int64_t)t->cfg.batch_ms * 1000000);
	if (t->retry_at)
		NEXT(t->retry_at);
	int64_t p = pulls_run(t, now);
	if (p)
		NEXT(p);
#undef NEXT
	return next;
}

static bool dirty_cursors(const struct logtail *t)
{
	for (size_t i = 0; i < t->ncur; i++)
		if (t->cur[i].dirty)
			return true;
	return false;
}

static bool want_stop(struct logtail *t)
{
	pthread_mutex_lock(&t->lock);
	bool s = t->stop;
	pthread_mutex_unlock(&t->lock);
	return s;
}

static void *thread_main(void *arg)
{
	struct logtail *t = arg;
	char *buf = xmalloc(READ_CHUNK);
	bool more = false;
	for (;;) {
		int64_t next = timers(t, buf);
		int timeout = -1;
		if (more) {
			timeout = 0;
		} else if (next) {
			int64_t d = next - mono_ns();
			timeout = d <= 0 ? 0 : (int)((d + 999999) / 1000000);
		}
		struct epoll_event ev[8];
		int n = epoll_wait(t->epfd, ev, 8, timeout);
		if (n < 0 && errno != EINTR)
			break;
		t->now_ms = now_ns() / 1000000;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == 1) {
				uint64_t x;
				(void)!read(t->efd, &x, sizeof(x));
			} else if (ev[i].data.u64 == 2) {
				handle_inotify(t);
			} else if (ev[i].data.u64 == 3) {
				if (t->journal && ltj_process(t->journal))
					t->jready = true;
			}
		}
		if (want_stop(t))
			break;
		take_pending(t);
		bool blocked = t->retry_at && mono_ns() < t->retry_at;
		more = false;
		if (!blocked || !lt_batch_full(t)) {
			more = read_files(t, buf);
			journal_read(t);
			more |= t->jready;
		}
		int64_t now = mono_ns();
		bool due =
		    t->batch_since && now >= t->batch_since + (int64_t)t->cfg.batch_ms * 1000000;
		if ((lt_batch_full(t) || due || (!t->nlines && dirty_cursors(t) && !more)) &&
		    (!t->retry_at || now >= t->retry_at)) {
			if (flush(t) == 0)
				collect(t);
			else
				more = false; /* wait for the retry */
		} else if (!t->nlines && !dirty_cursors(t)) {
			/* no batch refers to anything: what is done with goes now, not
			 * at the next flush (a quiet host never flushes, and each gone
			 * container's root descriptor and state stayed) */
			collect(t);
		}
		if (blocked)
			more = false;
	}
	/* what is complete is stored; open records are read again next time */
	for (size_t i = 0; i < t->nfiles; i++)
		lt_file_cursor(t, t->files[i]);
	if (flush(t) < 0 && t->nlines)
		log_warn("logs: %zu lines not stored at exit (read again at the next start)",
		         t->nlines);
	free(buf);
	return NULL;
}

/* ---- set-up ---------------------------------------------------------------------------------- */

static int parse_multiline(struct logtail *t)
{
	t->ml = xcalloc((size_t)t->cfg.nmultiline + 1, sizeof(*t->ml));
	for (int i = 0; i < t->cfg.nmultiline; i++) {
		const char *s = t->cfg.multiline[i];
		const char *arrow = strstr(s, "=>");
		struct ml_rule *m = &t->ml[t->nml];
		const char *re = s;
		if (arrow) {
			m->glob = xstrndup(s, (size_t)(arrow - s));
			re = arrow + 2;
			size_t gl = strlen(m->glob);
			while (gl && m->glob[gl - 1] == ' ')
				m->glob[--gl] = 0;
			while (*re == ' ')
				re++;
		}
		int r = regcomp(&m->re, re, REG_EXTENDED | REG_NOSUB);
		if (r) {
			char e[200];
			regerror(r, &m->re, e, sizeof(e));
			log_error("logs: multiline_start '%s': %s", s, e);
			free(m->glob);
			return -EINVAL;
		}
		t->nml++;
	}
	return 0;
}

static void free_all(struct logtail *t)
{
	for (size_t i = 0; i < t->nfiles; i++) {
		struct lt_file *f = t->files[i];
		if (f->fd >= 0)
			close(f->fd);
		buf_free(&f->raw);
		buf_free(&f->part[0].b);
		buf_free(&f->part[1].b);
		buf_free(&f->rec);
		free(f);
	}
	free(t->files);
	for (size_t i = 0; i < t->ndirs; i++)
		free(t->dirs[i]);
	free(t->dirs);
	for (size_t i = 0; i < t->nsys; i++) {
		sys_pulls_close(t->sys[i]);
		if (t->sys[i]->root_ok)
			fsroot_fini(&t->sys[i]->root);
		free(t->sys[i]->id);
		free(t->sys[i]);
	}
	free(t->sys);
	for (size_t i = 0; i < t->ncur; i++) {
		free(t->cur[i].sys);
		free(t->cur[i].key);
		free(t->cur[i].pos);
	}
	free(t->cur);
	for (int i = 0; i < t->nml; i++) {
		regfree(&t->ml[i].re);
		free(t->ml[i].glob);
	}
	free(t->ml);
	ltj_close(t->journal);
	if (t->host_root_ok)
		fsroot_fini(&t->host_root);
	buf_free(&t->arena);
	buf_free(&t->scratch);
	buf_free(&t->esc);
	free(t->lines);
	if (t->pending) {
		for (size_t i = 0; i < t->pending->n; i++)
			logsrc_list_free(&t->pending->v[i].srcs);
		free(t->pending->v);
		free(t->pending);
	}
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->ifd >= 0)
		close(t->ifd);
	if (t->efd >= 0)
		close(t->efd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int logtail_start(const struct logtail_config *cfg, struct store_share *store, int proc_fd,
                  struct logtail **out)
{
	*out = NULL;
	struct logtail *t = xcalloc(1, sizeof(*t));
	t->cfg = *cfg;
	if (!t->cfg.batch_lines)
		t->cfg.batch_lines = 1000;
	if (!t->cfg.batch_ms)
		t->cfg.batch_ms = 200;
	t->max_line = cfg->max_line ? cfg->max_line : LOGFMT_MAX_LINE_DEFAULT;
	if (t->max_line < LOGFMT_MAX_LINE_MIN)
		t->max_line = LOGFMT_MAX_LINE_MIN;
	if (cfg->globs) {
		for (int i = 0; i < cfg->nglobs && i < LOGTAIL_MAX_GLOBS; i++)
			t->globs[t->nglobs++] = cfg->globs[i];
	} else {
		for (int i = 0; logsrc_default_globs[i]; i++)
			t->globs[t->nglobs++] = logsrc_default_globs[i];
	}
	t->store = store;
	t->proc_fd = proc_fd;
	t->efd = t->ifd = t->epfd = t->jfd = -1;
	t->jcur = -1;
	pthread_mutex_init(&t->lock, NULL);
	t->arena = (struct buf)BUF_INIT;
	t->scratch = (struct buf)BUF_INIT;
	t->esc = (struct buf)BUF_INIT;
	time_t now = time(NULL);
	struct tm lt;
	if (localtime_r(&now, &lt))
		t->tz_off_s = (int)lt.tm_gmtoff;
	int r = parse_multiline(t);
	if (r < 0) {
		free_all(t);
		return r;
	}
	t->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->efd < 0 || t->ifd < 0 || t->epfd < 0) {
		r = -errno;
		log_error("logs: cannot set up inotify, eventfd or epoll: %s", strerror(-r));
		free_all(t);
		return r;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
	epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->efd, &ev);
	ev.data.u64 = 2;
	epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->ifd, &ev);
	t->host_root_ok = fsroot_init(&t->host_root, "/") == 0;
	/* the cursors kept */
	pthread_mutex_lock(&store->lock);
	r = store->closed ? -ESHUTDOWN : store_log_cursors(store->st, load_cursor, t);
	pthread_mutex_unlock(&store->lock);
	if (r < 0)
		log_warn("logs: cannot read the stored cursors: %s%s", strerror(-r),
		         r == -ENOTSUP ? " (this store keeps no logs)" : "");
	t->now_ms = now_ns() / 1000000;
	if ((r = pthread_create(&t->tid, NULL, thread_main, t)) != 0) {
		log_error("logs: cannot start the collector: %s", strerror(r));
		free_all(t);
		return -r;
	}
	pthread_setname_np(t->tid, "vt-logtail"); /* its CPU is measured by bench/logs_ingest.sh */
	t->started = true;
	*out = t;
	return 0;
}

void logtail_stop(struct logtail *t)
{
	if (!t || !t->started)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_mutex_unlock(&t->lock);
	uint64_t one = 1;
	(void)!write(t->efd, &one, sizeof(one));
	pthread_join(t->tid, NULL);
	t->started = false;
}

void logtail_free(struct logtail *t)
{
	if (!t)
		return;
	logtail_stop(t);
	free_all(t);
}

/* ---- discovery (from a lane) ------------------------------------------------------------------
 */

void logtail_discovered(void *arg, const struct target_set *set)
{
	struct logtail *t = arg;
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	bool stopped = t->stop;
	pthread_mutex_unlock(&t->lock);
	if (stopped)
		return;
	struct pend *p = xcalloc(1, sizeof(*p));
	p->v = xcalloc((size_t)set->n + 1, sizeof(*p->v));
	int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < set->n; i++) {
		const struct target *tg = &set->v[i];
		struct pend_sys *ps = &p->v[p->n];
		copy_str(ps->id, sizeof(ps->id), tg->sys.id, strlen(tg->sys.id));
		copy_str(ps->kind, sizeof(ps->kind), tg->kind->name, strlen(tg->kind->name));
		ps->host = tg->kind == &kind_host;
		if (tg->kind == &kind_container && tg->obj) {
			const struct container *c = tg->obj;
			ps->init_pid = c->init_pid;
			if (root_fd >= 0 && logsrc_container(t->proc_fd, root_fd, c, &ps->srcs) < 0)
				continue;
		} else if (tg->kind == &kind_vm && tg->obj) {
			const struct vm_target *v = tg->obj;
			ps->vm = *v;
			ps->have_vm = true;
			if (logsrc_vm(t->proc_fd, v, &ps->srcs) < 0)
				continue;
		} else if (!ps->host) {
			continue;
		}
		p->n++;
	}
	if (root_fd >= 0)
		close(root_fd);
	pthread_mutex_lock(&t->lock);
	struct pend *old = t->pending;
	t->pending = p;
	pthread_mutex_unlock(&t->lock);
	if (old) {
		for (size_t i = 0; i < old->n; i++)
			logsrc_list_free(&old->v[i].srcs);
		free(old->v);
		free(old);
	}
	uint64_t one = 1;
	(void)!write(t->efd, &one, sizeof(one));
}

/* ---- counters -----------------------------------------------------------------------------------
 */

static const char *kidx_label(int k)
{
	if (k < K_PULL0)
		return kind_label[k];
	size_t p = (size_t)(k - K_PULL0);
	return p < npulls() ? logtail_pulls[p]->source : NULL;
}

void logtail_metrics(void *arg, struct buf *out)
{
	struct logtail *t = arg;
	if (!t)
		return;
	static const struct {
		const char *name, *help;
		size_t off;
	} fam[] = {
	    {"vantage_logs_lines_total", "Log lines collected, by kind of source.",
	     offsetof(struct logtail, lines_c)},
	    {"vantage_logs_bytes_total", "Bytes of the log lines collected (as stored).",
	     offsetof(struct logtail, bytes_c)},
	    {"vantage_logs_truncated_total", "Log lines cut at the line limit.",
	     offsetof(struct logtail, trunc_c)},
	    {"vantage_logs_refused_total",
	     "Log files refused: a FIFO, device or directory in a log file's place.",
	     offsetof(struct logtail, refused_c)},
	};
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		const atomic_uint_fast64_t *c =
		    (const atomic_uint_fast64_t *)(const void *)((const char *)t + fam[i].off);
		buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", fam[i].name, fam[i].help,
		           fam[i].name);
		for (int k = 0; k < NKIND; k++) {
			const char *l = kidx_label(k);
			if (l)
				buf_printf(out, "%s{source=\"%s\"} %llu\n", fam[i].name, l,
				           (unsigned long long)atomic_load(&c[k]));
		}
	}
}

void logtail_counts(struct logtail *t, struct logtail_counts *out)
{
	memset(out, 0, sizeof(*out));
	for (int k = 0; k < NKIND; k++) {
		out->lines += atomic_load(&t->lines_c[k]);
		out->bytes += atomic_load(&t->bytes_c[k]);
		out->truncated += atomic_load(&t->trunc_c[k]);
		out->refused += atomic_load(&t->refused_c[k]);
	}
	out->stored_batches = atomic_load(&t->batches);
}
