// SPDX-License-Identifier: GPL-2.0
//
// checkers_test.cc - the core calls the hooks the kernel's KASAN and
// kmemleak stand on (host.h) exactly as Linux's slab does: a new slab is
// red zone, a live object is accessible for exactly its size (a kmalloc
// for the bytes asked for, its slot's tail red zone), a freed object is
// poisoned as freed, pages go back to the buddy accessible, and every
// object handed out is registered once and unregistered when freed.
//
// The simulated host (host_sim.cc) keeps a real KASAN generic shadow and a
// kmemleak registry, and checks every memset/memcpy the core makes against
// that shadow (sim_kasan.h): a core that zeroed or copied a poisoned byte
// aborts the test, as the kernel's KASAN reports it.
#include <cstdint>
#include <cstring>
#include <vector>

#include "test_util.h"

// host_sim.cc's checked memset (sim_kasan.h, not included here: its macros
// are for the core's build).
extern "C" void* mmlab_sim_kasan_memset(void* dst, int c, size_t n);

namespace mmlab_test {
namespace {

using Checkers = CoreTest;

constexpr uint8_t kFree = sim::kShadowSlabFree;
constexpr uint8_t kRedzone = sim::kShadowSlabRedzone;

const unsigned char* Bytes(const void* p) { return static_cast<const unsigned char*>(p); }

TEST_F(Checkers, CacheObjectsAreRedZoneInANewSlabLiveForTheirSizeAndPoisonedWhenFreed) {
  NewCore(4, 4);
  mmlab_kmem_cache* cache = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "chk60", 60, 0, 0, nullptr, &cache), MMLAB_OK);
  const uint64_t registered = sim::RegisteredObjects();

