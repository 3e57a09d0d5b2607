/*
 * vmi.c - find a Linux kernel in guest RAM and translate its addresses.
 * See vmi.h for what is learned and how it is cached.
 *
 * Cold open:
 *   1. scan RAM for the kallsyms token table (kallsyms.c), decode the
 *      tables around it and look up the symbols we use; the run-time value
 *      of kallsyms_relative_base (relocated at boot) is the virtual base;
 *   2. the physical base is the 2 MiB-aligned shift at which linux_banner
 *      reads "Linux version " and __start_BTF holds the BTF magic;
 *   3. max_pfn tells whether RAM continues above the PCI hole (then the
 *      backing is split: below-4G part at 0, the rest at 4 GiB);
 *   4. the guest's page tables must translate linux_banner to where we
 *      found it - the check that the layout is right;
 *   5. BTF gives the offsets (btf.c); the profile is saved.
 * Warm open: for each cached profile, probe the banner at every 2 MiB
 * shift; on a match read the relative base and go to step 3.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/sha256.h"
#include "../util/util.h"
#include "btf.h"
#include "kallsyms.h"
#include "vmi.h"

#define MIB2 (2ull << 20)
#define KMAP_START 0xffffffff80000000ull
#define PTE_ADDR 0x000ffffffffff000ull
#define BANNER "Linux version "
#define SCAN_CHUNK (4u << 20)
#define MAX_CACHED 64
#define MAX_CANDIDATES 32 /* full kallsyms decodes tried before giving up */

static const char *const sym_names[VMI_NSYM] = {
#define S(n) #n,
    VMI_SYMS(S)
#undef S
};

static double ms_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1e3 + (b.tv_nsec - a->tv_nsec) / 1e6;
}

/* ---- translation --------------------------------------------------------- */

bool vmi_kptr(const struct vmi *v, uint64_t va)
{
	if (v->levels == 5)
		return va >= 0xff00000000000000ull;
	return va >= 0xffff800000000000ull;
}

int vmi_vtop_pgd(const struct vmi *v, uint64_t pgd_pa, uint64_t va, uint64_t *pa)
{
	int shift = v->levels == 5 ? 48 : 39;
	uint64_t table = pgd_pa & PTE_ADDR;
	for (int level = v->levels; level >= 1; level--, shift -= 9) {
		uint64_t e;
		if (gmem_u64(&v->mem, table + ((va >> shift) & 511) * 8, &e) || !(e & 1))
			return -EFAULT;
		if ((level == 3 || level == 2) && (e & 0x80)) { /* 1 GiB / 2 MiB page */
			uint64_t size = 1ull << shift;
			*pa = (e & PTE_ADDR & ~(size - 1)) | (va & (size - 1));
			return 0;
		}
		table = e & PTE_ADDR;
	}
	*pa = table | (va & 4095);
	return 0;
}

static bool in_image(const struct vmi *v, uint64_t va)
{
	uint64_t end = v->p.sym_ok[S__end] ? v->p.sym[S__end] : 64ull << 20;
	return va >= v->base && va - v->base < end;
}

int vmi_vtop(const struct vmi *v, uint64_t va, uint64_t *pa)
{
	if (in_image(v, va)) {
		*pa = va - v->base + v->pa_base;
		return 0;
	}
	if (v->page_offset && va >= v->page_offset && va - v->page_offset < v->max_pa) {
		*pa = va - v->page_offset;
		return 0;
	}
	if (!vmi_kptr(v, va))
		return -EFAULT;
	return vmi_vtop_pgd(v, v->top_pgt_pa, va, pa);
}

static int read_with(const struct vmi *v, uint64_t pgd, uint64_t va, void *dst, size_t len)
{
	size_t done = 0;
	while (done < len) {
		uint64_t a = va + done, pa;
		size_t chunk = 4096 - (a & 4095);
		if (chunk > len - done)
			chunk = len - done;
		int r = pgd ? vmi_vtop_pgd(v, pgd, a, &pa) : vmi_vtop(v, a, &pa);
		if (r || gmem_read(&v->mem, pa, (char *)dst + done, chunk))
			return -EFAULT;
		done += chunk;
	}
	return 0;
}

