// SPDX-License-Identifier: GPL-2.0
//
// mempool_test.cc - mempools as Linux's mm/mempool.c defines them: the
// reserve filled at create, the backing allocator tried first with a
// cheap gfp, the reserve on failure, a retry with the full gfp, sleeping
// until an element comes back, the refill-first free, resize and destroy;
// and the same through the control file, under an exhausted allocator.
#include <atomic>
#include <chrono>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "test_util.h"

namespace mmlab_test {
namespace {

using Mempool = CoreTest;

constexpr mmlab_gfp_t kTempExtra =
    MMLAB___GFP_NORETRY | MMLAB___GFP_NOWARN | MMLAB___GFP_NOMEMALLOC;

// mempool_alloc's first try: no direct reclaim, no IO, cheap and quiet.
constexpr mmlab_gfp_t GfpTemp(mmlab_gfp_t gfp) {
  return (gfp & ~(MMLAB___GFP_DIRECT_RECLAIM | MMLAB___GFP_IO)) | kTempExtra;
}

// A caller-supplied backing allocator over order-0 pages that records every
// gfp it is asked with and can be told to fail.
struct Backing {
  mmlab_core* core = nullptr;
  std::mutex mu;
  std::vector<mmlab_gfp_t> gfps;
  std::atomic<bool> fail{false};
  std::atomic<int> frees{0};

  static void* Alloc(mmlab_gfp_t gfp, void* data) {
    Backing* b = static_cast<Backing*>(data);
    {
      std::lock_guard<std::mutex> g(b->mu);
      b->gfps.push_back(gfp);
    }
    if (b->fail)
      return nullptr;
    return mmlab_core_alloc_pages(b->core, gfp, 0);
  }
  static void Free(void* element, void* data) {
    Backing* b = static_cast<Backing*>(data);
    b->frees++;
    EXPECT_EQ(mmlab_core___free_pages(b->core, static_cast<mmlab_page*>(element), 0), MMLAB_OK);
  }
  std::vector<mmlab_gfp_t> Calls() {
    std::lock_guard<std::mutex> g(mu);
    return gfps;
  }
  void Forget() {
    std::lock_guard<std::mutex> g(mu);
    gfps.clear();
  }
};

// The mempools view's row for a pool: {min_nr, curr_nr, out, waits,
// reserve_hits, backing_failures}; empty when the pool is not listed.
std::vector<uint64_t> Row(const std::string& view, const std::string& name,
                          std::string* type = nullptr) {
  std::istringstream in(view);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string n, t;
    words >> n >> t;
    if (n != name)
      continue;
    if (type)
      *type = t;
    std::vector<uint64_t> v(6);
    for (auto& x : v)
      words >> x;
    return v;
  }
  return {};
}

TEST_F(Mempool, CreateFillsTheReserveWithMinNrElements) {
  NewCore(4, 4);
  mmlab_mempool* pool = nullptr;
  ASSERT_EQ(mmlab_core_mempool_create_page_pool(core_, "pages", 5, 1, &pool), MMLAB_OK);
  EXPECT_EQ(Counters().used_pages, 10u) << "five order-1 blocks reserved";
  std::string type;
  EXPECT_EQ(Row(Render(MMLAB_VIEW_MEMPOOLS), "pages", &type),
            (std::vector<uint64_t>{5, 5, 0, 0, 0, 0}));
  EXPECT_EQ(type, "page");
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);
  EXPECT_EQ(Counters().used_pages, 0u);
  EXPECT_EQ(Render(MMLAB_VIEW_MEMPOOLS).find("pages"), std::string::npos);
}

