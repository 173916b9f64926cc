/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the one place where kernel API differences between the kernels
 * mmlab supports (Debian 12's 6.1 and 6.12) are resolved.
 */
#ifndef MMLAB_COMPAT_H
#define MMLAB_COMPAT_H

#include <linux/version.h>
#include <linux/mmzone.h>

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

#endif /* MMLAB_COMPAT_H */
