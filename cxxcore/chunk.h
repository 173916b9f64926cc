// SPDX-License-Identifier: GPL-2.0
//
// chunk.h - a block of pages borrowed from the host, and the table that
// finds the chunk behind an address, a pfn or a descriptor pointer.
//
// How it works:
//  - A Chunk is 2^chunk_order naturally aligned host pages plus one
//    metadata allocation holding the Chunk header followed by one Page
//    descriptor per page. Borrow() and Return() call the host and so must
//    never run with a core lock held.
//  - A page's index inside its chunk is (descriptor - pages()); the buddy
//    arithmetic works on that index, so blocks never cross a chunk.
//  - ChunkIndex is an immutable snapshot of one zone's chunks in two sorted
//    arrays, by page address and by descriptor address, so every pointer a
//    caller hands in (a page address, a struct mmlab_page *) is validated by
//    binary search before it is dereferenced. A zone never changes an index
//    it has published: a chunk joining or leaving means a new index, built
//    in memory allocated with no lock held, published under the zone lock
//    with a release store, and the old one freed only after a grace period
//    (see zone.cc). That is what lets the per-CPU free path look a pointer
//    up with interrupts off and no lock at all, as RCU readers do.
#ifndef MMLAB_CXXCORE_CHUNK_H
#define MMLAB_CXXCORE_CHUNK_H

#include "base.h"
#include "page_desc.h"

namespace mmlab {

class Zone;
class FaultAttr;

class Chunk {
 public:
  MMLAB_NO_COPY(Chunk);

  // Borrows 2^order pages and builds their descriptors: page 0 a free head
  // of the chunk's order (not yet on any list), every other page a free
  // tail. Returns null when the host has no memory or the chunk it lent is
  // unusable (reported), or when the fault-injection site `fail` (may be
  // null) says so, as if the host had none. No core lock may be held.
  static Chunk* Borrow(Zone* zone, uint32_t order, mmlab_host_zone host_zone, bool can_sleep,
                       FaultAttr* fail = nullptr);
  // Hands the pages back and frees the descriptors. No core lock may be held.
  static void Return(Chunk* chunk);
  // Frees the descriptors but keeps the pages from the host: used when a
  // chunk still has pages in use at destroy. No core lock may be held.
  static void Abandon(Chunk* chunk);

  uintptr_t vaddr() const { return reinterpret_cast<uintptr_t>(host_.vaddr); }
  uint64_t pfn() const { return host_.pfn; }
  uint32_t order() const { return order_; }
  uint32_t nr_pages() const { return 1u << order_; }
  uintptr_t size_bytes() const { return uintptr_t{nr_pages()} << MMLAB_PAGE_SHIFT; }
  Zone* zone() const { return zone_; }

  Page* pages() { return reinterpret_cast<Page*>(this + 1); }
  const Page* pages() const { return reinterpret_cast<const Page*>(this + 1); }
  Page* page(uint32_t idx) { return pages() + idx; }
  const Page* page(uint32_t idx) const { return pages() + idx; }
  uint32_t IndexOf(const Page* page) const { return static_cast<uint32_t>(page - pages()); }
  uint64_t PfnOf(const Page* page) const { return pfn() + IndexOf(page); }
  uintptr_t AddressOf(const Page* page) const {
    return vaddr() + (uintptr_t{IndexOf(page)} << MMLAB_PAGE_SHIFT);
  }

  uintptr_t desc_begin() const { return reinterpret_cast<uintptr_t>(pages()); }
  uintptr_t desc_end() const { return desc_begin() + nr_pages() * sizeof(Page); }
  bool ContainsAddress(uintptr_t addr) const {
    return addr >= vaddr() && addr - vaddr() < size_bytes();
  }
  bool ContainsPfn(uint64_t pfn) const { return pfn >= host_.pfn && pfn - host_.pfn < nr_pages(); }
  // True only for a pointer to the start of one of this chunk's descriptors.
  bool ContainsDescriptor(uintptr_t p) const {
    return p >= desc_begin() && p < desc_end() && (p - desc_begin()) % sizeof(Page) == 0;
  }

  // Set under the zone lock when the chunk leaves its zone; the retired
  // chunks are then chained through next_retired_ and handed to the host
  // after the lock is dropped.
  bool retired() const { return retired_; }
  void set_retired(Chunk* next) {
    retired_ = true;
    next_retired_ = next;
  }
  Chunk* next_retired() const { return next_retired_; }

 private:
  Chunk(Zone* zone, const mmlab_host_chunk& host, uint32_t order, size_t meta_bytes)
      : host_(host), zone_(zone), order_(order), meta_bytes_(meta_bytes) {}
  static size_t MetaBytes(uint32_t order) { return sizeof(Chunk) + (size_t{1} << order) * sizeof(Page); }

  mmlab_host_chunk host_;
  Zone* zone_;
  uint32_t order_;
  bool retired_ = false;
  size_t meta_bytes_;
  Chunk* next_retired_ = nullptr;
};

static_assert(sizeof(Chunk) % alignof(Page) == 0, "descriptors follow the header");

class ChunkIndex {
 public:
  MMLAB_NO_COPY(ChunkIndex);

  // An empty index with room for `capacity` chunks; null when the host has
  // no metadata memory. Free() takes null too. No core lock may be held.
  static ChunkIndex* Alloc(size_t capacity, bool can_sleep);
  static void Free(ChunkIndex* index);

  // Building, before the index is published. `old` may be null (no chunks).
  // This index becomes old plus chunk; it must have room for that.
  void BuildInserting(const ChunkIndex* old, Chunk* chunk);
  // This index becomes old minus every chunk whose retired() is set.
  void BuildWithoutRetired(const ChunkIndex* old);

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  // Chunks in address order.
  Chunk* at(size_t i) const { return by_addr()[i]; }

  // Each null when no chunk of this index contains the value; callable on
  // a null index.
  static Chunk* FindByAddress(const ChunkIndex* index, uintptr_t addr);
  static Chunk* FindByDescriptor(const ChunkIndex* index, uintptr_t desc);
  static Chunk* FindByPfn(const ChunkIndex* index, uint64_t pfn);
  static size_t SizeOf(const ChunkIndex* index) { return index ? index->size_ : 0; }

  // Indexes replaced but possibly still being read, waiting for a grace
  // period; chained by their zone under its lock.
  ChunkIndex* next_retired = nullptr;

 private:
  ChunkIndex(size_t capacity, size_t bytes) : capacity_(capacity), bytes_(bytes) {}
  static size_t BytesFor(size_t capacity) {
    return sizeof(ChunkIndex) + 2 * capacity * sizeof(Chunk*);
  }

  Chunk** slots() { return reinterpret_cast<Chunk**>(this + 1); }
  Chunk* const* slots() const { return reinterpret_cast<Chunk* const*>(this + 1); }
  Chunk** by_addr() { return slots(); }
  Chunk* const* by_addr() const { return slots(); }
  Chunk** by_desc() { return slots() + capacity_; }
  Chunk* const* by_desc() const { return slots() + capacity_; }

  size_t capacity_;
  size_t size_ = 0;
  size_t bytes_;
};

static_assert(sizeof(ChunkIndex) % alignof(Chunk*) == 0, "slots follow the header");

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_CHUNK_H
