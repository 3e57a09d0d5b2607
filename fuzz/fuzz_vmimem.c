/*
 * fuzz_vmimem.c - guest RAM under a located kernel: the page-table walks
 * and reads of src/vmi/vmi.c and mem.c, every op of the VM view
 * (src/views/vm*.c: processes, sockets, kernel facts, modules, CPU times,
 * memory, load, interfaces) and the kernel log reader (src/vmi/klog.c)
 * over a guest memory built from the input.
 *
 * The input is a header and records of guest-physical memory:
 *
 *   struct hdr (little-endian, packed, below)  where the kernel is: RAM
 *       size, paging levels, init_top_pgt, the virtual and physical bases,
 *       the direct-map, vmalloc and vmemmap bases, where RAM ends, the
 *       sequence the kernel log is read from, and every symbol of vmi.h
 *       (relative to the base, or a per-CPU offset)
 *   then records: u32 pa, u16 len, len bytes   placed in guest RAM
 *
 * RAM is one flat zeroed mapping (at most 256 MiB, only the pages written
 * are touched) followed by an inaccessible page, so a read past its end
 * faults; it is given to the view as a RAM file would be (gmem_open_buf).
 * The structure offsets are those of a real kernel: the profile
 * vmi_btf_resolve() gives from the BTF of the Debian 6.1 guest
 * (fuzz/vmi_prof_debian61.h).  Records handed to callbacks are checked as
 * tests/integration/vmi_fuzz.c checks them (strings terminated within
 * their buffers, lengths that agree, bounded counts).
 *
 * Seeds (fuzz/corpus/vmimem/, see its README): slices of the RAM of a real
 * Debian 6.1 guest (vm_lib.sh's snapshot): exactly the bytes the view read
 * for one op (kernel facts, processes, network, modules, the last kernel
 * log records), with the header of the real open.
 */
#include "fuzz.h"

#include "views/view.h"
#include "views/vm.h"
#include "vmi/klog.h"
#include "vmi/mem.h"
#include "vmi/vmi.h"

#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "vmi_prof_debian61.h"

#define MAX_RAM (256u << 20)

struct hdr {
	uint32_t ram_pages; /* RAM size in 4 KiB pages (at most 65536) */
	uint8_t levels;     /* 5: 5-level paging, else 4 */
	uint8_t pad[3];
	uint64_t top_pgt_pa, base, pa_base, page_offset, vmalloc_base, vmemmap_base, max_pa;
	uint64_t klog_from;
	uint64_t percpu;        /* bit i: symbol i is a per-CPU offset */
	uint64_t sym[VMI_NSYM]; /* UINT64_MAX: absent */
} __attribute__((packed));
_Static_assert(VMI_NSYM <= 64, "the per-CPU mask holds every symbol");

static unsigned char *ram_area; /* MAX_RAM, then a PROT_NONE page */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ram_area = mmap(NULL, MAX_RAM + 4096, PROT_READ | PROT_WRITE,
	                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram_area == MAP_FAILED || mprotect(ram_area + MAX_RAM, 4096, PROT_NONE))
		abort();
	return 0;
}

static bool terminated(const char *s, size_t cap)
{
	return s && memchr(s, 0, cap) != NULL;
}

static void on_error(void *ctx, const char *what, int err)
{
	if (!what || !memchr(what, 0, 4096) || err <= 0)
		__builtin_trap();
}

static int on_proc(void *ctx, const struct vt_proc *p)
{
	unsigned long *n = ctx;
	if (++*n > VMI_MAX_LIST + 1 || !terminated(p->comm, sizeof(p->comm)))
		__builtin_trap();
	if ((p->have & VP_CMDLINE) &&
	    (!p->cmdline || strlen(p->cmdline) != p->cmdline_len || p->cmdline_len > 1 << 20))
		__builtin_trap();
	if ((p->have & VP_USER) && !terminated(p->user, 4096))
		__builtin_trap();
	return 0;
}

static int on_sock(void *ctx, const struct vt_sock *s)
{
	unsigned long *n = ctx;
	if (++*n > (unsigned long)VMI_MAX_LIST * 64 ||
	    !terminated(s->local_addr, sizeof(s->local_addr)) ||
	    !terminated(s->remote_addr, sizeof(s->remote_addr)) ||
	    !terminated(s->comm, sizeof(s->comm)))
		__builtin_trap();
	return 0;
}

static int on_mod(void *ctx, const struct vt_module *m)
{
	unsigned long *n = ctx;
	if (++*n > 65536 || !terminated(m->name, 4096) || (m->state && !terminated(m->state, 64)) ||
	    (m->deps && !terminated(m->deps, 1 << 16)))
		__builtin_trap();
	return 0;
}

static int on_cpu(void *ctx, const struct vt_cpu *c)
{
	unsigned long *n = ctx;
	if (++*n > 8193)
		__builtin_trap();
	return 0;
}