int vmi_read(const struct vmi *v, uint64_t va, void *dst, size_t len)
{
	uint64_t pa;
	/* linear regions in one read */
	if ((in_image(v, va) && in_image(v, va + len - 1)) ||
	    (v->page_offset && va >= v->page_offset && va - v->page_offset < v->max_pa &&
	     len <= v->max_pa - (va - v->page_offset))) {
		if (vmi_vtop(v, va, &pa))
			return -EFAULT;
		return gmem_read(&v->mem, pa, dst, len);
	}
	return read_with(v, 0, va, dst, len);
}

int vmi_read_pgd(const struct vmi *v, uint64_t pgd_pa, uint64_t va, void *dst, size_t len)
{
	return read_with(v, pgd_pa ? pgd_pa : v->top_pgt_pa, va, dst, len);
}

int vmi_u64(const struct vmi *v, uint64_t va, uint64_t *out)
{
	return vmi_read(v, va, out, 8);
}

int vmi_u32(const struct vmi *v, uint64_t va, uint32_t *out)
{
	return vmi_read(v, va, out, 4);
}

int vmi_field(const struct vmi *v, uint64_t base, enum vmi_field f, uint64_t *out)
{
	uint32_t off = v->p.off[f], sz = v->p.fsize[f];
	if (off == VMI_NONE || sz == 0)
		return -ENOENT;
	if (sz > 8)
		sz = 8;
	*out = 0;
	return vmi_read(v, base + off, out, sz);
}

uint64_t vmi_sym(const struct vmi *v, enum vmi_sym s)
{
	if (!v->p.sym_ok[s])
		return 0;
	return v->p.sym_percpu[s] ? v->p.sym[s] : v->base + v->p.sym[s];
}

int vmi_percpu(const struct vmi *v, enum vmi_sym s, int cpu, uint64_t *va)
{
	uint64_t off;
	if (!v->p.sym_ok[s] || !v->p.sym_ok[S___per_cpu_offset] || cpu < 0 || cpu >= 8192)
		return -ENOENT;
	if (vmi_u64(v, vmi_sym(v, S___per_cpu_offset) + 8 * (uint64_t)cpu, &off))
		return -EFAULT;
	*va = v->p.sym[s] + off;
	if (!v->p.sym_percpu[s])
		*va = vmi_sym(v, s) + off;
	return 0;
}

/* ---- the profile cache --------------------------------------------------- */

void vmi_default_cache_dir(char *dst, size_t cap)
{
	const char *e = getenv("VANTAGE_CACHE_DIR");
	if (e && *e) {
		snprintf(dst, cap, "%s/vmi", e);
		return;
	}
	if (geteuid() == 0) {
		snprintf(dst, cap, "/var/cache/vantage/vmi");
		return;
	}
	const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
	if (x && *x)
		snprintf(dst, cap, "%s/vantage/vmi", x);
	else if (h && *h)
		snprintf(dst, cap, "%s/.cache/vantage/vmi", h);
	else
		dst[0] = 0;
}

static uint32_t prof_sum(const struct vmi_prof *p)
{
	const unsigned char *b = (const unsigned char *)p;
	uint32_t h = 2166136261u;
	for (size_t i = offsetof(struct vmi_prof, banner); i < sizeof(*p); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static void mkdirs(const char *dir)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *s = tmp + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(tmp, 0700);
			*s = '/';
		}
	mkdir(tmp, 0700);
}

static void prof_save(const struct vmi *v)
{
	if (!v->cache_dir[0])
		return;
	char hex[SHA256_HEX_LEN + 1], path[400], tmp[420];
	if (sha256_hex(v->p.banner, strlen(v->p.banner), hex))
		return;
	hex[24] = 0;
	mkdirs(v->cache_dir);
	snprintf(path, sizeof(path), "%s/%s.prof", v->cache_dir, hex);
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	struct vmi_prof p = v->p;
	p.magic = VMI_PROF_MAGIC;
	p.version = VMI_PROF_VERSION;
	p.size = sizeof(p);
	p.sum = prof_sum(&p);
	bool ok = write(fd, &p, sizeof(p)) == (ssize_t)sizeof(p);
	close(fd);
	if (!ok || rename(tmp, path))
		unlink(tmp);
}

