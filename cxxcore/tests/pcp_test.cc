// SPDX-License-Identifier: GPL-2.0
//
// pcp_test.cc - the per-CPU page lists: batched refill and drain, the high
// mark, one list per CPU, drain_all and cpu_dead, the tunables, frees of
// blocks that sit on a list, the checker's view of them, the trace points.
#include <thread>

#include "page_desc.h"  // to corrupt a descriptor for the checker
#include "test_util.h"

namespace mmlab_test {
namespace {

// All of the capacity in Normal, watermarks at 0, lists of high 12 and
// batch 4: every number below is the lists' doing.
class Pcp : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    mmlab_core_config cfg = Config(6, 16 * 64);
    cfg.zone_pages[MMLAB_ZONE_NORMAL] = cfg.capacity_pages;
    NewCoreWith(cfg);
    ASSERT_EQ(Control("min_free_kbytes=0"), MMLAB_OK);
    ASSERT_EQ(Result("pcp high=12 batch=4"), "pcp: high 12 batch 4");
  }
  // count of `cpu`'s list in Normal, from zoneinfo.
  uint64_t Count(int cpu) {
    std::string zi = Render(MMLAB_VIEW_ZONEINFO);
    size_t at = zi.find("Node 0, zone   Normal");
    at = zi.find("    cpu: " + std::to_string(cpu) + "\n", at);
    at = zi.find("count: ", at);
    return std::stoull(zi.substr(at + 7));
  }
  uint64_t BuddyFree() { return Zoneinfo("Normal", "nr_free_pages"); }
  mmlab_page* Alloc(uint32_t order) {
    mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, order);
    EXPECT_NE(p, nullptr);
    return p;
  }
};

TEST_F(Pcp, RefillBringsExactlyOneBatch) {
  mmlab_page* first = Alloc(0);
  EXPECT_EQ(Count(0), 3u) << "4 pages came over, one was handed out";
  EXPECT_EQ(BuddyFree(), 64u - 4);
  std::vector<mmlab_page*> pages = {first};
  for (int i = 0; i < 3; i++)
    pages.push_back(Alloc(0));
  EXPECT_EQ(Count(0), 0u);
  EXPECT_EQ(BuddyFree(), 60u) << "served from the list: the buddy was not touched";
  for (int i = 0; i < 4; i++)
    EXPECT_EQ(Pfn(pages[i]), Pfn(first) + i) << "a batch hands out ascending pfns";
  pages.push_back(Alloc(0));
  EXPECT_EQ(Count(0), 3u) << "empty again: the next batch";
  EXPECT_EQ(BuddyFree(), 56u);
  struct mmlab_core_counters c = Counters();
  EXPECT_EQ(c.used_pages, 5u);
  EXPECT_EQ(c.pcp_pages, 3u);
  EXPECT_EQ(c.free_pages + c.used_pages + c.pcp_pages, c.host_pages);
  for (mmlab_page* p : pages)
    mmlab_core___free_pages(core_, p, 0);
}

TEST_F(Pcp, HigherOrdersRefillBatchPagesWorthOfBlocks) {
  mmlab_page* o1 = Alloc(1);  // 4 >> 1 = 2 blocks, one kept
  EXPECT_EQ(Count(0), 2u);
  mmlab_page* o2 = Alloc(2);  // 4 >> 2 = 1 block, handed out
  EXPECT_EQ(Count(0), 2u);
  mmlab_page* o3 = Alloc(3);  // 4 >> 3 = 0: still one block
  EXPECT_EQ(Count(0), 2u);
  mmlab_page* o4 = Alloc(4);  // above order 3: straight from the buddy
  EXPECT_EQ(Count(0), 2u);
  EXPECT_EQ(BuddyFree(), 64u - 4 - 4 - 8 - 16);
  mmlab_core___free_pages(core_, o4, 4);
  EXPECT_EQ(Count(0), 2u) << "order 4 goes back to the buddy";
  mmlab_core___free_pages(core_, o2, 2);
  EXPECT_EQ(Count(0), 6u);
  mmlab_core___free_pages(core_, o1, 1);
  EXPECT_EQ(Count(0), 8u);
  // 16 pages >= high 12: batch (4) pages' worth go back, starting with the
  // freed order's own list - the whole order-3 block.
  mmlab_core___free_pages(core_, o3, 3);
  EXPECT_EQ(Count(0), 8u);
}

