/*
 * vms.h - discover the QEMU guests running on this host, from the outside.
 *
 * Nothing is asked of QEMU or libvirtd: one pass over /proc finds the
 * processes whose executable (or, when that is unreadable, comm) is
 * qemu-system-* or qemu-kvm; each one's command line says what the guest
 * is, its memory map says where the guest's RAM is in the QEMU process.
 *
 * From the command line (NUL-separated argv; QEMU's "a=b,c=d" option
 * syntax with ",," for a literal comma; "-opt" or "--opt"):
 *   -name NAME | guest=NAME[,debug-threads=on][,process=P]   name
 *   -uuid U                                                  uuid
 *   -m 256 | 256M | 2G | size=2G,slots=4,maxmem=8G           mem_bytes (MiB
 *                                                            when no suffix;
 *                                                            QEMU's default
 *                                                            128 MiB when absent)
 *   -machine/-M TYPE[,memory-backend=ID][,...] | type=TYPE   machine
 *   -object memory-backend-{file,memfd,ram},id=ID,size=S[,mem-path=P][,share=on]
 *           (or the JSON form libvirt uses: {"qom-type": ..., "id": ...})
 *   -qmp unix:PATH[,server=on,wait=off]                      qmp_path
 *   -chardev socket,id=X,path=P + -mon chardev=X,mode=control  qmp_path
 *   -kernel PATH                                             kernel
 * The guest's main memory backend is the one named by -machine
 * memory-backend=, else the only memory backend object; its size, when
 * given, is mem_bytes.
 *
 * Libvirt: every /run/libvirt/qemu/<name>.xml domain status file whose
 * <domstatus pid='...'> is one of the QEMU processes found marks that
 * guest source "libvirt" and fills name, uuid, memory, machine and the
 * monitor socket (<monitor path=...>) where the command line did not
 * (libvirt passes sockets as file descriptors).  libvirtd keeps its
 * monitor connection open and QEMU serves one QMP client at a time, so
 * that qmp_path is for information: pause a libvirt guest with virsh.
 *
 * Where the guest RAM is in QEMU (ram_addr/ram_len, see vm_maps_find_ram):
 *   1. memory-backend-file: the mapping of its mem-path (or, for a
 *      mem-path directory such as hugetlbfs, of the unlinked file QEMU
 *      made in it).  ram_path is set only when that mapping is shared
 *      (share=on): a private file mapping does not see the guest's writes;
 *   2. memory-backend-memfd: the mapping "/memfd:memory-backend-memfd";
 *   3. otherwise the anonymous read-write, non-executable mapping whose
 *      size equals mem_bytes ("size"); QEMU maps main RAM as one block of
 *      exactly that size with guard pages around it.  When none is exact,
 *      the smallest one of at least mem_bytes and at most mem_bytes + 1/8
 *      + 4 MiB ("nearest", the RAM assumed at its start).
 * ram_how says which ("mem-path", "memfd", "size", "nearest", "" when not
 * found, and then ram_addr = ram_len = 0).
 *
 * Everything read here is written by whoever started QEMU: every field is
 * bounded, and a command line or file that makes no sense yields fewer
 * fields, never a crash.
 */
#ifndef VANTAGE_VMS_H
#define VANTAGE_VMS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "system.h"

struct vm_target {
	int pid;                    /* the QEMU process */
	char name[128];             /* -name, libvirt name, else "qemu-<pid>" */
	char uuid[40];              /* lowercase 8-4-4-4-12, "" if none */
	char machine[64];           /* "q35", "pc-q35-7.2", "" if not given */
	uint64_t mem_bytes;         /* guest RAM size (main memory, not hotplug maxmem) */
	char ram_path[PATH_MAX];    /* shared RAM file to read, "" if none */
	char qmp_path[108];         /* QMP unix socket, "" if none */
	uint64_t ram_addr, ram_len; /* host VA in QEMU of guest RAM, 0 if unknown */
	char source[16];            /* "qemu" or "libvirt" */
	char backend[16];           /* main RAM backend: "file", "memfd", "ram", "" (plain -m) */
	char ram_how[16];           /* how ram_addr was found (see above), "" if not */
	char kernel[256];           /* -kernel, "" if none */
	char state[16];             /* libvirt's domstatus state, else "running" */
};

