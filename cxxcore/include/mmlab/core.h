/* SPDX-License-Identifier: GPL-2.0 */
/*
 * core.h - everything the C shim may call in the C++ core.
 *
 * This is one of the two headers that cross the C/C++ boundary (the other is
 * host.h, the opposite direction). Only fixed-width types, opaque handles and
 * status codes cross it; no kernel type enters C++ and no C++ type leaks out.
 *
 * Names are Linux's (alloc_pages, __free_pages, kmem_cache_alloc, kmalloc,
 * vmalloc, mempool_alloc, ...) with an mmlab_core_ prefix and an explicit
 * core handle, so several independent cores can exist in one process (the
 * host tests rely on that). The module keeps exactly one, and exports the
 * same functions without the core argument as mmlab_<linux name> (the
 * public header include/mmlab/mmlab.h), taking kernel gfp_t values.
 *
 * Locking: every function here takes the core's own locks as needed; none
 * may be called with a core lock held (the core never calls back into the
 * shim with one held either, except for mmlab_host_log and the render sink).
 */
#ifndef MMLAB_CORE_H
#define MMLAB_CORE_H

#include "mmlab/abi_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Status codes. The shim maps them to -errno (mmlab_status_to_errno() in
 * module/); the core never uses Linux errno values itself.
 */
enum mmlab_status {
	MMLAB_OK = 0,
	MMLAB_EINVAL,	/* bad request: order, command syntax, number range, length, bad free */
	MMLAB_ENOMEM,	/* no memory within the capacity limit */
	MMLAB_ENOENT,	/* unknown handle or object */
	MMLAB_EBUSY,	/* still in use (e.g. destroy with live pages) */
	MMLAB_ENOSPC,	/* a fixed-size table is full (e.g. control handles) */
	MMLAB_EUCLEAN,	/* invariant checker found corruption */
};

/*
 * GFP flags. mmlab numbers its own bits (Linux renumbers ___GFP_* between
 * releases); the shim translates a kernel gfp_t into these. Composite masks
 * are built exactly as in include/linux/gfp_types.h.
 */
typedef uint32_t mmlab_gfp_t;

#define MMLAB___GFP_DMA32		(1u << 0)
#define MMLAB___GFP_HIGH		(1u << 1)
#define MMLAB___GFP_IO			(1u << 2)
#define MMLAB___GFP_FS			(1u << 3)
#define MMLAB___GFP_ZERO		(1u << 4)
#define MMLAB___GFP_DIRECT_RECLAIM	(1u << 5)
#define MMLAB___GFP_KSWAPD_RECLAIM	(1u << 6)
#define MMLAB___GFP_NOWARN		(1u << 7)
#define MMLAB___GFP_RETRY_MAYFAIL	(1u << 8)
#define MMLAB___GFP_NOFAIL		(1u << 9)
#define MMLAB___GFP_NORETRY		(1u << 10)
#define MMLAB___GFP_HARDWALL		(1u << 11)
#define MMLAB___GFP_MEMALLOC		(1u << 12)
#define MMLAB___GFP_NOMEMALLOC		(1u << 13)
#define MMLAB___GFP_COMP		(1u << 14)
#define MMLAB___GFP_ACCOUNT		(1u << 15)
#define MMLAB___GFP_BITS		16
#define MMLAB___GFP_ALL			((1u << MMLAB___GFP_BITS) - 1)

#define MMLAB___GFP_RECLAIM \
	(MMLAB___GFP_DIRECT_RECLAIM | MMLAB___GFP_KSWAPD_RECLAIM)
#define MMLAB_GFP_ATOMIC	(MMLAB___GFP_HIGH | MMLAB___GFP_KSWAPD_RECLAIM)
#define MMLAB_GFP_KERNEL	(MMLAB___GFP_RECLAIM | MMLAB___GFP_IO | MMLAB___GFP_FS)
#define MMLAB_GFP_NOWAIT	(MMLAB___GFP_KSWAPD_RECLAIM)
#define MMLAB_GFP_NOIO		(MMLAB___GFP_RECLAIM)
#define MMLAB_GFP_NOFS		(MMLAB___GFP_RECLAIM | MMLAB___GFP_IO)
#define MMLAB_GFP_USER \
	(MMLAB___GFP_RECLAIM | MMLAB___GFP_IO | MMLAB___GFP_FS | MMLAB___GFP_HARDWALL)
#define MMLAB_GFP_DMA32		(MMLAB___GFP_DMA32)

/* Largest chunk order the core accepts (order 10 = 4 MiB, Linux's default). */
#define MMLAB_MAX_CHUNK_ORDER	10
#define MMLAB_PAGE_SHIFT	12
#define MMLAB_PAGE_SIZE		(1ul << MMLAB_PAGE_SHIFT)

struct mmlab_core;	/* opaque */
struct mmlab_page;	/* opaque: the core's descriptor of one managed page */

/* Zones, in Linux's order (lowest first); the zonelist falls back downwards. */
enum mmlab_zone_type {
	MMLAB_ZONE_DMA32 = 0,	/* pages below 4 GiB, borrowed with __GFP_DMA32 */
	MMLAB_ZONE_NORMAL,	/* pages of the host's ZONE_NORMAL */
	MMLAB_NR_ZONES,
};

struct mmlab_core_config {
	uint32_t chunk_order;		/* order of each host chunk, 0..MMLAB_MAX_CHUNK_ORDER */
	uint64_t capacity_pages;	/* most pages ever borrowed at once; multiple of the chunk */
	/*
	 * Each zone's share of capacity_pages, in pages (multiples of the chunk,
	 * adding up to capacity_pages). All zero: the core chooses (a quarter,
	 * at least one chunk, to DMA32 and the rest to Normal).
	 */
	uint64_t zone_pages[MMLAB_NR_ZONES];
	/* Like vm.min_free_kbytes; 0: derived from the capacity as Linux does. */
	uint32_t min_free_kbytes;
};

/**
 * mmlab_core_create - build a core; borrows nothing until the first allocation.
 * Returns MMLAB_EINVAL (with a log line saying why) for a bad config.
 * May sleep.
 */
