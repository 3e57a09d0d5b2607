/*
 * stats_parse.c - pure parsers for /proc/stat, /proc/meminfo,
 * /proc/loadavg, /proc/self/mountinfo, /proc/diskstats and cgroup
 * counter files.
 *
 * How: every parser walks its (pointer, length) input with a cursor and
 * the bounded helpers of util.h (parse_u64, skip_blanks); nothing is
 * copied except where a caller wants strings (mountinfo decodes into the
 * caller's scratch buffer, diskstats copies the device name into a fixed
 * array).  No strtod/strtoul: they need NUL-terminated input and strtod
 * follows the locale.  See stats_parse.h for each format and the contract.
 */
#include "stats_parse.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "../util/util.h"

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

bool stats_next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *s = *p;
	if (!s || s >= end)
		return false;
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	const char *e = nl ? nl : end;
	*line = s;
	*len = (size_t)(e - s);
	*p = nl ? nl + 1 : end;
	return true;
}

/* The next blank-separated token at *p (< end), or false at the end. */
static bool next_token(const char **p, const char *end, const char **tok, size_t *n)
{
	skip_blanks(p, end);
	const char *s = *p;
	if (s >= end)
		return false;
	while (*p < end && **p != ' ' && **p != '\t')
		(*p)++;
	*tok = s;
	*n = (size_t)(*p - s);
	return true;
}

/* A whole token that is an unsigned decimal. */
static bool token_u64(const char *tok, size_t n, uint64_t *out)
{
	const char *p = tok;
	return parse_u64(&p, tok + n, out) && p == tok + n;
}

static bool tok_is(const char *tok, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(tok, word, n) == 0;
}

bool stats_parse_decimal(const char **p, const char *end, double *out)
{
	const char *s = *p;
	double v = 0;
	if (s >= end || *s < '0' || *s > '9')
		return false;
	while (s < end && *s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	if (s < end && *s == '.') {
		double scale = 0.1;
		s++;
		while (s < end && *s >= '0' && *s <= '9') {
			v += (*s++ - '0') * scale;
			scale /= 10;
		}
	}
	if (!isfinite(v))
		return false;
	*p = s;
	*out = v;
	return true;
}

/* ---- /proc/stat ---------------------------------------------------------- */

int stat_parse_cpu_line(const char *line, size_t len, struct cpu_ticks *out)
{
	const char *p = line, *end = line + len;
	if (len < 3 || memcmp(line, "cpu", 3) != 0)
		return 0;
	p += 3;
	memset(out, 0, sizeof(*out));
	if (p < end && *p >= '0' && *p <= '9') {
		uint64_t n;
		if (!parse_u64(&p, end, &n) || n > INT_MAX)
			return -EINVAL;
		out->cpu = (int)n;
	} else if (p < end && (*p == ' ' || *p == '\t')) {
		out->cpu = -1;
	} else if (p == end) {
		return -EINVAL;
	} else {
		return 0; /* "cpufoo": not a cpu line */
	}
	if (p < end && *p != ' ' && *p != '\t')
		return -EINVAL; /* "cpu1x" */

	uint64_t *cols[] = {&out->user, &out->nice,    &out->system, &out->idle,  &out->iowait,
	                    &out->irq,  &out->softirq, &out->steal,  &out->guest, &out->guest_nice};
	const char *tok;
	size_t n;
	int i = 0;
	while (next_token(&p, end, &tok, &n)) {
		uint64_t v;
		if (!token_u64(tok, n, &v))
			return -EINVAL;
		if (i < (int)ARRAY_SIZE(cols))
			*cols[i] = v;
		i++; /* newer kernels may add columns: ignored */
	}
	if (i < 4)
		return -EINVAL;
	out->ncols = i < (int)ARRAY_SIZE(cols) ? i : (int)ARRAY_SIZE(cols);
	return 1;
}

/* ---- /proc/meminfo -------------------------------------------------------- */

enum {
	MI_TOTAL = 1,
	MI_FREE = 2,
	MI_AVAIL = 4,
	MI_BUFFERS = 8,
	MI_CACHED = 16,
	MI_SWAPTOTAL = 32,
	MI_SWAPFREE = 64
};

int meminfo_parse(const char *buf, size_t len, struct vt_mem *out)
{
	static const struct {
		const char *key;
		unsigned bit;
		size_t off;
	} keys[] = {
	    {"MemTotal", MI_TOTAL, offsetof(struct vt_mem, total_kb)},
	    {"MemFree", MI_FREE, offsetof(struct vt_mem, free_kb)},
	    {"MemAvailable", MI_AVAIL, offsetof(struct vt_mem, available_kb)},
	    {"Buffers", MI_BUFFERS, offsetof(struct vt_mem, buffers_kb)},
	    {"Cached", MI_CACHED, offsetof(struct vt_mem, cached_kb)},
	    {"SwapTotal", MI_SWAPTOTAL, offsetof(struct vt_mem, swap_total_kb)},
	    {"SwapFree", MI_SWAPFREE, offsetof(struct vt_mem, swap_free_kb)},
	};
	const char *p = buf, *end = buf + len, *line;
	size_t n;
	unsigned seen = 0;

	memset(out, 0, sizeof(*out));
	while (stats_next_line(&p, end, &line, &n)) {
		const char *colon = memchr(line, ':', n);
		if (!colon)
			continue;
		size_t klen = (size_t)(colon - line);
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
			if (!tok_is(line, klen, keys[i].key))
				continue;
			const char *q = colon + 1, *le = line + n;
			uint64_t v;
			skip_blanks(&q, le);
			if (!parse_u64(&q, le, &v))
				break;
			/* Values are in kB; one without a unit is taken as is. */
			memcpy((char *)out + keys[i].off, &v, sizeof(v));
			seen |= keys[i].bit;
			break;
		}
	}
	if ((seen & (MI_TOTAL | MI_FREE)) != (MI_TOTAL | MI_FREE))
		return -EINVAL;
	if (seen & MI_AVAIL)
		out->have |= VM_AVAILABLE;
	if ((seen & (MI_BUFFERS | MI_CACHED)) == (MI_BUFFERS | MI_CACHED))
		out->have |= VM_CACHE;
	if ((seen & (MI_SWAPTOTAL | MI_SWAPFREE)) == (MI_SWAPTOTAL | MI_SWAPFREE))
		out->have |= VM_SWAP;
	return 0;
}

