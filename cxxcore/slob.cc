// SPDX-License-Identifier: GPL-2.0
//
// slob.cc - the SLOB policy (Linux's mm/slob.c, "Simple List Of Blocks"):
// a K&R-style first-fit heap of single pages shared by every SLOB cache.
//
// How it works:
//  - One heap per core (SlabAllocator::slob_heap), made when the first SLOB
//    cache attaches and freed when the last one detaches. Its pages are
//    order-0 blocks from Core::AllocPages marked kPgSlob; objects of every
//    SLOB cache and of every size below PAGE_SIZE share them.
//  - Inside a page, the free space is a singly linked, address-ordered list
//    of free blocks counted in SLOB units of 2 bytes (slob_t): a block of
//    more than one unit holds its size and the unit offset of the next free
//    block in its first two units, a one-unit block holds minus that
//    offset; the last block's "next" is the end of the page. The page's
//    descriptor keeps the first free block and the units in use (slob.h).
//  - Pages with free units are on one of three lists by the request size
//    that put them there (small < 256 B, medium < 1024 B, large <
//    PAGE_SIZE), as SLOB's free_slob_small/medium/large; full pages on a
//    fourth list that is never searched (mmlab keeps it for the checker
//    and the views; Linux just forgets full pages).
//  - Allocation (slob_alloc): walk the list for the size, skip pages with
//    too few free units, first fit inside a page (slob_page_alloc), which
//    splits off a leading fragment when the block is not aligned; the page
//    that served the request becomes the head of its list (Knuth's "next
//    fit" trick), so the next search starts there. Nothing fits: a new page
//    - taken with no lock held, so a gfp that may sleep can - goes on the
//    list's front and serves the request.
//  - Free (slob_free): the block goes back into its page's list in address
//    order, merged with free neighbours; a page whose every unit is free
//    goes back to the page allocator at once (so SLOB has nothing for a
//    shrinker), a full page that gets a free block goes on the list for the
//    freed size.
//  - The size of a cache object is the cache's object_size (SLOB needs no
//    per-object header: the cache knows it). The kmalloc size classes under
//    SLOB put SLOB's 8-byte kmalloc header (ARCH_KMALLOC_MINALIGN) before
//    each object, aligned so the object is - to its size when that is a
//    power of two, as 6.1's __do_kmalloc_node - and mmlab's header also
//    names the size class, so kfree finds the cache.
//  - An object of PAGE_SIZE or more (PAGE_SIZE - 8 for kmalloc) is a block
//    of get_order(size) pages of its own, marked kPgSlob with slab_cache
//    naming its cache.
//  - Constructors run on every allocation (SLOB keeps no constructed free
//    objects; SLUB constructs once per slab). No per-CPU state; one heap
//    lock, taken with interrupts off. No debugging.
//  - Frees are checked under the heap lock before anything is written: the
//    object must lie in an allocated part of a SLOB page (not inside or
//    across a free block: that is a double free, reported and ignored), and
//    a kmalloc object's header must be sane. Linux's SLOB checked nothing.
//
// Lock order: the allocator's list lock, then the heap lock. A cache lock
// and the heap lock are never held together; the page allocator is never
// called with the heap lock held.
#include "slob.h"

#include "check.h"
#include "core.h"
#include "kmalloc.h"
#include "log.h"

namespace mmlab {

namespace {

using slobidx_t = __INT16_TYPE__;  // Linux: s16 for pages up to 64 KiB
constexpr uint32_t kSlobUnit = 2;                                // sizeof(slob_t)
constexpr uint32_t kPageUnits = MMLAB_PAGE_SIZE / kSlobUnit;     // SLOB_UNITS(PAGE_SIZE)
constexpr uint32_t kEnd = kPageUnits;                            // "next" of the last block
constexpr uint32_t kNone = ~0u;
constexpr uint32_t kSlobBreak1 = 256;
constexpr uint32_t kSlobBreak2 = 1024;
constexpr uint32_t kMinAlign = 8;  // ARCH_KMALLOC_MINALIGN: the kmalloc header
constexpr uint16_t kHeaderMagic = 0x5b0b;
static_assert(MMLAB_PAGE_SIZE <= 32767 * 2, "slob_t is 16 bits for this page size");

enum SlobListIndex : uint32_t { kListSmall, kListMedium, kListLarge, kListFull, kNrLists };
const char* const kListNames[kNrLists] = {"small", "medium", "large", "full"};

// What SLOB's kmalloc puts before an object: Linux stores the size in the
// first 4 bytes; mmlab adds the class and a magic for kfree.
struct KmallocHeader {
  uint32_t size;   // the class's object_size
  uint8_t index;   // kmalloc class (SlabAllocator::kmalloc_caches)
  uint8_t unused;
  uint16_t magic;  // kHeaderMagic
};
static_assert(sizeof(KmallocHeader) == kMinAlign, "SLOB's kmalloc header is minalign bytes");

struct SlobHeap {
  SpinLock lock;
  SlabList lists[kNrLists] MMLAB_GUARDED_BY(lock);
  uint64_t pages MMLAB_GUARDED_BY(lock) = 0;      // heap pages now
  uint64_t big_pages MMLAB_GUARDED_BY(lock) = 0;  // pages of objects >= PAGE_SIZE now
  uint64_t big_objects MMLAB_GUARDED_BY(lock) = 0;
  uint64_t pages_allocated MMLAB_GUARDED_BY(lock) = 0;  // ever
  uint64_t pages_freed MMLAB_GUARDED_BY(lock) = 0;      // ever
  uint64_t corrupt MMLAB_GUARDED_BY(lock) = 0;          // corrupt free blocks met
  uint64_t refs = 0;  // SLOB caches attached (the allocator's list_lock)

