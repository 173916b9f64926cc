#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# fault-trace-guest.sh - a guest script (mkinitramfs.sh -s) that shows where
# the instructions of one page fault go, on both paths page_fault.c
# measures: function_graph restricted to the functions below, traced for one
# cycle of "page_fault -k anon|mmlab -t 1 -s 8 -r 1", summed per function
# (calls, average duration) and one fault of each kind printed whole. Boot it
# with -icount shift=0 so durations read as instructions:
#
#   vm-images/mkinitramfs.sh -o build/bench/trace.cpio.gz -s bench/fault-trace-guest.sh \
#       -m mmlab.ko -t build/bench/progs/page_fault
#   MMLAB_ACCEL=tcg vm-images/run-vm.sh -k <vmlinuz> -i build/bench/trace.cpio.gz \
#       -l build/bench/trace.log -m 6G -c 1 -a init_on_alloc=0 -- -icount shift=0
#
# Every traced call costs about 1300 instructions of tracer (670 of them
# inside its own reported duration; an empty function reports ~680), so
# subtract that per traced callee before reading a parent's time. Not part
# of `make bench`: docs/benchmarks.md quotes a run of it.
set -u
insmod /lib/mmlab/mmlab.ko capacity_mb=1024
T=/sys/kernel/tracing
echo 0 > $T/tracing_on
echo function_graph > $T/current_tracer
echo 1 > $T/options/funcgraph-tail
echo 0 > $T/options/funcgraph-irqs
echo 1 > $T/options/function-fork
for f in handle_mm_fault __handle_mm_fault __count_memcg_events \
	vma_alloc_folio __folio_alloc __mem_cgroup_charge \
	lru_cache_add_inactive_or_unevictable page_add_new_anon_rmap \
	do_fault __do_fault mmdev_fault mmlab_core_region_fault mmlab_host_now_ns \
	mmlab_host_trace_page_alloc finish_fault do_set_pte page_add_file_rmap \
	fault_dirty_shared_page file_update_time folio_mark_dirty set_page_dirty \
	__x64_sys_munmap __x64_sys_close __x64_sys_mmap __x64_sys_openat unmap_vmas \
	unmap_page_range tlb_finish_mmu tlb_flush_mmu release_pages free_unref_page_list \
	page_remove_rmap mark_page_accessed __fput mmdev_release mmlab_core_region_destroy \
	mmdev_page_busy mmdev_open mmdev_mmap mmlab_core_region_create \
	__mem_cgroup_uncharge_list lru_add_drain free_pages_and_swap_cache \
	__tlb_remove_page_size flush_tlb_mm_range mmlab_core_region_set_size free_pgtables; do
	echo $f >> $T/set_ftrace_filter 2>/dev/null || echo "fault-trace: cannot trace $f"
done
echo 65536 > $T/buffer_size_kb
PF=/mmlab/selftests/page_fault
summ() {	# the trace on stdin -> "name calls=N avg=D" (D in ns, or instructions)
	awk '
	/\|/ {
		line = $0
		if (match(line, /[0-9]+\.[0-9]+ us/) == 0) next
		d = substr(line, RSTART, RLENGTH - 3) * 1000
		rest = substr(line, index(line, "|") + 1)
		if (match(rest, /\/\* [A-Za-z0-9_.]+( \[[a-z_]+\])? \*\//)) name = substr(rest, RSTART + 3, RLENGTH - 6)
		else if (match(rest, /[A-Za-z0-9_.]+( \[[a-z_]+\])?\(\);/)) name = substr(rest, RSTART, RLENGTH - 3)
		else next
		s[name] += d; c[name]++
	}
	END { for (k in s) printf "%-40s calls=%7d avg=%10.0f\n", k, c[k], s[k] / c[k] }' | sort
}
for kind in anon mmlab; do
	$PF -k $kind -t 1 -s 8 -r 1 >/dev/null	# warm: page tables, mmlab's chunks
	echo > $T/trace
	echo $$ > $T/set_ftrace_pid
	echo 1 > $T/tracing_on
	$PF -k $kind -t 1 -s 8 -r 1 >/dev/null
	echo 0 > $T/tracing_on
	echo "fault-trace: $kind, per function:"
	summ < $T/trace | sed 's/^/fault-trace: /'
	echo "fault-trace: $kind, the 1000th fault:"
	awk '/\|  handle_mm_fault\(\) \{/ { n++ } n == 1000' $T/trace | sed 's/^/fault-trace: /'
done
echo nop > $T/current_tracer
rmmod mmlab
