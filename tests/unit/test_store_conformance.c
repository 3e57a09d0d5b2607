/*
 * Unit tests: the store conformance suite.  Everything store.h promises,
 * tested through store.h ONLY (no SQL, no backend header), so that every
 * backend runs the same suite:
 *
 *   frames at a time, exact read-back, atomic frames, deduplication,
 *   series and roll-ups, retention, latest points, gone systems,
 *   reopening (RW and RO), a missing store, foreign files refused, and a
 *   writer killed with SIGKILL mid-stream.
 *
 * The backend is chosen by one setting, the environment variable
 * VANTAGE_TEST_STORE_URL: a store URL template whose "%s" is replaced by a
 * fresh empty temporary directory for each test (default "sqlite:%s/db";
 * e.g. "%s/v.db"; for postgres://, "%s" is replaced by a fresh schema
 * name, e.g. "postgres:///vantage?host=/tmp/pg&schema=%s").  A URL that
 * does not name a file (postgres://) must give an empty store for each
 * test; the cases that need a file (foreign files, a parent directory
 * created) are then skipped.  A full disk is tested by
 * tests/integration/store.sh (a 2 MB tmpfs) and, for SQLite, test_store.c.
 */
#include <errno.h>
#include <jansson.h>
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

#include "store/store.h"
#include "tmpstore.h"
#include "util/buf.h"
#include "util/timefmt.h"
#include "util/util.h"

/* 2023-11-14T22:00:00.000Z, on an hour boundary */
#define T0 1699999200000LL
#define MIN 60000LL
#define HOUR 3600000LL
#define DAY 86400000LL

static char url[600];
static char file[600]; /* the store's file when the URL names one, else "" */

static int setup(void **state)
{
	tmpstore_setup(state);
	tmpstore_url(url, sizeof(url));
	file[0] = 0;
	if (strncmp(url, "sqlite:", 7) == 0)
		snprintf(file, sizeof(file), "%s", url + 7);
	else if (!strstr(url, "://"))
		snprintf(file, sizeof(file), "%s", url);
	return 0;
}

static struct store *open_mode(enum store_mode mode)
{
	struct store *s = NULL;
	int r = store_open(url, mode, &s);
	if (r < 0)
		fprintf(stderr, "open %s: %s\n", url, store_errmsg(NULL));
	assert_int_equal(r, 0);
	assert_non_null(s);
	return s;
}

static struct store *open_rw(void)
{
	return open_mode(STORE_RW);
}

/* ---- reading answers ------------------------------------------------------- */

static json_t *parse(const struct buf *b)
{
	json_error_t e;
	json_t *j = json_loadb(b->data ? b->data : "", b->len, JSON_DECODE_ANY, &e);
	if (!j)
		fprintf(stderr, "bad JSON (%s): %.*s\n", e.text, (int)b->len, b->data);
	assert_non_null(j);
	return j;
}

/* One count of store_stats_json. */
static int64_t stat_of(struct store *s, const char *name)
{
	struct buf b = BUF_INIT;
	assert_int_equal(store_stats_json(s, &b), 0);
	json_t *j = parse(&b);
	json_t *v = json_object_get(j, name);
	assert_true(json_is_integer(v));
	int64_t n = json_integer_value(v);
	json_decref(j);
	buf_free(&b);
	return n;
}

/* store_frame_json as JSON (NULL when it fails with `want_err`). */
static json_t *frame_at(struct store *s, const char *sid, int64_t at, const char *feature,
                        int want_err)
{
	struct buf b = BUF_INIT;
	int r = store_frame_json(s, sid, at, feature, &b);
	if (r != want_err)
		fprintf(stderr, "frame %s: %d %s\n", sid, r, store_errmsg(s));
	assert_int_equal(r, want_err);
	json_t *j = r == 0 ? parse(&b) : NULL;
	buf_free(&b);
	return j;
}

/* The value of the record (feature, key) in a frame answer, as compact
 * JSON text (malloc'd), or NULL. */
static char *record_of(json_t *frame, const char *feature, const char *key)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(frame, "records"), i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "feature")), feature) == 0 &&
		    strcmp(json_string_value(json_object_get(r, "key")), key) == 0)
			return json_dumps(json_object_get(r, "value"),
			                  JSON_COMPACT | JSON_ENCODE_ANY);
	}
	return NULL;
}

static void expect_record(json_t *frame, const char *feature, const char *key, const char *want)
{
	char *v = record_of(frame, feature, key);
	if (!want) {
		assert_null(v);
		return;
	}
	if (!v || strcmp(v, want) != 0)
		fprintf(stderr, "record %s/%s: got %s, want %s\n", feature, key, v ? v : "none",
		        want);
	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

/* The "points" of a single-series answer as compact JSON, and its source. */
static void expect_series(struct store *s, const char *sid, const char *metric, int64_t from,
                          int64_t to, int64_t step, const char *stat, const char *source,
                          const char *points)
{
	struct buf b = BUF_INIT;
	int r = store_series_json(s, sid, metric, from, to, step, stat, &b);
	if (r < 0)
		fprintf(stderr, "series: %s\n", store_errmsg(s));
	assert_int_equal(r, 0);
	json_t *j = parse(&b);
	char *p = json_dumps(json_object_get(j, "points"), JSON_COMPACT | JSON_ENCODE_ANY);
	if (!p || strcmp(p, points) != 0)
		fprintf(stderr, "series %s %s: got %s\n   want %s\n", metric, stat, p, points);
	assert_non_null(p);
	assert_string_equal(p, points);
	if (source)
		assert_string_equal(json_string_value(json_object_get(j, "source")), source);
	free(p);
	json_decref(j);
	buf_free(&b);
}

static int count_lines(const char *t)
{
	int n = 0;
	for (; t && *t; t++)
		n += *t == '\n';
	return n;
}

/* ---- building frames ------------------------------------------------------- */

struct fb {
	struct buf b;
	char sid[200];
	char iso[40];
};

static void fb_begin_kind(struct fb *f, const char *sid, int64_t t, const char *kind,
                          const char *features)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->sid, sizeof(f->sid), "%s", sid);
	format_time_utc(t * 1000000, f->iso, sizeof(f->iso));
	buf_printf(&f->b,
	           "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"frame\",\"key\":\"%s\","
	           "\"value\":{\"id\":\"%s\",\"name\":\"box\",\"kind\":\"%s\",\"host\":\"box\","
	           "\"time\":\"%s\",\"features\":%s,\"duration_ms\":12.345,\"records\":0,"
	           "\"errors\":{},\"feature_ms\":{\"os\":0.5,\"metric\":1}}}\n",
	           sid, f->iso, sid, sid, kind, f->iso, features);
}

static void fb_begin(struct fb *f, const char *sid, int64_t t, const char *features)
{
	fb_begin_kind(f, sid, t, "host", features);
}