enum mmlab_status mmlab_core_create(const struct mmlab_core_config *cfg,
				    struct mmlab_core **out);

/**
 * mmlab_core_destroy - free what the control interface still holds, return
 * every chunk to the host, free the core. Pages still allocated by other
 * callers are reported (one line per block) and their chunks are deliberately
 * leaked rather than handed back while in use. Returns the number of pages
 * that could not be returned (0 on a clean unload). May sleep.
 */
uint64_t mmlab_core_destroy(struct mmlab_core *core);

/* --- page allocator, Linux names ------------------------------------------ */

struct mmlab_page *mmlab_core_alloc_pages(struct mmlab_core *core, mmlab_gfp_t gfp,
				     uint32_t order);
/* Returns MMLAB_EINVAL (and reports) on double free, wrong order, foreign page. */
enum mmlab_status mmlab_core___free_pages(struct mmlab_core *core,
				     struct mmlab_page *page, uint32_t order);
uintptr_t mmlab_core___get_free_pages(struct mmlab_core *core, mmlab_gfp_t gfp,
				 uint32_t order);
uintptr_t mmlab_core_get_zeroed_page(struct mmlab_core *core, mmlab_gfp_t gfp);
enum mmlab_status mmlab_core_free_pages(struct mmlab_core *core, uintptr_t addr,
				   uint32_t order);
void *mmlab_core_page_address(struct mmlab_core *core, const struct mmlab_page *page);
uint64_t mmlab_core_page_to_pfn(struct mmlab_core *core, const struct mmlab_page *page);
/* NULL when addr is not inside a managed chunk. */
struct mmlab_page *mmlab_core_virt_to_page(struct mmlab_core *core, const void *addr);

/* --- maintenance ------------------------------------------------------------ */

/* Invariant checker. Logs every violation found; MMLAB_EUCLEAN if any. May sleep. */
enum mmlab_status mmlab_core_check(struct mmlab_core *core);
/* Return every fully free chunk to the host. May sleep. */
enum mmlab_status mmlab_core_shrink(struct mmlab_core *core,
				    uint64_t *chunks_returned);

struct mmlab_core_counters {
	uint64_t host_chunks;		/* chunks borrowed now */
	uint64_t host_pages;		/* pages borrowed now */
	uint64_t host_chunks_borrowed;	/* chunks ever borrowed */
	uint64_t host_chunks_returned;	/* chunks ever returned */
	uint64_t capacity_pages;
	uint64_t free_pages;		/* in free_area lists */
	uint64_t used_pages;		/* allocated to callers (incl. handles, pressure pool) */
	uint64_t pcp_pages;		/* on per-CPU lists: free_pages + used_pages + pcp_pages == host_pages */
};
void mmlab_core_counters(struct mmlab_core *core, struct mmlab_core_counters *out);

/* --- reclaim and CPUs -------------------------------------------------------- */

/*
 * mmlab_core_kswapd - the body of the mmlab_kswapd thread, run each time it
 * is woken (mmlab_host_kswapd_wake): balance every zone up to its high
 * watermark (drain per-CPU lists, run shrinkers, borrow chunks within the
 * zone's capacity), or give up when nothing more can be had. May sleep.
 */
void mmlab_core_kswapd(struct mmlab_core *core);
/* A CPU went offline: its per-CPU lists go back to the buddy lists. */
void mmlab_core_cpu_dead(struct mmlab_core *core, uint32_t cpu);
/* Drain every online CPU's per-CPU lists (drain_all_pages). May sleep. */
void mmlab_core_drain_all(struct mmlab_core *core);

/* --- slab caches (Linux: kmem_cache_*) -------------------------------------- */

/*
 * Everything above the page allocator takes `caller`, the call site to
 * charge (Linux's _RET_IP_): the exported wrappers pass their return
 * address, the control file 0. It appears in tracepoints, vmallocinfo and
 * leak reports. Objects are plain kernel-virtual memory inside managed pages.
 */
struct mmlab_kmem_cache;	/* opaque */

/* SLAB_* flags, mmlab's numbering (bits 8..15 are reserved for the debug flags). */
#define MMLAB_SLAB_HWCACHE_ALIGN	(1u << 0)	/* align objects to a cache line */
#define MMLAB_SLAB_CACHE_DMA32		(1u << 1)	/* slabs from ZONE_DMA32 */
#define MMLAB_SLAB_RECLAIM_ACCOUNT	(1u << 2)	/* accounted as reclaimable */
#define MMLAB_SLAB_ACCOUNT		(1u << 3)	/* accepted, nothing to charge */
#define MMLAB_SLAB_NO_MERGE		(1u << 4)	/* accepted; mmlab never merges */
#define MMLAB_SLAB_FAILSLAB		(1u << 5)	/* fail/slab/cache-filter picks it */
/* Debug flags (Linux's slub_debug letters F, Z, P, U; docs/debugging.md). */
#define MMLAB_SLAB_CONSISTENCY_CHECKS	(1u << 8)	/* F: sanity checks on alloc and free */
#define MMLAB_SLAB_RED_ZONE		(1u << 9)	/* Z: red zones around each object */
#define MMLAB_SLAB_POISON		(1u << 10)	/* P: 0x6b..0xa5 in free objects */
#define MMLAB_SLAB_STORE_USER		(1u << 11)	/* U: last alloc/free call site, cpu, pid */
#define MMLAB_SLAB_DEBUG_FLAGS		0xf00u
#define MMLAB_SLAB_FLAGS_VALID		(0x3fu | MMLAB_SLAB_DEBUG_FLAGS)

#define MMLAB_KMEM_CACHE_NAME_MAX	32	/* bytes including the NUL */
#define MMLAB_CACHE_LINE_SIZE		64

typedef void (*mmlab_ctor_fn)(void *obj);

/*
 * mmlab_core_kmem_cache_create - a cache of objects of `size` bytes aligned to
 * `align` (0: the minimum, 8), ctor run once per object when its slab is
 * created. MMLAB_EINVAL (reported) for size 0 or above
 * MMLAB_KMALLOC_MAX_CACHE_SIZE * 2, align not a power of two, unknown
 * flags, an empty or overlong name. May sleep.
 */
