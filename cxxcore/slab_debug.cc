// SPDX-License-Identifier: GPL-2.0
//
// slab_debug.cc - SLUB's debugging for mmlab's caches (Linux: the
// CONFIG_SLUB_DEBUG half of mm/slub.c; user guide: docs/debugging.md).
//
// How it works:
//  - Per cache, the flags F (consistency checks), Z (red zones), P
//    (poison) and U (owner tracking) change the layout as SLUB's
//    calculate_sizes() does (slab.h's SlabLayout): a left red zone before
//    each object, a right one after it, the free pointer moved out of the
//    object (P or a constructor), two tracks, padding. Linux's bytes:
//    0x6b/0xa5 in a free object, 0xbb/0xcc in inactive/active red zones,
//    0x5a in padding.
//  - A debug cache has no per-CPU slabs: slub.cc's slow paths see the flags
//    under the cache lock and send every allocation to SlabDebugAlloc and
//    every free to SlabDebugFreeLocked, which work on the slabs' own
//    freelists under the lock (as SLUB 6.2+ does for debug caches). So the
//    free objects of a slab are exactly its freelist, and a double free is
//    found by walking it (on_freelist).
//  - Checks: on alloc the object's poison, red zones, padding and free
//    pointer (check_object with SLUB_RED_INACTIVE); on free the pointer,
//    double free, red zones and padding (SLUB_RED_ACTIVE); the checker
//    (SlabDebugValidate, `check`) both on every object.
//  - Every finding is a SLUB-shaped report (debug_report.h) followed by a
//    FIX line, and mmlab goes on safely: overwritten bytes are restored
//    (then, unlike SLUB, which leaks such an object, the operation goes
//    ahead: its bytes are good again), a bad free is refused, a corrupt
//    free pointer ends the freelist there ("Isolate corrupted freechain";
//    the objects behind it stay allocated for good, as in SLUB).
//  - Debug bytes are read with plain loads and written with volatile
//    stores (never memset), so KASAN, when the kernel has it, neither trips
//    over mmlab's own metadata nor misses the caller's accesses: objects are
//    unpoisoned on allocation and poisoned on free, red zones stay poisoned.
#include "check.h"
#include "core.h"
#include "debug_report.h"
#include "log.h"
#include "slab.h"

namespace mmlab {

namespace {

constexpr uint32_t kTrackAlloc = 0;
constexpr uint32_t kTrackFree = 1;
// Most object bytes a report dumps (SLUB: a page).
constexpr uint32_t kObjectDumpMax = 256;

uint8_t* Byte(const void* p, long off = 0) {
  return const_cast<uint8_t*>(static_cast<const uint8_t*>(p)) + off;
}

bool FreeptrOutside(const SlabLayout& l) { return l.offset >= l.inuse; }

SlabTrack* TrackOf(const KmemCache& s, const void* obj, uint32_t which) {
  return reinterpret_cast<SlabTrack*>(Byte(obj, s.layout.info_end)) + which;
}

uint32_t CurrentCpu() {
  uint32_t cpu;
  unsigned long flags = mmlab_host_local_irq_save(&cpu);
  mmlab_host_local_irq_restore(flags);
  return cpu;
}

void SetTrack(KmemCache& s, const void* obj, uint32_t which, uintptr_t caller) {
  if (!(s.debug_flags & MMLAB_SLAB_STORE_USER))
    return;
  SlabTrack t = {caller, mmlab_host_now_ns(), CurrentCpu(), mmlab_host_current_pid()};
  volatile uint8_t* dst = Byte(TrackOf(s, obj, which));
  const uint8_t* src = reinterpret_cast<const uint8_t*>(&t);
  for (size_t i = 0; i < sizeof(t); i++)
    dst[i] = src[i];
}

SlabTrack GetTrack(const KmemCache& s, const void* obj, uint32_t which) {
  SlabTrack t;
  const volatile uint8_t* src = Byte(TrackOf(s, obj, which));
  uint8_t* dst = reinterpret_cast<uint8_t*>(&t);
  for (size_t i = 0; i < sizeof(t); i++)
    dst[i] = src[i];
  return t;
}

void PrintTrack(const char* what, const SlabTrack& t, uint64_t now) {
  if (!t.addr)
    return;
  DebugLine("%s in %s age=%lu cpu=%u pid=%d", what, SymText(t.addr).buf,
            (now - t.when_ns) / 1000000, t.cpu, t.pid);
}

void PrintSlabInfo(const KmemCache& s, const Page* slab) {
  DebugLine("Slab 0x%s objects=%u used=%u fp=0x%s flags=slab%s", PtrText(slab).buf,
            s.ObjectsIn(slab), slab->inuse, PtrText(s.SlabFreelist(slab)).buf,
            slab->order ? "|head" : "");
}

// Where p lies in its slab, in bytes (SLUB's "@offset="): an offset, never
// an address, so reports stay free of raw pointers.
uint64_t SlabOffset(const Page* slab, const void* p) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p) - KmemCache::SlabBase(slab));
}

