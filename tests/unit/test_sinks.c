/* Unit tests: sinks opened by URL (each scheme, bad URLs and their
 * messages), frame boundaries (begin_frame/end_frame once per frame with
 * the frame's counts), the tee (one failing member does not stop the
 * others), the file sink into a real file and the store sink by URL. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "frame/frame.h"
#include "sinks/sinks.h"
#include "store/store.h"
#include "util/util.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/vantage-sinks-test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct system_id sys(void)
{
	struct system_id s = {0};
	strcpy(s.id, "host:abc");
	strcpy(s.name, "box");
	strcpy(s.kind, "host");
	strcpy(s.host, "box");
	return s;
}

static const char *const feats[] = {"alpha", "beta"};

/* Two records of alpha, one of beta; one error in alpha, one skip in beta,
 * one error outside any feature. */
static int write_frame(struct sink *s, enum frame_format fmt)
{
	struct system_id id = sys();
	struct frame *f = frame_begin(s, &id, feats, 2, fmt);
	assert_non_null(f);
	frame_feature_start(f, "alpha");
	jw_int(rec_begin(f, "k1"), "n", 1);
	rec_end(f);
	jw_int(rec_begin(f, "k2"), "n", 2);
	rec_end(f);
	frame_error(f, EIO, "bad item");
	frame_feature_end(f);
	frame_feature_start(f, "beta");
	jw_str(rec_begin(f, "k3"), "s", "x");
	rec_end(f);
	frame_skip(f, "skipped");
	frame_feature_end(f);
	frame_error(f, 0, "system-wide");
	return frame_end(f);
}

/* ---- a recording sink ---------------------------------------------------------- */

struct rec_sink {
	struct sink base;
	int begins, ends, flushes, closes, writes;
	int fail_begin, fail_write, fail_end; /* negative errno to return */
	bool in_frame;
	char sys_id[64], time[40];
	enum frame_format fmt;
	int nfeatures_begin;
	struct frame_summary sum; /* of the last end_frame (pointers cleared) */
	int nfeat;
	struct frame_feature_summary feat[4];
	char names[4][32];
	struct buf data;
	bool nested; /* begin_frame while in a frame, or write outside one */
};

static int rs_begin(struct sink *s, const struct frame_info *info)
{
	struct rec_sink *r = (struct rec_sink *)s;
	r->begins++;
	if (r->in_frame)
		r->nested = true;
	if (r->fail_begin)
		return r->fail_begin;
	r->in_frame = true;
	copy_str(r->sys_id, sizeof(r->sys_id), info->sys->id, strlen(info->sys->id));
	copy_str(r->time, sizeof(r->time), info->time, strlen(info->time));
	r->fmt = info->fmt;
	r->nfeatures_begin = info->nfeatures;
	return 0;
}

static int rs_write(struct sink *s, const void *data, size_t len)
{
	struct rec_sink *r = (struct rec_sink *)s;
	r->writes++;
	if (!r->in_frame)
		r->nested = true;
	if (r->fail_write)
		return r->fail_write;
	buf_add(&r->data, data, len);
	return 0;
}

static int rs_end(struct sink *s, const struct frame_summary *sum)
{
	struct rec_sink *r = (struct rec_sink *)s;
	r->ends++;
	if (!r->in_frame)
		r->nested = true;
	r->in_frame = false;
	r->sum = *sum;
	r->sum.sys = NULL;
	r->sum.time = NULL;
	r->sum.feature = NULL;
	r->nfeat = sum->nfeatures < 4 ? sum->nfeatures : 4;
	for (int i = 0; i < r->nfeat; i++) {
		r->feat[i] = sum->feature[i];
		copy_str(r->names[i], 32, sum->feature[i].name, strlen(sum->feature[i].name));
		r->feat[i].name = r->names[i];
	}
	return r->fail_end;
}

static int rs_flush(struct sink *s)
{
	((struct rec_sink *)s)->flushes++;
	return 0;
}

static void rs_close(struct sink *s)
{
	((struct rec_sink *)s)->closes++; /* the test owns the memory */
}