enum mmlab_status mmlab_core_kmem_cache_create(struct mmlab_core *core, const char *name,
					  uint32_t size, uint32_t align, uint32_t flags,
					  mmlab_ctor_fn ctor, struct mmlab_kmem_cache **out);
/*
 * mmlab_core_kmem_cache_destroy - with live objects, reports each one, keeps
 * the cache's slabs (never frees memory still in use) and returns
 * MMLAB_EBUSY; the cache itself is then gone from the caller's view but
 * its slabs stay accounted. May sleep.
 */
enum mmlab_status mmlab_core_kmem_cache_destroy(struct mmlab_kmem_cache *cache);
void *mmlab_core_kmem_cache_alloc(struct mmlab_kmem_cache *cache, mmlab_gfp_t gfp, uintptr_t caller);
/* Reports (and ignores) a pointer that is not a live object of this cache. */
void mmlab_core_kmem_cache_free(struct mmlab_kmem_cache *cache, void *obj, uintptr_t caller);
/* All or nothing, as Linux: returns nr or 0. */
size_t mmlab_core_kmem_cache_alloc_bulk(struct mmlab_kmem_cache *cache, mmlab_gfp_t gfp, size_t nr,
				   void **objs, uintptr_t caller);
/* objs[] is used as scratch and comes back reordered, as with Linux's. */
void mmlab_core_kmem_cache_free_bulk(struct mmlab_kmem_cache *cache, size_t nr, void **objs,
				uintptr_t caller);
/* Returns empty slabs to the buddy allocator; the number of pages returned. */
uint64_t mmlab_core_kmem_cache_shrink(struct mmlab_kmem_cache *cache);
uint32_t mmlab_core_kmem_cache_size(const struct mmlab_kmem_cache *cache);	/* object size */
const char *mmlab_core_kmem_cache_name(const struct mmlab_kmem_cache *cache);

/* --- kmalloc family ---------------------------------------------------------- */

/* Size classes 8, 16, 32, 64, 96, 128, 192, 256, ... 8192; above: buddy pages. */
#define MMLAB_KMALLOC_MIN_SIZE		8
#define MMLAB_KMALLOC_MAX_CACHE_SIZE	8192
/* Largest kmalloc: one chunk (order MMLAB_MAX_CHUNK_ORDER at most). */

void *mmlab_core_kmalloc(struct mmlab_core *core, size_t size, mmlab_gfp_t gfp, uintptr_t caller);
/* NULL (reported) when n * size overflows. __GFP_ZERO makes kcalloc. */
void *mmlab_core_kmalloc_array(struct mmlab_core *core, size_t n, size_t size, mmlab_gfp_t gfp,
			  uintptr_t caller);
/* Linux's krealloc: NULL p allocates, size 0 frees and returns NULL. */
void *mmlab_core_krealloc(struct mmlab_core *core, const void *p, size_t new_size,
		     mmlab_gfp_t gfp, uintptr_t caller);
/* NULL is ignored; anything not from kmalloc is reported and ignored. */
void mmlab_core_kfree(struct mmlab_core *core, const void *p, uintptr_t caller);
/* Usable size of a kmalloc object (its class, or the page block); 0 if not one. */
size_t mmlab_core_ksize(struct mmlab_core *core, const void *p);
/* kmalloc, falling back to vmalloc for sizes above a page (kvmalloc_node). */
void *mmlab_core_kvmalloc(struct mmlab_core *core, size_t size, mmlab_gfp_t gfp, uintptr_t caller);
void *mmlab_core_kvmalloc_array(struct mmlab_core *core, size_t n, size_t size, mmlab_gfp_t gfp,
			   uintptr_t caller);
void mmlab_core_kvfree(struct mmlab_core *core, const void *p, uintptr_t caller);

/* --- vmalloc-like mappings ----------------------------------------------------- */

/*
 * Order-0 managed pages mapped with the host's vmap() into one virtually
 * contiguous range. gfp: GFP_KERNEL-like (may sleep); __GFP_ZERO makes
 * vzalloc. NULL for size 0 or when pages run out (everything taken so far is
 * given back).
 */
void *mmlab_core_vmalloc(struct mmlab_core *core, size_t size, mmlab_gfp_t gfp, uintptr_t caller);
/* NULL is ignored; an address that does not start an area is reported. May sleep. */
void mmlab_core_vfree(struct mmlab_core *core, const void *addr, uintptr_t caller);
int mmlab_core_is_vmalloc_addr(struct mmlab_core *core, const void *addr);
struct mmlab_page *mmlab_core_vmalloc_to_page(struct mmlab_core *core, const void *addr);

/* --- mempools ------------------------------------------------------------------ */

struct mmlab_mempool;	/* opaque */
typedef void *(*mmlab_mempool_alloc_fn)(mmlab_gfp_t gfp, void *pool_data);
typedef void (*mmlab_mempool_free_fn)(void *element, void *pool_data);

#define MMLAB_MEMPOOL_NAME_MAX		32	/* bytes including the NUL */

/*
 * Linux's mempool_create and its three ready-made backings. min_nr elements
 * are allocated at once (GFP_KERNEL); MMLAB_ENOMEM if they cannot be.
 * Page pools hand out struct mmlab_page * of the given order. May sleep.
 */
enum mmlab_status mmlab_core_mempool_create(struct mmlab_core *core, const char *name,
				       uint32_t min_nr, mmlab_mempool_alloc_fn alloc_fn,
				       mmlab_mempool_free_fn free_fn, void *pool_data,
				       struct mmlab_mempool **out);
enum mmlab_status mmlab_core_mempool_create_slab_pool(struct mmlab_core *core, const char *name,
						 uint32_t min_nr, struct mmlab_kmem_cache *cache,
						 struct mmlab_mempool **out);
enum mmlab_status mmlab_core_mempool_create_kmalloc_pool(struct mmlab_core *core, const char *name,
						    uint32_t min_nr, size_t size,
						    struct mmlab_mempool **out);
enum mmlab_status mmlab_core_mempool_create_page_pool(struct mmlab_core *core, const char *name,
						 uint32_t min_nr, uint32_t order,
						 struct mmlab_mempool **out);
