// SPDX-License-Identifier: GPL-2.0
//
// check_test.cc - the invariant checker finds each kind of corruption.
// The tests corrupt descriptors by hand, expect MMLAB_EUCLEAN and a
// specific report, then repair the damage so the fixture's final check
// passes again.
#include "page_desc.h"
#include "test_util.h"

namespace mmlab_test {
namespace {

using mmlab::PageState;

class Checker : public CoreTest {
 protected:
  mmlab_page* PageAt(mmlab_page* head, int i) {
    return mmlab_core_virt_to_page(core_, Addr(head) + i * 4096);
  }
  void ExpectViolation(const std::string& report) {
    sim::ClearLogs();
    EXPECT_EQ(mmlab_core_check(core_), MMLAB_EUCLEAN);
    EXPECT_GE(sim::CountLogs(report, MMLAB_LOG_ERR), 1u) << "expected '" << report << "' in:\n"
                                                         << sim::LogText();
    EXPECT_EQ(sim::CountLogs("check: ", MMLAB_LOG_ERR), sim::Logs().size())
        << "every violation is one 'check:' line at error level";
  }
};

TEST_F(Checker, CleanCoreHasNoViolations) {
  NewBuddyCore(4, 2);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 2);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
  EXPECT_EQ(Result("check"), "ok");
  mmlab_core___free_pages(core_, p, 2);
  EXPECT_TRUE(sim::Logs().empty()) << sim::LogText();
}

TEST_F(Checker, FindsAPageInTheWrongStateInsideABlock) {
  NewBuddyCore(4, 1);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 2);
  mmlab_page* tail = PageAt(p, 3);
  tail->state = PageState::kFreeTail;
  ExpectViolation("free tail inside the order-2 allocated block");
  tail->state = PageState::kAllocTail;
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
  mmlab_core___free_pages(core_, p, 2);
}

TEST_F(Checker, FindsAFreeBlockMissingFromItsList) {
  NewBuddyCore(4, 1);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  mmlab_page* free_head = PageAt(p, 8);  // the order-3 half of the first split
  ASSERT_EQ(free_head->state, PageState::kFreeHead);
  mmlab::ListNode* n = &free_head->buddy_list;
  mmlab::ListNode *prev = n->prev, *next = n->next;
  prev->next = next;
  next->prev = prev;
  n->prev = n->next = nullptr;
  ExpectViolation("free order-3 block is on no free list");
  ExpectViolation("free_area[3]: nr_free is 1 but the list holds 0");
  n->prev = prev;
  n->next = next;
  prev->next = n;
  next->prev = n;
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
  mmlab_core___free_pages(core_, p, 0);
}

TEST_F(Checker, FindsFreeBuddiesThatWereNotMerged) {
  NewBuddyCore(4, 1);
  mmlab_page* a = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  mmlab_page* b = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  mmlab_core___free_pages(core_, a, 0);
  // Pretend b was freed without merging: a free head on no list, next to
  // its free buddy.
  b->state = PageState::kFreeHead;
  ExpectViolation("were not merged");
  ExpectViolation("free order-0 block is on no free list");
  b->state = PageState::kAllocHead;
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
  mmlab_core___free_pages(core_, b, 0);
}

TEST_F(Checker, FindsAMisalignedHead) {
  NewBuddyCore(4, 1);
  mmlab_page* a = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  mmlab_page* b = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);  // index 1
  b->order = 1;
  ExpectViolation("allocated head of order 1 is not aligned to its order");
  b->order = 0;
  mmlab_core___free_pages(core_, a, 0);
  mmlab_core___free_pages(core_, b, 0);
}

TEST_F(Checker, FindsAHandleWhoseBlockChanged) {
  NewBuddyCore(4, 1);
  ASSERT_EQ(Control("alloc order=1"), MMLAB_OK);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  mmlab_page* handle_page = PageAt(p, -2);
  ASSERT_EQ(handle_page->flags, mmlab::kPgControl);
  handle_page->flags = 0;
  ExpectViolation("handle 1: not an allocated order-1 block of the control file");
  std::string r;
  EXPECT_EQ(Control("check", &r), MMLAB_EUCLEAN);
  EXPECT_EQ(r.rfind("control: check: ", 0), 0u) << r;
  handle_page->flags = mmlab::kPgControl;
  EXPECT_EQ(Control("check", &r), MMLAB_OK);
  EXPECT_EQ(r, "ok");
  mmlab_core___free_pages(core_, p, 0);
}

TEST_F(Checker, ReportsManyViolationsWithoutFloodingTheLog) {
  NewBuddyCore(7, 1);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 7);
  mmlab_core___free_pages(core_, p, 7);
  for (int i = 1; i < 128; i++)
    PageAt(p, i)->state = PageState::kUnset;
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_EUCLEAN);
  EXPECT_EQ(sim::CountLogs("check: pfn", MMLAB_LOG_ERR), 64u);
  EXPECT_EQ(sim::CountLogs("check: 63 more violations not shown (127 in all)", MMLAB_LOG_ERR), 1u)
      << sim::LogText();
  for (int i = 1; i < 128; i++)
    PageAt(p, i)->state = PageState::kFreeTail;
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
}

}  // namespace
}  // namespace mmlab_test
