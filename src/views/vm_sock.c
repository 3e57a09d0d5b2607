/*
 * vm_sock.c - the sockets of the VM view (vm_sockets): TCP and UDP
 * sockets from the guest kernel's hash tables, with their owning
 * processes, read from guest RAM through vmi_*().
 *
 * Sockets (vm_sockets):
 *   1. Owners first: every task (vm_each_task) has its fd table read
 *      (files->fdt->fd[], fetched in chunks); each open file whose f_op is
 *      socket_file_ops holds a struct socket in private_data.  The socket
 *      pointers go into a u64map -> (tgid, comm); a socket
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
 * Guest memory is hostile: every pointer passes vmi_kptr() before use,
 * every chain is bounded (VMI_MAX_LIST) and checked for loops (struct
 * cyc), table sizes above 2^24 buckets are refused, a read that fails
 * ends that chain with an error through it->error and the walk goes on
 * with the next bucket.  Garbage must not flood the error hook: after
 * MAX_TABLE_ERRS bad chains the rest of a table is skipped, after as many
 * bad fd tables the owner scan stops, and an fd table met twice (a task
 * list that loops, or CLONE_FILES) is scanned once.  Totals are bounded
 * per call: sockets, fd slots, socket files.  A field the guest's BTF
 * lacks disables what needs it, reported once per call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../linux/sockdiag_parse.h"
#include "../util/u64set.h"
#include "../vmi/btf.h"
#include "vm_obj.h"

#define MAX_BUCKETS (1u << 24)
#define CHUNK_BYTES (256u << 10)
#define MAX_SOCKETS (VMI_MAX_LIST * 16) /* over all tables of one call */
#define MAX_FDS 65536u                  /* per fd table */
#define MAX_FD_SLOTS (1u << 22)         /* fd slots looked at per call */
#define MAX_OWNED (1u << 18)            /* socket files remembered per call */
#define FD_CHUNK 512
#define COMM_LEN 16
#define MAX_TABLE_ERRS 32 /* bad chains before a table is given up */
#define TCP_ST_SYN_RECV 3
#define TCP_ST_TIME_WAIT 6
#define TCP_ST_NEW_SYN_RECV 12

/* ---- owners: socket -> (tgid, comm) --------------------------------------- */

/* The value of the owners map (a u64map keyed by struct socket address). */
struct owner {
	int pid;
	char comm[COMM_LEN];
};

/* Remember sock as held by pid; the lowest pid wins. */
static int owner_add(struct u64map *o, uint64_t sock, int pid, const char *comm)
{
	bool added;
	struct owner *w = u64map_put(o, sock, &added);

	if (!w)
		return -ENOMEM;
	if (added || pid < w->pid) {
		w->pid = pid;
		memcpy(w->comm, comm, COMM_LEN);
	}
	return 0;
}

struct fdscan {
	struct vm_view *vv;
	const struct vmi *v;
	const struct view_iter *it;
	struct u64map *o; /* of struct owner */
	uint64_t sock_fops;
	struct span file_span;
	uint64_t fds[FD_CHUNK];
	size_t slots;       /* fd slots looked at so far */
	struct u64set seen; /* files_struct addresses already scanned */
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
	vm_report(s->it, EFAULT, "socket owners: %u bad fd tables, scan stopped", s->errs);
	s->full = true;
	return false;
}

