// SPDX-License-Identifier: GPL-2.0
//
// reclaim_test.cc - kswapd and the shrinkers: kswapd is woken when a zone
// falls below low and brings one zone of the zonelist up to high, falls
// back along the zonelist when the host refuses, gives up at the capacity
// (saying so once) and stays quiet until memory comes back; shrinkers are
// asked for pages by direct reclaim and by kswapd, with the allocation's
// gfp.
#include <chrono>
#include <memory>
#include <thread>

#include "core.h"  // the shrinker registry is internal until slab caches use it
#include "test_util.h"

namespace mmlab_test {
namespace {

// 256 pages: DMA32 64 (min 8, low 10, high 12), Normal 192 (min 24, low
// 30, high 36); one page per per-CPU batch.
class Kswapd : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    NewCore(4, 16);
    ASSERT_EQ(Zoneinfo("Normal", "high"), 36u);
    ASSERT_EQ(Zoneinfo("DMA32", "high"), 12u);
  }
  void TearDown() override {
    for (mmlab_page* p : held_)
      EXPECT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
    CoreTest::TearDown();
  }
  void Take(int n) {
    for (int i = 0; i < n; i++) {
      held_.push_back(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0));
      ASSERT_NE(held_.back(), nullptr);
    }
  }
  std::vector<mmlab_page*> held_;
};

TEST_F(Kswapd, IsWokenBelowLowAndBalancesOneZoneToHigh) {
  uint64_t wakes = sim::KswapdWakes();
  Take(1);  // the empty zones are below low: woken, and reclaim borrows to high
  EXPECT_EQ(sim::KswapdWakes(), wakes + 1);
  EXPECT_EQ(Zoneinfo("Normal", "present"), 48u);
  Take(17);  // Normal at 30 free: not below low yet
  EXPECT_EQ(sim::KswapdWakes(), wakes + 1);
  Take(1);  // the low check fails, the min check serves it
  EXPECT_EQ(sim::KswapdWakes(), wakes + 2);
  EXPECT_EQ(Zoneinfo("Normal", "nr_free_pages"), 29u);
  EXPECT_EQ(Zoneinfo("Normal", "nr_kswapd_wakeups"), 2u);
  EXPECT_EQ(Zoneinfo("Normal", "nr_reclaim_passes"), 1u) << "no direct reclaim needed";

  mmlab_core_kswapd(core_);
  EXPECT_EQ(Stat("kswapd_runs"), 1u);
  EXPECT_EQ(Zoneinfo("Normal", "present"), 64u);
  EXPECT_EQ(Zoneinfo("Normal", "nr_free_pages"), 45u) << "above high (36) again";
  EXPECT_EQ(Zoneinfo("Normal", "nr_kswapd_borrowed"), 16u);
  EXPECT_EQ(Zoneinfo("DMA32", "present"), 0u) << "one balanced zone is enough";

  mmlab_core_kswapd(core_);  // nothing asked since: a spurious wake-up
  EXPECT_EQ(Stat("kswapd_runs"), 2u);
  EXPECT_EQ(Zoneinfo("Normal", "present"), 64u);
}

TEST_F(Kswapd, FallsBackAlongTheZonelistWhenTheHostRefuses) {
  Take(19);
  ASSERT_EQ(Zoneinfo("Normal", "nr_free_pages"), 29u);
  sim::FailZoneChunkAllocs(MMLAB_HOST_ZONE_NORMAL, -1);
  mmlab_core_kswapd(core_);
  EXPECT_EQ(Zoneinfo("Normal", "present"), 48u);
  EXPECT_EQ(Zoneinfo("DMA32", "present"), 16u);
  EXPECT_EQ(Zoneinfo("DMA32", "nr_kswapd_borrowed"), 16u);
  EXPECT_EQ(sim::CountLogs("kswapd:"), 0u) << sim::LogText();
  sim::FailZoneChunkAllocs(MMLAB_HOST_ZONE_NORMAL, 0);
}

