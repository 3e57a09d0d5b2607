/*
 * stats.c - the host's statistics: CPU times, memory, load, mounted file
 * systems, disk I/O and the root cgroup's counters.
 *
 * How: every op reads a kernel file through the host view's proc_fd (or
 * sys_fd for cgroups) and hands the text to a pure parser of
 * linux/stats_parse.c.  Files that grow with the machine (/proc/stat with
 * its huge "intr" line, /proc/self/mountinfo, /proc/diskstats) are
 * streamed line by line through a fixed buffer (linux/linereader.c) and each item goes to
 * the callback at once; the small ones (meminfo, loadavg) are read whole
 * into a stack buffer.
 *
 * Decisions:
 * - CPU times are USER_HZ ticks converted to seconds with sysconf(_SC_CLK_TCK).
 * - File systems: see stats.h (pseudo and network/FUSE file systems are
 *   skipped; statfs goes through an O_PATH fd opened inside the view's root;
 *   a mount hidden by a later mount on the same point is skipped, detected
 *   by comparing statx()'s mount id with mountinfo's).
 * - Disk I/O: every device of /proc/diskstats, whole disks and partitions,
 *   except ram* and loop* devices that never did any I/O.  Bytes are sectors
 *   * 512 (the unit of diskstats whatever the device's sector size).
 * - cgroup: the root cgroup ("/") read by cgroup.c from wherever each
 *   controller is mounted (v2, v1 or hybrid).
 */
#include "host.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../../util/util.h"
#include "cgroup.h"
#include "../../linux/linereader.h"
#include "../../linux/stats_parse.h"

#define HOST(v) ((struct host_view *)(v))
#define LINE_MAX_MOUNTINFO 16384 /* two escaped PATH_MAX paths and options */

static void iter_error(const struct view_iter *it, const char *what, int err)
{
	if (it && it->error)
		it->error(it->ctx, what, err);
}

/* Open a procfs file for line reading. */
static int open_lines(int dirfd, const char *path, size_t cap, struct linereader *lr)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return lr_init(lr, fd, cap);
}

static double clock_ticks(void)
{
	long hz = sysconf(_SC_CLK_TCK);
	return hz > 0 ? (double)hz : 100.0;
}

/* ---- CPU ------------------------------------------------------------------ */

int host_cpu_times(struct view *v, const struct view_iter *it,
                   int (*cb)(void *ctx, const struct vt_cpu *c))
{
	struct linereader lr;
	const char *line;
	size_t len;
	double hz = clock_ticks();
	int r, found = 0, lineno = 0;

	if ((r = open_lines(HOST(v)->proc_fd, "stat", 4096, &lr)) < 0)
		return r;
	while ((r = lr_next(&lr, &line, &len)) > 0) {
		struct cpu_ticks t;
		char what[32];
		lineno++;
		int k = stat_parse_cpu_line(line, len, &t);
		if (k == 0) {
			if (found) {
				r = 0; /* the cpu lines are over */
				break;
			}
			continue;
		}
		if (k < 0) {
			snprintf(what, sizeof(what), "/proc/stat line %d", lineno);
			iter_error(it, what, EINVAL);
			continue;
		}
		found++;
		struct vt_cpu c = {
		    .cpu = t.cpu,
		    .user = (double)t.user / hz,
		    .nice = (double)t.nice / hz,
		    .system = (double)t.system / hz,
		    .idle = (double)t.idle / hz,
		    .iowait = (double)t.iowait / hz,
		    .irq = (double)t.irq / hz,
		    .softirq = (double)t.softirq / hz,
		    .steal = (double)t.steal / hz,
		};
		if ((r = cb(it ? it->ctx : NULL, &c)) != 0)
			break;
	}
	lr_close(&lr);
	if (r != 0)
		return r;
	return found ? 0 : -ENODATA;
}

/* ---- memory, load ---------------------------------------------------------- */

