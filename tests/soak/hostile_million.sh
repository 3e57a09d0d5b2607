#!/usr/bin/env bash
# Soak: tests/integration/hostile_guest.sh with a container root of one
# million files (CI uses 100,000) besides the 10,000-deep chain, the
# hostile names and the hostile process: `vantage crawl` in both formats
# and `vantage serve` must give back every name exactly; the figures are
# the crawl times, the daemon's store time and its peak RSS
# (docs/reliability.md, "Hostile guests").  About 3 minutes; needs ~2 GiB
# of memory for the tmpfs and the checks.
#   HOSTILE_FILES   files of the big root (default 1000000)
# `make soak SOAK=hostile_million`.
export HOSTILE_FILES=${HOSTILE_FILES:-1000000}
exec bash "$(dirname "$0")/../integration/hostile_guest.sh"
