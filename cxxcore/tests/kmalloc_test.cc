// SPDX-License-Identifier: GPL-2.0
//
// kmalloc_test.cc - the kmalloc family: size classes (every size 1..8192),
// large kmallocs, ZERO_SIZE_PTR, krealloc across classes and into pages,
// kmalloc_array overflow, kcalloc, and kfree/ksize of foreign pointers.
#include <cstdint>
#include <vector>

#include "kmalloc.h"
#include "test_util.h"

namespace mmlab_test {
namespace {

using Kmalloc = CoreTest;

constexpr uint32_t kClasses[] = {8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192};

uint32_t WantClass(uint32_t size) {
  for (uint32_t c : kClasses)
    if (size <= c)
      return c;
  return 0;
}

TEST_F(Kmalloc, EverySizeUpTo8192MapsToTheSmallestClassThatHoldsIt) {
  NewCore(6, 8);
  for (uint32_t size = 1; size <= 8192; size++) {
    ASSERT_EQ(mmlab::kKmallocSizes[mmlab::KmallocIndex(size)], WantClass(size)) << size;
    void* p = mmlab_core_kmalloc(core_, size, MMLAB_GFP_KERNEL, 0);
    ASSERT_NE(p, nullptr) << size;
    ASSERT_EQ(mmlab_core_ksize(core_, p), WantClass(size)) << size;
    static_cast<char*>(p)[size - 1] = 1;  // ASan: the whole request is usable
    mmlab_core_kfree(core_, p, 0);
  }
  // The two odd classes, explicitly.
  EXPECT_EQ(mmlab::KmallocIndex(65), 4u);
  EXPECT_EQ(mmlab::KmallocIndex(96), 4u);
  EXPECT_EQ(mmlab::KmallocIndex(97), 5u);
  EXPECT_EQ(mmlab::KmallocIndex(129), 6u);
  EXPECT_EQ(mmlab::KmallocIndex(192), 6u);
  EXPECT_EQ(mmlab::KmallocIndex(193), 7u);
  EXPECT_EQ(Stat("kmalloc_large_pages"), 0u);
}

TEST_F(Kmalloc, LargeRequestsAreBuddyPagesUpToTheChunk) {
  NewCore(5, 8);  // 128 KiB chunks
  void* p = mmlab_core_kmalloc(core_, 8193, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % MMLAB_PAGE_SIZE, 0u);
  EXPECT_EQ(mmlab_core_ksize(core_, p), 16384u) << "get_order(8193) = 2";
  EXPECT_EQ(Stat("kmalloc_large_pages"), 4u);
  void* q = mmlab_core_kmalloc(core_, 128 * 1024, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO, 0);
  ASSERT_NE(q, nullptr);
  for (size_t i = 0; i < 128 * 1024; i += 997)
    ASSERT_EQ(static_cast<unsigned char*>(q)[i], 0);
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_kmalloc(core_, 128 * 1024 + 1, MMLAB_GFP_KERNEL, 0), nullptr);
  EXPECT_EQ(sim::CountLogs("is above the largest kmalloc"), 1u) << sim::LogText();
  // __GFP_NOWARN: the same failure, silently (kvmalloc's first try).
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_kmalloc(core_, 128 * 1024 + 1, MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN, 0),
            nullptr);
  EXPECT_EQ(sim::Logs().size(), 0u) << sim::LogText();
  // A pointer inside the block is not a kmalloc pointer.
  mmlab_core_kfree(core_, static_cast<char*>(p) + 4096, 0);
  EXPECT_EQ(sim::CountLogs("kfree"), 1u) << sim::LogText();
  mmlab_core_kfree(core_, p, 0);
  mmlab_core_kfree(core_, q, 0);
  EXPECT_EQ(Stat("kmalloc_large_pages"), 0u);
}

