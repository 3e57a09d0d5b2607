/*
 * driver.c - main() of the replay build of a harness (build/fuzzreg/):
 * runs every file of the directories (or files) named on the command line
 * through LLVMFuzzerTestOneInput() once, in name order, and prints one TAP
 * line per input.  A memory error or undefined behaviour aborts the run
 * (ASan+UBSan), which tests/run counts as a failure with the sanitizer's
 * report; the last "# input" line names the file that did it.
 *
 *   fuzz_NAME DIR|FILE...
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int n_ok, n_bad;

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("not ok %d %s: %s\n", ++n_bad + n_ok, path, strerror(errno));
		return;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	size_t r;
	while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap) {
			cap *= 2;
			uint8_t *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	fclose(f);
	if (!buf) {
		printf("not ok %d %s: out of memory\n", ++n_bad + n_ok, path);
		return;
	}
	printf("# input %s (%zu bytes)\n", path, len);
	fflush(stdout);
	/* an exact-size copy, so a read past the end is an ASan error */
	uint8_t *exact = malloc(len ? len : 1);
	if (len)
		memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	printf("ok %d %s\n", ++n_ok + n_bad, path);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT) /* a harness without regressions yet */
			printf("not ok %d %s: %s\n", ++n_bad + n_ok, path, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	struct dirent **list;
	int n = scandir(path, &list, NULL, by_name);
	if (n < 0) {
		printf("not ok %d %s: %s\n", ++n_bad + n_ok, path, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *nm = list[i]->d_name;
		if (nm[0] != '.' && strcmp(nm, "README") != 0 && strcmp(nm, "README.md") != 0) {
			char sub[4096];
			snprintf(sub, sizeof sub, "%s/%s", path, nm);
			run_path(sub);
		}
		free(list[i]);
	}
	free(list);
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		run_path(argv[i]);
	printf("1..%d\n", n_ok + n_bad);
	return n_bad ? 1 : 0;
}
