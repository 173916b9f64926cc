// SPDX-License-Identifier: GPL-2.0
//
// region.cc - regions, their faults, punch and overcommit accounting (see
// region.h for how it works).
#include "region.h"

#include "core.h"
#include "format.h"
#include "log.h"
#include "zone.h"

namespace mmlab {

namespace {

constexpr uint64_t kLogSize = MMLAB_REGION_FAULT_LOG;

Region* FromC(mmlab_region* r) { return reinterpret_cast<Region*>(r); }
mmlab_region* ToC(Region* r) { return reinterpret_cast<mmlab_region*>(r); }

uint64_t LeafCount(uint64_t nr_pages) {
  return (nr_pages + kRegionLeafSlots - 1) >> kRegionLeafShift;
}

Page** NewLeaf() {
  return static_cast<Page**>(mmlab_host_meta_alloc(kRegionLeafSlots * sizeof(Page*), 1));
}

void FreeLeaf(Page** leaf) {
  if (leaf)
    mmlab_host_meta_free(leaf, kRegionLeafSlots * sizeof(Page*));
}

void FreeDir(Page*** dir, uint64_t len) {
  if (dir)
    mmlab_host_meta_free(dir, len * sizeof(Page**));
}

// The slot of pgoff, or null when its leaf does not exist (yet).
Page** SlotLocked(Region& r, uint64_t pgoff) MMLAB_REQUIRES(r.lock) {
  const uint64_t leaf = pgoff >> kRegionLeafShift;
  if (leaf >= r.dir_len || !r.dir[leaf])
    return nullptr;
  return &r.dir[leaf][pgoff & (kRegionLeafSlots - 1)];
}

Page* PageAtLocked(Region& r, uint64_t pgoff) MMLAB_REQUIRES(r.lock) {
  Page** slot = SlotLocked(r, pgoff);
  return slot ? *slot : nullptr;
}

// Unhooks the leaves wholly at or past `nr_pages` pages (they must be
// empty) and chains them through their first slot for FreeLeaves.
Page** DetachLeavesLocked(Region& r, uint64_t nr_pages) MMLAB_REQUIRES(r.lock) {
  Page** chain = nullptr;
  for (uint64_t i = LeafCount(nr_pages); i < r.dir_len; i++) {
    if (Page** leaf = r.dir[i]) {
      r.dir[i] = nullptr;
      leaf[0] = reinterpret_cast<Page*>(chain);
      chain = leaf;
    }
  }
  return chain;
}

void FreeLeaves(Page** chain) {
  while (chain) {
    Page** next = reinterpret_cast<Page**>(chain[0]);
    chain[0] = nullptr;
    FreeLeaf(chain);
    chain = next;
  }
}

// Hands each page of `pages` back to the core unless the host says it is
// still busy; busy ones go (back) on the region's busy list. Returns how
// many went back. No lock held.
uint64_t ReleasePages(Region& r, RegionPageList& pages, mmlab_page_busy_fn busy, void* ctx) {
  Core& core = *r.space->core;
  uint64_t freed = 0;
  RegionPageList still_busy;
  uint64_t nr_still_busy = 0;
  while (Page* page = pages.PopFront()) {
    if (busy && busy(ctx, Core::PageToPfn(page), page->index)) {
      still_busy.PushBack(page);
      nr_still_busy++;
      continue;
    }
    page->index = 0;
    core.FreePages(page, 0, nullptr, kPgRegion);
    freed++;
  }
  if (nr_still_busy) {
    IrqSaveGuard guard(r.lock);
    while (Page* page = still_busy.PopFront())
      r.busy.PushBack(page);
    r.nr_busy += nr_still_busy;
  }
  return freed;
}

// Moves the pages of [first, end) and the busy list to `out` (under the
// region's lock).
void TakePagesLocked(Region& r, uint64_t first, uint64_t end, RegionPageList& out)
    MMLAB_REQUIRES(r.lock) {
  const uint64_t covered = r.dir_len << kRegionLeafShift;
  if (end > covered)
    end = covered;
  for (uint64_t i = first; i < end;) {
    Page** leaf = r.dir[i >> kRegionLeafShift];
    const uint64_t leaf_end = ((i >> kRegionLeafShift) + 1) << kRegionLeafShift;
    const uint64_t stop = leaf_end < end ? leaf_end : end;
    if (!leaf) {  // never touched: nothing to take
      i = stop;
      continue;
    }
    for (; i < stop; i++) {
      Page*& slot = leaf[i & (kRegionLeafSlots - 1)];
      if (Page* page = slot) {
        slot = nullptr;
        r.resident--;
        out.PushBack(page);
      }
    }
  }
  while (Page* page = r.busy.PopFront())
    out.PushBack(page);
  r.nr_busy = 0;
}

// Fault latency on the cheap clock; 0 if the fault migrated to a CPU whose
// clock is behind.
uint64_t Since(uint64_t start) {
  const uint64_t now = mmlab_host_clock_ns();
  return now > start ? now - start : 0;
}

void LogFaultLocked(Region& r, int32_t pid, uint64_t address, uint64_t pgoff, const Page* page,
                    uint64_t latency_ns, bool allocated) MMLAB_REQUIRES(r.lock) {
  mmlab_fault_record& rec = r.log[r.log_seq % kLogSize];
  rec = mmlab_fault_record{};
  rec.seq = ++r.log_seq;
  rec.address = address;
  rec.pgoff = pgoff;
  rec.pid = pid;
  rec.order = 0;
  rec.allocated = allocated;
  if (page) {
    rec.pfn = Core::PageToPfn(page);
    rec.zone = static_cast<uint8_t>(Core::PageZone(page)->type());
  }
  rec.latency_ns = latency_ns;
}

// Changes the space's committed total by the region's growth new_size -
// r.committed, refusing growth the mode does not allow.
mmlab_status CommitSize(Region& r, uint64_t new_size) {
  RegionSpace& space = *r.space;
  IrqSaveGuard guard(space.lock);
  if (new_size > r.committed) {
    const uint64_t grow = new_size - r.committed;
    switch (space.overcommit_memory) {
      case MMLAB_OVERCOMMIT_ALWAYS:
        break;
      case MMLAB_OVERCOMMIT_NEVER:
        if (space.committed + grow > space.CommitLimitLocked())
          return MMLAB_ENOMEM;
        break;
      default:  // guess: only the obviously impossible
        if (new_size > space.core->capacity_pages())
          return MMLAB_ENOMEM;
        break;
    }
    space.committed += grow;
  } else {
    space.committed -= r.committed - new_size;
  }
  r.committed = new_size;
  return MMLAB_OK;
}

// The region is unreachable (off the space's list, no caller left).
void DestroyRegionMeta(Region* r) MMLAB_NO_THREAD_SAFETY_ANALYSIS {
  for (uint64_t i = 0; i < r->dir_len; i++)
    FreeLeaf(r->dir[i]);
  FreeDir(r->dir, r->dir_len);
  r->lock.Destroy();
  MetaDelete(r);
}

}  // namespace

uint64_t RegionSpace::CommitLimitLocked() const {
  return core->capacity_pages() * overcommit_ratio / 100;
}

mmlab_status RegionsCreate(Core& core, RegionSpace** out) {
  RegionSpace* space = MetaNew<RegionSpace>();
  if (!space)
    return MMLAB_ENOMEM;
  space->core = &core;
  if (!space->lock.Init("mmlab_regions")) {
    MetaDelete(space);
    return MMLAB_ENOMEM;
  }
  *out = space;
  return MMLAB_OK;
}

// Regions the shim did not destroy (a leak in the shim): reported, and their
// pages taken back regardless, so the core can return its chunks.
void RegionsDestroy(RegionSpace* space) {
  for (;;) {
    Region* r;
    {
      IrqSaveGuard guard(space->lock);
      r = space->regions.PopFront();
      if (r)
        space->nr_regions--;
    }
    if (!r)
      break;
    RegionPageList pages;
    uint64_t resident;
    {
      IrqSaveGuard guard(r->lock);
      resident = r->resident;
      TakePagesLocked(*r, 0, ~uint64_t{0}, pages);
    }
    Log(MMLAB_LOG_WARN, "region %lu still exists at destroy (%lu resident pages)", r->id,
        resident);
    ReleasePages(*r, pages, nullptr, nullptr);
    DestroyRegionMeta(r);
  }
  space->lock.Destroy();
  MetaDelete(space);
}

uint64_t RegionsCheck(RegionSpace& space) {
  uint64_t bad = 0;
  IrqSaveGuard guard(space.lock);
  uint64_t committed = 0;
  for (const ListNode* n = space.regions.sentinel()->next; n != space.regions.sentinel();
       n = n->next) {
    Region& r = *decltype(space.regions)::Owner(n);
    committed += r.committed;
    IrqSaveGuard rguard(r.lock);
    uint64_t resident = 0;
    for (uint64_t i = 0; i < (r.dir_len << kRegionLeafShift); i++) {
      if (!r.dir[i >> kRegionLeafShift]) {
        i |= kRegionLeafSlots - 1;  // skip the missing leaf
        continue;
      }
      const Page* page = r.dir[i >> kRegionLeafShift][i & (kRegionLeafSlots - 1)];
      if (!page)
        continue;
      resident++;
      if (i >= r.size) {
        bad++;
        Log(MMLAB_LOG_ERR, "region %lu: page at pgoff %lu past the size %lu", r.id, i, r.size);
      }
      if (!(page->Flags() & kPgRegion) || page->order != 0) {
        bad++;
        Log(MMLAB_LOG_ERR, "region %lu: pgoff %lu: pfn 0x%lx is not a region page", r.id, i,
            Core::PageToPfn(page));
      }
    }
    if (resident != r.resident) {
      bad++;
      Log(MMLAB_LOG_ERR, "region %lu: %lu pages in the table, resident says %lu", r.id, resident,
          r.resident);
    }
  }
  if (committed != space.committed) {
    bad++;
    Log(MMLAB_LOG_ERR, "regions: committed %lu, the regions add up to %lu", space.committed,
        committed);
  }
  return bad;
}

void RenderRegionStats(Core& core, mmlab_emit_fn emit, void* ctx) {
  mmlab_commit_info info;
  mmlab_core_commit_info(core.handle(), &info);
  const struct {
    const char* key;
    uint64_t value;
  } rows[] = {
      {"regions", info.regions},
      {"overcommit_memory", info.mode},
      {"overcommit_ratio", info.ratio},
      {"committed_pages", info.committed_pages},
      {"commit_limit_pages", info.commit_limit_pages},
  };
  for (const auto& row : rows) {
    char line[64];
    TextBuf text(line, sizeof(line));
    text.Append("%-22s %lu\n", row.key, row.value);
    emit(ctx, text.c_str(), text.len());
  }
}

}  // namespace mmlab

