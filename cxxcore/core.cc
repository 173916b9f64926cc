// SPDX-License-Identifier: GPL-2.0
//
// core.cc - the page allocator's entry points (Linux names) and the core's
// life cycle.
//
// How it works:
//  - alloc_pages validates the request, then tries the zone's free lists
//    (the fast path, one short critical section). Only when they cannot
//    satisfy it does the out-of-line slow path borrow another chunk from the
//    host, with no lock held and sleeping only if the gfp allows direct
//    reclaim, and retry. __GFP_ZERO is honoured after the lock is dropped.
//  - Every free is validated by the zone that owns the pointer; a pointer no
//    zone owns is foreign. Nothing is changed by a refused free.
//  - The control file's handles live here, under ctl_lock_, which is taken
//    before a zone lock and never held while allocating (allocation may
//    sleep) but held while freeing, so a handle and its block always go
//    together.
//  - Destroy frees the handles' blocks, then each zone returns what it can.
#include "core.h"

#include "check.h"
#include "log.h"

namespace mmlab {

namespace {

// Far above anything a machine lends (2^40 pages = 4 PiB), low enough that
// no page arithmetic on it can overflow.
constexpr uint64_t kMaxCapacityPages = uint64_t{1} << 40;

}  // namespace

mmlab_status Core::Create(const mmlab_core_config* cfg, Core** out) {
  if (!cfg || !out) {
    Log(MMLAB_LOG_WARN, "create: no config or no result pointer");
    return MMLAB_EINVAL;
  }
  *out = nullptr;
  if (cfg->chunk_order > MMLAB_MAX_CHUNK_ORDER) {
    Log(MMLAB_LOG_WARN, "create: chunk_order %u out of range 0..%u", cfg->chunk_order,
        MMLAB_MAX_CHUNK_ORDER);
    return MMLAB_EINVAL;
  }
  const uint64_t chunk_pages = uint64_t{1} << cfg->chunk_order;
  if (cfg->capacity_pages < chunk_pages || cfg->capacity_pages % chunk_pages != 0 ||
      cfg->capacity_pages > kMaxCapacityPages) {
    Log(MMLAB_LOG_WARN,
        "create: capacity_pages %lu must be a non-zero multiple of the %lu-page chunk, at most %lu",
        cfg->capacity_pages, chunk_pages, kMaxCapacityPages);
    return MMLAB_EINVAL;
  }

  void* mem = mmlab_host_meta_alloc(sizeof(Core), 1);
  if (!mem)
    return MMLAB_ENOMEM;
  Core* core = new (mem) Core();
  mmlab_status st = core->Init(*cfg);
  if (st != MMLAB_OK) {
    core->~Core();
    mmlab_host_meta_free(mem, sizeof(Core));
    return st;
  }
  *out = core;
  return MMLAB_OK;
}

mmlab_status Core::Init(const mmlab_core_config& cfg) {
  chunk_order_ = cfg.chunk_order;
  capacity_pages_ = cfg.capacity_pages;
  if (!ctl_lock_.Init("mmlab_control"))
    return MMLAB_ENOMEM;
  Handle* storage = HandleTable::AllocStorage();
  if (!storage) {
    ctl_lock_.Destroy();
    return MMLAB_ENOMEM;
  }
  {
    IrqSaveGuard guard(ctl_lock_);
    handles_.Install(storage);
  }
  // The whole capacity is the one zone's budget until zones split it.
  mmlab_status st = zones_[0].Init("Normal", chunk_order_, capacity_pages_, MMLAB_HOST_ZONE_ANY);
  if (st != MMLAB_OK) {
    HandleTable::FreeStorage(storage);
    ctl_lock_.Destroy();
    return st;
  }
  nr_zones_ = 1;
  return MMLAB_OK;
}

uint64_t Core::Destroy() {
  // The handles' blocks are the core's own: free them so they are not
  // mistaken for leaks.
  ControlFreeAll();
  uint64_t leaked_pages = 0;
  for (uint32_t i = 0; i < nr_zones_; i++)
    leaked_pages += zones_[i].Destroy();
  Handle* storage;
  {
    IrqSaveGuard guard(ctl_lock_);
    storage = handles_.Release();
  }
  HandleTable::FreeStorage(storage);
  ctl_lock_.Destroy();
  this->~Core();
  mmlab_host_meta_free(this, sizeof(Core));
  return leaked_pages;
}

Page* Core::AllocPages(mmlab_gfp_t gfp, uint32_t order, uint16_t flags, TextBuf* why) {
  if (order > chunk_order_) {
    Report(why, MMLAB_LOG_WARN, "alloc_pages: invalid order %u (largest is %u)", order,
           chunk_order_);
    return nullptr;
  }
  if (gfp & ~MMLAB___GFP_ALL) {
    Report(why, MMLAB_LOG_WARN, "alloc_pages: unknown gfp bits 0x%x (order %u)",
           gfp & ~MMLAB___GFP_ALL, order);
    return nullptr;
  }
  // There is one zone; a zonelist walk goes here when DMA32 arrives.
  Zone& zone = zones_[0];
  Page* page = zone.TryAlloc(order, gfp, flags);
  if (MMLAB_UNLIKELY(!page)) {
    page = AllocPagesSlow(zone, gfp, order, flags);
    if (!page)
      return nullptr;
  }
  if (gfp & MMLAB___GFP_ZERO)
    __builtin_memset(reinterpret_cast<void*>(PageAddress(page)), 0,
                     size_t{MMLAB_PAGE_SIZE} << order);
  return page;
}

Page* Core::AllocPagesSlow(Zone& zone, mmlab_gfp_t gfp, uint32_t order, uint16_t flags) {
  const bool can_sleep = (gfp & MMLAB___GFP_DIRECT_RECLAIM) != 0;
  // Each round borrows one chunk; another thread may take it before we
  // do, so retry until the budget or the host runs out. Every round either
  // grows the zone or ends the loop, so it terminates.
  while (zone.Grow(can_sleep)) {
    Page* page = zone.TryAlloc(order, gfp, flags);
    if (page)
      return page;
  }
  // A concurrent free may have made room while we were failing to grow.
  Page* page = zone.TryAlloc(order, gfp, flags);
  if (!page)
    zone.CountFailure(order);
  return page;
}

bool Core::FreeOrderValid(uint32_t order, TextBuf* why) {
  if (order <= chunk_order_)
    return true;
  Report(why, MMLAB_LOG_WARN, "bad free: invalid order %u (largest is %u)", order, chunk_order_);
  return false;
}

template <typename Fn>
FreeResult Core::FreeInZones(Fn free_in_zone) {
  for (uint32_t i = 0; i < nr_zones_; i++) {
    FreeResult r = free_in_zone(zones_[i]);
    if (r != FreeResult::kNotInZone)
      return r;
  }
  return FreeResult::kNotInZone;
}

mmlab_status Core::FreePages(const Page* page, uint32_t order, TextBuf* why) {
  if (!page) {
    Report(why, MMLAB_LOG_WARN, "bad free: NULL page (order %u)", order);
    return MMLAB_EINVAL;
  }
  if (!FreeOrderValid(order, why))
    return MMLAB_EINVAL;
  FreeResult r = FreeInZones(
      [&](Zone& zone) { return zone.FreePage(page, order, /*allow_control=*/false, why); });
  if (r == FreeResult::kNotInZone)
    Report(why, MMLAB_LOG_WARN, "bad free: page descriptor is not one of this core's (order %u)",
           order);
  return r == FreeResult::kFreed ? MMLAB_OK : MMLAB_EINVAL;
}

mmlab_status Core::FreeAddress(uintptr_t addr, uint32_t order, TextBuf* why) {
  if (!FreeOrderValid(order, why))
    return MMLAB_EINVAL;
  FreeResult r = FreeInZones(
      [&](Zone& zone) { return zone.FreeAddress(addr, order, /*allow_control=*/false, why); });
  if (r == FreeResult::kNotInZone)
    Report(why, MMLAB_LOG_WARN, "bad free: address is not in a chunk of this core (order %u)",
           order);
  return r == FreeResult::kFreed ? MMLAB_OK : MMLAB_EINVAL;
}

Page* Core::VirtToPage(uintptr_t addr) {
  for (uint32_t i = 0; i < nr_zones_; i++) {
    Page* page = zones_[i].VirtToPage(addr);
    if (page)
      return page;
  }
  return nullptr;
}

uint64_t Core::Shrink() {
  uint64_t returned = 0;
  for (uint32_t i = 0; i < nr_zones_; i++)
    returned += zones_[i].Shrink();
  return returned;
}

uint64_t Core::Check() {
  CheckReport report;
  // The control lock keeps handles from coming and going while the zones
  // are walked; only reserved (in-flight) allocations may still land.
  IrqSaveGuard guard(ctl_lock_);
  uint64_t control_blocks = 0;
  for (uint32_t i = 0; i < nr_zones_; i++) {
    uint64_t zone_blocks = 0;
    zones_[i].Check(&report, &zone_blocks);
    control_blocks += zone_blocks;
  }
  for (uint32_t i = 0; i < handles_.live(); i++) {
    const Handle& h = handles_.at(i);
    bool ok = false;
    for (uint32_t z = 0; z < nr_zones_ && !ok; z++)
      ok = zones_[z].IsAllocHeadWith(h.page, h.order, kPgControl);
    if (!ok)
      report.Violation("handle %lu: not an allocated order-%u block of the control file", h.id,
                       h.order);
  }
  if (control_blocks < handles_.live() ||
      control_blocks > uint64_t{handles_.live()} + handles_.reserved())
    report.Violation("control: %lu blocks are marked as the control file's but %u handles are "
                     "live and %u being allocated",
                     control_blocks, handles_.live(), handles_.reserved());
  report.Finish();
  return report.count();
}

void Core::Counters(struct mmlab_core_counters* out) {
  ZoneCounters sum;
  for (uint32_t i = 0; i < nr_zones_; i++)
    sum.Add(zones_[i].Counters());
  out->host_chunks = sum.host_chunks;
  out->host_pages = sum.host_pages;
  out->host_chunks_borrowed = sum.host_chunks_borrowed;
  out->host_chunks_returned = sum.host_chunks_returned;
  out->capacity_pages = capacity_pages_;
  out->free_pages = sum.free_pages;
  out->used_pages = sum.used_pages;
}

mmlab_status Core::ControlAlloc(mmlab_gfp_t gfp, uint32_t order, uint64_t* id, uint64_t* pfn,
                                TextBuf* why) {
  if (order > chunk_order_ || (gfp & ~MMLAB___GFP_ALL)) {
    AllocPages(gfp, order, kPgControl, why);  // reports the reason
    return MMLAB_EINVAL;
  }
  {
    IrqSaveGuard guard(ctl_lock_);
    if (!handles_.Reserve()) {
      Report(why, MMLAB_LOG_WARN, "control: alloc: all %u handles are in use", kMaxHandles);
      return MMLAB_ENOSPC;
    }
  }
  Page* page = AllocPages(gfp, order, kPgControl, why);
  IrqSaveGuard guard(ctl_lock_);
  if (!page) {
    handles_.Unreserve();
    Report(why, MMLAB_LOG_WARN, "control: alloc: no memory for an order-%u block (capacity %lu pages)",
           order, capacity_pages_);
    return MMLAB_ENOMEM;
  }
  *id = handles_.Commit(page, order);
  *pfn = PageToPfn(page);
  return MMLAB_OK;
}

mmlab_status Core::ControlFree(uint64_t id, bool order_given, uint32_t order,
                               uint32_t* freed_order, TextBuf* why) {
  IrqSaveGuard guard(ctl_lock_);
  Handle* h = handles_.Find(id);
  if (!h) {
    Report(why, MMLAB_LOG_WARN, "control: free: unknown handle %lu", id);
    return MMLAB_ENOENT;
  }
  if (order_given && order != h->order) {
    Report(why, MMLAB_LOG_WARN,
           "bad free: handle %lu (pfn 0x%lx) freed with order %u but allocated with order %u; "
           "handle kept",
           id, PageToPfn(h->page), order, h->order);
    return MMLAB_EINVAL;
  }
  const Page* page = h->page;
  const uint32_t block_order = h->order;
  FreeResult r = FreeInZones(
      [&](Zone& zone) { return zone.FreePage(page, block_order, /*allow_control=*/true, why); });
  if (!MMLAB_ASSERT(r == FreeResult::kFreed))
    return MMLAB_EINVAL;
  handles_.Remove(h);
  *freed_order = block_order;
  return MMLAB_OK;
}

mmlab_status Core::ControlFreePfn(uint64_t pfn, uint32_t order, TextBuf* why) {
  if (!FreeOrderValid(order, why))
    return MMLAB_EINVAL;
  IrqSaveGuard guard(ctl_lock_);
  Page* page = nullptr;
  for (uint32_t i = 0; i < nr_zones_ && !page; i++)
    page = zones_[i].PfnToPage(pfn);
  if (!page) {
    Report(why, MMLAB_LOG_WARN, "bad free: pfn 0x%lx is not managed by this core (order %u)", pfn,
           order);
    return MMLAB_EINVAL;
  }
  // A block the control file allocated may be freed by pfn; its handle
  // goes with it, so it can never name a block that was reused.
  Handle* h = handles_.FindPage(page);
  FreeResult r = FreeInZones(
      [&](Zone& zone) { return zone.FreePfn(pfn, order, /*allow_control=*/h != nullptr, why); });
  if (r == FreeResult::kNotInZone)  // its chunk was shrunk away meanwhile
    Report(why, MMLAB_LOG_WARN, "bad free: pfn 0x%lx is not managed by this core (order %u)", pfn,
           order);
  if (r != FreeResult::kFreed)
    return MMLAB_EINVAL;
  if (h)
    handles_.Remove(h);
  return MMLAB_OK;
}

uint64_t Core::ControlFreeAll() {
  uint64_t freed = 0;
  // One handle per critical section, so interrupts are not kept off for
  // thousands of frees.
  for (;;) {
    IrqSaveGuard guard(ctl_lock_);
    Handle h;
    if (!handles_.PopAny(&h))
      break;
    FreeResult r = FreeInZones(
        [&](Zone& zone) { return zone.FreePage(h.page, h.order, /*allow_control=*/true, nullptr); });
    if (MMLAB_ASSERT(r == FreeResult::kFreed))
      freed++;
  }
  return freed;
}

uint32_t Core::ControlHandles() {
  IrqSaveGuard guard(ctl_lock_);
  return handles_.live();
}

}  // namespace mmlab

