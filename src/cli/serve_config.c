/*
 * serve_config.c - options of `vantage serve`: one table, parsed the same way
 * from the INI file (libinih) and from flags (see serve_config.h).
 *
 * The table `opts[]` holds the daemon's own options.  The features' options
 * ([crawl] keys such as config_max_size) and the [intervals] (one per
 * feature, its default_interval) come from the feature declarations
 * (features/feature.h, features/options.c), so a new feature gets its
 * keys, flags and help lines without an edit here.
 *
 * Line numbers: inih reports the line of the first syntax error but does
 * not pass line numbers to the handler in Debian's build, so the file is
 * fed through a reader that counts lines; the handler then knows the line
 * of the key it is looking at.
 *
 * Hostile files: only a regular file (or /dev/null) of at most 1 MiB is
 * read, whole, before parsing; the reader refuses a line over 16 KiB or
 * holding a NUL byte, naming it.  A reload (SIGHUP) goes through the same
 * config_load_file(), so such a file keeps the current configuration.
 */
#include "serve_config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <regex.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../engine/sflow_collector.h"
#include "../features/feature.h"
#include "../server/server.h"
#include "../store/store.h"
#include "../targets/logsrc.h"
#include "../util/util.h"

#define MAX_INTERVAL (30 * 86400.0)

enum opt_type {
	T_PATH,    /* a non-empty string */
	T_OPTSTR,  /* a string; "" means none (NULL) */
	T_LISTEN,  /* host:port or off */
	T_WORKERS, /* 1..64 */
	T_SECONDS, /* a time limit: a duration from 1 s to 1 d */
	T_BOOL,
	T_LEVEL,
	T_INTERVAL, /* [intervals]: off or a duration >= 1 s */
	T_URLS,     /* sink URLs: a comma list (urls_add); the flag repeats */
	T_SIZE,     /* bytes with K, M, G: from 64K to 1T */
	T_AGE,      /* a duration from 1 min to 1 year */
	T_RATE,     /* [sample] rate: 1 in N, N from 1 to 1000000 */
	T_SFLOW,    /* sFlow collector: [ADDR:]PORT, or off (NULL) */
	T_PERSEC,   /* a count per second: 1..10,000,000 */
	T_GLOBS,    /* [logs] globs: absolute globs, a comma list; the flag repeats */
	T_PATTERNS, /* [logs] multiline_start: entries separated by ";;"; the flag repeats */
	T_LINESIZE, /* [logs] max_line: 256 to 1M */
	T_MEMLIMIT, /* [serve] memory_limit: off (0) or a size from 4M to 1T */
	T_RETAINS,  /* [logs] retention_per_source: GLOB=DURATION entries separated by ";;" */
};

struct opt_def {
	const char *section, *key, *flag, *metavar, *help;
	enum opt_type type;
	size_t off;
};

#define OFF(f) offsetof(struct serve_config, f)

