/*
 * host.h - internals of the live host backend, shared by its files.
 *
 * The host view reads the kernel through a procfs and sysfs mount and the
 * host's network namespace, and files through an fsroot at "/".  Each
 * group of ops lives in its own file:
 *
 *   host.c      the view object and its ops table
 *   proc.c      processes         (procfs)
 *   maps.c      memory mappings   (/proc/PID/maps)
 *   sockdiag.c  sockets           (netlink sock_diag) and owner resolution
 *   kernel.c    kernel facts, modules
 *   stats.c     cpu, memory, load, file systems, disk I/O, interface
 *               counters, cgroup, through files kept open (stats.h: the
 *               readers the container view reuses)
 *   cgroup.c    cgroup hierarchies and counters (cgroup.h)
 *   netif.c     interfaces and their counters (rtnetlink)
 *   netns.c     netlink sockets made in another network namespace (netns.h)
 * The text those files read is parsed by the pure parsers of src/linux/.
 *
 * The procfs functions take the procfs directory fd explicitly and an
 * optional pid filter, so the container backend can reuse them for the
 * processes of one container.  Every op follows view.h: 0 or a negative
 * errno, records valid only during the callback, per-item failures
 * through the iteration's error hook.
 */
#ifndef VANTAGE_HOST_H
#define VANTAGE_HOST_H

#include "../../linux/sockdiag_parse.h"
#include "../fsroot.h"
#include "../view.h"

struct passwd_cache;
struct stats_cache;

struct host_view {
	struct view base;
	int proc_fd;                /* O_DIRECTORY fd of /proc */
	int sys_fd;                 /* O_DIRECTORY fd of /sys */
	struct fsroot fs;           /* "/" */
	struct passwd_cache *users; /* uid -> name from the root's etc/passwd, lazy */
	struct stats_cache *stats;  /* kernel files kept open (stats.h), lazy */
};

/* Which processes to list: return true to include host pid `pid`. */
typedef bool (*pid_filter_fn)(void *ctx, int pid);

/* List processes found in `proc_fd`, resolving user names in `users`'
 * passwd (may be NULL).  `filter` may be NULL (all). */
int procfs_processes(int proc_fd, struct passwd_cache *users, pid_filter_fn filter,
                     void *filter_ctx, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_proc *p));

/* uid -> user name from `fs`'s /etc/passwd (parsed once). */
struct passwd_cache *passwd_cache_new(struct fsroot *fs);
const char *passwd_cache_name(struct passwd_cache *c, uint32_t uid);
void passwd_cache_free(struct passwd_cache *c);

/* Dump TCP and UDP sockets (v4 and v6) of the calling thread's network
 * namespace through sock_diag; resolve owners by scanning `proc_fd`.
 * Where sock_diag cannot answer, read proc_fd's thread-self/net files. */
int sockdiag_sockets(int proc_fd, pid_filter_fn filter, void *filter_ctx,
                     const struct view_iter *it, int (*cb)(void *ctx, const struct vt_sock *s));
/* The same, falling back to the files of `netdir` under proc_fd
 * ("<pid>/net" for the netns of the netlink sockets nl_sockets_use() set;
 * NULL: no fallback; see procnet.h). */
int sockdiag_sockets_ns(int proc_fd, const char *netdir, pid_filter_fn filter, void *filter_ctx,
                        const struct view_iter *it, int (*cb)(void *ctx, const struct vt_sock *s));

/*
 * The I/O half, in sockdiag.c, shared with netif.c: open a
 * netlink socket of `protocol` (NETLINK_SOCK_DIAG, NETLINK_ROUTE), send
 * `req` (a whole request message whose nlmsg_seq is w->seq), then receive
 * the replies into `buf` (`size` bytes, 8-byte aligned; 32 KiB holds the
 * largest dump skb) and walk each with nl_walk(w, ..., msg, ctx) until
 * NLMSG_DONE.  The socket is closed before returning.  Returns 0, a
 * negative errno, or msg's non-zero return.
 */
int nl_dump(int protocol, const void *req, size_t reqlen, void *buf, size_t size, struct nl_walk *w,
            int (*msg)(void *ctx, uint16_t type, const void *payload, size_t plen), void *ctx);

/* maps.c: the mappings of process `pid` (a host pid) through proc_fd. */
int procfs_mappings(int proc_fd, int pid, const struct view_iter *it,
                    int (*cb)(void *ctx, const struct maps_line *m));
int host_kernel(struct view *v, struct vt_kernel *out);
int host_modules(struct view *v, const struct view_iter *it,
                 int (*cb)(void *ctx, const struct vt_module *m));
int host_cpu_times(struct view *v, const struct view_iter *it,
                   int (*cb)(void *ctx, const struct vt_cpu *c));
int host_memory(struct view *v, struct vt_mem *out);
int host_load(struct view *v, struct vt_load *out);
int host_filesystems(struct view *v, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_fs *f));
int host_disk_io(struct view *v, const struct view_iter *it,
                 int (*cb)(void *ctx, const struct vt_diskio *d));
int host_cgroup(struct view *v, struct vt_cgroup *out);
int host_interfaces(struct view *v, const struct view_iter *it,
                    int (*cb)(void *ctx, const struct vt_iface *i));
int host_netio(struct view *v, const struct view_iter *it,
               int (*cb)(void *ctx, const struct vt_netio *n));
/* The view's stats cache, made on first use; NULL when out of memory
 * (the readers then open and close their files). */
struct stats_cache *host_stats(struct host_view *h);

#endif
