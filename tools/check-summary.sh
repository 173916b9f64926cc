#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-summary.sh - add up the results `make check` left in a folder and
# print the closing line `N passed, N failed`. Exit status 1 if anything
# failed or an expected result file is missing (a suite that never ran is a
# failure, not a pass).
#
#   tools/check-summary.sh <results dir> [expected.tap ...]
#
# A file's count comes from its own summary line "# <suite>: N passed, M
# failed" when it has one (the VM suites), else from its top-level TAP lines
# ("ok ..." / "not ok ...").
set -uo pipefail

dir=${1:?usage: check-summary.sh <results dir> [expected.tap ...]}
shift
passed=0
failed=0

for want in "$@"; do
	if [[ ! -s $dir/$want ]]; then
		echo "check: $want: missing (that suite did not run)"
		failed=$((failed + 1))
	fi
done

shopt -s nullglob
for f in "$dir"/*.tap; do
	line=$(grep -E '^# [^ ]+: [0-9]+ passed, [0-9]+ failed' "$f" | tail -1)
	if [[ -n $line ]]; then
		p=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
		q=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
	else
		p=$(grep -cE '^ok ' "$f")
		q=$(grep -cE '^not ok ' "$f")
	fi
	if [[ $((p + q)) == 0 ]]; then
		echo "check: $(basename "$f" .tap): ran no test"
		q=1
	fi
	printf 'check: %-36s %4d passed, %4d failed\n' "$(basename "$f" .tap)" "$p" "$q"
	grep -E '^not ok ' "$f" | sed "s/^/check:   $(basename "$f" .tap): /"
	passed=$((passed + p))
	failed=$((failed + q))
done

echo "$passed passed, $failed failed"
[[ $failed == 0 && $passed -gt 0 ]]
