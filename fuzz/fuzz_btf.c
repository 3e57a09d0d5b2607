/*
 * fuzz_btf.c - the guest kernel's BTF (src/vmi/btf.c): the blob between
 * __start_BTF and __stop_BTF read from guest RAM, parsed by libbpf and
 * walked for every structure member, size and enumerator the profile
 * needs (vmi_btf_resolve(), as vmi.c's learn_types() calls it, on a zeroed
 * profile).
 *
 * Seeds (fuzz/corpus/btf/, see its README): real BTF reduced to the types
 * the profile reads (with everything they embed: the profile resolved from
 * a reduced blob is identical to the one from the whole blob), of a Debian
 * 6.1 guest (its RAM) and of this machine's kernel (/sys/kernel/btf/vmlinux),
 * and two small BPF programs' BTF found in the guest's RAM.
 */
#include "fuzz.h"

#include "vmi/btf.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmi_prof p;
	char err[200];
	memset(&p, 0, sizeof(p));
	err[0] = 0;
	int r = vmi_btf_resolve(data, size, &p, err, sizeof(err));
	if (r && (!err[0] || !memchr(err, 0, sizeof(err))))
		__builtin_trap(); /* a refusal says why */
	for (int f = 0; f < VMI_NFIELD; f++) {
		const char *type;
		if (!vmi_field_name((enum vmi_field)f, &type) || !type)
			__builtin_trap();
	}
	return 0;
}