static void fb_rec(struct fb *f, const char *feature, const char *key, const char *value)
{
	buf_printf(&f->b,
	           "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"%s\",\"key\":\"%s\","
	           "\"value\":%s}\n",
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

static void put_metric(struct store *s, const char *sid, int64_t t, double v)
{
	struct fb f;
	char val[200];
	fb_begin(&f, sid, t, "[\"metric\"]");
	snprintf(val, sizeof(val), "{\"total_kb\":1000,\"used_pct\":%g,\"interval_s\":1}", v);
	fb_rec(&f, "metric", "memory", val);
	fb_put(s, &f);
}

static void frame_os_pkg(struct fb *f, const char *sid, int64_t t, const char *ver)
{
	char v[200];
	fb_begin(f, sid, t, "[\"os\",\"package\"]");
	fb_rec(f, "os", "linux", "{\"hostname\":\"box\",\"kernel\":\"6.1\"}");
	snprintf(v, sizeof(v), "{\"name\":\"openssl\",\"version\":\"%s\"}", ver);
	fb_rec(f, "package", "openssl", v);
	fb_rec(f, "package", "zlib", "{\"name\":\"zlib\",\"version\":\"1.2\"}");
}

/* ---- opening --------------------------------------------------------------- */

static void test_missing_store_and_modes(void **state)
{
	struct store *s = (struct store *)1;
	/* read-only: a store that does not exist is -ENOENT, "no store at" */
	assert_int_equal(store_open(url, STORE_RO, &s), -ENOENT);
	assert_null(s);
	assert_non_null(strstr(store_errmsg(NULL), "no store at"));
	/* read-write creates it, a read-only handle then reads it */
	s = open_rw();
	struct fb f;
	frame_os_pkg(&f, "host:modes", T0, "1.0");
	fb_put(s, &f);
	struct store *ro = open_mode(STORE_RO);
	json_t *j = frame_at(ro, "host:modes", 0, NULL, 0);
	expect_record(j, "package", "openssl", "{\"name\":\"openssl\",\"version\":\"1.0\"}");
	json_decref(j);
	/* and never writes */
	frame_os_pkg(&f, "host:modes", T0 + MIN, "1.1");
	assert_int_equal(store_put_frame(ro, f.b.data, f.b.len, NULL), -EROFS);
	assert_non_null(store_errmsg(ro));
	buf_free(&f.b);
	store_close(ro);
	store_close(s);
	store_close(NULL);
}

static void test_parent_directory_created(void **state)
{
	if (!*file)
		skip();
	/* a store two directories down, neither existing */
	char sub[700];
	snprintf(sub, sizeof(sub), "%s/a/b/v.db", dir);
	struct store *s = NULL;
	assert_int_equal(store_open(sub, STORE_RO, &s), -ENOENT);
	assert_non_null(strstr(store_errmsg(NULL), sub));
	int r = store_open(sub, STORE_RW, &s);
	if (r < 0)
		fprintf(stderr, "%s\n", store_errmsg(NULL));
	assert_int_equal(r, 0);
	store_close(s);
	struct stat sb;
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	assert_int_equal(stat(sub, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777 & ~0750, 0); /* 0750 less the umask */
	snprintf(sub, sizeof(sub), "sqlite:%s/a/b/v.db", dir);
	assert_int_equal(store_open(sub, STORE_RO, &s), 0);
	store_close(s);
}

static void test_foreign_files_refused(void **state)
{
	if (!*file)
		skip();
	struct store *s = (struct store *)1;
	/* random bytes: refused, named, untouched */
	unsigned char junk[8192];
	srand(7);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)rand();
	FILE *fp = fopen(file, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	fclose(fp);
	assert_int_equal(store_open(url, STORE_RW, &s), -EINVAL);
	assert_null(s);
	assert_non_null(strstr(store_errmsg(NULL), file));
	assert_int_equal(store_open(url, STORE_RO, &s), -EINVAL);
	struct stat sb;
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_size, sizeof(junk));
	/* a text file */
	fp = fopen(file, "w");
	assert_non_null(fp);
	fputs("{\"system\":\"host:x\"}\n", fp);
	fclose(fp);
	assert_int_equal(store_open(url, STORE_RW, &s), -EINVAL);
	/* an empty file is no store to read, but becomes one when opened RW */
	fp = fopen(file, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(store_open(url, STORE_RO, &s), -EINVAL);
	s = open_rw();
	store_close(s);
	/* a directory where the store should be */
	unlink(file);
	assert_int_equal(mkdir(file, 0700), 0);
	assert_true(store_open(url, STORE_RW, &s) < 0);
	assert_null(s);
	assert_non_null(strstr(store_errmsg(NULL), file));
}

/* ---- frames ---------------------------------------------------------------- */

static void test_frames_at_a_time(void **state)
{
	struct store *s = open_rw();
	struct fb f;
	frame_os_pkg(&f, "host:at", T0, "1.0");
	fb_put(s, &f);
	frame_os_pkg(&f, "host:at", T0 + 10 * MIN, "1.1");
	fb_put(s, &f);
	/* a frame of only one feature: the others stay as they were */
	fb_begin(&f, "host:at", T0 + 20 * MIN, "[\"os\"]");
	fb_rec(&f, "os", "linux", "{\"hostname\":\"box\",\"kernel\":\"6.2\"}");
	fb_put(s, &f);

	json_t *j = frame_at(s, "host:at", T0, NULL, 0);
	expect_record(j, "package", "openssl", "{\"name\":\"openssl\",\"version\":\"1.0\"}");
	/* the header reads back byte for byte, volatile parts included */
	struct buf b = BUF_INIT;
	assert_int_equal(store_frame_json(s, "host:at", T0, NULL, &b), 0);
	assert_non_null(strstr(b.data, "\"frame\":{\"id\":\"host:at\",\"name\":\"box\",\"kind\":"
	                               "\"host\",\"host\":\"box\",\"time\":\"2023-11-14T22:00:00."
	                               "000Z\",\"features\":[\"os\",\"package\"],\"duration_ms\":"
	                               "12.345,\"records\":0,\"errors\":{},\"feature_ms\":{\"os\":"
	                               "0.5,\"metric\":1}}"));
	buf_free(&b);
	json_decref(j);
	/* between two frames: the earlier one */
	j = frame_at(s, "host:at", T0 + 15 * MIN, NULL, 0);
	expect_record(j, "package", "openssl", "{\"name\":\"openssl\",\"version\":\"1.1\"}");
	json_decref(j);
	/* the latest: the os of the last frame, the packages of the one before */
	j = frame_at(s, "host:at", 0, NULL, 0);
	expect_record(j, "os", "linux", "{\"hostname\":\"box\",\"kernel\":\"6.2\"}");
	expect_record(j, "package", "openssl", "{\"name\":\"openssl\",\"version\":\"1.1\"}");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "feature_times"), "package")),
	    "2023-11-14T22:10:00.000Z");
	json_decref(j);
	/* one feature: the last frame holding it, only its records */
	j = frame_at(s, "host:at", 0, "package", 0);
	expect_record(j, "package", "zlib", "{\"name\":\"zlib\",\"version\":\"1.2\"}");
	expect_record(j, "os", "linux", NULL);
	json_decref(j);
	/* before the first frame, an unknown system */
	frame_at(s, "host:at", T0 - 1, NULL, -ENOENT);
	frame_at(s, "host:nope", 0, NULL, -ENOENT);
	store_close(s);
}

/* A read session sees one snapshot: a frame written meanwhile shows only
 * after it ends.  A begin inside a session changes nothing.  Frame times
 * list the frames, oldest first, the latest ones when capped. */
static void test_read_session_and_frame_times(void **state)
{
	struct store *w = open_rw();
	struct fb f;
	frame_os_pkg(&f, "host:rs", T0, "1.0");
	fb_put(w, &f);
	struct store *r = open_mode(STORE_RO);
	assert_int_equal(store_read_begin(r), 0);
	assert_int_equal(store_read_begin(r), 0); /* inside: nothing */
	json_t *j = frame_at(r, "host:rs", 0, NULL, 0);
	expect_record(j, "package", "openssl", "{\"name\":\"openssl\",\"version\":\"1.0\"}");
	json_decref(j);
	frame_os_pkg(&f, "host:rs", T0 + MIN, "1.1");
	fb_put(w, &f);
	j = frame_at(r, "host:rs", 0, NULL, 0);
	expect_record(j, "package", "openssl", "{\"name\":\"openssl\",\"version\":\"1.0\"}");
	json_decref(j);
	store_read_end(r);
	store_read_end(r); /* again: nothing */
	j = frame_at(r, "host:rs", 0, NULL, 0);
	expect_record(j, "package", "openssl", "{\"name\":\"openssl\",\"version\":\"1.1\"}");
	json_decref(j);

	put_metric(w, "host:rs", T0 + 2 * MIN, 1.0); /* a metric-only frame */
	int64_t *t;
	size_t n;
	assert_int_equal(store_frame_times(r, "host:rs", 0, T0 + HOUR, NULL, 10, &t, &n), 0);
	assert_int_equal(n, 3);
	assert_true(t[0] == T0 && t[1] == T0 + MIN && t[2] == T0 + 2 * MIN);
	free(t);
	assert_int_equal(store_frame_times(r, "host:rs", 0, T0 + HOUR, "metric", 10, &t, &n), 0);
	assert_int_equal(n, 2);
	free(t);
	assert_int_equal(store_frame_times(r, "host:rs", 0, T0 + HOUR, NULL, 1, &t, &n), 0);
	assert_int_equal(n, 1);
	assert_true(t[0] == T0 + 2 * MIN); /* the latest when capped */
	free(t);
	assert_int_equal(store_frame_times(r, "host:nope", 0, T0, NULL, 1, &t, &n), -ENOENT);
	store_close(r);
	store_close(w);
}

static void test_records_exact(void **state)
{
	struct store *s = open_rw();
	struct fb f;
	/* text the writer produces: escapes, \udcXX bytes, numbers of every form */
	static const char *const vals[] = {
	    "{\"path\":\"/tmp/a \\\"b\\\"\\n\\udcff\",\"mode\":420}",
	    "{\"n\":-0.5,\"big\":12345678901234567890,\"e\":1e300,\"z\":0,\"f\":0.1}",
	    "{\"nested\":{\"a\":[1,2,{\"b\":null}],\"t\":true},\"s\":\"\\u00e9\"}",
	    "[]",
	    "\"a string\"",
	};
	fb_begin(&f, "host:exact", T0, "[\"file\",\"metric\"]");
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		char key[20];
		snprintf(key, sizeof(key), "k%zu", i);
		fb_rec(&f, "file", key, vals[i]);
	}
	/* metric records come back as written too, though kept as series */
	const char *mem = "{\"total_kb\":16000000,\"used_pct\":41.25,\"load\":-3,\"x\":1.5e-7,"
	                  "\"interval_s\":1,\"name\":\"mem\"}";
	fb_rec(&f, "metric", "memory", mem);
	fb_rec(&f, "metric", "disk:/var/lib", "{\"used_pct\":99.9,\"mountpoint\":\"/var/lib\"}");
	fb_put(s, &f);
	struct buf b = BUF_INIT;
	assert_int_equal(store_frame_json(s, "host:exact", 0, NULL, &b), 0);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		assert_non_null(strstr(b.data, vals[i]));
	assert_non_null(strstr(b.data, mem));
	assert_non_null(strstr(b.data, "{\"used_pct\":99.9,\"mountpoint\":\"/var/lib\"}"));
	buf_free(&b);
	store_close(s);
}

