// SPDX-License-Identifier: GPL-2.0
//
// gfp.h - GFP flag names: parsing "GFP_KERNEL|__GFP_ZERO" and decoding a
// mask back into names the way Linux prints %pGg in allocation failure
// reports (composite masks first, then single bits, then leftover bits in
// hex).
#ifndef MMLAB_CXXCORE_GFP_H
#define MMLAB_CXXCORE_GFP_H

#include "base.h"
#include "mmlab/core.h"

namespace mmlab {

// Room for the longest decoded mask (every bit set), NUL included.
constexpr size_t kGfpTextMax = 192;

struct GfpName {
  const char* name;
  mmlab_gfp_t mask;
};

// Every name the parser accepts, in the order the decoder tries them.
const GfpName* GfpNames(size_t* count);

// Looks up one name given as s[0..len). False if unknown.
bool GfpLookup(const char* s, size_t len, mmlab_gfp_t* mask);

// Parses names joined by '|' (no spaces). On failure returns false and
// points *bad / *bad_len at the offending name (empty for "A||B").
bool GfpParse(const char* s, size_t len, mmlab_gfp_t* out, const char** bad, size_t* bad_len);

// Linux's name of the single bit `bit` (e.g. "__GFP_HIGH"), or "?".
const char* GfpBitName(uint32_t bit);

// Writes the names of gfp into buf ("0" for an empty mask) and returns the
// length written (cut to fit cap - 1).
size_t GfpDecode(mmlab_gfp_t gfp, char* buf, size_t cap);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_GFP_H
