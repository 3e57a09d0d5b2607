/*
 * view.h - the one abstraction every feature reads through.
 *
 * A view answers questions about ONE system: list its processes, list its
 * sockets, open a file inside its root, read its cgroup counters, read its
 * kernel's facts and counters.  There is one implementation (backend) per
 * way of reaching a system:
 *
 *   host       live procfs + sysfs + netlink of the host (views/host/)
 *   root       a mounted root file system, kind "image" (views/root.c)
 *   container  live procfs/namespaces/cgroups of a container (views/container.c)
 *   vm         guest-memory introspection             (views/vm.c, src/vmi/)
 *   image      a raw ext2/3/4 disk image through libext2fs (views/image.c)
 *
 * Features never look at /proc or the file system directly: they call the
 * view_*() wrappers below and format what comes back.  A backend fills
 * structured records (struct vt_*) and streams them to a callback; it never
 * builds a whole list in memory.  An operation a backend cannot answer has
 * a NULL op, and the wrapper returns -ENOTSUP.
 *
 * Data in records passed to callbacks is owned by the backend and valid
 * only during the callback.
 *
 * Partial failure: a backend that cannot read one item (a process that
 * exited, a file that denies access) still calls the callback with the
 * fields it has, `have` telling which are valid and `err` holding the
 * first errno met; or, when it has nothing, calls the `error` hook of the
 * iteration (struct view_iter) so the feature can count it.  A whole-op
 * failure returns a negative errno.
 *
 * Callbacks return 0 to continue, or a non-zero value which stops the
 * iteration and is returned by the op.
 */
#ifndef VANTAGE_VIEW_H
#define VANTAGE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/buf.h"

struct view;

/* ---- processes ---------------------------------------------------------- */

enum vt_proc_field {
	VP_PPID = 1u << 0,
	VP_NSPID = 1u << 1,
	VP_UID = 1u << 2,
	VP_COMM = 1u << 3,
	VP_CMDLINE = 1u << 4,
	VP_EXE = 1u << 5,
	VP_CWD = 1u << 6,
	VP_STATE = 1u << 7,
	VP_START = 1u << 8,
	VP_THREADS = 1u << 9,
	VP_RSS = 1u << 10,
	VP_VSZ = 1u << 11,
	VP_CPU = 1u << 12,
	VP_FDS = 1u << 13,
	VP_CGROUP = 1u << 14,
	VP_USER = 1u << 15,
};

struct vt_proc {
	unsigned have;		/* VP_* bits of valid fields */
	int err;		/* first errno met reading this process, 0 if none */
	int pid;		/* PID as seen from the host (the view's outside) */
	int ppid;
	int nspid;		/* PID as seen in its own PID namespace */
	uint32_t uid;		/* real uid */
	char state;		/* R, S, D, Z, T, t, X, I ... */
	char comm[64];
	const char *user;	/* name resolved in the system's own passwd, or NULL */
	const char *cmdline;	/* argv joined with single spaces */
	size_t cmdline_len;
	const char *exe;
	const char *cwd;
	const char *cgroup;	/* the process's cgroup path */
	int64_t start_time;	/* seconds since the epoch */
	uint64_t threads;
	uint64_t rss_kb;
	uint64_t vsz_kb;
	double cpu_user_s;
	double cpu_system_s;
	uint64_t fds;		/* open file descriptors */
};

/* ---- sockets ------------------------------------------------------------ */

enum vt_sock_field { VS_OWNER = 1u << 0, VS_UID = 1u << 1, VS_INODE = 1u << 2 };

struct vt_sock {
	unsigned have;
	int family;		/* AF_INET or AF_INET6 */
	int proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	char local_addr[48];	/* numeric text form */
	uint16_t local_port;
	char remote_addr[48];
	uint16_t remote_port;
	int state;		/* TCP_* state numbers from netinet/tcp.h */
	uint64_t inode;
	uint32_t uid;
	int pid;		/* owning process, if VS_OWNER */
	char comm[64];
};

/* Text name of a TCP state ("LISTEN", "ESTABLISHED"...), or "UNKNOWN". */
const char *vt_tcp_state_name(int state);

/* ---- kernel facts ------------------------------------------------------- */

enum vt_kernel_field {
	VK_RELEASE = 1u << 0, VK_VERSION = 1u << 1, VK_HOSTNAME = 1u << 2,
	VK_DOMAIN = 1u << 3, VK_MACHINE = 1u << 4, VK_BOOT = 1u << 5, VK_UPTIME = 1u << 6,
};

struct vt_kernel {
	unsigned have;
	char release[128];	/* uname -r */
	char version[256];	/* uname -v */
	char hostname[256];
	char domainname[256];
	char machine[64];	/* uname -m */
	double boot_time;	/* seconds since the epoch */
	double uptime;		/* seconds */
};

