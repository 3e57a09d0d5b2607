/*
 * logtail_journal.c - the systemd journal through sd-journal (see
 * logtail_journal.h).
 */
#include "logtail_journal.h"

#include <errno.h>
#include <stdlib.h>
#include <systemd/sd-journal.h>

struct ltj {
	sd_journal *j;
};

int ltj_open(const char *dir, const char *cursor, struct ltj **out, int *fd)
{
	sd_journal *j;
	int r = dir ? sd_journal_open_directory(&j, dir, 0)
	            : sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0)
		return r;
	struct ltj *x = calloc(1, sizeof(*x));
	if (!x) {
		sd_journal_close(j);
		return -ENOMEM;
	}
	x->j = j;
	if (cursor && sd_journal_seek_cursor(j, cursor) == 0) {
		/* on the cursor's entry: the next one is new; the entry gone, the
		 * one found instead is new too (step back before it) */
		if (sd_journal_next(j) > 0 && sd_journal_test_cursor(j, cursor) <= 0)
			sd_journal_previous(j);
	} else {
		sd_journal_seek_tail(j);
		sd_journal_previous(j);
	}
	*fd = sd_journal_get_fd(j);
	*out = x;
	return 0;
}

int ltj_next(struct ltj *x, const char **msg, size_t *n, int *level, int64_t *time_ms)
{
	for (;;) {
		int r = sd_journal_next(x->j);
		if (r <= 0)
			return r;
		const void *d;
		size_t len;
		*level = -1;
		if (sd_journal_get_data(x->j, "PRIORITY", &d, &len) == 0 && len == 10) {
			int l = ((const char *)d)[9] - '0';
			*level = l >= 0 && l <= 7 ? l : -1;
		}
		uint64_t us = 0;
		(void)sd_journal_get_realtime_usec(x->j, &us);
		*time_ms = (int64_t)(us / 1000);
		if (sd_journal_get_data(x->j, "MESSAGE", &d, &len) < 0 || len < 8)
			continue; /* an entry without a message */
		*msg = (const char *)d + 8;
		*n = len - 8;
		return 1;
	}
}

char *ltj_cursor(struct ltj *x)
{
	char *c = NULL;
	return sd_journal_get_cursor(x->j, &c) >= 0 ? c : NULL;
}

bool ltj_process(struct ltj *x)
{
	return sd_journal_process(x->j) != SD_JOURNAL_NOP;
}

void ltj_close(struct ltj *x)
{
	if (!x)
		return;
	sd_journal_close(x->j);
	free(x);
}
