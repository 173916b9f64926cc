// SPDX-License-Identifier: GPL-2.0
//
// fault_inject_test.cc - fault injection as Linux's lib/fault-inject.c
// defines it (probability, interval, times, space, verbose, task-filter,
// the task's fail-nth), with failslab's and fail_page_alloc's filters, plus
// mmlab's seed: the same seed fails the same calls. Then each site, and
// that the layer above it copes: NULL from kmalloc, the mempool's reserve,
// a SIGBUS-bound region fault, a chunk the host "refused" - and that the
// checker passes and every page goes back afterwards (the fixture).
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core.h"
#include "fault_inject.h"
#include "test_util.h"

namespace mmlab_test {
namespace {

using mmlab::FaultAttr;

// --- the attribute alone ----------------------------------------------------------

// lib/fault-inject.c's should_fail_ex(), transcribed (no fail-nth, no
// task-filter, no stack filter), with the random draw taken from the same
// stream mmlab uses, so the two must agree call by call.
struct KernelModel {
  unsigned long probability = 0;
  unsigned long interval = 1;
  int times = 1;
  int space = 0;
  unsigned long count = 0;
  uint64_t seed = 0;
  mmlab_fault_site site = MMLAB_FAULT_SLAB;
  uint64_t draws = 0;

  bool ShouldFail(long size) {
    if (probability == 0)
      return false;
    if (times == 0)
      return false;
    if (space > size) {
      space -= static_cast<int>(size);
      return false;
    }
    if (interval > 1) {
      count++;
      if (count % interval)
        return false;
    }
    if (probability <= FaultAttr::Draw(seed, site, draws++))
      return false;
    if (times != -1 && times != 0)
      times--;
    return true;
  }
};

mmlab_status Set(FaultAttr& a, mmlab_fault_param p, const std::string& v, std::string* why = nullptr) {
  char buf[256];
  mmlab::TextBuf reason(buf, sizeof(buf));
  mmlab_status st = a.Write(p, v.data(), v.size(), &reason);
  if (why)
    *why = reason.c_str();
  return st;
}

std::string Get(const FaultAttr& a, mmlab_fault_param p) {
  char buf[64];
  a.Read(p, buf, sizeof(buf));
  return buf;
}

class FaultAttrTest : public ::testing::Test {
 protected:
  void SetUp() override { sim::Reset(); }
};

TEST_F(FaultAttrTest, DefaultsAreTheKernelsAndOff) {
  FaultAttr a;
  a.Init(MMLAB_FAULT_SLAB, 0);
  // FAULT_ATTR_INITIALIZER, failslab's ignore-gfp-wait=Y.
  EXPECT_EQ(Get(a, MMLAB_FAULT_PROBABILITY), "0\n");
  EXPECT_EQ(Get(a, MMLAB_FAULT_INTERVAL), "1\n");
  EXPECT_EQ(Get(a, MMLAB_FAULT_TIMES), "1\n");
  EXPECT_EQ(Get(a, MMLAB_FAULT_SPACE), "0\n");
  EXPECT_EQ(Get(a, MMLAB_FAULT_VERBOSE), "1\n") << "the kernel's is 2; see fault_inject.h";
  EXPECT_EQ(Get(a, MMLAB_FAULT_VERBOSE_RATELIMIT_INTERVAL_MS), "0\n");
  EXPECT_EQ(Get(a, MMLAB_FAULT_VERBOSE_RATELIMIT_BURST), "10\n");
  EXPECT_EQ(Get(a, MMLAB_FAULT_TASK_FILTER), "N\n");
  EXPECT_EQ(Get(a, MMLAB_FAULT_SEED), "0\n");
  EXPECT_EQ(Get(a, MMLAB_FAULT_IGNORE_GFP_WAIT), "Y\n");
  EXPECT_FALSE(a.armed());
  for (int i = 0; i < 1000; i++)
    EXPECT_FALSE(a.ShouldFail(1));
  EXPECT_EQ(a.calls(), 0u) << "an unarmed site counts nothing";

  FaultAttr b;
  b.Init(MMLAB_FAULT_BUDDY, 0);  // fail_page_alloc: min-order 1, ignore-gfp-wait Y
  EXPECT_EQ(Get(b, MMLAB_FAULT_MIN_ORDER), "1\n");
  EXPECT_EQ(Get(b, MMLAB_FAULT_IGNORE_GFP_WAIT), "Y\n");
  FaultAttr c;
  c.Init(MMLAB_FAULT_CHUNK, 0);
  EXPECT_EQ(Get(c, MMLAB_FAULT_IGNORE_GFP_WAIT), "N\n");
}

TEST_F(FaultAttrTest, FilesPerSite) {
  EXPECT_STREQ(mmlab_core_fault_site_name(MMLAB_FAULT_CHUNK), "chunk");
  EXPECT_STREQ(mmlab_core_fault_site_name(MMLAB_FAULT_BUDDY), "buddy");
  EXPECT_STREQ(mmlab_core_fault_site_name(MMLAB_FAULT_SLAB), "slab");
  EXPECT_STREQ(mmlab_core_fault_site_name(MMLAB_FAULT_MEMPOOL), "mempool");
  EXPECT_STREQ(mmlab_core_fault_site_name(MMLAB_FAULT_MMDEV_FAULT), "mmdev_fault");
  EXPECT_EQ(mmlab_core_fault_site_name(MMLAB_FAULT_NR_SITES), nullptr);
  // fault_create_debugfs_attr's files on every site.
  for (uint32_t s = 0; s < MMLAB_FAULT_NR_SITES; s++) {
    auto site = static_cast<mmlab_fault_site>(s);
    for (auto p : {MMLAB_FAULT_PROBABILITY, MMLAB_FAULT_INTERVAL, MMLAB_FAULT_TIMES,
                   MMLAB_FAULT_SPACE, MMLAB_FAULT_VERBOSE,
                   MMLAB_FAULT_VERBOSE_RATELIMIT_INTERVAL_MS,
                   MMLAB_FAULT_VERBOSE_RATELIMIT_BURST, MMLAB_FAULT_TASK_FILTER,
                   MMLAB_FAULT_SEED})
      EXPECT_EQ(mmlab_core_fault_param_mode(site, p), 0600u)
          << mmlab_core_fault_param_name(p) << " of " << mmlab_core_fault_site_name(site);
    EXPECT_EQ(mmlab_core_fault_param_mode(site, MMLAB_FAULT_CALLS), 0400u);
    EXPECT_EQ(mmlab_core_fault_param_mode(site, MMLAB_FAULT_INJECTED), 0400u);
  }
  EXPECT_STREQ(mmlab_core_fault_param_name(MMLAB_FAULT_TASK_FILTER), "task-filter");
  EXPECT_STREQ(mmlab_core_fault_param_name(MMLAB_FAULT_IGNORE_GFP_WAIT), "ignore-gfp-wait");
  EXPECT_STREQ(mmlab_core_fault_param_name(MMLAB_FAULT_MIN_ORDER), "min-order");
  EXPECT_EQ(mmlab_core_fault_param_name(MMLAB_FAULT_NR_PARAMS), nullptr);
  // failslab: ignore-gfp-wait; fail_page_alloc: ignore-gfp-wait, min-order.
  EXPECT_EQ(mmlab_core_fault_param_mode(MMLAB_FAULT_SLAB, MMLAB_FAULT_IGNORE_GFP_WAIT), 0600u);
  EXPECT_EQ(mmlab_core_fault_param_mode(MMLAB_FAULT_SLAB, MMLAB_FAULT_MIN_ORDER), 0u);
  EXPECT_EQ(mmlab_core_fault_param_mode(MMLAB_FAULT_BUDDY, MMLAB_FAULT_IGNORE_GFP_WAIT), 0600u);
  EXPECT_EQ(mmlab_core_fault_param_mode(MMLAB_FAULT_BUDDY, MMLAB_FAULT_MIN_ORDER), 0600u);
  EXPECT_EQ(mmlab_core_fault_param_mode(MMLAB_FAULT_SLAB, MMLAB_FAULT_CACHE_FILTER), 0600u);
  EXPECT_EQ(mmlab_core_fault_param_mode(MMLAB_FAULT_BUDDY, MMLAB_FAULT_CACHE_FILTER), 0u);
  EXPECT_STREQ(mmlab_core_fault_param_name(MMLAB_FAULT_CACHE_FILTER), "cache-filter");
  for (auto s : {MMLAB_FAULT_CHUNK, MMLAB_FAULT_MEMPOOL, MMLAB_FAULT_MMDEV_FAULT}) {
    EXPECT_EQ(mmlab_core_fault_param_mode(s, MMLAB_FAULT_IGNORE_GFP_WAIT), 0u);
    EXPECT_EQ(mmlab_core_fault_param_mode(s, MMLAB_FAULT_MIN_ORDER), 0u);
    EXPECT_EQ(mmlab_core_fault_param_mode(s, MMLAB_FAULT_CACHE_FILTER), 0u);
  }
  EXPECT_EQ(mmlab_core_fault_param_mode(MMLAB_FAULT_NR_SITES, MMLAB_FAULT_PROBABILITY), 0u);
}

TEST_F(FaultAttrTest, TimesCountsFailuresDown) {
  FaultAttr a;
  a.Init(MMLAB_FAULT_CHUNK, 0);
  ASSERT_EQ(Set(a, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_TIMES, "3"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_PROBABILITY, "100"), MMLAB_OK);
  std::string got;
  for (int i = 0; i < 6; i++)
    got += a.ShouldFail(1) ? 'F' : '.';
  EXPECT_EQ(got, "FFF...");
  EXPECT_EQ(Get(a, MMLAB_FAULT_TIMES), "0\n");
  EXPECT_EQ(a.injected(), 3u);
  EXPECT_EQ(a.calls(), 6u);

  ASSERT_EQ(Set(a, MMLAB_FAULT_TIMES, "-1"), MMLAB_OK);
  for (int i = 0; i < 100; i++)
    EXPECT_TRUE(a.ShouldFail(1));
  EXPECT_EQ(Get(a, MMLAB_FAULT_TIMES), "-1\n") << "-1 is no limit and stays -1";
}

TEST_F(FaultAttrTest, IntervalFailsEveryNth) {
  FaultAttr a;
  a.Init(MMLAB_FAULT_CHUNK, 0);
  ASSERT_EQ(Set(a, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_TIMES, "-1"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_INTERVAL, "3"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_PROBABILITY, "100"), MMLAB_OK);
  std::string got;
  for (int i = 0; i < 9; i++)
    got += a.ShouldFail(1) ? 'F' : '.';
  EXPECT_EQ(got, "..F..F..F");
}

TEST_F(FaultAttrTest, SpaceLetsThatMuchThrough) {
  FaultAttr a;
  a.Init(MMLAB_FAULT_CHUNK, 0);
  ASSERT_EQ(Set(a, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_TIMES, "-1"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_SPACE, "10"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_PROBABILITY, "100"), MMLAB_OK);
  // 10 > 4: 6 left; 6 > 4: 2 left; 2 > 4 no: fail from here on.
  std::string got;
  for (int i = 0; i < 5; i++)
    got += a.ShouldFail(4) ? 'F' : '.';
  EXPECT_EQ(got, "..FFF");
  EXPECT_EQ(Get(a, MMLAB_FAULT_SPACE), "2\n");
}

TEST_F(FaultAttrTest, AgreesWithTheKernelsShouldFailCallByCall) {
  // Random attributes and sizes; the transcription of should_fail_ex()
  // and mmlab's attribute must make the same decision every time.
  uint64_t rng = 12345;
  auto next = [&rng](uint64_t bound) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (rng >> 33) % bound;
  };
  for (int round = 0; round < 200; round++) {
    FaultAttr a;
    a.Init(MMLAB_FAULT_SLAB, 0);
    KernelModel k;
    k.probability = next(101);
    k.interval = next(5);
    k.times = static_cast<int>(next(12)) - 1;
    k.space = static_cast<int>(next(3)) * static_cast<int>(next(40));
    k.seed = next(1000);
    ASSERT_EQ(Set(a, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
    ASSERT_EQ(Set(a, MMLAB_FAULT_INTERVAL, std::to_string(k.interval)), MMLAB_OK);
    ASSERT_EQ(Set(a, MMLAB_FAULT_TIMES, std::to_string(k.times)), MMLAB_OK);
    ASSERT_EQ(Set(a, MMLAB_FAULT_SPACE, std::to_string(k.space)), MMLAB_OK);
    ASSERT_EQ(Set(a, MMLAB_FAULT_SEED, std::to_string(k.seed)), MMLAB_OK);
    ASSERT_EQ(Set(a, MMLAB_FAULT_PROBABILITY, std::to_string(k.probability)), MMLAB_OK);
    for (int i = 0; i < 300; i++) {
      const long size = static_cast<long>(next(16));
      ASSERT_EQ(a.ShouldFail(size), k.ShouldFail(size))
          << "round " << round << " call " << i << " probability " << k.probability
          << " interval " << k.interval << " times " << k.times << " space " << k.space;
    }
    EXPECT_EQ(Get(a, MMLAB_FAULT_TIMES), std::to_string(k.times) + "\n");
    EXPECT_EQ(Get(a, MMLAB_FAULT_SPACE), std::to_string(k.space) + "\n");
  }
}

std::string Sequence(FaultAttr& a, int n) {
  std::string s;
  for (int i = 0; i < n; i++)
    s += a.ShouldFail(1) ? 'F' : '.';
  return s;
}

TEST_F(FaultAttrTest, SameSeedSameFailuresOtherSeedOthers) {
  FaultAttr a;
  a.Init(MMLAB_FAULT_BUDDY, 0);
  ASSERT_EQ(Set(a, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_TIMES, "-1"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_PROBABILITY, "30"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_SEED, "42"), MMLAB_OK);
  const std::string first = Sequence(a, 2000);
  ASSERT_EQ(Set(a, MMLAB_FAULT_SEED, "42"), MMLAB_OK);
  EXPECT_EQ(Sequence(a, 2000), first) << "writing the same seed replays the sequence";

  FaultAttr b;  // another attribute, same site and seed: the same too
  b.Init(MMLAB_FAULT_BUDDY, 0);
  ASSERT_EQ(Set(b, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
  ASSERT_EQ(Set(b, MMLAB_FAULT_TIMES, "-1"), MMLAB_OK);
  ASSERT_EQ(Set(b, MMLAB_FAULT_PROBABILITY, "30"), MMLAB_OK);
  ASSERT_EQ(Set(b, MMLAB_FAULT_SEED, "42"), MMLAB_OK);
  EXPECT_EQ(Sequence(b, 2000), first);

  ASSERT_EQ(Set(a, MMLAB_FAULT_SEED, "43"), MMLAB_OK);
  const std::string other = Sequence(a, 2000);
  EXPECT_NE(other, first);
  size_t same = 0;
  for (size_t i = 0; i < first.size(); i++)
    same += first[i] == other[i];
  EXPECT_LT(same, 1800u) << "two seeds are not near-copies of each other";

  // About probability percent of the calls fail.
  size_t fails = 0;
  for (char c : first)
    fails += c == 'F';
  EXPECT_GT(fails, 2000u * 25 / 100);
  EXPECT_LT(fails, 2000u * 35 / 100);

  // Other sites draw from other streams with the same seed.
  FaultAttr c;
  c.Init(MMLAB_FAULT_SLAB, 0);
  ASSERT_EQ(Set(c, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
  ASSERT_EQ(Set(c, MMLAB_FAULT_TIMES, "-1"), MMLAB_OK);
  ASSERT_EQ(Set(c, MMLAB_FAULT_PROBABILITY, "30"), MMLAB_OK);
  ASSERT_EQ(Set(c, MMLAB_FAULT_SEED, "42"), MMLAB_OK);
  EXPECT_NE(Sequence(c, 2000), first);
}

TEST_F(FaultAttrTest, ProbabilityEdges) {
  FaultAttr a;
  a.Init(MMLAB_FAULT_CHUNK, 0);
  ASSERT_EQ(Set(a, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_TIMES, "-1"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_PROBABILITY, "1"), MMLAB_OK);
  const std::string one = Sequence(a, 10000);
  const size_t fails = std::count(one.begin(), one.end(), 'F');
  EXPECT_GT(fails, 50u);
  EXPECT_LT(fails, 200u);
  ASSERT_EQ(Set(a, MMLAB_FAULT_PROBABILITY, "100"), MMLAB_OK);
  EXPECT_EQ(Sequence(a, 100), std::string(100, 'F'));
  ASSERT_EQ(Set(a, MMLAB_FAULT_PROBABILITY, "0"), MMLAB_OK);
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(Sequence(a, 100), std::string(100, '.'));
}

TEST_F(FaultAttrTest, VerboseReportsLikeFailDump) {
  FaultAttr a;
  a.Init(MMLAB_FAULT_SLAB, 0);
  ASSERT_EQ(Set(a, MMLAB_FAULT_TIMES, "5"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_VERBOSE, "2"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_PROBABILITY, "100"), MMLAB_OK);
  const uint64_t stacks = sim::DumpStackCalls();
  sim::ClearLogs();
  EXPECT_TRUE(a.ShouldFail(1));  // verbose 2: the message and a stack
  EXPECT_EQ(sim::CountLogs("FAULT_INJECTION: forcing a failure.", MMLAB_LOG_NOTICE), 1u);
  EXPECT_EQ(sim::CountLogs("name slab, interval 1, probability 100, space 0, times 5",
                           MMLAB_LOG_NOTICE),
            1u)
      << sim::LogText();
  EXPECT_EQ(sim::DumpStackCalls(), stacks + 1);

  ASSERT_EQ(Set(a, MMLAB_FAULT_VERBOSE, "1"), MMLAB_OK);
  EXPECT_TRUE(a.ShouldFail(1));
  EXPECT_EQ(sim::CountLogs("FAULT_INJECTION: forcing a failure."), 2u);
  EXPECT_EQ(sim::DumpStackCalls(), stacks + 1) << "verbose 1: no stack";

  EXPECT_TRUE(a.ShouldFail(1, mmlab::kFaultNoWarn));
  EXPECT_EQ(sim::CountLogs("FAULT_INJECTION"), 2u) << "FAULT_NOWARN (__GFP_NOWARN) is silent";

  ASSERT_EQ(Set(a, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
  EXPECT_TRUE(a.ShouldFail(1));
  EXPECT_EQ(sim::CountLogs("FAULT_INJECTION"), 2u);
  EXPECT_EQ(a.injected(), 4u);
}

TEST_F(FaultAttrTest, VerboseRatelimit) {
  FaultAttr a;
  a.Init(MMLAB_FAULT_CHUNK, 0);
  ASSERT_EQ(Set(a, MMLAB_FAULT_VERBOSE, "1"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_TIMES, "-1"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_VERBOSE_RATELIMIT_INTERVAL_MS, "1000"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_VERBOSE_RATELIMIT_BURST, "2"), MMLAB_OK);
  ASSERT_EQ(Set(a, MMLAB_FAULT_PROBABILITY, "100"), MMLAB_OK);
  sim::ClearLogs();
  for (int i = 0; i < 10; i++)
    EXPECT_TRUE(a.ShouldFail(1)) << "the rate limit only quiets the report";
  EXPECT_EQ(sim::CountLogs("FAULT_INJECTION: forcing a failure."), 2u);
  sim::AdvanceClock(1001ull * 1000 * 1000);
  for (int i = 0; i < 10; i++)
    a.ShouldFail(1);
  EXPECT_EQ(sim::CountLogs("FAULT_INJECTION: forcing a failure."), 4u);
}

TEST_F(FaultAttrTest, BadValuesAreRefusedWithAReason) {
  FaultAttr a;
  a.Init(MMLAB_FAULT_BUDDY, 0);
  struct Case {
    mmlab_fault_param p;
    const char* value;
    const char* reason;
  } cases[] = {
      {MMLAB_FAULT_PROBABILITY, "101", "fail/buddy/probability: 101 out of range 0..100"},
      {MMLAB_FAULT_PROBABILITY, "-1", "fail/buddy/probability: '-1' is not an unsigned number"},
      {MMLAB_FAULT_PROBABILITY, "", "is not an unsigned number"},
      {MMLAB_FAULT_PROBABILITY, "\n", "is not an unsigned number"},
      {MMLAB_FAULT_PROBABILITY, "5x", "'5x' is not an unsigned number"},
      {MMLAB_FAULT_PROBABILITY, " 5", "is not an unsigned number"},
      {MMLAB_FAULT_PROBABILITY, "0x", "is not an unsigned number"},
      {MMLAB_FAULT_INTERVAL, "99999999999999999999", "is not an unsigned number"},
      {MMLAB_FAULT_TIMES, "-2", "fail/buddy/times: '-2' out of range: -1 (no limit) or 0..2147483647"},
      {MMLAB_FAULT_TIMES, "2147483648", "out of range 0..2147483647"},
      {MMLAB_FAULT_TIMES, "--1", "is not a (signed) number"},
      {MMLAB_FAULT_SPACE, "-5", "is not an unsigned number"},
      {MMLAB_FAULT_VERBOSE, "3", "fail/buddy/verbose: 3 out of range 0..2"},
      {MMLAB_FAULT_MIN_ORDER, "11", "fail/buddy/min-order: 11 out of range 0..10"},
      {MMLAB_FAULT_IGNORE_GFP_WAIT, "maybe", "'maybe' is not a boolean (Y/N/1/0)"},
      {MMLAB_FAULT_TASK_FILTER, "Y",
       "fail/buddy/task-filter: the kernel has no /proc/<pid>/make-it-fail"},
  };
  for (const Case& c : cases) {
    sim::ClearLogs();
    std::string why;
    EXPECT_EQ(Set(a, c.p, c.value, &why), MMLAB_EINVAL) << c.value;
    EXPECT_NE(why.find(c.reason), std::string::npos) << "'" << c.value << "': " << why;
    EXPECT_EQ(sim::CountLogs(why, MMLAB_LOG_WARN), 1u) << "the reason is logged (pr_warn)";
  }
  // Nothing changed.
  EXPECT_EQ(Get(a, MMLAB_FAULT_PROBABILITY), "0\n");
  EXPECT_EQ(Get(a, MMLAB_FAULT_TIMES), "1\n");
  EXPECT_EQ(Get(a, MMLAB_FAULT_MIN_ORDER), "1\n");

  // What the kernel's parsers take: a trailing newline, hex, -1, bool words.
  EXPECT_EQ(Set(a, MMLAB_FAULT_PROBABILITY, "7\n"), MMLAB_OK);
  EXPECT_EQ(Get(a, MMLAB_FAULT_PROBABILITY), "7\n");
  EXPECT_EQ(Set(a, MMLAB_FAULT_INTERVAL, "0x10"), MMLAB_OK);
  EXPECT_EQ(Get(a, MMLAB_FAULT_INTERVAL), "16\n");
  EXPECT_EQ(Set(a, MMLAB_FAULT_TIMES, "-1\n"), MMLAB_OK);
  EXPECT_EQ(Get(a, MMLAB_FAULT_TIMES), "-1\n");
  EXPECT_EQ(Set(a, MMLAB_FAULT_SEED, "18446744073709551615"), MMLAB_OK);
  EXPECT_EQ(Get(a, MMLAB_FAULT_SEED), "18446744073709551615\n");
  EXPECT_EQ(Set(a, MMLAB_FAULT_IGNORE_GFP_WAIT, "N\n"), MMLAB_OK);
  EXPECT_EQ(Get(a, MMLAB_FAULT_IGNORE_GFP_WAIT), "N\n");
  EXPECT_EQ(Set(a, MMLAB_FAULT_IGNORE_GFP_WAIT, "1"), MMLAB_OK);
  EXPECT_EQ(Get(a, MMLAB_FAULT_IGNORE_GFP_WAIT), "Y\n");
  EXPECT_EQ(Set(a, MMLAB_FAULT_MIN_ORDER, "0"), MMLAB_OK);
  EXPECT_EQ(Get(a, MMLAB_FAULT_MIN_ORDER), "0\n");
}

TEST_F(FaultAttrTest, AnyBytesAreAValueOrEinval) {
  // What a debugfs write hands the core: untrusted bytes of any length.
  // Every file of every site either takes them or refuses them, and
  // always reads back as one well-formed line.
  uint64_t rng = 99;
  auto next = [&rng](uint64_t bound) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (rng >> 33) % bound;
  };
  const char alphabet[] = "0123456789-xXaAfFyYnN \n\t\x00\xff+onfs";
  for (uint32_t s = 0; s < MMLAB_FAULT_NR_SITES; s++) {
    FaultAttr a;
    a.Init(static_cast<mmlab_fault_site>(s), 0);
    for (int i = 0; i < 10000; i++) {
      const auto p = static_cast<mmlab_fault_param>(next(MMLAB_FAULT_CALLS));
      std::string v;
      const size_t len = next(24);
      for (size_t j = 0; j < len; j++)
        v += next(4) ? alphabet[next(sizeof(alphabet) - 1)] : static_cast<char>(next(256));
      char why[256];
      mmlab::TextBuf reason(why, sizeof(why));
      const mmlab_status st = a.Write(p, v.data(), v.size(), &reason);
      ASSERT_TRUE(st == MMLAB_OK || st == MMLAB_EINVAL);
      if (st == MMLAB_EINVAL) {
        ASSERT_FALSE(reason.empty());
      }
      const std::string back = Get(a, p);
      ASSERT_TRUE(!back.empty() && back.back() == '\n' && back.find('\n') == back.size() - 1)
          << back;
    }
    sim::ClearLogs();  // the refusals, rate-limited in the kernel
  }
}

// --- through a core ------------------------------------------------------------------

class FaultInject : public CoreTest {
 protected:
  mmlab_status Fail(mmlab_fault_site site, mmlab_fault_param p, const std::string& v,
                    std::string* why = nullptr) {
    char buf[256] = {};
    mmlab_status st = mmlab_core_fault_write(core_, site, p, v.data(), v.size(), buf, sizeof(buf));
    if (why)
      *why = buf;
    return st;
  }
  std::string Read(mmlab_fault_site site, mmlab_fault_param p) {
    char buf[64];
    mmlab_core_fault_read(core_, site, p, buf, sizeof(buf));
    return buf;
  }
  uint64_t Injected(mmlab_fault_site site) {
    return std::stoull(Read(site, MMLAB_FAULT_INJECTED));
  }
  // probability 100, no limit, quiet, every gfp.
  void Always(mmlab_fault_site site) {
    ASSERT_EQ(Fail(site, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
    ASSERT_EQ(Fail(site, MMLAB_FAULT_TIMES, "-1"), MMLAB_OK);
    if (mmlab_core_fault_param_mode(site, MMLAB_FAULT_IGNORE_GFP_WAIT)) {
      ASSERT_EQ(Fail(site, MMLAB_FAULT_IGNORE_GFP_WAIT, "N"), MMLAB_OK);
    }
    if (mmlab_core_fault_param_mode(site, MMLAB_FAULT_MIN_ORDER)) {
      ASSERT_EQ(Fail(site, MMLAB_FAULT_MIN_ORDER, "0"), MMLAB_OK);
    }
    ASSERT_EQ(Fail(site, MMLAB_FAULT_PROBABILITY, "100"), MMLAB_OK);
  }
  void Off(mmlab_fault_site site) { ASSERT_EQ(Fail(site, MMLAB_FAULT_PROBABILITY, "0"), MMLAB_OK); }
};

TEST_F(FaultInject, CoreFilesReadAndWriteAndRefuse) {
  NewCore();
  EXPECT_EQ(Read(MMLAB_FAULT_BUDDY, MMLAB_FAULT_MIN_ORDER), "1\n");
  EXPECT_EQ(Read(MMLAB_FAULT_CHUNK, MMLAB_FAULT_MIN_ORDER), "") << "no such file";
  std::string why;
  EXPECT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_CALLS, "0", &why), MMLAB_EINVAL);
  EXPECT_EQ(why, "fail: slab/calls is read-only");
  EXPECT_EQ(Fail(MMLAB_FAULT_CHUNK, MMLAB_FAULT_MIN_ORDER, "0", &why), MMLAB_EINVAL);
  EXPECT_EQ(why, "fail: chunk/min-order is not a file of this site");
  EXPECT_EQ(Fail(MMLAB_FAULT_NR_SITES, MMLAB_FAULT_PROBABILITY, "0", &why), MMLAB_EINVAL);
  EXPECT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_NR_PARAMS, "0", &why), MMLAB_EINVAL);
  EXPECT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_PROBABILITY, "200", &why), MMLAB_EINVAL);
  EXPECT_EQ(why, "fail/slab/probability: 200 out of range 0..100");
  EXPECT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_PROBABILITY, "20"), MMLAB_OK);
  EXPECT_EQ(Read(MMLAB_FAULT_SLAB, MMLAB_FAULT_PROBABILITY), "20\n");
  EXPECT_EQ(Read(MMLAB_FAULT_BUDDY, MMLAB_FAULT_PROBABILITY), "0\n") << "sites are independent";
  // Every site off by default: a busy core injects nothing.
  EXPECT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_PROBABILITY, "0"), MMLAB_OK);
  std::vector<void*> objs;
  for (int i = 0; i < 200; i++) {
    void* p = mmlab_core_kmalloc(core_, 64, MMLAB_GFP_ATOMIC, 0);
    ASSERT_NE(p, nullptr);
    objs.push_back(p);
  }
  for (void* p : objs)
    mmlab_core_kfree(core_, p, 0);
  for (uint32_t s = 0; s < MMLAB_FAULT_NR_SITES; s++)
    EXPECT_EQ(Injected(static_cast<mmlab_fault_site>(s)), 0u);
}

