// SPDX-License-Identifier: GPL-2.0
//
// slab_array.cc - the SLAB policy: a small version of Linux's mm/slab.c
// (as of v6.1; SLAB was removed in 6.8). docs/slab-policies.md compares it
// with SLUB and SLOB.
//
// How it works:
//  - Each CPU has an array_cache: a stack of up to `limit` object
//    pointers (a "magazine"). Allocation pops entry[--avail], free pushes
//    entry[avail++], with interrupts off on this CPU and no lock (Linux
//    runs these with interrupts off too). Objects in an array are free for
//    the caller but in use for their slab.
//  - Empty array on alloc (cache_alloc_refill): under the cache lock, up to
//    batchcount objects (BATCHREFILL_LIMIT, 16, while the array is not
//    `touched`: never used since it was made or drained - Linux's
//    cache_reap clears the bit, mmlab's drains do) come from the shared array, else from the
//    slabs: partial ones first, then free ones (get_first_slab), zone by
//    zone in the cache's zone order. With none, a new slab is made with
//    interrupts on (cache_grow) and the batch taken from it.
//  - Full array on free (cache_flusharray): batchcount objects from the
//    bottom of the array go to the shared array if it has room, else back
//    to their slabs (free_block), which move between slabs_full,
//    slabs_partial and slabs_free; while a zone holds more than free_limit
//    free objects, slabs at the tail of slabs_free go back to the buddy.
//  - The tunables are enable_cpucache()'s: limit 120, 54, 24, 8 or 1 by
//    object size, batchcount (limit + 1) / 2, a shared array of
//    8 * batchcount entries when there is more than one CPU and the object
//    is at most a page; free_limit = (1 + nr_cpus) * batchcount + objects
//    per slab.
//  - Colouring: a cache's objects start colour_off * k bytes into a slab
//    (colour_off: the cache line, or the alignment if larger; k cycling
//    through left_over / colour_off values, one per new slab, Linux's
//    colour_next), so equal objects of consecutive slabs fall on different
//    cache lines. The offset is kept in the slab's descriptor (`colour`,
//    the bytes SLUB uses for `frozen`), which KmemCache::ObjBase reads.
//  - Differences from Linux: one shared array per cache rather than per
//    NUMA node (mmlab's nodes are zones of one machine and every object of
//    a cache serves every request, so no alien caches either); a slab's
//    free objects stay chained through the free pointer in the object (as
//    SLUB's), where Linux's SLAB kept an index array (freelist_idx_t) in
//    or beside the slab; the lists live in the generic KmemCacheNode (the
//    free list is its `free`); no periodic cache_reap - shrink, destroy,
//    cache_policy, CPU death and the checker drain the arrays; a free that
//    flushes gives back at most one slab (the hook returns one) and the
//    rest wait on slabs_free for the next flush or shrink.
//  - Double frees: an object equal to the top of the CPU array (the same
//    object freed twice in a row) is refused and reported, as SLUB refuses
//    the head of its CPU freelist; on the way back to its slab (free_block)
//    an object that is the head of the slab's freelist, or of a slab with
//    no object in use, is refused too. Linux's SLAB caught neither without
//    CONFIG_DEBUG_SLAB.
//  - A debug cache (slab_debug.cc) never uses the arrays: its allocations
//    find an empty array and take the slow path, which sees the flags
//    under the lock and calls SlabDebugAlloc; its frees go to
//    SlabDebugFreeLocked. A zombie cache (destroyed with live objects)
//    frees straight to the slabs, so its empty slabs are discarded at once.
#include "check.h"
#include "core.h"
#include "log.h"
#include "slab.h"

