/*
 * system.c - identities of the host and of mounted roots.
 *
 * The host's id prefers /etc/machine-id (stable across renames and
 * reboots), falling back to the hostname.
 */
#include "system.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/util.h"

static void hostname_of(char *dst, size_t cap)
{
	if (gethostname(dst, cap) != 0 || !dst[0])
		copy_str(dst, cap, "localhost", 9);
	dst[cap - 1] = 0;
}

void system_host_identity(struct system_id *out)
{
	memset(out, 0, sizeof(*out));
	hostname_of(out->host, sizeof(out->host));
	copy_str(out->name, sizeof(out->name), out->host, strlen(out->host));
	copy_str(out->kind, sizeof(out->kind), "host", 4);
	char mid[128];
	ssize_t n = read_small_at(AT_FDCWD, "/etc/machine-id", mid, sizeof(mid));
	const char *s = mid;
	size_t len = n > 0 ? (size_t)n : 0;
	trim(&s, &len);
	bool valid = len >= 16;
	for (size_t i = 0; i < len && valid; i++)
		valid = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
	if (valid)
		snprintf(out->id, sizeof(out->id), "host:%.*s", (int)len, s);
	else
		snprintf(out->id, sizeof(out->id), "host:%s", out->host);
}

void system_image_identity(const char *dir, struct system_id *out)
{
	memset(out, 0, sizeof(*out));
	char abs[PATH_MAX];
	if (!realpath(dir, abs))
		copy_str(abs, sizeof(abs), dir, strlen(dir));
	hostname_of(out->host, sizeof(out->host));
	snprintf(out->id, sizeof(out->id), "image:%.500s", abs);
	copy_str(out->name, sizeof(out->name), abs, strlen(abs));
	copy_str(out->kind, sizeof(out->kind), "image", 5);
}
