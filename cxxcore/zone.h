// SPDX-License-Identifier: GPL-2.0
//
// zone.h - a zone: a share of the capacity, the chunks borrowed for it from
// one host zone, their free_area lists, watermarks, per-CPU page lists and
// the lock that guards them (Linux: struct zone).
//
// The core has two, ZONE_DMA32 and ZONE_NORMAL (enum mmlab_zone_type); the
// zonelist walk, the GFP policy and reclaim live in page_alloc.cc and
// reclaim.cc and use a zone only through this interface. The buddy
// mechanics are in buddy.cc, the per-CPU lists' in pcp.cc.
#ifndef MMLAB_CXXCORE_ZONE_H
#define MMLAB_CXXCORE_ZONE_H

#include "base.h"
#include "buddy.h"
#include "check.h"
#include "chunk.h"
#include "fault_inject.h"
#include "format.h"
#include "lock.h"
#include "page_desc.h"
#include "pcp.h"
#include "stats.h"

namespace mmlab {

// Outcome of a free request addressed to one zone.
enum class FreeResult {
  kFreed,
  kRefused,    // the block is this zone's, but the request is wrong (reported)
  kNotInZone,  // the page is not this zone's; the caller tries the next zone
};

// What a caller handed to a free function.
struct FreeTarget {
  enum class Kind { kDescriptor, kAddress, kPfn };
  Kind kind;
  uintptr_t value;  // descriptor pointer, page address or pfn
};

// Watermark levels, in Linux's order (enum zone_watermarks).
enum WmarkIndex : uint32_t { kWmarkMin = 0, kWmarkLow, kWmarkHigh, kNrWmarks };

// Alloc flags (Linux: ALLOC_*), what gfp_to_alloc_flags() makes of a gfp.
enum AllocFlags : uint32_t {
  kAllocWmarkMask = 3u,            // a WmarkIndex in the low bits
  kAllocNoWatermarks = 1u << 2,    // __GFP_MEMALLOC: ignore the watermarks
  kAllocMinReserve = 1u << 3,      // __GFP_HIGH: min - min/2
  kAllocNonBlock = 1u << 4,        // no direct reclaim: a further - min/4 with __GFP_HIGH
  kAllocKswapd = 1u << 5,          // __GFP_KSWAPD_RECLAIM: wake kswapd
  kAllocReserves = kAllocMinReserve | kAllocNonBlock | kAllocNoWatermarks,
};

// Who borrows a chunk, for the per-zone counters.
enum class GrowFor { kAllocation, kKswapd };

// Why the last attempt to grow a zone failed (for the failure report).
enum class GrowFailure : uint8_t { kNone, kCapacity, kHost, kMetadata };
const char* GrowFailureName(GrowFailure f);
// "DMA32" or "Normal", as in buddyinfo.
const char* ZoneTypeName(mmlab_zone_type type);

// The zone's numbers at one moment, for views and reports.
struct ZoneSnapshot {
  ZoneCounters counters;
  uint64_t wmark[kNrWmarks] = {};
  uint64_t lowmem_reserve[MMLAB_NR_ZONES] = {};
  uint64_t spanned = 0;  // the zone's share of the capacity
  uint64_t reserved = 0;  // borrowed plus being borrowed
  uint64_t nr_free[kNrOrders] = {};
  uint64_t start_pfn = 0;  // lowest pfn borrowed; 0 when empty
  bool kswapd_failed = false;
  GrowFailure last_grow_failure = GrowFailure::kNone;
};

// What the descriptor walk of Check() counted, for the core's cross-checks.
struct ZoneCheckCounts {
  uint64_t control_blocks = 0;
  uint64_t pressure_blocks = 0;
  uint64_t pressure_unlinked = 0;  // pressure blocks not (yet) in the pool's list
  uint64_t alloc_pages = 0;
  uint64_t pcp_pages = 0;
  // States that are wrong unless a per-CPU list changed during the walk
  // (the core decides which, by comparing the lists' generations).
  uint64_t transitional = 0;
  uint64_t transitional_pfn = 0;
  const char* transitional_what = "";
};

// What one CPU's lists of one zone held, seen from that CPU.
struct PcpCheckCounts {
  uint64_t pages = 0;
  uint64_t gen = 0;
  uint64_t violations = 0;
};

class Zone {
 public:
  Zone() = default;
  MMLAB_NO_COPY(Zone);

