// SPDX-License-Identifier: GPL-2.0
//
// slab.cc - slab caches: layout, slabs, node lists, shrink, destroy, the
// checker, the slabinfo view and the kmem_cache_* C ABI (see slab.h for how
// it works; the per-CPU alloc/free policy is in slub.cc, kmalloc in
// kmalloc.cc).
#include "slab.h"

#include "alloc_trace.h"
#include "check.h"
#include "core.h"
#include "debug_report.h"
#include "kmalloc.h"
#include "log.h"
#include "page_debug.h"
#include "pcp.h"
#include "slob.h"

namespace mmlab {

namespace {

constexpr uint32_t kMaxOrderForWaste = 5;  // raised slub_max_order for awkward sizes

// Linux's get_order(). Above 2^63 bytes no page order fits in 64 bits
// (PAGE_SIZE << order would wrap, and the loop never end): such a size
// gets order 52, above any chunk order, so the caller refuses it.
uint32_t GetOrder(uint64_t size) {
  if (size > uint64_t{1} << 63)
    return 64 - MMLAB_PAGE_SHIFT;
  uint32_t order = 0;
  while ((uint64_t{MMLAB_PAGE_SIZE} << order) < size)
    order++;
  return order;
}


// Linux's calc_slab_order(); returns max_order + 1 when none fits.
uint32_t CalcSlabOrder(uint32_t size, uint32_t min_objects, uint32_t max_order,
                       uint32_t fract_leftover) {
  for (uint32_t order = GetOrder(uint64_t{min_objects} * size); order <= max_order; order++) {
    uint32_t slab_size = static_cast<uint32_t>(MMLAB_PAGE_SIZE << order);
    if (slab_size < size)
      continue;
    if (slab_size % size <= slab_size / fract_leftover)
      return order;
  }
  return max_order + 1;
}

void FormatPtr(const void* p, char* buf, size_t size) { mmlab_host_format_ptr(p, buf, size); }

}  // namespace

uint32_t CalculateAlignment(uint32_t flags, uint32_t align, uint32_t size) {
  if (flags & MMLAB_SLAB_HWCACHE_ALIGN) {
    uint32_t ralign = MMLAB_CACHE_LINE_SIZE;
    while (size <= ralign / 2)
      ralign /= 2;
    align = Max(align, ralign);
  }
  align = Max(align, 8u);
  return (align + 7) & ~7u;
}

uint32_t CalculateOrder(uint32_t size, uint32_t max_chunk_order, uint32_t* objects_out) {
  const uint32_t max_order = Min(kSlabMaxOrder, max_chunk_order);
  uint32_t max_objects = static_cast<uint32_t>((MMLAB_PAGE_SIZE << max_order) / size);
  uint32_t min_objects = Min(kSlabMinObjects, Max(max_objects, 1u));
  uint32_t order = max_order + 1;
  // SLUB: many objects with little waste first, then fewer objects.
  while (min_objects > 1 && order > max_order) {
    for (uint32_t fraction = 16; fraction >= 8 && order > max_order; fraction /= 2)
      order = CalcSlabOrder(size, min_objects, max_order, fraction);
    if (order > max_order)
      min_objects--;
  }
  // One object per slab is fine if the waste stays within 1/8; allow the
  // larger orders slub_max_order= would (mmlab keeps waste under 1/8).
  const uint32_t big = Min(kMaxOrderForWaste, max_chunk_order);
  if (order > max_order) {
    order = CalcSlabOrder(size, 1, max_order, 8);
    if (order > max_order)
      order = CalcSlabOrder(size, 1, big, 8);
    if (order > big)
      order = CalcSlabOrder(size, 1, big, 1);
  }
  if (order > big)
    order = big;
  *objects_out = static_cast<uint32_t>((MMLAB_PAGE_SIZE << order) / size);
  return order;
}

bool Layout(uint32_t size, uint32_t align, uint32_t flags, bool has_ctor,
            uint32_t max_chunk_order, SlabLayout* out) {
  SlabLayout l = {};
  l.object_size = size;
  l.align = CalculateAlignment(flags, align, size);
  if (flags & kSlabDebugFlags) {
    SlabDebugLayout(flags, has_ctor, &l);
  } else {
    uint32_t s = (size + 7) & ~7u;
    l.inuse = s;
    if (has_ctor) {
      l.offset = s;  // outside the object: a constructed object keeps its state
      s += sizeof(void*);
    } else {
      l.offset = (size / 2) & ~7u;  // in the middle, as SLUB (5.7+)
    }
    l.info_end = l.track_end = s;
    l.size = (s + l.align - 1) & ~(l.align - 1);
  }
  l.order = CalculateOrder(l.size, max_chunk_order, &l.objects);
  if (l.objects == 0)
    return false;
  l.waste = static_cast<uint32_t>((MMLAB_PAGE_SIZE << l.order) - uint64_t{l.objects} * l.size);
  *out = l;
  return true;
}

void CtorFill(void*) {}  // marker: NewSlab fills object_size bytes with kCtorFillByte

// --- KmemCache ---------------------------------------------------------------------

uint32_t KmemCache::NodeOf(const Page* slab) {
  return static_cast<uint32_t>(Core::PageZone(slab)->type());
}

mmlab_gfp_t KmemCache::SlabGfp(mmlab_gfp_t gfp) const {
  // Linux: gfp & GFP_RECLAIM_MASK | s->allocflags; objects are zeroed one
  // by one, never the slab.
  mmlab_gfp_t keep = MMLAB___GFP_RECLAIM | MMLAB___GFP_IO | MMLAB___GFP_FS | MMLAB___GFP_HIGH |
                     MMLAB___GFP_NOWARN | MMLAB___GFP_RETRY_MAYFAIL | MMLAB___GFP_NOFAIL |
                     MMLAB___GFP_NORETRY | MMLAB___GFP_MEMALLOC | MMLAB___GFP_NOMEMALLOC |
                     MMLAB___GFP_HARDWALL;
  mmlab_gfp_t g = (gfp & keep) | allocflags;
  if (layout.order)
    g |= MMLAB___GFP_COMP;
  return g;
}

uint32_t KmemCache::NodeOrder(mmlab_gfp_t, uint32_t (&order)[kSlabNodes]) const {
  if (allocflags & MMLAB___GFP_DMA32) {
    order[0] = MMLAB_ZONE_DMA32;
    return 1;
  }
  // The zonelist: Normal first, falling back to DMA32.
  order[0] = MMLAB_ZONE_NORMAL;
  order[1] = MMLAB_ZONE_DMA32;
  return 2;
}

Page* KmemCache::NewSlab(mmlab_gfp_t gfp, uint64_t* gen_out) {
  // The layout as of now: cache_debug may change it (under the lock) while
  // this runs; the caller compares the generation before using the slab.
  SlabLayout l;
  uint32_t debug;
  uint32_t colour = 0;
  {
    IrqSaveGuard guard(lock);
    l = layout;
    debug = debug_flags;
    if (gen_out)
      *gen_out = layout_gen;
    if (colour_mask) {
      // SLAB's cache_grow_begin: colour_off = the cache line (or the
      // alignment, if larger), colour = left_over / colour_off offsets, one
      // after the other per new slab.
      // As 6.1's cache_grow_begin: colour_next moves on first, so the
      // first slab of a cache with several colours gets colour 1.
      const uint32_t colours = colour_off ? l.waste / colour_off : 0;
      if (++colour_next >= colours)
        colour_next = 0;
      colour = (colour_next < colours ? colour_next : 0) * colour_off;
    }
  }
  Page* slab = core->AllocPages(SlabGfp(gfp), l.order, kPgSlab);
  if (!slab)
    return nullptr;
  uintptr_t base = SlabBase(slab);
  uint32_t objects = static_cast<uint32_t>((MMLAB_PAGE_SIZE << slab->order) / l.size);
  if (debug & MMLAB_SLAB_POISON)
    FillBytes(reinterpret_cast<void*>(base), kPoisonInuse, MMLAB_PAGE_SIZE << slab->order);
  for (uint32_t i = 1; i < (1u << slab->order); i++) {
    slab[i].slab_head = slab;
    slab[i].slab_cache = this;
  }
  slab->slab_list.prev = slab->slab_list.next = nullptr;
  slab->slab_cache = this;
  slab->inuse = 0;
  slab->frozen = 0;
  slab->colour = static_cast<uint16_t>(colour);
  // KASAN: no object of a new slab is accessible until it is handed out
  // (Linux's kasan_poison_slab; the constructor gets each one briefly).
  mmlab_host_poison(reinterpret_cast<void*>(base), MMLAB_PAGE_SIZE << slab->order,
                    MMLAB_HOST_POISON_REDZONE);
  // Construct every object once, now (not on each allocation), and chain
  // them in address order.
  base += l.red_left_pad + colour;
  for (uint32_t i = 0; i < objects; i++) {
    void* obj = reinterpret_cast<void*>(base + uintptr_t{i} * l.size);
    if (MMLAB_UNLIKELY(debug))
      SlabDebugInitObject(l, debug, ctor != nullptr, obj);
    if (ctor) {
      mmlab_host_unpoison(obj, l.object_size);
      if (ctor == CtorFill)
        __builtin_memset(obj, kCtorFillByte, l.object_size);
      else
        ctor(obj);
      mmlab_host_poison(obj, l.object_size, MMLAB_HOST_POISON_REDZONE);
    }
    void* next = i + 1 < objects ? reinterpret_cast<void*>(base + uintptr_t{i + 1} * l.size)
                                 : nullptr;
    __builtin_memcpy(static_cast<char*>(obj) + l.offset, &next, sizeof(next));
  }
  slab->freelist = l.red_left_pad + colour;
  if (ctor) {
    IrqSaveGuard guard(lock);
    ctor_calls += objects;
  }
  return slab;
}

void KmemCache::AccountNewSlab(Page* slab) {
  KmemCacheNode& n = node[NodeOf(slab)];
  n.nr_slabs++;
  n.total_objects += ObjectsIn(slab);
  slabs_allocated++;
}

void KmemCache::UnaccountSlab(Page* slab) {
  KmemCacheNode& n = node[NodeOf(slab)];
  n.nr_slabs--;
  n.total_objects -= ObjectsIn(slab);
  slabs_freed++;
  // No longer this cache's from here on: a double free that raced with the
  // discard sees it under the lock (the policy's slow-path free), and
  // SlabFindObject no longer takes the slab for an object's.
  WriteOnce(slab->slab_cache, static_cast<void*>(nullptr));
}

void KmemCache::FreeSlab(Core& core, Page* slab) {
  uint32_t order = slab->order;
  // The buddy's pages are always accessible (it zeroes them with memset).
  mmlab_host_unpoison(reinterpret_cast<void*>(SlabBase(slab)), MMLAB_PAGE_SIZE << order);
  for (uint32_t i = 1; i < (1u << order); i++) {
    slab[i].slab_head = nullptr;
    slab[i].slab_cache = nullptr;
  }
  slab->slab_list.prev = slab->slab_list.next = nullptr;
  slab->slab_cache = nullptr;
  slab->freelist = 0;
  slab->inuse = 0;
  slab->frozen = 0;
  slab->SetFlags(slab->Flags() & ~kPgSlab);
  MMLAB_ASSERT(core.FreePages(slab, order) == MMLAB_OK);
}

void KmemCache::PutSlab(Page* slab, bool to_tail, SlabList* discard) {
  KmemCacheNode& n = node[NodeOf(slab)];
  if (slab->inuse == 0 && (zombie || n.nr_partial >= kSlabMinPartial)) {
    UnaccountSlab(slab);
    discard->PushBack(slab);
  } else if (slab->freelist == kSlabNoFree) {
    n.full.PushBack(slab);
    n.nr_full++;
  } else {
    if (to_tail)
      n.partial.PushBack(slab);
    else
      n.partial.PushFront(slab);
    n.nr_partial++;
  }
}

uint64_t KmemCache::TakeEmptySlabs(SlabList* discard) {
  uint64_t pages = 0;
  for (KmemCacheNode& n : node) {
    Page* next;
    for (Page* slab = n.partial.front(); slab; slab = next) {
      next = slab->slab_list.next == n.partial.sentinel() ? nullptr
                                                           : SlabList::Owner(slab->slab_list.next);
      if (slab->inuse != 0)
        continue;
      SlabList::Remove(slab);
      n.nr_partial--;
      UnaccountSlab(slab);
      discard->PushBack(slab);
      pages += uint64_t{1} << slab->order;
    }
    // SLAB's slabs_free: every one is empty.
    while (Page* slab = n.free.PopFront()) {
      n.nr_free--;
      n.free_objects -= ObjectsIn(slab);
      UnaccountSlab(slab);
      discard->PushBack(slab);
      pages += uint64_t{1} << slab->order;
    }
  }
  return pages;
}

uint64_t FreeDiscardedSlabs(Core& core, SlabList* discard) {
  uint64_t pages = 0;
  while (Page* slab = discard->PopFront()) {
    pages += uint64_t{1} << slab->order;
    KmemCache::FreeSlab(core, slab);
  }
  return pages;
}

namespace {

uint64_t FreeDiscarded(Core& core, SlabList* discard) { return FreeDiscardedSlabs(core, discard); }

// The pages it returns include the empty CPU slabs that flushing freed
// (fuzz_model found them missing from the count).
uint64_t ShrinkCache(KmemCache& s) {
  const uint64_t flushed = s.policy->FlushAll(s, false);
  SlabList discard;
  {
    IrqSaveGuard guard(s.lock);
    s.TakeEmptySlabs(&discard);
  }
  return flushed + FreeDiscarded(*s.core, &discard);
}

// The one "slab" shrinker: counts and frees the empty slabs on every
// cache's partial lists (pages, not objects: what reclaim is after). It
// leaves the CPU slabs alone (flushing them means on_each_cpu).
uint64_t SlabShrinkCount(Shrinker* sh, ShrinkControl*) {
  SlabAllocator& a = *static_cast<SlabAllocator*>(sh->private_data);
  uint64_t pages = 0;
  // This CPU (for ReapLocked) before any lock, as on_each_cpu nests them.
  uint32_t cpu;
  const unsigned long flags = mmlab_host_local_irq_save(&cpu);
  {
    IrqSaveGuard list_guard(a.list_lock);
    for (const ListNode* n = a.caches.sentinel()->next; n != a.caches.sentinel(); n = n->next) {
      KmemCache* s = decltype(a.caches)::Owner(n);
      IrqSaveGuard guard(s->lock);
      // Objects a reap would give back (SLAB's arrays): as pages, rounded up.
      const uint64_t reapable = s->policy->ReapLocked(*s, cpu, nullptr, true);
      if (reapable)
        pages += ((reapable + s->layout.objects - 1) / s->layout.objects) << s->layout.order;
      for (KmemCacheNode& node : s->node) {
        for (const ListNode* l = node.partial.sentinel()->next; l != node.partial.sentinel();
             l = l->next) {
          const Page* slab = SlabList::Owner(l);
          if (slab->inuse == 0)
            pages += uint64_t{1} << slab->order;
        }
        for (const ListNode* l = node.free.sentinel()->next; l != node.free.sentinel();
             l = l->next)
          pages += uint64_t{1} << SlabList::Owner(l)->order;
      }
    }
  }
  mmlab_host_local_irq_restore(flags);
  return pages;
}

uint64_t SlabShrinkScan(Shrinker* sh, ShrinkControl* sc) {
  SlabAllocator& a = *static_cast<SlabAllocator*>(sh->private_data);
  uint64_t freed = 0;
  // Caches are never freed while on the list, and an emptied slab needs
  // only its own cache to be freed; collect under the locks, free after.
  while (freed < sc->nr_to_scan) {
    KmemCache* victim = nullptr;
    SlabList discard;
    uint32_t cpu;
    const unsigned long flags = mmlab_host_local_irq_save(&cpu);  // as in SlabShrinkCount
    {
      IrqSaveGuard list_guard(a.list_lock);
      for (const ListNode* n = a.caches.sentinel()->next; n != a.caches.sentinel(); n = n->next) {
        KmemCache* s = decltype(a.caches)::Owner(n);
        IrqSaveGuard guard(s->lock);
        s->policy->ReapLocked(*s, cpu, &discard, false);
        if (s->TakeEmptySlabs(&discard) || !discard.empty()) {
          victim = s;
          break;
        }
      }
    }
    mmlab_host_local_irq_restore(flags);
    if (!victim)
      break;
    // The cache may be destroyed meanwhile: FreeSlab touches the pages only.
    freed += FreeDiscarded(*a.core, &discard);
  }
  return freed ? freed : kShrinkStop;
}

// list_slab_objects(): per slab with live objects a SLUB report, then each
// live object with its tracks (U); at most kSlabMaxLeakReports objects in
// all, then how many more. Never rate limited: it is bounded, and it is
// what an unload leaves behind.
void SlabLeakReport(KmemCache& s) MMLAB_REQUIRES(s.lock) {
  Log(MMLAB_LOG_ERR, "kmem_cache_destroy %s: Slab cache still has objects", s.name);
  uint32_t reported = 0, more = 0;
  for (KmemCacheNode& n : s.node) {
    SlabList* lists[2] = {&n.partial, &n.full};
    for (SlabList* list : lists) {
      for (const ListNode* l = list->sentinel()->next; l != list->sentinel(); l = l->next) {
        const Page* slab = SlabList::Owner(l);
        if (!slab->inuse)
          continue;
        const uintptr_t base = s.ObjBase(slab);
        const uint32_t objects = s.ObjectsIn(slab);
        if (reported < kSlabMaxLeakReports) {
          DebugBug(s.name, "Objects remaining in %s on __kmem_cache_shutdown()", s.name);
          DebugLine("Slab 0x%s objects=%u used=%u fp=0x%s flags=slab%s", PtrText(slab).buf,
                    objects, slab->inuse, PtrText(s.SlabFreelist(slab)).buf,
                    slab->order ? "|head" : "");
        }
        // Mark the free ones, walking the freelist (bounded); objects past
        // the map's 4096 are looked up on the freelist one by one.
        uint64_t free_map[64] = {};
        void* p = s.SlabFreelist(slab);
        for (uint32_t i = 0; p && i < objects; i++) {
          uint32_t idx =
              static_cast<uint32_t>((reinterpret_cast<uintptr_t>(p) - base) / s.layout.size);
          if (idx < 4096)
            free_map[idx / 64] |= uint64_t{1} << (idx % 64);
          p = s.FreePointer(p);
        }
        for (uint32_t i = 0; i < objects; i++) {
          if (i < 4096 && (free_map[i / 64] & (uint64_t{1} << (i % 64))))
            continue;
          if (i >= 4096) {
            bool is_free = false;
            void* q = s.SlabFreelist(slab);
            for (uint32_t k = 0; q && k < objects && !is_free; k++, q = s.FreePointer(q))
              is_free = reinterpret_cast<uintptr_t>(q) == base + uintptr_t{i} * s.layout.size;
            if (is_free)
              continue;
          }
          if (reported >= kSlabMaxLeakReports) {
            more++;
            continue;
          }
          reported++;
          SlabDebugPrintLeak(s, slab, s.ObjectAt(slab, i));
        }
      }
    }
  }
  if (more)
    Log(MMLAB_LOG_ERR, "slab %s: %u more objects not shown", s.name, more);
}

uint64_t LiveObjects(KmemCache& s) MMLAB_REQUIRES(s.lock) {
  uint64_t live = 0;
  if (s.policy->LiveObjectsLocked(s, &live))
    return live;
  for (KmemCacheNode& n : s.node) {
    SlabList* lists[2] = {&n.partial, &n.full};
    for (SlabList* list : lists)
      for (const ListNode* l = list->sentinel()->next; l != list->sentinel(); l = l->next)
        live += SlabList::Owner(l)->inuse;
  }
  return live;
}

void FreeCacheStruct(KmemCache* s) {
  s->policy->Detach(*s);
  s->stats.Free();
  s->lock.Destroy();
  MetaDelete(s);
}

}  // namespace

mmlab_status KmemCacheCreate(Core& core, const char* name, uint32_t size, uint32_t align,
                             uint32_t flags, mmlab_ctor_fn ctor, bool kmalloc, KmemCache** out,
                             TextBuf* why, SlabPolicy* policy) {
  *out = nullptr;
  if (!policy)
    policy = &SlabDefaultPolicy(core);
  size_t len = 0;
  while (name && name[len] && len < MMLAB_KMEM_CACHE_NAME_MAX)
    len++;
  if (!name || len == 0 || len >= MMLAB_KMEM_CACHE_NAME_MAX) {
    Report(why, MMLAB_LOG_WARN, "kmem_cache_create: name must be 1..%u bytes",
           MMLAB_KMEM_CACHE_NAME_MAX - 1);
    return MMLAB_EINVAL;
  }
  if (size == 0 || size > kSlabMaxSize) {
    Report(why, MMLAB_LOG_WARN, "kmem_cache_create(%s): size %u out of range 1..%u", name, size,
           kSlabMaxSize);
    return MMLAB_EINVAL;
  }
  if (align & (align - 1) || align > MMLAB_PAGE_SIZE) {
    Report(why, MMLAB_LOG_WARN, "kmem_cache_create(%s): align %u is not a power of two up to %lu",
           name, align, MMLAB_PAGE_SIZE);
    return MMLAB_EINVAL;
  }
  if (flags & ~MMLAB_SLAB_FLAGS_VALID) {
    Report(why, MMLAB_LOG_WARN, "kmem_cache_create(%s): unknown flags 0x%x", name,
           flags & ~MMLAB_SLAB_FLAGS_VALID);
    return MMLAB_EINVAL;
  }
  // slub_debug= (a policy without debugging, SLOB, leaves it out, as
  // Linux's SLOB ignored slub_debug).
  if (policy->SupportsDebug())
    flags |= SlabDefaultDebugFor(core, name);
  else if (flags & kSlabDebugFlags) {
    Report(why, MMLAB_LOG_WARN, "kmem_cache_create(%s): the %s policy has no debugging", name,
           policy->name());
    return MMLAB_EINVAL;
  }
  SlabLayout layout;
  if (!Layout(size, align, flags, ctor != nullptr, core.chunk_order(), &layout) ||
      layout.order > core.chunk_order()) {
    Report(why, MMLAB_LOG_WARN,
           "kmem_cache_create(%s): size %u does not fit in a slab of at most order %u", name, size,
           core.chunk_order());
    return MMLAB_EINVAL;
  }
  mmlab_host_might_sleep();
  KmemCache* s = MetaNew<KmemCache>();
  if (!s) {
    Report(why, MMLAB_LOG_WARN, "kmem_cache_create(%s): no memory for the cache", name);
    return MMLAB_ENOMEM;
  }
  s->core = &core;
  s->fault = &core.fault();
  __builtin_memcpy(s->name, name, len);
  s->flags = flags;
  s->debug_flags = flags & kSlabDebugFlags;
  s->ctor = ctor;
  s->layout = layout;
  s->allocflags = (flags & MMLAB_SLAB_CACHE_DMA32) ? MMLAB___GFP_DMA32 : 0;
  s->kmalloc = kmalloc;
  s->policy = policy;
  if (!s->lock.Init("mmlab_kmem_cache") || !s->stats.Alloc(core.nr_cpus()) ||
      s->policy->Attach(*s) != MMLAB_OK) {
    s->stats.Free();
    s->lock.Destroy();
    MetaDelete(s);
    Report(why, MMLAB_LOG_WARN, "kmem_cache_create(%s): no memory for the cache", name);
    return MMLAB_ENOMEM;
  }
  SlabAllocator& a = core.slab();
  {
    IrqSaveGuard guard(a.list_lock);
    a.caches.PushBack(s);
    a.nr_caches++;
  }
  if (MMLAB_UNLIKELY(core.trace_on()) && !kmalloc)
    TraceCache(core, TraceOp::kCacheCreate, s, name, size, align, flags, ctor != nullptr);
  *out = s;
  return MMLAB_OK;
}

Page* VirtToPageIrqsOff(Core& core, const void* addr) {
  for (uint32_t z = 0; z < core.nr_zones(); z++) {
    Page* page = core.zone(z).VirtToPageIrqsOff(reinterpret_cast<uintptr_t>(addr));
    if (page)
      return page;
  }
  return nullptr;
}

Page* SlabFindObject(Core& core, KmemCache* s, const void* obj, KmemCache** owner,
                     const char* func, TextBuf* why) {
  return SlabFindObjectAt(core, VirtToPageIrqsOff(core, obj), s, obj, owner, func, why);
}

Page* SlabFindObjectAt(Core& core, Page* page, KmemCache* s, const void* obj, KmemCache** owner,
                       const char* func, TextBuf* why) {
  char ptr[32];
  Page* slab = nullptr;
  if (page) {
    PageState st = page->State();
    if (st == PageState::kAllocHead && (page->Flags() & kPgSlob))
      return SlobFindObject(core, page, s, obj, owner, func, why);
    if (st == PageState::kAllocHead)
      slab = page;
    else if (st == PageState::kAllocTail)
      slab = ReadOnce(page->slab_head);
    if (slab && !(slab->IsAllocHead() && (slab->Flags() & kPgSlab)))
      slab = nullptr;
  }
  KmemCache* c = slab ? static_cast<KmemCache*>(ReadOnce(slab->slab_cache)) : nullptr;
  if (!c) {
    if (s)
      WriteOnce(s->bad_frees, s->bad_frees + 1);
    FormatPtr(obj, ptr, sizeof(ptr));
    if (s)
      Report(why, MMLAB_LOG_WARN, "%s(%s): object %s is not in a slab; ignored", func, s->name,
             ptr);
    else
      Report(why, MMLAB_LOG_WARN, "%s: object %s is not in a slab; ignored", func, ptr);
    return nullptr;
  }
  if (s && c != s) {
    FormatPtr(obj, ptr, sizeof(ptr));
    Report(why, MMLAB_LOG_WARN, "%s: Wrong slab cache. %s but object %s is from %s; ignored", func,
           s->name, ptr, c->name);
    WriteOnce(s->bad_frees, s->bad_frees + 1);
    return nullptr;
  }
  uintptr_t off = reinterpret_cast<uintptr_t>(obj) - c->ObjBase(slab);
  if (off % c->layout.size != 0 || off / c->layout.size >= c->ObjectsIn(slab)) {
    if (c->debug_flags && DebugReportBegin()) {
      // SLUB's free_consistency_checks(): slab_err + slab_fix.
      DebugBug(c->name, "Invalid object pointer 0x%s", PtrText(obj).buf);
      DebugLine("Slab 0x%s objects=%u used=%u fp=0x%s flags=slab%s", PtrText(slab).buf,
                c->ObjectsIn(slab), slab->inuse, PtrText(c->SlabFreelist(slab)).buf,
                slab->order ? "|head" : "");
      DebugFix(c->name, "Object at 0x%s not freed", PtrText(obj).buf);
    }
    FormatPtr(obj, ptr, sizeof(ptr));
    Report(why, MMLAB_LOG_WARN,
           "%s(%s): %s is not the start of an object (offset %lu in the slab at pfn 0x%lx); "
           "ignored",
           func, c->name, ptr, static_cast<uint64_t>(off), Core::PageToPfn(slab));
    if (s)  // kfree counts its own
      WriteOnce(c->bad_frees, c->bad_frees + 1);
    return nullptr;
  }
  if (owner)
    *owner = c;
  return slab;
}

namespace {

// Linux's GFP_SLAB_BUG_MASK: the zone comes from the cache, not the call.
mmlab_gfp_t SlabFixGfp(KmemCache* s, mmlab_gfp_t gfp, const char* func) {
  if (MMLAB_UNLIKELY(gfp & MMLAB___GFP_DMA32)) {
    Report(nullptr, MMLAB_LOG_WARN,
        "%s: Unexpected gfp: __GFP_DMA32. Fixing up to gfp without it (cache %s)", func,
        s->name);
    gfp &= ~MMLAB___GFP_DMA32;
  }
  return gfp;
}

// The gfp checks every allocation makes before the policy runs.
mmlab_gfp_t SlabAllocGfp(KmemCache* s, mmlab_gfp_t gfp, const char* func) {
  gfp = SlabFixGfp(s, gfp, func);
  if (gfp & MMLAB___GFP_DIRECT_RECLAIM)
    mmlab_host_might_sleep();
  return gfp;
}

}  // namespace

void* KmemCacheAllocCaller(KmemCache* s, mmlab_gfp_t gfp, uintptr_t caller, size_t bytes_req,
                           bool trace) {
  gfp = SlabFixGfp(s, gfp, s->kmalloc ? "kmalloc" : "kmem_cache_alloc");
  void* obj = KmemCacheAllocChecked(s, gfp, caller);
  if (trace)
    mmlab_host_trace_kmem_cache_alloc(caller, obj, s->name, bytes_req, s->layout.size, gfp);
  if (MMLAB_UNLIKELY(s->core->trace_on()) && trace)
    TraceObject(*s->core, TraceOp::kCacheAlloc, obj, s, s->layout.object_size, gfp, caller);
  return obj;
}

size_t KmemCacheAllocBulk(KmemCache* s, mmlab_gfp_t gfp, size_t nr, void** objs) {
  gfp = SlabAllocGfp(s, gfp, "kmem_cache_alloc_bulk");
  size_t got = 0;
  // One fault-injection draw per bulk call (failslab fails the whole batch).
  const bool ok = !ReadOnce(s->zombie) && !s->fault->ShouldFailSlab(gfp, s->layout.object_size, s->flags);
  if (ok && MMLAB_UNLIKELY(ReadOnce(s->debug_flags)))
    got = SlabDebugAllocBulk(s, gfp, nr, objs, 0);
  else if (ok)
    got = s->policy->AllocBulk(*s, gfp, nr, objs);
  else
    for (size_t i = 0; i < nr; i++)
      objs[i] = nullptr;
  for (size_t i = 0; i < got; i++) {
    mmlab_host_object_alloc(objs[i], s->layout.object_size, gfp);
    if (gfp & MMLAB___GFP_ZERO)
      __builtin_memset(objs[i], 0, s->layout.object_size);
  }
  return got;
}

namespace {

KmemCache* FindControlLocked(SlabAllocator& a, uint64_t id) MMLAB_REQUIRES(a.list_lock) {
  for (const ListNode* n = a.caches.sentinel()->next; n != a.caches.sentinel(); n = n->next) {
    KmemCache* s = decltype(a.caches)::Owner(n);
    if (id != 0 && s->control_id == id)
      return s;
  }
  return nullptr;
}

}  // namespace

KmemCache* SlabGetControlCache(Core& core, uint64_t id) {
  SlabAllocator& a = core.slab();
  IrqSaveGuard guard(a.list_lock);
  KmemCache* s = FindControlLocked(a, id);
  if (s)
    s->control_users++;
  return s;
}

void SlabPutControlCache(Core& core, KmemCache* s) {
  SlabAllocator& a = core.slab();
  IrqSaveGuard guard(a.list_lock);
  if (MMLAB_ASSERT(s->control_users > 0))
    s->control_users--;
}

uint64_t SlabAssignControlId(Core& core, KmemCache* s) {
  SlabAllocator& a = core.slab();
  IrqSaveGuard guard(a.list_lock);
  s->control_id = a.next_control_id++;
  return s->control_id;
}

// Linux's kmem_cache_destroy / __kmem_cache_shutdown.
mmlab_status KmemCacheDestroy(KmemCache* s) {
  mmlab_host_might_sleep();
  Core& core = *s->core;
  if (MMLAB_UNLIKELY(core.trace_on()) && !s->kmalloc)
    TraceCache(core, TraceOp::kCacheDestroy, s, nullptr, 0, 0, 0, false);
  SlabAllocator& a = core.slab();
  s->policy->FlushAll(*s, true);
  SlabList discard;
  bool busy;
  {
    IrqSaveGuard list_guard(a.list_lock);
    {
      IrqSaveGuard guard(s->lock);
      s->TakeEmptySlabs(&discard);
      busy = LiveObjects(*s) != 0;
      if (busy) {
        WriteOnce(s->zombie, true);
        SlabLeakReport(*s);
      } else {
        decltype(a.caches)::Remove(s);
        a.nr_caches--;
      }
    }
  }
  FreeDiscarded(core, &discard);
  if (busy)
    return MMLAB_EBUSY;
  FreeCacheStruct(s);
  return MMLAB_OK;
}

mmlab_status SlabControlDestroy(Core& core, uint64_t id, bool* pinned) {
  SlabAllocator& a = core.slab();
  KmemCache* s;
  *pinned = false;
  {
    IrqSaveGuard guard(a.list_lock);
    s = FindControlLocked(a, id);
    if (!s)
      return MMLAB_ENOENT;
    if (s->control_users) {
      *pinned = true;
      return MMLAB_EBUSY;
    }
    s->control_id = 0;  // nobody finds it while it is being destroyed
  }
  mmlab_status st = KmemCacheDestroy(s);
  if (st != MMLAB_OK) {
    IrqSaveGuard guard(a.list_lock);
    s->control_id = id;  // a zombie: still reachable for cache_free/destroy
  }
  return st;
}

// --- policies -------------------------------------------------------------------

SlabPolicy* SlabPolicyByName(const char* name, size_t len) {
  if (!name)
    return nullptr;
  SlabPolicy* all[] = {&SlubPolicy(), &SlabArrayPolicy(), &SlobPolicy()};
  const char* names[] = {"slub", "slab", "slob"};
  for (size_t i = 0; i < 3; i++) {
    size_t n = 0;
    while (n < len && names[i][n] && name[n] == names[i][n])  // no memcmp in the core
      n++;
    if (n == len && names[i][n] == '\0')
      return all[i];
  }
  return nullptr;
}

SlabPolicy& SlabDefaultPolicy(Core& core) {
  SlabPolicy* p = ReadOnce(core.slab().default_policy);
  return p ? *p : SlubPolicy();
}

mmlab_status SlabSetDefaultPolicy(Core& core, const char* name, size_t len, TextBuf* why) {
  SlabPolicy* p = SlabPolicyByName(name, len);
  if (!p) {
    char shown[16] = {};
    for (size_t i = 0; i < len && i + 1 < sizeof(shown); i++)
      shown[i] = name[i] > ' ' && name[i] < 0x7f ? name[i] : '?';
    Report(why, MMLAB_LOG_WARN, "slab_policy: '%s' unknown (slub, slab or slob)", shown);
    return MMLAB_EINVAL;
  }
  WriteOnce(core.slab().default_policy, p);
  return MMLAB_OK;
}

// Linux has no such thing: a cache's allocator is fixed for its life. In
// mmlab a cache nobody uses may change policy while it has no slab at all,
// under the rules of SlabSetDebug (cache_debug).
mmlab_status SlabSetPolicy(KmemCache& s, SlabPolicy& policy, TextBuf* why) {
  mmlab_host_might_sleep();
  SlabPolicy* const old = s.policy;
  if (&policy == old)
    return MMLAB_OK;
  if (ReadOnce(s.zombie)) {
    Report(why, MMLAB_LOG_WARN, "cache_policy %s: the cache is destroyed (objects left)", s.name);
    return MMLAB_EBUSY;
  }
  if (ReadOnce(s.debug_flags) && !policy.SupportsDebug()) {
    Report(why, MMLAB_LOG_WARN,
           "cache_policy %s: the %s policy has no debugging; clear the debug flags first", s.name,
           policy.name());
    return MMLAB_EINVAL;
  }
  // The new policy's per-cache state first: if it cannot be had, nothing
  // changed. Attach works on a scratch cache view (policy_data is the old
  // policy's until the switch).
  void* const old_data = s.policy_data;
  const uint16_t old_mask = s.colour_mask, old_off = s.colour_off;
  old->FlushAll(s, false);
  SlabList discard;
  uint64_t slabs = 0, live = 0;
  mmlab_status st = MMLAB_OK;
  {
    IrqSaveGuard guard(s.lock);
    s.TakeEmptySlabs(&discard);
    for (KmemCacheNode& n : s.node) {
      slabs += n.nr_slabs;
      SlabList* lists[2] = {&n.partial, &n.full};
      for (SlabList* list : lists)
        for (const ListNode* l = list->sentinel()->next; l != list->sentinel(); l = l->next)
          live += SlabList::Owner(l)->inuse;
    }
    uint64_t held = 0;
    if (!slabs && old->LiveObjectsLocked(s, &held) && held)
      slabs = 1;  // a policy with its own heap (SLOB) still holds objects
    live += held;
  }
  FreeDiscardedSlabs(*s.core, &discard);
  if (slabs) {
    Report(why, MMLAB_LOG_WARN,
           "cache_policy %s: the cache is not empty (%lu objects in use, %lu slabs); free them "
           "first",
           s.name, live, slabs);
    return MMLAB_EBUSY;
  }
  // Attach may sleep: no lock. Nobody may use the cache meanwhile (see
  // docs/slab-policies.md): the control file refuses a cache another
  // command holds, and kmalloc caches only switch at load.
  // Colouring is the new policy's to switch on (SLAB's Attach does).
  s.policy_data = nullptr;
  s.colour_mask = 0;
  s.colour_off = 0;
  st = policy.Attach(s);
  if (st != MMLAB_OK) {
    policy.Detach(s);
    s.policy_data = old_data;
    s.colour_mask = old_mask;
    s.colour_off = old_off;
    Report(why, MMLAB_LOG_WARN, "cache_policy %s: no memory for the %s policy; still %s", s.name,
           policy.name(), old->name());
    return st;
  }
  void* const new_data = s.policy_data;
  const uint16_t new_mask = s.colour_mask, new_off = s.colour_off;
  {
    IrqSaveGuard guard(s.lock);
    uint64_t now = 0;
    for (KmemCacheNode& n : s.node)
      now += n.nr_slabs;
    if (now) {
      st = MMLAB_EBUSY;  // someone allocated meanwhile
    } else {
      WriteOnce(s.policy, &policy);
      s.layout_gen++;  // a slab made meanwhile for the old policy is dropped
      s.colour_next = 0;
    }
  }
  if (st != MMLAB_OK) {
    policy.Detach(s);
    s.policy_data = old_data;
    s.colour_mask = old_mask;
    s.colour_off = old_off;
    Report(why, MMLAB_LOG_WARN, "cache_policy %s: the cache was used meanwhile; still %s", s.name,
           old->name());
    return st;
  }
  // Every CPU leaves the old policy's interrupts-off sections before its
  // state goes.
  SynchronizeCpus();
  s.policy_data = old_data;
  s.colour_mask = old_mask;
  s.colour_off = old_off;
  old->Detach(s);
  s.policy_data = new_data;
  s.colour_mask = new_mask;
  s.colour_off = new_off;
  return MMLAB_OK;
}

void SlabCpuDead(SlabAllocator& a, uint32_t cpu) {
  // Nothing runs on a dead CPU, so its kmem_cache_cpu holds still; freed
  // slabs are collected under the locks and given back after.
  SlabList discard;
  {
    IrqSaveGuard list_guard(a.list_lock);
    for (const ListNode* l = a.caches.sentinel()->next; l != a.caches.sentinel(); l = l->next) {
      KmemCache* s = decltype(a.caches)::Owner(l);
      IrqSaveGuard guard(s->lock);
      s->policy->FlushDeadCpu(*s, cpu, &discard);
    }
  }
  FreeDiscarded(*a.core, &discard);
}

// --- life cycle ------------------------------------------------------------------

mmlab_status SlabCreate(Core& core, SlabAllocator** out) {
  *out = nullptr;
  SlabAllocator* a = MetaNew<SlabAllocator>();
  if (!a)
    return MMLAB_ENOMEM;
  a->core = &core;
  if (!a->list_lock.Init("mmlab_slab_caches")) {
    MetaDelete(a);
    return MMLAB_ENOMEM;
  }
  *out = a;  // the kmalloc caches find the allocator through core.slab()
  mmlab_status st = KmallocCreateCaches(core, *a);
  if (st == MMLAB_OK) {
    a->shrinker.name = "slab";
    a->shrinker.count_objects = SlabShrinkCount;
    a->shrinker.scan_objects = SlabShrinkScan;
    a->shrinker.private_data = a;
    st = core.shrinkers().Register(&a->shrinker);
    a->shrinker_registered = st == MMLAB_OK;
  }
  if (st != MMLAB_OK) {
    SlabDestroy(a);
    *out = nullptr;
  }
  return st;
}

void SlabDestroy(SlabAllocator* a) {
  if (!a)
    return;
  Core& core = *a->core;
  if (a->shrinker_registered)
    core.shrinkers().Unregister(&a->shrinker);
  a->shrinker_registered = false;
  // Every cache goes, the kmalloc classes last; a cache with live objects
  // was (or is now) reported, and its slabs stay allocated, so Core's
  // zone teardown reports and leaks their pages.
  for (;;) {
    KmemCache* s;
    {
      IrqSaveGuard guard(a->list_lock);
      s = a->caches.back();
      if (!s)
        break;
    }
    mmlab_status st = KmemCacheDestroy(s);
    if (st != MMLAB_OK) {
      {
        IrqSaveGuard guard(a->list_lock);
        decltype(a->caches)::Remove(s);
        a->nr_caches--;
      }
      uint64_t pages = 0;
      {
        IrqSaveGuard guard(s->lock);
        for (KmemCacheNode& n : s->node) {
          // Slabs with live objects stay allocated; forget them.
          while (Page* slab = n.partial.PopFront())
            pages += uint64_t{1} << slab->order;
          while (Page* slab = n.full.PopFront())
            pages += uint64_t{1} << slab->order;
          while (Page* slab = n.free.PopFront())
            pages += uint64_t{1} << slab->order;
        }
      }
      Log(MMLAB_LOG_ERR, "slab: cache %s destroyed with live objects: %lu pages stay allocated",
          s->name, pages);
      FreeCacheStruct(s);
    }
  }
  for (KmemCache*& k : a->kmalloc_caches)
    k = nullptr;
  a->list_lock.Destroy();
  MetaDelete(a);
}

uint64_t SlabControlDestroyAll(Core& core) {
  SlabAllocator& a = core.slab();
  uint64_t n = 0;
  for (;;) {
    KmemCache* victim = nullptr;
    {
      IrqSaveGuard guard(a.list_lock);
      for (const ListNode* l = a.caches.sentinel()->next; l != a.caches.sentinel(); l = l->next) {
        KmemCache* s = decltype(a.caches)::Owner(l);
        if (s->control_id != 0 && s->control_users == 0) {
          victim = s;
          break;
        }
      }
      if (victim)
        victim->control_id = 0;  // not found again, whatever happens
    }
    if (!victim)
      break;
    if (KmemCacheDestroy(victim) == MMLAB_OK)
      n++;
  }
  // The control file's kmalloc objects are gone too: give every cache's
  // empty slabs (the CPU slabs included) back, so free_all leaves no slab
  // page behind to pin a chunk.
  for (uint32_t i = 0;; i++) {
    KmemCache* s = nullptr;
    {
      IrqSaveGuard guard(a.list_lock);
      // Only the kmalloc classes, which live as long as the allocator, are
      // safe to use after the lock is dropped.
      uint32_t k = 0;
      for (const ListNode* l = a.caches.sentinel()->next; l != a.caches.sentinel(); l = l->next) {
        KmemCache* c = decltype(a.caches)::Owner(l);
        if (c->kmalloc && k++ == i) {
          s = c;
          break;
        }
      }
    }
    if (!s)
      break;
    ShrinkCache(*s);
  }
  return n;
}

// --- the checker -----------------------------------------------------------------

namespace {

uint64_t CheckCache(KmemCache& s, CheckReport& report) MMLAB_REQUIRES(s.lock) {
  uint64_t frozen[kSlabNodes] = {};
  uint64_t bad = s.policy->CheckCpuSlabs(s, frozen);
  for (uint32_t ni = 0; ni < kSlabNodes; ni++) {
    KmemCacheNode& n = s.node[ni];
    uint64_t counted[3] = {};
    SlabList* lists[3] = {&n.partial, &n.full, &n.free};
    static constexpr const char* kListName[3] = {"partial", "full", "free"};
    for (uint32_t li = 0; li < 3; li++) {
      const ListNode* sent = lists[li]->sentinel();
      uint64_t steps = 0;
      for (const ListNode* l = sent->next; l != sent; l = l->next) {
        if (++steps > n.nr_slabs + 1 || !l || l->next->prev != l) {
          report.Violation("slab %s: node %u %s list is corrupt", s.name, ni, kListName[li]);
          break;
        }
        const Page* slab = SlabList::Owner(l);
        uint64_t pfn = Core::PageToPfn(slab);
        counted[li]++;
        if (!slab->IsAllocHead() || !(slab->Flags() & kPgSlab) || slab->slab_cache != &s) {
          report.Violation("slab %s: pfn 0x%lx on its list is not a slab of the cache", s.name,
                           pfn);
          continue;
        }
        if (s.colour_mask) {
          // SLAB: the field is the colour offset, a cache line multiple
          // within the slab's left-over bytes.
          if (!s.colour_off || slab->colour % s.colour_off || slab->colour > s.layout.waste)
            report.Violation("slab %s: pfn 0x%lx has colour offset %u (left over %u)", s.name,
                             pfn, slab->colour, s.layout.waste);
        } else if (slab->frozen) {
          report.Violation("slab %s: pfn 0x%lx is on a node list and CPU %u's slab", s.name, pfn,
                           slab->frozen - 1u);
        }
        if (KmemCache::NodeOf(slab) != ni)
          report.Violation("slab %s: pfn 0x%lx is on node %u's list but in zone %u", s.name, pfn,
                           ni, KmemCache::NodeOf(slab));
        uint32_t nobj = s.ObjectsIn(slab);
        uintptr_t base = s.ObjBase(slab);
        uint32_t nfree = 0;
        for (void* p = s.SlabFreelist(slab); p; p = s.FreePointer(p)) {
          uintptr_t off = reinterpret_cast<uintptr_t>(p) - base;
          if (off % s.layout.size || off / s.layout.size >= nobj) {
            report.Violation("slab %s: pfn 0x%lx freelist points outside its objects (offset %lu)",
                             s.name, pfn, static_cast<uint64_t>(off));
            break;
          }
          if (++nfree > nobj) {
            report.Violation("slab %s: pfn 0x%lx freelist has a loop (double free?)", s.name, pfn);
            break;
          }
        }
        if (nfree + slab->inuse != nobj)
          report.Violation("slab %s: pfn 0x%lx has %u free + %u in use objects, not %u", s.name,
                           pfn, nfree, slab->inuse, nobj);
        if (li == 1 && nfree)
          report.Violation("slab %s: pfn 0x%lx on the full list has %u free objects", s.name, pfn,
                           nfree);
        if (li == 0 && nfree == 0)
          report.Violation("slab %s: pfn 0x%lx on the partial list has no free object", s.name,
                           pfn);
        if (li == 2 && slab->inuse)
          report.Violation("slab %s: pfn 0x%lx on the free list has %u objects in use", s.name,
                           pfn, slab->inuse);
      }
    }
    if (counted[0] != n.nr_partial || counted[1] != n.nr_full || counted[2] != n.nr_free)
      report.Violation(
          "slab %s: node %u counts %lu partial / %lu full / %lu free slabs, lists hold %lu / %lu "
          "/ %lu",
          s.name, ni, n.nr_partial, n.nr_full, n.nr_free, counted[0], counted[1], counted[2]);
    if (n.nr_partial + n.nr_full + n.nr_free + frozen[ni] != n.nr_slabs)
      report.Violation("slab %s: node %u has %lu slabs, lists and CPUs hold %lu", s.name, ni,
                       n.nr_slabs, n.nr_partial + n.nr_full + n.nr_free + frozen[ni]);
  }
  // Debug caches: every object's bytes (validate_slab), reported in SLUB's
  // shape and restored.
  if (MMLAB_UNLIKELY(s.debug_flags)) {
    const uint64_t found = SlabDebugValidate(s);
    if (found)
      report.Violation("slab %s: %lu debug checks failed (reported above and restored)", s.name,
                       found);
  }
  return bad;
}

}  // namespace

namespace {

struct CpuCheckArg {
  SlabAllocator* a;
  uint64_t found;  // added under the list lock
};

// The policies' per-CPU state (SLAB's array caches), checked on each CPU
// with interrupts off, where it holds still.
void CheckCpuCaches(void* arg) {
  CpuCheckArg* c = static_cast<CpuCheckArg*>(arg);
  SlabAllocator& a = *c->a;
  uint32_t cpu;
  unsigned long flags = mmlab_host_local_irq_save(&cpu);
  {
    IrqSaveGuard list_guard(a.list_lock);
    for (const ListNode* l = a.caches.sentinel()->next; l != a.caches.sentinel(); l = l->next) {
      KmemCache* s = decltype(a.caches)::Owner(l);
      c->found += s->policy->CheckThisCpu(*s, cpu);
    }
  }
  mmlab_host_local_irq_restore(flags);
}

}  // namespace

uint64_t SlabCheck(SlabAllocator& a) {
  CheckReport report;
  CpuCheckArg cpu_arg = {&a, 0};
  mmlab_host_on_each_cpu(CheckCpuCaches, &cpu_arg);
  uint64_t logged = cpu_arg.found;
  IrqSaveGuard list_guard(a.list_lock);
  uint64_t count = 0;
  for (const ListNode* l = a.caches.sentinel()->next; l != a.caches.sentinel(); l = l->next) {
    KmemCache* s = decltype(a.caches)::Owner(l);
    count++;
    IrqSaveGuard guard(s->lock);
    logged += CheckCache(*s, report);
  }
  logged += SlobCheck(a);  // the SLOB heap, once
  if (count != a.nr_caches)
    report.Violation("slab: %lu caches on the list, %lu counted", count, a.nr_caches);
  report.Finish();
  return report.count() + logged;
}

// --- views -------------------------------------------------------------------------

namespace {

struct CacheInfo {
  uint64_t active_objs, num_objs, active_slabs, num_slabs, pages;
};

CacheInfo InfoLocked(KmemCache& s) MMLAB_REQUIRES(s.lock) {
  CacheInfo info = {};
  SlabUsage usage;
  if (s.policy->UsageLocked(s, &usage))
    return {usage.active_objs, usage.num_objs, usage.active_slabs, usage.num_slabs, usage.pages};
  for (KmemCacheNode& n : s.node) {
    info.num_objs += n.total_objects;
    info.num_slabs += n.nr_slabs;
  }
  // Objects handed out right now: every CPU's allocs minus frees.
  uint64_t allocs = 0, frees = 0;
  for (uint32_t cpu = 0; cpu < s.stats.nr_cpus(); cpu++) {
    allocs += ReadOnce(s.stats.at(cpu)->allocs);
    frees += ReadOnce(s.stats.at(cpu)->frees);
  }
  info.active_objs = Min(allocs - frees, info.num_objs);
  info.active_slabs = info.num_slabs;
  info.pages = info.num_slabs << s.layout.order;
  return info;
}

}  // namespace

void SlabCacheInfo(KmemCache& s, TextBuf* out) {
  CacheInfo info;
  uint64_t ctor_calls;
  {
    IrqSaveGuard guard(s.lock);
    info = InfoLocked(s);
    ctor_calls = s.ctor_calls;
  }
  const SlabLayout& l = s.layout;
  char letters[8];
  SlabDebugFlagsText(ReadOnce(s.debug_flags), letters);
  out->Append("name %s objsize %u size %u align %u order %u objperslab %u waste %u active_objs %lu "
              "num_objs %lu slabs %lu debug %s bad_frees %lu poison_overwrites %lu "
              "redzone_overwrites %lu freelist_corrupt %lu ctor_calls %lu policy %s",
              s.name, l.object_size, l.size, l.align, l.order, l.objects, l.waste,
              info.active_objs, info.num_objs, info.num_slabs, letters,
              ReadOnce(s.bad_frees) + ReadOnce(s.dbg_bad_frees),
              ReadOnce(s.dbg_poison_overwrites), ReadOnce(s.dbg_redzone_overwrites),
              ReadOnce(s.dbg_freelist_corrupt), ctor_calls, ReadOnce(s.policy)->name());
}

void RenderSlabinfo(Core& core, mmlab_emit_fn emit, void* ctx) {
  char line[224];
  TextBuf text(line, sizeof(line));
  text.Append("slabinfo - version: 2.1\n");
  emit(ctx, text.c_str(), text.len());
  text.Clear();
  text.Append("# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> "
              ": tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> "
              "<num_slabs> <sharedavail> : policy <name>\n");
  emit(ctx, text.c_str(), text.len());
  SlabAllocator& a = core.slab();
  IrqSaveGuard list_guard(a.list_lock);
  // Newest first, as Linux walks slab_caches for /proc/slabinfo.
  for (const ListNode* l = a.caches.sentinel()->prev; l != a.caches.sentinel(); l = l->prev) {
    KmemCache* s = decltype(a.caches)::Owner(l);
    CacheInfo info;
    SlabTunables tun;
    const char* policy;
    {
      IrqSaveGuard guard(s->lock);
      info = InfoLocked(*s);
      s->policy->Tunables(*s, &tun);
      policy = s->policy->name();
    }
    text.Clear();
    text.Append("%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu "
                ": policy %s\n",
                s->name, info.active_objs, info.num_objs, s->layout.size, s->layout.objects,
                1 << s->layout.order, tun.limit, tun.batchcount, tun.sharedfactor,
                info.active_slabs, info.num_slabs, tun.sharedavail, policy);
    emit(ctx, text.c_str(), text.len());
  }
  SlobRenderSlabinfo(a, emit, ctx);  // the shared SLOB heap's line
}

void RenderSlabStats(Core& core, mmlab_emit_fn emit, void* ctx) {
  SlabAllocator& a = core.slab();
  uint64_t caches = 0, pages = 0, objs = 0, bad = 0, poison = 0, redzone = 0, corrupt = 0;
  {
    IrqSaveGuard list_guard(a.list_lock);
    for (const ListNode* l = a.caches.sentinel()->next; l != a.caches.sentinel(); l = l->next) {
      KmemCache* s = decltype(a.caches)::Owner(l);
      caches++;
      bad += ReadOnce(s->bad_frees) + ReadOnce(s->dbg_bad_frees);
      poison += ReadOnce(s->dbg_poison_overwrites);
      redzone += ReadOnce(s->dbg_redzone_overwrites);
      corrupt += ReadOnce(s->dbg_freelist_corrupt);
      IrqSaveGuard guard(s->lock);
      CacheInfo info = InfoLocked(*s);
      pages += info.pages;
      objs += info.active_objs;
    }
    pages += SlobPages(a);  // the SLOB heap's pages
  }
  KmallocCounters k = KmallocCountersSum(core);
  char line[96];
  TextBuf text(line, sizeof(line));
  const struct {
    const char* key;
    uint64_t value;
  } rows[] = {
      {"slab_caches", caches},          {"slab_pages", pages},
      {"slab_objects", objs},           {"slab_bad_frees", bad + k.bad_frees},
      {"kmalloc_large_pages", k.large_pages}, {"kmalloc_overflows", k.overflows},
      {"slab_poison_caught", poison},         {"slab_redzone_caught", redzone},
      {"slab_freelist_corrupt", corrupt},     {"page_poison_caught", PagePoisonOverwrites(core)},
      {"debug_reports_dropped", DebugReportsSuppressed()},
  };
  for (const auto& r : rows) {
    text.Clear();
    text.Append("%-22s %lu\n", r.key, r.value);
    emit(ctx, text.c_str(), text.len());
  }
}

size_t SlabAllocBulkEach(KmemCache& s, mmlab_gfp_t gfp, size_t nr, void** objs) {
  for (size_t i = 0; i < nr; i++) {
    objs[i] = s.policy->Alloc(s, gfp, 0);
    if (objs[i])
      continue;
    // The free path unregisters each from kmemleak: register them first.
    for (size_t j = 0; j < i; j++)
      mmlab_host_object_alloc(objs[j], s.layout.object_size, gfp);
    if (i)
      s.policy->FreeBulk(s, i, objs, "kmem_cache_alloc_bulk", 0);
    for (size_t j = 0; j < nr; j++)
      objs[j] = nullptr;
    return 0;
  }
  return nr;
}

// The policy interface's defaults, out of line: inline virtuals would be
// emitted as COMDAT copies in every policy's object, and 6.1's
// -mrecord-mcount leaves __mcount_loc entries pointing at the discarded
// copies, which the module link refuses (notrace copies link but then
// insmod warns of missing return thunks).
bool SlabPolicy::UsageLocked(KmemCache&, SlabUsage*) { return false; }
bool SlabPolicy::LiveObjectsLocked(KmemCache&, uint64_t*) { return false; }
void SlabPolicy::Tunables(KmemCache&, SlabTunables* out) { *out = {}; }
bool SlabPolicy::SupportsDebug() const { return true; }
uint64_t SlabPolicy::ReapLocked(KmemCache&, uint32_t, SlabList*, bool) { return 0; }
uint64_t SlabPolicy::CheckThisCpu(KmemCache&, uint32_t) { return 0; }

}  // namespace mmlab

