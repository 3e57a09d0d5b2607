/*
 * logtail_file.c - one tailed file of the log collector (logtail.h):
 * bytes to lines (bounded), the runtime's framing, partial records joined
 * per stream, multi-line records, escaping; opening confined to the
 * system's root (regular files only); rotation by rename (the old file
 * drained) and by copytruncate (the unread rest taken from the copy); the
 * cursor "dev:ino:offset:hlen:hash" and resuming from it.
 *
 * Offsets of a file:
 *   off       bytes read from the fd so far
 *   last_end  the end of the last complete line ('\n' included)
 *   pend_off  the cursor: every record before it has been emitted into the
 *             batch (or stored); the open multi-line record or joined
 *             partial line starts there
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "logtail_int.h"

/* Escape and cut `msg` into out: at most max_line bytes with the marker. */
bool lt_escape_cut(struct logtail *t, struct buf *out, const char *msg, size_t n, uint64_t more)
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

/* ---- emitting records ------------------------------------------------------------------- */

static const char *line_source(struct lt_file *f, int stream)
{
	if (f->src.type == LOGSRC_STDIO)
		return stream == LOGFMT_STDERR ? "stderr" : "stdout";
	return f->lsource;
}

/* The open multi-line record into the batch. */
void lt_rec_emit(struct logtail *t, struct lt_file *f)
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
	lt_batch_add(t, f->sys->id, line_source(f, f->rec_stream), f->rec_time, f->rec_level,
	             f->rec.data, f->rec.len);
	lt_count_line(t, f->kidx, f->rec.len);
	f->rec_open = false;
	buf_reset(&f->rec);
	f->rec_cut = 0;
}

static bool part_open(const struct lt_part *p)
{
	return p->b.len || p->cut;
}

void lt_set_pend(struct lt_file *f, uint64_t end)
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
	bool was_cut = lt_escape_cut(t, &t->esc, msg, n, cut);
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
	lt_rec_emit(t, f);
	struct logfmt_rec r = {.level = -1};
	(void)logfmt_message(msg, n, t->now_ms, t->tz_off_s, &r);
	int64_t tm = time_ms ? time_ms : r.time_ms;
	if (!f->ml) {
		lt_batch_add(t, f->sys->id, line_source(f, stream), tm, r.level, t->esc.data,
		             t->esc.len);
		lt_count_line(t, f->kidx, t->esc.len);
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
	/* a serial console is a tty: its lines end in "\r\n" */
	if (f->src.type == LOGSRC_CONSOLE)
		while (n && line[n - 1] == '\r')
			n--;
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
			lt_set_pend(f, end);
			return;
		}
		message(t, f, pt->b.data, pt->b.len, pt->cut, r.stream, pt->time, pt->start);
		buf_reset(&pt->b);
		pt->cut = 0;
	} else {
		message(t, f, r.msg, r.len, cut, r.stream, r.time_ms, start);
	}
	lt_set_pend(f, end);
}

/* Whatever is open at the end of a file that will not grow (rotated away,
 * its system gone): the last line without '\n', partials, the record. */
void lt_file_finish(struct logtail *t, struct lt_file *f)
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
	lt_rec_emit(t, f);
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

void lt_file_cursor(struct logtail *t, struct lt_file *f)
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
	lt_cursor_set(t, f->cur, pos);
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

void lt_close_fd(struct logtail *t, struct lt_file *f)
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
	log_debug("logs: %s %s: inode %llu from offset %llu (size %lld)%s", f->sys->id, f->src.path,
	          (unsigned long long)f->ino, (unsigned long long)off, (long long)st->st_size,
	          f->wd < 0 ? "; no inotify watch" : "");
}

/*
 * The file was truncated (copytruncate) after we read it up to f->off:
 * what was written after that is in the copy, a sibling with the same
 * first bytes (hlen, hash) at least f->off long: read from there.  Then
 * whatever is open is finished and the file is read from 0.  buf: a
 * READ_CHUNK buffer.
 */
static void from_copy(struct logtail *t, struct lt_file *f, uint32_t hlen, uint64_t hash, char *buf)
{
	struct want_copy w = {.not_ino = f->ino, .off = f->off, .hlen = hlen, .hash = hash};
	int copy = find_sibling(f, want_copy, &w);
	if (copy >= 0) {
		ssize_t r;
		uint64_t o = f->off;
		while ((r = pread(copy, buf, READ_CHUNK, (off_t)o)) > 0) {
			consume(t, f, buf, (size_t)r);
			o += (uint64_t)r;
		}
		close(copy);
		log_debug("logs: %s %s: the rest up to %llu read from its copy", f->sys->id,
		          f->src.path, (unsigned long long)o);
	}
	lt_file_finish(t, f);
	struct stat st;
	uint64_t size = fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	f->off = f->last_end = f->pend_off = 0;
	f->hlen = size < HEAD_MAX ? (uint32_t)size : HEAD_MAX;
	f->hash = head_hash(f->fd, f->hlen);
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
		lt_file_cursor(t, f);
		return;
	}
	if (st.st_dev == dev && st.st_ino == ino) {
		bool same = (uint64_t)st.st_size >= off && head_hash(fd, hl) == (hl ? h : 0);
		adopt_fd(t, f, fd, &st, off);
		if (!same) {
			/* truncated since (copytruncate): the rest is in its copy, if any */
			log_info("logs: %s %s was truncated or replaced since the last run: read "
			         "from its start",
			         f->sys->id, f->src.path);
			char *buf = xmalloc(READ_CHUNK);
			from_copy(t, f, hl, h, buf);
			free(buf);
		}
		lt_file_cursor(t, f);
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
	lt_file_cursor(t, f);
}

