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
 * Offsets of a file:
 *   off       bytes read from the fd so far
 *   last_end  the end of the last complete line ('\n' included)
 *   pend_off  the cursor: every record before it has been emitted into the
 *             batch (or stored); the open multi-line record or joined
 *             partial line starts there
 */
#include "logtail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../store/store.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "../views/fsroot.h"
#include "logtail_journal.h"

#define READ_CHUNK (64u << 10)
#define FILE_BUDGET (1u << 20)     /* bytes read from one file before the others */
#define DRAIN_QUIET_NS 500000000LL /* a rotated file quiet this long is done */
#define GONE_QUIET_NS 2000000000LL /* a gone system's file quiet this long is closed */
#define MULTILINE_IDLE_NS 1000000000LL
#define RETRY_NS 1000000000LL
#define HEAD_MAX 64
#define NKIND 8

enum { K_STDIO, K_FILE, K_JOURNAL, K_CONSOLE, K_PULL0 };
static const char *const kind_label[K_PULL0] = {"stdio", "file", "journal", "console"};

/* ---- the pulled sources ---------------------------------------------------------- */

const struct logtail_pull *const logtail_pulls[] = {
    NULL, /* a VM's kernel log ("kmsg") plugs in here */
};
#define PULLS_MAX (sizeof(logtail_pulls) / sizeof(logtail_pulls[0]))

static size_t npulls(void)
{
	size_t n = 0;
	while (n < PULLS_MAX && logtail_pulls[n])
		n++;
	return n;
}

/* ---- state ---------------------------------------------------------------------- */

struct cursor_ent {
	char *sys, *key, *pos;
	bool dirty;
};

struct ml_rule {
	char *glob; /* NULL: every source */
	regex_t re;
};

struct lt_sys {
	char *id;
	char kind[16];
	int init_pid;
	bool host, present, have_vm;
	struct vm_target vm;
	struct fsroot root; /* its files' root (host: "/") */
	bool root_ok;
	void *pull_state[PULLS_MAX];
	bool pull_off[PULLS_MAX];
	int64_t pull_next[PULLS_MAX];
	int pull_cursor[PULLS_MAX]; /* cursor_ent index, -1 */
	int refs;                   /* files pointing here */
};

struct lt_dir {
	struct lt_sys *sys;
	struct fsroot *root;
	char path[PATH_MAX];
	const char *pattern; /* a glob's last component, NULL: rotation only */
	int wd;
	bool dead;
};

struct lt_file {
	struct lt_sys *sys;
	struct fsroot *root;
	struct logsrc src;
	char lsource[PATH_MAX + 16]; /* the lines' source (stdio: by stream) */
	int kidx;
	int cur; /* cursor_ent index */
	int fd, wd;
	dev_t dev;
	ino_t ino;
	uint64_t off, last_end, pend_off;
	uint32_t hlen;
	uint64_t hash;
	bool ready, draining, gone_seen, dead;
	bool refused;
	dev_t rdev;
	ino_t rino;
	int64_t quiet_since; /* mono ns of the last byte read */
	int64_t drain_until;
	bool truncated_pending;
	/* line assembly */
	struct buf raw; /* the current line so far, at most raw_max bytes */
	uint64_t raw_cut;
	struct lt_part { /* joined partial records (raw), per stream */
		struct buf b;
		uint64_t cut, start;
		int64_t time;
	} part[2];
	struct buf rec; /* the open multi-line record, escaped */
	uint64_t rec_cut, rec_start;
	bool rec_open;
	int rec_stream, rec_level;
	int64_t rec_time, rec_mono;
	const regex_t *ml;
};

struct pend_sys {
	char id[512];
	char kind[16];
	int init_pid;
	bool host, have_vm;
	struct vm_target vm;
	struct logsrc_list srcs;
};

struct pend {
	struct pend_sys *v;
	size_t n;
};

struct batch_line {
	const char *sys, *source;
	int64_t time_ms;
	int level;
	size_t at, len; /* in arena */
};

struct logtail {
	struct logtail_config cfg;
	const char *globs[LOGTAIL_MAX_GLOBS];
	struct ml_rule *ml;
	size_t max_line;
	struct store_share *store;
	pthread_t tid;
	pthread_mutex_t lock;
	struct pend *pending; /* under lock */

	struct fsroot host_root;
	struct lt_sys **sys;
	size_t nsys, capsys;
	struct lt_dir **dirs;
	size_t ndirs, capdirs;
	struct lt_file **files;
	size_t nfiles, capfiles;
	struct cursor_ent *cur;
	size_t ncur, capcur;
	struct ltj *journal;
	struct lt_sys *jsys;

