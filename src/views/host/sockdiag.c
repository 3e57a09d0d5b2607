/*
 * sockdiag.c - the TCP and UDP sockets of the calling thread's network
 * namespace, through netlink sock_diag, with their owning processes found
 * in procfs.
 *
 * How it works:
 *
 *  1. Three dumps: TCP of both families at once (the old TCPDIAG_GETSOCK
 *     request dumps AF_UNSPEC: one walk of the kernel's socket tables,
 *     which costs more than the sockets themselves; per-family
 *     SOCK_DIAG_BY_FAMILY requests if the kernel refuses it), then UDP for
 *     AF_INET and AF_INET6, each on its own NETLINK_SOCK_DIAG socket,
 *     received with recvmsg() into a 32 KiB buffer (the largest a dump skb
 *     gets) and parsed by linux/sockdiag_parse.c.  A dump sock_diag
 *     cannot answer (no inet_diag, tcp_diag, udp_diag) is read from the
 *     namespace's /proc/net file instead (procnet.h), in the same order.
 *  2. Owners are only known after the dump, so sockets are buffered: one
 *     growable array of compact struct sd_sock (72 bytes each, no
 *     per-socket allocation, no text yet), in the order per-family dumps
 *     give (TCP IPv4, TCP IPv6, UDP IPv4, UDP IPv6).
 *  3. Their non-zero inodes go into a u64map (util/u64set.h, load <= 1/2)
 *     inode -> struct owner {pid}: 12 bytes a slot.
 *  4. /proc is listed with getdents64 (by the calling thread, which also
 *     applies `filter`); then, for each pid, <pid>/fd is opened relative to
 *     proc_fd, listed, and every link read with readlinkat().  A
 *     "socket:[N]" whose N is wanted records the pid.  Opening and listing
 *     the directory cost more than reading three links, so when the
 *     kernel counts fds in the st_size of <pid>/fd (Linux >= 6.2) a pid
 *     whose fd count equals the previous pid's (on that thread) is tried
 *     first as having the same fd numbers (siblings forked from one parent
 *     usually do): one fstatat() and, per fd, kcmp(KCMP_FILE) against the
 *     previous pid's fd of that number (when /proc's pids are ours): the
 *     same open file holds what that one held (its link was read), and
 *     only the fds that differ have "<pid>/fd/<n>" read (kcmp costs a
 *     third of that readlinkat).  If every one of those fds exists the
 *     count proves they are all its fds; on the first missing one the
 *     directory is listed as above (a link read twice is harmless).  (An
 *     fd the previous pid replaced between our read and the compare can
 *     be misjudged: a race of the same kind as a pid exiting mid-scan.)
 *     This scan is the
 *     cost of the whole op (a few syscalls per process, ~20 us), so it is
 *     shared between up to 4 threads (one per CPU and per 256 pids), which
 *     start before the dumps and overlap them (keeping the socket fds they
 *     meet until the wanted inodes are known: struct scan), and it stops
 *     as soon as every wanted inode has an owner.  A socket held by
 *     several processes (inherited across fork) gets the lowest pid met.
 *     comm is read afterwards, from <pid>/comm, once per owner.  An fd
 *     directory that denies access is reported once per pid through
 *     it->error when some socket was wanted; sockets no process holds
 *     (TIME_WAIT, sockets of processes outside the PID namespace) simply
 *     lack VS_OWNER.
 *  5. The array is streamed to the callback (called as cb(it->ctx, s)),
 *     text formatted one socket at a time into a single struct vt_sock.
 */
#include "host.h"
#include "netns.h"
#include "procnet.h"
#include "../../linux/proc_parse.h"
#include "../../linux/sockdiag_parse.h"
#include "../../util/u64set.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/kcmp.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#define RCVBUF_SIZE 32768 /* netlink caps a dump skb at 32 KiB */
#define FDDENTS_SIZE 8192

/* ---- the dump ------------------------------------------------------------- */

struct sockvec {
	struct sd_sock *v;
	size_t n, cap;
};

static int sockvec_push(void *ctx, const struct sd_sock *s)
{
	struct sockvec *sv = ctx;

	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 256;
		void *p = realloc(sv->v, cap * sizeof(*sv->v));

		if (!p)
			return -ENOMEM;
		sv->v = p;
		sv->cap = cap;
	}
	sv->v[sv->n++] = *s;
	return 0;
}