TEST_F(Mempool, TheViewHasAHeaderAndOneAlignedLinePerPool) {
  NewCore(4, 4);
  mmlab_mempool *a, *b;
  ASSERT_EQ(mmlab_core_mempool_create_page_pool(core_, "bio", 2, 0, &a), MMLAB_OK);
  ASSERT_EQ(mmlab_core_mempool_create_page_pool(core_, "big-one", 1, 2, &b), MMLAB_OK);
  void* e = mmlab_core_mempool_alloc(a, MMLAB_GFP_KERNEL);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(Render(MMLAB_VIEW_MEMPOOLS),
            "# name               type     min_nr curr_nr     out   waits reserve_hits "
            "backing_failures\n"
            "bio                  page          2       2       1       0            0 "
            "               0\n"
            "big-one              page          1       1       0       0            0 "
            "               0\n");
  mmlab_core_mempool_free(a, e);
  EXPECT_EQ(mmlab_core_mempool_destroy(a), MMLAB_OK);
  EXPECT_EQ(mmlab_core_mempool_destroy(b), MMLAB_OK);
}

TEST_F(Mempool, CreateFailsCleanlyWhenTheReserveCannotBeFilled) {
  NewBuddyCore(2, 2);  // 8 pages, no watermarks
  mmlab_mempool* pool = reinterpret_cast<mmlab_mempool*>(1);
  EXPECT_EQ(mmlab_core_mempool_create_page_pool(core_, "toobig", 3, 2, &pool), MMLAB_ENOMEM);
  EXPECT_EQ(pool, nullptr);
  EXPECT_EQ(Counters().used_pages, 0u) << "the elements it did get are given back";
  EXPECT_EQ(sim::CountLogs("could only preallocate 2 of min_nr 3"), 1u) << sim::LogText();
}

// The checker runs while a destroy drains the reserve (the pool is still
// listed, its lock dropped between elements): it must find nothing wrong.
// Found by the VM stress program (a check racing a mempool_destroy logged
// "curr_nr 3, min_nr 0").
struct CheckingBacking : Backing {
  int checks = 0, bad = 0;
  static void Free(void* element, void* data) {
    CheckingBacking* b = static_cast<CheckingBacking*>(data);
    b->checks++;
    if (mmlab_core_check(b->core) != MMLAB_OK)
      b->bad++;
    Backing::Free(element, data);
  }
};

TEST_F(Mempool, CheckDuringDestroyFindsNoViolation) {
  NewCore(4, 4);
  CheckingBacking b;
  b.core = core_;
  mmlab_mempool* pool = nullptr;
  ASSERT_EQ(mmlab_core_mempool_create(core_, "draining", 4, Backing::Alloc, CheckingBacking::Free,
                                      &b, &pool),
            MMLAB_OK);
  ASSERT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);
  EXPECT_EQ(b.checks, 4) << "one check per element drained";
  EXPECT_EQ(b.bad, 0) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("check: mempool"), 0u) << sim::LogText();
  EXPECT_EQ(Counters().used_pages, 0u);
}

TEST_F(Mempool, CreateRefusesBadArguments) {
  NewCore(4, 4);
  mmlab_mempool* pool;
  EXPECT_EQ(mmlab_core_mempool_create_page_pool(core_, "", 1, 0, &pool), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_mempool_create_page_pool(core_, nullptr, 1, 0, &pool), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_mempool_create_page_pool(core_, "has space", 1, 0, &pool), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_mempool_create_page_pool(core_, std::string(32, 'x').c_str(), 1, 0, &pool),
            MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_mempool_create_page_pool(core_, "order", 1, 5, &pool), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_mempool_create(core_, "nofn", 1, nullptr, nullptr, nullptr, &pool),
            MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_mempool_create_slab_pool(core_, "nocache", 1, nullptr, &pool),
            MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_mempool_create_kmalloc_pool(core_, "zero", 1, 0, &pool), MMLAB_EINVAL);
  EXPECT_EQ(Counters().used_pages, 0u);
}