namespace mmlab {

namespace {

constexpr uint32_t kBatchRefillLimit = 16;  // BATCHREFILL_LIMIT
constexpr uint32_t kSharedFactor = 8;       // enable_cpucache's `shared`

// Linux's struct array_cache; the entries follow the header.
struct ArrayCache {
  uint32_t avail;
  uint32_t limit;
  uint32_t batchcount;
  uint32_t touched;
  void** entry() { return reinterpret_cast<void**>(this + 1); }
};
static_assert(sizeof(ArrayCache) == 16, "layout");

struct SlabData {
  uint32_t limit = 0, batchcount = 0, shared = 0, free_limit = 0;
  uint32_t nr_cpus = 0;
  size_t cpu_stride = 0;
  char* cpu_arrays = nullptr;       // nr_cpus arrays of cpu_stride bytes
  ArrayCache* shared_array = nullptr;  // under the cache lock; null without sharing
  size_t shared_bytes = 0;
  // Counters (under the cache lock).
  uint64_t refills = 0, refill_objects = 0, shared_refills = 0;
  uint64_t flushes = 0, flush_objects = 0, shared_flushes = 0;
  uint64_t grown = 0, freed_slabs = 0;

  SlabData() = default;
  MMLAB_NO_COPY(SlabData);
};

SlabData& Data(KmemCache& s) { return *static_cast<SlabData*>(s.policy_data); }

ArrayCache* CpuArray(SlabData& d, uint32_t cpu) {
  return reinterpret_cast<ArrayCache*>(d.cpu_arrays + cpu * d.cpu_stride);
}

// enable_cpucache(): the array size by object size.
uint32_t LimitFor(uint32_t size) {
  if (size > 131072)
    return 1;
  if (size > MMLAB_PAGE_SIZE)
    return 8;
  if (size > 1024)
    return 24;
  if (size > 256)
    return 54;
  return 120;
}

void CountAllocs(KmemCache& s, uint32_t cpu, uint64_t n, uint64_t fast) {
  SlabCacheStats* st = s.stats.at(cpu);
  PerCpuAdd(st->allocs, n);
  PerCpuAdd(st->fastpath_allocs, fast);
}

void CountFrees(KmemCache& s, uint32_t cpu, uint64_t n, uint64_t fast) {
  SlabCacheStats* st = s.stats.at(cpu);
  PerCpuAdd(st->frees, n);
  PerCpuAdd(st->fastpath_frees, fast);
}

// The slab holding obj, an object the array caches hold (so its slab
// cannot go away). Interrupts off.
Page* SlabOfObject(KmemCache& s, const void* obj) {
  Page* page = VirtToPageIrqsOff(*s.core, obj);
  if (!page)
    return nullptr;
  PageState st = page->State();
  Page* slab = st == PageState::kAllocHead   ? page
               : st == PageState::kAllocTail ? ReadOnce(page->slab_head)
                                             : nullptr;
  if (!slab || !slab->IsAllocHead() || !(slab->Flags() & kPgSlab))
    return nullptr;
  return slab;
}

// Whether obj is an object start of a slab of s (no report): the checker.
bool IsObjectOf(KmemCache& s, const void* obj) {
  Page* slab = SlabOfObject(s, obj);
  if (!slab || ReadOnce(slab->slab_cache) != &s)
    return false;
  const uintptr_t off = reinterpret_cast<uintptr_t>(obj) - s.ObjBase(slab);
  return off % s.layout.size == 0 && off / s.layout.size < s.ObjectsIn(slab);
}

// Which list a slab is on follows from its objects (SLAB keeps them so).
void Unlist(KmemCache& s, KmemCacheNode& n, Page* slab) MMLAB_REQUIRES(s.lock) {
  SlabList::Remove(slab);
  if (slab->inuse == 0)
    n.nr_free--;
  else if (slab->inuse == s.ObjectsIn(slab))
    n.nr_full--;
  else
    n.nr_partial--;
}

// fixup_slab_list(): full or partial (a slab just taken from).
void ListAfterAlloc(KmemCache& s, KmemCacheNode& n, Page* slab) MMLAB_REQUIRES(s.lock) {
  if (slab->inuse == s.ObjectsIn(slab)) {
    n.full.PushFront(slab);
    n.nr_full++;
  } else if (slab->inuse == 0) {
    n.free.PushBack(slab);
    n.nr_free++;
  } else {
    n.partial.PushFront(slab);
    n.nr_partial++;
  }
}

// alloc_block(): up to batchcount objects of slab into ac; returns how
// many are still wanted.
uint32_t AllocBlock(KmemCache& s, ArrayCache* ac, Page* slab, uint32_t batchcount)
    MMLAB_REQUIRES(s.lock) {
  const uint32_t objects = s.ObjectsIn(slab);
  KmemCacheNode& n = s.node[KmemCache::NodeOf(slab)];
  while (slab->inuse < objects && batchcount) {
    void* obj = s.SlabFreelist(slab);
    if (!obj)
      break;
    s.SetSlabFreelist(slab, s.FreePointer(obj));
    slab->inuse++;
    n.free_objects--;
    ac->entry()[ac->avail++] = obj;
    batchcount--;
  }
  return batchcount;
}

// How many objects a refill brings: batchcount, or BATCHREFILL_LIMIT while
// the array was not used since its last refill (an idle CPU does not hoard).
uint32_t RefillBatch(const ArrayCache* ac) {
  uint32_t batchcount = ac->batchcount;
  if (!ac->touched && batchcount > kBatchRefillLimit)
    batchcount = kBatchRefillLimit;
  return Min(batchcount, ac->limit - ac->avail);
}

// cache_alloc_refill() up to the grow: the shared array, then the slabs.
// Lock held, interrupts off, ac empty.
void RefillLocked(KmemCache& s, SlabData& d, ArrayCache* ac, mmlab_gfp_t gfp)
    MMLAB_REQUIRES(s.lock) {
  uint32_t batchcount = RefillBatch(ac);
  if (ArrayCache* shared = d.shared_array; shared && shared->avail) {
    // transfer_objects(): the top of the shared array.
    const uint32_t nr = Min(batchcount, shared->avail);
    shared->avail -= nr;
    __builtin_memcpy(ac->entry() + ac->avail, shared->entry() + shared->avail,
                     sizeof(void*) * nr);
    ac->avail += nr;
    shared->touched = 1;
    d.refills++;
    d.refill_objects += nr;
    d.shared_refills++;
    return;
  }
  const uint32_t before = ac->avail;
  uint32_t order[kSlabNodes];
  const uint32_t nr_nodes = s.NodeOrder(gfp, order);
  for (uint32_t i = 0; i < nr_nodes && batchcount; i++) {
    KmemCacheNode& n = s.node[order[i]];
    while (batchcount) {
      // get_first_slab(): partial first, then free.
      Page* slab = n.partial.front();
      if (!slab)
        slab = n.free.front();
      if (!slab)
        break;
      Unlist(s, n, slab);
      batchcount = AllocBlock(s, ac, slab, batchcount);
      ListAfterAlloc(s, n, slab);
    }
  }
  if (ac->avail != before) {
    d.refills++;
    d.refill_objects += ac->avail - before;
  }
}

void ReportDoubleFree(KmemCache& s, const void* obj, const Page* slab, const char* why) {
  char ptr[32];
  mmlab_host_format_ptr(obj, ptr, sizeof(ptr));
  Report(nullptr, MMLAB_LOG_WARN,
         "kmem_cache_free(%s): double free of object %s in the slab at pfn 0x%lx (%s); ignored",
         s.name, ptr, Core::PageToPfn(slab), why);
  WriteOnce(s.bad_frees, s.bad_frees + 1);
}

// free_block(): objs back to their slabs, then slabs beyond free_limit off
// slabs_free onto *discard (at most max_discard of them). Lock held.
void FreeBlock(KmemCache& s, SlabData& d, void* const* objs, uint32_t nr, SlabList* discard,
               uint64_t max_discard) MMLAB_REQUIRES(s.lock) {
  for (uint32_t i = 0; i < nr; i++) {
    void* obj = objs[i];
    Page* slab = SlabOfObject(s, obj);
    if (!MMLAB_ASSERT(slab && slab->slab_cache == &s))
      continue;  // only objects of s ever enter the arrays
    if (MMLAB_UNLIKELY(obj == s.SlabFreelist(slab) || slab->inuse == 0)) {
      ReportDoubleFree(s, obj, slab, slab->inuse ? "head of the slab freelist"
                                                 : "no object of the slab is in use");
      continue;
    }
    KmemCacheNode& n = s.node[KmemCache::NodeOf(slab)];
    Unlist(s, n, slab);
    s.SetFreePointer(obj, s.SlabFreelist(slab));
    s.SetSlabFreelist(slab, obj);
    slab->inuse--;
    n.free_objects++;
    if (slab->inuse == 0) {
      n.free.PushFront(slab);
      n.nr_free++;
    } else {
      n.partial.PushBack(slab);
      n.nr_partial++;
    }
  }
  const uint64_t limit = ReadOnce(s.zombie) ? 0 : d.free_limit;
  for (KmemCacheNode& n : s.node) {
    while (max_discard && n.free_objects > limit && n.nr_free) {
      Page* slab = n.free.back();
      SlabList::Remove(slab);
      n.nr_free--;
      n.free_objects -= s.ObjectsIn(slab);
      s.UnaccountSlab(slab);
      discard->PushBack(slab);
      d.freed_slabs++;
      max_discard--;
    }
  }
}

// cache_flusharray(): the bottom batchcount objects of a full array go to
// the shared array if it has room, else to their slabs. Lock held.
void FlushArrayLocked(KmemCache& s, SlabData& d, ArrayCache* ac, SlabList* discard,
                      uint64_t max_discard) MMLAB_REQUIRES(s.lock) {
  uint32_t batchcount = Min(ac->batchcount, ac->avail);
  d.flushes++;
  ArrayCache* shared = d.shared_array;
  const uint32_t room = shared ? shared->limit - shared->avail : 0;
  if (room) {
    batchcount = Min(batchcount, room);
    __builtin_memcpy(shared->entry() + shared->avail, ac->entry(), sizeof(void*) * batchcount);
    shared->avail += batchcount;
    d.shared_flushes++;
  } else {
    FreeBlock(s, d, ac->entry(), batchcount, discard, max_discard);
  }
  d.flush_objects += batchcount;
  ac->avail -= batchcount;
  __builtin_memmove(ac->entry(), ac->entry() + batchcount, sizeof(void*) * ac->avail);
}

// A whole array back to the slabs (drain_array / do_drain). Lock held.
void DrainArrayLocked(KmemCache& s, SlabData& d, ArrayCache* ac, SlabList* discard)
    MMLAB_REQUIRES(s.lock) {
  if (!ac || !ac->avail)
    return;
  FreeBlock(s, d, ac->entry(), ac->avail, discard, ~uint64_t{0});
  ac->avail = 0;
  ac->touched = 0;  // as cache_reap leaves an idle array
}

uint64_t FreeAll(KmemCache& s, SlabList* discard) { return FreeDiscardedSlabs(*s.core, discard); }

struct DrainArg {
  KmemCache* s;
  SlabList discard;  // under s->lock
};

// The array of the CPU this runs on, back to the slabs (on_each_cpu).
void DrainCpu(void* arg) {
  DrainArg* f = static_cast<DrainArg*>(arg);
  KmemCache& s = *f->s;
  uint32_t cpu;
  unsigned long flags = mmlab_host_local_irq_save(&cpu);
  {
    IrqSaveGuard guard(s.lock);
    SlabData& d = Data(s);
    if (cpu < d.nr_cpus)
      DrainArrayLocked(s, d, CpuArray(d, cpu), &f->discard);
  }
  mmlab_host_local_irq_restore(flags);
}

// A free that cannot use the array: a debug cache (slab_debug.cc) or a
// zombie (straight to the slab, so an emptied slab goes at once), or a
// full array (cache_flusharray first). Interrupts off on cpu.
[[gnu::noinline]] void FreeSlow(KmemCache& s, uint32_t cpu, Page* slab, void* obj,
                                uintptr_t caller, SlabList* discard, uint64_t max_discard) {
  IrqSaveGuard guard(s.lock);
  if (MMLAB_UNLIKELY(s.debug_flags)) {
    const uint64_t before = ReadOnce(s.dbg_bad_frees);
    SlabDebugFreeLocked(s, slab, obj, caller, discard);
    if (ReadOnce(s.dbg_bad_frees) == before)
      CountFrees(s, cpu, 1, 0);
    return;
  }
  SlabData& d = Data(s);
  if (slab->slab_cache != &s) {
    ReportDoubleFree(s, obj, slab, "the slab was freed meanwhile");
    return;
  }
  ArrayCache* ac = CpuArray(d, cpu);
  if (ac->avail && ac->entry()[ac->avail - 1] == obj) {
    ReportDoubleFree(s, obj, slab, "top of the CPU array cache");
    return;
  }
  mmlab_host_object_free(obj, s.layout.object_size);
  if (ReadOnce(s.zombie)) {
    const uint64_t before = ReadOnce(s.bad_frees);
    FreeBlock(s, d, &obj, 1, discard, max_discard);
    if (ReadOnce(s.bad_frees) == before)
      CountFrees(s, cpu, 1, 0);
    return;
  }
  if (ac->avail >= ac->limit)
    FlushArrayLocked(s, d, ac, discard, max_discard);
  ac->entry()[ac->avail++] = obj;
  CountFrees(s, cpu, 1, 0);
}

// ____cache_free for one verified object. Interrupts off on cpu.
[[gnu::always_inline]] inline void FreeOne(KmemCache& s, uint32_t cpu, Page* slab, void* obj,
                                           uintptr_t caller, SlabList* discard,
                                           uint64_t max_discard) {
  SlabData& d = Data(s);
  ArrayCache* ac = CpuArray(d, cpu);
  const uint32_t avail = ac->avail;
  if (MMLAB_LIKELY(avail < ac->limit && !s.debug_flags && !ReadOnce(s.zombie) &&
                   (avail == 0 || ac->entry()[avail - 1] != obj))) {
    mmlab_host_object_free(obj, s.layout.object_size);
    ac->entry()[avail] = obj;
    ac->avail = avail + 1;
    CountFrees(s, cpu, 1, 1);
    return;
  }
  FreeSlow(s, cpu, slab, obj, caller, discard, max_discard);
}

// cache_alloc_refill() with the grow: the array is empty. Entered with
// interrupts off on cpu (flags from the caller), which it restores.
[[gnu::noinline]] void* AllocSlow(KmemCache& s, mmlab_gfp_t gfp, uint32_t cpu,
                                  unsigned long flags, uintptr_t caller) {
  void* obj = nullptr;
  bool debug;
  {
    IrqSaveGuard guard(s.lock);
    debug = s.debug_flags != 0;
    if (!debug) {
      SlabData& d = Data(s);
      ArrayCache* ac = CpuArray(d, cpu);
      if (!ac->avail)
        RefillLocked(s, d, ac, gfp);
      if (ac->avail) {
        ac->touched = 1;
        obj = ac->entry()[--ac->avail];
      }
    }
  }
  if (MMLAB_UNLIKELY(debug)) {
    mmlab_host_local_irq_restore(flags);
    return SlabDebugAlloc(&s, gfp, caller);
  }
  if (obj)
    CountAllocs(s, cpu, 1, 0);
  mmlab_host_local_irq_restore(flags);
  if (obj)
    return obj;

  // cache_grow_begin(): a new slab with interrupts on and no lock (the
  // page allocator may sleep as the gfp says; the constructor runs here).
  uint64_t gen;
  Page* slab = s.NewSlab(gfp, &gen);
  if (!slab)
    return nullptr;
  flags = mmlab_host_local_irq_save(&cpu);
  bool stale;
  {
    IrqSaveGuard guard(s.lock);
    // cache_debug / cache_policy changed the layout meanwhile.
    stale = gen != s.layout_gen || s.debug_flags;
    if (MMLAB_LIKELY(!stale)) {
      SlabData& d = Data(s);
      ArrayCache* ac = CpuArray(d, cpu);
      KmemCacheNode& n = s.node[KmemCache::NodeOf(slab)];
      s.AccountNewSlab(slab);
      n.free_objects += s.ObjectsIn(slab);
      d.grown++;
      if (!ac->avail) {
        // alloc_block() from the new slab, then cache_grow_end().
        AllocBlock(s, ac, slab, RefillBatch(ac));
        d.refills++;
        d.refill_objects += ac->avail;
      }
      ListAfterAlloc(s, n, slab);
      if (ac->avail) {
        ac->touched = 1;
        obj = ac->entry()[--ac->avail];
      }
    }
  }
  if (MMLAB_UNLIKELY(stale)) {
    mmlab_host_local_irq_restore(flags);
    KmemCache::FreeSlab(*s.core, slab);
    return ReadOnce(s.debug_flags) ? SlabDebugAlloc(&s, gfp, caller)
                                   : ReadOnce(s.policy)->Alloc(s, gfp, caller);
  }
  if (obj)
    CountAllocs(s, cpu, 1, 0);
  mmlab_host_local_irq_restore(flags);
  return obj;
}

class SlabArray final : public SlabPolicy {
 public:
  const char* name() const override { return "slab"; }

