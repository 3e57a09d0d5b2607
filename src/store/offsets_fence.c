/*
 * offsets_fence.c - consumer positions as store_put_frames_at() takes
 * them: a position given once is set; a position given twice (the same
 * topic and partition) is a conditional move from its first offset (what
 * the caller read as stored; -1: none) to its last.  Both backends store
 * a batch only when every fenced position still holds its first offset,
 * or holds none (nothing stored yet for it, or the group's positions
 * deleted: a reset).  Otherwise another consumer (the new owner of a
 * partition, while this one is a zombie that lost it unknowingly) has
 * stored since, and the batch would store frames a second time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../util/xalloc.h"
#include "offsets_fence.h"

int fence_plan(const struct store_offset *o, size_t no, struct fence_pos **out, size_t *n,
               size_t *bad)
{
	struct fence_pos *p = no ? xreallocarray(NULL, no, sizeof(*p)) : NULL;
	size_t k = 0;
	for (size_t i = 0; i < no; i++) {
		if (!o[i].topic) {
			free(p);
			*bad = i;
			return -EINVAL;
		}
		size_t j;
		for (j = 0; j < k; j++)
			if (p[j].partition == o[i].partition && strcmp(p[j].topic, o[i].topic) == 0)
				break;
		if (j < k) { /* again: a move from the first entry's offset */
			p[j].fenced = true;
			p[j].next = o[i].offset;
			continue;
		}
		p[k++] = (struct fence_pos){.topic = o[i].topic,
		                            .partition = o[i].partition,
		                            .next = o[i].offset,
		                            .expect = o[i].offset};
	}
	*out = p;
	*n = k;
	return 0;
}

bool fence_holds(const struct fence_pos *p, bool have, int64_t stored)
{
	if (!p->fenced || !have)
		return true;
	return p->expect >= 0 && stored == p->expect;
}
