// SPDX-License-Identifier: GPL-2.0
/*
 * bench.c - mmlab's page allocator against the host's, in the same boot.
 *
 * A benchmark, not a test: it reports numbers and never fails on speed.
 * `echo run > /sys/kernel/debug/mmlab/bench` measures, `cat bench` shows the
 * last table. Method (docs/benchmarks.md):
 *  - each case is a batch of operations timed with ktime_get_ns() as a
 *    whole, with preemption off around the batch, minus the time of the
 *    same loop doing nothing (the empty-loop baseline);
 *  - mmlab and the host alternate batch by batch (A B A B ...), so drift in
 *    the machine hits both alike; at least 7 runs, minimum and median;
 *  - both sides allocate with GFP_NOWAIT | __GFP_NOWARN: preemption is off,
 *    so neither may sleep, and the fast paths (per-CPU lists) are compared;
 *  - one untimed warm-up batch per case fills both sides' lists first.
 * Under QEMU's TCG the absolute times are distorted; run under -icount
 * shift=0 (make bench does both) and each guest nanosecond is one guest
 * instruction, so the same table reads as instructions per operation.
 *
 * A second table does the same for everything above the page allocator,
 * per object (or per vmalloc call): kmem_cache alloc+free against a host
 * cache created with the same size and alignment, n allocations then n
 * frees, kmem_cache_alloc_bulk on both sides, every kmalloc class, a
 * mempool's backing path and its reserve path (the backing allocator fails,
 * on both sides), and vmalloc+vfree. vmalloc may sleep, so its rows run
 * with preemption on and GFP_KERNEL; every other row as above.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/ktime.h>
#include <linux/mempool.h>
#include <linux/mm.h>
#include <linux/preempt.h>
#include <linux/seq_buf.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <linux/vmalloc.h>

#include "mmlab.h"

#define MMLAB_BENCH_MAX_RUNS	31
#define MMLAB_BENCH_MAX_BATCH	128
#define MMLAB_BENCH_OPS		2048	/* pages per timed batch */
#define MMLAB_BENCH_TEXT_MAX	(4 * PAGE_SIZE)

enum mmlab_bench_side { MMLAB_SIDE_MMLAB, MMLAB_SIDE_HOST, MMLAB_SIDE_HOST_BULK };

struct mmlab_bench_case {
	const char *name;
	unsigned int order;
	unsigned int batch;	/* 1: alloc then free at once; n: n allocs, then n frees */
	bool host_bulk;		/* also time the host's bulk API */
};

static const struct mmlab_bench_case mmlab_bench_cases[] = {
	{ "order-0 alloc+free",		0, 1,	false },
	{ "order-1 alloc+free",		1, 1,	false },
	{ "order-2 alloc+free",		2, 1,	false },
	{ "order-3 alloc+free",		3, 1,	false },
	{ "order-0 batch 8",		0, 8,	true },
	{ "order-0 batch 32",		0, 32,	true },
	{ "order-0 batch 128",		0, 128,	true },
};
#define MMLAB_BENCH_NR_CASES ARRAY_SIZE(mmlab_bench_cases)

struct mmlab_bench_result {
	/* picoseconds per page, per run; U64_MAX marks a failed batch */
	u64 ps[3][MMLAB_BENCH_MAX_RUNS];
};

static DEFINE_MUTEX(mmlab_bench_lock);
static char *mmlab_bench_text;	/* last table, under mmlab_bench_lock */

