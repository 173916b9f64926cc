// SPDX-License-Identifier: GPL-2.0
//
// slob_test.cc - the SLOB policy (slob.cc): first fit over pages shared by
// every SLOB cache, alignment fragments, the three free lists, pages back
// when empty, kmalloc with SLOB's header (kfree, ksize, krealloc), objects
// of PAGE_SIZE and more, double and invalid frees, destroy with live
// objects, the heap checker, the slabinfo line, a randomized run against a
// model and two CPUs at once.
//
// SLOB caches are made with mmlab_core_kmem_cache_create_policy; the
// kmalloc classes switch to SLOB with mmlab_core_slab_policy_set while
// they are empty, as slab_policy=slob does at load.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "core.h"
#include "slab.h"
#include "slob.h"
#include "test_util.h"

namespace mmlab_test {
namespace {

constexpr uintptr_t kPage = MMLAB_PAGE_SIZE;

class Slob : public CoreTest {
 protected:
  mmlab::Core& C() { return *mmlab::Core::From(core_); }

  mmlab_kmem_cache* SlobCache(const char* name, uint32_t size, uint32_t align = 0,
                              uint32_t flags = 0, mmlab_ctor_fn ctor = nullptr) {
    mmlab_kmem_cache* c = nullptr;
    EXPECT_EQ(mmlab_core_kmem_cache_create_policy(core_, name, size, align, flags, ctor, "slob",
                                                  4, &c),
              MMLAB_OK)
        << sim::LogText();
    if (c) {
      EXPECT_STREQ(mmlab_core_kmem_cache_policy(c), "slob");
    }
    return c;
  }

  // Every kmalloc class under SLOB (slab_policy=slob); false (test skipped)
  // if one is in use.
  bool KmallocUnderSlob() {
    for (mmlab::KmemCache* s : C().slab().kmalloc_caches)
      if (s)
        mmlab_core_kmem_cache_shrink(s->handle());
    char result[256] = "";
    if (mmlab_core_slab_policy_set(core_, "slob", 4, 1, result, sizeof(result)) != MMLAB_OK)
      return false;
    for (mmlab::KmemCache* s : C().slab().kmalloc_caches)
      if (s && std::string(mmlab_core_kmem_cache_policy(s->handle())) != "slob")
        return false;
    return true;
  }

  uint64_t Used() { return Counters().used_pages; }
  uint64_t PfnOf(const void* p) {
    return mmlab::Core::PageToPfn(C().VirtToPage(reinterpret_cast<uintptr_t>(p)));
  }
  uintptr_t PageOff(const void* p) {
    mmlab::Page* pg = C().VirtToPage(reinterpret_cast<uintptr_t>(p));
    return reinterpret_cast<uintptr_t>(p) - mmlab::Core::PageAddress(pg);
  }
  std::string HeapLine() {
    std::string info = Render(MMLAB_VIEW_SLABINFO);
    size_t at = info.find("\nslob-heap ");
    if (at == std::string::npos)
      return "";
    return info.substr(at + 1, info.find('\n', at + 1) - at - 1);
  }
  // slabdata <active_slabs> of the slob-heap line: the heap's pages.
  uint64_t HeapPages() {
    std::smatch m;
    std::string line = HeapLine();
    if (!std::regex_search(line, m, std::regex("slabdata +(\\d+) +(\\d+)")))
      return 0;
    return std::stoull(m[1]);
  }
  void* Alloc(mmlab_kmem_cache* c) {
    void* p = mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0);
    EXPECT_NE(p, nullptr) << sim::LogText();
    return p;
  }
  void Free(mmlab_kmem_cache* c, void* p) { mmlab_core_kmem_cache_free(c, p, 0); }
  void Check() { EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText(); }
};

TEST_F(Slob, ObjectsOfDifferentCachesShareOnePageFirstFit) {
  NewCore(4, 8);
  const uint64_t base = Used();
  mmlab_kmem_cache* a = SlobCache("slob_a", 40);
  mmlab_kmem_cache* b = SlobCache("slob_b", 100);
  EXPECT_EQ(mmlab::KmemCache::From(a)->policy, &mmlab::SlobPolicy());
  void* a1 = Alloc(a);
  void* b1 = Alloc(b);
  EXPECT_EQ(PfnOf(a1), PfnOf(b1)) << "one heap page for both caches";
  EXPECT_EQ(PageOff(a1), 0u);
  EXPECT_EQ(PageOff(b1), 40u) << "right after a1 (8-aligned, no padding to a stride)";
  EXPECT_EQ(Used(), base + 1);
  Free(a, a1);
  void* b2 = Alloc(b);  // 100 bytes do not fit in a1's 40-byte hole
  EXPECT_EQ(PageOff(b2), 144u);
  void* a2 = Alloc(a);  // first fit: a1's hole
  EXPECT_EQ(a2, a1);
  EXPECT_EQ(Used(), base + 1);
  Check();
  Free(a, a2);
  Free(b, b1);
  Free(b, b2);
  EXPECT_EQ(Used(), base) << "the empty page went back at once";
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(a), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(b), MMLAB_OK);
}

