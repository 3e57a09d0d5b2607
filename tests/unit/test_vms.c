/*
 * Unit tests: QEMU guest discovery (targets/vms.c).
 *
 *   - QEMU option strings and sizes;
 *   - command lines as QEMU gets them from our test fixture, from libvirt
 *     (JSON -object, -chardev + -mon, guest=NAME), with NUMA backends,
 *     memfd, and hostile ones (an option's argument that looks like an
 *     option, cut short, no argv[0] of QEMU, random bytes);
 *   - /proc/PID/maps: a shared RAM file, a private one, hugetlbfs, memfd,
 *     anonymous RAM of the exact size, the nearest one, the TCG code
 *     buffer that must never be taken, malformed and truncated lines;
 *   - libvirt domain status XML: real-shaped, with comments, entities and
 *     decoys, every truncation of it, random bytes;
 *   - vms_discover_at() over a fake /proc and a fake libvirt directory,
 *     vm_target_find() and vm_identity().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "targets/vms.h"

/* An exact-size heap copy of argv joined by NULs (as /proc/PID/cmdline). */
static char *argv_buf(const char *const *argv, size_t *len)
{
	size_t n = 0;
	for (int i = 0; argv[i]; i++)
		n += strlen(argv[i]) + 1;
	char *b = malloc(n ? n : 1), *p = b;
	assert_non_null(b);
	for (int i = 0; argv[i]; i++) {
		size_t l = strlen(argv[i]) + 1;
		memcpy(p, argv[i], l);
		p += l;
	}
	*len = n;
	return b;
}

static int parse_argv(const char *const *argv, struct vm_target *t, struct vm_backend *b)
{
	size_t n;
	char *buf = argv_buf(argv, &n);
	memset(t, 0, sizeof(*t));
	int r = vm_parse_cmdline(buf, n, t, b);
	free(buf);
	return r;
}

static void opts(void **state)
{
	char v[64];
	const char *s = "q35,memory-backend=mem,accel=tcg";
	assert_true(vm_opt_get(s, strlen(s), "type", "type", v, sizeof(v)));
	assert_string_equal(v, "q35");
	assert_true(vm_opt_get(s, strlen(s), "type", "memory-backend", v, sizeof(v)));
	assert_string_equal(v, "mem");
	assert_false(vm_opt_get(s, strlen(s), "type", "usb", v, sizeof(v)));
	s = "type=pc-q35-7.2,usb=off";
	assert_true(vm_opt_get(s, strlen(s), "type", "type", v, sizeof(v)));
	assert_string_equal(v, "pc-q35-7.2");
	/* ",," is a comma; a bare key is "on"; the last repetition wins */
	s = "guest=a,,b,debug-threads=on,share,id=x,id=y";
	assert_true(vm_opt_get(s, strlen(s), "guest", "guest", v, sizeof(v)));
	assert_string_equal(v, "a,b");
	assert_true(vm_opt_get(s, strlen(s), "guest", "share", v, sizeof(v)));
	assert_string_equal(v, "on");
	assert_true(vm_opt_get(s, strlen(s), "guest", "id", v, sizeof(v)));
	assert_string_equal(v, "y");
	/* a first element without '=' and no implied key is a flag */
	s = "server,nowait";
	assert_true(vm_opt_get(s, strlen(s), NULL, "server", v, sizeof(v)));
	assert_string_equal(v, "on");
	/* empty, cut, long */
	assert_false(vm_opt_get("", 0, "type", "id", v, sizeof(v)));
	assert_false(vm_opt_get(NULL, 0, "type", "id", v, sizeof(v)));
	s = "a,id=";
	assert_true(vm_opt_get(s, strlen(s), "t", "id", v, sizeof(v)));
	assert_string_equal(v, "");
	s = "a,id=xy,z";
	assert_true(vm_opt_get(s, 6, "t", "id", v, sizeof(v))); /* cut after "id=x" */
	assert_string_equal(v, "x");
	char big[300];
	memset(big, 'q', sizeof(big));
	memcpy(big, "id=", 3);
	assert_true(vm_opt_get(big, sizeof(big), NULL, "id", v, 8));
	assert_string_equal(v, "qqqqqqq");
}

