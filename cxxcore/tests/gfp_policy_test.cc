// SPDX-License-Identifier: GPL-2.0
//
// gfp_policy_test.cc - what each GFP flag does to an allocation: which
// watermark it may dig to, whether it may sleep and reclaim, how often it
// retries, whether it may fail, and how a failure is explained. Every flag
// of the control file's list has a test here (or in zero_test.cc for
// __GFP_ZERO, zone_test.cc for GFP_DMA32) that fails if it were ignored.
#include <atomic>
#include <chrono>
#include <thread>

#include "test_util.h"

namespace mmlab_test {
namespace {

// One 64-page DMA32 zone (Normal has no share), min_free_kbytes 64: min 16,
// low 20, high 24 pages. Reserves: __GFP_HIGH min 8; GFP_ATOMIC 6.
class Reserves : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    mmlab_core_config cfg = Config(4, 64);
    cfg.zone_pages[MMLAB_ZONE_DMA32] = 64;
    cfg.min_free_kbytes = 64;
    NewCoreWith(cfg);
    ASSERT_EQ(Zoneinfo("DMA32", "min"), 16u);
  }
  void TearDown() override {
    for (mmlab_page* p : held_)
      EXPECT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
    CoreTest::TearDown();
  }
  // Allocates order-0 pages with gfp until it fails; returns how many.
  int Take(mmlab_gfp_t gfp) {
    int n = 0;
    while (mmlab_page* p = mmlab_core_alloc_pages(core_, gfp | MMLAB___GFP_NOWARN, 0)) {
      held_.push_back(p);
      n++;
    }
    return n;
  }
  uint64_t Free() { return Zoneinfo("DMA32", "nr_free_pages"); }

  std::vector<mmlab_page*> held_;
};

TEST_F(Reserves, KernelStopsAtMinHighAtHalfOfItAtomicBelowThat) {
  EXPECT_EQ(Take(MMLAB_GFP_KERNEL), 48) << "GFP_KERNEL leaves min (16 pages) free";
  EXPECT_EQ(Free(), 16u);
  EXPECT_EQ(Zoneinfo("DMA32", "present"), 64u) << "and reclaim borrowed the whole zone for it";
  EXPECT_EQ(Take(MMLAB_GFP_NOWAIT), 0) << "GFP_NOWAIT may not touch the reserve";
  EXPECT_EQ(Take(MMLAB_GFP_KERNEL | MMLAB___GFP_HIGH), 8) << "__GFP_HIGH: min - min/2";
  EXPECT_EQ(Free(), 8u);
  EXPECT_EQ(Take(MMLAB_GFP_NOWAIT), 0);
  EXPECT_EQ(Take(MMLAB_GFP_ATOMIC), 2) << "GFP_ATOMIC: a further quarter, down to 6";
  EXPECT_EQ(Free(), 6u);
  EXPECT_EQ(Zoneinfo("DMA32", "nr_alloc_reserve"), 10u) << "each of those needed the reserve";
  EXPECT_EQ(Stat("used_pages"), 58u);
}

TEST_F(Reserves, AtomicSucceedsBelowMinWhereNowaitFails) {
  ASSERT_EQ(Take(MMLAB_GFP_KERNEL), 48);
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_NOWAIT | MMLAB___GFP_NOWARN, 0), nullptr);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC, 0);
  ASSERT_NE(p, nullptr);
  held_.push_back(p);
  EXPECT_EQ(Zoneinfo("DMA32", "nr_alloc_reserve"), 1u);
  EXPECT_EQ(Zoneinfo("DMA32", "nr_alloc_fallback"), 49u) << "Normal requests served by DMA32";
}

TEST_F(Reserves, NomemallocKeepsAtomicOutOfTheDeepestReserve) {
  ASSERT_EQ(Take(MMLAB_GFP_KERNEL), 48);
  EXPECT_EQ(Take(MMLAB_GFP_ATOMIC | MMLAB___GFP_NOMEMALLOC), 8) << "only __GFP_HIGH's half";
  EXPECT_EQ(Take(MMLAB_GFP_ATOMIC), 2);
}

