/*
 * vms.c - QEMU guests found from /proc: command line, memory map, libvirt
 * status files.  See vms.h for what is read and the rules applied.
 *
 * Layout: QEMU option strings (vm_opt_get, vm_parse_size), the command
 * line walk (vm_parse_cmdline), the memory map (vm_maps_find_ram), the
 * libvirt XML scan (vm_parse_libvirt_xml), then discovery, which reads
 * each file once with a size bound and hands the bytes to those parsers.
 */
#include "vms.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/util.h"

#define CMDLINE_MAX (256 << 10) /* libvirt command lines run to ~20 KB */
#define MAPS_MAX (16 << 20)
#define XML_MAX (8 << 20) /* a domstatus with qemuCaps is ~200 KB */
#define MAX_BACKENDS 16
#define MAX_CHARDEVS 32
#define MAX_VMS 4096

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

static void set_uuid(char *dst, size_t cap, const char *s, size_t n)
{
	char u[48];
	copy_str(u, sizeof(u), s, n);
	if (!is_uuid(u))
		return;
	for (char *p = u; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	copy_str(dst, cap, u, strlen(u));
}

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
	    strcmp(backend, "socket"))
		return;
	struct chardev *c = &st->cd[st->ncd];
	memset(c, 0, sizeof(*c));
	if (vm_opt_get(v, n, NULL, "id", c->id, sizeof(c->id)) &&
	    vm_opt_get(v, n, NULL, "path", c->path, sizeof(c->path)))
		st->ncd++;
}