static const struct opt_def opts[] = {
    {"store", "path", "db", "URL",
     "the store: a SQLite file (its directory is created) or postgres://...", T_PATH, OFF(db_path)},
    {"api", "listen", "listen", "ADDR",
     "address:port of the REST API, or off; an address other than loopback "
     "needs a token",
     T_LISTEN, OFF(listen)},
    {"api", "token", "token", "TOKEN",
     "bearer token API clients must send (prefer token_file: flags show in ps)", T_OPTSTR,
     OFF(token)},
    {"api", "token_file", "token-file", "FILE", "read the bearer token from the first line of FILE",
     T_OPTSTR, OFF(token_file)},
    {"api", "tls_cert", "tls-cert", "FILE",
     "serve HTTPS with this PEM certificate (chain); needs tls_key (docs/api.md)", T_OPTSTR,
     OFF(tls_cert)},
    {"api", "tls_key", "tls-key", "FILE", "the PEM private key of tls_cert (keep it mode 600)",
     T_OPTSTR, OFF(tls_key)},
    {"api", "ui_dir", "ui-dir", "DIR",
     "the dashboard's files (index.html, app/, the npm libraries); default: found next to "
     "the binary (docs/dashboard.md)",
     T_OPTSTR, OFF(ui_dir)},
    {"crawl", "workers", "workers", "N", "systems crawled in parallel (1-64)", T_WORKERS,
     OFF(workers)},
    {"crawl", "timeout", "timeout", "DURATION", "time limit of one system's crawl", T_SECONDS,
     OFF(timeout)},
    {"crawl", "file_timeout", "file-timeout", "DURATION",
     "time limit of one system's file walk (the file feature)", T_SECONDS, OFF(file_timeout)},
    {"crawl", "containers", "containers", NULL,
     "watch the containers of this host too (--no-containers: the host only)", T_BOOL,
     OFF(containers)},
    {"crawl", "vms", "vms", NULL,
     "watch this host's QEMU guests too, from their RAM (--no-vms: not)", T_BOOL, OFF(vms)},
    {"security", "drop_capabilities", "drop-caps", NULL,
     "at start, drop every capability the enabled views do not need (docs/security.md; on in "
     "dist/vantage.service)",
     T_BOOL, OFF(drop_caps)},
    {"output", "sinks", "sink", "URL",
     "where every frame goes besides the store: a sink URL (-, PATH, file:PATH, sqlite:PATH, "
     "http(s)://, kafka://, graphite://; see docs/sinks.md); a comma list in the file (the "
     "brokers of kafka://B1,B2/TOPIC stay one URL), the flag repeats; SIGHUP applies it",
     T_URLS, OFF(sinks)},
    {"output", "spool_dir", "spool-dir", "DIR",
     "where sinks that can wait (http) spool frames while their far end is down, one "
     "directory per sink (default: spool/ next to the store)",
     T_OPTSTR, OFF(spool_dir)},
    {"output", "spool_max_bytes", "spool-max-bytes", "SIZE",
     "bound of each sink's spool; when full its oldest frames are dropped and counted", T_SIZE,
     OFF(spool_max_bytes)},
    {"output", "spool_max_age", "spool-max-age", "DURATION",
     "spooled frames older than this are dropped (counted) instead of replayed", T_AGE,
     OFF(spool_max_age)},
    {"log", "level", "log-level", "LEVEL", "debug, info, warn, error or off", T_LEVEL,
     OFF(log_level)},
    {"serve", "memory_limit", "memory-limit", "SIZE",
     "shed work (file walks, then package and config crawls and new live tails, then all "
     "but metric) as the daemon's memory nears this limit or its cgroup's, whichever is "
     "tighter (docs/running.md); off: the cgroup's limit only",
     T_MEMLIMIT, OFF(memory_limit)},
    /* packet sampling (docs/flows.md) */
    {"sample", "interfaces", "sample", "IFACE[,IFACE...]",
     "sample packets on these interfaces of the host (veth ends of containers too) and send "
     "them to the sinks as sFlow flow samples; default none",
     T_OPTSTR, OFF(sample_ifaces)},
    {"sample", "rate", "sample-rate", "N", "sample 1 packet in N (1-1000000)", T_RATE,
     OFF(sample_rate)},
    /* sFlow collector (engine/sflow_collector.h, docs/sflow.md) */
    {"sflow", "listen", "sflow-listen", "[ADDR:]PORT",
     "receive sFlow v5 from Host sFlow agents on this UDP address (a bare port: every "
     "address); their hosts, VMs and containers become systems; off: no collector",
     T_SFLOW, OFF(sflow_listen)},
    {"sflow", "max_rate", "sflow-max-rate", "N",
     "sFlow datagrams decoded per second at most; a flood beyond it is dropped and counted",
     T_PERSEC, OFF(sflow_max_rate)},
    /* [logs]: the log collector (docs/logs.md) */
    {"logs", "enabled", "logs", NULL,
     "collect the logs of this host, its containers and VMs into the store (--no-logs: not)",
     T_BOOL, OFF(logs)},
    {"logs", "globs", "log-glob", "GLOB",
     "files tailed in each system's root (a wildcard only in the last component); a comma "
     "list in the file, the flag repeats",
     T_GLOBS, OFF(log_globs)},
    {"logs", "multiline_start", "log-multiline-start", "REGEX",
     "a line matching REGEX starts a record, others join the one before (stack traces); "
     "GLOB=>REGEX for the sources matching GLOB only; entries separated by ;; in the file, "
     "the flag repeats",
     T_PATTERNS, OFF(log_multiline)},
    {"logs", "max_line", "log-max-line", "SIZE",
     "longest line stored; longer ones are cut with a marker and counted", T_LINESIZE,
     OFF(log_max_line)},
    {"logs", "journal_dir", "log-journal-dir", "DIR",
     "read the systemd journal files in DIR instead of the system's journal (/var/log/journal, "
     "/run/log/journal)",
     T_OPTSTR, OFF(log_journal_dir)},
    {"logs", "retention", "log-retention", "DURATION",
     "how long log lines are kept: every source's default (the store's maintenance, every "
     "minute, deletes older ones)",
     T_AGE, OFF(log_retention)},
    {"logs", "retention_per_source", "log-retention-source", "GLOB=DURATION",
     "the sources whose name (stdout, stderr, journal, kmsg, console, file:PATH) matches "
     "GLOB keep their lines DURATION instead ('*' matches '/' too; the first entry matching "
     "wins); entries separated by ;; in the file, the flag repeats",
     T_RETAINS, OFF(log_retain_src)},
};

static void urls_clear(struct config_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

/* Where the sink URL starting at p ends: at a ',' (or the end), except
 * that a "scheme://" URL's authority keeps its commas: the brokers of
 * kafka://B1:9092,B2:9092/TOPIC. */
static const char *url_end(const char *p)
{
	const char *q = p;
	while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
	       *q == '+' || *q == '.' || *q == '-')
		q++;
	if (q > p && strncmp(q, "://", 3) == 0)
		q += 3 + strcspn(q + 3, "/?#"); /* past the authority */
	else
		q = p;
	return q + strcspn(q, ",");
}

/* Add the URLs of `value` to the list: separated by commas (and blanks
 * around them); a URL's authority keeps its commas (url_end()). */
