// SPDX-License-Identifier: GPL-2.0
//
// render.cc - buddyinfo and stats views.
#include "render.h"

#include "log.h"

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

}  // namespace

void RenderBuddyinfo(Core& core, mmlab_emit_fn emit, void* ctx) {
  for (uint32_t z = 0; z < core.nr_zones(); z++) {
    Zone& zone = core.zone(z);
    uint64_t nr_free[kNrOrders];
    zone.NrFree(nr_free);
    char line[kViewLineMax];
    TextBuf text(line, sizeof(line));
    // Same format as mm/vmstat.c:frag_show_print(), so parsers of
    // /proc/buddyinfo read this file unchanged.
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
      {"control_handles", core.ControlHandles()},
  };
  for (const auto& row : rows)
    out.Line("%-22s %lu\n", row.key, row.value);

  out.Line("order %10s %10s %10s\n", "allocs", "frees", "failures");
  for (uint32_t order = 0; order <= core.chunk_order(); order++) {
    OrderCounters sum;
    for (uint32_t z = 0; z < core.nr_zones(); z++)
      sum.Add(core.zone(z).OrderStats(order));
    out.Line("%5u %10lu %10lu %10lu\n", order, sum.allocs, sum.frees, sum.failures);
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
    default:
      break;
  }
  mmlab::Log(MMLAB_LOG_WARN, "render: unknown view %d", raw);
  return MMLAB_EINVAL;
}