/*
 * Backing allocator first (gfp | __GFP_NORETRY | __GFP_NOWARN, no direct
 * reclaim on the first try), then the reserve; with a sleeping gfp it waits
 * for an element to come back and never returns NULL; otherwise NULL when
 * the reserve is empty.
 */
void *mmlab_core_mempool_alloc(struct mmlab_mempool *pool, mmlab_gfp_t gfp);
/* Refills the reserve first (below min_nr), else frees to the backing. */
void mmlab_core_mempool_free(struct mmlab_mempool *pool, void *element);
enum mmlab_status mmlab_core_mempool_resize(struct mmlab_mempool *pool, uint32_t new_min_nr);
/* Frees the reserve; elements still out are reported (MMLAB_EBUSY). May sleep. */
enum mmlab_status mmlab_core_mempool_destroy(struct mmlab_mempool *pool);

/*
 * Views are rendered as text through a sink, so the shim can pass seq_write()
 * and the host tests a string builder. The sink may be called many times.
 */
typedef void (*mmlab_emit_fn)(void *ctx, const char *s, size_t len);

/* --- regions: what /dev/mmlab maps (region.h) ---------------------------- */

/*
 * A region is a shared-memory object: managed order-0 pages indexed by page
 * offset, allocated zeroed on first fault, freed by punch and destroy once
 * the host says nothing maps or pins them. The shim owns the policy-free
 * parts (struct page refcounts, VMAs); everything else is here.
 */
struct mmlab_region;	/* opaque */

/* vm.overcommit_memory's modes, against the core's capacity (no swap). */
#define MMLAB_OVERCOMMIT_GUESS		0	/* refuse only sizes above the capacity */
#define MMLAB_OVERCOMMIT_ALWAYS		1	/* never refuse; a failed fault is SIGBUS */
#define MMLAB_OVERCOMMIT_NEVER		2	/* commit at set-size, limit capacity*ratio/100 */
#define MMLAB_OVERCOMMIT_RATIO_DEFAULT	50
#define MMLAB_REGION_FAULT_LOG		256	/* fault records kept per region */

/*
 * Asked once per page before it goes back to the core, with no core lock
 * held: nonzero while the host still maps or pins the page at page offset
 * pgoff (the shim: page_ref_freeze(page, 1) fails). A busy page stays with
 * the region and is asked again at the next punch, shrink or destroy.
 */
typedef int (*mmlab_page_busy_fn)(void *ctx, uint64_t pfn, uint64_t pgoff);

/* zone: where the region's pages come from. May sleep. */
enum mmlab_status mmlab_core_region_create(struct mmlab_core *core, enum mmlab_zone_type zone,
					   struct mmlab_region **out);
/*
 * Frees every page that is not busy and uncommits the size. MMLAB_OK: the
 * region is gone. MMLAB_EBUSY: busy pages remain, the region still exists
 * (size 0) and destroy is to be called again later. busy may be NULL
 * (nothing is busy). May sleep.
 */
enum mmlab_status mmlab_core_region_destroy(struct mmlab_region *region,
					    mmlab_page_busy_fn busy, void *ctx);
/*
 * Set the size in pages, committing the growth (MMLAB_ENOMEM past the limit
 * in mode 2, above the capacity in mode 0). Shrinking frees the pages past
 * the new end like punch. May sleep.
 */
enum mmlab_status mmlab_core_region_set_size(struct mmlab_region *region, uint64_t nr_pages,
					     mmlab_page_busy_fn busy, void *ctx);
uint64_t mmlab_core_region_size(struct mmlab_region *region);
/*
 * The page at pgoff, allocated zeroed on first touch (the same page on later
 * faults). MMLAB_EINVAL beyond the size (the shim's SIGBUS), MMLAB_ENOMEM
 * when the core has no page. pid and address only feed the fault log.
 * In overcommit mode 2 the allocation may use the zone reserves
 * (__GFP_HIGH) and retries reclaim (__GFP_RETRY_MAYFAIL): the size was
 * committed, so the page is owed.
 */
enum mmlab_status mmlab_core_region_fault(struct mmlab_region *region, uint64_t pgoff,
					  int32_t pid, uint64_t address,
					  struct mmlab_page **out);
/*
 * Where the region's later faults take pages from: MMLAB_ZONE_NORMAL (the
 * default; falls back to DMA32 as any GFP_USER request) or MMLAB_ZONE_DMA32
 * (__GFP_DMA32: below 4 GiB only). Resident pages stay where they are.
 */
enum mmlab_status mmlab_core_region_set_zone(struct mmlab_region *region, enum mmlab_zone_type zone);
/*
 * The page now at pgoff, or NULL (no page, or beyond the size). The shim's
 * fault rechecks with it once it holds the page lock, as filemap_fault()
 * rechecks page->mapping: a punch may have taken the page out meanwhile.
 */
struct mmlab_page *mmlab_core_region_lookup(struct mmlab_region *region, uint64_t pgoff);
/* Free the pages of [first, first + nr); returns how many went back now. */
uint64_t mmlab_core_region_punch(struct mmlab_region *region, uint64_t first, uint64_t nr,
				 mmlab_page_busy_fn busy, void *ctx);

struct mmlab_region_stats {
	uint64_t id;
	uint64_t size_pages;
	uint64_t resident_pages;	/* in the page table */
	uint64_t busy_pages;		/* punched but still mapped or pinned */
	uint64_t committed_pages;
	uint64_t faults;		/* every fault */
	uint64_t alloc_faults;		/* faults that allocated a page */
	uint64_t fault_failures;	/* ENOMEM */
};
void mmlab_core_region_stats(struct mmlab_region *region, struct mmlab_region_stats *out);

struct mmlab_fault_record {
	uint64_t seq;		/* 1, 2, ... per region */
	uint64_t address;
	uint64_t pgoff;
	uint64_t pfn;
	uint64_t latency_ns;
	int32_t pid;
	uint8_t zone;		/* enum mmlab_zone_type */
	uint8_t order;
	uint8_t allocated;	/* 1: this fault took a new page */
	uint8_t pad;
};
/* Copies up to max of the newest records, oldest first; returns how many. */
size_t mmlab_core_region_fault_log(struct mmlab_region *region, struct mmlab_fault_record *out,
				   size_t max);

