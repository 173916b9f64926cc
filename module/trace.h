/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trace.h - mmlab's tracepoints, in tracefs as events/mmlab/.
 *
 * The three page events carry the field names of Linux's kmem: events of the
 * same name (include/trace/events/kmem.h), so scripts written for
 * kmem:mm_page_alloc read mmlab:mm_page_alloc unchanged. gfp_flags holds
 * mmlab's own bit numbering (cxxcore/include/mmlab/core.h) and prints with
 * Linux's names; migratetype is always 0 (MIGRATE_UNMOVABLE): mmlab has no
 * mobility grouping. mm_page_alloc adds the mmlab zone.
 *
 * The four object events (kmem_cache_alloc, kmem_cache_free, kmalloc, kfree)
 * have exactly the fields of their kmem: namesakes on 6.1 and 6.12. node is
 * always NUMA_NO_NODE (-1: mmlab has no node argument); accounted is true
 * when the allocation asked for __GFP_ACCOUNT (mmlab charges nothing, but
 * says what Linux would have charged for the gfp).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mmlab

#if !defined(MMLAB_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define MMLAB_TRACE_H

#include <linux/numa.h>
#include <linux/tracepoint.h>
#include <linux/version.h>
#include "mmlab/core.h"

/* 6.10 dropped __assign_str()'s source argument (it is __string()'s). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define mmlab_assign_str(field, src)	__assign_str(field)
#else
#define mmlab_assign_str(field, src)	__assign_str(field, src)
#endif

#define mmlab_show_gfp_flags(flags)						\
	__print_flags(flags, "|",						\
		{ MMLAB_GFP_USER,		"GFP_USER" },			\
		{ MMLAB_GFP_KERNEL,		"GFP_KERNEL" },			\
		{ MMLAB_GFP_NOFS,		"GFP_NOFS" },			\
		{ MMLAB_GFP_ATOMIC,		"GFP_ATOMIC" },			\
		{ MMLAB_GFP_NOIO,		"GFP_NOIO" },			\
		{ MMLAB_GFP_NOWAIT,		"GFP_NOWAIT" },			\
		{ MMLAB___GFP_DMA32,		"__GFP_DMA32" },		\
		{ MMLAB___GFP_HIGH,		"__GFP_HIGH" },			\
		{ MMLAB___GFP_IO,		"__GFP_IO" },			\
		{ MMLAB___GFP_FS,		"__GFP_FS" },			\
		{ MMLAB___GFP_ZERO,		"__GFP_ZERO" },			\
		{ MMLAB___GFP_DIRECT_RECLAIM,	"__GFP_DIRECT_RECLAIM" },	\
		{ MMLAB___GFP_KSWAPD_RECLAIM,	"__GFP_KSWAPD_RECLAIM" },	\
		{ MMLAB___GFP_NOWARN,		"__GFP_NOWARN" },		\
		{ MMLAB___GFP_RETRY_MAYFAIL,	"__GFP_RETRY_MAYFAIL" },	\
		{ MMLAB___GFP_NOFAIL,		"__GFP_NOFAIL" },		\
		{ MMLAB___GFP_NORETRY,		"__GFP_NORETRY" },		\
		{ MMLAB___GFP_HARDWALL,		"__GFP_HARDWALL" },		\
		{ MMLAB___GFP_MEMALLOC,		"__GFP_MEMALLOC" },		\
		{ MMLAB___GFP_NOMEMALLOC,	"__GFP_NOMEMALLOC" },		\
		{ MMLAB___GFP_COMP,		"__GFP_COMP" },			\
		{ MMLAB___GFP_ACCOUNT,		"__GFP_ACCOUNT" })

/* So that user-space parsers of the format file see numbers, not names. */
TRACE_DEFINE_ENUM(MMLAB_ZONE_DMA32);
TRACE_DEFINE_ENUM(MMLAB_ZONE_NORMAL);

#define mmlab_show_zone(zone)							\
	__print_symbolic(zone,							\
		{ MMLAB_ZONE_DMA32,	"DMA32" },				\
		{ MMLAB_ZONE_NORMAL,	"Normal" })

TRACE_EVENT(mm_page_alloc,

	TP_PROTO(unsigned long pfn, unsigned int order, unsigned long gfp_flags,
		 int zone),

	TP_ARGS(pfn, order, gfp_flags, zone),

	TP_STRUCT__entry(
		__field(unsigned long,	pfn)
		__field(unsigned int,	order)
		__field(unsigned long,	gfp_flags)
		__field(int,		migratetype)
		__field(int,		zone)
	),

	TP_fast_assign(
		__entry->pfn		= pfn;
		__entry->order		= order;
		__entry->gfp_flags	= gfp_flags;
		__entry->migratetype	= 0;
		__entry->zone		= zone;
	),

	TP_printk("pfn=0x%lx order=%d migratetype=%d gfp_flags=%s zone=%s",
		__entry->pfn, __entry->order, __entry->migratetype,
		mmlab_show_gfp_flags(__entry->gfp_flags),
		mmlab_show_zone(__entry->zone))
);

