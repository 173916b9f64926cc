// SPDX-License-Identifier: GPL-2.0
//
// bad_free_test.cc - every misuse of the allocator is detected, reported at
// warning level with a line that names it, refused with MMLAB_EINVAL, and
// leaves the allocator exactly as it was.
#include "page_desc.h"  // to forge descriptors
#include "debug_report.h"
#include "test_util.h"

namespace mmlab_test {
namespace {

class BadFree : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    NewBuddyCore(4, 2);
  }

  // Runs a refused request and checks that nothing changed and exactly
  // one warning containing `report` was logged.
  template <typename Fn>
  void ExpectRefused(Fn request, const std::string& report) {
    std::string buddyinfo = Render(MMLAB_VIEW_BUDDYINFO);
    struct mmlab_core_counters before = Counters();
    sim::ClearLogs();
    mmlab::DebugReportResetLimit();
    EXPECT_EQ(request(), MMLAB_EINVAL);
    EXPECT_EQ(sim::CountLogs(report, MMLAB_LOG_WARN), 1u)
        << "expected a warning containing '" << report << "', log:\n"
        << sim::LogText();
    // A double, wrong-order or tail free is then reported again in SLUB's
    // shape (page_debug.cc): '=', BUG, '-', the block, FIX.
    const size_t bug = sim::CountLogs("BUG mmlab-page (mmlab): ", MMLAB_LOG_ERR);
    EXPECT_LE(bug, 1u);
    EXPECT_EQ(sim::Logs().size(), 1u + 5 * bug) << sim::LogText();
    EXPECT_EQ(sim::CountLogs("FIX mmlab-page: Block at pfn 0x", MMLAB_LOG_ERR), bug);
    EXPECT_EQ(Render(MMLAB_VIEW_BUDDYINFO), buddyinfo);
    struct mmlab_core_counters after = Counters();
    EXPECT_EQ(after.free_pages, before.free_pages);
    EXPECT_EQ(after.used_pages, before.used_pages);
    EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  }

  std::string Hex(uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof(buf), "0x%lx", static_cast<unsigned long>(v));
    return buf;
  }
};

TEST_F(BadFree, AllocWithAnInvalidOrderIsRefusedAndReported) {
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 5), nullptr);
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0xffffffffu), nullptr);
  EXPECT_EQ(sim::CountLogs("alloc_pages: invalid order 5 (largest is 4)", MMLAB_LOG_WARN), 1u);
  EXPECT_EQ(sim::CountLogs("alloc_pages: invalid order 4294967295", MMLAB_LOG_WARN), 1u);
  EXPECT_EQ(Counters().host_chunks, 0u) << "nothing was borrowed for it";
}

TEST_F(BadFree, AllocWithUnknownGfpBitsIsRefusedAndReported) {
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | (1u << 20), 0), nullptr);
  EXPECT_EQ(sim::CountLogs("unknown gfp bits 0x100000", MMLAB_LOG_WARN), 1u);
}

TEST_F(BadFree, DoubleFreeIsRefused) {
  mmlab_page* keep = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);  // stops merging
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
  ExpectRefused([&] { return mmlab_core___free_pages(core_, p, 0); },
                "bad free: double free of pfn " + Hex(Pfn(p)) + " order 0");
  mmlab_core___free_pages(core_, keep, 0);
}

TEST_F(BadFree, DoubleFreeOfABlockThatWasMergedIsRefused) {
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 1);
  mmlab_page* other = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);  // keeps chunk busy
  uintptr_t addr = reinterpret_cast<uintptr_t>(Addr(p));
  uint64_t pfn = Pfn(p);
  ASSERT_EQ(mmlab_core___free_pages(core_, p, 1), MMLAB_OK);
  // p's pages are now inside a larger free block: p + 1 is a free tail.
  mmlab_page* tail = mmlab_core_virt_to_page(core_, reinterpret_cast<void*>(addr + 4096));
  ExpectRefused([&] { return mmlab_core___free_pages(core_, tail, 0); },
                "bad free: double free of pfn " + Hex(pfn + 1) + " order 0 (inside free order-");
  ExpectRefused([&] { return mmlab_core_free_pages(core_, addr, 1); },
                "bad free: double free of pfn " + Hex(pfn) + " order 1");
  mmlab_core___free_pages(core_, other, 0);
}

TEST_F(BadFree, FreeWithTheWrongOrderIsRefusedAndTheBlockStaysAllocated) {
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 2);
  ExpectRefused([&] { return mmlab_core___free_pages(core_, p, 1); },
                "bad free: pfn " + Hex(Pfn(p)) + " freed with order 1 but allocated with order 2");
  ExpectRefused([&] { return mmlab_core___free_pages(core_, p, 3); }, "allocated with order 2");
  EXPECT_EQ(Counters().used_pages, 4u);
  EXPECT_EQ(mmlab_core___free_pages(core_, p, 2), MMLAB_OK);
}

