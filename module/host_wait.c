// SPDX-License-Identifier: GPL-2.0
/*
 * host_wait.c - wait queues (mempool_alloc's sleep), vmap (vmalloc's
 * mappings) and symbol/pointer formatting for the core's reports.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>

#include "mmlab/host.h"

struct mmlab_host_waitq {
	wait_queue_head_t wq;
};

struct mmlab_host_waitq *mmlab_host_waitq_create(const char *name)
{
	struct mmlab_host_waitq *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (w)
		init_waitqueue_head(&w->wq);
	return w;
}

void mmlab_host_waitq_destroy(struct mmlab_host_waitq *w)
{
	kfree(w);
}

int mmlab_host_wait_event_timeout(struct mmlab_host_waitq *w, int (*cond)(void *arg),
				  void *arg, uint32_t timeout_us)
{
	might_sleep();
	wait_event_timeout(w->wq, cond(arg), usecs_to_jiffies(timeout_us));
	return cond(arg);
}

void mmlab_host_wake_up(struct mmlab_host_waitq *w)
{
	wake_up_all(&w->wq);
}

void *mmlab_host_vmap(const uint64_t *pfns, uint32_t nr_pages)
{
	struct page **pages;
	void *addr;
	u32 i;

	might_sleep();
	pages = kvmalloc_array(nr_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	for (i = 0; i < nr_pages; i++)
		pages[i] = pfn_to_page(pfns[i]);
	addr = vmap(pages, nr_pages, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	return addr;
}

void mmlab_host_vunmap(void *addr, uint32_t nr_pages)
{
	might_sleep();
	vunmap(addr);
}

void mmlab_host_format_symbol(uintptr_t addr, char *buf, size_t size)
{
	if (addr)
		snprintf(buf, size, "%pS", (void *)addr);
	else
		snprintf(buf, size, "control");
}

void mmlab_host_format_ptr(const void *ptr, char *buf, size_t size)
{
	snprintf(buf, size, "%p", ptr);
}
