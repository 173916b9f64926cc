// SPDX-License-Identifier: GPL-2.0
//
// page_alloc.cc - alloc_pages: the zonelist walk, the GFP policy and the
// failure report (Linux: __alloc_pages, get_page_from_freelist,
// __alloc_pages_slowpath, gfp_to_alloc_flags, warn_alloc).
//
// How it works:
//  - The zonelist is Normal then DMA32, never upwards; __GFP_DMA32 means
//    DMA32 only. Each zone must stay above a watermark plus its lowmem
//    reserve against the preferred zone after the block is taken, or the
//    walk moves on; so a Normal request cannot drain DMA32.
//  - Fast path: the LOW watermark, no reserves. Slow path: wake kswapd,
//    then MIN, lowered by half for __GFP_HIGH and by a further quarter for
//    requests that cannot reclaim (GFP_ATOMIC), so GFP_ATOMIC may dip below
//    min and GFP_NOWAIT may not; __GFP_MEMALLOC ignores the marks.
//  - With pages borrowed on demand, "below the watermark" is also what an
//    empty zone looks like: reclaim is what borrows. A task that may sleep
//    reclaims directly (drain the per-CPU lists, shrinkers, borrow up to
//    high) and retries - once for __GFP_NORETRY, up to 16 times while
//    reclaim could still help, forever for __GFP_NOFAIL. An atomic request
//    cannot reclaim, but may borrow a chunk without sleeping (the host may
//    refuse, as GFP_NOWAIT may fail in Linux).
//  - A failure is counted per order and per gfp bit and, unless
//    __GFP_NOWARN, explained once per 5 s in the log (warn_alloc).
// GFP_NOIO and GFP_NOFS reclaim like GFP_KERNEL here: mmlab has no I/O or
// filesystem to reclaim from; the gfp reaches shrinkers, which may decline.
#include "core.h"
#include "gfp.h"
#include "log.h"
#include "page_debug.h"

