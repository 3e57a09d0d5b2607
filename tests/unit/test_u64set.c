/* Unit tests: the 64-bit key map and set (util/u64set.c), checked
 * against a plain array under ASan+UBSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/u64set.h"

static void set_basics(void **state)
{
	struct u64set s;
	u64set_init(&s);
	assert_false(u64set_has(&s, 0));
	assert_false(u64set_has(&s, 42));
	assert_int_equal(u64set_count(&s), 0);
	assert_int_equal(u64set_add(&s, 42), 1);
	assert_int_equal(u64set_add(&s, 42), 0);
	assert_int_equal(u64set_add(&s, 0), 1); /* 0 is a key like any other */
	assert_int_equal(u64set_add(&s, 0), 0);
	assert_int_equal(u64set_add(&s, UINT64_MAX), 1);
	assert_true(u64set_has(&s, 0) && u64set_has(&s, 42) && u64set_has(&s, UINT64_MAX));
	assert_false(u64set_has(&s, 43));
	assert_int_equal(u64set_count(&s), 3);
	u64set_free(&s);
	assert_int_equal(u64set_count(&s), 0);
	assert_false(u64set_has(&s, 42));
	u64set_free(&s); /* twice is fine */
}

struct val {
	int pid;
	char comm[16];
};

static void map_values(void **state)
{
	struct u64map m;
	bool added;
	u64map_init(&m, sizeof(struct val));
	assert_null(u64map_get(&m, 7));
	struct val *v = u64map_put(&m, 7, &added);
	assert_non_null(v);
	assert_true(added);
	assert_int_equal(v->pid, 0); /* zeroed */
	v->pid = 100;
	strcpy(v->comm, "init");
	v = u64map_put(&m, 7, &added);
	assert_false(added);
	assert_int_equal(v->pid, 100);
	v = u64map_put(&m, 0, &added);
	assert_true(added);
	v->pid = 5;
	/* grow many times: values move with their keys */
	for (uint64_t k = 1000; k < 21000; k++) {
		v = u64map_put(&m, k << 12, &added); /* page-aligned, like addresses */
		assert_true(added);
		v->pid = (int)k;
	}
	assert_int_equal(u64map_count(&m), 20002);
	assert_int_equal(((struct val *)u64map_get(&m, 7))->pid, 100);
	assert_string_equal(((struct val *)u64map_get(&m, 7))->comm, "init");
	assert_int_equal(((struct val *)u64map_get(&m, 0))->pid, 5);
	for (uint64_t k = 1000; k < 21000; k++)
		assert_int_equal(((struct val *)u64map_get(&m, k << 12))->pid, (int)k);
	assert_null(u64map_get(&m, 999 << 12));
	/* iteration sees every key once */
	size_t pos = 0, n = 0;
	uint64_t key;
	void *val;
	long long sum = 0;
	while (u64map_next(&m, &pos, &key, &val)) {
		n++;
		sum += ((struct val *)val)->pid;
	}
	assert_int_equal(n, 20002);
	long long want = 100 + 5;
	for (long long k = 1000; k < 21000; k++)
		want += k;
	assert_int_equal(sum, want);
	u64map_free(&m);
}

static void reserve_keeps_pointers(void **state)
{
	struct u64map m;
	u64map_init(&m, sizeof(int));
	assert_int_equal(u64map_reserve(&m, 1000), 0);
	int *first = u64map_put(&m, 1, NULL);
	for (uint64_t k = 2; k <= 1000; k++)
		assert_non_null(u64map_put(&m, k, NULL));
	assert_ptr_equal(first, u64map_get(&m, 1)); /* no growth happened */
	u64map_free(&m);
}

/* Random keys against a sorted reference. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void random_against_array(void **state)
{
	enum { N = 5000 };
	uint64_t *ref = calloc(N, sizeof(*ref));
	struct u64set s;
	uint64_t x = 88172645463325252ull;
	size_t nref = 0;
	u64set_init(&s);
	for (int i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t k = (i % 3 == 0) ? x % 512 : x; /* many repeats */
		bool had = bsearch(&k, ref, nref, sizeof(*ref), cmp_u64) != NULL;
		int r = u64set_add(&s, k);
		assert_int_equal(r, had ? 0 : 1);
		if (!had) {
			ref[nref++] = k;
			qsort(ref, nref, sizeof(*ref), cmp_u64);
		}
	}
	assert_int_equal(u64set_count(&s), nref);
	for (size_t i = 0; i < nref; i++)
		assert_true(u64set_has(&s, ref[i]));
	u64set_free(&s);
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(set_basics),
	    cmocka_unit_test(map_values),
	    cmocka_unit_test(reserve_keeps_pointers),
	    cmocka_unit_test(random_against_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
