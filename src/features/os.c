/*
 * os.c - the `os` feature: one record (key "linux") saying what the
 * system is.
 *
 * Everything comes through the view, so the same code describes the host,
 * a container, a QEMU guest (kernel facts only: a VM's view has no files),
 * a mounted root (--root) and a disk image (--image):
 *
 *   distro         /etc/os-release, else /usr/lib/os-release (os_release.c)
 *   kernel facts   view_kernel() when the view has a kernel: release,
 *                  version, architecture, host and domain name, boot time,
 *                  uptime; a files-only view has none (null), and its
 *                  hostname comes from /etc/hostname
 *   machine_id     /etc/machine-id
 *   ip_addresses   view_interfaces() when the view has interfaces: every
 *                  address of every non-loopback interface, prefix removed
 *
 * Every field is always present, null when unknown.  In the crawler
 * format the record is feature "os", key "linux", with the reference's
 * field names (os, os_version, os_kernel, boottime as epoch seconds,
 * uptime, ipaddr, architecture, hostname).
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "../util/timefmt.h"
#include "../util/util.h"
#include "feature.h"
#include "os_release.h"

#define SMALL_FILE_MAX 4096

/* First line of a small file inside the system, trimmed; false if absent
 * or empty.  Errors other than "not there" are counted. */
static bool first_line(struct crawl_ctx *c, const char *path, struct buf *out)
{
	buf_reset(out);
	ssize_t n = view_read_file(c->view, path, out, SMALL_FILE_MAX, NULL);
	if (n < 0) {
		/* a view without files (a VM seen from its RAM): null, no error */
		if (n != -ENOENT && n != -ENOTDIR && n != -ENOTSUP)
			frame_error(c->frame, (int)-n, "%s", path);
		return false;
	}
	const char *s = buf_str(out);
	size_t len = out->len;
	const char *nl = memchr(s, '\n', len);
	if (nl)
		len = (size_t)(nl - s);
	trim(&s, &len);
	if (!len)
		return false;
	memmove(out->data, s, len);
	out->len = len;
	out->data[len] = 0;
	return true;
}

/* ---- os-release ------------------------------------------------------------ */

static bool read_os_release(struct crawl_ctx *c, struct buf *raw, struct os_release *rel)
{
	static const char *const paths[] = {"/etc/os-release", "/usr/lib/os-release"};
	bool truncated = false;
	ssize_t n = -ENOENT;
	const char *path = paths[0];

	for (size_t i = 0; i < ARRAY_SIZE(paths) && (n == -ENOENT || n == -ENOTDIR); i++) {
		path = paths[i];
		buf_reset(raw);
		n = view_read_file(c->view, path, raw, OS_RELEASE_MAX, &truncated);
	}
	if (n < 0) {
		if (n != -ENOENT && n != -ENOTDIR && n != -ENOTSUP)
			frame_error(c->frame, (int)-n, "%s", path);
		return false;
	}
	if (os_release_parse(buf_str(raw), raw->len, rel) < 0) {
		frame_error(c->frame, ENOMEM, "%s", path);
		os_release_free(rel);
		return false;
	}
	if (truncated)
		frame_error(c->frame, EFBIG, "%s: only the first %zu bytes read", path,
		            OS_RELEASE_MAX);
	if (rel->ignored)
		frame_error(c->frame, EINVAL, "%s: %u malformed line(s) ignored", path,
		            rel->ignored);
	return true;
}

static void rel_field(struct json *j, const char *name, const struct os_release *rel,
                      const struct os_release_val *v)
{
	if (rel && v->s)
		jw_strn(j, name, v->s, v->len);
	else
		jw_null(j, name);
}

/* ---- addresses ------------------------------------------------------------- */

/* NUL-separated list of addresses, for one record. */
struct addrs {
	struct buf list;
	unsigned n;
};

static bool is_loopback_addr(const char *a, size_t n)
{
	return (n >= 4 && !memcmp(a, "127.", 4)) || (n == 3 && !memcmp(a, "::1", 3));
}

struct addr_ctx {
	struct crawl_ctx *c;
	struct addrs *a;
};

/* The iteration's ctx is handed to the callback: ours carries the list. */
static int one_iface(void *ctx, const struct vt_iface *i)
{
	struct addr_ctx *ac = ctx;
	if ((i->flags & IFF_LOOPBACK) || !i->addrs)
		return 0;
	for (const char *const *p = i->addrs; *p; p++) {
		const char *s = *p;
		size_t n = strcspn(s, "/");
		if (!n || is_loopback_addr(s, n))
			continue;
		buf_add(&ac->a->list, s, n);
		buf_addc(&ac->a->list, 0);
		ac->a->n++;
	}
	return 0;
}

static void iface_error(void *ctx, const char *what, int err)
{
	struct addr_ctx *ac = ctx;
	frame_error(ac->c->frame, err, "%s", what);
}

