/* Unit tests: the metric feature (features/metric.c) on a fake view: rates
 * and CPU percentages between two snapshots of counters, counters that go
 * backwards, items in one sample only, interval 0, a primed first sample,
 * the daemon's carry (the last crawl's second sample as the next's first),
 * memory/load/file-system arithmetic, missing and failing ops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "fake_view.h"
#include "features/feature.h"

extern const struct feature feature_metric;

#define INTERVAL 0.05

static void crawl_interval(struct fake_view *fv, double interval, bool prime, struct fake_frame *fr)
{
	struct fake_opts o;
	fake_opts_init(&o);
	o.sample_interval = interval;
	o.prime = prime;
	fake_crawl(&feature_metric, &fv->base, &o, fr);
	assert_int_equal(fr->rc, 0);
}

/* The interval the feature measured, recovered exactly from a rate of a
 * counter that grew by `delta` (2 decimals of a rate near 1e10 leave
 * about 13 significant digits). */
static double dt_from(json_t *v, const char *rate, double delta)
{
	double r = fake_num(v, rate);
	assert_true(r > 0);
	double dt = delta / r;
	assert_true(dt >= INTERVAL - 1e-9);
	assert_true(dt < 5);
	/* interval_s is the same interval, 3 decimals */
	assert_true(fabs(fake_num(v, "interval_s") - dt) <= 0.0005 + 1e-9);
	return dt;
}

/* A rate must be (b - a) / dt, to the 2 decimals written. */
static void assert_rate(json_t *v, const char *name, double delta, double dt)
{
	double got = fake_num(v, name), want = delta / dt;
	if (fabs(got - want) > 0.005 + want * 1e-12)
		fail_msg("%s: %.4f, want (b-a)/dt = %.4f", name, got, want);
}

/* ---- disk I/O ---------------------------------------------------------------- */

static const struct vt_diskio disk_a[] = {
    {.device = "sda",
     .reads = 1000,
     .writes = 5000,
     .read_bytes = 1000000,
     .write_bytes = 777,
     .read_ms = 1,
     .write_ms = 2,
     .io_ms = 100},
    {.device = "sdc", .reads = 500, .writes = 900, .read_bytes = 4096, .io_ms = 50},
};
static const struct vt_diskio disk_b[] = {
    {.device = "sda",
     .reads = 1000 + 2000000000ull,
     .writes = 5000 + 500000000ull,
     .read_bytes = 1000000 + 1000000000ull,
     .write_bytes = 777,
     .read_ms = 3,
     .write_ms = 4,
     .io_ms = 101},
    /* replaced device: reads went backwards, writes still grew */
    {.device = "sdc", .reads = 10, .writes = 900 + 300000000ull, .read_bytes = 4096, .io_ms = 50},
    /* appears only in the second sample */
    {.device = "sdb", .reads = 7, .writes = 8},
};

static void test_disk_rates_exact(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fake_view_disk(&fv, 0, disk_a, 2);
	fake_view_disk(&fv, 1, disk_b, 3);
	crawl_interval(&fv, INTERVAL, false, &fr);
	assert_int_equal(fv.calls[FAKE_DISK_IO], 2);

	json_t *sda = fake_value(&fr, "diskio:sda");
	assert_non_null(sda);
	assert_string_equal(fake_str(sda, "device"), "sda");
	assert_true(fake_num(sda, "reads") == 1000 + 2000000000.0);
	double dt = dt_from(sda, "reads_per_s", 2e9);
	assert_rate(sda, "writes_per_s", 5e8, dt);
	assert_rate(sda, "read_bytes_per_s", 1e9, dt);
	assert_rate(sda, "write_bytes_per_s", 0, dt); /* unchanged: rate 0, present */
	double util = 1.0 / dt / 10.0;                /* 1 ms busy over dt, in % */
	assert_true(fabs(fake_num(sda, "util_pct") - util) <= 0.005 + 1e-9);

	json_t *sdc = fake_value(&fr, "diskio:sdc");
	assert_non_null(sdc);
	assert_false(fake_has(sdc, "reads_per_s")); /* went backwards: no rate */
	assert_true(fake_has(sdc, "writes_per_s"));
	assert_rate(sdc, "writes_per_s", 3e8, dt_from(sdc, "writes_per_s", 3e8));
	assert_true(fake_num(sdc, "reads") == 10);

	json_t *sdb = fake_value(&fr, "diskio:sdb");
	assert_non_null(sdb);
	assert_false(fake_has(sdb, "reads_per_s"));
	assert_false(fake_has(sdb, "interval_s"));
	assert_true(fake_num(sdb, "writes") == 8);
	assert_int_equal(fake_errors(&fr, "metric"), 0);
	fake_frame_free(&fr);
}