TEST_F(Kswapd, GivesUpAtTheCapacitySaysSoOnceAndWaitsForMemory) {
  std::string r;
  EXPECT_EQ(Control("pressure consume=256 gfp=GFP_KERNEL|__GFP_NOWARN", &r), MMLAB_ENOMEM);
  EXPECT_EQ(r, "control: pressure: consumed 224 of 256 pages, holding 224") << "all but the mins";
  mmlab_core_kswapd(core_);
  EXPECT_EQ(sim::CountLogs("kswapd: zone Normal stays below high (24 free, high 36, protection "
                           "0, 192/192 pages borrowed): capacity reached; giving up until memory "
                           "comes back",
                           MMLAB_LOG_INFO),
            1u)
      << sim::LogText();
  EXPECT_EQ(sim::CountLogs("kswapd: zone DMA32 stays below high (8 free, high 12", MMLAB_LOG_INFO),
            1u);
  EXPECT_EQ(Zoneinfo("Normal", "node_unreclaimable:"), 1u);
  EXPECT_EQ(Zoneinfo("DMA32", "node_unreclaimable:"), 1u);

  // Hopeless zones do not wake kswapd again, and it says nothing more.
  uint64_t wakes = sim::KswapdWakes();
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN, 0), nullptr);
  EXPECT_EQ(sim::KswapdWakes(), wakes);
  mmlab_core_kswapd(core_);
  EXPECT_EQ(sim::CountLogs("kswapd:"), 2u);

  // Memory comes back: capacity returned by shrink clears the mark.
  EXPECT_EQ(Result("pressure release=all"), "pressure: released 224 pages, holding 0");
  EXPECT_NE(Result("shrink"), "returned 0 chunks");
  EXPECT_EQ(Zoneinfo("Normal", "node_unreclaimable:"), 0u);
  EXPECT_EQ(Zoneinfo("DMA32", "node_unreclaimable:"), 0u);
}

TEST_F(Kswapd, KswapdByHandForgetsThatItGaveUp) {
  EXPECT_EQ(Control("pressure consume=256 gfp=GFP_KERNEL|__GFP_NOWARN"), MMLAB_ENOMEM);
  mmlab_core_kswapd(core_);
  ASSERT_EQ(Zoneinfo("Normal", "node_unreclaimable:"), 1u);
  uint64_t wakes = sim::KswapdWakes();
  EXPECT_EQ(Result("kswapd"), "kswapd woken");
  EXPECT_EQ(sim::KswapdWakes(), wakes + 1);
  EXPECT_EQ(Zoneinfo("Normal", "node_unreclaimable:"), 0u);
  mmlab_core_kswapd(core_);
  EXPECT_EQ(sim::CountLogs("kswapd: zone Normal stays below high"), 2u) << "a new attempt";
}

TEST_F(Kswapd, RunsInItsOwnThreadWhenWoken) {
  sim::StartKswapdThread(core_);
  Take(19);  // the second wake-up finds Normal below low
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Zoneinfo("Normal", "present") < 64 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  sim::StopKswapdThread();
  EXPECT_EQ(Zoneinfo("Normal", "present"), 64u);
  EXPECT_GE(sim::KswapdThreadRuns(), 1u);
}

// A cache of pages that gives them back when a shrinker asks. An "fs"
// cache refuses callers that may not enter the filesystem (no __GFP_FS),
// as Linux's superblock shrinker does.
struct TestCache {
  mmlab::Shrinker shrinker = {};
  mmlab_core* core = nullptr;
  std::vector<mmlab_page*> pages;
  bool needs_fs = false;
  int scans = 0;
  mmlab_gfp_t last_gfp = 0;

  TestCache(mmlab_core* c, const char* name, bool fs) : core(c), needs_fs(fs) {
    shrinker.name = name;
    shrinker.count_objects = Count;
    shrinker.scan_objects = Scan;
    shrinker.private_data = this;
  }
  void Fill(int n) {
    for (int i = 0; i < n; i++) {
      pages.push_back(mmlab_core_alloc_pages(core, MMLAB_GFP_KERNEL, 0));
      ASSERT_NE(pages.back(), nullptr);
    }
  }
  void Empty() {
    for (mmlab_page* p : pages)
      EXPECT_EQ(mmlab_core___free_pages(core, p, 0), MMLAB_OK);
    pages.clear();
  }
  mmlab::ShrinkerList& registry() { return mmlab::Core::From(core)->shrinkers(); }

  static uint64_t Count(mmlab::Shrinker* s, mmlab::ShrinkControl* sc) {
    auto* c = static_cast<TestCache*>(s->private_data);
    if (c->needs_fs && !(sc->gfp_mask & MMLAB___GFP_FS))
      return 0;
    return c->pages.size();
  }
  static uint64_t Scan(mmlab::Shrinker* s, mmlab::ShrinkControl* sc) {
    auto* c = static_cast<TestCache*>(s->private_data);
    c->scans++;
    c->last_gfp = sc->gfp_mask;
    if (c->needs_fs && !(sc->gfp_mask & MMLAB___GFP_FS))
      return mmlab::kShrinkStop;
    uint64_t freed = 0;
    while (freed < sc->nr_to_scan && !c->pages.empty()) {
      EXPECT_EQ(mmlab_core___free_pages(c->core, c->pages.back(), 0), MMLAB_OK);
      c->pages.pop_back();
      freed++;
    }
    return freed;
  }
};

using Shrinkers = CoreTest;

