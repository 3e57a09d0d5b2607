/*
 * fake_view.h - a view backed by arrays, for unit tests of features; and
 * fake_crawl(), which runs one feature into a frame in memory and hands
 * back its records parsed with jansson.
 *
 * Not a test itself: the Makefile links tests/unit/fake_view.c (the view
 * and the crawl) and fake_frame.c (reading the frame back with jansson)
 * into every unit-test binary (build/unit/test_*).
 *
 * A test fills a struct fake_view (fake_view_init() first), then crawls
 * &fv.base.  Every op of view.h is served:
 *
 *   processes sockets modules filesystems   the arrays procs, socks, ...
 *   kernel memory load                      the structs kernel, mem, load
 *   cpu_times disk_io interfaces cgroup     per SAMPLE: the n-th call of the
 *                                           op serves sample min(n, last
 *                                           sample set), so a metric crawl
 *                                           sees two different snapshots
 *   file_open file_read file_stat file_close stat walk walk_open
 *                                           the array `files` (path -> type,
 *                                           content, stat); directories that
 *                                           hold a listed path exist by
 *                                           themselves (mode 0755), "/" always
 *
 * Failures: fv.err[FAKE_x] = -EACCES makes op x return that (whole-op
 * failure); fake_view_item_error() makes an iterating op call its error
 * hook once before listing; fake_view_drop() sets the op(s) NULL so the
 * wrapper returns -ENOTSUP; a file with open_err fails to open (a
 * directory with open_err is reported by a walk, then its error hook is
 * called instead of descending).
 *
 * Records given to callbacks are the test's own (borrowed), as a backend's
 * are.  A walk visits a directory's entries sorted by name, depth first,
 * the walk's root itself first (depth 0), as views/fsroot.c does.
 */
#ifndef VANTAGE_TEST_FAKE_VIEW_H
#define VANTAGE_TEST_FAKE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "views/view.h"

/* A test includes <jansson.h> itself; the records come back as jansson's
 * json_t (= struct json_t). */
struct json_t;
struct feature;

enum fake_op {
	FAKE_PROCESSES,
	FAKE_SOCKETS,
	FAKE_KERNEL,
	FAKE_MODULES,
	FAKE_CPU_TIMES,
	FAKE_MEMORY,
	FAKE_LOAD,
	FAKE_FILESYSTEMS,
	FAKE_DISK_IO,
	FAKE_INTERFACES,
	FAKE_CGROUP,
	FAKE_FILES, /* file_open, stat, walk, walk_open (and read/stat/close) */
	FAKE_MAPPINGS,
	FAKE_NOPS,
};

#define FAKE_SAMPLES 4

/* One file of the fake system. Zero values mean: a regular file, mode
 * 0644 (0755 for a directory), size = len, len = strlen(content). */
struct fake_file {
	const char *path; /* absolute, no trailing slash: "/etc/hosts" */
	enum vt_ftype type;
	const char *content; /* regular files (NULL: empty) */
	size_t len;
	uint64_t size; /* what stat says, if not len (a file that lies) */
	uint32_t mode, uid, gid;
	int64_t mtime, ctime;
	uint64_t inode, nlink;
	const char *link; /* symlinks: target as stored */
	int open_err;     /* positive errno: the file cannot be opened / the dir listed */
};

struct fake_view {
	struct view base;    /* &fv.base is the view */
	struct view_ops ops; /* set a member NULL (or fake_view_drop()) for -ENOTSUP */

	const struct vt_proc *procs;
	size_t nprocs;
	const struct vt_sock *socks;
	size_t nsocks;
	struct vt_kernel kernel;
	const struct vt_module *modules;
	size_t nmodules;
	struct vt_mem mem;
	struct vt_load load;
	const struct vt_fs *fs;
	size_t nfs;
	/* mappings: for process maps[i].pid (the vt_proc pid), the text of its
	 * /proc/PID/maps (parsed by the real parser); err: the op fails so */
	const struct fake_maps {
		int pid;
		const char *text;
		int err;
	} * maps;
	size_t nmaps;

	/* counters, one snapshot per sample (set with the setters below) */
	struct {
		const struct vt_cpu *v;
		size_t n;
	} cpu[FAKE_SAMPLES];
	struct {
		const struct vt_diskio *v;
		size_t n;
	} disk[FAKE_SAMPLES];
	struct {
		const struct vt_iface *v;
		size_t n;
	} ifaces[FAKE_SAMPLES];
	struct vt_cgroup cgroup[FAKE_SAMPLES];
	int nsamples[FAKE_NOPS]; /* samples set, per op */

