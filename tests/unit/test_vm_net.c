/*
 * Unit tests: the VM view's sockets and interfaces (src/views/vm_sock.c, vm_iface.c) on
 * a small synthetic guest built in a buffer.
 *
 * The "guest" is 4 MiB of memory with a hand-made kernel: a profile whose
 * field offsets the test chooses (not a real kernel's), a task list, fd
 * tables, tcp_hashinfo (ehash, lhash2), udp_table and init_net with net
 * devices.  Kernel-image symbols sit at base + pa, the direct map at
 * page_offset + pa, so every address the test writes is a plain offset in
 * the buffer.  Page 0 stays zero: anything else is an absent page.
 *
 *   - good tables: established v4 and v6 (v4-mapped), time-wait, request,
 *     listener and UDP sockets with inode, uid and owner (lowest pid of
 *     two holders); empty buckets cost nothing;
 *   - hostile tables: a chain that loops, a pointer that is not a kernel
 *     pointer, a socket past the end of RAM, a mask above 2^24, a bucket
 *     array that does not read, many bad chains, an fd table that loops
 *     through the task list; each is reported through the error hook and
 *     the other buckets and tables are still walked;
 *   - a field the BTF lacks disables its table, reported;
 *   - a callback's non-zero value stops the walk and is returned;
 *   - interfaces: name, index, MTU, flags as dev_get_flags() computes them,
 *     MAC, IPv4 and IPv6 addresses, dev->stats counters, the loopback's
 *     per-CPU counters; a device list that loops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "views/vm.h"

#define MEM (4u << 20)
#define PO 0xffff888000000000ull    /* page_offset_base */
#define KBASE 0xffffffff81000000ull /* kernel image */
#define DM(pa) (PO + (pa))

/* Where things are (physical offsets in the buffer). */
#define A_INIT_TASK 0x10000
#define A_HINFO 0x11000
#define A_UDPT 0x12000
#define A_SOCKFOPS 0x13000
#define A_INIT_NET 0x14000
#define A_LOOPOPS 0x15000
#define A_PCPU_OFF 0x16000
#define A_NR_CPU 0x17000
#define A_EHASH 0x20000   /* 16 buckets of 8 */
#define A_LHASH 0x21000   /* 4 buckets of 16 */
#define A_UHASH 0x22000   /* 8 slots of 16 */
#define A_SOCKS 0x30000   /* 0x400 apart */
#define A_SOCKETS 0x40000 /* socket_alloc, 0x100 apart */
#define A_TASKS 0x50000   /* 0x400 apart */
#define A_FILES 0x60000   /* files_struct + fdtable + fd array, 0x1000 apart */
#define A_FILE 0x70000    /* struct file, 0x200 apart */
#define A_DEVS 0x80000    /* net_device, 0x1000 apart */
#define A_MISC 0x90000

/* The synthetic layouts. */
enum {
	O_DADDR = 0,
	O_RCV_SADDR = 4,
	O_DPORT = 12,
	O_NUM = 14,
	O_FAMILY = 16,
	O_STATE = 18,
	O_NODE = 24,
	O_V6_DADDR = 56,
	O_V6_RCV = 72,
	O_SK_SOCKET = 0x180,
	O_SK_UID = 0x188,
	O_SOCKET_SK = 0x20,
	O_ALLOC_INODE = 0x40,
	O_I_UID = 0x4,
	O_I_INO = 0x10,
	O_T_TASKS = 0,
	O_T_PID = 16,
	O_T_TGID = 20,
	O_T_COMM = 24,
	O_T_FILES = 48,
	O_FS_FDT = 8,
	O_FDT_MAX = 0,
	O_FDT_FD = 8,
	O_F_OP = 0x28,
	O_F_PRIV = 0xc8,
	O_ND_NAME = 0,
	O_ND_LIST = 0x50,
	O_ND_IFINDEX = 0x100,
	O_ND_MTU = 0x104,
	O_ND_FLAGS = 0x108,
	O_ND_OPS = 0x110,
	O_ND_ADDR = 0x118,
	O_ND_ALEN = 0x120,
	O_ND_STATE = 0x128,
	O_ND_OPER = 0x130,
	O_ND_STATS = 0x140,
	O_ND_LSTATS = 0x200,
	O_ND_IP = 0x208,
	O_ND_IP6 = 0x210,
};

static unsigned char *mem;
static struct vm_view vv;

static void w8(uint64_t pa, uint8_t x)
{
	mem[pa] = x;
}
static void w16(uint64_t pa, uint16_t x)
{
	memcpy(mem + pa, &x, 2);
}
static void w32(uint64_t pa, uint32_t x)
{
	memcpy(mem + pa, &x, 4);
}
static void w64(uint64_t pa, uint64_t x)
{
	memcpy(mem + pa, &x, 8);
}

