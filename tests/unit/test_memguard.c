/*
 * test_memguard.c - the memory guard's levels (with their hysteresis) and
 * how it finds its cgroup in /proc/self/cgroup (engine/memguard.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/memguard.h"
#include "views/host/cgroup.h"

static void levels_up_and_down(void **state)
{
	(void)state;
	assert_int_equal(memguard_level(0.0, 0), 0);
	assert_int_equal(memguard_level(0.79, 0), 0);
	assert_int_equal(memguard_level(0.80, 0), MEMGUARD_TRIM);
	assert_int_equal(memguard_level(0.90, 0), MEMGUARD_REFUSE_STREAMS);
	assert_int_equal(memguard_level(0.95, 0), MEMGUARD_METRIC_ONLY);
	assert_int_equal(memguard_level(1.7, 0), MEMGUARD_METRIC_ONLY); /* over the limit */
	/* down only 10 points below where a level starts */
	assert_int_equal(memguard_level(0.86, MEMGUARD_METRIC_ONLY), MEMGUARD_METRIC_ONLY);
	assert_int_equal(memguard_level(0.84, MEMGUARD_METRIC_ONLY), MEMGUARD_REFUSE_STREAMS);
	assert_int_equal(memguard_level(0.81, MEMGUARD_REFUSE_STREAMS), MEMGUARD_REFUSE_STREAMS);
	assert_int_equal(memguard_level(0.79, MEMGUARD_REFUSE_STREAMS), MEMGUARD_TRIM);
	assert_int_equal(memguard_level(0.71, MEMGUARD_TRIM), MEMGUARD_TRIM);
	assert_int_equal(memguard_level(0.69, MEMGUARD_TRIM), 0);
	assert_int_equal(memguard_level(0.10, MEMGUARD_METRIC_ONLY), 0); /* all at once */
	assert_int_equal(memguard_level(0.93, MEMGUARD_TRIM), MEMGUARD_REFUSE_STREAMS);
}

static void paths_of_each_layout(void **state)
{
	(void)state;
	struct cgroup_paths p;
	char hybrid[] = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/4cf3\n1:cpu:/\n0::/\n";
	memguard_cgroup_paths(hybrid, &p);
	assert_string_equal(p.path[CG_MEMORY], "/process_api/4cf3");
	assert_string_equal(p.path[CG_V2], "/");
	char v2[] = "0::/system.slice/vantage.service\n";
	memguard_cgroup_paths(v2, &p);
	assert_null(p.path[CG_MEMORY]);
	assert_string_equal(p.path[CG_V2], "/system.slice/vantage.service");
	char joined[] = "5:cpuset,memory,blkio:/vantage-test/m1"; /* no newline at the end */
	memguard_cgroup_paths(joined, &p);
	assert_string_equal(p.path[CG_MEMORY], "/vantage-test/m1");
	assert_null(p.path[CG_V2]);
	char garbage[] = "memory\n::\n4:memoryx:/a\n4:xmemory:/b\n:memory:relative\n\n0:\n";
	memguard_cgroup_paths(garbage, &p);
	assert_null(p.path[CG_MEMORY]);
	assert_null(p.path[CG_V2]);
	char empty[] = "";
	memguard_cgroup_paths(empty, &p);
	assert_null(p.path[CG_MEMORY]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(levels_up_and_down),
	    cmocka_unit_test(paths_of_each_layout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
