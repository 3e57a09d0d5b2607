/* Unit tests: the SHA-256 wrapper (util/sha256.c), with FIPS 180-2 vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "util/sha256.h"

static void test_vectors(void **state)
{
	char hex[SHA256_HEX_LEN + 1];

	assert_int_equal(sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(sha256_hex("", 0, hex), 0);
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_streaming_reuse(void **state)
{
	struct sha256 *h = sha256_new();
	char chunk[1000], hex[SHA256_HEX_LEN + 1];

	assert_non_null(h);
	memset(chunk, 'a', sizeof(chunk));
	for (int round = 0; round < 2; round++) { /* the context is reusable */
		assert_int_equal(sha256_begin(h), 0);
		for (int i = 0; i < 1000; i++)
			assert_int_equal(sha256_update(h, chunk, sizeof(chunk)), 0);
		assert_int_equal(sha256_end_hex(h, hex), 0);
		assert_string_equal(
		    hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	}
	/* misuse is an error, not a crash */
	assert_int_equal(sha256_update(h, "x", 1), -EINVAL);
	assert_int_equal(sha256_end_hex(h, hex), -EINVAL);
	assert_int_equal(sha256_begin(NULL), -EINVAL);
	sha256_free(h);
	sha256_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_streaming_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
