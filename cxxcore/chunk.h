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
//  - ChunkTable keeps the chunks of one zone in two sorted arrays, by page
//    address and by descriptor address, so every pointer a caller hands in
//    (a page address, a struct mmlab_page *) is validated by binary search
//    before it is dereferenced. The table is guarded by the zone lock and
//    grows in three steps (allocate outside the lock, Adopt() under it, free
//    the old arrays outside it) so the lock is never held across the host.
#ifndef MMLAB_CXXCORE_CHUNK_H
#define MMLAB_CXXCORE_CHUNK_H

#include "base.h"
#include "page_desc.h"

namespace mmlab {

class Zone;

class Chunk {
 public:
  MMLAB_NO_COPY(Chunk);

  // Borrows 2^order pages and builds their descriptors: page 0 a free head
  // of the chunk's order (not yet on any list), every other page a free
  // tail. Returns null when the host has no memory or the chunk it lent is
  // unusable (reported). No core lock may be held.
  static Chunk* Borrow(Zone* zone, uint32_t order, mmlab_host_zone host_zone, bool can_sleep);
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

class ChunkTable {
 public:
  // Backing arrays: both sorted arrays in one metadata allocation.
  struct Storage {
    Chunk** slots = nullptr;  // [0, capacity) by address, [capacity, 2*capacity) by descriptor
    size_t capacity = 0;
  };

  ChunkTable() = default;
  MMLAB_NO_COPY(ChunkTable);

  static bool AllocStorage(size_t capacity, bool can_sleep, Storage* out);
  static void FreeStorage(const Storage& storage);

  // Moves every entry into `bigger` and returns the previous storage, which
  // the caller frees once the lock is dropped.
  Storage Adopt(const Storage& bigger);
  // Hands the storage out for freeing, leaving the table empty.
  Storage Release();

  size_t size() const { return size_; }
  size_t capacity() const { return storage_.capacity; }
  bool HasRoom() const { return size_ < storage_.capacity; }
  // Chunks in address order.
  Chunk* at(size_t i) const { return by_addr()[i]; }

  void Insert(Chunk* chunk);
  // Drops every chunk whose retired() is set, in one pass.
  void RemoveRetired();

  Chunk* FindByAddress(uintptr_t addr) const;
  Chunk* FindByDescriptor(uintptr_t desc) const;
  Chunk* FindByPfn(uint64_t pfn) const;

 private:
  Chunk** by_addr() const { return storage_.slots; }
  Chunk** by_desc() const { return storage_.slots + storage_.capacity; }

  Storage storage_;
  size_t size_ = 0;
};

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_CHUNK_H