TEST_F(Slob, AlignmentSplitsOffAFragmentThatSmallObjectsUse) {
  NewCore(4, 8);
  mmlab_kmem_cache* small = SlobCache("slob_small", 8);
  mmlab_kmem_cache* wide = SlobCache("slob_wide", 24, 256);
  mmlab_kmem_cache* hw = SlobCache("slob_hw", 100, 0, MMLAB_SLAB_HWCACHE_ALIGN);
  void* s1 = Alloc(small);
  void* w1 = Alloc(wide);
  EXPECT_EQ(PfnOf(s1), PfnOf(w1));
  EXPECT_EQ(PageOff(w1), 256u) << "aligned to 256 in the same page";
  void* s2 = Alloc(small);
  EXPECT_EQ(PageOff(s2), 8u) << "first fit in the fragment before the aligned object";
  std::vector<void*> hws;
  for (int i = 0; i < 20; i++) {
    hws.push_back(Alloc(hw));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(hws.back()) % 64, 0u);
  }
  std::vector<void*> ws;
  for (int i = 0; i < 20; i++) {
    ws.push_back(Alloc(wide));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(ws.back()) % 256, 0u);
  }
  Check();
  for (void* p : hws)
    Free(hw, p);
  for (void* p : ws)
    Free(wide, p);
  Free(small, s1);
  Free(small, s2);
  Free(wide, w1);
  EXPECT_EQ(HeapPages(), 0u) << HeapLine();
  for (mmlab_kmem_cache* c : {small, wide, hw})
    EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slob, SmallMediumAndLargeRequestsSearchTheirOwnLists) {
  NewCore(4, 8);
  const uint64_t base = Used();
  mmlab_kmem_cache* s = SlobCache("slob_s", 100);   // < 256: small
  mmlab_kmem_cache* m = SlobCache("slob_m", 500);   // < 1024: medium
  mmlab_kmem_cache* l = SlobCache("slob_l", 2000);  // < PAGE_SIZE: large
  void* s1 = Alloc(s);
  void* m1 = Alloc(m);
  void* l1 = Alloc(l);
  EXPECT_NE(PfnOf(s1), PfnOf(m1)) << "a medium request does not search the small list";
  EXPECT_NE(PfnOf(m1), PfnOf(l1));
  EXPECT_NE(PfnOf(s1), PfnOf(l1));
  EXPECT_EQ(Used(), base + 3);
  EXPECT_EQ(HeapPages(), 3u) << HeapLine();
  void* s2 = Alloc(s);
  void* m2 = Alloc(m);
  void* l2 = Alloc(l);
  EXPECT_EQ(PfnOf(s2), PfnOf(s1));
  EXPECT_EQ(PfnOf(m2), PfnOf(m1));
  EXPECT_EQ(PfnOf(l2), PfnOf(l1));
  EXPECT_EQ(Used(), base + 3);
  // The large page holds two (96 bytes left): a hole takes the next one.
  Free(l, l2);
  void* l3 = Alloc(l);
  EXPECT_EQ(l3, l2);
  for (auto [c, p] : std::vector<std::pair<mmlab_kmem_cache*, void*>>{
           {s, s1}, {s, s2}, {m, m1}, {m, m2}, {l, l1}, {l, l3}})
    Free(c, p);
  EXPECT_EQ(Used(), base);
  for (mmlab_kmem_cache* c : {s, m, l})
    EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slob, TheServingPageMovesToTheHeadOfItsList) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = SlobCache("slob_next_fit", 200);
  // Three pages of 20 objects (20 * 200 = 4000 bytes each; the 96 bytes
  // left keep each page on the small list, newest first: P3 P2 P1).
  std::vector<void*> objs;
  for (int i = 0; i < 60; i++)
    objs.push_back(Alloc(c));
  std::vector<uint64_t> pfns;
  for (int i = 0; i < 60; i += 20)
    pfns.push_back(PfnOf(objs[i]));
  ASSERT_EQ(PfnOf(objs[19]), pfns[0]);
  ASSERT_EQ(PfnOf(objs[20]), pfns[1]);
  // Two holes in P1: the search passes P3 and P2 and takes the first;
  // P1 becomes the list's head, so a new hole in P3 comes second.
  Free(c, objs[5]);
  Free(c, objs[6]);
  void* p = Alloc(c);
  EXPECT_EQ(p, objs[5]);
  Free(c, objs[45]);
  p = Alloc(c);
  EXPECT_EQ(p, objs[6]) << "the page that served last is searched first (list rotated)";
  p = Alloc(c);
  EXPECT_EQ(p, objs[45]);
  for (void* o : objs)
    Free(c, o);
  EXPECT_EQ(HeapPages(), 0u);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slob, PagesGoBackWhenEntirelyFree) {
  NewCore(4, 8);
  const uint64_t base = Used();
  const uint64_t slab_pages = Stat("slab_pages");
  mmlab_kmem_cache* c = SlobCache("slob_pages", 300);
  std::vector<void*> objs;
  for (int i = 0; i < 100; i++)  // 13 per page: 8 pages
    objs.push_back(Alloc(c));
  EXPECT_EQ(Used(), base + 8);
  EXPECT_EQ(HeapPages(), 8u) << HeapLine();
  EXPECT_EQ(Stat("slab_pages"), slab_pages + 8) << "slab_pages counts the heap's pages";
  // Free all but one object of each page: no page goes back.
  std::map<uint64_t, std::vector<void*>> by_page;
  for (void* o : objs)
    by_page[PfnOf(o)].push_back(o);
  ASSERT_EQ(by_page.size(), 8u);
  for (auto& [pfn, list] : by_page)
    for (size_t i = 1; i < list.size(); i++)
      Free(c, list[i]);
  EXPECT_EQ(Used(), base + 8);
  Check();
  uint64_t expect = 8;
  for (auto& [pfn, list] : by_page) {
    Free(c, list[0]);
    EXPECT_EQ(Used(), base + --expect) << "the last object of a page frees the page";
  }
  EXPECT_EQ(mmlab_core_kmem_cache_shrink(c), 0u) << "nothing left to shrink";
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

std::atomic<uint64_t> g_ctor_calls{0};
void Ctor48(void* obj) {
  g_ctor_calls++;
  memset(obj, 0xab, 48);
}

TEST_F(Slob, ConstructorRunsOnEveryAllocation) {
  NewCore(4, 8);
  g_ctor_calls = 0;
  mmlab_kmem_cache* c = SlobCache("slob_ctor", 48, 0, 0, Ctor48);
  for (int i = 0; i < 10; i++) {
    unsigned char* p = static_cast<unsigned char*>(Alloc(c));
    for (int b = 0; b < 48; b++)
      ASSERT_EQ(p[b], 0xab);
    memset(p, 0, 48);  // the next allocation gets it constructed again
    Free(c, p);
  }
  EXPECT_EQ(g_ctor_calls.load(), 10u) << "SLOB constructs per allocation, SLUB per slab";
  char buf[512];
  mmlab::TextBuf text(buf, sizeof(buf));
  mmlab::SlabCacheInfo(*mmlab::KmemCache::From(c), &text);
  EXPECT_NE(std::string(buf).find("ctor_calls 10"), std::string::npos) << buf;
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slob, ObjectsOfAPageOrMoreArePageBlocksOfTheirOwn) {
  NewCore(4, 8);
  const uint64_t base = Used();
  mmlab_kmem_cache* c = SlobCache("slob_big", 5000);
  mmlab_kmem_cache* p1 = SlobCache("slob_page", 4096);
  void* a = Alloc(c);
  void* b = Alloc(p1);
  EXPECT_EQ(PageOff(a), 0u);
  EXPECT_EQ(PageOff(b), 0u);
  EXPECT_EQ(Used(), base + 3) << "order 1 for 5000 bytes, order 0 for 4096";
  EXPECT_EQ(HeapPages(), 3u) << HeapLine();
  memset(a, 0x11, 5000);
  sim::ClearLogs();
  Free(c, static_cast<char*>(a) + 8);
  EXPECT_EQ(sim::CountLogs("not the start of its SLOB block"), 1u) << sim::LogText();
  Free(p1, a);
  EXPECT_EQ(sim::CountLogs("Wrong slab cache"), 1u) << sim::LogText();
  Free(c, static_cast<char*>(a) + kPage);  // a tail page
  EXPECT_EQ(sim::CountLogs("is not in a slab"), 1u) << sim::LogText();
  EXPECT_EQ(Used(), base + 3);
  Free(c, a);
  Free(p1, b);
  EXPECT_EQ(Used(), base);
  Free(p1, b);  // its page is back in the buddy allocator
  EXPECT_EQ(sim::CountLogs("is not in a slab"), 2u) << sim::LogText();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(p1), MMLAB_OK);
}

