// SPDX-License-Identifier: GPL-2.0
//
// slab_test.cc - kmem_cache_*: constructor once per object, alignment,
// slab order and waste, destroy with leaks, shrink and the shrinker, bulk,
// bad frees, several CPUs at once, atomic context, the control commands
// and the slabinfo view.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "core.h"
#include "slab.h"
#include "test_util.h"

namespace mmlab_test {
namespace {

using Slab = CoreTest;

std::atomic<uint64_t> g_ctor_calls{0};
constexpr uint32_t kCtorSize = 48;
void CountingCtor(void* obj) {
  g_ctor_calls++;
  memset(obj, 0xab, kCtorSize);
}

uint64_t UsedPages(mmlab_core* core) { return Counters(core).used_pages; }

mmlab_kmem_cache* MustCreate(mmlab_core* core, const char* name, uint32_t size, uint32_t align = 0,
                             uint32_t flags = 0, mmlab_ctor_fn ctor = nullptr) {
  mmlab_kmem_cache* c = nullptr;
  EXPECT_EQ(mmlab_core_kmem_cache_create(core, name, size, align, flags, ctor, &c), MMLAB_OK)
      << sim::LogText();
  return c;
}

const mmlab::KmemCache& K(mmlab_kmem_cache* c) { return *mmlab::KmemCache::From(c); }

TEST_F(Slab, CtorRunsOncePerObjectWhenItsSlabIsMadeNotPerAllocation) {
  NewCore(4, 8);
  g_ctor_calls = 0;
  mmlab_kmem_cache* c = MustCreate(core_, "ctor_once", kCtorSize, 0, 0, CountingCtor);
  const uint32_t per_slab = K(c).layout.objects;
  ASSERT_GT(per_slab, 1u);
  EXPECT_EQ(K(c).layout.offset, 48u) << "with a ctor the free pointer lives after the object";
  void* a = mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(g_ctor_calls.load(), per_slab) << "the whole slab is constructed at once";
  memset(a, 0xab, kCtorSize);  // give it back constructed, as a ctor's user must
  for (int i = 0; i < 100; i++) {
    mmlab_core_kmem_cache_free(c, a, 0);
    a = mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0);
    ASSERT_NE(a, nullptr);
    for (uint32_t b = 0; b < kCtorSize; b++)
      ASSERT_EQ(static_cast<unsigned char*>(a)[b], 0xab) << "constructed state kept at byte " << b;
  }
  EXPECT_EQ(g_ctor_calls.load(), per_slab) << "no constructor call on reuse";
  // A second slab: exactly one more slab's worth.
  std::vector<void*> objs;
  for (uint32_t i = 0; i < per_slab; i++)
    objs.push_back(mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0));
  EXPECT_EQ(g_ctor_calls.load(), 2u * per_slab);
  for (void* o : objs)
    mmlab_core_kmem_cache_free(c, o, 0);
  mmlab_core_kmem_cache_free(c, a, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slab, CtorFillThroughTheControlFileCountsCtorCalls) {
  NewCore(4, 8);
  std::string r = Result("cache_create name=filled size=40 ctor=fill");
  ASSERT_EQ(r.rfind("cache 1 name filled objsize 40 ", 0), 0u) << r;
  r = Result("cache_alloc cache=1");
  ASSERT_EQ(r.rfind("object 1 cache 1 pfn 0x", 0), 0u) << r;
  EXPECT_EQ(Result("obj_check object=1 byte=0xc7"), "ok 40 bytes");
  EXPECT_EQ(Result("obj_fill object=1 byte=0xc7"), "object 1 filled 40 bytes");
  r = Result("cache_info cache=1");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r, m, std::regex("objperslab (\\d+) .* ctor_calls (\\d+) policy slub$"))) << r;
  EXPECT_EQ(m[1], m[2]) << "one slab constructed: " << r;
  EXPECT_EQ(Result("cache_free 1"), "freed object 1");
  EXPECT_EQ(Result("cache_alloc cache=1").rfind("object 2 cache 1 ", 0), 0u);
  r = Result("cache_info cache=1");
  ASSERT_TRUE(std::regex_search(r, m, std::regex("objperslab (\\d+) .* ctor_calls (\\d+) policy slub$")));
  EXPECT_EQ(m[1], m[2]) << "reuse does not construct again";
  EXPECT_EQ(Result("obj_check object=2 byte=0xc7"), "ok 40 bytes");
  EXPECT_EQ(Result("free_all").find("freed"), 0u);
}

TEST_F(Slab, AlignmentIsHonouredIncludingHwcacheAlign) {
  EXPECT_EQ(mmlab::CalculateAlignment(0, 0, 20), 8u);
  EXPECT_EQ(mmlab::CalculateAlignment(MMLAB_SLAB_HWCACHE_ALIGN, 0, 100), 64u);
  EXPECT_EQ(mmlab::CalculateAlignment(MMLAB_SLAB_HWCACHE_ALIGN, 0, 20), 32u)
      << "halved while the object fits in half a line";
  EXPECT_EQ(mmlab::CalculateAlignment(MMLAB_SLAB_HWCACHE_ALIGN, 0, 8), 8u);
  EXPECT_EQ(mmlab::CalculateAlignment(MMLAB_SLAB_HWCACHE_ALIGN, 128, 20), 128u);
  EXPECT_EQ(mmlab::CalculateAlignment(0, 4, 20), 8u);

  NewCore(4, 8);
  struct Case {
    uint32_t size, align, flags, want_align;
  } cases[] = {{40, 64, 0, 64},   {24, 256, 0, 256}, {100, 0, MMLAB_SLAB_HWCACHE_ALIGN, 64},
               {20, 0, MMLAB_SLAB_HWCACHE_ALIGN, 32}, {3, 0, 0, 8}, {1000, 512, 0, 512}};
  for (const Case& c : cases) {
    mmlab_kmem_cache* k = MustCreate(core_, "aligned", c.size, c.align, c.flags);
    EXPECT_EQ(K(k).layout.align, c.want_align);
    EXPECT_EQ(K(k).layout.size % c.want_align, 0u);
    std::vector<void*> objs;
    for (int i = 0; i < 40; i++) {
      void* o = mmlab_core_kmem_cache_alloc(k, MMLAB_GFP_KERNEL, 0);
      ASSERT_NE(o, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(o) % c.want_align, 0u)
          << "size " << c.size << " align " << c.align;
      objs.push_back(o);
    }
    for (void* o : objs)
      mmlab_core_kmem_cache_free(k, o, 0);
    EXPECT_EQ(mmlab_core_kmem_cache_destroy(k), MMLAB_OK);
  }
  mmlab_kmem_cache* bad = nullptr;
  EXPECT_EQ(mmlab_core_kmem_cache_create(core_, "x", 10, 24, 0, nullptr, &bad), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_kmem_cache_create(core_, "x", 0, 0, 0, nullptr, &bad), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_kmem_cache_create(core_, "x", 10, 0, 0x8000, nullptr, &bad), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_kmem_cache_create(core_, "", 10, 0, 0, nullptr, &bad), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_kmem_cache_create(core_, "x", 16385, 0, 0, nullptr, &bad), MMLAB_EINVAL);
}

