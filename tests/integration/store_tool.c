/*
 * store_tool.c - a small driver of the store for tests/integration/store.sh
 * and bench/store-ingest (built by them against build/obj; not part of
 * vantage).
 *
 *   store_tool ingest DB FILE [REPEAT [STEP_MS [MODE]]]
 *       store the frames of FILE (JSON Lines, several frames allowed)
 *       REPEAT times, the frame times moved by STEP_MS each round; MODE
 *       "new" makes every record distinct in each round; "maintain" puts
 *       the file's frames one after the other, STEP_MS apart, and calls
 *       store_maintain every simulated minute.  Prints one line
 *       "frames=N records=N secs=S records_per_s=R bytes=B bytes_first=B1"
 *   store_tool loop DB FILE          store FILE's frames forever, printing
 *                                    each stored frame id (kill -9 test)
 *   store_tool sink DB FILE [N [new]]  N rounds through the store sink,
 *                                    printing "round R flush=ERR pending=P";
 *                                    with $STORE_TOOL_PAUSE_PENDING=P it
 *                                    stops itself (SIGSTOP) once P frames wait
 *   store_tool check DB              integrity_check + stats
 *   store_tool dbstat DB             bytes used by each table and index
 *   store_tool frames DB             ids of the stored frames, one a line
 *   store_tool systems DB | frame DB SID [FEATURE [AT_MS]] |
 *              series DB SID METRIC FROM_MS TO_MS STEP_MS STAT |
 *              names DB SID | latest DB | maintain DB NOW_MS
 *   store_tool offsets DB FILE GROUP TOPIC PART NEXT
 *       store FILE's frames and the group's offset in one transaction
 *       (store_put_frames_at); with FILE "-": print the group's offsets,
 *       "TOPIC PART NEXT" a line
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sinks/sinks.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/timefmt.h"
#include "util/util.h"

static int die(const char *what, int r, struct store *s)
{
	fprintf(stderr, "store_tool: %s: %s (%s)\n", what, store_errmsg(s), strerror(-r));
	return 1;
}

struct frames {
	char **p;
	size_t *n;
	int count;
};

/* Split a JSONL file into frames at each header line. */
static int load(const char *file, struct frames *f)
{
	struct buf b = BUF_INIT;
	if (read_file_at(-100, file, &b, 1u << 30) < 0)
		return -1;
	memset(f, 0, sizeof(*f));
	const char *p = b.data, *end = b.data + b.len, *start = NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl + 1 : end;
		if (memmem(p, (size_t)(le - p), "\"feature\":\"frame\"", 17)) {
			if (start) {
				f->p = realloc(f->p, sizeof(char *) * (f->count + 1));
				f->n = realloc(f->n, sizeof(size_t) * (f->count + 1));
				f->n[f->count] = (size_t)(p - start);
				f->p[f->count++] = strndup(start, (size_t)(p - start));
			}
			start = p;
		}
		p = le;
	}
	if (start) {
		f->p = realloc(f->p, sizeof(char *) * (f->count + 1));
		f->n = realloc(f->n, sizeof(size_t) * (f->count + 1));
		f->n[f->count] = (size_t)(end - start);
		f->p[f->count++] = strndup(start, (size_t)(end - start));
	}
	buf_free(&b);
	return f->count ? 0 : -1;
}

/* The frame with its time (every occurrence) moved by `shift` ms; with
 * `gen`, every record value gets a leading "gen" member. */