/* ---- /proc/loadavg -------------------------------------------------------- */

int loadavg_parse(const char *buf, size_t len, struct vt_load *out)
{
	const char *p = buf, *end = buf + len;
	double *loads[] = {&out->load1, &out->load5, &out->load15};

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < ARRAY_SIZE(loads); i++) {
		skip_blanks(&p, end);
		if (!stats_parse_decimal(&p, end, loads[i]))
			return -EINVAL;
		if (p < end && *p != ' ' && *p != '\t')
			return -EINVAL;
	}
	skip_blanks(&p, end);
	if (!parse_u64(&p, end, &out->running) || p >= end || *p != '/')
		return -EINVAL;
	p++;
	if (!parse_u64(&p, end, &out->total))
		return -EINVAL;
	return 0;
}

/* ---- mountinfo -------------------------------------------------------------- */

static int octal(char c)
{
	return c >= '0' && c <= '7' ? c - '0' : -1;
}

size_t mountinfo_unescape(const char *s, size_t n, char *dst, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		if (s[i] == '\\' && i + 3 < n) {
			int a = octal(s[i + 1]), b = octal(s[i + 2]), c = octal(s[i + 3]);
			int v = a * 64 + b * 8 + c;
			if (a >= 0 && b >= 0 && c >= 0 && v > 0 && v < 256) {
				dst[o++] = (char)v;
				i += 3;
				continue;
			}
		}
		dst[o++] = s[i];
	}
	dst[o] = 0;
	return o;
}

bool mount_has_option(const char *opts, const char *name)
{
	size_t n = strlen(name);
	const char *p = opts;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);
		if (l == n && memcmp(p, name, n) == 0)
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

/* Next field of a mountinfo line: fields are separated by single spaces
 * (spaces inside a field are escaped as \040). */
static bool mi_field(const char **p, const char *end, const char **f, size_t *n)
{
	const char *s = *p;
	if (s >= end)
		return false;
	const char *sp = memchr(s, ' ', (size_t)(end - s));
	const char *e = sp ? sp : end;
	*f = s;
	*n = (size_t)(e - s);
	*p = sp ? sp + 1 : end;
	return *n > 0;
}