  SlobHeap() = default;
  MMLAB_NO_COPY(SlobHeap);
};

// A SLOB cache's own state (KmemCache::policy_data).
struct SlobCache {
  SlobHeap* heap = nullptr;
  uint64_t live = 0;  // objects handed out and not freed (atomic)
};

SlobCache& State(KmemCache& s) { return *static_cast<SlobCache*>(s.policy_data); }

constexpr uint32_t Units(uint64_t bytes) {
  return static_cast<uint32_t>((bytes + kSlobUnit - 1) / kSlobUnit);
}

uint32_t ListFor(uint64_t size) {
  return size < kSlobBreak1 ? kListSmall : size < kSlobBreak2 ? kListMedium : kListLarge;
}

uint32_t GetOrder(uint64_t size) {
  uint32_t order = 0;
  while ((uint64_t{MMLAB_PAGE_SIZE} << order) < size)
    order++;
  return order;
}

bool IsPowerOfTwo(uint32_t x) { return x && !(x & (x - 1)); }

// --- blocks inside a page, by unit index ------------------------------------------

slobidx_t* UnitAt(uintptr_t base, uint32_t idx) {
  return reinterpret_cast<slobidx_t*>(base + uintptr_t{idx} * kSlobUnit);
}

// set_slob(): a free block of `units` at idx whose successor is at next.
void SetSlob(uintptr_t base, uint32_t idx, uint32_t units, uint32_t next) {
  slobidx_t* s = UnitAt(base, idx);
  if (units > 1) {
    s[0] = static_cast<slobidx_t>(units);
    s[1] = static_cast<slobidx_t>(next);
  } else {
    s[0] = static_cast<slobidx_t>(-static_cast<int32_t>(next));
  }
}

struct Block {
  uint32_t idx, units, next;
};

// Reads the free block at idx, checking what slob_units()/slob_next() trust:
// false if it does not describe a block inside the page ending at or
// before its successor, which lies after it.
bool ReadBlock(uintptr_t base, uint32_t idx, Block* b) {
  if (idx >= kEnd)
    return false;
  const int32_t u = *UnitAt(base, idx);
  int32_t next;
  uint32_t units;
  if (u < 0) {
    units = 1;
    next = -u;
  } else {
    if (u < 2 || idx + 1 >= kEnd)
      return false;
    units = static_cast<uint32_t>(u);
    next = *UnitAt(base, idx + 1);
  }
  if (next <= 0 || static_cast<uint32_t>(next) > kEnd || idx + units > static_cast<uint32_t>(next))
    return false;
  *b = {idx, units, static_cast<uint32_t>(next)};
  return true;
}

uint32_t FirstFree(const Page* sp) {
  return sp->freelist == kSlabNoFree ? kEnd : sp->freelist / kSlobUnit;
}
void SetFirstFree(Page* sp, uint32_t idx) {
  sp->freelist = idx >= kEnd ? kSlabNoFree : idx * kSlobUnit;
}
uint32_t FreeUnits(const Page* sp) { return kPageUnits - sp->inuse; }

bool IsHeapPage(const Page* sp) {
  return sp->IsAllocHead() && (sp->Flags() & kPgSlob) && sp->order == 0 &&
         ReadOnce(sp->slab_cache) == nullptr;
}

// The list head moves so that sp is first (list_rotate_to_front).
void RotateToFront(SlabList& list, Page* sp) {
  ListNode* head = const_cast<ListNode*>(list.sentinel());
  ListNode* n = SlabList::Node(sp);
  if (head->next == n)
    return;
  head->prev->next = head->next;
  head->next->prev = head->prev;
  head->prev = n->prev;
  head->next = n;
  n->prev->next = head;
  n->prev = head;
}

void ReportCorrupt(SlobHeap& h, const Page* sp, uint32_t idx) MMLAB_REQUIRES(h.lock) {
  h.corrupt++;
  // A warning, so rate limited: every search passing the page meets it.
  Report(nullptr, MMLAB_LOG_WARN,
         "slob: free block at offset %u of the page at pfn 0x%lx is corrupt (written after "
         "free?); page not used for allocation",
         idx * kSlobUnit, Core::PageToPfn(sp));
}

// slob_page_alloc(): first fit of size bytes in sp, so that the block plus
// align_offset is aligned to align. *removed: the page became full and
// went to the full list.
void* PageAlloc(SlobHeap& h, Page* sp, uint32_t size, uint32_t align, uint32_t align_offset,
                bool* removed) MMLAB_REQUIRES(h.lock) {
  const uintptr_t base = Core::PageAddress(sp);
  const uint32_t units = Units(size);
  *removed = false;
  uint32_t prev = kNone, prev_units = 0;
  uint32_t cur = FirstFree(sp);
  for (uint32_t steps = 0; steps < kPageUnits && cur != kEnd; steps++) {
    Block b;
    if (!ReadBlock(base, cur, &b)) {
      ReportCorrupt(h, sp, cur);
      return nullptr;
    }
    uint32_t avail = b.units;
    uint32_t delta = 0;
    if (align) {
      const uintptr_t addr = base + uintptr_t{cur} * kSlobUnit;
      const uintptr_t aligned =
          ((addr + align_offset + align - 1) & ~uintptr_t{align - 1}) - align_offset;
      delta = static_cast<uint32_t>((aligned - addr) / kSlobUnit);
    }
    if (avail >= units + delta) {
      const uint32_t next = b.next;
      if (delta) {  // a leading fragment keeps the unaligned head
        SetSlob(base, cur + delta, avail - delta, next);
        SetSlob(base, cur, delta, cur + delta);
        prev = cur;
        prev_units = delta;
        cur += delta;
        avail -= delta;
      }
      if (avail == units) {  // exact fit: unlink
        if (prev != kNone)
          SetSlob(base, prev, prev_units, next);
        else
          SetFirstFree(sp, next);
      } else {  // fragment
        if (prev != kNone)
          SetSlob(base, prev, prev_units, cur + units);
        else
          SetFirstFree(sp, cur + units);
        SetSlob(base, cur + units, avail - units, next);
      }
      sp->inuse = static_cast<uint16_t>(sp->inuse + units);
      if (FreeUnits(sp) == 0) {
        sp->freelist = kSlabNoFree;
        SlabList::Remove(sp);
        h.lists[kListFull].PushBack(sp);
        *removed = true;
      }
      return reinterpret_cast<void*>(base + uintptr_t{cur} * kSlobUnit);
    }
    prev = cur;
    prev_units = b.units;
    cur = b.next;
  }
  return nullptr;
}

// slob_alloc(): size bytes from the heap, or null. No lock held.
void* HeapAlloc(KmemCache& s, SlobHeap& h, mmlab_gfp_t gfp, uint32_t size, uint32_t align,
                uint32_t align_offset) {
  const uint32_t li = ListFor(size);
  const uint32_t units = Units(size);
  // A DMA32 cache takes only DMA32 pages (Linux's SLOB filtered by node).
  const bool dma32 = s.allocflags & MMLAB___GFP_DMA32;
  {
    IrqSaveGuard guard(h.lock);
    SlabList& list = h.lists[li];
    const ListNode* head = list.sentinel();
    for (const ListNode* l = head->next; l != head; l = l->next) {
      Page* sp = SlabList::Owner(l);
      if (dma32 && KmemCache::NodeOf(sp) != MMLAB_ZONE_DMA32)
        continue;
      if (FreeUnits(sp) < units)
        continue;
      bool removed;
      void* b = PageAlloc(h, sp, size, align, align_offset, &removed);
      if (!b)
        continue;
      // Start the next search here (Knuth vol 1, 2.5): better fragment
      // distribution, shorter searches. A page that went full is gone.
      if (!removed)
        RotateToFront(list, sp);
      return b;
    }
  }
  // A new page, with no lock held: the page allocator may sleep if gfp may.
  const mmlab_gfp_t g = s.SlabGfp(gfp) & ~(MMLAB___GFP_COMP | MMLAB___GFP_ZERO);
  Page* sp = s.core->AllocPages(g, 0, kPgSlob);
  if (!sp)
    return nullptr;
  const uintptr_t base = Core::PageAddress(sp);
  // KASAN: nothing of the page is accessible until it is handed out.
  mmlab_host_poison(reinterpret_cast<void*>(base), MMLAB_PAGE_SIZE, MMLAB_HOST_POISON_REDZONE);
  IrqSaveGuard guard(h.lock);
  sp->slab_list.prev = sp->slab_list.next = nullptr;
  sp->slab_cache = nullptr;
  sp->inuse = 0;
  sp->frozen = 0;
  SetFirstFree(sp, 0);
  SetSlob(base, 0, kPageUnits, kEnd);
  h.lists[li].PushFront(sp);
  h.pages++;
  h.pages_allocated++;
  bool removed;
  void* b = PageAlloc(h, sp, size, align, align_offset, &removed);
  MMLAB_ASSERT(b);  // a fresh page holds anything below PAGE_SIZE at any alignment
  return b;
}

// The checks of a free (and of SlobFindObject) for a heap page, heap lock
// held: the cache owning the object at obj (s, or for s null the kmalloc
// class its header names), or null with *why set (*double_free when obj
// lies in a free block). Writes nothing.
KmemCache* LookupLocked(Core& core, SlobHeap& h, Page* sp, KmemCache* s, const void* obj,
                        const char** why, bool* double_free) MMLAB_REQUIRES(h.lock) {
  *double_free = false;
  if (!IsHeapPage(sp)) {
    *why = "the page is no SLOB page any more";
    return nullptr;
  }
  const uintptr_t base = Core::PageAddress(sp);
  const uintptr_t off = reinterpret_cast<uintptr_t>(obj) - base;
  const bool kmalloc = s ? s->kmalloc : true;
  if (off >= MMLAB_PAGE_SIZE || off % kSlobUnit) {
    *why = "not a block start";
    return nullptr;
  }
  if (kmalloc && (off < kMinAlign || off % kMinAlign)) {
    *why = "no kmalloc header before it";
    return nullptr;
  }
  const uint32_t b = static_cast<uint32_t>((kmalloc ? off - kMinAlign : off) / kSlobUnit);
  // In a free block? Walk the page's blocks (bounded; sane or refused).
  Block fb;
  uint32_t cur = FirstFree(sp);
  for (uint32_t steps = 0; cur != kEnd; steps++) {
    if (steps >= kPageUnits || !ReadBlock(base, cur, &fb)) {
      ReportCorrupt(h, sp, cur);
      *why = "its page's free list is corrupt";
      return nullptr;
    }
    if (b >= fb.idx && b < fb.idx + fb.units) {
      *double_free = true;
      *why = "it lies in a free block";
      return nullptr;
    }
    cur = fb.next;
  }
  KmemCache* c = s;
  if (kmalloc) {
    KmallocHeader hdr;
    __builtin_memcpy(&hdr, reinterpret_cast<const void*>(base + uintptr_t{b} * kSlobUnit),
                     sizeof(hdr));
    SlabAllocator& a = core.slab();
    c = hdr.magic == kHeaderMagic && hdr.index < SlabAllocator::kNrKmallocCaches
            ? a.kmalloc_caches[hdr.index]
            : nullptr;
    if (!c || ReadOnce(c->policy) != &SlobPolicy() || hdr.size != c->layout.object_size) {
      *why = "no sane kmalloc header before it";
      return nullptr;
    }
    if (s && c != s) {
      *why = "its kmalloc header names another cache";
      return nullptr;
    }
  } else if (reinterpret_cast<uintptr_t>(obj) % s->layout.align) {
    *why = "not aligned as the cache's objects are";
    return nullptr;
  }
  const uint32_t units = Units(c->layout.object_size + (kmalloc ? kMinAlign : 0));
  if (b + units > kPageUnits) {
    *why = "it would run past the end of its page";
    return nullptr;
  }
  if (units > sp->inuse) {
    *why = "its page has fewer units in use";
    return nullptr;
  }
  for (cur = FirstFree(sp); cur != kEnd; cur = fb.next) {
    ReadBlock(base, cur, &fb);  // checked above
    if (fb.idx < b + units && b < fb.idx + fb.units) {
      *why = "it overlaps a free block";
      return nullptr;
    }
  }
  return c;
}

void ReportBadFree(const char* func, const char* name, const void* obj, const Page* sp,
                   const char* why, bool double_free, TextBuf* out) {
  char ptr[32];
  mmlab_host_format_ptr(obj, ptr, sizeof(ptr));
  if (double_free)
    Report(out, MMLAB_LOG_WARN,
           "%s(%s): double free of object %s (%s of the SLOB page at pfn 0x%lx); ignored", func,
           name, ptr, why, Core::PageToPfn(sp));
  else
    Report(out, MMLAB_LOG_WARN,
           "%s(%s): object %s is not an allocated SLOB object (%s; page at pfn 0x%lx); ignored",
           func, name, ptr, why, Core::PageToPfn(sp));
}

// slob_free(): the block of `units` at unit b of sp goes back, merged with
// its free neighbours. Returns sp if it became entirely free: off its list,
// kPgSlob cleared, for KmemCache::FreeSlab once interrupts are on.
// LookupLocked accepted the block (so the free list is sane).
Page* SlobFree(SlobHeap& h, Page* sp, uint32_t b, uint32_t units, uint32_t size)
    MMLAB_REQUIRES(h.lock) {
  const uintptr_t base = Core::PageAddress(sp);
  if (sp->inuse == units) {
    // Straight back to the page allocator.
    SlabList::Remove(sp);
    h.pages--;
    h.pages_freed++;
    sp->freelist = 0;
    sp->inuse = 0;
    sp->SetFlags(sp->Flags() & ~kPgSlob);
    return sp;
  }
  sp->inuse = static_cast<uint16_t>(sp->inuse - units);
  if (sp->freelist == kSlabNoFree) {
    // A full page becomes partially free: the list for this size.
    SetSlob(base, b, units, kEnd);
    SetFirstFree(sp, b);
    SlabList::Remove(sp);
    h.lists[ListFor(size)].PushFront(sp);
    return nullptr;
  }
  // Find the reinsertion point (address order) and merge.
  const uint32_t first = FirstFree(sp);
  Block nb;
  if (b < first) {
    ReadBlock(base, first, &nb);
    if (b + units == first)
      SetSlob(base, b, units + nb.units, nb.next);
    else
      SetSlob(base, b, units, first);
    SetFirstFree(sp, b);
    return nullptr;
  }
  Block prev;
  ReadBlock(base, first, &prev);
  while (b > prev.next) {
    Block n;
    ReadBlock(base, prev.next, &n);
    prev = n;
  }
  const uint32_t next = prev.next;
  uint32_t b_units = units, b_next = next;
  if (next != kEnd && b + units == next) {
    ReadBlock(base, next, &nb);
    b_units += nb.units;
    b_next = nb.next;
  }
  if (prev.idx + prev.units == b)
    SetSlob(base, prev.idx, prev.units + b_units, b_next);
  else {
    SetSlob(base, b, b_units, b_next);
    SetSlob(base, prev.idx, prev.units, b);
  }
  return nullptr;
}

// --- objects of PAGE_SIZE and more ------------------------------------------------

void* BigAlloc(KmemCache& s, SlobHeap& h, mmlab_gfp_t gfp) {
  const uint32_t order = GetOrder(s.layout.object_size);
  mmlab_gfp_t g = s.SlabGfp(gfp) & ~(MMLAB___GFP_COMP | MMLAB___GFP_ZERO);
  if (order)
    g |= MMLAB___GFP_COMP;
  Page* p = s.core->AllocPages(g, order, kPgSlob);
  if (!p)
    return nullptr;
  const uintptr_t base = Core::PageAddress(p);
  mmlab_host_poison(reinterpret_cast<void*>(base), MMLAB_PAGE_SIZE << order,
                    MMLAB_HOST_POISON_REDZONE);
  IrqSaveGuard guard(h.lock);
  for (uint32_t i = 1; i < (1u << order); i++) {
    p[i].slab_head = p;
    p[i].slab_cache = &s;
  }
  p->slab_list.prev = p->slab_list.next = nullptr;
  p->freelist = kSlabNoFree;
  p->inuse = 0;
  p->frozen = 0;
  WriteOnce(p->slab_cache, static_cast<void*>(&s));
  h.big_pages += uint64_t{1} << order;
  h.big_objects++;
  return reinterpret_cast<void*>(base);
}

bool IsBig(const KmemCache& s) {
  return s.layout.object_size >= (s.kmalloc ? MMLAB_PAGE_SIZE - kMinAlign : MMLAB_PAGE_SIZE);
}

SlobHeap* HeapOf(Core& core) {
  return static_cast<SlobHeap*>(ReadOnce(core.slab().slob_heap));
}

void CountFree(KmemCache& s, uint32_t cpu) {
  __atomic_fetch_sub(&State(s).live, 1, __ATOMIC_RELAXED);
  PerCpuAdd(s.stats.at(cpu)->frees, 1);
}

class Slob final : public SlabPolicy {
 public:
  const char* name() const override { return "slob"; }

