#!/usr/bin/env bash
# seed.sh - copy a real file of this machine into a harness's seed corpus,
# prefixed with the byte that picks its parser (fuzz.h, fuzz_pick).
#
#   fuzz/tools/seed.sh HARNESS BYTE NAME [FILE]   (FILE "-" or absent: stdin)
#
# e.g. fuzz/tools/seed.sh proc 0 stat-self /proc/self/stat writes
# fuzz/corpus/proc/0-stat-self.  Files are cut at 16 KiB (seeds stay small).
set -eu
cd "$(dirname "$0")/../.."
h=$1 b=$2 name=$3 src=${4:--}
mkdir -p "fuzz/corpus/$h"
out="fuzz/corpus/$h/$b-$name"
{
	printf "\\x$(printf %02x "$b")"
	if [ "$src" = - ]; then cat; else cat "$src"; fi | head -c 16384
} >"$out"