  mmlab_status Attach(KmemCache& s) override {
    SlabData* d = MetaNew<SlabData>();
    if (!d)
      return MMLAB_ENOMEM;
    const uint32_t nr_cpus = s.core->nr_cpus();
    d->nr_cpus = nr_cpus;
    d->limit = LimitFor(s.layout.size);
    d->batchcount = (d->limit + 1) / 2;
    d->shared = s.layout.size <= MMLAB_PAGE_SIZE && nr_cpus > 1 ? kSharedFactor : 0;
    d->free_limit = (1 + nr_cpus) * d->batchcount + s.layout.objects;
    d->cpu_stride = (sizeof(ArrayCache) + sizeof(void*) * d->limit + 63) & ~size_t{63};
    d->cpu_arrays =
        static_cast<char*>(mmlab_host_meta_alloc(d->cpu_stride * nr_cpus, /*can_sleep=*/1));
    if (d->shared) {
      const uint32_t entries = d->shared * d->batchcount;
      d->shared_bytes = sizeof(ArrayCache) + sizeof(void*) * entries;
      d->shared_array = static_cast<ArrayCache*>(mmlab_host_meta_alloc(d->shared_bytes, 1));
      if (d->shared_array)
        *d->shared_array = {0, entries, d->batchcount, 0};
    }
    if (!d->cpu_arrays || (d->shared && !d->shared_array)) {
      FreeData(d);
      return MMLAB_ENOMEM;
    }
    for (uint32_t cpu = 0; cpu < nr_cpus; cpu++)
      *CpuArray(*d, cpu) = {0, d->limit, d->batchcount, 0};
    s.policy_data = d;
    s.colour_off = static_cast<uint16_t>(Max<uint32_t>(MMLAB_CACHE_LINE_SIZE, s.layout.align));
    s.colour_mask = 0xffff;
    return MMLAB_OK;
  }