  mmlab_status Attach(KmemCache& s) override {
    SlobCache* sc = MetaNew<SlobCache>();
    if (!sc)
      return MMLAB_ENOMEM;
    SlabAllocator& a = s.core->slab();
    SlobHeap* fresh = nullptr;
    for (;;) {
      {
        IrqSaveGuard guard(a.list_lock);
        if (!a.slob_heap && fresh) {
          WriteOnce(a.slob_heap, static_cast<void*>(fresh));
          fresh = nullptr;
        }
        if (a.slob_heap) {
          sc->heap = static_cast<SlobHeap*>(a.slob_heap);
          sc->heap->refs++;
        }
      }
      if (sc->heap)
        break;
      // The first SLOB cache of this core: a heap (may sleep, no lock).
      fresh = MetaNew<SlobHeap>();
      if (fresh && !fresh->lock.Init("mmlab_slob_heap")) {
        MetaDelete(fresh);
        fresh = nullptr;
      }
      if (!fresh) {
        MetaDelete(sc);
        return MMLAB_ENOMEM;
      }
    }
    if (fresh) {  // another CPU made one meanwhile
      fresh->lock.Destroy();
      MetaDelete(fresh);
    }
    s.policy_data = sc;
    return MMLAB_OK;
  }

  void Detach(KmemCache& s) override {
    SlobCache* sc = static_cast<SlobCache*>(s.policy_data);
    if (!sc)
      return;
    SlabAllocator& a = s.core->slab();
    SlobHeap* dead = nullptr;
    {
      IrqSaveGuard guard(a.list_lock);
      if (--sc->heap->refs == 0) {
        dead = sc->heap;
        WriteOnce(a.slob_heap, static_cast<void*>(nullptr));
      }
    }
    if (dead) {
      uint64_t pages;
      {
        IrqSaveGuard guard(dead->lock);
        pages = dead->pages + dead->big_pages;
      }
      // Pages with live objects of destroyed caches stay allocated; the
      // zone teardown reports them.
      if (pages)
        Log(MMLAB_LOG_ERR, "slob: heap freed with %lu pages still holding objects", pages);
      dead->lock.Destroy();
      MetaDelete(dead);
    }
    MetaDelete(sc);
    s.policy_data = nullptr;
  }

