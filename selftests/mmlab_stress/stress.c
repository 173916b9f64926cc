// SPDX-License-Identifier: GPL-2.0
/*
 * mmlab_stress - a time-bounded stress of every mmlab layer at once, with
 * fault injection on. docs/stress.md describes it; in short:
 *
 *   - control workers (one per CPU): random mixes of alloc/free of every
 *     order and gfp (GFP_ATOMIC/GFP_NOWAIT also with context=irqoff and
 *     context=timer, DMA32), slab caches (create, alloc, bulk, free,
 *     shrink, destroy, one with a constructor), kmalloc/kmalloc_array/
 *     krealloc/kfree, kvmalloc, vmalloc/vzalloc, mempools (page, kmalloc
 *     and slab pools: create, alloc, free, resize, destroy); every object
 *     is filled with obj_fill and checked with obj_check before it is freed
 *   - a tuning worker: pressure consume/release, drain, shrink, pcp
 *     high/batch, kswapd, and the invariant checker (check) while the
 *     others run
 *   - /dev/mmlab workers (half as many): open, SET_SIZE, mmap MAP_SHARED
 *     or MAP_PRIVATE, touch and verify contents, fork (the child verifies,
 *     writes; shared writes must reach the parent, private ones must not),
 *     munmap and map again, PUNCH, shrink and grow, close; SIGBUS is caught
 *   - a client worker: insmod mmlab_client.ko stress_seconds=N (its
 *     kernel threads mix the exported API: pages, kmem_cache, kmalloc,
 *     krealloc, kvmalloc, vmalloc, mempools) and rmmod, in a loop
 *   - the main thread: a progress line every 5 s and the kernel log read
 *     all along
 *
 * Expected failures (ENOMEM, a SIGBUS from an injected fault, NULL in the
 * client) are counted, not errors. Errors: an unexpected errno or result,
 * a content mismatch, a check that fails, a client run that fails, an
 * error-level line from mmlab or any kernel report (BUG:, WARNING:, Bad
 * page, lockdep, KASAN, ...), anything left over after the final cleanup.
 * Output: kselftest TAP, one test per layer plus the end checks.
 *
 * usage: mmlab_stress [-d SECONDS] [-s SEED] [-p PERCENT] [-w WORKERS]
 * environment: MMLAB_STRESS_SECONDS, MMLAB_STRESS_SEED,
 *              MMLAB_STRESS_FAIL_PERCENT, MMLAB_STRESS_WORKERS,
 *              MMLAB_CLIENT (default /lib/mmlab/mmlab_client.ko),
 *              MMLAB_DEBUGFS (default /sys/kernel/debug/mmlab)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mmlab/mmdev.h>

#include "kselftest.h"
#include "mmlab_helpers.h"

/* ---- configuration, counters, errors ------------------------------------------ */

static unsigned int opt_seconds = 60;
static uint64_t opt_seed;
static unsigned int opt_fail_percent = 2;
static unsigned int opt_workers;	/* control workers; 0: one per CPU, >= 4 */
static const char *opt_client = "/lib/mmlab/mmlab_client.ko";

static atomic_int stop;
static struct timespec t0;

enum kind {
	K_PAGE, K_SLAB, K_KMALLOC, K_VMALLOC, K_MEMPOOL, K_TUNE, K_MMDEV, K_CLIENT, K_NR
};

static const char *const kind_name[K_NR] = {
	"page", "slab", "kmalloc", "vmalloc", "mempool", "tune", "mmdev", "client",
};

static struct {
	atomic_ulong ops, nomem, errors;
} cnt[K_NR];

/* /dev/mmlab specifics */
static atomic_ulong mm_touches, mm_sigbus, mm_forks, mm_punches, mm_resizes, mm_maps,
	mm_faults, mm_fault_failures, mm_regions;
/* The client's own totals, from its log lines. */
static atomic_ulong cl_runs, cl_ops, cl_nulls, cl_bad;
static atomic_ulong kernel_reports;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static double elapsed(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* An error: counted for its kind; the first 30 are shown. */
static void error(enum kind k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error(enum kind k, const char *fmt, ...)
{
	unsigned long n = atomic_fetch_add(&cnt[k].errors, 1);
	static atomic_ulong shown;
	char msg[1024];
	va_list ap;

	if (atomic_fetch_add(&shown, 1) >= 30)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("# [%6.1fs] ERROR %s #%lu: %s\n", elapsed(), kind_name[k], n + 1, msg);
}

/* xorshift64*: one generator per thread, seeded from the run's seed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static unsigned int rndn(uint64_t *s, unsigned int n)
{
	return n ? (unsigned int)(rnd(s) % n) : 0;
}

static uint64_t thread_seed(unsigned int idx)
{
	uint64_t s = opt_seed ^ (0x9e3779b97f4a7c15ull * (idx + 1));

	return s ? s : 1;
}

/* ---- fault injection (docs/debugfs.md, "fail/") ------------------------------- */

static const char *const fail_sites[] = { "chunk", "buddy", "slab", "mempool", "mmdev_fault" };
#define NR_SITES (sizeof(fail_sites) / sizeof(fail_sites[0]))
static int fail_available;

static int write_attr(const char *site, const char *attr, const char *val)
{
	char path[512];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/fail/%s/%s", mmlab_dir(), site, attr);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno ? -errno : -EIO;
	close(fd);
	return ret;
}

/*
 * Turn every site on with the kernel's fault-inject attributes: probability
 * in percent, every call a candidate (interval 1), no limit (times -1), no
 * messages (verbose 0: verbose 1 would print a stack trace per failure),
 * and the run's seed so that a site's sequence of decisions is repeatable.
 * Returns the number of sites set up.
 */
static unsigned int fail_setup(unsigned int percent)
{
	char path[512], seed[32], prob[16];
	unsigned int i, n = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/fail", mmlab_dir());
	if (access(path, F_OK))
		return 0;
	fail_available = 1;
	snprintf(prob, sizeof(prob), "%u", percent);
	for (i = 0; i < NR_SITES; i++) {
		snprintf(seed, sizeof(seed), "%" PRIu64, opt_seed + i);
		/* The seed is optional in the contract: tolerate its absence. */
		(void)write_attr(fail_sites[i], "seed", seed);
		/*
		 * failslab and fail_page_alloc skip sleeping requests and
		 * order 0 by default; the stress wants those failing too.
		 */
		(void)write_attr(fail_sites[i], "ignore-gfp-wait", "N");
		(void)write_attr(fail_sites[i], "min-order", "0");
		ret = write_attr(fail_sites[i], "verbose", "0");
		ret = ret ?: write_attr(fail_sites[i], "interval", "1");
		ret = ret ?: write_attr(fail_sites[i], "times", "-1");
		ret = ret ?: write_attr(fail_sites[i], "space", "0");
		ret = ret ?: write_attr(fail_sites[i], "probability", prob);
		if (ret)
			say("# fault injection: site %s: %s\n", fail_sites[i], strerror(-ret));
		else
			n++;
	}
	return n;
}

/* Failures injected so far, all sites (the optional 'injected' counters). */
static unsigned long fail_injected(void)
{
	char name[128], buf[64];
	unsigned long sum = 0;
	unsigned int i;

	if (!fail_available)
		return 0;
	for (i = 0; i < NR_SITES; i++) {
		snprintf(name, sizeof(name), "fail/%s/injected", fail_sites[i]);
		if (mmlab_read_file(name, buf, sizeof(buf)) > 0)
			sum += strtoul(buf, NULL, 10);
	}
	return sum;
}

static void fail_off(void)
{
	unsigned int i;

	if (!fail_available)
		return;
	for (i = 0; i < NR_SITES; i++)
		(void)write_attr(fail_sites[i], "probability", "0");
}

/* ---- the kernel log ------------------------------------------------------------- */

/*
 * Kernel reports that fail the run wherever they come from, and any
 * error-level (or worse) line from mmlab or its client: mmlab logs
 * errors only for real trouble (checker violations, leaks, a host that
 * misbehaves).
 */
static const char *const report_patterns[] = {
	"BUG:", "WARNING:", "Bad page", "kernel BUG at", "Oops", "general protection",
	"KASAN", "UBSAN", "kmemleak", "possible circular locking", "possible recursive locking",
	"inconsistent lock state", "lockdep", "Call Trace", "sleeping function called",
	"scheduling while atomic", "blocked for more than", "detected stall", "rcu: INFO",
	"soft lockup", "hard LOCKUP", "assertion",
};

static int kmsg_fd = -1;

static void kmsg_line(int level, const char *msg)
{
	unsigned long runs = 0, ops = 0, nulls = 0, bad = 0;
	unsigned int i;
	int reported = 0;

	if (sscanf(msg, "mmlab_client: stress: total %lu ops, %lu NULL, %lu bad", &ops, &nulls,
		   &bad) == 3) {
		runs = 1;
		atomic_fetch_add(&cl_runs, runs);
		atomic_fetch_add(&cl_ops, ops);
		atomic_fetch_add(&cl_nulls, nulls);
		atomic_fetch_add(&cl_bad, bad);
	}
	for (i = 0; i < sizeof(report_patterns) / sizeof(report_patterns[0]); i++)
		if (strstr(msg, report_patterns[i]))
			reported = 1;
	if (level <= 3 && (!strncmp(msg, "mmlab: ", 7) || !strncmp(msg, "mmlab_client: ", 14)))
		reported = 1;
	if (reported) {
		unsigned long n = atomic_fetch_add(&kernel_reports, 1);

		if (n < 40)
			say("# [%6.1fs] kernel: <%d>%s\n", elapsed(), level, msg);
	}
}

/* Read every record logged since the last call. */
static void kmsg_poll(void)
{
	char rec[4096], *msg, *nl;
	ssize_t n;
	int prio;

	if (kmsg_fd < 0)
		return;
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE) {
			say("# kernel log: records lost (overwritten before they were read)\n");
			continue;
		}
		if (n <= 0)
			break;
		rec[n] = '\0';
		prio = atoi(rec);
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		kmsg_line(prio & 7, msg);
	}
}

