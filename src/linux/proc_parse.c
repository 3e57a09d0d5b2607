/*
 * proc_parse.c - pure parsers for procfs process files (see proc_parse.h).
 *
 * Every parser walks [buf, buf + len) with an explicit end pointer and
 * never assumes a NUL terminator.  Numbers go through parse_u64() from
 * util, which refuses overflow, and are then range-checked for their C
 * type.  A field that is present but not a clean number (digits followed
 * by whitespace or the end) makes the parse fail rather than yield a
 * half-read value.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "../util/util.h"
#include "proc_parse.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A number ends at a blank, a newline or the end of the input. */
static bool at_sep(const char *p, const char *end)
{
	return p >= end || is_blank(*p) || *p == '\n';
}

/* Parse one unsigned decimal token at *p, blanks before it skipped. */
static bool take_u64(const char **p, const char *end, uint64_t *out)
{
	const char *q = *p;

	skip_blanks(&q, end);
	if (q >= end || *q < '0' || *q > '9')
		return false;
	if (!parse_u64(&q, end, out) || !at_sep(q, end))
		return false;
	*p = q;
	return true;
}

static bool take_int(const char **p, const char *end, int *out)
{
	uint64_t v;

	if (!take_u64(p, end, &v) || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

/* Skip one blank-separated token of any content (signed numbers...). */
static bool skip_token(const char **p, const char *end)
{
	const char *q = *p;

	skip_blanks(&q, end);
	if (q >= end || *q == '\n')
		return false;
	while (q < end && !is_blank(*q) && *q != '\n')
		q++;
	*p = q;
	return true;
}

int proc_parse_stat(const char *buf, size_t len, struct proc_stat *out)
{
	const char *end, *p = buf, *open, *close;
	uint64_t v;
	int field;

	memset(out, 0, sizeof(*out));
	if (!buf || len == 0)
		return -EINVAL;
	end = buf + len;
	open = memchr(buf, '(', len);
	close = memrchr(buf, ')', len);
	if (!open || !close || close < open)
		return -EINVAL;
	if (!take_int(&p, open, &out->pid))
		return -EINVAL;
	copy_str(out->comm, sizeof(out->comm), open + 1, (size_t)(close - open - 1));

	p = close + 1;
	if (p + 2 >= end || p[0] != ' ' || is_blank(p[1]) || p[1] == '\n' || !at_sep(p + 2, end))
		return -EINVAL;
	out->state = p[1];
	p += 2;

	/* Fields 4..24. */
	for (field = 4; field <= 24; field++) {
		switch (field) {
		case 4:
			if (!take_int(&p, end, &out->ppid))
				return -EINVAL;
			continue;
		case 9:
			if (!take_u64(&p, end, &out->flags))
				return -EINVAL;
			continue;
		case 14:
		case 15:
		case 20:
		case 22:
		case 23:
		case 24:
			if (!take_u64(&p, end, &v))
				return -EINVAL;
			break;
		default:
			if (!skip_token(&p, end))
				return -EINVAL;
			continue;
		}
		switch (field) {
		case 14:
			out->utime = v;
			break;
		case 15:
			out->stime = v;
			break;
		case 20:
			out->threads = v;
			break;
		case 22:
			out->starttime = v;
			break;
		case 23:
			out->vsize = v;
			break;
		case 24:
			out->rss = v;
			break;
		}
	}
	/* More follows field 24 in a whole line: a line cut inside it
	 * must not yield a cut number. */
	return p < end ? 0 : -EINVAL;
}

/* If line [s, e) starts with `key` (which ends in ':'), return the value
 * part after it, else NULL. */
static const char *after_key(const char *s, const char *e, const char *key)
{
	size_t n = strlen(key);

	if ((size_t)(e - s) < n || memcmp(s, key, n) != 0)
		return NULL;
	return s + n;
}

/* "   1624 kB" -> 1624: a number, optionally followed by " kB". */
static bool take_kb(const char *p, const char *e, uint64_t *out)
{
	if (!take_u64(&p, e, out))
		return false;
	skip_blanks(&p, e);
	return p == e || (e - p == 2 && p[0] == 'k' && p[1] == 'B');
}

/* The last number of a blank-separated list ("NSpid:\t42\t1"), and how
 * many there are. */
static bool take_last_int(const char *p, const char *e, int *out, unsigned *count)
{
	*count = 0;
	for (;;) {
		skip_blanks(&p, e);
		if (p >= e)
			return *count > 0;
		if (!take_int(&p, e, out))
			return false;
		++*count;
	}
}

static void status_line(const char *s, const char *e, struct proc_status *out)
{
	const char *v;
	uint64_t n;

	if ((v = after_key(s, e, "Uid:"))) {
		if (take_u64(&v, e, &n) && n <= UINT32_MAX) {
			out->uid = (uint32_t)n;
			out->have |= PS_UID;
		}
	} else if ((v = after_key(s, e, "NSpid:"))) {
		if (take_last_int(v, e, &out->nspid, &out->nspid_levels))
			out->have |= PS_NSPID;
	} else if ((v = after_key(s, e, "PPid:"))) {
		if (take_int(&v, e, &out->ppid))
			out->have |= PS_PPID;
	} else if ((v = after_key(s, e, "Threads:"))) {
		if (take_u64(&v, e, &out->threads))
			out->have |= PS_THREADS;
	} else if ((v = after_key(s, e, "VmRSS:"))) {
		if (take_kb(v, e, &out->rss_kb))
			out->have |= PS_RSS;
	} else if ((v = after_key(s, e, "VmSize:"))) {
		if (take_kb(v, e, &out->vsz_kb))
			out->have |= PS_VSZ;
	}
}

int proc_parse_status(const char *buf, size_t len, struct proc_status *out)
{
	const char *p = buf, *end, *nl;

	memset(out, 0, sizeof(*out));
	if (!buf)
		return -EINVAL;
	end = buf + len;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		status_line(p, nl, out);
		p = nl + 1;
	}
	return out->have ? 0 : -EINVAL;
}

/* Does the comma-separated list [s, e) contain `name`? */
static bool list_has(const char *s, const char *e, const char *name)
{
	size_t n = strlen(name);

	while (s < e) {
		const char *c = memchr(s, ',', (size_t)(e - s));
		const char *te = c ? c : e;

		if ((size_t)(te - s) == n && memcmp(s, name, n) == 0)
			return true;
		s = te + 1;
	}
	return false;
}

/*
 * One line [p, e) of /proc/PID/cgroup, "id:controllers:path".  Returns
 * the path (its length in *plen), or NULL when the line lacks that shape;
 * *v2 tells whether it is the unified hierarchy's "0::" line, *memory
 * whether its controllers include memory.
 */
static const char *cgroup_line(const char *p, const char *e, bool *v2, bool *memory, size_t *plen)
{
	const char *c1 = memchr(p, ':', (size_t)(e - p));
	const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(e - c1 - 1)) : NULL;

	if (!c2 || c1 <= p)
		return NULL;
	*v2 = c1 - p == 1 && *p == '0' && c2 == c1 + 1;
	*memory = list_has(c1 + 1, c2, "memory");
	*plen = (size_t)(e - c2 - 1);
	return c2 + 1;
}

