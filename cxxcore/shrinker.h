// SPDX-License-Identifier: GPL-2.0
//
// shrinker.h - caches that can give pages back under memory pressure
// (Linux: struct shrinker, register_shrinker, do_shrink_slab).
//
// How it works: a cache (the slab caches, later) registers a Shrinker with
// two callbacks. Reclaim - direct reclaim in an allocating task, or
// kswapd - asks each registered shrinker how many objects it could free
// (count_objects) and then asks it to free up to nr_to_scan of them
// (scan_objects), passing the allocation's gfp so a shrinker can decline
// what the caller may not do (Linux shrinkers check __GFP_FS, for
// instance). Callbacks run with no core lock held and may sleep and free
// pages. The registry is a small fixed table under a spinlock; a running
// callback pins its shrinker (active), and Unregister() waits until no
// reclaim is inside it any more, so a cache can be torn down safely.
#ifndef MMLAB_CXXCORE_SHRINKER_H
#define MMLAB_CXXCORE_SHRINKER_H

#include "base.h"
#include "lock.h"
#include "mmlab/core.h"

namespace mmlab {

// scan_objects' answer when it cannot make progress now (SHRINK_STOP).
constexpr uint64_t kShrinkStop = ~uint64_t{0};
// Objects asked of a shrinker per reclaim pass at least (SWAP_CLUSTER_MAX).
constexpr uint64_t kShrinkBatch = 32;
constexpr uint32_t kMaxShrinkers = 16;

struct ShrinkControl {
  mmlab_gfp_t gfp_mask;
  uint64_t nr_to_scan;
  uint64_t nr_scanned;  // set by scan_objects if it looked at a different number
};

struct Shrinker {
  const char* name;
  uint64_t (*count_objects)(Shrinker* shrinker, ShrinkControl* sc);
  uint64_t (*scan_objects)(Shrinker* shrinker, ShrinkControl* sc);
  void* private_data;

  // The registry's own; zero before Register().
  uint32_t active;
  bool registered;
};

class ShrinkerList {
 public:
  ShrinkerList() = default;
  MMLAB_NO_COPY(ShrinkerList);

  bool Init() { return lock_.Init("mmlab_shrinker"); }
  bool initialized() const { return lock_.initialized(); }
  void Destroy();

  // MMLAB_ENOSPC when the table is full, MMLAB_EINVAL when already there
  // or missing a callback.
  mmlab_status Register(Shrinker* shrinker) MMLAB_EXCLUDES(lock_);
  // May sleep: returns once no reclaim runs the shrinker's callbacks.
  void Unregister(Shrinker* shrinker) MMLAB_EXCLUDES(lock_);

  // Sum of every shrinker's count_objects.
  uint64_t Count(mmlab_gfp_t gfp) MMLAB_EXCLUDES(lock_);
  // One pass over every shrinker, asking each for up to nr_to_scan;
  // returns the objects freed. No core lock may be held; may sleep.
  uint64_t Shrink(mmlab_gfp_t gfp, uint64_t nr_to_scan) MMLAB_EXCLUDES(lock_);
  uint32_t registered() MMLAB_EXCLUDES(lock_);

 private:
  // Pins the shrinker in slot i (null if empty), and lets it go.
  Shrinker* Get(uint32_t i) MMLAB_EXCLUDES(lock_);
  void Put(Shrinker* shrinker) MMLAB_EXCLUDES(lock_);

  SpinLock lock_;
  Shrinker* slots_[kMaxShrinkers] MMLAB_GUARDED_BY(lock_) = {};
  uint32_t nr_ MMLAB_GUARDED_BY(lock_) = 0;
};

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_SHRINKER_H
