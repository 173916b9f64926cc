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
# 4. The pointer rule: tools/check-no-raw-pointers.sh (one TAP line).
# 5. The libFuzzer targets (cxxcore/tests/fuzz, clang-14, ASan+UBSan), each
#    for MMLAB_FUZZ_SECONDS (default 30) from its committed seed corpus plus
#    what earlier runs found (kept in <build dir>/fuzz-corpus); one TAP line
#    per target, failing on any crash, leak, timeout or failed check. See
#    docs/fuzzing.md.
# 6. The multithreaded tests again under ThreadSanitizer (clang-14,
#    <build dir>/tsan, suppressions in cxxcore/tests/tsan.supp); one TAP
#    line per test.
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
echo "# the pointer rule: no raw kernel pointer formats in module/ and cxxcore/"
if "$top/tools/check-no-raw-pointers.sh" "$top" >"$bdir.pointers.log" 2>&1; then
	tap 0 "host: no raw kernel pointer formats (tools/check-no-raw-pointers.sh)"
else
	tap 1 "host: no raw kernel pointer formats (tools/check-no-raw-pointers.sh)"
	head -20 "$bdir.pointers.log" | sed 's/^/#   /'
fi

fuzz_secs=${MMLAB_FUZZ_SECONDS:-30}
echo "# libFuzzer targets, ${fuzz_secs} s each ($bdir/fuzz)"
if cmake -S "$top/cxxcore/tests" -B "$bdir/fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_COMPILER=clang++-14 -DMMLAB_FUZZ=ON >"$bdir.fuzz-build.log" 2>&1 &&
   cmake --build "$bdir/fuzz" -j"$jobs" >>"$bdir.fuzz-build.log" 2>&1; then
	# Both targets at once: one per core. (A bare `wait` would also wait
	# for the tee of the process substitution above, for ever.)
	pids=()
	for t in fuzz_control fuzz_model; do
		corpus=$bdir/fuzz-corpus/$t
		mkdir -p "$corpus" "$bdir/fuzz-artifacts"
		dict=()
		[[ -f $top/cxxcore/tests/fuzz/${t#fuzz_}.dict ]] &&
			dict=(-dict="$top/cxxcore/tests/fuzz/${t#fuzz_}.dict")
		# control writes up to 4096 bytes, and one longer is refused
		[[ $t == fuzz_control ]] && dict+=(-max_len=4200)
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		"$bdir/fuzz/$t" "${dict[@]}" -max_total_time="$fuzz_secs" -timeout=20 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$bdir/fuzz-artifacts/$t-" \
			"$corpus" "$top/cxxcore/tests/fuzz/corpus/$t" >"$bdir.$t.log" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	for t in fuzz_control fuzz_model; do
		log=$bdir.$t.log
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
		cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
		if [[ -n $runs ]] && grep -q '^Done [0-9]* runs' "$log" &&
		   ! grep -qE '^==[0-9]+==ERROR: |ERROR: libFuzzer|runtime error|check failed' "$log"; then
			tap 0 "host: $t ${fuzz_secs} s: $runs inputs ($rate/s), $cov, no crash"
		else
			tap 1 "host: $t ${fuzz_secs} s: crash or failed check (log $log)"
			grep -m1 -A12 -E 'check failed|ERROR:|runtime error' "$log" | sed 's/^/#   /'
			grep -E "Test unit written to|artifact" "$log" | tail -2 | sed 's/^/#   /'
		fi
	done
else
	tap 1 "host: build of the libFuzzer targets"
	grep -E 'error|warning' "$bdir.fuzz-build.log" | head -20 | sed 's/^/#   /'
fi

# The tests that run threads (found by name; each must be listed in
# MMLAB_TSAN_FILTER's suites or match its patterns).
tsan_filter='Concurrency.*:Kswapd.*:Mempool.*:Pcp.*:Region.Concurrent*:Slab.*Thread*:Slab.*Cpus*:Slob.*Cpus*:Policies/SlabPolicyTest.Threads*:Vmalloc.Threads*:*Nofail*'
echo "# ThreadSanitizer: the multithreaded tests ($bdir/tsan)"
if cmake -S "$top/cxxcore/tests" -B "$bdir/tsan" -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_CXX_COMPILER=clang++-14 -DMMLAB_SANITIZE=OFF -DMMLAB_TSAN=ON \
		>"$bdir.tsan-build.log" 2>&1 &&
   cmake --build "$bdir/tsan" -j"$jobs" --target mmlab_core_tests >>"$bdir.tsan-build.log" 2>&1; then
	TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 suppressions=$top/cxxcore/tests/tsan.supp" \
		"$bdir/tsan/mmlab_core_tests" --gtest_filter="$tsan_filter" >"$bdir.tsan.log" 2>&1
	tsan_rc=$?
	# A test that ran into a data race fails (TSan makes it exit non-zero at
	# the end); the race is in the log right above the test's end line.
	awk '
		/^\[ RUN      \]/ { name = $4; race = 0 }
		/WARNING: ThreadSanitizer/ { race = 1 }
		/^\[       OK \]/ { print (race ? "RACE " : "OK ") $4 }
		/^\[  FAILED  \]/ && $4 ~ /\./ && name == $4 { print "FAILED " $4; name = "" }
	' "$bdir.tsan.log" | sort -u -k2 >"$bdir.tsan.results"
	while read -r verdict name; do
		case $verdict in
		OK) tap 0 "host: tsan: $name" ;;
		RACE) tap 1 "host: tsan: $name (data race, see $bdir.tsan.log)" ;;
		*) tap 1 "host: tsan: $name (failed)" ;;
		esac
	done <"$bdir.tsan.results"
	if [[ ! -s $bdir.tsan.results ]]; then
		tap 1 "host: tsan: no test ran (exit $tsan_rc)"
		tail -20 "$bdir.tsan.log" | sed 's/^/#   /'
	elif [[ $tsan_rc != 0 ]] && ! grep -q '^RACE\|^FAILED' "$bdir.tsan.results"; then
		tap 1 "host: tsan: the run exited $tsan_rc"
		tail -20 "$bdir.tsan.log" | sed 's/^/#   /'
	fi
	grep -A14 'WARNING: ThreadSanitizer' "$bdir.tsan.log" | head -60 | sed 's/^/#   /'
else
	tap 1 "host: ThreadSanitizer build of the tests"
	grep -E 'error' "$bdir.tsan-build.log" | head -20 | sed 's/^/#   /'
fi
echo "1..$n"
