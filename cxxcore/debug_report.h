// SPDX-License-Identifier: GPL-2.0
//
// debug_report.h - the report writer shared by slab and page debugging,
// in the shape of Linux's SLUB reports (mm/slub.c: slab_bug, slab_fix,
// print_section) so that a reader who knows those knows these:
//
//   =============================================================================
//   BUG kmalloc-64 (mmlab): Poison overwritten
//   -----------------------------------------------------------------------------
//   0x00000000d0f1e2a3-0x00000000d0f1e2a3 @offset=1600. First byte 0x0 instead of 0x6b
//   Allocated in ... age=12 cpu=0 pid=301
//   Slab 0x... objects=21 used=3 fp=0x... flags=slab
//   Object 0x... @offset=1600 fp=0x...
//   Redzone  00000000...: bb bb bb bb bb bb bb bb                          ........
//   Object   00000000...: 00 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b  .kkkkkkkkkkkkkkk
//   ...
//   FIX kmalloc-64: Restoring Poison 0x...-0x...=0x6b
//
// Lines go to the host log one by one at error level and are never rate
// limited by the host (a report cut in the middle is worse than none);
// instead whole reports are limited here: ReportBegin() admits at most
// kDebugReportBurst reports per kDebugReportIntervalNs and counts the rest,
// and the first report after a suppressed stretch says how many were
// dropped. "BUG" is followed by the cache name, never by a colon (log.h).
// Addresses are printed hashed (mmlab_host_format_ptr, %p) and call sites
// as symbols (mmlab_host_format_symbol, %pS), never raw.
#ifndef MMLAB_CXXCORE_DEBUG_REPORT_H
#define MMLAB_CXXCORE_DEBUG_REPORT_H

#include "base.h"
#include "format.h"

namespace mmlab {

constexpr uint32_t kDebugReportBurst = 10;
constexpr uint64_t kDebugReportIntervalNs = 5000000000ull;

// Linux's include/linux/poison.h.
constexpr uint8_t kPoisonInuse = 0x5a;      // POISON_INUSE: padding
constexpr uint8_t kPoisonFree = 0x6b;       // POISON_FREE: a free object
constexpr uint8_t kPoisonEnd = 0xa5;        // POISON_END: its last byte
constexpr uint8_t kRedInactive = 0xbb;      // SLUB_RED_INACTIVE
constexpr uint8_t kRedActive = 0xcc;        // SLUB_RED_ACTIVE
constexpr uint8_t kPagePoison = 0xaa;       // PAGE_POISON

// Whether a report may be printed now (false: counted as suppressed).
bool DebugReportBegin();
// Reports suppressed since the core was created.
uint64_t DebugReportsSuppressed();
// Forgets the rate-limit window (host tests run many reports in a row).
void DebugReportResetLimit();
// The window and the count of suppressed reports (a new core).
void DebugReportResetAll();

// slab_bug(): the '=' line, "BUG <what> (mmlab): <reason>", the '-' line.
void DebugBug(const char* what, const char* fmt, ...) MMLAB_PRINTF(2, 3);
// slab_fix(): "FIX <what>: <action>".
void DebugFix(const char* what, const char* fmt, ...) MMLAB_PRINTF(2, 3);
// One plain line of a report.
void DebugLine(const char* fmt, ...) MMLAB_PRINTF(1, 2);
// print_section(): print_hex_dump(KERN_ERR, prefix, DUMP_PREFIX_ADDRESS,
// 16, 1, addr, len, 1), at most max_len bytes.
void DebugHexDump(const char* prefix, const void* addr, size_t len);

// Hashed "0x%p" / "%pS" of things, for the reports.
struct PtrText {
  char buf[24];
  explicit PtrText(const void* p);
};
struct SymText {
  char buf[96];
  explicit SymText(uintptr_t addr);
};

// Byte helpers that work on memory KASAN may watch: plain loads and
// volatile stores, which neither trip KASAN in the uninstrumented core nor
// become memset/memchr calls (which the kernel would check).
// Index of the first byte in p[0..n) that is not v, or n.
size_t FirstMismatch(const void* p, uint8_t v, size_t n);
// Index of the last byte that is not v, plus one (0 when all are v).
size_t LastMismatchEnd(const void* p, uint8_t v, size_t n);
void FillBytes(void* p, uint8_t v, size_t n);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_DEBUG_REPORT_H
