// SPDX-License-Identifier: GPL-2.0
//
// slab.h - slab caches (Linux: struct kmem_cache, mm/slab_common.c) and
// the policy interface that runs them (mm/slub.c today).
//
// How it works:
//  - A KmemCache hands out objects of one size carved from slabs: blocks of
//    2^order pages taken from Core::AllocPages with the caller's gfp (so a
//    GFP_ATOMIC request stays atomic) and marked kPgSlab. The slab's own
//    bookkeeping lives in the pages' descriptors (page_desc.h), never in
//    the slab memory, except the free pointer each free object carries at
//    `offset` (in the middle of the object, or after it when the cache has
//    a constructor, as SLUB does, so a constructed object keeps its state).
//  - The generic part here (layout, slab creation with the constructor run
//    once per object, the per-zone partial/full lists under the cache
//    lock, discard, shrink, the checker, destroy with its leak report) is
//    shared. What happens on alloc and free - per-CPU slabs, which list a
//    slab goes to - is the cache's SlabPolicy. slub.cc is the only policy
//    now; issue #7 adds others, switchable per cache (SetPolicy).
//  - Every cache (the kmalloc size classes, caches made through the C ABI
//    and through the control file) is on the allocator's list, which the
//    slabinfo view, the checker and the one "slab" shrinker walk.
//
// Lock order: the allocator's list lock, then interrupts off on this CPU,
// then a cache lock ("mmlab_kmem_cache"); the zone locks only ever inside
// Core::AllocPages / FreePages, which are never called with a cache lock
// held.
#ifndef MMLAB_CXXCORE_SLAB_H
#define MMLAB_CXXCORE_SLAB_H

#include "base.h"
#include "chunk.h"
#include "fault_inject.h"
#include "format.h"
#include "lock.h"
#include "mmlab/core.h"
#include "page_desc.h"
#include "pcp.h"
#include "shrinker.h"
#include "subsys.h"

namespace mmlab {

class Core;
class KmemCache;

// Largest slab order (Linux: PAGE_ALLOC_COSTLY_ORDER caps slub_max_order).
constexpr uint32_t kSlabMaxOrder = 3;
// Objects a slab aims for at least (Linux's 4 * (fls(nr_cpu_ids) + 1) for one
// CPU; fixed, so a layout does not depend on the machine).
constexpr uint32_t kSlabMinObjects = 8;
// Largest object a cache may have (twice the largest kmalloc class).
constexpr uint32_t kSlabMaxSize = 2 * MMLAB_KMALLOC_MAX_CACHE_SIZE;
// Empty slabs a node keeps on its partial list (SLUB's min_partial bounds).
constexpr uint32_t kSlabMinPartial = 1;
// Leaked objects named per cache in a destroy report.
constexpr uint32_t kSlabMaxLeakReports = 32;
// Zone nodes ("node" in SLUB): one per mmlab zone.
constexpr uint32_t kSlabNodes = MMLAB_NR_ZONES;

// SLUB's kmem_cache_node: one per zone. Slabs here are not any CPU's.
struct KmemCacheNode {
  SlabList partial;        // some objects free
  SlabList full;           // no object free (SLUB keeps this list only with debug)
  SlabList free;           // SLAB's slabs_free: every object free (empty for SLUB)
  uint64_t nr_partial = 0;
  uint64_t nr_full = 0;
  uint64_t nr_free = 0;
  uint64_t free_objects = 0;   // SLAB: free objects in this node's slabs (not in arrays)
  uint64_t nr_slabs = 0;       // every slab of this node, CPU slabs included
  uint64_t total_objects = 0;  // objects in those slabs