/* Load every valid profile of the cache directory (at most MAX_CACHED). */
static int prof_load_all(const char *dir, struct vmi_prof *out, int max)
{
	DIR *d = dir[0] ? opendir(dir) : NULL;
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while (n < max && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".prof") != 0)
			continue;
		int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		struct vmi_prof *p = &out[n];
		ssize_t r = read(fd, p, sizeof(*p));
		close(fd);
		if (r == (ssize_t)sizeof(*p) && p->magic == VMI_PROF_MAGIC &&
		    p->version == VMI_PROF_VERSION && p->size == sizeof(*p) &&
		    p->sum == prof_sum(p) && memchr(p->banner, 0, sizeof(p->banner)))
			n++;
	}
	closedir(d);
	return n;
}

/* ---- locating the kernel ------------------------------------------------- */

/* The window of RAM around a digit run at backing offset `at`: `back`
 * bytes before, `fwd` after.  Points into the mapping when there is one
 * (*copy NULL), else a copy to free. */
static const unsigned char *read_window(const struct gmem *g, uint64_t at, uint64_t back,
                                        uint64_t fwd, uint64_t *wstart, size_t *wlen,
                                        unsigned char **copy)
{
	uint64_t s = at > back ? (at - back) & ~4095ull : 0;
	uint64_t e = at + fwd < g->size ? at + fwd : g->size;
	*wstart = s;
	*wlen = e - s;
	*copy = NULL;
	if (g->map)
		return g->map + s;
	unsigned char *w = malloc(e - s);
	if (!w || gmem_read_backing(g, s, w, e - s)) {
		free(w);
		return NULL;
	}
	*copy = w;
	return w;
}

/* Physical base: the 2 MiB shift where the banner and the BTF magic are. */
static int find_pa_base(struct vmi *v, uint64_t pa_hint)
{
	uint64_t banner = v->p.sym[S_linux_banner], btf = v->p.sym[S___start_BTF];
	uint64_t phase = v->base & (MIB2 - 1);
	uint64_t start = (pa_hint & ~(MIB2 - 1)) + phase;
	if (start > pa_hint)
		start -= MIB2;
	bool banner_only = false;
	for (uint64_t k = 0; k < 512 && start >= k * MIB2; k++) {
		uint64_t c = start - k * MIB2;
		char b[sizeof(BANNER) - 1];
		unsigned char m[4];
		if (gmem_read(&v->mem, c + banner, b, sizeof(b)) ||
		    memcmp(b, BANNER, sizeof(b)) != 0)
			continue;
		if (v->p.sym_ok[S___start_BTF] &&
		    (gmem_read(&v->mem, c + btf, m, 4) || m[0] != 0x9f || m[1] != 0xeb)) {
			banner_only = true;
			continue;
		}
		v->pa_base = c;
		return 0;
	}
	return banner_only ? -ENODATA : -ENOENT;
}

