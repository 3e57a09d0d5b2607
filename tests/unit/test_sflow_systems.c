/*
 * Unit tests: engine/sflow_systems.c, counter samples to systems and
 * frames of metric records.  Samples are built as sflow_decode() would
 * hand them over; the frames go to a file sink and are read back with
 * jansson.  Checked: a host's identity, labels and records; CPU
 * percentages from two samples, across a u32 wrap; stale samples dropped,
 * sequence gaps counted, an agent restart giving no rates; virtual nodes
 * as containers (their host's kernel) or VMs (a kernel of their own, or an
 * OS the agent does not know) tied to their parent host, held while that
 * cannot be told; ids without a uuid; hostile hostnames made safe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "engine/sflow_systems.h"
#include "sinks/sinks.h"

struct env {
	char path[64];
	struct sink *sink;
	struct sflow_systems *sys;
	long off; /* where the next frames start in the file */
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "/tmp/test_sflow_systems.XXXXXX");
	int fd = mkstemp(e->path);
	assert_true(fd >= 0);
	close(fd);
	char err[256];
	struct sink_env env = {0};
	assert_int_equal(sink_open(e->path, &env, &e->sink, err, sizeof(err)), 0);
	e->sys = sflow_systems_new(e->sink);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	sflow_systems_free(e->sys);
	sink_close(e->sink);
	unlink(e->path);
	free(e);
	return 0;
}

/* The records written since the last call: a JSON array of the lines. */
static json_t *take(struct env *e)
{
	FILE *f = fopen(e->path, "r");
	assert_non_null(f);
	fseek(f, e->off, SEEK_SET);
	json_t *all = json_array();
	char line[65536];
	while (fgets(line, sizeof(line), f)) {
		json_error_t err;
		json_t *j = json_loads(line, 0, &err);
		if (!j)
			fail_msg("not JSON (%s): %s", err.text, line);
		json_array_append_new(all, j);
	}
	e->off = ftell(f);
	fclose(f);
	return all;
}

/* The value of record (system, feature "metric" or "frame", key), or NULL. */
static json_t *rec(json_t *all, const char *feature, const char *key)
{
	size_t i;
	json_t *r;
	json_t *found = NULL;
	json_array_foreach(all, i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "feature")), feature) == 0 &&
		    (!key || strcmp(json_string_value(json_object_get(r, "key")), key) == 0)) {
			found = json_object_get(r, "value");
		}
	}
	return found;
}

static double num(json_t *obj, const char *field)
{
	json_t *v = json_object_get(obj, field);
	if (!json_is_number(v))
		fail_msg("no number %s", field);
	return json_number_value(v);
}

static struct sflow_header hdr(uint32_t uptime)
{
	struct sflow_header h = {.agent = {.af = 1, .a = {10, 1, 2, 3}},
	                         .sub_agent = 7,
	                         .seq = 1,
	                         .uptime_ms = uptime,
	                         .nsamples = 1};
	return h;
}

static void host(struct sflow_counters *c, uint32_t seq)
{
	memset(c, 0, sizeof(*c));
	c->seq = seq;
	c->ds_class = SFLOW_DS_PHYSICAL;
	c->ds_index = 1;
	c->has_descr = c->has_cpu = c->has_mem = true;
	snprintf(c->descr.hostname, sizeof(c->descr.hostname), "web-host");
	for (int i = 0; i < 16; i++)
		c->descr.uuid[i] = (uint8_t)(0x10 + i);
	c->descr.machine_type = SFLOW_MT_X86_64;
	snprintf(c->descr.os_release, sizeof(c->descr.os_release), "5.10.0-28-amd64");
	c->cpu.load_one = 1.5f;
	c->cpu.cpu_num = 2;
	c->mem.mem_total = 1000ull << 20;
	c->mem.mem_free = 400ull << 20;
	c->mem.mem_buffers = 50ull << 20;
	c->mem.mem_cached = 150ull << 20;
}

