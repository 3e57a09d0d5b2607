/*
 * cgroup_id.h - recognise a container runtime and container id from a
 * cgroup path, and pick "the" cgroup line of a /proc/PID/cgroup file.
 *
 * Pure parsers: they take bytes read from the observed system (any of
 * which may be garbage: a container with a delegated cgroup tree can name
 * sub-cgroups as it likes) and never read past the given length.
 *
 * Recognised path components (the OUTERMOST recognised component of a path
 * wins, so processes in sub-cgroups of a container, e.g. the payload of an
 * nspawn or LXC container that runs its own systemd, or a nested runtime,
 * belong to the outer container):
 *
 *   podman      libpod-<64hex>[.scope]            (not libpod-conmon-*, nor
 *                                                 /libpod_parent/conmon)
 *   docker      docker-<64hex>.scope, and <64hex> right after a "docker"
 *               component (/docker/<id>)
 *   containerd  cri-containerd-<64hex>.scope
 *   cri-o       crio-<64hex>[.scope]              (not crio-conmon-*)
 *   cri         <64hex> right after a Kubernetes pod component in a
 *               cgroupfs-driver tree (kubepods/burstable/pod<uid>/<id>):
 *               the runtime cannot be told from the path; runtime_meta.c
 *               refines it from the runtimes' state directories
 *   lxc         lxc.payload.<name>, lxc.payload/<name>, lxc/<name>
 *               (not lxc.monitor.*)
 *   nspawn      machine-<name>.scope right under machine.slice, the name
 *               unescaped (\x2d -> '-'); libvirt's machine-qemu-* scopes
 *               are VMs, not containers, and are skipped
 *
 * Under kubepods, the pod UID is taken from the pod component
 * (pod<uid> or kubepods-<qos>-pod<uid_with_underscores>.slice).
 */
#ifndef VANTAGE_CGROUP_ID_H
#define VANTAGE_CGROUP_ID_H

#include <stdbool.h>
#include <stddef.h>

struct cgroup_cid {
	char runtime[16]; /* "podman", "docker", "containerd", "cri-o", "cri",
	                   * "lxc", "nspawn" */
	char id[128];     /* container id (64 hex) or name (lxc, nspawn) */
	char pod_uid[64]; /* Kubernetes pod UID ("" if none) */
	size_t end;       /* length of the path up to the end of the recognised
	                   * component: the container's own cgroup is the path's
	                   * first `end` bytes (sub-cgroups below it are cut) */
};

/*
 * Recognise the container of one cgroup path ("/libpod_parent/libpod-…").
 * Returns true and fills *out when a runtime's container is recognised,
 * false otherwise (*out is then zeroed).
 */
bool cgroup_id_from_path(const char *path, size_t len, struct cgroup_cid *out);

/*
 * Scan a /proc/PID/cgroup file, v1 ("4:memory:/x") and v2 ("0::/x") lines
 * alike, and recognise the container from the first line whose path is
 * recognised.  When `path` is given, *path and *path_len point into `buf` at
 * that line's path.  Returns true when recognised.
 */
bool cgroup_id_from_file(const char *buf, size_t len, struct cgroup_cid *out, const char **path,
                         size_t *path_len);

/*
 * The most representative cgroup path of a /proc/PID/cgroup file: the
 * path of a line recognised as a container's, cut after the recognised
 * component (the cgroup that identifies the container: "/lxc.payload.c1"
 * for a process in "/lxc.payload.c1/system.slice/x.service"), else the
 * unified ("0::")
 * path when it is not "/", else the memory controller's path, else the
 * first line's.  Returns 0 and points *path into `buf`, or -EINVAL when
 * no line has the "id:controllers:path" shape.
 */
int cgroup_pick_path(const char *buf, size_t len, const char **path, size_t *path_len);

/*
 * The path of the line of `controller` ("freezer", "memory"; "" for the
 * unified "0::" line).  Returns 0 and points *path into `buf`, or -ENOENT.
 */
int cgroup_controller_path(const char *buf, size_t len, const char *controller, const char **path,
                           size_t *path_len);

/*
 * The cgroup of `controller` ("memory", "cpu"; "" for the unified "0::"
 * line) that a container's counters are read from: that line's path cut
 * after its outermost recognised component ("/machine.slice/libpod-<id>.scope"
 * for ".../libpod-<id>.scope/container").  Returns 1 with the cut path when
 * the line names a container, 0 with the whole path when it names none,
 * -ENOENT when the file has no line for the controller.  *path points into
 * `buf`.
 */
int cgroup_container_path(const char *buf, size_t len, const char *controller, const char **path,
                          size_t *path_len);

#endif
