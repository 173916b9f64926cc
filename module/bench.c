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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/preempt.h>
#include <linux/seq_buf.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/utsname.h>

#include "mmlab.h"

#define MMLAB_BENCH_MAX_RUNS	31
#define MMLAB_BENCH_MAX_BATCH	128
#define MMLAB_BENCH_OPS		2048	/* pages per timed batch */

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
		pr_warn("bench: runs=%u refused (1..%d)\n", runs, MMLAB_BENCH_MAX_RUNS);
		return -EINVAL;
	}
	res = kvcalloc(MMLAB_BENCH_NR_CASES, sizeof(*res), GFP_KERNEL);
	slots = kcalloc(MMLAB_BENCH_MAX_BATCH, sizeof(*slots), GFP_KERNEL);
	text = kvzalloc(PAGE_SIZE, GFP_KERNEL);
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

	seq_buf_init(&s, text, PAGE_SIZE);
	mmlab_bench_render(&s, res, runs);
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