static void fld(enum vmi_field f, uint32_t off, uint32_t size)
{
	vv.vmi.p.off[f] = off;
	vv.vmi.p.fsize[f] = size;
}

static void sym(enum vmi_sym s, uint64_t pa)
{
	vv.vmi.p.sym_ok[s] = 1;
	vv.vmi.p.sym[s] = pa;
}

static void profile(void)
{
	struct vmi_prof *p = &vv.vmi.p;

	for (int f = 0; f < VMI_NFIELD; f++)
		p->off[f] = VMI_NONE;
	for (int z = 0; z < VMI_NSIZE; z++)
		p->tsize[z] = VMI_NONE;
	fld(F_skc_daddr, O_DADDR, 4);
	fld(F_skc_rcv_saddr, O_RCV_SADDR, 4);
	fld(F_skc_dport, O_DPORT, 2);
	fld(F_skc_num, O_NUM, 2);
	fld(F_skc_family, O_FAMILY, 2);
	fld(F_skc_state, O_STATE, 1);
	fld(F_skc_node, O_NODE, 16);
	fld(F_skc_nulls_node, O_NODE, 16);
	fld(F_skc_v6_daddr, O_V6_DADDR, 16);
	fld(F_skc_v6_rcv_saddr, O_V6_RCV, 16);
	fld(F_sk_socket, O_SK_SOCKET, 8);
	fld(F_sk_uid, O_SK_UID, 4);
	fld(F_socket_sk, O_SOCKET_SK, 8);
	fld(F_socket_alloc_socket, 0, 0x40);
	fld(F_socket_alloc_inode, O_ALLOC_INODE, 0x100);
	fld(F_inode_uid, O_I_UID, 4);
	fld(F_inode_ino, O_I_INO, 8);
	fld(F_hinfo_ehash, 0, 8);
	fld(F_hinfo_ehash_mask, 8, 4);
	fld(F_hinfo_lhash2, 16, 8);
	fld(F_hinfo_lhash2_mask, 24, 4);
	fld(F_ehb_chain, 0, 8);
	fld(F_lhb_nulls_head, 8, 8);
	fld(F_udpt_hash, 0, 8);
	fld(F_udpt_mask, 16, 4);
	fld(F_udph_head, 0, 8);
	p->tsize[Z_inet_ehash_bucket] = 8;
	p->tsize[Z_inet_listen_hashbucket] = 16;
	p->tsize[Z_udp_hslot] = 16;
	fld(F_task_tasks, O_T_TASKS, 16);
	fld(F_task_pid, O_T_PID, 4);
	fld(F_task_tgid, O_T_TGID, 4);
	fld(F_task_comm, O_T_COMM, 16);
	fld(F_task_files, O_T_FILES, 8);
	fld(F_files_fdt, O_FS_FDT, 8);
	fld(F_fdt_max_fds, O_FDT_MAX, 4);
	fld(F_fdt_fd, O_FDT_FD, 8);
	fld(F_file_f_op, O_F_OP, 8);
	fld(F_file_private_data, O_F_PRIV, 8);
	fld(F_net_dev_base_head, 0x10, 16);
	fld(F_nd_name, O_ND_NAME, 16);
	fld(F_nd_dev_list, O_ND_LIST, 16);
	fld(F_nd_ifindex, O_ND_IFINDEX, 4);
	fld(F_nd_mtu, O_ND_MTU, 4);
	fld(F_nd_flags, O_ND_FLAGS, 4);
	fld(F_nd_netdev_ops, O_ND_OPS, 8);
	fld(F_nd_dev_addr, O_ND_ADDR, 8);
	fld(F_nd_addr_len, O_ND_ALEN, 1);
	fld(F_nd_state, O_ND_STATE, 8);
	fld(F_nd_operstate, O_ND_OPER, 1);
	fld(F_nd_stats, O_ND_STATS, 0xb8);
	fld(F_nds_rx_packets, 0, 8);
	fld(F_nds_tx_packets, 8, 8);
	fld(F_nds_rx_bytes, 16, 8);
	fld(F_nds_tx_bytes, 24, 8);
	fld(F_nds_rx_errors, 32, 8);
	fld(F_nds_tx_errors, 40, 8);
	fld(F_nds_rx_dropped, 48, 8);
	fld(F_nds_tx_dropped, 56, 8);
	fld(F_nd_lstats, O_ND_LSTATS, 8);
	fld(F_lstats_packets, 0, 8);
	fld(F_lstats_bytes, 8, 8);
	fld(F_nd_ip_ptr, O_ND_IP, 8);
	fld(F_indev_ifa_list, 0x8, 8);
	fld(F_ifa_next, 0, 8);
	fld(F_ifa_local, 0x10, 4);
	fld(F_ifa_prefixlen, 0x18, 1);
	fld(F_nd_ip6_ptr, O_ND_IP6, 8);
	fld(F_in6dev_addr_list, 0x20, 16);
	fld(F_in6ifa_if_list, 0x40, 16);
	fld(F_in6ifa_addr, 0, 16);
	fld(F_in6ifa_prefix_len, 0x10, 4);
	p->enum_ok[E___LINK_STATE_START] = p->enum_ok[E___LINK_STATE_NOCARRIER] = 1;
	p->enumv[E___LINK_STATE_START] = 0;
	p->enumv[E___LINK_STATE_NOCARRIER] = 2;
	sym(S_init_task, A_INIT_TASK);
	sym(S_tcp_hashinfo, A_HINFO);
	sym(S_udp_table, A_UDPT);
	sym(S_socket_file_ops, A_SOCKFOPS);
	sym(S_init_net, A_INIT_NET);
	sym(S_loopback_ops, A_LOOPOPS);
	sym(S___per_cpu_offset, A_PCPU_OFF);
	sym(S_nr_cpu_ids, A_NR_CPU);
	sym(S__end, MEM);
}

