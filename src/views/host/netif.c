/* placeholder */
#include <errno.h>
#include "host.h"
int host_interfaces(struct view *v, const struct view_iter *it, int (*cb)(void *, const struct vt_iface *)) { return -ENOTSUP; }
