// SPDX-License-Identifier: GPL-2.0
/*
 * replay.c - record allocation traces, replay them through every slab policy
 * and through the host kernel's own allocators (docs/replay.md).
 *
 * debugfs files (in /sys/kernel/debug/mmlab/):
 *  - trace (0600): read the recorded trace; write "on [events=N]", "off",
 *    "clear". Recording lives in the core (mmlab_core_trace_*).
 *  - extfrag_index (0444): Linux's extfrag_index for mmlab's zones.
 *  - replay (0600): write "generate ...", "run ...", or a trace to load
 *    ("load" line first, or text starting "# mmlab-trace"); read the result
 *    lines of the last runs and the comparison table.
 *  - replay_trace (0400): the trace the next run replays, as text.
 *
 * Loading: a write that starts a trace puts that open file into loading
 * mode; every later write on it is appended, and the whole text is parsed
 * when the file is closed (->flush, so close(2) returns the error; reading
 * `replay` shows it too, as shells ignore it). ftrace's set_ftrace_filter
 * commits on close the same way. Commands are single writes of one line.
 *
 * Runs happen in a kernel thread bound to the first online CPU, so every
 * run sees the same per-CPU lists and caches (determinism), while the writer
 * waits killably. A policy of mmlab is replayed by the core on a fresh core
 * (mmlab_replay_run); "host" is replayed here through kmem_cache_create,
 * kmem_cache_alloc/free, kmalloc/kfree and alloc_pages/__free_pages and
 * measured from the host's own counters (see mmlab_replay_host()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/vmstat.h>

#include "compat.h"
#include "mmlab.h"

/* One command line, and one write of commands (a trace may be longer). */
#define MMLAB_REPLAY_CMD_MAX		256
#define MMLAB_REPLAY_WRITE_MAX		4096
/* A trace written to `replay`: at most this much text (1M ops fit). */
#define MMLAB_REPLAY_LOAD_MAX		(128u << 20)
/* Fresh core of a run: capacity unless capacity_mb= says otherwise. */
#define MMLAB_REPLAY_CAPACITY_MB	256
/* Host run: progress line and rescheduling point every this many ops. */
#define MMLAB_REPLAY_PROGRESS_OPS	(1u << 16)
#define MMLAB_REPLAY_HOST_ZONES		8

/* Columns of the report, in the order of the spec's table. */
enum mmlab_replay_column { MMLAB_COL_SLAB, MMLAB_COL_SLUB, MMLAB_COL_SLOB, MMLAB_COL_HOST,
			   MMLAB_NR_COLS };
static const char *const mmlab_replay_columns[MMLAB_NR_COLS] = { "slab", "slub", "slob",
								 "host" };

/*
 * run_lock: the current trace, loads, generates and runs (held for a whole
 * run). res_lock: the results, so `replay` can be read during a run.
 */
static DEFINE_MUTEX(mmlab_replay_run_lock);
static struct mmlab_replay_trace *mmlab_replay_cur;	/* under run_lock */
static DEFINE_MUTEX(mmlab_replay_res_lock);
static struct mmlab_replay_result mmlab_replay_res[MMLAB_NR_COLS];	/* under res_lock */
static bool mmlab_replay_have[MMLAB_NR_COLS];
static char mmlab_replay_res_trace[64];		/* name of the trace they belong to */
static char mmlab_replay_load_err[160];		/* why the last load was refused */
static u64 mmlab_replay_host_seq;		/* host cache names, under run_lock */

/*
 * User input echoed into the kernel log: bytes outside printable ASCII and
 * ':' become '?' (as debugfs.c's bench does), so no write can forge a
 * kernel report line.
 */
static void mmlab_replay_sanitize(char *s)
{
	for (; *s; s++) {
		if (*s < 0x20 || *s > 0x7e || *s == ':')
			*s = '?';
	}
}

/*
 * Runs every line of a command write in order, stopping at the first
 * failure. Empty lines and lines starting with '#' are comments (as in
 * dynamic_debug's control), so the text a file shows can be written back.
 */
static int mmlab_replay_lines(const char *file, const char __user *ubuf, size_t count,
			      int (*cmd)(char *line))
{
	char *buf, *p, *line;
	int err = 0;

	if (count > MMLAB_REPLAY_WRITE_MAX) {
		pr_warn_ratelimited("%s: write of %zu bytes refused (at most %d)\n", file, count,
				    MMLAB_REPLAY_WRITE_MAX);
		return -EINVAL;
	}
	buf = memdup_user_nul(ubuf, count);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	p = buf;
	while (!err && (line = strsep(&p, "\n"))) {
		line = strim(line);
		if (!*line || *line == '#')
			continue;
		mmlab_replay_sanitize(line);
		if (strlen(line) >= MMLAB_REPLAY_CMD_MAX) {
			pr_warn_ratelimited("%s: command of %zu bytes refused (at most %d)\n", file,
					    strlen(line), MMLAB_REPLAY_CMD_MAX - 1);
			err = -EINVAL;
			break;
		}
		err = cmd(line);
	}
	kfree(buf);
	return err;
}

/* "word" or "word ..." at the start of s: the rest (spaces skipped), or NULL. */
static char *mmlab_replay_word(char *s, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(s, word, n) || (s[n] && s[n] != ' ' && s[n] != '\t'))
		return NULL;
	return skip_spaces(s + n);
}

/* ---- trace (recording) ------------------------------------------------------ */

static int mmlab_trace_show(struct seq_file *m, void *v)
{
	return mmlab_status_to_errno(mmlab_core_render_trace(mmlab_core, mmlab_seq_emit, m));
}

static int mmlab_trace_open(struct inode *inode, struct file *file)
{
	return single_open(file, mmlab_trace_show, NULL);
}