// print_trailer()
void PrintTrailer(KmemCache& s, const Page* slab, const void* p) {
  const SlabLayout& l = s.layout;
  SlabDebugPrintTracking(s, p);
  PrintSlabInfo(s, slab);
  DebugLine("Object 0x%s @offset=%lu fp=0x%s", PtrText(p).buf, SlabOffset(slab, p),
            PtrText(s.FreePointer(const_cast<void*>(p))).buf);
  if (s.debug_flags & MMLAB_SLAB_RED_ZONE)
    DebugHexDump("Redzone  ", Byte(p, -static_cast<long>(l.red_left_pad)), l.red_left_pad);
  else if (SlabOffset(slab, p) >= 16)
    DebugHexDump("Bytes b4 ", Byte(p, -16), 16);
  DebugHexDump("Object   ", p, Min(l.object_size, kObjectDumpMax));
  if (s.debug_flags & MMLAB_SLAB_RED_ZONE)
    DebugHexDump("Redzone  ", Byte(p, l.object_size), l.inuse - l.object_size);
  const uint32_t end = l.size - l.red_left_pad;
  if (l.track_end != end)
    DebugHexDump("Padding  ", Byte(p, l.track_end), end - l.track_end);
}

// object_err()
void ObjectErr(KmemCache& s, const Page* slab, const void* obj, const char* reason) {
  DebugBug(s.name, "%s", reason);
  PrintTrailer(s, slab, obj);
}

bool ValidPointer(const KmemCache& s, const Page* slab, const void* p) {
  if (!p)
    return true;
  const uintptr_t off = reinterpret_cast<uintptr_t>(p) - s.ObjBase(slab);
  return off % s.layout.size == 0 && off / s.layout.size < s.ObjectsIn(slab);
}

enum class Kind { kRedzone, kPoison };

// check_bytes_and_report() + restore_bytes()
bool CheckBytes(KmemCache& s, const Page* slab, const void* obj, const char* what, void* start,
                uint8_t value, size_t bytes, Kind kind) {
  const size_t first = FirstMismatch(start, value, bytes);
  if (first == bytes)
    return true;
  const size_t end = LastMismatchEnd(start, value, bytes);
  uint8_t* fault = Byte(start, static_cast<long>(first));
  uint64_t& counter = kind == Kind::kPoison ? s.dbg_poison_overwrites : s.dbg_redzone_overwrites;
  WriteOnce(counter, counter + 1);
  const bool print = DebugReportBegin();
  if (print) {
    DebugBug(s.name, "%s overwritten", what);
    DebugLine("0x%s-0x%s @offset=%lu. First byte 0x%x instead of 0x%x", PtrText(fault).buf,
              PtrText(Byte(start, static_cast<long>(end) - 1)).buf,
              SlabOffset(slab, fault),
              *static_cast<volatile uint8_t*>(fault), value);
    PrintTrailer(s, slab, obj);
  }
  FillBytes(fault, value, end - first);
  if (print)
    DebugFix(s.name, "Restoring %s 0x%s-0x%s=0x%x", what, PtrText(fault).buf,
             PtrText(Byte(start, static_cast<long>(end) - 1)).buf, value);
  return false;
}