TEST_F(Slab, SlabOrderKeepsWasteWithinAnEighthForEverySize) {
  for (uint32_t size = 1; size <= mmlab::kSlabMaxSize; size += size < 512 ? 1 : 7) {
    for (bool ctor : {false, true}) {
      mmlab::SlabLayout l;
      ASSERT_TRUE(mmlab::Layout(size, 0, 0, ctor, 10, &l)) << size;
      const uint64_t slab = MMLAB_PAGE_SIZE << l.order;
      ASSERT_GE(l.objects, 1u);
      EXPECT_EQ(l.waste, slab - uint64_t{l.objects} * l.size);
      EXPECT_LE(uint64_t{l.waste} * 8, slab) << "size " << size << " order " << l.order;
      if (l.size <= 4096) {
        EXPECT_LE(l.order, mmlab::kSlabMaxOrder) << size;
      }
      if (l.size <= 512) {
        EXPECT_GE(l.objects, mmlab::kSlabMinObjects) << size;
      }
    }
  }
  // SLUB's own choices for a few sizes (4 KiB pages, slub_min_objects 8).
  mmlab::SlabLayout l;
  ASSERT_TRUE(mmlab::Layout(8, 0, 0, false, 10, &l));
  EXPECT_EQ(l.order, 0u);
  EXPECT_EQ(l.objects, 512u);
  ASSERT_TRUE(mmlab::Layout(192, 0, 0, false, 10, &l));
  EXPECT_EQ(l.order, 0u);
  EXPECT_EQ(l.objects, 21u);
  ASSERT_TRUE(mmlab::Layout(1024, 0, 0, false, 10, &l));
  EXPECT_EQ(l.order, 1u);
  EXPECT_EQ(l.objects, 8u);
  ASSERT_TRUE(mmlab::Layout(8192, 0, 0, false, 10, &l));
  EXPECT_EQ(l.order, 3u);
  EXPECT_EQ(l.objects, 4u);
}

TEST_F(Slab, DestroyWithLiveObjectsNamesEachKeepsTheMemoryAndReturnsEbusy) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = MustCreate(core_, "leaky", 100);
  void* objs[3];
  for (void*& o : objs) {
    o = mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0);
    ASSERT_NE(o, nullptr);
    memset(o, 0x11, 100);
  }
  mmlab_core_kmem_cache_free(c, objs[1], 0);
  const uint64_t used = UsedPages(core_);
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_EBUSY);
  EXPECT_EQ(sim::CountLogs("kmem_cache_destroy leaky: Slab cache still has objects"), 1u);
  EXPECT_EQ(sim::CountLogs("Objects remaining in leaky on __kmem_cache_shutdown()"), 1u);
  // SLUB's list_slab_objects(): "Object 0x<hashed> @offset=<n>" per live one.
  EXPECT_EQ(sim::CountLogs("BUG leaky (mmlab): Objects remaining"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs(" @offset="), 2u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs(" @offset=0"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs(" @offset=" + std::to_string(K(c).layout.size * 2)), 1u)
      << sim::LogText();
  EXPECT_EQ(UsedPages(core_), used) << "the slab stays allocated";
  EXPECT_TRUE(sim::IsLentAddress(objs[0]));
  memset(objs[0], 0x22, 100);  // still ours to use (ASan would object otherwise)
  EXPECT_NE(Render(MMLAB_VIEW_SLABINFO).find("leaky "), std::string::npos) << "a zombie is listed";
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
  // Later frees still work, and then the cache can go.
  mmlab_core_kmem_cache_free(c, objs[0], 0);
  mmlab_core_kmem_cache_free(c, objs[2], 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
  EXPECT_EQ(Render(MMLAB_VIEW_SLABINFO).find("leaky "), std::string::npos);
}

TEST_F(Slab, CoreDestroyReportsThePagesAZombieCacheStillHolds) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = MustCreate(core_, "zombie", 64);
  void* o = mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_EBUSY);
  sim::ClearLogs();
  EXPECT_GT(Destroy(), 0u) << "the zombie's slab pins its chunk";
  EXPECT_EQ(sim::CountLogs("still allocated"), 1u) << sim::LogText();
  EXPECT_GE(sim::ReleaseLeakedChunks(), 1u);
}

