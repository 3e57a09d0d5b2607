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
 * counted with frame_error()), -ENOTSUP when the view cannot answer (the
 * frame header records the feature as skipped), or another negative errno
 * when the feature as a whole could not run (recorded as an error).
 *
 * A feature declares itself whole: its default interval and lane in
 * `vantage serve`, and its options (struct feature_option: config key,
 * flag, type, default, help, offset in its own settings struct).  The
 * flags of `vantage crawl` and `vantage serve`, the [crawl] keys of the
 * config file, `--help` and the option table of docs/configuration.md
 * all come from these declarations (features/options.c); crawl() reads
 * its typed settings with FEATURE_SETTINGS().  A feature with options
 * touches its own file, the registry and docs.
 */
#ifndef VANTAGE_FEATURE_H
#define VANTAGE_FEATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../frame/frame.h"
#include "../views/view.h"

#define FEATURE_MAX 32      /* features in the registry, at most */
#define FEATURE_LIST_MAX 64 /* entries of a list option */

/* Which thread of `vantage serve` crawls a feature: slow crawls never
 * delay fast ones. */
enum feature_lane { FEATURE_LANE_FAST, FEATURE_LANE_SLOW, FEATURE_LANE_FILE, FEATURE_NLANES };

/* The type of an option, and of its field in the feature's settings. */
enum feature_opt_type {
	FOPT_BOOL,     /* bool; the flag takes no value (--x; also --no-x) */
	FOPT_SIZE,     /* uint64_t bytes: 65536, 64K, 1M, 2G (K/M/G: powers of 1024) */
	FOPT_DURATION, /* double seconds: 250ms, 10s, 5m, 1.5h, 1d, 1w, or a bare number
	                  of seconds; between min and max */
	FOPT_STRING,   /* char * (owned), not empty */
	FOPT_LIST,     /* struct feature_list: a comma list in the file; the flag repeats
	                  (the first flag replaces the list, later ones add) */
};

struct feature_list {
	char *v[FEATURE_LIST_MAX]; /* owned */
	int n;
};

/*
 * One option of a feature (Fluent Bit's config_map): the same declaration
 * gives the flag of `vantage crawl` and `vantage serve`, the key in the
 * [crawl] section of the config file, the line of `--help`, and the
 * default.  A feature's `options` array ends with a zero entry.
 */
struct feature_option {
	const char *key;     /* [crawl] key of the config file; NULL: a flag of crawl only */
	const char *flag;    /* the long flag, without dashes */
	char short_flag;     /* of `vantage crawl`, or 0 */
	const char *metavar; /* of the flag's value (NULL for FOPT_BOOL) */
	enum feature_opt_type type;
	const char *dflt; /* the default as text, read by the same parser as a user's
	                     value (lists: a comma list); NULL: false, empty */
	double min, max;  /* FOPT_DURATION: the range allowed */
	const char *help; /* what it does, without the feature's name */
	size_t offset;    /* of the field in the feature's settings struct */
};

/*
 * Options of a crawl: each feature's own settings (its settings struct,
 * filled from the defaults, then the config file, then flags) plus what
 * is global.  Build with crawl_opts_init(), free with crawl_opts_free().
 */
struct crawl_opts {
	void *settings[FEATURE_MAX]; /* per index of feature_table; NULL: no options */
	bool progress;               /* progress lines of long walks on stderr */
	/* The wait between priming and crawling (seconds): the longest
	 * prime_wait() of the features; kept current by the functions below. */
	double sample_interval;
};

struct crawl_ctx {
	struct view *view;
	struct frame *frame; /* NULL while priming */
	const struct crawl_opts *opts;
	/* This feature's settings struct; NULL when the caller filled only
	 * opts: FEATURE_SETTINGS() then finds them there. */
	const void *settings;
	void *primed; /* what this feature's prime() returned, or NULL */
	/* The daemon, for a feature with prime(): where the last crawl of
	 * this system left its last sample (*carry, or NULL), which crawl()
	 * then takes as its first one instead of sampling twice, and where it
	 * leaves its own for the next crawl (freed with prime_free() by the
	 * owner).  NULL when there is no next crawl (`vantage crawl`). */
	void **carry;
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
	 * is paid once, not once per system.  A system whose crawl brings a
	 * carry (struct crawl_ctx) is not primed: the previous crawl's last
	 * sample is its first.
	 */
	void *(*prime)(struct crawl_ctx *c);
	void (*prime_free)(void *state);

	/* `vantage serve`: seconds between two crawls (0: off unless the
	 * config file or a flag sets an interval), and the lane. */
	double default_interval;
	enum feature_lane lane;
	/* Its interval also paces the discovery of containers and VMs: it
	 * cannot be off. */
	bool paces_discovery;
	/* Not in a crawl's default features: it runs when named (--features,
	 * or an [intervals] entry for the daemon). */
	bool opt_in;

