/*
 * fuzz_runtime.c - what container runtimes and QEMU/libvirt leave on the
 * host (src/targets/runtime_meta.c, bolt.c, qemu_cmdline.c, libvirt_xml.c,
 * vms.c).  The first byte picks:
 *
 *   0  meta_podman_containers_json()  "ID\n" then podman's containers.json
 *   1  meta_podman_config()           libpod's container config JSON
 *   2  meta_podman_state()            libpod's container state JSON
 *   3  meta_oci_config()              an OCI bundle's config.json
 *   4  meta_docker_config()           docker's config.v2.json
 *   5  bolt_open() and a walk of every bucket, then meta_podman_bolt()
 *      for each key of "ctr" and meta_containerd_bolt() for each container
 *      of each v1/<namespace>/containers: podman's bolt_state.db,
 *      containerd's meta.db
 *   6  meta_parse_time()              an RFC 3339 time
 *   7  meta_lookup() and meta_exit() of a podman container (ID of the
 *      seeds) over a host root whose var/lib/containers/storage/db.sql is
 *      the input (podman >= 4.8 SQLite state), opened as the daemon does
 *   8  vm_parse_cmdline()             /proc/PID/cmdline of QEMU
 *   9  vm_parse_libvirt_xml()         /run/libvirt/qemu/NAME.xml
 *  10  vms_discover_at() over a fake /proc/4242 (comm qemu-system-x86_64)
 *      and host root: the input cut at "\n--8<--\n" into cmdline, maps
 *      and a libvirt status file
 *
 * Seeds (fuzz/corpus/runtime/, README there): podman 4.3 with runc on this
 * machine (containers.json, bolt_state.db, the container's config and
 * state JSON, its OCI config.json), a containerd 1.6 meta.db, a QEMU 7.2
 * process's cmdline and maps, libvirt 9's XML of a domain.
 */
#include "fuzz.h"

#include "targets/bolt.h"
#include "targets/runtime_meta.h"
#include "targets/vms.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PODMAN_ID "0590bbd18c9528fb194ad9aa76e0e27efb1a61ea6712ef7efcc38d8634dac606"

/* A char array holds a NUL-terminated string. */
#define CHECK_STR(a)                                                                               \
	do {                                                                                       \
		if (!memchr((a), 0, sizeof(a)))                                                    \
			__builtin_trap();                                                          \
	} while (0)

static void check_meta(struct container_meta *m)
{
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "meta: name '%s' image '%s' state '%s' created %lld labels %zu\n",
		        m->name, m->image, m->state, (long long)m->created,
		        m->labels ? json_object_size(m->labels) : 0);
	CHECK_STR(m->name);
	CHECK_STR(m->image);
	CHECK_STR(m->state);
	CHECK_STR(m->runtime);
	if (m->labels) {
		if (!json_is_object(m->labels) || json_object_size(m->labels) > META_LABELS_MAX)
			__builtin_trap();
		const char *k;
		json_t *v;
		json_object_foreach(m->labels, k, v)
		{
			if (!json_is_string(v) || strlen(k) > META_LABEL_LEN ||
			    json_string_length(v) > META_LABEL_LEN)
				__builtin_trap();
		}
	}
	container_meta_clear(m);
}

typedef int (*json_parser)(const char *, size_t, struct container_meta *);

static void one_json(json_parser parse, const uint8_t *data, size_t size)
{
	struct container_meta m = {0};
	char *s = fuzz_strdup(data, size); /* exact size: ASan sees any overread */
	parse(s, size, &m);
	check_meta(&m);
	free(s);
}

/* ---- bolt ------------------------------------------------------------------ */

struct walk {
	const struct bolt *b;
	int depth;
	unsigned elems;
	/* the keys of "ctr" and of every "containers" bucket, to look up */
	char (*ids)[129];
	size_t nids;
	bool collect;
};

#define MAX_IDS 64

static void in_db(const struct bolt *b, const unsigned char *p, size_t n)
{
	if (n && (p < b->db || p > b->db + b->len || n > (size_t)(b->db + b->len - p)))
		__builtin_trap(); /* a key or value outside the file */
}

