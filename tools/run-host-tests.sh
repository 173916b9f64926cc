#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-host-tests.sh - build the core for user space and run its tests.
#
#   tools/run-host-tests.sh <build dir> <tap file>
#
# 1. GoogleTest suite (cxxcore/tests) with ASan + UBSan under CTest;
#    each CTest test becomes one TAP line.
# 2. The same sources with clang-14 and -Wthread-safety -Werror: the lock
#    annotations are checked at compile time (one TAP line).
# 3. The benchmark programs (bench/) build with -Werror, and page_fault
#    runs one small anonymous-memory cycle here (a smoke test, no numbers
#    kept; the /dev/mmlab side needs the module, so the VM does that).
set -uo pipefail

bdir=${1:?usage: run-host-tests.sh <build dir> <tap file>}
tapfile=${2:?usage: run-host-tests.sh <build dir> <tap file>}
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

exec > >(tee "$tapfile") 2>&1
n=0
tap() { n=$((n + 1)); if [[ $1 == 0 ]]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

echo "# host tests: GoogleTest with ASan+UBSan ($bdir/asan)"
if cmake -S "$top/cxxcore/tests" -B "$bdir/asan" -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_CXX_COMPILER=g++-12 >"$bdir.asan-configure.log" 2>&1 &&
   cmake --build "$bdir/asan" -j"$jobs" >"$bdir.asan-build.log" 2>&1; then
	ctest --test-dir "$bdir/asan" -j"$jobs" --output-on-failure \
		>"$bdir.ctest.log" 2>&1
	# " 12/140 Test  #12: Buddy.SplitsDown ....   Passed    0.01 sec"
	while read -r name result; do
		if [[ $result == Passed ]]; then tap 0 "host: $name"; else tap 1 "host: $name ($result)"; fi
	done < <(sed -nE 's/^ *[0-9]+\/[0-9]+ +Test +#[0-9]+: ([^ ]+) \.*[* ]*([A-Za-z][A-Za-z ]*[a-z]).*$/\1 \2/p' \
		"$bdir.ctest.log")
	grep -E 'tests passed|tests failed' "$bdir.ctest.log" | sed 's/^/# /'
	if grep -q 'Failed\|Exception\|Timeout' "$bdir.ctest.log"; then
		sed -n '/The following tests FAILED/,$p' "$bdir.ctest.log" | sed 's/^/# /'
	fi
else
	tap 1 "host: build of the GoogleTest suite"
	tail -40 "$bdir.asan-configure.log" "$bdir.asan-build.log" 2>/dev/null | sed 's/^/#   /'
fi

echo "# host build: clang-14 -Wthread-safety ($bdir/tsa)"
if cmake -S "$top/cxxcore/tests" -B "$bdir/tsa" -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_CXX_COMPILER=clang++-14 -DMMLAB_THREAD_SAFETY=ON \
		>"$bdir.tsa.log" 2>&1 &&
   cmake --build "$bdir/tsa" -j"$jobs" >>"$bdir.tsa.log" 2>&1; then
	tap 0 "host: clang -Wthread-safety build is clean"
else
	tap 1 "host: clang -Wthread-safety build is clean"
	grep -E 'warning|error' "$bdir.tsa.log" | head -20 | sed 's/^/#   /'
fi
echo "# bench programs: -Wall -Wextra -Werror, page_fault smoke run ($bdir/bench)"
if make -s -C "$top/bench" OUT="$bdir/bench" CFLAGS="-O2 -Wall -Wextra -Werror" \
		>"$bdir.bench-build.log" 2>&1; then
	tap 0 "host: bench programs build without warnings"
	if "$bdir/bench/page_fault" -k anon -t 1,2 -s 4 -r 1 >"$bdir.bench-smoke.log" 2>&1; then
		tap 0 "host: page_fault -k anon runs"
	else
		tap 1 "host: page_fault -k anon runs"
		tail -5 "$bdir.bench-smoke.log" | sed 's/^/#   /'
	fi
else
	tap 1 "host: bench programs build without warnings"
	tail -20 "$bdir.bench-build.log" | sed 's/^/#   /'
fi
echo "1..$n"
