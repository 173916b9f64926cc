// SPDX-License-Identifier: GPL-2.0
//
// buddy_test.cc - split on allocation, merge on free, free_area counts.
#include <algorithm>
#include <random>
#include <vector>

#include "test_util.h"

namespace mmlab_test {
namespace {

using Buddy = CoreTest;

TEST_F(Buddy, FirstAllocationSplitsOneChunkIntoOneBlockOfEveryLowerOrder) {
  NewBuddyCore(/*chunk_order=*/4);
  mmlab_page* page = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(page, nullptr);
  // 16 pages = 1 (allocated) + 1 + 2 + 4 + 8 (free halves of each split).
  EXPECT_EQ(NrFree(), (std::vector<unsigned long>{1, 1, 1, 1, 0}));
  EXPECT_EQ(Counters().host_chunks, 1u);
  EXPECT_EQ(Counters().used_pages, 1u);
  EXPECT_EQ(Counters().free_pages, 15u);
  EXPECT_EQ(mmlab_core___free_pages(core_, page, 0), MMLAB_OK);
}

TEST_F(Buddy, FreeMergesBackIntoOneChunkSizedBlock) {
  NewBuddyCore(4);
  mmlab_page* page = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_EQ(mmlab_core___free_pages(core_, page, 0), MMLAB_OK);
  EXPECT_EQ(NrFree(), (std::vector<unsigned long>{0, 0, 0, 0, 1}));
  EXPECT_EQ(Counters().free_pages, 16u);
  EXPECT_EQ(Counters().used_pages, 0u);
}

TEST_F(Buddy, AllocationKeepsTheLowerHalfAndTheNextTakesItsBuddy) {
  NewBuddyCore(4);
  mmlab_page* a = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  mmlab_page* b = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(Pfn(a) % 16, 0u) << "the first block is at the start of its chunk";
  EXPECT_EQ(Pfn(b), Pfn(a) ^ 1) << "the second is its order-0 buddy";
  mmlab_core___free_pages(core_, a, 0);
  mmlab_core___free_pages(core_, b, 0);
}

TEST_F(Buddy, FreedBlockMergesOnlyOnceItsBuddyIsFree) {
  NewBuddyCore(4);
  mmlab_page* a = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  mmlab_page* b = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  EXPECT_EQ(NrFree(), (std::vector<unsigned long>{0, 1, 1, 1, 0}));
  ASSERT_EQ(mmlab_core___free_pages(core_, a, 0), MMLAB_OK);
  // b still allocated: a stays an order-0 block.
  EXPECT_EQ(NrFree(), (std::vector<unsigned long>{1, 1, 1, 1, 0}));
  ASSERT_EQ(mmlab_core___free_pages(core_, b, 0), MMLAB_OK);
  // Now a and b merge, and the merge cascades up to the chunk order.
  EXPECT_EQ(NrFree(), (std::vector<unsigned long>{0, 0, 0, 0, 1}));
}

TEST_F(Buddy, EveryBlockIsAlignedToItsOrder) {
  NewBuddyCore(6, 8);
  std::vector<std::pair<mmlab_page*, uint32_t>> blocks;
  for (uint32_t round = 0; round < 3; round++) {
    for (uint32_t order = 0; order <= 6; order++) {
      mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, order);
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(Pfn(p) % (1u << order), 0u) << "order " << order;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(Addr(p)) % (4096u << order), 0u);
      blocks.push_back({p, order});
    }
  }
  for (auto& [p, order] : blocks)
    ASSERT_EQ(mmlab_core___free_pages(core_, p, order), MMLAB_OK);
}

TEST_F(Buddy, LargestOrderIsTheChunkOrder) {
  NewBuddyCore(5, 2);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 5);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(NrFree(), (std::vector<unsigned long>{0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 6), nullptr);
  mmlab_core___free_pages(core_, p, 5);
}

// Fill the whole capacity with blocks of every order, free them in a random
// order, and the lists must end as one top-order block per chunk: any
// missed merge would leave a lower-order block behind.
TEST_F(Buddy, FillingWithEveryOrderAndFreeingInRandomOrderMergesCompletely) {
  const uint32_t kChunkOrder = 6;
  const uint64_t kChunks = 8;
  NewBuddyCore(kChunkOrder, kChunks);
  std::mt19937 rng(1234);
  std::vector<std::pair<mmlab_page*, uint32_t>> blocks;
  for (int order = kChunkOrder; order >= 0; order--) {
    // A few of each order first, so every order is split from larger ones.
    for (int i = 0; i < 3; i++) {
      mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, order);
      ASSERT_NE(p, nullptr) << "order " << order;
      blocks.push_back({p, static_cast<uint32_t>(order)});
    }
  }
  // Then random orders until even order 0 fails: the capacity is full.
  for (;;) {
    uint32_t order = std::uniform_int_distribution<uint32_t>(0, kChunkOrder)(rng);
    mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, order);
    if (p) {
      blocks.push_back({p, order});
    } else if (!(p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0))) {
      break;
    } else {
      blocks.push_back({p, 0});
    }
  }
  EXPECT_EQ(Counters().used_pages, kChunks << kChunkOrder);
  EXPECT_EQ(Counters().free_pages, 0u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);

  std::shuffle(blocks.begin(), blocks.end(), rng);
  for (size_t i = 0; i < blocks.size(); i++) {
    ASSERT_EQ(mmlab_core___free_pages(core_, blocks[i].first, blocks[i].second), MMLAB_OK);
    if (i % 64 == 0) {
      ASSERT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
    }
  }
  std::vector<unsigned long> merged(kChunkOrder + 1, 0);
  merged[kChunkOrder] = kChunks;
  EXPECT_EQ(NrFree(), merged);
  EXPECT_EQ(Render(MMLAB_VIEW_BUDDYINFO),
            Buddyinfo(std::vector<unsigned long>(kChunkOrder + 1, 0), merged));
}

// Chunks are separate borrowings: even when two chunks happen to be
// neighbours (as buddies one order up would be), their blocks stay apart.
TEST_F(Buddy, NeighbouringChunksNeverMerge) {
  sim::UseContiguousChunks(true);
  NewBuddyCore(2, 2);
  mmlab_page* a = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 2);
  mmlab_page* b = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 2);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(Pfn(b), Pfn(a) + 4) << "the simulated host lent adjacent chunks";
  mmlab_core___free_pages(core_, a, 2);
  mmlab_core___free_pages(core_, b, 2);
  EXPECT_EQ(NrFree(), (std::vector<unsigned long>{0, 0, 2}));
  // And an order-0 free next to the other chunk stays within its own.
  mmlab_page* c = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(NrFree(), (std::vector<unsigned long>{1, 1, 1}));
  mmlab_core___free_pages(core_, c, 0);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
  EXPECT_EQ(Destroy(), 0u);
  sim::UseContiguousChunks(false);
}

TEST_F(Buddy, PerOrderCountersCountAllocsAndFrees) {
  NewBuddyCore(4);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 3);
  mmlab_page* q = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 3);
  mmlab_core___free_pages(core_, p, 3);
  std::string stats = Render(MMLAB_VIEW_STATS);
  EXPECT_NE(stats.find("\n    3          2          1          0\n"), std::string::npos) << stats;
  mmlab_core___free_pages(core_, q, 3);
}

}  // namespace
}  // namespace mmlab_test
