// SPDX-License-Identifier: GPL-2.0
//
// mempool.h - memory pools: a reserve of preallocated elements in front of
// a backing allocator (Linux: mm/mempool.c, mempool_t).
//
// A Mempool is what struct mmlab_mempool points at. The registry keeps every
// pool of one core on a list (for the mempools view, the checker, the
// control file's pool ids and the core's destroy) under its own lock.
//
// Lock order: the registry lock, then a pool's lock; neither is held while
// calling the backing allocator, the metadata allocator or a wait. Each
// pool's lock is only ever taken with interrupts off (mempool_free may run
// in an interrupt).
#ifndef MMLAB_CXXCORE_MEMPOOL_H
#define MMLAB_CXXCORE_MEMPOOL_H

#include "base.h"
#include "format.h"
#include "lock.h"
#include "mmlab/core.h"
#include "subsys.h"

namespace mmlab {

class Core;

enum class PoolType : uint8_t {
  kCustom = 0,  // caller-supplied alloc/free (mempool_create)
  kSlab,        // mempool_alloc_slab / mempool_free_slab
  kKmalloc,     // mempool_kmalloc / mempool_kfree
  kPage,        // mempool_alloc_pages / mempool_free_pages
};
const char* PoolTypeName(PoolType type);

// Linux: io_schedule_timeout(5*HZ) between retries of a sleeping allocation.
constexpr uint32_t kMempoolWaitUs = 5000000;

struct Mempool {
  ListNode link;  // on the registry's list, under its lock
  Core* core;
  uint64_t id;  // small, never reused: the control file's pool id
  char name[MMLAB_MEMPOOL_NAME_MAX];
  PoolType type;
  bool control;  // created through the control file
  bool dead;     // destroyed with elements out: kept until the core goes
  uint32_t order;               // page pools
  size_t size;                  // kmalloc pools
  mmlab_kmem_cache* cache;      // slab pools
  uint64_t cache_id;            // slab pools made by the control file
  mmlab_mempool_alloc_fn alloc_fn;
  mmlab_mempool_free_fn free_fn;
  void* pool_data;
  mmlab_host_waitq* wait;  // tasks waiting for an element to come back

  SpinLock lock;
  uint32_t min_nr MMLAB_GUARDED_BY(lock);   // nr of elements kept in reserve
  uint32_t curr_nr MMLAB_GUARDED_BY(lock);  // nr in the reserve now (read racily too)
  uint32_t capacity MMLAB_GUARDED_BY(lock); // slots in elements[]
  void** elements MMLAB_GUARDED_BY(lock);
  bool no_refill MMLAB_GUARDED_BY(lock);    // being destroyed: frees go to the backing
  uint32_t ctl_busy;  // control commands using the pool (registry lock)

  // Counters, updated with atomics (no lock needed to read them).
  uint64_t out;               // handed out by mempool_alloc, not yet freed
  uint64_t allocs;            // mempool_alloc calls that returned an element
  uint64_t waits;             // times a sleeping mempool_alloc went to sleep
  uint64_t reserve_hits;      // allocations served from the reserve
  uint64_t backing_failures;  // backing allocator calls that returned NULL
  uint64_t frees_to_reserve;  // mempool_free calls that refilled the reserve
};

class MempoolRegistry {
 public:
  MMLAB_NO_COPY(MempoolRegistry);
  MempoolRegistry() = default;

  Core* core = nullptr;
  SpinLock lock;
  List<Mempool, __builtin_offsetof(Mempool, link)> pools MMLAB_GUARDED_BY(lock);
  uint64_t next_id MMLAB_GUARDED_BY(lock) = 1;
  uint32_t nr_pools MMLAB_GUARDED_BY(lock) = 0;
  // Totals over pools that are gone, so "stats" keeps counting.
  uint64_t pools_created = 0;
  uint64_t pools_destroyed = 0;
};

inline mmlab_mempool* ToHandle(Mempool* pool) { return reinterpret_cast<mmlab_mempool*>(pool); }
inline Mempool* FromHandle(mmlab_mempool* pool) { return reinterpret_cast<Mempool*>(pool); }

// The control file's side (command_pool.cc). Look a live pool up by id and
// mark it in use by one command (so no destroy can free it meanwhile);
// null when there is none. MempoolPut ends the use.
Mempool* MempoolGet(Core& core, uint64_t id);
void MempoolPut(Core& core, Mempool* pool);
// Creates a pool flagged as the control file's, with its cache id recorded.
mmlab_status MempoolCreateControl(Core& core, const char* name, uint32_t min_nr, PoolType type,
                                  mmlab_kmem_cache* cache, uint64_t cache_id, size_t size,
                                  uint32_t order, Mempool** out, TextBuf* why);
// Destroys a control pool that no command uses and no control object holds.
mmlab_status MempoolDestroyControl(Core& core, uint64_t id, TextBuf* why);
uint32_t MempoolCurrNr(Mempool* pool);
uint32_t MempoolMinNr(Mempool* pool);

// mempool_alloc with a report of where the element came from.
enum class PoolSource { kNone, kBacking, kReserve };
void* MempoolAlloc(Mempool* pool, mmlab_gfp_t gfp, PoolSource* source);
void MempoolFree(Mempool* pool, void* element);
mmlab_status MempoolResize(Mempool* pool, uint32_t new_min_nr, TextBuf* why);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_MEMPOOL_H
