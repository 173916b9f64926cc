// SPDX-License-Identifier: GPL-2.0
//
// reclaim.cc - making room: direct reclaim, kswapd, draining the per-CPU
// lists (Linux: __alloc_pages_direct_reclaim, should_reclaim_retry,
// wakeup_kswapd, balance_pgdat, drain_all_pages).
//
// How it works:
//  - Room comes from three places here: a zone below its high watermark
//    borrows more chunks from the host within its share of the capacity
//    (capacity not borrowed yet is free memory not fetched yet, so this
//    comes first); then registered shrinkers free what their caches hold
//    and per-CPU lists go back to the buddy (drain_all_pages, through
//    on_each_cpu) - real reclaim, for when the capacity or the host is
//    exhausted.
//  - Direct reclaim runs in an allocating task that may sleep. One pass
//    borrows along the zonelist until one zone is above high (plus its
//    lowmem reserve) for the request's order, or else shrinks and drains.
//  - A slow-path request that finds zones below LOW wakes kswapd, recording
//    the order and the preferred zone. A kswapd run does what direct
//    reclaim does, for that zonelist, until any zone of it is balanced
//    (Linux: pgdat_balanced). A zone it cannot balance - capacity reached,
//    host refusing - is logged once and no longer wakes kswapd until
//    memory comes back to it (node_unreclaimable).
//  - A failed pass is retried only while free, per-CPU, borrowable and
//    shrinkable pages together could meet the min watermark and a block of
//    the order could exist: no pointless retries at full capacity.
#include "core.h"
#include "log.h"
#include "slab.h"

