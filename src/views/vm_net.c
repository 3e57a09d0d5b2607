/*
 * vm_net.c - placeholder until the network part of the VM view lands.
 */
#include <errno.h>

#include "vm.h"

int vm_sockets(struct view *v, const struct view_iter *it,
	       int (*cb)(void *ctx, const struct vt_sock *s))
{
	return -ENOTSUP;
}

int vm_interfaces(struct view *v, const struct view_iter *it,
		  int (*cb)(void *ctx, const struct vt_iface *i))
{
	return -ENOTSUP;
}
