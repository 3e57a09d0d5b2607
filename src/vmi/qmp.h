/*
 * qmp.h - a small client of QEMU's machine protocol (QMP) over a unix socket.
 *
 * Enough to pause a guest for a consistent read of its memory and resume
 * it: connect, read the greeting, negotiate capabilities, run a command
 * and wait for its reply.  Every wait is bounded by the timeout given to
 * qmp_open() (poll(2) on a non-blocking socket), every line by
 * QMP_LINE_MAX bytes; asynchronous events (STOP, RESUME, ...) arriving
 * while a reply is awaited are skipped.  Commands carry an "id" and only
 * the reply with that id is taken, so a late reply to an earlier command
 * that timed out is never mistaken for the current one.  QEMU is a peer
 * we do not trust: its replies are parsed with jansson, bounded, and a
 * malformed one is an error (-EPROTO), never a crash.
 *
 * Errors are negative errno values:
 *   -ENAMETOOLONG  socket path longer than a sockaddr_un holds
 *   -ENOENT, -ECONNREFUSED, -EACCES ...  from connect(2)
 *   -ETIMEDOUT     no complete reply in time
 *   -ECONNRESET    QEMU closed the connection
 *   -EPROTO        not QMP (no greeting, malformed JSON, a reply that is
 *                  neither "return" nor "error")
 *   -EMSGSIZE      a line longer than QMP_LINE_MAX
 *   -ENOSYS        QMP error class CommandNotFound
 *   -ENODEV        QMP error class DeviceNotFound / DeviceNotActive
 *   -EIO           any other QMP error (GenericError, ...)
 * qmp_error() then describes the failure in words ("CommandNotFound: The
 * command bogus has not been found").  After -ETIMEDOUT, -ECONNRESET,
 * -EPROTO or -EMSGSIZE the connection is dropped and every later call
 * returns -ENOTCONN.
 */
#ifndef VANTAGE_QMP_H
#define VANTAGE_QMP_H

#include <stddef.h>
#include <stdint.h>

#define QMP_LINE_MAX (1u << 20) /* longest reply line accepted */

struct qmp;

/*
 * Connect to the QMP socket at `path`, read the greeting and send
 * qmp_capabilities.  `timeout_ms` bounds each later command too (<= 0:
 * 5000).  On success *out is a connection to free with qmp_close().
 */
int qmp_open(const char *path, int timeout_ms, struct qmp **out);

/*
 * Run `cmd` with `args_json` (a JSON object text, or NULL for none) and
 * wait for its reply.  On success returns 0 and, when `ret_json` is not
 * NULL, sets *ret_json to the "return" value as compact JSON text (malloc'd,
 * the caller frees it).  A QMP error is returned as a negative errno (see
 * above) with the message in qmp_error().
 */
int qmp_command(struct qmp *q, const char *cmd, const char *args_json, char **ret_json);

/* query-status: the run state ("running", "paused", "shutdown",
 * "inmigrate", ...) copied into status (cap bytes). */
int qmp_status(struct qmp *q, char *status, size_t cap);

/* The last failure in words, "" when none. */
const char *qmp_error(const struct qmp *q);

void qmp_close(struct qmp *q);

/* ---- the parser, public for tests --------------------------------------- */

enum qmp_msg_kind { QMP_MSG_GREETING, QMP_MSG_RETURN, QMP_MSG_ERROR, QMP_MSG_EVENT };

struct qmp_msg {
	enum qmp_msg_kind kind;
	int64_t id;         /* the reply's integer "id", -1 when absent or not an integer */
	char *ret_json;     /* QMP_MSG_RETURN: the "return" value as JSON text (owned) */
	char err_class[64]; /* QMP_MSG_ERROR: "class" */
	char err_desc[256]; /* QMP_MSG_ERROR: "desc" */
	char event[64];     /* QMP_MSG_EVENT: "event" */
	char version[32];   /* QMP_MSG_GREETING: "9.0.1" when present, else "" */
};

/*
 * Parse one QMP line (without or with its "\r\n").  Returns 0 and fills
 * *m (free with qmp_msg_free()), or -EPROTO for anything that is not one
 * QMP object.  Control characters in strings are replaced by '?'.
 */
int qmp_parse_msg(const char *buf, size_t len, struct qmp_msg *m);
void qmp_msg_free(struct qmp_msg *m);

/* The negative errno for a QMP error class (see the table above). */
int qmp_class_errno(const char *err_class);

#endif
