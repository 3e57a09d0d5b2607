/*
 * fuzz_os_release.c - os-release(5) files (src/features/os_release.c), the
 * first file read from every system.  Seeds: real os-release files of the
 * distributions in fuzz/corpus/os_release/.
 */
#include "fuzz.h"

#include "features/os_release.h"

#include <string.h>

static void check(const struct os_release_val *v)
{
	/* a value's bytes are all readable and NUL-terminated at len */
	if (v->s && v->s[v->len] != '\0')
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct os_release r;
	if (os_release_parse((const char *)data, size, &r) == 0) {
		check(&r.name);
		check(&r.id);
		check(&r.id_like);
		check(&r.version);
		check(&r.version_id);
		check(&r.version_codename);
		check(&r.pretty_name);
		check(&r.variant_id);
		check(&r.build_id);
	}
	os_release_free(&r);
	return 0;
}