/* One open file: remember its socket if it is one. */
static int scan_file(struct fdscan *s, uint64_t file, int pid, const char *comm)
{
	struct obj o;

	if (vm_obj_read(&o, s->v, file, s->file_span))
		return -EFAULT;
	if (vm_obj_u(&o, F_file_f_op) != s->sock_fops)
		return 0;
	uint64_t sock = vm_obj_u(&o, F_file_private_data);
	if (!vmi_kptr(s->v, sock))
		return 0;
	if (u64map_count(s->o) >= MAX_OWNED) {
		if (!s->full)
			vm_report(s->it, E2BIG,
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
	int added = u64set_add(&s->seen, files);
	if (added == 0) /* shared (CLONE_FILES), or a loop */
		return 0;
	if (added < 0) {
		s->err = -ENOMEM;
		return 1;
	}
	vmi_field(v, task, F_task_tgid, &tgid);
	if (!vmi_kptr(v, files) || vmi_field(v, files, F_files_fdt, &fdt) || !vmi_kptr(v, fdt) ||
	    vmi_field(v, fdt, F_fdt_max_fds, &max) || vmi_field(v, fdt, F_fdt_fd, &arr) ||
	    !vmi_kptr(v, arr)) {
		if (scan_bad(s))
			vm_report(s->it, EFAULT, "pid %d fds: bad fd table", (int)tgid);
		return 0;
	}
	vmi_read(v, task + vmi_off(v, F_task_comm), comm, COMM_LEN);
	comm[COMM_LEN - 1] = 0;
	if (max > MAX_FDS)
		max = MAX_FDS;
	if (s->slots + max > MAX_FD_SLOTS) {
		vm_report(s->it, E2BIG, "socket owners: more than %u fd slots, the rest unowned",
		          MAX_FD_SLOTS);
		s->full = true;
		return 0;
	}
	s->slots += max;
	for (uint64_t at = 0; at < max; at += FD_CHUNK) {
		size_t n = max - at < FD_CHUNK ? (size_t)(max - at) : FD_CHUNK;
		if (vmi_read(v, arr + at * 8, s->fds, n * 8)) {
			if (scan_bad(s))
				vm_report(s->it, EFAULT, "pid %d fds %llu..: unreadable", (int)tgid,
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
					vm_report(s->it, EFAULT,
					          "pid %d fd %" PRIu64 ": bad file pointer",
					          (int)tgid, at + i);
				return 0;
			}
		}
	}
	return 0;
}

static int find_owners(struct vm_view *vv, const struct view_iter *it, struct u64map *o)
{
	static const enum vmi_field ff[] = {F_file_f_op, F_file_private_data};
	static const enum vmi_field tf[] = {F_task_files,       F_task_tgid, F_files_fdt,
	                                    F_fdt_max_fds,      F_fdt_fd,    F_file_f_op,
	                                    F_file_private_data};
	const struct vmi *v = &vv->vmi;
	struct fdscan *s;

	if (!vmi_sym(v, S_socket_file_ops)) {
		vm_report(it, ENOTSUP, "socket owners: no socket_file_ops symbol");
		return 0;
	}
	if (!vm_need(v, it, "socket owners", tf, sizeof(tf) / sizeof(tf[0])))
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->vv = vv;
	s->v = v;
	s->it = it;
	s->o = o;
	u64set_init(&s->seen);
	s->sock_fops = vmi_sym(v, S_socket_file_ops);
	s->file_span = vm_span_of(v, ff, 2);
	vm_each_task(vv, it, scan_fds, s);
	int r = s->err;
	u64set_free(&s->seen);
	free(s);
	return r;
}

/* ---- sockets from the hash tables ----------------------------------------- */

struct sockwalk {
	const struct vmi *v;
	const struct view_iter *it;
	int (*cb)(void *ctx, const struct vt_sock *s);
	void *ctx;
	const struct u64map *o; /* of struct owner */
	struct span common;     /* the sock_common fields read per socket */
	bool v6;                /* skc_v6_* present */
	bool have_inode;        /* sk_socket -> inode readable */
	size_t total;           /* sockets met over all tables */
	unsigned errs;          /* bad chains in the current table */
	bool skip;              /* ... too many: the rest of it is skipped */
	bool stopped;           /* total bound met (reported) */
	unsigned char *chunk;   /* CHUNK_BYTES for bucket arrays */
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
		vm_obj_get(o, F_skc_v6_rcv_saddr, a, 16);
		inet_ntop(AF_INET6, a, s->local_addr, sizeof(s->local_addr));
		vm_obj_get(o, F_skc_v6_daddr, a, 16);
		inet_ntop(AF_INET6, a, s->remote_addr, sizeof(s->remote_addr));
	} else {
		vm_obj_get(o, F_skc_rcv_saddr, a, 4);
		inet_ntop(AF_INET, a, s->local_addr, sizeof(s->local_addr));
		vm_obj_get(o, F_skc_daddr, a, 4);
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
	const struct owner *ow = u64map_get(w->o, sock);
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

	if (vm_obj_read(&o, w->v, sk, w->common))
		return -EFAULT;
	memset(&s, 0, sizeof(s));
	s.family = (int)vm_obj_u(&o, F_skc_family);
	if (s.family != AF_INET && !(s.family == AF_INET6 && w->v6))
		return 0; /* not an inet socket: not ours to show */
	s.proto = proto;
	s.state = (int)vm_obj_u(&o, F_skc_state);
	s.local_port = (uint16_t)vm_obj_u(&o, F_skc_num);
	s.remote_port = ntohs((uint16_t)vm_obj_u(&o, F_skc_dport));
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
		if (vm_cyc_loops(&cy, node)) {
			w->errs++;
			vm_report(w->it, ELOOP, "%s bucket %llu: the chain loops", t->name,
			          (unsigned long long)bucket);
			return 0;
		}
		if (n >= VMI_MAX_LIST) {
			w->errs++;
			vm_report(w->it, ELOOP, "%s bucket %llu: more than %u sockets", t->name,
			          (unsigned long long)bucket, VMI_MAX_LIST);
			return 0;
		}
		if (w->total >= MAX_SOCKETS) {
			if (!w->stopped)
				vm_report(w->it, E2BIG, "sockets: more than %u, stopped",
				          MAX_SOCKETS);
			w->stopped = true;
			return 0;
		}
		uint64_t next;
		if (!vmi_kptr(v, node) || node < t->link_off || vmi_u64(v, node, &next)) {
			w->errs++;
			vm_report(w->it, EFAULT, "%s bucket %llu: bad pointer 0x%llx", t->name,
			          (unsigned long long)bucket, (unsigned long long)node);
			return 0;
		}
		w->total++;
		int r = emit_sock(w, node - t->link_off, t->proto);
		if (r == -EFAULT) {
			w->errs++;
			vm_report(w->it, EFAULT, "%s bucket %llu: socket at 0x%llx unreadable",
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
		uint64_t head = vm_rd_u(buf, i * t->bsize + t->head_off);
		if (t->nulls ? (head & 1) : !head)
			continue;
		int r = walk_chain(w, t, first + i, head);
		if (r)
			return r;
		if (w->stopped)
			return 0;
		if (w->errs >= MAX_TABLE_ERRS) {
			vm_report(w->it, EFAULT, "%s: %u bad chains, the rest of the table skipped",
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
		vm_report(w->it, E2BIG, "%s: %llu buckets, more than %u: refused", t->name,
		          (unsigned long long)t->nb, MAX_BUCKETS);
		return 0;
	}
	if (!vmi_kptr(v, t->arr)) {
		vm_report(w->it, EFAULT, "%s: bad bucket array 0x%llx", t->name,
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
					vm_report(w->it, EFAULT, "%s: bucket array unreadable",
					          t->name);
					return 0;
				}
				vm_report(w->it, EFAULT, "%s buckets %llu..%llu: unreadable",
				          t->name, (unsigned long long)b,
				          (unsigned long long)(b + m - 1));
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
		vm_report(w->it, EFAULT, "%s: table header unreadable", name);
		return false;
	}
	if (mask >= MAX_BUCKETS) {
		vm_report(w->it, E2BIG, "%s: mask 0x%llx, more than %u buckets: refused", name,
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
		vm_report(w->it, ENOTSUP, "tcp sockets: no tcp_hashinfo symbol");
		return 0;
	}
	if (vm_need(v, w->it, "tcp ehash", ef, 4) && v->p.tsize[Z_inet_ehash_bucket] != VMI_NONE &&
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
	if (!vm_need(v, w->it, "tcp listeners", lf, 2) ||
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
		vm_report(w->it, ENOTSUP,
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
		vm_report(w->it, ENOTSUP, "udp sockets: no udp_table symbol");
		return 0;
	}
	if (!vm_need(v, w->it, "udp sockets", uf, 4) || v->p.tsize[Z_udp_hslot] == VMI_NONE ||
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
	struct u64map o;
	struct sockwalk w = {.v = v, .it = it, .cb = cb, .ctx = it ? it->ctx : NULL, .o = &o};
	int r;

	u64map_init(&o, sizeof(struct owner));
	if (!vm_need(v, it, "sockets", cf, 6))
		return -ENOTSUP;
	w.common = vm_span_of(v, cf, sizeof(cf) / sizeof(cf[0]));
	w.v6 = vmi_has(v, F_skc_v6_rcv_saddr) && vmi_has(v, F_skc_v6_daddr);
	/* struct socket must open struct socket_alloc for the inode to follow */
	w.have_inode =
	    vm_need(v, it, "socket inodes", inf, 3) &&
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
	u64map_free(&o);
	return r;
}
