/*
 * vmi_fuzz.c - hostile guest RAM, in process: a real guest's RAM image is
 * damaged in memory in many ways and every VM view op is run on the result.
 * Built by `make unit` as build/tests/vmi_fuzz with AddressSanitizer and
 * UBSan, over the sanitized objects of the unit tests, so a memory error or
 * undefined behaviour anywhere in the VMI code aborts the run; a hang is
 * caught by an alarm.  Records handed to callbacks are checked (strings
 * terminated within their buffers, lengths that agree, bounded counts).
 *
 *   vmi_fuzz IMAGE CACHEDIR [-n ITERS] [-s SECONDS] [-S SEED] [-i ITER] [-v]
 *
 * IMAGE is a raw RAM file of a guest that the VM view opens (checked first:
 * the pristine image must give processes, modules, sockets and interfaces).
 * CACHEDIR holds the profile cache for warm opens (filled by the first, cold,
 * open).  Each iteration draws its mutations from SEED and its own number,
 * so `-S SEED -i N` replays iteration N alone.  The mutations:
 *
 *   image    random bytes of the kernel image changed
 *   pages    random pages filled with noise, or with plausible kernel
 *            pointers ("pointer soup")
 *   objects  words of live kernel objects (tasks, mm, cred, signal, files,
 *            modules, net devices, the socket hash tables, init_net) that
 *            hold kernel pointers replaced by hostile values: NULL, odd,
 *            non-canonical, user space, beyond RAM, into vmalloc space, back
 *            to the object itself (a loop), to the list head, to another task
 *   fields   one named field set to a hostile value (list links, mm arg
 *            range and pgd, fd table size, hash table masks, comm and module
 *            names without a NUL, nr_cpu_ids, per-CPU offsets, times and
 *            counters at the limits of their types ...)
 *   pgtable  page-table entries of the kernel or of a process made to loop,
 *            point beyond RAM, or be huge pages at garbage addresses
 *   trunc    the image cut at a random length (its own heap copy, so a read
 *            past the end is an ASan error), reopened warm or cold
 *   region   BTF zeroed or garbled, the kallsyms token table zeroed or
 *            garbled, init_top_pgt zeroed, the banner changed: reopened cold
 *            (no cache) and warm
 *   live     a thread keeps flipping task list links and other pointers
 *            between their own and hostile values while the ops run
 * Most mutations are made under a view opened on the pristine image (what a
 * live guest does to a crawl: memory changing under a located kernel);
 * some reopen the damaged image.  Every mutation is undone after its
 * iteration; at the end the pristine view must give the baseline counts
 * again.
 *
 * Output: a summary line "vmi_fuzz: ok ..." and exit 0; "VIOLATION ..."
 * lines and exit 1 when a record broke its contract; exit 4 on a hang.
 * Before each iteration "iter N seed S kind K" goes to stderr, so the
 * iteration that crashed is the last one named there.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "views/view.h"
#include "views/vm.h"
#include "vmi/mem.h"
#include "vmi/vmi.h"

#define MAX_TASKS 1024
#define MAX_OBJS 4096
#define MAX_UNDO 4096
#define HANG_SECONDS 60

/* ---- random numbers (xorshift64*) ---------------------------------------- */

static uint64_t rs;

static uint64_t rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545f4914f6cdd1dull;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* splitmix64 of (seed, iter): every pair its own stream */
static void seed_iter(uint64_t seed, uint64_t iter)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ull + iter * 0xbf58476d1ce4e5b9ull + 1;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	rs = (z ^ (z >> 31)) | 1;
}

/* ---- the image and an undo log ------------------------------------------- */

static unsigned char *ram;
static size_t ram_len;

struct undo {
	unsigned char *at;
	size_t len;
	unsigned char *old;
};
static struct undo undo_log[MAX_UNDO];
static int nundo;

/* Remember [at, at+len) before it is changed; false when the log is full. */
static bool save(unsigned char *at, size_t len)
{
	if (nundo == MAX_UNDO || at < ram || len > ram_len || at - ram > (ptrdiff_t)(ram_len - len))
		return false;
	unsigned char *old = malloc(len);
	if (!old)
		return false;
	memcpy(old, at, len);
	undo_log[nundo++] = (struct undo){at, len, old};
	return true;
}

static void undo_all(void)
{
	while (nundo > 0) {
		struct undo *u = &undo_log[--nundo];
		memcpy(u->at, u->old, u->len);
		free(u->old);
	}
}

/* Write len bytes at guest-physical pa (within one range of the backing). */
static bool poke_pa(const struct vmi *v, uint64_t pa, const void *src, size_t len)
{
	unsigned char *p = (unsigned char *)gmem_ptr(&v->mem, pa, len);
	if (!p || !save(p, len))
		return false;
	memcpy(p, src, len);
	return true;
}

