// SPDX-License-Identifier: GPL-2.0
//
// vmalloc.cc - vmalloc/vfree over vmap()ed order-0 pages, and kvmalloc
// (Linux: mm/vmalloc.c __vmalloc_node_range, vfree, is_vmalloc_addr,
// vmalloc_to_page; mm/util.c kvmalloc_node, kvfree).
//
// How it works:
//  - vmalloc(size) takes ceil(size / PAGE_SIZE) order-0 pages one by one
//    from the core's page allocator with the caller's gfp (__GFP_ZERO makes
//    vzalloc, __GFP_DMA32 keeps every page below 4 GiB; __vmalloc_area_node
//    does the same with alloc_pages_bulk), then asks the host to map their
//    page frames, in order, into one virtually contiguous range
//    (vmap(pages, n, VM_MAP, PAGE_KERNEL)). The pages need not be
//    contiguous; only the mapping is.
//  - Each area (vm_struct) records its id, size, caller and page list and
//    goes on the space's list: vfree and vmalloc_to_page find it there, and
//    vmallocinfo lists it. Any failure gives back everything taken so far.
//  - vmalloc may sleep (the host's vmap does; so does the metadata
//    allocator), whatever the gfp says. Size 0 and sizes above the
//    capacity are refused with a report.
//  - kvmalloc: up to a page it is kmalloc with the caller's gfp; above, a
//    quiet kmalloc (__GFP_NOWARN, __GFP_NORETRY unless __GFP_RETRY_MAYFAIL)
//    first - physically contiguous memory is faster - and vmalloc if that
//    fails, for gfps that may sleep (Linux 6.1's kvmalloc_node: vmalloc
//    does not support non-blocking allocations). kvfree asks
//    is_vmalloc_addr which of the two to call.
#include "vmalloc.h"

#include "core.h"
#include "log.h"

