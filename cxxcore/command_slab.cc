// SPDX-License-Identifier: GPL-2.0
//
// command_slab.cc - the control file's slab and kmalloc commands (see
// docs/debugfs-slab.md): cache_create/destroy/alloc/alloc_bulk/free/
// shrink/info, kmalloc, kmalloc_array, krealloc, kfree, and obj_fill /
// obj_check for any control object.
//
// Objects are control objects (objects.h): allocated with no lock held
// after a reservation, then committed; freed or touched after ObjTake.
// Caches made here get a control id (slab.h); user space never sees an
// address.
#include "command_parse.h"
#include "kmalloc.h"
#include "page_debug.h"
#include "slab.h"

namespace mmlab {

namespace {

constexpr uint64_t kMaxBulk = 1024;
constexpr uint32_t kAllKinds = KindBit(ObjKind::kSlab) | KindBit(ObjKind::kKmalloc) |
                               KindBit(ObjKind::kKvmalloc) | KindBit(ObjKind::kVmalloc) |
                               KindBit(ObjKind::kMempool);

bool NameOk(Slice name) {
  if (name.n == 0 || name.n >= MMLAB_KMEM_CACHE_NAME_MAX)
    return false;
  for (size_t i = 0; i < name.n; i++) {
    char c = name.p[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok)
      return false;
  }
  return !EndsInReportWord(name);
}

struct FlagName {
  const char* name;
  uint32_t flag;
};
constexpr FlagName kSlabFlags[] = {
    {"HWCACHE_ALIGN", MMLAB_SLAB_HWCACHE_ALIGN}, {"DMA32", MMLAB_SLAB_CACHE_DMA32},
    {"RECLAIM_ACCOUNT", MMLAB_SLAB_RECLAIM_ACCOUNT}, {"ACCOUNT", MMLAB_SLAB_ACCOUNT},
    {"NO_MERGE", MMLAB_SLAB_NO_MERGE}, {"FAILSLAB", MMLAB_SLAB_FAILSLAB},
};

mmlab_status ParseSlabFlags(Reply* reply, Slice text, uint32_t* out) {
  *out = 0;
  size_t i = 0;
  while (i <= text.n) {
    size_t j = i;
    while (j < text.n && text.p[j] != '|')
      j++;
    Slice word = {text.p + i, j - i};
    if (word.n > 5 && Slice{word.p, 5}.Is("SLAB_"))
      word = {word.p + 5, word.n - 5};
    bool known = false;
    for (const FlagName& f : kSlabFlags) {
      if (word.Is(f.name)) {
        *out |= f.flag;
        known = true;
      }
    }
    if (!known)
      return reply->Fail(MMLAB_EINVAL, "cache_create: unknown flag '%s'", Quoted(word).buf);
    i = j + 1;
  }
  return MMLAB_OK;
}

// A control cache pinned for the length of one command, so a concurrent
// cache_destroy cannot free it under us (it answers EBUSY instead).
class CacheRef {
 public:
  explicit CacheRef(Core& core) : core_(core) {}
  ~CacheRef() {
    if (s_)
      SlabPutControlCache(core_, s_);
  }
  MMLAB_NO_COPY(CacheRef);

  mmlab_status Get(Reply* reply, const char* cmd, uint64_t id) {
    s_ = SlabGetControlCache(core_, id);
    if (!s_)
      return reply->Fail(MMLAB_ENOENT, "%s: no cache %lu", cmd, id);
    return MMLAB_OK;
  }
  KmemCache* get() const { return s_; }

