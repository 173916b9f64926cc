// SPDX-License-Identifier: GPL-2.0
//
// region_test.cc - /dev/mmlab's regions in the core: demand allocation of
// zeroed pages, the same page on refault, SIGBUS past the size, punch and
// destroy giving pages back (or keeping them while the host says they are
// mapped or pinned), overcommit modes 0/1/2 and the fault log ring.
#include <cstring>
#include <set>
#include <cstdio>
#include <string>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

#include "test_util.h"

namespace mmlab_test {
namespace {

using Region = CoreTest;

// The host's answer to "is this page still mapped or pinned?".
struct Pins {
  std::set<uint64_t> pfns;
  std::set<uint64_t> pgoffs_asked;  // the shim unmaps by page offset
  int asked = 0;
  static int Busy(void* ctx, uint64_t pfn, uint64_t pgoff) {
    Pins* p = static_cast<Pins*>(ctx);
    p->asked++;
    p->pgoffs_asked.insert(pgoff);
    return p->pfns.count(pfn) ? 1 : 0;
  }
};

mmlab_region_stats Stats(mmlab_region* r) {
  mmlab_region_stats s;
  mmlab_core_region_stats(r, &s);
  return s;
}

uint64_t UsedPages(mmlab_core* core) {
  struct mmlab_core_counters c;
  mmlab_core_counters(core, &c);
  return c.used_pages;
}

TEST_F(Region, FaultAllocatesOnFirstTouchOnly) {
  NewCore(4, 8);
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 64, nullptr, nullptr), MMLAB_OK);
  const uint64_t used = UsedPages(core_);
  EXPECT_EQ(Stats(r).resident_pages, 0u) << "nothing is allocated at set-size";

  // Touch every other page, twice.
  std::vector<mmlab_page*> first(64, nullptr);
  for (int pass = 0; pass < 2; pass++) {
    for (uint64_t off = 0; off < 64; off += 2) {
      mmlab_page* p = nullptr;
      ASSERT_EQ(mmlab_core_region_fault(r, off, 42, 0x10000 + off * 4096, &p), MMLAB_OK);
      ASSERT_NE(p, nullptr);
      if (pass == 0)
        first[off] = p;
      else
        EXPECT_EQ(p, first[off]) << "a refault finds the same page";
    }
  }
  mmlab_region_stats s = Stats(r);
  EXPECT_EQ(s.resident_pages, 32u);
  EXPECT_EQ(s.faults, 64u);
  EXPECT_EQ(s.alloc_faults, 32u);
  EXPECT_EQ(UsedPages(core_), used + 32);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();

  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(UsedPages(core_), used) << "destroy gives every page back";
}

TEST_F(Region, FreshPagesAreZeroEvenWhenReused) {
  NewBuddyCore(2, 1);  // 4 pages: reuse is certain
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 4, nullptr, nullptr), MMLAB_OK);
  for (int round = 0; round < 3; round++) {
    for (uint64_t off = 0; off < 4; off++) {
      mmlab_page* p = nullptr;
      ASSERT_EQ(mmlab_core_region_fault(r, off, 1, 0, &p), MMLAB_OK);
      unsigned char* a = static_cast<unsigned char*>(mmlab_core_page_address(core_, p));
      for (size_t i = 0; i < MMLAB_PAGE_SIZE; i++)
        ASSERT_EQ(a[i], 0) << "round " << round << " pgoff " << off << " byte " << i;
      memset(a, 0xa5, MMLAB_PAGE_SIZE);  // old data the next round must not see
    }
    EXPECT_EQ(mmlab_core_region_punch(r, 0, 4, nullptr, nullptr), 4u);
  }
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
}

