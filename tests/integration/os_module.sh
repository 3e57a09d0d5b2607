#!/usr/bin/env bash
# Integration test: the `os` and `module` features on the live host.
#
# The os record is checked against /etc/os-release (sourced by the shell),
# uname, hostname, /etc/machine-id, /proc/stat btime, /proc/uptime and
# `ip addr`; the module records against /proc/modules.  A kernel without
# module support has no /proc/modules: then no module record may appear.
source "$(dirname "$0")/lib.sh"

out=$TMP/frame.json
"$VANTAGE" crawl --features os,module >"$out" 2>"$TMP/err"
check_eq "crawl os,module exits 0" 0 $?
os=$(jq -c 'select(.feature == "os") | .value' "$out")
check_eq "one os record, key linux" "linux" "$(jq -r 'select(.feature == "os") | .key' "$out")"
check_eq "no errors in the frame" '{"os":0,"module":0}' \
	"$(jq -c 'select(.feature == "frame") | .value.errors' "$out")"

field() { jq -r ".$1 // \"null\"" <<<"$os"; }
(
	# shellcheck disable=SC1091
	. /etc/os-release 2>/dev/null || . /usr/lib/os-release
	printf '%s\n' "${ID:-null}" "${VERSION_ID:-null}" "${PRETTY_NAME:-null}" "${NAME:-null}" \
		"${ID_LIKE:-null}" "${VERSION_CODENAME:-null}"
) >"$TMP/osr"
mapfile -t osr <"$TMP/osr"
check_eq "id" "${osr[0]}" "$(field id)"
check_eq "version_id" "${osr[1]}" "$(field version_id)"
check_eq "pretty_name" "${osr[2]}" "$(field pretty_name)"
check_eq "name" "${osr[3]}" "$(field name)"
check_eq "id_like" "${osr[4]}" "$(field id_like)"
check_eq "version_codename" "${osr[5]}" "$(field version_codename)"
check_eq "kernel_release = uname -r" "$(uname -r)" "$(field kernel_release)"
check_eq "kernel_version = uname -v" "$(uname -v)" "$(field kernel_version)"
check_eq "architecture = uname -m" "$(uname -m)" "$(field architecture)"
check_eq "hostname" "$(hostname)" "$(field hostname)"
check_eq "machine_id" "$(cat /etc/machine-id)" "$(field machine_id)"
btime=$(awk '$1 == "btime" {print $2}' /proc/stat)
check_eq "boot_time = /proc/stat btime" "$(date -u -d "@$btime" +%Y-%m-%dT%H:%M:%S.000Z)" \
	"$(field boot_time)"
up=$(cut -d' ' -f1 /proc/uptime)
check "uptime_s close to /proc/uptime ($up)" \
	awk -v a="$(field uptime_s)" -v b="$up" 'BEGIN { d = b - a; exit !(a > 0 && d >= 0 && d < 5) }'

want=$(ip -o addr show 2>/dev/null | awk '$2 != "lo" { split($4, a, "/"); print a[1] }' | sort)
got=$(jq -r '.ip_addresses[]' <<<"$os" | sort)
check_eq "ip_addresses = non-loopback addresses of ip addr" "$want" "$got"

# Crawler format: the reference's names and types.
c=$("$VANTAGE" crawl --features os --format crawler | awk -F'\t' '$1 == "os"')
check_eq "crawler: feature os, key linux" 'os	"linux"' "$(cut -f1,2 <<<"$c")"
cj=$(cut -f3 <<<"$c")
check_eq "crawler: os, os_version, os_kernel, architecture, hostname" \
	"${osr[0]} ${osr[1]} $(uname -r) $(uname -m) $(hostname)" \
	"$(jq -r '[.os, .os_version, .os_kernel, .architecture, .hostname] | join(" ")' <<<"$cj")"
check_eq "crawler: boottime is epoch seconds" "$btime" "$(jq -r '.boottime' <<<"$cj")"
check_eq "crawler: uptime and ipaddr types" "number array" \
	"$(jq -r '[(.uptime | type), (.ipaddr | type)] | join(" ")' <<<"$cj")"

# Modules.
got=$(jq -r 'select(.feature == "module") | .key' "$out" | sort)
if [ -z "$(cat /proc/modules 2>/dev/null)" ]; then
	echo "# this kernel has no loadable modules (/proc/modules absent or empty);"
	echo "# host_modules is covered against a fake procfs in unit/test_modules"
	check_eq "no module records" "" "$got"
else
	want=$(awk '{print $1}' /proc/modules | sort)
	check_eq "module names = /proc/modules" "$want" "$got"
	first=$(head -1 /proc/modules)
	read -r name size refs users state _ <<<"$first"
	m=$(jq -c --arg n "$name" 'select(.feature == "module" and .key == $n) | .value' "$out")
	users=${users%,}
	[ "$users" = "-" ] && users=""
	check_eq "module $name fields" "$name $size $refs $state [$users]" \
		"$(jq -r '"\(.name) \(.size) \(.refcount) \(.state) [\(.used_by | join(","))]"' <<<"$m")"
fi
