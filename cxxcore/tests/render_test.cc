// SPDX-License-Identifier: GPL-2.0
//
// render_test.cc - the buddyinfo and stats views, byte for byte as in
// docs/debugfs.md.
#include "test_util.h"

namespace mmlab_test {
namespace {

using Views = CoreTest;

TEST_F(Views, BuddyinfoIsByteExactProcBuddyinfo) {
  NewCore(10, 64);
  EXPECT_EQ(Render(MMLAB_VIEW_BUDDYINFO),
            "Node 0, zone   Normal      0      0      0      0      0      0      0      0      0"
            "      0      0 \n");
  mmlab_page* p = mmlab_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  // The example in docs/debugfs.md, character for character.
  EXPECT_EQ(Render(MMLAB_VIEW_BUDDYINFO),
            "Node 0, zone   Normal      1      1      1      1      1      1      1      1      1"
            "      1      0 \n");
  mmlab___free_pages(core_, p, 0);
}

TEST_F(Views, BuddyinfoHasOneColumnPerOrderUpToTheChunkOrder) {
  NewCore(2, 4);
  EXPECT_EQ(Render(MMLAB_VIEW_BUDDYINFO), "Node 0, zone   Normal      0      0      0 \n");
}

TEST_F(Views, BuddyinfoCountsAreRightAlignedInSixColumns) {
  NewCore(0, 1234);
  std::vector<mmlab_page*> pages;
  for (int i = 0; i < 1234; i++)
    pages.push_back(mmlab_alloc_pages(core_, MMLAB_GFP_KERNEL, 0));
  for (mmlab_page* p : pages)
    mmlab___free_pages(core_, p, 0);
  EXPECT_EQ(Render(MMLAB_VIEW_BUDDYINFO), "Node 0, zone   Normal   1234 \n");
  EXPECT_EQ(Result("shrink"), "returned 1234 chunks");
}

TEST_F(Views, StatsIsTheDocumentedLayout) {
  NewCore(10, 64);  // 65536 pages, as in the documentation's example
  ASSERT_EQ(Control("alloc order=3"), MMLAB_OK);
  EXPECT_EQ(Render(MMLAB_VIEW_STATS),
            "chunk_order            10\n"
            "capacity_pages         65536\n"
            "host_chunks            1\n"
            "host_pages             1024\n"
            "host_chunks_borrowed   1\n"
            "host_chunks_returned   0\n"
            "free_pages             1016\n"
            "used_pages             8\n"
            "control_handles        1\n"
            "order     allocs      frees   failures\n"
            "    0          0          0          0\n"
            "    1          0          0          0\n"
            "    2          0          0          0\n"
            "    3          1          0          0\n"
            "    4          0          0          0\n"
            "    5          0          0          0\n"
            "    6          0          0          0\n"
            "    7          0          0          0\n"
            "    8          0          0          0\n"
            "    9          0          0          0\n"
            "   10          0          0          0\n");
  ASSERT_EQ(Control("free 1"), MMLAB_OK);
}

TEST_F(Views, StatsAfterShrinkAndFailures) {
  NewCore(2, 2);
  mmlab_page* a = mmlab_alloc_pages(core_, MMLAB_GFP_KERNEL, 2);
  mmlab_page* b = mmlab_alloc_pages(core_, MMLAB_GFP_KERNEL, 2);
  EXPECT_EQ(mmlab_alloc_pages(core_, MMLAB_GFP_KERNEL, 1), nullptr);
  mmlab___free_pages(core_, a, 2);
  mmlab___free_pages(core_, b, 2);
  uint64_t n;
  mmlab_core_shrink(core_, &n);
  EXPECT_EQ(Render(MMLAB_VIEW_STATS),
            "chunk_order            2\n"
            "capacity_pages         8\n"
            "host_chunks            0\n"
            "host_pages             0\n"
            "host_chunks_borrowed   2\n"
            "host_chunks_returned   2\n"
            "free_pages             0\n"
            "used_pages             0\n"
            "control_handles        0\n"
            "order     allocs      frees   failures\n"
            "    0          0          0          0\n"
            "    1          0          0          1\n"
            "    2          2          2          0\n");
}

TEST_F(Views, UnknownViewIsRefused) {
  NewCore(2, 1);
  std::string out;
  mmlab_emit_fn emit = [](void* ctx, const char* s, size_t len) {
    static_cast<std::string*>(ctx)->append(s, len);
  };
  EXPECT_EQ(mmlab_core_render(core_, MMLAB_VIEW_NR, emit, &out), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_render(core_, static_cast<mmlab_view>(77), emit, &out), MMLAB_EINVAL);
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace mmlab_test
