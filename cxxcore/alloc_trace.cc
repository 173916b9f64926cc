// SPDX-License-Identifier: GPL-2.0
//
// alloc_trace.cc - the allocation trace's per-CPU rings, their text, and
// Linux's extfrag index. See alloc_trace.h and docs/replay.md.
#include "alloc_trace.h"

#include "core.h"
#include "format.h"
#include "gfp.h"
#include "kmalloc.h"
#include "lock.h"
#include "log.h"
#include "pcp.h"
#include "slab.h"

namespace mmlab {

static_assert(kNrOrders == MMLAB_EXTFRAG_ORDERS, "extfrag covers every buddy order");

namespace {

struct TraceEvent {
  uint64_t time_ns;
  uint64_t ptr;     // object or block address (hashed when rendered)
  uint64_t cache;   // the KmemCache's address (hashed when rendered)
  uint64_t caller;  // call site (symbolised when rendered)
  uint32_t size;
  uint32_t gfp;
  uint32_t align;
  uint32_t flags;
  uint8_t op;
  uint8_t order;
  uint8_t ctor;
  uint8_t pad;
  char name[MMLAB_KMEM_CACHE_NAME_MAX];  // cache_create only
};
static_assert(sizeof(TraceEvent) == 88, "docs/replay.md: an 88-byte event");

struct TraceRing {
  SpinLock lock;
  TraceEvent* ev MMLAB_GUARDED_BY(lock) = nullptr;
  uint32_t cap MMLAB_GUARDED_BY(lock) = 0;
  uint64_t head MMLAB_GUARDED_BY(lock) = 0;  // events written since the reset
};

}  // namespace

struct AllocTrace {
  PerCpu<TraceRing> rings;
  uint32_t nr_cpus = 0;
  uint32_t events_per_cpu = 0;  // of the last trace_set(on)
  uint64_t key[2] = {};         // the ids' hash key
  uint64_t t0 = 0;              // time origin of the rendered times
};

namespace {

// splitmix64's finaliser: a bijection of 64-bit values.
constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// An address as the trace names it: keyed, so ids differ per core and boot
// and say nothing about where the object is; distinct addresses give
// distinct ids (the mix is a bijection).
uint64_t TraceId(const AllocTrace& t, uint64_t addr) {
  return Mix64(Mix64(addr ^ t.key[0]) + t.key[1]);
}

const char* const kOpNames[] = {"kmalloc",     "kfree",      "cache_create", "cache_destroy",
                                "cache_alloc", "cache_free", "alloc_pages",  "free_pages"};

void Record(Core& core, TraceEvent& ev) {
  AllocTrace* t = LoadAcquire(core.alloc_trace);
  if (!t)
    return;
  uint32_t cpu;
  unsigned long irq = mmlab_host_local_irq_save(&cpu);
  if (cpu < t->nr_cpus) {
    TraceRing* r = t->rings.at(cpu);
    IrqSaveGuard guard(r->lock);
    ev.time_ns = mmlab_host_now_ns();
    if (r->cap) {
      r->ev[r->head % r->cap] = ev;
      r->head++;
    }
  }
  mmlab_host_local_irq_restore(irq);
}

void FreeBuffer(TraceEvent* ev, uint32_t cap) {
  if (ev)
    mmlab_host_meta_free(ev, size_t{cap} * sizeof(TraceEvent));
}

// Swaps every ring's buffer for one of cap events (null, 0: none) and
// empties it.
mmlab_status ResetRings(AllocTrace* t, uint32_t cap) MMLAB_NO_THREAD_SAFETY_ANALYSIS {
  for (uint32_t cpu = 0; cpu < t->nr_cpus; cpu++) {
    TraceEvent* fresh = nullptr;
    if (cap) {
      fresh = static_cast<TraceEvent*>(mmlab_host_meta_alloc(size_t{cap} * sizeof(TraceEvent), 1));
      if (!fresh)
        return MMLAB_ENOMEM;
    }
    TraceRing* r = t->rings.at(cpu);
    TraceEvent* old;
    uint32_t old_cap;
    {
      IrqSaveGuard guard(r->lock);
      old = r->ev;
      old_cap = r->cap;
      r->ev = fresh;
      r->cap = cap;
      r->head = 0;
    }
    FreeBuffer(old, old_cap);
  }
  return MMLAB_OK;
}

AllocTrace* GetOrCreate(Core& core) {
  AllocTrace* t = LoadAcquire(core.alloc_trace);
  if (t)
    return t;
  t = MetaNew<AllocTrace>();
  if (!t)
    return nullptr;
  t->nr_cpus = mmlab_host_nr_cpu_ids();
  bool ok = t->rings.Alloc(t->nr_cpus);
  for (uint32_t cpu = 0; ok && cpu < t->nr_cpus; cpu++)
    ok = t->rings.at(cpu)->lock.Init("mmlab_trace");
  t->key[0] = Mix64(mmlab_host_now_ns() ^ reinterpret_cast<uintptr_t>(t));
  t->key[1] = Mix64(t->key[0] ^ mmlab_host_clock_ns() ^ reinterpret_cast<uintptr_t>(&core));
  AllocTrace* expected = nullptr;
  if (ok && __atomic_compare_exchange_n(&core.alloc_trace, &expected, t, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
    return t;
  // Failed, or another trace_set published its own first.
  for (uint32_t cpu = 0; t->rings.at(0) && cpu < t->nr_cpus; cpu++)
    t->rings.at(cpu)->lock.Destroy();
  t->rings.Free();
  MetaDelete(t);
  return ok ? expected : nullptr;
}

struct Snapshot {
  TraceEvent* ev = nullptr;  // the copied events of one CPU, oldest first
  uint32_t alloc = 0;        // room in ev
  uint32_t n = 0;
  uint32_t next = 0;         // merge position
  bool wrapped = false;      // the ring overwrote events
};

// Copies one ring's events, oldest first, into s (allocated here).
bool SnapshotRing(TraceRing* r, Snapshot* s) MMLAB_NO_THREAD_SAFETY_ANALYSIS {
  uint32_t want;
  {
    IrqSaveGuard guard(r->lock);
    want = static_cast<uint32_t>(Min<uint64_t>(r->head, r->cap));
  }
  if (!want)
    return true;
  s->ev = static_cast<TraceEvent*>(mmlab_host_meta_alloc(size_t{want} * sizeof(TraceEvent), 1));
  if (!s->ev)
    return false;
  s->alloc = want;
  IrqSaveGuard guard(r->lock);
  uint64_t held = Min<uint64_t>(r->head, r->cap);
  uint32_t n = static_cast<uint32_t>(Min<uint64_t>(held, want));
  // The newest n events.
  for (uint32_t i = 0; i < n; i++)
    s->ev[i] = r->ev[(r->head - n + i) % r->cap];
  s->n = n;
  s->wrapped = r->head > r->cap;
  return true;
}

void EmitEvent(const AllocTrace& t, uint32_t cpu, const TraceEvent& e, mmlab_emit_fn emit,
               void* ctx) {
  char line[MMLAB_REPLAY_MAX_LINE];
  TextBuf out(line, sizeof(line));
  const uint64_t time = e.time_ns >= t.t0 ? e.time_ns - t.t0 : 0;
  const TraceOp op = static_cast<TraceOp>(e.op);
  out.Append("%u %lu %s", cpu, time, kOpNames[e.op]);
  if (op == TraceOp::kCacheCreate || op == TraceOp::kCacheDestroy || op == TraceOp::kCacheAlloc ||
      op == TraceOp::kCacheFree)
    out.Append(" cache=%016lx", TraceId(t, e.cache));
  if (op == TraceOp::kCacheCreate) {
    char name[MMLAB_KMEM_CACHE_NAME_MAX];
    size_t i = 0;
    for (; i + 1 < sizeof(name) && e.name[i]; i++) {
      const char c = e.name[i];
      name[i] = (c <= ' ' || c == '=' || c > '~') ? '_' : c;
    }
    name[i] = '\0';
    out.Append(" name=%s size=%u align=%u flags=0x%x ctor=%u", name, e.size, e.align, e.flags,
               e.ctor);
  }
  if (op != TraceOp::kCacheCreate && op != TraceOp::kCacheDestroy)
    out.Append(" id=%016lx", TraceId(t, e.ptr));
  if (op == TraceOp::kKmalloc || op == TraceOp::kCacheAlloc)
    out.Append(" size=%u", e.size);
  if (op == TraceOp::kAllocPages || op == TraceOp::kFreePages)
    out.Append(" order=%u", e.order);
  if (op == TraceOp::kKmalloc || op == TraceOp::kCacheAlloc || op == TraceOp::kAllocPages) {
    char gfp[kGfpTextMax];
    GfpDecode(e.gfp, gfp, sizeof(gfp));
    out.Append(" gfp=%s", gfp);
  }
  if (op != TraceOp::kCacheCreate && op != TraceOp::kCacheDestroy) {
    char sym[128] = "-";
    if (e.caller) {
      mmlab_host_format_symbol(e.caller, sym, sizeof(sym));
      // "%pS" may end in " [module]": one token, so cut at the space.
      for (char* p = sym; *p; p++)
        if (*p <= ' ' || *p == '=') {
          *p = '\0';
          break;
        }
      if (!sym[0])
        sym[0] = '-', sym[1] = '\0';
    }
    out.Append(" caller=%s", sym);
  }
  out.Append("\n");
  emit(ctx, out.c_str(), out.len());
}

}  // namespace

void TraceObject(Core& core, TraceOp op, const void* obj, const KmemCache* s, size_t size,
                 mmlab_gfp_t gfp, uintptr_t caller) {
  if (!obj || obj == MMLAB_ZERO_SIZE_PTR)
    return;  // failures and kmalloc(0) are not recorded
  TraceEvent ev = {};
  ev.op = static_cast<uint8_t>(op);
  ev.ptr = reinterpret_cast<uintptr_t>(obj);
  ev.cache = reinterpret_cast<uintptr_t>(s);
  ev.size = static_cast<uint32_t>(Min<size_t>(size, 0xffffffffu));
  ev.gfp = gfp;
  ev.caller = caller;
  Record(core, ev);
}

void TracePages(Core& core, TraceOp op, uintptr_t addr, uint32_t order, mmlab_gfp_t gfp,
                uintptr_t caller) {
  if (!addr)
    return;
  TraceEvent ev = {};
  ev.op = static_cast<uint8_t>(op);
  ev.ptr = addr;
  ev.order = static_cast<uint8_t>(order);
  ev.gfp = gfp;
  ev.caller = caller;
  Record(core, ev);
}

void TraceCache(Core& core, TraceOp op, const KmemCache* s, const char* name, uint32_t size,
                uint32_t align, uint32_t flags, bool ctor) {
  if (!s)
    return;
  TraceEvent ev = {};
  ev.op = static_cast<uint8_t>(op);
  ev.cache = reinterpret_cast<uintptr_t>(s);
  ev.size = size;
  ev.align = align;
  ev.flags = flags;
  ev.ctor = ctor ? 1 : 0;
  for (size_t i = 0; name && i + 1 < sizeof(ev.name) && name[i]; i++)
    ev.name[i] = name[i];
  Record(core, ev);
}

void AllocTraceDestroy(Core& core) {
  AllocTrace* t = core.alloc_trace;
  if (!t)
    return;
  core.alloc_trace = nullptr;
  core.trace_on_flag = false;
  ResetRings(t, 0);
  for (uint32_t cpu = 0; cpu < t->nr_cpus; cpu++)
    t->rings.at(cpu)->lock.Destroy();
  t->rings.Free();
  MetaDelete(t);
}

// mm/vmstat.c (v6.1): fill_contig_page_info() and __fragmentation_index().
void ExtfragIndex(const uint64_t (&nr_free)[MMLAB_EXTFRAG_ORDERS],
                  int32_t (&out)[MMLAB_EXTFRAG_ORDERS]) {
  for (uint32_t suitable_order = 0; suitable_order < MMLAB_EXTFRAG_ORDERS; suitable_order++) {
    uint64_t free_pages = 0, free_blocks_total = 0, free_blocks_suitable = 0;
    for (uint32_t order = 0; order < MMLAB_EXTFRAG_ORDERS; order++) {
      const uint64_t blocks = nr_free[order];
      free_blocks_total += blocks;
      free_pages += blocks << order;
      if (order >= suitable_order)
        free_blocks_suitable += blocks << (order - suitable_order);
    }
    const uint64_t requested = uint64_t{1} << suitable_order;
    if (!free_blocks_total)
      out[suitable_order] = 0;
    else if (free_blocks_suitable)
      out[suitable_order] = -1000;  // a request of this order would succeed
    else
      out[suitable_order] = static_cast<int32_t>(
          1000 - (1000 + free_pages * 1000 / requested) / free_blocks_total);
  }
}

void FormatExtfrag(int32_t index, char* buf, size_t cap) {
  TextBuf out(buf, cap);
  // extfrag_show_print: "%2d.%03d " of index / 1000 and index % 1000.
  int32_t frac = index % 1000;
  out.Append("%d.%03d", index / 1000, frac < 0 ? -frac : frac);
}

}  // namespace mmlab

using mmlab::AllocTrace;
using mmlab::Core;

extern "C" {

enum mmlab_status mmlab_core_trace_set(struct mmlab_core* core, int on, uint32_t events_per_cpu) {
  if (!MMLAB_ASSERT(core))
    return MMLAB_EINVAL;
  Core& c = *Core::From(core);
  if (!on) {
    mmlab::WriteOnce(c.trace_on_flag, false);
    return MMLAB_OK;
  }
  if (!events_per_cpu)
    events_per_cpu = MMLAB_TRACE_EVENTS_DEFAULT;
  if (events_per_cpu < MMLAB_TRACE_EVENTS_MIN || events_per_cpu > MMLAB_TRACE_EVENTS_MAX) {
    mmlab::Report(nullptr, MMLAB_LOG_WARN,
                  "trace: %u events per CPU is out of range %u..%u", events_per_cpu,
                  MMLAB_TRACE_EVENTS_MIN, MMLAB_TRACE_EVENTS_MAX);
    return MMLAB_EINVAL;
  }
  mmlab_host_might_sleep();
  AllocTrace* t = mmlab::GetOrCreate(c);
  if (!t)
    return MMLAB_ENOMEM;
  mmlab::WriteOnce(c.trace_on_flag, false);
  mmlab_status st = mmlab::ResetRings(t, events_per_cpu);
  if (st != MMLAB_OK) {
    mmlab::ResetRings(t, 0);  // no half-sized set of rings; recording stays off
    t->events_per_cpu = 0;
    return st;
  }
  t->events_per_cpu = events_per_cpu;
  t->t0 = mmlab_host_now_ns();
  mmlab::StoreRelease(c.trace_on_flag, true);
  return MMLAB_OK;
}

void mmlab_core_trace_clear(struct mmlab_core* core) MMLAB_NO_THREAD_SAFETY_ANALYSIS {
  if (!MMLAB_ASSERT(core))
    return;
  AllocTrace* t = mmlab::LoadAcquire(Core::From(core)->alloc_trace);
  if (!t)
    return;
  for (uint32_t cpu = 0; cpu < t->nr_cpus; cpu++) {
    mmlab::TraceRing* r = t->rings.at(cpu);
    mmlab::IrqSaveGuard guard(r->lock);
    r->head = 0;
  }
  t->t0 = mmlab_host_now_ns();
}

int mmlab_core_trace_on(struct mmlab_core* core) {
  if (!MMLAB_ASSERT(core))
    return 0;
  return Core::From(core)->trace_on() ? 1 : 0;
}

void mmlab_core_trace_counters(struct mmlab_core* core,
                               struct mmlab_trace_counters* out) MMLAB_NO_THREAD_SAFETY_ANALYSIS {
  if (!MMLAB_ASSERT(core && out))
    return;
  *out = {};
  Core& c = *Core::From(core);
  out->on = c.trace_on() ? 1 : 0;
  out->nr_cpus = mmlab_host_nr_cpu_ids();
  AllocTrace* t = mmlab::LoadAcquire(c.alloc_trace);
  if (!t)
    return;
  out->events_per_cpu = t->events_per_cpu;
  for (uint32_t cpu = 0; cpu < t->nr_cpus; cpu++) {
    mmlab::TraceRing* r = t->rings.at(cpu);
    mmlab::IrqSaveGuard guard(r->lock);
    out->recorded += r->head;
    if (r->head > r->cap)
      out->overwritten += r->head - r->cap;
    out->held += mmlab::Min<uint64_t>(r->head, r->cap);
  }
}

enum mmlab_status mmlab_core_render_trace(struct mmlab_core* core, mmlab_emit_fn emit, void* ctx) {
  if (!MMLAB_ASSERT(core && emit))
    return MMLAB_EINVAL;
  Core& c = *Core::From(core);
  struct mmlab_trace_counters cnt;
  mmlab_core_trace_counters(core, &cnt);
  AllocTrace* t = mmlab::LoadAcquire(c.alloc_trace);
  const uint32_t nr = t ? t->nr_cpus : 0;
  mmlab::Snapshot* snap = nullptr;
  mmlab_status st = MMLAB_OK;
  if (nr) {
    snap = static_cast<mmlab::Snapshot*>(
        mmlab_host_meta_alloc(size_t{nr} * sizeof(mmlab::Snapshot), 1));
    if (!snap)
      return MMLAB_ENOMEM;
    for (uint32_t cpu = 0; cpu < nr; cpu++) {
      snap[cpu] = mmlab::Snapshot();
      if (!mmlab::SnapshotRing(t->rings.at(cpu), &snap[cpu]))
        st = MMLAB_ENOMEM;
    }
  }
  if (st == MMLAB_OK) {
    // A ring that overwrote events lost everything before its oldest kept
    // one: leave out the other CPUs' events before that too.
    uint64_t cut = 0;
    for (uint32_t cpu = 0; cpu < nr; cpu++)
      if (snap[cpu].wrapped && snap[cpu].n)
        cut = mmlab::Max(cut, snap[cpu].ev[0].time_ns);
    uint64_t left_out = 0;
    for (uint32_t cpu = 0; cpu < nr; cpu++)
      while (snap[cpu].next < snap[cpu].n && snap[cpu].ev[snap[cpu].next].time_ns < cut) {
        snap[cpu].next++;
        left_out++;
      }
    mmlab::EmitLine(emit, ctx, "# mmlab-trace v1\n");
    mmlab::EmitLine(emit, ctx,
                    "# recorded %lu overwritten %lu held %lu left_out %lu cpus %u "
                    "events_per_cpu %u on %u\n",
                    cnt.recorded, cnt.overwritten, cnt.held, left_out, cnt.nr_cpus,
                    cnt.events_per_cpu, cnt.on);
    mmlab::EmitLine(emit, ctx, "# cpu time_ns op key=value...\n");
    for (;;) {
      uint32_t best = nr;
      for (uint32_t cpu = 0; cpu < nr; cpu++) {
        const mmlab::Snapshot& s = snap[cpu];
        if (s.next < s.n &&
            (best == nr || s.ev[s.next].time_ns < snap[best].ev[snap[best].next].time_ns))
          best = cpu;
      }
      if (best == nr)
        break;
      mmlab::EmitEvent(*t, best, snap[best].ev[snap[best].next++], emit, ctx);
    }
  }
  for (uint32_t cpu = 0; cpu < nr; cpu++)
    mmlab::FreeBuffer(snap[cpu].ev, snap[cpu].alloc);
  if (snap)
    mmlab_host_meta_free(snap, size_t{nr} * sizeof(mmlab::Snapshot));
  return st;
}

void mmlab_extfrag_index(const uint64_t nr_free[MMLAB_EXTFRAG_ORDERS],
                         int32_t out[MMLAB_EXTFRAG_ORDERS]) {
  if (!MMLAB_ASSERT(nr_free && out))
    return;
  uint64_t in[MMLAB_EXTFRAG_ORDERS];
  int32_t res[MMLAB_EXTFRAG_ORDERS];
  for (uint32_t i = 0; i < MMLAB_EXTFRAG_ORDERS; i++)
    in[i] = nr_free[i];
  mmlab::ExtfragIndex(in, res);
  for (uint32_t i = 0; i < MMLAB_EXTFRAG_ORDERS; i++)
    out[i] = res[i];
}

enum mmlab_status mmlab_core_extfrag_index(struct mmlab_core* core, uint32_t zone,
                                           int32_t out[MMLAB_EXTFRAG_ORDERS]) {
  if (!MMLAB_ASSERT(core && out))
    return MMLAB_EINVAL;
  if (zone > MMLAB_NR_ZONES)
    return MMLAB_EINVAL;
  Core& c = *Core::From(core);
  uint64_t sum[MMLAB_EXTFRAG_ORDERS] = {};
  for (uint32_t z = 0; z < MMLAB_NR_ZONES; z++) {
    if (zone != MMLAB_NR_ZONES && z != zone)
      continue;
    uint64_t nr_free[mmlab::kNrOrders];
    c.zone(z).NrFree(nr_free);
    for (uint32_t o = 0; o < MMLAB_EXTFRAG_ORDERS; o++)
      sum[o] += nr_free[o];
  }
  mmlab_extfrag_index(sum, out);
  return MMLAB_OK;
}

void mmlab_core_render_extfrag(struct mmlab_core* core, mmlab_emit_fn emit, void* ctx) {
  if (!MMLAB_ASSERT(core && emit))
    return;
  Core& c = *Core::From(core);
  for (uint32_t z = 0; z < MMLAB_NR_ZONES; z++) {
    if (!c.zone(z).max_pages())
      continue;
    int32_t idx[MMLAB_EXTFRAG_ORDERS];
    mmlab_core_extfrag_index(core, z, idx);
    char line[256];
    mmlab::TextBuf out(line, sizeof(line));
    out.Append("Node 0, zone %8s ", c.zone(z).name());
    // The core's MAX_ORDER is chunk_order + 1: larger blocks cannot exist.
    for (uint32_t o = 0; o <= c.chunk_order(); o++) {
      // "%2d.%03d " as extfrag_show_print.
      int32_t frac = idx[o] % 1000;
      out.Append("%2d.%03d ", idx[o] / 1000, frac < 0 ? -frac : frac);
    }
    out.Append("\n");
    emit(ctx, out.c_str(), out.len());
  }
}

}  // extern "C"
