/*
 * caps.c - dropping capabilities (see caps.h).  Raw capget/capset and
 * prctl: no libcap.
 */
#include "caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *const names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

/* the highest capability this kernel knows */
static int last_cap(void)
{
	int last = (int)(sizeof(names) / sizeof(names[0])) - 1;
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	if (f) {
		int v;
		if (fscanf(f, "%d", &v) == 1 && v >= 0 && v < 64)
			last = v;
		fclose(f);
	}
	return last;
}

static int get(uint64_t *eff, uint64_t *prm)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	*eff = *prm = 0;
	if (syscall(SYS_capget, &h, d) != 0)
		return -errno;
	*eff = (uint64_t)d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
	return 0;
}

uint64_t caps_effective(void)
{
	uint64_t e = 0, p = 0;
	return get(&e, &p) == 0 ? e : 0;
}

uint64_t caps_bounding(void)
{
	uint64_t m = 0;
	int last = last_cap();
	for (int c = 0; c <= last; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			m |= CAP_BIT(c);
	return m;
}

void caps_format(uint64_t mask, char *out, size_t outlen)
{
	size_t at = 0;
	if (outlen)
		out[0] = '\0';
	for (int c = 0; c < 64 && at < outlen; c++) {
		if (!(mask & CAP_BIT(c)))
			continue;
		int n;
		if (c < (int)(sizeof(names) / sizeof(names[0])))
			n = snprintf(out + at, outlen - at, "%s%s", at ? "," : "", names[c]);
		else
			n = snprintf(out + at, outlen - at, "%scap_%d", at ? "," : "", c);
		if (n < 0)
			break;
		at += (size_t)n;
	}
	if (!mask)
		snprintf(out, outlen, "none");
}

int caps_keep(uint64_t keep, uint64_t *kept, char *err, size_t errlen)
{
	uint64_t eff = 0, prm = 0;
	int rc = get(&eff, &prm);
	*kept = 0;
	if (rc < 0) {
		snprintf(err, errlen, "cannot read the capabilities (capget): %s", strerror(-rc));
		return rc;
	}
	keep &= prm;
	/* the bounding set first: dropping from it needs CAP_SETPCAP, which
	 * goes with the rest just after */
	int last = last_cap();
	for (int c = 0; c <= last; c++) {
		if (keep & CAP_BIT(c))
			continue;
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) {
			if (!(prm & CAP_BIT(CAP_SETPCAP)))
				break; /* not allowed to shrink it: the sets below still go */
			rc = -errno;
			snprintf(err, errlen, "cannot drop %s from the bounding set: %s",
			         c < (int)(sizeof(names) / sizeof(names[0])) ? names[c]
			                                                     : "a capability",
			         strerror(errno));
			return rc;
		}
	}
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = (uint32_t)keep;
	d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &h, d) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot drop capabilities (capset): %s", strerror(errno));
		return rc;
	}
	if ((rc = get(&eff, &prm)) < 0 || eff != keep || prm != keep) {
		snprintf(err, errlen, "capabilities still held after dropping them");
		return rc < 0 ? rc : -EPERM;
	}
	*kept = keep;
	return 0;
}
