/*
 * fuzz_image.c - disk images and ELF cores: what `vantage crawl --image`
 * and `--vm ram=CORE` open.  The first byte picks (fuzz_pick):
 *
 *   0  an ELF core of guest RAM (src/vmi/mem.c, QEMU dump-guest-memory):
 *      the input is written to a file, padded to the 1 MiB gmem_open_file()
 *      asks for (sparse), opened, every segment read at its ends through
 *      the physical layout, then the kernel searched for in it as a cold
 *      vmi_open() does (no profile cache)
 *   1  partition tables over the bytes alone (src/views/partition.c):
 *      part_parse() (MBR or GPT), the EBR chain of an extended partition
 *      as image.c follows it (bounded, strictly forward), part_probe() of
 *      each partition inside the input and of the whole, and
 *      image_check_super() of the bytes at 1024
 *   2  a whole disk image (src/views/image*.c over libext2fs): written to a
 *      file and opened with view_image_open() (partition 0: the image
 *      chooses), then walked from "/" with every regular file opened and
 *      read through (view_walk_open), a few paths resolved (stat, a file
 *      through symlinks, view_read_file of os-release) and closed
 *
 * Seeds (fuzz/corpus/image/, see its README): real QEMU ELF cores
 * (dump-guest-memory), the headers of a gcore of a process, partition
 * tables made with sfdisk (MBR with an extended partition, GPT), ext4
 * images made with mkfs.ext4 -d (with inline data; and inside a logical
 * partition).  Inputs above 4 MiB are ignored (the seeds are < 70 KiB).
 */
#include "fuzz.h"

#include "views/image.h"
#include "views/partition.h"
#include "views/view.h"
#include "vmi/mem.h"
#include "vmi/vmi.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_INPUT (4u << 20)
#define MAX_LOGICAL 64 /* as image.c */

/* ---- 0: ELF cores ------------------------------------------------------------ */

static void elf_core(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("core", data, size);
	if (!path || (size < (1u << 20) && truncate(path, 1 << 20)))
		abort();
	struct gmem g;
	char err[256];
	err[0] = 0;
	if (gmem_open_file(&g, path, err, sizeof(err))) {
		if (!err[0])
			__builtin_trap();
		return;
	}
	unsigned char b[64];
	for (int i = 0; i < g.nr; i++) {
		const struct gmem_range *r = &g.r[i];
		if (r->off > g.size || r->len > g.size - r->off)
			__builtin_trap(); /* a range outside the file */
		size_t n = r->len < sizeof(b) ? (size_t)r->len : sizeof(b);
		if (gmem_read(&g, r->pa, b, n) || gmem_read(&g, r->pa + r->len - n, b, n))
			__builtin_trap();
		gmem_read(&g, r->pa + r->len - n / 2, b, n); /* across its end */
		gmem_ptr(&g, r->pa, n);
		if (gmem_backing_to_pa(&g, r->off) == UINT64_MAX)
			__builtin_trap();
	}
	/* the kernel in it, as a cold open finds it */
	struct vmi v;
	struct vmi_opts o = {.cache_dir = ""};
	if (vmi_open(&v, &g, &o, err, sizeof(err)) == 0)
		vmi_close(&v);
}

/* ---- 1: partition tables ------------------------------------------------------ */

static void probe_at(const uint8_t *data, size_t size, uint64_t start, uint64_t len)
{
	if (start >= size)
		return;
	uint64_t n = size - start < len ? size - start : len;
	const char *what = part_probe(data + start, (size_t)n);
	if (what && !memchr(what, 0, 32))
		__builtin_trap();
}

static void check_part(const struct part *p)
{
	if (!p->size || p->start + p->size < p->start || !memchr(p->name, 0, sizeof(p->name)))
		__builtin_trap();
}

static void partitions(const uint8_t *data, size_t size)
{
	struct part_table *t = malloc(sizeof(*t));
	if (!t)
		abort();
	int r = part_parse(data, size, t);
	if (r == 0 && t->scheme != PART_NONE) {
		if (t->n < 0 || t->n > PART_MAX)
			__builtin_trap();
		for (int i = 0; i < t->n; i++) {
			check_part(&t->v[i]);
			probe_at(data, size, t->v[i].start, t->v[i].size);
		}
		if (t->scheme == PART_MBR && t->ext_size) {
			uint64_t ext = t->ext_start / PART_SECTOR, ebr = ext;
			for (int i = 0; i < MAX_LOGICAL && ebr && ebr < size / PART_SECTOR; i++) {
				struct part p;
				uint64_t next = 0;
				int k = part_parse_ebr(data + ebr * PART_SECTOR, PART_SECTOR, ext,
				                       ebr, &p, &next);
				if (k < 0)
					break;
				if (k == 1) {
					check_part(&p);
					probe_at(data, size, p.start, p.size);
				}
				if (next <= ebr)
					break;
				ebr = next;
			}
		}
	}
	probe_at(data, size, 0, size);
	part_is_ext(data, size);
	if (size >= 2048) {
		uint64_t fsb;
		char why[160];
		image_check_super(data + 1024, size - 1024, size, &fsb, why, sizeof(why));
	}
	free(t);
}

/* ---- 2: disk images --------------------------------------------------------- */

struct walk {
	struct view *v;
	char *buf;
	unsigned entries;
};

static int on_entry(void *ctx, const struct vt_walk_entry *e)
{
	struct walk *w = ctx;
	if (!e->path || !e->name || !memchr(e->path, 0, 1 << 16))
		__builtin_trap();
	w->entries++;
	if (e->st.type == VF_REG) {
		struct vfile *f = NULL;
		if (view_walk_open(w->v, e, &f) == 0 && f) {
			ssize_t n;
			uint64_t total = 0;
			while ((n = view_file_read(w->v, f, w->buf, 65536)) > 0)
				if ((total += (uint64_t)n) > MAX_INPUT * 4ull)
					__builtin_trap(); /* more than the image holds */
			struct vt_stat st;
			view_file_stat(w->v, f, &st);
			view_file_close(w->v, f);
		}
	}
	return 0;
}

static void on_error(void *ctx, const char *path, int err)
{
	if (!path || err <= 0)
		__builtin_trap();
}

static void disk_image(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("disk.img", data, size);
	if (!path)
		abort();
	struct view *v = NULL;
	struct image_info info;
	char err[512];
	err[0] = 0;
	if (view_image_open(path, 0, &v, &info, err, sizeof(err))) {
		if (!err[0] || !memchr(err, 0, sizeof(err)))
			__builtin_trap();
		return;
	}
	struct walk w = {.v = v, .buf = malloc(65536)};
	if (!w.buf)
		abort();
	const struct vt_walk_ops ops = {.entry = on_entry, .error = on_error};
	view_walk(v, "/", &ops, &w);
	static const char *const paths[] = {"/etc/os-release", "/etc/hostname", "/a/loop/passwd",
	                                    "/etc/slowlink", "/../../etc/./passwd"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct vt_stat st;
		struct vfile *f = NULL;
		view_stat(v, paths[i], &st);
		if (view_file_open(v, paths[i], &f) == 0 && f) {
			view_file_read(v, f, w.buf, 4096);
			view_file_close(v, f);
		}
	}
	struct buf b = {0};
	bool trunc;
	view_read_file(v, "/etc/os-release", &b, 65536, &trunc);
	buf_free(&b);
	free(w.buf);
	view_destroy(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	switch (fuzz_pick(&data, &size, 3)) {
	case 0:
		elf_core(data, size);
		break;
	case 1:
		partitions(data, size);
		break;
	default:
		disk_image(data, size);
	}
	return 0;
}
