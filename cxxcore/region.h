// SPDX-License-Identifier: GPL-2.0
//
// region.h - /dev/mmlab's shared-memory objects (Linux: a shmem inode's
// page cache, vm.overcommit_memory and Committed_AS).
//
// How it works:
//  - A Region is a sparse page table indexed by page offset, like the
//    xarray of a shmem inode: a directory of dir_len pointers to leaves of
//    kRegionLeafSlots page pointers, in metadata memory. SetSize grows the
//    directory (8 bytes per 512 pages of size); a leaf is allocated by the
//    first fault that needs it and freed when the size shrinks past it, so
//    an overcommitted region that is never touched costs almost nothing.
//    A slot is filled on the first fault with a zeroed order-0 page owned
//    by the region (kPgRegion), and the same page is returned on every
//    later fault.
//  - The region's lock covers the table, the size and the counters. It is
//    never held across the page allocator or the metadata allocator: a
//    fault looks up under the lock, allocates with it dropped and looks
//    again (the loser of a race frees its page and takes the winner's).
//  - Punch, shrink and destroy take pages out of the table under the lock
//    and then, unlocked, ask the host whether each one is still mapped or
//    pinned (mmlab_page_busy_fn). Free pages go back to the core; busy ones
//    wait on the region's busy list, retried by every later punch/destroy.
//  - RegionSpace (one per core) holds the overcommit policy and the sum of
//    committed sizes: a region commits its whole size when the size is set,
//    limited in mode 2 by capacity * ratio / 100.
//  - A bounded ring per region records the last MMLAB_REGION_FAULT_LOG
//    faults (pid, address, pgoff, pfn, zone, order, latency).
// Lock order: RegionSpace::lock, then Region::lock (both spinlocks).
#ifndef MMLAB_CXXCORE_REGION_H
#define MMLAB_CXXCORE_REGION_H

#include "base.h"
#include "lock.h"
#include "mmlab/core.h"
#include "page_desc.h"
#include "subsys.h"

namespace mmlab {

class RegionSpace;

constexpr uint64_t kRegionLeafShift = 9;  // 512 slots: a 4 KiB leaf
constexpr uint64_t kRegionLeafSlots = uint64_t{1} << kRegionLeafShift;
// The largest size any mode accepts: 2^29 pages (2 TiB) keeps the
// directory at 8 MiB. Mode 0 and 2 refuse far less (the capacity, the
// commit limit); mode 1 ("always") accepts up to this.
constexpr uint64_t kRegionMaxPages = uint64_t{1} << 29;

// A region page is an allocated head that is not a slab, so the slab_list
// link is free for the region's own lists (the buddy_list link of an
// allocated block must stay unlinked: the checker says so).
using RegionPageList = List<Page, __builtin_offsetof(Page, slab_list)>;

struct Region {
  MMLAB_NO_COPY(Region);
  Region() = default;

  ListNode link;  // on RegionSpace::regions, under its lock
  RegionSpace* space = nullptr;
  uint64_t id = 0;  // small, never reused
  // Where new pages come from; read by faults without the lock (one word).
  mmlab_zone_type zone = MMLAB_ZONE_NORMAL;

  SpinLock lock;
  Page*** dir MMLAB_GUARDED_BY(lock) = nullptr;  // dir_len leaves, each null or kRegionLeafSlots
  uint64_t dir_len MMLAB_GUARDED_BY(lock) = 0;
  uint64_t size MMLAB_GUARDED_BY(lock) = 0;  // pages; faults at or past it fail
  uint64_t resident MMLAB_GUARDED_BY(lock) = 0;
  // Punched pages the host still maps or pins, linked through slab_list.
  RegionPageList busy MMLAB_GUARDED_BY(lock);
  uint64_t nr_busy MMLAB_GUARDED_BY(lock) = 0;
  uint64_t faults MMLAB_GUARDED_BY(lock) = 0;
  uint64_t alloc_faults MMLAB_GUARDED_BY(lock) = 0;
  uint64_t fault_failures MMLAB_GUARDED_BY(lock) = 0;
  // Fault log: records [log_seq - n, log_seq) live at seq % kLogSize.
  uint64_t log_seq MMLAB_GUARDED_BY(lock) = 0;
  mmlab_fault_record log[MMLAB_REGION_FAULT_LOG] MMLAB_GUARDED_BY(lock) = {};

  // Under RegionSpace::lock: the pages this region has committed.
  uint64_t committed = 0;
};

class RegionSpace {
 public:
  MMLAB_NO_COPY(RegionSpace);
  RegionSpace() = default;

  Core* core = nullptr;
  SpinLock lock;
  List<Region, __builtin_offsetof(Region, link)> regions MMLAB_GUARDED_BY(lock);
  uint64_t nr_regions MMLAB_GUARDED_BY(lock) = 0;
  uint64_t next_id MMLAB_GUARDED_BY(lock) = 1;
  uint32_t overcommit_memory MMLAB_GUARDED_BY(lock) = MMLAB_OVERCOMMIT_GUESS;
  uint32_t overcommit_ratio MMLAB_GUARDED_BY(lock) = MMLAB_OVERCOMMIT_RATIO_DEFAULT;
  uint64_t committed MMLAB_GUARDED_BY(lock) = 0;  // Committed_AS

  uint64_t CommitLimitLocked() const MMLAB_REQUIRES(lock);
  // The fault path reads the mode without the lock: one word, a stale
  // value only picks the other gfp for a fault racing the mode change.
  uint32_t OvercommitModeRelaxed() const MMLAB_NO_THREAD_SAFETY_ANALYSIS {
    return __atomic_load_n(&overcommit_memory, __ATOMIC_RELAXED);
  }
};

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_REGION_H
