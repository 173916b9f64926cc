// SPDX-License-Identifier: GPL-2.0
//
// pagemap.cc - the page map and explain (pagemap.h, docs/pagemap.md).
#include "pagemap.h"

#include "command_parse.h"
#include "core.h"
#include "debug_report.h"
#include "gfp.h"
#include "log.h"
#include "mempool.h"
#include "objects.h"
#include "region.h"
#include "slab.h"
#include "vmalloc.h"

namespace mmlab {

bool Zone::VisitChunk(uintptr_t addr, bool above, ChunkVisitFn fn, void* ctx) {
  IrqSaveGuard guard(lock_);
  const ChunkIndex* index = index_;
  const size_t n = ChunkIndex::SizeOf(index);
  for (size_t i = 0; i < n; i++) {
    Chunk* chunk = index->at(i);
    if (chunk->ContainsAddress(addr) || (above && chunk->vaddr() > addr)) {
      fn(ctx, chunk, static_cast<uint32_t>(i));
      return true;
    }
  }
  return false;
}

// --- control-file lookups ------------------------------------------------------

bool Core::ControlHandleOf(const Page* head, uint64_t* id) {
  IrqSaveGuard guard(ctl_lock_);
  for (uint32_t i = 0; i < handles_.live(); i++) {
    if (handles_.at(i).page == head) {
      *id = handles_.at(i).id;
      return true;
    }
  }
  return false;
}

bool Core::ControlHandleById(uint64_t id, uintptr_t* addr, uint32_t* order) {
  IrqSaveGuard guard(ctl_lock_);
  Handle* h = handles_.Find(id);
  if (!h)
    return false;
  // The block stays allocated while its handle lives, and the handle
  // cannot go while the lock is held: its descriptor is valid here.
  *addr = PageAddress(h->page);
  *order = h->order;
  return true;
}

bool Core::ControlObjectById(uint64_t id, CtlObject* out) {
  IrqSaveGuard guard(ctl_lock_);
  CtlObject* obj = objects_.Find(id);
  if (!obj)
    return false;
  *out = *obj;
  return true;
}

bool Core::ControlObjectAt(uintptr_t addr, CtlObject* out) {
  IrqSaveGuard guard(ctl_lock_);
  for (uint32_t i = 0; i < objects_.live(); i++) {
    const CtlObject& obj = objects_.at(i);
    const uintptr_t mem = reinterpret_cast<uintptr_t>(obj.mem);
    if (addr == mem || (addr > mem && addr - mem < obj.size)) {
      *out = obj;
      return true;
    }
  }
  return false;
}

namespace {

constexpr uint32_t kNoHead = ~uint32_t{0};

bool StrEq(const char* a, const char* b) {
  while (*a && *a == *b) {
    a++;
    b++;
  }
  return *a == *b;
}

char OrderChar(uint32_t order) {
  return order < 10 ? static_cast<char>('0' + order) : static_cast<char>('a' + order - 10);
}

const char* StateName(PageState st) {
  switch (st) {
    case PageState::kFreeHead:
    case PageState::kFreeTail:
      return "free";
    case PageState::kPcpHead:
    case PageState::kPcpTail:
      return "per-CPU";
    case PageState::kAllocHead:
    case PageState::kAllocTail:
      return "allocated";
    default:
      return "unset";
  }
}

// The head of the block holding page idx: heads and blocks are stable
// under the zone lock, and a block is naturally aligned, so the first head
// found going down the alignments is the block's (if it covers idx).
uint32_t FindHead(const Chunk* chunk, uint32_t idx) {
  for (uint32_t o = 0; o <= chunk->order(); o++) {
    const uint32_t h = idx & ~((1u << o) - 1);
    const Page* p = chunk->page(h);
    if (p->IsHead()) {
      const uint32_t order = ReadOnce(p->order);
      return order <= chunk->order() && h + (1u << order) > idx ? h : kNoHead;
    }
  }
  return kNoHead;
}

// Whether c is a live cache: on the allocator's list, whose lock the
// caller holds (around the zone lock the visitors run under, which the
// analysis cannot follow through the function pointer).
bool CacheListed(SlabAllocator& a, const KmemCache* c) MMLAB_NO_THREAD_SAFETY_ANALYSIS {
  for (const ListNode* l = a.caches.sentinel()->next; l != a.caches.sentinel(); l = l->next) {
    if (decltype(a.caches)::Owner(l) == c)
      return true;
  }
  return false;
}

char SlabChar(const char* policy) {
  if (StrEq(policy, "slab"))
    return 'A';
  if (StrEq(policy, "slob"))
    return 'O';
  return 'U';
}

// --- the page map ------------------------------------------------------------------

struct SlabRec {
  uint64_t pfn;
  uint32_t order, inuse, objects;
  const char* policy;
  char name[MMLAB_KMEM_CACHE_NAME_MAX];
};

// One row's look at a chunk; heap memory, not the (kernel) stack.
struct RowScratch {
  SlabAllocator* slab;
  uintptr_t cursor;
  bool want_slabs;
  const KmemCache* last_ok;  // last cache found on the list this row
  // What the visit found.
  uint32_t chunk_no, chunk_pages, start, n;
  uint64_t chunk_pfn;
  uintptr_t next_cursor;
  char row[kPageMapRow + 1];
  uint32_t nr_slabs;
  SlabRec slabs[kPageMapRow];
};

const KmemCache* ListedCache(RowScratch* sc, const Page* head) {
  const KmemCache* c = static_cast<const KmemCache*>(ReadOnce(head->slab_cache));
  if (!c)
    return nullptr;
  if (c == sc->last_ok || CacheListed(*sc->slab, c)) {
    sc->last_ok = c;
    return c;
  }
  return nullptr;
}

char PageChar(RowScratch* sc, const Chunk* chunk, const Page* head, bool head_in_row) {
  switch (head->State()) {
    case PageState::kFreeHead:
      return OrderChar(ReadOnce(head->order));
    case PageState::kPcpHead:
      return 'p';
    case PageState::kAllocHead:
      break;
    default:
      return '?';
  }
  const uint16_t flags = head->Flags();
  if (flags & kPgSlob)
    return 'O';
  if (flags & kPgSlab) {
    const KmemCache* c = ListedCache(sc, head);
    if (!c)
      return 'U';  // being set up or torn down: no cache named yet
    const char* policy = ReadOnce(c->policy)->name();
    if (sc->want_slabs && head_in_row && sc->nr_slabs < kPageMapRow) {
      SlabRec& r = sc->slabs[sc->nr_slabs++];
      r.pfn = chunk->PfnOf(head);
      r.order = ReadOnce(head->order);
      r.inuse = ReadOnce(head->inuse);
      r.objects = c->ObjectsIn(head);
      r.policy = policy;
      __builtin_memcpy(r.name, c->name, sizeof(r.name));
      r.name[sizeof(r.name) - 1] = '\0';
    }
    return SlabChar(policy);
  }
  if (flags & kPgLargeKmalloc)
    return 'K';
  if (flags & kPgVmalloc)
    return 'V';
  if (flags & kPgRegion)
    return 'M';
  if (flags & kPgControl)
    return 'C';
  if (flags & kPgPressure)
    return 'R';
  return 'P';
}

void RowVisit(void* ctx, Chunk* chunk, uint32_t chunk_no) {
  RowScratch* sc = static_cast<RowScratch*>(ctx);
  const uint32_t nr = chunk->nr_pages();
  const uint32_t start = chunk->ContainsAddress(sc->cursor)
                             ? static_cast<uint32_t>((sc->cursor - chunk->vaddr()) >>
                                                     MMLAB_PAGE_SHIFT)
                             : 0;
  const uint32_t end = Min(start + kPageMapRow, nr);
  sc->chunk_no = chunk_no;
  sc->chunk_pages = nr;
  sc->chunk_pfn = chunk->pfn();
  sc->start = start;
  sc->n = end - start;
  sc->next_cursor = chunk->vaddr() + (uintptr_t{end} << MMLAB_PAGE_SHIFT);
  uint32_t i = start;
  while (i < end) {
    const uint32_t h = chunk->page(i)->IsHead() ? i : FindHead(chunk, i);
    if (h == kNoHead) {
      sc->row[i - start] = '?';
      i++;
      continue;
    }
    const Page* head = chunk->page(h);
    const char c = PageChar(sc, chunk, head, h >= start);
    const uint32_t stop = Min(h + (1u << ReadOnce(head->order)), end);
    for (; i < stop; i++)
      sc->row[i - start] = c;
  }
  sc->row[sc->n] = '\0';
}

// One row (pass 0) or its slabs (pass 1) of zone z at cursor; false when
// the zone has no chunk at or above it.
bool VisitRow(Core& core, uint32_t z, RowScratch* sc) {
  SlabAllocator& a = core.slab();
  sc->nr_slabs = 0;
  sc->last_ok = nullptr;
  IrqSaveGuard list_guard(a.list_lock);
  return core.zone(z).VisitChunk(sc->cursor, true, RowVisit, sc);
}

}  // namespace

mmlab_status RenderPagemap(Core& core, mmlab_emit_fn emit, void* ctx) {
  RowScratch* sc = MetaNew<RowScratch>();
  if (!sc)
    return MMLAB_ENOMEM;
  sc->slab = &core.slab();
  struct mmlab_core_counters c;
  core.Counters(&c);
  EmitLine(emit, ctx, "# mmlab-pagemap v1 pages=%lu page_size=%lu\n", c.host_pages,
           MMLAB_PAGE_SIZE);
  EmitLine(emit, ctx,
           "# 0-9,a,b free block of that order  p per-CPU list  U slub slab  A slab slab  "
           "O slob page  K large kmalloc\n");
  EmitLine(emit, ctx,
           "# V vmalloc  M /dev/mmlab region  C control-file block  R pressure pool  "
           "P other page allocation\n");
  for (int pass = 0; pass < 2; pass++) {
    sc->want_slabs = pass == 1;
    for (uint32_t z = 0; z < core.nr_zones(); z++) {
      sc->cursor = 0;
      while (VisitRow(core, z, sc)) {
        if (pass == 0) {
          if (sc->start == 0)
            EmitLine(emit, ctx, "zone %s chunk %u pfn 0x%lx pages %u\n", core.zone(z).name(),
                     sc->chunk_no, sc->chunk_pfn, sc->chunk_pages);
          EmitLine(emit, ctx, "0x%lx %s\n", sc->chunk_pfn + sc->start, sc->row);
        } else {
          for (uint32_t i = 0; i < sc->nr_slabs; i++) {
            const SlabRec& r = sc->slabs[i];
            EmitLine(emit, ctx, "slab 0x%lx order %u policy %s cache %s inuse %u objects %u\n",
                     r.pfn, r.order, r.policy, r.name, r.inuse, r.objects);
          }
        }
        sc->cursor = sc->next_cursor;
      }
    }
  }
  MetaDelete(sc);
  return MMLAB_OK;
}

// --- explain --------------------------------------------------------------------------

namespace {

// What one locked look at the page of an address found.
struct PageFacts {
  SlabAllocator* slab;
  uintptr_t addr;
  bool found;
  uint32_t zone;
  uint32_t chunk_no;
  uint32_t index;
  uint64_t pfn;
  bool have_head;
  uint64_t head_pfn;
  uint32_t order;
  PageState state;
  uint16_t flags;
  uint32_t gfp;
  const Page* head;         // compared, never dereferenced once the lock is gone
  uintptr_t block_addr;
  KmemCache* cache;         // a listed cache (slab pages)
  const char* policy;
  uint64_t region_index;    // region pages
};

void FactsVisit(void* ctx, Chunk* chunk, uint32_t chunk_no) {
  PageFacts* f = static_cast<PageFacts*>(ctx);
  f->found = true;
  f->chunk_no = chunk_no;
  f->index = static_cast<uint32_t>((f->addr - chunk->vaddr()) >> MMLAB_PAGE_SHIFT);
  f->pfn = chunk->pfn() + f->index;
  const uint32_t h = chunk->page(f->index)->IsHead() ? f->index : FindHead(chunk, f->index);
  if (h == kNoHead)
    return;
  const Page* head = chunk->page(h);
  f->have_head = true;
  f->head = head;
  f->head_pfn = chunk->pfn() + h;
  f->block_addr = chunk->AddressOf(head);
  f->order = ReadOnce(head->order);
  f->state = head->State();
  if (f->state != PageState::kAllocHead)
    return;
  f->flags = head->Flags();
  f->gfp = ReadOnce(head->gfp);
  if ((f->flags & kPgSlab) && !(f->flags & kPgSlob)) {
    KmemCache* c = static_cast<KmemCache*>(ReadOnce(head->slab_cache));
    if (c && CacheListed(*f->slab, c)) {
      f->cache = c;
      f->policy = ReadOnce(c->policy)->name();
    }
  }
  if (f->flags & kPgRegion)
    f->region_index = ReadOnce(head->index);
}

bool LookPage(Core& core, uintptr_t addr, PageFacts* f) {
  *f = {};
  f->slab = &core.slab();
  f->addr = addr;
  IrqSaveGuard list_guard(core.slab().list_lock);
  for (uint32_t z = 0; z < core.nr_zones(); z++) {
    if (core.zone(z).VisitChunk(addr, false, FactsVisit, f)) {
      f->zone = z;
      return true;
    }
  }
  return false;
}

enum class ObjState { kNone, kAllocated, kFree, kCpuHeld, kCorrupt };

struct ObjFacts {
  bool ok;            // the slab was still the cache's
  bool in_object;     // addr is inside an object's stride
  bool in_payload;    // ...inside the bytes the caller may use
  uint32_t index, objects, size, object_size;
  uint64_t slab_offset;  // the object's start in the slab
  uint64_t offset;       // addr - object start
  uintptr_t obj;         // compared only
  ObjState state;
  uint32_t frozen_cpu;
  bool tracks;
  SlabTrack track[2];
};

void ReadTrack(const KmemCache& s, uintptr_t obj, uint32_t which, SlabTrack* t) {
  // As slab_debug.cc reads them: byte by byte, plain loads.
  const volatile uint8_t* src =
      reinterpret_cast<const volatile uint8_t*>(obj + s.layout.info_end) + which * sizeof(*t);
  uint8_t* dst = reinterpret_cast<uint8_t*>(t);
  for (size_t i = 0; i < sizeof(*t); i++)
    dst[i] = src[i];
}

// Under the list lock (the cache is live) and the cache lock (its slabs'
// freelists are stable): which object addr is and whether it is free.
void LookObject(Core& core, const PageFacts& f, ObjFacts* o) {
  *o = {};
  SlabAllocator& a = core.slab();
  IrqSaveGuard list_guard(a.list_lock);
  if (!CacheListed(a, f.cache))
    return;
  KmemCache& s = *f.cache;
  IrqSaveGuard guard(s.lock);
  // Interrupts are off: the chunk stays, its descriptors can be read.
  Page* page = core.zone(f.zone).VirtToPageIrqsOff(f.addr);
  if (!page)
    return;
  Page* slab = page->State() == PageState::kAllocHead ? page : ReadOnce(page->slab_head);
  if (slab != f.head || !slab->IsAllocHead() || !(slab->Flags() & kPgSlab) ||
      ReadOnce(slab->slab_cache) != &s)
    return;
  o->ok = true;
  const uintptr_t base = KmemCache::SlabBase(slab);
  o->objects = s.ObjectsIn(slab);
  o->size = s.layout.size;
  o->object_size = s.layout.object_size;
  // Object 0's start: past the left red zone (debug) and, under the SLAB
  // policy, the slab's colour offset, as ObjectAt() knows.
  const uintptr_t first = reinterpret_cast<uintptr_t>(s.ObjectAt(slab, 0));
  if (f.addr < first || (f.addr - first) / o->size >= o->objects) {
    o->state = ObjState::kNone;  // slab padding or the first left red zone
    return;
  }
  o->in_object = true;
  o->index = static_cast<uint32_t>((f.addr - first) / o->size);
  o->obj = reinterpret_cast<uintptr_t>(s.ObjectAt(slab, o->index));
  o->slab_offset = o->obj - base;
  o->offset = f.addr - o->obj;
  o->in_payload = o->offset < o->object_size;
  // The slab's own freelist, every step checked to be an object start of
  // this slab (a corrupt pointer ends the walk, never followed).
  o->state = ObjState::kAllocated;
  void* p = s.SlabFreelist(slab);
  for (uint32_t k = 0; p && k <= o->objects; k++) {
    const uintptr_t q = reinterpret_cast<uintptr_t>(p);
    if (q < first || (q - first) % o->size || (q - first) / o->size >= o->objects) {
      o->state = ObjState::kCorrupt;
      break;
    }
    if (q == o->obj) {
      o->state = ObjState::kFree;
      break;
    }
    p = s.FreePointer(p);
  }
  if (o->state == ObjState::kAllocated && StrEq(ReadOnce(s.policy)->name(), "slub") &&
      slab->frozen) {
    // A SLUB CPU slab: its free objects are on that CPU's freelist, which
    // only that CPU may walk. (Other policies use these bytes otherwise.)
    o->state = ObjState::kCpuHeld;
    o->frozen_cpu = slab->frozen - 1u;
  }
  if (s.debug_flags & MMLAB_SLAB_STORE_USER) {
    o->tracks = true;
    ReadTrack(s, o->obj, 0, &o->track[0]);
    ReadTrack(s, o->obj, 1, &o->track[1]);
  }
}

// SLUB's print_track(): "<what> in <call site> age=<ms> cpu=<n> pid=<n>".
// The control file allocates and frees with no call site (0): "(control)".
void AppendTrack(TextBuf* out, const char* what, const SlabTrack& t, uint64_t now) {
  if (!t.addr && !t.when_ns)
    return;  // never recorded
  out->Append("track: %s in %s age=%lu cpu=%u pid=%d\n", what,
              t.addr ? SymText(t.addr).buf : "(control)", (now - t.when_ns) / 1000000, t.cpu,
              t.pid);
}

const char* ObjStateText(ObjState st, const char* policy) {
  switch (st) {
    case ObjState::kAllocated:
      return StrEq(policy, "slab") ? "allocated (or in a per-CPU array cache)" : "allocated";
    case ObjState::kFree:
      return "free (on the slab's freelist)";
    case ObjState::kCpuHeld:
      return "unknown: CPU-held (allocated, or free on the CPU's freelist)";
    case ObjState::kCorrupt:
      return "unknown: the slab's freelist is corrupt";
    default:
      return "none";
  }
}

struct PoolHit {
  uint64_t id;
  uint32_t slot, curr;
  char name[MMLAB_MEMPOOL_NAME_MAX];
};

// A mempool whose reserve holds obj (an object) or head (a page pool's
// element is the block's descriptor). Pointer comparisons only.
bool FindPoolElement(Core& core, uintptr_t obj, const Page* head, PoolHit* hit) {
  MempoolRegistry& r = core.mempools();
  IrqSaveGuard guard(r.lock);
  for (const ListNode* l = r.pools.sentinel()->next; l != r.pools.sentinel(); l = l->next) {
    Mempool* pool = decltype(r.pools)::Owner(l);
    IrqSaveGuard pool_guard(pool->lock);
    for (uint32_t k = 0; k < pool->curr_nr; k++) {
      const void* e = pool->elements[k];
      if ((obj && e == reinterpret_cast<const void*>(obj)) || (head && e == head)) {
        hit->id = pool->id;
        hit->slot = k;
        hit->curr = pool->curr_nr;
        __builtin_memcpy(hit->name, pool->name, sizeof(hit->name));
        hit->name[sizeof(hit->name) - 1] = '\0';
        return true;
      }
    }
  }
  return false;
}

bool FindRegionPage(Core& core, const Page* head, uint64_t index, uint64_t* id) {
  RegionSpace& rs = core.regions();
  IrqSaveGuard guard(rs.lock);
  for (const ListNode* l = rs.regions.sentinel()->next; l != rs.regions.sentinel();
       l = l->next) {
    Region* r = decltype(rs.regions)::Owner(l);
    IrqSaveGuard region_guard(r->lock);
    const uint64_t leaf = index >> kRegionLeafShift;
    if (leaf < r->dir_len && r->dir[leaf] && r->dir[leaf][index & (kRegionLeafSlots - 1)] == head) {
      *id = r->id;
      return true;
    }
  }
  return false;
}

struct AreaHit {
  uint64_t id;
  uint32_t page, nr_pages;
  uint64_t size;
  uintptr_t phys;  // the page's address in the chunk, plus the offset
};

// The vmalloc area whose pages include head or, with head null, whose
// virtual range holds addr. Pointer comparisons only.
bool FindArea(Core& core, uintptr_t addr, const Page* head, AreaHit* hit) {
  VmallocSpace& vm = core.vmalloc();
  IrqSaveGuard guard(vm.lock);
  for (const ListNode* l = vm.areas.sentinel()->next; l != vm.areas.sentinel(); l = l->next) {
    VmArea* area = decltype(vm.areas)::Owner(l);
    uint32_t i = area->nr_pages;
    if (!head) {
      if (addr >= area->addr && addr - area->addr < (uintptr_t{area->nr_pages} << MMLAB_PAGE_SHIFT))
        i = static_cast<uint32_t>((addr - area->addr) >> MMLAB_PAGE_SHIFT);
    } else {
      for (i = 0; i < area->nr_pages && area->pages[i] != head; i++) {
      }
    }
    if (i == area->nr_pages)
      continue;
    hit->id = area->id;
    hit->page = i;
    hit->nr_pages = area->nr_pages;
    hit->size = area->size;
    // The area holds its pages while the lock is held: the descriptor is valid.
    hit->phys = Core::PageAddress(area->pages[i]) + (addr & (MMLAB_PAGE_SIZE - 1));
    return true;
  }
  return false;
}

void AppendControlObject(TextBuf* out, const char* key, const CtlObject& obj) {
  out->Append("%s: object %lu kind %s size %lu", key, obj.id, ObjKindName(obj.kind), obj.size);
  if (obj.owner_id)
    out->Append(" %s %lu", obj.kind == ObjKind::kMempool ? "pool" : "cache", obj.owner_id);
  out->Append("\n");
}

}  // namespace

mmlab_status ExplainAddress(Core& core, uintptr_t addr, TextBuf* out) {
  if (!addr) {
    out->Append("address: NULL\n");
    Log(MMLAB_LOG_WARN, "explain: NULL is not an address");
    out->Append("error: NULL is not an address\n");
    return MMLAB_EINVAL;
  }
  out->Append("address: 0x%s\n", PtrText(reinterpret_cast<const void*>(addr)).buf);
  PageFacts f;
  bool via_vmalloc = false;
  AreaHit area = {};
  if (!LookPage(core, addr, &f)) {
    // Not in a chunk: a vmalloc address maps one of the chunks' pages.
    if (!FindArea(core, addr, nullptr, &area)) {
      out->Append("owner: none (not an address mmlab manages)\n");
      return MMLAB_ENOENT;
    }
    via_vmalloc = true;
    out->Append("vmalloc: area %lu page %u of %u size %lu\n", area.id, area.page, area.nr_pages,
                area.size);
    if (!LookPage(core, area.phys, &f)) {
      out->Append("owner: none (the area's page is gone)\n");
      return MMLAB_ENOENT;
    }
  }
  out->Append("page: pfn 0x%lx chunk %u index %u\n", f.pfn, f.chunk_no, f.index);
  out->Append("zone: %s\n", core.zone(f.zone).name());
  if (!f.have_head) {
    out->Append("block: unknown (changing)\n");
    return MMLAB_OK;
  }
  out->Append("block: head pfn 0x%lx order %u state %s\n", f.head_pfn, f.order,
              StateName(f.state));
  if (f.state == PageState::kFreeHead) {
    out->Append("owner: none (free in the buddy allocator)\n");
    return MMLAB_OK;
  }
  if (f.state == PageState::kPcpHead) {
    out->Append("owner: none (on a per-CPU page list)\n");
    return MMLAB_OK;
  }
  if (f.state != PageState::kAllocHead) {
    out->Append("owner: unknown (changing)\n");
    return MMLAB_OK;
  }
  char gfp[kGfpTextMax];
  GfpDecode(f.gfp, gfp, sizeof(gfp));
  out->Append("gfp: %s\n", gfp);

  const uintptr_t paddr = f.addr;  // the address in the chunk
  uintptr_t obj_start = 0;
  if (f.flags & kPgSlob) {
    out->Append("owner: slob page (objects of every SLOB cache, first fit)\n");
  } else if (f.flags & kPgSlab) {
    if (!f.cache) {
      out->Append("owner: slab (cache being set up or torn down)\n");
    } else {
      ObjFacts o;
      LookObject(core, f, &o);
      out->Append("owner: slab cache %s policy %s\n", f.cache->name, f.policy);
      if (!o.ok) {
        out->Append("object: unknown (the slab changed)\n");
      } else if (!o.in_object) {
        out->Append("object: none (slab padding; %u objects of %u bytes)\n", o.objects, o.size);
      } else {
        obj_start = o.obj;
        out->Append("object: index %u of %u offset %lu size %u%s\n", o.index, o.objects,
                    o.offset, o.object_size, o.in_payload ? "" : " (in its metadata)");
        out->Append("state: %s\n", ObjStateText(o.state, f.policy));
        if (o.tracks) {
          const uint64_t now = mmlab_host_now_ns();
          AppendTrack(out, "allocated", o.track[0], now);
          AppendTrack(out, "freed", o.track[1], now);
        }
      }
    }
  } else if (f.flags & kPgLargeKmalloc) {
    out->Append("owner: kmalloc large order %u\n", f.order);
  } else if (f.flags & kPgVmalloc) {
    if (via_vmalloc || FindArea(core, paddr, f.head, &area))
      out->Append("owner: vmalloc area %lu page %u of %u\n", area.id, area.page, area.nr_pages);
    else
      out->Append("owner: vmalloc (area not found)\n");
  } else if (f.flags & kPgRegion) {
    uint64_t id;
    if (FindRegionPage(core, f.head, f.region_index, &id))
      out->Append("owner: region %lu offset %lu\n", id, f.region_index);
    else
      out->Append("owner: region page (punched, still mapped or pinned) offset %lu\n",
                  f.region_index);
  } else if (f.flags & kPgControl) {
    uint64_t id;
    if (core.ControlHandleOf(f.head, &id))
      out->Append("owner: control handle %lu\n", id);
    else
      out->Append("owner: control file (handle being made or freed)\n");
  } else if (f.flags & kPgPressure) {
    out->Append("owner: pressure pool\n");
  } else {
    out->Append("owner: page allocation\n");
  }

  PoolHit pool;
  if (FindPoolElement(core, obj_start, f.head, &pool))
    out->Append("mempool: %s id %lu reserve element %u of %u\n", pool.name, pool.id, pool.slot,
                pool.curr);
  CtlObject cobj;
  if (core.ControlObjectAt(addr, &cobj) || (paddr != addr && core.ControlObjectAt(paddr, &cobj)))
    AppendControlObject(out, "control", cobj);
  return MMLAB_OK;
}

mmlab_status ExplainQuery(Core& core, const char* query, size_t len, TextBuf* out) {
  Slice words[3];
  size_t nr = 0;
  size_t i = 0;
  while (i < len) {
    while (i < len && (query[i] == ' ' || query[i] == '\t' || query[i] == '\n'))
      i++;
    if (i == len)
      break;
    size_t start = i;
    while (i < len && query[i] != ' ' && query[i] != '\t' && query[i] != '\n')
      i++;
    if (nr == 3)
      break;
    words[nr++] = Slice{query + start, i - start};
  }
  const char* usage = "kaddr 0x<addr>, object <id>, handle <id>";
  if (nr != 2) {
    Report(out, MMLAB_LOG_WARN, "explain: '%s': expected one query and one value (%s)",
           Quoted(Slice{query, len}).buf, usage);
    return MMLAB_EINVAL;
  }
  uint64_t value;
  NumError err = ParseU64(words[1], &value);
  if (err != NumError::kOk) {
    Report(out, MMLAB_LOG_WARN, "explain: %s: bad value '%s' (%s)", Quoted(words[0]).buf,
           Quoted(words[1]).buf, NumErrorText(err));
    return MMLAB_EINVAL;
  }
  if (words[0].Is("kaddr"))
    return ExplainAddress(core, static_cast<uintptr_t>(value), out);
  if (words[0].Is("object")) {
    CtlObject obj;
    if (!core.ControlObjectById(value, &obj)) {
      Report(out, MMLAB_LOG_WARN, "explain: no control object %lu", value);
      return MMLAB_ENOENT;
    }
    AppendControlObject(out, "query", obj);
    return ExplainAddress(core, reinterpret_cast<uintptr_t>(obj.mem), out);
  }
  if (words[0].Is("handle")) {
    uintptr_t addr;
    uint32_t order;
    if (!core.ControlHandleById(value, &addr, &order)) {
      Report(out, MMLAB_LOG_WARN, "explain: no control handle %lu", value);
      return MMLAB_ENOENT;
    }
    out->Append("query: handle %lu order %u\n", value, order);
    return ExplainAddress(core, addr, out);
  }
  Report(out, MMLAB_LOG_WARN, "explain: unknown query '%s' (%s; uva 0x<addr> in debugfs)",
         Quoted(words[0]).buf, usage);
  return MMLAB_EINVAL;
}

mmlab_status ExplainRegion(Core& core, mmlab_region* region, uint64_t pgoff, uint64_t offset,
                           TextBuf* out) {
  if (offset >= MMLAB_PAGE_SIZE) {
    Report(out, MMLAB_LOG_WARN, "explain: byte offset %lu is past a page", offset);
    return MMLAB_EINVAL;
  }
  Region* r = reinterpret_cast<Region*>(region);
  uintptr_t addr = 0;
  uint64_t id;
  {
    IrqSaveGuard guard(r->lock);
    id = r->id;
    const uint64_t leaf = pgoff >> kRegionLeafShift;
    if (pgoff < r->size && leaf < r->dir_len && r->dir[leaf]) {
      // The region holds the page while its lock is held: the descriptor is valid.
      const Page* page = r->dir[leaf][pgoff & (kRegionLeafSlots - 1)];
      if (page)
        addr = Core::PageAddress(page) + offset;
    }
  }
  out->Append("region: %lu offset %lu byte %lu\n", id, pgoff, offset);
  if (!addr) {
    out->Append("page: none (not faulted in, or past the size)\n");
    return MMLAB_ENOENT;
  }
  return ExplainAddress(core, addr, out);
}

}  // namespace mmlab