static void test_frames_atomic(void **state)
{
	struct store *s = open_rw();
	struct fb f;
	frame_os_pkg(&f, "host:atomic", T0, "1.0");
	fb_put(s, &f);
	int64_t frames = stat_of(s, "frames"), records = stat_of(s, "records");
	static const char *const bad[] = {
	    "",
	    "not json\n",
	    /* no header first */
	    "{\"system\":\"host:atomic\",\"feature\":\"os\",\"key\":\"k\",\"value\":{}}\n",
	    /* a header with a bad time */
	    "{\"system\":\"host:atomic\",\"time\":\"yesterday\",\"feature\":\"frame\",\"key\":"
	    "\"host:atomic\",\"value\":{}}\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(store_put_frame(s, bad[i], strlen(bad[i]), NULL), -EINVAL);
	/* good lines, then a broken one: nothing of the frame is kept */
	frame_os_pkg(&f, "host:atomic", T0 + MIN, "2.0");
	buf_adds(&f.b,
	         "{\"system\":\"host:atomic\",\"feature\":\"package\",\"key\":\"x\",\"value\":{\n");
	assert_int_equal(store_put_frame(s, f.b.data, f.b.len, NULL), -EINVAL);
	assert_non_null(strstr(store_errmsg(s), "line 5"));
	buf_free(&f.b);
	/* a record of another system */
	frame_os_pkg(&f, "host:atomic", T0 + MIN, "2.0");
	buf_adds(&f.b, "{\"system\":\"host:other\",\"feature\":\"package\",\"key\":\"x\","
	               "\"value\":{}}\n");
	assert_int_equal(store_put_frame(s, f.b.data, f.b.len, NULL), -EINVAL);
	buf_free(&f.b);
	assert_int_equal(stat_of(s, "frames"), frames);
	assert_int_equal(stat_of(s, "records"), records);
	json_t *j = frame_at(s, "host:atomic", 0, NULL, 0);
	expect_record(j, "package", "openssl", "{\"name\":\"openssl\",\"version\":\"1.0\"}");
	json_decref(j);
	frame_at(s, "host:other", 0, NULL, -ENOENT);
	/* and the store goes on */
	frame_os_pkg(&f, "host:atomic", T0 + MIN, "2.0");
	fb_put(s, &f);
	assert_int_equal(stat_of(s, "frames"), frames + 1);
	store_close(s);
}

static void test_deduplication(void **state)
{
	struct store *s = open_rw();
	int64_t r0 = stat_of(s, "records");
	struct fb f;
	frame_os_pkg(&f, "host:dedup", T0, "1.0");
	fb_put(s, &f);
	int64_t r1 = stat_of(s, "records");
	assert_true(r1 > r0);
	assert_true(r1 - r0 <= 4); /* header, os, two packages */
	/* 60 frames of an unchanged system: no new record */
	for (int i = 1; i <= 60; i++) {
		frame_os_pkg(&f, "host:dedup", T0 + i * MIN, "1.0");
		fb_put(s, &f);
	}
	assert_int_equal(stat_of(s, "records"), r1);
	/* one record changed: one more */
	frame_os_pkg(&f, "host:dedup", T0 + 61 * MIN, "1.1");
	fb_put(s, &f);
	assert_int_equal(stat_of(s, "records"), r1 + 1);
	/* another system with the same records shares them */
	frame_os_pkg(&f, "host:dedup2", T0 + 61 * MIN, "1.1");
	fb_put(s, &f);
	assert_true(stat_of(s, "records") <= r1 + 2); /* its own header at most */
	/* the same records after a reopen (no cache to help) */
	store_close(s);
	s = open_rw();
	int64_t r2 = stat_of(s, "records");
	frame_os_pkg(&f, "host:dedup", T0 + 62 * MIN, "1.1");
	fb_put(s, &f);
	assert_int_equal(stat_of(s, "records"), r2);
	json_t *j = frame_at(s, "host:dedup", T0 + 30 * MIN, NULL, 0);
	expect_record(j, "package", "openssl", "{\"name\":\"openssl\",\"version\":\"1.0\"}");
	json_decref(j);
	store_close(s);
}

/* ---- series ---------------------------------------------------------------- */

static void put_two_minutes(struct store *s, const char *sid)
{
	for (int i = 0; i < 10; i++)
		put_metric(s, sid, T0 + i * 6000, i + 1);
	for (int i = 0; i < 10; i++)
		put_metric(s, sid, T0 + MIN + i * 6000, (i + 1) * 10);
}

static void test_series_and_rollups(void **state)
{
	struct store *s = open_rw();
	const char *sid = "host:series", *m = "memory.used_pct";
	put_two_minutes(s, sid);
	/* names: numeric fields only, interval_s left out */
	struct buf b = BUF_INIT;
	assert_int_equal(store_metric_names_json(s, sid, &b), 0);
	json_t *j = parse(&b);
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(json_string_value(json_array_get(j, 0)), "memory.total_kb");
	assert_string_equal(json_string_value(json_array_get(j, 1)), "memory.used_pct");
	json_decref(j);
	buf_free(&b);
	/* raw: every stat */
	static const struct {
		const char *stat, *points;
	} raw[] = {
	    {"avg", "[[\"2023-11-14T22:00:00.000Z\",5.5],[\"2023-11-14T22:01:00.000Z\",55]]"},
	    {"min", "[[\"2023-11-14T22:00:00.000Z\",1],[\"2023-11-14T22:01:00.000Z\",10]]"},
	    {"max", "[[\"2023-11-14T22:00:00.000Z\",10],[\"2023-11-14T22:01:00.000Z\",100]]"},
	    {"sum", "[[\"2023-11-14T22:00:00.000Z\",55],[\"2023-11-14T22:01:00.000Z\",550]]"},
	    {"count", "[[\"2023-11-14T22:00:00.000Z\",10],[\"2023-11-14T22:01:00.000Z\",10]]"},
	    {"p50", "[[\"2023-11-14T22:00:00.000Z\",5],[\"2023-11-14T22:01:00.000Z\",50]]"},
	    {"p90", "[[\"2023-11-14T22:00:00.000Z\",9],[\"2023-11-14T22:01:00.000Z\",90]]"},
	    {"p99", "[[\"2023-11-14T22:00:00.000Z\",10],[\"2023-11-14T22:01:00.000Z\",100]]"},
	};
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		expect_series(s, sid, m, T0, T0 + 2 * MIN, MIN, raw[i].stat, NULL, raw[i].points);
	expect_series(s, sid, m, T0 + 6000, T0 + 12000, 6000, "avg", "raw",
	              "[[\"2023-11-14T22:00:06.000Z\",2],[\"2023-11-14T22:00:12.000Z\",3]]");
	/* errors */
	b = (struct buf)BUF_INIT;
	assert_int_equal(store_series_json(s, sid, m, T0, T0 + MIN, MIN, "median", &b), -EINVAL);
	assert_int_equal(store_series_json(s, sid, m, T0 + MIN, T0, MIN, "avg", &b), -EINVAL);
	assert_int_equal(store_series_json(s, sid, "no.such", T0, T0 + MIN, MIN, "avg", &b),
	                 -ENOENT);
	assert_int_equal(store_series_json(s, "host:nope", m, T0, T0 + MIN, MIN, "avg", &b),
	                 -ENOENT);
	assert_int_equal(b.len, 0);
	/* roll-ups: nothing complete at +30 s, both minutes at +2 min */
	assert_int_equal(store_maintain(s, T0 + 30000), 0);
	assert_int_equal(stat_of(s, "points_1m"), 0);
	assert_int_equal(store_maintain(s, T0 + 2 * MIN + 1), 0);
	assert_int_equal(stat_of(s, "points_1m"), 4); /* 2 series x 2 minutes */
	expect_series(s, sid, m, T0, T0 + 2 * MIN, MIN, "p90", "1m",
	              "[[\"2023-11-14T22:00:00.000Z\",9],[\"2023-11-14T22:01:00.000Z\",90]]");
	/* a late point into a rolled minute is rolled again */
	put_metric(s, sid, T0 + 59000, 1000);
	assert_int_equal(store_maintain(s, T0 + 3 * MIN), 0);
	expect_series(s, sid, m, T0, T0 + 2 * MIN, MIN, "max", "1m",
	              "[[\"2023-11-14T22:00:00.000Z\",1000],[\"2023-11-14T22:01:00.000Z\",100]]");
	/* the hour */
	assert_int_equal(store_maintain(s, T0 + HOUR + MIN), 0);
	assert_int_equal(stat_of(s, "points_1h"), 2);
	expect_series(s, sid, m, T0, T0 + 2 * MIN, HOUR, "count", "1h",
	              "[[\"2023-11-14T22:00:00.000Z\",21]]");
	expect_series(s, sid, m, T0, T0 + 2 * MIN, HOUR, "sum", "1h",
	              "[[\"2023-11-14T22:00:00.000Z\",1605]]");
	/* labels: one series per mount point, or the one a matcher picks */
	struct fb f;
	fb_begin(&f, sid, T0 + 2 * HOUR, "[\"metric\"]");
	fb_rec(&f, "metric", "disk:/", "{\"used_pct\":10}");
	fb_rec(&f, "metric", "disk:/boot", "{\"used_pct\":20}");
	fb_rec(&f, "metric", "cpu3", "{\"busy_pct\":7}");
	fb_put(s, &f);
	assert_int_equal(store_series_json(s, sid, "disk.used_pct", T0 + 2 * HOUR, T0 + 2 * HOUR,
	                                   1000, "max", &b),
	                 0);
	j = parse(&b);
	json_t *series = json_object_get(j, "series");
	assert_int_equal(json_array_size(series), 2);
	json_decref(j);
	buf_free(&b);
	expect_series(s, sid, "disk.used_pct{mountpoint=\"/boot\"}", T0 + 2 * HOUR, T0 + 2 * HOUR,
	              1000, "max", "raw", "[[\"2023-11-15T00:00:00.000Z\",20]]");
	store_close(s);
}

static void test_retention(void **state)
{
	struct store *s = open_rw();
	const char *sid = "host:ret";
	/* a frame every 10 minutes for 3 hours; processes change, packages do not */
	for (int i = 0; i < 18; i++) {
		struct fb f;
		char v[100];
		fb_begin(&f, sid, T0 + i * 10 * MIN, "[\"process\",\"package\",\"metric\"]");
		snprintf(v, sizeof(v), "{\"cpu_s\":%d}", i);
		fb_rec(&f, "process", "1", v);
		fb_rec(&f, "package", "zlib", "{\"version\":\"1\"}");
		snprintf(v, sizeof(v), "{\"used_pct\":%d}", i);
		fb_rec(&f, "metric", "memory", v);
		fb_put(s, &f);
	}
	int64_t last = T0 + 17 * 10 * MIN;
	assert_int_equal(store_maintain(s, last + MIN), 0);
	assert_int_equal(stat_of(s, "points"), 18);
	assert_int_equal(stat_of(s, "points_1m"), 18);
	assert_int_equal(stat_of(s, "points_1h"), 2);
	assert_int_equal(stat_of(s, "frames"), 18);
	int64_t records = stat_of(s, "records");
	/* a day later: raw points gone, frames thinned to one an hour */
	assert_int_equal(store_maintain(s, last + DAY + HOUR), 0);
	assert_int_equal(stat_of(s, "points"), 0);
	assert_int_equal(stat_of(s, "points_1m"), 18);
	assert_int_equal(stat_of(s, "frames"), 3);
	assert_true(stat_of(s, "records") < records); /* garbage collected */
	/* kept frames read back; metric values from the minute roll-up */
	json_t *j = frame_at(s, sid, T0 + 55 * MIN, NULL, 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "frame"), "time")),
	                    "2023-11-14T22:50:00.000Z");
	expect_record(j, "process", "1", "{\"cpu_s\":5}");
	expect_record(j, "package", "zlib", "{\"version\":\"1\"}");
	expect_record(j, "metric", "memory", "{\"used_pct\":5}");
	json_decref(j);
	expect_series(s, sid, "memory.used_pct", T0, T0 + 20 * MIN, 10 * 1000, "max", "1m",
	              "[[\"2023-11-14T22:00:00.000Z\",0],[\"2023-11-14T22:10:00.000Z\",1],"
	              "[\"2023-11-14T22:20:00.000Z\",2]]");
	/* 16 days: minutes gone, hours kept, a frame a day */
	assert_int_equal(store_maintain(s, last + 16 * DAY), 0);
	assert_int_equal(stat_of(s, "points_1m"), 0);
	assert_int_equal(stat_of(s, "points_1h"), 3);
	assert_int_equal(stat_of(s, "frames"), 2);
	expect_series(s, sid, "memory.used_pct", T0, last, MIN, "avg", "1h",
	              "[[\"2023-11-14T22:00:00.000Z\",2.5],[\"2023-11-14T23:00:00.000Z\",8.5],"
	              "[\"2023-11-15T00:00:00.000Z\",14.5]]");
	/* 16 months: hours gone, the system's last frame stays */
	assert_int_equal(store_maintain(s, last + 490 * DAY), 0);
	assert_int_equal(stat_of(s, "points_1h"), 0);
	assert_int_equal(stat_of(s, "frames"), 1);
	j = frame_at(s, sid, 0, NULL, 0);
	expect_record(j, "process", "1", "{\"cpu_s\":17}");
	expect_record(j, "metric", "memory", "{\"used_pct\":null}");
	json_decref(j);
	store_close(s);
}

