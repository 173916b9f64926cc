// SPDX-License-Identifier: GPL-2.0
//
// core.h - one mmlab core: its zones, the GFP policy over them, reclaim,
// the control file's handles and pressure pool, and the Linux-named page
// allocator entry points behind include/mmlab/core.h.
//
// This file is the C++ side of struct mmlab_core; the C ABI functions in
// core.cc, render.cc and command.cc are thin wrappers around Core. Core's
// methods live where their concept does: page_alloc.cc (zonelist, GFP,
// slow path, failure report), reclaim.cc (direct reclaim, kswapd, drain),
// watermark.cc (min_free_kbytes, watermarks, lowmem reserve, pcp
// tunables), core.cc (life cycle, free, control file, checker).
//
// Lock order, outermost first: ctl_lock_ ("mmlab_control"), then
// pressure_lock_ ("mmlab_pressure"), then interrupts off on this CPU
// (the per-CPU lists), then a zone's lock ("mmlab_zone"). wmark_lock_ and
// the shrinker registry's lock are only ever held around zone locks or
// alone. No core lock is held while calling the host page source,
// on_each_cpu, a sleep, a shrinker or run_in_context.
#ifndef MMLAB_CXXCORE_CORE_H
#define MMLAB_CXXCORE_CORE_H

#include "base.h"
#include "chunk.h"
#include "fault_inject.h"
#include "format.h"
#include "handles.h"
#include "lock.h"
#include "mmlab/core.h"
#include "objects.h"
#include "page_desc.h"
#include "pcp.h"
#include "shrinker.h"
#include "stats.h"
#include "subsys.h"
#include "zone.h"

namespace mmlab {

struct AllocTrace;

constexpr uint32_t kMaxZones = MMLAB_NR_ZONES;
// Largest min_free_kbytes accepted (16 GiB): keeps the watermark arithmetic
// far from overflow for any capacity the core accepts.
constexpr uint64_t kMaxMinFreeKbytes = uint64_t{1} << 24;

// Linux's calculate_min_free_kbytes() for a capacity: int_sqrt(KiB * 16)
// clamped to 128..262144.
uint64_t DefaultMinFreeKbytes(uint64_t capacity_pages);

// The zones a request may use, in the order it tries them (Linux: the
// zonelist filtered by gfp_zone(), highest_zoneidx = the preferred zone).
struct AllocContext {
  uint32_t zonelist[kMaxZones];
  uint32_t nr_zones;
  uint32_t highest_zoneidx;
};

// What the slow path did, for the failure report.
struct SlowPathLog {
  uint32_t alloc_flags = 0;
  uint32_t reclaim_passes = 0;
  uint64_t borrowed_pages = 0;
  uint64_t reclaimed_pages = 0;
  bool kswapd_woken = false;
};

class Core {
 public:
  MMLAB_NO_COPY(Core);

  static mmlab_status Create(const mmlab_core_config* cfg, Core** out);
  // Frees the control handles' blocks and the pressure pool, returns every
  // chunk it can and frees the core. Returns the pages of chunks leaked
  // because they are in use.
  uint64_t Destroy();

  static Core* From(mmlab_core* core) { return reinterpret_cast<Core*>(core); }
  mmlab_core* handle() { return reinterpret_cast<mmlab_core*>(this); }

  // --- page allocator (page_alloc.cc) -----------------------------------
  // A block of 2^order pages, or null. Invalid requests are reported (and
  // the reason copied into why, if given). flags are PageFlags for the head.
  Page* AllocPages(mmlab_gfp_t gfp, uint32_t order, uint16_t flags = 0, TextBuf* why = nullptr);
  // MMLAB_EINVAL (reported) for anything but the head of an allocated block
  // of exactly this order that the caller may free.
  // owners: the owner flags (kPgOwnerMask) the caller speaks for, e.g.
  // kPgVmalloc when vfree gives an area's pages back.
  mmlab_status FreePages(const Page* page, uint32_t order, TextBuf* why = nullptr,
                         uint16_t owners = 0);
  mmlab_status FreeAddress(uintptr_t addr, uint32_t order, TextBuf* why = nullptr);
  Page* VirtToPage(uintptr_t addr);

