/*
 * Unit tests: container metadata from the runtimes' files.
 *
 *   - the JSON parsers (podman containers.json, libpod config and state,
 *     OCI bundle annotations of CRI-O and containerd, docker config.v2.json)
 *     with real-shaped samples, malformed, truncated and hostile ones;
 *   - the BoltDB reader, on database images built here page by page
 *     (branch pages, inline and page-rooted buckets, overflow pages, two
 *     meta pages) and on corrupted ones (bad checksums, cycles, elements
 *     pointing out of their page, truncation, random byte flips);
 *   - meta_lookup() over a fake host root in a temporary directory: podman
 *     (containers.json + bolt_state.db, or db.sql), docker, containerd and
 *     CRI-O bundles, Kubernetes runtime resolution, a FIFO where a file is
 *     expected, an id that tries to leave the directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "targets/bolt.h"
#include "targets/runtime_meta.h"

#define IDA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IDB "9f614bfa76625a6c3ec5c1746360e2aa977896988fb09036e3cf8f2374547809"
#define IDK "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define IDC "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define IDD "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define IDF "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

/* Run a parser on an exact-size copy of s. */
static int run(int (*fn)(const char *, size_t, struct container_meta *), const char *s,
               struct container_meta *m)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	int r = fn(p, n, m);
	free(p);
	return r;
}