/* ---- CPU ------------------------------------------------------------------- */

static const struct vt_cpu cpu_a[] = {
    {.cpu = -1, .user = 100, .system = 50, .idle = 1000, .iowait = 10},
    {.cpu = 0, .user = 7, .idle = 9},
    {.cpu = 1, .user = 1, .nice = 1, .system = 1, .idle = 1, .steal = 1},
};
static const struct vt_cpu cpu_b[] = {
    {.cpu = -1, .user = 130, .system = 60, .idle = 1050, .iowait = 20},
    {.cpu = 0, .user = 7, .idle = 9}, /* nothing elapsed on this one */
    {.cpu = 1, .user = 2, .nice = 2, .system = 2, .idle = 1, .steal = 5},
};

static void test_cpu_pct(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fake_view_cpu(&fv, 0, cpu_a, 3);
	fake_view_cpu(&fv, 1, cpu_b, 3);
	crawl_interval(&fv, INTERVAL, false, &fr);

	json_t *all = fake_value(&fr, "cpu");
	assert_non_null(all);
	/* deltas user 30 system 10 idle 50 iowait 10: of 100 */
	assert_true(fake_num(all, "user_pct") == 30);
	assert_true(fake_num(all, "system_pct") == 10);
	assert_true(fake_num(all, "idle_pct") == 50);
	assert_true(fake_num(all, "iowait_pct") == 10);
	assert_true(fake_num(all, "nice_pct") == 0);
	assert_true(fake_num(all, "busy_pct") == 40); /* 100 - idle - iowait */
	assert_true(fake_num(all, "interval_s") >= INTERVAL);

	/* an empty interval: cumulative seconds instead of percentages */
	json_t *c0 = fake_value(&fr, "cpu0");
	assert_non_null(c0);
	assert_false(fake_has(c0, "user_pct"));
	assert_true(fake_num(c0, "user_s") == 7);
	assert_true(fake_num(c0, "idle_s") == 9);

	json_t *c1 = fake_value(&fr, "cpu1"); /* 1+1+1+0+4 = 7 */
	assert_non_null(c1);
	assert_true(fabs(fake_num(c1, "steal_pct") - 57.14) < 1e-9);
	assert_true(fabs(fake_num(c1, "user_pct") - 14.29) < 1e-9);
	assert_true(fake_num(c1, "idle_pct") == 0);
	assert_true(fake_num(c1, "busy_pct") == 100);
	fake_frame_free(&fr);
}

/* A primed first sample (a crawl of many systems): the same rates. */
static void test_primed(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fake_view_cpu(&fv, 0, cpu_a, 1);
	fake_view_cpu(&fv, 1, cpu_b, 1);
	fake_view_disk(&fv, 0, disk_a, 1);
	fake_view_disk(&fv, 1, disk_b, 1);
	crawl_interval(&fv, INTERVAL, true, &fr);
	assert_int_equal(fv.calls[FAKE_CPU_TIMES], 2);
	assert_int_equal(fv.calls[FAKE_DISK_IO], 2);
	assert_true(fake_num(fake_value(&fr, "cpu"), "busy_pct") == 40);
	json_t *sda = fake_value(&fr, "diskio:sda");
	assert_rate(sda, "writes_per_s", 5e8, dt_from(sda, "reads_per_s", 2e9));
	fake_frame_free(&fr);
}

/* The daemon: a crawl leaves its second sample in the carry; the next
 * crawl reads the counters once and takes its rates against it. */
