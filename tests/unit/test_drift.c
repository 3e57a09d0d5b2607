/* Unit tests: drift (analytics/drift*.c): matching, field-level changes,
 * config keys and lines, the rules file, the signals of the score. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analytics/drift.h"
#include "analytics/drift_text.h"

/* A state from {"frame": {...}, "records": [...]} text. */
static void state(const char *records, struct drift_state *s)
{
	char *text = NULL;
	assert_true(asprintf(&text,
	                     "{\"frame\":{\"id\":\"host:1\",\"name\":\"h\",\"time\":"
	                     "\"2026-12-01T10:00:00.000Z\"},\"records\":[%s]}",
	                     records) > 0);
	char err[256];
	assert_int_equal(drift_state_from_text(text, strlen(text), s, err, sizeof(err)), 0);
	free(text);
}

static json_t *diff(const char *a, const char *b, bool all)
{
	struct drift_state sa, sb;
	state(a, &sa);
	state(b, &sb);
	struct drift_rules rules = {0};
	char err[256];
	assert_int_equal(drift_rules_load(&rules, NULL, err, sizeof(err)), 0);
	struct drift_opts o = {.all = all};
	json_t *d = drift_diff(&sa, &sb, &rules, &o);
	drift_rules_free(&rules);
	drift_state_free(&sa);
	drift_state_free(&sb);
	return d;
}

static json_t *entry(json_t *d, size_t i)
{
	return json_array_get(json_object_get(d, "entries"), i);
}

static const char *s_of(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

#define PKG(n, v)                                                                                  \
	"{\"feature\":\"package\",\"key\":\"" n "\",\"value\":{\"name\":\"" n                      \
	"\",\"version\":\"" v "\"}}"

static void field_level_change(void **st)
{
	json_t *d = diff(PKG("openssl", "3.0.14") "," PKG("zlib", "1.2"),
	                 PKG("zlib", "1.2") "," PKG("openssl", "3.0.15"), false);
	assert_int_equal(json_array_size(json_object_get(d, "entries")), 1);
	json_t *e = entry(d, 0);
	assert_string_equal(s_of(e, "change"), "changed");
	assert_string_equal(s_of(e, "key"), "openssl");
	json_t *v = json_object_get(json_object_get(e, "fields"), "version");
	assert_string_equal(json_string_value(json_array_get(v, 0)), "3.0.14");
	assert_string_equal(json_string_value(json_array_get(v, 1)), "3.0.15");
	assert_null(json_object_get(json_object_get(e, "fields"), "name"));
	json_t *why = json_object_get(e, "why");
	assert_true(json_number_value(json_object_get(why, "prior")) > 0.8);
	assert_string_equal(s_of(why, "field"), "version");
	assert_non_null(strstr(s_of(why, "rule"), "package version changed"));
	json_decref(d);
}

static void reorder_is_no_change(void **st)
{
	json_t *d = diff(PKG("a", "1") "," PKG("b", "2") "," PKG("c", "3"),
	                 PKG("c", "3") "," PKG("a", "1") "," PKG("b", "2"), true);
	assert_int_equal(json_array_size(json_object_get(d, "entries")), 0);
	assert_int_equal(json_integer_value(json_object_get(d, "sunk")), 0);
	json_decref(d);
}

#define PROC(pid, cmd, rss)                                                                        \
	"{\"feature\":\"process\",\"key\":\"" #pid "\",\"value\":{\"pid\":" #pid                   \
	",\"user\":\"root\",\"comm\":\"x\",\"cmdline\":\"" cmd "\",\"rss_kb\":" #rss "}}"

/* Processes match by user and command line, not pid: a restart is one
 * changed entry (pid), sunk as volatile; a process gone is a removal. */
static void processes_match_by_cmdline(void **st)
{
	json_t *d = diff(
	    PROC(10, "nginx -g daemon",
	         100) "," PROC(11, "worker", 5) "," PROC(12, "worker", 6) "," PROC(20, "cron", 1),
	    PROC(30, "nginx -g daemon", 120) "," PROC(31, "worker", 5) "," PROC(32, "worker", 6),
	    false);
	assert_int_equal(json_array_size(json_object_get(d, "entries")), 1);
	json_t *e = entry(d, 0);
	assert_string_equal(s_of(e, "change"), "removed");
	assert_string_equal(s_of(e, "key"), "root cron");
	assert_string_equal(s_of(e, "record_key"), "20");
	assert_int_equal(json_integer_value(json_object_get(d, "sunk")), 3);
	json_decref(d);
	/* repeated command lines are numbered in pid order */
	d = diff(PROC(11, "worker", 5) "," PROC(12, "worker", 6),
	         PROC(12, "worker", 5) "," PROC(11, "worker", 9), true);
	json_t *v = json_object_get(d, "entries");
	assert_int_equal(json_array_size(v), 2);
	assert_true(json_is_true(json_object_get(json_array_get(v, 0), "sunk")));
	json_decref(d);
}

#define CONF(path, content, hash)                                                                  \
	"{\"feature\":\"config\",\"key\":\"" path "\",\"value\":{\"path\":\"" path                 \
	"\",\"content\":\"" content "\",\"sha256\":\"" hash "\"}}"

static void config_keys_and_lines(void **st)
{
	json_t *d = diff(
	    CONF("/etc/app.conf", "[db]\\nhost = a\\nport = 5432\\n[web]\\nport = 80\\n", "h1"),
	    CONF("/etc/app.conf", "[db]\\nhost = a\\nport = 5433\\n[web]\\nport = 80\\n", "h2"),
	    false);
	json_t *e = entry(d, 0);
	assert_non_null(e);
	json_t *k = json_object_get(e, "keys");
	assert_int_equal(json_object_size(k), 1);
	json_t *p = json_object_get(k, "db.port");
	assert_string_equal(json_string_value(json_array_get(p, 0)), "5432");
	assert_string_equal(json_string_value(json_array_get(p, 1)), "5433");
	json_t *l = json_object_get(e, "lines");
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_array_get(l, 0)), "-port = 5432");
	assert_string_equal(json_string_value(json_array_get(l, 1)), "+port = 5433");
	/* the content is shown by its lines, not as two whole texts */
	assert_null(json_object_get(json_object_get(e, "fields"), "content"));
	assert_string_equal(s_of(json_object_get(e, "why"), "field"), "content");
	json_decref(d);
}