/* ---- netlink I/O (shared with netif.c) ----------------------------------- */

static int nl_open(int protocol)
{
	int fd = nl_sockets_dup(protocol); /* a container's own, see netns.h */
	return fd != -1 ? fd : nl_socket_new(protocol);
}

static int nl_send(int fd, const void *req, size_t reqlen)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	ssize_t n;

	do
		n = sendto(fd, req, reqlen, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == reqlen ? 0 : -EIO;
}

static int nl_recv_all(int fd, void *buf, size_t size, struct nl_walk *w,
                       int (*msg)(void *ctx, uint16_t type, const void *payload, size_t plen),
                       void *ctx)
{
	while (!w->done) {
		struct sockaddr_nl from;
		struct iovec iov = {.iov_base = buf, .iov_len = size};
		struct msghdr mh = {
		    .msg_name = &from,
		    .msg_namelen = sizeof(from),
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		};
		ssize_t n = recvmsg(fd, &mh, 0);
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (mh.msg_namelen < sizeof(from) || from.nl_pid != 0)
			continue; /* not from the kernel */
		r = nl_walk(w, buf, (size_t)n, msg, ctx);
		if (r)
			return r;
	}
	return 0;
}

int nl_dump(int protocol, const void *req, size_t reqlen, void *buf, size_t size, struct nl_walk *w,
            int (*msg)(void *ctx, uint16_t type, const void *payload, size_t plen), void *ctx)
{
	/* A fresh socket per dump: a dump abandoned part-way cannot leave
	 * replies or a busy dump behind for the next one. */
	int fd = nl_open(protocol), r;

	if (fd < 0)
		return fd;
	r = nl_send(fd, req, reqlen);
	if (r == 0)
		r = nl_recv_all(fd, buf, size, w, msg, ctx);
	close(fd);
	return r;
}

/* One dump of (family, proto) appended to `sv`. */
static int dump_one(void *buf, int family, int proto, uint32_t seq, struct sockvec *sv,
                    unsigned *bad)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	struct sd_dump d = {
	    .nl = {.seq = seq},
	    .proto = proto,
	    .cb = sockvec_push,
	    .ctx = sv,
	};
	int r;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = seq;
	req.r.sdiag_family = (uint8_t)family;
	req.r.sdiag_protocol = (uint8_t)proto;
	req.r.idiag_states = ~0u; /* every state */
	if (proto == IPPROTO_TCP)
		req.r.idiag_ext = 1u << (INET_DIAG_INFO - 1); /* tcp_info: traffic, RTT */
	r = nl_dump(NETLINK_SOCK_DIAG, &req, sizeof(req), buf, RCVBUF_SIZE, &d.nl, sd_parse_msg,
	            &d);
	*bad += d.bad;
	return r;
}

static void report(const struct view_iter *it, const char *what, int err)
{
	if (it && it->error)
		it->error(it->ctx, what, err);
}

/* The compat request's replies carry its type: parse them as the others. */
static int compat_msg(void *ctx, uint16_t type, const void *payload, size_t plen)
{
	return sd_parse_msg(ctx, type == TCPDIAG_GETSOCK ? SOCK_DIAG_BY_FAMILY : type, payload,
	                    plen);
}

/*
 * TCP of both families in ONE walk of the kernel's socket tables (which
 * costs more than the sockets, ~2 ms on a large host): the old
 * TCPDIAG_GETSOCK request dumps AF_UNSPEC.  The sockets then get the order
 * two per-family dumps give: the IPv4 ones, then the IPv6 ones, each in
 * table order.  Returns 0, or a negative errno (the caller then asks per
 * family).
 */
