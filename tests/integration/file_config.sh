#!/usr/bin/env bash
# Integration test: the `file` and `config` features.
#
# Builds a tree under $TMP with every file type (a socket when python3 is
# there), odd modes and owners, hard links, symlinks pointing out of the
# tree; crawls it with `--features file` on the host and through --root,
# and compares every entry and field with `find -printf`; checks --hash
# against sha256sum and --exclude.  Then crawls `config` over a directory
# holding a FIFO, a device node, a 10 GB sparse file, a file above the size
# limit and a symlink to /etc/shadow: it must finish quickly (no block, no
# full read), never show the shadow file, and count the skips in the
# frame header.
source "$(dirname "$0")/lib.sh"

T=$TMP/tree
mkdir -p "$T/sub/deeper" "$T/empty" "$T/with space" "$T/skipme/inner"
printf 'hello\n' >"$T/a.txt"
printf 'x%.0s' $(seq 1000) >"$T/sub/k.bin"
printf 'deep\n' >"$T/sub/deeper/d.txt"
printf 'spaced\n' >"$T/with space/f é.txt"
printf 'no\n' >"$T/skipme/inner/n.txt"
: >"$T/empty-file"
chmod 4755 "$T/a.txt"
chmod 0600 "$T/sub/k.bin"
chmod 1777 "$T/empty"
chown 1234:5678 "$T/sub/deeper/d.txt"
ln "$T/a.txt" "$T/hardlink"
ln -s a.txt "$T/rel-link"
ln -s /etc/shadow "$T/abs-link"
ln -s ../../../../../etc "$T/sub/up-link"
ln -s /nonexistent "$T/dangling"
mkfifo "$T/fifo"
mknod "$T/null" c 1 3
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/sock" 2>/dev/null
touch -d '2001-02-03 04:05:06 UTC' "$T/sub/deeper/d.txt"