/* ---- building the guest ---------------------------------------------------- */

static uint64_t sock_pa(int i)
{
	return A_SOCKS + 0x400ull * i;
}
static uint64_t socket_pa(int i)
{
	return A_SOCKETS + 0x100ull * i;
}

/* Socket i: family, state, local/remote (4 or 16 bytes), ports. */
static void mk_sock(int i, int family, int state, const char *la, uint16_t lport, const char *ra,
                    uint16_t rport)
{
	uint64_t sk = sock_pa(i);
	unsigned char a[16];

	w16(sk + O_FAMILY, (uint16_t)family);
	w8(sk + O_STATE, (uint8_t)state);
	w16(sk + O_NUM, lport);
	w16(sk + O_DPORT, htons(rport));
	if (family == AF_INET) {
		inet_pton(AF_INET, la, a);
		memcpy(mem + sk + O_RCV_SADDR, a, 4);
		inet_pton(AF_INET, ra, a);
		memcpy(mem + sk + O_DADDR, a, 4);
	} else {
		inet_pton(AF_INET6, la, a);
		memcpy(mem + sk + O_V6_RCV, a, 16);
		inet_pton(AF_INET6, ra, a);
		memcpy(mem + sk + O_V6_DADDR, a, 16);
	}
}

/* Give socket i a struct socket with inode number ino and uid. */
static void mk_socket(int i, uint64_t ino, uint32_t uid)
{
	uint64_t so = socket_pa(i);

	w64(sock_pa(i) + O_SK_SOCKET, DM(so));
	w64(so + O_SOCKET_SK, DM(sock_pa(i)));
	w64(so + O_ALLOC_INODE + O_I_INO, ino);
	w32(so + O_ALLOC_INODE + O_I_UID, uid);
	w32(sock_pa(i) + O_SK_UID, 4242); /* not what is reported */
}

/* Chain sockets idx[0..n) into a head at pa; nulls chains end in `end`. */
static void chain(uint64_t head_pa, const int *idx, int n, uint64_t end)
{
	uint64_t at = head_pa;

	for (int k = 0; k < n; k++) {
		w64(at, DM(sock_pa(idx[k]) + O_NODE));
		at = sock_pa(idx[k]) + O_NODE;
	}
	w64(at, end);
}

static uint64_t task_pa(int i)
{
	return A_TASKS + 0x400ull * i;
}

/* Task i (tgid, comm) holding socket files of sockets idx[0..n) at fds 3... */
static void mk_task(int i, int tgid, const char *comm, const int *idx, int n)
{
	uint64_t t = task_pa(i), fs = A_FILES + 0x1000ull * i, fdt = fs + 0x100, arr = fs + 0x200;

	w32(t + O_T_PID, (uint32_t)tgid);
	w32(t + O_T_TGID, (uint32_t)tgid);
	strncpy((char *)mem + t + O_T_COMM, comm, 15);
	w64(t + O_T_FILES, DM(fs));
	w64(fs + O_FS_FDT, DM(fdt));
	w32(fdt + O_FDT_MAX, 64);
	w64(fdt + O_FDT_FD, DM(arr));
	for (int k = 0; k < n; k++) {
		uint64_t f = A_FILE + 0x200ull * (i * 8 + k);
		w64(f + O_F_OP, KBASE + A_SOCKFOPS);
		w64(f + O_F_PRIV, DM(socket_pa(idx[k])));
		w64(arr + 8ull * (3 + k), DM(f));
	}
	/* a non-socket file at fd 0 */
	uint64_t f0 = A_FILE + 0x200ull * (i * 8 + 7);
	w64(f0 + O_F_OP, KBASE + A_MISC);
	w64(f0 + O_F_PRIV, DM(A_MISC));
	w64(arr, DM(f0));
}

