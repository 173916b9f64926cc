// SPDX-License-Identifier: GPL-2.0
//
// slob.h - the SLOB heap's views, checker and kmalloc lookup (slob.cc; the
// policy itself is SlobPolicy() in slab.h).
//
// A SLOB heap page (kPgSlob, order 0, slab_cache null) uses the slab fields
// of its descriptor as mm/slob.c used struct slab:
//  - slab_list: the heap list it is on (small, medium, large while it has
//    free units - Linux's "SlobFree" pages - or the heap's full list);
//  - freelist: byte offset of its first free block, kSlabNoFree when none;
//  - inuse: SLOB units (2 bytes) in use, so PAGE_SIZE / 2 - inuse are free
//    (Linux's sp->units);
//  - frozen: 0.
// An object of PAGE_SIZE or more is a block of its own (kPgSlob, any order)
// whose slab_cache names its cache; its tails point at the head through
// slab_head, as a slab's do.
#ifndef MMLAB_CXXCORE_SLOB_H
#define MMLAB_CXXCORE_SLOB_H

#include "slab.h"

namespace mmlab {

// Pages the SLOB heap holds now: its shared pages plus the blocks of
// objects of PAGE_SIZE and more (RenderSlabStats's slab_pages).
uint64_t SlobPages(SlabAllocator& a) MMLAB_REQUIRES(a.list_lock);
// The `slob-heap` slabinfo line (RenderSlabinfo calls it after the caches).
void SlobRenderSlabinfo(SlabAllocator& a, mmlab_emit_fn emit, void* ctx)
    MMLAB_REQUIRES(a.list_lock);
// The heap's checker (SlabCheck calls it once): every page and free block;
// logs violations, returns their count.
uint64_t SlobCheck(SlabAllocator& a) MMLAB_REQUIRES(a.list_lock);
// The kmalloc size class whose live SLOB object starts at obj (a kPgSlob
// page's), or null; never reports (ksize, krealloc). Interrupts off.
KmemCache* SlobKmallocOwner(Core& core, Page* page, const void* obj);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_SLOB_H