TEST_F(Pcp, FreeingUpToHighDrainsOneBatchLeavingHighMinusBatch) {
  std::vector<mmlab_page*> pages;
  for (int i = 0; i < 20; i++)
    pages.push_back(Alloc(0));
  ASSERT_EQ(Count(0), 0u);
  uint64_t drained = sim::TraceCount(sim::TraceKind::kPcpuDrain);
  for (int i = 0; i < 11; i++)
    mmlab_core___free_pages(core_, pages[i], 0);
  EXPECT_EQ(Count(0), 11u);
  EXPECT_EQ(sim::TraceCount(sim::TraceKind::kPcpuDrain), drained);
  mmlab_core___free_pages(core_, pages[11], 0);
  EXPECT_EQ(Count(0), 8u) << "count reached high: high - batch remain";
  EXPECT_EQ(sim::TraceCount(sim::TraceKind::kPcpuDrain), drained + 4);
  EXPECT_EQ(Zoneinfo("Normal", "nr_pcp_drained"), 4u);
  for (int i = 12; i < 20; i++)
    mmlab_core___free_pages(core_, pages[i], 0);
  EXPECT_EQ(Count(0), 8u);
}

TEST_F(Pcp, EachCpuHasItsOwnLists) {
  mmlab_page* p = Alloc(0);  // CPU 0: refill, count 3
  std::thread other([&] {
    sim::BindCpu(2);
    EXPECT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);  // freed on CPU 2
    mmlab_page* q = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
    EXPECT_EQ(q, p) << "CPU 2's list hands back what was freed there";
    EXPECT_EQ(mmlab_core___free_pages(core_, q, 0), MMLAB_OK);
  });
  other.join();
  EXPECT_EQ(Count(0), 3u);
  EXPECT_EQ(Count(1), 0u);
  EXPECT_EQ(Count(2), 1u);
  EXPECT_EQ(Counters().pcp_pages, 4u);
}

TEST_F(Pcp, DrainAllEmptiesEveryCpuAndCpuDeadOnlyOne) {
  mmlab_page* a = Alloc(0);
  std::thread other([&] {
    sim::BindCpu(3);
    mmlab_page* b = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 1);
    EXPECT_EQ(mmlab_core___free_pages(core_, b, 1), MMLAB_OK);
  });
  other.join();
  ASSERT_EQ(Count(0), 3u);
  ASSERT_EQ(Count(3), 4u) << "two order-1 blocks";
  // CPU 3 goes offline; the surviving CPUs empty its lists.
  sim::SetCpuOnline(3, false);
  mmlab_core_cpu_dead(core_, 3);
  EXPECT_EQ(Count(3), 0u);
  EXPECT_EQ(Count(0), 3u) << "other CPUs keep theirs";
  mmlab_core_cpu_dead(core_, 99);
  EXPECT_EQ(sim::CountLogs("cpu_dead: cpu 99 out of range 0..3", MMLAB_LOG_WARN), 1u);
  mmlab_core___free_pages(core_, a, 0);
  EXPECT_EQ(Result("drain"), "drained 4 pages");
  EXPECT_EQ(Counters().pcp_pages, 0u);
  EXPECT_EQ(NrFree(), (std::vector<unsigned long>{0, 0, 0, 0, 0, 0, 1}));
  mmlab_core_drain_all(core_);
  EXPECT_EQ(Result("drain"), "drained 0 pages");
  sim::SetCpuOnline(3, true);
}

