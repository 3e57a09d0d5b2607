/*
 * gone.h - why the systems the daemon saw went away (the fast lane's).
 *
 * The tracker follows every container and VM of the last discovery:
 *   - at first sight it keeps the system's first process (a container's
 *     init, the QEMU) with its start time, and for a container the
 *     OOM-kill counter file of the cgroup that identified it, kept open
 *     (views/host/cgroup.h: memory.oom_control v1, memory.events v2; a
 *     runtime-less container only when that cgroup is its own: not the
 *     host's root cgroup and holding no process of the host);
 *   - at every fast-lane job (each metric tick) it reads those counters;
 *   - when a discovery no longer finds a system, it reads the counter once
 *     more (when the cgroup is still there) and builds the reason
 *     (targets/gone_reason.h): the exit code from the runtime's files
 *     (runtime_meta.h meta_exit: conmon's exit file, podman's or docker's
 *     state), else from /proc/PID/stat of the first process when it is
 *     still a zombie of the same start time; oom_killed when the counter
 *     is above 0 (the counter is read only for a cgroup that is the
 *     container's alone, so every kill it counts is the container's; a
 *     kill seen while it lived is kept when its cgroup is removed with
 *     it), or the runtime says so.
 *     A runtime's container whose exit code is not on disk yet (conmon and
 *     podman's cleanup write it just after) is looked for again, at most
 *     once a second for GONE_PENDING_S seconds, and its reason given again
 *     when found.
 * Reasons are queued: gone_take() hands them over, for store_gone_reason().
 * Touched by the fast lane's thread only.
 */
#ifndef VANTAGE_GONE_H
#define VANTAGE_GONE_H

#include <stdbool.h>
#include <stdint.h>

#include "target.h"

#define GONE_PENDING_S 60

struct gone_tracker;

/* A reason to store: system id and its JSON (both owned by the tracker
 * until the next gone_* call). */
struct gone_report {
	char *id;
	char *json;
};

/* proc_fd: the host's /proc (borrowed). */
struct gone_tracker *gone_new(int proc_fd);
void gone_free(struct gone_tracker *t);

/* Read the OOM counters of the systems followed; first at every job (it
 * empties the queue of reasons). */
void gone_sample(struct gone_tracker *t);

/* After a discovery: follow the new systems of `set`, give reasons for
 * the ones that went away. */
void gone_update(struct gone_tracker *t, const struct target_set *set);

/* Look again for the exit codes still missing (at most once a second). */
void gone_retry(struct gone_tracker *t);

/* The reasons queued since gone_sample(); *n of them.  Valid until the
 * next gone_sample(). */
const struct gone_report *gone_take(struct gone_tracker *t, int *n);

#endif