/* Link tasks 0..n-1 into init_task.tasks. */
static void link_tasks(int n)
{
	uint64_t head = A_INIT_TASK + O_T_TASKS, prev = head;

	for (int i = 0; i < n; i++) {
		w64(prev, DM(task_pa(i) + O_T_TASKS));
		prev = task_pa(i) + O_T_TASKS;
	}
	w64(prev, KBASE + head);
}

/*
 * The good guest:
 *   ehash[3]:  0 v4 ESTABLISHED 10.0.0.1:22 <- 10.0.0.9:5555, inode 100,
 *              uid 1000, held by pids 20 and 30 -> 20 "sshd"
 *              1 TIME_WAIT 10.0.0.1:22 10.0.0.8:4444
 *   ehash[9]:  2 v6 ESTABLISHED ::ffff:127.0.0.1:9091 <- ::ffff:127.0.0.1:33504
 *              inode 101, uid 0, held by pid 40 "nc"
 *              3 NEW_SYN_RECV (reported as SYN_RECV)
 *   lhash2[1]: 4 v6 LISTEN :::8080, inode 102, uid 33, pid 20
 *   udp[5]:    5 v4 CLOSE 0.0.0.0:67, inode 103, no owner
 *   other buckets empty (nulls markers / NULL).
 */
static void build(void)
{
	static const int e3[] = {0, 1}, e9[] = {2, 3}, l1[] = {4}, u5[] = {5};

	memset(mem, 0, MEM);
	memset(&vv, 0, sizeof(vv));
	gmem_open_buf(&vv.vmi.mem, mem, MEM);
	vv.vmi.levels = 4;
	vv.vmi.page_offset = PO;
	vv.vmi.max_pa = MEM;
	vv.vmi.base = KBASE;
	vv.vmi.pa_base = 0;
	profile();

	w64(A_HINFO + 0, DM(A_EHASH));
	w32(A_HINFO + 8, 15);
	w64(A_HINFO + 16, DM(A_LHASH));
	w32(A_HINFO + 24, 3);
	for (int b = 0; b < 16; b++)
		w64(A_EHASH + 8 * b, (uint64_t)b << 1 | 1);
	for (int b = 0; b < 4; b++)
		w64(A_LHASH + 16 * b + 8, (uint64_t)(b + 0x20000000) << 1 | 1);
	w64(A_UDPT + 0, DM(A_UHASH));
	w32(A_UDPT + 16, 7);

	mk_sock(0, AF_INET, 1, "10.0.0.1", 22, "10.0.0.9", 5555);
	mk_socket(0, 100, 1000);
	mk_sock(1, AF_INET, 6, "10.0.0.1", 22, "10.0.0.8", 4444);
	mk_sock(2, AF_INET6, 1, "::ffff:127.0.0.1", 9091, "::ffff:127.0.0.1", 33504);
	mk_socket(2, 101, 0);
	mk_sock(3, AF_INET, 12, "10.0.0.1", 22, "10.0.0.7", 3333);
	mk_sock(4, AF_INET6, 10, "::", 8080, "::", 0);
	mk_socket(4, 102, 33);
	mk_sock(5, AF_INET, 7, "0.0.0.0", 67, "0.0.0.0", 0);
	mk_socket(5, 103, 0);
	chain(A_EHASH + 8 * 3, e3, 2, 3 << 1 | 1);
	chain(A_EHASH + 8 * 9, e9, 2, 9 << 1 | 1);
	chain(A_LHASH + 16 * 1 + 8, l1, 1, (0x20000001ull << 1) | 1);
	chain(A_UHASH + 16 * 5, u5, 1, 0);

	static const int t0[] = {0, 4}, t1[] = {0}, t2[] = {2};
	mk_task(0, 20, "sshd", t0, 2); /* met first and lowest: kept */
	mk_task(1, 30, "sshd-child", t1, 1);
	mk_task(2, 40, "nc", t2, 1);
	link_tasks(3);
}

/* ---- collecting what the view says ------------------------------------------ */

#define MAXS 64
struct got {
	struct vt_sock s[MAXS];
	int n, errs, stop_at;
	char err[64][160];
	int errno_[64];
};

static struct got got; /* static: a failed assertion leaks nothing */

static void on_err(void *ctx, const char *what, int err)
{
	struct got *g = ctx;

	if (g->errs < 64) {
		snprintf(g->err[g->errs], sizeof(g->err[0]), "%s", what);
		g->errno_[g->errs] = err;
	}
	g->errs++;
}

static int on_sock(void *ctx, const struct vt_sock *s)
{
	struct got *g = ctx;

	if (g->n < MAXS)
		g->s[g->n] = *s;
	g->n++;
	return g->stop_at && g->n == g->stop_at ? 77 : 0;
}

static int sockets(struct got *g)
{
	struct view_iter it = {.ctx = g, .error = on_err};
	int stop_at = g->stop_at;

	memset(g, 0, sizeof(*g));
	g->stop_at = stop_at;
	return vm_sockets(&vv.base, &it, on_sock);
}

