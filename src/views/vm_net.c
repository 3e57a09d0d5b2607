/*
 * vm_net.c - the network part of the VM view: TCP and UDP sockets from the
 * guest kernel's hash tables, and the net devices of its initial network
 * namespace, read from guest RAM through vmi_*().
 *
 * Sockets (vm_sockets):
 *   1. Owners first: every task (vm_each_task) has its fd table read
 *      (files->fdt->fd[], fetched in chunks); each open file whose f_op is
 *      socket_file_ops holds a struct socket in private_data.  The socket
 *      pointers go into an open-addressing hash -> (tgid, comm); a socket
 *      shared by several processes keeps the lowest tgid.
 *   2. Then the tables, each an array of buckets read in chunks of up to
 *      256 KiB (empty buckets cost nothing more), each non-empty bucket a
 *      chain of sockets:
 *        tcp_hashinfo.ehash[0..ehash_mask]   established, time-wait and
 *            request sockets; hlist_nulls through sock_common.skc_nulls_node
 *        tcp_hashinfo.lhash2[0..lhash2_mask] listeners: hlist_nulls through
 *            skc_nulls_node (5.19+, member nulls_head), or an hlist through
 *            inet_connection_sock.icsk_listen_portaddr_node (member head)
 *        udp_table.hash[0..mask]             hlist through sock_common.skc_node
 *      A nulls chain ends at an odd pointer, a plain one at NULL.  Each
 *      socket's sock_common is copied in one read; full sockets also give
 *      sk_socket, whose inode (socket_alloc.vfs_inode) has the inode number
 *      and the uid, and whose address finds the owner.  Time-wait and
 *      request sockets are smaller than struct sock: only sock_common is
 *      read from them, and they are reported the way sock_diag does (uid 0,
 *      no inode; a request socket as SYN_RECV).
 *   Sockets of every network namespace are in these tables.
 *
 * Interfaces (vm_interfaces): init_net.dev_base_head, a list of net_device
 * through dev_list.  Flags are computed as dev_get_flags() does (RUNNING,
 * LOWER_UP, DORMANT from the device state bits and operstate).  Counters
 * follow dev_get_stats(): the loopback (netdev_ops == loopback_ops) sums
 * its per-CPU pcpu_lstats into rx and tx, the dummy driver's are its tx;
 * drivers using dev_get_tstats64 add their per-CPU pcpu_sw_netstats to
 * dev->stats; drivers with no ndo_get_stats64 use dev->stats; the per-CPU
 * core drop counters are added to all.  A driver that keeps its counters
 * elsewhere (virtio_net, e1000...) is reported once per device, with what
 * dev->stats holds.  Addresses: IPv4 from in_device.ifa_list, IPv6 from
 * inet6_dev.addr_list.
 *
 * Guest memory is hostile: every pointer passes vmi_kptr() before use,
 * every chain and list is bounded (VMI_MAX_LIST) and checked for loops
 * (struct cyc), table sizes above 2^24 buckets are refused, a read that
 * fails ends that chain with an error through it->error and the walk goes
 * on with the next bucket.  Garbage must not flood the error hook: after
 * MAX_TABLE_ERRS bad chains the rest of a table is skipped, after as many
 * bad fd tables the owner scan stops, and an fd table met twice (a task
 * list that loops, or CLONE_FILES) is scanned once.  Totals are bounded
 * per call: sockets, fd slots, socket files, per-CPU reads.  A field the
 * guest's BTF lacks disables what needs it, reported once per call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../vmi/btf.h"
#include "../linux/sockdiag_parse.h"
#include "vm.h"

#define MAX_BUCKETS (1u << 24)
#define CHUNK_BYTES (256u << 10)
#define MAX_SOCKETS (VMI_MAX_LIST * 16) /* over all tables of one call */
#define MAX_FDS 65536u                  /* per fd table */
#define MAX_FD_SLOTS (1u << 22)         /* fd slots looked at per call */
#define MAX_OWNED (1u << 18)            /* socket files remembered per call */
#define FD_CHUNK 512
#define OBJ_MAX 512
#define MAX_ADDRS 64
#define MAX_CPUS 8192
#define MAX_PERCPU_READS (1u << 18) /* per call, over all devices */
#define COMM_LEN 16
#define MAX_TABLE_ERRS 32 /* bad chains before a table is given up */

#define TCP_ST_SYN_RECV 3
#define TCP_ST_TIME_WAIT 6
#define TCP_ST_NEW_SYN_RECV 12

#define IFF_PROMISC_ 0x100u
#define IFF_ALLMULTI_ 0x200u
#define IFF_RUNNING_ 0x40u
#define IFF_LOWER_UP_ 0x10000u
#define IFF_DORMANT_ 0x20000u
#define IF_OPER_UNKNOWN_ 0
#define IF_OPER_UP_ 6

/* ---- small helpers ------------------------------------------------------- */

static void report(const struct view_iter *it, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(const struct view_iter *it, int err, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	if (!it || !it->error)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	it->error(it->ctx, what, err);
}

/* Name of a field for messages: "sock_common.skc_num". */
static const char *fname(enum vmi_field f, char *buf, size_t cap)
{
	const char *type, *m = vmi_field_name(f, &type);

	snprintf(buf, cap, "%s.%s", type, m);
	return buf;
}

/* All of fs present, else report the first missing one (for `what`). */
static bool need(const struct vmi *v, const struct view_iter *it, const char *what,
                 const enum vmi_field *fs, size_t n)
{
	char b[96];

	for (size_t i = 0; i < n; i++)
		if (!vmi_has(v, fs[i])) {
			report(it, ENOTSUP, "%s: the guest's BTF lacks %s", what,
			       fname(fs[i], b, sizeof(b)));
			return false;
		}
	return true;
}

/*
 * A copy of the part of a guest object that holds the fields wanted,
 * taken in one read (struct obj).  A field outside the copy is read live.
 */
struct span {
	uint32_t lo, len;
};

struct obj {
	const struct vmi *v;
	uint64_t base;
	struct span s;
	unsigned char b[OBJ_MAX];
};

static struct span span_of(const struct vmi *v, const enum vmi_field *fs, size_t n)
{
	uint32_t lo = UINT32_MAX, hi = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t off = v->p.off[fs[i]], sz = v->p.fsize[fs[i]];

		if (off == VMI_NONE || sz == 0 || sz > OBJ_MAX)
			continue;
		if (off < lo)
			lo = off;
		if (off + sz > hi)
			hi = off + sz;
	}
	if (hi <= lo)
		return (struct span){0, 0};
	if (hi - lo > OBJ_MAX)
		hi = lo + OBJ_MAX;
	return (struct span){lo, hi - lo};
}