/* Write at a kernel virtual address, page by page. */
static bool poke_va(const struct vmi *v, uint64_t va, const void *src, size_t len)
{
	size_t done = 0;
	while (done < len) {
		uint64_t a = va + done, pa;
		size_t chunk = 4096 - (a & 4095);
		if (chunk > len - done)
			chunk = len - done;
		if (vmi_vtop(v, a, &pa) || !poke_pa(v, pa, (const char *)src + done, chunk))
			return false;
		done += chunk;
	}
	return true;
}

static bool poke_u64(const struct vmi *v, uint64_t va, uint64_t x)
{
	return poke_va(v, va, &x, 8);
}

/* ---- what the pristine guest holds ---------------------------------------- */

struct kobj {
	const char *kind;
	uint64_t va;
	uint32_t len;
};

static struct {
	uint64_t tasks[MAX_TASKS];
	int ntasks;
	struct kobj obj[MAX_OBJS];
	int nobj;
	uint64_t pgds[MAX_TASKS]; /* physical addresses of page-table roots */
	int npgd;
} G;

static void add_obj(const struct vmi *v, const char *kind, uint64_t va, uint32_t len)
{
	if (G.nobj < MAX_OBJS && va && vmi_kptr(v, va))
		G.obj[G.nobj++] = (struct kobj){kind, va, len};
}

static uint64_t fld(const struct vmi *v, uint64_t base, enum vmi_field f)
{
	uint64_t x = 0;
	if (vmi_field(v, base, f, &x))
		return 0;
	return x;
}

static int collect_task(void *ctx, uint64_t task)
{
	const struct vmi *v = ctx;
	if (G.ntasks == MAX_TASKS)
		return 1;
	G.tasks[G.ntasks++] = task;
	add_obj(v, "task", task, 4096);
	uint64_t mm = fld(v, task, F_task_mm);
	if (mm) {
		add_obj(v, "mm", mm, 1024);
		uint64_t pgd = fld(v, mm, F_mm_pgd), pa;
		if (pgd && !vmi_vtop(v, pgd, &pa) && G.npgd < MAX_TASKS)
			G.pgds[G.npgd++] = pa;
	}
	add_obj(v, "cred", fld(v, task, F_task_real_cred), 64);
	add_obj(v, "signal", fld(v, task, F_task_signal), 512);
	uint64_t files = fld(v, task, F_task_files);
	if (files) {
		add_obj(v, "files", files, 256);
		uint64_t fdt = fld(v, files, F_files_fdt);
		add_obj(v, "fdtable", fdt, 64);
		if (fdt)
			add_obj(v, "fd array", fld(v, fdt, F_fdt_fd), 512);
	}
	return 0;
}

static void collect(struct view *view)
{
	const struct vmi *v = view_vm_vmi(view);
	const struct view_iter it = {0};
	vm_each_task((struct vm_view *)view, &it, collect_task, (void *)v);
	add_obj(v, "init_task", vmi_sym(v, S_init_task), 4096);
	/* modules */
	uint64_t head = vmi_sym(v, S_modules), n = 0;
	if (head && !vmi_u64(v, head, &n))
		for (int i = 0; i < 64 && n && n != head && vmi_kptr(v, n); i++) {
			add_obj(v, "module", n - vmi_off(v, F_module_list), 1024);
			if (vmi_u64(v, n, &n))
				break;
		}
	/* network: hash tables, init_net, devices */
	uint64_t th = vmi_sym(v, S_tcp_hashinfo), ut = vmi_sym(v, S_udp_table);
	if (th) {
		add_obj(v, "tcp_hashinfo", th, 128);
		if (vmi_has(v, F_hinfo_ehash)) {
			uint64_t eh = fld(v, th, F_hinfo_ehash);
			add_obj(v, "ehash", eh, 4096);
		}
		if (vmi_has(v, F_hinfo_lhash2))
			add_obj(v, "lhash2", fld(v, th, F_hinfo_lhash2), 4096);
	}
	if (ut) {
		add_obj(v, "udp_table", ut, 64);
		if (vmi_has(v, F_udpt_hash))
			add_obj(v, "udp hash", fld(v, ut, F_udpt_hash), 4096);
	}
	uint64_t net = vmi_sym(v, S_init_net);
	if (net && vmi_has(v, F_net_dev_base_head) && vmi_has(v, F_nd_dev_list)) {
		add_obj(v, "init_net", net, 512);
		uint64_t h = net + vmi_off(v, F_net_dev_base_head), d = 0;
		if (!vmi_u64(v, h, &d))
			for (int i = 0; i < 32 && d != h && vmi_kptr(v, d); i++) {
				uint64_t dev = d - vmi_off(v, F_nd_dev_list);
				add_obj(v, "net_device", dev, 2048);
				add_obj(v, "in_device", fld(v, dev, F_nd_ip_ptr), 256);
				add_obj(v, "inet6_dev", fld(v, dev, F_nd_ip6_ptr), 512);
				if (vmi_u64(v, d, &d))
					break;
			}
	}
	G.pgds[G.npgd++] = v->top_pgt_pa;
}