// --- C ABI ------------------------------------------------------------------

using mmlab::Core;
using mmlab::IrqSaveGuard;
using mmlab::Page;
using mmlab::RegionPageList;
using mmlab::Region;
using mmlab::RegionSpace;

extern "C" {

enum mmlab_status mmlab_core_region_create(struct mmlab_core* core, enum mmlab_zone_type zone,
                                           struct mmlab_region** out) {
  if (!MMLAB_ASSERT(core && out))
    return MMLAB_EINVAL;
  *out = nullptr;
  if (zone >= MMLAB_NR_ZONES)
    return MMLAB_EINVAL;
  mmlab_host_might_sleep();
  RegionSpace& space = Core::From(core)->regions();
  Region* r = mmlab::MetaNew<Region>();
  if (!r)
    return MMLAB_ENOMEM;
  if (!r->lock.Init("mmlab_region")) {
    mmlab::MetaDelete(r);
    return MMLAB_ENOMEM;
  }
  r->space = &space;
  r->zone = zone;
  {
    IrqSaveGuard guard(space.lock);
    r->id = space.next_id++;
    space.regions.PushBack(r);
    space.nr_regions++;
  }
  *out = mmlab::ToC(r);
  return MMLAB_OK;
}

enum mmlab_status mmlab_core_region_destroy(struct mmlab_region* region, mmlab_page_busy_fn busy,
                                            void* ctx) {
  if (!MMLAB_ASSERT(region))
    return MMLAB_EINVAL;
  mmlab_host_might_sleep();
  Region& r = *mmlab::FromC(region);
  RegionPageList pages;
  {
    IrqSaveGuard guard(r.lock);
    r.size = 0;
    mmlab::TakePagesLocked(r, 0, ~uint64_t{0}, pages);
  }
  mmlab::CommitSize(r, 0);
  mmlab::ReleasePages(r, pages, busy, ctx);
  {
    IrqSaveGuard guard(r.lock);
    if (r.nr_busy)
      return MMLAB_EBUSY;
  }
  RegionSpace& space = *r.space;
  {
    IrqSaveGuard guard(space.lock);
    space.regions.Remove(&r);
    space.nr_regions--;
  }
  mmlab::DestroyRegionMeta(&r);
  return MMLAB_OK;
}

enum mmlab_status mmlab_core_region_set_size(struct mmlab_region* region, uint64_t nr_pages,
                                             mmlab_page_busy_fn busy, void* ctx) {
  if (!MMLAB_ASSERT(region))
    return MMLAB_EINVAL;
  mmlab_host_might_sleep();
  Region& r = *mmlab::FromC(region);
  if (nr_pages > mmlab::kRegionMaxPages)
    return MMLAB_ENOMEM;
  // Commit first (the growth may be refused), then make room in the
  // directory. A concurrent set_size is the caller's to serialise (the
  // shim holds the region's rw_semaphore for writing); faults may run
  // alongside.
  mmlab_status st = mmlab::CommitSize(r, nr_pages);
  if (st != MMLAB_OK)
    return st;
  const uint64_t want = mmlab::LeafCount(nr_pages);
  Page*** dir = nullptr;
  uint64_t dir_len;
  {
    IrqSaveGuard guard(r.lock);
    dir_len = r.dir_len;
  }
  if (want > dir_len) {
    dir = static_cast<Page***>(mmlab_host_meta_alloc(want * sizeof(Page**), 1));
    if (!dir) {
      uint64_t old_size;
      {
        IrqSaveGuard guard(r.lock);
        old_size = r.size;
      }
      mmlab::CommitSize(r, old_size);
      return MMLAB_ENOMEM;
    }
  }
  Page*** old_dir = nullptr;
  uint64_t old_len = 0;
  Page** dead_leaves = nullptr;
  RegionPageList pages;
  {
    IrqSaveGuard guard(r.lock);
    if (dir && want > r.dir_len) {
      for (uint64_t i = 0; i < r.dir_len; i++)
        dir[i] = r.dir[i];
      old_dir = r.dir;
      old_len = r.dir_len;
      r.dir = dir;
      r.dir_len = want;
      dir = nullptr;
    }
    if (nr_pages < r.size) {
      mmlab::TakePagesLocked(r, nr_pages, r.size, pages);
      dead_leaves = mmlab::DetachLeavesLocked(r, nr_pages);
    }
    r.size = nr_pages;
  }
  if (dir)
    mmlab::FreeDir(dir, want);
  mmlab::FreeDir(old_dir, old_len);
  mmlab::FreeLeaves(dead_leaves);
  mmlab::ReleasePages(r, pages, busy, ctx);
  return MMLAB_OK;
}

uint64_t mmlab_core_region_size(struct mmlab_region* region) {
  if (!MMLAB_ASSERT(region))
    return 0;
  Region& r = *mmlab::FromC(region);
  IrqSaveGuard guard(r.lock);
  return r.size;
}

enum mmlab_status mmlab_core_region_fault(struct mmlab_region* region, uint64_t pgoff,
                                          int32_t pid, uint64_t address,
                                          struct mmlab_page** out) {
  if (!MMLAB_ASSERT(region && out))
    return MMLAB_EINVAL;
  *out = nullptr;
  Region& r = *mmlab::FromC(region);
  const uint64_t start = mmlab_host_clock_ns();
  bool need_leaf;
  {
    IrqSaveGuard guard(r.lock);
    if (pgoff >= r.size)
      return MMLAB_EINVAL;
    if (Page* page = mmlab::PageAtLocked(r, pgoff)) {
      r.faults++;
      mmlab::LogFaultLocked(r, pid, address, pgoff, page, mmlab::Since(start), false);
      *out = page;
      return MMLAB_OK;
    }
    need_leaf = !mmlab::SlotLocked(r, pgoff);
  }
  mmlab_gfp_t gfp = MMLAB_GFP_USER | MMLAB___GFP_ZERO;
  if (__atomic_load_n(&r.zone, __ATOMIC_RELAXED) == MMLAB_ZONE_DMA32)
    gfp |= MMLAB___GFP_DMA32;
  Core& core = *r.space->core;
  if (r.space->OvercommitModeRelaxed() == MMLAB_OVERCOMMIT_NEVER)
    gfp |= MMLAB___GFP_HIGH | MMLAB___GFP_RETRY_MAYFAIL;  // committed: the page is owed
  Page** leaf = need_leaf ? mmlab::NewLeaf() : nullptr;
  Page* fresh = (need_leaf && !leaf) || core.fault().ShouldFailMmdevFault()
                    ? nullptr
                    : core.AllocPages(gfp, 0, mmlab::kPgRegion);
  Page* loser = nullptr;
  mmlab_status st = MMLAB_OK;
  {
    IrqSaveGuard guard(r.lock);
    r.faults++;
    Page** slot = nullptr;
    if (pgoff < r.size) {
      const uint64_t li = pgoff >> mmlab::kRegionLeafShift;
      if (leaf && !r.dir[li]) {  // size >= pgoff + 1, so li < dir_len
        r.dir[li] = leaf;
        leaf = nullptr;
      }
      slot = mmlab::SlotLocked(r, pgoff);
    }
    if (pgoff >= r.size) {
      // Shrunk while we allocated: the size decides, as for a file.
      loser = fresh;
      st = MMLAB_EINVAL;
    } else if (slot && *slot) {
      loser = fresh;
      *out = *slot;
      mmlab::LogFaultLocked(r, pid, address, pgoff, *slot, mmlab::Since(start), false);
    } else if (!fresh || !slot) {
      loser = fresh;
      r.fault_failures++;
      st = MMLAB_ENOMEM;
      mmlab::LogFaultLocked(r, pid, address, pgoff, nullptr, mmlab::Since(start), false);
    } else {
      fresh->index = pgoff;
      *slot = fresh;
      r.resident++;
      r.alloc_faults++;
      *out = fresh;
      mmlab::LogFaultLocked(r, pid, address, pgoff, fresh, mmlab::Since(start), true);
    }
  }
  mmlab::FreeLeaf(leaf);  // another fault installed one first, or unused
  if (loser)
    core.FreePages(loser, 0, nullptr, mmlab::kPgRegion);
  return st;
}

enum mmlab_status mmlab_core_region_set_zone(struct mmlab_region* region,
                                             enum mmlab_zone_type zone) {
  if (!MMLAB_ASSERT(region))
    return MMLAB_EINVAL;
  if (zone >= MMLAB_NR_ZONES)
    return MMLAB_EINVAL;
  Region& r = *mmlab::FromC(region);
  __atomic_store_n(&r.zone, zone, __ATOMIC_RELAXED);
  return MMLAB_OK;
}

struct mmlab_page* mmlab_core_region_lookup(struct mmlab_region* region, uint64_t pgoff) {
  if (!MMLAB_ASSERT(region))
    return nullptr;
  Region& r = *mmlab::FromC(region);
  IrqSaveGuard guard(r.lock);
  return pgoff < r.size ? mmlab::PageAtLocked(r, pgoff) : nullptr;
}

uint64_t mmlab_core_region_punch(struct mmlab_region* region, uint64_t first, uint64_t nr,
                                 mmlab_page_busy_fn busy, void* ctx) {
  if (!MMLAB_ASSERT(region))
    return 0;
  Region& r = *mmlab::FromC(region);
  uint64_t end;
  if (__builtin_add_overflow(first, nr, &end))
    end = ~uint64_t{0};
  RegionPageList pages;
  {
    IrqSaveGuard guard(r.lock);
    if (first < end)
      mmlab::TakePagesLocked(r, first, end, pages);
  }
  return mmlab::ReleasePages(r, pages, busy, ctx);
}

void mmlab_core_region_stats(struct mmlab_region* region, struct mmlab_region_stats* out) {
  if (!MMLAB_ASSERT(region && out))
    return;
  Region& r = *mmlab::FromC(region);
  *out = mmlab_region_stats{};
  out->id = r.id;
  {
    IrqSaveGuard guard(r.space->lock);
    out->committed_pages = r.committed;
  }
  IrqSaveGuard guard(r.lock);
  out->size_pages = r.size;
  out->resident_pages = r.resident;
  out->busy_pages = r.nr_busy;
  out->faults = r.faults;
  out->alloc_faults = r.alloc_faults;
  out->fault_failures = r.fault_failures;
}

size_t mmlab_core_region_fault_log(struct mmlab_region* region, struct mmlab_fault_record* out,
                                   size_t max) {
  if (!MMLAB_ASSERT(region) || (!out && max))
    return 0;
  Region& r = *mmlab::FromC(region);
  IrqSaveGuard guard(r.lock);
  uint64_t n = r.log_seq < mmlab::kLogSize ? r.log_seq : mmlab::kLogSize;
  if (n > max)
    n = max;
  for (uint64_t i = 0; i < n; i++)
    out[i] = r.log[(r.log_seq - n + i) % mmlab::kLogSize];
  return n;
}

void mmlab_core_region_render_faults(struct mmlab_region* region, mmlab_emit_fn emit, void* ctx) {
  if (!MMLAB_ASSERT(region && emit))
    return;
  mmlab::EmitLine(emit, ctx, "# %-6s %7s %18s %10s %10s %-6s %5s %5s %10s\n", "seq", "pid",
                  "address", "pgoff", "pfn", "zone", "order", "alloc", "latency_ns");
  // Copied out in one go, then formatted with no lock held. A ring is
  // 256 records of 48 bytes: too big for a kernel stack, so in pieces.
  constexpr size_t kBatch = 16;
  mmlab_fault_record recs[kBatch];
  uint64_t next_seq = 0;  // first record not shown yet
  for (;;) {
    size_t n = 0;
    {
      Region& r = *mmlab::FromC(region);
      IrqSaveGuard guard(r.lock);
      uint64_t live = r.log_seq < mmlab::kLogSize ? r.log_seq : mmlab::kLogSize;
      uint64_t seq = r.log_seq - live;  // records seq+1 .. log_seq are live
      if (next_seq > seq)
        seq = next_seq;
      for (; seq < r.log_seq && n < kBatch; seq++)
        recs[n++] = r.log[seq % mmlab::kLogSize];
      next_seq = seq;
    }
    for (size_t i = 0; i < n; i++) {
      const mmlab_fault_record& rec = recs[i];
      mmlab::EmitLine(emit, ctx, "%-8lu %7d 0x%016lx %10lu 0x%08lx %-6s %5u %5u %10lu\n", rec.seq,
                      rec.pid, rec.address, rec.pgoff, rec.pfn,
                      rec.pfn ? mmlab::ZoneTypeName(static_cast<mmlab_zone_type>(rec.zone)) : "-",
                      rec.order, rec.allocated, rec.latency_ns);
    }
    if (n < kBatch)
      return;
  }
}

void mmlab_core_region_render_header(mmlab_emit_fn emit, void* ctx) {
  if (!MMLAB_ASSERT(emit))
    return;
  mmlab::EmitLine(emit, ctx, "# %-4s %7s %-20s %10s %10s %6s %10s %8s %5s %10s %12s %14s\n", "id",
                  "pid", "name", "size_pages", "resident", "busy", "committed", "mappings",
                  "files", "faults", "alloc_faults", "fault_failures");
}

void mmlab_core_region_render(struct mmlab_region* region, const struct mmlab_region_owner* owner,
                              mmlab_emit_fn emit, void* ctx) {
  if (!MMLAB_ASSERT(region && owner && emit))
    return;
  mmlab_region_stats st;
  mmlab_core_region_stats(region, &st);
  mmlab::EmitLine(emit, ctx, "%-6lu %7d %-20s %10lu %10lu %6lu %10lu %8lu %5lu %10lu %12lu %14lu\n",
                  st.id, owner->pid, owner->name && owner->name[0] ? owner->name : "-",
                  st.size_pages, st.resident_pages, st.busy_pages, st.committed_pages,
                  owner->mappings, owner->files, st.faults, st.alloc_faults, st.fault_failures);
}

enum mmlab_status mmlab_core_set_overcommit(struct mmlab_core* core, uint32_t mode,
                                            uint32_t ratio) {
  if (!MMLAB_ASSERT(core))
    return MMLAB_EINVAL;
  if (mode > MMLAB_OVERCOMMIT_NEVER || ratio > 100)
    return MMLAB_EINVAL;
  RegionSpace& space = Core::From(core)->regions();
  IrqSaveGuard guard(space.lock);
  __atomic_store_n(&space.overcommit_memory, mode, __ATOMIC_RELAXED);
  space.overcommit_ratio = ratio;
  return MMLAB_OK;
}

void mmlab_core_commit_info(struct mmlab_core* core, struct mmlab_commit_info* out) {
  if (!MMLAB_ASSERT(core && out))
    return;
  RegionSpace& space = Core::From(core)->regions();
  IrqSaveGuard guard(space.lock);
  out->mode = space.overcommit_memory;
  out->ratio = space.overcommit_ratio;
  out->committed_pages = space.committed;
  out->commit_limit_pages = space.CommitLimitLocked();
  out->capacity_pages = space.core->capacity_pages();
  out->max_region_pages = mmlab::kRegionMaxPages;
  out->regions = space.nr_regions;
}

}  // extern "C"