static void retime(const char *fr, size_t n, int64_t shift, long gen, struct buf *out)
{
	buf_reset(out);
	const char *t = strstr(fr, "\"time\":\"");
	if (!t) {
		buf_add(out, fr, n);
		return;
	}
	char old[32], neu[40];
	memcpy(old, t + 8, 24);
	old[24] = 0;
	bool ok;
	int64_t ms = 0;
	struct tm tm = {0};
	if (strptime(old, "%Y-%m-%dT%H:%M:%S", &tm))
		ms = (int64_t)timegm(&tm) * 1000 + atoi(old + 20);
	(void)ok;
	format_time_utc((ms + shift) * 1000000, neu, sizeof(neu));
	const char *p = fr, *end = fr + n;
	bool header = true;
	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), old, 24);
		const char *val =
		    gen && !header ? memmem(p, (size_t)(end - p), "\"value\":{", 9) : NULL;
		if (val && (!hit || val < hit)) {
			buf_add(out, p, (size_t)(val - p) + 9);
			buf_printf(out, "\"gen\":%ld%s", gen, val[9] == '}' ? "" : ",");
			p = val + 9;
			continue;
		}
		if (!hit) {
			buf_add(out, p, (size_t)(end - p));
			break;
		}
		buf_add(out, p, (size_t)(hit - p));
		buf_adds(out, neu);
		p = hit + 24;
		const char *nl = memchr(out->data, '\n', out->len);
		if (nl)
			header = false;
	}
}

static int64_t db_bytes(const char *path)
{
	sqlite3 *db;
	int64_t pages = 0, size = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db,
		                       "SELECT (SELECT page_count FROM pragma_page_count),"
		                       " (SELECT page_size FROM pragma_page_size)",
		                       -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW) {
				pages = sqlite3_column_int64(st, 0);
				size = sqlite3_column_int64(st, 1);
			}
			sqlite3_finalize(st);
		}
	}
	sqlite3_close(db);
	return pages * size;
}

static long count_records(const char *fr, size_t n)
{
	long c = -1; /* the header is not a record */
	for (size_t i = 0; i < n; i++)
		c += fr[i] == '\n';
	return c;
}

static int cmd_ingest(int argc, char **argv, bool forever)
{
	struct frames f;
	if (load(argv[3], &f) < 0) {
		fprintf(stderr, "store_tool: %s: no frames\n", argv[3]);
		return 1;
	}
	int repeat = argc > 4 ? atoi(argv[4]) : 1;
	int64_t step = argc > 5 ? atoll(argv[5]) : 60000;
	bool gen = argc > 6 && strcmp(argv[6], "new") == 0;
	bool maint = argc > 6 && strcmp(argv[6], "maintain") == 0;
	int64_t base = 0, last_maint = 0, maint_ns = 0, maint_max = 0;
	long nmaint = 0;
	const char *tp = strstr(f.p[0], "\"time\":\"");
	struct tm tm0 = {0};
	if (tp && strptime(tp + 8, "%Y-%m-%dT%H:%M:%S", &tm0))
		base = (int64_t)timegm(&tm0) * 1000;
	struct store *s;
	int r = store_open(argv[2], STORE_RW, &s);
	if (r < 0)
		return die("open", r, NULL);
	struct buf b = BUF_INIT;
	long nrec = 0, nfr = 0;
	int64_t bytes_first = 0;
	double secs = 0;
	for (int i = 0; forever || i < repeat; i++) {
		for (int k = 0; k < f.count; k++) {
			/* maintain mode: the file's frames follow one another */
			int64_t shift = maint ? ((int64_t)i * f.count + k) * step : i * step;
			retime(f.p[k], f.n[k], shift, gen ? i + 1 : 0, &b);
			int64_t t0 = mono_ns(), id;
			r = store_put_frame(s, b.data, b.len, &id);
			secs += (double)(mono_ns() - t0) / 1e9;
			if (r < 0)
				return die("put_frame", r, s);
			if (forever) {
				printf("%" PRId64 "\n", id);
				fflush(stdout);
			}
			nrec += count_records(b.data, b.len);
			nfr++;
			int64_t now = base + ((int64_t)i * f.count + k) * step;
			if (maint && now - last_maint >= 60000) {
				int64_t m0 = mono_ns();
				r = store_maintain(s, now);
				if (r < 0)
					return die("maintain", r, s);
				int64_t d = mono_ns() - m0;
				maint_ns += d;
				maint_max = d > maint_max ? d : maint_max;
				nmaint++;
				last_maint = now;
			}
		}
		if (i == 0)
			bytes_first = db_bytes(argv[2]);
	}
	store_close(s);
	printf("frames=%ld records=%ld secs=%.4f records_per_s=%.0f bytes=%" PRId64
	       " bytes_first=%" PRId64,
	       nfr, nrec, secs, nrec / (secs > 0 ? secs : 1e-9), db_bytes(argv[2]), bytes_first);
	if (nmaint)
		printf(" maintain_calls=%ld maintain_avg_ms=%.3f maintain_max_ms=%.3f", nmaint,
		       maint_ns / 1e6 / nmaint, maint_max / 1e6);
	printf("\n");
	buf_free(&b);
	return 0;
}