/* A hostile value for a pointer-sized word at self. */
static uint64_t evil(const struct vmi *v, uint64_t self)
{
	uint64_t ramsz = v->max_pa ? v->max_pa : ram_len;
	switch (below(16)) {
	case 0:
		return 0;
	case 1:
		return below(4096);
	case 2:
		return rnd();
	case 3:
		return ~0ull;
	case 4:
		return 0x0000800000000000ull | (rnd() & 0x00007ffffffff000ull);
	case 5:
		return rnd() & 0x00007fffffffffffull;
	case 6:
		return v->page_offset + (below(ramsz) & ~7ull); /* plausible garbage */
	case 7:
		return v->page_offset + ramsz + below(1ull << 40);
	case 8:
		return self; /* a loop */
	case 9:
		return self + 8 * (below(5) - 2);
	case 10:
		return v->base + (below(64u << 20) & ~7ull);
	case 11:
		return v->vmalloc_base + below(1ull << 44);
	case 12:
		return G.ntasks ? G.tasks[below(G.ntasks)] + below(4096) : rnd();
	case 13:
		return vmi_sym(v, S_init_task) + vmi_off(v, F_task_tasks);
	case 14:
		return v->vmemmap_base + below(1ull << 30);
	default:
		return self | 1; /* a nulls end */
	}
}

/* ---- checking records --------------------------------------------------- */

static struct {
	unsigned long procs, socks, mods, cpus, ifaces, errors, violations;
} C;
static char cur_kind[32];
static long cur_iter;

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
	va_list ap;
	char b[300];
	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (C.violations++ < 20)
		printf("VIOLATION iter %ld (%s): %s\n", cur_iter, cur_kind, b);
}

static bool terminated(const char *s, size_t cap)
{
	return s && memchr(s, 0, cap) != NULL;
}

static void on_error(void *ctx, const char *what, int err)
{
	C.errors++;
	if (!what || strlen(what) > 4096 || err <= 0)
		violation("error hook got what=%p err=%d", (const void *)what, err);
}

static int on_proc(void *ctx, const struct vt_proc *p)
{
	unsigned long *n = ctx;
	(*n)++;
	C.procs++;
	if (p->pid <= 0)
		violation("process with pid %d", p->pid);
	if (!terminated(p->comm, sizeof(p->comm)))
		violation("pid %d: comm not terminated", p->pid);
	if (p->have & VP_CMDLINE) {
		if (!p->cmdline || strlen(p->cmdline) != p->cmdline_len || p->cmdline_len > 1 << 20)
			violation("pid %d: cmdline length %zu disagrees", p->pid, p->cmdline_len);
	}
	if (p->have & VP_USER && !terminated(p->user, 4096))
		violation("pid %d: bad user", p->pid);
	if (*n > VMI_MAX_LIST + 1)
		violation("more than %d processes", VMI_MAX_LIST + 1);
	return 0;
}

static int on_sock(void *ctx, const struct vt_sock *s)
{
	unsigned long *n = ctx;
	(*n)++;
	C.socks++;
	if (!terminated(s->local_addr, sizeof(s->local_addr)) ||
	    !terminated(s->remote_addr, sizeof(s->remote_addr)) ||
	    !terminated(s->comm, sizeof(s->comm)))
		violation("socket: text not terminated");
	if (s->family != 2 && s->family != 10)
		violation("socket: family %d", s->family);
	if (*n > (unsigned long)VMI_MAX_LIST * 64)
		violation("unbounded sockets");
	return 0;
}

static int on_mod(void *ctx, const struct vt_module *m)
{
	unsigned long *n = ctx;
	(*n)++;
	C.mods++;
	if (!terminated(m->name, 4096) || (m->state && !terminated(m->state, 64)) ||
	    (m->deps && !terminated(m->deps, 1 << 16)))
		violation("module: text not terminated");
	if (*n > 65536)
		violation("unbounded modules");
	return 0;
}

static int on_cpu(void *ctx, const struct vt_cpu *c)
{
	unsigned long *n = ctx;
	(*n)++;
	C.cpus++;
	if (*n > 8193)
		violation("unbounded CPUs");
	return 0;
}

static int on_iface(void *ctx, const struct vt_iface *i)
{
	unsigned long *n = ctx;
	(*n)++;
	C.ifaces++;
	if (!terminated(i->name, 4096) || !terminated(i->mac, sizeof(i->mac)))
		violation("interface: text not terminated");
	for (int k = 0; i->addrs && i->addrs[k]; k++)
		if (k > 4096 || !terminated(i->addrs[k], 256)) {
			violation("interface %s: addresses", i->name);
			break;
		}
	if (*n > VMI_MAX_LIST + 1)
		violation("unbounded interfaces");
	return 0;
}

static int on_fs(void *ctx, const struct vt_fs *f)
{
	return 0;
}

static int on_disk(void *ctx, const struct vt_diskio *d)
{
	return 0;
}

struct counts {
	unsigned long procs, socks, mods, cpus, ifaces;
	int kernel;
	char host[256];
};