 private:
  Core& core_;
  KmemCache* s_ = nullptr;
};

mmlab_status DoCacheCreate(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "cache_create", args, nargs,
                              kKeyName | kKeySize | kKeyAlign | kKeyFlags | kKeyCtor | kKeyDebug |
                                  kKeyPolicy,
                              kKeyName | kKeySize, 0, &a);
  if (st != MMLAB_OK)
    return st;
  if (!NameOk(a.name))
    return reply->Fail(MMLAB_EINVAL,
                       "cache_create: name '%s' must be 1..31 of [A-Za-z0-9_.-], not ending in "
                       "BUG, WARNING or another kernel report word",
                       Quoted(a.name).buf);
  uint32_t flags = 0;
  if ((a.seen & kKeyFlags) && (st = ParseSlabFlags(reply, a.flags, &flags)) != MMLAB_OK)
    return st;
  if (a.seen & kKeyDebug) {
    uint32_t debug;
    char bad = 0;
    if (!SlabDebugParseFlags(a.debug.p, a.debug.n, &debug, &bad) || a.debug.n == 0)
      return reply->Fail(MMLAB_EINVAL, "cache_create: debug='%s': letters of FZPU, or -",
                         Quoted(a.debug).buf);
    flags |= debug;
  }
  mmlab_ctor_fn ctor = nullptr;
  if (a.seen & kKeyCtor) {
    if (!a.ctor.Is("fill"))
      return reply->Fail(MMLAB_EINVAL, "cache_create: ctor '%s' unknown (only fill)",
                         Quoted(a.ctor).buf);
    ctor = CtorFill;
  }
  if (a.size > kSlabMaxSize || a.align > MMLAB_PAGE_SIZE)
    return reply->Fail(MMLAB_EINVAL, "cache_create: size %lu / align %lu out of range", a.size,
                       a.align);
  SlabPolicy* policy = nullptr;  // the default (slab_policy)
  if ((a.seen & kKeyPolicy) && !(policy = SlabPolicyByName(a.policy.p, a.policy.n)))
    return reply->Fail(MMLAB_EINVAL, "cache_create: policy '%s' unknown (slub, slab or slob)",
                       Quoted(a.policy).buf);
  char name[MMLAB_KMEM_CACHE_NAME_MAX];
  __builtin_memcpy(name, a.name.p, a.name.n);
  name[a.name.n] = '\0';
  KmemCache* s = nullptr;
  st = KmemCacheCreate(core, name, static_cast<uint32_t>(a.size), static_cast<uint32_t>(a.align),
                       flags, ctor, false, &s, reply->text(), policy);
  if (st != MMLAB_OK)
    return reply->Failed(st);
  uint64_t id = SlabAssignControlId(core, s);
  const SlabLayout& l = s->layout;
  // The policy is in cache_info (this line's format predates policies).
  return reply->Ok("cache %lu name %s objsize %u size %u align %u order %u objperslab %u waste %u",
                   id, s->name, l.object_size, l.size, l.align, l.order, l.objects, l.waste);
}

mmlab_status DoCacheDestroy(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st =
      ParseArgs(reply, "cache_destroy", args, nargs, kKeyCache, kKeyCache, kKeyCache, &a);
  if (st != MMLAB_OK)
    return st;
  bool pinned = false;
  st = SlabControlDestroy(core, a.cache, &pinned);
  if (st == MMLAB_ENOENT)
    return reply->Fail(st, "cache_destroy: no cache %lu", a.cache);
  if (st == MMLAB_EBUSY && pinned)
    return reply->Fail(st, "cache_destroy: cache %lu is in use by another command or a pool",
                       a.cache);
  if (st == MMLAB_EBUSY)
    return reply->Fail(
        st, "cache_destroy: cache %lu has live objects (listed in the log); slabs kept", a.cache);
  if (st != MMLAB_OK)
    return reply->Fail(st, "cache_destroy: cache %lu not destroyed", a.cache);
  return reply->Ok("cache %lu destroyed", a.cache);
}

// A control cache by id (pinned) or a kmalloc cache by name (those live as
// long as the core): what cache_debug and bug work on.
mmlab_status FindDebugCache(Core& core, Reply* reply, const char* cmd, const Args& a, CacheRef* ref,
                            KmemCache** out) {
  if ((a.seen & kKeyCache) && (a.seen & kKeyName))
    return reply->Fail(MMLAB_EINVAL, "%s: give cache= or name=, not both", cmd);
  if (a.seen & kKeyCache) {
    mmlab_status st = ref->Get(reply, cmd, a.cache);
    *out = ref->get();
    return st;
  }
  if (!(a.seen & kKeyName))
    return reply->Fail(MMLAB_EINVAL, "%s: cache=<id> or name=kmalloc-<size> required", cmd);
  for (KmemCache* s : core.slab().kmalloc_caches) {
    if (s && a.name.Is(s->name)) {
      *out = s;
      return MMLAB_OK;
    }
  }
  return reply->Fail(MMLAB_ENOENT, "%s: no kmalloc cache '%s' (only those go by name)", cmd,
                     Quoted(a.name).buf);
}

// cache_debug cache=<id>|name=kmalloc-<n> flags=FZPU|-
mmlab_status DoCacheDebug(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "cache_debug", args, nargs, kKeyCache | kKeyName | kKeyFlags,
                              kKeyFlags, 0, &a);
  if (st != MMLAB_OK)
    return st;
  uint32_t debug;
  char bad = 0;
  if (!SlabDebugParseFlags(a.flags.p, a.flags.n, &debug, &bad) || a.flags.n == 0)
    return reply->Fail(MMLAB_EINVAL, "cache_debug: flags='%s': letters of FZPU, or -",
                       Quoted(a.flags).buf);
  CacheRef ref(core);
  KmemCache* s = nullptr;
  if ((st = FindDebugCache(core, reply, "cache_debug", a, &ref, &s)) != MMLAB_OK)
    return st;
  st = SlabSetDebug(*s, debug, reply->text());
  if (st != MMLAB_OK)
    return reply->Failed(st);
  char letters[8];
  SlabDebugFlagsText(debug, letters);
  const SlabLayout& l = s->layout;
  return reply->Ok("cache %s debug %s objsize %u size %u order %u objperslab %u", s->name,
                   letters, l.object_size, l.size, l.order, l.objects);
}

