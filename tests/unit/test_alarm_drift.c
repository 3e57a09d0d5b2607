/* Unit tests: state alarms (analytics/alarm_drift.c) over a temporary
 * SQLite store: each rule firing on its change, patterns that match and
 * that do not, a reverted change back to 0 hits, the baseline missing,
 * bad rules and patterns; alarm_run() of a listen alarm as the daemon
 * runs it (armed at a frame holding connections, compared with the state
 * now within a period, not compared again without a new non-metric
 * frame). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "analytics/alarm_drift.h"
#include "analytics/alarm_run.h"
#include "store/store.h"
#include "util/timefmt.h"

#define T0 1699999200000LL /* 2023-11-14T22:00:00Z */
#define MIN 60000LL

static char dir[64];
static struct store *st;

static int setup(void **state)
{
	strcpy(dir, "/tmp/vantage-alarm-drift.XXXXXX");
	assert_non_null(mkdtemp(dir));
	char url[128];
	snprintf(url, sizeof(url), "sqlite:%s/db", dir);
	assert_int_equal(store_open(url, STORE_RW, &st), 0);
	return 0;
}

static int teardown(void **state)
{
	store_close(st);
	st = NULL;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* ---- frames ---------------------------------------------------------------- */

struct fb {
	struct buf b;
	const char *sid;
	char iso[40];
};

static void fb_begin(struct fb *f, const char *sid, int64_t t, const char *features)
{
	memset(f, 0, sizeof(*f));
	f->sid = sid;
	format_time_utc(t * 1000000, f->iso, sizeof(f->iso));
	buf_printf(&f->b,
	           "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"frame\",\"key\":\"%s\","
	           "\"value\":{\"id\":\"%s\",\"name\":\"web\",\"kind\":\"container\",\"host\":"
	           "\"box\",\"time\":\"%s\",\"features\":%s,\"records\":0,\"errors\":{}}}\n",
	           sid, f->iso, sid, sid, f->iso, features);
}

static void fb_rec(struct fb *f, const char *feature, const char *key, const char *value)
{
	buf_printf(&f->b,
	           "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"%s\",\"key\":\"%s\","
	           "\"value\":%s}\n",
	           f->sid, f->iso, feature, key, value);
}

static void fb_put(struct fb *f)
{
	int r = store_put_frame(st, f->b.data, f->b.len, NULL);
	if (r < 0)
		fprintf(stderr, "put_frame: %s\n", store_errmsg(st));
	assert_int_equal(r, 0);
	buf_free(&f->b);
}

#define SID "container:docker:web1"

static void listener(struct fb *f, const char *addr, int port, int pid, const char *comm)
{
	char key[128], val[512];
	snprintf(key, sizeof(key), "tcp/%s/%d", addr, port);
	snprintf(val, sizeof(val),
	         "{\"proto\":\"tcp\",\"family\":\"ipv4\",\"local_addr\":\"%s\",\"local_port\":%d,"
	         "\"remote_addr\":\"0.0.0.0\",\"remote_port\":0,\"state\":\"LISTEN\",\"inode\":%d,"
	         "\"uid\":0,\"pid\":%d,\"comm\":\"%s\"}",
	         addr, port, 1000 + port, pid, comm);
	fb_rec(f, "connection", key, val);
}

static void established(struct fb *f, int lport, int rport)
{
	char key[128], val[512];
	snprintf(key, sizeof(key), "tcp/10.0.0.2/%d/10.0.0.3/%d", lport, rport);
	snprintf(val, sizeof(val),
	         "{\"proto\":\"tcp\",\"family\":\"ipv4\",\"local_addr\":\"10.0.0.2\","
	         "\"local_port\":%d,\"remote_addr\":\"10.0.0.3\",\"remote_port\":%d,\"state\":"
	         "\"ESTABLISHED\",\"inode\":%d,\"uid\":0,\"pid\":1,\"comm\":\"sshd\"}",
	         lport, rport, lport + rport);
	fb_rec(f, "connection", key, val);
}

static void process(struct fb *f, int pid, const char *comm, const char *cmdline)
{
	char key[32], val[512];
	snprintf(key, sizeof(key), "%d", pid);
	snprintf(val, sizeof(val),
	         "{\"pid\":%d,\"ppid\":1,\"user\":\"root\",\"comm\":\"%s\",\"cmdline\":\"%s\","
	         "\"rss_kb\":%d}",
	         pid, comm, cmdline, pid * 3);
	fb_rec(f, "process", key, val);
}

static void package(struct fb *f, const char *name, const char *version, const char *extra)
{
	char val[512];
	snprintf(val, sizeof(val), "{\"name\":\"%s\",\"version\":\"%s\"%s}", name, version, extra);
	fb_rec(f, "package", name, val);
}

static void config(struct fb *f, const char *path, const char *content, const char *mtime)
{
	char val[512];
	snprintf(val, sizeof(val),
	         "{\"path\":\"%s\",\"size\":%zu,\"mode\":\"0644\",\"mtime\":\"%s\",\"content\":"
	         "\"%s\"}",
	         path, strlen(content), mtime, content);
	fb_rec(f, "config", path, val);
}

/* ---- evaluating ---------------------------------------------------------------- */

struct res {
	int rc, hits;
	json_t *entries;
	char summary[1024];
	char err[512];
};

static void eval_at(const char *rule, const char *pattern, const char *sid, int64_t base,
                    int64_t now, struct res *r)
{
	struct alarm_def d = {.name = "t", .type = ALARM_DRIFT};
	d.rule = (char *)rule;
	d.pattern = (char *)pattern;
	struct buf e = BUF_INIT, s = BUF_INIT;
	memset(r, 0, sizeof(*r));
	r->hits = -1;
	r->rc = alarm_drift_eval(st, &d, sid, base, now, &r->hits, &e, &s, r->err, sizeof(r->err));
	r->entries = NULL;
	if (r->rc == 0) {
		json_error_t je;
		r->entries = json_loadb(e.data ? e.data : "", e.len, 0, &je);
		assert_non_null(r->entries);
		assert_true(json_is_array(r->entries));
	}
	snprintf(r->summary, sizeof(r->summary), "%s", buf_str(&s));
	buf_free(&e);
	buf_free(&s);
}

static void eval(const char *rule, const char *pattern, int64_t base, struct res *r)
{
	eval_at(rule, pattern, SID, base, 0, r);
}

static void done(struct res *r)
{
	json_decref(r->entries);
	r->entries = NULL;
}

static const char *entry_s(const struct res *r, size_t i, const char *k)
{
	return json_string_value(json_object_get(json_array_get(r->entries, i), k));
}

/* ---- listen ---------------------------------------------------------------------- */

static void listen_fires_and_reverts(void **state)
{
	struct fb f;
	fb_begin(&f, SID, T0, "[\"connection\",\"process\"]");
	listener(&f, "0.0.0.0", 22, 1, "sshd");
	established(&f, 22, 50000);
	process(&f, 1, "sshd", "/usr/sbin/sshd -D");
	fb_put(&f);
	/* a new listener, and client traffic that is no listener */
	fb_begin(&f, SID, T0 + MIN, "[\"connection\",\"process\"]");
	listener(&f, "0.0.0.0", 22, 1, "sshd");
	established(&f, 22, 50001);
	established(&f, 40000, 443);
	listener(&f, "0.0.0.0", 4444, 812, "nc");
	process(&f, 1, "sshd", "/usr/sbin/sshd -D");
	process(&f, 812, "nc", "nc -l -p 4444");
	fb_put(&f);

	struct res r;
	eval("listen", NULL, T0, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.hits, 1);
	assert_int_equal(json_array_size(r.entries), 1);
	assert_string_equal(entry_s(&r, 0, "feature"), "connection");
	assert_string_equal(entry_s(&r, 0, "change"), "added");
	assert_string_equal(entry_s(&r, 0, "key"), "tcp 0.0.0.0:4444 LISTEN");
	assert_string_equal(entry_s(&r, 0, "record_key"), "tcp/0.0.0.0/4444");
	/* as `vantage diff --json` gives it: the value, the score and why */
	json_t *e = json_array_get(r.entries, 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "value"), "pid")),
	                 812);
	assert_true(json_number_value(json_object_get(e, "score")) > 0.5);
	assert_non_null(json_object_get(json_object_get(e, "why"), "prior"));
	assert_string_equal(r.summary, "new listening socket tcp 0.0.0.0:4444 (nc, pid 812)");
	done(&r);

	/* patterns: a port, an address, both */
	static const struct {
		const char *pattern;
		int hits;
	} pats[] = {{"4444", 1}, {"44*", 1},       {"0.0.0.0:*", 1}, {"0.0.0.0", 1},
	            {"22", 0},   {"127.0.0.1", 0}, {"[0-9]", 0},     {"*:4444", 1}};
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		eval("listen", pats[i].pattern, T0, &r);
		assert_int_equal(r.rc, 0);
		if (r.hits != pats[i].hits)
			fail_msg("pattern %s: %d hits, not %d", pats[i].pattern, r.hits,
			         pats[i].hits);
		assert_int_equal(json_array_size(r.entries), (size_t)pats[i].hits);
		done(&r);
	}

	/* the port closes again: 0 hits, an empty reason */
	fb_begin(&f, SID, T0 + 2 * MIN, "[\"connection\",\"process\"]");
	listener(&f, "0.0.0.0", 22, 1, "sshd");
	process(&f, 1, "sshd", "/usr/sbin/sshd -D");
	fb_put(&f);
	eval("listen", NULL, T0, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.hits, 0);
	assert_int_equal(json_array_size(r.entries), 0);
	assert_string_equal(r.summary, "");
	done(&r);
	/* ...and the state at the time it was open still has it */
	eval_at("listen", NULL, SID, T0, T0 + MIN + 1000, &r);
	assert_int_equal(r.hits, 1);
	done(&r);
	/* a baseline after the change: nothing new since */
	eval_at("listen", NULL, SID, T0 + MIN, T0 + MIN, &r);
	assert_int_equal(r.hits, 0);
	done(&r);
	/* a listener that goes away is no new listener */
	eval_at("listen", NULL, SID, T0 + MIN, 0, &r);
	assert_int_equal(r.hits, 0);
	done(&r);
}

