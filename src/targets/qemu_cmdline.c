/*
 * qemu_cmdline.c - QEMU's option strings ("a=b,c=d", ",," a literal
 * comma), sizes ("2G", "1.5M") and the command line walk that says what a
 * guest is (vm_opt_get, vm_parse_size, vm_parse_cmdline; see vms.h).
 *
 * Pure parsers over untrusted bytes: every field is bounded, and a
 * command line that makes no sense yields fewer fields, never a crash.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "vms.h"

#define MAX_BACKENDS 16
#define MAX_CHARDEVS 32

/* ---- QEMU option strings ------------------------------------------------- */

/* The end of the element starting at p: the first ',' not doubled. */
static const char *elem_end(const char *p, const char *end)
{
	while (p < end) {
		if (*p == ',') {
			if (p + 1 < end && p[1] == ',') {
				p += 2;
				continue;
			}
			break;
		}
		p++;
	}
	return p;
}

/* Copy [s, e) into dst with ",," read as ','. */
static void copy_unescaped(char *dst, size_t cap, const char *s, const char *e)
{
	size_t o = 0;
	if (!cap)
		return;
	while (s < e && o + 1 < cap) {
		if (*s == ',' && s + 1 < e && s[1] == ',')
			s++;
		dst[o++] = *s++;
	}
	dst[o] = 0;
}

bool vm_opt_get(const char *s, size_t n, const char *implied, const char *key, char *dst,
                size_t cap)
{
	const char *p = s, *end = s + n;
	bool first = true, found = false;
	size_t klen = strlen(key);

	if (!s)
		return false;
	while (p <= end) {
		const char *e = elem_end(p, end), *eq = memchr(p, '=', (size_t)(e - p));
		if (eq && (size_t)(eq - p) == klen && !memcmp(p, key, klen)) {
			copy_unescaped(dst, cap, eq + 1, e);
			found = true; /* a later repetition wins, as in QEMU */
		} else if (!eq && first && implied && !strcmp(implied, key) && e > p) {
			copy_unescaped(dst, cap, p, e);
			found = true;
		} else if (!eq && !(first && implied) && (size_t)(e - p) == klen &&
		           !memcmp(p, key, klen)) {
			copy_unescaped(dst, cap, "on", "on" + 2);
			found = true;
		}
		first = false;
		if (e >= end)
			break;
		p = e + 1;
	}
	return found;
}

static int suffix_shift(char c)
{
	switch (toupper((unsigned char)c)) {
	case 'B':
		return 0;
	case 'K':
		return 10;
	case 'M':
		return 20;
	case 'G':
		return 30;
	case 'T':
		return 40;
	case 'P':
		return 50;
	case 'E':
		return 60;
	default:
		return -1;
	}
}

bool vm_parse_size(const char *s, size_t n, uint64_t unit, uint64_t *out)
{
	const char *p = s, *end = s + n;
	uint64_t whole = 0, frac = 0, fdiv = 1;

	if (!s || !n || !isdigit((unsigned char)*p))
		return false;
	if (!parse_u64(&p, end, &whole))
		return false;
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !isdigit((unsigned char)*p))
			return false;
		for (; p < end && isdigit((unsigned char)*p); p++)
			if (fdiv < 1000000000000ull) { /* 12 digits is plenty */
				frac = frac * 10 + (uint64_t)(*p - '0');
				fdiv *= 10;
			}
	}
	if (p < end) {
		int sh = suffix_shift(*p++);
		if (sh < 0 || p != end)
			return false;
		unit = 1ull << sh;
	}
	if (unit && whole > UINT64_MAX / unit)
		return false;
	uint64_t v = whole * unit, f = 0;
	if (frac) { /* frac/fdiv * unit without overflow: unit is a power of two */
		unsigned __int128 t = (unsigned __int128)frac * unit / fdiv;
		f = (uint64_t)t;
	}
	if (v > UINT64_MAX - f)
		return false;
	*out = v + f;
	return true;
}

