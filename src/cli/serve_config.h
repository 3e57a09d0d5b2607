/*
 * serve_config.h - the configuration of `vantage serve`.
 *
 * One table (serve_config.c) lists every option: its INI section and key, its
 * command-line flag, its default and a line of help.  The same setter
 * parses a value whether it comes from the file or from a flag, so the
 * two can never disagree, `vantage serve --help` is printed from the
 * table, and docs/configuration.md documents the same list.
 *
 * Precedence: defaults, then the INI file, then flags.  On SIGHUP the
 * daemon builds a new config the same way (defaults, file, the flags it
 * was started with) and keeps the old one when that fails.
 *
 * The features' own options ([crawl] config_max_size, --config-max-size...)
 * come from their declarations (struct feature_option) and live in
 * `crawl`, one settings struct per feature.
 *
 * Intervals: one key per feature of the registry ([intervals] metric =
 * 10s, flag --metric-interval), default its default_interval.  A duration
 * is a number with an optional unit ms, s, m, h, d or w (no unit:
 * seconds), at least 1 s; "off" disables a feature (not one that
 * paces_discovery, metric: its interval also paces container discovery).
 *
 * Ownership: a struct serve_config owns every string in it; free it with
 * config_free().  config_copy() makes an independent copy.
 */
#ifndef VANTAGE_CONFIG_H
#define VANTAGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../analytics/alarm.h"
#include "../analytics/logfilter.h"
#include "../util/buf.h"
#include "../util/log.h"

#define CONFIG_DEFAULT_FILE "/etc/vantage/vantage.ini"
#define CONFIG_DEFAULT_DB "/var/lib/vantage/vantage.db"
#define CONFIG_DEFAULT_LISTEN "127.0.0.1:7070"
#define CONFIG_MAX_FEATURES 32        /* FEATURE_MAX of features/feature.h */
#define CONFIG_MAX_LIST 64            /* FEATURE_LIST_MAX */
#define CONFIG_MAX_FILE (1024 * 1024) /* bytes of the INI file */
#define CONFIG_MAX_LINE 16384         /* bytes of one line, without its '\n' */
#define CONFIG_MAX_ALARMS 4096        /* [alarm NAME] sections */

struct config_list {
	char *v[CONFIG_MAX_LIST];
	int n;
};

struct crawl_opts; /* features/feature.h */

struct serve_config {
	char *db_path;    /* [store] path */
	char *listen;     /* [api] listen: "host:port", "off" */
	char *token;      /* [api] token, NULL if none */
	char *token_file; /* [api] token_file, NULL if none */
	char *tls_cert;   /* [api] tls_cert: PEM certificate file, NULL: plain HTTP */
	char *tls_key;    /* [api] tls_key: its PEM private key file */
	char *ui_dir;     /* [api] ui_dir: the dashboard's files, NULL: next to the binary */
	/* [intervals]: seconds per feature of feature_table (same index);
	 * 0 = off */
	double interval[CONFIG_MAX_FEATURES];
	int workers;              /* [crawl] workers */
	double timeout;           /* [crawl] timeout, seconds per system */
	double file_timeout;      /* [crawl] file_timeout: the same for the file walk */
	bool containers;          /* [crawl] containers */
	bool vms;                 /* [crawl] vms */
	struct crawl_opts *crawl; /* [crawl] the features' options (owned) */
	struct config_list sinks; /* [output] sinks: URLs besides the store */
	char *spool_dir;          /* [output] spool_dir; NULL: "spool" next to the store */
	uint64_t spool_max_bytes; /* [output] spool_max_bytes, per sink */
	double spool_max_age;     /* [output] spool_max_age, seconds */
	enum log_level log_level; /* [log] level */
	uint64_t memory_limit;    /* [serve] memory_limit, bytes; 0: off (engine/memguard.h) */
	char *sample_ifaces;      /* [sample] interfaces: a comma list; NULL: none */
	uint32_t sample_rate;     /* [sample] rate: 1 in N */
	char *sflow_listen;       /* [sflow] listen: [ADDR:]PORT, NULL: off */
	int sflow_max_rate;       /* [sflow] max_rate: datagrams decoded per second */
	/* [logs]: the log collector (engine/logtail.h) */
	bool logs;                         /* [logs] enabled */
	bool drop_caps;                    /* [security] drop_capabilities */
	struct config_list log_globs;      /* [logs] globs (empty: the defaults) */
	struct config_list log_multiline;  /* [logs] multiline_start */
	uint64_t log_max_line;             /* [logs] max_line, bytes */
	double log_retention;              /* [logs] retention, seconds */
	struct config_list log_retain_src; /* [logs] retention_per_source: GLOB=DURATION */
	char *log_journal_dir;             /* [logs] journal_dir, NULL: the system's journal */
	/* [alarm NAME] sections: one alarm each (keys: alarm_def_set()),
	 * checked with alarm_def_check() at the end of the file */
	struct alarm_def *alarms;
	int nalarms;
	int *alarm_lines; /* the line of each alarm's first key */
	/* [logfilter NAME] sections: metric filters over the logs
	 * (analytics/logfilter.h), checked at the end of the file */
	struct logfilter_set logfilters;
};

/* Fill `c` with the defaults.  Returns 0 or -ENOMEM. */
int config_defaults(struct serve_config *c);
void config_free(struct serve_config *c);
int config_copy(struct serve_config *dst, const struct serve_config *src);
/* One [logs] retention_per_source entry "GLOB=DURATION" (split at its last
 * '='): the glob's length and the duration (1m to 366d).  0 or -EINVAL. */
int config_retain_split(const char *e, size_t *glob_len, double *secs);

/*
 * Set one option from its section and key (file) and a value text.
 * Section "alarm NAME" sets a key of alarm NAME (made on first use).
 * Returns 0, or -ENOENT for an unknown section/key, -EINVAL for a bad
 * value; `err` (errlen bytes) then says why ("not a duration: '5x' (use
 * e.g. 10s, 5m, 1h)").  `replace_list`: for list options, drop what the
 * list held first (the first flag replaces the file's list; more flags
 * add to it).
 */
int config_set(struct serve_config *c, const char *section, const char *key, const char *value,
               bool replace_list, char *err, size_t errlen);

/*
 * Read the INI file at `path` into `c` (over what it holds).  Returns 0;
 * -ENOENT when the file does not exist (err says so); -EINVAL for
 * something other than a regular file (a directory, /dev/zero, a FIFO:
 * refused without reading), a line longer than CONFIG_MAX_LINE or holding
 * a NUL byte, a syntax error, an unknown section or key, a key given twice
 * or a bad value, with err = "FILE, line N: [section] key: why"; -EFBIG for
 * a file over CONFIG_MAX_FILE; another negative errno when it cannot be
 * read.  On an error `c` may hold part of the file: callers build a new
 * config and drop it (SIGHUP keeps the current one).
 */
int config_load_file(struct serve_config *c, const char *path, char *err, size_t errlen);

/*
 * Flags.  config_flag_find() maps a flag name without dashes ("db",
 * "metric-interval") to its section and key, and says whether the flag
 * takes a value (flags of booleans don't: --hash, --no-hash).  Returns
 * false for an unknown flag.  `value_out` is set for value-less flags.
 */
bool config_flag_find(const char *flag, const char **section, const char **key, bool *has_arg,
                      const char **value_out);

/* Print the options with their flags, keys, defaults and help. */
void config_print_help(FILE *out);

/* Every option's current value as "[section] key = value" lines, for
 * logs and for telling which options changed on reload. */
void config_describe(const struct serve_config *c, struct buf *out);

#endif