TEST_F(Mempool, AllocTriesTheBackingFirstWithoutReclaimOrIo) {
  NewCore(4, 4);
  Backing b;
  b.core = core_;
  mmlab_mempool* pool;
  ASSERT_EQ(mmlab_core_mempool_create(core_, "custom", 2, Backing::Alloc, Backing::Free, &b, &pool),
            MMLAB_OK);
  EXPECT_EQ(b.Calls(), (std::vector<mmlab_gfp_t>{MMLAB_GFP_KERNEL, MMLAB_GFP_KERNEL}))
      << "the reserve is filled with GFP_KERNEL";
  b.Forget();
  void* e = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(b.Calls(), (std::vector<mmlab_gfp_t>{GfpTemp(MMLAB_GFP_KERNEL)}));
  EXPECT_EQ(Row(Render(MMLAB_VIEW_MEMPOOLS), "custom"),
            (std::vector<uint64_t>{2, 2, 1, 0, 0, 0}))
      << "served by the backing: the reserve is untouched";
  mmlab_core_mempool_free(pool, e);
  EXPECT_EQ(b.frees, 1) << "reserve full: the element goes back to the backing";
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);
  EXPECT_EQ(b.frees, 3);
}

TEST_F(Mempool, BackingFailureIsServedFromTheReserve) {
  NewCore(4, 4);
  Backing b;
  b.core = core_;
  mmlab_mempool* pool;
  ASSERT_EQ(mmlab_core_mempool_create(core_, "custom", 2, Backing::Alloc, Backing::Free, &b, &pool),
            MMLAB_OK);
  b.fail = true;
  b.Forget();
  void* e1 = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  void* e2 = mmlab_core_mempool_alloc(pool, MMLAB_GFP_NOIO);
  ASSERT_NE(e1, nullptr);
  ASSERT_NE(e2, nullptr);
  EXPECT_NE(e1, e2);
  EXPECT_EQ(b.Calls(),
            (std::vector<mmlab_gfp_t>{GfpTemp(MMLAB_GFP_KERNEL), GfpTemp(MMLAB_GFP_NOIO)}))
      << "one cheap try each; the reserve was not empty";
  EXPECT_EQ(Row(Render(MMLAB_VIEW_MEMPOOLS), "custom"),
            (std::vector<uint64_t>{2, 0, 2, 0, 2, 2}));
  b.fail = false;
  mmlab_core_mempool_free(pool, e1);
  mmlab_core_mempool_free(pool, e2);
  EXPECT_EQ(b.frees, 0) << "both refill the reserve";
  EXPECT_EQ(Row(Render(MMLAB_VIEW_MEMPOOLS), "custom"),
            (std::vector<uint64_t>{2, 2, 0, 0, 2, 2}));
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);
}

TEST_F(Mempool, EmptyReserveRetriesWithTheFullGfpThenAtomicGetsNull) {
  NewCore(4, 4);
  Backing b;
  b.core = core_;
  mmlab_mempool* pool;
  ASSERT_EQ(mmlab_core_mempool_create(core_, "custom", 1, Backing::Alloc, Backing::Free, &b, &pool),
            MMLAB_OK);
  b.fail = true;
  void* e = mmlab_core_mempool_alloc(pool, MMLAB_GFP_ATOMIC);
  ASSERT_NE(e, nullptr) << "the reserve serves atomic callers too";
  b.Forget();
  EXPECT_EQ(mmlab_core_mempool_alloc(pool, MMLAB_GFP_ATOMIC), nullptr);
  EXPECT_EQ(b.Calls(), (std::vector<mmlab_gfp_t>{GfpTemp(MMLAB_GFP_ATOMIC)}))
      << "GFP_ATOMIC has no reclaim or IO to drop: gfp_temp == gfp, no second try";
  b.Forget();
  EXPECT_EQ(mmlab_core_mempool_alloc(pool, MMLAB_GFP_NOWAIT), nullptr);
  EXPECT_EQ(b.Calls(), (std::vector<mmlab_gfp_t>{GfpTemp(MMLAB_GFP_NOWAIT)}));
  // A sleeping caller: cheap try, full try, then it waits; the element
  // coming back ends the wait.
  b.Forget();
  const uint64_t waits = sim::WaitCalls();
  std::atomic<void*> got{nullptr};
  std::thread sleeper([&] { got = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL); });
  while (sim::WaitCalls() == waits)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(got.load(), nullptr);
  EXPECT_EQ(b.Calls(), (std::vector<mmlab_gfp_t>{GfpTemp(MMLAB_GFP_KERNEL),
                                                  MMLAB_GFP_KERNEL | kTempExtra}))
      << "the full gfp keeps NORETRY|NOWARN|NOMEMALLOC";
  mmlab_core_mempool_free(pool, e);
  sleeper.join();
  EXPECT_EQ(got.load(), e) << "the freed element went to the reserve and on to the waiter";
  EXPECT_EQ(Row(Render(MMLAB_VIEW_MEMPOOLS), "custom")[3], 1u) << "one wait";
  b.fail = false;
  mmlab_core_mempool_free(pool, got.load());
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);
}

