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
# ans_of "<command>": the control file's answer, for use in $(...); the
# command and answer are echoed to stderr so the narration shows them.
ans_of() {
	exec 3<>"$D/control"
	printf '%s\n' "$1" >&3 || true
	a=$(cat <&3)
	exec 3>&-
	printf '$ echo "%s" > control   ->   %s\n' "$1" "$a" >&2
	echo "$a"
}
handle_of() { # handle_of "<alloc answer>" -> the handle number
	echo "$1" | sed -n 's/^handle \([0-9]*\) .*/\1/p'
}
alloc() {
	exec 3<>"$D/control"
	printf 'alloc order=%s\n' "$1" >&3 || true
	ans=$(cat <&3)
	exec 3>&-
	printf '$ echo "alloc order=%s" > control   ->   %s\n' "$1" "$ans" >&2
	handle_of "$ans"
}

say "Loading mmlab.ko: a second buddy allocator, in C++, inside this kernel"
show "insmod /lib/mmlab/mmlab.ko chunk_order=10 capacity_mb=64 min_free_kbytes=128"
show "dmesg | grep 'mmlab: loaded'"

say "The host kernel's own free lists (/proc/buddyinfo), for comparison"
show "cat /proc/buddyinfo"

say "mmlab's free lists: two zones, empty: nothing borrowed from the host yet"
show "cat $D/buddyinfo"
show "grep -E '^(host_|free_|used_|pcp_)' $D/stats"

say "Part 1: the buddy allocator. Per-CPU lists out of the way first (high=1, batch=1),"
say "so that every page goes straight to and from the buddy lists"
cmd "pcp high=1 batch=1"

say "alloc order=0: mmlab borrows one 4 MiB chunk (order 10) with alloc_pages()"
say "and splits it down: one free block is left at every order 0..9"
h0=$(alloc 0)
show "cat $D/buddyinfo"
say "(The order-10 block is a second chunk: the zone started below its low"
say "watermark, so the allocation also woke mmlab_kswapd, which borrowed one more. Part 2.)"

say "Two more blocks, order 3 and order 5: each comes from splitting a bigger free block"
h3=$(alloc 3)
h5=$(alloc 5)
show "cat $D/buddyinfo"
show "grep -E '^(host_|free_|used_|pcp_)' $D/stats"

say "Freeing puts each block back and merges it with its buddy whenever that is free"
cmd "free $h3"
show "cat $D/buddyinfo"
cmd "free $h5"
show "cat $D/buddyinfo"
cmd "free $h0"
say "Everything merged back: the chunk we split is one order-10 block again"
show "cat $D/buddyinfo"

say "Mistakes are caught and explained, never corrupting the allocator"
cmd "alloc order=11"
cmd "free 12345"
h=$(alloc 2)
cmd "free $h order=1"
cmd "free $h"
cmd "frobnicate everything"
show "dmesg | grep 'mmlab: ' | tail -4"

say "Part 2: zones. GFP_DMA32 takes pages below 4 GiB (pfn < 0x100000),"
say "everything else prefers ZONE_NORMAL, above it"
hd=$(alloc "0 gfp=GFP_DMA32")
hn=$(alloc 0)
cmd "free $hd"
cmd "free $hn"

say "Watermarks: each zone keeps min/low/high free pages, from min_free_kbytes."
say "Raise it, then consume 2000 pages. Normal serves until it reaches its low mark;"
say "then the zonelist falls back to DMA32 (nr_alloc_fallback), which keeps low plus"
say "its lowmem reserve (protection) for DMA32 users; when both are at low,"
say "the slow path wakes mmlab_kswapd, which borrows chunks until a zone is above high"
cmd "min_free_kbytes=4096"
show "grep -E 'zone|pages free|min |low |high |protection|present|fallback|kswapd_wakeups' $D/zoneinfo"
cmd "pressure consume=2000"
sleep 1
show "grep -E 'zone|pages free|min |low |high |protection|present|fallback|kswapd_wakeups' $D/zoneinfo"
show "ps | grep '[m]mlab_kswapd'"
cmd "pressure release=all"