int proc_cgroup_pick(const char *buf, size_t len, const char **path, size_t *path_len)
{
	const char *p = buf, *end;
	const char *first = NULL, *mem = NULL, *uni = NULL;
	size_t first_len = 0, mem_len = 0, uni_len = 0;

	if (!buf)
		return -EINVAL;
	end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		bool v2, memory;
		size_t pl;
		const char *ps = cgroup_line(p, e, &v2, &memory, &pl);

		if (ps) {
			if (!first) {
				first = ps;
				first_len = pl;
			}
			if (v2 && !uni) {
				uni = ps;
				uni_len = pl;
			} else if (!mem && memory) {
				mem = ps;
				mem_len = pl;
			}
		}
		p = e + 1;
	}
	if (uni && !(uni_len == 1 && uni[0] == '/')) {
		*path = uni;
		*path_len = uni_len;
	} else if (mem) {
		*path = mem;
		*path_len = mem_len;
	} else if (first) {
		*path = first;
		*path_len = first_len;
	} else {
		return -EINVAL;
	}
	return 0;
}

int proc_cgroup_shape(const char *buf, size_t len, struct proc_cgroup_shape *out)
{
	const char *p = buf, *end;

	memset(out, 0, sizeof(*out));
	if (!buf)
		return -EINVAL;
	end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		bool v2, memory;
		size_t pl;

		if (cgroup_line(p, e, &v2, &memory, &pl)) {
			/* As in proc_cgroup_pick(): the first "0::" line is
			 * the unified one, any other may be memory's. */
			bool is_v2 = v2 && !out->v2;
			bool is_mem = !is_v2 && memory;

			if (out->first == PCG_FIRST_NONE)
				out->first = is_v2    ? PCG_FIRST_V2
				             : is_mem ? PCG_FIRST_MEMORY
				                      : PCG_FIRST_OTHER;
			out->v2 |= is_v2;
			out->memory |= is_mem;
			out->lines++;
		}
		p = e + 1;
	}
	return out->first == PCG_FIRST_NONE ? -EINVAL : 0;
}

