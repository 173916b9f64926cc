// SPDX-License-Identifier: GPL-2.0
//
// concurrency_test.cc - several threads allocating, freeing, growing and
// shrinking one core at the same time.
#include <pthread.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "test_util.h"

namespace mmlab_test {
namespace {

using Concurrency = CoreTest;

// Each thread tags the pages it owns and checks the tags before freeing:
// two threads handed the same block would overwrite each other's tags.
TEST_F(Concurrency, ThreadsAllocatingAndFreeingKeepTheCoreConsistent) {
  NewCore(5, 16);
  constexpr int kThreads = 4;
  constexpr int kOps = 20000;
  std::atomic<int> errors{0};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> successes{0}, failures{0};

  auto worker = [&](int id) {
    std::mt19937 rng(static_cast<unsigned>(id) * 7919u);
    std::vector<std::pair<mmlab_page*, uint32_t>> mine;
    auto tag = [&](mmlab_page* p, uint32_t order) {
      uint64_t* words = static_cast<uint64_t*>(mmlab_page_address(core_, p));
      for (uint32_t i = 0; i < (1u << order); i++)
        words[i * 512] = (uint64_t(id) << 32) | mmlab_page_to_pfn(core_, p);
    };
    auto tag_ok = [&](mmlab_page* p, uint32_t order) {
      uint64_t* words = static_cast<uint64_t*>(mmlab_page_address(core_, p));
      for (uint32_t i = 0; i < (1u << order); i++)
        if (words[i * 512] != ((uint64_t(id) << 32) | mmlab_page_to_pfn(core_, p)))
          return false;
      return true;
    };
    for (int i = 0; i < kOps; i++) {
      if (mine.empty() || rng() % 2) {
        uint32_t order = rng() % 4;
        mmlab_gfp_t gfp = rng() % 2 ? MMLAB_GFP_KERNEL : MMLAB_GFP_ATOMIC | MMLAB___GFP_ZERO;
        mmlab_page* p = mmlab_alloc_pages(core_, gfp, order);
        if (!p) {
          failures++;
          continue;
        }
        successes++;
        tag(p, order);
        mine.push_back({p, order});
      } else {
        size_t k = rng() % mine.size();
        auto [p, order] = mine[k];
        mine[k] = mine.back();
        mine.pop_back();
        if (!tag_ok(p, order))
          errors++;
        if (mmlab___free_pages(core_, p, order) != MMLAB_OK)
          errors++;
      }
    }
    for (auto [p, order] : mine) {
      if (!tag_ok(p, order) || mmlab___free_pages(core_, p, order) != MMLAB_OK)
        errors++;
    }
  };

  // Meanwhile: checker, views, shrink and the control file, all concurrently.
  std::thread observer([&] {
    uint64_t n;
    while (!stop) {
      if (mmlab_core_check(core_) != MMLAB_OK)
        errors++;
      Render(MMLAB_VIEW_BUDDYINFO);
      Render(MMLAB_VIEW_STATS);
      mmlab_core_shrink(core_, &n);
      char r[128];
      mmlab_core_control(core_, "alloc order=1", 13, r, sizeof(r));
      mmlab_core_control(core_, "free_all", 8, r, sizeof(r));
      struct mmlab_core_counters c;
      mmlab_core_counters(core_, &c);
      if (c.free_pages + c.used_pages != c.host_pages || c.host_pages > c.capacity_pages)
        errors++;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++)
    threads.emplace_back(worker, t);
  for (auto& t : threads)
    t.join();
  stop = true;
  observer.join();

  EXPECT_EQ(errors.load(), 0) << sim::LogText();
  EXPECT_GT(successes.load(), 10000u);
  EXPECT_GT(failures.load(), 0u) << "the capacity was reached at times";
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  struct mmlab_core_counters c = Counters();
  EXPECT_EQ(c.used_pages, 0u);
  EXPECT_EQ(sim::CountLogs("bad free"), 0u) << sim::LogText();
  uint64_t returned = 0;
  mmlab_core_shrink(core_, &returned);
  EXPECT_EQ(Counters().host_chunks, 0u);
}

// Growers reserve their chunk's share of the capacity under the lock before
// asking the host, so racing threads can never borrow past the capacity,
// not even briefly.
TEST_F(Concurrency, CapacityHoldsWhenManyThreadsGrowAtOnce) {
  constexpr int kThreads = 8;
  constexpr uint64_t kChunks = 5;
  for (int round = 0; round < 20; round++) {
    NewCore(3, kChunks);
    uint64_t borrowed = sim::ChunksBorrowed();
    std::atomic<int> ready{0};
    std::atomic<uint64_t> got{0};
    std::vector<std::vector<mmlab_page*>> held(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
      threads.emplace_back([&, t] {
        ready++;
        while (ready < kThreads) {
        }
        while (mmlab_page* p = mmlab_alloc_pages(core_, MMLAB_GFP_KERNEL, 3)) {
          held[t].push_back(p);
          got++;
        }
      });
    }
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(got.load(), kChunks);
    EXPECT_EQ(sim::ChunksBorrowed() - borrowed, kChunks) << "no chunk borrowed beyond capacity";
    EXPECT_EQ(Counters().host_chunks, kChunks);
    for (auto& v : held)
      for (mmlab_page* p : v)
        EXPECT_EQ(mmlab___free_pages(core_, p, 3), MMLAB_OK);
    EXPECT_EQ(Destroy(), 0u);
  }
}

TEST_F(Concurrency, ControlFileFromSeveralThreads) {
  NewCore(4, 8);
  std::atomic<int> errors{0};
  auto worker = [&](int id) {
    std::mt19937 rng(static_cast<unsigned>(id));
    char r[MMLAB_CONTROL_MAX];
    for (int i = 0; i < 3000; i++) {
      std::string cmd;
      switch (rng() % 5) {
        case 0:
        case 1:
          cmd = "alloc order=" + std::to_string(rng() % 3);
          break;
        case 2:
          cmd = "free " + std::to_string(1 + rng() % 400);
          break;
        case 3:
          cmd = "free_pfn pfn=0x" + std::to_string(rng() % 100) + " order=0";
          break;
        default:
          cmd = rng() % 8 ? "check" : "free_all";
      }
      mmlab_status st = mmlab_core_control(core_, cmd.data(), cmd.size(), r, sizeof(r));
      if (st == MMLAB_EUCLEAN)
        errors++;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back(worker, t);
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(errors.load(), 0) << sim::LogText();
  EXPECT_EQ(Control("check"), MMLAB_OK);
  Control("free_all");
  EXPECT_EQ(Counters().used_pages, 0u);
}

}  // namespace
}  // namespace mmlab_test
