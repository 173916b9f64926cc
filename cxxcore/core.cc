// SPDX-License-Identifier: GPL-2.0
//
// core.cc - the core's life cycle, the free side of the page allocator, the
// control file's handles and pressure pool, the invariant checker and the
// C ABI.
//
// How it works:
//  - Create splits the capacity between ZONE_DMA32 and ZONE_NORMAL, sets up
//    each zone's per-CPU lists for every possible CPU and computes the
//    watermarks; it borrows nothing. Allocation is in page_alloc.cc.
//  - Every free is validated by the zone that owns the pointer, with
//    interrupts off on this CPU (the per-CPU lists may take it); a pointer
//    no zone owns is foreign. Nothing is changed by a refused free.
//  - The control file's handles live under ctl_lock_, taken before
//    everything else and never held while allocating (allocation may sleep,
//    or run in another context) but held while freeing, so a handle and its
//    block always go together. The pressure pool is the same idea for
//    anonymous order-0 pages, under pressure_lock_.
//  - Check() looks at the per-CPU lists from their own CPUs (on_each_cpu)
//    before and after walking the zones; if no list changed in between, the
//    walk saw them hold still and every count must agree exactly.
//  - Destroy frees the handles and the pool, then each zone returns what it
//    can.
#include "core.h"

#include "alloc_trace.h"
#include "check.h"
#include "debug_report.h"
#include "log.h"