TEST_F(Slob, DoubleFreeIsReportedAndHarmless) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = SlobCache("slob_df", 64);
  std::vector<void*> objs;
  for (int i = 0; i < 5; i++) {
    objs.push_back(Alloc(c));
    memset(objs.back(), 0x77, 64);
  }
  Free(c, objs[1]);
  Free(c, objs[2]);  // merges with objs[1]'s block
  sim::ClearLogs();
  Free(c, objs[1]);
  Free(c, objs[2]);  // now inside the merged free block
  EXPECT_EQ(sim::CountLogs("double free of object"), 2u) << sim::LogText();
  EXPECT_EQ(mmlab::KmemCache::From(c)->bad_frees, 2u);
  Check();
  // The heap is intact: the hole is reused exactly, nothing overlaps.
  void* x = Alloc(c);
  void* y = Alloc(c);
  EXPECT_EQ(x, objs[1]);
  EXPECT_EQ(y, objs[2]);
  memset(x, 1, 64);
  memset(y, 2, 64);
  for (int i : {0, 3, 4})
    for (int b = 0; b < 64; b++)
      ASSERT_EQ(static_cast<unsigned char*>(objs[i])[b], 0x77) << "neighbour " << i;
  Free(c, x);
  Free(c, y);
  for (int i : {0, 3, 4})
    Free(c, objs[i]);
  EXPECT_EQ(HeapPages(), 0u);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slob, PointersIntoFreeBlocksOrOffTheObjectsAreRefused) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = SlobCache("slob_bad", 200);
  void* a = Alloc(c);
  void* b = Alloc(c);
  void* keep = Alloc(c);
  Free(c, a);
  sim::ClearLogs();
  Free(c, static_cast<char*>(a) + 16);  // the middle of a free block
  EXPECT_EQ(sim::CountLogs("lies in a free block"), 1u) << sim::LogText();
  Free(c, static_cast<char*>(b) + 4);  // not aligned as the cache's objects
  EXPECT_EQ(sim::CountLogs("not aligned as the cache's objects are"), 1u) << sim::LogText();
  Free(c, static_cast<char*>(keep) + 8);  // would reach into the free tail
  EXPECT_EQ(sim::CountLogs("it overlaps a free block"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("ignored"), 3u) << sim::LogText();
  EXPECT_EQ(mmlab::KmemCache::From(c)->bad_frees, 3u);
  Check();
  // b is still allocated, and a's hole still 200 bytes.
  void* a2 = Alloc(c);
  EXPECT_EQ(a2, a);
  for (void* p : {a2, b, keep})
    Free(c, p);
  EXPECT_EQ(HeapPages(), 0u);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slob, DestroyWithLiveObjectsIsRefusedAndNamesTheCount) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = SlobCache("slob_leaky", 100);
  void* a = Alloc(c);
  void* b = Alloc(c);
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_EBUSY);
  EXPECT_EQ(sim::CountLogs("slob slob_leaky: 2 objects still allocated"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("kmem_cache_destroy slob_leaky: Slab cache still has objects"), 1u);
  Free(c, a);
  Free(c, b);
  EXPECT_EQ(HeapPages(), 0u);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK) << "the zombie goes once empty";
}