/* ---- kernel modules ----------------------------------------------------- */

struct vt_module {
	const char *name;
	uint64_t size;
	int64_t refcount;	/* -1 if unknown */
	const char *state;	/* "Live", "Loading", "Unloading" */
	const char *deps;	/* comma-separated names of modules using it, "" if none */
};

/* ---- metrics ------------------------------------------------------------ */

/* Cumulative CPU time in seconds (USER_HZ ticks converted). cpu == -1 is
 * the total over all CPUs. */
struct vt_cpu {
	int cpu;
	double user, nice, system, idle, iowait, irq, softirq, steal;
};

enum vt_mem_field { VM_AVAILABLE = 1u << 0, VM_SWAP = 1u << 1, VM_CACHE = 1u << 2 };

struct vt_mem {
	unsigned have;
	uint64_t total_kb, free_kb, available_kb, buffers_kb, cached_kb;
	uint64_t swap_total_kb, swap_free_kb;
};

struct vt_load {
	double load1, load5, load15;
	uint64_t running, total;	/* runnable / total scheduling entities */
};

struct vt_fs {			/* one mounted file system */
	const char *mountpoint;
	const char *device;
	const char *fstype;
	uint64_t size_bytes, used_bytes, avail_bytes;
	uint64_t inodes, inodes_free;
};

struct vt_diskio {		/* one block device */
	const char *device;
	uint64_t reads, writes, read_bytes, write_bytes;
	uint64_t read_ms, write_ms, io_ms;
};

struct vt_netio {		/* one network interface's counters */
	const char *ifname;
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

/* ---- interfaces --------------------------------------------------------- */

struct vt_iface {
	const char *name;
	int index;
	char mac[24];		/* "aa:bb:cc:dd:ee:ff" or "" */
	unsigned mtu;
	unsigned flags;		/* IFF_* */
	const char *const *addrs;	/* "addr/prefix" strings, NULL-terminated */
	struct vt_netio counters;
};

/* ---- cgroups ------------------------------------------------------------ */

enum vt_cgroup_field {
	VC_CPU = 1u << 0, VC_THROTTLE = 1u << 1, VC_MEM = 1u << 2, VC_MEMLIMIT = 1u << 3,
	VC_MEMSTAT = 1u << 4, VC_IO = 1u << 5, VC_PIDS = 1u << 6, VC_PIDSLIMIT = 1u << 7,
};

struct vt_cgroup {
	unsigned have;
	int version;		/* 1 or 2 */
	uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
	uint64_t nr_periods, nr_throttled, throttled_ns;
	uint64_t mem_usage, mem_limit;	/* bytes; limit UINT64_MAX when unlimited */
	uint64_t mem_cache, mem_anon;
	uint64_t io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
	uint64_t pids_current, pids_limit;	/* limit UINT64_MAX when unlimited */
};

/* ---- files -------------------------------------------------------------- */

enum vt_ftype { VF_REG, VF_DIR, VF_LNK, VF_CHR, VF_BLK, VF_FIFO, VF_SOCK, VF_UNKNOWN };

const char *vt_ftype_name(enum vt_ftype t);

struct vt_stat {
	enum vt_ftype type;
	uint32_t mode;		/* permission bits incl. setuid/setgid/sticky */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime, ctime;	/* seconds since the epoch */
	uint64_t inode;
	uint64_t nlink;
};

/* An open regular file inside the system; read with view_file_read(). */
struct vfile;

/* One entry met by a walk. `path` is the path inside the system ("/etc/x"),
 * `link` the target of a symlink (as stored, never followed) or NULL. */
struct vt_walk_entry {
	const char *path;
	const char *name;	/* last component */
	struct vt_stat st;
	const char *link;
	int depth;
	void *priv;		/* backend's handle for view_walk_open() */
};

/* What a walk reports besides entries: a path it could not read. */
struct vt_walk_ops {
	/* Called for each entry. Return VT_WALK_SKIP on a directory to not
	 * descend into it, 0 to go on, anything else (>0) to stop. */
	int (*entry)(void *ctx, const struct vt_walk_entry *e);
	/* Called for a path that could not be read (err: positive errno). */
	void (*error)(void *ctx, const char *path, int err);
};
#define VT_WALK_SKIP (-1)

/* Generic per-item error hook for the iterating ops below: `what` names the
 * item ("pid 1234", "/proc/net/dev"), err is a positive errno. */
struct view_iter {
	void *ctx;
	void (*error)(void *ctx, const char *what, int err);
};

/* ---- the backend interface ---------------------------------------------- */

struct view_ops {
	const char *name;	/* "host", "root", ... */