static int obj_read(struct obj *o, const struct vmi *v, uint64_t base, struct span s)
{
	o->v = v;
	o->base = base;
	o->s = s;
	if (!s.len)
		return 0;
	return vmi_read(v, base + s.lo, o->b, s.len);
}

/* Copy field f (at most cap bytes, zero-filled) into dst. */
static int obj_get(const struct obj *o, enum vmi_field f, void *dst, size_t cap)
{
	uint32_t off = o->v->p.off[f], sz = o->v->p.fsize[f];

	memset(dst, 0, cap);
	if (off == VMI_NONE || sz == 0)
		return -ENOENT;
	if (sz > cap)
		sz = (uint32_t)cap;
	if (off >= o->s.lo && off + sz <= o->s.lo + o->s.len) {
		memcpy(dst, o->b + (off - o->s.lo), sz);
		return 0;
	}
	return vmi_read(o->v, o->base + off, dst, sz);
}

/* Field f as an unsigned number (little-endian, up to 8 bytes); 0 if absent. */
static uint64_t obj_u(const struct obj *o, enum vmi_field f)
{
	uint64_t x = 0;

	if (obj_get(o, f, &x, sizeof(x)))
		return 0;
	return x;
}

static uint64_t rd_u(const void *buf, size_t at)
{
	uint64_t x;

	memcpy(&x, (const char *)buf + at, 8);
	return x;
}

/*
 * Loop detection on a walk (Brent): the node met at each power-of-two step
 * is remembered; meeting it again means the list loops.  A loop of length
 * L is seen within about 2L steps past its start.
 */
struct cyc {
	uint64_t mark;
	unsigned lim, steps;
};

#define CYC_INIT                                                                                   \
	{                                                                                          \
		0, 1, 0                                                                            \
	}

static bool cyc_loops(struct cyc *c, uint64_t node)
{
	if (node == c->mark)
		return true;
	if (++c->steps == c->lim) {
		c->mark = node;
		c->lim *= 2;
		c->steps = 0;
	}
	return false;
}

/* ---- owners: socket -> (tgid, comm) --------------------------------------- */

struct owner {
	uint64_t sock; /* struct socket address, 0 = free slot */
	int pid;
	char comm[COMM_LEN];
};

struct owners {
	struct owner *slot;
	size_t cap, n; /* cap a power of two, n <= cap / 2 */
};

