// SPDX-License-Identifier: GPL-2.0
//
// vmalloc_test.cc - vmalloc/vzalloc/vfree over vmap()ed order-0 pages,
// is_vmalloc_addr, vmalloc_to_page, the vmallocinfo view, kvmalloc's choice
// between kmalloc and vmalloc, and the control commands.
//
// The simulated host's vmap really maps the pages a second time (host_sim.h),
// so what is written through a vmalloc address must show at each page's own
// address.
#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "test_util.h"

namespace mmlab_test {
namespace {

using Vmalloc = CoreTest;

constexpr size_t kPage = MMLAB_PAGE_SIZE;

TEST_F(Vmalloc, ContentsAreSharedAcrossNonContiguousPages) {
  NewCore(4, 4);
  // Leave holes: take 16 pages, give back every other one.
  std::vector<mmlab_page*> taken;
  for (int i = 0; i < 16; i++)
    taken.push_back(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0));
  for (int i = 0; i < 16; i += 2)
    ASSERT_EQ(mmlab_core___free_pages(core_, taken[i], 0), MMLAB_OK);
  const size_t size = 6 * kPage + 100;
  unsigned char* v =
      static_cast<unsigned char*>(mmlab_core_vmalloc(core_, size, MMLAB_GFP_KERNEL, 0x1234));
  ASSERT_NE(v, nullptr);
  std::vector<uint64_t> pfns;
  for (size_t i = 0; i < 7; i++) {
    mmlab_page* p = mmlab_core_vmalloc_to_page(core_, v + i * kPage + 7);
    ASSERT_NE(p, nullptr);
    pfns.push_back(Pfn(p));
  }
  bool contiguous = true;
  for (size_t i = 1; i < pfns.size(); i++)
    contiguous &= pfns[i] == pfns[i - 1] + 1;
  EXPECT_FALSE(contiguous) << "the pages come from the holes: not physically contiguous";

  for (size_t i = 0; i < size; i++)
    v[i] = static_cast<unsigned char>(i * 31 + i / kPage);
  for (size_t pg = 0; pg < 7; pg++) {
    unsigned char* direct = Addr(mmlab_core_vmalloc_to_page(core_, v + pg * kPage));
    ASSERT_NE(direct, v + pg * kPage);
    for (size_t off = 0; off < kPage && pg * kPage + off < size; off++) {
      size_t i = pg * kPage + off;
      ASSERT_EQ(direct[off], static_cast<unsigned char>(i * 31 + i / kPage)) << "byte " << i;
    }
    direct[5] = 0xee;  // and the other way round
    EXPECT_EQ(v[pg * kPage + 5], 0xee);
  }
  mmlab_core_vfree(core_, v, 0x1234);
  for (int i = 1; i < 16; i += 2)
    ASSERT_EQ(mmlab_core___free_pages(core_, taken[i], 0), MMLAB_OK);
  EXPECT_EQ(Counters().used_pages, 0u);
  EXPECT_EQ(sim::VmapsOutstanding(), 0u);
}

TEST_F(Vmalloc, VzallocZeroesDirtyPages) {
  NewCore(4, 4);
  std::vector<mmlab_page*> dirty;
  for (int i = 0; i < 8; i++) {
    dirty.push_back(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0));
    memset(Addr(dirty.back()), 0xff, kPage);
  }
  for (mmlab_page* p : dirty)
    mmlab_core___free_pages(core_, p, 0);
  unsigned char* v = static_cast<unsigned char*>(
      mmlab_core_vmalloc(core_, 8 * kPage, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO, 0));
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(std::all_of(v, v + 8 * kPage, [](unsigned char b) { return b == 0; }));
  mmlab_core_vfree(core_, v, 0);
}

TEST_F(Vmalloc, Dma32KeepsEveryPageBelow4G) {
  NewCore(4, 8);
  void* v = mmlab_core_vmalloc(core_, 20 * kPage, MMLAB_GFP_KERNEL | MMLAB___GFP_DMA32, 0);
  ASSERT_NE(v, nullptr);
  for (size_t i = 0; i < 20; i++)
    EXPECT_LT(Pfn(mmlab_core_vmalloc_to_page(
                  core_, static_cast<char*>(v) + i * kPage)),
              0x100000u);
  mmlab_core_vfree(core_, v, 0);
}