  KmemCacheNode() = default;
  MMLAB_NO_COPY(KmemCacheNode);
};

struct SlabCacheStats {
  uint64_t allocs = 0;  // objects handed out (alloc, bulk), per CPU
  uint64_t frees = 0;
  uint64_t fastpath_allocs = 0;
  uint64_t fastpath_frees = 0;
};

// What a cache's slabs look like; filled by Layout().
// With debug flags it is SLUB's calculate_sizes(): each stride holds
//   [left red zone][object][right red zone][free pointer][2 tracks][padding]
// (the red zones with Z, the free pointer outside the object with P or a
// constructor, the tracks with U); an object starts red_left_pad bytes
// into its stride.
struct SlabLayout {
  uint32_t object_size;  // what the caller asked for
  uint32_t size;         // stride: object, free pointer if outside, aligned
  uint32_t align;
  uint32_t offset;       // free pointer's offset in an object
  uint32_t order;
  uint32_t objects;      // per slab of `order`
  uint32_t waste;        // bytes per slab no object uses
  uint32_t red_left_pad;  // Z: left red zone before each object (0 without)
  uint32_t inuse;         // object plus right red zone (SLUB's s->inuse)
  uint32_t info_end;      // end of the free pointer / start of the tracks
  uint32_t track_end;     // end of the tracks; padding up to size - red_left_pad
};

// Debug flags (MMLAB_SLAB_*: F, Z, P, U).
constexpr uint32_t kSlabDebugFlags = MMLAB_SLAB_DEBUG_FLAGS;
// Owner tracking (U): one for the last allocation, one for the last free.
struct SlabTrack {
  uintptr_t addr;   // call site, 0: none
  uint64_t when_ns;
  uint32_t cpu;
  int32_t pid;
};
static_assert(sizeof(SlabTrack) == 24, "layout");

// Linux's calculate_alignment(): the requested alignment, raised to the
// cache line for SLAB_HWCACHE_ALIGN (halved while the object fits in half
// a line), at least 8.
uint32_t CalculateAlignment(uint32_t flags, uint32_t align, uint32_t size);
// Linux's calc_slab_order()/calculate_order(): the smallest order holding
// at least min_objects whose waste is at most 1/fract of the slab, trying
// fract 16, 8 then min_objects shrinking; order 0 for a lone object.
// max_chunk_order caps every order (the core's chunk order).
uint32_t CalculateOrder(uint32_t size, uint32_t max_chunk_order, uint32_t* objects_out);
// The whole layout for a size/align/flags/ctor; false when impossible.
bool Layout(uint32_t size, uint32_t align, uint32_t flags, bool has_ctor,
            uint32_t max_chunk_order, SlabLayout* out);

// slabinfo's numbers for one cache.
struct SlabUsage {
  uint64_t active_objs, num_objs, active_slabs, num_slabs, pages;
};
// slabinfo's "tunables <limit> <batchcount> <sharedfactor>" and
// "<sharedavail>": SLAB's array caches; zero for the other policies.
struct SlabTunables {
  uint32_t limit, batchcount, sharedfactor;
  uint64_t sharedavail;
};

// --- the policy interface ----------------------------------------------------
// How a cache's alloc and free run. One instance per policy, stateless;
// what it keeps per cache hangs off KmemCache::policy_data (allocated by
// Attach with the metadata allocator, freed by Detach). Every hook may be
// called in atomic context except Attach/Detach/FlushAll.
class SlabPolicy {
 public:
  virtual const char* name() const = 0;
  // Per-cache state; may sleep.
  virtual mmlab_status Attach(KmemCache& s) = 0;
  virtual void Detach(KmemCache& s) = 0;
  // One object, or null. gfp already checked; never sleeps unless gfp may.
  // caller: the call site, for a debug cache's owner tracking.
  virtual void* Alloc(KmemCache& s, mmlab_gfp_t gfp, uintptr_t caller) = 0;
  // nr objects into objs, all or nothing (Linux's kmem_cache_alloc_bulk):
  // returns nr, or 0 with every object given back and objs[0..nr) null.
  // gfp already checked; pages are only allocated with interrupts on.
  virtual size_t AllocBulk(KmemCache& s, mmlab_gfp_t gfp, size_t nr, void** objs) = 0;
  // With interrupts off on cpu (the section that verified obj): obj is an
  // object start inside slab (a slab of s). Refuses and reports what it
  // can tell is a double free (SLUB: obj is the head of the freelist it
  // would go on, or the slab has no object in use). Returns a slab the
  // free emptied and took off the cache, for KmemCache::FreeSlab once
  // interrupts are on again, or null.
  // A debug cache's objects go to SlabDebugFreeLocked instead.
  virtual Page* Free(KmemCache& s, uint32_t cpu, Page* slab, void* obj, uintptr_t caller) = 0;
  // kmem_cache_free_bulk: every non-null pointer is verified as
  // kmem_cache_free's (SlabFindObject, reports under `func`), bad ones
  // reported and skipped; the rest freed in one interrupts-off section.
  // objs is reordered and overwritten, as Linux's is.
  virtual void FreeBulk(KmemCache& s, size_t nr, void** objs, const char* func,
                        uintptr_t caller) = 0;
  // Gives every online CPU's objects back to the node lists (may sleep; no
  // lock); with offline_too, also those of CPUs that did not answer - only
  // when nobody else uses the cache any more (destroy).
  // Returns the pages of the slabs it freed (empty CPU slabs beyond the
  // node's minimum of partial slabs go back to the buddy allocator).
  virtual uint64_t FlushAll(KmemCache& s, bool offline_too) = 0;
  // With s.lock held: a dead CPU's objects back to the lists; slabs to be
  // freed go on *discard.
  virtual void FlushDeadCpu(KmemCache& s, uint32_t cpu, SlabList* discard) = 0;
  // With s.lock held: the CPU slabs (counted into *frozen per node) and
  // objects held per CPU; logs and counts violations.
  virtual uint64_t CheckCpuSlabs(KmemCache& s, uint64_t (&frozen)[kSlabNodes]) = 0;
  // With s.lock held: slabinfo's numbers when the cache's objects are not
  // all in its own slabs on the node lists (SLOB's shared pages); false:
  // the generic count from the node lists.
  // (The defaults are out of line, in slab.cc: see there why.)
  virtual bool UsageLocked(KmemCache& s, SlabUsage* out);
  // With s.lock held: objects still allocated, for destroy's leak check;
  // false: count the node lists' inuse.
  virtual bool LiveObjectsLocked(KmemCache& s, uint64_t* out);
  // slabinfo's tunables section (SLAB).
  virtual void Tunables(KmemCache& s, SlabTunables* out);
  // Whether the cache may carry slub_debug flags (SLOB has no debugging,
  // as Linux's had none).
  virtual bool SupportsDebug() const;
  // Reclaim's part (the "slab" shrinker, cache lock held, interrupts off
  // on cpu): objects the policy keeps that reclaim may give back without
  // on_each_cpu - SLAB's shared array and cpu's own array (cache_reap) -
  // go back to the slabs, freed ones onto *discard. count_only: only how
  // many objects that would be. Returns that count.
  virtual uint64_t ReapLocked(KmemCache& s, uint32_t cpu, SlabList* discard, bool count_only);
  // The checker's per-CPU part, run on cpu with interrupts off (through
  // on_each_cpu, so the CPU's own state holds still): SLAB's array cache.
  // Logs what it finds and returns the count. No lock held.
  virtual uint64_t CheckThisCpu(KmemCache& s, uint32_t cpu);