TEST_F(Region, FaultPastTheSizeFails) {
  NewCore();
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  mmlab_page* p = nullptr;
  EXPECT_EQ(mmlab_core_region_fault(r, 0, 1, 0, &p), MMLAB_EINVAL) << "size 0: SIGBUS";
  ASSERT_EQ(mmlab_core_region_set_size(r, 3, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_fault(r, 2, 1, 0, &p), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_fault(r, 3, 1, 0, &p), MMLAB_EINVAL);
  EXPECT_EQ(p, nullptr);
  // Shrinking frees what lies past the new end; growing back shows zeroes.
  ASSERT_EQ(mmlab_core_region_set_size(r, 2, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(Stats(r).resident_pages, 0u);
  EXPECT_EQ(mmlab_core_region_fault(r, 2, 1, 0, &p), MMLAB_EINVAL);
  ASSERT_EQ(mmlab_core_region_set_size(r, 60, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_fault(r, 59, 1, 0, &p), MMLAB_OK);
  EXPECT_EQ(Stats(r).size_pages, 60u);
  EXPECT_EQ(mmlab_core_region_set_size(r, 65, nullptr, nullptr), MMLAB_ENOMEM)
      << "never more than the capacity (64 pages)";
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
}

TEST_F(Region, GrowingKeepsThePages) {
  NewCore();
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 2, nullptr, nullptr), MMLAB_OK);
  mmlab_page *a = nullptr, *b = nullptr;
  ASSERT_EQ(mmlab_core_region_fault(r, 1, 1, 0, &a), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 50, nullptr, nullptr), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_fault(r, 1, 1, 0, &b), MMLAB_OK);
  EXPECT_EQ(a, b);
  EXPECT_EQ(Stats(r).alloc_faults, 1u);
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
}

TEST_F(Region, PunchFreesOnlyTheRange) {
  NewCore(4, 8);
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 16, nullptr, nullptr), MMLAB_OK);
  std::vector<mmlab_page*> pages(16);
  for (uint64_t off = 0; off < 16; off++)
    ASSERT_EQ(mmlab_core_region_fault(r, off, 1, 0, &pages[off]), MMLAB_OK);
  const uint64_t used = UsedPages(core_);
  EXPECT_EQ(mmlab_core_region_punch(r, 4, 8, nullptr, nullptr), 8u);
  EXPECT_EQ(UsedPages(core_), used - 8);
  EXPECT_EQ(Stats(r).resident_pages, 8u);
  mmlab_page* p = nullptr;
  ASSERT_EQ(mmlab_core_region_fault(r, 3, 1, 0, &p), MMLAB_OK);
  EXPECT_EQ(p, pages[3]) << "outside the hole: kept";
  ASSERT_EQ(mmlab_core_region_fault(r, 12, 1, 0, &p), MMLAB_OK);
  EXPECT_EQ(p, pages[12]);
  EXPECT_EQ(mmlab_core_region_punch(r, 4, 8, nullptr, nullptr), 0u) << "already a hole";
  EXPECT_EQ(mmlab_core_region_punch(r, 15, ~uint64_t{0}, nullptr, nullptr), 1u)
      << "a range running off the end is clipped";
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
}