static int collect_latest(void *ctx, const struct store_latest *p)
{
	struct buf *b = ctx;
	buf_printf(b, "%s %s %s %s %s %g %lld\n", p->system_id, p->name, p->kind, p->metric,
	           p->labels_json, p->value, (long long)p->time_ms);
	return 0;
}

static void test_latest_points(void **state)
{
	struct store *s = open_rw();
	put_metric(s, "host:late", T0, 1);
	put_metric(s, "host:late", T0 + MIN, 2);
	struct fb f;
	fb_begin(&f, "host:late", T0 + 2 * MIN, "[\"os\"]"); /* no metric in it */
	fb_rec(&f, "os", "linux", "{}");
	fb_put(s, &f);
	struct buf b = BUF_INIT;
	assert_int_equal(store_latest_points(s, collect_latest, &b), 0);
	assert_non_null(strstr(b.data, "host:late box host memory.used_pct {} 2 1699999260000\n"));
	assert_non_null(
	    strstr(b.data, "host:late box host memory.total_kb {} 1000 1699999260000\n"));
	assert_null(strstr(b.data, " 1699999200000\n"));
	buf_free(&b);
	store_close(s);
}

static json_t *system_of(struct store *s, const char *sid);

/* The clock set back an hour (docs/storage.md, the clock): the frames taken
 * before are an hour ahead of now.  Once a frame of the present comes, it
 * is the system's latest (its frame, its latest points, last_seen), not
 * the one "in the future"; asked at a time, the frames are what they are. */
static void test_clock_set_back(void **state)
{
	struct store *s = open_rw();
	int64_t now = now_ns() / 1000000, ahead = now + 60 * MIN;
	struct fb f;
	fb_begin(&f, "host:clock", ahead, "[\"os\",\"metric\"]");
	fb_rec(&f, "os", "linux", "{\"hostname\":\"before\"}");
	fb_rec(&f, "metric", "memory", "{\"total_kb\":1000,\"used_pct\":1,\"interval_s\":1}");
	fb_put(s, &f);
	fb_begin(&f, "host:clock", now - 1000, "[\"os\",\"metric\"]");
	fb_rec(&f, "os", "linux", "{\"hostname\":\"after\"}");
	fb_rec(&f, "metric", "memory", "{\"total_kb\":1000,\"used_pct\":2,\"interval_s\":1}");
	fb_put(s, &f);

	json_t *j = frame_at(s, "host:clock", 0, NULL, 0);
	expect_record(j, "os", "linux", "{\"hostname\":\"after\"}");
	json_decref(j);
	j = frame_at(s, "host:clock", ahead, NULL, 0); /* at a time: that frame */
	expect_record(j, "os", "linux", "{\"hostname\":\"before\"}");
	json_decref(j);

	struct buf b = BUF_INIT;
	assert_int_equal(store_latest_points(s, collect_latest, &b), 0);
	char want[200];
	snprintf(want, sizeof(want), "host:clock box host memory.used_pct {} 2 %lld\n",
	         (long long)(now - 1000));
	if (!strstr(b.data ? b.data : "", want))
		fprintf(stderr, "latest points:\n%s", b.data ? b.data : "");
	assert_non_null(strstr(b.data ? b.data : "", want));
	buf_free(&b);

	json_t *sys = system_of(s, "host:clock");
	char iso[40];
	format_time_utc((now - 1000) * 1000000, iso, sizeof(iso));
	const char *seen = json_string_value(json_object_get(sys, "last_seen"));
	if (!seen || strcmp(seen, iso) != 0)
		fprintf(stderr, "last_seen %s, want %s\n", seen ? seen : "(none)", iso);
	assert_true(seen && strcmp(seen, iso) == 0);
	json_decref(sys);
	store_close(s);
}

/* ---- systems --------------------------------------------------------------- */

static int64_t count_systems(struct store *s, const char *kind, int gone)
{
	struct store_system_filter flt = {.kind = kind, .gone = gone};
	struct buf b = BUF_INIT;
	assert_int_equal(store_systems_json(s, &flt, &b), 0);
	json_t *j = parse(&b);
	int64_t n = (int64_t)json_array_size(j);
	json_decref(j);
	buf_free(&b);
	return n;
}