/*
 * debugfs faults/<id>: "# seq pid address pgoff pfn zone order alloc
 * latency_ns", then one line per record, oldest first (docs/debugfs.md).
 */
void mmlab_core_region_render_faults(struct mmlab_region *region, mmlab_emit_fn emit, void *ctx);

/* What the shim knows about a region: the regions view's other columns. */
struct mmlab_region_owner {
	int32_t pid;		/* the opener's tgid */
	const char *name;	/* NULL: unnamed ("-") */
	uint64_t mappings;	/* VMAs mapping it now */
	uint64_t files;		/* open files on it */
};
/* debugfs regions: the header line, then one line per region. */
void mmlab_core_region_render_header(mmlab_emit_fn emit, void *ctx);
void mmlab_core_region_render(struct mmlab_region *region, const struct mmlab_region_owner *owner,
			      mmlab_emit_fn emit, void *ctx);

/* mode MMLAB_OVERCOMMIT_*, ratio 0..100: MMLAB_EINVAL otherwise. */
enum mmlab_status mmlab_core_set_overcommit(struct mmlab_core *core, uint32_t mode,
					    uint32_t ratio);
struct mmlab_commit_info {
	uint32_t mode;
	uint32_t ratio;
	uint64_t committed_pages;	/* sum of region sizes (Committed_AS) */
	uint64_t commit_limit_pages;	/* capacity * ratio / 100 (CommitLimit) */
	uint64_t capacity_pages;	/* mode 0 refuses a region larger than this */
	uint64_t max_region_pages;	/* no mode takes a larger region */
	uint64_t regions;
};
void mmlab_core_commit_info(struct mmlab_core *core, struct mmlab_commit_info *out);

/* --- views and control -------------------------------------------------------- */


enum mmlab_view {
	MMLAB_VIEW_BUDDYINFO,	/* exactly /proc/buddyinfo's format */
	MMLAB_VIEW_STATS,	/* "key value" lines, then a per-order table */
	MMLAB_VIEW_ZONEINFO,	/* /proc/zoneinfo's shape, mmlab's fields */
	MMLAB_VIEW_SLABINFO,	/* exactly "slabinfo - version: 2.1" */
	MMLAB_VIEW_MEMPOOLS,	/* one line per pool: min_nr, curr_nr, waits, reserve hits */
	MMLAB_VIEW_VMALLOCINFO,	/* /proc/vmallocinfo's shape, ids instead of addresses */
	MMLAB_VIEW_NR,
};
enum mmlab_status mmlab_core_render(struct mmlab_core *core, enum mmlab_view view,
				    mmlab_emit_fn emit, void *ctx);

/* Longest control command accepted, in bytes, excluding the newline. */
#define MMLAB_CONTROL_MAX	256

/*
 * mmlab_core_control - run one control command (one line; a trailing newline
 * is ignored). The text result (e.g. "handle 3 order 2 pfn 0x12345") is
 * written NUL-terminated into result; on error a one-line reason is written
 * there and also logged at warning level. Never trusts the input: any byte
 * string of any length is safe. May sleep.
 */
enum mmlab_status mmlab_core_control(struct mmlab_core *core, const char *cmd,
				     size_t len, char *result, size_t result_cap);

/* --- fault injection (fault_inject.h; docs/fault-injection.md) ------------ */

/*
 * Where mmlab can be made to fail on purpose. Each site has the attributes
 * of Linux's struct fault_attr (lib/fault-inject.c) plus a seed for its
 * random draws; the shim shows them as debugfs files under
 * mmlab/fail/<site name>/ with the kernel's file names.
 */
enum mmlab_fault_site {
	MMLAB_FAULT_CHUNK = 0,		/* borrowing a chunk from the host */
	MMLAB_FAULT_BUDDY,		/* alloc_pages, any order (fail_page_alloc) */
	MMLAB_FAULT_SLAB,		/* kmem_cache_alloc and kmalloc classes (failslab) */
	MMLAB_FAULT_MEMPOOL,		/* mempool_alloc's backing allocation */
	MMLAB_FAULT_MMDEV_FAULT,	/* a /dev/mmlab fault that needs a new page */
	MMLAB_FAULT_NR_SITES,
};

enum mmlab_fault_param {
	MMLAB_FAULT_PROBABILITY = 0,	/* percent, 0..100 */
	MMLAB_FAULT_INTERVAL,		/* fail only every interval-th eligible call */
	MMLAB_FAULT_TIMES,		/* failures left; -1 = no limit */
	MMLAB_FAULT_SPACE,		/* size to let through before failing */
	MMLAB_FAULT_VERBOSE,		/* 0 quiet, 1 a message, 2 also a stack */
	MMLAB_FAULT_VERBOSE_RATELIMIT_INTERVAL_MS,
	MMLAB_FAULT_VERBOSE_RATELIMIT_BURST,
	MMLAB_FAULT_TASK_FILTER,	/* only tasks with /proc/<pid>/make-it-fail */
	MMLAB_FAULT_SEED,		/* seed of the site's draws; writing restarts them */
	MMLAB_FAULT_IGNORE_GFP_WAIT,	/* buddy, slab: spare __GFP_DIRECT_RECLAIM */
	MMLAB_FAULT_MIN_ORDER,		/* buddy: spare orders below this */
	MMLAB_FAULT_CACHE_FILTER,	/* slab: only caches with SLAB_FAILSLAB */
	MMLAB_FAULT_CALLS,		/* read-only: calls that met an enabled site */
	MMLAB_FAULT_INJECTED,		/* read-only: failures injected */
	MMLAB_FAULT_NR_PARAMS,
};

/* "chunk", "buddy", ...; NULL past the last site. */
const char *mmlab_core_fault_site_name(enum mmlab_fault_site site);
/* The debugfs file name ("probability", "ignore-gfp-wait", ...); NULL past the last. */
const char *mmlab_core_fault_param_name(enum mmlab_fault_param param);
/* The file's mode for this site: 0 (no such file), 0400 or 0600. */
unsigned int mmlab_core_fault_param_mode(enum mmlab_fault_site site,
					 enum mmlab_fault_param param);
