/*
 * vmi_floor.c - the floor of a VM crawl: read the guest-RAM pages a crawl
 * touched (the list written by VANTAGE_VMI_TRACE) and nothing else.
 *
 * Usage: vmi_floor RAMFILE PAGELIST
 *   PAGELIST: one backing offset (hex) per line.
 * Maps the RAM file read-only, as vantage does, copies every listed page
 * once, and prints "floor_ms=<in-process time> pages=<n>".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: vmi_floor RAMFILE PAGELIST\n");
		return 2;
	}
	FILE *pl = fopen(argv[2], "r");
	if (!pl) {
		perror(argv[2]);
		return 1;
	}
	size_t n = 0, cap = 1024;
	unsigned long long *pages = malloc(cap * sizeof(*pages)), off;
	while (pages && fscanf(pl, "%llx", &off) == 1) {
		if (n == cap)
			pages = realloc(pages, (cap *= 2) * sizeof(*pages));
		if (pages)
			pages[n++] = off;
	}
	fclose(pl);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(argv[1]);
		return 1;
	}
	unsigned char *m = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	static unsigned char page[4096];
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++)
		if (pages[i] + 4096 <= (unsigned long long)st.st_size) {
			memcpy(page, m + pages[i], 4096);
			sum += page[i % 4096];
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("floor_ms=%.3f pages=%zu sum=%u\n",
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, n, sum & 1);
	return 0;
}
