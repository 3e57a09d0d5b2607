/*
 * gone_reason.c - why a system went away (see gone_reason.h): parsers of
 * /proc/PID/stat's exit fields, cgroup OOM counters and exit files, and
 * the reason's JSON.  Pure: bytes in, values out; every length is checked.
 */
#include "gone_reason.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "../util/json.h"

/* An unsigned decimal at *p (before end); advances *p.  False when none
 * or it overflows. */
static bool parse_u64(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (s >= end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return true;
}

/* A signed decimal field (the stat file's fields may be negative). */
static bool parse_i64(const char **p, const char *end, int64_t *out)
{
	bool neg = *p < end && **p == '-';
	uint64_t v;
	if (neg)
		(*p)++;
	if (!parse_u64(p, end, &v) || v > INT64_MAX)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

int gone_parse_stat(const char *buf, size_t len, struct stat_exit *out)
{
	memset(out, 0, sizeof(*out));
	const char *end = buf + len, *rp = NULL;
	for (const char *s = buf; s < end; s++)
		if (*s == ')')
			rp = s;
	if (!rp || rp + 3 >= end || rp[1] != ' ')
		return -EINVAL;
	const char *p = rp + 2;
	out->state = *p++;
	/* fields 4.. follow, one space before each */
	for (int field = 4; field <= 52; field++) {
		if (p >= end || *p != ' ')
			return field > 22 ? 0 : -EINVAL;
		p++;
		int64_t v;
		if (!parse_i64(&p, end, &v))
			return field > 22 ? 0 : -EINVAL;
		if (field == 22)
			out->starttime = v < 0 ? 0 : (uint64_t)v;
		if (field == 52 && v >= INT32_MIN && v <= INT32_MAX) {
			out->have_exit = true;
			out->wait_status = (int)v;
		}
	}
	return 0;
}

int gone_exit_code(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return -1;
}

int gone_parse_exit_file(const char *buf, size_t len, int *code)
{
	const char *p = buf, *end = buf + len;
	uint64_t v;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	if (!parse_u64(&p, end, &v) || v > 255)
		return -EINVAL;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	if (p != end)
		return -EINVAL;
	*code = (int)v;
	return 0;
}

void gone_container_json(const struct container_end *e, struct buf *out)
{
	struct json j;
	char how[128];
	bool oom = e->oom_flag || (e->have_oom && e->oom_kills > 0);
	int n = e->have_exit ? snprintf(how, sizeof(how), "exited %d", e->exit_code)
	                     : snprintf(how, sizeof(how), "exited");
	if (oom && n > 0 && (size_t)n < sizeof(how))
		snprintf(how + n, sizeof(how) - (size_t)n, ", killed by the OOM killer");
	jw_init(&j, out);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "reason", "exited");
	if (e->have_exit)
		jw_int(&j, "exit_code", e->exit_code);
	else
		jw_null(&j, "exit_code");
	if (e->exit_from)
		jw_str(&j, "exit_from", e->exit_from);
	jw_bool(&j, "oom_killed", oom);
	if (e->have_oom)
		jw_uint(&j, "oom_kills", e->oom_kills);
	jw_str(&j, "how", how);
	jw_obj_end(&j);
}

void gone_vm_json(int pid, bool powered_off, bool have_exit, int exit_code, struct buf *out)
{
	struct json j;
	char how[96];
	snprintf(how, sizeof(how), "QEMU pid %d exited", pid);
	jw_init(&j, out);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "reason", powered_off ? "powered off" : "shut down");
	jw_int(&j, "pid", pid);
	if (have_exit)
		jw_int(&j, "exit_code", exit_code);
	jw_str(&j, "how", how);
	jw_obj_end(&j);
}