  void* Alloc(KmemCache& s, mmlab_gfp_t gfp, uintptr_t) override {
    SlobCache& sc = State(s);
    SlobHeap& h = *sc.heap;
    const uint32_t size = s.layout.object_size;
    void* obj;
    if (MMLAB_UNLIKELY(IsBig(s))) {
      obj = BigAlloc(s, h, gfp);
    } else if (s.kmalloc) {
      // __do_kmalloc_node: the header before the object; a power-of-two
      // size is aligned to itself.
      const uint32_t align = IsPowerOfTwo(size) ? Max(kMinAlign, size) : kMinAlign;
      void* m = HeapAlloc(s, h, gfp, size + kMinAlign, align, kMinAlign);
      obj = nullptr;
      if (m) {
        const KmallocHeader hdr = {size, static_cast<uint8_t>(KmallocIndex(size)), 0,
                                   kHeaderMagic};
        __builtin_memcpy(m, &hdr, sizeof(hdr));  // poisoned: a plain store (host.h)
        obj = static_cast<char*>(m) + kMinAlign;
      }
    } else {
      obj = HeapAlloc(s, h, gfp, size, s.layout.align, 0);
    }
    if (!obj)
      return nullptr;
    __atomic_fetch_add(&sc.live, 1, __ATOMIC_RELAXED);
    uint32_t cpu;
    unsigned long flags = mmlab_host_local_irq_save(&cpu);
    PerCpuAdd(s.stats.at(cpu)->allocs, 1);
    mmlab_host_local_irq_restore(flags);
    // SLOB constructs on every allocation: a free object keeps nothing.
    if (s.ctor) {
      mmlab_host_unpoison(obj, size);
      if (s.ctor == CtorFill)
        __builtin_memset(obj, kCtorFillByte, size);
      else
        s.ctor(obj);
      IrqSaveGuard guard(s.lock);
      s.ctor_calls++;
    }
    return obj;
  }