 protected:
  ~SlabPolicy() = default;
};

SlabPolicy& SlubPolicy();
SlabPolicy& SlabArrayPolicy();  // slab_array.cc: Linux's mm/slab.c (SLAB)
SlabPolicy& SlobPolicy();       // slob.cc: Linux's mm/slob.c (SLOB)
// The registry: "slub", "slab", "slob" (exactly, lower case; a trailing
// newline is the caller's to strip); null for anything else.
SlabPolicy* SlabPolicyByName(const char* name, size_t len);

// SLAB's state of a cache (slab_array.cc), for tests and the docs' numbers:
// the tunables, one CPU's array cache, the shared array and what the
// refills and flushes did. False for a cache of another policy.
struct SlabArrayCounters {
  uint32_t limit, batchcount, shared, free_limit;
  uint32_t cpu_avail, cpu_limit, shared_avail, shared_limit;
  uint64_t refills;         // cache_alloc_refill runs that found objects
  uint64_t refill_objects;  // objects they moved into CPU arrays
  uint64_t shared_refills;  // ... of those served from the shared array
  uint64_t flushes;         // cache_flusharray runs
  uint64_t flush_objects;   // objects they moved out of CPU arrays
  uint64_t shared_flushes;  // ... of those into the shared array
  uint64_t grown;           // new slabs (cache_grow)
  uint64_t freed_slabs;     // slabs free_block gave back beyond free_limit
};
bool SlabArrayCountersOf(KmemCache& s, uint32_t cpu, SlabArrayCounters* out);

// The free path's check for a kPgSlob page (slob.cc): obj must lie in an
// allocated block of the page (not inside one of its free blocks); for s
// null (kfree) the block's kmalloc header names the size class, which
// *owner gets. Reports and returns null otherwise. Interrupts off.
Page* SlobFindObject(Core& core, Page* page, KmemCache* s, const void* obj, KmemCache** owner,
                     const char* func, TextBuf* why);

// --- a cache -------------------------------------------------------------------
class KmemCache {
 public:
  Core* core = nullptr;
  FaultSet* fault = nullptr;  // the core's fault-injection sites (failslab)
  SlabPolicy* policy = nullptr;
  void* policy_data = nullptr;
  // Slab colouring (SLAB): 0xffff when each slab's objects start
  // slab->colour bytes in (page_desc.h), 0 otherwise (SLUB's frozen lives
  // in those bytes), so ObjBase costs SLUB one predicted branch. colour_next (under the
  // lock) is the next new slab's colour index, as Linux's n->colour_next.
  uint16_t colour_mask = 0;
  uint16_t colour_off = 0;   // SLAB: max(cache line, align); 0 otherwise
  uint32_t colour_next = 0;
  char name[MMLAB_KMEM_CACHE_NAME_MAX] = {};
  uint32_t flags = 0;
  mmlab_ctor_fn ctor = nullptr;
  SlabLayout layout = {};
  mmlab_gfp_t allocflags = 0;  // added to every slab allocation (__GFP_DMA32)
  bool kmalloc = false;        // one of the size classes
  uint64_t control_id = 0;     // id in the control file, 0 when not made there
  uint32_t control_users = 0;  // control commands or pools using it (list_lock)
  ListNode cache_list = {};    // the allocator's list

