// SPDX-License-Identifier: GPL-2.0
/*
 * host_check.c - the kernel's own checkers over mmlab's memory: the object
 * lifecycle hooks of cxxcore/include/mmlab/host.h.
 *
 * kmemleak: every object mmlab hands out (slab, kmalloc, vmalloc) is
 * registered with kmemleak_alloc() and unregistered with kmemleak_free(),
 * so kmemleak scans mmlab objects for pointers and reports those nobody
 * points to, as it does for the kernel's own slab objects.
 *
 * KASAN (generic mode only): the core is compiled without KASAN
 * instrumentation, as Linux's mm/slub.c is, and tells this file which of
 * its bytes are good; the shadow is written here the way mm/kasan/shadow.c
 * writes it (kasan_poison/kasan_unpoison), so an instrumented access by any
 * other code - a module using the exported API - to a freed mmlab object or
 * to a red zone is a KASAN report. Only the linear map is covered: vmap
 * addresses (mmlab's vmalloc) get no shadow from here. This file is itself
 * not instrumented (Kbuild: KASAN_SANITIZE), as mm/kasan is not.
 *
 * Without CONFIG_KASAN / CONFIG_DEBUG_KMEMLEAK the hooks compile to nothing
 * (kmemleak.h has empty inlines), so Debian's kernels pay one call.
 */
#include <linux/gfp.h>
#include <linux/kasan.h>
#include <linux/kernel.h>
#include <linux/kmemleak.h>
#include <linux/mm.h>
#include <linux/pid.h>
#include <linux/preempt.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "mmlab/core.h"
#include "mmlab/host.h"

/*
 * kmemleak's min_count for a vmalloc area: Linux's kmemleak_vmalloc() uses
 * 2 because the vm_struct points at the area; mmlab's areas come from the
 * host's vmap(), whose vm_struct does the same, and mmlab's own VmArea
 * holds the address once more. So a user's pointer is the third reference.
 */
#define MMLAB_KMEMLEAK_VMAP_MIN_COUNT	3

#ifdef CONFIG_KASAN_GENERIC
/*
 * Shadow values from mm/kasan/kasan.h, private to mm/kasan; the same in
 * 6.1 and 6.12 (and every kernel since the 6.0 renames). KASAN names the
 * report after them: 6.1 says "use-after-free" for both *_FREE values and
 * "slab-out-of-bounds" for the red zone; 6.12 says "slab-use-after-free"
 * for KASAN_SLAB_FREE.
 */
#define MMLAB_KASAN_PAGE_FREE		0xFF
#define MMLAB_KASAN_SLAB_REDZONE	0xFC
#define MMLAB_KASAN_SLAB_FREE		0xFB
#define MMLAB_KASAN_GRANULE		(1UL << KASAN_SHADOW_SCALE_SHIFT)
#define MMLAB_KASAN_GRANULE_MASK	(MMLAB_KASAN_GRANULE - 1)

static_assert(MMLAB_KASAN_GRANULE == MMLAB_HOST_POISON_GRANULE,
	      "host.h's granule is KASAN generic's");

/* Only mmlab's chunks, which are in the linear map, have their shadow here. */
static bool mmlab_kasan_covers(const void *addr)
{
	return virt_addr_valid(addr);
}

/* kasan_poison(): size a multiple of the granule. */
static void mmlab_kasan_set(const void *addr, size_t size, u8 value)
{
	void *start = kasan_mem_to_shadow(addr);
	void *end = kasan_mem_to_shadow(addr + size);

	__memset(start, value, end - start);
}

static void mmlab_kasan_poison(const void *addr, size_t size, u8 value)
{
	if (!mmlab_kasan_covers(addr))
		return;
	if (WARN_ON_ONCE((unsigned long)addr & MMLAB_KASAN_GRANULE_MASK))
		return;
	mmlab_kasan_set(addr, round_up(size, MMLAB_KASAN_GRANULE), value);
}

