/*
 * cgroup.h - read the counters of one cgroup, v1, v2 or a hybrid of both.
 *
 * Where the hierarchies live is learnt from a mountinfo file (fstype
 * "cgroup2", or "cgroup" with the controller's name among the super
 * options: "rw,cpu,cpuacct"), never assumed.  Three layouts exist:
 *
 *   v2       one cgroup2 mount (usually /sys/fs/cgroup) holds everything
 *   v1       one cgroup mount per controller (or per group of them)
 *   hybrid   v1 controllers plus a cgroup2 mount with no (or some)
 *            controllers (systemd's /sys/fs/cgroup/unified)
 *
 * A controller is bound to one hierarchy at a time, so cgroup_read() reads
 * each controller where it is: from its v1 mount when there is one, else
 * from the cgroup2 mount.  What a cgroup lacks (the root cgroup has no
 * memory.current nor pids.max) is simply left out of `have`.
 *
 * Used by the host view (the root cgroup, path "/"), by the container view
 * (the container's cgroup path from /proc/PID/cgroup, its directories
 * opened once with cgroup_dirs_open()) and by proc.c (the map of cgroup
 * paths).
 *
 * Ownership: cgroup_mounts_open() opens directory fds that
 * cgroup_mounts_close() closes.
 */
#ifndef VANTAGE_CGROUP_H
#define VANTAGE_CGROUP_H

#include "../view.h"

enum cg_ctrl { CG_CPU, CG_CPUACCT, CG_MEMORY, CG_BLKIO, CG_PIDS, CG_NCTRL };

#define CG_ROOT_MAX 512

/* The cgroup hierarchies of a mount namespace.  Each fd is an O_DIRECTORY
 * fd of a mount (-1 when absent); root is the mount's root inside the
 * hierarchy ("/" unless the mount shows a subtree, as inside a cgroup
 * namespace), stripped from paths given to cgroup_read(). */
struct cgroup_mounts {
	int v2_fd;
	char v2_root[CG_ROOT_MAX];
	int v1_fd[CG_NCTRL];
	char v1_root[CG_NCTRL][CG_ROOT_MAX];
};

/* Name of a v1 controller as it appears in mount options ("cpuacct"). */
const char *cg_ctrl_name(enum cg_ctrl c);

/*
 * Find and open the cgroup mounts listed in the mountinfo file
 * `mountinfo` read relative to `proc_fd` (e.g. "self/mountinfo").  A mount
 * point under /sys is opened relative to `sys_fd` (when >= 0), others by
 * absolute path.  Returns 0 (even if no cgroup mount was found: every fd
 * is then -1) or a negative errno when the mountinfo file cannot be read.
 */
int cgroup_mounts_open(int proc_fd, const char *mountinfo, int sys_fd, struct cgroup_mounts *m);
void cgroup_mounts_close(struct cgroup_mounts *m);

/* True when any hierarchy was found. */
bool cgroup_mounts_any(const struct cgroup_mounts *m);

/*
 * Read the counters of the cgroup at `path` ("/" for the root,
 * "/system.slice/x.service"...; as in /proc/PID/cgroup, including the mount
 * root) into *out (zeroed first).  `version` 0 reads each controller from
 * where it is mounted (v1 first), 1 only v1 mounts, 2 only the cgroup2
 * mount.  out->version is 1 when any v1 file was read, else 2.
 *
 * Returns 0 when at least one counter was read; -ENOENT when the cgroup
 * or every counter file is absent; -EINVAL for a path with ".." or not
 * below the mount root.
 */
int cgroup_read(const struct cgroup_mounts *m, const char *path, int version,
                struct vt_cgroup *out);

/*
 * The directories of one cgroup, opened once and read many times (a
 * container view keeps them for its life: no path walk per sample).
 * cgroup_dirs_open: 0, -ENOENT (no such cgroup anywhere) or -EINVAL (bad
 * path); cgroup_dirs_read: as cgroup_read.
 */
struct cgroup_dirs {
	int v1[CG_NCTRL];
	int v2;
};
int cgroup_dirs_open(const struct cgroup_mounts *m, const char *path, int version,
                     struct cgroup_dirs *d);
int cgroup_dirs_read(const struct cgroup_dirs *d, struct vt_cgroup *out);
void cgroup_dirs_close(struct cgroup_dirs *d);

/* The same from already opened cgroup directories (any may be -1): the
 * cgroup2 directory, or the v1 directories of each controller. */
int cgroup_read_v2(int dirfd, struct vt_cgroup *out);
int cgroup_read_v1(const int dirfd[CG_NCTRL], struct vt_cgroup *out);

#endif
