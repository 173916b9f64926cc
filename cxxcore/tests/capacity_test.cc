// SPDX-License-Identifier: GPL-2.0
//
// capacity_test.cc - borrowing chunks on demand, the capacity limit,
// shrink, destroy, and what happens when the host says no.
#include "test_util.h"

namespace mmlab_test {
namespace {

using Capacity = CoreTest;

TEST_F(Capacity, CreateBorrowsNothing) {
  uint64_t before = sim::ChunksBorrowed();
  NewCore(4, 4);
  EXPECT_EQ(sim::ChunksBorrowed(), before);
  struct mmlab_core_counters c = Counters();
  EXPECT_EQ(c.host_chunks, 0u);
  EXPECT_EQ(c.host_pages, 0u);
  EXPECT_EQ(c.capacity_pages, 64u);
}

TEST_F(Capacity, CreateRefusesBadConfigurationsAndSaysWhy) {
  mmlab_core* core = nullptr;
  mmlab_core_config cfg = Config(MMLAB_MAX_CHUNK_ORDER + 1, 1u << 12);
  EXPECT_EQ(mmlab_core_create(&cfg, &core), MMLAB_EINVAL);
  EXPECT_EQ(sim::CountLogs("chunk_order 11 out of range", MMLAB_LOG_WARN), 1u);
  cfg = Config(4, 0);
  EXPECT_EQ(mmlab_core_create(&cfg, &core), MMLAB_EINVAL);
  cfg = Config(4, 24);  // not a multiple of 16
  EXPECT_EQ(mmlab_core_create(&cfg, &core), MMLAB_EINVAL);
  cfg = Config(0, ~0ull);
  EXPECT_EQ(mmlab_core_create(&cfg, &core), MMLAB_EINVAL);
  EXPECT_EQ(sim::CountLogs("capacity_pages", MMLAB_LOG_WARN), 3u);
  EXPECT_EQ(core, nullptr);
  EXPECT_EQ(mmlab_core_create(nullptr, &core), MMLAB_EINVAL);
}

TEST_F(Capacity, CreateFailsCleanlyWhenMetadataRunsOut) {
  mmlab_core* core = nullptr;
  mmlab_core_config cfg = Config(4, 64);
  // The core object, the failure counters, the control handle and object
  // tables, each zone's per-CPU lists and whatever the slab, vmalloc and
  // mempool layers allocate at creation: every one may be the one missing.
  int skip = 0;
  for (;; skip++) {
    sim::FailMetaAllocs(1, skip);
    mmlab_status st = mmlab_core_create(&cfg, &core);
    if (st == MMLAB_OK)
      break;
    EXPECT_EQ(st, MMLAB_ENOMEM) << "failing allocation " << skip;
    EXPECT_EQ(core, nullptr);
    EXPECT_EQ(sim::MetaBytesOutstanding(), 0u) << "failing allocation " << skip;
    EXPECT_EQ(sim::LocksOutstanding(), 0u) << "failing allocation " << skip;
  }
  EXPECT_GE(skip, 6);
  sim::FailMetaAllocs(0);
  EXPECT_EQ(mmlab_core_destroy(core), 0u);
  EXPECT_EQ(sim::MetaBytesOutstanding(), 0u);
}

TEST_F(Capacity, GrowsOneChunkAtATimeUpToCapacityThenFails) {
  NewBuddyCore(4, 3);
  uint64_t borrowed = sim::ChunksBorrowed();
  mmlab_page* blocks[3];
  for (int i = 0; i < 3; i++) {
    blocks[i] = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);
    ASSERT_NE(blocks[i], nullptr);
    EXPECT_EQ(Counters().host_chunks, uint64_t(i + 1));
  }
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0), nullptr) << "capacity reached";
  EXPECT_EQ(sim::ChunksBorrowed(), borrowed + 3) << "no chunk is even asked for beyond capacity";
  EXPECT_EQ(Counters().host_pages, 48u);
  EXPECT_NE(Render(MMLAB_VIEW_STATS).find("\n    0          0          0          1\n"),
            std::string::npos)
      << "the failure is counted against order 0";
  for (mmlab_page* p : blocks)
    mmlab_core___free_pages(core_, p, 4);
}

TEST_F(Capacity, ControlAllocReportsEnomemAtCapacity) {
  NewBuddyCore(4, 1);
  EXPECT_EQ(Control("alloc order=4"), MMLAB_OK);
  std::string r;
  EXPECT_EQ(Control("alloc order=0", &r), MMLAB_ENOMEM);
  EXPECT_NE(r.find("no memory"), std::string::npos) << r;
}