TEST_F(FaultInject, SlabFailsKmallocAndCacheAllocLikeFailslab) {
  NewCore();
  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_VERBOSE, "1"), MMLAB_OK);
  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_TIMES, "-1"), MMLAB_OK);
  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_PROBABILITY, "100"), MMLAB_OK);

  // ignore-gfp-wait=Y (the default): what may sleep is spared.
  void* p = mmlab_core_kmalloc(core_, 90, MMLAB_GFP_KERNEL, 0);
  EXPECT_NE(p, nullptr);
  mmlab_core_kfree(core_, p, 0);
  EXPECT_EQ(Read(MMLAB_FAULT_SLAB, MMLAB_FAULT_CALLS), "0\n") << "filtered before the site";
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_kmalloc(core_, 90, MMLAB_GFP_ATOMIC, 0), nullptr);
  EXPECT_EQ(sim::CountLogs("FAULT_INJECTION: forcing a failure."), 1u);
  EXPECT_EQ(sim::CountLogs("name slab, interval 1, probability 100, space 0, times -1"), 1u);
  // __GFP_NOWARN: the same failure, silent.
  sim::ClearLogs();
  EXPECT_EQ(mmlab_core_kmalloc(core_, 90, MMLAB_GFP_ATOMIC | MMLAB___GFP_NOWARN, 0), nullptr);
  EXPECT_EQ(sim::CountLogs("FAULT_INJECTION"), 0u);
  EXPECT_EQ(sim::CountLogs("kmalloc: no memory"), 0u);

  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_IGNORE_GFP_WAIT, "N"), MMLAB_OK);
  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmalloc(core_, 90, MMLAB_GFP_KERNEL, 0), nullptr);
  // __GFP_NOFAIL never fails.
  p = mmlab_core_kmalloc(core_, 90, MMLAB_GFP_KERNEL | MMLAB___GFP_NOFAIL, 0);
  EXPECT_NE(p, nullptr);
  mmlab_core_kfree(core_, p, 0);
  // Large kmalloc is the page allocator's, not failslab's.
  p = mmlab_core_kmalloc(core_, 20000, MMLAB_GFP_KERNEL, 0);
  EXPECT_NE(p, nullptr);
  mmlab_core_kfree(core_, p, 0);

  mmlab_kmem_cache* cache = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "fi_cache", 100, 0, 0, nullptr, &cache), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmem_cache_alloc(cache, MMLAB_GFP_KERNEL, 0), nullptr);
  void* objs[8];
  EXPECT_EQ(mmlab_core_kmem_cache_alloc_bulk(cache, MMLAB_GFP_KERNEL, 8, objs, 0), 0u)
      << "bulk: one decision, all or nothing";
  EXPECT_EQ(Injected(MMLAB_FAULT_SLAB), 5u);

  // The control file sees an ordinary ENOMEM.
  std::string r;
  EXPECT_EQ(Control("kmalloc size=90", &r), MMLAB_ENOMEM) << r;
  Off(MMLAB_FAULT_SLAB);
  EXPECT_EQ(Control("kmalloc size=90", &r), MMLAB_OK) << r;
  EXPECT_EQ(Control("free_all"), MMLAB_OK);
  void* obj = mmlab_core_kmem_cache_alloc(cache, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(obj, nullptr);
  mmlab_core_kmem_cache_free(cache, obj, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_OK);
}