TEST_F(Vmalloc, RefusesSizeZeroAndMoreThanTheCapacity) {
  NewCore(4, 4);
  EXPECT_EQ(mmlab_core_vmalloc(core_, 0, MMLAB_GFP_KERNEL, 0), nullptr);
  EXPECT_EQ(sim::CountLogs("vmalloc: size 0 out of range 1..262144"), 1u) << sim::LogText();
  EXPECT_EQ(mmlab_core_vmalloc(core_, 64 * kPage + 1, MMLAB_GFP_KERNEL, 0), nullptr);
  EXPECT_EQ(sim::CountLogs("vmalloc: size 262145 out of range"), 1u);
  EXPECT_EQ(sim::ChunksBorrowed() - sim::ChunksReturned(), sim::ChunksOutstanding());
  EXPECT_EQ(Counters().used_pages, 0u);
}

TEST_F(Vmalloc, FailureGivesBackEveryPageTaken) {
  NewCore(4, 4);
  std::string r;
  ASSERT_EQ(Control("pressure consume=30", &r), MMLAB_OK) << r;
  const uint64_t used = Counters().used_pages;
  EXPECT_EQ(mmlab_core_vmalloc(core_, 30 * kPage, MMLAB_GFP_KERNEL, 0), nullptr);
  EXPECT_EQ(Counters().used_pages, used);
  EXPECT_EQ(sim::CountLogs("vmalloc: allocation failure"), 1u) << sim::LogText();
  ASSERT_EQ(Control("pressure release=all"), MMLAB_OK);
  // The host refusing the mapping.
  sim::FailVmaps(1);
  EXPECT_EQ(mmlab_core_vmalloc(core_, 3 * kPage, MMLAB_GFP_KERNEL, 0), nullptr);
  EXPECT_EQ(Counters().used_pages, 0u);
  EXPECT_EQ(sim::CountLogs("could not map 3 pages"), 1u) << sim::LogText();
  EXPECT_EQ(Stat("vmalloc_failures"), 2u);
}

TEST_F(Vmalloc, VfreeOfAnythingButAnAreaStartIsReportedAndIgnored) {
  NewCore(4, 4);
  char* v = static_cast<char*>(mmlab_core_vmalloc(core_, 2 * kPage, MMLAB_GFP_KERNEL, 0));
  ASSERT_NE(v, nullptr);
  mmlab_core_vfree(core_, nullptr, 0);
  mmlab_core_vfree(core_, v + kPage, 0);
  int local;
  mmlab_core_vfree(core_, &local, 0x99);
  EXPECT_EQ(sim::CountLogs("is not the start of a vmalloc area"), 2u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("caller caller_0x99"), 1u);
  EXPECT_EQ(Stat("vfree_bad"), 2u);
  EXPECT_EQ(Stat("vmalloc_areas"), 1u) << "the area is untouched";
  mmlab_core_vfree(core_, v, 0);
  mmlab_core_vfree(core_, v, 0);  // double vfree
  EXPECT_EQ(Stat("vfree_bad"), 3u);
  EXPECT_EQ(Stat("vmalloc_areas"), 0u);
}

TEST_F(Vmalloc, IsVmallocAddrAndVmallocToPageCoverTheWholeArea) {
  NewCore(4, 4);
  char* v = static_cast<char*>(mmlab_core_vmalloc(core_, 3 * kPage - 1, MMLAB_GFP_KERNEL, 0));
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(mmlab_core_is_vmalloc_addr(core_, v));
  EXPECT_TRUE(mmlab_core_is_vmalloc_addr(core_, v + 3 * kPage - 1));
  EXPECT_FALSE(mmlab_core_is_vmalloc_addr(core_, v + 3 * kPage));
  EXPECT_FALSE(mmlab_core_is_vmalloc_addr(core_, v - 1));
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  EXPECT_FALSE(mmlab_core_is_vmalloc_addr(core_, Addr(p)));
  EXPECT_EQ(mmlab_core_vmalloc_to_page(core_, Addr(p)), nullptr);
  EXPECT_EQ(mmlab_core_vmalloc_to_page(core_, v + 2 * kPage + 5),
            mmlab_core_virt_to_page(core_, Addr(mmlab_core_vmalloc_to_page(core_, v + 2 * kPage))));
  mmlab_core___free_pages(core_, p, 0);
  mmlab_core_vfree(core_, v, 0);
  EXPECT_FALSE(mmlab_core_is_vmalloc_addr(core_, v));
}

