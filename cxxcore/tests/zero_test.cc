// SPDX-License-Identifier: GPL-2.0
//
// zero_test.cc - __GFP_ZERO and get_zeroed_page.
#include <algorithm>

#include "test_util.h"

namespace mmlab_test {
namespace {

using Zeroing = CoreTest;

bool AllBytesAre(const unsigned char* p, size_t n, unsigned char v) {
  return std::all_of(p, p + n, [v](unsigned char b) { return b == v; });
}

TEST_F(Zeroing, GfpZeroClearsEveryPageOfADirtyBlock) {
  NewCore(4);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 2);
  ASSERT_NE(p, nullptr);
  memset(Addr(p), 0xff, 4 * 4096);
  ASSERT_EQ(mmlab_core___free_pages(core_, p, 2), MMLAB_OK);
  mmlab_page* q = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO, 2);
  ASSERT_EQ(q, p) << "the freed block is reused first (LIFO free lists)";
  EXPECT_TRUE(AllBytesAre(Addr(q), 4 * 4096, 0));
  mmlab_core___free_pages(core_, q, 2);
}

TEST_F(Zeroing, WithoutGfpZeroTheOldContentsStay) {
  NewCore(4);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  memset(Addr(p), 0x77, 4096);
  mmlab_core___free_pages(core_, p, 0);
  mmlab_page* q = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_EQ(q, p);
  EXPECT_TRUE(AllBytesAre(Addr(q), 4096, 0x77)) << "zeroing costs time; only asked-for";
  mmlab_core___free_pages(core_, q, 0);
}

TEST_F(Zeroing, GetZeroedPageReturnsAZeroedPageEvenAfterReuse) {
  NewCore(4);
  uintptr_t a = mmlab_core___get_free_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(a, 0u);
  memset(reinterpret_cast<void*>(a), 0xee, 4096);
  ASSERT_EQ(mmlab_core_free_pages(core_, a, 0), MMLAB_OK);
  uintptr_t z = mmlab_core_get_zeroed_page(core_, MMLAB_GFP_KERNEL);
  ASSERT_EQ(z, a);
  EXPECT_TRUE(AllBytesAre(reinterpret_cast<unsigned char*>(z), 4096, 0));
  EXPECT_EQ(mmlab_core_free_pages(core_, z, 0), MMLAB_OK);
}

TEST_F(Zeroing, FreshChunksAreZeroedWhenAskedToo) {
  NewCore(4);
  // The simulated host fills every chunk it lends with 0xa5.
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC | MMLAB___GFP_ZERO, 4);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(AllBytesAre(Addr(p), 16 * 4096, 0));
  mmlab_core___free_pages(core_, p, 4);
}

TEST_F(Zeroing, ControlAllocHonoursGfpZero) {
  NewCore(4);
  std::string r;
  ASSERT_EQ(Control("alloc order=1", &r), MMLAB_OK);
  unsigned long pfn = std::stoul(r.substr(r.find("pfn 0x") + 6), nullptr, 16);
  unsigned char* addr = reinterpret_cast<unsigned char*>(pfn << 12);  // the sim's pfn
  memset(addr, 0x11, 2 * 4096);
  ASSERT_EQ(Control("free 1"), MMLAB_OK);
  ASSERT_EQ(Control("alloc order=1 gfp=GFP_KERNEL|__GFP_ZERO", &r), MMLAB_OK);
  EXPECT_EQ(std::stoul(r.substr(r.find("pfn 0x") + 6), nullptr, 16), pfn);
  EXPECT_TRUE(AllBytesAre(addr, 2 * 4096, 0));
  ASSERT_EQ(Control("free_all"), MMLAB_OK);
}

}  // namespace
}  // namespace mmlab_test