/* One batch of alloc/free on one side; returns nanoseconds, or U64_MAX. */
static u64 mmlab_bench_batch(const struct mmlab_bench_case *c,
			     enum mmlab_bench_side side, void **slots,
			     bool empty)
{
	const gfp_t hgfp = GFP_NOWAIT | __GFP_NOWARN;
	const mmlab_gfp_t mgfp = MMLAB_GFP_NOWAIT | MMLAB___GFP_NOWARN;
	unsigned int rounds = MMLAB_BENCH_OPS / c->batch;
	unsigned int r, i, got;
	bool failed = false;
	u64 t0, t1;

	preempt_disable();
	t0 = ktime_get_ns();
	for (r = 0; r < rounds; r++) {
		if (empty) {
			for (i = 0; i < c->batch; i++)
				OPTIMIZER_HIDE_VAR(slots[i]);
			for (i = 0; i < c->batch; i++)
				OPTIMIZER_HIDE_VAR(slots[i]);
			continue;
		}
		got = 0;
		switch (side) {
		case MMLAB_SIDE_MMLAB:
			for (; got < c->batch; got++) {
				slots[got] = mmlab_core_alloc_pages(mmlab_core, mgfp, c->order);
				if (!slots[got])
					break;
			}
			for (i = 0; i < got; i++)
				mmlab_core___free_pages(mmlab_core, slots[i], c->order);
			break;
		case MMLAB_SIDE_HOST:
			for (; got < c->batch; got++) {
				slots[got] = alloc_pages(hgfp, c->order);
				if (!slots[got])
					break;
			}
			for (i = 0; i < got; i++)
				__free_pages(slots[i], c->order);
			break;
		case MMLAB_SIDE_HOST_BULK:
			memset(slots, 0, c->batch * sizeof(*slots));
			got = alloc_pages_bulk_array(hgfp, c->batch,
						     (struct page **)slots);
			for (i = 0; i < got; i++)
				__free_page(slots[i]);
			break;
		}
		if (got != c->batch)
			failed = true;
	}
	t1 = ktime_get_ns();
	preempt_enable();
	return failed ? U64_MAX : t1 - t0;
}

static u64 mmlab_bench_ps_per_page(u64 ns, u64 baseline)
{
	if (ns == U64_MAX)
		return U64_MAX;
	ns = ns > baseline ? ns - baseline : 0;
	return div_u64(ns * 1000, MMLAB_BENCH_OPS);
}

static int mmlab_bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Minimum and median of the successful runs; false if none succeeded. */
static bool mmlab_bench_min_median(u64 *v, unsigned int runs, u64 *min, u64 *med)
{
	unsigned int ok = 0;

	sort(v, runs, sizeof(*v), mmlab_bench_cmp_u64, NULL);
	while (ok < runs && v[ok] != U64_MAX)
		ok++;
	if (!ok)
		return false;
	*min = v[0];
	*med = ok & 1 ? v[ok / 2] : (v[ok / 2 - 1] + v[ok / 2]) / 2;
	return true;
}

static void mmlab_bench_print_ns(struct seq_buf *s, bool ok, u64 ps)
{
	if (ok)
		seq_buf_printf(s, " %9llu.%02llu", ps / 1000, (ps % 1000) / 10);
	else
		seq_buf_printf(s, " %12s", "failed");
}

static void mmlab_bench_render(struct seq_buf *s, struct mmlab_bench_result *res,
			       unsigned int runs)
{
	unsigned int k;

	seq_buf_printf(s, "# mmlab bench: %u runs, mmlab and host interleaved, %d pages per timed batch\n",
		       runs, MMLAB_BENCH_OPS);
	seq_buf_printf(s, "# GFP_NOWAIT, preemption off, empty-loop baseline subtracted; ns per page (alloc + free)\n");
	seq_buf_printf(s, "# kernel %s, online CPUs: %u\n", utsname()->release, num_online_cpus());
	seq_buf_printf(s, "%-22s %12s %12s %12s %12s %8s %12s %8s\n", "case",
		       "mmlab_min", "mmlab_med", "host_min", "host_med", "ratio",
		       "bulk_med", "ratio_b");
	for (k = 0; k < MMLAB_BENCH_NR_CASES; k++) {
		const struct mmlab_bench_case *c = &mmlab_bench_cases[k];
		u64 mmin = 0, mmed = 0, hmin = 0, hmed = 0, bmin = 0, bmed = 0;
		bool m_ok, h_ok, b_ok = false;

		m_ok = mmlab_bench_min_median(res[k].ps[MMLAB_SIDE_MMLAB], runs, &mmin, &mmed);
		h_ok = mmlab_bench_min_median(res[k].ps[MMLAB_SIDE_HOST], runs, &hmin, &hmed);
		if (c->host_bulk)
			b_ok = mmlab_bench_min_median(res[k].ps[MMLAB_SIDE_HOST_BULK],
						      runs, &bmin, &bmed);
		seq_buf_printf(s, "%-22s", c->name);
		mmlab_bench_print_ns(s, m_ok, mmin);
		mmlab_bench_print_ns(s, m_ok, mmed);
		mmlab_bench_print_ns(s, h_ok, hmin);
		mmlab_bench_print_ns(s, h_ok, hmed);
		if (m_ok && h_ok && hmed)
			seq_buf_printf(s, " %5llu.%02llu", div64_u64(mmed, hmed),
				       div64_u64(mmed * 100, hmed) % 100);
		else
			seq_buf_printf(s, " %8s", "-");
		if (c->host_bulk) {
			mmlab_bench_print_ns(s, b_ok, bmed);
			if (m_ok && b_ok && bmed)
				seq_buf_printf(s, " %5llu.%02llu", div64_u64(mmed, bmed),
					       div64_u64(mmed * 100, bmed) % 100);
			else
				seq_buf_printf(s, " %8s", "-");
		} else {
			seq_buf_printf(s, " %12s %8s", "-", "-");
		}
		seq_buf_printf(s, "\n");
	}
}


