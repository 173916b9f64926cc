// SPDX-License-Identifier: GPL-2.0
//
// render.cc - buddyinfo, stats and zoneinfo views.
#include "render.h"

#include "gfp.h"
#include "log.h"
#include "subsys.h"

namespace mmlab {

namespace {

// Longest view line: buddyinfo with 11 orders is 98 bytes.
constexpr size_t kViewLineMax = 128;

class LineSink {
 public:
  LineSink(mmlab_emit_fn emit, void* ctx) : emit_(emit), ctx_(ctx) {}
  MMLAB_NO_COPY(LineSink);

  void Line(const char* fmt, ...) MMLAB_PRINTF(2, 3) {
    char line[kViewLineMax];
    TextBuf text(line, sizeof(line));
    __builtin_va_list args;
    __builtin_va_start(args, fmt);
    text.VAppend(fmt, args);
    __builtin_va_end(args);
    emit_(ctx_, text.c_str(), text.len());
  }

 private:
  mmlab_emit_fn emit_;
  void* ctx_;
};

// A zone's pages split as mmlab_core_counters splits the core's: the lists
// are read first, so per-CPU pages never exceed what is out of the buddy.
struct ZonePages {
  ZoneSnapshot s;
  uint64_t pcp;
  uint64_t used;
};

ZonePages ReadZonePages(Zone& zone) {
  ZonePages p;
  uint64_t pcp = zone.PcpPagesRacy();
  p.s = zone.Snapshot();
  uint64_t out = p.s.counters.host_pages - p.s.counters.free_pages;
  p.pcp = Min(pcp, out);
  p.used = out - p.pcp;
  return p;
}

// The tables are separate functions so that their counter snapshots never
// share one stack frame.
[[gnu::noinline]] void RenderOrderTable(Core& core, LineSink& out) {
  PcpStats all;
  for (uint32_t z = 0; z < core.nr_zones(); z++)
    all.AddRacy(core.zone(z).PcpStatsSum());
  const FailStats fail = core.FailStatsSum();
  out.Line("order %10s %10s %10s\n", "allocs", "frees", "failures");
  for (uint32_t order = 0; order <= core.chunk_order(); order++)
    out.Line("%5u %10lu %10lu %10lu\n", order, all.allocs[order], all.frees[order],
             fail.failures[order]);
}

[[gnu::noinline]] void RenderZoneTable(Core& core, LineSink& out) {
  out.Line("%-6s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n", "zone", "free", "min", "low", "high",
           "fallback", "reserve", "reclaim", "kswapd", "pcp");
  for (uint32_t z = 0; z < core.nr_zones(); z++) {
    Zone& zone = core.zone(z);
    uint64_t fallback, reserve;
    zone.PcpAllocEvents(&fallback, &reserve);
    const ZonePages p = ReadZonePages(zone);
    out.Line("%-6s %8lu %8lu %8lu %8lu %8lu %8lu %8lu %8lu %8lu\n", zone.name(),
             p.s.counters.free_pages, p.s.wmark[kWmarkMin], p.s.wmark[kWmarkLow],
             p.s.wmark[kWmarkHigh], fallback, reserve, p.s.counters.reclaim_passes,
             p.s.counters.kswapd_wakeups, p.pcp);
  }
}

[[gnu::noinline]] void RenderFlagTable(Core& core, LineSink& out) {
  PcpStats all;
  for (uint32_t z = 0; z < core.nr_zones(); z++)
    all.AddRacy(core.zone(z).PcpStatsSum());
  const FailStats fail = core.FailStatsSum();
  out.Line("%-22s %10s %10s\n", "flag", "allocs", "failures");
  for (uint32_t bit = 0; bit < kGfpBits; bit++)
    out.Line("%-22s %10lu %10lu\n", GfpBitName(bit), all.gfp_allocs[bit], fail.gfp_failures[bit]);
}

}  // namespace

void RenderBuddyinfo(Core& core, mmlab_emit_fn emit, void* ctx) {
  for (uint32_t z = 0; z < core.nr_zones(); z++) {
    Zone& zone = core.zone(z);
    uint64_t nr_free[kNrOrders];
    zone.NrFree(nr_free);
    char line[kViewLineMax];
    TextBuf text(line, sizeof(line));
    // Same format as mm/vmstat.c:frag_show_print(), so parsers of
    // /proc/buddyinfo read this file unchanged. Unlike Linux, a zone is
    // listed before it has borrowed anything: it spans its capacity share.
    text.Append("Node %d, zone %8s ", 0, zone.name());
    for (uint32_t order = 0; order <= zone.max_order(); order++)
      text.Append("%6lu ", static_cast<unsigned long>(nr_free[order]));
    text.Append("\n");
    emit(ctx, text.c_str(), text.len());
  }
}

void RenderStats(Core& core, mmlab_emit_fn emit, void* ctx) {
  LineSink out(emit, ctx);
  struct mmlab_core_counters c;
  core.Counters(&c);
  const struct {
    const char* key;
    uint64_t value;
  } rows[] = {
      {"chunk_order", core.chunk_order()},
      {"capacity_pages", c.capacity_pages},
      {"host_chunks", c.host_chunks},
      {"host_pages", c.host_pages},
      {"host_chunks_borrowed", c.host_chunks_borrowed},
      {"host_chunks_returned", c.host_chunks_returned},
      {"free_pages", c.free_pages},
      {"used_pages", c.used_pages},
      {"pcp_pages", c.pcp_pages},
      {"control_handles", core.ControlHandles()},
      {"pressure_pages", core.PressurePages()},
      {"min_free_kbytes", core.min_free_kbytes()},
      {"kswapd_runs", core.kswapd_runs()},
  };
  for (const auto& row : rows)
    out.Line("%-22s %lu\n", row.key, row.value);
  RenderSlabStats(core, emit, ctx);
  RenderVmallocStats(core, emit, ctx);
  RenderRegionStats(core, emit, ctx);
  RenderMempoolStats(core, emit, ctx);

  RenderOrderTable(core, out);
  RenderZoneTable(core, out);
  RenderFlagTable(core, out);
}

// mm/vmstat.c:zoneinfo_show_print(), with mmlab's numbers: "spanned" is the
// zone's share of the capacity, "present" and "managed" what it has
// borrowed now, "protection" its lowmem reserve against each zone.
void RenderZoneinfo(Core& core, mmlab_emit_fn emit, void* ctx) {
  LineSink out(emit, ctx);
  for (uint32_t z = 0; z < core.nr_zones(); z++) {
    Zone& zone = core.zone(z);
    const ZonePages p = ReadZonePages(zone);
    const ZoneSnapshot& s = p.s;
    uint64_t fallback, reserve;
    zone.PcpAllocEvents(&fallback, &reserve);
    out.Line("Node %d, zone %8s\n", 0, zone.name());
    out.Line("  pages free     %lu\n", s.counters.free_pages);
    out.Line("        min      %lu\n", s.wmark[kWmarkMin]);
    out.Line("        low      %lu\n", s.wmark[kWmarkLow]);
    out.Line("        high     %lu\n", s.wmark[kWmarkHigh]);
    out.Line("        spanned  %lu\n", s.spanned);
    out.Line("        present  %lu\n", s.counters.host_pages);
    out.Line("        managed  %lu\n", s.counters.host_pages);
    char line[kViewLineMax];
    TextBuf text(line, sizeof(line));
    text.Append("        protection: (%lu", s.lowmem_reserve[0]);
    for (uint32_t i = 1; i < kMaxZones; i++)
      text.Append(", %lu", s.lowmem_reserve[i]);
    text.Append(")\n");
    emit(ctx, text.c_str(), text.len());
    const struct {
      const char* name;
      uint64_t value;
    } items[] = {
        {"nr_free_pages", s.counters.free_pages},
        {"nr_used_pages", p.used},
        {"nr_pcp_pages", p.pcp},
        {"nr_host_chunks", s.counters.host_chunks},
        {"nr_alloc_fallback", fallback},
        {"nr_alloc_reserve", reserve},
        {"nr_reclaim_passes", s.counters.reclaim_passes},
        {"nr_direct_borrowed", s.counters.direct_borrowed},
        {"nr_kswapd_wakeups", s.counters.kswapd_wakeups},
        {"nr_kswapd_borrowed", s.counters.kswapd_borrowed},
        {"nr_kswapd_reclaimed", s.counters.kswapd_reclaimed},
        {"nr_pcp_drained", s.counters.pcp_drained},
    };
    for (const auto& item : items)
      out.Line("      %-12s %lu\n", item.name, item.value);
    out.Line("  pagesets\n");
    for (uint32_t cpu = 0; cpu < zone.nr_cpus(); cpu++) {
      uint32_t count, high, batch;
      zone.PcpInfo(cpu, &count, &high, &batch);
      out.Line("    cpu: %u\n", cpu);
      out.Line("              count: %u\n", count);
      out.Line("              high:  %u\n", high);
      out.Line("              batch: %u\n", batch);
    }
    out.Line("  node_unreclaimable:  %u\n", s.kswapd_failed ? 1u : 0u);
    out.Line("  start_pfn:           %lu\n", s.start_pfn);
  }
}

}  // namespace mmlab

