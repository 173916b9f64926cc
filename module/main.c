// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module init/exit and parameters.
 *
 * Load order: core first (it borrows nothing until asked), the reclaim
 * thread, the CPU-hotplug hook that drains a dead CPU's lists, then debugfs.
 * Unload order is the reverse, and ends with proof that every page taken
 * from the host's alloc_pages() went back: the counters in host_pages.c are
 * independent of the core's bookkeeping, and the line printed here is what
 * the VM tests check.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpuhotplug.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "compat.h"
#include "mmlab.h"

static unsigned int chunk_order = 10;
module_param(chunk_order, uint, 0444);
MODULE_PARM_DESC(chunk_order,
		 "order of each chunk borrowed from the host (default 10 = 4 MiB)");

static unsigned int capacity_mb = 256;
module_param(capacity_mb, uint, 0444);
MODULE_PARM_DESC(capacity_mb,
		 "most memory borrowed from the host at once, in MiB (default 256)");

static unsigned int dma32_mb;
module_param(dma32_mb, uint, 0444);
MODULE_PARM_DESC(dma32_mb,
		 "ZONE_DMA32's share of capacity_mb (default 0: a quarter, at least one chunk; all of it when the host has no memory above 4 GiB)");

static unsigned int min_free_kbytes;
module_param(min_free_kbytes, uint, 0444);
MODULE_PARM_DESC(min_free_kbytes,
		 "like vm.min_free_kbytes, for mmlab's zones (default 0: derived from the capacity)");

struct mmlab_core *mmlab_core;
static enum cpuhp_state mmlab_cpuhp_state;

/*
 * Runs on a surviving CPU after @cpu is dead (a BP "prepare" state's teardown),
 * so the dead CPU's per-CPU lists can be emptied without racing it.
 */
static int mmlab_cpu_dead(unsigned int cpu)
{
	mmlab_core_cpu_dead(mmlab_core, cpu);
	return 0;
}

static int __init mmlab_init(void)
{
	struct mmlab_core_config cfg = {};
	unsigned int max_order = min(MMLAB_MAX_CHUNK_ORDER, MMLAB_HOST_MAX_ORDER);
	u64 chunk_pages, capacity_pages;
	enum mmlab_status st;
	int err;

	if (chunk_order > max_order) {
		pr_warn("chunk_order=%u refused: the largest order is %u\n",
			chunk_order, max_order);
		return -EINVAL;
	}
	chunk_pages = 1ull << chunk_order;
	capacity_pages = ((u64)capacity_mb << 20) >> PAGE_SHIFT;
	if (capacity_pages < chunk_pages || capacity_mb > (1u << 20)) {
		pr_warn("capacity_mb=%u refused: need at least one chunk (%llu KiB) and at most 1 TiB\n",
			capacity_mb, (chunk_pages << PAGE_SHIFT) >> 10);
		return -EINVAL;
	}
	cfg.chunk_order = chunk_order;
	cfg.capacity_pages = round_down(capacity_pages, chunk_pages);
	cfg.min_free_kbytes = min_free_kbytes;
	if (dma32_mb) {
		u64 dma32_pages = ((u64)dma32_mb << 20) >> PAGE_SHIFT;

		dma32_pages = round_down(dma32_pages, chunk_pages);
		if (dma32_pages > cfg.capacity_pages) {
			pr_warn("dma32_mb=%u refused: more than capacity_mb=%u\n",
				dma32_mb, capacity_mb);
			return -EINVAL;
		}
		cfg.zone_pages[MMLAB_ZONE_DMA32] = dma32_pages;
		cfg.zone_pages[MMLAB_ZONE_NORMAL] = cfg.capacity_pages - dma32_pages;
	} else if (!mmlab_host_has_normal()) {
		/* All memory is below 4 GiB: a Normal share could never be filled. */
		pr_info("the host has no ZONE_NORMAL memory: all of the capacity goes to DMA32\n");
		cfg.zone_pages[MMLAB_ZONE_DMA32] = cfg.capacity_pages;
		cfg.zone_pages[MMLAB_ZONE_NORMAL] = 0;
	}

	st = mmlab_core_create(&cfg, &mmlab_core);
	if (st != MMLAB_OK)
		return mmlab_status_to_errno(st);
	err = mmlab_debug_params();
	if (err)
		goto out_core;

	err = mmlab_kswapd_start();
	if (err)
		goto out_core;
	err = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "mmlab:dead",
					NULL, mmlab_cpu_dead);
	if (err < 0)
		goto out_kswapd;
	mmlab_cpuhp_state = err;
	err = mmlab_debugfs_init();
	if (err)
		goto out_cpuhp;
	mmlab_fail_debugfs_init(mmlab_debugfs_dir());
	err = mmlab_mmdev_init();
	if (err)
		goto out_debugfs;

	pr_info("loaded: chunk order %u, capacity %llu pages\n",
		chunk_order, cfg.capacity_pages);
	return 0;

out_debugfs:
	mmlab_debugfs_exit();
out_cpuhp:
	cpuhp_remove_state_nocalls(mmlab_cpuhp_state);
out_kswapd:
	mmlab_kswapd_stop();
out_core:
	mmlab_core_destroy(mmlab_core);
	mmlab_core = NULL;
	return err;
}

static void __exit mmlab_exit(void)
{
	struct mmlab_host_page_counts counts;
	u64 leaked;

	mmlab_mmdev_exit();
	mmlab_debugfs_exit();
	cpuhp_remove_state_nocalls(mmlab_cpuhp_state);
	mmlab_kswapd_stop();
	mmlab_api_exit();
	leaked = mmlab_core_destroy(mmlab_core);
	mmlab_core = NULL;
	mmlab_api_free_all();

	mmlab_host_page_counts(&counts);
	pr_info("unload: %llu pages borrowed from the host, %llu returned\n",
		counts.borrowed, counts.returned);
	if (counts.borrowed != counts.returned || leaked)
		pr_err("unload: %llu pages not returned to the host (%llu still allocated in the core)\n",
		       counts.borrowed - counts.returned, leaked);
}

module_init(mmlab_init);
module_exit(mmlab_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("mmlab developers");
MODULE_DESCRIPTION("A second Linux memory-management stack in C++, on borrowed pages");
