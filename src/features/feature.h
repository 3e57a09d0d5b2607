/*
 * feature.h - what a feature is.
 *
 * A feature reads one aspect of a system (its packages, its processes...)
 * through a view and streams records into a frame.  Each feature is one
 * file ending in a `const struct feature` filled with designated
 * initializers; features/registry.c lists them.  A feature never touches
 * /proc or the file system itself: only the view.
 *
 * crawl() returns 0 when it ran (even if some items failed: those are
 * counted with frame_error()), or a negative errno when the feature as a
 * whole could not run (which the caller records in the frame).
 */
#ifndef VANTAGE_FEATURE_H
#define VANTAGE_FEATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../frame/frame.h"
#include "../views/view.h"

/* Options of a crawl that features read. */
struct crawl_opts {
	double sample_interval;          /* metric: seconds between the two CPU samples */
	const char *const *config_paths; /* config: files or directories */
	int nconfig_paths;
	uint64_t config_max_size;         /* config: larger files are skipped */
	const char *file_root;            /* file: where the walk starts */
	const char *const *file_excludes; /* file: paths not descended into */
	int nfile_excludes;
	bool file_hash;         /* file: add SHA-256 of regular files */
	uint64_t file_hash_max; /* file: larger files are not hashed */
	bool progress;          /* file: progress line on stderr */
};

struct crawl_ctx {
	struct view *view;
	struct frame *frame; /* NULL while priming */
	const struct crawl_opts *opts;
	void *primed; /* what this feature's prime() returned, or NULL */
};

struct feature {
	const char *name;
	const char *description;
	/* Applies to a view that is only a file system (--root, images). */
	bool on_files_only;
	/* Reads nothing but files: no use on a view without them (a VM seen
	 * from its RAM). */
	bool needs_files;
	int (*crawl)(struct crawl_ctx *c);
	/*
	 * Optional, for features that measure rates over an interval: take
	 * the first sample now (c->frame is NULL) and return it; crawl()
	 * later finds it in c->primed, waits only what is left of the
	 * interval, and frees it with prime_free().  A crawl of many systems
	 * primes them all, sleeps one interval, then crawls them: the wait
	 * is paid once, not once per system.
	 */
	void *(*prime)(struct crawl_ctx *c);
	void (*prime_free)(void *state);
};

/* The registry (features/registry.c). */
extern const struct feature *const feature_table[];
extern const size_t feature_count;
const struct feature *feature_find(const char *name);

/* A struct view_iter whose error hook counts the error in the frame. */
struct view_iter feature_iter(struct crawl_ctx *c);

#endif
