/*
 * logtail_int.h - what the log collector's two files share: its state
 * (struct logtail, its systems, directories and files) and the calls
 * between logtail.c (the thread, the batch and its cursors, discovery,
 * the journal, pulled sources) and logtail_file.c (one file's reading:
 * lines, framing, partial and multi-line records, rotation, cursors).
 * Private to src/engine/logtail*.c.
 */
#ifndef VANTAGE_LOGTAIL_INT_H
#define VANTAGE_LOGTAIL_INT_H

#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/buf.h"
#include "../views/fsroot.h"
#include "logtail.h"

#define READ_CHUNK (64u << 10)
#define FILE_BUDGET (1u << 20)     /* bytes read from one file before the others */
#define DRAIN_QUIET_NS 500000000LL /* a rotated file quiet this long is done */
#define GONE_QUIET_NS 2000000000LL /* a gone system's file quiet this long is closed */
#define MULTILINE_IDLE_NS 1000000000LL
#define RETRY_NS 1000000000LL
#define HEAD_MAX 64
#define NKIND 8
#define LT_PULLS_MAX 8 /* room for the rows of logtail_pulls[] */

enum { K_STDIO, K_FILE, K_JOURNAL, K_CONSOLE, K_PULL0 };

/* ---- state (logtail.c's top comment says who owns what) ---------------------------- */

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
	void *pull_state[LT_PULLS_MAX];
	bool pull_off[LT_PULLS_MAX];
	int64_t pull_next[LT_PULLS_MAX];
	int pull_cursor[LT_PULLS_MAX]; /* cursor_ent index, -1 */
	int refs;                      /* files pointing here */
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
	struct buf scratch, esc;
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
	bool jfailed;   /* the journal could not be opened (not tried again) */
	bool store_off; /* the store cannot keep logs: said once */
};

/* ---- logtail.c: cursors, counters, the batch -------------------------------------------- */

/* The cursor of (sys, key): its index in t->cur (made when `make`), -1. */
int lt_cursor_find(struct logtail *t, const char *sys, const char *key, bool make);
/* Set a cursor's position (dirty: stored with the next batch). */
void lt_cursor_set(struct logtail *t, int i, const char *pos);
void lt_count_line(struct logtail *t, int k, size_t bytes);
bool lt_batch_full(const struct logtail *t);
/* A record into the batch (escaped already); time_ms 0: now. */
void lt_batch_add(struct logtail *t, const char *sys, const char *source, int64_t time_ms,
                  int level, const char *text, size_t n);

/* ---- logtail_file.c: files and directories ------------------------------------------------ */

/* Escape and cut msg into out (at most max_line bytes with the marker);
 * true when it was cut (more: bytes already dropped). */
bool lt_escape_cut(struct logtail *t, struct buf *out, const char *msg, size_t n, uint64_t more);
/* The file of key `src->key` of system s (made and opened, at its cursor,
 * when new), or NULL when out of memory. */
struct lt_file *lt_file_add(struct logtail *t, struct lt_sys *s, struct fsroot *root,
                            const struct logsrc *src);
/* Read what is new; false when it stopped for the batch (more to read). */
bool lt_file_read(struct logtail *t, struct lt_file *f, char *buf);
/* Emit what is open at the end of a file that will not grow. */
void lt_file_finish(struct logtail *t, struct lt_file *f);
/* The file's cursor from its pend_off, into t->cur. */
void lt_file_cursor(struct logtail *t, struct lt_file *f);
void lt_close_fd(struct logtail *t, struct lt_file *f);
/* Does the path still name the open file?  If not: drain the old one. */
void lt_check_rotation(struct logtail *t, struct lt_file *f);
/* A drained rotated file is done: finish it, go on with the path's file. */
void lt_drain_done(struct logtail *t, struct lt_file *f, char *buf);
/* The open multi-line record into the batch; the cursor from `end`. */
void lt_rec_emit(struct logtail *t, struct lt_file *f);
void lt_set_pend(struct lt_file *f, uint64_t end);
/* A watched directory (glob's with its pattern, or a file's for its
 * rotation: pattern NULL); NULL when it cannot be watched (yet). */
struct lt_dir *lt_dir_add(struct logtail *t, struct lt_sys *s, struct fsroot *root,
                          const char *path, const char *pattern);
/* The files of a glob's directory matching its pattern, added. */
void lt_dir_scan(struct logtail *t, struct lt_dir *d);
void lt_watch_dir_of(struct logtail *t, struct lt_file *f);
/* inotify said `name` changed in d. */
void lt_dir_event(struct logtail *t, struct lt_dir *d, const char *name);

#endif