TEST_F(Reserves, MemallocIgnoresTheWatermarks) {
  ASSERT_EQ(Take(MMLAB_GFP_KERNEL), 48);
  EXPECT_EQ(Take(MMLAB_GFP_KERNEL | MMLAB___GFP_MEMALLOC), 16);
  EXPECT_EQ(Free(), 0u);
  EXPECT_EQ(Zoneinfo("DMA32", "nr_alloc_reserve"), 16u);
}

TEST_F(Reserves, AtomicRequestsBorrowWithoutSleepingButNeverReclaim) {
  uint64_t nosleep = sim::ChunkAllocsThatMayNotSleep();
  uint64_t sleep = sim::ChunkAllocsThatMaySleep();
  uint64_t on_each_cpu = sim::OnEachCpuCalls();
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC, 0);
  ASSERT_NE(p, nullptr);
  held_.push_back(p);
  // Just enough for this request above its (reduced) min: 6 < 16 - 0.
  EXPECT_EQ(sim::ChunkAllocsThatMayNotSleep(), nosleep + 1);
  EXPECT_EQ(sim::ChunkAllocsThatMaySleep(), sleep);
  EXPECT_EQ(sim::OnEachCpuCalls(), on_each_cpu) << "no drain: that needs on_each_cpu";
  EXPECT_EQ(Zoneinfo("DMA32", "nr_reclaim_passes"), 0u);
  EXPECT_GT(sim::KswapdWakes(), 0u) << "kswapd is asked to do the rest";
}

using GfpPolicy = CoreTest;

TEST_F(GfpPolicy, KernelMaySleepAndReclaim) {
  NewCore(4, 4);
  uint64_t might_sleep = sim::MightSleepCalls();
  uint64_t sleep = sim::ChunkAllocsThatMaySleep();
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_GT(sim::MightSleepCalls(), might_sleep);
  EXPECT_GT(sim::ChunkAllocsThatMaySleep(), sleep);
  EXPECT_EQ(Zoneinfo("Normal", "nr_reclaim_passes"), 1u);
  mmlab_core___free_pages(core_, p, 0);
}

TEST_F(GfpPolicy, NoioNofsAndUserAreRecordedWithTheirOwnBits) {
  NewCore(4, 8);
  const struct {
    mmlab_gfp_t gfp;
    const char* name;
  } cases[] = {{MMLAB_GFP_NOIO, "GFP_NOIO"},
               {MMLAB_GFP_NOFS, "GFP_NOFS"},
               {MMLAB_GFP_USER, "GFP_USER"}};
  for (const auto& c : cases) {
    mmlab_page* p = mmlab_core_alloc_pages(core_, c.gfp, 0);
    ASSERT_NE(p, nullptr) << c.name;
    mmlab_core___free_pages(core_, p, 0);
  }
  // NOIO has neither IO nor FS; NOFS has IO; USER has both and HARDWALL.
  std::string stats = Render(MMLAB_VIEW_STATS);
  EXPECT_EQ(ViewValue(stats, "", "__GFP_DIRECT_RECLAIM"), 3u) << stats;
  EXPECT_EQ(ViewValue(stats, "", "__GFP_IO"), 2u) << stats;
  EXPECT_EQ(ViewValue(stats, "", "__GFP_FS"), 1u) << stats;
  EXPECT_EQ(ViewValue(stats, "", "__GFP_HARDWALL"), 1u) << stats;
}