static void sizes(void **state)
{
	uint64_t v;
#define SZ(s, unit) (vm_parse_size(s, strlen(s), unit, &v))
	assert_true(SZ("256", 1 << 20));
	assert_int_equal(v, 256ull << 20);
	assert_true(SZ("256M", 1));
	assert_int_equal(v, 256ull << 20);
	assert_true(SZ("2G", 1 << 20));
	assert_int_equal(v, 2ull << 30);
	assert_true(SZ("2g", 1));
	assert_int_equal(v, 2ull << 30);
	assert_true(SZ("1.5G", 1));
	assert_int_equal(v, 3ull << 29);
	assert_true(SZ("512k", 1));
	assert_int_equal(v, 512ull << 10);
	assert_true(SZ("4096B", 1 << 20));
	assert_int_equal(v, 4096);
	assert_true(SZ("268435456", 1));
	assert_int_equal(v, 268435456);
	assert_true(SZ("0.25", 1 << 20));
	assert_int_equal(v, 1 << 18);
	assert_false(SZ("", 1));
	assert_false(SZ("M", 1));
	assert_false(SZ("12X", 1));
	assert_false(SZ("12MB", 1));
	assert_false(SZ("-1", 1));
	assert_false(SZ("1.", 1));
	assert_false(SZ(" 1", 1));
	assert_false(SZ("99999999999999999999", 1));
	assert_false(SZ("16E", 1));
	assert_false(SZ("17179869184G", 1));
	assert_true(SZ("15E", 1));
	assert_false(vm_parse_size(NULL, 0, 1, &v));
	assert_true(vm_parse_size("64Mxyz", 3, 1, &v)); /* only n bytes are read */
	assert_int_equal(v, 64ull << 20);
#undef SZ
}

static void cmdline_fixture(void **state)
{
	/* exactly what tests/integration/vm_lib.sh runs */
	static const char *const argv[] = {
	    "qemu-system-x86_64",
	    "-accel",
	    "tcg",
	    "-cpu",
	    "max",
	    "-smp",
	    "1",
	    "-m",
	    "256M",
	    "-object",
	    "memory-backend-file,id=mem,size=256M,mem-path=/dev/shm/vantage-g.mem,share=on",
	    "-machine",
	    "q35,memory-backend=mem",
	    "-nographic",
	    "-no-reboot",
	    "-nic",
	    "none",
	    "-monitor",
	    "none",
	    "-serial",
	    "file:/tmp/x/g.log",
	    "-kernel",
	    "/cache/vmlinuz-6.1",
	    "-initrd",
	    "/tmp/i.gz",
	    "-append",
	    "console=ttyS0 panic=-1 quiet nokaslr",
	    "-qmp",
	    "unix:/tmp/x/g.qmp,server=on,wait=off",
	    "-name",
	    "g",
	    "-uuid",
	    "C269D2F8-FA11-91FD-D609-02F4769BB446",
	    NULL};
	struct vm_target t;
	struct vm_backend b;
	assert_int_equal(parse_argv(argv, &t, &b), 0);
	assert_string_equal(t.name, "g");
	assert_string_equal(t.uuid, "c269d2f8-fa11-91fd-d609-02f4769bb446");
	assert_string_equal(t.machine, "q35");
	assert_int_equal(t.mem_bytes, 256ull << 20);
	assert_string_equal(t.qmp_path, "/tmp/x/g.qmp");
	assert_string_equal(t.kernel, "/cache/vmlinuz-6.1");
	assert_string_equal(t.backend, "file");
	assert_string_equal(b.type, "file");
	assert_string_equal(b.id, "mem");
	assert_string_equal(b.mem_path, "/dev/shm/vantage-g.mem");
	assert_true(b.share);
	assert_int_equal(b.size, 256ull << 20);
}

