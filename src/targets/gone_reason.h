/*
 * gone_reason.h - why a system went away: the pure parsers of what the
 * kernel and the runtimes leave behind, and the reason's JSON.
 *
 * A system that is gone is not missing data: the daemon records why it
 * went (store_gone_reason) as
 *   {"reason":"exited","exit_code":137,"oom_killed":true,"oom_kills":1,
 *    "exit_from":"podman","how":"exited 137, killed by the OOM killer"}
 * for a container (exit_code null when no file said it; oom_kills the kills
 * its cgroup counted while it lived, absent when its cgroup was never
 * read), and {"reason":"shut down","how":"QEMU pid 812 exited"} for a VM.
 *
 * Sources (all read from files, bounded; nothing here does I/O):
 *   /proc/PID/stat      state (field 3), starttime (22), exit_code (52: the
 *                       wait status, filled in while the process is a
 *                       zombie, kernels >= 3.5)
 *   <exits>/<id>        conmon's (podman, CRI-O) exit file: the exit code
 *                       as decimal text
 */
#ifndef VANTAGE_GONE_REASON_H
#define VANTAGE_GONE_REASON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

/* (The OOM-kill counters, "oom_kill N" of cgroup v2 memory.events and v1
 * memory.oom_control, are read by views/host/cgroup.c.) */

/* What /proc/PID/stat says about a process's end. */
struct stat_exit {
	char state;         /* field 3: 'Z' for a zombie */
	uint64_t starttime; /* field 22, clock ticks after boot */
	bool have_exit;     /* field 52 present */
	int wait_status;    /* field 52: as waitpid() would give it */
};

/* Parse one /proc/PID/stat line (the comm may hold spaces and ')').
 * 0, or -EINVAL when malformed or shorter than field 22. */
int gone_parse_stat(const char *buf, size_t len, struct stat_exit *out);

/* The shell's exit code of a wait status: the status of a normal exit,
 * 128 + the signal of a killed process; -1 when it is neither. */
int gone_exit_code(int wait_status);

/* An exit file: one decimal integer 0..255 (whitespace around it).  0 or
 * -EINVAL. */
int gone_parse_exit_file(const char *buf, size_t len, int *code);

/* What is known of a container's end. */
struct container_end {
	bool have_exit;
	int exit_code;
	const char *exit_from; /* "podman", "docker", "cri-o", "proc" ...; NULL */
	bool have_oom;         /* its cgroup's OOM counter was read */
	uint64_t oom_kills;    /* kills counted during its life */
	bool oom_flag;         /* the runtime said it was OOM-killed */
};

/* The reason of a container that exited, appended to out as one JSON
 * object ("oom_killed": the counter rose or the runtime said so). */
void gone_container_json(const struct container_end *e, struct buf *out);

/* The reason of a VM whose QEMU exited: {"reason":"shut down", "how":
 * "QEMU pid N exited", "exit_code" when known}; powered_off: QMP said the
 * guest powered off ("reason":"powered off"). */
void gone_vm_json(int pid, bool powered_off, bool have_exit, int exit_code, struct buf *out);

#endif