  void* obj = mmlab_core_kmem_cache_alloc(cache, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(obj, nullptr);
  // 60 bytes, stride 64: the last granule has 4 good bytes.
  EXPECT_TRUE(sim::IsAccessible(obj, 60));
  EXPECT_EQ(sim::PoisonedBytes(obj, 64), 4u);
  EXPECT_EQ(sim::ShadowByte(Bytes(obj) + 56), 4u);
  EXPECT_EQ(sim::RegisteredSize(obj), 60u);
  EXPECT_EQ(sim::RegisteredObjects(), registered + 1);
  // The slab's other objects were never handed out: red zone, as
  // kasan_poison_slab leaves them.
  EXPECT_EQ(sim::ShadowByte(Bytes(obj) + 64), kRedzone);
  EXPECT_EQ(sim::PoisonedBytes(Bytes(obj) + 64, 64), 64u);

  memset(obj, 0x11, 60);
  mmlab_core_kmem_cache_free(cache, obj, 0);
  EXPECT_EQ(sim::ShadowByte(obj), kFree);
  EXPECT_EQ(sim::PoisonedBytes(obj, 64), 64u) << "all of it, the free pointer's bytes too";
  EXPECT_EQ(sim::RegisteredSize(obj), 0u);
  EXPECT_EQ(sim::RegisteredObjects(), registered);

  // Handed out again (SLUB's LIFO freelist): accessible again.
  void* again = mmlab_core_kmem_cache_alloc(cache, MMLAB_GFP_KERNEL, 0);
  EXPECT_EQ(again, obj);
  EXPECT_TRUE(sim::IsAccessible(again, 60));
  mmlab_core_kmem_cache_free(cache, again, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_OK);
  EXPECT_EQ(sim::RegisteredObjects(), registered);
}

TEST_F(Checkers, Kmalloc60MakesBytes60To63ARedZone) {
  NewCore(4, 4);
  unsigned char* p = static_cast<unsigned char*>(mmlab_core_kmalloc(core_, 60, MMLAB_GFP_KERNEL, 0));
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(sim::IsAccessible(p, 60));
  for (int i = 60; i < 64; i++)
    EXPECT_FALSE(sim::IsAccessible(p + i, 1)) << "byte " << i;
  EXPECT_EQ(sim::ShadowByte(p + 56), 4u);
  // kmemleak scans the whole slot, as Linux registers s->object_size.
  EXPECT_EQ(sim::RegisteredSize(p), 64u);
  mmlab_core_kfree(core_, p, 0);
  EXPECT_EQ(sim::PoisonedBytes(p, 64), 64u);
  EXPECT_EQ(sim::ShadowByte(p), kFree);
  EXPECT_EQ(sim::RegisteredSize(p), 0u);
}

TEST_F(Checkers, EveryKmallocSizeIsAccessibleForExactlyWhatWasAskedFor) {
  NewCore(6, 8);
  for (size_t size = 1; size <= 8192; size += (size < 300 ? 1 : 97)) {
    void* p = mmlab_core_kmalloc(core_, size, MMLAB_GFP_KERNEL, 0);
    ASSERT_NE(p, nullptr) << size;
    const size_t slot = sim::RegisteredSize(p);
    ASSERT_GE(slot, size) << size;
    ASSERT_TRUE(sim::IsAccessible(p, size)) << size;
    ASSERT_EQ(sim::PoisonedBytes(p, slot), slot - size) << size;
    mmlab_core_kfree(core_, p, 0);
    ASSERT_EQ(sim::PoisonedBytes(p, slot), slot) << size;
  }
}

TEST_F(Checkers, KsizeMakesTheWholeSlotAccessibleAsLinux61Does) {
  NewCore(4, 4);
  void* p = mmlab_core_kmalloc(core_, 33, MMLAB_GFP_KERNEL, 0);  // kmalloc-64
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(sim::PoisonedBytes(p, 64), 31u);
  EXPECT_EQ(mmlab_core_ksize(core_, p), 64u);
  EXPECT_TRUE(sim::IsAccessible(p, 64));
  mmlab_core_kfree(core_, p, 0);
}

TEST_F(Checkers, LargeKmallocIsAccessibleForItsSizeAndItsPagesGoBackClean) {
  NewCore(5, 8);
  unsigned char* p =
      static_cast<unsigned char*>(mmlab_core_kmalloc(core_, 8193, MMLAB_GFP_KERNEL, 0));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(sim::RegisteredSize(p), 16384u);
  EXPECT_TRUE(sim::IsAccessible(p, 8193));
  EXPECT_EQ(sim::PoisonedBytes(p, 16384), 16384u - 8193u);
  mmlab_core_kfree(core_, p, 0);
  EXPECT_EQ(sim::RegisteredSize(p), 0u);
  EXPECT_TRUE(sim::IsAccessible(p, 16384)) << "the buddy's pages are accessible";
}

TEST_F(Checkers, KreallocInPlaceMovesTheRedZoneAndAMoveCopiesOnlyGoodBytes) {
  NewCore(4, 4);
  unsigned char* p = static_cast<unsigned char*>(mmlab_core_kmalloc(core_, 40, MMLAB_GFP_KERNEL, 0));
  ASSERT_NE(p, nullptr);
  memset(p, 0x5a, 40);
  // Grows within kmalloc-64.
  EXPECT_EQ(mmlab_core_krealloc(core_, p, 60, MMLAB_GFP_KERNEL, 0), p);
  EXPECT_TRUE(sim::IsAccessible(p, 60));
  EXPECT_EQ(sim::PoisonedBytes(p, 64), 4u);
  // Shrinks in place: the cut bytes become red zone.
  EXPECT_EQ(mmlab_core_krealloc(core_, p, 10, MMLAB_GFP_KERNEL, 0), p);
  EXPECT_TRUE(sim::IsAccessible(p, 10));
  EXPECT_EQ(sim::PoisonedBytes(p, 64), 54u);
  // Moves to kmalloc-256 with __GFP_ZERO: the copy and the zeroing run on
  // accessible bytes only (the simulated KASAN would abort otherwise).
  unsigned char* q = static_cast<unsigned char*>(
      mmlab_core_krealloc(core_, p, 200, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO, 0));
  ASSERT_NE(q, nullptr);
  ASSERT_NE(q, p);
  EXPECT_EQ(sim::ShadowByte(p), kFree) << "the old object is freed";
  EXPECT_EQ(sim::RegisteredSize(p), 0u);
  EXPECT_TRUE(sim::IsAccessible(q, 200));
  EXPECT_EQ(sim::PoisonedBytes(q, 256), 56u);
  for (int i = 0; i < 10; i++)
    EXPECT_EQ(q[i], 0x5a) << i;
  for (int i = 64; i < 200; i++)
    ASSERT_EQ(q[i], 0) << i;
  mmlab_core_kfree(core_, q, 0);
}

uint64_t g_ctor_bad = 0;
void CheckingCtor(void* obj) {
  // The constructor writes the object, so it must be accessible right now.
  if (!sim::IsAccessible(obj, 48))
    g_ctor_bad++;
  memset(obj, 0x42, 48);
}

TEST_F(Checkers, ConstructorAndGfpZeroRunOnAccessibleObjects) {
  NewCore(4, 4);
  mmlab_kmem_cache* cache = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "chk_ctor", 48, 0, 0, CheckingCtor, &cache),
            MMLAB_OK);
  g_ctor_bad = 0;
  void* a = mmlab_core_kmem_cache_alloc(cache, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(g_ctor_bad, 0u);
  EXPECT_EQ(Bytes(a)[47], 0x42);
  // Constructed but never handed out: red zone again after the constructor.
  EXPECT_FALSE(sim::IsAccessible(Bytes(a) + 56, 1));
  void* z = mmlab_core_kmem_cache_alloc(cache, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO, 0);
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(Bytes(z)[0], 0);
  EXPECT_TRUE(sim::IsAccessible(z, 48));
  mmlab_core_kmem_cache_free(cache, a, 0);
  mmlab_core_kmem_cache_free(cache, z, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_OK);
}