static int walk_cb(void *ctx, const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                   bool is_bucket)
{
	struct walk *w = ctx;
	in_db(w->b, k, kl);
	in_db(w->b, v, vl);
	if (++w->elems > 100000)
		return 1;
	if (w->collect && kl > 0 && kl <= 128 && !memchr(k, 0, kl) && w->nids < MAX_IDS) {
		memcpy(w->ids[w->nids], k, kl);
		w->ids[w->nids++][kl] = '\0';
	}
	if (is_bucket && w->depth < 8) {
		struct bolt_bucket sub;
		if (bolt_bucket_value(v, vl, &sub) == 0) {
			struct walk inner = *w;
			inner.depth++;
			inner.collect = (kl == 3 && !memcmp(k, "ctr", 3)) ||
			                (kl == 10 && !memcmp(k, "containers", 10));
			bolt_foreach(w->b, &sub, walk_cb, &inner);
			w->elems = inner.elems;
			w->nids = inner.nids;
		}
	}
	return 0;
}

static void one_bolt(const uint8_t *data, size_t size)
{
	unsigned char *db = fuzz_copy(data, size);
	struct bolt b;
	if (bolt_open(&b, db, size) == 0) {
		static char ids[MAX_IDS][129];
		struct bolt_bucket root;
		struct walk w = {.b = &b, .ids = ids};
		bolt_root(&b, &root);
		bolt_foreach(&b, &root, walk_cb, &w);
		for (size_t i = 0; i < w.nids; i++) {
			struct container_meta m = {0};
			meta_podman_bolt(&b, ids[i], &m);
			check_meta(&m);
			meta_containerd_bolt(&b, ids[i], &m);
			check_meta(&m);
		}
		const unsigned char *v;
		size_t vl;
		bool isb;
		if (bolt_get(&b, &root, "ctr", 3, &v, &vl, &isb) == 1)
			in_db(&b, v, vl);
	}
	free(db);
}

/* ---- files below a fake host root -------------------------------------------- */

static void mkdirs(const char *rel)
{
	char p[4096];
	size_t base = strlen(fuzz_tmpdir()) + 1;
	snprintf(p, sizeof p, "%s/%s", fuzz_tmpdir(), rel);
	for (char *s = p + base; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0700);
			*s = '/';
		}
	mkdir(p, 0700);
}

static int open_dir(const char *rel)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", fuzz_tmpdir(), rel);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		abort();
	return fd;
}

static void one_podman_sql(const uint8_t *data, size_t size)
{
	static int root = -1;
	if (root < 0) {
		mkdirs("host/var/lib/containers/storage");
		root = open_dir("host");
	}
	if (!fuzz_file("host/var/lib/containers/storage/db.sql", data, size))
		abort();
	struct meta_ctx ctx;
	struct container_meta m = {0};
	meta_ctx_init(&ctx, root);
	meta_lookup(&ctx, "podman", PODMAN_ID, &m);
	check_meta(&m);
	int code;
	bool oom;
	const char *from;
	meta_exit(&ctx, "podman", PODMAN_ID, &code, &oom, &from);
	meta_ctx_free(&ctx);
}

static void check_vm(const struct vm_target *t)
{
	CHECK_STR(t->name);
	CHECK_STR(t->uuid);
	CHECK_STR(t->machine);
	CHECK_STR(t->ram_path);
	CHECK_STR(t->qmp_path);
	CHECK_STR(t->source);
	CHECK_STR(t->backend);
	CHECK_STR(t->ram_how);
	CHECK_STR(t->kernel);
	CHECK_STR(t->state);
	if (t->uuid[0] && strlen(t->uuid) != 36)
		__builtin_trap(); /* a uuid is kept whole or not at all */
}

static void one_cmdline(const uint8_t *data, size_t size)
{
	char *s = fuzz_copy(data, size);
	struct vm_target t;
	struct vm_backend b;
	memset(&t, 0, sizeof t);
	if (vm_parse_cmdline(s, size, &t, &b) == 0) {
		check_vm(&t);
		CHECK_STR(b.id);
		CHECK_STR(b.type);
		CHECK_STR(b.mem_path);
	}
	/* every argument as an option string and as a size */
	char dst[256];
	uint64_t v;
	for (size_t i = 0; i < size;) {
		const char *a = s + i;
		const char *z = memchr(a, 0, size - i);
		size_t n = z ? (size_t)(z - a) : size - i;
		if (vm_opt_get(a, n, "type", "size", dst, sizeof dst))
			CHECK_STR(dst);
		vm_parse_size(a, n, 1u << 20, &v);
		i += n + 1;
	}
	free(s);
}