/* ---- package ---------------------------------------------------------------------- */

static void package_rule(void **state)
{
	struct fb f;
	fb_begin(&f, SID, T0, "[\"package\"]");
	package(&f, "openssl", "3.0.14", ",\"size_kb\":10");
	package(&f, "zlib", "1.2", ",\"size_kb\":5");
	package(&f, "libc6", "2.36", "");
	fb_put(&f);
	fb_begin(&f, SID, T0 + MIN, "[\"package\"]");
	package(&f, "openssl", "3.0.15", ",\"size_kb\":11");
	package(&f, "zlib", "1.2", ",\"size_kb\":6"); /* not a version change */
	package(&f, "curl", "7.88", "");
	fb_put(&f);

	struct res r;
	eval("package", NULL, T0, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.hits, 3);
	assert_non_null(strstr(r.summary, "package openssl 3.0.14 -> 3.0.15"));
	assert_non_null(strstr(r.summary, "package curl added (7.88)"));
	assert_non_null(strstr(r.summary, "package libc6 removed (was 2.36)"));
	assert_null(strstr(r.summary, "zlib"));
	done(&r);

	eval("package", "openssl*", T0, &r);
	assert_int_equal(r.hits, 1);
	assert_string_equal(entry_s(&r, 0, "key"), "openssl");
	assert_string_equal(r.summary, "package openssl 3.0.14 -> 3.0.15");
	done(&r);
	eval("package", "zlib", T0, &r);
	assert_int_equal(r.hits, 0);
	done(&r);
	eval("package", "python3*", T0, &r);
	assert_int_equal(r.hits, 0);
	assert_string_equal(r.summary, "");
	done(&r);
}

