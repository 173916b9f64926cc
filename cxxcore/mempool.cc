// SPDX-License-Identifier: GPL-2.0
//
// mempool.cc - memory pools (Linux: mm/mempool.c).
//
// How it works:
//  - A pool keeps min_nr elements of its backing allocator (a slab cache,
//    kmalloc, pages of one order, or caller-supplied alloc/free) in a
//    reserve, all allocated at create with GFP_KERNEL.
//  - mempool_alloc asks the backing allocator first, with
//    gfp_temp = (gfp & ~(__GFP_DIRECT_RECLAIM|__GFP_IO)) | __GFP_NORETRY |
//    __GFP_NOWARN | __GFP_NOMEMALLOC: cheap and quiet. Only when that fails
//    does it take from the reserve. With the reserve empty it retries the
//    backing with the caller's full gfp (still NORETRY|NOWARN); then a
//    caller that may sleep waits on the pool's wait queue for up to 5 s
//    (io_schedule_timeout(5*HZ)) for an element to come back and starts
//    over - it never returns NULL. An atomic caller gets NULL.
//  - mempool_free refills the reserve while it holds fewer than min_nr and
//    wakes the waiters; otherwise the element goes back to the backing.
//  - The reserve is an array of element pointers from the metadata
//    allocator (at create and resize, which may sleep). Its lock is a
//    SpinLock taken with interrupts off and never held across the backing
//    allocator, the metadata allocator or a wait.
//  - mempool_destroy frees the reserve. Elements still out cannot be
//    freed by the pool: they are reported, the pool is kept (marked dead,
//    its late frees go to the backing) until the core goes, and
//    MMLAB_EBUSY is returned.
#include "mempool.h"

#include "core.h"
#include "log.h"
#include "slab.h"