static const char *lbl(const struct container_meta *m, const char *k)
{
	json_t *v = m->labels ? json_object_get(m->labels, k) : NULL;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- time ----------------------------------------------------------------- */

static void times(void **state)
{
	int64_t t;
	assert_int_equal(meta_parse_time("2026-11-22T04:13:52.299005272Z", &t), 0);
	assert_int_equal(t, 1795320832);
	assert_int_equal(meta_parse_time("2026-11-22T04:13:52Z", &t), 0);
	assert_int_equal(t, 1795320832);
	assert_int_equal(meta_parse_time("2026-11-22T05:13:52+01:00", &t), 0);
	assert_int_equal(t, 1795320832);
	assert_int_equal(meta_parse_time("2026-11-22T03:13:52.5-01:00", &t), 0);
	assert_int_equal(t, 1795320832);
	assert_int_equal(meta_parse_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	static const char *const bad[] = {
	    "",
	    "2026",
	    "2026-11-22",
	    "2026-11-22T04:13:52",
	    "2026-13-22T04:13:52Z",
	    "2026-11-22T24:13:52Z",
	    "2026-11-22T04:13:52.Z",
	    "2026-11-22T04:13:52Zjunk",
	    "2026-11-22T04:13:52+0100",
	    "2026/11/22T04:13:52Z",
	    "x026-11-22T04:13:52Z",
	    "2026-11-22T04:13:52+01:0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(meta_parse_time(bad[i], &t), -EINVAL);
	assert_int_equal(meta_parse_time(NULL, &t), -EINVAL);
}

/* ---- podman JSON ----------------------------------------------------------- */

static const char containers_json[] =
    "[{\"id\":\"" IDA "\",\"names\":[\"db\"],\"image\":\"e2d5\",\"layer\":\"c49d\","
    "\"metadata\":\"{\\\"image-name\\\":\\\"docker.io/library/postgres:15\\\","
    "\\\"image-id\\\":\\\"e2d5\\\",\\\"name\\\":\\\"db\\\",\\\"created-at\\\":1795320000}\","
    "\"created\":\"2026-11-22T04:00:00.1Z\"},"
    "{\"id\":\"" IDB "\",\"names\":[\"vtweb\"],"
    "\"metadata\":\"{\\\"image-name\\\":\\\"localhost/"
    "vtbusy:1\\\",\\\"created-at\\\":1795320832}\","
    "\"created\":\"2026-11-22T04:13:52.299005272Z\"}]";

static void podman_containers_json(void **state)
{
	struct container_meta m = {0};
	size_t n = strlen(containers_json);
	char *p = exact(containers_json, n);
	assert_int_equal(meta_podman_containers_json(p, n, IDB, &m), 0);
	assert_string_equal(m.name, "vtweb");
	assert_string_equal(m.image, "localhost/vtbusy:1");
	assert_int_equal(m.created, 1795320832);
	container_meta_clear(&m);
	assert_int_equal(meta_podman_containers_json(p, n, IDA, &m), 0);
	assert_string_equal(m.name, "db");
	assert_string_equal(m.image, "docker.io/library/postgres:15");
	assert_int_equal(m.created, 1795320000);
	container_meta_clear(&m);
	assert_int_equal(meta_podman_containers_json(p, n, IDK, &m), -ENOENT);
	/* truncated anywhere: an error or nothing, never a crash */
	for (size_t k = 0; k < n; k++)
		assert_true(meta_podman_containers_json(p, k, IDB, &m) < 0);
	container_meta_clear(&m);
	free(p);

	static const char *const odd[] = {
	    "{}",
	    "[]",
	    "[1,2,3]",
	    "[{\"id\":5}]",
	    "null",
	    "garbage",
	    "",
	    "[{\"id\":\"" IDB "\",\"names\":\"vtweb\",\"metadata\":7}]",
	    "[{\"id\":\"" IDB "\",\"names\":[5],\"metadata\":\"not json\"}]",
	    "[{\"id\":\"" IDB
	    "\",\"metadata\":\"{\\\"created-at\\\":-5,\\\"image-name\\\":[1]}\"}]",
	};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		run(meta_podman_config, odd[i], &m);
		container_meta_clear(&m);
		size_t l = strlen(odd[i]);
		char *q = exact(odd[i], l);
		int r = meta_podman_containers_json(q, l, IDB, &m);
		free(q);
		assert_true(r == 0 || r == -ENOENT || r == -EINVAL);
		assert_string_equal(m.image, "");
		assert_int_equal(m.created, 0);
		container_meta_clear(&m);
	}
}

static const char podman_config[] =
    "{\"spec\":{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"args\":[\"/bin/sh\"]}},"
    "\"id\":\"" IDB "\",\"name\":\"vtweb\",\"RawImageName\":\"localhost/vtbusy:1\","
    "\"rootfsImageID\":\"e2d5\",\"rootfsImageName\":\"localhost/vtbusy:1\","
    "\"labels\":{\"app\":\"web\",\"tier\":\"front\",\"n\":5,\"o\":{\"x\":1}},"
    "\"createdTime\":\"2026-11-22T04:13:52.294786328Z\",\"cgroupParent\":\"/libpod_parent\"}";

static void podman_config_state(void **state)
{
	struct container_meta m = {0};
	assert_int_equal(run(meta_podman_config, podman_config, &m), 0);
	assert_string_equal(m.name, "vtweb");
	assert_string_equal(m.image, "localhost/vtbusy:1");
	assert_int_equal(m.created, 1795320832);
	assert_string_equal(lbl(&m, "app"), "web");
	assert_string_equal(lbl(&m, "tier"), "front");
	assert_null(lbl(&m, "n")); /* non-string labels are dropped */
	assert_null(json_object_get(m.labels, "o"));
	assert_int_equal(json_object_size(m.labels), 2);
	container_meta_clear(&m);

	/* image from RawImageName when rootfsImageName is empty */
	assert_int_equal(run(meta_podman_config,
	                     "{\"name\":\"x\",\"rootfsImageName\":\"\",\"RawImageName\":\"img:1\"}",
	                     &m),
	                 0);
	assert_string_equal(m.image, "img:1");
	container_meta_clear(&m);

	static const struct {
		const char *json, *state;
	} st[] = {
	    {"{\"state\":3,\"pid\":25408}", "running"},
	    {"{\"state\":5}", "paused"},
	    {"{\"state\":2}", "created"},
	    {"{\"state\":6}", "exited"},
	    {"{\"state\":99}", "unknown"},
	    {"{\"state\":-1}", "unknown"},
	    {"{\"state\":8}", "stopping"},
	};
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		assert_int_equal(run(meta_podman_state, st[i].json, &m), 0);
		assert_string_equal(m.state, st[i].state);
		container_meta_clear(&m);
	}
	assert_int_equal(run(meta_podman_state, "{\"state\":\"3\"}", &m), -EINVAL);
	assert_int_equal(run(meta_podman_state, "[3]", &m), -EINVAL);
	assert_int_equal(run(meta_podman_state, "{\"state\":3", &m), -EINVAL);
	assert_int_equal(run(meta_podman_config, "[]", &m), -EINVAL);
	assert_int_equal(run(meta_podman_config, "{\"name\":", &m), -EINVAL);
	assert_string_equal(m.state, "");
	container_meta_clear(&m);
}

static void label_limits(void **state)
{
	struct container_meta m = {0};
	char *big = malloc(64 * 1024);
	assert_non_null(big);
	size_t o = 0;
	o += (size_t)sprintf(big + o, "{\"labels\":{");
	for (int i = 0; i < 300; i++)
		o += (size_t)sprintf(big + o, "%s\"k%03d\":\"v\"", i ? "," : "", i);
	o += (size_t)sprintf(big + o, ",\"long\":\"");
	memset(big + o, 'x', 5000);
	o += 5000;
	o += (size_t)sprintf(big + o, "\",\"\":\"empty\"}}");
	assert_int_equal(meta_podman_config(big, o, &m), 0);
	assert_int_equal(json_object_size(m.labels), META_LABELS_MAX);
	assert_null(lbl(&m, "long"));
	assert_null(lbl(&m, ""));
	container_meta_clear(&m);
	/* a NUL inside a value is kept (escaped on output); one inside a key
	 * makes jansson refuse the whole document */
	assert_int_equal(
	    run(meta_podman_config, "{\"name\":\"n\",\"labels\":{\"a\":\"x\\u0000y\"}}", &m), 0);
	assert_string_equal(m.name, "n");
	assert_int_equal(json_string_length(json_object_get(m.labels, "a")), 3);
	container_meta_clear(&m);
	assert_int_equal(
	    run(meta_podman_config, "{\"name\":\"n\",\"labels\":{\"a\\u0000b\":\"x\"}}", &m),
	    -EINVAL);
	container_meta_clear(&m);
	/* a document over the size bound is not even parsed */
	assert_int_equal(meta_podman_config(big, META_JSON_MAX + 1, &m), -EINVAL);
	free(big);
}

/* ---- OCI bundles and docker -------------------------------------------- */

static const char crio_config[] =
    "{\"ociVersion\":\"1.0.2\",\"annotations\":{"
    "\"io.kubernetes.pod.name\":\"web-0\",\"io.kubernetes.pod.namespace\":\"shop\","
    "\"io.kubernetes.pod.uid\":\"5b9b4a1f-3c2d-4e5f-8a9b-0c1d2e3f4a5b\","
    "\"io.kubernetes.container.name\":\"nginx\","
    "\"io.kubernetes.cri-o.ImageName\":\"docker.io/library/nginx:1.25\","
    "\"io.kubernetes.cri-o.Created\":\"2026-11-22T04:13:52.1Z\","
    "\"io.kubernetes.cri-o.Labels\":\"{\\\"app\\\":\\\"web\\\",\\\"io.kubernetes.pod.name\\\":"
    "\\\"web-0\\\"}\"}}";

static const char containerd_sandbox[] =
    "{\"annotations\":{\"io.kubernetes.cri.container-type\":\"sandbox\","
    "\"io.kubernetes.cri.sandbox-name\":\"web-0\",\"io.kubernetes.cri.sandbox-namespace\":\"shop\","
    "\"io.kubernetes.cri.sandbox-uid\":\"5b9b\"}}";

static const char containerd_container[] =
    "{\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
    "\"io.kubernetes.cri.container-name\":\"app\",\"io.kubernetes.cri.sandbox-name\":\"api-7\","
    "\"io.kubernetes.cri.sandbox-namespace\":\"default\","
    "\"io.kubernetes.cri.image-name\":\"registry.local/api:2\"}}";

static void oci_bundles(void **state)
{
	struct container_meta m = {0};
	assert_int_equal(run(meta_oci_config, crio_config, &m), 0);
	assert_string_equal(m.name, "shop/web-0/nginx");
	assert_string_equal(m.image, "docker.io/library/nginx:1.25");
	assert_int_equal(m.created, 1795320832);
	assert_string_equal(lbl(&m, "app"), "web");
	assert_string_equal(lbl(&m, "io.kubernetes.pod.namespace"), "shop");
	assert_string_equal(lbl(&m, "io.kubernetes.pod.uid"),
	                    "5b9b4a1f-3c2d-4e5f-8a9b-0c1d2e3f4a5b");
	container_meta_clear(&m);

	assert_int_equal(run(meta_oci_config, containerd_sandbox, &m), 0);
	assert_string_equal(m.name, "shop/web-0/POD");
	assert_string_equal(lbl(&m, "io.kubernetes.container.name"), "POD");
	container_meta_clear(&m);

	assert_int_equal(run(meta_oci_config, containerd_container, &m), 0);
	assert_string_equal(m.name, "default/api-7/app");
	assert_string_equal(m.image, "registry.local/api:2");
	container_meta_clear(&m);

	/* a plain (podman) bundle: nothing Kubernetes, no name */
	assert_int_equal(
	    run(meta_oci_config, "{\"annotations\":{\"io.container.manager\":\"libpod\"}}", &m), 0);
	assert_string_equal(m.name, "");
	assert_null(m.labels);
	container_meta_clear(&m);

	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"annotations\":[1]}",
	    "{\"annotations\":{\"io.kubernetes.pod.name\":5}}",
	    "{\"annotations\":{\"io.kubernetes.cri-o.Labels\":\"{broken\"}}",
	    "{\"annotations\":{\"io.kubernetes.cri-o.Labels\":\"[1,2]\"}}",
	    "{\"annotations\":{\"io.kubernetes.cri-o.Created\":\"yesterday\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = run(meta_oci_config, bad[i], &m);
		assert_true(r == 0 || r == -EINVAL);
		assert_string_equal(m.name, "");
		assert_int_equal(m.created, 0);
		container_meta_clear(&m);
	}
	size_t n = strlen(crio_config);
	char *p = exact(crio_config, n);
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(meta_oci_config(p, k, &m), -EINVAL);
		container_meta_clear(&m);
	}
	free(p);
}