const char *proc_cgroup_choose(const struct proc_cgroup_shape *sh, const char *v2,
                               const char *memory)
{
	if (sh->v2) {
		if (!v2)
			return NULL;
		if (strcmp(v2, "/") != 0)
			return v2;
	}
	if (sh->memory)
		return memory;
	if (sh->v2 && sh->first == PCG_FIRST_V2)
		return v2;
	return NULL;
}

bool proc_pidlist_next(const char **pp, const char *end, int *pid)
{
	const char *p = *pp;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *q = p;
		uint64_t v;

		p = e + (e < end);
		if (q < e && *q >= '0' && *q <= '9' && parse_u64(&q, e, &v) && q == e && v > 0 &&
		    v <= INT_MAX) {
			*pid = (int)v;
			*pp = p;
			return true;
		}
	}
	*pp = end;
	return false;
}

size_t proc_cmdline_join(char *buf, size_t len)
{
	size_t i;

	while (len > 0 && buf[len - 1] == '\0')
		len--;
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	return len;
}

int proc_parse_btime(const char *buf, size_t len, int64_t *out)
{
	const char *p = buf, *end;
	uint64_t v;

	if (!buf)
		return -EINVAL;
	end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *q = after_key(p, e, "btime ");

		if (q && take_u64(&q, e, &v) && q == e && v <= INT64_MAX) {
			*out = (int64_t)v;
			return 0;
		}
		p = e + 1;
	}
	return -EINVAL;
}

bool passwd_next(const char **pp, const char *end, const char **name, size_t *name_len,
                 uint32_t *uid)
{
	const char *p = *pp;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *c1 = memchr(p, ':', (size_t)(e - p));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(e - c1 - 1)) : NULL;
		const char *q = c2 ? c2 + 1 : NULL;
		uint64_t v;

		p = e + (e < end);
		/* Names starting with + or - are NIS compat entries. */
		if (!q || c1 == *pp || **pp == '+' || **pp == '-' || **pp == '#') {
			*pp = p;
			continue;
		}
		if (q < e && *q >= '0' && *q <= '9' && parse_u64(&q, e, &v) && q < e && *q == ':' &&
		    v <= UINT32_MAX) {
			*name = *pp;
			*name_len = (size_t)(c1 - *pp);
			*uid = (uint32_t)v;
			*pp = p;
			return true;
		}
		*pp = p;
	}
	*pp = end;
	return false;
}

bool proc_release_ge(const char *release, unsigned major, unsigned minor)
{
	const char *p = release, *end;
	uint64_t maj, min = 0;

	if (!release)
		return false;
	end = release + strlen(release);
	if (!parse_u64(&p, end, &maj))
		return false;
	if (p < end && *p == '.') {
		p++;
		if (!parse_u64(&p, end, &min))
			min = 0;
	}
	return maj > major || (maj == major && min >= minor);
}
