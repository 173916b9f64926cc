// SPDX-License-Identifier: GPL-2.0
//
// command_pool.cc - the control file's mempool, vmalloc and kvmalloc
// commands (docs/debugfs.md).
//
// How it works: each command parses its arguments with ParseArgs, reserves
// a control object id (objects.h) before allocating, allocates with no lock
// held and commits the object, or takes the object out of the table before
// freeing it. A mempool is pinned by MempoolGet for as long as a command
// uses it, so mempool_destroy (EBUSY) and free_all (skips it) cannot free
// it under a sleeping mempool_alloc; the debugfs file being open keeps the
// module itself loaded meanwhile.
#include "command_parse.h"
#include "gfp.h"
#include "mempool.h"
#include "slab.h"
#include "vmalloc.h"

namespace mmlab {

namespace {

const char* ContextText(mmlab_host_context ctx) {
  for (const ContextName& c : kContexts) {
    if (c.ctx == ctx)
      return c.name;
  }
  return "?";
}

// A gfp that may sleep cannot run in an atomic context (might_sleep).
mmlab_status CheckContext(Reply* reply, const char* cmd, const Args& a) {
  if (a.context == MMLAB_HOST_CTX_PROCESS || !(a.gfp & MMLAB___GFP_DIRECT_RECLAIM))
    return MMLAB_OK;
  return reply->Fail(MMLAB_EINVAL,
                     "%s: gfp may sleep (__GFP_DIRECT_RECLAIM) and cannot run in context %s; "
                     "use GFP_ATOMIC or GFP_NOWAIT",
                     cmd, ContextText(a.context));
}

mmlab_status CheckSize(Reply* reply, const char* cmd, Core& core, uint64_t size) {
  const uint64_t capacity_bytes = core.capacity_pages() << MMLAB_PAGE_SHIFT;
  if (size >= 1 && size <= capacity_bytes)
    return MMLAB_OK;
  return reply->Fail(MMLAB_EINVAL, "%s: size %lu out of range 1..%lu (the capacity)", cmd, size,
                     capacity_bytes);
}

// --- kvmalloc / vmalloc ------------------------------------------------------

mmlab_status DoKvmalloc(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st =
      ParseArgs(reply, "kvmalloc", args, nargs, kKeySize | kKeyGfp, kKeySize, 0, &a);
  if (st != MMLAB_OK || (st = CheckSize(reply, "kvmalloc", core, a.size)) != MMLAB_OK)
    return st;
  if ((st = core.ObjReserve(1, reply->text())) != MMLAB_OK)
    return reply->Failed(st);
  void* p = mmlab_core_kvmalloc(core.handle(), a.size, a.gfp, 0);
  if (!p) {
    core.ObjUnreserve(1);
    return reply->Fail(MMLAB_ENOMEM, "kvmalloc: no memory for %lu bytes (kmalloc and vmalloc failed)",
                       a.size);
  }
  const bool vmalloced = mmlab_core_is_vmalloc_addr(core.handle(), p);
  CtlObject obj = {0, ObjKind::kKvmalloc, p, p, a.size, nullptr, 0};
  uint64_t id = core.ObjCommit(&obj);
  return reply->Ok("object %lu size %lu via %s", id, a.size, vmalloced ? "vmalloc" : "kmalloc");
}

mmlab_status DoVmallocCommon(Core& core, Reply* reply, const char* cmd, mmlab_gfp_t extra,
                             const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, cmd, args, nargs, kKeySize | kKeyGfp, kKeySize, 0, &a);
  if (st != MMLAB_OK || (st = CheckSize(reply, cmd, core, a.size)) != MMLAB_OK)
    return st;
  if ((st = core.ObjReserve(1, reply->text())) != MMLAB_OK)
    return reply->Failed(st);
  void* p = Vmalloc(core, a.size, a.gfp | extra, 0, reply->text());
  if (!p) {
    core.ObjUnreserve(1);
    return reply->Failed(MMLAB_ENOMEM);
  }
  uint32_t pages = VmallocPages(core, p);
  CtlObject obj = {0, ObjKind::kVmalloc, p, p, a.size, nullptr, 0};
  uint64_t id = core.ObjCommit(&obj);
  return reply->Ok("object %lu pages %u size %lu", id, pages, a.size);
}

mmlab_status DoVmalloc(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  return DoVmallocCommon(core, reply, "vmalloc", 0, args, nargs);
}

mmlab_status DoVzalloc(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  return DoVmallocCommon(core, reply, "vzalloc", MMLAB___GFP_ZERO, args, nargs);
}

// kvfree, vfree, mempool_free: take the object, free it, report.
mmlab_status DoFreeKind(Core& core, Reply* reply, const char* cmd, ObjKind kind,
                        const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, cmd, args, nargs, kKeyObject, kKeyObject, kKeyObject, &a);
  if (st != MMLAB_OK)
    return st;
  CtlObject obj;
  if ((st = core.ObjTake(a.object, KindBit(kind), &obj, reply->text())) != MMLAB_OK)
    return reply->Failed(st);
  CtlObjectFree(core.handle(), obj);
  core.ObjDone();
  if (kind == ObjKind::kMempool)
    return reply->Ok("freed object %lu pool %lu", obj.id, obj.owner_id);
  return reply->Ok("freed object %lu", obj.id);
}

