#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# update-benchmarks.sh - put the tables `make bench` produced into
# docs/benchmarks.md, between the markers
#   <!-- bench:begin --> and <!-- bench:end -->,
# leaving the hand-written text around them alone.
#
#   tools/update-benchmarks.sh <results.md> <docs/benchmarks.md>
set -euo pipefail

results=${1:?usage: update-benchmarks.sh <results.md> <benchmarks.md>}
doc=${2:?usage: update-benchmarks.sh <results.md> <benchmarks.md>}
grep -q '^<!-- bench:begin -->$' "$doc" && grep -q '^<!-- bench:end -->$' "$doc" ||
	{ echo "update-benchmarks: $doc lacks the bench:begin/bench:end markers" >&2; exit 1; }
tmp=$(mktemp)
awk -v results="$results" '
	/^<!-- bench:begin -->$/ { print; while ((getline line < results) > 0) print line; skip = 1; next }
	/^<!-- bench:end -->$/ { skip = 0 }
	!skip { print }
' "$doc" >"$tmp"
mv "$tmp" "$doc"
echo "update-benchmarks: $doc updated"