static void test_carry(void **state)
{
	static const struct vt_cpu cpu_c[] = {
	    {.cpu = -1, .user = 150, .system = 60, .idle = 1080, .iowait = 20},
	};
	struct fake_view fv;
	struct fake_frame fr;
	void *carry = NULL;
	fake_view_init(&fv);
	fake_view_cpu(&fv, 0, cpu_a, 1);
	fake_view_cpu(&fv, 1, cpu_b, 1);
	fake_view_cpu(&fv, 2, cpu_c, 1);
	struct fake_opts o;
	fake_opts_init(&o);
	o.sample_interval = INTERVAL;
	o.carry = &carry;
	fake_crawl(&feature_metric, &fv.base, &o, &fr);
	assert_int_equal(fr.rc, 0);
	assert_int_equal(fv.calls[FAKE_CPU_TIMES], 2); /* nothing carried yet: two samples */
	assert_true(fake_num(fake_value(&fr, "cpu"), "busy_pct") == 40);
	assert_non_null(carry);
	fake_frame_free(&fr);

	fake_crawl(&feature_metric, &fv.base, &o, &fr);
	assert_int_equal(fr.rc, 0);
	assert_int_equal(fv.calls[FAKE_CPU_TIMES], 3); /* one read: b was carried */
	json_t *all = fake_value(&fr, "cpu");
	/* b -> c: user 20, idle 30, of 50 */
	assert_true(fake_num(all, "user_pct") == 40);
	assert_true(fake_num(all, "idle_pct") == 60);
	assert_true(fake_num(all, "busy_pct") == 40);
	assert_non_null(carry);
	fake_frame_free(&fr);
	feature_metric.prime_free(carry);
}

/* Interval 0: one sample, cumulative values, no rates. */
static void test_interval_zero(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fake_view_cpu(&fv, 0, cpu_a, 1);
	fake_view_disk(&fv, 0, disk_a, 1);
	crawl_interval(&fv, 0, false, &fr);
	assert_int_equal(fv.calls[FAKE_CPU_TIMES], 1);
	assert_int_equal(fv.calls[FAKE_DISK_IO], 1);
	json_t *all = fake_value(&fr, "cpu");
	assert_true(fake_num(all, "user_s") == 100);
	assert_true(fake_num(all, "iowait_s") == 10);
	assert_false(fake_has(all, "busy_pct"));
	json_t *sda = fake_value(&fr, "diskio:sda");
	assert_true(fake_num(sda, "reads") == 1000);
	assert_false(fake_has(sda, "reads_per_s"));
	assert_false(fake_has(sda, "interval_s"));
	fake_frame_free(&fr);
}

/* ---- network ----------------------------------------------------------------- */

static const struct vt_iface if_a[] = {
    {.name = "eth0",
     .counters = {.rx_bytes = 5, .rx_packets = 10, .tx_bytes = 100, .tx_packets = 20}},
    {.name = "lo", .counters = {.rx_bytes = 1000, .tx_bytes = 1000}},
};
static const struct vt_iface if_b[] = {
    {.name = "eth0",
     .counters = {.rx_bytes = 5 + 3000000000ull,
                  .rx_packets = 10 + 2000000,
                  .rx_errors = 3,
                  .tx_bytes = 100 + 1000000000ull,
                  .tx_packets = 20}},
    {.name = "lo", .counters = {.rx_bytes = 10, .tx_bytes = 2000}}, /* rx reset */
};

static void test_net_rates(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fake_view_ifaces(&fv, 0, if_a, 2);
	fake_view_ifaces(&fv, 1, if_b, 2);
	crawl_interval(&fv, INTERVAL, false, &fr);

	json_t *eth = fake_value(&fr, "net:eth0");
	assert_non_null(eth);
	assert_string_equal(fake_str(eth, "ifname"), "eth0");
	double dt = dt_from(eth, "rx_bytes_per_s", 3e9);
	assert_rate(eth, "tx_bytes_per_s", 1e9, dt);
	assert_rate(eth, "rx_packets_per_s", 2e6, dt);
	assert_rate(eth, "rx_errors_per_s", 3, dt);
	assert_rate(eth, "tx_packets_per_s", 0, dt);
	assert_true(fake_num(eth, "rx_bytes") == 5 + 3e9);

	json_t *lo = fake_value(&fr, "net:lo");
	assert_non_null(lo);
	assert_false(fake_has(lo, "rx_bytes_per_s")); /* counter reset */
	assert_true(fake_has(lo, "tx_bytes_per_s"));
	assert_true(fake_num(lo, "rx_bytes") == 10);
	fake_frame_free(&fr);
}

