/*
 * proc_parse.h - pure parsers for the per-process files of procfs.
 *
 * Nothing here does I/O: each function takes the bytes a read() returned
 * (const char *buf, size_t len), which may be truncated, unterminated or
 * plain garbage (a hostile system can put anything in a comm or a cgroup
 * name), and either fills its output or returns -EINVAL.  They never read
 * past `len` and never trust a length or a number found in the input.
 *
 *   proc_parse_stat      /proc/PID/stat   (comm may hold spaces, parens, \n)
 *   proc_parse_status    /proc/PID/status (Uid, NSpid, Threads, VmRSS...)
 *   proc_cgroup_pick     /proc/PID/cgroup (which line names "the" cgroup)
 *   proc_cgroup_shape    /proc/PID/cgroup (which hierarchies that choice uses)
 *   proc_pidlist_next    cgroup "tasks", "cgroup.threads" (one id a line)
 *   proc_cmdline_join    /proc/PID/cmdline (argv NULs -> spaces, in place)
 *   proc_parse_btime     /proc/stat       (boot time)
 *   passwd_next          etc/passwd       (name and uid, line by line)
 *   proc_release_ge      uname -r         (kernel version comparison)
 */
#ifndef VANTAGE_PROC_PARSE_H
#define VANTAGE_PROC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bit 0x00200000 of the stat flags field: a kernel thread. */
#define PROC_PF_KTHREAD 0x00200000u

/* The fields of /proc/PID/stat that Vantage uses (1-based field numbers
 * of proc(5) in comments). */
struct proc_stat {
	int pid;            /* 1 */
	char comm[64];      /* 2, without the parentheses, truncated */
	char state;         /* 3 */
	int ppid;           /* 4 */
	uint64_t flags;     /* 9 */
	uint64_t utime;     /* 14, clock ticks */
	uint64_t stime;     /* 15, clock ticks */
	uint64_t threads;   /* 20 */
	uint64_t starttime; /* 22, clock ticks after boot */
	uint64_t vsize;     /* 23, bytes */
	uint64_t rss;       /* 24, pages */
};

/*
 * Parse one /proc/PID/stat line.  The comm runs from the first '(' to the
 * LAST ')' of the buffer, so a comm such as "a b) (c" or one holding a
 * newline is read whole.  Returns 0, or -EINVAL when the line is
 * malformed or ends before (or right at the end of) field 24.
 */
int proc_parse_stat(const char *buf, size_t len, struct proc_stat *out);

enum proc_status_field {
	PS_UID = 1u << 0,
	PS_NSPID = 1u << 1,
	PS_THREADS = 1u << 2,
	PS_RSS = 1u << 3,
	PS_VSZ = 1u << 4,
	PS_PPID = 1u << 5,
};

struct proc_status {
	unsigned have;         /* PS_* bits of the fields found */
	uint32_t uid;          /* real uid: first number of "Uid:" */
	int nspid;             /* last number of "NSpid:" (innermost namespace) */
	unsigned nspid_levels; /* how many numbers "NSpid:" has (1: the
	                        * procfs's PID namespace is the process's own) */
	int ppid;
	uint64_t threads;
	uint64_t rss_kb; /* VmRSS (absent for kernel threads) */
	uint64_t vsz_kb; /* VmSize */
};

/*
 * Parse /proc/PID/status.  Only complete lines (ending in '\n') are used,
 * so a read cut short never yields a cut number; a line whose value is
 * not a well-formed number is ignored.  Returns 0 when at least one field
 * was found, -EINVAL otherwise.
 */
int proc_parse_status(const char *buf, size_t len, struct proc_status *out);

/*
 * Choose the cgroup path of a process from its /proc/PID/cgroup:
 * the unified ("0::") path if it is not "/", otherwise the path of the
 * hierarchy holding the memory controller, otherwise the first line's
 * path.  On success *path and *path_len point into `buf` and 0 is returned;
 * -EINVAL when no line has the "id:controllers:path" shape.
 */
int proc_cgroup_pick(const char *buf, size_t len, const char **path, size_t *path_len);

/*
 * Every /proc/PID/cgroup of a system has the same lines (one per
 * hierarchy), only the paths differ; so which hierarchy
 * proc_cgroup_pick() takes a path from can be known from any one file,
 * e.g. /proc/self/cgroup.  proc_cgroup_shape() fills *out from one file:
 * whether it has the unified line (as pick sees it), a memory line, and
 * what the first line is.  Returns -EINVAL when no line has the shape.
 */
enum proc_cgroup_first { PCG_FIRST_NONE, PCG_FIRST_V2, PCG_FIRST_MEMORY, PCG_FIRST_OTHER };

struct proc_cgroup_shape {
	bool v2;     /* a "0::path" line */
	bool memory; /* a line whose controllers include memory */
	enum proc_cgroup_first first;
	unsigned lines; /* of the "id:controllers:path" shape: hierarchies */
};

int proc_cgroup_shape(const char *buf, size_t len, struct proc_cgroup_shape *out);

/*
 * What proc_cgroup_pick() returns for a process of a system of shape `sh`
 * whose unified path is `v2` and memory path `memory` (each NULL when not
 * known).  NULL when that does not settle it: the path the rule would
 * take is unknown, or comes from another hierarchy.
 */
const char *proc_cgroup_choose(const struct proc_cgroup_shape *sh, const char *v2,
                               const char *memory);

/*
 * Iterate over a list of ids, one decimal a line (a cgroup's "tasks",
 * "cgroup.threads", "cgroup.procs"): from *p (< end) find the next line
 * that is only a number in 1..INT_MAX, set *pid and advance *p past it.
 * Other lines are skipped.  Returns false at the end.
 */
bool proc_pidlist_next(const char **p, const char *end, int *pid);

/*
 * Turn a /proc/PID/cmdline (arguments separated by NULs) into one line in
 * place: trailing NULs are dropped and the inner ones become spaces.
 * Returns the new length (buf[len] is left alone).
 */
size_t proc_cmdline_join(char *buf, size_t len);

/* Find "btime N" in /proc/stat.  Returns 0 or -EINVAL. */
int proc_parse_btime(const char *buf, size_t len, int64_t *out);

/*
 * Iterate over etc/passwd entries: from *p (< end) find the next line of
 * the shape "name:password:uid:...", set *name, *name_len and *uid, and
 * advance *p past it.  Malformed lines are skipped.  Returns true when an
 * entry was found, false at the end.
 */
bool passwd_next(const char **p, const char *end, const char **name, size_t *name_len,
                 uint32_t *uid);

/* True when kernel release `release` ("6.2.0-foo") is >= major.minor.
 * False when it cannot be parsed. */
bool proc_release_ge(const char *release, unsigned major, unsigned minor);

#endif