/* Read what is new; false when it stopped for the batch (more to read). */
bool lt_file_read(struct logtail *t, struct lt_file *f, char *buf)
{
	if (f->fd < 0)
		return true;
	struct stat st;
	if (fstat(f->fd, &st) == 0 && !f->draining) {
		bool trunc = (uint64_t)st.st_size < f->off;
		if (!trunc && f->hlen && head_hash(f->fd, f->hlen) != f->hash)
			trunc = true; /* truncated and written again past our offset */
		if (trunc) {
			log_debug("logs: %s %s: truncated at offset %llu (size %lld)", f->sys->id,
			          f->src.path, (unsigned long long)f->off, (long long)st.st_size);
			from_copy(t, f, f->hlen, f->hash, buf);
		}
	}
	size_t budget = FILE_BUDGET;
	for (;;) {
		if (lt_batch_full(t)) {
			lt_file_cursor(t, f); /* the batch is stored with where it reaches */
			return false;
		}
		ssize_t r = pread(f->fd, buf, READ_CHUNK, (off_t)f->off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		f->quiet_since = mono_ns();
		if (f->draining)
			f->drain_until = f->quiet_since + DRAIN_QUIET_NS;
		consume(t, f, buf, (size_t)r);
		if ((size_t)r >= budget) {
			lt_file_cursor(t, f);
			return false;
		}
		budget -= (size_t)r;
	}
	lt_file_cursor(t, f);
	return true;
}

/* Does the path still name the open file?  If not: drain the old one. */
void lt_check_rotation(struct logtail *t, struct lt_file *f)
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
	log_debug("logs: %s %s: rotated away at offset %llu: read to its end first", f->sys->id,
	          f->src.path, (unsigned long long)f->off);
}

/* A drained rotated file is done: finish it, go on with the path's file. */
void lt_drain_done(struct logtail *t, struct lt_file *f, char *buf)
{
	(void)lt_file_read(t, f, buf);
	lt_file_finish(t, f);
	lt_file_cursor(t, f);
	lt_close_fd(t, f);
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

struct lt_file *lt_file_add(struct logtail *t, struct lt_sys *s, struct fsroot *root,
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
	f->cur = lt_cursor_find(t, s->id, src->key, true);
	f->ml = multiline_for(t, src);
	f->raw = (struct buf)BUF_INIT;
	f->part[0].b = (struct buf)BUF_INIT;
	f->part[1].b = (struct buf)BUF_INIT;
	f->rec = (struct buf)BUF_INIT;
	if (grow_array((void **)&t->files, &t->capfiles, t->nfiles + 1, sizeof(struct lt_file *)) <
	    0) {
		s->refs--;
		free(f);
		return NULL;
	}
	t->files[t->nfiles++] = f;
	file_open(t, f, true);
	return f;
}

void lt_dir_scan(struct logtail *t, struct lt_dir *d)
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
			lt_file_add(t, d->sys, d->root, &one.v[0]);
		logsrc_list_free(&one);
	}
	closedir(dp);
}

struct lt_dir *lt_dir_add(struct logtail *t, struct lt_sys *s, struct fsroot *root,
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
void lt_watch_dir_of(struct logtail *t, struct lt_file *f)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(f->src.path, '/');
	if (!slash)
		return;
	size_t dl = (size_t)(slash - f->src.path);
	memcpy(dir, f->src.path, dl);
	dir[dl] = 0;
	(void)lt_dir_add(t, f->sys, f->root, dl ? dir : "/", NULL);
}

void lt_dir_event(struct logtail *t, struct lt_dir *d, const char *name)
{
	if (d->pattern && fnmatch(d->pattern, name, FNM_PERIOD) == 0) {
		char key[PATH_MAX + 16];
		snprintf(key, sizeof(key), "file:%s/%s", strcmp(d->path, "/") ? d->path : "", name);
		if (!file_find(t, d->sys, key))
			lt_dir_scan(t, d);
	}
	size_t dl = strcmp(d->path, "/") ? strlen(d->path) : 0;
	for (size_t i = 0; i < t->nfiles; i++) {
		struct lt_file *f = t->files[i];
		if (f->dead || f->root != d->root || strncmp(f->src.path, d->path, dl) != 0 ||
		    f->src.path[dl] != '/' || strcmp(f->src.path + dl + 1, name) != 0)
			continue;
		lt_check_rotation(t, f);
	}
}