TEST_F(FaultInject, SlabCacheFilterPicksFailslabCaches) {
  NewCore();
  Always(MMLAB_FAULT_SLAB);
  EXPECT_EQ(Read(MMLAB_FAULT_SLAB, MMLAB_FAULT_CACHE_FILTER), "N\n");
  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_CACHE_FILTER, "Y"), MMLAB_OK);
  mmlab_kmem_cache* marked = nullptr;
  mmlab_kmem_cache* plain = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "fi_marked", 64, 0, MMLAB_SLAB_FAILSLAB, nullptr,
                                         &marked),
            MMLAB_OK);
  ASSERT_EQ(mmlab_core_kmem_cache_create(core_, "fi_plain", 64, 0, 0, nullptr, &plain), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmem_cache_alloc(marked, MMLAB_GFP_KERNEL, 0), nullptr);
  void* obj = mmlab_core_kmem_cache_alloc(plain, MMLAB_GFP_KERNEL, 0);
  EXPECT_NE(obj, nullptr) << "cache-filter: only SLAB_FAILSLAB caches";
  void* k = mmlab_core_kmalloc(core_, 64, MMLAB_GFP_KERNEL, 0);
  EXPECT_NE(k, nullptr);
  // Through the control file: flags=FAILSLAB.
  std::string r;
  ASSERT_EQ(Control("cache_create name=fi_ctl size=32 flags=FAILSLAB", &r), MMLAB_OK) << r;
  const std::string id = r.substr(6, r.find(' ', 6) - 6);
  EXPECT_EQ(Control("cache_alloc cache=" + id, &r), MMLAB_ENOMEM) << r;
  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_CACHE_FILTER, "N"), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmalloc(core_, 64, MMLAB_GFP_KERNEL, 0), nullptr);
  Off(MMLAB_FAULT_SLAB);
  mmlab_core_kfree(core_, k, 0);
  mmlab_core_kmem_cache_free(plain, obj, 0);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(marked), MMLAB_OK);
  EXPECT_EQ(mmlab_core_kmem_cache_destroy(plain), MMLAB_OK);
  EXPECT_EQ(Control("free_all"), MMLAB_OK);
}

