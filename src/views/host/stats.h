/*
 * stats.h - the host's statistics readers, reusable by other live views.
 *
 * host.h declares the host_*() view ops; these are the readers under them
 * that take their sources explicitly, so the container backend can point
 * them at a container's mountinfo and root.
 *
 * Errors and ownership as in view.h: the return is 0 when the whole source
 * was read, the callback's non-zero value when it stopped the walk, or a
 * negative errno when the source could not be read at all (-ENOMEM, or
 * the errno of opening it); an item that cannot be read goes to the
 * iteration's error hook and the walk goes on.  Records and their strings
 * belong to the reader and are valid only during the callback.  The
 * caller keeps `proc_fd` and `root`.
 *
 * What is kept between calls (struct stats_cache, one per live view, used
 * by one thread at a time): the kernel files a daemon reads every tick
 * stay open and are read again from offset 0 with pread() (/proc/stat,
 * meminfo, loadavg, diskstats, the view's net/dev), so a tick opens
 * nothing; the mount table is parsed once and again only when it changes
 * (poll() on the open mountinfo file says POLLPRI when the mount
 * namespace changed); the host's root cgroup directories stay open until
 * then.  A kept file that fails to read is closed and opened again at the
 * next call.  Mount points are opened (O_PATH) for each statfs, never
 * kept: an open descriptor would keep a file system from being unmounted.
 */
#ifndef VANTAGE_STATS_H
#define VANTAGE_STATS_H

#include "../fsroot.h"
#include "../view.h"

/*
 * Stream the file systems mounted in the mount namespace described by the
 * mountinfo file `mountinfo` (relative to `proc_fd`, e.g. "self/mountinfo"
 * or "1234/mountinfo"), each statfs()'d through `root` (mount points are
 * opened inside it, O_PATH, never following a link out of it).
 *
 * Skipped without a record: pseudo file systems (proc, sysfs, cgroup,
 * devpts...), network and FUSE file systems whose statfs() can hang on a
 * dead server (nfs, cifs, ceph, fuse.*; fuseblk is kept), file systems of
 * zero blocks, and mounts hidden under a later mount on the same point.
 * Bind mounts are reported once per mount point.  A mount that cannot be
 * opened or statfs()'d is reported through it->error with its path.
 */
int mounts_filesystems(int proc_fd, const char *mountinfo, struct fsroot *root,
                       const struct view_iter *it, int (*cb)(void *ctx, const struct vt_fs *f));

struct stats_cache;

/* An empty cache (nothing opened yet), or NULL when out of memory. */
struct stats_cache *stats_cache_new(void);
void stats_cache_free(struct stats_cache *c);

/* mounts_filesystems() with the mount table of `mountinfo` kept in `c`
 * (parsed again only when it changed).  `c` may be NULL (nothing kept). */
int mounts_filesystems_kept(struct stats_cache *c, int proc_fd, const char *mountinfo,
                            struct fsroot *root, const struct view_iter *it,
                            int (*cb)(void *ctx, const struct vt_fs *f));

/* The interface counters of the network namespace `netdev` (a net/dev
 * file relative to `proc_fd`: "self/net/dev", "1234/net/dev") names when
 * first read; the file is kept open in `c` (NULL: opened and closed). */
int netdev_counters(struct stats_cache *c, int proc_fd, const char *netdev,
                    const struct view_iter *it, int (*cb)(void *ctx, const struct vt_netio *n));

#endif
