/*
 * kept_views.h - views a daemon lane keeps open from tick to tick.
 *
 * A crawl of metric alone (most ticks) reads counters through a view whose
 * set-up (namespace and cgroup directory descriptors, netlink sockets in
 * the system's network namespace, the mount table) does not change while
 * the system lives, so the lane keeps one view per system for those
 * crawls instead of opening two per tick (one to prime, one to crawl).
 * Crawls with other features (processes, sockets: they need the
 * container's current pids) open fresh views.  Kinds whose views are
 * costly to open (keep_view: a VM's, which locates the guest kernel) are
 * always crawled through a kept view, and a failed open is retried every
 * KEPT_RETRY_NS, not at every tick (a guest still in its firmware).
 *
 * A kept view is dropped when its system is gone or restarted (another
 * `gen`: init pid, QEMU pid), and left alone (never closed) when its crawl
 * was abandoned.  Used by one lane thread only.
 */
#ifndef VANTAGE_KEPT_VIEWS_H
#define VANTAGE_KEPT_VIEWS_H

#include <stdint.h>

#include "../util/idset.h"
#include "target.h"

#define KEPT_RETRY_NS (30 * 1000000000LL)

struct kept_views {
	struct kept_view {
		uint64_t h; /* id hash */
		int gen;
		struct view *v;
	} * v;
	int n, cap;
	struct kept_fail { /* keep_view systems whose open failed */
		uint64_t h;
		int64_t at; /* mono ns of the failed attempt */
	} * fail;
	int nfail;
};

/* The kept view of target t (id hash h), opened now if needed; NULL when
 * it cannot be opened (then the crawl opens its own and reports why), or,
 * for keep_view kinds, when the last attempt failed less than
 * KEPT_RETRY_NS ago.  A failed open of a keep_view kind is logged (by the
 * caller, when `err` is not empty on return). */
struct view *kept_view(struct kept_views *kv, const struct target *t, uint64_t h, int proc_fd,
                       int64_t now, char *err, size_t errlen);
/* Forget a view without closing it: an abandoned crawl may still use it. */
void kept_forget(struct kept_views *kv, const struct view *v);
/* Close the views of systems not in `present`. */
void kept_prune(struct kept_views *kv, const struct idset *present);
void kept_free(struct kept_views *kv);

#endif
