/*
 * logfmt.h - log lines as runtimes and programs write them: each line to
 * (time, level, stream, message), and the escaping every stored line goes
 * through.  Pure functions: bytes in, fields out; no I/O, no allocation
 * but the caller's buffers.  Every input is hostile (a container's stdout,
 * a file in its root): lengths are never trusted, nothing is read past n.
 *
 * Container records (the runtime's framing around what the process wrote):
 *   k8s-file    "2026-12-06T09:33:53.123456789Z stdout F message": podman
 *               and conmon's k8s-file driver, and the CRI files under
 *               /var/log/pods; "P" marks a partial line (the runtime cut a
 *               long one): the message is joined with the next record's
 *   docker      {"log":"message\n","stream":"stderr","time":"..."} of the
 *               json-file driver; a "log" without its "\n" is partial
 *
 * Message formats (what the program wrote; recognised in this order, each
 * gives a time and a level when it has them):
 *   JSON lines  {"level":"warn","time":"...",...}: keys level, severity,
 *               lvl, loglevel, log.level (names or numbers: syslog 0..7,
 *               pino/bunyan 10..60), time, timestamp, ts, @timestamp (an
 *               ISO time or epoch seconds/ms)
 *   syslog      RFC 5424 "<PRI>1 TIME HOST APP PROC MSGID SD MSG" and RFC
 *               3164 "[<PRI>]Mmm dd hh:mm:ss host tag: msg" (the year is the
 *               one that puts the time nearest before now + 1 day; the
 *               time is taken as local time at tz_off_s), and rsyslog's
 *               "2026-12-06T09:33:53.123456+00:00 host tag: msg"; level =
 *               PRI & 7, else from the message's words
 *   combined    nginx/apache access logs: 'IP - user [06/Dec/2026:09:33:53
 *               +0000] "GET / HTTP/1.1" 503 ...': 5xx error, 4xx warning,
 *               else info
 *   klog        "E1206 09:33:53.123456   12345 file.go:12] msg": I info,
 *               W warning, E error, F critical
 *   nginx error "2026/12/06 09:33:53 [error] 12#0: ..."
 * Otherwise the level is taken from a level word (ERROR, [warn], level=info,
 * WARNING: ...) among the first 80 bytes, and there is no time.
 *
 * Levels are syslog severities: 0 emerg, 1 alert, 2 crit, 3 err, 4 warning,
 * 5 notice, 6 info, 7 debug; -1 unknown.
 *
 * Escaping (logfmt_escape): the stored line is UTF-8: valid UTF-8 passes
 * unchanged; a byte that does not start a valid sequence (overlong,
 * surrogate, cut short), a control byte other than TAB (NUL included) and
 * DEL become "\xNN".  Backslashes are kept as they are.
 */
#ifndef VANTAGE_LOGFMT_H
#define VANTAGE_LOGFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

#define LOGFMT_MAX_LINE_DEFAULT 16384
#define LOGFMT_MAX_LINE_MIN 256
#define LOGFMT_MAX_LINE_MAX (1u << 20)

enum logfmt_stream { LOGFMT_NOSTREAM = 0, LOGFMT_STDOUT, LOGFMT_STDERR };

/* Which framing a source's lines have. */
enum logfmt_frame {
	LOGFMT_PLAIN = 0, /* the line is the message (files, consoles) */
	LOGFMT_K8S,       /* k8s-file / CRI */
	LOGFMT_DOCKER,    /* docker json-file */
};

struct logfmt_rec {
	int64_t time_ms; /* 0: the line has no time */
	int level;       /* -1: unknown */
	int stream;      /* enum logfmt_stream */
	bool partial;    /* the runtime cut the line: join with the next record */
	const char *msg; /* into the line, or into the scratch buffer */
	size_t len;
};

/* Parse the runtime's framing of one line (without its '\n').  k8s: the
 * message points into line.  docker: the message is unescaped into
 * scratch (reset first; "\u0000" is a NUL byte, escaped later like any).
 * Both return 0, or -EINVAL when the line is not of that framing (the
 * caller then keeps the whole line as the message). */
int logfmt_k8s(const char *line, size_t n, struct logfmt_rec *r);
int logfmt_docker(const char *line, size_t n, struct buf *scratch, struct logfmt_rec *r);

/* Time and level from the message's own format (see above): fills
 * r->time_ms and r->level where the message has them (left alone
 * otherwise).  now_ms: for formats without a year; tz_off_s: seconds east
 * of UTC of the local time in syslog and klog times.  Returns the name of
 * the format recognised ("json", "syslog", "combined", "klog", "nginx",
 * "words", or "" when none). */
const char *logfmt_message(const char *msg, size_t n, int64_t now_ms, int tz_off_s,
                           struct logfmt_rec *r);

/* The single formats (0, or -EINVAL when the message is not of it). */
int logfmt_json(const char *msg, size_t n, struct logfmt_rec *r);
int logfmt_syslog(const char *msg, size_t n, int64_t now_ms, int tz_off_s, struct logfmt_rec *r);
int logfmt_combined(const char *msg, size_t n, struct logfmt_rec *r);
int logfmt_klog(const char *msg, size_t n, int64_t now_ms, int tz_off_s, struct logfmt_rec *r);
/* A level word among the first bytes; -1 when none. */
int logfmt_level_word(const char *msg, size_t n);
/* A level name or number ("warn", "WARNING", "E", "40", "3") -> severity,
 * -1 when unknown. */
int logfmt_level_name(const char *s, size_t n);

/*
 * Append s (n bytes) escaped (see above) to out, at most `max` bytes of
 * output (a "\xNN" or a UTF-8 sequence is never split).  Returns the
 * number of input bytes consumed: n when everything fit, less when the
 * output was cut at `max`.
 */
size_t logfmt_escape(struct buf *out, const char *s, size_t n, size_t max);

/* The marker appended to a line cut at the limit: " [cut: N bytes more]"
 * (out holds at least LOGFMT_CUT_MARK_MAX bytes). */
#define LOGFMT_CUT_MARK_MAX 48
size_t logfmt_cut_mark(char *out, size_t cap, uint64_t more);

#endif
