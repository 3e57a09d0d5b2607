/*
 * cgroup_id.c - container runtime and id from cgroup paths (see cgroup_id.h).
 *
 * How: a path is split into components and each component is matched,
 * outermost first, against the naming schemes of the runtimes; the
 * previous component is the only context a rule needs ("docker" before a
 * bare id, "machine.slice" before machine-<name>.scope, the pod component
 * before a Kubernetes container id).  Nothing is copied until a rule
 * matches; ids must be exactly 64 lowercase hex digits, names are copied
 * truncated.
 */
#include "cgroup_id.h"

#include <errno.h>
#include <string.h>

#include "../util/util.h"

struct comp {
	const char *s;
	size_t n;
};

static bool has_prefix(struct comp c, const char *pfx)
{
	size_t l = strlen(pfx);
	return c.n >= l && memcmp(c.s, pfx, l) == 0;
}

static bool has_suffix(struct comp c, const char *sfx)
{
	size_t l = strlen(sfx);
	return c.n >= l && memcmp(c.s + c.n - l, sfx, l) == 0;
}

static bool comp_is(struct comp c, const char *s)
{
	return c.n == strlen(s) && memcmp(c.s, s, c.n) == 0;
}

static bool is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Drop `sfx` from the end of c if it is there. */
static struct comp strip(struct comp c, const char *sfx)
{
	if (has_suffix(c, sfx))
		c.n -= strlen(sfx);
	return c;
}

/* "<pfx><64hex>[.scope]" -> true and the id in *id. */
static bool prefixed_id(struct comp c, const char *pfx, struct comp *id)
{
	if (!has_prefix(c, pfx))
		return false;
	size_t l = strlen(pfx);
	struct comp r = strip((struct comp){c.s + l, c.n - l}, ".scope");
	if (!is_hex64(r.s, r.n))
		return false;
	*id = r;
	return true;
}

static void set(struct cgroup_cid *out, const char *rt, struct comp id)
{
	copy_str(out->runtime, sizeof(out->runtime), rt, strlen(rt));
	copy_str(out->id, sizeof(out->id), id.s, id.n);
}

/* systemd unit-name unescaping: "\x2d" -> '-'; malformed escapes and
 * "\x00" are kept as they are. */
static void unescape_unit(struct comp c, char *dst, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < c.n && o + 1 < cap; i++) {
		if (c.s[i] == '\\' && i + 3 < c.n && c.s[i + 1] == 'x') {
			int hi = hex_digit(c.s[i + 2]), lo = hex_digit(c.s[i + 3]);
			if (hi >= 0 && lo >= 0 && (hi | lo)) {
				dst[o++] = (char)(hi * 16 + lo);
				i += 3;
				continue;
			}
		}
		dst[o++] = c.s[i];
	}
	dst[o] = 0;
}

/* A Kubernetes pod component: "pod<uid>" (cgroupfs) or
 * "kubepods[-<qos>]-pod<uid_with_underscores>.slice" (systemd). */
static bool pod_component(struct comp c, char *uid, size_t cap)
{
	struct comp u;
	if (has_prefix(c, "pod")) {
		u = (struct comp){c.s + 3, c.n - 3};
	} else if (has_prefix(c, "kubepods") && has_suffix(c, ".slice")) {
		struct comp b = strip(c, ".slice");
		const char *p = NULL;
		for (size_t i = 0; i + 4 <= b.n; i++)
			if (memcmp(b.s + i, "-pod", 4) == 0)
				p = b.s + i + 4;
		if (!p)
			return false;
		u = (struct comp){p, (size_t)(b.s + b.n - p)};
	} else {
		return false;
	}
	if (u.n < 8 || u.n >= cap)
		return false;
	for (size_t i = 0; i < u.n; i++) {
		char ch = u.s[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || ch == '-' ||
		      ch == '_'))
			return false;
		uid[i] = ch == '_' ? '-' : ch;
	}
	uid[u.n] = 0;
	return true;
}

/* Match one component given its predecessor; true when it names a
 * container (out filled).  `kube`: a kubepods component was met;
 * `prev_pod`: the previous component was a pod's. */
static bool match(struct comp c, struct comp prev, bool kube, bool prev_pod, struct cgroup_cid *out)
{
	struct comp id;

	if (has_prefix(c, "libpod-conmon-") || has_prefix(c, "crio-conmon-"))
		return false;
	if (prefixed_id(c, "libpod-", &id)) {
		set(out, "podman", id);
		return true;
	}
	if (prefixed_id(c, "docker-", &id) && has_suffix(c, ".scope")) {
		set(out, "docker", id);
		return true;
	}
	if (prefixed_id(c, "cri-containerd-", &id)) {
		set(out, "containerd", id);
		return true;
	}
	if (prefixed_id(c, "crio-", &id)) {
		set(out, "cri-o", id);
		return true;
	}
	if (comp_is(prev, "docker") && is_hex64(c.s, c.n)) {
		set(out, "docker", c);
		return true;
	}
	if (kube && prev_pod && is_hex64(c.s, c.n)) {
		set(out, "cri", c);
		return true;
	}
	if (has_prefix(c, "lxc.monitor"))
		return false;
	if (has_prefix(c, "lxc.payload.") && c.n > 12) {
		set(out, "lxc", (struct comp){c.s + 12, c.n - 12});
		return true;
	}
	if ((comp_is(prev, "lxc.payload") || comp_is(prev, "lxc")) && c.n > 0) {
		set(out, "lxc", c);
		return true;
	}
	if (comp_is(prev, "machine.slice") && has_prefix(c, "machine-") &&
	    has_suffix(c, ".scope") && c.n > 14) {
		char name[128];
		unescape_unit((struct comp){c.s + 8, c.n - 14}, name, sizeof(name));
		if (strncmp(name, "qemu-", 5) == 0 || !name[0])
			return false; /* a libvirt VM */
		set(out, "nspawn", (struct comp){name, strlen(name)});
		return true;
	}
	return false;
}

