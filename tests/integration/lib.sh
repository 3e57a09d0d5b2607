# Helpers for integration tests (sourced).  Each check prints one TAP line:
# "ok - what" or "not ok - what" (with details after it).  Tests run as root
# on the real machine and clean up after themselves through `on_exit`.
set -u
VANTAGE=${VANTAGE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/vantage}
TMP=$(mktemp -d /tmp/vantage-test.XXXXXX)
_cleanups=()
on_exit() { _cleanups+=("$*"); }
_run_cleanups() {
	set +e # a script running with -e must still clean up everything
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[$i]}" >/dev/null 2>&1; done
	rm -rf "$TMP"
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
