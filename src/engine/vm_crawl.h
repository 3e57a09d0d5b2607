/*
 * vm_crawl.h - the QEMU guests of one `vantage crawl --vm SPEC / --vms`,
 * made ready for the crawl pool.
 *
 * SPEC is one of
 *   ram=PATH[,system-map=PATH]   a raw RAM file (QEMU memory-backend-file,
 *                                /dev/shm/...) or an ELF core written by
 *                                QMP dump-guest-memory
 *   NAME | UUID | PID | vm:ID    a running QEMU guest (see `vantage ls`);
 *                                its RAM is read from its shared RAM file,
 *                                else through /proc/PID/mem at QEMU's
 *                                mapping of guest RAM
 * `all` adds every running guest.  Every guest's kernel is located (its
 * view opened) here, before the caller creates any output: a bad RAM file
 * is an error naming it.  With `pause` each running guest is stopped
 * through QMP for the time of its crawl (the targets' enter/leave hooks;
 * features only, the kernel was located before) and always resumed, even
 * on error; the pause time goes into the frame's labels ("paused_ms").
 * Nothing is ever written to a guest.
 *
 * Ownership: a struct vm_crawl owns its targets, the guests' views and
 * what discovery found; the crawl pool borrows the targets and views.
 * vm_crawl_close() frees it all, except the view and job of a guest whose
 * crawl was abandoned (its worker may still be using them: they are left,
 * never freed); such a guest, if it was paused, is resumed there on a QMP
 * connection of its own.  Errors: problems are reported as they are found through the
 * caller's report() callback, with the guest or the SPEC named; the
 * return values are below.
 */
#ifndef VANTAGE_VM_CRAWL_H
#define VANTAGE_VM_CRAWL_H

#include <stdbool.h>
#include <stddef.h>

#include "../targets/vms.h"
#include "../vmi/vmi.h"
#include "crawl_run.h"
#include "target.h"

struct view;
struct vm_job;

struct vm_crawl_args {
	const char *const *specs; /* --vm SPEC, each */
	int nspecs;
	bool all;   /* --vms */
	bool pause; /* --pause */
};

/* The guests ready to crawl: targets[0..n) with their views open. */
struct vm_crawl {
	struct crawl_target *targets;
	int n;
	bool partial; /* with `all`: some guest could not be opened (reported) */
	/* private */
	struct vm_job *jobs;
	struct view **views;
	struct target_set found;
};

/* Each problem is passed to report(arg, message) as it is found (messages
 * name the guest or the SPEC).  Returns 0 (c->n may be 0: no guest),
 * -EINVAL when a SPEC is wrong (nothing to crawl), or another negative
 * errno (the guests cannot be listed).  Call vm_crawl_close() in every case. */
int vm_crawl_open(struct vm_crawl *c, const struct vm_crawl_args *a,
                  void (*report)(void *arg, const char *msg), void *arg);
/* Close the views (but those of guests whose crawl was abandoned). */
void vm_crawl_close(struct vm_crawl *c);

/* Open the VM view of a discovered guest (its RAM file, else
 * /proc/PID/mem).  0, or a negative errno with err saying why, naming the
 * guest ("guest 'NAME': ..."). */
int vm_target_open(const struct vm_target *t, const struct vmi_opts *o, struct view **out,
                   char *err, size_t errlen);

#endif