TEST_F(Vmalloc, VmallocinfoListsAreasByIdWithoutAddresses) {
  NewCore(4, 4);
  void* a = mmlab_core_vmalloc(core_, 5000, MMLAB_GFP_KERNEL, 0xabc);
  void* b = mmlab_core_vmalloc(core_, kPage, MMLAB_GFP_KERNEL, 0xdef);
  void* c = mmlab_core_vmalloc(core_, 1, MMLAB_GFP_KERNEL, 0);
  EXPECT_EQ(Render(MMLAB_VIEW_VMALLOCINFO),
            "1    8192 caller_0xabc pages=2 vmalloc\n"
            "2    4096 caller_0xdef pages=1 vmalloc\n"
            "3    4096 caller_0x0 pages=1 vmalloc\n");
  EXPECT_EQ(Stat("vmalloc_areas"), 3u);
  EXPECT_EQ(Stat("vmalloc_pages"), 4u);
  mmlab_core_vfree(core_, b, 0);
  EXPECT_EQ(Render(MMLAB_VIEW_VMALLOCINFO),
            "1    8192 caller_0xabc pages=2 vmalloc\n"
            "3    4096 caller_0x0 pages=1 vmalloc\n");
  mmlab_core_vfree(core_, a, 0);
  mmlab_core_vfree(core_, c, 0);
  EXPECT_EQ(Render(MMLAB_VIEW_VMALLOCINFO), "");
}