  void Detach(KmemCache& s) override {
    SlabData* d = static_cast<SlabData*>(s.policy_data);
    s.colour_mask = 0;
    s.colour_off = 0;
    if (!d)
      return;
    FreeData(d);
    s.policy_data = nullptr;
  }

  void* Alloc(KmemCache& s, mmlab_gfp_t gfp, uintptr_t caller) override {
    // ____cache_alloc(): the top of this CPU's array, inline.
    uint32_t cpu;
    unsigned long flags = mmlab_host_local_irq_save(&cpu);
    ArrayCache* ac = CpuArray(Data(s), cpu);
    if (MMLAB_LIKELY(ac->avail)) {
      ac->touched = 1;
      void* obj = ac->entry()[--ac->avail];
      CountAllocs(s, cpu, 1, 1);
      mmlab_host_local_irq_restore(flags);
      return obj;
    }
    return AllocSlow(s, gfp, cpu, flags, caller);
  }

  size_t AllocBulk(KmemCache& s, mmlab_gfp_t gfp, size_t nr, void** objs) override {
    // Linux's SLAB kmem_cache_alloc_bulk: one object after the other
    // through the same paths; all or nothing.
    return SlabAllocBulkEach(s, gfp, nr, objs);
  }

  Page* Free(KmemCache& s, uint32_t cpu, Page* slab, void* obj, uintptr_t caller) override {
    SlabList discard;
    FreeOne(s, cpu, slab, obj, caller, &discard, 1);
    return discard.PopFront();
  }

