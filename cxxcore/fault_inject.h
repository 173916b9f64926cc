// SPDX-License-Identifier: GPL-2.0
//
// fault_inject.h - failing allocations on purpose (Linux: lib/fault-inject.c,
// mm/failslab.c, mm/fail_page_alloc.c).
//
// Concepts:
//  - A FaultAttr is Linux's struct fault_attr: probability (percent),
//    interval, times, space, verbose, task-filter, and the same decision,
//    step for step, as should_fail_ex(): the task's fail-nth countdown
//    first (when the host kernel has CONFIG_FAULT_INJECTION), then nothing
//    at all if probability is 0, then task-filter, times, space, interval,
//    a random draw against probability; a failure prints (verbose, unless
//    the caller said __GFP_NOWARN) and counts times down.
//  - The draw is mmlab's, not the kernel's: the n-th draw of a site is a
//    pure function of (seed, site, n) (SplitMix64), and n is taken with one
//    atomic add. So the same seed and the same sequence of calls fail the
//    same calls, on any CPU mix; writing `seed` restarts the sequence.
//  - Each site of a FaultSet sits at one line of the allocator it fails
//    and applies its own filters first, as Linux's do: buddy is
//    fail_page_alloc (min-order, ignore-gfp-wait, never __GFP_NOFAIL),
//    slab is failslab (ignore-gfp-wait, cache-filter, never __GFP_NOFAIL),
//    chunk, mempool
//    and mmdev_fault have no filters.
//  - A site that is off (probability 0 and no fail-nth in the host) costs
//    one load and one predicted-not-taken branch. Nothing here takes a lock
//    or sleeps: sites are met with zone locks held and interrupts off.
#ifndef MMLAB_CXXCORE_FAULT_INJECT_H
#define MMLAB_CXXCORE_FAULT_INJECT_H

#include "base.h"
#include "format.h"
#include "mmlab/core.h"
#include "mmlab/host.h"

namespace mmlab {

// should_fail_ex()'s flags.
constexpr uint32_t kFaultNoWarn = 1u << 0;  // FAULT_NOWARN: do not print

class FaultAttr {
 public:
  FaultAttr() = default;
  MMLAB_NO_COPY(FaultAttr);

  // FAULT_ATTR_INITIALIZER (interval 1, times 1; verbose 1, see verbose_),
  // off.
  void Init(mmlab_fault_site site, uint32_t host_caps);

  // should_fail_ex(attr, size, flags). The inline part is all a site that
  // is off ever runs.
  bool ShouldFail(int64_t size, uint32_t flags = 0) {
    if (MMLAB_LIKELY(!ReadOnce(armed_)))
      return false;
    return ShouldFailSlow(size, flags);
  }
  bool armed() const { return ReadOnce(armed_); }

  mmlab_fault_site site() const { return site_; }
  bool ignore_gfp_wait() const { return ReadOnce(ignore_gfp_wait_); }
  uint32_t min_order() const { return ReadOnce(min_order_); }
  bool cache_filter() const { return ReadOnce(cache_filter_); }
  uint64_t calls() const { return ReadOnce(calls_); }
  uint64_t injected() const { return ReadOnce(injected_); }

  // The debugfs files, as text (see mmlab_core_fault_read/_write).
  size_t Read(mmlab_fault_param param, char* buf, size_t cap) const;
  mmlab_status Write(mmlab_fault_param param, const char* buf, size_t len, TextBuf* why);

  // The n-th draw (0-based) of a site for a seed: 0..99.
  static uint32_t Draw(uint64_t seed, mmlab_fault_site site, uint64_t n);

 private:
  [[gnu::cold, gnu::noinline]] bool ShouldFailSlow(int64_t size, uint32_t flags);
  void FailDump();
  bool VerboseRatelimitOk();
  void Rearm() {
    WriteOnce(armed_, ReadOnce(probability_) != 0 || (host_caps_ & MMLAB_HOST_FAIL_NTH) != 0);
  }

  mmlab_fault_site site_ = MMLAB_FAULT_CHUNK;
  uint32_t host_caps_ = 0;
  bool armed_ = false;

  // struct fault_attr. Written by the debugfs files at any time, read
  // racily by the sites, as in Linux.
  uint64_t probability_ = 0;
  uint64_t interval_ = 1;
  int32_t times_ = 1;
  int32_t space_ = 0;
  // The kernel's default is 2 (a stack with every report). mmlab's is 1:
  // a "Call Trace:" in the log fails the VM harness, as it should for a
  // real one, and verbose 2 stays available by hand.
  uint32_t verbose_ = 1;
  uint32_t ratelimit_interval_ms_ = 0;  // 0: no rate limit (RATELIMIT_STATE_INIT_DISABLED)
  uint32_t ratelimit_burst_ = 10;       // DEFAULT_RATELIMIT_BURST
  bool task_filter_ = false;
  uint64_t count_ = 0;  // the interval's counter

  // mmlab's own.
  uint64_t seed_ = 0;
  uint64_t draws_ = 0;  // draws taken since the seed was written
  bool ignore_gfp_wait_ = false;
  uint32_t min_order_ = 0;
  bool cache_filter_ = false;
  uint64_t calls_ = 0;
  uint64_t injected_ = 0;
  uint64_t ratelimit_begin_ns_ = 0;
  uint32_t ratelimit_printed_ = 0;
};

// One core's sites.
class FaultSet {
 public:
  FaultSet() = default;
  MMLAB_NO_COPY(FaultSet);

  void Init(uint32_t host_caps);
  FaultAttr& site(mmlab_fault_site s) { return sites_[s]; }
  FaultAttr& chunk() { return sites_[MMLAB_FAULT_CHUNK]; }

  // fail_page_alloc: at the entry of alloc_pages.
  bool ShouldFailAllocPage(mmlab_gfp_t gfp, uint32_t order) {
    FaultAttr& a = sites_[MMLAB_FAULT_BUDDY];
    if (MMLAB_LIKELY(!a.armed()))
      return false;
    return ShouldFailGfp(a, gfp, order, int64_t{1} << order, 0);
  }
  // failslab: at the entry of kmem_cache_alloc (and the kmalloc classes,
  // and once per kmem_cache_alloc_bulk). cache_flags: the cache's SLAB_*.
  bool ShouldFailSlab(mmlab_gfp_t gfp, uint32_t object_size, uint32_t cache_flags) {
    FaultAttr& a = sites_[MMLAB_FAULT_SLAB];
    if (MMLAB_LIKELY(!a.armed()))
      return false;
    return ShouldFailGfp(a, gfp, 0, object_size, cache_flags);
  }
  // mempool_alloc's backing allocation; gfp is the caller's (for NOWARN).
  bool ShouldFailMempool(mmlab_gfp_t gfp) {
    return sites_[MMLAB_FAULT_MEMPOOL].ShouldFail(
        1, (gfp & MMLAB___GFP_NOWARN) ? kFaultNoWarn : 0);
  }
  // A /dev/mmlab fault about to allocate its page.
  bool ShouldFailMmdevFault() { return sites_[MMLAB_FAULT_MMDEV_FAULT].ShouldFail(1); }

 private:
  [[gnu::cold, gnu::noinline]] static bool ShouldFailGfp(FaultAttr& a, mmlab_gfp_t gfp,
                                                         uint32_t order, int64_t size,
                                                         uint32_t cache_flags);

  FaultAttr sites_[MMLAB_FAULT_NR_SITES];
};

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_FAULT_INJECT_H
