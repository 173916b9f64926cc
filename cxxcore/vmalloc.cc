// SPDX-License-Identifier: GPL-2.0
//
// vmalloc.cc - STUB, replaced by the mempool/vmalloc work (issue #4).
#include "core.h"
#include "subsys.h"

namespace mmlab {

mmlab_status VmallocCreate(Core&, VmallocSpace** out) {
  *out = nullptr;
  return MMLAB_OK;
}
void VmallocDestroy(VmallocSpace*) {}
uint64_t VmallocCheck(VmallocSpace&) { return 0; }
void RenderVmallocinfo(Core&, mmlab_emit_fn, void*) {}
void RenderVmallocStats(Core&, mmlab_emit_fn, void*) {}

}  // namespace mmlab

extern "C" {
void* mmlab_core_kvmalloc(struct mmlab_core*, size_t, mmlab_gfp_t, uintptr_t) { return nullptr; }
void* mmlab_core_kvmalloc_array(struct mmlab_core*, size_t, size_t, mmlab_gfp_t, uintptr_t) {
  return nullptr;
}
void mmlab_core_kvfree(struct mmlab_core*, const void*, uintptr_t) {}
void* mmlab_core_vmalloc(struct mmlab_core*, size_t, mmlab_gfp_t, uintptr_t) { return nullptr; }
void mmlab_core_vfree(struct mmlab_core*, const void*, uintptr_t) {}
int mmlab_core_is_vmalloc_addr(struct mmlab_core*, const void*) { return 0; }
struct mmlab_page* mmlab_core_vmalloc_to_page(struct mmlab_core*, const void*) { return nullptr; }
}