	struct buf arena;
	struct batch_line *lines;
	size_t nlines, caplines;
	int64_t batch_since; /* mono ns of the first line of the batch, 0: empty */
	int64_t retry_at;
	struct buf scratch, esc, msgbuf;
	int64_t now_ms; /* wall clock at the current wake-up */

	atomic_uint_fast64_t lines_c[NKIND], bytes_c[NKIND], trunc_c[NKIND], refused_c[NKIND];
	atomic_uint_fast64_t batches;

	int nglobs, nml;
	int proc_fd;
	int efd, ifd, epfd;
	int jfd, jcur;
	int tz_off_s;
	bool started;
	bool stop; /* under lock */
	bool host_root_ok;
	bool jready;
	bool store_off; /* the store cannot keep logs: said once */
};

/* ---- cursors -------------------------------------------------------------------------- */

static int cursor_find(struct logtail *t, const char *sys, const char *key, bool make)
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

static void cursor_set(struct logtail *t, int i, const char *pos)
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
	int i = cursor_find(t, c->system_id, c->source, true);
	if (i >= 0) {
		free(t->cur[i].pos);
		t->cur[i].pos = xstrdup(c->pos);
	}
	return 0;
}

/* ---- counters ------------------------------------------------------------------------- */

static void count_line(struct logtail *t, int k, size_t bytes)
{
	atomic_fetch_add_explicit(&t->lines_c[k], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->bytes_c[k], bytes, memory_order_relaxed);
}

/* ---- the batch ------------------------------------------------------------------------ */

static bool batch_full(const struct logtail *t)
{
	return t->nlines >= (size_t)t->cfg.batch_lines || t->arena.len >= (16u << 20);
}

