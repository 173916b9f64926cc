/* SPDX-License-Identifier: GPL-2.0 */
/*
 * host.h - everything the C++ core needs from whatever hosts it.
 *
 * In the kernel this is implemented by module/host_*.c over real kernel
 * primitives (alloc_pages + split_page, spinlock_t, kvmalloc, printk), so
 * lockdep, might_sleep and KASAN see real objects. On the build machine it is
 * a simulation in cxxcore/tests/ over mmap and pthreads.
 *
 * Rules the core follows when calling in:
 *  - mmlab_host_chunk_alloc/free, mmlab_host_meta_alloc/free,
 *    mmlab_host_on_each_cpu, mmlab_host_sleep_us and
 *    mmlab_host_run_in_context are never called with a core lock held or
 *    with interrupts disabled by mmlab_host_local_irq_save (they may sleep
 *    when can_sleep is set or by nature);
 *  - mmlab_host_log, mmlab_host_kswapd_wake and the trace hooks may be
 *    called anywhere (they never sleep).
 */
#ifndef MMLAB_HOST_H
#define MMLAB_HOST_H

#include "mmlab/abi_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A naturally aligned block of 2^order host pages lent to the core. */
struct mmlab_host_chunk {
	void *vaddr;		/* kernel virtual address of the first page */
	uint64_t pfn;		/* page frame number of the first page */
	void *cookie;		/* host's own handle (struct page * in the kernel) */
};

/*
 * Which host zone to borrow from. DMA32: every page below 4 GiB
 * (__GFP_DMA32). NORMAL: only pages of the host's ZONE_NORMAL (above 4 GiB
 * on x86-64); the host refuses rather than fall back to a lower zone, so a
 * machine without memory there simply has an empty Normal zone.
 */
enum mmlab_host_zone {
	MMLAB_HOST_ZONE_ANY = 0,
	MMLAB_HOST_ZONE_DMA32,
	MMLAB_HOST_ZONE_NORMAL,
};

/*
 * Borrow 2^order contiguous pages. Returns 0 and fills *out, or non-zero when
 * the host has none (never warns, never retries hard). If can_sleep is 0 the
 * host must not sleep.
 */
int mmlab_host_chunk_alloc(uint32_t order, enum mmlab_host_zone zone,
			   int can_sleep, struct mmlab_host_chunk *out);
/* Give a chunk back; every one of its pages must be free in the core. */
void mmlab_host_chunk_free(const struct mmlab_host_chunk *chunk, uint32_t order);

/* Zeroed memory for the core's own metadata (descriptor arrays, tables). */
void *mmlab_host_meta_alloc(size_t bytes, int can_sleep);
void mmlab_host_meta_free(void *p, size_t bytes);

/* An IRQ-safe spinning lock (spinlock_t in the kernel). */
struct mmlab_host_lock;
struct mmlab_host_lock *mmlab_host_lock_create(const char *name);
void mmlab_host_lock_destroy(struct mmlab_host_lock *lock);
unsigned long mmlab_host_lock_irqsave(struct mmlab_host_lock *lock);
void mmlab_host_unlock_irqrestore(struct mmlab_host_lock *lock,
				  unsigned long flags);

/* Log levels, printk's numbering. */
enum mmlab_log_level {
	MMLAB_LOG_ERR = 3,
	MMLAB_LOG_WARN = 4,
	MMLAB_LOG_NOTICE = 5,
	MMLAB_LOG_INFO = 6,
	MMLAB_LOG_DEBUG = 7,
};
/*
 * Or'ed into a level by the core for lines that answer a caller's input (a
 * refused control command, a bad free): a loop feeding garbage must not
 * flood the log, so the host may drop such lines (printk_ratelimited).
 * Lines without it are never dropped: the core limits multi-line reports
 * itself, as a whole, so they are never cut in the middle.
 */
#define MMLAB_LOG_RATELIMITED	0x100
/* One line of text, without the trailing newline. Never sleeps. */
void mmlab_host_log(int level, const char *msg);

/*
 * printf-style formatting into a buffer, returning what vsnprintf returns.
 * The core uses only the conversions common to the kernel's and libc's
 * vsnprintf: %d %i %u %x %c %s with l/ll/z modifiers, width, '-' and '0'.
 */
int mmlab_host_vsnprintf(char *buf, size_t size, const char *fmt,
			 __builtin_va_list args);

/* Monotonic nanoseconds. */
uint64_t mmlab_host_now_ns(void);
/*
 * A cheap clock for short latencies on hot paths (the kernel's
 * local_clock(): the TSC, where ktime_get_ns() may read an HPET). Monotonic
 * on one CPU only: a difference taken across a migration may be negative.
 */
uint64_t mmlab_host_clock_ns(void);

/*
 * The pid of the task running now (current->pid; 0 in interrupt context):
 * owner tracking's "pid=" in slab debug reports. Never sleeps.
 */
int32_t mmlab_host_current_pid(void);

