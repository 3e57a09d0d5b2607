/*
 * kind_vm.c - QEMU guests as a kind of system: found from the QEMU
 * processes and libvirt's status files (targets/vms.c), viewed from their
 * RAM by introspection (views/vm.c), with nothing in the guest.  Opening a
 * view locates the guest kernel (costly), so the daemon keeps the views
 * (keep_view).  A VM has no files to read: it takes the features that do
 * not need them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../targets/vms.h"
#include "../util/util.h"
#include "../views/vm.h"
#include "target.h"
#include "vm_crawl.h"

struct vm_list {
	struct vm_target *v;
	size_t n;
};

static int vm_discover(struct target_set *set)
{
	struct vm_list *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	int r = vms_discover(set->proc_fd, &l->v, &l->n);
	if (r < 0) {
		free(l);
		return r;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct target *t = target_add(set, &kind_vm, &l->v[i]);
		if (!t)
			break;
		t->gen = l->v[i].pid;
		t->state = l->v[i].state;
	}
	set->data[kind_vm.index] = l;
	return 0;
}

static void vm_release(void *data)
{
	struct vm_list *l = data;
	free(l->v);
	free(l);
}

static void vm_ident(void *obj, struct system_id *out)
{
	vm_identity(obj, out);
}

static struct target *vm_by_name(struct target_set *set, const char *name)
{
	const struct vm_list *l = set->data[kind_vm.index];
	const struct vm_target *vt = l ? vm_target_find(l->v, l->n, name) : NULL;
	for (int i = 0; vt && i < set->n; i++)
		if (set->v[i].obj == vt)
			return &set->v[i];
	return NULL;
}

static int vm_open(void *obj, int proc_fd, struct view **out, char *err, size_t errlen)
{
	return vm_target_open(obj, NULL, out, err, errlen);
}

static bool vm_takes(const struct feature *f)
{
	return !f->needs_files;
}

static void vm_describe(const struct target *t, struct target_info *out)
{
	const char *full = t->sys.id + 3; /* after "vm:" */
	copy_str(out->short_id, sizeof(out->short_id), full, strnlen(full, 12));
	copy_str(out->long_id, sizeof(out->long_id), full, strlen(full));
}

static void vm_json(const struct target *t, struct json *j)
{
	const struct vm_target *v = t->obj;
	jw_str(j, "uuid", v->uuid);
	jw_int(j, "pid", v->pid);
	jw_str(j, "machine", v->machine);
	jw_uint(j, "mem_bytes", v->mem_bytes);
	jw_str(j, "backend", v->backend);
	jw_str(j, "ram_path", v->ram_path);
	jw_uint(j, "ram_addr", v->ram_addr);
	jw_uint(j, "ram_len", v->ram_len);
	jw_str(j, "ram_how", v->ram_how);
	jw_str(j, "qmp", v->qmp_path);
	jw_str(j, "kernel", v->kernel);
}

const struct target_kind kind_vm = {
    .name = "vm",
    .noun = "VM",
    .index = 2,
    .discover = vm_discover,
    .release = vm_release,
    .identity = vm_ident,
    .find = vm_by_name,
    .open = vm_open,
    .takes = vm_takes,
    .keep_view = true,
    .describe = vm_describe,
    .json = vm_json,
};