/* Cold: decode kallsyms found at backing offset `at`. */
static int try_kallsyms(struct vmi *v, uint64_t at, char *err, size_t errlen)
{
	uint64_t ws;
	size_t wl;
	unsigned char *copy;
	/* a small look first: most digit runs are not a token table */
	const unsigned char *w = read_window(&v->mem, at, 4096, 64u << 10, &ws, &wl, &copy);
	bool tok = w && kallsyms_tokens_ok(w, wl, at - ws);
	free(copy);
	gmem_note(&v->mem, at, 4096);
	if (!tok) {
		snprintf(err, errlen, "no kallsyms token table at the digit run");
		return -ENOTBLK; /* not a candidate at all */
	}
	w = read_window(&v->mem, at, 12u << 20, 4u << 20, &ws, &wl, &copy);
	if (!w) {
		snprintf(err, errlen, "cannot read guest RAM around offset %#llx",
		         (unsigned long long)at);
		return -EFAULT;
	}
	struct kallsyms_layout lay;
	int r = kallsyms_parse(w, wl, at - ws, &lay, err, errlen);
	if (r) {
		free(copy);
		return r;
	}
	uint64_t relbase;
	memcpy(&relbase, w + lay.relbase, 8);
	{ /* the tables the decoder read, for the page trace */
		size_t lo = lay.offsets < lay.names ? lay.offsets : lay.names;
		size_t hi = lay.relbase + 8 > lay.ti + 512 ? lay.relbase + 8 : lay.ti + 512;
		gmem_note(&v->mem, ws + lo, hi - lo);
	}
	if (relbase < KMAP_START || relbase >= 0xffffffffc0000000ull || (relbase & 4095)) {
		snprintf(err, errlen, "kallsyms_relative_base %#llx is not a kernel-image address",
		         (unsigned long long)relbase);
		free(copy);
		return -EINVAL;
	}
	struct ksym want[VMI_NSYM];
	for (int i = 0; i < VMI_NSYM; i++)
		want[i] = (struct ksym){.name = sym_names[i]};
	kallsyms_lookup(w, wl, &lay, relbase, want, VMI_NSYM);
	v->base = relbase;
	for (int i = 0; i < VMI_NSYM; i++) {
		v->p.sym_ok[i] = (uint8_t)want[i].found;
		v->p.sym_percpu[i] = (uint8_t)want[i].percpu;
		v->p.sym[i] =
		    want[i].found && !want[i].percpu ? want[i].addr - relbase : want[i].addr;
	}
	v->p.nr_syms = lay.num_syms;
	static const enum vmi_sym need[] = {S_init_task, S_init_top_pgt, S_linux_banner,
	                                    S___start_BTF, S___stop_BTF};
	for (size_t i = 0; i < ARRAY_SIZE(need); i++)
		if (!v->p.sym_ok[need[i]] || v->p.sym_percpu[need[i]]) {
			snprintf(err, errlen, "the guest's kallsyms has no '%s'",
			         sym_names[need[i]]);
			free(copy);
			return -EINVAL;
		}
	/* physical base from where the token table sits */
	uint64_t pa_tt = gmem_backing_to_pa(&v->mem, ws + lay.tt);
	r = find_pa_base(v, pa_tt);
	if (r) {
		if (r == -ENODATA)
			snprintf(err, errlen,
			         "the kernel's BTF type information is missing or damaged "
			         "(no BTF magic at __start_BTF; the kernel needs "
			         "CONFIG_DEBUG_INFO_BTF)");
		else
			snprintf(err, errlen,
			         "kallsyms decoded, but no 2 MiB shift puts linux_banner "
			         "on 'Linux version ' (damaged kernel image)");
		free(copy);
		return -EINVAL;
	}
	v->p.tt_rel = pa_tt - v->pa_base;
	v->p.relbase_rel = gmem_backing_to_pa(&v->mem, ws + lay.relbase) - v->pa_base;
	free(copy);
	return 0;
}

/* Scan the backing for the token table; stop at the first that decodes. */
static int locate_cold(struct vmi *v, char *err, size_t errlen)
{
	static const char digits[] = "0\0"
	                             "1\0"
	                             "2\0"
	                             "3\0"
	                             "4\0"
	                             "5\0"
	                             "6\0"
	                             "7\0"
	                             "8\0"
	                             "9";
	const size_t dl = sizeof(digits);
	unsigned char *buf = v->mem.map ? NULL : malloc(SCAN_CHUNK + dl);
	char first[256] = "";
	int tried = 0;
	for (uint64_t off = 0; off < v->mem.size; off += SCAN_CHUNK) {
		size_t n =
		    v->mem.size - off < SCAN_CHUNK + dl ? v->mem.size - off : SCAN_CHUNK + dl;
		const unsigned char *p;
		if (v->mem.map) {
			p = v->mem.map + off;
			gmem_note(&v->mem, off, n);
		} else {
			if (!buf || gmem_read_backing(&v->mem, off, buf, n))
				break;
			p = buf;
		}
		size_t at = 0;
		while ((at = kallsyms_scan(p, n, at)) != (size_t)-1) {
			char e[256];
			int r = try_kallsyms(v, off + at, e, sizeof(e));
			if (!r) {
				free(buf);
				return 0;
			}
			if (r != -ENOTBLK) { /* a real token table that did not work out */
				tried++;
				if (!first[0] || strstr(e, "unknown layout") || strstr(e, "BTF"))
					snprintf(first, sizeof(first), "%s", e);
				if (tried >= MAX_CANDIDATES) {
					free(buf);
					snprintf(err, errlen,
					         "%s: %d symbol tables found and none is the "
					         "kernel's (copies planted in guest memory?); "
					         "first: %s",
					         v->mem.desc, tried, first);
					return -ENOENT;
				}
			}
			at++;
		}
	}
	free(buf);
	if (!tried)
		snprintf(err, errlen,
		         "%s: no Linux kernel found (no kallsyms symbol table in %llu MiB: "
		         "not a Linux guest, still in firmware, truncated, or not RAM)",
		         v->mem.desc, (unsigned long long)(v->mem.size >> 20));
	else
		snprintf(err, errlen, "%s: %s", v->mem.desc, first);
	return -ENOENT;
}

