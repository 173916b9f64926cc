// SPDX-License-Identifier: GPL-2.0
//
// stats.h - counters the allocator keeps about itself (Linux: vmstat).
//
// Two kinds, by who writes them:
//  - ZoneCounters change only under the zone lock (borrowing, returning,
//    the buddy's free page count, reclaim). A zone hands out copies, so
//    readers see one consistent moment without holding the lock while they
//    format text.
//  - PcpStats and FailStats change on the per-CPU fast path with interrupts
//    off and no lock: each CPU owns its copy, bumps it with PerCpuAdd, and
//    readers add all CPUs' copies up (ReadOnce), as Linux sums per-CPU
//    vm_event counters. A sum taken while others allocate is a moment's
//    approximation; with everyone quiet it is exact.
#ifndef MMLAB_CXXCORE_STATS_H
#define MMLAB_CXXCORE_STATS_H

#include "base.h"
#include "buddy.h"

namespace mmlab {

constexpr uint32_t kGfpBits = MMLAB___GFP_BITS;

struct ZoneCounters {
  uint64_t host_chunks = 0;           // borrowed now
  uint64_t host_pages = 0;            // borrowed now (zoneinfo "present")
  uint64_t host_chunks_borrowed = 0;  // ever
  uint64_t host_chunks_returned = 0;  // ever
  uint64_t free_pages = 0;            // in free_area lists (NR_FREE_PAGES)
  uint64_t reclaim_passes = 0;        // direct reclaim passes over this zone
  uint64_t direct_borrowed = 0;       // pages borrowed by allocating tasks
  uint64_t kswapd_wakeups = 0;        // kswapd woken because of this zone
  uint64_t kswapd_borrowed = 0;       // pages borrowed by kswapd
  uint64_t kswapd_reclaimed = 0;      // pages kswapd got back from pcp lists and shrinkers
  uint64_t pcp_drained = 0;           // pages returned from per-CPU lists to the buddy

  void Add(const ZoneCounters& o) {
    host_chunks += o.host_chunks;
    host_pages += o.host_pages;
    host_chunks_borrowed += o.host_chunks_borrowed;
    host_chunks_returned += o.host_chunks_returned;
    free_pages += o.free_pages;
    reclaim_passes += o.reclaim_passes;
    direct_borrowed += o.direct_borrowed;
    kswapd_wakeups += o.kswapd_wakeups;
    kswapd_borrowed += o.kswapd_borrowed;
    kswapd_reclaimed += o.kswapd_reclaimed;
    pcp_drained += o.pcp_drained;
  }
};

// Per-order request outcomes. A failure is a valid request that could not
// be met; refused requests (bad order) have no order row and are only
// reported.
struct OrderCounters {
  uint64_t allocs = 0;
  uint64_t frees = 0;
  uint64_t failures = 0;

  void Add(const OrderCounters& o) {
    allocs += o.allocs;
    frees += o.frees;
    failures += o.failures;
  }
};

// What one CPU handed out of and took back into one zone.
struct PcpStats {
  uint64_t allocs[kNrOrders] = {};
  uint64_t frees[kNrOrders] = {};
  uint64_t gfp_allocs[kGfpBits] = {};  // successful allocations with that gfp bit set
  uint64_t alloc_fallback = 0;         // served here for a request preferring a higher zone
  uint64_t alloc_reserve = 0;          // succeeded only thanks to __GFP_HIGH / atomic reserves

  // Adds a racy snapshot of another CPU's copy.
  void AddRacy(const PcpStats& o) {
    for (uint32_t i = 0; i < kNrOrders; i++) {
      allocs[i] += ReadOnce(o.allocs[i]);
      frees[i] += ReadOnce(o.frees[i]);
    }
    for (uint32_t i = 0; i < kGfpBits; i++)
      gfp_allocs[i] += ReadOnce(o.gfp_allocs[i]);
    alloc_fallback += ReadOnce(o.alloc_fallback);
    alloc_reserve += ReadOnce(o.alloc_reserve);
  }
};

// Failed requests, per CPU, for the whole core (a failure has no zone).
struct FailStats {
  uint64_t failures[kNrOrders] = {};
  uint64_t gfp_failures[kGfpBits] = {};

  void AddRacy(const FailStats& o) {
    for (uint32_t i = 0; i < kNrOrders; i++)
      failures[i] += ReadOnce(o.failures[i]);
    for (uint32_t i = 0; i < kGfpBits; i++)
      gfp_failures[i] += ReadOnce(o.gfp_failures[i]);
  }
};

// Bumps counters[bit] for every bit set in gfp.
inline void CountGfpBits(uint64_t (&counters)[kGfpBits], uint32_t gfp) {
  gfp &= MMLAB___GFP_ALL;
  while (gfp) {
    uint32_t bit = static_cast<uint32_t>(__builtin_ctz(gfp));
    PerCpuAdd(counters[bit], 1);
    gfp &= gfp - 1;
  }
}

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_STATS_H