/* ---- control workers -------------------------------------------------------------- */

#define W_BLOCKS	48
#define W_OBJS		96
#define W_CACHES	3
#define W_POOLS		3

enum okind { O_SLAB, O_KMALLOC, O_KV, O_VMALLOC, O_POOL };

struct w_obj {
	uint64_t id;
	enum okind kind;
	size_t size;
	int byte;		/* what obj_fill wrote; -1: nothing known */
	int cache, pool;	/* index into the worker's arrays */
};

struct w_cache {
	uint64_t id;
	unsigned int size;
	int ctor, pools, live;
};

struct w_pool {
	uint64_t id;
	unsigned int min_nr, out;
	size_t elem_size;
	int cache;		/* slab pool: its cache, else -1 */
	char type[8];
};

struct ctl_worker {
	unsigned int idx;
	pthread_t th;
	int fd;
	uint64_t rs;
	unsigned int chunk_order;
	char res[MMLAB_RESULT_MAX];
	char cmd[512];
	struct { uint64_t h; unsigned int order; int dma32; } blk[W_BLOCKS];
	unsigned int nblk;
	struct w_obj obj[W_OBJS];
	unsigned int nobj;
	struct w_cache cache[W_CACHES];
	unsigned int ncache;
	struct w_pool pool[W_POOLS];
	unsigned int npool;
	unsigned int names;	/* for unique cache and pool names */
};