namespace mmlab {

namespace {

constexpr uint32_t kMaxReclaimRetries = 16;        // MAX_RECLAIM_RETRIES
constexpr uint32_t kRetryBackoffUs = 1000;         // between reclaim retries
constexpr uint32_t kNofailBackoffMaxUs = 10000;    // __GFP_NOFAIL's longest nap
constexpr uint64_t kWarnIntervalNs = 5000000000;   // one failure report per 5 s
constexpr uint64_t kStallReportNs = 10000000000;   // a stalling __GFP_NOFAIL says so every 10 s

const char* const kZoneNames[kMaxZones] = {"DMA32", "Normal"};

// One zone of the failure report: its marks (show_free_areas' line), its
// free blocks per order, and the verdict - the test the allocator made,
// with the numbers. Out of line so its snapshot has a frame of its own.
[[gnu::noinline, gnu::cold]] void ShowZone(Zone& zone, const AllocContext& ac, uint32_t order,
                                           uint32_t alloc_flags) {
  constexpr uint64_t kKb = MMLAB_PAGE_SIZE >> 10;
  const uint64_t pcp = zone.PcpPagesRacy();
  const ZoneSnapshot s = zone.Snapshot();
  const uint64_t protection = s.lowmem_reserve[ac.highest_zoneidx];
  Log(MMLAB_LOG_WARN,
      "Node 0 %s free:%lukB min:%lukB low:%lukB high:%lukB protection:%lukB pcp:%lukB "
      "present:%lukB spanned:%lukB",
      zone.name(), s.counters.free_pages * kKb, s.wmark[kWmarkMin] * kKb,
      s.wmark[kWmarkLow] * kKb, s.wmark[kWmarkHigh] * kKb, protection * kKb, pcp * kKb,
      s.counters.host_pages * kKb, s.spanned * kKb);

  char line[kLogLineMax];
  TextBuf text(line, sizeof(line));
  text.Append("Node 0 %s:", zone.name());
  int largest = -1;
  for (uint32_t o = 0; o <= zone.max_order(); o++) {
    text.Append(" %lu*%lukB", s.nr_free[o], kKb << o);
    if (s.nr_free[o])
      largest = static_cast<int>(o);
  }
  text.Append(" = %lukB", s.counters.free_pages * kKb);
  mmlab_host_log(MMLAB_LOG_WARN, text.c_str());

  int64_t min = static_cast<int64_t>(s.wmark[kWmarkMin]);
  if (alloc_flags & kAllocMinReserve) {
    min -= min / 2;
    if (alloc_flags & kAllocNonBlock)
      min -= min / 4;
  }
  const int64_t after = static_cast<int64_t>(s.counters.free_pages) - ((int64_t{1} << order) - 1);
  text.Clear();
  text.Append("  %s: ", zone.name());
  if (s.spanned == 0)
    text.Append("empty zone (no share of the capacity)");
  else if (alloc_flags & kAllocNoWatermarks)
    text.Append("no watermark applied");
  else if (after <= min + static_cast<int64_t>(protection))
    text.Append("below the watermark: %ld free after the request <= min %ld + protection %lu",
                after, min, protection);
  else if (largest < static_cast<int>(order))
    text.Append("no free block of order %u", order);
  else
    text.Append("a block appeared after the last attempt");
  text.Append("; largest free order %d; %s", largest,
              s.reserved + (uint64_t{1} << zone.max_order()) > s.spanned
                  ? "capacity reached"
                  : GrowFailureName(s.last_grow_failure));
  mmlab_host_log(MMLAB_LOG_WARN, text.c_str());
}

}  // namespace

AllocContext Core::PrepareAllocContext(mmlab_gfp_t gfp) {
  AllocContext ac = {};
  if (gfp & MMLAB___GFP_DMA32) {
    ac.zonelist[0] = MMLAB_ZONE_DMA32;
    ac.nr_zones = 1;
    ac.highest_zoneidx = MMLAB_ZONE_DMA32;
  } else {
    ac.zonelist[0] = MMLAB_ZONE_NORMAL;
    ac.zonelist[1] = MMLAB_ZONE_DMA32;
    ac.nr_zones = 2;
    ac.highest_zoneidx = MMLAB_ZONE_NORMAL;
  }
  return ac;
}

uint32_t Core::GfpToAllocFlags(mmlab_gfp_t gfp) {
  uint32_t flags = kWmarkMin;
  if (gfp & MMLAB___GFP_HIGH)
    flags |= kAllocMinReserve;
  if (gfp & MMLAB___GFP_KSWAPD_RECLAIM)
    flags |= kAllocKswapd;
  // Cannot sleep: nothing but the reserves can help it (Linux 6.3+:
  // ALLOC_NON_BLOCK; __GFP_NOMEMALLOC opts out).
  if (!(gfp & MMLAB___GFP_DIRECT_RECLAIM) && !(gfp & MMLAB___GFP_NOMEMALLOC))
    flags |= kAllocNonBlock;
  return flags;
}

Page* Core::AllocPages(mmlab_gfp_t gfp, uint32_t order, uint16_t flags, TextBuf* why) {
  if (order > chunk_order_) {
    Report(why, MMLAB_LOG_WARN, "alloc_pages: invalid order %u (largest is %u)", order,
           chunk_order_);
    return nullptr;
  }
  if (gfp & ~MMLAB___GFP_ALL) {
    Report(why, MMLAB_LOG_WARN, "alloc_pages: unknown gfp bits 0x%x (order %u)",
           gfp & ~MMLAB___GFP_ALL, order);
    return nullptr;
  }
  // might_alloc(): a request that may reclaim may sleep, even when the
  // fast path would not have to; checked here so misuse shows every time.
  if (gfp & MMLAB___GFP_DIRECT_RECLAIM)
    mmlab_host_might_sleep();
  // fail_page_alloc (prepare_alloc_pages): counted as a failure, explained
  // by the site's own report rather than warn_alloc's.
  if (MMLAB_UNLIKELY(fault_.ShouldFailAllocPage(gfp, order))) {
    CountFailure(order, gfp);
    return nullptr;
  }

  const AllocContext ac = PrepareAllocContext(gfp);
  Page* page = GetPageFromFreelist(ac, gfp, order, kWmarkLow, flags);
  if (MMLAB_UNLIKELY(!page)) {
    page = AllocPagesSlow(ac, gfp, order, flags);
    if (!page)
      return nullptr;
  }
  mmlab_host_trace_page_alloc(PageToPfn(page), order, gfp, PageZone(page)->type());
  if (MMLAB_UNLIKELY(PageZone(page)->page_poison()))
    PagePoisonCheck(*this, PageToPfn(page), reinterpret_cast<void*>(PageAddress(page)), order,
                    PageZone(page)->name());
  if (gfp & MMLAB___GFP_ZERO)
    __builtin_memset(reinterpret_cast<void*>(PageAddress(page)), 0,
                     size_t{MMLAB_PAGE_SIZE} << order);
  return page;
}

Page* Core::GetPageFromFreelist(const AllocContext& ac, mmlab_gfp_t gfp, uint32_t order,
                                uint32_t alloc_flags, uint16_t flags) {
  for (uint32_t i = 0; i < ac.nr_zones; i++) {
    Zone& zone = zones_[ac.zonelist[i]];
    bool reserve;
    if (alloc_flags & kAllocNoWatermarks) {
      reserve = !zone.WatermarkOk(order, zone.wmark(kWmarkMin), ac.highest_zoneidx, 0);
    } else {
      const uint64_t mark = zone.wmark(alloc_flags & kAllocWmarkMask);
      if (!zone.WatermarkOk(order, mark, ac.highest_zoneidx, alloc_flags))
        continue;
      // Had the reserves not been opened, would it still have passed?
      reserve = (alloc_flags & kAllocReserves) &&
                !zone.WatermarkOk(order, mark, ac.highest_zoneidx, 0);
    }
    Page* page = zone.Rmqueue(order, gfp, flags, /*fallback=*/i > 0, reserve);
    if (page)
      return page;
  }
  return nullptr;
}

Page* Core::AllocPagesSlow(const AllocContext& ac, mmlab_gfp_t gfp, uint32_t order,
                           uint16_t flags) {
  SlowPathLog log;
  log.alloc_flags = GfpToAllocFlags(gfp);
  const uint32_t alloc_flags = log.alloc_flags;
  Page* page = nullptr;

  if (alloc_flags & kAllocKswapd)
    WakeAllKswapds(ac, order, &log);
  page = GetPageFromFreelist(ac, gfp, order, alloc_flags, flags);
  if (page)
    return page;
  if ((gfp & MMLAB___GFP_MEMALLOC) && !(gfp & MMLAB___GFP_NOMEMALLOC)) {
    log.alloc_flags |= kAllocNoWatermarks;
    page = GetPageFromFreelist(ac, gfp, order, alloc_flags | kAllocNoWatermarks, flags);
    if (page)
      return page;
  }

  if (!(gfp & MMLAB___GFP_DIRECT_RECLAIM)) {
    // Atomic requests may borrow a chunk without sleeping; the host may
    // refuse (GFP_NOWAIT borrowing), and then the request fails.
    page = AllocPagesAtomicGrow(ac, gfp, order, log.alloc_flags, flags, &log);
    if (page)
      return page;
    if ((gfp & MMLAB___GFP_NOFAIL) && !__atomic_exchange_n(&nofail_warned_, true, __ATOMIC_RELAXED))
      Log(MMLAB_LOG_WARN,
          "alloc_pages: __GFP_NOFAIL without __GFP_DIRECT_RECLAIM cannot be honoured; "
          "failing (order %u)",
          order);
  } else {
    const uint64_t start_ns = mmlab_host_now_ns();
    uint64_t next_stall_ns = start_ns + kStallReportNs;
    uint32_t nofail_backoff = kRetryBackoffUs;
    FreeRetiredIndexes();
    for (uint32_t retries = 0;; retries++) {
      DirectReclaim(ac, gfp, order, &log);
      page = GetPageFromFreelist(ac, gfp, order, log.alloc_flags, flags);
      if (page)
        return page;
      if (gfp & MMLAB___GFP_NORETRY)
        break;
      if (gfp & MMLAB___GFP_NOFAIL) {
        // Never fails: wait for someone to free memory or the host to
        // relent, saying so now and then (Linux: "page allocation stalls").
        uint64_t now = mmlab_host_now_ns();
        if (now >= next_stall_ns) {
          char gfp_text[kGfpTextMax];
          GfpDecode(gfp, gfp_text, sizeof(gfp_text));
          Log(MMLAB_LOG_WARN, "page allocation stalls for %lums, order:%u, mode:0x%x(%s)",
              (now - start_ns) / 1000000, order, gfp, gfp_text);
          next_stall_ns = now + kStallReportNs;
        }
        if (alloc_flags & kAllocKswapd)
          WakeAllKswapds(ac, order, &log);
        mmlab_host_sleep_us(nofail_backoff);
        nofail_backoff = Min(nofail_backoff * 2, kNofailBackoffMaxUs);
        continue;
      }
      if (retries >= kMaxReclaimRetries || !ShouldReclaimRetry(ac, gfp, order, log.alloc_flags))
        break;
      if (alloc_flags & kAllocKswapd)
        WakeAllKswapds(ac, order, &log);
      mmlab_host_sleep_us(kRetryBackoffUs);
    }
  }

  CountFailure(order, gfp);
  if (!(gfp & MMLAB___GFP_NOWARN))
    WarnAllocFailure(ac, gfp, order, log);
  return nullptr;
}

Page* Core::AllocPagesAtomicGrow(const AllocContext& ac, mmlab_gfp_t gfp, uint32_t order,
                                 uint32_t alloc_flags, uint16_t flags, SlowPathLog* log) {
  const uint64_t chunk_pages = uint64_t{1} << chunk_order_;
  for (uint32_t i = 0; i < ac.nr_zones; i++) {
    Zone& zone = zones_[ac.zonelist[i]];
    // Only as much as this request needs: kswapd brings the zone up to
    // high later, in a context that may sleep.
    bool grew = false;
    while (!zone.WatermarkOk(order, zone.wmark(kWmarkMin), ac.highest_zoneidx, alloc_flags) &&
           zone.Grow(/*can_sleep=*/false, GrowFor::kAllocation)) {
      log->borrowed_pages += chunk_pages;
      grew = true;
    }
    if (!grew)
      continue;
    Page* page = GetPageFromFreelist(ac, gfp, order, alloc_flags, flags);
    if (page)
      return page;
  }
  return nullptr;
}

void Core::CountFailure(uint32_t order, mmlab_gfp_t gfp) {
  uint32_t cpu = 0;
  unsigned long irq = mmlab_host_local_irq_save(&cpu);
  if (MMLAB_ASSERT(cpu < fail_stats_.nr_cpus())) {
    FailStats& stats = *fail_stats_.at(cpu);
    PerCpuAdd(stats.failures[order], 1);
    CountGfpBits(stats.gfp_failures, gfp);
  }
  mmlab_host_local_irq_restore(irq);
}

FailStats Core::FailStatsSum() const {
  FailStats sum;
  for (uint32_t cpu = 0; cpu < fail_stats_.nr_cpus(); cpu++)
    sum.AddRacy(*fail_stats_.at(cpu));
  return sum;
}

// At most one report per kWarnIntervalNs for the whole core; the reports
// skipped meanwhile are counted and announced with the next one, as the
// kernel's ratelimit does ("N callbacks suppressed").
bool Core::WarnRatelimit(uint64_t* suppressed) {
  const uint64_t now = mmlab_host_now_ns();
  uint64_t next = __atomic_load_n(&warn_next_ns_, __ATOMIC_RELAXED);
  if (now < next ||
      !__atomic_compare_exchange_n(&warn_next_ns_, &next, now + kWarnIntervalNs, false,
                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    __atomic_fetch_add(&warn_suppressed_, 1, __ATOMIC_RELAXED);
    return false;
  }
  *suppressed = __atomic_exchange_n(&warn_suppressed_, 0, __ATOMIC_RELAXED);
  return true;
}

// Linux's warn_alloc() and show_free_areas(), for the zones this request
// could use: what was asked, what reclaim and the reserves could do, and
// each zone's free pages against its marks, its free blocks per order and
// why it said no. Several lines, one report; never "BUG:" or "WARNING:".
void Core::WarnAllocFailure(const AllocContext& ac, mmlab_gfp_t gfp, uint32_t order,
                            const SlowPathLog& log) {
  uint64_t suppressed = 0;
  if (!WarnRatelimit(&suppressed))
    return;
  char gfp_text[kGfpTextMax];
  GfpDecode(gfp, gfp_text, sizeof(gfp_text));
  if (suppressed)
    Log(MMLAB_LOG_WARN, "warn_alloc: %lu callbacks suppressed", suppressed);
  Log(MMLAB_LOG_WARN, "page allocation failure: order:%u, mode:0x%x(%s)", order, gfp, gfp_text);

  char line[kLogLineMax];
  {
    TextBuf text(line, sizeof(line));
    text.Append("  zonelist:");
    for (uint32_t i = 0; i < ac.nr_zones; i++)
      text.Append(" %s", kZoneNames[ac.zonelist[i]]);
    if (gfp & MMLAB___GFP_DIRECT_RECLAIM)
      text.Append("; direct reclaim: %u pass%s%s, %lu pages borrowed, %lu reclaimed",
                  log.reclaim_passes, log.reclaim_passes == 1 ? "" : "es",
                  (gfp & MMLAB___GFP_NORETRY) ? " (__GFP_NORETRY)" : "", log.borrowed_pages,
                  log.reclaimed_pages);
    else
      text.Append("; no direct reclaim (atomic; %lu pages borrowed without sleeping)",
                  log.borrowed_pages);
    text.Append("; kswapd %s", log.kswapd_woken ? "woken" : "not woken");
    const uint32_t f = log.alloc_flags;
    text.Append("; reserves: %s",
                (f & kAllocNoWatermarks)                      ? "all (__GFP_MEMALLOC)"
                : (f & kAllocMinReserve) && (f & kAllocNonBlock) ? "min-1/2-1/4 (atomic __GFP_HIGH)"
                : (f & kAllocMinReserve)                     ? "min-1/2 (__GFP_HIGH)"
                                                             : "none");
    mmlab_host_log(MMLAB_LOG_WARN, text.c_str());
  }

  for (uint32_t i = 0; i < ac.nr_zones; i++)
    ShowZone(zones_[ac.zonelist[i]], ac, order, log.alloc_flags);
}

}  // namespace mmlab