  // Borrows nothing yet. max_pages is the zone's share of the capacity, a
  // multiple of the chunk size (zero: an empty zone). May sleep.
  mmlab_status Init(mmlab_zone_type type, const char* name, uint32_t chunk_order,
                    uint64_t max_pages, mmlab_host_zone host_zone, uint32_t nr_cpus);
  // Empties the per-CPU lists (no CPU may use them any more), returns every
  // fully free chunk; reports every allocated block of the other chunks and
  // leaks those chunks (their pages are in use). Returns the number of pages
  // that could not be returned. May sleep.
  uint64_t Destroy() MMLAB_EXCLUDES(lock_);

  mmlab_zone_type type() const { return type_; }
  const char* name() const { return name_; }
  uint32_t max_order() const { return max_order_; }
  uint64_t max_pages() const { return max_pages_; }
  uint32_t pcp_max_order() const { return pcp_max_order_; }
  uint32_t nr_cpus() const { return pcp_.nr_cpus(); }

  // --- watermarks ---------------------------------------------------------
  // Written by the core (watermark.cc) under the zone lock; read anywhere.
  void SetWatermarks(const uint64_t (&wmark)[kNrWmarks],
                     const uint64_t (&lowmem_reserve)[MMLAB_NR_ZONES]) MMLAB_EXCLUDES(lock_);
  uint64_t wmark(uint32_t which) const { return ReadOnce(wmark_[which]); }
  uint64_t lowmem_reserve(uint32_t highest_zoneidx) const {
    return ReadOnce(lowmem_reserve_[highest_zoneidx]);
  }
  // The buddy's free pages, read without the lock (NR_FREE_PAGES).
  uint64_t free_pages() const { return ReadOnce(free_pages_); }
  // Pages borrowed now plus what the capacity still allows, read without
  // the lock: what reclaim could at best make free here.
  uint64_t BorrowablePages() const;
  // Linux's __zone_watermark_ok: would `free` free pages leave the zone
  // above `mark` (lowered for reserves per alloc_flags) plus the lowmem
  // reserve against highest_zoneidx after taking 2^order pages, and is there
  // a free block of at least `order` (when need_block)? Lock-free.
  bool WatermarkOk(uint32_t order, uint64_t mark, uint32_t highest_zoneidx, uint32_t alloc_flags,
                   int64_t free, bool need_block) const;
  // Whether the buddy holds a free block of at least `order`. Lock-free.
  bool HasFreeBlock(uint32_t order) const;
  bool WatermarkOk(uint32_t order, uint64_t mark, uint32_t highest_zoneidx,
                   uint32_t alloc_flags) const {
    return WatermarkOk(order, mark, highest_zoneidx, alloc_flags,
                       static_cast<int64_t>(free_pages()), true);
  }

  // --- allocation ---------------------------------------------------------
  // Takes a block for a caller, through this CPU's lists for order <= 3,
  // else from the buddy. Counts it per CPU, with `fallback` / `reserve`
  // saying how the zonelist walk got here. Null when the zone has none.
  // Never sleeps.
  Page* Rmqueue(uint32_t order, mmlab_gfp_t gfp, uint16_t flags, bool fallback, bool reserve)
      MMLAB_EXCLUDES(lock_);
  // Borrows one more chunk from the host (never with the lock held). False
  // when the zone's budget is used up or the host says no. Sleeps only if
  // can_sleep.
  bool Grow(bool can_sleep, GrowFor who) MMLAB_EXCLUDES(lock_);
  // The fault-injection site of the host borrowing Grow does (null: none).
  void set_fail_chunk(FaultAttr* attr) { fail_chunk_ = attr; }

  // --- free -----------------------------------------------------------------
  // Validates the target against this zone's descriptors before touching
  // anything, then frees the block: to this CPU's lists for order <= 3,
  // else to the buddy. Called with interrupts off on `cpu`. allowed_owners
  // are the PageFlags owners the caller speaks for (kPgControl for the
  // control file, ...). Refusals are reported and their reason copied into
  // why (may be null). *pfn gets the block's pfn when it is freed.
  FreeResult FreeIrqsOff(uint32_t cpu, FreeTarget target, uint32_t order,
                         uint16_t allowed_owners, TextBuf* why, uint64_t* pfn)
      MMLAB_EXCLUDES(lock_);

