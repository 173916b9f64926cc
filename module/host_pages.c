// SPDX-License-Identifier: GPL-2.0
/*
 * host_pages.c - pages and metadata memory the core borrows from the host.
 *
 * A chunk is one high-order alloc_pages() block, split with split_page() so
 * every page carries its own refcount (later, user mappings take references
 * on single pages) and given back page by page with __free_page(). Borrowing
 * never warns and never retries hard: running out is the core's business,
 * and it reports that itself.
 *
 * Zones: DMA32 chunks are asked for with __GFP_DMA32, so they lie below
 * 4 GiB; Normal chunks are taken only from the host's ZONE_NORMAL.
 *
 * The borrowed/returned counters are kept here, independently of the core's
 * own bookkeeping, so that module unload can prove every page went back.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/slab.h>

#include "compat.h"
#include "mmlab.h"
#include "mmlab/host.h"

static atomic64_t pages_borrowed = ATOMIC64_INIT(0);
static atomic64_t pages_returned = ATOMIC64_INIT(0);

/*
 * Whether the host has any ZONE_NORMAL memory (on x86-64: above 4 GiB). A
 * machine or VM with less has none, and a Normal chunk request could only be
 * refused after a wasted order-10 allocation.
 */
bool mmlab_host_has_normal(void)
{
	unsigned long managed = 0;
	int nid;

	for_each_online_node(nid)
		managed += zone_managed_pages(&NODE_DATA(nid)->node_zones[ZONE_NORMAL]);
	return managed != 0;
}

static gfp_t mmlab_host_gfp(enum mmlab_host_zone zone, int can_sleep)
{
	gfp_t gfp = can_sleep ? GFP_KERNEL : GFP_NOWAIT;

	gfp |= __GFP_NOWARN | __GFP_NORETRY;
	if (zone == MMLAB_HOST_ZONE_DMA32)
		gfp |= __GFP_DMA32;
	return gfp;
}

int mmlab_host_chunk_alloc(uint32_t order, enum mmlab_host_zone zone,
			   int can_sleep, struct mmlab_host_chunk *out)
{
	struct page *page;

	if (order > MMLAB_HOST_MAX_ORDER) {
		pr_warn("chunk order %u exceeds the host's largest order %d\n",
			order, MMLAB_HOST_MAX_ORDER);
		return -EINVAL;
	}
	if (can_sleep)
		might_sleep();
	if (zone == MMLAB_HOST_ZONE_NORMAL && !mmlab_host_has_normal())
		return -ENOMEM;

	page = alloc_pages(mmlab_host_gfp(zone, can_sleep), order);
	if (!page)
		return -ENOMEM;
	/*
	 * A GFP_KERNEL request falls back to DMA32 when the host's Normal zone
	 * is empty or absent; mmlab's Normal zone must then stay empty too,
	 * or its pages would not be what the zone's name promises.
	 */
	if (zone == MMLAB_HOST_ZONE_NORMAL && page_zonenum(page) != ZONE_NORMAL) {
		__free_pages(page, order);
		return -ENOMEM;
	}
	split_page(page, order);
	atomic64_add(1ull << order, &pages_borrowed);

	out->vaddr = page_address(page);
	out->pfn = page_to_pfn(page);
	out->cookie = page;
	return 0;
}

void mmlab_host_chunk_free(const struct mmlab_host_chunk *chunk, uint32_t order)
{
	struct page *page = chunk->cookie;
	unsigned long i;

	for (i = 0; i < (1ul << order); i++)
		__free_page(page + i);
	atomic64_add(1ull << order, &pages_returned);
}

void *mmlab_host_meta_alloc(size_t bytes, int can_sleep)
{
	if (can_sleep)
		return kvzalloc(bytes, GFP_KERNEL);
	return kzalloc(bytes, GFP_NOWAIT | __GFP_NOWARN);
}

void mmlab_host_meta_free(void *p, size_t bytes)
{
	kvfree(p);
}

void mmlab_host_page_counts(struct mmlab_host_page_counts *out)
{
	out->borrowed = atomic64_read(&pages_borrowed);
	out->returned = atomic64_read(&pages_returned);
}