TEST_F(Checkers, BulkObjectsAreRegisteredAndPoisonedOneByOne) {
  NewCore(4, 4);
  mmlab_kmem_cache* cache = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "chk_bulk", 128, 0, 0, nullptr, &cache),
            MMLAB_OK);
  const uint64_t registered = sim::RegisteredObjects();
  void* objs[100] = {};
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(cache, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO, 100, objs,
                                             0),
            100u);
  EXPECT_EQ(sim::RegisteredObjects(), registered + 100);
  for (void* o : objs) {
    EXPECT_EQ(sim::RegisteredSize(o), 128u);
    EXPECT_TRUE(sim::IsAccessible(o, 128));
  }
  mmlab_core_kmem_cache_free_bulk(cache, 100, objs, 0);
  EXPECT_EQ(sim::RegisteredObjects(), registered);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_OK);
}

TEST_F(Checkers, AFailedBulkAllocationGivesBackWhatItRegistered) {
  NewCore(4, 1);  // 16 pages in all
  mmlab_kmem_cache* cache = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "chk_bulk_fail", 1024, 0, 0, nullptr, &cache),
            MMLAB_OK);
  const uint64_t registered = sim::RegisteredObjects();
  std::vector<void*> objs(1000);
  EXPECT_EQ(mmlab_core_kmem_cache_alloc_bulk(cache, MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN,
                                             objs.size(), objs.data(), 0),
            0u);
  EXPECT_EQ(sim::RegisteredObjects(), registered);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_OK);
}

TEST_F(Checkers, ARefusedDoubleFreeTouchesNeitherChecker) {
  NewCore(4, 4);
  void* p = mmlab_core_kmalloc(core_, 64, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);
  const uint64_t frees = sim::ObjectFreeCalls();
  mmlab_core_kfree(core_, p, 0);
  mmlab_core_kfree(core_, p, 0);  // the core's naive check refuses it
  EXPECT_EQ(sim::ObjectFreeCalls(), frees + 1);
  EXPECT_EQ(sim::CountLogs("double free"), 1u) << sim::LogText();
}

TEST_F(Checkers, VmallocAreasAreRegisteredWithKmemleakOnly) {
  NewCore(4, 4);
  void* v = mmlab_core_vmalloc(core_, 10000, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(sim::RegisteredSize(v), 10000u);
  mmlab_core_vfree(core_, v, 0);
  EXPECT_EQ(sim::RegisteredSize(v), 0u);
}

TEST_F(Checkers, MempoolElementsAreLiveObjectsInAndOutOfTheReserve) {
  NewCore(4, 4);
  const uint64_t registered = sim::RegisteredObjects();
  mmlab_mempool* pool = nullptr;
  ASSERT_EQ(mmlab_core_mempool_create_kmalloc_pool(core_, "chk_pool", 4, 100, &pool), MMLAB_OK);
  EXPECT_EQ(sim::RegisteredObjects(), registered + 4) << "the reserve: kmalloc'ed elements";
  void* e = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(sim::IsAccessible(e, 100));
  mmlab_core_mempool_free(pool, e);
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);
  EXPECT_EQ(sim::RegisteredObjects(), registered);
}