/* ---- above the page allocator ------------------------------------------------ */

enum mmlab_obench_kind {
	MMLAB_OB_CACHE,		/* kmem_cache_alloc + free, batch n */
	MMLAB_OB_BULK,		/* kmem_cache_alloc_bulk + free_bulk of n */
	MMLAB_OB_KMALLOC,	/* kmalloc(size) + kfree */
	MMLAB_OB_POOL,		/* mempool_alloc + free, backing path */
	MMLAB_OB_POOL_RESERVE,	/* ... the backing fails: reserve path */
	MMLAB_OB_VMALLOC,	/* vmalloc(n pages) + vfree; may sleep */
};

struct mmlab_obench_case {
	char name[24];
	enum mmlab_obench_kind kind;
	unsigned int size;	/* object bytes; cache rows: the cache's */
	unsigned int n;		/* batch or bulk size; vmalloc: pages */
};

#define MMLAB_OBENCH_OPS	2048	/* objects per timed batch */
#define MMLAB_OBENCH_VPAGES	2048	/* vmalloc: pages per timed batch (>= 2 calls) */
#define MMLAB_OBENCH_MAX_N	1024
#define MMLAB_OBENCH_CACHES	3
#define MMLAB_OBENCH_POOL_MIN	4
#define MMLAB_OBENCH_POOL_SIZE	256

static const unsigned int mmlab_obench_cache_size[MMLAB_OBENCH_CACHES] = { 64, 256, 4096 };
static const unsigned int mmlab_obench_kmalloc_size[] = {
	8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
};

/* The rows, built once per run (names are formatted). */
static unsigned int mmlab_obench_cases(struct mmlab_obench_case *c, unsigned int cap)
{
	unsigned int k = 0, i, n;

#define ADD(kind_, size_, n_, fmt, ...) do {					\
		if (k < cap) {							\
			c[k].kind = kind_;					\
			c[k].size = size_;					\
			c[k].n = n_;						\
			snprintf(c[k].name, sizeof(c[k].name), fmt, ##__VA_ARGS__); \
			k++;							\
		}								\
	} while (0)
	for (i = 0; i < MMLAB_OBENCH_CACHES; i++)
		ADD(MMLAB_OB_CACHE, mmlab_obench_cache_size[i], 1, "cache-%u alloc+free",
		    mmlab_obench_cache_size[i]);
	for (n = 2; n <= MMLAB_OBENCH_MAX_N; n *= 2)
		ADD(MMLAB_OB_CACHE, 256, n, "cache-256 batch %u", n);
	for (n = 8; n <= 128; n *= 2)
		ADD(MMLAB_OB_BULK, 256, n, "cache-256 bulk %u", n);
	for (i = 0; i < ARRAY_SIZE(mmlab_obench_kmalloc_size); i++)
		ADD(MMLAB_OB_KMALLOC, mmlab_obench_kmalloc_size[i], 1, "kmalloc-%u",
		    mmlab_obench_kmalloc_size[i]);
	ADD(MMLAB_OB_POOL, MMLAB_OBENCH_POOL_SIZE, 1, "mempool backing");
	ADD(MMLAB_OB_POOL_RESERVE, MMLAB_OBENCH_POOL_SIZE, 1, "mempool reserve");
	for (n = 1; n <= 1024; n *= 2)
		ADD(MMLAB_OB_VMALLOC, 0, n, "vmalloc %u pages", n);
#undef ADD
	return k;
}
#define MMLAB_OBENCH_MAX_CASES	48

