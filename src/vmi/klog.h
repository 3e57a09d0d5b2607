/*
 * klog.h - a Linux guest's kernel log (the printk ring buffer) read from
 * its RAM: what `dmesg` would print inside the guest, read from outside,
 * so a VM whose network and disks are dead still shows why (docs/logs.md).
 *
 * Kernels 5.10 and later keep the log in `prb` (struct printk_ringbuffer:
 * a descriptor ring, an info array and a text data ring); older ones in
 * `log_buf` of struct printk_log records.  The reader finds them through
 * the symbols and types vmi_open() resolved (kallsyms, BTF when present,
 * else the layouts it probes) and trusts nothing it reads: every index is
 * masked to its ring, every length checked against the ring's size, a
 * record whose state or sequence is not finalized or does not match is
 * skipped, and a ring that changes while being read gives the records that
 * were consistent (the reader never loops unbounded).
 */
#ifndef VANTAGE_KLOG_H
#define VANTAGE_KLOG_H

#include <stddef.h>
#include <stdint.h>

#include "vmi.h"

struct klog_rec {
	uint64_t seq;     /* the kernel's record sequence number */
	uint64_t ts_nsec; /* since the guest booted */
	int level;        /* 0..7 (syslog severity) */
	const char *text; /* not NUL-terminated; valid during the callback */
	size_t len;
};

/*
 * Call cb for each record with seq >= from_seq, oldest first; *next_seq
 * (may be NULL) gets the sequence to start from next time.  Returns the
 * number of records delivered, -ENOTSUP when the kernel's log could not be
 * found (the message in err), another negative errno on failure, or cb's
 * non-zero return.
 */
int klog_read(const struct vmi *v, uint64_t from_seq,
              int (*cb)(void *ctx, const struct klog_rec *r), void *ctx, uint64_t *next_seq,
              char *err, size_t errlen);

#endif