TEST_F(Region, BusyPagesStayUntilTheHostLetsGo) {
  NewCore(4, 8);
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 4, nullptr, nullptr), MMLAB_OK);
  mmlab_page* pinned = nullptr;
  mmlab_page* other = nullptr;
  ASSERT_EQ(mmlab_core_region_fault(r, 0, 1, 0, &pinned), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_fault(r, 1, 1, 0, &other), MMLAB_OK);
  const uint64_t used = UsedPages(core_);
  Pins pins;
  pins.pfns.insert(mmlab_core_page_to_pfn(core_, pinned));  // an O_DIRECT in flight

  EXPECT_EQ(mmlab_core_region_punch(r, 0, 4, Pins::Busy, &pins), 1u);
  EXPECT_EQ(pins.asked, 2);
  EXPECT_EQ(pins.pgoffs_asked, (std::set<uint64_t>{0, 1})) << "each page is asked with its offset";
  mmlab_region_stats s = Stats(r);
  EXPECT_EQ(s.resident_pages, 0u) << "the hole is a hole at once";
  EXPECT_EQ(s.busy_pages, 1u);
  EXPECT_EQ(UsedPages(core_), used - 1) << "the pinned page is not back yet";
  mmlab_page* p = nullptr;
  ASSERT_EQ(mmlab_core_region_fault(r, 0, 1, 0, &p), MMLAB_OK);
  EXPECT_NE(p, pinned) << "a new fault never sees the punched page";

  // Destroy while still pinned: EBUSY, the region stays; later it goes.
  // The busy page is asked again with the offset it had.
  pins.pgoffs_asked.clear();
  EXPECT_EQ(mmlab_core_region_destroy(r, Pins::Busy, &pins), MMLAB_EBUSY);
  EXPECT_EQ(pins.pgoffs_asked, (std::set<uint64_t>{0})) << "page 0 again (the busy one and the refault)";
  EXPECT_EQ(Stats(r).busy_pages, 1u);
  EXPECT_EQ(Stats(r).resident_pages, 0u);
  mmlab_commit_info info;
  mmlab_core_commit_info(core_, &info);
  EXPECT_EQ(info.committed_pages, 0u) << "destroy uncommits even while pages are busy";
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  pins.pfns.clear();
  EXPECT_EQ(mmlab_core_region_destroy(r, Pins::Busy, &pins), MMLAB_OK);
  EXPECT_EQ(UsedPages(core_), used - 2);
}

TEST_F(Region, OvercommitNeverCommitsAtSetSize) {
  NewCore(4, 8);  // 128 pages of capacity
  ASSERT_EQ(mmlab_core_set_overcommit(core_, MMLAB_OVERCOMMIT_NEVER, 50), MMLAB_OK);
  mmlab_commit_info info;
  mmlab_core_commit_info(core_, &info);
  EXPECT_EQ(info.commit_limit_pages, 64u);
  EXPECT_EQ(info.capacity_pages, 128u);
  EXPECT_EQ(info.max_region_pages, uint64_t{1} << 29);
  mmlab_region *a = nullptr, *b = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &a), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &b), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_set_size(a, 40, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_set_size(b, 25, nullptr, nullptr), MMLAB_ENOMEM);
  EXPECT_EQ(Stats(b).size_pages, 0u) << "a refused size changes nothing";
  EXPECT_EQ(mmlab_core_region_set_size(b, 24, nullptr, nullptr), MMLAB_OK);
  mmlab_core_commit_info(core_, &info);
  EXPECT_EQ(info.committed_pages, 64u);
  EXPECT_EQ(Stats(a).committed_pages, 40u);
  EXPECT_EQ(Stats(a).resident_pages, 0u) << "committed is not resident";
  // Shrinking gives commit back.
  EXPECT_EQ(mmlab_core_region_set_size(a, 10, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_set_size(b, 54, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_set_size(b, 55, nullptr, nullptr), MMLAB_ENOMEM);
  ASSERT_EQ(mmlab_core_region_destroy(a, nullptr, nullptr), MMLAB_OK);
  mmlab_core_commit_info(core_, &info);
  EXPECT_EQ(info.committed_pages, 54u);
  EXPECT_EQ(info.regions, 1u);
  ASSERT_EQ(mmlab_core_region_destroy(b, nullptr, nullptr), MMLAB_OK);
  mmlab_core_commit_info(core_, &info);
  EXPECT_EQ(info.committed_pages, 0u);
}

TEST_F(Region, OvercommitGuessAndAlways) {
  NewBuddyCore(2, 2);  // 8 pages
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  // Mode 0: only the obviously impossible is refused.
  EXPECT_EQ(mmlab_core_region_set_size(r, 9, nullptr, nullptr), MMLAB_ENOMEM);
  EXPECT_EQ(mmlab_core_region_set_size(r, 8, nullptr, nullptr), MMLAB_OK);
  mmlab_region* r2 = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r2), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_set_size(r2, 8, nullptr, nullptr), MMLAB_OK)
      << "mode 0 overcommits across regions";
  // Mode 1: anything up to the table bound; faults past what exists fail.
  ASSERT_EQ(mmlab_core_set_overcommit(core_, MMLAB_OVERCOMMIT_ALWAYS, 50), MMLAB_OK);
  mmlab_page* p = nullptr;
  int ok = 0, nomem = 0;
  for (uint64_t off = 0; off < 8; off++) {
    for (mmlab_region* x : {r, r2}) {
      mmlab_status st = mmlab_core_region_fault(x, off, 1, 0, &p);
      ok += st == MMLAB_OK;
      nomem += st == MMLAB_ENOMEM;
    }
  }
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(nomem, 8);
  EXPECT_EQ(Stats(r).fault_failures + Stats(r2).fault_failures, 8u);
  EXPECT_EQ(mmlab_core_set_overcommit(core_, 3, 50), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_set_overcommit(core_, 2, 101), MMLAB_EINVAL);
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_destroy(r2, nullptr, nullptr), MMLAB_OK);
}

