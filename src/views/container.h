/*
 * container.h - the container backend of the view abstraction.
 *
 * A container is seen from the host, with nothing run inside it:
 *   processes   the host's procfs, only the container's pids (nspid from
 *               status, user names from the container's own etc/passwd);
 *   mappings    /proc/PID/maps of its pids only (-ESRCH for another),
 *               paths as the container sees them;
 *   sockets,    netlink sockets created once inside the container's network
 *   interfaces  namespace (netns.h), owners only among its pids;
 *   files       /proc/<init>/root through fsroot (symlinks resolve inside);
 *   kernel      the host kernel's facts, hostname of the container's UTS
 *               namespace;
 *   metrics     its cgroup's counters (v1 or v2); memory from the cgroup
 *               (used % of its limit); file systems of its mount namespace.
 * No modules (they belong to the host kernel), no per-CPU table, no load.
 *
 * The view copies what it needs from `c`; `c` may be freed after open.
 * Views are not shared between threads.
 */
#ifndef VANTAGE_VIEW_CONTAINER_H
#define VANTAGE_VIEW_CONTAINER_H

#include "../targets/containers.h"
#include "view.h"

/* proc_fd: the host's procfs (borrowed; must outlive the view).
 * Returns 0 or a negative errno (-ESRCH when the container is gone). */
int view_container_open(int proc_fd, const struct container *c, struct view **out);

#endif
