// SPDX-License-Identifier: GPL-2.0
//
// zone.cc - one zone: borrowing, the buddy side of allocation and free,
// shrinking, checking.
//
// How it works:
//  - A zone starts empty. Reclaim (reclaim.cc) calls Grow(): under the lock
//    it reserves one chunk's worth of the zone's budget, drops the lock,
//    borrows the chunk from the zone's host zone and builds its
//    descriptors, then publishes it as one free block of the chunk order.
//    The reservation keeps concurrent growers inside the budget.
//  - Every chunk is found through the zone's ChunkIndex, which is replaced,
//    never edited: a new one is published with a release store and the old
//    one freed after a grace period (SynchronizeCpus), so the per-CPU free
//    path may look a caller's pointer up with interrupts off and no lock.
//  - Rmqueue() serves order <= 3 from this CPU's lists (pcp.cc) and larger
//    orders from the buddy under the lock. FreeIrqsOff() accepts a valid
//    free of order <= 3 without the lock (the block's head says "allocated,
//    this order, no other owner") and classifies everything else under it:
//    a double free, a free of a block on a per-CPU list, a wrong order, a
//    tail page, a block owned by the control file or the pressure pool.
//  - Shrink() unlinks fully free chunks, publishes an index without them
//    and returns them to the host after a grace period.
// Lock: lock_ ("mmlab_zone") is the innermost lock: it guards the buddy
// lists, the counters and the descriptors of free blocks, and nothing that
// may sleep or disable interrupts on another CPU runs under it.
#include "zone.h"

#include "page_debug.h"

#include "gfp.h"
#include "log.h"

