// SPDX-License-Identifier: GPL-2.0
//
// zone.cc - one zone of the buddy allocator.
//
// How it works:
//  - A zone starts empty. When its free lists cannot satisfy a request the
//    core calls Grow(): under the lock it reserves one chunk's worth of the
//    zone's page budget, drops the lock, borrows the chunk and builds its
//    descriptors, retakes the lock and publishes the chunk as one free
//    block of the chunk order. The reservation is what keeps concurrent
//    growers inside the budget; it is released if the host says no.
//  - TryAlloc() and the Free*() calls are short critical sections around the
//    buddy split/merge (buddy.cc). Every pointer or pfn a caller passes is
//    first resolved through the chunk table, so a foreign value is refused
//    without being dereferenced; then the descriptor's state decides
//    between a good free, a double free, a wrong order and a tail page.
//  - Shrink() unlinks every chunk that is one free block under the lock and
//    returns those chunks to the host after dropping it.
//  - Check() walks every descriptor and every list and verifies the
//    invariants listed at CheckChunkLocked and CheckFreeListLocked.
// Lock: lock_ ("mmlab_zone") guards everything in the zone, including the
// descriptors of its chunks. The host page source is never called with it
// held; the control file's lock may be held outside it (core.cc).
#include "zone.h"

#include "gfp.h"
#include "log.h"

