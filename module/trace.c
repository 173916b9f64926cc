// SPDX-License-Identifier: GPL-2.0
/*
 * trace.c - instantiates mmlab's tracepoints (trace.h) and gives the core its
 * hooks. Each hook is a static-key test when its event is off.
 */
#define CREATE_TRACE_POINTS
#include "trace.h"

#include "mmlab/host.h"

void mmlab_host_trace_page_alloc(uint64_t pfn, uint32_t order, uint32_t gfp,
				 uint32_t zone)
{
	trace_mm_page_alloc(pfn, order, gfp, zone);
}

void mmlab_host_trace_page_free(uint64_t pfn, uint32_t order)
{
	trace_mm_page_free(pfn, order);
}

void mmlab_host_trace_page_pcpu_drain(uint64_t pfn, uint32_t order)
{
	trace_mm_page_pcpu_drain(pfn, order);
}

/* name: the cache's (the kmem_cache_free record copies it). */
void mmlab_host_trace_kmem_cache_alloc(uintptr_t call_site, const void *ptr, const char *name,
				       size_t bytes_req, size_t bytes_alloc, uint32_t gfp)
{
	trace_kmem_cache_alloc(call_site, ptr, bytes_req, bytes_alloc, gfp);
}

void mmlab_host_trace_kmem_cache_free(uintptr_t call_site, const void *ptr, const char *name)
{
	trace_kmem_cache_free(call_site, ptr, name);
}

void mmlab_host_trace_kmalloc(uintptr_t call_site, const void *ptr, size_t bytes_req,
			      size_t bytes_alloc, uint32_t gfp)
{
	trace_kmalloc(call_site, ptr, bytes_req, bytes_alloc, gfp);
}

void mmlab_host_trace_kfree(uintptr_t call_site, const void *ptr)
{
	trace_kfree(call_site, ptr);
}
