/* Unit tests: the os, process, connection, module and interface features
 * on a fake view: fields from the view's records, fields left out or null
 * when the view lacks them, per-item and whole-op errors, the crawler
 * layout's keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "fake_view.h"

extern const struct feature feature_os, feature_process, feature_connection, feature_module,
    feature_interface;

static void crawl(const struct feature *ft, struct fake_view *fv, bool crawler,
                  struct fake_frame *fr)
{
	struct fake_opts o;
	fake_opts_init(&o);
	o.crawler_format = crawler;
	fake_crawl(ft, &fv->base, &o, fr);
	assert_int_equal(fv->open_files, 0);
}

static bool is_null(json_t *v, const char *name)
{
	json_t *x = json_object_get(v, name);
	return x && json_is_null(x);
}

/* ---- os ---------------------------------------------------------------------- */

static const char *const eth_addrs[] = {"10.0.0.5/24", "fe80::1/64", NULL};
static const char *const lo_addrs[] = {"127.0.0.1/8", "::1/128", NULL};
static const struct vt_iface os_ifaces[] = {
    {.name = "lo", .flags = IFF_LOOPBACK | IFF_UP, .addrs = lo_addrs},
    {.name = "eth0", .flags = IFF_UP, .addrs = eth_addrs},
};

static void test_os(void **state)
{
	static const struct fake_file files[] = {
	    {.path = "/etc/os-release",
	     .content = "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n"
	                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"},
	    {.path = "/etc/machine-id", .content = "0123456789abcdef\n"},
	    {.path = "/etc/hostname", .content = "from-file\n"},
	};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.files = files;
	fv.nfiles = 3;
	fv.kernel =
	    (struct vt_kernel){.have = VK_RELEASE | VK_MACHINE | VK_HOSTNAME | VK_BOOT | VK_UPTIME,
	                       .release = "6.1.0-test",
	                       .hostname = "kernel-name",
	                       .machine = "x86_64",
	                       .boot_time = 1714564800,
	                       .uptime = 42.5};
	fake_view_ifaces(&fv, 0, os_ifaces, 2);
	crawl(&feature_os, &fv, false, &fr);
	assert_int_equal(fr.rc, 0);
	json_t *v = fake_value(&fr, "linux");
	assert_non_null(v);
	assert_string_equal(fake_str(v, "id"), "debian");
	assert_string_equal(fake_str(v, "version_id"), "12");
	assert_string_equal(fake_str(v, "pretty_name"), "Debian GNU/Linux 12 (bookworm)");
	assert_true(is_null(v, "version_codename"));
	assert_string_equal(fake_str(v, "kernel_release"), "6.1.0-test");
	assert_true(is_null(v, "kernel_version"));
	assert_string_equal(fake_str(v, "architecture"), "x86_64");
	assert_string_equal(fake_str(v, "hostname"), "kernel-name"); /* the kernel's first */
	assert_string_equal(fake_str(v, "machine_id"), "0123456789abcdef");
	assert_true(strncmp(fake_str(v, "boot_time"), "2024-05-01T12:00:00", 19) == 0);
	assert_true(fake_num(v, "uptime_s") == 42.5);
	json_t *ips = json_object_get(v, "ip_addresses"); /* no loopback, no prefix */
	assert_int_equal(json_array_size(ips), 2);
	assert_string_equal(json_string_value(json_array_get(ips, 0)), "10.0.0.5");
	assert_string_equal(json_string_value(json_array_get(ips, 1)), "fe80::1");
	assert_int_equal(fake_errors(&fr, "os"), 0);
	fake_frame_free(&fr);
}

/* A files-only view (--root, an image): hostname from /etc/hostname,
 * kernel facts and addresses null; os-release unreadable is an error. */
static void test_os_files_only(void **state)
{
	static const struct fake_file files[] = {
	    {.path = "/etc/os-release", .content = "ID=x\n", .open_err = EACCES},
	    {.path = "/usr/lib/os-release", .content = "ID=never-read\n"},
	    {.path = "/etc/hostname", .content = "  from-file  \nsecond line\n"},
	};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.files = files;
	fv.nfiles = 3;
	fake_view_drop(&fv, FAKE_KERNEL);
	fake_view_drop(&fv, FAKE_INTERFACES);
	crawl(&feature_os, &fv, false, &fr);
	assert_int_equal(fr.rc, 0);
	json_t *v = fake_value(&fr, "linux");
	assert_string_equal(fake_str(v, "hostname"), "from-file");
	assert_true(is_null(v, "id")); /* EACCES is not "absent": no fallback */
	assert_true(is_null(v, "kernel_release"));
	assert_true(is_null(v, "boot_time"));
	assert_true(is_null(v, "uptime_s"));
	assert_true(is_null(v, "machine_id")); /* missing: null, no error */
	assert_true(is_null(v, "ip_addresses"));
	assert_int_equal(fake_errors(&fr, "os"), 1);
	assert_true(fake_message(&fr, "os", "/etc/os-release: Permission denied"));
	fake_frame_free(&fr);
}

/* ---- process ----------------------------------------------------------------- */

static void test_process(void **state)
{
	static const char cmd[] = "sleep 1000";
	static const struct vt_proc procs[] = {
	    {.have = VP_PPID | VP_UID | VP_USER | VP_COMM | VP_CMDLINE | VP_STATE | VP_START |
	             VP_THREADS | VP_RSS | VP_CPU | VP_CGROUP,
	     .pid = 1234,
	     .ppid = 1,
	     .uid = 1000,
	     .user = "alice",
	     .comm = "a b) (c",
	     .cmdline = cmd,
	     .cmdline_len = sizeof(cmd) - 1,
	     .state = 'S',
	     .start_time = 1714564800,
	     .threads = 3,
	     .rss_kb = 2048,
	     .cpu_user_s = 1.5,
	     .cpu_system_s = 0.25,
	     .cgroup = "/user.slice"},
	    /* exited half-way: what was read, and the error */
	    {.have = VP_COMM, .pid = 99, .comm = "gone", .err = ESRCH},
	};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.procs = procs;
	fv.nprocs = 2;
	fake_view_item_error(&fv, FAKE_PROCESSES, "pid 7", EACCES);
	crawl(&feature_process, &fv, false, &fr);
	assert_int_equal(fr.rc, 0);
	assert_int_equal(fake_nrecs(&fr), 2);
	json_t *p = fake_value(&fr, "1234");
	assert_true(fake_num(p, "pid") == 1234);
	assert_true(fake_num(p, "ppid") == 1);
	assert_string_equal(fake_str(p, "user"), "alice");
	assert_string_equal(fake_str(p, "comm"), "a b) (c");
	assert_string_equal(fake_str(p, "cmdline"), "sleep 1000");
	assert_string_equal(fake_str(p, "state"), "S");
	assert_string_equal(fake_str(p, "start_time"), "2024-05-01T12:00:00.000Z");
	assert_true(fake_num(p, "threads") == 3);
	assert_true(fake_num(p, "cpu_system_s") == 0.25);
	assert_string_equal(fake_str(p, "cgroup"), "/user.slice");
	assert_false(fake_has(p, "exe")); /* not read: left out */
	assert_false(fake_has(p, "nspid"));
	assert_false(fake_has(p, "error"));
	json_t *g = fake_value(&fr, "99");
	assert_string_equal(fake_str(g, "error"), strerror(ESRCH));
	assert_false(fake_has(g, "ppid"));
	assert_int_equal(fake_errors(&fr, "process"), 2); /* the hook and pid 99 */
	assert_true(fake_message(&fr, "process", "pid 7: Permission denied"));
	assert_true(fake_message(&fr, "process", "process 99 (gone)"));
	fake_frame_free(&fr);

	/* crawler layout: key comm/pid, created in epoch seconds */
	fake_view_item_error(&fv, FAKE_PROCESSES, NULL, 0);
	crawl(&feature_process, &fv, true, &fr);
	assert_non_null(strstr(fr.text, "\nprocess\t\"a b) (c/1234\"\t{"));
	assert_non_null(strstr(fr.text, "\"created\":1714564800"));
	assert_non_null(strstr(fr.text, "\"pname\":\"a b) (c\""));
	fake_frame_free(&fr);
}

static void test_process_op_fails(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.err[FAKE_PROCESSES] = -EACCES;
	crawl(&feature_process, &fv, false, &fr);
	assert_int_equal(fr.rc, -EACCES);
	assert_int_equal(fake_errors(&fr, "process"), 1);
	assert_true(fake_message(&fr, "process", "feature process failed: Permission denied"));
	fake_frame_free(&fr);
}

/* ---- connection ---------------------------------------------------------------- */

static void test_connection(void **state)
{
	static const struct vt_sock socks[] = {
	    {.have = VS_OWNER | VS_UID | VS_INODE,
	     .family = AF_INET,
	     .proto = IPPROTO_TCP,
	     .local_addr = "0.0.0.0",
	     .local_port = 22,
	     .remote_addr = "0.0.0.0",
	     .state = TCP_LISTEN,
	     .inode = 555,
	     .uid = 0,
	     .pid = 10,
	     .comm = "sshd"},
	    {.have = VS_INODE,
	     .family = AF_INET6,
	     .proto = IPPROTO_TCP,
	     .local_addr = "::1",
	     .local_port = 40000,
	     .remote_addr = "::1",
	     .remote_port = 22,
	     .state = TCP_ESTABLISHED,
	     .inode = 556},
	    {.family = AF_INET,
	     .proto = IPPROTO_UDP,
	     .local_addr = "127.0.0.1",
	     .local_port = 53,
	     .remote_addr = "0.0.0.0",
	     .state = TCP_CLOSE},
	};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.socks = socks;
	fv.nsocks = 3;
	crawl(&feature_connection, &fv, false, &fr);
	assert_int_equal(fr.rc, 0);
	json_t *l = fake_value(&fr, "tcp/0.0.0.0/22");
	assert_non_null(l);
	assert_string_equal(fake_str(l, "state"), "LISTEN");
	assert_string_equal(fake_str(l, "family"), "ipv4");
	assert_true(fake_num(l, "pid") == 10);
	assert_string_equal(fake_str(l, "comm"), "sshd");
	assert_true(fake_num(l, "inode") == 555);
	json_t *e = fake_value(&fr, "tcp6/::1/40000/::1/22");
	assert_non_null(e);
	assert_string_equal(fake_str(e, "state"), "ESTABLISHED");
	assert_true(is_null(e, "pid")); /* owner unknown: null, not an error */
	assert_true(is_null(e, "comm"));
	assert_false(fake_has(e, "uid"));
	json_t *u = fake_value(&fr, "udp/127.0.0.1/53");
	assert_string_equal(fake_str(u, "state"), "UNCONN");
	assert_string_equal(fake_str(u, "proto"), "udp");
	assert_true(is_null(u, "inode"));
	assert_int_equal(fake_errors(&fr, "connection"), 0);
	fake_frame_free(&fr);

	crawl(&feature_connection, &fv, true, &fr);
	assert_non_null(strstr(fr.text, "\nconnection\t\"10/0.0.0.0/22\"\t{"));
	assert_non_null(strstr(fr.text, "\nconnection\t\"-/::1/40000\"\t{"));
	assert_non_null(strstr(fr.text, "\"connstatus\":\"LISTEN\""));
	fake_frame_free(&fr);
}

/* ---- module --------------------------------------------------------------------- */

static void test_module(void **state)
{
	static const struct vt_module mods[] = {
	    {.name = "ext4", .size = 1000, .refcount = 2, .state = "Live", .deps = ""},
	    {.name = "crc16", .size = 20, .refcount = -1, .state = "Live", .deps = "ext4,,jbd2,"},
	};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.modules = mods;
	fv.nmodules = 2;
	crawl(&feature_module, &fv, false, &fr);
	json_t *e = fake_value(&fr, "ext4");
	assert_true(fake_num(e, "size") == 1000);
	assert_true(fake_num(e, "refcount") == 2);
	assert_int_equal(json_array_size(json_object_get(e, "used_by")), 0);
	json_t *c = fake_value(&fr, "crc16");
	assert_true(is_null(c, "refcount"));
	json_t *by = json_object_get(c, "used_by");
	assert_int_equal(json_array_size(by), 2); /* empty names dropped */
	assert_string_equal(json_string_value(json_array_get(by, 0)), "ext4");
	assert_string_equal(json_string_value(json_array_get(by, 1)), "jbd2");
	fake_frame_free(&fr);

	/* a view without modules (a container, --root): does not apply */
	fake_view_drop(&fv, FAKE_MODULES);
	crawl(&feature_module, &fv, false, &fr);
	assert_int_equal(fr.rc, -ENOTSUP);
	assert_int_equal(fake_nrecs(&fr), 0);
	assert_int_equal(fake_skipped(&fr, "module"), 1);
	assert_int_equal(fake_errors(&fr, "module"), 0);
	fake_frame_free(&fr);
}

/* ---- interface ------------------------------------------------------------------ */

static void test_interface(void **state)
{
	static const struct vt_iface ifs[] = {
	    {.name = "eth0",
	     .index = 2,
	     .mac = "52:54:00:12:34:56",
	     .mtu = 1500,
	     .flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST,
	     .addrs = eth_addrs,
	     .counters = {.rx_bytes = 100, .tx_packets = 7, .rx_dropped = 1}},
	    {.name = "tun0", .index = 3, .mtu = 1400, .flags = IFF_POINTOPOINT},
	};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fake_view_ifaces(&fv, 0, ifs, 2);
	crawl(&feature_interface, &fv, false, &fr);
	json_t *e = fake_value(&fr, "eth0");
	assert_string_equal(fake_str(e, "mac"), "52:54:00:12:34:56");
	assert_true(fake_num(e, "index") == 2);
	assert_true(fake_num(e, "mtu") == 1500);
	json_t *fl = json_object_get(e, "flags");
	assert_int_equal(json_array_size(fl), 4);
	assert_string_equal(json_string_value(json_array_get(fl, 0)), "up");
	assert_string_equal(json_string_value(json_array_get(fl, 1)), "broadcast");
	assert_string_equal(json_string_value(json_array_get(fl, 2)), "running");
	assert_string_equal(json_string_value(json_array_get(fl, 3)), "multicast");
	json_t *ad = json_object_get(e, "addresses");
	assert_int_equal(json_array_size(ad), 2);
	assert_string_equal(json_string_value(json_array_get(ad, 0)), "10.0.0.5/24");
	assert_true(fake_num(e, "rx_bytes") == 100);
	assert_true(fake_num(e, "tx_packets") == 7);
	assert_true(fake_num(e, "rx_dropped") == 1);
	json_t *t = fake_value(&fr, "tun0");
	assert_true(is_null(t, "mac"));
	assert_int_equal(json_array_size(json_object_get(t, "addresses")), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(t, "flags"), 0)),
	                    "pointopoint");
	fake_frame_free(&fr);

	crawl(&feature_interface, &fv, true, &fr);
	assert_non_null(strstr(fr.text, "\ninterface\t\"interface-eth0\"\t{"));
	fake_frame_free(&fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_os),         cmocka_unit_test(test_os_files_only),
	    cmocka_unit_test(test_process),    cmocka_unit_test(test_process_op_fails),
	    cmocka_unit_test(test_connection), cmocka_unit_test(test_module),
	    cmocka_unit_test(test_interface),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
