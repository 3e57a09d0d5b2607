/*
 * runtime_meta.c - container names, images, labels and states from the
 * runtimes' own files (see runtime_meta.h for which file gives what).
 *
 * How: the pure parsers turn one JSON document (or one bolt database
 * image) into fields of a struct container_meta, each filling only what
 * it finds, so several sources can be layered: podman's containers.json
 * first, then its database; an OCI bundle's annotations, then containerd's
 * database.  meta_lookup() does the I/O: files are opened relative to the
 * host root fd, must be regular files (a FIFO would block), and are read
 * with a size bound.  Files shared by all containers of a runtime (the
 * podman and containerd databases, containers.json) are read once per
 * discovery and kept in the meta_ctx.
 *
 * Labels are kept as a jansson object of strings, bounded in number and
 * length; non-string values and text that is not valid UTF-8 (containerd's
 * database holds raw bytes) are dropped.  A NUL escaped inside a string
 * value is kept (JSON_ALLOW_NUL); jansson refuses a document with one in
 * an object key, which then yields no metadata at all.
 */
#include "runtime_meta.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/util.h"
#include "gone_reason.h"

enum { LOADED_PODMAN_DB = 1, LOADED_CONTAINERS_JSON = 2, LOADED_CONTAINERD_DB = 4 };

#define PODMAN_GRAPH "var/lib/containers/storage"
#define PODMAN_RUN "run/containers/storage"
#define CONTAINERD_TASKS "run/containerd/io.containerd.runtime.v2.task"
#define CONTAINERD_DB "var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db"

void container_meta_clear(struct container_meta *m)
{
	if (m->labels)
		json_decref(m->labels);
	memset(m, 0, sizeof(*m));
}

/* ---- helpers ------------------------------------------------------------- */

static json_t *load(const char *buf, size_t len)
{
	if (!buf || len == 0 || len > META_JSON_MAX)
		return NULL;
	return json_loadb(buf, len, JSON_ALLOW_NUL, NULL);
}

static void take_str(char *dst, size_t cap, json_t *v)
{
	if (json_is_string(v))
		copy_str(dst, cap, json_string_value(v), json_string_length(v));
}

static void add_label(struct container_meta *m, const char *k, size_t kl, const char *v, size_t vl)
{
	if (kl == 0 || kl > META_LABEL_LEN || vl > META_LABEL_LEN || memchr(k, 0, kl))
		return;
	if (!m->labels)
		m->labels = json_object();
	if (!m->labels || json_object_size(m->labels) >= META_LABELS_MAX)
		return;
	char key[META_LABEL_LEN + 1];
	memcpy(key, k, kl);
	key[kl] = 0;
	json_t *s = json_stringn(v, vl); /* NULL unless valid UTF-8 */
	if (s)
		json_object_set_new(m->labels, key, s); /* checks the key's UTF-8 */
}

/* Add every string member of object `o` as a label. */
static void add_labels(struct container_meta *m, json_t *o)
{
	const char *k;
	json_t *v;
	if (!json_is_object(o))
		return;
	json_object_foreach(o, k, v)
	{
		if (json_is_string(v))
			add_label(m, k, strlen(k), json_string_value(v), json_string_length(v));
	}
}

static const char *label(const struct container_meta *m, const char *k)
{
	json_t *v = m->labels ? json_object_get(m->labels, k) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Kubernetes containers are named "<namespace>/<pod>/<container>". */
static void k8s_name(struct container_meta *m)
{
	const char *pod = label(m, "io.kubernetes.pod.name");
	const char *ns = label(m, "io.kubernetes.pod.namespace");
	const char *ctr = label(m, "io.kubernetes.container.name");
	if (pod && ns)
		snprintf(m->name, sizeof(m->name), "%s/%s/%s", ns, pod, ctr ? ctr : "POD");
}

static int two_digits(const char *s, int *out)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -EINVAL;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return 0;
}