static void qmp_opt(const char *v, size_t n, struct vm_target *t)
{
	if (n < 5 || memcmp(v, "unix:", 5))
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
		set_uuid(t->uuid, sizeof(t->uuid), v, n);
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

static bool is_qemu_name(const char *s, size_t n)
{
	const char *slash = memrchr(s, '/', n);
	if (slash) {
		n -= (size_t)(slash + 1 - s);
		s = slash + 1;
	}
	return (n > 12 && !memcmp(s, "qemu-system-", 12)) || (n >= 8 && !memcmp(s, "qemu-kvm", 8));
}

/* Decide the main backend, the size and the QMP socket from what was seen. */
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
	if (!is_qemu_name(p, (size_t)(a0e - p)))
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

/* ---- the memory map -------------------------------------------------------- */

struct maps_line {
	uint64_t start, end;
	char perms[5];
	const char *path; /* not NUL-terminated: path_len bytes, "" for anonymous */
	size_t path_len;
	bool deleted;
};

static bool parse_hex(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;
	while (*p < end && isxdigit((unsigned char)**p)) {
		if (v >> 60)
			return false;
		int c = tolower((unsigned char)**p);
		v = v * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
		(*p)++;
	}
	*out = v;
	return *p > s;
}

static bool skip_field(const char **p, const char *end)
{
	skip_blanks(p, end);
	const char *s = *p;
	while (*p < end && **p != ' ' && **p != '\t')
		(*p)++;
	return *p > s;
}

static bool parse_maps_line(const char *s, const char *end, struct maps_line *m)
{
	const char *p = s;
	if (!parse_hex(&p, end, &m->start) || p >= end || *p++ != '-' ||
	    !parse_hex(&p, end, &m->end) || m->end <= m->start)
		return false;
	skip_blanks(&p, end);
	if (end - p < 4)
		return false;
	memcpy(m->perms, p, 4);
	m->perms[4] = 0;
	p += 4;
	/* offset, device, inode */
	if (!skip_field(&p, end) || !skip_field(&p, end) || !skip_field(&p, end))
		return false;
	skip_blanks(&p, end);
	m->path = p;
	m->path_len = (size_t)(end - p);
	m->deleted = false;
	static const char del[] = " (deleted)";
	if (m->path_len >= sizeof(del) - 1 &&
	    !memcmp(p + m->path_len - (sizeof(del) - 1), del, sizeof(del) - 1)) {
		m->path_len -= sizeof(del) - 1;
		m->deleted = true;
	}
	return true;
}

static bool path_is(const struct maps_line *m, const char *s)
{
	size_t n = strlen(s);
	return m->path_len == n && !memcmp(m->path, s, n);
}

static bool path_starts(const struct maps_line *m, const char *s)
{
	size_t n = strlen(s);
	return m->path_len >= n && !memcmp(m->path, s, n);
}

/* A mapping of the backend's file: mem-path itself, or the unlinked file
 * QEMU creates inside a mem-path directory. */
static bool is_backend_file(const struct maps_line *m, const char *mem_path)
{
	char dir[PATH_MAX + 32];
	if (path_is(m, mem_path))
		return true;
	snprintf(dir, sizeof(dir), "%s/qemu_back_mem.", mem_path);
	return path_starts(m, dir);
}

int vm_maps_find_ram(const char *buf, size_t len, uint64_t mem_bytes, const struct vm_backend *b,
                     struct vm_ram_map *out)
{
	struct maps_line best = {0}, m;
	int kind = 0; /* 1 exact file/memfd, 2 other file/memfd, 3 exact anon, 4 nearest anon */
	const char *type = b ? b->type : "";
	uint64_t slack = mem_bytes / 8 + (4ull << 20);

	memset(out, 0, sizeof(*out));
	if (!buf || !mem_bytes)
		return -ENOENT;
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		bool ok = parse_maps_line(p, le, &m);
		p = nl ? nl + 1 : end;
		if (!ok || m.perms[0] != 'r' || m.perms[1] != 'w' || m.perms[2] == 'x')
			continue;
		uint64_t sz = m.end - m.start;
		int k = 0;
		if (!strcmp(type, "file") && b->mem_path[0]) {
			if (is_backend_file(&m, b->mem_path))
				k = sz == mem_bytes ? 1 : 2;
		} else if (!strcmp(type, "memfd")) {
			if (path_starts(&m, "/memfd:memory-backend-memfd"))
				k = sz == mem_bytes ? 1 : 2;
		} else if (!m.path_len) {
			if (sz == mem_bytes)
				k = 3;
			else if (sz > mem_bytes && sz - mem_bytes <= slack)
				k = 4;
		}
		if (!k)
			continue;
		/* a better kind wins; within "other"/"nearest" the closest size */
		if (!kind || k < kind ||
		    (k == kind && (k == 2 || k == 4) && sz < best.end - best.start)) {
			best = m;
			kind = k;
		}
	}
	if (!kind)
		return -ENOENT;
	out->addr = best.start;
	out->len = best.end - best.start;
	out->shared = best.perms[3] == 's';
	out->deleted = best.deleted;
	const char *how = kind <= 2   ? (!strcmp(type, "memfd") ? "memfd" : "mem-path")
	                  : kind == 3 ? "size"
	                              : "nearest";
	copy_str(out->how, sizeof(out->how), how, strlen(how));
	return 0;
}

/* ---- libvirt domain status XML ------------------------------------------- */

/* Copy XML text (or an attribute value) with the five predefined entities
 * and numeric references below 128 decoded; control characters as '?'. */
static void xml_copy(char *dst, size_t cap, const char *s, const char *e)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {
	    {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&apos;", '\''}, {"&quot;", '"'},
	};
	size_t o = 0;
	if (!cap)
		return;
	while (s < e && o + 1 < cap) {
		char c = *s++;
		if (c == '&') {
			bool done = false;
			for (size_t i = 0; i < ARRAY_SIZE(ents) && !done; i++) {
				size_t n = strlen(ents[i].ent) - 1;
				if ((size_t)(e - s) >= n && !memcmp(s, ents[i].ent + 1, n)) {
					c = ents[i].c, s += n, done = true;
				}
			}
			if (!done && s < e && *s == '#') {
				const char *q = s + 1;
				uint64_t v;
				if (q < e && parse_u64(&q, e, &v) && q < e && *q == ';' &&
				    v < 128 && v)
					c = (char)v, s = q + 1;
			}
		}
		dst[o++] = ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c;
	}
	dst[o] = 0;
}

