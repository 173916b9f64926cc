// SPDX-License-Identifier: GPL-2.0
//
// watermark.cc - min_free_kbytes, the zones' watermarks and lowmem
// reserves, and the per-CPU list tunables.
//
// How it works (mm/page_alloc.c: calculate_min_free_kbytes,
// __setup_per_zone_wmarks, setup_per_zone_lowmem_reserve):
//  - min_free_kbytes defaults to int_sqrt(capacity in KiB * 16), clamped to
//    128..262144, as Linux derives it from lowmem.
//  - Its pages are shared among the zones in proportion to their size:
//    min = pages_min * zone / all zones. low = min + max(min / 4, zone *
//    watermark_scale_factor / 10000) and high = low + the same step.
//  - A zone's lowmem reserve against requests whose preferred zone is a
//    higher one is (the pages of the zones above, up to that one) / 256,
//    sysctl_lowmem_reserve_ratio for DMA32: what keeps Normal allocations
//    from draining DMA32.
//  - "Zone size" here is the zone's share of the capacity (zoneinfo
//    "spanned"), not what it has borrowed so far, so the marks stay put
//    while zones grow and shrink on demand.
#include "core.h"
#include "log.h"

namespace mmlab {

namespace {

constexpr uint64_t kWatermarkScaleFactor = 10;  // vm.watermark_scale_factor
constexpr uint64_t kLowmemReserveRatio[kMaxZones] = {256, 32};  // DMA32, Normal

struct TrimArg {
  Core* core;
};

void TrimOnThisCpu(void* arg) {
  Core* core = static_cast<TrimArg*>(arg)->core;
  uint32_t cpu = 0;
  unsigned long irq = mmlab_host_local_irq_save(&cpu);
  for (uint32_t z = 0; z < core->nr_zones(); z++)
    core->zone(z).TrimPcpIrqsOff(cpu);
  mmlab_host_local_irq_restore(irq);
}

}  // namespace

uint64_t DefaultMinFreeKbytes(uint64_t capacity_pages) {
  uint64_t kbytes = capacity_pages * (MMLAB_PAGE_SIZE >> 10);
  return Max<uint64_t>(128, Min<uint64_t>(IntSqrt(kbytes * 16), 262144));
}

void Core::SetupPerZoneWmarks() {
  const uint64_t pages_min = min_free_kbytes_ >> (MMLAB_PAGE_SHIFT - 10);
  uint64_t lowmem_pages = 0;
  for (const Zone& zone : zones_)
    lowmem_pages += zone.max_pages();
  for (uint32_t i = 0; i < kMaxZones; i++) {
    Zone& zone = zones_[i];
    const uint64_t managed = zone.max_pages();
    uint64_t wmark[kNrWmarks];
    wmark[kWmarkMin] = lowmem_pages ? MultFrac(managed, pages_min, lowmem_pages) : 0;
    uint64_t step = Max(wmark[kWmarkMin] >> 2, MultFrac(managed, kWatermarkScaleFactor, 10000));
    wmark[kWmarkLow] = wmark[kWmarkMin] + step;
    wmark[kWmarkHigh] = wmark[kWmarkLow] + step;

    uint64_t reserve[kMaxZones] = {};
    const bool clear = kLowmemReserveRatio[i] == 0 || managed == 0;
    uint64_t upper = 0;
    for (uint32_t j = i + 1; j < kMaxZones; j++) {
      upper += zones_[j].max_pages();
      reserve[j] = clear ? 0 : upper / kLowmemReserveRatio[i];
    }
    zone.SetWatermarks(wmark, reserve);
  }
}

mmlab_status Core::SetMinFreeKbytes(uint64_t kbytes, TextBuf* why) {
  if (kbytes > kMaxMinFreeKbytes) {
    Report(why, MMLAB_LOG_WARN, "min_free_kbytes %lu out of range 0..%lu", kbytes,
           kMaxMinFreeKbytes);
    return MMLAB_EINVAL;
  }
  IrqSaveGuard guard(wmark_lock_);
  WriteOnce(min_free_kbytes_, kbytes);
  SetupPerZoneWmarks();
  return MMLAB_OK;
}

mmlab_status Core::SetPcpHighBatch(uint32_t zone, uint64_t high, uint64_t batch, TextBuf* why) {
  if (batch < 1 || batch > high || high > kPcpHighMax) {
    Report(why, MMLAB_LOG_WARN, "pcp: need 1 <= batch (%lu) <= high (%lu) <= %u", batch, high,
           kPcpHighMax);
    return MMLAB_EINVAL;
  }
  {
    IrqSaveGuard guard(wmark_lock_);
    for (uint32_t z = 0; z < MMLAB_NR_ZONES; z++) {
      if (zone == MMLAB_NR_ZONES || zone == z)
        zones_[z].SetPcpHighBatch(static_cast<uint32_t>(high), static_cast<uint32_t>(batch));
    }
  }
  // Lists now above their new high shrink on their own CPU.
  TrimArg arg = {this};
  mmlab_host_on_each_cpu(TrimOnThisCpu, &arg);
  return MMLAB_OK;
}

void Core::ResetPcpHighBatch(uint32_t zone) {
  {
    IrqSaveGuard guard(wmark_lock_);
    for (uint32_t z = 0; z < MMLAB_NR_ZONES; z++) {
      if (zone != MMLAB_NR_ZONES && zone != z)
        continue;
      const uint32_t batch = PcpBatchSize(zones_[z].max_pages());
      zones_[z].SetPcpHighBatch(PcpHigh(batch), batch);
    }
  }
  TrimArg arg = {this};
  mmlab_host_on_each_cpu(TrimOnThisCpu, &arg);
}

}  // namespace mmlab
