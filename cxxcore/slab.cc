// SPDX-License-Identifier: GPL-2.0
//
// slab.cc - STUB, replaced by the slab work (issue #4).
#include "core.h"
#include "subsys.h"

namespace mmlab {

mmlab_status SlabCreate(Core&, SlabAllocator** out) {
  *out = nullptr;
  return MMLAB_OK;
}
void SlabDestroy(SlabAllocator*) {}
uint64_t SlabCheck(SlabAllocator&) { return 0; }
uint64_t SlabControlDestroyAll(Core&) { return 0; }
void RenderSlabinfo(Core&, mmlab_emit_fn, void*) {}
void RenderSlabStats(Core&, mmlab_emit_fn, void*) {}

}  // namespace mmlab

extern "C" {
enum mmlab_status mmlab_core_kmem_cache_create(struct mmlab_core*, const char*, uint32_t, uint32_t,
                                          uint32_t, mmlab_ctor_fn, struct mmlab_kmem_cache**) {
  return MMLAB_EINVAL;
}
enum mmlab_status mmlab_core_kmem_cache_destroy(struct mmlab_kmem_cache*) { return MMLAB_EINVAL; }
void* mmlab_core_kmem_cache_alloc(struct mmlab_kmem_cache*, mmlab_gfp_t, uintptr_t) { return nullptr; }
void mmlab_core_kmem_cache_free(struct mmlab_kmem_cache*, void*, uintptr_t) {}
size_t mmlab_core_kmem_cache_alloc_bulk(struct mmlab_kmem_cache*, mmlab_gfp_t, size_t, void**,
                                   uintptr_t) {
  return 0;
}
void mmlab_core_kmem_cache_free_bulk(struct mmlab_kmem_cache*, size_t, void**, uintptr_t) {}
uint64_t mmlab_core_kmem_cache_shrink(struct mmlab_kmem_cache*) { return 0; }
uint32_t mmlab_core_kmem_cache_size(const struct mmlab_kmem_cache*) { return 0; }
const char* mmlab_core_kmem_cache_name(const struct mmlab_kmem_cache*) { return ""; }
void* mmlab_core_kmalloc(struct mmlab_core*, size_t, mmlab_gfp_t, uintptr_t) { return nullptr; }
void* mmlab_core_kmalloc_array(struct mmlab_core*, size_t, size_t, mmlab_gfp_t, uintptr_t) {
  return nullptr;
}
void* mmlab_core_krealloc(struct mmlab_core*, const void*, size_t, mmlab_gfp_t, uintptr_t) {
  return nullptr;
}
void mmlab_core_kfree(struct mmlab_core*, const void*, uintptr_t) {}
size_t mmlab_core_ksize(struct mmlab_core*, const void*) { return 0; }
}