/* The value of attribute `name` in the tag text [s, e). */
static bool xml_attr(const char *s, const char *e, const char *name, char *dst, size_t cap)
{
	size_t n = strlen(name);
	const char *p = s;
	/* skip the element name */
	while (p < e && !isspace((unsigned char)*p))
		p++;
	while (p < e) {
		while (p < e && isspace((unsigned char)*p))
			p++;
		const char *k = p;
		while (p < e && *p != '=' && !isspace((unsigned char)*p))
			p++;
		const char *ke = p;
		while (p < e && isspace((unsigned char)*p))
			p++;
		if (p >= e || *p != '=')
			return false;
		p++;
		while (p < e && isspace((unsigned char)*p))
			p++;
		if (p >= e || (*p != '\'' && *p != '"'))
			return false;
		char q = *p++;
		const char *v = p, *ve = memchr(p, q, (size_t)(e - p));
		if (!ve)
			return false;
		if ((size_t)(ke - k) == n && !memcmp(k, name, n)) {
			xml_copy(dst, cap, v, ve);
			return true;
		}
		p = ve + 1;
	}
	return false;
}

static bool tag_is(const char *s, const char *e, const char *name)
{
	size_t n = strlen(name);
	return (size_t)(e - s) >= n && !memcmp(s, name, n) &&
	       ((size_t)(e - s) == n || isspace((unsigned char)s[n]) || s[n] == '/');
}

static uint64_t libvirt_unit(const char *u)
{
	static const struct {
		const char *u;
		uint64_t m;
	} units[] = {
	    {"b", 1},           {"bytes", 1},        {"KB", 1000},     {"k", 1024},
	    {"KiB", 1024},      {"MB", 1000000},     {"M", 1 << 20},   {"MiB", 1 << 20},
	    {"GB", 1000000000}, {"G", 1 << 30},      {"GiB", 1 << 30}, {"TB", 1000000000000ull},
	    {"T", 1ull << 40},  {"TiB", 1ull << 40},
	};
	if (!u[0])
		return 1024; /* libvirt's default unit is KiB */
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcmp(u, units[i].u))
			return units[i].m;
	return 0;
}

struct xml_scan {
	const char *p, *end;
	int depth;
	int domain_depth; /* depth inside <domain>, 0 before it */
	int os_depth;
	struct vm_libvirt *out;
	bool seen_domain;
	char unit[16];
	int want_text; /* 1 name, 2 uuid, 3 memory */
};

/* Skip a comment, processing instruction, CDATA or DOCTYPE at p ("<!" or
 * "<?"); false when it never ends. */
static bool skip_special(struct xml_scan *x)
{
	size_t left = (size_t)(x->end - x->p);
	const char *term = x->p[1] == '?'                               ? "?>"
	                   : left >= 4 && !memcmp(x->p, "<!--", 4)      ? "-->"
	                   : left >= 9 && !memcmp(x->p, "<![CDATA[", 9) ? "]]>"
	                                                                : ">";
	const char *q = memmem(x->p + 2, left - 2, term, strlen(term));
	if (!q)
		return false;
	x->p = q + strlen(term);
	return true;
}

static void xml_text(struct xml_scan *x, const char *s, const char *e)
{
	char v[128];
	const char *ts = s;
	size_t n = (size_t)(e - s);
	trim(&ts, &n);
	if (x->want_text == 1)
		xml_copy(x->out->name, sizeof(x->out->name), ts, ts + n);
	else if (x->want_text == 2) {
		xml_copy(v, sizeof(v), ts, ts + n);
		set_uuid(x->out->uuid, sizeof(x->out->uuid), v, strlen(v));
	} else if (x->want_text == 3) {
		uint64_t m = libvirt_unit(x->unit), val;
		const char *q = ts;
		if (m && parse_u64(&q, ts + n, &val) && q == ts + n && val <= UINT64_MAX / m)
			x->out->mem_bytes = val * m;
	}
	x->want_text = 0;
}

