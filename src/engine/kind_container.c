/*
 * kind_container.c - containers as a kind of system: found from /proc and
 * cgroups (targets/containers.c, no container daemon asked), viewed
 * through their namespaces (views/container.c).  A container that
 * restarts keeps its id but gets a new init pid (its `gen`).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../targets/containers.h"
#include "../util/util.h"
#include "../views/container.h"
#include "target.h"

static int container_discover(struct target_set *set)
{
	struct container_list *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	int r = containers_discover(set->proc_fd, l);
	if (r < 0) {
		free(l);
		return r;
	}
	for (int i = 0; i < set->n; i++) /* the host's own processes */
		if (set->v[i].kind == &kind_host)
			set->v[i].procs = l->host_procs;
	for (int i = 0; i < l->n; i++) {
		struct target *t = target_add(set, &kind_container, &l->v[i]);
		if (!t)
			break;
		t->gen = l->v[i].init_pid;
		t->procs = l->v[i].npids;
		t->state = l->v[i].state;
	}
	set->data[kind_container.index] = l;
	return 0;
}

static void container_release(void *data)
{
	container_list_free(data);
	free(data);
}

static void container_identity(void *obj, struct system_id *out)
{
	*out = ((const struct container *)obj)->sys;
}

static struct target *container_by_name(struct target_set *set, const char *name)
{
	const struct container_list *l = set->data[kind_container.index];
	const struct container *c = l ? container_find(l, name) : NULL;
	for (int i = 0; c && i < set->n; i++)
		if (set->v[i].obj == c)
			return &set->v[i];
	return NULL;
}

static int container_open(void *obj, int proc_fd, struct view **out, char *err, size_t errlen)
{
	return view_container_open(proc_fd, obj, out);
}

static void container_describe(const struct target *t, struct target_info *out)
{
	const struct container *c = t->obj;
	container_short_id(c, out->short_id, sizeof(out->short_id));
	copy_str(out->long_id, sizeof(out->long_id), c->cid, strlen(c->cid));
}

static void container_json(const struct target *t, struct json *j)
{
	const struct container *c = t->obj;
	jw_str(j, "cid", c->cid);
	jw_int(j, "init_pid", c->init_pid);
	jw_uint(j, "pidns", c->pidns);
	jw_uint(j, "mntns", c->mntns);
	jw_uint(j, "netns", c->netns);
	jw_uint(j, "utsns", c->utsns);
	jw_str(j, "cgroup", c->cgroup);
	jw_int(j, "created", c->created);
	if (c->pod_uid[0])
		jw_str(j, "pod_uid", c->pod_uid);
	jw_arr_begin(j, "pids");
	for (int k = 0; k < c->npids; k++)
		jw_int(j, NULL, c->pids[k]);
	jw_arr_end(j);
}

const struct target_kind kind_container = {
    .name = "container",
    .noun = "container",
    .index = 1,
    .discover = container_discover,
    .release = container_release,
    .identity = container_identity,
    .find = container_by_name,
    .open = container_open,
    .describe = container_describe,
    .json = container_json,
};
