// SPDX-License-Identifier: GPL-2.0
//
// kmalloc.cc - kmalloc, kmalloc_array, krealloc, kfree, ksize over the
// size-class caches and the page allocator (see kmalloc.h).
#include "kmalloc.h"

#include "alloc_trace.h"
#include "core.h"
#include "log.h"
#include "slab.h"
#include "slob.h"

namespace mmlab {

namespace {

const char* const kKmallocNames[kNrKmallocSizes] = {
    "kmalloc-8",   "kmalloc-16",  "kmalloc-32",  "kmalloc-64", "kmalloc-96",
    "kmalloc-128", "kmalloc-192", "kmalloc-256", "kmalloc-512", "kmalloc-1k",
    "kmalloc-2k",  "kmalloc-4k",  "kmalloc-8k",
};
static_assert(kNrKmallocSizes == SlabAllocator::kNrKmallocCaches, "one cache per class");

// Linux's get_order(). Above 2^63 bytes no page order fits in 64 bits
// (PAGE_SIZE << order would wrap, and the loop never end): such a size
// gets order 52, above any chunk order, so the caller refuses it.
uint32_t GetOrder(uint64_t size) {
  if (size > uint64_t{1} << 63)
    return 64 - MMLAB_PAGE_SHIFT;
  uint32_t order = 0;
  while ((uint64_t{MMLAB_PAGE_SIZE} << order) < size)
    order++;
  return order;
}

void Count(uint64_t& counter, int64_t n) {
  __atomic_fetch_add(&counter, static_cast<uint64_t>(n), __ATOMIC_RELAXED);
}

mmlab_gfp_t FixFlags(mmlab_gfp_t gfp) {
  if (gfp & MMLAB___GFP_DMA32) {
    Report(nullptr, MMLAB_LOG_WARN,
           "kmalloc: Unexpected gfp: __GFP_DMA32. Fixing up to gfp without it");
    gfp &= ~MMLAB___GFP_DMA32;
  }
  return gfp;
}

// An allocation failure, as warn_alloc() treats it: __GFP_NOWARN keeps it
// out of the log (kvmalloc's and mempool's quiet first tries use that); the
// control file still gets the reason.
void ReportFailure(TextBuf* why, mmlab_gfp_t gfp, const char* fmt, ...) MMLAB_PRINTF(3, 4);
void ReportFailure(TextBuf* why, mmlab_gfp_t gfp, const char* fmt, ...) {
  char line[kLogLineMax];
  TextBuf text(line, sizeof(line));
  __builtin_va_list args;
  __builtin_va_start(args, fmt);
  text.VAppend(fmt, args);
  __builtin_va_end(args);
  if (!(gfp & MMLAB___GFP_NOWARN)) {
    Report(why, MMLAB_LOG_WARN, "%s", text.c_str());
  } else if (why) {
    why->Clear();
    why->AppendBytes(text.c_str(), text.len());
  }
}

// page (VirtToPageIrqsOff of p) if it heads the large kmalloc block p
// starts, or null. Interrupts off.
[[gnu::always_inline]] inline Page* LargeHead(Page* page, const void* p) {
  if (!page || !page->IsAllocHead() || !(page->Flags() & kPgLargeKmalloc) ||
      Core::PageAddress(page) != reinterpret_cast<uintptr_t>(p))
    return nullptr;
  return page;
}

// kfree of a large kmalloc block (found with interrupts off; the page
// allocator checks it again under the zone lock).
[[gnu::noinline]] bool KfreeLarge(Core& core, Page* large, const void* p, uintptr_t caller,
                                  TextBuf* why) {
  SlabAllocator& a = core.slab();
  uint32_t order = large->order;
  mmlab_host_trace_kfree(caller, p);
  if (MMLAB_UNLIKELY(core.trace_on()))
    TraceObject(core, TraceOp::kKfree, p, nullptr, 0, 0, caller);
  // Unregistered, and accessible again before the pages go to the buddy.
  mmlab_host_object_free(p, MMLAB_PAGE_SIZE << order);
  mmlab_host_unpoison(p, MMLAB_PAGE_SIZE << order);
  if (core.FreePages(large, order, why, kPgLargeKmalloc) == MMLAB_OK) {
    Count(a.large_pages, -(int64_t{1} << order));
    return true;
  }
  Count(a.bad_kfrees, 1);
  return false;
}

// Linux's kasan_kmalloc/poison_kmalloc_redzone: of a slot of `slot`
// bytes, only the `size` asked for stay accessible (the last granule
// partly); the rest is red zone, so kmalloc(60) makes bytes 60..63 of a
// kmalloc-64 object a KASAN report. The slot is accessible on entry.
void KmallocRedzone(void* obj, size_t size, size_t slot) {
  if (size >= slot)
    return;
  constexpr size_t kGranule = MMLAB_HOST_POISON_GRANULE;
  const size_t end = (size + kGranule - 1) & ~(kGranule - 1);
  if (size & (kGranule - 1))
    mmlab_host_unpoison(obj, size);
  if (end < slot)
    mmlab_host_poison(static_cast<char*>(obj) + end, slot - end, MMLAB_HOST_POISON_REDZONE);
}

[[gnu::noinline]] void ReportNotKmalloc(const void* p, KmemCache* s, TextBuf* why) {
  char ptr[32];
  mmlab_host_format_ptr(p, ptr, sizeof(ptr));
  Report(why, MMLAB_LOG_WARN, "kfree: object %s is from cache %s, not kmalloc; ignored", ptr,
         s->name);
}

}  // namespace

mmlab_status KmallocCreateCaches(Core& core, SlabAllocator& a) {
  for (uint32_t i = 0; i < kNrKmallocSizes; i++) {
    // A core of small chunks serves the classes a slab of its chunk order
    // cannot hold from the page allocator, as above 8192.
    if (kKmallocSizes[i] > (MMLAB_PAGE_SIZE << core.chunk_order()))
      break;
    KmemCache* s = nullptr;
    mmlab_status st = KmemCacheCreate(core, kKmallocNames[i], kKmallocSizes[i], 0,
                                      MMLAB_SLAB_NO_MERGE, nullptr, true, &s, nullptr);
    if (st != MMLAB_OK)
      return st;
    a.kmalloc_caches[i] = s;
  }
  return MMLAB_OK;
}

KmallocCounters KmallocCountersSum(Core& core) {
  SlabAllocator& a = core.slab();
  return {__atomic_load_n(&a.large_pages, __ATOMIC_RELAXED),
          __atomic_load_n(&a.large_allocs, __ATOMIC_RELAXED),
          __atomic_load_n(&a.bad_kfrees, __ATOMIC_RELAXED),
          __atomic_load_n(&a.overflows, __ATOMIC_RELAXED)};
}

void* Kmalloc(Core& core, size_t size, mmlab_gfp_t gfp, uintptr_t caller, TextBuf* why) {
  SlabAllocator& a = core.slab();
  if (size == 0) {
    mmlab_host_trace_kmalloc(caller, MMLAB_ZERO_SIZE_PTR, 0, 0, gfp);
    return MMLAB_ZERO_SIZE_PTR;
  }
  gfp = FixFlags(gfp);
  KmemCache* s =
      size <= MMLAB_KMALLOC_MAX_CACHE_SIZE ? a.kmalloc_caches[KmallocIndex(size)] : nullptr;
  if (MMLAB_LIKELY(s)) {
    void* obj = KmemCacheAllocChecked(s, gfp, caller);
    if (obj)
      KmallocRedzone(obj, size, s->layout.object_size);
    mmlab_host_trace_kmalloc(caller, obj, size, s->layout.size, gfp);
    if (MMLAB_UNLIKELY(core.trace_on()))
      TraceObject(core, TraceOp::kKmalloc, obj, nullptr, size, gfp, caller);
    if (!obj)
      ReportFailure(why, gfp, "kmalloc: no memory for %lu bytes (%s)",
             static_cast<uint64_t>(size), s->name);
    return obj;
  }
  // kmalloc_large: a compound block of pages.
  uint32_t order = GetOrder(size);
  if (order > core.chunk_order()) {
    Count(a.overflows, 1);
    ReportFailure(why, gfp, "kmalloc: size %lu is above the largest kmalloc (%lu bytes)",
           static_cast<uint64_t>(size), MMLAB_PAGE_SIZE << core.chunk_order());
    mmlab_host_trace_kmalloc(caller, nullptr, size, 0, gfp);
    return nullptr;
  }
  if (gfp & MMLAB___GFP_DIRECT_RECLAIM)
    mmlab_host_might_sleep();
  Page* page = core.AllocPages(gfp | MMLAB___GFP_COMP, order, kPgLargeKmalloc);
  void* p = page ? reinterpret_cast<void*>(Core::PageAddress(page)) : nullptr;
  if (page) {
    Count(a.large_pages, int64_t{1} << order);
    Count(a.large_allocs, 1);
    mmlab_host_object_alloc(p, MMLAB_PAGE_SIZE << order, gfp);
    KmallocRedzone(p, size, MMLAB_PAGE_SIZE << order);
  } else {
    ReportFailure(why, gfp, "kmalloc: no memory for %lu bytes (order %u pages)",
           static_cast<uint64_t>(size), order);
  }
  mmlab_host_trace_kmalloc(caller, p, size, MMLAB_PAGE_SIZE << order, gfp);
  if (MMLAB_UNLIKELY(core.trace_on()))
    TraceObject(core, TraceOp::kKmalloc, p, nullptr, size, gfp, caller);
  return p;
}

void* KmallocArray(Core& core, size_t n, size_t size, mmlab_gfp_t gfp, uintptr_t caller,
                   TextBuf* why) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    Count(core.slab().overflows, 1);
    Report(why, MMLAB_LOG_WARN, "kmalloc_array: %lu * %lu bytes overflows; refused",
           static_cast<uint64_t>(n), static_cast<uint64_t>(size));
    return nullptr;
  }
  return Kmalloc(core, bytes, gfp, caller, why);
}

