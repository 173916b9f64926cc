// SPDX-License-Identifier: GPL-2.0
//
// slab_debug_test.cc - SLUB-style slab debugging (slab_debug.cc): the
// layout of F/Z/P/U, every check and its report in SLUB's shape, that
// mmlab goes on safely after each (restored bytes, refused frees, `check`
// clean afterwards, every page back at destroy), owner tracking, the leak
// report, cache_debug, slub_debug= and the test-only `bug` commands.
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core.h"
#include "debug_report.h"
#include "slab.h"
#include "test_util.h"

namespace mmlab_test {
namespace {

using SlabDebug = CoreTest;
using mmlab::KmemCache;

constexpr uint32_t kFZPU = MMLAB_SLAB_CONSISTENCY_CHECKS | MMLAB_SLAB_RED_ZONE |
                           MMLAB_SLAB_POISON | MMLAB_SLAB_STORE_USER;

KmemCache& K(mmlab_kmem_cache* c) { return *KmemCache::From(c); }

mmlab_kmem_cache* Create(mmlab_core* core, const char* name, uint32_t size, uint32_t flags) {
  mmlab_kmem_cache* c = nullptr;
  EXPECT_EQ(mmlab_core_kmem_cache_create(core, name, size, 0, flags, nullptr, &c), MMLAB_OK)
      << sim::LogText();
  return c;
}

void* Alloc(mmlab_kmem_cache* c, uintptr_t caller = 0x1000) {
  void* p = mmlab_core_kmem_cache_alloc(c, MMLAB_GFP_KERNEL, caller);
  EXPECT_NE(p, nullptr);
  return p;
}

unsigned char* B(void* p) { return static_cast<unsigned char*>(p); }

class SlabDebugTest : public CoreTest {
 protected:
  void SetUp() override {
    CoreTest::SetUp();
    mmlab::DebugReportResetLimit();
    NewCore(4, 8);
    sim::ClearLogs();
  }
  // The report's frame: '=' line, BUG line, '-' line, a FIX line.
  void ExpectReport(const std::string& cache, const std::string& what, const std::string& fix) {
    EXPECT_EQ(sim::CountLogs("BUG " + cache + " (mmlab): " + what, MMLAB_LOG_ERR), 1u)
        << sim::LogText();
    EXPECT_EQ(sim::CountLogs("=========================================================="), 1u);
    EXPECT_EQ(sim::CountLogs("----------------------------------------------------------"), 1u);
    EXPECT_EQ(sim::CountLogs("FIX " + cache + ": " + fix), 1u) << sim::LogText();
  }
};

TEST_F(SlabDebugTest, LayoutIsSlubsCalculateSizes) {
  mmlab_kmem_cache* plain = Create(core_, "plain", 64, 0);
  mmlab_kmem_cache* dbg = Create(core_, "dbg", 64, kFZPU);
  const mmlab::SlabLayout& p = K(plain).layout;
  const mmlab::SlabLayout& d = K(dbg).layout;
  EXPECT_EQ(p.size, 64u);
  EXPECT_EQ(p.red_left_pad, 0u);
  EXPECT_EQ(p.offset, 32u) << "no debug: free pointer in the middle";
  // 64 + 8 right red zone + 8 free pointer + 2 * 24 tracks + 8 left red zone.
  EXPECT_EQ(d.red_left_pad, 8u);
  EXPECT_EQ(d.inuse, 72u);
  EXPECT_EQ(d.offset, 72u) << "P moves the free pointer out of the object";
  EXPECT_EQ(d.info_end, 80u);
  EXPECT_EQ(d.track_end, 128u);
  EXPECT_EQ(d.size, 136u);
  EXPECT_EQ(d.objects, 4096u / 136u);
  const std::string slabinfo = Render(MMLAB_VIEW_SLABINFO);
  EXPECT_NE(slabinfo.find("dbg                    0      0    136   30"), std::string::npos)
      << slabinfo;
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(plain), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(dbg), MMLAB_OK);
}

TEST_F(SlabDebugTest, ObjectsArePoisonedAndRedZonedWithLinuxsBytes) {
  mmlab_kmem_cache* c = Create(core_, "bytes", 40, kFZPU);
  unsigned char* p = B(Alloc(c));
  const mmlab::SlabLayout& l = K(c).layout;
  for (uint32_t i = 0; i < 39; i++)
    ASSERT_EQ(p[i], 0x6b) << i;
  EXPECT_EQ(p[39], 0xa5) << "POISON_END";
  for (uint32_t i = 1; i <= l.red_left_pad; i++)
    EXPECT_EQ(p[-static_cast<long>(i)], 0xcc) << "left red zone active";
  for (uint32_t i = 40; i < l.inuse; i++)
    EXPECT_EQ(p[i], 0xcc) << "right red zone active";
  for (uint32_t i = l.track_end; i < l.size - l.red_left_pad; i++)
    EXPECT_EQ(p[i], 0x5a) << "padding";
  mmlab_core_kmem_cache_free(c, p, 0x2000);
  for (uint32_t i = 40; i < l.inuse; i++)
    EXPECT_EQ(p[i], 0xbb) << "right red zone inactive";
  EXPECT_EQ(sim::CountLogs("BUG"), 0u) << sim::LogText();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(SlabDebugTest, WriteAfterFreeIsReportedAtTheNextAllocAndRestored) {
  mmlab_kmem_cache* c = Create(core_, "uaf", 64, kFZPU);
  void* keep = Alloc(c);
  unsigned char* p = B(Alloc(c, 0x4242));
  mmlab_core_kmem_cache_free(c, p, 0x4343);
  p[3] = 0x01;  // the bug
  sim::ClearLogs();
  void* again = Alloc(c);
  EXPECT_EQ(again, p) << "the freed object comes back first";
  ExpectReport("uaf", "Poison overwritten", "Restoring Poison ");
  EXPECT_EQ(sim::CountLogs("@offset="), 2u) << "the fault line and the Object line";
  EXPECT_EQ(sim::CountLogs(". First byte 0x1 instead of 0x6b"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("Allocated in caller_0x4242 age="), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("Freed in caller_0x4343 age="), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs(" pid="), 2u);
  EXPECT_EQ(sim::CountLogs("Redzone  "), 2u) << "left and right red zones dumped";
  EXPECT_EQ(sim::CountLogs("Object   "), 4u) << "64 bytes: 4 dump lines";
  EXPECT_EQ(sim::CountLogs("6b 6b 6b 01 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b  kkk.kkkkkkkkkkkk"), 1u)
      << sim::LogText();
  EXPECT_EQ(sim::CountLogs("Padding  "), 0u) << "64 + 8 + 8 + 48 bytes: nothing to pad";
  EXPECT_EQ(sim::CountLogs("FIX uaf: Restoring Poison 0x"), 1u);
  EXPECT_EQ(p[3], 0x6b) << "restored";
  EXPECT_EQ(K(c).dbg_poison_overwrites, 1u);
  EXPECT_NE(Result("stats").find(""), std::string::npos);
  mmlab_core_kmem_cache_free(c, again, 0);
  mmlab_core_kmem_cache_free(c, keep, 0);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(SlabDebugTest, DoubleFreeIsRefusedWithObjectAlreadyFree) {
  mmlab_kmem_cache* c = Create(core_, "dfree", 32, MMLAB_SLAB_CONSISTENCY_CHECKS);
  void* keep = Alloc(c);
  void* p = Alloc(c);
  mmlab_core_kmem_cache_free(c, p, 0);
  sim::ClearLogs();
  mmlab_core_kmem_cache_free(c, p, 0);
  ExpectReport("dfree", "Object already free", "Object at 0x");
  EXPECT_EQ(sim::CountLogs(" not freed"), 1u);
  EXPECT_EQ(K(c).dbg_bad_frees, 1u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << "the freelist is intact\n" << sim::LogText();
  // The cache still works: two allocations, two different objects.
  void* a = Alloc(c);
  void* b = Alloc(c);
  EXPECT_NE(a, b);
  mmlab_core_kmem_cache_free(c, a, 0);
  mmlab_core_kmem_cache_free(c, b, 0);
  mmlab_core_kmem_cache_free(c, keep, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(SlabDebugTest, RedZoneOverwritesAreReportedAtFreeRestoredAndTheFreeGoesAhead) {
  mmlab_kmem_cache* c = Create(core_, "rz", 48, MMLAB_SLAB_RED_ZONE);
  unsigned char* p = B(Alloc(c));
  p[48] = 0;  // one past the end
  mmlab_core_kmem_cache_free(c, p, 0);
  ExpectReport("rz", "Right Redzone overwritten", "Restoring Right Redzone 0x");
  EXPECT_EQ(sim::CountLogs("First byte 0x0 instead of 0xcc"), 1u) << sim::LogText();
  EXPECT_EQ(p[48], 0xbb) << "restored, then marked inactive by the free";
  sim::ClearLogs();
  p = B(Alloc(c));
  p[-1] = 0x11;  // one before the start
  mmlab_core_kmem_cache_free(c, p, 0);
  ExpectReport("rz", "Left Redzone overwritten", "Restoring Left Redzone 0x");
  EXPECT_EQ(K(c).dbg_redzone_overwrites, 2u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK) << "the object was freed after all";
}

TEST_F(SlabDebugTest, PointerThatIsNotAnObjectStartIsRefused) {
  mmlab_kmem_cache* c = Create(core_, "mis", 64, kFZPU);
  unsigned char* p = B(Alloc(c));
  mmlab_core_kmem_cache_free(c, p + 8, 0);
  ExpectReport("mis", "Invalid object pointer 0x", "Object at 0x");
  EXPECT_EQ(sim::CountLogs("Slab 0x"), 1u);
  mmlab_core_kmem_cache_free(c, p, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(SlabDebugTest, CheckValidatesEveryObjectAndRestores) {
  mmlab_kmem_cache* c = Create(core_, "val", 100, kFZPU);
  void* keep = Alloc(c);
  unsigned char* p = B(Alloc(c));
  unsigned char* live = B(Alloc(c));
  mmlab_core_kmem_cache_free(c, p, 0);
  p[50] = 0;
  live[100] = 0x77;  // red zone of a live object
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_EUCLEAN);
  EXPECT_EQ(sim::CountLogs("BUG val (mmlab): Poison overwritten"), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("BUG val (mmlab): Right Redzone overwritten"), 1u) << sim::LogText();
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << "restored: the second check is clean";
  mmlab_core_kmem_cache_free(c, live, 0);
  mmlab_core_kmem_cache_free(c, keep, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(SlabDebugTest, LeakReportNamesEachObjectAndWhoAllocatedIt) {
  mmlab_kmem_cache* c = Create(core_, "leak", 64, MMLAB_SLAB_STORE_USER);
  void* a = Alloc(c, 0xabc0);
  void* b = Alloc(c, 0xabc8);
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_EBUSY);
  EXPECT_EQ(sim::CountLogs("BUG leak (mmlab): Objects remaining in leak on __kmem_cache_shutdown()"),
            1u)
      << sim::LogText();
  EXPECT_EQ(sim::CountLogs("Allocated in caller_0xabc0 age="), 1u) << sim::LogText();
  EXPECT_EQ(sim::CountLogs("Allocated in caller_0xabc8 age="), 1u);
  mmlab_core_kmem_cache_free(c, a, 0);
  mmlab_core_kmem_cache_free(c, b, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(SlabDebugTest, LeakReportIsBounded) {
  mmlab_kmem_cache* c = Create(core_, "many", 32, MMLAB_SLAB_STORE_USER);
  std::vector<void*> objs;
  for (int i = 0; i < 100; i++)
    objs.push_back(Alloc(c));
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_EBUSY);
  EXPECT_EQ(sim::CountLogs(" @offset="), mmlab::kSlabMaxLeakReports);
  EXPECT_EQ(sim::CountLogs("slab many: 68 more objects not shown"), 1u) << sim::LogText();
  for (void* o : objs)
    mmlab_core_kmem_cache_free(c, o, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
}

TEST_F(SlabDebugTest, ReportsAreLimitedAsWholesAndCounted) {
  mmlab_kmem_cache* c = Create(core_, "flood", 32, 0);
  ASSERT_EQ(Control("cache_debug name=kmalloc-32 flags=F"), MMLAB_OK);
  void* keep = Alloc(c);
  void* p = Alloc(c);
  mmlab_core_kmem_cache_free(c, p, 0);
  (void)keep;
  mmlab_core_kmem_cache_destroy(c);  // busy: keep is live
  mmlab_core_kmem_cache_free(c, keep, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
  mmlab_kmem_cache* d = Create(core_, "flood2", 32, MMLAB_SLAB_CONSISTENCY_CHECKS);
  void* k2 = Alloc(d);
  void* q = Alloc(d);
  mmlab_core_kmem_cache_free(d, q, 0);
  mmlab::DebugReportResetLimit();
  sim::ClearLogs();
  const uint64_t suppressed = mmlab::DebugReportsSuppressed();
  for (int i = 0; i < 30; i++)
    mmlab_core_kmem_cache_free(d, q, 0);
  EXPECT_EQ(sim::CountLogs("BUG flood2"), mmlab::kDebugReportBurst);
  EXPECT_EQ(sim::CountLogs("FIX flood2"), mmlab::kDebugReportBurst) << "never cut in the middle";
  EXPECT_EQ(mmlab::DebugReportsSuppressed() - suppressed, 30u - mmlab::kDebugReportBurst);
  EXPECT_EQ(K(d).dbg_bad_frees, 30u) << "every one is counted";
  mmlab_core_kmem_cache_free(d, k2, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(d), MMLAB_OK);
  ASSERT_EQ(Control("cache_debug name=kmalloc-32 flags=-"), MMLAB_OK);
}

TEST_F(SlabDebugTest, CacheDebugSwitchesOnlyAnEmptyCache) {
  std::string r;
  ASSERT_EQ(Control("cache_create name=sw size=64", &r), MMLAB_OK) << r;
  ASSERT_EQ(Control("cache_alloc cache=1", &r), MMLAB_OK) << r;
  EXPECT_EQ(Control("cache_debug cache=1 flags=FZPU", &r), MMLAB_EBUSY);
  EXPECT_NE(r.find("not empty (1 objects in use"), std::string::npos) << r;
  ASSERT_EQ(Control("cache_free 1", &r), MMLAB_OK) << r;
  ASSERT_EQ(Control("cache_debug cache=1 flags=FZPU", &r), MMLAB_OK) << r;
  EXPECT_NE(r.find("debug FZPU objsize 64 size 136"), std::string::npos) << r;
  EXPECT_NE(Result("cache_info cache=1").find(" debug FZPU "), std::string::npos);
  ASSERT_EQ(Control("cache_alloc cache=1", &r), MMLAB_OK) << r;
  const std::string id = r.substr(7, r.find(' ', 7) - 7);
  EXPECT_EQ(Control("obj_check object=" + id + " byte=0x6b len=63", &r), MMLAB_OK)
      << "a new object is poisoned: " << r;
  ASSERT_EQ(Control("cache_free object=" + id, &r), MMLAB_OK) << r;
  ASSERT_EQ(Control("cache_debug cache=1 flags=-", &r), MMLAB_OK) << r;
  EXPECT_NE(Result("cache_info cache=1").find(" size 64 "), std::string::npos);
  EXPECT_EQ(Control("cache_debug cache=1 flags=FX"), MMLAB_EINVAL);
  EXPECT_EQ(Control("cache_debug name=nosuch flags=F"), MMLAB_ENOENT);
  EXPECT_EQ(Control("cache_destroy cache=1"), MMLAB_OK);
  EXPECT_EQ(Control("cache_create name=cd size=24 debug=ZU", &r), MMLAB_OK) << r;
  EXPECT_NE(Result("cache_info cache=2").find(" debug ZU "), std::string::npos);
  EXPECT_EQ(Control("cache_create name=ce size=24 debug=Q"), MMLAB_EINVAL);
  EXPECT_EQ(Control("cache_destroy cache=2"), MMLAB_OK);
}

TEST_F(SlabDebugTest, BugCommandsProduceTheirReportsAndLeaveEverythingWorking) {
  std::string r;
  ASSERT_EQ(Control("cache_create name=bugs size=64 debug=FZPU", &r), MMLAB_OK) << r;
  struct {
    const char* cmd;
    const char* bug;
  } cases[] = {
      {"bug use_after_free cache=1", "BUG bugs (mmlab): Poison overwritten"},
      {"bug double_free cache=1", "BUG bugs (mmlab): Object already free"},
      {"bug redzone cache=1", "BUG bugs (mmlab): Right Redzone overwritten"},
      {"bug bad_free cache=1", "BUG bugs (mmlab): Invalid object pointer"},
      {"bug use_after_free name=kmalloc-64", "BUG kmalloc-64 (mmlab): Poison overwritten"},
      {"bug double_free name=kmalloc-64", "BUG kmalloc-64 (mmlab): Object already free"},
      {"bug redzone name=kmalloc-64", "BUG kmalloc-64 (mmlab): Right Redzone overwritten"},
  };
  ASSERT_EQ(Control("cache_debug name=kmalloc-64 flags=FZPU", &r), MMLAB_OK) << r;
  for (const auto& c : cases) {
    mmlab::DebugReportResetLimit();
    sim::ClearLogs();
    ASSERT_EQ(Control(c.cmd, &r), MMLAB_OK) << c.cmd << ": " << r;
    EXPECT_NE(r.find("; 1 caught"), std::string::npos) << c.cmd << ": " << r;
    EXPECT_EQ(sim::CountLogs(c.bug), 1u) << c.cmd << "\n" << sim::LogText();
    EXPECT_EQ(sim::CountLogs("FIX "), 1u) << c.cmd << "\n" << sim::LogText();
    if (!strstr(c.cmd, "bad_free")) {  // slab_err(): no object, no tracks
      EXPECT_EQ(sim::CountLogs("Allocated in caller_0x"), 1u) << c.cmd << "\n" << sim::LogText();
    }
    EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << c.cmd << "\n" << sim::LogText();
  }
  EXPECT_EQ(Control("bug redzone cache=999"), MMLAB_ENOENT);
  EXPECT_EQ(Control("bug nosuch cache=1"), MMLAB_EINVAL);
  EXPECT_EQ(Control("cache_alloc cache=1", &r), MMLAB_OK) << "the cache still works: " << r;
  EXPECT_EQ(Control("cache_free 1"), MMLAB_OK);
  EXPECT_EQ(Control("cache_destroy cache=1"), MMLAB_OK);
  ASSERT_EQ(Control("cache_debug name=kmalloc-64 flags=-", &r), MMLAB_OK) << r;
  // Without the flag that catches it, the command says so instead.
  ASSERT_EQ(Control("cache_create name=nodbg size=64", &r), MMLAB_OK) << r;
  EXPECT_EQ(Control("bug use_after_free cache=2", &r), MMLAB_EINVAL);
  EXPECT_NE(r.find("not poisoned"), std::string::npos) << r;
  EXPECT_EQ(Control("bug redzone cache=2"), MMLAB_EINVAL);
  EXPECT_EQ(Control("cache_destroy cache=2"), MMLAB_OK);
}

TEST_F(SlabDebugTest, SlubDebugDefaultAppliesToNewCachesAndNamedKmallocCaches) {
  char res[256];
  const std::string spec = "ZP,only_me";
  ASSERT_EQ(mmlab_core_slub_debug_set(core_, spec.data(), spec.size(), res, sizeof(res)),
            MMLAB_OK)
      << res;
  mmlab_kmem_cache* a = Create(core_, "only_me", 64, 0);
  mmlab_kmem_cache* b = Create(core_, "not_me", 64, 0);
  EXPECT_EQ(K(a).debug_flags, uint32_t{MMLAB_SLAB_RED_ZONE | MMLAB_SLAB_POISON});
  EXPECT_EQ(K(b).debug_flags, 0u);
  std::string shown;
  mmlab_core_slub_debug_show(
      core_, [](void* ctx, const char* s, size_t n) { static_cast<std::string*>(ctx)->append(s, n); },
      &shown);
  EXPECT_EQ(shown, "ZP,only_me\n");
  ASSERT_EQ(Control("cache_debug name=kmalloc-32 flags=U"), MMLAB_OK);
  const std::string k = "FZPU,kmalloc-128";
  ASSERT_EQ(mmlab_core_slub_debug_set(core_, k.data(), k.size(), res, sizeof(res)), MMLAB_OK);
  EXPECT_NE(std::string(res).find("1 kmalloc caches switched"), std::string::npos) << res;
  for (KmemCache* kc : mmlab::Core::From(core_)->slab().kmalloc_caches) {
    if (kc && !strcmp(kc->name, "kmalloc-32")) {
      EXPECT_EQ(kc->debug_flags, uint32_t{MMLAB_SLAB_STORE_USER})
          << "a named setting leaves the other kmalloc caches alone";
    }
  }
  ASSERT_EQ(Control("cache_debug name=kmalloc-32 flags=-"), MMLAB_OK);
  void* p = mmlab_core_kmalloc(core_, 100, MMLAB_GFP_KERNEL, 0x77);
  EXPECT_EQ(B(p)[0], 0x6b) << "kmalloc-128 is poisoned now";
  B(p)[128] = 1;
  mmlab_core_kfree(core_, p, 0);
  EXPECT_EQ(sim::CountLogs("BUG kmalloc-128 (mmlab): Right Redzone overwritten"), 1u)
      << sim::LogText();
  const std::string bad = "FQ";
  EXPECT_EQ(mmlab_core_slub_debug_set(core_, bad.data(), bad.size(), res, sizeof(res)),
            MMLAB_EINVAL);
  const std::string off = "-";
  ASSERT_EQ(mmlab_core_slub_debug_set(core_, off.data(), off.size(), res, sizeof(res)), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(a), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(b), MMLAB_OK);
}

TEST_F(SlabDebugTest, BulkAndCtorWorkInADebugCache) {
  mmlab_kmem_cache* c = Create(core_, "bulk", 200, kFZPU);
  void* objs[50];
  ASSERT_EQ(mmlab_core_kmem_cache_alloc_bulk(c, MMLAB_GFP_KERNEL, 50, objs, 0), 50u);
  for (void* o : objs)
    memset(o, 0x33, 200);
  mmlab_core_kmem_cache_free_bulk(c, 50, objs, 0);
  EXPECT_EQ(sim::CountLogs("BUG"), 0u) << sim::LogText();
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(c), MMLAB_OK);
  mmlab_kmem_cache* f = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "ctor", 40, 0, kFZPU,
                                         [](void* o) { memset(o, 0xab, 40); }, &f),
            MMLAB_OK);
  void* o = Alloc(f);
  EXPECT_EQ(B(o)[0], 0xab) << "a constructed object is never poisoned";
  mmlab_core_kmem_cache_free(f, o, 0);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(f), MMLAB_OK);
}

// cache_debug racing allocations and frees on other CPUs: the switch only
// happens at a moment with no slab at all, a slab made meanwhile from the
// old layout is thrown away, and nothing is lost or reported.
TEST_F(SlabDebugTest, SwitchingWhileOtherCpusAllocateIsSafe) {
  std::atomic<bool> stop{false}, pause{false};
  std::atomic<uint32_t> paused{0};
  std::atomic<uint64_t> rounds{0};
  std::vector<std::thread> threads;
  for (uint32_t cpu = 1; cpu <= 2; cpu++) {
    threads.emplace_back([&, cpu] {
      sim::BindCpu(cpu);
      while (!stop.load()) {
        if (pause.load()) {
          paused++;
          while (pause.load() && !stop.load())
            std::this_thread::yield();
          paused--;
          continue;
        }
        void* objs[4];
        for (void*& o : objs) {
          o = mmlab_core_kmalloc(core_, 64, MMLAB_GFP_KERNEL, 0x99);
          ASSERT_NE(o, nullptr);
          memset(o, 0x11, 64);
        }
        for (void* o : objs)
          mmlab_core_kfree(core_, o, 0x98);
        rounds++;
      }
    });
  }
  while (rounds.load() < 10)
    std::this_thread::yield();
  uint32_t switched = 0, busy = 0, quiet = 0;
  const uint64_t start = rounds.load();
  for (int i = 0; i < 4000 && (quiet < 5 || rounds.load() - start < 2000); i++) {
    if (i % 400 == 399) {
      // Now and then with the other CPUs idle: the switch must work.
      pause = true;
      while (paused.load() < 2)
        std::this_thread::yield();
      EXPECT_EQ(Control(quiet % 2 ? "cache_debug name=kmalloc-64 flags=-"
                                  : "cache_debug name=kmalloc-64 flags=FZPU"),
                MMLAB_OK);
      quiet++;
      pause = false;
      continue;
    }
    std::string r;
    if (Control(i % 2 ? "cache_debug name=kmalloc-64 flags=-"
                      : "cache_debug name=kmalloc-64 flags=FZPU",
                &r) == MMLAB_OK)
      switched++;
    else
      busy++;
  }
  stop = true;
  for (std::thread& t : threads)
    t.join();
  EXPECT_GE(quiet, 5u);
  EXPECT_GT(rounds.load() - start, 100u)
      << "the threads ran meanwhile; racing switches " << switched << " ok, " << busy << " busy";
  EXPECT_EQ(sim::CountLogs("BUG "), 0u) << sim::LogText();
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  Control("cache_debug name=kmalloc-64 flags=-");
}

}  // namespace
}  // namespace mmlab_test