/* Backing allocators of the reserve-path pools: they fail once told to. */
struct mmlab_obench_backing {
	bool fail;
};

static void *mmlab_obench_mmlab_alloc(mmlab_gfp_t gfp, void *data)
{
	struct mmlab_obench_backing *b = data;

	if (READ_ONCE(b->fail))
		return NULL;
	return mmlab_core_kmalloc(mmlab_core, MMLAB_OBENCH_POOL_SIZE, gfp, _THIS_IP_);
}

static void mmlab_obench_mmlab_free(void *element, void *data)
{
	mmlab_core_kfree(mmlab_core, element, _THIS_IP_);
}

static void *mmlab_obench_host_alloc(gfp_t gfp, void *data)
{
	struct mmlab_obench_backing *b = data;

	if (READ_ONCE(b->fail))
		return NULL;
	return kmalloc(MMLAB_OBENCH_POOL_SIZE, gfp);
}

static void mmlab_obench_host_free(void *element, void *data)
{
	kfree(element);
}

struct mmlab_obench_ctx {
	struct mmlab_kmem_cache *mcache[MMLAB_OBENCH_CACHES];
	struct kmem_cache *hcache[MMLAB_OBENCH_CACHES];
	struct mmlab_mempool *mpool, *mpool_res;
	mempool_t *hpool, *hpool_res;
	struct mmlab_obench_backing mback, hback;
	void **slots;			/* MMLAB_OBENCH_MAX_N */
};

static unsigned int mmlab_obench_cache_index(unsigned int size)
{
	unsigned int i;

	for (i = 0; i < MMLAB_OBENCH_CACHES; i++)
		if (mmlab_obench_cache_size[i] == size)
			break;
	return i;
}

static void mmlab_obench_ctx_destroy(struct mmlab_obench_ctx *x)
{
	unsigned int i;

	if (x->mpool)
		mmlab_core_mempool_destroy(x->mpool);
	if (x->mpool_res)
		mmlab_core_mempool_destroy(x->mpool_res);
	mempool_destroy(x->hpool);
	mempool_destroy(x->hpool_res);
	for (i = 0; i < MMLAB_OBENCH_CACHES; i++) {
		if (x->mcache[i])
			mmlab_core_kmem_cache_destroy(x->mcache[i]);
		kmem_cache_destroy(x->hcache[i]);
	}
	kfree(x->slots);
}

/* Caches and pools for both sides; rows whose setup failed report "failed". */
static void mmlab_obench_ctx_init(struct mmlab_obench_ctx *x)
{
	char name[32];
	unsigned int i;

	memset(x, 0, sizeof(*x));
	x->slots = kcalloc(MMLAB_OBENCH_MAX_N, sizeof(*x->slots), GFP_KERNEL);
	for (i = 0; i < MMLAB_OBENCH_CACHES; i++) {
		snprintf(name, sizeof(name), "mmlab_bench_%u", mmlab_obench_cache_size[i]);
		if (mmlab_core_kmem_cache_create(mmlab_core, name, mmlab_obench_cache_size[i], 0, 0,
						 NULL, &x->mcache[i]) != MMLAB_OK)
			x->mcache[i] = NULL;
		x->hcache[i] = kmem_cache_create(name, mmlab_obench_cache_size[i], 0, 0, NULL);
	}
	if (mmlab_core_mempool_create_kmalloc_pool(mmlab_core, "mmlab_bench", MMLAB_OBENCH_POOL_MIN,
						   MMLAB_OBENCH_POOL_SIZE, &x->mpool) != MMLAB_OK)
		x->mpool = NULL;
	x->hpool = mempool_create_kmalloc_pool(MMLAB_OBENCH_POOL_MIN, MMLAB_OBENCH_POOL_SIZE);
	/* Reserve-path pools: the reserve fills at creation, then the backing fails. */
	if (mmlab_core_mempool_create(mmlab_core, "mmlab_bench_res", MMLAB_OBENCH_POOL_MIN,
				      mmlab_obench_mmlab_alloc, mmlab_obench_mmlab_free,
				      &x->mback, &x->mpool_res) != MMLAB_OK)
		x->mpool_res = NULL;
	x->hpool_res = mempool_create(MMLAB_OBENCH_POOL_MIN, mmlab_obench_host_alloc,
				      mmlab_obench_host_free, &x->hback);
	WRITE_ONCE(x->mback.fail, true);
	WRITE_ONCE(x->hback.fail, true);
}

