/*
 * target.h - the kinds of system Vantage crawls, and lists of systems.
 *
 * A kind (struct target_kind) says, for one sort of system, how to find
 * the systems of that sort on this host (discover), what each one is
 * called (identity), how to open a view of it (open), which features its
 * view can serve (takes), and how `vantage ls` shows it.  The kinds:
 *
 *   host       this machine (kind_host.c)
 *   container  containers found from /proc and cgroups (kind_container.c)
 *   vm         QEMU guests, read from their RAM (kind_vm.c)
 *   root       a root file system mounted at a directory (kind_root.c)
 *   image      a raw disk image or block device (kind_image.c)
 *
 * Root and image systems are named by the user, not discovered (their
 * discover is NULL).  `vantage crawl`, `vantage serve` and `vantage ls`
 * go through this table only; adding a kind means one kind_*.c file and
 * a line in kinds.c.
 *
 * A target is one system: its kind, its identity and the kind's own
 * description of it (`obj`: a struct container, a struct vm_target, a
 * struct path_target; NULL for the host).  A target_set holds the systems
 * found by one or more discover() calls; the objects belong to the set
 * and live until target_set_free().
 */
#ifndef VANTAGE_TARGET_H
#define VANTAGE_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "../features/feature.h"
#include "../targets/system.h"
#include "../util/json.h"
#include "../views/image.h"

struct view;
struct target_kind;

#define TARGET_MAX_KINDS 8 /* room in per-kind arrays */

struct target {
	const struct target_kind *kind;
	struct system_id sys;
	void *obj;         /* the kind's description (see above) */
	int gen;           /* changes when the system restarts under the same
	                    * id (a container's init pid, QEMU's pid); 0 host */
	int procs;         /* processes, -1 when the kind does not count them */
	const char *state; /* "running", a container's state ... */
};

struct target_set {
	struct target *v;
	int n, cap;
	int proc_fd;                  /* the host's /proc (borrowed), for discovery */
	void *data[TARGET_MAX_KINDS]; /* what each kind's discover keeps, by kind index */
};

/* How `vantage ls` shows a system. */
struct target_info {
	char short_id[130]; /* the table's id, and "short_id" in JSON */
	char long_id[300];  /* the table's id with --no-trunc */
};

struct target_kind {
	const char *name; /* "host", "container", "vm" (= system_id.kind), "root", "image" */
	const char *noun; /* in log lines ("1 new container"); NULL: none */
	int index;        /* in target_kinds[] and per-kind arrays (< TARGET_MAX_KINDS) */
	/* Append the systems of this kind running now to `set`; 0 or a
	 * negative errno.  NULL for kinds named by the user. */
	int (*discover)(struct target_set *set);
	/* Free what discover() left in set->data[index]. */
	void (*release)(void *data);
	/* The identity of the system `obj` describes. */
	void (*identity)(void *obj, struct system_id *out);
	/* The system named `name` among the discovered ones (id, name, ...);
	 * NULL when none.  NULL hook: the kind has no names. */
	struct target *(*find)(struct target_set *set, const char *name);
	/* Open a view of it; 0 or a negative errno (err says why, when it
	 * can say more than the errno).  proc_fd: the host's /proc, or -1. */
	int (*open)(void *obj, int proc_fd, struct view **out, char *err, size_t errlen);
	/* Can this kind's view serve feature f? */
	bool (*takes)(const struct feature *f);
	/* The daemon crawls it only through a view it keeps open (opening one
	 * is expensive: locating a guest kernel), retrying a failed open every
	 * 30 s; other kinds keep views for crawls of metric alone. */
	bool keep_view;
	/* vantage ls: ids, and extra JSON fields after the common ones. */
	void (*describe)(const struct target *t, struct target_info *out);
	void (*json)(const struct target *t, struct json *j);
};

extern const struct target_kind kind_host, kind_container, kind_vm, kind_root, kind_image;
/* Every kind, in the order `vantage ls` lists them. */
extern const struct target_kind *const target_kinds[];
extern const int target_nkinds;

/* A root directory or disk image named by the user (the obj of kind root
 * and image).  For an image, `info` is filled by open(); the partition
 * chosen goes into the identity, so take the identity after opening. */
struct path_target {
	const char *path;
	unsigned partition; /* image: 0 = choose */
	struct image_info info;
};

void target_set_init(struct target_set *s, int proc_fd);
/* Discover the systems of kind k into s (kinds without discover: 0). */
int target_discover(struct target_set *s, const struct target_kind *k);
/* Append a system of kind k described by obj (borrowed; its identity is
 * taken now).  NULL when out of memory. */
struct target *target_add(struct target_set *s, const struct target_kind *k, void *obj);
void target_set_free(struct target_set *s);

/* Does kind k serve feature f, and does `vantage crawl` crawl it by
 * default (every feature k takes but 'file', a walk of the whole tree)? */
bool target_takes(const struct target_kind *k, const struct feature *f);
bool target_default_feature(const struct target_kind *k, const struct feature *f);

/* The takes() of kinds with files only (root, image). */
bool target_files_only(const struct feature *f);

/* Open a view of t (see target_kind.open). */
int target_open(const struct target *t, int proc_fd, struct view **out, char *err, size_t errlen);

#endif