static void xml_open_tag(struct xml_scan *x, const char *s, const char *e, bool self_close)
{
	struct vm_libvirt *o = x->out;
	char v[32];
	int d = x->depth + 1; /* depth of this element */

	if (tag_is(s, e, "domstatus") && d == 1) {
		uint64_t pid;
		const char *q = v;
		if (xml_attr(s, e, "pid", v, sizeof(v)) && parse_u64(&q, v + strlen(v), &pid) &&
		    !*q && pid > 0 && pid < (1u << 30))
			o->pid = (int)pid;
		xml_attr(s, e, "state", o->state, sizeof(o->state));
	} else if (tag_is(s, e, "monitor") && d == 2 && !x->domain_depth) {
		xml_attr(s, e, "path", o->monitor, sizeof(o->monitor));
	} else if (tag_is(s, e, "domain") && !x->seen_domain && d <= 2) {
		x->domain_depth = d;
		x->seen_domain = true;
	} else if (x->domain_depth && d == x->domain_depth + 1) {
		if (tag_is(s, e, "name") && !o->name[0])
			x->want_text = 1;
		else if (tag_is(s, e, "uuid") && !o->uuid[0])
			x->want_text = 2;
		else if (tag_is(s, e, "memory") && !o->mem_bytes) {
			x->want_text = 3;
			x->unit[0] = 0;
			xml_attr(s, e, "unit", x->unit, sizeof(x->unit));
		} else if (tag_is(s, e, "os"))
			x->os_depth = d;
	} else if (x->os_depth && d == x->os_depth + 1 && tag_is(s, e, "type") && !o->machine[0]) {
		xml_attr(s, e, "machine", o->machine, sizeof(o->machine));
	}
	if (self_close)
		x->want_text = 0;
	else
		x->depth = d;
}

static void xml_close_tag(struct xml_scan *x)
{
	if (x->os_depth == x->depth)
		x->os_depth = 0;
	if (x->domain_depth == x->depth)
		x->domain_depth = 0;
	if (x->depth > 0)
		x->depth--;
	x->want_text = 0;
}

int vm_parse_libvirt_xml(const char *buf, size_t len, struct vm_libvirt *out)
{
	memset(out, 0, sizeof(*out));
	if (!buf)
		return -EINVAL;
	struct xml_scan x = {.p = buf, .end = buf + len, .out = out};
	while (x.p < x.end) {
		const char *lt = memchr(x.p, '<', (size_t)(x.end - x.p));
		if (!lt)
			break;
		if (x.want_text)
			xml_text(&x, x.p, lt);
		x.p = lt;
		if (x.end - x.p >= 2 && (x.p[1] == '!' || x.p[1] == '?')) {
			if (!skip_special(&x))
				break;
			continue;
		}
		const char *gt = memchr(x.p, '>', (size_t)(x.end - x.p));
		if (!gt)
			break; /* truncated */
		const char *s = x.p + 1, *e = gt;
		x.p = gt + 1;
		if (s < e && *s == '/') {
			xml_close_tag(&x);
			continue;
		}
		bool self_close = e > s && e[-1] == '/';
		xml_open_tag(&x, s, self_close ? e - 1 : e, self_close);
	}
	return x.seen_domain ? 0 : -EINVAL;
}

/* ---- discovery ------------------------------------------------------------ */

