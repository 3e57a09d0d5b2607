/*
 * logtail.h - the log collector of `vantage serve`: one thread that tails
 * every log source of every system the engine watches (targets/logsrc.h)
 * into the store, exactly once (docs/logs.md).
 *
 * Systems come from the engine's discovery: the fast lane hands each new
 * list of systems to logtail_discovered() (engine.h `discovered`), which
 * lists their sources there and then and wakes the thread.  A system that
 * is gone keeps its open files until they are read to their end.
 *
 * Files (stdio, file, console) are watched with inotify (the file, for
 * writes; its directory, for rotation and new files matching a glob): no
 * polling, so idle files cost nothing.  Per file:
 *   - rotation by rename: when the path names another file, the old one
 *     (still open) is read until it has been quiet for 0.5 s, then the new
 *     one from its start;
 *   - copytruncate: a size below the offset read (or other first bytes)
 *     means the file was truncated: what was written since the last read
 *     is taken from the copy when a sibling file (NAME.1, ...) holds the
 *     same first bytes, then the file is read from 0;
 *   - the cursor "dev:ino:offset:hlen:hash" (hash: FNV-1a of the first hlen
 *     <= 64 bytes) is stored with the lines in ONE store_put_logs()
 *     transaction and read back at start (store_log_cursors()): a restart,
 *     even after SIGKILL, resumes exactly after the last line stored; a
 *     cursor whose file was renamed meanwhile finds it among its siblings
 *     by inode, one whose file was replaced (other first bytes, smaller
 *     than the offset) starts it at 0;
 *   - lines are split at '\n', framed (k8s-file, docker json-file, CRI),
 *     partial records joined, joined into multi-line records by a start
 *     pattern (a record ends when the next starts, or after 1 s without a
 *     line), bounded (max_line: longer lines are cut with a marker and
 *     counted) and escaped (logfmt.h); a record not yet complete is never
 *     covered by a cursor, so a restart reads it again whole.
 * Only regular files are read: a FIFO, device or directory in a log
 * file's place is refused and counted (vantage_logs_refused_total), never
 * opened for reading.  Files inside a container are opened through its
 * root with views/fsroot (symlinks resolved inside the root).
 *
 * The host's systemd journal is read through sd-journal (cursor: the
 * journal's), from its end on the first start.
 *
 * Pulled sources (struct logtail_pull): sources read by asking at an
 * interval, each row of logtail_pulls[] (logtail.c) for the systems of
 * one kind; a VM's kernel log read from its RAM is one ("kmsg").
 *
 * Batching: lines go to the store in transactions of at most 1000 lines,
 * at least every 200 ms while lines come.  A failed transaction is kept
 * and tried again (reading pauses while it is full).
 *
 * Threads: the collector's own; logtail_discovered() from a lane (takes
 * the collector's lock only); logtail_metrics() from the API's threads
 * (atomics only).  The store: the engine's shared handle, under its lock.
 */
#ifndef VANTAGE_LOGTAIL_H
#define VANTAGE_LOGTAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../targets/logsrc.h"
#include "../util/buf.h"
#include "locked_sink.h"
#include "target.h"

#define LOGTAIL_MAX_GLOBS 64

struct logtail_config {
	const char *const *globs; /* absolute globs (logsrc.h); NULL: the defaults */
	int nglobs;
	/* multi-line start patterns: "REGEX" (every source) or "GLOB=>REGEX"
	 * (sources whose path, or key such as "journal", matches GLOB);
	 * POSIX extended regular expressions */
	const char *const *multiline;
	int nmultiline;
	size_t max_line; /* 0: LOGFMT_MAX_LINE_DEFAULT */
	bool journal;    /* read the host's journal when there is one */
	/* the journal files of this directory instead of the system's
	 * (sd_journal_open_directory); NULL: the system's */
	const char *journal_dir;
	int batch_lines; /* 0: 1000 */
	int batch_ms;    /* 0: 200 */
};

/* What a pulled source gets to describe a system. */
struct logtail_system {
	const char *id;             /* system id */
	const char *kind;           /* "host", "container", "vm" */
	int init_pid;               /* a container's first process, 0 if none */
	const struct vm_target *vm; /* kind "vm": the guest, else NULL */
};

/* Where a pulled source puts what it read. */
struct logtail_out;
/* One line (escaped and cut by the collector); time_ms 0: now.  0, or
 * -ENOBUFS when the batch is full (stop, set the cursor, return). */
int logtail_emit(struct logtail_out *o, int64_t time_ms, int level, const char *line, size_t len);
/* The position the lines emitted so far reach (copied). */
void logtail_set_cursor(struct logtail_out *o, const char *pos);

struct logtail_pull {
	const char *source; /* line source and cursor key: "kmsg" */
	const char *kind;   /* for the systems of this kind: "vm" */
	int interval_ms;
	/* Set up the reading of one system; 0 and *state, -ENOTSUP when the
	 * system has no such source (not asked again), another negative
	 * errno to try again at the next interval. */
	int (*open)(const struct logtail_system *sys, int proc_fd, void **state);
	/* Read what is new since `cursor` (NULL: from the start): emit the
	 * lines, set the cursor; 0 or a negative errno (logged once). */
	int (*read)(void *state, const char *cursor, struct logtail_out *out);
	void (*close)(void *state);
};
/* The pulled sources, NULL-terminated. */
extern const struct logtail_pull *const logtail_pulls[];

struct logtail;

/*
 * Start the collector over the engine's store share (the store must
 * outlive logtail_stop()).  proc_fd: the host's /proc (borrowed).  Its
 * cursors are read from the store first.  0 or a negative errno (logged).
 */
int logtail_start(const struct logtail_config *cfg, struct store_share *store, int proc_fd,
                  struct logtail **out);
/* Store what is read and stop the thread (a record not complete is left
 * for the next start); the counters and logtail_discovered() stay usable
 * (a no-op) until logtail_free().  NULL: nothing. */
void logtail_stop(struct logtail *t);
void logtail_free(struct logtail *t);

/* The engine's discovery (engine.h discovered): the systems now. */
void logtail_discovered(void *arg, const struct target_set *set);

/* Counters in Prometheus text: vantage_logs_lines_total{source},
 * _bytes_total, _truncated_total, _refused_total. */
void logtail_metrics(void *arg, struct buf *out);

/* Counters for tests: sum over sources. */
struct logtail_counts {
	uint64_t lines, bytes, truncated, refused, stored_batches;
};
void logtail_counts(struct logtail *t, struct logtail_counts *out);

#endif