TEST_F(Pcp, TunablesApplyToEveryCpuAndTrimLongLists) {
  std::vector<mmlab_page*> pages;
  for (int i = 0; i < 11; i++)
    pages.push_back(Alloc(0));
  for (mmlab_page* p : pages)
    mmlab_core___free_pages(core_, p, 0);
  // 12 came over, 11 went out and back: the list reached high once.
  ASSERT_EQ(Count(0), 8u);
  EXPECT_EQ(Result("pcp high=4 batch=2"), "pcp: high 4 batch 2");
  EXPECT_EQ(Count(0), 2u) << "drained in batches of 2 until below high";
  std::string zi = Render(MMLAB_VIEW_ZONEINFO);
  EXPECT_NE(zi.find("    cpu: 3\n              count: 0\n              high:  4\n"
                    "              batch: 2\n"),
            std::string::npos)
      << zi;
  mmlab_page* p = Alloc(0);
  EXPECT_EQ(Count(0), 1u) << "served from the list";
  mmlab_core___free_pages(core_, p, 0);
}

TEST_F(Pcp, FreeOfABlockOnAListIsADoubleFree) {
  mmlab_page* p = Alloc(2);
  mmlab_page* keep = Alloc(0);
  uint64_t pfn = Pfn(p);
  ASSERT_EQ(mmlab_core___free_pages(core_, p, 2), MMLAB_OK);
  ASSERT_EQ(Count(0), 3u + 4u) << "the order-2 block is parked on CPU 0's list";
  sim::ClearLogs();
  char hex[32];
  snprintf(hex, sizeof(hex), "0x%lx", static_cast<unsigned long>(pfn));
  EXPECT_EQ(mmlab_core___free_pages(core_, p, 2), MMLAB_EINVAL);
  EXPECT_EQ(sim::CountLogs(std::string("bad free: double free of pfn ") + hex +
                               " order 2 (the block is on a per-CPU list)",
                           MMLAB_LOG_WARN),
            1u)
      << sim::LogText();
  mmlab_page* tail = mmlab_core_virt_to_page(core_, Addr(p) + 4096);
  EXPECT_EQ(mmlab_core___free_pages(core_, tail, 0), MMLAB_EINVAL);
  EXPECT_EQ(sim::CountLogs(std::string("order 0 (inside per-CPU order-2 block at pfn ") + hex + ")",
                           MMLAB_LOG_WARN),
            1u)
      << sim::LogText();
  // From another CPU too: the descriptor says where the block is.
  std::thread other([&] {
    sim::BindCpu(1);
    EXPECT_EQ(mmlab_core___free_pages(core_, p, 2), MMLAB_EINVAL);
  });
  other.join();
  EXPECT_EQ(Count(0), 7u) << "nothing changed";
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  mmlab_core___free_pages(core_, keep, 0);
}

