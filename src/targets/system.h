/*
 * system.h - the identity of one observed system (a target).
 *
 * A system id is stable and readable: host:<machine-id or hostname>,
 * container:<runtime>:<id>, vm:<uuid or name> (vm:ram:<path> for a RAM
 * file), image:<path> (a mounted root, or a disk image with :p<N> for its
 * partition N).  The identity goes into every frame header and every
 * record.  A struct system_id holds its strings in place (no pointer but
 * labels_json).
 */
#ifndef VANTAGE_SYSTEM_H
#define VANTAGE_SYSTEM_H

struct system_id {
	char id[512];
	char name[256];
	char kind[16];           /* "host", "container", "vm", "image" */
	char runtime[32];        /* container runtime, "" for others */
	char image[256];         /* container image, "" if none */
	char host[256];          /* the host it runs on (hostname) */
	const char *labels_json; /* labels as a JSON object text, or NULL;
	                          * owned by whoever filled the identity */
};

/* Identity of the host we run on: host:<machine-id> (or hostname). */
void system_host_identity(struct system_id *out);
/* Identity of a mounted root at `dir` (made absolute): image:<dir>. */
void system_image_identity(const char *dir, struct system_id *out);

#endif
