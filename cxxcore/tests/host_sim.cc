// SPDX-License-Identifier: GPL-2.0
//
// host_sim.cc - mmlab/host.h over libc and pthreads, with the checks the
// kernel would make (lockdep, might_sleep, WARN) turned into aborts.
#include "host_sim.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

namespace sim {
namespace {

constexpr uint32_t kMaxCpus = 64;
constexpr size_t kMaxTraces = 1u << 20;

// Every chunk's memory is a piece of one memfd ("simulated physical
// memory"), mapped MAP_SHARED at the chunk's address, so vmap can map any
// of its pages a second time elsewhere, as the kernel's vmap does.
struct LentChunk {
  size_t bytes;
  mmlab_host_zone zone;
  bool arena;      // a slot of the contiguous arena (unmapped back to PROT_NONE)
  off_t file_off;  // where its pages are in the memfd
};

std::mutex g_mu;  // guards everything below that is not atomic
std::vector<LogLine> g_logs;
std::map<uintptr_t, LentChunk> g_chunks;  // vaddr -> chunk, lent now
int g_fail_chunks = 0;
int g_fail_meta = 0;
int g_skip_meta = 0;
int g_chunk_budget = -1;  // < 0: unlimited
int g_fail_zone[3] = {0, 0, 0};
bool g_no_high_memory = false;
int g_fail_run_in_context = 0;
std::atomic<uint64_t> g_borrowed{0}, g_returned{0}, g_sleep{0}, g_nosleep{0};
std::atomic<int64_t> g_meta_bytes{0};
std::atomic<int64_t> g_locks{0};
constexpr size_t kArenaChunks = 16;
bool g_arena_on = false;
void* g_arena = nullptr;  // a PROT_NONE reservation of kArenaChunks chunks
size_t g_arena_chunk_bytes = 0;
size_t g_arena_next = 0;

// Simulated physical memory: a sparse memfd. Offsets of returned chunks are
// reused (their pages punched out first).
constexpr off_t kMemfdBytes = off_t{1} << 38;  // 256 GiB, sparse
int g_memfd = -1;
off_t g_memfd_next = 0;
std::map<size_t, std::vector<off_t>> g_memfd_free;  // chunk bytes -> free offsets

// vmap: address -> pages mapped.
std::map<uintptr_t, uint32_t> g_vmaps;
int g_fail_vmaps = 0;
std::atomic<uint64_t> g_vmap_calls{0};
std::atomic<uint64_t> g_waits{0}, g_wakeups{0};

// CPUs.
std::atomic<uint32_t> g_nr_cpus{4};
std::atomic<bool> g_cpu_online[kMaxCpus];
// Every CPU starts online, even for tests that never call Reset().
struct CpusOnline {
  CpusOnline() {
    for (auto& online : g_cpu_online)
      online = true;
  }
} g_cpus_online;
std::mutex g_cpu_mu[kMaxCpus];
std::atomic<uint64_t> g_on_each_cpu{0};
thread_local uint32_t t_cpu = 0;       // bound CPU
thread_local uint32_t t_irq_depth = 0;  // local_irq_save nesting
thread_local uint32_t t_irq_cpu = 0;    // the CPU whose mutex this thread holds
thread_local int t_locks_held = 0;      // core locks
thread_local int t_zone_locks_held = 0;
thread_local int t_atomic_ctx = 0;      // run_in_context(IRQS_OFF / TIMER)

// Fault injection: what the "kernel" offers, and each task's switches.
std::atomic<uint32_t> g_fail_caps{0};
std::atomic<uint64_t> g_dump_stacks{0};
thread_local uint32_t t_fail_nth = 0;     // /proc/self/fail-nth
thread_local bool t_make_it_fail = false;  // /proc/self/make-it-fail

// Sleeping.
std::atomic<uint64_t> g_might_sleep{0}, g_sleeps{0};

// kswapd.
std::atomic<uint64_t> g_kswapd_wakes{0}, g_kswapd_runs{0};
std::mutex g_kswapd_mu;
std::condition_variable g_kswapd_cv;
bool g_kswapd_pending = false;
bool g_kswapd_stop = false;
std::thread* g_kswapd_thread = nullptr;

// Clock and traces.
std::atomic<uint64_t> g_clock_offset{0};
std::mutex g_trace_mu;
bool g_trace_on = false;
std::vector<TraceEvent> g_traces;
std::atomic<uint64_t> g_trace_count[3];

[[noreturn]] void Die(const char* what, const char* detail) {
  fprintf(stderr, "host_sim: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

// The host.h rule for calls that may sleep or take other CPUs.
void MustNotHoldLocks(const char* call) {
  if (t_locks_held != 0)
    Die("called with a core lock held", call);
  if (t_irq_depth != 0)
    Die("called with interrupts disabled by mmlab_host_local_irq_save", call);
}

bool Atomic() { return t_locks_held != 0 || t_irq_depth != 0 || t_atomic_ctx != 0; }

// The kernel's vsnprintf and glibc's agree on only part of printf; the
// core promises to use just that part. Anything else aborts the test.
void CheckFormat(const char* fmt) {
  for (const char* p = fmt; *p; p++) {
    if (*p != '%')
      continue;
    p++;
    if (*p == '%')
      continue;
    while (*p == '-' || *p == '0')
      p++;
    while (*p >= '0' && *p <= '9')
      p++;
    if (*p == 'l') {
      p++;
      if (*p == 'l')
        p++;
    } else if (*p == 'z') {
      p++;
    }
    if (!*p || !strchr("diuxcs", *p))
      Die("format conversion outside the kernel/libc common subset", fmt);
  }
}

// A PROT_NONE reservation of bytes of address space naturally aligned to
// align, below 2 GiB when low.
void* ReserveAligned(size_t bytes, size_t align, bool low) {
  size_t span = bytes + align;
  void* raw = mmap(nullptr, span, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (low ? MAP_32BIT : 0), -1, 0);
  if (raw == MAP_FAILED)
    return nullptr;
  uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (start + align - 1) & ~(uintptr_t{align} - 1);
  if (aligned > start)
    munmap(raw, aligned - start);
  uintptr_t end = start + span;
  if (end > aligned + bytes)
    munmap(reinterpret_cast<void*>(aligned + bytes), end - aligned - bytes);
  return reinterpret_cast<void*>(aligned);
}

// A piece of simulated physical memory of bytes (g_mu held).
bool MemfdTake(size_t bytes, off_t* off) {
  if (g_memfd < 0) {
    g_memfd = memfd_create("mmlab_sim_physmem", MFD_CLOEXEC);
    if (g_memfd < 0 || ftruncate(g_memfd, kMemfdBytes) != 0)
      Die("memfd for the simulated physical memory", strerror(errno));
  }
  auto& free_list = g_memfd_free[bytes];
  if (!free_list.empty()) {
    *off = free_list.back();
    free_list.pop_back();
    return true;
  }
  if (g_memfd_next + static_cast<off_t>(bytes) > kMemfdBytes)
    return false;
  *off = g_memfd_next;
  g_memfd_next += static_cast<off_t>(bytes);
  return true;
}

// Gives the pages back (zeroed by the punch) and the offset for reuse.
void MemfdGive(size_t bytes, off_t off) {
  if (fallocate(g_memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
                static_cast<off_t>(bytes)) != 0)
    Die("punching a returned chunk out of the memfd", strerror(errno));
  g_memfd_free[bytes].push_back(off);
}

// Maps bytes of the memfd at off onto the reserved address v.
bool MapShared(void* v, size_t bytes, off_t off) {
  return mmap(v, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, g_memfd, off) == v;
}

// Gives chunk memory back (g_mu held): its address range (an arena slot
// stays reserved until the arena is turned off) and its simulated pages.
void ReleaseMemory(uintptr_t vaddr, const LentChunk& c) {
  void* v = reinterpret_cast<void*>(vaddr);
  if (c.arena)
    mmap(v, c.bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  else
    munmap(v, c.bytes);
  MemfdGive(c.bytes, c.file_off);
}

void KswapdLoop(mmlab_core* core) {
  std::unique_lock<std::mutex> lk(g_kswapd_mu);
  for (;;) {
    g_kswapd_cv.wait(lk, [] { return g_kswapd_pending || g_kswapd_stop; });
    if (g_kswapd_stop)
      return;
    g_kswapd_pending = false;
    lk.unlock();
    mmlab_core_kswapd(core);
    g_kswapd_runs++;
    lk.lock();
  }
}

// --- the kernel's checkers -----------------------------------------------------
// KASAN generic's shadow, one byte per 8-byte granule of every lent chunk
// (0: accessible, 1..7: only that many leading bytes, else the poison
// kind), in an anonymous mapping beside the chunk; and kmemleak's registry
// of objects (address -> size). Both under g_check_mu: shared for shadow
// reads and writes of distinct objects, exclusive for chunks coming and
// going; the registry under its own mutex.
constexpr uintptr_t kGranule = MMLAB_HOST_POISON_GRANULE;
struct ShadowRegion {
  size_t bytes;  // of the chunk
  uint8_t* shadow;
};
std::shared_mutex g_check_mu;
std::map<uintptr_t, ShadowRegion> g_shadow;  // chunk vaddr -> shadow
std::mutex g_leak_mu;
std::map<uintptr_t, size_t> g_registered;  // kmemleak objects
std::atomic<uint64_t> g_object_allocs{0}, g_object_frees{0};

// The shadow byte of granule-aligned a, or null outside every chunk
// (g_check_mu held, either way).
uint8_t* ShadowOf(uintptr_t a) {
  auto it = g_shadow.upper_bound(a);
  if (it == g_shadow.begin())
    return nullptr;
  --it;
  if (a - it->first >= it->second.bytes)
    return nullptr;
  return it->second.shadow + (a - it->first) / kGranule;
}

// KASAN's check of one byte (kasan_check_range for size 1).
bool ByteAccessible(uintptr_t a) {
  const uint8_t* sh = ShadowOf(a & ~(kGranule - 1));
  if (!sh || *sh == 0)
    return true;
  return *sh < kGranule && (a & (kGranule - 1)) < *sh;
}

// First byte of [a, a + n) KASAN would report, or 0 (g_check_mu held).
// One region lookup per chunk the range touches, one shadow byte per
// granule.
uintptr_t FirstBadByte(uintptr_t a, size_t n) {
  const uintptr_t end = a + n;
  uintptr_t p = a;
  while (p < end) {
    auto it = g_shadow.upper_bound(p);
    const uintptr_t next_region = it == g_shadow.end() ? end : it->first;
    if (it == g_shadow.begin() || p - std::prev(it)->first >= std::prev(it)->second.bytes) {
      p = next_region;  // outside every chunk: no shadow, nothing to check
      continue;
    }
    --it;
    const uintptr_t region_end = it->first + it->second.bytes;
    const uintptr_t stop = end < region_end ? end : region_end;
    for (uintptr_t g = p & ~(kGranule - 1); g < stop; g += kGranule) {
      const uint8_t sh = it->second.shadow[(g - it->first) / kGranule];
      if (sh == 0)
        continue;
      // Bytes g + sh .. g + 7 are bad (all 8 for a poison value).
      uintptr_t first_bad = sh < kGranule ? g + sh : g;
      if (first_bad < p)
        first_bad = p;
      if (first_bad < stop && first_bad < g + kGranule)
        return first_bad;
    }
    p = stop;
  }
  return 0;
}

void CheckedAccess(const char* what, const void* p, size_t n) {
  if (!n)
    return;
  uintptr_t bad;
  uint8_t value = 0;
  {
    std::shared_lock<std::shared_mutex> g(g_check_mu);
    bad = FirstBadByte(reinterpret_cast<uintptr_t>(p), n);
    if (bad)
      value = *ShadowOf(bad & ~(kGranule - 1));
  }
  if (bad) {
    char detail[160];
    snprintf(detail, sizeof(detail), "%s of %zu bytes at %p: byte +%zu is poisoned (shadow 0x%02x)",
             what, n, p, static_cast<size_t>(bad - reinterpret_cast<uintptr_t>(p)), value);
    Die("KASAN (simulated): the core touched poisoned memory with a checked call", detail);
  }
}

void ShadowAddChunk(uintptr_t v, size_t bytes) {
  void* sh = mmap(nullptr, bytes / kGranule, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (sh == MAP_FAILED)
    Die("mapping a chunk's shadow", strerror(errno));
  std::unique_lock<std::shared_mutex> g(g_check_mu);
  g_shadow[v] = {bytes, static_cast<uint8_t*>(sh)};
}

// A chunk goes back (check: every byte accessible, as the buddy keeps its
// pages) or is released after a deliberate leak (no check); kmemleak
// objects inside a released chunk are forgotten.
void ShadowRemoveChunk(uintptr_t v, bool check) {
  ShadowRegion r;
  {
    std::unique_lock<std::shared_mutex> g(g_check_mu);
    auto it = g_shadow.find(v);
    if (it == g_shadow.end())
      return;
    r = it->second;
    g_shadow.erase(it);
  }
  if (check) {
    for (size_t i = 0; i < r.bytes / kGranule; i++) {
      if (r.shadow[i]) {
        char detail[96];
        snprintf(detail, sizeof(detail), "byte +%zu of the chunk (shadow 0x%02x)", i * kGranule,
                 r.shadow[i]);
        Die("a chunk went back to the host with poisoned memory", detail);
      }
    }
  } else {
    std::lock_guard<std::mutex> g(g_leak_mu);
    auto it = g_registered.lower_bound(v);
    while (it != g_registered.end() && it->first < v + r.bytes)
      it = g_registered.erase(it);
  }
  munmap(r.shadow, r.bytes / kGranule);
}

bool IsVmapAddress(uintptr_t a) {
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_vmaps.upper_bound(a);
  if (it == g_vmaps.begin())
    return false;
  --it;
  return a - it->first < (uint64_t{it->second} << 12);
}

// kasan_poison / kasan_unpoison over the simulated shadow.
void ShadowSet(const char* what, const void* addr, size_t size, bool poison, uint8_t value) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
  if (a & (kGranule - 1))
    Die(what, "address not aligned to the KASAN granule");
  std::shared_lock<std::shared_mutex> g(g_check_mu);
  const size_t full = poison ? (size + kGranule - 1) & ~(kGranule - 1) : size & ~(kGranule - 1);
  for (uintptr_t p = a; p < a + full; p += kGranule) {
    uint8_t* sh = ShadowOf(p);
    if (!sh)
      Die(what, "a range outside every lent chunk");
    *sh = poison ? value : 0;
  }
  if (!poison && (size & (kGranule - 1))) {
    uint8_t* sh = ShadowOf(a + full);
    if (!sh)
      Die(what, "a range outside every lent chunk");
    *sh = static_cast<uint8_t>(size & (kGranule - 1));
  }
}

uint8_t PoisonValue(enum mmlab_host_poison kind) {
  switch (kind) {
    case MMLAB_HOST_POISON_SLAB_FREE:
      return kShadowSlabFree;
    case MMLAB_HOST_POISON_REDZONE:
      return kShadowSlabRedzone;
    case MMLAB_HOST_POISON_PAGE_FREE:
      return kShadowPageFree;
  }
  Die("mmlab_host_poison", "unknown kind");
}

}  // namespace

uint8_t ShadowByte(const void* p) {
  std::shared_lock<std::shared_mutex> g(g_check_mu);
  const uint8_t* sh = ShadowOf(reinterpret_cast<uintptr_t>(p) & ~(kGranule - 1));
  return sh ? *sh : 0;
}

bool IsAccessible(const void* p, size_t n) {
  std::shared_lock<std::shared_mutex> g(g_check_mu);
  return FirstBadByte(reinterpret_cast<uintptr_t>(p), n) == 0;
}

size_t PoisonedBytes(const void* p, size_t n) {
  std::shared_lock<std::shared_mutex> g(g_check_mu);
  size_t bad = 0;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  for (uintptr_t q = a; q < a + n; q++)
    bad += !ByteAccessible(q);
  return bad;
}

uint64_t RegisteredObjects() {
  std::lock_guard<std::mutex> g(g_leak_mu);
  return g_registered.size();
}

size_t RegisteredSize(const void* p) {
  std::lock_guard<std::mutex> g(g_leak_mu);
  auto it = g_registered.find(reinterpret_cast<uintptr_t>(p));
  return it == g_registered.end() ? 0 : it->second;
}

uint64_t ObjectAllocCalls() { return g_object_allocs; }
uint64_t ObjectFreeCalls() { return g_object_frees; }

void Reset() {
  {
    std::lock_guard<std::mutex> g(g_mu);
    g_logs.clear();
    g_fail_chunks = g_fail_meta = g_skip_meta = 0;
    g_chunk_budget = -1;
    for (int& f : g_fail_zone)
      f = 0;
    g_no_high_memory = false;
    g_fail_run_in_context = 0;
    g_fail_vmaps = 0;
  }
  g_nr_cpus = 4;
  for (auto& online : g_cpu_online)
    online = true;
  t_cpu = 0;
  g_fail_caps = 0;
  t_fail_nth = 0;
  t_make_it_fail = false;
  ClearTraces();
  RecordTraces(false);
}

void SetFailCaps(uint32_t caps) { g_fail_caps = caps; }
void SetFailNth(uint32_t n) { t_fail_nth = n; }
uint32_t FailNth() { return t_fail_nth; }
void SetMakeItFail(bool on) { t_make_it_fail = on; }
uint64_t DumpStackCalls() { return g_dump_stacks; }

std::vector<LogLine> Logs() {
  std::lock_guard<std::mutex> g(g_mu);
  return g_logs;
}

void ClearLogs() {
  std::lock_guard<std::mutex> g(g_mu);
  g_logs.clear();
}

size_t CountLogs(const std::string& needle, int level) {
  std::lock_guard<std::mutex> g(g_mu);
  size_t n = 0;
  for (const LogLine& l : g_logs) {
    if ((level < 0 || l.level == level) && l.text.find(needle) != std::string::npos)
      n++;
  }
  return n;
}

std::string LogText() {
  std::lock_guard<std::mutex> g(g_mu);
  std::string s;
  for (const LogLine& l : g_logs)
    s += "<" + std::to_string(l.level) + "> " + l.text + "\n";
  return s;
}

void FailChunkAllocs(int n) {
  std::lock_guard<std::mutex> g(g_mu);
  g_fail_chunks = n;
}

void FailMetaAllocs(int n, int skip) {
  std::lock_guard<std::mutex> g(g_mu);
  g_fail_meta = n;
  g_skip_meta = skip;
}

void LimitChunkAllocs(int allowed) {
  std::lock_guard<std::mutex> g(g_mu);
  g_chunk_budget = allowed;
}

void FailZoneChunkAllocs(mmlab_host_zone zone, int n) {
  std::lock_guard<std::mutex> g(g_mu);
  g_fail_zone[zone] = n;
}

void SetNoHighMemory(bool on) {
  std::lock_guard<std::mutex> g(g_mu);
  g_no_high_memory = on;
}

uint64_t ChunksOutstanding() {
  std::lock_guard<std::mutex> g(g_mu);
  return g_chunks.size();
}

uint64_t ChunksOutstandingIn(mmlab_host_zone zone) {
  std::lock_guard<std::mutex> g(g_mu);
  uint64_t n = 0;
  for (auto& [vaddr, c] : g_chunks)
    n += c.zone == zone;
  return n;
}

uint64_t ChunksBorrowed() { return g_borrowed; }
uint64_t ChunksReturned() { return g_returned; }
uint64_t ChunkAllocsThatMaySleep() { return g_sleep; }
uint64_t ChunkAllocsThatMayNotSleep() { return g_nosleep; }
uint64_t MetaBytesOutstanding() { return static_cast<uint64_t>(g_meta_bytes.load()); }
uint64_t LocksOutstanding() { return static_cast<uint64_t>(g_locks.load()); }

uint64_t ReleaseLeakedChunks() {
  std::lock_guard<std::mutex> g(g_mu);
  uint64_t n = g_chunks.size();
  for (auto& [vaddr, c] : g_chunks) {
    ShadowRemoveChunk(vaddr, false);
    ReleaseMemory(vaddr, c);
  }
  g_returned += n;
  g_chunks.clear();
  return n;
}

void UseContiguousChunks(bool on) {
  std::lock_guard<std::mutex> g(g_mu);
  g_arena_on = on;
  if (!on) {
    if (g_arena)
      munmap(g_arena, g_arena_chunk_bytes * kArenaChunks);
    g_arena = nullptr;
    g_arena_next = g_arena_chunk_bytes = 0;
  }
}

bool IsLentAddress(const void* p) {
  std::lock_guard<std::mutex> g(g_mu);
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = g_chunks.upper_bound(a);
  if (it == g_chunks.begin())
    return false;
  --it;
  return a < it->first + it->second.bytes;
}

void SetNrCpus(uint32_t n) {
  if (n == 0 || n > kMaxCpus)
    Die("SetNrCpus: 1..64 CPUs", nullptr);
  g_nr_cpus = n;
}

void BindCpu(uint32_t cpu) {
  if (cpu >= g_nr_cpus || !g_cpu_online[cpu])
    Die("BindCpu: no such online CPU", nullptr);
  if (t_irq_depth)
    Die("BindCpu with interrupts off", nullptr);
  t_cpu = cpu;
}

uint32_t BoundCpu() { return t_cpu; }

void SetCpuOnline(uint32_t cpu, bool online) {
  if (cpu >= kMaxCpus)
    Die("SetCpuOnline: no such CPU", nullptr);
  // Taking the CPU's mutex waits for whoever is "on" it with interrupts off.
  std::lock_guard<std::mutex> g(g_cpu_mu[cpu]);
  g_cpu_online[cpu] = online;
}

uint64_t OnEachCpuCalls() { return g_on_each_cpu; }
uint64_t MightSleepCalls() { return g_might_sleep; }
uint64_t SleepCalls() { return g_sleeps; }
bool InAtomicContext() { return Atomic(); }

void FailRunInContext(int n) {
  std::lock_guard<std::mutex> g(g_mu);
  g_fail_run_in_context = n;
}

uint64_t KswapdWakes() { return g_kswapd_wakes; }

void StartKswapdThread(mmlab_core* core) {
  if (g_kswapd_thread)
    Die("kswapd thread already running", nullptr);
  {
    std::lock_guard<std::mutex> g(g_kswapd_mu);
    g_kswapd_stop = false;
    g_kswapd_pending = false;
  }
  g_kswapd_thread = new std::thread(KswapdLoop, core);
}

void StopKswapdThread() {
  if (!g_kswapd_thread)
    return;
  {
    std::lock_guard<std::mutex> g(g_kswapd_mu);
    g_kswapd_stop = true;
  }
  g_kswapd_cv.notify_all();
  g_kswapd_thread->join();
  delete g_kswapd_thread;
  g_kswapd_thread = nullptr;
}

uint64_t KswapdThreadRuns() { return g_kswapd_runs; }

void AdvanceClock(uint64_t ns) { g_clock_offset += ns; }

void RecordTraces(bool on) {
  std::lock_guard<std::mutex> g(g_trace_mu);
  g_trace_on = on;
}

std::vector<TraceEvent> Traces() {
  std::lock_guard<std::mutex> g(g_trace_mu);
  return g_traces;
}

void ClearTraces() {
  std::lock_guard<std::mutex> g(g_trace_mu);
  g_traces.clear();
}

uint64_t TraceCount(TraceKind kind) { return g_trace_count[static_cast<int>(kind)]; }

void FailVmaps(int n) {
  std::lock_guard<std::mutex> g(g_mu);
  g_fail_vmaps = n;
}

uint64_t VmapsOutstanding() {
  std::lock_guard<std::mutex> g(g_mu);
  return g_vmaps.size();
}

uint64_t VmapCalls() { return g_vmap_calls; }
uint64_t WaitCalls() { return g_waits; }
uint64_t WakeUps() { return g_wakeups; }

namespace {

void Trace(TraceKind kind, uint64_t pfn, uint32_t order, uint32_t gfp, uint32_t zone) {
  g_trace_count[static_cast<int>(kind)]++;
  std::lock_guard<std::mutex> g(g_trace_mu);
  if (g_trace_on && g_traces.size() < kMaxTraces)
    g_traces.push_back({kind, pfn, order, gfp, zone});
}

}  // namespace

}  // namespace sim

using namespace sim;

extern "C" {

int mmlab_host_chunk_alloc(uint32_t order, enum mmlab_host_zone zone, int can_sleep,
                           struct mmlab_host_chunk* out) {
  MustNotHoldLocks("mmlab_host_chunk_alloc");
  if (can_sleep && t_atomic_ctx)
    Die("a chunk allocation that may sleep in an atomic context", nullptr);
  (can_sleep ? g_sleep : g_nosleep)++;
  {
    std::lock_guard<std::mutex> g(g_mu);
    if (g_fail_chunks != 0) {
      if (g_fail_chunks > 0)
        g_fail_chunks--;
      return -1;
    }
    if (g_fail_zone[zone] != 0) {
      if (g_fail_zone[zone] > 0)
        g_fail_zone[zone]--;
      return -1;
    }
    if (zone == MMLAB_HOST_ZONE_NORMAL && g_no_high_memory)
      return -1;
    if (g_chunk_budget == 0)
      return -1;
    if (g_chunk_budget > 0)
      g_chunk_budget--;
  }
  size_t bytes = size_t{4096} << order;
  void* p = nullptr;
  bool arena = false;
  off_t off = 0;
  {
    std::lock_guard<std::mutex> g(g_mu);
    if (!MemfdTake(bytes, &off))
      return -1;
    if (zone != MMLAB_HOST_ZONE_DMA32 && g_arena_on) {
      if (!g_arena) {
        g_arena = ReserveAligned(bytes * kArenaChunks, bytes * kArenaChunks, false);
        if (!g_arena)
          Die("reserving the contiguous chunk arena", nullptr);
        g_arena_chunk_bytes = bytes;
      }
      if (g_arena_chunk_bytes != bytes || g_arena_next == kArenaChunks)
        Die("contiguous chunk arena exhausted or used with two chunk orders", nullptr);
      p = static_cast<char*>(g_arena) + bytes * g_arena_next++;
      arena = true;
    } else {
      // Naturally aligned, like the buddy; DMA32 below 2 GiB.
      p = ReserveAligned(bytes, bytes, zone == MMLAB_HOST_ZONE_DMA32);
    }
    if (!p || !MapShared(p, bytes, off)) {
      if (p && !arena)
        munmap(p, bytes);
      MemfdGive(bytes, off);
      return -1;
    }
  }
  uintptr_t v = reinterpret_cast<uintptr_t>(p);
  if (zone == MMLAB_HOST_ZONE_DMA32 && v + bytes > (uintptr_t{1} << 32))
    Die("a DMA32 chunk above 4 GiB", nullptr);
  if (zone == MMLAB_HOST_ZONE_NORMAL && v < (uintptr_t{1} << 32))
    Die("a Normal chunk below 4 GiB: fake pfns would look like DMA32", nullptr);
  memset(p, 0xa5, bytes);  // the host's pages are never zeroed for us
  ShadowAddChunk(v, bytes);
  {
    std::lock_guard<std::mutex> g(g_mu);
    g_chunks[v] = {bytes, zone, arena, off};
  }
  g_borrowed++;
  out->vaddr = p;
  out->pfn = v >> 12;
  out->cookie = p;
  return 0;
}

void mmlab_host_chunk_free(const struct mmlab_host_chunk* chunk, uint32_t order) {
  MustNotHoldLocks("mmlab_host_chunk_free");
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_chunks.find(reinterpret_cast<uintptr_t>(chunk->vaddr));
  if (it == g_chunks.end() || it->second.bytes != (size_t{4096} << order) ||
      chunk->cookie != chunk->vaddr)
    Die("chunk_free of a chunk that was not lent, or with the wrong order", nullptr);
  LentChunk c = it->second;
  g_chunks.erase(it);
  g_returned++;
  ShadowRemoveChunk(reinterpret_cast<uintptr_t>(chunk->vaddr), true);
  ReleaseMemory(reinterpret_cast<uintptr_t>(chunk->vaddr), c);
}

void* mmlab_host_meta_alloc(size_t bytes, int can_sleep) {
  MustNotHoldLocks("mmlab_host_meta_alloc");
  if (can_sleep && t_atomic_ctx)
    Die("a metadata allocation that may sleep in an atomic context", nullptr);
  {
    std::lock_guard<std::mutex> g(g_mu);
    if (g_fail_meta != 0 && g_skip_meta > 0) {
      g_skip_meta--;
    } else if (g_fail_meta != 0) {
      if (g_fail_meta > 0)
        g_fail_meta--;
      return nullptr;
    }
  }
  void* p = calloc(1, bytes);
  if (p)
    g_meta_bytes += static_cast<int64_t>(bytes);
  return p;
}

void mmlab_host_meta_free(void* p, size_t bytes) {
  MustNotHoldLocks("mmlab_host_meta_free");
  if (!p)
    return;
  g_meta_bytes -= static_cast<int64_t>(bytes);
  free(p);
}

struct mmlab_host_lock {
  pthread_mutex_t mu;
  const char* name;
  bool held;
  bool zone;  // the innermost class: nothing may disable interrupts under it
};

struct mmlab_host_lock* mmlab_host_lock_create(const char* name) {
  auto* l = new mmlab_host_lock;
  // Error-checking, so taking a core lock twice on one thread aborts
  // instead of deadlocking (lockdep would report recursion).
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&l->mu, &attr);
  pthread_mutexattr_destroy(&attr);
  l->name = name;
  l->held = false;
  l->zone = strcmp(name, "mmlab_zone") == 0;
  g_locks++;
  return l;
}

void mmlab_host_lock_destroy(struct mmlab_host_lock* l) {
  if (l->held)
    Die("destroying a held lock", l->name);
  pthread_mutex_destroy(&l->mu);
  delete l;
  g_locks--;
}

unsigned long mmlab_host_lock_irqsave(struct mmlab_host_lock* l) {
  if (pthread_mutex_lock(&l->mu) != 0)
    Die("lock taken recursively", l->name);
  l->held = true;
  if (l->zone)
    t_zone_locks_held++;
  return static_cast<unsigned long>(++t_locks_held) | 0x200;  // "IF was set"
}

void mmlab_host_unlock_irqrestore(struct mmlab_host_lock* l, unsigned long flags) {
  if (!l->held || static_cast<int>(flags & ~0x200ul) != t_locks_held)
    Die("unlock out of order or of a lock not held", l->name);
  t_locks_held--;
  if (l->zone)
    t_zone_locks_held--;
  l->held = false;
  pthread_mutex_unlock(&l->mu);
}

void mmlab_host_log(int level_and_flags, const char* msg) {
  // The simulation keeps every line, rate limited or not, so tests can
  // assert on each refusal.
  const auto level = static_cast<mmlab_log_level>(level_and_flags & ~MMLAB_LOG_RATELIMITED);
  if (strstr(msg, "BUG:") || strstr(msg, "WARNING:"))
    Die("log line the VM harness would treat as a kernel failure", msg);
  if (getenv("MMLAB_SIM_VERBOSE"))
    fprintf(stderr, "[core <%d>] %s\n", level, msg);
  std::lock_guard<std::mutex> g(g_mu);
  g_logs.push_back({level, msg});
}

int mmlab_host_vsnprintf(char* buf, size_t size, const char* fmt, __builtin_va_list args) {
  CheckFormat(fmt);
  return vsnprintf(buf, size, fmt, args);
}

uint64_t mmlab_host_clock_ns(void) { return mmlab_host_now_ns(); }

uint64_t mmlab_host_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec) +
         g_clock_offset.load();
}

uint32_t mmlab_host_nr_cpu_ids(void) { return g_nr_cpus; }

unsigned long mmlab_host_local_irq_save(uint32_t* cpu) {
  if (t_irq_depth == 0) {
    if (t_zone_locks_held)
      Die("local_irq_save under a zone lock (on_each_cpu nests them the other way round)",
          nullptr);
    uint32_t c = t_cpu;
    if (c >= g_nr_cpus || !g_cpu_online[c])
      Die("thread runs on a CPU that does not exist or is offline", nullptr);
    g_cpu_mu[c].lock();
    t_irq_cpu = c;
  }
  t_irq_depth++;
  *cpu = t_irq_cpu;
  return 0x1000ul | t_irq_depth;
}

void mmlab_host_local_irq_restore(unsigned long flags) {
  if ((flags & 0xffful) != t_irq_depth || t_irq_depth == 0)
    Die("local_irq_restore out of order", nullptr);
  if (--t_irq_depth == 0)
    g_cpu_mu[t_irq_cpu].unlock();
}

void mmlab_host_on_each_cpu(void (*fn)(void* arg), void* arg) {
  MustNotHoldLocks("mmlab_host_on_each_cpu");
  if (t_atomic_ctx)
    Die("on_each_cpu in an atomic context", nullptr);
  g_on_each_cpu++;
  for (uint32_t c = 0; c < g_nr_cpus; c++) {
    std::lock_guard<std::mutex> g(g_cpu_mu[c]);
    if (!g_cpu_online[c])
      continue;
    // "On" CPU c with interrupts off, as an IPI handler would be.
    t_irq_depth = 1;
    t_irq_cpu = c;
    fn(arg);
    if (t_irq_depth != 1)
      Die("on_each_cpu function left interrupts unbalanced", nullptr);
    t_irq_depth = 0;
  }
}

void mmlab_host_might_sleep(void) {
  g_might_sleep++;
  if (Atomic())
    Die("sleeping function called from invalid context (might_sleep)", nullptr);
}

void mmlab_host_sleep_us(uint32_t usecs) {
  if (Atomic())
    Die("sleep in an atomic context", nullptr);
  g_sleeps++;
  usleep(usecs);
}

void mmlab_host_kswapd_wake(void) {
  g_kswapd_wakes++;
  {
    std::lock_guard<std::mutex> g(g_kswapd_mu);
    g_kswapd_pending = true;
  }
  g_kswapd_cv.notify_one();
}

int mmlab_host_run_in_context(enum mmlab_host_context ctx, void (*fn)(void* arg), void* arg) {
  MustNotHoldLocks("mmlab_host_run_in_context");
  {
    std::lock_guard<std::mutex> g(g_mu);
    if (g_fail_run_in_context > 0) {
      g_fail_run_in_context--;
      return -1;
    }
  }
  switch (ctx) {
    case MMLAB_HOST_CTX_PROCESS:
      fn(arg);
      return 0;
    case MMLAB_HOST_CTX_IRQS_OFF:
      t_atomic_ctx++;
      fn(arg);
      t_atomic_ctx--;
      return 0;
    case MMLAB_HOST_CTX_TIMER: {
      // A softirq on this CPU, in a context of its own.
      uint32_t cpu = t_cpu;
      std::thread timer([&] {
        t_cpu = cpu;
        t_atomic_ctx = 1;
        fn(arg);
      });
      timer.join();
      return 0;
    }
  }
  return -1;
}

void mmlab_host_trace_page_alloc(uint64_t pfn, uint32_t order, uint32_t gfp, uint32_t zone) {
  Trace(TraceKind::kAlloc, pfn, order, gfp, zone);
}

void mmlab_host_trace_page_free(uint64_t pfn, uint32_t order) {
  Trace(TraceKind::kFree, pfn, order, 0, 0);
}

void mmlab_host_trace_page_pcpu_drain(uint64_t pfn, uint32_t order) {
  Trace(TraceKind::kPcpuDrain, pfn, order, 0, 0);
}

// --- issue #4 hooks: simple versions; the mempool/vmalloc work refines them ---

void mmlab_host_trace_kmem_cache_alloc(uintptr_t, const void*, const char*, size_t, size_t,
                                       uint32_t) {}
void mmlab_host_trace_kmem_cache_free(uintptr_t, const void*, const char*) {}
void mmlab_host_trace_kmalloc(uintptr_t, const void*, size_t, size_t, uint32_t) {}
void mmlab_host_trace_kfree(uintptr_t, const void*) {}

struct mmlab_host_waitq {
  std::mutex mu;
  std::condition_variable cv;
};

struct mmlab_host_waitq* mmlab_host_waitq_create(const char*) {
  return new mmlab_host_waitq;
}

void mmlab_host_waitq_destroy(struct mmlab_host_waitq* wq) { delete wq; }

int mmlab_host_wait_event_timeout(struct mmlab_host_waitq* wq, int (*cond)(void* arg), void* arg,
                                  uint32_t timeout_us) {
  MustNotHoldLocks("mmlab_host_wait_event_timeout");
  if (Atomic())
    Die("wait_event in an atomic context", nullptr);
  g_waits++;
  std::unique_lock<std::mutex> lock(wq->mu);
  wq->cv.wait_for(lock, std::chrono::microseconds(timeout_us), [&] { return cond(arg) != 0; });
  return cond(arg);
}

void mmlab_host_wake_up(struct mmlab_host_waitq* wq) {
  g_wakeups++;
  { std::lock_guard<std::mutex> g(wq->mu); }
  wq->cv.notify_all();
}

// vmap: reserve nr_pages of address space, then map each run of pages
// that are neighbours in the memfd with one mmap(MAP_SHARED|MAP_FIXED).
void* mmlab_host_vmap(const uint64_t* pfns, uint32_t nr_pages) {
  MustNotHoldLocks("mmlab_host_vmap");
  if (Atomic())
    Die("vmap in an atomic context", nullptr);
  g_vmap_calls++;
  std::lock_guard<std::mutex> g(g_mu);
  if (g_fail_vmaps != 0) {
    if (g_fail_vmaps > 0)
      g_fail_vmaps--;
    return nullptr;
  }
  if (nr_pages == 0)
    Die("vmap of no pages", nullptr);
  size_t bytes = size_t{nr_pages} << 12;
  void* base = ReserveAligned(bytes, 4096, false);
  if (!base)
    return nullptr;
  std::vector<off_t> offs(nr_pages);
  for (uint32_t i = 0; i < nr_pages; i++) {
    uintptr_t a = static_cast<uintptr_t>(pfns[i]) << 12;
    auto it = g_chunks.upper_bound(a);
    if (it == g_chunks.begin() || a >= std::prev(it)->first + std::prev(it)->second.bytes)
      Die("vmap of a pfn the host never lent", nullptr);
    --it;
    offs[i] = it->second.file_off + static_cast<off_t>(a - it->first);
  }
  char* v = static_cast<char*>(base);
  for (uint32_t i = 0; i < nr_pages;) {
    uint32_t run = 1;
    while (i + run < nr_pages && offs[i + run] == offs[i] + static_cast<off_t>(run) * 4096)
      run++;
    if (!MapShared(v + (size_t{i} << 12), size_t{run} << 12, offs[i]))
      Die("mapping pages for vmap", strerror(errno));
    i += run;
  }
  g_vmaps[reinterpret_cast<uintptr_t>(base)] = nr_pages;
  return base;
}

void mmlab_host_vunmap(void* addr, uint32_t nr_pages) {
  MustNotHoldLocks("mmlab_host_vunmap");
  if (Atomic())
    Die("vunmap in an atomic context", nullptr);
  std::lock_guard<std::mutex> g(g_mu);
  auto it = g_vmaps.find(reinterpret_cast<uintptr_t>(addr));
  if (it == g_vmaps.end() || it->second != nr_pages)
    Die("vunmap of an address vmap did not return, or with another page count", nullptr);
  munmap(addr, size_t{nr_pages} << 12);
  g_vmaps.erase(it);
}

void mmlab_host_format_symbol(uintptr_t addr, char* buf, size_t size) {
  snprintf(buf, size, "caller_0x%lx", static_cast<unsigned long>(addr));
}

void mmlab_host_format_ptr(const void* ptr, char* buf, size_t size) {
  snprintf(buf, size, "%08lx",
           static_cast<unsigned long>(reinterpret_cast<uintptr_t>(ptr) * 0x9e3779b97f4a7c15ull >> 32));
}

void mmlab_host_assert_fail(const char* expr, const char* file, int line) {
  fprintf(stderr, "host_sim: assertion '%s' failed at %s:%d\n", expr, file, line);
  abort();
}

// --- the kernel's checkers: a KASAN shadow and a kmemleak registry -------------
// What kmemleak would warn about (an object registered twice or overlapping
// another, freeing an unknown one) and what KASAN's kasan_poison would WARN
// about (a misaligned range) abort, as do poisoned ranges outside the chunks.

void mmlab_host_object_alloc(const void* obj, size_t size, uint32_t) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(obj);
  g_object_allocs++;
  if (!obj || size == 0)
    Die("mmlab_host_object_alloc", "a null object or size 0");
  {
    std::lock_guard<std::mutex> g(g_leak_mu);
    auto next = g_registered.lower_bound(a);
    if (next != g_registered.end() && next->first < a + size)
      Die("kmemleak (simulated): object_alloc overlaps a registered object", nullptr);
    if (next != g_registered.begin() && std::prev(next)->first + std::prev(next)->second > a)
      Die("kmemleak (simulated): object_alloc inside a registered object", nullptr);
    g_registered[a] = size;
  }
  if (!IsVmapAddress(a))
    ShadowSet("mmlab_host_object_alloc", obj, size, false, 0);
}

