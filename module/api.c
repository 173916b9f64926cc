// SPDX-License-Identifier: GPL-2.0
/*
 * api.c - the exported in-kernel API (include/mmlab/mmlab.h).
 *
 * How it works: every function is a wrapper around the core's
 * mmlab_core_<linux name>() on the module's one core. A wrapper does three
 * things and nothing else: translate the kernel's gfp_t (and slab_flags_t)
 * into mmlab's numbering, pass _RET_IP_ (its caller) as the call site the
 * core charges in tracepoints, vmallocinfo and leak reports, and turn a
 * status into Linux's return convention (NULL or -errno). Policy lives in
 * the core, where the host tests reach it.
 *
 * mempool_create() with the caller's own alloc_fn/free_fn needs one piece of
 * state: the core calls back with mmlab's gfp bits, the caller's functions
 * want a gfp_t. A trampoline (struct mmlab_api_pool) holds the caller's
 * functions and pool_data, is the core pool's pool_data, and is freed by
 * mmlab_mempool_destroy(); the list of them lets destroy find it and lets
 * module exit report (and defuse) pools a client never destroyed.
 *
 * A client module that links against these symbols holds a reference on
 * mmlab until it unloads, so mmlab_core is valid in every call.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mmlab.h"
#include "mmlab/mmlab.h"

/* ---- gfp_t <-> mmlab_gfp_t -------------------------------------------------- */

static const struct {
	gfp_t kflag;
	mmlab_gfp_t mmlab;
} mmlab_gfp_map[] = {
	{ __GFP_DMA32,		MMLAB___GFP_DMA32 },
	{ __GFP_HIGH,		MMLAB___GFP_HIGH },
	{ __GFP_IO,		MMLAB___GFP_IO },
	{ __GFP_FS,		MMLAB___GFP_FS },
	{ __GFP_ZERO,		MMLAB___GFP_ZERO },
	{ __GFP_DIRECT_RECLAIM,	MMLAB___GFP_DIRECT_RECLAIM },
	{ __GFP_KSWAPD_RECLAIM,	MMLAB___GFP_KSWAPD_RECLAIM },
	{ __GFP_NOWARN,		MMLAB___GFP_NOWARN },
	{ __GFP_RETRY_MAYFAIL,	MMLAB___GFP_RETRY_MAYFAIL },
	{ __GFP_NOFAIL,		MMLAB___GFP_NOFAIL },
	{ __GFP_NORETRY,	MMLAB___GFP_NORETRY },
	{ __GFP_HARDWALL,	MMLAB___GFP_HARDWALL },
	{ __GFP_MEMALLOC,	MMLAB___GFP_MEMALLOC },
	{ __GFP_NOMEMALLOC,	MMLAB___GFP_NOMEMALLOC },
	{ __GFP_COMP,		MMLAB___GFP_COMP },
	{ __GFP_ACCOUNT,	MMLAB___GFP_ACCOUNT },
};

/* Zone modifiers the page allocator serves from Normal (x86-64: no highmem). */
#define MMLAB_GFP_TO_NORMAL	(__GFP_HIGHMEM | __GFP_MOVABLE)

/*
 * mmlab_gfp - translate @gfp for a call of @what; false (after a rate
 * limited warning naming the caller) when mmlab cannot honour its zone.
 * @pages: the page allocator and vmalloc (which accept __GFP_HIGHMEM and
 * __GFP_MOVABLE as Normal), else kmalloc and slab (which refuse them, like
 * Linux's GFP_SLAB_BUG_MASK). Bits with no mmlab meaning (__GFP_RECLAIMABLE,
 * __GFP_THISNODE, __GFP_WRITE, 6.1's __GFP_ATOMIC, ...) are dropped.
 */
static bool mmlab_gfp(gfp_t gfp, bool pages, const char *what, unsigned long caller,
		      mmlab_gfp_t *out)
{
	gfp_t refused = __GFP_DMA | (pages ? 0 : MMLAB_GFP_TO_NORMAL);
	mmlab_gfp_t m = 0;
	unsigned int i;

	if (unlikely(gfp & refused)) {
		pr_warn_ratelimited("%s from %pS: gfp %#x (%pGg) names a zone mmlab does not have\n",
				    what, (void *)caller, (__force unsigned int)gfp, &gfp);
		return false;
	}
	for (i = 0; i < ARRAY_SIZE(mmlab_gfp_map); i++)
		if (gfp & mmlab_gfp_map[i].kflag)
			m |= mmlab_gfp_map[i].mmlab;
	*out = m;
	return true;
}

