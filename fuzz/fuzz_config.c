/*
 * fuzz_config.c - the files a user (or a system) hands the daemon as
 * configuration.  The first byte picks:
 *
 *   0  config_load_file()   the INI file of `vantage serve`
 *                           (src/cli/serve_config.c: every section, sinks
 *                           lists, [logs], [logfilter NAME], [alarm NAME]
 *                           checked at its end); when it loads, its
 *                           description, a copy (what SIGHUP does) and
 *                           both freed
 *   1  drift_rules_parse()  a drift rules file after the built-in rules
 *                           (src/analytics/drift_rules.c), then the weight
 *                           of a few real changes under them
 *   2  feature `config`     (src/features/config.c) a file of a system's
 *                           /etc: the first line is its name, the rest its
 *                           bytes; crawled through the root view as the
 *                           daemon does, in JSON (second byte even) or the
 *                           crawler format; the frame must be JSON Lines
 *                           with the file's SHA-256 (secrets are redacted
 *                           from content by default: util/redact.c)
 *   3  redact_text() and redact_query() directly (src/util/redact.c):
 *                           nothing replaced means the text comes out
 *                           unchanged; each replacement adds at most
 *                           "[REDACTED]"
 *
 * Seeds (fuzz/corpus/config/, README there): the INI examples of
 * docs/configuration.md, alarms.md, logs.md, sinks.md, the built-in drift
 * rules and those of docs/drift.md, files of this machine's /etc.
 */
#include "fuzz.h"

#include "analytics/drift_rules.h"
#include "cli/serve_config.h"
#include "features/feature.h"
#include "frame/sink.h"
#include "util/buf.h"
#include "util/jscan.h"
#include "util/redact.h"
#include "util/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const struct feature feature_config;

static void one_ini(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("vantage.ini", data, size);
	if (!path)
		abort();
	struct serve_config c;
	char err[512] = "";
	if (config_defaults(&c) != 0)
		abort();
	int r = config_load_file(&c, path, err, sizeof err);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "ini: %d %s\n", r, err);
	if (memchr(err, 0, sizeof err) == NULL)
		__builtin_trap();
	if (r == 0) {
		struct buf d = BUF_INIT;
		config_describe(&c, &d);
		struct serve_config copy;
		if (config_copy(&copy, &c) == 0) {
			struct buf d2 = BUF_INIT;
			config_describe(&copy, &d2);
			if (d.len != d2.len || (d.len && memcmp(d.data, d2.data, d.len)))
				__builtin_trap(); /* a copy describes itself the same */
			buf_free(&d2);
			config_free(&copy);
		}
		buf_free(&d);
	} else if (!err[0]) {
		__builtin_trap(); /* an error always says why */
	}
	config_free(&c);
}

static void one_drift(const uint8_t *data, size_t size)
{
	static const struct {
		const char *feature, *key, *field;
		enum drift_change change;
		const char *value;
	} changes[] = {
	    {"package", "openssl", "version", DRIFT_CHANGED,
	     "{\"name\":\"openssl\",\"version\":\"3.0.15-1~deb12u1\",\"size_kb\":2305}"},
	    {"process", "sshd", "pid", DRIFT_CHANGED,
	     "{\"pid\":812,\"cmd\":\"sshd: /usr/sbin/sshd\"}"},
	    {"connection", "tcp:0.0.0.0:22", "*", DRIFT_ADDED,
	     "{\"state\":\"LISTEN\",\"local_port\":22,\"uid\":0}"},
	    {"config", "/etc/ssh/sshd_config", "sha256", DRIFT_CHANGED,
	     "{\"path\":\"/etc/ssh/sshd_config\",\"size\":3223}"},
	    {"module", "nf_tables", "*", DRIFT_REMOVED, "{\"size\":352256,\"refcount\":0}"},
	};
	struct drift_rules rs = {0};
	char err[512] = "";
	if (drift_rules_load(&rs, NULL, err, sizeof err) != 0)
		abort(); /* the built-in rules always parse */
	size_t builtin = rs.n;
	char *text = fuzz_strdup(data, size);
	int r = drift_rules_parse(&rs, text, size, "fuzz.rules", err, sizeof err);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "drift: %d %s (%zu rules)\n", r, err, rs.n);
	if (r != 0 && !err[0])
		__builtin_trap();
	if (r == 0 && rs.n < builtin)
		__builtin_trap();
	for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
		const char *why = NULL;
		double w = drift_rules_weight(&rs, changes[i].feature, changes[i].key,
		                              changes[i].field, changes[i].change, changes[i].value,
		                              strlen(changes[i].value), &why);
		if (!(w >= 0 && w <= 1) || !why)
			__builtin_trap();
	}
	free(text);
	drift_rules_free(&rs);
}

/* ---- the config feature over a root directory ------------------------------ */