/* Operations (objects, or vmalloc calls) in one timed batch. */
static unsigned int mmlab_obench_ops(const struct mmlab_obench_case *c)
{
	if (c->kind == MMLAB_OB_VMALLOC)
		return max(2u, MMLAB_OBENCH_VPAGES / c->n);
	return MMLAB_OBENCH_OPS;
}

/* One side's share of a batch: n allocations then n frees, or one bulk. */
static bool mmlab_obench_round(const struct mmlab_obench_case *c, struct mmlab_obench_ctx *x,
			       bool host)
{
	const gfp_t hgfp = GFP_NOWAIT | __GFP_NOWARN;
	const mmlab_gfp_t mgfp = MMLAB_GFP_NOWAIT | MMLAB___GFP_NOWARN;
	unsigned int ci = mmlab_obench_cache_index(c->size);
	void **slots = x->slots;
	unsigned int i, got = 0;

	switch (c->kind) {
	case MMLAB_OB_CACHE:
		if (host) {
			for (; got < c->n; got++) {
				slots[got] = kmem_cache_alloc(x->hcache[ci], hgfp);
				if (!slots[got])
					break;
			}
			for (i = 0; i < got; i++)
				kmem_cache_free(x->hcache[ci], slots[i]);
		} else {
			for (; got < c->n; got++) {
				slots[got] = mmlab_core_kmem_cache_alloc(x->mcache[ci], mgfp,
									 _THIS_IP_);
				if (!slots[got])
					break;
			}
			for (i = 0; i < got; i++)
				mmlab_core_kmem_cache_free(x->mcache[ci], slots[i], _THIS_IP_);
		}
		return got == c->n;
	case MMLAB_OB_BULK:
		if (host) {
			got = kmem_cache_alloc_bulk(x->hcache[ci], hgfp, c->n, slots);
			if (got)
				kmem_cache_free_bulk(x->hcache[ci], got, slots);
		} else {
			got = mmlab_core_kmem_cache_alloc_bulk(x->mcache[ci], mgfp, c->n, slots,
							       _THIS_IP_);
			if (got)
				mmlab_core_kmem_cache_free_bulk(x->mcache[ci], got, slots,
								_THIS_IP_);
		}
		return got == c->n;
	case MMLAB_OB_KMALLOC:
		if (host) {
			slots[0] = kmalloc(c->size, hgfp);
			kfree(slots[0]);
		} else {
			slots[0] = mmlab_core_kmalloc(mmlab_core, c->size, mgfp, _THIS_IP_);
			mmlab_core_kfree(mmlab_core, slots[0], _THIS_IP_);
		}
		return slots[0];
	case MMLAB_OB_POOL:
	case MMLAB_OB_POOL_RESERVE:
		if (host) {
			mempool_t *pool = c->kind == MMLAB_OB_POOL ? x->hpool : x->hpool_res;

			slots[0] = mempool_alloc(pool, hgfp);
			if (slots[0])
				mempool_free(slots[0], pool);
		} else {
			struct mmlab_mempool *pool = c->kind == MMLAB_OB_POOL ? x->mpool :
										 x->mpool_res;

			slots[0] = mmlab_core_mempool_alloc(pool, mgfp);
			if (slots[0])
				mmlab_core_mempool_free(pool, slots[0]);
		}
		return slots[0];
	case MMLAB_OB_VMALLOC:
		if (host) {
			slots[0] = vmalloc(c->n << PAGE_SHIFT);
			vfree(slots[0]);
		} else {
			slots[0] = mmlab_core_vmalloc(mmlab_core, c->n << PAGE_SHIFT,
						      MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN,
						      _THIS_IP_);
			mmlab_core_vfree(mmlab_core, slots[0], _THIS_IP_);
		}
		return slots[0];
	}
	return false;
}

