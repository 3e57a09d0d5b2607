/* Unit tests: the embedded store (src/store) and the store sink, on real
 * SQLite files in a temporary directory; and the JSON scanner it uses. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "under_valgrind.h"

#include "sinks/sinks.h"
#include "store/sqlite_internal.h"
#include "util/jscan.h"
#include "store/store.h"
#include "tmpstore.h"
#include "util/timefmt.h"
#include "util/util.h"

/* 2023-11-14T22:00:00.000Z, on an hour boundary */
#define T0 1699999200000LL
#define MIN 60000LL
#define HOUR 3600000LL
#define DAY 86400000LL
/* raw points: kept count; when points_new is empty, the chunks' sum too */
#define RAW_POINTS "SELECT n FROM counts WHERE name = 'points_raw'"
#define CHUNK_POINTS "SELECT coalesce(sum(n), 0) FROM points_raw"

/* One integer from a query on a separate raw connection. */
static int64_t q(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
	assert_int_equal(rc, SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static double qd(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	double v = -1;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void raw_exec(const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, err);
	sqlite3_free(err);
	sqlite3_close(db);
	assert_int_equal(rc, SQLITE_OK);
}

/* ---- building frames ---------------------------------------------------- */

struct fb {
	struct buf b;
	char sid[200];
	char iso[40];
};

static void fb_begin_full(struct fb *f, const char *sid, int64_t t, const char *identity,
                          const char *features)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->sid, sizeof(f->sid), "%s", sid);
	format_time_utc(t * 1000000, f->iso, sizeof(f->iso));
	buf_printf(
	    &f->b,
	    "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"frame\",\"key\":\"%s\",\"value\":"
	    "{\"id\":\"%s\",%s,\"host\":\"box\",\"time\":\"%s\",\"features\":%s,"
	    "\"duration_ms\":12.345,\"records\":0,\"errors\":{},\"feature_ms\":{\"os\":0.5,"
	    "\"metric\":1}}}\n",
	    sid, f->iso, sid, sid, identity, f->iso, features);
}

static void fb_begin(struct fb *f, const char *sid, int64_t t, const char *features)
{
	fb_begin_full(f, sid, t, "\"name\":\"box\",\"kind\":\"host\"", features);
}

static void fb_rec(struct fb *f, const char *feature, const char *key, const char *value)
{
	buf_printf(
	    &f->b,
	    "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"%s\",\"key\":\"%s\",\"value\":%s}\n",
	    f->sid, f->iso, feature, key, value);
}

static int64_t fb_put(struct store *s, struct fb *f)
{
	int64_t id = 0;
	int r = store_put_frame(s, f->b.data, f->b.len, &id);
	if (r < 0)
		fprintf(stderr, "put_frame: %s\n", store_errmsg(s));
	assert_int_equal(r, 0);
	assert_true(id > 0);
	buf_free(&f->b);
	return id;
}

/* A metric frame of "host:abc" at t with memory.used_pct = v. */
static void put_metric(struct store *s, const char *sid, int64_t t, double v)
{
	struct fb f;
	char val[200];
	fb_begin(&f, sid, t, "[\"metric\"]");
	snprintf(val, sizeof(val), "{\"total_kb\":1000,\"used_pct\":%g}", v);
	fb_rec(&f, "metric", "memory", val);
	fb_put(s, &f);
}

/* ---- jscan ------------------------------------------------------------------ */

static bool valid(const char *s)
{
	const char *e = js_skip(s, s + strlen(s), 0);
	return e && e == s + strlen(s);
}

static void test_jscan_valid_invalid(void **state)
{
	assert_true(valid("{}"));
	assert_true(valid("[]"));
	assert_true(valid("{\"a\":[1,-2.5e+3,true,false,null,\"x\\u00e9\\udce9\\n\"],\"b\":{}}"));
	assert_true(valid("\"caf\xc3\xa9\""));
	assert_true(valid("0"));
	assert_true(valid("-0.5"));
	assert_false(valid("{\"a\":}"));
	assert_false(valid("{\"a\":1,}"));
	assert_false(valid("[1 2]"));
	assert_false(valid("01"));
	assert_false(valid("1."));
	assert_false(valid("\"tab\there\"")); /* raw control character */
	assert_false(valid("\"\\x\""));
	assert_false(valid("\"\\u12\""));
	assert_false(valid("\"\xff\""));         /* not UTF-8 */
	assert_false(valid("\"\xc0\xaf\""));     /* overlong */
	assert_false(valid("\"\xed\xa0\x80\"")); /* UTF-8 surrogate */
	assert_false(valid("#"));
	assert_false(valid("tru"));
	/* truncated at every length */
	const char *full = "{\"k\":[1,{\"x\":\"y\\u0041\"}],\"n\":null}";
	for (size_t n = 0; n < strlen(full); n++)
		assert_null(js_skip(full, full + n, 0) == full + strlen(full) ? full : NULL);
	for (size_t n = 0; n < strlen(full); n++) {
		const char *e = js_skip(full, full + n, 0);
		assert_true(e == NULL || e <= full + n);
	}
	/* depth bound */
	char deep[300];
	memset(deep, '[', 200);
	memset(deep + 200, ']', 99);
	deep[299] = 0;
	assert_null(js_skip(deep, deep + strlen(deep), 0));
	/* a special byte at every position of a long string (the scanner
	 * looks at eight bytes at a time) */
	for (int pos = 0; pos < 40; pos++) {
		char str[64];
		memset(str, 'a', sizeof(str));
		str[0] = '"';
		str[50] = '"';
		str[51] = 0;
		str[1 + pos] = 0x01;
		assert_false(valid(str));
		str[1 + pos] = (char)0xff;
		assert_false(valid(str));
		str[1 + pos] = '"';
		assert_false(valid(str)); /* ends early: trailing bytes */
		str[1 + pos] = '\\';
		str[2 + pos] = 'n';
		assert_true(valid(str));
		str[1 + pos] = (char)0xc3;
		str[2 + pos] = (char)0xa9;
		assert_true(valid(str));
		str[1 + pos] = 0x7f;
		str[2 + pos] = 'a';
		assert_true(valid(str));
	}
	/* templates */
	const char *t = "{\"a\":#,\"b\":#T}";
	assert_null(js_skip(t, t + strlen(t), 0));
	assert_ptr_equal(js_skip(t, t + strlen(t), JS_TEMPLATE), t + strlen(t));
}

static void test_jscan_iter_unescape(void **state)
{
	const char *o = "{ \"a\" : 1 , \"b\\\"q\":\"x\\u00e9\\udce9\\ud83d\\ude00\\u0000\" }";
	struct js_span all = {o, strlen(o)}, n, v, c;
	struct js_iter it;
	assert_int_equal(js_iter_begin(&it, all, 0), 0);
	assert_int_equal(js_obj_next(&it, &n, &v), 1);
	assert_true(js_eq(n, "a") && js_eq(v, "1"));
	assert_int_equal(js_obj_next(&it, &n, &v), 1);
	assert_true(js_eq(n, "b\\\"q"));
	assert_true(js_str(v, &c));
	struct buf b = BUF_INIT;
	js_unescape(&b, c.p, c.n);
	assert_string_equal(b.data, "x\xc3\xa9\xe9\xf0\x9f\x98\x80\xef\xbf\xbd");
	assert_int_equal(js_obj_next(&it, &n, &v), 0);
	buf_reset(&b);
	js_escape_raw(&b, "a\"b\xff", 4);
	assert_string_equal(b.data, "a\\\"b\\udcff");
	buf_free(&b);
	const char *bad = "{\"a\" 1}";
	struct js_span bs = {bad, strlen(bad)};
	assert_int_equal(js_iter_begin(&it, bs, 0), 0);
	assert_int_equal(js_obj_next(&it, &n, &v), -1);
}

/* JS_TRUSTED hands out the same spans as the validating iteration, for
 * valid text of every kind of value (escaped quotes, runs of backslashes,
 * nesting, numbers, literals, blanks). */
static void spans_of(const char *doc, int flags, char *out, size_t cap)
{
	struct js_span all = {doc, strlen(doc)}, n, v;
	struct js_iter it;
	size_t len = 0;
	out[0] = '\0';
	assert_int_equal(js_iter_begin(&it, all, flags), 0);
	int r;
	if (doc[0] == '{') {
		while ((r = js_obj_next(&it, &n, &v)) == 1)
			len += (size_t)snprintf(out + len, cap - len, "%.*s=%.*s|", (int)n.n, n.p,
			                        (int)v.n, v.p);
	} else {
		while ((r = js_arr_next(&it, &v)) == 1)
			len += (size_t)snprintf(out + len, cap - len, "%.*s|", (int)v.n, v.p);
	}
	assert_int_equal(r, 0);
}

static void test_jscan_trusted_same_spans(void **state)
{
	static const char *const docs[] = {
	    "{\"a\":1,\"b\":\"x\\\"y\",\"c\":\"\\\\\",\"d\":[1,{\"e\":\"]}\"},[]],\"f\":null}",
	    "{ \"k\\\"q\" : -1.5e3 , \"t\" : true ,\"o\":{\"n\":{\"m\":[\"\\\\\\\"\"]}} }",
	    "[\"a,b\",{\"x\":\"}\"},12,false,[[[]]],\"\\udcff\",0]",
	    "[]",
	    "{}",
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		char a[512], b[512];
		spans_of(docs[i], 0, a, sizeof(a));
		spans_of(docs[i], JS_TRUSTED, b, sizeof(b));
		assert_string_equal(a, b);
	}
}

/* ---- open, schema, errors ------------------------------------------------ */

static void test_open_create_reopen(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	struct buf b = BUF_INIT;
	assert_int_equal(store_stats_json(s, &b), 0);
	assert_non_null(strstr(b.data, "\"schema_version\":2"));
	assert_non_null(strstr(b.data, "\"frames\":0"));
	store_close(s);
	assert_int_equal(q("PRAGMA application_id"), STORE_APPID);
	assert_int_equal(q("PRAGMA user_version"), 2);
	assert_int_equal(q("SELECT value FROM meta WHERE key = 'schema_version'"), 2);
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* reopen RW (no migration) and RO */
	s = tmpstore_open(STORE_RW);
	store_close(s);
	assert_int_equal(store_open(path, STORE_RO, &s), 0);
	struct fb f;
	fb_begin(&f, "host:abc", T0, "[]");
	assert_int_equal(store_put_frame(s, f.b.data, f.b.len, NULL), -EROFS);
	assert_int_equal(store_maintain(s, T0), -EROFS);
	buf_free(&f.b);
	buf_reset(&b);
	assert_int_equal(store_systems_json(s, NULL, &b), 0);
	assert_string_equal(b.data, "[]");
	store_close(s);
	buf_free(&b);
}

/* A store of schema version 1 (before objects, events and gone reasons):
 * made by this version, then taken back to version 1's schema exactly
 * (the tables and the column version 2 added dropped, the version set
 * back), so that it migrates as a file the previous vantage wrote. */