static void run_ops(struct view *v, struct counts *out)
{
	struct counts c = {0};
	struct view_iter it = {.error = on_error};
	struct vt_kernel k;
	struct vt_mem m;
	struct vt_load l;
	struct vt_cgroup cg;
	struct vt_stat st;
	struct vfile *f = NULL;

	it.ctx = &c.procs;
	view_processes(v, &it, on_proc);
	it.ctx = &c.socks;
	view_sockets(v, &it, on_sock);
	c.kernel = view_kernel(v, &k);
	if (!c.kernel) {
		if (!terminated(k.release, sizeof(k.release)) ||
		    !terminated(k.version, sizeof(k.version)) ||
		    !terminated(k.hostname, sizeof(k.hostname)) ||
		    !terminated(k.domainname, sizeof(k.domainname)) ||
		    !terminated(k.machine, sizeof(k.machine)))
			violation("kernel facts: text not terminated");
		snprintf(c.host, sizeof(c.host), "%s", k.hostname);
	}
	it.ctx = &c.mods;
	view_modules(v, &it, on_mod);
	it.ctx = &c.cpus;
	view_cpu_times(v, &it, on_cpu);
	view_memory(v, &m);
	view_load(v, &l);
	it.ctx = &c.ifaces;
	view_interfaces(v, &it, on_iface);
	view_filesystems(v, &it, on_fs);
	view_disk_io(v, &it, on_disk);
	view_cgroup(v, &cg);
	view_stat(v, "/", &st);
	if (!view_file_open(v, "/etc/hostname", &f) && f)
		view_file_close(v, f);
	if (out)
		*out = c;
}

/* ---- opening --------------------------------------------------------------- */

static unsigned long opens_ok, opens_refused;

/* Open a view on buf[0..len) (not copied); run the ops when it opens. */
static void open_and_run(const void *buf, size_t len, const char *cache, struct counts *out)
{
	struct gmem g;
	struct view *v = NULL;
	struct vmi_opts o = {.cache_dir = cache};
	char err[512];

	memset(err, 0x55, sizeof(err));
	gmem_open_buf(&g, buf, len);
	int r = view_vm_open(&g, &o, &v, err, sizeof(err));
	if (r) {
		opens_refused++;
		if (r > 0 || !terminated(err, sizeof(err)) || !err[0])
			violation("open refused (%d) without a message", r);
		return;
	}
	opens_ok++;
	run_ops(v, out);
	view_destroy(v);
}

/* ---- mutations -------------------------------------------------------------- */

enum kind { K_IMAGE, K_PAGES, K_OBJECTS, K_FIELDS, K_PGTABLE, K_TRUNC, K_REGION, K_LIVE, K_NKINDS };
static const char *const kind_names[] = {"image",   "pages", "objects", "fields",
                                         "pgtable", "trunc", "region",  "live"};
static const unsigned kind_weight[] = {10, 12, 26, 22, 10, 7, 6, 7};
static unsigned long kind_runs[K_NKINDS];

static enum kind pick_kind(void)
{
	unsigned total = 0, x;
	for (int i = 0; i < K_NKINDS; i++)
		total += kind_weight[i];
	x = (unsigned)below(total);
	for (int i = 0; i < K_NKINDS; i++) {
		if (x < kind_weight[i])
			return (enum kind)i;
		x -= kind_weight[i];
	}
	return K_OBJECTS;
}

static uint64_t image_end(const struct vmi *v)
{
	return v->p.sym_ok[S__end] ? v->p.sym[S__end] : 64u << 20;
}

static void mut_image(const struct vmi *v)
{
	int n = 1 + (int)below(256);
	uint64_t len = image_end(v);
	for (int i = 0; i < n; i++) {
		unsigned char b = (unsigned char)rnd();
		poke_pa(v, v->pa_base + below(len), &b, 1);
	}
}

static void mut_pages(const struct vmi *v)
{
	int n = 1 + (int)below(32);
	unsigned char page[4096];
	for (int i = 0; i < n; i++) {
		uint64_t pa = below(ram_len) & ~4095ull;
		switch (below(3)) {
		case 0:
			for (size_t k = 0; k < sizeof(page); k += 8) {
				uint64_t x = rnd();
				memcpy(page + k, &x, 8);
			}
			poke_pa(v, pa, page, sizeof(page));
			break;
		case 1: /* pointer soup: everything passes vmi_kptr */
			for (size_t k = 0; k < sizeof(page); k += 8) {
				uint64_t x = evil(v, v->page_offset + pa + k);
				memcpy(page + k, &x, 8);
			}
			poke_pa(v, pa, page, sizeof(page));
			break;
		default:
			for (int k = 0; k < 16; k++) {
				uint64_t x = rnd();
				poke_pa(v, pa + (below(4096) & ~7ull), &x, 8);
			}
		}
	}
}

static void mut_objects(const struct vmi *v)
{
	if (!G.nobj)
		return;
	int nobj = 1 + (int)below(4);
	for (int i = 0; i < nobj; i++) {
		const struct kobj *o = &G.obj[below(G.nobj)];
		int words = 1 + (int)below(8);
		for (int w = 0; w < words; w++) {
			uint64_t at = o->va + (below(o->len) & ~7ull), cur = 0;
			/* mostly hit words that hold kernel pointers */
			for (int t = 0; t < 16 && below(10) < 7; t++) {
				if (!vmi_u64(v, at, &cur) && vmi_kptr(v, cur))
					break;
				at = o->va + (below(o->len) & ~7ull);
			}
			poke_u64(v, at, evil(v, at));
		}
	}
}