/* ---- cgroup ------------------------------------------------------------------- */

static void test_cgroup(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	struct vt_cgroup a = {.have = VC_CPU | VC_MEM | VC_MEMLIMIT | VC_PIDS | VC_PIDSLIMIT,
	                      .version = 2,
	                      .cpu_usage_ns = 1000000000,
	                      .mem_usage = 4096,
	                      .mem_limit = UINT64_MAX,
	                      .pids_current = 3,
	                      .pids_limit = 100};
	struct vt_cgroup b = a;
	b.cpu_usage_ns += 25000000; /* 25 ms of CPU */
	fake_view_init(&fv);
	fake_view_cgroup(&fv, 0, &a);
	fake_view_cgroup(&fv, 1, &b);
	crawl_interval(&fv, INTERVAL, false, &fr);

	json_t *cg = fake_value(&fr, "cgroup");
	assert_non_null(cg);
	assert_true(fake_num(cg, "version") == 2);
	assert_true(fake_num(cg, "cpu_usage_ns") == 1025000000.0);
	double dt = fake_num(cg, "interval_s"), want = 25e6 / 1e7 / dt;
	assert_true(dt >= INTERVAL);
	/* cpu_pct = delta ns / dt / 1e7; dt known to 3 decimals here */
	assert_true(fabs(fake_num(cg, "cpu_pct") - want) <= 2.5 * 0.0005 / (dt * dt) + 0.01);
	assert_true(json_is_null(json_object_get(cg, "mem_limit_bytes"))); /* unlimited */
	assert_true(fake_num(cg, "pids_limit") == 100);
	assert_false(fake_has(cg, "nr_periods"));
	fake_frame_free(&fr);
}

/* ---- memory, load, file systems ------------------------------------------------- */

static void test_memory_load_fs(void **state)
{
	static const struct vt_fs fs[] = {
	    {.mountpoint = "/",
	     .device = "/dev/sda1",
	     .fstype = "ext4",
	     .size_bytes = 400,
	     .used_bytes = 300,
	     .avail_bytes = 100,
	     .inodes = 1000,
	     .inodes_free = 250},
	    {.mountpoint = "/boot/efi",
	     .device = "/dev/sda2",
	     .fstype = "vfat",
	     .size_bytes = 10,
	     .used_bytes = 1,
	     .avail_bytes = 3},
	};
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fv.mem = (struct vt_mem){.have = VM_AVAILABLE | VM_SWAP | VM_CACHE,
	                         .total_kb = 1000,
	                         .free_kb = 100,
	                         .available_kb = 400,
	                         .buffers_kb = 50,
	                         .cached_kb = 200,
	                         .swap_total_kb = 100,
	                         .swap_free_kb = 25};
	fv.load =
	    (struct vt_load){.load1 = 0.5, .load5 = 1.25, .load15 = 2, .running = 2, .total = 300};
	fv.kernel = (struct vt_kernel){.have = VK_UPTIME, .uptime = 1234.5};
	fv.fs = fs;
	fv.nfs = 2;
	crawl_interval(&fv, 0, false, &fr);

	json_t *m = fake_value(&fr, "memory");
	assert_true(fake_num(m, "used_kb") == 600);
	assert_true(fake_num(m, "used_pct") == 60);
	assert_true(fake_num(m, "swap_used_kb") == 75);
	assert_true(fake_num(m, "swap_used_pct") == 75);
	assert_true(fake_num(m, "cached_kb") == 200);
	assert_false(fake_has(m, "available_estimated"));

	json_t *l = fake_value(&fr, "load");
	assert_true(fake_num(l, "load5") == 1.25);
	assert_true(fake_num(l, "runnable") == 2);
	assert_true(fake_num(l, "tasks") == 300);
	assert_true(fake_num(l, "uptime_s") == 1234.5);

	json_t *root = fake_value(&fr, "disk:/");
	assert_string_equal(fake_str(root, "fstype"), "ext4");
	assert_true(fake_num(root, "used_pct") == 75);
	assert_true(fake_num(root, "inodes_used") == 750);
	assert_true(fake_num(root, "inodes_used_pct") == 75);
	json_t *efi = fake_value(&fr, "disk:/boot/efi");
	assert_true(fake_num(efi, "used_pct") == 25);
	assert_false(fake_has(efi, "inodes_used")); /* no inode table */
	fake_frame_free(&fr);

	/* without MemAvailable: free + buffers + cached, said so */
	fv.mem.have = 0;
	crawl_interval(&fv, 0, false, &fr);
	m = fake_value(&fr, "memory");
	assert_true(fake_num(m, "available_kb") == 350);
	assert_true(fake_num(m, "used_pct") == 65);
	assert_true(json_is_true(json_object_get(m, "available_estimated")));
	assert_false(fake_has(m, "swap_total_kb"));
	fake_frame_free(&fr);
}

