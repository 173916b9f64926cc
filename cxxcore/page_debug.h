// SPDX-License-Identifier: GPL-2.0
//
// page_debug.h - page poisoning (Linux: mm/page_poison.c, page_poison=1)
// and the page allocator's bad-free reports in SLUB's shape
// (debug_report.h; user guide: docs/debugging.md).
//
// With page_poison on, every block that enters the free lists (a freed
// block, a new chunk) is filled with PAGE_POISON (0xaa), and every block
// the page allocator hands out is checked first: a byte that changed is a
// write after free, reported as "BUG mmlab-page (mmlab): Poison
// overwritten" with the pfn, order and a dump of the bad lines, then
// restored. It is switched on before the first chunk is borrowed (module
// parameter page_poison=1), as Linux's is a boot parameter: a block freed
// while it was off holds no poison to check.
#ifndef MMLAB_CXXCORE_PAGE_DEBUG_H
#define MMLAB_CXXCORE_PAGE_DEBUG_H

#include "base.h"

namespace mmlab {

class Core;

// Fills 2^order pages at addr with PAGE_POISON (KASAN: unpoisoned for the
// memset, marked a free page again after).
void PagePoisonFill(void* addr, uint32_t order);
// check_poison_mem(): true if the block is intact; otherwise reports (rate
// limited as a whole), restores the poison and counts it.
bool PagePoisonCheck(Core& core, uint64_t pfn, void* addr, uint32_t order, const char* zone);
// A refused free_pages in SLUB's shape: what ("Double free", "Wrong
// order"), the block freed, and the order and state the block really has.
void PageBadFreeReport(const char* what, uint64_t pfn, uint32_t order, uint32_t real_order,
                       const char* state);
// Poison overwrites found since the core was created.
uint64_t PagePoisonOverwrites(Core& core);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_PAGE_DEBUG_H
