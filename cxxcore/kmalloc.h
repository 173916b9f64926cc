// SPDX-License-Identifier: GPL-2.0
//
// kmalloc.h - the kmalloc family over the slab caches (Linux:
// mm/slab_common.c kmalloc_caches/kmalloc_index, __kmalloc, krealloc,
// kfree, __ksize; kmalloc_large for sizes above the largest class).
//
// How it works: 13 caches "kmalloc-8" .. "kmalloc-8k" (sizes 8, 16, 32,
// 64, 96, 128, 192, 256, 512, 1k, 2k, 4k, 8k; Linux's kmalloc_index with
// the 96 and 192 classes) are made when the core starts. A request goes to
// the smallest class that holds it; above 8192 bytes it is a block of
// get_order(size) pages straight from the page allocator, marked
// kPgLargeKmalloc so kfree/ksize recognise it, up to the chunk order
// (larger: NULL and a report). kmalloc(0) returns ZERO_SIZE_PTR (16) as
// Linux does; kfree and ksize accept it. __GFP_DMA32 is not a kmalloc
// flag (Linux's GFP_SLAB_BUG_MASK): it is reported and dropped.
#ifndef MMLAB_CXXCORE_KMALLOC_H
#define MMLAB_CXXCORE_KMALLOC_H

#include "base.h"
#include "mmlab/core.h"

namespace mmlab {

class Core;
class SlabAllocator;
class KmemCache;
class TextBuf;

// Linux's ZERO_SIZE_PTR.
#define MMLAB_ZERO_SIZE_PTR (reinterpret_cast<void*>(16))

constexpr uint32_t kKmallocSizes[] = {8,   16,  32,   64,   96,   128,  192,
                                      256, 512, 1024, 2048, 4096, 8192};
constexpr uint32_t kNrKmallocSizes = sizeof(kKmallocSizes) / sizeof(kKmallocSizes[0]);

// Class index of (size - 1) / 8 for sizes up to 192 (Linux's size_index[]).
constexpr uint8_t kKmallocSmallIndex[24] = {0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
                                            5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6};

// Index into kKmallocSizes of the class serving size (1..8192), as Linux's
// kmalloc_slab(): a table up to 192 bytes (the 96 and 192 classes), then
// fls(size - 1) - 1 (256 -> 7, 512 -> 8 ... 8192 -> 12). No loop: it is on
// every kmalloc.
constexpr uint32_t KmallocIndex(uint64_t size) {
  if (size <= 192)
    return kKmallocSmallIndex[(size - 1) / 8];
  return static_cast<uint32_t>(63 - __builtin_clzll(size - 1));
}

namespace kmalloc_detail {
// Every size 1..8192 gets the smallest class that holds it.
constexpr bool KmallocIndexIsSmallestFit() {
  for (uint64_t size = 1; size <= 8192; size++) {
    uint32_t i = KmallocIndex(size);
    if (i >= kNrKmallocSizes || kKmallocSizes[i] < size || (i > 0 && kKmallocSizes[i - 1] >= size))
      return false;
  }
  return true;
}
}  // namespace kmalloc_detail
static_assert(kmalloc_detail::KmallocIndexIsSmallestFit(), "kmalloc_index");
static_assert(KmallocIndex(1) == 0 && KmallocIndex(9) == 1 && KmallocIndex(64) == 3 &&
                  KmallocIndex(65) == 4 && KmallocIndex(96) == 4 && KmallocIndex(97) == 5 &&
                  KmallocIndex(128) == 5 && KmallocIndex(129) == 6 && KmallocIndex(192) == 6 &&
                  KmallocIndex(193) == 7 && KmallocIndex(257) == 8 && KmallocIndex(8192) == 12,
              "kmalloc_index");

// Creates the size classes (SlabCreate).
mmlab_status KmallocCreateCaches(Core& core, SlabAllocator& a);

struct KmallocCounters {
  uint64_t large_pages, large_allocs, bad_frees, overflows;
};
KmallocCounters KmallocCountersSum(Core& core);

// What the control file shows about a kmalloc object: the class's cache
// name ("kmalloc-64") or null for a page block (*order set), and ksize.
struct KmallocWhere {
  const char* cache;
  uint32_t order;
  size_t ksize;
};
bool KmallocLookup(Core& core, const void* p, KmallocWhere* out);

// The C ABI's bodies, with a place for the failure reason (control file).
void* Kmalloc(Core& core, size_t size, mmlab_gfp_t gfp, uintptr_t caller, TextBuf* why);
void* KmallocArray(Core& core, size_t n, size_t size, mmlab_gfp_t gfp, uintptr_t caller,
                   TextBuf* why);
void* Krealloc(Core& core, const void* p, size_t new_size, mmlab_gfp_t gfp, uintptr_t caller,
               TextBuf* why);
// false (reported) when p is not a kmalloc object.
bool Kfree(Core& core, const void* p, uintptr_t caller, TextBuf* why);
size_t Ksize(Core& core, const void* p);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_KMALLOC_H
