// SPDX-License-Identifier: GPL-2.0
//
// command_policy_test.cc - the control file's zone, reclaim and per-CPU
// commands (docs/debugfs.md): alloc in an atomic context, the pressure
// pool, drain, pcp, min_free_kbytes=, kswapd - results and refusals.
#include <vector>

#include "test_util.h"

namespace mmlab_test {
namespace {

class PolicyControl : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    NewCore(4, 16);  // DMA32 64 pages (min 8), Normal 192 (min 24)
  }
  void ExpectError(const std::string& cmd, mmlab_status want, const std::string& reason) {
    sim::ClearLogs();
    std::string r;
    EXPECT_EQ(Control(cmd, &r), want) << cmd;
    EXPECT_EQ(r.find(reason), 0u) << "command: " << cmd << "\nresult: " << r;
    EXPECT_EQ(sim::CountLogs(r, MMLAB_LOG_WARN), 1u) << sim::LogText();
  }
};

TEST_F(PolicyControl, AllocNamesTheZoneAndRunsInTheContextAsked) {
  std::string r = Result("alloc order=0 gfp=GFP_ATOMIC context=irqoff");
  EXPECT_EQ(r.rfind("handle 1 order 0 pfn 0x", 0), 0u) << r;
  EXPECT_EQ(r.substr(r.size() - 12), " zone Normal") << r;
  r = Result("alloc order=1 gfp=GFP_NOWAIT|__GFP_ZERO context=timer");
  EXPECT_EQ(r.rfind("handle 2 order 1 pfn 0x", 0), 0u) << r;
  r = Result("alloc order=2 gfp=GFP_ATOMIC|GFP_DMA32 context=irqoff");
  EXPECT_EQ(r.substr(r.size() - 11), " zone DMA32") << r;
  r = Result("alloc order=0 context=process");
  EXPECT_EQ(r.rfind("handle 4 order 0", 0), 0u) << r;
  EXPECT_EQ(Result("free_all"), "freed 4 handles");
}

TEST_F(PolicyControl, SleepingGfpIsRefusedForKmallocAndCacheAllocInAtomicContexts) {
  // kmalloc and cache_alloc too (the VM fuzzer found kmalloc context=timer
  // with the default GFP_KERNEL reaching might_sleep() in a timer).
  ExpectError("kmalloc size=64 context=timer", MMLAB_EINVAL,
              "control: kmalloc: gfp may sleep (__GFP_DIRECT_RECLAIM) and cannot run in context "
              "timer; use GFP_ATOMIC or GFP_NOWAIT");
  ExpectError("kmalloc size=100000 gfp=GFP_KERNEL context=irqoff", MMLAB_EINVAL,
              "control: kmalloc: gfp may sleep (__GFP_DIRECT_RECLAIM) and cannot run in context "
              "irqoff");
  EXPECT_EQ(Result("cache_create name=ctx size=64").rfind("cache ", 0), 0u);
  ExpectError("cache_alloc cache=1 context=irqoff", MMLAB_EINVAL,
              "control: cache_alloc: gfp may sleep (__GFP_DIRECT_RECLAIM) and cannot run in "
              "context irqoff");
  EXPECT_EQ(Result("kmalloc size=64 gfp=GFP_ATOMIC context=timer").rfind("object ", 0), 0u);
  EXPECT_EQ(Result("free_all").find("destroyed 1 caches") != std::string::npos, true);
}

TEST_F(PolicyControl, SleepingGfpInAnAtomicContextIsRefused) {
  ExpectError("alloc order=0 context=irqoff", MMLAB_EINVAL,
              "control: alloc: gfp may sleep (__GFP_DIRECT_RECLAIM) and cannot run in context "
              "irqoff; use GFP_ATOMIC or GFP_NOWAIT");
  ExpectError("alloc order=0 gfp=GFP_NOFS context=timer", MMLAB_EINVAL,
              "control: alloc: gfp may sleep (__GFP_DIRECT_RECLAIM) and cannot run in context "
              "timer");
  ExpectError("alloc order=0 context=softirq", MMLAB_EINVAL,
              "control: context='softirq': not process, irqoff or timer");
  ExpectError("alloc order=0 context=irqoff context=timer gfp=GFP_ATOMIC", MMLAB_EINVAL,
              "control: alloc: context given twice");
  sim::FailRunInContext(1);
  ExpectError("alloc order=0 gfp=GFP_ATOMIC context=timer", MMLAB_EINVAL,
              "control: alloc: context timer is not available");
  EXPECT_EQ(Counters().host_chunks, 0u);
  EXPECT_EQ(Result("alloc order=0 gfp=GFP_ATOMIC context=timer").rfind("handle 1 ", 0), 0u)
      << "the handle reserved for the refused one was given back";
  Control("free_all");
}