static void text_diff_lines(void **st)
{
	json_t *lines, *keys;
	const char *a = "one\ntwo\nthree\nfour\n", *b = "one\nthree\nthree and a half\nfour\n";
	drift_text_diff(a, strlen(a), b, strlen(b), 20, &lines, &keys);
	assert_int_equal(json_array_size(lines), 2);
	assert_string_equal(json_string_value(json_array_get(lines, 0)), "-two");
	assert_string_equal(json_string_value(json_array_get(lines, 1)), "+three and a half");
	assert_null(keys); /* not key/value lines */
	json_decref(lines);
	/* at most max lines, then a count */
	const char *c = "a=1\nb=2\nc=3\nd=4\n", *e = "a=9\nb=9\nc=9\nd=9\n";
	drift_text_diff(c, strlen(c), e, strlen(e), 3, &lines, &keys);
	assert_int_equal(json_array_size(lines), 4);
	assert_string_equal(json_string_value(json_array_get(lines, 3)), "... 5 more");
	assert_int_equal(json_object_size(keys), 4);
	json_decref(lines);
	json_decref(keys);
	/* a key added: null before */
	const char *f = "x=1\n", *g = "x=1\ny=2\n";
	drift_text_diff(f, strlen(f), g, strlen(g), 20, &lines, &keys);
	assert_true(json_is_null(json_array_get(json_object_get(keys, "y"), 0)));
	json_decref(lines);
	json_decref(keys);
}

static void rules_parse_errors(void **st)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"config content changed 2\n", "WEIGHT must be"},
	    {"config content changed 0x1\n", "WEIGHT must be"},
	    {"config content sometimes 0.5\n", "CHANGE must be"},
	    {"config content\n", "a rule is"},
	    {"config * * 0.5 when size ~ 3\n", "operator"},
	    {"config * * 0.5 when size\n", "'when' needs"},
	    {"config * * 0.5 key\n", "'key' needs"},
	    {"config * * 0.5 extra\n", "unexpected word 'extra'"},
	    {"a b c 0.5 d e f g h i j k\n", "too many words"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct drift_rules rs = {0};
		char err[256] = "";
		assert_int_equal(drift_rules_parse(&rs, bad[i].text, strlen(bad[i].text),
		                                   "my.rules", err, sizeof(err)),
		                 -EINVAL);
		assert_non_null(strstr(err, "my.rules line 1"));
		assert_non_null(strstr(err, bad[i].msg));
		drift_rules_free(&rs);
	}
}