static int dump_tcp_compat(void *buf, struct sockvec *sv, unsigned *bad)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req r;
	} req;
	struct sd_dump d = {
	    .nl = {.seq = 5},
	    .proto = IPPROTO_TCP,
	    .cb = sockvec_push,
	    .ctx = sv,
	};
	size_t start = sv->n, i, n4 = 0, n6 = 0;
	struct sd_sock *v6;
	int r;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = TCPDIAG_GETSOCK;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = d.nl.seq;
	req.r.idiag_family = AF_UNSPEC;
	req.r.idiag_states = ~0u;                     /* every state */
	req.r.idiag_ext = 1u << (INET_DIAG_INFO - 1); /* tcp_info: traffic, RTT */
	r = nl_dump(NETLINK_SOCK_DIAG, &req, sizeof(req), buf, RCVBUF_SIZE, &d.nl, compat_msg, &d);
	*bad += d.bad;
	if (r < 0) {
		sv->n = start;
		return r;
	}
	/* Stable partition of [start, n): IPv4 first. */
	for (i = start; i < sv->n; i++)
		n6 += sv->v[i].family != AF_INET;
	if (n6 == 0 || n6 == sv->n - start)
		return 0;
	v6 = malloc(n6 * sizeof(*v6));
	if (!v6)
		return -ENOMEM;
	for (i = start, n6 = 0; i < sv->n; i++) {
		if (sv->v[i].family == AF_INET)
			sv->v[start + n4++] = sv->v[i];
		else
			v6[n6++] = sv->v[i];
	}
	memcpy(sv->v + start + n4, v6, n6 * sizeof(*v6));
	free(v6);
	return 0;
}

static int dump_all(void *buf, struct sockvec *sv, const struct view_iter *it, int proc_fd,
                    const char *netdir)
{
	static const struct {
		int family, proto;
		const char *name;
	} dumps[] = {
	    {AF_INET, IPPROTO_TCP, "tcp sockets"},
	    {AF_INET6, IPPROTO_TCP, "tcp6 sockets"},
	    {AF_INET, IPPROTO_UDP, "udp sockets"},
	    {AF_INET6, IPPROTO_UDP, "udp6 sockets"},
	};
	int first_err = 0, ok = 0;
	unsigned tcp_bad = 0;
	size_t i = 0;
	int r = dump_tcp_compat(buf, sv, &tcp_bad);

	if (tcp_bad)
		report(it, "tcp sockets", EBADMSG);
	if (r == -ENOMEM)
		return r;
	if (r == 0) {
		i = 2; /* both TCP dumps done */
		ok++;
	}
	for (; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
		unsigned bad = 0;
		size_t mark = sv->n;

		r = dump_one(buf, dumps[i].family, dumps[i].proto, (uint32_t)i + 1, sv, &bad);
		if (bad)
			report(it, dumps[i].name, EBADMSG);
		if (r < 0 && procnet_fallback(r) && netdir && proc_fd >= 0) {
			sv->n = mark; /* no sock_diag for it: the procfs file (procnet.h) */
			r = procnet_sockets(proc_fd, netdir, dumps[i].family, dumps[i].proto, it,
			                    sockvec_push, sv);
		}
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			report(it, dumps[i].name, -r);
			if (!first_err)
				first_err = r;
			continue;
		}
		ok++;
	}
	return ok ? 0 : first_err;
}

/* ---- owners --------------------------------------------------------------- */

/* A u64map inode -> struct owner, built before the scan.  pid == 0 means
 * no holder met yet.  While threads scan, the map is only read except
 * `pid`, which is updated atomically, and `left` (wanted inodes still
 * without a pid), atomic too.  comms live in struct comms, per pid. */
struct owner {
	int32_t pid;
};

struct owners {
	struct u64map m;
	size_t left;
};

/* The owner of inode `ino`, NULL when it is not wanted. */
static struct owner *owner_find(struct owners *o, uint32_t ino)
{
	return u64map_get(&o->m, ino);
}

static int owners_init(struct owners *o, const struct sockvec *sv)
{
	size_t i, want = 0;

	for (i = 0; i < sv->n; i++)
		want += sv->v[i].inode != 0;
	u64map_init(&o->m, sizeof(struct owner));
	o->left = 0;
	if (u64map_reserve(&o->m, want) < 0)
		return -ENOMEM;
	for (i = 0; i < sv->n; i++) {
		bool added;
		if (sv->v[i].inode && !u64map_put(&o->m, sv->v[i].inode, &added))
			return -ENOMEM;
		if (sv->v[i].inode && added)
			o->left++;
	}
	return 0;
}

/* `pid` holds w's socket: keep the lowest pid met (the parent, usually,
 * of processes that inherited it). */
