// SPDX-License-Identifier: GPL-2.0
//
// slub.cc - the SLUB policy (mm/slub.c without debugging): per-CPU slabs
// and freelists on the fast path, per-zone partial lists on the slow path.
//
// How it works:
//  - Each CPU has a kmem_cache_cpu: `slab`, the slab it allocates from
//    ("frozen": no node list holds it, frozen = cpu + 1), and `freelist`,
//    the free objects of that slab it took. Allocation pops freelist and
//    free of an object of the CPU's own slab pushes it, both with
//    interrupts off on this CPU and no lock (Linux uses this_cpu_cmpxchg
//    with preemption on; mmlab disables interrupts, like the per-CPU page
//    lists in pcp.cc).
//  - Any other free goes to the object's slab's own freelist under the
//    cache lock (Linux: cmpxchg on slab->freelist plus list_lock when a
//    list changes): a full slab becomes partial, an empty one is discarded
//    when the node already has kSlabMinPartial partial slabs.
//  - When the CPU freelist is empty, the slow path takes what remote frees
//    put on the CPU slab's freelist, or deactivates the slab (its objects
//    back, onto the full or partial list) and freezes the first partial
//    slab of the preferred zone, or - with no lock and interrupts back on,
//    since the page allocator may sleep for the gfp given - makes a new
//    slab and installs it.
//  - Bulk (Linux's kmem_cache_alloc_bulk / kmem_cache_free_bulk): one
//    interrupts-off section pops as many objects as the CPU freelist has,
//    refilling through the slow path above (a new slab still with
//    interrupts on) when it runs dry; a failure gives every object back.
//    Free_bulk verifies the array's last pointer as kmem_cache_free does,
//    gathers the objects of its slab found within a short look-ahead
//    (build_detached_freelist) and chains them onto the CPU freelist, or
//    onto the slab's under the lock, at once; every group of the array in
//    one interrupts-off section.
//  - c->slab changes only under the cache lock, so the checker and flush
//    can trust it; c->freelist is the CPU's alone.
//  - A debug cache (slab_debug.cc) never gets a CPU slab: its allocations
//    find an empty CPU freelist and its frees a slab that is not the
//    CPU's, so both take the slow paths here, which see the debug flags
//    under the lock and hand the object to slab_debug.cc. The fast paths
//    have no debug test at all.
#include "check.h"
#include "core.h"
#include "log.h"
#include "slab.h"

namespace mmlab {

namespace {

struct KmemCacheCpu {
  void* freelist = nullptr;
  Page* slab = nullptr;  // WriteOnce under the cache lock; ReadOnce remotely