int meta_parse_time(const char *s, int64_t *out)
{
	int y1, y2, mo, d, h, mi, se;
	if (!s || strlen(s) < 20)
		return -EINVAL;
	if (two_digits(s, &y1) || two_digits(s + 2, &y2) || s[4] != '-' || two_digits(s + 5, &mo) ||
	    s[7] != '-' || two_digits(s + 8, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || two_digits(s + 11, &h) ||
	    s[13] != ':' || two_digits(s + 14, &mi) || s[16] != ':' || two_digits(s + 17, &se))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (two_digits(p + 1, &oh) || p[3] != ':' || two_digits(p + 4, &om) || oh > 23 ||
		    om > 59)
			return -EINVAL;
		off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	struct tm tm = {.tm_year = y1 * 100 + y2 - 1900,
	                .tm_mon = mo - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = mi,
	                .tm_sec = se};
	*out = (int64_t)timegm(&tm) - off;
	return 0;
}

static void take_time(int64_t *dst, json_t *v)
{
	int64_t t;
	if (json_is_string(v) && meta_parse_time(json_string_value(v), &t) == 0 && t > 0)
		*dst = t;
}

/* ---- podman -------------------------------------------------------------- */

int meta_podman_containers_json(const char *buf, size_t len, const char *id,
                                struct container_meta *m)
{
	json_t *root = load(buf, len), *e;
	size_t i;
	int ret = -ENOENT;
	if (!json_is_array(root)) {
		json_decref(root);
		return -EINVAL;
	}
	json_array_foreach(root, i, e)
	{
		json_t *jid = json_object_get(e, "id");
		if (!json_is_string(jid) || strcmp(json_string_value(jid), id) != 0)
			continue;
		take_str(m->name, sizeof(m->name), json_array_get(json_object_get(e, "names"), 0));
		take_time(&m->created, json_object_get(e, "created"));
		json_t *md = json_object_get(e, "metadata");
		if (json_is_string(md)) {
			json_t *mj = load(json_string_value(md), json_string_length(md));
			take_str(m->image, sizeof(m->image), json_object_get(mj, "image-name"));
			json_t *ca = json_object_get(mj, "created-at");
			if (json_is_integer(ca) && json_integer_value(ca) > 0)
				m->created = json_integer_value(ca);
			json_decref(mj);
		}
		ret = 0;
		break;
	}
	json_decref(root);
	return ret;
}

int meta_podman_config(const char *buf, size_t len, struct container_meta *m)
{
	json_t *root = load(buf, len);
	if (!json_is_object(root)) {
		json_decref(root);
		return -EINVAL;
	}
	take_str(m->name, sizeof(m->name), json_object_get(root, "name"));
	json_t *img = json_object_get(root, "rootfsImageName");
	if (!json_is_string(img) || !json_string_length(img))
		img = json_object_get(root, "RawImageName");
	take_str(m->image, sizeof(m->image), img);
	take_time(&m->created, json_object_get(root, "createdTime"));
	add_labels(m, json_object_get(root, "labels"));
	json_decref(root);
	return 0;
}

int meta_podman_state(const char *buf, size_t len, struct container_meta *m)
{
	static const char *const names[] = {"unknown", "created", "created",  "running", "stopped",
	                                    "paused",  "exited",  "removing", "stopping"};
	json_t *root = load(buf, len);
	json_t *st = json_object_get(root, "state");
	int ret = -EINVAL;
	if (json_is_integer(st)) {
		json_int_t v = json_integer_value(st);
		const char *s = v >= 0 && v < (json_int_t)ARRAY_SIZE(names) ? names[v] : "unknown";
		copy_str(m->state, sizeof(m->state), s, strlen(s));
		ret = 0;
	}
	/* the end of its last run: "exited": true with "exitCode" */
	json_t *code = json_object_get(root, "exitCode");
	if (json_is_true(json_object_get(root, "exited")) && json_is_integer(code)) {
		m->exited = true;
		m->exit_code = (int)json_integer_value(code);
		m->oom_killed = json_is_true(json_object_get(root, "oomKilled"));
	}
	json_decref(root);
	return ret;
}

int meta_podman_bolt(const struct bolt *b, const char *id, struct container_meta *m)
{
	const char *path[] = {"ctr", id, NULL};
	struct bolt_bucket bk;
	const unsigned char *v;
	size_t vl;
	bool isb;

	int r = bolt_bucket_path(b, path, &bk);
	if (r < 0)
		return -EINVAL;
	if (r == 0)
		return -ENOENT;
	if (bolt_get(b, &bk, "config", 6, &v, &vl, &isb) == 1 && !isb)
		meta_podman_config((const char *)v, vl, m);
	if (bolt_get(b, &bk, "state", 5, &v, &vl, &isb) == 1 && !isb)
		meta_podman_state((const char *)v, vl, m);
	return 0;
}

/* ---- OCI bundles (CRI-O, containerd) and docker -------------------------- */

/* Annotations that map to the common Kubernetes labels. */
static const struct {
	const char *annotation, *label;
} k8s_keys[] = {
    {"io.kubernetes.pod.name", "io.kubernetes.pod.name"},
    {"io.kubernetes.pod.namespace", "io.kubernetes.pod.namespace"},
    {"io.kubernetes.pod.uid", "io.kubernetes.pod.uid"},
    {"io.kubernetes.container.name", "io.kubernetes.container.name"},
    {"io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"},
    {"io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace"},
    {"io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"},
    {"io.kubernetes.cri.container-name", "io.kubernetes.container.name"},
};

int meta_oci_config(const char *buf, size_t len, struct container_meta *m)
{
	json_t *root = load(buf, len);
	json_t *an = json_object_get(root, "annotations");
	if (!json_is_object(root)) {
		json_decref(root);
		return -EINVAL;
	}
	if (json_is_object(an)) {
		for (size_t i = 0; i < ARRAY_SIZE(k8s_keys); i++) {
			json_t *v = json_object_get(an, k8s_keys[i].annotation);
			if (json_is_string(v))
				add_label(m, k8s_keys[i].label, strlen(k8s_keys[i].label),
				          json_string_value(v), json_string_length(v));
		}
		json_t *img = json_object_get(an, "io.kubernetes.cri-o.ImageName");
		if (!json_is_string(img))
			img = json_object_get(an, "io.kubernetes.cri.image-name");
		take_str(m->image, sizeof(m->image), img);
		take_time(&m->created, json_object_get(an, "io.kubernetes.cri-o.Created"));
		json_t *lj = json_object_get(an, "io.kubernetes.cri-o.Labels");
		if (json_is_string(lj)) {
			json_t *l = load(json_string_value(lj), json_string_length(lj));
			add_labels(m, l);
			json_decref(l);
		}
		json_t *type = json_object_get(an, "io.kubernetes.cri.container-type");
		if (json_is_string(type) && strcmp(json_string_value(type), "sandbox") == 0 &&
		    !label(m, "io.kubernetes.container.name"))
			add_label(m, "io.kubernetes.container.name", 28, "POD", 3);
	}
	k8s_name(m);
	json_decref(root);
	return 0;
}

int meta_docker_config(const char *buf, size_t len, struct container_meta *m)
{
	json_t *root = load(buf, len);
	if (!json_is_object(root)) {
		json_decref(root);
		return -EINVAL;
	}
	json_t *name = json_object_get(root, "Name");
	if (json_is_string(name)) {
		const char *n = json_string_value(name);
		size_t nl = json_string_length(name);
		if (nl && n[0] == '/')
			n++, nl--;
		copy_str(m->name, sizeof(m->name), n, nl);
	}
	json_t *cfg = json_object_get(root, "Config");
	take_str(m->image, sizeof(m->image), json_object_get(cfg, "Image"));
	add_labels(m, json_object_get(cfg, "Labels"));
	take_time(&m->created, json_object_get(root, "Created"));
	json_t *st = json_object_get(root, "State");
	if (json_is_object(st)) {
		const char *s = json_is_true(json_object_get(st, "Paused"))       ? "paused"
		                : json_is_true(json_object_get(st, "Restarting")) ? "restarting"
		                : json_is_true(json_object_get(st, "Running"))    ? "running"
		                : json_is_true(json_object_get(st, "Dead"))       ? "dead"
		                                                                  : "exited";
		copy_str(m->state, sizeof(m->state), s, strlen(s));
		json_t *code = json_object_get(st, "ExitCode");
		if ((strcmp(s, "exited") == 0 || strcmp(s, "dead") == 0) && json_is_integer(code)) {
			m->exited = true;
			m->exit_code = (int)json_integer_value(code);
			m->oom_killed = json_is_true(json_object_get(st, "OOMKilled"));
		}
	}
	k8s_name(m);
	json_decref(root);
	return 0;
}

/* ---- containerd's meta.db ------------------------------------------------ */

struct cd_find {
	const struct bolt *b;
	const char *id;
	struct container_meta *m;
};

static int cd_label(void *ctx, const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                    bool isb)
{
	if (!isb)
		add_label(ctx, (const char *)k, kl, (const char *)v, vl);
	return 0;
}

/* Go's time.MarshalBinary: version 1|2, int64 BE seconds since year 1,
 * int32 BE nanoseconds, int16 BE zone offset (minutes). */
static void go_time(const unsigned char *v, size_t vl, int64_t *out)
{
	if (vl < 15 || (v[0] != 1 && v[0] != 2))
		return;
	int64_t s = 0;
	for (int i = 1; i <= 8; i++)
		s = (int64_t)((uint64_t)s << 8 | v[i]);
	s -= 62135596800; /* year 1 -> 1970 */
	if (s > 0)
		*out = s;
}

static int cd_namespace(void *ctx, const unsigned char *k, size_t kl, const unsigned char *v,
                        size_t vl, bool isb)
{
	struct cd_find *f = ctx;
	struct bolt_bucket ns, ctrs, c, lb;
	const unsigned char *val;
	size_t vlen;
	bool vb;

	if (!isb || bolt_bucket_value(v, vl, &ns) < 0)
		return 0;
	if (bolt_bucket(f->b, &ns, "containers", &ctrs) != 1 ||
	    bolt_bucket(f->b, &ctrs, f->id, &c) != 1)
		return 0;
	if (bolt_get(f->b, &c, "image", 5, &val, &vlen, &vb) == 1 && !vb)
		copy_str(f->m->image, sizeof(f->m->image), (const char *)val, vlen);
	if (bolt_get(f->b, &c, "createdat", 9, &val, &vlen, &vb) == 1 && !vb)
		go_time(val, vlen, &f->m->created);
	if (bolt_bucket(f->b, &c, "labels", &lb) == 1)
		bolt_foreach(f->b, &lb, cd_label, f->m);
	(void)k;
	(void)kl;
	return 1;
}

int meta_containerd_bolt(const struct bolt *b, const char *id, struct container_meta *m)
{
	const char *path[] = {"v1", NULL};
	struct bolt_bucket v1;
	if (bolt_bucket_path(b, path, &v1) != 1)
		return -ENOENT;
	struct cd_find f = {b, id, m};
	return bolt_foreach(b, &v1, cd_namespace, &f) == 1 ? 0 : -ENOENT;
}

/* ---- I/O ----------------------------------------------------------------- */

void meta_ctx_init(struct meta_ctx *ctx, int root_fd)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->root_fd = root_fd;
}

