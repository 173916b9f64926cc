// SPDX-License-Identifier: GPL-2.0
//
// subsys.h - the allocators above the page allocator, as Core sees them.
//
// Core owns one of each, created in Core::Init once the zones exist and
// destroyed in Core::Destroy before the zones go:
//   SlabAllocator   (slab.cc)    kmem_cache_*, the kmalloc size classes
//                                (kmalloc.cc), and the caches' shrinker;
//   VmallocSpace    (vmalloc.cc) vmalloc/vfree over vmap()ed order-0 pages,
//                                kvmalloc/kvfree;
//   MempoolRegistry (mempool.cc) every mempool, for the view and the
//                                control file.
// Destroy order: mempools (they hold elements of the others), vmalloc, slab.
// Each Destroy reports what is still allocated and never frees memory in use.
//
// The control commands of each layer are in command_slab.cc and
// command_pool.cc (over command_parse.h); the control file's object ids are
// in objects.h.
#ifndef MMLAB_CXXCORE_SUBSYS_H
#define MMLAB_CXXCORE_SUBSYS_H

#include "base.h"
#include "mmlab/core.h"

namespace mmlab {

class Core;
class SlabAllocator;
class VmallocSpace;
class MempoolRegistry;
class RegionSpace;

// --- life cycle (may sleep; no core lock held) ---------------------------
mmlab_status SlabCreate(Core& core, SlabAllocator** out);
void SlabDestroy(SlabAllocator* slab);
mmlab_status VmallocCreate(Core& core, VmallocSpace** out);
void VmallocDestroy(VmallocSpace* vm);
mmlab_status MempoolsCreate(Core& core, MempoolRegistry** out);
void MempoolsDestroy(MempoolRegistry* pools);
// Regions still open at destroy are reported and their pages taken back.
mmlab_status RegionsCreate(Core& core, RegionSpace** out);
void RegionsDestroy(RegionSpace* regions);

// Invariant checks for Core::Check: log each violation, return how many.
uint64_t SlabCheck(SlabAllocator& slab);
uint64_t VmallocCheck(VmallocSpace& vm);
uint64_t MempoolsCheck(MempoolRegistry& pools);
uint64_t RegionsCheck(RegionSpace& regions);

// Destroys every cache / pool created through the control file (after the
// control objects are freed); returns how many.
uint64_t SlabControlDestroyAll(Core& core);
uint64_t MempoolControlDestroyAll(Core& core);

// --- views (render.cc dispatches) ----------------------------------------
// "slabinfo - version: 2.1", exactly /proc/slabinfo's layout.
void RenderSlabinfo(Core& core, mmlab_emit_fn emit, void* ctx);
void RenderMempools(Core& core, mmlab_emit_fn emit, void* ctx);
void RenderVmallocinfo(Core& core, mmlab_emit_fn emit, void* ctx);

// --- "stats" lines (key value) ---------------------------------------------
void RenderSlabStats(Core& core, mmlab_emit_fn emit, void* ctx);
void RenderVmallocStats(Core& core, mmlab_emit_fn emit, void* ctx);
void RenderMempoolStats(Core& core, mmlab_emit_fn emit, void* ctx);
void RenderRegionStats(Core& core, mmlab_emit_fn emit, void* ctx);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_SUBSYS_H