  KmemCacheCpu() = default;
  MMLAB_NO_COPY(KmemCacheCpu);
};

using CpuSlabs = PerCpu<KmemCacheCpu>;

CpuSlabs& Cpus(KmemCache& s) { return *static_cast<CpuSlabs*>(s.policy_data); }

void Install(KmemCache& s, KmemCacheCpu* c, Page* slab, uint32_t cpu) MMLAB_REQUIRES(s.lock) {
  slab->frozen = static_cast<uint16_t>(cpu + 1);
  c->freelist = s.SlabFreelist(slab);
  s.SetSlabFreelist(slab, nullptr);
  slab->inuse = static_cast<uint16_t>(s.ObjectsIn(slab));
  WriteOnce(c->slab, slab);
}

// Linux's deactivate_slab: the CPU's objects go back to the slab, which
// goes to the list its state says.
void Deactivate(KmemCache& s, KmemCacheCpu* c, SlabList* discard) MMLAB_REQUIRES(s.lock) {
  Page* slab = c->slab;
  if (!slab)
    return;
  while (void* obj = c->freelist) {
    c->freelist = s.FreePointer(obj);
    s.SetFreePointer(obj, s.SlabFreelist(slab));
    s.SetSlabFreelist(slab, obj);
    slab->inuse--;
  }
  slab->frozen = 0;
  WriteOnce(c->slab, static_cast<Page*>(nullptr));
  s.PutSlab(slab, true, discard);
}

void CountAllocs(KmemCache& s, uint32_t cpu, uint64_t n, uint64_t fast) {
  SlabCacheStats* st = s.stats.at(cpu);
  PerCpuAdd(st->allocs, n);
  PerCpuAdd(st->fastpath_allocs, fast);
}

void* Pop(KmemCache& s, KmemCacheCpu* c) {
  void* obj = c->freelist;
  if (obj)
    c->freelist = s.FreePointer(obj);
  return obj;
}

// Linux's ___slab_alloc up to new_slab: remote frees of the CPU slab, then
// a partial slab. Lock held, interrupts off on cpu.
void* RefillLocked(KmemCache& s, KmemCacheCpu* c, uint32_t cpu, mmlab_gfp_t gfp,
                   SlabList* discard) MMLAB_REQUIRES(s.lock) {
  if (MMLAB_UNLIKELY(s.debug_flags))
    return nullptr;  // switched to debugging meanwhile: no CPU slab ever
  if (Page* slab = c->slab) {
    void* remote = s.SlabFreelist(slab);
    if (remote) {
      c->freelist = remote;
      s.SetSlabFreelist(slab, nullptr);
      slab->inuse = static_cast<uint16_t>(s.ObjectsIn(slab));
      return Pop(s, c);
    }
    Deactivate(s, c, discard);
  }
  uint32_t order[kSlabNodes];
  uint32_t nr = s.NodeOrder(gfp, order);
  for (uint32_t i = 0; i < nr; i++) {
    KmemCacheNode& n = s.node[order[i]];
    Page* slab = n.partial.PopFront();
    if (!slab)
      continue;
    n.nr_partial--;
    Install(s, c, slab, cpu);
    return Pop(s, c);
  }
  return nullptr;
}

uint64_t FreeAll(KmemCache& s, SlabList* discard) {
  uint64_t pages = 0;
  while (Page* slab = discard->PopFront()) {
    pages += uint64_t{1} << slab->order;
    KmemCache::FreeSlab(*s.core, slab);
  }
  return pages;
}

void ReportDoubleFree(KmemCache& s, Page* slab, void* obj, const char* why) {
  char ptr[32];
  mmlab_host_format_ptr(obj, ptr, sizeof(ptr));
  Report(nullptr, MMLAB_LOG_WARN,
      "kmem_cache_free(%s): double free of object %s in the slab at pfn 0x%lx (%s); ignored",
      s.name, ptr, Core::PageToPfn(slab), why);
  WriteOnce(s.bad_frees, s.bad_frees + 1);
}

// Linux's do_slab_free/__slab_free for objs[0..cnt), objects of slab (a
// detached freelist, or one object), with interrupts off on cpu. Each is
// chained on as it goes, after SLUB's naive double-free check: it is not
// the head of the freelist it would go on, nor the object chained just
// before it; a slab no CPU holds takes back at most the objects it has in
// use. What fails a check is reported and left alone; nothing is written
// into an object before its check.
// Inlined into Free for one object (the loop folds away) and into
// FreeGroup for the groups of a bulk free.
[[gnu::always_inline]] inline void FreeDetached(KmemCache& s, uint32_t cpu, Page* slab,
                                                void* const* objs, size_t cnt,
                                                SlabList* discard, uintptr_t caller) {
  KmemCacheCpu* c = Cpus(s).at(cpu);
  if (MMLAB_LIKELY(c->slab == slab)) {
    void* const top = c->freelist;
    void* head = top;
    uint64_t freed = 0;
    for (size_t i = 0; i < cnt; i++) {
      void* obj = objs[i];
      if (MMLAB_UNLIKELY(obj == head || obj == top)) {
        ReportDoubleFree(s, slab, obj, obj == top ? "head of the CPU freelist" : "twice in a row");
        continue;
      }
      mmlab_host_object_free(obj, s.layout.object_size);
      s.SetFreePointer(obj, head);
      head = obj;
      freed++;
    }
    c->freelist = head;
    SlabCacheStats* st = s.stats.at(cpu);
    PerCpuAdd(st->frees, freed);
    PerCpuAdd(st->fastpath_frees, freed);
    return;
  }
  IrqSaveGuard guard(s.lock);
  if (MMLAB_UNLIKELY(s.debug_flags)) {
    uint64_t before = ReadOnce(s.dbg_bad_frees);
    for (size_t i = 0; i < cnt; i++)
      SlabDebugFreeLocked(s, slab, objs[i], caller, discard);
    PerCpuAdd(s.stats.at(cpu)->frees, cnt - (ReadOnce(s.dbg_bad_frees) - before));
    return;
  }
  const char* gone = slab->slab_cache != &s ? "the slab was freed meanwhile" : nullptr;
  void* const top = gone ? nullptr : s.SlabFreelist(slab);
  void* head = top;
  uint32_t freed = 0;
  for (size_t i = 0; i < cnt; i++) {
    void* obj = objs[i];
    const char* bad = gone;
    if (!bad) {
      if (MMLAB_UNLIKELY(obj == top))
        bad = "head of the slab freelist";
      else if (MMLAB_UNLIKELY(obj == head))
        bad = "twice in a row";
      else if (MMLAB_UNLIKELY(freed == slab->inuse))
        bad = "no object of the slab is in use";
    }
    if (bad) {
      ReportDoubleFree(s, slab, obj, bad);  // may log under a core lock (log.h)
      continue;
    }
    mmlab_host_object_free(obj, s.layout.object_size);
    s.SetFreePointer(obj, head);
    head = obj;
    freed++;
  }
  if (!freed)
    return;
  KmemCacheNode& n = s.node[KmemCache::NodeOf(slab)];
  const bool was_full = !top;
  s.SetSlabFreelist(slab, head);
  slab->inuse = static_cast<uint16_t>(slab->inuse - freed);
  if (!slab->frozen && (slab->inuse == 0 || was_full)) {
    SlabList::Remove(slab);
    if (was_full)
      n.nr_full--;
    else
      n.nr_partial--;
    s.PutSlab(slab, true, discard);
  }
  PerCpuAdd(s.stats.at(cpu)->frees, freed);
}

[[gnu::noinline]] void FreeGroup(KmemCache& s, uint32_t cpu, Page* slab, void* const* objs,
                                 size_t cnt, SlabList* discard, uintptr_t caller) {
  FreeDetached(s, cpu, slab, objs, cnt, discard, caller);
}

[[gnu::noinline]] Page* FreeOneSlow(KmemCache& s, uint32_t cpu, Page* slab, void* obj,
                                    uintptr_t caller) {
  SlabList discard;  // one object empties one slab at most
  FreeDetached(s, cpu, slab, &obj, 1, &discard, caller);
  return discard.PopFront();
}

// Linux's build_detached_freelist, with kmem_cache_free's checks: the last
// pointer of objs[0..nr) is verified as kmem_cache_free's (a bad one is
// reported and dropped, a null one skipped); then up to 3 pointers that
// are not objects of its slab are looked past to find more that are - an
// object start inside that slab's memory, which only an object of s can
// be. Those are moved behind the returned count: objs[returned..nr) are
// *slab_out's objects (none when it is null), the rest still to do.
// Interrupts off. Nothing is written into the objects here.
size_t BuildDetachedFreelist(KmemCache& s, size_t nr, void** objs, Page** slab_out,
                             const char* func) {
  *slab_out = nullptr;
  void* obj = objs[--nr];
  if (!obj)
    return nr;
  Page* slab = SlabFindObjectFast(*s.core, VirtToPageIrqsOff(*s.core, obj), &s, obj, nullptr,
                                  func, nullptr);
  if (!slab)
    return nr;
  *slab_out = slab;
  const uintptr_t base = s.ObjBase(slab);
  const uintptr_t size = s.layout.size;
  const uintptr_t limit = uintptr_t{s.ObjectsIn(slab)} * size;
  size_t same = nr;
  uint32_t lookahead = 3;
  while (nr) {
    obj = objs[--nr];
    const uintptr_t off = reinterpret_cast<uintptr_t>(obj) - base;
    if (off < limit && off % size == 0) {
      same--;
      if (nr != same) {
        objs[nr] = objs[same];
        objs[same] = obj;
      }
      continue;
    }
    if (!--lookahead)
      break;
  }
  return same;
}

struct FlushArg {
  KmemCache* s;
  SlabList discard;  // under s->lock (CPUs flush concurrently in the kernel)
};

void FlushCpu(void* arg) {
  FlushArg* f = static_cast<FlushArg*>(arg);
  KmemCache& s = *f->s;
  uint32_t cpu;
  unsigned long flags = mmlab_host_local_irq_save(&cpu);
  {
    IrqSaveGuard guard(s.lock);
    Deactivate(s, Cpus(s).at(cpu), &f->discard);
  }
  mmlab_host_local_irq_restore(flags);
}

// Linux's ___slab_alloc: the CPU freelist is empty. Entered with
// interrupts off on cpu (flags from the caller's local_irq_save), which it
// restores.
[[gnu::noinline]] void* AllocSlow(KmemCache& s, mmlab_gfp_t gfp, uint32_t cpu,
                                  unsigned long flags, uintptr_t caller) {
  CpuSlabs& cpus = Cpus(s);
  KmemCacheCpu* c = cpus.at(cpu);
  SlabList discard;
  void* obj;
  bool debug;
  {
    IrqSaveGuard guard(s.lock);
    debug = s.debug_flags != 0;
    obj = debug ? nullptr : RefillLocked(s, c, cpu, gfp, &discard);
  }
  if (MMLAB_UNLIKELY(debug)) {
    mmlab_host_local_irq_restore(flags);
    return SlabDebugAlloc(&s, gfp, caller);
  }
  if (obj)
    PerCpuAdd(s.stats.at(cpu)->allocs, 1);
  mmlab_host_local_irq_restore(flags);
  FreeAll(s, &discard);
  if (obj)
    return obj;

  // A new slab, with interrupts on and no lock: the page allocator may
  // sleep (or not) as the gfp says, and the constructor runs here.
  uint64_t gen;
  Page* slab = s.NewSlab(gfp, &gen);
  if (!slab)
    return nullptr;
  flags = mmlab_host_local_irq_save(&cpu);
  bool stale;
  {
    IrqSaveGuard guard(s.lock);
    // cache_debug (or cache_policy) changed the layout meanwhile: the slab
    // is of the old one; only then is the CPU state known to be ours.
    stale = gen != s.layout_gen || s.debug_flags;
    if (MMLAB_LIKELY(!stale)) {
      c = Cpus(s).at(cpu);
      s.AccountNewSlab(slab);
      // Another slab may have been installed meanwhile (an interrupt, or
      // we run on another CPU now): SLUB flushes it and uses the new one.
      Deactivate(s, c, &discard);
      Install(s, c, slab, cpu);
      obj = Pop(s, c);
    }
  }
  if (MMLAB_UNLIKELY(stale)) {
    mmlab_host_local_irq_restore(flags);
    KmemCache::FreeSlab(*s.core, slab);
    return ReadOnce(s.debug_flags) ? SlabDebugAlloc(&s, gfp, caller)
                                   : s.policy->Alloc(s, gfp, caller);
  }
  PerCpuAdd(s.stats.at(cpu)->allocs, 1);
  mmlab_host_local_irq_restore(flags);
  FreeAll(s, &discard);
  return obj;
}

class Slub final : public SlabPolicy {
 public:
  const char* name() const override { return "slub"; }

