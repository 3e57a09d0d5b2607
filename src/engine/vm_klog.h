/*
 * vm_klog.h - the kernel logs of the VMs `vantage serve` watches, read from
 * their RAM (vmi/klog.h) into the store as log lines.
 *
 * After each crawl of the fast lane, every VM crawled (through its kept
 * view) gets vm_klog_poll(): the records its kernel logged since the last
 * poll are stored as lines of source "kmsg" (docs/logs.md), with the
 * record's level and, as time, the guest's boot time plus the record's
 * timestamp (the time of reading when the guest's clock cannot be read),
 * together with the cursor in ONE store_put_logs() transaction: after a
 * restart of Vantage nothing is stored twice or lost (while the guest's
 * ring still holds it).
 *
 * The cursor ("SEQ TS": the next record's sequence number, the timestamp
 * of the last one stored) is loaded from the store the first time a VM is
 * polled.  A guest that rebooted (its log's sequence numbers start over:
 * the record before the cursor is not there, or has another timestamp) is
 * read again from its oldest record.  Lines are escaped as the other
 * collectors do (invalid UTF-8, control bytes but TAB, DEL: "\xNN") and
 * cut at VM_KLOG_MAX_LINE bytes; one poll stores at most VM_KLOG_MAX_RECS
 * records (the rest comes next time): a hostile guest cannot make a poll
 * unbounded.  A store that does not keep logs (-ENOTSUP) is said once and
 * not asked again.
 *
 * Used by the fast lane's thread only.
 */
#ifndef VANTAGE_VM_KLOG_H
#define VANTAGE_VM_KLOG_H

#include <stdint.h>

#include "crawl_run.h"
#include "locked_sink.h"

#define VM_KLOG_MAX_LINE 16384
#define VM_KLOG_MAX_RECS 20000

struct vm_klog;
struct view;

/* The VMs among targets[0..n) (not abandoned, with a view): each polled.
 * *k is created on first use; free it with vm_klog_free(). */
void vm_klog_run(struct vm_klog **k, struct store_share *sh, const struct crawl_target *targets,
                 int n);

/* Poll one VM: system_id, its VM view v.  Returns the number of lines
 * stored, or a negative errno (logged). */
/* pid: the QEMU process (0: unknown); a read failing because it exited
 * meanwhile (a guest that vanished) is not a warning. */
int vm_klog_poll(struct vm_klog *k, struct store_share *sh, const char *system_id, struct view *v,
                 int pid);

struct vm_klog *vm_klog_new(void);
void vm_klog_free(struct vm_klog *k);

#endif