// --- the C ABI ---------------------------------------------------------------------

using mmlab::Core;
using mmlab::KmemCache;

extern "C" {

enum mmlab_status mmlab_core_kmem_cache_create(struct mmlab_core* core, const char* name,
                                               uint32_t size, uint32_t align, uint32_t flags,
                                               mmlab_ctor_fn ctor,
                                               struct mmlab_kmem_cache** out) {
  if (!MMLAB_ASSERT(core && out))
    return MMLAB_EINVAL;
  KmemCache* s = nullptr;
  mmlab_status st =
      mmlab::KmemCacheCreate(*Core::From(core), name, size, align, flags, ctor, false, &s, nullptr);
  *out = s ? s->handle() : nullptr;
  return st;
}

enum mmlab_status mmlab_core_kmem_cache_destroy(struct mmlab_kmem_cache* cache) {
  if (!cache)
    return MMLAB_OK;
  KmemCache* s = KmemCache::From(cache);
  if (s->zombie || s->kmalloc) {
    mmlab::Log(MMLAB_LOG_WARN, "kmem_cache_destroy %s: %s; ignored", s->name,
               s->kmalloc ? "a kmalloc cache" : "already destroyed with live objects");
    if (!s->zombie)
      return MMLAB_EINVAL;
    // A zombie may go once its objects are back.
  }
  return mmlab::KmemCacheDestroy(s);
}

void* mmlab_core_kmem_cache_alloc(struct mmlab_kmem_cache* cache, mmlab_gfp_t gfp,
                                  uintptr_t caller) {
  if (!MMLAB_ASSERT(cache))
    return nullptr;
  KmemCache* s = KmemCache::From(cache);
  return mmlab::KmemCacheAllocCaller(s, gfp, caller, s->layout.object_size, true);
}

void mmlab_core_kmem_cache_free(struct mmlab_kmem_cache* cache, void* obj, uintptr_t caller) {
  if (!obj || !MMLAB_ASSERT(cache))
    return;
  KmemCache* s = KmemCache::From(cache);
  // One interrupts-off section: the checks, the tracepoint (before the
  // object can be reused, as Linux's), the free.
  mmlab::Page* empty = nullptr;
  uint32_t cpu;
  unsigned long flags = mmlab_host_local_irq_save(&cpu);
  mmlab::Page* slab =
      mmlab::SlabFindObjectFast(*s->core, mmlab::VirtToPageIrqsOff(*s->core, obj), s, obj, nullptr,
                                "kmem_cache_free", nullptr);
  if (slab) {
    mmlab_host_trace_kmem_cache_free(caller, obj, s->name);
    if (MMLAB_UNLIKELY(s->core->trace_on()))
      mmlab::TraceObject(*s->core, mmlab::TraceOp::kCacheFree, obj, s, 0, 0, caller);
    empty = s->policy->Free(*s, cpu, slab, obj, caller);
  }
  mmlab_host_local_irq_restore(flags);
  if (MMLAB_UNLIKELY(empty))
    KmemCache::FreeSlab(*s->core, empty);
}

// Linux's bulk calls emit no kmem_cache_alloc/free events; neither do these.
size_t mmlab_core_kmem_cache_alloc_bulk(struct mmlab_kmem_cache* cache, mmlab_gfp_t gfp,
                                        size_t nr, void** objs, uintptr_t) {
  if (!MMLAB_ASSERT(cache && (objs || nr == 0)))
    return 0;
  if (nr == 0)
    return 0;
  return mmlab::KmemCacheAllocBulk(KmemCache::From(cache), gfp, nr, objs);
}

void mmlab_core_kmem_cache_free_bulk(struct mmlab_kmem_cache* cache, size_t nr, void** objs,
                                     uintptr_t caller) {
  if (nr == 0 || !MMLAB_ASSERT(cache && objs))
    return;
  KmemCache* s = KmemCache::From(cache);
  s->policy->FreeBulk(*s, nr, objs, "kmem_cache_free_bulk", caller);
}

uint64_t mmlab_core_kmem_cache_shrink(struct mmlab_kmem_cache* cache) {
  if (!MMLAB_ASSERT(cache))
    return 0;
  mmlab_host_might_sleep();
  return mmlab::ShrinkCache(*KmemCache::From(cache));
}

namespace {

size_t TrimSpec(const char* spec, size_t len) {
  while (len && (spec[len - 1] == '\n' || spec[len - 1] == ' '))
    len--;
  return len;
}

}  // namespace

enum mmlab_status mmlab_core_slab_policy_set(struct mmlab_core* core, const char* spec, size_t len,
                                             int kmalloc_too, char* result, size_t result_cap) {
  if (!MMLAB_ASSERT(core && (spec || !len) && result && result_cap))
    return MMLAB_EINVAL;
  mmlab::TextBuf why(result, result_cap);
  len = TrimSpec(spec, len);
  Core& c = *Core::From(core);
  mmlab_status st = mmlab::SlabSetDefaultPolicy(c, spec, len, &why);
  if (st != MMLAB_OK)
    return st;
  mmlab::SlabPolicy& p = mmlab::SlabDefaultPolicy(c);
  uint32_t switched = 0, busy = 0;
  if (kmalloc_too) {
    mmlab_host_might_sleep();
    for (KmemCache* s : c.slab().kmalloc_caches) {
      if (!s || s->policy == &p)
        continue;
      if (mmlab::SlabSetPolicy(*s, p, nullptr) == MMLAB_OK)
        switched++;
      else
        busy++;
    }
  }
  why.Clear();
  why.Append("slab_policy %s: %u kmalloc caches switched, %u busy (not empty)", p.name(), switched,
             busy);
  return MMLAB_OK;
}

void mmlab_core_slab_policy_show(struct mmlab_core* core, mmlab_emit_fn emit, void* ctx) {
  if (!MMLAB_ASSERT(core && emit))
    return;
  char line[16];
  mmlab::TextBuf text(line, sizeof(line));
  text.Append("%s\n", mmlab::SlabDefaultPolicy(*Core::From(core)).name());
  emit(ctx, text.c_str(), text.len());
}

enum mmlab_status mmlab_core_kmem_cache_create_policy(struct mmlab_core* core, const char* name,
                                                      uint32_t size, uint32_t align,
                                                      uint32_t flags, mmlab_ctor_fn ctor,
                                                      const char* policy, size_t len,
                                                      struct mmlab_kmem_cache** out) {
  if (!MMLAB_ASSERT(core && out))
    return MMLAB_EINVAL;
  *out = nullptr;
  mmlab::SlabPolicy* p = nullptr;
  if (policy && len) {
    len = TrimSpec(policy, len);
    p = mmlab::SlabPolicyByName(policy, len);
    if (!p) {
      mmlab::Log(MMLAB_LOG_WARN, "kmem_cache_create(%s): unknown slab policy; use slub, slab or slob",
                 name ? name : "(null)");
      return MMLAB_EINVAL;
    }
  }
  KmemCache* s = nullptr;
  mmlab_status st = mmlab::KmemCacheCreate(*Core::From(core), name, size, align, flags, ctor, false,
                                           &s, nullptr, p);
  *out = s ? s->handle() : nullptr;
  return st;
}

enum mmlab_status mmlab_core_kmem_cache_set_policy(struct mmlab_kmem_cache* cache,
                                                   const char* policy, size_t len, char* result,
                                                   size_t result_cap) {
  if (!MMLAB_ASSERT(cache && (policy || !len) && result && result_cap))
    return MMLAB_EINVAL;
  mmlab::TextBuf why(result, result_cap);
  len = TrimSpec(policy, len);
  mmlab::SlabPolicy* p = mmlab::SlabPolicyByName(policy, len);
  KmemCache* s = KmemCache::From(cache);
  if (!p) {
    mmlab::Report(&why, MMLAB_LOG_WARN, "cache_policy %s: unknown policy (slub, slab or slob)",
                  s->name);
    return MMLAB_EINVAL;
  }
  if (s->kmalloc) {
    mmlab::Report(&why, MMLAB_LOG_WARN,
                  "cache_policy %s: a kmalloc cache takes its policy at load (slab_policy=)",
                  s->name);
    return MMLAB_EINVAL;
  }
  return mmlab::SlabSetPolicy(*s, *p, &why);
}

const char* mmlab_core_kmem_cache_policy(const struct mmlab_kmem_cache* cache) {
  return cache ? mmlab::ReadOnce(reinterpret_cast<const KmemCache*>(cache)->policy)->name() : "";
}

uint32_t mmlab_core_kmem_cache_size(const struct mmlab_kmem_cache* cache) {
  return cache ? reinterpret_cast<const KmemCache*>(cache)->layout.object_size : 0;
}

const char* mmlab_core_kmem_cache_name(const struct mmlab_kmem_cache* cache) {
  return cache ? reinterpret_cast<const KmemCache*>(cache)->name : "";
}

}  // extern "C"
