/*
 * mem.c - guest-physical memory over a RAM file, an ELF core or the QEMU
 * process's memory.  See mem.h.
 *
 * Files are mapped whole, read-only (a 3 GiB guest costs address space,
 * not memory: only the pages read are touched).  /proc/<pid>/mem cannot
 * be mapped, so reads go through pread at the host address of guest RAM.
 * ELF cores carry their own physical layout in PT_LOAD p_paddr.
 */
#include <elf.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"

static void trace_init(struct gmem *g)
{
	const char *t = getenv("VANTAGE_VMI_TRACE");
	if (!t || !*t || !g->size)
		return;
	g->touched = calloc((g->size >> 12) / 8 + 1, 1);
	g->trace_path = strdup(t);
}

void gmem_note(struct gmem *g, uint64_t off, uint64_t len)
{
	if (!g->touched || off >= g->size || !len)
		return;
	uint64_t end = off + len > g->size ? g->size : off + len;
	for (uint64_t p = off >> 12; p <= (end - 1) >> 12; p++)
		g->touched[p / 8] |= (uint8_t)(1u << (p % 8));
}

static void trace_write(struct gmem *g)
{
	if (!g->touched)
		return;
	FILE *f = fopen(g->trace_path, "we");
	for (uint64_t p = 0; f && p < (g->size >> 12); p++)
		if (g->touched[p / 8] >> (p % 8) & 1)
			fprintf(f, "%" PRIx64 "\n", p << 12);
	if (f)
		fclose(f);
	free(g->touched);
	free(g->trace_path);
	g->touched = NULL;
}

static void set_identity(struct gmem *g)
{
	g->nr = 1;
	g->r[0] = (struct gmem_range){.pa = 0, .len = g->size, .off = 0};
}

void gmem_set_split(struct gmem *g, uint64_t below)
{
	if (g->is_elf)
		return;
	g->split = below;
	if (!below || g->size <= below) {
		set_identity(g);
		return;
	}
	g->nr = 2;
	g->r[0] = (struct gmem_range){.pa = 0, .len = below, .off = 0};
	g->r[1] = (struct gmem_range){.pa = 4 * GIB, .len = g->size - below, .off = below};
}

/* PT_LOAD segments of a 64-bit little-endian x86-64 ELF core.  Their
 * headers are hostile like the rest: every offset and size is checked
 * against the file. */
static int parse_elf(struct gmem *g, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	if (g->size < sizeof(eh))
		return -EINVAL;
	memcpy(&eh, g->map, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_type != ET_CORE || eh.e_machine != EM_X86_64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr)) {
		snprintf(err, errlen, "%s: an ELF file but not an x86-64 core dump", g->desc);
		return -EINVAL;
	}
	if (eh.e_phoff > g->size ||
	    (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > g->size - eh.e_phoff) {
		snprintf(err, errlen, "%s: ELF program headers lie outside the file (truncated?)",
		         g->desc);
		return -EINVAL;
	}
	g->nr = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, g->map + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || !ph.p_filesz)
			continue;
		if (ph.p_offset > g->size || ph.p_filesz > g->size - ph.p_offset) {
			snprintf(err, errlen, "%s: segment %u lies outside the file (truncated?)",
			         g->desc, i);
			return -EINVAL;
		}
		if (g->nr == GMEM_MAX_RANGES) {
			snprintf(err, errlen, "%s: more than %d memory segments", g->desc,
			         GMEM_MAX_RANGES);
			return -EINVAL;
		}
		g->r[g->nr++] =
		    (struct gmem_range){.pa = ph.p_paddr, .len = ph.p_filesz, .off = ph.p_offset};
	}
	if (!g->nr) {
		snprintf(err, errlen, "%s: ELF core without memory segments", g->desc);
		return -EINVAL;
	}
	g->is_elf = 1;
	return 0;
}

