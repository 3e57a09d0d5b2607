/*
 * alarm_drift.c - state alarms: a drift rule between a system's state at
 * the alarm's baseline and its state now (alarm_drift.h, docs/alarms.md).
 *
 * Cheap by construction: the engine calls it for every system an alarm
 * covers whenever a new non-metric frame arrives.  Only the features the
 * rule needs are read from the store (drift_state_from_store_features:
 * connection for listen, package for package, config and package for
 * config, process for process_gone), the records that cannot matter are
 * dropped before the comparison (drift_state_keep: a listen rule compares
 * the listening sockets only, a pattern keeps the records it matches), and
 * drift's diff then compares a handful of records.  Its entries, filtered
 * by the rule, are the reason, written as `vantage diff --json` writes
 * them.
 */
#include "alarm_drift.h"

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/timefmt.h"
#include "drift.h"

#define PATTERN_MAX 1024
#define EPHEMERAL_MIN 32768 /* an unconnected UDP socket above it is a client's */
#define SUMMARY_ENTRIES 3   /* entries the summary names */
#define SUMMARY_VALUE_MAX 120

enum rule { R_LISTEN, R_PACKAGE, R_CONFIG, R_PROCESS_GONE };

static const struct rule_def {
	const char *name;
	const char *features[2];
	size_t nfeatures;
} rule_defs[] = {
    [R_LISTEN] = {"listen", {"connection"}, 1},
    [R_PACKAGE] = {"package", {"package"}, 1},
    [R_CONFIG] = {"config", {"config", "package"}, 2},
    [R_PROCESS_GONE] = {"process_gone", {"process"}, 1},
};
#define NRULES (sizeof(rule_defs) / sizeof(rule_defs[0]))

/* ---- the definition ------------------------------------------------------ */

static int rule_of(const char *name)
{
	for (size_t i = 0; name && i < NRULES; i++)
		if (!strcmp(rule_defs[i].name, name))
			return (int)i;
	return -1;
}

/* A shell pattern fnmatch() reads as meant: no control character, no
 * lone trailing backslash, every '[' closed. */
static const char *glob_problem(const char *p)
{
	for (const char *c = p; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return "a control character";
		if (*c == '\\') {
			if (!c[1])
				return "a trailing backslash";
			c++;
		} else if (*c == '[') {
			const char *q = c + 1;
			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q && *q != ']')
				q++;
			if (!*q)
				return "a '[' without its ']'";
			c = q;
		}
	}
	return NULL;
}

int alarm_drift_check_def(const char *rule, const char *pattern, char *err, size_t errlen)
{
	int r = rule_of(rule);
	if (!rule || !*rule) {
		snprintf(err, errlen,
		         "rule: missing (one of listen, package, config, process_gone)");
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(err, errlen,
		         "rule: '%.64s' is not one of listen, package, config, process_gone", rule);
		return -EINVAL;
	}
	if (r == R_PROCESS_GONE && (!pattern || !*pattern)) {
		snprintf(err, errlen,
		         "pattern: the rule process_gone needs the command line pattern of the "
		         "process that must keep running (e.g. pattern = nginx*)");
		return -EINVAL;
	}
	if (!pattern)
		return 0;
	const char *why = NULL;
	if (!*pattern)
		why = "empty (leave it out to match anything)";
	else if (strlen(pattern) > PATTERN_MAX)
		why = "longer than 1024 bytes";
	else
		why = glob_problem(pattern);
	if (!why && r == R_LISTEN && strspn(pattern, "0123456789") == strlen(pattern)) {
		long port = strtol(pattern, NULL, 10);
		if (port < 1 || port > 65535 || strlen(pattern) > 5)
			why = "a port is a number from 1 to 65535";
	}
	if (!why && r == R_CONFIG && !strchr("/*?[", pattern[0]))
		why = "a path pattern starts with '/' (or a wildcard): /etc/nginx/*";
	if (why) {
		snprintf(err, errlen, "pattern '%.64s': %s", pattern, why);
		return -EINVAL;
	}
	return 0;
}

/* ---- the built-in drift rules, parsed once --------------------------------- */

static struct drift_rules builtin;
static int builtin_err;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_load(void)
{
	char err[256];
	builtin_err = drift_rules_load(&builtin, NULL, err, sizeof(err));
}

/* ---- which records can matter ---------------------------------------------- */

struct keep_ctx {
	enum rule rule;
	const char *pattern; /* NULL: any */
};

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && !memcmp(s + n - m, tail, m);
}

