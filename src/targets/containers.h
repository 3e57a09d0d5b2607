/*
 * containers.h - discover every container on the host from the outside.
 *
 * No daemon is asked and nothing runs inside a container: one pass over
 * /proc groups processes into containers, then each container is named
 * from its runtime's metadata files (runtime_meta.h) when they exist.
 *
 * Which processes make a container:
 *   1. a process whose /proc/PID/cgroup names a runtime's container
 *      (cgroup_id.h: podman, docker, containerd, CRI-O, Kubernetes, LXC,
 *      systemd-nspawn) belongs to that container, whatever its namespaces
 *      (so `docker run --pid=host` containers and processes `exec`ed into
 *      a container are found too);
 *   2. otherwise a process whose PID namespace differs from the host's
 *      belongs to the container of that PID namespace: runtime "none",
 *      cid "pidns-<inode>" (a plain `unshare --pid`, bubblewrap, a browser
 *      sandbox: anything that made a PID namespace without a runtime we
 *      recognise).  A nested PID namespace inside such a container is a
 *      container of its own;
 *   3. everything else is a host process: a cgroup alone (a service in a
 *      memory-only cgroup) or a private mount/network namespace alone (a
 *      systemd service with PrivateTmp, `ip netns exec`) does not make a
 *      container.
 * The host's namespaces are those of PID 1; where PID 1's are unreadable
 * (on the Firecracker machines PID 1 is process_api and denies access)
 * those of kthreadd (PID 2, always in the initial namespaces), else our
 * own.
 *
 * Per container: the init process (PID 1 of its PID namespace; for a
 * container in the host's PID namespace, its oldest process whose parent
 * is outside it), the init's namespace inodes and cgroup, every process's
 * host PID, a state ("paused" when the cgroup freezer is frozen, "stopped"
 * when the init is stopped by a signal, else the runtime's state when it
 * says "stopping"/"removing"/"restarting", else "running"), and from the
 * runtime metadata: name, image, labels, created time.  Without metadata
 * the name is the container name in the cgroup path (LXC, nspawn), or for
 * runtime "none" the hostname of the container's own UTS namespace
 * (read with setns(2) in a short-lived helper thread; the init's comm
 * when it has no hostname of its own), or the first 12 characters of the
 * id; created is the init's start time.
 *
 * Processes that exit during discovery are skipped; a container whose
 * processes all exited before it could be described is left out.
 */
#ifndef VANTAGE_CONTAINERS_H
#define VANTAGE_CONTAINERS_H

#include <stddef.h>
#include <stdint.h>

#include "system.h"

struct container {
	struct system_id sys; /* id "container:<runtime>:<cid>", name, kind
	                       * "container", runtime, image, host;
	                       * sys.labels_json == labels_json */
	char cid[128];        /* full container id: 64 hex (podman, docker, containerd,
	                       * CRI-O), the name (LXC, nspawn), "pidns-<inode>" (none) */
	int init_pid;         /* host pid of the container's first process */
	uint64_t pidns, netns, mntns, utsns; /* the init's namespace inodes */
	char cgroup[1024]; /* the cgroup that identified it (cut after the runtime part) */
	char state[16];    /* "running", "paused", "stopped", ... */
	int64_t created;   /* seconds since the epoch, 0 if unknown */
	char *labels_json; /* JSON object text ({"app":"web"}); never NULL ("{}");
	                    * owned by the container */
	char pod_uid[64];  /* Kubernetes pod UID from the cgroup path, "" if none */
	int *pids;         /* host pids of every process, ascending; owned */
	int npids;
};

struct container_list {
	struct container *v; /* sorted by runtime, then name, then cid */
	int n;
	int host_procs; /* processes of the host itself (not in any container) */
	int host_pid1;  /* pid whose namespaces were taken as the host's */
};

/*
 * Discover the containers running now.  `proc_fd` is an O_DIRECTORY fd of
 * the host's procfs (every read is openat/fstatat relative to it);
 * runtime metadata is read from the root file system "/".  On success
 * *out owns its memory (free with container_list_free()).  Returns 0 or a
 * negative errno when /proc cannot be listed.
 */
int containers_discover(int proc_fd, struct container_list *out);

/* The same with the runtimes' metadata files read below `root_fd` (an
 * O_DIRECTORY fd standing for the host's "/"; tests point it at a tree
 * of sample files). */
int containers_discover_at(int proc_fd, int root_fd, struct container_list *out);

void container_list_free(struct container_list *l);

/*
 * Find a container by its system id ("container:podman:3f2a…"), full cid,
 * name, or a cid prefix of at least 4 characters that only one container
 * has.  NULL when none (or the prefix is ambiguous).
 */
const struct container *container_find(const struct container_list *l, const char *id_or_name);

/* The short id shown in tables: the first 12 characters of the cid, or the
 * whole cid when it is not 64 hex digits. */
void container_short_id(const struct container *c, char *dst, size_t cap);

#endif