TEST_F(Slob, SlabinfoShowsLiveObjectsAndTheHeapLine) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = SlobCache("slob_info", 100);
  std::vector<void*> objs;
  for (int i = 0; i < 50; i++)  // 40 per page: 2 pages
    objs.push_back(Alloc(c));
  std::string info = Render(MMLAB_VIEW_SLABINFO);
  EXPECT_TRUE(std::regex_search(
      info, std::regex("\nslob_info +50 +50 +104 .*: slabdata +0 +0 +0")))
      << info;
  // 50 objects of 50 units; two pages of 2048 units.
  EXPECT_TRUE(std::regex_search(
      HeapLine(), std::regex("^slob-heap +2500 +4096 +2 +2048 +1 : tunables +0 +0 +0 : "
                             "slabdata +2 +2 +0 : policy slob$")))
      << HeapLine();
  EXPECT_GE(Stat("slab_objects"), 50u);
  for (void* o : objs)
    Free(c, o);
  EXPECT_TRUE(std::regex_search(Render(MMLAB_VIEW_SLABINFO),
                                std::regex("\nslob_info +0 +0 ")));
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
  EXPECT_EQ(HeapLine(), "") << "no SLOB cache, no heap";
}

TEST_F(Slob, KmallocUnderSlobHasAHeaderForKfreeAndKsize) {
  NewCore(4, 8);
  if (!KmallocUnderSlob())
    GTEST_SKIP() << "a kmalloc class is in use at start";
  const uint64_t base = Used();
  void* p40 = mmlab_core_kmalloc(core_, 40, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p40, nullptr);
  EXPECT_EQ(PageOff(p40), 64u) << "a 64-byte class aligned to 64, its 8-byte header before";
  EXPECT_EQ(mmlab_core_ksize(core_, p40), 64u);
  void* p64 = mmlab_core_kmalloc(core_, 64, MMLAB_GFP_KERNEL, 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p64) % 64, 0u) << "a power of two aligned to itself";
  EXPECT_EQ(PfnOf(p64), PfnOf(p40));
  void* p96 = mmlab_core_kmalloc(core_, 90, MMLAB_GFP_KERNEL, 0);
  EXPECT_EQ(mmlab_core_ksize(core_, p96), 96u);
  memset(p96, 0x5a, 90);
  void* p200 = mmlab_core_krealloc(core_, p96, 200, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p200, nullptr);
  EXPECT_EQ(mmlab_core_ksize(core_, p200), 256u);
  for (int i = 0; i < 90; i++)
    ASSERT_EQ(static_cast<unsigned char*>(p200)[i], 0x5a);
  void* p3000 = mmlab_core_kmalloc(core_, 3000, MMLAB_GFP_KERNEL, 0);
  EXPECT_EQ(PageOff(p3000), 0u) << "kmalloc-4k: a page of its own";
  EXPECT_EQ(mmlab_core_ksize(core_, p3000), 4096u);
  void* p2k = mmlab_core_kmalloc(core_, 2048, MMLAB_GFP_KERNEL, 0);
  EXPECT_EQ(PageOff(p2k), 2048u) << "aligned to 2048 behind its header";
  // kfree of a cache object, of a header-less pointer, twice.
  mmlab_kmem_cache* c = SlobCache("slob_notk", 64);
  void* obj = Alloc(c);
  sim::ClearLogs();
  mmlab_core_kfree(core_, obj, 0);
  EXPECT_EQ(sim::CountLogs("is not an allocated SLOB object"), 1u) << sim::LogText();
  mmlab_core_kfree(core_, static_cast<char*>(p200) + 16, 0);
  EXPECT_EQ(sim::CountLogs("no sane kmalloc header"), 2u) << sim::LogText();
  mmlab_core_kfree(core_, p40, 0);
  mmlab_core_kfree(core_, p40, 0);
  EXPECT_EQ(sim::CountLogs("kfree(kmalloc): double free"), 1u) << sim::LogText();
  EXPECT_EQ(mmlab_core_ksize(core_, p40), 0u) << "freed: not a kmalloc object any more";
  Check();
  Free(c, obj);
  for (void* p : {p64, p200, p3000, p2k})
    mmlab_core_kfree(core_, p, 0);
  EXPECT_EQ(Used(), base);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slob, BulkAllocAndFree) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = SlobCache("slob_bulk", 72);
  void* objs[100];
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO, 100, objs, 0),
            100u);
  std::sort(objs, objs + 100);
  for (int i = 0; i < 100; i++) {
    for (int b = 0; b < 72; b++)
      ASSERT_EQ(static_cast<unsigned char*>(objs[i])[b], 0);
    if (i) {
      EXPECT_GE(reinterpret_cast<uintptr_t>(objs[i]), reinterpret_cast<uintptr_t>(objs[i - 1]) + 72);
    }
  }
  mmlab_core_kmem_cache_free_bulk(c, 100, objs, 0);
  EXPECT_EQ(HeapPages(), 0u);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slob, CheckerFindsACorruptFreeBlock) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = SlobCache("slob_corrupt", 64);
  void* a = Alloc(c);
  void* b = Alloc(c);
  Free(c, a);
  Check();
  // A write after free over a's free block header (its size unit).
  int16_t saved;
  memcpy(&saved, a, 2);
  int16_t bogus = 3000;
  memcpy(a, &bogus, 2);
  sim::ClearLogs();
  EXPECT_NE(mmlab_core_check(core_), MMLAB_OK);
  EXPECT_GE(sim::CountLogs("slob: pfn"), 1u) << sim::LogText();
  memcpy(a, &saved, 2);
  Check();
  Free(c, b);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