namespace mmlab {

namespace {

template <typename T>
void AtomicAdd(T& counter, T n) {
  __atomic_fetch_add(&counter, n, __ATOMIC_RELAXED);
}

void FreeAreaMeta(VmArea* area, uint32_t nr_pages) {
  if (area->pages)
    mmlab_host_meta_free(area->pages, nr_pages * sizeof(Page*));
  mmlab_host_meta_free(area, sizeof(VmArea));
}

// The area containing addr (start_only: starting at addr); lock held.
VmArea* FindAreaLocked(VmallocSpace& vm, uintptr_t addr, bool start_only)
    MMLAB_REQUIRES(vm.lock) {
  for (ListNode* n = vm.areas.sentinel()->next; n != vm.areas.sentinel(); n = n->next) {
    VmArea* area = decltype(vm.areas)::Owner(n);
    if (start_only ? addr == area->addr
                   : addr - area->addr < uint64_t{area->nr_pages} << MMLAB_PAGE_SHIFT)
      return area;
  }
  return nullptr;
}

}  // namespace

void* Vmalloc(Core& core, size_t size, mmlab_gfp_t gfp, uintptr_t caller, TextBuf* why) {
  VmallocSpace& vm = core.vmalloc();
  mmlab_host_might_sleep();
  const uint64_t capacity_bytes = core.capacity_pages() << MMLAB_PAGE_SHIFT;
  if (size == 0 || size > capacity_bytes) {
    AtomicAdd(vm.vmalloc_failures, uint64_t{1});
    Report(why, MMLAB_LOG_WARN, "vmalloc: size %zu out of range 1..%lu (the capacity)", size,
           capacity_bytes);
    return nullptr;
  }
  if (gfp & ~MMLAB___GFP_ALL) {
    AtomicAdd(vm.vmalloc_failures, uint64_t{1});
    Report(why, MMLAB_LOG_WARN, "vmalloc: unknown gfp bits 0x%x", gfp & ~MMLAB___GFP_ALL);
    return nullptr;
  }
  gfp &= ~MMLAB___GFP_COMP;  // order-0 pages: nothing to compound
  const uint32_t nr_pages = static_cast<uint32_t>((size + MMLAB_PAGE_SIZE - 1) >> MMLAB_PAGE_SHIFT);

  VmArea* area = static_cast<VmArea*>(mmlab_host_meta_alloc(sizeof(VmArea), 1));
  Page** pages =
      area ? static_cast<Page**>(mmlab_host_meta_alloc(nr_pages * sizeof(Page*), 1)) : nullptr;
  uint64_t* pfns =
      pages ? static_cast<uint64_t*>(mmlab_host_meta_alloc(nr_pages * sizeof(uint64_t), 1))
            : nullptr;
  if (!pfns) {
    if (pages)
      mmlab_host_meta_free(pages, nr_pages * sizeof(Page*));
    if (area)
      mmlab_host_meta_free(area, sizeof(VmArea));
    AtomicAdd(vm.vmalloc_failures, uint64_t{1});
    Report(why, MMLAB_LOG_WARN, "vmalloc: no memory for the area of %u pages", nr_pages);
    return nullptr;
  }
  *area = VmArea{};
  area->pages = pages;

  uint32_t got = 0;
  for (; got < nr_pages; got++) {
    Page* page = core.AllocPages(gfp, 0, kPgVmalloc);
    if (!page)
      break;
    pages[got] = page;
    pfns[got] = Core::PageToPfn(page);
  }
  void* addr = got == nr_pages ? mmlab_host_vmap(pfns, nr_pages) : nullptr;
  mmlab_host_meta_free(pfns, nr_pages * sizeof(uint64_t));
  if (!addr) {
    for (uint32_t i = 0; i < got; i++)
      core.FreePages(pages[i], 0, nullptr, kPgVmalloc);
    FreeAreaMeta(area, nr_pages);
    AtomicAdd(vm.vmalloc_failures, uint64_t{1});
    if (got < nr_pages) {
      if (!(gfp & MMLAB___GFP_NOWARN) || why)
        Report(why, MMLAB_LOG_WARN,
               "vmalloc: allocation failure: %zu bytes, got %u of %u pages; all given back", size,
               got, nr_pages);
    } else {
      Report(why, MMLAB_LOG_WARN, "vmalloc: the host could not map %u pages; all given back",
             nr_pages);
    }
    return nullptr;
  }

  mmlab_host_object_alloc(addr, size, gfp);  // kmemleak only (host.h: vmap addresses)
  area->addr = reinterpret_cast<uintptr_t>(addr);
  area->size = size;
  area->nr_pages = nr_pages;
  area->caller = caller;
  {
    IrqSaveGuard guard(vm.lock);
    area->id = vm.next_id++;
    vm.areas.PushBack(area);
    vm.nr_areas++;
    vm.nr_pages += nr_pages;
  }
  AtomicAdd(vm.vmallocs, uint64_t{1});
  return addr;
}

bool Vfree(Core& core, const void* addr, uintptr_t caller, TextBuf* why) {
  VmallocSpace& vm = core.vmalloc();
  if (!addr)
    return true;
  mmlab_host_might_sleep();
  VmArea* area;
  {
    IrqSaveGuard guard(vm.lock);
    area = FindAreaLocked(vm, reinterpret_cast<uintptr_t>(addr), true);
    if (area) {
      vm.areas.Remove(area);
      vm.nr_areas--;
      vm.nr_pages -= area->nr_pages;
    }
  }
  if (!area) {
    char ptr[32], sym[96];
    mmlab_host_format_ptr(addr, ptr, sizeof(ptr));
    mmlab_host_format_symbol(caller, sym, sizeof(sym));
    AtomicAdd(vm.bad_vfrees, uint64_t{1});
    Report(why, MMLAB_LOG_WARN, "vfree: %s is not the start of a vmalloc area (caller %s); ignored",
           ptr, sym);
    return false;
  }
  mmlab_host_object_free(addr, area->size);
  mmlab_host_vunmap(reinterpret_cast<void*>(area->addr), area->nr_pages);
  for (uint32_t i = 0; i < area->nr_pages; i++)
    core.FreePages(area->pages[i], 0, nullptr, kPgVmalloc);
  FreeAreaMeta(area, area->nr_pages);
  AtomicAdd(vm.vfrees, uint64_t{1});
  return true;
}

uint32_t VmallocPages(Core& core, const void* addr) {
  VmallocSpace& vm = core.vmalloc();
  IrqSaveGuard guard(vm.lock);
  VmArea* area = FindAreaLocked(vm, reinterpret_cast<uintptr_t>(addr), true);
  return area ? area->nr_pages : 0;
}

mmlab_status VmallocCreate(Core& core, VmallocSpace** out) {
  *out = nullptr;
  VmallocSpace* vm = MetaNew<VmallocSpace>();
  if (!vm)
    return MMLAB_ENOMEM;
  vm->core = &core;
  if (!vm->lock.Init("mmlab_vmalloc")) {
    MetaDelete(vm);
    return MMLAB_ENOMEM;
  }
  *out = vm;
  return MMLAB_OK;
}

// Areas still mapped belong to somebody: report them and unmap nothing (the
// core's destroy then reports their pages as leaked and keeps the chunks).
void VmallocDestroy(VmallocSpace* vm) {
  if (!vm)
    return;
  for (;;) {
    VmArea* area;
    {
      IrqSaveGuard guard(vm->lock);
      area = vm->areas.PopFront();
    }
    if (!area)
      break;
    char sym[96];
    mmlab_host_format_symbol(area->caller, sym, sizeof(sym));
    Log(MMLAB_LOG_WARN, "vmalloc: area %lu (%zu bytes, %u pages, caller %s) never freed",
        area->id, area->size, area->nr_pages, sym);
    FreeAreaMeta(area, area->nr_pages);
  }
  vm->lock.Destroy();
  MetaDelete(vm);
}

uint64_t VmallocCheck(VmallocSpace& vm) {
  uint64_t violations = 0, areas = 0, pages = 0;
  IrqSaveGuard guard(vm.lock);
  for (ListNode* n = vm.areas.sentinel()->next; n != vm.areas.sentinel(); n = n->next) {
    const VmArea* area = decltype(vm.areas)::Owner(n);
    areas++;
    pages += area->nr_pages;
    if (area->nr_pages != (area->size + MMLAB_PAGE_SIZE - 1) >> MMLAB_PAGE_SHIFT) {
      Log(MMLAB_LOG_ERR, "check: vmalloc area %lu: %u pages for %zu bytes", area->id,
          area->nr_pages, area->size);
      violations++;
    }
    for (uint32_t i = 0; i < area->nr_pages; i++) {
      const Page* page = area->pages[i];
      if (!page || !page->IsAllocHead() || page->order != 0) {
        Log(MMLAB_LOG_ERR, "check: vmalloc area %lu: page %u is not an allocated order-0 page",
            area->id, i);
        violations++;
        break;
      }
    }
  }
  if (areas != vm.nr_areas || pages != vm.nr_pages) {
    Log(MMLAB_LOG_ERR, "check: vmalloc: %lu areas of %lu pages listed, %lu of %lu counted", areas,
        pages, vm.nr_areas, vm.nr_pages);
    violations++;
  }
  return violations;
}

namespace {

}  // namespace

// /proc/vmallocinfo's "0x%pK-0x%pK %7ld %pS pages=%d vmalloc" with the
// area's id in place of its addresses: "<id> <size> <caller> pages=<n>
// vmalloc", in id order. Like RenderMempools, each area is copied under the
// lock and emitted without it.
void RenderVmallocinfo(Core& core, mmlab_emit_fn emit, void* ctx) {
  VmallocSpace& vm = core.vmalloc();
  uint64_t last_id = 0;
  for (;;) {
    uint64_t id;
    size_t bytes;
    uint32_t nr_pages;
    uintptr_t caller;
    {
      IrqSaveGuard guard(vm.lock);
      const VmArea* area = nullptr;
      for (ListNode* n = vm.areas.sentinel()->next; n != vm.areas.sentinel(); n = n->next) {
        const VmArea* a = decltype(vm.areas)::Owner(n);
        if (a->id > last_id && (!area || a->id < area->id))
          area = a;
      }
      if (!area)
        break;
      id = last_id = area->id;
      bytes = uint64_t{area->nr_pages} << MMLAB_PAGE_SHIFT;
      nr_pages = area->nr_pages;
      caller = area->caller;
    }
    char sym[128];
    mmlab_host_format_symbol(caller, sym, sizeof(sym));
    EmitLine(emit, ctx, "%lu %7zu %s pages=%u vmalloc\n", id, bytes, sym, nr_pages);
  }
}

void RenderVmallocStats(Core& core, mmlab_emit_fn emit, void* ctx) {
  VmallocSpace& vm = core.vmalloc();
  uint64_t areas, pages;
  {
    IrqSaveGuard guard(vm.lock);
    areas = vm.nr_areas;
    pages = vm.nr_pages;
  }
  const struct {
    const char* key;
    uint64_t value;
  } rows[] = {
      {"vmalloc_areas", areas},
      {"vmalloc_pages", pages},
      {"vmalloc_calls", ReadOnce(vm.vmallocs)},
      {"vmalloc_failures", ReadOnce(vm.vmalloc_failures)},
      {"vfree_calls", ReadOnce(vm.vfrees)},
      {"vfree_bad", ReadOnce(vm.bad_vfrees)},
      {"kvmalloc_kmalloc", ReadOnce(vm.kvmalloc_kmalloc)},
      {"kvmalloc_vmalloc", ReadOnce(vm.kvmalloc_vmalloc)},
  };
  for (const auto& row : rows)
    EmitLine(emit, ctx, "%-22s %lu\n", row.key, row.value);
}

}  // namespace mmlab