static const struct vt_sock *find(const struct got *g, uint16_t lport, uint16_t rport)
{
	for (int i = 0; i < g->n && i < MAXS; i++)
		if (g->s[i].local_port == lport && g->s[i].remote_port == rport)
			return &g->s[i];
	return NULL;
}

static bool has_err(const struct got *g, const char *part, int err)
{
	for (int i = 0; i < g->errs && i < 64; i++)
		if (strstr(g->err[i], part) && (!err || g->errno_[i] == err))
			return true;
	return false;
}

static int count_err(const struct got *g, const char *part)
{
	int n = 0;

	for (int i = 0; i < g->errs && i < 64; i++)
		n += strstr(g->err[i], part) != NULL;
	return n;
}

/* ---- tests ---------------------------------------------------------------------- */

static void good_tables(void **state)
{
	struct got *g = &got;
	const struct vt_sock *s;

	build();
	assert_int_equal(sockets(g), 0);
	assert_int_equal(g->errs, 0);
	assert_int_equal(g->n, 6);

	s = find(g, 22, 5555);
	assert_non_null(s);
	assert_int_equal(s->family, AF_INET);
	assert_int_equal(s->proto, IPPROTO_TCP);
	assert_int_equal(s->state, 1);
	assert_string_equal(s->local_addr, "10.0.0.1");
	assert_string_equal(s->remote_addr, "10.0.0.9");
	assert_int_equal(s->have, VS_OWNER | VS_UID | VS_INODE);
	assert_int_equal(s->inode, 100);
	assert_int_equal(s->uid, 1000); /* the inode's, as sock_i_uid() */
	assert_int_equal(s->pid, 20);   /* the lowest of two holders */
	assert_string_equal(s->comm, "sshd");

	s = find(g, 22, 4444);
	assert_non_null(s);
	assert_int_equal(s->state, 6);
	assert_int_equal(s->have, VS_UID); /* time-wait: as sock_diag says */
	assert_int_equal(s->uid, 0);

	s = find(g, 22, 3333);
	assert_non_null(s);
	assert_int_equal(s->state, 3); /* NEW_SYN_RECV shown as SYN_RECV */

	s = find(g, 9091, 33504);
	assert_non_null(s);
	assert_int_equal(s->family, AF_INET6);
	assert_string_equal(s->local_addr, "::ffff:127.0.0.1");
	assert_string_equal(s->remote_addr, "::ffff:127.0.0.1");
	assert_int_equal(s->pid, 40);
	assert_string_equal(s->comm, "nc");
	assert_int_equal(s->inode, 101);

	s = find(g, 8080, 0);
	assert_non_null(s);
	assert_int_equal(s->state, 10);
	assert_string_equal(s->local_addr, "::");
	assert_int_equal(s->uid, 33);
	assert_int_equal(s->pid, 20);

	s = find(g, 67, 0);
	assert_non_null(s);
	assert_int_equal(s->proto, IPPROTO_UDP);
	assert_int_equal(s->state, 7);
	assert_int_equal(s->have, VS_UID | VS_INODE); /* nobody holds it */
	assert_int_equal(s->inode, 103);
}

static void chain_loops(void **state)
{
	struct got *g = &got;

	build();
	/* socket 1 (end of ehash[3]) points back at socket 0 */
	w64(sock_pa(1) + O_NODE, DM(sock_pa(0) + O_NODE));
	assert_int_equal(sockets(g), 0);
	assert_true(has_err(g, "tcp ehash bucket 3: the chain loops", ELOOP));
	assert_true(g->n >= 6 && g->n <= 8); /* the loop is left after a few steps */
	assert_non_null(find(g, 67, 0));     /* later tables still walked */

	/* a socket that points at itself */
	build();
	w64(sock_pa(4) + O_NODE, DM(sock_pa(4) + O_NODE));
	assert_int_equal(sockets(g), 0);
	assert_true(has_err(g, "tcp lhash2 bucket 1: the chain loops", ELOOP));
	assert_int_equal(g->n, 6);
}

