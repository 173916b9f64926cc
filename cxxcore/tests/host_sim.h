// SPDX-License-Identifier: GPL-2.0
//
// host_sim.h - a user-space host for the core (implements mmlab/host.h).
//
// Chunks: every chunk is a piece of one sparse memfd (the simulated
// physical memory) mapped MAP_SHARED at a naturally aligned address, with a
// fake pfn of vaddr >> 12. Normal (and "any") chunks are mapped wherever
// mmap puts them, always above 4 GiB here; DMA32 chunks below 2 GiB
// (MAP_32BIT), so their pfn, still vaddr >> 12, is below 0x100000 as a real
// DMA32 page's is. A returned chunk is unmapped (an access faults) and its
// pages punched out of the memfd.
//
// vmap maps the memfd pages of the given pfns, in order, at a fresh
// address, so writes through the vmap address show at each page's own
// address (page_address) and back. wait_event_timeout / wake_up are a
// condition variable per wait queue.
//
// CPUs: nr_cpu_ids simulated CPUs (default 4). A thread runs on the CPU it
// bound itself to (BindCpu, default 0). local_irq_save takes that CPU's
// mutex for the whole (nestable) section, so two threads on one simulated
// CPU exclude each other exactly where interrupts-off would; on_each_cpu
// takes each online CPU's mutex in turn and runs the function "on" it.
//
// The kernel's run-time checks become aborts: a core lock held (or
// interrupts off) across the page source, the metadata allocator,
// on_each_cpu or a sleep; might_sleep() or a may-sleep chunk allocation in
// an atomic context (inside local_irq_save, under a core lock, or in
// run_in_context(IRQS_OFF / TIMER)); a local_irq_save taken under a zone
// lock (the inverse of the order on_each_cpu uses); an assertion; a log
// line containing "BUG:" or "WARNING:"; a format conversion the kernel's
// vsnprintf would print differently. Tests read the captured log, trace
// events, wake-ups and chunk counters.
#ifndef MMLAB_TESTS_HOST_SIM_H
#define MMLAB_TESTS_HOST_SIM_H

#include <cstdint>
#include <string>
#include <vector>

#include "mmlab/core.h"
#include "mmlab/host.h"