  void FreeBulk(KmemCache& s, size_t nr, void** objs, const char* func,
                uintptr_t caller) override {
    SlabList discard;
    uint32_t cpu;
    unsigned long flags = mmlab_host_local_irq_save(&cpu);
    for (size_t i = 0; i < nr; i++) {
      void* obj = objs[i];
      if (!obj)
        continue;
      Page* slab = SlabFindObjectFast(*s.core, VirtToPageIrqsOff(*s.core, obj), &s, obj,
                                      nullptr, func, nullptr);
      if (slab)
        FreeOne(s, cpu, slab, obj, caller, &discard, ~uint64_t{0});
    }
    mmlab_host_local_irq_restore(flags);
    FreeAll(s, &discard);
  }

  uint64_t FlushAll(KmemCache& s, bool offline_too) override {
    // drain_cpu_caches(): every CPU's array, then the shared one.
    DrainArg f;
    f.s = &s;
    mmlab_host_on_each_cpu(DrainCpu, &f);
    {
      IrqSaveGuard guard(s.lock);
      SlabData& d = Data(s);
      if (offline_too)
        for (uint32_t cpu = 0; cpu < d.nr_cpus; cpu++)
          DrainArrayLocked(s, d, CpuArray(d, cpu), &f.discard);
      DrainArrayLocked(s, d, d.shared_array, &f.discard);
    }
    return FreeAll(s, &f.discard);
  }