// check_object(): val is kRedActive for an allocated object, kRedInactive
// for a free one. Reports and restores every bad area.
bool CheckObject(KmemCache& s, const Page* slab, void* p, uint8_t val) {
  const SlabLayout& l = s.layout;
  const uint32_t f = s.debug_flags;
  bool ok = true;
  if (f & MMLAB_SLAB_RED_ZONE) {
    ok &= CheckBytes(s, slab, p, "Left Redzone", Byte(p, -static_cast<long>(l.red_left_pad)),
                     val, l.red_left_pad, Kind::kRedzone);
    ok &= CheckBytes(s, slab, p, "Right Redzone", Byte(p, l.object_size), val,
                     l.inuse - l.object_size, Kind::kRedzone);
  } else if ((f & MMLAB_SLAB_POISON) && l.object_size < l.inuse) {
    ok &= CheckBytes(s, slab, p, "Alignment padding", Byte(p, l.object_size), kPoisonInuse,
                     l.inuse - l.object_size, Kind::kRedzone);
  }
  if (f & MMLAB_SLAB_POISON) {
    if (val != kRedActive && !s.ctor) {
      ok &= CheckBytes(s, slab, p, "Poison", p, kPoisonFree, l.object_size - 1, Kind::kPoison);
      ok &= CheckBytes(s, slab, p, "End Poison", Byte(p, l.object_size - 1), kPoisonEnd, 1,
                       Kind::kPoison);
    }
    const uint32_t end = l.size - l.red_left_pad;
    ok &= CheckBytes(s, slab, p, "Object padding", Byte(p, l.track_end), kPoisonInuse,
                     end - l.track_end, Kind::kRedzone);
  }
  if (!FreeptrOutside(l) && val == kRedActive)
    return ok;  // the free pointer is inside the object, which is in use
  if (!ValidPointer(s, slab, s.FreePointer(p))) {
    WriteOnce(s.dbg_freelist_corrupt, s.dbg_freelist_corrupt + 1);
    if (DebugReportBegin()) {
      ObjectErr(s, slab, p, "Freepointer corrupt");
      DebugFix(s.name, "Isolate corrupted freechain");
    }
    s.SetFreePointer(p, nullptr);
    ok = false;
  }
  return ok;
}

// init_object()
void InitObject(const SlabLayout& l, uint32_t f, bool has_ctor, void* p, uint8_t val) {
  if (f & MMLAB_SLAB_RED_ZONE) {
    FillBytes(Byte(p, -static_cast<long>(l.red_left_pad)), val, l.red_left_pad);
    FillBytes(Byte(p, l.object_size), val, l.inuse - l.object_size);
  }
  if ((f & MMLAB_SLAB_POISON) && !has_ctor && val == kRedInactive) {
    FillBytes(p, kPoisonFree, l.object_size - 1);
    FillBytes(Byte(p, l.object_size - 1), kPoisonEnd, 1);
  }
}

// KASAN's view after the core wrote: the object as `object`, the rest of
// the stride (red zones, free pointer, tracks, padding) as a red zone.
void KasanMark(const SlabLayout& l, const void* p, bool allocated) {
  // The stride starts granule-aligned (the slab is page-aligned and the
  // stride a multiple of the word size); the object's end need not be.
  mmlab_host_poison(Byte(p, -static_cast<long>(l.red_left_pad)), l.size,
                    MMLAB_HOST_POISON_REDZONE);
  if (allocated)
    mmlab_host_unpoison(p, l.object_size);
  else
    mmlab_host_poison(p, l.object_size, MMLAB_HOST_POISON_SLAB_FREE);
}

// Whether the NUL-terminated cache name is exactly name[0..len).
bool NameIs(const char* cache, const char* name, size_t len) {
  size_t i = 0;
  for (; i < len; i++)
    if (cache[i] != name[i])
      return false;
  return cache[i] == '\0';
}