// cache_policy cache=<id>|id=<id> policy=slub|slab|slob: an empty control
// cache nobody else holds changes policy (docs/slab-policies.md). kmalloc
// caches take theirs at load (slab_policy=), when nobody uses them yet.
mmlab_status DoCachePolicy(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "cache_policy", args, nargs, kKeyCache | kKeyPolicy,
                              kKeyCache | kKeyPolicy, 0, &a);
  if (st != MMLAB_OK)
    return st;
  SlabPolicy* policy = SlabPolicyByName(a.policy.p, a.policy.n);
  if (!policy)
    return reply->Fail(MMLAB_EINVAL, "cache_policy: policy '%s' unknown (slub, slab or slob)",
                       Quoted(a.policy).buf);
  CacheRef ref(core);
  if ((st = ref.Get(reply, "cache_policy", a.cache)) != MMLAB_OK)
    return st;
  KmemCache* s = ref.get();
  uint32_t users;
  {
    IrqSaveGuard guard(core.slab().list_lock);
    users = s->control_users;
  }
  if (users > 1)
    return reply->Fail(MMLAB_EBUSY, "cache_policy: cache %lu is in use by another command or a "
                       "pool", a.cache);
  const char* old = s->policy->name();
  st = SlabSetPolicy(*s, *policy, reply->text());
  if (st != MMLAB_OK)
    return reply->Failed(st);
  return reply->Ok("cache %lu name %s policy %s (was %s)", a.cache, s->name, policy->name(), old);
}

}  // namespace
}  // namespace mmlab

// The call site the objects of `bug` are charged to: "Allocated in
// mmlab_debug_bug_site+0x0/0x.. [mmlab]" in a report.
extern "C" void mmlab_debug_bug_site(void);
extern "C" [[gnu::noinline, gnu::used]] void mmlab_debug_bug_site(void) { __asm__ volatile(""); }