static uint64_t some_task(void)
{
	return G.ntasks ? G.tasks[below(G.ntasks)] : 0;
}

static uint64_t some_obj(const char *kind)
{
	int idx[MAX_OBJS], n = 0;
	for (int i = 0; i < G.nobj; i++)
		if (!strcmp(G.obj[i].kind, kind))
			idx[n++] = i;
	return n ? G.obj[idx[below(n)]].va : 0;
}

static void fill_field(const struct vmi *v, uint64_t base, enum vmi_field f, int byte)
{
	unsigned char b[256];
	uint32_t sz = v->p.fsize[f];
	if (!base || !vmi_has(v, f) || !sz)
		return;
	if (sz > sizeof(b))
		sz = sizeof(b);
	memset(b, byte, sz);
	poke_va(v, base + vmi_off(v, f), b, sz);
}

static void set_field(const struct vmi *v, uint64_t base, enum vmi_field f, uint64_t x)
{
	uint32_t sz = v->p.fsize[f];
	if (!base || !vmi_has(v, f) || !sz)
		return;
	poke_va(v, base + vmi_off(v, f), &x, sz < 8 ? sz : 8);
}

static uint64_t big(void)
{
	static const uint64_t b[] = {0xffffffffull, 0x7fffffffull, 1u << 24,      (1u << 24) + 1,
	                             ~0ull,         1ull << 40,    0x80000000ull, 65537};
	return b[below(sizeof(b) / sizeof(b[0]))];
}

/* A number at or near a limit of its type, or any. */
static uint64_t extreme(void)
{
	static const uint64_t x[] = {0,
	                             1,
	                             0x7fffffffffffffffull,
	                             0x8000000000000000ull,
	                             ~0ull,
	                             0x7fffffffull,
	                             0x80000000ull,
	                             0xffffffffull};
	return below(4) ? x[below(sizeof(x) / sizeof(x[0]))] : rnd();
}