  size_t AllocBulk(KmemCache& s, mmlab_gfp_t gfp, size_t nr, void** objs) override {
    return SlabAllocBulkEach(s, gfp, nr, objs);  // as mm/slob.c: one at a time
  }

  Page* Free(KmemCache& s, uint32_t cpu, Page* page, void* obj, uintptr_t) override {
    SlobHeap& h = *State(s).heap;
    const char* func = s.kmalloc ? "kfree" : "kmem_cache_free";
    IrqSaveGuard guard(h.lock);
    if (ReadOnce(page->slab_cache)) {
      // An object of its own pages: still this cache's (a racing double
      // free finds it gone)?
      if (page->slab_cache != &s || !(page->Flags() & kPgSlob) || !page->IsAllocHead() ||
          reinterpret_cast<uintptr_t>(obj) != Core::PageAddress(page)) {
        ReportBadFree(func, s.name, obj, page, "its pages were freed meanwhile", true, nullptr);
        WriteOnce(s.bad_frees, s.bad_frees + 1);
        return nullptr;
      }
      mmlab_host_object_free(obj, s.layout.object_size);
      const uint32_t order = page->order;
      for (uint32_t i = 1; i < (1u << order); i++) {
        page[i].slab_head = nullptr;
        page[i].slab_cache = nullptr;
      }
      WriteOnce(page->slab_cache, static_cast<void*>(nullptr));
      page->freelist = 0;
      page->SetFlags(page->Flags() & ~kPgSlob);
      h.big_pages -= uint64_t{1} << order;
      h.big_objects--;
      CountFree(s, cpu);
      return page;
    }
    const char* why;
    bool double_free;
    if (LookupLocked(*s.core, h, page, &s, obj, &why, &double_free) != &s) {
      ReportBadFree(func, s.name, obj, page, why, double_free, nullptr);
      WriteOnce(s.bad_frees, s.bad_frees + 1);
      return nullptr;
    }
    mmlab_host_object_free(obj, s.layout.object_size);
    const uint32_t size = s.layout.object_size + (s.kmalloc ? kMinAlign : 0);
    const uintptr_t off = reinterpret_cast<uintptr_t>(obj) - Core::PageAddress(page) -
                          (s.kmalloc ? kMinAlign : 0);
    Page* empty = SlobFree(h, page, static_cast<uint32_t>(off / kSlobUnit), Units(size), size);
    CountFree(s, cpu);
    return empty;
  }