static int urls_add(struct config_list *l, const char *value, char *err, size_t errlen)
{
	const char *p = value;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *end = url_end(p);
		size_t n = (size_t)(end - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (!n) {
			snprintf(err, errlen, "an empty sink URL in '%s'", value);
			return -EINVAL;
		}
		if (l->n == CONFIG_MAX_LIST) {
			snprintf(err, errlen, "more than %d sinks", CONFIG_MAX_LIST);
			return -EINVAL;
		}
		if (!(l->v[l->n] = strndup(p, n)))
			return -ENOMEM;
		l->n++;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

/* Add the `sep`-separated entries of `value` to a list of [logs]. */
int config_retain_split(const char *e, size_t *glob_len, double *secs)
{
	const char *eq = strrchr(e, '=');
	const char *d = eq ? eq + 1 : NULL;
	while (d && (*d == ' ' || *d == '\t'))
		d++;
	if (!eq || eq == e || feature_parse_duration(d, secs) < 0 || *secs < 60 ||
	    *secs > 366 * 86400.0)
		return -EINVAL;
	size_t n = (size_t)(eq - e);
	while (n && (e[n - 1] == ' ' || e[n - 1] == '\t'))
		n--;
	*glob_len = n;
	return n ? 0 : -EINVAL;
}

static int list_add(struct config_list *l, const char *value, const char *sep, enum opt_type kind,
                    char *err, size_t errlen)
{
	bool globs = kind == T_GLOBS;
	const char *p = value;
	size_t sl = strlen(sep);
	for (;;) {
		const char *at = strstr(p, sep);
		size_t n = at ? (size_t)(at - p) : strlen(p);
		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (!n) {
			snprintf(err, errlen, "an empty entry in '%s'", value);
			return -EINVAL;
		}
		if (l->n == CONFIG_MAX_LIST) {
			snprintf(err, errlen, "more than %d entries", CONFIG_MAX_LIST);
			return -EINVAL;
		}
		char *e = strndup(p, n);
		if (!e)
			return -ENOMEM;
		char dir[PATH_MAX];
		const char *pat;
		regex_t re;
		const char *arrow = strstr(e, "=>");
		int rc = 0;
		size_t gl;
		double secs;
		if (kind == T_RETAINS) {
			if (config_retain_split(e, &gl, &secs) < 0) {
				snprintf(
				    err, errlen,
				    "'%s' is not GLOB=DURATION with a duration from 1m to 366d", e);
				rc = -EINVAL;
			}
		} else if (globs && logsrc_glob_split(e, dir, sizeof(dir), &pat) < 0) {
			snprintf(
			    err, errlen,
			    "'%s' is not an absolute glob with wildcards in its last component "
			    "only",
			    e);
			rc = -EINVAL;
		} else if (!globs && (rc = regcomp(&re, arrow ? arrow + 2 : e,
		                                   REG_EXTENDED | REG_NOSUB)) != 0) {
			char why[128];
			regerror(rc, &re, why, sizeof(why));
			snprintf(err, errlen, "'%s': %s", e, why);
			rc = -EINVAL;
		} else if (!globs) {
			regfree(&re);
		}
		if (rc < 0) {
			free(e);
			return rc;
		}
		l->v[l->n++] = e;
		if (!at)
			return 0;
		p = at + sl;
	}
}

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

static int nfeatures(void)
{
	return feature_count < CONFIG_MAX_FEATURES ? (int)feature_count : CONFIG_MAX_FEATURES;
}

/* ---- value parsers -------------------------------------------------------- */

/* host:port, [v6]:port, :port, port, or off: the server's own parser. */
static int check_listen(const char *s, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool loopback;
	if (strcmp(s, "off") == 0)
		return 0;
	return server_parse_listen(s, &ss, &len, &loopback, err, errlen);
}

/* ---- setting one option ---------------------------------------------------- */

static const struct opt_def *find_opt(const char *section, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (strcmp(opts[i].section, section) == 0 && strcmp(opts[i].key, key) == 0)
			return &opts[i];
	return NULL;
}

static int feature_by_name(const char *name)
{
	for (int i = 0; i < nfeatures(); i++)
		if (strcmp(feature_table[i]->name, name) == 0)
			return i;
	return -1;
}

static int set_str(char **slot, const char *value, bool nullable)
{
	char *d = NULL;
	if (!(nullable && !*value)) {
		d = strdup(value);
		if (!d)
			return -ENOMEM;
	}
	free(*slot);
	*slot = d;
	return 0;
}

static int set_interval(struct serve_config *c, int fi, const char *value, char *err, size_t errlen)
{
	const struct feature *f = feature_table[fi];
	double d;
	if (strcmp(value, "on") == 0) { /* the default, or daily for an opt-in feature */
		c->interval[fi] = f->default_interval > 0 ? f->default_interval : 86400;
		return 0;
	}
	if (strcmp(value, "off") == 0 || strcmp(value, "0") == 0) {
		if (f->paces_discovery) {
			snprintf(err, errlen,
			         "%s cannot be off (its interval also paces container "
			         "discovery); use a duration from 1s",
			         f->name);
			return -EINVAL;
		}
		c->interval[fi] = 0;
		return 0;
	}
	if (feature_parse_duration(value, &d) < 0) {
		snprintf(err, errlen, "not a duration: '%s' (use e.g. 10s, 5m, 1h, 1d, on or off)",
		         value);
		return -EINVAL;
	}
	if (d < 1 || d > MAX_INTERVAL) {
		snprintf(err, errlen, "'%s' is out of range: from 1s to 30d", value);
		return -EINVAL;
	}
	c->interval[fi] = d;
	return 0;
}

static int set_opt(struct serve_config *c, const struct opt_def *o, const char *value,
                   bool replace_list, char *err, size_t errlen)
{
	void *slot = (char *)c + o->off;
	switch (o->type) {
	case T_PATH:
		if (!*value) {
			snprintf(err, errlen, "must not be empty");
			return -EINVAL;
		}
		return set_str(slot, value, false);
	case T_OPTSTR:
		return set_str(slot, value, true);
	case T_LISTEN:
		if (check_listen(value, err, errlen) < 0)
			return -EINVAL;
		return set_str(slot, value, false);
	case T_SFLOW: {
		struct sockaddr_storage ss;
		socklen_t len;
		if (strcmp(value, "off") == 0 || !*value)
			return set_str(slot, "", true);
		if (sflow_listen_parse(value, &ss, &len, err, errlen) < 0)
			return -EINVAL;
		return set_str(slot, value, false);
	}
	case T_PERSEC: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < 1 || v > 10000000) {
			snprintf(err, errlen, "not a number from 1 to 10000000: '%s'", value);
			return -EINVAL;
		}
		*(int *)slot = (int)v;
		return 0;
	}
	case T_WORKERS: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < 1 || v > 64) {
			snprintf(err, errlen, "not a number from 1 to 64: '%s'", value);
			return -EINVAL;
		}
		*(int *)slot = (int)v;
		return 0;
	}
	case T_SECONDS: {
		double d;
		if (feature_parse_duration(value, &d) < 0 || d < 1 || d > 86400) {
			snprintf(err, errlen, "not a duration from 1s to 1d: '%s' (use e.g. 30s)",
			         value);
			return -EINVAL;
		}
		*(double *)slot = d;
		return 0;
	}
	case T_BOOL:
		if (feature_parse_bool(value, slot) < 0) {
			snprintf(err, errlen, "not a boolean: '%s' (use true or false)", value);
			return -EINVAL;
		}
		return 0;
	case T_LEVEL: {
		int l = log_level_parse(value);
		if (l < 0) {
			snprintf(err, errlen, "unknown level '%s' (debug, info, warn, error, off)",
			         value);
			return -EINVAL;
		}
		*(enum log_level *)slot = (enum log_level)l;
		return 0;
	}
	case T_URLS:
		if (replace_list)
			urls_clear(slot);
		return urls_add(slot, value, err, errlen);
	case T_SIZE: {
		uint64_t v;
		if (feature_parse_size(value, &v) < 0 || v < 65536 || v > (1ull << 40)) {
			snprintf(err, errlen, "not a size from 64K to 1024G: '%s' (use e.g. 512M)",
			         value);
			return -EINVAL;
		}
		*(uint64_t *)slot = v;
		return 0;
	}
	case T_RATE: {
		char *end;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno || end == value || *end || v < 1 || v > 1000000) {
			snprintf(err, errlen, "not a number from 1 to 1000000: '%s'", value);
			return -EINVAL;
		}
		*(uint32_t *)slot = (uint32_t)v;
		return 0;
	}
	case T_AGE: {
		double d;
		if (feature_parse_duration(value, &d) < 0 || d < 60 || d > 366 * 86400.0) {
			snprintf(err, errlen, "not a duration from 1m to 366d: '%s' (use e.g. 7d)",
			         value);
			return -EINVAL;
		}
		*(double *)slot = d;
		return 0;
	}
	case T_GLOBS:
	case T_PATTERNS:
	case T_RETAINS:
		if (replace_list)
			urls_clear(slot);
		return list_add(slot, value, o->type == T_GLOBS ? "," : ";;", o->type, err, errlen);
	case T_MEMLIMIT: {
		uint64_t v = 0;
		if (strcmp(value, "off") != 0 &&
		    (feature_parse_size(value, &v) < 0 || v < (4u << 20) || v > (1ull << 40))) {
			snprintf(err, errlen,
			         "not off or a size from 4M to 1024G: '%s' (use e.g. 256M)", value);
			return -EINVAL;
		}
		*(uint64_t *)slot = v;
		return 0;
	}
	case T_LINESIZE: {
		uint64_t v;
		if (feature_parse_size(value, &v) < 0 || v < 256 || v > (1u << 20)) {
			snprintf(err, errlen, "not a size from 256 to 1M: '%s' (use e.g. 16K)",
			         value);
			return -EINVAL;
		}
		*(uint64_t *)slot = v;
		return 0;
	}
	case T_INTERVAL:
		break;
	}
	return -EINVAL;
}