/* One command; its result in w->res. 0 or -errno. */
static int wctl(struct ctl_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int wctl(struct ctl_worker *w, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(w->cmd, sizeof(w->cmd), fmt, ap);
	va_end(ap);
	ret = mmlab_ctl(w->fd, w->res, sizeof(w->res), "%s", w->cmd);
	return ret;
}

/* The outcome of an allocating command: 1 done, 0 ENOMEM (counted), -1 error. */
static int outcome(struct ctl_worker *w, enum kind k, int ret)
{
	atomic_fetch_add(&cnt[k].ops, 1);
	if (!ret)
		return 1;
	if (ret == -ENOMEM) {
		atomic_fetch_add(&cnt[k].nomem, 1);
		return 0;
	}
	error(k, "worker %u: '%s': %s (%s)", w->idx, w->cmd, strerror(-ret), w->res);
	return -1;
}

/* A command that must succeed. 0 or -1 (error counted). */
static int must(struct ctl_worker *w, enum kind k, int ret)
{
	atomic_fetch_add(&cnt[k].ops, 1);
	if (!ret)
		return 0;
	error(k, "worker %u: '%s': %s (%s)", w->idx, w->cmd, strerror(-ret), w->res);
	return -1;
}

struct gfpctx {
	const char *gfp, *ctx;
	int dma32, zero, sleeps;
};

/* What alloc, cache_alloc, kmalloc and mempool_alloc are asked with. */
static const struct gfpctx gfps[] = {
	{ "GFP_KERNEL", "process", 0, 0, 1 },
	{ "GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY", "process", 0, 0, 1 },
	{ "GFP_ATOMIC|__GFP_NOWARN", "irqoff", 0, 0, 0 },
	{ "GFP_ATOMIC|__GFP_NOWARN", "timer", 0, 0, 0 },
	{ "GFP_NOWAIT|__GFP_NOWARN", "process", 0, 0, 0 },
	{ "GFP_NOWAIT|__GFP_NOWARN|__GFP_ZERO", "timer", 0, 1, 0 },
	{ "GFP_KERNEL|__GFP_ZERO|__GFP_NOWARN", "process", 0, 1, 1 },
	{ "GFP_USER|__GFP_NOWARN", "process", 0, 0, 1 },
	{ "GFP_KERNEL|GFP_DMA32|__GFP_NOWARN", "process", 1, 0, 1 },
	{ "GFP_ATOMIC|GFP_DMA32|__GFP_NOWARN", "irqoff", 1, 0, 0 },
	{ "__GFP_HIGH|GFP_NOWAIT|__GFP_NOWARN", "irqoff", 0, 0, 0 },
};
#define NR_GFPS (sizeof(gfps) / sizeof(gfps[0]))

static const struct gfpctx *pick_gfp(struct ctl_worker *w, int allow_dma32, int allow_zero)
{
	const struct gfpctx *g;

	do
		g = &gfps[rndn(&w->rs, NR_GFPS)];
	while ((g->dma32 && !allow_dma32) || (g->zero && !allow_zero));
	return g;
}

/* -- pages -- */

static void op_alloc(struct ctl_worker *w)
{
	const struct gfpctx *g = pick_gfp(w, 1, 1);
	unsigned int order = rndn(&w->rs, 4) ? rndn(&w->rs, 3) : rndn(&w->rs, w->chunk_order + 1);
	struct mmlab_block b;
	int ret;

	if (w->nblk >= W_BLOCKS)
		return;
	ret = wctl(w, "alloc order=%u gfp=%s context=%s", order, g->gfp, g->ctx);
	if (outcome(w, K_PAGE, ret) <= 0)
		return;
	if (mmlab_parse_alloc(w->res, &b) || b.order != order) {
		error(K_PAGE, "'%s': result '%s'", w->cmd, w->res);
		return;
	}
	if (!mmlab_block_in_zone(&b) || (g->dma32 && strcmp(b.zone, "DMA32")))
		error(K_PAGE, "'%s': pfn 0x%" PRIx64 " zone %s is not where it should be",
		      w->cmd, b.pfn, b.zone);
	w->blk[w->nblk].h = b.handle;
	w->blk[w->nblk].order = order;
	w->blk[w->nblk].dma32 = g->dma32;
	w->nblk++;
}

static void op_free(struct ctl_worker *w)
{
	unsigned int i;
	char want[128];

	if (!w->nblk)
		return;
	i = rndn(&w->rs, w->nblk);
	if (must(w, K_PAGE, wctl(w, "free %" PRIu64, w->blk[i].h)))
		return;
	snprintf(want, sizeof(want), "freed handle %" PRIu64 " order %u", w->blk[i].h,
		 w->blk[i].order);
	if (strcmp(w->res, want))
		error(K_PAGE, "'%s': '%s', expected '%s'", w->cmd, w->res, want);
	w->blk[i] = w->blk[--w->nblk];
}

/* -- objects (any kind): fill, check, forget -- */

static enum kind okind_kind(enum okind k)
{
	switch (k) {
	case O_SLAB: return K_SLAB;
	case O_KMALLOC: return K_KMALLOC;
	case O_KV: case O_VMALLOC: return K_VMALLOC;
	case O_POOL: return K_MEMPOOL;
	}
	return K_SLAB;
}

static int obj_fill(struct ctl_worker *w, struct w_obj *o)
{
	int byte = 1 + rndn(&w->rs, 255);

	if (!o->size)
		return 0;
	if (must(w, okind_kind(o->kind), wctl(w, "obj_fill object=%" PRIu64 " byte=%d", o->id, byte)))
		return -1;
	o->byte = byte;
	return 0;
}

/* obj_check of the first len bytes against what was written. */
static void obj_verify(struct ctl_worker *w, struct w_obj *o, size_t len, const char *when)
{
	int ret;

	if (o->byte < 0 || !o->size || !len)
		return;
	ret = wctl(w, "obj_check object=%" PRIu64 " byte=%d len=%zu", o->id, o->byte, len);
	atomic_fetch_add(&cnt[okind_kind(o->kind)].ops, 1);
	if (ret)
		error(okind_kind(o->kind), "worker %u: %s: '%s': %s (%s)", w->idx, when, w->cmd,
		      strerror(-ret), w->res);
}

static struct w_obj *obj_new(struct ctl_worker *w, enum okind kind, uint64_t id, size_t size)
{
	struct w_obj *o = &w->obj[w->nobj++];

	o->id = id;
	o->kind = kind;
	o->size = size;
	o->byte = -1;
	o->cache = o->pool = -1;
	return o;
}

static void obj_forget(struct ctl_worker *w, unsigned int i)
{
	w->obj[i] = w->obj[--w->nobj];
}

/* Free object i with the command of its kind, after checking its contents. */
static void obj_free(struct ctl_worker *w, unsigned int i)
{
	static const char *const cmd[] = { "cache_free", "kfree", "kvfree", "vfree", "mempool_free" };
	struct w_obj *o = &w->obj[i];
	enum kind k = okind_kind(o->kind);

	obj_verify(w, o, o->size, "before free");
	if (o->kind == O_SLAB && w->cache[o->cache].ctor && o->size) {
		/* Objects of a constructed cache go back constructed (0xc7). */
		if (must(w, k, wctl(w, "obj_fill object=%" PRIu64 " byte=%d", o->id, 0xc7)))
			return;
	}
	if (must(w, k, wctl(w, "%s object=%" PRIu64, cmd[o->kind], o->id)))
		return;
	if (o->kind == O_SLAB)
		w->cache[o->cache].live--;
	if (o->kind == O_POOL)
		w->pool[o->pool].out--;
	obj_forget(w, i);
}

/* -- slab caches -- */

static void op_cache_create(struct ctl_worker *w)
{
	static const char *const policies[] = { "slub", "slab", "slob" };
	static const unsigned int sizes[] = { 8, 24, 64, 100, 192, 600, 1000, 3000, 5000 };
	unsigned int size = sizes[rndn(&w->rs, sizeof(sizes) / sizeof(sizes[0]))];
	/* a cache, and sometimes a second one of the size with ctor=fill */
	int ctor = !rndn(&w->rs, 3), hw = rndn(&w->rs, 2), dma = !rndn(&w->rs, 5);
	struct w_cache *c;
	uint64_t id;
	int ret;

	if (w->ncache >= W_CACHES)
		return;
	/* every slab policy (docs/slab-policies.md), side by side */
	ret = wctl(w, "cache_create name=stress%u_%u size=%u policy=%s%s%s%s%s", w->idx, w->names++,
		   size, policies[rndn(&w->rs, 3)], hw || dma ? " flags=" : "",
		   hw ? "HWCACHE_ALIGN" : "", hw && dma ? "|" : "", dma ? "DMA32" : "");
	if (outcome(w, K_SLAB, ret) <= 0)
		return;
	if (sscanf(w->res, "cache %" SCNu64 " name", &id) != 1) {
		error(K_SLAB, "'%s': result '%s'", w->cmd, w->res);
		return;
	}
	c = &w->cache[w->ncache++];
	c->id = id;
	c->size = size;
	c->ctor = 0;
	c->pools = c->live = 0;
	if (ctor && w->ncache < W_CACHES) {
		ret = wctl(w, "cache_create name=stress%u_%u size=%u ctor=fill policy=%s", w->idx,
			   w->names++, size, policies[rndn(&w->rs, 3)]);
		if (outcome(w, K_SLAB, ret) <= 0)
			return;
		if (sscanf(w->res, "cache %" SCNu64 " name", &id) != 1) {
			error(K_SLAB, "'%s': result '%s'", w->cmd, w->res);
			return;
		}
		c = &w->cache[w->ncache++];
		c->id = id;
		c->size = size;
		c->ctor = 1;
		c->pools = c->live = 0;
	}
}

static void op_cache_alloc(struct ctl_worker *w)
{
	const struct gfpctx *g;
	unsigned int ci, n, k;
	struct w_cache *c;
	struct w_obj *o;
	uint64_t id, first, last, cid, off;
	int ret;

	if (!w->ncache || w->nobj >= W_OBJS)
		return;
	ci = rndn(&w->rs, w->ncache);
	c = &w->cache[ci];
	g = pick_gfp(w, 0, !c->ctor);
	if (!rndn(&w->rs, 6) && w->nobj + 16 <= W_OBJS) {
		n = 1 + rndn(&w->rs, 16);
		ret = wctl(w, "cache_alloc_bulk cache=%" PRIu64 " count=%u gfp=%s", c->id, n,
			   g->sleeps ? g->gfp : "GFP_ATOMIC|__GFP_NOWARN");
		if (outcome(w, K_SLAB, ret) <= 0)
			return;
		if (sscanf(w->res, "objects %u first %" SCNu64 " last %" SCNu64, &k, &first,
			   &last) != 3 || k != n || last - first + 1 != n) {
			error(K_SLAB, "'%s': result '%s'", w->cmd, w->res);
			return;
		}
		for (id = first; id <= last; id++) {
			o = obj_new(w, O_SLAB, id, c->size);
			o->cache = ci;
			c->live++;
			if (c->ctor)
				o->byte = 0xc7;
			obj_verify(w, o, o->size, "constructed object from bulk");
			obj_fill(w, o);
		}
		return;
	}
	ret = wctl(w, "cache_alloc cache=%" PRIu64 " gfp=%s context=%s", c->id, g->gfp, g->ctx);
	if (outcome(w, K_SLAB, ret) <= 0)
		return;
	if (sscanf(w->res, "object %" SCNu64 " cache %" SCNu64 " pfn 0x%*x offset %" SCNu64, &id,
		   &cid, &off) != 3 || cid != c->id) {
		error(K_SLAB, "'%s': result '%s'", w->cmd, w->res);
		return;
	}
	o = obj_new(w, O_SLAB, id, c->size);
	o->cache = ci;
	c->live++;
	if (c->ctor)
		o->byte = 0xc7;
	else if (g->zero)
		o->byte = 0;
	obj_verify(w, o, o->size, c->ctor ? "constructed object" : "zeroed object");
	obj_fill(w, o);
}

static void op_cache_destroy(struct ctl_worker *w)
{
	unsigned int ci, i;
	struct w_cache *c;
	char want[64];

	if (!w->ncache)
		return;
	ci = rndn(&w->rs, w->ncache);
	c = &w->cache[ci];
	if (c->pools)
		return;
	if (!rndn(&w->rs, 2)) {
		if (!must(w, K_SLAB, wctl(w, "cache_shrink cache=%" PRIu64, c->id)) &&
		    !mmlab_match("^cache [0-9]+ shrink: [0-9]+ pages returned$", w->res))
			error(K_SLAB, "'%s': result '%s'", w->cmd, w->res);
		return;
	}
	for (i = w->nobj; i-- > 0;)
		if (w->obj[i].kind == O_SLAB && w->obj[i].cache == (int)ci)
			obj_free(w, i);
	if (c->live)
		return;		/* a free failed: already an error */
	if (must(w, K_SLAB, wctl(w, "cache_destroy cache=%" PRIu64, c->id)))
		return;
	snprintf(want, sizeof(want), "cache %" PRIu64 " destroyed", c->id);
	if (strcmp(w->res, want))
		error(K_SLAB, "'%s': '%s', expected '%s'", w->cmd, w->res, want);
	/* Move the last cache into the slot: renumber its objects and pools. */
	w->ncache--;
	if (ci != w->ncache) {
		w->cache[ci] = w->cache[w->ncache];
		for (i = 0; i < w->nobj; i++)
			if (w->obj[i].kind == O_SLAB && w->obj[i].cache == (int)w->ncache)
				w->obj[i].cache = ci;
		for (i = 0; i < w->npool; i++)
			if (w->pool[i].cache == (int)w->ncache)
				w->pool[i].cache = ci;
	}
}

/* -- kmalloc, kvmalloc, vmalloc -- */

static size_t pick_size(struct ctl_worker *w)
{
	switch (rndn(&w->rs, 4)) {
	case 0: return 1 + rndn(&w->rs, 64);
	case 1: return 1 + rndn(&w->rs, 1024);
	case 2: return 1 + rndn(&w->rs, 8192);
	default: return 1 + rndn(&w->rs, 40000);
	}
}

static void op_kmalloc(struct ctl_worker *w)
{
	const struct gfpctx *g = pick_gfp(w, 0, 1);
	size_t size = pick_size(w), n = 1, got, ksize;
	struct w_obj *o;
	uint64_t id;
	int ret;

	if (w->nobj >= W_OBJS)
		return;
	if (!rndn(&w->rs, 4)) {
		n = 1 + rndn(&w->rs, 16);
		size = 1 + size / 16;
		ret = wctl(w, "kmalloc_array count=%zu size=%zu gfp=%s", n, size, g->gfp);
	} else {
		ret = wctl(w, "kmalloc size=%zu gfp=%s context=%s", size, g->gfp, g->ctx);
	}
	if (outcome(w, K_KMALLOC, ret) <= 0)
		return;
	if (sscanf(w->res, "object %" SCNu64 " size %zu ksize %zu cache ", &id, &got, &ksize) != 3 ||
	    got != n * size || ksize < got) {
		error(K_KMALLOC, "'%s': result '%s'", w->cmd, w->res);
		return;
	}
	o = obj_new(w, O_KMALLOC, id, got);
	if (g->zero)
		o->byte = 0;
	obj_verify(w, o, o->size, "kzalloc'd object");
	obj_fill(w, o);
}

static void op_krealloc(struct ctl_worker *w, unsigned int i)
{
	struct w_obj *o = &w->obj[i];
	size_t size = rndn(&w->rs, 10) ? pick_size(w) : 0, got, keep;
	char how[16];
	uint64_t id;
	int ret;

	ret = wctl(w, "krealloc object=%" PRIu64 " size=%zu gfp=GFP_KERNEL|__GFP_NOWARN", o->id,
		   size);
	if (outcome(w, K_KMALLOC, ret) <= 0) {
		/* ENOMEM: the object is untouched */
		obj_verify(w, o, o->size, "after a failed krealloc");
		return;
	}
	if (!size) {
		if (sscanf(w->res, "object %" SCNu64 " size 0 freed", &id) != 1 || id != o->id)
			error(K_KMALLOC, "'%s': result '%s'", w->cmd, w->res);
		obj_forget(w, i);
		return;
	}
	snprintf(how, sizeof(how), "%s", strrchr(w->res, ' ') ? strrchr(w->res, ' ') + 1 : "");
	if (sscanf(w->res, "object %" SCNu64 " size %zu ksize ", &id, &got) != 2 ||
	    id != o->id || got != size || (strcmp(how, "in-place") && strcmp(how, "moved"))) {
		error(K_KMALLOC, "'%s': result '%s'", w->cmd, w->res);
		return;
	}
	keep = size < o->size ? size : o->size;
	o->size = size;
	obj_verify(w, o, keep, "contents kept by krealloc");
	obj_fill(w, o);
}

static void op_vmalloc(struct ctl_worker *w)
{
	size_t size = 1 + rndn(&w->rs, rndn(&w->rs, 4) ? 8 * 4096 : 64 * 4096), got;
	int kv = rndn(&w->rs, 3) == 0, zero = !kv && rndn(&w->rs, 3) == 0;
	unsigned int pages;
	struct w_obj *o;
	char via[16];
	uint64_t id;
	int ret;

	if (w->nobj >= W_OBJS)
		return;
	if (kv) {
		ret = wctl(w, "kvmalloc size=%zu gfp=GFP_KERNEL|__GFP_NOWARN", size);
		if (outcome(w, K_VMALLOC, ret) <= 0)
			return;
		if (sscanf(w->res, "object %" SCNu64 " size %zu via %15s", &id, &got, via) != 3 ||
		    got != size || (strcmp(via, "kmalloc") && strcmp(via, "vmalloc"))) {
			error(K_VMALLOC, "'%s': result '%s'", w->cmd, w->res);
			return;
		}
		o = obj_new(w, O_KV, id, size);
	} else {
		ret = wctl(w, "%s size=%zu", zero ? "vzalloc" : "vmalloc", size);
		if (outcome(w, K_VMALLOC, ret) <= 0)
			return;
		if (sscanf(w->res, "object %" SCNu64 " pages %u size %zu", &id, &pages, &got) != 3 ||
		    got != size || pages != (size + 4095) / 4096) {
			error(K_VMALLOC, "'%s': result '%s'", w->cmd, w->res);
			return;
		}
		o = obj_new(w, O_VMALLOC, id, size);
		if (zero)
			o->byte = 0;
		obj_verify(w, o, o->size, "vzalloc'd area");
	}
	obj_fill(w, o);
}

/* -- mempools -- */

static void op_mempool_create(struct ctl_worker *w)
{
	unsigned int min_nr = 1 + rndn(&w->rs, 8), t = rndn(&w->rs, 3), ci = 0, order = 0;
	char extra[64], type[8];
	size_t ksize = 0;
	struct w_pool *p;
	uint64_t id;
	int ret;

	if (w->npool >= W_POOLS)
		return;
	if (t == 2) {
		/* a slab pool needs a cache without a constructor */
		for (ci = 0; ci < w->ncache && w->cache[ci].ctor; ci++)
			;
		if (ci == w->ncache)
			t = 1;
	}
	switch (t) {
	case 0:
		order = rndn(&w->rs, 3);
		snprintf(extra, sizeof(extra), "type=page order=%u", order);
		break;
	case 1:
		ksize = pick_size(w);
		snprintf(extra, sizeof(extra), "type=kmalloc size=%zu", ksize);
		break;
	default:
		snprintf(extra, sizeof(extra), "type=slab cache=%" PRIu64, w->cache[ci].id);
		break;
	}
	ret = wctl(w, "mempool_create name=stress%u_%u min_nr=%u %s", w->idx, w->names++, min_nr,
		   extra);
	if (outcome(w, K_MEMPOOL, ret) <= 0)
		return;
	if (sscanf(w->res, "pool %" SCNu64 " name %*s type %7s min_nr %*u", &id, type) != 2) {
		error(K_MEMPOOL, "'%s': result '%s'", w->cmd, w->res);
		return;
	}
	p = &w->pool[w->npool++];
	p->id = id;
	p->min_nr = min_nr;
	p->out = 0;
	p->cache = t == 2 ? (int)ci : -1;
	p->elem_size = t == 0 ? 4096u << order : t == 1 ? ksize : w->cache[ci].size;
	snprintf(p->type, sizeof(p->type), "%s", type);
	if (t == 2)
		w->cache[ci].pools++;
}

static void op_mempool_alloc(struct ctl_worker *w)
{
	unsigned int pi, psz;
	const struct gfpctx *g;
	struct w_pool *p;
	struct w_obj *o;
	uint64_t id, pid;
	char from[16];
	int ret;

	if (!w->npool || w->nobj >= W_OBJS)
		return;
	pi = rndn(&w->rs, w->npool);
	p = &w->pool[pi];
	/*
	 * A sleeping mempool_alloc waits until an element comes back, and only
	 * this worker frees this pool's elements: sleep only while fewer than
	 * min_nr are out, when the reserve still has one.
	 */
	do
		g = pick_gfp(w, 0, 0);
	while (g->sleeps && p->out >= p->min_nr);
	ret = wctl(w, "mempool_alloc pool=%" PRIu64 " gfp=%s context=%s", p->id, g->gfp, g->ctx);
	if (outcome(w, K_MEMPOOL, ret) <= 0)
		return;
	if (sscanf(w->res, "object %" SCNu64 " pool %" SCNu64 " from %15s", &id, &pid, from) != 3 ||
	    pid != p->id || (strcmp(from, "backing") && strcmp(from, "reserve"))) {
		error(K_MEMPOOL, "'%s': result '%s'", w->cmd, w->res);
		return;
	}
	p->out++;
	o = obj_new(w, O_POOL, id, 0);
	o->pool = pi;
	/* obj_fill fills the whole element; checks look at the first 64 bytes. */
	psz = p->elem_size < 64 ? p->elem_size : 64;
	o->size = psz;
	obj_fill(w, o);
}

static void op_mempool_other(struct ctl_worker *w)
{
	unsigned int pi, i, n;
	struct w_pool *p;
	uint64_t id;
	char want[64];

	if (!w->npool)
		return;
	pi = rndn(&w->rs, w->npool);
	p = &w->pool[pi];
	if (rndn(&w->rs, 3)) {
		n = 1 + rndn(&w->rs, 8);
		if (!must(w, K_MEMPOOL, wctl(w, "mempool_resize pool=%" PRIu64 " min_nr=%u", p->id, n))) {
			if (sscanf(w->res, "pool %" SCNu64 " min_nr %u curr_nr %*u", &id, &i) != 2 ||
			    id != p->id || i != n)
				error(K_MEMPOOL, "'%s': result '%s'", w->cmd, w->res);
			/* A grown reserve may not be full yet: keep the old bound. */
			if (n < p->min_nr)
				p->min_nr = n;
		}
		return;
	}
	for (i = w->nobj; i-- > 0;)
		if (w->obj[i].kind == O_POOL && w->obj[i].pool == (int)pi)
			obj_free(w, i);
	if (p->out)
		return;
	if (must(w, K_MEMPOOL, wctl(w, "mempool_destroy pool=%" PRIu64, p->id)))
		return;
	snprintf(want, sizeof(want), "pool %" PRIu64 " destroyed", p->id);
	if (strcmp(w->res, want))
		error(K_MEMPOOL, "'%s': '%s', expected '%s'", w->cmd, w->res, want);
	if (p->cache >= 0)
		w->cache[p->cache].pools--;
	w->npool--;
	if (pi != w->npool) {
		w->pool[pi] = w->pool[w->npool];
		for (i = 0; i < w->nobj; i++)
			if (w->obj[i].kind == O_POOL && w->obj[i].pool == (int)w->npool)
				w->obj[i].pool = pi;
	}
}

/* Free everything the worker holds (end of the run). */
static void ctl_release_all(struct ctl_worker *w)
{
	while (w->nobj)
		obj_free(w, w->nobj - 1) ;
	while (w->nblk) {
		w->nblk--;
		must(w, K_PAGE, wctl(w, "free %" PRIu64, w->blk[w->nblk].h));
	}
	while (w->npool) {
		w->npool--;
		must(w, K_MEMPOOL, wctl(w, "mempool_destroy pool=%" PRIu64, w->pool[w->npool].id));
	}
	while (w->ncache) {
		w->ncache--;
		must(w, K_SLAB, wctl(w, "cache_destroy cache=%" PRIu64, w->cache[w->ncache].id));
	}
}

static void *ctl_worker_fn(void *arg)
{
	struct ctl_worker *w = arg;
	unsigned int r, i, guard;

	while (!atomic_load(&stop)) {
		r = rndn(&w->rs, 100);
		if (r < 14)
			op_alloc(w);
		else if (r < 26)
			op_free(w);
		else if (r < 28)
			op_cache_create(w);
		else if (r < 40)
			op_cache_alloc(w);
		else if (r < 42)
			op_cache_destroy(w);
		else if (r < 54)
			op_kmalloc(w);
		else if (r < 62)
			op_vmalloc(w);
		else if (r < 64)
			op_mempool_create(w);
		else if (r < 72)
			op_mempool_alloc(w);
		else if (r < 74)
			op_mempool_other(w);
		else if (w->nobj) {
			/* free, krealloc or check a random object */
			i = rndn(&w->rs, w->nobj);
			guard = rndn(&w->rs, 10);
			if (w->obj[i].kind == O_KMALLOC && guard < 3)
				op_krealloc(w, i);
			else if (guard < 5)
				obj_verify(w, &w->obj[i], w->obj[i].size, "a live object");
			else
				obj_free(w, i);
		}
	}
	ctl_release_all(w);
	return NULL;
}

/* ---- the tuning worker: pressure, drain, shrink, pcp, kswapd, check ------------- */

struct tune_worker {
	pthread_t th;
	int fd;
	uint64_t rs;
	uint64_t capacity;
	char res[MMLAB_RESULT_MAX];
	unsigned long checks;
};

static void *tune_worker_fn(void *arg)
{
	struct tune_worker *w = arg;
	uint64_t held = 0, n, a;
	unsigned int r, high, batch;
	int ret;

	while (!atomic_load(&stop)) {
		r = rndn(&w->rs, 9);
		atomic_fetch_add(&cnt[K_TUNE].ops, 1);
		switch (r) {
		case 0:	/* take up to an eighth of the capacity, in steps */
			if (held >= w->capacity / 8) {
				ret = mmlab_ctl(w->fd, w->res, sizeof(w->res), "pressure release=all");
			} else {
				n = 64 + rndn(&w->rs, w->capacity / 32);
				ret = mmlab_ctl(w->fd, w->res, sizeof(w->res),
						"pressure consume=%" PRIu64 " gfp=%s", n,
						rndn(&w->rs, 2) ? "GFP_KERNEL|__GFP_NOWARN" :
								  "GFP_NOWAIT|__GFP_NOWARN");
				if (ret == -ENOMEM) {
					atomic_fetch_add(&cnt[K_TUNE].nomem, 1);
					ret = 0;
				}
			}
			if (ret || sscanf(strstr(w->res, "holding") ?: "", "holding %" SCNu64, &held) != 1)
				error(K_TUNE, "pressure: %s (%s)", strerror(-ret), w->res);
			break;
		case 1:
			ret = mmlab_ctl(w->fd, w->res, sizeof(w->res), "pressure release=%u",
					rndn(&w->rs, 2048));
			if (ret || sscanf(strstr(w->res, "holding") ?: "", "holding %" SCNu64, &held) != 1)
				error(K_TUNE, "pressure release: %s (%s)", strerror(-ret), w->res);
			break;
		case 2:
			ret = mmlab_ctl(w->fd, w->res, sizeof(w->res), "drain");
			if (ret || sscanf(w->res, "drained %" SCNu64 " pages", &a) != 1)
				error(K_TUNE, "drain: %s (%s)", strerror(-ret), w->res);
			break;
		case 3:
			ret = mmlab_ctl(w->fd, w->res, sizeof(w->res), "shrink");
			if (ret || sscanf(w->res, "returned %" SCNu64 " chunks", &a) != 1)
				error(K_TUNE, "shrink: %s (%s)", strerror(-ret), w->res);
			break;
		case 4:
			high = 1 + rndn(&w->rs, 400);
			batch = 1 + rndn(&w->rs, high);
			ret = mmlab_ctl(w->fd, w->res, sizeof(w->res), "pcp high=%u batch=%u%s", high,
					batch, rndn(&w->rs, 2) ? "" : " zone=Normal");
			if (ret)
				error(K_TUNE, "pcp high=%u batch=%u: %s (%s)", high, batch,
				      strerror(-ret), w->res);
			break;
		case 5:
			ret = mmlab_ctl(w->fd, w->res, sizeof(w->res), "pcp default");
			if (ret)
				error(K_TUNE, "pcp default: %s (%s)", strerror(-ret), w->res);
			break;
		case 6:
			ret = mmlab_ctl(w->fd, w->res, sizeof(w->res), "kswapd");
			if (ret)
				error(K_TUNE, "kswapd: %s (%s)", strerror(-ret), w->res);
			break;
		default:
			/* The invariant checker, while everything else runs. */
			ret = mmlab_ctl(w->fd, w->res, sizeof(w->res), "check");
			w->checks++;
			if (ret || strcmp(w->res, "ok"))
				error(K_TUNE, "check during the run: %s (%s)", strerror(-ret), w->res);
			break;
		}
		usleep(20000 + rndn(&w->rs, 80000));
	}
	mmlab_ctl(w->fd, w->res, sizeof(w->res), "pressure release=all");
	mmlab_ctl(w->fd, w->res, sizeof(w->res), "pcp default");
	return NULL;
}

/* ---- /dev/mmlab workers -------------------------------------------------------- */

#define PG		4096ul
#define MM_MAX_PAGES	384
#define UNKNOWN		0xffffffffu
#define MM_WIN		64	/* pages a child verifies and writes */

/* volatile: a store the compiler sees overwritten later must still happen */
static __thread sigjmp_buf *volatile tls_jb;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (tls_jb)
		siglongjmp(*tls_jb, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Write v into the page's first and last words: 2 if both were written,
 * else how many were before a SIGBUS.
 */
static int guarded_write(volatile uint32_t *p, uint32_t v)
{
	sigjmp_buf jb;
	volatile int done = 0;

	if (sigsetjmp(jb, 1)) {
		tls_jb = NULL;
		return done;
	}
	tls_jb = &jb;
	p[0] = v;
	done = 1;
	p[PG / 4 - 1] = v;
	done = 2;
	tls_jb = NULL;
	return done;
}

/* Read the page's two words: 0, or -1 on SIGBUS. */
static int guarded_read(volatile uint32_t *p, uint32_t *a, uint32_t *b)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		tls_jb = NULL;
		return -1;
	}
	tls_jb = &jb;
	*a = p[0];
	*b = p[PG / 4 - 1];
	tls_jb = NULL;
	return 0;
}

