// SPDX-License-Identifier: GPL-2.0
//
// pagemap.h - the page map (one character per managed page) and explain
// (what one address is: page, buddy block, zone, owner, object, tracks).
// Formats in docs/pagemap.md.
//
// How it works:
//  - Both read the page descriptors of a chunk through Zone::VisitChunk,
//    which holds the zone lock only around one look at one chunk: the page
//    map takes it once per row of 64 pages (never for a whole zone: 256 MiB
//    is 65536 pages, and the zone lock is taken with interrupts off), and
//    explain once for its page. Blocks are stable under the zone lock
//    (splits and merges take it); an allocated block may go to or come
//    from a per-CPU list meanwhile, so its state is read once (ReadOnce).
//  - A slab's cache is only dereferenced after it was found on the slab
//    allocator's list under its list lock, which is held around the zone
//    lock (the documented order: list lock, interrupts off, cache lock;
//    zone locks are innermost). A destroyed cache leaves that list before
//    it is freed, so a stale slab_cache word is never followed.
//  - Nothing is ever read at an address that is not inside a managed chunk:
//    explain compares the address against the chunks (and vmalloc areas)
//    first, and reads slab memory (the free pointers of a freelist walk,
//    owner tracks) only with interrupts off, which keeps the chunk mapped
//    (chunks go back to the host only after a grace period).
//  - The page map is rendered in two passes (rows, then the "slab" lines),
//    each line from its own short locked look: on a busy system the two
//    passes are two close snapshots, not one.
#ifndef MMLAB_CXXCORE_PAGEMAP_H
#define MMLAB_CXXCORE_PAGEMAP_H

#include "base.h"
#include "format.h"
#include "mmlab/core.h"

namespace mmlab {

class Core;

// Characters per page map row.
constexpr uint32_t kPageMapRow = 64;
// Room for an explain answer (the C ABI callers pass at least this much
// to get every line).
constexpr size_t kExplainMax = MMLAB_EXPLAIN_MAX;

// "# mmlab-pagemap v1 ..." then per zone and chunk a header and rows, then
// one "slab" line per slab. MMLAB_ENOMEM when no scratch memory; may sleep.
mmlab_status RenderPagemap(Core& core, mmlab_emit_fn emit, void* ctx);

// What addr is, as "key: value" lines into out. MMLAB_EINVAL for NULL,
// MMLAB_ENOENT for an address mmlab does not manage (the answer says so).
mmlab_status ExplainAddress(Core& core, uintptr_t addr, TextBuf* out);
// A query: "kaddr 0x<addr>", "object <id>", "handle <id>".
mmlab_status ExplainQuery(Core& core, const char* query, size_t len, TextBuf* out);
// A page offset of a region (plus a byte offset in that page).
mmlab_status ExplainRegion(Core& core, mmlab_region* region, uint64_t pgoff, uint64_t offset,
                           TextBuf* out);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_PAGEMAP_H