static void mut_fields(const struct vmi *v)
{
	uint64_t t = some_task(), mm = t ? fld(v, t, F_task_mm) : 0, x;
	uint64_t th = vmi_sym(v, S_tcp_hashinfo), ut = vmi_sym(v, S_udp_table);
	uint64_t fdt = some_obj("fdtable"), mod = some_obj("module"), dev = some_obj("net_device");
	int n = 1 + (int)below(3);
	for (int i = 0; i < n; i++) {
		switch (below(32)) {
		case 0:
			set_field(v, t, F_task_tasks, evil(v, t + vmi_off(v, F_task_tasks)));
			break;
		case 1:
			set_field(v, t, F_task_mm, evil(v, t));
			break;
		case 2:
			set_field(v, t, F_task_real_parent, evil(v, t));
			break;
		case 3:
			set_field(v, t, F_task_real_cred, evil(v, t));
			break;
		case 4:
			set_field(v, t, F_task_signal, evil(v, t));
			break;
		case 5:
			set_field(v, t, F_task_files, evil(v, t));
			break;
		case 6:
			fill_field(v, t, F_task_comm, 'A' + (int)below(26));
			break;
		case 7:
			set_field(v, t, F_task_tgid, rnd());
			set_field(v, t, F_task_pid, rnd());
			break;
		case 8: /* arg range: reversed, huge, or far away */
			x = fld(v, mm, F_mm_arg_start);
			set_field(v, mm, F_mm_arg_end, below(2) ? x - 1 - below(4096) : x + big());
			if (below(2))
				set_field(v, mm, F_mm_arg_start, rnd() & 0x00007fffffffffffull);
			break;
		case 9:
			set_field(v, mm, F_mm_pgd, evil(v, mm));
			break;
		case 10:
			set_field(v, mm, F_mm_rss_stat, rnd());
			set_field(v, mm, F_mm_total_vm, rnd());
			break;
		case 11:
			set_field(v, fdt, F_fdt_max_fds, big());
			break;
		case 12:
			set_field(v, fdt, F_fdt_fd, evil(v, fdt));
			break;
		case 13:
			set_field(v, mod, F_module_list, evil(v, mod + vmi_off(v, F_module_list)));
			break;
		case 14:
			fill_field(v, mod, F_module_name, 'B');
			break;
		case 15:
			set_field(v, mod, F_module_state, rnd());
			set_field(v, mod, F_module_refcnt, rnd());
			break;
		case 16:
			set_field(v, mod, F_module_source_list, evil(v, mod));
			break;
		case 17:
			set_field(v, th, F_hinfo_ehash, evil(v, th));
			break;
		case 18:
			set_field(v, th, F_hinfo_ehash_mask, big());
			break;
		case 19:
			set_field(v, th, F_hinfo_lhash2, evil(v, th));
			set_field(v, th, F_hinfo_lhash2_mask, big());
			break;
		case 20:
			set_field(v, ut, F_udpt_hash, evil(v, ut));
			set_field(v, ut, F_udpt_mask, big());
			break;
		case 21:
			fill_field(v, dev, F_nd_name, 'C');
			set_field(v, dev, F_nd_addr_len, rnd());
			break;
		case 22:
			set_field(v, dev, F_nd_dev_addr, evil(v, dev));
			set_field(v, dev, F_nd_ip_ptr, evil(v, dev));
			break;
		case 23:
			set_field(v, dev, F_nd_dev_list, evil(v, dev + vmi_off(v, F_nd_dev_list)));
			break;
		case 24:
			if (vmi_sym(v, S_nr_cpu_ids))
				poke_va(v, vmi_sym(v, S_nr_cpu_ids), &(uint32_t){(uint32_t)big()},
				        4);
			break;
		case 25:
			if (vmi_sym(v, S___per_cpu_offset))
				poke_u64(v, vmi_sym(v, S___per_cpu_offset) + 8 * below(2),
				         evil(v, 0));
			break;
		case 26:
			if (vmi_sym(v, S_nr_node_ids))
				poke_va(v, vmi_sym(v, S_nr_node_ids), &(uint32_t){(uint32_t)big()},
				        4);
			if (vmi_sym(v, S_node_data))
				poke_u64(v, vmi_sym(v, S_node_data), evil(v, 0));
			break;
		case 27:
			set_field(v, fld(v, t, F_task_signal), F_signal_nr_threads, rnd());
			break;
		case 28: /* the whole task list made a loop at init_task */
			poke_u64(v, vmi_sym(v, S_init_task) + vmi_off(v, F_task_tasks),
			         t + vmi_off(v, F_task_tasks));
			set_field(v, t, F_task_tasks, t + vmi_off(v, F_task_tasks));
			break;
		case 29: /* numbers the view computes with: extremes */
			set_field(v, t, F_task_start_boottime, extreme());
			set_field(v, t, F_task_utime, extreme());
			set_field(v, t, F_task_stime, extreme());
			set_field(v, mm, F_mm_total_vm, extreme());
			break;
		case 30:
			if (vmi_sym(v, S_avenrun))
				poke_u64(v, vmi_sym(v, S_avenrun) + 8 * below(3), extreme());
			if (vmi_sym(v, S__totalram_pages))
				poke_u64(v, vmi_sym(v, S__totalram_pages), extreme());
			if (vmi_sym(v, S_vm_zone_stat))
				poke_u64(v, vmi_sym(v, S_vm_zone_stat) + 8 * below(16), extreme());
			if (vmi_sym(v, S_vm_node_stat))
				poke_u64(v, vmi_sym(v, S_vm_node_stat) + 8 * below(48), extreme());
			if (vmi_sym(v, S_totalreserve_pages))
				poke_u64(v, vmi_sym(v, S_totalreserve_pages), extreme());
			break;
		default:
			if (vmi_sym(v, S_tk_core))
				poke_u64(v, vmi_sym(v, S_tk_core) + 8 * below(32), extreme());
		}
	}
}

/* A page-table entry on a present path of pgd (physical), at a random level. */
static void mut_pgtable(const struct vmi *v)
{
	uint64_t table = G.npgd ? G.pgds[below(G.npgd)] : v->top_pgt_pa;
	int stop = 1 + (int)below(v->levels);
	for (int level = v->levels; level >= 1; level--) {
		uint64_t e = 0, slot;
		/* a present slot if one is found quickly */
		slot = below(512);
		for (int t = 0; t < 64; t++) {
			if (!gmem_u64(&v->mem, table + slot * 8, &e) && (e & 1))
				break;
			slot = below(512);
		}
		if (level == stop || !(e & 1) || (e & 0x80)) {
			uint64_t x;
			switch (below(5)) {
			case 0:
				x = (table & ~4095ull) | 0x63;
				break; /* points to itself */
			case 1:
				x = ((ram_len + below(1ull << 36)) & ~4095ull) | 0x63;
				break;
			case 2:
				x = (rnd() & 0x000ffffffffff000ull) | 0xe3;
				break; /* huge, garbage */
			case 3:
				x = (below(ram_len) & ~4095ull) | 0x63;
				break; /* a data page */
			default:
				x = rnd();
				break;
			}
			poke_pa(v, table + slot * 8, &x, 8);
			return;
		}
		table = e & 0x000ffffffffff000ull;
	}
}