static void test_gone_systems(void **state)
{
	struct store *s = open_rw();
	struct fb f;
	const char *ids[] = {"container:a", "container:b", "container:c"};
	for (int i = 0; i < 3; i++) {
		fb_begin_kind(&f, ids[i], T0, "container", "[\"os\"]");
		fb_rec(&f, "os", "linux", "{}");
		fb_put(s, &f);
	}
	fb_begin(&f, "host:h", T0, "[\"os\"]");
	fb_rec(&f, "os", "linux", "{}");
	fb_put(s, &f);
	assert_int_equal(count_systems(s, "container", -1), 3);
	/* a discovery pass that found only a */
	const char *present[] = {"container:a"};
	assert_int_equal(store_mark_gone(s, "container", NULL, present, 1, T0 + MIN), 0);
	assert_int_equal(count_systems(s, "container", 1), 2);
	assert_int_equal(count_systems(s, "container", 0), 1);
	assert_int_equal(count_systems(s, "host", 0), 1); /* other kinds untouched */
	struct buf b = BUF_INIT;
	struct store_system_filter flt = {.gone = 1};
	assert_int_equal(store_systems_json(s, &flt, &b), 0);
	json_t *j = parse(&b);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "id")),
	                    "container:b");
	assert_true(json_is_true(json_object_get(json_array_get(j, 0), "gone")));
	json_decref(j);
	buf_free(&b);
	/* gone systems keep their frames; one that comes back is present again */
	json_decref(frame_at(s, "container:b", 0, NULL, 0));
	const char *back[] = {"container:a", "container:b"};
	assert_int_equal(store_mark_gone(s, "container", NULL, back, 2, T0 + 2 * MIN), 0);
	assert_int_equal(count_systems(s, "container", 1), 1);
	fb_begin_kind(&f, "container:c", T0 + 3 * MIN, "container", "[\"os\"]");
	fb_rec(&f, "os", "linux", "{}");
	fb_put(s, &f);
	assert_int_equal(count_systems(s, "container", 1), 0);
	/* another host's pass marks none of this host's (their host is "box") */
	assert_int_equal(store_mark_gone(s, "container", "elsewhere", NULL, 0, T0 + 4 * MIN), 0);
	assert_int_equal(count_systems(s, "container", 1), 0);
	/* nothing present on box: all of box's gone */
	assert_int_equal(store_mark_gone(s, "container", "box", NULL, 0, T0 + 4 * MIN), 0);
	assert_int_equal(count_systems(s, "container", 0), 0);
	/* and on any host */
	assert_int_equal(store_mark_gone(s, "container", NULL, NULL, 0, T0 + 4 * MIN), 0);
	assert_int_equal(count_systems(s, "container", 0), 0);
	/* an unknown kind: none */
	assert_int_equal(count_systems(s, "nosuchkind", -1), 0);
	store_close(s);
}

/* ---- numeric reads (store_series_read) -------------------------------------- */

/* What a read gave: one line per series, "sid metric labels n" then the
 * points, and the series' identity once. */
struct got {
	struct buf text;
	int nseries;
	int64_t t[4096];
	double v[4096];
	size_t n;
	char sys_line[600];
	const char *only_labels; /* keep only the series of these labels */
};

static int collect_series(void *ctx, const struct store_series_data *d)
{
	struct got *g = ctx;
	if (g->only_labels && strcmp(d->labels, g->only_labels) != 0)
		return 0;
	g->nseries++;
	buf_printf(&g->text, "%s %s %s n=%zu\n", d->system_id, d->metric, d->labels, d->n);
	snprintf(g->sys_line, sizeof(g->sys_line), "%s|%s|%s|%s|%s|%s|%s|%d", d->system_id,
	         d->name ? d->name : "-", d->kind ? d->kind : "-", d->runtime ? d->runtime : "-",
	         d->image ? d->image : "-", d->host ? d->host : "-", d->system_labels, d->gone);
	for (size_t i = 0; i < d->n && g->n < 4096; i++) {
		if (i)
			assert_true(d->t[i] > d->t[i - 1]); /* ascending */
		g->t[g->n] = d->t[i];
		g->v[g->n++] = d->v[i];
	}
	return 0;
}

static int read_series(struct store *s, const struct store_series_query *q, struct got *g)
{
	const char *only = g->only_labels;
	memset(g, 0, sizeof(*g));
	g->only_labels = only;
	int r = store_series_read(s, q, collect_series, g);
	if (r < 0)
		fprintf(stderr, "series_read: %s\n", store_errmsg(s));
	return r;
}

/* store_series_read of one series equals store_series_json's points
 * (`labels`: of the series of metric `name` with these labels). */
static void expect_same_labels(struct store *s, const char *sid, const char *name,
                               const char *labels, int64_t from, int64_t to, int64_t step,
                               const char *stat);

static void expect_same(struct store *s, const char *sid, const char *metric, int64_t from,
                        int64_t to, int64_t step, const char *stat)
{
	expect_same_labels(s, sid, metric, NULL, from, to, step, stat);
}

static void expect_same_labels(struct store *s, const char *sid, const char *name,
                               const char *labels, int64_t from, int64_t to, int64_t step,
                               const char *stat)
{
	char metric[200];
	if (labels) { /* {"mountpoint":"/boot"} -> name{mountpoint="/boot"} */
		json_error_t e;
		json_t *l = json_loads(labels, 0, &e);
		const char *k;
		json_t *v;
		size_t n = (size_t)snprintf(metric, sizeof(metric), "%s{", name);
		json_object_foreach(l, k, v)
		{
			n += (size_t)snprintf(metric + n, sizeof(metric) - n, "%s=\"%s\",", k,
			                      json_string_value(v));
		}
		metric[n - 1] = '}';
		json_decref(l);
	} else {
		snprintf(metric, sizeof(metric), "%s", name);
	}
	struct buf b = BUF_INIT;
	assert_int_equal(store_series_json(s, sid, metric, from, to, step, stat, &b), 0);
	json_t *j = parse(&b);
	json_t *pts = json_object_get(j, "points");
	const char *ids[] = {sid};
	struct store_series_query q = {.metric = name,
	                               .system_ids = ids,
	                               .nsystems = 1,
	                               .from_ms = from,
	                               .to_ms = to,
	                               .step_ms = step,
	                               .stat = stat};
	static struct got g;
	g.only_labels = labels;
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.nseries, 1);
	if (g.n != json_array_size(pts))
		fprintf(stderr, "%s %s step %lld: %zu points, json %zu\n", metric, stat,
		        (long long)step, g.n, json_array_size(pts));
	assert_int_equal(g.n, json_array_size(pts));
	for (size_t i = 0; i < g.n; i++) {
		json_t *p = json_array_get(pts, i);
		int64_t ms = 0;
		const char *iso = json_string_value(json_array_get(p, 0));
		assert_int_equal(parse_time_iso(iso, strlen(iso), &ms), 0);
		assert_int_equal(g.t[i], ms);
		double want = json_number_value(json_array_get(p, 1));
		if (g.v[i] - want > 1e-6 || want - g.v[i] > 1e-6)
			fprintf(stderr, "%s %s at %s: %g, json %g\n", metric, stat, iso, g.v[i],
			        want);
		assert_true(g.v[i] - want <= 1e-6 && want - g.v[i] <= 1e-6);
	}
	json_decref(j);
	buf_free(&b);
	buf_free(&g.text);
}

static void test_series_read_as_json(void **state)
{
	struct store *s = open_rw();
	const char *sid = "host:num", *m = "memory.used_pct";
	static const char *const stats[] = {"avg",   "min", "max", "sum",
	                                    "count", "p50", "p90", "p99"};
	/* three hours of a point every 10 s, values going up and down */
	for (int i = 0; i < 3 * 360; i++)
		put_metric(s, sid, T0 + i * 10000LL, (double)((i * 37) % 101) / 4);
	int64_t last = T0 + (3 * 360 - 1) * 10000LL;
	static const int64_t steps[] = {10000, 30000, MIN, 5 * MIN, HOUR};
	for (int pass = 0; pass < 3; pass++) {
		/* raw only; then rolled up and compacted; then raw expired */
		if (pass == 1)
			assert_int_equal(store_maintain(s, last + 10000), 0);
		if (pass == 2)
			assert_int_equal(store_maintain(s, T0 + DAY + 2 * HOUR), 0);
		for (size_t i = 0; i < sizeof(stats) / sizeof(stats[0]); i++)
			for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
				expect_same(s, sid, m, T0, last, steps[k], stats[i]);
				expect_same(s, sid, m, T0 + 25 * MIN + 5000,
				            T0 + 2 * HOUR + 7 * MIN, steps[k], stats[i]);
			}
	}
	store_close(s);
}

