/*
 * vm_obj.h - helpers shared by the parts of the VM view that read guest
 * kernel objects field by field (vm_sock.c, vm_iface.c): error reports
 * through the iteration's hook, BTF field checks, one-read copies of the
 * fields wanted from an object (struct obj), and loop detection on guest
 * lists (struct cyc).  Internal to src/views/vm*.c.
 *
 * Every read goes through vmi_read(), which bounds and checks it; an
 * object copy never exceeds OBJ_MAX bytes, a field outside it is read live.
 */
#ifndef VANTAGE_VIEWS_VM_OBJ_H
#define VANTAGE_VIEWS_VM_OBJ_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vm.h"

#define OBJ_MAX 512

/* it->error(it->ctx, formatted message, err), if the hook is set. */
void vm_report(const struct view_iter *it, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Name of a field for messages: "sock_common.skc_num" (in buf). */
const char *vm_fname(enum vmi_field f, char *buf, size_t cap);
/* All of fs present, else report the first missing one (for `what`). */
bool vm_need(const struct vmi *v, const struct view_iter *it, const char *what,
             const enum vmi_field *fs, size_t n);

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

/* The smallest span holding fields fs[0..n) (at most OBJ_MAX bytes). */
struct span vm_span_of(const struct vmi *v, const enum vmi_field *fs, size_t n);
/* Copy span s of the object at base; 0 or negative errno. */
int vm_obj_read(struct obj *o, const struct vmi *v, uint64_t base, struct span s);
/* Copy field f (at most cap bytes, zero-filled) into dst. */
int vm_obj_get(const struct obj *o, enum vmi_field f, void *dst, size_t cap);
/* Field f as an unsigned number (little-endian, up to 8 bytes); 0 if absent. */
uint64_t vm_obj_u(const struct obj *o, enum vmi_field f);

/* 8 bytes at buf + at. */
static inline uint64_t vm_rd_u(const void *buf, size_t at)
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

static inline bool vm_cyc_loops(struct cyc *c, uint64_t node)
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

#endif