// --- C ABI ------------------------------------------------------------------

using mmlab::Core;
using mmlab::Page;

extern "C" {

enum mmlab_status mmlab_core_create(const struct mmlab_core_config* cfg,
                                    struct mmlab_core** out) {
  Core* core = nullptr;
  mmlab_status st = Core::Create(cfg, &core);
  if (out)
    *out = st == MMLAB_OK ? core->handle() : nullptr;
  return st;
}

uint64_t mmlab_core_destroy(struct mmlab_core* core) {
  if (!core)
    return 0;
  return Core::From(core)->Destroy();
}

struct mmlab_page* mmlab_alloc_pages(struct mmlab_core* core, mmlab_gfp_t gfp, uint32_t order) {
  if (!MMLAB_ASSERT(core))
    return nullptr;
  return Core::From(core)->AllocPages(gfp, order);
}

enum mmlab_status mmlab___free_pages(struct mmlab_core* core, struct mmlab_page* page,
                                     uint32_t order) {
  if (!MMLAB_ASSERT(core))
    return MMLAB_EINVAL;
  return Core::From(core)->FreePages(page, order);
}

uintptr_t mmlab___get_free_pages(struct mmlab_core* core, mmlab_gfp_t gfp, uint32_t order) {
  if (!MMLAB_ASSERT(core))
    return 0;
  Page* page = Core::From(core)->AllocPages(gfp, order);
  return page ? Core::PageAddress(page) : 0;
}

uintptr_t mmlab_get_zeroed_page(struct mmlab_core* core, mmlab_gfp_t gfp) {
  return mmlab___get_free_pages(core, gfp | MMLAB___GFP_ZERO, 0);
}

enum mmlab_status mmlab_free_pages(struct mmlab_core* core, uintptr_t addr, uint32_t order) {
  if (!MMLAB_ASSERT(core))
    return MMLAB_EINVAL;
  if (addr == 0)
    return MMLAB_OK;  // free_pages(0, order) is a no-op in Linux too
  return Core::From(core)->FreeAddress(addr, order);
}

void* mmlab_page_address(struct mmlab_core* core, const struct mmlab_page* page) {
  (void)core;
  return page ? reinterpret_cast<void*>(Core::PageAddress(page)) : nullptr;
}

uint64_t mmlab_page_to_pfn(struct mmlab_core* core, const struct mmlab_page* page) {
  (void)core;
  if (!MMLAB_ASSERT(page))
    return 0;
  return Core::PageToPfn(page);
}

struct mmlab_page* mmlab_virt_to_page(struct mmlab_core* core, const void* addr) {
  if (!MMLAB_ASSERT(core))
    return nullptr;
  return Core::From(core)->VirtToPage(reinterpret_cast<uintptr_t>(addr));
}

enum mmlab_status mmlab_core_check(struct mmlab_core* core) {
  if (!MMLAB_ASSERT(core))
    return MMLAB_EINVAL;
  return Core::From(core)->Check() ? MMLAB_EUCLEAN : MMLAB_OK;
}

enum mmlab_status mmlab_core_shrink(struct mmlab_core* core, uint64_t* chunks_returned) {
  if (!MMLAB_ASSERT(core))
    return MMLAB_EINVAL;
  uint64_t n = Core::From(core)->Shrink();
  if (chunks_returned)
    *chunks_returned = n;
  return MMLAB_OK;
}

void mmlab_core_counters(struct mmlab_core* core, struct mmlab_core_counters* out) {
  if (!MMLAB_ASSERT(core && out))
    return;
  Core::From(core)->Counters(out);
}

}  // extern "C"