  void FlushDeadCpu(KmemCache& s, uint32_t cpu, SlabList* discard) override
      MMLAB_REQUIRES(s.lock) {
    // cpuup_canceled(): the dead CPU's array back to the slabs.
    SlabData& d = Data(s);
    if (cpu < d.nr_cpus)
      DrainArrayLocked(s, d, CpuArray(d, cpu), discard);
  }

  uint64_t ReapLocked(KmemCache& s, uint32_t cpu, SlabList* discard, bool count_only) override
      MMLAB_REQUIRES(s.lock) {
    // cache_reap() without its timer: reclaim drains the shared array and
    // the array of the CPU it runs on (the others are theirs; shrink,
    // destroy and CPU death drain them through on_each_cpu).
    if (s.debug_flags)
      return 0;
    SlabData& d = Data(s);
    ArrayCache* ac = cpu < d.nr_cpus ? CpuArray(d, cpu) : nullptr;
    const uint64_t n = (d.shared_array ? d.shared_array->avail : 0) + (ac ? ac->avail : 0);
    if (!count_only && n) {
      DrainArrayLocked(s, d, d.shared_array, discard);
      DrainArrayLocked(s, d, ac, discard);
    }
    return n;
  }

  uint64_t CheckCpuSlabs(KmemCache& s, uint64_t (&frozen)[kSlabNodes]) override
      MMLAB_REQUIRES(s.lock) {
    (void)frozen;  // SLAB has no CPU slabs
    CheckReport report;
    SlabData& d = Data(s);
    if (ArrayCache* sh = d.shared_array) {
      if (sh->avail > sh->limit) {
        report.Violation("slab %s: shared array holds %u of %u entries", s.name, sh->avail,
                         sh->limit);
      } else {
        for (uint32_t i = 0; i < sh->avail; i++) {
          if (!IsObjectOf(s, sh->entry()[i])) {
            report.Violation("slab %s: shared array entry %u is not an object of the cache",
                             s.name, i);
            break;
          }
        }
      }
    }
    // free_objects against the slabs (a debug cache does not keep it).
    if (!s.debug_flags) {
      for (uint32_t ni = 0; ni < kSlabNodes; ni++) {
        KmemCacheNode& n = s.node[ni];
        uint64_t free = 0;
        SlabList* lists[3] = {&n.partial, &n.full, &n.free};
        for (SlabList* list : lists)
          for (const ListNode* l = list->sentinel()->next; l != list->sentinel(); l = l->next)
            free += s.ObjectsIn(SlabList::Owner(l)) - SlabList::Owner(l)->inuse;
        if (free != n.free_objects)
          report.Violation("slab %s: node %u counts %lu free objects, its slabs hold %lu", s.name,
                           ni, n.free_objects, free);
      }
    }
    report.Finish();
    return report.count();
  }