/* ---- the command line ----------------------------------------------------- */

/* Options that take no argument; every other option takes one (as in
 * QEMU's option table), so an argument is never read as an option. */
/* clang-format off */
static const char *const flag_opts[] = {
    "S", "s", "nographic", "no-reboot", "no-shutdown", "enable-kvm", "daemonize",
    "no-user-config", "nodefaults", "nodefconfig", "snapshot", "no-hpet", "no-acpi",
    "full-screen", "version", "h", "help", "no-fd-bootchk", "win2k-hack", "no-quit",
    "alt-grab", "ctrl-grab", "usb", "portrait", "rtc-td-hack", "localtime", "enable-fips",
    "sdl", "curses", "no-frame", "only-migratable", "preconfig", "semihosting",
    "enable-sync-profile", "old-param", "no-kvm", "no-kvm-irqchip", "no-kvm-pit",
    "no-kvm-pit-reinjection", "no-graphic", "singlestep", "one-insn-per-tb",
    "xen-attach", "list-features", "mem-prealloc", "vga-std", "no-vnc",
};
/* clang-format on */

static bool is_flag_opt(const char *o)
{
	for (size_t i = 0; i < ARRAY_SIZE(flag_opts); i++)
		if (!strcmp(o, flag_opts[i]))
			return true;
	return false;
}

struct chardev {
	char id[64];
	char path[108];
};

/* What the walk collects before it decides. */
struct cmdline_state {
	struct vm_backend *be; /* MAX_BACKENDS */
	int nbe;
	struct chardev *cd; /* MAX_CHARDEVS */
	int ncd;
	char machine_mb[64]; /* -machine memory-backend= */
	char numa_mb[64];    /* the only -numa memdev= */
	int nnuma;
	char mon_chardev[64]; /* -mon chardev=X,mode=control */
	bool have_m;
};

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

void vm_set_uuid(char *dst, size_t cap, const char *s, size_t n)
{
	char u[48];
	copy_str(u, sizeof(u), s, n);
	if (!is_uuid(u))
		return;
	for (char *p = u; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	copy_str(dst, cap, u, strlen(u));
}

bool vm_is_qemu_name(const char *s, size_t n)
{
	const char *slash = memrchr(s, '/', n);
	if (slash) {
		n -= (size_t)(slash + 1 - s);
		s = slash + 1;
	}
	return (n > 12 && !memcmp(s, "qemu-system-", 12)) || (n >= 8 && !memcmp(s, "qemu-kvm", 8));
}

/* Decide the main backend, the size and the QMP socket from what was seen. */

static const char *backend_type(const char *qom)
{
	if (!strcmp(qom, "memory-backend-file"))
		return "file";
	if (!strcmp(qom, "memory-backend-memfd"))
		return "memfd";
	if (!strcmp(qom, "memory-backend-ram"))
		return "ram";
	return NULL;
}

static bool on_value(const char *v)
{
	return !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "y");
}

/* -object in libvirt's JSON form. */
static void object_json(const char *v, size_t n, struct cmdline_state *st)
{
	json_t *o = json_loadb(v, n, 0, NULL), *x;
	const char *type;
	if (!json_is_object(o) || st->nbe >= MAX_BACKENDS ||
	    !json_is_string(json_object_get(o, "qom-type")) ||
	    !(type = backend_type(json_string_value(json_object_get(o, "qom-type"))))) {
		json_decref(o);
		return;
	}
	struct vm_backend *b = &st->be[st->nbe++];
	memset(b, 0, sizeof(*b));
	copy_str(b->type, sizeof(b->type), type, strlen(type));
	if (json_is_string(x = json_object_get(o, "id")))
		copy_str(b->id, sizeof(b->id), json_string_value(x), json_string_length(x));
	if (json_is_integer(x = json_object_get(o, "size")) && json_integer_value(x) > 0)
		b->size = (uint64_t)json_integer_value(x);
	else if (json_is_string(x))
		vm_parse_size(json_string_value(x), json_string_length(x), 1, &b->size);
	if (json_is_string(x = json_object_get(o, "mem-path")))
		copy_str(b->mem_path, sizeof(b->mem_path), json_string_value(x),
		         json_string_length(x));
	x = json_object_get(o, "share");
	b->share = json_is_true(x) || (json_is_string(x) && on_value(json_string_value(x)));
	json_decref(o);
}