/* ---- config ------------------------------------------------------------------------ */

static void config_rule(void **state)
{
	struct fb f;
	fb_begin(&f, SID, T0, "[\"config\",\"package\"]");
	config(&f, "/etc/app.conf", "port=5432\\n", "2023-11-14T20:00:00Z");
	config(&f, "/etc/motd", "hello\\n", "2023-11-14T20:00:00Z");
	config(&f, "/etc/nginx/nginx.conf", "worker_processes 2;\\n", "2023-11-14T20:00:00Z");
	package(&f, "nginx", "1.22",
	        ",\"conffiles\":{\"/etc/nginx/nginx.conf\":\"00000000000000000000000000000000\"}");
	fb_put(&f);
	/* app.conf edited, motd only touched */
	fb_begin(&f, SID, T0 + MIN, "[\"config\",\"package\"]");
	config(&f, "/etc/app.conf", "port=5433\\n", "2023-11-14T22:00:30Z");
	config(&f, "/etc/motd", "hello\\n", "2023-11-14T22:00:30Z");
	config(&f, "/etc/nginx/nginx.conf", "worker_processes 2;\\n", "2023-11-14T20:00:00Z");
	package(&f, "nginx", "1.22",
	        ",\"conffiles\":{\"/etc/nginx/nginx.conf\":\"00000000000000000000000000000000\"}");
	fb_put(&f);

	struct res r;
	eval("config", NULL, T0, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.hits, 1);
	assert_string_equal(entry_s(&r, 0, "key"), "/etc/app.conf");
	assert_string_equal(r.summary, "config file /etc/app.conf changed (port: 5432 -> 5433)");
	/* the changed lines, as drift shows them */
	assert_int_equal(json_array_size(json_object_get(json_array_get(r.entries, 0), "lines")),
	                 2);
	done(&r);
	eval("config", "/etc/app*", T0, &r);
	assert_int_equal(r.hits, 1);
	done(&r);
	eval("config", "/etc/nginx/*", T0, &r);
	assert_int_equal(r.hits, 0);
	done(&r);

	/* nginx upgraded: its conffile has the content the new version ships,
	 * so the package's entry explains it */
	fb_begin(&f, SID, T0 + 2 * MIN, "[\"config\",\"package\"]");
	config(&f, "/etc/app.conf", "port=5432\\n", "2023-11-14T22:01:30Z");
	config(&f, "/etc/motd", "hello\\n", "2023-11-14T22:00:30Z");
	config(&f, "/etc/nginx/nginx.conf", "worker_processes 4;\\n", "2023-11-14T22:01:30Z");
	package(&f, "nginx", "1.24",
	        ",\"conffiles\":{\"/etc/nginx/nginx.conf\":\"7e2dab2c74ea66ccab185462ae644be6\"}");
	fb_put(&f);
	eval("config", "/etc/nginx/*", T0, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.hits, 1);
	assert_string_equal(entry_s(&r, 0, "feature"), "package");
	assert_string_equal(r.summary,
	                    "config file /etc/nginx/nginx.conf changed with the upgrade of nginx "
	                    "1.22 -> 1.24");
	done(&r);
	/* app.conf is back as it was: only the upgrade's file */
	eval("config", NULL, T0, &r);
	assert_int_equal(r.hits, 1);
	done(&r);
	eval("config", "/etc/app.conf", T0, &r);
	assert_int_equal(r.hits, 0);
	done(&r);
	/* the package rule sees the upgrade itself */
	eval("package", NULL, T0, &r);
	assert_int_equal(r.hits, 1);
	assert_string_equal(r.summary, "package nginx 1.22 -> 1.24");
	done(&r);
}