TEST_F(GfpPolicy, PerFlagTableCountsFailuresPerBit) {
  NewBuddyCore(4, 1);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC | MMLAB___GFP_NOWARN, 0), nullptr);
  ASSERT_EQ(mmlab_core___free_pages(core_, p, 4), MMLAB_OK);
  std::string stats = Render(MMLAB_VIEW_STATS);
  EXPECT_NE(stats.find("\n__GFP_HIGH                      0          1\n"), std::string::npos)
      << stats;
  EXPECT_NE(stats.find("\n__GFP_NOWARN                    0          1\n"), std::string::npos);
  EXPECT_NE(stats.find("\n__GFP_KSWAPD_RECLAIM            1          1\n"), std::string::npos);
  EXPECT_NE(stats.find("\n__GFP_DIRECT_RECLAIM            1          0\n"), std::string::npos);
}

// The host refuses every chunk, so reclaim can never make progress.
class Retries : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    NewCore(4, 4);
    sim::FailChunkAllocs(-1);
  }
  void TearDown() override {
    sim::FailChunkAllocs(0);
    CoreTest::TearDown();
  }
};

TEST_F(Retries, NoretryGivesUpAfterOnePass) {
  uint64_t sleeps = sim::SleepCalls();
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NORETRY, 0), nullptr);
  EXPECT_EQ(Zoneinfo("Normal", "nr_reclaim_passes"), 1u);
  EXPECT_EQ(sim::SleepCalls(), sleeps);
}

TEST_F(Retries, KernelRetriesSixteenTimesWhileReclaimCouldStillHelp) {
  uint64_t sleeps = sim::SleepCalls();
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0), nullptr);
  EXPECT_EQ(Zoneinfo("Normal", "nr_reclaim_passes"), 17u) << "one pass and 16 retries";
  EXPECT_EQ(Zoneinfo("DMA32", "nr_reclaim_passes"), 17u) << "each pass falls back to DMA32 too";
  EXPECT_EQ(sim::SleepCalls(), sleeps + 16) << "with a nap between passes";
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_RETRY_MAYFAIL, 0), nullptr);
  EXPECT_EQ(Zoneinfo("Normal", "nr_reclaim_passes"), 34u);
}

TEST_F(GfpPolicy, KernelDoesNotRetryWhenNothingCouldHelp) {
  mmlab_core_config cfg = Config(4, 16);  // one chunk, all DMA32
  cfg.zone_pages[MMLAB_ZONE_DMA32] = 16;
  NewCoreWith(cfg);
  ASSERT_EQ(Control("min_free_kbytes=0"), MMLAB_OK);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 4);
  ASSERT_NE(p, nullptr);
  uint64_t sleeps = sim::SleepCalls();
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN, 0), nullptr);
  EXPECT_EQ(Zoneinfo("DMA32", "nr_reclaim_passes"), 2u) << "the first request's and this one";
  EXPECT_EQ(sim::SleepCalls(), sleeps) << "capacity reached, nothing to reclaim: no retry";
  ASSERT_EQ(mmlab_core___free_pages(core_, p, 4), MMLAB_OK);
}

TEST_F(Retries, NofailWaitsUntilTheHostRelents) {
  std::atomic<mmlab_page*> got{nullptr};
  std::thread waiter([&] {
    sim::BindCpu(1);
    got = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NOFAIL, 0);
  });
  // Past the 17 passes a plain GFP_KERNEL request gets...
  while (Zoneinfo("Normal", "nr_reclaim_passes") < 20)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(got.load(), nullptr) << "still waiting";
  // ...and past the 10 s after which it says it is stalling.
  sim::AdvanceClock(11000000000ull);
  while (sim::CountLogs("page allocation stalls for ", MMLAB_LOG_WARN) == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(sim::CountLogs("order:0, mode:0x26c(GFP_KERNEL|__GFP_NOFAIL)"), 1u) << sim::LogText();
  sim::FailChunkAllocs(0);
  waiter.join();
  ASSERT_NE(got.load(), nullptr);
  mmlab_core___free_pages(core_, got.load(), 0);
}