static int on_iface(void *ctx, const struct vt_iface *i)
{
	unsigned long *n = ctx;
	if (++*n > VMI_MAX_LIST + 1 || !terminated(i->name, 4096) ||
	    !terminated(i->mac, sizeof(i->mac)))
		__builtin_trap();
	for (int k = 0; i->addrs && i->addrs[k]; k++)
		if (k > 4096 || !terminated(i->addrs[k], 256))
			__builtin_trap();
	return 0;
}

static int on_klog(void *ctx, const struct klog_rec *r)
{
	uint64_t *last = ctx;
	if (r->len > 65536 || (r->len && !r->text) || r->level < 0 || r->level > 7)
		__builtin_trap();
	if (r->len)
		(void)*(volatile const char *)(r->text + r->len - 1);
	*last = r->seq;
	return 0;
}

static void run_ops(struct view *v, uint64_t klog_from)
{
	unsigned long n = 0;
	struct view_iter it = {.ctx = &n, .error = on_error};
	struct vt_kernel k;
	struct vt_mem m;
	struct vt_load l;

	view_processes(v, &it, on_proc);
	n = 0;
	view_sockets(v, &it, on_sock);
	if (view_kernel(v, &k) == 0 && (!terminated(k.release, sizeof(k.release)) ||
	                                !terminated(k.version, sizeof(k.version)) ||
	                                !terminated(k.hostname, sizeof(k.hostname)) ||
	                                !terminated(k.domainname, sizeof(k.domainname)) ||
	                                !terminated(k.machine, sizeof(k.machine))))
		__builtin_trap();
	n = 0;
	view_modules(v, &it, on_mod);
	n = 0;
	view_cpu_times(v, &it, on_cpu);
	view_memory(v, &m);
	view_load(v, &l);
	n = 0;
	view_interfaces(v, &it, on_iface);

	const struct vmi *vmi = view_vm_vmi(v);
	uint64_t next = 0, last = 0;
	char err[256];
	int r = klog_read(vmi, klog_from, on_klog, &last, &next, err, sizeof(err));
	if (r < 0 && (!err[0] || !memchr(err, 0, sizeof(err))))
		__builtin_trap();
}

/* Translations and reads the views build on, at every symbol. */
static void walks(const struct vmi *v)
{
	unsigned char b[256];
	for (int s = 0; s < VMI_NSYM; s++) {
		uint64_t va = vmi_sym(v, (enum vmi_sym)s), pa, x;
		if (!va)
			continue;
		vmi_vtop(v, va, &pa);
		vmi_read(v, va, b, sizeof(b));
		vmi_read_pgd(v, v->top_pgt_pa, va, b, 16);
		if (vmi_u64(v, va, &x) == 0 && vmi_kptr(v, x))
			vmi_read(v, x, b, 64); /* what it points at */
	}
}

/* Walk the records (u32 physical address, u16 length, bytes) of [p, end):
 * copy each into RAM, or zero where each went (clear). */
static void records(unsigned char *ram, uint64_t ram_len, const uint8_t *p, const uint8_t *end,
                    bool clear)
{
	while (end - p >= 6) {
		uint32_t pa;
		uint16_t len;
		memcpy(&pa, p, 4);
		memcpy(&len, p + 4, 2);
		p += 6;
		if (len > end - p)
			len = (uint16_t)(end - p);
		if (pa < ram_len && len <= ram_len - pa) {
			if (clear)
				memset(ram + pa, 0, len);
			else
				memcpy(ram + pa, p, len);
		}
		p += len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hdr h;
	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	uint64_t ram_len = (uint64_t)h.ram_pages << 12;
	if (!ram_len || ram_len > MAX_RAM)
		return 0;
	unsigned char *ram = ram_area + MAX_RAM - ram_len;

	const uint8_t *recs = data + sizeof(h), *end = data + size;
	records(ram, ram_len, recs, end, false); /* place the records */

	struct vmi v;
	memset(&v, 0, sizeof(v));
	gmem_open_buf(&v.mem, ram, ram_len);
	v.p = vmi_prof_debian61;
	for (int s = 0; s < VMI_NSYM; s++) {
		v.p.sym_ok[s] = h.sym[s] != UINT64_MAX;
		v.p.sym_percpu[s] = (h.percpu >> s) & 1;
		v.p.sym[s] = v.p.sym_ok[s] ? h.sym[s] : 0;
	}
	v.base = h.base;
	v.pa_base = h.pa_base;
	v.page_offset = h.page_offset;
	v.vmalloc_base = h.vmalloc_base;
	v.vmemmap_base = h.vmemmap_base;
	v.top_pgt_pa = h.top_pgt_pa;
	v.levels = h.levels == 5 ? 5 : 4;
	v.max_pa = h.max_pa;

	walks(&v);
	struct view *view = NULL;
	if (view_vm_located(&v, &view) == 0) {
		run_ops(view, h.klog_from);
		view_destroy(view);
	}

	records(ram, ram_len, recs, end, true); /* back to zeros for the next input */
	return 0;
}
