/*
 * logsev.h - syslog severities (0 emerg .. 7 debug; -1 unknown) as names
 * and back, for the log store's readers: `vantage logs --level`, the
 * API's level=, --json output.
 */
#ifndef VANTAGE_LOGSEV_H
#define VANTAGE_LOGSEV_H

/* "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug";
 * NULL for -1 or anything else. */
const char *logsev_name(int level);
/* A name (those above, and "emergency", "critical", "error", "warn",
 * "information", any case) or a digit 0-7 -> the level; -1 if none. */
int logsev_parse(const char *s);

#endif
