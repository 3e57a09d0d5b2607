/*
 * maps_parse.h - parser of one line of /proc/PID/maps.
 *
 * Each line is "start-end perms offset major:minor inode [path]", e.g.
 *
 *   7f3a2c000000-7f3a6c000000 rw-s 00000000 00:01 1035  /memfd:ram (deleted)
 *
 * with start, end and offset in hex, major and minor in hex, inode in
 * decimal, perms four characters ("r", "w", "x" or "-", then "p" private
 * or "s" shared), and a path that may contain spaces, may be a pseudo
 * name ("[heap]", "[stack]"), may be absent (anonymous memory), and ends
 * in " (deleted)" when the file was unlinked.
 *
 * The input is untrusted text: the parser never reads outside [s, end),
 * does not need a NUL, and rejects a line it cannot read in full
 * (returning false), never crashing on garbage.
 */
#ifndef VANTAGE_MAPS_PARSE_H
#define VANTAGE_MAPS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct maps_line {
	uint64_t start, end; /* address range [start, end), end > start */
	uint64_t offset;     /* file offset of start */
	uint32_t dev_major, dev_minor;
	uint64_t inode;   /* 0 for anonymous memory */
	char perms[5];    /* "rw-p", NUL-terminated */
	const char *path; /* into the line, NOT NUL-terminated: path_len bytes; "" if anonymous */
	size_t path_len;  /* without the " (deleted)" suffix */
	bool deleted;     /* the path ended in " (deleted)" */
};

/* Parse the line [s, end) (without its '\n').  Returns false, *m
 * unspecified, when the line is malformed. */
bool maps_parse_line(const char *s, const char *end, struct maps_line *m);

/* Helpers on a parsed line. */
static inline bool maps_readable(const struct maps_line *m)
{
	return m->perms[0] == 'r';
}
static inline bool maps_writable(const struct maps_line *m)
{
	return m->perms[1] == 'w';
}
static inline bool maps_executable(const struct maps_line *m)
{
	return m->perms[2] == 'x';
}
static inline bool maps_shared(const struct maps_line *m)
{
	return m->perms[3] == 's';
}
/* The path is exactly `s` / starts with `s` (NUL-terminated). */
bool maps_path_is(const struct maps_line *m, const char *s);
bool maps_path_starts(const struct maps_line *m, const char *s);

/*
 * Walk the lines of a whole maps file [buf, buf + len): call fn for each
 * line that parses (malformed lines are skipped).  fn returns 0 to go
 * on, anything else to stop; that value is returned (0 at the end).
 */
int maps_for_each(const char *buf, size_t len, int (*fn)(const struct maps_line *m, void *arg),
                  void *arg);

#endif