	int (*processes)(struct view *v, const struct view_iter *it,
			 int (*cb)(void *ctx, const struct vt_proc *p));
	/* Sockets of the system's network namespace.  Owners resolved when
	 * the backend can; unresolved ones lack VS_OWNER. */
	int (*sockets)(struct view *v, const struct view_iter *it,
		       int (*cb)(void *ctx, const struct vt_sock *s));
	int (*kernel)(struct view *v, struct vt_kernel *out);
	int (*modules)(struct view *v, const struct view_iter *it,
		       int (*cb)(void *ctx, const struct vt_module *m));
	int (*cpu_times)(struct view *v, const struct view_iter *it,
			 int (*cb)(void *ctx, const struct vt_cpu *c));
	int (*memory)(struct view *v, struct vt_mem *out);
	int (*load)(struct view *v, struct vt_load *out);
	int (*filesystems)(struct view *v, const struct view_iter *it,
			   int (*cb)(void *ctx, const struct vt_fs *f));
	int (*disk_io)(struct view *v, const struct view_iter *it,
		       int (*cb)(void *ctx, const struct vt_diskio *d));
	int (*interfaces)(struct view *v, const struct view_iter *it,
			  int (*cb)(void *ctx, const struct vt_iface *i));
	int (*cgroup)(struct view *v, struct vt_cgroup *out);

	/* Files, always confined to the system's root: symlinks resolve
	 * inside it and never escape; paths are absolute inside the system. */
	int (*file_open)(struct view *v, const char *path, struct vfile **out);
	ssize_t (*file_read)(struct vfile *f, void *dst, size_t n);
	int (*file_stat)(struct vfile *f, struct vt_stat *out);
	void (*file_close)(struct vfile *f);
	/* lstat-like: does not follow a final symlink. */
	int (*stat)(struct view *v, const char *path, struct vt_stat *out);
	int (*walk)(struct view *v, const char *root, const struct vt_walk_ops *ops,
		    void *ctx);
	/* Open the regular file of a walk entry (valid during the entry cb). */
	int (*walk_open)(struct view *v, const struct vt_walk_entry *e, struct vfile **out);

	void (*destroy)(struct view *v);
};

/* Every backend embeds this as its first member. */
struct view {
	const struct view_ops *ops;
};

/* ---- wrappers: what features call --------------------------------------- */

int view_processes(struct view *v, const struct view_iter *it,
		   int (*cb)(void *ctx, const struct vt_proc *p));
int view_sockets(struct view *v, const struct view_iter *it,
		 int (*cb)(void *ctx, const struct vt_sock *s));
int view_kernel(struct view *v, struct vt_kernel *out);
int view_modules(struct view *v, const struct view_iter *it,
		 int (*cb)(void *ctx, const struct vt_module *m));
int view_cpu_times(struct view *v, const struct view_iter *it,
		   int (*cb)(void *ctx, const struct vt_cpu *c));
int view_memory(struct view *v, struct vt_mem *out);
int view_load(struct view *v, struct vt_load *out);
int view_filesystems(struct view *v, const struct view_iter *it,
		     int (*cb)(void *ctx, const struct vt_fs *f));
int view_disk_io(struct view *v, const struct view_iter *it,
		 int (*cb)(void *ctx, const struct vt_diskio *d));
int view_interfaces(struct view *v, const struct view_iter *it,
		    int (*cb)(void *ctx, const struct vt_iface *i));
int view_cgroup(struct view *v, struct vt_cgroup *out);
int view_file_open(struct view *v, const char *path, struct vfile **out);
ssize_t view_file_read(struct view *v, struct vfile *f, void *dst, size_t n);
int view_file_stat(struct view *v, struct vfile *f, struct vt_stat *out);
void view_file_close(struct view *v, struct vfile *f);
int view_stat(struct view *v, const char *path, struct vt_stat *out);
int view_walk(struct view *v, const char *root, const struct vt_walk_ops *ops, void *ctx);
int view_walk_open(struct view *v, const struct vt_walk_entry *e, struct vfile **out);
void view_destroy(struct view *v);

/*
 * Read a whole regular file of the system into `out` (appended), at most
 * `max` bytes.  Refuses anything but a regular file (FIFOs, devices) with
 * -EINVAL, so a hostile system cannot make a read block.  Returns bytes
 * read or a negative errno; *truncated set when the file was larger.
 */
ssize_t view_read_file(struct view *v, const char *path, struct buf *out, size_t max,
		       bool *truncated);

/* True when the backend implements the named capability. */
#define VIEW_HAS(v, op) ((v)->ops->op != NULL)

/* ---- backends ------------------------------------------------------------ */

/* The live host: procfs at /proc, files under "/", the host's netns. */
int view_host_open(struct view **out);
/* A mounted root file system at `dir`: files only (kind "image"). */
int view_root_open(const char *dir, struct view **out);

#endif