static void cmdline_libvirt(void **state)
{
	/* the shape of a libvirt 9 command line */
	static const char *const argv[] = {
	    "/usr/bin/qemu-system-x86_64",
	    "-name",
	    "guest=web-1,,prod,debug-threads=on",
	    "-S",
	    "-object",
	    "{\"qom-type\":\"secret\",\"id\":\"masterKey0\",\"format\":\"raw\",\"file\":\"/var/lib/"
	    "libvirt/qemu/domain-3-web-1/master-key.aes\"}",
	    "-machine",
	    "pc-q35-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram",
	    "-accel",
	    "kvm",
	    "-cpu",
	    "host,migratable=on",
	    "-m",
	    "size=2097152k,slots=16,maxmem=8G",
	    "-object",
	    "{\"qom-type\":\"memory-backend-ram\",\"id\":\"pc.ram\",\"size\":2147483648}",
	    "-overcommit",
	    "mem-lock=off",
	    "-smp",
	    "2,sockets=2,cores=1,threads=1",
	    "-uuid",
	    "8a1b2c3d-0000-4000-8000-00000000abcd",
	    "-no-user-config",
	    "-nodefaults",
	    "-chardev",
	    "socket,id=charmonitor,fd=33,server=on,wait=off",
	    "-mon",
	    "chardev=charmonitor,id=monitor,mode=control",
	    "-rtc",
	    "base=utc",
	    "-no-shutdown",
	    "-boot",
	    "strict=on",
	    NULL};
	struct vm_target t;
	struct vm_backend b;
	assert_int_equal(parse_argv(argv, &t, &b), 0);
	assert_string_equal(t.name, "web-1,prod");
	assert_string_equal(t.machine, "pc-q35-7.2");
	assert_int_equal(t.mem_bytes, 2ull << 30);
	assert_string_equal(t.backend, "ram");
	assert_string_equal(b.id, "pc.ram");
	assert_string_equal(t.uuid, "8a1b2c3d-0000-4000-8000-00000000abcd");
	assert_string_equal(t.qmp_path, ""); /* a file descriptor, no path */

	/* an older libvirt: monitor socket by path, -M, plain -m MiB */
	static const char *const old[] = {
	    "qemu-kvm",
	    "-name",
	    "db",
	    "-M",
	    "pc-i440fx-2.11",
	    "-m",
	    "4096",
	    "-chardev",
	    "socket,id=charmonitor,path=/var/lib/libvirt/qemu/domain-1-db/monitor.sock,"
	    "server,nowait",
	    "-mon",
	    "chardev=charmonitor,id=monitor,mode=control",
	    "-chardev",
	    "socket,id=charchannel0,path=/var/lib/libvirt/qemu/channel/target/"
	    "x.org.qemu.guest_agent.0",
	    "-mon",
	    "chardev=charchannel0,mode=readline",
	    NULL};
	assert_int_equal(parse_argv(old, &t, &b), 0);
	assert_string_equal(t.name, "db");
	assert_string_equal(t.machine, "pc-i440fx-2.11");
	assert_int_equal(t.mem_bytes, 4096ull << 20);
	assert_string_equal(t.backend, "");
	assert_string_equal(t.qmp_path, "/var/lib/libvirt/qemu/domain-1-db/monitor.sock");
}

static void cmdline_backends(void **state)
{
	struct vm_target t;
	struct vm_backend b;
	/* memfd, and -m size from the backend */
	static const char *const memfd[] = {"qemu-system-x86_64",
	                                    "--object",
	                                    "memory-backend-memfd,id=m,size=1G,share=on",
	                                    "--machine",
	                                    "type=q35,memory-backend=m",
	                                    "--qmp",
	                                    "unix:rel.sock,server",
	                                    NULL};
	assert_int_equal(parse_argv(memfd, &t, &b), 0);
	assert_string_equal(t.backend, "memfd");
	assert_int_equal(t.mem_bytes, 1ull << 30);
	assert_string_equal(t.machine, "q35");
	assert_string_equal(t.qmp_path, "rel.sock");
	assert_string_equal(t.name, "");

	/* two NUMA nodes: no single backend */
	static const char *const numa[] = {
	    "qemu-system-x86_64",
	    "-m",
	    "2G",
	    "-object",
	    "memory-backend-file,id=n0,size=1G,mem-path=/dev/hugepages",
	    "-object",
	    "memory-backend-file,id=n1,size=1G,mem-path=/dev/hugepages",
	    "-numa",
	    "node,memdev=n0",
	    "-numa",
	    "node,memdev=n1",
	    NULL};
	assert_int_equal(parse_argv(numa, &t, &b), 0);
	assert_string_equal(t.backend, "");
	assert_int_equal(t.mem_bytes, 2ull << 30);

	/* one NUMA node names the backend */
	static const char *const numa1[] = {
	    "qemu-system-x86_64",
	    "-m",
	    "1G",
	    "-object",
	    "memory-backend-file,id=ram-node0,size=1G,mem-path=/dev/hugepages/libvirt",
	    "-object",
	    "memory-backend-ram,id=other,size=64M",
	    "-numa",
	    "node,nodeid=0,cpus=0-1,memdev=ram-node0",
	    NULL};
	assert_int_equal(parse_argv(numa1, &t, &b), 0);
	assert_string_equal(t.backend, "file");
	assert_string_equal(b.mem_path, "/dev/hugepages/libvirt");
	assert_false(b.share);

	/* no -m at all: QEMU's default 128 MiB */
	static const char *const bare[] = {"qemu-system-x86_64", NULL};
	assert_int_equal(parse_argv(bare, &t, &b), 0);
	assert_int_equal(t.mem_bytes, 128ull << 20);
}

