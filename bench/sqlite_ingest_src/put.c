/*
 * bench/sqlite_ingest_src/put.c - the store side of `vantage ingest`
 * (bench/sqlite-ingest builds and runs it against build/libvantage.a):
 * the frames of a JSON Lines file (a frame starts at each header line)
 * stored as ingest stores them: BATCH frames (fewer when they pass 64 MiB)
 * and a consumer position per store_put_frames_at() transaction.  The time counts the store calls
 * only (the file is read and split before): up to the last commit (as
 * bench/fleet's busy_s) and up to the store closed (its last WAL
 * checkpoint done).
 *
 *   put STORE FILE [BATCH]
 *
 * prints "frames=N records=N secs=S cpu=S sys=S records_per_s=R secs_close=S
 * cpu_close=S records_per_s_close=R"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/util.h"

static double sys_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: put STORE FILE [BATCH]\n");
		return 2;
	}
	int batch = argc > 3 ? atoi(argv[3]) : 500;
	struct buf b = BUF_INIT;
	if (read_file_at(-100, argv[2], &b, 1u << 31) < 0) {
		fprintf(stderr, "put: cannot read %s\n", argv[2]);
		return 1;
	}
	/* frames: from one header line to the next */
	struct store_frame *f = NULL;
	int n = 0;
	long nrec = 0;
	const char *p = b.data, *end = b.data + b.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl + 1 : end;
		if (memmem(p, (size_t)(le - p), "\"feature\":\"frame\"", 17)) {
			f = realloc(f, sizeof(*f) * (size_t)(n + 1));
			if (!f)
				return 1;
			f[n++] = (struct store_frame){.jsonl = p};
		} else {
			nrec++;
		}
		if (n)
			f[n - 1].len = (size_t)(le - f[n - 1].jsonl);
		p = le;
	}
	struct store *s;
	int r = store_open(argv[1], STORE_RW, &s);
	if (r < 0) {
		fprintf(stderr, "put: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	double t0 = now_s(), c0 = cpu_s(), s0 = sys_s();
	for (int i = 0, k; i < n; i += k) {
		/* as ingest: BATCH frames, or fewer past 64 MiB */
		size_t bytes = 0;
		for (k = 0; i + k < n && k < batch && bytes <= (64u << 20); k++)
			bytes += f[i + k].len;
		struct store_offset o = {.topic = "bench", .partition = 0, .offset = i + k};
		r = store_put_frames_at(s, f + i, k, "bench", &o, 1);
		for (int j = 0; r == 0 && j < k; j++)
			r = f[i + j].err;
		if (r < 0) {
			fprintf(stderr, "put: %s\n", store_errmsg(s));
			return 1;
		}
	}
	double secs = now_s() - t0, cpu = cpu_s() - c0, sys = sys_s() - s0;
	store_close(s);
	double secs_close = now_s() - t0, cpu_close = cpu_s() - c0;
	printf(
	    "frames=%d records=%ld secs=%.3f cpu=%.3f sys=%.3f records_per_s=%.0f secs_close=%.3f "
	    "cpu_close=%.3f records_per_s_close=%.0f\n",
	    n, nrec, secs, cpu, sys, (double)nrec / (secs > 0 ? secs : 1e-9), secs_close, cpu_close,
	    (double)nrec / (secs_close > 0 ? secs_close : 1e-9));
	free(f);
	buf_free(&b);
	return 0;
}