TEST_F(Region, FaultLogKeepsTheNewestRecordsInOrder) {
  NewCore(4, 8);
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_DMA32, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 8, nullptr, nullptr), MMLAB_OK);
  std::vector<mmlab_fault_record> log(MMLAB_REGION_FAULT_LOG + 10);
  EXPECT_EQ(mmlab_core_region_fault_log(r, log.data(), log.size()), 0u);
  mmlab_page* p = nullptr;
  ASSERT_EQ(mmlab_core_region_fault(r, 5, 77, 0x7f0000005000, &p), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_fault_log(r, log.data(), log.size()), 1u);
  EXPECT_EQ(log[0].seq, 1u);
  EXPECT_EQ(log[0].pid, 77);
  EXPECT_EQ(log[0].address, 0x7f0000005000u);
  EXPECT_EQ(log[0].pgoff, 5u);
  EXPECT_EQ(log[0].pfn, mmlab_core_page_to_pfn(core_, p));
  EXPECT_EQ(log[0].zone, MMLAB_ZONE_DMA32) << "the region's zone policy";
  EXPECT_EQ(log[0].order, 0);
  EXPECT_EQ(log[0].allocated, 1);

  const uint64_t total = 3 * MMLAB_REGION_FAULT_LOG + 7;
  for (uint64_t i = 1; i < total; i++)
    ASSERT_EQ(mmlab_core_region_fault(r, i % 8, 1, i, &p), MMLAB_OK);
  const size_t n = mmlab_core_region_fault_log(r, log.data(), log.size());
  ASSERT_EQ(n, size_t{MMLAB_REGION_FAULT_LOG}) << "bounded";
  for (size_t i = 0; i < n; i++) {
    EXPECT_EQ(log[i].seq, total - MMLAB_REGION_FAULT_LOG + 1 + i);
    EXPECT_EQ(log[i].address, log[i].seq - 1);
  }
  EXPECT_EQ(log[n - 1].allocated, 0) << "a refault";
  EXPECT_EQ(mmlab_core_region_fault_log(r, log.data(), 3), 3u);
  EXPECT_EQ(log[2].seq, total) << "a short copy still ends with the newest";
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
}

