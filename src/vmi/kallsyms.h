/*
 * kallsyms.h - the guest kernel's own symbol table, decoded from its RAM.
 *
 * A kernel built with CONFIG_KALLSYMS keeps every symbol's name and
 * address in .rodata, compressed: names are strings of token codes, the
 * 256 tokens sit in kallsyms_token_table, and kallsyms_token_index gives
 * each token's start.  We find the token table by its run of one-letter
 * tokens "0".."9" (digits are never merged into longer tokens' codes),
 * check it against the index that follows, then find the tables before
 * it: markers (offset of every 256th name), names, kallsyms_num_syms, the
 * relative base and the 32-bit offsets.  Everything is checked against
 * everything else; a layout that does not check out is reported as
 * unknown, never half-read.
 *
 * Known layouts (Linux 4.6+ with CONFIG_KALLSYMS_BASE_RELATIVE):
 *   A: offsets, relative_base, num_syms, names, markers, token_table,
 *      token_index                                  (to 6.1)
 *   A+seqs: as A with kallsyms_seqs_of_names (3 bytes per symbol) between
 *      markers and token_table                       (6.2-6.9, 6.1.y LTS)
 *   B: num_syms, names, markers, token_table, token_index, offsets,
 *      relative_base, seqs_of_names                  (6.10+)
 * Addresses: offset >= 0 is absolute (a per-CPU variable's offset), else
 * relative_base - 1 - offset (CONFIG_KALLSYMS_ABSOLUTE_PERCPU, x86-64).
 *
 * These functions are pure: they work on a window of guest memory copied
 * by the caller, and never read outside [win, win + len).
 */
#ifndef VANTAGE_VMI_KALLSYMS_H
#define VANTAGE_VMI_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

struct kallsyms_layout {
	size_t tt; /* token_table in the window */
	size_t ti; /* token_index */
	size_t markers;
	uint32_t nmarkers;
	size_t names;
	size_t names_end;
	uint32_t num_syms;
	size_t offsets; /* 32-bit offsets */
	size_t relbase; /* u64 kallsyms_relative_base */
	int seqs;       /* kallsyms_seqs_of_names between markers and tokens */
	size_t nump;    /* kallsyms_num_syms */
	char layout;    /* 'A' or 'B' */
	uint16_t tindex[256];
};

/* Where one-letter tokens "0\0" .. "9\0" run: candidates for the token
 * table, checked by kallsyms_parse. Returns the offset of the first match
 * at or after `from`, or (size_t)-1. */
size_t kallsyms_scan(const unsigned char *buf, size_t len, size_t from);

/* Cheap first check of a digit run: a token table with its index. */
int kallsyms_tokens_ok(const unsigned char *win, size_t len, size_t digit0);

/* Given the offset of the "0" token's run found by kallsyms_scan, find and
 * check every table.  0, or -EINVAL with a message in err. */
int kallsyms_parse(const unsigned char *win, size_t len, size_t digits, struct kallsyms_layout *lay,
                   char *err, size_t errlen);

struct ksym {
	const char *name; /* wanted name */
	uint64_t addr;    /* filled: run-time address, or per-CPU offset */
	int found;
	int percpu; /* absolute (per-CPU) symbol */
};

/* Decode every name; fill the wanted ones.  relbase: the run-time value of
 * kallsyms_relative_base (relocated by the kernel at boot).  Returns the
 * number of wanted symbols found. */
int kallsyms_lookup(const unsigned char *win, size_t len, const struct kallsyms_layout *lay,
                    uint64_t relbase, struct ksym *want, int nwant);

/* Every symbol, for `vantage vm-symbols`-style dumps and tests: calls cb
 * with type letter, name, address. Stops when cb returns non-zero. */
int kallsyms_each(const unsigned char *win, size_t len, const struct kallsyms_layout *lay,
                  uint64_t relbase,
                  int (*cb)(void *ctx, char type, const char *name, uint64_t addr), void *ctx);

#endif