static bool glob(const char *pattern, const char *s)
{
	return !pattern || fnmatch(pattern, s, 0) == 0;
}

/* A package's key is its name, or "name:arch" for a second architecture. */
static bool package_matches(const char *pattern, const char *key)
{
	if (glob(pattern, key))
		return true;
	const char *colon = strchr(key, ':');
	if (!colon)
		return false;
	char name[256];
	snprintf(name, sizeof(name), "%.*s", (int)(colon - key), key);
	return glob(pattern, name);
}

/* A command line matches as it is, from its program's base name on
 * ("nginx*" matches "/usr/sbin/nginx -g daemon off;"), or by the process
 * name a kernel thread has instead (the match key holds it). */
static bool command_matches(const char *pattern, const struct drift_rec *r)
{
	const char *cmd = r->cmdline && *r->cmdline ? r->cmdline : NULL;
	if (!cmd) { /* "user comm" */
		const char *sp = strchr(r->match, ' ');
		cmd = sp ? sp + 1 : r->match;
	}
	if (glob(pattern, cmd))
		return true;
	size_t arg0 = strcspn(cmd, " ");
	const char *slash = memrchr(cmd, '/', arg0);
	return slash && glob(pattern, slash + 1);
}

static bool keep(void *ctx, const struct drift_rec *r)
{
	const struct keep_ctx *k = ctx;
	switch (k->rule) {
	case R_LISTEN: /* listening sockets only: "tcp 0.0.0.0:80 LISTEN" */
		return !strcmp(r->feature, "connection") &&
		       (ends_with(r->match, " LISTEN") || ends_with(r->match, " UNCONN"));
	case R_PACKAGE:
		return !strcmp(r->feature, "package") && package_matches(k->pattern, r->key);
	case R_CONFIG: /* packages: those shipping config files explain changes */
		if (!strcmp(r->feature, "package"))
			return memmem(r->text, r->len, "\"conffiles\"", 11) != NULL;
		return !strcmp(r->feature, "config") && glob(k->pattern, r->key);
	case R_PROCESS_GONE:
		return !strcmp(r->feature, "process") && command_matches(k->pattern, r);
	}
	return false;
}

/* ---- which entries are hits ---------------------------------------------------- */

static const char *str_of(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* "0.0.0.0:4444", "[::]:4444" */
static void socket_addr(const json_t *v, char *out, size_t n)
{
	const char *addr = str_of(v, "local_addr");
	long long port = (long long)json_integer_value(json_object_get(v, "local_port"));
	if (strchr(addr, ':'))
		snprintf(out, n, "[%s]:%lld", addr, port);
	else
		snprintf(out, n, "%s:%lld", addr, port);
}

static bool listen_hit(const json_t *e, const char *pattern)
{
	if (strcmp(str_of(e, "change"), "added") != 0)
		return false;
	const json_t *v = json_object_get(e, "value");
	const char *state = str_of(v, "state");
	json_int_t port = json_integer_value(json_object_get(v, "local_port"));
	bool listening = !strcmp(state, "LISTEN") ||
	                 (!strcmp(state, "UNCONN") && port > 0 && port < EPHEMERAL_MIN);
	if (!listening)
		return false;
	if (!pattern)
		return true;
	char p[24], a[320];
	snprintf(p, sizeof(p), "%lld", (long long)port);
	socket_addr(v, a, sizeof(a));
	const char *addr = str_of(v, "local_addr");
	char plain[300];
	snprintf(plain, sizeof(plain), "%s:%lld", addr, (long long)port);
	return glob(pattern, p) || glob(pattern, addr) || glob(pattern, a) || glob(pattern, plain);
}

static bool package_hit(const json_t *e)
{
	const char *ch = str_of(e, "change");
	return strcmp(ch, "changed") != 0 ||
	       json_object_get(json_object_get(e, "fields"), "version") != NULL;
}

/* Config: a config entry, or the paths matching the pattern that a
 * package's upgrade explains (their config entries are folded under it). */
static int config_hits(const json_t *e, const char *pattern)
{
	if (!strcmp(str_of(e, "feature"), "config"))
		return 1;
	int n = 0;
	size_t i;
	const json_t *p;
	json_array_foreach(json_object_get(e, "explains"), i, p)
	{
		n += glob(pattern, json_string_value(p) ? json_string_value(p) : "");
	}
	return n;
}

/* ---- the summary ------------------------------------------------------------- */

/* Text of a value for one line: control characters become '?', long
 * ones end in "...". */
static void put_text(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n && i < SUMMARY_VALUE_MAX; i++)
		buf_addc(b, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i]);
	if (n > SUMMARY_VALUE_MAX)
		buf_adds(b, "...");
}