/* ---- missing and failing ops ----------------------------------------------------- */

static void test_missing_ops(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fake_view_cpu(&fv, 0, cpu_a, 1);
	fake_view_disk(&fv, 0, disk_a, 1);
	fake_view_drop(&fv, FAKE_CPU_TIMES);
	fake_view_drop(&fv, FAKE_DISK_IO);
	fake_view_drop(&fv, FAKE_LOAD);
	fake_view_drop(&fv, FAKE_INTERFACES);
	fake_view_drop(&fv, FAKE_FILESYSTEMS);
	fake_view_drop(&fv, FAKE_CGROUP);
	crawl_interval(&fv, INTERVAL, false, &fr);
	/* a view without an op is not an error: the records are just absent */
	assert_null(fake_value(&fr, "cpu"));
	assert_null(fake_value(&fr, "diskio:sda"));
	assert_null(fake_value(&fr, "load"));
	assert_null(fake_value(&fr, "cgroup"));
	assert_non_null(fake_value(&fr, "memory"));
	assert_int_equal(fake_nrecs(&fr), 1);
	assert_int_equal(fake_errors(&fr, "metric"), 0);
	assert_int_equal(fake_skipped(&fr, "metric"), 0);
	fake_frame_free(&fr);
}

static void test_failing_ops(void **state)
{
	struct fake_view fv;
	struct fake_frame fr;
	fake_view_init(&fv);
	fake_view_cpu(&fv, 0, cpu_a, 1);
	fake_view_cpu(&fv, 1, cpu_b, 1);
	fv.err[FAKE_MEMORY] = -EACCES;
	fv.err[FAKE_DISK_IO] = -EIO;
	fake_view_item_error(&fv, FAKE_INTERFACES, "/proc/net/dev", EPERM);
	/* FAKE_CGROUP has no sample: the view answers -ENOENT, a skip */
	crawl_interval(&fv, INTERVAL, false, &fr);
	assert_null(fake_value(&fr, "memory"));
	assert_non_null(fake_value(&fr, "cpu"));
	assert_non_null(fake_value(&fr, "load"));
	/* memory; disk I/O and the interface hook once per sample */
	assert_int_equal(fake_errors(&fr, "metric"), 5);
	assert_true(fake_message(&fr, "metric", "memory: Permission denied"));
	assert_true(fake_message(&fr, "metric", "disk I/O (first sample): Input/output error"));
	assert_true(fake_message(&fr, "metric", "/proc/net/dev: Operation not permitted"));
	assert_int_equal(fake_skipped(&fr, "metric"), 1);
	assert_true(fake_message(&fr, "metric", "cgroup: no cgroup counters"));
	fake_frame_free(&fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_disk_rates_exact), cmocka_unit_test(test_cpu_pct),
	    cmocka_unit_test(test_primed),           cmocka_unit_test(test_interval_zero),
	    cmocka_unit_test(test_net_rates),        cmocka_unit_test(test_cgroup),
	    cmocka_unit_test(test_memory_load_fs),   cmocka_unit_test(test_missing_ops),
	    cmocka_unit_test(test_failing_ops),      cmocka_unit_test(test_carry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