static const char docker_config[] =
    "{\"ID\":\"" IDD "\",\"Created\":\"2026-11-22T04:13:52.5Z\","
    "\"Path\":\"nginx\",\"Name\":\"/web\",\"Image\":\"sha256:abc\","
    "\"State\":{\"Running\":true,\"Paused\":false,\"Restarting\":false,\"Pid\":4242},"
    "\"Config\":{\"Image\":\"nginx:1.25\",\"Labels\":{\"app\":\"web\",\"maintainer\":\"x\"}}}";

static void docker(void **state)
{
	struct container_meta m = {0};
	assert_int_equal(run(meta_docker_config, docker_config, &m), 0);
	assert_string_equal(m.name, "web");
	assert_string_equal(m.image, "nginx:1.25");
	assert_string_equal(m.state, "running");
	assert_int_equal(m.created, 1795320832);
	assert_string_equal(lbl(&m, "app"), "web");
	container_meta_clear(&m);

	assert_int_equal(run(meta_docker_config,
	                     "{\"Name\":\"db\",\"State\":{\"Running\":true,\"Paused\":true}}", &m),
	                 0);
	assert_string_equal(m.name, "db");
	assert_string_equal(m.state, "paused");
	container_meta_clear(&m);
	assert_int_equal(run(meta_docker_config, "{\"Name\":\"/\",\"State\":{}}", &m), 0);
	assert_string_equal(m.name, "");
	assert_string_equal(m.state, "exited");
	container_meta_clear(&m);
	/* dockershim: Kubernetes labels name the container */
	assert_int_equal(run(meta_docker_config,
	                     "{\"Name\":\"/k8s_app_api-7_default_1_0\",\"Config\":{\"Labels\":{"
	                     "\"io.kubernetes.pod.name\":\"api-7\",\"io.kubernetes.pod.namespace\":"
	                     "\"default\",\"io.kubernetes.container.name\":\"app\"}}}",
	                     &m),
	                 0);
	assert_string_equal(m.name, "default/api-7/app");
	container_meta_clear(&m);
	assert_int_equal(run(meta_docker_config, "[\"Name\"]", &m), -EINVAL);
	assert_int_equal(run(meta_docker_config, "{\"Name\":5,\"Config\":[],\"State\":1}", &m), 0);
	assert_string_equal(m.name, "");
	container_meta_clear(&m);
}