extern "C" enum mmlab_status mmlab_core_render_pagemap(struct mmlab_core* core,
                                                       mmlab_emit_fn emit, void* ctx) {
  if (!MMLAB_ASSERT(core) || !emit)
    return MMLAB_EINVAL;
  return mmlab::RenderPagemap(*mmlab::Core::From(core), emit, ctx);
}

extern "C" enum mmlab_status mmlab_core_explain_addr(struct mmlab_core* core, const void* addr,
                                                     char* buf, size_t cap) {
  if (!MMLAB_ASSERT(core) || !buf || !cap)
    return MMLAB_EINVAL;
  mmlab::TextBuf out(buf, cap);
  return mmlab::ExplainAddress(*mmlab::Core::From(core), reinterpret_cast<uintptr_t>(addr), &out);
}

extern "C" enum mmlab_status mmlab_core_explain(struct mmlab_core* core, const char* query,
                                                size_t len, char* buf, size_t cap) {
  if (!MMLAB_ASSERT(core) || !buf || !cap || (!query && len))
    return MMLAB_EINVAL;
  mmlab::TextBuf out(buf, cap);
  return mmlab::ExplainQuery(*mmlab::Core::From(core), query ? query : "", len, &out);
}

extern "C" enum mmlab_status mmlab_core_explain_region(struct mmlab_core* core,
                                                       struct mmlab_region* region,
                                                       uint64_t pgoff, uint64_t offset,
                                                       char* buf, size_t cap) {
  if (!MMLAB_ASSERT(core) || !region || !buf || !cap)
    return MMLAB_EINVAL;
  mmlab::TextBuf out(buf, cap);
  return mmlab::ExplainRegion(*mmlab::Core::From(core), region, pgoff, offset, &out);
}