TEST_F(Mempool, FreeRefillsTheReserveFirstAndWakesWaiters) {
  NewCore(4, 4);
  Backing b;
  b.core = core_;
  mmlab_mempool* pool;
  ASSERT_EQ(mmlab_core_mempool_create(core_, "custom", 2, Backing::Alloc, Backing::Free, &b, &pool),
            MMLAB_OK);
  b.fail = true;
  void* e1 = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  void* e2 = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  b.fail = false;
  void* e3 = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  ASSERT_TRUE(e1 && e2 && e3);
  const uint64_t wakes = sim::WakeUps();
  mmlab_core_mempool_free(pool, e3);
  EXPECT_EQ(b.frees, 0) << "curr_nr 0 < min_nr 2: refills, whichever element it is";
  EXPECT_EQ(sim::WakeUps(), wakes + 1);
  mmlab_core_mempool_free(pool, e1);
  EXPECT_EQ(b.frees, 0);
  mmlab_core_mempool_free(pool, e2);
  EXPECT_EQ(b.frees, 1) << "reserve full again: back to the backing";
  EXPECT_EQ(sim::WakeUps(), wakes + 2);
  EXPECT_EQ(Row(Render(MMLAB_VIEW_MEMPOOLS), "custom"),
            (std::vector<uint64_t>{2, 2, 0, 0, 2, 2}));
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);
}

TEST_F(Mempool, ResizeGrowsAndShrinksTheReserve) {
  NewCore(4, 4);
  mmlab_mempool* pool;
  ASSERT_EQ(mmlab_core_mempool_create_page_pool(core_, "p", 2, 0, &pool), MMLAB_OK);
  void* out = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  ASSERT_EQ(mmlab_core_mempool_resize(pool, 5), MMLAB_OK);
  EXPECT_EQ(Counters().used_pages, 6u) << "grown to 5 elements, plus the one out";
  EXPECT_EQ(Row(Render(MMLAB_VIEW_MEMPOOLS), "p"), (std::vector<uint64_t>{5, 5, 1, 0, 0, 0}));
  ASSERT_EQ(mmlab_core_mempool_resize(pool, 1), MMLAB_OK);
  EXPECT_EQ(Counters().used_pages, 2u);
  EXPECT_EQ(Row(Render(MMLAB_VIEW_MEMPOOLS), "p"), (std::vector<uint64_t>{1, 1, 1, 0, 0, 0}));
  ASSERT_EQ(mmlab_core_mempool_resize(pool, 0), MMLAB_OK);
  EXPECT_EQ(Counters().used_pages, 1u);
  EXPECT_EQ(mmlab_core_mempool_resize(pool, 1u << 20), MMLAB_EINVAL);
  mmlab_core_mempool_free(pool, out);
  EXPECT_EQ(Row(Render(MMLAB_VIEW_MEMPOOLS), "p"), (std::vector<uint64_t>{0, 1, 0, 0, 0, 0}))
      << "min_nr 0: one element is parked for waiters (Linux's zero-minimum edge case)";
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);
  EXPECT_EQ(Counters().used_pages, 0u);
}

TEST_F(Mempool, DestroyWithElementsOutIsBusyAndLateFreesAreSafe) {
  NewCore(4, 4);
  mmlab_mempool* pool;
  ASSERT_EQ(mmlab_core_mempool_create_page_pool(core_, "leaky", 2, 0, &pool), MMLAB_OK);
  void* e = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_EBUSY);
  EXPECT_EQ(sim::CountLogs("mempool_destroy leaky: 1 elements still allocated"), 1u)
      << sim::LogText();
  EXPECT_EQ(Counters().used_pages, 1u) << "the reserve is freed, the element is not";
  EXPECT_EQ(Render(MMLAB_VIEW_MEMPOOLS).find("leaky"), std::string::npos);
  mmlab_core_mempool_free(pool, e);
  EXPECT_EQ(Counters().used_pages, 0u) << "a late free goes to the backing";
}

