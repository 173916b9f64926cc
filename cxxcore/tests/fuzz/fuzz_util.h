// SPDX-License-Identifier: GPL-2.0
//
// fuzz_util.h - what the libFuzzer targets share: a fresh core per input
// on the simulated host, the checks every input ends with, and the one
// kind of command a fuzzer must not run.
//
// Every input starts from sim::Reset() and a new core, and ends with the
// invariant checker, mmlab_core_destroy() returning every page, and the
// simulated host getting back every chunk, metadata byte, lock and vmap.
// A failed check prints why and abort()s, which libFuzzer records as a
// crash with the input that caused it.
#ifndef MMLAB_TESTS_FUZZ_FUZZ_UTIL_H
#define MMLAB_TESTS_FUZZ_FUZZ_UTIL_H

#include <cctype>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../host_sim.h"
#include "gfp.h"
#include "mmlab/core.h"

namespace mmlab_fuzz {

[[noreturn]] inline void Fail(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  fprintf(stderr, "mmlab fuzz check failed: ");
  vfprintf(stderr, fmt, args);
  fprintf(stderr, "\n--- core log ---\n%s\n", sim::LogText().c_str());
  va_end(args);
  abort();
}

#define FUZZ_CHECK(cond, ...)            \
  do {                                   \
    if (!(cond))                         \
      ::mmlab_fuzz::Fail(__VA_ARGS__);   \
  } while (0)

inline std::string RenderView(mmlab_core* core, mmlab_view view) {
  std::string out;
  mmlab_emit_fn emit = [](void* ctx, const char* s, size_t len) {
    static_cast<std::string*>(ctx)->append(s, len);
  };
  FUZZ_CHECK(mmlab_core_render(core, view, emit, &out) == MMLAB_OK, "render of view %d failed",
             view);
  return out;
}

// The pointer rule (docs/fuzzing.md): no text the core shows a user may
// hold an address. On the simulated host every lent page lives at an
// address the simulation knows, so every long number in the text is looked
// up: 0x-hex or bare hex of 8 digits and more, decimal of 12 and more (a
// %lu of an address above 4 GiB; read as hex too, for a %lx without
// letters). One inside a lent chunk is a raw pointer. pfns are vaddr >> 12
// here and so never land in one; short counters are not looked at, so a
// count cannot happen to match a DMA32 chunk's address.
inline void CheckNoPointers(const std::string& text, const char* what) {
  const char* s = text.c_str();
  for (size_t i = 0; s[i];) {
    if (!isxdigit(static_cast<unsigned char>(s[i]))) {
      i++;
      continue;
    }
    size_t start = i;
    bool prefixed = false;
    if (s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
      prefixed = true;
      i += 2;
    }
    size_t digits = i;
    bool hex_letters = false;
    while (isxdigit(static_cast<unsigned char>(s[i]))) {
      hex_letters |= !isdigit(static_cast<unsigned char>(s[i]));
      i++;
    }
    if (start > 0 && (isalnum(static_cast<unsigned char>(s[start - 1])) || s[start - 1] == '_'))
      continue;  // the tail of a word (a name), not a number
    size_t n = i - digits;
    std::string word(s + digits, n);
    uint64_t values[2];
    int nvalues = 0;
    if ((prefixed || hex_letters) && n >= 8 && n <= 16)
      values[nvalues++] = strtoull(word.c_str(), nullptr, 16);
    if (!prefixed && !hex_letters && n >= 12 && n <= 20) {
      values[nvalues++] = strtoull(word.c_str(), nullptr, 10);
      if (n <= 16)
        values[nvalues++] = strtoull(word.c_str(), nullptr, 16);
    }
    for (int k = 0; k < nvalues; k++)
      FUZZ_CHECK(!sim::IsLentAddress(reinterpret_cast<const void*>(values[k])),
                 "%s shows a raw pointer '%.*s':\n%s", what, static_cast<int>(i - start),
                 s + start, s);
  }
}

inline void CheckAllViews(mmlab_core* core) {
  for (int v = 0; v < MMLAB_VIEW_NR; v++)
    CheckNoPointers(RenderView(core, static_cast<mmlab_view>(v)), "a view");
}

// Destroys the core and checks that everything went back. The core frees
// what the control interface still holds by itself at destroy.
inline void Teardown(mmlab_core* core) {
  FUZZ_CHECK(mmlab_core_check(core) == MMLAB_OK, "the invariant checker failed");
  uint64_t leaked = mmlab_core_destroy(core);
  FUZZ_CHECK(leaked == 0, "destroy could not return %lu pages",
             static_cast<unsigned long>(leaked));
  FUZZ_CHECK(sim::ChunksOutstanding() == 0, "%lu chunks not returned to the host",
             static_cast<unsigned long>(sim::ChunksOutstanding()));
  FUZZ_CHECK(sim::MetaBytesOutstanding() == 0, "%lu metadata bytes not freed",
             static_cast<unsigned long>(sim::MetaBytesOutstanding()));
  FUZZ_CHECK(sim::LocksOutstanding() == 0, "%lu locks not destroyed",
             static_cast<unsigned long>(sim::LocksOutstanding()));
  FUZZ_CHECK(sim::VmapsOutstanding() == 0, "%lu vmaps not undone",
             static_cast<unsigned long>(sim::VmapsOutstanding()));
}

// Commands that block by design until another task frees memory, which a
// single-threaded fuzzer never does: __GFP_NOFAIL with direct reclaim on
// an exhausted core, and a sleeping mempool_alloc on an empty reserve
// (both as in Linux). Only those are kept from the core; everything else,
// however malformed, runs.
inline bool MayBlockForever(const char* cmd, size_t len) {
  size_t i = 0;
  bool first = true, mempool_alloc = false, gfp_seen = false, sleeps = false;
  while (i < len) {
    if (cmd[i] == ' ') {
      i++;
      continue;
    }
    size_t start = i;
    while (i < len && cmd[i] != ' ')
      i++;
    const char* w = cmd + start;
    size_t n = i - start;
    if (n && w[n - 1] == '\n')
      n--;
    if (first)
      mempool_alloc = n == 13 && !memcmp(w, "mempool_alloc", 13);
    first = false;
    if (n >= 4 && !memcmp(w, "gfp=", 4)) {
      gfp_seen = true;
      mmlab_gfp_t gfp = 0;
      const char* bad;
      size_t bad_len;
      if (mmlab::GfpParse(w + 4, n - 4, &gfp, &bad, &bad_len)) {
        if ((gfp & MMLAB___GFP_NOFAIL) && (gfp & MMLAB___GFP_DIRECT_RECLAIM))
          return true;
        sleeps |= (gfp & MMLAB___GFP_DIRECT_RECLAIM) != 0;
      }
    }
  }
  return mempool_alloc && (sleeps || !gfp_seen);
}

}  // namespace mmlab_fuzz

#endif  // MMLAB_TESTS_FUZZ_FUZZ_UTIL_H