TRACE_EVENT(mm_page_free,

	TP_PROTO(unsigned long pfn, unsigned int order),

	TP_ARGS(pfn, order),

	TP_STRUCT__entry(
		__field(unsigned long,	pfn)
		__field(unsigned int,	order)
	),

	TP_fast_assign(
		__entry->pfn		= pfn;
		__entry->order		= order;
	),

	TP_printk("pfn=0x%lx order=%d", __entry->pfn, __entry->order)
);

TRACE_EVENT(mm_page_pcpu_drain,

	TP_PROTO(unsigned long pfn, unsigned int order),

	TP_ARGS(pfn, order),

	TP_STRUCT__entry(
		__field(unsigned long,	pfn)
		__field(unsigned int,	order)
		__field(int,		migratetype)
	),

	TP_fast_assign(
		__entry->pfn		= pfn;
		__entry->order		= order;
		__entry->migratetype	= 0;
	),

	TP_printk("pfn=0x%lx order=%d migratetype=%d",
		__entry->pfn, __entry->order, __entry->migratetype)
);

TRACE_EVENT(kmem_cache_alloc,

	TP_PROTO(unsigned long call_site, const void *ptr, size_t bytes_req,
		 size_t bytes_alloc, unsigned long gfp_flags),

	TP_ARGS(call_site, ptr, bytes_req, bytes_alloc, gfp_flags),

	TP_STRUCT__entry(
		__field(unsigned long,	call_site)
		__field(const void *,	ptr)
		__field(size_t,		bytes_req)
		__field(size_t,		bytes_alloc)
		__field(unsigned long,	gfp_flags)
		__field(int,		node)
		__field(bool,		accounted)
	),

	TP_fast_assign(
		__entry->call_site	= call_site;
		__entry->ptr		= ptr;
		__entry->bytes_req	= bytes_req;
		__entry->bytes_alloc	= bytes_alloc;
		__entry->gfp_flags	= gfp_flags;
		__entry->node		= NUMA_NO_NODE;
		__entry->accounted	= !!(gfp_flags & MMLAB___GFP_ACCOUNT);
	),

	TP_printk("call_site=%pS ptr=%p bytes_req=%zu bytes_alloc=%zu gfp_flags=%s node=%d accounted=%s",
		(void *)__entry->call_site, __entry->ptr, __entry->bytes_req,
		__entry->bytes_alloc, mmlab_show_gfp_flags(__entry->gfp_flags),
		__entry->node, __entry->accounted ? "true" : "false")
);

TRACE_EVENT(kmalloc,

	TP_PROTO(unsigned long call_site, const void *ptr, size_t bytes_req,
		 size_t bytes_alloc, unsigned long gfp_flags),

	TP_ARGS(call_site, ptr, bytes_req, bytes_alloc, gfp_flags),

	TP_STRUCT__entry(
		__field(unsigned long,	call_site)
		__field(const void *,	ptr)
		__field(size_t,		bytes_req)
		__field(size_t,		bytes_alloc)
		__field(unsigned long,	gfp_flags)
		__field(int,		node)
	),

	TP_fast_assign(
		__entry->call_site	= call_site;
		__entry->ptr		= ptr;
		__entry->bytes_req	= bytes_req;
		__entry->bytes_alloc	= bytes_alloc;
		__entry->gfp_flags	= gfp_flags;
		__entry->node		= NUMA_NO_NODE;
	),

	TP_printk("call_site=%pS ptr=%p bytes_req=%zu bytes_alloc=%zu gfp_flags=%s node=%d accounted=%s",
		(void *)__entry->call_site, __entry->ptr, __entry->bytes_req,
		__entry->bytes_alloc, mmlab_show_gfp_flags(__entry->gfp_flags),
		__entry->node,
		(__entry->gfp_flags & MMLAB___GFP_ACCOUNT) ? "true" : "false")
);

TRACE_EVENT(kfree,

	TP_PROTO(unsigned long call_site, const void *ptr),

	TP_ARGS(call_site, ptr),

	TP_STRUCT__entry(
		__field(unsigned long,	call_site)
		__field(const void *,	ptr)
	),

	TP_fast_assign(
		__entry->call_site	= call_site;
		__entry->ptr		= ptr;
	),

	TP_printk("call_site=%pS ptr=%p", (void *)__entry->call_site, __entry->ptr)
);

TRACE_EVENT(kmem_cache_free,

	TP_PROTO(unsigned long call_site, const void *ptr, const char *name),

	TP_ARGS(call_site, ptr, name),

	TP_STRUCT__entry(
		__field(unsigned long,	call_site)
		__field(const void *,	ptr)
		__string(name,		name)
	),

	TP_fast_assign(
		__entry->call_site	= call_site;
		__entry->ptr		= ptr;
		mmlab_assign_str(name, name);
	),

	TP_printk("call_site=%pS ptr=%p name=%s",
		(void *)__entry->call_site, __entry->ptr, __get_str(name))
);

#endif /* MMLAB_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
