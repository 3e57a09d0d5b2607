/*
 * vm.h - the VM view: a Linux guest seen through its RAM (src/vmi/).
 *
 * vm.c holds the view (processes, kernel facts, modules, memory, load,
 * CPU times); the network part is vm_sock.c (sockets from the kernel's
 * TCP and UDP hash tables, with their owners) and vm_iface.c (net
 * devices), over the object-reading helpers of vm_obj.c.  Both read only through vmi_*(),
 * which bounds and checks every read.
 *
 * Walks of guest lists are bounded (VMI_MAX_LIST) and end at the first
 * pointer that does not read; that ends the walk with an error reported
 * through the iteration's error hook ("task list: bad pointer ..."), the
 * records already produced stand.
 */
#ifndef VANTAGE_VIEWS_VM_H
#define VANTAGE_VIEWS_VM_H

#include <stdint.h>

#include "../vmi/vmi.h"
#include "view.h"

struct vm_view {
	struct view base;
	struct vmi vmi;
	int64_t boot_time_ns; /* guest's boot time, epoch ns, 0 if unknown */
};

/* Open a view on guest memory (taken over).  0 or negative errno + err. */
int view_vm_open(struct gmem *mem, const struct vmi_opts *o, struct view **out, char *err,
                 size_t errlen);
/* A view on a kernel already located: `located` filled by the caller (its
 * memory, profile, bases and page-table root), as the fuzz harness of guest
 * RAM builds one over synthetic memory; taken over (closed by
 * view_destroy()).  0 or -ENOMEM. */
int view_vm_located(const struct vmi *located, struct view **out);
/* The vmi underneath (for stats and tests). */
struct vmi *view_vm_vmi(struct view *v);

/* Walk the task list (thread-group leaders, from init_task.tasks).  cb gets
 * each task_struct address; non-zero stops.  A bad pointer or the bound
 * ends the walk: reported through it->error, returns the cb's value or 0. */
int vm_each_task(struct vm_view *vv, const struct view_iter *it,
                 int (*cb)(void *ctx, uint64_t task), void *ctx);

/* Each thread of a thread group (task->signal->thread_head or
 * task->thread_group); used for per-thread fd tables. */

/* vm_sock.c, vm_iface.c */
int vm_sockets(struct view *v, const struct view_iter *it,
               int (*cb)(void *ctx, const struct vt_sock *s));
int vm_interfaces(struct view *v, const struct view_iter *it,
                  int (*cb)(void *ctx, const struct vt_iface *i));

#endif