static void make_v1_store(void)
{
	struct store *s = tmpstore_open(STORE_RW);
	for (int i = 0; i < 12; i++)
		put_metric(s, "host:old", T0 + i * 10000LL, i);
	const char *none[] = {NULL};
	assert_int_equal(store_mark_gone(s, "host", NULL, none, 0, T0 + MIN), 0);
	store_close(s);
	raw_exec("DROP TABLE objects; DROP TABLE events;"
	         " ALTER TABLE systems DROP COLUMN gone_reason;"
	         " UPDATE meta SET value = 1 WHERE key = 'schema_version';"
	         " PRAGMA user_version = 1;");
}

static int count_objects(void *ctx, const char *name, const char *json, int64_t updated)
{
	(*(int *)ctx)++;
	return 0;
}

static void test_migrate_v1(void **state)
{
	make_v1_store();
	assert_int_equal(q("SELECT count(*) FROM sqlite_master WHERE name = 'objects'"), 0);
	/* read-only: refused until a read-write open migrated it */
	struct store *s;
	assert_int_equal(store_open(path, STORE_RO, &s), -EPROTO);
	assert_non_null(strstr(store_errmsg(NULL), "open it read-write once"));
	s = tmpstore_open(STORE_RW);
	assert_int_equal(q("PRAGMA user_version"), 2);
	assert_int_equal(q("SELECT value FROM meta WHERE key = 'schema_version'"), 2);
	/* the old data is all there */
	struct buf b = BUF_INIT;
	assert_int_equal(
	    store_series_json(s, "host:old", "memory.used_pct", T0, T0 + MIN, MIN, "sum", &b), 0);
	assert_non_null(strstr(b.data, "[[\"2023-11-14T22:00:00.000Z\",15],"
	                               "[\"2023-11-14T22:01:00.000Z\",6]]"));
	buf_reset(&b);
	assert_int_equal(store_systems_json(s, NULL, &b), 0);
	assert_non_null(strstr(b.data, "\"gone\":true,\"gone_at\":\"2023-11-14T22:01:00.000Z\","
	                               "\"gone_reason\":null"));
	/* and the new tables work */
	assert_int_equal(store_gone_reason(s, "host:old", "{\"reason\":\"shut down\"}", T0), 0);
	assert_int_equal(store_object_put(s, "alarm", "a", "{}", T0), 0);
	struct store_event e = {.time_ms = T0, .kind = "alarm", .subject = "a", .type = "config"};
	int64_t id = 0;
	assert_int_equal(store_event_put(s, &e, &id), 0);
	assert_true(id > 0);
	store_close(s);
	/* reopened: no migration again, everything kept; RO opens now */
	assert_int_equal(store_open(path, STORE_RO, &s), 0);
	int n = 0;
	assert_int_equal(store_objects(s, "alarm", count_objects, &n), 0);
	assert_int_equal(n, 1);
	buf_reset(&b);
	assert_int_equal(store_systems_json(s, NULL, &b), 0);
	assert_non_null(strstr(b.data, "\"gone_reason\":{\"reason\":\"shut down\"}"));
	store_close(s);
	buf_free(&b);
}

static void write_file(const char *p, const void *data, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void test_open_errors(void **state)
{
	struct store *s = (struct store *)1;
	/* missing, read-only */
	assert_int_equal(store_open(path, STORE_RO, &s), -ENOENT);
	assert_null(s);
	assert_non_null(strstr(store_errmsg(NULL), path));
	/* a directory */
	assert_int_equal(store_open(dir, STORE_RW, &s), -EISDIR);
	assert_non_null(strstr(store_errmsg(NULL), dir));
	/* random bytes */
	unsigned char junk[8192];
	srand(7);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)rand();
	write_file(path, junk, sizeof(junk));
	assert_int_equal(store_open(path, STORE_RW, &s), -EINVAL);
	assert_null(s);
	assert_non_null(strstr(store_errmsg(NULL), path));
	assert_non_null(strstr(store_errmsg(NULL), "not a"));
	assert_int_equal(store_open(path, STORE_RO, &s), -EINVAL);
	/* the file was not touched */
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, sizeof(junk));
	unlink(path);
	/* an empty file read-only: not a store; read-write: created */
	write_file(path, "", 0);
	assert_int_equal(store_open(path, STORE_RO, &s), -EINVAL);
	s = tmpstore_open(STORE_RW);
	store_close(s);
	unlink(path);
	/* a foreign SQLite database */
	raw_exec("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users "
	         "VALUES(1, 'x');");
	assert_int_equal(store_open(path, STORE_RW, &s), -EINVAL);
	assert_non_null(strstr(store_errmsg(NULL), path));
	assert_non_null(strstr(store_errmsg(NULL), "another application"));
	assert_non_null(strstr(store_errmsg(NULL), "users"));
	assert_non_null(strstr(store_errmsg(NULL), "give another --db path")); /* the flag */
	assert_int_equal(q("SELECT count(*) FROM users"), 1);                  /* untouched */
	assert_int_equal(q("PRAGMA application_id"), 0);
	unlink(path);
	/* our application id but no meta */
	raw_exec("PRAGMA application_id = 1447120468; CREATE TABLE t(x);");
	assert_int_equal(store_open(path, STORE_RW, &s), -EINVAL);
	assert_non_null(strstr(store_errmsg(NULL), "meta"));
	unlink(path);
	/* a newer schema */
	s = tmpstore_open(STORE_RW);
	store_close(s);
	raw_exec("UPDATE meta SET value = 99 WHERE key = 'schema_version'");
	assert_int_equal(store_open(path, STORE_RW, &s), -EPROTO);
	assert_non_null(strstr(store_errmsg(NULL), "99"));
	assert_int_equal(store_open(path, STORE_RO, &s), -EPROTO);
	unlink(path);
	/* a store whose pages were overwritten with garbage after the header */
	s = tmpstore_open(STORE_RW);
	for (int i = 0; i < 20; i++)
		put_metric(s, "host:abc", T0 + i * 1000, i);
	store_close(s);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	/* pages 2 and 3, whatever the page size (header bytes 16-17) */
	unsigned char ps[2];
	assert_int_equal(pread(fd, ps, 2, 16), 2);
	off_t psize = ps[0] << 8 | ps[1];
	for (off_t o = psize; o < 3 * psize; o += 4096)
		assert_int_equal(pwrite(fd, junk, 4096, o), 4096);
	close(fd);
	int r = store_open(path, STORE_RW, &s);
	if (r == 0) {
		/* the damage may only show on use: then as a clear error */
		struct buf b = BUF_INIT;
		r = store_frame_json(s, "host:abc", 0, NULL, &b);
		if (r == 0)
			r = store_series_json(s, "host:abc", "memory.used_pct", T0, T0 + MIN, 1000,
			                      "avg", &b);
		assert_true(r < 0);
		assert_non_null(strstr(store_errmsg(s), path));
		buf_free(&b);
		store_close(s);
	} else {
		assert_int_equal(r, -EINVAL);
		assert_non_null(strstr(store_errmsg(NULL), path));
	}
}

/* Only a regular file is a store: devices and FIFOs are refused before
 * SQLite opens them (nothing written, nothing left in /dev, no hang). */
static void test_open_not_regular(void **state)
{
	struct store *s = (struct store *)1;
	char fifo[160];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(10); /* an open() of the FIFO would block: fail, never hang */
	assert_int_equal(store_open(fifo, STORE_RO, &s), -EINVAL);
	assert_null(s);
	assert_non_null(strstr(store_errmsg(NULL), fifo));
	assert_non_null(strstr(store_errmsg(NULL), "a FIFO"));
	assert_int_equal(store_open(fifo, STORE_RW, &s), -EINVAL);
	assert_int_equal(store_open(fifo, STORE_DAEMON, &s), -EINVAL);
	alarm(0);
	const char *const devs[] = {"/dev/null", "/dev/full"};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(store_open(devs[i], STORE_RW, &s), -EINVAL);
		assert_non_null(strstr(store_errmsg(NULL), devs[i]));
		assert_non_null(strstr(store_errmsg(NULL), "a character device"));
		assert_int_equal(store_open(devs[i], STORE_RO, &s), -EINVAL);
		const char *const sfx[] = {"-journal", "-wal", "-shm", ".lock"};
		for (size_t k = 0; k < 4; k++) {
			char f[64];
			snprintf(f, sizeof(f), "%s%s", devs[i], sfx[k]);
			assert_int_equal(access(f, F_OK), -1);
		}
	}
	char sock[160];
	snprintf(sock, sizeof(sock), "%s/v.db", dir);
	assert_int_equal(symlink("/dev/null", sock), 0); /* followed: still a device */
	assert_int_equal(store_open(sock, STORE_RW, &s), -EINVAL);
	assert_non_null(strstr(store_errmsg(NULL), "a character device"));
}

/* STORE_DAEMON: one daemon per store; the second is told the first's pid. */
static void test_daemon_claim(void **state)
{
	struct store *a = NULL, *b = (struct store *)1;
	char lock[160], pid[32];
	snprintf(lock, sizeof(lock), "%s.lock", path);
	snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
	assert_int_equal(store_open(path, STORE_DAEMON, &a), 0);
	assert_int_equal(access(lock, F_OK), 0);
	assert_int_equal(store_open(path, STORE_DAEMON, &b), -EBUSY);
	assert_null(b);
	assert_non_null(strstr(store_errmsg(NULL), pid));
	assert_non_null(strstr(store_errmsg(NULL), lock));
	/* readers and one-shot writers are not daemons */
	b = tmpstore_open(STORE_RW);
	store_close(b);
	assert_int_equal(store_open(path, STORE_RO, &b), 0);
	store_close(b);
	/* the lock file deleted under the daemon: store_check() claims it again */
	assert_int_equal(unlink(lock), 0);
	assert_int_equal(store_check(a), 0);
	assert_int_equal(access(lock, F_OK), 0);
	assert_int_equal(store_open(path, STORE_DAEMON, &b), -EBUSY);
	store_close(a);
	assert_int_equal(access(lock, F_OK), -1); /* removed at close */
	assert_int_equal(store_open(path, STORE_DAEMON, &b), 0);
	store_close(b);
}

static int64_t systems_n(struct store *s)
{
	struct buf b = BUF_INIT;
	assert_int_equal(store_systems_json(s, NULL, &b), 0);
	int64_t n = 0;
	for (const char *p = b.data; (p = strstr(p, "\"id\"")); p++)
		n++;
	buf_free(&b);
	return n;
}

/* The store file deleted under a writer: noticed (-ESTALE), and opened
 * again in place as a new empty store; readers follow it. */