static size_t owner_hash(uint64_t k, size_t cap)
{
	return (size_t)((k >> 4) * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
}

static struct owner *owner_find(const struct owners *o, uint64_t sock)
{
	if (!o->cap)
		return NULL;
	for (size_t i = owner_hash(sock, o->cap);; i = (i + 1) & (o->cap - 1)) {
		if (o->slot[i].sock == sock)
			return &o->slot[i];
		if (!o->slot[i].sock)
			return NULL;
	}
}

static int owners_grow(struct owners *o)
{
	size_t cap = o->cap ? o->cap * 2 : 256;
	struct owner *s = calloc(cap, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < o->cap; i++) {
		if (!o->slot[i].sock)
			continue;
		size_t j = owner_hash(o->slot[i].sock, cap);
		while (s[j].sock)
			j = (j + 1) & (cap - 1);
		s[j] = o->slot[i];
	}
	free(o->slot);
	o->slot = s;
	o->cap = cap;
	return 0;
}

/* Remember sock as held by pid; the lowest pid wins. */
static int owner_add(struct owners *o, uint64_t sock, int pid, const char *comm)
{
	struct owner *w = owner_find(o, sock);

	if (w) {
		if (pid < w->pid) {
			w->pid = pid;
			memcpy(w->comm, comm, COMM_LEN);
		}
		return 0;
	}
	if ((o->n + 1) * 2 > o->cap && owners_grow(o))
		return -ENOMEM;
	size_t i = owner_hash(sock, o->cap);
	while (o->slot[i].sock)
		i = (i + 1) & (o->cap - 1);
	o->slot[i].sock = sock;
	o->slot[i].pid = pid;
	memcpy(o->slot[i].comm, comm, COMM_LEN);
	o->n++;
	return 0;
}

struct fdscan {
	struct vm_view *vv;
	const struct vmi *v;
	const struct view_iter *it;
	struct owners *o;
	uint64_t sock_fops;
	struct span file_span;
	uint64_t fds[FD_CHUNK];
	size_t slots;       /* fd slots looked at so far */
	struct owners seen; /* files_struct addresses already scanned */
	unsigned errs;      /* bad fd tables reported */
	int err;            /* -ENOMEM */
	bool full;          /* a bound was met (reported) */
};

/* May one more bad fd table be reported?  Past MAX_TABLE_ERRS the guest's
 * task list is garbage: the scan stops. */
static bool scan_bad(struct fdscan *s)
{
	if (++s->errs < MAX_TABLE_ERRS)
		return true;
	report(s->it, EFAULT, "socket owners: %u bad fd tables, scan stopped", s->errs);
	s->full = true;
	return false;
}

/* One open file: remember its socket if it is one. */
static int scan_file(struct fdscan *s, uint64_t file, int pid, const char *comm)
{
	struct obj o;

	if (obj_read(&o, s->v, file, s->file_span))
		return -EFAULT;
	if (obj_u(&o, F_file_f_op) != s->sock_fops)
		return 0;
	uint64_t sock = obj_u(&o, F_file_private_data);
	if (!vmi_kptr(s->v, sock))
		return 0;
	if (s->o->n >= MAX_OWNED) {
		if (!s->full)
			report(s->it, E2BIG,
			       "socket owners: more than %u socket files, "
			       "the rest unowned",
			       MAX_OWNED);
		s->full = true;
		return 0;
	}
	return owner_add(s->o, sock, pid, comm);
}

/* The fd table of one task. */
static int scan_fds(void *ctx, uint64_t task)
{
	struct fdscan *s = ctx;
	const struct vmi *v = s->v;
	char comm[COMM_LEN] = "";
	uint64_t files, fdt, arr, max = 0, tgid = 0;

	if (s->full)
		return 0;
	if (vmi_field(v, task, F_task_files, &files) || !files)
		return 0;
	if (owner_find(&s->seen, files)) /* shared (CLONE_FILES), or a loop */
		return 0;
	if (owner_add(&s->seen, files, 0, comm)) {
		s->err = -ENOMEM;
		return 1;
	}
	vmi_field(v, task, F_task_tgid, &tgid);
	if (!vmi_kptr(v, files) || vmi_field(v, files, F_files_fdt, &fdt) || !vmi_kptr(v, fdt) ||
	    vmi_field(v, fdt, F_fdt_max_fds, &max) || vmi_field(v, fdt, F_fdt_fd, &arr) ||
	    !vmi_kptr(v, arr)) {
		if (scan_bad(s))
			report(s->it, EFAULT, "pid %d fds: bad fd table", (int)tgid);
		return 0;
	}
	vmi_read(v, task + vmi_off(v, F_task_comm), comm, COMM_LEN);
	comm[COMM_LEN - 1] = 0;
	if (max > MAX_FDS)
		max = MAX_FDS;
	if (s->slots + max > MAX_FD_SLOTS) {
		report(s->it, E2BIG, "socket owners: more than %u fd slots, the rest unowned",
		       MAX_FD_SLOTS);
		s->full = true;
		return 0;
	}
	s->slots += max;
	for (uint64_t at = 0; at < max; at += FD_CHUNK) {
		size_t n = max - at < FD_CHUNK ? (size_t)(max - at) : FD_CHUNK;
		if (vmi_read(v, arr + at * 8, s->fds, n * 8)) {
			if (scan_bad(s))
				report(s->it, EFAULT, "pid %d fds %llu..: unreadable", (int)tgid,
				       (unsigned long long)at);
			return 0;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t f = s->fds[i];
			if (!f)
				continue;
			int r = vmi_kptr(v, f) ? scan_file(s, f, (int)tgid, comm) : -EFAULT;
			if (r == -ENOMEM) {
				s->err = r;
				return 1;
			}
			if (r) {
				if (scan_bad(s))
					report(s->it, EFAULT, "pid %d fd %llu: bad file pointer",
					       (int)tgid, (unsigned long long)(at + i));
				return 0;
			}
		}
	}
	return 0;
}

static int find_owners(struct vm_view *vv, const struct view_iter *it, struct owners *o)
{
	static const enum vmi_field ff[] = {F_file_f_op, F_file_private_data};
	static const enum vmi_field tf[] = {F_task_files,       F_task_tgid, F_files_fdt,
	                                    F_fdt_max_fds,      F_fdt_fd,    F_file_f_op,
	                                    F_file_private_data};
	const struct vmi *v = &vv->vmi;
	struct fdscan *s;

	if (!vmi_sym(v, S_socket_file_ops)) {
		report(it, ENOTSUP, "socket owners: no socket_file_ops symbol");
		return 0;
	}
	if (!need(v, it, "socket owners", tf, sizeof(tf) / sizeof(tf[0])))
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->vv = vv;
	s->v = v;
	s->it = it;
	s->o = o;
	s->sock_fops = vmi_sym(v, S_socket_file_ops);
	s->file_span = span_of(v, ff, 2);
	vm_each_task(vv, it, scan_fds, s);
	int r = s->err;
	free(s->seen.slot);
	free(s);
	return r;
}

/* ---- sockets from the hash tables ----------------------------------------- */

struct sockwalk {
	const struct vmi *v;
	const struct view_iter *it;
	int (*cb)(void *ctx, const struct vt_sock *s);
	void *ctx;
	const struct owners *o;
	struct span common;   /* the sock_common fields read per socket */
	bool v6;              /* skc_v6_* present */
	bool have_inode;      /* sk_socket -> inode readable */
	size_t total;         /* sockets met over all tables */
	unsigned errs;        /* bad chains in the current table */
	bool skip;            /* ... too many: the rest of it is skipped */
	bool stopped;         /* total bound met (reported) */
	unsigned char *chunk; /* CHUNK_BYTES for bucket arrays */
};

/* One table: an array of buckets, each the head of a chain. */
struct table {
	const char *name; /* "tcp ehash" */
	int proto;
	uint64_t arr, nb;         /* bucket array, number of buckets */
	uint32_t bsize, head_off; /* bucket size, offset of the head pointer */
	bool nulls;               /* hlist_nulls: ends at an odd pointer */
	uint32_t link_off;        /* offset of the chain node in the socket */
};

static void sock_addrs(const struct sockwalk *w, const struct obj *o, struct vt_sock *s)
{
	unsigned char a[16];

	if (s->family == AF_INET6) {
		obj_get(o, F_skc_v6_rcv_saddr, a, 16);
		inet_ntop(AF_INET6, a, s->local_addr, sizeof(s->local_addr));
		obj_get(o, F_skc_v6_daddr, a, 16);
		inet_ntop(AF_INET6, a, s->remote_addr, sizeof(s->remote_addr));
	} else {
		obj_get(o, F_skc_rcv_saddr, a, 4);
		inet_ntop(AF_INET, a, s->local_addr, sizeof(s->local_addr));
		obj_get(o, F_skc_daddr, a, 4);
		inet_ntop(AF_INET, a, s->remote_addr, sizeof(s->remote_addr));
	}
	(void)w;
}

/* A full socket: its struct socket gives inode, uid and owner. */
static void sock_owner(const struct sockwalk *w, uint64_t sk, struct vt_sock *s)
{
	const struct vmi *v = w->v;
	uint64_t sock = 0, ino = 0, uid = 0;

	if (vmi_field(v, sk, F_sk_socket, &sock))
		return;
	if (!sock) { /* orphaned: sock_i_uid() says root */
		s->have |= VS_UID;
		return;
	}
	if (!vmi_kptr(v, sock))
		return;
	if (w->have_inode) {
		uint64_t inode = sock + vmi_off(v, F_socket_alloc_inode);
		if (!vmi_field(v, inode, F_inode_ino, &ino) && ino) {
			s->inode = ino;
			s->have |= VS_INODE;
		}
		if (!vmi_field(v, inode, F_inode_uid, &uid)) {
			s->uid = (uint32_t)uid;
			s->have |= VS_UID;
		}
	}
	if (!(s->have & VS_UID) && !vmi_field(v, sk, F_sk_uid, &uid)) {
		s->uid = (uint32_t)uid;
		s->have |= VS_UID;
	}
	const struct owner *ow = owner_find(w->o, sock);
	if (ow) {
		s->have |= VS_OWNER;
		s->pid = ow->pid;
		memcpy(s->comm, ow->comm, COMM_LEN);
	}
}

/* Read the socket at sk and hand it to the callback.  -EFAULT if it does
 * not read, else the callback's value. */
static int emit_sock(struct sockwalk *w, uint64_t sk, int proto)
{
	struct obj o;
	struct vt_sock s;

	if (obj_read(&o, w->v, sk, w->common))
		return -EFAULT;
	memset(&s, 0, sizeof(s));
	s.family = (int)obj_u(&o, F_skc_family);
	if (s.family != AF_INET && !(s.family == AF_INET6 && w->v6))
		return 0; /* not an inet socket: not ours to show */
	s.proto = proto;
	s.state = (int)obj_u(&o, F_skc_state);
	s.local_port = (uint16_t)obj_u(&o, F_skc_num);
	s.remote_port = ntohs((uint16_t)obj_u(&o, F_skc_dport));
	sock_addrs(w, &o, &s);
	if (proto == IPPROTO_TCP &&
	    (s.state == TCP_ST_TIME_WAIT || s.state == TCP_ST_NEW_SYN_RECV)) {
		if (s.state == TCP_ST_NEW_SYN_RECV)
			s.state = TCP_ST_SYN_RECV;
		s.have |= VS_UID; /* no struct sock behind: as sock_diag */
	} else {
		sock_owner(w, sk, &s);
	}
	return w->cb(w->ctx, &s);
}

/* One chain.  Returns the callback's stop value, or 0. */
static int walk_chain(struct sockwalk *w, const struct table *t, uint64_t bucket, uint64_t node)
{
	const struct vmi *v = w->v;
	struct cyc cy = CYC_INIT;

	for (unsigned n = 0;; n++) {
		if (t->nulls ? (node & 1) : !node)
			return 0;
		if (cyc_loops(&cy, node)) {
			w->errs++;
			report(w->it, ELOOP, "%s bucket %llu: the chain loops", t->name,
			       (unsigned long long)bucket);
			return 0;
		}
		if (n >= VMI_MAX_LIST) {
			w->errs++;
			report(w->it, ELOOP, "%s bucket %llu: more than %u sockets", t->name,
			       (unsigned long long)bucket, VMI_MAX_LIST);
			return 0;
		}
		if (w->total >= MAX_SOCKETS) {
			if (!w->stopped)
				report(w->it, E2BIG, "sockets: more than %u, stopped", MAX_SOCKETS);
			w->stopped = true;
			return 0;
		}
		uint64_t next;
		if (!vmi_kptr(v, node) || node < t->link_off || vmi_u64(v, node, &next)) {
			w->errs++;
			report(w->it, EFAULT, "%s bucket %llu: bad pointer 0x%llx", t->name,
			       (unsigned long long)bucket, (unsigned long long)node);
			return 0;
		}
		w->total++;
		int r = emit_sock(w, node - t->link_off, t->proto);
		if (r == -EFAULT) {
			w->errs++;
			report(w->it, EFAULT, "%s bucket %llu: socket at 0x%llx unreadable",
			       t->name, (unsigned long long)bucket,
			       (unsigned long long)(node - t->link_off));
			return 0;
		}
		if (r)
			return r;
		node = next;
	}
}

/* Buckets [first, first + n) held in buf. */
static int walk_buckets(struct sockwalk *w, const struct table *t, uint64_t first,
                        const unsigned char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t head = rd_u(buf, i * t->bsize + t->head_off);
		if (t->nulls ? (head & 1) : !head)
			continue;
		int r = walk_chain(w, t, first + i, head);
		if (r)
			return r;
		if (w->stopped)
			return 0;
		if (w->errs >= MAX_TABLE_ERRS) {
			report(w->it, EFAULT, "%s: %u bad chains, the rest of the table skipped",
			       t->name, w->errs);
			w->skip = true;
			return 0;
		}
	}
	return 0;
}

