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
#include <time.h>

#include <atomic>
#include <map>
#include <mutex>

#include "mmlab/host.h"

namespace sim {
namespace {

std::mutex g_mu;  // guards everything below that is not atomic
std::vector<LogLine> g_logs;
std::map<uintptr_t, size_t> g_chunks;  // vaddr -> bytes, lent now
int g_fail_chunks = 0;
int g_fail_meta = 0;
int g_skip_meta = 0;
int g_chunk_budget = -1;  // < 0: unlimited
std::atomic<uint64_t> g_borrowed{0}, g_returned{0}, g_sleep{0}, g_nosleep{0};
std::atomic<int64_t> g_meta_bytes{0};
std::atomic<int64_t> g_locks{0};
thread_local int t_locks_held = 0;
constexpr size_t kArenaChunks = 16;
bool g_arena_on = false;
void* g_arena = nullptr;
size_t g_arena_chunk_bytes = 0;
size_t g_arena_next = 0;

[[noreturn]] void Die(const char* what, const char* detail) {
  fprintf(stderr, "host_sim: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

void MustNotHoldLocks(const char* call) {
  if (t_locks_held != 0)
    Die("host page source or metadata allocator called with a core lock held", call);
}

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

}  // namespace

void Reset() {
  std::lock_guard<std::mutex> g(g_mu);
  g_logs.clear();
  g_fail_chunks = g_fail_meta = g_skip_meta = 0;
  g_chunk_budget = -1;
}

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

uint64_t ChunksOutstanding() {
  std::lock_guard<std::mutex> g(g_mu);
  return g_chunks.size();
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
  for (auto& [vaddr, bytes] : g_chunks) {
    char* v = reinterpret_cast<char*>(vaddr);
    bool in_arena = g_arena && v >= static_cast<char*>(g_arena) &&
                    v < static_cast<char*>(g_arena) + g_arena_chunk_bytes * kArenaChunks;
    if (!in_arena)
      free(v);
  }
  g_returned += n;
  g_chunks.clear();
  return n;
}

void UseContiguousChunks(bool on) {
  std::lock_guard<std::mutex> g(g_mu);
  g_arena_on = on;
  if (!on) {
    free(g_arena);
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
  return a < it->first + it->second;
}

}  // namespace sim

using namespace sim;

extern "C" {

int mmlab_host_chunk_alloc(uint32_t order, enum mmlab_host_zone zone, int can_sleep,
                           struct mmlab_host_chunk* out) {
  (void)zone;
  MustNotHoldLocks("mmlab_host_chunk_alloc");
  (can_sleep ? g_sleep : g_nosleep)++;
  {
    std::lock_guard<std::mutex> g(g_mu);
    if (g_fail_chunks != 0) {
      if (g_fail_chunks > 0)
        g_fail_chunks--;
      return -1;
    }
    if (g_chunk_budget == 0)
      return -1;
    if (g_chunk_budget > 0)
      g_chunk_budget--;
  }
  size_t bytes = size_t{4096} << order;
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> g(g_mu);
    if (g_arena_on) {
      if (!g_arena) {
        g_arena = aligned_alloc(bytes * kArenaChunks, bytes * kArenaChunks);
        g_arena_chunk_bytes = bytes;
      }
      if (g_arena_chunk_bytes != bytes || g_arena_next == kArenaChunks)
        Die("contiguous chunk arena exhausted or used with two chunk orders", nullptr);
      p = static_cast<char*>(g_arena) + bytes * g_arena_next++;
    }
  }
  if (!p)
    p = aligned_alloc(bytes, bytes);  // naturally aligned, like the buddy
  if (!p)
    return -1;
  memset(p, 0xa5, bytes);  // the host's pages are never zeroed for us
  {
    std::lock_guard<std::mutex> g(g_mu);
    g_chunks[reinterpret_cast<uintptr_t>(p)] = bytes;
  }
  g_borrowed++;
  out->vaddr = p;
  out->pfn = reinterpret_cast<uintptr_t>(p) >> 12;
  out->cookie = p;
  return 0;
}

void mmlab_host_chunk_free(const struct mmlab_host_chunk* chunk, uint32_t order) {
  MustNotHoldLocks("mmlab_host_chunk_free");
  {
    std::lock_guard<std::mutex> g(g_mu);
    auto it = g_chunks.find(reinterpret_cast<uintptr_t>(chunk->vaddr));
    if (it == g_chunks.end() || it->second != (size_t{4096} << order) ||
        chunk->cookie != chunk->vaddr)
      Die("chunk_free of a chunk that was not lent, or with the wrong order", nullptr);
    g_chunks.erase(it);
  }
  g_returned++;
  char* v = static_cast<char*>(chunk->vaddr);
  std::lock_guard<std::mutex> g(g_mu);
  if (g_arena && v >= static_cast<char*>(g_arena) &&
      v < static_cast<char*>(g_arena) + g_arena_chunk_bytes * kArenaChunks)
    return;  // arena memory goes when the arena is turned off
  free(v);
}

void* mmlab_host_meta_alloc(size_t bytes, int can_sleep) {
  (void)can_sleep;
  MustNotHoldLocks("mmlab_host_meta_alloc");
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
  return static_cast<unsigned long>(++t_locks_held) | 0x200;  // "IF was set"
}

void mmlab_host_unlock_irqrestore(struct mmlab_host_lock* l, unsigned long flags) {
  if (!l->held || static_cast<int>(flags & ~0x200ul) != t_locks_held)
    Die("unlock out of order or of a lock not held", l->name);
  t_locks_held--;
  l->held = false;
  pthread_mutex_unlock(&l->mu);
}

void mmlab_host_log(enum mmlab_log_level level, const char* msg) {
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

uint64_t mmlab_host_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void mmlab_host_assert_fail(const char* expr, const char* file, int line) {
  fprintf(stderr, "host_sim: assertion '%s' failed at %s:%d\n", expr, file, line);
  abort();
}

}  // extern "C"