static void object_opt(const char *v, size_t n, struct cmdline_state *st)
{
	char qom[64], tmp[64];
	const char *type;
	if (n && v[0] == '{') {
		object_json(v, n, st);
		return;
	}
	if (!vm_opt_get(v, n, "qom-type", "qom-type", qom, sizeof(qom)) ||
	    !(type = backend_type(qom)) || st->nbe >= MAX_BACKENDS)
		return;
	struct vm_backend *b = &st->be[st->nbe++];
	memset(b, 0, sizeof(*b));
	copy_str(b->type, sizeof(b->type), type, strlen(type));
	vm_opt_get(v, n, NULL, "id", b->id, sizeof(b->id));
	if (vm_opt_get(v, n, NULL, "size", tmp, sizeof(tmp)))
		vm_parse_size(tmp, strlen(tmp), 1, &b->size);
	vm_opt_get(v, n, NULL, "mem-path", b->mem_path, sizeof(b->mem_path));
	b->share = vm_opt_get(v, n, NULL, "share", tmp, sizeof(tmp)) && on_value(tmp);
}

static void chardev_opt(const char *v, size_t n, struct cmdline_state *st)
{
	char backend[32];
	if (st->ncd >= MAX_CHARDEVS ||
	    !vm_opt_get(v, n, "backend", "backend", backend, sizeof(backend)) ||
	    strcmp(backend, "socket") != 0)
		return;
	struct chardev *c = &st->cd[st->ncd];
	memset(c, 0, sizeof(*c));
	if (vm_opt_get(v, n, NULL, "id", c->id, sizeof(c->id)) &&
	    vm_opt_get(v, n, NULL, "path", c->path, sizeof(c->path)))
		st->ncd++;
}

static void qmp_opt(const char *v, size_t n, struct vm_target *t)
{
	if (n < 5 || memcmp(v, "unix:", 5) != 0)
		return; /* tcp:, stdio, a chardev: nothing we can connect to by path */
	copy_unescaped(t->qmp_path, sizeof(t->qmp_path), v + 5, elem_end(v + 5, v + n));
}

static void handle_opt(const char *o, const char *v, size_t n, struct vm_target *t,
                       struct cmdline_state *st)
{
	char tmp[128];
	if (!strcmp(o, "name")) {
		if (vm_opt_get(v, n, "guest", "guest", tmp, sizeof(tmp)) && tmp[0])
			copy_str(t->name, sizeof(t->name), tmp, strlen(tmp));
	} else if (!strcmp(o, "uuid")) {
		vm_set_uuid(t->uuid, sizeof(t->uuid), v, n);
	} else if (!strcmp(o, "m")) {
		uint64_t sz;
		if (vm_opt_get(v, n, "size", "size", tmp, sizeof(tmp)) &&
		    vm_parse_size(tmp, strlen(tmp), 1 << 20, &sz)) {
			t->mem_bytes = sz;
			st->have_m = true;
		}
	} else if (!strcmp(o, "machine") || !strcmp(o, "M")) {
		if (vm_opt_get(v, n, "type", "type", tmp, sizeof(tmp)) && tmp[0])
			copy_str(t->machine, sizeof(t->machine), tmp, strlen(tmp));
		vm_opt_get(v, n, NULL, "memory-backend", st->machine_mb, sizeof(st->machine_mb));
	} else if (!strcmp(o, "object")) {
		object_opt(v, n, st);
	} else if (!strcmp(o, "numa")) {
		if (vm_opt_get(v, n, NULL, "memdev", tmp, sizeof(tmp))) {
			copy_str(st->numa_mb, sizeof(st->numa_mb), tmp, strlen(tmp));
			st->nnuma++;
		}
	} else if (!strcmp(o, "qmp")) {
		qmp_opt(v, n, t);
	} else if (!strcmp(o, "chardev")) {
		chardev_opt(v, n, st);
	} else if (!strcmp(o, "mon")) {
		if (vm_opt_get(v, n, NULL, "mode", tmp, sizeof(tmp)) && !strcmp(tmp, "control"))
			vm_opt_get(v, n, "chardev", "chardev", st->mon_chardev,
			           sizeof(st->mon_chardev));
	} else if (!strcmp(o, "kernel")) {
		copy_str(t->kernel, sizeof(t->kernel), v, n);
	}
}

