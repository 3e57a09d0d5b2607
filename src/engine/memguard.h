/*
 * memguard.h - the daemon's memory guard: it watches how much memory the
 * daemon may still take and sheds work before the kernel's OOM killer
 * takes the daemon (docs/running.md "Under a memory limit").
 *
 * The limit is the tightest of:
 *   - the memory limit of the daemon's own cgroup (read from /proc/self/
 *     cgroup and the cgroup mounts of /proc/self/mountinfo; v1, v2 or a
 *     hybrid of both; effective: the tightest of its ancestors too).  What
 *     counts against it is the cgroup's usage less its page cache (file
 *     pages the kernel reclaims before it kills anything): v1
 *     memory.usage_in_bytes - total_cache, v2 memory.current - file;
 *   - the configured soft limit ([serve] memory_limit, --memory-limit),
 *     against the daemon's own resident memory (VmRSS).
 * Each is turned into a fraction of its limit; the larger one rules.
 *
 * Levels, entered at a fraction and left below it less 10 points (so a
 * daemon at the edge does not flap), each adding to the one before:
 *   1  at 80 %: give memory back (malloc_trim, the store's page cache)
 *      at every check; the file walks (file feature) are skipped
 *   2  at 90 %: the package and config crawls are skipped too, and the
 *      API refuses new live tails (503)
 *   3  at 95 %: the fast lane crawls the metric feature only (process,
 *      connection, os, module, interface, library skipped) and only every
 *      other metric tick (its interval doubled)
 * Every change of level is logged once, with the figures; the level, the
 * sample and the crawls skipped go to /metrics (vantage_memory_*).
 *
 * Threads: the daemon's main thread only (memguard_check at its wake-ups,
 * at most one sample a second).
 */
#ifndef VANTAGE_MEMGUARD_H
#define VANTAGE_MEMGUARD_H

#include <stdbool.h>
#include <stdint.h>

enum {
	MEMGUARD_TRIM = 1,           /* give memory back; file walks skipped */
	MEMGUARD_REFUSE_STREAMS = 2, /* + package, config; new live tails refused */
	MEMGUARD_METRIC_ONLY = 3,    /* + metric only, every other tick */
	MEMGUARD_LEVELS = 4
};

struct memguard;

/* What the last sample said. */
struct memguard_sample {
	uint64_t used, limit; /* bytes of the ruling limit; limit 0: none known */
	double frac;          /* used / limit, 0 without a limit */
	int level;
	const char *what; /* "cgroup /path" or "memory_limit" */
};

/* A guard for this process; `proc_fd` is /proc.  `soft_limit` in bytes, 0
 * for none.  Never fails: without a cgroup memory controller or a limit
 * it only watches the soft limit (NULL only when out of memory). */
struct memguard *memguard_new(int proc_fd, uint64_t soft_limit);
void memguard_free(struct memguard *g);

/* Change the soft limit (SIGHUP). */
void memguard_set_soft_limit(struct memguard *g, uint64_t bytes);

/* Sample (at most once a second: `now` is mono ns) and decide the level,
 * logging a change.  Returns the level; *s (may be NULL) gets the sample.
 * *changed tells whether the level moved at this call. */
int memguard_check(struct memguard *g, int64_t now, struct memguard_sample *s, bool *changed);

/* The level a fraction of the limit gives, from level `cur` (the
 * hysteresis above); exposed for the unit tests. */
int memguard_level(double frac, int cur);

/* The daemon's cgroup paths in a /proc/self/cgroup text (modified: the
 * paths are cut out of it in place): the v1 memory hierarchy's
 * ("N:memory:/p", "N:cpu,memory:/p") and cgroup2's ("0::/p"); NULL where
 * absent.  For the unit tests. */
struct cgroup_paths;
void memguard_cgroup_paths(char *buf, struct cgroup_paths *p);

/* What level `level` sheds, for messages ("file walks, ..."). */
const char *memguard_shed_text(int level);

#endif