namespace mmlab {
namespace {

// bug page_use_after_free: a page freed, written, then allocated again
// until the page allocator's poison check (page_poison=1) reports it.
mmlab_status BugPageUseAfterFree(Core& core, Reply* reply) {
  if (!mmlab_core_page_poison(core.handle()))
    return reply->Fail(MMLAB_EINVAL, "bug: page_poison is off (module parameter page_poison=1)");
  const uint64_t before = PagePoisonOverwrites(core);
  Page* page = core.AllocPages(MMLAB_GFP_KERNEL, 0);
  if (!page)
    return reply->Fail(MMLAB_ENOMEM, "bug: no page");
  volatile uint8_t* p = reinterpret_cast<uint8_t*>(Core::PageAddress(page));
  MMLAB_ASSERT(core.FreePages(page, 0) == MMLAB_OK);
  for (uint32_t i = 0; i < 8; i++)
    p[64 + i] = static_cast<uint8_t>(0x40 + i);
  // The per-CPU list hands the page back first (unless the task moved to
  // another CPU meanwhile: then a later allocation there finds it).
  Page* again[8] = {};
  uint32_t n = 0;
  while (n < 8 && PagePoisonOverwrites(core) == before) {
    again[n] = core.AllocPages(MMLAB_GFP_KERNEL, 0);
    if (!again[n])
      break;
    n++;
  }
  for (uint32_t i = 0; i < n; i++)
    MMLAB_ASSERT(core.FreePages(again[i], 0) == MMLAB_OK);
  return reply->Ok("bug: wrote 8 bytes into a freed page, then allocated; %lu caught",
                   PagePoisonOverwrites(core) - before);
}

Page* SlabOf(Core& core, const void* p) {
  uint32_t cpu;
  unsigned long flags = mmlab_host_local_irq_save(&cpu);
  Page* page = VirtToPageIrqsOff(core, p);
  Page* slab = page && page->State() == PageState::kAllocTail ? ReadOnce(page->slab_head) : page;
  mmlab_host_local_irq_restore(flags);
  return slab;
}

// bug <use_after_free|double_free|redzone|bad_free> cache=<id>|name=kmalloc-<n>
// Test only (docs/debugging.md): makes the mistake a buggy caller would,
// through the real paths, so the debug checks report it; leaves the cache
// as it was.
mmlab_status DoBug(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st =
      ParseArgs(reply, "bug", args, nargs, kKeyType | kKeyCache | kKeyName, kKeyType, kKeyType, &a);
  if (st != MMLAB_OK)
    return st;
  enum { kUaf, kDouble, kRedzone, kBadFree } kind;
  if (a.type.Is("page_use_after_free")) {
    if (a.seen & (kKeyCache | kKeyName))
      return reply->Fail(MMLAB_EINVAL, "bug: page_use_after_free takes no cache");
    return BugPageUseAfterFree(core, reply);
  }
  if (a.type.Is("use_after_free"))
    kind = kUaf;
  else if (a.type.Is("double_free"))
    kind = kDouble;
  else if (a.type.Is("redzone"))
    kind = kRedzone;
  else if (a.type.Is("bad_free"))
    kind = kBadFree;
  else
    return reply->Fail(MMLAB_EINVAL,
                       "bug: '%s' unknown (use_after_free, double_free, redzone, bad_free, "
                       "page_use_after_free)",
                       Quoted(a.type).buf);
  CacheRef ref(core);
  KmemCache* s = nullptr;
  if ((st = FindDebugCache(core, reply, "bug", a, &ref, &s)) != MMLAB_OK)
    return st;
  const uint32_t f = ReadOnce(s->debug_flags);
  if (kind == kUaf && (!(f & MMLAB_SLAB_POISON) || s->ctor))
    return reply->Fail(MMLAB_EINVAL, "bug: cache %s is not poisoned (needs P, no ctor)", s->name);
  if (kind == kRedzone && !(f & MMLAB_SLAB_RED_ZONE))
    return reply->Fail(MMLAB_EINVAL, "bug: cache %s has no red zones (needs Z)", s->name);
  if ((kind == kBadFree || kind == kUaf) && !f)
    return reply->Fail(MMLAB_EINVAL, "bug: cache %s has no debug flags", s->name);
  if (s->layout.objects < 2)
    return reply->Fail(MMLAB_EINVAL, "bug: cache %s has one object per slab", s->name);
  const uintptr_t site = reinterpret_cast<uintptr_t>(&mmlab_debug_bug_site);
  auto free_obj = [&](void* p) {
    if (s->kmalloc)
      mmlab_core_kfree(core.handle(), p, site);
    else
      mmlab_core_kmem_cache_free(s->handle(), p, site);
  };
  // `keep` holds the slab of `obj` (a neighbour: a slab's objects are
  // handed out in address order, first from the slab obj came from).
  auto alloc = [&]() {
    return KmemCacheAllocCaller(s, MMLAB_GFP_KERNEL, site, s->layout.object_size, false);
  };
  void* keep = alloc();
  void* obj = alloc();
  for (int tries = 0; obj && keep && SlabOf(core, obj) != SlabOf(core, keep) && tries < 4;
       tries++) {
    // obj took the last object of keep's slab, or the reverse: try again
    // from the slab the free puts first.
    free_obj(obj);
    obj = alloc();
  }
  if (!obj || !keep || SlabOf(core, obj) != SlabOf(core, keep)) {
    if (obj)
      free_obj(obj);
    if (keep)
      free_obj(keep);
    return reply->Fail(obj && keep ? MMLAB_EBUSY : MMLAB_ENOMEM,
                       "bug: cache %s: could not get two objects of one slab", s->name);
  }
  const uint64_t before = ReadOnce(s->dbg_poison_overwrites) + ReadOnce(s->dbg_redzone_overwrites) +
                          ReadOnce(s->dbg_bad_frees) + ReadOnce(s->bad_frees) +
                          ReadOnce(core.slab().bad_kfrees);
  volatile uint8_t* bytes = static_cast<uint8_t*>(obj);
  const char* what = "";
  switch (kind) {
    case kUaf: {
      free_obj(obj);
      // What a caller still holding the pointer does; the core is not
      // instrumented, so only mmlab's poison check can see it.
      for (uint32_t i = 0; i < Min(8u, s->layout.object_size); i++)
        bytes[i] = static_cast<uint8_t>(0x40 + i);
      {
        IrqSaveGuard guard(s->lock);
        SlabDebugValidate(*s);  // what `check` runs: finds, reports, restores
      }
      what = "wrote 8 bytes into a freed object, then validated the cache";
      break;
    }
    case kDouble:
      free_obj(obj);
      free_obj(obj);
      what = "freed an object twice";
      break;
    case kRedzone:
      bytes[s->layout.object_size] = 0x00;  // one byte past the end
      free_obj(obj);
      what = "wrote one byte past an object, then freed it";
      break;
    case kBadFree:
      free_obj(const_cast<uint8_t*>(bytes) + 8);
      free_obj(obj);
      what = "freed a pointer 8 bytes into an object";
      break;
  }
  free_obj(keep);
  const uint64_t after = ReadOnce(s->dbg_poison_overwrites) + ReadOnce(s->dbg_redzone_overwrites) +
                         ReadOnce(s->dbg_bad_frees) + ReadOnce(s->bad_frees) +
                         ReadOnce(core.slab().bad_kfrees);
  return reply->Ok("bug: cache %s: %s; %lu caught", s->name, what, after - before);
}

struct CacheAllocCall {
  KmemCache* s;
  mmlab_gfp_t gfp;
  void* obj;
};

void RunCacheAlloc(void* p) {
  CacheAllocCall* c = static_cast<CacheAllocCall*>(p);
  c->obj = mmlab_core_kmem_cache_alloc(c->s->handle(), c->gfp, 0);
}

// Runs fn(arg) in ctx. A gfp that may sleep is refused in an atomic context,
// as `alloc` and `mempool_alloc` refuse it (Linux: might_sleep()'s "sleeping
// function called from invalid context"; found by the VM fuzzer on the
// debug kernel, where kmalloc context=timer with the default GFP_KERNEL
// reached might_sleep in a timer).
mmlab_status RunIn(Reply* reply, const char* cmd, mmlab_host_context ctx, mmlab_gfp_t gfp,
                   void (*fn)(void*), void* arg) {
  if (ctx == MMLAB_HOST_CTX_PROCESS) {
    fn(arg);
    return MMLAB_OK;
  }
  if (gfp & MMLAB___GFP_DIRECT_RECLAIM)
    return reply->Fail(MMLAB_EINVAL,
                       "%s: gfp may sleep (__GFP_DIRECT_RECLAIM) and cannot run in context %s; "
                       "use GFP_ATOMIC or GFP_NOWAIT",
                       cmd, ctx == MMLAB_HOST_CTX_IRQS_OFF ? "irqoff" : "timer");
  if (mmlab_host_run_in_context(ctx, fn, arg) != 0)
    return reply->Fail(MMLAB_EINVAL, "%s: cannot run in that context here", cmd);
  return MMLAB_OK;
}

mmlab_status DoCacheAlloc(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "cache_alloc", args, nargs, kKeyCache | kKeyGfp | kKeyContext,
                              kKeyCache, kKeyCache, &a);
  CacheRef ref(core);
  if (st != MMLAB_OK || (st = ref.Get(reply, "cache_alloc", a.cache)) != MMLAB_OK)
    return st;
  KmemCache* s = ref.get();
  if (ReadOnce(s->zombie))
    return reply->Fail(MMLAB_EINVAL, "cache_alloc: cache %lu is destroyed (objects left)", a.cache);
  if ((st = core.ObjReserve(1, reply->text())) != MMLAB_OK)
    return reply->Failed(st);
  CacheAllocCall call = {s, a.gfp, nullptr};
  st = RunIn(reply, "cache_alloc", a.context, a.gfp, RunCacheAlloc, &call);
  if (st == MMLAB_OK && !call.obj)
    st = reply->Fail(MMLAB_ENOMEM, "cache_alloc: cache %lu: no memory", a.cache);
  if (st != MMLAB_OK) {
    core.ObjUnreserve(1);
    return st;
  }
  Page* slab;
  {
    uint32_t cpu;
    unsigned long flags = mmlab_host_local_irq_save(&cpu);
    slab = SlabFindObject(core, s, call.obj, nullptr, "cache_alloc", nullptr);
    mmlab_host_local_irq_restore(flags);
  }
  uint64_t pfn = slab ? Core::PageToPfn(slab) : 0;
  uint64_t offset = slab ? reinterpret_cast<uintptr_t>(call.obj) - KmemCache::SlabBase(slab) : 0;
  CtlObject obj = {0, ObjKind::kSlab, call.obj, call.obj, s->layout.object_size, s, a.cache};
  uint64_t id = core.ObjCommit(&obj);
  return reply->Ok("object %lu cache %lu pfn 0x%lx offset %lu", id, a.cache, pfn, offset);
}

mmlab_status DoCacheAllocBulk(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "cache_alloc_bulk", args, nargs,
                              kKeyCache | kKeyCount | kKeyGfp, kKeyCache | kKeyCount, 0, &a);
  CacheRef ref(core);
  if (st != MMLAB_OK || (st = ref.Get(reply, "cache_alloc_bulk", a.cache)) != MMLAB_OK)
    return st;
  KmemCache* s = ref.get();
  if (a.count == 0 || a.count > kMaxBulk)
    return reply->Fail(MMLAB_EINVAL, "cache_alloc_bulk: count %lu out of range 1..%lu", a.count,
                       kMaxBulk);
  if (ReadOnce(s->zombie))
    return reply->Fail(MMLAB_EINVAL, "cache_alloc_bulk: cache %lu is destroyed (objects left)",
                       a.cache);
  uint32_t n = static_cast<uint32_t>(a.count);
  if ((st = core.ObjReserve(n, reply->text())) != MMLAB_OK)
    return reply->Failed(st);
  size_t bytes = sizeof(void*) * n;
  void** objs = static_cast<void**>(mmlab_host_meta_alloc(bytes, 1));
  if (!objs) {
    core.ObjUnreserve(n);
    return reply->Fail(MMLAB_ENOMEM, "cache_alloc_bulk: no memory for the array");
  }
  size_t got = mmlab_core_kmem_cache_alloc_bulk(s->handle(), a.gfp, n, objs, 0);
  if (got != n) {
    mmlab_host_meta_free(objs, bytes);
    core.ObjUnreserve(n);
    return reply->Fail(MMLAB_ENOMEM,
                       "cache_alloc_bulk: cache %lu: no memory for %u objects (none taken)",
                       a.cache, n);
  }
  struct Batch {
    void** objs;
    KmemCache* s;
    uint64_t cache;
  } batch = {objs, s, a.cache};
  const uint64_t first = core.ObjCommitEach(
      n,
      [](void* ctx, uint32_t i, CtlObject* out) {
        const Batch* b = static_cast<const Batch*>(ctx);
        *out = {0, ObjKind::kSlab, b->objs[i], b->objs[i], b->s->layout.object_size, b->s,
                b->cache};
      },
      &batch);
  mmlab_host_meta_free(objs, bytes);
  return reply->Ok("objects %u first %lu last %lu", n, first, first + n - 1);
}