int host_memory(struct view *v, struct vt_mem *out)
{
	char buf[16384];
	ssize_t n = read_small_at(HOST(v)->proc_fd, "meminfo", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return meminfo_parse(buf, (size_t)n, out);
}

int host_load(struct view *v, struct vt_load *out)
{
	char buf[256];
	ssize_t n = read_small_at(HOST(v)->proc_fd, "loadavg", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return loadavg_parse(buf, (size_t)n, out);
}

/* ---- file systems ------------------------------------------------------------ */

/* True when the mount at fd is not the one mountinfo calls `mount_id`
 * (another mount sits on the same point).  False when unsure. */
static bool mount_hidden(int fd, int mount_id)
{
#ifdef STATX_MNT_ID
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &sx) == 0 &&
	    (sx.stx_mask & STATX_MNT_ID))
		return sx.stx_mnt_id != (uint64_t)mount_id;
#else
	(void)fd;
	(void)mount_id;
#endif
	return false;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* statfs one mount; 1 if it is to be reported, 0 to skip, -errno. */
static int stat_mount(struct fsroot *root, const struct mountinfo *mi, struct vt_fs *fs)
{
	struct statvfs sv;
	int fd = fsroot_openat(root, mi->mountpoint, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return fd;
	if (mount_hidden(fd, mi->mount_id)) {
		close(fd);
		return 0;
	}
	int r = fstatvfs(fd, &sv);
	int e = errno;
	close(fd);
	if (r < 0)
		return -e;
	if (sv.f_blocks == 0)
		return 0;
	uint64_t frsize = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
	uint64_t bfree = sv.f_bfree <= sv.f_blocks ? sv.f_bfree : sv.f_blocks;
	*fs = (struct vt_fs){
	    .mountpoint = mi->mountpoint,
	    .device = mi->source,
	    .fstype = mi->fstype,
	    .size_bytes = mul_sat(sv.f_blocks, frsize),
	    .used_bytes = mul_sat(sv.f_blocks - bfree, frsize),
	    .avail_bytes = mul_sat(sv.f_bavail <= bfree ? sv.f_bavail : bfree, frsize),
	    .inodes = sv.f_files,
	    .inodes_free = sv.f_ffree <= sv.f_files ? sv.f_ffree : sv.f_files,
	};
	return 1;
}

int mounts_filesystems(int proc_fd, const char *mountinfo, struct fsroot *root,
                       const struct view_iter *it, int (*cb)(void *ctx, const struct vt_fs *f))
{
	struct linereader lr;
	const char *line;
	size_t len;
	int r, lineno = 0;
	char what[64];

	char *sc = malloc(MOUNTINFO_SCRATCH(LINE_MAX_MOUNTINFO));
	if (!sc)
		return -ENOMEM;
	if ((r = open_lines(proc_fd, mountinfo, LINE_MAX_MOUNTINFO, &lr)) < 0) {
		free(sc);
		return r;
	}
	while ((r = lr_next(&lr, &line, &len)) > 0) {
		struct mountinfo mi;
		struct vt_fs fs;
		lineno++;
		if (mountinfo_parse_line(line, len, sc, MOUNTINFO_SCRATCH(LINE_MAX_MOUNTINFO),
		                         &mi) < 0) {
			snprintf(what, sizeof(what), "mountinfo line %d", lineno);
			iter_error(it, what, EINVAL);
			continue;
		}
		if (fs_classify(mi.fstype) != FS_LOCAL)
			continue;
		int k = stat_mount(root, &mi, &fs);
		if (k < 0)
			iter_error(it, mi.mountpoint, -k);
		if (k <= 0)
			continue;
		if ((r = cb(it ? it->ctx : NULL, &fs)) != 0)
			break;
	}
	if (lr.skipped)
		iter_error(it, "mountinfo (line too long)", E2BIG);
	lr_close(&lr);
	free(sc);
	return r;
}

int host_filesystems(struct view *v, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_fs *f))
{
	struct host_view *h = HOST(v);
	return mounts_filesystems(h->proc_fd, "self/mountinfo", &h->fs, it, cb);
}

/* ---- disk I/O ------------------------------------------------------------------- */

/* ram and loop devices exist by the dozen and mostly never serve I/O. */
static bool idle_virtual_disk(const struct diskstats *d)
{
	bool virt = strncmp(d->name, "ram", 3) == 0 || strncmp(d->name, "loop", 4) == 0;
	return virt && d->reads == 0 && d->writes == 0;
}

int host_disk_io(struct view *v, const struct view_iter *it,
                 int (*cb)(void *ctx, const struct vt_diskio *d))
{
	struct linereader lr;
	const char *line;
	size_t len;
	int r, lineno = 0;

	if ((r = open_lines(HOST(v)->proc_fd, "diskstats", 4096, &lr)) < 0)
		return r;
	while ((r = lr_next(&lr, &line, &len)) > 0) {
		struct diskstats d;
		lineno++;
		if (diskstats_parse_line(line, len, &d) < 0) {
			char what[48];
			snprintf(what, sizeof(what), "/proc/diskstats line %d", lineno);
			iter_error(it, what, EINVAL);
			continue;
		}
		if (idle_virtual_disk(&d))
			continue;
		struct vt_diskio io = {
		    .device = d.name,
		    .reads = d.reads,
		    .writes = d.writes,
		    .read_bytes = mul_sat(d.read_sectors, 512),
		    .write_bytes = mul_sat(d.write_sectors, 512),
		    .read_ms = d.read_ms,
		    .write_ms = d.write_ms,
		    .io_ms = d.io_ms,
		};
		if ((r = cb(it ? it->ctx : NULL, &io)) != 0)
			break;
	}
	lr_close(&lr);
	return r;
}

/* ---- cgroup ------------------------------------------------------------------- */

int host_cgroup(struct view *v, struct vt_cgroup *out)
{
	struct host_view *h = HOST(v);
	struct cgroup_mounts m;
	int r = cgroup_mounts_open(h->proc_fd, "self/mountinfo", h->sys_fd, &m);
	if (r < 0)
		return r;
	r = cgroup_mounts_any(&m) ? cgroup_read(&m, "/", 0, out) : -ENOENT;
	cgroup_mounts_close(&m);
	return r;
}
