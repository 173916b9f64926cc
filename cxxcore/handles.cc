// SPDX-License-Identifier: GPL-2.0
//
// handles.cc - control-file handle table.
#include "handles.h"

namespace mmlab {

Handle* HandleTable::AllocStorage() {
  return static_cast<Handle*>(mmlab_host_meta_alloc(kMaxHandles * sizeof(Handle), 1));
}

Handle* HandleTable::Release() {
  Handle* storage = entries_;
  entries_ = nullptr;
  live_ = reserved_ = 0;
  return storage;
}

void HandleTable::FreeStorage(Handle* storage) {
  if (storage)
    mmlab_host_meta_free(storage, kMaxHandles * sizeof(Handle));
}

bool HandleTable::Reserve() {
  if (!entries_ || live_ + reserved_ >= kMaxHandles)
    return false;
  reserved_++;
  return true;
}

void HandleTable::Unreserve() {
  if (MMLAB_ASSERT(reserved_ > 0))
    reserved_--;
}

uint64_t HandleTable::Commit(Page* page, uint32_t order) {
  if (!MMLAB_ASSERT(reserved_ > 0 && live_ < kMaxHandles))
    return 0;
  reserved_--;
  Handle& h = entries_[live_++];
  h.id = next_id_++;
  h.page = page;
  h.order = order;
  return h.id;
}

Handle* HandleTable::Find(uint64_t id) {
  for (uint32_t i = 0; i < live_; i++) {
    if (entries_[i].id == id)
      return &entries_[i];
  }
  return nullptr;
}

Handle* HandleTable::FindPage(const Page* page) {
  for (uint32_t i = 0; i < live_; i++) {
    if (entries_[i].page == page)
      return &entries_[i];
  }
  return nullptr;
}

void HandleTable::Remove(Handle* h) {
  if (!MMLAB_ASSERT(h >= entries_ && h < entries_ + live_))
    return;
  *h = entries_[--live_];
}

bool HandleTable::PopAny(Handle* out) {
  if (live_ == 0)
    return false;
  *out = entries_[--live_];
  return true;
}

}  // namespace mmlab
