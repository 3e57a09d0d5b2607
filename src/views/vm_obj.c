/*
 * vm_obj.c - reading guest kernel objects field by field for the VM view:
 * error reports, BTF field checks and one-read object copies.  See
 * vm_obj.h.
 */
#include "vm_obj.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "../vmi/btf.h"

void vm_report(const struct view_iter *it, int err, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	if (!it || !it->error)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	it->error(it->ctx, what, err);
}

/* Name of a field for messages: "sock_common.skc_num". */
const char *vm_fname(enum vmi_field f, char *buf, size_t cap)
{
	const char *type, *m = vmi_field_name(f, &type);

	snprintf(buf, cap, "%s.%s", type, m);
	return buf;
}

/* All of fs present, else report the first missing one (for `what`). */
bool vm_need(const struct vmi *v, const struct view_iter *it, const char *what,
             const enum vmi_field *fs, size_t n)
{
	char b[96];

	for (size_t i = 0; i < n; i++)
		if (!vmi_has(v, fs[i])) {
			vm_report(it, ENOTSUP, "%s: the guest's BTF lacks %s", what,
			          vm_fname(fs[i], b, sizeof(b)));
			return false;
		}
	return true;
}

struct span vm_span_of(const struct vmi *v, const enum vmi_field *fs, size_t n)
{
	uint32_t lo = UINT32_MAX, hi = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t off = v->p.off[fs[i]], sz = v->p.fsize[fs[i]];

		if (off == VMI_NONE || sz == 0 || sz > OBJ_MAX)
			continue;
		if (off < lo)
			lo = off;
		if (off + sz > hi)
			hi = off + sz;
	}
	if (hi <= lo)
		return (struct span){0, 0};
	if (hi - lo > OBJ_MAX)
		hi = lo + OBJ_MAX;
	return (struct span){lo, hi - lo};
}

int vm_obj_read(struct obj *o, const struct vmi *v, uint64_t base, struct span s)
{
	o->v = v;
	o->base = base;
	o->s = s;
	if (!s.len)
		return 0;
	return vmi_read(v, base + s.lo, o->b, s.len);
}

/* Copy field f (at most cap bytes, zero-filled) into dst. */
int vm_obj_get(const struct obj *o, enum vmi_field f, void *dst, size_t cap)
{
	uint32_t off = o->v->p.off[f], sz = o->v->p.fsize[f];

	memset(dst, 0, cap);
	if (off == VMI_NONE || sz == 0)
		return -ENOENT;
	if (sz > cap)
		sz = (uint32_t)cap;
	if (off >= o->s.lo && off + sz <= o->s.lo + o->s.len) {
		memcpy(dst, o->b + (off - o->s.lo), sz);
		return 0;
	}
	return vmi_read(o->v, o->base + off, dst, sz);
}

/* Field f as an unsigned number (little-endian, up to 8 bytes); 0 if absent. */
uint64_t vm_obj_u(const struct obj *o, enum vmi_field f)
{
	uint64_t x = 0;

	if (vm_obj_get(o, f, &x, sizeof(x)))
		return 0;
	return x;
}