TEST_F(Mempool, ZeroMinNrPoolStillWakesAWaiter) {
  NewCore(4, 4);
  Backing b;
  b.core = core_;
  mmlab_mempool* pool;
  ASSERT_EQ(mmlab_core_mempool_create(core_, "zero", 0, Backing::Alloc, Backing::Free, &b, &pool),
            MMLAB_OK);
  void* e = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  ASSERT_NE(e, nullptr);
  b.fail = true;
  const uint64_t waits = sim::WaitCalls();
  std::atomic<void*> got{nullptr};
  std::thread sleeper([&] { got = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL); });
  while (sim::WaitCalls() == waits)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  mmlab_core_mempool_free(pool, e);
  sleeper.join();
  EXPECT_EQ(got.load(), e);
  b.fail = false;
  mmlab_core_mempool_free(pool, e);
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);
}

// Takes every page the core has, whatever the watermarks.
void Exhaust(mmlab_core* core) {
  for (const char* gfp : {"GFP_KERNEL", "GFP_ATOMIC", "GFP_ATOMIC|__GFP_MEMALLOC"})
    ControlOn(core, std::string("pressure consume=64 gfp=") + gfp + "|__GFP_NOWARN");
}

// The proof under pressure: with the page allocator exhausted, sleeping
// allocations wait and all complete as elements are freed; an atomic one
// gets NULL at once.
TEST_F(Mempool, UnderExhaustionSleepersAllCompleteAndAtomicFails) {
  NewCore(4, 4);  // 64 pages
  mmlab_mempool* pool;
  ASSERT_EQ(mmlab_core_mempool_create_page_pool(core_, "pressure", 3, 0, &pool), MMLAB_OK);
  Exhaust(core_);
  ASSERT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC | MMLAB___GFP_MEMALLOC, 0), nullptr)
      << "nothing left, even for the reserves";
  // Drain the reserve.
  std::vector<void*> held;
  for (int i = 0; i < 3; i++) {
    held.push_back(mmlab_core_mempool_alloc(pool, MMLAB_GFP_ATOMIC));
    ASSERT_NE(held.back(), nullptr);
  }
  EXPECT_EQ(mmlab_core_mempool_alloc(pool, MMLAB_GFP_ATOMIC), nullptr);
  EXPECT_EQ(mmlab_core_mempool_alloc(pool, MMLAB_GFP_NOWAIT), nullptr);

  constexpr int kSleepers = 6;
  std::atomic<int> done{0};
  std::vector<std::thread> sleepers;
  for (int i = 0; i < kSleepers; i++) {
    sleepers.emplace_back([&] {
      void* e = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
      EXPECT_NE(e, nullptr) << "a sleeping mempool_alloc never fails";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      done++;
      mmlab_core_mempool_free(pool, e);  // hands it on to the next sleeper
    });
  }
  // Every sleeper goes to sleep at least once (on a loaded machine the
  // threads may take a while even to start).
  for (int spin = 0; spin < 10000; spin++) {
    if (Row(Render(MMLAB_VIEW_MEMPOOLS), "pressure")[3] >= kSleepers)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(Row(Render(MMLAB_VIEW_MEMPOOLS), "pressure")[3], uint64_t{kSleepers})
      << "waits counted";
  EXPECT_EQ(done.load(), 0) << "nobody can complete while the reserve is empty";
  std::thread freer([&] {
    for (void* e : held) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      mmlab_core_mempool_free(pool, e);
    }
  });
  freer.join();
  for (auto& t : sleepers)
    t.join();
  EXPECT_EQ(done.load(), kSleepers);
  std::vector<uint64_t> row = Row(Render(MMLAB_VIEW_MEMPOOLS), "pressure");
  EXPECT_EQ(row[1], 3u) << "every element is back in the reserve";
  EXPECT_EQ(row[2], 0u);
  EXPECT_EQ(row[4], 3u + kSleepers) << "every allocation came from the reserve";
  ASSERT_EQ(Control("pressure release=all"), MMLAB_OK);
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);
}

