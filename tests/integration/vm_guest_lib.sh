# Vantage itself inside a QEMU guest (sourced after lib.sh and vm_lib.sh).
#
#   vm_guest_initramfs OUT [SNIPPET [DIR]]
#                             vm_initramfs OUT SNIPPET, plus a second gzip'd
#                             newc cpio appended to OUT (the kernel unpacks
#                             concatenated archives in order) holding
#                             $VANTAGE as /opt/vantage/bin/vantage, every
#                             shared library `ldd` lists for it at its own
#                             path (/lib/x86_64-linux-gnu/...) and the
#                             dynamic loader (/lib64/ld-linux-x86-64.so.2),
#                             and the files of DIR (if given) at the root.
#                             In the guest Vantage then runs as on a real
#                             host: `/opt/vantage/bin/vantage crawl ...`.
#
# vm_lib.sh is left as it is: the shared snapshot (vm_snapshot) is keyed by
# its hash, and the guests of other suites do not need Vantage inside.
VM_GUEST_VANTAGE=/opt/vantage/bin/vantage

vm_guest_initramfs() {
	local out=$1 snippet=${2:-} dir=${3:-} root lib
	vm_initramfs "$out" "$snippet" || return 1
	[ -x "$VANTAGE" ] || { _vm_log "no $VANTAGE (make first)"; return 1; }
	root=$(mktemp -d "$VM_STATE/guestfs.XXXXXX")
	mkdir -p "$root/opt/vantage/bin" || return 1
	cp "$VANTAGE" "$root/opt/vantage/bin/vantage" || return 1
	# "libX.so => /path (0x...)" and the loader's "/lib64/ld-linux... (0x...)"
	for lib in $(ldd "$VANTAGE" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib" ||
			{ _vm_log "cannot copy $lib"; rm -rf "$root"; return 1; }
	done
	[ -n "$dir" ] && { cp -a "$dir/." "$root/" || return 1; }
	(cd "$root" && find . -mindepth 1 | cpio -o -H newc --quiet -R 0:0 | gzip -1) >>"$out" ||
		{ rm -rf "$root"; return 1; }
	rm -rf "$root"
}
