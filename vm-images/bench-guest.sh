#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench-guest.sh - runs inside the VM as /mmlab/run.sh for `make bench`:
# load mmlab, run one part of the benchmarks against the host, print the
# table between marker lines for the host side to pick up, unload.
#
# usage: /mmlab/run.sh [runs] [part] [page_fault args...]
#   part pages (default): module/bench.c's tables (mmlab vs the host's page
#              and slab allocators, through debugfs)
#   part fault: /mmlab/selftests/page_fault (bench/page_fault.c), the
#              will-it-scale page_fault1 pattern on /dev/mmlab against an
#              anonymous mapping; mmlab is loaded with the NAME=VALUE
#              parameters in /mmlab/bench-params if that file exists
set -eu

runs=${1:-7}
part=${2:-pages}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi

case "$part" in
pages)
	insmod /lib/mmlab/mmlab.ko
	echo "bench: mmlab vs the host page allocator, $runs runs (progress in the kernel log)"
	echo "run runs=$runs" > /sys/kernel/debug/mmlab/bench
	echo "MMLAB-BENCH-BEGIN"
	cat /sys/kernel/debug/mmlab/bench
	echo "MMLAB-BENCH-END"
	rmmod mmlab
	;;
fault)
	params=$(cat /mmlab/bench-params 2>/dev/null || true)
	# shellcheck disable=SC2086 # word splitting intended: NAME=VALUE list
	insmod /lib/mmlab/mmlab.ko $params
	echo "bench: page_fault1 on /dev/mmlab vs anonymous memory, $runs runs; mmlab.ko $params"
	echo "bench: THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo n/a)" \
		"(anon mappings use MADV_NOHUGEPAGE); cmdline: $(cat /proc/cmdline)"
	dmesg -c >/dev/null	# from here on, what the kernel says is about the bench
	rc=0
	/mmlab/selftests/page_fault -r "$runs" "$@" >/tmp/fault.txt || rc=$?
	echo "MMLAB-BENCH-BEGIN"
	cat /tmp/fault.txt
	echo "MMLAB-BENCH-END"
	echo "bench: kernel log during the fault bench (nothing expected):"
	dmesg | sed 's/^/bench: dmesg: /'
	grep -E 'used_pages|host_chunks' /sys/kernel/debug/mmlab/stats 2>/dev/null | sed 's/^/bench: mmlab stats: /' || true
	rmmod mmlab
	dmesg | grep 'mmlab: unload' | sed 's/^/bench: /' || true
	exit $rc
	;;
*)
	echo "bench-guest: unknown part '$part' (pages or fault)" >&2
	exit 2
	;;
esac