static void owner_claim(struct owners *o, struct owner *w, int32_t pid)
{
	int32_t cur = __atomic_load_n(&w->pid, __ATOMIC_RELAXED);

	do {
		if (cur != 0 && cur <= pid)
			return;
	} while (!__atomic_compare_exchange_n(&w->pid, &cur, pid, true, __ATOMIC_RELAXED,
	                                      __ATOMIC_RELAXED));
	if (cur == 0)
		__atomic_fetch_sub(&o->left, 1, __ATOMIC_RELAXED);
}

static size_t owners_left(struct owners *o)
{
	return __atomic_load_n(&o->left, __ATOMIC_RELAXED);
}

/* comm of `pid`, "" when it cannot be read (it exited). */
static void read_comm(int proc_fd, int pid, char *dst, size_t cap)
{
	char path[32], tmp[64];
	ssize_t n;
	int fd;

	dst[0] = 0;
	snprintf(path, sizeof(path), "%d/comm", pid);
	fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, tmp, sizeof(tmp) - 1);
	close(fd);
	if (n <= 0)
		return;
	if (tmp[n - 1] == '\n')
		n--;
	if ((size_t)n >= cap)
		n = (ssize_t)cap - 1;
	memcpy(dst, tmp, (size_t)n);
	dst[n] = 0;
}

/* pid -> comm of the owners found (a u64map), built after the scan; each
 * comm read once. */
struct comm_ent {
	char comm[16]; /* TASK_COMM_LEN */
};

struct comms {
	struct u64map m;
};

/* Read the comm of every distinct owner pid (at most `max_pids`). */
static int comms_build(struct comms *c, const struct owners *o, size_t max_pids, int proc_fd)
{
	size_t pos = 0;
	uint64_t ino;
	void *val;

	u64map_init(&c->m, sizeof(struct comm_ent));
	while (u64map_next(&o->m, &pos, &ino, &val)) {
		const struct owner *w = val;
		struct comm_ent *e;
		bool added;

		if (!w->pid)
			continue;
		if (u64map_count(&c->m) >= max_pids && !u64map_has(&c->m, (uint32_t)w->pid))
			continue;
		e = u64map_put(&c->m, (uint32_t)w->pid, &added);
		if (!e)
			return -ENOMEM;
		if (added)
			read_comm(proc_fd, w->pid, e->comm, sizeof(e->comm));
	}
	return 0;
}

/* ---- the scan of /proc/<pid>/fd ------------------------------------------- */

#define SCAN_CHUNK 16 /* pids a thread takes at a time */
#define SCAN_MAX_THREADS 4
#define SCAN_PIDS_PER_THREAD 256 /* fewer pids than this per thread: not worth one */
#define HINT_MAX 16              /* fd numbers kept as the next pid's guess */

/*
 * The pids to scan, shared by the scanning threads.  Each index is taken
 * by one thread (through `next`), which negates the pid if its fds
 * denied access, for the caller to report after the scan.
 *
 * The scan starts while the calling thread still dumps the sockets: `o`
 * is NULL until it publishes the wanted inodes (release store, acquire
 * loads).  Until then each thread keeps the socket fds it meets in its
 * own list (struct scanner), and moves them into `o` as soon as it sees
 * it published, or the caller does after the join.  `stop` (atomic) ends
 * the scan early when the dumps failed.
 */
struct scan {
	int proc_fd;
	bool fds_by_size; /* st_size of <pid>/fd counts its fds (Linux >= 6.2) */
	bool kcmp;        /* proc_fd's pids are ours: kcmp() may compare fds */
	struct owners *o;
	bool stop;
	int *pids;
	size_t npids;
	size_t next; /* atomic */
};

/* A socket fd met before the wanted inodes were known. */
struct seen {
	uint32_t inode;
	int32_t pid;
};

/* One scanning thread.  Invariant: once `flushed`, `seen` is empty and
 * sockets go straight to s->o. */
struct scanner {
	struct scan *s;
	pthread_t tid;
	struct seen *seen;
	size_t n, cap;
	bool flushed;
	bool nomem;   /* a socket fd could not be kept: the op fails */
	bool no_kcmp; /* kcmp() refused by the kernel or a policy: links only */
	/* the fd numbers of the last pid settled (hint_pid), when few, and
	 * the socket inode each one held (0: not a socket): tried first on
	 * the next pid with as many fds (see scan_pid_hinted) */
	int hint[HINT_MAX];
	uint32_t hint_ino[HINT_MAX];
	int hint_pid;
	unsigned nhint;
};