static void test_series_read_points_and_percentiles(void **state)
{
	struct store *s = open_rw();
	const char *sid = "host:pct", *m = "memory.used_pct";
	/* 100 points in one hour bucket, values 1..100 out of order */
	for (int i = 0; i < 100; i++)
		put_metric(s, sid, T0 + i * 10000LL, (double)((i * 37) % 100 + 1));
	const char *ids[] = {sid};
	struct store_series_query q = {.metric = m,
	                               .system_ids = ids,
	                               .nsystems = 1,
	                               .from_ms = T0,
	                               .to_ms = T0 + HOUR - 1,
	                               .step_ms = HOUR};
	static struct got g;
	char stat[16];
	for (int nn = 1; nn <= 99; nn++) { /* exact nearest rank: pNN of 1..100 is NN */
		snprintf(stat, sizeof(stat), "p%d", nn);
		q.stat = stat;
		assert_int_equal(read_series(s, &q, &g), 0);
		assert_int_equal(g.n, 1);
		assert_int_equal(g.t[0], T0);
		assert_true(g.v[0] == nn);
		buf_free(&g.text);
	}
	static const char *const bad[] = {"p0", "p100", "p", "p5x", "median", "P50", "p07"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q.stat = bad[i];
		int r = read_series(s, &q, &g);
		if (strcmp(bad[i], "p07") == 0 && r == 0) { /* leading zero: p7 */
			buf_free(&g.text);
			continue;
		}
		assert_int_equal(r, -EINVAL);
		buf_free(&g.text);
	}
	/* step 0: the points as stored, oldest first */
	q.stat = NULL;
	q.step_ms = 0;
	q.to_ms = T0 + 49999;
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(g.t[i], T0 + i * 10000LL);
		assert_true(g.v[i] == (double)((i * 37) % 100 + 1));
	}
	buf_free(&g.text);
	/* default stat: avg */
	q.step_ms = 20000;
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.n, 3);
	assert_true(g.v[0] == (1.0 + 38.0) / 2);
	buf_free(&g.text);
	/* a minute step over roll-ups: p95 needs raw points, so it reads them
	 * while they are kept, and is refused once they are gone */
	int64_t last = T0 + 99 * 10000LL;
	assert_int_equal(store_maintain(s, last + MIN), 0);
	q.to_ms = last;
	q.from_ms = T0;
	q.step_ms = HOUR;
	q.stat = "p95";
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.n, 1);
	assert_true(g.v[0] == 95);
	assert_int_equal(g.nseries, 1);
	buf_free(&g.text);
	q.stat = "p90"; /* kept by roll-ups: read from them (as store_series_json) */
	assert_int_equal(read_series(s, &q, &g), 0);
	buf_free(&g.text);
	assert_int_equal(store_maintain(s, last + DAY + HOUR), 0);
	q.stat = "p95";
	assert_int_equal(read_series(s, &q, &g), -EINVAL);
	buf_free(&g.text);
	/* step 0 past raw retention: the minutes' averages at their minute */
	q.stat = NULL;
	q.step_ms = 0;
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.n, 17); /* 16 2/3 minutes */
	assert_int_equal(g.t[0], T0);
	assert_int_equal(g.t[1], T0 + MIN);
	double avg0 = 0;
	for (int i = 0; i < 6; i++)
		avg0 += (double)((i * 37) % 100 + 1);
	assert_true(g.v[0] - avg0 / 6 < 1e-9 && avg0 / 6 - g.v[0] < 1e-9);
	buf_free(&g.text);
	store_close(s);
}

static void put_disks(struct store *s, const char *sid, const char *kind, int64_t t, double v)
{
	struct fb f;
	char val[100];
	fb_begin_kind(&f, sid, t, kind, "[\"metric\"]");
	snprintf(val, sizeof(val), "{\"used_pct\":%g}", v);
	fb_rec(&f, "metric", "disk:/", val);
	snprintf(val, sizeof(val), "{\"used_pct\":%g}", v + 1);
	fb_rec(&f, "metric", "disk:/boot", val);
	snprintf(val, sizeof(val), "{\"used_pct\":%g,\"total_kb\":10}", v + 2);
	fb_rec(&f, "metric", "memory", val);
	fb_put(s, &f);
}

static void test_series_read_systems(void **state)
{
	struct store *s = open_rw();
	char sid[40];
	for (int k = 0; k < 20; k++) { /* 20 containers, a point every 10 s for 5 minutes */
		snprintf(sid, sizeof(sid), "container:c%02d", k);
		for (int i = 0; i < 30; i++)
			put_disks(s, sid, "container", T0 + i * 10000LL, k * 10 + i);
	}
	put_disks(s, "host:h", "host", T0 + 5000, 7);
	/* every system, one metric: 21 systems x 2 mount points, in id order */
	struct store_series_query q = {
	    .metric = "disk.used_pct", .from_ms = T0, .to_ms = T0 + 5 * MIN, .step_ms = MIN};
	static struct got g;
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.nseries, 42);
	assert_non_null(strstr(g.text.data,
	                       "container:c00 disk.used_pct {\"mountpoint\":\"/\"} n=5\n"
	                       "container:c00 disk.used_pct {\"mountpoint\":\"/boot\"}"));
	assert_non_null(strstr(g.text.data, "container:c19 disk.used_pct"));
	assert_non_null(
	    strstr(g.text.data, "host:h disk.used_pct {\"mountpoint\":\"/boot\"} n=1\n"));
	assert_string_equal(g.sys_line, "host:h|box|host|-|-|box|{}|0");
	buf_free(&g.text);
	/* the same values as the many reads of one system each */
	for (int k = 0; k < 20; k += 7) {
		snprintf(sid, sizeof(sid), "container:c%02d", k);
		expect_same_labels(s, sid, "disk.used_pct", "{\"mountpoint\":\"/boot\"}", T0,
		                   T0 + 5 * MIN, MIN, "max");
		expect_same_labels(s, sid, "disk.used_pct", "{\"mountpoint\":\"/\"}", T0,
		                   T0 + 5 * MIN, 10000, "p50");
	}
	/* a list of systems (an unknown one is no error), every metric */
	const char *two[] = {"container:c03", "host:nope", "container:c01", "container:c03"};
	q.system_ids = two;
	q.nsystems = 4;
	q.metric = NULL;
	q.step_ms = 0;
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.nseries, 8); /* 2 systems x (2 disks, memory.used_pct, total_kb) */
	assert_string_equal(g.text.data,
	                    "container:c01 disk.used_pct {\"mountpoint\":\"/\"} n=30\n"
	                    "container:c01 disk.used_pct {\"mountpoint\":\"/boot\"} n=30\n"
	                    "container:c01 memory.total_kb {} n=30\n"
	                    "container:c01 memory.used_pct {} n=30\n"
	                    "container:c03 disk.used_pct {\"mountpoint\":\"/\"} n=30\n"
	                    "container:c03 disk.used_pct {\"mountpoint\":\"/boot\"} n=30\n"
	                    "container:c03 memory.total_kb {} n=30\n"
	                    "container:c03 memory.used_pct {} n=30\n");
	assert_true(g.v[0] == 10 && g.v[29] == 39);
	buf_free(&g.text);
	/* gone systems: included, flagged; present_only leaves them out */
	const char *present[] = {"container:c01"};
	assert_int_equal(store_mark_gone(s, "container", NULL, present, 1, T0 + 6 * MIN), 0);
	q.metric = "memory.used_pct";
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.nseries, 2);
	assert_string_equal(g.sys_line, "container:c03|box|container|-|-|box|{}|1");
	buf_free(&g.text);
	q.present_only = true;
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.nseries, 1);
	assert_string_equal(g.text.data, "container:c01 memory.used_pct {} n=30\n");
	buf_free(&g.text);
	/* no_points: the series that have a point in the range, n = 0 */
	q.system_ids = NULL;
	q.present_only = false;
	q.no_points = true;
	q.metric = NULL;
	q.from_ms = T0 + 10 * MIN;
	q.to_ms = T0 + 20 * MIN;
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.nseries, 0);
	buf_free(&g.text);
	q.from_ms = T0;
	q.to_ms = T0 + 5000;
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.nseries, 21 * 4);
	assert_int_equal(g.n, 0);
	assert_null(strstr(g.text.data, " n=1"));
	buf_free(&g.text);
	/* a series with no point in the range is passed with n = 0 */
	q.no_points = false;
	q.from_ms = T0 + 10 * MIN;
	q.to_ms = T0 + 20 * MIN;
	q.metric = "memory.used_pct";
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.n, 0);
	buf_free(&g.text);
	/* nothing at all matches: 0 */
	q.metric = "no.such";
	assert_int_equal(read_series(s, &q, &g), 0);
	assert_int_equal(g.nseries, 0);
	buf_free(&g.text);
	/* a callback's non-zero return stops the read and is returned */
	store_close(s);
}

static int stop_at_first(void *ctx, const struct store_series_data *d)
{
	(*(int *)ctx)++;
	return 7;
}

static void test_series_read_stops(void **state)
{
	struct store *s = open_rw();
	put_disks(s, "host:a", "host", T0, 1);
	put_disks(s, "host:b", "host", T0, 2);
	int calls = 0;
	struct store_series_query q = {.from_ms = T0, .to_ms = T0 + MIN};
	assert_int_equal(store_series_read(s, &q, stop_at_first, &calls), 7);
	assert_int_equal(calls, 1);
	store_close(s);
}

/* ---- objects, events, gone reasons -------------------------------------------- */

static int collect_objects(void *ctx, const char *name, const char *json, int64_t updated)
{
	buf_printf(ctx, "%s=%s@%lld;", name, json, (long long)updated);
	return 0;
}

