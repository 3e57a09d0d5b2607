/*
 * mem.h - read-only access to a guest's physical memory.
 *
 * A guest's RAM reaches us as one linear run of bytes (the "backing"):
 * a RAM file (QEMU memory-backend-file, /dev/shm/...), the QEMU process's
 * mapping of guest RAM read through /proc/<pid>/mem, or the PT_LOAD
 * segments of an ELF core from `dump-guest-memory`.  A layout maps
 * guest-physical addresses onto the backing: RAM below the PCI hole sits
 * at physical 0, the rest (if any) at physical 4 GiB.  Which split a raw
 * file uses (q35: 2 GiB, pc: 3 GiB) is not in the file; the caller tries
 * each (gmem_set_split) and keeps the one under which the guest's own page
 * tables make sense (see vmi.c).
 *
 * Nothing here writes: files are opened O_RDONLY and mapped PROT_READ.
 * Every read is bounds-checked; a read outside RAM fails with -EFAULT.
 */
#ifndef VANTAGE_VMI_MEM_H
#define VANTAGE_VMI_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GMEM_MAX_RANGES 32
#define GIB (1ull << 30)

struct gmem_range {
	uint64_t pa; /* first guest-physical address */
	uint64_t len;
	uint64_t off; /* offset in the backing */
};

struct gmem {
	const unsigned char *map; /* whole backing mapped, or NULL */
	uint64_t size;            /* backing size in bytes */
	int fd;                   /* for pread when map == NULL */
	uint64_t fd_base;         /* backing offset 0 in fd (/proc/pid/mem: host VA) */
	int nr;
	struct gmem_range r[GMEM_MAX_RANGES];
	int is_elf;       /* ranges come from an ELF core: fixed */
	bool borrowed;    /* map is the caller's (gmem_open_buf) */
	uint64_t split;   /* RAM below 4 GiB for a raw backing, 0 = none */
	char desc[160];   /* "RAM file /dev/shm/x.mem", for messages */
	uint8_t *touched; /* VANTAGE_VMI_TRACE: bitmap of pages read */
	char *trace_path;
};

/* Open a RAM file or an ELF core (detected by its header). */
int gmem_open_file(struct gmem *g, const char *path, char *err, size_t errlen);
/* Guest RAM of a running QEMU: `len` bytes at host address `addr` in
 * process `pid`, read through /proc/<pid>/mem. */
int gmem_open_pid(struct gmem *g, int pid, uint64_t addr, uint64_t len, char *err, size_t errlen);
/* A backing already in memory (tests, fuzzing): not copied, not freed. */
void gmem_open_buf(struct gmem *g, const void *buf, size_t len);
void gmem_close(struct gmem *g);

/* Raw backing: RAM below 4 GiB is `below` bytes (0: all of it, no hole). */
void gmem_set_split(struct gmem *g, uint64_t below);

/* Read len bytes at guest-physical pa. 0 or -EFAULT. */
int gmem_read(const struct gmem *g, uint64_t pa, void *dst, size_t len);
/* Read a little-endian u64 / u32 at pa. */
int gmem_u64(const struct gmem *g, uint64_t pa, uint64_t *out);
/* Pointer to len bytes at pa when the backing is mapped and the bytes lie
 * in one range, else NULL. */
const unsigned char *gmem_ptr(const struct gmem *g, uint64_t pa, size_t len);
/* Read len bytes at backing offset off (for scans). */
int gmem_read_backing(const struct gmem *g, uint64_t off, void *dst, size_t len);
/* Note that [off, off + len) of the backing was read (for the page trace
 * benchmarks use: VANTAGE_VMI_TRACE=FILE lists the pages at close). */
void gmem_note(struct gmem *g, uint64_t off, uint64_t len);
/* Guest-physical address of backing offset off, or UINT64_MAX. */
uint64_t gmem_backing_to_pa(const struct gmem *g, uint64_t off);

#endif