TEST_F(Shrinkers, DirectReclaimAsksThemWithTheCallersGfp) {
  NewBuddyCore(4, 2);
  TestCache cache(core_, "test", false);
  cache.Fill(8);
  ASSERT_EQ(cache.registry().Register(&cache.shrinker), MMLAB_OK);
  std::vector<mmlab_page*> rest;
  for (int i = 0; i < 24; i++)
    rest.push_back(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0));
  EXPECT_EQ(cache.scans, 0) << "no pressure while the zone could grow";
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_NOIO, 0);
  ASSERT_NE(p, nullptr) << "the cache gave pages back";
  EXPECT_EQ(cache.scans, 1);
  EXPECT_EQ(cache.last_gfp, MMLAB_GFP_NOIO);
  EXPECT_TRUE(cache.pages.empty()) << "all 8, fewer than a batch of 32";
  rest.push_back(p);
  cache.registry().Unregister(&cache.shrinker);
  for (mmlab_page* q : rest)
    ASSERT_EQ(mmlab_core___free_pages(core_, q, 0), MMLAB_OK);
}

TEST_F(Shrinkers, NofsCannotReclaimFromAFilesystemCache) {
  NewBuddyCore(4, 2);
  TestCache fs(core_, "fs", true);
  fs.Fill(8);
  ASSERT_EQ(fs.registry().Register(&fs.shrinker), MMLAB_OK);
  std::vector<mmlab_page*> rest;
  for (int i = 0; i < 24; i++)
    rest.push_back(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0));
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_NOFS | MMLAB___GFP_NOWARN, 0), nullptr)
      << "GFP_NOFS may not enter the filesystem's cache";
  EXPECT_EQ(fs.pages.size(), 8u);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr) << "GFP_KERNEL may";
  EXPECT_LT(fs.pages.size(), 8u);
  rest.push_back(p);
  fs.registry().Unregister(&fs.shrinker);
  fs.Empty();
  for (mmlab_page* q : rest)
    ASSERT_EQ(mmlab_core___free_pages(core_, q, 0), MMLAB_OK);
}

// Caches are reclaim: asked once the capacity is used up, not before.
// The pressure here comes from atomic requests, which never reclaim
// themselves, so the cache is still full when kswapd runs.
TEST_F(Shrinkers, KswapdRunsThemOnceItCannotBorrow) {
  NewCore(4, 16);  // Normal: min 24, low 30, high 36 of 192 pages
  TestCache cache(core_, "test", false);
  cache.Fill(20);
  ASSERT_EQ(cache.registry().Register(&cache.shrinker), MMLAB_OK);
  std::string r;
  EXPECT_EQ(Control("pressure consume=256 gfp=GFP_NOWAIT|__GFP_NOWARN", &r), MMLAB_ENOMEM);
  EXPECT_EQ(r, "control: pressure: consumed 204 of 256 pages, holding 204");
  EXPECT_EQ(cache.scans, 0);
  EXPECT_EQ(cache.pages.size(), 20u);
  ASSERT_EQ(Zoneinfo("Normal", "nr_free_pages"), 24u);
  mmlab_core_kswapd(core_);
  EXPECT_EQ(cache.scans, 1);
  EXPECT_EQ(cache.last_gfp, MMLAB_GFP_KERNEL);
  EXPECT_EQ(Zoneinfo("Normal", "nr_kswapd_reclaimed"), 20u);
  EXPECT_EQ(Zoneinfo("Normal", "nr_free_pages"), 44u) << "balanced by the cache alone";
  EXPECT_EQ(Zoneinfo("Normal", "nr_kswapd_borrowed"), 0u);
  EXPECT_EQ(sim::CountLogs("kswapd:"), 0u) << sim::LogText();
  cache.registry().Unregister(&cache.shrinker);
}

TEST_F(Shrinkers, RegistryRefusesDuplicatesAndOverflow) {
  NewCore(4, 4);
  std::vector<std::unique_ptr<TestCache>> caches;
  for (uint32_t i = 0; i < mmlab::kMaxShrinkers + 1; i++)
    caches.push_back(std::make_unique<TestCache>(core_, "c", false));
  mmlab::ShrinkerList& reg = caches[0]->registry();
  // The core's own "slab" shrinker already holds a slot.
  const uint32_t base = reg.registered();
  ASSERT_EQ(base, 1u);
  const uint32_t room = mmlab::kMaxShrinkers - base;
  for (uint32_t i = 0; i < room; i++)
    ASSERT_EQ(reg.Register(&caches[i]->shrinker), MMLAB_OK);
  EXPECT_EQ(reg.Register(&caches[room]->shrinker), MMLAB_ENOSPC);
  EXPECT_EQ(reg.Register(&caches[0]->shrinker), MMLAB_EINVAL);
  mmlab::Shrinker incomplete = {};
  EXPECT_EQ(reg.Register(&incomplete), MMLAB_EINVAL);
  EXPECT_EQ(reg.registered(), mmlab::kMaxShrinkers);
  for (uint32_t i = 0; i < room; i++)
    reg.Unregister(&caches[i]->shrinker);
  reg.Unregister(&caches[0]->shrinker);  // twice: a no-op
  EXPECT_EQ(reg.registered(), base);
}

}  // namespace
}  // namespace mmlab_test
