/*
 * btf.c - structure offsets, sizes and enum values from the guest
 * kernel's own BTF, through libbpf.  Fills the profile (vmi.h).
 *
 * A member path "a.b" names member a of the struct, then member b of a's
 * type; members inside anonymous structs and unions are found wherever
 * they nest, offsets adding up.  The blob comes from guest memory and is
 * hostile: libbpf validates it (btf__new fails on a bad one), but not
 * that types do not contain themselves: an anonymous member whose type
 * holds anonymous members of that same type nests without end, and a few
 * of them at each level grow the search exponentially.  So the search is
 * bounded in depth and in members looked at (MEMBER_BUDGET per path step,
 * far above any real kernel's: task_struct has a few hundred).
 */
#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "btf.h"

#define MEMBER_BUDGET 16384 /* members looked at to find one member */

static const struct {
	const char *type, *path;
} field_def[VMI_NFIELD] = {
#define F(n, s, m) {s, m},
    VMI_FIELDS(F)
#undef F
};

static const char *const size_def[VMI_NSIZE] = {
#define Z(n) #n,
    VMI_SIZES(Z)
#undef Z
};

static const char *const enum_def[VMI_NENUM] = {
#define E(n) #n,
    VMI_ENUMS(E)
#undef E
};

/* Skip typedefs and qualifiers. */
static const struct btf_type *strip(const struct btf *b, __u32 *id)
{
	for (int i = 0; i < 32; i++) {
		const struct btf_type *t = btf__type_by_id(b, *id);
		if (!t)
			return NULL;
		if (!btf_is_typedef(t) && !btf_is_const(t) && !btf_is_volatile(t) &&
		    !btf_is_restrict(t) && !btf_is_type_tag(t))
			return t;
		*id = t->type;
	}
	return NULL;
}

/* Member `name` of composite type id: bit offset and member type id.
 * *budget: members that may still be looked at (-E2BIG when spent). */
static int find_member(const struct btf *b, __u32 id, const char *name, size_t nlen, __u32 *bits,
                       __u32 *mtype, int depth, unsigned *budget)
{
	if (depth > 8)
		return -ELOOP;
	const struct btf_type *t = strip(b, &id);
	if (!t || !btf_is_composite(t))
		return -ENOENT;
	const struct btf_member *m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		if (*budget == 0)
			return -E2BIG;
		(*budget)--;
		const char *mn = btf__name_by_offset(b, m->name_off);
		__u32 off = btf_member_bit_offset(t, i);
		if (mn && *mn) {
			if (strlen(mn) == nlen && !memcmp(mn, name, nlen)) {
				*bits = off;
				*mtype = m->type;
				return 0;
			}
			continue;
		}
		__u32 sub_bits, sub_type; /* anonymous struct/union */
		int r =
		    find_member(b, m->type, name, nlen, &sub_bits, &sub_type, depth + 1, budget);
		if (!r) {
			*bits = off + sub_bits;
			*mtype = sub_type;
			return 0;
		}
		if (r == -E2BIG)
			return r;
	}
	return -ENOENT;
}

static int resolve_field(const struct btf *b, const char *type, const char *path, uint32_t *off,
                         uint32_t *size)
{
	__s32 id = btf__find_by_name_kind(b, type, BTF_KIND_STRUCT);
	if (id < 0)
		id = btf__find_by_name_kind(b, type, BTF_KIND_UNION);
	if (id < 0)
		return -ENOENT;
	__u32 cur = id, total = 0;
	const char *p = path;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		__u32 bits, mt;
		unsigned budget = MEMBER_BUDGET;
		if (find_member(b, cur, p, n, &bits, &mt, 0, &budget))
			return -ENOENT;
		total += bits;
		cur = mt;
		p += n + (dot ? 1 : 0);
	}
	if (total % 8)
		return -EINVAL; /* bit fields are not read */
	__s64 sz = btf__resolve_size(b, cur);
	*off = total / 8;
	*size = sz > 0 ? (uint32_t)sz : 0;
	return 0;
}