void mmlab_host_object_free(const void* obj, size_t size) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(obj);
  g_object_frees++;
  {
    std::lock_guard<std::mutex> g(g_leak_mu);
    auto it = g_registered.find(a);
    if (it == g_registered.end())
      Die("kmemleak (simulated): freeing an unknown object", nullptr);
    if (size < it->second)
      Die("mmlab_host_object_free", "size smaller than the object's");
    g_registered.erase(it);
  }
  if (IsVmapAddress(a))
    return;
  if (!IsAccessible(obj, 1))
    Die("mmlab_host_object_free", "the object's first byte is already poisoned");
  ShadowSet("mmlab_host_object_free", obj, size, true, kShadowSlabFree);
}

void mmlab_host_poison(const void* addr, size_t size, enum mmlab_host_poison kind) {
  ShadowSet("mmlab_host_poison", addr, size, true, PoisonValue(kind));
}

void mmlab_host_unpoison(const void* addr, size_t size) {
  ShadowSet("mmlab_host_unpoison", addr, size, false, 0);
}

void* mmlab_sim_kasan_memset(void* dst, int c, size_t n) {
  CheckedAccess("memset", dst, n);
  return memset(dst, c, n);
}

void* mmlab_sim_kasan_memcpy(void* dst, const void* src, size_t n) {
  CheckedAccess("memcpy (source)", src, n);
  CheckedAccess("memcpy (destination)", dst, n);
  return memcpy(dst, src, n);
}
int32_t mmlab_host_current_pid(void) { return static_cast<int32_t>(getpid()); }

uint32_t mmlab_host_fail_caps(void) { return g_fail_caps; }

// should_fail_ex()'s first step, on this thread's countdown; only ever
// called by a core whose host offered MMLAB_HOST_FAIL_NTH.
int mmlab_host_fail_nth(int64_t) {
  if (!(g_fail_caps & MMLAB_HOST_FAIL_NTH))
    Die("mmlab_host_fail_nth called on a host without fail-nth", nullptr);
  if (t_fail_nth == 0 || t_atomic_ctx)
    return 0;
  return --t_fail_nth == 0;
}

int mmlab_host_fail_task(void) { return !t_atomic_ctx && t_make_it_fail; }

void mmlab_host_dump_stack(void) { g_dump_stacks++; }

}  // extern "C"