static void rules_last_match_wins(void **st)
{
	struct drift_rules rs = {0};
	char err[256];
	const char *t = "# comment\n\n"
	                "*      *     *        0.5\n"
	                "metric *     *        volatile\n"
	                "metric used_pct changed 0.95 when used_pct >= 90\n"
	                "metric used_pct changed 0.1 key disk:/tmp\n"
	                "os     name  changed  0.7 when name = Debian\n";
	assert_int_equal(drift_rules_parse(&rs, t, strlen(t), "t", err, sizeof(err)), 0);
	const char *why;
	const char *full = "{\"used_pct\":97.0}", *low = "{\"used_pct\":3}";
	assert_true(drift_rules_weight(&rs, "metric", "disk:/", "used_pct", DRIFT_CHANGED, full,
	                               strlen(full), &why) == 0.95);
	assert_non_null(strstr(why, "t line 5"));
	assert_true(drift_rules_weight(&rs, "metric", "disk:/", "used_pct", DRIFT_CHANGED, low,
	                               strlen(low), &why) == DRIFT_VOLATILE);
	assert_true(drift_rules_weight(&rs, "metric", "disk:/tmp", "used_pct", DRIFT_CHANGED, full,
	                               strlen(full), &why) == 0.1);
	const char *deb = "{\"name\":\"Debian\"}", *fed = "{\"name\":\"Fed\\u006fra\"}";
	assert_true(drift_rules_weight(&rs, "os", "linux", "name", DRIFT_CHANGED, deb, strlen(deb),
	                               &why) == 0.7);
	assert_true(drift_rules_weight(&rs, "os", "linux", "name", DRIFT_CHANGED, fed, strlen(fed),
	                               &why) == 0.5);
	drift_rules_free(&rs);
}

/* The history signal: a field that changed in every earlier pair scores
 * lower than one that never did. */
static void history_lowers_frequent_changes(void **st)
{
	struct drift_state s1, s2, s3;
	state(PKG("a", "1") "," PKG("b", "1"), &s1);
	state(PKG("a", "2") "," PKG("b", "1"), &s2);
	state(PKG("a", "3") "," PKG("b", "2"), &s3);
	struct drift_history h = {0};
	drift_history_add(&h, &s1, &s2);
	struct drift_rules rules = {0};
	char err[256];
	assert_int_equal(drift_rules_load(&rules, NULL, err, sizeof(err)), 0);
	struct drift_opts o = {.history = &h};
	json_t *d = drift_diff(&s2, &s3, &rules, &o);
	json_t *first = entry(d, 0), *second = entry(d, 1);
	assert_string_equal(s_of(first, "key"), "b");
	assert_string_equal(s_of(second, "key"), "a");
	json_t *hist = json_object_get(json_object_get(second, "why"), "history");
	assert_int_equal(json_integer_value(json_object_get(hist, "changes")), 1);
	assert_true(json_number_value(json_object_get(second, "score")) <
	            json_number_value(json_object_get(first, "score")));
	json_decref(d);
	json_decref(h.counts);
	drift_rules_free(&rules);
	drift_state_free(&s1);
	drift_state_free(&s2);
	drift_state_free(&s3);
}

#define LISTEN(port, comm)                                                                         \
	"{\"feature\":\"connection\",\"key\":\"tcp/0.0.0.0/" #port "\",\"value\":{\"proto\":"      \
	"\"tcp\",\"local_addr\":\"0.0.0.0\",\"local_port\":" #port ",\"remote_addr\":"             \
	"\"0.0.0.0\",\"remote_port\":0,\"state\":\"LISTEN\",\"pid\":7,\"comm\":\"" comm "\"}}"
#define ESTAB(lport, rport)                                                                        \
	"{\"feature\":\"connection\",\"key\":\"tcp/10.0.0.1/" #lport "/10.0.0.2/" #rport           \
	"\",\"value\":{\"proto\":\"tcp\",\"local_addr\":\"10.0.0.1\",\"local_port\":" #lport       \
	",\"remote_addr\":\"10.0.0.2\",\"remote_port\":" #rport ",\"state\":\"ESTABLISHED\"}}"

/* A lost listener ranks first; a client's new ephemeral port is no change. */
static void connections(void **st)
{
	json_t *d = diff(LISTEN(80, "httpd") "," ESTAB(80, 41000) "," ESTAB(51000, 5432),
	                 ESTAB(80, 41999) "," ESTAB(52000, 5432), false);
	assert_int_equal(json_array_size(json_object_get(d, "entries")), 1);
	json_t *e = entry(d, 0);
	assert_string_equal(s_of(e, "change"), "removed");
	assert_string_equal(s_of(e, "key"), "tcp 0.0.0.0:80 LISTEN");
	assert_non_null(strstr(s_of(json_object_get(e, "why"), "used_by"), "httpd"));
	json_decref(d);
}

/* The peers signal: B's value shared by every peer of the image halves
 * the score; a value no peer has keeps it. */
