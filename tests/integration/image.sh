#!/usr/bin/env bash
# Integration test: `vantage crawl --image` on raw disk images made here.
#
#   tree      a small root (os-release behind a relative symlink, hostname,
#             machine-id, a dpkg status with packages, config files with
#             odd modes and owners incl. 32-bit uids, a setuid file, a
#             sticky dir, a hard link, a FIFO, a device node, nested dirs,
#             a 300-entry directory, a 200 KB file, symlinks: hostile
#             ../../../../etc/shadow and /etc/passwd, dangling, a loop)
#             made into an ext4 image with mke2fs -d: every path, type,
#             mode, owner, size, mtime, link target and nlink equals
#             find -printf on the tree; os fields, packages and config
#             contents equal the tree's; --hash equals sha256sum; the
#             image file is never written to;
#   resolve   symlinks resolve inside the image: ".." never climbs above
#             its root, absolute targets start at its root, loops end
#             with ELOOP; nothing of the host leaks into the frame;
#   layouts   the same file system in an MBR partition at 1 MiB (table
#             written byte by byte), in a GPT (CRCs computed here; a bad
#             CRC warns), in logical partitions (an EBR chain, also one
#             that loops), behind a read-only loop device, as ext2, ext3,
#             4 KiB blocks, without checksums, with inline data and with
#             hashed (htree) directories, with a journal needing recovery
#             (warned); a disk with two ext4 partitions picks the one
#             holding /etc/os-release, --partition picks the other;
#   bad       random bytes, a truncated image, a zeroed superblock, a
#             corrupt superblock, xfs and btrfs magics, a partition that
#             does not exist or holds something else, a FIFO, a directory,
#             a missing file, bad option combinations: exit 2 with a
#             message naming the image, never a crash or a hang;
#   fuzz      210 images (ext4 with and without checksums, ext2) with
#             random bytes written into their metadata:
#             every crawl ends (exit 0 or 2) within its time limit.
source "$(dirname "$0")/lib.sh"

if ! command -v mke2fs >/dev/null; then
	echo "# mke2fs (e2fsprogs) not installed"; not_ok "image tests need mke2fs"; exit 0
fi

# ---- the tree ------------------------------------------------------------------
T=$TMP/tree
mkdir -p "$T/etc/ssh" "$T/usr/lib" "$T/var/lib/dpkg" "$T/a/b/c/d/e/f" "$T/srv/many" \
	"$T/tmp" "$T/home/user"
ln -s ../usr/lib/os-release "$T/etc/os-release"
cat >"$T/usr/lib/os-release" <<'OSR'
NAME="Image Test OS"
PRETTY_NAME="Image Test OS 7.1 (Disk)"
ID=imagetest
ID_LIKE=debian
VERSION_ID=7.1
VERSION="7.1 (Disk)"
OSR
echo "image-host" >"$T/etc/hostname"
echo "fedcba9876543210fedcba9876543210" >"$T/etc/machine-id"
printf 'root:x:0:0:image root:/root:/bin/sh\n' >"$T/etc/passwd"
printf 'Port 2200\nPermitRootLogin no\n' >"$T/etc/ssh/sshd_config"
printf 'key = value\n# comment\n' >"$T/etc/app.conf"
printf 'big ids\n' >"$T/etc/bigid.conf"
printf 'setuid\n' >"$T/usr/lib/helper"
printf 'deep\n' >"$T/a/b/c/d/e/f/deep.txt"
head -c 200000 /dev/urandom >"$T/srv/blob.bin"
for i in $(seq 1 300); do printf '%s\n' "$i" >"$T/srv/many/file-with-a-long-name-$i"; done
ln "$T/etc/app.conf" "$T/srv/app-hardlink"
ln -s ../../../../etc/shadow "$T/etc/evil-link"
ln -s /etc/passwd "$T/srv/abs-link"
ln -s /nonexistent "$T/srv/dangling"
ln -s loop-b "$T/srv/loop-a"
ln -s loop-a "$T/srv/loop-b"
ln -s "$(printf 'x%.0s' $(seq 1 100))" "$T/srv/long-target"	# a slow (block) symlink
mkfifo "$T/etc/fifo"
mknod "$T/srv/null" c 1 3
chmod 0600 "$T/etc/ssh/sshd_config"
chmod 0640 "$T/etc/app.conf"
chmod 4755 "$T/usr/lib/helper"
chmod 1777 "$T/tmp"
chown 1234:5678 "$T/etc/app.conf"
chown 70000:100000 "$T/etc/bigid.conf"
chown -R 1000:1000 "$T/home/user"
touch -h -d '2001-02-03 04:05:06 UTC' "$T/a/b/c/d/e/f/deep.txt" "$T/srv/abs-link"
cat >"$T/var/lib/dpkg/status" <<'ST'
Package: image-tool
Status: install ok installed
Architecture: amd64
Version: 1.2-3
Installed-Size: 64
Description: a tool