bool KmallocLookup(Core& core, const void* p, KmallocWhere* out) {
  if (p == MMLAB_ZERO_SIZE_PTR) {
    *out = {"ZERO_SIZE_PTR", 0, 0};
    return true;
  }
  if (!p)
    return false;
  uint32_t cpu;
  unsigned long flags = mmlab_host_local_irq_save(&cpu);
  bool ok = false;
  Page* page = VirtToPageIrqsOff(core, p);
  if (Page* large = LargeHead(page, p)) {
    *out = {nullptr, large->order, MMLAB_PAGE_SIZE << large->order};
    ok = true;
  } else if (page && page->IsAllocHead() && (page->Flags() & kPgSlob)) {
    // A kmalloc class under SLOB (its header names the class).
    if (KmemCache* s = SlobKmallocOwner(core, page, p)) {
      *out = {s->name, 0, s->layout.object_size};
      ok = true;
    }
  } else {
    Page* slab = nullptr;
    if (page && page->State() == PageState::kAllocHead)
      slab = page;
    else if (page && page->State() == PageState::kAllocTail)
      slab = ReadOnce(page->slab_head);
    KmemCache* s = slab && (slab->Flags() & kPgSlab)
                       ? static_cast<KmemCache*>(ReadOnce(slab->slab_cache))
                       : nullptr;
    if (s && s->kmalloc &&
        (reinterpret_cast<uintptr_t>(p) - s->ObjBase(slab)) %
                s->layout.size ==
            0) {
      *out = {s->name, 0, s->layout.object_size};
      ok = true;
    }
  }
  mmlab_host_local_irq_restore(flags);
  return ok;
}

