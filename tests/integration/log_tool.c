/*
 * log_tool.c - a small writer of log lines into the store for
 * tests/integration/logs_api.sh and the ingest figure of the log store
 * (not part of vantage; the collector writes lines in production).
 *
 *   log_tool put DB SYSTEM SOURCE
 *       store the lines of stdin as they come (a batch whenever stdin has
 *       nothing more to give, or 1000 lines), time now, level guessed from
 *       the words ERROR/WARN/INFO/DEBUG (else unknown); a line
 *       "@EPOCH_MS TEXT" is stored at that time; the cursor of (SYSTEM,
 *       SOURCE) is the count of lines read
 *   log_tool bench DB N
 *       store N generated lines of ~90 bytes in batches of 1000 and print
 *       "lines=N secs=S lines_per_s=R ratio=R/100000", then the time of a
 *       search for a rare word
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int guess_level(const char *s)
{
	if (strstr(s, "ERROR"))
		return 3;
	if (strstr(s, "WARN"))
		return 4;
	if (strstr(s, "INFO"))
		return 6;
	if (strstr(s, "DEBUG"))
		return 7;
	return -1;
}

enum { BATCH = 1000 };

static int put(struct store *s, const char *sys, const char *src)
{
	struct store_log l[BATCH];
	char *text[BATCH];
	size_t n = 0;
	long long total = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	for (;;) {
		struct pollfd p = {.fd = 0, .events = POLLIN};
		/* lines stdio holds already, or more to read (glibc's FILE) */
		bool buffered = stdin->_IO_read_ptr < stdin->_IO_read_end;
		bool more = n < BATCH && (buffered || poll(&p, 1, 0) > 0);
		if (more && (len = getline(&line, &cap, stdin)) >= 0) {
			if (len > 0 && line[len - 1] == '\n')
				line[--len] = 0;
			int64_t t = now_ms();
			char *body = line;
			if (line[0] == '@') {
				t = strtoll(line + 1, &body, 10);
				if (*body == ' ')
					body++;
			}
			text[n] = strdup(body);
			l[n] = (struct store_log){.system_id = sys,
			                          .source = src,
			                          .time_ms = t,
			                          .level = guess_level(body),
			                          .line = text[n],
			                          .len = strlen(body)};
			n++;
			total++;
			continue;
		}
		bool eof = more || feof(stdin);
		if (n) {
			char pos[32];
			snprintf(pos, sizeof(pos), "%lld", total);
			struct store_log_cursor c = {sys, src, pos};
			int r = store_put_logs(s, l, n, &c, 1);
			for (size_t i = 0; i < n; i++)
				free(text[i]);
			n = 0;
			if (r < 0) {
				fprintf(stderr, "log_tool: %s\n", store_errmsg(s));
				free(line);
				return 1;
			}
		}
		if (eof)
			break;
		struct pollfd w = {.fd = 0, .events = POLLIN};
		poll(&w, 1, -1);
		if (w.revents & (POLLHUP | POLLERR) && !(w.revents & POLLIN))
			break;
	}
	free(line);
	return 0;
}

static int on_line(void *ctx, int64_t id, const struct store_log *l)
{
	++*(int *)ctx;
	return 0;
}

static int bench(struct store *s, long n)
{
	static const char *const w[] = {"GET",   "POST", "user", "session", "timeout", "db",
	                                "cache", "ok",   "warn", "request", "id",      "slow"};
	static char text[BATCH][128];
	struct store_log l[BATCH];
	double t0 = mono();
	long k = 0;
	while (k < n) {
		size_t b = 0;
		for (; b < BATCH && k < n; b++, k++) {
			int len = snprintf(text[b], sizeof(text[b]),
			                   "%s /api/v1/%s/%ld %s took %ld ms %s%s", w[k % 12],
			                   w[(k / 12) % 12], k * 7919 % 100000, w[(k / 3) % 12],
			                   k % 997, w[(k / 5) % 12], k == n / 2 ? " zyzzyva" : "");
			l[b] = (struct store_log){.system_id =
			                              k % 4 ? "container:aaaa" : "container:bbbb",
			                          .source = "stdout",
			                          .time_ms = 1700000000000LL + k,
			                          .level = 6,
			                          .line = text[b],
			                          .len = (size_t)len};
		}
		struct store_log_cursor c = {"container:aaaa", "stdout", "0:0:0"};
		if (store_put_logs(s, l, b, &c, 1) < 0) {
			fprintf(stderr, "log_tool: %s\n", store_errmsg(s));
			return 1;
		}
	}
	double dt = mono() - t0;
	printf("lines=%ld secs=%.2f lines_per_s=%.0f ratio=%.2f (target 100000 lines/s)\n", n, dt,
	       (double)n / dt, (double)n / dt / 100000);
	struct store_log_query q = {.max_level = 7, .match = "zyzzyva"};
	int found = 0;
	t0 = mono();
	int r = store_logs(s, &q, on_line, &found);
	printf("search for a rare word: %d line(s) in %.1f ms (r=%d)\n", found, (mono() - t0) * 1e3,
	       r);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: log_tool put DB SYSTEM SOURCE | bench DB N\n");
		return 2;
	}
	struct store *s;
	if (store_open(argv[2], STORE_RW, &s) < 0) {
		fprintf(stderr, "log_tool: %s\n", store_errmsg(NULL));
		return 1;
	}
	int r = 2;
	if (strcmp(argv[1], "put") == 0 && argc == 5)
		r = put(s, argv[3], argv[4]);
	else if (strcmp(argv[1], "bench") == 0 && argc == 4)
		r = bench(s, atol(argv[3]));
	else
		fprintf(stderr, "usage: log_tool put DB SYSTEM SOURCE | bench DB N\n");
	store_close(s);
	return r;
}