// Found by the VM fuzzer: "kmalloc size=18446744073709551615" looped for
// ever in get_order (PAGE_SIZE << order wraps before it reaches the size),
// a soft lockup in the writer. Every size above 2^63 is refused at once,
// through every entry point that reaches kmalloc.
TEST_F(Kmalloc, SizesAbove2To63AreRefusedNotLoopedOn) {
  NewCore(4, 4);
  for (uint64_t size : {~uint64_t{0}, (uint64_t{1} << 63) + 1, ~uint64_t{0} - 4095,
                        uint64_t{1} << 63, uint64_t{1} << 62}) {
    EXPECT_EQ(mmlab_core_kmalloc(core_, size, MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN, 0), nullptr)
        << size;
    EXPECT_EQ(mmlab_core_kvmalloc(core_, size, MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN, 0), nullptr)
        << size;
  }
  EXPECT_EQ(mmlab_core_kmalloc_array(core_, 3, uint64_t{1} << 62, MMLAB_GFP_KERNEL, 0), nullptr);
  void* p = mmlab_core_kmalloc(core_, 100, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(mmlab_core_krealloc(core_, p, ~uint64_t{0}, MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN, 0),
            nullptr);
  mmlab_core_kfree(core_, p, 0);
  EXPECT_NE(Control("kmalloc size=18446744073709551615"), MMLAB_OK);
  EXPECT_NE(Control("kvmalloc size=18446744073709551615"), MMLAB_OK);
  EXPECT_NE(Control("kmalloc_array count=2 size=9223372036854775807"), MMLAB_OK);
  sim::ClearLogs();
}

TEST_F(Kmalloc, ZeroSizeIsZeroSizePtrAndKfreeTakesIt) {
  NewCore(4, 4);
  void* p = mmlab_core_kmalloc(core_, 0, MMLAB_GFP_KERNEL, 0);
  EXPECT_EQ(p, reinterpret_cast<void*>(16));
  EXPECT_EQ(mmlab_core_ksize(core_, p), 0u);
  sim::ClearLogs();
  mmlab_core_kfree(core_, p, 0);
  mmlab_core_kfree(core_, nullptr, 0);
  EXPECT_EQ(sim::Logs().size(), 0u) << sim::LogText();
}

TEST_F(Kmalloc, KreallocKeepsTheContentsAcrossClassesAndIntoPages) {
  NewCore(6, 8);
  void* p = mmlab_core_krealloc(core_, nullptr, 24, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr) << "krealloc(NULL) is kmalloc";
  EXPECT_EQ(mmlab_core_ksize(core_, p), 32u);
  for (int i = 0; i < 24; i++)
    static_cast<unsigned char*>(p)[i] = static_cast<unsigned char>(i + 1);
  size_t valid = 24;
  const size_t sizes[] = {30, 100, 150, 1000, 5000, 9000, 70000, 40, 3};
  for (size_t size : sizes) {
    void* old = p;
    size_t old_ksize = mmlab_core_ksize(core_, p);
    p = mmlab_core_krealloc(core_, p, size, MMLAB_GFP_KERNEL, 0);
    ASSERT_NE(p, nullptr) << size;
    if (size <= old_ksize)
      EXPECT_EQ(p, old) << "still fits: in place (" << size << ")";
    else
      EXPECT_NE(p, old) << size;
    for (size_t i = 0; i < valid && i < size; i++)
      ASSERT_EQ(static_cast<unsigned char*>(p)[i], static_cast<unsigned char>(i + 1))
          << "byte " << i << " after krealloc to " << size;
    // Fill what is now ours with the pattern too.
    for (size_t i = valid; i < size; i++)
      static_cast<unsigned char*>(p)[i] = static_cast<unsigned char>(i + 1);
    valid = size;
  }
  EXPECT_EQ(mmlab_core_ksize(core_, p), 131072u) << "shrinking keeps the block";
  EXPECT_EQ(mmlab_core_krealloc(core_, p, 0, MMLAB_GFP_KERNEL, 0), nullptr) << "size 0 frees";
  EXPECT_EQ(Stat("kmalloc_large_pages"), 0u);
  int on_stack = 0;
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_krealloc(core_, &on_stack, 100, MMLAB_GFP_KERNEL, 0), nullptr);
  EXPECT_EQ(sim::CountLogs("krealloc:"), 1u) << sim::LogText();
}

TEST_F(Kmalloc, KmallocArrayRejectsOverflowAndKcallocZeroes) {
  NewCore(4, 8);
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_kmalloc_array(core_, SIZE_MAX / 2, 3, MMLAB_GFP_KERNEL, 0), nullptr);
  EXPECT_EQ(mmlab_core_kmalloc_array(core_, 3, SIZE_MAX / 2, MMLAB_GFP_KERNEL, 0), nullptr);
  EXPECT_EQ(sim::CountLogs("overflows; refused"), 2u) << sim::LogText();
  EXPECT_EQ(Stat("kmalloc_overflows"), 2u);
  // kcalloc: dirty an object, free it, get it back zeroed.
  void* d = mmlab_core_kmalloc(core_, 256, MMLAB_GFP_KERNEL, 0);
  memset(d, 0xee, 256);
  mmlab_core_kfree(core_, d, 0);
  unsigned char* z = static_cast<unsigned char*>(
      mmlab_core_kmalloc_array(core_, 16, 16, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO, 0));
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(static_cast<void*>(z), d) << "the same object, reused";
  for (int i = 0; i < 256; i++)
    ASSERT_EQ(z[i], 0) << i;
  mmlab_core_kfree(core_, z, 0);
}

