#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-ko.sh - prove a built mmlab.ko needs no C++ runtime the kernel lacks.
#
#   tools/check-ko.sh <mmlab.ko> <kernel build dir> [--tap]
#
# Fails when the module has a section that only a C++ runtime would run
# (.init_array, .fini_array, .ctors, .dtors), or an undefined symbol that is
# neither exported by the kernel (its Module.symvers) nor resolved by modpost
# (e.g. __cxa_atexit, __cxa_guard_acquire, _Unwind_Resume, operator new from
# libstdc++). With --tap, prints one TAP line per check.
set -euo pipefail

ko=${1:?usage: check-ko.sh <mmlab.ko> <kernel build dir> [--tap]}
kdir=${2:?usage: check-ko.sh <mmlab.ko> <kernel build dir> [--tap]}
tap=${3:-}
rc=0

report() { # report <ok:0|1> <name> [details...]
	local ok=$1 name=$2; shift 2
	if [[ $tap == --tap ]]; then
		if [[ $ok == 0 ]]; then echo "ok - $name"; else echo "not ok - $name"; fi
		for l in "$@"; do echo "# $l"; done
	elif [[ $ok != 0 ]]; then
		echo "check-ko: $name failed" >&2
		for l in "$@"; do echo "  $l" >&2; done
	fi
	[[ $ok == 0 ]] || rc=1
}

[[ -f $ko ]] || { echo "check-ko: $ko not found" >&2; exit 1; }
[[ -f $kdir/Module.symvers ]] || { echo "check-ko: $kdir/Module.symvers not found" >&2; exit 1; }

mapfile -t bad_sections < <(readelf -SW "$ko" |
	grep -oE '\.(init_array|fini_array|ctors|dtors)[^[:space:]]*' | sort -u || true)
report "${#bad_sections[@]}" "$(basename "$ko"): no .init_array/.fini_array/.ctors/.dtors" \
	"${bad_sections[@]}"

mapfile -t unknown < <(comm -23 \
	<(nm -u "$ko" | awk '{ print $2 }' | sort -u) \
	<(awk '{ print $2 }' "$kdir/Module.symvers" | sort -u))
report "${#unknown[@]}" "$(basename "$ko"): every undefined symbol is exported by the kernel" \
	"${unknown[@]/#/undefined: }"

exit $rc
