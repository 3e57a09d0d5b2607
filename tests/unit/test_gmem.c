/*
 * test_gmem.c - guest-physical memory over RAM files and ELF cores: the
 * layouts (identity, RAM above the PCI hole), reads across ranges, and
 * refusal of truncated or lying ELF headers.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmi/mem.h"

static char path[64];

static void write_file(const void *p, size_t n)
{
	strcpy(path, "/tmp/test_gmem.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

/* An ELF core: two PT_LOAD segments of 1 MiB at pa 0 and pa 4 GiB. */
static unsigned char *make_core(size_t *len)
{
	size_t hdr = 4096, seg = 1 << 20;
	*len = hdr + 2 * seg;
	unsigned char *b = calloc(1, *len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_CORE;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 3;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(*eh));
	ph[0] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = 0, .p_filesz = 16};
	ph[1] = (Elf64_Phdr){.p_type = PT_LOAD, .p_offset = hdr, .p_paddr = 0, .p_filesz = seg};
	ph[2] = (Elf64_Phdr){
	    .p_type = PT_LOAD, .p_offset = hdr + seg, .p_paddr = 4ull << 30, .p_filesz = seg};
	memcpy(b + hdr + seg - 4, "ABCD", 4); /* end of the low segment */
	memcpy(b + hdr + seg, "EFGH", 4);     /* start of the high one */
	return b;
}

static void elf_core(void **s)
{
	size_t n;
	unsigned char *b = make_core(&n);
	write_file(b, n);
	struct gmem g;
	char err[256];
	assert_int_equal(gmem_open_file(&g, path, err, sizeof(err)), 0);
	assert_int_equal(g.is_elf, 1);
	assert_int_equal(g.nr, 2);
	char x[4];
	assert_int_equal(gmem_read(&g, (1 << 20) - 4, x, 4), 0);
	assert_memory_equal(x, "ABCD", 4);
	assert_int_equal(gmem_read(&g, 4ull << 30, x, 4), 0);
	assert_memory_equal(x, "EFGH", 4);
	/* the hole between the segments is not RAM */
	assert_int_equal(gmem_read(&g, 2ull << 30, x, 4), -EFAULT);
	/* a read past the end of a segment fails, not wraps */
	assert_int_equal(gmem_read(&g, (1 << 20) - 2, x, 4), -EFAULT);
	assert_int_equal(gmem_read(&g, UINT64_MAX - 1, x, 4), -EFAULT);
	/* splits do not apply to a core */
	gmem_set_split(&g, 1 << 19);
	assert_int_equal(g.nr, 2);
	gmem_close(&g);
	unlink(path);
	free(b);
}

/* Truncations and lies in the program headers: refused with a message. */
static void elf_bad(void **s)
{
	size_t n;
	unsigned char *b = make_core(&n);
	struct gmem g;
	char err[256];
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(Elf64_Ehdr));
	ph[2].p_filesz = 1ull << 40; /* beyond the file */
	write_file(b, n);
	assert_int_not_equal(gmem_open_file(&g, path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "outside the file"));
	unlink(path);
	free(b);

	b = make_core(&n);
	((Elf64_Ehdr *)b)->e_phnum = 60000; /* headers beyond the file */
	write_file(b, n);
	assert_int_not_equal(gmem_open_file(&g, path, err, sizeof(err)), 0);
	unlink(path);
	free(b);

	b = make_core(&n);
	((Elf64_Ehdr *)b)->e_machine = EM_AARCH64;
	write_file(b, n);
	assert_int_not_equal(gmem_open_file(&g, path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "x86-64"));
	unlink(path);
	free(b);

	/* too small to be a guest */
	write_file("tiny", 4);
	assert_int_not_equal(gmem_open_file(&g, path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "too small"));
	unlink(path);

	assert_int_equal(gmem_open_file(&g, "/nonexistent/ram", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/ram"));
}

/* A raw backing split at the PCI hole: the tail is guest-physical 4 GiB+. */
static void split(void **s)
{
	size_t n = 3 << 20;
	unsigned char *b = calloc(1, n);
	memcpy(b + (2 << 20), "HIGH", 4);
	struct gmem g;
	gmem_open_buf(&g, b, n);
	char x[4];
	assert_int_equal(gmem_read(&g, 2 << 20, x, 4), 0); /* identity */
	gmem_set_split(&g, 2 << 20);
	assert_int_equal(g.nr, 2);
	assert_int_equal(gmem_read(&g, 2 << 20, x, 4), -EFAULT); /* now the hole */
	assert_int_equal(gmem_read(&g, 4ull << 30, x, 4), 0);
	assert_memory_equal(x, "HIGH", 4);
	assert_true(gmem_backing_to_pa(&g, 2 << 20) == 4ull << 30);
	assert_true(gmem_backing_to_pa(&g, n) == UINT64_MAX);
	assert_null(gmem_ptr(&g, (2 << 20) - 2, 4)); /* straddles the hole */
	gmem_set_split(&g, 0);
	assert_int_equal(g.nr, 1);
	gmem_close(&g);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(elf_core),
	    cmocka_unit_test(elf_bad),
	    cmocka_unit_test(split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