/* ---- process_gone ------------------------------------------------------------------- */

static void process_gone_rule(void **state)
{
	struct fb f;
	fb_begin(&f, SID, T0, "[\"process\"]");
	process(&f, 10, "nginx", "nginx: master process /usr/sbin/nginx");
	process(&f, 11, "nginx", "nginx: worker process");
	process(&f, 20, "cron", "/usr/sbin/cron -f");
	fb_put(&f);
	/* nginx restarted (new pids): it still runs */
	fb_begin(&f, SID, T0 + MIN, "[\"process\"]");
	process(&f, 30, "nginx", "nginx: master process /usr/sbin/nginx");
	process(&f, 31, "nginx", "nginx: worker process");
	process(&f, 20, "cron", "/usr/sbin/cron -f");
	fb_put(&f);

	struct res r;
	eval("process_gone", "nginx*", T0, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.hits, 0);
	done(&r);

	/* the worker alone dies: a process matching still runs */
	fb_begin(&f, SID, T0 + 2 * MIN, "[\"process\"]");
	process(&f, 30, "nginx", "nginx: master process /usr/sbin/nginx");
	process(&f, 20, "cron", "/usr/sbin/cron -f");
	fb_put(&f);
	eval("process_gone", "nginx*", T0, &r);
	assert_int_equal(r.hits, 0);
	done(&r);
	eval("process_gone", "nginx: worker*", T0, &r);
	assert_int_equal(r.hits, 1);
	done(&r);

	/* cron dies: matched by its program's base name */
	fb_begin(&f, SID, T0 + 3 * MIN, "[\"process\"]");
	process(&f, 30, "nginx", "nginx: master process /usr/sbin/nginx");
	fb_put(&f);
	eval("process_gone", "cron*", T0, &r);
	assert_int_equal(r.hits, 1);
	assert_string_equal(entry_s(&r, 0, "change"), "removed");
	assert_string_equal(entry_s(&r, 0, "key"), "root /usr/sbin/cron -f");
	assert_string_equal(r.summary, "no process matching 'cron*' any more; gone: pid 20 "
	                               "/usr/sbin/cron -f");
	done(&r);
	eval("process_gone", "/usr/sbin/cron *", T0, &r);
	assert_int_equal(r.hits, 1);
	done(&r);
	eval("process_gone", "sshd*", T0, &r); /* never ran: nothing gone */
	assert_int_equal(r.hits, 0);
	done(&r);

	/* cron comes back */
	fb_begin(&f, SID, T0 + 4 * MIN, "[\"process\"]");
	process(&f, 30, "nginx", "nginx: master process /usr/sbin/nginx");
	process(&f, 40, "cron", "/usr/sbin/cron -f");
	fb_put(&f);
	eval("process_gone", "cron*", T0, &r);
	assert_int_equal(r.hits, 0);
	done(&r);
}