/* A record into the batch: escaped already (text, n). */
static void batch_add(struct logtail *t, const char *sys, const char *source, int64_t time_ms,
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

/* Escape and cut `msg` into out: at most max_line bytes with the marker. */
static bool escape_cut(struct logtail *t, struct buf *out, const char *msg, size_t n, uint64_t more)
{
	char mark[LOGFMT_CUT_MARK_MAX];
	size_t room = t->max_line > out->len ? t->max_line - out->len : 0;
	size_t used = logfmt_escape(out, msg, n, room);
	if (used < n || more) {
		/* make room for the marker: cut back to a character boundary */
		size_t ml = logfmt_cut_mark(mark, sizeof(mark), more + (n - used));
		size_t keep = t->max_line > ml ? t->max_line - ml : 0;
		while (out->len > keep) {
			out->len--;
			/* never end inside a "\xNN" escape or a UTF-8 sequence */
			while (out->len && (((unsigned char)out->data[out->len] & 0xc0) == 0x80))
				out->len--;
		}
		for (size_t k = out->len >= 3 ? out->len - 3 : 0; k < out->len; k++)
			if (out->data[k] == '\\' && k + 1 < out->len && out->data[k + 1] == 'x')
				out->len = k;
		out->data[out->len] = 0;
		ml = logfmt_cut_mark(mark, sizeof(mark), more + (n - used));
		buf_add(out, mark, ml);
		return true;
	}
	return false;
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
		if (t->cur[i].dirty)
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

/* ---- emitting records ------------------------------------------------------------------- */

static const char *line_source(struct lt_file *f, int stream)
{
	if (f->src.type == LOGSRC_STDIO)
		return stream == LOGFMT_STDERR ? "stderr" : "stdout";
	return f->lsource;
}

/* The open multi-line record into the batch. */
static void rec_emit(struct logtail *t, struct lt_file *f)
{
	if (!f->rec_open)
		return;
	if (f->rec_cut) {
		/* the cut was counted when it happened; the marker says how much */
		char mark[LOGFMT_CUT_MARK_MAX];
		size_t ml = logfmt_cut_mark(mark, sizeof(mark), f->rec_cut);
		if (f->rec.len + ml > t->max_line)
			f->rec.len = t->max_line > ml ? t->max_line - ml : 0;
		buf_add(&f->rec, mark, ml);
	}
	batch_add(t, f->sys->id, line_source(f, f->rec_stream), f->rec_time, f->rec_level,
	          f->rec.data, f->rec.len);
	count_line(t, f->kidx, f->rec.len);
	f->rec_open = false;
	buf_reset(&f->rec);
	f->rec_cut = 0;
}

static bool part_open(const struct lt_part *p)
{
	return p->b.len || p->cut;
}

static void set_pend(struct lt_file *f, uint64_t end)
{
	uint64_t p = f->rec_open ? f->rec_start : end;
	for (int k = 0; k < 2; k++)
		if (part_open(&f->part[k]) && f->part[k].start < p)
			p = f->part[k].start;
	f->pend_off = p;
}

/* A complete message (framing removed, partials joined) that starts at
 * file offset `start`. */
static void message(struct logtail *t, struct lt_file *f, const char *msg, size_t n, uint64_t cut,
                    int stream, int64_t time_ms, uint64_t start)
{
	bool starts;
	buf_reset(&t->esc);
	bool was_cut = escape_cut(t, &t->esc, msg, n, cut);
	if (was_cut)
		atomic_fetch_add_explicit(&t->trunc_c[f->kidx], 1, memory_order_relaxed);
	if (f->ml && f->rec_open)
		starts = regexec(f->ml, t->esc.data, 0, NULL, 0) == 0;
	else
		starts = true;
	if (!starts) {
		/* a continuation line: joined with "\n" */
		if (f->rec.len + 1 + t->esc.len <= t->max_line) {
			buf_addc(&f->rec, '\n');
			buf_add(&f->rec, t->esc.data, t->esc.len);
		} else {
			if (!f->rec_cut)
				atomic_fetch_add_explicit(&t->trunc_c[f->kidx], 1,
				                          memory_order_relaxed);
			f->rec_cut += 1 + t->esc.len;
		}
		f->rec_mono = mono_ns();
		return;
	}
	rec_emit(t, f);
	struct logfmt_rec r = {.level = -1};
	(void)logfmt_message(msg, n, t->now_ms, t->tz_off_s, &r);
	int64_t tm = time_ms ? time_ms : r.time_ms;
	if (!f->ml) {
		batch_add(t, f->sys->id, line_source(f, stream), tm, r.level, t->esc.data,
		          t->esc.len);
		count_line(t, f->kidx, t->esc.len);
		return;
	}
	f->rec_open = true;
	f->rec_start = start;
	f->rec_stream = stream;
	f->rec_level = r.level;
	f->rec_time = tm;
	f->rec_mono = mono_ns();
	buf_reset(&f->rec);
	buf_add(&f->rec, t->esc.data, t->esc.len);
}

/* One complete raw line [start, end) of the file (without its '\n'). */
static void raw_line(struct logtail *t, struct lt_file *f, const char *line, size_t n, uint64_t cut,
                     uint64_t start, uint64_t end)
{
	struct logfmt_rec r = {.level = -1};
	int ok = -EINVAL;
	if (!cut && f->src.frame == LOGFMT_K8S)
		ok = logfmt_k8s(line, n, &r);
	else if (!cut && f->src.frame == LOGFMT_DOCKER)
		ok = logfmt_docker(line, n, &t->scratch, &r);
	if (ok < 0) { /* plain, or a line the runtime did not frame */
		r = (struct logfmt_rec){
		    .level = -1, .stream = LOGFMT_STDOUT, .msg = line, .len = n};
	} else {
		cut = 0;
	}
	struct lt_part *pt = &f->part[r.stream == LOGFMT_STDERR];
	if (r.partial || part_open(pt)) {
		if (!part_open(pt)) {
			pt->start = start;
			pt->time = r.time_ms;
		}
		size_t room = t->max_line * 4 > pt->b.len ? t->max_line * 4 - pt->b.len : 0;
		size_t take = r.len < room ? r.len : room;
		buf_add(&pt->b, r.msg, take);
		pt->cut += r.len - take + cut;
		if (r.partial) {
			set_pend(f, end);
			return;
		}
		message(t, f, pt->b.data, pt->b.len, pt->cut, r.stream, pt->time, pt->start);
		buf_reset(&pt->b);
		pt->cut = 0;
	} else {
		message(t, f, r.msg, r.len, cut, r.stream, r.time_ms, start);
	}
	set_pend(f, end);
}

/* Whatever is open at the end of a file that will not grow (rotated away,
 * its system gone): the last line without '\n', partials, the record. */
static void file_finish(struct logtail *t, struct lt_file *f)
{
	if (f->raw.len || f->raw_cut) {
		raw_line(t, f, f->raw.data, f->raw.len, f->raw_cut, f->last_end, f->off);
		buf_reset(&f->raw);
		f->raw_cut = 0;
	}
	for (int k = 0; k < 2; k++) {
		struct lt_part *pt = &f->part[k];
		if (!part_open(pt))
			continue;
		message(t, f, pt->b.data, pt->b.len, pt->cut, k ? LOGFMT_STDERR : LOGFMT_STDOUT,
		        pt->time, pt->start);
		buf_reset(&pt->b);
		pt->cut = 0;
	}
	rec_emit(t, f);
	f->last_end = f->off;
	f->pend_off = f->off;
}

/* Bytes read from the file: split into lines. */
static void consume(struct logtail *t, struct lt_file *f, const char *p, size_t n)
{
	size_t raw_max = f->src.frame == LOGFMT_PLAIN ? t->max_line : t->max_line * 2 + 4096;
	const char *end = p + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t room = raw_max > f->raw.len ? raw_max - f->raw.len : 0;
		size_t take = k < room ? k : room;
		if (take == k && !f->raw.len && !f->raw_cut && nl) {
			/* the whole line is in the chunk: no copy */
			f->off += k + 1;
			raw_line(t, f, p, k, 0, f->last_end, f->off);
			f->last_end = f->off;
			p = nl + 1;
			continue;
		}
		buf_add(&f->raw, p, take);
		f->raw_cut += k - take;
		f->off += k;
		if (!nl)
			break;
		f->off++;
		raw_line(t, f, f->raw.data, f->raw.len, f->raw_cut, f->last_end, f->off);
		f->last_end = f->off;
		buf_reset(&f->raw);
		f->raw_cut = 0;
		p = nl + 1;
	}
}

/* ---- files ------------------------------------------------------------------------------ */

static uint64_t head_hash(int fd, uint32_t len)
{
	char b[HEAD_MAX];
	if (!len)
		return 0;
	ssize_t r = pread(fd, b, len, 0);
	if (r != (ssize_t)len)
		return 1; /* not the same file: no hash is 1 for real */
	return fnv1a(0xcbf29ce484222325ULL, b, len) | 2;
}

static void file_cursor(struct logtail *t, struct lt_file *f)
{
	if (f->fd < 0)
		return;
	if (f->hlen < HEAD_MAX && f->off > f->hlen) {
		f->hlen = f->off < HEAD_MAX ? (uint32_t)f->off : HEAD_MAX;
		f->hash = head_hash(f->fd, f->hlen);
	}
	uint32_t hl = f->pend_off < f->hlen ? (uint32_t)f->pend_off : f->hlen;
	uint64_t h = hl == f->hlen ? f->hash : head_hash(f->fd, hl);
	char pos[128];
	snprintf(pos, sizeof(pos), "%llu:%llu:%llu:%u:%016llx", (unsigned long long)f->dev,
	         (unsigned long long)f->ino, (unsigned long long)f->pend_off, hl,
	         (unsigned long long)h);
	cursor_set(t, f->cur, pos);
}

static bool parse_pos(const char *s, unsigned long long *dev, unsigned long long *ino,
                      unsigned long long *off, unsigned *hl, unsigned long long *h)
{
	return s && sscanf(s, "%llu:%llu:%llu:%u:%llx", dev, ino, off, hl, h) == 5 &&
	       *hl <= HEAD_MAX;
}

static void unwatch(struct logtail *t, int wd)
{
	if (wd < 0)
		return;
	for (size_t i = 0; i < t->nfiles; i++)
		if (t->files[i]->wd == wd && !t->files[i]->dead)
			return; /* another file watches the same inode */
	inotify_rm_watch(t->ifd, wd);
}

static void watch_fd(struct logtail *t, struct lt_file *f)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", f->fd);
	f->wd = inotify_add_watch(t->ifd, p, IN_MODIFY);
}

