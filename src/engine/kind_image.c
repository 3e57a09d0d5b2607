/*
 * kind_image.c - a raw disk image (or block device) as a kind of system,
 * read without mounting it (views/image.c: ext2/3/4, whole or in an
 * MBR/GPT partition).  Named by the user (crawl --image PATH), never
 * discovered.  obj: a struct path_target; open() fills its `info`, and
 * the partition chosen goes into the id (two partitions of one disk are
 * two systems), so the identity is taken after opening.
 */
#include <stdio.h>
#include <string.h>

#include "../util/log.h"
#include "target.h"

static void image_identity(void *obj, struct system_id *out)
{
	const struct path_target *p = obj;
	system_image_identity(p->path, out);
	if (p->info.partition) {
		size_t len = strlen(out->id);
		snprintf(out->id + len, sizeof(out->id) - len, ":p%u", p->info.partition);
	}
}

static int image_open(void *obj, int proc_fd, struct view **out, char *err, size_t errlen)
{
	struct path_target *p = obj;
	int r = view_image_open(p->path, p->partition, out, &p->info, err, errlen);
	if (r == 0 && p->info.needs_recovery)
		log_warn("--image '%s': the journal holds changes not yet written to the file "
		         "system (it was not shut down cleanly); they are not replayed, so the "
		         "newest changes may be missing",
		         p->path);
	return r;
}

const struct target_kind kind_image = {
    .name = "image",
    .index = 4,
    .identity = image_identity,
    .open = image_open,
    .takes = target_files_only,
};
