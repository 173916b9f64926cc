// SPDX-License-Identifier: GPL-2.0
//
// model.h - a simple reference model of the core, and the operations that
// are checked against it. Shared by model_test.cc (a long seeded sequence
// under GoogleTest) and fuzz/fuzz_model.cc (libFuzzer: the input chooses
// every operation and every argument); neither depends on the other.
//
// The model is a map from address to allocated block (pages) and one from
// address to live object (slab caches and kmalloc). After every operation
// the core must agree with it: new blocks are aligned, inside a borrowed
// chunk of a zone the gfp allows (DMA32 pfns below 4 GiB) and overlap no
// live block or object; __GFP_ZERO memory reads as zero; every block and
// object still holds the tag written into it when it is freed (nobody else
// was given its memory); a page allocation fails only when every zone of
// its zonelist is below the watermark its gfp may use (plus the lowmem
// reserve) or has no free block big enough, and could not grow; misuse is
// refused without changing anything; shrink returns exactly the fully free
// chunks; krealloc keeps the contents; ksize covers the request.
//
// No GoogleTest here: a broken expectation is recorded (failed(),
// failure()) and the operation returns; the caller turns that into a test
// failure or an abort().
#ifndef MMLAB_TESTS_MODEL_H
#define MMLAB_TESTS_MODEL_H

#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "host_sim.h"
#include "mmlab/core.h"
#include "views.h"

namespace mmlab_model {

// Where the model's choices come from: a seeded generator (the test) or
// the fuzzer's input.
class Source {
 public:
  virtual ~Source() = default;
  // A number in [0, n); n > 0.
  virtual uint64_t Rand(uint64_t n) = 0;
};

#define MODEL_REQUIRE(cond, msg)                                              \
  do {                                                                        \
    if (!(cond)) {                                                            \
      std::ostringstream model_os_;                                           \
      model_os_ << __FILE__ << ":" << __LINE__ << ": " #cond ": " << msg;      \
      Fail(model_os_.str());                                                  \
      return;                                                                 \
    }                                                                         \
  } while (0)

#define MODEL_RETURN_IF_FAILED() \
  do {                           \
    if (failed_)                 \
      return;                    \
  } while (0)

class CoreModel {
 public:
  struct Block {
    uint32_t order;
    uint64_t tag;
    uint64_t handle;  // 0: allocated through the page API
  };
  struct Cache {
    mmlab_kmem_cache* cache;
    uint32_t size;
    uint32_t align;
    uint32_t flags;
    uint64_t live;
  };
  struct Object {
    size_t size;    // bytes the caller asked for (and tagged)
    uint64_t tag;
    int cache;      // index into caches_, -1: kmalloc
  };

  // core: created by the caller with chunk_order and `chunks` chunks.
  CoreModel(mmlab_core* core, Source* src, uint32_t chunk_order, uint64_t chunks)
      : core_(core), src_(src), chunk_order_(chunk_order), capacity_(chunks << chunk_order) {}
  CoreModel(const CoreModel&) = delete;
  CoreModel& operator=(const CoreModel&) = delete;

  bool failed() const { return failed_; }
  const std::string& failure() const { return failure_; }

  uint64_t allocs() const { return allocs_; }
  uint64_t failures() const { return failures_; }
  uint64_t refusals() const { return refusals_; }
  uint64_t shrinks() const { return shrinks_; }
  uint64_t objects_allocated() const { return objects_allocated_; }

  // The page allocator's mix: alloc (API and control file), free, misuse, shrink.
  void StepPages() {
    uint64_t r = Rand(100);
    if (r < 45)
      DoAlloc();
    else if (r < 50)
      DoControlAlloc();
    else if (r < 90)
      DoFree();
    else if (r < 98)
      DoMisuse();
    else
      DoShrink();
  }

  // Everything: the page mix, plus drains, per-CPU list tuning, slab
  // caches and kmalloc with tagged contents.
  void Step() {
    uint64_t r = Rand(100);
    if (r < 40)
      StepPages();
    else if (r < 42)
      DoDrain();
    else if (r < 44)
      DoPcpTune();
    else if (r < 47)
      DoCacheCreate();
    else if (r < 49)
      DoCacheDestroy();
    else if (r < 51)
      DoCacheShrink();
    else if (r < 66)
      DoCacheAlloc();
    else if (r < 78)
      DoKmalloc();
    else if (r < 82)
      DoKrealloc();
    else if (r < 96)
      DoObjectFree();
    else
      DoObjectMisuse();
  }

  // --- pages ------------------------------------------------------------------