  void FreeBulk(KmemCache& s, size_t nr, void** objs, const char* func, uintptr_t caller) override {
    SlabList discard;
    uint32_t cpu;
    unsigned long flags = mmlab_host_local_irq_save(&cpu);
    for (size_t i = 0; i < nr; i++) {
      void* obj = objs[i];
      if (!obj)
        continue;
      Page* page = SlabFindObject(*s.core, &s, obj, nullptr, func, nullptr);
      if (!page)
        continue;
      if (Page* empty = Free(s, cpu, page, obj, caller))
        discard.PushBack(empty);
    }
    mmlab_host_local_irq_restore(flags);
    FreeDiscardedSlabs(*s.core, &discard);
  }

  // Nothing per CPU; empty pages went back at once.
  uint64_t FlushAll(KmemCache&, bool) override { return 0; }
  void FlushDeadCpu(KmemCache&, uint32_t, SlabList*) override {}
  // The heap is checked once per core by SlobCheck (from SlabCheck).
  uint64_t CheckCpuSlabs(KmemCache&, uint64_t (&)[kSlabNodes]) override { return 0; }

  bool UsageLocked(KmemCache& s, SlabUsage* out) override {
    const uint64_t live = __atomic_load_n(&State(s).live, __ATOMIC_RELAXED);
    *out = {live, live, 0, 0, 0};
    return true;
  }

