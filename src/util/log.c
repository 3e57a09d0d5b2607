/*
 * log.c - leveled logging to stderr (see log.h).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum log_level log_threshold = LOG_WARN;

int log_level_parse(const char *s)
{
	static const char *const names[] = {"debug", "info", "warn", "error", "off"};
	for (int i = 0; i < 5; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const tags[] = {"debug", "info", "warning", "error", ""};
	if (lvl < log_threshold)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vantage: %s: %s\n", tags[lvl], line);
}
