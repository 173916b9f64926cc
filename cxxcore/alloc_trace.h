// SPDX-License-Identifier: GPL-2.0
//
// alloc_trace.h - the allocation trace: a bounded ring of events per CPU,
// recorded by one line at each call site when it is on, rendered as the
// text of docs/replay.md ("# mmlab-trace v1"). Also Linux's extfrag index
// (mm/vmstat.c), which the replay measures and debugfs shows.
//
// The call sites (kmalloc.cc, slab.cc, core.cc) test Core::trace_on(), a
// read-mostly flag, and call the cold functions below only when it is set;
// off, recording costs that one predicted branch.
//
// Locking: each ring has its own lock, taken innermost (with interrupts
// off on the recording CPU, possibly under ctl_lock_), never around
// anything else. Rings are allocated once for the core's life; a later
// trace_set(on) with another size swaps each ring's buffer under its lock.
#ifndef MMLAB_CXXCORE_ALLOC_TRACE_H
#define MMLAB_CXXCORE_ALLOC_TRACE_H

#include "base.h"
#include "mmlab/core.h"

namespace mmlab {

class Core;
class KmemCache;
struct AllocTrace;

enum class TraceOp : uint8_t {
  kKmalloc = 0,
  kKfree,
  kCacheCreate,
  kCacheDestroy,
  kCacheAlloc,
  kCacheFree,
  kAllocPages,
  kFreePages,
};

// Objects (kmalloc, kfree, cache_alloc, cache_free): s is null for kmalloc
// and kfree; size is what the caller asked for (kmalloc) or the cache's
// object size.
[[gnu::cold]] void TraceObject(Core& core, TraceOp op, const void* obj, const KmemCache* s,
                               size_t size, mmlab_gfp_t gfp, uintptr_t caller);
// Page blocks (alloc_pages, free_pages), named by their address.
[[gnu::cold]] void TracePages(Core& core, TraceOp op, uintptr_t addr, uint32_t order,
                              mmlab_gfp_t gfp, uintptr_t caller);
// cache_create (with its parameters) and cache_destroy.
[[gnu::cold]] void TraceCache(Core& core, TraceOp op, const KmemCache* s, const char* name,
                              uint32_t size, uint32_t align, uint32_t flags, bool ctor);

// At core destroy: frees the rings.
void AllocTraceDestroy(Core& core);

// Linux's __fragmentation_index() for every order, from free blocks per order.
void ExtfragIndex(const uint64_t (&nr_free)[MMLAB_EXTFRAG_ORDERS],
                  int32_t (&out)[MMLAB_EXTFRAG_ORDERS]);
// "-1.000", "0.123": extfrag_index's "%2d.%03d" without the padding.
void FormatExtfrag(int32_t index, char* buf, size_t cap);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_ALLOC_TRACE_H
