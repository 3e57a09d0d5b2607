/*
 * util.h - small helpers shared by every stage: bounded file reads,
 * number parsing that never overflows or trusts its input, clocks.
 *
 * All parse helpers take (pointer, length) and never read past it; input
 * may be truncated, unterminated or garbage.
 */
#ifndef VANTAGE_UTIL_H
#define VANTAGE_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

/* FNV-1a, 64 bits: h = FNV1A_BASIS, then fnv1a(h, bytes) for each piece. */
#define FNV1A_BASIS 14695981039346656037ull
uint64_t fnv1a(uint64_t h, const void *p, size_t n);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The bounded-read loop: call rd(ctx, dst, n) (bytes read, 0 at the end,
 * or a negative errno; -EINTR is retried) until `max` bytes were appended
 * to `out` (always NUL-terminated after).  Returns the number of bytes
 * read, or the negative errno that stopped it.  Sets *truncated (if
 * given) when a one-byte read after `max` bytes still gets one.
 */
ssize_t read_bounded(ssize_t (*rd)(void *ctx, void *dst, size_t n), void *ctx, struct buf *out,
                     size_t max, bool *truncated);
/*
 * Read at most `max` bytes from `fd` into `out` (appending).  Returns the
 * number of bytes read, or a negative errno.  Sets *truncated (if given)
 * when more data remained.  Does not close fd.
 */
ssize_t read_fd_bounded(int fd, struct buf *out, size_t max, bool *truncated);
/* openat(dirfd, path, O_RDONLY|O_CLOEXEC) + read_fd_bounded + close. For
 * trusted paths only (procfs, sysfs): it follows symlinks. */
ssize_t read_file_at(int dirfd, const char *path, struct buf *out, size_t max);
/* Read a small file into a fixed buffer, NUL-terminated; returns length
 * or negative errno.  Trusted paths only. */
ssize_t read_small_at(int dirfd, const char *path, char *dst, size_t cap);

/* Parse an unsigned decimal at *p (< end), advancing *p.  Returns false
 * if no digit was found or the value overflows. */
bool parse_u64(const char **p, const char *end, uint64_t *out);
bool parse_i64(const char **p, const char *end, int64_t *out);
/* Skip spaces and tabs. */
void skip_blanks(const char **p, const char *end);
/* Copy [s, s+n) into dst (cap bytes), NUL-terminate, truncating. */
void copy_str(char *dst, size_t cap, const char *s, size_t n);
/* Trim ASCII whitespace at both ends of [*s, *s + *n). */
void trim(const char **s, size_t *n);

/* Wall-clock time in nanoseconds since the epoch / monotonic ns. */
/* Make room for `need` elements of `size` bytes in *v (capacity *cap,
 * doubled from 64): 0, or -ENOMEM with *v unchanged (for code that reports
 * running out of memory instead of aborting as xalloc.h does). */
int grow_array(void **v, size_t *cap, size_t need, size_t size);

int64_t now_ns(void);
int64_t mono_ns(void);

/* A condition variable whose timed waits are on CLOCK_MONOTONIC, and the
 * deadline `ns` from now on that clock for pthread_cond_timedwait(): a
 * wall clock set back or forth (NTP, an operator, a VM resumed) neither
 * stretches a wait by the jump nor ends it early. */
struct timespec;
void cond_init_mono(pthread_cond_t *c);
void mono_deadline(struct timespec *ts, int64_t ns);

/* Value of one hex digit (either case), or -1. */
int hex_digit(char c);
/* Lowercase hex of n bytes into dst (2n+1 bytes). */
void hex_encode(const unsigned char *src, size_t n, char *dst);

#endif
