/*
 * fuzz_logfmt.c - log lines, which a container's process or a guest
 * writes as it likes: the runtimes' framings (k8s-file/CRI/conmon, docker
 * json-file) and the message formats (JSON lines, syslog 5424/3164,
 * rsyslog, combined access logs, klog, nginx errors, level words) of
 * src/linux/logfmt.c, the escaping of stored lines, the severity names of
 * src/util/logsev.c, and the collector's whole path of one file
 * (src/engine/logtail_file.c: lines bounded, partial records joined,
 * multi-line records, cut markers) as `vantage serve` runs it.
 *
 * The first byte picks (fuzz_pick):
 *   0 k8s-file lines  1 docker json-file lines  2 message formats
 *   3 escaping (the next byte sets the output limit)  4 severity names
 *   5 a file through the collector: the next byte sets the framing
 *     (bits 0-1: plain, k8s, docker), a multi-line pattern (bit 2), a
 *     serial console (bit 3) and the line limit (bits 4-7)
 * Seeds in fuzz/corpus/logfmt/: real log files of this machine and of the
 * runtimes (see its README).
 */
#include "fuzz.h"

#include "engine/logtail_int.h"
#include "linux/logfmt.h"
#include "util/logsev.h"

#include <fcntl.h>
#include <stdint.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define NOW_MS 1796549633000LL /* 2026-12-06T09:33:53Z */
#define TZ_OFF 3600

static void check_rec(const struct logfmt_rec *r)
{
	CHECK(r->level >= -1 && r->level <= 7);
	CHECK(r->stream >= LOGFMT_NOSTREAM && r->stream <= LOGFMT_STDERR);
}

/* The stored form: valid UTF-8, no control byte but TAB (and the '\n'
 * that joins the lines of a multi-line record when `nl`). */
static void check_stored(const unsigned char *s, size_t n, bool nl)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c < 0x80) {
			CHECK(c >= 0x20 || c == '\t' || (nl && c == '\n'));
			CHECK(c != 0x7f);
			i++;
			continue;
		}
		size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		CHECK(c >= 0xc2 && c <= 0xf4 && i + k <= n);
		for (size_t j = 1; j < k; j++)
			CHECK((s[i + j] & 0xc0) == 0x80);
		uint32_t cp = k == 2 ? (c & 0x1fu) : k == 3 ? (c & 0x0fu) : (c & 0x07u);
		for (size_t j = 1; j < k; j++)
			cp = (cp << 6) | (s[i + j] & 0x3fu);
		CHECK(cp >= (k == 2 ? 0x80u : k == 3 ? 0x800u : 0x10000u));
		CHECK(cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff));
		i += k;
	}
}

static void message(const char *m, size_t n)
{
	struct logfmt_rec r = {.level = -1};
	const char *fmt = logfmt_message(m, n, NOW_MS, TZ_OFF, &r);
	CHECK(fmt != NULL);
	check_rec(&r);
	r = (struct logfmt_rec){.level = -1};
	(void)logfmt_json(m, n, &r);
	(void)logfmt_syslog(m, n, NOW_MS, -TZ_OFF, &r);
	(void)logfmt_combined(m, n, &r);
	(void)logfmt_klog(m, n, NOW_MS, 0, &r);
	check_rec(&r);
	int l = logfmt_level_word(m, n);
	CHECK(l >= -1 && l <= 7);
	l = logfmt_level_name(m, n < 16 ? n : 16);
	CHECK(l >= -1 && l <= 7);
}

/* Calls fn on each line of [s, s+n), each an exact-size heap copy. */
static void each_line(const char *s, size_t n, void (*fn)(const char *l, size_t ln, void *a),
                      void *a)
{
	const char *e = s + n;
	for (const char *p = s; p < e;) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t ln = nl ? (size_t)(nl - p) : (size_t)(e - p);
		char *l = malloc(ln ? ln : 1);
		if (!l)
			abort();
		memcpy(l, p, ln);
		fn(l, ln, a);
		free(l);
		p += ln + 1;
	}
}

static void k8s_line(const char *l, size_t n, void *a)
{
	struct logfmt_rec r = {.level = -1};
	if (logfmt_k8s(l, n, &r) == 0) {
		check_rec(&r);
		CHECK(r.msg >= l && r.len <= n && (size_t)(r.msg - l) <= n - r.len);
		message(r.msg, r.len);
	}
}

static void docker_line(const char *l, size_t n, void *a)
{
	struct buf *scratch = a;
	struct logfmt_rec r = {.level = -1};
	if (logfmt_docker(l, n, scratch, &r) == 0) {
		check_rec(&r);
		bool in_line = r.msg >= l && r.len <= n && (size_t)(r.msg - l) <= n - r.len;
		bool in_scratch = r.msg >= scratch->data && r.len <= scratch->len &&
		                  (size_t)(r.msg - scratch->data) <= scratch->len - r.len;
		CHECK(in_line || in_scratch || r.len == 0);
		message(r.msg, r.len);
	}
}

static void message_line(const char *l, size_t n, void *a)
{
	message(l, n);
}

static void escape(const uint8_t *data, size_t size)
{
	size_t max = size ? data[0] * 4u : 0;
	if (size) {
		data++;
		size--;
	}
	struct buf out = {0};
	size_t used = logfmt_escape(&out, (const char *)data, size, max);
	CHECK(used <= size && out.len <= max);
	CHECK(used == size || out.len + 4 > max); /* cut only when full */
	check_stored((const unsigned char *)out.data, out.len, false);
	char mark[LOGFMT_CUT_MARK_MAX];
	size_t ml =
	    logfmt_cut_mark(mark, sizeof(mark), (uint64_t)(size - used) + (UINT64_C(1) << 40));
	CHECK(ml < sizeof(mark));
	buf_free(&out);
}