TEST_F(FaultInject, BuddyIsFailPageAlloc) {
  NewCore();
  ASSERT_EQ(Fail(MMLAB_FAULT_BUDDY, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
  ASSERT_EQ(Fail(MMLAB_FAULT_BUDDY, MMLAB_FAULT_TIMES, "-1"), MMLAB_OK);
  ASSERT_EQ(Fail(MMLAB_FAULT_BUDDY, MMLAB_FAULT_PROBABILITY, "100"), MMLAB_OK);
  auto failures = [this](uint32_t order) {
    return mmlab::Core::From(core_)->FailStatsSum().failures[order];
  };
  const uint64_t failures1 = failures(1), failures3 = failures(3);
  // min-order 1 and ignore-gfp-wait Y by default.
  mmlab_page* p0 = mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC, 0);
  EXPECT_NE(p0, nullptr) << "order 0 is below min-order";
  mmlab_page* k1 = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 1);
  EXPECT_NE(k1, nullptr) << "GFP_KERNEL is spared by ignore-gfp-wait";
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_ATOMIC, 1), nullptr);
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_NOWAIT, 3), nullptr);
  EXPECT_EQ(Injected(MMLAB_FAULT_BUDDY), 2u);
  EXPECT_EQ(failures(1), failures1 + 1) << "counted as failures (stats)";
  EXPECT_EQ(failures(3), failures3 + 1);

  ASSERT_EQ(Fail(MMLAB_FAULT_BUDDY, MMLAB_FAULT_MIN_ORDER, "0"), MMLAB_OK);
  ASSERT_EQ(Fail(MMLAB_FAULT_BUDDY, MMLAB_FAULT_IGNORE_GFP_WAIT, "N"), MMLAB_OK);
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0), nullptr);
  mmlab_page* nf = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NOFAIL, 2);
  EXPECT_NE(nf, nullptr) << "__GFP_NOFAIL never fails";
  // The layers above see the page allocator fail: vmalloc gives up cleanly,
  // a new slab cannot be made.
  EXPECT_EQ(mmlab_core_vmalloc(core_, 3 * 4096, MMLAB_GFP_KERNEL, 0), nullptr);
  EXPECT_EQ(mmlab_core_kmalloc(core_, 4000, MMLAB_GFP_KERNEL, 0), nullptr);
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);

  Off(MMLAB_FAULT_BUDDY);
  EXPECT_EQ(mmlab_core___free_pages(core_, p0, 0), MMLAB_OK);
  EXPECT_EQ(mmlab_core___free_pages(core_, k1, 1), MMLAB_OK);
  EXPECT_EQ(mmlab_core___free_pages(core_, nf, 2), MMLAB_OK);
  void* v = mmlab_core_vmalloc(core_, 3 * 4096, MMLAB_GFP_KERNEL, 0);
  EXPECT_NE(v, nullptr);
  mmlab_core_vfree(core_, v, 0);
}