// Recounts a slab's free objects after its freelist was cut: what is not
// on the freelist is in use (for good, for the isolated ones).
void RecountInuse(KmemCache& s, Page* slab) {
  uint32_t nfree = 0;
  const uint32_t objects = s.ObjectsIn(slab);
  for (void* p = s.SlabFreelist(slab); p && nfree < objects; p = s.FreePointer(p))
    nfree++;
  slab->inuse = static_cast<uint16_t>(objects - nfree);
}

// on_freelist(): whether obj is on slab's freelist; a corrupt or looping
// chain is reported and cut where it goes wrong.
bool OnFreelist(KmemCache& s, Page* slab, const void* obj) {
  const uint32_t objects = s.ObjectsIn(slab);
  void* fp = s.SlabFreelist(slab);
  uint32_t nr = 0;
  while (fp && nr <= objects) {
    if (fp == obj)
      return true;
    void* next = s.FreePointer(fp);
    if (!ValidPointer(s, slab, next) || nr == objects) {
      WriteOnce(s.dbg_freelist_corrupt, s.dbg_freelist_corrupt + 1);
      if (DebugReportBegin()) {
        ObjectErr(s, slab, fp, nr == objects ? "Freechain loops" : "Freechain corrupt");
        DebugFix(s.name, "Isolate corrupted freechain");
      }
      s.SetFreePointer(fp, nullptr);
      RecountInuse(s, slab);
      return false;
    }
    fp = next;
    nr++;
  }
  return false;
}

// Takes a free object off the first partial slab, with the checks of
// alloc_debug_processing(). Lock held.
void* TakeLocked(KmemCache& s, mmlab_gfp_t gfp) MMLAB_REQUIRES(s.lock) {
  uint32_t order[kSlabNodes];
  const uint32_t nr = s.NodeOrder(gfp, order);
  for (uint32_t i = 0; i < nr; i++) {
    KmemCacheNode& n = s.node[order[i]];
    for (;;) {
      Page* slab = n.partial.front();
      if (!slab)
        break;
      void* obj = s.SlabFreelist(slab);
      if ((s.debug_flags & MMLAB_SLAB_CONSISTENCY_CHECKS) && slab->inuse >= s.ObjectsIn(slab)) {
        if (DebugReportBegin()) {
          DebugBug(s.name, "inuse %u >= max %u on the partial list", slab->inuse,
                   s.ObjectsIn(slab));
          PrintSlabInfo(s, slab);
          DebugFix(s.name, "Object count fixed");
        }
        RecountInuse(s, slab);
      }
      if (obj) {
        CheckObject(s, slab, obj, kRedInactive);  // may cut the chain after obj
        s.SetSlabFreelist(slab, s.FreePointer(obj));
        slab->inuse++;
      }
      if (!s.SlabFreelist(slab)) {
        // Full - or the chain was cut: what it isolated counts as in use.
        slab->inuse = static_cast<uint16_t>(s.ObjectsIn(slab));
        SlabList::Remove(slab);
        n.nr_partial--;
        n.full.PushBack(slab);
        n.nr_full++;
      }
      if (obj)
        return obj;
    }
  }
  return nullptr;
}

// The object is now the caller's: active red zones, the track, KASAN.
void* FinishAlloc(KmemCache& s, void* obj, uintptr_t caller) {
  SetTrack(s, obj, kTrackAlloc, caller);
  InitObject(s.layout, s.debug_flags, s.ctor != nullptr, obj, kRedActive);
  KasanMark(s.layout, obj, true);
  return obj;
}

}  // namespace

void SlabDebugLayout(uint32_t flags, bool has_ctor, SlabLayout* l) {
  constexpr uint32_t kPtr = sizeof(void*);
  uint32_t size = (l->object_size + kPtr - 1) & ~(kPtr - 1);
  if ((flags & MMLAB_SLAB_RED_ZONE) && size == l->object_size)
    size += kPtr;  // a right red zone of at least a word
  l->inuse = size;
  if ((flags & MMLAB_SLAB_POISON) || has_ctor ||
      ((flags & MMLAB_SLAB_RED_ZONE) && l->object_size < kPtr)) {
    l->offset = size;  // outside: the object may be poisoned or constructed
    size += kPtr;
  } else {
    l->offset = (l->object_size / 2) & ~(kPtr - 1);
  }
  l->info_end = size;
  if (flags & MMLAB_SLAB_STORE_USER)
    size += 2 * sizeof(SlabTrack);
  l->track_end = size;
  l->red_left_pad = 0;
  if (flags & MMLAB_SLAB_RED_ZONE) {
    l->red_left_pad = (kPtr + l->align - 1) & ~(l->align - 1);
    size += l->red_left_pad;
  }
  l->size = (size + l->align - 1) & ~(l->align - 1);
}