// A random mix of sizes, alignments, frees and kmallocs against a model:
// no two live objects overlap, each keeps its pattern, the checker agrees,
// and every page comes back.
TEST_F(Slob, RandomizedAgainstAModel) {
  NewCore(4, 64);
  const bool kmalloc = KmallocUnderSlob();
  const uint64_t base = Used();
  struct Kind {
    mmlab_kmem_cache* cache;  // null: kmalloc of `size`
    uint32_t size, align;
  };
  std::vector<Kind> kinds = {
      {SlobCache("r_13", 13), 13, 8},         {SlobCache("r_40", 40), 40, 8},
      {SlobCache("r_200", 200, 64), 200, 64}, {SlobCache("r_700", 700), 700, 8},
      {SlobCache("r_1500", 1500), 1500, 8},   {SlobCache("r_3000", 3000, 1024), 3000, 1024},
      {SlobCache("r_6000", 6000), 6000, 8},
  };
  if (kmalloc)
    for (uint32_t size : {1u, 30u, 100u, 250u, 600u, 1024u, 2000u, 5000u})
      kinds.push_back({nullptr, size, 8});
  struct Live {
    size_t kind;
    uint32_t size;
    uint8_t pattern;
  };
  std::map<uintptr_t, Live> live;
  std::mt19937 rng(7);
  auto free_one = [&](std::map<uintptr_t, Live>::iterator it) {
    unsigned char* p = reinterpret_cast<unsigned char*>(it->first);
    for (uint32_t i = 0; i < it->second.size; i++)
      ASSERT_EQ(p[i], it->second.pattern) << "object overwritten at byte " << i;
    const Kind& k = kinds[it->second.kind];
    if (k.cache)
      Free(k.cache, p);
    else
      mmlab_core_kfree(core_, p, 0);
    live.erase(it);
  };
  uint8_t next_pattern = 1;
  for (int op = 0; op < 20000; op++) {
    if (live.empty() || (live.size() < 300 && rng() % 2)) {
      const size_t ki = rng() % kinds.size();
      const Kind& k = kinds[ki];
      void* p = k.cache ? mmlab_core_kmem_cache_alloc(k.cache, MMLAB_GFP_KERNEL, 0)
                        : mmlab_core_kmalloc(core_, k.size, MMLAB_GFP_KERNEL, 0);
      if (!p)
        continue;  // the core is full: fine
      const uintptr_t a = reinterpret_cast<uintptr_t>(p);
      ASSERT_EQ(a % k.align, 0u);
      auto next = live.lower_bound(a);
      ASSERT_TRUE(next == live.end() || next->first >= a + k.size) << "overlaps a live object";
      if (next != live.begin()) {
        auto prev = std::prev(next);
        ASSERT_LE(prev->first + prev->second.size, a) << "overlaps a live object";
      }
      const uint8_t pat = next_pattern++ | 1;
      memset(p, pat, k.size);
      live[a] = {ki, k.size, pat};
    } else {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      free_one(it);
    }
    if (op % 2500 == 0)
      Check();
  }
  Check();
  while (!live.empty())
    free_one(live.begin());
  EXPECT_EQ(Used(), base);
  EXPECT_EQ(HeapPages(), 0u) << HeapLine();
  for (const Kind& k : kinds) {
    if (k.cache) {
      EXPECT_EQ(mmlab_core_kmem_cache_destroy(k.cache), MMLAB_OK);
    }
  }
}