say "An atomic allocation, really in atomic context (a timer callback): it may"
say "dip into the reserve below min, but must never sleep; a sleeping GFP there is refused"
cmd "alloc order=1 gfp=GFP_ATOMIC context=timer"
cmd "alloc order=1 gfp=GFP_KERNEL context=timer"

say "Part 3: per-CPU page lists. With high=90 batch=15, an order-0 allocation"
say "refills this CPU's list with 15 pages from the buddy and hands out one"
cmd "pcp high=90 batch=15"
echo 1 > /sys/kernel/tracing/events/mmlab/enable
hp=$(alloc 0)
show "sed -n '/zone   Normal/,\$p' $D/zoneinfo | grep -A3 'cpu:'"
cmd "free $hp"
cmd "drain"
echo 0 > /sys/kernel/tracing/events/mmlab/enable
say "The same, as mmlab's tracepoints saw it (the kmem: events' field names)"
show "grep -c mm_page_pcpu_drain /sys/kernel/tracing/trace"
show "grep -m 3 -E 'mm_page_(alloc|free):' /sys/kernel/tracing/trace"

say "Part 4: slab caches. kmem_cache_create picks an object stride, a slab order"
say "(waste under 1/8 of the slab) and how many objects a slab holds"
cache=$(ans_of "cache_create name=demo_obj size=200 align=8 ctor=fill" | sed -n 's/^cache \([0-9]*\) .*/\1/p')
cmd "cache_create name=demo_line size=700 flags=HWCACHE_ALIGN"
say "The constructor (ctor=fill) runs when a slab's objects are created, not per"
say "allocation: after 16 allocations ctor_calls equals num_objs (every object of every"
say "slab made so far; each CPU allocates from a slab of its own), not 16"
i=0
while [ $i -lt 16 ]; do
	ans_of "cache_alloc cache=$cache" >/dev/null 2>&1
	i=$((i + 1))
done
cmd "cache_info cache=$cache"
say "/proc/slabinfo's format, so slabtop-style tools read it (kmalloc-* are the size classes)"
show "head -2 $D/slabinfo; grep -E '^(demo_|kmalloc-(8|96|192|8k) )' $D/slabinfo"

say "kmalloc rounds up to a size class (8..8192, incl. 96 and 192); beyond 8 KiB it takes pages"
cmd "kmalloc size=90"
cmd "kmalloc size=150"
cmd "kmalloc size=20000"
k=$(ans_of "kmalloc size=40" | sed -n 's/^object \([0-9]*\) .*/\1/p')
cmd "obj_fill object=$k byte=0xab"
say "krealloc to 3000 bytes moves the object to kmalloc-4k and keeps its contents"
cmd "krealloc object=$k size=3000"
cmd "obj_check object=$k byte=0xab len=40"
cmd "kmalloc_array count=0x100000000 size=0x100000000"

say "Part 5: mempools guarantee progress. Reserve 4 elements, then exhaust the page"
say "allocator: allocations come from the reserve; an atomic one fails when it is empty"
pool=$(ans_of "mempool_create name=demo_pool min_nr=4 type=page order=0" | sed -n 's/^pool \([0-9]*\) .*/\1/p')
cap=$(sed -n 's/^capacity_pages *//p' $D/stats)
# Twice: pages parked on another CPU's per-CPU list come back with the drain.
cmd "drain"
cmd "pressure consume=$cap gfp=GFP_ATOMIC|__GFP_NOWARN"
cmd "drain"
cmd "pressure consume=$cap gfp=GFP_ATOMIC|__GFP_NOWARN"
i=0
while [ $i -lt 4 ]; do
	cmd "mempool_alloc pool=$pool gfp=GFP_NOWAIT"
	i=$((i + 1))
done
cmd "mempool_alloc pool=$pool gfp=GFP_ATOMIC"
show "cat $D/mempools"
say "A GFP_KERNEL mempool_alloc would now sleep until an element is freed (the"
say "selftests show several threads doing that); mempool_free refills the reserve first"
cmd "pressure release=all"