static void cmdline_hostile(void **state)
{
	struct vm_target t;
	struct vm_backend b;
	/* an argument that looks like an option is still an argument */
	static const char *const a1[] = {
	    "qemu-system-x86_64", "-append", "-name", "evil", "-name", "good", "-uuid",
	    "not-a-uuid",         NULL};
	assert_int_equal(parse_argv(a1, &t, &b), 0);
	assert_string_equal(t.name, "good");
	assert_string_equal(t.uuid, "");
	/* not QEMU */
	static const char *const a2[] = {"/bin/bash", "-c", "qemu-system-x86_64 -name x", NULL};
	assert_int_equal(parse_argv(a2, &t, &b), -EINVAL);
	static const char *const a3[] = {"qemu-system-", "-name", "x", NULL};
	assert_int_equal(parse_argv(a3, &t, &b), -EINVAL);
	assert_int_equal(vm_parse_cmdline("", 0, &t, &b), -EINVAL);
	/* an option as the last argument, and bad values */
	static const char *const a4[] = {"qemu-system-aarch64",
	                                 "-m",
	                                 "lots",
	                                 "-machine",
	                                 "",
	                                 "-object",
	                                 "{\"qom-type\": 5}",
	                                 "-object",
	                                 "{broken",
	                                 "-qmp",
	                                 "tcp:127.0.0.1:4444,server",
	                                 "-name",
	                                 NULL};
	assert_int_equal(parse_argv(a4, &t, &b), 0);
	assert_int_equal(t.mem_bytes, 128ull << 20);
	assert_string_equal(t.machine, "");
	assert_string_equal(t.qmp_path, "");
	assert_string_equal(t.name, "");
	/* long values are cut, not overflowed */
	char longname[1000], longq[1010];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	snprintf(longq, sizeof(longq), "unix:/%s", longname);
	const char *a5[] = {
	    "qemu-system-x86_64", "-name", longname, "-qmp", longq, "-kernel", longname, NULL};
	assert_int_equal(parse_argv(a5, &t, &b), 0);
	assert_int_equal(strlen(t.name), sizeof(t.name) - 1);
	assert_int_equal(strlen(t.qmp_path), sizeof(t.qmp_path) - 1);
	/* every truncation of a real command line: no crash, no read past the end */
	static const char *const full[] = {
	    "qemu-system-x86_64",
	    "-m",
	    "256M",
	    "-object",
	    "memory-backend-file,id=mem,size=256M,mem-path=/dev/shm/a.mem,share=on",
	    "-machine",
	    "q35,memory-backend=mem",
	    "-name",
	    "guest=abc,debug-threads=on",
	    "-uuid",
	    "c269d2f8-fa11-91fd-d609-02f4769bb446",
	    "-qmp",
	    "unix:/q.sock,server=on",
	    NULL};
	size_t n;
	char *buf = argv_buf(full, &n);
	for (size_t cut = 0; cut <= n; cut++) {
		char *p = malloc(cut ? cut : 1);
		memcpy(p, buf, cut);
		memset(&t, 0, sizeof(t));
		vm_parse_cmdline(p, cut, &t, &b);
		free(p);
	}
	free(buf);
	/* random bytes after a valid argv[0] */
	srand(7);
	for (int i = 0; i < 2000; i++) {
		char r[300];
		size_t len = (size_t)(rand() % (int)sizeof(r));
		memcpy(r, "qemu-system-x86_64\0-", 20);
		for (size_t k = 20; k < len; k++) {
			static const char alpha[] = "-,=:{}\"mnameuuidobjectqmpsize0123GM\0";
			r[k] = alpha[rand() % (int)(sizeof(alpha) - 1)];
		}
		char *p = malloc(len ? len : 1);
		memcpy(p, r, len);
		memset(&t, 0, sizeof(t));
		vm_parse_cmdline(p, len, &t, &b);
		assert_true(strlen(t.name) < sizeof(t.name));
		free(p);
	}
}

/* ---- maps ------------------------------------------------------------------ */

#define MAPS_COMMON                                                                                \
	"55717dfb6000-55717e3bd000 r--p 00000000 00:1d 1234 /usr/bin/qemu-system-x86_64\n"         \
	"55719c849000-55719d99b000 rw-p 00000000 00:00 0 [heap]\n"                                 \
	"7fd370021000-7fd374000000 ---p 00000000 00:00 0 \n"                                       \
	"7fd388000000-7fd398000000 rwxp 00000000 00:00 0 \n"                                       \
	"7fd3ccc00000-7fd3cce00000 rw-p 00000000 00:00 0 \n"

static int find_ram(const char *maps, uint64_t mem, const struct vm_backend *b,
                    struct vm_ram_map *r)
{
	size_t n = strlen(maps);
	char *p = malloc(n ? n : 1);
	memcpy(p, maps, n);
	int ret = vm_maps_find_ram(p, n, mem, b, r);
	free(p);
	return ret;
}