bool cgroup_id_from_path(const char *path, size_t len, struct cgroup_cid *out)
{
	memset(out, 0, sizeof(*out));
	if (!path)
		return false;
	const char *p = path, *end = path + len;
	struct comp prev = {"", 0};
	bool kube = false, prev_pod = false;
	char uid[64] = "";

	while (p < end) {
		const char *sl = memchr(p, '/', (size_t)(end - p));
		const char *e = sl ? sl : end;
		struct comp c = {p, (size_t)(e - p)};
		p = e + 1;
		if (c.n == 0)
			continue;
		if (match(c, prev, kube, prev_pod, out)) {
			out->end = (size_t)(c.s + c.n - path);
			if (kube)
				copy_str(out->pod_uid, sizeof(out->pod_uid), uid, strlen(uid));
			return true;
		}
		if (has_prefix(c, "kubepods"))
			kube = true;
		prev_pod = kube && pod_component(c, uid, sizeof(uid));
		prev = c;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

/* Iterate the well-formed lines of a cgroup file: returns false at the
 * end; else sets controllers [*cs,*ce) and path [*ps, *ps + *pl). */
static bool next_line(const char **p, const char *end, const char **cs, const char **ce,
                      const char **ps, size_t *pl)
{
	while (*p < end) {
		const char *nl = memchr(*p, '\n', (size_t)(end - *p));
		const char *e = nl ? nl : end;
		const char *l = *p;
		*p = e + 1;
		const char *c1 = memchr(l, ':', (size_t)(e - l));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(e - c1 - 1)) : NULL;
		if (!c2 || c1 == l || e == c2 + 1)
			continue;
		*cs = c1 + 1;
		*ce = c2;
		*ps = c2 + 1;
		*pl = (size_t)(e - c2 - 1);
		return true;
	}
	return false;
}

bool cgroup_id_from_file(const char *buf, size_t len, struct cgroup_cid *out, const char **path,
                         size_t *path_len)
{
	const char *p = buf, *end = buf ? buf + len : NULL, *cs, *ce, *ps;
	size_t pl;

	memset(out, 0, sizeof(*out));
	if (!buf)
		return false;
	while (next_line(&p, end, &cs, &ce, &ps, &pl)) {
		if (cgroup_id_from_path(ps, pl, out)) {
			if (path) {
				*path = ps;
				*path_len = pl;
			}
			return true;
		}
	}
	return false;
}

/* True when the comma-separated list [s, e) holds `name`. */
static bool list_has(const char *s, const char *e, const char *name)
{
	size_t n = strlen(name);
	while (s < e) {
		const char *c = memchr(s, ',', (size_t)(e - s));
		const char *t = c ? c : e;
		if ((size_t)(t - s) == n && memcmp(s, name, n) == 0)
			return true;
		s = t + 1;
	}
	return false;
}

int cgroup_controller_path(const char *buf, size_t len, const char *controller, const char **path,
                           size_t *path_len)
{
	const char *p = buf, *end = buf ? buf + len : NULL, *cs, *ce, *ps;
	size_t pl;

	if (!buf)
		return -ENOENT;
	while (next_line(&p, end, &cs, &ce, &ps, &pl)) {
		bool hit = controller[0] ? list_has(cs, ce, controller) : cs == ce;
		if (hit) {
			*path = ps;
			*path_len = pl;
			return 0;
		}
	}
	return -ENOENT;
}

int cgroup_pick_path(const char *buf, size_t len, const char **path, size_t *path_len)
{
	struct cgroup_cid cid;
	const char *p = buf, *end = buf ? buf + len : NULL, *cs, *ce, *ps;
	size_t pl;

	if (!buf)
		return -EINVAL;
	if (cgroup_id_from_file(buf, len, &cid, path, path_len)) {
		*path_len = cid.end;
		return 0;
	}
	if (cgroup_controller_path(buf, len, "", path, path_len) == 0 &&
	    !(*path_len == 1 && (*path)[0] == '/'))
		return 0;
	if (cgroup_controller_path(buf, len, "memory", path, path_len) == 0)
		return 0;
	if (next_line(&p, end, &cs, &ce, &ps, &pl)) {
		*path = ps;
		*path_len = pl;
		return 0;
	}
	return -EINVAL;
}

int cgroup_container_path(const char *buf, size_t len, const char *controller, const char **path,
                          size_t *path_len)
{
	struct cgroup_cid cid;
	int r = cgroup_controller_path(buf, len, controller, path, path_len);
	if (r < 0)
		return r;
	if (!cgroup_id_from_path(*path, *path_len, &cid))
		return 0;
	*path_len = cid.end;
	return 1;
}
