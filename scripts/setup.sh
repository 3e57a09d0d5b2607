#!/usr/bin/env bash
# Installs the Debian packages Vantage needs to build and to run its tests,
# and the dashboard's JavaScript libraries from npm (ui/package-lock.json,
# into ui/node_modules).  Skips apt-get entirely when everything is already
# present, and npm when ui/node_modules matches the lockfile.  Run as root
# (or through sudo).  Usage: scripts/setup.sh [--tests]
set -eu
pkgs=(gcc make pkg-config libc6-dev libssl-dev libsqlite3-dev libjansson-dev libmicrohttpd-dev libpq-dev librdkafka-dev libzstd-dev
      libinih-dev libbpf-dev libext2fs-dev comerr-dev libcurl4-openssl-dev
      libsystemd-dev)
with_recommends=()
if [ "${1:-}" = "--tests" ]; then
	pkgs+=(chromium libcmocka-dev clang-format clang-tidy cppcheck jq wrk busybox-static iproute2 procps time sqlite3 runc curl prometheus qemu-system-x86 e2fsprogs cpio python3 xz-utils zstd kmod prometheus-alertmanager postgresql kcat iperf3 ethtool graphite-carbon systemd-journal-remote faketime openssl)
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
# node and npm for the dashboard (Debian's, unless some other node is there)
command -v node >/dev/null 2>&1 || m1="$m1 nodejs"
command -v npm >/dev/null 2>&1 || m1="$m1 npm"
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

# The dashboard's libraries (uPlot, cytoscape) and test tools (playwright-core,
# axe-core), exactly as locked; skipped when the stamp says they already are.
ui=$(cd "$(dirname "$0")/.." && pwd)/ui
if [ -f "$ui/package-lock.json" ]; then
	stamp="$ui/node_modules/.vantage-lock.sha256"
	want=$(sha256sum "$ui/package-lock.json" | cut -d' ' -f1)
	if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		echo "setup: npm ci --prefix ui" >&2
		npm ci --prefix "$ui" --no-audit --no-fund --loglevel=error >&2
		echo "$want" >"$stamp"
	fi
fi
exit 0