  // Pure arithmetic on a descriptor handed out by this core, as in Linux.
  static uintptr_t PageAddress(const Page* page) { return page->chunk->AddressOf(page); }
  static uint64_t PageToPfn(const Page* page) { return page->chunk->PfnOf(page); }
  static const Zone* PageZone(const Page* page) { return page->chunk->zone(); }

  // --- reclaim (reclaim.cc) -------------------------------------------------
  // One kswapd run: balance the zones the wakers needed up to high.
  void Kswapd();
  // Empties a dead CPU's lists into the buddy.
  void CpuDead(uint32_t cpu);
  // Empties every online CPU's lists (on_each_cpu); returns the pages moved.
  uint64_t DrainAllPages();
  // Wakes kswapd for every zone, forgetting that it gave up anywhere.
  void WakeKswapdByHand();
  ShrinkerList& shrinkers() { return shrinkers_; }

  // --- tunables (watermark.cc) -----------------------------------------------
  mmlab_status SetMinFreeKbytes(uint64_t kbytes, TextBuf* why);
  uint64_t min_free_kbytes() const { return ReadOnce(min_free_kbytes_); }
  // For one zone (zone < MMLAB_NR_ZONES) or all (zone == MMLAB_NR_ZONES).
  mmlab_status SetPcpHighBatch(uint32_t zone, uint64_t high, uint64_t batch, TextBuf* why);
  // Back to the values derived from each zone's share (zone_batchsize).
  void ResetPcpHighBatch(uint32_t zone);

  // --- maintenance ------------------------------------------------------
  // Drains the per-CPU lists, then returns every fully free chunk.
  uint64_t Shrink();
  // Logs every violation; returns how many were found. May sleep.
  uint64_t Check();
  void Counters(struct mmlab_core_counters* out);
  FailStats FailStatsSum() const;
  uint64_t kswapd_runs() const { return ReadOnce(kswapd_runs_); }

  uint32_t chunk_order() const { return chunk_order_; }
  uint64_t capacity_pages() const { return capacity_pages_; }
  uint32_t nr_zones() const { return kMaxZones; }
  uint32_t nr_cpus() const { return nr_cpus_; }
  Zone& zone(uint32_t i) { return zones_[i]; }

  // --- control file (command.cc parses, these act) -----------------------
  // zone gets the zone that served the block.
  mmlab_status ControlAlloc(mmlab_gfp_t gfp, uint32_t order, mmlab_host_context context,
                            uint64_t* id, uint64_t* pfn, const char** zone, TextBuf* why)
      MMLAB_EXCLUDES(ctl_lock_);
  // order_given: the user named an order, which must match the handle's.
  mmlab_status ControlFree(uint64_t id, bool order_given, uint32_t order, uint32_t* freed_order,
                           TextBuf* why) MMLAB_EXCLUDES(ctl_lock_);
  mmlab_status ControlFreePfn(uint64_t pfn, uint32_t order, TextBuf* why)
      MMLAB_EXCLUDES(ctl_lock_);
  // Frees every handle's block and releases the pressure pool, then frees
  // every control object and destroys the pools and caches the control file
  // created; returns the handles freed, and the rest through *rest.
  struct FreeAllCounts {
    uint64_t pressure = 0, objects = 0, pools = 0, caches = 0;
  };
  uint64_t ControlFreeAll(FreeAllCounts* rest = nullptr) MMLAB_EXCLUDES(ctl_lock_);
  uint32_t ControlHandles() MMLAB_EXCLUDES(ctl_lock_);
  // Takes up to n order-0 pages into the pressure pool; *got says how many.
  mmlab_status PressureConsume(uint64_t n, mmlab_gfp_t gfp, uint64_t* got, TextBuf* why)
      MMLAB_EXCLUDES(pressure_lock_);
  // Gives up to n pages of the pool back; returns how many.
  uint64_t PressureRelease(uint64_t n) MMLAB_EXCLUDES(pressure_lock_);
  uint64_t PressurePages() MMLAB_EXCLUDES(pressure_lock_);