TEST_F(BadFree, FreeOfATailPageIsRefused) {
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 2);
  uintptr_t addr = reinterpret_cast<uintptr_t>(Addr(p));
  mmlab_page* tail = mmlab_core_virt_to_page(core_, reinterpret_cast<void*>(addr + 2 * 4096));
  ASSERT_NE(tail, nullptr);
  ExpectRefused([&] { return mmlab_core___free_pages(core_, tail, 0); },
                "bad free: pfn " + Hex(Pfn(p) + 2) +
                    " order 0 is not a block head (tail of order-2 block at pfn " + Hex(Pfn(p)) +
                    ")");
  ExpectRefused([&] { return mmlab_core_free_pages(core_, addr + 4096, 2); }, "is not a block head");
  EXPECT_EQ(mmlab_core___free_pages(core_, p, 2), MMLAB_OK);
}

TEST_F(BadFree, FreeOfAnInvalidOrderIsRefused) {
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ExpectRefused([&] { return mmlab_core___free_pages(core_, p, 5); },
                "bad free: invalid order 5 (largest is 4)");
  ExpectRefused([&] { return mmlab_core_free_pages(core_, reinterpret_cast<uintptr_t>(Addr(p)), 99); },
                "bad free: invalid order 99");
  EXPECT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
}

TEST_F(BadFree, ForeignDescriptorsAreRefusedWithoutBeingRead) {
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  // A descriptor-shaped object the core never handed out.
  mmlab_page forged = *p;
  ExpectRefused([&] { return mmlab_core___free_pages(core_, &forged, 0); },
                "bad free: page descriptor is not one of this core's");
  // A pointer into the middle of a real descriptor.
  auto* misaligned = reinterpret_cast<mmlab_page*>(reinterpret_cast<char*>(p) + 8);
  ExpectRefused([&] { return mmlab_core___free_pages(core_, misaligned, 0); },
                "page descriptor is not one of this core's");
  ExpectRefused([&] { return mmlab_core___free_pages(core_, nullptr, 0); }, "bad free: NULL page");
  EXPECT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
}

TEST_F(BadFree, ForeignAndMisalignedAddressesAreRefused) {
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  static char not_managed[2 * 4096];
  ExpectRefused([&] { return mmlab_core_free_pages(core_, reinterpret_cast<uintptr_t>(not_managed), 0); },
                "bad free: address is not in a chunk of this core");
  uintptr_t addr = reinterpret_cast<uintptr_t>(Addr(p));
  ExpectRefused([&] { return mmlab_core_free_pages(core_, addr + 100, 0); },
                "bad free: address inside pfn " + Hex(Pfn(p)) + " is not page aligned");
  EXPECT_EQ(mmlab_core_free_pages(core_, addr, 0), MMLAB_OK);
}

TEST_F(BadFree, ControlFileBlocksCannotBeFreedBehindTheHandleTable) {
  std::string r;
  ASSERT_EQ(Control("alloc order=1", &r), MMLAB_OK);
  uint64_t pfn = std::stoull(r.substr(r.find("pfn 0x") + 6), nullptr, 16);
  mmlab_page* p = mmlab_core_virt_to_page(core_, reinterpret_cast<void*>(pfn << 12));
  ExpectRefused([&] { return mmlab_core___free_pages(core_, p, 1); },
                "bad free: pfn " + Hex(pfn) + " order 1 belongs to a control handle");
  EXPECT_EQ(Control("free 1"), MMLAB_OK);
}

}  // namespace
}  // namespace mmlab_test

namespace mmlab_test {
namespace {

// Blocks that belong to an allocator above the page allocator cannot be
// pulled out from under it with __free_pages (Linux: free_page_is_bad()
// on a slab page): refused, reported, and the owner still works.
class ForeignFree : public CoreTest {};

TEST_F(ForeignFree, SlabKmallocAndVmallocPagesAreRefusedByFreePages) {
  NewCore(4, 4);
  mmlab_kmem_cache* cache = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "ff", 64, 0, 0, nullptr, &cache), MMLAB_OK);
  void* obj = mmlab_core_kmem_cache_alloc(cache, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(obj, nullptr);
  void* large = mmlab_core_kmalloc(core_, 3 * 4096, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(large, nullptr);
  void* area = mmlab_core_vmalloc(core_, 2 * 4096, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(area, nullptr);

  const struct {
    mmlab_page* page;
    uint32_t order;
    const char* report;
  } cases[] = {
      {mmlab_core_virt_to_page(core_, obj), 0, "is a slab; free its objects"},
      {mmlab_core_virt_to_page(core_, large), 2, "is a kmalloc block; free it with kfree"},
      {mmlab_core_vmalloc_to_page(core_, area), 0, "is a page of a vmalloc area"},
  };
  for (const auto& c : cases) {
    ASSERT_NE(c.page, nullptr) << c.report;
    sim::ClearLogs();
    EXPECT_EQ(mmlab_core___free_pages(core_, c.page, c.order), MMLAB_EINVAL) << c.report;
    EXPECT_EQ(sim::CountLogs(c.report, MMLAB_LOG_WARN), 1u) << sim::LogText();
  }
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  // The owners still hold and free their memory normally.
  memset(obj, 0x11, 64);
  memset(large, 0x22, 3 * 4096);
  memset(area, 0x33, 2 * 4096);
  mmlab_core_kmem_cache_free(cache, obj, 0);
  mmlab_core_kfree(core_, large, 0);
  mmlab_core_vfree(core_, area, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_OK);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  sim::ClearLogs();
}

}  // namespace
}  // namespace mmlab_test