  // Descriptor of any managed page (free or not), or null.
  Page* VirtToPage(uintptr_t addr) MMLAB_EXCLUDES(lock_);
  // The same without the lock, for a caller with interrupts off (the index
  // cannot be freed under it, as in FreeIrqsOff): the slab free fast path.
  Page* VirtToPageIrqsOff(uintptr_t addr);
  Page* PfnToPage(uint64_t pfn) MMLAB_EXCLUDES(lock_);
  // Whether page is an allocated head of this zone with the given flags.
  bool IsAllocHeadWith(const Page* page, uint32_t order, uint16_t flags) MMLAB_EXCLUDES(lock_);
  bool Contains(const Page* page) const;  // interrupts off or any lock
  // The page map and explain (pagemap.cc): with the zone lock held, calls
  // fn(ctx, chunk, n) for the chunk holding addr or, when `above`, the
  // lowest chunk starting above addr (n: its place in address order);
  // false when there is none. fn must be short: interrupts are off.
  using ChunkVisitFn = void (*)(void* ctx, Chunk* chunk, uint32_t n);
  bool VisitChunk(uintptr_t addr, bool above, ChunkVisitFn fn, void* ctx) MMLAB_EXCLUDES(lock_);

  // --- per-CPU lists (pcp.cc) -----------------------------------------------
  // Empties cpu's lists into the buddy; returns the pages moved. Called on
  // that CPU with interrupts off (on_each_cpu) or once it is dead.
  uint64_t DrainPcp(uint32_t cpu) MMLAB_EXCLUDES(lock_);
  // New high/batch for every CPU (written remotely, as Linux does).
  void SetPcpHighBatch(uint32_t high, uint32_t batch);
  // On `cpu` with interrupts off: drains while count >= high.
  void TrimPcpIrqsOff(uint32_t cpu) MMLAB_EXCLUDES(lock_);
  // Pages on all CPUs' lists, read without stopping anyone.
  uint64_t PcpPagesRacy() const;
  // One CPU's count/high/batch, read without stopping it.
  void PcpInfo(uint32_t cpu, uint32_t* count, uint32_t* high, uint32_t* batch) const;
  PcpStats PcpStatsSum() const;
  // Just the zonelist outcomes of PcpStatsSum(), for small stack frames.
  void PcpAllocEvents(uint64_t* fallback, uint64_t* reserve) const;
  // On `cpu` with interrupts off: verifies that CPU's lists strictly
  // (unless verify is false: then it only reads count and generation).
  void CheckPcpIrqsOff(uint32_t cpu, bool verify, PcpCheckCounts* out);

  // --- reclaim bookkeeping (reclaim.cc decides) -------------------------------
  void CountReclaimPass() MMLAB_EXCLUDES(lock_);
  void CountKswapdWakeup() MMLAB_EXCLUDES(lock_);
  void CountKswapdReclaimed(uint64_t pages) MMLAB_EXCLUDES(lock_);
  // Sets or clears "kswapd gave up here" (node_unreclaimable); returns the
  // previous value.
  bool SetKswapdFailed(bool failed) MMLAB_EXCLUDES(lock_);
  bool kswapd_failed() const { return ReadOnce(kswapd_failed_); }

  // --- maintenance ------------------------------------------------------------
  // Unlinks every fully free chunk under the lock and returns them to the
  // host after a grace period. Returns how many went back. May sleep.
  uint64_t Shrink() MMLAB_EXCLUDES(lock_);
  // Frees chunk indexes that were replaced, after a grace period. May sleep.
  void FreeRetiredIndexes() MMLAB_EXCLUDES(lock_);

  // Verifies every invariant that holds whatever the per-CPU fast paths do
  // meanwhile, and counts what the core cross-checks.
  void Check(CheckReport* report, ZoneCheckCounts* counts) MMLAB_EXCLUDES(lock_);

  ZoneSnapshot Snapshot() MMLAB_EXCLUDES(lock_);
  ZoneCounters Counters() MMLAB_EXCLUDES(lock_);
  // nr_free of every order 0..max_order, taken at one moment.
  void NrFree(uint64_t (&out)[kNrOrders]) MMLAB_EXCLUDES(lock_);

  // Page poisoning (page_debug.cc): every block entering the free lists
  // is filled with PAGE_POISON, checked when allocated. Set before the
  // zone borrows its first chunk, cleared at any time.
  bool page_poison() const { return ReadOnce(page_poison_); }
  void SetPagePoison(bool on) { WriteOnce(page_poison_, on); }
  bool HasBorrowed() MMLAB_EXCLUDES(lock_);