TEST_F(Slab, ShrinkReturnsEmptySlabsToTheBuddy) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = MustCreate(core_, "shrinkme", 256);
  const uint64_t used0 = UsedPages(core_);
  std::vector<void*> objs;
  for (int i = 0; i < 200; i++)
    objs.push_back(mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0));
  const uint64_t per_slab_pages = 1u << K(c).layout.order;
  const uint64_t slabs = (200 + K(c).layout.objects - 1) / K(c).layout.objects;
  EXPECT_EQ(UsedPages(core_) - used0, slabs * per_slab_pages);
  // Free every other object: nothing is empty yet.
  for (size_t i = 0; i < objs.size(); i += 2)
    mmlab_core_kmem_cache_free(c, objs[i], 0);
  EXPECT_EQ(mmlab_core_kmem_cache_shrink(c), 0u);
  for (size_t i = 1; i < objs.size(); i += 2)
    mmlab_core_kmem_cache_free(c, objs[i], 0);
  const uint64_t before = UsedPages(core_);
  const uint64_t returned = mmlab_core_kmem_cache_shrink(c);
  EXPECT_GT(returned, 0u);
  EXPECT_EQ(before - UsedPages(core_), returned);
  EXPECT_EQ(UsedPages(core_), used0) << "every slab went back";
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slab, TheSlabShrinkerFreesEmptySlabsForReclaim) {
  NewCore(4, 8);
  mmlab::Core* core = mmlab::Core::From(core_);
  mmlab_kmem_cache* c[3];
  for (auto& k : c)
    k = MustCreate(core_, "shrunk", 512);
  // An empty slab left on each cache's partial list (min_partial keeps one).
  for (auto& k : c) {
    std::vector<void*> objs;
    for (uint32_t i = 0; i < 3 * K(k).layout.objects; i++)
      objs.push_back(mmlab_core_kmem_cache_alloc(k, MMLAB_GFP_KERNEL, 0));
    // Switch the CPU slab to a fresh one, so the old ones are on lists.
    for (void* o : objs)
      mmlab_core_kmem_cache_free(k, o, 0);
  }
  const uint64_t used = UsedPages(core_);
  const uint64_t count = core->shrinkers().Count(MMLAB_GFP_KERNEL);
  EXPECT_GT(count, 0u);
  const uint64_t freed = core->shrinkers().Shrink(MMLAB_GFP_KERNEL, 1000);
  EXPECT_EQ(freed, count);
  EXPECT_EQ(used - UsedPages(core_), freed);
  EXPECT_EQ(core->shrinkers().Count(MMLAB_GFP_KERNEL), 0u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  for (auto& k : c)
    EXPECT_EQ(mmlab_core_kmem_cache_destroy(k), MMLAB_OK);
}

TEST_F(Slab, ReclaimUnderPressureTakesEmptySlabsBack) {
  // A small core: fill it with a cache's slabs, empty them, then ask for
  // pages that only the slab shrinker can provide.
  NewBuddyCore(4, 2);  // 32 pages, Normal only
  mmlab_kmem_cache* c = MustCreate(core_, "pressure", 1024);
  std::vector<void*> objs;
  while (void* o = mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_NOWAIT | MMLAB___GFP_NOWARN, 0))
    objs.push_back(o);
  ASSERT_GT(objs.size(), 40u);
  for (void* o : objs)
    mmlab_core_kmem_cache_free(c, o, 0);
  // The failed allocation deactivated the CPU slab; the frees discarded
  // every empty slab beyond min_partial, and the one kept on the partial
  // list is what only the slab shrinker can give back.
  EXPECT_EQ(mmlab::Core::From(core_)->shrinkers().Count(MMLAB_GFP_KERNEL), 2u);
  std::vector<mmlab_page*> pages;
  while (mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0))
    pages.push_back(p);
  EXPECT_EQ(pages.size(), 32u) << "every slab came back to the buddy";
  EXPECT_EQ(mmlab::Core::From(core_)->shrinkers().Count(MMLAB_GFP_KERNEL), 0u);
  for (mmlab_page* p : pages)
    mmlab_core___free_pages(core_, p, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slab, ADeadCpusSlabGoesBackToTheLists) {
  NewCore(4, 8);
  mmlab::Core* core = mmlab::Core::From(core_);
  mmlab_kmem_cache* c = MustCreate(core_, "hotplug", 256);
  sim::BindCpu(2);
  std::vector<void*> objs;
  for (int i = 0; i < 5; i++)
    objs.push_back(mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0));
  sim::BindCpu(0);
  for (void* o : objs)
    mmlab_core_kmem_cache_free(c, o, 0);  // remote frees: CPU 2 still owns the slab
  EXPECT_EQ(core->shrinkers().Count(MMLAB_GFP_KERNEL), 0u) << "a CPU slab is not reclaimable";
  sim::SetCpuOnline(2, false);
  mmlab_core_cpu_dead(core_, 2);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(core->shrinkers().Count(MMLAB_GFP_KERNEL), 1u) << "now an empty partial slab";
  EXPECT_EQ(mmlab_core_kmem_cache_shrink(c), 1u);
  sim::SetCpuOnline(2, true);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slab, BulkIsAllOrNothing) {
  NewBuddyCore(4, 1);  // 16 pages
  mmlab_kmem_cache* c = MustCreate(core_, "bulk", 512);
  std::vector<void*> objs(1000, reinterpret_cast<void*>(1));
  const uint64_t used = UsedPages(core_);
  EXPECT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_NOWAIT | MMLAB___GFP_NOWARN, 1000,
                                             objs.data(), 0),
            0u);
  for (void* o : objs)
    EXPECT_EQ(o, nullptr);
  const uint64_t held = UsedPages(core_) - used;
  EXPECT_EQ(mmlab_core_kmem_cache_shrink(c), held) << "nothing kept in use";
  EXPECT_EQ(UsedPages(core_), used);
  EXPECT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_KERNEL, 20, objs.data(), 0), 20u);
  std::set<void*> distinct(objs.begin(), objs.begin() + 20);
  EXPECT_EQ(distinct.size(), 20u);
  mmlab_core_kmem_cache_free_bulk(c, 20, objs.data(), 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
  // Through the control file: consecutive ids.
  ASSERT_EQ(Result("cache_create name=b size=512").rfind("cache 1 ", 0), 0u);
  EXPECT_EQ(Result("cache_alloc_bulk cache=1 count=5"), "objects 5 first 1 last 5");
  EXPECT_EQ(Control("cache_alloc_bulk cache=1 count=5000"), MMLAB_EINVAL);
  EXPECT_EQ(Control("cache_alloc_bulk cache=1 count=1000 gfp=GFP_NOWAIT|__GFP_NOWARN"),
            MMLAB_ENOMEM);
  EXPECT_EQ(Result("free_all").find("freed"), 0u);
}

// Objects handed out and constructor calls, from cache_info's numbers.
uint64_t ActiveObjects(mmlab_kmem_cache* c) {
  mmlab::KmemCache& k = *mmlab::KmemCache::From(c);
  uint64_t allocs = 0, frees = 0;
  for (uint32_t cpu = 0; cpu < k.stats.nr_cpus(); cpu++) {
    allocs += k.stats.at(cpu)->allocs;
    frees += k.stats.at(cpu)->frees;
  }
  return allocs - frees;
}

uint64_t CtorCalls(mmlab_kmem_cache* c) {
  mmlab::KmemCache& k = *mmlab::KmemCache::From(c);
  mmlab::IrqSaveGuard guard(k.lock);
  return k.ctor_calls;
}

uint64_t SlabsAllocated(mmlab_kmem_cache* c) {
  mmlab::KmemCache& k = *mmlab::KmemCache::From(c);
  mmlab::IrqSaveGuard guard(k.lock);
  return k.slabs_allocated;
}