/* ---- baselines, features, errors ---------------------------------------------------- */

static void baseline_and_features(void **state)
{
	struct fb f;
	fb_begin(&f, SID, T0, "[\"os\"]");
	fb_rec(&f, "os", "linux", "{\"kernel\":\"6.1\"}");
	fb_put(&f);
	struct res r;
	/* before the system's first frame: no baseline */
	eval("listen", NULL, T0 - MIN, &r);
	assert_int_equal(r.rc, -ENOENT);
	assert_non_null(strstr(r.err, SID));
	done(&r);
	eval("listen", NULL, T0, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.hits, 0);
	done(&r);
	eval_at("listen", NULL, "container:docker:nosuch", T0, 0, &r);
	assert_int_equal(r.rc, -ENOENT);
	done(&r);
	/* a feature the baseline did not have yet: everything of it is new */
	fb_begin(&f, SID, T0 + MIN, "[\"connection\"]");
	listener(&f, "127.0.0.1", 8080, 5, "app");
	fb_put(&f);
	eval("listen", "8080", T0, &r);
	assert_int_equal(r.hits, 1);
	assert_string_equal(r.summary, "new listening socket tcp 127.0.0.1:8080 (app, pid 5)");
	done(&r);
}

static void bad_definitions(void **state)
{
	char err[256];
	assert_int_equal(alarm_drift_check_def("listen", NULL, err, sizeof(err)), 0);
	assert_int_equal(alarm_drift_check_def("package", "lib*", err, sizeof(err)), 0);
	assert_int_equal(alarm_drift_check_def("config", "/etc/[an]*", err, sizeof(err)), 0);
	assert_int_equal(alarm_drift_check_def("process_gone", "nginx*", err, sizeof(err)), 0);
	assert_int_equal(alarm_drift_check_def("listen", "65535", err, sizeof(err)), 0);

	static const struct {
		const char *rule, *pattern, *says;
	} bad[] = {
	    {"lsten", NULL, "'lsten' is not one of listen, package, config, process_gone"},
	    {NULL, NULL, "rule: missing"},
	    {"", NULL, "rule: missing"},
	    {"process_gone", NULL, "process_gone needs"},
	    {"process_gone", "", "process_gone needs"},
	    {"listen", "", "empty"},
	    {"package", "lib[abc", "'[' without its ']'"},
	    {"package", "lib\\", "trailing backslash"},
	    {"config", "etc/*", "starts with '/'"},
	    {"listen", "70000", "from 1 to 65535"},
	    {"listen", "0", "from 1 to 65535"},
	    {"package", "a\nb", "control character"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(
		    alarm_drift_check_def(bad[i].rule, bad[i].pattern, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].says))
			fail_msg("%s/%s: '%s' does not say '%s'",
			         bad[i].rule ? bad[i].rule : "NULL",
			         bad[i].pattern ? bad[i].pattern : "NULL", err, bad[i].says);
	}
	/* the evaluation refuses them the same way */
	struct res r;
	eval("lsten", NULL, T0, &r);
	assert_int_equal(r.rc, -EINVAL);
	assert_non_null(strstr(r.err, "lsten"));
	assert_int_equal(r.hits, 0);
	eval("process_gone", NULL, T0, &r);
	assert_int_equal(r.rc, -EINVAL);
}

