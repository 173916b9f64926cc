// SPDX-License-Identifier: GPL-2.0
//
// sim_kasan.h - force-included into the core's host build (CMakeLists.txt):
// the core's memset/memcpy calls go through the simulated KASAN shadow
// (host_sim.cc), as the kernel's calls go to KASAN's checked memset and
// memcpy (mm/kasan/shadow.c). Constant sizes up to 16 bytes stay plain
// loads and stores, which the kernel's compiler inlines and KASAN does not
// see in the (uninstrumented) core - the free pointer's accessors, say.
#ifndef MMLAB_TESTS_SIM_KASAN_H
#define MMLAB_TESTS_SIM_KASAN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif
void* mmlab_sim_kasan_memset(void* dst, int c, size_t n);
void* mmlab_sim_kasan_memcpy(void* dst, const void* src, size_t n);
#ifdef __cplusplus
}
#endif

// Inside its own expansion a macro's name is not expanded again, so the
// first branch is the compiler's builtin.
#define __builtin_memset(d, c, n)                                          \
  (__builtin_constant_p(n) && (n) <= 16 ? __builtin_memset((d), (c), (n)) \
                                        : mmlab_sim_kasan_memset((d), (c), (n)))
#define __builtin_memcpy(d, s, n)                                          \
  (__builtin_constant_p(n) && (n) <= 16 ? __builtin_memcpy((d), (s), (n)) \
                                        : mmlab_sim_kasan_memcpy((d), (s), (n)))

#endif  // MMLAB_TESTS_SIM_KASAN_H
