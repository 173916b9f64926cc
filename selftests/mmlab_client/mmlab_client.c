// SPDX-License-Identifier: GPL-2.0
/*
 * mmlab_client - an out-of-tree module that uses mmlab's exported API the way
 * any other module would: only <mmlab/mmlab.h>, linked against mmlab's
 * Module.symvers. Its init runs every exported function with real checks
 * (contents, zeroing, alignment, constructor counts, krealloc preservation,
 * bulk, the mempool guarantee, vmalloc across pages, both kvmalloc paths)
 * and reports like a kselftest module (kselftest_module.h): "all N tests
 * passed", or "failed F out of N tests" and -EINVAL from insmod.
 *
 * Everything is allocated and freed inside init; the module holds nothing
 * once loaded, so rmmod is immediate and mmlab's unload accounting still
 * has to come out even.
 *
 * With stress_seconds=N it runs the stress mode instead (see below; the
 * stress program selftests/mmlab_stress loads it that way, docs/stress.md).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sizes.h>
#include <linux/string.h>

#include <mmlab/mmlab.h>

#include "kselftest_module.h"

KSTM_MODULE_GLOBALS();

/* One counted check; on failure also says what was seen. */
#define CHECK(cond, fmt, ...) do {						\
		bool __ok = (cond);						\
		if (!__ok)							\
			pr_warn("check failed: %s: " fmt "\n", #cond, ##__VA_ARGS__); \
		KSTM_CHECK_ZERO(!__ok);						\
	} while (0)

/* First offset in [p, p + len) whose byte is not @c, or -1. */
static long first_not(const void *p, size_t len, u8 c)
{
	const u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return i;
	return -1;
}

/* A pattern that differs from page to page and byte to byte. */
static u8 pat(size_t i)
{
	return (u8)(i * 7 + (i >> 12) * 13 + 1);
}

static void __init fill_pat(void *p, size_t len)
{
	u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = pat(i);
}

static long __init check_pat(const void *p, size_t len)
{
	const u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != pat(i))
			return i;
	return -1;
}

static unsigned long __init pfn_of(const void *p)
{
	return PHYS_PFN(virt_to_phys((void *)p));
}

/* ---- page allocator ----------------------------------------------------------- */

static void __init test_pages(void)
{
	struct mmlab_page *pg;
	unsigned long addr;
	unsigned int order;
	void *va;

	for (order = 0; order <= 3; order++) {
		pg = mmlab_alloc_pages(GFP_KERNEL, order);
		CHECK(pg, "order %u", order);
		if (!pg)
			continue;
		va = mmlab_page_address(pg);
		CHECK(va && IS_ALIGNED((unsigned long)va, PAGE_SIZE << order),
		      "order %u: offset %#lx in its block", order,
		      (unsigned long)va & ((PAGE_SIZE << order) - 1));
		if (!va)
			continue;
		CHECK(mmlab_virt_to_page(va) == pg, "order %u", order);
		CHECK(mmlab_page_to_pfn(pg) == pfn_of(va), "pfn %#lx, direct map says %#lx",
		      mmlab_page_to_pfn(pg), pfn_of(va));
		fill_pat(va, PAGE_SIZE << order);
		CHECK(check_pat(va, PAGE_SIZE << order) < 0, "order %u", order);
		/* The last page of the block is the block's last pfn. */
		CHECK(mmlab_page_to_pfn(mmlab_virt_to_page(va + (PAGE_SIZE << order) - 1)) ==
		      mmlab_page_to_pfn(pg) + (1ul << order) - 1, "order %u", order);
		mmlab___free_pages(pg, order);
	}

	addr = mmlab___get_free_pages(GFP_KERNEL, 2);
	CHECK(addr && IS_ALIGNED(addr, PAGE_SIZE), "%#lx", addr);
	if (addr) {
		memset((void *)addr, 0xa5, 4 * PAGE_SIZE);
		CHECK(mmlab_virt_to_page((void *)addr) != NULL, "");
		mmlab_free_pages(addr, 2);
	}
	/* A dirtied page comes back zeroed through get_zeroed_page. */
	addr = mmlab___get_free_pages(GFP_KERNEL, 0);
	if (addr) {
		memset((void *)addr, 0xa5, PAGE_SIZE);
		mmlab_free_pages(addr, 0);
	}
	addr = mmlab_get_zeroed_page(GFP_KERNEL);
	CHECK(addr, "");
	if (addr) {
		CHECK(first_not((void *)addr, PAGE_SIZE, 0) < 0, "byte %ld",
		      first_not((void *)addr, PAGE_SIZE, 0));
		mmlab_free_pages(addr, 0);
	}
	/* Atomic context is allowed without sleeping. */
	pg = mmlab_alloc_pages(GFP_ATOMIC, 0);
	CHECK(pg, "GFP_ATOMIC");
	mmlab___free_pages(pg, 0);
	/* DMA32: below 4 GiB. */
	pg = mmlab_alloc_pages(GFP_KERNEL | __GFP_DMA32, 0);
	CHECK(pg && mmlab_page_to_pfn(pg) < PHYS_PFN(SZ_4G), "");
	mmlab___free_pages(pg, 0);
	/* Highmem is served from Normal; ZONE_DMA does not exist. */
	pg = mmlab_alloc_pages(GFP_HIGHUSER, 0);
	CHECK(pg, "GFP_HIGHUSER");
	mmlab___free_pages(pg, 0);
	pg = mmlab_alloc_pages(GFP_KERNEL | __GFP_DMA | __GFP_NOWARN, 0);
	CHECK(!pg, "__GFP_DMA must be refused");
	mmlab___free_pages(pg, 0);
	CHECK(mmlab_virt_to_page(&total_tests) == NULL, "a module variable is not mmlab's");
	mmlab___free_pages(NULL, 0);
	mmlab_free_pages(0, 0);
}

/* ---- slab caches -------------------------------------------------------------- */