/* ---- alarm_run: a drift alarm as the daemon's engine runs it -------------------------- */

/* A metric-only frame (the daemon crawls metrics more often). */
static void metric_frame(int64_t t)
{
	struct fb f;
	fb_begin(&f, SID, t, "[\"metric\"]");
	fb_rec(&f, "metric", "memory", "{\"used_pct\":10}");
	fb_put(&f);
}

struct run_res {
	int n;
	struct alarm_run_item it; /* the last one (strings not kept) */
	char reason[1024];
	int64_t base, checked; /* what the baseline callback answers */
};

static int64_t run_baseline(void *ctx, const char *id, int64_t *checked)
{
	struct run_res *r = ctx;
	*checked = r->checked;
	return r->base;
}

static int run_item(void *ctx, const struct alarm_run_item *it)
{
	struct run_res *r = ctx;
	r->n++;
	r->it = *it;
	snprintf(r->reason, sizeof(r->reason), "%s", it->r.reason);
	return 0;
}

static void run_listen(struct run_res *r, int64_t now)
{
	struct alarm_def d = {.name = "new-port", .type = ALARM_DRIFT, .period_ms = MIN};
	d.rule = (char *)"listen";
	d.system = (char *)SID;
	char err[256] = "";
	r->n = 0;
	int rc = alarm_run(st, &d, now, NULL, run_baseline, run_item, r, err, sizeof(err));
	if (rc)
		fail_msg("alarm_run: %s", err);
}

static void run_within_a_period(void **state)
{
	struct run_res r = {0};
	/* the container's first frame holds metrics only: nothing to arm on */
	metric_frame(T0 + 10000);
	run_listen(&r, T0 + 12000);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.it.state, ALARM_STATE_INSUFFICIENT);
	assert_int_equal(r.it.baseline_ms, 0);
	assert_non_null(strstr(r.reason, "not armed yet"));
	/* its connections crawled, then metrics again: armed at the frame
	 * holding the connections, not at now nor the latest frame */
	struct fb f;
	fb_begin(&f, SID, T0 + 20000, "[\"connection\"]");
	listener(&f, "0.0.0.0", 22, 1, "sshd");
	fb_put(&f);
	metric_frame(T0 + 22000);
	run_listen(&r, T0 + 23000);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.it.state, ALARM_STATE_OK);
	assert_int_equal(r.it.baseline_ms, T0 + 20000);
	/* within the same minute: compared with the state now (the period
	 * started before the baseline and before the system had a frame) */
	r.base = T0 + 20000;
	run_listen(&r, T0 + 25000);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.it.state, ALARM_STATE_OK);
	assert_int_equal(r.it.frame_ms, T0 + 20000);
	assert_non_null(strstr(r.reason, "no listen drift since"));
	fb_begin(&f, SID, T0 + 30000, "[\"connection\"]");
	listener(&f, "0.0.0.0", 22, 1, "sshd");
	listener(&f, "0.0.0.0", 4444, 812, "nc");
	fb_put(&f);
	run_listen(&r, T0 + 31000);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.it.state, ALARM_STATE_ALARM);
	assert_int_equal(r.it.frame_ms, T0 + 30000);
	assert_non_null(strstr(r.reason, "new listening socket tcp 0.0.0.0:4444 (nc, pid 812)"));
	/* metrics only since that comparison: not compared again */
	r.checked = T0 + 30000;
	metric_frame(T0 + 32000);
	run_listen(&r, T0 + 33000);
	assert_int_equal(r.n, 0);
	/* a new non-metric frame: compared (the port closed: OK) */
	fb_begin(&f, SID, T0 + 40000, "[\"connection\"]");
	listener(&f, "0.0.0.0", 22, 1, "sshd");
	fb_put(&f);
	run_listen(&r, T0 + 41000);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.it.state, ALARM_STATE_OK);
	assert_int_equal(r.it.frame_ms, T0 + 40000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(listen_fires_and_reverts, setup, teardown),
	    cmocka_unit_test_setup_teardown(package_rule, setup, teardown),
	    cmocka_unit_test_setup_teardown(config_rule, setup, teardown),
	    cmocka_unit_test_setup_teardown(process_gone_rule, setup, teardown),
	    cmocka_unit_test_setup_teardown(baseline_and_features, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_definitions, setup, teardown),
	    cmocka_unit_test_setup_teardown(run_within_a_period, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
