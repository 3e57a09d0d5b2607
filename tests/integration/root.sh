#!/usr/bin/env bash
# Integration test: `vantage crawl --root DIR` on small root trees made
# here.
#
#   good     etc/os-release with distinct values, etc/hostname,
#            etc/machine-id, a dpkg status (3 installed packages, one of
#            them in two architectures, and one config-files leftover), an apk database (2 packages) and, when
#            the sqlite3 tool is present, an rpmdb.sqlite (3 packages, two
#            of them the same name): the frame is of kind "image" and every
#            os and package value comes from the tree, none from the host;
#   hostile  every file the os and package features read is a symlink
#            pointing out of the tree (absolute, or ../../..): nothing of
#            the host may leak into the frame;
#   broken   a FIFO as os-release (must not block) and a garbage dpkg
#            status: good parts are kept, errors counted, exit 0;
#   missing  --root /nonexistent fails with a message naming the path.
source "$(dirname "$0")/lib.sh"

R=$TMP/root
mkdir -p "$R/etc/ssh" "$R/var/lib/dpkg" "$R/lib/apk/db" "$R/var/lib/rpm" "$R/usr/lib"
# as on Debian: etc/os-release -> ../usr/lib/os-release (resolved in the tree)
ln -s ../usr/lib/os-release "$R/etc/os-release"
cat >"$R/usr/lib/os-release" <<'OSR'
# made by tests/integration/root.sh
NAME="Vantage Test OS"
PRETTY_NAME='Vantage Test OS 42.7 (quoted "name")'
ID=vantagetest
ID_LIKE="debian alpine"
VERSION_ID=42.7
VERSION="42.7 (Testy)"
this line is garbage
OSR
echo "testroot-host" >"$R/etc/hostname"
echo "0123456789abcdef0123456789abcdef" >"$R/etc/machine-id"
echo "Port 2222" >"$R/etc/ssh/sshd_config"
echo "nameserver 192.0.2.53" >"$R/etc/resolv.conf"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
cat >"$R/var/lib/dpkg/status" <<'ST'
Package: alpha-tool
Status: install ok installed
Installed-Size: 120
Architecture: amd64
Source: alpha-src (1.0-1)
Version: 1.0-1
Description: first
 continued

Package: beta-lib
Status: hold ok installed
Multi-Arch: same
Architecture: arm64
Version: 2:3.4-5
Installed-Size: 7

Package: beta-lib
Status: install ok installed
Multi-Arch: same
Architecture: i386
Version: 2:3.4-5
Installed-Size: 8

Package: gamma-data
Status: install ok unpacked
Architecture: all
Version: 0.1

Package: gone-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 9.9
ST
cat >"$R/lib/apk/db/installed" <<'APK'
C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
I:622592
o:musl
F:lib

P:busybox
V:1.36.1-r5
A:x86_64
I:1024
APK