  void DoAlloc() {
    static const mmlab_gfp_t kGfps[] = {
        MMLAB_GFP_KERNEL,
        MMLAB_GFP_ATOMIC,
        MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO,
        MMLAB_GFP_NOWAIT | MMLAB___GFP_ZERO,
        MMLAB_GFP_KERNEL | MMLAB_GFP_DMA32,
        MMLAB_GFP_ATOMIC | MMLAB_GFP_DMA32,
    };
    uint32_t order = RandomOrder();
    mmlab_gfp_t gfp = kGfps[Rand(6)] | MMLAB___GFP_NOWARN;
    if (Rand(100) == 0)
      sim::FailChunkAllocs(1);  // the host occasionally says no
    uint64_t attempts = ChunkAttempts();
    uint64_t host = Counters().host_chunks;
    uintptr_t addr;
    if (Rand(4) == 0) {
      addr = mmlab_core___get_free_pages(core_, gfp, order);
    } else {
      mmlab_page* page = mmlab_core_alloc_pages(core_, gfp, order);
      addr = reinterpret_cast<uintptr_t>(mmlab_core_page_address(core_, page));
      if (page) {
        MODEL_REQUIRE(mmlab_core_virt_to_page(core_, reinterpret_cast<void*>(addr)) == page,
                      "virt_to_page(page_address(page)) is another page");
      }
    }
    sim::FailChunkAllocs(0);
    if (!addr) {
      failures_++;
      ExpectFailureWasLegit(order, gfp, attempts, host);
      return;
    }
    Allocated(addr, order, gfp, 0);
  }

  void DoControlAlloc() {
    uint32_t order = RandomOrder();
    bool zero = Rand(2);
    std::string r;
    std::string cmd = "alloc order=" + std::to_string(order) +
                      (zero ? " gfp=GFP_KERNEL|__GFP_ZERO|__GFP_NOWARN"
                            : " gfp=GFP_KERNEL|__GFP_NOWARN");
    uint64_t attempts = ChunkAttempts();
    uint64_t host = Counters().host_chunks;
    mmlab_status st = Control(cmd, &r);
    if (st == MMLAB_ENOMEM) {
      failures_++;
      ExpectFailureWasLegit(order, MMLAB_GFP_KERNEL, attempts, host);
      return;
    }
    if (st == MMLAB_ENOSPC) {  // the handle table is full: fine, nothing taken
      refusals_++;
      return;
    }
    MODEL_REQUIRE(st == MMLAB_OK, r);
    unsigned long handle = 0, pfn = 0;
    unsigned got_order = 0;
    char zone[16] = "";
    MODEL_REQUIRE(sscanf(r.c_str(), "handle %lu order %u pfn 0x%lx zone %15s", &handle,
                         &got_order, &pfn, zone) == 4,
                  r);
    MODEL_REQUIRE(std::string(zone) == (pfn < 0x100000 ? "DMA32" : "Normal"), r);
    MODEL_REQUIRE(got_order == order, r);
    Allocated(static_cast<uintptr_t>(pfn << 12), order, zero ? MMLAB___GFP_ZERO : 0, handle);
  }

  void DoFree() {
    if (live_.empty())
      return;
    auto it = RandomLive();
    uintptr_t addr = it->first;
    Block b = it->second;
    ExpectTag(addr, b);
    MODEL_RETURN_IF_FAILED();
    if (b.handle) {
      std::string r;
      if (Rand(2)) {
        MODEL_REQUIRE(Control("free " + std::to_string(b.handle), &r) == MMLAB_OK, r);
        MODEL_REQUIRE(r == "freed handle " + std::to_string(b.handle) + " order " +
                               std::to_string(b.order),
                      r);
      } else {
        char cmd[96];
        snprintf(cmd, sizeof(cmd), "free_pfn pfn=0x%lx order=%u",
                 static_cast<unsigned long>(addr >> 12), b.order);
        MODEL_REQUIRE(Control(cmd, &r) == MMLAB_OK, r);
      }
    } else if (Rand(2)) {
      MODEL_REQUIRE(mmlab_core_free_pages(core_, addr, b.order) == MMLAB_OK, "free_pages");
    } else {
      mmlab_page* page = mmlab_core_virt_to_page(core_, reinterpret_cast<void*>(addr));
      MODEL_REQUIRE(mmlab_core___free_pages(core_, page, b.order) == MMLAB_OK, "__free_pages");
    }
    live_.erase(it);
    used_ -= 1u << b.order;
    recently_freed_.push_back({addr, b.order});
    if (recently_freed_.size() > 16)
      recently_freed_.erase(recently_freed_.begin());
  }