void SlabDebugInitObject(const SlabLayout& l, uint32_t flags, bool has_ctor, void* obj) {
  if (flags & MMLAB_SLAB_STORE_USER)
    FillBytes(Byte(obj, l.info_end), 0, 2 * sizeof(SlabTrack));
  InitObject(l, flags, has_ctor, obj, kRedInactive);
}

void SlabDebugFlagsText(uint32_t flags, char (&buf)[8]) {
  size_t k = 0;
  if (flags & MMLAB_SLAB_CONSISTENCY_CHECKS)
    buf[k++] = 'F';
  if (flags & MMLAB_SLAB_RED_ZONE)
    buf[k++] = 'Z';
  if (flags & MMLAB_SLAB_POISON)
    buf[k++] = 'P';
  if (flags & MMLAB_SLAB_STORE_USER)
    buf[k++] = 'U';
  if (!k)
    buf[k++] = '-';
  buf[k] = '\0';
}

bool SlabDebugParseFlags(const char* p, size_t n, uint32_t* out, char* bad) {
  uint32_t f = 0;
  for (size_t i = 0; i < n; i++) {
    switch (p[i] | 0x20) {
      case 'f':
        f |= MMLAB_SLAB_CONSISTENCY_CHECKS;
        break;
      case 'z':
        f |= MMLAB_SLAB_RED_ZONE;
        break;
      case 'p':
        f |= MMLAB_SLAB_POISON;
        break;
      case 'u':
        f |= MMLAB_SLAB_STORE_USER;
        break;
      default:
        if (p[i] == '-' && n == 1)
          break;
        *bad = p[i];
        return false;
    }
  }
  *out = f;
  return true;
}

void SlabDebugPrintTracking(KmemCache& s, const void* obj) {
  if (!(s.debug_flags & MMLAB_SLAB_STORE_USER))
    return;
  const uint64_t now = mmlab_host_now_ns();
  PrintTrack("Allocated", GetTrack(s, obj, kTrackAlloc), now);
  PrintTrack("Freed", GetTrack(s, obj, kTrackFree), now);
}

void SlabDebugPrintLeak(KmemCache& s, const Page* slab, const void* obj) {
  DebugLine("Object 0x%s @offset=%lu", PtrText(obj).buf, SlabOffset(slab, obj));
  SlabDebugPrintTracking(s, obj);
}

void* SlabDebugAlloc(KmemCache* s, mmlab_gfp_t gfp, uintptr_t caller) {
  for (;;) {
    void* obj = nullptr;
    bool debug;
    uint32_t cpu;
    unsigned long flags = mmlab_host_local_irq_save(&cpu);
    {
      IrqSaveGuard guard(s->lock);
      debug = s->debug_flags != 0;
      if (debug) {
        obj = TakeLocked(*s, gfp);
        if (obj)
          FinishAlloc(*s, obj, caller);
      }
    }
    if (obj)
      PerCpuAdd(s->stats.at(cpu)->allocs, 1);
    mmlab_host_local_irq_restore(flags);
    if (!debug)
      return s->policy->Alloc(*s, gfp, caller);  // cache_debug turned it off meanwhile
    if (obj)
      return obj;
    uint64_t gen;
    Page* slab = s->NewSlab(gfp, &gen);
    if (!slab)
      return nullptr;
    bool stale;
    {
      IrqSaveGuard guard(s->lock);
      stale = gen != s->layout_gen || !s->debug_flags;
      if (!stale) {
        s->AccountNewSlab(slab);
        KmemCacheNode& n = s->node[KmemCache::NodeOf(slab)];
        n.partial.PushFront(slab);
        n.nr_partial++;
      }
    }
    if (stale)
      KmemCache::FreeSlab(*s->core, slab);
  }
}