/* Can this side run the case at all (its cache or pool exists)? */
static bool mmlab_obench_ready(const struct mmlab_obench_case *c, struct mmlab_obench_ctx *x,
			       bool host)
{
	unsigned int ci = mmlab_obench_cache_index(c->size);

	if (!x->slots)
		return false;
	switch (c->kind) {
	case MMLAB_OB_CACHE:
	case MMLAB_OB_BULK:
		return ci < MMLAB_OBENCH_CACHES && (host ? !!x->hcache[ci] : !!x->mcache[ci]);
	case MMLAB_OB_POOL:
		return host ? !!x->hpool : !!x->mpool;
	case MMLAB_OB_POOL_RESERVE:
		return host ? !!x->hpool_res : !!x->mpool_res;
	default:
		return true;
	}
}

/* One timed batch of a case on one side: nanoseconds, or U64_MAX. */
static u64 mmlab_obench_batch(const struct mmlab_obench_case *c, struct mmlab_obench_ctx *x,
			      bool host, bool empty)
{
	bool sleeps = c->kind == MMLAB_OB_VMALLOC;
	unsigned int per = (c->kind == MMLAB_OB_CACHE || c->kind == MMLAB_OB_BULK) ? c->n : 1;
	unsigned int rounds = max(1u, mmlab_obench_ops(c) / per), r;
	bool failed = false;
	u64 t0, t1;

	if (!mmlab_obench_ready(c, x, host))
		return U64_MAX;
	if (!sleeps)
		preempt_disable();
	t0 = ktime_get_ns();
	for (r = 0; r < rounds; r++) {
		if (empty) {
			OPTIMIZER_HIDE_VAR(x->slots[0]);
			continue;
		}
		if (!mmlab_obench_round(c, x, host))
			failed = true;
	}
	t1 = ktime_get_ns();
	if (!sleeps)
		preempt_enable();
	return failed ? U64_MAX : t1 - t0;
}

struct mmlab_obench_result {
	u64 ps[2][MMLAB_BENCH_MAX_RUNS];	/* picoseconds per operation */
};

static u64 mmlab_obench_ps(const struct mmlab_obench_case *c, u64 ns, u64 baseline)
{
	unsigned int per = (c->kind == MMLAB_OB_CACHE || c->kind == MMLAB_OB_BULK) ? c->n : 1;
	unsigned int ops = max(1u, mmlab_obench_ops(c) / per) * per;

	if (ns == U64_MAX)
		return U64_MAX;
	ns = ns > baseline ? ns - baseline : 0;
	return div_u64(ns * 1000, ops);
}

static void mmlab_obench_render(struct seq_buf *s, const struct mmlab_obench_case *cases,
				unsigned int nr, struct mmlab_obench_result *res,
				unsigned int runs)
{
	unsigned int k;

	seq_buf_printf(s, "\n# above the page allocator: ns per object (alloc + free); vmalloc rows: per vmalloc + vfree\n");
	seq_buf_printf(s, "# GFP_NOWAIT with preemption off, except vmalloc (GFP_KERNEL, preemptible); %d objects per timed batch\n",
		       MMLAB_OBENCH_OPS);
	seq_buf_printf(s, "%-22s %12s %12s %12s %12s %8s\n", "case", "mmlab_min", "mmlab_med",
		       "host_min", "host_med", "ratio");
	for (k = 0; k < nr; k++) {
		u64 mmin = 0, mmed = 0, hmin = 0, hmed = 0;
		bool m_ok, h_ok;

		m_ok = mmlab_bench_min_median(res[k].ps[0], runs, &mmin, &mmed);
		h_ok = mmlab_bench_min_median(res[k].ps[1], runs, &hmin, &hmed);
		seq_buf_printf(s, "%-22s", cases[k].name);
		mmlab_bench_print_ns(s, m_ok, mmin);
		mmlab_bench_print_ns(s, m_ok, mmed);
		mmlab_bench_print_ns(s, h_ok, hmin);
		mmlab_bench_print_ns(s, h_ok, hmed);
		if (m_ok && h_ok && hmed)
			seq_buf_printf(s, " %5llu.%02llu", div64_u64(mmed, hmed),
				       div64_u64(mmed * 100, hmed) % 100);
		else
			seq_buf_printf(s, " %8s", "-");
		seq_buf_printf(s, "\n");
	}
}

