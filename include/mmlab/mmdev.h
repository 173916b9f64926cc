/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mmlab/mmdev.h - /dev/mmlab's ioctls, shared by the module and user
 * programs (plain fixed-width types: include it from either side).
 *
 * Each open of /dev/mmlab is a region: managed pages indexed by page
 * offset, like a shmem file. docs/mmdev.md has the semantics and examples.
 */
#ifndef MMLAB_MMDEV_H
#define MMLAB_MMDEV_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Region statistics (MMLAB_IOC_STATS); sizes and counts in pages. */
struct mmlab_mmdev_stats {
	__u64 id;		/* as in debugfs regions and faults/<id> */
	__u64 size_pages;
	__u64 resident_pages;	/* pages the region holds now */
	__u64 busy_pages;	/* punched, still mapped or pinned */
	__u64 committed_pages;
	__u64 faults;		/* every fault */
	__u64 alloc_faults;	/* faults that took a new page */
	__u64 fault_failures;	/* faults that found no page */
	__u64 mappings;		/* VMAs mapping the region now, every process */
	__u64 files;		/* open files on the region (opener + attachers) */
};

#define MMLAB_REGION_NAME_MAX	32	/* with the terminating NUL */

/* A region name: [A-Za-z0-9_.-]{1,31}, NUL-terminated. */
struct mmlab_mmdev_name {
	char name[MMLAB_REGION_NAME_MAX];
};

/* A byte range of the region; offset and len page-aligned, len > 0. */
struct mmlab_mmdev_range {
	__u64 offset;
	__u64 len;
};

/*
 * Set the region's size in bytes (rounded up to pages). ENOMEM: refused by
 * the overcommit policy. Shrinking unmaps and frees the pages past the end.
 */
#define MMLAB_IOC_SET_SIZE	_IOW('M', 1, __u64)
#define MMLAB_IOC_STATS		_IOR('M', 2, struct mmlab_mmdev_stats)
/*
 * Give this region a name other processes can attach to (shm_open-like).
 * EEXIST: the name is taken; EINVAL: bad name or the region already has
 * one. The name goes when the region does (its last file is closed).
 */
#define MMLAB_IOC_NAME		_IOW('M', 3, struct mmlab_mmdev_name)
/*
 * Make this file refer to the named region instead of its own. Only on a
 * fresh file (never sized, mapped or named: EBUSY otherwise). ENOENT: no
 * region has that name.
 */
#define MMLAB_IOC_ATTACH	_IOW('M', 4, struct mmlab_mmdev_name)
/*
 * Free the pages of a range back to mmlab (fallocate(PUNCH_HOLE) of a
 * shmem file; MADV_REMOVE cannot reach a character device). Mappings of
 * the range are zapped first; the next touch gets a fresh zeroed page.
 * Returns 0; EINVAL for an unaligned or empty range.
 */
#define MMLAB_IOC_PUNCH		_IOW('M', 5, struct mmlab_mmdev_range)

/*
 * Where later faults of this region take their pages (the region's zone
 * policy): MMLAB_MMDEV_ZONE_NORMAL (default; falls back to DMA32 like any
 * GFP_USER allocation) or MMLAB_MMDEV_ZONE_DMA32 (below 4 GiB only, as
 * __GFP_DMA32). Resident pages stay where they are. EINVAL otherwise.
 */
#define MMLAB_MMDEV_ZONE_DMA32	0
#define MMLAB_MMDEV_ZONE_NORMAL	1
#define MMLAB_IOC_SET_ZONE	_IOW('M', 6, __u32)

#endif /* MMLAB_MMDEV_H */