/* "[alarm NAME] key": the alarm's key, the alarm made on first use. */
static int set_alarm(struct serve_config *c, const char *name, const char *key, const char *value,
                     char *err, size_t errlen)
{
	while (*name == ' ' || *name == '\t')
		name++;
	if (!*name) {
		snprintf(err, errlen, "an alarm section needs a name: [alarm NAME]");
		return -EINVAL;
	}
	int i = 0;
	while (i < c->nalarms && strcmp(c->alarms[i].name, name) != 0)
		i++;
	if (i == c->nalarms) {
		if (c->nalarms == CONFIG_MAX_ALARMS) {
			snprintf(err, errlen, "more than %d alarms", CONFIG_MAX_ALARMS);
			return -EINVAL;
		}
		struct alarm_def *a = realloc(c->alarms, (size_t)(c->nalarms + 1) * sizeof(*a));
		if (!a)
			return -ENOMEM;
		c->alarms = a;
		int *l = realloc(c->alarm_lines, (size_t)(c->nalarms + 1) * sizeof(*l));
		if (!l)
			return -ENOMEM;
		c->alarm_lines = l;
		alarm_def_init(&c->alarms[i], name);
		c->alarm_lines[i] = 0;
		c->nalarms++;
	}
	char why[400];
	int r = alarm_def_set(&c->alarms[i], key, value, why, sizeof(why));
	if (r < 0) {
		/* alarm_def_set's message names the key first: "period: ..." */
		size_t kl = strlen(key);
		const char *w = strncmp(why, key, kl) == 0 && why[kl] == ':' ? why + kl + 1 : why;
		while (*w == ' ')
			w++;
		snprintf(err, errlen, "%s", w);
	}
	return r;
}

