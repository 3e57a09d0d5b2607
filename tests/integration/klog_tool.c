/*
 * klog_tool - read a guest's kernel log from a RAM file through
 * src/vmi/klog.c, for tests/integration/logs_vm.sh.
 *
 *   klog_tool [--known-layout] RAMFILE [FROM_SEQ]
 *
 * --known-layout: the printk types' offsets from BTF are forgotten, so the
 * reader falls back on the layout it knows (what a kernel whose BTF lacks
 * them gets).
 * Prints one line per record, "rec SEQ LEVEL TS_NSEC TEXT" (TEXT with
 * bytes outside printable ASCII as \xNN), then "next SEQ" (where the next
 * read starts).  Exit status 0; 1 with the error on stderr.  Built by
 * `make unit` as build/tests/klog_tool (Makefile: TOOLS).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmi/klog.h"
#include "vmi/vmi.h"

static int print_rec(void *ctx, const struct klog_rec *r)
{
	(void)ctx;
	printf("rec %" PRIu64 " %d %" PRIu64 " ", r->seq, r->level, r->ts_nsec);
	for (size_t i = 0; i < r->len; i++) {
		unsigned char c = (unsigned char)r->text[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	bool known = argc > 1 && !strcmp(argv[1], "--known-layout");
	if (known) {
		argv++;
		argc--;
	}
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: klog_tool [--known-layout] RAMFILE [FROM_SEQ]\n");
		return 2;
	}
	uint64_t from = argc > 2 ? strtoull(argv[2], NULL, 10) : 0, next = 0;
	char err[512] = "";
	struct gmem g;
	struct vmi v;
	int r = gmem_open_file(&g, argv[1], err, sizeof(err));
	if (r || (r = vmi_open(&v, &g, NULL, err, sizeof(err)))) {
		fprintf(stderr, "klog_tool: %s\n", err);
		return 1;
	}
	if (known)
		for (int f = F_prb_desc_ring; f <= F_pinfo_flags; f++)
			v.p.off[f] = VMI_NONE;
	r = klog_read(&v, from, print_rec, NULL, &next, err, sizeof(err));
	vmi_close(&v);
	if (r < 0) {
		fprintf(stderr, "klog_tool: %s (%s)\n", err, strerror(-r));
		return 1;
	}
	printf("next %" PRIu64 "\n", next);
	return 0;
}