static void host_identity_and_rates(void **state)
{
	struct env *e = *state;
	struct sflow_counters c;
	host(&c, 1);
	c.cpu.cpu_user = 0xFFFFFF00u; /* wraps before the next sample */
	c.cpu.cpu_idle = 1000;
	struct sflow_header h = hdr(10000);
	assert_int_equal(sflow_systems_counters(e->sys, &h, &c, 0), 0);
	json_t *a = take(e);
	json_t *head = rec(a, "frame", NULL);
	assert_non_null(head);
	assert_string_equal(json_string_value(json_object_get(head, "id")),
	                    "host:sflow:10.1.2.3:10111213-1415-1617-1819-1a1b1c1d1e1f");
	assert_string_equal(json_string_value(json_object_get(head, "kind")), "host");
	assert_string_equal(json_string_value(json_object_get(head, "name")), "web-host");
	assert_string_equal(json_string_value(json_object_get(head, "host")), "web-host");
	json_t *l = json_object_get(head, "labels");
	assert_string_equal(json_string_value(json_object_get(l, "source")), "sflow");
	assert_string_equal(json_string_value(json_object_get(l, "agent")), "10.1.2.3");
	assert_string_equal(json_string_value(json_object_get(l, "sub_agent")), "7");
	assert_string_equal(json_string_value(json_object_get(l, "ds")), "2.1");
	assert_string_equal(json_string_value(json_object_get(l, "machine")), "x86_64");
	assert_null(rec(a, "metric", "cpu")); /* no rates from one sample */
	json_t *m = rec(a, "metric", "memory");
	assert_int_equal((int)num(m, "total_kb"), 1000 * 1024);
	assert_float_equal(num(m, "used_pct"), 40.0, 0.001); /* 1000 - 400 - 50 - 150 */
	assert_float_equal(num(rec(a, "metric", "load"), "load1"), 1.5, 0.001);
	json_decref(a);

	/* 2 s later: 512 ms user (across the wrap), 1536 ms idle */
	host(&c, 2);
	c.cpu.cpu_user = 0x100;
	c.cpu.cpu_idle = 1000 + 1536;
	h = hdr(12000);
	assert_int_equal(sflow_systems_counters(e->sys, &h, &c, 0), 0);
	a = take(e);
	json_t *cpu = rec(a, "metric", "cpu");
	assert_non_null(cpu);
	assert_float_equal(num(cpu, "user_pct"), 25.0, 0.001);
	assert_float_equal(num(cpu, "idle_pct"), 75.0, 0.001);
	assert_float_equal(num(cpu, "busy_pct"), 25.0, 0.001);
	assert_float_equal(num(cpu, "interval_s"), 2.0, 0.001);
	json_decref(a);

	/* the same sequence again: dropped; a gap of 3: counted, rates kept */
	h = hdr(13000);
	assert_int_equal(sflow_systems_counters(e->sys, &h, &c, 0), 0);
	a = take(e);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	host(&c, 6);
	c.cpu.cpu_user = 0x100 + 100;
	c.cpu.cpu_idle = 1000 + 1536 + 300;
	h = hdr(14000);
	assert_int_equal(sflow_systems_counters(e->sys, &h, &c, 0), 0);
	a = take(e);
	assert_float_equal(num(rec(a, "metric", "cpu"), "user_pct"), 25.0, 0.001);
	json_decref(a);

	/* the agent restarted: its uptime went back, no rates this time */
	host(&c, 1);
	h = hdr(500);
	assert_int_equal(sflow_systems_counters(e->sys, &h, &c, 0), 0);
	a = take(e);
	assert_non_null(rec(a, "metric", "memory"));
	assert_null(rec(a, "metric", "cpu"));
	json_decref(a);

	struct sflow_systems_stats st;
	sflow_systems_stats(e->sys, &st);
	assert_int_equal(st.sources, 1);
	assert_int_equal(st.frames, 4);
	assert_int_equal(st.stale, 1);
	assert_int_equal(st.lost, 3);
	assert_int_equal(st.restarts, 1);
}

static void virt(struct sflow_counters *c, uint32_t idx, const char *name, const char *release)
{
	memset(c, 0, sizeof(*c));
	c->seq = 1;
	c->ds_class = SFLOW_DS_LOGICAL;
	c->ds_index = idx;
	c->has_descr = c->has_parent = c->has_vcpu = c->has_vmem = c->has_vnet = true;
	snprintf(c->descr.hostname, sizeof(c->descr.hostname), "%s", name);
	c->descr.uuid[0] = (uint8_t)idx;
	snprintf(c->descr.os_release, sizeof(c->descr.os_release), "%s", release);
	c->parent.ds_class = SFLOW_DS_PHYSICAL;
	c->parent.ds_index = 1;
	c->vcpu.nr_virt_cpu = 2;
	c->vcpu.cpu_time_ms = 1000;
	c->vmem.memory = 256ull << 20;
	c->vmem.max_memory = 1024ull << 20;
	c->vnet.bytes_in = 1000;
}