/*
 * The value as the kernel's debugfs shows it ("%llu\n", "%d\n" or "Y\n"/"N\n"),
 * NUL-terminated; returns the length, 0 for no such file.
 */
size_t mmlab_core_fault_read(struct mmlab_core *core, enum mmlab_fault_site site,
			     enum mmlab_fault_param param, char *buf, size_t cap);
/*
 * Parse and set one value (untrusted bytes; a trailing newline is fine).
 * MMLAB_EINVAL with the reason logged and copied into why for a bad value,
 * a read-only or absent file. Never sleeps; any context.
 */
enum mmlab_status mmlab_core_fault_write(struct mmlab_core *core, enum mmlab_fault_site site,
					 enum mmlab_fault_param param, const char *buf,
					 size_t len, char *why, size_t why_cap);
/*
 * slub_debug (module parameter and debugfs file; docs/debugging.md):
 * Linux's syntax subset "<flags>[,<cache>]" with flags of F Z P U (either
 * case), "-" for none and nothing before the comma for all four. Sets the
 * debug flags caches created from now on get (only the named one, if a
 * name is given) and switches the kmalloc caches it covers now if they are
 * empty. Untrusted input; the outcome or the reason for MMLAB_EINVAL goes
 * into result. May sleep.
 */
enum mmlab_status mmlab_core_slub_debug_set(struct mmlab_core *core, const char *spec,
					    size_t len, char *result, size_t result_cap);
/*
 * page_poison (module parameter and debugfs file): free pages are filled
 * with PAGE_POISON (0xaa) and checked when allocated. Switching it on is
 * refused (MMLAB_EBUSY, reason in result) once a page was borrowed, as
 * Linux's page_poison= is a boot parameter; off works at any time.
 */
enum mmlab_status mmlab_core_page_poison_set(struct mmlab_core *core, int on, char *result,
					     size_t result_cap);
int mmlab_core_page_poison(struct mmlab_core *core);
/* The current setting, one line ("FZPU,kmalloc-64\n", "-\n"). */
void mmlab_core_slub_debug_show(struct mmlab_core *core, mmlab_emit_fn emit, void *ctx);

/* --- slab policies: SLUB, SLAB, SLOB (slab.h; docs/slab-policies.md) ------- */
/*
 * Which policy runs a cache, chosen at creation, switchable while empty.
 * Policy names: "slub", "slab", "slob" (lower case; a trailing newline is
 * ignored).
 */
/*
 * The default policy of caches created from now on (slab_policy= and the
 * debugfs file slab_policy). With kmalloc_too, the kmalloc caches switch
 * too - only while nobody can be using them (module load, right after
 * mmlab_core_create): an empty one switches, one with objects stays (the
 * result says how many). MMLAB_EINVAL (logged, reason in result) for an
 * unknown name. May sleep.
 */
enum mmlab_status mmlab_core_slab_policy_set(struct mmlab_core *core, const char *spec,
					     size_t len, int kmalloc_too, char *result,
					     size_t result_cap);
/* The default policy, one line ("slub\n"). */
void mmlab_core_slab_policy_show(struct mmlab_core *core, mmlab_emit_fn emit, void *ctx);
/*
 * mmlab_core_kmem_cache_create with a policy by name (len bytes; NULL or
 * len 0: the default). MMLAB_EINVAL (reported) for an unknown name, or
 * debug flags with a policy that has no debugging (slob).
 */
enum mmlab_status mmlab_core_kmem_cache_create_policy(struct mmlab_core *core, const char *name,
						      uint32_t size, uint32_t align,
						      uint32_t flags, mmlab_ctor_fn ctor,
						      const char *policy, size_t len,
						      struct mmlab_kmem_cache **out);
/*
 * Switches an empty cache nobody else uses to another policy (cache_policy).
 * MMLAB_EBUSY while it has objects or slabs, MMLAB_EINVAL for an unknown
 * name or a debug cache to slob; the reason in result. May sleep.
 */
enum mmlab_status mmlab_core_kmem_cache_set_policy(struct mmlab_kmem_cache *cache,
						   const char *policy, size_t len, char *result,
						   size_t result_cap);
/* The cache's policy name ("slub", "slab" or "slob"). */
const char *mmlab_core_kmem_cache_policy(const struct mmlab_kmem_cache *cache);

/* --- allocation trace and replay (alloc_trace.h, replay.h; docs/replay.md) - */
/*
 * Record allocation events; replay a trace through a fresh core per policy.
 *
 * Recording: a bounded ring per CPU of the allocation events of this core's
 * callers (kmalloc/kfree, kmem_cache_alloc/free, cache create/destroy, and
 * alloc_pages/__free_pages of the exported API and the control file; not the
 * pages the allocators take for themselves). When a ring is full the oldest
 * event is overwritten and counted. Off by default; off costs one predicted
 * branch on a read-mostly flag per call.
 *
 * Replay: a trace (parsed text, or generated by a bundled workload) is run
 * op by op on the calling thread through a FRESH core built from a config,
 * with every cache under one slab policy, and measured (peak/final pages,
 * waste, Linux's extfrag index per order). Deterministic: the same trace,
 * config and policy give the same page and fragmentation figures.
 */

/* Events per CPU ring: default and bounds of mmlab_core_trace_set. */
#define MMLAB_TRACE_EVENTS_DEFAULT	8192
#define MMLAB_TRACE_EVENTS_MIN		16
#define MMLAB_TRACE_EVENTS_MAX		(1u << 18)

/*
 * on: (re)allocate and empty the rings (events_per_cpu 0: the default;
 * MMLAB_EINVAL outside MIN..MAX), reset the counters and the time origin,
 * then start recording. off: stop recording; what was recorded stays
 * readable. May sleep (allocates, waits for CPUs to leave the record path).
 */
enum mmlab_status mmlab_core_trace_set(struct mmlab_core *core, int on,
				       uint32_t events_per_cpu);
