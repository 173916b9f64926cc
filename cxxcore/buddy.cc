// SPDX-License-Identifier: GPL-2.0
//
// buddy.cc - split and merge of buddy blocks within one chunk.
//
// How it works: descriptors of one chunk form an array, so the buddy of
// the block at index idx is simply pages[idx ^ (1 << order)]. A head is
// recognised by its state, and its order says how many tails follow it.
// Splitting walks down from the order found to the order asked for, putting
// the upper half of each split on the list one order lower (Linux: expand).
// Merging walks up while the buddy is a free head of the current order,
// unlinking it and folding both into the lower-addressed head (Linux:
// __free_one_page). Tails are re-marked on every allocation and free so
// that every page always says which kind of block it belongs to, which is
// what lets the free path reject tail pages and double frees without
// trusting the caller, and lets the checker verify everything.
#include "buddy.h"

#include "chunk.h"

namespace mmlab {

namespace {

void MarkFreeHead(Page* head, uint32_t order) {
  head->SetState(PageState::kFreeHead);
  head->order = static_cast<uint8_t>(order);
  head->gfp = 0;
  head->SetFlags(0);
}

void MarkTail(Page* page, PageState state) {
  page->SetState(state);
  page->order = 0;
  page->gfp = 0;
  page->SetFlags(0);
}

// Splits the free block of order `high` at head down to order `low`; the
// upper halves become free blocks of orders high-1 .. low.
void Expand(FreeArea* free_area, Page* head, uint32_t low, uint32_t high) {
  while (high > low) {
    high--;
    Page* half = head + (1u << high);
    MarkFreeHead(half, high);
    free_area[high].Add(half);
  }
}

}  // namespace

Page* BuddyRmqueue(FreeArea* free_area, uint32_t max_order, uint32_t order) {
  for (uint32_t current = order; current <= max_order; current++) {
    Page* head = free_area[current].PopFront();
    if (!head)
      continue;
    Expand(free_area, head, order, current);
    head->order = static_cast<uint8_t>(order);
    return head;
  }
  return nullptr;
}

void BuddyMarkAllocated(Page* head, uint32_t order, uint32_t gfp, uint16_t flags) {
  head->order = static_cast<uint8_t>(order);
  head->gfp = gfp;
  head->SetFlags(flags);
  head->SetState(PageState::kAllocHead);
  for (uint32_t i = 1; i < (1u << order); i++)
    MarkTail(head + i, PageState::kAllocTail);
}

void BuddyMarkPcp(Page* head, uint32_t order) {
  head->order = static_cast<uint8_t>(order);
  head->gfp = 0;
  head->SetFlags(0);
  head->SetState(PageState::kPcpHead);
  for (uint32_t i = 1; i < (1u << order); i++)
    MarkTail(head + i, PageState::kPcpTail);
}

void BuddyFree(FreeArea* free_area, Chunk* chunk, uint32_t idx, uint32_t order) {
  Page* pages = chunk->pages();
  for (uint32_t i = 0; i < (1u << order); i++)
    MarkTail(&pages[idx + i], PageState::kFreeTail);

  while (order < chunk->order()) {
    uint32_t buddy_idx = BuddyIndex(idx, order);
    Page* buddy = &pages[buddy_idx];
    if (!buddy->IsFreeHead() || buddy->order != order)
      break;
    free_area[order].Del(buddy);
    MarkTail(buddy, PageState::kFreeTail);
    idx = Min(idx, buddy_idx);
    order++;
  }
  MarkFreeHead(&pages[idx], order);
  free_area[order].Add(&pages[idx]);
}

const Page* BuddyFindHead(const Chunk* chunk, uint32_t idx) {
  // The block containing idx starts at idx rounded down to its order; the
  // first candidate, from small orders up, that is a head large enough to
  // reach idx is it (smaller candidates lie inside that block and are tails).
  for (uint32_t order = 0; order <= chunk->order(); order++) {
    uint32_t start = idx & ~((1u << order) - 1);
    const Page* page = chunk->page(start);
    if (page->IsHead() && page->order >= order && start + (1u << page->order) > idx)
      return page;
  }
  return nullptr;
}

bool BuddyChunkIsFree(const Chunk* chunk) {
  const Page* head = chunk->page(0);
  return head->IsFreeHead() && head->order == chunk->order();
}

}  // namespace mmlab