  mmlab_status Attach(KmemCache& s) override {
    CpuSlabs* cpus = MetaNew<CpuSlabs>();
    if (!cpus)
      return MMLAB_ENOMEM;
    if (!cpus->Alloc(s.core->nr_cpus())) {
      MetaDelete(cpus);
      return MMLAB_ENOMEM;
    }
    s.policy_data = cpus;
    return MMLAB_OK;
  }

  void Detach(KmemCache& s) override {
    CpuSlabs* cpus = static_cast<CpuSlabs*>(s.policy_data);
    if (!cpus)
      return;
    cpus->Free();
    MetaDelete(cpus);
    s.policy_data = nullptr;
  }

  void* Alloc(KmemCache& s, mmlab_gfp_t gfp, uintptr_t caller) override {
    // The fast path inline and without a frame to speak of; the slow path
    // (which restores interrupts itself) out of line.
    uint32_t cpu;
    unsigned long flags = mmlab_host_local_irq_save(&cpu);
    KmemCacheCpu* c = Cpus(s).at(cpu);
    void* obj = Pop(s, c);
    if (MMLAB_LIKELY(obj)) {
      SlabCacheStats* st = s.stats.at(cpu);
      PerCpuAdd(st->allocs, 1);
      PerCpuAdd(st->fastpath_allocs, 1);
      mmlab_host_local_irq_restore(flags);
      return obj;
    }
    return AllocSlow(s, gfp, cpu, flags, caller);
  }