/* The other way, for the caller's own mempool alloc_fn. */
static gfp_t mmlab_gfp_to_kernel(mmlab_gfp_t m)
{
	gfp_t gfp = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mmlab_gfp_map); i++)
		if (m & mmlab_gfp_map[i].mmlab)
			gfp |= mmlab_gfp_map[i].kflag;
	return gfp;
}

/* ---- page allocator ------------------------------------------------------------ */

struct mmlab_page *mmlab_alloc_pages(gfp_t gfp, unsigned int order)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, true, "alloc_pages", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_alloc_pages(mmlab_core, mgfp, order);
}
EXPORT_SYMBOL_GPL(mmlab_alloc_pages);

void mmlab___free_pages(struct mmlab_page *page, unsigned int order)
{
	if (page)
		mmlab_core___free_pages(mmlab_core, page, order);
}
EXPORT_SYMBOL_GPL(mmlab___free_pages);

unsigned long mmlab___get_free_pages(gfp_t gfp, unsigned int order)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, true, "__get_free_pages", _RET_IP_, &mgfp))
		return 0;
	return mmlab_core___get_free_pages(mmlab_core, mgfp, order);
}
EXPORT_SYMBOL_GPL(mmlab___get_free_pages);

unsigned long mmlab_get_zeroed_page(gfp_t gfp)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, true, "get_zeroed_page", _RET_IP_, &mgfp))
		return 0;
	return mmlab_core_get_zeroed_page(mmlab_core, mgfp);
}
EXPORT_SYMBOL_GPL(mmlab_get_zeroed_page);

void mmlab_free_pages(unsigned long addr, unsigned int order)
{
	if (addr)
		mmlab_core_free_pages(mmlab_core, addr, order);
}
EXPORT_SYMBOL_GPL(mmlab_free_pages);

void *mmlab_page_address(const struct mmlab_page *page)
{
	return mmlab_core_page_address(mmlab_core, page);
}
EXPORT_SYMBOL_GPL(mmlab_page_address);

unsigned long mmlab_page_to_pfn(const struct mmlab_page *page)
{
	return mmlab_core_page_to_pfn(mmlab_core, page);
}
EXPORT_SYMBOL_GPL(mmlab_page_to_pfn);

struct mmlab_page *mmlab_virt_to_page(const void *addr)
{
	return mmlab_core_virt_to_page(mmlab_core, addr);
}
EXPORT_SYMBOL_GPL(mmlab_virt_to_page);

/* ---- slab caches ------------------------------------------------------------------ */

static const struct {
	slab_flags_t kflag;
	u32 mmlab;
} mmlab_slab_flags_map[] = {
	{ SLAB_HWCACHE_ALIGN,	MMLAB_SLAB_HWCACHE_ALIGN },
	{ SLAB_CACHE_DMA32,	MMLAB_SLAB_CACHE_DMA32 },
	{ SLAB_RECLAIM_ACCOUNT,	MMLAB_SLAB_RECLAIM_ACCOUNT },
	{ SLAB_ACCOUNT,		MMLAB_SLAB_ACCOUNT },	/* 0 without memcg: never matches */
	/* SLUB's debug flags: mmlab's own slab debugging (docs/debugging.md). */
	{ SLAB_CONSISTENCY_CHECKS, MMLAB_SLAB_CONSISTENCY_CHECKS },
	{ SLAB_RED_ZONE,	MMLAB_SLAB_RED_ZONE },
	{ SLAB_POISON,		MMLAB_SLAB_POISON },
	{ SLAB_STORE_USER,	MMLAB_SLAB_STORE_USER },
#ifdef SLAB_NO_MERGE
	{ SLAB_NO_MERGE,	MMLAB_SLAB_NO_MERGE },
#endif
	{ SLAB_FAILSLAB,	MMLAB_SLAB_FAILSLAB },	/* 0 without CONFIG_FAILSLAB */
};

