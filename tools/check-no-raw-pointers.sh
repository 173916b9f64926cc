#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-no-raw-pointers.sh - the pointer rule (docs/fuzzing.md): nothing
# mmlab prints - debugfs views, control results, the kernel log - shows a
# raw kernel address. Pointers are printed with the kernel's hashed %p
# (mmlab_host_format_ptr) or as ids; %pS is for call sites. This script
# greps the sources for the ways a raw address gets out:
#
#   - %px, %pK, %pa/%pap/%pad (raw or root-only pointers, physical addresses)
#   - a pointer cast to an integer (reinterpret_cast<uintptr_t>, (uintptr_t),
#     (unsigned long)/(u64)/(unsigned long long) of a name like ptr, addr,
#     obj, p, page, area, mem, buf, cache, pool or region) in the argument
#     list of a call whose format string prints an integer
#
# A statement that prints an integer which only looks like a pointer (a
# user-space address from a fault record, a pfn) may say so with a comment
# "raw-pointer-ok: <why>" inside the statement.
#
#   tools/check-no-raw-pointers.sh [top]    exit 1 and list offenders
set -uo pipefail

top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 2

files=$(ls module/*.c module/*.h cxxcore/*.cc cxxcore/*.h cxxcore/include/mmlab/*.h 2>/dev/null)
[[ -n $files ]] || { echo "check-no-raw-pointers: no sources under $top" >&2; exit 2; }

# Statements are joined up to their ';' (or '{' / '}') so that a format on
# one line and its arguments on the next are seen together.
# shellcheck disable=SC2086
awk '
function flush(   s, bad) {
	if (stmt == "")
		return
	s = stmt
	bad = ""
	if (s ~ /"[^"]*%p[xK]/)
		bad = "%px/%pK"
	else if (s ~ /"[^"]*%pa[pd]?[^A-Za-z]/)
		bad = "%pa (a physical address)"
	else if (s ~ /"[^"]*%[-#0-9.]*(l|ll|z|j)?[xXud]/ &&
		 (s ~ /reinterpret_cast<(uintptr_t|unsigned long|uint64_t)>/ ||
		  s ~ /\((uintptr_t|unsigned long|unsigned long long|u64|uint64_t)\) *&?[A-Za-z_]*(ptr|addr|obj|page|area|mem|buf|cache|pool|region|^p)[A-Za-z_]*[,) ]/ ||
		  s ~ /\((uintptr_t|unsigned long|unsigned long long|u64|uint64_t)\) *\(?(p|obj|ptr|addr|page|mem|buf)[,) ]/))
		bad = "a pointer cast to an integer in a print"
	if (bad != "" && s !~ /raw-pointer-ok:/) {
		printf "%s:%d: %s\n    %s\n", FILENAME, start, bad, substr(s, 1, 300)
		found = 1
	}
	stmt = ""
}
FNR == 1 { flush() }
{
	line = $0
	# Drop line comments that are not the allow marker.
	if (line ~ /^[ \t]*(\/\/|\*|\/\*)/ && line !~ /raw-pointer-ok:/)
		next
	if (stmt == "")
		start = FNR
	stmt = stmt " " line
	if (line ~ /[;{}][ \t]*(\/\/.*|\/\*.*)?$/)
		flush()
}
END { flush(); exit found }
' $files
rc=$?
if [[ $rc == 0 ]]; then
	echo "check-no-raw-pointers: $(wc -w <<<"$files") files, no raw pointer format"
else
	echo "check-no-raw-pointers: raw kernel pointers may be printed (see above; docs/fuzzing.md)"
fi
exit $rc
