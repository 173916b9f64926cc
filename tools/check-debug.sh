#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-debug.sh - `make check-debug`: mmlab on the debug kernel (KASAN,
# kmemleak, lockdep, ...; docs/debug-kernel.md). Leaves its results in a
# folder, as `make check`'s steps do, for tools/check-summary.sh:
#
#   tools/check-debug.sh <results dir>
#
#   build-debug.tap          the debug kernel (built, or reused from the
#                            cache), then mmlab.ko and mmlab_client.ko built
#                            against it (tools/build-module.sh, which also
#                            builds mmlab_bugs.ko)
#   vm-debug.tap/.log        boot 1: every VM selftest but kernel_checkers,
#                            the API client, unload, kmemleak's final scans;
#                            any kernel report fails it
#   vm-debug-checkers.tap/.log
#                            boot 2 (when selftests/mmlab/kernel_checkers.c
#                            exists): kernel_checkers alone, with
#                            "kasan_multi_shot mmlab.expect_reports=1"; the
#                            KASAN and kmemleak reports it makes on purpose
#                            are expected (its own TAP says whether each one
#                            came), any other report fails it
#   timings                  seconds per step
#
# environment: MMLAB_DEBUG_VM_TIMEOUT (per boot, default 1500 s),
# MMLAB_DEBUG_TEST_TIMEOUT (per selftest program, default 900 s),
# MMLAB_CACHE (where the kernel is kept, see build-debug-kernel.sh).
# Exit status 0 only if everything passed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
res=${1:?usage: check-debug.sh <results dir>}
mkdir -p "$res"
vm_tmo=${MMLAB_DEBUG_VM_TIMEOUT:-1500}
test_tmo=${MMLAB_DEBUG_TEST_TIMEOUT:-900}
rc=0
t0=$SECONDS
: >"$res/timings"
timing() { echo "$1 $((SECONDS - t0))" >>"$res/timings"; echo "check-debug: $1: $((SECONDS - t0)) s" >&2; t0=$SECONDS; }

# --- the kernel -------------------------------------------------------------------
kdir=$("$top/vm-images/build-debug-kernel.sh" | tail -n 1)
if [[ ! -f $kdir/done ]]; then
	{ echo "not ok 1 - debug kernel: vm-images/build-debug-kernel.sh failed"; echo "1..1"; } \
		>"$res/build-debug.tap"
	exit 1
fi
timing kernel
rel=$(cat "$kdir/release")
kb=$top/build/kbuild/$rel

# --- the modules ------------------------------------------------------------------
"$top/tools/build-module.sh" "$rel" "$kdir/obj" "$kb" "$res/build-debug.tap" || rc=1
# mmlab_bugs.ko (the bugs kernel_checkers wants reported), which
# build-module.sh builds beside the client when selftests/mmlab_bugs exists.
bugs=()
[[ ! -f $kb/mmlab_bugs/mmlab_bugs.ko ]] || bugs=(--extra-module "$kb/mmlab_bugs/mmlab_bugs.ko")
timing modules
[[ -f $kb/mmlab.ko ]] || exit 1

# --- boot 1: everything but kernel_checkers ---------------------------------------
"$top/vm-images/vm-test.sh" --kernel-dir "$kdir" --module "$kb/mmlab.ko" \
	--client "$kb/mmlab_client/mmlab_client.ko" --skip kernel_checkers \
	--timeout "$vm_tmo" --test-timeout "$test_tmo" --suite mmlab-vm-debug \
	--log "$res/vm-debug.log" | tee "$res/vm-debug.tap"
[[ ${PIPESTATUS[0]} == 0 ]] || rc=1
timing boot1

# --- boot 2: kernel_checkers, whose reports are expected --------------------------
if [[ -f $top/selftests/mmlab/kernel_checkers.c ]]; then
	params=()
	# mmlab.expect_reports on the command line documents the boot; insmod
	# (busybox) does not read it there, so it is passed to insmod as well
	# when this mmlab.ko has the parameter.
	if modinfo -p "$kb/mmlab.ko" 2>/dev/null | grep -q '^expect_reports:'; then
		params=(--param expect_reports=1)
	fi
	"$top/vm-images/vm-test.sh" --kernel-dir "$kdir" --module "$kb/mmlab.ko" \
		--client none --only kernel_checkers "${params[@]}" "${bugs[@]}" \
		--append "kasan_multi_shot mmlab.expect_reports=1" --expect kasan,kmemleak \
		--timeout "$vm_tmo" --test-timeout "$test_tmo" --suite mmlab-vm-debug-checkers \
		--log "$res/vm-debug-checkers.log" | tee "$res/vm-debug-checkers.tap"
	[[ ${PIPESTATUS[0]} == 0 ]] || rc=1
	timing boot2
fi
exit $rc