size_t SlabDebugAllocBulk(KmemCache* s, mmlab_gfp_t gfp, size_t nr, void** objs,
                          uintptr_t caller) {
  for (size_t i = 0; i < nr; i++) {
    objs[i] = SlabDebugAlloc(s, gfp, caller);
    if (!objs[i]) {
      // All or nothing: what was taken goes back through the free path,
      // which unregisters each from kmemleak (host.h): register them first.
      for (size_t j = 0; j < i; j++) {
        mmlab_host_object_alloc(objs[j], s->layout.object_size, gfp);
        mmlab_core_kmem_cache_free(s->handle(), objs[j], caller);
      }
      for (size_t j = 0; j < nr; j++)
        objs[j] = nullptr;
      return 0;
    }
  }
  return nr;
}

void SlabDebugFreeLocked(KmemCache& s, Page* slab, void* obj, uintptr_t caller,
                         SlabList* discard) {
  auto refuse = [&]() {
    WriteOnce(s.dbg_bad_frees, s.dbg_bad_frees + 1);
  };
  if (slab->slab_cache != &s) {
    refuse();
    if (DebugReportBegin()) {
      DebugBug(s.name, "Attempt to free object(0x%s) outside of slab", PtrText(obj).buf);
      DebugFix(s.name, "Object at 0x%s not freed", PtrText(obj).buf);
    }
    return;
  }
  if (!ValidPointer(s, slab, obj)) {
    refuse();
    if (DebugReportBegin()) {
      DebugBug(s.name, "Invalid object pointer 0x%s", PtrText(obj).buf);
      PrintSlabInfo(s, slab);
      DebugFix(s.name, "Object at 0x%s not freed", PtrText(obj).buf);
    }
    return;
  }
  if (OnFreelist(s, slab, obj) || slab->inuse == 0) {
    refuse();
    if (DebugReportBegin()) {
      ObjectErr(s, slab, obj, "Object already free");
      DebugFix(s.name, "Object at 0x%s not freed", PtrText(obj).buf);
    }
    return;
  }
  CheckObject(s, slab, obj, kRedActive);  // restores what it reports
  SetTrack(s, obj, kTrackFree, caller);
  InitObject(s.layout, s.debug_flags, s.ctor != nullptr, obj, kRedInactive);
  // kmemleak forgets it, KASAN marks it freed (as the plain path does),
  // then the red zones and tracks around it stay red zone.
  mmlab_host_object_free(obj, s.layout.object_size);
  KasanMark(s.layout, obj, false);
  const bool was_full = !s.SlabFreelist(slab);
  s.SetFreePointer(obj, s.SlabFreelist(slab));
  s.SetSlabFreelist(slab, obj);
  slab->inuse--;
  if (was_full || slab->inuse == 0) {
    KmemCacheNode& n = s.node[KmemCache::NodeOf(slab)];
    SlabList::Remove(slab);
    if (was_full)
      n.nr_full--;
    else
      n.nr_partial--;
    s.PutSlab(slab, false, discard);
  }
}