/* Warm: a cached profile whose banner is found at a 2 MiB shift. */
static int locate_warm(struct vmi *v, const struct vmi_prof *cache, int ncache)
{
	char b[256];
	/* every 2 MiB-aligned guest-physical address of every RAM range (an ELF
	 * core's ranges start anywhere in the file) */
	for (int ri = 0; ri < v->mem.nr; ri++) {
		const struct gmem_range *r = &v->mem.r[ri];
		for (uint64_t c = (r->pa + MIB2 - 1) & ~(MIB2 - 1); c - r->pa < r->len; c += MIB2) {
			for (int i = 0; i < ncache; i++) {
				const struct vmi_prof *p = &cache[i];
				size_t bl = strlen(p->banner);
				if (gmem_read(&v->mem, c + p->banner_rel, b, bl) ||
				    memcmp(b, p->banner, bl) != 0)
					continue;
				uint64_t rb;
				if (gmem_u64(&v->mem, c + p->relbase_rel, &rb) || rb < KMAP_START ||
				    (rb & 4095))
					continue;
				v->p = *p;
				v->base = rb;
				v->pa_base = c;
				return 0;
			}
		}
	}
	return -ENOENT;
}

/* RAM above the PCI hole: max_pfn beyond the backing means a split. */
static void detect_split(struct vmi *v)
{
	uint64_t max_pfn = 0;
	if (v->mem.is_elf || !v->p.sym_ok[S_max_pfn])
		return;
	uint64_t backing_base = v->pa_base; /* identity so far: pa == backing offset */
	if (gmem_u64(&v->mem, v->pa_base + v->p.sym[S_max_pfn], &max_pfn))
		return;
	uint64_t top = max_pfn << 12;
	if (top > v->mem.size && top > 4 * GIB && top - 4 * GIB < v->mem.size) {
		gmem_set_split(&v->mem, v->mem.size - (top - 4 * GIB));
		v->pa_base = gmem_backing_to_pa(&v->mem, backing_base);
	}
	v->max_pa = top > 4 * GIB || top > v->mem.size ? top : v->mem.size;
}

static int finish(struct vmi *v, char *err, size_t errlen)
{
	v->max_pa = v->mem.size;
	for (int i = 0; v->mem.is_elf && i < v->mem.nr; i++)
		if (v->mem.r[i].pa + v->mem.r[i].len > v->max_pa)
			v->max_pa = v->mem.r[i].pa + v->mem.r[i].len;
	detect_split(v);
	uint64_t l5 = 0;
	v->levels = 4;
	if (v->p.sym_ok[S___pgtable_l5_enabled]) {
		uint32_t x = 0;
		if (!gmem_read(&v->mem, v->pa_base + v->p.sym[S___pgtable_l5_enabled], &x, 4))
			l5 = x;
		if (l5)
			v->levels = 5;
	}
	v->top_pgt_pa = v->pa_base + v->p.sym[S_init_top_pgt];
	v->page_offset = 0; /* resolved below, after the page-table check */
	uint64_t pa;
	uint64_t banner_va = v->base + v->p.sym[S_linux_banner];
	bool mapped = !vmi_vtop_pgd(v, v->top_pgt_pa, banner_va, &pa) &&
	              pa == v->pa_base + v->p.sym[S_linux_banner];
	if (!mapped && !v->p.sym_ok[S___pgtable_l5_enabled]) {
		v->levels = 9 - v->levels; /* no symbol to say: the other mode */
		mapped = !vmi_vtop_pgd(v, v->top_pgt_pa, banner_va, &pa) &&
		         pa == v->pa_base + v->p.sym[S_linux_banner];
	}
	if (!mapped) {
		snprintf(err, errlen,
		         "%s: the guest's page tables do not map linux_banner where it "
		         "was found (inconsistent memory, or an unknown RAM layout)",
		         v->mem.desc);
		return -EINVAL;
	}
	uint64_t po = 0, vb = 0, vmb = 0;
	if (v->p.sym_ok[S_page_offset_base])
		vmi_u64(v, vmi_sym(v, S_page_offset_base), &po);
	if (v->p.sym_ok[S_vmalloc_base])
		vmi_u64(v, vmi_sym(v, S_vmalloc_base), &vb);
	if (v->p.sym_ok[S_vmemmap_base])
		vmi_u64(v, vmi_sym(v, S_vmemmap_base), &vmb);
	if (!vmi_kptr(v, po) || (po & ((1ull << 30) - 1))) {
		snprintf(err, errlen, "%s: page_offset_base %#llx is not a direct-map base",
		         v->mem.desc, (unsigned long long)po);
		return -EINVAL;
	}
	v->page_offset = po;
	v->vmalloc_base = vb;
	v->vmemmap_base = vmb;
	/* the direct map must agree with the page tables too */
	uint64_t check;
	if (vmi_vtop_pgd(v, v->top_pgt_pa, po + v->pa_base, &check) || check != v->pa_base) {
		snprintf(err, errlen, "%s: the direct map at %#llx does not reach the kernel image",
		         v->mem.desc, (unsigned long long)po);
		return -EINVAL;
	}
	return 0;
}