say "Part 6: vmalloc maps scattered order-0 pages into one contiguous range with vmap();"
say "kvmalloc uses kmalloc when it can (2 MB: one order-9 block) and vmalloc when it cannot"
say "(4 MiB + 1 byte is above the largest block, a chunk: 1025 order-0 pages, mapped together)"
cmd "vmalloc size=40000"
cmd "kvmalloc size=100"
cmd "kvmalloc size=2000000"
cmd "kvmalloc size=4194305"
show "cat $D/vmallocinfo"
show "grep -E '^(slab|kmalloc|vmalloc|mempool)' $D/stats"

if [ -f /lib/mmlab/mmlab_client.ko ]; then
	say "Part 7: other modules use mmlab through its exported API (include/mmlab/mmlab.h):"
	say "mmlab_client calls every exported function and checks the results, kselftest style"
	show "insmod /lib/mmlab/mmlab_client.ko"
	say "The mmlab: lines are the client's deliberate mistakes (a zone mmlab has no,"
	say "an unsupported SLAB flag, min_nr -1): each refused with a reason, naming the caller"
	show "dmesg | grep -c 'mmlab_client_init+'"
	show "rmmod mmlab_client"
fi

EX=/mmlab/examples
if [ -d $EX ]; then
	say "Part 8: /dev/mmlab: demand paging, sharing, punch. User programs mmap mmlab's"
	say "pages; each open of /dev/mmlab is a region, like a shmem file. The programs are"
	say "examples/mmdev/*.c: each checks what it prints and exits non-zero otherwise"
	show "grep -E '^(used_pages|regions|committed_pages) ' $D/stats"
	say "map_touch: mmap allocates nothing; the first touch of a page faults it in"
	say "(touch every other page of 16 MiB: exactly 2048 pages). The fault log in"
	say "debugfs names the pid, address, page offset and the pfn mmlab gave it"
	show "$EX/map_touch 16"
	say "share_child: a child inherits the mappings. Its write through MAP_SHARED reaches"
	say "the parent; its write through MAP_PRIVATE is a copy-on-write page of its own"
	show "$EX/share_child"
	say "attach: NAME a region, and a process that inherited nothing (fork + exec, the"
	say "fd is O_CLOEXEC) ATTACHes by name, reads and replies: shm_open for mmlab"
	show "$EX/attach"
	say "punch: MMLAB_IOC_PUNCH frees a range while it is mapped (fallocate PUNCH_HOLE);"
	say "used_pages drops by the pages punched, and the hole reads back as zeros"
	show "$EX/punch"
	say "Every region closed: its pages are back in mmlab, its commitment released"
	show "cat $D/regions"
	show "grep -E '^(used_pages|regions|committed_pages) ' $D/stats"
fi

say "Part 9: when things go wrong. SLUB's debug flags per cache: F sanity checks,"
say "Z red zones, P poisoning (0x6b free, 0xa5 end), U owner tracking. The stride"
say "grows to hold them (compare objsize with the plain 200-byte cache above)"
dbg=$(ans_of "cache_create name=demo_dbg size=100 debug=FZPU" | sed -n 's/^cache \([0-9]*\) .*/\1/p')
show "grep -E '^(# name|demo_)' $D/slabinfo | cut -c1-60"
say "A deliberate bug: write one byte past an object, then free it. The free finds"
say "the red zone (0xcc) overwritten, reports it in SLUB's shape with who allocated"
say "and freed the object, restores the byte, and mmlab goes on"
say "(The report is printed on this console as it happens, before the command's answer)"
cmd "bug redzone cache=$dbg"
say "A use after free: the freed object's poison is overwritten; caught when the"
say "cache is validated (or the object is next handed out)"
cmd "bug use_after_free cache=$dbg"
cmd "check"
cmd "cache_destroy cache=$dbg"
if [ -d $D/fail/slab ]; then
	say "Fault injection: each site (chunk, buddy, slab, mempool, mmdev_fault) has the"
	say "files of the kernel's fault_attr plus a seed. Fail every 3rd slab allocation"
	say "(ignore-gfp-wait N: GFP_KERNEL ones too; failslab spares them by default)"
	show "ls $D/fail/ && ls $D/fail/slab"
	F=$D/fail/slab
	show "echo N > $F/ignore-gfp-wait; echo 3 > $F/interval; echo -1 > $F/times; echo 0 > $F/verbose; echo 100 > $F/probability"
	for i in 1 2 3 4 5 6; do cmd "kmalloc size=64"; done
	show "cat $F/calls $F/injected"
	show "echo 0 > $F/probability; echo Y > $F/ignore-gfp-wait"
	say "The failed kmallocs were ordinary failures: nothing leaked, the checker agrees"
	cmd "check"