uint64_t SlabDebugValidate(KmemCache& s) {
  if (!s.debug_flags)
    return 0;
  const uint64_t before = ReadOnce(s.dbg_poison_overwrites) + ReadOnce(s.dbg_redzone_overwrites) +
                          ReadOnce(s.dbg_freelist_corrupt);
  for (KmemCacheNode& n : s.node) {
    SlabList* lists[2] = {&n.partial, &n.full};
    for (SlabList* list : lists) {
      for (const ListNode* l = list->sentinel()->next; l != list->sentinel(); l = l->next) {
        Page* slab = SlabList::Owner(l);
        const uint32_t objects = s.ObjectsIn(slab);
        uint64_t free_map[64] = {};  // the first 4096 objects
        OnFreelist(s, slab, nullptr);  // cuts a corrupt chain first
        uint32_t k = 0;
        for (void* p = s.SlabFreelist(slab); p && k < objects; p = s.FreePointer(p), k++) {
          const uint32_t idx = static_cast<uint32_t>(
              (reinterpret_cast<uintptr_t>(p) - s.ObjBase(slab)) /
              s.layout.size);
          if (idx < 4096)
            free_map[idx / 64] |= uint64_t{1} << (idx % 64);
          CheckObject(s, slab, p, kRedInactive);
        }
        for (uint32_t i = 0; i < objects && i < 4096; i++)
          if (!(free_map[i / 64] & (uint64_t{1} << (i % 64))))
            CheckObject(s, slab, s.ObjectAt(slab, i), kRedActive);
        RecountInuse(s, slab);  // a cut chain isolated objects
      }
    }
  }
  return ReadOnce(s.dbg_poison_overwrites) + ReadOnce(s.dbg_redzone_overwrites) +
         ReadOnce(s.dbg_freelist_corrupt) - before;
}

mmlab_status SlabSetDebug(KmemCache& s, uint32_t debug_flags, TextBuf* why) {
  mmlab_host_might_sleep();
  debug_flags &= kSlabDebugFlags;
  if (debug_flags && !s.policy->SupportsDebug()) {
    Report(why, MMLAB_LOG_WARN, "cache_debug %s: the %s policy has no debugging", s.name,
           s.policy->name());
    return MMLAB_EINVAL;
  }
  if (ReadOnce(s.zombie)) {
    Report(why, MMLAB_LOG_WARN, "cache_debug %s: the cache is destroyed (objects left)", s.name);
    return MMLAB_EBUSY;
  }
  const uint32_t flags = (s.flags & ~kSlabDebugFlags) | debug_flags;
  SlabLayout layout;
  if (!Layout(s.layout.object_size, s.layout.align, flags, s.ctor != nullptr,
              s.core->chunk_order(), &layout) ||
      layout.order > s.core->chunk_order()) {
    Report(why, MMLAB_LOG_WARN, "cache_debug %s: objects with these flags do not fit a slab",
           s.name);
    return MMLAB_EINVAL;
  }
  s.policy->FlushAll(s, false);
  SlabList discard;
  uint64_t slabs = 0, live = 0;
  {
    IrqSaveGuard guard(s.lock);
    s.TakeEmptySlabs(&discard);
    for (KmemCacheNode& n : s.node) {
      slabs += n.nr_slabs;
      for (const ListNode* l = n.partial.sentinel()->next; l != n.partial.sentinel(); l = l->next)
        live += SlabList::Owner(l)->inuse;
      for (const ListNode* l = n.full.sentinel()->next; l != n.full.sentinel(); l = l->next)
        live += SlabList::Owner(l)->inuse;
    }
    if (!slabs) {
      s.layout = layout;
      s.flags = flags;
      WriteOnce(s.debug_flags, debug_flags);
      s.layout_gen++;
    }
  }
  FreeDiscardedSlabs(*s.core, &discard);
  if (slabs) {
    Report(why, MMLAB_LOG_WARN,
           "cache_debug %s: the cache is not empty (%lu objects in use, %lu slabs); free "
           "them first",
           s.name, live, slabs);
    return MMLAB_EBUSY;
  }
  return MMLAB_OK;
}

