// SPDX-License-Identifier: GPL-2.0
//
// api_test.cc - page_address, page_to_pfn, virt_to_page, __get_free_pages
// and free_pages agree with each other as in Linux.
#include "test_util.h"

namespace mmlab_test {
namespace {

using PageApi = CoreTest;

TEST_F(PageApi, AddressPfnAndDescriptorAreOneMapping) {
  NewCore(4);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 3);
  ASSERT_NE(p, nullptr);
  uintptr_t addr = reinterpret_cast<uintptr_t>(mmlab_core_page_address(core_, p));
  EXPECT_EQ(addr % (8 * 4096), 0u);
  EXPECT_EQ(Pfn(p), addr >> 12) << "the simulated host's pfn is vaddr >> 12";
  EXPECT_TRUE(sim::IsLentAddress(reinterpret_cast<void*>(addr)));
  EXPECT_EQ(mmlab_core_virt_to_page(core_, reinterpret_cast<void*>(addr)), p);
  // Every byte of every page maps to that page's own descriptor.
  for (int i = 0; i < 8; i++) {
    mmlab_page* d = mmlab_core_virt_to_page(core_, reinterpret_cast<void*>(addr + i * 4096 + 123));
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(Pfn(d), Pfn(p) + i);
    EXPECT_EQ(mmlab_core_page_address(core_, d), reinterpret_cast<void*>(addr + i * 4096));
  }
  mmlab_core___free_pages(core_, p, 3);
}

TEST_F(PageApi, VirtToPageIsNullOutsideManagedChunks) {
  NewBuddyCore(4);  // exactly one chunk borrowed
  int on_stack = 0;
  EXPECT_EQ(mmlab_core_virt_to_page(core_, &on_stack), nullptr);
  EXPECT_EQ(mmlab_core_virt_to_page(core_, nullptr), nullptr);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);
  char* addr = static_cast<char*>(mmlab_core_page_address(core_, p));
  EXPECT_EQ(mmlab_core_virt_to_page(core_, addr + 16 * 4096), nullptr) << "one past the chunk";
  EXPECT_EQ(mmlab_core_virt_to_page(core_, addr - 1), nullptr) << "one before it";
  mmlab_core___free_pages(core_, p, 4);
}

TEST_F(PageApi, GetFreePagesAndFreePagesRoundTrip) {
  NewCore(4);
  uintptr_t a = mmlab_core___get_free_pages(core_, MMLAB_GFP_KERNEL, 2);
  ASSERT_NE(a, 0u);
  EXPECT_EQ(Counters().used_pages, 4u);
  EXPECT_EQ(mmlab_core_free_pages(core_, a, 2), MMLAB_OK);
  EXPECT_EQ(Counters().used_pages, 0u);
  EXPECT_EQ(mmlab_core_free_pages(core_, 0, 3), MMLAB_OK) << "free_pages(0) is a no-op";
}

TEST_F(PageApi, GetFreePagesReturnsZeroOnFailure) {
  NewBuddyCore(4, 1);
  EXPECT_EQ(mmlab_core___get_free_pages(core_, MMLAB_GFP_KERNEL, 5), 0u);
  sim::FailChunkAllocs(1);
  // Without __GFP_NORETRY the retry would borrow the chunk after all.
  EXPECT_EQ(mmlab_core_get_zeroed_page(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NORETRY), 0u);
}

TEST_F(PageApi, PageAddressOfNullIsNull) {
  NewCore(4);
  EXPECT_EQ(mmlab_core_page_address(core_, nullptr), nullptr);
}

TEST_F(PageApi, TwoCoresAreIndependent) {
  NewBuddyCore(4, 1);
  mmlab_core_config cfg = Config(2, 4);
  mmlab_core* other = nullptr;
  ASSERT_EQ(mmlab_core_create(&cfg, &other), MMLAB_OK);
  MakeBuddyOnly(other);  // 4 pages: the default reserve would be all of them
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  mmlab_page* q = mmlab_core_alloc_pages(other, MMLAB_GFP_KERNEL, 0);
  ASSERT_TRUE(p && q);
  EXPECT_EQ(mmlab_core___free_pages(other, p, 0), MMLAB_EINVAL) << "not the other core's page";
  EXPECT_EQ(mmlab_core_virt_to_page(other, mmlab_core_page_address(core_, p)), nullptr);
  EXPECT_EQ(mmlab_core___free_pages(other, q, 0), MMLAB_OK);
  EXPECT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
  EXPECT_EQ(mmlab_core_destroy(other), 0u);
}

}  // namespace
}  // namespace mmlab_test