/* False when the view cannot list interfaces (addresses unknown). */
static bool collect_addrs(struct crawl_ctx *c, struct addrs *a)
{
	if (!VIEW_HAS(c->view, interfaces))
		return false;
	struct addr_ctx ac = {.c = c, .a = a};
	struct view_iter it = {.ctx = &ac, .error = iface_error};
	int r = view_interfaces(c->view, &it, one_iface);
	if (r < 0) {
		frame_error(c->frame, -r, "interfaces");
		return a->n > 0;
	}
	return true;
}

/* ---- the record ------------------------------------------------------------ */

static void kernel_str(struct json *j, const char *name, const struct vt_kernel *k, unsigned bit,
                       const char *v)
{
	if (k->have & bit)
		jw_str(j, name, v);
	else
		jw_null(j, name);
}

static int crawl(struct crawl_ctx *c)
{
	struct frame *f = c->frame;
	struct buf raw = BUF_INIT, host = BUF_INIT, mid = BUF_INIT;
	struct os_release rel_store;
	struct vt_kernel k = {0};
	struct addrs addrs = {BUF_INIT, 0};

	const struct os_release *rel = read_os_release(c, &raw, &rel_store) ? &rel_store : NULL;

	if (VIEW_HAS(c->view, kernel)) {
		int r = view_kernel(c->view, &k);
		if (r < 0) {
			frame_error(f, -r, "kernel facts");
			k.have = 0;
		}
	}
	bool have_host = (k.have & VK_HOSTNAME) && k.hostname[0];
	if (!have_host)
		have_host = first_line(c, "/etc/hostname", &host);
	bool have_mid = first_line(c, "/etc/machine-id", &mid);
	bool have_addrs = collect_addrs(c, &addrs);
	bool crawler = frame_format(f) == FRAME_CRAWLER;

	struct json *j = rec_begin(f, "linux");
	rec_crawler(f, "os", "linux");
	rel_field(j, "name", rel, rel ? &rel->name : NULL);
	rel_field(j, "pretty_name", rel, rel ? &rel->pretty_name : NULL);
	rel_field(j, rec_name(f, "id", "os"), rel, rel ? &rel->id : NULL);
	rel_field(j, "id_like", rel, rel ? &rel->id_like : NULL);
	rel_field(j, "version", rel, rel ? &rel->version : NULL);
	rel_field(j, rec_name(f, "version_id", "os_version"), rel, rel ? &rel->version_id : NULL);
	rel_field(j, "version_codename", rel, rel ? &rel->version_codename : NULL);

	kernel_str(j, rec_name(f, "kernel_release", "os_kernel"), &k, VK_RELEASE, k.release);
	kernel_str(j, "kernel_version", &k, VK_VERSION, k.version);
	kernel_str(j, "architecture", &k, VK_MACHINE, k.machine);
	if (k.have & VK_HOSTNAME && k.hostname[0])
		jw_str(j, "hostname", k.hostname);
	else if (have_host)
		jw_strn(j, "hostname", host.data, host.len);
	else
		jw_null(j, "hostname");
	kernel_str(j, "domainname", &k, VK_DOMAIN, k.domainname);

	const char *boot = rec_name(f, "boot_time", "boottime");
	if (!(k.have & VK_BOOT)) {
		jw_null(j, boot);
	} else if (crawler) {
		jw_double(j, boot, k.boot_time, 0);
	} else {
		char t[40];
		format_time_utc((int64_t)(k.boot_time * 1e9), t, sizeof(t));
		jw_str(j, boot, t);
	}
	if (k.have & VK_UPTIME)
		jw_double(j, rec_name(f, "uptime_s", "uptime"), k.uptime, 2);
	else
		jw_null(j, rec_name(f, "uptime_s", "uptime"));

	if (have_mid)
		jw_strn(j, "machine_id", mid.data, mid.len);
	else
		jw_null(j, "machine_id");

	const char *ipname = rec_name(f, "ip_addresses", "ipaddr");
	if (have_addrs) {
		jw_arr_begin(j, ipname);
		const char *s = buf_str(&addrs.list), *end = s + addrs.list.len;
		for (; s < end; s += strlen(s) + 1)
			jw_str(j, NULL, s);
		jw_arr_end(j);
	} else {
		jw_null(j, ipname);
	}
	int r = rec_end(f);

	if (rel)
		os_release_free(&rel_store);
	buf_free(&raw);
	buf_free(&host);
	buf_free(&mid);
	buf_free(&addrs.list);
	return r < 0 ? r : 0;
}

const struct feature feature_os = {
    .name = "os",
    .description = "distribution, kernel, host name, boot time, machine id, addresses",
    .on_files_only = true,
    .crawl = crawl,
    .default_interval = 300,
};
