/*
 * os_release.h - parser of os-release(5) files (/etc/os-release).
 *
 * The file is a list of KEY=value assignments in a small subset of shell
 * syntax.  We follow systemd's reading of it (the de-facto consumer):
 *
 *   - blank lines and lines whose first non-blank character is '#' are
 *     skipped;
 *   - KEY is [A-Za-z_][A-Za-z0-9_]*, blanks around '=' are tolerated;
 *   - the value runs to the end of the line; "double quotes" (where
 *     \" \\ \$ \` are escapes and backslash-newline is removed) and
 *     'single quotes' (literal) may be mixed with unquoted parts, where a
 *     backslash escapes the next character and backslash-newline joins
 *     lines; a quoted part may span lines; unquoted leading and trailing
 *     blanks are trimmed;
 *   - any other line is garbage: counted in `ignored`, parsing goes on;
 *   - a quote still open at the end of the input drops that assignment
 *     (counted in `ignored`) and parsing resumes on the line after it;
 *   - a key given twice keeps its last value (shell semantics).
 *
 * Values are bytes: an embedded NUL or invalid UTF-8 is kept (it is the
 * JSON writer's job to escape it).  Only the first OS_RELEASE_MAX bytes are
 * looked at.
 */
#ifndef VANTAGE_OS_RELEASE_H
#define VANTAGE_OS_RELEASE_H

#include <stdbool.h>
#include <stddef.h>

#define OS_RELEASE_MAX ((size_t)64 * 1024)

/* A value: s == NULL when the key was absent.  s is NUL-terminated, but
 * len is authoritative (the value may hold NULs). */
struct os_release_val {
	const char *s;
	size_t len;
};

struct os_release {
	struct os_release_val name, id, id_like, version, version_id, version_codename, pretty_name,
	    variant_id, build_id;
	unsigned assignments; /* valid KEY=value lines, any key */
	unsigned ignored;     /* garbage lines and unterminated quotes */
	bool truncated;       /* input longer than OS_RELEASE_MAX */
	char *store;          /* owns the unescaped values */
};

/*
 * Parse `len` bytes at `buf` into `out` (which is overwritten).  Returns 0,
 * or -ENOMEM.  Free with os_release_free() (also after a failure).
 */
int os_release_parse(const char *buf, size_t len, struct os_release *out);
void os_release_free(struct os_release *r);

/*
 * The generic form: call cb(ctx, key, klen, val, vlen) for every valid
 * assignment in order; `scratch` must hold at least min(len, OS_RELEASE_MAX)
 * + 1 bytes and receives the unescaped values (val points into it; valid
 * until the parse ends).  Returns the number of ignored lines; a callback
 * stops the parse by returning a negative value, which is returned.
 */
int os_release_each(const char *buf, size_t len, char *scratch,
                    int (*cb)(void *ctx, const char *key, size_t klen, const char *val,
                              size_t vlen),
                    void *ctx);

#endif
