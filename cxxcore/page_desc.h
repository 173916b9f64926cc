// SPDX-License-Identifier: GPL-2.0
//
// page_desc.h - the core's descriptor of one managed page (a small
// struct page).
//
// Every page the core borrows from the host has one descriptor, kept in an
// array beside its chunk (chunk.h), never inside the page itself: a free page
// holds no core data, so a caller scribbling on freed memory cannot corrupt
// the allocator, and the invariant checker can trust what it reads.
//
// A page is always in exactly one of four states. The first page of a block
// is its head and carries the block's order; the other 2^order - 1 pages are
// tails. Free heads sit on their zone's free_area[order] list through
// buddy_list; no other page is ever linked.
//
// core.h's opaque `struct mmlab_page` is this type, so the C ABI hands out
// descriptor pointers without casts.
#ifndef MMLAB_CXXCORE_PAGE_DESC_H
#define MMLAB_CXXCORE_PAGE_DESC_H

#include "base.h"
#include "mmlab/core.h"

namespace mmlab {

class Chunk;

enum class PageState : uint8_t {
  kUnset = 0,  // zeroed metadata that was never initialised: always a bug
  kFreeHead,
  kFreeTail,
  kAllocHead,
  kAllocTail,
};

// Page flags (Linux's PG_*), on heads only.
enum PageFlags : uint16_t {
  // The block belongs to a control-file handle: only the control interface
  // may free it, so a stray free cannot leave a handle pointing at a block
  // that has since been handed to someone else.
  kPgControl = 1u << 0,
};

const char* PageStateName(PageState state);

}  // namespace mmlab

// Plain data, laid out by hand: 32 bytes, so a 4 MiB chunk's descriptors
// take 32 KiB (Linux's struct page is 64 bytes).
struct mmlab_page {
  mmlab::ListNode buddy_list;  // free_area[order] link, free heads only
  mmlab::Chunk* chunk;         // the chunk this page belongs to; never changes
  uint32_t gfp;                // gfp of the allocation, allocated heads only
  uint16_t flags;              // PageFlags, heads only
  uint8_t order;               // block order, heads only
  mmlab::PageState state;

  bool IsHead() const {
    return state == mmlab::PageState::kFreeHead || state == mmlab::PageState::kAllocHead;
  }
  bool IsFreeHead() const { return state == mmlab::PageState::kFreeHead; }
  bool IsAllocHead() const { return state == mmlab::PageState::kAllocHead; }
};

namespace mmlab {

using Page = ::mmlab_page;

static_assert(sizeof(Page) == 32, "keep the page descriptor at 32 bytes");
static_assert(__builtin_offsetof(Page, buddy_list) == 0, "list link first");
static_assert(__builtin_offsetof(Page, chunk) == 16, "layout");
static_assert(__builtin_offsetof(Page, gfp) == 24, "layout");
static_assert(__builtin_offsetof(Page, flags) == 28, "layout");
static_assert(__builtin_offsetof(Page, order) == 30, "layout");
static_assert(__builtin_offsetof(Page, state) == 31, "layout");
static_assert(MMLAB_MAX_CHUNK_ORDER < 256, "order must fit in a byte");
static_assert(MMLAB___GFP_BITS <= 32, "gfp must fit in the descriptor");

using PageList = List<Page, __builtin_offsetof(Page, buddy_list)>;

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_PAGE_DESC_H
