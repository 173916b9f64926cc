// SPDX-License-Identifier: GPL-2.0
//
// buddy.h - the binary buddy system: free lists per order, split, merge.
//
// How it works (Linux mm/page_alloc.c: __rmqueue_smallest, expand,
// __free_one_page):
//  - free_area[order] lists the free blocks of 2^order pages by their head
//    descriptor and counts them in nr_free.
//  - A block of order k at page index i (i aligned to 2^k within its chunk)
//    has one buddy: the block at i ^ 2^k. Two free buddies of the same
//    order always merge into one block of order k + 1 at i & ~2^k.
//  - Allocation takes the smallest order with a free block and splits it,
//    returning the upper halves to the lower lists.
//  - Freeing merges with the buddy for as long as it is a free head of the
//    same order, up to the chunk's order; chunks are separate borrowings,
//    so blocks never merge across them.
// These functions only move descriptors between lists and states; the
// caller (Zone) holds the lock that guards the free_area array they touch.
// nr_free is also read without that lock by the watermark check (as Linux
// reads free_area[].nr_free in __zone_watermark_ok), hence WriteOnce.
#ifndef MMLAB_CXXCORE_BUDDY_H
#define MMLAB_CXXCORE_BUDDY_H

#include "base.h"
#include "page_desc.h"

namespace mmlab {

class Chunk;

// Orders 0..MMLAB_MAX_CHUNK_ORDER (Linux: NR_PAGE_ORDERS).
constexpr uint32_t kNrOrders = MMLAB_MAX_CHUNK_ORDER + 1;

struct FreeArea {
  PageList free_list;
  uint64_t nr_free = 0;

  void Add(Page* head) {
    free_list.PushFront(head);
    WriteOnce(nr_free, nr_free + 1);
  }
  void Del(Page* head) {
    PageList::Remove(head);
    WriteOnce(nr_free, nr_free - 1);
  }
  Page* PopFront() {
    Page* head = free_list.PopFront();
    if (head)
      WriteOnce(nr_free, nr_free - 1);
    return head;
  }
  void Reset() {
    free_list.Init();
    WriteOnce(nr_free, uint64_t{0});
  }
};

constexpr uint32_t BuddyIndex(uint32_t idx, uint32_t order) { return idx ^ (1u << order); }

// Takes a block of exactly `order` from free_area[order..max_order],
// splitting a larger one if needed. The returned head is off every list
// and still marked free; null when no list can satisfy the request.
Page* BuddyRmqueue(FreeArea* free_area, uint32_t max_order, uint32_t order);

// Marks a block taken by BuddyRmqueue (or from a per-CPU list) as
// allocated: its head carries order, gfp and flags; its other pages become
// allocated tails.
void BuddyMarkAllocated(Page* head, uint32_t order, uint32_t gfp, uint16_t flags);

// Marks a block as parked on a per-CPU list: a per-CPU head of its order
// followed by per-CPU tails. The block keeps its order.
void BuddyMarkPcp(Page* head, uint32_t order);

// Returns the allocated or per-CPU block of `order` at index idx of chunk to
// the free lists, merging it with its buddies. The caller has validated the
// block and unlinked it from any list.
void BuddyFree(FreeArea* free_area, Chunk* chunk, uint32_t idx, uint32_t order);

// The head of the block containing page index idx, or null if the pages
// around idx do not form a valid block (only the checker sees that).
const Page* BuddyFindHead(const Chunk* chunk, uint32_t idx);

// True when the whole chunk is one free block of the chunk's order.
bool BuddyChunkIsFree(const Chunk* chunk);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_BUDDY_H
