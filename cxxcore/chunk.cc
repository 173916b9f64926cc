// SPDX-License-Identifier: GPL-2.0
//
// chunk.cc - borrowing chunks from the host and finding them again.
//
// How it works: Borrow() takes 2^order pages with mmlab_host_chunk_alloc()
// and one zeroed metadata block with mmlab_host_meta_alloc(), constructs the
// Chunk header at the front of that block with placement new and initialises
// one descriptor per page behind it. All of that happens before the chunk is
// published to a zone, so it needs no lock and is never done under one.
// ChunkIndex lookups are binary searches over arrays sorted by page address
// and by descriptor address; a pfn lookup is a linear scan, since only the
// control file asks by pfn. A new index is a sorted copy of the old one with
// one chunk inserted or the retired ones left out (chunks are few and come
// and go rarely), so a published index is never written again.
#include "chunk.h"

#include "fault_inject.h"
#include "log.h"

namespace mmlab {

Chunk* Chunk::Borrow(Zone* zone, uint32_t order, mmlab_host_zone host_zone, bool can_sleep,
                     FaultAttr* fail) {
  mmlab_host_chunk host = {};
  if ((fail && fail->ShouldFail(int64_t{1} << order)) ||
      mmlab_host_chunk_alloc(order, host_zone, can_sleep ? 1 : 0, &host) != 0)
    return nullptr;

  uintptr_t vaddr = reinterpret_cast<uintptr_t>(host.vaddr);
  if (vaddr == 0 || !IsAligned(vaddr, MMLAB_PAGE_SHIFT) || !IsAligned(host.pfn, order)) {
    // The buddy arithmetic needs a naturally aligned block; refuse to
    // manage anything else rather than build blocks that straddle it.
    Log(MMLAB_LOG_ERR, "chunk: host lent a misaligned order-%u chunk at pfn 0x%lx; returned",
        order, host.pfn);
    mmlab_host_chunk_free(&host, order);
    return nullptr;
  }

  size_t meta_bytes = MetaBytes(order);
  void* meta = mmlab_host_meta_alloc(meta_bytes, can_sleep ? 1 : 0);
  if (!meta) {
    mmlab_host_chunk_free(&host, order);
    return nullptr;
  }

  Chunk* chunk = new (meta) Chunk(zone, host, order, meta_bytes);
  Page* pages = chunk->pages();
  for (uint32_t i = 0; i < chunk->nr_pages(); i++) {
    Page* page = new (&pages[i]) Page();
    page->chunk = chunk;
    page->state = PageState::kFreeTail;
  }
  pages[0].state = PageState::kFreeHead;
  pages[0].order = static_cast<uint8_t>(order);
  return chunk;
}

void Chunk::Return(Chunk* chunk) {
  mmlab_host_chunk host = chunk->host_;
  uint32_t order = chunk->order_;
  Abandon(chunk);
  mmlab_host_chunk_free(&host, order);
}

void Chunk::Abandon(Chunk* chunk) {
  size_t meta_bytes = chunk->meta_bytes_;
  chunk->~Chunk();
  mmlab_host_meta_free(chunk, meta_bytes);
}

ChunkIndex* ChunkIndex::Alloc(size_t capacity, bool can_sleep) {
  size_t bytes = BytesFor(capacity);
  void* mem = mmlab_host_meta_alloc(bytes, can_sleep ? 1 : 0);
  if (!mem)
    return nullptr;
  return new (mem) ChunkIndex(capacity, bytes);
}

void ChunkIndex::Free(ChunkIndex* index) {
  if (!index)
    return;
  size_t bytes = index->bytes_;
  index->~ChunkIndex();
  mmlab_host_meta_free(index, bytes);
}

namespace {

// Inserts chunk into a sorted array of n entries with room for one more.
template <typename KeyFn>
void SortedInsert(Chunk** arr, size_t n, Chunk* chunk, KeyFn key) {
  size_t pos = n;
  while (pos > 0 && key(arr[pos - 1]) > key(chunk)) {
    arr[pos] = arr[pos - 1];
    pos--;
  }
  arr[pos] = chunk;
}

// The entry with the greatest key <= x, or null.
template <typename KeyFn>
Chunk* FloorSearch(Chunk* const* arr, size_t n, uintptr_t x, KeyFn key) {
  size_t lo = 0, hi = n;  // first entry with key > x is in [lo, hi]
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (key(arr[mid]) <= x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo ? arr[lo - 1] : nullptr;
}

uintptr_t AddrKey(const Chunk* c) { return c->vaddr(); }
uintptr_t DescKey(const Chunk* c) { return c->desc_begin(); }

}  // namespace

void ChunkIndex::BuildInserting(const ChunkIndex* old, Chunk* chunk) {
  size_t n = SizeOf(old);
  if (!MMLAB_ASSERT(n + 1 <= capacity_))
    return;
  for (size_t i = 0; i < n; i++) {
    by_addr()[i] = old->by_addr()[i];
    by_desc()[i] = old->by_desc()[i];
  }
  SortedInsert(by_addr(), n, chunk, AddrKey);
  SortedInsert(by_desc(), n, chunk, DescKey);
  size_ = n + 1;
}

void ChunkIndex::BuildWithoutRetired(const ChunkIndex* old) {
  size_t a = 0, d = 0;
  for (size_t i = 0; i < SizeOf(old); i++) {
    if (!old->by_addr()[i]->retired() && MMLAB_ASSERT(a < capacity_))
      by_addr()[a++] = old->by_addr()[i];
    if (!old->by_desc()[i]->retired() && MMLAB_ASSERT(d < capacity_))
      by_desc()[d++] = old->by_desc()[i];
  }
  MMLAB_ASSERT(a == d);
  size_ = a;
}

Chunk* ChunkIndex::FindByAddress(const ChunkIndex* index, uintptr_t addr) {
  if (!index)
    return nullptr;
  Chunk* c = FloorSearch(index->by_addr(), index->size_, addr, AddrKey);
  return c && c->ContainsAddress(addr) ? c : nullptr;
}

Chunk* ChunkIndex::FindByDescriptor(const ChunkIndex* index, uintptr_t desc) {
  if (!index)
    return nullptr;
  Chunk* c = FloorSearch(index->by_desc(), index->size_, desc, DescKey);
  return c && c->ContainsDescriptor(desc) ? c : nullptr;
}

Chunk* ChunkIndex::FindByPfn(const ChunkIndex* index, uint64_t pfn) {
  for (size_t i = 0; i < SizeOf(index); i++) {
    if (index->at(i)->ContainsPfn(pfn))
      return index->at(i);
  }
  return nullptr;
}

}  // namespace mmlab