/* A write inside a read session, after another handle committed since its
 * snapshot, is stored (the alarm engine writes states while it reads). */
static void test_write_inside_read_session(void **state)
{
	struct store *s = open_rw();
	struct store *w = open_rw();
	put_disks(s, "host:h", "host", T0, 1);
	assert_int_equal(store_read_begin(s), 0);
	struct buf b = BUF_INIT;
	assert_int_equal(store_systems_json(s, NULL, &b), 0); /* the snapshot is taken */
	put_disks(w, "host:h", "host", T0 + 10000, 2);        /* another handle commits */
	assert_int_equal(store_object_put(s, "alarm_state", "x", "{\"state\":\"OK\"}", T0), 0);
	struct store_event ev = {.time_ms = T0, .kind = "alarm", .subject = "x", .type = "state"};
	int64_t id = 0;
	assert_int_equal(store_event_put(s, &ev, &id), 0);
	buf_reset(&b);
	assert_int_equal(store_systems_json(s, NULL, &b), 0); /* reads go on */
	store_read_end(s);
	buf_free(&b);
	store_close(w);
	store_close(s);
}

static void test_objects(void **state)
{
	struct store *s = open_rw();
	assert_int_equal(store_object_put(s, "alarm", "cpu-high", "{\"threshold\":80}", T0), 0);
	assert_int_equal(store_object_put(s, "alarm", "a-disk", "{\"threshold\":90}", T0 + 1), 0);
	assert_int_equal(store_object_put(s, "silence", "s1", "[1,2]", T0 + 2), 0);
	/* replace */
	assert_int_equal(store_object_put(s, "alarm", "cpu-high", " {\"threshold\":85} ", T0 + 3),
	                 0);
	struct buf b = BUF_INIT;
	assert_int_equal(store_objects(s, "alarm", collect_objects, &b), 0);
	assert_string_equal(b.data, "a-disk={\"threshold\":90}@1699999200001;"
	                            "cpu-high= {\"threshold\":85} @1699999200003;");
	/* invalid JSON is refused, the stored one kept */
	assert_int_equal(store_object_put(s, "alarm", "cpu-high", "{\"threshold\":", T0 + 4),
	                 -EINVAL);
	assert_int_equal(store_object_put(s, "alarm", "x", "", T0 + 4), -EINVAL);
	assert_int_equal(store_object_put(s, "alarm", "x", "{} {}", T0 + 4), -EINVAL);
	/* delete, then again: -ENOENT */
	assert_int_equal(store_object_delete(s, "alarm", "a-disk"), 0);
	assert_int_equal(store_object_delete(s, "alarm", "a-disk"), -ENOENT);
	assert_int_equal(store_object_delete(s, "nokind", "cpu-high"), -ENOENT);
	buf_reset(&b);
	assert_int_equal(store_objects(s, "alarm", collect_objects, &b), 0);
	assert_string_equal(b.data, "cpu-high= {\"threshold\":85} @1699999200003;");
	/* kept across a reopen, read-only too */
	store_close(s);
	assert_int_equal(store_open(url, STORE_RO, &s), 0);
	buf_reset(&b);
	assert_int_equal(store_objects(s, "silence", collect_objects, &b), 0);
	assert_string_equal(b.data, "s1=[1,2]@1699999200002;");
	assert_int_equal(store_object_put(s, "alarm", "y", "{}", T0), -EROFS);
	store_close(s);
	buf_free(&b);
}

static int collect_events(void *ctx, int64_t id, const struct store_event *e)
{
	buf_printf(ctx, "%lld %lld %s %s %s %s %s %s\n", (long long)id, (long long)e->time_ms,
	           e->kind, e->subject ? e->subject : "-", e->system ? e->system : "-",
	           e->type ? e->type : "-", e->summary ? e->summary : "-", e->data ? e->data : "-");
	return 0;
}

static void test_events(void **state)
{
	struct store *s = open_rw();
	int64_t ids[6];
	struct store_event e[6] = {
	    {T0, "alarm", "cpu", "host:a", "config", "created", "{\"threshold\":80}"},
	    {T0 + MIN, "alarm", "cpu", "host:a", "state", "OK -> ALARM", "{\"points\":[81,90]}"},
	    {T0 + MIN, "alarm", "cpu", "host:a", "action", "webhook 200", NULL},
	    {T0 + 2 * MIN, "alarm", "mem", NULL, "state", "OK -> ALARM", NULL},
	    {T0 + 15 * DAY, "alarm", "cpu", "host:b", "state", "ALARM -> OK", NULL},
	    {T0 + 15 * DAY, "other", "x", NULL, NULL, NULL, NULL},
	};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(store_event_put(s, &e[i], &ids[i]), 0);
		if (i)
			assert_true(ids[i] > ids[i - 1]);
	}
	struct store_event bad = {T0, "alarm", "cpu", NULL, "state", "x", "{nope"};
	assert_int_equal(store_event_put(s, &bad, NULL), -EINVAL);
	/* newest first; at equal times, the later one first */
	struct buf b = BUF_INIT, w = BUF_INIT;
	struct store_event_filter f = {.kind = "alarm", .subject = "cpu"};
	assert_int_equal(store_events(s, &f, collect_events, &b), 0);
	buf_printf(&w, "%lld 1701295200000 alarm cpu host:b state ALARM -> OK -\n",
	           (long long)ids[4]);
	buf_printf(&w, "%lld 1699999260000 alarm cpu host:a action webhook 200 -\n",
	           (long long)ids[2]);
	buf_printf(&w,
	           "%lld 1699999260000 alarm cpu host:a state OK -> ALARM {\"points\":[81,90]}\n",
	           (long long)ids[1]);
	buf_printf(&w, "%lld 1699999200000 alarm cpu host:a config created {\"threshold\":80}\n",
	           (long long)ids[0]);
	assert_string_equal(b.data, w.data);
	/* filters: type, system, time range, limit */
	struct store_event_filter f2 = {.type = "state"};
	buf_reset(&b);
	assert_int_equal(store_events(s, &f2, collect_events, &b), 0);
	assert_int_equal(count_lines(b.data), 3);
	struct store_event_filter f3 = {.system = "host:a", .limit = 2};
	buf_reset(&b);
	assert_int_equal(store_events(s, &f3, collect_events, &b), 0);
	assert_int_equal(count_lines(b.data), 2);
	assert_non_null(strstr(b.data, "webhook 200"));
	struct store_event_filter f4 = {.from_ms = T0 + MIN, .to_ms = T0 + 2 * MIN};
	buf_reset(&b);
	assert_int_equal(store_events(s, &f4, collect_events, &b), 0);
	assert_int_equal(count_lines(b.data), 3);
	buf_reset(&b);
	assert_int_equal(store_events(s, NULL, collect_events, &b), 0);
	assert_int_equal(count_lines(b.data), 6);
	/* 14 days of retention: store_maintain deletes the older ones */
	assert_int_equal(store_maintain(s, T0 + 14 * DAY + MIN + 1), 0);
	buf_reset(&b);
	assert_int_equal(store_events(s, NULL, collect_events, &b), 0);
	assert_int_equal(count_lines(b.data), 3);
	assert_null(strstr(b.data, "created"));
	assert_non_null(strstr(b.data, "mem"));
	/* ids keep ascending after a deletion */
	int64_t id;
	assert_int_equal(store_event_put(s, &e[0], &id), 0);
	assert_true(id > ids[5]);
	buf_free(&b);
	buf_free(&w);
	store_close(s);
}

static json_t *system_of(struct store *s, const char *sid)
{
	struct buf b = BUF_INIT;
	assert_int_equal(store_systems_json(s, NULL, &b), 0);
	json_t *all = parse(&b), *one = NULL, *x;
	size_t i;
	json_array_foreach(all, i, x)
	{
		if (strcmp(json_string_value(json_object_get(x, "id")), sid) == 0)
			one = json_incref(x);
	}
	json_decref(all);
	buf_free(&b);
	assert_non_null(one);
	return one;
}