# find's view: path type mode uid gid size mtime ctime inode nlink link
find_tsv() { # DIR PREFIX-TO-STRIP
	find "$1" -printf '%p\t%y\t%m\t%U\t%G\t%s\t%T@\t%C@\t%i\t%n\t%l\n' |
		awk -F'\t' -v OFS='\t' -v strip="$2" '
		BEGIN { t["f"]="file"; t["d"]="dir"; t["l"]="symlink"; t["c"]="chardev";
			t["b"]="blockdev"; t["p"]="fifo"; t["s"]="socket" }
		{ p = $1; if (strip != "") { p = substr(p, length(strip) + 1); if (p == "") p = "/" }
		  m = sprintf("%04d", $3); split($7, mt, "."); split($8, ct, ".")
		  print p, t[$2], m, $4, $5, $6, mt[1], ct[1], $9, $10, $11 }' | LC_ALL=C sort
}
# vantage's view, same columns
jq_tsv() {
	jq -r 'select(.feature=="file") | .value |
		[.path, .type, .mode, .uid, .gid, .size, (.mtime|fromdateiso8601),
		 (.ctime|fromdateiso8601), .inode, .nlink, (.link // "")] | @tsv' "$1" | LC_ALL=C sort
}

# ---- file, on the host --------------------------------------------------------
out=$TMP/file.json
timeout 60 "$VANTAGE" crawl --features file --file-root "$T" --output "$out" 2>"$TMP/err"
check "file crawl of a tree succeeds" test $? -eq 0
find_tsv "$T" "" >"$TMP/want.tsv"
jq_tsv "$out" >"$TMP/got.tsv"
if diff -u "$TMP/want.tsv" "$TMP/got.tsv" >"$TMP/diff"; then
	ok "file: every entry and field equals find -printf ($(wc -l <"$TMP/want.tsv") entries)"
else
	not_ok "file: entries and fields equal find -printf"; sed 's/^/#   /' "$TMP/diff" | head -40
fi
hdr=$(head -1 "$out")
check_eq "file: first line is the frame header" frame "$(jq -r .feature <<<"$hdr")"
check_eq "file: no errors counted" 0 "$(jq -r .value.errors.file <<<"$hdr")"
check_eq "file: record count in header" "$(wc -l <"$TMP/want.tsv")" "$(jq -r .value.records <<<"$hdr")"
check_eq "file: keys are the paths" 0 \
	"$(jq -r 'select(.feature=="file") | select(.key != .value.path) | .key' "$out" | wc -l)"
check_eq "file: setuid mode" 4755 "$(jq -r "select(.key==\"$T/a.txt\") | .value.mode" "$out")"
check_eq "file: sticky dir mode" 1777 "$(jq -r "select(.key==\"$T/empty\") | .value.mode" "$out")"
check_eq "file: ISO mtime" 2001-02-03T04:05:06Z \
	"$(jq -r "select(.key==\"$T/sub/deeper/d.txt\") | .value.mtime" "$out")"
check_eq "file: symlink out of the tree reported, not followed" "/etc/shadow" \
	"$(jq -r "select(.key==\"$T/abs-link\") | .value.link" "$out")"
if [ -S "$T/sock" ]; then
	check_eq "file: a socket is typed socket" socket \
		"$(jq -r "select(.key==\"$T/sock\") | .value.type" "$out")"
fi
check "file: no sha256 without --hash" \
	test "$(jq -r 'select(.value.sha256 != null)' "$out" | wc -c)" -eq 0

# ---- --hash ---------------------------------------------------------------------
timeout 60 "$VANTAGE" crawl --features file --file-root "$T" --hash --output "$TMP/hash.json" 2>/dev/null
bad=0 n=0
while IFS=$'\t' read -r p h; do
	n=$((n + 1))
	[ "$h" == "$(sha256sum <"$p" | cut -d' ' -f1)" ] || { bad=1; echo "#   $p: $h"; }
done < <(jq -r 'select(.feature=="file" and .value.type=="file") | [.key, .value.sha256] | @tsv' "$TMP/hash.json")
check_eq "file --hash: sha256 of $n files equal sha256sum" 0 "$bad"
check_eq "file --hash: the 7 regular files hashed" 7 "$n"
check_eq "file --hash: no sha256 on non-regular" 0 \
	"$(jq -r 'select(.feature=="file" and .value.type!="file" and .value.sha256!=null) | .key' "$TMP/hash.json" | wc -l)"

# ---- --exclude ------------------------------------------------------------------
"$VANTAGE" crawl --features file --file-root "$T" --exclude "$T/skipme/" --exclude "$T/fifo" \
	--output "$TMP/excl.json" 2>/dev/null
check_eq "file --exclude: excluded paths and all below are absent" 0 \
	"$(jq -r 'select(.feature=="file") | .key' "$TMP/excl.json" | grep -cE '/skipme($|/)|/fifo$')"
check_eq "file --exclude: the rest is there" $(($(wc -l <"$TMP/want.tsv") - 4)) \
	"$(jq -r 'select(.feature=="file") | .key' "$TMP/excl.json" | wc -l)"
# an exclude holding the walk's root does not empty the walk
"$VANTAGE" crawl --features file --file-root "$T/skipme" --exclude "$T" --output "$TMP/excl2.json" 2>/dev/null
check_eq "file --exclude of the root's parent: the root is still walked" 3 \
	"$(jq -r 'select(.feature=="file") | .key' "$TMP/excl2.json" | wc -l)"

# ---- file through --root ------------------------------------------------------
"$VANTAGE" crawl --root "$T" --features file --file-root / --output "$TMP/root.json" 2>/dev/null
check "file --root: crawl succeeds" test $? -eq 0
check_eq "file --root: system kind image" image "$(head -1 "$TMP/root.json" | jq -r .value.kind)"
find_tsv "$T" "$T" >"$TMP/want-root.tsv"
jq_tsv "$TMP/root.json" >"$TMP/got-root.tsv"
if diff -u "$TMP/want-root.tsv" "$TMP/got-root.tsv" >"$TMP/diff"; then
	ok "file --root: entries and fields equal find -printf, paths inside the root"
else
	not_ok "file --root: entries and fields equal find -printf"; sed 's/^/#   /' "$TMP/diff" | head -40
fi
# a file root reached through a symlink resolves inside the root: sub/up-link
# climbs out with "..", which stops at the root, so it is the tree's /etc (absent)
"$VANTAGE" crawl --root "$T" --features file --file-root /sub/up-link/passwd \
	--output "$TMP/esc.json" 2>/dev/null
check_eq "file --root: a path escaping through .. stays inside (not found)" 0 \
	"$(jq -r 'select(.feature=="file") | .key' "$TMP/esc.json" | wc -l)"

# ---- crawler format -------------------------------------------------------------
"$VANTAGE" crawl --features file --file-root "$T" --format crawler --output "$TMP/cr.txt" 2>/dev/null
line=$(grep -F "$(printf 'file\t"%s/rel-link"\t' "$T")" "$TMP/cr.txt")
val=$(cut -f3 <<<"$line")
check_eq "file crawler: link typed and named as the reference" "link a.txt rel-link" \
	"$(jq -r '[.type, .linksto, .name] | join(" ")' <<<"$val")"
check_eq "file crawler: mode is the numeric st_mode" "$(printf %d 0120777)" "$(jq -r .mode <<<"$val")"
check_eq "file crawler: first line is metadata" metadata "$(head -1 "$TMP/cr.txt" | cut -f1)"

# ---- progress -------------------------------------------------------------------
mkdir "$T/many" && (cd "$T/many" && touch $(seq 1 1100))
"$VANTAGE" crawl --features file --file-root "$T" --progress >/dev/null 2>"$TMP/prog"
check "file --progress: progress line on stderr" grep -q $'\rfile: [0-9]* entries, ' "$TMP/prog"
check "file --progress: line cleared at the end" \
	test "$(tail -c 4 "$TMP/prog" | od -An -c | tr -d ' ')" == '\r033[K'
"$VANTAGE" crawl --features file --file-root "$T" --no-progress >/dev/null 2>"$TMP/prog"
check "file --no-progress: nothing on stderr" test ! -s "$TMP/prog"
rm -rf "$T/many"

# ---- config ---------------------------------------------------------------------
C=$TMP/conf
mkdir -p "$C/sub"
printf 'key = value\n# comment\n' >"$C/app.conf"
printf 'nested\n' >"$C/sub/n.conf"
head -c 3000 /dev/urandom >"$C/binary.dat"
printf '\x00\x01\xff\xfeA\x80\n' >"$C/bytes.dat"
head -c 100000 /dev/urandom >"$C/big.dat"
truncate -s 10G "$C/sparse.img"
mkfifo "$C/fifo"
mknod "$C/null" c 1 3
ln -s /etc/shadow "$C/shadow-link"
chmod 0640 "$C/app.conf"
start=$(date +%s%N)
timeout 20 "$VANTAGE" crawl --features config --config-path "$C" --output "$TMP/conf.json" 2>/dev/null
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check_eq "config: crawl with a FIFO, a device and a 10G file finishes (exit 0)" 0 "$rc"
check "config: took under 5 s ($ms ms)" test "$ms" -lt 5000
hdr=$(head -1 "$TMP/conf.json")
check_eq "config: skipped count (fifo, device, 10G, 100k)" 4 "$(jq -r .value.skipped.config <<<"$hdr")"
check_eq "config: no errors" 0 "$(jq -r .value.errors.config <<<"$hdr")"
cv() { jq -r "select(.feature==\"config\" and .key==\"$C/$1\") | .value | $2" "$TMP/conf.json"; }
check_eq "config: text content" "$(cat "$C/app.conf")" "$(cv app.conf .content)"
check_eq "config: fields" "0640 false $(stat -c %s "$C/app.conf")" "$(cv app.conf '"\(.mode) \(.truncated) \(.size)"')"
check_eq "config: sha256 of a small file" "$(sha256sum <"$C/app.conf" | cut -d' ' -f1)" "$(cv app.conf .sha256)"
check_eq "config: nested dir walked" "nested" "$(cv sub/n.conf .content)"
check_eq "config: binary sha256" "$(sha256sum <"$C/binary.dat" | cut -d' ' -f1)" "$(cv binary.dat .sha256)"
# invalid bytes are escaped as \udcXX (surrogateescape), one per byte: check the raw text
check "config: binary content kept, each invalid byte escaped as \\udcXX" \
	grep -qF '"content":"\u0000\u0001\udcff\udcfeA\udc80\n"' "$TMP/conf.json"
check "config: random binary content present" test "$(cv binary.dat '.content | length')" -gt 0
check_eq "config: large file: hash, no content" \
	"$(sha256sum <"$C/big.dat" | cut -d' ' -f1) true null" "$(cv big.dat '"\(.sha256) \(.truncated) \(.content)"')"
check_eq "config: 10G sparse file: not read" "10737418240 true null null" \
	"$(cv sparse.img '"\(.size) \(.hash_skipped) \(.sha256) \(.content)"')"
check_eq "config: symlink reported with its target, not followed" "/etc/shadow null" \
	"$(cv shadow-link '"\(.link) \(.content)"')"
check_eq "config: FIFO and device: no record" "" "$(cv fifo .path)$(cv null .path)"
if [ -s /etc/shadow ]; then
	check "config: nothing of /etc/shadow in the output" \
		test "$(grep -cF "$(head -1 /etc/shadow)" "$TMP/conf.json")" -eq 0
fi

# a single file as config path; a missing one is an error, not a failure
"$VANTAGE" crawl --features config --config-path "$C/app.conf" --config-path "$C/missing" \
	--output "$TMP/one.json" 2>/dev/null
check_eq "config: a file as config path, a missing one counted as error" "1 1" \
	"$(jq -r 'select(.feature=="config") | .key' "$TMP/one.json" | wc -l) $(head -1 "$TMP/one.json" | jq -r .value.errors.config)"

# --config-max-size
"$VANTAGE" crawl --features config --config-path "$C/sub" --config-path "$C/app.conf" \
	--config-max-size 10 --output "$TMP/small.json" 2>/dev/null
check_eq "config --config-max-size 10: 7-byte file has content, 21-byte file not" \
	"$C/app.conf true false $C/sub/n.conf false true" \
	"$(jq -r 'select(.feature=="config") | "\(.key) \(.value.truncated) \(.value.content != null)"' \
		"$TMP/small.json" | LC_ALL=C sort | xargs)"

# ---- config through --root: symlinks resolve inside the root -------------------
Rt=$TMP/rootfs
mkdir -p "$Rt/etc"
printf 'root:x:0:0:inside:/root:/bin/sh\n' >"$Rt/etc/passwd"
ln -s /etc/shadow "$Rt/etc/shadow-link"
ln -s /etc "$Rt/hostetc"
ln -s ../../../../.. "$Rt/etc/up"
timeout 20 "$VANTAGE" crawl --root "$Rt" --features config --config-path /etc \
	--config-path /hostetc/passwd --config-path /etc/up/etc/passwd --output "$TMP/rconf.json" 2>/dev/null
check_eq "config --root: passwd read from inside the root, thrice" "3" \
	"$(jq -r 'select(.feature=="config") | .value.content // empty' "$TMP/rconf.json" | grep -c inside)"
check_eq "config --root: keys are paths inside the root" \
	"/etc/passwd /etc/shadow-link /etc/up /etc/up/etc/passwd /hostetc/passwd" \
	"$(jq -r 'select(.feature=="config") | .key' "$TMP/rconf.json" | LC_ALL=C sort | xargs)"
check_eq "config --root: no host file content" "" \
	"$(jq -r 'select(.feature=="config") | .value.content // empty | select(test("inside") | not)' "$TMP/rconf.json")"

# ---- permission errors are counted, and the walk goes on ---------------------
# (root reads everything, so run as nobody)
P=$TMP/perm
chmod 0711 "$TMP"
mkdir -p "$P/open" "$P/closed"
printf 'public\n' >"$P/open/f"
printf 'secret\n' >"$P/open/private"
printf 'x\n' >"$P/closed/inside"
chmod 0700 "$P/closed"
chmod 0600 "$P/open/private"
cp "$VANTAGE" "$TMP/vantage-copy" && chmod 0755 "$TMP/vantage-copy"
(cd / && setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$TMP/vantage-copy" crawl \
	--features file,config --file-root "$P" --config-path "$P" 2>/dev/null) >"$TMP/perm.json"
check_eq "as nobody: crawl succeeds" 0 "$?"
hdr=$(head -1 "$TMP/perm.json")
check_eq "as nobody: file errors = 1 (the closed dir), config errors = 2 (+ private)" "1 2" \
	"$(jq -r '"\(.value.errors.file) \(.value.errors.config)"' <<<"$hdr")"
check "as nobody: the error names the directory" grep -q "closed: Permission denied" <<<"$hdr"
check_eq "as nobody: the walk went on (closed dir itself reported, open/f read)" "$P/closed public" \
	"$(jq -r 'select(.feature=="file" and .key=="'"$P/closed"'") | .key' "$TMP/perm.json") $(jq -r 'select(.feature=="config" and .key=="'"$P/open/f"'") | .value.content' "$TMP/perm.json")"
check_eq "as nobody: an unreadable config file has a record with its error" "Permission denied null" \
	"$(jq -r 'select(.feature=="config" and .key=="'"$P/open/private"'") | "\(.value.error) \(.value.content)"' "$TMP/perm.json")"

# secrets: metadata and hash, never content
S=$TMP/secret-root
mkdir -p "$S/etc/ssh" "$S/etc/ssl/private"
echo 'root:$6$saltsalt$hashhashhash:19000:0:99999:7:::' >"$S/etc/shadow"
echo 'PRIVATE KEY BYTES' >"$S/etc/ssh/ssh_host_ed25519_key"
echo 'TLS KEY BYTES' >"$S/etc/ssl/private/site.pem"
echo 'Port 22' >"$S/etc/ssh/sshd_config"
$VANTAGE crawl --root "$S" -f config >"$TMP/secret.jsonl"
check "secrets: no shadow hash, host key or TLS key in the frame" \
	bash -c "! grep -qE 'hashhashhash|PRIVATE KEY BYTES|TLS KEY BYTES' '$TMP/secret.jsonl'"
check "secrets: /etc/shadow withheld with its sha256" \
	jq_any '.key=="/etc/shadow" and .value.withheld == true and (.value.sha256|length) == 64 and .value.content == null' "$TMP/secret.jsonl"
check "secrets: an ordinary config file keeps its content" \
	jq_any '.key=="/etc/ssh/sshd_config" and .value.content == "Port 22\n"' "$TMP/secret.jsonl"