namespace mmlab {

namespace {

// Far above anything a machine lends (2^40 pages = 4 PiB), low enough that
// no page arithmetic on it can overflow.
constexpr uint64_t kMaxCapacityPages = uint64_t{1} << 40;

const char* ContextName(mmlab_host_context ctx) {
  switch (ctx) {
    case MMLAB_HOST_CTX_PROCESS:
      return "process";
    case MMLAB_HOST_CTX_IRQS_OFF:
      return "irqoff";
    case MMLAB_HOST_CTX_TIMER:
      return "timer";
  }
  return "?";
}

// Each zone's share: as configured, or a quarter (at least one chunk) to
// DMA32 and the rest to Normal.
bool SplitCapacity(const mmlab_core_config& cfg, uint64_t chunk_pages,
                   uint64_t (&zone_pages)[kMaxZones]) {
  uint64_t sum = 0;
  bool any = false;
  for (uint32_t z = 0; z < kMaxZones; z++) {
    zone_pages[z] = cfg.zone_pages[z];
    any |= zone_pages[z] != 0;
    if (zone_pages[z] % chunk_pages != 0 || zone_pages[z] > cfg.capacity_pages)
      return false;
    sum += zone_pages[z];
  }
  if (any)
    return sum == cfg.capacity_pages;
  uint64_t dma32 = cfg.capacity_pages / 4 / chunk_pages * chunk_pages;
  zone_pages[MMLAB_ZONE_DMA32] = Max(dma32, chunk_pages);
  zone_pages[MMLAB_ZONE_NORMAL] = cfg.capacity_pages - zone_pages[MMLAB_ZONE_DMA32];
  return true;
}

struct AllocCall {
  Core* core;
  mmlab_gfp_t gfp;
  uint32_t order;
  TextBuf* why;
  Page* page;
};

void RunAllocCall(void* p) {
  AllocCall* call = static_cast<AllocCall*>(p);
  call->page = call->core->AllocPages(call->gfp, call->order, kPgControl, call->why);
}

// One look at every CPU's lists, from that CPU; several CPUs may run it at
// once, so the sums are atomic.
struct PcpPass {
  Core* core;
  bool verify;
  uint64_t pages[kMaxZones];
  uint64_t gen[kMaxZones];
  uint64_t violations;
};

void PcpPassOnThisCpu(void* p) {
  PcpPass* pass = static_cast<PcpPass*>(p);
  uint32_t cpu = 0;
  unsigned long irq = mmlab_host_local_irq_save(&cpu);
  for (uint32_t z = 0; z < kMaxZones; z++) {
    PcpCheckCounts c;
    pass->core->zone(z).CheckPcpIrqsOff(cpu, pass->verify, &c);
    __atomic_fetch_add(&pass->pages[z], c.pages, __ATOMIC_RELAXED);
    __atomic_fetch_add(&pass->gen[z], c.gen, __ATOMIC_RELAXED);
    __atomic_fetch_add(&pass->violations, c.violations, __ATOMIC_RELAXED);
  }
  mmlab_host_local_irq_restore(irq);
}

}  // namespace

mmlab_status Core::Create(const mmlab_core_config* cfg, Core** out) {
  // The debug reports' flood limit and its count start afresh with each
  // core (in the kernel: with each load of the module).
  DebugReportResetAll();
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
  uint64_t zone_pages[kMaxZones];
  if (!SplitCapacity(*cfg, chunk_pages, zone_pages)) {
    Log(MMLAB_LOG_WARN,
        "create: zone_pages DMA32 %lu + Normal %lu must be multiples of the %lu-page chunk "
        "adding up to capacity_pages %lu",
        cfg->zone_pages[MMLAB_ZONE_DMA32], cfg->zone_pages[MMLAB_ZONE_NORMAL], chunk_pages,
        cfg->capacity_pages);
    return MMLAB_EINVAL;
  }
  if (cfg->min_free_kbytes > kMaxMinFreeKbytes) {
    Log(MMLAB_LOG_WARN, "create: min_free_kbytes %u out of range 0..%lu", cfg->min_free_kbytes,
        kMaxMinFreeKbytes);
    return MMLAB_EINVAL;
  }
  if (mmlab_host_nr_cpu_ids() == 0) {
    Log(MMLAB_LOG_WARN, "create: the host reports no CPUs");
    return MMLAB_EINVAL;
  }

  void* mem = mmlab_host_meta_alloc(sizeof(Core), 1);
  if (!mem)
    return MMLAB_ENOMEM;
  Core* core = new (mem) Core();
  mmlab_status st = core->Init(*cfg, zone_pages);
  if (st == MMLAB_OK)
    st = core->InitLayers();
  if (st != MMLAB_OK) {
    core->Destroy();
    return st;
  }
  *out = core;
  return MMLAB_OK;
}

mmlab_status Core::Init(const mmlab_core_config& cfg, const uint64_t (&zone_pages)[kMaxZones]) {
  chunk_order_ = cfg.chunk_order;
  capacity_pages_ = cfg.capacity_pages;
  nr_cpus_ = mmlab_host_nr_cpu_ids();
  fault_.Init(mmlab_host_fail_caps());
  if (!ctl_lock_.Init("mmlab_control") || !pressure_lock_.Init("mmlab_pressure") ||
      !wmark_lock_.Init("mmlab_wmark") || !shrinkers_.Init())
    return MMLAB_ENOMEM;
  if (!fail_stats_.Alloc(nr_cpus_))
    return MMLAB_ENOMEM;
  Handle* storage = HandleTable::AllocStorage();
  if (!storage)
    return MMLAB_ENOMEM;
  CtlObject* objects = ObjectTable::AllocStorage();
  if (!objects) {
    HandleTable::FreeStorage(storage);
    return MMLAB_ENOMEM;
  }
  {
    IrqSaveGuard guard(ctl_lock_);
    handles_.Install(storage);
    objects_.Install(objects);
  }
  static const mmlab_host_zone kHostZones[kMaxZones] = {MMLAB_HOST_ZONE_DMA32,
                                                        MMLAB_HOST_ZONE_NORMAL};
  for (uint32_t z = 0; z < kMaxZones; z++) {
    mmlab_status st = zones_[z].Init(static_cast<mmlab_zone_type>(z),
                                     ZoneTypeName(static_cast<mmlab_zone_type>(z)), chunk_order_,
                                     zone_pages[z], kHostZones[z], nr_cpus_);
    if (st != MMLAB_OK)
      return st;
    zones_[z].set_fail_chunk(&fault_.chunk());
  }
  IrqSaveGuard guard(wmark_lock_);
  min_free_kbytes_ =
      cfg.min_free_kbytes ? cfg.min_free_kbytes : DefaultMinFreeKbytes(capacity_pages_);
  SetupPerZoneWmarks();
  return MMLAB_OK;
}

mmlab_status Core::InitLayers() {
  mmlab_status st = SlabCreate(*this, &slab_);
  if (st == MMLAB_OK)
    st = VmallocCreate(*this, &vmalloc_);
  if (st == MMLAB_OK)
    st = MempoolsCreate(*this, &mempools_);
  if (st == MMLAB_OK)
    st = RegionsCreate(*this, &regions_);
  return st;
}

// Also the undo of a partial Init: every step checks what exists.
uint64_t Core::Destroy() {
  uint64_t leaked_pages = 0;
  if (ctl_lock_.initialized() && pressure_lock_.initialized()) {
    // The handles' blocks and the pool are the core's own: free them so
    // they are not mistaken for leaks.
    ControlFreeAll();
  }
  if (regions_)
    RegionsDestroy(regions_);
  if (mempools_)
    MempoolsDestroy(mempools_);
  if (vmalloc_)
    VmallocDestroy(vmalloc_);
  if (slab_)
    SlabDestroy(slab_);
  mempools_ = nullptr;
  regions_ = nullptr;
  vmalloc_ = nullptr;
  slab_ = nullptr;
  for (Zone& zone : zones_)
    leaked_pages += zone.Destroy();
  if (ctl_lock_.initialized()) {
    Handle* storage;
    CtlObject* objects;
    {
      IrqSaveGuard guard(ctl_lock_);
      storage = handles_.Release();
      objects = objects_.Release();
    }
    HandleTable::FreeStorage(storage);
    ObjectTable::FreeStorage(objects);
  }
  AllocTraceDestroy(*this);
  fail_stats_.Free();
  if (shrinkers_.initialized())
    shrinkers_.Destroy();
  wmark_lock_.Destroy();
  pressure_lock_.Destroy();
  ctl_lock_.Destroy();
  this->~Core();
  mmlab_host_meta_free(this, sizeof(Core));
  return leaked_pages;
}

bool Core::FreeOrderValid(uint32_t order, TextBuf* why) {
  if (order <= chunk_order_)
    return true;
  Report(why, MMLAB_LOG_WARN, "bad free: invalid order %u (largest is %u)", order, chunk_order_);
  return false;
}

FreeResult Core::FreeInZones(FreeTarget target, uint32_t order, uint16_t owners, TextBuf* why) {
  FreeResult r = FreeResult::kNotInZone;
  uint64_t pfn = 0;
  uint32_t cpu = 0;
  unsigned long irq = mmlab_host_local_irq_save(&cpu);
  for (Zone& zone : zones_) {
    r = zone.FreeIrqsOff(cpu, target, order, owners, why, &pfn);
    if (r != FreeResult::kNotInZone)
      break;
  }
  mmlab_host_local_irq_restore(irq);
  if (r == FreeResult::kFreed)
    mmlab_host_trace_page_free(pfn, order);
  return r;
}

mmlab_status Core::FreePages(const Page* page, uint32_t order, TextBuf* why, uint16_t owners) {
  if (!page) {
    Report(why, MMLAB_LOG_WARN, "bad free: NULL page (order %u)", order);
    return MMLAB_EINVAL;
  }
  if (!FreeOrderValid(order, why))
    return MMLAB_EINVAL;
  FreeTarget target = {FreeTarget::Kind::kDescriptor, reinterpret_cast<uintptr_t>(page)};
  FreeResult r = FreeInZones(target, order, owners, why);
  if (r == FreeResult::kNotInZone)
    Report(why, MMLAB_LOG_WARN, "bad free: page descriptor is not one of this core's (order %u)",
           order);
  return r == FreeResult::kFreed ? MMLAB_OK : MMLAB_EINVAL;
}

mmlab_status Core::FreeAddress(uintptr_t addr, uint32_t order, TextBuf* why) {
  if (!FreeOrderValid(order, why))
    return MMLAB_EINVAL;
  FreeResult r = FreeInZones({FreeTarget::Kind::kAddress, addr}, order, 0, why);
  if (r == FreeResult::kNotInZone)
    Report(why, MMLAB_LOG_WARN, "bad free: address is not in a chunk of this core (order %u)",
           order);
  return r == FreeResult::kFreed ? MMLAB_OK : MMLAB_EINVAL;
}

Page* Core::VirtToPage(uintptr_t addr) {
  for (Zone& zone : zones_) {
    Page* page = zone.VirtToPage(addr);
    if (page)
      return page;
  }
  return nullptr;
}

uint64_t Core::Shrink() {
  // Pages parked on per-CPU lists would pin their chunks (memory
  // offlining drains them too).
  DrainAllPages();
  uint64_t returned = 0;
  for (Zone& zone : zones_)
    returned += zone.Shrink();
  FreeRetiredIndexes();
  return returned;
}

uint64_t Core::Check() {
  CheckReport report;
  PcpPass before = {this, true, {}, {}, 0};
  mmlab_host_on_each_cpu(PcpPassOnThisCpu, &before);
  report.AddLogged(before.violations);

  ZoneCheckCounts counts[kMaxZones];
  {
    // The outer locks keep handles and the pool from changing while the
    // zones are walked; only reserved (in-flight) allocations may land.
    IrqSaveGuard ctl(ctl_lock_);
    IrqSaveGuard pressure(pressure_lock_);
    uint64_t control_blocks = 0, pressure_blocks = 0, pressure_unlinked = 0;
    for (uint32_t z = 0; z < kMaxZones; z++) {
      zones_[z].Check(&report, &counts[z]);
      control_blocks += counts[z].control_blocks;
      pressure_blocks += counts[z].pressure_blocks;
      pressure_unlinked += counts[z].pressure_unlinked;
    }
    for (uint32_t i = 0; i < handles_.live(); i++) {
      const Handle& h = handles_.at(i);
      bool ok = false;
      for (uint32_t z = 0; z < kMaxZones && !ok; z++)
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

    // The pool: a well-linked list of exactly pressure_pages_ order-0
    // pressure blocks, and no pressure block outside it but those being
    // added right now.
    const ListNode* sentinel = pressure_.sentinel();
    const ListNode* prev = sentinel;
    const ListNode* node = sentinel->next;
    uint64_t listed = 0;
    while (node != sentinel && listed <= pressure_pages_) {
      const Page* page = PageList::Owner(node);
      bool ok = false;
      for (uint32_t z = 0; z < kMaxZones && !ok; z++)
        ok = zones_[z].IsAllocHeadWith(page, 0, kPgPressure);
      if (!ok || node->prev != prev) {
        report.Violation("pressure: entry %lu is not a well-linked order-0 pool page", listed);
        break;
      }
      listed++;
      prev = node;
      node = node->next;
    }
    if (listed != pressure_pages_ || pressure_blocks - pressure_unlinked != pressure_pages_ ||
        pressure_unlinked > pressure_inflight_)
      report.Violation("pressure: pool says %lu pages, its list holds %lu, %lu pool blocks exist "
                       "(%lu unlisted, %lu being added)",
                       pressure_pages_, listed, pressure_blocks, pressure_unlinked,
                       pressure_inflight_);
  }

  PcpPass after = {this, false, {}, {}, 0};
  mmlab_host_on_each_cpu(PcpPassOnThisCpu, &after);
  for (uint32_t z = 0; z < kMaxZones; z++) {
    if (before.gen[z] != after.gen[z])
      continue;  // a list changed meanwhile: the walk's split cannot be judged
    const Zone& zone = zones_[z];
    if (counts[z].pcp_pages != before.pages[z])
      report.Violation("zone %s: %lu pages are in per-CPU state but the lists hold %lu",
                       zone.name(), counts[z].pcp_pages, before.pages[z]);
    if (counts[z].transitional)
      report.Violation("pfn 0x%lx: %s (and %lu such states in zone %s in all)",
                       counts[z].transitional_pfn, counts[z].transitional_what,
                       counts[z].transitional, zone.name());
  }
  if (slab_)
    report.AddLogged(SlabCheck(*slab_));
  if (vmalloc_)
    report.AddLogged(VmallocCheck(*vmalloc_));
  if (regions_)
    report.AddLogged(RegionsCheck(*regions_));
  if (mempools_)
    report.AddLogged(MempoolsCheck(*mempools_));
  report.Finish();
  return report.count();
}

void Core::Counters(struct mmlab_core_counters* out) {
  *out = {};
  for (Zone& zone : zones_) {
    // The lists first: pages only leave them for the buddy, so reading the
    // zone afterwards can make "out of the buddy" look larger, never
    // smaller than what the lists held.
    uint64_t pcp = zone.PcpPagesRacy();
    ZoneCounters c = zone.Counters();
    uint64_t out_of_buddy = c.host_pages - c.free_pages;
    pcp = Min(pcp, out_of_buddy);
    out->host_chunks += c.host_chunks;
    out->host_pages += c.host_pages;
    out->host_chunks_borrowed += c.host_chunks_borrowed;
    out->host_chunks_returned += c.host_chunks_returned;
    out->free_pages += c.free_pages;
    out->pcp_pages += pcp;
    out->used_pages += out_of_buddy - pcp;
  }
  out->capacity_pages = capacity_pages_;
}

mmlab_status Core::ControlAlloc(mmlab_gfp_t gfp, uint32_t order, mmlab_host_context context,
                                uint64_t* id, uint64_t* pfn, const char** zone, TextBuf* why) {
  if (order > chunk_order_ || (gfp & ~MMLAB___GFP_ALL)) {
    AllocPages(gfp, order, kPgControl, why);  // reports the reason
    return MMLAB_EINVAL;
  }
  if (context != MMLAB_HOST_CTX_PROCESS && (gfp & MMLAB___GFP_DIRECT_RECLAIM)) {
    // Linux: "sleeping function called from invalid context".
    Report(why, MMLAB_LOG_WARN,
           "control: alloc: gfp may sleep (__GFP_DIRECT_RECLAIM) and cannot run in context %s; "
           "use GFP_ATOMIC or GFP_NOWAIT",
           ContextName(context));
    return MMLAB_EINVAL;
  }
  {
    IrqSaveGuard guard(ctl_lock_);
    if (!handles_.Reserve()) {
      Report(why, MMLAB_LOG_WARN, "control: alloc: all %u handles are in use", kMaxHandles);
      return MMLAB_ENOSPC;
    }
  }
  AllocCall call = {this, gfp, order, why, nullptr};
  int rc = mmlab_host_run_in_context(context, RunAllocCall, &call);
  IrqSaveGuard guard(ctl_lock_);
  if (rc != 0 && !call.page) {
    handles_.Unreserve();
    Report(why, MMLAB_LOG_WARN, "control: alloc: context %s is not available",
           ContextName(context));
    return MMLAB_EINVAL;
  }
  if (!call.page) {
    handles_.Unreserve();
    Report(why, MMLAB_LOG_WARN, "control: alloc: no memory for an order-%u block (capacity %lu pages)",
           order, capacity_pages_);
    return MMLAB_ENOMEM;
  }
  *id = handles_.Commit(call.page, order);
  if (MMLAB_UNLIKELY(trace_on()))
    TracePages(*this, TraceOp::kAllocPages, PageAddress(call.page), order, gfp, 0);
  *pfn = PageToPfn(call.page);
  *zone = PageZone(call.page)->name();
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
  const uint32_t block_order = h->order;
  FreeTarget target = {FreeTarget::Kind::kDescriptor, reinterpret_cast<uintptr_t>(h->page)};
  FreeResult r = FreeInZones(target, block_order, kPgControl, why);
  if (!MMLAB_ASSERT(r == FreeResult::kFreed))
    return MMLAB_EINVAL;
  if (MMLAB_UNLIKELY(trace_on()))
    TracePages(*this, TraceOp::kFreePages, PageAddress(h->page), block_order, 0, 0);
  handles_.Remove(h);
  *freed_order = block_order;
  return MMLAB_OK;
}

mmlab_status Core::ControlFreePfn(uint64_t pfn, uint32_t order, TextBuf* why) {
  if (!FreeOrderValid(order, why))
    return MMLAB_EINVAL;
  IrqSaveGuard guard(ctl_lock_);
  Page* page = nullptr;
  for (uint32_t z = 0; z < kMaxZones && !page; z++)
    page = zones_[z].PfnToPage(pfn);
  if (!page) {
    Report(why, MMLAB_LOG_WARN, "bad free: pfn 0x%lx is not managed by this core (order %u)", pfn,
           order);
    return MMLAB_EINVAL;
  }
  // A block the control file allocated may be freed by pfn; its handle
  // goes with it, so it can never name a block that was reused.
  Handle* h = handles_.FindPage(page);
  FreeResult r = FreeInZones({FreeTarget::Kind::kPfn, pfn}, order,
                             h ? uint16_t{kPgControl} : uint16_t{0}, why);
  if (r == FreeResult::kNotInZone)  // its chunk was shrunk away meanwhile
    Report(why, MMLAB_LOG_WARN, "bad free: pfn 0x%lx is not managed by this core (order %u)", pfn,
           order);
  if (r != FreeResult::kFreed)
    return MMLAB_EINVAL;
  if (MMLAB_UNLIKELY(trace_on()))
    TracePages(*this, TraceOp::kFreePages, PageAddress(page), order, 0, 0);
  if (h)
    handles_.Remove(h);
  return MMLAB_OK;
}

uint64_t Core::ControlFreeAll(FreeAllCounts* rest) {
  uint64_t freed = 0;
  // One handle per critical section, so interrupts are not kept off for
  // thousands of frees.
  for (;;) {
    IrqSaveGuard guard(ctl_lock_);
    Handle h;
    if (!handles_.PopAny(&h))
      break;
    FreeTarget target = {FreeTarget::Kind::kDescriptor, reinterpret_cast<uintptr_t>(h.page)};
    if (MMLAB_UNLIKELY(trace_on()))
      TracePages(*this, TraceOp::kFreePages, PageAddress(h.page), h.order, 0, 0);
    if (MMLAB_ASSERT(FreeInZones(target, h.order, kPgControl, nullptr) == FreeResult::kFreed))
      freed++;
  }
  FreeAllCounts counts;
  counts.pressure = PressureRelease(~uint64_t{0});
  // Objects before their pools and caches; the layers exist only after
  // InitLayers (not during an early Destroy).
  counts.objects = ObjFreeAll();
  if (mempools_)
    counts.pools = MempoolControlDestroyAll(*this);
  if (slab_)
    counts.caches = SlabControlDestroyAll(*this);
  if (rest)
    *rest = counts;
  return freed;
}

mmlab_status Core::ObjReserve(uint32_t n, TextBuf* why) {
  {
    IrqSaveGuard guard(ctl_lock_);
    if (objects_.Reserve(n))
      return MMLAB_OK;
  }
  Report(why, MMLAB_LOG_WARN, "control: no room for %u more objects (at most %u live)", n,
         kMaxCtlObjects);
  return MMLAB_ENOSPC;
}

void Core::ObjUnreserve(uint32_t n) {
  IrqSaveGuard guard(ctl_lock_);
  objects_.Unreserve(n);
}

uint64_t Core::ObjCommit(CtlObject* obj) {
  IrqSaveGuard guard(ctl_lock_);
  return objects_.Commit(obj);
}

uint64_t Core::ObjCommitEach(uint32_t n, void (*make)(void* ctx, uint32_t i, CtlObject* out),
                             void* ctx) {
  IrqSaveGuard guard(ctl_lock_);
  uint64_t first = 0;
  for (uint32_t i = 0; i < n; i++) {
    CtlObject obj;
    make(ctx, i, &obj);
    const uint64_t id = objects_.Commit(&obj);
    if (i == 0)
      first = id;
  }
  return first;
}

mmlab_status Core::ObjTake(uint64_t id, uint32_t kind_mask, CtlObject* out, TextBuf* why) {
  ObjKind kind;
  {
    IrqSaveGuard guard(ctl_lock_);
    CtlObject* entry = objects_.Find(id);
    if (entry && (kind_mask & KindBit(entry->kind))) {
      objects_.Take(entry, out);
      return MMLAB_OK;
    }
    if (!entry) {
      kind = ObjKind::kSlab;
    } else {
      kind = entry->kind;
    }
    if (!entry) {
      Report(why, MMLAB_LOG_WARN, "control: no object %lu", id);
      return MMLAB_ENOENT;
    }
  }
  Report(why, MMLAB_LOG_WARN, "control: object %lu is a %s object (free it with %s)", id,
         ObjKindName(kind), ObjKindFreeCommand(kind));
  return MMLAB_EINVAL;
}

void Core::ObjPutBack(const CtlObject& obj) {
  IrqSaveGuard guard(ctl_lock_);
  objects_.PutBack(obj);
}

void Core::ObjDone() {
  IrqSaveGuard guard(ctl_lock_);
  objects_.Unreserve(1);
}

uint32_t Core::ObjCountOwned(const void* owner) {
  IrqSaveGuard guard(ctl_lock_);
  return objects_.CountOwned(owner);
}

uint64_t Core::ObjFreeAll() {
  uint64_t freed = 0;
  const uint32_t kinds[] = {KindBit(ObjKind::kMempool),
                            KindBit(ObjKind::kSlab) | KindBit(ObjKind::kKmalloc) |
                                KindBit(ObjKind::kKvmalloc) | KindBit(ObjKind::kVmalloc)};
  for (uint32_t mask : kinds) {
    for (;;) {
      CtlObject obj;
      {
        IrqSaveGuard guard(ctl_lock_);
        if (!objects_.PopAny(mask, &obj))
          break;
        objects_.Reserve(1);  // cannot fail: the entry's slot was just freed
      }
      CtlObjectFree(handle(), obj);
      ObjDone();
      freed++;
    }
  }
  return freed;
}

uint32_t Core::ControlHandles() {
  IrqSaveGuard guard(ctl_lock_);
  return handles_.live();
}

mmlab_status Core::PressureConsume(uint64_t n, mmlab_gfp_t gfp, uint64_t* got, TextBuf* why) {
  *got = 0;
  while (*got < n) {
    {
      IrqSaveGuard guard(pressure_lock_);
      pressure_inflight_++;
    }
    Page* page = AllocPages(gfp, 0, kPgPressure, why);
    IrqSaveGuard guard(pressure_lock_);
    pressure_inflight_--;
    if (!page)
      return MMLAB_ENOMEM;
    pressure_.PushFront(page);
    pressure_pages_++;
    (*got)++;
  }
  return MMLAB_OK;
}

uint64_t Core::PressureRelease(uint64_t n) {
  uint64_t released = 0;
  // One page per critical section, like ControlFreeAll; the page leaves
  // the list and the core together.
  while (released < n) {
    IrqSaveGuard guard(pressure_lock_);
    Page* page = pressure_.PopFront();
    if (!page)
      break;
    pressure_pages_--;
    FreeTarget target = {FreeTarget::Kind::kDescriptor, reinterpret_cast<uintptr_t>(page)};
    if (MMLAB_ASSERT(FreeInZones(target, 0, kPgPressure, nullptr) == FreeResult::kFreed))
      released++;
  }
  return released;
}

uint64_t Core::PressurePages() {
  IrqSaveGuard guard(pressure_lock_);
  return pressure_pages_;
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

struct mmlab_page* mmlab_core_alloc_pages(struct mmlab_core* core, mmlab_gfp_t gfp, uint32_t order) {
  if (!MMLAB_ASSERT(core))
    return nullptr;
  Core& c = *Core::From(core);
  Page* page = c.AllocPages(gfp, order);
  if (MMLAB_UNLIKELY(c.trace_on()) && page)
    TracePages(c, mmlab::TraceOp::kAllocPages, Core::PageAddress(page), order, gfp, 0);
  return page;
}

enum mmlab_status mmlab_core___free_pages(struct mmlab_core* core, struct mmlab_page* page,
                                     uint32_t order) {
  if (!MMLAB_ASSERT(core))
    return MMLAB_EINVAL;
  Core& c = *Core::From(core);
  mmlab_status st = c.FreePages(page, order);
  if (MMLAB_UNLIKELY(c.trace_on()) && st == MMLAB_OK)  // page is a valid descriptor
    TracePages(c, mmlab::TraceOp::kFreePages, Core::PageAddress(page), order, 0, 0);
  return st;
}

uintptr_t mmlab_core___get_free_pages(struct mmlab_core* core, mmlab_gfp_t gfp, uint32_t order) {
  if (!MMLAB_ASSERT(core))
    return 0;
  Core& c = *Core::From(core);
  Page* page = c.AllocPages(gfp, order);
  if (MMLAB_UNLIKELY(c.trace_on()) && page)
    TracePages(c, mmlab::TraceOp::kAllocPages, Core::PageAddress(page), order, gfp, 0);
  return page ? Core::PageAddress(page) : 0;
}

uintptr_t mmlab_core_get_zeroed_page(struct mmlab_core* core, mmlab_gfp_t gfp) {
  return mmlab_core___get_free_pages(core, gfp | MMLAB___GFP_ZERO, 0);
}

enum mmlab_status mmlab_core_free_pages(struct mmlab_core* core, uintptr_t addr, uint32_t order) {
  if (!MMLAB_ASSERT(core))
    return MMLAB_EINVAL;
  if (addr == 0)
    return MMLAB_OK;  // free_pages(0, order) is a no-op in Linux too
  Core& c = *Core::From(core);
  mmlab_status st = c.FreeAddress(addr, order);
  if (MMLAB_UNLIKELY(c.trace_on()) && st == MMLAB_OK)
    TracePages(c, mmlab::TraceOp::kFreePages, addr, order, 0, 0);
  return st;
}

void* mmlab_core_page_address(struct mmlab_core* core, const struct mmlab_page* page) {
  (void)core;
  return page ? reinterpret_cast<void*>(Core::PageAddress(page)) : nullptr;
}

uint64_t mmlab_core_page_to_pfn(struct mmlab_core* core, const struct mmlab_page* page) {
  (void)core;
  if (!MMLAB_ASSERT(page))
    return 0;
  return Core::PageToPfn(page);
}

struct mmlab_page* mmlab_core_virt_to_page(struct mmlab_core* core, const void* addr) {
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

void mmlab_core_kswapd(struct mmlab_core* core) {
  if (!MMLAB_ASSERT(core))
    return;
  Core::From(core)->Kswapd();
}

void mmlab_core_cpu_dead(struct mmlab_core* core, uint32_t cpu) {
  if (!MMLAB_ASSERT(core))
    return;
  Core::From(core)->CpuDead(cpu);
}

void mmlab_core_drain_all(struct mmlab_core* core) {
  if (!MMLAB_ASSERT(core))
    return;
  Core::From(core)->DrainAllPages();
}

}  // extern "C"
