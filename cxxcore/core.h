// SPDX-License-Identifier: GPL-2.0
//
// core.h - one mmlab core: its zones, its control-file handles and the
// Linux-named page allocator entry points behind include/mmlab/core.h.
//
// This file is the C++ side of struct mmlab_core; the C ABI functions in
// core.cc, render.cc and command.cc are thin wrappers around Core.
#ifndef MMLAB_CXXCORE_CORE_H
#define MMLAB_CXXCORE_CORE_H

#include "base.h"
#include "chunk.h"
#include "format.h"
#include "handles.h"
#include "lock.h"
#include "mmlab/core.h"
#include "page_desc.h"
#include "stats.h"
#include "zone.h"

namespace mmlab {

// One zone until DMA32 arrives; the loops over zones_ are already there.
constexpr uint32_t kMaxZones = 1;

class Core {
 public:
  MMLAB_NO_COPY(Core);

  static mmlab_status Create(const mmlab_core_config* cfg, Core** out);
  // Frees the control handles' blocks, returns every chunk it can and frees
  // the core. Returns the pages of chunks leaked because they are in use.
  uint64_t Destroy();

  static Core* From(mmlab_core* core) { return reinterpret_cast<Core*>(core); }
  mmlab_core* handle() { return reinterpret_cast<mmlab_core*>(this); }

  // --- page allocator ---------------------------------------------------
  // A block of 2^order pages, or null. Invalid requests are reported (and
  // the reason copied into why, if given). flags are PageFlags for the head.
  Page* AllocPages(mmlab_gfp_t gfp, uint32_t order, uint16_t flags = 0, TextBuf* why = nullptr);
  // MMLAB_EINVAL (reported) for anything but the head of an allocated block
  // of exactly this order that the caller may free.
  mmlab_status FreePages(const Page* page, uint32_t order, TextBuf* why = nullptr);
  mmlab_status FreeAddress(uintptr_t addr, uint32_t order, TextBuf* why = nullptr);
  Page* VirtToPage(uintptr_t addr);

  // Pure arithmetic on a descriptor handed out by this core, as in Linux.
  static uintptr_t PageAddress(const Page* page) { return page->chunk->AddressOf(page); }
  static uint64_t PageToPfn(const Page* page) { return page->chunk->PfnOf(page); }

  // --- maintenance ------------------------------------------------------
  uint64_t Shrink();
  // Logs every violation; returns how many were found.
  uint64_t Check();
  void Counters(struct mmlab_core_counters* out);

  uint32_t chunk_order() const { return chunk_order_; }
  uint64_t capacity_pages() const { return capacity_pages_; }
  uint32_t nr_zones() const { return nr_zones_; }
  Zone& zone(uint32_t i) { return zones_[i]; }

  // --- control file (command.cc parses, these act) -----------------------
  mmlab_status ControlAlloc(mmlab_gfp_t gfp, uint32_t order, uint64_t* id, uint64_t* pfn,
                            TextBuf* why) MMLAB_EXCLUDES(ctl_lock_);
  // order_given: the user named an order, which must match the handle's.
  mmlab_status ControlFree(uint64_t id, bool order_given, uint32_t order, uint32_t* freed_order,
                           TextBuf* why) MMLAB_EXCLUDES(ctl_lock_);
  mmlab_status ControlFreePfn(uint64_t pfn, uint32_t order, TextBuf* why)
      MMLAB_EXCLUDES(ctl_lock_);
  uint64_t ControlFreeAll() MMLAB_EXCLUDES(ctl_lock_);
  uint32_t ControlHandles() MMLAB_EXCLUDES(ctl_lock_);

 private:
  Core() = default;
  ~Core() = default;

  mmlab_status Init(const mmlab_core_config& cfg);
  [[gnu::cold]] Page* AllocPagesSlow(Zone& zone, mmlab_gfp_t gfp, uint32_t order, uint16_t flags);
  bool FreeOrderValid(uint32_t order, TextBuf* why);
  // Tries each zone until one owns the block (FreeResult::kNotInZone
  // from all of them means the pointer is foreign).
  template <typename Fn>
  FreeResult FreeInZones(Fn free_in_zone);

  uint32_t chunk_order_ = 0;
  uint64_t capacity_pages_ = 0;
  uint32_t nr_zones_ = 0;
  Zone zones_[kMaxZones];

  // Lock order: ctl_lock_ ("mmlab_control") before a zone's lock. The
  // control file frees with it held, so a handle and its block disappear
  // together; allocation (which may sleep) runs with it dropped.
  SpinLock ctl_lock_;
  HandleTable handles_ MMLAB_GUARDED_BY(ctl_lock_);
};

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_CORE_H