/* Empty the rings and zero the counters; recording stays as it was. May sleep. */
void mmlab_core_trace_clear(struct mmlab_core *core);
int mmlab_core_trace_on(struct mmlab_core *core);

struct mmlab_trace_counters {
	uint32_t on;
	uint32_t nr_cpus;
	uint32_t events_per_cpu;	/* 0 when no rings were ever allocated */
	uint32_t pad;
	uint64_t recorded;		/* events written since on/clear */
	uint64_t overwritten;		/* of those, lost to a full ring */
	uint64_t held;			/* in the rings now */
};
void mmlab_core_trace_counters(struct mmlab_core *core, struct mmlab_trace_counters *out);

/*
 * The trace as text (docs/replay.md): "# mmlab-trace v1", comment lines
 * with the counters, then the events of every CPU merged by time. When a
 * ring overflowed, events older than the newest overwritten one (on any
 * CPU) are left out too, so the text is a consistent suffix in time.
 * Object ids are addresses hashed with a per-core key. May sleep
 * (allocates a snapshot); MMLAB_ENOMEM if it cannot.
 */
enum mmlab_status mmlab_core_render_trace(struct mmlab_core *core, mmlab_emit_fn emit, void *ctx);

/*
 * Linux's extfrag_index (mm/vmstat.c __fragmentation_index) of a free-block
 * count per order: index x1000 per order 0..MMLAB_MAX_CHUNK_ORDER; -1000
 * means a free block of that order exists, 0 no free memory at all.
 */
#define MMLAB_EXTFRAG_ORDERS	(MMLAB_MAX_CHUNK_ORDER + 1)
void mmlab_extfrag_index(const uint64_t nr_free[MMLAB_EXTFRAG_ORDERS],
			 int32_t out[MMLAB_EXTFRAG_ORDERS]);
/*
 * Of the live core: zone MMLAB_NR_ZONES gives all zones' free lists summed.
 * MMLAB_EINVAL for another zone number. Orders above the core's chunk order
 * are computed too, but no block can be that large: the core's MAX_ORDER
 * is chunk_order + 1, and the render and replay show orders 0..chunk_order.
 */
enum mmlab_status mmlab_core_extfrag_index(struct mmlab_core *core, uint32_t zone,
					   int32_t out[MMLAB_EXTFRAG_ORDERS]);
/*
 * /sys/kernel/debug/extfrag/extfrag_index's format: one line per zone with
 * a share of the capacity, "Node 0, zone %8s " then "%2d.%03d " per order
 * 0..chunk_order.
 */
void mmlab_core_render_extfrag(struct mmlab_core *core, mmlab_emit_fn emit, void *ctx);

/* --- a trace to replay --- */

struct mmlab_replay_trace;	/* opaque */

enum mmlab_replay_opcode {
	MMLAB_REPLAY_KMALLOC = 0,	/* slot = kmalloc(size, gfp) */
	MMLAB_REPLAY_KFREE,		/* kfree(slot) */
	MMLAB_REPLAY_CACHE_CREATE,	/* cache: kmem_cache_create(info of cache) */
	MMLAB_REPLAY_CACHE_DESTROY,	/* kmem_cache_destroy; never has live slots (see below) */
	MMLAB_REPLAY_CACHE_ALLOC,	/* slot = kmem_cache_alloc(cache, gfp) */
	MMLAB_REPLAY_CACHE_FREE,	/* kmem_cache_free(cache, slot) */
	MMLAB_REPLAY_ALLOC_PAGES,	/* slot = alloc_pages(gfp, order) */
	MMLAB_REPLAY_FREE_PAGES,	/* __free_pages(slot, order) */
	MMLAB_REPLAY_NR_OPCODES,
};

/*
 * A cache_destroy of a cache with live objects is preceded by CACHE_FREE ops
 * for them (the parser adds them), so a replayer never destroys a busy cache.
 * A slot whose alloc failed during a run is NULL; its free is then skipped.
 */
struct mmlab_replay_op {
	uint32_t op;		/* enum mmlab_replay_opcode */
	uint32_t order;		/* alloc_pages/free_pages */
	uint32_t cache;		/* cache ops: index 0..nr_caches-1 */
	uint32_t size;		/* kmalloc: bytes; cache_alloc: the cache's object size */
	uint32_t align;		/* cache_create */
	uint32_t flags;		/* cache_create: MMLAB_SLAB_* */
	uint32_t gfp;		/* allocations: mmlab's numbering */
	uint32_t slot;		/* allocs and frees: 0..nr_slots-1 (reused once freed) */
};

struct mmlab_replay_cache_info {
	char name[MMLAB_KMEM_CACHE_NAME_MAX];
	uint32_t size;
	uint32_t align;
	uint32_t flags;
	uint32_t ctor;		/* 1: objects get a constructor */
};

struct mmlab_replay_trace_info {
	uint64_t nr_ops;
	uint32_t nr_slots;	/* most objects live at once */
	uint32_t nr_caches;
	uint64_t skipped;	/* frees of ids never allocated in the trace (ring overflow) */
	char name[64];		/* workload name, or what mmlab_replay_set_name set */
};

/* Bounds of a trace (the parser refuses more). */
#define MMLAB_REPLAY_MAX_OPS		(1u << 20)
#define MMLAB_REPLAY_MAX_SLOTS		(1u << 18)
#define MMLAB_REPLAY_MAX_CACHES		4096	/* cache_create ops in one trace */
#define MMLAB_REPLAY_MAX_LINE		512
#define MMLAB_REPLAY_MAX_KMALLOC	(MMLAB_PAGE_SIZE << MMLAB_MAX_CHUNK_ORDER)

/*
 * Parse trace text (untrusted). MMLAB_EINVAL with "line N: reason" in why
 * for an unknown op or key, a missing or out-of-range value, a line over
 * MMLAB_REPLAY_MAX_LINE or a trace over the bounds; MMLAB_ENOMEM. Ids map
 * to dense slots. May sleep.
 */
enum mmlab_status mmlab_replay_parse(const char *text, size_t len,
				     struct mmlab_replay_trace **out, char *why, size_t why_cap);