static void put_json_text(struct buf *b, const json_t *v)
{
	if (json_is_string(v)) {
		put_text(b, json_string_value(v));
		return;
	}
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	put_text(b, s ? s : "?");
	free(s);
}

static void describe(struct buf *b, enum rule rule, const json_t *e, const char *pattern)
{
	const char *ch = str_of(e, "change");
	const json_t *v = json_object_get(e, "value");
	const json_t *fields = json_object_get(e, "fields");
	switch (rule) {
	case R_LISTEN: {
		char a[320];
		socket_addr(v, a, sizeof(a));
		buf_adds(b, "new listening socket ");
		put_text(b, str_of(v, "proto"));
		buf_addc(b, ' ');
		put_text(b, a);
		if (json_is_integer(json_object_get(v, "pid"))) {
			buf_adds(b, " (");
			put_text(b, *str_of(v, "comm") ? str_of(v, "comm") : "?");
			buf_printf(b, ", pid %lld)",
			           (long long)json_integer_value(json_object_get(v, "pid")));
		}
		return;
	}
	case R_PACKAGE: {
		buf_adds(b, "package ");
		put_text(b, str_of(e, "key"));
		if (!strcmp(ch, "changed")) {
			const json_t *ver = json_object_get(fields, "version");
			buf_addc(b, ' ');
			put_json_text(b, json_array_get(ver, 0));
			buf_adds(b, " -> ");
			put_json_text(b, json_array_get(ver, 1));
		} else {
			buf_printf(b, " %s (%s", ch, !strcmp(ch, "added") ? "" : "was ");
			put_text(b, str_of(v, "version"));
			buf_addc(b, ')');
		}
		return;
	}
	case R_CONFIG: {
		if (strcmp(str_of(e, "feature"), "config") != 0) { /* a package's upgrade */
			const json_t *ver = json_object_get(fields, "version");
			size_t i, n = 0;
			const json_t *p;
			buf_adds(b, "config file");
			json_array_foreach(json_object_get(e, "explains"), i, p)
			{
				const char *path = json_string_value(p) ? json_string_value(p) : "";
				if (!glob(pattern, path))
					continue;
				buf_adds(b, n++ ? ", " : " ");
				put_text(b, path);
			}
			buf_adds(b, " changed with the upgrade of ");
			put_text(b, str_of(e, "key"));
			buf_addc(b, ' ');
			put_json_text(b, json_array_get(ver, 0));
			buf_adds(b, " -> ");
			put_json_text(b, json_array_get(ver, 1));
			return;
		}
		buf_adds(b, "config file ");
		put_text(b, str_of(e, "key"));
		buf_printf(b, " %s", ch);
		const char *k;
		json_t *kv;
		json_object_foreach(json_object_get(e, "keys"), k, kv)
		{
			buf_adds(b, " (");
			put_text(b, k);
			buf_adds(b, ": ");
			put_json_text(b, json_array_get(kv, 0));
			buf_adds(b, " -> ");
			put_json_text(b, json_array_get(kv, 1));
			buf_addc(b, ')');
			break; /* the first changed key */
		}
		return;
	}
	case R_PROCESS_GONE: {
		const char *cmd = *str_of(v, "cmdline") ? str_of(v, "cmdline") : str_of(v, "comm");
		buf_printf(b, "pid %lld ",
		           (long long)json_integer_value(json_object_get(v, "pid")));
		put_text(b, cmd);
		return;
	}
	}
}

static void summarize(struct buf *b, enum rule rule, const json_t *hits, const char *pattern,
                      int nhits)
{
	size_t n = json_array_size(hits), i;
	const json_t *e;
	if (!n)
		return;
	if (rule == R_PROCESS_GONE) {
		buf_adds(b, "no process matching '");
		put_text(b, pattern);
		buf_adds(b, "' any more; gone: ");
	}
	json_array_foreach(hits, i, e)
	{
		if (i == SUMMARY_ENTRIES)
			break;
		if (i)
			buf_adds(b, "; ");
		describe(b, rule, e, pattern);
	}
	if (n > SUMMARY_ENTRIES)
		buf_printf(b, "; and %zu more", n - SUMMARY_ENTRIES);
	else if (nhits > (int)n && rule == R_CONFIG) /* explained files counted apart */
		buf_printf(b, " (%d files)", nhits);
}

/* ---- the evaluation ------------------------------------------------------------- */