static int cmd_sink(int argc, char **argv)
{
	struct frames f;
	if (load(argv[3], &f) < 0)
		return 1;
	int rounds = argc > 4 ? atoi(argv[4]) : 1;
	bool gen = argc > 5 && strcmp(argv[5], "new") == 0;
	int pause_at =
	    getenv("STORE_TOOL_PAUSE_PENDING") ? atoi(getenv("STORE_TOOL_PAUSE_PENDING")) : 0;
	struct store *s;
	int r = store_open(argv[2], STORE_RW, &s);
	if (r < 0)
		return die("open", r, NULL);
	struct sink *k;
	sink_store_open(s, &k);
	struct buf b = BUF_INIT;
	for (int i = 0; i < rounds; i++) {
		for (int j = 0; j < f.count; j++) {
			retime(f.p[j], f.n[j], i * 1000, gen ? i + 1 : 0, &b);
			sink_write(k, b.data, b.len);
			r = sink_flush(k);
			printf("round %d flush=%d pending=%d\n", i, r, sink_store_pending(k));
			fflush(stdout);
		}
		if (pause_at && sink_store_pending(k) >= pause_at) {
			/* the test frees space, then sends SIGCONT */
			pause_at = 0;
			printf("paused\n");
			fflush(stdout);
			raise(SIGSTOP);
		}
	}
	r = sink_flush(k);
	printf("final flush=%d pending=%d\n", r, sink_store_pending(k));
	sink_close(k);
	store_close(s);
	buf_free(&b);
	return 0;
}

static int print_buf(int r, struct buf *b, struct store *s)
{
	if (r < 0)
		return die("query", r, s);
	printf("%s\n", buf_str(b));
	return 0;
}

static int latest_cb(void *ctx, const struct store_latest *p)
{
	(void)ctx;
	printf("%s %s %s %s %g\n", p->system_id, p->name ? p->name : "-", p->metric, p->labels_json,
	       p->value);
	return 0;
}

static int print_offset(void *ctx, const struct store_offset *o)
{
	printf("%s %d %lld\n", o->topic, (int)o->partition, (long long)o->offset);
	return 0;
}

