// SPDX-License-Identifier: GPL-2.0
//
// model_test.cc - a long seeded random sequence of operations checked
// against a simple reference model.
//
// The core runs as configured by default: DMA32 and Normal zones,
// watermarks, lowmem reserve, per-CPU lists (with a batch of 3, so refills
// and drains move several blocks). The model is a map from address to
// allocated block. After every operation the core must agree with it: new
// blocks are aligned, inside a borrowed chunk of a zone the gfp allows
// (DMA32 pfns below 4 GiB) and overlap no live block; __GFP_ZERO blocks
// read as zero; every block still holds the tag written into it when it is
// freed (nobody else was given its pages); an allocation fails only when
// every zone of its zonelist is below the watermark its gfp may use (plus
// the lowmem reserve) or has no free block big enough, and could not grow;
// misuse is refused without changing anything; shrink returns exactly the
// fully free chunks. The invariant checker runs every 1000 operations.
#include <map>
#include <random>
#include <vector>

#include "test_util.h"

namespace mmlab_test {
namespace {

constexpr uint32_t kChunkOrder = 5;
constexpr uint64_t kChunks = 12;
constexpr uint64_t kCapacity = kChunks << kChunkOrder;
constexpr int kOps = 100000;

struct Block {
  uint32_t order;
  uint64_t tag;
  uint64_t handle;  // 0: allocated through the page API
};

class Model : public CoreTest {
 protected:
  std::mt19937_64 rng_{20240611};
  std::map<uintptr_t, Block> live_;
  std::vector<std::pair<uintptr_t, uint32_t>> recently_freed_;
  uint64_t used_ = 0;
  uint64_t next_tag_ = 1;
  uint64_t allocs_ = 0, failures_ = 0, refusals_ = 0, shrinks_ = 0;

  uint64_t Rand(uint64_t n) { return rng_() % n; }

  uint32_t RandomOrder() {
    // Mostly small blocks, as real workloads ask.
    static const int kWeights[kChunkOrder + 1] = {40, 20, 15, 10, 8, 7};
    int r = static_cast<int>(Rand(100));
    for (uint32_t o = 0; o <= kChunkOrder; o++) {
      if (r < kWeights[o])
        return o;
      r -= kWeights[o];
    }
    return 0;
  }

  static uint64_t* Word(uintptr_t addr, uint64_t page, size_t off) {
    return reinterpret_cast<uint64_t*>(addr + page * 4096 + off);
  }

  void WriteTag(uintptr_t addr, uint32_t order, uint64_t tag) {
    for (uint64_t i = 0; i < (1u << order); i++) {
      *Word(addr, i, 0) = tag;
      *Word(addr, i, 4088) = ~tag;
    }
  }

  void ExpectTag(uintptr_t addr, const Block& b) {
    for (uint64_t i = 0; i < (1u << b.order); i++) {
      ASSERT_EQ(*Word(addr, i, 0), b.tag) << "page " << i << " of a live block was overwritten";
      ASSERT_EQ(*Word(addr, i, 4088), ~b.tag);
    }
  }

  bool Overlaps(uintptr_t addr, uint32_t order) {
    uintptr_t end = addr + (uintptr_t{4096} << order);
    auto it = live_.lower_bound(addr);
    if (it != live_.end() && it->first < end)
      return true;
    if (it != live_.begin()) {
      --it;
      if (it->first + (uintptr_t{4096} << it->second.order) > addr)
        return true;
    }
    return false;
  }