extern "C" enum mmlab_status mmlab_core_render(struct mmlab_core* core, enum mmlab_view view,
                                               mmlab_emit_fn emit, void* ctx) {
  if (!MMLAB_ASSERT(core) || !emit)
    return MMLAB_EINVAL;
  mmlab::Core& c = *mmlab::Core::From(core);
  // C callers may pass any int; in C++ a value outside the enumerators'
  // range is undefined, so read the raw representation instead.
  static_assert(sizeof(view) == sizeof(int), "C enums are ints");
  int raw;
  __builtin_memcpy(&raw, &view, sizeof(raw));
  switch (raw) {
    case MMLAB_VIEW_BUDDYINFO:
      mmlab::RenderBuddyinfo(c, emit, ctx);
      return MMLAB_OK;
    case MMLAB_VIEW_STATS:
      mmlab::RenderStats(c, emit, ctx);
      return MMLAB_OK;
    case MMLAB_VIEW_ZONEINFO:
      mmlab::RenderZoneinfo(c, emit, ctx);
      return MMLAB_OK;
    case MMLAB_VIEW_SLABINFO:
      mmlab::RenderSlabinfo(c, emit, ctx);
      return MMLAB_OK;
    case MMLAB_VIEW_MEMPOOLS:
      mmlab::RenderMempools(c, emit, ctx);
      return MMLAB_OK;
    case MMLAB_VIEW_VMALLOCINFO:
      mmlab::RenderVmallocinfo(c, emit, ctx);
      return MMLAB_OK;
    default:
      break;
  }
  mmlab::Log(MMLAB_LOG_WARN, "render: unknown view %d", raw);
  return MMLAB_EINVAL;
}