static void virtual_nodes(void **state)
{
	struct env *e = *state;
	struct sflow_counters c;
	struct sflow_header h = hdr(10000);
	host(&c, 1);
	sflow_systems_counters(e->sys, &h, &c, 0);
	json_decref(take(e));

	virt(&c, 77, "redis-1", "5.10.0-28-amd64"); /* the host's kernel */
	assert_int_equal(sflow_systems_counters(e->sys, &h, &c, 0), 0);
	json_t *a = take(e);
	json_t *head = rec(a, "frame", NULL);
	assert_string_equal(json_string_value(json_object_get(head, "kind")), "container");
	assert_string_equal(json_string_value(json_object_get(head, "runtime")), "sflow");
	assert_string_equal(json_string_value(json_object_get(head, "name")), "redis-1");
	assert_string_equal(json_string_value(json_object_get(head, "host")), "web-host");
	const char *id = json_string_value(json_object_get(head, "id"));
	assert_true(strncmp(id, "container:sflow:10.1.2.3:4d000000-", 34) == 0);
	json_t *l = json_object_get(head, "labels");
	assert_string_equal(json_string_value(json_object_get(l, "parent")),
	                    "host:sflow:10.1.2.3:10111213-1415-1617-1819-1a1b1c1d1e1f");
	json_t *cg = rec(a, "metric", "cgroup");
	assert_int_equal((long long)num(cg, "mem_usage_bytes"), 256ll << 20);
	assert_float_equal(num(rec(a, "metric", "memory"), "used_pct"), 25.0, 0.001);
	json_decref(a);

	/* 1 s later, 500 ms of CPU: 50 % of one core, 25 % of its two vCPUs */
	c.seq = 2;
	c.vcpu.cpu_time_ms = 1500;
	c.vnet.bytes_in = 3000;
	h = hdr(11000);
	assert_int_equal(sflow_systems_counters(e->sys, &h, &c, 0), 0);
	a = take(e);
	assert_float_equal(num(rec(a, "metric", "cgroup"), "cpu_pct"), 50.0, 0.001);
	assert_float_equal(num(rec(a, "metric", "cpu"), "busy_pct"), 25.0, 0.001);
	assert_float_equal(num(rec(a, "metric", "net:all"), "rx_bytes_per_s"), 2000.0, 0.001);
	json_decref(a);

	virt(&c, 78, "win-vm", "10.0.19045"); /* a kernel of its own */
	assert_int_equal(sflow_systems_counters(e->sys, &h, &c, 0), 0);
	a = take(e);
	head = rec(a, "frame", NULL);
	assert_string_equal(json_string_value(json_object_get(head, "kind")), "vm");
	assert_true(strncmp(json_string_value(json_object_get(head, "id")), "vm:sflow:", 9) == 0);
	json_decref(a);

	/* no os_release, OS unknown: a hypervisor's guest (hsflowd's KVM) */
	virt(&c, 79, "kvm-guest", "");
	assert_int_equal(sflow_systems_counters(e->sys, &h, &c, 0), 0);
	a = take(e);
	assert_string_equal(json_string_value(json_object_get(rec(a, "frame", NULL), "kind")),
	                    "vm");
	json_decref(a);

	/* no os_release, OS Linux: cannot tell; held SFLOW_KIND_WAIT samples
	 * (no frame), then a container whose first frame has rates */
	for (uint32_t i = 1; i <= SFLOW_KIND_WAIT + 1; i++) {
		virt(&c, 80, "quiet", "");
		c.descr.os_name = SFLOW_OS_LINUX;
		c.seq = i;
		c.vcpu.cpu_time_ms = 1000 * i;
		h = hdr(11000 + 1000 * i);
		assert_int_equal(sflow_systems_counters(e->sys, &h, &c, 0), 0);
		a = take(e);
		if (i <= SFLOW_KIND_WAIT) {
			assert_int_equal(json_array_size(a), 0);
		} else {
			head = rec(a, "frame", NULL);
			assert_string_equal(json_string_value(json_object_get(head, "kind")),
			                    "container");
			assert_float_equal(num(rec(a, "metric", "cgroup"), "cpu_pct"), 100.0,
			                   0.001);
		}
		json_decref(a);
	}
	struct sflow_systems_stats st;
	sflow_systems_stats(e->sys, &st);
	assert_int_equal(st.undecided, SFLOW_KIND_WAIT);
}

static void no_uuid_and_hostile_names(void **state)
{
	struct env *e = *state;
	struct sflow_counters c;
	host(&c, 1);
	memset(c.descr.uuid, 0, sizeof(c.descr.uuid));
	snprintf(c.descr.hostname, sizeof(c.descr.hostname), "a\"b\\c\x01\xff");
	struct sflow_header h = hdr(1000);
	h.agent.af = 2;
	memset(h.agent.a, 0, 16);
	h.agent.a[0] = 0xfe;
	h.agent.a[1] = 0x80;
	h.agent.a[15] = 1;
	assert_int_equal(sflow_systems_counters(e->sys, &h, &c, 0), 0);
	json_t *a = take(e);
	json_t *head = rec(a, "frame", NULL);
	assert_string_equal(json_string_value(json_object_get(head, "id")),
	                    "host:sflow:fe80::1:7:2.1");
	assert_string_equal(json_string_value(json_object_get(head, "name")), "a?b?c??");
	json_decref(a);

	/* a sample with nothing we map (a switch port's generic_if): no system */
	memset(&c, 0, sizeof(c));
	c.ds_index = 3;
	assert_int_equal(sflow_systems_counters(e->sys, &h, &c, 0), 0);
	a = take(e);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	struct sflow_systems_stats st;
	sflow_systems_stats(e->sys, &st);
	assert_int_equal(st.no_records, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(host_identity_and_rates, setup, teardown),
	    cmocka_unit_test_setup_teardown(virtual_nodes, setup, teardown),
	    cmocka_unit_test_setup_teardown(no_uuid_and_hostile_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