struct mm_worker {
	unsigned int idx;
	pthread_t th;
	uint64_t rs;
	uint32_t tag;
	/* the current region */
	int fd, shared;
	size_t map_pages, size_pages;
	uint8_t *map;
	uint32_t expect[MM_MAX_PAGES];	/* 0: zero page; UNKNOWN: not known */
};

struct fork_result {
	uint32_t wrote[MM_WIN];		/* 0: not written (SIGBUS) */
	uint32_t bad_page, bad_seen, bad_want;
	int mismatches, sigbus;
};

static uint32_t mm_value(struct mm_worker *w)
{
	uint32_t v;

	do
		v = (w->tag << 20 | (uint32_t)(rnd(&w->rs) & 0xfffff)) & 0x7fffffff;
	while (!v);
	return v;
}

static void mm_verify(struct mm_worker *w, size_t first, size_t n, const char *when)
{
	uint32_t a, b;
	size_t p;

	for (p = first; p < first + n && p < w->size_pages; p++) {
		atomic_fetch_add(&mm_touches, 1);
		if (guarded_read((volatile uint32_t *)(w->map + p * PG), &a, &b)) {
			atomic_fetch_add(&mm_sigbus, 1);
			continue;
		}
		if (w->expect[p] == UNKNOWN) {
			if (a == b)
				w->expect[p] = a;	/* known again */
			continue;
		}
		if (a != w->expect[p] || b != w->expect[p])
			error(K_MMDEV, "worker %u: %s region, %s: page %zu holds 0x%x/0x%x, "
				       "expected 0x%x", w->idx, w->shared ? "shared" : "private",
			      when, p, a, b, w->expect[p]);
	}
}

