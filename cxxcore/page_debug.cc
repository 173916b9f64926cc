// SPDX-License-Identifier: GPL-2.0
//
// page_debug.cc - page poisoning and SLUB-shaped bad-free reports for the
// page allocator (see page_debug.h).
#include "page_debug.h"

#include "core.h"
#include "debug_report.h"
#include "log.h"

namespace mmlab {

namespace {

constexpr char kWhat[] = "mmlab-page";
// Dump at most this many lines of bad bytes (16 each).
constexpr size_t kMaxDumpBytes = 64;

bool SingleBitFlip(uint8_t a, uint8_t b) {
  const uint8_t x = a ^ b;
  return x && !(x & (x - 1));
}

}  // namespace

void PagePoisonFill(void* addr, uint32_t order) {
  // Free buddy pages stay accessible to KASAN (host.h: the object hooks
  // mark slab objects only; a page leaves the slab layer unpoisoned), so
  // the pattern alone catches a write after free here.
  __builtin_memset(addr, kPagePoison, size_t{MMLAB_PAGE_SIZE} << order);
}

bool PagePoisonCheck(Core& core, uint64_t pfn, void* addr, uint32_t order, const char* zone) {
  const size_t bytes = size_t{MMLAB_PAGE_SIZE} << order;
  const size_t first = FirstMismatch(addr, kPagePoison, bytes);
  if (MMLAB_LIKELY(first == bytes))
    return true;
  const size_t end = LastMismatchEnd(addr, kPagePoison, bytes);
  uint8_t* p = static_cast<uint8_t*>(addr);
  __atomic_add_fetch(&core.page_poison_overwrites, 1, __ATOMIC_RELAXED);
  if (DebugReportBegin()) {
    const uint8_t got = *static_cast<volatile uint8_t*>(p + first);
    DebugBug(kWhat, "Poison overwritten");
    DebugLine("pagealloc: %s",
              end - first == 1 && SingleBitFlip(got, kPagePoison) ? "single bit error"
                                                                   : "memory corruption");
    DebugLine("0x%s-0x%s @offset=%lu. First byte 0x%x instead of 0x%x", PtrText(p + first).buf,
              PtrText(p + end - 1).buf, static_cast<uint64_t>(first), got, kPagePoison);
    DebugLine("pfn 0x%lx order %u zone %s", pfn + (first >> MMLAB_PAGE_SHIFT), order, zone);
    const size_t from = first & ~size_t{15};
    DebugHexDump("", p + from, Min(end - from, kMaxDumpBytes));
  }
  FillBytes(p + first, kPagePoison, end - first);
  DebugFix(kWhat, "Restoring Poison 0x%s-0x%s=0x%x", PtrText(p + first).buf,
           PtrText(p + end - 1).buf, kPagePoison);
  return false;
}

void PageBadFreeReport(const char* what, uint64_t pfn, uint32_t order, uint32_t real_order,
                       const char* state) {
  if (!DebugReportBegin())
    return;
  DebugBug(kWhat, "%s", what);
  DebugLine("pfn 0x%lx order %u: the block there is %s, order %u", pfn, order, state, real_order);
  DebugFix(kWhat, "Block at pfn 0x%lx not freed", pfn);
}

uint64_t PagePoisonOverwrites(Core& core) {
  return __atomic_load_n(&core.page_poison_overwrites, __ATOMIC_RELAXED);
}

}  // namespace mmlab

// --- the C ABI ---------------------------------------------------------------------

extern "C" {

enum mmlab_status mmlab_core_page_poison_set(struct mmlab_core* handle, int on, char* result,
                                             size_t result_cap) {
  if (!MMLAB_ASSERT(handle && result && result_cap))
    return MMLAB_EINVAL;
  mmlab::Core& core = *mmlab::Core::From(handle);
  mmlab::TextBuf why(result, result_cap);
  if (on) {
    for (uint32_t z = 0; z < core.nr_zones(); z++) {
      if (!core.zone(z).page_poison() && core.zone(z).HasBorrowed()) {
        mmlab::Report(&why, MMLAB_LOG_WARN,
                      "page_poison: can only be switched on before the first page is borrowed "
                      "(module parameter page_poison=1)");
        return MMLAB_EBUSY;
      }
    }
  }
  for (uint32_t z = 0; z < core.nr_zones(); z++)
    core.zone(z).SetPagePoison(on != 0);
  why.Clear();
  why.Append("page_poison %d", on ? 1 : 0);
  return MMLAB_OK;
}

int mmlab_core_page_poison(struct mmlab_core* handle) {
  if (!MMLAB_ASSERT(handle))
    return 0;
  mmlab::Core& core = *mmlab::Core::From(handle);
  return core.nr_zones() && core.zone(0).page_poison();
}

}  // extern "C"