mmlab_status DoKvfree(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  return DoFreeKind(core, reply, "kvfree", ObjKind::kKvmalloc, args, nargs);
}

mmlab_status DoVfree(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  return DoFreeKind(core, reply, "vfree", ObjKind::kVmalloc, args, nargs);
}

mmlab_status DoMempoolFree(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  return DoFreeKind(core, reply, "mempool_free", ObjKind::kMempool, args, nargs);
}

// --- mempools -------------------------------------------------------------------

mmlab_status DoMempoolCreate(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "mempool_create", args, nargs,
                              kKeyName | kKeyMinNr | kKeyType | kKeyCache | kKeySize | kKeyOrder,
                              kKeyName | kKeyMinNr | kKeyType, 0, &a);
  if (st != MMLAB_OK)
    return st;
  char name[MMLAB_MEMPOOL_NAME_MAX];
  bool name_ok = a.name.n >= 1 && a.name.n < sizeof(name);
  for (size_t i = 0; name_ok && i < a.name.n; i++) {
    char c = a.name.p[i];
    name_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
  }
  if (!name_ok || EndsInReportWord(a.name))
    return reply->Fail(MMLAB_EINVAL,
                       "mempool_create: name='%s': 1..%d letters, digits, '_', '-' or '.', "
                       "not ending in BUG, WARNING or another kernel report word",
                       Quoted(a.name).buf, MMLAB_MEMPOOL_NAME_MAX - 1);
  __builtin_memcpy(name, a.name.p, a.name.n);
  name[a.name.n] = '\0';
  if (a.min_nr > 0xffffffffu)
    return reply->Fail(MMLAB_EINVAL, "mempool_create: min_nr %lu is too large", a.min_nr);

  PoolType type;
  uint32_t wants;  // the one extra key the type needs
  if (a.type.Is("page")) {
    type = PoolType::kPage;
    wants = kKeyOrder;
  } else if (a.type.Is("kmalloc")) {
    type = PoolType::kKmalloc;
    wants = kKeySize;
  } else if (a.type.Is("slab")) {
    type = PoolType::kSlab;
    wants = kKeyCache;
  } else {
    return reply->Fail(MMLAB_EINVAL, "mempool_create: type='%s': not slab, kmalloc or page",
                       Quoted(a.type).buf);
  }
  const uint32_t extra = a.seen & (kKeyCache | kKeySize | kKeyOrder);
  if (extra != wants)
    return reply->Fail(MMLAB_EINVAL,
                       "mempool_create: type=%s takes %s (and no other of cache=, size=, order=)",
                       PoolTypeName(type),
                       wants == kKeyOrder ? "order=" : wants == kKeySize ? "size=" : "cache=");
  if (type == PoolType::kPage && a.order > core.chunk_order())
    return reply->Fail(MMLAB_EINVAL, "mempool_create: order %lu out of range 0..%u", a.order,
                       core.chunk_order());
  if (type == PoolType::kKmalloc &&
      (st = CheckSize(reply, "mempool_create", core, a.size)) != MMLAB_OK)
    return st;
  mmlab_kmem_cache* cache = nullptr;
  // Pinned for this command; the pool then holds one object of the cache,
  // which keeps cache_destroy from taking it away underneath.
  KmemCache* pinned = nullptr;
  if (type == PoolType::kSlab) {
    pinned = SlabGetControlCache(core, a.cache);
    if (!pinned)
      return reply->Fail(MMLAB_ENOENT, "mempool_create: no cache %lu", a.cache);
    cache = pinned->handle();
  }

  Mempool* pool = nullptr;
  st = MempoolCreateControl(core, name, static_cast<uint32_t>(a.min_nr), type, cache, a.cache,
                            a.size, static_cast<uint32_t>(a.order), &pool, reply->text());
  if (pinned)
    SlabPutControlCache(core, pinned);
  if (st != MMLAB_OK)
    return reply->Failed(st);
  return reply->Ok("pool %lu name %s type %s min_nr %lu", pool->id, name, PoolTypeName(type),
                   a.min_nr);
}

struct PoolAllocCall {
  Mempool* pool;
  mmlab_gfp_t gfp;
  void* element;
  PoolSource source;
};

void RunPoolAlloc(void* p) {
  PoolAllocCall* call = static_cast<PoolAllocCall*>(p);
  call->element = MempoolAlloc(call->pool, call->gfp, &call->source);
}