TEST_F(Capacity, ChunkAllocFailureIsAPlainAllocationFailure) {
  NewBuddyCore(4, 4);
  sim::FailChunkAllocs(1);
  // One reclaim pass and no retry, or the retry would get the chunk.
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NORETRY, 0), nullptr);
  EXPECT_EQ(Counters().host_chunks, 0u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
  // The host recovers, so does the core: the reservation was released.
  mmlab_page* blocks[4];
  for (int i = 0; i < 4; i++) {
    blocks[i] = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);
    ASSERT_NE(blocks[i], nullptr) << "chunk " << i;
  }
  EXPECT_EQ(Counters().host_chunks, 4u);
  for (mmlab_page* p : blocks)
    mmlab_core___free_pages(core_, p, 4);
}

TEST_F(Capacity, HostRefusingEveryChunkIsCountedAsFailures) {
  NewBuddyCore(4, 4);
  sim::FailChunkAllocs(-1);
  for (int i = 0; i < 3; i++)
    EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 2), nullptr);
  EXPECT_NE(Render(MMLAB_VIEW_STATS).find("\n    2          0          0          3\n"),
            std::string::npos);
  sim::FailChunkAllocs(0);
}

TEST_F(Capacity, MetadataFailureHandsTheChunkBack) {
  NewBuddyCore(4, 4);
  uint64_t returned = sim::ChunksReturned();
  sim::FailMetaAllocs(1);
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NORETRY, 0), nullptr);
  EXPECT_EQ(sim::ChunksReturned(), returned + 1);
  EXPECT_EQ(sim::ChunksOutstanding(), 0u);
  EXPECT_EQ(Counters().host_chunks, 0u);
}

TEST_F(Capacity, ChunkTableGrowthFailureHandsTheChunkBack) {
  NewBuddyCore(0, 64);
  // Each chunk is one page; the table of chunks starts at 16 entries.
  std::vector<mmlab_page*> pages;
  for (int i = 0; i < 16; i++)
    pages.push_back(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0));
  // Replaced chunk indexes are freed lazily; shrink frees them now, so the
  // count below is only what the chunks themselves hold.
  EXPECT_EQ(Result("shrink"), "returned 0 chunks");
  uint64_t meta = sim::MetaBytesOutstanding();
  // The 17th chunk's descriptors are allocated; the bigger index is not.
  sim::FailMetaAllocs(1, /*skip=*/1);
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NORETRY, 0), nullptr);
  EXPECT_EQ(sim::MetaBytesOutstanding(), meta) << "the descriptors went back too";
  EXPECT_EQ(Counters().host_chunks, 16u);
  EXPECT_EQ(sim::ChunksOutstanding(), 16u);
  for (int i = 0; i < 48; i++)
    pages.push_back(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0));
  EXPECT_EQ(Counters().host_chunks, 64u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
  for (mmlab_page* p : pages)
    ASSERT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
}

TEST_F(Capacity, OnlyDirectReclaimAllocationsMaySleepInTheHost) {
  NewBuddyCore(4, 4);
  uint64_t sleep = sim::ChunkAllocsThatMaySleep();
  uint64_t nosleep = sim::ChunkAllocsThatMayNotSleep();
  mmlab_page* a = mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC, 4);
  EXPECT_EQ(sim::ChunkAllocsThatMayNotSleep(), nosleep + 1);
  mmlab_page* b = mmlab_core_alloc_pages(core_, MMLAB_GFP_NOWAIT, 4);
  EXPECT_EQ(sim::ChunkAllocsThatMayNotSleep(), nosleep + 2);
  mmlab_page* c = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);
  EXPECT_EQ(sim::ChunkAllocsThatMaySleep(), sleep + 1);
  mmlab_core___free_pages(core_, a, 4);
  mmlab_core___free_pages(core_, b, 4);
  mmlab_core___free_pages(core_, c, 4);
}

