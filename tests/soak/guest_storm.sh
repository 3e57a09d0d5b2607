#!/usr/bin/env bash
# Soak: a QEMU guest running a fork and mmap storm for 5 minutes while
# `vantage crawl --vm` reads its RAM again and again in both formats, then
# one more minute with `vantage serve` watching it (docs/reliability.md,
# "Hostile guests").  It is tests/integration/hostile_vm.sh (whose CI run
# lasts 40 s) with longer durations:
#   STORM_SECONDS        seconds of repeated crawls (default 300)
#   STORM_SERVE_SECONDS  seconds of the daemon beside the storm (default 60)
#   STORM_CRAWL_MAX      bound of one crawl in seconds (default 30)
# About 7 minutes in all.  `make soak SOAK=guest_storm`.
export STORM_SECONDS=${STORM_SECONDS:-300}
export STORM_SERVE=1
export STORM_SERVE_SECONDS=${STORM_SERVE_SECONDS:-60}
exec bash "$(dirname "$0")/../integration/hostile_vm.sh"