TEST_F(Region, ConcurrentFaultsOnOneSlotAllocateOnce) {
  NewCore(4, 16);
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 32, nullptr, nullptr), MMLAB_OK);
  constexpr int kThreads = 4;
  std::vector<std::vector<mmlab_page*>> seen(kThreads, std::vector<mmlab_page*>(32));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; round++) {
        for (uint64_t off = 0; off < 32; off++) {
          mmlab_page* p = nullptr;
          if (mmlab_core_region_fault(r, off, t, off, &p) != MMLAB_OK)
            return;
          if (round == 0)
            seen[t][off] = p;
          else if (seen[t][off] != p)
            seen[t][off] = nullptr;
        }
        if (t == 0 && round % 10 == 9)
          mmlab_core_region_punch(r, 16, 16, nullptr, nullptr);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  for (int t = 1; t < kThreads; t++)
    for (uint64_t off = 0; off < 16; off++)
      EXPECT_EQ(seen[t][off], seen[0][off]) << "every thread sees one page at " << off;
  EXPECT_LE(Stats(r).resident_pages, 32u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
}

TEST_F(Region, CoreDestroyTakesBackALeakedRegion) {
  NewCore();
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 4, nullptr, nullptr), MMLAB_OK);
  mmlab_page* p = nullptr;
  ASSERT_EQ(mmlab_core_region_fault(r, 0, 1, 0, &p), MMLAB_OK);
  // No destroy: TearDown's core destroy must report it and leak nothing.
}

TEST_F(Region, StatsViewShowsCommitFigures) {
  NewCore(4, 8);
  ASSERT_EQ(mmlab_core_set_overcommit(core_, MMLAB_OVERCOMMIT_NEVER, 25), MMLAB_OK);
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 20, nullptr, nullptr), MMLAB_OK);
  const std::string stats = Render(MMLAB_VIEW_STATS);
  EXPECT_NE(stats.find("overcommit_memory      2\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("overcommit_ratio       25\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("committed_pages        20\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("commit_limit_pages     32\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("regions                1\n"), std::string::npos) << stats;
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
}

TEST_F(Region, LookupSeesTheTableAsAFaultRecheckNeedsIt) {
  NewCore(4, 8);
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 4, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_lookup(r, 1), nullptr) << "nothing before the first touch";
  mmlab_page* p = nullptr;
  ASSERT_EQ(mmlab_core_region_fault(r, 1, 1, 0, &p), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_lookup(r, 1), p);
  EXPECT_EQ(mmlab_core_region_lookup(r, 4), nullptr) << "beyond the size";
  EXPECT_EQ(mmlab_core_region_punch(r, 1, 1, nullptr, nullptr), 1u);
  EXPECT_EQ(mmlab_core_region_lookup(r, 1), nullptr) << "a punched slot is empty: the fault retries";
  EXPECT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
}


void AppendTo(void* ctx, const char* s, size_t len) { static_cast<std::string*>(ctx)->append(s, len); }

TEST_F(Region, FaultLogFileShowsTheRingOldestFirst) {
  NewCore(4, 32);  // 512 pages
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 300, nullptr, nullptr), MMLAB_OK);
  mmlab_page* p = nullptr;
  // 300 faults: the ring keeps the last 256 (seq 45..300); pages 0..99 are
  // touched twice, the second touch does not allocate.
  for (uint64_t i = 0; i < 200; i++)
    ASSERT_EQ(mmlab_core_region_fault(r, i, 42, 0x7f0000000000ull + i * 4096, &p), MMLAB_OK);
  for (uint64_t i = 0; i < 100; i++)
    ASSERT_EQ(mmlab_core_region_fault(r, i, 43, 0x7f0000000000ull + i * 4096, &p), MMLAB_OK);
  std::string text;
  mmlab_core_region_render_faults(r, AppendTo, &text);
  std::vector<std::string> lines;
  for (size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1)
    lines.push_back(text.substr(at, nl - at));
  ASSERT_EQ(lines.size(), 1u + MMLAB_REGION_FAULT_LOG) << text.substr(0, 400);
  EXPECT_EQ(lines[0].rfind("# seq", 0), 0u) << lines[0];
  unsigned long long seq, address, pgoff, pfn, latency;
  int pid;
  char zone[16];
  unsigned order, alloc;
  ASSERT_EQ(sscanf(lines[1].c_str(), "%llu %d 0x%llx %llu 0x%llx %15s %u %u %llu", &seq, &pid,
                   &address, &pgoff, &pfn, zone, &order, &alloc, &latency),
            9)
      << lines[1];
  EXPECT_EQ(seq, 45u) << "oldest kept record first";
  EXPECT_EQ(pid, 42);
  EXPECT_EQ(pgoff, 44u);
  EXPECT_EQ(address, 0x7f0000000000ull + 44 * 4096);
  EXPECT_STREQ(zone, "Normal");
  EXPECT_EQ(order, 0u);
  EXPECT_EQ(alloc, 1u);
  ASSERT_EQ(sscanf(lines.back().c_str(), "%llu %d 0x%llx %llu 0x%llx %15s %u %u %llu", &seq, &pid,
                   &address, &pgoff, &pfn, zone, &order, &alloc, &latency),
            9)
      << lines.back();
  EXPECT_EQ(seq, 300u);
  EXPECT_EQ(pid, 43);
  EXPECT_EQ(pgoff, 99u);
  EXPECT_EQ(alloc, 0u) << "a refault of a resident page takes no page";
  EXPECT_EQ(pfn, mmlab_core_page_to_pfn(core_, mmlab_core_region_lookup(r, 99)));
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
}

