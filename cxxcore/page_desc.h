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
// A page is always in exactly one of six states. The first page of a block
// is its head and carries the block's order; the other 2^order - 1 pages are
// tails. A block is free (in the buddy lists, owned by the zone lock),
// allocated (owned by its caller) or parked on a per-CPU list (owned by that
// CPU; Linux counts such pages as allocated from the zone, and so does the
// watermark arithmetic here). Free heads sit on their zone's
// free_area[order] list through buddy_list, per-CPU heads on a per-CPU list,
// and pressure-pool heads (kPgPressure) on the core's pressure list; no
// other page is ever linked.
//
// Blocks move between "allocated" and "per-CPU" without the zone lock (the
// per-CPU fast path), so state and flags are read and written with
// ReadOnce/WriteOnce: a zone-locked walker looking at a neighbour or at an
// allocated block sees one state or the other, never a torn byte.
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
  kPcpHead,  // on a per-CPU list: allocated from the zone, not to a caller
  kPcpTail,
};

// Page flags (Linux's PG_*), on heads only.
enum PageFlags : uint16_t {
  // The block belongs to a control-file handle: only the control interface
  // may free it, so a stray free cannot leave a handle pointing at a block
  // that has since been handed to someone else.
  kPgControl = 1u << 0,
  // The block is a page of the control file's pressure pool, linked into
  // the core's pressure list through buddy_list: only the pool frees it.
  kPgPressure = 1u << 1,
  // The block is a slab (slab.h): the slab fields below are valid. The
  // slab allocator clears the flag before it frees the block.
  kPgSlab = 1u << 2,
  // The block is a kmalloc above the largest size class (kmalloc.h), so
  // kfree/ksize/krealloc accept its first byte; only kfree frees it.
  kPgLargeKmalloc = 1u << 3,
  // The page belongs to a vmalloc area (vmalloc.h); only vfree frees it.
  kPgVmalloc = 1u << 4,
  // The page belongs to a /dev/mmlab region (region.h); only the region
  // frees it, once nothing maps or pins it.
  kPgRegion = 1u << 5,
  // The block is one of the SLOB policy's shared pages (slob.cc): objects
  // of every SLOB cache, of any size, first-fit; slab_cache is null (no one
  // cache owns it). SlabFindObjectAt hands such pages to SlobFindObject.
  kPgSlob = 1u << 6,
  // Flags naming an owner other than the caller of the page allocator: a
  // __free_pages of such a block is refused and reported (Linux's
  // free_page_is_bad() catches slab pages the same way), so a stray free
  // cannot pull a page out from under a slab, a kmalloc or a vmalloc area.
  kPgOwnerMask =
      kPgControl | kPgPressure | kPgSlab | kPgLargeKmalloc | kPgVmalloc | kPgRegion | kPgSlob,
};

const char* PageStateName(PageState state);

}  // namespace mmlab

// Plain data, laid out by hand: 64 bytes like Linux's struct page, so a
// 4 MiB chunk's descriptors take 64 KiB. The first half is the page
// allocator's; the second half belongs to whoever owns an allocated block
// and is zero otherwise. Today that is the slab allocator, which overlays
// its slab (Linux: struct slab over struct page) on the block's pages:
//  - on the head: slab_list (the cache's partial or full list of the
//    page's zone, or unlinked while the slab is some CPU's slab),
//    slab_cache, freelist (byte offset of the first free object on the
//    slab's own freelist, kSlabNoFree when none), inuse (objects not on
//    that freelist) and frozen (cpu + 1 while it is that CPU's slab;
//    under the SLAB policy, which has no CPU slabs, the same bytes are
//    `colour`, the slab's colour offset: slab_array.cc);
//  - on every tail: slab_head (the head) and slab_cache.
// The slab allocator sets them after AllocPages and clears them before
// FreePages; they change only under the owning cache's lock. A region page
// (kPgRegion) uses slab_list for the region's busy list and index for its
// page offset, set and cleared by region.cc under the region's lock.
struct mmlab_page {
  mmlab::ListNode buddy_list;  // free_area, per-CPU or pressure list link; heads only
  mmlab::Chunk* chunk;         // the chunk this page belongs to; never changes
  uint32_t gfp;                // gfp of the allocation, allocated heads only
  uint16_t flags;              // PageFlags, heads only (use Flags()/SetFlags())
  uint8_t order;               // block order, heads only
  mmlab::PageState state;      // use State()/SetState()

  union {
    mmlab::ListNode slab_list;  // slab head: the cache's list link; region page: region.h
    mmlab_page* slab_head;      // slab tail: the head page
  };
  union {
    void* slab_cache;  // every page of a slab: its mmlab::KmemCache
    uint64_t index;    // region page: its page offset (Linux's page->index)
  };
  uint32_t freelist;  // slab head: offset of the first free object, or kSlabNoFree
  uint16_t inuse;     // slab head: objects not on the slab's freelist
  union {
    uint16_t frozen;  // SLUB slab head: cpu + 1 while a CPU's slab, else 0
    uint16_t colour;  // SLAB slab head: byte offset of its first object (colouring)
  };

  mmlab::PageState State() const {
    return static_cast<mmlab::PageState>(
        __atomic_load_n(reinterpret_cast<const uint8_t*>(&state), __ATOMIC_RELAXED));
  }
  void SetState(mmlab::PageState s) {
    __atomic_store_n(reinterpret_cast<uint8_t*>(&state), static_cast<uint8_t>(s),
                     __ATOMIC_RELAXED);
  }
  uint16_t Flags() const { return mmlab::ReadOnce(flags); }
  void SetFlags(uint16_t f) { mmlab::WriteOnce(flags, f); }

  bool IsHead() const {
    mmlab::PageState s = State();
    return s == mmlab::PageState::kFreeHead || s == mmlab::PageState::kAllocHead ||
           s == mmlab::PageState::kPcpHead;
  }
  bool IsFreeHead() const { return State() == mmlab::PageState::kFreeHead; }
  bool IsAllocHead() const { return State() == mmlab::PageState::kAllocHead; }
  bool IsPcpHead() const { return State() == mmlab::PageState::kPcpHead; }
};

namespace mmlab {

using Page = ::mmlab_page;

static_assert(sizeof(Page) == 64, "keep the page descriptor at 64 bytes");
static_assert(__builtin_offsetof(Page, slab_list) == 32, "layout");
static_assert(__builtin_offsetof(Page, slab_cache) == 48, "layout");
constexpr uint32_t kSlabNoFree = ~uint32_t{0};
static_assert(__builtin_offsetof(Page, buddy_list) == 0, "list link first");
static_assert(__builtin_offsetof(Page, chunk) == 16, "layout");
static_assert(__builtin_offsetof(Page, gfp) == 24, "layout");
static_assert(__builtin_offsetof(Page, flags) == 28, "layout");
static_assert(__builtin_offsetof(Page, order) == 30, "layout");
static_assert(__builtin_offsetof(Page, state) == 31, "layout");
static_assert(MMLAB_MAX_CHUNK_ORDER < 256, "order must fit in a byte");
static_assert(MMLAB___GFP_BITS <= 32, "gfp must fit in the descriptor");

using PageList = List<Page, __builtin_offsetof(Page, buddy_list)>;
using SlabList = List<Page, __builtin_offsetof(Page, slab_list)>;

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_PAGE_DESC_H
