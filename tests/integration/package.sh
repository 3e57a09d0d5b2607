#!/usr/bin/env bash
# Integration test: the `package` feature on the live host.
#
# Compares `vantage crawl --features package` (name, version, arch of the
# dpkg records) with dpkg-query's list of packages whose files are on disk
# (status abbreviation i, U, H, F, W or t: every state but not-installed
# and config-files), exactly; checks keys are unique, sizes and sources
# match, the frame has no errors, and the crawler format's field names.
source "$(dirname "$0")/lib.sh"

if ! command -v dpkg-query >/dev/null; then
	echo "# no dpkg-query on this machine: nothing to compare with"
	ok "skipped: not a dpkg system"
	exit 0
fi

out=$TMP/frame.json
"$VANTAGE" crawl --features package >"$out" 2>"$TMP/err"
check_eq "crawl --features package exits 0" 0 $?
check_eq "no errors in the frame" '{"package":0}' \
	"$(jq -c 'select(.feature == "frame") | .value.errors' "$out")"

dpkg-query -W -f '${Package}\t${Version}\t${Architecture}\t${db:Status-Abbrev}\t${Installed-Size}\t${source:Package}\n' \
	>"$TMP/dq"
awk -F'\t' 'substr($4, 2, 1) ~ /[iUHFWt]/ {print $1 "\t" $2 "\t" $3}' "$TMP/dq" | sort >"$TMP/want"
jq -r 'select(.feature == "package" and .value.manager == "dpkg")
	| [.value.name, .value.version, .value.arch] | @tsv' "$out" | sort >"$TMP/got"
n=$(wc -l <"$TMP/want")
if diff "$TMP/want" "$TMP/got" >"$TMP/diff"; then
	ok "name, version, arch of $n packages = dpkg-query -W"
else
	not_ok "name, version, arch = dpkg-query -W"
	head -20 "$TMP/diff" | sed 's/^/#   /'
fi

awk -F'\t' 'substr($4, 2, 1) ~ /[iUHFWt]/ {print $1 "\t" ($5 == "" ? "null" : $5) "\t" $6}' "$TMP/dq" \
	| sort >"$TMP/want2"
jq -r 'select(.feature == "package" and .value.manager == "dpkg")
	| [.value.name, (.value.size_kb // "null"), .value.source] | @tsv' "$out" | sort >"$TMP/got2"
check "size_kb and source = dpkg-query's Installed-Size and source:Package" \
	diff -q "$TMP/want2" "$TMP/got2"

dups=$(jq -r 'select(.feature == "package") | .key' "$out" | sort | uniq -d)
check_eq "package keys are unique" "" "$dups"
check_eq "status of every record is a files-on-disk state" "" \
	"$(jq -r 'select(.feature == "package") | .value.status' "$out" | sort -u |
		grep -vxE 'installed|unpacked|half-installed|half-configured|triggers-awaited|triggers-pending')"

# Crawler format: feature package, key the name, the reference's fields.
line=$("$VANTAGE" crawl --features package --format crawler | awk -F'\t' '$1 == "package"' | head -1)
name=$(cut -f3 <<<"$line" | jq -r .pkgname)
check_eq "crawler: key is the package name" "\"$name\"" "$(cut -f2 <<<"$line")"
check_eq "crawler: pkgname pkgversion pkgarchitecture pkgsize installed" "true" \
	"$(cut -f3 <<<"$line" | jq 'has("pkgname") and has("pkgversion") and has("pkgarchitecture")
		and has("pkgsize") and has("installed")')"

# Speed: report (the bench holds the target; this only catches a blow-up).
start=$(date +%s%N)
for _ in 1 2 3 4 5 6 7 8 9 10; do "$VANTAGE" crawl --features package >/dev/null; done
ms=$((($(date +%s%N) - start) / 10000000))
echo "# crawl --features package: $ms ms per run ($n packages)"
check "crawl --features package under 200 ms ($ms ms)" test "$ms" -lt 200