  // --- control objects above the page allocator (objects.h) --------------
  // The commands in command_slab.cc / command_pool.cc reserve room, allocate
  // with no lock held, then commit (or unreserve on failure). To free or
  // touch an object they take it out of the table first (ObjTake), then
  // either ObjDone() after freeing it or ObjPutBack() to keep it.
  mmlab_status ObjReserve(uint32_t n, TextBuf* why) MMLAB_EXCLUDES(ctl_lock_);
  void ObjUnreserve(uint32_t n) MMLAB_EXCLUDES(ctl_lock_);
  uint64_t ObjCommit(CtlObject* obj) MMLAB_EXCLUDES(ctl_lock_);
  // Commits n objects, made by make(ctx, i, &obj), under one hold of the
  // table's lock so they get consecutive ids (cache_alloc_bulk promises
  // that even with other writers); returns the first id.
  uint64_t ObjCommitEach(uint32_t n, void (*make)(void* ctx, uint32_t i, CtlObject* out),
                         void* ctx) MMLAB_EXCLUDES(ctl_lock_);
  // MMLAB_ENOENT for an unknown id; MMLAB_EINVAL when its kind is not in
  // kind_mask (the reason names the command that frees it). Reported.
  mmlab_status ObjTake(uint64_t id, uint32_t kind_mask, CtlObject* out, TextBuf* why)
      MMLAB_EXCLUDES(ctl_lock_);
  void ObjPutBack(const CtlObject& obj) MMLAB_EXCLUDES(ctl_lock_);
  void ObjDone() MMLAB_EXCLUDES(ctl_lock_);
  uint32_t ObjCountOwned(const void* owner) MMLAB_EXCLUDES(ctl_lock_);
  // Frees every control object, mempool elements first; returns how many.
  uint64_t ObjFreeAll() MMLAB_EXCLUDES(ctl_lock_);

  // --- page map and explain (pagemap.cc) -----------------------------------
  // Lookups in the control file's tables under its lock, by id or by
  // pointer comparison only (nothing is dereferenced). False: none.
  bool ControlHandleOf(const Page* head, uint64_t* id) MMLAB_EXCLUDES(ctl_lock_);
  bool ControlHandleById(uint64_t id, uintptr_t* addr, uint32_t* order)
      MMLAB_EXCLUDES(ctl_lock_);
  bool ControlObjectById(uint64_t id, CtlObject* out) MMLAB_EXCLUDES(ctl_lock_);
  // The control object whose bytes [mem, mem + size) hold addr.
  bool ControlObjectAt(uintptr_t addr, CtlObject* out) MMLAB_EXCLUDES(ctl_lock_);

  // --- the layers above (subsys.h); valid from Init to Destroy --------------
  SlabAllocator& slab() { return *slab_; }
  VmallocSpace& vmalloc() { return *vmalloc_; }
  MempoolRegistry& mempools() { return *mempools_; }
  RegionSpace& regions() { return *regions_; }

  // --- fault injection (fault_inject.h): the sites' attributes ------------
  FaultSet& fault() { return fault_; }
  // page_debug.cc: poison overwrites found (atomic adds).
  uint64_t page_poison_overwrites = 0;

  // --- allocation trace (alloc_trace.cc): the call sites' read-mostly flag
  bool trace_on() const { return ReadOnce(trace_on_flag); }
  bool trace_on_flag = false;
  AllocTrace* alloc_trace = nullptr;  // the rings, once trace_set(on) ran

 private:
  Core() = default;
  ~Core() = default;

  mmlab_status Init(const mmlab_core_config& cfg, const uint64_t (&zone_pages)[kMaxZones]);
  // The slab, vmalloc and mempool layers, once the zones exist.
  mmlab_status InitLayers();
  bool FreeOrderValid(uint32_t order, TextBuf* why);
  // Resolves and frees target with interrupts off, trying each zone until
  // one owns it (FreeResult::kNotInZone from all means it is foreign).
  FreeResult FreeInZones(FreeTarget target, uint32_t order, uint16_t owners, TextBuf* why);

