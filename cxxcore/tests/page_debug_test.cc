// SPDX-License-Identifier: GPL-2.0
//
// page_debug_test.cc - page poisoning (page_poison) and the page
// allocator's bad-free reports in SLUB's shape (page_debug.cc).
#include <cstring>
#include <string>

#include "debug_report.h"
#include "test_util.h"

namespace mmlab_test {
namespace {

class PageDebug : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    mmlab::DebugReportResetLimit();
  }
  mmlab_status SetPoison(int on, std::string* why = nullptr) {
    char res[256];
    mmlab_status st = mmlab_core_page_poison_set(core_, on, res, sizeof(res));
    if (why)
      *why = res;
    return st;
  }
};

TEST_F(PageDebug, FreedPagesHoldPagePoisonAndAWriteAfterFreeIsReportedAndRestored) {
  NewCore(4, 4);
  ASSERT_EQ(SetPoison(1), MMLAB_OK);
  EXPECT_EQ(mmlab_core_page_poison(core_), 1);
  mmlab_page* page = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(sim::CountLogs("BUG"), 0u) << "a new chunk is poisoned too\n" << sim::LogText();
  unsigned char* p = Addr(page);
  const uint64_t pfn = Pfn(page);
  EXPECT_EQ(p[0], 0xaa) << "not zeroed: it holds the poison it was checked against";
  ASSERT_EQ(mmlab_core___free_pages(core_, page, 0), MMLAB_OK);
  for (size_t i = 0; i < MMLAB_PAGE_SIZE; i++)
    ASSERT_EQ(p[i], 0xaa) << i;
  p[100] = 0x12;  // the bug: a write after free
  p[130] = 0x34;
  sim::ClearLogs();
  mmlab_page* again = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_EQ(again, page) << "the per-CPU list hands the same page back";
  EXPECT_EQ(sim::CountLogs("BUG mmlab-page (mmlab): Poison overwritten", MMLAB_LOG_ERR), 1u)
      << sim::LogText();
  EXPECT_EQ(sim::CountLogs("pagealloc: memory corruption"), 1u);
  EXPECT_EQ(sim::CountLogs("@offset=100. First byte 0x12 instead of 0xaa"), 1u) << sim::LogText();
  char pfn_text[64];
  snprintf(pfn_text, sizeof(pfn_text), "pfn 0x%lx order 0 zone ", static_cast<unsigned long>(pfn));
  EXPECT_EQ(sim::CountLogs(pfn_text), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs(": aa aa aa aa 12 aa aa aa"), 1u) << "the bad line dumped\n"
                                                            << sim::LogText();
  EXPECT_EQ(sim::CountLogs("FIX mmlab-page: Restoring Poison 0x"), 1u);
  EXPECT_EQ(p[100], 0xaa);
  EXPECT_EQ(p[130], 0xaa);
  EXPECT_EQ(Stat("page_poison_caught"), 1u);
  ASSERT_EQ(mmlab_core___free_pages(core_, again, 0), MMLAB_OK);
}

TEST_F(PageDebug, LargeBlocksThroughTheBuddyAreCheckedToo) {
  NewCore(6, 2);
  ASSERT_EQ(SetPoison(1), MMLAB_OK);
  mmlab_page* page = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 5);
  ASSERT_NE(page, nullptr);
  unsigned char* p = Addr(page);
  ASSERT_EQ(mmlab_core___free_pages(core_, page, 5), MMLAB_OK);
  p[3 * MMLAB_PAGE_SIZE + 7] = 0xab;  // a single bit flip of 0xaa
  sim::ClearLogs();
  mmlab_page* again = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO, 5);
  ASSERT_EQ(again, page);
  EXPECT_EQ(sim::CountLogs("pagealloc: single bit error"), 1u) << sim::LogText();
  EXPECT_EQ(p[3 * MMLAB_PAGE_SIZE + 7], 0) << "__GFP_ZERO still zeroes after the check";
  ASSERT_EQ(mmlab_core___free_pages(core_, again, 5), MMLAB_OK);
}

TEST_F(PageDebug, BugCommandReportsAPageWrittenAfterFree) {
  NewCore(4, 4);
  std::string r;
  EXPECT_EQ(Control("bug page_use_after_free", &r), MMLAB_EINVAL) << "page_poison is off";
  EXPECT_NE(r.find("page_poison is off"), std::string::npos) << r;
  Destroy();
  NewCore(4, 4);
  ASSERT_EQ(SetPoison(1), MMLAB_OK);
  sim::ClearLogs();
  ASSERT_EQ(Control("bug page_use_after_free", &r), MMLAB_OK) << r;
  EXPECT_NE(r.find("; 1 caught"), std::string::npos) << r;
  EXPECT_EQ(sim::CountLogs("BUG mmlab-page (mmlab): Poison overwritten"), 1u) << sim::LogText();
  // check_poison_mem(): only the bad bytes are dumped.
  EXPECT_EQ(sim::CountLogs(": 40 41 42 43 44 45 46 47                          @ABCDEFG"), 1u)
      << sim::LogText();
  EXPECT_EQ(Control("bug page_use_after_free name=kmalloc-64"), MMLAB_EINVAL);
}

TEST_F(PageDebug, SwitchingOnAfterTheFirstBorrowIsRefusedOffAlwaysWorks) {
  NewCore(4, 4);
  mmlab_page* page = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(page, nullptr);
  std::string why;
  EXPECT_EQ(SetPoison(1, &why), MMLAB_EBUSY);
  EXPECT_NE(why.find("before the first page is borrowed"), std::string::npos) << why;
  EXPECT_EQ(mmlab_core_page_poison(core_), 0);
  EXPECT_EQ(SetPoison(0), MMLAB_OK);
  ASSERT_EQ(mmlab_core___free_pages(core_, page, 0), MMLAB_OK);
}

TEST_F(PageDebug, OffByDefaultAndNothingIsWrittenIntoFreePages) {
  NewCore(4, 4);
  EXPECT_EQ(mmlab_core_page_poison(core_), 0);
  mmlab_page* page = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  unsigned char* p = Addr(page);
  memset(p, 0x5c, MMLAB_PAGE_SIZE);
  ASSERT_EQ(mmlab_core___free_pages(core_, page, 0), MMLAB_OK);
  EXPECT_EQ(p[0], 0x5c);
}

TEST_F(PageDebug, DoubleAndWrongOrderFreesAreReportedInSlubsShape) {
  NewCore(4, 4);
  mmlab_page* page = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 2);
  ASSERT_NE(page, nullptr);
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core___free_pages(core_, page, 1), MMLAB_EINVAL);
  EXPECT_EQ(sim::CountLogs("BUG mmlab-page (mmlab): Wrong order"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("order 1: the block there is allocated, order 2"), 1u)
      << sim::LogText();
  EXPECT_EQ(sim::CountLogs("FIX mmlab-page: Block at pfn 0x"), 1u);
  ASSERT_EQ(mmlab_core___free_pages(core_, page, 2), MMLAB_OK);
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core___free_pages(core_, page, 2), MMLAB_EINVAL);
  EXPECT_EQ(sim::CountLogs("BUG mmlab-page (mmlab): Double free"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("===================="), 1u);
  EXPECT_EQ(sim::CountLogs("FIX mmlab-page: Block at pfn 0x"), 1u);
}

}  // namespace
}  // namespace mmlab_test