namespace mmlab {

namespace {

// Far above any sensible reserve; keeps the element array small.
constexpr uint32_t kMaxMinNr = 1u << 16;

template <typename T>
void AtomicAdd(T& counter, T n) {
  __atomic_fetch_add(&counter, n, __ATOMIC_RELAXED);
}

bool NameValid(const char* name) {
  if (!name || !name[0])
    return false;
  for (size_t i = 0; i < MMLAB_MEMPOOL_NAME_MAX; i++) {
    if (name[i] == '\0')
      return true;
    if (name[i] <= ' ' || name[i] >= 0x7f)
      return false;
  }
  return false;
}

// The backing allocator (pool->alloc in Linux).
void* BackingAlloc(Mempool* pool, mmlab_gfp_t gfp) {
  switch (pool->type) {
    case PoolType::kCustom:
      return pool->alloc_fn(gfp, pool->pool_data);
    case PoolType::kSlab:
      return mmlab_core_kmem_cache_alloc(pool->cache, gfp, 0);
    case PoolType::kKmalloc:
      return mmlab_core_kmalloc(pool->core->handle(), pool->size, gfp, 0);
    case PoolType::kPage:
      return mmlab_core_alloc_pages(pool->core->handle(), gfp, pool->order);
  }
  return nullptr;
}

void BackingFree(Mempool* pool, void* element) {
  switch (pool->type) {
    case PoolType::kCustom:
      pool->free_fn(element, pool->pool_data);
      return;
    case PoolType::kSlab:
      mmlab_core_kmem_cache_free(pool->cache, element, 0);
      return;
    case PoolType::kKmalloc:
      mmlab_core_kfree(pool->core->handle(), element, 0);
      return;
    case PoolType::kPage:
      mmlab_core___free_pages(pool->core->handle(), static_cast<mmlab_page*>(element),
                              pool->order);
      return;
  }
}

void AddElementLocked(Mempool* pool, void* element) MMLAB_REQUIRES(pool->lock) {
  if (MMLAB_ASSERT(pool->curr_nr < pool->capacity))
    pool->elements[pool->curr_nr++] = element;
}

void* RemoveElementLocked(Mempool* pool) MMLAB_REQUIRES(pool->lock) {
  if (!MMLAB_ASSERT(pool->curr_nr > 0))
    return nullptr;
  void* element = pool->elements[--pool->curr_nr];
  pool->elements[pool->curr_nr] = nullptr;
  return element;
}

// Racy on purpose, like Linux's wakeup test: a waiter only needs a hint that
// trying again may succeed.
int ReserveNotEmpty(void* arg) MMLAB_NO_THREAD_SAFETY_ANALYSIS {
  return ReadOnce(static_cast<Mempool*>(arg)->curr_nr) != 0;
}

// mempool_free's unlocked test: READ_ONCE(curr_nr) < min_nr.
bool MayRefillRacy(Mempool* pool) MMLAB_NO_THREAD_SAFETY_ANALYSIS {
  const uint32_t curr = ReadOnce(pool->curr_nr), min = ReadOnce(pool->min_nr);
  return curr < min || (min == 0 && curr == 0);
}

// Empties the reserve into the backing allocator and sets min_nr to 0.
// min_nr drops only once the reserve is empty: the pool stays listed while
// it drains, and a concurrent check must keep seeing curr_nr <= min_nr.
void DrainReserve(Mempool* pool) {
  for (;;) {
    void* element;
    {
      IrqSaveGuard guard(pool->lock);
      pool->no_refill = true;
      if (pool->curr_nr == 0) {
        pool->min_nr = 0;
        return;
      }
      element = RemoveElementLocked(pool);
    }
    BackingFree(pool, element);
  }
}

// Frees a pool that is off the registry's list and owns no elements.
void FreePool(Mempool* pool) {
  void** elements;
  uint32_t capacity;
  {
    IrqSaveGuard guard(pool->lock);
    elements = pool->elements;
    capacity = pool->capacity;
    pool->elements = nullptr;
    pool->capacity = 0;
  }
  if (elements)
    mmlab_host_meta_free(elements, capacity * sizeof(void*));
  if (pool->cache_pin)
    mmlab_core_kmem_cache_free(pool->cache, pool->cache_pin, 0);
  if (pool->wait)
    mmlab_host_waitq_destroy(pool->wait);
  pool->lock.Destroy();
  MetaDelete(pool);
}

// *pin_taken: the pool owns cache_pin now (and frees it, even on failure).
mmlab_status PoolCreateInner(Core& core, const char* name, uint32_t min_nr, PoolType type,
                             mmlab_mempool_alloc_fn alloc_fn, mmlab_mempool_free_fn free_fn,
                             void* pool_data, mmlab_kmem_cache* cache, size_t size, uint32_t order,
                             bool control, uint64_t cache_id, void* cache_pin, bool* pin_taken,
                             Mempool** out, TextBuf* why) {
  *out = nullptr;
  mmlab_host_might_sleep();
  if (!NameValid(name)) {
    Report(why, MMLAB_LOG_WARN,
           "mempool_create: the name must be 1..%d printable characters without spaces",
           MMLAB_MEMPOOL_NAME_MAX - 1);
    return MMLAB_EINVAL;
  }
  if (min_nr > kMaxMinNr) {
    Report(why, MMLAB_LOG_WARN, "mempool_create %s: min_nr %u out of range 0..%u", name, min_nr,
           kMaxMinNr);
    return MMLAB_EINVAL;
  }
  switch (type) {
    case PoolType::kCustom:
      if (!alloc_fn || !free_fn) {
        Report(why, MMLAB_LOG_WARN, "mempool_create %s: no alloc or free function", name);
        return MMLAB_EINVAL;
      }
      break;
    case PoolType::kSlab:
      if (!cache) {
        Report(why, MMLAB_LOG_WARN, "mempool_create_slab_pool %s: no cache", name);
        return MMLAB_EINVAL;
      }
      // Linux: VM_BUG_ON(mem->ctor) in mempool_alloc_slab - an element
      // coming back through the reserve would not be in its constructed
      // state.
      if (KmemCache::From(cache)->ctor) {
        Report(why, MMLAB_LOG_WARN,
               "mempool_create_slab_pool %s: cache %s has a constructor (not supported)", name,
               KmemCache::From(cache)->name);
        return MMLAB_EINVAL;
      }
      break;
    case PoolType::kKmalloc:
      if (size == 0 || size > (MMLAB_PAGE_SIZE << core.chunk_order())) {
        Report(why, MMLAB_LOG_WARN,
               "mempool_create_kmalloc_pool %s: size %zu out of range 1..%lu", name, size,
               MMLAB_PAGE_SIZE << core.chunk_order());
        return MMLAB_EINVAL;
      }
      break;
    case PoolType::kPage:
      if (order > core.chunk_order()) {
        Report(why, MMLAB_LOG_WARN, "mempool_create_page_pool %s: order %u out of range 0..%u",
               name, order, core.chunk_order());
        return MMLAB_EINVAL;
      }
      break;
  }

  Mempool* pool = MetaNew<Mempool>();
  if (!pool) {
    Report(why, MMLAB_LOG_WARN, "mempool_create %s: no memory for the pool", name);
    return MMLAB_ENOMEM;
  }
  pool->core = &core;
  for (size_t i = 0; name[i]; i++)  // NameValid: NUL-terminated, short
    pool->name[i] = name[i];
  pool->type = type;
  pool->control = control;
  pool->order = order;
  pool->size = size;
  pool->cache = cache;
  pool->cache_id = cache_id;
  pool->cache_pin = cache_pin;  // from here on the pool frees it
  *pin_taken = true;
  pool->alloc_fn = alloc_fn;
  pool->free_fn = free_fn;
  pool->pool_data = pool_data;
  const uint32_t capacity = Max(min_nr, 1u);  // min_nr 0 still parks one (see MempoolFree)
  void** elements = static_cast<void**>(mmlab_host_meta_alloc(capacity * sizeof(void*), 1));
  pool->wait = mmlab_host_waitq_create("mmlab_mempool");
  if (!pool->lock.Init("mmlab_mempool") || !elements || !pool->wait) {
    if (elements)
      mmlab_host_meta_free(elements, capacity * sizeof(void*));
    FreePool(pool);
    Report(why, MMLAB_LOG_WARN, "mempool_create %s: no memory for the pool", name);
    return MMLAB_ENOMEM;
  }
  {
    IrqSaveGuard guard(pool->lock);
    pool->elements = elements;
    pool->capacity = capacity;
    pool->min_nr = min_nr;
  }
  // mempool_init_node: the whole reserve now, with GFP_KERNEL.
  for (uint32_t i = 0; i < min_nr; i++) {
    void* element = BackingAlloc(pool, MMLAB_GFP_KERNEL);
    if (!element) {
      DrainReserve(pool);
      FreePool(pool);
      Report(why, MMLAB_LOG_WARN,
             "mempool_create %s: could only preallocate %u of min_nr %u elements", name, i,
             min_nr);
      return MMLAB_ENOMEM;
    }
    IrqSaveGuard guard(pool->lock);
    AddElementLocked(pool, element);
  }

  MempoolRegistry& reg = core.mempools();
  {
    IrqSaveGuard guard(reg.lock);
    pool->id = reg.next_id++;
    reg.pools.PushBack(pool);
    reg.nr_pools++;
  }
  AtomicAdd(reg.pools_created, uint64_t{1});
  *out = pool;
  return MMLAB_OK;
}

mmlab_status PoolCreate(Core& core, const char* name, uint32_t min_nr, PoolType type,
                        mmlab_mempool_alloc_fn alloc_fn, mmlab_mempool_free_fn free_fn,
                        void* pool_data, mmlab_kmem_cache* cache, size_t size, uint32_t order,
                        bool control, uint64_t cache_id, void* cache_pin, Mempool** out,
                        TextBuf* why) {
  bool pin_taken = false;
  mmlab_status st = PoolCreateInner(core, name, min_nr, type, alloc_fn, free_fn, pool_data, cache,
                                    size, order, control, cache_id, cache_pin, &pin_taken, out,
                                    why);
  if (cache_pin && !pin_taken)
    mmlab_core_kmem_cache_free(cache, cache_pin, 0);
  return st;
}

// Off the list and freed, or kept as dead with elements out (EBUSY).
mmlab_status PoolDestroy(Mempool* pool, TextBuf* why) {
  mmlab_host_might_sleep();
  DrainReserve(pool);
  MempoolRegistry& reg = pool->core->mempools();
  const uint64_t out = ReadOnce(pool->out);
  if (out) {
    bool was_dead;
    {
      IrqSaveGuard guard(reg.lock);
      was_dead = pool->dead;
      pool->dead = true;
    }
    if (!was_dead)
      AtomicAdd(reg.pools_destroyed, uint64_t{1});
    Report(why, MMLAB_LOG_WARN,
           "mempool_destroy %s: %lu elements still allocated; reserve freed, pool kept until "
           "the core goes",
           pool->name, out);
    return MMLAB_EBUSY;
  }
  bool was_dead;
  {
    IrqSaveGuard guard(reg.lock);
    was_dead = pool->dead;
    reg.pools.Remove(pool);
    reg.nr_pools--;
  }
  if (!was_dead)
    AtomicAdd(reg.pools_destroyed, uint64_t{1});
  FreePool(pool);
  return MMLAB_OK;
}

}  // namespace

const char* PoolTypeName(PoolType type) {
  switch (type) {
    case PoolType::kCustom:
      return "custom";
    case PoolType::kSlab:
      return "slab";
    case PoolType::kKmalloc:
      return "kmalloc";
    case PoolType::kPage:
      return "page";
  }
  return "?";
}

void* MempoolAlloc(Mempool* pool, mmlab_gfp_t gfp, PoolSource* source) {
  *source = PoolSource::kNone;
  if (gfp & ~MMLAB___GFP_ALL) {
    Report(nullptr, MMLAB_LOG_WARN, "mempool_alloc %s: unknown gfp bits 0x%x", pool->name,
           gfp & ~MMLAB___GFP_ALL);
    return nullptr;
  }
  if (gfp & MMLAB___GFP_ZERO) {
    // Linux: VM_WARN_ON_ONCE - a reserved element is not zeroed.
    Report(nullptr, MMLAB_LOG_WARN, "mempool_alloc %s: __GFP_ZERO is not supported; ignored",
           pool->name);
    gfp &= ~MMLAB___GFP_ZERO;
  }
  if (gfp & MMLAB___GFP_DIRECT_RECLAIM)
    mmlab_host_might_sleep();

  const mmlab_gfp_t gfp_caller = gfp;  // its __GFP_NOWARN silences fault injection
  gfp |= MMLAB___GFP_NOMEMALLOC | MMLAB___GFP_NORETRY | MMLAB___GFP_NOWARN;
  mmlab_gfp_t gfp_temp = gfp & ~(MMLAB___GFP_DIRECT_RECLAIM | MMLAB___GFP_IO);
  for (;;) {
    void* element =
        pool->core->fault().ShouldFailMempool(gfp_caller) ? nullptr : BackingAlloc(pool, gfp_temp);
    if (MMLAB_LIKELY(element != nullptr)) {
      AtomicAdd(pool->out, uint64_t{1});
      AtomicAdd(pool->allocs, uint64_t{1});
      *source = PoolSource::kBacking;
      return element;
    }
    AtomicAdd(pool->backing_failures, uint64_t{1});
    {
      IrqSaveGuard guard(pool->lock);
      if (MMLAB_LIKELY(pool->curr_nr)) {
        element = RemoveElementLocked(pool);
        AtomicAdd(pool->out, uint64_t{1});
        AtomicAdd(pool->allocs, uint64_t{1});
        AtomicAdd(pool->reserve_hits, uint64_t{1});
        *source = PoolSource::kReserve;
        return element;
      }
    }
    // The first round went without direct reclaim or IO; with the reserve
    // empty, retry at once with everything the caller allowed.
    if (gfp_temp != gfp) {
      gfp_temp = gfp;
      continue;
    }
    if (!(gfp & MMLAB___GFP_DIRECT_RECLAIM))
      return nullptr;
    // Wait for somebody to return an element (mempool_free wakes us), or
    // 5 s, and start over.
    AtomicAdd(pool->waits, uint64_t{1});
    mmlab_host_wait_event_timeout(pool->wait, ReserveNotEmpty, pool, kMempoolWaitUs);
  }
}

void MempoolFree(Mempool* pool, void* element) {
  if (MMLAB_UNLIKELY(!element))
    return;
  bool refilled = false;
  // Below min_nr: refill (the lock only then, as Linux: a task that took
  // the reserve below min_nr is bound to see it). min_nr 0: park one
  // element anyway when the reserve is empty, so a waiter is woken (Linux
  // 6.1 leaves it to its 5 s timeout).
  if (MMLAB_UNLIKELY(MayRefillRacy(pool))) {
    IrqSaveGuard guard(pool->lock);
    if (!pool->no_refill && (pool->curr_nr < pool->min_nr ||
                             (pool->min_nr == 0 && pool->curr_nr == 0 && pool->capacity))) {
      AddElementLocked(pool, element);
      refilled = true;
    }
  }
  if (refilled) {
    AtomicAdd(pool->frees_to_reserve, uint64_t{1});
    mmlab_host_wake_up(pool->wait);
  } else {
    BackingFree(pool, element);
  }
  // Last: once out drops, a destroy may free the pool (MempoolDestroyControl
  // waits for it). Never below zero: a stray extra free must not wrap it.
  uint64_t out = ReadOnce(pool->out);
  while (out && !__atomic_compare_exchange_n(&pool->out, &out, out - 1, true, __ATOMIC_RELEASE,
                                            __ATOMIC_RELAXED)) {
  }
}

mmlab_status MempoolResize(Mempool* pool, uint32_t new_min_nr, TextBuf* why) {
  mmlab_host_might_sleep();
  if (new_min_nr > kMaxMinNr) {
    Report(why, MMLAB_LOG_WARN, "mempool_resize %s: min_nr %u out of range 0..%u", pool->name,
           new_min_nr, kMaxMinNr);
    return MMLAB_EINVAL;
  }
  // Shrink: free the extra reserve, one element per critical section.
  for (;;) {
    void* element = nullptr;
    {
      IrqSaveGuard guard(pool->lock);
      if (new_min_nr > pool->min_nr)
        break;
      if (pool->curr_nr <= new_min_nr) {
        pool->min_nr = new_min_nr;
        return MMLAB_OK;
      }
      element = RemoveElementLocked(pool);
    }
    BackingFree(pool, element);
  }

  // Grow: a larger array first (may sleep), then the new elements.
  void** new_elements = static_cast<void**>(mmlab_host_meta_alloc(new_min_nr * sizeof(void*), 1));
  if (!new_elements) {
    Report(why, MMLAB_LOG_WARN, "mempool_resize %s: no memory for %u element slots", pool->name,
           new_min_nr);
    return MMLAB_ENOMEM;
  }
  void** old = nullptr;
  uint32_t old_capacity = 0;
  {
    IrqSaveGuard guard(pool->lock);
    if (new_min_nr <= pool->min_nr) {
      old = new_elements;  // raced with another resize, which did our work
      old_capacity = new_min_nr;
    } else {
      __builtin_memcpy(new_elements, pool->elements, pool->curr_nr * sizeof(void*));
      old = pool->elements;
      old_capacity = pool->capacity;
      pool->elements = new_elements;
      pool->capacity = new_min_nr;
      pool->min_nr = new_min_nr;
    }
  }
  mmlab_host_meta_free(old, old_capacity * sizeof(void*));
  for (;;) {
    {
      IrqSaveGuard guard(pool->lock);
      if (pool->curr_nr >= pool->min_nr)
        return MMLAB_OK;
    }
    void* element = BackingAlloc(pool, MMLAB_GFP_KERNEL);
    if (!element)
      return MMLAB_OK;  // as Linux: frees will fill the reserve up later
    bool added = false;
    {
      IrqSaveGuard guard(pool->lock);
      if (pool->curr_nr < pool->min_nr) {
        AddElementLocked(pool, element);
        added = true;
      }
    }
    if (!added) {
      BackingFree(pool, element);  // raced
      return MMLAB_OK;
    }
    mmlab_host_wake_up(pool->wait);
  }
}

uint32_t MempoolCurrNr(Mempool* pool) {
  IrqSaveGuard guard(pool->lock);
  return pool->curr_nr;
}

uint32_t MempoolMinNr(Mempool* pool) {
  IrqSaveGuard guard(pool->lock);
  return pool->min_nr;
}

// --- the control file's pools ------------------------------------------------

Mempool* MempoolGet(Core& core, uint64_t id) {
  MempoolRegistry& reg = core.mempools();
  IrqSaveGuard guard(reg.lock);
  for (ListNode* n = reg.pools.sentinel()->next; n != reg.pools.sentinel(); n = n->next) {
    Mempool* pool = decltype(reg.pools)::Owner(n);
    if (pool->id == id && pool->control && !pool->dead) {
      pool->ctl_busy++;
      return pool;
    }
  }
  return nullptr;
}

void MempoolPut(Core& core, Mempool* pool) {
  MempoolRegistry& reg = core.mempools();
  IrqSaveGuard guard(reg.lock);
  if (MMLAB_ASSERT(pool->ctl_busy > 0))
    pool->ctl_busy--;
}

mmlab_status MempoolCreateControl(Core& core, const char* name, uint32_t min_nr, PoolType type,
                                  mmlab_kmem_cache* cache, uint64_t cache_id, size_t size,
                                  uint32_t order, Mempool** out, TextBuf* why) {
  void* pin = nullptr;
  if (type == PoolType::kSlab && cache) {
    if (KmemCache::From(cache)->ctor) {
      Report(why, MMLAB_LOG_WARN, "mempool_create %s: cache %lu has a constructor (not supported)",
             name, cache_id);
      return MMLAB_EINVAL;
    }
    pin = mmlab_core_kmem_cache_alloc(cache, MMLAB_GFP_KERNEL, 0);
    if (!pin) {
      Report(why, MMLAB_LOG_WARN, "mempool_create %s: cache %lu: no memory (or destroyed)", name,
             cache_id);
      return MMLAB_ENOMEM;
    }
  }
  return PoolCreate(core, name, min_nr, type, nullptr, nullptr, nullptr, cache, size, order, true,
                    cache_id, pin, out, why);
}

mmlab_status MempoolDestroyControl(Core& core, uint64_t id, TextBuf* why) {
  MempoolRegistry& reg = core.mempools();
  Mempool* pool = nullptr;
  {
    IrqSaveGuard guard(reg.lock);
    for (ListNode* n = reg.pools.sentinel()->next; n != reg.pools.sentinel(); n = n->next) {
      Mempool* p = decltype(reg.pools)::Owner(n);
      if (p->id == id && p->control && !p->dead)
        pool = p;
    }
    if (pool && pool->ctl_busy) {
      Report(why, MMLAB_LOG_WARN,
             "control: mempool_destroy: pool %lu is in use by %u commands (a sleeping "
             "mempool_alloc?)",
             id, pool->ctl_busy);
      return MMLAB_EBUSY;
    }
    if (pool)
      pool->ctl_busy++;  // ours now: no other command can find it
  }
  if (!pool) {
    Report(why, MMLAB_LOG_WARN, "control: no mempool %lu", id);
    return MMLAB_ENOENT;
  }
  uint32_t held = core.ObjCountOwned(ToHandle(pool));
  if (held || __atomic_load_n(&pool->out, __ATOMIC_ACQUIRE)) {
    MempoolPut(core, pool);
    Report(why, MMLAB_LOG_WARN,
           "control: mempool_destroy: pool %lu has elements out (%u control objects; free them "
           "with mempool_free)",
           id, held);
    return MMLAB_EBUSY;
  }
  {
    IrqSaveGuard guard(reg.lock);
    pool->ctl_busy--;
  }
  return PoolDestroy(pool, why);
}

// --- life cycle, checks, views -------------------------------------------------

mmlab_status MempoolsCreate(Core& core, MempoolRegistry** out) {
  *out = nullptr;
  MempoolRegistry* reg = MetaNew<MempoolRegistry>();
  if (!reg)
    return MMLAB_ENOMEM;
  reg->core = &core;
  if (!reg->lock.Init("mmlab_mempools")) {
    MetaDelete(reg);
    return MMLAB_ENOMEM;
  }
  *out = reg;
  return MMLAB_OK;
}

void MempoolsDestroy(MempoolRegistry* reg) {
  if (!reg)
    return;
  for (;;) {
    Mempool* pool;
    {
      IrqSaveGuard guard(reg->lock);
      pool = reg->pools.PopFront();
      if (pool)
        reg->nr_pools--;
    }
    if (!pool)
      break;
    const uint64_t out = ReadOnce(pool->out);
    if (!pool->dead)
      Log(MMLAB_LOG_WARN, "mempool %s (%s) was never destroyed; destroying it", pool->name,
          PoolTypeName(pool->type));
    if (out)
      Log(MMLAB_LOG_WARN, "mempool %s: %lu elements still allocated at unload; left to their "
          "owners", pool->name, out);
    DrainReserve(pool);
    FreePool(pool);
  }
  reg->lock.Destroy();
  MetaDelete(reg);
}

uint64_t MempoolsCheck(MempoolRegistry& reg) {
  uint64_t violations = 0;
  IrqSaveGuard guard(reg.lock);
  uint32_t listed = 0;
  for (ListNode* n = reg.pools.sentinel()->next; n != reg.pools.sentinel(); n = n->next) {
    Mempool* pool = decltype(reg.pools)::Owner(n);
    listed++;
    IrqSaveGuard pool_guard(pool->lock);
    if (pool->curr_nr > pool->capacity || (pool->min_nr > pool->capacity) ||
        (pool->curr_nr > Max(pool->min_nr, 1u))) {
      Log(MMLAB_LOG_ERR, "check: mempool %s: curr_nr %u, min_nr %u, %u slots", pool->name,
          pool->curr_nr, pool->min_nr, pool->capacity);
      violations++;
      continue;
    }
    for (uint32_t i = 0; i < pool->curr_nr; i++) {
      if (!pool->elements[i]) {
        Log(MMLAB_LOG_ERR, "check: mempool %s: reserve slot %u of %u is empty", pool->name, i,
            pool->curr_nr);
        violations++;
        break;
      }
    }
  }
  if (listed != reg.nr_pools) {
    Log(MMLAB_LOG_ERR, "check: mempools: %u listed, %u counted", listed, reg.nr_pools);
    violations++;
  }
  return violations;
}

uint64_t MempoolControlDestroyAll(Core& core) {
  MempoolRegistry& reg = core.mempools();
  uint64_t destroyed = 0, last_id = 0;
  for (;;) {
    Mempool* pool = nullptr;
    {
      IrqSaveGuard guard(reg.lock);
      for (ListNode* n = reg.pools.sentinel()->next; n != reg.pools.sentinel(); n = n->next) {
        Mempool* p = decltype(reg.pools)::Owner(n);
        if (p->control && !p->dead && p->id > last_id && (!pool || p->id < pool->id))
          pool = p;
      }
      if (!pool)
        break;
      last_id = pool->id;
      if (pool->ctl_busy) {
        Log(MMLAB_LOG_WARN, "free_all: mempool %s is in use by a command; kept", pool->name);
        continue;
      }
      pool->ctl_busy++;
    }
    if (core.ObjCountOwned(ToHandle(pool))) {
      Log(MMLAB_LOG_WARN, "free_all: mempool %s still has control elements; kept", pool->name);
      MempoolPut(core, pool);
      continue;
    }
    {
      IrqSaveGuard guard(reg.lock);
      pool->ctl_busy--;
    }
    if (PoolDestroy(pool, nullptr) == MMLAB_OK)
      destroyed++;
  }
  return destroyed;
}

namespace {

struct PoolRow {
  char name[MMLAB_MEMPOOL_NAME_MAX];
  PoolType type;
  uint32_t min_nr, curr_nr;
  uint64_t out, waits, reserve_hits, backing_failures;
};

}  // namespace

// One line per live pool, in creation order. Each pool is read under the
// registry lock into a row and emitted with no lock held (the sink may be
// seq_write, which must not run with interrupts off); pools are found
// again by id, so the list may change between rows.
void RenderMempools(Core& core, mmlab_emit_fn emit, void* ctx) {
  MempoolRegistry& reg = core.mempools();
  EmitLine(emit, ctx, "%-20s %-7s %7s %7s %7s %7s %12s %16s\n", "# name", "type", "min_nr",
           "curr_nr", "out", "waits", "reserve_hits", "backing_failures");
  uint64_t last_id = 0;
  for (;;) {
    PoolRow row;
    {
      IrqSaveGuard guard(reg.lock);
      Mempool* pool = nullptr;
      for (ListNode* n = reg.pools.sentinel()->next; n != reg.pools.sentinel(); n = n->next) {
        Mempool* p = decltype(reg.pools)::Owner(n);
        if (!p->dead && p->id > last_id && (!pool || p->id < pool->id))
          pool = p;
      }
      if (!pool)
        break;
      last_id = pool->id;
      __builtin_memcpy(row.name, pool->name, sizeof(row.name));
      row.type = pool->type;
      {
        IrqSaveGuard pool_guard(pool->lock);
        row.min_nr = pool->min_nr;
        row.curr_nr = pool->curr_nr;
      }
      row.out = ReadOnce(pool->out);
      row.waits = ReadOnce(pool->waits);
      row.reserve_hits = ReadOnce(pool->reserve_hits);
      row.backing_failures = ReadOnce(pool->backing_failures);
    }
    EmitLine(emit, ctx, "%-20s %-7s %7u %7u %7lu %7lu %12lu %16lu\n", row.name,
             PoolTypeName(row.type), row.min_nr, row.curr_nr, row.out, row.waits,
             row.reserve_hits, row.backing_failures);
  }
}

void RenderMempoolStats(Core& core, mmlab_emit_fn emit, void* ctx) {
  MempoolRegistry& reg = core.mempools();
  uint64_t pools = 0, reserved = 0, out = 0, waits = 0, hits = 0, failures = 0;
  {
    IrqSaveGuard guard(reg.lock);
    for (ListNode* n = reg.pools.sentinel()->next; n != reg.pools.sentinel(); n = n->next) {
      Mempool* p = decltype(reg.pools)::Owner(n);
      pools += !p->dead;
      {
        IrqSaveGuard pool_guard(p->lock);
        reserved += p->curr_nr;
      }
      out += ReadOnce(p->out);
      waits += ReadOnce(p->waits);
      hits += ReadOnce(p->reserve_hits);
      failures += ReadOnce(p->backing_failures);
    }
  }
  const struct {
    const char* key;
    uint64_t value;
  } rows[] = {
      {"mempools", pools},
      {"mempool_reserved", reserved},
      {"mempool_elements_out", out},
      {"mempool_waits", waits},
      {"mempool_reserve_hits", hits},
      {"mempool_backing_fails", failures},
  };
  for (const auto& row : rows)
    EmitLine(emit, ctx, "%-22s %lu\n", row.key, row.value);
}

}  // namespace mmlab

