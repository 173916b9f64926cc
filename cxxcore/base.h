// SPDX-License-Identifier: GPL-2.0
//
// base.h - the few language helpers the freestanding core needs.
//
// The core is compiled with the kernel's flags (-nostdinc, -nostdinc++,
// -ffreestanding), so nothing from the C or C++ standard library is
// available. What the rest of cxxcore/ would have taken from <utility>,
// <new> or <cassert> lives here: min/max, ArraySize, placement new, an
// intrusive doubly-linked list, assertions and the clang thread-safety
// annotation macros (which expand to nothing under GCC, the kernel's
// compiler).
#ifndef MMLAB_CXXCORE_BASE_H
#define MMLAB_CXXCORE_BASE_H

#include "mmlab/abi_types.h"
#include "mmlab/host.h"

// Placement new. The host test build links libstdc++ and must use its
// declaration; the kernel build has no <new>, so the core declares its own.
#if defined(MMLAB_HOST_BUILD) && MMLAB_HOST_BUILD
#include <new>
#else
inline void* operator new(size_t, void* p) noexcept { return p; }
#endif

namespace mmlab {

// An object of the core's own bookkeeping (a cache, a pool, a registry) in
// zeroed host metadata memory: may sleep; null when the host has none.
template <typename T>
T* MetaNew() {
  void* mem = mmlab_host_meta_alloc(sizeof(T), 1);
  return mem ? new (mem) T() : nullptr;
}

// Runs the destructor and gives the memory back; null is ignored.
template <typename T>
void MetaDelete(T* p) {
  if (!p)
    return;
  p->~T();
  mmlab_host_meta_free(p, sizeof(T));
}

}  // namespace mmlab

// Clang's -Wthread-safety annotations. GCC builds the kernel module and
// ignores them; clang-14 with -DMMLAB_THREAD_SAFETY=ON checks them.
#if defined(__clang__)
#define MMLAB_TSA(x) __attribute__((x))
#else
#define MMLAB_TSA(x)
#endif
#define MMLAB_CAPABILITY(x) MMLAB_TSA(capability(x))
#define MMLAB_SCOPED_CAPABILITY MMLAB_TSA(scoped_lockable)
#define MMLAB_GUARDED_BY(x) MMLAB_TSA(guarded_by(x))
#define MMLAB_PT_GUARDED_BY(x) MMLAB_TSA(pt_guarded_by(x))
#define MMLAB_REQUIRES(...) MMLAB_TSA(requires_capability(__VA_ARGS__))
#define MMLAB_ACQUIRE(...) MMLAB_TSA(acquire_capability(__VA_ARGS__))
#define MMLAB_RELEASE(...) MMLAB_TSA(release_capability(__VA_ARGS__))
#define MMLAB_EXCLUDES(...) MMLAB_TSA(locks_excluded(__VA_ARGS__))
#define MMLAB_ACQUIRED_AFTER(...) MMLAB_TSA(acquired_after(__VA_ARGS__))
#define MMLAB_NO_THREAD_SAFETY_ANALYSIS MMLAB_TSA(no_thread_safety_analysis)

#define MMLAB_LIKELY(x) __builtin_expect(!!(x), 1)
#define MMLAB_UNLIKELY(x) __builtin_expect(!!(x), 0)

namespace mmlab {

// Reports a failed assertion to the host and hands the verdict back, so the
// caller can refuse the operation: in the kernel mmlab_host_assert_fail()
// WARNs and returns, and code after an assertion must still be safe there.
// The host test build aborts instead.
inline bool AssertCheck(bool ok, const char* expr, const char* file, int line) {
  if (MMLAB_UNLIKELY(!ok))
    mmlab_host_assert_fail(expr, file, line);
  return ok;
}

}  // namespace mmlab

// Always on, in both builds: every assertion guards a state the core must
// never act on. Evaluates to the condition: `if (!MMLAB_ASSERT(x)) return;`.
#define MMLAB_ASSERT(expr) ::mmlab::AssertCheck(!!(expr), #expr, __FILE__, __LINE__)

#define MMLAB_NO_COPY(Type)        \
  Type(const Type&) = delete;      \
  Type& operator=(const Type&) = delete