static bool is_qemu_process(int proc_fd, const char *pid)
{
	char path[64], exe[PATH_MAX];
	snprintf(path, sizeof(path), "%s/exe", pid);
	ssize_t n = readlinkat(proc_fd, path, exe, sizeof(exe) - 1);
	if (n > 0) {
		static const char del[] = " (deleted)";
		if ((size_t)n > sizeof(del) - 1 &&
		    !memcmp(exe + n - (sizeof(del) - 1), del, sizeof(del) - 1))
			n -= sizeof(del) - 1;
		return is_qemu_name(exe, (size_t)n);
	}
	snprintf(path, sizeof(path), "%s/comm", pid);
	char comm[64];
	n = read_small_at(proc_fd, path, comm, sizeof(comm));
	if (n <= 0)
		return false;
	while (n > 0 && comm[n - 1] == '\n')
		n--;
	return is_qemu_name(comm, (size_t)n);
}

/* A relative socket path is relative to QEMU's working directory. */
static void absolute_qmp(int proc_fd, struct vm_target *t)
{
	char path[64], cwd[PATH_MAX], full[PATH_MAX + 110];
	if (!t->qmp_path[0] || t->qmp_path[0] == '/')
		return;
	snprintf(path, sizeof(path), "%d/cwd", t->pid);
	ssize_t n = readlinkat(proc_fd, path, cwd, sizeof(cwd) - 1);
	if (n <= 0)
		return;
	cwd[n] = 0;
	int w = snprintf(full, sizeof(full), "%s/%s", cwd, t->qmp_path);
	if (w > 0 && (size_t)w < sizeof(t->qmp_path))
		copy_str(t->qmp_path, sizeof(t->qmp_path), full, (size_t)w);
}

static void locate_ram(int proc_fd, struct vm_target *t, const struct vm_backend *b)
{
	char path[64];
	struct buf maps = BUF_INIT;
	struct vm_ram_map r;

	snprintf(path, sizeof(path), "%d/maps", t->pid);
	if (read_file_at(proc_fd, path, &maps, MAPS_MAX) > 0 &&
	    vm_maps_find_ram(maps.data, maps.len, t->mem_bytes, b, &r) == 0) {
		t->ram_addr = r.addr;
		t->ram_len = r.len;
		copy_str(t->ram_how, sizeof(t->ram_how), r.how, strlen(r.how));
		if (!strcmp(b->type, "file") && r.shared && !r.deleted &&
		    !strcmp(r.how, "mem-path"))
			copy_str(t->ram_path, sizeof(t->ram_path), b->mem_path,
			         strlen(b->mem_path));
	} else if (!strcmp(b->type, "file") && b->share && b->mem_path[0]) {
		/* maps unreadable: trust the command line for a shared file */
		struct stat st;
		if (stat(b->mem_path, &st) == 0 && S_ISREG(st.st_mode))
			copy_str(t->ram_path, sizeof(t->ram_path), b->mem_path,
			         strlen(b->mem_path));
	}
	buf_free(&maps);
}

static int describe(int proc_fd, int pid, struct vm_target *t)
{
	char path[64];
	struct buf cmd = BUF_INIT;
	struct vm_backend *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	snprintf(path, sizeof(path), "%d/cmdline", pid);
	r = (int)read_file_at(proc_fd, path, &cmd, CMDLINE_MAX);
	if (r > 0)
		r = vm_parse_cmdline(cmd.data, cmd.len, t, b);
	else if (r == 0)
		r = -ENOENT; /* a zombie */
	buf_free(&cmd);
	if (r == 0) {
		if (!t->name[0])
			snprintf(t->name, sizeof(t->name), "qemu-%d", pid);
		copy_str(t->source, sizeof(t->source), "qemu", 4);
		copy_str(t->state, sizeof(t->state), "running", 7);
		absolute_qmp(proc_fd, t);
		locate_ram(proc_fd, t, b);
	}
	free(b);
	return r;
}