static void maps(void **state)
{
	struct vm_ram_map r;
	struct vm_backend file = {
	    .type = "file", .mem_path = "/dev/shm/vantage-g.mem", .share = true};
	const uint64_t M256 = 256ull << 20;

	/* anonymous RAM of the exact size; the 256 MiB rwx TCG buffer is never it */
	const char *anon = MAPS_COMMON "7fd377e00000-7fd387e00000 rw-p 00000000 00:00 0 \n";
	assert_int_equal(find_ram(anon, M256, NULL, &r), 0);
	assert_int_equal(r.addr, 0x7fd377e00000ull);
	assert_int_equal(r.len, M256);
	assert_string_equal(r.how, "size");
	assert_false(r.shared);

	/* the shared RAM file, also when an anonymous block of the same size exists */
	const char *f =
	    MAPS_COMMON "7fd377e00000-7fd387e00000 rw-p 00000000 00:00 0 \n"
	                "7fd01ffff000-7fd02ffff000 rw-s 00000000 00:19 77 /dev/shm/vantage-g.mem\n";
	assert_int_equal(find_ram(f, M256, &file, &r), 0);
	assert_int_equal(r.addr, 0x7fd01ffff000ull);
	assert_string_equal(r.how, "mem-path");
	assert_true(r.shared);
	assert_false(r.deleted);

	/* a private mapping of the file (share=off), unlinked */
	const char *priv = "7fd01ffff000-7fd02ffff000 rw-p 00000000 00:19 77 "
	                   "/dev/shm/vantage-g.mem (deleted)\n";
	assert_int_equal(find_ram(priv, M256, &file, &r), 0);
	assert_false(r.shared);
	assert_true(r.deleted);

	/* a path with spaces, and a similar name that is not it */
	struct vm_backend sp = {.type = "file", .mem_path = "/srv/vm ram/a.mem"};
	const char *spaces = "10000-20000 rw-s 00000000 00:19 77 /srv/vm ram/a.mem.bak\n"
	                     "7f0000000000-7f0010000000 rw-s 00000000 00:19 78 /srv/vm ram/a.mem\n";
	assert_int_equal(find_ram(spaces, M256, &sp, &r), 0);
	assert_int_equal(r.addr, 0x7f0000000000ull);

	/* hugetlbfs: mem-path is a directory, QEMU maps an unlinked file in it */
	struct vm_backend huge = {.type = "file", .mem_path = "/dev/hugepages"};
	const char *h = "7f4000000000-7f4080000000 rw-s 00000000 00:2e 12 "
	                "/dev/hugepages/qemu_back_mem.pc.ram.Xy12ab (deleted)\n";
	assert_int_equal(find_ram(h, 2ull << 30, &huge, &r), 0);
	assert_int_equal(r.len, 2ull << 30);
	assert_true(r.deleted);
	assert_int_equal(find_ram(h, 2ull << 30, &file, &r), -ENOENT);

	/* memfd */
	struct vm_backend memfd = {.type = "memfd"};
	const char *m = MAPS_COMMON "7fd01ffff000-7fd02ffff000 rw-s 00000000 00:01 5 "
	                            "/memfd:memory-backend-memfd (deleted)\n";
	assert_int_equal(find_ram(m, M256, &memfd, &r), 0);
	assert_string_equal(r.how, "memfd");

	/* no exact size: the nearest larger block within the slack */
	const char *near = "7f0000000000-7f0010400000 rw-p 00000000 00:00 0 \n"
	                   "7f1000000000-7f1010200000 rw-p 00000000 00:00 0 \n"
	                   "7f2000000000-7f2020000000 rw-p 00000000 00:00 0 \n";
	assert_int_equal(find_ram(near, M256, NULL, &r), 0);
	assert_int_equal(r.addr, 0x7f1000000000ull);
	assert_string_equal(r.how, "nearest");
	/* ...but not one twice the size */
	assert_int_equal(
	    find_ram("7f2000000000-7f2020000000 rw-p 00000000 00:00 0 \n", M256, NULL, &r),
	    -ENOENT);
	/* a 1 GiB guest is not the 1 GiB TCG buffer */
	assert_int_equal(
	    find_ram("7fd388000000-7fd3c8000000 rwxp 00000000 00:00 0 \n", 1ull << 30, NULL, &r),
	    -ENOENT);

	/* malformed and truncated lines are skipped */
	const char *bad = "\n"
	                  "garbage\n"
	                  "7fd3-\n"
	                  "20000-10000 rw-p 00000000 00:00 0\n"
	                  "zz000-30000 rw-p 0 0 0\n"
	                  "10000000-20000000 rw\n"
	                  "ffffffffffffffffff-fffffffffffffffff1 rw-p 0 00:00 0\n"
	                  "7fd377e00000-7fd387e00000 rw-p 00000000 00:00 0";
	assert_int_equal(find_ram(bad, M256, NULL, &r), 0);
	assert_int_equal(r.addr, 0x7fd377e00000ull);
	assert_int_equal(find_ram("", M256, NULL, &r), -ENOENT);
	assert_int_equal(find_ram(anon, 0, NULL, &r), -ENOENT);
	assert_int_equal(vm_maps_find_ram(NULL, 0, M256, NULL, &r), -ENOENT);
	/* every truncation */
	size_t n = strlen(f);
	for (size_t cut = 0; cut <= n; cut++) {
		char *p = malloc(cut ? cut : 1);
		memcpy(p, f, cut);
		vm_maps_find_ram(p, cut, M256, &file, &r);
		free(p);
	}
}