  // A failed allocation is legitimate only if no zone it may use could
  // satisfy it: each is below the watermark this gfp may dig to (plus its
  // lowmem reserve) or has no free block big enough, and cannot grow.
  void ExpectFailureWasLegit(uint32_t order, mmlab_gfp_t gfp, uint64_t attempts_before,
                             uint64_t host_before) {
    const std::string zoneinfo = Render(MMLAB_VIEW_ZONEINFO);
    const bool dma32_only = gfp & MMLAB___GFP_DMA32;
    const uint32_t highest = dma32_only ? MMLAB_ZONE_DMA32 : MMLAB_ZONE_NORMAL;
    uint64_t attempts = sim::ChunkAllocsThatMaySleep() + sim::ChunkAllocsThatMayNotSleep();
    bool host_refused = attempts > attempts_before && Counters().host_chunks == host_before;
    for (const char* zone : {"Normal", "DMA32"}) {
      if (dma32_only && std::string(zone) == "Normal")
        continue;
      int64_t free = static_cast<int64_t>(ViewValue(zoneinfo, zone, "nr_free_pages"));
      int64_t min = static_cast<int64_t>(ViewValue(zoneinfo, zone, "min"));
      if ((gfp & MMLAB___GFP_HIGH) && !(gfp & MMLAB___GFP_DIRECT_RECLAIM))
        min = (min - min / 2) - (min - min / 2) / 4;
      int64_t protection = static_cast<int64_t>(ViewProtection(zoneinfo, zone, highest));
      std::vector<unsigned long> nr_free = NrFree(zone);
      bool block = false;
      for (uint32_t o = order; o <= kChunkOrder; o++)
        block |= nr_free[o] != 0;
      bool below = free - ((int64_t{1} << order) - 1) <= min + protection;
      ASSERT_TRUE(below || !block) << "zone " << zone << " could have served order " << order
                                   << " (free " << free << ", min " << min << ", protection "
                                   << protection << ")\n" << zoneinfo;
      uint64_t present = ViewValue(zoneinfo, zone, "present");
      uint64_t spanned = ViewValue(zoneinfo, zone, "spanned");
      bool at_capacity = present + (1u << kChunkOrder) > spanned;
      ASSERT_TRUE(host_refused || at_capacity)
          << "zone " << zone << " failed order " << order << " without growing\n" << zoneinfo;
    }
  }

  void Allocated(uintptr_t addr, uint32_t order, mmlab_gfp_t gfp, uint64_t handle) {
    ASSERT_EQ(addr % (uintptr_t{4096} << order), 0u) << "block not aligned to its order";
    if (gfp & MMLAB___GFP_DMA32) {
      ASSERT_LT(addr >> 12, 0x100000u) << "__GFP_DMA32 got a page above 4 GiB";
    }
    ASSERT_TRUE(sim::IsLentAddress(reinterpret_cast<void*>(addr)));
    ASSERT_FALSE(Overlaps(addr, order)) << "block overlaps a live block";
    if (gfp & MMLAB___GFP_ZERO) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(addr);
      for (size_t i = 0; i < (size_t{4096} << order); i++)
        ASSERT_EQ(p[i], 0) << "__GFP_ZERO block not zeroed at byte " << i;
    }
    uint64_t tag = next_tag_++;
    WriteTag(addr, order, tag);
    live_[addr] = {order, tag, handle};
    used_ += 1u << order;
    allocs_++;
  }

  void DoAlloc() {
    static const mmlab_gfp_t kGfps[] = {
        MMLAB_GFP_KERNEL,
        MMLAB_GFP_ATOMIC,
        MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO,
        MMLAB_GFP_NOWAIT | MMLAB___GFP_ZERO,
        MMLAB_GFP_KERNEL | MMLAB_GFP_DMA32,
        MMLAB_GFP_ATOMIC | MMLAB_GFP_DMA32,
    };
    uint32_t order = RandomOrder();
    mmlab_gfp_t gfp = kGfps[Rand(6)] | MMLAB___GFP_NOWARN;
    if (Rand(100) == 0)
      sim::FailChunkAllocs(1);  // the host occasionally says no
    uint64_t attempts = sim::ChunkAllocsThatMaySleep() + sim::ChunkAllocsThatMayNotSleep();
    uint64_t host = Counters().host_chunks;
    uintptr_t addr;
    if (Rand(4) == 0) {
      addr = mmlab_core___get_free_pages(core_, gfp, order);
    } else {
      mmlab_page* page = mmlab_core_alloc_pages(core_, gfp, order);
      addr = reinterpret_cast<uintptr_t>(mmlab_core_page_address(core_, page));
      if (page) {
        ASSERT_EQ(mmlab_core_virt_to_page(core_, reinterpret_cast<void*>(addr)), page);
      }
    }
    sim::FailChunkAllocs(0);
    if (!addr) {
      failures_++;
      ExpectFailureWasLegit(order, gfp, attempts, host);
      return;
    }
    Allocated(addr, order, gfp, 0);
  }

