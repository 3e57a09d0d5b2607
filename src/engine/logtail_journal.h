/*
 * logtail_journal.h - the host's systemd journal for the log collector
 * (logtail.c), through libsystemd's sd-journal.  Kept apart because
 * <systemd/sd-journal.h> brings <syslog.h>, whose LOG_* macros collide
 * with util/log.h.
 *
 * Position: the journal's own cursor.  Without one (the first start) the
 * reading begins after the newest entry; with one, after that entry (or,
 * when it was vacuumed away, at the next one the journal has).
 */
#ifndef VANTAGE_LOGTAIL_JOURNAL_H
#define VANTAGE_LOGTAIL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ltj;

/* Open the local journal (dir NULL) or the journal files in dir at
 * `cursor` (NULL: its end).  0 with *out and *fd (to poll for
 * readability, -1 if none), or a negative errno. */
int ltj_open(const char *dir, const char *cursor, struct ltj **out, int *fd);
/* The next entry: 1 with its MESSAGE (valid until the next call), level
 * (PRIORITY, -1 when none) and time; 0 when there is none yet; or a
 * negative errno. */
int ltj_next(struct ltj *j, const char **msg, size_t *n, int *level, int64_t *time_ms);
/* The cursor of the entry last returned (malloc'd), NULL when none. */
char *ltj_cursor(struct ltj *j);
/* After the fd polled readable: true when there may be new entries. */
bool ltj_process(struct ltj *j);
void ltj_close(struct ltj *j);

#endif