static struct owners *scan_published(struct scan *s)
{
	return __atomic_load_n(&s->o, __ATOMIC_ACQUIRE);
}

/* Give the socket fds kept so far to `o`. */
static void scanner_flush(struct scanner *me, struct owners *o)
{
	struct owner *w;

	for (size_t k = 0; k < me->n; k++)
		if ((w = owner_find(o, me->seen[k].inode)))
			owner_claim(o, w, me->seen[k].pid);
	free(me->seen);
	me->seen = NULL;
	me->n = me->cap = 0;
	me->flushed = true;
}

/* Process `pid` holds socket `ino`. */
static void scanner_found(struct scanner *me, uint32_t ino, int32_t pid)
{
	struct owners *o = me->flushed ? me->s->o : scan_published(me->s);
	struct owner *w;

	if (o) {
		if (!me->flushed)
			scanner_flush(me, o);
		if ((w = owner_find(o, ino)))
			owner_claim(o, w, pid);
		return;
	}
	if (me->n == me->cap) {
		size_t cap = me->cap ? me->cap * 2 : 64;
		struct seen *v = realloc(me->seen, cap * sizeof(*v));

		if (!v) {
			me->nomem = true;
			return;
		}
		me->seen = v;
		me->cap = cap;
	}
	me->seen[me->n].inode = ino;
	me->seen[me->n].pid = pid;
	me->n++;
}

/* Scanning goes on while the wanted inodes are unknown or some lack an
 * owner. */
static bool scan_more(struct scanner *me)
{
	struct owners *o;

	if (__atomic_load_n(&me->s->stop, __ATOMIC_RELAXED))
		return false;
	o = me->flushed ? me->s->o : scan_published(me->s);
	if (!o)
		return true;
	if (!me->flushed)
		scanner_flush(me, o);
	return owners_left(o) > 0;
}