static void close_fd(struct logtail *t, struct lt_file *f)
{
	if (f->fd < 0)
		return;
	close(f->fd);
	f->fd = -1;
	int wd = f->wd;
	f->wd = -1;
	unwatch(t, wd);
}

static void refuse(struct logtail *t, struct lt_file *f, const struct stat *st, const char *why)
{
	if (f->refused && f->rdev == st->st_dev && f->rino == st->st_ino)
		return;
	f->refused = true;
	f->rdev = st->st_dev;
	f->rino = st->st_ino;
	atomic_fetch_add_explicit(&t->refused_c[f->kidx], 1, memory_order_relaxed);
	log_warn("logs: %s %s: %s in place of a log file: not read", f->sys->id, f->src.path, why);
}

/* Open `path` in the file's root for reading: only a regular file (opened
 * O_PATH first and checked, then reopened through /proc/self/fd).  An fd,
 * -ENOENT..., or -EPERM for a refused file. */
static int open_in_root(struct logtail *t, struct lt_file *f, struct stat *st)
{
	int pfd = fsroot_openat(f->root, f->src.path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return pfd;
	if (fstat(pfd, st) < 0) {
		int e = -errno;
		close(pfd);
		return e;
	}
	const char *why = logsrc_refuse_reason(st->st_mode);
	if (why) {
		close(pfd);
		refuse(t, f, st, why);
		return -EPERM;
	}
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", pfd);
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	int e = -errno;
	close(pfd);
	if (fd < 0)
		return e;
	struct stat st2;
	if (fstat(fd, &st2) < 0 || st2.st_ino != st->st_ino || !S_ISREG(st2.st_mode)) {
		close(fd);
		return -EPERM;
	}
	f->refused = false;
	return fd;
}

/* The directory of a file's path inside its root, opened confined. */
static int open_dir_of(struct lt_file *f, const char **base)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(f->src.path, '/');
	if (!slash)
		return -EINVAL;
	size_t dl = (size_t)(slash - f->src.path);
	memcpy(dir, f->src.path, dl);
	dir[dl] = 0;
	*base = slash + 1;
	return fsroot_openat(f->root, dl ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* A sibling of the file (NAME.1, NAME-2026...) that `want` accepts,
 * opened; -1 when none. */
static int find_sibling(struct lt_file *f, bool (*want)(int fd, const struct stat *st, void *ctx),
                        void *ctx)
{
	const char *base;
	int dfd = open_dir_of(f, &base);
	if (dfd < 0)
		return -1;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -1;
	}
	size_t bl = strlen(base);
	int found = -1;
	struct dirent *de;
	while (found < 0 && (de = readdir(d))) {
		if (strncmp(de->d_name, base, bl) != 0 || !de->d_name[bl])
			continue;
		int fd = openat(dirfd(d), de->d_name,
		                O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);
		struct stat st;
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && want(fd, &st, ctx))
			found = fd;
		else
			close(fd);
	}
	closedir(d);
	return found;
}