  // Misuse of every kind must be refused and change nothing.
  void DoMisuse() {
    struct mmlab_core_counters before = Counters();
    mmlab_status st = MMLAB_OK;
    switch (Rand(4)) {
      case 0: {  // double free of something freed recently and not reused
        if (recently_freed_.empty())
          return;
        auto [addr, order] = recently_freed_[Rand(recently_freed_.size())];
        if (Overlaps(addr, order) || OverlapsObject(addr, size_t{4096} << order))
          return;
        st = mmlab_core_free_pages(core_, addr, order);
        break;
      }
      case 1: {  // wrong order
        if (live_.empty())
          return;
        auto it = RandomLive();
        uint32_t wrong = it->second.order == 0 ? 1 : it->second.order - 1;
        st = mmlab_core_free_pages(core_, it->first, wrong);
        break;
      }
      case 2: {  // a tail page
        if (live_.empty())
          return;
        auto it = RandomLive();
        if (it->second.order == 0)
          return;
        uintptr_t tail = it->first + 4096 * (1 + Rand((1u << it->second.order) - 1));
        st = mmlab_core___free_pages(
            core_, mmlab_core_virt_to_page(core_, reinterpret_cast<void*>(tail)), 0);
        break;
      }
      case 3: {  // an address the core never lent
        std::vector<char> foreign(8192);
        st = mmlab_core_free_pages(core_, reinterpret_cast<uintptr_t>(foreign.data()), 0);
        break;
      }
    }
    MODEL_REQUIRE(st == MMLAB_EINVAL, "misuse not refused (status " << st << ")");
    refusals_++;
    struct mmlab_core_counters after = Counters();
    MODEL_REQUIRE(after.used_pages == before.used_pages, "misuse changed used_pages");
    MODEL_REQUIRE(after.free_pages == before.free_pages, "misuse changed free_pages");
  }

  void DoShrink() {
    // Shrink drains the per-CPU lists first; so does this, to know what to
    // expect. Empty slabs stay with their caches (a cache shrink or the
    // slab shrinker under pressure returns them), so nothing else moves.
    MODEL_REQUIRE(Control("drain") == MMLAB_OK, "drain");
    unsigned long free_chunks = FreeChunks();
    uint64_t host = Counters().host_chunks;
    uint64_t returned = 0;
    MODEL_REQUIRE(mmlab_core_shrink(core_, &returned) == MMLAB_OK, "shrink");
    MODEL_REQUIRE(returned == free_chunks,
                  "shrink returned " << returned << " chunks, " << free_chunks << " were free");
    MODEL_REQUIRE(FreeChunks() == 0u, "a free chunk left after shrink");
    MODEL_REQUIRE(Counters().host_chunks == host - returned, "host_chunks");
    shrinks_++;
  }

  // drain: the per-CPU lists go back to the buddy, nothing else changes.
  void DoDrain() {
    struct mmlab_core_counters before = Counters();
    std::string r;
    MODEL_REQUIRE(Control("drain", &r) == MMLAB_OK, r);
    struct mmlab_core_counters after = Counters();
    MODEL_REQUIRE(after.pcp_pages == 0, "pcp_pages " << after.pcp_pages << " after drain: " << r);
    MODEL_REQUIRE(after.used_pages == before.used_pages, "drain changed used_pages");
    MODEL_REQUIRE(after.free_pages == before.free_pages + before.pcp_pages,
                  "drain: free " << before.free_pages << " + pcp " << before.pcp_pages
                                 << " != free " << after.free_pages);
  }

  // pcp high=/batch= within and outside the allowed range.
  void DoPcpTune() {
    uint64_t high = Rand(40);
    uint64_t batch = Rand(high + 2);
    std::string cmd = "pcp high=" + std::to_string(high) + " batch=" + std::to_string(batch);
    if (Rand(3) == 0)
      cmd += Rand(2) ? " zone=DMA32" : " zone=Normal";
    std::string r;
    mmlab_status st = Control(cmd, &r);
    if (batch >= 1 && batch <= high) {
      MODEL_REQUIRE(st == MMLAB_OK || st == MMLAB_EINVAL, cmd << ": " << r);
    } else {
      MODEL_REQUIRE(st == MMLAB_EINVAL, cmd << " accepted: " << r);
    }
    if (st != MMLAB_OK)
      refusals_++;
  }

  // --- slab caches and kmalloc -------------------------------------------------