static void bad_pointers(void **state)
{
	struct got *g = &got;

	/* not a kernel pointer (even, so not a nulls marker) */
	build();
	w64(sock_pa(0) + O_NODE, 0x1234);
	assert_int_equal(sockets(g), 0);
	assert_true(has_err(g, "tcp ehash bucket 3: bad pointer 0x1234", EFAULT));
	assert_int_equal(g->n, 5); /* socket 1 lost, the rest stands */
	assert_non_null(find(g, 9091, 33504));

	/* a kernel pointer past the end of RAM */
	build();
	w64(A_EHASH + 8 * 9, DM(MEM + 0x10000ull));
	assert_int_equal(sockets(g), 0);
	assert_true(has_err(g, "tcp ehash bucket 9:", EFAULT));
	assert_int_equal(g->n, 4);

	/* a socket whose struct socket is garbage: no inode, no owner */
	build();
	w64(sock_pa(0) + O_SK_SOCKET, 0x42);
	assert_int_equal(sockets(g), 0);
	const struct vt_sock *s = find(g, 22, 5555);
	assert_non_null(s);
	assert_int_equal(s->have & (VS_OWNER | VS_INODE), 0);

	/* orphaned (no struct socket): root, as sock_i_uid() says */
	build();
	w64(sock_pa(0) + O_SK_SOCKET, 0);
	assert_int_equal(sockets(g), 0);
	s = find(g, 22, 5555);
	assert_non_null(s);
	assert_int_equal(s->have, VS_UID);
	assert_int_equal(s->uid, 0);
}

static void bad_tables(void **state)
{
	struct got *g = &got;

	/* a mask above 2^24 is refused; the other tables are walked */
	build();
	w32(A_HINFO + 8, 0xffffffff);
	assert_int_equal(sockets(g), 0);
	assert_true(has_err(g, "tcp ehash: mask 0xffffffff", E2BIG));
	assert_int_equal(g->n, 2); /* listener + udp */

	/* a bucket array that does not read */
	build();
	w64(A_UDPT, DM(MEM - 8)); /* 8 slots of 16 from the last 8 bytes */
	assert_int_equal(sockets(g), 0);
	assert_true(has_err(g, "udp hash", EFAULT));
	assert_int_equal(g->n, 5);

	/* an array of garbage: after MAX_TABLE_ERRS bad chains, given up */
	build();
	w32(A_HINFO + 8, 4095);
	for (int b = 0; b < 4096; b++)
		w64(A_MISC + 8 * b, 0x1000 + 16 * b); /* even, not kernel */
	w64(A_HINFO, DM(A_MISC));
	assert_int_equal(sockets(g), 0);
	assert_true(has_err(g, "the rest of the table skipped", EFAULT));
	assert_true(g->errs < 40);
	assert_int_equal(g->n, 2);
}

static void missing_fields(void **state)
{
	struct got *g = &got;

	build();
	vv.vmi.p.off[F_skc_nulls_node] = VMI_NONE;
	assert_int_equal(sockets(g), 0);
	assert_true(has_err(g, "sock_common.skc_nulls_node", ENOTSUP));
	assert_int_equal(g->n, 1); /* UDP only: both TCP tables need it */
	assert_non_null(find(g, 67, 0));

	build();
	vv.vmi.p.off[F_inode_ino] = VMI_NONE;
	assert_int_equal(sockets(g), 0);
	assert_true(has_err(g, "inode.i_ino", ENOTSUP));
	assert_int_equal(g->n, 6);
	for (int i = 0; i < g->n; i++)
		assert_int_equal(g->s[i].have & (VS_INODE | VS_OWNER), 0);

	build();
	vv.vmi.p.off[F_skc_family] = VMI_NONE;
	assert_int_equal(sockets(g), -ENOTSUP);
	assert_int_equal(g->n, 0);
}

static void owners_hostile(void **state)
{
	struct got *g = &got;

	/* the task list loops back to task 0: each fd table scanned once */
	build();
	w64(task_pa(2) + O_T_TASKS, DM(task_pa(0) + O_T_TASKS));
	assert_int_equal(sockets(g), 0);
	assert_int_equal(g->n, 6);
	assert_int_equal(find(g, 22, 5555)->pid, 20);
	assert_true(g->errs <= 2); /* the task walk's own report only */

	/* ... and a bad fd table in the loop is reported once */
	build();
	w64(task_pa(2) + O_T_TASKS, DM(task_pa(0) + O_T_TASKS));
	w64(A_FILES + 0x1000 * 2 + O_FS_FDT, 0x99);
	assert_int_equal(sockets(g), 0);
	assert_int_equal(count_err(g, "pid 40 fds: bad fd table"), 1);
	assert_int_equal(find(g, 9091, 33504)->have & VS_OWNER, 0);

	/* 60 tasks with bad fd tables: the scan gives up after a bound */
	build();
	for (int i = 3; i < 60; i++) {
		w32(task_pa(i) + O_T_TGID, (uint32_t)(100 + i));
		w64(task_pa(i) + O_T_FILES, DM(A_MISC + 0x40ull * i));
		w64(A_MISC + 0x40ull * i + O_FS_FDT, 0x99);
	}
	link_tasks(60);
	assert_int_equal(sockets(g), 0);
	assert_true(has_err(g, "socket owners: 32 bad fd tables, scan stopped", EFAULT));
	assert_true(count_err(g, "fds: bad fd table") < 32);
	assert_int_equal(find(g, 22, 5555)->pid, 20); /* found before */

	/* a huge max_fds over an array that ends: reported, sockets stand */
	build();
	w32(A_FILES + 0x100 + O_FDT_MAX, 0xffffffff);
	w64(A_FILES + 0x100 + O_FDT_FD, DM(MEM - 0x100));
	assert_int_equal(sockets(g), 0);
	assert_true(has_err(g, "pid 20 fds", EFAULT));
	assert_int_equal(g->n, 6);
	assert_int_equal(find(g, 22, 5555)->pid, 30); /* pid 20 lost */
}

