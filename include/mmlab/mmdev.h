/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mmlab/mmdev.h - /dev/mmlab's ioctls, shared by the module and user
 * programs (plain fixed-width types: include it from either side).
 */
#ifndef MMLAB_MMDEV_H
#define MMLAB_MMDEV_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Region statistics (MMLAB_IOC_STATS); sizes and counts in pages. */
struct mmlab_mmdev_stats {
	__u64 id;
	__u64 size_pages;
	__u64 resident_pages;	/* pages the region holds now */
	__u64 busy_pages;	/* punched, still mapped or pinned */
	__u64 committed_pages;
	__u64 faults;		/* every fault */
	__u64 alloc_faults;	/* faults that took a new page */
	__u64 fault_failures;	/* faults that found no page */
};

/* Set the region's size in bytes (rounded up to pages). ENOMEM: overcommit. */
#define MMLAB_IOC_SET_SIZE	_IOW('M', 1, __u64)
#define MMLAB_IOC_STATS		_IOR('M', 2, struct mmlab_mmdev_stats)

#endif /* MMLAB_MMDEV_H */
