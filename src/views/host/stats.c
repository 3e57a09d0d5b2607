/* placeholder */
#include <errno.h>
#include "host.h"
int host_cpu_times(struct view *v, const struct view_iter *it, int (*cb)(void *, const struct vt_cpu *)) { return -ENOTSUP; }
int host_memory(struct view *v, struct vt_mem *out) { return -ENOTSUP; }
int host_load(struct view *v, struct vt_load *out) { return -ENOTSUP; }
int host_filesystems(struct view *v, const struct view_iter *it, int (*cb)(void *, const struct vt_fs *)) { return -ENOTSUP; }
int host_disk_io(struct view *v, const struct view_iter *it, int (*cb)(void *, const struct vt_diskio *)) { return -ENOTSUP; }
int host_cgroup(struct view *v, struct vt_cgroup *out) { return -ENOTSUP; }
