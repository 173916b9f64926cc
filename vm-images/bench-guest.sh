#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench-guest.sh - runs inside the VM as /mmlab/run.sh for `make bench`:
# load mmlab, run the page benchmark against the host allocator, print the
# table between marker lines for the host side to pick up, unload.
#
# usage: /mmlab/run.sh [runs]
set -eu

runs=${1:-7}
insmod /lib/mmlab/mmlab.ko
echo "bench: mmlab vs the host page allocator, $runs runs (progress in the kernel log)"
echo "run runs=$runs" > /sys/kernel/debug/mmlab/bench
echo "MMLAB-BENCH-BEGIN"
cat /sys/kernel/debug/mmlab/bench
echo "MMLAB-BENCH-END"
rmmod mmlab
