// SPDX-License-Identifier: GPL-2.0
//
// objects.h - the control file's table of objects above the page
// allocator: slab objects, kmalloc/kvmalloc/vmalloc memory and mempool
// elements allocated through control commands.
//
// Like handles.h for page blocks: user space only ever sees small ids,
// counted up from 1 and never reused, never an address. The table is dense
// and has no lock of its own; Core guards it with its control lock, and an
// object is removed from the table (Take) before it is freed or touched
// with no lock held, so two commands can never free or fill the same object.
#ifndef MMLAB_CXXCORE_OBJECTS_H
#define MMLAB_CXXCORE_OBJECTS_H

#include "base.h"
#include "mmlab/core.h"

namespace mmlab {

constexpr uint32_t kMaxCtlObjects = 8192;

enum class ObjKind : uint8_t {
  kSlab = 1,     // owner: the struct mmlab_kmem_cache *
  kKmalloc = 2,  // owner: none
  kKvmalloc = 3, // owner: none
  kVmalloc = 4,  // owner: none
  kMempool = 5,  // owner: the struct mmlab_mempool *; ptr may be a struct mmlab_page *
};
// Bit masks of kinds, for ObjectTake's kind check.
constexpr uint32_t KindBit(ObjKind k) { return 1u << static_cast<uint32_t>(k); }
const char* ObjKindName(ObjKind kind);
// The command that frees an object of this kind ("cache_free", "kfree", ...).
const char* ObjKindFreeCommand(ObjKind kind);

struct CtlObject {
  uint64_t id;
  ObjKind kind;
  void* ptr;         // what the allocator returned
  void* mem;         // the object's bytes (ptr, or page_address for page-pool elements)
  uint64_t size;     // bytes usable at mem (the size asked for)
  void* owner;       // cache or pool, per kind
  uint64_t owner_id; // the owner's control id (cache or pool), 0 if none
};

class ObjectTable {
 public:
  ObjectTable() = default;
  MMLAB_NO_COPY(ObjectTable);

  // Storage from the host's metadata allocator, allocated and freed with no
  // lock held.
  static CtlObject* AllocStorage();
  static void FreeStorage(CtlObject* storage);
  void Install(CtlObject* storage) { entries_ = storage; }
  CtlObject* Release();

  // Room for n objects before they are allocated; false when full.
  bool Reserve(uint32_t n = 1);
  void Unreserve(uint32_t n = 1);
  // Turns one reservation into a live entry; sets obj.id and returns it.
  uint64_t Commit(CtlObject* obj);
  // Puts back an entry taken with Take, keeping its id (no reservation needed
  // while Take's slot is still counted as reserved: Take reserves it).
  void PutBack(const CtlObject& obj);

  CtlObject* Find(uint64_t id);
  // Removes an entry and keeps its slot reserved (for PutBack or Unreserve).
  void Take(CtlObject* entry, CtlObject* out);
  // Removes any one entry (of the kinds in mask) into *out; false when none.
  bool PopAny(uint32_t kind_mask, CtlObject* out);
  // Live entries owned by `owner`.
  uint32_t CountOwned(const void* owner) const;

  uint32_t live() const { return live_; }
  uint32_t reserved() const { return reserved_; }
  const CtlObject& at(uint32_t i) const { return entries_[i]; }

 private:
  CtlObject* entries_ = nullptr;
  uint32_t live_ = 0;
  uint32_t reserved_ = 0;
  uint64_t next_id_ = 1;
};

// Frees obj with the allocator of its kind (kmem_cache_free, kfree, kvfree,
// vfree, mempool_free), charging call site 0. No lock held; may sleep.
void CtlObjectFree(mmlab_core* core, const CtlObject& obj);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_OBJECTS_H
