/*
 * offsets_fence.h - the consumer positions given to store_put_frames_at()
 * as both backends apply them (offsets_fence.c): each (topic, partition)
 * once, with its new offset and, when the caller gave the position twice,
 * the offset it expects to find stored (the fence against a zombie
 * consumer, store.h).
 */
#ifndef VANTAGE_STORE_OFFSETS_FENCE_H
#define VANTAGE_STORE_OFFSETS_FENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct fence_pos {
	const char *topic;
	int32_t partition;
	int64_t next;   /* the new offset: the last entry of the position */
	bool fenced;    /* given twice or more */
	int64_t expect; /* the first entry's offset (-1: none stored) */
};

/*
 * The positions of o[0..no), in the order of their first entry (an array
 * allocated with xmalloc, *n entries; free() it).  -EINVAL (and *bad the
 * entry's index) when an entry has no topic.
 */
int fence_plan(const struct store_offset *o, size_t no, struct fence_pos **out, size_t *n,
               size_t *bad);

/* Does a stored offset (have: one is stored) pass the position's fence? */
bool fence_holds(const struct fence_pos *p, bool have, int64_t stored);

#endif
