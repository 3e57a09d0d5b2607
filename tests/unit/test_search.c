/*
 * test_search.c - search: version ordering of dpkg, rpm and apk (tables),
 * the parser's trees and the columns of its errors, evaluation over an
 * index built by hand (selectors, has/and/or/not, operators, the
 * systems' own records, bounds), garbage queries, and the store's
 * state_records giving each distinct record once with its systems.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analytics/search.h"
#include "analytics/search_version.h"
#include "store/store.h"

struct vc {
	const char *a, *b;
	int want; /* sign of a compared with b */
};

static int sgn(int v)
{
	return v < 0 ? -1 : v > 0;
}

static void check_table(int (*cmp)(const char *, const char *), const struct vc *t, size_t n,
                        const char *what)
{
	for (size_t i = 0; i < n; i++) {
		int got = sgn(cmp(t[i].a, t[i].b)), back = sgn(cmp(t[i].b, t[i].a));
		if (got != t[i].want || back != -t[i].want)
			fail_msg("%s: %s vs %s: got %d (and %d reversed), want %d", what, t[i].a,
			         t[i].b, got, back, t[i].want);
	}
}

static void version_dpkg(void **state)
{
	static const struct vc t[] = {
	    {"1:1.0", "2.0", 1},    /* the epoch first */
	    {"1.0~rc1", "1.0", -1}, /* ~ before the end */
	    {"1.0~~", "1.0~", -1},
	    {"1.0~rc1", "1.0~rc2", -1},
	    {"1.0", "1.0", 0},
	    {"1.0-1", "1.0-2", -1},
	    {"1.0-10", "1.0-9", 1},
	    {"3.0.11-1~deb12u2", "3.0.14", -1},
	    {"3.0.14-1", "3.0.14", 1},
	    {"1.0a", "1.0", 1},   /* letters after the end */
	    {"1.0a", "1.0+", -1}, /* letters before other signs */
	    {"1.01", "1.1", 0},
	    {"0:1.2", "1.2", 0},
	    {"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
	    {"7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1},
	};
	check_table(vercmp_dpkg, t, sizeof(t) / sizeof(t[0]), "dpkg");
}

static void version_rpm(void **state)
{
	static const struct vc t[] = {
	    {"1.1.1k", "1.1.1l", -1},
	    {"1.0", "1.0", 0},
	    {"1.0", "1.0.1", -1},
	    {"2.0", "1.99", 1},
	    {"1.0a", "1.0", 1},
	    {"1.0~rc1", "1.0", -1},
	    {"1.0^git1", "1.0", 1},
	    {"1.0^git1", "1.0.1", -1},
	    {"1:1.0-1", "2.0-1", 1},
	    {"1.0-1.el9", "1.0-2.el9", -1},
	    {"1.0-10", "1.0-9", 1},
	    {"10", "9", 1},
	    {"1.a", "1.1", -1}, /* numbers beat letters */
	    {"3.0.7-27.el9", "3.0.7-24.el9", 1},
	};
	check_table(vercmp_rpm, t, sizeof(t) / sizeof(t[0]), "rpm");
	/* a missing release matches any release */
	assert_int_equal(vercmp_rpm("1.0", "1.0-5"), 0);
}

static void version_apk(void **state)
{
	static const struct vc t[] = {
	    {"1.2_rc1", "1.2", -1},
	    {"1.2", "1.2-r1", -1},
	    {"1.2-r1", "1.2_p1", -1},
	    {"1.2_alpha", "1.2_beta", -1},
	    {"1.2_beta2", "1.2_pre1", -1},
	    {"1.2_pre1", "1.2_rc1", -1},
	    {"1.2_rc1", "1.2_rc2", -1},
	    {"1.2.1", "1.2", 1},
	    {"1.2.1", "1.2_rc1", 1},
	    {"1.2a", "1.2b", -1},
	    {"1.2a", "1.2", 1},
	    {"1.10", "1.9", 1},
	    {"3.0.14-r0", "3.0.14-r1", -1},
	    {"1.2_git20240101", "1.2_p1", -1},
	    {"1.2-r10", "1.2-r9", 1},
	    {"1.2", "1.2", 0},
	};
	check_table(vercmp_apk, t, sizeof(t) / sizeof(t[0]), "apk");
	/* by manager name, and the fallback */
	assert_true(vercmp("dpkg", "1:1", "2") > 0);
	assert_true(vercmp("apk", "1.2_rc1", "1.2") < 0);
	assert_true(vercmp(NULL, "1.0~rc1", "1.0") < 0);
}

static bool feat(const char *w, void *ctx)
{
	return !strcmp(w, "package") || !strcmp(w, "process") || !strcmp(w, "connection") ||
	       !strcmp(w, "system");
}

static void parse_ok(void **state)
{
	struct sq_error e;
	struct sq_node *n = sq_parse("package name=openssl version<3.0.14", feat, NULL, &e);
	assert_non_null(n);
	assert_int_equal(n->kind, SQ_SEL);
	assert_string_equal(n->feature, "package");
	assert_int_equal(n->nconds, 2);
	assert_string_equal(n->conds[0].field, "name");
	assert_int_equal(n->conds[0].op, SQ_EQ);
	assert_string_equal(n->conds[1].vals[0], "3.0.14");
	assert_int_equal(n->conds[1].op, SQ_LT);
	assert_int_equal(n->conds[1].col, 22);
	sq_free(n);

	/* juxtaposed selectors are "and"; or binds looser; not, has */
	n = sq_parse("has package name=a package name=b or not process user=root", feat, NULL, &e);
	assert_non_null(n);
	assert_int_equal(n->kind, SQ_OR);
	assert_int_equal(n->a->kind, SQ_AND);
	assert_int_equal(n->b->kind, SQ_NOT);
	assert_string_equal(n->b->a->feature, "process");
	sq_free(n);

	/* values: lists, quotes, regexes, '=' and '/' inside, spaces around ops */
	n = sq_parse("process cmdline~--port=80 exe~/usr/sbin/nginx user in (root, \"www data\")"
	             " comm~/^ng.nx$/i pid >= 10 NGINX",
	             feat, NULL, &e);
	assert_non_null(n);
	assert_int_equal(n->nconds, 6);
	assert_string_equal(n->conds[0].vals[0], "--port=80");
	assert_null(n->conds[1].re); /* a path, not a regex */
	assert_string_equal(n->conds[1].vals[0], "/usr/sbin/nginx");
	assert_int_equal(n->conds[2].op, SQ_IN);
	assert_int_equal(n->conds[2].nvals, 2);
	assert_string_equal(n->conds[2].vals[1], "www data");
	assert_non_null(n->conds[3].re);
	assert_int_equal(n->conds[4].op, SQ_GE);
	assert_true(n->conds[4].num);
	assert_int_equal(n->conds[5].op, SQ_TEXT);
	assert_string_equal(n->conds[5].vals[0], "nginx"); /* lower case */
	sq_free(n);

	/* a feature name quoted is text; a field named like a feature */
	n = sq_parse("\"package\" process=1", feat, NULL, &e);
	assert_non_null(n);
	assert_null(n->feature);
	assert_int_equal(n->conds[0].op, SQ_TEXT);
	assert_string_equal(n->conds[1].field, "process");
	sq_free(n);
}

struct perr {
	const char *q;
	int col;
	const char *msg; /* a part of the message */
};

static void parse_errors(void **state)
{
	static const struct perr t[] = {
	    {"", 1, "empty"},
	    {"package name=", 13, "expected a value after '='"},
	    {"package name=openssl version<", 29, "expected a value after '<'"},
	    {"package version<<3", 17, "cannot start with '<'"},
	    {"(package name=a", 1, "never closed"},
	    {"package name=a)", 15, "no '(' is open"},
	    {"package and", 9, "'and' needs a term"},
	    {"package or )", 9, "'or' needs a term"},
	    {"=openssl", 1, "the field is missing"},
	    {"process cmdline~/[/", 17, "bad regular expression"},
	    {"package name=\"open", 14, "unterminated quote"},
	    {"package name in (a, b", 17, "never closed"},
	    {"package name in (a b)", 20, "expected ',' or ')'"},
	    {"package name in ()", 18, "expected a value in the list"},
	    {"has (package)", 5, "'has' is followed by a feature"},
	    {"not", 4, "ends where a term was expected"},
	    {"package na/me=1", 9, "bad field name"},
	    {"a\001b", 2, "control character"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sq_error e;
		struct sq_node *n = sq_parse(t[i].q, feat, NULL, &e);
		if (n)
			fail_msg("'%s' parsed", t[i].q);
		if (e.col != t[i].col || !strstr(e.msg, t[i].msg))
			fail_msg("'%s': column %d '%s', want column %d '%s'", t[i].q, e.col, e.msg,
			         t[i].col, t[i].msg);
	}
	/* the caret under the column */
	struct sq_error e;
	assert_null(sq_parse("package name=", feat, NULL, &e));
	struct buf b = BUF_INIT;
	sq_error_show("package name=", &e, &b);
	assert_string_equal(b.data, "  package name=\n              ^\n");
	buf_free(&b);
	/* too deep, too long */
	char deep[200];
	memset(deep, '(', 100);
	strcpy(deep + 100, "a");
	assert_null(sq_parse(deep, feat, NULL, &e));
	assert_non_null(strstr(e.msg, "nests deeper"));
	char *lng = malloc(SQ_MAX_TEXT + 10);
	memset(lng, 'a', SQ_MAX_TEXT + 5);
	lng[SQ_MAX_TEXT + 5] = 0;
	assert_null(sq_parse(lng, feat, NULL, &e));
	assert_int_equal(e.col, SQ_MAX_TEXT + 1);
	free(lng);
}

/* Garbage never crashes (ASan), and a tree or an error with a column in
 * the text always comes back. */
static void parse_garbage(void **state)
{
	static const char alphabet[] = "ab =!~<>()\",/\\in and or not has package 0.9~^_-";
	uint64_t x = 88172645463325252ULL;
	char q[64];
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(round % 60);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			q[i] = alphabet[x % (sizeof(alphabet) - 1)];
		}
		q[n] = 0;
		struct sq_error e;
		struct sq_node *t = sq_parse(q, feat, NULL, &e);
		if (!t)
			assert_true(e.col >= 1 && (size_t)e.col <= n + 1);
		sq_free(t);
	}
}

/* A fleet of 4 systems:
 *   0 web (dpkg: openssl 3.0.11, nginx listening on 80, root nginx)
 *   1 web2 (the same image: shares its package records)
 *   2 db (rpm: openssl 1:3.0.7, mysqld on 3306)
 *   3 alp (apk: openssl 3.0.14-r0, curl) */
static struct search_index *fleet(void)
{
	struct search_index *ix = search_index_new();
	assert_int_equal(search_index_add_system(ix, 0, "container:web", "web", "container",
	                                         "podman", "nginx:1", "h", "{\"tier\":\"front\"}"),
	                 0);
	assert_int_equal(search_index_add_system(ix, 1, "container:web2", "web2", "container",
	                                         "podman", "nginx:1", "h", NULL),
	                 0);
	assert_int_equal(search_index_add_system(ix, 2, "container:db", "db", "container", "podman",
	                                         "mysql:8", "h", NULL),
	                 0);
	assert_int_equal(
	    search_index_add_system(ix, 3, "host:alp", "alp", "host", NULL, NULL, NULL, NULL), 0);
	static const uint32_t web[] = {0, 1}, db[] = {2}, alp[] = {3}, w0[] = {0},
	                      all[] = {0, 1, 2, 3};
#define ADD(f, k, v, s, g)                                                                         \
	assert_int_equal(search_index_add_record(ix, f, k, strlen(k), v, strlen(v), s,             \
	                                         sizeof(s) / sizeof(s[0]), g),                     \
	                 0)
	ADD("package", "openssl",
	    "{\"name\":\"openssl\",\"version\":\"3.0.11-1~deb12u2\",\"manager\":\"dpkg\"}", web, 0);
	ADD("package", "libc6", "{\"name\":\"libc6\",\"version\":\"2.36-9\",\"manager\":\"dpkg\"}",
	    web, 0);
	ADD("package", "openssl",
	    "{\"name\":\"openssl\",\"version\":\"1:3.0.7-27.el9\",\"manager\":\"rpm\"}", db, 1);
	ADD("package", "openssl",
	    "{\"name\":\"openssl\",\"version\":\"3.0.14-r0\",\"manager\":\"apk\"}", alp, 2);
	ADD("package", "curl", "{\"name\":\"curl\",\"version\":\"8.5.0-r0\",\"manager\":\"apk\"}",
	    alp, 2);
	ADD("connection", "tcp/0.0.0.0/80",
	    "{\"local_port\":80,\"state\":\"LISTEN\",\"comm\":\"nginx\"}", web, 0);
	ADD("connection", "tcp/0.0.0.0/3306",
	    "{\"local_port\":3306,\"state\":\"LISTEN\",\"comm\":\"mysqld\"}", db, 1);
	ADD("process", "1",
	    "{\"pid\":1,\"user\":\"root\",\"cmdline\":\"nginx: master process\",\"args\":[\"-g\","
	    "\"daemon off\"]}",
	    w0, 3);
	ADD("process", "1",
	    "{\"pid\":1,\"user\":\"mysql\",\"cmdline\":\"mysqld\",\"env\":{\"TZ\":"
	    "\"UTC\"}}",
	    db, 1);
	ADD("os", "linux", "{\"id\":\"caf\\u00e9\",\"name\":\"Shared\"}", all, 4);
#undef ADD
	assert_int_equal(search_index_finish(ix), 0);
	return ix;
}

/* The answer of q as "system feature key; ..." (no record: "system -"). */
static char *answer(struct search_index *ix, const char *q, size_t limit, struct search_result *out)
{
	struct sq_error e;
	struct sq_node *n = search_parse(ix, q, &e);
	if (!n)
		fail_msg("'%s': column %d: %s", q, e.col, e.msg);
	struct search_result r;
	search_eval(ix, n, limit, &r);
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < r.nhits; i++) {
		const struct search_hit *h = &r.hits[i];
		buf_printf(&b, "%s%s", i ? "; " : "", sx_str(ix, ix->sys[h->sys].name));
		if (h->rec == SEARCH_NO_RECORD)
			buf_adds(&b, " -");
		else
			buf_printf(&b, " %s %s", ix->features[ix->recs[h->rec].feature],
			           sx_str(ix, ix->recs[h->rec].key));
	}
	sq_free(n);
	if (out)
		*out = r;
	else
		search_result_free(&r);
	char *s = strdup(b.data ? b.data : "");
	buf_free(&b);
	return s;
}