TEST_F(Kmalloc, KfreeOfAnythingElseIsReportedAndIgnored) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "notkmalloc", 64, 0, 0, nullptr, &c), MMLAB_OK);
  void* obj = mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0);
  void* k = mmlab_core_kmalloc(core_, 100, MMLAB_GFP_KERNEL, 0);
  mmlab_page* page = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  int on_stack = 0;
  sim::ClearLogs();
  mmlab_core_kfree(core_, obj, 0);
  EXPECT_EQ(sim::CountLogs("from cache notkmalloc, not kmalloc; ignored"), 1u) << sim::LogText();
  mmlab_core_kfree(core_, static_cast<char*>(k) + 1, 0);
  EXPECT_EQ(sim::CountLogs("is not the start of an object"), 1u) << sim::LogText();
  mmlab_core_kfree(core_, &on_stack, 0);
  mmlab_core_kfree(core_, mmlab_core_page_address(core_, page), 0);
  EXPECT_EQ(sim::CountLogs("is not in a slab"), 2u) << sim::LogText();
  for (const void* raw : {static_cast<const void*>(&on_stack), static_cast<const void*>(k),
                         static_cast<const void*>(obj)}) {
    char hex[32];
    snprintf(hex, sizeof(hex), "%lx", static_cast<unsigned long>(reinterpret_cast<uintptr_t>(raw)));
    EXPECT_EQ(sim::CountLogs(hex), 0u) << "no raw addresses in reports: " << sim::LogText();
  }
  EXPECT_EQ(mmlab_core_ksize(core_, obj), 0u);
  EXPECT_EQ(mmlab_core_ksize(core_, &on_stack), 0u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  // Everything is still intact and freeable properly.
  mmlab_core_kfree(core_, k, 0);
  mmlab_core_kmem_cache_free(c, obj, 0);
  mmlab_core___free_pages(core_, page, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
  EXPECT_EQ(Stat("slab_bad_frees"), 4u);
}

// kfree finds and frees in one interrupts-off section; the checks are the
// ones it always made: a stride multiple in the slab's unused tail is not
// an object, and a second kfree of the same object is a double free.
TEST_F(Kmalloc, KfreeRefusesTheSlabTailAndADoubleFree) {
  NewCore(4, 8);
  // kmalloc-96: 42 objects in an order-0 slab, 64 bytes unused at its end.
  void* k = mmlab_core_kmalloc(core_, 96, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(k, nullptr);
  uintptr_t base = reinterpret_cast<uintptr_t>(k) & ~uintptr_t{MMLAB_PAGE_SIZE - 1};
  sim::ClearLogs();
  mmlab_core_kfree(core_, reinterpret_cast<void*>(base + 42 * 96), 0);
  EXPECT_EQ(sim::CountLogs("is not the start of an object"), 1u) << sim::LogText();
  EXPECT_EQ(Stat("slab_bad_frees"), 1u);
  mmlab_core_kfree(core_, k, 0);
  EXPECT_EQ(sim::CountLogs("double free"), 0u) << sim::LogText();
  mmlab_core_kfree(core_, k, 0);
  EXPECT_EQ(sim::CountLogs("double free"), 1u) << sim::LogText();
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  // The class still works.
  void* again = mmlab_core_kmalloc(core_, 96, MMLAB_GFP_KERNEL, 0);
  EXPECT_EQ(again, k);
  mmlab_core_kfree(core_, again, 0);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
}

TEST_F(Kmalloc, Dma32IsNotAKmallocFlag) {
  NewCore(4, 8);
  sim::ClearLogs();
  void* p = mmlab_core_kmalloc(core_, 64, MMLAB_GFP_KERNEL | MMLAB___GFP_DMA32, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(sim::CountLogs("Unexpected gfp: __GFP_DMA32"), 1u) << sim::LogText();
  mmlab_core_kfree(core_, p, 0);
}

}  // namespace
}  // namespace mmlab_test
