#!/usr/bin/env bash
# Installs the Debian packages Vantage needs to build and to run its tests.
# Skips apt-get entirely when everything is already present.  Run as root
# (or through sudo).  Usage: scripts/setup.sh [--tests]
set -eu
pkgs=(gcc make pkg-config libc6-dev libssl-dev libsqlite3-dev libjansson-dev libmicrohttpd-dev libpq-dev librdkafka-dev libzstd-dev
      libinih-dev libbpf-dev libext2fs-dev comerr-dev libcurl4-openssl-dev)
with_recommends=()
if [ "${1:-}" = "--tests" ]; then
	pkgs+=(libcmocka-dev clang-format clang-tidy cppcheck jq wrk busybox-static iproute2 procps time sqlite3 runc curl prometheus qemu-system-x86 e2fsprogs cpio python3 xz-utils zstd kmod prometheus-alertmanager postgresql kcat)
	with_recommends+=(podman) # its recommends (uidmap, slirp4netns...) are what tests run with
fi
missing() {
	local p st
	for p in "$@"; do
		st=$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		case "$st" in ii*) ;; *) echo "$p" ;; esac
	done
}
m1=$(missing "${pkgs[@]}")
m2=$(missing "${with_recommends[@]}")
if [ -n "$m1$m2" ]; then
	echo "setup: installing" $m1 $m2 >&2
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	[ -n "$m1" ] && $SUDO apt-get install -y -qq --no-install-recommends $m1 >/dev/null
	[ -n "$m2" ] && $SUDO apt-get install -y -qq $m2 >/dev/null
fi
exit 0