#define EXPECT(ix, q, want)                                                                        \
	do {                                                                                       \
		char *got_ = answer(ix, q, 100, NULL);                                             \
		if (strcmp(got_, want) != 0)                                                       \
			fail_msg("'%s':\n  got  %s\n  want %s", q, got_, want);                    \
		free(got_);                                                                        \
	} while (0)

static void eval_selectors(void **state)
{
	struct search_index *ix = fleet();
	/* versions by each manager: dpkg 3.0.11 and rpm 1:3.0.7 (epoch 1) */
	EXPECT(ix, "package name=openssl version<3.0.14",
	       "web package openssl; web2 package openssl");
	EXPECT(ix, "package name=openssl version>=3.0.14",
	       "db package openssl; alp package openssl");
	EXPECT(ix, "package name=openssl version<=3.0.14-r0",
	       "web package openssl; web2 package "
	       "openssl; alp package openssl");
	EXPECT(ix, "connection state=LISTEN local_port=3306", "db connection tcp/0.0.0.0/3306");
	EXPECT(ix, "connection local_port>100", "db connection tcp/0.0.0.0/3306");
	EXPECT(ix, "connection local_port=\"80\"",
	       "web connection tcp/0.0.0.0/80; web2 connection tcp/0.0.0.0/80");
	EXPECT(ix, "process user=root cmdline~NGINX", "web process 1");
	EXPECT(ix, "process cmdline~/^nginx:.m/", "web process 1");
	EXPECT(ix, "process cmdline~/^NGINX/", "");
	EXPECT(ix, "process cmdline~/^NGINX/i", "web process 1");
	EXPECT(ix, "process cmdline!~nginx", "db process 1");
	EXPECT(ix, "process user!=root", "db process 1");
	EXPECT(ix, "process args=\"daemon off\"", "web process 1"); /* array elements */
	EXPECT(ix, "process env.TZ=UTC", "db process 1");           /* nested members */
	EXPECT(ix, "process user in (mysql, nobody)", "db process 1");
	EXPECT(ix, "package key=curl", "alp package curl");
	EXPECT(ix, "os id=café", "web os linux; web2 os linux; db os linux; alp os linux");
	/* bare words: any feature, any case, key or values */
	EXPECT(ix, "MYSQLD", "db connection tcp/0.0.0.0/3306; db process 1");
	EXPECT(ix, "3306", "db connection tcp/0.0.0.0/3306");
	EXPECT(ix, "package curl", "alp package curl");
	EXPECT(ix, "nosuchword", "");
	EXPECT(ix, "nosuchfeature", "");
	EXPECT(ix, "package nosuchfield=1", "");
	/* the systems themselves */
	EXPECT(ix, "system kind=host", "alp system host:alp");
	EXPECT(ix, "system labels.tier=front", "web system container:web");
	search_index_free(ix);
}

