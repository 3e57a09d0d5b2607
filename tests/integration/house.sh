#!/usr/bin/env bash
# The house rules, checked on the tree as it is (docs/architecture.md):
#   - every #include points down the layers (scripts/layers);
#   - the layer check catches a planted upward include (it can fail);
#   - clang-format (repo .clang-format) would change nothing;
#   - no two source files under src/ share a base name;
#   - no test script waits on a value its shell computed once
#     (`wait_for 9 test "$(f)" = x` runs f once: the wait cannot end);
#   - make lint (cppcheck, clang-tidy) reports nothing.
cd "$(dirname "$0")/../.."
source tests/integration/lib.sh

out=$(scripts/layers 2>&1)
if [ $? -eq 0 ]; then ok "make layers: $out"; else not_ok "make layers"; sed 's/^/#   /' <<<"$out"; fi

# a planted include of cli/ from util/ must be named with its file and line
mkdir -p "$TMP/src/util" "$TMP/src/cli"
printf '/* x */\n#include "../cli/cli.h"\n' >"$TMP/src/util/bad.c"
printf '/* x */\n' >"$TMP/src/cli/cli.h"
out=$(scripts/layers "$TMP/src" 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q "src/util/bad.c:2: util includes ../cli/cli.h (cli), which is above it" <<<"$out"; then
	ok "make layers names a planted upward include with file and line"
else
	not_ok "make layers names a planted upward include (rc $rc)"; sed 's/^/#   /' <<<"$out"
fi

files=$(find src tests bench fuzz -name '*.[ch]' | sort)
# shellcheck disable=SC2086
out=$(clang-format --dry-run -Werror $files 2>&1)
if [ $? -eq 0 ]; then ok "make format would change nothing ($(wc -w <<<"$files") files)"; else
	not_ok "make format would change files"; grep -o '^[^:]*:[0-9]*' <<<"$out" | sort -u | head -20 | sed 's/^/#   /'
fi

dups=$(find src -name '*.[ch]' -printf '%f\n' | sort | uniq -d)
check_eq "no two source files share a base name" "" "$dups"

# wait_for runs its arguments again and again, but "$(...)" among them was
# expanded once before: such a wait always runs its whole time out
once=$(grep -nE '^[^#]*wait_for [0-9.]+ +(test|\[) [^|;&]*"\$\(' tests/integration/*.sh tests/soak/*.sh bench/* 2>/dev/null)
check_eq "no wait_for on a value computed once" "" "$once"

out=$(make -s lint 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then ok "make lint exits 0 and reports nothing"; else
	not_ok "make lint (exit $rc)"; tail -40 <<<"$out" | sed 's/^/#   /'
fi