static int walk_table(struct sockwalk *w, const struct table *t)
{
	const struct vmi *v = w->v;

	if (!t->bsize || t->bsize > 4096 || t->head_off + 8 > t->bsize)
		return 0;
	if (t->nb > MAX_BUCKETS) {
		report(w->it, E2BIG, "%s: %llu buckets, more than %u: refused", t->name,
		       (unsigned long long)t->nb, MAX_BUCKETS);
		return 0;
	}
	if (!vmi_kptr(v, t->arr)) {
		report(w->it, EFAULT, "%s: bad bucket array 0x%llx", t->name,
		       (unsigned long long)t->arr);
		return 0;
	}
	size_t per = CHUNK_BYTES / t->bsize;
	w->errs = 0;
	w->skip = false;
	for (uint64_t at = 0; at < t->nb && !w->stopped && !w->skip; at += per) {
		size_t n = t->nb - at < per ? (size_t)(t->nb - at) : per;
		int r;
		if (!vmi_read(v, t->arr + at * t->bsize, w->chunk, n * t->bsize)) {
			r = walk_buckets(w, t, at, w->chunk, n);
			if (r)
				return r;
			continue;
		}
		/* part of the array does not read: go page by page */
		size_t sub = 4096 / t->bsize;
		for (size_t k = 0; k < n && !w->stopped && !w->skip; k += sub) {
			size_t m = n - k < sub ? n - k : sub;
			uint64_t b = at + k;
			if (vmi_read(v, t->arr + b * t->bsize, w->chunk, m * t->bsize)) {
				if (++w->errs >= MAX_TABLE_ERRS) {
					report(w->it, EFAULT, "%s: bucket array unreadable",
					       t->name);
					return 0;
				}
				report(w->it, EFAULT, "%s buckets %llu..%llu: unreadable", t->name,
				       (unsigned long long)b, (unsigned long long)(b + m - 1));
				continue;
			}
			r = walk_buckets(w, t, b, w->chunk, m);
			if (r)
				return r;
		}
	}
	return 0;
}