/* --- CPUs: what the per-CPU page lists stand on ------------------------------ */

/* Per-CPU arrays are indexed 0..nr_cpu_ids-1 (possible CPUs, fixed at boot). */
uint32_t mmlab_host_nr_cpu_ids(void);
/*
 * Disable interrupts on this CPU (so also preemption and migration) and say
 * which CPU it is: the only protection of the per-CPU lists' fast path.
 * Nests; the flags go back to mmlab_host_local_irq_restore.
 */
unsigned long mmlab_host_local_irq_save(uint32_t *cpu);
void mmlab_host_local_irq_restore(unsigned long flags);
/*
 * Run fn(arg) on every online CPU, each time on that CPU with interrupts
 * disabled, and return when all have run (Linux: on_each_cpu). May sleep;
 * never called with a core lock held.
 */
void mmlab_host_on_each_cpu(void (*fn)(void *arg), void *arg);

/* --- sleeping and the reclaim thread ---------------------------------------- */

/* Linux's might_sleep(): complains (in the kernel) when called atomically. */
void mmlab_host_might_sleep(void);
/* Sleep about usecs microseconds (reclaim back-off, __GFP_NOFAIL retries). */
void mmlab_host_sleep_us(uint32_t usecs);
/*
 * Wake the reclaim thread (mmlab_kswapd), which then calls
 * mmlab_core_kswapd(). Safe from any context, including with interrupts
 * disabled and with core locks held; never sleeps.
 */
void mmlab_host_kswapd_wake(void);

/* --- running a request in atomic context ------------------------------------ */

enum mmlab_host_context {
	MMLAB_HOST_CTX_PROCESS = 0,	/* the caller's own (sleepable) context */
	MMLAB_HOST_CTX_IRQS_OFF,	/* under a spinlock with interrupts off */
	MMLAB_HOST_CTX_TIMER,		/* in a timer callback (softirq) */
};
/*
 * Run fn(arg) once in the given context and wait for it to finish. Used by
 * the control file to prove that atomic allocations never sleep. Called
 * from process context with no core lock held. Returns 0, or non-zero when
 * the context cannot be had (the request is then refused).
 */
int mmlab_host_run_in_context(enum mmlab_host_context ctx,
			      void (*fn)(void *arg), void *arg);

/* --- tracepoints (mmlab:mm_page_alloc, mm_page_free, mm_page_pcpu_drain) ---- */

/* zone is enum mmlab_zone_type; gfp is mmlab's numbering. Never sleep. */
void mmlab_host_trace_page_alloc(uint64_t pfn, uint32_t order, uint32_t gfp,
				 uint32_t zone);
void mmlab_host_trace_page_free(uint64_t pfn, uint32_t order);
void mmlab_host_trace_page_pcpu_drain(uint64_t pfn, uint32_t order);

/*
 * Tracepoints mmlab:kmem_cache_alloc, kmem_cache_free, kmalloc, kfree, with
 * the field names of Linux's kmem: events. ptr is the object's address (the
 * trace buffer hashes nothing; tracefs is root-only, as for kmem:). gfp is
 * mmlab's numbering. Never sleep.
 */
void mmlab_host_trace_kmem_cache_alloc(uintptr_t call_site, const void *ptr, const char *name,
				       size_t bytes_req, size_t bytes_alloc, uint32_t gfp);
void mmlab_host_trace_kmem_cache_free(uintptr_t call_site, const void *ptr, const char *name);
void mmlab_host_trace_kmalloc(uintptr_t call_site, const void *ptr, size_t bytes_req,
			      size_t bytes_alloc, uint32_t gfp);
void mmlab_host_trace_kfree(uintptr_t call_site, const void *ptr);

/* --- waiting (mempool_alloc's sleep) ------------------------------------------ */

/* A wait queue (wait_queue_head_t). Create may sleep. */
struct mmlab_host_waitq;
struct mmlab_host_waitq *mmlab_host_waitq_create(const char *name);
void mmlab_host_waitq_destroy(struct mmlab_host_waitq *wq);
/*
 * Sleep until cond(arg) returns non-zero or timeout_us passes
 * (wait_event_timeout); returns cond's last value. Process context, no core
 * lock held. cond is called with no lock held and must be cheap and safe.
 */
int mmlab_host_wait_event_timeout(struct mmlab_host_waitq *wq, int (*cond)(void *arg),
				  void *arg, uint32_t timeout_us);
/* Wake every waiter (wake_up_all). Any context; never sleeps. */
void mmlab_host_wake_up(struct mmlab_host_waitq *wq);

/* --- virtual mappings (vmalloc's backend) -------------------------------------- */

/*
 * Map the given page frames, in order, into one virtually contiguous
 * kernel range (vmap(pages, nr, VM_MAP, PAGE_KERNEL)). Every pfn is a page
 * of a chunk the host lent. NULL on failure. May sleep.
 */
