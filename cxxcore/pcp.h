// SPDX-License-Identifier: GPL-2.0
//
// pcp.h - per-CPU page lists (Linux: struct per_cpu_pages) and the per-CPU
// storage they live in.
//
// How it works (mm/page_alloc.c: rmqueue_pcplist, free_unref_page,
// rmqueue_bulk, free_pcppages_bulk, drain_pages_zone):
//  - Every zone has, for every possible CPU, one list per order 0..3 of
//    blocks that are out of the buddy but not yet handed to anyone, and
//    count (pages on all lists), high and batch.
//  - alloc_pages of order <= 3 disables interrupts on the local CPU, pops a
//    block from that CPU's list and is done; an empty list is refilled with
//    batch pages' worth (batch >> order blocks, at least one) taken from the
//    buddy under the zone lock in one go.
//  - A free of order <= 3 pushes the block on the local list; when count
//    reaches high, batch pages' worth go back to the buddy under the zone
//    lock (oldest first, starting with the freed order's list).
//  - Nothing but "interrupts off on the owning CPU" protects a list: no
//    lock, no atomic read-modify-write. That is enough because only that
//    CPU touches it and a free from interrupt context on the same CPU
//    cannot interleave with an interrupted alloc or free (it waits for
//    interrupts to come back on). Another CPU reaches a list only through
//    on_each_cpu (drain, tunables, the checker; the function then runs on
//    the owning CPU with interrupts off) or after the CPU is dead.
#ifndef MMLAB_CXXCORE_PCP_H
#define MMLAB_CXXCORE_PCP_H

#include "base.h"
#include "page_desc.h"
#include "stats.h"

namespace mmlab {

// Orders served by the per-CPU lists (Linux: PAGE_ALLOC_COSTLY_ORDER).
constexpr uint32_t kPcpMaxOrder = 3;
constexpr uint32_t kNrPcpLists = kPcpMaxOrder + 1;
// Largest high the `pcp` command accepts.
constexpr uint32_t kPcpHighMax = 4096;

struct PerCpuPages {
  uint32_t count = 0;  // pages on all lists
  uint32_t high = 0;   // drain when count reaches it; written remotely with WriteOnce
  uint32_t batch = 0;  // pages per refill or drain; written remotely with WriteOnce
  uint64_t gen = 0;    // bumped on every change to the lists, so the checker
                       // can tell whether they held still while it looked
  PageList lists[kNrPcpLists];
  PcpStats stats;

  PerCpuPages() = default;
  MMLAB_NO_COPY(PerCpuPages);
};

// Linux's zone_batchsize(): about a thousandth of the zone (at most 1 MiB),
// a quarter of that, clamped to 2^n - 1 and to 1..63 pages.
constexpr uint32_t PcpBatchSize(uint64_t zone_pages) {
  uint64_t batch = Min<uint64_t>(zone_pages >> 10, (uint64_t{1} << 20) / MMLAB_PAGE_SIZE) / 4;
  if (batch < 1)
    batch = 1;
  batch = RoundDownPowerOfTwo(batch + batch / 2) - 1;
  return static_cast<uint32_t>(Max<uint64_t>(batch, 1));
}
static_assert(PcpBatchSize(0) == 1 && PcpBatchSize(16384) == 3 && PcpBatchSize(49152) == 15 &&
                  PcpBatchSize(uint64_t{1} << 30) == 63,
              "zone_batchsize");

// The pageset's high mark for a batch (Linux's pageset_set_batch rule).
constexpr uint32_t PcpHigh(uint32_t batch) { return 6 * batch; }

// An array of T, one per possible CPU, each on its own cache lines so that
// CPUs never share a line they write. Storage comes from the host's
// metadata allocator (no core lock held).
template <typename T>
class PerCpu {
 public:
  PerCpu() = default;
  MMLAB_NO_COPY(PerCpu);

  bool Alloc(uint32_t nr_cpus) {
    void* mem = mmlab_host_meta_alloc(size_t{nr_cpus} * kStride, 1);
    if (!mem)
      return false;
    base_ = static_cast<char*>(mem);
    nr_cpus_ = nr_cpus;
    for (uint32_t cpu = 0; cpu < nr_cpus; cpu++)
      new (base_ + cpu * kStride) T();
    return true;
  }
  void Free() {
    if (!base_)
      return;
    for (uint32_t cpu = 0; cpu < nr_cpus_; cpu++)
      at(cpu)->~T();
    mmlab_host_meta_free(base_, size_t{nr_cpus_} * kStride);
    base_ = nullptr;
    nr_cpus_ = 0;
  }

  uint32_t nr_cpus() const { return nr_cpus_; }
  T* at(uint32_t cpu) { return reinterpret_cast<T*>(base_ + size_t{cpu} * kStride); }
  const T* at(uint32_t cpu) const {
    return reinterpret_cast<const T*>(base_ + size_t{cpu} * kStride);
  }

 private:
  static constexpr size_t kCacheLine = 64;
  static constexpr size_t kStride = (sizeof(T) + kCacheLine - 1) / kCacheLine * kCacheLine;
  static_assert(alignof(T) <= kCacheLine, "kvmalloc memory is cache-line aligned at best");

  char* base_ = nullptr;
  uint32_t nr_cpus_ = 0;
};

// Returns once every CPU has passed through a point with interrupts on
// since the call began: a grace period for readers that hold interrupts
// off (RCU-sched done by hand with on_each_cpu). May sleep; no core lock.
void SynchronizeCpus();

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_PCP_H
