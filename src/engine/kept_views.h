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
 * Carries: the same entry keeps, per feature of feature_table, what the
 * last crawl of the system left for the next (struct crawl_ctx's carry:
 * metric's last sample), with the mono time it was left at.  A carry is
 * kept whether or not the view is (a crawl with other features opens a
 * fresh view but still starts from the last sample), freed with the
 * feature's prime_free() when it is too old to start from
 * (kept_carries_fresh) or when the system goes.
 *
 * A kept view is dropped when its system is gone or restarted (another
 * `gen`: init pid, QEMU pid), and left alone (never closed, its carries
 * never freed) when its crawl was abandoned.  Used by one lane thread only.
 */
#ifndef VANTAGE_KEPT_VIEWS_H
#define VANTAGE_KEPT_VIEWS_H

#include <stdint.h>

#include "../features/feature.h"
#include "../util/idset.h"
#include "target.h"

#define KEPT_RETRY_NS (30 * 1000000000LL)

struct kept_view {
	uint64_t h; /* id hash */
	int gen;
	struct view *v;                /* NULL: only carries kept */
	void *carry[FEATURE_MAX];      /* per feature of feature_table */
	int64_t carry_at[FEATURE_MAX]; /* mono ns each carry was left */
};

struct kept_views {
	struct kept_view **v; /* each allocated alone: pointers stay valid */
	int n, cap;
	struct kept_fail { /* keep_view systems whose open failed */
		uint64_t h;
		int64_t at; /* mono ns of the failed attempt */
	} * fail;
	int nfail;
};

/* The entry of target t (id hash h), created without a view if needed (an
 * entry of another gen closed and freed first); NULL when out of memory.
 * Valid until kept_prune() or kept_free(). */
struct kept_view *kept_entry(struct kept_views *kv, const struct target *t, uint64_t h);

/* The kept view of target t (id hash h), opened now if needed; NULL when
 * it cannot be opened (then the crawl opens its own and reports why), or,
 * for keep_view kinds, when the last attempt failed less than
 * KEPT_RETRY_NS ago.  A failed open of a keep_view kind is logged (by the
 * caller, when `err` is not empty on return). */
struct view *kept_view(struct kept_views *kv, const struct target *t, uint64_t h, int proc_fd,
                       int64_t now, char *err, size_t errlen);
/* Free the carries of entry e left more than max_age[f] ns before `now`
 * (per feature of feature_table). */
void kept_carries_fresh(struct kept_view *e, const int64_t *max_age, int64_t now);
/* Note the carries of e left by the features of `feats` (bits of
 * feature_table) as left at `now`. */
void kept_carries_left(struct kept_view *e, uint64_t feats, int64_t now);
/* Forget the entry of id hash h without closing its view or freeing its
 * carries: an abandoned crawl may still use them. */
void kept_forget(struct kept_views *kv, uint64_t h);
/* Close the views (and free the carries) of systems not in `present`. */
void kept_prune(struct kept_views *kv, const struct idset *present);
void kept_free(struct kept_views *kv);

#endif