/*
 * The QEMU guests running now.  `proc_fd` is an O_DIRECTORY fd of procfs.
 * On success *out is an array of *n guests sorted by name then pid (free
 * with free()); 0 guests gives *out == NULL.  Returns 0, or a negative
 * errno when /proc cannot be listed.  Processes that exit meanwhile are
 * skipped.
 */
int vms_discover(int proc_fd, struct vm_target **out, size_t *n);
/* The same with libvirt's status directory read below root_fd (standing
 * for "/"; tests point it at a sample tree). */
int vms_discover_at(int proc_fd, int root_fd, struct vm_target **out, size_t *n);

/* Find a guest by system id ("vm:<uuid or name>"), uuid (any case), name
 * or QEMU pid (decimal).  NULL when none. */
const struct vm_target *vm_target_find(const struct vm_target *v, size_t n, const char *key);

/* The guest's identity: id "vm:<uuid>" (or "vm:<name>" without a uuid),
 * kind "vm", runtime = source, name, host = this host's name. */
void vm_identity(const struct vm_target *t, struct system_id *out);

/* ---- pure parsers (public for tests) ------------------------------------ */
/* qemu_cmdline.c: vm_opt_get, vm_parse_size, vm_parse_cmdline; vms.c:
 * vm_maps_find_ram; libvirt_xml.c: vm_parse_libvirt_xml. */

/* The main memory backend named on a command line. */
struct vm_backend {
	char id[64];
	char type[16]; /* "file", "memfd", "ram" */
	uint64_t size; /* 0 if not given */
	char mem_path[PATH_MAX];
	bool share;
};

/*
 * Parse a QEMU command line (argv strings each ending in NUL; a last one
 * may be cut short).  Fills name, uuid, machine, mem_bytes, qmp_path,
 * kernel and backend of *t (other fields untouched) and *b (may be
 * NULL).  Returns 0, or -EINVAL when argv[0] is not a QEMU system
 * emulator (basename qemu-system-* or qemu-kvm).
 */
int vm_parse_cmdline(const char *buf, size_t len, struct vm_target *t, struct vm_backend *b);

/* A QEMU size: digits with an optional fraction and suffix B K M G T P E
 * (either case), `unit` when no suffix (1 for bytes, 1<<20 for -m).
 * False on garbage or overflow. */
bool vm_parse_size(const char *s, size_t n, uint64_t unit, uint64_t *out);

/*
 * Get `key` from a QEMU option string ("type,a=b,c=d"; ",," is a literal
 * comma).  The first element without '=' is the value of `implied` (may
 * be NULL).  Copies the value, unescaped, into dst; a bare "flag" reads
 * as "on".  Returns false when the key is absent.
 */
bool vm_opt_get(const char *s, size_t n, const char *implied, const char *key, char *dst,
                size_t cap);

struct vm_ram_map {
	uint64_t addr, len;
	bool shared;  /* mapped MAP_SHARED ('s') */
	bool deleted; /* the mapped file was unlinked */
	char how[16];
};

/*
 * Find the guest RAM in the text of /proc/PID/maps (see the rules above).
 * `b` is the main backend (NULL or type "" for plain -m).  Returns 0, or
 * -ENOENT when no mapping fits.  Lines that do not parse are skipped.
 */
int vm_maps_find_ram(const char *buf, size_t len, uint64_t mem_bytes, const struct vm_backend *b,
                     struct vm_ram_map *out);

/* What a libvirt domain status file says. */
struct vm_libvirt {
	int pid;            /* <domstatus pid=...>, 0 if absent */
	char state[16];     /* <domstatus state=...> */
	char name[128];     /* <domain><name> */
	char uuid[40];      /* <domain><uuid> */
	uint64_t mem_bytes; /* <domain><memory unit=...> */
	char machine[64];   /* <domain><os><type machine=...> */
	char monitor[108];  /* <monitor path=...> (domstatus) */
};

/* Parse a libvirt domain status (or plain domain) XML file.  A bounded
 * scan of tags and attributes, not a full XML parser.  Returns 0, or
 * -EINVAL when it has no <domain> element. */
int vm_parse_libvirt_xml(const char *buf, size_t len, struct vm_libvirt *out);

/* Shared by the parsers (qemu_cmdline.c): copy a uuid lowercased into
 * dst when [s, s+n) is one (8-4-4-4-12 hex), else leave dst alone; and
 * whether a path's basename is qemu-system-* or qemu-kvm*. */
void vm_set_uuid(char *dst, size_t cap, const char *s, size_t n);
bool vm_is_qemu_name(const char *s, size_t n);

#endif