  size_t AllocBulk(KmemCache& s, mmlab_gfp_t gfp, size_t nr, void** objs) override {
    CpuSlabs& cpus = Cpus(s);
    SlabList discard;
    uint32_t cpu;
    unsigned long flags = mmlab_host_local_irq_save(&cpu);
    KmemCacheCpu* c = cpus.at(cpu);
    size_t counted = 0;  // objects before this one already in the stats
    uint64_t fast = 0;   // fast-path pops not yet in the stats
    for (size_t i = 0; i < nr; i++) {
      void* obj = c->freelist;
      if (MMLAB_LIKELY(obj)) {
        c->freelist = s.FreePointer(obj);
        objs[i] = obj;
        fast++;
        continue;
      }
      {
        IrqSaveGuard guard(s.lock);
        obj = RefillLocked(s, c, cpu, gfp, &discard);
      }
      if (!obj) {
        // As Alloc: a new slab with interrupts on and no lock.
        CountAllocs(s, cpu, i - counted, fast);
        counted = i;
        fast = 0;
        mmlab_host_local_irq_restore(flags);
        FreeAll(s, &discard);
        uint64_t gen;
        Page* slab = s.NewSlab(gfp, &gen);
        if (!slab) {
          // All or nothing: what was taken goes back (through the free
          // path, which unregisters each: register them first).
          for (size_t j = 0; j < i; j++)
            mmlab_host_object_alloc(objs[j], s.layout.object_size, gfp);
          if (i)
            FreeBulk(s, i, objs, "kmem_cache_alloc_bulk", 0);
          for (size_t j = 0; j < nr; j++)
            objs[j] = nullptr;
          return 0;
        }
        flags = mmlab_host_local_irq_save(&cpu);
        bool stale;
        {
          IrqSaveGuard guard(s.lock);
          stale = gen != s.layout_gen || s.debug_flags;
        }
        c = cpus.at(cpu);
        if (MMLAB_UNLIKELY(stale)) {
          // cache_debug changed the layout meanwhile: give up (rare).
          mmlab_host_local_irq_restore(flags);
          KmemCache::FreeSlab(*s.core, slab);
          if (i)
            FreeBulk(s, i, objs, "kmem_cache_alloc_bulk", 0);
          for (size_t j = 0; j < nr; j++)
            objs[j] = nullptr;
          return 0;
        }
        IrqSaveGuard guard(s.lock);
        s.AccountNewSlab(slab);
        Deactivate(s, c, &discard);
        Install(s, c, slab, cpu);
        obj = Pop(s, c);
      }
      objs[i] = obj;
    }
    CountAllocs(s, cpu, nr - counted, fast);
    mmlab_host_local_irq_restore(flags);
    FreeAll(s, &discard);
    return nr;
  }