void meta_ctx_free(struct meta_ctx *ctx)
{
	buf_free(&ctx->podman_db);
	buf_free(&ctx->containers_json);
	buf_free(&ctx->containerd_db);
	if (ctx->podman_sql)
		sqlite3_close(ctx->podman_sql);
	memset(ctx, 0, sizeof(*ctx));
	ctx->root_fd = -1;
}

/* Read a regular file below the root (bounded); 0 or -errno. */
static int slurp(int root_fd, const char *path, size_t max, struct buf *out)
{
	struct stat st;
	int fd = openat(root_fd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	bool trunc = false;
	if (st.st_size > 0)
		buf_reserve(out, (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max);
	ssize_t n = read_fd_bounded(fd, out, max, &trunc);
	close(fd);
	if (n < 0)
		return (int)n;
	return trunc ? -EFBIG : 0;
}

/* An id used in a path must be one plain component. */
static bool safe_id(const char *id)
{
	if (!id[0] || id[0] == '.' || strlen(id) > 128)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

/* Apply a JSON file's parser; 0 when the file was there and parsed. */
static int from_file(int root_fd, const char *path,
                     int (*parse)(const char *, size_t, struct container_meta *),
                     struct container_meta *m)
{
	struct buf b = BUF_INIT;
	int r = slurp(root_fd, path, META_JSON_MAX, &b);
	if (r == 0)
		r = parse(b.data, b.len, m);
	buf_free(&b);
	return r;
}

static void load_podman(struct meta_ctx *ctx)
{
	if (ctx->loaded & LOADED_PODMAN_DB)
		return;
	ctx->loaded |= LOADED_PODMAN_DB;
	if (slurp(ctx->root_fd, PODMAN_GRAPH "/libpod/bolt_state.db", META_FILE_MAX,
	          &ctx->podman_db) == 0 &&
	    bolt_open(&ctx->podman_bolt, ctx->podman_db.data, ctx->podman_db.len) == 0)
		return;
	struct stat st;
	if (fstatat(ctx->root_fd, PODMAN_GRAPH "/db.sql", &st, 0) < 0 || !S_ISREG(st.st_mode))
		return;
	char path[128];
	snprintf(path, sizeof(path), "file:/proc/self/fd/%d/" PODMAN_GRAPH "/db.sql?mode=ro",
	         ctx->root_fd);
	if (sqlite3_open_v2(path, &ctx->podman_sql, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(ctx->podman_sql);
		ctx->podman_sql = NULL;
		return;
	}
	sqlite3_busy_timeout(ctx->podman_sql, 100);
}

static void podman_sql(sqlite3 *db, const char *sql, const char *id,
                       int (*parse)(const char *, size_t, struct container_meta *),
                       struct container_meta *m)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (t && n > 0)
			parse(t, (size_t)n, m);
	}
	sqlite3_finalize(st);
}

static int lookup_podman(struct meta_ctx *ctx, const char *id, struct container_meta *m)
{
	int found = -ENOENT;
	if (!(ctx->loaded & LOADED_CONTAINERS_JSON)) {
		ctx->loaded |= LOADED_CONTAINERS_JSON;
		slurp(ctx->root_fd, PODMAN_GRAPH "/overlay-containers/containers.json",
		      META_JSON_MAX, &ctx->containers_json);
	}
	if (ctx->containers_json.len &&
	    meta_podman_containers_json(ctx->containers_json.data, ctx->containers_json.len, id,
	                                m) == 0)
		found = 0;
	load_podman(ctx);
	if (ctx->podman_bolt.db && meta_podman_bolt(&ctx->podman_bolt, id, m) == 0)
		found = 0;
	if (ctx->podman_sql) {
		podman_sql(ctx->podman_sql, "SELECT JSON FROM ContainerConfig WHERE ID = ?", id,
		           meta_podman_config, m);
		podman_sql(ctx->podman_sql, "SELECT JSON FROM ContainerState WHERE ID = ?", id,
		           meta_podman_state, m);
		if (m->name[0])
			found = 0;
	}
	return found;
}

static int lookup_docker(struct meta_ctx *ctx, const char *id, struct container_meta *m)
{
	char path[256];
	snprintf(path, sizeof(path), "var/lib/docker/containers/%s/config.v2.json", id);
	return from_file(ctx->root_fd, path, meta_docker_config, m) == 0 ? 0 : -ENOENT;
}

static int lookup_crio(struct meta_ctx *ctx, const char *id, struct container_meta *m)
{
	char path[256];
	snprintf(path, sizeof(path), PODMAN_RUN "/overlay-containers/%s/userdata/config.json", id);
	if (from_file(ctx->root_fd, path, meta_oci_config, m) == 0)
		return 0;
	snprintf(path, sizeof(path), PODMAN_GRAPH "/overlay-containers/%s/userdata/config.json",
	         id);
	return from_file(ctx->root_fd, path, meta_oci_config, m) == 0 ? 0 : -ENOENT;
}

static int lookup_containerd(struct meta_ctx *ctx, const char *id, struct container_meta *m)
{
	int found = -ENOENT;
	int dfd = openat(ctx->root_fd, CONTAINERD_TASKS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		DIR *d = fdopendir(dfd);
		struct dirent *de;
		while (d && found && (de = readdir(d))) {
			char path[512];
			if (de->d_name[0] == '.' || strlen(de->d_name) > 200)
				continue;
			snprintf(path, sizeof(path), CONTAINERD_TASKS "/%s/%s/config.json",
			         de->d_name, id);
			if (from_file(ctx->root_fd, path, meta_oci_config, m) == 0)
				found = 0;
		}
		if (d)
			closedir(d);
		else
			close(dfd);
	}
	if (!(ctx->loaded & LOADED_CONTAINERD_DB)) {
		ctx->loaded |= LOADED_CONTAINERD_DB;
		if (slurp(ctx->root_fd, CONTAINERD_DB, META_FILE_MAX, &ctx->containerd_db) == 0)
			bolt_open(&ctx->containerd_bolt, ctx->containerd_db.data,
			          ctx->containerd_db.len);
	}
	if (ctx->containerd_bolt.db && meta_containerd_bolt(&ctx->containerd_bolt, id, m) == 0)
		found = 0;
	if (found == 0)
		k8s_name(m);
	return found;
}

int meta_lookup(struct meta_ctx *ctx, const char *runtime, const char *id, struct container_meta *m)
{
	container_meta_clear(m);
	if (!safe_id(id))
		return -ENOENT;
	if (strcmp(runtime, "podman") == 0)
		return lookup_podman(ctx, id, m);
	if (strcmp(runtime, "docker") == 0)
		return lookup_docker(ctx, id, m);
	if (strcmp(runtime, "cri-o") == 0)
		return lookup_crio(ctx, id, m);
	if (strcmp(runtime, "containerd") == 0)
		return lookup_containerd(ctx, id, m);
	if (strcmp(runtime, "cri") == 0) {
		static const struct {
			const char *name;
			int (*fn)(struct meta_ctx *, const char *, struct container_meta *);
		} order[] = {{"containerd", lookup_containerd},
		             {"cri-o", lookup_crio},
		             {"docker", lookup_docker}};
		for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
			if (order[i].fn(ctx, id, m) == 0) {
				copy_str(m->runtime, sizeof(m->runtime), order[i].name,
				         strlen(order[i].name));
				return 0;
			}
			container_meta_clear(m);
		}
	}
	return -ENOENT;
}

/* conmon's exit file of container id below run/<dir>; 0 with *code. */
static int exit_file(int root_fd, const char *dir, const char *id, int *code)
{
	char path[256];
	struct buf b = BUF_INIT;
	snprintf(path, sizeof(path), "%s/%s", dir, id);
	int r = slurp(root_fd, path, 64, &b);
	if (r == 0)
		r = gone_parse_exit_file(b.data, b.len, code);
	buf_free(&b);
	return r;
}

int meta_exit(struct meta_ctx *ctx, const char *runtime, const char *id, int *code, bool *oom,
              const char **from)
{
	struct container_meta m = {0};
	*oom = false;
	*from = NULL;
	if (!safe_id(id))
		return -ENOENT;
	if (strcmp(runtime, "podman") == 0 &&
	    exit_file(ctx->root_fd, "run/libpod/exits", id, code) == 0) {
		*from = "podman exit file";
		return 0;
	}
	if ((strcmp(runtime, "cri-o") == 0 || strcmp(runtime, "cri") == 0) &&
	    exit_file(ctx->root_fd, "run/crio/exits", id, code) == 0) {
		*from = "cri-o exit file";
		return 0;
	}
	int r = -ENOENT;
	if (meta_lookup(ctx, runtime, id, &m) == 0 && m.exited) {
		*code = m.exit_code;
		*oom = m.oom_killed;
		*from = strcmp(runtime, "podman") == 0 ? "podman state" : "docker state";
		r = 0;
	}
	container_meta_clear(&m);
	return r;
}