static void severity(const uint8_t *data, size_t size)
{
	char *s = fuzz_strdup(data, size);
	int l = logsev_parse(s);
	CHECK(l >= -1 && l <= 7);
	if (l >= 0) {
		const char *name = logsev_name(l);
		CHECK(name && logsev_parse(name) == l);
	} else {
		CHECK(logsev_name(l) == NULL);
	}
	free(s);
}

/* ---- one file through the collector ------------------------------------------ */

static regex_t ml_re;
static bool ml_ok;

/* A plain file without a multi-line pattern: one record per line, none
 * lost, none made up; each the line escaped, or cut with the marker. */
static void plain_lines(struct logtail *t, const char *in, size_t n, bool console)
{
	static const char mark_end[] = " bytes more]";
	const size_t me = sizeof(mark_end) - 1;
	size_t k = 0;
	for (const char *p = in, *e = in + n; p < e; k++) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t ln = nl ? (size_t)(nl - p) : (size_t)(e - p);
		CHECK(k < t->nlines);
		const struct batch_line *l = &t->lines[k];
		const char *got = t->arena.data + l->at;
		size_t m = ln;
		if (console && m <= t->max_line)
			while (m && p[m - 1] == '\r')
				m--;
		struct buf want = {0};
		size_t used = logfmt_escape(&want, p, m, SIZE_MAX);
		CHECK(used == m);
		if (ln <= t->max_line && want.len <= t->max_line)
			CHECK(l->len == want.len &&
			      (!l->len || memcmp(got, want.data, l->len) == 0));
		else
			CHECK(l->len >= me && memcmp(got + l->len - me, mark_end, me) == 0);
		buf_free(&want);
		p += ln + 1;
	}
	CHECK(k == t->nlines);
}

static void collector(const uint8_t *data, size_t size)
{
	unsigned cfg = size ? data[0] : 0;
	if (size) {
		data++;
		size--;
	}
	if (!ml_ok) {
		/* a record starts with a non-blank (a stack trace's lines are
		 * indented): the pattern of docs/logs.md's Java example */
		if (regcomp(&ml_re, "^[^ \t]", REG_EXTENDED | REG_NOSUB) != 0)
			abort();
		ml_ok = true;
	}
	const char *path = fuzz_file("log", data, size);
	if (!path)
		abort();

	struct logtail *t = calloc(1, sizeof(*t));
	struct lt_sys *sys = calloc(1, sizeof(*sys));
	struct lt_file *f = calloc(1, sizeof(*f));
	char *buf = malloc(READ_CHUNK);
	if (!t || !sys || !f || !buf)
		abort();
	t->cfg.batch_lines = 1 << 30;
	t->max_line = LOGFMT_MAX_LINE_MIN + 64 * (cfg >> 4);
	t->now_ms = NOW_MS;
	t->tz_off_s = TZ_OFF;
	sys->id = "host";
	f->sys = sys;
	f->src.type = cfg & 8 ? LOGSRC_CONSOLE : LOGSRC_FILE;
	f->src.frame = (cfg & 3) == 1 ? LOGFMT_K8S : (cfg & 3) == 2 ? LOGFMT_DOCKER : LOGFMT_PLAIN;
	strcpy(f->src.path, "/var/log/fuzz.log");
	strcpy(f->lsource, "/var/log/fuzz.log");
	f->ml = cfg & 4 ? &ml_re : NULL;
	f->wd = -1;
	f->cur = lt_cursor_find(t, sys->id, "file:/var/log/fuzz.log", true);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0 || f->cur < 0)
		abort();

	CHECK(lt_file_read(t, f, buf));
	lt_file_finish(t, f);
	CHECK(f->off == size && f->pend_off == size);
	if (f->src.frame == LOGFMT_PLAIN && !f->ml)
		plain_lines(t, (const char *)data, size, f->src.type == LOGSRC_CONSOLE);
	for (size_t i = 0; i < t->nlines; i++) {
		const struct batch_line *l = &t->lines[i];
		CHECK(l->at <= t->arena.len && l->len <= t->arena.len - l->at);
		CHECK(l->len <= t->max_line);
		CHECK(l->level >= -1 && l->level <= 7);
		check_stored((const unsigned char *)t->arena.data + l->at, l->len, f->ml != NULL);
	}

	close(f->fd);
	buf_free(&f->raw);
	buf_free(&f->part[0].b);
	buf_free(&f->part[1].b);
	buf_free(&f->rec);
	for (size_t i = 0; i < t->ncur; i++) {
		free(t->cur[i].sys);
		free(t->cur[i].key);
		free(t->cur[i].pos);
	}
	free(t->cur);
	free(t->lines);
	buf_free(&t->arena);
	buf_free(&t->scratch);
	buf_free(&t->esc);
	free(buf);
	free(f);
	free(sys);
	free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned k = fuzz_pick(&data, &size, 6);
	struct buf scratch = {0};
	switch (k) {
	case 0:
		each_line((const char *)data, size, k8s_line, NULL);
		break;
	case 1:
		each_line((const char *)data, size, docker_line, &scratch);
		break;
	case 2:
		each_line((const char *)data, size, message_line, NULL);
		break;
	case 3:
		escape(data, size);
		break;
	case 4:
		severity(data, size);
		break;
	case 5:
		collector(data, size);
		break;
	}
	buf_free(&scratch);
	return 0;
}
