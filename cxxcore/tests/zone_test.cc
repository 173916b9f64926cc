// SPDX-License-Identifier: GPL-2.0
//
// zone_test.cc - ZONE_DMA32 and ZONE_NORMAL: how the capacity is split, the
// watermarks and lowmem reserves computed from min_free_kbytes (exact
// numbers, as __setup_per_zone_wmarks would give), the zonelist's order,
// and the lowmem reserve keeping Normal requests out of DMA32's last pages.
#include "test_util.h"

namespace mmlab_test {
namespace {

using Zones = CoreTest;

constexpr mmlab_gfp_t kQuietKernel = MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN;

bool IsDma32Pfn(uint64_t pfn) { return pfn < 0x100000; }

TEST_F(Zones, DefaultSplitIsAQuarterToDma32AtLeastOneChunk) {
  const struct {
    uint64_t chunks, dma32_chunks;
  } cases[] = {{1, 1}, {2, 1}, {3, 1}, {4, 1}, {8, 2}, {10, 2}, {64, 16}};
  for (const auto& c : cases) {
    NewCore(4, c.chunks);
    EXPECT_EQ(Zoneinfo("DMA32", "spanned"), c.dma32_chunks * 16) << c.chunks << " chunks";
    EXPECT_EQ(Zoneinfo("Normal", "spanned"), (c.chunks - c.dma32_chunks) * 16);
    Destroy();
  }
}

TEST_F(Zones, ConfiguredSplitMustBeChunkMultiplesAddingUpToTheCapacity) {
  mmlab_core_config cfg = Config(4, 64);
  cfg.zone_pages[MMLAB_ZONE_DMA32] = 16;
  cfg.zone_pages[MMLAB_ZONE_NORMAL] = 32;
  mmlab_core* core = nullptr;
  EXPECT_EQ(mmlab_core_create(&cfg, &core), MMLAB_EINVAL) << "48 of 64 pages";
  EXPECT_EQ(sim::CountLogs("create: zone_pages DMA32 16 + Normal 32 must be multiples of the "
                           "16-page chunk adding up to capacity_pages 64",
                           MMLAB_LOG_WARN),
            1u)
      << sim::LogText();
  cfg.zone_pages[MMLAB_ZONE_DMA32] = 8;
  cfg.zone_pages[MMLAB_ZONE_NORMAL] = 56;
  EXPECT_EQ(mmlab_core_create(&cfg, &core), MMLAB_EINVAL) << "not chunk multiples";
  cfg.zone_pages[MMLAB_ZONE_DMA32] = ~0ull - 15;
  cfg.zone_pages[MMLAB_ZONE_NORMAL] = 80;
  EXPECT_EQ(mmlab_core_create(&cfg, &core), MMLAB_EINVAL) << "overflowing sum";
  EXPECT_EQ(core, nullptr);

  cfg.zone_pages[MMLAB_ZONE_DMA32] = 64;
  cfg.zone_pages[MMLAB_ZONE_NORMAL] = 0;
  NewCoreWith(cfg);
  EXPECT_EQ(Zoneinfo("DMA32", "spanned"), 64u);
  EXPECT_EQ(Zoneinfo("Normal", "spanned"), 0u);
}

TEST_F(Zones, MinFreeKbytesDefaultsLikeCalculateMinFreeKbytes) {
  // int_sqrt(capacity in KiB * 16), clamped to 128..262144.
  const struct {
    uint32_t order;
    uint64_t chunks;
    uint64_t kbytes;
  } cases[] = {
      {4, 4, 128},                      // 256 KiB: sqrt(4096) = 64, clamped up
      {10, 64, 2048},                   // 256 MiB: sqrt(4194304)
      {10, 1024, 8192},                 // 4 GiB
      {10, uint64_t{1} << 18, 131072},  // 1 TiB: sqrt(2^34)
      {10, uint64_t{1} << 20, 262144},  // 4 TiB: sqrt(2^36) = 262144 exactly
      {10, uint64_t{1} << 22, 262144},  // 16 TiB: clamped down
  };
  for (const auto& c : cases) {
    NewCore(c.order, c.chunks);
    EXPECT_EQ(Stat("min_free_kbytes"), c.kbytes) << c.chunks << " chunks of order " << c.order;
    Destroy();
  }
  mmlab_core_config cfg = Config(4, 64);
  cfg.min_free_kbytes = 1000;
  NewCoreWith(cfg);
  EXPECT_EQ(Stat("min_free_kbytes"), 1000u) << "configured values are taken as they are";
}

TEST_F(Zones, WatermarksAreSetupPerZoneWmarksExactly) {
  NewCore(10, 64);  // 65536 pages: DMA32 16384, Normal 49152; min_free_kbytes 2048 = 512 pages
  // min: 512 * 16384 / 65536 = 128; step max(128 / 4, 16384 * 10 / 10000) = 32.
  EXPECT_EQ(Zoneinfo("DMA32", "min"), 128u);
  EXPECT_EQ(Zoneinfo("DMA32", "low"), 160u);
  EXPECT_EQ(Zoneinfo("DMA32", "high"), 192u);
  // min 384; step max(96, 49) = 96.
  EXPECT_EQ(Zoneinfo("Normal", "min"), 384u);
  EXPECT_EQ(Zoneinfo("Normal", "low"), 480u);
  EXPECT_EQ(Zoneinfo("Normal", "high"), 576u);
  // lowmem_reserve: DMA32 against Normal requests = Normal's 49152 / 256.
  std::string zi = Render(MMLAB_VIEW_ZONEINFO);
  EXPECT_NE(zi.find("Node 0, zone    DMA32\n"), std::string::npos) << zi;
  EXPECT_EQ(ViewProtection(zi, "DMA32", MMLAB_ZONE_DMA32), 0u);
  EXPECT_EQ(ViewProtection(zi, "DMA32", MMLAB_ZONE_NORMAL), 192u);
  EXPECT_EQ(ViewProtection(zi, "Normal", MMLAB_ZONE_NORMAL), 0u);

  // Halving min_free_kbytes: Normal's step is now the scale factor's 49,
  // no longer a quarter of min (48).
  EXPECT_EQ(Result("min_free_kbytes=1024"), "min_free_kbytes 1024");
  EXPECT_EQ(Zoneinfo("DMA32", "min"), 64u);
  EXPECT_EQ(Zoneinfo("DMA32", "low"), 80u);
  EXPECT_EQ(Zoneinfo("DMA32", "high"), 96u);
  EXPECT_EQ(Zoneinfo("Normal", "min"), 192u);
  EXPECT_EQ(Zoneinfo("Normal", "low"), 241u);
  EXPECT_EQ(Zoneinfo("Normal", "high"), 290u);
  EXPECT_EQ(ViewProtection(Render(MMLAB_VIEW_ZONEINFO), "DMA32", MMLAB_ZONE_NORMAL), 192u)
      << "the reserve depends on zone sizes only";

  EXPECT_EQ(Result("min_free_kbytes=0"), "min_free_kbytes 0");
  EXPECT_EQ(Zoneinfo("DMA32", "min"), 0u);
  EXPECT_EQ(Zoneinfo("DMA32", "low"), 16u) << "the scale factor's step remains";
  EXPECT_EQ(Zoneinfo("Normal", "high"), 98u);
}

TEST_F(Zones, WatermarksFollowAConfiguredSplit) {
  mmlab_core_config cfg = Config(10, 65536);
  cfg.zone_pages[MMLAB_ZONE_DMA32] = 8192;
  cfg.zone_pages[MMLAB_ZONE_NORMAL] = 57344;
  cfg.min_free_kbytes = 4000;  // 1000 pages
  NewCoreWith(cfg);
  EXPECT_EQ(Zoneinfo("DMA32", "min"), 125u);  // 1000 * 8192 / 65536
  EXPECT_EQ(Zoneinfo("DMA32", "low"), 156u);  // + max(31, 8)
  EXPECT_EQ(Zoneinfo("DMA32", "high"), 187u);
  EXPECT_EQ(Zoneinfo("Normal", "min"), 875u);
  EXPECT_EQ(Zoneinfo("Normal", "low"), 1093u);  // + max(218, 57)
  EXPECT_EQ(Zoneinfo("Normal", "high"), 1311u);
  EXPECT_EQ(ViewProtection(Render(MMLAB_VIEW_ZONEINFO), "DMA32", MMLAB_ZONE_NORMAL), 224u);
}

TEST_F(Zones, EachZoneBorrowsFromItsOwnHostZone) {
  NewCore(4, 8);
  mmlab_page* normal = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  mmlab_page* dma32 = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB_GFP_DMA32, 0);
  ASSERT_TRUE(normal && dma32);
  EXPECT_FALSE(IsDma32Pfn(Pfn(normal)));
  EXPECT_TRUE(IsDma32Pfn(Pfn(dma32)));
  EXPECT_GT(sim::ChunksOutstandingIn(MMLAB_HOST_ZONE_NORMAL), 0u);
  EXPECT_GT(sim::ChunksOutstandingIn(MMLAB_HOST_ZONE_DMA32), 0u);
  EXPECT_EQ(sim::ChunksOutstandingIn(MMLAB_HOST_ZONE_ANY), 0u);
  EXPECT_EQ(Zoneinfo("Normal", "present"), 16 * sim::ChunksOutstandingIn(MMLAB_HOST_ZONE_NORMAL));
  EXPECT_EQ(Zoneinfo("DMA32", "present"), 16 * sim::ChunksOutstandingIn(MMLAB_HOST_ZONE_DMA32));
  EXPECT_EQ(Zoneinfo("Normal", "start_pfn"), Pfn(normal)) << "the first block of the first chunk";
  mmlab_core___free_pages(core_, normal, 0);
  mmlab_core___free_pages(core_, dma32, 0);
}

// Normal first, then DMA32 - never upwards. Watermarks out of the way
// (min_free_kbytes=0; the zones are too small for the scale factor).
TEST_F(Zones, ZonelistIsNormalThenDma32AndNeverUpwards) {
  NewCore(4, 8);  // DMA32 32 pages, Normal 96
  ASSERT_EQ(Control("min_free_kbytes=0"), MMLAB_OK);
  std::vector<mmlab_page*> pages;
  for (int i = 0; i < 96; i++) {
    pages.push_back(mmlab_core_alloc_pages(core_, kQuietKernel, 0));
    ASSERT_NE(pages.back(), nullptr);
    ASSERT_FALSE(IsDma32Pfn(Pfn(pages.back()))) << "page " << i << " should come from Normal";
  }
  EXPECT_EQ(Zoneinfo("DMA32", "nr_host_chunks"), 0u) << "DMA32 untouched while Normal can serve";
  for (int i = 0; i < 32; i++) {
    pages.push_back(mmlab_core_alloc_pages(core_, kQuietKernel, 0));
    ASSERT_NE(pages.back(), nullptr);
    ASSERT_TRUE(IsDma32Pfn(Pfn(pages.back()))) << "Normal is full: DMA32 serves";
  }
  EXPECT_EQ(Zoneinfo("DMA32", "nr_alloc_fallback"), 32u);
  EXPECT_EQ(Zoneinfo("Normal", "nr_alloc_fallback"), 0u);
  EXPECT_EQ(mmlab_core_alloc_pages(core_, kQuietKernel, 0), nullptr) << "both full";

  // Give back a Normal page and a DMA32 page: a DMA32 request takes the
  // DMA32 one and then fails, though Normal has a free page.
  ASSERT_EQ(mmlab_core___free_pages(core_, pages[0], 0), MMLAB_OK);
  ASSERT_EQ(mmlab_core___free_pages(core_, pages[96], 0), MMLAB_OK);
  ASSERT_EQ(Control("drain"), MMLAB_OK);
  mmlab_page* d = mmlab_core_alloc_pages(core_, kQuietKernel | MMLAB_GFP_DMA32, 0);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(IsDma32Pfn(Pfn(d)));
  EXPECT_EQ(mmlab_core_alloc_pages(core_, kQuietKernel | MMLAB_GFP_DMA32, 0), nullptr)
      << "__GFP_DMA32 never takes a Normal page";
  EXPECT_EQ(Zoneinfo("Normal", "nr_free_pages"), 1u);
  pages[96] = d;
  pages[0] = mmlab_core_alloc_pages(core_, kQuietKernel, 0);
  ASSERT_NE(pages[0], nullptr);
  EXPECT_FALSE(IsDma32Pfn(Pfn(pages[0])));
  for (mmlab_page* p : pages)
    ASSERT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
}

TEST_F(Zones, WithoutHighMemoryNormalStaysEmptyAndDma32Serves) {
  sim::SetNoHighMemory(true);
  NewCore(4, 8);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(IsDma32Pfn(Pfn(p)));
  EXPECT_EQ(Zoneinfo("Normal", "present"), 0u);
  EXPECT_EQ(sim::ChunksOutstandingIn(MMLAB_HOST_ZONE_NORMAL), 0u);
  EXPECT_EQ(Zoneinfo("DMA32", "nr_alloc_fallback"), 1u);
  mmlab_core___free_pages(core_, p, 0);
}

// DMA32 64 pages, Normal 4096 pages that the host cannot give: Normal
// requests fall back to DMA32 but must leave its watermark (0 here) plus
// the lowmem reserve of 4096 / 256 = 16 pages; DMA32 requests may take
// those too.
TEST_F(Zones, LowmemReserveKeepsNormalRequestsOutOfDma32sLastPages) {
  sim::SetNoHighMemory(true);
  mmlab_core_config cfg = Config(4, 64 + 4096);
  cfg.zone_pages[MMLAB_ZONE_DMA32] = 64;
  cfg.zone_pages[MMLAB_ZONE_NORMAL] = 4096;
  NewCoreWith(cfg);
  ASSERT_EQ(Control("min_free_kbytes=0"), MMLAB_OK);
  ASSERT_EQ(Zoneinfo("DMA32", "min"), 0u);
  ASSERT_EQ(ViewProtection(Render(MMLAB_VIEW_ZONEINFO), "DMA32", MMLAB_ZONE_NORMAL), 16u);

  std::vector<mmlab_page*> normal, dma32;
  while (mmlab_page* p = mmlab_core_alloc_pages(core_, kQuietKernel, 0))
    normal.push_back(p);
  EXPECT_EQ(normal.size(), 48u) << "64 pages minus the 16 protected";
  EXPECT_EQ(Zoneinfo("DMA32", "nr_free_pages"), 16u);
  while (mmlab_page* p = mmlab_core_alloc_pages(core_, kQuietKernel | MMLAB_GFP_DMA32, 0))
    dma32.push_back(p);
  EXPECT_EQ(dma32.size(), 16u) << "a DMA32 request still gets the protected pages";
  EXPECT_EQ(Zoneinfo("DMA32", "nr_free_pages"), 0u);
  for (mmlab_page* p : normal)
    ASSERT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
  for (mmlab_page* p : dma32)
    ASSERT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
}

// The first request of a fresh core finds every zone "below its low
// watermark" (it has nothing yet): reclaim borrows until the zone is above
// high, and stops at the first zone of the zonelist that is.
TEST_F(Zones, DirectReclaimBorrowsUpToHighInTheFirstZoneThatCanGrow) {
  NewCore(10, 64);  // Normal high 576: one 1024-page chunk is enough
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(Zoneinfo("Normal", "present"), 1024u);
  EXPECT_EQ(Zoneinfo("Normal", "nr_direct_borrowed"), 1024u);
  EXPECT_EQ(Zoneinfo("Normal", "nr_reclaim_passes"), 1u);
  EXPECT_EQ(Zoneinfo("DMA32", "present"), 0u);
  EXPECT_EQ(Zoneinfo("DMA32", "nr_reclaim_passes"), 0u);
  // The per-CPU list was refilled with a batch of 15 and gave one away.
  EXPECT_EQ(NrFree("Normal"),
            (std::vector<unsigned long>{1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0}));
  EXPECT_EQ(Counters().pcp_pages, 14u);
  mmlab_core___free_pages(core_, p, 0);
  EXPECT_EQ(Counters().pcp_pages, 15u);
  EXPECT_EQ(Result("drain"), "drained 15 pages");
  EXPECT_EQ(NrFree("Normal"), (std::vector<unsigned long>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
}

TEST_F(Zones, ZoneinfoIsProcZoneinfoShaped) {
  NewCore(10, 64);
  std::string r;
  ASSERT_EQ(Control("alloc order=3", &r), MMLAB_OK);
  EXPECT_EQ(r.substr(r.size() - 12), " zone Normal") << r;
  unsigned long pfn = std::stoul(r.substr(r.find("pfn 0x") + 6), nullptr, 16);
  auto pagesets = [](int high, int batch) {
    std::string s = "  pagesets\n";
    for (int cpu = 0; cpu < 4; cpu++)
      s += "    cpu: " + std::to_string(cpu) + "\n              count: 0\n              high:  " +
           std::to_string(high) + "\n              batch: " + std::to_string(batch) + "\n";
    return s;
  };
  EXPECT_EQ(Render(MMLAB_VIEW_ZONEINFO),
            "Node 0, zone    DMA32\n"
            "  pages free     0\n"
            "        min      128\n"
            "        low      160\n"
            "        high     192\n"
            "        spanned  16384\n"
            "        present  0\n"
            "        managed  0\n"
            "        protection: (0, 192)\n"
            "      nr_free_pages 0\n"
            "      nr_used_pages 0\n"
            "      nr_pcp_pages 0\n"
            "      nr_host_chunks 0\n"
            "      nr_alloc_fallback 0\n"
            "      nr_alloc_reserve 0\n"
            "      nr_reclaim_passes 0\n"
            "      nr_direct_borrowed 0\n"
            "      nr_kswapd_wakeups 1\n"
            "      nr_kswapd_borrowed 0\n"
            "      nr_kswapd_reclaimed 0\n"
            "      nr_pcp_drained 0\n" +
                pagesets(18, 3) +
                "  node_unreclaimable:  0\n"
                "  start_pfn:           0\n"
                "Node 0, zone   Normal\n"
                "  pages free     1016\n"
                "        min      384\n"
                "        low      480\n"
                "        high     576\n"
                "        spanned  49152\n"
                "        present  1024\n"
                "        managed  1024\n"
                "        protection: (0, 0)\n"
                "      nr_free_pages 1016\n"
                "      nr_used_pages 8\n"
                "      nr_pcp_pages 0\n"
                "      nr_host_chunks 1\n"
                "      nr_alloc_fallback 0\n"
                "      nr_alloc_reserve 0\n"
                "      nr_reclaim_passes 1\n"
                "      nr_direct_borrowed 1024\n"
                "      nr_kswapd_wakeups 1\n"
                "      nr_kswapd_borrowed 0\n"
                "      nr_kswapd_reclaimed 0\n"
                "      nr_pcp_drained 0\n" +
                pagesets(90, 15) +
                "  node_unreclaimable:  0\n"
                "  start_pfn:           " + std::to_string(pfn) + "\n");
  ASSERT_EQ(Control("free 1"), MMLAB_OK);
}

}  // namespace
}  // namespace mmlab_test