	/* Options: an array ending with a zero entry (NULL: none), read into
	 * a settings struct of settings_size bytes that crawl() finds with
	 * FEATURE_SETTINGS(). */
	const struct feature_option *options;
	size_t settings_size;
	/* Optional: fit the settings to the interval `vantage serve` crawls
	 * the feature at (metric samples over min(1 s, interval / 2)). */
	void (*fit_interval)(void *settings, double interval);
	/* Optional, with prime(): how long crawl() waits after prime(), in
	 * seconds; a crawl of many systems sleeps the longest once. */
	double (*prime_wait)(const void *settings);
};

/* The registry (features/registry.c). */
extern const struct feature *const feature_table[];
extern const size_t feature_count;
const struct feature *feature_find(const char *name);

int feature_index(const struct feature *f); /* in feature_table, or -1 */

/* A struct view_iter whose error hook counts the error in the frame. */
struct view_iter feature_iter(struct crawl_ctx *c);

/* ---- options (features/options.c) ---- */

/* This crawl's settings of feature `f` (a struct feature), for crawl() and
 * prime(): `const struct file_settings *s = FEATURE_SETTINGS(c, feature_file);` */
#define FEATURE_SETTINGS(c, f)                                                                     \
	((c)->settings ? (c)->settings : crawl_opts_settings((c)->opts, &(f)))

/* Every feature's settings at their defaults; 0, -ENOMEM, or -EINVAL for a
 * default that does not parse (a bad declaration; said on stderr). */
int crawl_opts_init(struct crawl_opts *o);
void crawl_opts_free(struct crawl_opts *o);
int crawl_opts_copy(struct crawl_opts *dst, const struct crawl_opts *src);
const void *crawl_opts_settings(const struct crawl_opts *o, const struct feature *f);

/* The option of config key `key` or of long flag `flag` (for a boolean
 * also "no-FLAG": *negated is set), and its feature; NULL if none.
 * by_flag finds crawl-only options too (those without a key) when
 * `crawl_only` is true. */
const struct feature_option *feature_option_by_key(const char *key, const struct feature **f);
const struct feature_option *feature_option_by_flag(const char *flag, bool crawl_only,
                                                    const struct feature **f, bool *negated);

/*
 * Set one option from text.  `replace_list`: a list drops what it held
 * first.  Returns 0, -EINVAL with `err` saying why, or -ENOMEM.  The
 * message names the value; as_flag: it also names the flag ("--hash-max-size
 * 'x' is not a size"), else it is what follows "[crawl] KEY: " ("not a
 * size: 'x' (use e.g. 65536, 64K, 1M)").
 */
int crawl_opts_set(struct crawl_opts *o, const struct feature *f, const struct feature_option *opt,
                   const char *value, bool replace_list, bool as_flag, char *err, size_t errlen);

/* The current value as text (what crawl_opts_set() reads back). */
void crawl_opts_format(const struct crawl_opts *o, const struct feature *f,
                       const struct feature_option *opt, char *dst, size_t cap);

/* `vantage serve`: fit each feature's settings to its crawl interval
 * (seconds per index of feature_table). */
void crawl_opts_fit(struct crawl_opts *o, const double *interval);

/* Help lines of every option: crawl style ("  -i, --interval SEC  metric:
 * ... (default 1)"), or serve style (options with a key, with "(key =
 * default)" below), or a Markdown table (docs/configuration.md). */
enum feature_help { FEATURE_HELP_CRAWL, FEATURE_HELP_SERVE, FEATURE_HELP_MARKDOWN };
void feature_options_help(FILE *out, enum feature_help style);
/* Print `text` from column `col` (the cursor at column `at`), wrapped
 * before column 79. */
void feature_help_wrap(FILE *out, const char *text, int col, int at);

/* Value parsers shared with the config file.  Durations: a number with
 * an optional unit ms, s, m, h, d or w (none: seconds), the syntax of the
 * API (parse_duration_sec of util/timefmt.h, to the ms); sizes: bytes with an optional K, M or G
 * (and B).  0 or -EINVAL. */
int feature_parse_duration(const char *s, double *out);
int feature_parse_size(const char *s, uint64_t *out);
/* true/false, yes/no, on/off, 1/0 (any case).  0 or -EINVAL. */
int feature_parse_bool(const char *s, bool *out);
void feature_format_duration(double s, char *dst, size_t cap); /* 0: "off" */
void feature_format_size(uint64_t v, char *dst, size_t cap);

#endif