/* ---- BoltDB images built by hand ------------------------------------------ */

#define PS 4096

static void w16(unsigned char *p, uint16_t v)
{
	memcpy(p, &v, 2);
}
static void w32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static void w64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

struct el {
	uint32_t flags; /* 1: the value is a bucket */
	const char *k;
	const void *v;
	size_t vl;
};

/* A leaf page image at p with page id `id`; returns its length. */
static size_t leaf(unsigned char *p, uint64_t id, const struct el *e, int n)
{
	w64(p, id);
	w16(p + 8, 0x02);
	w16(p + 10, (uint16_t)n);
	w32(p + 12, 0);
	size_t data = 16 + (size_t)n * 16;
	for (int i = 0; i < n; i++) {
		unsigned char *eh = p + 16 + i * 16;
		size_t kl = strlen(e[i].k);
		w32(eh, e[i].flags);
		w32(eh + 4, (uint32_t)(p + data - eh));
		w32(eh + 8, (uint32_t)kl);
		w32(eh + 12, (uint32_t)e[i].vl);
		memcpy(p + data, e[i].k, kl);
		data += kl;
		memcpy(p + data, e[i].v, e[i].vl);
		data += e[i].vl;
	}
	return data;
}

/* An inline bucket value: header with root 0, then a leaf page image. */
static size_t inline_bucket(unsigned char *out, const struct el *e, int n)
{
	memset(out, 0, 16);
	return 16 + leaf(out + 16, 0, e, n);
}

/* A bucket value rooted at page `root`. */
static void page_bucket(unsigned char *out, uint64_t root)
{
	memset(out, 0, 16);
	w64(out, root);
}

