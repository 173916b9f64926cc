/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmlab/mmlab.h - mmlab's in-kernel API, for other out-of-tree modules.
 *
 * How it works: mmlab.ko runs a second memory-management stack (buddy page
 * allocator, slab caches, kmalloc, vmalloc, mempools) on pages it borrowed
 * from the host's alloc_pages(). It exports that stack under Linux's own
 * function names with an mmlab_ prefix, taking Linux's own types (gfp_t,
 * slab_flags_t, size_t), so code written against <linux/slab.h>,
 * <linux/vmalloc.h> and <linux/mempool.h> is ported by renaming calls.
 * Memory from one stack must never be freed to the other.
 *
 * Building against it (docs/api.md): add -I<mmlab>/include to ccflags, build
 * with KBUILD_EXTRA_SYMBOLS=<mmlab>/Module.symvers, declare
 * MODULE_LICENSE("GPL") (every symbol is EXPORT_SYMBOL_GPL) and load
 * mmlab.ko first; a module using these symbols pins mmlab until it unloads.
 *
 * GFP: the usual GFP_KERNEL, GFP_ATOMIC, GFP_NOWAIT, GFP_NOFS, GFP_NOIO,
 * GFP_USER, __GFP_ZERO, __GFP_NOWARN, __GFP_NOFAIL, __GFP_NORETRY,
 * __GFP_RETRY_MAYFAIL, __GFP_DMA32 (mmlab's ZONE_DMA32) ... keep their
 * meaning. __GFP_DMA is refused (mmlab has no ZONE_DMA): the call warns
 * (rate limited) and fails. __GFP_HIGHMEM and __GFP_MOVABLE are served
 * from ZONE_NORMAL by the page allocator, as x86-64 Linux does without
 * highmem or a movable zone, and refused by kmalloc and the slab caches, as
 * Linux's GFP_SLAB_BUG_MASK does. Placement hints mmlab has no use for
 * (__GFP_RECLAIMABLE, __GFP_THISNODE, __GFP_WRITE, ...) are ignored.
 *
 * Context: as in Linux. Functions that "may sleep" need process context;
 * the allocation functions sleep only when gfp allows direct reclaim.
 */
#ifndef MMLAB_MMLAB_H
#define MMLAB_MMLAB_H

#include <linux/gfp.h>
#include <linux/slab.h>
#include <linux/types.h>

/* mmlab's descriptor of one page (struct page is the host's). Opaque. */
struct mmlab_page;
/* A slab cache (struct kmem_cache). Opaque. */
struct mmlab_kmem_cache;
/* A memory pool (mempool_t). Opaque. */
struct mmlab_mempool;
typedef struct mmlab_mempool mmlab_mempool_t;

/* Linux's mempool_alloc_t / mempool_free_t. */
typedef void *(mmlab_mempool_alloc_t)(gfp_t gfp_mask, void *pool_data);
typedef void (mmlab_mempool_free_t)(void *element, void *pool_data);

/* ---- page allocator ----------------------------------------------------- */

/**
 * mmlab_alloc_pages - allocate 2^@order contiguous pages (alloc_pages)
 * @gfp: allocation flags
 * @order: 0..10
 *
 * Return: mmlab's descriptor of the first page, or NULL.
 */
struct mmlab_page *mmlab_alloc_pages(gfp_t gfp, unsigned int order);

/**
 * mmlab___free_pages - free pages from mmlab_alloc_pages() (__free_pages)
 * @page: the first page; NULL is ignored
 * @order: the order it was allocated with
 *
 * A page that is not allocated, or a wrong order, is reported and ignored.
 */
void mmlab___free_pages(struct mmlab_page *page, unsigned int order);

/**
 * mmlab___get_free_pages - allocate pages, return their address (__get_free_pages)
 * @gfp: allocation flags
 * @order: 0..10
 *
 * Return: the kernel virtual address of the first page, or 0.
 */
unsigned long mmlab___get_free_pages(gfp_t gfp, unsigned int order);

/**
 * mmlab_get_zeroed_page - allocate one zeroed page (get_zeroed_page)
 * @gfp: allocation flags (__GFP_ZERO is implied)
 *
 * Return: its kernel virtual address, or 0.
 */
unsigned long mmlab_get_zeroed_page(gfp_t gfp);

/**
 * mmlab_free_pages - free pages by address (free_pages)
 * @addr: from mmlab___get_free_pages() or mmlab_get_zeroed_page(); 0 is ignored
 * @order: the order it was allocated with
 */
void mmlab_free_pages(unsigned long addr, unsigned int order);

/**
 * mmlab_page_address - kernel virtual address of a page (page_address)
 * @page: a page of mmlab's
 *
 * Return: the address, or NULL for a page that is not mmlab's.
 */
void *mmlab_page_address(const struct mmlab_page *page);

/**
 * mmlab_page_to_pfn - the host page frame number of a page (page_to_pfn)
 * @page: a page of mmlab's
 *
 * Return: the pfn (the same frame the host's struct page describes).
 */
unsigned long mmlab_page_to_pfn(const struct mmlab_page *page);

/**
 * mmlab_virt_to_page - the page holding an address (virt_to_page)
 * @addr: any address inside memory mmlab manages
 *
 * Return: its page, or NULL when @addr is not in mmlab's memory.
 */
struct mmlab_page *mmlab_virt_to_page(const void *addr);

/* ---- slab caches ---------------------------------------------------------- */

/**
 * mmlab_kmem_cache_create - create a slab cache (kmem_cache_create)
 * @name: up to 31 bytes; copied
 * @size: object size, 1..16384
 * @align: alignment, a power of two or 0 (the minimum, 8)
 * @flags: SLAB_HWCACHE_ALIGN, SLAB_CACHE_DMA32, SLAB_RECLAIM_ACCOUNT,
 *	   SLAB_ACCOUNT, SLAB_NO_MERGE (6.5+), SLAB_FAILSLAB (CONFIG_FAILSLAB;
 *	   picked by mmlab/fail/slab/cache-filter), and the debug flags
 *	   SLAB_CONSISTENCY_CHECKS, SLAB_RED_ZONE, SLAB_POISON,
 *	   SLAB_STORE_USER (mmlab's own SLUB-style checks, docs/debugging.md);
 *	   any other flag is refused
 * @ctor: run once per object when its slab is created; may be NULL
 *
 * May sleep. Caches are never merged.
 *
 * Return: the cache, or NULL (with a warning saying why).
 */
struct mmlab_kmem_cache *mmlab_kmem_cache_create(const char *name, unsigned int size,
						 unsigned int align, slab_flags_t flags,
						 void (*ctor)(void *));

/**
 * mmlab_kmem_cache_create_policy - create a slab cache run by a given policy
 * @name: as mmlab_kmem_cache_create()
 * @size: as mmlab_kmem_cache_create()
 * @align: as mmlab_kmem_cache_create()
 * @flags: as mmlab_kmem_cache_create()
 * @ctor: as mmlab_kmem_cache_create()
 * @policy: "slub", "slab" or "slob" (docs/slab-policies.md); NULL for the
 *          default (module parameter slab_policy=)
 *
 * Return: the cache, or NULL (reported) for an unknown policy or any
 * mmlab_kmem_cache_create() failure.
 */
struct mmlab_kmem_cache *mmlab_kmem_cache_create_policy(const char *name, unsigned int size,
							unsigned int align, slab_flags_t flags,
							void (*ctor)(void *),
							const char *policy);

/**
 * mmlab_kmem_cache_destroy - destroy a slab cache (kmem_cache_destroy)
 * @s: the cache; NULL is ignored
 *
 * Objects still allocated are reported, and their slabs are kept (leaked)
 * rather than freed under their users. May sleep.
 */
void mmlab_kmem_cache_destroy(struct mmlab_kmem_cache *s);

/**
 * mmlab_kmem_cache_alloc - allocate an object (kmem_cache_alloc)
 * @s: the cache
 * @gfp: allocation flags
 *
 * Return: the object, or NULL.
 */
void *mmlab_kmem_cache_alloc(struct mmlab_kmem_cache *s, gfp_t gfp);

/**
 * mmlab_kmem_cache_zalloc - allocate a zeroed object (kmem_cache_zalloc)
 * @s: the cache
 * @gfp: allocation flags
 *
 * Return: the object, filled with zeroes, or NULL.
 */
void *mmlab_kmem_cache_zalloc(struct mmlab_kmem_cache *s, gfp_t gfp);

/**
 * mmlab_kmem_cache_free - free an object (kmem_cache_free)
 * @s: the cache it came from
 * @objp: the object; a pointer that is not a live object of @s is
 *	  reported and ignored
 */
void mmlab_kmem_cache_free(struct mmlab_kmem_cache *s, void *objp);

/**
 * mmlab_kmem_cache_alloc_bulk - allocate @size objects at once (kmem_cache_alloc_bulk)
 * @s: the cache
 * @gfp: allocation flags
 * @size: how many
 * @p: where their addresses go
 *
 * All or nothing. Return: @size, or 0 (nothing allocated).
 */
int mmlab_kmem_cache_alloc_bulk(struct mmlab_kmem_cache *s, gfp_t gfp, size_t size, void **p);

/**
 * mmlab_kmem_cache_free_bulk - free @size objects (kmem_cache_free_bulk)
 * @s: the cache
 * @size: how many
 * @p: their addresses; used as scratch space and left reordered, as
 *     Linux's kmem_cache_free_bulk() leaves it
 */
void mmlab_kmem_cache_free_bulk(struct mmlab_kmem_cache *s, size_t size, void **p);

/**
 * mmlab_kmem_cache_shrink - give empty slabs back (kmem_cache_shrink)
 * @s: the cache
 *
 * Return: 0.
 */
int mmlab_kmem_cache_shrink(struct mmlab_kmem_cache *s);

/**
 * mmlab_kmem_cache_size - the object size of a cache (kmem_cache_size)
 * @s: the cache
 *
 * Return: the size given to mmlab_kmem_cache_create().
 */
unsigned int mmlab_kmem_cache_size(struct mmlab_kmem_cache *s);

/* ---- kmalloc --------------------------------------------------------------- */

/**
 * mmlab_kmalloc - allocate memory (kmalloc)
 * @size: bytes; classes 8..8192, larger sizes take whole pages (up to 4 MiB)
 * @gfp: allocation flags
 *
 * Return: memory aligned to at least 8 bytes (power-of-two sizes to their
 * size, up to a page), or NULL; size 0 gives ZERO_SIZE_PTR, as in Linux.
 */
void *mmlab_kmalloc(size_t size, gfp_t gfp);

/**
 * mmlab_kzalloc - allocate zeroed memory (kzalloc)
 * @size: bytes
 * @gfp: allocation flags
 *
 * Return: the memory, or NULL.
 */
void *mmlab_kzalloc(size_t size, gfp_t gfp);

/**
 * mmlab_kmalloc_array - allocate an array (kmalloc_array)
 * @n: number of elements
 * @size: element size
 * @gfp: allocation flags
 *
 * Return: the memory, or NULL (also when @n * @size overflows).
 */
void *mmlab_kmalloc_array(size_t n, size_t size, gfp_t gfp);

/**
 * mmlab_kcalloc - allocate a zeroed array (kcalloc)
 * @n: number of elements
 * @size: element size
 * @gfp: allocation flags
 *
 * Return: the memory, or NULL (also when @n * @size overflows).
 */
void *mmlab_kcalloc(size_t n, size_t size, gfp_t gfp);

/**
 * mmlab_krealloc - resize memory (krealloc)
 * @p: from mmlab_kmalloc() or NULL (then this allocates)
 * @new_size: bytes; 0 frees @p and returns NULL
 * @gfp: allocation flags
 *
 * The contents up to the smaller size are kept. On failure @p is untouched.
 *
 * Return: the (possibly moved) memory, or NULL.
 */
void *mmlab_krealloc(const void *p, size_t new_size, gfp_t gfp);

/**
 * mmlab_ksize - usable size of a kmalloc object (ksize)
 * @p: from mmlab_kmalloc()
 *
 * Return: its size class (or page block) in bytes; 0 for NULL or memory
 * that is not a kmalloc object of mmlab's.
 */
size_t mmlab_ksize(const void *p);

/**
 * mmlab_kfree - free kmalloc memory (kfree)
 * @p: from the kmalloc family; NULL is ignored, anything else is reported
 */
void mmlab_kfree(const void *p);

/* ---- kvmalloc ----------------------------------------------------------------- */

/**
 * mmlab_kvmalloc - kmalloc, falling back to vmalloc (kvmalloc)
 * @size: bytes
 * @gfp: allocation flags; only a gfp that may sleep (__GFP_DIRECT_RECLAIM)
 *	 falls back to vmalloc
 *
 * Return: the memory, or NULL. Free it with mmlab_kvfree().
 */
void *mmlab_kvmalloc(size_t size, gfp_t gfp);

/**
 * mmlab_kvzalloc - zeroed mmlab_kvmalloc (kvzalloc)
 * @size: bytes
 * @gfp: allocation flags
 *
 * Return: the memory, or NULL.
 */
void *mmlab_kvzalloc(size_t size, gfp_t gfp);

/**
 * mmlab_kvmalloc_array - mmlab_kvmalloc of an array (kvmalloc_array)
 * @n: number of elements
 * @size: element size
 * @gfp: allocation flags
 *
 * Return: the memory, or NULL (also on overflow).
 */
void *mmlab_kvmalloc_array(size_t n, size_t size, gfp_t gfp);

/**
 * mmlab_kvcalloc - zeroed mmlab_kvmalloc_array (kvcalloc)
 * @n: number of elements
 * @size: element size
 * @gfp: allocation flags
 *
 * Return: the memory, or NULL (also on overflow).
 */
void *mmlab_kvcalloc(size_t n, size_t size, gfp_t gfp);

/**
 * mmlab_kvfree - free kvmalloc memory (kvfree)
 * @addr: from the kvmalloc or kmalloc or vmalloc family; NULL is ignored
 *
 * May sleep when @addr is vmalloc memory.
 */
void mmlab_kvfree(const void *addr);

/* ---- vmalloc -------------------------------------------------------------------- */

/**
 * mmlab_vmalloc - virtually contiguous memory from order-0 pages (vmalloc)
 * @size: bytes, rounded up to pages
 *
 * May sleep. Return: the memory, or NULL.
 */
void *mmlab_vmalloc(unsigned long size);

/**
 * mmlab_vzalloc - zeroed mmlab_vmalloc (vzalloc)
 * @size: bytes
 *
 * May sleep. Return: the memory, or NULL.
 */
void *mmlab_vzalloc(unsigned long size);

/**
 * mmlab_vfree - free vmalloc memory (vfree)
 * @addr: from mmlab_vmalloc(); NULL is ignored
 *
 * May sleep.
 */
void mmlab_vfree(const void *addr);

/**
 * mmlab_is_vmalloc_addr - is @x inside a live mmlab vmalloc area? (is_vmalloc_addr)
 * @x: any address
 *
 * Unlike Linux's, true only for mmlab's own areas, not the whole vmalloc range.
 */
bool mmlab_is_vmalloc_addr(const void *x);

/**
 * mmlab_vmalloc_to_page - the page behind a vmalloc address (vmalloc_to_page)
 * @addr: inside an area from mmlab_vmalloc()
 *
 * Return: mmlab's page, or NULL.
 */
struct mmlab_page *mmlab_vmalloc_to_page(const void *addr);

/* ---- mempools ----------------------------------------------------------------------- */

/**
 * mmlab_mempool_create - a pool with a reserve of @min_nr elements (mempool_create)
 * @min_nr: elements kept in reserve, allocated now with GFP_KERNEL
 * @alloc_fn: the backing allocator; called with a gfp_t
 * @free_fn: frees what @alloc_fn returned
 * @pool_data: passed to both
 *
 * The pool is named after the caller in mmlab's `mempools` view. May sleep.
 *
 * Return: the pool, or NULL.
 */
mmlab_mempool_t *mmlab_mempool_create(int min_nr, mmlab_mempool_alloc_t *alloc_fn,
				      mmlab_mempool_free_t *free_fn, void *pool_data);

/**
 * mmlab_mempool_create_slab_pool - pool backed by a slab cache (mempool_create_slab_pool)
 * @min_nr: reserve size
 * @kc: an mmlab cache; must outlive the pool
 *
 * Return: the pool, or NULL.
 */
mmlab_mempool_t *mmlab_mempool_create_slab_pool(int min_nr, struct mmlab_kmem_cache *kc);

/**
 * mmlab_mempool_create_kmalloc_pool - pool of kmalloc(@size) (mempool_create_kmalloc_pool)
 * @min_nr: reserve size
 * @size: element size
 *
 * Return: the pool, or NULL.
 */
mmlab_mempool_t *mmlab_mempool_create_kmalloc_pool(int min_nr, size_t size);

/**
 * mmlab_mempool_create_page_pool - pool of 2^@order pages (mempool_create_page_pool)
 * @min_nr: reserve size
 * @order: page order of each element
 *
 * Elements are struct mmlab_page pointers.
 *
 * Return: the pool, or NULL.
 */
mmlab_mempool_t *mmlab_mempool_create_page_pool(int min_nr, int order);

/**
 * mmlab_mempool_alloc - an element from the pool (mempool_alloc)
 * @pool: the pool
 * @gfp_mask: allocation flags
 *
 * Tries the backing allocator first, then the reserve. With a gfp that may
 * sleep it waits for an element to be freed and never returns NULL;
 * otherwise NULL when the reserve is empty.
 *
 * Return: the element, or NULL.
 */
void *mmlab_mempool_alloc(mmlab_mempool_t *pool, gfp_t gfp_mask);

/**
 * mmlab_mempool_free - give an element back (mempool_free)
 * @element: from mmlab_mempool_alloc(); NULL is ignored
 * @pool: its pool
 *
 * Refills the reserve first, then frees to the backing allocator.
 */
void mmlab_mempool_free(void *element, mmlab_mempool_t *pool);

/**
 * mmlab_mempool_resize - change the reserve size (mempool_resize)
 * @pool: the pool
 * @new_min_nr: new reserve size, at least 1
 *
 * May sleep. Return: 0 or -errno.
 */
int mmlab_mempool_resize(mmlab_mempool_t *pool, int new_min_nr);

/**
 * mmlab_mempool_destroy - free the pool and its reserve (mempool_destroy)
 * @pool: the pool; NULL is ignored
 *
 * Every element must have been freed back first; any still out is reported.
 * May sleep.
 */
void mmlab_mempool_destroy(mmlab_mempool_t *pool);

/* --- explain (docs/pagemap.md) -------------------------------------------- */

/**
 * mmlab_explain - what an address is, as mmlab sees it
 * @addr: any kernel address (an object, a page, a vmalloc address)
 * @buf: receives "key: value" lines (address, page, zone, block, owner,
 *       object, state, track, mempool, control), NUL-terminated
 * @len: size of @buf; 2048 holds every answer, a shorter one is cut
 *
 * The address is compared against mmlab's managed memory before anything
 * is read, so any value is safe to pass. Never sleeps.
 * Return: 0, -EINVAL for NULL, -ENOENT when mmlab does not manage @addr
 * (@buf says so).
 */
int mmlab_explain(const void *addr, char *buf, size_t len);

#endif /* MMLAB_MMLAB_H */