int config_set(struct serve_config *c, const char *section, const char *key, const char *value,
               bool replace_list, char *err, size_t errlen)
{
	if (strncmp(section, "alarm ", 6) == 0)
		return set_alarm(c, section + 6, key, value, err, errlen);
	if (strncmp(section, "logfilter ", 10) == 0)
		return logfilter_set_key(&c->logfilters, section + 10, key, value, err, errlen);
	if (strcmp(section, "intervals") == 0) {
		int fi = feature_by_name(key);
		if (fi < 0) {
			snprintf(err, errlen, "unknown feature '%s' (see 'vantage features')", key);
			return -ENOENT;
		}
		return set_interval(c, fi, value, err, errlen);
	}
	const struct opt_def *o = find_opt(section, key);
	const struct feature *f;
	const struct feature_option *fo;
	if (!o && strcmp(section, "crawl") == 0 && (fo = feature_option_by_key(key, &f))) {
		int r = crawl_opts_set(c->crawl, f, fo, value, replace_list, false, err, errlen);
		if (r == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		return r;
	}
	if (!o) {
		bool known_section = false;
		for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
			known_section |= strcmp(opts[i].section, section) == 0;
		if (known_section)
			snprintf(err, errlen, "unknown key (see docs/configuration.md)");
		else
			snprintf(err, errlen,
			         "unknown section [%s] (sections: store, api, intervals, "
			         "crawl, output, log, logs, alarm NAME)",
			         section);
		return -ENOENT;
	}
	int r = set_opt(c, o, value, replace_list, err, errlen);
	if (r == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return r;
}

/* ---- defaults, copy, free ------------------------------------------------- */

int config_defaults(struct serve_config *c)
{
	memset(c, 0, sizeof(*c));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	c->workers = ncpu < 1 ? 1 : ncpu > 4 ? 4 : (int)ncpu;
	c->timeout = 30;
	c->file_timeout = 3600;
	c->containers = true;
	c->vms = true;
	c->log_level = LOG_INFO;
	c->spool_max_bytes = 1024ull * 1024 * 1024;
	c->spool_max_age = 7 * 86400;
	c->sample_rate = 1000;
	c->sflow_max_rate = SFLOW_COLLECTOR_MAX_RATE;
	c->logs = true;
	c->log_max_line = 16384;
	c->log_retention = 7 * 86400;
	for (int i = 0; i < nfeatures(); i++)
		c->interval[i] = feature_table[i]->default_interval;
	c->crawl = calloc(1, sizeof(*c->crawl));
	if (!c->crawl || crawl_opts_init(c->crawl) < 0) {
		free(c->crawl);
		c->crawl = NULL;
		return -ENOMEM;
	}
	c->db_path = strdup(CONFIG_DEFAULT_DB);
	c->listen = strdup(CONFIG_DEFAULT_LISTEN);
	if (!c->db_path || !c->listen) {
		config_free(c);
		return -ENOMEM;
	}
	return 0;
}

void config_free(struct serve_config *c)
{
	free(c->db_path);
	free(c->listen);
	free(c->token);
	free(c->token_file);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->ui_dir);
	free(c->sflow_listen);
	urls_clear(&c->sinks);
	urls_clear(&c->log_globs);
	urls_clear(&c->log_multiline);
	urls_clear(&c->log_retain_src);
	free(c->spool_dir);
	free(c->sample_ifaces);
	free(c->log_journal_dir);
	if (c->crawl)
		crawl_opts_free(c->crawl);
	free(c->crawl);
	for (int i = 0; i < c->nalarms; i++)
		alarm_def_free(&c->alarms[i]);
	free(c->alarms);
	free(c->alarm_lines);
	logfilter_set_free(&c->logfilters);
	memset(c, 0, sizeof(*c));
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return -ENOMEM;
	return 0;
}

int config_copy(struct serve_config *dst, const struct serve_config *src)
{
	*dst = *src;
	dst->crawl = calloc(1, sizeof(*dst->crawl));
	int r = dst->crawl ? crawl_opts_copy(dst->crawl, src->crawl) : -ENOMEM;
	if (r < 0) {
		free(dst->crawl);
		dst->crawl = NULL;
	}
	r |= dup_opt(&dst->db_path, src->db_path);
	r |= dup_opt(&dst->listen, src->listen);
	r |= dup_opt(&dst->token, src->token);
	r |= dup_opt(&dst->token_file, src->token_file);
	r |= dup_opt(&dst->tls_cert, src->tls_cert);
	r |= dup_opt(&dst->tls_key, src->tls_key);
	r |= dup_opt(&dst->ui_dir, src->ui_dir);
	r |= dup_opt(&dst->sflow_listen, src->sflow_listen);
	r |= dup_opt(&dst->spool_dir, src->spool_dir);
	r |= dup_opt(&dst->sample_ifaces, src->sample_ifaces);
	r |= dup_opt(&dst->log_journal_dir, src->log_journal_dir);
	for (int i = 0; i < src->sinks.n; i++)
		r |= dup_opt(&dst->sinks.v[i], src->sinks.v[i]);
	for (int i = 0; i < src->log_globs.n; i++)
		r |= dup_opt(&dst->log_globs.v[i], src->log_globs.v[i]);
	for (int i = 0; i < src->log_multiline.n; i++)
		r |= dup_opt(&dst->log_multiline.v[i], src->log_multiline.v[i]);
	for (int i = 0; i < src->log_retain_src.n; i++)
		r |= dup_opt(&dst->log_retain_src.v[i], src->log_retain_src.v[i]);
	dst->alarms = NULL;
	dst->alarm_lines = NULL;
	dst->nalarms = 0;
	if (src->nalarms) {
		dst->alarms = calloc((size_t)src->nalarms, sizeof(*dst->alarms));
		dst->alarm_lines = calloc((size_t)src->nalarms, sizeof(*dst->alarm_lines));
		if (!dst->alarms || !dst->alarm_lines) {
			r = -ENOMEM;
		} else {
			for (int i = 0; i < src->nalarms; i++) {
				r |= alarm_def_copy(&dst->alarms[i], &src->alarms[i]);
				dst->alarm_lines[i] = src->alarm_lines[i];
				dst->nalarms++;
			}
		}
	}
	dst->logfilters = (struct logfilter_set){0};
	r |= logfilter_set_copy(&dst->logfilters, &src->logfilters);
	if (r) {
		config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/* ---- the INI file ---------------------------------------------------------- */

#define MAX_KEYS_SEEN 128

struct load_ctx {
	struct serve_config *c;
	const char *data; /* the whole file, read by read_config() */
	size_t len, pos;
	int line; /* line being read */
	bool at_line_start;
	int bad_line; /* a line the reader refused (too long, NUL byte) */
	char bad_why[64];
	int err_line; /* line of the first error the handler saw */
	char err[512];
	struct {
		char key[96];
		int line;
	} seen[MAX_KEYS_SEEN];
	int nseen;
};

/*
 * inih's reader, over the file in memory: hands out a line, in pieces when
 * inih's buffer is shorter (it then grows the buffer and asks for the
 * rest), and counts lines.  A line longer than CONFIG_MAX_LINE or holding
 * a NUL byte ends the stream, with bad_line set: inih never sees it (it
 * would split the first and cut the second short).
 */
static char *counting_reader(char *str, int num, void *stream)
{
	struct load_ctx *x = stream;
	if (x->bad_line || x->pos >= x->len || num < 2)
		return NULL;
	const char *p = x->data + x->pos, *end = x->data + x->len;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p); /* with its '\n' */
	if (x->at_line_start) {
		x->line++;
		size_t text = n - (nl != NULL);
		if (text > CONFIG_MAX_LINE) {
			x->bad_line = x->line;
			snprintf(x->bad_why, sizeof(x->bad_why), "longer than %d bytes",
			         CONFIG_MAX_LINE);
			return NULL;
		}
		if (memchr(p, 0, text)) {
			x->bad_line = x->line;
			snprintf(x->bad_why, sizeof(x->bad_why), "holds a NUL byte");
			return NULL;
		}
	}
	if (n > (size_t)num - 1)
		n = (size_t)num - 1;
	memcpy(str, p, n);
	str[n] = 0;
	x->pos += n;
	x->at_line_start = n > 0 && str[n - 1] == '\n';
	return str;
}

static int ini_handler_fn(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *x = user;
	if (x->err_line)
		return 1; /* report the first error only */
	char why[400] = "";
	char full[96];
	snprintf(full, sizeof(full), "[%s] %s", section, name);
	for (int i = 0; i < x->nseen; i++) {
		if (strcmp(x->seen[i].key, full) == 0) {
			snprintf(why, sizeof(why), "given twice (first on line %d)",
			         x->seen[i].line);
			goto bad;
		}
	}
	if (x->nseen < MAX_KEYS_SEEN) {
		copy_str(x->seen[x->nseen].key, sizeof(x->seen[0].key), full, strlen(full));
		x->seen[x->nseen++].line = x->line;
	}
	if (!*section) {
		snprintf(why, sizeof(why),
		         "key outside any section (put it under [store], [api], "
		         "[intervals], [crawl] or [log])");
		goto bad;
	}
	if (config_set(x->c, section, name, value, true, why, sizeof(why)) == 0) {
		struct serve_config *c = x->c;
		if (strncmp(section, "alarm ", 6) == 0 && c->nalarms &&
		    !c->alarm_lines[c->nalarms - 1])
			c->alarm_lines[c->nalarms - 1] = x->line;
		return 1;
	}
bad:
	x->err_line = x->line;
	snprintf(x->err, sizeof(x->err), "line %d: %s: %s", x->line, full, why);
	return 0;
}

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
	                     : "not a regular file";
}

/*
 * The whole config file into *data (malloc'd, *len bytes).  Only a regular
 * file of at most CONFIG_MAX_FILE bytes: /dev/zero would never end and a
 * directory reads as empty (/dev/null, empty, is let through).
 * O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then
 * refuses it.  The cap holds while reading too (a file that grows after
 * fstat).
 */
static int read_config(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(e));
		return -e;
	}
	char *d = NULL;
	int ret;
	struct stat st;
	if (fstat(fd, &st) < 0)
		goto fail_errno;
	/* /dev/null: no settings (an empty file), the way to run without one */
	bool devnull = S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
	if (!S_ISREG(st.st_mode) && !devnull) {
		snprintf(err, errlen, "config file %s is %s, not a regular file", path,
		         file_kind(st.st_mode));
		ret = -EINVAL;
		goto fail;
	}
	/* one byte more than the file: tells a file that grew after fstat */
	size_t cap = st.st_size < CONFIG_MAX_FILE ? (size_t)st.st_size + 1 : CONFIG_MAX_FILE + 1;
	size_t n = 0;
	if (st.st_size > CONFIG_MAX_FILE)
		goto too_big;
	if (!(d = malloc(cap)))
		goto nomem;
	for (;;) {
		if (n == cap) {
			if (cap > CONFIG_MAX_FILE)
				goto too_big;
			size_t more = cap * 2 > CONFIG_MAX_FILE + 1 ? CONFIG_MAX_FILE + 1 : cap * 2;
			char *bigger = realloc(d, more);
			if (!bigger)
				goto nomem;
			d = bigger;
			cap = more;
		}
		ssize_t r = read(fd, d + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail_errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*data = d;
	*len = n;
	return 0;
too_big:
	snprintf(err, errlen, "config file %s is larger than 1 MiB (%d bytes)", path,
	         CONFIG_MAX_FILE);
	ret = -EFBIG;
	goto fail;
nomem:
	snprintf(err, errlen, "%s: cannot read (out of memory)", path);
	ret = -ENOMEM;
	goto fail;
fail_errno:
	ret = -errno;
	snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(-ret));
fail:
	free(d);
	close(fd);
	return ret;
}