static int learn_types(struct vmi *v, char *err, size_t errlen)
{
	uint64_t s = v->p.sym[S___start_BTF], e = v->p.sym[S___stop_BTF];
	if (!v->p.sym_ok[S___stop_BTF] || e <= s || e - s > (64u << 20)) {
		snprintf(err, errlen,
		         "%s: no BTF in the guest kernel (needs CONFIG_DEBUG_INFO_BTF)",
		         v->mem.desc);
		return -EINVAL;
	}
	size_t n = e - s;
	uint64_t pa = v->pa_base + s;
	const unsigned char *ptr = gmem_ptr(&v->mem, pa, n);
	unsigned char *copy = NULL;
	if (!ptr) {
		copy = malloc(n);
		if (!copy || gmem_read(&v->mem, pa, copy, n)) {
			free(copy);
			snprintf(err, errlen, "%s: cannot read the guest's BTF", v->mem.desc);
			return -EFAULT;
		}
		ptr = copy;
	}
	char e2[200];
	int r = vmi_btf_resolve(ptr, n, &v->p, e2, sizeof(e2));
	free(copy);
	if (r) {
		snprintf(err, errlen, "%s: %s", v->mem.desc, e2);
		return r;
	}
	v->p.btf_size = n;
	return 0;
}

static int read_banner(struct vmi *v)
{
	char b[sizeof(v->p.banner)];
	if (gmem_read(&v->mem, v->pa_base + v->p.sym[S_linux_banner], b, sizeof(b)))
		return -EFAULT;
	b[sizeof(b) - 1] = 0;
	size_t l = strcspn(b, "\n");
	b[l] = 0;
	memcpy(v->p.banner, b, l + 1);
	v->p.banner_rel = v->p.sym[S_linux_banner];
	return 0;
}

/* ---- a System.map given by the user -------------------------------------- */

/* Link-time addresses of the wanted symbols and _text.  A Debian stub
 * (one "The real System.map is in ..." line) has none: -ENOENT. */
static int read_system_map(const char *path, uint64_t *link, uint8_t *ok, uint64_t *text, char *err,
                           size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "cannot read System.map '%s': %s", path, strerror(e));
		return -e;
	}
	char line[512];
	int n = 0;
	bool have_text = false;
	memset(ok, 0, VMI_NSYM);
	while (fgets(line, sizeof(line), f)) {
		char *end, name[256], type;
		unsigned long long a = strtoull(line, &end, 16);
		if (end == line || sscanf(end, " %c %255s", &type, name) != 2)
			continue;
		if (!strcmp(name, "_text")) {
			*text = a;
			have_text = true;
		}
		for (int i = 0; i < VMI_NSYM; i++)
			if (!ok[i] && !strcmp(name, sym_names[i])) {
				link[i] = a;
				ok[i] = 1;
				n++;
			}
	}
	fclose(f);
	if (!have_text || !n) {
		snprintf(err, errlen,
		         "System.map '%s' has no kernel symbols (Debian's /boot one is "
		         "a stub; the real one is in the -dbg package)",
		         path);
		return -ENOENT;
	}
	return 0;
}