mmlab_status TakeObject(Core& core, Reply* reply, const char* cmd, const Slice* args,
                        size_t nargs, uint32_t kinds, CtlObject* obj) {
  Args a;
  mmlab_status st = ParseArgs(reply, cmd, args, nargs, kKeyObject, kKeyObject, kKeyObject, &a);
  if (st != MMLAB_OK)
    return st;
  st = core.ObjTake(a.object, kinds, obj, reply->text());
  return st == MMLAB_OK ? st : reply->Failed(st);
}

mmlab_status DoCacheFree(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  CtlObject obj;
  mmlab_status st =
      TakeObject(core, reply, "cache_free", args, nargs, KindBit(ObjKind::kSlab), &obj);
  if (st != MMLAB_OK)
    return st;
  mmlab_core_kmem_cache_free(static_cast<mmlab_kmem_cache*>(obj.owner), obj.ptr, 0);
  core.ObjDone();
  return reply->Ok("freed object %lu", obj.id);
}

mmlab_status DoCacheShrink(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st =
      ParseArgs(reply, "cache_shrink", args, nargs, kKeyCache, kKeyCache, kKeyCache, &a);
  CacheRef ref(core);
  if (st != MMLAB_OK || (st = ref.Get(reply, "cache_shrink", a.cache)) != MMLAB_OK)
    return st;
  KmemCache* s = ref.get();
  uint64_t pages = mmlab_core_kmem_cache_shrink(s->handle());
  return reply->Ok("cache %lu shrink: %lu pages returned", a.cache, pages);
}