TEST_F(Slob, TwoCpusAtOnce) {
  NewCore(4, 16);
  const uint64_t base = Used();
  mmlab_kmem_cache* a = SlobCache("slob_t1", 48);
  mmlab_kmem_cache* b = SlobCache("slob_t2", 300);
  std::atomic<bool> failed{false};
  auto worker = [&](uint32_t cpu, uint8_t pattern) {
    sim::BindCpu(cpu);
    std::mt19937 rng(cpu);
    std::vector<std::pair<mmlab_kmem_cache*, unsigned char*>> mine;
    for (int op = 0; op < 20000 && !failed; op++) {
      if (mine.empty() || rng() % 2) {
        mmlab_kmem_cache* c = rng() % 2 ? a : b;
        auto* p = static_cast<unsigned char*>(mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, 0));
        if (!p)
          continue;
        memset(p, pattern, mmlab_core_kmem_cache_size(c));
        mine.push_back({c, p});
      } else {
        size_t i = rng() % mine.size();
        auto [c, p] = mine[i];
        for (uint32_t k = 0; k < mmlab_core_kmem_cache_size(c); k++)
          if (p[k] != pattern)
            failed = true;
        mmlab_core_kmem_cache_free(c, p, 0);
        mine[i] = mine.back();
        mine.pop_back();
      }
    }
    for (auto [c, p] : mine)
      mmlab_core_kmem_cache_free(c, p, 0);
  };
  std::thread t1(worker, 0, 0x11), t2(worker, 1, 0x22);
  t1.join();
  t2.join();
  sim::BindCpu(0);
  EXPECT_FALSE(failed) << "an object was overwritten by the other CPU";
  Check();
  EXPECT_EQ(Used(), base);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(a), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(b), MMLAB_OK);
}