static size_t branch(unsigned char *p, uint64_t id, const char *const *keys, const uint64_t *kids,
                     int n)
{
	w64(p, id);
	w16(p + 8, 0x01);
	w16(p + 10, (uint16_t)n);
	w32(p + 12, 0);
	size_t data = 16 + (size_t)n * 16;
	for (int i = 0; i < n; i++) {
		unsigned char *eh = p + 16 + i * 16;
		size_t kl = strlen(keys[i]);
		w32(eh, (uint32_t)(p + data - eh));
		w32(eh + 4, (uint32_t)kl);
		w64(eh + 8, kids[i]);
		memcpy(p + data, keys[i], kl);
		data += kl;
	}
	return data;
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void meta_page(unsigned char *p, uint64_t id, uint64_t root, uint64_t txid, uint64_t npages)
{
	w64(p, id);
	w16(p + 8, 0x04);
	unsigned char *m = p + 16;
	w32(m, 0xED0CDAED);
	w32(m + 4, 2);
	w32(m + 8, PS);
	w32(m + 12, 0);
	w64(m + 16, root);
	w64(m + 24, 0);
	w64(m + 32, 2);
	w64(m + 40, npages);
	w64(m + 48, txid);
	w64(m + 56, fnv1a(m, 56));
}

static char big_config[6000];

/*
 * A podman bolt_state.db: meta 0 (txid 1, stale root page 2), meta 1
 * (txid 2, root page 3); root: "all-ctrs" inline, "ctr" rooted at the
 * branch page 4 -> leaves 5 (IDA, inline bucket) and 6+7 (IDB, a config
 * larger than a page: overflow).
 */
static unsigned char *podman_db(size_t *len)
{
	size_t npages = 8;
	unsigned char *db = calloc(npages, PS);
	unsigned char tmp[PS], tmp2[16384];
	assert_non_null(db);

	/* stale root */
	struct el rc[] = {{0, "os", "linux", 5}};
	size_t l = inline_bucket(tmp, rc, 1);
	struct el stale[] = {{1, "runtime-config", tmp, l}};
	leaf(db + 2 * PS, 2, stale, 1);

	/* root */
	struct el all[] = {{0, IDA, "db", 2}, {0, IDB, "vtweb", 5}};
	size_t al = inline_bucket(tmp, all, 2);
	unsigned char ctrv[16];
	page_bucket(ctrv, 4);
	struct el root[] = {{1, "all-ctrs", tmp, al}, {1, "ctr", ctrv, 16}};
	leaf(db + 3 * PS, 3, root, 2);

	const char *keys[] = {IDA, IDB};
	uint64_t kids[] = {5, 6};
	branch(db + 4 * PS, 4, keys, kids, 2);

	/* IDA: small config and state, and an empty nested bucket */
	unsigned char deps[64];
	size_t dl = inline_bucket(deps, NULL, 0);
	const char *cfa =
	    "{\"name\":\"db\",\"rootfsImageName\":\"docker.io/library/postgres:15\","
	    "\"labels\":{\"role\":\"primary\"},\"createdTime\":\"2026-11-22T04:00:00Z\"}";
	const char *sta = "{\"state\":5}";
	struct el a[] = {{0, "config", cfa, strlen(cfa)},
	                 {1, "dependencies", deps, dl},
	                 {0, "state", sta, strlen(sta)}};
	l = inline_bucket(tmp, a, 3);
	struct el la[] = {{1, IDA, tmp, l}};
	leaf(db + 5 * PS, 5, la, 1);

	/* IDB: a config of 6000 bytes, spilling into page 7 */
	size_t o = (size_t)sprintf(big_config,
	                           "{\"name\":\"vtweb\",\"rootfsImageName\":\"localhost/vtbusy:1\","
	                           "\"labels\":{\"app\":\"web\",\"tier\":\"front\"},\"pad\":\"");
	memset(big_config + o, 'p', sizeof(big_config) - o - 3);
	memcpy(big_config + sizeof(big_config) - 3, "\"}", 3);
	const char *stb = "{\"state\":3}";
	struct el b[] = {{0, "config", big_config, strlen(big_config)},
	                 {0, "state", stb, strlen(stb)}};
	l = inline_bucket(tmp2, b, 2);
	struct el lb[] = {{1, IDB, tmp2, l}};
	size_t pl = leaf(db + 6 * PS, 6, lb, 1);
	assert_true(pl > PS && pl <= 2 * PS);
	w32(db + 6 * PS + 12, 1); /* one overflow page */

	meta_page(db, 0, 2, 1, npages);
	meta_page(db + PS, 1, 3, 2, npages);
	*len = npages * PS;
	return db;
}

static int count_cb(void *ctx, const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                    bool isb)
{
	(*(int *)ctx)++;
	return 0;
}

static void bolt_reader(void **state)
{
	size_t len;
	unsigned char *db = podman_db(&len);
	struct bolt b;
	struct bolt_bucket bk, root;
	const unsigned char *v;
	size_t vl;
	bool isb;

	assert_int_equal(bolt_open(&b, db, len), 0);
	assert_int_equal(b.page_size, PS);
	assert_int_equal(b.root, 3); /* the newer meta page */
	bolt_root(&b, &root);
	assert_int_equal(bolt_get(&b, &root, "ctr", 3, &v, &vl, &isb), 1);
	assert_true(isb);
	assert_int_equal(bolt_get(&b, &root, "nope", 4, &v, &vl, &isb), 0);
	assert_int_equal(bolt_bucket(&b, &root, "all-ctrs", &bk), 1);
	assert_int_equal(bolt_get(&b, &bk, IDB, 64, &v, &vl, &isb), 1);
	assert_false(isb);
	assert_int_equal(vl, 5);
	assert_memory_equal(v, "vtweb", 5);
	int n = 0;
	assert_int_equal(bolt_foreach(&b, &root, count_cb, &n), 0);
	assert_int_equal(n, 2);
	const char *path[] = {"ctr", NULL};
	assert_int_equal(bolt_bucket_path(&b, path, &bk), 1);
	n = 0;
	assert_int_equal(bolt_foreach(&b, &bk, count_cb, &n), 0); /* through the branch */
	assert_int_equal(n, 2);
	/* a key that is a value, not a bucket */
	const char *p2[] = {"all-ctrs", IDA, NULL};
	assert_int_equal(bolt_bucket_path(&b, p2, &bk), 0);

	struct container_meta m = {0};
	assert_int_equal(meta_podman_bolt(&b, IDA, &m), 0);
	assert_string_equal(m.name, "db");
	assert_string_equal(m.image, "docker.io/library/postgres:15");
	assert_string_equal(m.state, "paused");
	assert_string_equal(lbl(&m, "role"), "primary");
	container_meta_clear(&m);
	assert_int_equal(meta_podman_bolt(&b, IDB, &m), 0); /* the overflowing value */
	assert_string_equal(m.name, "vtweb");
	assert_string_equal(m.state, "running");
	assert_string_equal(lbl(&m, "tier"), "front");
	container_meta_clear(&m);
	assert_int_equal(meta_podman_bolt(&b, IDK, &m), -ENOENT);

	/* meta 1 corrupt: meta 0 (the stale root) is used */
	db[PS + 16 + 48] ^= 1;
	assert_int_equal(bolt_open(&b, db, len), 0);
	assert_int_equal(b.root, 2);
	assert_int_equal(meta_podman_bolt(&b, IDB, &m), -ENOENT);
	/* both corrupt */
	db[16] ^= 1;
	assert_int_equal(bolt_open(&b, db, len), -EINVAL);
	assert_int_equal(bolt_open(&b, NULL, 0), -EINVAL);
	assert_int_equal(bolt_open(&b, db, 100), -EINVAL);
	free(db);
}

static void bolt_corrupt(void **state)
{
	size_t len;
	unsigned char *db = podman_db(&len);
	struct bolt b;
	struct bolt_bucket bk;
	struct container_meta m = {0};
	int n;
	const char *path[] = {"ctr", NULL};

	/* a branch pointing to itself: bounded, an error */
	w64(db + 4 * PS + 16 + 8, 4);
	assert_int_equal(bolt_open(&b, db, len), 0);
	assert_int_equal(meta_podman_bolt(&b, IDA, &m), -EINVAL);
	assert_int_equal(bolt_bucket_path(&b, path, &bk), 1);
	n = 0;
	assert_int_equal(bolt_foreach(&b, &bk, count_cb, &n), -EINVAL);
	container_meta_clear(&m);
	free(db);

	/* an element pointing past its page */
	db = podman_db(&len);
	w32(db + 5 * PS + 16 + 4, PS * 3);
	assert_int_equal(bolt_open(&b, db, len), 0);
	assert_true(meta_podman_bolt(&b, IDA, &m) < 0);
	assert_int_equal(meta_podman_bolt(&b, IDB, &m), 0); /* the other leaf is fine */
	container_meta_clear(&m);
	free(db);

	/* a page whose id does not match its place; an overflow past the end */
	db = podman_db(&len);
	w64(db + 5 * PS, 77);
	w32(db + 6 * PS + 12, 1000);
	assert_int_equal(bolt_open(&b, db, len), 0);
	assert_int_equal(meta_podman_bolt(&b, IDA, &m), -EINVAL);
	assert_int_equal(meta_podman_bolt(&b, IDB, &m), -EINVAL);
	free(db);

	/* the file truncated anywhere */
	db = podman_db(&len);
	for (size_t t = 0; t < len; t += 256) {
		unsigned char *c = malloc(t ? t : 1);
		memcpy(c, db, t);
		if (bolt_open(&b, c, t) == 0) {
			meta_podman_bolt(&b, IDA, &m);
			meta_podman_bolt(&b, IDB, &m);
			container_meta_clear(&m);
		}
		free(c);
	}
	/* random byte flips (meta pages re-checksummed so pages get read) */
	srand(12345);
	for (int it = 0; it < 3000; it++) {
		unsigned char *c = malloc(len);
		memcpy(c, db, len);
		for (int k = 0; k < 4; k++)
			c[2 * PS + (size_t)rand() % (len - 2 * PS)] = (unsigned char)rand();
		if (bolt_open(&b, c, len) == 0) {
			meta_podman_bolt(&b, IDA, &m);
			container_meta_clear(&m);
			meta_podman_bolt(&b, IDB, &m);
			container_meta_clear(&m);
			bolt_root(&b, &bk);
			n = 0;
			bolt_foreach(&b, &bk, count_cb, &n);
			if (bolt_bucket_path(&b, path, &bk) == 1)
				bolt_foreach(&b, &bk, count_cb, &n);
		}
		free(c);
	}
	free(db);
}

/* containerd's meta.db: v1/<ns>/containers/<id>/{image,createdat,labels}. */
static unsigned char *containerd_db(size_t *len)
{
	unsigned char *db = calloc(3, PS);
	unsigned char lab[512], ctr[1024], ctrs[1400], ns[1600], other[256], v1[4096];
	/* 2026-11-22T04:13:52Z as Go's MarshalBinary (version 1, UTC) */
	unsigned char gt[15] = {1};
	uint64_t s = 1795320832ull + 62135596800ull;
	for (int i = 0; i < 8; i++)
		gt[1 + i] = (unsigned char)(s >> (56 - 8 * i));
	gt[13] = 0xff;
	gt[14] = 0xff;
	struct el le[] = {{0, "app", "web", 3},
	                  {0, "bad", "\xff\xfe", 2},
	                  {0, "io.kubernetes.pod.name", "api-7", 5},
	                  {0, "k\xc0", "v", 1}};
	size_t ll = inline_bucket(lab, le, 4);
	struct el ce[] = {{0, "createdat", gt, 15},
	                  {0, "image", "docker.io/library/nginx:1.25", 28},
	                  {1, "labels", lab, ll}};
	size_t cl = inline_bucket(ctr, ce, 3);
	struct el cse[] = {{1, IDK, ctr, cl}};
	size_t csl = inline_bucket(ctrs, cse, 1);
	struct el nse[] = {{1, "containers", ctrs, csl}};
	size_t nsl = inline_bucket(ns, nse, 1);
	struct el oe[] = {{0, "x", "y", 1}};
	size_t ol = inline_bucket(other, oe, 1);
	struct el ve[] = {{1, "default", other, ol}, {1, "k8s.io", ns, nsl}};
	size_t vl = inline_bucket(v1, ve, 2);
	struct el re[] = {{1, "v1", v1, vl}};
	leaf(db + 2 * PS, 2, re, 1);
	meta_page(db, 0, 2, 1, 3);
	meta_page(db + PS, 1, 2, 1, 3);
	*len = 3 * PS;
	return db;
}

static void containerd_bolt(void **state)
{
	size_t len;
	unsigned char *db = containerd_db(&len);
	struct bolt b;
	struct container_meta m = {0};
	assert_int_equal(bolt_open(&b, db, len), 0);
	assert_int_equal(meta_containerd_bolt(&b, IDK, &m), 0);
	assert_string_equal(m.image, "docker.io/library/nginx:1.25");
	assert_int_equal(m.created, 1795320832);
	assert_string_equal(lbl(&m, "app"), "web");
	assert_null(lbl(&m, "bad")); /* not UTF-8: dropped, the others kept */
	assert_int_equal(json_object_size(m.labels), 2);
	char *dump = json_dumps(m.labels, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	assert_string_equal(dump, "{\"app\":\"web\",\"io.kubernetes.pod.name\":\"api-7\"}");
	free(dump);
	container_meta_clear(&m);
	assert_int_equal(meta_containerd_bolt(&b, IDC, &m), -ENOENT);
	free(db);
}

/* ---- meta_lookup over a fake host root ------------------------------------ */

static char root_dir[PATH_MAX];

static void put(const char *rel, const void *data, size_t n)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", root_dir, rel);
	for (char *p = path + strlen(root_dir) + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(path, 0755);
			*p = '/';
		}
	}
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

static void puts_(const char *rel, const char *s)
{
	put(rel, s, strlen(s));
}

static int rm_cb(const char *p)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	return system(cmd);
}

