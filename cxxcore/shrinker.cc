// SPDX-License-Identifier: GPL-2.0
//
// shrinker.cc - the shrinker registry (see shrinker.h).
#include "shrinker.h"

#include "log.h"

namespace mmlab {

namespace {

// How long Unregister() naps while a reclaim pass is inside the shrinker.
constexpr uint32_t kUnregisterWaitUs = 100;

}  // namespace

void ShrinkerList::Destroy() {
  {
    IrqSaveGuard guard(lock_);
    if (nr_)
      Log(MMLAB_LOG_ERR, "shrinker: %u shrinkers still registered at destroy", nr_);
  }
  lock_.Destroy();
}

mmlab_status ShrinkerList::Register(Shrinker* shrinker) {
  if (!shrinker || !shrinker->count_objects || !shrinker->scan_objects)
    return MMLAB_EINVAL;
  IrqSaveGuard guard(lock_);
  if (shrinker->registered)
    return MMLAB_EINVAL;
  for (Shrinker*& slot : slots_) {
    if (slot)
      continue;
    shrinker->active = 0;
    shrinker->registered = true;
    slot = shrinker;
    nr_++;
    return MMLAB_OK;
  }
  return MMLAB_ENOSPC;
}

void ShrinkerList::Unregister(Shrinker* shrinker) {
  mmlab_host_might_sleep();
  {
    IrqSaveGuard guard(lock_);
    bool found = false;
    for (Shrinker*& slot : slots_) {
      if (slot == shrinker) {
        slot = nullptr;
        nr_--;
        found = true;
      }
    }
    if (!found)
      return;
    shrinker->registered = false;
  }
  for (;;) {
    {
      IrqSaveGuard guard(lock_);
      if (shrinker->active == 0)
        return;
    }
    mmlab_host_sleep_us(kUnregisterWaitUs);
  }
}

Shrinker* ShrinkerList::Get(uint32_t i) {
  IrqSaveGuard guard(lock_);
  Shrinker* s = slots_[i];
  if (s)
    s->active++;
  return s;
}

void ShrinkerList::Put(Shrinker* shrinker) {
  IrqSaveGuard guard(lock_);
  shrinker->active--;
}

uint64_t ShrinkerList::Count(mmlab_gfp_t gfp) {
  uint64_t total = 0;
  for (uint32_t i = 0; i < kMaxShrinkers; i++) {
    Shrinker* s = Get(i);
    if (!s)
      continue;
    ShrinkControl sc = {gfp, 0, 0};
    total += s->count_objects(s, &sc);
    Put(s);
  }
  return total;
}

uint64_t ShrinkerList::Shrink(mmlab_gfp_t gfp, uint64_t nr_to_scan) {
  uint64_t freed = 0;
  for (uint32_t i = 0; i < kMaxShrinkers; i++) {
    Shrinker* s = Get(i);
    if (!s)
      continue;
    ShrinkControl sc = {gfp, 0, 0};
    uint64_t can = s->count_objects(s, &sc);
    if (can) {
      sc.nr_to_scan = Min(can, nr_to_scan);
      sc.nr_scanned = sc.nr_to_scan;
      uint64_t got = s->scan_objects(s, &sc);
      if (got != kShrinkStop)
        freed += got;
    }
    Put(s);
  }
  return freed;
}

uint32_t ShrinkerList::registered() {
  IrqSaveGuard guard(lock_);
  return nr_;
}

}  // namespace mmlab