  Page* Free(KmemCache& s, uint32_t cpu, Page* slab, void* obj, uintptr_t caller) override {
    // The fast path (FreeDetached's first branch for one object) inline,
    // the rest out of line.
    KmemCacheCpu* c = Cpus(s).at(cpu);
    void* top = c->freelist;
    if (MMLAB_LIKELY(c->slab == slab && obj != top)) {
      mmlab_host_object_free(obj, s.layout.object_size);
      s.SetFreePointer(obj, top);
      c->freelist = obj;
      SlabCacheStats* st = s.stats.at(cpu);
      PerCpuAdd(st->frees, 1);
      PerCpuAdd(st->fastpath_frees, 1);
      return nullptr;
    }
    return FreeOneSlow(s, cpu, slab, obj, caller);
  }

  void FreeBulk(KmemCache& s, size_t nr, void** objs, const char* func,
                uintptr_t caller) override {
    if (!nr)
      return;
    SlabList discard;
    uint32_t cpu;
    unsigned long flags = mmlab_host_local_irq_save(&cpu);
    do {
      Page* slab;
      const size_t end = nr;
      nr = BuildDetachedFreelist(s, nr, objs, &slab, func);
      if (slab)
        FreeGroup(s, cpu, slab, objs + nr, end - nr, &discard, caller);
    } while (nr);
    mmlab_host_local_irq_restore(flags);
    FreeAll(s, &discard);
  }