static void mm_touch(struct mm_worker *w, size_t first, size_t n)
{
	uint32_t v;
	size_t p;
	int done;

	for (p = first; p < first + n && p < w->size_pages; p++) {
		v = mm_value(w);
		atomic_fetch_add(&mm_touches, 1);
		done = guarded_write((volatile uint32_t *)(w->map + p * PG), v);
		if (done == 2)
			w->expect[p] = v;
		else if (done == 1)
			w->expect[p] = UNKNOWN;	/* cannot happen, but be exact */
		if (done < 2)
			atomic_fetch_add(&mm_sigbus, 1);
	}
}

static int mm_map(struct mm_worker *w)
{
	void *m = mmap(NULL, w->map_pages * PG, PROT_READ | PROT_WRITE,
		       w->shared ? MAP_SHARED : MAP_PRIVATE, w->fd, 0);

	atomic_fetch_add(&cnt[K_MMDEV].ops, 1);
	if (m == MAP_FAILED) {
		if (errno == ENOMEM) {
			atomic_fetch_add(&cnt[K_MMDEV].nomem, 1);
		} else {
			error(K_MMDEV, "worker %u: mmap %zu pages: %s", w->idx, w->map_pages,
			      strerror(errno));
		}
		w->map = NULL;
		return -1;
	}
	atomic_fetch_add(&mm_maps, 1);
	w->map = m;
	/*
	 * An mmap of a region whose size is 0 (shrunk to nothing) sets the
	 * size to the mapping's end, as the first mmap does (docs/mmdev.md).
	 */
	if (!w->size_pages)
		w->size_pages = w->map_pages;
	return 0;
}