static void test_deleted_while_open(void **state)
{
	struct store *w = NULL, *r = NULL;
	assert_int_equal(store_open(path, STORE_DAEMON, &w), 0);
	put_metric(w, "host:abc", T0, 1);
	assert_int_equal(store_open(path, STORE_RO, &r), 0);
	assert_int_equal(systems_n(r), 1);
	assert_int_equal(store_check(w), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(store_check(w), -ESTALE);
	assert_non_null(strstr(store_errmsg(w), "deleted"));
	/* a reader of the deleted file: an error, not the lost data */
	struct buf b = BUF_INIT;
	assert_int_equal(store_systems_json(r, NULL, &b), -ESTALE);
	assert_int_equal(store_reopen(w), 0);
	assert_int_equal(store_check(w), 0);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(systems_n(w), 0); /* a new empty store */
	put_metric(w, "host:new", T0 + 1000, 2);
	put_metric(w, "host:new2", T0 + 1000, 2);
	assert_int_equal(systems_n(r), 2); /* the reader follows the new file */
	/* replaced by another file: reopened on that one */
	char other[160];
	snprintf(other, sizeof(other), "%s/o.db", dir);
	struct store *o = NULL;
	assert_int_equal(store_open(other, STORE_RW, &o), 0);
	store_close(o);
	assert_int_equal(rename(other, path), 0);
	assert_int_equal(store_check(w), -ESTALE);
	assert_non_null(strstr(store_errmsg(w), "replaced"));
	assert_int_equal(store_reopen(w), 0);
	assert_int_equal(systems_n(w), 0);
	assert_int_equal(systems_n(r), 0);
	buf_free(&b);
	store_close(r);
	store_close(w);
}

/* The store URL picks the backend: a path or sqlite:PATH is SQLite. */
static void test_open_urls(void **state)
{
	struct store *s = (struct store *)1;
	/* PostgreSQL (no server at this socket directory): the message names
	 * the URL without its password */
	assert_int_equal(store_open("postgres://u:secret@/vantage?host=/nonexistent", STORE_RW, &s),
	                 -ECONNREFUSED);
	assert_null(s);
	assert_non_null(strstr(store_errmsg(NULL), "postgres://u@/vantage?host=/nonexistent"));
	assert_null(strstr(store_errmsg(NULL), "secret"));
	assert_int_equal(
	    store_open("postgresql:///v?host=/nonexistent&password=secret", STORE_RO, &s),
	    -ECONNREFUSED);
	assert_null(strstr(store_errmsg(NULL), "secret"));
	char safe[200];
	assert_string_equal(store_url_safe("postgres://u:secret@h:5/db?x=1", safe, sizeof(safe)),
	                    "postgres://u:***@h:5/db?x=1");
	assert_string_equal(
	    store_url_safe("postgres:///db?password=secret&sslmode=require", safe, sizeof(safe)),
	    "postgres:///db?password=***&sslmode=require");
	assert_string_equal(store_url_safe("/var/lib/x:y@z.db", safe, sizeof(safe)),
	                    "/var/lib/x:y@z.db");
	assert_int_equal(store_open("kafka://broker/topic", STORE_RW, &s), -EINVAL);
	assert_non_null(strstr(store_errmsg(NULL), "unknown store scheme \"kafka\""));
	assert_int_equal(store_open("", STORE_RW, &s), -EINVAL);
	assert_int_equal(store_open("sqlite:", STORE_RW, &s), -EINVAL);
	assert_false(access(path, F_OK) == 0); /* nothing was created */
	/* sqlite:PATH and PATH are the same store */
	char url[200];
	snprintf(url, sizeof(url), "sqlite:%s", path);
	s = NULL;
	assert_int_equal(store_open(url, STORE_RW, &s), 0);
	struct fb f;
	fb_begin(&f, "host:abc", T0, "[\"os\"]");
	fb_rec(&f, "os", "linux", "{}");
	fb_put(s, &f);
	store_close(s);
	s = tmpstore_open(STORE_RW);
	struct buf b = BUF_INIT;
	assert_int_equal(store_frame_json(s, "host:abc", 0, NULL, &b), 0);
	store_close(s);
	buf_free(&b);
	/* read-only on a missing store: -ENOENT, "no store at PATH" */
	snprintf(url, sizeof(url), "sqlite:%s/none.db", dir);
	assert_int_equal(store_open(url, STORE_RO, &s), -ENOENT);
	assert_non_null(strstr(store_errmsg(NULL), "no store at "));
	assert_non_null(strstr(store_errmsg(NULL), "/none.db"));
	/* read-write: the missing directories are made */
	snprintf(url, sizeof(url), "%s/a/b/x.db", dir);
	assert_int_equal(store_open(url, STORE_RW, &s), 0);
	store_close(s);
}

/* ---- frames and records --------------------------------------------------- */

static void frame_os_pkg(struct fb *f, int64_t t, const char *ver)
{
	char v[200];
	fb_begin(f, "host:abc", t, "[\"os\",\"package\"]");
	fb_rec(f, "os", "linux", "{\"hostname\":\"box\",\"kernel\":\"6.1\"}");
	snprintf(v, sizeof(v), "{\"name\":\"openssl\",\"version\":\"%s\"}", ver);
	fb_rec(f, "package", "openssl", v);
	fb_rec(f, "package", "zlib", "{\"name\":\"zlib\",\"version\":\"1.2\"}");
}

static void test_roundtrip_exact(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	struct fb f;
	frame_os_pkg(&f, T0, "3.0");
	/* hostile bytes, escaped by the writer, and a record repeated */
	fb_rec(&f, "package", "caf\\u00e9\\udce9",
	       "{\"name\":\"a\\\"b\\\\c\",\"x\":[1,2,{\"y\":null}]}");
	fb_rec(&f, "package", "zlib", "{\"name\":\"zlib\",\"version\":\"1.2\"}");
	char header[1000];
	const char *hv = strstr(f.b.data, "\"value\":") + 8;
	size_t hn = (size_t)(strchr(f.b.data, '\n') - hv) - 1;
	memcpy(header, hv, hn);
	header[hn] = 0;
	fb_put(s, &f);
	struct buf b = BUF_INIT;
	assert_int_equal(store_frame_json(s, "host:abc", 0, NULL, &b), 0);
	struct buf want = BUF_INIT;
	buf_printf(&want,
	           "{\"frame\":%s,\"records\":["
	           "{\"feature\":\"os\",\"key\":\"linux\",\"value\":{\"hostname\":\"box\","
	           "\"kernel\":\"6.1\"}},"
	           "{\"feature\":\"package\",\"key\":\"openssl\",\"value\":{\"name\":\"openssl\","
	           "\"version\":\"3.0\"}},"
	           "{\"feature\":\"package\",\"key\":\"zlib\",\"value\":{\"name\":\"zlib\","
	           "\"version\":\"1.2\"}},"
	           "{\"feature\":\"package\",\"key\":\"caf\\u00e9\\udce9\",\"value\":{\"name\":"
	           "\"a\\\"b\\\\c\",\"x\":[1,2,{\"y\":null}]}},"
	           "{\"feature\":\"package\",\"key\":\"zlib\",\"value\":{\"name\":\"zlib\","
	           "\"version\":\"1.2\"}}"
	           "],\"feature_times\":{\"os\":\"2023-11-14T22:00:00.000Z\",\"package\":\"2023-11-"
	           "14T22:00:00.000Z\"}}",
	           header);
	assert_string_equal(b.data, want.data);
	/* the header keeps its durations (stored apart as thousandths) */
	assert_non_null(strstr(b.data, "\"duration_ms\":12.345,"));
	assert_non_null(strstr(b.data, "\"feature_ms\":{\"os\":0.5,\"metric\":1}"));
	/* a feature alone */
	buf_reset(&b);
	assert_int_equal(store_frame_json(s, "host:abc", 0, "os", &b), 0);
	assert_non_null(strstr(b.data, "\"records\":[{\"feature\":\"os\",\"key\":\"linux\","));
	assert_null(strstr(b.data, "\"feature\":\"package\""));
	assert_int_equal(q("SELECT count(*) FROM records"), 5); /* 4 distinct + the header */
	store_close(s);
	buf_free(&b);
	buf_free(&want);
}

/* store_verify(): a callback counting checks and the failed ones' names */
struct vcount {
	int checks, failed;
	char names[512];
};
static int vcount_cb(void *ctx, const char *check, int64_t problems, const char *detail)
{
	struct vcount *v = ctx;
	v->checks++;
	if (problems) {
		v->failed++;
		strncat(v->names, check, sizeof(v->names) - strlen(v->names) - 2);
		strcat(v->names, ";");
	}
	return 0;
}

static void exec_sql(const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_verify(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	struct fb f;
	frame_os_pkg(&f, T0, "3.0");
	fb_put(s, &f);
	frame_os_pkg(&f, T0 + 60000, "3.1");
	fb_put(s, &f);
	store_close(s);
	/* consistent: every check passes, read-only */
	assert_int_equal(store_open(path, STORE_RO, &s), 0);
	struct vcount v = {0};
	assert_int_equal(store_verify(s, vcount_cb, &v), 0);
	assert_true(v.checks >= 9);
	assert_int_equal(v.failed, 0);
	store_close(s);
	/* a record a set refers to deleted behind the store's back: the sets
	 * and the kept counts say so */
	exec_sql("DELETE FROM records WHERE id = (SELECT max(id) FROM records)");
	assert_int_equal(store_open(path, STORE_RO, &s), 0);
	memset(&v, 0, sizeof(v));
	assert_true(store_verify(s, vcount_cb, &v) > 0);
	assert_non_null(strstr(v.names, "kept counts;"));
	store_close(s);
	/* a frame of a missing set: frame parts */
	exec_sql("PRAGMA foreign_keys = OFF; UPDATE frames SET parts = x'7f' WHERE id = 1");
	assert_int_equal(store_open(path, STORE_RO, &s), 0);
	memset(&v, 0, sizeof(v));
	assert_true(store_verify(s, vcount_cb, &v) > 0);
	assert_non_null(strstr(v.names, "frame parts;"));
	store_close(s);
}

static void test_dedup_and_bytes(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	struct fb f;
	/* a process list of 300 records */
	for (int i = 0; i < 61; i++) {
		fb_begin(&f, "host:abc", T0 + i * MIN, "[\"process\"]");
		for (int p = 1; p <= 300; p++) {
			char k[16], v[200];
			snprintf(k, sizeof(k), "%d", p);
			snprintf(v, sizeof(v),
			         "{\"pid\":%d,\"comm\":\"proc%d\",\"cmdline\":\"/usr/bin/thing "
			         "--flag %d\"}",
			         p, p, p);
			fb_rec(&f, "process", k, v);
		}
		fb_put(s, &f);
		if (i == 0)
			store_close(s), s = tmpstore_open(STORE_RW);
	}
	store_close(s);
	assert_int_equal(q("SELECT count(*) FROM frames"), 61);
	assert_int_equal(q("SELECT count(*) FROM records"), 301);
	assert_int_equal(q("SELECT count(*) FROM sets"), 1);
	/* bytes a frame adds: the frames row and its index entry */
	int64_t per = q("SELECT sum(pgsize - unused) / 61 FROM dbstat WHERE name IN ('frames', "
	                "'frames_system_t')");
	fprintf(stderr, "# bytes per unchanged frame (frames table + index): %lld\n",
	        (long long)per);
	assert_true(per > 0 && per < 100);
	/* one process changes: one new record, one new set, the rest shared */
	s = tmpstore_open(STORE_RW);
	fb_begin(&f, "host:abc", T0 + 100 * MIN, "[\"process\"]");
	for (int p = 1; p <= 300; p++) {
		char k[16], v[200];
		snprintf(k, sizeof(k), "%d", p);
		snprintf(
		    v, sizeof(v),
		    "{\"pid\":%d,\"comm\":\"proc%d\",\"cmdline\":\"/usr/bin/thing --flag %d\"}", p,
		    p, p == 7 ? 700 : p);
		fb_rec(&f, "process", k, v);
	}
	fb_put(s, &f);
	assert_int_equal(q("SELECT count(*) FROM records"), 302);
	assert_int_equal(q("SELECT count(*) FROM sets"), 2);
	/* the earlier frame still gives the earlier value */
	struct buf b = BUF_INIT;
	assert_int_equal(store_frame_json(s, "host:abc", T0 + 5 * MIN, "process", &b), 0);
	assert_non_null(strstr(b.data, "--flag 7\"}"));
	assert_non_null(strstr(b.data, "\"time\":\"2023-11-14T22:05:00.000Z\""));
	buf_reset(&b);
	assert_int_equal(store_frame_json(s, "host:abc", 0, "process", &b), 0);
	assert_non_null(strstr(b.data, "--flag 700\"}"));
	/* the same records in another system are shared too */
	fb_begin_full(&f, "container:podman:1", T0,
	              "\"name\":\"web\",\"kind\":\"container\",\"runtime\":\"podman\"",
	              "[\"process\"]");
	fb_rec(&f, "process", "1",
	       "{\"pid\":1,\"comm\":\"proc1\",\"cmdline\":\"/usr/bin/thing --flag 1\"}");
	fb_put(s, &f);
	assert_int_equal(q("SELECT count(*) FROM records"), 303); /* only its header */
	struct buf st = BUF_INIT;
	assert_int_equal(store_stats_json(s, &st), 0);
	assert_non_null(strstr(st.data, "\"frames\":63"));
	assert_non_null(strstr(st.data, "\"records\":303"));
	assert_non_null(strstr(st.data, "\"systems\":2"));
	store_close(s);
	buf_free(&b);
	buf_free(&st);
}

/* A feature with more records than the record cache holds (a file walk):
 * its next frame still shares them, with a warm or a cold cache. */
static void put_big(struct store *s, int64_t t, int changed)
{
	struct fb f;
	fb_begin(&f, "host:abc", t, "[\"file\"]");
	for (int i = 0; i < 60000; i++) {
		char k[32], v[64];
		snprintf(k, sizeof(k), "/usr/f%d", i);
		snprintf(v, sizeof(v), "{\"size\":%d}", i == changed ? -1 : i);
		fb_rec(&f, "file", k, v);
	}
	fb_put(s, &f);
}

static void test_dedup_large_part(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	put_big(s, T0, -1);
	assert_int_equal(q("SELECT count(*) FROM records"), 60001);
	put_big(s, T0 + DAY, -1); /* same handle: the cache overflowed */
	assert_int_equal(q("SELECT count(*) FROM records"), 60001);
	store_close(s);
	s = tmpstore_open(STORE_RW); /* cold cache */
	put_big(s, T0 + 2 * DAY, 77);
	assert_int_equal(q("SELECT count(*) FROM records"), 60002);
	assert_int_equal(q("SELECT count(*) FROM sets"), 2);
	struct buf b = BUF_INIT;
	assert_int_equal(store_frame_json(s, "host:abc", T0 + DAY, "file", &b), 0);
	assert_non_null(strstr(b.data, "\"key\":\"/usr/f77\",\"value\":{\"size\":77}}"));
	buf_reset(&b);
	assert_int_equal(store_frame_json(s, "host:abc", 0, "file", &b), 0);
	assert_non_null(strstr(b.data, "\"key\":\"/usr/f77\",\"value\":{\"size\":-1}}"));
	store_close(s);
	buf_free(&b);
}

static void test_frame_at_and_features(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	struct fb f;
	frame_os_pkg(&f, T0, "1.0");
	fb_put(s, &f);
	/* the daemon crawls features on their own intervals: metric-only frames */
	for (int i = 1; i <= 3; i++)
		put_metric(s, "host:abc", T0 + i * 10000, i);
	frame_os_pkg(&f, T0 + HOUR, "2.0");
	fb_put(s, &f);
	struct buf b = BUF_INIT;
	/* at T0 + 35 s: header of the metric frame, packages from T0 */
	assert_int_equal(store_frame_json(s, "host:abc", T0 + 35000, NULL, &b), 0);
	assert_non_null(strstr(b.data, "\"features\":[\"metric\"]"));
	assert_non_null(strstr(b.data, "\"version\":\"1.0\""));
	assert_non_null(strstr(b.data, "{\"feature\":\"metric\",\"key\":\"memory\",\"value\":{"
	                               "\"total_kb\":1000,\"used_pct\":3}}"));
	assert_non_null(strstr(
	    b.data, "\"feature_times\":{\"metric\":\"2023-11-14T22:00:30.000Z\",\"os\":\"2023-11-"
	            "14T22:00:00.000Z\",\"package\":\"2023-11-14T22:00:00.000Z\"}"));
	/* latest: packages 2.0, metric from its own frame */
	buf_reset(&b);
	assert_int_equal(store_frame_json(s, "host:abc", 0, NULL, &b), 0);
	assert_non_null(strstr(b.data, "\"version\":\"2.0\""));
	assert_non_null(strstr(b.data, "\"used_pct\":3}"));
	/* by feature, at a time */
	buf_reset(&b);
	assert_int_equal(store_frame_json(s, "host:abc", T0 + 25000, "metric", &b), 0);
	assert_non_null(strstr(b.data, "\"used_pct\":2}"));
	buf_reset(&b);
	assert_int_equal(store_frame_json(s, "host:abc", T0 + 25000, "package", &b), 0);
	assert_non_null(strstr(b.data, "\"version\":\"1.0\""));
	/* not found */
	assert_int_equal(store_frame_json(s, "host:nope", 0, NULL, &b), -ENOENT);
	assert_non_null(strstr(store_errmsg(s), "host:nope"));
	assert_int_equal(store_frame_json(s, "host:abc", 0, "nosuchfeature", &b), -ENOENT);
	assert_int_equal(store_frame_json(s, "host:abc", T0 - 1, NULL, &b), -ENOENT);
	assert_int_equal(store_frame_json(s, "host:abc", T0 + 5000, "metric", &b), -ENOENT);
	store_close(s);
	buf_free(&b);
}

static void test_malformed_frames_atomic(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	static const char *const bad[] = {
	    "",
	    "\n\n",
	    "{\"system\":\"host:abc\",\"time\":\"2023-11-14T22:00:00.000Z\",\"feature\":\"os\","
	    "\"key\":\"linux\",\"value\":{}}\n",
	    "{\"system\":\"host:abc\",\"time\":\"garbage\",\"feature\":\"frame\",\"key\":\"host:"
	    "abc\",\"value\":{}}\n",
	    "{\"system\":\"host:abc\",\"time\":\"2023-11-14T22:00:00.000Z\",\"feature\":\"frame\","
	    "\"key\":\"host:abc\",\"value\":[]}\n",
	    "not json at all\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(store_put_frame(s, bad[i], strlen(bad[i]), NULL), -EINVAL);
	/* a good header followed by bad lines: nothing of it stays */
	static const char *const tails[] = {
	    "{\"system\":\"host:abc\",\"time\":\"x\",\"feature\":\"os\",\"key\":\"linux\","
	    "\"value\":{\"a\":}\n",
	    "{\"system\":\"host:other\",\"time\":\"x\",\"feature\":\"os\",\"key\":\"linux\","
	    "\"value\":{}}\n",
	    "{\"system\":\"host:abc\",\"time\":\"x\",\"feature\":\"frame\",\"key\":\"host:abc\","
	    "\"value\":{}}\n",
	    "{\"system\":\"host:abc\",\"time\":\"x\",\"feature\":\"os\",\"value\":{}}\n",
	    "{\"system\":\"host:abc\",\"time\":\"x\",\"feature\":\"os\",\"key\":\"linux\","
	    "\"value\":{\"a\":1}",
	    "{\"system\":\"host:abc\",\"time\":\"x\",\"feature\":\"os\",\"key\":\"linux\","
	    "\"value\":{\"a\":1}} trailing\n",
	    "{\"system\":\"host:abc\",\"time\":\"x\",\"feature\":\"\",\"key\":\"linux\",\"value\":{"
	    "\"a\":1}}\n",
	    "{\"system\":\"host:abc\",\"time\":\"x\",\"feature\":\"os\",\"key\":\"linux\","
	    "\"value\":\"\xff\"}\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(tails); i++) {
		struct fb f;
		fb_begin(&f, "host:abc", T0, "[\"os\"]");
		fb_rec(&f, "os", "good", "{\"ok\":true}");
		buf_adds(&f.b, tails[i]);
		if (i == 4) /* cut short: drop the final newline */
			f.b.data[--f.b.len] = 0;
		int r = store_put_frame(s, f.b.data, f.b.len, NULL);
		if (r != -EINVAL)
			fprintf(stderr, "tail %zu: %d\n", i, r);
		assert_int_equal(r, -EINVAL);
		assert_non_null(strstr(store_errmsg(s), "line"));
		buf_free(&f.b);
	}
	/* a truncated frame at every length never crashes and never half-stores */
	struct fb f;
	frame_os_pkg(&f, T0, "1.0");
	for (size_t n = 0; n < f.b.len; n += 7) {
		int64_t id;
		int r = store_put_frame(s, f.b.data, n, &id);
		assert_true(r == 0 || r == -EINVAL);
	}
	buf_free(&f.b);
	store_close(s);
	/* the failed ones left nothing */
	assert_true(q("SELECT count(*) FROM records WHERE key = 'good'") <= 1);
	assert_int_equal(q("SELECT count(*) FROM systems WHERE sid = 'host:other'"), 0);
	assert_int_equal(q("SELECT count(*) FROM frames"),
	                 q("SELECT n FROM counts WHERE name = 'frames'"));
	assert_int_equal(q("SELECT count(*) FROM records"),
	                 q("SELECT n FROM counts WHERE name = 'records'"));
}

/* ---- systems ----------------------------------------------------------------- */

static void test_systems_filters_gone(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	struct fb f;
	fb_begin(&f, "host:abc", T0, "[]");
	fb_put(s, &f);
	fb_begin_full(
	    &f, "container:podman:aa", T0 + 1000,
	    "\"name\":\"web\",\"kind\":\"container\",\"runtime\":\"podman\",\"image\":\"nginx:1\","
	    "\"labels\":{\"app\":\"web\",\"tier\":\"caf\\u00e9\"}",
	    "[]");
	fb_put(s, &f);
	fb_begin_full(
	    &f, "container:docker:bb", T0 + 2000,
	    "\"name\":\"db\",\"kind\":\"container\",\"runtime\":\"docker\",\"image\":\"pg\","
	    "\"labels\":{\"app\":\"db\"}",
	    "[]");
	fb_put(s, &f);
	fb_begin_full(
	    &f, "container:docker:bb", T0 + 5000,
	    "\"name\":\"db2\",\"kind\":\"container\",\"runtime\":\"docker\",\"image\":\"pg\","
	    "\"labels\":{\"app\":\"db\"}",
	    "[]");
	fb_put(s, &f);
	struct buf b = BUF_INIT;
	struct store_system_filter flt = {.gone = -1};
	assert_int_equal(store_systems_json(s, &flt, &b), 0);
	assert_string_equal(b.data, "[{\"id\":\"container:docker:bb\",\"name\":\"db2\",\"kind\":"
	                            "\"container\",\"runtime\":\"docker\","
	                            "\"image\":\"pg\",\"host\":\"box\",\"labels\":{\"app\":\"db\"},"
	                            "\"first_seen\":\"2023-11-14T22:00:02.000Z\","
	                            "\"last_seen\":\"2023-11-14T22:00:05.000Z\",\"gone\":false},"
	                            "{\"id\":\"container:podman:aa\",\"name\":\"web\",\"kind\":"
	                            "\"container\",\"runtime\":\"podman\","
	                            "\"image\":\"nginx:1\",\"host\":\"box\",\"labels\":{\"app\":"
	                            "\"web\",\"tier\":\"caf\\u00e9\"},"
	                            "\"first_seen\":\"2023-11-14T22:00:01.000Z\",\"last_seen\":"
	                            "\"2023-11-14T22:00:01.000Z\",\"gone\":false},"
	                            "{\"id\":\"host:abc\",\"name\":\"box\",\"kind\":\"host\","
	                            "\"runtime\":null,\"image\":null,\"host\":\"box\","
	                            "\"labels\":{},\"first_seen\":\"2023-11-14T22:00:00.000Z\","
	                            "\"last_seen\":\"2023-11-14T22:00:00.000Z\",\"gone\":false}]");
#define EXPECT_IDS(...)                                                                            \
	do {                                                                                       \
		buf_reset(&b);                                                                     \
		assert_int_equal(store_systems_json(s, &flt, &b), 0);                              \
		const char *ids[] = {__VA_ARGS__};                                                 \
		int n = 0;                                                                         \
		for (const char *p = b.data; (p = strstr(p, "{\"id\":")); p++)                     \
			n++;                                                                       \
		for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {                                     \
			char w[100];                                                               \
			snprintf(w, sizeof(w), "{\"id\":\"%s\"", ids[i]);                          \
			assert_non_null(strstr(b.data, w));                                        \
		}                                                                                  \
		assert_int_equal(n, (int)ARRAY_SIZE(ids));                                         \
	} while (0)
	flt.kind = "container";
	EXPECT_IDS("container:docker:bb", "container:podman:aa");
	flt.runtime = "podman";
	EXPECT_IDS("container:podman:aa");
	flt = (struct store_system_filter){.gone = -1, .label = "app=db"};
	EXPECT_IDS("container:docker:bb");
	flt.label = "tier";
	EXPECT_IDS("container:podman:aa");
	flt.label = "tier=caf\xc3\xa9"; /* UTF-8 in, escaped text stored */
	EXPECT_IDS("container:podman:aa");
	flt.label = "tier=cafe";
	buf_reset(&b);
	assert_int_equal(store_systems_json(s, &flt, &b), 0);
	assert_string_equal(b.data, "[]");
	/* discovery: only aa still runs */
	const char *present[] = {"container:podman:aa"};
	assert_int_equal(store_mark_gone(s, "container", NULL, present, 1, T0 + 9000), 0);
	flt = (struct store_system_filter){.gone = 1};
	EXPECT_IDS("container:docker:bb");
	flt.gone = 0;
	EXPECT_IDS("container:podman:aa", "host:abc");
	assert_int_equal(q("SELECT gone_at FROM systems WHERE sid = 'container:docker:bb'"),
	                 T0 + 9000);
	/* it comes back */
	const char *both[] = {"container:podman:aa", "container:docker:bb"};
	assert_int_equal(store_mark_gone(s, "container", NULL, both, 2, T0 + 10000), 0);
	flt.gone = 1;
	buf_reset(&b);
	assert_int_equal(store_systems_json(s, &flt, &b), 0);
	assert_string_equal(b.data, "[]");
	/* gone again, then a new frame: present again, first_seen kept */
	assert_int_equal(store_mark_gone(s, "container", NULL, NULL, 0, T0 + 11000), 0);
	assert_int_equal(q("SELECT count(*) FROM systems WHERE gone = 1"), 2);
	fb_begin_full(&f, "container:docker:bb", T0 + 20000,
	              "\"name\":\"db2\",\"kind\":\"container\"", "[]");
	fb_put(s, &f);
	assert_int_equal(q("SELECT gone FROM systems WHERE sid = 'container:docker:bb'"), 0);
	assert_int_equal(q("SELECT first_seen FROM systems WHERE sid = 'container:docker:bb'"),
	                 T0 + 2000);
	assert_int_equal(q("SELECT last_seen FROM systems WHERE sid = 'container:docker:bb'"),
	                 T0 + 20000);
	/* an older frame arriving late does not roll the identity back */
	fb_begin_full(&f, "container:docker:bb", T0 + 3000,
	              "\"name\":\"old\",\"kind\":\"container\"", "[]");
	fb_put(s, &f);
	assert_int_equal(q("SELECT count(*) FROM systems WHERE name = 'db2'"), 1);
	assert_int_equal(q("SELECT last_seen FROM systems WHERE sid = 'container:docker:bb'"),
	                 T0 + 20000);
	store_close(s);
	buf_free(&b);
}

/* ---- metrics ------------------------------------------------------------------ */

static void test_metric_series_mapping(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	struct fb f;
	fb_begin(&f, "host:abc", T0, "[\"metric\"]");
	fb_rec(&f, "metric", "cpu", "{\"busy_pct\":55.5,\"interval_s\":0.201}");
	fb_rec(&f, "metric", "cpu0", "{\"busy_pct\":5.26,\"interval_s\":0.201}");
	fb_rec(&f, "metric", "memory", "{\"total_kb\":24683656,\"used_pct\":3.4}");
	fb_rec(&f, "metric", "disk:/",
	       "{\"mountpoint\":\"/\",\"device\":\"/dev/vda\",\"used_pct\":16.75}");
	fb_rec(&f, "metric", "disk:/boot", "{\"mountpoint\":\"/boot\",\"used_pct\":50}");
	fb_rec(&f, "metric", "diskio:vda", "{\"device\":\"vda\",\"reads\":346253}");
	fb_rec(&f, "metric", "net:eth0", "{\"ifname\":\"eth0\",\"rx_bytes_per_s\":1234.5}");
	fb_rec(&f, "metric", "cgroup",
	       "{\"version\":1,\"mem_usage_bytes\":1180901376,\"mem_limit_bytes\":null,\"cpu_usage_"
	       "ns\":9007199254740993}");
	fb_rec(&f, "metric", "odd:x",
	       "{\"a\":1e5,\"b\":1.50,\"c\":-0,\"d\":[1,2],\"e\":\"7\",\"f\":true,\"g\":-3}");
	fb_rec(&f, "metric", "bad key!", "{\"a\":1}");
	char header_line[2000];
	snprintf(header_line, sizeof(header_line), "%s", f.b.data);
	struct buf orig = BUF_INIT;
	buf_add(&orig, f.b.data, f.b.len);
	fb_put(s, &f);
	struct buf b = BUF_INIT;
	assert_int_equal(store_metric_names_json(s, "host:abc", &b), 0);
	assert_string_equal(
	    b.data, "[\"cgroup.cpu_usage_ns\",\"cgroup.mem_usage_bytes\",\"cgroup.version\",\"cpu."
	            "busy_pct\","
	            "\"disk.used_pct\",\"diskio.reads\",\"memory.total_kb\",\"memory.used_pct\","
	            "\"net.rx_bytes_per_s\",\"odd.a\",\"odd.b\",\"odd.c\",\"odd.g\"]");
	assert_int_equal(q("SELECT count(*) FROM series WHERE name = 'disk.used_pct' AND labels = "
	                   "'{\"mountpoint\":\"/\"}'"),
	                 1);
	assert_int_equal(q("SELECT count(*) FROM series WHERE name = 'disk.used_pct' AND labels = "
	                   "'{\"mountpoint\":\"/boot\"}'"),
	                 1);
	assert_int_equal(q("SELECT count(*) FROM series WHERE name = 'cpu.busy_pct' AND labels = "
	                   "'{\"cpu\":\"0\"}'"),
	                 1);
	assert_int_equal(
	    q("SELECT count(*) FROM series WHERE name = 'cpu.busy_pct' AND labels = '{}'"), 1);
	assert_int_equal(q("SELECT count(*) FROM series WHERE name = 'net.rx_bytes_per_s' AND "
	                   "labels = '{\"interface\":\"eth0\"}'"),
	                 1);
	assert_int_equal(q("SELECT count(*) FROM series WHERE name = 'diskio.reads' AND labels = "
	                   "'{\"device\":\"vda\"}'"),
	                 1);
	assert_int_equal(q("SELECT count(*) FROM series WHERE name = 'odd.a' AND labels = "
	                   "'{\"instance\":\"x\"}'"),
	                 1);
	assert_int_equal(q("SELECT count(*) FROM series WHERE name LIKE '%interval%'"), 0);
	/* big integers are kept exactly: see cpu_usage_ns in the records below */
	/* every metric record comes back exactly as written */
	buf_reset(&b);
	assert_int_equal(store_frame_json(s, "host:abc", 0, "metric", &b), 0);
	const char *p = strchr(orig.data, '\n') + 1;
	int n = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *fe = strstr(p, "\"feature\":");
		char want[600];
		snprintf(want, sizeof(want), "{%.*s}", (int)(nl - fe - 1), fe);
		if (!strstr(b.data, want))
			fprintf(stderr, "missing: %s\nin: %s\n", want, b.data);
		assert_non_null(strstr(b.data, want));
		p = nl + 1;
		n++;
	}
	assert_int_equal(n, 10);
	/* the text of numbers that would not come back the same stayed literal */
	assert_int_equal(q("SELECT count(*) FROM records WHERE value LIKE "
	                   "'%\"a\":1e5,\"b\":1.50,\"c\":-0,%\"g\":#}'"),
	                 1);
	/* a second identical-shape frame adds no record text */
	int64_t nrec = q("SELECT count(*) FROM records");
	fb_begin(&f, "host:abc", T0 + 10000, "[\"metric\"]");
	fb_rec(&f, "metric", "memory", "{\"total_kb\":24683656,\"used_pct\":9.9}");
	fb_put(s, &f);
	assert_int_equal(q("SELECT count(*) FROM records"), nrec);
	buf_reset(&b);
	assert_int_equal(store_frame_json(s, "host:abc", 0, "metric", &b), 0);
	assert_non_null(strstr(b.data, "{\"feature\":\"metric\",\"key\":\"memory\",\"value\":{"
	                               "\"total_kb\":24683656,\"used_pct\":9.9}}"));
	assert_int_equal(store_metric_names_json(s, "host:none", &b), -ENOENT);
	store_close(s);
	buf_free(&b);
	buf_free(&orig);
}

/* Ten points 1..10 in one minute, 10..100 in the next (6 s apart). */
static void put_two_minutes(struct store *s)
{
	for (int i = 0; i < 10; i++)
		put_metric(s, "host:abc", T0 + i * 6000, i + 1);
	for (int i = 0; i < 10; i++)
		put_metric(s, "host:abc", T0 + MIN + i * 6000, (i + 1) * 10);
}

static void expect_points(struct store *s, const char *metric, int64_t from, int64_t to,
                          int64_t step, const char *stat, const char *points)
{
	struct buf b = BUF_INIT;
	int r = store_series_json(s, "host:abc", metric, from, to, step, stat, &b);
	if (r < 0)
		fprintf(stderr, "series: %s\n", store_errmsg(s));
	assert_int_equal(r, 0);
	const char *p = strstr(b.data, "\"points\":");
	assert_non_null(p);
	char want[2000];
	snprintf(want, sizeof(want), "\"points\":%s}", points);
	if (strcmp(p, want) != 0)
		fprintf(stderr, "stat %s: got %s\n   want %s\n", stat, p, want);
	assert_string_equal(p, want);
	buf_free(&b);
}

static void test_series_raw_stats(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	put_two_minutes(s);
	const char *m = "memory.used_pct";
	expect_points(s, m, T0, T0 + 2 * MIN, MIN, "avg",
	              "[[\"2023-11-14T22:00:00.000Z\",5.5],[\"2023-11-14T22:01:00.000Z\",55]]");
	expect_points(s, m, T0, T0 + 2 * MIN, MIN, "min",
	              "[[\"2023-11-14T22:00:00.000Z\",1],[\"2023-11-14T22:01:00.000Z\",10]]");
	expect_points(s, m, T0, T0 + 2 * MIN, MIN, "max",
	              "[[\"2023-11-14T22:00:00.000Z\",10],[\"2023-11-14T22:01:00.000Z\",100]]");
	expect_points(s, m, T0, T0 + 2 * MIN, MIN, "sum",
	              "[[\"2023-11-14T22:00:00.000Z\",55],[\"2023-11-14T22:01:00.000Z\",550]]");
	expect_points(s, m, T0, T0 + 2 * MIN, MIN, "count",
	              "[[\"2023-11-14T22:00:00.000Z\",10],[\"2023-11-14T22:01:00.000Z\",10]]");
	expect_points(s, m, T0, T0 + 2 * MIN, MIN, "p50",
	              "[[\"2023-11-14T22:00:00.000Z\",5],[\"2023-11-14T22:01:00.000Z\",50]]");
	expect_points(s, m, T0, T0 + 2 * MIN, MIN, "p90",
	              "[[\"2023-11-14T22:00:00.000Z\",9],[\"2023-11-14T22:01:00.000Z\",90]]");
	expect_points(s, m, T0, T0 + 2 * MIN, MIN, "p99",
	              "[[\"2023-11-14T22:00:00.000Z\",10],[\"2023-11-14T22:01:00.000Z\",100]]");
	/* raw at a fine step, range bounds inclusive */
	expect_points(s, m, T0 + 6000, T0 + 18000, 6000, "avg",
	              "[[\"2023-11-14T22:00:06.000Z\",2],[\"2023-11-14T22:00:12.000Z\",3],[\"2023-"
	              "11-14T22:00:18.000Z\",4]]");
	/* one bucket for all 20 points: p50 = 10th value = 10, p90 = 18th = 80 */
	expect_points(s, m, T0, T0 + 2 * MIN, 2 * MIN, "p90",
	              "[[\"2023-11-14T22:00:00.000Z\",80]]");
	expect_points(s, m, T0, T0 + 2 * MIN, 2 * MIN, "p50",
	              "[[\"2023-11-14T22:00:00.000Z\",10]]");
	expect_points(s, m, T0 + 10 * MIN, T0 + 20 * MIN, MIN, "avg", "[]");
	struct buf b = BUF_INIT;
	assert_int_equal(store_series_json(s, "host:abc", m, T0, T0 + MIN, MIN, "median", &b),
	                 -EINVAL);
	assert_non_null(strstr(store_errmsg(s), "median"));
	assert_int_equal(store_series_json(s, "host:abc", m, T0, T0 + MIN, 0, "avg", &b), -EINVAL);
	assert_int_equal(store_series_json(s, "host:abc", m, T0 + MIN, T0, MIN, "avg", &b),
	                 -EINVAL);
	assert_int_equal(store_series_json(s, "host:abc", "no.such", T0, T0 + MIN, MIN, "avg", &b),
	                 -ENOENT);
	assert_int_equal(store_series_json(s, "host:zzz", m, T0, T0 + MIN, MIN, "avg", &b),
	                 -ENOENT);
	assert_int_equal(store_series_json(s, "host:abc", "x{bad", T0, T0 + MIN, MIN, "avg", &b),
	                 -EINVAL);
	assert_int_equal(b.len, 0);
	store_close(s);
	buf_free(&b);
}

static void test_series_labels_selector(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	struct fb f;
	fb_begin(&f, "host:abc", T0, "[\"metric\"]");
	fb_rec(&f, "metric", "disk:/", "{\"used_pct\":10}");
	fb_rec(&f, "metric", "disk:/boot", "{\"used_pct\":20}");
	fb_put(s, &f);
	struct buf b = BUF_INIT;
	assert_int_equal(store_series_json(s, "host:abc", "disk.used_pct", T0, T0, 1000, "max", &b),
	                 0);
	assert_string_equal(b.data, "{\"system\":\"host:abc\",\"metric\":\"disk.used_pct\","
	                            "\"stat\":\"max\",\"step_s\":1,\"source\":\"raw\","
	                            "\"series\":[{\"labels\":{\"mountpoint\":\"/"
	                            "\"},\"points\":[[\"2023-11-14T22:00:00.000Z\",10]]},"
	                            "{\"labels\":{\"mountpoint\":\"/"
	                            "boot\"},\"points\":[[\"2023-11-14T22:00:00.000Z\",20]]}]}");
	buf_reset(&b);
	assert_int_equal(store_series_json(s, "host:abc", "disk.used_pct{mountpoint=\"/boot\"}", T0,
	                                   T0, 1000, "max", &b),
	                 0);
	assert_string_equal(b.data,
	                    "{\"system\":\"host:abc\",\"metric\":\"disk.used_pct{mountpoint=\\\"/"
	                    "boot\\\"}\",\"stat\":\"max\","
	                    "\"step_s\":1,\"source\":\"raw\",\"labels\":{\"mountpoint\":\"/boot\"},"
	                    "\"points\":[[\"2023-11-14T22:00:00.000Z\",20]]}");
	buf_reset(&b);
	assert_int_equal(store_series_json(s, "host:abc", "disk.used_pct{mountpoint=/}", T0, T0,
	                                   1000, "max", &b),
	                 0);
	assert_non_null(strstr(
	    b.data,
	    "\"labels\":{\"mountpoint\":\"/\"},\"points\":[[\"2023-11-14T22:00:00.000Z\",10]]}"));
	assert_int_equal(store_series_json(s, "host:abc", "disk.used_pct{mountpoint=/nope}", T0, T0,
	                                   1000, "max", &b),
	                 -ENOENT);
	store_close(s);
	buf_free(&b);
}

#define UP "series = (SELECT id FROM series WHERE name = 'memory.used_pct')"

static void test_rollup_1m_1h_exact(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	put_two_minutes(s);
	/* nothing complete yet at T0 + 30 s */
	assert_int_equal(store_maintain(s, T0 + 30000), 0);
	assert_int_equal(q("SELECT count(*) FROM points_1m WHERE " UP), 0);
	assert_int_equal(store_maintain(s, T0 + 2 * MIN + 1), 0);
	assert_int_equal(q("SELECT count(*) FROM points_1m WHERE " UP), 2);
	assert_int_equal(q("SELECT count FROM points_1m WHERE " UP " AND t = 1699999200000"), 10);
	assert_true(qd("SELECT avg FROM points_1m WHERE " UP " AND t = 1699999200000") == 5.5);
	assert_true(qd("SELECT min FROM points_1m WHERE " UP " AND t = 1699999200000") == 1);
	assert_true(qd("SELECT max FROM points_1m WHERE " UP " AND t = 1699999200000") == 10);
	assert_true(qd("SELECT sum FROM points_1m WHERE " UP " AND t = 1699999200000") == 55);
	assert_true(qd("SELECT p50 FROM points_1m WHERE " UP " AND t = 1699999200000") == 5);
	assert_true(qd("SELECT p90 FROM points_1m WHERE " UP " AND t = 1699999200000") == 9);
	assert_true(qd("SELECT p99 FROM points_1m WHERE " UP " AND t = 1699999200000") == 10);
	assert_true(qd("SELECT p90 FROM points_1m WHERE " UP " AND t = 1699999260000") == 90);
	/* late point into a rolled minute: rolled again */
	put_metric(s, "host:abc", T0 + 59000, 1000);
	assert_int_equal(store_maintain(s, T0 + 3 * MIN), 0);
	assert_int_equal(q("SELECT count FROM points_1m WHERE " UP " AND t = 1699999200000"), 11);
	assert_true(qd("SELECT max FROM points_1m WHERE " UP " AND t = 1699999200000") == 1000);
	assert_int_equal(q("SELECT n FROM counts WHERE name = 'points_1m'"), 4); /* two series */
	/* the hour: from its minutes */
	assert_int_equal(q("SELECT count(*) FROM points_1h WHERE " UP), 0);
	assert_int_equal(store_maintain(s, T0 + HOUR + MIN), 0);
	assert_int_equal(q("SELECT count(*) FROM points_1h WHERE " UP), 1);
	assert_int_equal(q("SELECT count FROM points_1h WHERE " UP), 21);
	assert_true(qd("SELECT sum FROM points_1h WHERE " UP) == 1605);
	assert_true(qd("SELECT min FROM points_1h WHERE " UP) == 1);
	assert_true(qd("SELECT max FROM points_1h WHERE " UP) == 1000);
	/* minute 0 is now 1..10 and 1000: p50 = 6th = 6, p90 = 10th = 10.
	 * The hour, weighted nearest rank of minute percentiles: p50s {6 (w 11),
	 * 50 (w 10)}: rank ceil(21 * .5) = 11 -> 6; p90s {10 (11), 90 (10)}:
	 * rank ceil(21 * .9) = 19 -> 90 */
	assert_true(qd("SELECT p50 FROM points_1m WHERE " UP " AND t = 1699999200000") == 6);
	assert_true(qd("SELECT p99 FROM points_1m WHERE " UP " AND t = 1699999200000") == 1000);
	assert_true(qd("SELECT p50 FROM points_1h WHERE " UP) == 6);
	assert_true(qd("SELECT p90 FROM points_1h WHERE " UP) == 90);
	/* queries: a step of a minute reads the 1m roll-up (identical results) */
	expect_points(s, "memory.used_pct", T0, T0 + 2 * MIN, MIN, "p90",
	              "[[\"2023-11-14T22:00:00.000Z\",10],[\"2023-11-14T22:01:00.000Z\",90]]");
	expect_points(s, "memory.used_pct", T0, T0 + 2 * MIN, HOUR, "count",
	              "[[\"2023-11-14T22:00:00.000Z\",21]]");
	struct buf b = BUF_INIT;
	assert_int_equal(store_series_json(s, "host:abc", "memory.used_pct", T0, T0 + 2 * MIN, HOUR,
	                                   "count", &b),
	                 0);
	assert_non_null(strstr(b.data, "\"step_s\":3600,\"source\":\"1h\""));
	buf_reset(&b);
	assert_int_equal(
	    store_series_json(s, "host:abc", "memory.used_pct", T0, T0 + 2 * MIN, MIN, "avg", &b),
	    0);
	assert_non_null(strstr(b.data, "\"step_s\":60,\"source\":\"1m\""));
	/* a tail newer than the roll-ups comes from raw points */
	put_metric(s, "host:abc", T0 + HOUR + 2 * MIN, 7);
	expect_points(s, "memory.used_pct", T0, T0 + 2 * HOUR, MIN, "count",
	              "[[\"2023-11-14T22:00:00.000Z\",11],[\"2023-11-14T22:01:00.000Z\",10],["
	              "\"2023-11-14T23:02:00.000Z\",1]]");
	expect_points(s, "memory.used_pct", T0, T0 + 2 * HOUR, HOUR, "sum",
	              "[[\"2023-11-14T22:00:00.000Z\",1605],[\"2023-11-14T23:00:00.000Z\",7]]");
	store_close(s);
	buf_free(&b);
}

static void test_retention_and_gc(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	/* a frame every 10 minutes for 3 hours; the process list changes every
	 * frame (so old records become garbage), the package list never */
	for (int i = 0; i < 18; i++) {
		struct fb f;
		char v[100];
		fb_begin(&f, "host:abc", T0 + i * 10 * MIN, "[\"process\",\"package\",\"metric\"]");
		snprintf(v, sizeof(v), "{\"cpu_s\":%d}", i);
		fb_rec(&f, "process", "1", v);
		fb_rec(&f, "package", "zlib", "{\"version\":\"1\"}");
		snprintf(v, sizeof(v), "{\"used_pct\":%d}", i);
		fb_rec(&f, "metric", "memory", v);
		fb_put(s, &f);
	}
	int64_t last = T0 + 17 * 10 * MIN;
	assert_int_equal(store_maintain(s, last + MIN), 0);
	assert_int_equal(q(RAW_POINTS), 18);
	assert_int_equal(q("SELECT count(*) FROM points_1m"), 18);
	assert_int_equal(q("SELECT count(*) FROM points_1h"), 2);
	assert_int_equal(q("SELECT count(*) FROM frames"), 18);
	/* a day later: raw points gone, roll-ups kept; frames thinned to one an hour */
	assert_int_equal(store_maintain(s, last + DAY + HOUR), 0);
	assert_int_equal(q(RAW_POINTS), 0);
	assert_int_equal(q("SELECT n FROM counts WHERE name = 'points_raw'"), 0);
	assert_int_equal(q("SELECT count(*) FROM points_1m"), 18);
	assert_int_equal(q("SELECT count(*) FROM frames"), 3);
	assert_int_equal(q("SELECT n FROM counts WHERE name = 'frames'"), 3);
	/* the unreferenced process records and sets were collected */
	assert_int_equal(q("SELECT count(*) FROM records WHERE key = '1'"), 3);
	assert_int_equal(q("SELECT count(*) FROM records"),
	                 q("SELECT n FROM counts WHERE name = 'records'"));
	assert_int_equal(q("SELECT count(*) FROM sets"),
	                 q("SELECT n FROM counts WHERE name = 'sets'"));
	/* the kept frames still read back; metric values now from the minute roll-up */
	struct buf b = BUF_INIT;
	assert_int_equal(store_frame_json(s, "host:abc", T0 + 55 * MIN, NULL, &b), 0);
	assert_non_null(strstr(b.data, "\"time\":\"2023-11-14T22:50:00.000Z\""));
	assert_non_null(strstr(b.data, "{\"cpu_s\":5}"));
	assert_non_null(strstr(b.data, "{\"version\":\"1\"}"));
	assert_non_null(strstr(b.data, "{\"used_pct\":5}"));
	/* a query of the old range uses the roll-ups */
	buf_reset(&b);
	assert_int_equal(
	    store_series_json(s, "host:abc", "memory.used_pct", T0, last, 10 * 1000, "max", &b), 0);
	assert_non_null(strstr(b.data, "\"source\":\"1m\""));
	assert_non_null(strstr(b.data, "[\"2023-11-14T22:10:00.000Z\",1]"));
	/* 16 days: 1-minute rows gone, hours kept, frames one a day */
	assert_int_equal(store_maintain(s, last + 16 * DAY), 0);
	assert_int_equal(q("SELECT count(*) FROM points_1m"), 0);
	assert_int_equal(q("SELECT count(*) FROM points_1h"), 3);
	assert_int_equal(q("SELECT count(*) FROM frames"), 2);
	buf_reset(&b);
	assert_int_equal(
	    store_series_json(s, "host:abc", "memory.used_pct", T0, last, MIN, "avg", &b), 0);
	assert_non_null(strstr(b.data, "\"source\":\"1h\""));
	assert_non_null(
	    strstr(b.data, "\"points\":[[\"2023-11-14T22:00:00.000Z\",2.5],[\"2023-11-14T23:00:00."
	                   "000Z\",8.5],[\"2023-11-15T00:00:00.000Z\",14.5]]"));
	/* 16 months: hours gone, the system's last frame stays */
	assert_int_equal(store_maintain(s, last + 490 * DAY), 0);
	assert_int_equal(q("SELECT count(*) FROM points_1h"), 0);
	assert_int_equal(q("SELECT count(*) FROM frames"), 1);
	buf_reset(&b);
	assert_int_equal(store_frame_json(s, "host:abc", 0, NULL, &b), 0);
	assert_non_null(strstr(b.data, "{\"cpu_s\":17}"));
	assert_non_null(strstr(b.data, "{\"used_pct\":null}")); /* no point kept */
	/* nothing to do: cheap */
	int64_t t0 = mono_ns();
	for (int i = 0; i < 10; i++)
		assert_int_equal(store_maintain(s, last + 490 * DAY + i * 1000), 0);
	int64_t per = (mono_ns() - t0) / 10;
	fprintf(stderr, "# idle store_maintain: %lld us\n", (long long)(per / 1000));
	store_close(s);
	buf_free(&b);
	/* a time bound means nothing under valgrind's emulation (20x slower) */
	if (!RUNNING_ON_VALGRIND)
		assert_true(per < 20 * 1000000LL);
}

static void test_chunk_codec(void **state)
{
	struct point in[300];
	int64_t h = T0;
	for (int i = 0; i < 300; i++) {
		in[i].t = h + i * 10000 + (i % 7);
		switch (i % 6) {
		case 0:
			in[i] = (struct point){in[i].t, 42, 42, SQLITE_INTEGER, 0};
			break;
		case 1:
			in[i] = (struct point){in[i].t, 42, 42, SQLITE_INTEGER, 0};
			break; /* same */
		case 2:
			in[i] = (struct point){in[i].t, -9007199254740993LL, 0, SQLITE_INTEGER, 0};
			break;
		case 3:
			in[i] = (struct point){in[i].t, 0, 3.4, SQLITE_FLOAT, 0};
			break;
		case 4:
			in[i] = (struct point){in[i].t, 0, -0.0, SQLITE_FLOAT, 0};
			break;
		default:
			in[i] = (struct point){in[i].t, 0, 0, SQLITE_NULL, 0};
			break;
		}
	}
	struct buf b = BUF_INIT;
	chunk_encode(in, 300, h, &b);
	struct pvec out = {0};
	assert_int_equal(chunk_decode(b.data, b.len, h, INT64_MIN, INT64_MAX, &out), 0);
	assert_int_equal(out.n, 300);
	for (int i = 0; i < 300; i++) {
		assert_int_equal(out.v[i].t, in[i].t);
		assert_int_equal(out.v[i].type, in[i].type);
		if (in[i].type == SQLITE_INTEGER)
			assert_int_equal(out.v[i].i, in[i].i);
		if (in[i].type == SQLITE_FLOAT)
			assert_memory_equal(&out.v[i].d, &in[i].d, 8);
	}
	/* a window of it */
	out.n = 0;
	assert_int_equal(chunk_decode(b.data, b.len, h, h + 100000, h + 200000, &out), 0);
	assert_int_equal(out.n, 10);
	/* an unchanged gauge every 10 s costs 3 bytes a point */
	struct point g[360];
	for (int i = 0; i < 360; i++)
		g[i] = (struct point){h + i * 10000, 0, 16.75, SQLITE_FLOAT, 0};
	buf_reset(&b);
	chunk_encode(g, 360, h, &b);
	assert_true(b.len <= 3 * 360 + 8);
	/* cut short or garbage: an error or fewer points, never a crash */
	chunk_encode(in, 300, h, &b);
	for (size_t n = 0; n < b.len; n += 3) {
		out.n = 0;
		int r = chunk_decode(b.data, n, h, INT64_MIN, INT64_MAX, &out);
		assert_true(r == 0 || r == -EINVAL);
	}
	unsigned char junk[512];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	out.n = 0;
	int r = chunk_decode(junk, sizeof(junk), h, INT64_MIN, INT64_MAX, &out);
	assert_true(r == 0 || r == -EINVAL);
	pvec_free(&out);
	buf_free(&b);
}

static void test_compaction_and_late_points(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	/* two hours of points every 10 s: integers and decimals */
	for (int i = 0; i < 720; i++) {
		struct fb f;
		char v[200];
		fb_begin(&f, "host:abc", T0 + i * 10000LL, "[\"metric\"]");
		snprintf(v, sizeof(v), "{\"total_kb\":%d,\"used_pct\":%d.%02d}", 1000 + i / 100,
		         i % 97, i % 100);
		fb_rec(&f, "metric", "memory", v);
		fb_put(s, &f);
	}
	assert_int_equal(store_maintain(s, T0 + 2 * HOUR + MIN), 0);
	/* both hours went into chunks: one row per series and hour */
	assert_int_equal(q("SELECT count(*) FROM points_new"), 0);
	assert_int_equal(q("SELECT count(*) FROM points_raw"), 4);
	assert_int_equal(q(RAW_POINTS), 1440);
	assert_int_equal(q(CHUNK_POINTS), 1440);
	assert_int_equal(q("SELECT count(*) FROM points_1m WHERE " UP), 120);
	int64_t chunk_bytes = q("SELECT sum(length(data)) FROM points_raw");
	fprintf(stderr, "# 1440 points in %lld bytes of chunks\n", (long long)chunk_bytes);
	assert_true(chunk_bytes < 1440 * 10);
	/* read back exactly, across the two chunks */
	struct buf b = BUF_INIT;
	assert_int_equal(store_series_json(s, "host:abc", "memory.used_pct", T0 + HOUR - 20000,
	                                   T0 + HOUR + 10000, 10000, "avg", &b),
	                 0);
	assert_non_null(strstr(
	    b.data,
	    "\"points\":[[\"2023-11-14T22:59:40.000Z\",67.58],[\"2023-11-14T22:59:50.000Z\",68.59],"
	    "[\"2023-11-14T23:00:00.000Z\",69.6],[\"2023-11-14T23:00:10.000Z\",70.61]]"));
	/* an old frame's metric record is rebuilt from its chunk */
	buf_reset(&b);
	assert_int_equal(store_frame_json(s, "host:abc", T0 + 2340000, "metric", &b), 0);
	assert_non_null(strstr(b.data, "\"value\":{\"total_kb\":1002,\"used_pct\":40.34}"));
	/* a late point in a compacted hour */
	put_metric(s, "host:abc", T0 + 5000, 500);
	assert_int_equal(q(RAW_POINTS), 1442); /* used_pct and total_kb */
	expect_points(s, "memory.used_pct", T0, T0 + 10000, 5000, "max",
	              "[[\"2023-11-14T22:00:00.000Z\",0],[\"2023-11-14T22:00:05.000Z\",500],["
	              "\"2023-11-14T22:00:10.000Z\",1.01]]");
	assert_int_equal(store_maintain(s, T0 + 2 * HOUR + 2 * MIN), 0);
	/* its minute was rolled again, and it was merged into the chunk */
	assert_int_equal(q("SELECT count FROM points_1m WHERE " UP " AND t = 1699999200000"), 7);
	assert_true(qd("SELECT max FROM points_1m WHERE " UP " AND t = 1699999200000") == 500);
	assert_int_equal(q("SELECT count FROM points_1h WHERE " UP " AND t = 1699999200000"), 361);
	assert_int_equal(q("SELECT count(*) FROM points_new"), 0);
	assert_int_equal(q("SELECT count(*) FROM points_raw"), 4);
	assert_int_equal(q(RAW_POINTS), 1442);
	assert_int_equal(q(CHUNK_POINTS), 1442);
	/* the same frame stored twice: one point */
	put_metric(s, "host:abc", T0 + 5000, 600);
	assert_int_equal(store_maintain(s, T0 + 2 * HOUR + 3 * MIN), 0);
	assert_int_equal(q(RAW_POINTS), 1442);
	assert_int_equal(q(CHUNK_POINTS), 1442);
	expect_points(s, "memory.used_pct", T0 + 5000, T0 + 5000, 1000, "max",
	              "[[\"2023-11-14T22:00:05.000Z\",600]]");
	store_close(s);
	buf_free(&b);
}

static int latest_cb(void *ctx, const struct store_latest *p)
{
	struct buf *b = ctx;
	buf_printf(b, "%s|%s|%s|%s|%s|%s|%g|%lld\n", p->system_id, p->name, p->kind,
	           p->runtime ? p->runtime : "-", p->metric, p->labels_json, p->value,
	           (long long)p->time_ms);
	return 0;
}

static void test_latest_points(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	struct fb f;
	fb_begin(&f, "host:abc", T0, "[\"metric\"]");
	fb_rec(&f, "metric", "memory", "{\"used_pct\":1}");
	fb_rec(&f, "metric", "disk:/old", "{\"used_pct\":5}");
	fb_put(s, &f);
	fb_begin(&f, "host:abc", T0 + 10000, "[\"metric\"]");
	fb_rec(&f, "metric", "memory", "{\"used_pct\":2}");
	fb_put(s, &f);
	/* a process-only frame later does not hide the metrics */
	fb_begin(&f, "host:abc", T0 + 20000, "[\"process\"]");
	fb_rec(&f, "process", "1", "{}");
	fb_put(s, &f);
	fb_begin_full(&f, "container:podman:c\\\"1", T0 + 5000,
	              "\"name\":\"w\\u00e9b\",\"kind\":\"container\",\"runtime\":\"podman\"",
	              "[\"metric\"]");
	fb_rec(&f, "metric", "cgroup", "{\"mem_usage_bytes\":4096}");
	fb_put(s, &f);
	fb_begin_full(&f, "container:podman:gone", T0 + 5000,
	              "\"name\":\"g\",\"kind\":\"container\"", "[\"metric\"]");
	fb_rec(&f, "metric", "cgroup", "{\"mem_usage_bytes\":1}");
	fb_put(s, &f);
	const char *present[] = {"container:podman:c\"1"};
	assert_int_equal(store_mark_gone(s, "container", NULL, present, 1, T0 + 30000), 0);
	struct buf b = BUF_INIT;
	assert_int_equal(store_latest_points(s, latest_cb, &b), 0);
	assert_string_equal(b.data,
	                    "container:podman:c\"1|w\xc3\xa9"
	                    "b|container|podman|cgroup.mem_usage_bytes|{}|4096|1699999205000\n"
	                    "host:abc|box|host|-|memory.used_pct|{}|2|1699999210000\n");
	store_close(s);
	buf_free(&b);
}

/* ---- the sink ------------------------------------------------------------------ */

static void test_sink_queue_on_full_disk(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	struct sink *k;
	assert_int_equal(sink_store_open(s, &k), 0);
	/* a frame through write + write_fd */
	struct fb f;
	frame_os_pkg(&f, T0, "1.0");
	char tmpl[] = "/tmp/vantage-sink.XXXXXX";
	int fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	unlink(tmpl);
	size_t half = f.b.len / 2;
	assert_int_equal(write(fd, f.b.data + half, f.b.len - half), (ssize_t)(f.b.len - half));
	assert_int_equal(sink_write(k, f.b.data, half), 0);
	assert_int_equal(sink_write_fd(k, fd, f.b.len - half), 0);
	close(fd);
	assert_int_equal(sink_flush(k), 0);
	assert_int_equal(sink_store_pending(k), 0);
	assert_int_equal(sink_flush(k), 0); /* nothing collected: nothing done */
	assert_int_equal(q("SELECT count(*) FROM frames"), 1);
	buf_free(&f.b);
	/* the disk fills up: SQLite's page limit stands in for it */
	int64_t pages = q("PRAGMA page_count");
	char sql[100];
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)pages);
	assert_int_equal(sqlite3_exec(sq(s)->db, sql, NULL, NULL, NULL), SQLITE_OK);
	for (int i = 1; i <= 5; i++) {
		fb_begin(&f, "host:abc", T0 + i * 1000, "[\"package\"]");
		for (int p = 0; p < 200; p++) {
			char key[20], v[100];
			snprintf(key, sizeof(key), "pkg%d", p);
			snprintf(v, sizeof(v),
			         "{\"version\":\"%d.%d\",\"pad\":"
			         "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
			         i, p);
			fb_rec(&f, "package", key, v);
		}
		sink_write(k, f.b.data, f.b.len);
		assert_int_equal(sink_flush(k), -ENOSPC);
		assert_int_equal(sink_store_pending(k), i);
		buf_free(&f.b);
	}
	assert_int_equal(q("SELECT count(*) FROM frames"), 1);
	/* space returns: the queue drains in order at the next flush */
	assert_int_equal(
	    sqlite3_exec(sq(s)->db, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL),
	    SQLITE_OK);
	frame_os_pkg(&f, T0 + 10000, "2.0");
	sink_write(k, f.b.data, f.b.len);
	buf_free(&f.b);
	assert_int_equal(sink_flush(k), 0);
	assert_int_equal(sink_store_pending(k), 0);
	assert_int_equal(q("SELECT count(*) FROM frames"), 7);
	assert_int_equal(q("SELECT count(*) FROM frames WHERE t = 1699999205000"), 1);
	/* a malformed frame is refused alone, not queued */
	sink_write(k, "junk\n", 5);
	assert_int_equal(sink_flush(k), -EINVAL);
	assert_int_equal(sink_store_pending(k), 0);
	sink_close(k);
	store_close(s);
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* ---- crash safety ----------------------------------------------------------------- */

static void test_kill9_during_writes(void **state)
{
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		struct store *s;
		if (store_open(path, STORE_RW, &s) < 0)
			_exit(1);
		for (int i = 0;; i++) {
			struct fb f;
			fb_begin(&f, "host:abc", T0 + i * 1000LL, "[\"process\",\"metric\"]");
			for (int p = 0; p < 200; p++) {
				char key[20], v[100];
				snprintf(key, sizeof(key), "%d", p);
				snprintf(v, sizeof(v), "{\"pid\":%d,\"round\":%d}", p,
				         p % 10 == 0 ? i : 0);
				fb_rec(&f, "process", key, v);
			}
			fb_rec(&f, "metric", "memory", "{\"used_pct\":1.5}");
			int64_t id;
			if (store_put_frame(s, f.b.data, f.b.len, &id) < 0)
				_exit(2);
			buf_free(&f.b);
			if (write(pfd[1], &id, sizeof(id)) != sizeof(id))
				_exit(3);
			if (i % 7 == 0)
				store_maintain(s, T0 + i * 1000LL);
		}
	}
	close(pfd[1]);
	static int64_t ids[100000];
	size_t n = 0;
	int64_t start = mono_ns();
	while (mono_ns() - start < 1500000000LL && n < ARRAY_SIZE(ids)) {
		ssize_t r = read(pfd[0], &ids[n], sizeof(ids[0]));
		assert_int_equal(r, sizeof(ids[0]));
		n++;
	}
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFSIGNALED(st));
	/* frames reported in the pipe but not yet read still count as reported */
	ssize_t r;
	while (n < ARRAY_SIZE(ids) && (r = read(pfd[0], &ids[n], sizeof(ids[0]))) == sizeof(ids[0]))
		n++;
	close(pfd[0]);
	fprintf(stderr, "# %zu frames stored before kill -9\n", n);
	assert_true(n > 10);
	struct store *s = tmpstore_open(STORE_RW);
	sqlite3_stmt *q1;
	assert_int_equal(sqlite3_prepare_v2(sq(s)->db, "PRAGMA integrity_check", -1, &q1, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(q1), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q1, 0), "ok");
	sqlite3_finalize(q1);
	assert_int_equal(sqlite3_prepare_v2(sq(s)->db, "SELECT count(*) FROM frames WHERE id = ?1",
	                                    -1, &q1, NULL),
	                 SQLITE_OK);
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(q1, 1, ids[i]);
		assert_int_equal(sqlite3_step(q1), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(q1, 0), 1);
		sqlite3_reset(q1);
	}
	sqlite3_finalize(q1);
	/* and every one of them reads back */
	struct buf b = BUF_INIT;
	assert_int_equal(
	    store_frame_json(s, "host:abc", T0 + (int64_t)(n - 1) * 1000, "process", &b), 0);
	assert_non_null(strstr(b.data, "{\"pid\":199,\"round\":0}"));
	/* and writing goes on */
	put_metric(s, "host:abc", T0 + 10000000, 1);
	store_close(s);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jscan_valid_invalid),
	    cmocka_unit_test(test_jscan_iter_unescape),
	    cmocka_unit_test(test_jscan_trusted_same_spans),
	    cmocka_unit_test_setup_teardown(test_open_create_reopen, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_v1, tmpstore_setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, tmpstore_setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_open_urls, tmpstore_setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_roundtrip_exact, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_verify, tmpstore_setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_dedup_and_bytes, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_dedup_large_part, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_frame_at_and_features, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_frames_atomic, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_systems_filters_gone, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_metric_series_mapping, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_series_raw_stats, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_series_labels_selector, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_rollup_1m_1h_exact, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_retention_and_gc, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test(test_chunk_codec),
	    cmocka_unit_test_setup_teardown(test_compaction_and_late_points, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_latest_points, tmpstore_setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_sink_queue_on_full_disk, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_kill9_during_writes, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_open_not_regular, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_daemon_claim, tmpstore_setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_deleted_while_open, tmpstore_setup,
	                                    tmpstore_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