/*
 * A bundled workload (docs/replay.md): "kmalloc-mix", "cache-churn",
 * "fragmenter", "ctor-heavy". The same (workload, seed, nr_ops) gives the
 * same trace. nr_ops 1..MMLAB_REPLAY_MAX_OPS: exactly that many ops (what
 * is live at the end is freed by the replayer, not by ops). May sleep.
 */
enum mmlab_status mmlab_replay_generate(const char *workload, uint64_t seed, uint64_t nr_ops,
					struct mmlab_replay_trace **out, char *why,
					size_t why_cap);
/* The names, NULL past the last. */
const char *mmlab_replay_workload_name(uint32_t i);
const char *mmlab_replay_workload_description(uint32_t i);
void mmlab_replay_free(struct mmlab_replay_trace *trace);
/* The name the result line shows (trace=<name>); cut to fit, spaces become '_'. */
void mmlab_replay_set_name(struct mmlab_replay_trace *trace, const char *name);
void mmlab_replay_trace_info(const struct mmlab_replay_trace *trace,
			     struct mmlab_replay_trace_info *out);
/* NULL past the end. */
const struct mmlab_replay_op *mmlab_replay_op_at(const struct mmlab_replay_trace *trace,
						 uint64_t i);
const struct mmlab_replay_cache_info *mmlab_replay_cache_at(const struct mmlab_replay_trace *trace,
							    uint32_t i);
/*
 * The trace as text in the recorded format (ids are slot numbers with a
 * generation, times are the op index, cpu 0, caller=gen), so a generated
 * trace can be saved and parsed back to the same ops.
 */
void mmlab_replay_render_trace(const struct mmlab_replay_trace *trace, mmlab_emit_fn emit,
			       void *ctx);

/* --- running it --- */

#define MMLAB_REPLAY_POLICY_MAX	8	/* "slub", "slab", "slob", "host" + NUL */

struct mmlab_replay_result {
	char policy[MMLAB_REPLAY_POLICY_MAX];
	char trace[64];
	uint64_t ops;			/* ops run */
	uint64_t failures;		/* allocations that returned NULL */
	uint64_t peak_pages;		/* pages held for the trace's objects, at most */
	uint64_t final_pages;		/* the same after the last op */
	uint64_t peak_requested_bytes;	/* bytes the live objects asked for at peak_pages */
	uint64_t peak_waste_bytes;	/* peak_pages * PAGE_SIZE - peak_requested_bytes */
	int32_t extfrag[MMLAB_EXTFRAG_ORDERS];	/* x1000, after the last op */
	uint32_t nr_orders;		/* valid entries of extfrag (chunk_order + 1; 0: none) */
	uint64_t ns_total;		/* wall time of the ops (not deterministic) */
};

/*
 * Build a fresh core from cfg, put the kmalloc caches and every cache the
 * trace creates under `policy`, run every op in order on the calling
 * thread, measure, free what is left, destroy the core. MMLAB_EINVAL (why)
 * for a bad config or an unknown/unavailable policy; allocation failures
 * during the run are counted in out->failures, not errors. May sleep.
 */
enum mmlab_status mmlab_replay_run(const struct mmlab_replay_trace *trace,
				   const struct mmlab_core_config *cfg, const char *policy,
				   struct mmlab_replay_result *out, char *why, size_t why_cap);
/* The policies mmlab_replay_run accepts in this build, NULL past the last. */
const char *mmlab_replay_policy_name(uint32_t i);
/*
 * One line: "replay policy=slub trace=<name> ops=N failures=N peak_pages=N
 * final_pages=N peak_requested_bytes=N peak_waste_bytes=N ns_per_op=N
 * extfrag=-1.000,..." and a newline.
 */
void mmlab_replay_render_result(const struct mmlab_replay_result *r, mmlab_emit_fn emit,
				void *ctx);
/* The comparison table: one row per metric, one column per result. */
void mmlab_replay_render_report(const struct mmlab_replay_result *results, size_t n,
				mmlab_emit_fn emit, void *ctx);

/* --- page map and explain (pagemap.h; docs/pagemap.md) --------------------- */
/*
 * Every managed page's state; what an address is.
 */

/* Room for a whole explain answer, NUL included. */
#define MMLAB_EXPLAIN_MAX	2048

/*
 * debugfs pagemap: "# mmlab-pagemap v1 pages=<n> page_size=<n>", a legend,
 * then per zone and chunk "zone <name> chunk <n> pfn 0x<pfn> pages <n>" and
 * rows "0x<pfn> <one character per page, 64 per row>", then one line per
 * slab "slab 0x<pfn> order <o> policy <p> cache <name> inuse <n> objects <n>".
 * The zone lock is held per row only. MMLAB_ENOMEM without scratch memory.
 * May sleep.
 */
enum mmlab_status mmlab_core_render_pagemap(struct mmlab_core *core, mmlab_emit_fn emit,
					    void *ctx);
/*
 * What a kernel address is, as "key: value" lines (docs/pagemap.md):
 * address (hashed), page, zone, block, owner, object, track, mempool,
 * control. The address is compared against the managed chunks and vmalloc
 * areas before anything is read. MMLAB_EINVAL for NULL, MMLAB_ENOENT when
 * mmlab does not manage it (the answer says so). Never sleeps.
 */
enum mmlab_status mmlab_core_explain_addr(struct mmlab_core *core, const void *addr, char *buf,
					  size_t cap);
/*
 * A query from debugfs explain (untrusted): "kaddr 0x<addr>", "object <id>"
 * or "handle <id>" (control-file ids). MMLAB_EINVAL (reason logged and
 * written into buf) for a malformed query, MMLAB_ENOENT for an unknown id.
 */
enum mmlab_status mmlab_core_explain(struct mmlab_core *core, const char *query, size_t len,
				     char *buf, size_t cap);
/*
 * The page at pgoff of a region and the byte at offset in it (the shim's
 * "uva" query, after it translated the user address). MMLAB_ENOENT when
 * the region has no page there yet (the answer says so).
 */
enum mmlab_status mmlab_core_explain_region(struct mmlab_core *core, struct mmlab_region *region,
					    uint64_t pgoff, uint64_t offset, char *buf,
					    size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* MMLAB_CORE_H */