  void DoControlAlloc() {
    uint32_t order = RandomOrder();
    bool zero = Rand(2);
    std::string r;
    std::string cmd = "alloc order=" + std::to_string(order) +
                      (zero ? " gfp=GFP_KERNEL|__GFP_ZERO|__GFP_NOWARN"
                            : " gfp=GFP_KERNEL|__GFP_NOWARN");
    uint64_t attempts = sim::ChunkAllocsThatMaySleep() + sim::ChunkAllocsThatMayNotSleep();
    uint64_t host = Counters().host_chunks;
    mmlab_status st = Control(cmd, &r);
    if (st == MMLAB_ENOMEM) {
      failures_++;
      ExpectFailureWasLegit(order, MMLAB_GFP_KERNEL, attempts, host);
      return;
    }
    ASSERT_EQ(st, MMLAB_OK) << r;
    uint64_t handle = 0, pfn = 0;
    unsigned got_order = 0;
    char zone[16] = "";
    ASSERT_EQ(sscanf(r.c_str(), "handle %lu order %u pfn 0x%lx zone %15s", &handle, &got_order,
                     &pfn, zone),
              4)
        << r;
    ASSERT_EQ(std::string(zone), pfn < 0x100000 ? "DMA32" : "Normal") << r;
    ASSERT_EQ(got_order, order);
    Allocated(static_cast<uintptr_t>(pfn << 12), order,
              zero ? MMLAB___GFP_ZERO : 0, handle);
  }

  std::map<uintptr_t, Block>::iterator RandomLive() {
    return std::next(live_.begin(), static_cast<long>(Rand(live_.size())));
  }

  void DoFree() {
    if (live_.empty())
      return;
    auto it = RandomLive();
    uintptr_t addr = it->first;
    Block b = it->second;
    ExpectTag(addr, b);
    if (b.handle) {
      std::string r;
      if (Rand(2)) {
        ASSERT_EQ(Control("free " + std::to_string(b.handle), &r), MMLAB_OK);
        ASSERT_EQ(r, "freed handle " + std::to_string(b.handle) + " order " +
                         std::to_string(b.order));
      } else {
        char cmd[96];
        snprintf(cmd, sizeof(cmd), "free_pfn pfn=0x%lx order=%u",
                 static_cast<unsigned long>(addr >> 12), b.order);
        ASSERT_EQ(Control(cmd, &r), MMLAB_OK) << r;
      }
    } else if (Rand(2)) {
      ASSERT_EQ(mmlab_core_free_pages(core_, addr, b.order), MMLAB_OK);
    } else {
      mmlab_page* page = mmlab_core_virt_to_page(core_, reinterpret_cast<void*>(addr));
      ASSERT_EQ(mmlab_core___free_pages(core_, page, b.order), MMLAB_OK);
    }
    live_.erase(it);
    used_ -= 1u << b.order;
    recently_freed_.push_back({addr, b.order});
    if (recently_freed_.size() > 16)
      recently_freed_.erase(recently_freed_.begin());
  }

  // Misuse of every kind must be refused and change nothing.
  void DoMisuse() {
    struct mmlab_core_counters before = Counters();
    mmlab_status st = MMLAB_OK;
    switch (Rand(4)) {
      case 0: {  // double free of something freed recently and not reused
        if (recently_freed_.empty())
          return;
        auto [addr, order] = recently_freed_[Rand(recently_freed_.size())];
        if (Overlaps(addr, order))
          return;
        st = mmlab_core_free_pages(core_, addr, order);
        break;
      }
      case 1: {  // wrong order
        if (live_.empty())
          return;
        auto it = RandomLive();
        uint32_t wrong = it->second.order == 0 ? 1 : it->second.order - 1;
        st = mmlab_core_free_pages(core_, it->first, wrong);
        break;
      }
      case 2: {  // a tail page
        if (live_.empty())
          return;
        auto it = RandomLive();
        if (it->second.order == 0)
          return;
        uintptr_t tail = it->first + 4096 * (1 + Rand((1u << it->second.order) - 1));
        st = mmlab_core___free_pages(core_, mmlab_core_virt_to_page(core_, reinterpret_cast<void*>(tail)), 0);
        break;
      }
      case 3: {  // an address the core never lent
        std::vector<char> foreign(8192);
        st = mmlab_core_free_pages(core_, reinterpret_cast<uintptr_t>(foreign.data()), 0);
        break;
      }
    }
    ASSERT_EQ(st, MMLAB_EINVAL);
    refusals_++;
    struct mmlab_core_counters after = Counters();
    ASSERT_EQ(after.used_pages, before.used_pages);
    ASSERT_EQ(after.free_pages, before.free_pages);
  }