  uint64_t FlushAll(KmemCache& s, bool offline_too) override {
    FlushArg f;
    f.s = &s;
    mmlab_host_on_each_cpu(FlushCpu, &f);
    if (offline_too) {
      CpuSlabs& cpus = Cpus(s);
      IrqSaveGuard guard(s.lock);
      for (uint32_t cpu = 0; cpu < cpus.nr_cpus(); cpu++)
        Deactivate(s, cpus.at(cpu), &f.discard);
    }
    return FreeAll(s, &f.discard);
  }

  void FlushDeadCpu(KmemCache& s, uint32_t cpu, SlabList* discard) override
      MMLAB_REQUIRES(s.lock) {
    CpuSlabs& cpus = Cpus(s);
    if (cpu < cpus.nr_cpus())
      Deactivate(s, cpus.at(cpu), discard);
  }

  uint64_t CheckCpuSlabs(KmemCache& s, uint64_t (&frozen)[kSlabNodes]) override {
    CheckReport report;
    CpuSlabs& cpus = Cpus(s);
    for (uint32_t cpu = 0; cpu < cpus.nr_cpus(); cpu++) {
      const Page* slab = ReadOnce(cpus.at(cpu)->slab);
      if (!slab)
        continue;
      if (!slab->IsAllocHead() || !(slab->Flags() & kPgSlab) || slab->slab_cache != &s) {
        report.Violation("slab %s: CPU %u's slab is not a slab of the cache", s.name, cpu);
        continue;
      }
      if (slab->frozen != cpu + 1)
        report.Violation("slab %s: CPU %u's slab at pfn 0x%lx is marked frozen %u", s.name, cpu,
                         Core::PageToPfn(slab), slab->frozen);
      if (slab->slab_list.linked())
        report.Violation("slab %s: CPU %u's slab at pfn 0x%lx is on a node list", s.name, cpu,
                         Core::PageToPfn(slab));
      frozen[KmemCache::NodeOf(slab)]++;
    }
    report.Finish();
    return report.count();
  }
};

constinit Slub g_slub;

}  // namespace

SlabPolicy& SlubPolicy() { return g_slub; }

}  // namespace mmlab