  void DoCacheCreate() {
    static const uint32_t kSizes[] = {8, 24, 64, 100, 192, 256, 700, 1024, 3000, 4096};
    static const uint32_t kAligns[] = {0, 8, 64, 256};
    if (caches_.size() >= 6)
      return;
    uint32_t size = kSizes[Rand(10)];
    uint32_t align = kAligns[Rand(4)];
    uint32_t flags = 0;
    if (Rand(3) == 0)
      flags |= MMLAB_SLAB_HWCACHE_ALIGN;
    if (Rand(3) == 0)
      flags |= MMLAB_SLAB_CACHE_DMA32;
    char name[32];
    snprintf(name, sizeof(name), "model-%lu", static_cast<unsigned long>(next_cache_++));
    mmlab_kmem_cache* cache = nullptr;
    mmlab_status st =
        mmlab_core_kmem_cache_create(core_, name, size, align, flags, nullptr, &cache);
    if (st == MMLAB_ENOMEM) {
      failures_++;
      return;
    }
    MODEL_REQUIRE(st == MMLAB_OK && cache, "kmem_cache_create(" << name << ") status " << st);
    MODEL_REQUIRE(mmlab_core_kmem_cache_size(cache) >= size, "cache object size below request");
    caches_.push_back({cache, size, align, flags, 0});
  }

  void DoCacheDestroy() {
    if (caches_.empty())
      return;
    size_t i = Rand(caches_.size());
    if (caches_[i].live)
      return;  // destroy with live objects is slab_test's business
    MODEL_REQUIRE(mmlab_core_kmem_cache_destroy(caches_[i].cache) == MMLAB_OK,
                  "destroy of an empty cache");
    caches_.erase(caches_.begin() + static_cast<long>(i));
    // Keep the indexes of the objects right.
    for (auto& [addr, o] : objects_) {
      if (o.cache > static_cast<int>(i))
        o.cache--;
    }
  }

  void DoCacheShrink() {
    if (caches_.empty())
      return;
    struct mmlab_core_counters before = Counters();
    uint64_t pages = mmlab_core_kmem_cache_shrink(caches_[Rand(caches_.size())].cache);
    struct mmlab_core_counters after = Counters();
    // Pages of empty slabs go back to the buddy (maybe through the per-CPU lists).
    MODEL_REQUIRE(before.used_pages - after.used_pages == pages,
                  "cache_shrink returned " << pages << " pages, used_pages went from "
                                           << before.used_pages << " to " << after.used_pages);
  }

  void DoCacheAlloc() {
    if (caches_.empty()) {
      DoCacheCreate();
      return;
    }
    size_t i = Rand(caches_.size());
    Cache& c = caches_[i];
    mmlab_gfp_t gfp = ObjectGfp();
    void* obj = mmlab_core_kmem_cache_alloc(c.cache, gfp, 0);
    if (!obj) {
      failures_++;
      return;
    }
    uintptr_t addr = reinterpret_cast<uintptr_t>(obj);
    uint32_t align = c.align > 8 ? c.align : 8;
    MODEL_REQUIRE(addr % align == 0, "cache object " << c.size << "/" << c.align
                                                     << " misaligned");
    if (c.flags & MMLAB_SLAB_CACHE_DMA32) {
      MODEL_REQUIRE((addr >> 12) < 0x100000u, "SLAB_CACHE_DMA32 object above 4 GiB");
    }
    NewObject(addr, c.size, gfp, static_cast<int>(i));
    MODEL_RETURN_IF_FAILED();
    c.live++;
  }

  void DoKmalloc() {
    static const size_t kSizes[] = {1, 8, 13, 64, 96, 100, 192, 200, 512, 1000,
                                    4096, 5000, 8192, 8193, 12288, 20000};
    size_t size = kSizes[Rand(16)];
    if (Rand(4) == 0)
      size = 1 + Rand(size_t{4096} << chunk_order_);  // anything up to one chunk
    mmlab_gfp_t gfp = ObjectGfp();
    void* obj = mmlab_core_kmalloc(core_, size, gfp, 0);
    if (!obj) {
      failures_++;
      return;
    }
    uintptr_t addr = reinterpret_cast<uintptr_t>(obj);
    MODEL_REQUIRE(addr % 8 == 0, "kmalloc(" << size << ") misaligned");
    size_t ks = mmlab_core_ksize(core_, obj);
    MODEL_REQUIRE(ks >= size, "ksize " << ks << " below kmalloc(" << size << ")");
    NewObject(addr, size, gfp, -1);
  }

