// SPDX-License-Identifier: GPL-2.0
//
// vmalloc.h - virtually contiguous areas over order-0 managed pages
// (Linux: mm/vmalloc.c, struct vm_struct / vmap_area), and kvmalloc.
//
// VmallocSpace is the registry of live areas: what vfree, is_vmalloc_addr,
// vmalloc_to_page and the vmallocinfo view look up. It has one lock, never
// held across the page allocator, the host's vmap/vunmap or the metadata
// allocator.
#ifndef MMLAB_CXXCORE_VMALLOC_H
#define MMLAB_CXXCORE_VMALLOC_H

#include "base.h"
#include "format.h"
#include "lock.h"
#include "mmlab/core.h"
#include "page_desc.h"
#include "subsys.h"

namespace mmlab {

// One vmalloc area (vm_struct): nr_pages order-0 pages mapped at addr.
struct VmArea {
  ListNode link;  // on the space's list, under its lock
  uint64_t id;    // small, never reused: what vmallocinfo shows instead of an address
  uintptr_t addr;
  size_t size;  // bytes asked for
  uint32_t nr_pages;
  uintptr_t caller;
  Page** pages;  // nr_pages descriptors, from the metadata allocator
};

class VmallocSpace {
 public:
  MMLAB_NO_COPY(VmallocSpace);
  VmallocSpace() = default;

  Core* core = nullptr;
  SpinLock lock;
  List<VmArea, __builtin_offsetof(VmArea, link)> areas MMLAB_GUARDED_BY(lock);
  uint64_t next_id MMLAB_GUARDED_BY(lock) = 1;
  uint64_t nr_areas MMLAB_GUARDED_BY(lock) = 0;
  uint64_t nr_pages MMLAB_GUARDED_BY(lock) = 0;
  // Event counters (atomics).
  uint64_t vmallocs = 0;
  uint64_t vmalloc_failures = 0;
  uint64_t vfrees = 0;
  uint64_t bad_vfrees = 0;
  uint64_t kvmalloc_kmalloc = 0;
  uint64_t kvmalloc_vmalloc = 0;
};

void* Vmalloc(Core& core, size_t size, mmlab_gfp_t gfp, uintptr_t caller, TextBuf* why);
// False (reported) when addr does not start an area.
bool Vfree(Core& core, const void* addr, uintptr_t caller, TextBuf* why);
// Pages of the area starting at addr; 0 if none.
uint32_t VmallocPages(Core& core, const void* addr);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_VMALLOC_H
