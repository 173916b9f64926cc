/* SPDX-License-Identifier: GPL-2.0 */
/*
 * abi_types.h - fixed-width types shared by the C shim and the C++ core.
 *
 * The C shim has them from <linux/types.h>, which every module/ file
 * includes (through other kernel headers) before any mmlab header; nothing
 * under cxxcore/ names a kernel header. The C++ core is built with -nostdinc
 * (the kernel's flags) and therefore has no <stdint.h>; it takes the
 * compiler's predefined type macros, which name exactly the same types as
 * glibc's typedefs, so the host test build may include both.
 */
#ifndef MMLAB_ABI_TYPES_H
#define MMLAB_ABI_TYPES_H

#if defined(__KERNEL__) && !defined(__cplusplus)
#ifndef _LINUX_TYPES_H
#error "module/: include <linux/types.h> before the mmlab headers"
#endif
#else
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __INT32_TYPE__ int32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINTPTR_TYPE__ uintptr_t;
typedef __SIZE_TYPE__ size_t;
#if !defined(__cplusplus)
typedef _Bool bool;
#endif
#endif

#endif /* MMLAB_ABI_TYPES_H */
