/*
 * records.h - what a Linux system is made of, as Vantage reads it: a
 * process, a socket, a module, CPU and memory counters, a file system, a
 * network interface, a cgroup, a file's metadata.
 *
 * These are the records every view yields (views/view.h) and every pure
 * parser of a kernel interface in this folder fills.  They hold values
 * only: no pointer here owns memory, and strings are borrowed from
 * whoever filled the record, for as long as the callback that receives it
 * runs.  `have` bits say which optional fields are valid.
 */
#ifndef VANTAGE_LINUX_RECORDS_H
#define VANTAGE_LINUX_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
	unsigned have; /* VP_* bits of valid fields */
	int err;       /* first errno met reading this process, 0 if none */
	int pid;       /* PID as seen from the host (the view's outside) */
	int ppid;
	int nspid;    /* PID as seen in its own PID namespace */
	uint32_t uid; /* real uid */
	char state;   /* R, S, D, Z, T, t, X, I ... */
	char comm[64];
	const char *user;    /* name resolved in the system's own passwd, or NULL */
	const char *cmdline; /* argv joined with single spaces */
	size_t cmdline_len;
	bool cmdline_cut; /* argv was longer than the view's limit: cut there */
	const char *exe;
	const char *cwd;
	const char *cgroup; /* the process's cgroup path */
	int64_t start_time; /* seconds since the epoch */
	uint64_t threads;
	uint64_t rss_kb;
	uint64_t vsz_kb;
	double cpu_user_s;
	double cpu_system_s;
	uint64_t fds; /* open file descriptors */
};

/* ---- sockets ------------------------------------------------------------ */

enum vt_sock_field {
	VS_OWNER = 1u << 0,
	VS_UID = 1u << 1,
	VS_INODE = 1u << 2,
	VS_TCPINFO = 1u << 3, /* the kernel's tcp_info fields (TCP, host view) */
};

struct vt_sock {
	unsigned have;
	int family;          /* AF_INET or AF_INET6 */
	int proto;           /* IPPROTO_TCP or IPPROTO_UDP */
	char local_addr[48]; /* numeric text form */
	uint16_t local_port;
	char remote_addr[48];
	uint16_t remote_port;
	int state; /* TCP_* state numbers from netinet/tcp.h */
	uint64_t inode;
	uint32_t uid;
	int pid; /* owning process, if VS_OWNER */
	char comm[64];
	/* if VS_TCPINFO: counters of the connection since it was opened */
	uint64_t bytes_acked;    /* sent and acknowledged by the peer */
	uint64_t bytes_received; /* received in order */
	uint32_t rtt_us;         /* smoothed round-trip time */
	uint32_t retrans;        /* segments retransmitted, in total */
};

/* Text name of a TCP state ("LISTEN", "ESTABLISHED"...), or "UNKNOWN". */
const char *vt_tcp_state_name(int state);

/* ---- kernel facts ------------------------------------------------------- */

enum vt_kernel_field {
	VK_RELEASE = 1u << 0,
	VK_VERSION = 1u << 1,
	VK_HOSTNAME = 1u << 2,
	VK_DOMAIN = 1u << 3,
	VK_MACHINE = 1u << 4,
	VK_BOOT = 1u << 5,
	VK_UPTIME = 1u << 6,
};

struct vt_kernel {
	unsigned have;
	char release[128]; /* uname -r */
	char version[256]; /* uname -v */
	char hostname[256];
	char domainname[256];
	char machine[64]; /* uname -m */
	double boot_time; /* seconds since the epoch */
	double uptime;    /* seconds */
};

/* ---- kernel modules ----------------------------------------------------- */

struct vt_module {
	const char *name;
	uint64_t size;
	int64_t refcount;  /* -1 if unknown */
	const char *state; /* "Live", "Loading", "Unloading" */
	const char *deps;  /* comma-separated names of modules using it, "" if none */
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
	uint64_t running, total; /* runnable / total scheduling entities */
};

struct vt_fs { /* one mounted file system */
	const char *mountpoint;
	const char *device;
	const char *fstype;
	uint64_t size_bytes, used_bytes, avail_bytes;
	uint64_t inodes, inodes_free;
};

struct vt_diskio { /* one block device */
	const char *device;
	uint64_t reads, writes, read_bytes, write_bytes;
	uint64_t read_ms, write_ms, io_ms;
};

struct vt_netio { /* one network interface's counters */
	const char *ifname;
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

/* ---- interfaces --------------------------------------------------------- */

struct vt_iface {
	const char *name;
	int index;
	char mac[24]; /* "aa:bb:cc:dd:ee:ff" or "" */
	unsigned mtu;
	unsigned flags;           /* IFF_* */
	const char *const *addrs; /* "addr/prefix" strings, NULL-terminated */
	struct vt_netio counters;
};

/* ---- cgroups ------------------------------------------------------------ */

enum vt_cgroup_field {
	VC_CPU = 1u << 0,
	VC_THROTTLE = 1u << 1,
	VC_MEM = 1u << 2,
	VC_MEMLIMIT = 1u << 3,
	VC_MEMSTAT = 1u << 4,
	VC_IO = 1u << 5,
	VC_PIDS = 1u << 6,
	VC_PIDSLIMIT = 1u << 7,
	VC_CPULIMIT = 1u << 8,
	VC_OOM = 1u << 9, /* oom_kills */
};

struct vt_cgroup {
	unsigned have;
	int version; /* 1 or 2 */
	uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
	uint64_t nr_periods, nr_throttled, throttled_ns;
	uint64_t mem_usage, mem_limit; /* bytes; limit UINT64_MAX when unlimited */
	uint64_t mem_cache, mem_anon;
	uint64_t io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
	uint64_t pids_current, pids_limit; /* limit UINT64_MAX when unlimited */
	/* Limits are EFFECTIVE: the tightest set on the cgroup or an ancestor
	 * (what percentages are of); *_own: the one set on the cgroup itself
	 * (0 when not known). */
	uint64_t mem_limit_own, pids_limit_own;
	double cpu_limit, cpu_limit_own; /* CPU quota in cores (quota/period), 0: none */
	uint64_t oom_kills;              /* processes the OOM killer ended in it (and below) */
	const char *none_why;            /* no counters: why (owned by the view), else NULL */
};

/* ---- files -------------------------------------------------------------- */

enum vt_ftype { VF_REG, VF_DIR, VF_LNK, VF_CHR, VF_BLK, VF_FIFO, VF_SOCK, VF_UNKNOWN };

const char *vt_ftype_name(enum vt_ftype t);

struct vt_stat {
	enum vt_ftype type;
	uint32_t mode; /* permission bits incl. setuid/setgid/sticky */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime, ctime; /* seconds since the epoch */
	uint64_t inode;
	uint64_t nlink;
};

#endif