/* With a System.map: the physical base is the 2 MiB shift where the banner
 * and the BTF magic are; the virtual one comes from init_task.group_leader
 * (which points at init_task itself) once BTF gave its offset. */
static int locate_with_map(struct vmi *v, const char *map, char *err, size_t errlen)
{
	uint64_t link[VMI_NSYM] = {0}, text = 0;
	int r = read_system_map(map, link, v->p.sym_ok, &text, err, errlen);
	if (r)
		return r;
	for (int i = 0; i < VMI_NSYM; i++) {
		v->p.sym_percpu[i] = v->p.sym_ok[i] && link[i] < 0x100000000ull;
		v->p.sym[i] = !v->p.sym_ok[i] ? 0 : v->p.sym_percpu[i] ? link[i] : link[i] - text;
	}
	if (!v->p.sym_ok[S_linux_banner] || !v->p.sym_ok[S_init_task] ||
	    !v->p.sym_ok[S___start_BTF]) {
		snprintf(err, errlen,
		         "System.map '%s' lacks linux_banner, init_task or __start_BTF", map);
		return -EINVAL;
	}
	v->base = text;
	r = find_pa_base(v, v->mem.size > 1 ? v->mem.size - 1 : 0);
	if (r == -ENODATA) {
		snprintf(err, errlen,
		         "%s: the kernel's BTF type information is missing or damaged "
		         "(no BTF magic at __start_BTF)",
		         v->mem.desc);
		return r;
	}
	if (r) {
		snprintf(err, errlen,
		         "%s: the kernel of System.map '%s' is not in this RAM (no 2 MiB "
		         "shift puts its linux_banner on 'Linux version ')",
		         v->mem.desc, map);
		return -ENOENT;
	}
	if ((r = read_banner(v)) || (r = learn_types(v, err, errlen)))
		return r;
	uint64_t leader;
	if (!vmi_has(v, F_task_group_leader) ||
	    gmem_u64(&v->mem, v->pa_base + v->p.sym[S_init_task] + vmi_off(v, F_task_group_leader),
	             &leader) ||
	    leader < KMAP_START) {
		snprintf(err, errlen, "%s: cannot read init_task.group_leader for the KASLR shift",
		         v->mem.desc);
		return -EINVAL;
	}
	v->base = leader - v->p.sym[S_init_task];
	return 0;
}

int vmi_open(struct vmi *v, struct gmem *mem, const struct vmi_opts *o, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	v->mem = *mem;
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	if (o && o->cache_dir)
		snprintf(v->cache_dir, sizeof(v->cache_dir), "%s", o->cache_dir);
	else
		vmi_default_cache_dir(v->cache_dir, sizeof(v->cache_dir));
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	int r = -ENOENT;
	if (o && o->system_map) {
		if ((r = locate_with_map(v, o->system_map, err, errlen)) ||
		    (r = finish(v, err, errlen)))
			goto fail;
		v->st.locate_ms = ms_since(&t0);
		return 0; /* not cached: the cache is learned from kallsyms */
	}
	struct vmi_prof *cache = malloc(MAX_CACHED * sizeof(*cache));
	int nc = cache ? prof_load_all(v->cache_dir, cache, MAX_CACHED) : 0;
	if (nc && !locate_warm(v, cache, nc)) {
		v->st.cached = 1;
		r = finish(v, err, errlen);
		if (r)
			v->st.cached = 0; /* a stale match: learn afresh */
	}
	free(cache);
	if (!v->st.cached) {
		gmem_set_split(&v->mem, 0);
		memset(&v->p, 0, sizeof(v->p));
		r = locate_cold(v, err, errlen);
		v->st.kallsyms_ms = ms_since(&t0);
		if (r)
			goto fail;
		if ((r = read_banner(v)) || (r = finish(v, err, errlen)))
			goto fail;
		struct timespec t1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((r = learn_types(v, err, errlen)))
			goto fail;
		v->st.btf_ms = ms_since(&t1);
		prof_save(v);
	}
	v->st.locate_ms = ms_since(&t0);
	return 0;
fail:
	if (r == -EFAULT && !err[0])
		snprintf(err, errlen, "%s: read outside guest RAM", v->mem.desc);
	gmem_close(&v->mem);
	return r < 0 ? r : -EINVAL;
}

void vmi_close(struct vmi *v)
{
	gmem_close(&v->mem);
}