mmlab_status DoCacheInfo(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st =
      ParseArgs(reply, "cache_info", args, nargs, kKeyCache, kKeyCache, kKeyCache, &a);
  CacheRef ref(core);
  if (st != MMLAB_OK || (st = ref.Get(reply, "cache_info", a.cache)) != MMLAB_OK)
    return st;
  KmemCache* s = ref.get();
  reply->Ok("cache %lu ", a.cache);
  SlabCacheInfo(*s, reply->text());
  return MMLAB_OK;
}

struct KmallocCall {
  Core* core;
  size_t size;
  mmlab_gfp_t gfp;
  TextBuf* why;
  void* p;
};

void RunKmalloc(void* p) {
  KmallocCall* c = static_cast<KmallocCall*>(p);
  c->p = Kmalloc(*c->core, c->size, c->gfp, 0, c->why);
}

mmlab_status ReplyKmalloc(Core& core, Reply* reply, uint64_t id, uint64_t size, void* p,
                          const char* tail) {
  KmallocWhere w = {};
  KmallocLookup(core, p, &w);
  if (w.cache)
    return reply->Ok("object %lu size %lu ksize %lu cache %s%s", id, size,
                     static_cast<uint64_t>(w.ksize), w.cache, tail);
  return reply->Ok("object %lu size %lu ksize %lu cache pages order %u%s", id, size,
                   static_cast<uint64_t>(w.ksize), w.order, tail);
}

