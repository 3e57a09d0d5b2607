#!/usr/bin/env bash
# churn - systems appearing and vanishing under `vantage serve` for 5
# minutes: tests/integration/churn.sh (read it for what is checked) run for
# CHURN_SECONDS (default 300) with podman containers churning beside the
# unshare+cgroup containers and the QEMU processes (CHURN_PODMAN, default 1;
# 0 without podman).  Its "# figure:" lines give the daemon's descriptors,
# threads and RSS before, during (start, end, min, max, least-squares slope
# per minute over the whole churn and over its second half) and after.
#   make soak SOAK=churn                       (~6 minutes)
#   CHURN_SEED=N CHURN_SECONDS=600 scripts/soak churn
export CHURN_SECONDS=${CHURN_SECONDS:-300}
export CHURN_PODMAN=${CHURN_PODMAN:-1}
exec bash "$(dirname "$0")/../integration/churn.sh"