  // Destroyed with objects still live: only frees (and a later destroy)
  // may reach it; its empty slabs are discarded at once.
  bool zombie = false;

  SpinLock lock;
  KmemCacheNode node[kSlabNodes] MMLAB_GUARDED_BY(lock);
  uint64_t ctor_calls MMLAB_GUARDED_BY(lock) = 0;
  uint64_t slabs_allocated MMLAB_GUARDED_BY(lock) = 0;  // ever
  uint64_t slabs_freed MMLAB_GUARDED_BY(lock) = 0;      // ever
  uint64_t bad_frees = 0;  // WriteOnce'd; reported frees refused

  // Slab debugging (slab_debug.cc). debug_flags and layout change only
  // under the lock while the cache has no slab at all; layout_gen counts
  // those changes, so a slab made meanwhile from an older layout is
  // recognised and discarded.
  uint32_t debug_flags = 0;
  uint64_t layout_gen MMLAB_GUARDED_BY(lock) = 0;
  uint64_t dbg_bad_frees = 0;          // WriteOnce'd: double/invalid frees caught
  uint64_t dbg_poison_overwrites = 0;  // writes after free caught
  uint64_t dbg_redzone_overwrites = 0; // red zone / padding overwrites caught
  uint64_t dbg_freelist_corrupt = 0;   // corrupt free pointers isolated
  PerCpu<SlabCacheStats> stats;