mmlab_status KmallocCommon(Core& core, Reply* reply, const char* cmd, uint64_t size,
                           mmlab_gfp_t gfp, mmlab_host_context ctx) {
  mmlab_status st = core.ObjReserve(1, reply->text());
  if (st != MMLAB_OK)
    return reply->Failed(st);
  KmallocCall call = {&core, static_cast<size_t>(size), gfp, reply->text(), nullptr};
  st = RunIn(reply, cmd, ctx, gfp, RunKmalloc, &call);
  if (st == MMLAB_OK && !call.p)
    st = reply->Failed(MMLAB_ENOMEM);
  if (st != MMLAB_OK) {
    core.ObjUnreserve(1);
    return st;
  }
  CtlObject obj = {0, ObjKind::kKmalloc, call.p, size ? call.p : nullptr, size, nullptr, 0};
  uint64_t id = core.ObjCommit(&obj);
  return ReplyKmalloc(core, reply, id, size, call.p, "");
}

mmlab_status DoKmalloc(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "kmalloc", args, nargs, kKeySize | kKeyGfp | kKeyContext,
                              kKeySize, kKeySize, &a);
  if (st != MMLAB_OK)
    return st;
  return KmallocCommon(core, reply, "kmalloc", a.size, a.gfp, a.context);
}

mmlab_status DoKmallocArray(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "kmalloc_array", args, nargs,
                              kKeyCount | kKeySize | kKeyGfp, kKeyCount | kKeySize, 0, &a);
  if (st != MMLAB_OK)
    return st;
  uint64_t bytes;
  if (__builtin_mul_overflow(a.count, a.size, &bytes) || bytes != static_cast<size_t>(bytes)) {
    // Through the real kmalloc_array, so its report and counter are what
    // the test sees.
    KmallocArray(core, static_cast<size_t>(a.count), static_cast<size_t>(a.size), a.gfp, 0,
                 reply->text());
    return reply->Fail(MMLAB_EINVAL, "kmalloc_array: %lu * %lu overflows", a.count, a.size);
  }
  return KmallocCommon(core, reply, "kmalloc_array", bytes, a.gfp, MMLAB_HOST_CTX_PROCESS);
}