static int mmlab_trace_cmd(char *cmd)
{
	u32 events = 0;
	char *arg;
	int err = 0;

	if ((arg = mmlab_replay_word(cmd, "on"))) {
		if (*arg && (strncmp(arg, "events=", 7) || kstrtou32(arg + 7, 0, &events) ||
			     events < MMLAB_TRACE_EVENTS_MIN || events > MMLAB_TRACE_EVENTS_MAX)) {
			pr_warn_ratelimited("trace: bad argument '%s' (events=N per CPU, %u..%u)\n",
					    arg, MMLAB_TRACE_EVENTS_MIN, MMLAB_TRACE_EVENTS_MAX);
			return -EINVAL;
		}
		err = mmlab_status_to_errno(mmlab_core_trace_set(mmlab_core, 1, events));
		if (!err)
			pr_info("trace: recording, %u events per CPU\n",
				events ? events : MMLAB_TRACE_EVENTS_DEFAULT);
	} else if ((arg = mmlab_replay_word(cmd, "off")) && !*arg) {
		err = mmlab_status_to_errno(mmlab_core_trace_set(mmlab_core, 0, 0));
	} else if ((arg = mmlab_replay_word(cmd, "clear")) && !*arg) {
		mmlab_core_trace_clear(mmlab_core);
	} else {
		pr_warn_ratelimited("trace: unknown command '%s' (try: on [events=N], off, clear)\n",
				    cmd);
		return -EINVAL;
	}
	return err;
}

static ssize_t mmlab_trace_write(struct file *file, const char __user *ubuf, size_t count,
				 loff_t *ppos)
{
	int err = mmlab_replay_lines("trace", ubuf, count, mmlab_trace_cmd);

	return err ? err : count;
}

static const struct file_operations mmlab_trace_fops = {
	.owner = THIS_MODULE,
	.open = mmlab_trace_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
	.write = mmlab_trace_write,
};

static int mmlab_extfrag_show(struct seq_file *m, void *v)
{
	mmlab_core_render_extfrag(mmlab_core, mmlab_seq_emit, m);
	return 0;
}

static int mmlab_extfrag_open(struct inode *inode, struct file *file)
{
	return single_open(file, mmlab_extfrag_show, NULL);
}