  KmemCache() = default;
  MMLAB_NO_COPY(KmemCache);

  mmlab_kmem_cache* handle() { return reinterpret_cast<mmlab_kmem_cache*>(this); }
  static KmemCache* From(mmlab_kmem_cache* c) { return reinterpret_cast<KmemCache*>(c); }

  // --- helpers for policies -------------------------------------------------
  static uintptr_t SlabBase(const Page* slab) { return slab->chunk->AddressOf(slab); }
  uint32_t ObjectsIn(const Page* slab) const {
    return static_cast<uint32_t>((MMLAB_PAGE_SIZE << slab->order) / layout.size);
  }
  void* FreePointer(void* obj) const {
    void* next;
    __builtin_memcpy(&next, static_cast<char*>(obj) + layout.offset, sizeof(next));
    return next;
  }
  void SetFreePointer(void* obj, void* next) const {
    __builtin_memcpy(static_cast<char*>(obj) + layout.offset, &next, sizeof(next));
  }
  // The slab's own freelist (kept as an offset in the descriptor).
  void* SlabFreelist(const Page* slab) const {
    return slab->freelist == kSlabNoFree ? nullptr
                                         : reinterpret_cast<void*>(SlabBase(slab) + slab->freelist);
  }
  void SetSlabFreelist(Page* slab, void* obj) const {
    slab->freelist = obj ? static_cast<uint32_t>(reinterpret_cast<uintptr_t>(obj) - SlabBase(slab))
                         : kSlabNoFree;
  }
  static uint32_t NodeOf(const Page* slab);
  // The gfp for a new slab: the caller's reclaim bits, the cache's zone.
  mmlab_gfp_t SlabGfp(mmlab_gfp_t gfp) const;
  // Nodes to take partial slabs from, preferred first.
  uint32_t NodeOrder(mmlab_gfp_t gfp, uint32_t (&order)[kSlabNodes]) const;

  // Where object 0 of a slab starts: past the colour offset (SLAB) and
  // the left red zone (debug).
  // The descriptor is read only under SLAB: under SLUB those bytes are
  // `frozen`, which other CPUs write under the cache lock.
  uintptr_t ObjBase(const Page* slab) const {
    return SlabBase(slab) + layout.red_left_pad +
           (MMLAB_UNLIKELY(colour_mask) ? slab->colour & colour_mask : 0u);
  }
  // Address of object i of a slab.
  void* ObjectAt(const Page* slab, uint32_t i) const {
    return reinterpret_cast<void*>(ObjBase(slab) + uintptr_t{i} * layout.size);
  }
  // A new slab with every object constructed (and, for a debug cache,
  // poisoned and red-zoned) and on its freelist, inuse 0, on no list and
  // not yet counted; *gen_out: the layout generation it was made for. No
  // lock held; null on failure.
  Page* NewSlab(mmlab_gfp_t gfp, uint64_t* gen_out = nullptr);
  // Counts a new slab into its node (lock held).
  void AccountNewSlab(Page* slab) MMLAB_REQUIRES(lock);
  // Takes an empty or unwanted slab out of its node's counts (lock held);
  // the caller frees it with FreeSlab after dropping the lock.
  void UnaccountSlab(Page* slab) MMLAB_REQUIRES(lock);
  // Clears the slab fields and gives the pages back. No lock held. Static:
  // the cache may be gone by then (the shrinker frees slabs it took).
  static void FreeSlab(Core& core, Page* slab);
  // A slab that is no CPU's any more goes to the list its objects say
  // (lock held): full, partial, or - empty, with enough partial slabs
  // already or on a zombie - onto *discard for FreeSlab after unlocking.
  void PutSlab(Page* slab, bool to_tail, SlabList* discard) MMLAB_REQUIRES(lock);
  // Moves every empty slab on the partial and free lists to *discard.
  uint64_t TakeEmptySlabs(SlabList* discard) MMLAB_REQUIRES(lock);
};

// --- the allocator: every cache, kmalloc's classes, the shrinker -------------------
class SlabAllocator {
 public:
  Core* core = nullptr;
  SpinLock list_lock;
  List<KmemCache, __builtin_offsetof(KmemCache, cache_list)> caches MMLAB_GUARDED_BY(list_lock);
  uint64_t nr_caches MMLAB_GUARDED_BY(list_lock) = 0;
  uint64_t next_control_id MMLAB_GUARDED_BY(list_lock) = 1;
  Shrinker shrinker = {};
  bool shrinker_registered = false;
  // slob.cc's heap shared by every SLOB cache of this core, while one is
  // attached (set and cleared under list_lock; see slob.h).
  void* slob_heap = nullptr;

