#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-bench.sh - what `make bench` does after building: boot Debian's kernel
# twice with mmlab.ko and run module/bench.c's table in the guest,
#   1. under plain TCG, 2 vCPUs: nanoseconds per page (distorted by emulation),
#   2. under TCG with -icount shift=0, 1 vCPU: one guest nanosecond per guest
#      instruction, so the same table reads as instructions per page, identical
#      from run to run and machine to machine,
# then write both tables, with the machine they came from, as markdown.
#
#   vm-images/vm-bench.sh --kver <release> --module <mmlab.ko> --out <file.md> [--runs N]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
kver= module= out= runs=7
while [[ $# -gt 0 ]]; do
	case "$1" in
	--kver) kver=${2:?}; shift 2 ;;
	--module) module=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--runs) runs=${2:?}; shift 2 ;;
	-h|--help) sed -n '3,13p' "$0"; exit 0 ;;
	*) echo "${0##*/}: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ -n $kver && -f $module && -n $out ]] || { sed -n '13p' "$0" >&2; exit 2; }

work=$top/build/bench
mkdir -p "$work"
vmlinuz=$("$here/fetch-kernel.sh" "$kver")
"$here/mkinitramfs.sh" -o "$work/bench.cpio.gz" -s "$here/bench-guest.sh" \
	-m "$module" -- "$runs" >/dev/null

# Debian builds with CONFIG_INIT_ON_ALLOC_DEFAULT_ON: the host would clear
# every page it hands out, mmlab only on __GFP_ZERO. Compare like with like.
append="init_on_alloc=0"

table() { # table <console log>: the lines between the bench markers
	tr -d '\r' <"$1" | sed -n '/^MMLAB-BENCH-BEGIN$/,/^MMLAB-BENCH-END$/p' | sed '1d;$d'
}

echo "vm-bench: 1/2 TCG, 2 vCPUs (log: $work/tcg.log)"
MMLAB_ACCEL=tcg "$here/run-vm.sh" -q -k "$vmlinuz" -i "$work/bench.cpio.gz" \
	-l "$work/tcg.log" -m 1G -c 2 -t 900 -a "$append"
table "$work/tcg.log" | tee "$work/tcg.txt"

echo "vm-bench: 2/2 TCG with -icount shift=0, 1 vCPU (log: $work/icount.log)"
MMLAB_ACCEL=tcg "$here/run-vm.sh" -q -k "$vmlinuz" -i "$work/bench.cpio.gz" \
	-l "$work/icount.log" -m 1G -c 1 -t 1800 -a "$append" -- -icount shift=0
table "$work/icount.log" | tee "$work/icount.txt"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
qemu=$(qemu-system-x86_64 --version | head -1)
{
	echo "<!-- written by make bench ($(date -u +%Y-%m-%d)); edit the text around it in docs/benchmarks.md -->"
	echo
	echo "Machine: $(nproc) host CPUs ($cpu), $(free -g | awk '/^Mem:/ { print $2 }') GiB;"
	echo "$qemu; guest kernel $kver booted with $append; $runs runs per case."
	echo
	echo "### TCG, 2 vCPUs: nanoseconds per page (alloc + free)"
	echo
	echo '```'
	cat "$work/tcg.txt"
	echo '```'
	echo
	echo "### TCG with -icount shift=0, 1 vCPU: instructions per page (alloc + free)"
	echo
	echo '```'
	cat "$work/icount.txt"
	echo '```'
} >"$out"
echo "vm-bench: wrote $out"