static int mm_open(struct mm_worker *w)
{
	uint64_t bytes;
	size_t p;

	w->fd = open("/dev/mmlab", O_RDWR | O_CLOEXEC);
	atomic_fetch_add(&cnt[K_MMDEV].ops, 1);
	if (w->fd < 0) {
		error(K_MMDEV, "worker %u: open /dev/mmlab: %s", w->idx, strerror(errno));
		return -1;
	}
	atomic_fetch_add(&mm_regions, 1);
	w->shared = rndn(&w->rs, 3) != 0;
	w->map_pages = 1 + rndn(&w->rs, MM_MAX_PAGES);
	w->size_pages = w->map_pages;
	bytes = w->map_pages * PG - rndn(&w->rs, PG);	/* rounded up to pages */
	if (ioctl(w->fd, MMLAB_IOC_SET_SIZE, &bytes)) {
		if (errno == ENOMEM) {
			atomic_fetch_add(&cnt[K_MMDEV].nomem, 1);
		} else {
			error(K_MMDEV, "worker %u: SET_SIZE %" PRIu64 ": %s", w->idx, bytes,
			      strerror(errno));
		}
		close(w->fd);
		return -1;
	}
	if (!rndn(&w->rs, 4)) {
		uint32_t zone = MMLAB_MMDEV_ZONE_DMA32;

		if (ioctl(w->fd, MMLAB_IOC_SET_ZONE, &zone))
			error(K_MMDEV, "worker %u: SET_ZONE DMA32: %s", w->idx, strerror(errno));
	}
	for (p = 0; p < MM_MAX_PAGES; p++)
		w->expect[p] = 0;
	if (mm_map(w)) {
		close(w->fd);
		return -1;
	}
	return 0;
}

static void mm_close(struct mm_worker *w)
{
	struct mmlab_mmdev_stats st;

	if (ioctl(w->fd, MMLAB_IOC_STATS, &st)) {
		error(K_MMDEV, "worker %u: STATS: %s", w->idx, strerror(errno));
	} else {
		atomic_fetch_add(&mm_faults, st.faults);
		atomic_fetch_add(&mm_fault_failures, st.fault_failures);
		/*
		 * Other workers' fork children inherit this mapping while they
		 * live: at least ours, then.
		 */
		if (st.size_pages != w->size_pages || st.resident_pages > st.size_pages ||
		    st.mappings < (w->map ? 1u : 0u) || st.files != 1)
			error(K_MMDEV, "worker %u: region %llu: size %llu (want %zu), resident %llu, "
				       "mappings %llu (want at least %d), files %llu", w->idx,
			      (unsigned long long)st.id, (unsigned long long)st.size_pages,
			      w->size_pages, (unsigned long long)st.resident_pages,
			      (unsigned long long)st.mappings, w->map ? 1 : 0,
			      (unsigned long long)st.files);
	}
	if (w->map)
		munmap(w->map, w->map_pages * PG);
	w->map = NULL;
	close(w->fd);
	w->fd = -1;
}

/* The child of mm_fork: verify a window, then write into it. No libc locks. */
static void mm_child(struct mm_worker *w, size_t first, size_t n, struct fork_result *res)
{
	uint32_t a, b, v;
	size_t i;

	for (i = 0; i < n; i++) {
		if (guarded_read((volatile uint32_t *)(w->map + (first + i) * PG), &a, &b)) {
			res->sigbus++;
			continue;
		}
		if (w->expect[first + i] != UNKNOWN &&
		    (a != w->expect[first + i] || b != w->expect[first + i])) {
			if (!res->mismatches++) {
				res->bad_page = first + i;
				res->bad_seen = a;
				res->bad_want = w->expect[first + i];
			}
		}
	}
	for (i = 0; i < n; i++) {
		v = (mm_value(w) | 0x40000000u) & 0x7fffffff;
		if (guarded_write((volatile uint32_t *)(w->map + (first + i) * PG), v) == 2)
			res->wrote[i] = v;
		else
			res->sigbus++;
	}
}

static void mm_fork(struct mm_worker *w)
{
	size_t first, n, i;
	struct fork_result *res;
	int status;
	pid_t pid;

	if (!w->map || !w->size_pages)
		return;
	first = rndn(&w->rs, w->size_pages);
	n = 1 + rndn(&w->rs, MM_WIN);
	if (first + n > w->size_pages)
		n = w->size_pages - first;
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		error(K_MMDEV, "worker %u: mmap for fork: %s", w->idx, strerror(errno));
		return;
	}
	memset(res, 0, sizeof(*res));
	atomic_fetch_add(&cnt[K_MMDEV].ops, 1);
	atomic_fetch_add(&mm_forks, 1);
	pid = fork();
	if (pid < 0) {
		if (errno == ENOMEM || errno == EAGAIN)
			atomic_fetch_add(&cnt[K_MMDEV].nomem, 1);
		else
			error(K_MMDEV, "worker %u: fork: %s", w->idx, strerror(errno));
		munmap(res, sizeof(*res));
		return;
	}
	if (!pid) {
		mm_child(w, first, n, res);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		error(K_MMDEV, "worker %u: child exited with status 0x%x", w->idx, status);
	if (res->mismatches)
		error(K_MMDEV, "worker %u: %s region: the child saw page %u as 0x%x, expected 0x%x "
			       "(%d pages differ)", w->idx, w->shared ? "shared" : "private",
		      res->bad_page, res->bad_seen, res->bad_want, res->mismatches);
	atomic_fetch_add(&mm_sigbus, res->sigbus);
	/* Shared: the child's writes are the region's. Private: they are not ours. */
	if (w->shared)
		for (i = 0; i < n; i++)
			if (res->wrote[i])
				w->expect[first + i] = res->wrote[i];
	mm_verify(w, first, n, w->shared ? "after the child wrote (shared)" :
					   "after the child wrote (private: unchanged)");
	munmap(res, sizeof(*res));
}

