/*
 * btf.h - fill a kernel profile from the guest's BTF blob (libbpf).
 */
#ifndef VANTAGE_VMI_BTF_H
#define VANTAGE_VMI_BTF_H

#include <stddef.h>

#include "vmi.h"

/* Resolve every field, size and enum of the profile.  Absent ones become
 * VMI_NONE / enum_ok 0.  0, or -EINVAL with a message (bad blob, or a
 * field no walk can do without is missing). */
int vmi_btf_resolve(const void *data, size_t size, struct vmi_prof *p, char *err, size_t errlen);
/* "task_struct", "tasks" for F_task_tasks. */
const char *vmi_field_name(enum vmi_field f, const char **type);

#endif