bool Constructed(void* o) {
  for (uint32_t b = 0; b < kCtorSize; b++)
    if (static_cast<unsigned char*>(o)[b] != 0xab)
      return false;
  return true;
}

TEST_F(Slab, BulkCrossesSlabBoundariesAndRefillsFromRemoteFreesAndPartialSlabs) {
  NewCore(4, 8);
  g_ctor_calls = 0;
  mmlab_kmem_cache* c = MustCreate(core_, "bulk_ctor", kCtorSize, 0, 0, CountingCtor);
  const uint32_t per_slab = K(c).layout.objects;
  const size_t n = 3 * per_slab + 5;  // four slabs, the last one partly
  std::vector<void*> objs(n, nullptr);
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_KERNEL, n, objs.data(), 0), n);
  EXPECT_EQ(std::set<void*>(objs.begin(), objs.end()).size(), n);
  for (void* o : objs) {
    ASSERT_NE(o, nullptr);
    EXPECT_TRUE(Constructed(o));
    memset(o, 0x5a, 8);  // in use: the caller's bytes
    memset(o, 0xab, 8);  // and back to the constructed state before the free
  }
  EXPECT_EQ(SlabsAllocated(c), 4u);
  EXPECT_EQ(CtorCalls(c), 4u * per_slab) << "each slab constructed once, when made";
  EXPECT_EQ(g_ctor_calls.load(), 4u * per_slab);
  EXPECT_EQ(ActiveObjects(c), n);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();

  // Every other object freed on another CPU: remote frees onto CPU 0's slab
  // and onto full slabs, which become partial.
  std::vector<void*> half, rest;
  for (size_t i = 0; i < n; i++)
    (i % 2 ? half : rest).push_back(objs[i]);
  sim::BindCpu(1);
  mmlab_core_kmem_cache_free_bulk(c, half.size(), half.data(), 0);
  sim::BindCpu(0);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(ActiveObjects(c), rest.size());
  // CPU 0 takes as many back: what its freelist still has, then its own
  // slab's remote frees, then the partial slabs - no new slab, no
  // constructor call, no object that is still in use.
  std::vector<void*> again(half.size(), nullptr);
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_ATOMIC, again.size(), again.data(), 0),
            again.size());
  std::set<void*> in_use(rest.begin(), rest.end());
  for (void* o : again)
    EXPECT_EQ(in_use.count(o), 0u) << o << " is still in use";
  EXPECT_EQ(std::set<void*>(again.begin(), again.end()).size(), again.size());
  for (void* o : again)
    EXPECT_TRUE(Constructed(o));
  EXPECT_EQ(SlabsAllocated(c), 4u);
  EXPECT_EQ(g_ctor_calls.load(), 4u * per_slab) << "no constructor call on reuse";
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  // Larger than everything free: the rest comes from new slabs.
  std::vector<void*> more(2 * per_slab, nullptr);
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_KERNEL, more.size(), more.data(), 0),
            more.size());
  EXPECT_EQ(SlabsAllocated(c), 6u);
  EXPECT_EQ(g_ctor_calls.load(), 6u * per_slab);
  // Everything back in one call, mixed from six slabs, and none left.
  std::vector<void*> all;
  all.insert(all.end(), rest.begin(), rest.end());
  all.insert(all.end(), again.begin(), again.end());
  all.insert(all.end(), more.begin(), more.end());
  std::shuffle(all.begin(), all.end(), std::mt19937(7));
  sim::ClearLogs();
  mmlab_core_kmem_cache_free_bulk(c, all.size(), all.data(), 0);
  EXPECT_EQ(sim::Logs().size(), 0u) << sim::LogText();
  EXPECT_EQ(ActiveObjects(c), 0u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK) << sim::LogText();
}