static const struct sink_ops rec_ops = {
    .name = "rec",
    .begin_frame = rs_begin,
    .write = rs_write,
    .end_frame = rs_end,
    .flush = rs_flush,
    .close = rs_close,
};

static void rec_init(struct rec_sink *r, const char *desc)
{
	memset(r, 0, sizeof(*r));
	r->base.ops = &rec_ops;
	copy_str(r->base.desc, sizeof(r->base.desc), desc, strlen(desc));
}

/* ---- URLs ----------------------------------------------------------------------- */

static void path_in_dir(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static void expect_open(const char *url, const struct sink_env *env, const char *ops,
                        const char *desc)
{
	struct sink *s = NULL;
	char err[512] = "";
	int r = sink_open(url, env, &s, err, sizeof(err));
	if (r != 0)
		fail_msg("sink_open(%s): %d %s", url, r, err);
	assert_non_null(s);
	assert_string_equal(s->ops->name, ops);
	if (desc)
		assert_string_equal(s->desc, desc);
	sink_close(s);
}

static void expect_fail(const char *url, const struct sink_env *env, int code,
                        const char *const *parts)
{
	struct sink *s = (struct sink *)1;
	char err[1024] = "";
	assert_int_equal(sink_open(url, env, &s, err, sizeof(err)), code);
	assert_null(s);
	for (; *parts; parts++)
		if (!strstr(err, *parts))
			fail_msg("sink_open(%s): \"%s\" does not say \"%s\"", url, err, *parts);
}

static void test_url_files(void **state)
{
	char p[256], url[300];
	struct stat st;
	expect_open("-", NULL, "file", "stdout");
	path_in_dir(p, sizeof(p), "plain.out");
	expect_open(p, NULL, "file", p);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	path_in_dir(p, sizeof(p), "f1.out");
	snprintf(url, sizeof(url), "file:%s", p);
	expect_open(url, NULL, "file", p);
	assert_int_equal(stat(p, &st), 0);
	path_in_dir(p, sizeof(p), "f2.out");
	snprintf(url, sizeof(url), "file://%s", p); /* file:///tmp/... */
	expect_open(url, NULL, "file", p);
	assert_int_equal(stat(p, &st), 0);
	/* a path with a ':' that is no scheme stays a path */
	path_in_dir(p, sizeof(p), "out:1.json");
	expect_open(p, NULL, "file", p);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(chdir(dir), 0);
	expect_open("rel:2.json", NULL, "file", "rel:2.json");
	assert_int_equal(stat("rel:2.json", &st), 0);
	expect_open("FILE:rel3.json", NULL, "file", "rel3.json");
	assert_int_equal(chdir("/"), 0);
}

static void test_url_stores(void **state)
{
	char p[256], url[300];
	path_in_dir(p, sizeof(p), "a.db");
	snprintf(url, sizeof(url), "sqlite:%s", p);
	char desc[300];
	snprintf(desc, sizeof(desc), "store %s", p);
	expect_open(url, NULL, "store", desc);
	snprintf(url, sizeof(url), "sqlite://%s", p);
	expect_open(url, NULL, "store", desc);
	path_in_dir(p, sizeof(p), "b.db");
	snprintf(url, sizeof(url), "store:%s", p);
	snprintf(desc, sizeof(desc), "store %s", p);
	expect_open(url, NULL, "store", desc);
	/* "store:" is the caller's store */
	struct store *st;
	assert_int_equal(store_open(p, STORE_RW, &st), 0);
	struct sink_env env = {.store = st, .store_path = p};
	expect_open("store:", &env, "store", desc);
	store_close(st);
}

static void test_url_errors(void **state)
{
	/* the kafka sink: its URL and options are checked at open */
	expect_fail("kafka://broker:9092", NULL, -EINVAL,
	            (const char *[]){"\"kafka://broker:9092\"", "no topic", NULL});
	expect_fail("kafka:///frames", NULL, -EINVAL, (const char *[]){"no broker", NULL});
	expect_fail("kafka://b:9092/frames?colour=blue", NULL, -EINVAL,
	            (const char *[]){"option \"colour=blue\" unknown", NULL});
	expect_fail("kafka://b:9092/frames?compression=rar", NULL, -EINVAL,
	            (const char *[]){"compression=rar", NULL});
	/* the http sink: its options are checked at open (a token is never echoed) */
	expect_fail(
	    "https://u:pw@example.com/in?k=1#colour=blue", NULL, -EINVAL,
	    (const char *[]){"\"https://example.com/in\"", "unknown option \"colour\"", NULL});
	expect_fail("http://h/x#batch_frames=0", NULL, -EINVAL,
	            (const char *[]){"option batch_frames: a bad value", NULL});
	expect_fail("sflow://h:6343?mtu=10", NULL, -EINVAL,
	            (const char *[]){"option mtu: a bad value", NULL});
	expect_fail("sflow://:6343", NULL, -EINVAL, (const char *[]){"no host", NULL});
	expect_fail("graphite://h:2003?colour=blue", NULL, -EINVAL,
	            (const char *[]){"\"graphite://h:2003\"", "unknown option \"colour\"", NULL});
	expect_fail("graphite://h:2003?template={kind}.{nom}.{metric}", NULL, -EINVAL,
	            (const char *[]){"unknown variable \"{nom}\"", NULL});
	expect_fail("graphite://h:2003?template={kind}.{name}", NULL, -EINVAL,
	            (const char *[]){"{metric} is missing", NULL});
	expect_fail("graphite://h:99999", NULL, -EINVAL, (const char *[]){"bad port", NULL});
	expect_fail("graphite://", NULL, -EINVAL, (const char *[]){"no host", NULL});
	expect_fail("http:///x", NULL, -EINVAL, (const char *[]){"no host", NULL});
	expect_fail("file:///tmp/x?keep=2", NULL, -EINVAL,
	            (const char *[]){"keep and compress need rotate_size or rotate_age", NULL});
	expect_fail("foo://x", NULL, -EINVAL,
	            (const char *[]){"sink \"foo://x\": unknown scheme \"foo\"", "file:PATH",
	                             "kafka://BROKER[,BROKER...]/TOPIC,", "graphite://HOST:PORT,",
	                             "sflow://HOST:PORT)", NULL});
	expect_fail("", NULL, -EINVAL, (const char *[]){"empty", "file:PATH", NULL});
	expect_fail("file:", NULL, -EINVAL, (const char *[]){"\"file:\"", "no file named", NULL});
	expect_fail("sqlite:", NULL, -EINVAL, (const char *[]){"\"sqlite:\"", "no store", NULL});
	expect_fail("store:", NULL, -EINVAL,
	            (const char *[]){"\"store:\"", "no store is open here", NULL});
	expect_fail("/dev/null/x.out", NULL, -ENOTDIR,
	            (const char *[]){"\"/dev/null/x.out\"", "cannot open", NULL});
	expect_fail("file:/dev/null/x.out", NULL, -ENOTDIR,
	            (const char *[]){"\"file:/dev/null/x.out\"", "Not a directory", NULL});
	struct sink *s;
	char err[512] = "";
	assert_true(sink_open("sqlite:/dev/null/x.db", NULL, &s, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "\"sqlite:/dev/null/x.db\""));
	assert_non_null(strstr(sink_schemes(), "store:[PATH]"));
}

/* ---- frame boundaries ---------------------------------------------------------- */

static void test_boundaries(void **state)
{
	struct rec_sink r;
	rec_init(&r, "rec");
	assert_int_equal(write_frame(&r.base, FRAME_JSON), 0);
	assert_int_equal(r.begins, 1);
	assert_int_equal(r.ends, 1);
	assert_int_equal(r.flushes, 1);
	assert_false(r.nested);
	assert_string_equal(r.sys_id, "host:abc");
	assert_int_equal(r.fmt, FRAME_JSON);
	assert_int_equal(r.nfeatures_begin, 2);
	assert_int_equal(r.sum.records, 3);
	assert_int_equal(r.sum.errors, 2);
	assert_int_equal(r.sum.skipped, 1);
	assert_int_equal(r.sum.write_err, 0);
	assert_int_equal(r.sum.bytes, r.data.len);
	assert_int_equal(r.sum.fmt, FRAME_JSON);
	/* per feature, then "frame" for the error outside any feature */
	assert_int_equal(r.nfeat, 3);
	assert_string_equal(r.feat[0].name, "alpha");
	assert_int_equal(r.feat[0].records, 2);
	assert_int_equal(r.feat[0].errors, 1);
	assert_string_equal(r.feat[1].name, "beta");
	assert_int_equal(r.feat[1].records, 1);
	assert_int_equal(r.feat[1].skipped, 1);
	assert_string_equal(r.feat[2].name, "frame");
	assert_int_equal(r.feat[2].errors, 1);
	/* the summary agrees with the header the sink was handed */
	assert_non_null(strstr(r.data.data, "\"records\":3"));
	assert_non_null(strstr(r.data.data, "\"errors\":{\"alpha\":1,\"beta\":0,\"frame\":1}"));
	assert_non_null(strstr(r.data.data, r.time));
	/* a second frame, in the crawler's format */
	assert_int_equal(write_frame(&r.base, FRAME_CRAWLER), 0);
	assert_int_equal(r.begins, 2);
	assert_int_equal(r.ends, 2);
	assert_int_equal(r.flushes, 2);
	assert_int_equal(r.sum.fmt, FRAME_CRAWLER);
	assert_int_equal(r.sum.records, 3);
	assert_false(r.nested);
	buf_free(&r.data);
}

static void test_boundaries_failures(void **state)
{
	struct rec_sink r;
	rec_init(&r, "rec");
	/* begin_frame refuses: nothing more of the frame */
	r.fail_begin = -ECONNREFUSED;
	assert_int_equal(write_frame(&r.base, FRAME_JSON), -ECONNREFUSED);
	assert_int_equal(r.begins, 1);
	assert_int_equal(r.writes, 0);
	assert_int_equal(r.ends, 0);
	assert_int_equal(r.flushes, 0);
	/* a write fails: end_frame still comes, saying so */
	r.fail_begin = 0;
	r.fail_write = -EPIPE;
	assert_int_equal(write_frame(&r.base, FRAME_JSON), -EPIPE);
	assert_int_equal(r.ends, 1);
	assert_int_equal(r.sum.write_err, -EPIPE);
	assert_int_equal(r.sum.bytes, 0);
	/* end_frame fails: its error is the frame's */
	r.fail_write = 0;
	r.fail_end = -ENOSPC;
	assert_int_equal(write_frame(&r.base, FRAME_JSON), -ENOSPC);
	assert_int_equal(r.ends, 2);
	assert_false(r.nested);
	buf_free(&r.data);
}

/* ---- the tee ------------------------------------------------------------------- */

struct report {
	int n;
	char who[8][64];
	int err[8];
};

static void on_report(void *ctx, const struct sink *member, int err)
{
	struct report *rp = ctx;
	if (rp->n < 8) {
		copy_str(rp->who[rp->n], 64, member->desc, strlen(member->desc));
		rp->err[rp->n] = err;
	}
	rp->n++;
}

static void test_tee(void **state)
{
	struct rec_sink a, b, c, d;
	rec_init(&a, "a");
	rec_init(&b, "b");
	rec_init(&c, "c");
	rec_init(&d, "d");
	b.fail_write = -EPIPE;
	d.fail_begin = -ECONNREFUSED;
	struct report rp = {0};
	struct sink *t;
	assert_int_equal(sink_tee_open(0, on_report, &rp, &t), 0);
	assert_int_equal(sink_tee_add(t, &a.base, 0), 0);
	assert_int_equal(sink_tee_add(t, &b.base, 0), 0);
	assert_int_equal(sink_tee_add(t, &c.base, SINK_TEE_BORROW), 0);
	assert_int_equal(sink_tee_add(t, &d.base, 0), 0);
	assert_int_equal(sink_tee_count(t), 4);
	assert_string_equal(t->desc, "a + b + c + d");
	/* b and d fail; a and c get the whole frame */
	assert_int_equal(write_frame(t, FRAME_JSON), -EPIPE);
	for (struct rec_sink *x = &a; x; x = x == &a ? &c : NULL) {
		assert_int_equal(x->begins, 1);
		assert_int_equal(x->ends, 1);
		assert_int_equal(x->flushes, 1);
		assert_int_equal(x->sum.write_err, 0);
		assert_int_equal(x->sum.records, 3);
		assert_int_equal(x->sum.errors, 2);
		assert_int_equal(x->sum.bytes, x->data.len);
		assert_false(x->nested);
	}
	assert_int_equal(a.data.len, c.data.len);
	assert_memory_equal(a.data.data, c.data.data, a.data.len);
	assert_int_equal(b.writes, 1); /* nothing after the failed write */
	assert_int_equal(b.ends, 1);
	assert_int_equal(b.sum.write_err, -EPIPE);
	assert_int_equal(d.writes, 0);
	assert_int_equal(d.ends, 0);
	/* each failure reported once */
	assert_int_equal(rp.n, 2);
	assert_string_equal(rp.who[0], "d");
	assert_int_equal(rp.err[0], -ECONNREFUSED);
	assert_string_equal(rp.who[1], "b");
	assert_int_equal(rp.err[1], -EPIPE);
	/* still failing: not reported again; then b delivers again */
	assert_int_equal(write_frame(t, FRAME_JSON), -EPIPE);
	assert_int_equal(rp.n, 2);
	b.fail_write = 0;
	assert_int_equal(write_frame(t, FRAME_JSON), -ECONNREFUSED);
	assert_int_equal(rp.n, 3);
	assert_string_equal(rp.who[2], "b");
	assert_int_equal(rp.err[2], 0);
	assert_int_equal(b.sum.write_err, 0);
	assert_true(b.sum.bytes > 0);
	d.fail_begin = 0;
	assert_int_equal(write_frame(t, FRAME_JSON), 0);
	assert_int_equal(rp.n, 4);
	assert_int_equal(a.ends, 4);
	assert_int_equal(c.ends, 4);
	/* every member failing: the tee's writes fail too */
	a.fail_write = b.fail_write = c.fail_write = d.fail_write = -EIO;
	assert_int_equal(write_frame(t, FRAME_JSON), -EIO);
	assert_int_equal(a.ends, 5);
	assert_int_equal(a.sum.write_err, -EIO);
	sink_close(t);
	assert_int_equal(a.closes, 1);
	assert_int_equal(b.closes, 1);
	assert_int_equal(c.closes, 0); /* borrowed */
	assert_int_equal(d.closes, 1);
	buf_free(&a.data);
	buf_free(&b.data);
	buf_free(&c.data);
	buf_free(&d.data);
}

/* A locked tee shared by two per-lane tees, and a real file behind it. */
static void test_tee_locked_file(void **state)
{
	char p[256];
	path_in_dir(p, sizeof(p), "tee.out");
	struct sink *file, *shared, *lane1, *lane2;
	char err[512];
	assert_int_equal(sink_open(p, NULL, &file, err, sizeof(err)), 0);
	assert_int_equal(sink_tee_open(SINK_TEE_LOCKED, NULL, NULL, &shared), 0);
	assert_int_equal(sink_tee_add(shared, file, 0), 0);
	struct rec_sink r1, r2;
	rec_init(&r1, "lane1");
	rec_init(&r2, "lane2");
	assert_int_equal(sink_tee_open(0, NULL, NULL, &lane1), 0);
	assert_int_equal(sink_tee_add(lane1, &r1.base, 0), 0);
	assert_int_equal(sink_tee_add(lane1, shared, SINK_TEE_BORROW), 0);
	assert_int_equal(sink_tee_open(0, NULL, NULL, &lane2), 0);
	assert_int_equal(sink_tee_add(lane2, &r2.base, 0), 0);
	assert_int_equal(sink_tee_add(lane2, shared, SINK_TEE_BORROW), 0);
	assert_int_equal(write_frame(lane1, FRAME_JSON), 0);
	assert_int_equal(write_frame(lane2, FRAME_JSON), 0);
	sink_close(lane1);
	sink_close(lane2);
	sink_close(shared);
	struct buf b = BUF_INIT;
	assert_true(read_file_at(-100, p, &b, 1 << 20) >= 0);
	assert_int_equal(b.len, r1.data.len + r2.data.len);
	/* two frames of 4 lines each */
	int lines = 0;
	for (size_t i = 0; i < b.len; i++)
		lines += b.data[i] == '\n';
	assert_int_equal(lines, 8);
	buf_free(&b);
	buf_free(&r1.data);
	buf_free(&r2.data);
}

/* ---- real sinks ------------------------------------------------------------------ */

static void test_file_sink(void **state)
{
	char p[256], url[300];
	path_in_dir(p, sizeof(p), "frames.jsonl");
	snprintf(url, sizeof(url), "file:%s", p);
	struct sink *s;
	char err[512];
	assert_int_equal(sink_open(url, NULL, &s, err, sizeof(err)), 0);
	assert_int_equal(write_frame(s, FRAME_JSON), 0);
	assert_int_equal(write_frame(s, FRAME_JSON), 0);
	sink_close(s);
	struct buf b = BUF_INIT;
	assert_true(read_file_at(-100, p, &b, 1 << 20) >= 0);
	const char *l1 = b.data;
	assert_true(strncmp(l1, "{\"system\":\"host:abc\"", 20) == 0);
	assert_non_null(strstr(l1, "\"feature\":\"frame\""));
	const char *second = strstr(l1 + 1, "{\"system\":\"host:abc\",\"time\":");
	for (int i = 0; i < 3; i++) /* the header and three records, then frame 2 */
		second = strstr(second + 1, "{\"system\"");
	assert_non_null(second);
	assert_non_null(strstr(second, "\"feature\":\"frame\""));
	assert_null(strstr(strchr(second, '\n') + 1, "\"feature\":\"frame\""));
	buf_free(&b);
}

static void test_store_sink_url(void **state)
{
	char p[256], url[300];
	path_in_dir(p, sizeof(p), "frames.db");
	snprintf(url, sizeof(url), "sqlite:%s", p);
	struct sink *s;
	char err[512];
	assert_int_equal(sink_open(url, NULL, &s, err, sizeof(err)), 0);
	assert_int_equal(sink_store_last_id(s), 0);
	assert_int_equal(write_frame(s, FRAME_JSON), 0);
	int64_t id1 = sink_store_last_id(s);
	assert_true(id1 > 0);
	assert_int_equal(sink_flush(s), 0); /* nothing collected: nothing done */
	/* the store takes JSON frames only */
	assert_int_equal(write_frame(s, FRAME_CRAWLER), -EPROTONOSUPPORT);
	assert_int_equal(sink_store_last_id(s), id1);
	assert_int_equal(sink_store_pending(s), 0);
	/* through a tee, with a file beside it */
	struct sink *t, *f;
	char fp[256];
	path_in_dir(fp, sizeof(fp), "beside.out");
	assert_int_equal(sink_open(fp, NULL, &f, err, sizeof(err)), 0);
	assert_int_equal(sink_tee_open(0, NULL, NULL, &t), 0);
	assert_int_equal(sink_tee_add(t, s, 0), 0);
	assert_int_equal(sink_tee_add(t, f, 0), 0);
	assert_int_equal(write_frame(t, FRAME_JSON), 0);
	assert_true(sink_store_last_id(s) > id1);
	sink_close(t);
	struct store *st;
	assert_int_equal(store_open(p, STORE_RO, &st), 0);
	struct buf b = BUF_INIT;
	assert_int_equal(store_stats_json(st, &b), 0);
	assert_non_null(strstr(b.data, "\"frames\":2"));
	buf_free(&b);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_url_files),           cmocka_unit_test(test_url_stores),
	    cmocka_unit_test(test_url_errors),          cmocka_unit_test(test_boundaries),
	    cmocka_unit_test(test_boundaries_failures), cmocka_unit_test(test_tee),
	    cmocka_unit_test(test_tee_locked_file),     cmocka_unit_test(test_file_sink),
	    cmocka_unit_test(test_store_sink_url),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