TEST_F(PolicyControl, PressureConsumesAndReleasesOrderZeroPages) {
  EXPECT_EQ(Result("pressure consume=10"), "pressure: consumed 10 pages, holding 10");
  EXPECT_EQ(Stat("pressure_pages"), 10u);
  EXPECT_EQ(Stat("used_pages"), 10u) << "pool pages are in use";
  EXPECT_EQ(Result("pressure consume=5 gfp=GFP_ATOMIC"), "pressure: consumed 5 pages, holding 15");
  EXPECT_EQ(Result("pressure release=4"), "pressure: released 4 pages, holding 11");
  EXPECT_EQ(Result("check"), "ok");
  EXPECT_EQ(Result("pressure release=all"), "pressure: released 11 pages, holding 0");
  EXPECT_EQ(Result("pressure release=3"), "pressure: released 0 pages, holding 0");
  EXPECT_EQ(Stat("used_pages"), 0u);
}

TEST_F(PolicyControl, PressureFillsTheZonesDownToTheirWatermarks) {
  std::string r;
  EXPECT_EQ(Control("pressure consume=256 gfp=GFP_KERNEL|__GFP_NOWARN", &r), MMLAB_ENOMEM);
  EXPECT_EQ(r, "control: pressure: consumed 224 of 256 pages, holding 224");
  EXPECT_EQ(Zoneinfo("Normal", "nr_free_pages"), 24u) << "Normal's min";
  EXPECT_EQ(Zoneinfo("DMA32", "nr_free_pages"), 8u) << "DMA32's min";
  EXPECT_EQ(Zoneinfo("DMA32", "nr_alloc_fallback"), 56u);
  // An atomic caller digs into the reserve: min - min/2 - min/8.
  EXPECT_EQ(Control("pressure consume=256 gfp=GFP_ATOMIC|__GFP_NOWARN", &r), MMLAB_ENOMEM);
  EXPECT_EQ(r, "control: pressure: consumed 20 of 256 pages, holding 244");
  EXPECT_EQ(Zoneinfo("Normal", "nr_free_pages"), 9u);
  EXPECT_EQ(Zoneinfo("DMA32", "nr_free_pages"), 3u);
  EXPECT_EQ(Result("check"), "ok");
  // free_all gives the pool back too.
  EXPECT_EQ(Result("free_all"), "freed 0 handles, released 244 pressure pages");
  EXPECT_EQ(Stat("pressure_pages"), 0u);
}

TEST_F(PolicyControl, PoolPagesCanOnlyBeReleasedThroughThePool) {
  sim::RecordTraces(true);
  ASSERT_EQ(Control("pressure consume=1"), MMLAB_OK);
  std::vector<sim::TraceEvent> t = sim::Traces();
  ASSERT_EQ(t.size(), 1u);
  const uint64_t pfn = t[0].pfn;
  char cmd[64];
  snprintf(cmd, sizeof(cmd), "free_pfn pfn=0x%lx order=0", static_cast<unsigned long>(pfn));
  char want[128];
  snprintf(want, sizeof(want),
           "bad free: pfn 0x%lx order 0 belongs to the pressure pool; release it there",
           static_cast<unsigned long>(pfn));
  ExpectError(cmd, MMLAB_EINVAL, want);
  EXPECT_EQ(mmlab_core_free_pages(core_, static_cast<uintptr_t>(pfn << 12), 0), MMLAB_EINVAL);
  EXPECT_EQ(Result("pressure release=all"), "pressure: released 1 pages, holding 0");
}

TEST_F(PolicyControl, PressureRefusals) {
  ExpectError("pressure", MMLAB_EINVAL, "control: pressure: give consume=N or release=N|all");
  ExpectError("pressure consume=1 release=1", MMLAB_EINVAL,
              "control: pressure: give consume=N or release=N|all");
  ExpectError("pressure release=all gfp=GFP_KERNEL", MMLAB_EINVAL,
              "control: pressure: gfp= goes with consume=");
  ExpectError("pressure consume=257", MMLAB_EINVAL,
              "control: pressure: consume=257 is more than the capacity (256 pages)");
  ExpectError("pressure release=some", MMLAB_EINVAL,
              "control: release='some': not a decimal or 0x-hex number");
  ExpectError("pressure consume=-1", MMLAB_EINVAL, "control: consume='-1': negative number");
  ExpectError("pressure order=1", MMLAB_EINVAL, "control: pressure: unknown key 'order'");
}

TEST_F(PolicyControl, DrainSaysHowManyPagesWentBack) {
  EXPECT_EQ(Result("drain"), "drained 0 pages");
  ASSERT_EQ(Result("pcp high=20 batch=8"), "pcp: high 20 batch 8");
  ASSERT_EQ(Control("alloc order=0"), MMLAB_OK);  // a batch of 8 came over
  EXPECT_EQ(Stat("pcp_pages"), 7u);
  EXPECT_EQ(Result("drain"), "drained 7 pages");
  EXPECT_EQ(Stat("pcp_pages"), 0u);
  ExpectError("drain now", MMLAB_EINVAL, "control: drain: unexpected argument 'now'");
  Control("free_all");
}