/* kasan_unpoison(): the last granule only partly, as the generic mode does. */
static void mmlab_kasan_unpoison(const void *addr, size_t size)
{
	if (!mmlab_kasan_covers(addr))
		return;
	if (WARN_ON_ONCE((unsigned long)addr & MMLAB_KASAN_GRANULE_MASK))
		return;
	mmlab_kasan_set(addr, round_up(size, MMLAB_KASAN_GRANULE), 0);
	if (size & MMLAB_KASAN_GRANULE_MASK)
		*(u8 *)kasan_mem_to_shadow(addr + size) = size & MMLAB_KASAN_GRANULE_MASK;
}

static u8 mmlab_kasan_value(enum mmlab_host_poison kind)
{
	switch (kind) {
	case MMLAB_HOST_POISON_SLAB_FREE:
		return MMLAB_KASAN_SLAB_FREE;
	case MMLAB_HOST_POISON_PAGE_FREE:
		return MMLAB_KASAN_PAGE_FREE;
	case MMLAB_HOST_POISON_REDZONE:
	default:
		return MMLAB_KASAN_SLAB_REDZONE;
	}
}
#else /* !CONFIG_KASAN_GENERIC */

static void mmlab_kasan_unsupported(void)
{
	if (IS_ENABLED(CONFIG_KASAN))
		pr_info_once("mmlab: KASAN is not in generic mode: mmlab objects are not poisoned\n");
}

static void mmlab_kasan_poison(const void *addr, size_t size, u8 value)
{
	mmlab_kasan_unsupported();
}

static void mmlab_kasan_unpoison(const void *addr, size_t size)
{
	mmlab_kasan_unsupported();
}

static u8 mmlab_kasan_value(enum mmlab_host_poison kind)
{
	return 0;
}
#endif /* CONFIG_KASAN_GENERIC */

/*
 * The gfp kmemleak allocates its own metadata with: the caller's reclaim
 * and IO/FS bits (kmemleak keeps only GFP_KERNEL | GFP_ATOMIC of it), and
 * never a sleeping one where sleeping is not allowed.
 */
static gfp_t mmlab_kmemleak_gfp(uint32_t mmlab_gfp)
{
	gfp_t gfp = 0;

	if (mmlab_gfp & MMLAB___GFP_DIRECT_RECLAIM)
		gfp |= __GFP_DIRECT_RECLAIM;
	if (mmlab_gfp & MMLAB___GFP_KSWAPD_RECLAIM)
		gfp |= __GFP_KSWAPD_RECLAIM;
	if (mmlab_gfp & MMLAB___GFP_IO)
		gfp |= __GFP_IO;
	if (mmlab_gfp & MMLAB___GFP_FS)
		gfp |= __GFP_FS;
	if (mmlab_gfp & MMLAB___GFP_HIGH)
		gfp |= __GFP_HIGH;
	if (irqs_disabled() || in_atomic())
		gfp &= ~__GFP_DIRECT_RECLAIM;
	return gfp;
}

void mmlab_host_object_alloc(const void *obj, size_t size, uint32_t gfp)
{
	bool vmap = is_vmalloc_addr(obj);

	if (!vmap)
		mmlab_kasan_unpoison(obj, size);
	kmemleak_alloc(obj, size, vmap ? MMLAB_KMEMLEAK_VMAP_MIN_COUNT : 1,
		       mmlab_kmemleak_gfp(gfp));
}

void mmlab_host_object_free(const void *obj, size_t size)
{
	kmemleak_free(obj);
	if (!is_vmalloc_addr(obj))
		mmlab_kasan_poison(obj, size, mmlab_kasan_value(MMLAB_HOST_POISON_SLAB_FREE));
}

void mmlab_host_poison(const void *addr, size_t size, enum mmlab_host_poison kind)
{
	mmlab_kasan_poison(addr, size, mmlab_kasan_value(kind));
}

void mmlab_host_unpoison(const void *addr, size_t size)
{
	mmlab_kasan_unpoison(addr, size);
}

int32_t mmlab_host_current_pid(void)
{
	return in_task() ? task_pid_nr(current) : 0;
}
