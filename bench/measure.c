/*
 * measure.c - run a command N times and print its median wall time, median
 * CPU time (user+system) and peak RSS, measured with wait4() rusage.
 *
 * Usage: measure N OUTFILE -- COMMAND [ARGS...]
 *   OUTFILE receives the command's stdout ("/dev/null" to drop it).
 * Prints: "wall_ms=<median> cpu_ms=<median> rss_kb=<max> runs=N"
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 5 || strcmp(argv[3], "--") != 0) {
		fprintf(stderr, "usage: measure N OUTFILE -- COMMAND [ARGS...]\n");
		return 2;
	}
	int n = atoi(argv[1]);
	if (n < 1 || n > 1000) {
		fprintf(stderr, "measure: N must be 1..1000\n");
		return 2;
	}
	double *wall = calloc((size_t)n, sizeof(double)), *cpu = calloc((size_t)n, sizeof(double));
	long rss = 0;
	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		pid_t pid = fork();
		if (pid == 0) {
			int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd >= 0)
				dup2(fd, 1);
			execvp(argv[4], argv + 4);
			_exit(127);
		}
		int st;
		struct rusage ru;
		if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "measure: %s failed (status %d)\n", argv[4], st);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		wall[i] =
		    (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		cpu[i] = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
		if (ru.ru_maxrss > rss)
			rss = ru.ru_maxrss;
	}
	qsort(wall, (size_t)n, sizeof(double), cmp);
	qsort(cpu, (size_t)n, sizeof(double), cmp);
	printf("wall_ms=%.2f cpu_ms=%.2f rss_kb=%ld runs=%d\n", wall[n / 2], cpu[n / 2], rss, n);
	return 0;
}