static void callback_stops(void **state)
{
	struct got *g = &got;

	build();
	memset(g, 0, sizeof(*g));
	g->stop_at = 2;
	assert_int_equal(sockets(g), 77);
	assert_int_equal(g->n, 2);
	g->stop_at = 0;
}

/* ---- interfaces ------------------------------------------------------------------ */

struct igot {
	int n, errs;
	char name[4][17], mac[4][24], addrs[4][160];
	unsigned flags[4], mtu[4];
	int index[4];
	struct vt_netio c[4];
};

static void on_ierr(void *ctx, const char *what, int err)
{
	(void)what;
	(void)err;
	((struct igot *)ctx)->errs++;
}

static int on_if(void *ctx, const struct vt_iface *i)
{
	struct igot *g = ctx;
	int k = g->n++;

	if (k >= 4)
		return 0;
	snprintf(g->name[k], sizeof(g->name[k]), "%s", i->name);
	snprintf(g->mac[k], sizeof(g->mac[k]), "%s", i->mac);
	g->flags[k] = i->flags;
	g->mtu[k] = i->mtu;
	g->index[k] = i->index;
	g->c[k] = i->counters;
	for (const char *const *a = i->addrs; a && *a; a++) {
		strncat(g->addrs[k], *a, sizeof(g->addrs[k]) - strlen(g->addrs[k]) - 2);
		strcat(g->addrs[k], " ");
	}
	return 0;
}

static uint64_t dev_pa(int i)
{
	return A_DEVS + 0x1000ull * i;
}

/* lo (loopback_ops, per-CPU counters on 2 CPUs, 127.0.0.1/8 and ::1/128)
 * and eth0 (dev->stats, MAC, carrier off, admin up). */
static void build_ifs(void)
{
	uint64_t head = A_INIT_NET + 0x10, lo = dev_pa(0), eth = dev_pa(1);
	unsigned char a6[16];

	build();
	w64(head, DM(lo + O_ND_LIST));
	w64(lo + O_ND_LIST, DM(eth + O_ND_LIST));
	w64(eth + O_ND_LIST, KBASE + head);

	strcpy((char *)mem + lo, "lo");
	w32(lo + O_ND_IFINDEX, 1);
	w32(lo + O_ND_MTU, 65536);
	w32(lo + O_ND_FLAGS, 0x9); /* UP|LOOPBACK */
	w64(lo + O_ND_STATE, 1);   /* START, carrier */
	w8(lo + O_ND_OPER, 0);     /* unknown: counts as up */
	w64(lo + O_ND_OPS, KBASE + A_LOOPOPS);
	w8(lo + O_ND_ALEN, 6);
	w64(lo + O_ND_ADDR, DM(A_MISC + 0x800));
	w64(lo + O_ND_LSTATS, A_MISC + 0x100); /* per-CPU pointer */
	w32(A_NR_CPU, 2);
	w64(A_PCPU_OFF, PO);
	w64(A_PCPU_OFF + 8, PO + 0x40);
	w64(A_MISC + 0x100, 5); /* cpu 0: packets, bytes */
	w64(A_MISC + 0x108, 342);
	w64(A_MISC + 0x140, 2); /* cpu 1 */
	w64(A_MISC + 0x148, 100);
	w64(lo + O_ND_IP, DM(A_MISC + 0x200));   /* in_device */
	w64(A_MISC + 0x208, DM(A_MISC + 0x300)); /* ifa_list */
	inet_pton(AF_INET, "127.0.0.1", mem + A_MISC + 0x310);
	w8(A_MISC + 0x318, 8);
	w64(lo + O_ND_IP6, DM(A_MISC + 0x400)); /* inet6_dev */
	w64(A_MISC + 0x420, DM(A_MISC + 0x500 + 0x40));
	w64(A_MISC + 0x540, DM(A_MISC + 0x420));
	inet_pton(AF_INET6, "::1", a6);
	memcpy(mem + A_MISC + 0x500, a6, 16);
	w32(A_MISC + 0x510, 128);

	strcpy((char *)mem + eth, "eth0");
	w32(eth + O_ND_IFINDEX, 2);
	w32(eth + O_ND_MTU, 1500);
	w32(eth + O_ND_FLAGS, 0x1003 | 0x40); /* UP|BROADCAST|MULTICAST, stale RUNNING */
	w64(eth + O_ND_STATE, 1 | 4);         /* START, NOCARRIER */
	w8(eth + O_ND_OPER, 2);               /* down */
	w8(eth + O_ND_ALEN, 6);
	static const unsigned char mac[] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};
	memcpy(mem + A_MISC + 0x900, mac, 6);
	w64(eth + O_ND_ADDR, DM(A_MISC + 0x900));
	w64(eth + O_ND_STATS + 0, 10);    /* rx_packets */
	w64(eth + O_ND_STATS + 8, 20);    /* tx_packets */
	w64(eth + O_ND_STATS + 16, 1000); /* rx_bytes */
	w64(eth + O_ND_STATS + 24, 2000); /* tx_bytes */
	w64(eth + O_ND_STATS + 32, 1);
	w64(eth + O_ND_STATS + 40, 2);
	w64(eth + O_ND_STATS + 48, 3);
	w64(eth + O_ND_STATS + 56, 4);
}