TEST_F(Region, RegionsViewLineHasTheOwnersColumns) {
  NewCore(4, 8);
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 8, nullptr, nullptr), MMLAB_OK);
  mmlab_page* p = nullptr;
  ASSERT_EQ(mmlab_core_region_fault(r, 3, 1, 0, &p), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_fault(r, 3, 1, 0, &p), MMLAB_OK);
  std::string text;
  mmlab_core_region_render_header(AppendTo, &text);
  const mmlab_region_owner owner = {77, "shared.buf", 2, 3};
  mmlab_core_region_render(r, &owner, AppendTo, &text);
  const mmlab_region_owner anon = {78, nullptr, 0, 1};
  mmlab_core_region_render(r, &anon, AppendTo, &text);
  std::istringstream in(text);
  std::string header, line, unnamed;
  std::getline(in, header);
  std::getline(in, line);
  std::getline(in, unnamed);
  EXPECT_EQ(header.rfind("# id", 0), 0u) << header;
  std::istringstream f(line);
  std::vector<std::string> col{std::istream_iterator<std::string>(f), {}};
  ASSERT_EQ(col.size(), 12u) << line;
  EXPECT_EQ(col[1], "77");
  EXPECT_EQ(col[2], "shared.buf");
  EXPECT_EQ(col[3], "8") << "size";
  EXPECT_EQ(col[4], "1") << "resident";
  EXPECT_EQ(col[6], "8") << "committed";
  EXPECT_EQ(col[7], "2") << "mappings";
  EXPECT_EQ(col[8], "3") << "files";
  EXPECT_EQ(col[9], "2") << "faults";
  EXPECT_EQ(col[10], "1") << "alloc_faults";
  std::istringstream g(unnamed);
  std::vector<std::string> col2{std::istream_iterator<std::string>(g), {}};
  ASSERT_EQ(col2.size(), 12u) << unnamed;
  EXPECT_EQ(col2[2], "-") << "an unnamed region";
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
}