static void mm_punch(struct mm_worker *w)
{
	struct mmlab_mmdev_range r;
	size_t first, n, p;

	if (!w->size_pages)
		return;
	first = rndn(&w->rs, w->size_pages);
	n = 1 + rndn(&w->rs, w->size_pages - first);
	r.offset = first * PG;
	r.len = n * PG;
	atomic_fetch_add(&cnt[K_MMDEV].ops, 1);
	atomic_fetch_add(&mm_punches, 1);
	if (ioctl(w->fd, MMLAB_IOC_PUNCH, &r)) {
		error(K_MMDEV, "worker %u: PUNCH %zu+%zu pages: %s", w->idx, first, n,
		      strerror(errno));
		return;
	}
	/* Shared: the range is a hole now. Private copies stay (punch is not truncate). */
	if (w->shared)
		for (p = first; p < first + n; p++)
			w->expect[p] = 0;
	mm_verify(w, first, n, "after PUNCH");
}

static void mm_resize(struct mm_worker *w)
{
	size_t nsize, p;
	uint64_t bytes;
	uint32_t a, b;

	atomic_fetch_add(&cnt[K_MMDEV].ops, 1);
	atomic_fetch_add(&mm_resizes, 1);
	if (w->size_pages == w->map_pages)
		nsize = rndn(&w->rs, w->map_pages);	/* shrink (maybe to 0) */
	else
		nsize = w->map_pages;			/* grow back */
	bytes = nsize * PG;
	if (ioctl(w->fd, MMLAB_IOC_SET_SIZE, &bytes)) {
		if (errno == ENOMEM)
			atomic_fetch_add(&cnt[K_MMDEV].nomem, 1);
		else
			error(K_MMDEV, "worker %u: SET_SIZE %zu pages: %s", w->idx, nsize,
			      strerror(errno));
		return;
	}
	/* Truncation drops everything past the end, private copies included. */
	for (p = nsize; p < w->map_pages; p++)
		w->expect[p] = 0;
	if (nsize < w->size_pages && w->map && nsize < w->map_pages) {
		/* Past the size is SIGBUS, always. */
		if (!guarded_read((volatile uint32_t *)(w->map + nsize * PG), &a, &b))
			error(K_MMDEV, "worker %u: page %zu past the size %zu read without SIGBUS",
			      w->idx, nsize, nsize);
	}
	w->size_pages = nsize;
}

static void mm_remap(struct mm_worker *w)
{
	size_t p;

	if (w->map)
		munmap(w->map, w->map_pages * PG);
	w->map = NULL;
	/* Private copies go with the mapping; the region itself stays. */
	if (!w->shared)
		for (p = 0; p < MM_MAX_PAGES; p++)
			w->expect[p] = 0;
	if (!mm_map(w))
		mm_verify(w, 0, w->size_pages, "after munmap and mmap");
}

static void *mm_worker_fn(void *arg)
{
	struct mm_worker *w = arg;
	unsigned int r, steps;
	size_t first;

	while (!atomic_load(&stop)) {
		if (mm_open(w)) {
			usleep(10000);
			continue;
		}
		for (steps = 5 + rndn(&w->rs, 40); steps && !atomic_load(&stop); steps--) {
			r = rndn(&w->rs, 100);
			if (!w->map) {
				if (mm_map(w))
					break;
			}
			first = w->size_pages ? rndn(&w->rs, w->size_pages) : 0;
			if (r < 35)
				mm_touch(w, first, 1 + rndn(&w->rs, 64));
			else if (r < 60)
				mm_verify(w, first, 1 + rndn(&w->rs, 128), "reading back");
			else if (r < 70)
				mm_fork(w);
			else if (r < 80)
				mm_punch(w);
			else if (r < 88)
				mm_resize(w);
			else
				mm_remap(w);
		}
		if (w->map)
			mm_verify(w, 0, w->size_pages, "before close");
		mm_close(w);
	}
	return NULL;
}

/* ---- the client worker: the exported API from kernel threads ------------------ */

static int client_state;	/* 0 not run, 1 ran, -1 not available */

static void *client_worker_fn(void *arg)
{
	char params[64];
	double left;
	int fd, ret;

	(void)arg;
	if (access(opt_client, R_OK)) {
		say("# client: %s: %s; the in-kernel stress does not run\n", opt_client,
		    strerror(errno));
		client_state = -1;
		return NULL;
	}
	client_state = 1;
	while (!atomic_load(&stop)) {
		left = opt_seconds - elapsed();
		if (left < 3)
			break;
		snprintf(params, sizeof(params), "stress_seconds=%u",
			 left > 12 ? 10 : (unsigned int)left - 2);
		fd = open(opt_client, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			error(K_CLIENT, "open %s: %s", opt_client, strerror(errno));
			break;
		}
		atomic_fetch_add(&cnt[K_CLIENT].ops, 1);
		ret = syscall(SYS_finit_module, fd, params, 0);
		close(fd);
		if (ret) {
			error(K_CLIENT, "insmod mmlab_client %s: %s (its checks failed: see the "
					"kernel log)", params, strerror(errno));
			break;
		}
		ret = syscall(SYS_delete_module, "mmlab_client", O_NONBLOCK);
		if (ret) {
			error(K_CLIENT, "rmmod mmlab_client: %s", strerror(errno));
			break;
		}
	}
	return NULL;
}

/* ---- main ------------------------------------------------------------------------- */

static void progress(const char *tag)
{
	unsigned long errors = 0;
	unsigned int k;
	char line[1024];
	int len;

	for (k = 0; k < K_NR; k++)
		errors += atomic_load(&cnt[k].errors);

	len = snprintf(line, sizeof(line), "# [%5.1fs]%s", elapsed(), tag);
	for (k = 0; k < K_NR; k++)
		len += snprintf(line + len, sizeof(line) - len, " %s %lu/%lu", kind_name[k],
				atomic_load(&cnt[k].ops), atomic_load(&cnt[k].nomem));
	len += snprintf(line + len, sizeof(line) - len,
			" | touches %lu sigbus %lu forks %lu | injected %lu | errors %lu reports %lu",
			atomic_load(&mm_touches), atomic_load(&mm_sigbus), atomic_load(&mm_forks),
			fail_injected(), errors, atomic_load(&kernel_reports));
	say("%s\n", line);
}

static unsigned int env_uint(const char *name, unsigned int def)
{
	const char *v = getenv(name);

	return v && *v ? (unsigned int)strtoul(v, NULL, 0) : def;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-d SECONDS] [-s SEED] [-p PERCENT] [-w WORKERS]\n"
		"  -d  run time in seconds (default 60; MMLAB_STRESS_SECONDS)\n"
		"  -s  seed of every random choice and of the fault-injection sites\n"
		"      (default: from the clock; printed; MMLAB_STRESS_SEED)\n"
		"  -p  fault-injection probability in percent, 0 = off (default 2;\n"
		"      MMLAB_STRESS_FAIL_PERCENT)\n"
		"  -w  control-file workers (default: one per CPU, at least 4;\n"
		"      MMLAB_STRESS_WORKERS); /dev/mmlab workers are half as many\n"
		"environment: MMLAB_CLIENT (mmlab_client.ko, default %s), MMLAB_DEBUGFS\n",
		prog, opt_client);
}

