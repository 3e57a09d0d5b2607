/*
 * Unit tests: the daemon's store sink (src/engine/locked_sink.c) says its
 * crawl errors in the log, on a real store file:
 *   - a frame with an error: one warning naming the system, the feature
 *     and its first message; the error is counted and the frame stored;
 *   - a message holding control bytes (a guest's file name with a newline)
 *     stays one line of the log: they are written as '?';
 *   - past CRAWL_LOG_MAX (10) lines in a minute the rest are not logged
 *     one by one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/locked_sink.h"
#include "engine/report.h"
#include "frame/frame.h"
#include "store/store.h"
#include "targets/system.h"
#include "tmpstore.h"
#include "util/log.h"

static int64_t errors_counted;

static void on_count(void *arg, enum engine_counter c, int64_t v)
{
	(void)arg;
	if (c == EC_CRAWL_ERRORS)
		errors_counted += v;
}

/* A frame of system `id` whose "file" feature has one record and `nerr`
 * errors, the first with message `msg`, through sink s. */
static void crawl(struct sink *s, const char *id, const char *msg, int nerr)
{
	struct system_id sys = {0};
	snprintf(sys.id, sizeof(sys.id), "%s", id);
	snprintf(sys.name, sizeof(sys.name), "%s", id + 10);
	snprintf(sys.kind, sizeof(sys.kind), "container");
	const char *feats[] = {"file"};
	struct frame *f = frame_begin(s, &sys, feats, 1, FRAME_JSON);
	assert_non_null(f);
	frame_feature_start(f, "file");
	rec_begin(f, "/etc/hostname");
	assert_int_equal(rec_end(f), 0);
	for (int i = 0; i < nerr; i++)
		frame_error(f, 13, "%s", i ? "another" : msg);
	frame_feature_end(f);
	assert_int_equal(frame_end(f), 0);
}

/* Runs fn with stderr going to a file; its text in out (malloc'd). */
static char *captured(void (*fn)(struct sink *), struct sink *s)
{
	char tmp[] = "/tmp/test_locked_sink.XXXXXX";
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	fn(s);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	off_t n = lseek(fd, 0, SEEK_END);
	char *txt = calloc(1, (size_t)n + 1);
	assert_int_equal(pread(fd, txt, (size_t)n, 0), n);
	close(fd);
	unlink(tmp);
	return txt;
}

static int count_lines(const char *txt, const char *needle)
{
	int n = 0;
	for (const char *l = txt; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		if (memmem(l, len, needle, strlen(needle)))
			n++;
		l = e ? e + 1 : NULL;
	}
	return n;
}

static void one_error(struct sink *s)
{
	crawl(s, "container:aaaa1111", "/etc/bad\nvantage: error: forged", 2);
}

static void twenty_errors(struct sink *s)
{
	for (int i = 0; i < 20; i++) {
		char id[64];
		snprintf(id, sizeof(id), "container:b%07d", i);
		crawl(s, id, "/etc/x: unreadable", 1);
	}
}

static void test_errors_logged(void **state)
{
	(void)state;
	struct store *st = tmpstore_open(STORE_RW);
	struct engine_report rep = {.count = on_count};
	struct store_share sh;
	store_share_init(&sh, st, path, &rep);
	struct sink *s;
	assert_int_equal(locked_sink_open(&sh, 0, &s), 0);
	errors_counted = 0;

	char *txt = captured(one_error, s);
	assert_int_equal(errors_counted, 2);
	/* one line, the system, the feature, the message with its newline as '?' */
	assert_int_equal(count_lines(txt, "crawl of "), 1);
	assert_non_null(strstr(txt, "vantage: warning: crawl of container:aaaa1111, file: "
	                            "/etc/bad?vantage: error: forged: Permission denied "
	                            "(and more in the frame's header)\n"));
	assert_null(strstr(txt, "\nvantage: error: forged"));
	free(txt);

	txt = captured(twenty_errors, s);
	assert_int_equal(errors_counted, 22);
	/* 10 lines a minute, the first frame's among them */
	assert_int_equal(count_lines(txt, "crawl of "), 9);
	assert_non_null(
	    strstr(txt, "container:b0000000, file: /etc/x: unreadable: Permission denied\n"));
	assert_null(strstr(txt, "container:b0000009"));
	free(txt);

	/* the frames were stored */
	struct buf j = BUF_INIT;
	struct store_system_filter f = {.gone = -1};
	assert_int_equal(store_systems_json(st, &f, &j), 0);
	assert_non_null(strstr(j.data, "container:aaaa1111"));
	assert_non_null(strstr(j.data, "container:b0000019"));
	buf_free(&j);
	bool free_it = true;
	assert_int_equal(store_share_close(&sh, &s, &free_it, 1), 0);
}

int main(void)
{
	log_threshold = LOG_WARN;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_errors_logged, tmpstore_setup, tmpstore_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