static void test_gone_reason(void **state)
{
	struct store *s = open_rw();
	struct fb f;
	for (int i = 0; i < 2; i++) {
		fb_begin_kind(&f, i ? "container:b" : "container:a", T0, "container", "[\"os\"]");
		fb_rec(&f, "os", "linux", "{}");
		fb_put(s, &f);
	}
	const char *present[] = {"container:b"};
	assert_int_equal(store_mark_gone(s, "container", NULL, present, 1, T0 + MIN), 0);
	assert_int_equal(
	    store_gone_reason(s, "container:a",
	                      "{\"reason\":\"exited\",\"exit_code\":137,\"oom_killed\":true}",
	                      T0 + MIN + 5),
	    0);
	assert_int_equal(store_gone_reason(s, "container:nope", "{}", T0), -ENOENT);
	assert_int_equal(store_gone_reason(s, "container:a", "{bad", T0), -EINVAL);
	json_t *a = system_of(s, "container:a");
	assert_true(json_is_true(json_object_get(a, "gone")));
	assert_string_equal(json_string_value(json_object_get(a, "gone_at")),
	                    "2023-11-14T22:01:00.000Z");
	json_t *why = json_object_get(a, "gone_reason");
	assert_string_equal(json_string_value(json_object_get(why, "reason")), "exited");
	assert_int_equal(json_integer_value(json_object_get(why, "exit_code")), 137);
	assert_true(json_is_true(json_object_get(why, "oom_killed")));
	json_decref(a);
	/* a present system has neither */
	json_t *b = system_of(s, "container:b");
	assert_null(json_object_get(b, "gone_reason"));
	assert_null(json_object_get(b, "gone_at"));
	json_decref(b);
	/* back: the reason is forgotten; gone again without one: null */
	fb_begin_kind(&f, "container:a", T0 + 2 * MIN, "container", "[\"os\"]");
	fb_rec(&f, "os", "linux", "{}");
	fb_put(s, &f);
	a = system_of(s, "container:a");
	assert_true(json_is_false(json_object_get(a, "gone")));
	assert_null(json_object_get(a, "gone_reason"));
	json_decref(a);
	assert_int_equal(store_mark_gone(s, "container", NULL, present, 1, T0 + 3 * MIN), 0);
	a = system_of(s, "container:a");
	assert_true(json_is_null(json_object_get(a, "gone_reason")));
	assert_string_equal(json_string_value(json_object_get(a, "gone_at")),
	                    "2023-11-14T22:03:00.000Z");
	json_decref(a);
	store_close(s);
}

/* ---- reopening and crashes ------------------------------------------------- */

static void test_reopen(void **state)
{
	struct store *s = open_rw();
	struct fb f;
	frame_os_pkg(&f, "host:re", T0, "1.0");
	fb_put(s, &f);
	put_metric(s, "host:re", T0 + MIN, 42);
	struct buf before = BUF_INIT, after = BUF_INIT;
	assert_int_equal(store_frame_json(s, "host:re", 0, NULL, &before), 0);
	store_close(s);
	for (int mode = 0; mode < 2; mode++) {
		s = open_mode(mode == 0 ? STORE_RW : STORE_RO);
		buf_reset(&after);
		assert_int_equal(store_frame_json(s, "host:re", 0, NULL, &after), 0);
		assert_int_equal(after.len, before.len);
		assert_memory_equal(after.data, before.data, before.len);
		expect_series(s, "host:re", "memory.used_pct", T0, T0 + MIN, MIN, "max", NULL,
		              "[[\"2023-11-14T22:01:00.000Z\",42]]");
		assert_int_equal(stat_of(s, "frames"), 2);
		store_close(s);
	}
	/* two handles at once: a reader sees what the writer commits */
	s = open_rw();
	struct store *ro = open_mode(STORE_RO);
	put_metric(s, "host:re", T0 + 2 * MIN, 43);
	expect_series(ro, "host:re", "memory.used_pct", T0 + 2 * MIN, T0 + 2 * MIN, MIN, "max",
	              NULL, "[[\"2023-11-14T22:02:00.000Z\",43]]");
	store_close(ro);
	store_close(s);
	buf_free(&before);
	buf_free(&after);
}

static void test_kill9_mid_stream(void **state)
{
	/* create first, so the child only writes */
	store_close(open_rw());
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		struct store *s;
		if (store_open(url, STORE_RW, &s) < 0)
			_exit(1);
		for (int32_t i = 0;; i++) {
			struct fb f;
			fb_begin(&f, "host:k9", T0 + i * 1000LL, "[\"process\",\"metric\"]");
			for (int p = 0; p < 200; p++) {
				char key[20], v[100];
				snprintf(key, sizeof(key), "%d", p);
				snprintf(v, sizeof(v), "{\"pid\":%d,\"round\":%d}", p,
				         p % 10 == 0 ? i : 0);
				fb_rec(&f, "process", key, v);
			}
			char m[60];
			snprintf(m, sizeof(m), "{\"used_pct\":%d}", i);
			fb_rec(&f, "metric", "memory", m);
			if (store_put_frame(s, f.b.data, f.b.len, NULL) < 0)
				_exit(2);
			buf_free(&f.b);
			if (write(pfd[1], &i, sizeof(i)) != sizeof(i))
				_exit(3);
			if (i % 7 == 0)
				store_maintain(s, T0 + i * 1000LL);
		}
	}
	close(pfd[1]);
	int32_t last = -1, got;
	int64_t start = mono_ns();
	while (mono_ns() - start < 1000000000LL &&
	       read(pfd[0], &got, sizeof(got)) == (ssize_t)sizeof(got))
		last = got;
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFSIGNALED(st));
	/* reported in the pipe but not yet read: reported all the same */
	while (read(pfd[0], &got, sizeof(got)) == (ssize_t)sizeof(got))
		last = got;
	close(pfd[0]);
	fprintf(stderr, "# %d frames stored before kill -9\n", last + 1);
	assert_true(last >= 5);
	/* every frame reported is there, whole */
	struct store *s = open_rw();
	assert_true(stat_of(s, "frames") >= last + 1);
	for (int32_t i = last > 20 ? last - 20 : 0; i <= last; i++) {
		json_t *j = frame_at(s, "host:k9", T0 + i * 1000LL, NULL, 0);
		char want[60], iso[40];
		format_time_utc((T0 + i * 1000LL) * 1000000, iso, sizeof(iso));
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(j, "frame"), "time")), iso);
		snprintf(want, sizeof(want), "{\"pid\":0,\"round\":%d}", i);
		expect_record(j, "process", "0", want);
		snprintf(want, sizeof(want), "{\"used_pct\":%d}", i);
		expect_record(j, "metric", "memory", want);
		assert_int_equal(json_array_size(json_object_get(j, "records")), 201);
		json_decref(j);
	}
	/* and it takes frames again */
	put_metric(s, "host:k9", T0 + DAY, 1);
	store_close(s);
}

/* ---- consumer offsets ---------------------------------------------------------------- */

static int collect_offset(void *ctx, const struct store_offset *o)
{
	buf_printf(ctx, "%s/%d=%lld;", o->topic, (int)o->partition, (long long)o->offset);
	return 0;
}

static const char *offsets_of(struct store *s, const char *group, struct buf *b)
{
	buf_reset(b);
	assert_int_equal(store_offsets(s, group, collect_offset, b), 0);
	return buf_str(b);
}

/* Frames and a consumer group's positions in one transaction; a refused
 * frame does not keep the offsets (nor the other frames) from being stored. */
static void test_offsets(void **state)
{
	struct store *s = open_rw();
	struct buf b = BUF_INIT;
	assert_string_equal(offsets_of(s, "ingest", &b), "");
	struct fb f1, f2;
	fb_begin(&f1, "host:off", T0, "[\"os\"]");
	fb_rec(&f1, "os", "os", "{\"name\":\"x\"}");
	fb_begin(&f2, "host:off", T0 + MIN, "[\"os\"]");
	fb_rec(&f2, "os", "os", "{\"name\":\"y\"}");
	struct store_frame fr[3] = {
	    {.jsonl = f1.b.data, .len = f1.b.len},
	    {.jsonl = "not json\n", .len = 9},
	    {.jsonl = f2.b.data, .len = f2.b.len},
	};
	const struct store_offset o[] = {{"frames", 0, 17}, {"frames", 3, 5}};
	assert_int_equal(store_put_frames_at(s, fr, 3, "ingest", o, 2), 0);
	assert_int_equal(fr[0].err, 0);
	assert_int_equal(fr[1].err, -EINVAL);
	assert_int_equal(fr[2].err, 0);
	assert_int_equal(stat_of(s, "frames"), 2);
	assert_string_equal(offsets_of(s, "ingest", &b), "frames/0=17;frames/3=5;");
	assert_string_equal(offsets_of(s, "other", &b), "");
	/* the next batch moves one partition; no frames, offsets only */
	const struct store_offset o2[] = {{"frames", 3, 9}};
	assert_int_equal(store_put_frames_at(s, NULL, 0, "ingest", o2, 1), 0);
	assert_string_equal(offsets_of(s, "ingest", &b), "frames/0=17;frames/3=9;");
	assert_int_equal(store_put_frames_at(s, NULL, 0, "", o2, 1), -EINVAL);
	store_close(s);
	/* kept across handles, readable read-only */
	s = open_mode(STORE_RO);
	assert_string_equal(offsets_of(s, "ingest", &b), "frames/0=17;frames/3=9;");
	store_close(s);
	buf_free(&b);
	buf_free(&f1.b);
	buf_free(&f2.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_missing_store_and_modes, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_parent_directory_created, setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_files_refused, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_frames_at_a_time, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_read_session_and_frame_times, setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_records_exact, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_frames_atomic, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_deduplication, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_series_and_rollups, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_retention, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_latest_points, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_clock_set_back, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_gone_systems, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_series_read_as_json, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_series_read_points_and_percentiles, setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_series_read_systems, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_series_read_stops, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_objects, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_write_inside_read_session, setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_events, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_gone_reason, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_offsets, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_reopen, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_kill9_mid_stream, setup, tmpstore_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
