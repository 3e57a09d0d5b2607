/*
 * report.h - how the daemon's engine tells its owner what it did.
 *
 * The lanes and the locked sink count frames, records and crawls, and
 * raise or clear the error users should see ("store: disk full").  The
 * owner (cli/serve.c) publishes them, e.g. as the REST API's counters; the
 * engine does not know where they go.  Both hooks may be called from any
 * thread at any time and must not block.
 */
#ifndef VANTAGE_REPORT_H
#define VANTAGE_REPORT_H

#include <stdint.h>

enum engine_counter {
	/* added to */
	EC_FRAMES_STORED,  /* frames committed to the store */
	EC_FRAMES_FAILED,  /* frames dropped after every retry */
	EC_RECORDS_STORED, /* records of committed frames */
	EC_CRAWLS,         /* crawl passes finished */
	EC_CRAWL_ERRORS,   /* item and feature errors in frame headers */
	EC_STORE_ERRORS,   /* store writes (transactions) that failed */
	EC_FRAMES_DROPPED, /* frames the retry queue dropped (full for too long) */
	EC_SKIPPED,        /* crawls not run: shed under memory pressure */
	/* set */
	EC_LAST_FRAME_ID, /* id of the last stored frame */
	EC_LAST_CRAWL_MS, /* end of the last crawl, ms since the epoch */
	EC_LAST_CRAWL_US, /* duration of the last crawl */
	EC_PENDING,       /* frames waiting for the store */
	EC_SYSTEMS,       /* systems watched now */
	EC_STORE_FULL,    /* 1 while the store's disk is full, else 0 */
	EC_SHED_LEVEL,    /* the memory guard's level (memguard.h), 0: none */
	EC_MEM_USED,      /* the memory guard's last sample: bytes used */
	EC_MEM_LIMIT,     /* ...and the limit (0: none known) */
};

struct engine_report {
	void (*count)(void *arg, enum engine_counter c, int64_t v);
	/* msg NULL: the trouble is over */
	void (*error)(void *arg, const char *msg);
	void *arg;
};

#endif
