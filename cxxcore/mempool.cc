// SPDX-License-Identifier: GPL-2.0
//
// mempool.cc - STUB, replaced by the mempool/vmalloc work (issue #4).
#include "core.h"
#include "subsys.h"

namespace mmlab {

mmlab_status MempoolsCreate(Core&, MempoolRegistry** out) {
  *out = nullptr;
  return MMLAB_OK;
}
void MempoolsDestroy(MempoolRegistry*) {}
uint64_t MempoolsCheck(MempoolRegistry&) { return 0; }
uint64_t MempoolControlDestroyAll(Core&) { return 0; }
void RenderMempools(Core&, mmlab_emit_fn, void*) {}
void RenderMempoolStats(Core&, mmlab_emit_fn, void*) {}

}  // namespace mmlab

extern "C" {
enum mmlab_status mmlab_core_mempool_create(struct mmlab_core*, const char*, uint32_t,
                                       mmlab_mempool_alloc_fn, mmlab_mempool_free_fn, void*,
                                       struct mmlab_mempool**) {
  return MMLAB_EINVAL;
}
enum mmlab_status mmlab_core_mempool_create_slab_pool(struct mmlab_core*, const char*, uint32_t,
                                                 struct mmlab_kmem_cache*,
                                                 struct mmlab_mempool**) {
  return MMLAB_EINVAL;
}
enum mmlab_status mmlab_core_mempool_create_kmalloc_pool(struct mmlab_core*, const char*, uint32_t,
                                                    size_t, struct mmlab_mempool**) {
  return MMLAB_EINVAL;
}
enum mmlab_status mmlab_core_mempool_create_page_pool(struct mmlab_core*, const char*, uint32_t,
                                                 uint32_t, struct mmlab_mempool**) {
  return MMLAB_EINVAL;
}
void* mmlab_core_mempool_alloc(struct mmlab_mempool*, mmlab_gfp_t) { return nullptr; }
void mmlab_core_mempool_free(struct mmlab_mempool*, void*) {}
enum mmlab_status mmlab_core_mempool_resize(struct mmlab_mempool*, uint32_t) { return MMLAB_EINVAL; }
enum mmlab_status mmlab_core_mempool_destroy(struct mmlab_mempool*) { return MMLAB_EINVAL; }
}
