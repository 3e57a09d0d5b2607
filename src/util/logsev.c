/*
 * logsev.c - syslog severity names both ways (logsev.h).
 */
#include <stddef.h>
#include <strings.h>

#include "logsev.h"

static const char *const names[] = {"emerg",   "alert",  "crit", "err",
                                    "warning", "notice", "info", "debug"};

const char *logsev_name(int level)
{
	return level >= 0 && level <= 7 ? names[level] : NULL;
}

int logsev_parse(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} alias[] = {{"emergency", 0}, {"panic", 0},  {"critical", 2},    {"error", 3},
	             {"warn", 4},      {"notice", 5}, {"information", 6}, {"informational", 6}};
	if (!s || !*s)
		return -1;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == 0)
		return s[0] - '0';
	for (int i = 0; i < 8; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (strcasecmp(s, alias[i].name) == 0)
			return alias[i].level;
	return -1;
}