int gmem_open_file(struct gmem *g, const char *path, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	g->fd = -1;
	snprintf(g->desc, sizeof(g->desc), "RAM file '%s'", path);
	/* O_NONBLOCK: a FIFO with no writer must not hang us (refused below) */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", g->desc, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", g->desc);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size < 1 << 20) {
		snprintf(err, errlen, "%s is %lld bytes: too small to hold a Linux guest", g->desc,
		         (long long)st.st_size);
		close(fd);
		return -EINVAL;
	}
	void *m = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		int e = errno;
		snprintf(err, errlen, "cannot map %s: %s", g->desc, strerror(e));
		return -e;
	}
	g->map = m;
	g->size = st.st_size;
	trace_init(g);
	if (!memcmp(g->map, ELFMAG, SELFMAG)) {
		snprintf(g->desc, sizeof(g->desc), "ELF core '%s'", path);
		int r = parse_elf(g, err, errlen);
		if (r < 0) {
			gmem_close(g);
			return r;
		}
		return 0;
	}
	set_identity(g);
	return 0;
}

int gmem_open_pid(struct gmem *g, int pid, uint64_t addr, uint64_t len, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->desc, sizeof(g->desc), "guest RAM of QEMU process %d", pid);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	g->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (g->fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	g->fd_base = addr;
	g->size = len;
	trace_init(g);
	set_identity(g);
	return 0;
}

void gmem_open_buf(struct gmem *g, const void *buf, size_t len)
{
	memset(g, 0, sizeof(*g));
	g->fd = -1;
	g->map = buf;
	g->size = len;
	snprintf(g->desc, sizeof(g->desc), "memory buffer");
	set_identity(g);
	g->borrowed = true;
}

void gmem_close(struct gmem *g)
{
	trace_write(g);
	if (g->map && !g->borrowed)
		munmap((void *)g->map, g->size);
	if (g->fd >= 0)
		close(g->fd);
	g->map = NULL;
	g->fd = -1;
}

int gmem_read_backing(const struct gmem *g, uint64_t off, void *dst, size_t len)
{
	if (off > g->size || len > g->size - off)
		return -EFAULT;
	if (g->touched)
		gmem_note((struct gmem *)g, off, len);
	if (g->map) {
		memcpy(dst, g->map + off, len);
		return 0;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n =
		    pread(g->fd, (char *)dst + done, len - done, (off_t)(g->fd_base + off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EFAULT;
		done += n;
	}
	return 0;
}

static const struct gmem_range *find(const struct gmem *g, uint64_t pa, size_t len)
{
	for (int i = 0; i < g->nr; i++) {
		const struct gmem_range *r = &g->r[i];
		if (pa >= r->pa && pa - r->pa < r->len && len <= r->len - (pa - r->pa))
			return r;
	}
	return NULL;
}

const unsigned char *gmem_ptr(const struct gmem *g, uint64_t pa, size_t len)
{
	if (!g->map)
		return NULL;
	const struct gmem_range *r = find(g, pa, len);
	if (r && g->touched)
		gmem_note((struct gmem *)g, r->off + (pa - r->pa), len);
	return r ? g->map + r->off + (pa - r->pa) : NULL;
}

int gmem_read(const struct gmem *g, uint64_t pa, void *dst, size_t len)
{
	const struct gmem_range *r = find(g, pa, len);
	if (r)
		return gmem_read_backing(g, r->off + (pa - r->pa), dst, len);
	/* Straddling two ranges (or a page boundary of an ELF core). */
	size_t done = 0;
	while (done < len) {
		uint64_t a = pa + done;
		size_t chunk = 4096 - (a & 4095);
		if (chunk > len - done)
			chunk = len - done;
		r = find(g, a, chunk);
		if (!r || gmem_read_backing(g, r->off + (a - r->pa), (char *)dst + done, chunk))
			return -EFAULT;
		done += chunk;
	}
	return 0;
}

int gmem_u64(const struct gmem *g, uint64_t pa, uint64_t *out)
{
	return gmem_read(g, pa, out, 8);
}

uint64_t gmem_backing_to_pa(const struct gmem *g, uint64_t off)
{
	for (int i = 0; i < g->nr; i++)
		if (off >= g->r[i].off && off - g->r[i].off < g->r[i].len)
			return g->r[i].pa + (off - g->r[i].off);
	return UINT64_MAX;
}