	const struct fake_file *files;
	size_t nfiles;

	int err[FAKE_NOPS]; /* negative errno the op returns, 0: works */
	const char *item_err_what[FAKE_NOPS];
	int item_err[FAKE_NOPS]; /* positive errno given to the error hook */

	unsigned calls[FAKE_NOPS]; /* how often each op was called */
	int open_files;            /* vfiles open now: 0 after a crawl */
};

/* Zero everything and install the ops. */
void fake_view_init(struct fake_view *fv);
/* Make op (or all file ops for FAKE_FILES) NULL: the view lacks it. */
void fake_view_drop(struct fake_view *fv, enum fake_op op);
/* Have iterating op call its error hook once with (what, err). */
void fake_view_item_error(struct fake_view *fv, enum fake_op op, const char *what, int err);

/* Snapshot `sample` (0, 1, ...) of the counters. */
void fake_view_cpu(struct fake_view *fv, int sample, const struct vt_cpu *v, size_t n);
void fake_view_disk(struct fake_view *fv, int sample, const struct vt_diskio *v, size_t n);
void fake_view_ifaces(struct fake_view *fv, int sample, const struct vt_iface *v, size_t n);
void fake_view_cgroup(struct fake_view *fv, int sample, const struct vt_cgroup *cg);

/* ---- running a feature ---------------------------------------------------- */

/*
 * What a test asks of a crawl, independent of how features receive their
 * options: fake_crawl() turns it into the feature's settings in one place.
 * fake_opts_init() gives the defaults of `vantage crawl`.
 */
struct fake_opts {
	double sample_interval; /* metric (CLI default 1.0; tests use less) */
	const char *const *config_paths;
	int nconfig_paths;
	uint64_t config_max_size; /* 64 KiB */
	const char *file_root;    /* "/" */
	const char *const *file_excludes;
	int nfile_excludes;
	bool file_hash;
	uint64_t file_hash_max; /* 64 MiB */
	bool crawler_format;    /* FRAME_CRAWLER instead of FRAME_JSON */
	bool prime;             /* call the feature's prime() first, as a many-system crawl does */
	void **carry;           /* the crawl's carry slot (struct crawl_ctx), as the daemon's */
	/* any other option, as `vantage crawl` flag and value ("true" for a
	 * boolean flag): {"library-deleted-only", "true"} */
	struct {
		const char *flag, *value;
	} set[4];
	int nset;
};

void fake_opts_init(struct fake_opts *o);

/* A crawled frame. */
struct fake_frame {
	int rc;              /* what crawl() returned */
	char *text;          /* the frame as written (NUL-terminated) */
	size_t len;          /* bytes of text */
	struct json_t *head; /* JSON format: the header's value object */
	struct json_t *recs; /* JSON format: array of the other records, whole */
};

/*
 * Run feature `ft` on view `v` into one frame (JSON or crawler format)
 * written to a memory sink, as the crawl engine does: prime (if asked),
 * crawl, -ENOTSUP counted as skipped, another error as an error.  Fails
 * the test (cmocka) when the frame cannot be written or parsed.
 */
void fake_crawl(const struct feature *ft, struct view *v, const struct fake_opts *o,
                struct fake_frame *out);
void fake_frame_free(struct fake_frame *fr);
/* (fake_frame.c) Parse fr->text (JSON format) into head and recs. */
void fake_frame_parse(struct fake_frame *fr);

/* The value object of the record keyed `key`, or NULL. */
struct json_t *fake_value(const struct fake_frame *fr, const char *key);
size_t fake_nrecs(const struct fake_frame *fr);
/* Header counts for the feature (or "frame"). */
uint64_t fake_errors(const struct fake_frame *fr, const char *feature);
uint64_t fake_skipped(const struct fake_frame *fr, const char *feature);
/* True when some header message of `feature` contains `part`. */
bool fake_message(const struct fake_frame *fr, const char *feature, const char *part);

/* Fields of a value object (fail the test when missing or mistyped). */
const char *fake_str(struct json_t *obj, const char *name);
double fake_num(struct json_t *obj, const char *name);
bool fake_has(struct json_t *obj, const char *name);

#endif