static void peers_rarity(void **st)
{
	struct drift_state a, b, p1, p2;
	state(PKG("a", "1") "," PKG("b", "1"), &a);
	state(PKG("a", "2") "," PKG("b", "2"), &b);
	state(PKG("a", "2") "," PKG("b", "1"), &p1);
	state(PKG("a", "2") "," PKG("b", "1"), &p2);
	struct drift_state peers[2] = {p1, p2};
	struct drift_rules rules = {0};
	char err[256];
	assert_int_equal(drift_rules_load(&rules, NULL, err, sizeof(err)), 0);
	struct drift_opts o = {.peers = peers, .npeers = 2};
	json_t *d = drift_diff(&a, &b, &rules, &o);
	json_t *first = entry(d, 0), *second = entry(d, 1);
	assert_string_equal(s_of(first, "key"), "b");  /* no peer has b 2 */
	assert_string_equal(s_of(second, "key"), "a"); /* every peer has a 2 */
	json_t *pe = json_object_get(json_object_get(second, "why"), "peers");
	assert_int_equal(json_integer_value(json_object_get(pe, "same")), 2);
	assert_int_equal(json_integer_value(json_object_get(pe, "of")), 2);
	assert_true(json_number_value(json_object_get(second, "score")) * 1.9 <
	            json_number_value(json_object_get(first, "score")));
	json_decref(d);
	drift_rules_free(&rules);
	drift_state_free(&a);
	drift_state_free(&b);
	drift_state_free(&peers[0]);
	drift_state_free(&peers[1]);
}

/* A library removed because the only process that mapped it exited folds
 * under the process's removal; one still mapped by a live process does not. */
static void library_folds_under_exit(void **st)
{
	const char *lib1 = "{\"feature\":\"library\",\"key\":\"/lib/a.so\",\"value\":"
	                   "{\"path\":\"/lib/a.so\",\"pids\":[5]}}";
	const char *lib2 = "{\"feature\":\"library\",\"key\":\"/lib/b.so\",\"value\":"
	                   "{\"path\":\"/lib/b.so\",\"pids\":[5,6]}}";
	char a[1024], b[512];
	snprintf(a, sizeof(a), "%s,%s,%s,%s", PROC(5, "worker", 1), PROC(6, "other", 1), lib1,
	         lib2);
	snprintf(b, sizeof(b), "%s", PROC(6, "other", 1));
	json_t *d = diff(a, b, false);
	json_t *v = json_object_get(d, "entries");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(s_of(entry(d, 0), "key"), "root worker");
	assert_string_equal(s_of(entry(d, 1), "key"), "/lib/b.so");
	assert_int_equal(json_integer_value(json_object_get(d, "sunk")), 1);
	json_decref(d);
}

/* A config file whose new content is the one its upgraded package ships
 * folds under the package's version change; one edited by hand does not. */
static void package_upgrade_explains(void **st)
{
	const char *a = PKG("pg", "15.3-1") "," CONF(
	    "/etc/pg.conf", "port = 5432\\n", "h1") "," CONF("/etc/mine.conf", "x=1\\n", "h3");
	const char *b =
	    "{\"feature\":\"package\",\"key\":\"pg\",\"value\":{\"name\":\"pg\",\"version\":"
	    "\"15.4-1\",\"conffiles\":{\"/etc/pg.conf\":\"725c224a5b5d2660123c59e4b99be0ee\","
	    "\"/etc/mine.conf\":\"00000000000000000000000000000000\"}}}," CONF(
	        "/etc/pg.conf", "port = 5433\\n", "h2") "," CONF("/etc/mine.conf", "x=2\\n", "h4");
	json_t *d = diff(a, b, false);
	json_t *v = json_object_get(d, "entries");
	assert_int_equal(json_array_size(v), 2);
	json_t *pkg = NULL, *mine = NULL;
	for (size_t i = 0; i < 2; i++) {
		if (!strcmp(s_of(entry(d, i), "feature"), "package"))
			pkg = entry(d, i);
		else
			mine = entry(d, i);
	}
	assert_non_null(pkg);
	assert_non_null(mine);
	assert_string_equal(s_of(mine, "key"), "/etc/mine.conf");
	json_t *ex = json_object_get(pkg, "explains");
	assert_int_equal(json_array_size(ex), 1);
	assert_string_equal(json_string_value(json_array_get(ex, 0)), "/etc/pg.conf");
	assert_int_equal(json_integer_value(json_object_get(d, "sunk")), 1);
	json_decref(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(field_level_change),
	    cmocka_unit_test(reorder_is_no_change),
	    cmocka_unit_test(processes_match_by_cmdline),
	    cmocka_unit_test(config_keys_and_lines),
	    cmocka_unit_test(text_diff_lines),
	    cmocka_unit_test(rules_parse_errors),
	    cmocka_unit_test(rules_last_match_wins),
	    cmocka_unit_test(history_lowers_frequent_changes),
	    cmocka_unit_test(connections),
	    cmocka_unit_test(peers_rarity),
	    cmocka_unit_test(library_folds_under_exit),
	    cmocka_unit_test(package_upgrade_explains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
