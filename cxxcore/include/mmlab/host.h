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
 *  - mmlab_host_chunk_alloc/free and mmlab_host_meta_alloc/free are never
 *    called with a core lock held (they may sleep when can_sleep is set);
 *  - mmlab_host_log may be called with a lock held (it never sleeps).
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

/* Which host zone to borrow from; ZONE_NORMAL-or-anything until zones land. */
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
/* One line of text, without the trailing newline. Never sleeps. */
void mmlab_host_log(enum mmlab_log_level level, const char *msg);

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
 * An internal assertion failed. The kernel WARNs once and returns (the core
 * then refuses the operation); the host test build aborts.
 */
void mmlab_host_assert_fail(const char *expr, const char *file, int line);

#ifdef __cplusplus
}
#endif

#endif /* MMLAB_HOST_H */
