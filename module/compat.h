/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the one place where kernel API differences between the kernels
 * mmlab supports (Debian 12's 6.1 and 6.12) are resolved.
 */
#ifndef MMLAB_COMPAT_H
#define MMLAB_COMPAT_H

#include <linux/version.h>
#include <linux/mmzone.h>
#include <linux/slab.h>

/*
 * Largest order the host's page allocator hands out. Before 6.4 MAX_ORDER was
 * exclusive (11 on x86: orders 0..10); 6.4 made it inclusive and 6.8 renamed
 * it MAX_PAGE_ORDER.
 */
#if defined(MAX_PAGE_ORDER)
#define MMLAB_HOST_MAX_ORDER	MAX_PAGE_ORDER
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define MMLAB_HOST_MAX_ORDER	(MAX_ORDER - 1)
#else
#define MMLAB_HOST_MAX_ORDER	MAX_ORDER
#endif

/*
 * A host slab cache that must never be merged with another (replay.c):
 * SLAB_NO_MERGE from 6.5; before it, a constructor is what keeps
 * find_mergeable() away (SLUB then keeps its free pointer outside the
 * object, one word more per object).
 */
#if defined(SLAB_NO_MERGE)
#define MMLAB_HOST_SLAB_NO_MERGE	SLAB_NO_MERGE
#define MMLAB_HOST_HAS_SLAB_NO_MERGE	1
#else
#define MMLAB_HOST_SLAB_NO_MERGE	0
#define MMLAB_HOST_HAS_SLAB_NO_MERGE	0
#endif

#endif /* MMLAB_COMPAT_H */