  void DoKrealloc() {
    auto it = RandomObject(-1);
    if (it == objects_.end())
      return;
    static const size_t kSizes[] = {1, 16, 100, 256, 1000, 4096, 8192, 9000};
    size_t new_size = kSizes[Rand(8)];
    uintptr_t old_addr = it->first;
    Object old = it->second;
    ExpectObjectTag(old_addr, old);
    MODEL_RETURN_IF_FAILED();
    void* p = mmlab_core_krealloc(core_, reinterpret_cast<void*>(old_addr), new_size,
                                  MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN, 0);
    if (!p) {
      failures_++;
      ExpectObjectTag(old_addr, old);  // still there, untouched
      return;
    }
    objects_.erase(it);
    uintptr_t addr = reinterpret_cast<uintptr_t>(p);
    // The first min(old, new) bytes came along.
    Object kept = old;
    kept.size = old.size < new_size ? old.size : new_size;
    ExpectObjectTag(addr, kept);
    MODEL_RETURN_IF_FAILED();
    MODEL_REQUIRE(mmlab_core_ksize(core_, p) >= new_size, "ksize below krealloc's size");
    MODEL_REQUIRE(!Overlaps(addr & ~uintptr_t{4095}, 0) && !OverlapsObject(addr, new_size),
                  "krealloc'd object overlaps live memory");
    uint64_t tag = next_tag_++;
    WriteObjectTag(addr, new_size, tag);
    objects_[addr] = {new_size, tag, -1};
  }

  void DoObjectFree() {
    if (objects_.empty())
      return;
    auto it = std::next(objects_.begin(), static_cast<long>(Rand(objects_.size())));
    uintptr_t addr = it->first;
    Object o = it->second;
    ExpectObjectTag(addr, o);
    MODEL_RETURN_IF_FAILED();
    FreeObject(addr, o);
    objects_.erase(it);
    if (o.cache >= 0)
      caches_[o.cache].live--;
    // Right away a second time: SLUB's naive check (the freelist's head)
    // and the page allocator's catch it; it is reported and ignored.
    if (Rand(8) == 0) {
      struct mmlab_core_counters before = Counters();
      size_t logs = sim::Logs().size();
      FreeObject(addr, o);
      MODEL_REQUIRE(sim::Logs().size() > logs, "an immediate double free was not reported");
      struct mmlab_core_counters after = Counters();
      MODEL_REQUIRE(after.used_pages == before.used_pages, "double free changed used_pages");
      refusals_++;
    }
  }

  // Frees of pointers that are not objects: reported, ignored, nothing moves.
  void DoObjectMisuse() {
    struct mmlab_core_counters before = Counters();
    size_t logs = sim::Logs().size();
    switch (Rand(3)) {
      case 0: {  // foreign memory
        std::vector<char> foreign(256);
        mmlab_core_kfree(core_, foreign.data() + 8, 0);
        break;
      }
      case 1: {  // inside a live object, not its start
        auto it = objects_.empty() ? objects_.end()
                                   : std::next(objects_.begin(),
                                               static_cast<long>(Rand(objects_.size())));
        if (it == objects_.end() || it->second.size < 2)
          return;
        void* inside = reinterpret_cast<void*>(it->first + 1 + Rand(it->second.size - 1));
        if (it->second.cache >= 0)
          mmlab_core_kmem_cache_free(caches_[it->second.cache].cache, inside, 0);
        else
          mmlab_core_kfree(core_, inside, 0);
        break;
      }
      case 2: {  // an object of one cache freed to another
        auto it = RandomObject(-2);
        if (it == objects_.end() || caches_.size() < 2)
          return;
        size_t other = (static_cast<size_t>(it->second.cache) + 1 + Rand(caches_.size() - 1)) %
                       caches_.size();
        mmlab_core_kmem_cache_free(caches_[other].cache, reinterpret_cast<void*>(it->first), 0);
        break;
      }
    }
    MODEL_REQUIRE(sim::Logs().size() > logs, "a bad free was not reported");
    struct mmlab_core_counters after = Counters();
    MODEL_REQUIRE(after.used_pages == before.used_pages, "a bad free changed used_pages");
    refusals_++;
  }

  // --- agreement -------------------------------------------------------------