static void eval_systems(void **state)
{
	struct search_index *ix = fleet();
	EXPECT(ix, "has package name=openssl and has package name=curl",
	       "alp package curl; alp package openssl");
	EXPECT(ix, "package name=openssl and package name=libc6",
	       "web package libc6; web package openssl; web2 package libc6; web2 package openssl");
	EXPECT(ix, "process user=root or connection local_port=3306",
	       "web process 1; db connection tcp/0.0.0.0/3306");
	/* not names no record: the systems are listed alone */
	EXPECT(ix, "not has package name=libc6", "db -; alp -");
	EXPECT(ix, "package name=openssl and not connection state=LISTEN", "alp package openssl");
	EXPECT(ix, "(process user=root or process user=mysql) and not system name=db",
	       "web process 1");
	EXPECT(ix, "not not process user=root", "web process 1");
	search_index_free(ix);
}

static void eval_bounds(void **state)
{
	struct search_index *ix = fleet();
	struct search_result r;
	char *s = answer(ix, "os", 2, &r);
	assert_string_equal(s, "web os linux; web2 os linux");
	assert_int_equal(r.total, 4);
	assert_int_equal(r.systems, 4);
	assert_true(r.truncated);
	free(s);
	/* the JSON answer */
	struct buf b = BUF_INIT;
	search_result_json(ix, &r, "os", 2, &b);
	assert_non_null(strstr(b.data,
	                       "\"results\":[{\"system\":\"container:web\",\"name\":\"web\","
	                       "\"feature\":\"os\",\"key\":\"linux\",\"value\":{\"id\":"
	                       "\"caf\\u00e9\",\"name\":\"Shared\"}}"));
	assert_non_null(strstr(b.data, "\"systems\":4,\"total\":4,\"truncated\":true,\"limit\":2"));
	assert_non_null(strstr(b.data, "\"index\":{\"systems\":4,\"records\":10,\"pairs\":16"));
	buf_free(&b);
	search_result_free(&r);
	s = answer(ix, "os", 0, &r);
	assert_string_equal(s, "");
	assert_int_equal(r.total, 4);
	free(s);
	search_result_free(&r);
	/* shared records are one entry: the per-frame index is bigger */
	struct search_index_stats st;
	search_index_stats(ix, &st);
	assert_int_equal(st.records, 10);
	assert_int_equal(st.pairs, 16);
	assert_true(st.per_frame_bytes > 0);
	search_index_free(ix);
}