TEST_F(Slob, ControlFileAndAtomicContextNeverSleep) {
  NewCore(4, 8);
  const bool kmalloc = KmallocUnderSlob();
  ASSERT_EQ(Result("cache_create name=atomic size=200 ctor=fill policy=slob").rfind("cache 1 ", 0),
            0u);
  const uint64_t sleeps = sim::MightSleepCalls();
  for (int i = 0; i < 50; i++) {
    EXPECT_EQ(Control("cache_alloc cache=1 gfp=GFP_ATOMIC context=irqoff"), MMLAB_OK)
        << sim::LogText();
    EXPECT_EQ(Control("cache_alloc cache=1 gfp=GFP_NOWAIT context=timer"), MMLAB_OK);
    if (kmalloc) {
      EXPECT_EQ(Control("kmalloc size=700 gfp=GFP_ATOMIC context=irqoff"), MMLAB_OK);
    }
  }
  EXPECT_EQ(sim::MightSleepCalls(), sleeps) << "no might_sleep on the atomic path";
  EXPECT_EQ(Result("obj_check object=1 byte=0xc7"), "ok 200 bytes") << "constructed";
  EXPECT_EQ(Result("cache_free 1"), "freed object 1");
  Check();
  EXPECT_EQ(Result("free_all").find("freed"), 0u);
  EXPECT_EQ(HeapPages(), 0u) << HeapLine();
}