  void CheckAgreement() {
    MODEL_REQUIRE(mmlab_core_check(core_) == MMLAB_OK, "invariant checker:\n" << sim::LogText());
    struct mmlab_core_counters c = Counters();
    if (objects_.empty() && caches_.empty() && !kmalloc_used_) {
      MODEL_REQUIRE(c.used_pages == used_, "used_pages " << c.used_pages << ", model " << used_);
    } else {
      // Slabs (also empty ones, until shrunk) and kmalloc's large blocks on top.
      MODEL_REQUIRE(c.used_pages >= used_, "used_pages " << c.used_pages << ", model " << used_);
    }
    MODEL_REQUIRE(c.free_pages + c.used_pages + c.pcp_pages == c.host_pages,
                  "free + used + pcp != host pages");
    MODEL_REQUIRE(c.host_pages <= capacity_, "borrowed above the capacity");
    MODEL_REQUIRE(c.host_chunks == sim::ChunksOutstanding(), "host_chunks vs the host");
    uint64_t listed = 0;
    std::string buddyinfo = mmlab_test::RenderText(core_, MMLAB_VIEW_BUDDYINFO);
    for (const char* zone : {"DMA32", "Normal"}) {
      std::vector<unsigned long> nr_free = mmlab_test::BuddyinfoNrFree(buddyinfo, zone);
      MODEL_REQUIRE(nr_free.size() == chunk_order_ + 1, "buddyinfo line of " << zone);
      for (uint32_t o = 0; o <= chunk_order_; o++)
        listed += nr_free[o] << o;
    }
    MODEL_REQUIRE(listed == c.free_pages, "buddyinfo lists " << listed << " free pages, counters "
                                                            << c.free_pages);
    // Every live block and object still holds its tag.
    for (const auto& [addr, b] : live_) {
      ExpectTag(addr, b);
      MODEL_RETURN_IF_FAILED();
    }
    for (const auto& [addr, o] : objects_) {
      ExpectObjectTag(addr, o, false);
      MODEL_RETURN_IF_FAILED();
    }
    sim::ClearLogs();
  }

  // Frees every block and object, destroys every cache.
  void FreeEverything() {
    while (!live_.empty() && !failed_)
      DoFree();
    while (!objects_.empty() && !failed_) {
      auto it = objects_.begin();
      ExpectObjectTag(it->first, it->second);
      MODEL_RETURN_IF_FAILED();
      FreeObject(it->first, it->second);
      if (it->second.cache >= 0)
        caches_[it->second.cache].live--;
      objects_.erase(it);
    }
    for (Cache& c : caches_)
      MODEL_REQUIRE(mmlab_core_kmem_cache_destroy(c.cache) == MMLAB_OK, "cache destroy");
    caches_.clear();
  }

 private:
  uint64_t Rand(uint64_t n) { return src_->Rand(n); }

  void Fail(const std::string& what) {
    if (!failed_)
      failure_ = what;
    failed_ = true;
  }

  struct mmlab_core_counters Counters() { return mmlab_test::CountersOf(core_); }

  mmlab_status Control(const std::string& cmd, std::string* result = nullptr) {
    char buf[MMLAB_CONTROL_MAX + 64];
    mmlab_status st = mmlab_core_control(core_, cmd.data(), cmd.size(), buf, sizeof(buf));
    if (result)
      *result = buf;
    return st;
  }

  static uint64_t ChunkAttempts() {
    return sim::ChunkAllocsThatMaySleep() + sim::ChunkAllocsThatMayNotSleep();
  }

  uint32_t RandomOrder() {
    // Mostly small blocks, as real workloads ask; the rest spread up to the chunk.
    static const int kWeights[] = {40, 20, 15, 10, 8};
    int r = static_cast<int>(Rand(100));
    for (uint32_t o = 0; o < 5 && o < chunk_order_; o++) {
      if (r < kWeights[o])
        return o;
      r -= kWeights[o];
    }
    return static_cast<uint32_t>(chunk_order_ < 5 ? chunk_order_ : 5 + Rand(chunk_order_ - 4));
  }

  mmlab_gfp_t ObjectGfp() {
    static const mmlab_gfp_t kGfps[] = {
        MMLAB_GFP_KERNEL,
        MMLAB_GFP_ATOMIC,
        MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO,
        MMLAB_GFP_NOWAIT,
    };
    return kGfps[Rand(4)] | MMLAB___GFP_NOWARN;
  }

  static uint64_t* Word(uintptr_t addr, uint64_t page, size_t off) {
    return reinterpret_cast<uint64_t*>(addr + page * 4096 + off);
  }

  void WriteTag(uintptr_t addr, uint32_t order, uint64_t tag) {
    for (uint64_t i = 0; i < (1u << order); i++) {
      *Word(addr, i, 0) = tag;
      *Word(addr, i, 4088) = ~tag;
    }
  }

  void ExpectTag(uintptr_t addr, const Block& b) {
    for (uint64_t i = 0; i < (1u << b.order); i++) {
      MODEL_REQUIRE(*Word(addr, i, 0) == b.tag,
                    "page " << i << " of a live order-" << b.order << " block was overwritten");
      MODEL_REQUIRE(*Word(addr, i, 4088) == ~b.tag,
                    "the end of page " << i << " of a live block was overwritten");
    }
  }

  // Objects: every byte of the requested size, a pattern of the tag.
  static uint8_t TagByte(uint64_t tag, size_t i) {
    return static_cast<uint8_t>((tag * 0x9e3779b97f4a7c15ull >> 56) + i * 7);
  }