TEST_F(Slab, BulkZeroesWithGfpZeroAndRefusesDma32AsSingleAllocationsDo) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = MustCreate(core_, "bulk_zero", 200);
  std::vector<void*> objs(50, nullptr);
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_KERNEL, 50, objs.data(), 0), 50u);
  for (void* o : objs)
    memset(o, 0xee, 200);
  mmlab_core_kmem_cache_free_bulk(c, 50, objs.data(), 0);
  sim::ClearLogs();
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(
                c, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO | MMLAB___GFP_DMA32, 50, objs.data(), 0),
            50u);
  EXPECT_EQ(sim::CountLogs("kmem_cache_alloc_bulk: Unexpected gfp: __GFP_DMA32"), 1u)
      << sim::LogText();
  for (void* o : objs)
    for (int b = 0; b < 200; b++)
      ASSERT_EQ(static_cast<unsigned char*>(o)[b], 0) << b;
  mmlab_core_kmem_cache_free_bulk(c, 50, objs.data(), 0);
  EXPECT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_KERNEL, 0, nullptr, 0), 0u);
  mmlab_core_kmem_cache_free_bulk(c, 0, nullptr, 0);
  EXPECT_EQ(ActiveObjects(c), 0u);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slab, BulkFailingMidwayGivesEveryObjectBack) {
  NewBuddyCore(4, 4);  // chunks of 16 pages, borrowed as needed
  g_ctor_calls = 0;
  const uint64_t used0 = UsedPages(core_);
  mmlab_kmem_cache* c = MustCreate(core_, "bulk_fail", kCtorSize, 0, 0, CountingCtor);
  const uint32_t per_slab = K(c).layout.objects;
  ASSERT_EQ(K(c).layout.order, 0u);
  void* first = mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0);  // borrows one chunk
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(Counters().host_chunks, 1u);
  // The host lends nothing more: at most 15 more slabs, the bulk wants 20.
  sim::LimitChunkAllocs(0);
  const size_t n = 20 * per_slab;
  std::vector<void*> objs(n, reinterpret_cast<void*>(1));
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_NOWAIT | MMLAB___GFP_NOWARN, n,
                                             objs.data(), 0),
            0u);
  for (void* o : objs)
    ASSERT_EQ(o, nullptr);
  const uint64_t slabs = SlabsAllocated(c);
  EXPECT_GT(slabs, 2u) << "the failure came midway, after new slabs";
  EXPECT_LT(slabs * per_slab, n);
  EXPECT_EQ(ActiveObjects(c), 1u) << "only the single allocation is out";
  EXPECT_EQ(g_ctor_calls.load(), slabs * per_slab) << "each object constructed once";
  EXPECT_EQ(CtorCalls(c), slabs * per_slab);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("double free"), 0u) << sim::LogText();
  // The emptied slabs went back to the buddy (min_partial keeps one, the
  // CPU holds one).
  EXPECT_LE(UsedPages(core_) - used0, 2u);
  // The host lends again: the same bulk succeeds, every object constructed.
  sim::LimitChunkAllocs(-1);
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_KERNEL, n, objs.data(), 0), n);
  for (void* o : objs)
    ASSERT_TRUE(Constructed(o));
  EXPECT_EQ(g_ctor_calls.load(), SlabsAllocated(c) * per_slab);
  mmlab_core_kmem_cache_free_bulk(c, n, objs.data(), 0);
  mmlab_core_kmem_cache_free(c, first, 0);
  EXPECT_EQ(ActiveObjects(c), 0u);
  mmlab_core_kmem_cache_shrink(c);
  EXPECT_EQ(UsedPages(core_), used0) << "every slab went back";
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slab, FreeBulkReportsAndSkipsBadPointersAndFreesTheRest) {
  NewCore(4, 8);
  mmlab_kmem_cache* a = MustCreate(core_, "a", 64);
  mmlab_kmem_cache* b = MustCreate(core_, "b", 64);
  std::vector<void*> objs(12, nullptr);
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(a, MMLAB_GFP_KERNEL, 12, objs.data(), 0), 12u);
  void* other = mmlab_core_kmem_cache_alloc(b, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(other, nullptr);
  int on_stack = 0;
  std::vector<void*> arr = {objs[0], objs[1], objs[2], &on_stack, objs[3], objs[4],
                            static_cast<char*>(objs[5]) + 8, objs[5], objs[6], other,
                            nullptr, objs[7], objs[8], objs[8], objs[9], objs[10], objs[11]};
  sim::ClearLogs();
  const uint64_t bad_before = Stat("slab_bad_frees");
  mmlab_core_kmem_cache_free_bulk(a, arr.size(), arr.data(), 0);
  EXPECT_EQ(sim::CountLogs("kmem_cache_free_bulk(a): object "), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("is not in a slab"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("is not the start of an object"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("Wrong slab cache. a but object"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("double free of object"), 1u) << sim::LogText();
  EXPECT_EQ(Stat("slab_bad_frees"), bad_before + 4);
  EXPECT_EQ(ActiveObjects(a), 0u) << "every good object was freed once";
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  // SLUB's naive double-free check holds for bulk too, on the CPU slab
  // (the object is its freelist's head) and on a slab no CPU holds.
  void* x = mmlab_core_kmem_cache_alloc(a, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(x, nullptr);
  sim::ClearLogs();
  void* pair[2] = {x, x};
  mmlab_core_kmem_cache_free_bulk(a, 1, pair, 0);
  mmlab_core_kmem_cache_free_bulk(a, 1, pair + 1, 0);
  EXPECT_EQ(sim::CountLogs("double free of object"), 1u) << sim::LogText();
  std::vector<void*> full(2 * K(a).layout.objects, nullptr);
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(a, MMLAB_GFP_KERNEL, full.size(), full.data(), 0),
            full.size());
  void* y = full[0];  // of a full slab CPU 0 no longer holds
  void* again[3] = {full[1], y, y};
  mmlab_core_kmem_cache_free_bulk(a, 3, again, 0);
  EXPECT_EQ(sim::CountLogs("double free of object"), 2u) << sim::LogText();
  again[0] = y;
  mmlab_core_kmem_cache_free_bulk(a, 1, again, 0);
  EXPECT_EQ(sim::CountLogs("double free of object"), 3u) << sim::LogText();
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  mmlab_core_kmem_cache_free_bulk(a, full.size() - 2, full.data() + 2, 0);
  EXPECT_EQ(ActiveObjects(a), 0u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  mmlab_core_kmem_cache_free(b, other, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(a), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(b), MMLAB_OK) << sim::LogText();
}

TEST_F(Slab, FreeBulkOfObjectsOnAnotherCpusSlabAndFullSlabsInOneCall) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = MustCreate(core_, "mixed", 128);
  const uint32_t per_slab = K(c).layout.objects;
  // CPU 2 fills two slabs and holds a third; CPU 0 holds its own.
  sim::BindCpu(2);
  std::vector<void*> theirs(2 * per_slab + 3, nullptr);
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_KERNEL, theirs.size(), theirs.data(), 0),
            theirs.size());
  sim::BindCpu(0);
  std::vector<void*> mine(5, nullptr);
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_KERNEL, 5, mine.data(), 0), 5u);
  // Interleaved, so the look-ahead has to skip: mine, theirs, mine, ...
  std::vector<void*> all;
  for (size_t i = 0; i < theirs.size(); i++) {
    if (i < mine.size())
      all.push_back(mine[i]);
    all.push_back(theirs[i]);
  }
  mmlab_core_kmem_cache_free_bulk(c, all.size(), all.data(), 0);
  EXPECT_EQ(ActiveObjects(c), 0u);
  EXPECT_EQ(sim::CountLogs("double free"), 0u) << sim::LogText();
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  // The two full slabs emptied: one kept partial (min_partial), one freed.
  mmlab::KmemCache& k = *mmlab::KmemCache::From(c);
  {
    mmlab::IrqSaveGuard guard(k.lock);
    EXPECT_EQ(k.slabs_freed, 1u);
    EXPECT_EQ(k.node[MMLAB_ZONE_NORMAL].nr_full, 0u);
  }
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slab, BulkOnSeveralCpusWithTheCheckerRunning) {
  NewCore(5, 16);
  mmlab_kmem_cache* c = MustCreate(core_, "bulk_shared", 72);
  constexpr int kThreads = 3;
  constexpr int kRounds = 1500;
  std::atomic<int> errors{0};
  std::mutex mu;
  std::vector<std::vector<void*>> handoff;  // batches freed by whoever takes them
  auto tag_of = [](void* o, int id) { return (uint64_t(id) << 48) | reinterpret_cast<uintptr_t>(o); };
  auto worker = [&](int id) {
    sim::BindCpu(static_cast<uint32_t>(id));
    std::mt19937 rng(static_cast<unsigned>(id) * 104729u);
    for (int r = 0; r < kRounds; r++) {
      size_t n = 1 + rng() % 70;
      std::vector<void*> batch(n, nullptr);
      mmlab_gfp_t gfp = rng() % 2 ? MMLAB_GFP_KERNEL : MMLAB_GFP_ATOMIC;
      if (mmlab_core_kmem_cache_alloc_bulk(c, gfp, n, batch.data(), 0) != n) {
        for (void* o : batch)
          if (o)
            errors++;
        continue;
      }
      for (void* o : batch) {
        uint64_t tag = tag_of(o, id);
        memcpy(o, &tag, 8);
        memcpy(static_cast<char*>(o) + 64, &tag, 8);
      }
      for (void* o : batch) {
        uint64_t t1, t2;
        memcpy(&t1, o, 8);
        memcpy(&t2, static_cast<char*>(o) + 64, 8);
        if (t1 != tag_of(o, id) || t2 != t1)
          errors++;
      }
      std::vector<void*> freeing;
      if (rng() % 3 == 0) {
        std::lock_guard<std::mutex> g(mu);
        handoff.push_back(std::move(batch));
        if (handoff.size() > 4) {
          freeing = std::move(handoff.front());
          handoff.erase(handoff.begin());
        }
      } else {
        freeing = std::move(batch);
      }
      std::shuffle(freeing.begin(), freeing.end(), rng);
      if (rng() % 4 == 0) {
        for (void* o : freeing)
          mmlab_core_kmem_cache_free(c, o, 0);
      } else {
        mmlab_core_kmem_cache_free_bulk(c, freeing.size(), freeing.data(), 0);
      }
    }
  };
  std::atomic<bool> stop{false};
  std::thread checker([&] {
    sim::BindCpu(3);
    while (!stop) {
      if (mmlab_core_check(core_) != MMLAB_OK)
        errors++;
      if (Render(MMLAB_VIEW_SLABINFO).find("bulk_shared ") == std::string::npos)
        errors++;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++)
    threads.emplace_back(worker, t);
  for (auto& t : threads)
    t.join();
  stop = true;
  checker.join();
  for (auto& batch : handoff)
    mmlab_core_kmem_cache_free_bulk(c, batch.size(), batch.data(), 0);
  EXPECT_EQ(errors.load(), 0) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("double free"), 0u) << sim::LogText();
  EXPECT_EQ(ActiveObjects(c), 0u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK) << sim::LogText();
}

TEST_F(Slab, BadFreesAreReportedAndRefused) {
  NewCore(4, 8);
  mmlab_kmem_cache* a = MustCreate(core_, "a", 64);
  mmlab_kmem_cache* b = MustCreate(core_, "b", 64);
  void* x = mmlab_core_kmem_cache_alloc(a, MMLAB_GFP_KERNEL, 0);
  void* y = mmlab_core_kmem_cache_alloc(a, MMLAB_GFP_KERNEL, 0);
  ASSERT_TRUE(x && y);
  sim::ClearLogs();
  mmlab_core_kmem_cache_free(b, x, 0);
  EXPECT_EQ(sim::CountLogs("Wrong slab cache. b but object"), 1u) << sim::LogText();
  mmlab_core_kmem_cache_free(a, static_cast<char*>(x) + 8, 0);
  EXPECT_EQ(sim::CountLogs("is not the start of an object"), 1u) << sim::LogText();
  int on_stack;
  mmlab_core_kmem_cache_free(a, &on_stack, 0);
  EXPECT_EQ(sim::CountLogs("is not in a slab"), 1u) << sim::LogText();
  mmlab_page* page = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  mmlab_core_kmem_cache_free(a, mmlab_core_page_address(core_, page), 0);
  EXPECT_EQ(sim::CountLogs("is not in a slab"), 2u) << sim::LogText();
  mmlab_core___free_pages(core_, page, 0);
  // Double free of the freelist head (the CPU's) is caught, as SLUB's
  // naive check; and on another CPU's slab through the slab's freelist.
  mmlab_core_kmem_cache_free(a, y, 0);
  mmlab_core_kmem_cache_free(a, y, 0);
  EXPECT_EQ(sim::CountLogs("double free of object"), 1u) << sim::LogText();
  sim::BindCpu(1);
  mmlab_core_kmem_cache_free(a, x, 0);
  mmlab_core_kmem_cache_free(a, x, 0);
  EXPECT_EQ(sim::CountLogs("double free of object"), 2u) << sim::LogText();
  sim::BindCpu(0);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_GE(Stat("slab_bad_frees"), 5u);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(a), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(b), MMLAB_OK);
}