  uint64_t FreeChunks() {
    return NrFree("DMA32")[kChunkOrder] + NrFree("Normal")[kChunkOrder];
  }

  void DoShrink() {
    // Shrink drains the per-CPU lists first; so does this, to know what to expect.
    ASSERT_EQ(Control("drain"), MMLAB_OK);
    unsigned long free_chunks = FreeChunks();
    uint64_t host = Counters().host_chunks;
    uint64_t returned = 0;
    ASSERT_EQ(mmlab_core_shrink(core_, &returned), MMLAB_OK);
    ASSERT_EQ(returned, free_chunks) << "shrink returns exactly the fully free chunks";
    ASSERT_EQ(FreeChunks(), 0u);
    ASSERT_EQ(Counters().host_chunks, host - returned);
    shrinks_++;
  }

  void CheckAgreement() {
    ASSERT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
    struct mmlab_core_counters c = Counters();
    ASSERT_EQ(c.used_pages, used_);
    ASSERT_EQ(c.free_pages + c.used_pages + c.pcp_pages, c.host_pages);
    ASSERT_LE(c.host_pages, kCapacity);
    ASSERT_EQ(c.host_chunks, sim::ChunksOutstanding());
    uint64_t listed = 0;
    for (const char* zone : {"DMA32", "Normal"}) {
      std::vector<unsigned long> nr_free = NrFree(zone);
      for (uint32_t o = 0; o <= kChunkOrder; o++)
        listed += nr_free[o] << o;
    }
    ASSERT_EQ(listed, c.free_pages);
    sim::ClearLogs();
  }
};

TEST_F(Model, HundredThousandRandomOperationsAgreeWithTheModel) {
  NewCore(kChunkOrder, kChunks);
  ASSERT_EQ(Control("pcp high=8 batch=3"), MMLAB_OK);
  for (int op = 0; op < kOps; op++) {
    uint64_t r = Rand(100);
    if (r < 45)
      DoAlloc();
    else if (r < 50)
      DoControlAlloc();
    else if (r < 90)
      DoFree();
    else if (r < 98)
      DoMisuse();
    else
      DoShrink();
    if (HasFatalFailure())
      FAIL() << "at operation " << op << " (seeded, reproducible)";
    if (op % 1000 == 999) {
      CheckAgreement();
      if (HasFatalFailure())
        FAIL() << "at operation " << op;
    }
  }
  // The sequence must have exercised every outcome, or it proves little.
  EXPECT_GT(allocs_, 30000u);
  EXPECT_GT(failures_, 100u);
  EXPECT_GT(refusals_, 4000u);
  EXPECT_GT(shrinks_, 1000u);

  while (!live_.empty())
    DoFree();
  CheckAgreement();
  DoShrink();
  EXPECT_EQ(Counters().host_chunks, 0u);
  EXPECT_EQ(Counters().used_pages, 0u);
  // Both zones and the per-CPU lists took part.
  EXPECT_GT(sim::ChunksBorrowed(), 0u);
  EXPECT_GT(Stat("kswapd_runs") + 1, 0u);
  std::string stats = Render(MMLAB_VIEW_STATS);
  EXPECT_GT(ViewValue(Render(MMLAB_VIEW_ZONEINFO), "DMA32", "nr_pcp_drained"), 0u);
  EXPECT_GT(ViewValue(Render(MMLAB_VIEW_ZONEINFO), "Normal", "nr_pcp_drained"), 0u);
  EXPECT_GT(ViewValue(Render(MMLAB_VIEW_ZONEINFO), "DMA32", "nr_alloc_fallback"), 0u);
}

}  // namespace
}  // namespace mmlab_test