int main(int argc, char **argv)
{
	unsigned int ncpu, nctl, nmm, i, k, sites = 0;
	struct ctl_worker *cw = NULL;
	struct mm_worker *mw = NULL;
	struct tune_worker tw;
	struct sigaction sa;
	struct mmlab_stats st;
	pthread_t client_th;
	char why[256], res[MMLAB_RESULT_MAX], *e;
	double next = 5, last_poll = 0;
	unsigned long total_err = 0;
	int fd, opt, ret;
	uint64_t v;

	opt_seconds = env_uint("MMLAB_STRESS_SECONDS", opt_seconds);
	opt_fail_percent = env_uint("MMLAB_STRESS_FAIL_PERCENT", opt_fail_percent);
	opt_workers = env_uint("MMLAB_STRESS_WORKERS", 0);
	if ((e = getenv("MMLAB_STRESS_SEED")) && *e)
		opt_seed = strtoull(e, NULL, 0);
	if ((e = getenv("MMLAB_CLIENT")) && *e)
		opt_client = e;
	while ((opt = getopt(argc, argv, "d:s:p:w:h")) != -1) {
		switch (opt) {
		case 'd': opt_seconds = strtoul(optarg, NULL, 0); break;
		case 's': opt_seed = strtoull(optarg, NULL, 0); break;
		case 'p': opt_fail_percent = strtoul(optarg, NULL, 0); break;
		case 'w': opt_workers = strtoul(optarg, NULL, 0); break;
		default: usage(argv[0]); return opt == 'h' ? 0 : 2;
		}
	}
	if (!opt_seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		opt_seed = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec ^ getpid();
	}
	if (opt_fail_percent > 100)
		opt_fail_percent = 100;
	setvbuf(stdout, NULL, _IOLBF, 0);

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	nctl = opt_workers ? opt_workers : (ncpu < 4 ? 4 : ncpu);
	nmm = nctl / 2 ? nctl / 2 : 1;

	ksft_print_header();
	ksft_set_plan(K_NR + 5);
	ksft_print_msg("mmlab_stress: %u s, seed %" PRIu64 ", %u CPUs online, %u control workers, "
		       "%u /dev/mmlab workers, a tuning worker, a client worker\n",
		       opt_seconds, opt_seed, ncpu, nctl, nmm);
	ksft_print_msg("reproduce: mmlab_stress -d %u -s %" PRIu64 " -p %u -w %u\n", opt_seconds,
		       opt_seed, opt_fail_percent, nctl);
	if (ncpu < 4)
		ksft_print_msg("only %u CPUs: the stress wants at least 4 (vm-stress.sh --cpus)\n",
			       ncpu);

	if (access(mmlab_dir(), F_OK))
		ksft_exit_skip("%s: %s (is mmlab.ko loaded?)\n", mmlab_dir(), strerror(errno));

	/* 1. a clean start */
	fd = mmlab_ctl_open();
	if (fd < 0)
		ksft_exit_fail_msg("open %s/control: %s\n", mmlab_dir(), strerror(-fd));
	ret = mmlab_clean(fd, res, sizeof(res));
	if (ret || mmlab_read_stats(&st, why, sizeof(why))) {
		ksft_test_result_fail("setup: %s %s\n", res, ret ? "" : why);
		ksft_exit_fail();
	}
	ksft_test_result_pass("setup: clean allocator, capacity %" PRIu64 " pages, chunk order %"
			      PRIu64 "\n", st.capacity_pages, st.chunk_order);

	/* 2. fault injection */
	if (opt_fail_percent) {
		sites = fail_setup(opt_fail_percent);
		if (!fail_available)
			ksft_test_result_skip("fault injection: not available (no %s/fail/)\n",
					      mmlab_dir());
		else if (sites == NR_SITES)
			ksft_test_result_pass("fault injection: %u%% on chunk buddy slab mempool "
					      "mmdev_fault, seed %" PRIu64 "\n", opt_fail_percent,
					      opt_seed);
		else
			ksft_test_result_fail("fault injection: %u of %zu sites set up\n", sites,
					      NR_SITES);
	} else {
		ksft_test_result_skip("fault injection: off (-p 0)\n");
	}

	kmsg_fd = mmlab_kmsg_open();
	if (kmsg_fd < 0)
		ksft_print_msg("/dev/kmsg: %s: kernel reports are not watched\n", strerror(-kmsg_fd));

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cw = calloc(nctl, sizeof(*cw));
	mw = calloc(nmm, sizeof(*mw));
	if (!cw || !mw)
		ksft_exit_fail_msg("out of memory\n");
	for (i = 0; i < nctl; i++) {
		cw[i].idx = i;
		cw[i].rs = thread_seed(i);
		cw[i].chunk_order = st.chunk_order > 10 ? 10 : st.chunk_order;
		cw[i].fd = mmlab_ctl_open();
		if (cw[i].fd < 0)
			ksft_exit_fail_msg("open control: %s\n", strerror(-cw[i].fd));
		pthread_create(&cw[i].th, NULL, ctl_worker_fn, &cw[i]);
	}
	for (i = 0; i < nmm; i++) {
		mw[i].idx = i;
		mw[i].rs = thread_seed(100 + i);
		mw[i].tag = 1 + i;
		mw[i].fd = -1;
		pthread_create(&mw[i].th, NULL, mm_worker_fn, &mw[i]);
	}
	memset(&tw, 0, sizeof(tw));
	tw.rs = thread_seed(200);
	tw.capacity = st.capacity_pages;
	tw.fd = mmlab_ctl_open();
	pthread_create(&tw.th, NULL, tune_worker_fn, &tw);
	pthread_create(&client_th, NULL, client_worker_fn, NULL);

	while (elapsed() < opt_seconds) {
		usleep(200000);
		if (elapsed() - last_poll >= 1) {
			kmsg_poll();
			last_poll = elapsed();
		}
		if (elapsed() >= next) {
			progress("");
			next += 5;
		}
	}
	atomic_store(&stop, 1);
	for (i = 0; i < nctl; i++)
		pthread_join(cw[i].th, NULL);
	for (i = 0; i < nmm; i++)
		pthread_join(mw[i].th, NULL);
	pthread_join(tw.th, NULL);
	pthread_join(client_th, NULL);
	fail_off();
	kmsg_poll();
	progress(" end:");

	/* 3. one verdict per layer */
	for (k = 0; k < K_NR; k++) {
		unsigned long ops = atomic_load(&cnt[k].ops), nomem = atomic_load(&cnt[k].nomem),
			      err = atomic_load(&cnt[k].errors);

		total_err += err;
		if (k == K_CLIENT) {
			if (client_state < 0) {
				ksft_test_result_skip("client: %s not available\n", opt_client);
				continue;
			}
			if (!err && atomic_load(&cl_bad))
				err = atomic_load(&cl_bad);
			ksft_print_msg("client: %lu runs, %lu logged their totals: %lu ops in the "
				       "kernel, %lu NULL, %lu bad\n", ops, atomic_load(&cl_runs),
				       atomic_load(&cl_ops), atomic_load(&cl_nulls),
				       atomic_load(&cl_bad));
			if (!err && atomic_load(&cl_runs) != ops)
				err = 1, ksft_print_msg("client: a run printed no totals\n");
		}
		if (k == K_MMDEV)
			ksft_print_msg("mmdev: %lu regions, %lu maps, %lu touches, %lu faults "
				       "(%lu failed), %lu SIGBUS, %lu forks, %lu punches, %lu resizes\n",
				       atomic_load(&mm_regions), atomic_load(&mm_maps),
				       atomic_load(&mm_touches), atomic_load(&mm_faults),
				       atomic_load(&mm_fault_failures), atomic_load(&mm_sigbus),
				       atomic_load(&mm_forks), atomic_load(&mm_punches),
				       atomic_load(&mm_resizes));
		if (k == K_TUNE)
			ksft_print_msg("tune: %lu invariant checks during the run\n", tw.checks);
		if (!err && ops)
			ksft_test_result_pass("%s: %lu operations, %lu ENOMEM/NULL (expected), 0 "
					      "errors\n", kind_name[k], ops, nomem);
		else
			ksft_test_result_fail("%s: %lu operations, %lu ENOMEM, %lu errors\n",
					      kind_name[k], ops, nomem, err);
	}

	/*
	 * 4. everything back, the checker happy, the log clean. The workers
	 * freed what they had: free_all must find nothing left.
	 */
	ret = mmlab_ctl(fd, res, sizeof(res), "free_all");
	if (!ret && strcmp(res, "freed 0 handles"))
		ret = -EUCLEAN;		/* the workers lost track of something */
	if (ret)
		ksft_print_msg("free_all after the workers: %s (%s)\n", strerror(-ret), res);
	else
		ret = mmlab_clean(fd, res, sizeof(res));
	if (!ret && !mmlab_read_stats(&st, why, sizeof(why)) && !st.used_pages &&
	    !st.host_chunks && !st.control_handles &&
	    !mmlab_stats_get(&st, "regions", &v) && !v &&
	    !mmlab_stats_get(&st, "slab_objects", &v) && !v &&
	    !mmlab_stats_get(&st, "vmalloc_areas", &v) && !v &&
	    !mmlab_stats_get(&st, "mempools", &v) && !v)
		ksft_test_result_pass("cleanup: nothing allocated, every chunk back to the host\n");
	else
		ksft_test_result_fail("cleanup: %s; used_pages %" PRIu64 " host_chunks %" PRIu64
				      " control_handles %" PRIu64 "\n", ret ? res : "left over",
				      st.used_pages, st.host_chunks, st.control_handles);
	ret = mmlab_ctl(fd, res, sizeof(res), "check");
	if (!ret && !strcmp(res, "ok"))
		ksft_test_result_pass("check: the invariant checker passes\n");
	else
		ksft_test_result_fail("check: %s (%s)\n", strerror(-ret), res);
	usleep(200000);
	kmsg_poll();
	if (kmsg_fd < 0)
		ksft_test_result_skip("kernel log: /dev/kmsg not readable\n");
	else if (atomic_load(&kernel_reports))
		ksft_test_result_fail("kernel log: %lu reports (shown above)\n",
				      atomic_load(&kernel_reports));
	else
		ksft_test_result_pass("kernel log: no report, no error from mmlab\n");
	ksft_print_msg("seed %" PRIu64 ", %lu errors\n", opt_seed, total_err);
	close(fd);
	ksft_finished();
	return 0;
}