TEST_F(Checkers, SlabPagesGoBackToTheBuddyAccessible) {
  NewCore(4, 4);
  mmlab_kmem_cache* cache = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "chk_shrink", 256, 0, 0, nullptr, &cache),
            MMLAB_OK);
  std::vector<void*> objs;
  for (int i = 0; i < 200; i++) {
    objs.push_back(mmlab_core_kmem_cache_alloc(cache, MMLAB_GFP_KERNEL, 0));
    ASSERT_NE(objs.back(), nullptr);
  }
  for (void* o : objs)
    mmlab_core_kmem_cache_free(cache, o, 0);
  EXPECT_GT(mmlab_core_kmem_cache_shrink(cache), 0u);
  // Every page of every slab that went back: no poisoned byte left.
  size_t poisoned_pages = 0;
  for (void* o : objs) {
    const void* page = reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(o) & ~uintptr_t{4095});
    if (sim::ShadowByte(page) != 0 && sim::PoisonedBytes(page, 4096) == 4096)
      poisoned_pages++;
  }
  // At most the slabs SLUB keeps (a CPU slab, kSlabMinPartial) stay.
  EXPECT_LT(poisoned_pages, objs.size() / 2);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_OK);
  // The chunks going back to the host at teardown are checked by the
  // simulation: a poisoned byte there aborts.
}

TEST_F(Checkers, ALiveObjectAtDestroyStaysRegisteredForKmemleakToReport) {
  NewCore(4, 4);
  mmlab_kmem_cache* cache = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "chk_leak", 32, 0, 0, nullptr, &cache), MMLAB_OK);
  void* o = mmlab_core_kmem_cache_alloc(cache, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_EBUSY);
  EXPECT_EQ(sim::RegisteredSize(o), 32u) << "a leak: kmemleak's to find";
  mmlab_core_kmem_cache_free(cache, o, 0);
  EXPECT_EQ(sim::RegisteredSize(o), 0u);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_OK);
}

TEST_F(Checkers, NothingStaysRegisteredAfterEverythingIsFreedAndTheCoreDestroyed) {
  const uint64_t registered = sim::RegisteredObjects();
  const uint64_t allocs = sim::ObjectAllocCalls(), frees = sim::ObjectFreeCalls();
  NewCore(5, 32);  // 4 MiB
  mmlab_kmem_cache* cache = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "chk_all", 200, 0, 0, nullptr, &cache), MMLAB_OK);
  std::vector<void*> k, c, v;
  for (int i = 0; i < 300; i++) {
    k.push_back(mmlab_core_kmalloc(core_, 1 + i * 37 % 12000, MMLAB_GFP_KERNEL, 0));
    c.push_back(mmlab_core_kmem_cache_alloc(cache, MMLAB_GFP_KERNEL, 0));
    if (i % 30 == 0)
      v.push_back(mmlab_core_vmalloc(core_, 4096 * 3 + i, MMLAB_GFP_KERNEL, 0));
    ASSERT_TRUE(k.back() && c.back() && (v.empty() || v.back())) << i << sim::LogText();
  }
  // kmalloc's own caches, the test cache and vmalloc: one registration each.
  EXPECT_EQ(sim::RegisteredObjects(), registered + k.size() + c.size() + v.size());
  for (void* p : k)
    mmlab_core_kfree(core_, p, 0);
  for (void* p : c)
    mmlab_core_kmem_cache_free(cache, p, 0);
  for (void* p : v)
    mmlab_core_vfree(core_, p, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_OK);
  EXPECT_EQ(Destroy(), 0u);
  EXPECT_EQ(sim::RegisteredObjects(), registered);
  EXPECT_EQ(sim::ObjectAllocCalls() - allocs, sim::ObjectFreeCalls() - frees);
}

TEST_F(Checkers, TheSimulatedKasanCatchesAMemsetOfAFreedObject) {
  // The check that keeps the core honest can fail: a checked memset (what
  // the core's __builtin_memset becomes in this build) of a freed object.
  NewCore(4, 4);
  void* p = mmlab_core_kmalloc(core_, 64, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);
  mmlab_core_kfree(core_, p, 0);
  EXPECT_DEATH(mmlab_sim_kasan_memset(p, 0, 64), "KASAN \\(simulated\\)");
}

}  // namespace
}  // namespace mmlab_test