#define CTOR_BYTE 0x5a
static atomic_t ctor_calls = ATOMIC_INIT(0);

static void client_ctor(void *obj)
{
	memset(obj, CTOR_BYTE, 48);
	atomic_inc(&ctor_calls);
}

#define NOBJ 100

static void __init test_cache_ctor(void)
{
	static void *objs[NOBJ] __initdata;
	struct mmlab_kmem_cache *s;
	int i, calls, bad = 0, dup = 0;

	s = mmlab_kmem_cache_create("client_ctor", 48, 0, 0, client_ctor);
	CHECK(s, "");
	if (!s)
		return;
	CHECK(mmlab_kmem_cache_size(s) == 48, "%u", mmlab_kmem_cache_size(s));
	for (i = 0; i < NOBJ; i++) {
		objs[i] = mmlab_kmem_cache_alloc(s, GFP_KERNEL);
		if (!objs[i] || first_not(objs[i], 48, CTOR_BYTE) >= 0 ||
		    !IS_ALIGNED((unsigned long)objs[i], 8))
			bad++;
		if (i && objs[i] == objs[i - 1])
			dup++;
	}
	CHECK(!bad && !dup, "%d objects bad, %d repeated", bad, dup);
	calls = atomic_read(&ctor_calls);
	CHECK(calls >= NOBJ, "%d ctor calls for %d objects", calls, NOBJ);
	/* Dirty them, free, allocate again: no more ctor calls (once per object). */
	for (i = 0; i < NOBJ; i++) {
		if (objs[i])
			memset(objs[i], CTOR_BYTE, 48);
		mmlab_kmem_cache_free(s, objs[i]);
	}
	for (i = 0; i < NOBJ; i++)
		objs[i] = mmlab_kmem_cache_alloc(s, GFP_KERNEL);
	CHECK(atomic_read(&ctor_calls) == calls, "%d ctor calls after reuse, %d before",
	      atomic_read(&ctor_calls), calls);
	for (i = 0; i < NOBJ; i++)
		mmlab_kmem_cache_free(s, objs[i]);
	CHECK(mmlab_kmem_cache_shrink(s) == 0, "");
	mmlab_kmem_cache_destroy(s);
}

struct client_cache_case {
	unsigned int size, align;
	slab_flags_t flags;
	unsigned int want;	/* alignment every object must have */
};

static void __init test_cache_align(void)
{
	static const struct client_cache_case c[] __initconst = {
		{ 40, 0, SLAB_HWCACHE_ALIGN, 64 },
		{ 100, 256, 0, 256 },
		{ 24, 8, SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT, 8 },
		{ 4096, 0, 0, 8 },
	};
	unsigned int k;
	int i;

	for (k = 0; k < ARRAY_SIZE(c); k++) {
		struct mmlab_kmem_cache *s;
		void *o[8];
		int bad = 0;

		s = mmlab_kmem_cache_create("client_align", c[k].size, c[k].align, c[k].flags,
					    NULL);
		CHECK(s, "size %u align %u", c[k].size, c[k].align);
		if (!s)
			continue;
		for (i = 0; i < 8; i++) {
			o[i] = mmlab_kmem_cache_alloc(s, GFP_KERNEL);
			if (!o[i] || !IS_ALIGNED((unsigned long)o[i], c[k].want))
				bad++;
			else
				memset(o[i], 0xee, c[k].size);
		}
		CHECK(!bad, "size %u align %u: %d objects misaligned or missing", c[k].size,
		      c[k].align, bad);
		/* zalloc zeroes an object that was dirty when freed. */
		mmlab_kmem_cache_free(s, o[7]);
		o[7] = mmlab_kmem_cache_zalloc(s, GFP_KERNEL);
		CHECK(o[7] && first_not(o[7], c[k].size, 0) < 0, "size %u", c[k].size);
		for (i = 0; i < 8; i++)
			mmlab_kmem_cache_free(s, o[i]);
		mmlab_kmem_cache_destroy(s);
	}
}

static void __init test_cache_misc(void)
{
	static void *objs[128] __initdata;
	struct mmlab_kmem_cache *s;
	int i, got, bad = 0;

	/* Bulk: all or nothing, distinct objects. */
	s = mmlab_kmem_cache_create("client_bulk", 256, 0, 0, NULL);
	CHECK(s, "");
	if (s) {
		got = mmlab_kmem_cache_alloc_bulk(s, GFP_KERNEL, 128, objs);
		CHECK(got == 128, "%d", got);
		for (i = 0; i < got; i++) {
			if (!objs[i] || (i && objs[i] == objs[i - 1]))
				bad++;
			else
				memset(objs[i], i, 256);
		}
		for (i = 0; i < got; i++)
			if (objs[i] && first_not(objs[i], 256, i) >= 0)
				bad++;
		CHECK(!bad, "%d bulk objects bad or overlapping", bad);
		if (got > 0)
			mmlab_kmem_cache_free_bulk(s, got, objs);
		got = mmlab_kmem_cache_alloc_bulk(s, GFP_ATOMIC, 8, objs);
		CHECK(got == 8, "GFP_ATOMIC bulk: %d", got);
		if (got > 0)
			mmlab_kmem_cache_free_bulk(s, got, objs);
		mmlab_kmem_cache_destroy(s);
	}

	/* A DMA32 cache's objects sit below 4 GiB. */
	s = mmlab_kmem_cache_create("client_dma32", 64, 0, SLAB_CACHE_DMA32, NULL);
	CHECK(s, "");
	if (s) {
		void *o = mmlab_kmem_cache_alloc(s, GFP_KERNEL);

		CHECK(o && virt_to_phys(o) < SZ_4G, "");
		mmlab_kmem_cache_free(s, o);
		mmlab_kmem_cache_destroy(s);
	}
	/* SLUB's debug flags turn on mmlab's own checks (docs/debugging.md). */
	s = mmlab_kmem_cache_create("client_dbg", 64, 0,
				    SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON |
				    SLAB_STORE_USER, NULL);
	CHECK(s, "SLAB_POISON|SLAB_RED_ZONE|SLAB_STORE_USER must be accepted");
	if (s) {
		unsigned char *o = mmlab_kmem_cache_alloc(s, GFP_KERNEL);

		CHECK(o && o[0] == 0x6b && o[63] == 0xa5, "a new object holds POISON_FREE");
		mmlab_kmem_cache_free(s, o);
		mmlab_kmem_cache_destroy(s);
	}
	/* Flags mmlab does not implement are refused, not ignored. */
	s = mmlab_kmem_cache_create("client_bad", 64, 0, SLAB_TYPESAFE_BY_RCU, NULL);
	CHECK(!s, "SLAB_TYPESAFE_BY_RCU must be refused");
	mmlab_kmem_cache_destroy(s);
	s = mmlab_kmem_cache_create("client_bad", 0, 0, 0, NULL);
	CHECK(!s, "size 0 must be refused");
	mmlab_kmem_cache_destroy(NULL);
}