/* Read a hash table's array pointer and mask; false (reported) if bad. */
static bool table_head(struct sockwalk *w, const char *name, uint64_t obj, enum vmi_field arr_f,
                       enum vmi_field mask_f, uint64_t *arr, uint64_t *nb)
{
	uint64_t mask;

	if (vmi_field(w->v, obj, arr_f, arr) || vmi_field(w->v, obj, mask_f, &mask)) {
		report(w->it, EFAULT, "%s: table header unreadable", name);
		return false;
	}
	if (mask >= MAX_BUCKETS) {
		report(w->it, E2BIG, "%s: mask 0x%llx, more than %u buckets: refused", name,
		       (unsigned long long)mask, MAX_BUCKETS);
		return false;
	}
	*nb = mask + 1;
	return true;
}

static int tcp_tables(struct sockwalk *w)
{
	static const enum vmi_field ef[] = {F_hinfo_ehash, F_hinfo_ehash_mask, F_ehb_chain,
	                                    F_skc_nulls_node};
	static const enum vmi_field lf[] = {F_hinfo_lhash2, F_hinfo_lhash2_mask};
	const struct vmi *v = w->v;
	uint64_t h = vmi_sym(v, S_tcp_hashinfo);
	struct table t;
	int r;

	if (!h) {
		report(w->it, ENOTSUP, "tcp sockets: no tcp_hashinfo symbol");
		return 0;
	}
	if (need(v, w->it, "tcp ehash", ef, 4) && v->p.tsize[Z_inet_ehash_bucket] != VMI_NONE &&
	    table_head(w, "tcp ehash", h, F_hinfo_ehash, F_hinfo_ehash_mask, &t.arr, &t.nb)) {
		t.name = "tcp ehash";
		t.proto = IPPROTO_TCP;
		t.bsize = v->p.tsize[Z_inet_ehash_bucket];
		t.head_off = vmi_off(v, F_ehb_chain);
		t.nulls = true;
		t.link_off = vmi_off(v, F_skc_nulls_node);
		r = walk_table(w, &t);
		if (r)
			return r;
	}
	if (!need(v, w->it, "tcp listeners", lf, 2) ||
	    v->p.tsize[Z_inet_listen_hashbucket] == VMI_NONE)
		return 0;
	t.name = "tcp lhash2";
	t.proto = IPPROTO_TCP;
	t.bsize = v->p.tsize[Z_inet_listen_hashbucket];
	if (vmi_has(v, F_lhb_nulls_head) && vmi_has(v, F_skc_nulls_node)) {
		t.head_off = vmi_off(v, F_lhb_nulls_head);
		t.nulls = true;
		t.link_off = vmi_off(v, F_skc_nulls_node);
	} else if (vmi_has(v, F_lhb_head) && vmi_has(v, F_icsk_listen_node)) {
		t.head_off = vmi_off(v, F_lhb_head);
		t.nulls = false;
		t.link_off = vmi_off(v, F_icsk_listen_node);
	} else {
		report(w->it, ENOTSUP,
		       "tcp listeners: the guest's BTF has neither "
		       "inet_listen_hashbucket.nulls_head nor .head");
		return 0;
	}
	if (!table_head(w, "tcp lhash2", h, F_hinfo_lhash2, F_hinfo_lhash2_mask, &t.arr, &t.nb))
		return 0;
	return walk_table(w, &t);
}

static int udp_tables(struct sockwalk *w)
{
	static const enum vmi_field uf[] = {F_udpt_hash, F_udpt_mask, F_udph_head, F_skc_node};
	const struct vmi *v = w->v;
	uint64_t u = vmi_sym(v, S_udp_table);
	struct table t;

	if (!u) {
		report(w->it, ENOTSUP, "udp sockets: no udp_table symbol");
		return 0;
	}
	if (!need(v, w->it, "udp sockets", uf, 4) || v->p.tsize[Z_udp_hslot] == VMI_NONE ||
	    !table_head(w, "udp hash", u, F_udpt_hash, F_udpt_mask, &t.arr, &t.nb))
		return 0;
	t.name = "udp hash";
	t.proto = IPPROTO_UDP;
	t.bsize = v->p.tsize[Z_udp_hslot];
	t.head_off = vmi_off(v, F_udph_head);
	t.nulls = false;
	t.link_off = vmi_off(v, F_skc_node);
	return walk_table(w, &t);
}

int vm_sockets(struct view *view, const struct view_iter *it,
               int (*cb)(void *ctx, const struct vt_sock *s))
{
	static const enum vmi_field cf[] = {F_skc_family,       F_skc_state,     F_skc_num,
	                                    F_skc_dport,        F_skc_rcv_saddr, F_skc_daddr,
	                                    F_skc_v6_rcv_saddr, F_skc_v6_daddr};
	static const enum vmi_field inf[] = {F_sk_socket, F_socket_alloc_inode, F_inode_ino};
	struct vm_view *vv = (struct vm_view *)view;
	const struct vmi *v = &vv->vmi;
	struct owners o = {0};
	struct sockwalk w = {.v = v, .it = it, .cb = cb, .ctx = it ? it->ctx : NULL, .o = &o};
	int r;

	if (!need(v, it, "sockets", cf, 6))
		return -ENOTSUP;
	w.common = span_of(v, cf, sizeof(cf) / sizeof(cf[0]));
	w.v6 = vmi_has(v, F_skc_v6_rcv_saddr) && vmi_has(v, F_skc_v6_daddr);
	/* struct socket must open struct socket_alloc for the inode to follow */
	w.have_inode =
	    need(v, it, "socket inodes", inf, 3) &&
	    (!vmi_has(v, F_socket_alloc_socket) || vmi_off(v, F_socket_alloc_socket) == 0);
	if (w.have_inode) {
		r = find_owners(vv, it, &o);
		if (r < 0)
			goto out;
	}
	w.chunk = malloc(CHUNK_BYTES);
	if (!w.chunk) {
		r = -ENOMEM;
		goto out;
	}
	r = tcp_tables(&w);
	if (!r)
		r = udp_tables(&w);
out:
	free(w.chunk);
	free(o.slot);
	return r;
}