TEST_F(PolicyControl, PcpTunables) {
  EXPECT_EQ(Result("pcp high=4096 batch=4096"), "pcp: high 4096 batch 4096");
  EXPECT_EQ(Result("pcp batch=1 high=1"), "pcp: high 1 batch 1");
  EXPECT_EQ(Zoneinfo("DMA32", "high:"), 1u);
  ExpectError("pcp high=4 batch=5", MMLAB_EINVAL,
              "control: pcp: need 1 <= batch (5) <= high (4) <= 4096");
  ExpectError("pcp high=4 batch=0", MMLAB_EINVAL, "control: pcp: need 1 <= batch (0) <= high (4)");
  ExpectError("pcp high=4097 batch=1", MMLAB_EINVAL,
              "control: pcp: need 1 <= batch (1) <= high (4097)");
  ExpectError("pcp high=4", MMLAB_EINVAL, "control: pcp: batch= is required");
  ExpectError("pcp batch=4", MMLAB_EINVAL, "control: pcp: high= is required");
  EXPECT_EQ(Zoneinfo("DMA32", "high:"), 1u) << "refusals change nothing";
}

TEST_F(PolicyControl, PcpPerZoneAndBackToDefaults) {
  const uint64_t dma32_default = Zoneinfo("DMA32", "high:");
  const uint64_t normal_default = Zoneinfo("Normal", "high:");
  EXPECT_EQ(Result("pcp high=40 batch=5 zone=Normal"), "pcp: high 40 batch 5 zone Normal");
  EXPECT_EQ(Zoneinfo("Normal", "high:"), 40u);
  EXPECT_EQ(Zoneinfo("DMA32", "high:"), dma32_default) << "the other zone keeps its values";
  EXPECT_EQ(Result("pcp high=30 batch=3"), "pcp: high 30 batch 3");
  EXPECT_EQ(Zoneinfo("DMA32", "high:"), 30u);
  EXPECT_EQ(Result("pcp default zone=DMA32"), "pcp: defaults zone DMA32");
  EXPECT_EQ(Zoneinfo("DMA32", "high:"), dma32_default);
  EXPECT_EQ(Zoneinfo("Normal", "high:"), 30u);
  EXPECT_EQ(Result("pcp default"), "pcp: defaults");
  EXPECT_EQ(Zoneinfo("Normal", "high:"), normal_default);
  ExpectError("pcp high=4 batch=1 zone=HighMem", MMLAB_EINVAL,
              "control: zone='HighMem': not DMA32 or Normal");
  ExpectError("pcp default high=4", MMLAB_EINVAL, "control: pcp default: unknown key 'high'");
  ExpectError("pcp default zone=Normal zone=DMA32", MMLAB_EINVAL,
              "control: pcp default: zone given twice");
}

TEST_F(PolicyControl, MinFreeKbytes) {
  EXPECT_EQ(Stat("min_free_kbytes"), 128u);
  EXPECT_EQ(Result("min_free_kbytes=4096"), "min_free_kbytes 4096");
  EXPECT_EQ(Stat("min_free_kbytes"), 4096u);
  EXPECT_EQ(Zoneinfo("Normal", "min"), 768u) << "1024 pages * 192 / 256";
  EXPECT_EQ(Result("min_free_kbytes=0x0"), "min_free_kbytes 0");
  EXPECT_EQ(Result("min_free_kbytes=16777216"), "min_free_kbytes 16777216");
  ExpectError("min_free_kbytes=16777217", MMLAB_EINVAL,
              "control: min_free_kbytes 16777217 out of range 0..16777216");
  ExpectError("min_free_kbytes=", MMLAB_EINVAL, "control: min_free_kbytes='': missing value");
  ExpectError("min_free_kbytes=-5", MMLAB_EINVAL, "control: min_free_kbytes='-5': negative number");
  ExpectError("min_free_kbytes=1k", MMLAB_EINVAL,
              "control: min_free_kbytes='1k': not a decimal or 0x-hex number");
  ExpectError("min_free_kbytes=1 now", MMLAB_EINVAL,
              "control: min_free_kbytes: unexpected argument 'now'");
  ExpectError("min_free_kbytes", MMLAB_EINVAL, "control: unknown command 'min_free_kbytes'");
  ExpectError("min_free_kbytesx=1", MMLAB_EINVAL, "control: unknown command 'min_free_kbytesx=1'");
}

TEST_F(PolicyControl, KswapdByHand) {
  uint64_t wakes = sim::KswapdWakes();
  EXPECT_EQ(Result("kswapd"), "kswapd woken");
  EXPECT_EQ(sim::KswapdWakes(), wakes + 1);
  mmlab_core_kswapd(core_);  // what the woken thread does: balance Normal
  EXPECT_EQ(Zoneinfo("Normal", "present"), 48u);
  EXPECT_EQ(Zoneinfo("Normal", "nr_kswapd_borrowed"), 48u);
  ExpectError("kswapd now", MMLAB_EINVAL, "control: kswapd: unexpected argument 'now'");
}

}  // namespace
}  // namespace mmlab_test
