/*
 * modules_parse.h - parser of /proc/modules.
 *
 * Each line is "name size refcount users state address [taints]", e.g.
 *
 *   nf_tables 299008 3 nft_ct,nft_chain_nat, Live 0xffffffffc0a00000 (E)
 *
 * where users is "-" when no module uses this one (else a comma-separated
 * list with a trailing comma) and refcount is "-" on kernels built without
 * module unloading.  The address is ignored (it is 0 unless privileged).
 */
#ifndef VANTAGE_MODULES_PARSE_H
#define VANTAGE_MODULES_PARSE_H

#include <stddef.h>

#include "records.h"

/* Longest line accepted; longer ones are reported as malformed. */
#define MODULES_LINE_MAX 8192

/*
 * Parse one line (without its newline, `len` bytes) into *out.  The strings
 * of *out point into `scratch` (at least len + 1 bytes).  deps becomes the
 * users without the trailing comma ("" for "-"), refcount -1 for "-".
 * Returns 0, or -EINVAL for a malformed line.
 */
int modules_parse_line(const char *line, size_t len, char *scratch, struct vt_module *out);

/*
 * Parse a whole /proc/modules buffer: cb for each good line (stop and
 * return its value when non-zero), bad(ctx, lineno) for each malformed
 * one (blank lines are skipped silently).  Returns 0 or cb's value.
 */
int modules_parse(const char *buf, size_t len, int (*cb)(void *ctx, const struct vt_module *m),
                  void (*bad)(void *ctx, unsigned lineno), void *ctx);

#endif