/* Every object row, @runs times, mmlab and host interleaved. */
static void mmlab_obench_run(struct seq_buf *s, unsigned int runs)
{
	struct mmlab_obench_case *cases;
	struct mmlab_obench_result *res;
	struct mmlab_obench_ctx x;
	unsigned int nr, k, r;
	int host;

	cases = kcalloc(MMLAB_OBENCH_MAX_CASES, sizeof(*cases), GFP_KERNEL);
	res = kvcalloc(MMLAB_OBENCH_MAX_CASES, sizeof(*res), GFP_KERNEL);
	if (!cases || !res) {
		seq_buf_printf(s, "\n# object benchmark: out of memory\n");
		goto out;
	}
	nr = mmlab_obench_cases(cases, MMLAB_OBENCH_MAX_CASES);
	mmlab_obench_ctx_init(&x);
	for (k = 0; k < nr; k++) {
		const struct mmlab_obench_case *c = &cases[k];

		pr_info("bench: %s (%u runs)\n", c->name, runs);
		for (host = 0; host < 2; host++)	/* warm-up, untimed */
			mmlab_obench_batch(c, &x, host, false);
		for (r = 0; r < runs; r++) {
			for (host = 0; host < 2; host++) {
				u64 base = mmlab_obench_batch(c, &x, host, true);
				u64 ns = mmlab_obench_batch(c, &x, host, false);

				res[k].ps[host][r] = mmlab_obench_ps(c, ns, base);
				cond_resched();
			}
		}
	}
	mmlab_obench_ctx_destroy(&x);
	mmlab_obench_render(s, cases, nr, res, runs);
out:
	kfree(cases);
	kvfree(res);
}

/**
 * mmlab_bench_run - run every case @runs times, A/B interleaved, and keep
 * the table for mmlab_bench_show(). Sleeps between batches; prints progress.
 */
int mmlab_bench_run(unsigned int runs)
{
	struct mmlab_bench_result *res;
	struct seq_buf s;
	void **slots;
	char *text;
	unsigned int k, r;
	int side;

	if (runs < 1 || runs > MMLAB_BENCH_MAX_RUNS) {
		pr_warn_ratelimited("bench: runs=%u refused (1..%d)\n", runs, MMLAB_BENCH_MAX_RUNS);
		return -EINVAL;
	}
	res = kvcalloc(MMLAB_BENCH_NR_CASES, sizeof(*res), GFP_KERNEL);
	slots = kcalloc(MMLAB_BENCH_MAX_BATCH, sizeof(*slots), GFP_KERNEL);
	text = kvzalloc(MMLAB_BENCH_TEXT_MAX, GFP_KERNEL);
	if (!res || !slots || !text) {
		kvfree(res);
		kfree(slots);
		kvfree(text);
		return -ENOMEM;
	}

	for (k = 0; k < MMLAB_BENCH_NR_CASES; k++) {
		const struct mmlab_bench_case *c = &mmlab_bench_cases[k];
		int nsides = c->host_bulk ? 3 : 2;

		pr_info("bench: %s (%u runs)\n", c->name, runs);
		for (side = 0; side < nsides; side++)	/* warm-up, untimed */
			mmlab_bench_batch(c, side, slots, false);
		for (r = 0; r < runs; r++) {
			for (side = 0; side < nsides; side++) {
				u64 base = mmlab_bench_batch(c, side, slots, true);
				u64 ns = mmlab_bench_batch(c, side, slots, false);

				res[k].ps[side][r] = mmlab_bench_ps_per_page(ns, base);
				cond_resched();
			}
		}
	}

	seq_buf_init(&s, text, MMLAB_BENCH_TEXT_MAX);
	mmlab_bench_render(&s, res, runs);
	mmlab_obench_run(&s, runs);
	mutex_lock(&mmlab_bench_lock);
	kvfree(mmlab_bench_text);
	mmlab_bench_text = text;
	mutex_unlock(&mmlab_bench_lock);

	kvfree(res);
	kfree(slots);
	pr_info("bench: done\n");
	return 0;
}

int mmlab_bench_show(struct seq_file *m)
{
	mutex_lock(&mmlab_bench_lock);
	if (mmlab_bench_text)
		seq_puts(m, mmlab_bench_text);
	else
		seq_puts(m, "# no results yet: echo run > bench\n");
	mutex_unlock(&mmlab_bench_lock);
	return 0;
}

void mmlab_bench_exit(void)
{
	mutex_lock(&mmlab_bench_lock);
	kvfree(mmlab_bench_text);
	mmlab_bench_text = NULL;
	mutex_unlock(&mmlab_bench_lock);
}