static void one_libvirt(const uint8_t *data, size_t size)
{
	char *s = fuzz_copy(data, size);
	struct vm_libvirt lv;
	if (vm_parse_libvirt_xml(s, size, &lv) == 0) {
		CHECK_STR(lv.state);
		CHECK_STR(lv.name);
		CHECK_STR(lv.uuid);
		CHECK_STR(lv.machine);
		CHECK_STR(lv.monitor);
	}
	free(s);
}

static const uint8_t *part(const uint8_t **data, size_t *size, size_t *n)
{
	static const char sep[] = "\n--8<--\n";
	const uint8_t *p = *data;
	const uint8_t *e = memmem(p, *size, sep, sizeof sep - 1);
	*n = e ? (size_t)(e - p) : *size;
	*data += e ? *n + sizeof sep - 1 : *n;
	*size -= e ? *n + sizeof sep - 1 : *n;
	return p;
}

static void one_discovery(const uint8_t *data, size_t size)
{
	static int proc = -1, root = -1;
	if (proc < 0) {
		mkdirs("proc/4242");
		mkdirs("vroot/run/libvirt/qemu");
		if (!fuzz_file("proc/4242/comm", (const uint8_t *)"qemu-system-x86_64\n", 19))
			abort();
		char p[4096];
		snprintf(p, sizeof p, "%s/proc/4242/cwd", fuzz_tmpdir());
		if (symlink("/run/libvirt/qemu", p) < 0)
			abort();
		proc = open_dir("proc");
		root = open_dir("vroot");
	}
	size_t n;
	const uint8_t *cmd = part(&data, &size, &n);
	if (!fuzz_file("proc/4242/cmdline", cmd, n))
		abort();
	const uint8_t *maps = part(&data, &size, &n);
	if (!fuzz_file("proc/4242/maps", maps, n))
		abort();
	if (!fuzz_file("vroot/run/libvirt/qemu/guest.xml", data, size))
		abort();
	struct vm_target *v;
	size_t nv;
	if (vms_discover_at(proc, root, &v, &nv) == 0) {
		if (nv > 1 || (nv == 0) != (v == NULL))
			__builtin_trap();
		for (size_t i = 0; i < nv; i++) {
			if (getenv("FUZZ_DEBUG"))
				fprintf(stderr, "vm: %s %s %s ram %s %s mem %llu\n", v[i].name,
				        v[i].uuid, v[i].source, v[i].ram_how, v[i].ram_path,
				        (unsigned long long)v[i].mem_bytes);
			check_vm(&v[i]);
			if (v[i].pid != 4242 || !v[i].name[0])
				__builtin_trap();
			struct system_id id;
			vm_identity(&v[i], &id);
			CHECK_STR(id.id);
			if (vm_target_find(v, nv, id.id) != &v[i])
				__builtin_trap(); /* a guest is found by its own id */
		}
		free(v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	switch (fuzz_pick(&data, &size, 11)) {
	case 0: {
		const uint8_t *nl = memchr(data, '\n', size < 129 ? size : 129);
		char id[130];
		size_t il = nl ? (size_t)(nl - data) : 0;
		memcpy(id, data, il);
		id[il] = '\0';
		if (nl) {
			size -= il + 1;
			data = nl + 1;
		}
		struct container_meta m = {0};
		char *s = fuzz_strdup(data, size);
		meta_podman_containers_json(s, size, id, &m);
		check_meta(&m);
		free(s);
		break;
	}
	case 1:
		one_json(meta_podman_config, data, size);
		break;
	case 2:
		one_json(meta_podman_state, data, size);
		break;
	case 3:
		one_json(meta_oci_config, data, size);
		break;
	case 4:
		one_json(meta_docker_config, data, size);
		break;
	case 5:
		one_bolt(data, size);
		break;
	case 6: {
		char *s = fuzz_strdup(data, size);
		int64_t t;
		meta_parse_time(s, &t);
		free(s);
		break;
	}
	case 7:
		one_podman_sql(data, size);
		break;
	case 8:
		one_cmdline(data, size);
		break;
	case 9:
		one_libvirt(data, size);
		break;
	case 10:
		one_discovery(data, size);
		break;
	}
	return 0;
}