static struct mmlab_kmem_cache *mmlab_cache_create(const char *name, unsigned int size,
						unsigned int align, slab_flags_t flags,
						void (*ctor)(void *), const char *policy,
						unsigned long ip)
{
	struct mmlab_kmem_cache *s;
	slab_flags_t left = flags;
	enum mmlab_status st;
	u32 mflags = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mmlab_slab_flags_map); i++) {
		if (mmlab_slab_flags_map[i].kflag && (flags & mmlab_slab_flags_map[i].kflag)) {
			mflags |= mmlab_slab_flags_map[i].mmlab;
			left &= ~mmlab_slab_flags_map[i].kflag;
		}
	}
	if (left) {
		pr_warn("kmem_cache_create(%s) from %pS: flags %#lx not supported (EINVAL)\n",
			name ? name : "(null)", (void *)ip,
			(__force unsigned long)left);
		return NULL;
	}
	if (!name) {
		pr_warn("kmem_cache_create from %pS: no name (EINVAL)\n", (void *)ip);
		return NULL;
	}
	st = mmlab_core_kmem_cache_create_policy(mmlab_core, name, size, align, mflags, ctor,
						 policy, policy ? strlen(policy) : 0, &s);
	return st == MMLAB_OK ? s : NULL;
}

struct mmlab_kmem_cache *mmlab_kmem_cache_create(const char *name, unsigned int size,
						 unsigned int align, slab_flags_t flags,
						 void (*ctor)(void *))
{
	return mmlab_cache_create(name, size, align, flags, ctor, NULL, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kmem_cache_create);

struct mmlab_kmem_cache *mmlab_kmem_cache_create_policy(const char *name, unsigned int size,
							unsigned int align, slab_flags_t flags,
							void (*ctor)(void *),
							const char *policy)
{
	if (policy && !*policy) {
		pr_warn("kmem_cache_create(%s) from %pS: empty policy name (EINVAL)\n",
			name ? name : "(null)", (void *)_RET_IP_);
		return NULL;
	}
	return mmlab_cache_create(name, size, align, flags, ctor, policy, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kmem_cache_create_policy);

void mmlab_kmem_cache_destroy(struct mmlab_kmem_cache *s)
{
	if (s)
		mmlab_core_kmem_cache_destroy(s);
}
EXPORT_SYMBOL_GPL(mmlab_kmem_cache_destroy);

void *mmlab_kmem_cache_alloc(struct mmlab_kmem_cache *s, gfp_t gfp)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, false, "kmem_cache_alloc", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_kmem_cache_alloc(s, mgfp, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kmem_cache_alloc);

void *mmlab_kmem_cache_zalloc(struct mmlab_kmem_cache *s, gfp_t gfp)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, false, "kmem_cache_zalloc", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_kmem_cache_alloc(s, mgfp | MMLAB___GFP_ZERO, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kmem_cache_zalloc);

void mmlab_kmem_cache_free(struct mmlab_kmem_cache *s, void *objp)
{
	if (objp)
		mmlab_core_kmem_cache_free(s, objp, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kmem_cache_free);

int mmlab_kmem_cache_alloc_bulk(struct mmlab_kmem_cache *s, gfp_t gfp, size_t size, void **p)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, false, "kmem_cache_alloc_bulk", _RET_IP_, &mgfp))
		return 0;
	return mmlab_core_kmem_cache_alloc_bulk(s, mgfp, size, p, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kmem_cache_alloc_bulk);

void mmlab_kmem_cache_free_bulk(struct mmlab_kmem_cache *s, size_t size, void **p)
{
	mmlab_core_kmem_cache_free_bulk(s, size, p, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kmem_cache_free_bulk);

int mmlab_kmem_cache_shrink(struct mmlab_kmem_cache *s)
{
	mmlab_core_kmem_cache_shrink(s);
	return 0;
}
EXPORT_SYMBOL_GPL(mmlab_kmem_cache_shrink);

unsigned int mmlab_kmem_cache_size(struct mmlab_kmem_cache *s)
{
	return mmlab_core_kmem_cache_size(s);
}
EXPORT_SYMBOL_GPL(mmlab_kmem_cache_size);

/* ---- kmalloc ------------------------------------------------------------------------ */

void *mmlab_kmalloc(size_t size, gfp_t gfp)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, false, "kmalloc", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_kmalloc(mmlab_core, size, mgfp, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kmalloc);

void *mmlab_kzalloc(size_t size, gfp_t gfp)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, false, "kzalloc", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_kmalloc(mmlab_core, size, mgfp | MMLAB___GFP_ZERO, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kzalloc);

void *mmlab_kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, false, "kmalloc_array", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_kmalloc_array(mmlab_core, n, size, mgfp, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kmalloc_array);

void *mmlab_kcalloc(size_t n, size_t size, gfp_t gfp)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, false, "kcalloc", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_kmalloc_array(mmlab_core, n, size, mgfp | MMLAB___GFP_ZERO, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kcalloc);

void *mmlab_krealloc(const void *p, size_t new_size, gfp_t gfp)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, false, "krealloc", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_krealloc(mmlab_core, p, new_size, mgfp, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_krealloc);

size_t mmlab_ksize(const void *p)
{
	return p ? mmlab_core_ksize(mmlab_core, p) : 0;
}
EXPORT_SYMBOL_GPL(mmlab_ksize);

void mmlab_kfree(const void *p)
{
	mmlab_core_kfree(mmlab_core, p, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kfree);

/* ---- kvmalloc ------------------------------------------------------------------------- */

void *mmlab_kvmalloc(size_t size, gfp_t gfp)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, false, "kvmalloc", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_kvmalloc(mmlab_core, size, mgfp, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kvmalloc);

void *mmlab_kvzalloc(size_t size, gfp_t gfp)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, false, "kvzalloc", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_kvmalloc(mmlab_core, size, mgfp | MMLAB___GFP_ZERO, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kvzalloc);

void *mmlab_kvmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, false, "kvmalloc_array", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_kvmalloc_array(mmlab_core, n, size, mgfp, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kvmalloc_array);

void *mmlab_kvcalloc(size_t n, size_t size, gfp_t gfp)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp, false, "kvcalloc", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_kvmalloc_array(mmlab_core, n, size, mgfp | MMLAB___GFP_ZERO, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kvcalloc);

void mmlab_kvfree(const void *addr)
{
	mmlab_core_kvfree(mmlab_core, addr, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_kvfree);

/* ---- vmalloc ---------------------------------------------------------------------------- */

void *mmlab_vmalloc(unsigned long size)
{
	return mmlab_core_vmalloc(mmlab_core, size, MMLAB_GFP_KERNEL, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_vmalloc);

void *mmlab_vzalloc(unsigned long size)
{
	return mmlab_core_vmalloc(mmlab_core, size, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_vzalloc);

void mmlab_vfree(const void *addr)
{
	mmlab_core_vfree(mmlab_core, addr, _RET_IP_);
}
EXPORT_SYMBOL_GPL(mmlab_vfree);

bool mmlab_is_vmalloc_addr(const void *x)
{
	return mmlab_core_is_vmalloc_addr(mmlab_core, x);
}
EXPORT_SYMBOL_GPL(mmlab_is_vmalloc_addr);

struct mmlab_page *mmlab_vmalloc_to_page(const void *addr)
{
	return mmlab_core_vmalloc_to_page(mmlab_core, addr);
}
EXPORT_SYMBOL_GPL(mmlab_vmalloc_to_page);

/* ---- mempools ---------------------------------------------------------------------------- */

struct mmlab_api_pool {
	struct list_head node;		/* on mmlab_api_pools */
	struct mmlab_mempool *pool;	/* the core's pool, NULL until created */
	mmlab_mempool_alloc_t *alloc_fn;
	mmlab_mempool_free_t *free_fn;	/* NULL: defused at module exit, leak instead */
	void *pool_data;
	unsigned long caller;
	bool destroyed;			/* destroy said EBUSY: the core keeps the pool */
};

static DEFINE_MUTEX(mmlab_api_pools_lock);
static LIST_HEAD(mmlab_api_pools);

static void *mmlab_api_pool_alloc(mmlab_gfp_t gfp, void *data)
{
	struct mmlab_api_pool *ap = data;

	return ap->alloc_fn(mmlab_gfp_to_kernel(gfp), ap->pool_data);
}

static void mmlab_api_pool_free(void *element, void *data)
{
	struct mmlab_api_pool *ap = data;

	if (ap->free_fn)
		ap->free_fn(element, ap->pool_data);
}

/* The pool's name in the mempools view: the creating function's symbol. */
static void mmlab_api_pool_name(unsigned long caller, char *buf, size_t size)
{
	char *p;

	snprintf(buf, size, "%ps", (void *)caller);
	for (p = buf; *p; p++) {
		if (*p == ' ' || *p == '+') {
			*p = '\0';
			break;
		}
		if (!isalnum(*p) && *p != '_' && *p != '-' && *p != '.')
			*p = '_';
	}
	if (!*buf)
		strscpy(buf, "mempool", size);
}

static bool mmlab_min_nr_ok(int min_nr, unsigned long caller)
{
	if (min_nr >= 0)
		return true;
	pr_warn("mempool_create from %pS: min_nr %d refused (EINVAL)\n", (void *)caller, min_nr);
	return false;
}

mmlab_mempool_t *mmlab_mempool_create(int min_nr, mmlab_mempool_alloc_t *alloc_fn,
				      mmlab_mempool_free_t *free_fn, void *pool_data)
{
	char name[MMLAB_MEMPOOL_NAME_MAX];
	struct mmlab_api_pool *ap;
	enum mmlab_status st;

	if (!mmlab_min_nr_ok(min_nr, _RET_IP_))
		return NULL;
	if (!alloc_fn || !free_fn) {
		pr_warn("mempool_create from %pS: alloc_fn and free_fn are required (EINVAL)\n",
			(void *)_RET_IP_);
		return NULL;
	}
	ap = kzalloc(sizeof(*ap), GFP_KERNEL);
	if (!ap)
		return NULL;
	ap->alloc_fn = alloc_fn;
	ap->free_fn = free_fn;
	ap->pool_data = pool_data;
	ap->caller = _RET_IP_;
	mmlab_api_pool_name(_RET_IP_, name, sizeof(name));
	/* Listed before the core can call back, so exit finds it in any case. */
	mutex_lock(&mmlab_api_pools_lock);
	list_add(&ap->node, &mmlab_api_pools);
	mutex_unlock(&mmlab_api_pools_lock);
	st = mmlab_core_mempool_create(mmlab_core, name, min_nr, mmlab_api_pool_alloc,
				       mmlab_api_pool_free, ap, &ap->pool);
	if (st != MMLAB_OK) {
		mutex_lock(&mmlab_api_pools_lock);
		list_del(&ap->node);
		mutex_unlock(&mmlab_api_pools_lock);
		kfree(ap);
		return NULL;
	}
	return ap->pool;
}
EXPORT_SYMBOL_GPL(mmlab_mempool_create);

mmlab_mempool_t *mmlab_mempool_create_slab_pool(int min_nr, struct mmlab_kmem_cache *kc)
{
	char name[MMLAB_MEMPOOL_NAME_MAX];
	struct mmlab_mempool *pool;

	if (!mmlab_min_nr_ok(min_nr, _RET_IP_))
		return NULL;
	mmlab_api_pool_name(_RET_IP_, name, sizeof(name));
	if (mmlab_core_mempool_create_slab_pool(mmlab_core, name, min_nr, kc, &pool) != MMLAB_OK)
		return NULL;
	return pool;
}
EXPORT_SYMBOL_GPL(mmlab_mempool_create_slab_pool);

mmlab_mempool_t *mmlab_mempool_create_kmalloc_pool(int min_nr, size_t size)
{
	char name[MMLAB_MEMPOOL_NAME_MAX];
	struct mmlab_mempool *pool;

	if (!mmlab_min_nr_ok(min_nr, _RET_IP_))
		return NULL;
	mmlab_api_pool_name(_RET_IP_, name, sizeof(name));
	if (mmlab_core_mempool_create_kmalloc_pool(mmlab_core, name, min_nr, size, &pool) !=
	    MMLAB_OK)
		return NULL;
	return pool;
}
EXPORT_SYMBOL_GPL(mmlab_mempool_create_kmalloc_pool);

mmlab_mempool_t *mmlab_mempool_create_page_pool(int min_nr, int order)
{
	char name[MMLAB_MEMPOOL_NAME_MAX];
	struct mmlab_mempool *pool;

	if (!mmlab_min_nr_ok(min_nr, _RET_IP_))
		return NULL;
	if (order < 0) {
		pr_warn("mempool_create_page_pool from %pS: order %d refused (EINVAL)\n",
			(void *)_RET_IP_, order);
		return NULL;
	}
	mmlab_api_pool_name(_RET_IP_, name, sizeof(name));
	if (mmlab_core_mempool_create_page_pool(mmlab_core, name, min_nr, order, &pool) !=
	    MMLAB_OK)
		return NULL;
	return pool;
}
EXPORT_SYMBOL_GPL(mmlab_mempool_create_page_pool);

void *mmlab_mempool_alloc(mmlab_mempool_t *pool, gfp_t gfp_mask)
{
	mmlab_gfp_t mgfp;

	if (!mmlab_gfp(gfp_mask, false, "mempool_alloc", _RET_IP_, &mgfp))
		return NULL;
	return mmlab_core_mempool_alloc(pool, mgfp);
}
EXPORT_SYMBOL_GPL(mmlab_mempool_alloc);

void mmlab_mempool_free(void *element, mmlab_mempool_t *pool)
{
	if (element)
		mmlab_core_mempool_free(pool, element);
}
EXPORT_SYMBOL_GPL(mmlab_mempool_free);

int mmlab_mempool_resize(mmlab_mempool_t *pool, int new_min_nr)
{
	if (new_min_nr <= 0)
		return -EINVAL;
	return mmlab_status_to_errno(mmlab_core_mempool_resize(pool, new_min_nr));
}
EXPORT_SYMBOL_GPL(mmlab_mempool_resize);

void mmlab_mempool_destroy(mmlab_mempool_t *pool)
{
	struct mmlab_api_pool *ap, *found = NULL;

	if (!pool)
		return;
	mutex_lock(&mmlab_api_pools_lock);
	list_for_each_entry(ap, &mmlab_api_pools, node) {
		if (ap->pool == pool && !ap->destroyed) {
			found = ap;
			break;
		}
	}
	mutex_unlock(&mmlab_api_pools_lock);
	/*
	 * The reserve goes back through the trampoline, so it is freed only
	 * after. With elements still out (EBUSY) the core keeps the pool, and
	 * their late frees still go through it: it stays listed until exit.
	 */
	if (mmlab_core_mempool_destroy(pool) == MMLAB_EBUSY) {
		if (found)
			found->destroyed = true;
		return;
	}
	if (found) {
		mutex_lock(&mmlab_api_pools_lock);
		list_del(&found->node);
		mutex_unlock(&mmlab_api_pools_lock);
		kfree(found);
	}
}
EXPORT_SYMBOL_GPL(mmlab_mempool_destroy);

/*
 * mmlab_api_exit - before the core goes: a pool a client created with its
 * own functions and never destroyed would have the core call into the
 * client's (unloaded) free_fn. Report it and leak its elements instead.
 */
void mmlab_api_exit(void)
{
	struct mmlab_api_pool *ap;

	mutex_lock(&mmlab_api_pools_lock);
	list_for_each_entry(ap, &mmlab_api_pools, node) {
		if (!ap->destroyed)
			pr_err("unload: mempool created by %pS was never destroyed; its elements are leaked\n",
			       (void *)ap->caller);
		ap->free_fn = NULL;
	}
	mutex_unlock(&mmlab_api_pools_lock);
}

/* After the core is gone: nothing can call a trampoline any more. */
void mmlab_api_free_all(void)
{
	struct mmlab_api_pool *ap, *next;

	mutex_lock(&mmlab_api_pools_lock);
	list_for_each_entry_safe(ap, next, &mmlab_api_pools, node) {
		list_del(&ap->node);
		kfree(ap);
	}
	mutex_unlock(&mmlab_api_pools_lock);
}