 private:
  static constexpr uint32_t kRetiredIndexBatch = 4;

  Page* RmqueueBuddy(uint32_t order, mmlab_gfp_t gfp, uint16_t flags) MMLAB_EXCLUDES(lock_);
  // pcp.cc: the per-CPU fast path and its batched trips to the buddy.
  Page* RmqueuePcpIrqsOff(PerCpuPages& pcp, uint32_t order, mmlab_gfp_t gfp, uint16_t flags)
      MMLAB_EXCLUDES(lock_);
  void FreePcpIrqsOff(PerCpuPages& pcp, Page* page, uint32_t order) MMLAB_EXCLUDES(lock_);
  uint32_t RmqueueBulkLocked(PerCpuPages& pcp, uint32_t order, uint32_t count)
      MMLAB_REQUIRES(lock_);
  uint64_t FreePcppagesBulkLocked(PerCpuPages& pcp, uint64_t count, uint32_t start_order)
      MMLAB_REQUIRES(lock_);

  FreeResult FreeLocked(Chunk* chunk, uint32_t idx, uint32_t order, uint16_t allowed_owners,
                        TextBuf* why) MMLAB_REQUIRES(lock_);
  void SetFreePagesLocked(uint64_t pages) MMLAB_REQUIRES(lock_) {
    WriteOnce(free_pages_, pages);
  }
  void AddChunkLocked(Chunk* chunk, GrowFor who) MMLAB_REQUIRES(lock_);
  void RetireIndexLocked(ChunkIndex* index) MMLAB_REQUIRES(lock_);
  void Unreserve(uint64_t pages, GrowFailure why) MMLAB_EXCLUDES(lock_);
  void CheckChunkLocked(Chunk* chunk, CheckReport* report, uint64_t (&free_blocks)[kNrOrders],
                        uint64_t* free_pages, ZoneCheckCounts* counts) MMLAB_REQUIRES(lock_);
  void CheckFreeListLocked(uint32_t order, uint64_t free_blocks, CheckReport* report)
      MMLAB_REQUIRES(lock_);

  SpinLock lock_;
  mmlab_zone_type type_ = MMLAB_ZONE_NORMAL;
  const char* name_ = "";
  FaultAttr* fail_chunk_ = nullptr;  // the "chunk" fault-injection site
  bool page_poison_ = false;
  uint32_t max_order_ = 0;      // the chunk order: the largest block a zone holds
  uint32_t pcp_max_order_ = 0;  // min(kPcpMaxOrder, max_order_)
  mmlab_host_zone host_zone_ = MMLAB_HOST_ZONE_ANY;
  uint64_t max_pages_ = 0;  // budget (zoneinfo "spanned"), fixed at Init

  // Written under lock_, read anywhere with ReadOnce.
  uint64_t wmark_[kNrWmarks] = {};
  uint64_t lowmem_reserve_[MMLAB_NR_ZONES] = {};
  uint64_t free_pages_ = 0;      // mirrors counters_.free_pages
  uint64_t reserved_mirror_ = 0; // mirrors reserved_pages_
  bool kswapd_failed_ = false;

  FreeArea free_area_[kNrOrders] MMLAB_GUARDED_BY(lock_);
  // The published chunk index; replaced (never changed) under lock_, read
  // under it or with interrupts off (LoadAcquire).
  ChunkIndex* index_ = nullptr;
  ChunkIndex* retired_indexes_ MMLAB_GUARDED_BY(lock_) = nullptr;
  uint32_t nr_retired_indexes_ MMLAB_GUARDED_BY(lock_) = 0;
  // Pages borrowed plus pages being borrowed right now: reserved before a
  // chunk is requested from the host, so concurrent growers can never
  // overshoot max_pages_ together.
  uint64_t reserved_pages_ MMLAB_GUARDED_BY(lock_) = 0;
  GrowFailure last_grow_failure_ MMLAB_GUARDED_BY(lock_) = GrowFailure::kNone;
  ZoneCounters counters_ MMLAB_GUARDED_BY(lock_);

  // One per possible CPU; see pcp.h for what protects each.
  PerCpu<PerCpuPages> pcp_;
};

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_ZONE_H