static int cmd_offsets(int argc, char **argv)
{
	struct store *s;
	bool put = strcmp(argv[3], "-") != 0;
	int r = store_open(argv[2], put ? STORE_RW : STORE_RO, &s);
	if (r < 0)
		return die("open", r, NULL);
	if (!put) {
		r = store_offsets(s, argv[4], print_offset, NULL);
		store_close(s);
		return r < 0 ? 1 : 0;
	}
	struct frames f;
	if (argc < 8 || load(argv[3], &f) < 0) {
		store_close(s);
		return 2;
	}
	struct store_frame *fr = calloc((size_t)f.count, sizeof(*fr));
	for (int i = 0; fr && i < f.count; i++)
		fr[i] = (struct store_frame){.jsonl = f.p[i], .len = f.n[i]};
	struct store_offset o = {
	    .topic = argv[5], .partition = atoi(argv[6]), .offset = atoll(argv[7])};
	r = fr ? store_put_frames_at(s, fr, f.count, argv[4], &o, 1) : -ENOMEM;
	int rc = r < 0 ? die("put_frames_at", r, s) : 0;
	free(fr);
	store_close(s);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: see the top of store_tool.c\n");
		return 2;
	}
	const char *cmd = argv[1], *db = argv[2];
	if (strcmp(cmd, "ingest") == 0 && argc > 3)
		return cmd_ingest(argc, argv, false);
	if (strcmp(cmd, "loop") == 0 && argc > 3)
		return cmd_ingest(argc, argv, true);
	if (strcmp(cmd, "sink") == 0 && argc > 3)
		return cmd_sink(argc, argv);
	if (strcmp(cmd, "offsets") == 0 && argc > 4)
		return cmd_offsets(argc, argv);
	if (strcmp(cmd, "dbstat") == 0) {
		/* bytes used by each table and index: "name bytes" lines */
		sqlite3 *d;
		sqlite3_stmt *st;
		if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(d,
		                       "SELECT name, sum(pgsize - unused) FROM dbstat GROUP BY name"
		                       " ORDER BY 2 DESC",
		                       -1, &st, NULL) != SQLITE_OK)
			return 1;
		while (sqlite3_step(st) == SQLITE_ROW)
			printf("%s %lld\n", sqlite3_column_text(st, 0),
			       (long long)sqlite3_column_int64(st, 1));
		sqlite3_finalize(st);
		sqlite3_close(d);
		return 0;
	}
	if (strcmp(cmd, "frames") == 0 || strcmp(cmd, "check") == 0) {
		sqlite3 *d;
		sqlite3_stmt *st;
		if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
			return 1;
		const char *sql =
		    cmd[0] == 'f' ? "SELECT id FROM frames ORDER BY id" : "PRAGMA integrity_check";
		if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) != SQLITE_OK) {
			fprintf(stderr, "store_tool: %s\n", sqlite3_errmsg(d));
			return 1;
		}
		while (sqlite3_step(st) == SQLITE_ROW)
			printf("%s\n", sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		sqlite3_close(d);
		if (cmd[0] == 'f')
			return 0;
	}
	struct store *s;
	int r = store_open(
	    db, strcmp(cmd, "maintain") == 0 || strcmp(cmd, "check") == 0 ? STORE_RW : STORE_RO,
	    &s);
	if (r < 0) {
		fprintf(stderr, "store_tool: %s\n", store_errmsg(NULL));
		return 3;
	}
	struct buf b = BUF_INIT;
	int rc = 2;
	if (strcmp(cmd, "check") == 0)
		rc = print_buf(store_stats_json(s, &b), &b, s);
	else if (strcmp(cmd, "systems") == 0)
		rc = print_buf(store_systems_json(s, NULL, &b), &b, s);
	else if (strcmp(cmd, "frame") == 0 && argc > 3)
		rc = print_buf(store_frame_json(s, argv[3], argc > 5 ? atoll(argv[5]) : 0,
		                                argc > 4 && argv[4][0] ? argv[4] : NULL, &b),
		               &b, s);
	else if (strcmp(cmd, "series") == 0 && argc > 8)
		rc = print_buf(store_series_json(s, argv[3], argv[4], atoll(argv[5]),
		                                 atoll(argv[6]), atoll(argv[7]), argv[8], &b),
		               &b, s);
	else if (strcmp(cmd, "names") == 0 && argc > 3)
		rc = print_buf(store_metric_names_json(s, argv[3], &b), &b, s);
	else if (strcmp(cmd, "latest") == 0)
		rc = store_latest_points(s, latest_cb, NULL) < 0 ? 1 : 0;
	else if (strcmp(cmd, "maintain") == 0 && argc > 3)
		rc = (r = store_maintain(s, atoll(argv[3]))) < 0 ? die("maintain", r, s) : 0;
	buf_free(&b);
	store_close(s);
	return rc;
}
