/*
 * caps.h - keeping only the capabilities the daemon needs.
 *
 * Vantage runs as root to read every process, namespace and container
 * root, but it needs only a few of root's capabilities for that
 * (docs/security.md has the table of which view needs which).  caps_keep()
 * drops every other one from the calling thread's effective, permitted and
 * inheritable sets, the ambient set and the bounding set, so that neither
 * the daemon nor a program it runs (an alarm's command) can get them back.
 *
 * Capabilities are per thread: call it in the main thread before any other
 * thread is made, and every later thread inherits the reduced sets.
 */
#ifndef VANTAGE_CAPS_H
#define VANTAGE_CAPS_H

#include <stddef.h>
#include <stdint.h>

/* Bit n of a mask is capability n (linux/capability.h: CAP_SYS_PTRACE...). */
#define CAP_BIT(c) ((uint64_t)1 << (c))

/*
 * Keep the capabilities of `keep` that the thread holds now and drop all
 * others.  Returns 0 and the set kept in *kept (0 when the process held
 * none: not root, nothing to drop), or a negative errno with a message.
 */
int caps_keep(uint64_t keep, uint64_t *kept, char *err, size_t errlen);

/* This thread's effective and bounding sets (0 on error). */
uint64_t caps_effective(void);
uint64_t caps_bounding(void);

/* "CAP_SYS_PTRACE,CAP_DAC_READ_SEARCH" (lower numbers first), "none" for 0. */
void caps_format(uint64_t mask, char *out, size_t outlen);

#endif
