/*
 * crawl_vm.h - crawling QEMU guests from their RAM (crawl --vm / --vms).
 */
#ifndef VANTAGE_CRAWL_VM_H
#define VANTAGE_CRAWL_VM_H

#include <stdbool.h>

#include "../features/feature.h"
#include "../frame/frame.h"
#include "../targets/vms.h"
#include "../vmi/vmi.h"

struct view;

struct vm_crawl_args {
	const char *const *specs; /* --vm SPEC, each */
	int nspecs;
	bool all;   /* --vms */
	bool pause; /* --pause */
	int workers;
	double timeout;
	const char *output; /* NULL: the caller's */
};

/* Crawl the guests; returns the exit status (EXIT_OK, EXIT_FAIL, EXIT_USAGE). */
int crawl_vms(const struct vm_crawl_args *a, const struct feature **feats, int nfeats,
              const struct crawl_opts *opts, enum frame_format fmt, const char *output);

/* Open the VM view of a discovered guest (its RAM file, else /proc/PID/mem). */
int vm_target_open(const struct vm_target *t, const struct vmi_opts *o, struct view **out,
                   char *err, size_t errlen);

#endif