fi

say "Part 10: SLAB, SLUB and SLOB side by side, and pictures. What this part saves"
say "(page maps, buddyinfo over time, a replay report) is printed between MMLAB-SAVE"
say "markers; make run extracts it into build/run/out/ and draws build/run/out/images/"
OUT=/tmp/out
mkdir -p $OUT
# save <name> <file>: print the file between the markers vm-demo.sh looks for.
# Kernel messages are held back meanwhile (console loglevel 1), so none
# lands between its lines; they stay in dmesg.
save() {
	lvl=$(cut -f1 /proc/sys/kernel/printk)
	echo 1 > /proc/sys/kernel/printk
	echo "MMLAB-SAVE-BEGIN $1"
	cat "$2"
	[ -z "$(tail -c 1 "$2")" ] || echo
	echo "MMLAB-SAVE-END"
	echo "$lvl" > /proc/sys/kernel/printk
	echo "(saved $1: $(wc -l < "$2") lines)"
}
# try_write <file> <text>: write to a debugfs file, saying what it answered.
try_write() {
	printf '$ echo "%s" > %s\n' "$2" "${1#$D/}"
	if ! printf '%s\n' "$2" > "$1"; then
		echo "refused (see dmesg)"
		return 1
	fi
}
say "Chunks nothing uses go back first (shrink), so the page maps show what this part does"
cmd "drain"
cmd "shrink"

if [ -e $D/slab_policy ]; then
	say "Every cache has a policy: slub (per-CPU slabs, partial lists), slab (per-CPU"
	say "arrays of objects, a shared depot, full/partial/free lists) or slob (first fit"
	say "over shared pages). The same 200-byte cache under each, 40 objects in it"
	show "cat $D/slab_policy"
	for p in slub slab slob; do
		c=$(ans_of "cache_create name=side_$p size=200 policy=$p" 2>/dev/null |
			sed -n 's/^cache \([0-9]*\) .*/\1/p')
		[ -n "$c" ] || { echo "cache_create policy=$p refused"; continue; }
		i=0
		while [ $i -lt 40 ]; do
			ans_of "cache_alloc cache=$c" >/dev/null 2>&1
			i=$((i + 1))
		done
		cmd "cache_info cache=$c"
	done
	say "slabinfo names each cache's policy at the end of its line"
	show "grep -E '^(# name|side_|slob-heap)' $D/slabinfo"
else
	echo "skipped: no $D/slab_policy (the slab policies are not in this build)"
fi
cat $D/slabinfo > $OUT/slabinfo.txt
save slabinfo.txt $OUT/slabinfo.txt

if [ -e $D/trace ]; then
	say "Record: every allocation event goes to a per-CPU ring while the trace is on"
	if try_write $D/trace on; then
		cmd "kmalloc size=100"
		cmd "kmalloc size=3000"
		cmd "alloc order=2"
		try_write $D/trace off || true
		cat $D/trace > $OUT/trace.txt
		show "head -6 $OUT/trace.txt"
		save trace.txt $OUT/trace.txt
	fi
else
	echo "skipped: no $D/trace (recording is not in this build)"
fi

if [ -e $D/replay ]; then
	say "Replay: a generated workload (the fragmenter, seed 1) through SLAB, SLUB and"
	say "SLOB in a sandbox, and through this kernel's own allocators (host): one table"
	printf '$ echo "generate workload=fragmenter seed=1 ops=5000" > replay\n'
	printf '$ echo "run policy=all min_free_kbytes=128" > replay; cat replay\n'
	exec 4<>$D/replay
	if printf 'generate workload=fragmenter seed=1 ops=5000\n' >&4 &&
	   printf 'run policy=all min_free_kbytes=128\n' >&4; then
		cat <&4 > $OUT/replay-report.txt
		exec 4>&-
		cat $OUT/replay-report.txt
		if grep -q '^replay policy=' $OUT/replay-report.txt; then
			save replay-report.txt $OUT/replay-report.txt
		else
			echo "no result lines in the report: not saved"
		fi
	else
		exec 4>&-
		echo "refused (see dmesg)"
	fi