/* Merge what libvirt's status files say into the guests found. */
static void merge_libvirt(int root_fd, struct vm_target *v, size_t n)
{
	int dfd = openat(root_fd, "run/libvirt/qemu", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct stat st;
		if (l < 5 || strcmp(de->d_name + l - 4, ".xml") ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		struct buf xml = BUF_INIT;
		struct vm_libvirt lv;
		int fd =
		    openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd >= 0 && read_fd_bounded(fd, &xml, XML_MAX, NULL) > 0 &&
		    vm_parse_libvirt_xml(xml.data, xml.len, &lv) == 0 && lv.pid > 0) {
			for (size_t i = 0; i < n; i++) {
				struct vm_target *t = &v[i];
				if (t->pid != lv.pid)
					continue;
				copy_str(t->source, sizeof(t->source), "libvirt", 7);
				if (lv.name[0])
					copy_str(t->name, sizeof(t->name), lv.name,
					         strlen(lv.name));
				if (!t->uuid[0])
					copy_str(t->uuid, sizeof(t->uuid), lv.uuid,
					         strlen(lv.uuid));
				if (!t->machine[0])
					copy_str(t->machine, sizeof(t->machine), lv.machine,
					         strlen(lv.machine));
				if (!t->qmp_path[0])
					copy_str(t->qmp_path, sizeof(t->qmp_path), lv.monitor,
					         strlen(lv.monitor));
				if (lv.state[0])
					copy_str(t->state, sizeof(t->state), lv.state,
					         strlen(lv.state));
			}
		}
		if (fd >= 0)
			close(fd);
		buf_free(&xml);
	}
	closedir(d);
}

static int cmp_vm(const void *a, const void *b)
{
	const struct vm_target *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->pid > y->pid) - (x->pid < y->pid);
}

int vms_discover_at(int proc_fd, int root_fd, struct vm_target **out, size_t *n)
{
	int dfd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	struct vm_target *v = NULL;
	size_t cnt = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		int e = -errno;
		close(dfd);
		return e;
	}
	while ((de = readdir(d)) && cnt < MAX_VMS) {
		const char *p = de->d_name, *e = p + strlen(p);
		uint64_t pid;
		if (!parse_u64(&p, e, &pid) || p != e || pid == 0 || pid > INT32_MAX ||
		    !is_qemu_process(proc_fd, de->d_name))
			continue;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 4;
			struct vm_target *nv = realloc(v, nc * sizeof(*v));
			if (!nv)
				break;
			v = nv, cap = nc;
		}
		if (describe(proc_fd, (int)pid, &v[cnt]) == 0)
			cnt++;
	}
	closedir(d);
	merge_libvirt(root_fd, v, cnt);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_vm);
	else {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int vms_discover(int proc_fd, struct vm_target **out, size_t *n)
{
	int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = vms_discover_at(proc_fd, root, out, n);
	if (root >= 0)
		close(root);
	return r;
}

const struct vm_target *vm_target_find(const struct vm_target *v, size_t n, const char *key)
{
	if (!key || !key[0])
		return NULL;
	if (!strncmp(key, "vm:", 3)) {
		struct system_id id;
		for (size_t i = 0; i < n; i++) {
			vm_identity(&v[i], &id);
			if (!strcmp(id.id, key))
				return &v[i];
		}
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].uuid[0] && !strcasecmp(v[i].uuid, key))
			return &v[i];
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, key))
			return &v[i];
	const char *p = key, *e = key + strlen(key);
	uint64_t pid;
	if (parse_u64(&p, e, &pid) && p == e)
		for (size_t i = 0; i < n; i++)
			if ((uint64_t)v[i].pid == pid)
				return &v[i];
	return NULL;
}

void vm_identity(const struct vm_target *t, struct system_id *out)
{
	memset(out, 0, sizeof(*out));
	if (gethostname(out->host, sizeof(out->host)) != 0 || !out->host[0])
		copy_str(out->host, sizeof(out->host), "localhost", 9);
	out->host[sizeof(out->host) - 1] = 0;
	snprintf(out->id, sizeof(out->id), "vm:%s", t->uuid[0] ? t->uuid : t->name);
	copy_str(out->name, sizeof(out->name), t->name, strlen(t->name));
	copy_str(out->kind, sizeof(out->kind), "vm", 2);
	copy_str(out->runtime, sizeof(out->runtime), t->source, strlen(t->source));
}