TEST_F(FaultInject, ChunkBorrowFailsLikeARefusingHost) {
  NewCore();
  Always(MMLAB_FAULT_CHUNK);
  const uint64_t borrowed = sim::ChunksBorrowed();
  EXPECT_EQ(mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL | MMLAB___GFP_NOWARN, 0), nullptr);
  EXPECT_EQ(mmlab_core_kmalloc(core_, 64, MMLAB_GFP_ATOMIC | MMLAB___GFP_NOWARN, 0), nullptr);
  std::string r;
  EXPECT_EQ(Control("alloc order=2 gfp=GFP_KERNEL|__GFP_NOWARN", &r), MMLAB_ENOMEM) << r;
  EXPECT_EQ(sim::ChunksBorrowed(), borrowed) << "the host was never asked";
  EXPECT_GE(Injected(MMLAB_FAULT_CHUNK), 3u);
  EXPECT_EQ(Counters().host_chunks, 0u);

  // times 1: the next borrow fails, the retry of a sleeping request gets one.
  ASSERT_EQ(Fail(MMLAB_FAULT_CHUNK, MMLAB_FAULT_TIMES, "1"), MMLAB_OK);
  const uint64_t injected = Injected(MMLAB_FAULT_CHUNK);
  mmlab_page* p = mmlab_core_alloc_pages(core_, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(Injected(MMLAB_FAULT_CHUNK), injected + 1);
  EXPECT_EQ(Read(MMLAB_FAULT_CHUNK, MMLAB_FAULT_TIMES), "0\n");
  EXPECT_EQ(mmlab_core___free_pages(core_, p, 0), MMLAB_OK);
}