TEST_F(Pcp, CheckerVerifiesTheListsAndTheirPages) {
  mmlab_page* p = Alloc(0);
  mmlab_core___free_pages(core_, p, 0);
  ASSERT_EQ(Count(0), 4u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  // A per-CPU block that claims to be allocated.
  ASSERT_EQ(p->State(), mmlab::PageState::kPcpHead);
  p->SetState(mmlab::PageState::kAllocHead);
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_EUCLEAN);
  EXPECT_EQ(sim::CountLogs("entry 0 is not a per-CPU head of the list's order"), 1u)
      << sim::LogText();
  EXPECT_EQ(sim::CountLogs("an allocated block on a list"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("3 pages are in per-CPU state but the lists hold 4"), 1u)
      << sim::LogText();
  p->SetState(mmlab::PageState::kPcpHead);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
}

// Linux checks the zone's watermark before it looks at the list: a zone
// below its mark refuses even a page the local list still holds.
TEST_F(Pcp, TheWatermarkIsCheckedBeforeTheList) {
  Destroy();
  mmlab_core_config cfg = Config(4, 16);
  cfg.zone_pages[MMLAB_ZONE_NORMAL] = 16;
  cfg.min_free_kbytes = 16;  // min 4 pages
  NewCoreWith(cfg);
  ASSERT_EQ(Control("pcp high=12 batch=4"), MMLAB_OK);
  std::vector<mmlab_page*> pages;
  while (mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_NOWAIT | MMLAB___GFP_NOWARN, 0))
    pages.push_back(p);
  ASSERT_EQ(Zoneinfo("Normal", "nr_free_pages"), 4u);
  mmlab_core___free_pages(core_, pages.back(), 0);
  pages.pop_back();
  ASSERT_GT(Count(0), 0u) << "a page sits on the list";
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_NOWAIT | MMLAB___GFP_NOWARN, 0), nullptr);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC, 0);
  EXPECT_NE(p, nullptr) << "the reserve opens the way to it";
  pages.push_back(p);
  for (mmlab_page* q : pages)
    mmlab_core___free_pages(core_, q, 0);
}

TEST_F(Pcp, TracePointsNameEveryBlockAndZone) {
  sim::RecordTraces(true);
  mmlab_page* small = Alloc(0);
  mmlab_page* big = Alloc(5);
  mmlab_core___free_pages(core_, big, 5);
  mmlab_core___free_pages(core_, small, 0);
  EXPECT_EQ(Result("drain"), "drained 4 pages");
  std::vector<sim::TraceEvent> t = sim::Traces();
  ASSERT_EQ(t.size(), 8u);
  const uint32_t kNormal = MMLAB_ZONE_NORMAL;
  EXPECT_TRUE(t[0].kind == sim::TraceKind::kAlloc && t[0].pfn == Pfn(small) && t[0].order == 0 &&
              t[0].gfp == MMLAB_GFP_KERNEL && t[0].zone == kNormal);
  EXPECT_TRUE(t[1].kind == sim::TraceKind::kAlloc && t[1].pfn == Pfn(big) && t[1].order == 5);
  EXPECT_TRUE(t[2].kind == sim::TraceKind::kFree && t[2].pfn == Pfn(big) && t[2].order == 5)
      << "order 5 frees go to the buddy: no drain event";
  EXPECT_TRUE(t[3].kind == sim::TraceKind::kFree && t[3].pfn == Pfn(small) && t[3].order == 0);
  // drain: the four order-0 blocks, oldest first (the list's tail).
  for (int i = 4; i < 8; i++) {
    EXPECT_EQ(static_cast<int>(t[i].kind), static_cast<int>(sim::TraceKind::kPcpuDrain));
    EXPECT_EQ(t[i].order, 0u);
  }
  EXPECT_EQ(t[4].pfn, Pfn(small) + 3);
  EXPECT_EQ(t[7].pfn, Pfn(small)) << "the freed page was pushed on the hot end";

  sim::ClearTraces();
  mmlab_page* d = mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC | MMLAB_GFP_DMA32, 0);
  EXPECT_EQ(d, nullptr) << "this core's DMA32 zone is empty";
  t = sim::Traces();
  EXPECT_TRUE(t.empty()) << "no event for a failure";
}

TEST_F(Pcp, DestroyEmptiesTheListsAndReturnsEverything) {
  std::vector<mmlab_page*> pages;
  for (int cpu = 0; cpu < 4; cpu++) {
    std::thread t([&] {
      sim::BindCpu(static_cast<uint32_t>(cpu));
      mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
      EXPECT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
    });
    t.join();
  }
  EXPECT_EQ(Counters().pcp_pages, 16u);
  EXPECT_EQ(Destroy(), 0u);
  EXPECT_EQ(sim::ChunksOutstanding(), 0u);
}

}  // namespace
}  // namespace mmlab_test