/* The member `name` of a JSON object text, or an empty span. */
static struct js_span member(struct js_span obj, const char *name)
{
	struct js_iter it;
	struct js_span k, v, none = {NULL, 0};
	if (js_iter_begin(&it, obj, 0) < 0)
		return none;
	while (js_obj_next(&it, &k, &v) == 1)
		if (js_eq(k, name))
			return v;
	return none;
}

static void one_feature(const uint8_t *data, size_t size)
{
	static struct view *v;
	static struct crawl_opts opts;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/root/etc", fuzz_tmpdir());
	if (!v) {
		char root[4096];
		snprintf(root, sizeof root, "%s/root", fuzz_tmpdir());
		mkdir(root, 0700);
		mkdir(dir, 0700);
		if (view_root_open(root, &v) < 0 || crawl_opts_init(&opts) < 0)
			abort();
	}
	enum frame_format fmt = fuzz_pick(&data, &size, 2) ? FRAME_CRAWLER : FRAME_JSON;
	/* the name: the first line, one path component */
	const uint8_t *nl = memchr(data, '\n', size < 200 ? size : 200);
	char name[256] = "app.conf";
	if (nl && nl > data) {
		size_t n = (size_t)(nl - data);
		memcpy(name, data, n);
		name[n] = '\0';
		if (strchr(name, '/') || strlen(name) != n || !strcmp(name, ".") ||
		    !strcmp(name, ".."))
			strcpy(name, "app.conf");
	}
	if (nl) {
		size -= (size_t)(nl - data) + 1;
		data = nl + 1;
	}
	char rel[512];
	snprintf(rel, sizeof rel, "root/etc/%s", name);
	if (!fuzz_file(rel, data, size))
		return; /* a name the file system refuses */

	struct fuzz_sink sink = FUZZ_SINK_INIT;
	struct system_id sys = {.id = "fuzz:1", .name = "fuzz", .kind = "image", .host = "fuzz"};
	const char *names[1] = {feature_config.name};
	struct frame *f = frame_begin(&sink.base, &sys, names, 1, fmt);
	if (!f)
		abort();
	struct crawl_ctx c = {.view = v,
	                      .frame = f,
	                      .opts = &opts,
	                      .settings = crawl_opts_settings(&opts, &feature_config)};
	frame_feature_start(f, feature_config.name);
	if (feature_config.crawl(&c) != 0)
		__builtin_trap();
	frame_feature_end(f);
	if (frame_end(f) != 0)
		__builtin_trap();
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", fuzz_tmpdir(), rel);
	unlink(path);

	/* JSON Lines (crawler format: TAB-separated feature, key, JSON value);
	 * the file's record holds its size and SHA-256 */
	char hex[SHA256_HEX_LEN + 1];
	if (sha256_hex((const char *)data, size, hex) != 0)
		abort();
	bool found = false;
	const char *p = sink.b.data, *end = p + sink.b.len;
	while (p && p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			__builtin_trap(); /* every line ends */
		const char *j = p;
		if (fmt == FRAME_CRAWLER) { /* feature TAB "key" TAB {value} */
			const char *t1 = memchr(p, '\t', (size_t)(e - p));
			const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(e - t1 - 1)) : NULL;
			if (!t2 || js_skip(t1 + 1, t2, 0) != t2 || t1[1] != '"') {
				fprintf(stderr, "not 3 columns: %.*s\n", (int)(e - p), p);
				__builtin_trap();
			}
			j = t2 + 1;
		}
		if (js_skip(j, e, 0) != e) {
			fprintf(stderr, "not JSON: %.*s\n", (int)(e - p), p);
			__builtin_trap();
		}
		struct js_span obj = {j, (size_t)(e - j)};
		struct js_span val = fmt == FRAME_JSON ? member(obj, "value") : obj;
		struct js_span sha = member(val, "sha256"), content;
		if (sha.p && js_str(sha, &content) && content.n == SHA256_HEX_LEN) {
			if (memcmp(content.p, hex, SHA256_HEX_LEN))
				__builtin_trap(); /* the hash of the bytes read */
			found = true;
		}
		p = e + 1;
	}
	if (!found)
		__builtin_trap(); /* the file was reported, with its hash */
	buf_free(&sink.b);
}

static void one_redact(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT;
	size_t n = redact_text((const char *)data, size, &out);
	if (n == 0 && (out.len != size || (size && memcmp(out.data, data, size))))
		__builtin_trap(); /* nothing replaced: every byte kept */
	if (out.len > size + n * (sizeof(REDACTED) - 1))
		__builtin_trap();
	buf_free(&out);
	/* the same bytes as a request target of a log line */
	char *t = fuzz_strdup(data, size);
	char line[512];
	memset(line, 'x', sizeof line);
	redact_query(t, line, sizeof line);
	if (!memchr(line, 0, sizeof line))
		__builtin_trap();
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	switch (fuzz_pick(&data, &size, 4)) {
	case 0:
		one_ini(data, size);
		break;
	case 1:
		one_drift(data, size);
		break;
	case 2:
		one_feature(data, size);
		break;
	case 3:
		one_redact(data, size);
		break;
	}
	return 0;
}