/* ---- interfaces ----------------------------------------------------------- */

struct cpus {
	uint64_t off[MAX_CPUS];
	int n;
	uint32_t reads; /* per-CPU reads left for this call */
};

/* __per_cpu_offset[0..nr_cpu_ids). */
static int read_cpus(const struct vmi *v, struct cpus *c)
{
	uint64_t pco = vmi_sym(v, S___per_cpu_offset), nr = vmi_sym(v, S_nr_cpu_ids);
	uint32_t n = 0;

	c->n = 0;
	c->reads = MAX_PERCPU_READS;
	if (!pco || !nr || vmi_u32(v, nr, &n) || n == 0)
		return -ENOENT;
	if (n > MAX_CPUS)
		n = MAX_CPUS;
	for (uint32_t i = 0; i < n; i++) {
		if (vmi_u64(v, pco + 8ull * i, &c->off[i]))
			break;
		c->n = (int)i + 1;
	}
	return c->n ? 0 : -EFAULT;
}

/* Sum fields f[0..n) of a per-CPU object at ptr over all CPUs. */
static int percpu_sum(const struct vmi *v, struct cpus *c, uint64_t ptr, const enum vmi_field *f,
                      size_t n, uint64_t *sum)
{
	struct span s = span_of(v, f, n);
	struct obj o;
	int bad = 0;

	memset(sum, 0, n * sizeof(*sum));
	if (!c->n)
		return -ENOENT;
	if (c->reads < (uint32_t)c->n)
		return -E2BIG;
	c->reads -= (uint32_t)c->n;
	for (int cpu = 0; cpu < c->n; cpu++) {
		uint64_t a = ptr + c->off[cpu];
		if (!vmi_kptr(v, a) || obj_read(&o, v, a, s)) {
			bad = -EFAULT;
			continue;
		}
		for (size_t i = 0; i < n; i++)
			sum[i] += obj_u(&o, f[i]);
	}
	return bad;
}

struct ifwalk {
	const struct vmi *v;
	const struct view_iter *it;
	struct cpus *cpus;
	char text[MAX_ADDRS][48];
	const char *ptrs[MAX_ADDRS + 1];
	int na;
};

/* dev_get_flags(): RUNNING, LOWER_UP, DORMANT come from the state. */
static unsigned dev_flags(const struct vmi *v, uint64_t dev)
{
	uint64_t flags = 0, gflags = 0, state = 0, oper = 0;
	unsigned f;

	vmi_field(v, dev, F_nd_flags, &flags);
	vmi_field(v, dev, F_nd_gflags, &gflags);
	f = ((unsigned)flags &
	     ~(IFF_PROMISC_ | IFF_ALLMULTI_ | IFF_RUNNING_ | IFF_LOWER_UP_ | IFF_DORMANT_)) |
	    ((unsigned)gflags & (IFF_PROMISC_ | IFF_ALLMULTI_));
	if (!v->p.enum_ok[E___LINK_STATE_START] || vmi_field(v, dev, F_nd_state, &state))
		return (unsigned)flags; /* can't tell: as stored */
	int64_t st = v->p.enumv[E___LINK_STATE_START];
	if (st < 0 || st > 63 || !(state & (1ull << st)))
		return f;
	if (!vmi_field(v, dev, F_nd_operstate, &oper) &&
	    (oper == IF_OPER_UP_ || oper == IF_OPER_UNKNOWN_))
		f |= IFF_LOWER_UP_;
	int64_t nc =
	    v->p.enum_ok[E___LINK_STATE_NOCARRIER] ? v->p.enumv[E___LINK_STATE_NOCARRIER] : -1;
	if (nc >= 0 && nc < 64 && !(state & (1ull << nc)))
		f |= IFF_RUNNING_;
	int64_t dm = v->p.enum_ok[E___LINK_STATE_DORMANT] ? v->p.enumv[E___LINK_STATE_DORMANT] : -1;
	if (dm >= 0 && dm < 64 && (state & (1ull << dm)))
		f |= IFF_DORMANT_;
	return f;
}

static void dev_mac(const struct vmi *v, uint64_t dev, char *mac, size_t cap)
{
	uint64_t len = 0, p = 0;
	unsigned char hw[32];

	mac[0] = 0;
	if (vmi_field(v, dev, F_nd_addr_len, &len) || len == 0)
		return;
	if (len > sizeof(hw))
		len = sizeof(hw);
	if (v->p.fsize[F_nd_dev_addr] == 8) { /* a pointer (always, so far) */
		if (vmi_field(v, dev, F_nd_dev_addr, &p) || !vmi_kptr(v, p) ||
		    vmi_read(v, p, hw, len))
			return;
	} else if (!vmi_has(v, F_nd_dev_addr) || v->p.fsize[F_nd_dev_addr] < len ||
	           vmi_read(v, dev + vmi_off(v, F_nd_dev_addr), hw, len)) {
		return;
	}
	format_hwaddr(hw, len, mac, cap);
}

static void add_addr(struct ifwalk *w, int family, const void *a, unsigned prefix)
{
	char ip[INET6_ADDRSTRLEN];

	if (w->na >= MAX_ADDRS || !inet_ntop(family, a, ip, sizeof(ip)))
		return;
	snprintf(w->text[w->na], sizeof(w->text[0]), "%s/%u", ip, prefix);
	w->ptrs[w->na] = w->text[w->na];
	w->na++;
}

