/*
 * kernel.c - the host's kernel facts and loaded modules.
 *
 * Facts: uname(2) gives release, version, machine, host and domain name
 * (of the calling thread's UTS namespace); the boot time is the `btime`
 * line of /proc/stat (whole seconds, so it is identical from one crawl to
 * the next, which matters for drift); the uptime is the first number of
 * /proc/uptime.  Each fact that cannot be read is left out of `have`.
 *
 * Modules: /proc/modules, parsed by linux/modules_parse.c.  A kernel built
 * without module support has no /proc/modules: that is zero modules, not
 * an error.
 */
#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "../../util/util.h"
#include "../../linux/modules_parse.h"

#define PROC_STAT_MAX (4u << 20)
#define PROC_MODULES_MAX (4u << 20)

static int proc_fd(struct view *v)
{
	return ((struct host_view *)v)->proc_fd;
}

/* The value of the "btime N" line of /proc/stat. */
static bool read_btime(int pfd, double *out)
{
	struct buf b = BUF_INIT;
	bool ok = false;
	if (read_file_at(pfd, "stat", &b, PROC_STAT_MAX) > 0) {
		const char *s = b.data, *end = b.data + b.len;
		while (s < end) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			const char *le = nl ? nl : end;
			if (le - s > 6 && !memcmp(s, "btime ", 6)) {
				const char *p = s + 6;
				uint64_t t;
				skip_blanks(&p, le);
				if (parse_u64(&p, le, &t)) {
					*out = (double)t;
					ok = true;
				}
				break;
			}
			s = nl ? nl + 1 : end;
		}
	}
	buf_free(&b);
	return ok;
}

/* The first number of /proc/uptime ("12345.67 23456.78"). */
static bool read_uptime(int pfd, double *out)
{
	char line[128];
	if (read_small_at(pfd, "uptime", line, sizeof(line)) <= 0)
		return false;
	const char *p = line, *end = line + strlen(line);
	uint64_t whole, frac = 0;
	if (!parse_u64(&p, end, &whole))
		return false;
	double scale = 1;
	if (p < end && *p == '.') {
		p++;
		const char *f = p;
		if (parse_u64(&p, end, &frac))
			for (long i = 0; i < p - f && i < 18; i++)
				scale *= 10;
		else
			frac = 0;
	}
	*out = (double)whole + (double)frac / scale;
	return true;
}

int host_kernel(struct view *v, struct vt_kernel *out)
{
	struct utsname u;
	memset(out, 0, sizeof(*out));
	if (uname(&u) == 0) {
		copy_str(out->release, sizeof(out->release), u.release, strlen(u.release));
		copy_str(out->version, sizeof(out->version), u.version, strlen(u.version));
		copy_str(out->hostname, sizeof(out->hostname), u.nodename, strlen(u.nodename));
		copy_str(out->machine, sizeof(out->machine), u.machine, strlen(u.machine));
		out->have |= VK_RELEASE | VK_VERSION | VK_HOSTNAME | VK_MACHINE;
		/* "(none)" is the kernel's way of saying "not set" */
		if (u.domainname[0] && strcmp(u.domainname, "(none)") != 0) {
			copy_str(out->domainname, sizeof(out->domainname), u.domainname,
			         strlen(u.domainname));
			out->have |= VK_DOMAIN;
		}
	}
	int pfd = proc_fd(v);
	if (read_uptime(pfd, &out->uptime))
		out->have |= VK_UPTIME;
	if (read_btime(pfd, &out->boot_time)) {
		out->have |= VK_BOOT;
	} else if (out->have & VK_UPTIME) {
		out->boot_time = (double)now_ns() / 1e9 - out->uptime;
		out->have |= VK_BOOT;
	}
	return out->have ? 0 : -EIO;
}

struct modules_ctx {
	const struct view_iter *it;
	int (*cb)(void *ctx, const struct vt_module *m);
};

static int one_module(void *ctx, const struct vt_module *m)
{
	struct modules_ctx *mc = ctx;
	return mc->cb(mc->it ? mc->it->ctx : NULL, m);
}

static void bad_line(void *ctx, unsigned lineno)
{
	const struct view_iter *it = ((struct modules_ctx *)ctx)->it;
	char what[64];
	if (it && it->error) {
		snprintf(what, sizeof(what), "/proc/modules line %u", lineno);
		it->error(it->ctx, what, EINVAL);
	}
}

int host_modules(struct view *v, const struct view_iter *it,
                 int (*cb)(void *ctx, const struct vt_module *m))
{
	struct buf b = BUF_INIT;
	ssize_t n = read_file_at(proc_fd(v), "modules", &b, PROC_MODULES_MAX);
	if (n < 0) {
		buf_free(&b);
		return n == -ENOENT ? 0 : (int)n;
	}
	struct modules_ctx mc = {.it = it, .cb = cb};
	int r = modules_parse(b.data, b.len, one_module, bad_line, &mc);
	buf_free(&b);
	return r;
}