TEST_F(Slob, Dma32CachesTakeOnlyDma32Pages) {
  NewCore(4, 8);
  mmlab_kmem_cache* n = SlobCache("slob_normal", 64);
  mmlab_kmem_cache* d = SlobCache("slob_dma", 64, 0, MMLAB_SLAB_CACHE_DMA32);
  void* a = Alloc(n);
  void* b = Alloc(d);
  auto zone = [&](void* p) {
    return mmlab::Core::PageZone(C().VirtToPage(reinterpret_cast<uintptr_t>(p)))->type();
  };
  EXPECT_EQ(zone(b), MMLAB_ZONE_DMA32);
  if (zone(a) != MMLAB_ZONE_DMA32) {
    EXPECT_NE(PfnOf(a), PfnOf(b)) << "a Normal heap page is no DMA32 cache's";
  }
  void* c = Alloc(n);  // a Normal cache may share the DMA32 page (Linux's fallback)
  EXPECT_NE(c, nullptr);
  for (auto [k, p] : std::vector<std::pair<mmlab_kmem_cache*, void*>>{{n, a}, {d, b}, {n, c}})
    Free(k, p);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(n), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(d), MMLAB_OK);
}

TEST_F(Slob, ThePageAllocatorRefusesAHeapPage) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = SlobCache("slob_pagefree", 64);
  void* a = Alloc(c);
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core___free_pages(core_, mmlab_core_virt_to_page(core_, a), 0), MMLAB_EINVAL);
  EXPECT_EQ(sim::CountLogs("is a slab; free its objects with kmem_cache_free/kfree"), 1u)
      << sim::LogText();
  Free(c, a);
  EXPECT_EQ(HeapPages(), 0u);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(Slob, EveryPageBackAtCoreDestroy) {
  NewCore(4, 8);
  mmlab_kmem_cache* c = SlobCache("slob_end", 100);
  std::vector<void*> objs;
  for (int i = 0; i < 100; i++)
    objs.push_back(Alloc(c));
  for (void* o : objs)
    Free(c, o);
  // The cache stays: core destroy takes it and the heap down.
  EXPECT_EQ(Destroy(), 0u) << "no page left allocated";
}

}  // namespace
}  // namespace mmlab_test