namespace mmlab {

template <typename T>
constexpr T Min(T a, T b) {
  return a < b ? a : b;
}

template <typename T>
constexpr T Max(T a, T b) {
  return a < b ? b : a;
}

template <typename T, size_t N>
constexpr size_t ArraySize(const T (&)[N]) {
  return N;
}

constexpr bool IsAligned(uint64_t value, uint32_t order) {
  return (value & ((uint64_t{1} << order) - 1)) == 0;
}

// Linux's READ_ONCE/WRITE_ONCE: one untorn access the compiler may not
// merge, split or invent, for data that is read without the lock (or the
// CPU) that serialises its writers. Relaxed atomics: plain moves on x86.
template <typename T>
inline T ReadOnce(const T& x) {
  return __atomic_load_n(&x, __ATOMIC_RELAXED);
}
template <typename T>
inline void WriteOnce(T& x, T v) {
  __atomic_store_n(&x, v, __ATOMIC_RELAXED);
}
// Publication of a pointer to an object built before it (rcu_assign_pointer
// / rcu_dereference with the stronger acquire on the reading side).
template <typename T>
inline T LoadAcquire(const T& x) {
  return __atomic_load_n(&x, __ATOMIC_ACQUIRE);
}
template <typename T>
inline void StoreRelease(T& x, T v) {
  __atomic_store_n(&x, v, __ATOMIC_RELEASE);
}
// A per-CPU counter: only its own CPU writes it, with interrupts off, so a
// load and a store suffice (no locked read-modify-write); other CPUs read
// it with ReadOnce and may see a slightly old value, as Linux's vmstat.
inline void PerCpuAdd(uint64_t& counter, uint64_t n) { WriteOnce(counter, ReadOnce(counter) + n); }

// floor(sqrt(x)) by Newton's iteration on integers (Linux: int_sqrt).
constexpr uint64_t IntSqrt(uint64_t x) {
  if (x < 2)
    return x;
  uint64_t r = x / 2 + 1;  // >= sqrt(x) for every x >= 2
  uint64_t y = (r + x / r) / 2;
  while (y < r) {
    r = y;
    y = (r + x / r) / 2;
  }
  return r;
}
static_assert(IntSqrt(0) == 0 && IntSqrt(3) == 1 && IntSqrt(4) == 2 && IntSqrt(4194304) == 2048 &&
                  IntSqrt(~uint64_t{0}) == 0xffffffffu,
              "int_sqrt");

// Largest power of two <= x, for x >= 1 (Linux: rounddown_pow_of_two).
constexpr uint64_t RoundDownPowerOfTwo(uint64_t x) {
  return uint64_t{1} << (63 - __builtin_clzll(x));
}

// x * n / d without overflowing when x * n would (Linux: mult_frac).
constexpr uint64_t MultFrac(uint64_t x, uint64_t n, uint64_t d) {
  return (x / d) * n + ((x % d) * n) / d;
}

// A link embedded in the object it chains (Linux's struct list_head). A node
// that is on no list has null links, which the invariant checker relies on.
struct ListNode {
  ListNode* prev;
  ListNode* next;

  bool linked() const { return next != nullptr; }
};

// Circular intrusive list with a sentinel head, threading objects of type T
// through the ListNode at byte offset kOffset (use __builtin_offsetof). It
// never allocates and never owns its elements. Not copyable: the sentinel
// points at itself.
template <typename T, size_t kOffset>
class List {
 public:
  List() { Init(); }
  MMLAB_NO_COPY(List);

  void Init() { head_.prev = head_.next = &head_; }
  bool empty() const { return head_.next == &head_; }

  void PushFront(T* obj) { InsertAfter(&head_, Node(obj)); }
  void PushBack(T* obj) { InsertAfter(head_.prev, Node(obj)); }

  // Unlinks obj, which must be on this list, and clears its links.
  static void Remove(T* obj) {
    ListNode* n = Node(obj);
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = nullptr;
  }

  T* front() const { return empty() ? nullptr : Owner(head_.next); }
  T* back() const { return empty() ? nullptr : Owner(head_.prev); }

  T* PopFront() {
    T* obj = front();
    if (obj)
      Remove(obj);
    return obj;
  }

  // Raw access for walkers that must survive a corrupted list (the
  // invariant checker bounds its walk and checks every link itself).
  const ListNode* sentinel() const { return &head_; }
  static T* Owner(const ListNode* n) {
    return reinterpret_cast<T*>(reinterpret_cast<uintptr_t>(n) - kOffset);
  }
  static ListNode* Node(T* obj) {
    return reinterpret_cast<ListNode*>(reinterpret_cast<uintptr_t>(obj) + kOffset);
  }

 private:
  static void InsertAfter(ListNode* pos, ListNode* n) {
    n->prev = pos;
    n->next = pos->next;
    pos->next->prev = n;
    pos->next = n;
  }

  ListNode head_;
};

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_BASE_H
