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
 * (the container's own cgroup in each hierarchy, its files kept open with
 * cgroup_dirs_open_paths()) and by proc.c (the map of cgroup paths).
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

/* Hierarchies a cgroup is read in: the v1 controllers, then cgroup2. */
enum { CG_V2 = CG_NCTRL, CG_NHIER };

/*
 * Read the counters of the cgroup at `path` ("/" for the root,
 * "/system.slice/x.service"...; as in /proc/PID/cgroup, including the mount
 * root) into *out (zeroed first).  `version` 0 reads each controller from
 * where it is mounted (v1 first), 1 only v1 mounts, 2 only the cgroup2
 * mount.  out->version is 1 when any v1 file was read, else 2.
 *
 * Limits are effective ones (see cgroup_dirs_read).  Returns 0 when at
 * least one counter was read; -ENOENT when the cgroup or every counter
 * file is absent; -EINVAL for a path with ".." or not below the mount root.
 */
int cgroup_read(const struct cgroup_mounts *m, const char *path, int version,
                struct vt_cgroup *out);

/*
 * One cgroup kept open and read many times (a container view keeps it for
 * its life): its counter files, and the limit files of its ancestors, are
 * opened the first time they are needed and then read with pread() at
 * offset 0 on every sample: no path walk, no open or close per sample.
 * Files that are absent are not tried again until 64 reads later.  When a
 * read fails with ENODEV or ENOENT (the cgroup was removed, or removed and
 * made again) every file is closed and the sample is taken once more from
 * the paths.
 *
 * Effective limits (what percentages are of): the tightest limit set on
 * the cgroup or any ancestor below the hierarchy's root (up to 15
 * ancestors, the nearest ones):
 *   memory  v1: the smaller of memory.limit_in_bytes and memory.stat's
 *           hierarchical_memory_limit; v2: memory.max of each level
 *   pids    pids.max of each level (v1 and v2)
 *   CPU     v1: cpu.cfs_quota_us / cpu.cfs_period_us of each level;
 *           v2: cpu.max ("quota period") of each level; in cores
 * The values set on the cgroup itself are kept in the *_own fields.
 *
 * The cgroup_dirs hold a pointer to `m`, which must outlive them.
 * File descriptors held: about 16 for a container on a v1 or hybrid host,
 * 11 on a v2 host, plus 2 or 3 per ancestor level.
 */
struct cgroup_dirs;

/* The path to read in each hierarchy (NULL: not read there). */
struct cgroup_paths {
	const char *path[CG_NHIER];
};

/*
 * Open the cgroup at `path` in every hierarchy (`version` as for
 * cgroup_read), or at one path per hierarchy.  A hierarchy that is not
 * mounted or has no such directory is left out.  0 and *out (free with
 * cgroup_dirs_close), -ENOENT (no such cgroup anywhere) or -EINVAL (a
 * path with "..", not absolute, or not below the mount root).
 */
int cgroup_dirs_open(const struct cgroup_mounts *m, const char *path, int version,
                     struct cgroup_dirs **out);
int cgroup_dirs_open_paths(const struct cgroup_mounts *m, const struct cgroup_paths *p,
                           struct cgroup_dirs **out);
/* Read one sample into *out (zeroed first): as cgroup_read. */
int cgroup_dirs_read(struct cgroup_dirs *d, struct vt_cgroup *out);
/* Files held open now. */
int cgroup_dirs_nfiles(const struct cgroup_dirs *d);
void cgroup_dirs_close(struct cgroup_dirs *d);

/* The same from already opened cgroup directories (any may be -1): the
 * cgroup2 directory, or the v1 directories of each controller.  They fill
 * only the fields *out does not have yet; limits are the directory's own
 * (no ancestors are read). */
int cgroup_read_v2(int dirfd, struct vt_cgroup *out);
int cgroup_read_v1(const int dirfd[CG_NCTRL], struct vt_cgroup *out);

/*
 * The OOM-kill counter of the cgroup at `path` in hierarchy `hier`
 * ("oom_kill" of memory.oom_control in the v1 memory hierarchy, of
 * memory.events in cgroup2; both count the cgroup and everything below
 * it): cgroup_oom_open() opens the file (an fd, or -ENOENT when the
 * hierarchy is not mounted or has no such file, -EINVAL for a bad path),
 * cgroup_oom_read() reads it again (pread at 0): 0 with *out, -ENOENT when
 * the kernel does not count OOM kills, -ENODEV once the cgroup is removed.
 */
int cgroup_oom_open(const struct cgroup_mounts *m, int hier, const char *path);
int cgroup_oom_read(int fd, uint64_t *out);

/*
 * Is the cgroup at `path` in hierarchy `hier` (and every cgroup below it)
 * only the system's?  Reads cgroup.procs of the cgroup and of up to 256
 * cgroups below it and returns the first pid for which member() is false,
 * 0 when every pid is a member, or a negative errno (-ENOENT: no such
 * cgroup, -EINVAL: a bad path).
 */
int cgroup_foreign_pid(const struct cgroup_mounts *m, int hier, const char *path,
                       bool (*member)(void *ctx, int pid), void *ctx);

#endif
