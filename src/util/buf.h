/*
 * buf.h - a growable byte buffer.
 *
 * Used everywhere text is assembled: JSON records, file contents read in
 * bounded chunks, command output.  A buf owns its memory; buf_free()
 * releases it.  The data is always NUL-terminated (b->data[b->len] == 0)
 * once anything has been appended, so it can be used as a C string when
 * the content is known to be text.
 *
 * Allocation failure aborts the process with a message: a monitoring
 * agent that cannot allocate a few kilobytes has no sane way to go on, and
 * handling it at every append would triple the size of every formatter.
 *
 * The out-of-memory rule, for all of src/: small allocations that must not
 * fail (text being built, a table of cells, the pids of a group) use a buf
 * or the aborting helpers of xalloc.h (xmalloc, xcalloc, xrealloc,
 * xreallocarray, xstrdup, xstrndup), which print "vantage: out of memory
 * (N bytes)" and abort.  Allocations sized by untrusted input (a file, a
 * guest's memory, a request) or possibly large return -ENOMEM (or NULL)
 * to their caller, which reports it.  No bare abort() after a failed
 * allocation.
 */
#ifndef VANTAGE_BUF_H
#define VANTAGE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT                                                                                   \
	{                                                                                          \
		0                                                                                  \
	}

void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addc(struct buf *b, char c);
void buf_adds(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
static inline void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}
void buf_free(struct buf *b);
/* Returns b->data, or "" when nothing was ever appended. */
const char *buf_str(const struct buf *b);

#endif
