// SPDX-License-Identifier: GPL-2.0
//
// runtime.cc - the little C++ runtime the kernel build needs, and nothing more.
//
// Kernel-only: the host tests use libstdc++'s. The core allocates its objects
// with mmlab_host_meta_alloc and placement new; these definitions exist so
// that a stray heap new or a pure virtual call links (modpost would otherwise
// reject the module for an undefined symbol) and then fails loudly, not
// silently. Unsized delete traps: every deallocation in a kernel knows its
// size (SerenityOS does the same).

#include "mmlab/host.h"

void* operator new(size_t size) { return mmlab_host_meta_alloc(size, 1); }
void* operator new[](size_t size) { return mmlab_host_meta_alloc(size, 1); }
void operator delete(void* p, size_t size) noexcept { mmlab_host_meta_free(p, size); }
void operator delete[](void* p, size_t size) noexcept { mmlab_host_meta_free(p, size); }

void operator delete(void*) noexcept {
  mmlab_host_assert_fail("unsized operator delete", __FILE__, __LINE__);
  __builtin_trap();
}
void operator delete[](void*) noexcept {
  mmlab_host_assert_fail("unsized operator delete[]", __FILE__, __LINE__);
  __builtin_trap();
}

extern "C" void __cxa_pure_virtual();
extern "C" void __cxa_pure_virtual() {
  mmlab_host_assert_fail("pure virtual function called", __FILE__, __LINE__);
  __builtin_trap();
}