mmlab_status DoKrealloc(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "krealloc", args, nargs, kKeyObject | kKeySize | kKeyGfp,
                              kKeyObject | kKeySize, 0, &a);
  if (st != MMLAB_OK)
    return st;
  CtlObject obj;
  if ((st = core.ObjTake(a.object, KindBit(ObjKind::kKmalloc), &obj, reply->text())) != MMLAB_OK)
    return reply->Failed(st);
  void* q = Krealloc(core, obj.ptr, static_cast<size_t>(a.size), a.gfp, 0, reply->text());
  if (a.size == 0) {
    core.ObjDone();
    return reply->Ok("object %lu size 0 freed", obj.id);
  }
  if (!q) {
    core.ObjPutBack(obj);
    return reply->Failed(MMLAB_ENOMEM);
  }
  bool moved = q != obj.ptr;
  obj.ptr = q;
  obj.mem = q;
  obj.size = a.size;
  core.ObjPutBack(obj);
  return ReplyKmalloc(core, reply, obj.id, a.size, q, moved ? " moved" : " in-place");
}

mmlab_status DoKfree(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  CtlObject obj;
  mmlab_status st =
      TakeObject(core, reply, "kfree", args, nargs, KindBit(ObjKind::kKmalloc), &obj);
  if (st != MMLAB_OK)
    return st;
  Kfree(core, obj.ptr, 0, nullptr);
  core.ObjDone();
  return reply->Ok("freed object %lu", obj.id);
}

mmlab_status DoObjFill(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "obj_fill", args, nargs, kKeyObject | kKeyByte,
                              kKeyObject | kKeyByte, 0, &a);
  if (st != MMLAB_OK)
    return st;
  if (a.byte > 0xff)
    return reply->Fail(MMLAB_EINVAL, "obj_fill: byte %lu out of range 0..255", a.byte);
  CtlObject obj;
  if ((st = core.ObjTake(a.object, kAllKinds, &obj, reply->text())) != MMLAB_OK)
    return reply->Failed(st);
  if (obj.size)
    __builtin_memset(obj.mem, static_cast<int>(a.byte), obj.size);
  core.ObjPutBack(obj);
  return reply->Ok("object %lu filled %lu bytes", obj.id, obj.size);
}

mmlab_status DoObjCheck(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "obj_check", args, nargs, kKeyObject | kKeyByte | kKeyLen,
                              kKeyObject | kKeyByte, 0, &a);
  if (st != MMLAB_OK)
    return st;
  if (a.byte > 0xff)
    return reply->Fail(MMLAB_EINVAL, "obj_check: byte %lu out of range 0..255", a.byte);
  CtlObject obj;
  if ((st = core.ObjTake(a.object, kAllKinds, &obj, reply->text())) != MMLAB_OK)
    return reply->Failed(st);
  uint64_t len = (a.seen & kKeyLen) ? a.len : obj.size;
  if (len > obj.size) {
    core.ObjPutBack(obj);
    return reply->Fail(MMLAB_EINVAL, "obj_check: len %lu is beyond object %lu's %lu bytes", len,
                       obj.id, obj.size);
  }
  const uint8_t* mem = static_cast<const uint8_t*>(obj.mem);
  for (uint64_t i = 0; i < len; i++) {
    if (mem[i] != a.byte) {
      uint32_t got = mem[i];
      core.ObjPutBack(obj);
      return reply->Fail(MMLAB_EUCLEAN, "object %lu: byte 0x%02x at offset %lu, expected 0x%02lx",
                         obj.id, got, i, a.byte);
    }
  }
  core.ObjPutBack(obj);
  return reply->Ok("ok %lu bytes", len);
}

}  // namespace

const CommandDef kSlabCommands[] = {
    {"cache_create", DoCacheCreate},
    {"cache_destroy", DoCacheDestroy},
    {"cache_alloc", DoCacheAlloc},
    {"cache_alloc_bulk", DoCacheAllocBulk},
    {"cache_free", DoCacheFree},
    {"cache_shrink", DoCacheShrink},
    {"cache_info", DoCacheInfo},
    {"kmalloc", DoKmalloc},
    {"kmalloc_array", DoKmallocArray},
    {"krealloc", DoKrealloc},
    {"kfree", DoKfree},
    {"obj_fill", DoObjFill},
    {"obj_check", DoObjCheck},
    {"cache_debug", DoCacheDebug},
    {"cache_policy", DoCachePolicy},
    {"bug", DoBug},  // test only: docs/debugging.md
};
const size_t kNrSlabCommands = ArraySize(kSlabCommands);

}  // namespace mmlab