namespace sim {

struct LogLine {
  int level;
  std::string text;
};

// Forgets logs, traces and failure knobs, sets 4 CPUs all online, the
// real clock and kswapd wake-ups only counted. Counters keep running
// across tests, so tests compare against values they read at their start.
void Reset();

std::vector<LogLine> Logs();
void ClearLogs();
// Lines containing needle (at the given level, or any level when -1).
size_t CountLogs(const std::string& needle, int level = -1);
std::string LogText();  // every line, newline-separated, for failure output

// The next n chunk (or metadata) allocations fail, after `skip` more have
// succeeded; n < 0 fails all of them.
void FailChunkAllocs(int n);
void FailMetaAllocs(int n, int skip = 0);
// After `allowed` more chunk allocations succeed, fail all further ones.
void LimitChunkAllocs(int allowed);
// The next n chunk allocations from one host zone fail (n < 0: all).
void FailZoneChunkAllocs(mmlab_host_zone zone, int n);
// A machine without memory above 4 GiB: every ZONE_NORMAL request fails.
void SetNoHighMemory(bool on);

uint64_t ChunksOutstanding();
uint64_t ChunksOutstandingIn(mmlab_host_zone zone);
uint64_t ChunksBorrowed();
uint64_t ChunksReturned();
uint64_t ChunkAllocsThatMaySleep();
uint64_t ChunkAllocsThatMayNotSleep();
uint64_t MetaBytesOutstanding();
uint64_t LocksOutstanding();

// Returns to the "host" the chunks a core deliberately leaked at destroy,
// so that the test process itself does not leak. Returns how many.
uint64_t ReleaseLeakedChunks();

// While on, Normal chunks are carved one after another from one aligned
// arena, so consecutive chunks are neighbours in memory and in pfn (and
// thus look like buddies of each other one order up). Turn off only once
// the chunks are back.
void UseContiguousChunks(bool on);

// Whether p lies inside a chunk currently lent out.
bool IsLentAddress(const void* p);

// --- CPUs -------------------------------------------------------------------
// nr_cpu_ids for cores created from now on (1..64).
void SetNrCpus(uint32_t n);
// The calling thread runs on simulated CPU cpu from now on.
void BindCpu(uint32_t cpu);
uint32_t BoundCpu();
// Offline CPUs are skipped by on_each_cpu and may not be bound.
void SetCpuOnline(uint32_t cpu, bool online);
uint64_t OnEachCpuCalls();

// --- sleeping and atomic contexts ------------------------------------------
uint64_t MightSleepCalls();
uint64_t SleepCalls();
// Whether the calling thread is atomic right now, as might_sleep sees it.
bool InAtomicContext();
// Fails the next n run_in_context calls (returns non-zero without running).
void FailRunInContext(int n);

// --- kswapd ---------------------------------------------------------------------
uint64_t KswapdWakes();
// A background "mmlab_kswapd" thread that runs mmlab_core_kswapd(core)
// after every wake-up, until StopKswapdThread() (call it before destroying
// the core).
void StartKswapdThread(mmlab_core* core);
void StopKswapdThread();
// Runs of mmlab_core_kswapd made by that thread.
uint64_t KswapdThreadRuns();

// --- clock --------------------------------------------------------------------
// Moves mmlab_host_now_ns forward (rate limits can be tested quickly).
void AdvanceClock(uint64_t ns);

// --- trace points ---------------------------------------------------------------
enum class TraceKind { kAlloc, kFree, kPcpuDrain };
struct TraceEvent {
  TraceKind kind;
  uint64_t pfn;
  uint32_t order;
  uint32_t gfp;   // alloc only
  uint32_t zone;  // alloc only
};
// Events are recorded only while on (off by default; at most 1M kept).
void RecordTraces(bool on);
std::vector<TraceEvent> Traces();
void ClearTraces();
uint64_t TraceCount(TraceKind kind);  // counted always, recording or not

// --- vmap and wait queues --------------------------------------------------------
// The next n vmap calls fail (n < 0: all).
void FailVmaps(int n);
uint64_t VmapsOutstanding();  // mapped now
uint64_t VmapCalls();
uint64_t WaitCalls();  // mmlab_host_wait_event_timeout calls
uint64_t WakeUps();    // mmlab_host_wake_up calls

// --- fault injection: the kernel's per-task switches -----------------------------
// MMLAB_HOST_FAIL_* for cores created from now on (Reset: none, as on a
// kernel without CONFIG_FAULT_INJECTION).
void SetFailCaps(uint32_t caps);
// The calling thread's /proc/self/fail-nth (counts down as the kernel's
// does) and /proc/self/make-it-fail. In a run_in_context(IRQS_OFF/TIMER)
// callback neither applies (not in_task()).
void SetFailNth(uint32_t n);
uint32_t FailNth();
void SetMakeItFail(bool on);
uint64_t DumpStackCalls();  // mmlab_host_dump_stack calls

// --- the kernel's checkers (host.h's object hooks) ---------------------------------
// A KASAN generic shadow over every lent chunk (one byte per 8 bytes: 0
// accessible, 1..7 only that many leading bytes, else one of the values
// below) and a kmemleak registry. The core's own memset/memcpy calls are
// checked against the shadow (sim_kasan.h) and abort on a poisoned byte,
// as KASAN reports them in the kernel; so does a chunk given back with a
// poisoned byte, an object registered twice or freed unregistered.
constexpr uint8_t kShadowPageFree = 0xff;     // KASAN_PAGE_FREE
constexpr uint8_t kShadowSlabRedzone = 0xfc;  // KASAN_SLAB_REDZONE
constexpr uint8_t kShadowSlabFree = 0xfb;     // KASAN_SLAB_FREE
// The shadow byte of p's granule (0 outside the chunks).
uint8_t ShadowByte(const void* p);
// Whether KASAN would let every byte of [p, p + n) be accessed.
bool IsAccessible(const void* p, size_t n);
// How many bytes of [p, p + n) KASAN would report.
size_t PoisonedBytes(const void* p, size_t n);
// kmemleak: objects registered now; p's registered size (0: none).
uint64_t RegisteredObjects();
size_t RegisteredSize(const void* p);
// mmlab_host_object_alloc / _free calls ever.
uint64_t ObjectAllocCalls();
uint64_t ObjectFreeCalls();

}  // namespace sim

#endif  // MMLAB_TESTS_HOST_SIM_H