// --- kmalloc- and slab-backed pools ------------------------------------------------

TEST_F(Mempool, KmallocPoolHandsOutKmallocObjects) {
  NewCore(4, 4);
  mmlab_mempool* pool;
  ASSERT_EQ(mmlab_core_mempool_create_kmalloc_pool(core_, "km", 3, 100, &pool), MMLAB_OK);
  std::string type;
  EXPECT_EQ(Row(Render(MMLAB_VIEW_MEMPOOLS), "km", &type),
            (std::vector<uint64_t>{3, 3, 0, 0, 0, 0}));
  EXPECT_EQ(type, "kmalloc");
  void* e = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(mmlab_core_ksize(core_, e), 128u) << "a kmalloc-128 object";
  memset(e, 0x3c, 100);
  mmlab_core_mempool_free(pool, e);
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);
}

TEST_F(Mempool, SlabPoolHandsOutCacheObjects) {
  NewCore(4, 4);
  mmlab_kmem_cache* cache;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "mp_objs", 200, 0, 0, nullptr, &cache), MMLAB_OK);
  mmlab_mempool* pool;
  ASSERT_EQ(mmlab_core_mempool_create_slab_pool(core_, "sl", 4, cache, &pool), MMLAB_OK);
  std::string type;
  EXPECT_EQ(Row(Render(MMLAB_VIEW_MEMPOOLS), "sl", &type),
            (std::vector<uint64_t>{4, 4, 0, 0, 0, 0}));
  EXPECT_EQ(type, "slab");
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_EBUSY)
      << "the reserve is live objects of the cache";
  // The cache is a zombie now: new objects cannot be had, the reserve serves.
  void* e = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(Row(Render(MMLAB_VIEW_MEMPOOLS), "sl")[4], 1u) << "a reserve hit";
  mmlab_core_mempool_free(pool, e);
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_OK) << "its objects are back";
}

void FillCtor(void* obj) { memset(obj, 0x11, 8); }

TEST_F(Mempool, SlabPoolRefusesACacheWithAConstructor) {
  NewCore(4, 4);
  mmlab_kmem_cache* cache;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "mp_ctor", 64, 0, 0, FillCtor, &cache), MMLAB_OK);
  mmlab_mempool* pool;
  EXPECT_EQ(mmlab_core_mempool_create_slab_pool(core_, "ctor", 1, cache, &pool), MMLAB_EINVAL);
  EXPECT_EQ(sim::CountLogs("has a constructor"), 1u);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_OK);
}

TEST_F(Mempool, ControlSlabAndKmallocPools) {
  NewCore(4, 4);
  std::string r;
  ASSERT_EQ(Control("cache_create name=mpc size=96", &r), MMLAB_OK) << r;
  EXPECT_EQ(Result("mempool_create name=s min_nr=2 type=slab cache=1"),
            "pool 1 name s type slab min_nr 2");
  EXPECT_EQ(Result("mempool_create name=k min_nr=1 type=kmalloc size=300"),
            "pool 2 name k type kmalloc min_nr 1");
  EXPECT_EQ(Control("mempool_create name=x min_nr=1 type=slab cache=9", &r), MMLAB_ENOENT);
  ASSERT_EQ(Control("cache_create name=mpf size=64 ctor=fill", &r), MMLAB_OK) << r;
  EXPECT_EQ(Control("mempool_create name=x min_nr=1 type=slab cache=2", &r), MMLAB_EINVAL);
  EXPECT_NE(r.find("has a constructor"), std::string::npos) << r;
  EXPECT_EQ(Result("mempool_alloc pool=1"), "object 1 pool 1 from backing");
  EXPECT_EQ(Result("mempool_alloc pool=2"), "object 2 pool 2 from backing");
  EXPECT_EQ(Result("obj_fill object=1 byte=0x5a"), "object 1 filled 96 bytes")
      << "the element is a 96-byte object";
  EXPECT_EQ(Result("obj_fill object=2 byte=7"), "object 2 filled 300 bytes");
  EXPECT_EQ(Result("obj_check object=2 byte=7"), "ok 300 bytes");
  EXPECT_EQ(Control("mempool_resize pool=1 min_nr=0", &r), MMLAB_OK) << r;
  EXPECT_EQ(Control("cache_destroy cache=1", &r), MMLAB_EBUSY)
      << "the pool pins its cache even with an empty reserve";
  EXPECT_EQ(Result("free_all").find("destroyed 2 mempools") != std::string::npos, true);
  EXPECT_EQ(Counters().used_pages, 0u);
}

