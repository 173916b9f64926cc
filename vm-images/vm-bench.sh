#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-bench.sh - what `make bench` does after building. Two parts, each
# booted twice with Debian's kernel and mmlab.ko,
#   1. under plain TCG: nanoseconds (distorted by emulation),
#   2. under TCG with -icount shift=0: one guest nanosecond per guest
#      instruction, so the same table reads as instructions, identical from
#      run to run and machine to machine,
# and written, with the machine they came from, as markdown:
#   pages: module/bench.c's tables (page, slab, kmalloc, mempool, vmalloc
#          against the host's), 2 vCPUs (1 under -icount), 1 GiB; --out
#   fault: bench/page_fault.c, will-it-scale's page_fault1 on /dev/mmlab
#          against anonymous memory, 1 and 4 threads, 4 vCPUs (1 under
#          -icount: QEMU 7.2 with -icount hangs bringing up a second vCPU),
#          6 GiB (a ZONE_NORMAL, as in vm-test.sh), mmlab loaded with
#          capacity_mb=1024 so four 128 MiB regions fit; --fault-out
#
#   vm-images/vm-bench.sh --kver <release> --module <mmlab.ko> --out <file.md>
#                         [--fault-prog <page_fault> --fault-out <file.md>]
#                         [--runs N] [--only pages|fault]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
kver='' module='' out='' runs=7 only='' fault_prog='' fault_out=''
while [[ $# -gt 0 ]]; do
	case "$1" in
	--kver) kver=${2:?}; shift 2 ;;
	--module) module=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--fault-prog) fault_prog=${2:?}; shift 2 ;;
	--fault-out) fault_out=${2:?}; shift 2 ;;
	--runs) runs=${2:?}; shift 2 ;;
	--only) only=${2?}; shift 2 ;;
	-h|--help) sed -n "3,21p" "$0"; exit 0 ;;
	*) echo "${0##*/}: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
usage() { sed -n '19,21p' "$0" >&2; exit 2; }
[[ -n $kver && -f $module ]] || usage
case "$only" in
"") do_pages=1 do_fault=$([[ -n $fault_prog ]] && echo 1 || echo 0) ;;
pages) do_pages=1 do_fault=0 ;;
fault) do_pages=0 do_fault=1 ;;
*) usage ;;
esac
[[ $do_pages -eq 0 || -n $out ]] || usage
[[ $do_fault -eq 0 || ( -f $fault_prog && -n $fault_out ) ]] || usage

work=$top/build/bench
mkdir -p "$work"
vmlinuz=$("$here/fetch-kernel.sh" "$kver")

# Debian builds with CONFIG_INIT_ON_ALLOC_DEFAULT_ON: the host would clear
# every page it hands out, mmlab only on __GFP_ZERO. Compare like with like.
append="init_on_alloc=0"

table() { # table <console log>: the lines between the bench markers
	tr -d '\r' <"$1" | sed -n '/^MMLAB-BENCH-BEGIN$/,/^MMLAB-BENCH-END$/p' | sed '1d;$d'
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
qemu=$(qemu-system-x86_64 --version | head -1)
machine() { # machine <what the guest had>
	echo "<!-- written by make bench ($(date -u +%Y-%m-%d)); edit the text around it in docs/benchmarks.md -->"
	echo
	echo "Machine: $(nproc) host CPUs ($cpu), $(free -g | awk '/^Mem:/ { print $2 }') GiB;"
	echo "$qemu; guest kernel $kver booted with $append; $1; $runs runs per case."
}

if [[ $do_pages -eq 1 ]]; then
	"$here/mkinitramfs.sh" -o "$work/bench.cpio.gz" -s "$here/bench-guest.sh" \
		-m "$module" -- "$runs" pages >/dev/null

	echo "vm-bench: pages 1/2 TCG, 2 vCPUs (log: $work/tcg.log)"
	MMLAB_ACCEL=tcg "$here/run-vm.sh" -q -k "$vmlinuz" -i "$work/bench.cpio.gz" \
		-l "$work/tcg.log" -m 1G -c 2 -t 900 -a "$append"
	table "$work/tcg.log" | tee "$work/tcg.txt"

	echo "vm-bench: pages 2/2 TCG with -icount shift=0, 1 vCPU (log: $work/icount.log)"
	MMLAB_ACCEL=tcg "$here/run-vm.sh" -q -k "$vmlinuz" -i "$work/bench.cpio.gz" \
		-l "$work/icount.log" -m 1G -c 1 -t 1800 -a "$append" -- -icount shift=0
	table "$work/icount.log" | tee "$work/icount.txt"

	{
		machine "guest memory 1G"
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
fi

if [[ $do_fault -eq 1 ]]; then
	# 4 regions of 128 MiB at once need more than the default 256 MiB.
	fault_params="capacity_mb=1024"
	fault_cpus=4 fault_mem=6G
	# -icount with more than one vCPU hangs at "smp: Bringing up secondary
	# CPUs" (QEMU 7.2), so there the 4 threads share one vCPU.
	fault_icount_cpus=1
	printf '%s\n' "$fault_params" >"$work/bench-params"
	"$here/mkinitramfs.sh" -o "$work/fault.cpio.gz" -s "$here/bench-guest.sh" \
		-m "$module" -t "$fault_prog" -f "$work/bench-params:/mmlab/bench-params" \
		-- "$runs" fault -v -t 1,4 -s 128 >/dev/null

	echo "vm-bench: fault 1/2 TCG, $fault_cpus vCPUs (log: $work/fault-tcg.log)"
	MMLAB_ACCEL=tcg "$here/run-vm.sh" -q -k "$vmlinuz" -i "$work/fault.cpio.gz" \
		-l "$work/fault-tcg.log" -m "$fault_mem" -c "$fault_cpus" -t 600 -a "$append"
	table "$work/fault-tcg.log" | tee "$work/fault-tcg.txt"

	echo "vm-bench: fault 2/2 TCG with -icount shift=0, $fault_icount_cpus vCPU (log: $work/fault-icount.log)"
	MMLAB_ACCEL=tcg "$here/run-vm.sh" -q -k "$vmlinuz" -i "$work/fault.cpio.gz" \
		-l "$work/fault-icount.log" -m "$fault_mem" -c "$fault_icount_cpus" -t 900 -a "$append" \
		-- -icount shift=0
	table "$work/fault-icount.log" | tee "$work/fault-icount.txt"

	{
		machine "guest memory $fault_mem, mmlab.ko $fault_params"
		echo
		echo "### TCG, $fault_cpus vCPUs on $(nproc) host CPUs: nanoseconds per fault"
		echo
		echo '```'
		cat "$work/fault-tcg.txt"
		echo '```'
		echo
		echo "### TCG with -icount shift=0, $fault_icount_cpus vCPU: instructions per fault"
		echo
		echo '```'
		cat "$work/fault-icount.txt"
		echo '```'
	} >"$fault_out"
	echo "vm-bench: wrote $fault_out"
fi