namespace mmlab {

namespace {

constexpr uint64_t kMaxLeakReports = 64;

uint64_t BlockPages(uint32_t order) { return uint64_t{1} << order; }

}  // namespace

const char* ZoneTypeName(mmlab_zone_type type) {
  return type == MMLAB_ZONE_DMA32 ? "DMA32" : "Normal";
}

const char* GrowFailureName(GrowFailure f) {
  switch (f) {
    case GrowFailure::kNone:
      return "may still borrow";
    case GrowFailure::kCapacity:
      return "capacity reached";
    case GrowFailure::kHost:
      return "host refused a chunk";
    case GrowFailure::kMetadata:
      return "no metadata memory";
  }
  return "?";
}

mmlab_status Zone::Init(mmlab_zone_type type, const char* name, uint32_t chunk_order,
                        uint64_t max_pages, mmlab_host_zone host_zone, uint32_t nr_cpus) {
  if (!MMLAB_ASSERT(chunk_order <= MMLAB_MAX_CHUNK_ORDER && nr_cpus > 0))
    return MMLAB_EINVAL;
  if (!lock_.Init("mmlab_zone"))
    return MMLAB_ENOMEM;
  if (!pcp_.Alloc(nr_cpus)) {
    lock_.Destroy();
    return MMLAB_ENOMEM;
  }
  type_ = type;
  name_ = name;
  max_order_ = chunk_order;
  pcp_max_order_ = Min(kPcpMaxOrder, chunk_order);
  max_pages_ = max_pages;
  host_zone_ = host_zone;
  uint32_t batch = PcpBatchSize(max_pages);
  SetPcpHighBatch(PcpHigh(batch), batch);
  return MMLAB_OK;
}

void Zone::SetWatermarks(const uint64_t (&wmark)[kNrWmarks],
                         const uint64_t (&lowmem_reserve)[MMLAB_NR_ZONES]) {
  IrqSaveGuard guard(lock_);
  for (uint32_t i = 0; i < kNrWmarks; i++)
    WriteOnce(wmark_[i], wmark[i]);
  for (uint32_t i = 0; i < MMLAB_NR_ZONES; i++)
    WriteOnce(lowmem_reserve_[i], lowmem_reserve[i]);
}

uint64_t Zone::BorrowablePages() const {
  uint64_t reserved = ReadOnce(reserved_mirror_);
  return reserved < max_pages_ ? max_pages_ - reserved : 0;
}

// Lock-free, as Linux's __zone_watermark_ok: the answer is a hint that
// rmqueue, under the lock, confirms or not.
bool Zone::WatermarkOk(uint32_t order, uint64_t mark, uint32_t highest_zoneidx,
                       uint32_t alloc_flags, int64_t free, bool need_block) const {
  int64_t min = static_cast<int64_t>(mark);
  // Taking the block itself must not take the zone below the mark.
  free -= static_cast<int64_t>(BlockPages(order)) - 1;
  if (alloc_flags & kAllocMinReserve) {
    min -= min / 2;  // __GFP_HIGH
    if (alloc_flags & kAllocNonBlock)
      min -= min / 4;  // GFP_ATOMIC: cannot reclaim, so may dig deeper
  }
  if (free <= min + static_cast<int64_t>(lowmem_reserve(highest_zoneidx)))
    return false;
  return order == 0 || !need_block || HasFreeBlock(order);
}

// Reads nr_free without the lock (the buddy's writers use WriteOnce).
bool Zone::HasFreeBlock(uint32_t order) const MMLAB_NO_THREAD_SAFETY_ANALYSIS {
  for (uint32_t o = order; o <= max_order_; o++) {
    if (ReadOnce(free_area_[o].nr_free))
      return true;
  }
  return false;
}

Page* Zone::Rmqueue(uint32_t order, mmlab_gfp_t gfp, uint16_t flags, bool fallback, bool reserve) {
  uint32_t cpu = 0;
  unsigned long irq = mmlab_host_local_irq_save(&cpu);
  Page* page = nullptr;
  if (MMLAB_ASSERT(cpu < pcp_.nr_cpus())) {
    PerCpuPages& pcp = *pcp_.at(cpu);
    if (order <= pcp_max_order_)
      page = RmqueuePcpIrqsOff(pcp, order, gfp, flags);
    else
      page = RmqueueBuddy(order, gfp, flags);
    if (page) {
      PerCpuAdd(pcp.stats.allocs[order], 1);
      CountGfpBits(pcp.stats.gfp_allocs, gfp);
      if (fallback)
        PerCpuAdd(pcp.stats.alloc_fallback, 1);
      if (reserve)
        PerCpuAdd(pcp.stats.alloc_reserve, 1);
    }
  }
  mmlab_host_local_irq_restore(irq);
  return page;
}

Page* Zone::RmqueueBuddy(uint32_t order, mmlab_gfp_t gfp, uint16_t flags) {
  IrqSaveGuard guard(lock_);
  Page* head = BuddyRmqueue(free_area_, max_order_, order);
  if (!head)
    return nullptr;
  BuddyMarkAllocated(head, order, gfp, flags);
  counters_.free_pages -= BlockPages(order);
  SetFreePagesLocked(counters_.free_pages);
  return head;
}

void Zone::Unreserve(uint64_t pages, GrowFailure why) {
  IrqSaveGuard guard(lock_);
  reserved_pages_ -= pages;
  WriteOnce(reserved_mirror_, reserved_pages_);
  last_grow_failure_ = why;
}

bool Zone::Grow(bool can_sleep, GrowFor who) {
  const uint64_t chunk_pages = BlockPages(max_order_);
  {
    IrqSaveGuard guard(lock_);
    if (max_pages_ - reserved_pages_ < chunk_pages) {
      last_grow_failure_ = GrowFailure::kCapacity;
      return false;
    }
    reserved_pages_ += chunk_pages;
    WriteOnce(reserved_mirror_, reserved_pages_);
  }

  Chunk* chunk = Chunk::Borrow(this, max_order_, host_zone_, can_sleep, fail_chunk_);
  if (!chunk) {
    Unreserve(chunk_pages, GrowFailure::kHost);
    return false;
  }

  // Publish the chunk in a new index one entry larger than the current
  // one. The index is allocated with the lock dropped, so another grower
  // may have published meanwhile; then the fresh one is too small and the
  // next round allocates again.
  ChunkIndex* fresh = nullptr;
  bool free_retired = false;
  for (;;) {
    size_t need;
    {
      IrqSaveGuard guard(lock_);
      ChunkIndex* cur = index_;
      need = ChunkIndex::SizeOf(cur) + 1;
      if (fresh && fresh->capacity() >= need) {
        fresh->BuildInserting(cur, chunk);
        StoreRelease(index_, fresh);
        RetireIndexLocked(cur);
        AddChunkLocked(chunk, who);
        free_retired = nr_retired_indexes_ >= kRetiredIndexBatch;
        break;
      }
    }
    ChunkIndex::Free(fresh);
    fresh = ChunkIndex::Alloc(need, can_sleep);
    if (!fresh) {
      Chunk::Return(chunk);
      Unreserve(chunk_pages, GrowFailure::kMetadata);
      return false;
    }
  }
  if (free_retired && can_sleep)
    FreeRetiredIndexes();
  return true;
}

bool Zone::HasBorrowed() {
  IrqSaveGuard guard(lock_);
  return counters_.host_chunks_borrowed != 0;
}

void Zone::AddChunkLocked(Chunk* chunk, GrowFor who) {
  if (MMLAB_UNLIKELY(page_poison_))
    PagePoisonFill(reinterpret_cast<void*>(chunk->vaddr()), chunk->order());
  free_area_[max_order_].Add(chunk->page(0));
  counters_.host_chunks++;
  counters_.host_pages += chunk->nr_pages();
  counters_.host_chunks_borrowed++;
  counters_.free_pages += chunk->nr_pages();
  SetFreePagesLocked(counters_.free_pages);
  if (who == GrowFor::kKswapd)
    counters_.kswapd_borrowed += chunk->nr_pages();
  else
    counters_.direct_borrowed += chunk->nr_pages();
  last_grow_failure_ = GrowFailure::kNone;
  // Memory came in: whatever made kswapd give up here may be over.
  WriteOnce(kswapd_failed_, false);
}

void Zone::RetireIndexLocked(ChunkIndex* index) {
  if (!index)
    return;
  index->next_retired = retired_indexes_;
  retired_indexes_ = index;
  nr_retired_indexes_++;
}

void Zone::FreeRetiredIndexes() {
  ChunkIndex* list;
  {
    IrqSaveGuard guard(lock_);
    list = retired_indexes_;
    retired_indexes_ = nullptr;
    nr_retired_indexes_ = 0;
  }
  if (!list)
    return;
  // Readers that loaded one of these with interrupts off are done with it
  // once every CPU has had interrupts on again.
  SynchronizeCpus();
  while (list) {
    ChunkIndex* next = list->next_retired;
    ChunkIndex::Free(list);
    list = next;
  }
}

FreeResult Zone::FreeLocked(Chunk* chunk, uint32_t idx, uint32_t order, uint16_t allowed_owners,
                            TextBuf* why) {
  if (!MMLAB_ASSERT(order <= max_order_ && idx < chunk->nr_pages()))
    return FreeResult::kRefused;
  const Page* page = chunk->page(idx);
  uint64_t pfn = chunk->PfnOf(page);
  const Page* head;
  uint16_t foreign;

  switch (page->State()) {
    case PageState::kAllocHead:
      if (page->order != order) {
        Report(why, MMLAB_LOG_WARN,
               "bad free: pfn 0x%lx freed with order %u but allocated with order %u", pfn, order,
               page->order);
        PageBadFreeReport("Wrong order", pfn, order, page->order, "allocated");
        return FreeResult::kRefused;
      }
      foreign = page->Flags() & kPgOwnerMask & ~allowed_owners;
      if (foreign & kPgControl) {
        Report(why, MMLAB_LOG_WARN,
               "bad free: pfn 0x%lx order %u belongs to a control handle; free it there", pfn,
               order);
        return FreeResult::kRefused;
      }
      if (foreign & kPgPressure) {
        Report(why, MMLAB_LOG_WARN,
               "bad free: pfn 0x%lx order %u belongs to the pressure pool; release it there", pfn,
               order);
        return FreeResult::kRefused;
      }
      if (foreign) {
        Report(why, MMLAB_LOG_WARN, "bad free: pfn 0x%lx order %u is %s; %s", pfn, order,
               (foreign & (kPgSlab | kPgSlob)) ? "a slab"
               : (foreign & kPgLargeKmalloc)   ? "a kmalloc block"
                                               : "a page of a vmalloc area",
               (foreign & (kPgSlab | kPgSlob)) ? "free its objects with kmem_cache_free/kfree"
               : (foreign & kPgLargeKmalloc)   ? "free it with kfree"
                                               : "free the area with vfree");
        return FreeResult::kRefused;
      }
      if (MMLAB_UNLIKELY(page_poison_))
        PagePoisonFill(reinterpret_cast<void*>(chunk->AddressOf(page)), order);
      counters_.free_pages += BlockPages(order);
      SetFreePagesLocked(counters_.free_pages);
      BuddyFree(free_area_, chunk, idx, order);
      return FreeResult::kFreed;

    case PageState::kFreeHead:
      Report(why, MMLAB_LOG_WARN, "bad free: double free of pfn 0x%lx order %u", pfn, order);
      PageBadFreeReport("Double free", pfn, order, page->order, "free");
      return FreeResult::kRefused;

    case PageState::kFreeTail:
      head = BuddyFindHead(chunk, idx);
      Report(why, MMLAB_LOG_WARN,
             "bad free: double free of pfn 0x%lx order %u (inside free order-%u block at pfn 0x%lx)",
             pfn, order, head ? head->order : 0u, head ? chunk->PfnOf(head) : pfn);
      PageBadFreeReport("Double free", pfn, order, head ? head->order : 0u, "free");
      return FreeResult::kRefused;

    case PageState::kPcpHead:
      Report(why, MMLAB_LOG_WARN,
             "bad free: double free of pfn 0x%lx order %u (the block is on a per-CPU list)", pfn,
             order);
      PageBadFreeReport("Double free", pfn, order, page->order, "per-CPU");
      return FreeResult::kRefused;

    case PageState::kPcpTail:
      head = BuddyFindHead(chunk, idx);
      Report(why, MMLAB_LOG_WARN,
             "bad free: double free of pfn 0x%lx order %u (inside per-CPU order-%u block at pfn "
             "0x%lx)",
             pfn, order, head ? head->order : 0u, head ? chunk->PfnOf(head) : pfn);
      PageBadFreeReport("Double free", pfn, order, head ? head->order : 0u, "per-CPU");
      return FreeResult::kRefused;

    case PageState::kAllocTail:
      head = BuddyFindHead(chunk, idx);
      Report(why, MMLAB_LOG_WARN,
             "bad free: pfn 0x%lx order %u is not a block head (tail of order-%u block at pfn 0x%lx)",
             pfn, order, head ? head->order : 0u, head ? chunk->PfnOf(head) : pfn);
      PageBadFreeReport("Not a block head", pfn, order, head ? head->order : 0u, "allocated");
      return FreeResult::kRefused;

    default:
      break;
  }
  Report(why, MMLAB_LOG_ERR, "bad free: pfn 0x%lx has a corrupt descriptor (state %u)", pfn,
         static_cast<unsigned>(page->State()));
  return FreeResult::kRefused;
}

FreeResult Zone::FreeIrqsOff(uint32_t cpu, FreeTarget target, uint32_t order,
                             uint16_t allowed_owners, TextBuf* why, uint64_t* pfn) {
  // Interrupts are off, so the index cannot be freed under us (see
  // FreeRetiredIndexes).
  const ChunkIndex* index = LoadAcquire(index_);
  Chunk* chunk = nullptr;
  uint32_t idx = 0;
  switch (target.kind) {
    case FreeTarget::Kind::kDescriptor:
      chunk = ChunkIndex::FindByDescriptor(index, target.value);
      if (chunk)
        idx = chunk->IndexOf(reinterpret_cast<const Page*>(target.value));
      break;
    case FreeTarget::Kind::kAddress:
      chunk = ChunkIndex::FindByAddress(index, target.value);
      if (chunk) {
        idx = static_cast<uint32_t>((target.value - chunk->vaddr()) >> MMLAB_PAGE_SHIFT);
        if (!IsAligned(target.value, MMLAB_PAGE_SHIFT)) {
          Report(why, MMLAB_LOG_WARN,
                 "bad free: address inside pfn 0x%lx is not page aligned (order %u)",
                 chunk->pfn() + idx, order);
          return FreeResult::kRefused;
        }
      }
      break;
    case FreeTarget::Kind::kPfn:
      chunk = ChunkIndex::FindByPfn(index, target.value);
      if (chunk)
        idx = static_cast<uint32_t>(target.value - chunk->pfn());
      break;
  }
  if (!chunk)
    return FreeResult::kNotInZone;
  if (!MMLAB_ASSERT(order <= max_order_ && idx < chunk->nr_pages() && cpu < pcp_.nr_cpus()))
    return FreeResult::kRefused;
  Page* page = chunk->page(idx);
  PerCpuPages& pcp = *pcp_.at(cpu);

  // The fast path: the caller's own block, as it was handed out. Only its
  // owner changes a block in this state, so no lock is needed to trust it.
  if (MMLAB_LIKELY(order <= pcp_max_order_ && page->State() == PageState::kAllocHead &&
                   page->order == order &&
                   (page->Flags() & kPgOwnerMask & ~allowed_owners) == 0)) {
    *pfn = chunk->PfnOf(page);
    if (MMLAB_UNLIKELY(page_poison_))
      PagePoisonFill(reinterpret_cast<void*>(chunk->AddressOf(page)), order);
    FreePcpIrqsOff(pcp, page, order);
    PerCpuAdd(pcp.stats.frees[order], 1);
    return FreeResult::kFreed;
  }

  // Larger blocks, and everything that looks wrong: decide under the lock,
  // where free blocks hold still.
  FreeResult r;
  {
    IrqSaveGuard guard(lock_);
    r = FreeLocked(chunk, idx, order, allowed_owners, why);
  }
  if (r == FreeResult::kFreed) {
    *pfn = chunk->PfnOf(page);
    PerCpuAdd(pcp.stats.frees[order], 1);
  }
  return r;
}

Page* Zone::VirtToPage(uintptr_t addr) {
  IrqSaveGuard guard(lock_);
  Chunk* chunk = ChunkIndex::FindByAddress(index_, addr);
  if (!chunk)
    return nullptr;
  return chunk->page(static_cast<uint32_t>((addr - chunk->vaddr()) >> MMLAB_PAGE_SHIFT));
}

Page* Zone::VirtToPageIrqsOff(uintptr_t addr) {
  const ChunkIndex* index = LoadAcquire(index_);
  Chunk* chunk = index ? ChunkIndex::FindByAddress(index, addr) : nullptr;
  if (!chunk)
    return nullptr;
  return chunk->page(static_cast<uint32_t>((addr - chunk->vaddr()) >> MMLAB_PAGE_SHIFT));
}

Page* Zone::PfnToPage(uint64_t pfn) {
  IrqSaveGuard guard(lock_);
  Chunk* chunk = ChunkIndex::FindByPfn(index_, pfn);
  if (!chunk)
    return nullptr;
  return chunk->page(static_cast<uint32_t>(pfn - chunk->pfn()));
}

bool Zone::IsAllocHeadWith(const Page* page, uint32_t order, uint16_t flags) {
  IrqSaveGuard guard(lock_);
  if (!ChunkIndex::FindByDescriptor(index_, reinterpret_cast<uintptr_t>(page)))
    return false;
  return page->IsAllocHead() && page->order == order && (page->Flags() & flags) == flags;
}

bool Zone::Contains(const Page* page) const {
  return ChunkIndex::FindByDescriptor(LoadAcquire(index_), reinterpret_cast<uintptr_t>(page)) !=
         nullptr;
}

void Zone::CountReclaimPass() {
  IrqSaveGuard guard(lock_);
  counters_.reclaim_passes++;
}

void Zone::CountKswapdWakeup() {
  IrqSaveGuard guard(lock_);
  counters_.kswapd_wakeups++;
}

void Zone::CountKswapdReclaimed(uint64_t pages) {
  IrqSaveGuard guard(lock_);
  counters_.kswapd_reclaimed += pages;
}

bool Zone::SetKswapdFailed(bool failed) {
  IrqSaveGuard guard(lock_);
  bool was = kswapd_failed_;
  WriteOnce(kswapd_failed_, failed);
  return was;
}

uint64_t Zone::Shrink() {
  Chunk* retired = nullptr;
  uint64_t returned = 0;
  ChunkIndex* fresh = nullptr;
  ChunkIndex* old = nullptr;
  ChunkIndex* waiting = nullptr;
  for (;;) {
    size_t keep;
    {
      IrqSaveGuard guard(lock_);
      ChunkIndex* cur = index_;
      size_t n = ChunkIndex::SizeOf(cur), nr_free = 0;
      for (size_t i = 0; i < n; i++)
        nr_free += BuddyChunkIsFree(cur->at(i)) ? 1 : 0;
      if (nr_free == 0)
        break;
      keep = n - nr_free;
      if (fresh && fresh->capacity() >= keep) {
        for (size_t i = 0; i < n; i++) {
          Chunk* chunk = cur->at(i);
          if (!BuddyChunkIsFree(chunk))
            continue;
          free_area_[max_order_].Del(chunk->page(0));
          chunk->set_retired(retired);
          retired = chunk;
          returned++;
          counters_.host_chunks--;
          counters_.host_pages -= chunk->nr_pages();
          counters_.host_chunks_returned++;
          counters_.free_pages -= chunk->nr_pages();
          reserved_pages_ -= chunk->nr_pages();
        }
        SetFreePagesLocked(counters_.free_pages);
        WriteOnce(reserved_mirror_, reserved_pages_);
        fresh->BuildWithoutRetired(cur);
        StoreRelease(index_, fresh);
        fresh = nullptr;
        old = cur;
        // Capacity came back: kswapd may have work again.
        WriteOnce(kswapd_failed_, false);
        // The same grace period serves the indexes already waiting.
        waiting = retired_indexes_;
        retired_indexes_ = nullptr;
        nr_retired_indexes_ = 0;
        break;
      }
    }
    ChunkIndex::Free(fresh);
    fresh = ChunkIndex::Alloc(Max<size_t>(keep, 1), true);
    if (!fresh)
      return 0;
  }
  ChunkIndex::Free(fresh);
  if (!returned)
    return 0;
  // A CPU may still be reading the old index, or a retired chunk's
  // descriptors through it, with interrupts off.
  SynchronizeCpus();
  ChunkIndex::Free(old);
  while (waiting) {
    ChunkIndex* next = waiting->next_retired;
    ChunkIndex::Free(waiting);
    waiting = next;
  }
  while (retired) {
    Chunk* next = retired->next_retired();
    Chunk::Return(retired);
    retired = next;
  }
  return returned;
}

uint64_t Zone::Destroy() {
  if (!lock_.initialized())
    return 0;  // Init never ran or failed
  // Nobody allocates any more: every CPU's lists can go back remotely, as
  // after CPU hot-unplug.
  for (uint32_t cpu = 0; cpu < pcp_.nr_cpus(); cpu++)
    DrainPcp(cpu);

  Chunk* to_return = nullptr;
  Chunk* to_leak = nullptr;
  uint64_t leaked_chunks = 0, leaked_pages = 0, used_pages = 0, reports = 0;
  ChunkIndex* index;
  ChunkIndex* waiting;
  {
    IrqSaveGuard guard(lock_);
    index = index_;
    for (size_t i = 0; i < ChunkIndex::SizeOf(index); i++) {
      Chunk* chunk = index->at(i);
      if (BuddyChunkIsFree(chunk)) {
        chunk->set_retired(to_return);
        to_return = chunk;
        continue;
      }
      for (uint32_t idx = 0; idx < chunk->nr_pages(); idx++) {
        const Page* page = chunk->page(idx);
        if (!page->IsAllocHead())
          continue;
        used_pages += BlockPages(page->order);
        if (++reports > kMaxLeakReports)
          continue;
        char gfp_text[kGfpTextMax];
        GfpDecode(page->gfp, gfp_text, sizeof(gfp_text));
        Log(MMLAB_LOG_ERR, "destroy: zone %s: pfn 0x%lx order %u still allocated (gfp %s)", name_,
            chunk->PfnOf(page), page->order, gfp_text);
      }
      chunk->set_retired(to_leak);
      to_leak = chunk;
      leaked_chunks++;
      leaked_pages += chunk->nr_pages();
    }
    if (reports > kMaxLeakReports)
      Log(MMLAB_LOG_ERR, "destroy: zone %s: %lu more allocated blocks not shown", name_,
          reports - kMaxLeakReports);
    StoreRelease(index_, static_cast<ChunkIndex*>(nullptr));
    waiting = retired_indexes_;
    retired_indexes_ = nullptr;
    nr_retired_indexes_ = 0;
    counters_ = ZoneCounters();
    SetFreePagesLocked(0);
    reserved_pages_ = 0;
    WriteOnce(reserved_mirror_, uint64_t{0});
    for (FreeArea& area : free_area_)
      area.Reset();
  }
  while (to_return) {
    Chunk* next = to_return->next_retired();
    Chunk::Return(to_return);
    to_return = next;
  }
  while (to_leak) {
    Chunk* next = to_leak->next_retired();
    Chunk::Abandon(to_leak);
    to_leak = next;
  }
  ChunkIndex::Free(index);
  while (waiting) {
    ChunkIndex* next = waiting->next_retired;
    ChunkIndex::Free(waiting);
    waiting = next;
  }
  pcp_.Free();
  lock_.Destroy();
  if (leaked_chunks)
    Log(MMLAB_LOG_ERR,
        "destroy: zone %s: leaking %lu chunks (%lu pages) to keep %lu pages in use safe",
        name_, leaked_chunks, leaked_pages, used_pages);
  return leaked_pages;
}

ZoneSnapshot Zone::Snapshot() {
  ZoneSnapshot s;
  IrqSaveGuard guard(lock_);
  s.counters = counters_;
  for (uint32_t i = 0; i < kNrWmarks; i++)
    s.wmark[i] = wmark_[i];
  for (uint32_t i = 0; i < MMLAB_NR_ZONES; i++)
    s.lowmem_reserve[i] = lowmem_reserve_[i];
  s.spanned = max_pages_;
  s.reserved = reserved_pages_;
  for (uint32_t order = 0; order < kNrOrders; order++)
    s.nr_free[order] = free_area_[order].nr_free;
  const ChunkIndex* index = index_;
  for (size_t i = 0; i < ChunkIndex::SizeOf(index); i++) {
    uint64_t pfn = index->at(i)->pfn();
    if (i == 0 || pfn < s.start_pfn)
      s.start_pfn = pfn;
  }
  s.kswapd_failed = kswapd_failed_;
  s.last_grow_failure = last_grow_failure_;
  return s;
}

ZoneCounters Zone::Counters() {
  IrqSaveGuard guard(lock_);
  return counters_;
}

void Zone::NrFree(uint64_t (&out)[kNrOrders]) {
  IrqSaveGuard guard(lock_);
  for (uint32_t order = 0; order < kNrOrders; order++)
    out[order] = free_area_[order].nr_free;
}

// Per chunk: every page belongs to exactly one block whose head is a free,
// allocated or per-CPU head of a valid order, aligned to that order,
// followed by tails of the matching kind; descriptors point at their chunk;
// exactly the free heads are on the free lists; no free block has a free
// buddy of the same order. Blocks outside the buddy may be switching
// between "allocated" and "per-CPU" on their own CPU while we look; what
// such a switch can show is counted as transitional for the core to judge.
void Zone::CheckChunkLocked(Chunk* chunk, CheckReport* report, uint64_t (&free_blocks)[kNrOrders],
                            uint64_t* free_pages, ZoneCheckCounts* counts) {
  if (chunk->zone() != this || chunk->order() != max_order_)
    report->Violation("chunk at pfn 0x%lx: wrong zone or order %u", chunk->pfn(), chunk->order());
  auto transitional = [&](uint64_t pfn, const char* what) {
    if (counts->transitional++ == 0) {
      counts->transitional_pfn = pfn;
      counts->transitional_what = what;
    }
  };
  uint32_t idx = 0;
  while (idx < chunk->nr_pages()) {
    const Page* page = chunk->page(idx);
    uint64_t pfn = chunk->PfnOf(page);
    if (page->chunk != chunk)
      report->Violation("pfn 0x%lx: descriptor names another chunk", pfn);
    const PageState state = page->State();
    if (!page->IsHead()) {
      report->Violation("pfn 0x%lx: %s where a block head belongs", pfn, PageStateName(state));
      idx++;
      continue;
    }
    uint32_t order = page->order;
    if (order > max_order_ || !IsAligned(idx, order)) {
      report->Violation("pfn 0x%lx: %s of order %u is not aligned to its order", pfn,
                        PageStateName(state), order);
      idx++;
      continue;
    }
    const bool free = state == PageState::kFreeHead;
    const bool pcp = state == PageState::kPcpHead;
    const PageState tail_state =
        free ? PageState::kFreeTail : pcp ? PageState::kPcpTail : PageState::kAllocTail;
    for (uint32_t i = 1; i < (1u << order); i++) {
      const Page* tail = chunk->page(idx + i);
      const PageState ts = tail->State();
      if (ts != tail_state) {
        bool other_out_kind = !free && (ts == PageState::kPcpTail || ts == PageState::kAllocTail);
        if (other_out_kind)
          transitional(chunk->PfnOf(tail), "a tail of the other out-of-buddy kind");
        else
          report->Violation("pfn 0x%lx: %s inside the order-%u %s block at pfn 0x%lx",
                            chunk->PfnOf(tail), PageStateName(ts), order,
                            free ? "free" : pcp ? "per-CPU" : "allocated", pfn);
      }
      if (tail->buddy_list.linked())
        report->Violation("pfn 0x%lx: tail page is on a list", chunk->PfnOf(tail));
    }
    const bool linked = page->buddy_list.linked();
    if (free) {
      free_blocks[order]++;
      *free_pages += BlockPages(order);
      if (!linked)
        report->Violation("pfn 0x%lx: free order-%u block is on no free list", pfn, order);
      if (order < max_order_) {
        const Page* buddy = chunk->page(BuddyIndex(idx, order));
        if (buddy->IsFreeHead() && buddy->order == order)
          report->Violation("pfn 0x%lx: free order-%u block and its free buddy at pfn 0x%lx "
                            "were not merged",
                            pfn, order, chunk->PfnOf(buddy));
      }
    } else if (pcp) {
      counts->pcp_pages += BlockPages(order);
      if (!linked)
        transitional(pfn, "a per-CPU block on no list");
    } else {
      counts->alloc_pages += BlockPages(order);
      uint16_t flags = page->Flags();
      if (flags & kPgControl)
        counts->control_blocks++;
      if (flags & kPgPressure) {
        counts->pressure_blocks++;
        if (!linked)
          counts->pressure_unlinked++;  // being added to the pool, or lost: the core decides
        if (order != 0)
          report->Violation("pfn 0x%lx: pressure-pool block of order %u", pfn, order);
      } else if (linked) {
        transitional(pfn, "an allocated block on a list");
      }
    }
    idx += 1u << order;
  }
}

// Per order: the list is well linked, ends, holds only free heads of this
// zone and this order, and holds exactly nr_free of them, which is also the
// number of such blocks the descriptor walk found.
void Zone::CheckFreeListLocked(uint32_t order, uint64_t free_blocks, CheckReport* report) {
  const FreeArea& area = free_area_[order];
  const ListNode* sentinel = area.free_list.sentinel();
  const ListNode* prev = sentinel;
  const ListNode* node = sentinel->next;
  uint64_t listed = 0;
  uint64_t limit = counters_.host_pages + 1;
  while (node != sentinel) {
    if (listed >= limit) {
      report->Violation("free_area[%u]: list does not end (cycle)", order);
      break;
    }
    const Chunk* chunk =
        node ? ChunkIndex::FindByDescriptor(index_, reinterpret_cast<uintptr_t>(node)) : nullptr;
    if (!chunk) {
      report->Violation("free_area[%u]: entry %lu is not a descriptor of this zone", order,
                        listed);
      break;
    }
    if (node->prev != prev)
      report->Violation("free_area[%u]: entry %lu has a broken back link", order, listed);
    const Page* page = PageList::Owner(node);
    if (!page->IsFreeHead() || page->order != order) {
      report->Violation("free_area[%u]: lists pfn 0x%lx, a %s of order %u", order,
                        chunk->PfnOf(page), PageStateName(page->State()), page->order);
    }
    listed++;
    prev = node;
    node = node->next;
  }
  if (node == sentinel && sentinel->prev != prev)
    report->Violation("free_area[%u]: list head has a broken back link", order);
  if (listed != area.nr_free)
    report->Violation("free_area[%u]: nr_free is %lu but the list holds %lu", order, area.nr_free,
                      listed);
  if (free_blocks != area.nr_free)
    report->Violation("free_area[%u]: nr_free is %lu but %lu free blocks of that order exist",
                      order, area.nr_free, free_blocks);
}

void Zone::Check(CheckReport* report, ZoneCheckCounts* counts) {
  IrqSaveGuard guard(lock_);
  uint64_t free_blocks[kNrOrders] = {};
  uint64_t free_pages = 0;
  const ChunkIndex* index = index_;
  const size_t nr_chunks = ChunkIndex::SizeOf(index);
  for (size_t i = 0; i < nr_chunks; i++) {
    Chunk* chunk = index->at(i);
    if (i > 0 && index->at(i - 1)->vaddr() >= chunk->vaddr())
      report->Violation("zone %s: chunk index is not sorted by address at entry %zu", name_, i);
    CheckChunkLocked(chunk, report, free_blocks, &free_pages, counts);
  }
  for (uint32_t order = 0; order < kNrOrders; order++) {
    if (order > max_order_) {
      if (free_area_[order].nr_free || !free_area_[order].free_list.empty())
        report->Violation("free_area[%u]: above the chunk order but not empty", order);
      continue;
    }
    CheckFreeListLocked(order, free_blocks[order], report);
  }
  if (free_pages != counters_.free_pages || free_pages_ != counters_.free_pages)
    report->Violation("zone %s: free_pages is %lu (seen lock-free as %lu) but free blocks hold %lu",
                      name_, counters_.free_pages, free_pages_, free_pages);
  if (counters_.free_pages + counts->alloc_pages + counts->pcp_pages != counters_.host_pages)
    report->Violation("zone %s: free %lu + allocated %lu + per-CPU %lu pages != host_pages %lu",
                      name_, counters_.free_pages, counts->alloc_pages, counts->pcp_pages,
                      counters_.host_pages);
  if (counters_.host_chunks != nr_chunks ||
      counters_.host_pages != nr_chunks * BlockPages(max_order_))
    report->Violation("zone %s: host_chunks %lu / host_pages %lu but %zu chunks are held", name_,
                      counters_.host_chunks, counters_.host_pages, nr_chunks);
  if (reserved_pages_ < counters_.host_pages || reserved_pages_ > max_pages_ ||
      reserved_mirror_ != reserved_pages_)
    report->Violation("zone %s: reserved %lu pages with %lu borrowed and a budget of %lu", name_,
                      reserved_pages_, counters_.host_pages, max_pages_);
}

}  // namespace mmlab