int config_load_file(struct serve_config *c, const char *path, char *err, size_t errlen)
{
	struct load_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	char *data = NULL;
	int r = read_config(path, &data, &x->len, err, errlen);
	if (r < 0) {
		free(x);
		return r;
	}
	x->data = data;
	x->c = c;
	x->at_line_start = true;
	/* Debian's libinih exposes its build options as variables: long lines
	 * (config_paths) on the heap, up to CONFIG_MAX_LINE bytes with the '\n'
	 * and the NUL, so that it never splits one; no continuation lines */
	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = CONFIG_MAX_LINE + 2;
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	r = ini_parse_stream(counting_reader, x, ini_handler_fn, x);
	int ret = 0;
	if (r > 0 && x->err_line == r) {
		snprintf(err, errlen, "%s, %s", path, x->err);
		ret = -EINVAL;
	} else if (r > 0) {
		snprintf(err, errlen,
		         "%s, line %d: syntax error (expected [section], key = value, or "
		         "a comment starting with ; or #)",
		         path, r);
		ret = -EINVAL;
	} else if (r < 0) {
		snprintf(err, errlen, "%s: cannot parse (out of memory)", path);
		ret = -ENOMEM;
	} else if (x->bad_line) {
		snprintf(err, errlen, "%s, line %d: %s", path, x->bad_line, x->bad_why);
		ret = -EINVAL;
	}
	/* every alarm complete and consistent */
	for (int i = 0; ret == 0 && i < c->nalarms; i++) {
		char why[400];
		if (alarm_def_check(&c->alarms[i], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s, line %d: [alarm %s] %s", path, c->alarm_lines[i],
			         c->alarms[i].name, why);
			ret = -EINVAL;
		}
	}
	if (ret == 0 && logfilter_check(&c->logfilters, err, errlen) < 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s", path, why);
		ret = -EINVAL;
	}
	free(data);
	free(x);
	return ret;
}

