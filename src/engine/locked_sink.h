/*
 * locked_sink.h - the daemon's store sinks: one store handle shared by
 * every lane, under one lock.
 *
 * The daemon has ONE read-write store handle (struct store_share).  Each
 * lane writes through its own store sink (sink_store_open) wrapped in a
 * locked sink that takes the share's lock around every call, counts frames
 * and records stored (engine/report.h), and turns store errors into one
 * log line per episode ("store PATH: disk full; N frames pending") and one
 * when writing works again.  A frame stored by any writer first retries
 * the frames every other writer still holds, so a full disk that has room
 * again is noticed at the next crawl of any lane.  Before storing, the
 * store's file is checked (store_check()): when it was deleted or replaced,
 * that is logged once and reported as the error until exit, and the store
 * is opened again at its path (a new empty one; docs/storage.md).  Once the
 * share is closed (at exit) every
 * locked sink refuses everything with -ESHUTDOWN: a lane abandoned in a
 * stuck crawl can never touch a closed handle.
 */
#ifndef VANTAGE_LOCKED_SINK_H
#define VANTAGE_LOCKED_SINK_H

#include <pthread.h>
#include <stdbool.h>

#include "../frame/sink.h"
#include "report.h"

#define STORE_SHARE_SINKS 8

struct store;

struct store_share {
	struct store *st;     /* set by the owner; closed by store_share_close() */
	const char *path;     /* for messages */
	pthread_mutex_t lock; /* the handle and every field below */
	bool closed;
	bool trouble;                        /* in an episode of failed writes */
	bool full;                           /* ...of a full disk (-ENOSPC) */
	uint64_t dropped[STORE_SHARE_SINKS]; /* each sink's dropped frames, counted so far */
	int pending[STORE_SHARE_SINKS];
	struct sink *sinks[STORE_SHARE_SINKS]; /* each writer's locked sink, by slot */
	bool reopen_failed;                    /* logged once */
	char lost[400]; /* the store file was deleted or replaced: said until exit */
	/* crawl errors logged in the current minute, and those left out */
	int64_t errlog_start_ns;
	int errlog_lines;
	uint64_t errlog_left;
	const struct engine_report *report;
};

void store_share_init(struct store_share *sh, struct store *st, const char *path,
                      const struct engine_report *report);

/* A locked sink over the share, for writer `slot` (< STORE_SHARE_SINKS).
 * 0 or a negative errno. */
int locked_sink_open(struct store_share *sh, int slot, struct sink **out);

/* Start (on) or end a batch of locked sink s: the frames ended meanwhile
 * are stored in ONE store transaction when it ends (the daemon's lanes
 * batch each run: one transaction per tick for every system), and the
 * store file is checked once then.  0 or the store's error (logged as any
 * failed write).  0 for any other sink. */
int locked_sink_batch(struct sink *s, bool on);

/* At exit, with every writer stopped or given up: retry the frames each
 * sink still holds once, close the sinks (freeing those in free_them[i]:
 * the others may still be in use by an abandoned thread) and the store.
 * Returns the number of frames that could not be stored. */
int store_share_close(struct store_share *sh, struct sink **sinks, const bool *free_them, int n);

#endif
