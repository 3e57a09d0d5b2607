/*
 * btf.h - fill a kernel profile from the guest's BTF blob (libbpf).
 *
 * The blob is the guest kernel's own BTF (__start_BTF to __stop_BTF), read
 * from guest RAM by vmi.c: it is hostile.  Its size and magic are checked
 * before libbpf parses it (libbpf validates the rest), and every walk of
 * its types is bounded.  The blob stays the caller's: libbpf works on its
 * own copy, freed before vmi_btf_resolve() returns; nothing is kept
 * between calls.  Errors are -EINVAL with a message in `err` saying what
 * was wrong (a blob of an implausible size, no BTF magic, a blob libbpf
 * refuses, a field the views cannot do without).
 */
#ifndef VANTAGE_VMI_BTF_H
#define VANTAGE_VMI_BTF_H

#include <stddef.h>

#include "vmi.h"

/* Resolve every field, size and enum of the profile.  Absent ones become
 * VMI_NONE / enum_ok 0.  0, or -EINVAL with a message (bad blob, or a
 * field no walk can do without is missing). */
int vmi_btf_resolve(const void *data, size_t size, struct vmi_prof *p, char *err, size_t errlen);
/* "task_struct", "tasks" for F_task_tasks: static strings, for messages. */
const char *vmi_field_name(enum vmi_field f, const char **type);

#endif