TEST_F(GfpPolicy, NofailWaitsUntilAnotherThreadFrees) {
  NewBuddyCore(4, 2);
  std::vector<mmlab_page*> all;
  while (mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN, 0))
    all.push_back(p);
  ASSERT_EQ(all.size(), 32u);
  std::atomic<mmlab_page*> got{nullptr};
  uint64_t sleeps = sim::SleepCalls();
  std::thread waiter([&] {
    sim::BindCpu(2);
    got = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NOFAIL, 0);
  });
  while (sim::SleepCalls() < sleeps + 3)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(got.load(), nullptr);
  // Freed on CPU 0; the waiter's reclaim drains every CPU's lists.
  mmlab_page* freed = all.back();
  all.pop_back();
  ASSERT_EQ(mmlab_core___free_pages(core_, freed, 0), MMLAB_OK);
  waiter.join();
  EXPECT_EQ(got.load(), freed);
  all.push_back(got);
  EXPECT_GT(sim::KswapdWakes(), 0u);
  for (mmlab_page* p : all)
    ASSERT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
}

TEST_F(GfpPolicy, NofailWithoutDirectReclaimCannotBeHonouredAndSaysSo) {
  NewBuddyCore(4, 1);
  sim::FailChunkAllocs(-1);
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC | MMLAB___GFP_NOFAIL, 0), nullptr);
  EXPECT_EQ(sim::CountLogs("__GFP_NOFAIL without __GFP_DIRECT_RECLAIM cannot be honoured",
                           MMLAB_LOG_WARN),
            1u);
  sim::FailChunkAllocs(0);
}

// Atomic contexts: nothing on the path may sleep. The simulated host
// aborts on might_sleep(), a sleep, on_each_cpu or a may-sleep host
// allocation while the context is atomic, so surviving this is the proof.
TEST_F(GfpPolicy, AtomicPathsNeverSleep) {
  NewCore(4, 8);
  struct Work {
    mmlab_core* core;
    int got = 0, failed = 0;
  } work{core_};
  auto body = [](void* arg) {
    Work* w = static_cast<Work*>(arg);
    EXPECT_TRUE(sim::InAtomicContext());
    std::vector<std::pair<mmlab_page*, uint32_t>> held;
    for (int round = 0; round < 3; round++) {
      for (uint32_t order : {0u, 1u, 3u, 4u, 0u, 2u}) {
        for (mmlab_gfp_t gfp : {MMLAB_GFP_ATOMIC, MMLAB_GFP_NOWAIT | MMLAB___GFP_ZERO,
                                MMLAB_GFP_ATOMIC | MMLAB_GFP_DMA32}) {
          mmlab_page* p = mmlab_core_alloc_pages(w->core, gfp, order);
          if (p) {
            held.push_back({p, order});
            w->got++;
          } else {
            w->failed++;  // capacity: the failure report is atomic-safe too
          }
        }
      }
      for (auto [p, order] : held)  // frees drain per-CPU lists to the buddy
        EXPECT_EQ(mmlab_core___free_pages(w->core, p, order), MMLAB_OK);
      held.clear();
    }
  };
  ASSERT_EQ(mmlab_host_run_in_context(MMLAB_HOST_CTX_IRQS_OFF, body, &work), 0);
  ASSERT_EQ(mmlab_host_run_in_context(MMLAB_HOST_CTX_TIMER, body, &work), 0);
  EXPECT_GT(work.got, 0);
  EXPECT_GT(work.failed, 0) << "the capacity ran out at times";
  EXPECT_GT(sim::ChunkAllocsThatMayNotSleep(), 0u);
}

TEST_F(GfpPolicy, SleepingAllocationInAnAtomicContextIsCaught) {
  NewCore(4, 4);
  auto body = [](void* core) {
    mmlab_core_alloc_pages(static_cast<mmlab_core*>(core), MMLAB_GFP_KERNEL, 0);
  };
  EXPECT_DEATH(mmlab_host_run_in_context(MMLAB_HOST_CTX_IRQS_OFF, body, core_),
               "sleeping function called from invalid context");
}