/* ---- kmalloc ------------------------------------------------------------------ */

static void __init test_kmalloc(void)
{
	size_t size, ks;
	void *p, *q;

	for (size = 8; size <= 8192; size *= 2) {
		p = mmlab_kmalloc(size, GFP_KERNEL);
		CHECK(p, "size %zu", size);
		if (!p)
			continue;
		ks = mmlab_ksize(p);
		CHECK(ks >= size, "size %zu ksize %zu", size, ks);
		/* Power-of-two sizes are naturally aligned (Linux guarantees it). */
		CHECK(IS_ALIGNED((unsigned long)p, min_t(size_t, size, PAGE_SIZE)),
		      "size %zu at offset %#lx", size,
		      (unsigned long)p & (min_t(size_t, size, PAGE_SIZE) - 1));
		memset(p, 0x77, ks);
		mmlab_kfree(p);
		/* Same class again, zeroed this time. */
		p = mmlab_kzalloc(size, GFP_KERNEL);
		CHECK(p && first_not(p, size, 0) < 0, "kzalloc %zu: byte %ld", size,
		      p ? first_not(p, size, 0) : -2);
		mmlab_kfree(p);
	}
	/* Odd sizes round up to a class: 96 and 192 exist. */
	p = mmlab_kmalloc(65, GFP_KERNEL);
	CHECK(p && mmlab_ksize(p) == 96, "ksize(65-byte object) %zu", p ? mmlab_ksize(p) : 0);
	mmlab_kfree(p);
	p = mmlab_kmalloc(129, GFP_ATOMIC);
	CHECK(p && mmlab_ksize(p) == 192, "ksize(129-byte object) %zu", p ? mmlab_ksize(p) : 0);
	mmlab_kfree(p);
	/* Above the largest class: whole pages. */
	p = mmlab_kmalloc(20000, GFP_KERNEL);
	CHECK(p && mmlab_ksize(p) >= 20000 && IS_ALIGNED((unsigned long)p, PAGE_SIZE),
	      "ksize %zu", p ? mmlab_ksize(p) : 0);
	if (p) {
		fill_pat(p, 20000);
		CHECK(check_pat(p, 20000) < 0, "");
	}
	mmlab_kfree(p);
	/* Size 0: ZERO_SIZE_PTR, as Linux; kfree takes it back. */
	p = mmlab_kmalloc(0, GFP_KERNEL);
	CHECK(ZERO_OR_NULL_PTR(p), "size 0 gave %p", p);
	mmlab_kfree(p);
	CHECK(mmlab_ksize(NULL) == 0, "");
	mmlab_kfree(NULL);
	CHECK(!mmlab_kmalloc(64, GFP_KERNEL | __GFP_DMA | __GFP_NOWARN), "__GFP_DMA refused");
	CHECK(!mmlab_kmalloc(64, GFP_HIGHUSER | __GFP_NOWARN), "__GFP_HIGHMEM refused");

	/* Arrays: overflow is refused; kcalloc zeroes. */
	CHECK(!mmlab_kmalloc_array(SIZE_MAX / 2, 4, GFP_KERNEL | __GFP_NOWARN), "overflow");
	CHECK(!mmlab_kcalloc(SIZE_MAX / 8, 16, GFP_KERNEL | __GFP_NOWARN), "overflow");
	p = mmlab_kmalloc_array(10, 24, GFP_KERNEL);
	CHECK(p && mmlab_ksize(p) >= 240, "");
	mmlab_kfree(p);
	p = mmlab_kcalloc(30, 32, GFP_KERNEL);
	CHECK(p && first_not(p, 960, 0) < 0, "");
	mmlab_kfree(p);

	/* krealloc keeps the contents through growth, page blocks and shrinking. */
	p = mmlab_krealloc(NULL, 40, GFP_KERNEL);
	CHECK(p, "krealloc(NULL) allocates");
	if (p) {
		fill_pat(p, 40);
		q = mmlab_krealloc(p, 300, GFP_KERNEL);
		CHECK(q && check_pat(q, 40) < 0 && mmlab_ksize(q) >= 300, "40 -> 300");
		if (q) {
			fill_pat(q, 300);
			p = q;
			q = mmlab_krealloc(p, 3000, GFP_KERNEL);
			CHECK(q && check_pat(q, 300) < 0, "300 -> 3000");
		}
		if (q) {
			fill_pat(q, 3000);
			p = q;
			q = mmlab_krealloc(p, 40000, GFP_KERNEL);
			CHECK(q && check_pat(q, 3000) < 0, "3000 -> 40000");
		}
		if (q) {
			p = q;
			q = mmlab_krealloc(p, 16, GFP_KERNEL);
			CHECK(q && check_pat(q, 16) < 0, "40000 -> 16");
		}
		if (q)
			p = q;
		/* Size 0 frees and returns NULL. */
		CHECK(mmlab_krealloc(p, 0, GFP_KERNEL) == NULL, "");
	}
}