  bool LiveObjectsLocked(KmemCache& s, uint64_t* out) override {
    *out = __atomic_load_n(&State(s).live, __ATOMIC_RELAXED);
    if (*out)  // SLOB cannot name them: no per-cache list of objects
      Log(MMLAB_LOG_ERR, "slob %s: %lu objects still allocated (SLOB keeps no list to show them)",
          s.name, *out);
    return true;
  }

  // No array caches.
  void Tunables(KmemCache&, SlabTunables* out) override { *out = {}; }

  bool SupportsDebug() const override { return false; }
};

constinit Slob g_slob;

}  // namespace

SlabPolicy& SlobPolicy() { return g_slob; }

Page* SlobFindObject(Core& core, Page* page, KmemCache* s, const void* obj, KmemCache** owner,
                     const char* func, TextBuf* why) {
  const char* name = s ? s->name : "kmalloc";
  KmemCache* c = static_cast<KmemCache*>(ReadOnce(page->slab_cache));
  if (c) {
    // An object of PAGE_SIZE or more: the block's first byte.
    if (reinterpret_cast<uintptr_t>(obj) != Core::PageAddress(page)) {
      ReportBadFree(func, name, obj, page, "not the start of its SLOB block", false, why);
    } else if (s && c != s) {
      char ptr[32];
      mmlab_host_format_ptr(obj, ptr, sizeof(ptr));
      Report(why, MMLAB_LOG_WARN, "%s: Wrong slab cache. %s but object %s is from %s; ignored",
             func, s->name, ptr, c->name);
    } else {
      if (owner)
        *owner = c;
      return page;
    }
    if (s)
      WriteOnce(s->bad_frees, s->bad_frees + 1);
    return nullptr;
  }
  SlobHeap* h = HeapOf(core);
  const char* reason = "no SLOB heap";
  bool double_free = false;
  if (h) {
    IrqSaveGuard guard(h->lock);
    c = LookupLocked(core, *h, page, s, obj, &reason, &double_free);
  }
  if (!c) {
    ReportBadFree(func, name, obj, page, reason, double_free, why);
    if (s)
      WriteOnce(s->bad_frees, s->bad_frees + 1);
    return nullptr;
  }
  if (owner)
    *owner = c;
  return page;
}

KmemCache* SlobKmallocOwner(Core& core, Page* page, const void* obj) {
  KmemCache* c = static_cast<KmemCache*>(ReadOnce(page->slab_cache));
  if (c)
    return c->kmalloc && reinterpret_cast<uintptr_t>(obj) == Core::PageAddress(page) ? c : nullptr;
  SlobHeap* h = HeapOf(core);
  if (!h)
    return nullptr;
  const char* reason;
  bool double_free;
  IrqSaveGuard guard(h->lock);
  return LookupLocked(core, *h, page, nullptr, obj, &reason, &double_free);
}

uint64_t SlobPages(SlabAllocator& a) {
  SlobHeap* h = static_cast<SlobHeap*>(a.slob_heap);
  if (!h)
    return 0;
  IrqSaveGuard guard(h->lock);
  return h->pages + h->big_pages;
}

void SlobRenderSlabinfo(SlabAllocator& a, mmlab_emit_fn emit, void* ctx) {
  SlobHeap* h = static_cast<SlobHeap*>(a.slob_heap);
  if (!h)
    return;
  // The heap's "objects" are its SLOB units: active = units in use, num =
  // units of its pages, so active/num is how full the heap is. Pages of
  // objects >= PAGE_SIZE count as single-page slabs wholly in use.
  uint64_t used = 0, pages, big;
  {
    IrqSaveGuard guard(h->lock);
    pages = h->pages;
    big = h->big_pages;
    for (uint32_t li = 0; li < kNrLists; li++) {
      const ListNode* head = h->lists[li].sentinel();
      for (const ListNode* l = head->next; l != head; l = l->next)
        used += SlabList::Owner(l)->inuse;
    }
  }
  char line[192];
  TextBuf text(line, sizeof(line));
  text.Append("%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu : "
              "policy slob\n",
              "slob-heap", used + big * kPageUnits, (pages + big) * kPageUnits, kSlobUnit,
              kPageUnits, 1, 0u, 0u, 0u, pages + big, pages + big, 0ul);
  emit(ctx, text.c_str(), text.len());
}

uint64_t SlobCheck(SlabAllocator& a) {
  SlobHeap* h = static_cast<SlobHeap*>(a.slob_heap);
  if (!h)
    return 0;
  CheckReport report;
  IrqSaveGuard guard(h->lock);
  uint64_t counted = 0;
  for (uint32_t li = 0; li < kNrLists; li++) {
    const ListNode* head = h->lists[li].sentinel();
    uint64_t steps = 0;
    for (const ListNode* l = head->next; l != head; l = l->next) {
      if (++steps > h->pages + 1 || !l || l->next->prev != l) {
        report.Violation("slob: heap %s list is corrupt", kListNames[li]);
        break;
      }
      counted++;
      const Page* sp = SlabList::Owner(l);
      const uint64_t pfn = Core::PageToPfn(sp);
      if (!IsHeapPage(sp)) {
        report.Violation("slob: pfn 0x%lx on the heap's %s list is not a SLOB heap page", pfn,
                         kListNames[li]);
        continue;
      }
      if (sp->inuse > kPageUnits) {
        report.Violation("slob: pfn 0x%lx has %u units in use of %u", pfn, sp->inuse, kPageUnits);
        continue;
      }
      const uint32_t free_units = FreeUnits(sp);
      if ((li == kListFull) != (free_units == 0))
        report.Violation("slob: pfn 0x%lx with %u free units is on the %s list", pfn, free_units,
                         kListNames[li]);
      if ((sp->freelist == kSlabNoFree) != (free_units == 0))
        report.Violation("slob: pfn 0x%lx has %u free units but %s free block", pfn, free_units,
                         sp->freelist == kSlabNoFree ? "no" : "a");
      if (sp->freelist != kSlabNoFree && sp->freelist % kSlobUnit)
        report.Violation("slob: pfn 0x%lx first free block at odd offset %u", pfn, sp->freelist);
      // The free blocks: inside the page, address-ordered, not
      // overlapping, adding up to the page's free units.
      const uintptr_t base = Core::PageAddress(sp);
      uint32_t sum = 0, blocks = 0;
      uint32_t cur = FirstFree(sp);
      bool bad = false;
      while (cur != kEnd) {
        Block b;
        if (++blocks > kPageUnits || !ReadBlock(base, cur, &b)) {
          report.Violation("slob: pfn 0x%lx free block at offset %u is corrupt (outside the page, "
                           "out of order or overlapping)",
                           pfn, cur * kSlobUnit);
          bad = true;
          break;
        }
        sum += b.units;
        cur = b.next;
      }
      if (!bad && sum != free_units)
        report.Violation("slob: pfn 0x%lx free blocks hold %u units, the page counts %u free", pfn,
                         sum, free_units);
    }
  }
  if (counted != h->pages)
    report.Violation("slob: heap counts %lu pages, its lists hold %lu", h->pages, counted);
  report.Finish();
  return report.count();
}

}  // namespace mmlab