// A 4-chunk core, its capacity used up by the pressure pool.
class FailureReport : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    NewCore(4, 4);
    std::string r;
    // GFP_KERNEL leaves each zone its min: Normal 24 of 48, DMA32 8 of 16.
    EXPECT_EQ(Control("pressure consume=64 gfp=GFP_KERNEL|__GFP_NOWARN", &r), MMLAB_ENOMEM);
    ASSERT_EQ(r, "control: pressure: consumed 32 of 64 pages, holding 32");
    sim::ClearLogs();
  }
  size_t Reports() { return sim::CountLogs("page allocation failure:", MMLAB_LOG_WARN); }
};

TEST_F(FailureReport, ExplainsOrderModeZonesAndReclaim) {
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NORETRY, 2), nullptr);
  EXPECT_EQ(Reports(), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("page allocation failure: order:2, mode:0x46c(GFP_KERNEL|__GFP_NORETRY)",
                           MMLAB_LOG_WARN),
            1u)
      << sim::LogText();
  EXPECT_EQ(sim::CountLogs("  zonelist: Normal DMA32; direct reclaim: 1 pass (__GFP_NORETRY), 0 "
                           "pages borrowed",
                           MMLAB_LOG_WARN),
            1u)
      << sim::LogText();
  EXPECT_EQ(sim::CountLogs("reserves: none"), 1u);
  // show_free_areas: each zone against its marks, its free blocks per
  // order, and why it said no.
  EXPECT_EQ(sim::CountLogs("Node 0 Normal free:"), 1u);
  EXPECT_EQ(sim::CountLogs("min:96kB low:120kB high:144kB protection:0kB"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("Node 0 DMA32 free:"), 1u);
  EXPECT_EQ(sim::CountLogs("min:32kB low:40kB high:48kB protection:0kB"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("Node 0 Normal: "), 1u);
  EXPECT_EQ(sim::CountLogs("*4kB "), 2u);
  EXPECT_EQ(sim::CountLogs("  Normal: below the watermark"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("capacity reached"), 2u);
  EXPECT_EQ(sim::CountLogs("largest free order"), 2u);
}

TEST_F(FailureReport, AtomicFailureSaysReservesAndNoReclaim) {
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC, 4), nullptr);
  EXPECT_EQ(sim::CountLogs("mode:0x42(GFP_ATOMIC)"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("no direct reclaim (atomic; 0 pages borrowed without sleeping)"), 1u);
  EXPECT_EQ(sim::CountLogs("reserves: min-1/2-1/4 (atomic __GFP_HIGH)"), 1u);
}

TEST_F(FailureReport, NowarnStaysQuiet) {
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN, 3), nullptr);
  EXPECT_TRUE(sim::Logs().empty()) << sim::LogText();
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 3), nullptr);
  EXPECT_EQ(Reports(), 1u) << "a __GFP_NOWARN failure does not use up the rate limit";
}

TEST_F(FailureReport, AtMostOneReportEveryFiveSeconds) {
  for (int i = 0; i < 5; i++)
    EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 3), nullptr);
  EXPECT_EQ(Reports(), 1u);
  sim::AdvanceClock(4000000000ull);
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 3), nullptr);
  EXPECT_EQ(Reports(), 1u) << "4 s later: still quiet";
  sim::AdvanceClock(1000000000ull);
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 3), nullptr);
  EXPECT_EQ(Reports(), 2u) << "5 s after the first report";
  EXPECT_EQ(sim::CountLogs("warn_alloc: 5 callbacks suppressed", MMLAB_LOG_WARN), 1u)
      << sim::LogText();
  std::string stats = Render(MMLAB_VIEW_STATS);
  EXPECT_NE(stats.find("\n    3          0          0          7\n"), std::string::npos) << stats;
}

}  // namespace
}  // namespace mmlab_test