namespace mmlab {

namespace {

// kswapd_classzone_: 0 nothing asked, else highest_zoneidx + 1.
constexpr uint32_t kNoClasszone = 0;

void AtomicMax(uint32_t* p, uint32_t v) {
  uint32_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (cur < v &&
         !__atomic_compare_exchange_n(p, &cur, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

struct DrainArg {
  Core* core;
  uint64_t drained;
};

// Runs on each CPU with interrupts off (on_each_cpu), possibly on several
// at once: the total is added atomically.
void DrainThisCpu(void* p) {
  DrainArg* arg = static_cast<DrainArg*>(p);
  uint32_t cpu = 0;
  unsigned long irq = mmlab_host_local_irq_save(&cpu);
  uint64_t drained = 0;
  for (uint32_t z = 0; z < arg->core->nr_zones(); z++)
    drained += arg->core->zone(z).DrainPcp(cpu);
  mmlab_host_local_irq_restore(irq);
  __atomic_fetch_add(&arg->drained, drained, __ATOMIC_RELAXED);
}

}  // namespace

uint64_t Core::DrainAllPages() {
  DrainArg arg = {this, 0};
  mmlab_host_on_each_cpu(DrainThisCpu, &arg);
  return __atomic_load_n(&arg.drained, __ATOMIC_RELAXED);
}

void Core::CpuDead(uint32_t cpu) {
  if (cpu >= nr_cpus_) {
    Log(MMLAB_LOG_WARN, "cpu_dead: cpu %u out of range 0..%u", cpu, nr_cpus_ - 1);
    return;
  }
  // The CPU is gone, so nothing races with us on its lists.
  // Its slab caches' CPU slabs first (their freed slabs land on its lists).
  if (slab_)
    SlabCpuDead(*slab_, cpu);
  for (Zone& zone : zones_)
    zone.DrainPcp(cpu);
}

void Core::FreeRetiredIndexes() {
  for (Zone& zone : zones_)
    zone.FreeRetiredIndexes();
}

void Core::WakeAllKswapds(const AllocContext& ac, uint32_t order, SlowPathLog* log) {
  bool wake = false;
  for (uint32_t i = 0; i < ac.nr_zones; i++) {
    Zone& zone = zones_[ac.zonelist[i]];
    // A zone kswapd gave up on waits for memory to come back first.
    if (zone.max_pages() == 0 || zone.kswapd_failed())
      continue;
    if (!zone.WatermarkOk(order, zone.wmark(kWmarkLow), ac.highest_zoneidx, 0)) {
      zone.CountKswapdWakeup();
      wake = true;
    }
  }
  if (!wake)
    return;
  AtomicMax(&kswapd_order_, order);
  AtomicMax(&kswapd_highest_zoneidx_, ac.highest_zoneidx + 1);
  mmlab_host_kswapd_wake();
  log->kswapd_woken = true;
}

void Core::WakeKswapdByHand() {
  for (Zone& zone : zones_)
    zone.SetKswapdFailed(false);
  AtomicMax(&kswapd_highest_zoneidx_, MMLAB_ZONE_NORMAL + 1);
  mmlab_host_kswapd_wake();
}

void Core::DirectReclaim(const AllocContext& ac, mmlab_gfp_t gfp, uint32_t order,
                         SlowPathLog* log) {
  const uint64_t chunk_pages = uint64_t{1} << chunk_order_;
  log->reclaim_passes++;
  auto balanced = [&](Zone& zone) {
    return zone.WatermarkOk(order, zone.wmark(kWmarkHigh), ac.highest_zoneidx, 0);
  };
  // Capacity not borrowed yet is free memory not fetched yet: use it first,
  // zone by zone along the zonelist, until one zone is above high.
  for (uint32_t i = 0; i < ac.nr_zones; i++) {
    Zone& zone = zones_[ac.zonelist[i]];
    if (zone.max_pages() == 0)
      continue;  // no share of the capacity: nothing to reclaim or borrow
    zone.CountReclaimPass();
    while (!balanced(zone) && zone.Grow(/*can_sleep=*/true, GrowFor::kAllocation))
      log->borrowed_pages += chunk_pages;
    if (balanced(zone))
      return;  // this zone can serve the request; leave the lower ones alone
  }
  // The capacity (or the host) is exhausted: take back what is ours -
  // whatever the caches can spare, then the per-CPU lists (where the pages
  // the caches just freed went, too).
  log->reclaimed_pages += shrinkers_.Shrink(gfp, Max(kShrinkBatch, uint64_t{1} << order));
  log->reclaimed_pages += DrainAllPages();
}

bool Core::ShouldReclaimRetry(const AllocContext& ac, mmlab_gfp_t gfp, uint32_t order,
                              uint32_t alloc_flags) {
  const uint64_t chunk_pages = uint64_t{1} << chunk_order_;
  const uint64_t shrinkable = shrinkers_.Count(gfp);
  for (uint32_t i = 0; i < ac.nr_zones; i++) {
    Zone& zone = zones_[ac.zonelist[i]];
    const uint64_t borrowable = zone.BorrowablePages();
    const uint64_t available = zone.free_pages() + zone.PcpPagesRacy() + borrowable + shrinkable;
    if (!zone.WatermarkOk(order, zone.wmark(kWmarkMin), ac.highest_zoneidx, alloc_flags,
                          static_cast<int64_t>(available), /*need_block=*/false))
      continue;
    // A block of the order must be possible too: a new chunk brings one.
    if (order == 0 || borrowable >= chunk_pages || zone.HasFreeBlock(order))
      return true;
  }
  return false;
}

void Core::Kswapd() {
  mmlab_host_might_sleep();
  __atomic_fetch_add(&kswapd_runs_, 1, __ATOMIC_RELAXED);
  const uint32_t order = __atomic_exchange_n(&kswapd_order_, 0u, __ATOMIC_RELAXED);
  const uint32_t classzone = __atomic_exchange_n(&kswapd_highest_zoneidx_, kNoClasszone,
                                                 __ATOMIC_RELAXED);
  if (classzone == kNoClasszone) {
    FreeRetiredIndexes();
    return;  // a spurious wake-up
  }
  const AllocContext ac =
      PrepareAllocContext(classzone - 1 == MMLAB_ZONE_DMA32 ? MMLAB___GFP_DMA32 : 0);
  auto balanced = [&](Zone& zone) {
    return zone.max_pages() > 0 &&
           zone.WatermarkOk(order, zone.wmark(kWmarkHigh), ac.highest_zoneidx, 0);
  };
  auto any_balanced = [&] {
    for (uint32_t i = 0; i < ac.nr_zones; i++) {
      if (balanced(zones_[ac.zonelist[i]]))
        return true;
    }
    return false;
  };

  if (!any_balanced()) {
    // Borrow first, along the zonelist, until one zone is balanced.
    bool ok = false;
    for (uint32_t i = 0; i < ac.nr_zones && !ok; i++) {
      Zone& zone = zones_[ac.zonelist[i]];
      while (!balanced(zone) && zone.Grow(/*can_sleep=*/true, GrowFor::kKswapd)) {
      }
      ok = balanced(zone);
    }
    if (!ok) {
      // Then what is already ours: caches, then per-CPU lists.
      uint64_t before[kMaxZones];
      for (uint32_t z = 0; z < kMaxZones; z++)
        before[z] = zones_[z].free_pages();
      shrinkers_.Shrink(MMLAB_GFP_KERNEL, kShrinkBatch);
      DrainAllPages();
      for (uint32_t z = 0; z < kMaxZones; z++) {
        uint64_t after = zones_[z].free_pages();
        if (after > before[z])
          zones_[z].CountKswapdReclaimed(after - before[z]);
      }
      ok = any_balanced();
    }
    if (!ok) {
      for (uint32_t i = 0; i < ac.nr_zones; i++) {
        Zone& zone = zones_[ac.zonelist[i]];
        if (zone.max_pages() == 0 || zone.SetKswapdFailed(true))
          continue;
        const ZoneSnapshot s = zone.Snapshot();
        Log(MMLAB_LOG_INFO,
            "kswapd: zone %s stays below high (%lu free, high %lu, protection %lu, %lu/%lu pages "
            "borrowed): %s; giving up until memory comes back",
            zone.name(), s.counters.free_pages, s.wmark[kWmarkHigh],
            s.lowmem_reserve[ac.highest_zoneidx], s.counters.host_pages, s.spanned,
            s.reserved + (uint64_t{1} << chunk_order_) > s.spanned
                ? "capacity reached"
                : GrowFailureName(s.last_grow_failure));
      }
    }
  }
  FreeRetiredIndexes();
}

}  // namespace mmlab