namespace mmlab {

namespace {

constexpr uint64_t kMaxLeakReports = 64;

uint64_t BlockPages(uint32_t order) { return uint64_t{1} << order; }

}  // namespace

mmlab_status Zone::Init(const char* name, uint32_t chunk_order, uint64_t max_pages,
                        mmlab_host_zone host_zone) {
  if (!MMLAB_ASSERT(chunk_order <= MMLAB_MAX_CHUNK_ORDER))
    return MMLAB_EINVAL;
  if (!lock_.Init("mmlab_zone"))
    return MMLAB_ENOMEM;
  name_ = name;
  max_order_ = chunk_order;
  max_pages_ = max_pages;
  host_zone_ = host_zone;
  return MMLAB_OK;
}

Page* Zone::TryAlloc(uint32_t order, mmlab_gfp_t gfp, uint16_t flags) {
  IrqSaveGuard guard(lock_);
  Page* head = BuddyRmqueue(free_area_, max_order_, order);
  if (!head)
    return nullptr;
  BuddyMarkAllocated(head, order, gfp, flags);
  counters_.free_pages -= BlockPages(order);
  counters_.used_pages += BlockPages(order);
  order_stats_[order].allocs++;
  return head;
}

void Zone::CountFailure(uint32_t order) {
  IrqSaveGuard guard(lock_);
  order_stats_[order].failures++;
}

void Zone::Unreserve(uint64_t pages) {
  IrqSaveGuard guard(lock_);
  reserved_pages_ -= pages;
}

bool Zone::Grow(bool can_sleep) {
  const uint64_t chunk_pages = BlockPages(max_order_);
  {
    IrqSaveGuard guard(lock_);
    if (max_pages_ - reserved_pages_ < chunk_pages)
      return false;
    reserved_pages_ += chunk_pages;
  }

  Chunk* chunk = Chunk::Borrow(this, max_order_, host_zone_, can_sleep);
  if (!chunk) {
    Unreserve(chunk_pages);
    return false;
  }

  // Publish the chunk, first growing the chunk table if it is full. The
  // bigger table is allocated with the lock dropped, so another thread may
  // have grown it meanwhile; whichever storage loses is freed unlocked.
  for (;;) {
    size_t want;
    {
      IrqSaveGuard guard(lock_);
      if (chunks_.HasRoom()) {
        AddChunkLocked(chunk);
        return true;
      }
      want = Max(chunks_.capacity() * 2, kInitialTableSize);
    }
    ChunkTable::Storage bigger;
    if (!ChunkTable::AllocStorage(want, can_sleep, &bigger)) {
      Chunk::Return(chunk);
      Unreserve(chunk_pages);
      return false;
    }
    ChunkTable::Storage unused;
    {
      IrqSaveGuard guard(lock_);
      unused = chunks_.capacity() < want ? chunks_.Adopt(bigger) : bigger;
    }
    ChunkTable::FreeStorage(unused);
  }
}

void Zone::AddChunkLocked(Chunk* chunk) {
  chunks_.Insert(chunk);
  free_area_[max_order_].Add(chunk->page(0));
  counters_.host_chunks++;
  counters_.host_pages += chunk->nr_pages();
  counters_.host_chunks_borrowed++;
  counters_.free_pages += chunk->nr_pages();
}

FreeResult Zone::FreeLocked(Chunk* chunk, uint32_t idx, uint32_t order, bool allow_control,
                            TextBuf* why) {
  if (!MMLAB_ASSERT(order <= max_order_ && idx < chunk->nr_pages()))
    return FreeResult::kRefused;
  const Page* page = chunk->page(idx);
  uint64_t pfn = chunk->PfnOf(page);
  const Page* head;

  switch (page->state) {
    case PageState::kAllocHead:
      if (page->order != order) {
        Report(why, MMLAB_LOG_WARN,
               "bad free: pfn 0x%lx freed with order %u but allocated with order %u", pfn, order,
               page->order);
        return FreeResult::kRefused;
      }
      if ((page->flags & kPgControl) && !allow_control) {
        Report(why, MMLAB_LOG_WARN,
               "bad free: pfn 0x%lx order %u belongs to a control handle; free it there", pfn,
               order);
        return FreeResult::kRefused;
      }
      counters_.used_pages -= BlockPages(order);
      counters_.free_pages += BlockPages(order);
      order_stats_[order].frees++;
      BuddyFree(free_area_, chunk, idx, order);
      return FreeResult::kFreed;

    case PageState::kFreeHead:
      Report(why, MMLAB_LOG_WARN, "bad free: double free of pfn 0x%lx order %u", pfn, order);
      return FreeResult::kRefused;

    case PageState::kFreeTail:
      head = BuddyFindHead(chunk, idx);
      Report(why, MMLAB_LOG_WARN,
             "bad free: double free of pfn 0x%lx order %u (inside free order-%u block at pfn 0x%lx)",
             pfn, order, head ? head->order : 0u, head ? chunk->PfnOf(head) : pfn);
      return FreeResult::kRefused;

    case PageState::kAllocTail:
      head = BuddyFindHead(chunk, idx);
      Report(why, MMLAB_LOG_WARN,
             "bad free: pfn 0x%lx order %u is not a block head (tail of order-%u block at pfn 0x%lx)",
             pfn, order, head ? head->order : 0u, head ? chunk->PfnOf(head) : pfn);
      return FreeResult::kRefused;

    default:
      break;
  }
  Report(why, MMLAB_LOG_ERR, "bad free: pfn 0x%lx has a corrupt descriptor (state %u)", pfn,
         static_cast<unsigned>(page->state));
  return FreeResult::kRefused;
}

FreeResult Zone::FreePage(const Page* page, uint32_t order, bool allow_control, TextBuf* why) {
  IrqSaveGuard guard(lock_);
  Chunk* chunk = chunks_.FindByDescriptor(reinterpret_cast<uintptr_t>(page));
  if (!chunk)
    return FreeResult::kNotInZone;
  return FreeLocked(chunk, chunk->IndexOf(page), order, allow_control, why);
}

FreeResult Zone::FreeAddress(uintptr_t addr, uint32_t order, bool allow_control, TextBuf* why) {
  IrqSaveGuard guard(lock_);
  Chunk* chunk = chunks_.FindByAddress(addr);
  if (!chunk)
    return FreeResult::kNotInZone;
  uint32_t idx = static_cast<uint32_t>((addr - chunk->vaddr()) >> MMLAB_PAGE_SHIFT);
  if (!IsAligned(addr, MMLAB_PAGE_SHIFT)) {
    Report(why, MMLAB_LOG_WARN, "bad free: address inside pfn 0x%lx is not page aligned (order %u)",
           chunk->pfn() + idx, order);
    return FreeResult::kRefused;
  }
  return FreeLocked(chunk, idx, order, allow_control, why);
}

FreeResult Zone::FreePfn(uint64_t pfn, uint32_t order, bool allow_control, TextBuf* why) {
  IrqSaveGuard guard(lock_);
  Chunk* chunk = chunks_.FindByPfn(pfn);
  if (!chunk)
    return FreeResult::kNotInZone;
  return FreeLocked(chunk, static_cast<uint32_t>(pfn - chunk->pfn()), order, allow_control, why);
}

Page* Zone::VirtToPage(uintptr_t addr) {
  IrqSaveGuard guard(lock_);
  Chunk* chunk = chunks_.FindByAddress(addr);
  if (!chunk)
    return nullptr;
  return chunk->page(static_cast<uint32_t>((addr - chunk->vaddr()) >> MMLAB_PAGE_SHIFT));
}

Page* Zone::PfnToPage(uint64_t pfn) {
  IrqSaveGuard guard(lock_);
  Chunk* chunk = chunks_.FindByPfn(pfn);
  if (!chunk)
    return nullptr;
  return chunk->page(static_cast<uint32_t>(pfn - chunk->pfn()));
}

bool Zone::IsAllocHeadWith(const Page* page, uint32_t order, uint16_t flags) {
  IrqSaveGuard guard(lock_);
  if (!chunks_.FindByDescriptor(reinterpret_cast<uintptr_t>(page)))
    return false;
  return page->IsAllocHead() && page->order == order && (page->flags & flags) == flags;
}

uint64_t Zone::Shrink() {
  Chunk* retired = nullptr;
  uint64_t returned = 0;
  {
    IrqSaveGuard guard(lock_);
    for (size_t i = 0; i < chunks_.size(); i++) {
      Chunk* chunk = chunks_.at(i);
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
    if (returned)
      chunks_.RemoveRetired();
  }
  while (retired) {
    Chunk* next = retired->next_retired();
    Chunk::Return(retired);
    retired = next;
  }
  return returned;
}

uint64_t Zone::Destroy() {
  Chunk* to_return = nullptr;
  Chunk* to_leak = nullptr;
  uint64_t leaked_chunks = 0, leaked_pages = 0, used_pages = 0, reports = 0;
  ChunkTable::Storage storage;
  {
    IrqSaveGuard guard(lock_);
    for (size_t i = 0; i < chunks_.size(); i++) {
      Chunk* chunk = chunks_.at(i);
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
    storage = chunks_.Release();
    counters_ = ZoneCounters();
    reserved_pages_ = 0;
    for (FreeArea& area : free_area_) {
      area.free_list.Init();
      area.nr_free = 0;
    }
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
  ChunkTable::FreeStorage(storage);
  lock_.Destroy();
  if (leaked_chunks)
    Log(MMLAB_LOG_ERR,
        "destroy: zone %s: leaking %lu chunks (%lu pages) to keep %lu pages in use safe",
        name_, leaked_chunks, leaked_pages, used_pages);
  return leaked_pages;
}

ZoneCounters Zone::Counters() {
  IrqSaveGuard guard(lock_);
  return counters_;
}

OrderCounters Zone::OrderStats(uint32_t order) {
  IrqSaveGuard guard(lock_);
  return order <= max_order_ ? order_stats_[order] : OrderCounters();
}

void Zone::NrFree(uint64_t (&out)[kNrOrders]) {
  IrqSaveGuard guard(lock_);
  for (uint32_t order = 0; order < kNrOrders; order++)
    out[order] = free_area_[order].nr_free;
}

// Per chunk: every page belongs to exactly one block whose head is a free
// or allocated head of a valid order, aligned to that order, followed by
// tails of the matching kind; descriptors point at their chunk; exactly the
// free heads are linked; no free block has a free buddy of the same order.
void Zone::CheckChunkLocked(Chunk* chunk, CheckReport* report,
                            uint64_t (&free_blocks)[kNrOrders], uint64_t* free_pages,
                            uint64_t* used_pages, uint64_t* control_blocks) {
  if (chunk->zone() != this || chunk->order() != max_order_)
    report->Violation("chunk at pfn 0x%lx: wrong zone or order %u", chunk->pfn(), chunk->order());
  uint32_t idx = 0;
  while (idx < chunk->nr_pages()) {
    const Page* page = chunk->page(idx);
    uint64_t pfn = chunk->PfnOf(page);
    if (page->chunk != chunk)
      report->Violation("pfn 0x%lx: descriptor names another chunk", pfn);
    if (!page->IsHead()) {
      report->Violation("pfn 0x%lx: %s where a block head belongs", pfn,
                        PageStateName(page->state));
      idx++;
      continue;
    }
    uint32_t order = page->order;
    if (order > max_order_ || !IsAligned(idx, order)) {
      report->Violation("pfn 0x%lx: %s of order %u is not aligned to its order", pfn,
                        PageStateName(page->state), order);
      idx++;
      continue;
    }
    const bool free = page->IsFreeHead();
    const PageState tail_state = free ? PageState::kFreeTail : PageState::kAllocTail;
    for (uint32_t i = 1; i < (1u << order); i++) {
      const Page* tail = chunk->page(idx + i);
      if (tail->state != tail_state) {
        report->Violation("pfn 0x%lx: %s inside the order-%u %s block at pfn 0x%lx",
                          chunk->PfnOf(tail), PageStateName(tail->state), order,
                          free ? "free" : "allocated", pfn);
      }
      if (tail->buddy_list.linked())
        report->Violation("pfn 0x%lx: tail page is on a free list", chunk->PfnOf(tail));
    }
    if (free) {
      free_blocks[order]++;
      *free_pages += BlockPages(order);
      if (!page->buddy_list.linked())
        report->Violation("pfn 0x%lx: free order-%u block is on no free list", pfn, order);
      if (order < max_order_) {
        const Page* buddy = chunk->page(BuddyIndex(idx, order));
        if (buddy->IsFreeHead() && buddy->order == order)
          report->Violation("pfn 0x%lx: free order-%u block and its free buddy at pfn 0x%lx "
                            "were not merged",
                            pfn, order, chunk->PfnOf(buddy));
      }
    } else {
      *used_pages += BlockPages(order);
      if (page->flags & kPgControl)
        (*control_blocks)++;
      if (page->buddy_list.linked())
        report->Violation("pfn 0x%lx: allocated order-%u block is on a free list", pfn, order);
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
    const Chunk* chunk = node ? chunks_.FindByDescriptor(reinterpret_cast<uintptr_t>(node)) : nullptr;
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
                        chunk->PfnOf(page), PageStateName(page->state), page->order);
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

void Zone::Check(CheckReport* report, uint64_t* control_blocks) {
  IrqSaveGuard guard(lock_);
  uint64_t free_blocks[kNrOrders] = {};
  uint64_t free_pages = 0, used_pages = 0;
  *control_blocks = 0;
  for (size_t i = 0; i < chunks_.size(); i++)
    CheckChunkLocked(chunks_.at(i), report, free_blocks, &free_pages, &used_pages, control_blocks);
  for (uint32_t order = 0; order < kNrOrders; order++) {
    if (order > max_order_) {
      if (free_area_[order].nr_free || !free_area_[order].free_list.empty())
        report->Violation("free_area[%u]: above the chunk order but not empty", order);
      continue;
    }
    CheckFreeListLocked(order, free_blocks[order], report);
  }
  if (free_pages != counters_.free_pages)
    report->Violation("zone %s: free_pages is %lu but free blocks hold %lu", name_,
                      counters_.free_pages, free_pages);
  if (used_pages != counters_.used_pages)
    report->Violation("zone %s: used_pages is %lu but allocated blocks hold %lu", name_,
                      counters_.used_pages, used_pages);
  if (counters_.free_pages + counters_.used_pages != counters_.host_pages)
    report->Violation("zone %s: free_pages %lu + used_pages %lu != host_pages %lu", name_,
                      counters_.free_pages, counters_.used_pages, counters_.host_pages);
  if (counters_.host_chunks != chunks_.size() ||
      counters_.host_pages != chunks_.size() * BlockPages(max_order_))
    report->Violation("zone %s: host_chunks %lu / host_pages %lu but %zu chunks are held", name_,
                      counters_.host_chunks, counters_.host_pages, chunks_.size());
  if (reserved_pages_ < counters_.host_pages || reserved_pages_ > max_pages_)
    report->Violation("zone %s: reserved %lu pages with %lu borrowed and a budget of %lu", name_,
                      reserved_pages_, counters_.host_pages, max_pages_);
}

}  // namespace mmlab
