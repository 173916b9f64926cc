#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# demo-guest.sh - the narrated tour `make run` shows; runs inside the VM as
# /mmlab/run.sh (busybox sh). Each step says what to look for, then shows it.
set -e

D=/sys/kernel/debug/mmlab

say() {
	printf '\n\033[1m==> %s\033[0m\n' "$*"
}
show() {
	printf '$ %s\n' "$*"
	sh -c "$*"
}
# cmd "<command>": write a command to mmlab's control file, print the answer.
cmd() {
	printf '$ echo "%s" > control   ->   ' "$1"
	exec 3<>"$D/control"
	if printf '%s\n' "$1" >&3 2>/dev/null; then
		cat <&3
	else
		echo "refused: $(cat <&3)"
	fi
	exec 3>&-
}
handle_of() { # handle_of "<alloc answer>" -> the handle number
	echo "$1" | sed -n 's/^handle \([0-9]*\) .*/\1/p'
}
alloc() {
	exec 3<>"$D/control"
	printf 'alloc order=%s\n' "$1" >&3
	ans=$(cat <&3)
	exec 3>&-
	printf '$ echo "alloc order=%s" > control   ->   %s\n' "$1" "$ans" >&2
	handle_of "$ans"
}

say "Loading mmlab.ko: a second buddy allocator, in C++, inside this kernel"
show "insmod /lib/mmlab/mmlab.ko chunk_order=10 capacity_mb=64"
show "dmesg | grep mmlab: | tail -1"

say "The host kernel's own free lists (/proc/buddyinfo), for comparison"
show "cat /proc/buddyinfo"

say "mmlab's free lists: empty, nothing borrowed from the host yet"
show "cat $D/buddyinfo"
show "grep -E '^(host_|free_|used_)' $D/stats"

say "alloc order=0: mmlab borrows one 4 MiB chunk (order 10) with alloc_pages()"
say "and splits it down: one free block is left at every order 0..9"
h0=$(alloc 0)
show "cat $D/buddyinfo"

say "Two more blocks, order 3 and order 5: each comes from splitting a bigger free block"
h3=$(alloc 3)
h5=$(alloc 5)
show "cat $D/buddyinfo"
show "grep -E '^(host_|free_|used_)' $D/stats"

say "Freeing puts each block back and merges it with its buddy whenever that is free"
cmd "free $h3"
show "cat $D/buddyinfo"
cmd "free $h5"
show "cat $D/buddyinfo"
cmd "free $h0"
say "Everything merged back into the single order-10 block"
show "cat $D/buddyinfo"

say "Mistakes are caught and explained, never corrupting the allocator"
cmd "alloc order=11"
cmd "free 12345"
h=$(alloc 2)
cmd "free $h order=1"
cmd "free $h"
cmd "frobnicate everything"
show "dmesg | grep 'mmlab:' | tail -4"

say "The invariant checker walks every page descriptor"
cmd "check"

say "shrink hands fully free chunks back to the host"
cmd "shrink"
show "grep -E '^host_' $D/stats"

say "Unloading: mmlab proves every borrowed page went back"
show "rmmod mmlab"
show "dmesg | grep 'mmlab: unload'"
if dmesg | grep -q 'mmlab: unload:.*not returned'; then
	echo "pages were lost" >&2
	exit 1
fi
say "Done. Read docs/walkthrough.md to do this yourself, step by step."