/* ---- flags ------------------------------------------------------------------ */

bool config_flag_find(const char *flag, const char **section, const char **key, bool *has_arg,
                      const char **value_out)
{
	*value_out = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		const struct opt_def *o = &opts[i];
		if (o->type == T_BOOL && strncmp(flag, "no-", 3) == 0 &&
		    strcmp(flag + 3, o->flag) == 0) {
			*section = o->section, *key = o->key, *has_arg = false;
			*value_out = "false";
			return true;
		}
		if (strcmp(flag, o->flag) == 0) {
			*section = o->section, *key = o->key, *has_arg = o->type != T_BOOL;
			if (o->type == T_BOOL)
				*value_out = "true";
			return true;
		}
	}
	const struct feature *f;
	bool negated;
	const struct feature_option *fo = feature_option_by_flag(flag, false, &f, &negated);
	if (fo) {
		*section = "crawl", *key = fo->key, *has_arg = fo->type != FOPT_BOOL;
		if (fo->type == FOPT_BOOL)
			*value_out = negated ? "false" : "true";
		return true;
	}
	size_t n = strlen(flag);
	if (n > 9 && strcmp(flag + n - 9, "-interval") == 0) {
		for (int i = 0; i < nfeatures(); i++) {
			const char *name = feature_table[i]->name;
			if (strlen(name) == n - 9 && strncmp(flag, name, n - 9) == 0) {
				*section = "intervals", *key = name, *has_arg = true;
				return true;
			}
		}
	}
	return false;
}