TEST_F(FaultInject, MempoolServesFromTheReserve) {
  NewCore();
  mmlab_mempool* pool = nullptr;
  ASSERT_EQ(mmlab_core_mempool_create_page_pool(core_, "fi_pool", 2, 0, &pool), MMLAB_OK);
  Always(MMLAB_FAULT_MEMPOOL);
  void* a = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  void* b = mmlab_core_mempool_alloc(pool, MMLAB_GFP_ATOMIC);
  EXPECT_NE(a, nullptr);
  EXPECT_NE(b, nullptr);
  EXPECT_EQ(mmlab_core_mempool_alloc(pool, MMLAB_GFP_ATOMIC), nullptr)
      << "reserve empty, backing failing: an atomic caller gets NULL";
  const std::string view = Render(MMLAB_VIEW_MEMPOOLS);
  EXPECT_NE(view.find("fi_pool"), std::string::npos);
  mmlab_core_mempool_free(pool, a);
  mmlab_core_mempool_free(pool, b);
  // A sleeping caller with the reserve refilled gets it back at once.
  void* c = mmlab_core_mempool_alloc(pool, MMLAB_GFP_KERNEL);
  EXPECT_NE(c, nullptr);
  mmlab_core_mempool_free(pool, c);
  EXPECT_GE(Injected(MMLAB_FAULT_MEMPOOL), 4u);
  Off(MMLAB_FAULT_MEMPOOL);
  EXPECT_EQ(mmlab_core_mempool_destroy(pool), MMLAB_OK);

  // Through the control file: "from reserve".
  std::string r;
  ASSERT_EQ(Control("mempool_create name=cp min_nr=1 type=kmalloc size=100", &r), MMLAB_OK) << r;
  const std::string id = r.substr(5, r.find(' ', 5) - 5);
  Always(MMLAB_FAULT_MEMPOOL);
  ASSERT_EQ(Control("mempool_alloc pool=" + id, &r), MMLAB_OK) << r;
  EXPECT_NE(r.find("from reserve"), std::string::npos) << r;
  Off(MMLAB_FAULT_MEMPOOL);
  ASSERT_EQ(Control("mempool_alloc pool=" + id, &r), MMLAB_OK) << r;
  EXPECT_NE(r.find("from backing"), std::string::npos) << r;
  EXPECT_EQ(Control("free_all"), MMLAB_OK);
}