static void cmdline_finish(struct vm_target *t, struct vm_backend *b, struct cmdline_state *st)
{
	const char *want = st->machine_mb[0] ? st->machine_mb : st->nnuma == 1 ? st->numa_mb : NULL;
	const struct vm_backend *main_be = NULL;
	for (int i = 0; i < st->nbe; i++)
		if (want ? !strcmp(st->be[i].id, want) : st->nbe == 1)
			main_be = &st->be[i];
	if (main_be) {
		copy_str(t->backend, sizeof(t->backend), main_be->type, strlen(main_be->type));
		if (main_be->size)
			t->mem_bytes = main_be->size;
		if (b)
			*b = *main_be;
	}
	if (!t->mem_bytes)
		t->mem_bytes = 128ull << 20; /* QEMU's default for x86 */
	if (!t->qmp_path[0] && st->mon_chardev[0])
		for (int i = 0; i < st->ncd; i++)
			if (!strcmp(st->cd[i].id, st->mon_chardev))
				copy_str(t->qmp_path, sizeof(t->qmp_path), st->cd[i].path,
				         strlen(st->cd[i].path));
}

int vm_parse_cmdline(const char *buf, size_t len, struct vm_target *t, struct vm_backend *b)
{
	const char *p = buf, *end = buf + len, *a0e;
	struct cmdline_state st = {0};

	if (b)
		memset(b, 0, sizeof(*b));
	if (!buf || !len)
		return -EINVAL;
	a0e = memchr(p, 0, len);
	if (!a0e)
		a0e = end;
	if (!vm_is_qemu_name(p, (size_t)(a0e - p)))
		return -EINVAL;
	st.be = calloc(MAX_BACKENDS, sizeof(*st.be));
	st.cd = calloc(MAX_CHARDEVS, sizeof(*st.cd));
	if (!st.be || !st.cd) {
		free(st.be);
		free(st.cd);
		return -ENOMEM;
	}
	p = a0e < end ? a0e + 1 : end;
	while (p < end) {
		const char *e = memchr(p, 0, (size_t)(end - p));
		if (!e)
			e = end;
		char opt[32];
		if (*p != '-' || e - p < 2 || (size_t)(e - p) >= sizeof(opt) + 2) {
			p = e < end ? e + 1 : end; /* a stray argument */
			continue;
		}
		const char *o = p + 1 + (p[1] == '-');
		copy_str(opt, sizeof(opt), o, (size_t)(e - o));
		p = e < end ? e + 1 : end;
		if (is_flag_opt(opt) || p >= end)
			continue;
		const char *ve = memchr(p, 0, (size_t)(end - p));
		if (!ve)
			ve = end;
		handle_opt(opt, p, (size_t)(ve - p), t, &st);
		p = ve < end ? ve + 1 : end;
	}
	cmdline_finish(t, b, &st);
	free(st.be);
	free(st.cd);
	return 0;
}
