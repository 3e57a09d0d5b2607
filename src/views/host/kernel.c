/* placeholder */
#include <errno.h>
#include "host.h"
int host_kernel(struct view *v, struct vt_kernel *out) { return -ENOTSUP; }
int host_modules(struct view *v, const struct view_iter *it, int (*cb)(void *, const struct vt_module *)) { return -ENOTSUP; }