TEST_F(FaultInject, MmdevFaultFailsAllocatingFaultsOnly) {
  NewCore();
  mmlab_region* region = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &region), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(region, 8, nullptr, nullptr), MMLAB_OK);
  mmlab_page* page = nullptr;
  ASSERT_EQ(mmlab_core_region_fault(region, 0, 7, 0x1000, &page), MMLAB_OK);
  Always(MMLAB_FAULT_MMDEV_FAULT);
  EXPECT_EQ(mmlab_core_region_fault(region, 1, 7, 0x2000, &page), MMLAB_ENOMEM)
      << "the shim's SIGBUS";
  EXPECT_EQ(page, nullptr);
  mmlab_page* again = nullptr;
  EXPECT_EQ(mmlab_core_region_fault(region, 0, 7, 0x1000, &again), MMLAB_OK)
      << "a page already there is no allocation";
  mmlab_region_stats st;
  mmlab_core_region_stats(region, &st);
  EXPECT_EQ(st.fault_failures, 1u);
  EXPECT_EQ(st.faults, 3u);
  EXPECT_EQ(st.resident_pages, 1u);
  mmlab_fault_record recs[4];
  ASSERT_EQ(mmlab_core_region_fault_log(region, recs, 4), 3u);
  EXPECT_EQ(recs[1].pgoff, 1u);
  EXPECT_EQ(recs[1].allocated, 0u);
  EXPECT_EQ(recs[1].pfn, 0u);
  EXPECT_EQ(Injected(MMLAB_FAULT_MMDEV_FAULT), 1u);
  Off(MMLAB_FAULT_MMDEV_FAULT);
  EXPECT_EQ(mmlab_core_region_fault(region, 1, 7, 0x2000, &page), MMLAB_OK);
  EXPECT_EQ(mmlab_core_region_destroy(region, nullptr, nullptr), MMLAB_OK);
}

TEST_F(FaultInject, FailNthFailsTheNthSiteThisTaskMeets) {
  sim::SetFailCaps(MMLAB_HOST_FAIL_NTH | MMLAB_HOST_FAIL_TASK);
  NewCore();
  // Every site is armed by the host's fail-nth even at probability 0.
  for (uint32_t s = 0; s < MMLAB_FAULT_NR_SITES; s++)
    EXPECT_TRUE(mmlab::Core::From(core_)->fault().site(static_cast<mmlab_fault_site>(s)).armed());
  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
  // Borrow a chunk first, so only the slab site is met below.
  void* warm = mmlab_core_kmalloc(core_, 64, MMLAB_GFP_ATOMIC, 0);
  ASSERT_NE(warm, nullptr);
  sim::SetFailNth(3);  // echo 3 > /proc/self/fail-nth
  std::string got;
  std::vector<void*> objs;
  for (int i = 0; i < 5; i++) {
    void* p = mmlab_core_kmalloc(core_, 64, MMLAB_GFP_ATOMIC, 0);
    got += p ? '.' : 'F';
    if (p)
      objs.push_back(p);
  }
  EXPECT_EQ(got, "..F..");
  EXPECT_EQ(sim::FailNth(), 0u) << "the countdown is used up, as in the kernel";
  EXPECT_EQ(Injected(MMLAB_FAULT_SLAB), 1u);
  EXPECT_EQ(Read(MMLAB_FAULT_SLAB, MMLAB_FAULT_CALLS), "0\n") << "probability 0: not counted";
  // Filtered calls do not count down: GFP_KERNEL with ignore-gfp-wait=Y.
  sim::SetFailNth(1);
  void* k = mmlab_core_kmalloc(core_, 64, MMLAB_GFP_KERNEL, 0);
  EXPECT_NE(k, nullptr);
  EXPECT_EQ(sim::FailNth(), 1u);
  EXPECT_EQ(mmlab_core_kmalloc(core_, 64, MMLAB_GFP_ATOMIC | MMLAB___GFP_NOWARN, 0), nullptr);
  sim::SetFailNth(0);
  mmlab_core_kfree(core_, k, 0);
  for (void* p : objs)
    mmlab_core_kfree(core_, p, 0);
  mmlab_core_kfree(core_, warm, 0);
}