/* ---- libvirt -------------------------------------------------------------- */

static const char domstatus[] =
    "<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE. <domain> edits will be lost\n-->\n"
    "<?xml version='1.0'?>\n"
    "<domstatus state='running' reason='booted' pid='4242'>\n"
    "  <taint flag='high-privileges'/>\n"
    "  <monitor path='/var/lib/libvirt/qemu/domain-3-web&amp;1/monitor.sock' type='unix'/>\n"
    "  <qemuCaps>\n"
    "    <flag name='kvm'/>\n"
    "    <name>decoy-in-caps</name>\n"
    "  </qemuCaps>\n"
    "  <domain type='kvm' id='3'>\n"
    "    <name>web&amp;1</name>\n"
    "    <uuid>8A1B2C3D-0000-4000-8000-00000000ABCD</uuid>\n"
    "    <metadata>\n"
    "      <libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>\n"
    "        <libosinfo:os id='http://debian.org/debian/12'/>\n"
    "        <name>decoy-in-metadata</name>\n"
    "      </libosinfo:libosinfo>\n"
    "    </metadata>\n"
    "    <memory unit=\"KiB\">2097152</memory>\n"
    "    <currentMemory unit='KiB'>1048576</currentMemory>\n"
    "    <vcpu placement='static'>2</vcpu>\n"
    "    <os>\n"
    "      <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>\n"
    "      <boot dev='hd'/>\n"
    "    </os>\n"
    "    <devices><![CDATA[ <name>decoy-in-cdata</name> ]]></devices>\n"
    "  </domain>\n"
    "</domstatus>\n";

static int parse_xml(const char *s, size_t n, struct vm_libvirt *lv)
{
	char *p = malloc(n ? n : 1);
	memcpy(p, s, n);
	int r = vm_parse_libvirt_xml(p, n, lv);
	free(p);
	return r;
}

static void libvirt_xml(void **state)
{
	struct vm_libvirt lv;
	assert_int_equal(parse_xml(domstatus, strlen(domstatus), &lv), 0);
	assert_int_equal(lv.pid, 4242);
	assert_string_equal(lv.state, "running");
	assert_string_equal(lv.name, "web&1");
	assert_string_equal(lv.uuid, "8a1b2c3d-0000-4000-8000-00000000abcd");
	assert_int_equal(lv.mem_bytes, 2ull << 30);
	assert_string_equal(lv.machine, "pc-q35-7.2");
	assert_string_equal(lv.monitor, "/var/lib/libvirt/qemu/domain-3-web&1/monitor.sock");

	/* a plain domain definition (no domstatus), other units */
	const char *plain = "<domain type='kvm'><name>db</name><memory unit='GiB'>4</memory>"
	                    "<uuid>nonsense</uuid></domain>";
	assert_int_equal(parse_xml(plain, strlen(plain), &lv), 0);
	assert_int_equal(lv.pid, 0);
	assert_string_equal(lv.name, "db");
	assert_int_equal(lv.mem_bytes, 4ull << 30);
	assert_string_equal(lv.uuid, "");
	const char *units = "<domain><memory>1024</memory></domain>";
	assert_int_equal(parse_xml(units, strlen(units), &lv), 0);
	assert_int_equal(lv.mem_bytes, 1024 * 1024);
	const char *badunit = "<domain><memory unit='parsecs'>1</memory></domain>";
	assert_int_equal(parse_xml(badunit, strlen(badunit), &lv), 0);
	assert_int_equal(lv.mem_bytes, 0);
	const char *overflow = "<domain><memory unit='TiB'>99999999999</memory></domain>";
	assert_int_equal(parse_xml(overflow, strlen(overflow), &lv), 0);
	assert_int_equal(lv.mem_bytes, 0);
	/* bad pids, control characters */
	const char *badpid =
	    "<domstatus pid='-5'><domain><name>a\x1b[2Jb</name></domain></domstatus>";
	assert_int_equal(parse_xml(badpid, strlen(badpid), &lv), 0);
	assert_int_equal(lv.pid, 0);
	assert_string_equal(lv.name, "a?[2Jb");
	const char *bigpid = "<domstatus pid='99999999999999'><domain/></domstatus>";
	assert_int_equal(parse_xml(bigpid, strlen(bigpid), &lv), 0);
	assert_int_equal(lv.pid, 0);
	/* no domain at all */
	assert_int_equal(parse_xml("", 0, &lv), -EINVAL);
	assert_int_equal(parse_xml("<domstatus pid='1'/>", 20, &lv), -EINVAL);
	assert_int_equal(parse_xml("<!-- <domain> -->", 17, &lv), -EINVAL);
	assert_int_equal(vm_parse_libvirt_xml(NULL, 0, &lv), -EINVAL);
	/* every truncation: no crash, never a wrong pid or name */
	size_t n = strlen(domstatus);
	for (size_t cut = 0; cut <= n; cut++) {
		int r = parse_xml(domstatus, cut, &lv);
		/* a value is only taken once its tag or text is complete */
		assert_true(r == 0 || r == -EINVAL);
		assert_true(!lv.name[0] || !strcmp(lv.name, "web&1"));
		assert_true(lv.pid == 0 || lv.pid == 4242);
		assert_true(!lv.mem_bytes || lv.mem_bytes == 2ull << 30);
	}
	/* random bytes drawn from XML's alphabet */
	srand(11);
	for (int i = 0; i < 3000; i++) {
		char r[400];
		static const char alpha[] = "<>/='\"!?-[]&;# domainstatuspidmemoryunit123";
		size_t len = (size_t)(rand() % (int)sizeof(r));
		for (size_t k = 0; k < len; k++)
			r[k] = alpha[rand() % (int)(sizeof(alpha) - 1)];
		parse_xml(r, len, &lv);
		assert_true(strlen(lv.name) < sizeof(lv.name));
	}
}