/* IPv4: in_device.ifa_list, a NULL-terminated chain of in_ifaddr. */
static void addrs4(struct ifwalk *w, uint64_t dev, const char *name)
{
	const struct vmi *v = w->v;
	uint64_t ind, ifa, pfx = 0;
	uint32_t local;

	if (vmi_field(v, dev, F_nd_ip_ptr, &ind) || !ind || !vmi_kptr(v, ind) ||
	    vmi_field(v, ind, F_indev_ifa_list, &ifa))
		return;
	struct cyc cy = CYC_INIT;

	for (int n = 0; ifa && n < MAX_ADDRS && !cyc_loops(&cy, ifa); n++) {
		uint64_t l = 0;
		if (!vmi_kptr(v, ifa) || vmi_field(v, ifa, F_ifa_local, &l) ||
		    vmi_field(v, ifa, F_ifa_prefixlen, &pfx)) {
			report(w->it, EFAULT, "interface %s: IPv4 address list: bad pointer", name);
			return;
		}
		local = (uint32_t)l;
		add_addr(w, AF_INET, &local, (unsigned)pfx);
		if (vmi_field(v, ifa, F_ifa_next, &ifa))
			return;
	}
}

/* IPv6: inet6_dev.addr_list, a list_head of inet6_ifaddr.if_list. */
static void addrs6(struct ifwalk *w, uint64_t dev, const char *name)
{
	const struct vmi *v = w->v;
	uint64_t idev, head, node, pfx = 0;
	unsigned char a[16];

	if (vmi_field(v, dev, F_nd_ip6_ptr, &idev) || !idev || !vmi_kptr(v, idev))
		return;
	head = idev + vmi_off(v, F_in6dev_addr_list);
	if (vmi_u64(v, head, &node))
		return;
	struct cyc cy = CYC_INIT;

	for (int n = 0; node != head && n < MAX_ADDRS && !cyc_loops(&cy, node); n++) {
		uint64_t ifa = node - vmi_off(v, F_in6ifa_if_list);
		if (!vmi_kptr(v, node) || vmi_read(v, ifa + vmi_off(v, F_in6ifa_addr), a, 16) ||
		    vmi_field(v, ifa, F_in6ifa_prefix_len, &pfx)) {
			report(w->it, EFAULT, "interface %s: IPv6 address list: bad pointer", name);
			return;
		}
		add_addr(w, AF_INET6, a, (unsigned)pfx);
		if (vmi_u64(v, node, &node))
			return;
	}
}

static void dev_addrs(struct ifwalk *w, uint64_t dev, const char *name)
{
	static const enum vmi_field f4[] = {F_nd_ip_ptr, F_indev_ifa_list, F_ifa_next, F_ifa_local,
	                                    F_ifa_prefixlen};
	static const enum vmi_field f6[] = {F_nd_ip6_ptr, F_in6dev_addr_list, F_in6ifa_if_list,
	                                    F_in6ifa_addr, F_in6ifa_prefix_len};
	const struct vmi *v = w->v;
	bool ok4 = true, ok6 = true;

	w->na = 0;
	for (size_t i = 0; i < 5; i++) {
		ok4 = ok4 && vmi_has(v, f4[i]);
		ok6 = ok6 && vmi_has(v, f6[i]);
	}
	if (ok4)
		addrs4(w, dev, name);
	if (ok6 && v->p.fsize[F_in6ifa_addr] == 16)
		addrs6(w, dev, name);
	w->ptrs[w->na] = NULL;
}

/* The kind of an rtnl_link_ops device ("dummy"), "" if none. */
static void dev_kind(const struct vmi *v, uint64_t dev, char *kind, size_t cap)
{
	uint64_t ops = 0, p = 0;

	kind[0] = 0;
	if (vmi_field(v, dev, F_nd_rtnl_link_ops, &ops) || !ops || !vmi_kptr(v, ops) ||
	    vmi_field(v, ops, F_rlo_kind, &p) || !vmi_kptr(v, p) || vmi_read(v, p, kind, cap - 1))
		kind[0] = 0;
	kind[cap - 1] = 0;
}

/* Sum a per-CPU stats pointer member of the device. */
static int dev_percpu(struct ifwalk *w, uint64_t dev, enum vmi_field ptr_f, const enum vmi_field *f,
                      size_t n, uint64_t *sum)
{
	uint64_t p = 0;

	memset(sum, 0, n * sizeof(*sum));
	if (vmi_field(w->v, dev, ptr_f, &p) || !p)
		return -EFAULT;
	return percpu_sum(w->v, w->cpus, p, f, n, sum);
}

static void dev_stats(const struct vmi *v, uint64_t dev, struct vt_netio *c)
{
	static const enum vmi_field sf[] = {F_nds_rx_packets, F_nds_tx_packets, F_nds_rx_bytes,
	                                    F_nds_tx_bytes,   F_nds_rx_errors,  F_nds_tx_errors,
	                                    F_nds_rx_dropped, F_nds_tx_dropped};
	uint64_t x[8] = {0};

	if (!vmi_has(v, F_nd_stats))
		return;
	uint64_t base = dev + vmi_off(v, F_nd_stats);
	for (size_t i = 0; i < 8; i++)
		vmi_field(v, base, sf[i], &x[i]);
	c->rx_packets = x[0];
	c->tx_packets = x[1];
	c->rx_bytes = x[2];
	c->tx_bytes = x[3];
	c->rx_errors = x[4];
	c->tx_errors = x[5];
	c->rx_dropped = x[6];
	c->tx_dropped = x[7];
}

/* What dev_get_stats() adds for every device: the core drop counters. */
static void core_drops(struct ifwalk *w, uint64_t dev, struct vt_netio *c)
{
	static const enum vmi_field df[] = {F_ncs_rx_dropped, F_ncs_tx_dropped};
	const struct vmi *v = w->v;
	uint64_t s[2] = {0, 0}, p = 0;

	if (vmi_has(v, F_nd_core_stats)) {
		if (vmi_field(v, dev, F_nd_core_stats, &p) || !p)
			return; /* allocated on the first drop */
		if (dev_percpu(w, dev, F_nd_core_stats, df, 2, s) == -ENOENT)
			return;
		c->rx_dropped += s[0];
		c->tx_dropped += s[1];
	} else if (vmi_has(v, F_nd_rx_dropped)) {
		vmi_field(v, dev, F_nd_rx_dropped, &s[0]);
		vmi_field(v, dev, F_nd_tx_dropped, &s[1]);
		c->rx_dropped += s[0];
		c->tx_dropped += s[1];
	}
}