TEST_F(Vmalloc, KvmallocAboveAPageFallsBackToVmalloc) {
  NewCore(4, 4);
  // Larger than a chunk: kmalloc cannot serve it, vmalloc can; the failed
  // kmalloc try is __GFP_NOWARN, so nothing is logged.
  sim::ClearLogs();
  void* p = mmlab_core_kvmalloc(core_, 20 * kPage, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(sim::Logs().size(), 0u) << sim::LogText();
  EXPECT_TRUE(mmlab_core_is_vmalloc_addr(core_, p));
  EXPECT_EQ(Stat("kvmalloc_vmalloc"), 1u);
  memset(p, 0x5a, 20 * kPage);
  mmlab_core_kvfree(core_, p, 0);
  EXPECT_EQ(Stat("vmalloc_areas"), 0u);
  EXPECT_EQ(mmlab_core_kvmalloc(core_, 20 * kPage, MMLAB_GFP_ATOMIC, 0), nullptr)
      << "vmalloc cannot serve a non-blocking gfp: an atomic kvmalloc gets kmalloc's answer";
  EXPECT_EQ(mmlab_core_kvmalloc(core_, 20 * kPage, MMLAB_GFP_NOWAIT, 0), nullptr);
  EXPECT_EQ(Stat("kvmalloc_vmalloc"), 1u);
  p = mmlab_core_kvmalloc(core_, 20 * kPage, MMLAB_GFP_NOFS, 0);
  EXPECT_TRUE(mmlab_core_is_vmalloc_addr(core_, p)) << "GFP_NOFS may sleep";
  mmlab_core_kvfree(core_, p, 0);
}

TEST_F(Vmalloc, KvmallocPrefersKmallocWhenContiguousMemoryIsThere) {
  NewCore(4, 4);
  void* small = mmlab_core_kvmalloc(core_, 100, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(small, nullptr);
  EXPECT_FALSE(mmlab_core_is_vmalloc_addr(core_, small));
  EXPECT_EQ(mmlab_core_ksize(core_, small), 128u) << "kmalloc-128";
  void* mid = mmlab_core_kvmalloc(core_, 20000, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(mid, nullptr);
  EXPECT_FALSE(mmlab_core_is_vmalloc_addr(core_, mid)) << "an order-3 block was free";
  EXPECT_EQ(Stat("kvmalloc_kmalloc"), 2u);
  EXPECT_EQ(Stat("kvmalloc_vmalloc"), 0u);
  mmlab_core_kvfree(core_, small, 0);
  mmlab_core_kvfree(core_, mid, 0);
  // No order-2 block to be had (every other page held): vmalloc instead.
  ASSERT_EQ(Destroy(), 0u);
  NewBuddyCore(4, 4);
  std::vector<mmlab_page*> held;
  for (;;) {
    mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN, 0);
    if (!p)
      break;
    held.push_back(p);
  }
  ASSERT_EQ(held.size(), 64u);
  for (size_t i = 0; i < held.size(); i += 2)
    mmlab_core___free_pages(core_, held[i], 0);
  sim::ClearLogs();
  void* frag = mmlab_core_kvmalloc(core_, 3 * kPage, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(frag, nullptr) << sim::LogText();
  EXPECT_TRUE(mmlab_core_is_vmalloc_addr(core_, frag));
  EXPECT_EQ(sim::Logs().size(), 0u) << "the kmalloc try is __GFP_NOWARN: " << sim::LogText();
  mmlab_core_kvfree(core_, frag, 0);
  for (size_t i = 1; i < held.size(); i += 2)
    mmlab_core___free_pages(core_, held[i], 0);
}

TEST_F(Vmalloc, KvmallocArrayRejectsOverflow) {
  NewCore(4, 4);
  EXPECT_EQ(mmlab_core_kvmalloc_array(core_, SIZE_MAX / 2, 3, MMLAB_GFP_KERNEL, 0), nullptr);
  EXPECT_EQ(sim::CountLogs("kvmalloc_array"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("overflows"), 1u);
  void* p = mmlab_core_kvmalloc_array(core_, 3, 3 * kPage, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(mmlab_core_ksize(core_, p), 16 * kPage) << "kmalloc served 36 KiB as an order-4 block";
  mmlab_core_kvfree(core_, p, 0);
  p = mmlab_core_kvmalloc_array(core_, 17, kPage, MMLAB_GFP_KERNEL, 0);
  EXPECT_TRUE(mmlab_core_is_vmalloc_addr(core_, p)) << "more than a chunk: vmalloc";
  mmlab_core_kvfree(core_, p, 0);
  mmlab_core_kvfree(core_, nullptr, 0);
}

TEST_F(Vmalloc, ControlCommands) {
  NewCore(4, 4);
  EXPECT_EQ(Result("vmalloc size=10000"), "object 1 pages 3 size 10000");
  EXPECT_EQ(Result("vzalloc size=4096"), "object 2 pages 1 size 4096");
  EXPECT_EQ(Result("vmalloc size=4096 gfp=GFP_KERNEL|__GFP_ZERO"), "object 3 pages 1 size 4096");
  EXPECT_EQ(Result("kvmalloc size=70000"), "object 4 size 70000 via vmalloc")
      << "more than a 16-page chunk: only vmalloc can";
  EXPECT_EQ(Result("kvmalloc size=20000"), "object 5 size 20000 via kmalloc");
  EXPECT_EQ(Result("kvfree object=5"), "freed object 5");
  EXPECT_EQ(Render(MMLAB_VIEW_VMALLOCINFO),
            "1   12288 caller_0x0 pages=3 vmalloc\n"
            "2    4096 caller_0x0 pages=1 vmalloc\n"
            "3    4096 caller_0x0 pages=1 vmalloc\n"
            "4   73728 caller_0x0 pages=18 vmalloc\n");
  std::string r;
  EXPECT_EQ(Control("kvfree object=1", &r), MMLAB_EINVAL);
  EXPECT_NE(r.find("is a vmalloc object (free it with vfree)"), std::string::npos) << r;
  EXPECT_EQ(Control("vmalloc size=0", &r), MMLAB_EINVAL);
  EXPECT_EQ(Control("vmalloc size=262145", &r), MMLAB_EINVAL);
  EXPECT_EQ(Control("vmalloc", &r), MMLAB_EINVAL);
  EXPECT_EQ(Control("vmalloc size=10 gfp=BOGUS", &r), MMLAB_EINVAL);
  EXPECT_EQ(Control("vmalloc size=262144", &r), MMLAB_ENOMEM) << "minus what is taken";
  EXPECT_NE(r.find("vmalloc: allocation failure"), std::string::npos) << r;
  EXPECT_EQ(Result("vfree object=1"), "freed object 1");
  EXPECT_EQ(Result("vfree 2"), "freed object 2");
  EXPECT_EQ(Result("kvfree object=4"), "freed object 4");
  EXPECT_EQ(Control("vfree object=4", &r), MMLAB_ENOENT);
  EXPECT_EQ(Result("free_all").rfind("freed 0 handles, freed 1 objects", 0), 0u);
  EXPECT_EQ(Counters().used_pages, 0u);
}

TEST_F(Vmalloc, ThreadsAllocatingAndFreeingAreasStayConsistent) {
  NewCore(5, 8);
  constexpr int kThreads = 4;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      sim::BindCpu(static_cast<uint32_t>(t));
      std::mt19937 rng(static_cast<unsigned>(t) + 1);
      std::vector<std::pair<unsigned char*, size_t>> mine;
      for (int op = 0; op < 300; op++) {
        if (mine.size() < 4 && rng() % 2) {
          size_t size = 1 + rng() % (6 * kPage);
          auto* v = static_cast<unsigned char*>(
              mmlab_core_vmalloc(core_, size, MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN, 0));
          if (v) {
            memset(v, t + 1, size);
            mine.push_back({v, size});
          }
        } else if (!mine.empty()) {
          auto [v, size] = mine.back();
          mine.pop_back();
          for (size_t i = 0; i < size; i++)
            if (v[i] != t + 1) {
              errors++;
              break;
            }
          mmlab_core_vfree(core_, v, 0);
        }
      }
      for (auto& [v, size] : mine)
        mmlab_core_vfree(core_, v, 0);
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(Stat("vmalloc_areas"), 0u);
  EXPECT_EQ(sim::VmapsOutstanding(), 0u);
}

}  // namespace
}  // namespace mmlab_test