else
	echo "skipped: no $D/replay (replay is not in this build)"
fi

say "Fragmentation, watched: buddyinfo sampled every 200 ms while pages are taken one"
say "at a time, every other one kept (pressure pool), then the others freed: the holes"
say "are single pages that cannot merge, however many there are"
cmd "pcp high=1 batch=1"
rm -f /tmp/sampler.stop
(
	while [ ! -e /tmp/sampler.stop ]; do
		awk '{ printf "t_ms %d\n", $1 * 1000 }' /proc/uptime
		cat $D/buddyinfo
		sleep 0.2
	done
) > $OUT/buddyinfo-series.txt &
sampler=$!
sleep 0.5
# One descriptor for the whole loop, the answers collected in a file: few
# processes per page, which matters under TCG.
exec 3<>$D/control
i=0
while [ $i -lt 200 ]; do
	{ printf 'alloc order=0\n' >&3 && cat <&3; } >> /tmp/fill.txt 2>&1 || true
	{ printf 'pressure consume=1\n' >&3 && cat <&3; } >/dev/null 2>&1 || true
	i=$((i + 1))
done
exec 3>&-
hs=$(sed -n 's/^handle \([0-9]*\) .*/\1/p' /tmp/fill.txt)
echo "took $(echo $hs | wc -w) pages one at a time, and as many for the pressure pool"
cmd "kmalloc size=20000"
cmd "vmalloc size=40000"
show "cat $D/buddyinfo"
if [ -e $D/pagemap ]; then
	cat $D/pagemap > $OUT/pagemap-1.txt
	say "The page map after the fill (one character a page; docs/pagemap.md)"
	show "head -4 $OUT/pagemap-1.txt"
	save pagemap-1.txt $OUT/pagemap-1.txt
else
	echo "skipped: no $D/pagemap (the page map is not in this build)"
fi
sleep 0.5
exec 3<>$D/control
for h in $hs; do
	{ printf 'free %s\n' "$h" >&3 && cat <&3; } >/dev/null 2>&1 || true
done
exec 3>&-
say "200 pages are free again, but each is a lone order-0 block between pressure"
say "pages: the order-0 column grew by about 200, and no order-3 block came of it"
show "cat $D/buddyinfo"
i=0
while [ $i -lt 16 ]; do
	ans_of "alloc order=3" >/dev/null 2>&1
	i=$((i + 1))
done
sleep 0.5
touch /tmp/sampler.stop
wait $sampler
if [ -e $D/pagemap ]; then
	cat $D/pagemap > $OUT/pagemap-2.txt
	save pagemap-2.txt $OUT/pagemap-2.txt
fi
save buddyinfo-series.txt $OUT/buddyinfo-series.txt
cmd "pressure release=all"

st=''
for p in $(command -v mmlab-slabtop 2>/dev/null) /mmlab/bin/mmlab-slabtop /mmlab/mmlab-slabtop; do
	if [ -x "$p" ]; then
		st=$p
		break
	fi
done
if [ -n "$st" ]; then
	say "mmlab-slabtop -o: slabtop's view of mmlab's caches, once"
	if "$st" -o > $OUT/slabtop.txt; then
		cat $OUT/slabtop.txt
		save slabtop.txt $OUT/slabtop.txt
	else
		echo "mmlab-slabtop -o failed"
	fi
else
	echo "skipped: no mmlab-slabtop in this VM"
fi
say "The pictures of all this are drawn on the build machine: see build/run/out/images"
say "(docs/pictures.md says how to read them)"

say "The invariant checker walks every page descriptor, per-CPU list and slab"
cmd "check"

say "free_all frees every handle and object and destroys the control's pools and caches;"
say "shrink hands fully free chunks back to the host"
cmd "free_all"
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