// --- C ABI ------------------------------------------------------------------

using mmlab::Core;
using mmlab::FromHandle;
using mmlab::Mempool;
using mmlab::PoolType;

extern "C" {

enum mmlab_status mmlab_core_mempool_create(struct mmlab_core* core, const char* name,
                                            uint32_t min_nr, mmlab_mempool_alloc_fn alloc_fn,
                                            mmlab_mempool_free_fn free_fn, void* pool_data,
                                            struct mmlab_mempool** out) {
  if (!MMLAB_ASSERT(core && out))
    return MMLAB_EINVAL;
  Mempool* pool = nullptr;
  mmlab_status st = mmlab::PoolCreate(*Core::From(core), name, min_nr, PoolType::kCustom,
                                      alloc_fn, free_fn, pool_data, nullptr, 0, 0, false, 0,
                                      nullptr, &pool, nullptr);
  *out = pool ? mmlab::ToHandle(pool) : nullptr;
  return st;
}

enum mmlab_status mmlab_core_mempool_create_slab_pool(struct mmlab_core* core, const char* name,
                                                      uint32_t min_nr,
                                                      struct mmlab_kmem_cache* cache,
                                                      struct mmlab_mempool** out) {
  if (!MMLAB_ASSERT(core && out))
    return MMLAB_EINVAL;
  Mempool* pool = nullptr;
  mmlab_status st = mmlab::PoolCreate(*Core::From(core), name, min_nr, PoolType::kSlab, nullptr,
                                      nullptr, nullptr, cache, 0, 0, false, 0, nullptr, &pool, nullptr);
  *out = pool ? mmlab::ToHandle(pool) : nullptr;
  return st;
}

enum mmlab_status mmlab_core_mempool_create_kmalloc_pool(struct mmlab_core* core,
                                                         const char* name, uint32_t min_nr,
                                                         size_t size,
                                                         struct mmlab_mempool** out) {
  if (!MMLAB_ASSERT(core && out))
    return MMLAB_EINVAL;
  Mempool* pool = nullptr;
  mmlab_status st = mmlab::PoolCreate(*Core::From(core), name, min_nr, PoolType::kKmalloc,
                                      nullptr, nullptr, nullptr, nullptr, size, 0, false, 0,
                                      nullptr, &pool, nullptr);
  *out = pool ? mmlab::ToHandle(pool) : nullptr;
  return st;
}

enum mmlab_status mmlab_core_mempool_create_page_pool(struct mmlab_core* core, const char* name,
                                                      uint32_t min_nr, uint32_t order,
                                                      struct mmlab_mempool** out) {
  if (!MMLAB_ASSERT(core && out))
    return MMLAB_EINVAL;
  Mempool* pool = nullptr;
  mmlab_status st = mmlab::PoolCreate(*Core::From(core), name, min_nr, PoolType::kPage, nullptr,
                                      nullptr, nullptr, nullptr, 0, order, false, 0, nullptr,
                                      &pool, nullptr);
  *out = pool ? mmlab::ToHandle(pool) : nullptr;
  return st;
}

void* mmlab_core_mempool_alloc(struct mmlab_mempool* pool, mmlab_gfp_t gfp) {
  if (!MMLAB_ASSERT(pool))
    return nullptr;
  mmlab::PoolSource source;
  return mmlab::MempoolAlloc(FromHandle(pool), gfp, &source);
}

void mmlab_core_mempool_free(struct mmlab_mempool* pool, void* element) {
  if (!MMLAB_ASSERT(pool))
    return;
  mmlab::MempoolFree(FromHandle(pool), element);
}

enum mmlab_status mmlab_core_mempool_resize(struct mmlab_mempool* pool, uint32_t new_min_nr) {
  if (!MMLAB_ASSERT(pool))
    return MMLAB_EINVAL;
  return mmlab::MempoolResize(FromHandle(pool), new_min_nr, nullptr);
}

enum mmlab_status mmlab_core_mempool_destroy(struct mmlab_mempool* pool) {
  if (!pool)
    return MMLAB_OK;  // mempool_destroy(NULL) is a no-op in Linux
  return mmlab::PoolDestroy(FromHandle(pool), nullptr);
}

}  // extern "C"
