// SPDX-License-Identifier: GPL-2.0
//
// gfp_test.cc - GFP names: parsing and decoding, as Linux names them.
#include <gtest/gtest.h>

#include <string>

#include "gfp.h"

namespace mmlab {
namespace {

mmlab_gfp_t Parse(const std::string& s, bool* ok = nullptr, std::string* bad = nullptr) {
  mmlab_gfp_t gfp = 0xdeadbeef;
  const char* b = nullptr;
  size_t n = 0;
  bool r = GfpParse(s.data(), s.size(), &gfp, &b, &n);
  if (ok)
    *ok = r;
  if (bad && !r)
    *bad = std::string(b, n);
  return gfp;
}

std::string Decode(mmlab_gfp_t gfp) {
  char buf[kGfpTextMax];
  size_t n = GfpDecode(gfp, buf, sizeof(buf));
  EXPECT_EQ(n, strlen(buf));
  return buf;
}

TEST(Gfp, CompositeNamesHaveLinuxMeanings) {
  EXPECT_EQ(Parse("GFP_KERNEL"),
            MMLAB___GFP_DIRECT_RECLAIM | MMLAB___GFP_KSWAPD_RECLAIM | MMLAB___GFP_IO | MMLAB___GFP_FS);
  EXPECT_EQ(Parse("GFP_ATOMIC"), MMLAB___GFP_HIGH | MMLAB___GFP_KSWAPD_RECLAIM);
  EXPECT_EQ(Parse("GFP_NOWAIT"), MMLAB___GFP_KSWAPD_RECLAIM);
  EXPECT_EQ(Parse("GFP_NOIO"), MMLAB___GFP_RECLAIM);
  EXPECT_EQ(Parse("GFP_NOFS"), MMLAB___GFP_RECLAIM | MMLAB___GFP_IO);
  EXPECT_EQ(Parse("GFP_USER"), MMLAB_GFP_KERNEL | MMLAB___GFP_HARDWALL);
  EXPECT_EQ(Parse("GFP_DMA32"), MMLAB___GFP_DMA32);
}

TEST(Gfp, NamesJoinWithBars) {
  EXPECT_EQ(Parse("GFP_KERNEL|__GFP_ZERO|__GFP_NOWARN"),
            MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO | MMLAB___GFP_NOWARN);
  EXPECT_EQ(Parse("__GFP_HIGH|__GFP_HIGH"), MMLAB___GFP_HIGH);
}

TEST(Gfp, EverySingleBitHasAName) {
  for (uint32_t bit = 0; bit < MMLAB___GFP_BITS; bit++) {
    std::string name = Decode(1u << bit);
    EXPECT_EQ(name.find("0x"), std::string::npos) << "bit " << bit;
    EXPECT_EQ(Parse(name), 1u << bit) << name;
  }
}

TEST(Gfp, BadNamesAreRejectedAndNamed) {
  bool ok = true;
  std::string bad;
  Parse("GFP_KERNEL|GFP_BOGUS", &ok, &bad);
  EXPECT_FALSE(ok);
  EXPECT_EQ(bad, "GFP_BOGUS");
  Parse("gfp_kernel", &ok, &bad);
  EXPECT_FALSE(ok) << "names are case sensitive, as in C";
  Parse("GFP_KERNEL|", &ok, &bad);
  EXPECT_FALSE(ok);
  EXPECT_EQ(bad, "");
  Parse("", &ok);
  EXPECT_FALSE(ok);
  Parse("GFP_KERNELX", &ok, &bad);
  EXPECT_FALSE(ok);
  Parse("GFP_KERNE", &ok, &bad);
  EXPECT_FALSE(ok);
  Parse(std::string("GFP_KERNEL\0X", 12), &ok, &bad);
  EXPECT_FALSE(ok) << "an embedded NUL does not end the name";
}

TEST(Gfp, DecodePrefersCompositeNamesLikePercentPGg) {
  EXPECT_EQ(Decode(MMLAB_GFP_KERNEL), "GFP_KERNEL");
  EXPECT_EQ(Decode(MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO), "GFP_KERNEL|__GFP_ZERO");
  EXPECT_EQ(Decode(MMLAB_GFP_ATOMIC | MMLAB___GFP_NOWARN), "GFP_ATOMIC|__GFP_NOWARN");
  EXPECT_EQ(Decode(MMLAB_GFP_USER), "GFP_USER");
  EXPECT_EQ(Decode(MMLAB___GFP_DIRECT_RECLAIM), "__GFP_DIRECT_RECLAIM");
  EXPECT_EQ(Decode(0), "0");
  EXPECT_EQ(Decode(MMLAB___GFP_ZERO | (1u << 20)), "__GFP_ZERO|0x100000");
}

TEST(Gfp, DecodeOfEveryBitFitsAndIsCutSafely) {
  std::string all = Decode(0xffffffffu);
  EXPECT_LT(all.size(), kGfpTextMax);
  EXPECT_NE(all.find("|0xffff0000"), std::string::npos) << all;
  char small[8];
  EXPECT_EQ(GfpDecode(MMLAB_GFP_KERNEL, small, sizeof(small)), 7u);
  EXPECT_STREQ(small, "GFP_KER");
}

}  // namespace
}  // namespace mmlab
