// SPDX-License-Identifier: GPL-2.0
//
// handles.h - the control file's table of blocks it allocated.
//
// `alloc` on the control file returns a small integer handle rather than a
// kernel address. Handles count up from 1 and are never reused; at most
// kMaxHandles are live at once. The table is a dense array (a removed entry
// is replaced by the last one), so lookups scan only live entries: the
// control file is a debugging interface and 4096 entries are scanned in
// microseconds. The table has no lock of its own; the core guards it with
// its control lock.
#ifndef MMLAB_CXXCORE_HANDLES_H
#define MMLAB_CXXCORE_HANDLES_H

#include "base.h"
#include "page_desc.h"

namespace mmlab {

constexpr uint32_t kMaxHandles = 4096;

struct Handle {
  uint64_t id;
  Page* page;
  uint32_t order;
};

class HandleTable {
 public:
  HandleTable() = default;
  MMLAB_NO_COPY(HandleTable);

  // Storage comes from the host's metadata allocator and is allocated and
  // freed with no lock held (it may sleep); the table only installs it.
  static Handle* AllocStorage();
  static void FreeStorage(Handle* storage);
  void Install(Handle* storage) { entries_ = storage; }
  // Empties the table and hands its storage out for FreeStorage().
  Handle* Release();

  // Claims room for one handle before the block is allocated, so that
  // concurrent allocations cannot overfill the table. False when full.
  bool Reserve();
  void Unreserve();
  // Turns a reservation into a live handle and returns its id.
  uint64_t Commit(Page* page, uint32_t order);

  Handle* Find(uint64_t id);
  Handle* FindPage(const Page* page);
  // h must point into this table; invalidates pointers to the last entry.
  void Remove(Handle* h);
  // Removes any one live handle into *out; false when none is left.
  bool PopAny(Handle* out);

  uint32_t live() const { return live_; }
  uint32_t reserved() const { return reserved_; }
  const Handle& at(uint32_t i) const { return entries_[i]; }

 private:
  Handle* entries_ = nullptr;
  uint32_t live_ = 0;
  uint32_t reserved_ = 0;
  uint64_t next_id_ = 1;
};

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_HANDLES_H