/* ---- explain (docs/pagemap.md) ------------------------------------------------------ */

static char explain_buf[2048];

/* The answer's line for "key: ", or NULL (explain_buf holds the answer). */
static const char *explain_line(const char *key)
{
	char want[24];
	const char *p = explain_buf;

	snprintf(want, sizeof(want), "%s: ", key);
	while (p && *p) {
		if (!strncmp(p, want, strlen(want)))
			return p;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static bool explain_has(const char *key, const char *part)
{
	const char *line = explain_line(key);
	const char *end = line ? strchr(line, '\n') : NULL;
	const char *hit = line ? strstr(line, part) : NULL;

	return hit && (!end || hit < end);
}

static noinline void __init test_explain(void)
{
	struct mmlab_kmem_cache *c;
	void *k, *a, *b, *v;
	int on_stack = 0, err;

	/* kmalloc: the size class's cache and the object. */
	k = mmlab_kmalloc(40, GFP_KERNEL);
	CHECK(k, "");
	err = mmlab_explain(k, explain_buf, sizeof(explain_buf));
	CHECK(!err && explain_has("owner", "slab cache kmalloc-64 policy "), "err %d: %s", err,
	      explain_buf);
	CHECK(explain_has("object", " offset 0 size 64"), "%s", explain_buf);
	CHECK(explain_has("block", "state allocated"), "%s", explain_buf);
	CHECK(explain_line("page") && explain_line("zone") && explain_line("state"), "%s",
	      explain_buf);
	mmlab_kfree(k);

	/* A cache with owner tracking: cache, object, its offset, who allocated it. */
	c = mmlab_kmem_cache_create("client_explain", 100, 0, SLAB_STORE_USER, NULL);
	CHECK(c, "");
	if (c) {
		a = mmlab_kmem_cache_alloc(c, GFP_KERNEL);
		b = mmlab_kmem_cache_alloc(c, GFP_KERNEL);
		CHECK(a && b, "");
		if (a && b) {
			mmlab_kmem_cache_free(c, b);
			err = mmlab_explain((char *)a + 10, explain_buf, sizeof(explain_buf));
			CHECK(!err && explain_has("owner", "slab cache client_explain policy "),
			      "err %d: %s", err, explain_buf);
			CHECK(explain_has("object", " offset 10 size 100"), "%s", explain_buf);
			CHECK(explain_has("state", "allocated"), "%s", explain_buf);
			CHECK(explain_has("track", "allocated in test_explain+"), "%s", explain_buf);
			err = mmlab_explain(b, explain_buf, sizeof(explain_buf));
			CHECK(!err && explain_has("state", "free"), "err %d: %s", err, explain_buf);
			mmlab_kmem_cache_free(c, a);
		}
		mmlab_kmem_cache_destroy(c);
	}

	/* A vmalloc address: its area and the page behind it. */
	v = mmlab_vmalloc(3 * PAGE_SIZE);
	CHECK(v, "");
	if (v) {
		err = mmlab_explain((char *)v + PAGE_SIZE + 5, explain_buf, sizeof(explain_buf));
		CHECK(!err && explain_has("vmalloc", " page 1 of 3 size ") &&
		      explain_has("owner", "vmalloc area "), "err %d: %s", err, explain_buf);
		mmlab_vfree(v);
	}

	/* What mmlab does not manage, and NULL: refused, never read. */
	err = mmlab_explain(&on_stack, explain_buf, sizeof(explain_buf));
	CHECK(err == -ENOENT && explain_has("owner", "none (not an address mmlab manages)"),
	      "err %d: %s", err, explain_buf);
	CHECK(mmlab_explain(NULL, explain_buf, sizeof(explain_buf)) == -EINVAL, "");
	CHECK(mmlab_explain(&on_stack, NULL, 0) == -EINVAL, "");
	/* A short buffer is cut and terminated. */
	explain_buf[8] = 'x';
	mmlab_explain(&on_stack, explain_buf, 8);
	CHECK(strnlen(explain_buf, 8) < 8 && explain_buf[8] == 'x', "");
}

/* ---- kvmalloc and vmalloc --------------------------------------------------------- */

static void __init test_vmalloc(void)
{
	const unsigned long size = 5 * PAGE_SIZE + 123;
	unsigned long i, n = DIV_ROUND_UP(size, PAGE_SIZE);
	int bad = 0;
	u8 *p;

	p = mmlab_vmalloc(size);
	CHECK(p, "");
	if (!p)
		return;
	CHECK(mmlab_is_vmalloc_addr(p) && mmlab_is_vmalloc_addr(p + size - 1), "");
	fill_pat(p, size);
	CHECK(check_pat(p, size) < 0, "");
	/* Each page of the mapping is one of mmlab's pages with the same bytes. */
	for (i = 0; i < n; i++) {
		struct mmlab_page *pg = mmlab_vmalloc_to_page(p + i * PAGE_SIZE);
		u8 *direct = pg ? mmlab_page_address(pg) : NULL;

		if (!direct || memcmp(direct, p + i * PAGE_SIZE,
				      min(PAGE_SIZE, size - i * PAGE_SIZE)))
			bad++;
	}
	CHECK(!bad, "%d of %lu pages differ through the direct map", bad, n);
	memset(p, 0x3c, size);
	mmlab_vfree(p);
	CHECK(!mmlab_is_vmalloc_addr(p), "after vfree");

	p = mmlab_vzalloc(size);
	CHECK(p && first_not(p, size, 0) < 0, "");
	mmlab_vfree(p);
	mmlab_vfree(NULL);
	CHECK(!mmlab_vmalloc(0), "size 0");
}

static void __init test_kvmalloc(void)
{
	const size_t big = 8u << 20;	/* above the largest kmalloc (4 MiB) */
	u8 *p;

	p = mmlab_kvmalloc(200, GFP_KERNEL);
	CHECK(p && !mmlab_is_vmalloc_addr(p) && mmlab_ksize(p) >= 200, "small: kmalloc path");
	mmlab_kvfree(p);

	p = mmlab_kvmalloc(big, GFP_KERNEL);
	CHECK(p && mmlab_is_vmalloc_addr(p), "8 MiB: vmalloc path");
	if (p) {
		fill_pat(p, big);
		CHECK(check_pat(p, big) < 0, "");
	}
	mmlab_kvfree(p);

	p = mmlab_kvzalloc(3 * PAGE_SIZE, GFP_KERNEL);
	CHECK(p && first_not(p, 3 * PAGE_SIZE, 0) < 0, "");
	mmlab_kvfree(p);
	p = mmlab_kvzalloc(big, GFP_KERNEL);
	CHECK(p && mmlab_is_vmalloc_addr(p) && first_not(p, big, 0) < 0, "");
	mmlab_kvfree(p);
	p = mmlab_kvmalloc_array(100, 40, GFP_KERNEL);
	CHECK(p, "");
	mmlab_kvfree(p);
	CHECK(!mmlab_kvmalloc_array(SIZE_MAX / 4, 8, GFP_KERNEL | __GFP_NOWARN), "overflow");
	p = mmlab_kvcalloc(1000, 16, GFP_KERNEL);
	CHECK(p && first_not(p, 16000, 0) < 0, "");
	mmlab_kvfree(p);
	mmlab_kvfree(NULL);
}

/* ---- mempools ------------------------------------------------------------------- */

struct client_backing {
	bool fail;		/* the backing allocator is exhausted */
	int allocs, frees;	/* successful alloc_fn calls, free_fn calls */
	gfp_t last_gfp;
};

static void *client_pool_alloc(gfp_t gfp, void *data)
{
	struct client_backing *b = data;
	void *p;

	b->last_gfp = gfp;
	if (b->fail)
		return NULL;
	p = mmlab_kmalloc(64, gfp);
	if (p)
		b->allocs++;
	return p;
}

static void client_pool_free(void *element, void *data)
{
	struct client_backing *b = data;

	b->frees++;
	mmlab_kfree(element);
}

/* Gives an element back to its pool a little later, from a worker. */
struct client_late_free {
	struct delayed_work dw;
	mmlab_mempool_t *pool;
	void *element;
};

static void client_late_free_fn(struct work_struct *work)
{
	struct client_late_free *lf = container_of(to_delayed_work(work),
						   struct client_late_free, dw);

	mmlab_mempool_free(lf->element, lf->pool);
}

static void __init test_mempool_custom(void)
{
	struct client_late_free lf;
	unsigned long t0;
	static struct client_backing b __initdata;
	mmlab_mempool_t *pool;
	void *e[4], *x;
	int i, got = 0;

	pool = mmlab_mempool_create(3, client_pool_alloc, client_pool_free, &b);
	CHECK(pool && b.allocs == 3, "reserve of 3: %d backing allocations", b.allocs);
	if (!pool)
		return;
	/* The backing works: elements come from it. */
	x = mmlab_mempool_alloc(pool, GFP_KERNEL);
	CHECK(x && b.allocs == 4, "%d", b.allocs);
	CHECK(b.last_gfp & __GFP_NOWARN, "the backing sees gfp %pGg", &b.last_gfp);
	mmlab_mempool_free(x, pool);
	/* The backing is exhausted: the reserve answers, then atomic gets NULL. */
	b.fail = true;
	for (i = 0; i < 3; i++) {
		e[i] = mmlab_mempool_alloc(pool, GFP_ATOMIC);
		got += !!e[i];
	}
	CHECK(got == 3, "%d of 3 from the reserve", got);
	e[3] = mmlab_mempool_alloc(pool, GFP_ATOMIC);
	CHECK(!e[3], "the reserve is empty: GFP_ATOMIC must get NULL");
	CHECK(!(b.last_gfp & __GFP_DIRECT_RECLAIM), "atomic backing call had %pGg",
	      &b.last_gfp);
	/*
	 * The guarantee: with the backing and the reserve exhausted, a sleeping
	 * caller waits until an element comes back (here from a worker 50 ms
	 * later) and gets it; it never sees NULL.
	 */
	if (e[0]) {
		INIT_DELAYED_WORK_ONSTACK(&lf.dw, client_late_free_fn);
		lf.pool = pool;
		lf.element = e[0];
		t0 = jiffies;
		schedule_delayed_work(&lf.dw, msecs_to_jiffies(50));
		x = mmlab_mempool_alloc(pool, GFP_KERNEL);
		CHECK(x == e[0], "GFP_KERNEL waited %u ms and got %p, the freed element is %p",
		      jiffies_to_msecs(jiffies - t0), x, e[0]);
		CHECK(time_after_eq(jiffies, t0 + msecs_to_jiffies(40)),
		      "returned after %u ms, before the element came back",
		      jiffies_to_msecs(jiffies - t0));
		flush_delayed_work(&lf.dw);
		destroy_delayed_work_on_stack(&lf.dw);
		e[0] = x;
	}
	/* Freeing refills the reserve, and it serves again. */
	for (i = 0; i < 3; i++)
		mmlab_mempool_free(e[i], pool);
	x = mmlab_mempool_alloc(pool, GFP_NOWAIT);
	CHECK(x, "reserve refilled");
	mmlab_mempool_free(x, pool);
	mmlab_mempool_free(e[3], pool);	/* NULL: ignored */
	b.fail = false;
	CHECK(mmlab_mempool_resize(pool, 6) == 0, "grow");
	CHECK(b.allocs >= 6, "%d", b.allocs);
	CHECK(mmlab_mempool_resize(pool, 1) == 0, "shrink");
	mmlab_mempool_destroy(pool);
	/* Leak-free: everything the backing handed out came back to it. */
	CHECK(b.allocs == b.frees, "%d backing allocations, %d frees", b.allocs, b.frees);
}

static void __init test_mempool_ready_made(void)
{
	struct mmlab_kmem_cache *s;
	mmlab_mempool_t *pool;
	void *e[5];
	int i, bad = 0;

	pool = mmlab_mempool_create_kmalloc_pool(4, 200);
	CHECK(pool, "kmalloc pool");
	if (pool) {
		for (i = 0; i < 5; i++) {
			e[i] = mmlab_mempool_alloc(pool, GFP_KERNEL);
			if (!e[i] || mmlab_ksize(e[i]) < 200)
				bad++;
			else
				memset(e[i], i, 200);
		}
		CHECK(!bad, "%d", bad);
		for (i = 0; i < 5; i++)
			mmlab_mempool_free(e[i], pool);
		mmlab_mempool_destroy(pool);
	}

	pool = mmlab_mempool_create_page_pool(2, 1);
	CHECK(pool, "page pool");
	if (pool) {
		struct mmlab_page *pg = mmlab_mempool_alloc(pool, GFP_KERNEL);
		void *va = pg ? mmlab_page_address(pg) : NULL;

		CHECK(va, "");
		if (va)
			memset(va, 0x11, 2 * PAGE_SIZE);
		mmlab_mempool_free(pg, pool);
		mmlab_mempool_destroy(pool);
	}

	s = mmlab_kmem_cache_create("client_pool", 96, 0, 0, NULL);
	CHECK(s, "");
	if (s) {
		pool = mmlab_mempool_create_slab_pool(3, s);
		CHECK(pool, "slab pool");
		if (pool) {
			for (i = 0; i < 5; i++)
				e[i] = mmlab_mempool_alloc(pool, GFP_KERNEL);
			for (i = 0, bad = 0; i < 5; i++)
				bad += !e[i];
			CHECK(!bad, "%d", bad);
			for (i = 0; i < 5; i++)
				mmlab_mempool_free(e[i], pool);
			mmlab_mempool_destroy(pool);
		}
		mmlab_kmem_cache_destroy(s);
	}
	CHECK(!mmlab_mempool_create_kmalloc_pool(-1, 64), "negative min_nr");
	mmlab_mempool_destroy(NULL);
}

/* ---- stress mode (stress_seconds=N) -------------------------------------------- */

/*
 * With stress_seconds=N, init runs no functional test: it starts
 * stress_threads kernel threads (default: one per online CPU, at least 4)
 * that for N seconds mix every kind of allocation of the exported API
 * (pages, three shared slab caches one of them with a constructor, kmalloc,
 * krealloc, kvmalloc, vmalloc, a page and a kmalloc mempool) with random
 * sizes and gfp. Every object is filled with a pattern derived from its own
 * seed and checked before it is freed; a NULL is counted, not a failure
 * (fault injection or a full allocator), but a pattern that changed, a
 * constructor's bytes missing or a mempool_alloc(GFP_KERNEL) returning NULL
 * is. One line per thread and a total go to the log; the checks count as
 * tests, so insmod fails and "failed F out of N tests" is printed when one
 * fails. insmod returns when the run is over; the module holds nothing
 * afterwards.
 */
static unsigned int stress_seconds;
module_param(stress_seconds, uint, 0444);
MODULE_PARM_DESC(stress_seconds,
		 "run the in-kernel stress for this many seconds instead of the functional tests (0: off)");

static unsigned int stress_threads;
module_param(stress_threads, uint, 0444);
MODULE_PARM_DESC(stress_threads,
		 "threads of the stress mode (default: online CPUs, at least 4)");

#define STRESS_MAX_THREADS	64
#define STRESS_LIVE		48	/* objects a thread holds at most */
#define STRESS_CTOR_SIZE	320

enum stress_kind {
	SK_PAGES, SK_CACHE, SK_KMALLOC, SK_KVMALLOC, SK_VMALLOC, SK_POOL_PAGE,
	SK_POOL_KMALLOC, SK_NR
};

static const char *const stress_kind_name[SK_NR] = {
	"pages", "kmem_cache", "kmalloc", "kvmalloc", "vmalloc", "mempool_page",
	"mempool_kmalloc",
};

struct stress_obj {
	void *p;		/* NULL: slot free */
	size_t size;		/* bytes covered by the pattern */
	u32 seed;
	u8 kind, order, cache;
};

struct stress_thread {
	struct task_struct *task;
	unsigned int id;
	u32 rnd;
	struct stress_obj live[STRESS_LIVE];
	unsigned long ops[SK_NR], nulls[SK_NR], reallocs;
	unsigned long bad;	/* pattern or constructor mismatches, impossible NULLs */
	unsigned int pool_held[2];	/* elements of the page, kmalloc pool */
};

static struct stress_thread *stress_th;
static unsigned long stress_end;	/* jiffies */
static struct mmlab_kmem_cache *stress_cache[3];
static mmlab_mempool_t *stress_pool_page, *stress_pool_kmalloc;
static const unsigned int stress_cache_size[3] = { 64, 200, STRESS_CTOR_SIZE };
static atomic_t stress_ctor_calls = ATOMIC_INIT(0);

static void stress_ctor(void *obj)
{
	memset(obj, CTOR_BYTE, STRESS_CTOR_SIZE);
	atomic_inc(&stress_ctor_calls);
}

static u32 stress_rand(struct stress_thread *t)
{
	/* xorshift32: reproducible per thread, no locking */
	t->rnd ^= t->rnd << 13;
	t->rnd ^= t->rnd >> 17;
	t->rnd ^= t->rnd << 5;
	return t->rnd;
}

static u8 stress_byte(u32 seed, size_t i)
{
	return (u8)(seed + i * 31 + (i >> 9) * 7);
}

static void stress_fill(void *p, size_t len, u32 seed)
{
	u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = stress_byte(seed, i);
}

static long stress_verify(const void *p, size_t len, u32 seed)
{
	const u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != stress_byte(seed, i))
			return i;
	return -1;
}

/* @pages: __GFP_DMA32 too (kmalloc and caches warn about it, as Linux does). */
static gfp_t stress_gfp(struct stress_thread *t, bool pages)
{
	static const gfp_t g[] = {
		GFP_KERNEL, GFP_KERNEL, GFP_KERNEL | __GFP_NORETRY, GFP_ATOMIC,
		GFP_NOWAIT, GFP_KERNEL | __GFP_DMA32,
	};

	return g[stress_rand(t) % (ARRAY_SIZE(g) - !pages)] | __GFP_NOWARN;
}

static void stress_bad(struct stress_thread *t, struct stress_obj *o, long off, const char *what)
{
	t->bad++;
	pr_err("stress: thread %u: %s of a %s object of %zu bytes at offset %ld\n",
	       t->id, what, stress_kind_name[o->kind], o->size, off);
}

static void stress_free(struct stress_thread *t, struct stress_obj *o)
{
	long off = stress_verify(o->p, o->size, o->seed);

	if (off >= 0)
		stress_bad(t, o, off, "pattern changed");
	switch (o->kind) {
	case SK_PAGES:
		mmlab___free_pages(mmlab_virt_to_page(o->p), o->order);
		break;
	case SK_CACHE:
		if (o->cache == 2)	/* give it back constructed */
			memset(o->p, CTOR_BYTE, STRESS_CTOR_SIZE);
		mmlab_kmem_cache_free(stress_cache[o->cache], o->p);
		break;
	case SK_KMALLOC:
		mmlab_kfree(o->p);
		break;
	case SK_KVMALLOC:
		mmlab_kvfree(o->p);
		break;
	case SK_VMALLOC:
		mmlab_vfree(o->p);
		break;
	case SK_POOL_PAGE:
		mmlab_mempool_free(mmlab_virt_to_page(o->p), stress_pool_page);
		t->pool_held[0]--;
		break;
	case SK_POOL_KMALLOC:
		mmlab_mempool_free(o->p, stress_pool_kmalloc);
		t->pool_held[1]--;
		break;
	}
	o->p = NULL;
}

static void stress_alloc(struct stress_thread *t, struct stress_obj *o)
{
	u32 r = stress_rand(t);
	gfp_t gfp;
	struct mmlab_page *pg;
	long off;

	o->kind = r % SK_NR;
	o->seed = stress_rand(t);
	gfp = stress_gfp(t, o->kind == SK_PAGES);
	o->p = NULL;
	switch (o->kind) {
	case SK_PAGES:
		o->order = (r >> 8) % 4;
		pg = mmlab_alloc_pages(gfp, o->order);
		o->p = pg ? mmlab_page_address(pg) : NULL;
		o->size = PAGE_SIZE << o->order;
		break;
	case SK_CACHE:
		o->cache = (r >> 8) % 3;
		o->size = stress_cache_size[o->cache];
		o->p = mmlab_kmem_cache_alloc(stress_cache[o->cache], gfp);
		if (o->p && o->cache == 2) {
			off = first_not(o->p, STRESS_CTOR_SIZE, CTOR_BYTE);
			if (off >= 0)
				stress_bad(t, o, off, "constructor's bytes missing");
		}
		break;
	case SK_KMALLOC:
		o->size = 1 + (stress_rand(t) % ((r & 0x100) ? 256 : 12000));
		o->p = mmlab_kmalloc(o->size, gfp);
		if (o->p && mmlab_ksize(o->p) < o->size) {
			stress_bad(t, o, mmlab_ksize(o->p), "ksize below the size");
			o->size = mmlab_ksize(o->p);
		}
		break;
	case SK_KVMALLOC:
		/* kvmalloc and vmalloc may sleep: GFP_KERNEL only */
		o->size = 1 + stress_rand(t) % (5 * PAGE_SIZE);
		o->p = mmlab_kvmalloc(o->size, GFP_KERNEL | __GFP_NOWARN);
		break;
	case SK_VMALLOC:
		o->size = 1 + stress_rand(t) % (16 * PAGE_SIZE);
		o->p = mmlab_vmalloc(o->size);
		break;
	case SK_POOL_PAGE:
	case SK_POOL_KMALLOC:
		/*
		 * A sleeping mempool_alloc() never fails: it waits for an
		 * element to come back. Only a thread that holds none of the
		 * pool's elements may sleep (the rule mempool users follow),
		 * or all threads could wait for each other.
		 */
		if (t->pool_held[o->kind == SK_POOL_KMALLOC])
			gfp = GFP_NOWAIT | __GFP_NOWARN;
		if (o->kind == SK_POOL_PAGE) {
			o->size = PAGE_SIZE;
			pg = mmlab_mempool_alloc(stress_pool_page, gfp);
			o->p = pg ? mmlab_page_address(pg) : NULL;
		} else {
			o->size = 128;
			o->p = mmlab_mempool_alloc(stress_pool_kmalloc, gfp);
		}
		if (!o->p && (gfp & __GFP_DIRECT_RECLAIM))
			stress_bad(t, o, -1, "NULL from a sleeping mempool_alloc");
		if (o->p)
			t->pool_held[o->kind == SK_POOL_KMALLOC]++;
		break;
	}
	t->ops[o->kind]++;
	if (!o->p) {
		t->nulls[o->kind]++;
		return;
	}
	stress_fill(o->p, o->size, o->seed);
}

/* krealloc of a live kmalloc object: the common prefix must survive. */
static void stress_realloc(struct stress_thread *t, struct stress_obj *o)
{
	size_t nsize = 1 + stress_rand(t) % 9000, keep = min(nsize, o->size);
	long off = stress_verify(o->p, o->size, o->seed);
	void *q;

	if (off >= 0)
		stress_bad(t, o, off, "pattern changed before krealloc");
	q = mmlab_krealloc(o->p, nsize, GFP_KERNEL | __GFP_NOWARN);
	t->reallocs++;
	if (!q)		/* the old object is untouched */
		return;
	off = stress_verify(q, keep, o->seed);
	if (off >= 0)
		stress_bad(t, o, off, "krealloc lost the contents");
	o->p = q;
	o->size = nsize;
	stress_fill(q, nsize, o->seed);
}

static int stress_fn(void *arg)
{
	struct stress_thread *t = arg;
	unsigned long end = stress_end;
	struct stress_obj *o;
	unsigned int i;

	while (!kthread_should_stop() && time_before(jiffies, end)) {
		o = &t->live[stress_rand(t) % STRESS_LIVE];
		if (!o->p)
			stress_alloc(t, o);
		else if (o->kind == SK_KMALLOC && !(stress_rand(t) % 4))
			stress_realloc(t, o);
		else
			stress_free(t, o);
		cond_resched();
	}
	for (i = 0; i < STRESS_LIVE; i++)
		if (t->live[i].p)
			stress_free(t, &t->live[i]);
	/* kthread_stop() collects the thread; wait for it */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule_timeout(HZ / 10);
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

static void __init stress(void)
{
	unsigned long ops = 0, nulls = 0, bad = 0, per[SK_NR] = { 0 }, pnull[SK_NR] = { 0 };
	unsigned int n = stress_threads, i, k, started = 0;
	static const char *const names[3] = { "client_stress64", "client_stress200",
					      "client_stress_ctor" };

	if (!n)
		n = max(4u, num_online_cpus());
	n = min(n, (unsigned int)STRESS_MAX_THREADS);
	pr_info("stress: %u threads for %u s\n", n, stress_seconds);
	stress_end = jiffies + stress_seconds * HZ;

	/*
	 * With fault injection on, creating a cache or filling a pool's
	 * reserve may fail: try again a few times before calling it a failure.
	 */
	for (i = 0; i < 3; i++) {
		for (k = 0; k < 20 && !stress_cache[i]; k++)
			stress_cache[i] = mmlab_kmem_cache_create(names[i], stress_cache_size[i], 0,
								  i == 1 ? SLAB_HWCACHE_ALIGN : 0,
								  i == 2 ? stress_ctor : NULL);
		CHECK(stress_cache[i], "cache %s", names[i]);
	}
	for (k = 0; k < 20 && !stress_pool_page; k++)
		stress_pool_page = mmlab_mempool_create_page_pool(4, 0);
	CHECK(stress_pool_page, "page pool");
	for (k = 0; k < 20 && !stress_pool_kmalloc; k++)
		stress_pool_kmalloc = mmlab_mempool_create_kmalloc_pool(n * 2, 128);
	CHECK(stress_pool_kmalloc, "kmalloc pool");
	stress_th = kcalloc(n, sizeof(*stress_th), GFP_KERNEL);
	CHECK(stress_th, "");
	if (!stress_th || !stress_cache[0] || !stress_cache[1] || !stress_cache[2] ||
	    !stress_pool_page || !stress_pool_kmalloc)
		goto out;

	for (i = 0; i < n; i++) {
		stress_th[i].id = i;
		stress_th[i].rnd = 0x9e3779b9u * (i + 1) ^ (u32)jiffies;
		stress_th[i].task = kthread_run(stress_fn, &stress_th[i], "mmlab_stress/%u", i);
		if (IS_ERR(stress_th[i].task)) {
			stress_th[i].task = NULL;
			break;
		}
		started++;
	}
	CHECK(started == n, "%u of %u threads started", started, n);
	/*
	 * Each thread stops by itself after stress_seconds and then waits for
	 * kthread_stop(). Sleep interruptibly meanwhile: a long uninterruptible
	 * insmod would look like a hung task.
	 */
	while (time_before(jiffies, stress_end))
		msleep_interruptible(100);
	for (i = 0; i < started; i++)
		kthread_stop(stress_th[i].task);

	for (i = 0; i < started; i++) {
		struct stress_thread *t = &stress_th[i];
		unsigned long tops = t->reallocs, tnull = 0;

		for (k = 0; k < SK_NR; k++) {
			tops += t->ops[k];
			tnull += t->nulls[k];
			per[k] += t->ops[k];
			pnull[k] += t->nulls[k];
		}
		pr_info("stress: thread %u: %lu ops, %lu NULL, %lu krealloc, %lu bad\n",
			i, tops, tnull, t->reallocs, t->bad);
		CHECK(t->bad == 0, "thread %u: %lu bad objects", i, t->bad);
		CHECK(tops > 0, "thread %u did nothing", i);
		ops += tops;
		nulls += tnull;
		bad += t->bad;
	}
	for (k = 0; k < SK_NR; k++)
		pr_info("stress: %-15s %8lu ops %6lu NULL\n", stress_kind_name[k], per[k], pnull[k]);
	pr_info("stress: total %lu ops, %lu NULL, %lu bad, %d constructor calls\n",
		ops, nulls, bad, atomic_read(&stress_ctor_calls));
out:
	mmlab_mempool_destroy(stress_pool_kmalloc);
	mmlab_mempool_destroy(stress_pool_page);
	for (i = 0; i < 3; i++)
		if (stress_cache[i])
			mmlab_kmem_cache_destroy(stress_cache[i]);
	kfree(stress_th);
	stress_pool_kmalloc = stress_pool_page = NULL;
	memset(stress_cache, 0, sizeof(stress_cache));
	stress_th = NULL;
}

static void __init selftest(void)
{
	if (stress_seconds) {
		stress();
		return;
	}
	test_pages();
	test_cache_ctor();
	test_cache_align();
	test_cache_misc();
	test_kmalloc();
	test_vmalloc();
	test_kvmalloc();
	test_mempool_custom();
	test_mempool_ready_made();
	test_explain();
}

KSTM_MODULE_LOADERS(mmlab_client);
MODULE_AUTHOR("mmlab developers");
MODULE_DESCRIPTION("Test client of mmlab's exported API");
MODULE_LICENSE("GPL");