mmlab_status DoMempoolAlloc(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "mempool_alloc", args, nargs,
                              kKeyPool | kKeyGfp | kKeyContext, kKeyPool, 0, &a);
  if (st != MMLAB_OK || (st = CheckContext(reply, "mempool_alloc", a)) != MMLAB_OK)
    return st;
  if (a.gfp & MMLAB___GFP_ZERO)
    return reply->Fail(MMLAB_EINVAL,
                       "mempool_alloc: __GFP_ZERO is not supported (reserved elements are not "
                       "zeroed)");
  if ((st = core.ObjReserve(1, reply->text())) != MMLAB_OK)
    return reply->Failed(st);
  Mempool* pool = MempoolGet(core, a.pool);
  if (!pool) {
    core.ObjUnreserve(1);
    return reply->Fail(MMLAB_ENOENT, "mempool_alloc: no mempool %lu", a.pool);
  }
  // A sleeping gfp may block here until another writer frees an element.
  PoolAllocCall call = {pool, a.gfp, nullptr, PoolSource::kNone};
  int rc = mmlab_host_run_in_context(a.context, RunPoolAlloc, &call);
  if (!call.element) {
    MempoolPut(core, pool);
    core.ObjUnreserve(1);
    if (rc != 0)
      return reply->Fail(MMLAB_EINVAL, "mempool_alloc: context %s is not available",
                         ContextText(a.context));
    return reply->Fail(MMLAB_ENOMEM,
                       "mempool_alloc: pool %lu: the backing allocator failed and the reserve "
                       "is empty",
                       a.pool);
  }
  CtlObject obj = {0, ObjKind::kMempool, call.element, call.element, 0, ToHandle(pool), pool->id};
  switch (pool->type) {
    case PoolType::kPage:
      obj.mem = mmlab_core_page_address(core.handle(), static_cast<mmlab_page*>(call.element));
      obj.size = MMLAB_PAGE_SIZE << pool->order;
      break;
    case PoolType::kKmalloc:
      obj.size = pool->size;
      break;
    case PoolType::kSlab:
      obj.size = mmlab_core_kmem_cache_size(pool->cache);
      break;
    case PoolType::kCustom:
      break;
  }
  uint64_t id = core.ObjCommit(&obj);
  const uint64_t pool_id = pool->id;
  MempoolPut(core, pool);
  return reply->Ok("object %lu pool %lu from %s", id, pool_id,
                   call.source == PoolSource::kReserve ? "reserve" : "backing");
}

mmlab_status DoMempoolResize(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "mempool_resize", args, nargs, kKeyPool | kKeyMinNr,
                              kKeyPool | kKeyMinNr, 0, &a);
  if (st != MMLAB_OK)
    return st;
  if (a.min_nr > 0xffffffffu)
    return reply->Fail(MMLAB_EINVAL, "mempool_resize: min_nr %lu is too large", a.min_nr);
  Mempool* pool = MempoolGet(core, a.pool);
  if (!pool)
    return reply->Fail(MMLAB_ENOENT, "mempool_resize: no mempool %lu", a.pool);
  st = MempoolResize(pool, static_cast<uint32_t>(a.min_nr), reply->text());
  const uint32_t min_nr = MempoolMinNr(pool), curr_nr = MempoolCurrNr(pool);
  MempoolPut(core, pool);
  if (st != MMLAB_OK)
    return reply->Failed(st);
  return reply->Ok("pool %lu min_nr %u curr_nr %u", a.pool, min_nr, curr_nr);
}

mmlab_status DoMempoolDestroy(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st =
      ParseArgs(reply, "mempool_destroy", args, nargs, kKeyPool, kKeyPool, kKeyPool, &a);
  if (st != MMLAB_OK)
    return st;
  st = MempoolDestroyControl(core, a.pool, reply->text());
  if (st != MMLAB_OK)
    return reply->Failed(st);
  return reply->Ok("pool %lu destroyed", a.pool);
}

mmlab_status DoMempoolInfo(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "mempool_info", args, nargs, kKeyPool, kKeyPool, kKeyPool, &a);
  if (st != MMLAB_OK)
    return st;
  Mempool* pool = MempoolGet(core, a.pool);
  if (!pool)
    return reply->Fail(MMLAB_ENOENT, "mempool_info: no mempool %lu", a.pool);
  const uint32_t min_nr = MempoolMinNr(pool), curr_nr = MempoolCurrNr(pool);
  reply->Ok("pool %lu name %s type %s min_nr %u curr_nr %u out %lu waits %lu reserve_hits %lu "
            "backing_failures %lu",
            a.pool, pool->name, PoolTypeName(pool->type), min_nr, curr_nr, ReadOnce(pool->out),
            ReadOnce(pool->waits), ReadOnce(pool->reserve_hits),
            ReadOnce(pool->backing_failures));
  MempoolPut(core, pool);
  return MMLAB_OK;
}

}  // namespace

const CommandDef kPoolCommands[] = {
    {"kvmalloc", DoKvmalloc},
    {"kvfree", DoKvfree},
    {"vmalloc", DoVmalloc},
    {"vzalloc", DoVzalloc},
    {"vfree", DoVfree},
    {"mempool_create", DoMempoolCreate},
    {"mempool_alloc", DoMempoolAlloc},
    {"mempool_free", DoMempoolFree},
    {"mempool_resize", DoMempoolResize},
    {"mempool_destroy", DoMempoolDestroy},
    {"mempool_info", DoMempoolInfo},
};
const size_t kNrPoolCommands = ArraySize(kPoolCommands);

}  // namespace mmlab