static const struct file_operations mmlab_extfrag_fops = {
	.owner = THIS_MODULE,
	.open = mmlab_extfrag_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

/* ---- the host's allocators ------------------------------------------------ */

enum mmlab_hslot_kind { MMLAB_HSLOT_FREE, MMLAB_HSLOT_KMALLOC, MMLAB_HSLOT_CACHE,
			MMLAB_HSLOT_PAGES };

struct mmlab_hslot {
	void *p;		/* object, or struct page * for pages; NULL: none */
	u32 kind;		/* enum mmlab_hslot_kind */
	u32 cache;		/* MMLAB_HSLOT_CACHE */
	u32 order;		/* MMLAB_HSLOT_PAGES */
	u32 bytes;		/* requested */
};

struct mmlab_hcache {
	struct kmem_cache *s;	/* NULL: not created (or creation failed) */
	u32 size;
	bool ctor;		/* the host cache has a constructor */
};

struct mmlab_hrun {
	struct mmlab_hslot *slot;
	struct mmlab_hcache *cache;
	u32 nr_slots, nr_caches;
	u64 live_bytes;		/* requested by the live slots */
	u64 own_pages;		/* pages of alloc_pages slots (not in the slab counters) */
	long slab_base;		/* slab pages of the whole host before the run */
	u64 failures;
	struct zone *zone[MMLAB_REPLAY_HOST_ZONES];	/* zones the memory came from */
	u64 zone_hits[MMLAB_REPLAY_HOST_ZONES];
};

/*
 * The host's slab pages (NR_SLAB_RECLAIMABLE_B + NR_SLAB_UNRECLAIMABLE_B,
 * which include large kmallocs), exactly: the global counters plus every
 * CPU's not yet folded delta, as the vmstat snapshot helpers add them up.
 * Without the deltas a reading would be up to stat_threshold pages per CPU
 * off.
 */
static long mmlab_replay_host_slab_pages(void)
{
	static const enum node_stat_item items[] = { NR_SLAB_RECLAIMABLE_B,
						     NR_SLAB_UNRECLAIMABLE_B };
	long pages = 0;
	unsigned int i;
	int nid, cpu;

	for (i = 0; i < ARRAY_SIZE(items); i++) {
		pages += global_node_page_state_pages(items[i]);
		for_each_online_node(nid) {
			struct pglist_data *pgdat = NODE_DATA(nid);

			for_each_online_cpu(cpu)
				pages += READ_ONCE(per_cpu_ptr(pgdat->per_cpu_nodestats, cpu)
							   ->vm_node_stat_diff[items[i]]);
		}
	}
	return pages;
}

/*
 * Empty slabs of the host's kmalloc caches (a previous run's, mostly) back
 * to the page allocator, so that a run does not get them for free; the
 * free slots in partly used slabs stay (other users' objects live there).
 */
static void mmlab_replay_host_shrink_kmalloc(void)
{
	unsigned int t, i;

	for (t = 0; t < NR_KMALLOC_TYPES; t++)
		for (i = 0; i <= KMALLOC_SHIFT_HIGH; i++)
			if (kmalloc_caches[t][i])
				kmem_cache_shrink(kmalloc_caches[t][i]);
}

/* Pages the run holds now: its slab growth plus its page allocations. */
static u64 mmlab_replay_host_pages(struct mmlab_hrun *h)
{
	long slab = mmlab_replay_host_slab_pages() - h->slab_base;

	return (slab > 0 ? slab : 0) + h->own_pages;
}

/*
 * mmlab's gfp as the host's: the sleeping class (GFP_KERNEL, GFP_NOFS,
 * GFP_NOIO) when the op may reclaim directly, GFP_ATOMIC when it asked for
 * the reserves, else GFP_NOWAIT; __GFP_ZERO and the retry modifiers as
 * given; __GFP_DMA32 only for pages (kmalloc refuses it). Failures are
 * counted, not warned about.
 */
static gfp_t mmlab_replay_host_gfp(u32 mgfp, bool pages)
{
	gfp_t gfp;

	if (mgfp & MMLAB___GFP_DIRECT_RECLAIM) {
		gfp = __GFP_RECLAIM;
		if (mgfp & MMLAB___GFP_IO)
			gfp |= __GFP_IO;
		if (mgfp & MMLAB___GFP_FS)
			gfp |= __GFP_FS;
	} else if (mgfp & MMLAB___GFP_HIGH) {
		gfp = GFP_ATOMIC;
	} else {
		gfp = GFP_NOWAIT;
	}
	if (mgfp & MMLAB___GFP_ZERO)
		gfp |= __GFP_ZERO;
	if (mgfp & MMLAB___GFP_NORETRY)
		gfp |= __GFP_NORETRY;
	else if (mgfp & MMLAB___GFP_RETRY_MAYFAIL)
		gfp |= __GFP_RETRY_MAYFAIL;
	if (pages && (mgfp & MMLAB___GFP_DMA32))
		gfp |= __GFP_DMA32;
	return gfp | __GFP_NOWARN;
}

static void mmlab_replay_host_zone_hit(struct mmlab_hrun *h, struct zone *z, u64 n)
{
	unsigned int i;

	for (i = 0; i < MMLAB_REPLAY_HOST_ZONES; i++) {
		if (!h->zone[i])
			h->zone[i] = z;
		if (h->zone[i] == z) {
			h->zone_hits[i] += n;
			return;
		}
	}
}

/* The host caches' constructors: nothing to do (see the cache flags below). */
static void mmlab_replay_host_ctor_none(void *obj)
{
}

/* For traces whose cache has a constructor: a token one-word store. */
static void mmlab_replay_host_ctor_word(void *obj)
{
	*(unsigned long *)obj = 0xc7c7c7c7c7c7c7c7ul;
}

static slab_flags_t mmlab_replay_host_slab_flags(u32 f)
{
	slab_flags_t flags = MMLAB_HOST_SLAB_NO_MERGE;	/* 0 before 6.5 */

	if (f & MMLAB_SLAB_HWCACHE_ALIGN)
		flags |= SLAB_HWCACHE_ALIGN;
	if (f & MMLAB_SLAB_CACHE_DMA32)
		flags |= SLAB_CACHE_DMA32;
	if (f & MMLAB_SLAB_RECLAIM_ACCOUNT)
		flags |= SLAB_RECLAIM_ACCOUNT;
	if (f & MMLAB_SLAB_ACCOUNT)
		flags |= SLAB_ACCOUNT;
	/* Debug flags (F Z P U) as the host's: they cost space, as in mmlab. */
	if (f & MMLAB_SLAB_CONSISTENCY_CHECKS)
		flags |= SLAB_CONSISTENCY_CHECKS;
	if (f & MMLAB_SLAB_RED_ZONE)
		flags |= SLAB_RED_ZONE;
	if (f & MMLAB_SLAB_POISON)
		flags |= SLAB_POISON;
	if (f & MMLAB_SLAB_STORE_USER)
		flags |= SLAB_STORE_USER;
	return flags;
}

static void mmlab_replay_host_cache_create(struct mmlab_hrun *h,
					   const struct mmlab_replay_trace *trace, u32 c)
{
	const struct mmlab_replay_cache_info *ci = mmlab_replay_cache_at(trace, c);
	struct mmlab_hcache *hc = &h->cache[c];
	void (*ctor)(void *) = NULL;
	char name[48];
	char *p;

	if (!ci || hc->s || !ci->size || ci->size > KMALLOC_MAX_SIZE) {
		h->failures++;
		return;
	}
	/* Unique on the host (sysfs refuses a second unmergeable cache of a name). */
	snprintf(name, sizeof(name), "mmlab_r%llu_%s", ++mmlab_replay_host_seq, ci->name);
	for (p = name; *p; p++)
		if (!isalnum(*p) && *p != '_' && *p != '-')
			*p = '_';
	if (ci->ctor)
		ctor = mmlab_replay_host_ctor_word;
	else if (!MMLAB_HOST_HAS_SLAB_NO_MERGE)
		ctor = mmlab_replay_host_ctor_none;
	hc->s = kmem_cache_create(name, ci->size, ci->align,
				  mmlab_replay_host_slab_flags(ci->flags), ctor);
	hc->size = ci->size;
	hc->ctor = ctor != NULL;
	if (!hc->s)
		h->failures++;
}

static void mmlab_replay_host_free(struct mmlab_hrun *h, u32 i)
{
	struct mmlab_hslot *sl = &h->slot[i];

	switch (sl->kind) {
	case MMLAB_HSLOT_KMALLOC:
		kfree(sl->p);
		break;
	case MMLAB_HSLOT_CACHE:
		kmem_cache_free(h->cache[sl->cache].s, sl->p);
		break;
	case MMLAB_HSLOT_PAGES:
		__free_pages(sl->p, sl->order);
		h->own_pages -= 1ull << sl->order;
		break;
	default:
		return;
	}
	h->live_bytes -= sl->bytes;
	memset(sl, 0, sizeof(*sl));
}

static void mmlab_replay_host_cache_destroy(struct mmlab_hrun *h, u32 c)
{
	u32 i;

	if (!h->cache[c].s)
		return;
	for (i = 0; i < h->nr_slots; i++)
		if (h->slot[i].kind == MMLAB_HSLOT_CACHE && h->slot[i].cache == c)
			mmlab_replay_host_free(h, i);
	kmem_cache_destroy(h->cache[c].s);
	h->cache[c].s = NULL;
}

/* One allocation op into its slot; false if the host said no. */
static bool mmlab_replay_host_alloc(struct mmlab_hrun *h, const struct mmlab_replay_op *op)
{
	struct mmlab_hslot *sl = &h->slot[op->slot];
	struct mmlab_hcache *hc;
	struct page *page;
	void *obj = NULL;
	gfp_t gfp;

	if (sl->kind != MMLAB_HSLOT_FREE)	/* the parser never does this */
		mmlab_replay_host_free(h, op->slot);
	switch (op->op) {
	case MMLAB_REPLAY_KMALLOC:
		obj = kmalloc(op->size, mmlab_replay_host_gfp(op->gfp, false));
		if (!obj)
			return false;
		sl->kind = MMLAB_HSLOT_KMALLOC;
		sl->bytes = op->size;
		break;
	case MMLAB_REPLAY_CACHE_ALLOC:
		if (op->cache >= h->nr_caches || !h->cache[op->cache].s)
			return false;
		hc = &h->cache[op->cache];
		gfp = mmlab_replay_host_gfp(op->gfp, false);
		/* SLUB warns about __GFP_ZERO on a cache with a constructor. */
		if (hc->ctor)
			gfp &= ~__GFP_ZERO;
		obj = kmem_cache_alloc(hc->s, gfp);
		if (!obj)
			return false;
		if (hc->ctor && (op->gfp & MMLAB___GFP_ZERO))
			memset(obj, 0, hc->size);
		sl->kind = MMLAB_HSLOT_CACHE;
		sl->cache = op->cache;
		sl->bytes = hc->size;
		break;
	case MMLAB_REPLAY_ALLOC_PAGES:
		if (op->order > MMLAB_HOST_MAX_ORDER)
			return false;
		page = alloc_pages(mmlab_replay_host_gfp(op->gfp, true), op->order);
		if (!page)
			return false;
		sl->kind = MMLAB_HSLOT_PAGES;
		sl->order = op->order;
		sl->bytes = PAGE_SIZE << op->order;
		h->own_pages += 1ull << op->order;
		mmlab_replay_host_zone_hit(h, page_zone(page), 1ull << op->order);
		sl->p = page;
		h->live_bytes += sl->bytes;
		return true;
	default:
		return false;
	}
	if (!ZERO_OR_NULL_PTR(obj))
		mmlab_replay_host_zone_hit(h, page_zone(virt_to_page(obj)), 1);
	sl->p = obj;
	h->live_bytes += sl->bytes;
	return true;
}

/*
 * Linux's extfrag_index of the host zone most of the run's memory came
 * from, computed by the core's formula from that zone's free_area counts
 * (read without the zone lock, as /sys/kernel/debug/extfrag does).
 */
static void mmlab_replay_host_extfrag(struct mmlab_hrun *h, struct mmlab_replay_result *res)
{
	u64 nr_free[MMLAB_EXTFRAG_ORDERS] = {};
	struct zone *z = NULL;
	unsigned int i, o;
	u64 best = 0;

	for (i = 0; i < MMLAB_REPLAY_HOST_ZONES && h->zone[i]; i++) {
		if (h->zone_hits[i] > best) {
			best = h->zone_hits[i];
			z = h->zone[i];
		}
	}
	if (!z) {
		res->nr_orders = 0;
		return;
	}
	for (o = 0; o < MMLAB_EXTFRAG_ORDERS && o <= MMLAB_HOST_MAX_ORDER; o++)
		nr_free[o] = READ_ONCE(z->free_area[o].nr_free);
	mmlab_extfrag_index(nr_free, res->extfrag);
	res->nr_orders = min_t(unsigned int, MMLAB_EXTFRAG_ORDERS, MMLAB_HOST_MAX_ORDER + 1);
	pr_info("replay: host extfrag from Node %d, zone %s\n", zone_to_nid(z), z->name);
}

/*
 * Replay through the host's allocators, on the calling (bound) thread.
 *
 * Pages held: the growth of the host's slab counters since the start (all
 * of the host's slab pages, so other activity on the machine is noise in
 * it; the replay's own caches, the shared kmalloc caches and large
 * kmallocs are in it) plus the pages of the run's alloc_pages ops, which
 * are counted here. Sampled after every op; the peak is the largest
 * sample. Objects that land in free slots of slabs the host already had
 * cost no new page, so the figure is a lower bound of what the trace
 * needs (and the waste, clamped at 0, can read 0). The time is the
 * allocator calls' own, each op bracketed by ktime_get_ns() (sampling
 * excluded).
 */
static int mmlab_replay_host(const struct mmlab_replay_trace *trace,
			     struct mmlab_replay_result *res, const atomic_t *stop,
			     u64 budget_pages)
{
	struct mmlab_replay_trace_info info;
	struct mmlab_hrun h = {};
	u64 i, pages = 0, ns = 0, t0;
	int err = 0;
	u32 c;

	mmlab_replay_trace_info(trace, &info);
	memset(res, 0, sizeof(*res));
	strscpy(res->policy, "host", sizeof(res->policy));
	strscpy(res->trace, info.name, sizeof(res->trace));
	h.nr_slots = info.nr_slots;
	h.nr_caches = info.nr_caches;
	h.slot = kvcalloc(max(1u, h.nr_slots), sizeof(*h.slot), GFP_KERNEL);
	h.cache = kvcalloc(max(1u, h.nr_caches), sizeof(*h.cache), GFP_KERNEL);
	if (!h.slot || !h.cache) {
		err = -ENOMEM;
		goto out;
	}
	mmlab_replay_host_shrink_kmalloc();
	h.slab_base = mmlab_replay_host_slab_pages();

	for (i = 0; i < info.nr_ops; i++) {
		const struct mmlab_replay_op *op = mmlab_replay_op_at(trace, i);
		bool alloc = false, ok = true;

		if (!op)
			break;
		if ((op->op == MMLAB_REPLAY_CACHE_CREATE || op->op == MMLAB_REPLAY_CACHE_DESTROY ||
		     op->op == MMLAB_REPLAY_CACHE_ALLOC || op->op == MMLAB_REPLAY_CACHE_FREE) &&
		    op->cache >= h.nr_caches)
			continue;
		if (op->op != MMLAB_REPLAY_CACHE_CREATE && op->op != MMLAB_REPLAY_CACHE_DESTROY &&
		    op->slot >= h.nr_slots)
			continue;
		t0 = ktime_get_ns();
		switch (op->op) {
		case MMLAB_REPLAY_CACHE_CREATE:
			mmlab_replay_host_cache_create(&h, trace, op->cache);
			break;
		case MMLAB_REPLAY_CACHE_DESTROY:
			mmlab_replay_host_cache_destroy(&h, op->cache);
			break;
		case MMLAB_REPLAY_KMALLOC:
		case MMLAB_REPLAY_CACHE_ALLOC:
		case MMLAB_REPLAY_ALLOC_PAGES:
			alloc = true;
			/*
			 * The same capacity as the mmlab columns' fresh core:
			 * what would take the run past it fails there, so it
			 * fails here too, before the host's allocator is asked
			 * (a trace bigger than the VM must not wake its OOM
			 * killer).
			 */
			if (pages + (op->op == MMLAB_REPLAY_ALLOC_PAGES ?
				     1ull << min_t(u32, op->order, 63) :
				     DIV_ROUND_UP((u64)op->size, PAGE_SIZE)) > budget_pages) {
				ok = false;
				break;
			}
			ok = mmlab_replay_host_alloc(&h, op);
			break;
		default:	/* the frees */
			mmlab_replay_host_free(&h, op->slot);
			break;
		}
		ns += ktime_get_ns() - t0;
		if (alloc && !ok)
			h.failures++;

		pages = mmlab_replay_host_pages(&h);
		if (pages > res->peak_pages) {
			res->peak_pages = pages;
			res->peak_requested_bytes = h.live_bytes;
		}
		if (!((i + 1) % MMLAB_REPLAY_PROGRESS_OPS)) {
			pr_info("replay: host: %llu of %llu ops\n", i + 1, info.nr_ops);
			cond_resched();
			if (atomic_read(stop)) {
				err = -EINTR;
				break;
			}
		}
	}
	res->ops = i;
	res->final_pages = mmlab_replay_host_pages(&h);
	res->failures = h.failures;
	res->ns_total = ns;
	if (res->peak_pages * PAGE_SIZE > res->peak_requested_bytes)
		res->peak_waste_bytes = res->peak_pages * PAGE_SIZE - res->peak_requested_bytes;
	mmlab_replay_host_extfrag(&h, res);

out:
	/* Everything back: what the trace left live, then every cache. */
	if (h.slot) {
		for (i = 0; i < h.nr_slots; i++)
			mmlab_replay_host_free(&h, i);
	}
	if (h.cache) {
		for (c = 0; c < h.nr_caches; c++)
			mmlab_replay_host_cache_destroy(&h, c);
	}
	kvfree(h.slot);
	kvfree(h.cache);
	mmlab_replay_host_shrink_kmalloc();
	return err;
}

/* ---- runs on one CPU ------------------------------------------------------ */

struct mmlab_replay_job {
	const struct mmlab_replay_trace *trace;
	struct mmlab_core_config cfg;
	bool want[MMLAB_NR_COLS];
	struct mmlab_replay_result res[MMLAB_NR_COLS];
	bool done_col[MMLAB_NR_COLS];
	unsigned int cpu;
	int err;
	char why[160];
	atomic_t stop;		/* the writer got a fatal signal */
	struct completion done;
};

static void mmlab_replay_log_result(const struct mmlab_replay_result *r)
{
	u64 ns_per_op = r->ops ? div64_u64(r->ns_total, r->ops) : 0;

	pr_info("replay: %s: ops %llu failures %llu peak_pages %llu final_pages %llu ns_per_op %llu\n",
		r->policy, r->ops, r->failures, r->peak_pages, r->final_pages, ns_per_op);
}

static int mmlab_replay_thread(void *data)
{
	struct mmlab_replay_job *job = data;
	unsigned int col;

	for (col = 0; col < MMLAB_NR_COLS && !job->err; col++) {
		if (!job->want[col])
			continue;
		if (atomic_read(&job->stop)) {
			job->err = -EINTR;
			break;
		}
		pr_info("replay: %s on CPU %u\n", mmlab_replay_columns[col], job->cpu);
		if (col == MMLAB_COL_HOST) {
			job->err = mmlab_replay_host(job->trace, &job->res[col], &job->stop,
						     job->cfg.capacity_pages);
		} else {
			enum mmlab_status st;

			st = mmlab_replay_run(job->trace, &job->cfg, mmlab_replay_columns[col],
					      &job->res[col], job->why, sizeof(job->why));
			job->err = mmlab_status_to_errno(st);
		}
		if (!job->err) {
			job->done_col[col] = true;
			mmlab_replay_log_result(&job->res[col]);
		}
	}
	kthread_complete_and_exit(&job->done, 0);
}

/* Is @name a policy the core accepts in this build? */
static bool mmlab_replay_core_has(const char *name)
{
	const char *p;
	u32 i;

	for (i = 0; (p = mmlab_replay_policy_name(i)); i++)
		if (!strcmp(p, name))
			return true;
	return false;
}

/* The fresh core of a run: as the module's own, with its own capacity. */
static int mmlab_replay_config(struct mmlab_core_config *cfg, unsigned int capacity_mb)
{
	u64 chunk_pages, pages;

	memset(cfg, 0, sizeof(*cfg));
	cfg->chunk_order = min_t(unsigned int, MMLAB_MAX_CHUNK_ORDER, MMLAB_HOST_MAX_ORDER);
	chunk_pages = 1ull << cfg->chunk_order;
	pages = round_down(((u64)capacity_mb << 20) >> PAGE_SHIFT, chunk_pages);
	if (!capacity_mb || capacity_mb > (1u << 20) || pages < chunk_pages)
		return -EINVAL;
	cfg->capacity_pages = pages;
	if (!mmlab_host_has_normal()) {
		cfg->zone_pages[MMLAB_ZONE_DMA32] = pages;
		cfg->zone_pages[MMLAB_ZONE_NORMAL] = 0;
	}
	return 0;
}

/* run policy=<p> [capacity_mb=N] [min_free_kbytes=N]; under run_lock. */
static int mmlab_replay_cmd_run(char *args)
{
	unsigned int capacity_mb = MMLAB_REPLAY_CAPACITY_MB, min_free_kbytes = 0, col;
	struct mmlab_replay_job *job;
	struct task_struct *t;
	char *tok, *policy = NULL;
	int err;

	while ((tok = strsep(&args, " \t"))) {
		if (!*tok)
			continue;
		if (!strncmp(tok, "policy=", 7)) {
			policy = tok + 7;
		} else if (!strncmp(tok, "capacity_mb=", 12)) {
			if (kstrtouint(tok + 12, 10, &capacity_mb)) {
				pr_warn_ratelimited("replay: run: bad number in '%s'\n", tok);
				return -EINVAL;
			}
		} else if (!strncmp(tok, "min_free_kbytes=", 16)) {
			if (kstrtouint(tok + 16, 10, &min_free_kbytes)) {
				pr_warn_ratelimited("replay: run: bad number in '%s'\n", tok);
				return -EINVAL;
			}
		} else {
			pr_warn_ratelimited("replay: run: unknown argument '%s' (policy=slab|slub|slob|host|all [capacity_mb=N] [min_free_kbytes=N])\n",
					    tok);
			return -EINVAL;
		}
	}
	if (!policy) {
		pr_warn_ratelimited("replay: run: policy= missing (slab|slub|slob|host|all)\n");
		return -EINVAL;
	}
	if (!mmlab_replay_cur) {
		pr_warn_ratelimited("replay: run: no trace loaded (write 'generate ...' or a trace first)\n");
		return -EINVAL;
	}
	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		return -ENOMEM;
	if (mmlab_replay_config(&job->cfg, capacity_mb)) {
		pr_warn_ratelimited("replay: run: capacity_mb=%u refused (at least one 4 MiB chunk, at most 1 TiB)\n",
				    capacity_mb);
		err = -EINVAL;
		goto out;
	}
	/* The fresh core's watermarks (0: derived from the capacity, as Linux). */
	if ((u64)min_free_kbytes * 1024 >= job->cfg.capacity_pages * PAGE_SIZE / 4) {
		pr_warn_ratelimited("replay: run: min_free_kbytes=%u refused (below a quarter of capacity_mb=%u)\n",
				    min_free_kbytes, capacity_mb);
		err = -EINVAL;
		goto out;
	}
	job->cfg.min_free_kbytes = min_free_kbytes;
	for (col = 0; col < MMLAB_NR_COLS; col++) {
		bool all = !strcmp(policy, "all");

		if (!all && strcmp(policy, mmlab_replay_columns[col]))
			continue;
		/* "all" runs the policies this build has; a named one must exist. */
		if (col != MMLAB_COL_HOST && !mmlab_replay_core_has(mmlab_replay_columns[col])) {
			if (all)
				continue;
			pr_warn_ratelimited("replay: run: policy %s is not in this build\n", policy);
			err = -EINVAL;
			goto out;
		}
		job->want[col] = true;
	}
	for (col = 0; col < MMLAB_NR_COLS && !job->want[col]; col++)
		;
	if (col == MMLAB_NR_COLS) {
		pr_warn_ratelimited("replay: run: unknown policy '%s' (slab|slub|slob|host|all)\n",
				    policy);
		err = -EINVAL;
		goto out;
	}

	job->trace = mmlab_replay_cur;
	job->cpu = cpumask_first(cpu_online_mask);
	atomic_set(&job->stop, 0);
	init_completion(&job->done);
	t = kthread_create(mmlab_replay_thread, job, "mmlab_replay");
	if (IS_ERR(t)) {
		err = PTR_ERR(t);
		goto out;
	}
	kthread_bind(t, job->cpu);
	wake_up_process(t);
	if (wait_for_completion_killable(&job->done)) {
		/* Stops between policies and every few thousand host ops. */
		atomic_set(&job->stop, 1);
		wait_for_completion(&job->done);
	}
	err = job->err;
	if (err == -EINVAL)
		pr_warn_ratelimited("replay: run: %s\n", job->why);

	/* Keep what finished, even when a later policy failed. */
	mutex_lock(&mmlab_replay_res_lock);
	for (col = 0; col < MMLAB_NR_COLS; col++) {
		if (!job->done_col[col])
			continue;
		mmlab_replay_res[col] = job->res[col];
		mmlab_replay_have[col] = true;
	}
	mutex_unlock(&mmlab_replay_res_lock);
out:
	kfree(job);
	return err;
}

/* A new current trace (run_lock held): results of the old one go. */
static void mmlab_replay_install(struct mmlab_replay_trace *trace)
{
	struct mmlab_replay_trace_info info;

	mmlab_replay_free(mmlab_replay_cur);
	mmlab_replay_cur = trace;
	mmlab_replay_trace_info(trace, &info);
	mutex_lock(&mmlab_replay_res_lock);
	memset(mmlab_replay_have, 0, sizeof(mmlab_replay_have));
	strscpy(mmlab_replay_res_trace, info.name, sizeof(mmlab_replay_res_trace));
	mmlab_replay_load_err[0] = '\0';
	mutex_unlock(&mmlab_replay_res_lock);
	pr_info("replay: trace %s: %llu ops, %u slots, %u caches\n", info.name, info.nr_ops,
		info.nr_slots, info.nr_caches);
}

/* generate workload=<name> seed=<n> ops=<n>; under run_lock. */
static int mmlab_replay_cmd_generate(char *args)
{
	struct mmlab_replay_trace *trace;
	char *tok, *workload = NULL, why[160];
	u64 seed = 0, ops = 0;
	bool have_seed = false;
	enum mmlab_status st;

	while ((tok = strsep(&args, " \t"))) {
		if (!*tok)
			continue;
		if (!strncmp(tok, "workload=", 9)) {
			workload = tok + 9;
		} else if (!strncmp(tok, "seed=", 5)) {
			if (kstrtou64(tok + 5, 0, &seed))
				goto bad_num;
			have_seed = true;
		} else if (!strncmp(tok, "ops=", 4)) {
			if (kstrtou64(tok + 4, 0, &ops))
				goto bad_num;
		} else {
			pr_warn_ratelimited("replay: generate: unknown argument '%s' (workload=<name> seed=<n> ops=<n>)\n",
					    tok);
			return -EINVAL;
		}
	}
	if (!workload || !have_seed || !ops) {
		pr_warn_ratelimited("replay: generate: needs workload=<name> seed=<n> ops=<n>\n");
		return -EINVAL;
	}
	why[0] = '\0';
	st = mmlab_replay_generate(workload, seed, ops, &trace, why, sizeof(why));
	if (st != MMLAB_OK) {
		if (st == MMLAB_EINVAL)
			pr_warn_ratelimited("replay: generate: %s\n", why);
		return mmlab_status_to_errno(st);
	}
	mmlab_replay_install(trace);
	return 0;
bad_num:
	pr_warn_ratelimited("replay: generate: bad number in '%s'\n", tok);
	return -EINVAL;
}

/* ---- the replay file ------------------------------------------------------ */

struct mmlab_replay_file {
	struct mutex lock;	/* the load buffer */
	bool loading;		/* a trace is being written: append until close */
	char *buf;
	size_t len, cap;
};

static int mmlab_replay_show(struct seq_file *m, void *v)
{
	unsigned int col, n = 0;
	struct mmlab_replay_result rows[MMLAB_NR_COLS];

	if (mutex_lock_killable(&mmlab_replay_res_lock))
		return -EINTR;
	for (col = 0; col < MMLAB_NR_COLS; col++)
		if (mmlab_replay_have[col])
			rows[n++] = mmlab_replay_res[col];
	if (mmlab_replay_load_err[0])
		seq_printf(m, "# last load refused: %s\n", mmlab_replay_load_err);
	if (!mmlab_replay_res_trace[0])
		seq_puts(m, "# no trace: write 'generate workload=<name> seed=<n> ops=<n>' or a trace\n");
	else if (!n)
		seq_printf(m, "# trace %s: no runs yet: write 'run policy=slab|slub|slob|host|all'\n",
			   mmlab_replay_res_trace);
	mutex_unlock(&mmlab_replay_res_lock);
	for (col = 0; col < n; col++)
		mmlab_replay_render_result(&rows[col], mmlab_seq_emit, m);
	if (n) {
		seq_putc(m, '\n');
		mmlab_replay_render_report(rows, n, mmlab_seq_emit, m);
	}
	return 0;
}

static int mmlab_replay_open(struct inode *inode, struct file *file)
{
	struct mmlab_replay_file *rf = kzalloc(sizeof(*rf), GFP_KERNEL);
	int err;

	if (!rf)
		return -ENOMEM;
	mutex_init(&rf->lock);
	err = single_open(file, mmlab_replay_show, rf);
	if (err) {
		kfree(rf);
		return err;
	}
	return 0;
}

static struct mmlab_replay_file *mmlab_replay_rf(struct file *file)
{
	return ((struct seq_file *)file->private_data)->private;
}

/* Append user bytes to the load buffer, growing it; rf->lock held. */
static int mmlab_replay_append(struct mmlab_replay_file *rf, const char __user *ubuf,
			       size_t count)
{
	if (count > MMLAB_REPLAY_LOAD_MAX - rf->len) {
		pr_warn_ratelimited("replay: load: trace over %u MiB refused\n",
				    MMLAB_REPLAY_LOAD_MAX >> 20);
		return -EINVAL;
	}
	if (rf->len + count > rf->cap) {
		size_t cap = max_t(size_t, rf->cap * 2, max_t(size_t, rf->len + count, 64 << 10));
		char *buf;

		cap = min_t(size_t, cap, MMLAB_REPLAY_LOAD_MAX);
		buf = kvmalloc(cap, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		if (rf->len)
			memcpy(buf, rf->buf, rf->len);
		kvfree(rf->buf);
		rf->buf = buf;
		rf->cap = cap;
	}
	if (copy_from_user(rf->buf + rf->len, ubuf, count))
		return -EFAULT;
	rf->len += count;
	return 0;
}

static void mmlab_replay_drop_load(struct mmlab_replay_file *rf)
{
	kvfree(rf->buf);
	rf->buf = NULL;
	rf->len = rf->cap = 0;
	rf->loading = false;
}

/* One command line of `replay`; run_lock held. */
static int mmlab_replay_cmd(char *cmd)
{
	char *args;

	if ((args = mmlab_replay_word(cmd, "run")))
		return mmlab_replay_cmd_run(args);
	if ((args = mmlab_replay_word(cmd, "generate")))
		return mmlab_replay_cmd_generate(args);
	pr_warn_ratelimited("replay: unknown command '%s' (try: generate workload=<name> seed=<n> ops=<n>, run policy=<p>|all [capacity_mb=N] [min_free_kbytes=N], load + a trace)\n",
			    cmd);
	return -EINVAL;
}

static ssize_t mmlab_replay_write(struct file *file, const char __user *ubuf, size_t count,
				  loff_t *ppos)
{
	static const char magic[] = "# mmlab-trace";
	struct mmlab_replay_file *rf = mmlab_replay_rf(file);
	char head[32];
	size_t n = min_t(size_t, count, sizeof(head) - 1);
	int err;

	mutex_lock(&rf->lock);
	if (rf->loading) {
		err = mmlab_replay_append(rf, ubuf, count);
		goto out;
	}
	if (copy_from_user(head, ubuf, n)) {
		err = -EFAULT;
		goto out;
	}
	head[n] = '\0';
	/* A trace: the text itself, or "load" on a line of its own before it. */
	if (!strncmp(head, magic, sizeof(magic) - 1)) {
		rf->loading = true;
		err = mmlab_replay_append(rf, ubuf, count);
		goto out;
	}
	if (!strncmp(head, "load", 4) && (n == 4 || head[4] == '\n' ||
					  (head[4] == '\r' && n > 5 && head[5] == '\n'))) {
		size_t skip = n == 4 ? 4 : head[4] == '\n' ? 5 : 6;

		rf->loading = true;
		err = mmlab_replay_append(rf, ubuf + skip, count - skip);
		goto out;
	}
	mutex_unlock(&rf->lock);

	if (mutex_lock_killable(&mmlab_replay_run_lock))
		return -EINTR;
	err = mmlab_replay_lines("replay", ubuf, count, mmlab_replay_cmd);
	mutex_unlock(&mmlab_replay_run_lock);
	return err ? err : count;
out:
	if (err)
		mmlab_replay_drop_load(rf);
	mutex_unlock(&rf->lock);
	return err ? err : count;
}

/*
 * close(2) of a file that was loading a trace: parse it and make it the
 * current trace. The error (a parse error is -EINVAL with the line in the
 * log) is close's return value.
 */
static int mmlab_replay_flush(struct file *file, fl_owner_t id)
{
	struct mmlab_replay_file *rf = mmlab_replay_rf(file);
	struct mmlab_replay_trace *trace = NULL;
	struct mmlab_replay_trace_info info;
	enum mmlab_status st;
	char why[160];
	int err = 0;

	mutex_lock(&rf->lock);
	if (!rf->loading)
		goto out;
	why[0] = '\0';
	st = mmlab_replay_parse(rf->buf ? rf->buf : "", rf->len, &trace, why, sizeof(why));
	/*
	 * The core logs why it refused a trace ("replay: trace refused: line
	 * N: ..."); `replay` shows it too, as shells ignore close()'s error.
	 */
	err = mmlab_status_to_errno(st);
	if (err) {
		mutex_lock(&mmlab_replay_res_lock);
		if (st == MMLAB_EINVAL && why[0])
			strscpy(mmlab_replay_load_err, why, sizeof(mmlab_replay_load_err));
		else
			snprintf(mmlab_replay_load_err, sizeof(mmlab_replay_load_err),
				 "error %d", err);
		mutex_unlock(&mmlab_replay_res_lock);
		goto out;
	}
	mmlab_replay_trace_info(trace, &info);
	if (!info.name[0])
		mmlab_replay_set_name(trace, "loaded");
	/* Waits for a run in progress; killed meanwhile, the trace is dropped. */
	if (mutex_lock_killable(&mmlab_replay_run_lock)) {
		mmlab_replay_free(trace);
		err = -EINTR;
		goto out;
	}
	mmlab_replay_install(trace);
	mutex_unlock(&mmlab_replay_run_lock);
out:
	mmlab_replay_drop_load(rf);
	mutex_unlock(&rf->lock);
	return err;
}

static int mmlab_replay_release(struct inode *inode, struct file *file)
{
	struct mmlab_replay_file *rf = mmlab_replay_rf(file);

	mmlab_replay_drop_load(rf);
	mutex_destroy(&rf->lock);
	kfree(rf);
	return single_release(inode, file);
}

static const struct file_operations mmlab_replay_fops = {
	.owner = THIS_MODULE,
	.open = mmlab_replay_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.write = mmlab_replay_write,
	.flush = mmlab_replay_flush,
	.release = mmlab_replay_release,
};

static int mmlab_replay_trace_show(struct seq_file *m, void *v)
{
	if (mutex_lock_killable(&mmlab_replay_run_lock))
		return -EINTR;
	if (mmlab_replay_cur)
		mmlab_replay_render_trace(mmlab_replay_cur, mmlab_seq_emit, m);
	mutex_unlock(&mmlab_replay_run_lock);
	return 0;
}

static int mmlab_replay_trace_open(struct inode *inode, struct file *file)
{
	return single_open(file, mmlab_replay_trace_show, NULL);
}

static const struct file_operations mmlab_replay_trace_fops = {
	.owner = THIS_MODULE,
	.open = mmlab_replay_trace_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

void mmlab_replay_init(struct dentry *dir)
{
	debugfs_create_file("trace", 0600, dir, NULL, &mmlab_trace_fops);
	debugfs_create_file("extfrag_index", 0444, dir, NULL, &mmlab_extfrag_fops);
	/*
	 * Without debugfs's full proxy, which has no ->flush. The proxy guards
	 * against a file removed while in use; these go only at module exit,
	 * and an open file holds the module (the open path takes fops->owner).
	 */
	debugfs_create_file_unsafe("replay", 0600, dir, NULL, &mmlab_replay_fops);
	debugfs_create_file("replay_trace", 0400, dir, NULL, &mmlab_replay_trace_fops);
}

/* After the files are gone: nobody can reach the trace or the results. */
void mmlab_replay_exit(void)
{
	mmlab_replay_free(mmlab_replay_cur);
	mmlab_replay_cur = NULL;
	memset(mmlab_replay_have, 0, sizeof(mmlab_replay_have));
	mmlab_replay_res_trace[0] = '\0';
	mmlab_replay_load_err[0] = '\0';
}
