/*
 * util.c - bounded reads, careful number parsing, clocks.  (Times are
 * formatted and parsed in timefmt.c.)
 */
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

ssize_t read_bounded(ssize_t (*rd)(void *ctx, void *dst, size_t n), void *ctx, struct buf *out,
                     size_t max, bool *truncated)
{
	size_t got = 0;
	ssize_t ret = 0;

	if (truncated)
		*truncated = false;
	while (got < max) {
		size_t want = max - got < 65536 ? max - got : 65536;
		buf_reserve(out, want);
		ssize_t n = rd(ctx, out->data + out->len, want);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			ret = n;
			break;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		got += (size_t)n;
	}
	if (out->data)
		out->data[out->len] = 0;
	if (ret == 0 && got >= max && truncated) {
		char c;
		*truncated = rd(ctx, &c, 1) > 0;
	}
	return ret < 0 ? ret : (ssize_t)got;
}

static ssize_t fd_read(void *ctx, void *dst, size_t n)
{
	ssize_t r = read(*(int *)ctx, dst, n);
	return r < 0 ? -errno : r;
}

ssize_t read_fd_bounded(int fd, struct buf *out, size_t max, bool *truncated)
{
	return read_bounded(fd_read, &fd, out, max, truncated);
}

ssize_t read_file_at(int dirfd, const char *path, struct buf *out, size_t max)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read_fd_bounded(fd, out, max, NULL);
	close(fd);
	return n;
}

ssize_t read_small_at(int dirfd, const char *path, char *dst, size_t cap)
{
	if (cap == 0)
		return -EINVAL;
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	while (got < cap - 1) {
		ssize_t n = read(fd, dst + got, cap - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			dst[got] = 0;
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	dst[got] = 0;
	return (ssize_t)got;
}

bool parse_u64(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (s >= end || *s < '0' || *s > '9')
		return false;
	while (s < end && *s >= '0' && *s <= '9') {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		s++;
	}
	*p = s;
	*out = v;
	return true;
}

bool parse_i64(const char **p, const char *end, int64_t *out)
{
	const char *s = *p;
	bool neg = false;
	uint64_t v;
	if (s < end && (*s == '-' || *s == '+')) {
		neg = *s == '-';
		s++;
	}
	if (!parse_u64(&s, end, &v))
		return false;
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	*p = s;
	return true;
}

void skip_blanks(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

void copy_str(char *dst, size_t cap, const char *s, size_t n)
{
	if (cap == 0)
		return;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = 0;
}

void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\n' ||
	              (*s)[*n - 1] == '\r'))
		(*n)--;
}

int grow_array(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 64;
	while (c < need)
		c *= 2;
	void *n = reallocarray(*v, c, size);
	if (!n)
		return -ENOMEM;
	*v = n;
	*cap = c;
	return 0;
}

int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
}

void mono_deadline(struct timespec *ts, int64_t ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	int64_t at = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + (ns > 0 ? ns : 0);
	ts->tv_sec = at / 1000000000;
	ts->tv_nsec = at % 1000000000;
}

int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void hex_encode(const unsigned char *src, size_t n, char *dst)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = hex[src[i] >> 4];
		dst[2 * i + 1] = hex[src[i] & 15];
	}
	dst[2 * n] = 0;
}

uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}
