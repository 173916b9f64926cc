// SPDX-License-Identifier: GPL-2.0
//
// concurrency_test.cc - several threads allocating, freeing, growing and
// shrinking one core at the same time.
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core.h"  // Zone::Shrink alone, without the drain
#include "test_util.h"

namespace mmlab_test {
namespace {

using Concurrency = CoreTest;

// Each thread runs on its own simulated CPU (so on its own per-CPU lists),
// tags the pages it owns and checks the tags before freeing: two threads
// handed the same block would overwrite each other's tags. kswapd runs in
// a thread of its own, woken by the allocations.
TEST_F(Concurrency, ThreadsAllocatingAndFreeingKeepTheCoreConsistent) {
  NewCore(5, 16);
  sim::StartKswapdThread(core_);
  constexpr int kThreads = 4;
  constexpr int kOps = 20000;
  std::atomic<int> errors{0};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> successes{0}, failures{0};

  auto worker = [&](int id) {
    sim::BindCpu(static_cast<uint32_t>(id));
    std::mt19937 rng(static_cast<unsigned>(id) * 7919u);
    std::vector<std::pair<mmlab_page*, uint32_t>> mine;
    auto tag = [&](mmlab_page* p, uint32_t order) {
      uint64_t* words = static_cast<uint64_t*>(mmlab_core_page_address(core_, p));
      for (uint32_t i = 0; i < (1u << order); i++)
        words[i * 512] = (uint64_t(id) << 32) | mmlab_core_page_to_pfn(core_, p);
    };
    auto tag_ok = [&](mmlab_page* p, uint32_t order) {
      uint64_t* words = static_cast<uint64_t*>(mmlab_core_page_address(core_, p));
      for (uint32_t i = 0; i < (1u << order); i++)
        if (words[i * 512] != ((uint64_t(id) << 32) | mmlab_core_page_to_pfn(core_, p)))
          return false;
      return true;
    };
    for (int i = 0; i < kOps; i++) {
      if (mine.empty() || rng() % 2) {
        uint32_t order = rng() % 4;
        mmlab_gfp_t gfp = rng() % 2 ? MMLAB_GFP_KERNEL : MMLAB_GFP_ATOMIC | MMLAB___GFP_ZERO;
        mmlab_page* p = mmlab_core_alloc_pages(core_, gfp, order);
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
        if (mmlab_core___free_pages(core_, p, order) != MMLAB_OK)
          errors++;
      }
    }
    for (auto [p, order] : mine) {
      if (!tag_ok(p, order) || mmlab_core___free_pages(core_, p, order) != MMLAB_OK)
        errors++;
    }
  };

  // Meanwhile: checker, views, shrink and the control file, all concurrently.
  std::thread observer([&] {
    sim::BindCpu(1);
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
      if (c.free_pages + c.used_pages + c.pcp_pages != c.host_pages ||
          c.host_pages > c.capacity_pages)
        errors++;
      Render(MMLAB_VIEW_ZONEINFO);
      mmlab_core_control(core_, "drain", 5, r, sizeof(r));
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++)
    threads.emplace_back(worker, t);
  for (auto& t : threads)
    t.join();
  stop = true;
  observer.join();
  sim::StopKswapdThread();

  EXPECT_EQ(errors.load(), 0) << sim::LogText();
  EXPECT_GT(successes.load(), 10000u);
  EXPECT_GT(failures.load(), 0u) << "the capacity was reached at times";
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  struct mmlab_core_counters c = Counters();
  EXPECT_EQ(c.used_pages, 0u);
  EXPECT_EQ(c.free_pages + c.pcp_pages, c.host_pages);
  EXPECT_GT(sim::KswapdWakes(), 0u) << "the zones went below their low watermarks";
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
    NewBuddyCore(3, kChunks);  // one chunk per allocation, no reserve held back
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
        while (mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 3)) {
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
        EXPECT_EQ(mmlab_core___free_pages(core_, p, 3), MMLAB_OK);
    EXPECT_EQ(Destroy(), 0u);
  }
}

// Blocks change hands between CPUs: each thread frees what another one
// allocated, so the per-CPU lists fill on one CPU and drain on another,
// while a shrinker thread keeps returning chunks (replacing the chunk
// index the lock-free free path reads) and draining every CPU. ASan
// catches any read of an index or descriptor freed too early.
TEST_F(Concurrency, PagesFreedOnOtherCpusWhileZonesGrowAndShrink) {
  NewCore(3, 32);
  constexpr int kThreads = 4;
  constexpr int kRounds = 3000;
  std::mutex mu;
  std::vector<std::pair<mmlab_page*, uint32_t>> handoff[kThreads];
  std::atomic<int> errors{0};
  std::atomic<bool> stop{false};
  auto worker = [&](int id) {
    sim::BindCpu(static_cast<uint32_t>(id));
    std::mt19937 rng(static_cast<unsigned>(id) + 17);
    for (int i = 0; i < kRounds; i++) {
      uint32_t order = rng() % 5;
      mmlab_gfp_t gfp = rng() % 3 ? MMLAB_GFP_KERNEL : MMLAB_GFP_ATOMIC;
      mmlab_page* p = mmlab_core_alloc_pages(core_, gfp | MMLAB___GFP_NOWARN, order);
      std::vector<std::pair<mmlab_page*, uint32_t>> mine;
      {
        std::lock_guard<std::mutex> g(mu);
        if (p)
          handoff[(id + 1) % kThreads].push_back({p, order});
        mine.swap(handoff[id]);
      }
      for (auto [q, o] : mine) {
        if (mmlab_core___free_pages(core_, q, o) != MMLAB_OK)
          errors++;
      }
    }
  };
  std::thread shrinker([&] {
    sim::BindCpu(0);
    uint64_t n;
    while (!stop) {
      mmlab_core_shrink(core_, &n);
      mmlab_core_drain_all(core_);
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++)
    threads.emplace_back(worker, t);
  for (auto& t : threads)
    t.join();
  stop = true;
  shrinker.join();
  for (auto& list : handoff)
    for (auto [q, o] : list)
      if (mmlab_core___free_pages(core_, q, o) != MMLAB_OK)
        errors++;
  EXPECT_EQ(errors.load(), 0) << sim::LogText();
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(Counters().used_pages, 0u);
  EXPECT_GT(Counters().host_chunks_returned, 0u) << "chunks came and went";
  EXPECT_EQ(sim::CountLogs("bad free"), 0u) << sim::LogText();
}

// The free fast path looks chunks up with interrupts off and no lock, so a
// chunk (and the index that listed it) may only go once every CPU has had
// interrupts on again: a CPU sitting in such a section holds the return up.
TEST_F(Concurrency, ChunksGoBackOnlyAfterEveryCpuLeftItsInterruptsOffSection) {
  NewBuddyCore(4, 2);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);
  ASSERT_EQ(mmlab_core___free_pages(core_, p, 4), MMLAB_OK);  // one fully free chunk
  std::atomic<int> phase{0};
  std::thread reader([&] {
    sim::BindCpu(2);
    uint32_t cpu;
    unsigned long flags = mmlab_host_local_irq_save(&cpu);
    phase = 1;
    while (phase != 2)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    mmlab_host_local_irq_restore(flags);
  });
  while (phase != 1)
    std::this_thread::yield();
  uint64_t returned = sim::ChunksReturned();
  std::atomic<uint64_t> shrunk{~uint64_t{0}};
  std::thread shrinker([&] {
    shrunk = mmlab::Core::From(core_)->zone(MMLAB_ZONE_NORMAL).Shrink();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(sim::ChunksReturned(), returned) << "CPU 2 may still be reading that chunk";
  EXPECT_EQ(shrunk.load(), ~uint64_t{0});
  phase = 2;
  shrinker.join();
  reader.join();
  EXPECT_EQ(shrunk.load(), 1u);
  EXPECT_EQ(sim::ChunksReturned(), returned + 1);
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

// cache_alloc_bulk promises consecutive ids (docs/debugfs.md) while other
// writers commit objects too (found by the VM stress program: 4 objects
// "first 222 last 226").
TEST_F(Concurrency, BulkObjectsGetConsecutiveIdsWhileOthersAllocate) {
  NewCore(4, 8);
  char r[MMLAB_CONTROL_MAX];
  const std::string create = "cache_create name=bulk size=64";
  ASSERT_EQ(mmlab_core_control(core_, create.data(), create.size(), r, sizeof(r)), MMLAB_OK) << r;
  std::atomic<int> bad{0}, bulks{0};
  std::atomic<bool> stop{false};
  std::thread other([&] {
    char o[MMLAB_CONTROL_MAX];
    const std::string cmd = "kmalloc size=32";
    while (!stop.load())
      mmlab_core_control(core_, cmd.data(), cmd.size(), o, sizeof(o));
  });
  for (int i = 0; i < 300; i++) {
    const std::string cmd = "cache_alloc_bulk cache=1 count=64";
    if (mmlab_core_control(core_, cmd.data(), cmd.size(), r, sizeof(r)) != MMLAB_OK)
      continue;
    unsigned n = 0;
    unsigned long first = 0, last = 0;
    ASSERT_EQ(sscanf(r, "objects %u first %lu last %lu", &n, &first, &last), 3) << r;
    bulks++;
    if (last - first + 1 != n)
      bad++;
    for (unsigned long id = first; id <= last; id++) {
      const std::string f = "cache_free object=" + std::to_string(id);
      if (mmlab_core_control(core_, f.data(), f.size(), r, sizeof(r)) != MMLAB_OK)
        bad++;
    }
  }
  stop = true;
  other.join();
  EXPECT_GT(bulks.load(), 0);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(Control("check"), MMLAB_OK);
  Control("free_all");
}

}  // namespace
}  // namespace mmlab_test