mmlab_status SlabSetDefaultDebug(Core& core, const char* spec, size_t len, TextBuf* why) {
  // Linux's slub_debug=<flags>[,<cache>]: "" alone means every flag.
  size_t comma = 0;
  while (comma < len && spec[comma] != ',')
    comma++;
  uint32_t flags = kSlabDebugFlags;
  char bad = 0;
  if (comma && !SlabDebugParseFlags(spec, comma, &flags, &bad)) {
    Report(why, MMLAB_LOG_WARN, "slub_debug: option '%c' unknown (use F, Z, P, U or -)",
           bad >= 0x20 && bad < 0x7f ? bad : '?');
    return MMLAB_EINVAL;
  }
  const char* name = comma < len ? spec + comma + 1 : "";
  const size_t name_len = comma < len ? len - comma - 1 : 0;
  if (name_len >= MMLAB_KMEM_CACHE_NAME_MAX || (comma < len && name_len == 0)) {
    Report(why, MMLAB_LOG_WARN, "slub_debug: cache name must be 1..%u bytes",
           MMLAB_KMEM_CACHE_NAME_MAX - 1);
    return MMLAB_EINVAL;
  }
  for (size_t i = 0; i < name_len; i++) {
    if (name[i] == ',' || name[i] <= ' ' || name[i] >= 0x7f) {
      Report(why, MMLAB_LOG_WARN, "slub_debug: one cache name only, printable, no spaces");
      return MMLAB_EINVAL;
    }
  }
  SlabAllocator& a = core.slab();
  {
    IrqSaveGuard guard(a.list_lock);
    a.default_debug = flags;
    __builtin_memset(a.default_debug_name, 0, sizeof(a.default_debug_name));
    __builtin_memcpy(a.default_debug_name, name, name_len);
  }
  // The kmalloc caches (which live as long as the core) it names get it
  // now if they are empty; other caches from their next creation.
  uint32_t switched = 0, busy = 0;
  for (KmemCache* s : a.kmalloc_caches) {
    // A named setting is about that cache only; the others keep theirs.
    if (!s || (name_len && !NameIs(s->name, name, name_len)) ||
        SlabDefaultDebugFor(core, s->name) == ReadOnce(s->debug_flags))
      continue;
    if (SlabSetDebug(*s, SlabDefaultDebugFor(core, s->name), nullptr) == MMLAB_OK)
      switched++;
    else
      busy++;
  }
  char letters[8];
  SlabDebugFlagsText(flags, letters);
  if (why) {
    why->Clear();
    why->Append("slub_debug %s%s%s: %u kmalloc caches switched, %u busy (not empty)", letters,
                name_len ? "," : "", a.default_debug_name, switched, busy);
  }
  return MMLAB_OK;
}

void SlabDefaultDebugText(Core& core, TextBuf* out) {
  SlabAllocator& a = core.slab();
  IrqSaveGuard guard(a.list_lock);
  char letters[8];
  SlabDebugFlagsText(a.default_debug, letters);
  out->Append("%s%s%s\n", letters, a.default_debug_name[0] ? "," : "", a.default_debug_name);
}

uint32_t SlabDefaultDebugFor(Core& core, const char* name) {
  SlabAllocator& a = core.slab();
  IrqSaveGuard guard(a.list_lock);
  if (!a.default_debug_name[0])
    return a.default_debug;
  for (size_t i = 0; i < MMLAB_KMEM_CACHE_NAME_MAX; i++) {
    if (a.default_debug_name[i] != name[i])
      return 0;
    if (!name[i])
      break;
  }
  return a.default_debug;
}

}  // namespace mmlab

// --- the C ABI ---------------------------------------------------------------------

extern "C" {

enum mmlab_status mmlab_core_slub_debug_set(struct mmlab_core* core, const char* spec, size_t len,
                                            char* result, size_t result_cap) {
  if (!MMLAB_ASSERT(core && (spec || !len) && result && result_cap))
    return MMLAB_EINVAL;
  mmlab::TextBuf why(result, result_cap);
  // One line; a trailing newline (echo) is not part of it.
  while (len && (spec[len - 1] == '\n' || spec[len - 1] == ' '))
    len--;
  if (len > 64) {
    mmlab::Report(&why, MMLAB_LOG_WARN, "slub_debug: %lu bytes is too long",
                  static_cast<uint64_t>(len));
    return MMLAB_EINVAL;
  }
  return mmlab::SlabSetDefaultDebug(*mmlab::Core::From(core), spec, len, &why);
}

void mmlab_core_slub_debug_show(struct mmlab_core* core, mmlab_emit_fn emit, void* ctx) {
  if (!MMLAB_ASSERT(core && emit))
    return;
  char line[64];
  mmlab::TextBuf text(line, sizeof(line));
  mmlab::SlabDefaultDebugText(*mmlab::Core::From(core), &text);
  emit(ctx, text.c_str(), text.len());
}

}  // extern "C"

