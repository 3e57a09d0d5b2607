#!/usr/bin/env bash
# Installs the Debian packages Vantage needs to build and to run its tests.
# Skips apt-get entirely when everything is already present.  Run as root
# (or through sudo).  Usage: scripts/setup.sh [--tests]
set -eu
pkgs=(gcc make pkg-config libc6-dev libssl-dev libsqlite3-dev libjansson-dev libmicrohttpd-dev libinih-dev)
if [ "${1:-}" = "--tests" ]; then
	pkgs+=(libcmocka-dev jq busybox-static iproute2 procps time sqlite3 podman runc)
fi
missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$st" in ii*) ;; *) missing+=("$p") ;; esac
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}" >&2
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