  void WriteObjectTag(uintptr_t addr, size_t size, uint64_t tag) {
    uint8_t* p = reinterpret_cast<uint8_t*>(addr);
    for (size_t i = 0; i < size; i++)
      p[i] = TagByte(tag, i);
  }

  // Every byte (at free, krealloc), or only the first and last 32 (the
  // periodic sweep over every live object).
  void ExpectObjectTag(uintptr_t addr, const Object& o, bool every_byte = true) {
    const uint8_t* p = reinterpret_cast<const uint8_t*>(addr);
    for (size_t i = 0; i < o.size; i++) {
      if (!every_byte && i == 32 && o.size > 64)
        i = o.size - 32;
      MODEL_REQUIRE(p[i] == TagByte(o.tag, i),
                    "byte " << i << " of a live " << o.size << "-byte object was overwritten");
    }
  }

  bool Overlaps(uintptr_t addr, uint32_t order) {
    uintptr_t end = addr + (uintptr_t{4096} << order);
    auto it = live_.lower_bound(addr);
    if (it != live_.end() && it->first < end)
      return true;
    if (it != live_.begin()) {
      --it;
      if (it->first + (uintptr_t{4096} << it->second.order) > addr)
        return true;
    }
    return false;
  }

  bool OverlapsObject(uintptr_t addr, size_t size) {
    uintptr_t end = addr + (size ? size : 1);
    auto it = objects_.lower_bound(addr);
    if (it != objects_.end() && it->first < end)
      return true;
    if (it != objects_.begin()) {
      --it;
      if (it->first + it->second.size > addr)
        return true;
    }
    return false;
  }

  std::map<uintptr_t, Block>::iterator RandomLive() {
    return std::next(live_.begin(), static_cast<long>(Rand(live_.size())));
  }

  // A random object of kmalloc (kind -1) or of any cache (kind -2).
  std::map<uintptr_t, Object>::iterator RandomObject(int kind) {
    std::vector<uintptr_t> of_kind;
    for (const auto& [addr, o] : objects_) {
      if ((kind == -1 && o.cache < 0) || (kind == -2 && o.cache >= 0))
        of_kind.push_back(addr);
    }
    if (of_kind.empty())
      return objects_.end();
    return objects_.find(of_kind[Rand(of_kind.size())]);
  }

  void NewObject(uintptr_t addr, size_t size, mmlab_gfp_t gfp, int cache) {
    MODEL_REQUIRE(sim::IsLentAddress(reinterpret_cast<void*>(addr)),
                  "object outside every lent chunk");
    MODEL_REQUIRE(!OverlapsObject(addr, size), "object overlaps a live object");
    // A page-backed object is inside no live page block; a slab object's
    // page is one of the slab's, never one the model holds.
    uintptr_t page = addr & ~uintptr_t{4095};
    MODEL_REQUIRE(!Overlaps(page, 0), "object inside a live page block");
    if (gfp & MMLAB___GFP_ZERO) {
      const uint8_t* p = reinterpret_cast<const uint8_t*>(addr);
      for (size_t i = 0; i < size; i++)
        MODEL_REQUIRE(p[i] == 0, "__GFP_ZERO object not zeroed at byte " << i);
    }
    uint64_t tag = next_tag_++;
    WriteObjectTag(addr, size, tag);
    objects_[addr] = {size, tag, cache};
    objects_allocated_++;
    if (cache < 0)
      kmalloc_used_ = true;
  }

  void FreeObject(uintptr_t addr, const Object& o) {
    if (o.cache >= 0)
      mmlab_core_kmem_cache_free(caches_[o.cache].cache, reinterpret_cast<void*>(addr), 0);
    else
      mmlab_core_kfree(core_, reinterpret_cast<void*>(addr), 0);
  }