  uint64_t CheckThisCpu(KmemCache& s, uint32_t cpu) override {
    SlabData& d = Data(s);
    if (cpu >= d.nr_cpus)
      return 0;
    ArrayCache* ac = CpuArray(d, cpu);
    auto bad = [&](const char* what, uint32_t i) {
      Log(MMLAB_LOG_ERR, "check: slab %s: CPU %u's array cache %s (entry %u of %u)", s.name, cpu,
          what, i, ac->avail);
      return uint64_t{1};
    };
    if (ac->avail > ac->limit)
      return bad("holds more than its limit", ac->limit);
    if (s.debug_flags && ac->avail)
      return bad("holds objects of a debug cache", 0);
    for (uint32_t i = 0; i < ac->avail; i++) {
      if (!IsObjectOf(s, ac->entry()[i]))
        return bad("holds a pointer that is not an object of the cache", i);
      for (uint32_t j = 0; j < i; j++)
        if (ac->entry()[j] == ac->entry()[i])
          return bad("holds an object twice (double free?)", i);
    }
    return 0;
  }

  bool UsageLocked(KmemCache& s, SlabUsage* out) override MMLAB_REQUIRES(s.lock) {
    if (s.debug_flags)
      return false;  // free_objects is not kept: the generic count
    // Linux's get_slabinfo(): objects in the arrays count as active.
    SlabUsage u = {};
    uint64_t free = 0, free_slabs = 0;
    for (KmemCacheNode& n : s.node) {
      u.num_objs += n.total_objects;
      u.num_slabs += n.nr_slabs;
      free += n.free_objects;
      free_slabs += n.nr_free;
    }
    u.active_objs = u.num_objs - Min(free, u.num_objs);
    u.active_slabs = u.num_slabs - free_slabs;
    u.pages = u.num_slabs << s.layout.order;
    *out = u;
    return true;
  }

