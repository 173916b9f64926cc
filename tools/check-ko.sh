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
#
# On a KASAN kernel (CONFIG_KASAN=y in the build dir's configuration, as on
# the debug kernel, docs/debug-kernel.md), gcc gives every instrumented C
# object an .init_array constructor that registers its globals with KASAN
# (the kernel runs those: CONFIG_CONSTRUCTORS) and a .fini_array destructor
# that would unregister them (the kernel never runs it; KASAN's
# __asan_unregister_globals does nothing). Those two sections are allowed
# there, and only there, when every entry points into .text.startup and
# .text.exit, where gcc puts these functions. The C++ objects are still
# checked one by one while they are built (Kbuild's CHKCTOR; they are not
# KASAN-instrumented).
# Such a build must also show that the C shim is instrumented: the module
# calls KASAN's __asan_* checks.
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

kasan=0
for f in "$kdir/include/config/auto.conf" "$kdir/.config"; do
	if [[ -f $f ]]; then
		grep -qx 'CONFIG_KASAN=y' "$f" && kasan=1
		break
	fi
done

if [[ $kasan == 1 ]]; then
	mapfile -t bad_sections < <(readelf -SW "$ko" |
		grep -oE '\.(ctors|dtors)[^[:space:]]*' | sort -u || true)
	# Entries of .init_array/.fini_array that are not KASAN's.
	mapfile -t bad_entries < <(readelf -rW "$ko" | awk '
		/^Relocation section/ { sec = $3; gsub(/\047/, "", sec); next }
		sec == ".rela.init_array" && $1 ~ /^[0-9a-f]+$/ && NF >= 5 && $5 != ".text.startup" { print sec ": " $5 " " $6 $7 }
		sec == ".rela.fini_array" && $1 ~ /^[0-9a-f]+$/ && NF >= 5 && $5 != ".text.exit" { print sec ": " $5 " " $6 $7 }')
	n_ctor=$(readelf -rW "$ko" | awk '/^Relocation section/ { on = ($3 ~ /rela\.init_array/); next }
		on && $1 ~ /^[0-9a-f]+$/ && NF >= 5 { n++ } END { print n + 0 }')
	report $((${#bad_sections[@]} + ${#bad_entries[@]})) \
		"$(basename "$ko"): no .ctors/.dtors; .init_array/.fini_array only KASAN's ($n_ctor C objects register globals)" \
		"${bad_sections[@]}" "${bad_entries[@]}"
	n_asan=$(nm -u "$ko" | grep -c ' __asan_') || true
	[[ $n_asan -gt 0 ]]
	report $? "$(basename "$ko"): the C code is KASAN-instrumented ($n_asan __asan_* symbols)"
else
	mapfile -t bad_sections < <(readelf -SW "$ko" |
		grep -oE '\.(init_array|fini_array|ctors|dtors)[^[:space:]]*' | sort -u || true)
	report "${#bad_sections[@]}" "$(basename "$ko"): no .init_array/.fini_array/.ctors/.dtors" \
		"${bad_sections[@]}"
fi

mapfile -t unknown < <(comm -23 \
	<(nm -u "$ko" | awk '{ print $2 }' | sort -u) \
	<(awk '{ print $2 }' "$kdir/Module.symvers" | sort -u))
report "${#unknown[@]}" "$(basename "$ko"): every undefined symbol is exported by the kernel" \
	"${unknown[@]/#/undefined: }"

exit $rc
