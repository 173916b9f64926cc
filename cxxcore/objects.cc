// SPDX-License-Identifier: GPL-2.0
//
// objects.cc - the control file's object table.
#include "objects.h"

#include "mmlab/host.h"

namespace mmlab {

const char* ObjKindName(ObjKind kind) {
  switch (kind) {
    case ObjKind::kSlab:
      return "slab";
    case ObjKind::kKmalloc:
      return "kmalloc";
    case ObjKind::kKvmalloc:
      return "kvmalloc";
    case ObjKind::kVmalloc:
      return "vmalloc";
    case ObjKind::kMempool:
      return "mempool";
  }
  return "?";
}

const char* ObjKindFreeCommand(ObjKind kind) {
  switch (kind) {
    case ObjKind::kSlab:
      return "cache_free";
    case ObjKind::kKmalloc:
      return "kfree";
    case ObjKind::kKvmalloc:
      return "kvfree";
    case ObjKind::kVmalloc:
      return "vfree";
    case ObjKind::kMempool:
      return "mempool_free";
  }
  return "?";
}

CtlObject* ObjectTable::AllocStorage() {
  return static_cast<CtlObject*>(mmlab_host_meta_alloc(kMaxCtlObjects * sizeof(CtlObject), 1));
}

void ObjectTable::FreeStorage(CtlObject* storage) {
  if (storage)
    mmlab_host_meta_free(storage, kMaxCtlObjects * sizeof(CtlObject));
}

CtlObject* ObjectTable::Release() {
  CtlObject* storage = entries_;
  entries_ = nullptr;
  live_ = reserved_ = 0;
  return storage;
}

bool ObjectTable::Reserve(uint32_t n) {
  if (!entries_ || n > kMaxCtlObjects || live_ + reserved_ + n > kMaxCtlObjects)
    return false;
  reserved_ += n;
  return true;
}

void ObjectTable::Unreserve(uint32_t n) {
  if (MMLAB_ASSERT(reserved_ >= n))
    reserved_ -= n;
}

uint64_t ObjectTable::Commit(CtlObject* obj) {
  if (!MMLAB_ASSERT(reserved_ > 0 && live_ < kMaxCtlObjects))
    return 0;
  reserved_--;
  obj->id = next_id_++;
  entries_[live_++] = *obj;
  return obj->id;
}

void ObjectTable::PutBack(const CtlObject& obj) {
  if (!MMLAB_ASSERT(reserved_ > 0 && live_ < kMaxCtlObjects))
    return;
  reserved_--;
  entries_[live_++] = obj;
}

CtlObject* ObjectTable::Find(uint64_t id) {
  for (uint32_t i = 0; i < live_; i++) {
    if (entries_[i].id == id)
      return &entries_[i];
  }
  return nullptr;
}

void ObjectTable::Take(CtlObject* entry, CtlObject* out) {
  if (!MMLAB_ASSERT(entry >= entries_ && entry < entries_ + live_))
    return;
  *out = *entry;
  *entry = entries_[--live_];
  reserved_++;
}

bool ObjectTable::PopAny(uint32_t kind_mask, CtlObject* out) {
  for (uint32_t i = live_; i-- > 0;) {
    if (kind_mask & KindBit(entries_[i].kind)) {
      *out = entries_[i];
      entries_[i] = entries_[--live_];
      return true;
    }
  }
  return false;
}

uint32_t ObjectTable::CountOwned(const void* owner) const {
  uint32_t n = 0;
  for (uint32_t i = 0; i < live_; i++)
    n += entries_[i].owner == owner;
  return n;
}

void CtlObjectFree(mmlab_core* core, const CtlObject& obj) {
  switch (obj.kind) {
    case ObjKind::kSlab:
      mmlab_core_kmem_cache_free(static_cast<mmlab_kmem_cache*>(obj.owner), obj.ptr, 0);
      return;
    case ObjKind::kKmalloc:
      mmlab_core_kfree(core, obj.ptr, 0);
      return;
    case ObjKind::kKvmalloc:
      mmlab_core_kvfree(core, obj.ptr, 0);
      return;
    case ObjKind::kVmalloc:
      mmlab_core_vfree(core, obj.ptr, 0);
      return;
    case ObjKind::kMempool:
      mmlab_core_mempool_free(static_cast<mmlab_mempool*>(obj.owner), obj.ptr);
      return;
  }
  MMLAB_ASSERT(!"unknown control object kind");
}

}  // namespace mmlab
