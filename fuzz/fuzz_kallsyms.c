/*
 * fuzz_kallsyms.c - the guest kernel's compressed symbol table
 * (src/vmi/kallsyms.c) in a window of guest RAM, as a cold vmi_open()
 * decodes it: every digit run of the window (kallsyms_scan) is a
 * candidate, checked cheaply (kallsyms_tokens_ok), then parsed
 * (kallsyms_parse); a parsed layout must lie inside the window, and its
 * names are decoded (kallsyms_lookup with the symbols vmi.c wants, then
 * kallsyms_each), each name bounded and terminated.  At most 32 candidates
 * are parsed, as vmi.c does (MAX_CANDIDATES).
 *
 * Seeds (fuzz/corpus/kallsyms/, see its README): reduced tables cut from
 * the RAM of a real Debian 6.1 guest (the snapshot of
 * tests/integration/vm_lib.sh): the real token table and index, the real
 * compressed names, offsets and relative base of its first symbols (and of
 * those vmi.c looks up), with num_syms, markers and seqs_of_names
 * recomputed for the subset, in the kernel's layout.
 */
#include "fuzz.h"

#include "vmi/kallsyms.h"
#include "vmi/vmi.h"

#include <string.h>

#define MAX_CANDIDATES 32

static const char *const names[] = {
#define S(n) #n,
    VMI_SYMS(S)
#undef S
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static int each_cb(void *ctx, char type, const char *name, uint64_t addr)
{
	size_t *n = ctx;
	/* a name is at most MAX_NAME (512) bytes with its type letter */
	if (!memchr(name, 0, 512))
		__builtin_trap();
	(*n)++;
	(void)type;
	(void)addr;
	return 0;
}

static void check_layout(const struct kallsyms_layout *l, size_t len)
{
	if (l->tt >= len || l->ti + 512 > len || l->names > l->names_end || l->names_end > len ||
	    l->markers + 4 * (size_t)l->nmarkers > len || l->relbase + 8 > len ||
	    l->offsets + 4 * (size_t)l->num_syms > len || l->nump + 4 > len)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0;
	int parsed = 0;
	while (parsed < MAX_CANDIDATES && (at = kallsyms_scan(data, size, at)) != (size_t)-1) {
		if (kallsyms_tokens_ok(data, size, at)) {
			struct kallsyms_layout lay;
			char err[256];
			parsed++;
			if (kallsyms_parse(data, size, at, &lay, err, sizeof(err)) == 0) {
				check_layout(&lay, size);
				uint64_t relbase;
				memcpy(&relbase, data + lay.relbase, 8);
				struct ksym want[NNAMES];
				for (size_t i = 0; i < NNAMES; i++)
					want[i] = (struct ksym){.name = names[i]};
				int found =
				    kallsyms_lookup(data, size, &lay, relbase, want, (int)NNAMES);
				if (found > (int)NNAMES)
					__builtin_trap();
				size_t n = 0;
				kallsyms_each(data, size, &lay, relbase, each_cb, &n);
				if (n > lay.num_syms)
					__builtin_trap();
			} else if (!memchr(err, 0, sizeof(err)) || !err[0]) {
				__builtin_trap();
			}
		}
		at++;
	}
	return 0;
}
