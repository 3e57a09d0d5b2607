/* Unit tests: the aborting allocators (util/xalloc.c), under ASan and
 * UBSan: sizes of 0, copies, growth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/xalloc.h"

static void sizes(void **state)
{
	void *p = xmalloc(0);
	assert_non_null(p);
	free(p);
	int *z = xcalloc(0, sizeof(int));
	assert_non_null(z);
	free(z);
	z = xcalloc(16, sizeof(int));
	for (int i = 0; i < 16; i++)
		assert_int_equal(z[i], 0);
	z = xreallocarray(z, 1024, sizeof(int));
	z[1023] = 7;
	assert_int_equal(z[0], 0);
	z = xrealloc(z, 0);
	assert_non_null(z);
	free(z);
}

static void strings(void **state)
{
	char *s = xstrdup("vantage");
	assert_string_equal(s, "vantage");
	free(s);
	s = xstrndup("vantage", 3);
	assert_string_equal(s, "van");
	free(s);
	s = xstrndup("ab", 10);
	assert_string_equal(s, "ab");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sizes),
	    cmocka_unit_test(strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