static int interfaces(struct igot *g)
{
	struct view_iter it = {.ctx = g, .error = on_ierr};

	memset(g, 0, sizeof(*g));
	return vm_interfaces(&vv.base, &it, on_if);
}

static void good_interfaces(void **state)
{
	struct igot g;

	build_ifs();
	assert_int_equal(interfaces(&g), 0);
	assert_int_equal(g.errs, 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.name[0], "lo");
	assert_int_equal(g.index[0], 1);
	assert_int_equal(g.mtu[0], 65536);
	assert_int_equal(g.flags[0], 0x9 | 0x40 | 0x10000); /* + RUNNING, LOWER_UP */
	assert_string_equal(g.mac[0], "00:00:00:00:00:00");
	assert_string_equal(g.addrs[0], "127.0.0.1/8 ::1/128 ");
	assert_int_equal(g.c[0].rx_packets, 7);
	assert_int_equal(g.c[0].tx_packets, 7);
	assert_int_equal(g.c[0].rx_bytes, 442);
	assert_int_equal(g.c[0].tx_bytes, 442);
	assert_int_equal(g.c[0].rx_errors, 0);

	assert_string_equal(g.name[1], "eth0");
	assert_int_equal(g.flags[1], 0x1003); /* no carrier: not RUNNING, LOWER_UP */
	assert_string_equal(g.mac[1], "52:54:00:12:34:56");
	assert_string_equal(g.addrs[1], "");
	assert_int_equal(g.c[1].rx_packets, 10);
	assert_int_equal(g.c[1].tx_packets, 20);
	assert_int_equal(g.c[1].rx_bytes, 1000);
	assert_int_equal(g.c[1].tx_bytes, 2000);
	assert_int_equal(g.c[1].rx_errors, 1);
	assert_int_equal(g.c[1].tx_errors, 2);
	assert_int_equal(g.c[1].rx_dropped, 3);
	assert_int_equal(g.c[1].tx_dropped, 4);
}

static void hostile_interfaces(void **state)
{
	struct igot g;

	/* the device list loops at eth0 */
	build_ifs();
	w64(dev_pa(1) + O_ND_LIST, DM(dev_pa(1) + O_ND_LIST));
	assert_int_equal(interfaces(&g), 0);
	assert_true(g.n >= 2 && g.n <= 3);
	assert_true(g.errs >= 1);

	/* the IPv6 list loops, the IPv4 list points nowhere, addr_len huge */
	build_ifs();
	w64(A_MISC + 0x540, DM(A_MISC + 0x540));
	w64(A_MISC + 0x300, 0x77);
	w8(dev_pa(0) + O_ND_ALEN, 255);
	assert_int_equal(interfaces(&g), 0);
	assert_int_equal(g.n, 2);
	assert_true(strlen(g.addrs[0]) < 160);
	assert_int_equal(strlen(g.mac[0]), 0); /* 32 bytes do not fit "mac" */

	/* the loopback's per-CPU pointer is garbage: reported, zero counters */
	build_ifs();
	w64(dev_pa(0) + O_ND_LSTATS, 0x123456789ull);
	assert_int_equal(interfaces(&g), 0);
	assert_int_equal(g.n, 2);
	assert_true(g.errs >= 1);

	/* a device past the end of RAM ends the walk */
	build_ifs();
	w64(dev_pa(0) + O_ND_LIST, DM(MEM + 0x50ull));
	assert_int_equal(interfaces(&g), 0);
	assert_int_equal(g.n, 1);
	assert_true(g.errs >= 1);
}

int main(void)
{
	mem = malloc(MEM);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(good_tables),        cmocka_unit_test(chain_loops),
	    cmocka_unit_test(bad_pointers),       cmocka_unit_test(bad_tables),
	    cmocka_unit_test(missing_fields),     cmocka_unit_test(owners_hostile),
	    cmocka_unit_test(callback_stops),     cmocka_unit_test(good_interfaces),
	    cmocka_unit_test(hostile_interfaces),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	free(mem);
	return r;
}
