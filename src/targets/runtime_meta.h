/*
 * runtime_meta.h - name, image, labels, created time and state of a
 * container, read from the files its runtime keeps on the host.
 *
 * No daemon is asked: each runtime's own state files are read directly,
 * with bounded sizes (they are the host's files, but a container's labels
 * and names are chosen by whoever made it).  Missing or malformed metadata
 * is not an error: the container keeps what discovery found.
 *
 *   podman      var/lib/containers/storage/overlay-containers/containers.json
 *                 (names, "metadata": image-name, created-at)
 *               var/lib/containers/storage/libpod/bolt_state.db (podman <= 4.x:
 *                 bucket ctr/<id>: "config" = libpod's container config JSON
 *                 with name, labels, rootfsImageName, createdTime; "state"
 *                 = JSON with "state": 3 running, 5 paused ...)
 *               var/lib/containers/storage/db.sql (podman >= 4.8, SQLite:
 *                 ContainerConfig.JSON, ContainerState.JSON; same JSON)
 *   docker      var/lib/docker/containers/<id>/config.v2.json
 *                 (Name, Config.Image, Config.Labels, Created, State)
 *   containerd  run/containerd/io.containerd.runtime.v2.task/<ns>/<id>/config.json
 *                 (OCI bundle: io.kubernetes.cri.* annotations)
 *               var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db
 *                 (bucket v1/<ns>/containers/<id>: "image", "labels")
 *   cri-o       {run,var/lib}/containers/storage/overlay-containers/<id>/userdata/config.json
 *                 (OCI bundle: io.kubernetes.pod.*, io.kubernetes.cri-o.*)
 *   cri         (a Kubernetes container whose runtime the cgroup path did
 *               not tell): whichever of containerd, cri-o, docker has a
 *               bundle for the id; the runtime is corrected accordingly.
 *
 * Kubernetes containers get the labels io.kubernetes.pod.name,
 * io.kubernetes.pod.namespace, io.kubernetes.pod.uid and
 * io.kubernetes.container.name whichever runtime runs them, and the name
 * "<namespace>/<pod>/<container>".
 *
 * All paths are relative to a directory fd of the host's root, so tests
 * can point enrichment at a tree of sample files.
 */
#ifndef VANTAGE_RUNTIME_META_H
#define VANTAGE_RUNTIME_META_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"
#include "bolt.h"

/* Largest metadata file read (containers.json of thousands of containers,
 * a bolt database). */
#define META_FILE_MAX (64u << 20)
#define META_JSON_MAX (4u << 20) /* one JSON document */
#define META_LABELS_MAX 256      /* labels kept per container */
#define META_LABEL_LEN 4096      /* longest key or value kept */

struct container_meta {
	char name[256];
	char image[256];
	char state[16];   /* "running", "paused", "created", "exited" ... or "" */
	char runtime[16]; /* set when a "cri" container's runtime was found */
	int64_t created;  /* seconds since the epoch, 0 unknown */
	json_t *labels;   /* object of string values, or NULL */
	/* how its last run ended, when the runtime says it has ended (podman:
	 * "exited": true in its state; docker: State not running) */
	bool exited;
	int exit_code;   /* valid when exited */
	bool oom_killed; /* the runtime says the OOM killer ended it */
};

/* Free labels and zero the structure. */
void container_meta_clear(struct container_meta *m);

/* ---- pure parsers: each fills only what it finds; 0 or -EINVAL --------- */

/* podman's containers.json: the entry whose "id" is `id`. -ENOENT if absent. */
int meta_podman_containers_json(const char *buf, size_t len, const char *id,
                                struct container_meta *m);
/* libpod's container config JSON (from bolt_state.db or db.sql). */
int meta_podman_config(const char *buf, size_t len, struct container_meta *m);
/* libpod's container state JSON ("state": number). */
int meta_podman_state(const char *buf, size_t len, struct container_meta *m);
/* Find ctr/<id>/{config,state} in a podman bolt_state.db image and apply
 * both.  0, -ENOENT (no such container), -EINVAL (not a bolt file). */
int meta_podman_bolt(const struct bolt *b, const char *id, struct container_meta *m);
/* An OCI runtime bundle's config.json: Kubernetes annotations of CRI-O
 * and containerd (name, image, labels, created). */
int meta_oci_config(const char *buf, size_t len, struct container_meta *m);
/* docker's config.v2.json. */
int meta_docker_config(const char *buf, size_t len, struct container_meta *m);
/* containerd's meta.db: v1/<ns>/containers/<id> "image" and "labels"
 * (every namespace is searched).  0 or -ENOENT. */
int meta_containerd_bolt(const struct bolt *b, const char *id, struct container_meta *m);

/* RFC 3339 time ("2026-11-22T04:13:52.299005272Z", "+01:00" offsets) to
 * seconds since the epoch; -EINVAL when malformed. */
int meta_parse_time(const char *s, int64_t *out);

/* ---- I/O ---------------------------------------------------------------- */

/* Per-discovery cache of the runtimes' shared files (read at most once). */
struct sqlite3;

struct meta_ctx {
	int root_fd;                /* the host's root directory */
	unsigned loaded;            /* which shared files were tried (bits) */
	struct buf podman_db;       /* bolt_state.db image */
	struct bolt podman_bolt;    /* valid when podman_bolt.db != NULL */
	struct sqlite3 *podman_sql; /* db.sql, or NULL */
	struct buf containers_json; /* podman's containers.json */
	struct buf containerd_db;   /* containerd's meta.db image */
	struct bolt containerd_bolt;
};

void meta_ctx_init(struct meta_ctx *ctx, int root_fd);
void meta_ctx_free(struct meta_ctx *ctx);

/*
 * Gather what the runtime `runtime` ("podman", "docker", "containerd",
 * "cri-o", "cri"; others have no metadata files) keeps about container
 * `id`.  *m is cleared first.  Returns 0 when anything was found,
 * -ENOENT otherwise.
 */
int meta_lookup(struct meta_ctx *ctx, const char *runtime, const char *id,
                struct container_meta *m);

/*
 * How container `id` of `runtime` ended, from what is on disk (no daemon
 * asked): conmon's exit file (podman: run/libpod/exits/<id>, CRI-O:
 * run/crio/exits/<id>), else the runtime's state once it says the
 * container has exited (podman's bolt_state.db or db.sql "exitCode",
 * docker's config.v2.json State.ExitCode).  0 with *code (and *oom when
 * the runtime flagged an OOM kill; *from names the source), or -ENOENT
 * when nothing says it (yet: conmon and the runtime write them just after
 * the container's last process exits).
 */
int meta_exit(struct meta_ctx *ctx, const char *runtime, const char *id, int *code, bool *oom,
              const char **from);

#endif