TEST_F(Slab, CheckerFindsACorruptedFreelist) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = MustCreate(core_, "corrupt", 64);
  std::vector<void*> objs;
  for (uint32_t i = 0; i < 2 * K(c).layout.objects; i++)
    objs.push_back(mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0));
  // Free two objects of the first (no longer the CPU's) slab: they sit on
  // its freelist. Then scribble over the free pointer of the head.
  mmlab_core_kmem_cache_free(c, objs[0], 0);
  mmlab_core_kmem_cache_free(c, objs[1], 0);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
  void* saved;
  char* head = static_cast<char*>(objs[1]) + K(c).layout.offset;
  memcpy(&saved, head, sizeof(saved));
  void* bogus = static_cast<char*>(objs[5]) + 3;
  memcpy(head, &bogus, sizeof(bogus));
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_EUCLEAN);
  EXPECT_EQ(sim::CountLogs("freelist points outside its objects"), 1u) << sim::LogText();
  memcpy(head, &saved, sizeof(saved));
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
  for (size_t i = 2; i < objs.size(); i++)
    mmlab_core_kmem_cache_free(c, objs[i], 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slab, ThreadsOnSeveralCpusAllocatingAndFreeingEachOthersObjects) {
  NewCore(5, 16);
  mmlab_kmem_cache* c = MustCreate(core_, "shared", 72);
  constexpr int kThreads = 4;
  constexpr int kOps = 20000;
  std::atomic<int> errors{0};
  std::mutex mu;
  std::vector<void*> handoff;  // objects freed by whoever picks them
  auto worker = [&](int id) {
    sim::BindCpu(static_cast<uint32_t>(id));
    std::mt19937 rng(static_cast<unsigned>(id) * 7919u);
    std::vector<void*> mine;
    for (int i = 0; i < kOps; i++) {
      uint32_t r = rng() % 8;
      if (r < 4 || mine.empty()) {
        mmlab_gfp_t gfp = r % 2 ? MMLAB_GFP_KERNEL : MMLAB_GFP_ATOMIC;
        void* o = mmlab_core_kmem_cache_alloc(c, gfp, 0);
        if (!o)
          continue;
        uint64_t tag = (uint64_t(id) << 48) | reinterpret_cast<uintptr_t>(o);
        memcpy(o, &tag, sizeof(tag));
        memcpy(static_cast<char*>(o) + 64, &tag, sizeof(tag));
        mine.push_back(o);
      } else if (r < 6) {
        void* o = mine.back();
        mine.pop_back();
        uint64_t t1, t2;
        memcpy(&t1, o, 8);
        memcpy(&t2, static_cast<char*>(o) + 64, 8);
        if (t1 != t2 || (t1 & ((uint64_t{1} << 48) - 1)) != reinterpret_cast<uintptr_t>(o))
          errors++;
        std::lock_guard<std::mutex> g(mu);
        handoff.push_back(o);
      } else {
        void* o = nullptr;
        {
          std::lock_guard<std::mutex> g(mu);
          if (!handoff.empty()) {
            o = handoff.back();
            handoff.pop_back();
          }
        }
        if (o)
          mmlab_core_kmem_cache_free(c, o, 0);  // often another CPU's slab
      }
    }
    for (void* o : mine)
      mmlab_core_kmem_cache_free(c, o, 0);
  };
  std::atomic<bool> stop{false};
  std::thread checker([&] {
    sim::BindCpu(3);
    while (!stop) {
      std::string info = Render(MMLAB_VIEW_SLABINFO);
      if (info.find("shared ") == std::string::npos)
        errors++;
      if (mmlab_core_check(core_) != MMLAB_OK)
        errors++;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++)
    threads.emplace_back(worker, t);
  for (auto& t : threads)
    t.join();
  stop = true;
  checker.join();
  for (void* o : handoff)
    mmlab_core_kmem_cache_free(c, o, 0);
  EXPECT_EQ(errors.load(), 0) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("double free"), 0u) << sim::LogText();
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK) << sim::LogText();
}