static void pc_check(struct ifwalk *w, const char *name, int r)
{
	if (r == -E2BIG)
		report(w->it, E2BIG, "interface %s: per-CPU counters not summed (over %u reads)",
		       name, MAX_PERCPU_READS);
	else if (r)
		report(w->it, -r, "interface %s: per-CPU counters unreadable", name);
}

/* dev_get_stats(), for the drivers whose counters we know how to find. */
static void dev_counters(struct ifwalk *w, uint64_t dev, const char *name, struct vt_netio *c)
{
	static const enum vmi_field lf[] = {F_lstats_packets, F_lstats_bytes};
	static const enum vmi_field tf[] = {F_tstats_rx_packets, F_tstats_rx_bytes,
	                                    F_tstats_tx_packets, F_tstats_tx_bytes};
	const struct vmi *v = w->v;
	uint64_t ops = 0, get64 = 0, get = 0, s[4];
	char kind[16];

	memset(c, 0, sizeof(*c));
	c->ifname = name;
	if (!vmi_field(v, dev, F_nd_netdev_ops, &ops) && vmi_kptr(v, ops)) {
		vmi_field(v, ops, F_ndo_get_stats64, &get64);
		vmi_field(v, ops, F_ndo_get_stats, &get);
	}
	dev_kind(v, dev, kind, sizeof(kind));
	if (ops && ops == vmi_sym(v, S_loopback_ops)) {
		pc_check(w, name, dev_percpu(w, dev, F_nd_lstats, lf, 2, s));
		c->rx_packets = c->tx_packets = s[0];
		c->rx_bytes = c->tx_bytes = s[1];
	} else if (get64 && !strcmp(kind, "dummy")) {
		pc_check(w, name, dev_percpu(w, dev, F_nd_lstats, lf, 2, s));
		c->tx_packets = s[0];
		c->tx_bytes = s[1];
	} else if (get64 && get64 == vmi_sym(v, S_dev_get_tstats64)) {
		dev_stats(v, dev, c);
		pc_check(w, name, dev_percpu(w, dev, F_nd_tstats, tf, 4, s));
		c->rx_packets += s[0];
		c->rx_bytes += s[1];
		c->tx_packets += s[2];
		c->tx_bytes += s[3];
	} else {
		dev_stats(v, dev, c);
		if (get64 || get)
			report(w->it, ENOTSUP,
			       "interface %s: counters kept by its driver%s%s "
			       "are not read",
			       name, kind[0] ? " " : "", kind);
	}
	core_drops(w, dev, c);
}

static int emit_dev(struct ifwalk *w, uint64_t dev, int (*cb)(void *, const struct vt_iface *),
                    void *ctx)
{
	const struct vmi *v = w->v;
	struct vt_iface i;
	char name[17] = "";
	uint64_t x = 0;

	if (vmi_read(v, dev + vmi_off(v, F_nd_name), name, 16))
		return -EFAULT;
	name[16] = 0;
	for (char *p = name; *p; p++) /* no control characters in messages */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	memset(&i, 0, sizeof(i));
	i.name = name;
	if (!vmi_field(v, dev, F_nd_ifindex, &x))
		i.index = (int)x;
	if (!vmi_field(v, dev, F_nd_mtu, &x))
		i.mtu = (unsigned)x;
	i.flags = dev_flags(v, dev);
	dev_mac(v, dev, i.mac, sizeof(i.mac));
	dev_addrs(w, dev, name);
	i.addrs = w->ptrs;
	dev_counters(w, dev, name, &i.counters);
	return cb(ctx, &i);
}

int vm_interfaces(struct view *view, const struct view_iter *it,
                  int (*cb)(void *ctx, const struct vt_iface *i))
{
	static const enum vmi_field nf[] = {F_net_dev_base_head, F_nd_dev_list, F_nd_name};
	struct vm_view *vv = (struct vm_view *)view;
	const struct vmi *v = &vv->vmi;
	uint64_t net = vmi_sym(v, S_init_net), head, node;
	struct ifwalk *w;
	int r = 0;

	if (!net) {
		report(it, ENOTSUP, "interfaces: no init_net symbol");
		return -ENOTSUP;
	}
	if (!need(v, it, "interfaces", nf, 3))
		return -ENOTSUP;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cpus = calloc(1, sizeof(*w->cpus));
	if (!w->cpus) {
		free(w);
		return -ENOMEM;
	}
	w->v = v;
	w->it = it;
	read_cpus(v, w->cpus);
	head = net + vmi_off(v, F_net_dev_base_head);
	if (vmi_u64(v, head, &node)) {
		report(it, EFAULT, "interfaces: init_net device list unreadable");
		r = -EFAULT;
		goto out;
	}
	struct cyc cy = CYC_INIT;

	for (unsigned n = 0; node != head; n++) {
		if (n >= VMI_MAX_LIST) {
			report(it, ELOOP, "interfaces: more than %u devices", VMI_MAX_LIST);
			break;
		}
		if (cyc_loops(&cy, node)) {
			report(it, ELOOP, "interfaces: the device list loops");
			break;
		}
		uint64_t dev = node - vmi_off(v, F_nd_dev_list), next;
		if (!vmi_kptr(v, node) || vmi_u64(v, node, &next)) {
			report(it, EFAULT, "interfaces: bad pointer 0x%llx",
			       (unsigned long long)node);
			break;
		}
		r = emit_dev(w, dev, cb, it ? it->ctx : NULL);
		if (r == -EFAULT) {
			report(it, EFAULT, "interfaces: device at 0x%llx unreadable",
			       (unsigned long long)dev);
			r = 0;
			break;
		}
		if (r)
			break;
		node = next;
	}
out:
	free(w->cpus);
	free(w);
	return r;
}