void *mmlab_host_vmap(const uint64_t *pfns, uint32_t nr_pages);
/* Undo mmlab_host_vmap (vunmap). May sleep. */
void mmlab_host_vunmap(void *addr, uint32_t nr_pages);

/* --- the kernel's own checkers over mmlab's memory (KASAN, kmemleak) ------------ */

/*
 * Which kind of bad access a poisoned range stands for (KASAN's shadow
 * values KASAN_SLAB_FREE, KASAN_SLAB_REDZONE, KASAN_PAGE_FREE).
 */
enum mmlab_host_poison {
	MMLAB_HOST_POISON_SLAB_FREE = 0,	/* a freed slab/kmalloc object */
	MMLAB_HOST_POISON_REDZONE,		/* red zone, padding, slab tail */
	MMLAB_HOST_POISON_PAGE_FREE,		/* a free page in mmlab's buddy */
};

/*
 * An object of `size` bytes at obj was handed out by a slab cache, kmalloc
 * or vmalloc: the host makes exactly [obj, obj + size) accessible (KASAN
 * unpoison, the last granule partly) and registers it with kmemleak
 * (kmemleak_alloc, min_count 1, gfp for kmemleak's own metadata). Called
 * after the core has finished writing its own metadata into the object and
 * before the object is returned to the caller (so before a constructor or
 * __GFP_ZERO clears it, when those run after: see the core's rule below).
 */
void mmlab_host_object_alloc(const void *obj, size_t size, uint32_t gfp);
/*
 * obj was freed: kmemleak_free, then KASAN poisons size bytes (rounded up
 * to the granule) as MMLAB_HOST_POISON_SLAB_FREE. size is the object's
 * whole slot (a cache's object_size), at least what object_alloc was given.
 */
void mmlab_host_object_free(const void *obj, size_t size);
/*
 * Mark [addr, addr + size) bad (KASAN only), or good again. poison: addr a
 * multiple of MMLAB_HOST_POISON_GRANULE, size rounded up to it. unpoison:
 * addr aligned the same, size any (KASAN generic: the last granule is
 * left partly accessible, exactly size bytes are).
 */
void mmlab_host_poison(const void *addr, size_t size, enum mmlab_host_poison kind);
void mmlab_host_unpoison(const void *addr, size_t size);
/* KASAN_GRANULE_SIZE of the generic mode: one shadow byte per 8 bytes. */
#define MMLAB_HOST_POISON_GRANULE	8
/*
 * Addresses the host's vmap returned (vmalloc areas) get the kmemleak part
 * only: their KASAN shadow is the host's vmap's business.
 */
/*
 * Rules for the core (which the kernel build compiles without KASAN
 * instrumentation, as Linux compiles mm/slub.c): plain loads and stores of
 * the core never trip KASAN, but memset/memcpy/memmove calls go to the
 * kernel's checked versions. So the core unpoisons a range before it calls
 * any of those on it, and poisons only after it is done with it. All four
 * hooks never sleep and may be called with core locks held or interrupts
 * off. A host without KASAN/kmemleak makes them no-ops.
 */

/* --- naming things in reports without leaking addresses ------------------------ */

/*
 * "%pS" of a code address (symbol+off/size [module]) into buf; never a raw
 * address. Never sleeps.
 */
void mmlab_host_format_symbol(uintptr_t addr, char *buf, size_t size);
/* "%p" of a pointer: hashed in the kernel, so safe for debugfs. Never sleeps. */
void mmlab_host_format_ptr(const void *ptr, char *buf, size_t size);

/*
 * An internal assertion failed. The kernel WARNs once and returns (the core
 * then refuses the operation); the host test build aborts.
 */
void mmlab_host_assert_fail(const char *expr, const char *file, int line);

/* --- fault injection: the kernel's own per-task switches ------------------------ */

/*
 * What the host kernel offers (CONFIG_FAULT_INJECTION), asked once when a
 * core is created: MMLAB_HOST_FAIL_NTH, the per-task /proc/<pid>/fail-nth
 * countdown; MMLAB_HOST_FAIL_TASK, /proc/<pid>/make-it-fail (task-filter).
 */
#define MMLAB_HOST_FAIL_NTH	(1u << 0)
#define MMLAB_HOST_FAIL_TASK	(1u << 1)
uint32_t mmlab_host_fail_caps(void);
/*
 * The kernel's should_fail() on an attribute of probability 0: only its
 * fail-nth step runs, so this is non-zero exactly when the current task's
 * fail-nth countdown reaches this call (and counts the call down otherwise).
 * size is should_fail's size. Any context; never sleeps.
 */
int mmlab_host_fail_nth(int64_t size);
/* in_task() && current->make_it_fail. Never sleeps. */
int mmlab_host_fail_task(void);
/* dump_stack(), for verbose 2. Any context; never sleeps. */
void mmlab_host_dump_stack(void);

#ifdef __cplusplus
}
#endif

#endif /* MMLAB_HOST_H */