# An rpm header blob as hex: rpm_blob NAME VERSION RELEASE ARCH SIZE
rpm_blob() {
	local idx="" data="" off=0 il=0
	_str() {
		local hex
		hex=$(printf '%s' "$2" | od -An -tx1 | tr -d ' \n')00
		idx+=$(printf '%08x%08x%08x%08x' "$1" 6 "$off" 1)
		data+=$hex
		off=$((off + ${#hex} / 2)); il=$((il + 1))
	}
	_str 1000 "$1"; _str 1001 "$2"; _str 1002 "$3"; _str 1022 "$4"
	while ((off % 4)); do data+=00; off=$((off + 1)); done
	idx+=$(printf '%08x%08x%08x%08x' 1009 4 "$off" 1); data+=$(printf '%08x' "$5")
	off=$((off + 4)); il=$((il + 1))
	printf '%08x%08x%s%s' "$il" "$off" "$idx" "$data"
}
have_rpm=0
if command -v sqlite3 >/dev/null; then
	have_rpm=1
	sqlite3 "$R/var/lib/rpm/rpmdb.sqlite" \
		"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
		 INSERT INTO Packages (blob) VALUES
		  (X'$(rpm_blob bash 5.1.8 6.el9 x86_64 7738634)'),
		  (X'$(rpm_blob gpg-pubkey fd431d51 4ae0493b '' 0)'),
		  (X'$(rpm_blob gpg-pubkey 5a6340b3 6229229e '' 0)');"
else
	echo "# sqlite3 tool not installed: the rpm database part is skipped"
fi

out=$TMP/good.json
"$VANTAGE" crawl --root "$R" --features os,package,config,file >"$out" 2>"$TMP/err"
check_eq "crawl --root exits 0" 0 $?
hdr=$(jq -c 'select(.feature == "frame") | .value' "$out")
check_eq "frame kind is image" "image" "$(jq -r .kind <<<"$hdr")"
check_eq "frame id names the root" "image:$R" "$(jq -r .id <<<"$hdr")"

os=$(jq -c 'select(.feature == "os") | .value' "$out")
check_eq "os from the tree: id version_id name" "vantagetest|42.7|Vantage Test OS" \
	"$(jq -r '[.id, .version_id, .name] | join("|")' <<<"$os")"
check_eq "os: quoted pretty_name, id_like, version" \
	'Vantage Test OS 42.7 (quoted "name")|debian alpine|42.7 (Testy)' \
	"$(jq -r '[.pretty_name, .id_like, .version] | join("|")' <<<"$os")"
check_eq "os: hostname from etc/hostname, machine_id from the tree" \
	"testroot-host 0123456789abcdef0123456789abcdef" "$(jq -r '"\(.hostname) \(.machine_id)"' <<<"$os")"
check_eq "os: no kernel or addresses for a files-only root" "null null null null null" \
	"$(jq -r '[.kernel_release, .architecture, .boot_time, .uptime_s, .ip_addresses] | map(tostring) | join(" ")' <<<"$os")"
check_eq "os: the garbage line is counted as one error" "1" "$(jq -r .errors.os <<<"$hdr")"

want="alpha-tool	alpha-tool	1.0-1	amd64	120	alpha-src	installed	dpkg
beta-lib	beta-lib	2:3.4-5	arm64	7	beta-lib	installed	dpkg
beta-lib:i386	beta-lib	2:3.4-5	i386	8	beta-lib	installed	dpkg
busybox	busybox	1.36.1-r5	x86_64	1	busybox	installed	apk
gamma-data	gamma-data	0.1	all	null	gamma-data	unpacked	dpkg
musl	musl	1.2.4-r2	x86_64	608	musl	installed	apk"
if [ $have_rpm = 1 ]; then
	want+="
bash	bash	1:5.1.8-6.el9	x86_64	7558	bash	installed	rpm
gpg-pubkey	gpg-pubkey	fd431d51-4ae0493b		0	gpg-pubkey	installed	rpm
gpg-pubkey-5a6340b3-6229229e	gpg-pubkey	5a6340b3-6229229e		0	gpg-pubkey	installed	rpm"
	want=$(sed 's/1:5.1.8-6.el9/5.1.8-6.el9/' <<<"$want")	# no EPOCH tag in our blob
fi
got=$(jq -r 'select(.feature == "package") | [.key, .value.name, .value.version, .value.arch,
	(.value.size_kb // "null"), .value.source, .value.status, .value.manager] | @tsv' "$out" | sort)
check_eq "packages: exactly the tree's (dpkg, apk, rpm), config-files left out" \
	"$(sort <<<"$want")" "$got"
check_eq "package: no errors" "0" "$(jq -r .errors.package <<<"$hdr")"
check_eq "no host package leaks in" "" \
	"$(jq -r 'select(.feature == "package" and .key == "dpkg") | .key' "$out")"

# config and file belong to another part; check loosely that every path
# they report is one of the tree's.
outside=$(jq -r 'select(.feature == "config" or .feature == "file") | .key' "$out" |
	while read -r p; do [ -e "$R$p" ] || [ -L "$R$p" ] || echo "$p"; done)
check_eq "config/file records name only paths of the tree" "" "$outside"

# ---- hostile: symlinks pointing out of the tree ----------------------------
H=$TMP/hostile
mkdir -p "$H/etc" "$H/usr/lib" "$H/var/lib/dpkg" "$H/var/lib/rpm" "$H/lib/apk/db"
ln -s /etc/shadow "$H/etc/os-release"
ln -s ../../../../../../../../etc/os-release "$H/usr/lib/os-release"
ln -s ../../../../../../../../etc/hostname "$H/etc/hostname"
ln -s /etc/machine-id "$H/etc/machine-id"
ln -s /var/lib/dpkg/status "$H/var/lib/dpkg/status"
ln -s ../../../../../../var/lib/dpkg/status "$H/lib/apk/db/installed"
[ -e /var/lib/rpm/rpmdb.sqlite ] || [ -e "$R/var/lib/rpm/rpmdb.sqlite" ] &&
	ln -s "$R/var/lib/rpm/rpmdb.sqlite" "$H/var/lib/rpm/rpmdb.sqlite"
hout=$TMP/hostile.json
"$VANTAGE" crawl --root "$H" --features os,package,config >"$hout" 2>"$TMP/herr"
check_eq "hostile root: crawl exits 0" 0 $?
hos=$(jq -c 'select(.feature == "os") | .value' "$hout")
check_eq "hostile root: os fields null (nothing read through the symlinks)" \
	"null null null null null" \
	"$(jq -r '[.id, .name, .pretty_name, .hostname, .machine_id] | map(tostring) | join(" ")' <<<"$hos")"
check_eq "hostile root: no package records" "0" \
	"$(jq -r 'select(.feature == "package")' "$hout" | grep -c '^{' || true)"
leaks=""
grep -qF "$(cat /etc/machine-id)" "$hout" && leaks+=" machine-id"
# (the header's "host" names the machine that crawled: records only)
jq -c 'select(.feature != "frame") | .value' "$hout" | grep -qF "\"$(hostname)\"" &&
	leaks+=" hostname"
grep -qF "$(. /etc/os-release; echo "$PRETTY_NAME")" "$hout" && leaks+=" os-release"
root_hash=$(awk -F: '$1 == "root" {print $2}' /etc/shadow)
[ ${#root_hash} -gt 2 ] && grep -qF "$root_hash" "$hout" && leaks+=" shadow"
grep -q '"manager":"dpkg"' "$hout" && leaks+=" dpkg-status"
check_eq "hostile root: nothing of the host in the frame" "" "$leaks"

# ---- broken: FIFO os-release, garbage dpkg status ----------------------------
B=$TMP/broken
mkdir -p "$B/etc" "$B/var/lib/dpkg" "$B/lib/apk/db"
mkfifo "$B/etc/os-release"
printf 'ID=fallback\n' >"$B/usr-os-release"
mkdir -p "$B/usr/lib" && mv "$B/usr-os-release" "$B/usr/lib/os-release"
mkdir "$B/lib/apk/db/installed"	# a directory where a file is expected
{
	printf 'Package: ok-one\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n'
	printf 'garbage\n\x00\xff\xfe\nPackage: broken-two\nStatus: what\nVersion: 2\n\n'
	printf 'Status: install ok installed\nVersion: 3\n\n'
	head -c 3000 /dev/urandom | tr -d '\n' | head -c 2000; printf '\n\n'
	printf 'Package: ok-three\nStatus: install ok installed\nVersion: 3'	# cut short
} >"$B/var/lib/dpkg/status"
bout=$TMP/broken.json
timeout 20 "$VANTAGE" crawl --root "$B" --features os,package >"$bout" 2>"$TMP/berr"
check_eq "broken root: crawl exits 0 (no hang on a FIFO)" 0 $?
check_eq "broken root: FIFO os-release not read, nothing read past it" "null" \
	"$(jq -r 'select(.feature == "os") | .value.id' "$bout")"
check_eq "broken root: the good packages are kept" "ok-one ok-three" \
	"$(jq -r 'select(.feature == "package") | .key' "$bout" | sort | xargs)"
berrs=$(jq -r 'select(.feature == "frame") | .value.errors.package' "$bout")
check "broken root: package errors counted ($berrs)" test "$berrs" -ge 3
check "broken root: errors name the file" \
	grep -q '/var/lib/dpkg/status' <(jq -r 'select(.feature == "frame") | .value.messages.package[]?' "$bout")

# ---- missing root ---------------------------------------------------------------
"$VANTAGE" crawl --root /nonexistent --features os >"$TMP/m.out" 2>"$TMP/m.err"
rc=$?
check "--root /nonexistent exits non-zero ($rc)" test "$rc" -ne 0
check "--root /nonexistent: message names the path" grep -q /nonexistent "$TMP/m.err"
