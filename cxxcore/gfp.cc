// SPDX-License-Identifier: GPL-2.0
//
// gfp.cc - the GFP name table (include/trace/events/mmflags.h order).
#include "gfp.h"

#include "format.h"

namespace mmlab {

namespace {

#define MMLAB_GFP_NAME(flag) {#flag, MMLAB_##flag}

// Composite masks come before the bits they contain, so decoding prints
// "GFP_KERNEL|__GFP_ZERO" rather than five single bits.
constexpr GfpName kGfpNames[] = {
    MMLAB_GFP_NAME(GFP_USER),
    {"GFP_KERNEL_ACCOUNT", MMLAB_GFP_KERNEL | MMLAB___GFP_ACCOUNT},
    MMLAB_GFP_NAME(GFP_KERNEL),
    MMLAB_GFP_NAME(GFP_NOFS),
    MMLAB_GFP_NAME(GFP_ATOMIC),
    MMLAB_GFP_NAME(GFP_NOIO),
    MMLAB_GFP_NAME(GFP_NOWAIT),
    MMLAB_GFP_NAME(GFP_DMA32),
    MMLAB_GFP_NAME(__GFP_HIGH),
    MMLAB_GFP_NAME(__GFP_IO),
    MMLAB_GFP_NAME(__GFP_FS),
    MMLAB_GFP_NAME(__GFP_ZERO),
    MMLAB_GFP_NAME(__GFP_NOWARN),
    MMLAB_GFP_NAME(__GFP_RETRY_MAYFAIL),
    MMLAB_GFP_NAME(__GFP_NOFAIL),
    MMLAB_GFP_NAME(__GFP_NORETRY),
    MMLAB_GFP_NAME(__GFP_MEMALLOC),
    MMLAB_GFP_NAME(__GFP_NOMEMALLOC),
    MMLAB_GFP_NAME(__GFP_HARDWALL),
    MMLAB_GFP_NAME(__GFP_COMP),
    MMLAB_GFP_NAME(__GFP_ACCOUNT),
    MMLAB_GFP_NAME(__GFP_RECLAIM),
    MMLAB_GFP_NAME(__GFP_DIRECT_RECLAIM),
    MMLAB_GFP_NAME(__GFP_KSWAPD_RECLAIM),
    MMLAB_GFP_NAME(__GFP_DMA32),
};

#undef MMLAB_GFP_NAME

constexpr bool CoversEveryBit() {
  mmlab_gfp_t all = 0;
  for (const GfpName& n : kGfpNames)
    all |= n.mask;
  return all == MMLAB___GFP_ALL;
}
static_assert(CoversEveryBit(), "every gfp bit needs a name");

bool SameName(const char* name, const char* s, size_t len) {
  size_t i = 0;
  for (; i < len; i++) {
    if (name[i] == '\0' || name[i] != s[i])
      return false;
  }
  return name[i] == '\0';
}

}  // namespace

const GfpName* GfpNames(size_t* count) {
  *count = ArraySize(kGfpNames);
  return kGfpNames;
}

bool GfpLookup(const char* s, size_t len, mmlab_gfp_t* mask) {
  for (const GfpName& n : kGfpNames) {
    if (SameName(n.name, s, len)) {
      *mask = n.mask;
      return true;
    }
  }
  return false;
}

bool GfpParse(const char* s, size_t len, mmlab_gfp_t* out, const char** bad, size_t* bad_len) {
  mmlab_gfp_t gfp = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && s[i] != '|')
      continue;
    mmlab_gfp_t mask;
    if (!GfpLookup(s + start, i - start, &mask)) {
      *bad = s + start;
      *bad_len = i - start;
      return false;
    }
    gfp |= mask;
    start = i + 1;
  }
  *out = gfp;
  return true;
}

const char* GfpBitName(uint32_t bit) {
  // The __GFP_ name of a bit, even where a composite (GFP_DMA32) equals it.
  for (const GfpName& n : kGfpNames) {
    if (bit < 32 && n.mask == (1u << bit) && n.name[0] == '_')
      return n.name;
  }
  return "?";
}

size_t GfpDecode(mmlab_gfp_t gfp, char* buf, size_t cap) {
  TextBuf text(buf, cap);
  if (gfp == 0) {
    text.Append("0");
    return text.len();
  }
  mmlab_gfp_t left = gfp;
  for (const GfpName& n : kGfpNames) {
    if ((left & n.mask) != n.mask)
      continue;
    text.Append("%s%s", text.empty() ? "" : "|", n.name);
    left &= ~n.mask;
  }
  if (left)
    text.Append("%s0x%x", text.empty() ? "" : "|", left);
  return text.len();
}

}  // namespace mmlab