TEST_F(Capacity, ShrinkReturnsExactlyTheFullyFreeChunks) {
  NewBuddyCore(4, 4);
  mmlab_page* top[4];
  for (auto& p : top)
    p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);
  mmlab_core___free_pages(core_, top[1], 4);
  mmlab_core___free_pages(core_, top[3], 4);
  // Chunk 0 keeps one page in use: partly free is not free.
  mmlab_core___free_pages(core_, top[0], 4);
  mmlab_page* small = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(small, nullptr);
  uint64_t free_chunks_before = NrFree()[4];
  ASSERT_EQ(free_chunks_before, 2u);

  uint64_t returned = 0;
  EXPECT_EQ(mmlab_core_shrink(core_, &returned), MMLAB_OK);
  EXPECT_EQ(returned, 2u);
  struct mmlab_core_counters c = Counters();
  EXPECT_EQ(c.host_chunks, 2u);
  EXPECT_EQ(c.host_pages, 32u);
  EXPECT_EQ(c.host_chunks_returned, 2u);
  EXPECT_EQ(c.used_pages, 17u);
  EXPECT_EQ(c.free_pages, 15u);
  EXPECT_EQ(sim::ChunksOutstanding(), 2u);
  EXPECT_EQ(NrFree()[4], 0u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);

  EXPECT_EQ(Result("shrink"), "returned 0 chunks");
  mmlab_core___free_pages(core_, small, 0);
  EXPECT_EQ(Result("shrink"), "returned 1 chunks");
  mmlab_core___free_pages(core_, top[2], 4);
  EXPECT_EQ(Result("shrink"), "returned 1 chunks");
  EXPECT_EQ(Counters().host_chunks, 0u);
  EXPECT_EQ(sim::ChunksOutstanding(), 0u);
}

TEST_F(Capacity, ShrinkFreesCapacityForNewChunks) {
  NewBuddyCore(4, 2);
  mmlab_page* a = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);
  mmlab_page* b = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);
  mmlab_core___free_pages(core_, a, 4);
  uint64_t n = 0;
  mmlab_core_shrink(core_, &n);
  ASSERT_EQ(n, 1u);
  mmlab_page* c = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);
  EXPECT_NE(c, nullptr) << "the returned chunk's share of capacity is available again";
  mmlab_core___free_pages(core_, b, 4);
  mmlab_core___free_pages(core_, c, 4);
}

TEST_F(Capacity, DestroyReturnsEveryChunk) {
  NewBuddyCore(4, 4);
  std::vector<mmlab_page*> pages;
  for (int i = 0; i < 40; i++)
    pages.push_back(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0));
  for (mmlab_page* p : pages)
    mmlab_core___free_pages(core_, p, 0);
  EXPECT_EQ(sim::ChunksOutstanding(), 3u);
  EXPECT_EQ(Destroy(), 0u);
  EXPECT_EQ(sim::ChunksOutstanding(), 0u);
}

TEST_F(Capacity, DestroyFreesWhatTheControlFileStillHolds) {
  NewCore(4, 4);
  ASSERT_EQ(Control("alloc order=2"), MMLAB_OK);
  ASSERT_EQ(Control("alloc order=4"), MMLAB_OK);
  EXPECT_EQ(Destroy(), 0u);
  EXPECT_EQ(sim::CountLogs("still allocated"), 0u);
}

TEST_F(Capacity, DestroyLeaksChunksStillInUseAndNamesEachBlock) {
  NewBuddyCore(4, 4);
  mmlab_page* kept = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO, 1);
  mmlab_page* also = mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC, 0);
  mmlab_page* full = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);  // second chunk
  mmlab_page* gone = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);  // third chunk
  mmlab_core___free_pages(core_, gone, 4);
  uint64_t kept_pfn = Pfn(kept);
  uint64_t full_pfn = Pfn(full);
  (void)also;

  // Two chunks are in use and stay with the core's users; the free one goes.
  EXPECT_EQ(Destroy(), 32u) << "pages of the chunks that could not be returned";
  EXPECT_EQ(sim::ChunksOutstanding(), 2u);
  char line[128];
  snprintf(line, sizeof(line), "pfn 0x%lx order 1 still allocated (gfp GFP_KERNEL|__GFP_ZERO)",
           static_cast<unsigned long>(kept_pfn));
  EXPECT_EQ(sim::CountLogs(line, MMLAB_LOG_ERR), 1u) << sim::LogText();
  snprintf(line, sizeof(line), "pfn 0x%lx order 4 still allocated (gfp GFP_KERNEL)",
           static_cast<unsigned long>(full_pfn));
  EXPECT_EQ(sim::CountLogs(line, MMLAB_LOG_ERR), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("order 0 still allocated (gfp GFP_ATOMIC)"), 1u);
  EXPECT_EQ(sim::CountLogs("leaking 2 chunks (32 pages) to keep 19 pages in use safe"), 1u)
      << sim::LogText();
  EXPECT_EQ(sim::ReleaseLeakedChunks(), 2u);
}

}  // namespace
}  // namespace mmlab_test