  static constexpr uint32_t kNrKmallocCaches = 13;
  KmemCache* kmalloc_caches[kNrKmallocCaches] = {};

  // kmalloc's counters (atomic adds; kmalloc.cc).
  uint64_t large_pages = 0;  // pages of large kmallocs now
  uint64_t large_allocs = 0;
  uint64_t bad_kfrees = 0;
  uint64_t overflows = 0;  // kmalloc_array/kcalloc refusals and too-large requests

  // slub_debug= (list_lock): the debug flags new caches get, and the one
  // cache name they are limited to (empty: every cache).
  uint32_t default_debug MMLAB_GUARDED_BY(list_lock) = 0;
  char default_debug_name[MMLAB_KMEM_CACHE_NAME_MAX] MMLAB_GUARDED_BY(list_lock) = {};
  // slab_policy=: the policy of caches created without one (the kmalloc
  // classes get it at core creation). Set with ReadOnce/WriteOnce.
  SlabPolicy* default_policy = nullptr;

  SlabAllocator() = default;
  MMLAB_NO_COPY(SlabAllocator);
};

// kmem_cache_create for the allocator's own and the C ABI's caches; policy
// null: the allocator's default_policy.
mmlab_status KmemCacheCreate(Core& core, const char* name, uint32_t size, uint32_t align,
                             uint32_t flags, mmlab_ctor_fn ctor, bool kmalloc, KmemCache** out,
                             TextBuf* why, SlabPolicy* policy = nullptr);
// Switches an empty cache to another policy (cache_policy): the CPUs are
// flushed and empty slabs given back first; MMLAB_EBUSY with the reason in
// why while objects or slabs remain, MMLAB_EINVAL for a debug cache and a
// policy without debugging, MMLAB_ENOMEM (old policy kept) if the new one
// cannot attach. May sleep.
mmlab_status SlabSetPolicy(KmemCache& s, SlabPolicy& policy, TextBuf* why);
// The default for caches created from now on (slab_policy=); EINVAL with a
// warning for an unknown name.
mmlab_status SlabSetDefaultPolicy(Core& core, const char* name, size_t len, TextBuf* why);
SlabPolicy& SlabDefaultPolicy(Core& core);
// The free path's checks: the slab holding obj if it is an object start of
// cache s (or, with s null, of any cache: *owner gets it). Reports and
// returns null otherwise. Interrupts off.
Page* SlabFindObject(Core& core, KmemCache* s, const void* obj, KmemCache** owner,
                     const char* func, TextBuf* why);
// The same with obj's page descriptor already looked up (page =
// VirtToPageIrqsOff(core, obj), null when no zone has it): kfree looks it
// up once for both its large-kmalloc and its slab check.
Page* SlabFindObjectAt(Core& core, Page* page, KmemCache* s, const void* obj, KmemCache** owner,
                       const char* func, TextBuf* why);
// SlabFindObjectAt's checks inline for the free paths (kmem_cache_free,
// kfree, each group of a bulk free): a good pointer costs no call;
// anything else goes to SlabFindObjectAt, which checks again and reports.
inline Page* SlabFindObjectFast(Core& core, Page* page, KmemCache* s, const void* obj,
                                KmemCache** owner, const char* func, TextBuf* why) {
  if (MMLAB_LIKELY(page)) {
    PageState st = page->State();
    Page* slab = st == PageState::kAllocHead   ? page
                 : st == PageState::kAllocTail ? ReadOnce(page->slab_head)
                                               : nullptr;
    if (MMLAB_LIKELY(slab && slab->IsAllocHead() && (slab->Flags() & kPgSlab))) {
      KmemCache* c = static_cast<KmemCache*>(ReadOnce(slab->slab_cache));
      if (MMLAB_LIKELY(c && (!s || c == s))) {
        // An object start: a multiple of the stride whose object ends
        // inside the slab (index < ObjectsIn, without a second division).
        const uintptr_t off = reinterpret_cast<uintptr_t>(obj) - c->ObjBase(slab);
        const uintptr_t size = c->layout.size;
        const uintptr_t bytes = uintptr_t{MMLAB_PAGE_SIZE} << slab->order;
        if (MMLAB_LIKELY(off < bytes && bytes - off >= size && off % size == 0)) {
          if (owner)
            *owner = c;
          return slab;
        }
      }
    }
  }
  return SlabFindObjectAt(core, page, s, obj, owner, func, why);
}
Page* VirtToPageIrqsOff(Core& core, const void* addr);
void* KmemCacheAllocCaller(KmemCache* s, mmlab_gfp_t gfp, uintptr_t caller, size_t bytes_req,
                           bool trace);
// KmemCacheAllocCaller after its gfp check (gfp without __GFP_DMA32),
// without the tracepoint: kmalloc's size classes call it inline.
// A debug cache never has CPU slabs, so its allocations and frees always
// reach the policy's slow paths, which hand them to slab_debug.cc: the
// fast paths pay nothing for debugging.
inline void* KmemCacheAllocChecked(KmemCache* s, mmlab_gfp_t gfp, uintptr_t caller) {
  if (gfp & MMLAB___GFP_DIRECT_RECLAIM)
    mmlab_host_might_sleep();
  void* obj = MMLAB_UNLIKELY(ReadOnce(s->zombie)) ||
                      s->fault->ShouldFailSlab(gfp, s->layout.object_size, s->flags)
                  ? nullptr
                  : s->policy->Alloc(*s, gfp, caller);
  if (!obj)
    return nullptr;
  // KASAN/kmemleak (host.h): accessible before the core's memset touches it.
  mmlab_host_object_alloc(obj, s->layout.object_size, gfp);
  if (gfp & MMLAB___GFP_ZERO)
    __builtin_memset(obj, 0, s->layout.object_size);
  return obj;
}
// kmem_cache_alloc_bulk after the checks of the C ABI: all or nothing.
size_t KmemCacheAllocBulk(KmemCache* s, mmlab_gfp_t gfp, size_t nr, void** objs);
// kmem_cache_alloc_bulk one object after the other through the cache's
// policy (SLAB and SLOB did it so): all or nothing - on a failure every
// object taken goes back through FreeBulk and objs[0..nr) is nulled.
size_t SlabAllocBulkEach(KmemCache& s, mmlab_gfp_t gfp, size_t nr, void** objs);
// Gives the slabs on *discard back (no lock held); returns pages.
uint64_t FreeDiscardedSlabs(Core& core, SlabList* discard);

// A CPU went offline (mmlab_core_cpu_dead): its CPU slabs go back to the
// node lists (Linux: slub_cpu_dead). May sleep; no lock held.
void SlabCpuDead(SlabAllocator& a, uint32_t cpu);

// Control-file bookkeeping (command_slab.cc, and mempools over a control
// cache): Get finds a cache by control id and pins it against
// cache_destroy (null if none), Put lets it go.
KmemCache* SlabGetControlCache(Core& core, uint64_t id);
void SlabPutControlCache(Core& core, KmemCache* s);
// cache_destroy: ENOENT, EBUSY while pinned (*pinned set) or (reported)
// with live objects.
mmlab_status SlabControlDestroy(Core& core, uint64_t id, bool* pinned);
uint64_t SlabAssignControlId(Core& core, KmemCache* s);
// "name .. objsize .. ctor_calls .." for cache_info.
void SlabCacheInfo(KmemCache& s, TextBuf* out);
// kmem_cache_destroy (MMLAB_EBUSY, reported, with live objects).
mmlab_status KmemCacheDestroy(KmemCache* s);
// --- slab debugging (slab_debug.cc, docs/debugging.md) ----------------------------

// SLUB's calculate_sizes() for the debug flags in `flags` (Layout calls it).
void SlabDebugLayout(uint32_t flags, bool has_ctor, SlabLayout* l);
// setup_object_debug(): a new object of a debug cache (before its ctor):
// red zones inactive, poison, empty tracks, padding.
void SlabDebugInitObject(const SlabLayout& l, uint32_t flags, bool has_ctor, void* obj);
// alloc_debug_processing(): an object of a debug cache, taken from a
// partial slab under the lock (a new slab when none has one), checked,
// red-zoned active and tracked. No lock held, interrupts on.
void* SlabDebugAlloc(KmemCache* s, mmlab_gfp_t gfp, uintptr_t caller);
// All or nothing, as kmem_cache_alloc_bulk.
size_t SlabDebugAllocBulk(KmemCache* s, mmlab_gfp_t gfp, size_t nr, void** objs,
                          uintptr_t caller);
// free_debug_processing() and the free of obj (an object start of slab,
// checked by SlabFindObject) in a debug cache, lock held: double free,
// red zones, then poison and back on the slab's freelist. A slab the free
// emptied and the cache gives up goes on *discard.
void SlabDebugFreeLocked(KmemCache& s, Page* slab, void* obj, uintptr_t caller,
                         SlabList* discard) MMLAB_REQUIRES(s.lock);
// The checker's part for a debug cache (SLUB's validate_slab): every
// object's red zones and padding, every free object's poison and free
// pointer; reports and restores. Lock held. Returns problems found.
uint64_t SlabDebugValidate(KmemCache& s) MMLAB_REQUIRES(s.lock);
// A live object in a destroy report: its line and, with U, its tracks.
void SlabDebugPrintLeak(KmemCache& s, const Page* slab, const void* obj);
// Tracks of obj (U only), for the leak report.
void SlabDebugPrintTracking(KmemCache& s, const void* obj);
// "FZPU" letters of flags into buf ("-" for none).
void SlabDebugFlagsText(uint32_t flags, char (&buf)[8]);
// Parses Linux's slub_debug letters (f z p u, either case; "-" or "" for
// none). False on an unknown letter (*bad gets it).
bool SlabDebugParseFlags(const char* p, size_t n, uint32_t* out, char* bad);
// Switches a cache's debug flags (cache_debug): MMLAB_EBUSY, with the
// reason in why, while the cache has objects or slabs a CPU holds.
mmlab_status SlabSetDebug(KmemCache& s, uint32_t debug_flags, TextBuf* why);
// The default for caches created from now on (slub_debug=): flags, and the
// one cache name it is limited to ("" for all).
mmlab_status SlabSetDefaultDebug(Core& core, const char* spec, size_t len, TextBuf* why);
void SlabDefaultDebugText(Core& core, TextBuf* out);
// Debug flags a new cache of this name gets by default.
uint32_t SlabDefaultDebugFor(Core& core, const char* name);

// ctor=fill: the byte it writes.
constexpr uint8_t kCtorFillByte = 0xc7;
void CtorFill(void* obj);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_SLAB_H