/* Records come from the store once each, with the systems holding them;
 * a record in two different sets gets the union of their systems. */
static void state_from_store(void **state)
{
	char dir[] = "/tmp/vt-search-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char db[64];
	snprintf(db, sizeof(db), "%s/db", dir);
	struct store *st;
	assert_int_equal(store_open(db, STORE_RW, &st), 0);
	static const char *const sys[] = {"container:a", "container:b", "container:c"};
	for (int s = 0; s < 3; s++) {
		char f[2048];
		/* a and b: the same package list; c: another list sharing libc */
		snprintf(f, sizeof(f),
		         "{\"system\":\"%s\",\"time\":\"2026-11-22T10:00:00.000Z\",\"feature\":"
		         "\"frame\","
		         "\"key\":\"%s\",\"value\":{\"id\":\"%s\",\"name\":\"n%d\",\"kind\":"
		         "\"container\","
		         "\"time\":\"2026-11-22T10:00:00.000Z\",\"features\":[\"package\"]}}\n"
		         "{\"system\":\"%s\",\"time\":\"2026-11-22T10:00:00.000Z\",\"feature\":"
		         "\"package\","
		         "\"key\":\"libc\",\"value\":{\"name\":\"libc\"}}\n"
		         "{\"system\":\"%s\",\"time\":\"2026-11-22T10:00:00.000Z\",\"feature\":"
		         "\"package\","
		         "\"key\":\"%s\",\"value\":{\"name\":\"%s\"}}\n",
		         sys[s], sys[s], sys[s], s, sys[s], sys[s], s < 2 ? "nginx" : "mysql",
		         s < 2 ? "nginx" : "mysql");
		int64_t id;
		assert_int_equal(store_put_frame(st, f, strlen(f), &id), 0);
	}
	store_close(st);
	/* through the index builder */
	struct search_index *ix;
	assert_int_equal(store_open(db, STORE_RO, &st), 0);
	char err[256];
	assert_int_equal(search_index_build(st, 0, &ix, err, sizeof(err)), 0);
	store_close(st);
	struct search_index_stats s;
	search_index_stats(ix, &s);
	assert_int_equal(s.systems, 3);
	assert_int_equal(s.records, 3); /* libc, nginx, mysql */
	assert_int_equal(s.pairs, 6);
	EXPECT(ix, "package name=libc", "n0 package libc; n1 package libc; n2 package libc");
	EXPECT(ix, "package name=nginx", "n0 package nginx; n1 package nginx");
	search_index_free(ix);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(version_dpkg),   cmocka_unit_test(version_rpm),
	    cmocka_unit_test(version_apk),    cmocka_unit_test(parse_ok),
	    cmocka_unit_test(parse_errors),   cmocka_unit_test(parse_garbage),
	    cmocka_unit_test(eval_selectors), cmocka_unit_test(eval_systems),
	    cmocka_unit_test(eval_bounds),    cmocka_unit_test(state_from_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