size_t Ksize(Core& core, const void* p) {
  KmallocWhere where;
  if (!KmallocLookup(core, p, &where))
    return 0;
  // Linux 6.1's ksize: its caller may use the whole slot, so all of it is
  // made accessible (kasan_unpoison_range).
  if (where.ksize)
    mmlab_host_unpoison(p, where.ksize);
  return where.ksize;
}

// Linux's kfree: one interrupts-off section finds the object (one page
// descriptor lookup for both the large-kmalloc and the slab check), fires
// the tracepoint (before the object can be reused, as kmem_cache_free)
// and frees it; a large block goes to the page allocator after it.
bool Kfree(Core& core, const void* p, uintptr_t caller, TextBuf* why) {
  if (!p || p == MMLAB_ZERO_SIZE_PTR)
    return true;
  uint32_t cpu;
  unsigned long flags = mmlab_host_local_irq_save(&cpu);
  Page* page = VirtToPageIrqsOff(core, p);
  if (Page* large = LargeHead(page, p)) {
    mmlab_host_local_irq_restore(flags);
    return KfreeLarge(core, large, p, caller, why);
  }
  KmemCache* s = nullptr;
  Page* slab = SlabFindObjectFast(core, page, nullptr, p, &s, "kfree", why);
  Page* empty = nullptr;
  if (MMLAB_LIKELY(slab && s->kmalloc)) {
    mmlab_host_trace_kfree(caller, p);
    if (MMLAB_UNLIKELY(core.trace_on()))
      TraceObject(core, TraceOp::kKfree, p, nullptr, 0, 0, caller);
    empty = s->policy->Free(*s, cpu, slab, const_cast<void*>(p), caller);
  } else if (slab) {
    ReportNotKmalloc(p, s, why);
    slab = nullptr;
  }
  mmlab_host_local_irq_restore(flags);
  if (MMLAB_UNLIKELY(!slab)) {
    Count(core.slab().bad_kfrees, 1);
    return false;
  }
  if (MMLAB_UNLIKELY(empty))
    KmemCache::FreeSlab(core, empty);
  return true;
}

