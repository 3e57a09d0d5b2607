/*
 * logsrc.h - where a system's logs are, seen from the host (docs/logs.md).
 *
 * Per system, the log sources the collector (engine/logtail.c) tails:
 *
 *   stdio    a container's stdout and stderr as its runtime records them,
 *            a file on the HOST:
 *              podman, CRI-O (conmon): the path conmon was given (its
 *                command line, "-l k8s-file:PATH" or "--log-path PATH";
 *                conmon is the parent of the container's first process),
 *                else podman's default
 *                var/lib/containers/storage/overlay-containers/ID/userdata/ctr.log
 *                (k8s-file framing);
 *              docker: var/lib/docker/containers/ID/ID-json.log (json-file);
 *              Kubernetes (any runtime): every
 *                var/log/pods/NS_POD_UID/CONTAINER/N.log (CRI framing, one
 *                file per restart N), from the pod's labels.
 *   file     files matching the configured globs, INSIDE the system's root
 *            (a container's through /proc/PID/root, the host's "/"):
 *            opened by the collector through views/fsroot (never following
 *            a symlink out of the root); only the last component of a glob
 *            may hold wildcards (/var/log/nginx/ then "*.log").
 *   journal  the host's systemd journal, when var/log/journal or
 *            run/log/journal exists.
 *   console  a QEMU guest's serial console file: "-serial file:PATH", or a
 *            "-chardev file,id=ID,path=PATH" (or any chardev's
 *            "logfile=PATH") that a "-serial chardev:ID" or a serial
 *            "-device ...,chardev=ID" uses; read only when the file is
 *            owned by the QEMU process's user (a command line must not
 *            make us read a file its author could not).
 *
 * Each source has a key, unique within its system, under which the
 * collector keeps its cursor: "stdio:PATH", "file:PATH", "journal",
 * "console:PATH".  Lines are stored under the source "stdout"/"stderr"
 * (stdio, by each record's stream), "file:PATH", "journal", "console".
 *
 * Everything read here (conmon's and QEMU's command lines, labels) is
 * bounded; what does not parse yields no source, never a crash.
 */
#ifndef VANTAGE_LOGSRC_H
#define VANTAGE_LOGSRC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../linux/logfmt.h"
#include "containers.h"
#include "vms.h"

enum logsrc_type { LOGSRC_STDIO, LOGSRC_FILE, LOGSRC_JOURNAL, LOGSRC_CONSOLE };

struct logsrc {
	enum logsrc_type type;
	enum logfmt_frame frame;
	char path[PATH_MAX];     /* host path (stdio, console); in the root (file) */
	char key[PATH_MAX + 16]; /* the cursor's source */
};

struct logsrc_list {
	struct logsrc *v;
	size_t n, cap;
};

void logsrc_list_free(struct logsrc_list *l);
/* Append one source; the key is made from type and path.  0 or -ENOMEM. */
int logsrc_add(struct logsrc_list *l, enum logsrc_type type, enum logfmt_frame frame,
               const char *path);

/* The globs tailed by default, NULL-terminated. */
extern const char *const logsrc_default_globs[];

/*
 * A container's stdio files (see above).  proc_fd: the host's /proc;
 * root_fd: the host's "/" (tests: a sample tree).  Only files that exist
 * now are listed.  0 or -ENOMEM.
 */
int logsrc_container(int proc_fd, int root_fd, const struct container *c, struct logsrc_list *out);

/* A QEMU guest's console file, when its command line names one that its
 * user owns.  0 (maybe nothing added) or -ENOMEM. */
int logsrc_vm(int proc_fd, const struct vm_target *t, struct logsrc_list *out);

/* Does the host keep a systemd journal (under root_fd)? */
bool logsrc_has_journal(int root_fd);

/* ---- pure parsers (public for tests) --------------------------------------- */

/* conmon's command line (NUL-separated argv): its log file and framing
 * ("-l k8s-file:PATH", "--log-path PATH", "--log-path=PATH"; no driver
 * prefix: k8s-file).  false when it names none (journald, passthrough). */
bool logsrc_conmon_log(const char *argv, size_t len, char *path, size_t cap);

/* A QEMU command line (NUL-separated argv): the serial console file (see
 * above).  false when none. */
bool logsrc_qemu_console(const char *argv, size_t len, char *path, size_t cap);

/* Split an absolute glob into its directory (no wildcard allowed in it)
 * and the pattern of its last component.  0, or -EINVAL (relative, a
 * wildcard in a directory, "..", too long). */
int logsrc_glob_split(const char *glob, char *dir, size_t cap, const char **pattern);

/* Why a file of mode m is not tailed ("a FIFO", "a directory", ...), NULL
 * for a regular file. */
const char *logsrc_refuse_reason(mode_t m);

#endif