TEST_F(Region, AlwaysModeTakesSizesFarPastTheCapacitySparsely) {
  NewBuddyCore(2, 2);  // 8 pages
  ASSERT_EQ(mmlab_core_set_overcommit(core_, MMLAB_OVERCOMMIT_ALWAYS, 50), MMLAB_OK);
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  // 1 TiB of size on 32 KiB of memory: only the directory is allocated.
  const uint64_t tib = uint64_t{1} << 28;
  ASSERT_EQ(mmlab_core_region_set_size(r, tib, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_set_size(r, (uint64_t{1} << 29) + 1, nullptr, nullptr), MMLAB_ENOMEM)
      << "past the directory bound (2 TiB)";
  EXPECT_EQ(Stats(r).size_pages, tib);
  // Pages far apart land in different leaves; each is the same on refault.
  const uint64_t offs[] = {0, 511, 512, tib / 2, tib - 1};
  mmlab_page* got[5] = {};
  for (int i = 0; i < 5; i++)
    ASSERT_EQ(mmlab_core_region_fault(r, offs[i], 1, 0, &got[i]), MMLAB_OK) << offs[i];
  for (int i = 0; i < 5; i++) {
    EXPECT_EQ(mmlab_core_region_lookup(r, offs[i]), got[i]);
    mmlab_page* again = nullptr;
    ASSERT_EQ(mmlab_core_region_fault(r, offs[i], 1, 0, &again), MMLAB_OK);
    EXPECT_EQ(again, got[i]);
  }
  EXPECT_EQ(Stats(r).resident_pages, 5u);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  // Shrinking past leaves frees their pages (and the leaves).
  const uint64_t used = UsedPages(core_);
  ASSERT_EQ(mmlab_core_region_set_size(r, 600, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(Stats(r).resident_pages, 3u);
  EXPECT_EQ(UsedPages(core_), used - 2);
  EXPECT_EQ(mmlab_core_region_lookup(r, tib / 2), nullptr);
  // Grow again: the far slot is empty, a new fault gets a fresh page.
  ASSERT_EQ(mmlab_core_region_set_size(r, tib, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_lookup(r, tib - 1), nullptr);
  mmlab_page* p = nullptr;
  ASSERT_EQ(mmlab_core_region_fault(r, tib - 1, 1, 0, &p), MMLAB_OK);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(UsedPages(core_), 0u);
}

TEST_F(Region, NeverModeFaultsMayDipIntoTheReserves) {
  NewCore(4, 8);  // 128 pages
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 64, nullptr, nullptr), MMLAB_OK);
  // Another user takes everything a plain GFP_USER request can get.
  std::vector<mmlab_page*> hog;
  while (mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_USER | MMLAB___GFP_NOWARN, 0))
    hog.push_back(p);
  ASSERT_FALSE(hog.empty());
  mmlab_page* p = nullptr;
  EXPECT_EQ(mmlab_core_region_fault(r, 0, 1, 0, &p), MMLAB_ENOMEM)
      << "mode 0: a fault is an ordinary GFP_USER allocation";
  ASSERT_EQ(mmlab_core_set_overcommit(core_, MMLAB_OVERCOMMIT_NEVER, 50), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_fault(r, 0, 1, 0, &p), MMLAB_OK)
      << "mode 2: the committed page comes from below the min watermark";
  for (mmlab_page* h : hog)
    mmlab_core___free_pages(core_, h, 0);
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
}

TEST_F(Region, ZonePolicyAppliesToLaterFaults) {
  NewCore(4, 16);
  mmlab_region* r = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &r), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(r, 8, nullptr, nullptr), MMLAB_OK);
  mmlab_page* normal = nullptr;
  mmlab_page* dma32 = nullptr;
  ASSERT_EQ(mmlab_core_region_fault(r, 0, 1, 0, &normal), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_set_zone(r, MMLAB_NR_ZONES), MMLAB_EINVAL);
  ASSERT_EQ(mmlab_core_region_set_zone(r, MMLAB_ZONE_DMA32), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_fault(r, 1, 1, 0, &dma32), MMLAB_OK);
  std::vector<mmlab_fault_record> log(4);
  ASSERT_EQ(mmlab_core_region_fault_log(r, log.data(), log.size()), 2u);
  EXPECT_EQ(log[0].zone, MMLAB_ZONE_NORMAL);
  EXPECT_EQ(log[1].zone, MMLAB_ZONE_DMA32) << "the new policy";
  mmlab_page* again = nullptr;
  ASSERT_EQ(mmlab_core_region_fault(r, 0, 1, 0, &again), MMLAB_OK);
  EXPECT_EQ(again, normal) << "resident pages stay where they are";
  ASSERT_EQ(mmlab_core_region_destroy(r, nullptr, nullptr), MMLAB_OK);
}

}  // namespace
}  // namespace mmlab_test