static void lookup(void **state)
{
	size_t len;
	strcpy(root_dir, "/tmp/vt-meta-XXXXXX");
	assert_non_null(mkdtemp(root_dir));
	unsigned char *pdb = podman_db(&len);
	put("var/lib/containers/storage/libpod/bolt_state.db", pdb, len);
	free(pdb);
	puts_("var/lib/containers/storage/overlay-containers/containers.json", containers_json);
	puts_("var/lib/docker/containers/" IDD "/config.v2.json", docker_config);
	puts_("run/containerd/io.containerd.runtime.v2.task/k8s.io/" IDK "/config.json",
	      containerd_container);
	unsigned char *cdb = containerd_db(&len);
	put("var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db", cdb, len);
	free(cdb);
	puts_("run/containers/storage/overlay-containers/" IDC "/userdata/config.json",
	      crio_config);
	/* a FIFO where docker's config is expected: must not block */
	char fifo[PATH_MAX * 2];
	puts_("var/lib/docker/containers/" IDF "/x", "");
	snprintf(fifo, sizeof(fifo), "%s/var/lib/docker/containers/" IDF "/config.v2.json",
	         root_dir);
	assert_int_equal(mkfifo(fifo, 0644), 0);

	int rfd = open(root_dir, O_RDONLY | O_DIRECTORY);
	assert_true(rfd >= 0);
	struct meta_ctx ctx;
	struct container_meta m = {0};
	meta_ctx_init(&ctx, rfd);

	assert_int_equal(meta_lookup(&ctx, "podman", IDB, &m), 0);
	assert_string_equal(m.name, "vtweb");
	assert_string_equal(m.image, "localhost/vtbusy:1");
	assert_string_equal(m.state, "running");
	assert_int_equal(m.created, 1795320832);
	assert_string_equal(lbl(&m, "app"), "web");
	assert_int_equal(meta_lookup(&ctx, "podman", IDA, &m), 0);
	assert_string_equal(m.state, "paused");
	assert_string_equal(m.name, "db");
	assert_int_equal(meta_lookup(&ctx, "podman", IDK, &m), -ENOENT);

	assert_int_equal(meta_lookup(&ctx, "docker", IDD, &m), 0);
	assert_string_equal(m.name, "web");
	assert_int_equal(meta_lookup(&ctx, "docker", IDF, &m), -ENOENT); /* the FIFO */

	assert_int_equal(meta_lookup(&ctx, "containerd", IDK, &m), 0);
	assert_string_equal(m.name, "default/api-7/app");
	assert_string_equal(m.image,
	                    "docker.io/library/nginx:1.25"); /* meta.db, after the bundle */
	assert_string_equal(lbl(&m, "app"), "web");

	assert_int_equal(meta_lookup(&ctx, "cri-o", IDC, &m), 0);
	assert_string_equal(m.name, "shop/web-0/nginx");

	/* Kubernetes with the cgroupfs driver: find which runtime it is */
	assert_int_equal(meta_lookup(&ctx, "cri", IDK, &m), 0);
	assert_string_equal(m.runtime, "containerd");
	assert_int_equal(meta_lookup(&ctx, "cri", IDC, &m), 0);
	assert_string_equal(m.runtime, "cri-o");
	assert_int_equal(meta_lookup(&ctx, "cri", IDD, &m), 0);
	assert_string_equal(m.runtime, "docker");
	assert_int_equal(meta_lookup(&ctx, "cri", IDA, &m), -ENOENT);
	assert_string_equal(m.runtime, "");

	/* no metadata for these; ids that try to leave the directory */
	assert_int_equal(meta_lookup(&ctx, "lxc", "web1", &m), -ENOENT);
	assert_int_equal(meta_lookup(&ctx, "none", "pidns-1", &m), -ENOENT);
	puts_("var/lib/docker/containers/config.v2.json", docker_config);
	assert_int_equal(meta_lookup(&ctx, "docker", ".", &m), -ENOENT);
	assert_int_equal(meta_lookup(&ctx, "docker", "..", &m), -ENOENT);
	assert_int_equal(meta_lookup(&ctx, "docker", "../containers", &m), -ENOENT);
	assert_int_equal(meta_lookup(&ctx, "docker", "", &m), -ENOENT);
	container_meta_clear(&m);
	meta_ctx_free(&ctx);

	/* podman >= 4.8: db.sql instead of bolt_state.db */
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/var/lib/containers/storage/libpod/bolt_state.db",
	         root_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/var/lib/containers/storage/db.sql", root_dir);
	sqlite3 *sq;
	assert_int_equal(sqlite3_open(path, &sq), SQLITE_OK);
	assert_int_equal(sqlite3_exec(sq,
	                              "CREATE TABLE ContainerConfig(ID TEXT PRIMARY KEY, Name TEXT,"
	                              " PodID TEXT, JSON TEXT);"
	                              "CREATE TABLE ContainerState(ID TEXT PRIMARY KEY, JSON TEXT);"
	                              "INSERT INTO ContainerConfig VALUES('" IDB "','sqlweb',NULL,"
	                              "'{\"name\":\"sqlweb\",\"labels\":{\"db\":\"sqlite\"}}');"
	                              "INSERT INTO ContainerState VALUES('" IDB
	                              "','{\"state\":5}');",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(sq);
	meta_ctx_init(&ctx, rfd);
	assert_int_equal(meta_lookup(&ctx, "podman", IDB, &m), 0);
	assert_string_equal(m.name, "sqlweb");
	assert_string_equal(m.state, "paused");
	assert_string_equal(m.image, "localhost/vtbusy:1"); /* from containers.json */
	assert_string_equal(lbl(&m, "db"), "sqlite");
	container_meta_clear(&m);
	meta_ctx_free(&ctx);

	close(rfd);
	assert_int_equal(rm_cb(root_dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(times),
	    cmocka_unit_test(podman_containers_json),
	    cmocka_unit_test(podman_config_state),
	    cmocka_unit_test(label_limits),
	    cmocka_unit_test(oci_bundles),
	    cmocka_unit_test(docker),
	    cmocka_unit_test(bolt_reader),
	    cmocka_unit_test(bolt_corrupt),
	    cmocka_unit_test(containerd_bolt),
	    cmocka_unit_test(lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