/* ---- discovery over a fake /proc -------------------------------------------- */

static void put(int dfd, const char *path, const void *data, size_t n)
{
	int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void mkproc(int proc, int pid, const char *exe, const char *comm, const char *const *argv,
                   const char *maps)
{
	char d[32], p[64];
	snprintf(d, sizeof(d), "%d", pid);
	assert_int_equal(mkdirat(proc, d, 0755), 0);
	if (exe) {
		snprintf(p, sizeof(p), "%d/exe", pid);
		assert_int_equal(symlinkat(exe, proc, p), 0);
	}
	if (comm) {
		snprintf(p, sizeof(p), "%d/comm", pid);
		put(proc, p, comm, strlen(comm));
	}
	size_t n = 0;
	char *b = argv ? argv_buf(argv, &n) : NULL;
	snprintf(p, sizeof(p), "%d/cmdline", pid);
	put(proc, p, b ? b : "", n);
	free(b);
	snprintf(p, sizeof(p), "%d/maps", pid);
	put(proc, p, maps ? maps : "", maps ? strlen(maps) : 0);
	snprintf(p, sizeof(p), "%d/cwd", pid);
	assert_int_equal(symlinkat("/srv/vms", proc, p), 0);
}

static void discover(void **state)
{
	char tmpl[] = "/tmp/vantage-vms.XXXXXX";
	char cmd[128];
	assert_non_null(mkdtemp(tmpl));
	int top = open(tmpl, O_RDONLY | O_DIRECTORY);
	assert_int_equal(mkdirat(top, "proc", 0755), 0);
	assert_int_equal(mkdirat(top, "root", 0755), 0);
	int proc = openat(top, "proc", O_RDONLY | O_DIRECTORY);
	int root = openat(top, "root", O_RDONLY | O_DIRECTORY);

	static const char *const a100[] = {
	    "qemu-system-x86_64",
	    "-m",
	    "256M",
	    "-object",
	    "memory-backend-file,id=mem,size=256M,mem-path=/nonexistent/vantage-a.mem,share=on",
	    "-machine",
	    "q35,memory-backend=mem",
	    "-name",
	    "alpha",
	    "-qmp",
	    "unix:a.qmp,server=on",
	    "-uuid",
	    "11111111-2222-3333-4444-555555555555",
	    NULL};
	mkproc(proc, 100, "/usr/bin/qemu-system-x86_64 (deleted)", NULL, a100,
	       "7f0000000000-7f0010000000 rw-s 00000000 00:19 77 /nonexistent/vantage-a.mem\n");
	static const char *const a200[] = {"/bin/bash", "-c", "qemu-system-x86_64", NULL};
	mkproc(proc, 200, "/bin/bash", NULL, a200, NULL);
	/* exe unreadable: comm decides; anonymous RAM */
	static const char *const a300[] = {"/usr/libexec/qemu-kvm", "-m", "1G", "-M", "pc", NULL};
	mkproc(proc, 300, NULL, "qemu-kvm\n", a300,
	       "7f3000000000-7f3040000000 rw-p 00000000 00:00 0 \n");
	/* a zombie QEMU: no command line */
	mkproc(proc, 400, NULL, "qemu-system-x86\n", NULL, NULL);
	/* libvirt names pid 300, a stale file names a dead pid, junk files */
	char xml[512];
	assert_int_equal(mkdirat(root, "run", 0755), 0);
	assert_int_equal(mkdirat(root, "run/libvirt", 0755), 0);
	assert_int_equal(mkdirat(root, "run/libvirt/qemu", 0755), 0);
	snprintf(xml, sizeof(xml),
	         "<domstatus state='paused' pid='300'><monitor path='/run/lv/mon.sock'/>"
	         "<domain><name>zulu</name><uuid>AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE</uuid>"
	         "<os><type machine='pc-i440fx-7.2'>hvm</type></os></domain></domstatus>");
	put(root, "run/libvirt/qemu/zulu.xml", xml, strlen(xml));
	snprintf(xml, sizeof(xml),
	         "<domstatus pid='999'><domain><name>gone</name></domain></domstatus>");
	put(root, "run/libvirt/qemu/gone.xml", xml, strlen(xml));
	put(root, "run/libvirt/qemu/junk.xml", "\x01\x02<<<", 5);
	assert_int_equal(mkdirat(root, "run/libvirt/qemu/dir.xml", 0755), 0);
	assert_int_equal(symlinkat("zulu.xml", root, "run/libvirt/qemu/link.xml"), 0);

	struct vm_target *v;
	size_t n;
	assert_int_equal(vms_discover_at(proc, root, &v, &n), 0);
	assert_int_equal(n, 2);
	/* sorted by name */
	assert_string_equal(v[0].name, "alpha");
	assert_int_equal(v[0].pid, 100);
	assert_string_equal(v[0].source, "qemu");
	assert_string_equal(v[0].state, "running");
	assert_string_equal(v[0].qmp_path, "/srv/vms/a.qmp");
	assert_int_equal(v[0].ram_addr, 0x7f0000000000ull);
	assert_int_equal(v[0].ram_len, 256ull << 20);
	assert_string_equal(v[0].ram_how, "mem-path");
	assert_string_equal(v[0].ram_path, "/nonexistent/vantage-a.mem");
	assert_string_equal(v[0].backend, "file");

	assert_string_equal(v[1].name, "zulu");
	assert_int_equal(v[1].pid, 300);
	assert_string_equal(v[1].source, "libvirt");
	assert_string_equal(v[1].state, "paused");
	assert_string_equal(v[1].uuid, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	assert_string_equal(v[1].machine, "pc"); /* the command line's own */
	assert_string_equal(v[1].qmp_path, "/run/lv/mon.sock");
	assert_int_equal(v[1].mem_bytes, 1ull << 30);
	assert_int_equal(v[1].ram_addr, 0x7f3000000000ull);
	assert_string_equal(v[1].ram_how, "size");
	assert_string_equal(v[1].ram_path, "");

	/* find by name, uuid (any case), pid, system id */
	assert_ptr_equal(vm_target_find(v, n, "alpha"), &v[0]);
	assert_ptr_equal(vm_target_find(v, n, "AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeeee"), &v[1]);
	assert_ptr_equal(vm_target_find(v, n, "300"), &v[1]);
	assert_ptr_equal(vm_target_find(v, n, "vm:11111111-2222-3333-4444-555555555555"), &v[0]);
	assert_null(vm_target_find(v, n, "vm:alpha")); /* alpha's id is its uuid */
	assert_null(vm_target_find(v, n, "beta"));
	assert_null(vm_target_find(v, n, "3000"));
	assert_null(vm_target_find(v, n, ""));
	assert_null(vm_target_find(v, n, NULL));

	struct system_id id;
	vm_identity(&v[1], &id);
	assert_string_equal(id.id, "vm:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	assert_string_equal(id.kind, "vm");
	assert_string_equal(id.runtime, "libvirt");
	assert_string_equal(id.name, "zulu");
	assert_true(id.host[0] != 0);
	struct vm_target noid = {.name = "plain", .source = "qemu"};
	vm_identity(&noid, &id);
	assert_string_equal(id.id, "vm:plain");
	free(v);

	/* no libvirt directory, no QEMU: nothing, and no allocation */
	int empty = openat(top, "proc/200", O_RDONLY | O_DIRECTORY);
	assert_int_equal(vms_discover_at(empty, empty, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	close(empty);
	assert_true(vms_discover_at(-1, root, &v, &n) < 0);

	close(proc);
	close(root);
	close(top);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(opts),
	    cmocka_unit_test(sizes),
	    cmocka_unit_test(cmdline_fixture),
	    cmocka_unit_test(cmdline_libvirt),
	    cmocka_unit_test(cmdline_backends),
	    cmocka_unit_test(cmdline_hostile),
	    cmocka_unit_test(maps),
	    cmocka_unit_test(libvirt_xml),
	    cmocka_unit_test(discover),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
