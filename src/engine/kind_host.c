/*
 * kind_host.c - the host Vantage runs on, as a kind of system: one system,
 * found always, viewed through /proc and / (views/host).  Its process
 * count (the processes in no container) is filled in by the container
 * kind's discovery, which counts them.
 */
#include <errno.h>
#include <string.h>

#include "../util/util.h"
#include "../views/view.h"
#include "target.h"

static int host_discover(struct target_set *set)
{
	return target_add(set, &kind_host, NULL) ? 0 : -ENOMEM;
}

static void host_identity(void *obj, struct system_id *out)
{
	system_host_identity(out);
}

static int host_open(void *obj, int proc_fd, struct view **out, char *err, size_t errlen)
{
	return view_host_open(out);
}

static void host_describe(const struct target *t, struct target_info *out)
{
	const char *mid = strchr(t->sys.id, ':');
	mid = mid ? mid + 1 : t->sys.id;
	copy_str(out->short_id, sizeof(out->short_id), mid, strnlen(mid, 12));
	copy_str(out->long_id, sizeof(out->long_id), mid, strlen(mid));
}

const struct target_kind kind_host = {
    .name = "host",
    .index = 0,
    .discover = host_discover,
    .identity = host_identity,
    .open = host_open,
    .describe = host_describe,
};