static void value_str(const struct serve_config *c, const struct opt_def *o, char *dst, size_t cap)
{
	const void *slot = (const char *)c + o->off;
	switch (o->type) {
	case T_PATH: /* a store URL's password is never printed */
		store_url_safe(*(char *const *)slot ? *(char *const *)slot : "", dst, cap);
		break;
	case T_LISTEN:
		snprintf(dst, cap, "%s", *(char *const *)slot ? *(char *const *)slot : "");
		break;
	case T_OPTSTR: {
		const char *s = *(char *const *)slot;
		if (strcmp(o->key, "token") == 0) /* never print a secret */
			snprintf(dst, cap, "%s", s ? "(set)" : "");
		else
			snprintf(dst, cap, "%s", s ? s : "");
		break;
	}
	case T_WORKERS:
	case T_PERSEC:
		snprintf(dst, cap, "%d", *(const int *)slot);
		break;
	case T_RATE:
		snprintf(dst, cap, "%u", *(const uint32_t *)slot);
		break;
	case T_SFLOW:
		snprintf(dst, cap, "%s", *(char *const *)slot ? *(char *const *)slot : "off");
		break;
	case T_SECONDS:
	case T_AGE:
		feature_format_duration(*(const double *)slot, dst, cap);
		break;
	case T_SIZE:
	case T_LINESIZE:
		feature_format_size(*(const uint64_t *)slot, dst, cap);
		break;
	case T_MEMLIMIT:
		if (*(const uint64_t *)slot)
			feature_format_size(*(const uint64_t *)slot, dst, cap);
		else
			snprintf(dst, cap, "off");
		break;
	case T_GLOBS:
	case T_PATTERNS:
	case T_RETAINS: {
		const struct config_list *l = slot;
		size_t at = 0;
		dst[0] = 0;
		if (o->type == T_GLOBS && !l->n) /* the defaults */
			for (int i = 0; logsrc_default_globs[i] && at < cap; i++)
				at += (size_t)snprintf(dst + at, cap - at, "%s%s", i ? ", " : "",
				                       logsrc_default_globs[i]);
		for (int i = 0; i < l->n && at < cap; i++)
			at += (size_t)snprintf(dst + at, cap - at, "%s%s",
			                       i ? (o->type == T_GLOBS ? ", " : " ;; ") : "",
			                       l->v[i]);
		break;
	}
	case T_BOOL:
		snprintf(dst, cap, "%s", *(const bool *)slot ? "true" : "false");
		break;
	case T_LEVEL:
		snprintf(dst, cap, "%s", level_names[*(const enum log_level *)slot]);
		break;
	case T_URLS: {
		const struct config_list *l = slot;
		size_t at = 0;
		dst[0] = 0;
		for (int i = 0; i < l->n && at < cap; i++) /* a fragment may hold a token */
			at += (size_t)snprintf(dst + at, cap - at, "%s%.*s%s", i ? ", " : "",
			                       (int)strcspn(l->v[i], "#"), l->v[i],
			                       strchr(l->v[i], '#') ? "#(options)" : "");
		break;
	}
	case T_INTERVAL:
		dst[0] = 0;
		break;
	}
}

/* The features' [crawl] options, as "[crawl] key = value" lines. */
static void describe_features(const struct serve_config *c, struct buf *out)
{
	char v[2048];
	for (int i = 0; i < nfeatures(); i++) {
		const struct feature *f = feature_table[i];
		for (const struct feature_option *o = f->options; o && o->flag; o++) {
			if (!o->key)
				continue;
			crawl_opts_format(c->crawl, f, o, v, sizeof(v));
			buf_printf(out, "[crawl] %s = %s\n", o->key, v);
		}
	}
}

void config_describe(const struct serve_config *c, struct buf *out)
{
	char v[2048];
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		if (strcmp(opts[i].section, "crawl") != 0 && i > 0 &&
		    strcmp(opts[i - 1].section, "crawl") == 0)
			describe_features(c, out); /* after the daemon's own [crawl] keys */
		value_str(c, &opts[i], v, sizeof(v));
		buf_printf(out, "[%s] %s = %s\n", opts[i].section, opts[i].key, v);
	}
	for (int i = 0; i < nfeatures(); i++) {
		feature_format_duration(c->interval[i], v, sizeof(v));
		buf_printf(out, "[intervals] %s = %s\n", feature_table[i]->name, v);
	}
}

static void help_line(FILE *out, const char *flag, const char *metavar, const char *ini,
                      const char *help, const char *dflt)
{
	char left[128], file[256];
	enum { COL = 32 };
	int n = snprintf(left, sizeof(left), "  --%s%s%s", flag, metavar ? " " : "",
	                 metavar ? metavar : "");
	if (n >= COL - 1)
		fprintf(out, "%s\n%*s", left, COL, "");
	else
		fprintf(out, "%-*s", COL, left);
	feature_help_wrap(out, help, COL, COL);
	if (*dflt)
		snprintf(file, sizeof(file), "(%s = %s)", ini, dflt);
	else
		snprintf(file, sizeof(file), "(%s: not set by default)", ini);
	fprintf(out, "%*s", COL, "");
	feature_help_wrap(out, file, COL, COL);
}

void config_print_help(FILE *out)
{
	struct serve_config d;
	if (config_defaults(&d) < 0)
		return;
	char v[1024], ini[96];
	const char *section = "";
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		const struct opt_def *o = &opts[i];
		if (strcmp(section, o->section) != 0) {
			if (strcmp(section, "crawl") == 0)
				feature_options_help(out, FEATURE_HELP_SERVE);
			section = o->section;
			fprintf(out, "\n[%s]\n", section);
		}
		value_str(&d, o, v, sizeof(v));
		if (strcmp(o->key, "workers") == 0)
			snprintf(v, sizeof(v), "the number of CPUs, at most 4");
		snprintf(ini, sizeof(ini), "%s", o->key);
		if (o->type == T_BOOL) {
			char both[64];
			snprintf(both, sizeof(both), "%s, --no-%s", o->flag, o->flag);
			help_line(out, both, NULL, ini, o->help, v);
		} else {
			help_line(out, o->flag, o->metavar, ini, o->help, v);
		}
	}
	fprintf(out, "\n[intervals]  DURATION: 10s, 5m, 1h, 1d, 1w; off disables a feature, on\n"
	             "             restores its default (daily for an opt-in feature)\n");
	for (int i = 0; i < nfeatures(); i++) {
		char flag[64], help[160];
		snprintf(flag, sizeof(flag), "%s-interval", feature_table[i]->name);
		snprintf(help, sizeof(help), "how often the %s feature is crawled%s",
		         feature_table[i]->name,
		         feature_table[i]->paces_discovery
		             ? " (from 1s; also paces container discovery)"
		             : "");
		feature_format_duration(d.interval[i], v, sizeof(v));
		help_line(out, flag, "DURATION", feature_table[i]->name, help, v);
	}
	config_free(&d);
}