TEST_F(FaultInject, TaskFilterOnlyFailsMarkedTasks) {
  sim::SetFailCaps(MMLAB_HOST_FAIL_TASK);
  NewCore();
  Always(MMLAB_FAULT_SLAB);
  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_TASK_FILTER, "Y"), MMLAB_OK);
  void* p = mmlab_core_kmalloc(core_, 64, MMLAB_GFP_KERNEL, 0);
  EXPECT_NE(p, nullptr) << "this task has no make-it-fail";
  sim::SetMakeItFail(true);
  EXPECT_EQ(mmlab_core_kmalloc(core_, 64, MMLAB_GFP_KERNEL, 0), nullptr);
  std::thread other([&] {
    void* q = mmlab_core_kmalloc(core_, 64, MMLAB_GFP_KERNEL, 0);
    EXPECT_NE(q, nullptr) << "make-it-fail is per task";
    mmlab_core_kfree(core_, q, 0);
  });
  other.join();
  sim::SetMakeItFail(false);
  mmlab_core_kfree(core_, p, 0);
}

TEST_F(FaultInject, ConcurrentCallersShareTimesExactly) {
  NewCore(4, 8);
  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_IGNORE_GFP_WAIT, "N"), MMLAB_OK);
  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_TIMES, "100"), MMLAB_OK);
  ASSERT_EQ(Fail(MMLAB_FAULT_SLAB, MMLAB_FAULT_PROBABILITY, "50"), MMLAB_OK);
  std::atomic<uint64_t> nulls{0};
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      sim::BindCpu(t);
      for (int i = 0; i < 500; i++) {
        void* p = mmlab_core_kmalloc(core_, 32 + 32 * (i % 4), MMLAB_GFP_KERNEL, 0);
        if (!p)
          nulls++;
        else
          mmlab_core_kfree(core_, p, 0);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(nulls.load(), 100u) << "times is shared and counted down atomically";
  EXPECT_EQ(Injected(MMLAB_FAULT_SLAB), 100u);
  EXPECT_EQ(Read(MMLAB_FAULT_SLAB, MMLAB_FAULT_TIMES), "0\n");
  EXPECT_EQ(Read(MMLAB_FAULT_SLAB, MMLAB_FAULT_CALLS), "2000\n");
}

TEST_F(FaultInject, EverySiteAtOnceLeavesNothingBehind) {
  NewCore(4, 8);
  std::string r;
  ASSERT_EQ(Control("mempool_create name=mix min_nr=4 type=kmalloc size=200", &r), MMLAB_OK) << r;
  const std::string pool = r.substr(5, r.find(' ', 5) - 5);
  for (uint32_t s = 0; s < MMLAB_FAULT_NR_SITES; s++) {
    auto site = static_cast<mmlab_fault_site>(s);
    ASSERT_EQ(Fail(site, MMLAB_FAULT_VERBOSE, "0"), MMLAB_OK);
    ASSERT_EQ(Fail(site, MMLAB_FAULT_TIMES, "-1"), MMLAB_OK);
    ASSERT_EQ(Fail(site, MMLAB_FAULT_SEED, std::to_string(1000 + s)), MMLAB_OK);
    if (mmlab_core_fault_param_mode(site, MMLAB_FAULT_IGNORE_GFP_WAIT)) {
      ASSERT_EQ(Fail(site, MMLAB_FAULT_IGNORE_GFP_WAIT, "N"), MMLAB_OK);
    }
    if (mmlab_core_fault_param_mode(site, MMLAB_FAULT_MIN_ORDER)) {
      ASSERT_EQ(Fail(site, MMLAB_FAULT_MIN_ORDER, "0"), MMLAB_OK);
    }
    ASSERT_EQ(Fail(site, MMLAB_FAULT_PROBABILITY, "20"), MMLAB_OK);
  }
  mmlab_region* region = nullptr;
  ASSERT_EQ(mmlab_core_region_create(core_, MMLAB_ZONE_NORMAL, &region), MMLAB_OK);
  ASSERT_EQ(mmlab_core_region_set_size(region, 64, nullptr, nullptr), MMLAB_OK);
  uint64_t ok = 0, failed = 0;
  for (int i = 0; i < 400; i++) {
    const char* cmds[] = {"kmalloc size=100 gfp=GFP_KERNEL|__GFP_NOWARN",
                          "alloc order=1 gfp=GFP_NOWAIT|__GFP_NOWARN",
                          "vmalloc size=9000 gfp=GFP_KERNEL|__GFP_NOWARN",
                          "kmalloc size=20000 gfp=GFP_KERNEL|__GFP_NOWARN"};
    std::string cmd = i % 5 == 4 ? "mempool_alloc pool=" + pool + " gfp=GFP_ATOMIC"
                                 : std::string(cmds[i % 5 == 4 ? 0 : i % 4]);
    (Control(cmd, &r) == MMLAB_OK ? ok : failed)++;
    mmlab_page* page = nullptr;
    mmlab_core_region_fault(region, static_cast<uint64_t>(i) % 64, 1, 0, &page);
  }
  EXPECT_GT(ok, 0u);
  EXPECT_GT(failed, 0u);
  for (uint32_t s = 0; s < MMLAB_FAULT_NR_SITES; s++)
    EXPECT_GT(Injected(static_cast<mmlab_fault_site>(s)), 0u)
        << mmlab_core_fault_site_name(static_cast<mmlab_fault_site>(s));
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
  for (uint32_t s = 0; s < MMLAB_FAULT_NR_SITES; s++)
    Off(static_cast<mmlab_fault_site>(s));
  EXPECT_EQ(mmlab_core_region_destroy(region, nullptr, nullptr), MMLAB_OK);
  EXPECT_EQ(Control("free_all"), MMLAB_OK);
  // TearDown: check passes, every chunk, byte and lock back.
}

}  // namespace
}  // namespace mmlab_test