struct want_ino {
	dev_t dev;
	ino_t ino;
	uint64_t off;
};

static bool want_inode(int fd, const struct stat *st, void *ctx)
{
	const struct want_ino *w = ctx;
	return st->st_dev == w->dev && st->st_ino == w->ino && (uint64_t)st->st_size >= w->off;
}

struct want_copy {
	ino_t not_ino;
	uint64_t off;
	uint32_t hlen;
	uint64_t hash;
};

static bool want_copy(int fd, const struct stat *st, void *ctx)
{
	const struct want_copy *w = ctx;
	return st->st_ino != w->not_ino && (uint64_t)st->st_size >= w->off && w->hlen &&
	       head_hash(fd, w->hlen) == w->hash;
}

static void adopt_fd(struct logtail *t, struct lt_file *f, int fd, const struct stat *st,
                     uint64_t off)
{
	f->fd = fd;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->off = f->last_end = f->pend_off = off;
	f->hlen = (uint64_t)st->st_size < HEAD_MAX ? (uint32_t)st->st_size : HEAD_MAX;
	f->hash = head_hash(fd, f->hlen);
	f->draining = false;
	f->ready = true;
	f->quiet_since = mono_ns();
	buf_reset(&f->raw);
	f->raw_cut = 0;
	watch_fd(t, f);
}

/* Open the file at its path, where its cursor says (at start) or at 0. */
static void file_open(struct logtail *t, struct lt_file *f, bool use_cursor)
{
	struct stat st;
	int fd = open_in_root(t, f, &st);
	if (fd < 0)
		return;
	unsigned long long dev, ino, off, h;
	unsigned hl;
	const char *pos = f->cur >= 0 ? t->cur[f->cur].pos : NULL;
	if (!use_cursor || !parse_pos(pos, &dev, &ino, &off, &hl, &h)) {
		adopt_fd(t, f, fd, &st, 0);
		file_cursor(t, f);
		return;
	}
	if (st.st_dev == dev && st.st_ino == ino) {
		bool same = (uint64_t)st.st_size >= off && head_hash(fd, hl) == (hl ? h : 0);
		adopt_fd(t, f, fd, &st, same ? off : 0);
		if (!same)
			log_info("logs: %s %s was truncated or replaced since the last run: read "
			         "from its start",
			         f->sys->id, f->src.path);
		file_cursor(t, f);
		return;
	}
	/* the path names another file: the one of the cursor was rotated away */
	struct want_ino w = {.dev = (dev_t)dev, .ino = (ino_t)ino, .off = off};
	int old = find_sibling(f, want_inode, &w);
	if (old >= 0) {
		struct stat ost;
		if (fstat(old, &ost) == 0) {
			close(fd);
			adopt_fd(t, f, old, &ost, off);
			f->draining = true; /* then the file at the path */
			f->drain_until = mono_ns() + DRAIN_QUIET_NS;
			return;
		}
		close(old);
	}
	adopt_fd(t, f, fd, &st, 0);
	file_cursor(t, f);
}