  // page_alloc.cc
  static AllocContext PrepareAllocContext(mmlab_gfp_t gfp);
  static uint32_t GfpToAllocFlags(mmlab_gfp_t gfp);
  Page* GetPageFromFreelist(const AllocContext& ac, mmlab_gfp_t gfp, uint32_t order,
                            uint32_t alloc_flags, uint16_t flags);
  [[gnu::cold]] Page* AllocPagesSlow(const AllocContext& ac, mmlab_gfp_t gfp, uint32_t order,
                                     uint16_t flags);
  [[gnu::cold]] Page* AllocPagesAtomicGrow(const AllocContext& ac, mmlab_gfp_t gfp,
                                           uint32_t order, uint32_t alloc_flags, uint16_t flags,
                                           SlowPathLog* log);
  [[gnu::cold]] void CountFailure(uint32_t order, mmlab_gfp_t gfp);
  [[gnu::cold]] bool WarnRatelimit(uint64_t* suppressed);
  [[gnu::cold]] void WarnAllocFailure(const AllocContext& ac, mmlab_gfp_t gfp, uint32_t order,
                                      const SlowPathLog& log);

  // reclaim.cc
  [[gnu::cold]] void WakeAllKswapds(const AllocContext& ac, uint32_t order, SlowPathLog* log);
  [[gnu::cold]] void DirectReclaim(const AllocContext& ac, mmlab_gfp_t gfp, uint32_t order,
                                   SlowPathLog* log);
  [[gnu::cold]] bool ShouldReclaimRetry(const AllocContext& ac, mmlab_gfp_t gfp, uint32_t order,
                                        uint32_t alloc_flags);
  void FreeRetiredIndexes();

  // watermark.cc
  void SetupPerZoneWmarks() MMLAB_REQUIRES(wmark_lock_);

  uint32_t chunk_order_ = 0;
  uint64_t capacity_pages_ = 0;
  uint32_t nr_cpus_ = 0;
  Zone zones_[kMaxZones];

  SpinLock wmark_lock_;           // serialises watermark and pcp tunable updates
  uint64_t min_free_kbytes_ = 0;  // written under wmark_lock_, read anywhere

  PerCpu<FailStats> fail_stats_;
  ShrinkerList shrinkers_;

  // kswapd's orders from wakers (max of what they asked), taken by each run.
  uint32_t kswapd_order_ = 0;
  uint32_t kswapd_highest_zoneidx_ = 0;
  uint64_t kswapd_runs_ = 0;

  // warn_alloc's rate limit: no report before warn_next_ns_.
  uint64_t warn_next_ns_ = 0;
  uint64_t warn_suppressed_ = 0;
  bool nofail_warned_ = false;

  // The control file's handles; freed with ctl_lock_ held, so a handle and
  // its block disappear together; allocation (which may sleep) runs with
  // it dropped.
  SpinLock ctl_lock_;
  HandleTable handles_ MMLAB_GUARDED_BY(ctl_lock_);

  // The pressure pool: order-0 pages held to push the zones toward their
  // watermarks, linked through their descriptors (never their memory).
  SpinLock pressure_lock_ MMLAB_ACQUIRED_AFTER(ctl_lock_);
  PageList pressure_ MMLAB_GUARDED_BY(pressure_lock_);
  uint64_t pressure_pages_ MMLAB_GUARDED_BY(pressure_lock_) = 0;
  uint64_t pressure_inflight_ MMLAB_GUARDED_BY(pressure_lock_) = 0;

  // Control objects (slab, kmalloc, vmalloc, mempool), under ctl_lock_ like
  // the handles.
  ObjectTable objects_ MMLAB_GUARDED_BY(ctl_lock_);

  SlabAllocator* slab_ = nullptr;
  VmallocSpace* vmalloc_ = nullptr;
  MempoolRegistry* mempools_ = nullptr;
  RegionSpace* regions_ = nullptr;

  FaultSet fault_;
};

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_CORE_H