  // A failed allocation is legitimate only if no zone it may use could
  // satisfy it: each is below the watermark this gfp may dig to (plus its
  // lowmem reserve) or has no free block big enough, and cannot grow.
  void ExpectFailureWasLegit(uint32_t order, mmlab_gfp_t gfp, uint64_t attempts_before,
                             uint64_t host_before) {
    const std::string zoneinfo = mmlab_test::RenderText(core_, MMLAB_VIEW_ZONEINFO);
    const std::string buddyinfo = mmlab_test::RenderText(core_, MMLAB_VIEW_BUDDYINFO);
    const bool dma32_only = gfp & MMLAB___GFP_DMA32;
    const uint32_t highest = dma32_only ? MMLAB_ZONE_DMA32 : MMLAB_ZONE_NORMAL;
    uint64_t attempts = ChunkAttempts();
    // The host said no at least once during this allocation (another zone
    // may have grown meanwhile).
    bool host_refused = attempts - attempts_before > Counters().host_chunks - host_before;
    for (const char* zone : {"Normal", "DMA32"}) {
      if (dma32_only && std::string(zone) == "Normal")
        continue;
      int64_t free = static_cast<int64_t>(mmlab_test::ViewValue(zoneinfo, zone, "nr_free_pages"));
      int64_t min = static_cast<int64_t>(mmlab_test::ViewValue(zoneinfo, zone, "min"));
      if ((gfp & MMLAB___GFP_HIGH) && !(gfp & MMLAB___GFP_DIRECT_RECLAIM))
        min = (min - min / 2) - (min - min / 2) / 4;
      int64_t protection =
          static_cast<int64_t>(mmlab_test::ViewProtection(zoneinfo, zone, highest));
      std::vector<unsigned long> nr_free = mmlab_test::BuddyinfoNrFree(buddyinfo, zone);
      MODEL_REQUIRE(nr_free.size() == chunk_order_ + 1, "buddyinfo line of " << zone);
      bool block = false;
      for (uint32_t o = order; o <= chunk_order_; o++)
        block |= nr_free[o] != 0;
      bool below = free - ((int64_t{1} << order) - 1) <= min + protection;
      MODEL_REQUIRE(below || !block, "zone " << zone << " could have served order " << order
                                             << " (free " << free << ", min " << min
                                             << ", protection " << protection << ")\n"
                                             << zoneinfo);
      uint64_t present = mmlab_test::ViewValue(zoneinfo, zone, "present");
      uint64_t spanned = mmlab_test::ViewValue(zoneinfo, zone, "spanned");
      bool at_capacity = present + (1u << chunk_order_) > spanned;
      // A zone whose watermark is above what it could ever hold (tiny
      // cores: min_free_kbytes is at least 128 kB, as Linux's) has no
      // reason to grow.
      bool hopeless = static_cast<int64_t>(spanned) - ((int64_t{1} << order) - 1) <=
                      min + protection;
      MODEL_REQUIRE(host_refused || at_capacity || hopeless,
                    "zone " << zone << " failed order " << order << " without growing\n"
                            << zoneinfo);
    }
  }

  void Allocated(uintptr_t addr, uint32_t order, mmlab_gfp_t gfp, uint64_t handle) {
    MODEL_REQUIRE(addr % (uintptr_t{4096} << order) == 0, "block not aligned to its order");
    if (gfp & MMLAB___GFP_DMA32) {
      MODEL_REQUIRE((addr >> 12) < 0x100000u, "__GFP_DMA32 got a page above 4 GiB");
    }
    MODEL_REQUIRE(sim::IsLentAddress(reinterpret_cast<void*>(addr)), "block not lent");
    MODEL_REQUIRE(!Overlaps(addr, order), "block overlaps a live block");
    MODEL_REQUIRE(!OverlapsObject(addr, size_t{4096} << order), "block overlaps a live object");
    if (gfp & MMLAB___GFP_ZERO) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(addr);
      for (size_t i = 0; i < (size_t{4096} << order); i++)
        MODEL_REQUIRE(p[i] == 0, "__GFP_ZERO block not zeroed at byte " << i);
    }
    uint64_t tag = next_tag_++;
    WriteTag(addr, order, tag);
    live_[addr] = {order, tag, handle};
    used_ += 1u << order;
    allocs_++;
  }

  uint64_t FreeChunks() {
    std::string buddyinfo = mmlab_test::RenderText(core_, MMLAB_VIEW_BUDDYINFO);
    uint64_t n = 0;
    for (const char* zone : {"DMA32", "Normal"}) {
      std::vector<unsigned long> nr_free = mmlab_test::BuddyinfoNrFree(buddyinfo, zone);
      if (nr_free.size() == chunk_order_ + 1)
        n += nr_free[chunk_order_];
    }
    return n;
  }

  mmlab_core* core_;
  Source* src_;
  const uint32_t chunk_order_;
  const uint64_t capacity_;
  bool failed_ = false;
  std::string failure_;

  std::map<uintptr_t, Block> live_;
  std::vector<std::pair<uintptr_t, uint32_t>> recently_freed_;
  std::map<uintptr_t, Object> objects_;
  std::vector<Cache> caches_;
  bool kmalloc_used_ = false;
  uint64_t used_ = 0;
  uint64_t next_tag_ = 1;
  uint64_t next_cache_ = 1;
  uint64_t allocs_ = 0, failures_ = 0, refusals_ = 0, shrinks_ = 0, objects_allocated_ = 0;
};

#undef MODEL_REQUIRE
#undef MODEL_RETURN_IF_FAILED

}  // namespace mmlab_model

#endif  // MMLAB_TESTS_MODEL_H
