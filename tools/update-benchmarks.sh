#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# update-benchmarks.sh - put the tables `make bench` produced into
# docs/benchmarks.md, between the markers
#   <!-- bench:begin --> and <!-- bench:end -->       (part "bench", the default)
#   <!-- fault:begin --> and <!-- fault:end -->       (part "fault")
# leaving the hand-written text around them alone.
#
#   tools/update-benchmarks.sh <results.md> <docs/benchmarks.md> [part]
set -euo pipefail

usage="usage: update-benchmarks.sh <results.md> <benchmarks.md> [part]"
results=${1:?$usage}
doc=${2:?$usage}
part=${3:-bench}
[[ $part =~ ^[a-z]+$ ]] || { echo "update-benchmarks: bad part '$part'" >&2; exit 2; }
[[ -f $results ]] || { echo "update-benchmarks: $results not found" >&2; exit 1; }
grep -q "^<!-- $part:begin -->\$" "$doc" && grep -q "^<!-- $part:end -->\$" "$doc" ||
	{ echo "update-benchmarks: $doc lacks the $part:begin/$part:end markers" >&2; exit 1; }
tmp=$(mktemp)
awk -v results="$results" -v begin="<!-- $part:begin -->" -v end="<!-- $part:end -->" '
	$0 == begin { print; while ((getline line < results) > 0) print line; skip = 1; next }
	$0 == end { skip = 0 }
	!skip { print }
' "$doc" >"$tmp"
mv "$tmp" "$doc"
echo "update-benchmarks: $doc ($part) updated"
