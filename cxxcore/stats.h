// SPDX-License-Identifier: GPL-2.0
//
// stats.h - counters a zone keeps about itself (Linux: vmstat counters).
//
// Plain snapshots: a zone updates its own copies under its lock and hands
// out copies, so readers (render, mmlab_core_counters) see one consistent
// moment without holding the lock while they format text.
#ifndef MMLAB_CXXCORE_STATS_H
#define MMLAB_CXXCORE_STATS_H

#include "base.h"

namespace mmlab {

struct ZoneCounters {
  uint64_t host_chunks = 0;           // borrowed now
  uint64_t host_pages = 0;            // borrowed now
  uint64_t host_chunks_borrowed = 0;  // ever
  uint64_t host_chunks_returned = 0;  // ever
  uint64_t free_pages = 0;            // in free_area lists
  uint64_t used_pages = 0;            // allocated to callers

  void Add(const ZoneCounters& o) {
    host_chunks += o.host_chunks;
    host_pages += o.host_pages;
    host_chunks_borrowed += o.host_chunks_borrowed;
    host_chunks_returned += o.host_chunks_returned;
    free_pages += o.free_pages;
    used_pages += o.used_pages;
  }
};

// Per-order request outcomes. A failure is a valid request that could not
// be met (capacity or host exhausted); refused requests (bad order) have no
// order row and are only reported.
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

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_STATS_H