// --- C ABI ------------------------------------------------------------------

using mmlab::Core;

extern "C" {

void* mmlab_core_vmalloc(struct mmlab_core* core, size_t size, mmlab_gfp_t gfp,
                         uintptr_t caller) {
  if (!MMLAB_ASSERT(core))
    return nullptr;
  return mmlab::Vmalloc(*Core::From(core), size, gfp, caller, nullptr);
}

void mmlab_core_vfree(struct mmlab_core* core, const void* addr, uintptr_t caller) {
  if (!MMLAB_ASSERT(core))
    return;
  mmlab::Vfree(*Core::From(core), addr, caller, nullptr);
}

int mmlab_core_is_vmalloc_addr(struct mmlab_core* core, const void* addr) {
  if (!MMLAB_ASSERT(core))
    return 0;
  mmlab::VmallocSpace& vm = Core::From(core)->vmalloc();
  mmlab::IrqSaveGuard guard(vm.lock);
  return mmlab::FindAreaLocked(vm, reinterpret_cast<uintptr_t>(addr), false) != nullptr;
}

struct mmlab_page* mmlab_core_vmalloc_to_page(struct mmlab_core* core, const void* addr) {
  if (!MMLAB_ASSERT(core))
    return nullptr;
  mmlab::VmallocSpace& vm = Core::From(core)->vmalloc();
  mmlab::IrqSaveGuard guard(vm.lock);
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  mmlab::VmArea* area = mmlab::FindAreaLocked(vm, a, false);
  if (!area)
    return nullptr;
  return reinterpret_cast<mmlab_page*>(area->pages[(a - area->addr) >> MMLAB_PAGE_SHIFT]);
}

void* mmlab_core_kvmalloc(struct mmlab_core* core, size_t size, mmlab_gfp_t gfp,
                          uintptr_t caller) {
  if (!MMLAB_ASSERT(core))
    return nullptr;
  Core& c = *Core::From(core);
  mmlab::VmallocSpace& vm = c.vmalloc();
  mmlab_gfp_t kmalloc_gfp = gfp;
  if (size > MMLAB_PAGE_SIZE) {
    // Linux kvmalloc_node: do not let a large kmalloc try hard or warn;
    // vmalloc is the fallback.
    kmalloc_gfp |= MMLAB___GFP_NOWARN;
    if (!(kmalloc_gfp & MMLAB___GFP_RETRY_MAYFAIL))
      kmalloc_gfp |= MMLAB___GFP_NORETRY;
    kmalloc_gfp &= ~MMLAB___GFP_NOFAIL;
  }
  void* p = mmlab_core_kmalloc(core, size, kmalloc_gfp, caller);
  if (p) {
    mmlab::AtomicAdd(vm.kvmalloc_kmalloc, uint64_t{1});
    return p;
  }
  // Not for sub-page sizes, and non-sleeping allocations are not supported
  // by vmalloc (Linux 6.1: gfpflags_allow_blocking); nor are crazy sizes.
  if (size <= MMLAB_PAGE_SIZE || !(gfp & MMLAB___GFP_DIRECT_RECLAIM))
    return nullptr;
  if (size > 0x7fffffffu) {
    if (!(gfp & MMLAB___GFP_NOWARN))
      mmlab::Report(nullptr, MMLAB_LOG_WARN, "kvmalloc: %zu bytes is more than INT_MAX", size);
    return nullptr;
  }
  p = mmlab::Vmalloc(c, size, gfp, caller, nullptr);
  if (p)
    mmlab::AtomicAdd(vm.kvmalloc_vmalloc, uint64_t{1});
  return p;
}

void* mmlab_core_kvmalloc_array(struct mmlab_core* core, size_t n, size_t size, mmlab_gfp_t gfp,
                                uintptr_t caller) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    mmlab::Report(nullptr, MMLAB_LOG_WARN, "kvmalloc_array: %zu * %zu bytes overflows", n, size);
    return nullptr;
  }
  return mmlab_core_kvmalloc(core, bytes, gfp, caller);
}

void mmlab_core_kvfree(struct mmlab_core* core, const void* p, uintptr_t caller) {
  if (!MMLAB_ASSERT(core) || !p)
    return;
  if (mmlab_core_is_vmalloc_addr(core, p))
    mmlab_core_vfree(core, p, caller);
  else
    mmlab_core_kfree(core, p, caller);
}

}  // extern "C"