/* Read what is new; false when it stopped for the batch (more to read). */
static bool file_read(struct logtail *t, struct lt_file *f, char *buf)
{
	if (f->fd < 0)
		return true;
	struct stat st;
	if (fstat(f->fd, &st) == 0 && !f->draining) {
		bool trunc = (uint64_t)st.st_size < f->off;
		if (!trunc && f->hlen && head_hash(f->fd, f->hlen) != f->hash)
			trunc = true; /* truncated and written again past our offset */
		if (trunc) {
			/* copytruncate: what we had not read yet is in the copy */
			struct want_copy w = {
			    .not_ino = f->ino, .off = f->off, .hlen = f->hlen, .hash = f->hash};
			int copy = find_sibling(f, want_copy, &w);
			if (copy >= 0) {
				char *tmp = buf;
				ssize_t r;
				uint64_t o = f->off;
				while ((r = pread(copy, tmp, READ_CHUNK, (off_t)o)) > 0) {
					consume(t, f, tmp, (size_t)r);
					o += (uint64_t)r;
				}
				close(copy);
			}
			file_finish(t, f);
			f->off = f->last_end = f->pend_off = 0;
			f->hlen = (uint64_t)st.st_size < HEAD_MAX ? (uint32_t)st.st_size : HEAD_MAX;
			f->hash = head_hash(f->fd, f->hlen);
		}
	}
	size_t budget = FILE_BUDGET;
	for (;;) {
		if (batch_full(t))
			return false;
		ssize_t r = pread(f->fd, buf, READ_CHUNK, (off_t)f->off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		f->quiet_since = mono_ns();
		if (f->draining)
			f->drain_until = f->quiet_since + DRAIN_QUIET_NS;
		consume(t, f, buf, (size_t)r);
		if ((size_t)r >= budget)
			return false;
		budget -= (size_t)r;
	}
	file_cursor(t, f);
	return true;
}

/* Does the path still name the open file?  If not: drain the old one. */
static void check_rotation(struct logtail *t, struct lt_file *f)
{
	if (f->fd < 0) {
		file_open(t, f, false);
		return;
	}
	if (f->draining)
		return;
	struct stat st;
	int pfd = fsroot_openat(f->root, f->src.path, O_PATH | O_CLOEXEC);
	bool same = pfd >= 0 && fstat(pfd, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino;
	if (pfd >= 0)
		close(pfd);
	if (same)
		return;
	f->draining = true;
	f->ready = true;
	f->drain_until = mono_ns() + DRAIN_QUIET_NS;
}

/* A drained rotated file is done: finish it, go on with the path's file. */
static void drain_done(struct logtail *t, struct lt_file *f, char *buf)
{
	(void)file_read(t, f, buf);
	file_finish(t, f);
	file_cursor(t, f);
	close_fd(t, f);
	f->draining = false;
	file_open(t, f, false);
}

/* ---- systems, files and directories --------------------------------------------------- */

static const regex_t *multiline_for(struct logtail *t, const struct logsrc *s)
{
	for (int i = 0; i < t->nml; i++) {
		const struct ml_rule *m = &t->ml[i];
		if (!m->glob || fnmatch(m->glob, s->path, 0) == 0 ||
		    fnmatch(m->glob, s->key, 0) == 0)
			return &m->re;
	}
	return NULL;
}

static struct lt_file *file_find(struct logtail *t, const struct lt_sys *s, const char *key)
{
	for (size_t i = 0; i < t->nfiles; i++)
		if (t->files[i]->sys == s && !t->files[i]->dead &&
		    strcmp(t->files[i]->src.key, key) == 0)
			return t->files[i];
	return NULL;
}

static struct lt_file *file_add(struct logtail *t, struct lt_sys *s, struct fsroot *root,
                                const struct logsrc *src)
{
	struct lt_file *f = file_find(t, s, src->key);
	if (f)
		return f;
	f = xcalloc(1, sizeof(*f));
	f->sys = s;
	s->refs++;
	f->root = root;
	f->src = *src;
	f->fd = f->wd = -1;
	f->kidx = src->type == LOGSRC_STDIO     ? K_STDIO
	          : src->type == LOGSRC_CONSOLE ? K_CONSOLE
	                                        : K_FILE;
	if (src->type == LOGSRC_CONSOLE)
		snprintf(f->lsource, sizeof(f->lsource), "console");
	else
		snprintf(f->lsource, sizeof(f->lsource), "file:%s", src->path);
	f->cur = cursor_find(t, s->id, src->key, true);
	f->ml = multiline_for(t, src);
	f->raw = (struct buf)BUF_INIT;
	f->part[0].b = (struct buf)BUF_INIT;
	f->part[1].b = (struct buf)BUF_INIT;
	f->rec = (struct buf)BUF_INIT;
	if (grow_array((void **)&t->files, &t->capfiles, t->nfiles + 1, sizeof(struct lt_file *)) < 0) {
		s->refs--;
		free(f);
		return NULL;
	}
	t->files[t->nfiles++] = f;
	file_open(t, f, true);
	return f;
}

static void dir_scan(struct logtail *t, struct lt_dir *d)
{
	if (!d->pattern)
		return;
	int dfd = fsroot_openat(d->root, d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	DIR *dp = fdopendir(dfd);
	if (!dp) {
		close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (fnmatch(d->pattern, de->d_name, FNM_PERIOD) != 0)
			continue;
		struct logsrc_list one = {0};
		char path[PATH_MAX];
		int k = snprintf(path, sizeof(path), "%s/%s", strcmp(d->path, "/") ? d->path : "",
		                 de->d_name);
		if (k < 0 || (size_t)k >= sizeof(path))
			continue;
		if (logsrc_add(&one, LOGSRC_FILE, LOGFMT_PLAIN, path) == 0 && one.n)
			file_add(t, d->sys, d->root, &one.v[0]);
		logsrc_list_free(&one);
	}
	closedir(dp);
}

static struct lt_dir *dir_add(struct logtail *t, struct lt_sys *s, struct fsroot *root,
                              const char *path, const char *pattern)
{
	for (size_t i = 0; i < t->ndirs; i++) {
		struct lt_dir *d = t->dirs[i];
		if (!d->dead && d->sys == s && d->root == root && strcmp(d->path, path) == 0 &&
		    (d->pattern == pattern ||
		     (d->pattern && pattern && !strcmp(d->pattern, pattern))))
			return d;
	}
	int dfd = fsroot_openat(root, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return NULL;
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", dfd);
	int wd = inotify_add_watch(
	    t->ifd, p, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR);
	close(dfd);
	if (wd < 0)
		return NULL;
	struct lt_dir *d = xcalloc(1, sizeof(*d));
	d->sys = s;
	d->root = root;
	copy_str(d->path, sizeof(d->path), path, strlen(path));
	d->pattern = pattern;
	d->wd = wd;
	if (grow_array((void **)&t->dirs, &t->capdirs, t->ndirs + 1, sizeof(struct lt_dir *)) < 0) {
		inotify_rm_watch(t->ifd, wd);
		free(d);
		return NULL;
	}
	t->dirs[t->ndirs++] = d;
	return d;
}

/* The directory of a file, watched for its rotation. */
static void watch_dir_of(struct logtail *t, struct lt_file *f)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(f->src.path, '/');
	if (!slash)
		return;
	size_t dl = (size_t)(slash - f->src.path);
	memcpy(dir, f->src.path, dl);
	dir[dl] = 0;
	(void)dir_add(t, f->sys, f->root, dl ? dir : "/", NULL);
}

static void dir_event(struct logtail *t, struct lt_dir *d, const char *name)
{
	if (d->pattern && fnmatch(d->pattern, name, FNM_PERIOD) == 0) {
		char key[PATH_MAX + 16];
		snprintf(key, sizeof(key), "file:%s/%s", strcmp(d->path, "/") ? d->path : "", name);
		if (!file_find(t, d->sys, key))
			dir_scan(t, d);
	}
	size_t dl = strcmp(d->path, "/") ? strlen(d->path) : 0;
	for (size_t i = 0; i < t->nfiles; i++) {
		struct lt_file *f = t->files[i];
		if (f->dead || f->root != d->root || strncmp(f->src.path, d->path, dl) != 0 ||
		    f->src.path[dl] != '/' || strcmp(f->src.path + dl + 1, name) != 0)
			continue;
		check_rotation(t, f);
	}
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
			for (size_t k = 0; k < PULLS_MAX; k++)
				s->pull_cursor[k] = -1;
			if (grow_array((void **)&t->sys, &t->capsys, t->nsys + 1, sizeof(struct lt_sys *)) <
			    0) {
				free(s->id);
				free(s);
				continue;
			}
			t->sys[t->nsys++] = s;
		}
		s->present = true;
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
			struct lt_file *f = file_add(t, s, &t->host_root, &ps->srcs.v[k]);
			if (f)
				watch_dir_of(t, f);
		}
		if (root && strcmp(s->kind, "vm") != 0) {
			for (int g = 0; g < t->nglobs; g++) {
				char dir[PATH_MAX];
				const char *pat;
				if (logsrc_glob_split(t->globs[g], dir, sizeof(dir), &pat) < 0)
					continue;
				struct lt_dir *d = dir_add(t, s, root, dir, pat);
				if (d)
					dir_scan(t, d);
			}
		}
		if (s->host && t->cfg.journal && !t->journal && t->host_root_ok &&
		    logsrc_has_journal(t->host_root.dirfd)) {
			int jc = cursor_find(t, s->id, "journal", true);
			struct ltj *j;
			int r = ltj_open(jc >= 0 ? t->cur[jc].pos : NULL, &j, &t->jfd);
			if (r < 0) {
				log_warn("logs: cannot open the journal: %s", strerror(-r));
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
	while (!batch_full(t)) {
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
		if (escape_cut(t, &t->esc, msg, n, 0))
			atomic_fetch_add_explicit(&t->trunc_c[K_JOURNAL], 1, memory_order_relaxed);
		batch_add(t, t->jsys->id, "journal", tm, level, t->esc.data, t->esc.len);
		count_line(t, K_JOURNAL, t->esc.len);
	}
	if (any) {
		char *c = ltj_cursor(t->journal);
		if (c)
			cursor_set(t, t->jcur, c);
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
	if (batch_full(t))
		return -ENOBUFS;
	buf_reset(&t->esc);
	if (escape_cut(t, &t->esc, line, len, 0))
		atomic_fetch_add_explicit(&t->trunc_c[o->kidx], 1, memory_order_relaxed);
	batch_add(t, o->s->id, o->source, time_ms, level, t->esc.data, t->esc.len);
	count_line(t, o->kidx, t->esc.len);
	return 0;
}

void logtail_set_cursor(struct logtail_out *o, const char *pos)
{
	cursor_set(o->t, o->cur, pos);
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
				s->pull_cursor[k] = cursor_find(t, s->id, p->source, true);
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
					check_rotation(t, t->files[i]);
				}
				for (size_t i = 0; i < t->ndirs; i++)
					dir_scan(t, t->dirs[i]);
				continue;
			}
			bool dir = false;
			for (size_t i = 0; i < t->ndirs; i++) {
				if (t->dirs[i]->wd != e->wd || t->dirs[i]->dead)
					continue;
				dir = true;
				if (e->len)
					dir_event(t, t->dirs[i], e->name);
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
		if (batch_full(t)) {
			more = true;
			break;
		}
		bool done = file_read(t, f, buf);
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
				drain_done(t, f, buf);
			else
				NEXT(f->drain_until);
		}
		if (f->rec_open) {
			int64_t at = f->rec_mono + MULTILINE_IDLE_NS;
			if (now >= at) {
				rec_emit(t, f);
				set_pend(f, f->last_end);
				file_cursor(t, f);
			} else {
				NEXT(at);
			}
		}
		if (f->gone_seen && !f->sys->present) {
			int64_t at = f->quiet_since + GONE_QUIET_NS;
			if (now >= at) {
				(void)file_read(t, f, buf);
				file_finish(t, f);
				file_cursor(t, f);
				close_fd(t, f);
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
		if (!blocked || !batch_full(t)) {
			more = read_files(t, buf);
			journal_read(t);
			more |= t->jready;
		}
		int64_t now = mono_ns();
		bool due =
		    t->batch_since && now >= t->batch_since + (int64_t)t->cfg.batch_ms * 1000000;
		if ((batch_full(t) || due || (!t->nlines && dirty_cursors(t) && !more)) &&
		    (!t->retry_at || now >= t->retry_at)) {
			if (flush(t) == 0)
				collect(t);
			else
				more = false; /* wait for the retry */
		}
		if (blocked)
			more = false;
	}
	/* what is complete is stored; open records are read again next time */
	for (size_t i = 0; i < t->nfiles; i++)
		file_cursor(t, t->files[i]);
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
	buf_free(&t->msgbuf);
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
	t->msgbuf = (struct buf)BUF_INIT;
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
