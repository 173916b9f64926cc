// SPDX-License-Identifier: GPL-2.0
//
// pcp.cc - the per-CPU page lists' fast paths and their batched trips to
// the buddy (see pcp.h for how they work and what protects them).
//
// Every function here that names a PerCpuPages runs on that CPU with
// interrupts off, except DrainPcp() for a dead CPU and the remote
// WriteOnce of high/batch. The zone lock is taken inside the
// interrupts-off section, never the other way round.
#include "log.h"
#include "zone.h"

namespace mmlab {

namespace {

void Nothing(void*) {}

}  // namespace

void SynchronizeCpus() { mmlab_host_on_each_cpu(Nothing, nullptr); }

Page* Zone::RmqueuePcpIrqsOff(PerCpuPages& pcp, uint32_t order, mmlab_gfp_t gfp, uint16_t flags) {
  PageList& list = pcp.lists[order];
  if (list.empty()) {
    // Refill with batch pages' worth in one visit to the buddy (Linux:
    // rmqueue_bulk), so the lock is paid once per batch, not per page.
    uint32_t blocks = Max(ReadOnce(pcp.batch) >> order, 1u);
    IrqSaveGuard guard(lock_);
    if (RmqueueBulkLocked(pcp, order, blocks) == 0)
      return nullptr;
  }
  Page* page = list.PopFront();
  WriteOnce(pcp.count, pcp.count - (1u << order));
  BuddyMarkAllocated(page, order, gfp, flags);
  WriteOnce(pcp.gen, pcp.gen + 1);
  return page;
}

uint32_t Zone::RmqueueBulkLocked(PerCpuPages& pcp, uint32_t order, uint32_t count) {
  uint32_t got = 0;
  for (; got < count; got++) {
    Page* head = BuddyRmqueue(free_area_, max_order_, order);
    if (!head)
      break;
    BuddyMarkPcp(head, order);
    // In the order taken, so the list hands out ascending pfns first.
    pcp.lists[order].PushBack(head);
  }
  uint64_t pages = uint64_t{got} << order;
  counters_.free_pages -= pages;
  SetFreePagesLocked(counters_.free_pages);
  WriteOnce(pcp.count, pcp.count + static_cast<uint32_t>(pages));
  return got;
}

void Zone::FreePcpIrqsOff(PerCpuPages& pcp, Page* page, uint32_t order) {
  BuddyMarkPcp(page, order);
  pcp.lists[order].PushFront(page);  // the cache-hot end: the next alloc gets it
  WriteOnce(pcp.count, pcp.count + (1u << order));
  WriteOnce(pcp.gen, pcp.gen + 1);
  if (pcp.count >= ReadOnce(pcp.high)) {
    IrqSaveGuard guard(lock_);
    FreePcppagesBulkLocked(pcp, ReadOnce(pcp.batch), order);
  }
}

// Linux's free_pcppages_bulk: at least `count` pages' worth of blocks go
// back to the buddy, the oldest (list tail) first, starting with the list
// of start_order and moving round-robin over the others.
uint64_t Zone::FreePcppagesBulkLocked(PerCpuPages& pcp, uint64_t count, uint32_t start_order) {
  uint64_t drained = 0;
  uint32_t order = start_order;
  uint32_t empty_lists = 0;
  while (drained < count && pcp.count > 0 && empty_lists <= pcp_max_order_) {
    PageList& list = pcp.lists[order];
    if (list.empty()) {
      empty_lists++;
    } else {
      empty_lists = 0;
      while (drained < count && !list.empty()) {
        Page* page = list.back();
        PageList::Remove(page);
        Chunk* chunk = page->chunk;
        uint64_t pfn = chunk->PfnOf(page);
        BuddyFree(free_area_, chunk, chunk->IndexOf(page), order);
        drained += uint64_t{1} << order;
        WriteOnce(pcp.count, pcp.count - (1u << order));
        mmlab_host_trace_page_pcpu_drain(pfn, order);
      }
    }
    order = order == pcp_max_order_ ? 0 : order + 1;
  }
  if (drained) {
    counters_.free_pages += drained;
    SetFreePagesLocked(counters_.free_pages);
    counters_.pcp_drained += drained;
    WriteOnce(pcp.gen, pcp.gen + 1);
  }
  return drained;
}

uint64_t Zone::DrainPcp(uint32_t cpu) {
  if (!MMLAB_ASSERT(cpu < pcp_.nr_cpus()))
    return 0;
  PerCpuPages& pcp = *pcp_.at(cpu);
  if (ReadOnce(pcp.count) == 0)
    return 0;
  IrqSaveGuard guard(lock_);
  return FreePcppagesBulkLocked(pcp, pcp.count, 0);
}

void Zone::SetPcpHighBatch(uint32_t high, uint32_t batch) {
  // Plain numbers the owner reads with ReadOnce; written from here for
  // every possible CPU, online or not (Linux: pageset_update).
  for (uint32_t cpu = 0; cpu < pcp_.nr_cpus(); cpu++) {
    PerCpuPages& pcp = *pcp_.at(cpu);
    WriteOnce(pcp.high, high);
    WriteOnce(pcp.batch, batch);
  }
}

void Zone::TrimPcpIrqsOff(uint32_t cpu) {
  if (!MMLAB_ASSERT(cpu < pcp_.nr_cpus()))
    return;
  PerCpuPages& pcp = *pcp_.at(cpu);
  while (pcp.count >= ReadOnce(pcp.high) && pcp.count > 0) {
    IrqSaveGuard guard(lock_);
    if (!FreePcppagesBulkLocked(pcp, Max(ReadOnce(pcp.batch), 1u), 0))
      break;
  }
}

uint64_t Zone::PcpPagesRacy() const {
  uint64_t pages = 0;
  for (uint32_t cpu = 0; cpu < pcp_.nr_cpus(); cpu++)
    pages += ReadOnce(pcp_.at(cpu)->count);
  return pages;
}

void Zone::PcpInfo(uint32_t cpu, uint32_t* count, uint32_t* high, uint32_t* batch) const {
  const PerCpuPages& pcp = *pcp_.at(cpu);
  *count = ReadOnce(pcp.count);
  *high = ReadOnce(pcp.high);
  *batch = ReadOnce(pcp.batch);
}

PcpStats Zone::PcpStatsSum() const {
  PcpStats sum;
  for (uint32_t cpu = 0; cpu < pcp_.nr_cpus(); cpu++)
    sum.AddRacy(pcp_.at(cpu)->stats);
  return sum;
}

void Zone::PcpAllocEvents(uint64_t* fallback, uint64_t* reserve) const {
  *fallback = *reserve = 0;
  for (uint32_t cpu = 0; cpu < pcp_.nr_cpus(); cpu++) {
    *fallback += ReadOnce(pcp_.at(cpu)->stats.alloc_fallback);
    *reserve += ReadOnce(pcp_.at(cpu)->stats.alloc_reserve);
  }
}

// Strict, because this CPU's lists cannot change while it runs this with
// interrupts off: every entry is a per-CPU head of this zone and of the
// list's order followed by per-CPU tails, links are consistent, and the
// pages add up to count. Reports go straight to the log (this may run on
// several CPUs at once, so it keeps its own count).
void Zone::CheckPcpIrqsOff(uint32_t cpu, bool verify, PcpCheckCounts* out) {
  constexpr uint64_t kMaxLogged = 8;
  if (!MMLAB_ASSERT(cpu < pcp_.nr_cpus()))
    return;
  PerCpuPages& pcp = *pcp_.at(cpu);
  if (!verify) {
    out->pages = pcp.count;
    out->gen = pcp.gen;
    return;
  }
  const ChunkIndex* index = LoadAcquire(index_);
  auto violation = [&](const char* what, uint32_t order, uint64_t entry) {
    if (out->violations++ < kMaxLogged)
      Log(MMLAB_LOG_ERR, "check: zone %s cpu %u per-CPU list of order %u: entry %lu %s", name_, cpu,
          order, entry, what);
  };
  uint64_t pages = 0;
  for (uint32_t order = 0; order < kNrPcpLists; order++) {
    const ListNode* sentinel = pcp.lists[order].sentinel();
    if (order > pcp_max_order_ && sentinel->next != sentinel) {
      violation("exists above the largest per-CPU order", order, 0);
      continue;
    }
    const ListNode* prev = sentinel;
    const ListNode* node = sentinel->next;
    uint64_t entry = 0;
    while (node != sentinel) {
      if (entry > pcp.count) {
        violation("makes the list longer than count (a cycle?)", order, entry);
        break;
      }
      const Chunk* chunk =
          node ? ChunkIndex::FindByDescriptor(index, reinterpret_cast<uintptr_t>(node)) : nullptr;
      if (!chunk) {
        violation("is not a descriptor of this zone", order, entry);
        break;
      }
      if (node->prev != prev)
        violation("has a broken back link", order, entry);
      const Page* page = PageList::Owner(node);
      if (page->State() != PageState::kPcpHead || page->order != order)
        violation("is not a per-CPU head of the list's order", order, entry);
      uint32_t idx = chunk->IndexOf(page);
      for (uint32_t i = 1; i < (1u << order) && idx + i < chunk->nr_pages(); i++) {
        if (chunk->page(idx + i)->State() != PageState::kPcpTail) {
          violation("has a tail that is not a per-CPU tail", order, entry);
          break;
        }
      }
      pages += uint64_t{1} << order;
      entry++;
      prev = node;
      node = node->next;
    }
    if (node == sentinel && sentinel->prev != prev)
      violation("(the head) has a broken back link", order, entry);
  }
  if (pages != pcp.count) {
    out->violations++;
    Log(MMLAB_LOG_ERR, "check: zone %s cpu %u: per-CPU count is %u but the lists hold %lu pages",
        name_, cpu, pcp.count, pages);
  }
  out->pages = pages;
  out->gen = pcp.gen;
}

}  // namespace mmlab
