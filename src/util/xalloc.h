/*
 * xalloc.h - allocations that must not fail: on failure they print
 * "vantage: out of memory (N bytes)" and abort, the way buf.c does.
 *
 * The out-of-memory rule (see buf.h): small allocations whose failure
 * leaves no sane way on (a buf, a table of cells, the pids of a group)
 * use these or a buf; allocations sized by untrusted input or possibly
 * large return -ENOMEM (or NULL) to their caller.  No bare abort().
 */
#ifndef VANTAGE_XALLOC_H
#define VANTAGE_XALLOC_H

#include <stddef.h>

/* Print "vantage: out of memory (n bytes)" ("vantage: out of memory" when
 * n is 0: the size is not known) and abort. */
void xalloc_die(size_t n) __attribute__((noreturn));

/* malloc/calloc/realloc/strdup/strndup that never return NULL.  A size of
 * 0 still gives a pointer to free. */
void *xmalloc(size_t n) __attribute__((malloc));
void *xcalloc(size_t nmemb, size_t size) __attribute__((malloc));
void *xrealloc(void *p, size_t n);
/* realloc to nmemb * size, dying on overflow too. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s) __attribute__((malloc));
char *xstrndup(const char *s, size_t n) __attribute__((malloc));

#endif