/* tk_core is an anonymous struct { seq; timekeeper; }: find it by shape. */
static uint32_t find_tk_core(const struct btf *b)
{
	__u32 n = btf__type_cnt(b);
	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(b, id);
		if (!btf_is_struct(t) || t->name_off || btf_vlen(t) != 2)
			continue;
		const struct btf_member *m = btf_members(t);
		const char *a = btf__name_by_offset(b, m[0].name_off);
		const char *c = btf__name_by_offset(b, m[1].name_off);
		if (a && c && !strcmp(a, "seq") && !strcmp(c, "timekeeper"))
			return btf_member_bit_offset(t, 1) / 8;
	}
	return VMI_NONE;
}

static void resolve_enums(const struct btf *b, struct vmi_prof *p)
{
	__u32 n = btf__type_cnt(b);
	int left = VMI_NENUM;
	for (__u32 id = 1; id < n && left; id++) {
		const struct btf_type *t = btf__type_by_id(b, id);
		if (!btf_is_enum(t) && !btf_is_enum64(t))
			continue;
		for (int i = 0; i < btf_vlen(t); i++) {
			__u32 name_off;
			int64_t val;
			if (btf_is_enum(t)) {
				name_off = btf_enum(t)[i].name_off;
				val = btf_enum(t)[i].val;
			} else {
				name_off = btf_enum64(t)[i].name_off;
				val = (int64_t)btf_enum64_value(&btf_enum64(t)[i]);
			}
			const char *nm = btf__name_by_offset(b, name_off);
			if (!nm)
				continue;
			for (int e = 0; e < VMI_NENUM; e++) {
				if (p->enum_ok[e] || nm[0] != enum_def[e][0] ||
				    strcmp(nm, enum_def[e]) != 0)
					continue;
				p->enumv[e] = val;
				p->enum_ok[e] = 1;
				left--;
			}
		}
	}
}

int vmi_btf_resolve(const void *data, size_t size, struct vmi_prof *p, char *err, size_t errlen)
{
	if (size < 24 || size > (256u << 20)) {
		snprintf(err, errlen, "BTF blob of %zu bytes is implausible", size);
		return -EINVAL;
	}
	const unsigned char *d = data;
	if (d[0] != 0x9f || d[1] != 0xeb) {
		snprintf(err, errlen,
		         "no BTF magic at __start_BTF (kernel without "
		         "CONFIG_DEBUG_INFO_BTF, or memory not readable)");
		return -EINVAL;
	}
	struct btf *b = btf__new(data, (__u32)size);
	if (!b) {
		snprintf(err, errlen, "the guest's BTF does not parse (%s)", strerror(errno));
		return -EINVAL;
	}
	for (int f = 0; f < VMI_NFIELD; f++)
		if (resolve_field(b, field_def[f].type, field_def[f].path, &p->off[f],
		                  &p->fsize[f])) {
			p->off[f] = VMI_NONE;
			p->fsize[f] = 0;
		}
	for (int z = 0; z < VMI_NSIZE; z++) {
		__s32 id = btf__find_by_name_kind(b, size_def[z], BTF_KIND_STRUCT);
		__s64 sz = id > 0 ? btf__resolve_size(b, id) : -1;
		p->tsize[z] = sz > 0 ? (uint32_t)sz : VMI_NONE;
	}
	resolve_enums(b, p);
	p->tk_timekeeper = find_tk_core(b);
	/* mm_struct.rss_stat: struct mm_rss_stat (to 6.1) or percpu_counter[] */
	p->rss_percpu = 0;
	if (p->off[F_mm_rss_stat] != VMI_NONE && p->tsize[Z_percpu_counter] != VMI_NONE &&
	    p->enum_ok[E_NR_MM_COUNTERS] &&
	    p->fsize[F_mm_rss_stat] == p->tsize[Z_percpu_counter] * p->enumv[E_NR_MM_COUNTERS])
		p->rss_percpu = 1;
	btf__free(b);
	static const enum vmi_field need[] = {F_task_tasks, F_task_pid, F_task_tgid, F_task_comm,
	                                      F_task_mm,    F_mm_pgd,   F_uts_name};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (p->off[need[i]] == VMI_NONE) {
			snprintf(err, errlen, "the guest's BTF lacks %s.%s",
			         field_def[need[i]].type, field_def[need[i]].path);
			return -EINVAL;
		}
	return 0;
}

const char *vmi_field_name(enum vmi_field f, const char **type)
{
	*type = field_def[f].type;
	return field_def[f].path;
}