/* "socket:[N]" -> N; 0 for any other link text. */
static uint32_t socket_inode(const char *l, ssize_t n)
{
	uint64_t v = 0;
	ssize_t i;

	if (n < 10 || memcmp(l, "socket:[", 8) != 0 || l[n - 1] != ']')
		return 0;
	for (i = 8; i < n - 1; i++) {
		if (l[i] < '0' || l[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(l[i] - '0');
		if (v > UINT32_MAX)
			return 0;
	}
	return (uint32_t)v;
}

/* An fd directory entry's name as a number, or -1. */
static int fd_number(const char *name)
{
	int v = 0, i;

	for (i = 0; name[i]; i++) {
		if (name[i] < '0' || name[i] > '9' || i >= 9)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return i ? v : -1;
}

/*
 * Does fd `fd` of `pid` refer to the same open file as fd `fd` of
 * me->hint_pid?  1 yes, 0 no or unknown (read its link).  kcmp() costs a
 * fraction of a readlinkat() of "<pid>/fd/<n>": no path walk, no d_path.
 * ENOSYS (no CONFIG_KCMP) turns it off for the scan; so does a refusal
 * (EPERM, a seccomp policy) for a pid whose link then reads fine (see
 * scan_pid_hinted).
 */
static int same_file(struct scanner *me, int pid, int fd)
{
	long r;

	if (me->no_kcmp)
		return 0;
	r = syscall(SYS_kcmp, (pid_t)pid, (pid_t)me->hint_pid, KCMP_FILE, (unsigned long)fd,
	            (unsigned long)fd);
	if (r == 0)
		return 1;
	if (r < 0 && errno == ENOSYS)
		me->no_kcmp = true;
	return r < 0 && errno == EPERM ? -1 : 0;
}

/*
 * Try pids[i] as holding exactly the fds numbered me->hint.  Returns true
 * when that settled the pid (every hinted fd found and the fd count
 * matched; or it exited; or it denied access), false when its directory
 * must be listed.  An fd that is the same open file as the hint pid's
 * (kcmp) holds what that one held; any other has its link read.  A
 * settled pid becomes the hint pid.
 */
static bool scan_pid_hinted(struct scanner *me, size_t i)
{
	struct scan *s = me->s;
	int pid = s->pids[i];
	uint32_t ino[HINT_MAX] = {0};
	char path[48];
	struct stat st;

	snprintf(path, sizeof(path), "%d/fd", pid);
	if (fstatat(s->proc_fd, path, &st, 0) < 0) {
		if (errno == EACCES || errno == EPERM)
			s->pids[i] = -pid;
		return errno == ENOENT || errno == ESRCH || errno == EACCES || errno == EPERM;
	}
	if (st.st_size != (off_t)me->nhint)
		return false;
	for (unsigned k = 0; k < me->nhint; k++) {
		char link[40];
		ssize_t ln;
		int same = s->kcmp ? same_file(me, pid, me->hint[k]) : 0;

		if (same > 0) {
			ino[k] = me->hint_ino[k];
			continue;
		}
		snprintf(path, sizeof(path), "%d/fd/%d", pid, me->hint[k]);
		ln = readlinkat(s->proc_fd, path, link, sizeof(link));
		if (ln < 0) {
			if (errno != EACCES && errno != EPERM)
				return false; /* another layout (or it exited) */
			s->pids[i] = -pid;
			return true;
		}
		if (same < 0)
			me->no_kcmp = true; /* kcmp refused what readlinkat allows */
		ino[k] = socket_inode(link, ln);
	}
	for (unsigned k = 0; k < me->nhint; k++)
		if ((me->hint_ino[k] = ino[k]))
			scanner_found(me, ino[k], pid);
	me->hint_pid = pid;
	return true;
}

/* Look at every fd of pids[i] (`dents`: FDDENTS_SIZE bytes, 8-aligned). */
static void scan_pid(struct scanner *me, size_t i, char *dents)
{
	struct scan *s = me->s;
	int pid = s->pids[i], dfd;
	char path[32];
	unsigned nfd = 0;

	if (s->fds_by_size && me->nhint && scan_pid_hinted(me, i))
		return;
	me->nhint = 0; /* hint[] is rewritten below */
	snprintf(path, sizeof(path), "%d/fd", pid);
	dfd = openat(s->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == EACCES || errno == EPERM)
			s->pids[i] = -pid;
		return; /* ENOENT: it exited */
	}
	for (;;) {
		ssize_t n = getdents64(dfd, dents, FDDENTS_SIZE);
		size_t off;

		if (n <= 0) {
			if (n < 0 && (errno == EACCES || errno == EPERM))
				s->pids[i] = -pid;
			break;
		}
		for (off = 0; off < (size_t)n;) {
			struct dirent64 *d = (struct dirent64 *)(dents + off);
			char link[40];
			ssize_t ln;
			uint32_t ino;

			if (d->d_reclen == 0 || off + d->d_reclen > (size_t)n)
				goto done;
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue; /* "." and ".." */
			if (nfd < HINT_MAX && (me->hint[nfd] = fd_number(d->d_name)) < 0)
				nfd = HINT_MAX; /* not an fd number: no hint */
			ln = readlinkat(dfd, d->d_name, link, sizeof(link));
			if (ln < 0 && (errno == EACCES || errno == EPERM)) {
				/* Listing allowed, links not (a process we
				 * may not ptrace): no fd of it can be read. */
				s->pids[i] = -pid;
				goto done;
			}
			ino = socket_inode(link, ln);
			if (nfd < HINT_MAX)
				me->hint_ino[nfd] = ino;
			nfd++;
			if (ino)
				scanner_found(me, ino, pid);
		}
		/* getdents stops short only at the end of the directory
		 * (or on a pending signal: blocked during the scan), and an
		 * fd entry takes at most 32 bytes: skip the empty call. */
		if ((size_t)n + 64 <= FDDENTS_SIZE)
			break;
	}
	/* Listed to the end: its fd numbers are the next pid's guess. */
	me->nhint = nfd <= HINT_MAX && s->pids[i] > 0 ? nfd : 0;
	me->hint_pid = pid;
done:
	close(dfd);
}

static void *scan_worker(void *arg)
{
	struct scanner *me = arg;
	struct scan *s = me->s;
	char *dents = aligned_alloc(8, FDDENTS_SIZE);

	if (!dents)
		return NULL; /* the other threads take its share */
	while (scan_more(me)) {
		size_t i = __atomic_fetch_add(&s->next, SCAN_CHUNK, __ATOMIC_RELAXED);
		size_t end = i + SCAN_CHUNK < s->npids ? i + SCAN_CHUNK : s->npids;

		if (i >= s->npids)
			break;
		for (; i < end && scan_more(me); i++)
			scan_pid(me, i, dents);
	}
	free(dents);
	return NULL;
}

/* A /proc entry name as a pid, or -1. */
static int parse_pid(const char *name)
{
	long v = 0;
	int i;

	for (i = 0; name[i]; i++) {
		if (name[i] < '0' || name[i] > '9' || i >= 9)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return i && v > 0 ? (int)v : -1;
}

/* The pids of proc_fd passing `filter`, in /proc's (ascending) order,
 * listed through `buf` (RCVBUF_SIZE bytes). */
static int list_pids(int proc_fd, pid_filter_fn filter, void *filter_ctx, char *buf, struct scan *s)
{
	size_t cap = 0;
	ssize_t n;
	int dfd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return -errno;
	while ((n = getdents64(dfd, buf, RCVBUF_SIZE)) > 0) {
		size_t off;

		for (off = 0; off < (size_t)n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			int pid;

			if (d->d_reclen == 0 || off + d->d_reclen > (size_t)n)
				break;
			off += d->d_reclen;
			pid = parse_pid(d->d_name);
			if (pid < 0 || (filter && !filter(filter_ctx, pid)))
				continue;
			if (s->npids == cap) {
				size_t ncap = cap ? cap * 2 : 1024;
				int *p = realloc(s->pids, ncap * sizeof(*p));

				if (!p) {
					close(dfd);
					return -ENOMEM;
				}
				s->pids = p;
				cap = ncap;
			}
			s->pids[s->npids++] = pid;
		}
	}
	close(dfd);
	return 0;
}

/* Are the pids of proc_fd those of our PID namespace (kcmp() takes ours)?
 * Then its "self" has one NSpid level. */
static bool pids_are_ours(int proc_fd)
{
	char buf[4096];
	struct proc_status st;
	ssize_t n;
	int fd = openat(proc_fd, "self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 && proc_parse_status(buf, (size_t)n, &st) == 0 && (st.have & PS_NSPID) &&
	       st.nspid_levels == 1 && st.nspid == (int)getpid();
}

/*
 * The owner scan, in two halves around the dumps.  scan_start() lists the
 * pids and starts up to SCAN_MAX_THREADS - 1 threads (one per CPU and
 * per SCAN_PIDS_PER_THREAD pids, the calling thread being the last one):
 * procfs lookups scale across CPUs, and these threads overlap the dumps.
 * scan_finish() publishes the wanted inodes, scans on the calling thread
 * too and joins.  Signals are blocked in the threads.  The filter is only
 * called from the calling thread.
 */
struct scan_run {
	struct scan s;
	struct scanner sc[SCAN_MAX_THREADS];
	size_t nt; /* threads started, sc[nt] being the caller's */
};

static int scan_start(struct scan_run *run, int proc_fd, pid_filter_fn filter, void *filter_ctx,
                      char *buf)
{
	sigset_t all, old;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want, i;
	int r;

	struct stat st;

	memset(run, 0, sizeof(*run));
	run->s.proc_fd = proc_fd;
	/* Our own fds (3 at least) show whether st_size counts them. */
	run->s.fds_by_size = fstatat(proc_fd, "self/fd", &st, 0) == 0 && st.st_size > 0;
	run->s.kcmp = run->s.fds_by_size && pids_are_ours(proc_fd);
	for (i = 0; i < SCAN_MAX_THREADS; i++)
		run->sc[i].s = &run->s;
	r = list_pids(proc_fd, filter, filter_ctx, buf, &run->s);
	if (r < 0) {
		free(run->s.pids);
		run->s.pids = NULL;
		return r;
	}
	want = 1 + run->s.npids / SCAN_PIDS_PER_THREAD;
	if (want > SCAN_MAX_THREADS)
		want = SCAN_MAX_THREADS;
	if (ncpu > 0 && want > (size_t)ncpu)
		want = (size_t)ncpu;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; run->nt + 1 < want; run->nt++)
		if (pthread_create(&run->sc[run->nt].tid, NULL, scan_worker, &run->sc[run->nt]) !=
		    0)
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* Join the threads; every socket fd they kept goes to `o` (if any). */
static int scan_join(struct scan_run *run, struct owners *o)
{
	int r = 0;

	for (size_t i = 0; i < run->nt; i++)
		pthread_join(run->sc[i].tid, NULL);
	for (size_t i = 0; i <= run->nt; i++) {
		struct scanner *me = &run->sc[i];

		if (me->nomem)
			r = -ENOMEM;
		if (o && !me->flushed)
			scanner_flush(me, o);
		free(me->seen);
		me->seen = NULL;
	}
	return r;
}

/* The dumps failed: stop the scan. */
static void scan_abort(struct scan_run *run)
{
	__atomic_store_n(&run->s.stop, true, __ATOMIC_RELAXED);
	scan_join(run, NULL);
	free(run->s.pids);
}

/*
 * Publish the wanted inodes `o`, scan with the others, join.  Denied pids
 * are reported from here, by the calling thread only (it->error need not
 * be thread-safe), when some socket was wanted.
 */
static int scan_finish(struct scan_run *run, const struct view_iter *it, struct owners *o,
                       struct comms *c)
{
	bool wanted = owners_left(o) > 0;
	struct scanner *me = &run->sc[run->nt];
	sigset_t all, old;
	size_t npids = run->s.npids;
	int r;

	__atomic_store_n(&run->s.o, o, __ATOMIC_RELEASE);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	scan_worker(me);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	r = scan_join(run, o);
	for (size_t i = 0; r == 0 && wanted && i < npids; i++) {
		if (run->s.pids[i] < 0) {
			char what[48];

			snprintf(what, sizeof(what), "pid %d fds", -run->s.pids[i]);
			report(it, what, EACCES);
		}
	}
	free(run->s.pids);
	run->s.pids = NULL;
	if (r < 0)
		return r;
	return comms_build(c, o, npids, run->s.proc_fd);
}

/* ---- the op --------------------------------------------------------------- */

static int emit(const struct sockvec *sv, struct owners *o, struct comms *c,
                int (*cb)(void *ctx, const struct vt_sock *s), void *ctx)
{
	struct vt_sock vs;
	size_t i;

	for (i = 0; i < sv->n; i++) {
		const struct sd_sock *s = &sv->v[i];
		struct owner *w;
		int r;

		sd_sock_format(s, &vs);
		if (s->inode && (w = owner_find(o, s->inode)) && w->pid) {
			struct comm_ent *e = u64map_get(&c->m, (uint32_t)w->pid);

			vs.have |= VS_OWNER;
			vs.pid = w->pid;
			if (e)
				memcpy(vs.comm, e->comm, sizeof(e->comm));
		}
		r = cb(ctx, &vs);
		if (r)
			return r;
	}
	return 0;
}

int sockdiag_sockets(int proc_fd, pid_filter_fn filter, void *filter_ctx,
                     const struct view_iter *it, int (*cb)(void *ctx, const struct vt_sock *s))
{
	return sockdiag_sockets_ns(proc_fd, "thread-self/net", filter, filter_ctx, it, cb);
}

int sockdiag_sockets_ns(int proc_fd, const char *netdir, pid_filter_fn filter, void *filter_ctx,
                        const struct view_iter *it, int (*cb)(void *ctx, const struct vt_sock *s))
{
	char *buf = aligned_alloc(8, RCVBUF_SIZE);
	struct scan_run *run = NULL;
	struct sockvec sv = {0};
	struct owners o = {0};
	struct comms c;
	int r;

	u64map_init(&o.m, sizeof(struct owner));
	u64map_init(&c.m, sizeof(struct comm_ent));

	if (!buf)
		return -ENOMEM;
	if (proc_fd >= 0) {
		run = malloc(sizeof(*run));
		if (!run) {
			r = -ENOMEM;
			goto out;
		}
		r = scan_start(run, proc_fd, filter, filter_ctx, buf);
		if (r == -ENOMEM)
			goto out;
		if (r < 0) {
			report(it, "/proc", -r);
			free(run);
			run = NULL;
		}
	}
	r = dump_all(buf, &sv, it, proc_fd, netdir);
	if (r == 0)
		r = owners_init(&o, &sv);
	if (r < 0) {
		if (run)
			scan_abort(run);
		goto out;
	}
	if (run) {
		r = scan_finish(run, it, &o, &c);
		if (r < 0)
			goto out;
	}
	r = emit(&sv, &o, &c, cb, it ? it->ctx : NULL);
out:
	free(run);
	u64map_free(&c.m);
	u64map_free(&o.m);
	free(sv.v);
	free(buf);
	return r;
}