static void mut_region(const struct vmi *v, const char *cache)
{
	uint64_t s = vmi_sym(v, S___start_BTF), e = vmi_sym(v, S___stop_BTF), pa;
	unsigned char *p;
	int what = (int)below(5);
	switch (what) {
	case 0: /* BTF zeroed, or garbled in its header and first types */
	case 1:
		if (!s || e <= s || vmi_vtop(v, s, &pa))
			return;
		p = (unsigned char *)gmem_ptr(&v->mem, pa, e - s);
		if (!p || !save(p, e - s))
			return;
		if (what == 0) {
			memset(p, 0, e - s);
		} else {
			uint64_t span = below(2) ? 4096 : e - s;
			for (int i = 0, n = 1 + (int)below(512); i < n; i++)
				p[below(span)] = (unsigned char)rnd();
		}
		break;
	case 2: { /* the token table zeroed or garbled */
		uint64_t tt = v->pa_base + v->p.tt_rel;
		unsigned char b[1024];
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = below(2) ? 0 : (unsigned char)rnd();
		poke_pa(v, tt, b, 512 + below(512));
		break;
	}
	case 3: { /* init_top_pgt zeroed */
		unsigned char z[4096] = {0};
		poke_pa(v, v->top_pgt_pa, z, sizeof(z));
		break;
	}
	default: { /* kallsyms names and offsets garbled (before the token table) */
		uint64_t tt = v->pa_base + v->p.tt_rel;
		for (int i = 0, n = 1 + (int)below(4096); i < n; i++) {
			unsigned char b = (unsigned char)rnd();
			poke_pa(v, tt - 1 - below(4u << 20), &b, 1);
		}
	}
	}
	open_and_run(ram, ram_len, "", NULL);    /* cold */
	open_and_run(ram, ram_len, cache, NULL); /* warm */
}

static void mut_trunc(const struct vmi *v, const char *cache)
{
	size_t len;
	switch (below(4)) {
	case 0:
		len = below(2u << 20);
		break;
	case 1:
		len = v->pa_base + below(image_end(v));
		break;
	default:
		len = below(ram_len);
	}
	if (len > ram_len)
		len = ram_len;
	unsigned char *copy = malloc(len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, ram, len);
	open_and_run(copy, len, below(3) ? cache : "", NULL);
	free(copy);
}

/*
 * A live guest: a thread keeps rewriting words of kernel objects (task list
 * links first) while the ops run, each word flipping between its own value
 * and hostile ones, as a guest's memory changes under a crawl.
 */
#define LIVE_WORDS 16
#define LIVE_VALUES 8

struct live {
	uint64_t *at[LIVE_WORDS];
	uint64_t val[LIVE_WORDS][LIVE_VALUES]; /* [0]: the word's own value */
	int n;
	int stop;
	uint64_t rs;
};

static void *live_thread(void *arg)
{
	struct live *l = arg;
	uint64_t x = l->rs;
	while (!__atomic_load_n(&l->stop, __ATOMIC_RELAXED)) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		int i = (int)(x % (uint64_t)l->n), k = (int)((x >> 20) % LIVE_VALUES);
		__atomic_store_n(l->at[i], l->val[i][k], __ATOMIC_RELAXED);
	}
	return NULL;
}

static void mut_live(struct view *base)
{
	const struct vmi *v = view_vm_vmi(base);
	struct live l = {.rs = rnd() | 1};
	for (int t = 0; t < 64 && l.n < LIVE_WORDS && G.nobj; t++) {
		uint64_t va, pa, cur;
		if (below(2) && G.ntasks) {
			va = G.tasks[below(G.ntasks)] + vmi_off(v, F_task_tasks);
		} else {
			const struct kobj *o = &G.obj[below(G.nobj)];
			va = o->va + (below(o->len) & ~7ull);
		}
		if (vmi_u64(v, va, &cur) || vmi_vtop(v, va, &pa))
			continue;
		unsigned char *p = (unsigned char *)gmem_ptr(&v->mem, pa, 8);
		if (!p || ((uintptr_t)p & 7) || !save(p, 8))
			continue;
		l.at[l.n] = (uint64_t *)(void *)p;
		l.val[l.n][0] = cur;
		for (int k = 1; k < LIVE_VALUES; k++)
			l.val[l.n][k] = k & 1 ? cur : evil(v, va);
		l.n++;
	}
	pthread_t th;
	if (!l.n || pthread_create(&th, NULL, live_thread, &l))
		return;
	for (int i = 0, n = 1 + (int)below(3); i < n; i++)
		run_ops(base, NULL);
	__atomic_store_n(&l.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
}

/* ---- main ------------------------------------------------------------------ */

static void on_alarm(int sig)
{
	char b[128];
	int n = snprintf(b, sizeof(b), "HANG: iteration %ld (%s) still running after %d s\n",
	                 cur_iter, cur_kind, HANG_SECONDS);
	if (write(1, b, n) < 0 || write(2, b, n) < 0)
		_exit(4);
	_exit(4);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) || st.st_size < (1 << 20)) {
		fprintf(stderr, "vmi_fuzz: cannot use %s\n", path);
		return -1;
	}
	ram_len = (size_t)st.st_size;
	ram = malloc(ram_len);
	for (size_t done = 0; ram && done < ram_len;) {
		ssize_t n = read(fd, ram + done, ram_len - done);
		if (n <= 0) {
			fprintf(stderr, "vmi_fuzz: short read of %s\n", path);
			return -1;
		}
		done += (size_t)n;
	}
	close(fd);
	return ram ? 0 : -1;
}

