// SPDX-License-Identifier: GPL-2.0
//
// debug_report.cc - SLUB-shaped reports (see debug_report.h).
#include "debug_report.h"

#include "log.h"

namespace mmlab {

namespace {

// One window for the whole module, as Linux's ratelimit states are per
// call site and global. Updated with atomics: reports come from any CPU.
uint64_t g_window_start_ns = 0;
uint32_t g_window_count = 0;
uint64_t g_suppressed_total = 0;
uint64_t g_suppressed_window = 0;

constexpr char kEquals[] =
    "=============================================================================";
constexpr char kDashes[] =
    "-----------------------------------------------------------------------------";

void VLine(const char* fmt, __builtin_va_list args) { VLog(MMLAB_LOG_ERR, fmt, args); }

}  // namespace

PtrText::PtrText(const void* p) { mmlab_host_format_ptr(p, buf, sizeof(buf)); }

SymText::SymText(uintptr_t addr) { mmlab_host_format_symbol(addr, buf, sizeof(buf)); }

bool DebugReportBegin() {
  const uint64_t now = mmlab_host_now_ns();
  uint64_t start = __atomic_load_n(&g_window_start_ns, __ATOMIC_RELAXED);
  if (now - start >= kDebugReportIntervalNs &&
      __atomic_compare_exchange_n(&g_window_start_ns, &start, now, false, __ATOMIC_RELAXED,
                                  __ATOMIC_RELAXED)) {
    __atomic_store_n(&g_window_count, 0u, __ATOMIC_RELAXED);
    uint64_t dropped = __atomic_exchange_n(&g_suppressed_window, uint64_t{0}, __ATOMIC_RELAXED);
    if (dropped)
      Log(MMLAB_LOG_ERR, "slab_debug: %lu reports suppressed", dropped);
  }
  if (__atomic_add_fetch(&g_window_count, 1u, __ATOMIC_RELAXED) <= kDebugReportBurst)
    return true;
  __atomic_add_fetch(&g_suppressed_total, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&g_suppressed_window, 1, __ATOMIC_RELAXED);
  return false;
}

uint64_t DebugReportsSuppressed() { return __atomic_load_n(&g_suppressed_total, __ATOMIC_RELAXED); }

void DebugReportResetLimit() {
  __atomic_store_n(&g_window_count, 0u, __ATOMIC_RELAXED);
  __atomic_store_n(&g_window_start_ns, mmlab_host_now_ns(), __ATOMIC_RELAXED);
  __atomic_store_n(&g_suppressed_window, uint64_t{0}, __ATOMIC_RELAXED);
}

void DebugReportResetAll() {
  DebugReportResetLimit();
  __atomic_store_n(&g_suppressed_total, uint64_t{0}, __ATOMIC_RELAXED);
}

void DebugBug(const char* what, const char* fmt, ...) {
  char reason[kLogLineMax];
  TextBuf text(reason, sizeof(reason));
  __builtin_va_list args;
  __builtin_va_start(args, fmt);
  text.VAppend(fmt, args);
  __builtin_va_end(args);
  Log(MMLAB_LOG_ERR, "%s", kEquals);
  Log(MMLAB_LOG_ERR, "BUG %s (mmlab): %s", what, text.c_str());
  Log(MMLAB_LOG_ERR, "%s", kDashes);
}

void DebugFix(const char* what, const char* fmt, ...) {
  char action[kLogLineMax];
  TextBuf text(action, sizeof(action));
  __builtin_va_list args;
  __builtin_va_start(args, fmt);
  text.VAppend(fmt, args);
  __builtin_va_end(args);
  Log(MMLAB_LOG_ERR, "FIX %s: %s", what, text.c_str());
}

void DebugLine(const char* fmt, ...) {
  __builtin_va_list args;
  __builtin_va_start(args, fmt);
  VLine(fmt, args);
  __builtin_va_end(args);
}

void DebugHexDump(const char* prefix, const void* addr, size_t len) {
  const volatile uint8_t* p = static_cast<const volatile uint8_t*>(addr);
  static const char kHex[] = "0123456789abcdef";
  for (size_t off = 0; off < len; off += 16) {
    const size_t n = Min(len - off, size_t{16});
    // hex_dump_to_buffer(): "xx xx ...", the ASCII column at 16 * 3 + 1.
    char row[16 * 3 + 2 + 16 + 1];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      const uint8_t b = p[off + i];
      if (i)
        row[k++] = ' ';
      row[k++] = kHex[b >> 4];
      row[k++] = kHex[b & 15];
    }
    while (k < 16 * 3 + 1)
      row[k++] = ' ';
    for (size_t i = 0; i < n; i++) {
      const uint8_t b = p[off + i];
      row[k++] = b >= 0x20 && b < 0x7f ? static_cast<char>(b) : '.';
    }
    row[k] = '\0';
    char where[24];
    mmlab_host_format_ptr(static_cast<const char*>(addr) + off, where, sizeof(where));
    Log(MMLAB_LOG_ERR, "%s%s: %s", prefix, where, row);
  }
}

size_t FirstMismatch(const void* p, uint8_t v, size_t n) {
  const volatile uint8_t* b = static_cast<const volatile uint8_t*>(p);
  for (size_t i = 0; i < n; i++)
    if (b[i] != v)
      return i;
  return n;
}

size_t LastMismatchEnd(const void* p, uint8_t v, size_t n) {
  const volatile uint8_t* b = static_cast<const volatile uint8_t*>(p);
  while (n && b[n - 1] == v)
    n--;
  return n;
}

void FillBytes(void* p, uint8_t v, size_t n) {
  volatile uint8_t* b = static_cast<volatile uint8_t*>(p);
  for (size_t i = 0; i < n; i++)
    b[i] = v;
}

}  // namespace mmlab
