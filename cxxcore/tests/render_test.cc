// SPDX-License-Identifier: GPL-2.0
//
// render_test.cc - the buddyinfo and stats views, byte for byte as in
// docs/debugfs.md.
#include <map>

#include "test_util.h"

namespace mmlab_test {
namespace {

using Views = CoreTest;

TEST_F(Views, BuddyinfoIsByteExactProcBuddyinfo) {
  NewBuddyCore(10, 64);  // one page taken straight from the buddy
  const std::string dma32 =
      "Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0"
      "      0      0 \n";
  EXPECT_EQ(Render(MMLAB_VIEW_BUDDYINFO),
            dma32 +
                "Node 0, zone   Normal      0      0      0      0      0      0      0      0      0"
                "      0      0 \n");
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  // The example in docs/debugfs.md, character for character.
  EXPECT_EQ(Render(MMLAB_VIEW_BUDDYINFO),
            dma32 +
                "Node 0, zone   Normal      1      1      1      1      1      1      1      1      1"
                "      1      0 \n");
  mmlab_core___free_pages(core_, p, 0);
}

TEST_F(Views, BuddyinfoHasOneLinePerZoneAndOneColumnPerOrderUpToTheChunkOrder) {
  NewCore(2, 4);
  EXPECT_EQ(Render(MMLAB_VIEW_BUDDYINFO),
            "Node 0, zone    DMA32      0      0      0 \n"
            "Node 0, zone   Normal      0      0      0 \n");
}

TEST_F(Views, BuddyinfoCountsAreRightAlignedInSixColumns) {
  NewBuddyCore(0, 1234);
  std::vector<mmlab_page*> pages;
  for (int i = 0; i < 1234; i++)
    pages.push_back(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0));
  for (mmlab_page* p : pages)
    mmlab_core___free_pages(core_, p, 0);
  EXPECT_EQ(Render(MMLAB_VIEW_BUDDYINFO),
            "Node 0, zone    DMA32      0 \n"
            "Node 0, zone   Normal   1234 \n");
  EXPECT_EQ(Result("shrink"), "returned 1234 chunks");
}

// The GFP flag table's rows, for a stats text whose flag table is empty
// but for the given rows.
std::string FlagTable(const std::map<std::string, std::pair<int, int>>& rows) {
  static const char* const kBits[] = {
      "__GFP_DMA32",  "__GFP_HIGH",    "__GFP_IO",          "__GFP_FS",
      "__GFP_ZERO",   "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_NOWARN",
      "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_HARDWALL",
      "__GFP_MEMALLOC", "__GFP_NOMEMALLOC", "__GFP_COMP", "__GFP_ACCOUNT"};
  std::string s = "flag                       allocs   failures\n";
  for (const char* bit : kBits) {
    auto it = rows.find(bit);
    int a = it == rows.end() ? 0 : it->second.first;
    int f = it == rows.end() ? 0 : it->second.second;
    char line[96];
    snprintf(line, sizeof(line), "%-22s %10d %10d\n", bit, a, f);
    s += line;
  }
  return s;
}

TEST_F(Views, StatsIsTheDocumentedLayout) {
  NewCore(10, 64);  // 65536 pages, as in the documentation's example
  ASSERT_EQ(Control("alloc order=3"), MMLAB_OK);
  // GFP_KERNEL: the first request found both zones empty (below low, so
  // kswapd was woken for each) and borrowed one chunk for Normal, which
  // already lifts Normal above its high mark of 576 pages; the per-CPU list
  // for order 3 was refilled with batch >> 3 = 1 block and handed it out.
  EXPECT_EQ(Render(MMLAB_VIEW_STATS),
            "chunk_order            10\n"
            "capacity_pages         65536\n"
            "host_chunks            1\n"
            "host_pages             1024\n"
            "host_chunks_borrowed   1\n"
            "host_chunks_returned   0\n"
            "free_pages             1016\n"
            "used_pages             8\n"
            "pcp_pages              0\n"
            "control_handles        1\n"
            "pressure_pages         0\n"
            "min_free_kbytes        2048\n"
            "kswapd_runs            0\n"
            "slab_caches            13\n"
            "slab_pages             0\n"
            "slab_objects           0\n"
            "slab_bad_frees         0\n"
            "kmalloc_large_pages    0\n"
            "kmalloc_overflows      0\n"
            "slab_poison_caught     0\n"
            "slab_redzone_caught    0\n"
            "slab_freelist_corrupt  0\n"
            "page_poison_caught     0\n"
            "debug_reports_dropped  0\n"
            "vmalloc_areas          0\n"
            "vmalloc_pages          0\n"
            "vmalloc_calls          0\n"
            "vmalloc_failures       0\n"
            "vfree_calls            0\n"
            "vfree_bad              0\n"
            "kvmalloc_kmalloc       0\n"
            "kvmalloc_vmalloc       0\n"
            "regions                0\n"
            "overcommit_memory      0\n"
            "overcommit_ratio       50\n"
            "committed_pages        0\n"
            "commit_limit_pages     32768\n"
            "mempools               0\n"
            "mempool_reserved       0\n"
            "mempool_elements_out   0\n"
            "mempool_waits          0\n"
            "mempool_reserve_hits   0\n"
            "mempool_backing_fails  0\n"
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
            "   10          0          0          0\n"
            "zone       free      min      low     high fallback  reserve  reclaim   kswapd      pcp\n"
            "DMA32         0      128      160      192        0        0        0        1        0\n"
            "Normal     1016      384      480      576        0        0        1        1        0\n" +
                FlagTable({{"__GFP_IO", {1, 0}},
                           {"__GFP_FS", {1, 0}},
                           {"__GFP_DIRECT_RECLAIM", {1, 0}},
                           {"__GFP_KSWAPD_RECLAIM", {1, 0}}}));
  ASSERT_EQ(Control("free 1"), MMLAB_OK);
}

TEST_F(Views, StatsAfterShrinkAndFailures) {
  NewBuddyCore(2, 2);
  mmlab_page* a = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 2);
  mmlab_page* b = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 2);
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO, 1), nullptr);
  mmlab_core___free_pages(core_, a, 2);
  mmlab_core___free_pages(core_, b, 2);
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
            "pcp_pages              0\n"
            "control_handles        0\n"
            "pressure_pages         0\n"
            "min_free_kbytes        0\n"
            "kswapd_runs            0\n"
            "slab_caches            13\n"
            "slab_pages             0\n"
            "slab_objects           0\n"
            "slab_bad_frees         0\n"
            "kmalloc_large_pages    0\n"
            "kmalloc_overflows      0\n"
            "slab_poison_caught     0\n"
            "slab_redzone_caught    0\n"
            "slab_freelist_corrupt  0\n"
            "page_poison_caught     0\n"
            "debug_reports_dropped  0\n"
            "vmalloc_areas          0\n"
            "vmalloc_pages          0\n"
            "vmalloc_calls          0\n"
            "vmalloc_failures       0\n"
            "vfree_calls            0\n"
            "vfree_bad              0\n"
            "kvmalloc_kmalloc       0\n"
            "kvmalloc_vmalloc       0\n"
            "regions                0\n"
            "overcommit_memory      0\n"
            "overcommit_ratio       50\n"
            "committed_pages        0\n"
            "commit_limit_pages     4\n"
            "mempools               0\n"
            "mempool_reserved       0\n"
            "mempool_elements_out   0\n"
            "mempool_waits          0\n"
            "mempool_reserve_hits   0\n"
            "mempool_backing_fails  0\n"
            "order     allocs      frees   failures\n"
            "    0          0          0          0\n"
            "    1          0          0          1\n"
            "    2          2          2          0\n"
            "zone       free      min      low     high fallback  reserve  reclaim   kswapd      pcp\n"
            "DMA32         0        0        0        0        0        0        0        0        0\n"
            "Normal        0        0        0        0        0        0        3        3        0\n" +
                FlagTable({{"__GFP_IO", {2, 1}},
                           {"__GFP_FS", {2, 1}},
                           {"__GFP_ZERO", {0, 1}},
                           {"__GFP_DIRECT_RECLAIM", {2, 1}},
                           {"__GFP_KSWAPD_RECLAIM", {2, 1}}}));
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
