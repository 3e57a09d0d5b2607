/*
 * common.c - the helpers of fuzz.h, linked into every harness (both the
 * libFuzzer build and the replay build).
 */
#include "fuzz.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *fuzz_copy(const uint8_t *data, size_t size)
{
	unsigned char *b = malloc(size ? size : 1);
	if (!b)
		abort();
	b[0] = 0;
	if (size)
		memcpy(b, data, size);
	return b;
}

static int fuzz_sink_write(struct sink *s, const void *data, size_t len)
{
	buf_add(&((struct fuzz_sink *)s)->b, data, len);
	return 0;
}

static void fuzz_sink_close(struct sink *s)
{
	(void)s;
}

const struct sink_ops fuzz_sink_ops = {
    .name = "memory", .write = fuzz_sink_write, .close = fuzz_sink_close};

char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static char tmpdir[PATH_MAX];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tmpdir(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(tmpdir, sizeof tmpdir, "%s/vantage-fuzz.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("fuzz_tmpdir: mkdtemp");
			abort();
		}
		atexit(rm_tmpdir);
	}
	return tmpdir;
}

const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", fuzz_tmpdir(), name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	size_t off = 0;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0) {
			close(fd);
			return NULL;
		}
		off += (size_t)w;
	}
	close(fd);
	return path;
}