TEST_F(Slab, AtomicContextAllocationsNeverSleep) {
  NewCore(4, 8);
  ASSERT_EQ(Result("cache_create name=atomic size=200 flags=HWCACHE_ALIGN").rfind("cache 1 ", 0),
            0u);
  const uint64_t sleeps = sim::MightSleepCalls();
  for (int i = 0; i < 50; i++) {
    EXPECT_EQ(Control("cache_alloc cache=1 gfp=GFP_ATOMIC context=irqoff"), MMLAB_OK)
        << sim::LogText();
    EXPECT_EQ(Control("cache_alloc cache=1 gfp=GFP_NOWAIT context=timer"), MMLAB_OK);
    EXPECT_EQ(Control("kmalloc size=700 gfp=GFP_ATOMIC context=irqoff"), MMLAB_OK);
  }
  EXPECT_EQ(Control("kmalloc size=20000 gfp=GFP_ATOMIC context=timer"), MMLAB_OK);
  EXPECT_EQ(sim::MightSleepCalls(), sleeps) << "no might_sleep on the atomic path";
  EXPECT_EQ(Result("free_all").find("freed"), 0u);
}

TEST_F(Slab, Dma32CachesTakeSlabsFromDma32) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = MustCreate(core_, "dma", 128, 0, MMLAB_SLAB_CACHE_DMA32);
  void* o = mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(o, nullptr);
  mmlab_page* p = mmlab_core_virt_to_page(core_, o);
  EXPECT_LT(mmlab_core_page_to_pfn(core_, p), 0x100000u) << "below 4 GiB";
  mmlab_core_kmem_cache_free(c, o, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slab, CommandsParseAndAnswerInOneLine) {
  NewCore(4, 8);
  struct Case {
    const char* cmd;
    mmlab_status st;
    const char* result_prefix;
  } cases[] = {
      {"cache_create size=10", MMLAB_EINVAL, "control: cache_create: name= is required"},
      {"cache_create name=x", MMLAB_EINVAL, "control: cache_create: size= is required"},
      {"cache_create name=bad/name size=10", MMLAB_EINVAL, "control: cache_create: name 'bad/name'"},
      {"cache_create name=x size=10 flags=FOO", MMLAB_EINVAL,
       "control: cache_create: unknown flag 'FOO'"},
      {"cache_create name=x size=10 ctor=zero", MMLAB_EINVAL,
       "control: cache_create: ctor 'zero' unknown"},
      {"cache_create name=x size=10 align=3", MMLAB_EINVAL, "kmem_cache_create(x): align 3"},
      {"cache_create name=x size=0", MMLAB_EINVAL, "kmem_cache_create(x): size 0"},
      {"cache_create name=demo size=100 align=32 flags=HWCACHE_ALIGN|NO_MERGE", MMLAB_OK,
       "cache 1 name demo objsize 100 size 128 align 64 order 0 objperslab 32 waste 0"},
      {"cache_create name=d2 size=24 flags=SLAB_DMA32|ACCOUNT|RECLAIM_ACCOUNT", MMLAB_OK,
       "cache 2 name d2 objsize 24 size 24 align 8 order 0 objperslab 170 waste 16"},
      {"cache_alloc cache=9", MMLAB_ENOENT, "control: cache_alloc: no cache 9"},
      {"cache_alloc cache=1", MMLAB_OK, "object 1 cache 1 pfn 0x"},
      {"cache_alloc 1 gfp=GFP_BOGUS", MMLAB_EINVAL, "control: gfp: unknown flag"},
      {"cache_alloc 1 context=nmi", MMLAB_EINVAL, "control: context='nmi'"},
      {"cache_info cache=1", MMLAB_OK,
       "cache 1 name demo objsize 100 size 128 align 64 order 0 objperslab 32 waste 0 "
       "active_objs 1 num_objs 32 slabs 1 debug - bad_frees 0 poison_overwrites 0 "
       "redzone_overwrites 0 freelist_corrupt 0 ctor_calls 0"},
      {"cache_free object=77", MMLAB_ENOENT, "control: no object 77"},
      {"kmalloc size=100", MMLAB_OK, "object 2 size 100 ksize 128 cache kmalloc-128"},
      {"cache_free 2", MMLAB_EINVAL, "control: object 2 is a kmalloc object (free it with kfree)"},
      {"kfree 1", MMLAB_EINVAL, "control: object 1 is a slab object (free it with cache_free)"},
      {"obj_fill object=2 byte=256", MMLAB_EINVAL, "control: obj_fill: byte 256 out of range"},
      {"obj_fill object=2 byte=0x5a", MMLAB_OK, "object 2 filled 100 bytes"},
      {"obj_check object=2 byte=0x5a", MMLAB_OK, "ok 100 bytes"},
      {"obj_check object=2 byte=0x5a len=101", MMLAB_EINVAL, "control: obj_check: len 101"},
      {"obj_check object=2 byte=0x5b", MMLAB_EUCLEAN,
       "control: object 2: byte 0x5a at offset 0, expected 0x5b"},
      {"obj_check object=1 byte=0 len=0", MMLAB_OK, "ok 0 bytes"},
      {"krealloc object=2 size=120", MMLAB_OK,
       "object 2 size 120 ksize 128 cache kmalloc-128 in-place"},
      {"obj_check object=2 byte=0x5a len=100", MMLAB_OK, "ok 100 bytes"},
      {"krealloc object=2 size=3000", MMLAB_OK, "object 2 size 3000 ksize 4096 cache kmalloc-4k moved"},
      {"obj_check object=2 byte=0x5a len=100", MMLAB_OK, "ok 100 bytes"},
      {"krealloc object=2 size=10000", MMLAB_OK,
       "object 2 size 10000 ksize 16384 cache pages order 2 moved"},
      {"obj_check object=2 byte=0x5a len=100", MMLAB_OK, "ok 100 bytes"},
      {"kmalloc_array count=4 size=8", MMLAB_OK, "object 3 size 32 ksize 32 cache kmalloc-32"},
      {"kmalloc_array count=0x4000000000000000 size=8", MMLAB_EINVAL,
       "control: kmalloc_array: 4611686018427387904 * 8 overflows"},
      {"kmalloc size=0", MMLAB_OK, "object 4 size 0 ksize 0 cache ZERO_SIZE_PTR"},
      {"obj_fill object=4 byte=1", MMLAB_OK, "object 4 filled 0 bytes"},
      {"kfree object=4", MMLAB_OK, "freed object 4"},
      {"kmalloc size=99999999", MMLAB_ENOMEM, "kmalloc: size 99999999 is above the largest"},
      {"cache_shrink cache=1", MMLAB_OK, "cache 1 shrink: 0 pages returned"},
      {"cache_destroy cache=1", MMLAB_EBUSY, "control: cache_destroy: cache 1 has live objects"},
      {"cache_alloc cache=1", MMLAB_EINVAL, "control: cache_alloc: cache 1 is destroyed"},
      {"cache_free 1", MMLAB_OK, "freed object 1"},
      {"cache_destroy cache=1", MMLAB_OK, "cache 1 destroyed"},
      {"cache_info cache=1", MMLAB_ENOENT, "control: cache_info: no cache 1"},
      {"krealloc object=2 size=0", MMLAB_OK, "object 2 size 0 freed"},
      {"kfree 2", MMLAB_ENOENT, "control: no object 2"},
  };
  for (const Case& c : cases) {
    std::string r;
    EXPECT_EQ(Control(c.cmd, &r), c.st) << c.cmd << " -> " << r;
    EXPECT_EQ(r.rfind(c.result_prefix, 0), 0u) << c.cmd << " -> " << r;
    EXPECT_EQ(r.find('\n'), std::string::npos) << c.cmd;
  }
  std::string r = Result("free_all");
  EXPECT_NE(r.find("freed"), std::string::npos) << r;
  EXPECT_EQ(Render(MMLAB_VIEW_SLABINFO).find("d2 "), std::string::npos)
      << "free_all destroys the control file's caches";
}