  void Tunables(KmemCache& s, SlabTunables* out) override {
    SlabData& d = Data(s);
    *out = {d.limit, d.batchcount, d.shared, d.shared_array ? d.shared_array->avail : 0};
  }

 private:
  static void FreeData(SlabData* d) {
    if (d->cpu_arrays)
      mmlab_host_meta_free(d->cpu_arrays, d->cpu_stride * d->nr_cpus);
    if (d->shared_array)
      mmlab_host_meta_free(d->shared_array, d->shared_bytes);
    MetaDelete(d);
  }
};

constinit SlabArray g_slab;

}  // namespace

SlabPolicy& SlabArrayPolicy() { return g_slab; }

bool SlabArrayCountersOf(KmemCache& s, uint32_t cpu, SlabArrayCounters* out) {
  if (ReadOnce(s.policy) != &g_slab)
    return false;
  IrqSaveGuard guard(s.lock);
  SlabData& d = Data(s);
  SlabArrayCounters c = {};
  c.limit = d.limit;
  c.batchcount = d.batchcount;
  c.shared = d.shared;
  c.free_limit = d.free_limit;
  if (cpu < d.nr_cpus) {
    // Racy for another CPU's array; exact when nothing runs (tests).
    c.cpu_avail = ReadOnce(CpuArray(d, cpu)->avail);
    c.cpu_limit = CpuArray(d, cpu)->limit;
  }
  if (d.shared_array) {
    c.shared_avail = d.shared_array->avail;
    c.shared_limit = d.shared_array->limit;
  }
  c.refills = d.refills;
  c.refill_objects = d.refill_objects;
  c.shared_refills = d.shared_refills;
  c.flushes = d.flushes;
  c.flush_objects = d.flush_objects;
  c.shared_flushes = d.shared_flushes;
  c.grown = d.grown;
  c.freed_slabs = d.freed_slabs;
  *out = c;
  return true;
}

}  // namespace mmlab
