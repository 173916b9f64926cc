// SPDX-License-Identifier: GPL-2.0
//
// zone.h - a zone: a set of borrowed chunks, their free_area lists and the
// lock that guards them (Linux: struct zone).
//
// There is one zone, "Normal", for now. Zones are separate objects so that
// DMA32/Normal zones, zonelists, watermarks and per-CPU lists can be added
// around them without reaching into the buddy mechanics.
#ifndef MMLAB_CXXCORE_ZONE_H
#define MMLAB_CXXCORE_ZONE_H

#include "base.h"
#include "buddy.h"
#include "check.h"
#include "chunk.h"
#include "format.h"
#include "lock.h"
#include "page_desc.h"
#include "stats.h"

namespace mmlab {

// Outcome of a free request addressed to one zone.
enum class FreeResult {
  kFreed,
  kRefused,    // the block is this zone's, but the request is wrong (reported)
  kNotInZone,  // the page is not this zone's; the caller tries the next zone
};

class Zone {
 public:
  Zone() = default;
  MMLAB_NO_COPY(Zone);

  // Borrows nothing yet. max_pages is the zone's share of the capacity, a
  // multiple of the chunk size. May sleep.
  mmlab_status Init(const char* name, uint32_t chunk_order, uint64_t max_pages,
                    mmlab_host_zone host_zone);
  // Returns every fully free chunk; reports every allocated block of the
  // other chunks and leaks those chunks (their pages are in use). Returns
  // the number of pages that could not be returned. May sleep.
  uint64_t Destroy() MMLAB_EXCLUDES(lock_);

  const char* name() const { return name_; }
  uint32_t max_order() const { return max_order_; }
  uint64_t max_pages() const { return max_pages_; }

  // Fast path: a block from the free lists, or null if none is big enough.
  Page* TryAlloc(uint32_t order, mmlab_gfp_t gfp, uint16_t flags) MMLAB_EXCLUDES(lock_);
  // Slow path: borrows one more chunk from the host (never with the lock
  // held). False when the zone's budget is used up or the host has none.
  bool Grow(bool can_sleep) MMLAB_EXCLUDES(lock_);
  void CountFailure(uint32_t order) MMLAB_EXCLUDES(lock_);

  // Free requests, each validated against this zone's descriptors before
  // anything is touched. allow_control lets the control file free blocks
  // that carry kPgControl. Refusals are reported and their reason copied
  // into why (may be null).
  FreeResult FreePage(const Page* page, uint32_t order, bool allow_control, TextBuf* why)
      MMLAB_EXCLUDES(lock_);
  FreeResult FreeAddress(uintptr_t addr, uint32_t order, bool allow_control, TextBuf* why)
      MMLAB_EXCLUDES(lock_);
  FreeResult FreePfn(uint64_t pfn, uint32_t order, bool allow_control, TextBuf* why)
      MMLAB_EXCLUDES(lock_);

  // Descriptor of any managed page (free or not), or null.
  Page* VirtToPage(uintptr_t addr) MMLAB_EXCLUDES(lock_);
  Page* PfnToPage(uint64_t pfn) MMLAB_EXCLUDES(lock_);
  // Whether page is an allocated head of this zone with the given flags.
  bool IsAllocHeadWith(const Page* page, uint32_t order, uint16_t flags) MMLAB_EXCLUDES(lock_);

  // Unlinks every fully free chunk under the lock and returns them to the
  // host after dropping it. Returns how many went back.
  uint64_t Shrink() MMLAB_EXCLUDES(lock_);

  // Verifies every invariant of this zone; returns blocks flagged
  // kPgControl through control_blocks for the core's handle check.
  void Check(CheckReport* report, uint64_t* control_blocks) MMLAB_EXCLUDES(lock_);

  ZoneCounters Counters() MMLAB_EXCLUDES(lock_);
  OrderCounters OrderStats(uint32_t order) MMLAB_EXCLUDES(lock_);
  // nr_free of every order 0..max_order, taken at one moment.
  void NrFree(uint64_t (&out)[kNrOrders]) MMLAB_EXCLUDES(lock_);

 private:
  static constexpr size_t kInitialTableSize = 16;

  FreeResult FreeLocked(Chunk* chunk, uint32_t idx, uint32_t order, bool allow_control,
                        TextBuf* why) MMLAB_REQUIRES(lock_);
  bool FreeOrderValid(uint32_t order, TextBuf* why);
  void AddChunkLocked(Chunk* chunk) MMLAB_REQUIRES(lock_);
  void Unreserve(uint64_t pages) MMLAB_EXCLUDES(lock_);
  void CheckChunkLocked(Chunk* chunk, CheckReport* report, uint64_t (&free_blocks)[kNrOrders],
                        uint64_t* free_pages, uint64_t* used_pages, uint64_t* control_blocks)
      MMLAB_REQUIRES(lock_);
  void CheckFreeListLocked(uint32_t order, uint64_t free_blocks, CheckReport* report)
      MMLAB_REQUIRES(lock_);

  SpinLock lock_;
  const char* name_ = "";
  uint32_t max_order_ = 0;  // the chunk order: the largest block a zone holds
  mmlab_host_zone host_zone_ = MMLAB_HOST_ZONE_ANY;
  uint64_t max_pages_ = 0;  // budget, fixed at Init

  FreeArea free_area_[kNrOrders] MMLAB_GUARDED_BY(lock_);
  ChunkTable chunks_ MMLAB_GUARDED_BY(lock_);
  // Pages borrowed plus pages being borrowed right now: reserved before a
  // chunk is requested from the host, so concurrent growers can never
  // overshoot max_pages_ together.
  uint64_t reserved_pages_ MMLAB_GUARDED_BY(lock_) = 0;
  ZoneCounters counters_ MMLAB_GUARDED_BY(lock_);
  OrderCounters order_stats_[kNrOrders] MMLAB_GUARDED_BY(lock_);
};

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_ZONE_H