static int load(struct store *s, const struct rule_def *rd, const char *system_id, int64_t at_ms,
                const struct keep_ctx *k, struct drift_state *out, char *err, size_t errlen)
{
	int r = drift_state_from_store_features(s, system_id, at_ms, rd->features, rd->nfeatures,
	                                        out, err, errlen);
	if (r == 0)
		drift_state_keep(out, keep, (void *)k);
	return r;
}

int alarm_drift_arm(struct store *s, const struct alarm_def *d, const char *system_id,
                    int64_t now_ms, int64_t *baseline_ms, char *err, size_t errlen)
{
	*baseline_ms = 0;
	int r = alarm_drift_check_def(d->rule, d->pattern, err, errlen);
	if (r < 0)
		return r;
	const struct rule_def *rd = &rule_defs[rule_of(d->rule)];
	struct buf doc = BUF_INIT;
	int64_t t = 0;
	for (size_t i = 0; i < rd->nfeatures && r == 0; i++) {
		buf_reset(&doc);
		int e = store_frame_json(s, system_id, now_ms, rd->features[i], &doc);
		if (e == -ENOENT) { /* no frame holds it (yet) */
			if (i == 0)
				r = -ENOENT;
			continue;
		}
		if (e < 0) {
			snprintf(err, errlen, "cannot read %s: %s", system_id, store_errmsg(s));
			r = e;
			break;
		}
		/* {"frame":{..."time":"..."...},"records":[...]} */
		json_t *j = json_loadb(doc.data, doc.len, 0, NULL);
		const char *ts =
		    json_string_value(json_object_get(json_object_get(j, "frame"), "time"));
		int64_t ms = 0;
		if (ts && parse_time_iso(ts, strlen(ts), &ms) == 0 && ms > t)
			t = ms;
		json_decref(j);
	}
	buf_free(&doc);
	if (r == 0 && t <= 0) {
		snprintf(err, errlen, "%s: a frame without a time", system_id);
		r = -EINVAL;
	}
	if (r == 0)
		*baseline_ms = t;
	return r;
}

int alarm_drift_eval(struct store *s, const struct alarm_def *d, const char *system_id,
                     int64_t baseline_ms, int64_t now_ms, int *hits, struct buf *entries,
                     struct buf *summary, char *err, size_t errlen)
{
	*hits = 0;
	int r = alarm_drift_check_def(d->rule, d->pattern, err, errlen);
	if (r < 0)
		return r;
	pthread_once(&builtin_once, builtin_load);
	if (builtin_err < 0) {
		snprintf(err, errlen, "the built-in drift rules do not parse");
		return builtin_err;
	}
	enum rule rule = (enum rule)rule_of(d->rule);
	struct keep_ctx k = {.rule = rule, .pattern = d->pattern};
	struct drift_state a = {0}, b = {0};
	char why[512];
	store_read_begin(s); /* both states from one snapshot */
	r = load(s, &rule_defs[rule], system_id, baseline_ms, &k, &a, why, sizeof(why));
	if (r == 0)
		r = load(s, &rule_defs[rule], system_id, now_ms, &k, &b, why, sizeof(why));
	store_read_end(s);
	if (r < 0) {
		snprintf(err, errlen, "%s", why); /* it names the system */
		drift_state_free(&a);
		return r;
	}
	json_t *list = json_array();
	int n = 0;
	/* process_gone: while one process still matches, nothing is gone */
	if (rule != R_PROCESS_GONE || b.n == 0) {
		struct drift_opts o = {0};
		json_t *diff = drift_diff(&a, &b, &builtin, &o);
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(diff, "entries"), i, e)
		{
			const char *f = str_of(e, "feature");
			int h = 0;
			switch (rule) {
			case R_LISTEN:
				h = listen_hit(e, d->pattern);
				break;
			case R_PACKAGE:
				h = package_hit(e);
				break;
			case R_CONFIG:
				h = config_hits(e, d->pattern);
				break;
			case R_PROCESS_GONE:
				h = !strcmp(f, "process") &&
				    !strcmp(str_of(e, "change"), "removed");
				break;
			}
			if (h > 0) {
				n += h;
				json_array_append(list, e);
			}
		}
		json_decref(diff);
	}
	drift_state_free(&a);
	drift_state_free(&b);
	char *text = json_dumps(list, JSON_COMPACT | JSON_ENSURE_ASCII);
	buf_adds(entries, text ? text : "[]");
	free(text);
	summarize(summary, rule, list, d->pattern, n);
	json_decref(list);
	*hits = n;
	return 0;
}