Package: image-lib
Status: install ok installed
Architecture: amd64
Version: 2:0.9-1
Installed-Size: 12

Package: image-old
Status: deinstall ok config-files
Architecture: all
Version: 0.1
ST
# directory mtimes last: creating entries above changed them
touch -d '2010-01-01 00:00:00 UTC' "$T/a/b/c"

# mkimg IMG SIZE MKE2FS-OPTIONS...: an image of the tree
mkimg() {
	local img=$1 size=$2; shift 2
	: >"$img"
	mke2fs -q -F "$@" -d "$T" "$img" "$size" >/dev/null 2>"$TMP/mke2fs.err" ||
		{ echo "# mke2fs $*: $(cat "$TMP/mke2fs.err")"; return 1; }
}
IMG=$TMP/disk.img
mkimg "$IMG" 16M -t ext4
check "mke2fs -d made the image" test -s "$IMG"
img_sum=$(sha256sum <"$IMG")

# find's view: path type mode uid gid size (not for dirs) mtime link nlink
# (the root's nlink counts the image's lost+found too; its mtime is when
# mke2fs ran, not the tree's)
find_tsv() {
	find "$1" -printf '%p\t%y\t%m\t%U\t%G\t%s\t%T@\t%l\t%n\n' |
		awk -F'\t' -v OFS='\t' -v strip="$1" '
		BEGIN { t["f"]="file"; t["d"]="dir"; t["l"]="symlink"; t["c"]="chardev";
			t["b"]="blockdev"; t["p"]="fifo"; t["s"]="socket" }
		{ p = substr($1, length(strip) + 1); if (p == "") p = "/"
		  split($7, mt, "."); size = $2 == "d" ? "" : $6; nl = $9 + (p == "/")
		  print p, t[$2], sprintf("%04d", $3), $4, $5, size, p == "/" ? "" : mt[1], $8, nl }' |
		LC_ALL=C sort
}
jq_tsv() {
	jq -r 'select(.feature=="file") | .value | select(.path | test("^/lost\\+found") | not) |
		[.path, .type, .mode, .uid, .gid, (if .type == "dir" then "" else .size end),
		 (if .path == "/" then "" else .mtime|fromdateiso8601 end), (.link // ""), .nlink] |
		@tsv' "$1" | LC_ALL=C sort
}
# compare_tree DESC OUT: the file records of OUT against the tree
compare_tree() {
	find_tsv "$T" >"$TMP/want.tsv"
	jq_tsv "$2" >"$TMP/got.tsv"
	if diff -u "$TMP/want.tsv" "$TMP/got.tsv" >"$TMP/diff"; then
		ok "$1: every entry equals find -printf ($(wc -l <"$TMP/want.tsv") entries)"
	else
		not_ok "$1: entries equal find -printf"; sed 's/^/#   /' "$TMP/diff" | head -30
	fi
}

# ---- the whole-disk image ----------------------------------------------------------
out=$TMP/img.json
start=$(date +%s%N)
"$VANTAGE" crawl --image "$IMG" -f os,package,config,file >"$out" 2>"$TMP/err"
check_eq "crawl --image exits 0" 0 $?
ms=$((($(date +%s%N) - start) / 1000000))
echo "# crawl of os,package,config,file over the 16 MiB image: $ms ms"
check_eq "nothing on stderr" "" "$(cat "$TMP/err")"
hdr=$(jq -c 'select(.feature == "frame") | .value' "$out")
check_eq "frame kind is image, id names the image" "image image:$IMG" \
	"$(jq -r '"\(.kind) \(.id)"' <<<"$hdr")"
check_eq "no errors in any feature" '{"os":0,"package":0,"config":0,"file":0}' \
	"$(jq -c .errors <<<"$hdr")"

os=$(jq -c 'select(.feature == "os") | .value' "$out")
check_eq "os: from the image's os-release (through its relative symlink)" \
	"imagetest|7.1|Image Test OS|Image Test OS 7.1 (Disk)|debian" \
	"$(jq -r '[.id, .version_id, .name, .pretty_name, .id_like] | join("|")' <<<"$os")"
check_eq "os: hostname and machine_id from the image" \
	"image-host fedcba9876543210fedcba9876543210" "$(jq -r '"\(.hostname) \(.machine_id)"' <<<"$os")"
check_eq "os: no kernel facts for a disk image" "null null" \
	"$(jq -r '[.kernel_release, .boot_time] | map(tostring) | join(" ")' <<<"$os")"

check_eq "packages: exactly the image's dpkg status (config-files left out)" \
	"image-lib	2:0.9-1	amd64	12	dpkg
image-tool	1.2-3	amd64	64	dpkg" \
	"$(jq -r 'select(.feature == "package") | [.key, .value.version, .value.arch,
		.value.size_kb, .value.manager] | @tsv' "$out" | sort)"

cv() { jq -r "select(.feature==\"config\" and .key==\"$1\") | .value | $2" "$out"; }
check_eq "config: content of /etc/app.conf" "$(cat "$T/etc/app.conf")" "$(cv /etc/app.conf .content)"
check_eq "config: mode, owner, sha256 of /etc/app.conf" \
	"0640 1234 5678 $(sha256sum <"$T/etc/app.conf" | cut -d' ' -f1)" \
	"$(cv /etc/app.conf '"\(.mode) \(.uid) \(.gid) \(.sha256)"')"
check_eq "config: 32-bit uid and gid (high bits)" "70000 100000" "$(cv /etc/bigid.conf '"\(.uid) \(.gid)"')"
check_eq "config: /etc/passwd is the image's" "$(cat "$T/etc/passwd")" "$(cv /etc/passwd .content)"
check_eq "config: nested dir read" "$(cat "$T/etc/ssh/sshd_config")" "$(cv /etc/ssh/sshd_config .content)"
check_eq "config: hostile symlink reported with its target, not followed" "../../../../etc/shadow null" \
	"$(cv /etc/evil-link '"\(.link) \(.content)"')"
check_eq "config: the FIFO gives no record" "" "$(cv /etc/fifo .path)"
want_cfg=$(cd "$T" && find etc -type f -o -type l | sed 's|^|/|' | LC_ALL=C sort)
check_eq "config: exactly the image's /etc files and links" "$want_cfg" \
	"$(jq -r 'select(.feature=="config") | .key' "$out" | LC_ALL=C sort)"

compare_tree "file --image" "$out"
check_eq "file: the image's own lost+found is there" dir \
	"$(jq -r 'select(.feature=="file" and .key=="/lost+found") | .value.type' "$out")"
check_eq "file: hard link shares the inode" \
	"$(jq -r 'select(.feature=="file" and .key=="/etc/app.conf") | .value.inode' "$out")" \
	"$(jq -r 'select(.feature=="file" and .key=="/srv/app-hardlink") | .value.inode' "$out")"
check_eq "file: slow symlink target read from its block" "$(readlink "$T/srv/long-target")" \
	"$(jq -r 'select(.feature=="file" and .key=="/srv/long-target") | .value.link' "$out")"

# --hash
"$VANTAGE" crawl --image "$IMG" -f file --hash >"$TMP/hash.json" 2>"$TMP/err"
check_eq "file --hash --image exits 0" 0 $?
bad=0 n=0
while IFS=$'\t' read -r p h; do
	n=$((n + 1))
	[ "$h" == "$(sha256sum <"$T$p" | cut -d' ' -f1)" ] || { bad=1; echo "#   $p: $h"; }
done < <(jq -r 'select(.feature=="file" and .value.type=="file") | [.key, .value.sha256] | @tsv' "$TMP/hash.json")
check_eq "file --hash: sha256 of all $n regular files equal sha256sum (200 KB file included)" 0 "$bad"
check_eq "file --hash: every regular file of the tree hashed" \
	"$(find "$T" -type f | wc -l)" "$n"
check_eq "file: the 300 entries of /srv/many" 300 \
	"$(jq -r 'select(.feature=="file") | .key' "$TMP/hash.json" | grep -c '^/srv/many/')"
check_eq "the image file was not modified" "$img_sum" "$(sha256sum <"$IMG")"

# ---- resolution inside the image ----------------------------------------------------
# A second tree whose every file the os and package features read is a
# symlink: climbing with .. above the root, absolute, looping.  Each must
# resolve inside the image (to the image's own files) or fail; nothing of
# the host may appear.
H=$TMP/hostile
mkdir -p "$H/etc" "$H/usr/lib" "$H/var/lib/dpkg" "$H/a/b"
printf 'ID=inside\nNAME="Inside OS"\n' >"$H/usr/lib/os-release"
ln -s ../../../../../../usr/lib/os-release "$H/etc/os-release"	# .. clamps at the root
echo inside-host >"$H/etc/real-hostname"
ln -s /etc/real-hostname "$H/etc/hostname"			# absolute: the image's root
ln -s /etc/mid-b "$H/etc/machine-id"
ln -s machine-id "$H/etc/mid-b"					# a loop: ELOOP
printf 'Package: inside-pkg\nStatus: install ok installed\nVersion: 1\nArchitecture: all\n\n' \
	>"$H/var/lib/dpkg/real-status"
ln -s /../../../var/lib/dpkg/real-status "$H/var/lib/dpkg/status"
ln -s /a "$H/link-to-a"
printf 'x\n' >"$H/a/b/file"
ln -s /etc/shadow "$H/etc/shadow-link"
ln -s ../../../../../../../../etc/passwd "$H/etc/passwd-link"
HIMG=$TMP/hostile.img
: >"$HIMG"
mke2fs -q -F -t ext4 -d "$H" "$HIMG" 8M >/dev/null 2>&1
hout=$TMP/hostile.json
timeout 60 "$VANTAGE" crawl --image "$HIMG" -f os,package,config >"$hout" 2>"$TMP/herr"
check_eq "hostile image: crawl exits 0" 0 $?
hos=$(jq -c 'select(.feature == "os") | .value' "$hout")
check_eq "hostile image: .. above the root and absolute targets resolve inside it" \
	"inside|Inside OS|inside-host" "$(jq -r '[.id, .name, .hostname] | join("|")' <<<"$hos")"
check_eq "hostile image: a symlink loop gives nothing (ELOOP), no hang" null "$(jq -r .machine_id <<<"$hos")"
check_eq "hostile image: dpkg status through an absolute /../.. link is the image's" "inside-pkg" \
	"$(jq -r 'select(.feature == "package") | .key' "$hout" | xargs)"
leaks=""
grep -qF "$(cat /etc/machine-id)" "$hout" && leaks+=" machine-id"
jq -c 'select(.feature != "frame") | .value' "$hout" | grep -qF "\"$(hostname)\"" && leaks+=" hostname"
grep -qF "$(. /etc/os-release; echo "$PRETTY_NAME")" "$hout" && leaks+=" os-release"
root_hash=$(awk -F: '$1 == "root" {print $2}' /etc/shadow)
[ ${#root_hash} -gt 2 ] && grep -qF "$root_hash" "$hout" && leaks+=" shadow"
grep -q "$(head -1 /etc/passwd)" "$hout" && leaks+=" passwd"
check_eq "hostile image: nothing of the host in the frame" "" "$leaks"
"$VANTAGE" crawl --image "$HIMG" -f file --file-root /link-to-a/b >"$TMP/via.json" 2>/dev/null
check_eq "file --file-root through an absolute symlink inside the image" \
	"/link-to-a/b /link-to-a/b/file" \
	"$(jq -r 'select(.feature=="file") | .key' "$TMP/via.json" | sort | xargs)"
"$VANTAGE" crawl --image "$HIMG" -f file --file-root /etc/os-release >"$TMP/lnk.json" 2>/dev/null
check_eq "file --file-root naming a symlink: reported, not followed" "symlink" \
	"$(jq -r 'select(.feature=="file") | .value.type' "$TMP/lnk.json")"
"$VANTAGE" crawl --image "$HIMG" -f file --file-root /nonexistent >"$TMP/none.json" 2>/dev/null
check_eq "file --file-root that does not exist: the error is counted" 1 \
	"$(jq -r 'select(.feature=="frame") | .value.errors.file' "$TMP/none.json")"

# ---- partition tables -----------------------------------------------------------------
# hexw FILE OFFSET HEX: write bytes at OFFSET without truncating
# (hex <-> bytes with printf and od: xxd is not always installed)
unhex() { local h; h=$(tr -d ' \n'); printf "$(sed 's/../\\x&/g' <<<"$h")"; }
tohex() { od -An -v -tx1 | tr -d ' \n'; }
hexw() { unhex <<<"$3" | dd of="$1" bs=4096 seek="$2" oflag=seek_bytes conv=notrunc status=none; }
le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
le64() { echo "$(le32 $(($1 & 0xffffffff)))$(le32 $(($1 >> 32)))"; }
# mbr_set FILE SLOT TYPE START-LBA COUNT: an entry of the MBR (sector 0)
mbr_set() { ebr_set "$1" 0 "${@:2}"; }
# ebr_set FILE SECTOR SLOT TYPE START COUNT: the same in the record at SECTOR
ebr_set() {
	hexw "$1" $((512 * $2 + 446 + 16 * $3)) "00000000$(printf %02x "$4")000000$(le32 "$5")$(le32 "$6")"
	hexw "$1" $((512 * $2 + 510)) 55aa
}
crc32_hex() { gzip -c <"$1" | tail -c 8 | head -c 4 | tohex; }	# little-endian bytes

MIB=1048576
# MBR: the tree's file system at 1 MiB, 16 MiB long
MBR=$TMP/mbr.img
truncate -s $((20 * MIB)) "$MBR"
mke2fs -q -F -t ext4 -E offset=$MIB -d "$T" "$MBR" 16M >/dev/null 2>&1
mbr_set "$MBR" 0 0x83 2048 $((16 * MIB / 512))
"$VANTAGE" crawl --image "$MBR" -f os,package,config,file >"$TMP/mbr.json" 2>"$TMP/err"
check_eq "MBR image: crawl exits 0" 0 $?
check_eq "MBR image: os from partition 1" imagetest "$(jq -r 'select(.feature=="os") | .value.id' "$TMP/mbr.json")"
check_eq "MBR image: system id names the partition" "image:$MBR:p1" \
	"$(jq -r 'select(.feature=="frame") | .value.id' "$TMP/mbr.json")"
compare_tree "MBR image" "$TMP/mbr.json"
"$VANTAGE" crawl --image "$MBR" --partition 1 -f os >"$TMP/mbr1.json" 2>/dev/null
check_eq "MBR image --partition 1" imagetest "$(jq -r 'select(.feature=="os") | .value.id' "$TMP/mbr1.json")"

# GPT: protective MBR, header at LBA 1, 128 entries at LBA 2, CRCs right
GPT=$TMP/gpt.img
sectors=$((20 * MIB / 512))
truncate -s $((20 * MIB)) "$GPT"
mke2fs -q -F -t ext4 -E offset=$MIB -d "$T" "$GPT" 16M >/dev/null 2>&1
mbr_set "$GPT" 0 0xee 1 $((sectors - 1))
{
	printf 'af3dc60f838472478e793d69d8477de4'		# Linux file system type GUID
	printf '0123456789abcdef0123456789abcdef'		# unique GUID
	le64 2048; le64 $((2048 + 16 * MIB / 512 - 1)); le64 0
	printf '72006f006f007400'				# "root" in UTF-16LE
	printf '%0*d' $((2 * (128 - 64))) 0
	printf '%0*d' $((2 * 127 * 128)) 0
} | unhex >"$TMP/entries"
hexw "$GPT" 1024 "$(tohex <"$TMP/entries")"
hdr_hex() { # CRC
	printf '4546492050415254000001005c000000%s00000000' "$1"
	le64 1; le64 $((sectors - 1)); le64 34; le64 $((sectors - 34))
	printf '00112233445566778899aabbccddeeff'
	le64 2; le32 128; le32 128; crc32_hex "$TMP/entries"
}
hdr_hex 00000000 | unhex >"$TMP/hdr"
hexw "$GPT" 512 "$(hdr_hex "$(crc32_hex "$TMP/hdr")")"
"$VANTAGE" crawl --image "$GPT" -f os,file >"$TMP/gpt.json" 2>"$TMP/err"
check_eq "GPT image: crawl exits 0, nothing on stderr" "0 " "$? $(cat "$TMP/err")"
check_eq "GPT image: os from partition 1" imagetest "$(jq -r 'select(.feature=="os") | .value.id' "$TMP/gpt.json")"
compare_tree "GPT image" "$TMP/gpt.json"
cp "$GPT" "$TMP/gpt-crc.img"
hexw "$TMP/gpt-crc.img" $((1024 + 56)) 78	# the name "root" -> "xoot": CRC no longer matches
"$VANTAGE" crawl --image "$TMP/gpt-crc.img" -f os >"$TMP/gpt-crc.json" 2>"$TMP/err"
check_eq "GPT with a bad CRC: crawled anyway" imagetest \
	"$(jq -r 'select(.feature=="os") | .value.id' "$TMP/gpt-crc.json")"
check "GPT with a bad CRC: a warning says so" grep -q "checksums do not match" "$TMP/err"

# two ext4 partitions: the one holding /etc/os-release is chosen
D=$TMP/data
mkdir -p "$D/files" && echo data >"$D/files/only-on-data"
TWO=$TMP/two.img
truncate -s $((40 * MIB)) "$TWO"
mke2fs -q -F -t ext4 -E offset=$MIB -d "$D" "$TWO" 16M >/dev/null 2>&1
mke2fs -q -F -t ext4 -E offset=$((18 * MIB)) -d "$T" "$TWO" 16M >/dev/null 2>&1
mbr_set "$TWO" 0 0x83 2048 $((16 * MIB / 512))
mbr_set "$TWO" 1 0x83 $((18 * 2048)) $((16 * MIB / 512))
"$VANTAGE" crawl --image "$TWO" -f os >"$TMP/two.json" 2>/dev/null
check_eq "two partitions: the root (partition 2) is chosen" "imagetest image:$TWO:p2" \
	"$(jq -r 'select(.feature=="os") | .value.id' "$TMP/two.json") $(jq -r 'select(.feature=="frame") | .value.id' "$TMP/two.json")"
"$VANTAGE" crawl --image "$TWO" --partition 1 -f file --file-root /files >"$TMP/two1.json" 2>/dev/null
check_eq "two partitions: --partition 1 crawls the other one" "/files /files/only-on-data" \
	"$(jq -r 'select(.feature=="file") | .key' "$TMP/two1.json" | sort | xargs)"

# logical partitions: an extended partition at 1 MiB whose EBR chain holds
# partition 5 (the data tree, at 2 MiB) and partition 6 (the root, at 20 MiB)
LOG=$TMP/logical.img
truncate -s $((40 * MIB)) "$LOG"
mke2fs -q -F -t ext4 -E offset=$((2 * MIB)) -d "$D" "$LOG" 16M >/dev/null 2>&1
mke2fs -q -F -t ext4 -E offset=$((20 * MIB)) -d "$T" "$LOG" 16M >/dev/null 2>&1
mbr_set "$LOG" 0 0x05 2048 $((39 * 2048))
ebr_set "$LOG" 2048 0 0x83 2048 $((16 * 2048))		# relative to this EBR
ebr_set "$LOG" 2048 1 0x05 $((18 * 2048)) 2048	# next EBR, relative to the extended one
ebr_set "$LOG" $((19 * 2048)) 0 0x83 2048 $((16 * 2048))
"$VANTAGE" crawl --image "$LOG" -f os >"$TMP/log.json" 2>/dev/null
check_eq "logical partitions: the root (partition 6) is chosen" "imagetest image:$LOG:p6" \
	"$(jq -r 'select(.feature=="os") | .value.id' "$TMP/log.json") $(jq -r 'select(.feature=="frame") | .value.id' "$TMP/log.json")"
"$VANTAGE" crawl --image "$LOG" --partition 5 -f file --file-root /files >"$TMP/log5.json" 2>/dev/null
check_eq "logical partitions: --partition 5" "/files /files/only-on-data" \
	"$(jq -r 'select(.feature=="file") | .key' "$TMP/log5.json" | sort | xargs)"
ebr_set "$LOG" $((19 * 2048)) 1 0x05 0 2048		# a chain pointing back to itself
timeout 20 "$VANTAGE" crawl --image "$LOG" -f os >"$TMP/log.json" 2>/dev/null
check_eq "logical partitions: an EBR chain looping back ends" "0 imagetest" \
	"$? $(jq -r 'select(.feature=="os") | .value.id' "$TMP/log.json")"

# a block device: the MBR image behind a read-only loop device
if LOOPDEV=$(losetup --read-only --find --show "$MBR" 2>/dev/null) && [ -b "$LOOPDEV" ]; then
	on_exit "losetup -d $LOOPDEV"
	"$VANTAGE" crawl --image "$LOOPDEV" -f os,file >"$TMP/loop.json" 2>"$TMP/err"
	check_eq "block device: crawl exits 0" 0 $?
	check_eq "block device: os from partition 1, id names the device" "imagetest image:$LOOPDEV:p1" \
		"$(jq -r 'select(.feature=="os") | .value.id' "$TMP/loop.json") $(jq -r 'select(.feature=="frame") | .value.id' "$TMP/loop.json")"
	compare_tree "block device" "$TMP/loop.json"
else
	echo "# no loop device available: the block device case is not run"
fi

# ---- other file system layouts ------------------------------------------------------------
for variant in "ext2:-t ext2" "ext3:-t ext3" "4k-blocks:-t ext4 -b 4096" \
	"no-csum:-t ext4 -O ^metadata_csum" "inline-data:-t ext4 -O inline_data"; do
	name=${variant%%:*}
	# shellcheck disable=SC2086
	if ! mkimg "$TMP/$name.img" 16M ${variant#*:}; then
		not_ok "$name image could not be made"; continue
	fi
	"$VANTAGE" crawl --image "$TMP/$name.img" -f os,file --hash >"$TMP/$name.json" 2>"$TMP/err"
	check_eq "$name image: crawl exits 0, no errors" "0 0" \
		"$? $(jq -r 'select(.feature=="frame") | .value.errors.file' "$TMP/$name.json")"
	compare_tree "$name image" "$TMP/$name.json"
	bad=$(jq -r 'select(.feature=="file" and .value.type=="file") | [.key, .value.sha256] | @tsv' \
		"$TMP/$name.json" | while IFS=$'\t' read -r p h; do
		[ "$h" == "$(sha256sum <"$T$p" | cut -d' ' -f1)" ] || echo "$p"; done)
	check_eq "$name image: file contents (sha256) equal the tree's" "" "$bad"
done
if command -v debugfs >/dev/null; then
	check "inline-data image really has inline files" \
		grep -q 'Flags: 0x10000000' <(debugfs -R 'stat /etc/hostname' "$TMP/inline-data.img" 2>/dev/null)
fi
# hashed (htree) directories: e2fsck -D indexes the 300-entry one
cp "$IMG" "$TMP/htree.img"
e2fsck -fyD "$TMP/htree.img" >/dev/null 2>&1
if debugfs -R 'htree /srv/many' "$TMP/htree.img" 2>/dev/null | grep -q 'Root node'; then
	"$VANTAGE" crawl --image "$TMP/htree.img" -f file >"$TMP/htree.json" 2>/dev/null
	compare_tree "htree image" "$TMP/htree.json"
else
	not_ok "e2fsck -D did not index /srv/many"
fi

# a journal holding changes (not shut down cleanly): crawled, with a warning
if command -v debugfs >/dev/null; then
	cp "$IMG" "$TMP/recover.img"
	debugfs -w -R "feature needs_recovery" "$TMP/recover.img" >/dev/null 2>&1
	"$VANTAGE" crawl --image "$TMP/recover.img" -f os >"$TMP/recover.json" 2>"$TMP/err"
	check_eq "journal needing recovery: crawled" "0 imagetest" \
		"$? $(jq -r 'select(.feature=="os") | .value.id' "$TMP/recover.json")"
	check "journal needing recovery: a warning says it is not replayed" grep -q "not replayed" "$TMP/err"
fi

# ---- bad inputs -------------------------------------------------------------------------------
# bad DESC IMAGE WORD [ARGS...]: exit 2, nothing on stdout, a message naming
# the image and containing WORD, no output file left behind
bad() {
	local desc=$1 img=$2 word=$3; shift 3
	timeout 20 "$VANTAGE" crawl --image "$img" "$@" -f os,file -o "$TMP/bad.out" 2>"$TMP/bad.err"
	local rc=$?
	if [ "$rc" == 2 ] && grep -qF -- "$img" "$TMP/bad.err" && grep -qiF -- "$word" "$TMP/bad.err" &&
		[ ! -e "$TMP/bad.out" ]; then
		ok "$desc: exit 2, says '$word'"; echo "#   $(cat "$TMP/bad.err")"
	else
		not_ok "$desc: exit 2, says '$word'"; echo "#   rc=$rc: $(cat "$TMP/bad.err")"
	fi
	rm -f "$TMP/bad.out"
}
head -c $MIB /dev/urandom >"$TMP/random.img"
bad "random bytes" "$TMP/random.img" "no "
head -c $((8 * MIB)) "$IMG" >"$TMP/truncated.img"
bad "truncated image" "$TMP/truncated.img" "truncated"
head -c 1500 "$IMG" >"$TMP/tiny.img"
bad "image cut inside its superblock" "$TMP/tiny.img" "truncated"
: >"$TMP/empty.img"
bad "empty file" "$TMP/empty.img" "truncated"
cp "$IMG" "$TMP/zeroed.img"
dd if=/dev/zero of="$TMP/zeroed.img" bs=1024 seek=1 count=1 conv=notrunc status=none
bad "zeroed superblock (a backup is found)" "$TMP/zeroed.img" "backup"
cp "$IMG" "$TMP/badsb.img"
hexw "$TMP/badsb.img" $((1024 + 24)) 20000000		# s_log_block_size 32
bad "corrupt superblock: block size" "$TMP/badsb.img" "corrupt superblock"
cp "$IMG" "$TMP/badsb2.img"
hexw "$TMP/badsb2.img" $((1024 + 32)) 00000000		# s_blocks_per_group 0
bad "corrupt superblock: blocks per group" "$TMP/badsb2.img" "corrupt superblock"
cp "$IMG" "$TMP/badsb3.img"
hexw "$TMP/badsb3.img" $((1024 + 1020)) deadbeef	# checksum no longer matches
bad "superblock checksum mismatch" "$TMP/badsb3.img" "cannot open the file system"
head -c $MIB /dev/zero >"$TMP/xfs.img"; hexw "$TMP/xfs.img" 0 58465342
bad "an xfs image" "$TMP/xfs.img" "xfs"
head -c $MIB /dev/zero >"$TMP/btrfs.img"; hexw "$TMP/btrfs.img" $((65536 + 64)) "$(printf '_BHRfS_M' | tohex)"
bad "a btrfs image" "$TMP/btrfs.img" "btrfs"
truncate -s $((4 * MIB)) "$TMP/mbr-xfs.img"
mbr_set "$TMP/mbr-xfs.img" 0 0x83 2048 2048; hexw "$TMP/mbr-xfs.img" $MIB 58465342
bad "MBR whose only partition is xfs" "$TMP/mbr-xfs.img" "partition 1 holds xfs"
bad "--partition 3 of a one-partition MBR" "$MBR" "partition 3 does not exist" --partition 3
bad "--partition on a whole-disk file system" "$IMG" "no partition table" --partition 1
truncate -s $((2 * MIB)) "$TMP/past-end.img"
mbr_set "$TMP/past-end.img" 0 0x83 8192 2048
bad "partition past the end of the image" "$TMP/past-end.img" "past the end"
head -c $((10 * MIB)) "$MBR" >"$TMP/mbr-trunc.img"
bad "MBR image cut inside its partition" "$TMP/mbr-trunc.img" "truncated"
cp "$GPT" "$TMP/gpt-bad.img"; hexw "$TMP/gpt-bad.img" $((512 + 12)) 00100000	# header size 4096
bad "GPT with an impossible header" "$TMP/gpt-bad.img" "GPT"
truncate -s $((40 * MIB)) "$TMP/two-data.img"
mke2fs -q -F -t ext4 -E offset=$MIB -d "$D" "$TMP/two-data.img" 16M >/dev/null 2>&1
mke2fs -q -F -t ext4 -E offset=$((18 * MIB)) -d "$D" "$TMP/two-data.img" 16M >/dev/null 2>&1
mbr_set "$TMP/two-data.img" 0 0x83 2048 $((16 * MIB / 512))
mbr_set "$TMP/two-data.img" 1 0x83 $((18 * 2048)) $((16 * MIB / 512))
bad "two ext4 partitions, neither a root" "$TMP/two-data.img" "choose one with --partition"
mkfifo "$TMP/fifo.img"
bad "a FIFO (no hang)" "$TMP/fifo.img" "neither a regular file nor a block device"
mkdir "$TMP/dir.img"
bad "a directory" "$TMP/dir.img" "neither a regular file nor a block device"
bad "a missing file" "$TMP/missing.img" "No such file"

usage() { # DESC WORD ARGS...: exit 2 and WORD on stderr
	local desc=$1 word=$2; shift 2
	"$VANTAGE" crawl "$@" >/dev/null 2>"$TMP/u.err"
	local rc=$?
	if [ "$rc" == 2 ] && grep -qF -- "$word" "$TMP/u.err"; then ok "$desc"; else
		not_ok "$desc"; echo "#   rc=$rc: $(cat "$TMP/u.err")"; fi
}
usage "--image with --root is refused" "cannot be combined" --image "$IMG" --root /
usage "--image with --containers is refused" "cannot be combined" --image "$IMG" --containers
usage "--image with --host is refused" "cannot be combined" --image "$IMG" --host
usage "--image with a live feature is refused" "needs a running system" --image "$IMG" -f process
usage "--partition without --image is refused" "--partition goes with --image" --partition 1
usage "--partition 0 is refused" "not a partition number" --image "$IMG" --partition 0
usage "--partition abc is refused" "not a partition number" --image "$IMG" --partition abc
"$VANTAGE" crawl --image "$IMG" >"$TMP/default.json" 2>/dev/null
check_eq "--image default features: os, package, config" '["os","package","config"]' \
	"$(jq -c 'select(.feature=="frame") | .value.features' "$TMP/default.json")"
"$VANTAGE" crawl --help | grep -q -- '--image PATH'
check_eq "--help documents --image" 0 $?

# ---- fuzz ---------------------------------------------------------------------------------------
# Random bytes written where they hurt: the used part of the inode table
# (modes, sizes, extent roots, block maps), directory blocks, the
# superblock and group descriptors; with and without metadata checksums
# (without them corrupt inodes, extent trees and directories reach the
# parsers).  Every crawl must end with exit 0 or 2, in time.
mkimg "$TMP/fz-nocsum.img" 16M -t ext4 -O ^metadata_csum
# targets IMG: "offset length" lines of the regions worth corrupting
targets() {
	local bs isz used itab b
	bs=$(dumpe2fs -h "$1" 2>/dev/null | awk -F: '/^Block size/ {print $2+0}')
	isz=$(dumpe2fs -h "$1" 2>/dev/null | awk -F: '/^Inode size/ {print $2+0}')
	used=$(dumpe2fs -h "$1" 2>/dev/null | awk -F: '/^Inode count/ {c=$2} /^Free inodes/ {f=$2} END {print c-f}')
	itab=$(dumpe2fs "$1" 2>/dev/null | awk '/Inode table at/ {sub(/-.*/, "", $4); print $4; exit}')
	for _ in 1 2 3 4 5 6; do echo "$((itab * bs)) $(((used + 12) * isz))"; done	# weighted
	echo "1024 $((2 * bs))"
	(cd "$T" && find . -type d) | while read -r d; do
		for b in $(debugfs -R "blocks ${d#.}/" "$1" 2>/dev/null); do echo "$((b * bs)) $bs"; done
	done
}
RANDOM=4242
crashes="" n=0 errs=0 exit2=0
for base in "$TMP/fz-nocsum.img" "$IMG" "$TMP/ext2.img"; do
	mapfile -t tg < <(targets "$base")
	for i in $(seq 1 70); do
		m=$TMP/mutant.img
		cp "$base" "$m"
		for k in $(seq 0 $((RANDOM % 8))); do
			read -r off len <<<"${tg[RANDOM % ${#tg[@]}]}"
			hexw "$m" $((off + (RANDOM * 32768 + RANDOM) % len)) "$(printf '%02x' $((RANDOM % 256)))"
		done
		timeout 30 "$VANTAGE" crawl --image "$m" -f os,package,config,file --hash \
			-o "$TMP/fz.json" 2>"$TMP/fz.err"
		rc=$?
		n=$((n + 1))
		if [ "$rc" == 2 ]; then
			exit2=$((exit2 + 1))
		elif [ "$rc" == 0 ]; then
			[ "$(head -1 "$TMP/fz.json" | jq '[.value.errors[]] | add')" != 0 ] && errs=$((errs + 1))
		else
			crashes+=" $rc"
			cp "$m" "$TMP/crash-$n.img"
			echo "# mutant $n of $(basename "$base") exit $rc: $(head -c 300 "$TMP/fz.err")"
		fi
		rm -f "$TMP/fz.json"
	done
done
echo "# fuzz: $n images: $exit2 refused (exit 2), $errs crawled with errors counted"
check_eq "fuzz: $n mutated images, every crawl exits 0 or 2 in time" "" "$crashes"
check "fuzz: the mutations reached the parsers (errors or refusals in $((exit2 + errs)) of $n)" \
	test $((exit2 + errs)) -ge $((n / 4))