int main(int argc, char **argv)
{
	long iters = 400, only = -1;
	double seconds = 30;
	uint64_t seed = (uint64_t)time(NULL);
	int verbose = 0, opt;

	while ((opt = getopt(argc, argv, "n:s:S:i:v")) != -1) {
		switch (opt) {
		case 'n':
			iters = atol(optarg);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'i':
			only = atol(optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			fprintf(stderr, "usage: vmi_fuzz IMAGE CACHEDIR [-n ITERS] [-s SECONDS] "
			                "[-S SEED] [-i ITER] [-v]\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: vmi_fuzz IMAGE CACHEDIR [options]\n");
		return 2;
	}
	const char *cache = argv[optind + 1];
	if (load(argv[optind]))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);

	/* the pristine image: cold open (fills the cache), then the baseline */
	struct gmem g;
	struct view *base = NULL;
	struct vmi_opts o = {.cache_dir = cache};
	char err[512];
	struct counts b0, b1;
	snprintf(cur_kind, sizeof(cur_kind), "baseline");
	alarm(HANG_SECONDS);
	gmem_open_buf(&g, ram, ram_len);
	if (view_vm_open(&g, &o, &base, err, sizeof(err))) {
		printf("vmi_fuzz: the pristine image does not open: %s\n", err);
		return 1;
	}
	run_ops(base, &b0);
	collect(base);
	alarm(0);
	printf(
	    "vmi_fuzz: baseline %lu processes, %lu sockets, %lu modules, %lu cpus, "
	    "%lu interfaces, hostname '%s'; %d tasks, %d objects, %d page-table roots; seed %llu\n",
	    b0.procs, b0.socks, b0.mods, b0.cpus, b0.ifaces, b0.host, G.ntasks, G.nobj, G.npgd,
	    (unsigned long long)seed);
	if (b0.procs < 5 || b0.kernel || !b0.host[0] || G.ntasks < 5) {
		printf("vmi_fuzz: the pristine image gives too little to fuzz\n");
		return 1;
	}
	const struct vmi *v = view_vm_vmi(base);
	double t0 = now();
	long done = 0;
	for (long i = only >= 0 ? only : 0; only >= 0 ? i == only : i < iters; i++) {
		if (only < 0 && now() - t0 > seconds)
			break;
		seed_iter(seed, (uint64_t)i);
		enum kind k = pick_kind();
		cur_iter = i;
		snprintf(cur_kind, sizeof(cur_kind), "%s", kind_names[k]);
		fprintf(stderr, "iter %ld seed %llu kind %s\n", i, (unsigned long long)seed,
		        kind_names[k]);
		alarm(HANG_SECONDS);
		switch (k) {
		case K_IMAGE:
			mut_image(v);
			break;
		case K_PAGES:
			mut_pages(v);
			break;
		case K_OBJECTS:
			mut_objects(v);
			break;
		case K_FIELDS:
			mut_fields(v);
			break;
		case K_PGTABLE:
			mut_pgtable(v);
			break;
		case K_TRUNC:
			mut_trunc(v, cache);
			break;
		case K_REGION:
			mut_region(v, cache);
			break;
		case K_LIVE:
			mut_live(base);
			break;
		default:
			break;
		}
		if (k != K_TRUNC && k != K_REGION && k != K_LIVE) {
			run_ops(base, NULL); /* changed under a located kernel */
			if (below(8) == 0)   /* and reopened */
				open_and_run(ram, ram_len, below(4) ? cache : "", NULL);
		}
		undo_all();
		alarm(0);
		kind_runs[k]++;
		done++;
		if (verbose)
			printf("iter %ld %s: %lu item errors so far\n", i, kind_names[k], C.errors);
	}
	double el = now() - t0;
	/* undone: the same answers as before */
	snprintf(cur_kind, sizeof(cur_kind), "after");
	alarm(HANG_SECONDS);
	run_ops(base, &b1);
	alarm(0);
	if (b1.procs != b0.procs || b1.socks != b0.socks || b1.mods != b0.mods ||
	    b1.ifaces != b0.ifaces || strcmp(b1.host, b0.host))
		violation("after undo: %lu/%lu/%lu/%lu records, baseline %lu/%lu/%lu/%lu", b1.procs,
		          b1.socks, b1.mods, b1.ifaces, b0.procs, b0.socks, b0.mods, b0.ifaces);
	view_destroy(base);
	free(ram);
	printf("vmi_fuzz: %s %ld iterations in %.1f s (", C.violations ? "FAILED" : "ok", done, el);
	for (int k = 0; k < K_NKINDS; k++)
		printf("%s%s %lu", k ? ", " : "", kind_names[k], kind_runs[k]);
	printf("); reopens %lu opened, %lu refused; records: %lu processes, %lu sockets, "
	       "%lu modules, %lu interfaces; %lu item errors; %lu violations\n",
	       opens_ok, opens_refused, C.procs, C.socks, C.mods, C.ifaces, C.errors, C.violations);
	return C.violations ? 1 : 0;
}