TEST_F(Slab, CacheDestroyWaitsForCommandsAndPoolsUsingTheCache) {
  NewCore(4, 8);
  ASSERT_EQ(Result("cache_create name=pinned size=64").rfind("cache 1 ", 0), 0u);
  mmlab::Core* core = mmlab::Core::From(core_);
  mmlab::KmemCache* s = mmlab::SlabGetControlCache(*core, 1);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(mmlab::SlabGetControlCache(*core, 2), nullptr);
  std::string r;
  EXPECT_EQ(Control("cache_destroy cache=1", &r), MMLAB_EBUSY);
  EXPECT_EQ(r, "control: cache_destroy: cache 1 is in use by another command or a pool");
  EXPECT_EQ(Control("cache_info cache=1"), MMLAB_OK) << "still there";
  mmlab::SlabPutControlCache(*core, s);
  EXPECT_EQ(Result("cache_destroy cache=1"), "cache 1 destroyed");
  EXPECT_EQ(Control("cache_destroy cache=1"), MMLAB_ENOENT);
}

TEST_F(Slab, SlabinfoIsExactlyVersion21) {
  NewCore(4, 8);
  ASSERT_EQ(Result("cache_create name=demo size=100").rfind("cache 1 ", 0), 0u);
  for (int i = 0; i < 3; i++)
    ASSERT_EQ(Control("cache_alloc cache=1"), MMLAB_OK);
  std::string view = Render(MMLAB_VIEW_SLABINFO);
  std::istringstream in(view);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "slabinfo - version: 2.1");
  std::getline(in, line);
  EXPECT_EQ(line,
            "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : "
            "tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> "
            "<sharedavail> : policy <name>");
  std::getline(in, line);
  char want[256];
  // demo: 104-byte stride, 39 per 4 KiB slab, 3 active in one slab.
  snprintf(want, sizeof(want),
           "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu : policy slub",
           "demo",
           3ul, 39ul, 104u, 39u, 1, 0u, 0u, 0u, 1ul, 1ul, 0ul);
  EXPECT_EQ(line, want);
  int lines = 1;
  std::regex row(
      "^(\\S+) +(\\d+) +(\\d+) +(\\d+) +(\\d+) +(\\d+) : tunables +0 +0 +0 : slabdata +(\\d+) "
      "+(\\d+) +0 : policy slub$");
  bool saw_kmalloc_8k = false;
  while (std::getline(in, line)) {
    lines++;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, row)) << line;
    EXPECT_LE(std::stoul(m[2]), std::stoul(m[3])) << line;
    if (m[1] == "kmalloc-8k") {
      saw_kmalloc_8k = true;
      EXPECT_EQ(m[4], "8192");
      EXPECT_EQ(m[5], "4");
      EXPECT_EQ(m[6], "8");
    }
  }
  EXPECT_TRUE(saw_kmalloc_8k);
  EXPECT_EQ(lines, 14) << "demo and the 13 kmalloc classes";
  EXPECT_EQ(Result("free_all").find("freed"), 0u);
}

}  // namespace
}  // namespace mmlab_test