void* Krealloc(Core& core, const void* p, size_t new_size, mmlab_gfp_t gfp, uintptr_t caller,
               TextBuf* why) {
  if (!p || p == MMLAB_ZERO_SIZE_PTR)
    return Kmalloc(core, new_size, gfp, caller, why);
  if (new_size == 0) {
    // mmlab's contract (core.h): the memory is freed and NULL returned
    // (Linux returns ZERO_SIZE_PTR here).
    Kfree(core, p, caller, why);
    return nullptr;
  }
  size_t ks = Ksize(core, p);  // p's whole slot accessible from here
  if (ks == 0) {
    char ptr[32];
    mmlab_host_format_ptr(p, ptr, sizeof(ptr));
    Count(core.slab().bad_kfrees, 1);
    Report(why, MMLAB_LOG_WARN, "krealloc: %s is not a kmalloc object; refused", ptr);
    return nullptr;
  }
  // Linux's __do_krealloc: still fits, stays where it is (kasan_krealloc:
  // accessible up to new_size, red zone after).
  if (new_size <= ks) {
    KmallocRedzone(const_cast<void*>(p), new_size, ks);
    return const_cast<void*>(p);
  }
  void* q = Kmalloc(core, new_size, gfp & ~MMLAB___GFP_ZERO, caller, why);
  if (!q)
    return nullptr;  // p is untouched, as in Linux (whole slot accessible, as ksize left it)
  __builtin_memcpy(q, p, ks);
  if (gfp & MMLAB___GFP_ZERO) {
    const size_t qs = Ksize(core, q);  // unpoisons q's slot for the memset
    __builtin_memset(static_cast<char*>(q) + ks, 0, qs - ks);
    KmallocRedzone(q, new_size, qs);
  }
  Kfree(core, p, caller, nullptr);
  return q;
}

}  // namespace mmlab

using mmlab::Core;

extern "C" {

void* mmlab_core_kmalloc(struct mmlab_core* core, size_t size, mmlab_gfp_t gfp, uintptr_t caller) {
  if (!MMLAB_ASSERT(core))
    return nullptr;
  return mmlab::Kmalloc(*Core::From(core), size, gfp, caller, nullptr);
}

void* mmlab_core_kmalloc_array(struct mmlab_core* core, size_t n, size_t size, mmlab_gfp_t gfp,
                               uintptr_t caller) {
  if (!MMLAB_ASSERT(core))
    return nullptr;
  return mmlab::KmallocArray(*Core::From(core), n, size, gfp, caller, nullptr);
}

void* mmlab_core_krealloc(struct mmlab_core* core, const void* p, size_t new_size,
                          mmlab_gfp_t gfp, uintptr_t caller) {
  if (!MMLAB_ASSERT(core))
    return nullptr;
  return mmlab::Krealloc(*Core::From(core), p, new_size, gfp, caller, nullptr);
}

void mmlab_core_kfree(struct mmlab_core* core, const void* p, uintptr_t caller) {
  if (!MMLAB_ASSERT(core))
    return;
  mmlab::Kfree(*Core::From(core), p, caller, nullptr);
}

size_t mmlab_core_ksize(struct mmlab_core* core, const void* p) {
  if (!MMLAB_ASSERT(core))
    return 0;
  return mmlab::Ksize(*Core::From(core), p);
}

}  // extern "C"
