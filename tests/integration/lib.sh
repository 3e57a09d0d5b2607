# Helpers for integration tests (sourced).  Each check prints one TAP line:
# "ok - what" or "not ok - what" (with details after it).  Tests run as root
# on the real machine and clean up after themselves through `on_exit`.
# Tests wait for conditions (wait_for), not for fixed times; a `sleep` left
# in a script is one whose passing time is the point, and says so.
set -u
VANTAGE=${VANTAGE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/vantage}
# helper programs of the tests, built by `make unit` (Makefile: testbin)
TESTBIN=${TESTBIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/tests}
TMP=$(mktemp -d /tmp/vantage-test.XXXXXX)
_cleanups=()
on_exit() { _cleanups+=("$*"); }
_run_cleanups() {
	set +e # a script running with -e must still clean up everything
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[$i]}" >/dev/null 2>&1; done
	_ubsan_reports
	rm -rf "$TMP"
}
# UBSan writes its reports to the program's stderr whatever log_path says:
# a daemon's lands in the log file its test gave it.  Each report in a log
# of $TMP (stopped by now) is a failed check.
_ubsan_reports() {
	local f
	while IFS= read -r f; do
		echo "not ok - a sanitizer report in ${f#"$TMP"/}:"
		grep -m 3 -A 4 'runtime error: ' "$f" | head -12 | sed 's/^/#   /'
	done < <(find "$TMP" -maxdepth 3 -type f \( -name '*.log' -o -name '*.err' -o -name '*.out' \) \
		-size -64M -exec grep -lI 'runtime error: ' {} + 2>/dev/null)
}
trap _run_cleanups EXIT

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
# check DESC COMMAND...: ok if the command succeeds.
check() {
	local desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; echo "#   command: $*"; fi
}
# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   expected: $2"; echo "#   actual:   $3"; fi
}
# jq_any COND FILE: true when some JSON value of FILE satisfies COND
# (jq 1.6's -e judges only the last input, so select() over a stream lies).
jq_any() { [ "$(jq -s "any(.[]; $1)" "$2" 2>/dev/null)" = true ]; }

# wait_for SECS COMMAND...: run COMMAND every 0.1 s until it succeeds (0)
# or SECS seconds have passed (non-zero: COMMAND's status at the last try,
# made once more at the deadline, and a "# wait_for: still false" line on
# standard error, which the suite's log shows, and in $WAIT_FOR_LOG when
# it is set: `WAIT_FOR_LOG=/tmp/w tests/run` lists every wait of every
# suite that ran out).  SECS may have decimals.  COMMAND's arguments are
# expanded once, by the caller: a value to watch needs a function or eval.
wait_for() {
	local end now rc secs=$1
	end=$(($(date +%s%N) + $(awk -v s="$1" 'BEGIN { printf "%.0f", s * 1e9 }')))
	shift
	while :; do
		"$@" && return 0
		now=$(date +%s%N)
		((now < end)) || break
		sleep 0.1
	done
	"$@"
	rc=$?
	# said in the suite's output: a wait that ran out is where to look
	# first when a later check fails (or why a suite took long)
	if [ "$rc" -ne 0 ]; then
		echo "# wait_for: still false after $secs s: $*" | cut -c1-200 >&2
		[ -z "${WAIT_FOR_LOG:-}" ] ||
			echo "$(basename "$0"):${BASH_LINENO[0]}: $secs s: $*" | cut -c1-200 >>"$WAIT_FOR_LOG"
	fi
	return "$rc"
}

# free_port: a TCP port of 127.0.0.1 nobody listens on now
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# need_testbin NAME...: the helper programs $TESTBIN/NAME (built by
# `make unit`) exist; if one is missing, one "not ok" saying so and exit 1.
need_testbin() {
	local n
	for n in "$@"; do
		if [ ! -x "$TESTBIN/$n" ]; then
			not_ok "helper program $TESTBIN/$n is missing: run 'make unit' first"
			exit 1
		fi
	done
}