// --- the control file -----------------------------------------------------------

TEST_F(Mempool, ControlCreateAllocFreeResizeDestroy) {
  NewCore(4, 4);
  EXPECT_EQ(Result("mempool_create name=ctl min_nr=2 type=page order=1"),
            "pool 1 name ctl type page min_nr 2");
  EXPECT_EQ(Result("mempool_alloc pool=1"), "object 1 pool 1 from backing");
  EXPECT_EQ(Result("mempool_info pool=1"),
            "pool 1 name ctl type page min_nr 2 curr_nr 2 out 1 waits 0 reserve_hits 0 "
            "backing_failures 0");
  std::string r;
  EXPECT_EQ(Control("mempool_destroy pool=1", &r), MMLAB_EBUSY);
  EXPECT_NE(r.find("has elements out"), std::string::npos) << r;
  EXPECT_EQ(Result("mempool_resize pool=1 min_nr=4"), "pool 1 min_nr 4 curr_nr 4");
  EXPECT_EQ(Counters().used_pages, 10u);
  EXPECT_EQ(Result("mempool_free object=1"), "freed object 1 pool 1");
  EXPECT_EQ(Counters().used_pages, 8u) << "full reserve: freed to the backing";
  EXPECT_EQ(Result("mempool_resize pool=1 min_nr=1"), "pool 1 min_nr 1 curr_nr 1");
  EXPECT_EQ(Counters().used_pages, 2u);
  EXPECT_EQ(Result("mempool_destroy pool=1"), "pool 1 destroyed");
  EXPECT_EQ(Counters().used_pages, 0u);
  EXPECT_EQ(Control("mempool_alloc pool=1", &r), MMLAB_ENOENT);
}

TEST_F(Mempool, ControlRefusesBadCommands) {
  NewCore(4, 4);
  std::string r;
  EXPECT_EQ(Control("mempool_create name=x min_nr=1 type=bogus order=0", &r), MMLAB_EINVAL);
  EXPECT_NE(r.find("not slab, kmalloc or page"), std::string::npos) << r;
  EXPECT_EQ(Control("mempool_create name=x min_nr=1 type=page", &r), MMLAB_EINVAL);
  EXPECT_NE(r.find("takes order="), std::string::npos) << r;
  EXPECT_EQ(Control("mempool_create name=x min_nr=1 type=page order=0 size=8", &r), MMLAB_EINVAL);
  EXPECT_EQ(Control("mempool_create name=x min_nr=1 type=page order=9", &r), MMLAB_EINVAL);
  EXPECT_EQ(Control("mempool_create name=a/b min_nr=1 type=page order=0", &r), MMLAB_EINVAL);
  EXPECT_EQ(Control("mempool_create min_nr=1 type=page order=0", &r), MMLAB_EINVAL);
  EXPECT_EQ(Control("mempool_create name=x min_nr=99999999999 type=page order=0", &r),
            MMLAB_EINVAL);
  ASSERT_EQ(Control("mempool_create name=x min_nr=1 type=page order=0", &r), MMLAB_OK) << r;
  EXPECT_EQ(Control("mempool_alloc pool=1 context=irqoff", &r), MMLAB_EINVAL);
  EXPECT_NE(r.find("cannot run in context irqoff"), std::string::npos) << r;
  EXPECT_EQ(Control("mempool_alloc pool=1 gfp=GFP_KERNEL|__GFP_ZERO", &r), MMLAB_EINVAL);
  EXPECT_EQ(Control("mempool_alloc pool=2", &r), MMLAB_ENOENT);
  EXPECT_EQ(Result("mempool_alloc pool=1 gfp=GFP_ATOMIC context=irqoff"),
            "object 1 pool 1 from backing");
  EXPECT_EQ(Result("mempool_alloc pool=1 gfp=GFP_NOWAIT context=timer"),
            "object 2 pool 1 from backing");
  EXPECT_EQ(Control("vfree object=1", &r), MMLAB_EINVAL);
  EXPECT_NE(r.find("free it with mempool_free"), std::string::npos) << r;
  EXPECT_EQ(Control("mempool_free object=3", &r), MMLAB_ENOENT);
  EXPECT_EQ(Result("free_all"), "freed 0 handles, freed 2 objects, destroyed 1 mempools");
  EXPECT_EQ(Counters().used_pages, 0u);
}