static bool mi_int(const char *f, size_t n, int *out)
{
	uint64_t v;
	if (!token_u64(f, n, &v) || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

static bool mi_devnum(const char *f, size_t n, unsigned *maj, unsigned *min)
{
	const char *p = f, *end = f + n;
	uint64_t a, b;
	if (!parse_u64(&p, end, &a) || p >= end || *p != ':')
		return false;
	p++;
	if (!parse_u64(&p, end, &b) || p != end || a > UINT_MAX || b > UINT_MAX)
		return false;
	*maj = (unsigned)a;
	*min = (unsigned)b;
	return true;
}

/* Decode a field into the scratch at *o; returns the string. */
static const char *mi_put(char *scratch, size_t cap, size_t *o, const char *f, size_t n)
{
	char *dst = scratch + *o;
	size_t l = mountinfo_unescape(f, n, dst, cap - *o);
	*o += l + 1;
	return dst;
}

int mountinfo_parse_line(const char *line, size_t len, char *scratch, size_t cap,
                         struct mountinfo *out)
{
	const char *p = line, *end = line + len, *f[6];
	size_t n[6];

	if (cap < MOUNTINFO_SCRATCH(len))
		return -ENOSPC;
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 6; i++)
		if (!mi_field(&p, end, &f[i], &n[i]))
			return -EINVAL;
	if (!mi_int(f[0], n[0], &out->mount_id) || !mi_int(f[1], n[1], &out->parent_id) ||
	    !mi_devnum(f[2], n[2], &out->major, &out->minor))
		return -EINVAL;

	/* Optional fields ("shared:1", "master:2"...) up to a lone "-". */
	const char *t;
	size_t tn;
	for (;;) {
		if (!mi_field(&p, end, &t, &tn))
			return -EINVAL;
		if (tn == 1 && t[0] == '-')
			break;
	}
	const char *fs, *src, *sup = "";
	size_t fsn, srcn, supn = 0;
	if (!mi_field(&p, end, &fs, &fsn) || !mi_field(&p, end, &src, &srcn))
		return -EINVAL;
	if (!mi_field(&p, end, &sup, &supn))
		supn = 0;

	size_t o = 0;
	out->root = mi_put(scratch, cap, &o, f[3], n[3]);
	out->mountpoint = mi_put(scratch, cap, &o, f[4], n[4]);
	out->options = mi_put(scratch, cap, &o, f[5], n[5]);
	out->fstype = mi_put(scratch, cap, &o, fs, fsn);
	out->source = mi_put(scratch, cap, &o, src, srcn);
	out->super_options = mi_put(scratch, cap, &o, sup, supn);
	return 0;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

enum fs_class fs_classify(const char *fstype)
{
	static const char *const pseudo[] = {
	    "proc",         "sysfs",      "cgroup",     "cgroup2",     "devpts",     "mqueue",
	    "debugfs",      "tracefs",    "securityfs", "pstore",      "bpf",        "configfs",
	    "fusectl",      "hugetlbfs",  "autofs",     "binfmt_misc", "nsfs",       "devtmpfs",
	    "rpc_pipefs",   "selinuxfs",  "efivarfs",   "nfsd",        "sockfs",     "pipefs",
	    "anon_inodefs", "ramfs",      "rootfs",     "usbfs",       "openpromfs", "xenfs",
	    "smackfs",      "apparmorfs",
	};
	static const char *const network[] = {
	    "nfs",  "nfs4",      "cifs",   "smb3",     "smbfs", "ncpfs", "afs",
	    "ceph", "glusterfs", "lustre", "9p",       "gfs2",  "ocfs2", "davfs",
	    "coda", "gpfs",      "beegfs", "orangefs", "fuse",
	};
	if (!fstype || !*fstype)
		return FS_PSEUDO;
	if (in_list(fstype, pseudo, ARRAY_SIZE(pseudo)))
		return FS_PSEUDO;
	if (in_list(fstype, network, ARRAY_SIZE(network)) || strncmp(fstype, "fuse.", 5) == 0)
		return FS_NETWORK;
	return FS_LOCAL;
}

/* ---- /proc/diskstats ------------------------------------------------------ */

int diskstats_parse_line(const char *line, size_t len, struct diskstats *out)
{
	const char *p = line, *end = line + len, *tok;
	size_t n;
	uint64_t maj, min, v[17];
	int count = 0;

	memset(out, 0, sizeof(*out));
	if (!next_token(&p, end, &tok, &n) || !token_u64(tok, n, &maj) || maj > UINT_MAX)
		return -EINVAL;
	if (!next_token(&p, end, &tok, &n) || !token_u64(tok, n, &min) || min > UINT_MAX)
		return -EINVAL;
	if (!next_token(&p, end, &tok, &n) || n >= sizeof(out->name))
		return -EINVAL;
	memcpy(out->name, tok, n);
	out->name[n] = 0;
	out->major = (unsigned)maj;
	out->minor = (unsigned)min;

	while (next_token(&p, end, &tok, &n)) {
		uint64_t x;
		if (!token_u64(tok, n, &x))
			return -EINVAL;
		if (count < (int)ARRAY_SIZE(v))
			v[count] = x;
		if (count < 1000)
			count++;
	}
	out->nfields = 3 + count;
	if (count == 4) { /* old partition lines */
		out->reads = v[0];
		out->read_sectors = v[1];
		out->writes = v[2];
		out->write_sectors = v[3];
		return 0;
	}
	if (count < 11)
		return -EINVAL;
	uint64_t *dst[] = {&out->reads,           &out->reads_merged,    &out->read_sectors,
	                   &out->read_ms,         &out->writes,          &out->writes_merged,
	                   &out->write_sectors,   &out->write_ms,        &out->in_flight,
	                   &out->io_ms,           &out->weighted_ms,     &out->discards,
	                   &out->discards_merged, &out->discard_sectors, &out->discard_ms,
	                   &out->flushes,         &out->flush_ms};
	for (int i = 0; i < count && i < (int)ARRAY_SIZE(dst); i++)
		*dst[i] = v[i];
	return 0;
}

/* ---- cgroup files ----------------------------------------------------------- */

int cg_parse_u64(const char *buf, size_t len, uint64_t *out)
{
	const char *s = buf;
	size_t n = len;
	trim(&s, &n);
	if (n == 0 || !token_u64(s, n, out))
		return -EINVAL;
	return 0;
}

int cg_parse_limit(const char *buf, size_t len, uint64_t *out)
{
	const char *s = buf;
	size_t n = len;
	trim(&s, &n);
	if (tok_is(s, n, "max") || tok_is(s, n, "-1")) {
		*out = UINT64_MAX;
		return 0;
	}
	if (n == 0 || !token_u64(s, n, out))
		return -EINVAL;
	if (*out >= CG_V1_UNLIMITED_MIN)
		*out = UINT64_MAX;
	return 0;
}

int cg_parse_keyed(const char *buf, size_t len, const char *key, uint64_t *out)
{
	const char *p = buf, *end = buf + len, *line;
	size_t n;
	while (stats_next_line(&p, end, &line, &n)) {
		const char *q = line, *le = line + n, *tok;
		size_t tn;
		if (!next_token(&q, le, &tok, &tn) || !tok_is(tok, tn, key))
			continue;
		if (!next_token(&q, le, &tok, &tn) || !token_u64(tok, tn, out))
			return -EINVAL;
		return 0;
	}
	return -ENOENT;
}

/* "MAJ:MIN" */
static bool devnum_token(const char *tok, size_t n)
{
	unsigned a, b;
	return mi_devnum(tok, n, &a, &b);
}

int cg_parse_io_stat(const char *buf, size_t len, struct cg_io *out)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
	    {"rbytes", offsetof(struct cg_io, read_bytes)},
	    {"wbytes", offsetof(struct cg_io, write_bytes)},
	    {"rios", offsetof(struct cg_io, read_ops)},
	    {"wios", offsetof(struct cg_io, write_ops)},
	};
	const char *p = buf, *end = buf + len, *line;
	size_t n;
	int devices = 0;

	memset(out, 0, sizeof(*out));
	while (stats_next_line(&p, end, &line, &n)) {
		const char *q = line, *le = line + n, *tok;
		size_t tn;
		if (!next_token(&q, le, &tok, &tn))
			continue; /* blank line */
		if (!devnum_token(tok, tn))
			return -EINVAL;
		while (next_token(&q, le, &tok, &tn)) {
			const char *eq = memchr(tok, '=', tn);
			if (!eq)
				return -EINVAL;
			size_t kn = (size_t)(eq - tok);
			for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
				if (!tok_is(tok, kn, keys[i].key))
					continue;
				uint64_t v, *sum = (uint64_t *)((char *)out + keys[i].off);
				if (!token_u64(eq + 1, tn - kn - 1, &v))
					return -EINVAL;
				*sum = sat_add(*sum, v);
			}
		}
		devices++;
	}
	return devices;
}

int cg_parse_blkio(const char *buf, size_t len, uint64_t *read, uint64_t *write)
{
	const char *p = buf, *end = buf + len, *line;
	size_t n;
	int devices = 0;

	*read = *write = 0;
	while (stats_next_line(&p, end, &line, &n)) {
		const char *q = line, *le = line + n, *tok, *op;
		size_t tn, opn;
		uint64_t v;
		if (!next_token(&q, le, &tok, &tn))
			continue;
		if (tok_is(tok, tn, "Total")) { /* the grand total line */
			if (!next_token(&q, le, &tok, &tn) || !token_u64(tok, tn, &v))
				return -EINVAL;
			continue;
		}
		if (!devnum_token(tok, tn) || !next_token(&q, le, &op, &opn) ||
		    !next_token(&q, le, &tok, &tn) || !token_u64(tok, tn, &v))
			return -EINVAL;
		if (tok_is(op, opn, "Read"))
			*read = sat_add(*read, v);
		else if (tok_is(op, opn, "Write"))
			*write = sat_add(*write, v);
		else if (tok_is(op, opn, "Total"))
			devices++;
	}
	return devices;
}