// Several writers block in mempool_alloc while the allocator is exhausted,
// and all complete as another writer frees; an atomic one fails at once.
TEST_F(Mempool, ControlSleepingAllocsCompleteUnderPressure) {
  NewCore(4, 4);
  ASSERT_EQ(Result("mempool_create name=p min_nr=2 type=page order=0"),
            "pool 1 name p type page min_nr 2");
  Exhaust(core_);
  EXPECT_EQ(Result("mempool_alloc pool=1"), "object 1 pool 1 from reserve");
  EXPECT_EQ(Result("mempool_alloc pool=1"), "object 2 pool 1 from reserve");
  std::string r;
  EXPECT_EQ(Control("mempool_alloc pool=1 gfp=GFP_ATOMIC", &r), MMLAB_ENOMEM);
  EXPECT_NE(r.find("reserve is empty"), std::string::npos) << r;

  constexpr int kWriters = 4;
  std::mutex mu;
  std::vector<std::string> results;  // under mu
  std::vector<std::thread> writers;
  for (int i = 0; i < kWriters; i++) {
    writers.emplace_back([&] {
      std::string res;
      Control("mempool_alloc pool=1", &res);
      std::lock_guard<std::mutex> g(mu);
      results.push_back(res);
    });
  }
  for (int spin = 0; spin < 10000; spin++) {
    std::string info = Result("mempool_info pool=1");
    if (std::stoull(info.substr(info.find(" waits ") + 7)) >= kWriters)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  {
    std::lock_guard<std::mutex> g(mu);
    EXPECT_TRUE(results.empty()) << "all writers block";
  }
  EXPECT_EQ(Control("mempool_destroy pool=1", &r), MMLAB_EBUSY) << "in use by the sleepers";
  // Free the two held elements, then the one each writer got, until all are done.
  std::vector<uint64_t> to_free = {1, 2};
  size_t seen = 0;
  for (int step = 0; step < 5000 && seen < kWriters; step++) {
    if (!to_free.empty()) {
      uint64_t id = to_free.front();
      to_free.erase(to_free.begin());
      ASSERT_EQ(Control("mempool_free object=" + std::to_string(id), &r), MMLAB_OK) << r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard<std::mutex> g(mu);
    for (; seen < results.size(); seen++) {
      EXPECT_EQ(results[seen].rfind("object ", 0), 0u) << results[seen];
      EXPECT_NE(results[seen].find("pool 1 from reserve"), std::string::npos) << results[seen];
      to_free.push_back(std::stoull(results[seen].substr(7)));
    }
  }
  ASSERT_EQ(seen, size_t{kWriters}) << sim::LogText();
  for (auto& t : writers)
    t.join();
  EXPECT_EQ(Result("pressure release=all").rfind("pressure: released", 0), 0u);
  EXPECT_EQ(Result("free_all").find("destroyed 1 mempools") != std::string::npos, true);
}

}  // namespace
}  // namespace mmlab_test
