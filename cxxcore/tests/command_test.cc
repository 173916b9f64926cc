// SPDX-License-Identifier: GPL-2.0
//
// command_test.cc - the control file's language (docs/debugfs.md): every
// command, every error, and input that is not a command at all.
#include <random>

#include "test_util.h"

namespace mmlab_test {
namespace {

class Control : public CoreTest {
 protected:
  // The language is the subject here, not the policy: a plain buddy core
  // (test_util.h). command_policy_test.cc covers the zone and reclaim
  // commands on a real one.
  void SetUp() override {
    CoreTest::SetUp();
    NewBuddyCore(4, 4);
  }

  // A refused command: status, result text, and the same text logged once
  // at warning level.
  void ExpectError(const std::string& cmd, mmlab_status want, const std::string& reason) {
    sim::ClearLogs();
    std::string r;
    EXPECT_EQ(CoreTest::Control(cmd, &r), want) << "command: " << Printable(cmd);
    EXPECT_NE(r.find(reason), std::string::npos)
        << "command: " << Printable(cmd) << "\nresult: " << r << "\nwanted: " << reason;
    EXPECT_EQ(r.find('\n'), std::string::npos) << "one line";
    EXPECT_EQ(sim::CountLogs(r, MMLAB_LOG_WARN), 1u)
        << "the result is the logged reason:\n" << sim::LogText();
  }

  static std::string Printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (c >= 0x20 && c < 0x7f) {
        out += static_cast<char>(c);
      } else {
        char b[8];
        snprintf(b, sizeof(b), "\\x%02x", c);
        out += b;
      }
    }
    return out;
  }

  uint64_t PfnOf(const std::string& result) {
    return std::stoull(result.substr(result.find("pfn 0x") + 6), nullptr, 16);
  }
};

TEST_F(Control, AllocReturnsHandleOrderAndPfn) {
  std::string r = Result("alloc order=2");
  uint64_t pfn = PfnOf(r);
  char want[96];
  snprintf(want, sizeof(want), "handle 1 order 2 pfn 0x%lx zone Normal",
           static_cast<unsigned long>(pfn));
  EXPECT_EQ(r, want);
  EXPECT_EQ(pfn % 4, 0u);
  EXPECT_EQ(Counters().used_pages, 4u);
  EXPECT_NE(Render(MMLAB_VIEW_STATS).find("control_handles        1\n"), std::string::npos);
}

TEST_F(Control, HandlesCountFromOneAndAreNeverReused) {
  EXPECT_EQ(Result("alloc order=0").rfind("handle 1 ", 0), 0u);
  EXPECT_EQ(Result("alloc order=0").rfind("handle 2 ", 0), 0u);
  EXPECT_EQ(Result("free 1"), "freed handle 1 order 0");
  EXPECT_EQ(Result("alloc order=0").rfind("handle 3 ", 0), 0u);
  EXPECT_EQ(Result("free_all"), "freed 2 handles");
  EXPECT_EQ(Result("alloc order=0").rfind("handle 4 ", 0), 0u);
  EXPECT_EQ(Result("free handle=4"), "freed handle 4 order 0");
}

TEST_F(Control, AllocAcceptsGfpNamesJoinedByBars) {
  EXPECT_EQ(CoreTest::Control("alloc order=1 gfp=GFP_ATOMIC"), MMLAB_OK);
  EXPECT_EQ(CoreTest::Control("alloc gfp=GFP_KERNEL|__GFP_ZERO|__GFP_NOWARN order=0"), MMLAB_OK);
  EXPECT_EQ(CoreTest::Control("alloc order=0x3 gfp=GFP_NOWAIT"), MMLAB_OK);
  EXPECT_EQ(Result("free 3"), "freed handle 3 order 3");
  EXPECT_EQ(Result("free_all"), "freed 2 handles");
}

TEST_F(Control, AtomicControlAllocationsDoNotSleep) {
  uint64_t nosleep = sim::ChunkAllocsThatMayNotSleep();
  ASSERT_EQ(CoreTest::Control("alloc order=0 gfp=GFP_ATOMIC"), MMLAB_OK);
  EXPECT_EQ(sim::ChunkAllocsThatMayNotSleep(), nosleep + 1);
  CoreTest::Control("free_all");
}

TEST_F(Control, FreeWithTheRightOrderFrees) {
  CoreTest::Control("alloc order=3");
  EXPECT_EQ(Result("free handle=1 order=3"), "freed handle 1 order 3");
  EXPECT_EQ(Counters().used_pages, 0u);
}

TEST_F(Control, FreeWithTheWrongOrderIsRefusedAndTheHandleKept) {
  CoreTest::Control("alloc order=3");
  ExpectError("free handle=1 order=2", MMLAB_EINVAL,
              "freed with order 2 but allocated with order 3; handle kept");
  ExpectError("free 1 order=5", MMLAB_EINVAL, "control: free: order 5 out of range 0..4");
  EXPECT_EQ(Result("free 1"), "freed handle 1 order 3");
}

TEST_F(Control, FreeOfAnUnknownHandleIsEnoent) {
  ExpectError("free 1", MMLAB_ENOENT, "control: free: unknown handle 1");
  ExpectError("free 0", MMLAB_ENOENT, "unknown handle 0");
  ExpectError("free 18446744073709551615", MMLAB_ENOENT, "unknown handle 18446744073709551615");
  CoreTest::Control("alloc order=0");
  CoreTest::Control("free 1");
  ExpectError("free 1", MMLAB_ENOENT, "unknown handle 1");
}

TEST_F(Control, FreePfnFreesTheBlockAndDropsItsHandle) {
  uint64_t pfn = PfnOf(Result("alloc order=2"));
  char cmd[96], want[96];
  snprintf(cmd, sizeof(cmd), "free_pfn pfn=0x%lx order=2", static_cast<unsigned long>(pfn));
  snprintf(want, sizeof(want), "freed pfn 0x%lx order 2", static_cast<unsigned long>(pfn));
  EXPECT_EQ(Result(cmd), want);
  ExpectError("free 1", MMLAB_ENOENT, "unknown handle 1");
  EXPECT_EQ(Counters().used_pages, 0u);
}

TEST_F(Control, FreePfnInDecimalWorksToo) {
  uint64_t pfn = PfnOf(Result("alloc order=0"));
  EXPECT_EQ(CoreTest::Control("free_pfn order=0 pfn=" + std::to_string(pfn)), MMLAB_OK);
}

TEST_F(Control, FreePfnDetectsDoubleFreesWrongOrdersTailsAndForeignPfns) {
  CoreTest::Control("alloc order=0");  // keeps the chunk from merging fully
  uint64_t pfn = PfnOf(Result("alloc order=2"));
  auto cmd = [](uint64_t p, int order) {
    char b[96];
    snprintf(b, sizeof(b), "free_pfn pfn=0x%lx order=%d", static_cast<unsigned long>(p), order);
    return std::string(b);
  };
  char hex[32];
  snprintf(hex, sizeof(hex), "0x%lx", static_cast<unsigned long>(pfn));
  ExpectError(cmd(pfn, 1), MMLAB_EINVAL,
              std::string("bad free: pfn ") + hex + " freed with order 1 but allocated with order 2");
  ExpectError(cmd(pfn + 1, 0), MMLAB_EINVAL, "is not a block head (tail of order-2 block at pfn " +
                                                 std::string(hex) + ")");
  ASSERT_EQ(CoreTest::Control(cmd(pfn, 2)), MMLAB_OK);
  ExpectError(cmd(pfn, 2), MMLAB_EINVAL,
              std::string("bad free: double free of pfn ") + hex + " order 2");
  ExpectError("free_pfn pfn=0x1 order=0", MMLAB_EINVAL,
              "bad free: pfn 0x1 is not managed by this core (order 0)");
  ExpectError("free_pfn pfn=0x1 order=7", MMLAB_EINVAL, "order 7 out of range 0..4");
  EXPECT_EQ(Result("free_all"), "freed 1 handles");
  EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK);
}

TEST_F(Control, AllocRefusesOrdersAboveTheChunkOrder) {
  ExpectError("alloc order=5", MMLAB_EINVAL, "control: alloc: order 5 out of range 0..4");
  ExpectError("alloc order=4294967296", MMLAB_EINVAL, "order 4294967296 out of range");
  EXPECT_EQ(Counters().host_chunks, 0u);
}

TEST_F(Control, AtMost4096HandlesAreLive) {
  Destroy();
  NewBuddyCore(4, 257);  // room for more than 4096 order-0 blocks
  for (int i = 0; i < 4096; i++)
    ASSERT_EQ(CoreTest::Control("alloc order=0"), MMLAB_OK) << i;
  ExpectError("alloc order=0", MMLAB_ENOSPC, "control: alloc: all 4096 handles are in use");
  EXPECT_EQ(Counters().used_pages, 4096u) << "nothing was allocated for the refused command";
  EXPECT_EQ(Result("free 4096"), "freed handle 4096 order 0");
  EXPECT_EQ(Result("alloc order=0").rfind("handle 4097 ", 0), 0u);
  EXPECT_EQ(Result("free_all"), "freed 4096 handles");
}

TEST_F(Control, ShrinkAndCheckAndFreeAll) {
  EXPECT_EQ(Result("free_all"), "freed 0 handles");
  EXPECT_EQ(Result("shrink"), "returned 0 chunks");
  CoreTest::Control("alloc order=4");
  CoreTest::Control("alloc order=4");
  EXPECT_EQ(Result("check"), "ok");
  EXPECT_EQ(Result("free_all"), "freed 2 handles");
  EXPECT_EQ(Result("shrink"), "returned 2 chunks");
}

TEST_F(Control, ATrailingNewlineIsIgnoredButOnlyOne) {
  EXPECT_EQ(Result("shrink\n"), "returned 0 chunks");
  ExpectError("shrink\n\n", MMLAB_EINVAL, "control: non-printable byte 0x0a at offset 6");
}

TEST_F(Control, SpacesSeparateWordsAnyNumberOfThem) {
  EXPECT_EQ(CoreTest::Control("  alloc   order=1  "), MMLAB_OK);
  EXPECT_EQ(Result(" free  1 "), "freed handle 1 order 1");
}

TEST_F(Control, SyntaxErrorsAreEinvalWithAReason) {
  ExpectError("", MMLAB_EINVAL, "control: empty command");
  ExpectError("   ", MMLAB_EINVAL, "control: empty command");
  ExpectError("\n", MMLAB_EINVAL, "control: empty command");
  ExpectError("allocate order=1", MMLAB_EINVAL, "control: unknown command 'allocate'");
  ExpectError("ALLOC order=1", MMLAB_EINVAL, "unknown command 'ALLOC'");
  ExpectError("alloc", MMLAB_EINVAL, "control: alloc: order= is required");
  ExpectError("alloc gfp=GFP_KERNEL", MMLAB_EINVAL, "alloc: order= is required");
  ExpectError("alloc order", MMLAB_EINVAL, "control: alloc: unexpected argument 'order'");
  ExpectError("alloc order=", MMLAB_EINVAL, "control: order='': missing value");
  ExpectError("alloc =1", MMLAB_EINVAL, "control: alloc: unknown key ''");
  ExpectError("alloc order=1 size=2", MMLAB_EINVAL, "control: alloc: unknown key 'size'");
  ExpectError("alloc order=1 pfn=2", MMLAB_EINVAL, "alloc: unknown key 'pfn'");
  ExpectError("alloc order=1 order=2", MMLAB_EINVAL, "control: alloc: order given twice");
  ExpectError("alloc order=1 gfp=GFP_KERNEL gfp=GFP_ATOMIC", MMLAB_EINVAL, "gfp given twice");
  ExpectError("alloc order=1 gfp=", MMLAB_EINVAL, "control: gfp=: missing value");
  ExpectError("alloc order=1 gfp=GFP_KERNEL|", MMLAB_EINVAL, "control: gfp: unknown flag ''");
  ExpectError("alloc order=1 gfp=GFP_KERNEL||__GFP_ZERO", MMLAB_EINVAL, "unknown flag ''");
  ExpectError("alloc order=1 gfp=GFP_KERNAL", MMLAB_EINVAL, "gfp: unknown flag 'GFP_KERNAL'");
  ExpectError("alloc order=1 gfp=0x10", MMLAB_EINVAL, "unknown flag '0x10'");
  ExpectError("free", MMLAB_EINVAL, "control: free: handle= is required");
  ExpectError("free order=1", MMLAB_EINVAL, "free: handle= is required");
  ExpectError("free 1 2", MMLAB_EINVAL, "control: free: handle given twice");
  ExpectError("free 1 handle=1", MMLAB_EINVAL, "handle given twice");
  ExpectError("free handle=1 gfp=GFP_KERNEL", MMLAB_EINVAL, "free: unknown key 'gfp'");
  ExpectError("free_pfn order=0", MMLAB_EINVAL, "control: free_pfn: pfn= is required");
  ExpectError("free_pfn pfn=0x10", MMLAB_EINVAL, "free_pfn: order= is required");
  ExpectError("free_pfn 16 order=0", MMLAB_EINVAL, "free_pfn: unexpected argument '16'");
  ExpectError("free_all 1", MMLAB_EINVAL, "control: free_all: unexpected argument '1'");
  ExpectError("shrink now", MMLAB_EINVAL, "control: shrink: unexpected argument 'now'");
  ExpectError("check all", MMLAB_EINVAL, "control: check: unexpected argument 'all'");
  ExpectError("a b c d e f g h i", MMLAB_EINVAL, "control: too many words (at most 8)");
  EXPECT_EQ(Counters().host_chunks, 0u) << "no refused command allocated anything";
}

TEST_F(Control, NumbersAreDecimalOrHexAndNothingElse) {
  ExpectError("alloc order=-1", MMLAB_EINVAL, "control: order='-1': negative number");
  ExpectError("alloc order=-0", MMLAB_EINVAL, "negative number");
  ExpectError("alloc order=+1", MMLAB_EINVAL, "order='+1': not a decimal or 0x-hex number");
  ExpectError("alloc order=1.0", MMLAB_EINVAL, "not a decimal or 0x-hex number");
  ExpectError("alloc order=1e3", MMLAB_EINVAL, "not a decimal or 0x-hex number");
  ExpectError("alloc order=0x", MMLAB_EINVAL, "order='0x': not a decimal or 0x-hex number");
  ExpectError("alloc order=0xg", MMLAB_EINVAL, "not a decimal or 0x-hex number");
  ExpectError("alloc order=ten", MMLAB_EINVAL, "not a decimal or 0x-hex number");
  ExpectError("free 18446744073709551616", MMLAB_EINVAL,
              "handle='18446744073709551616': number does not fit in 64 bits");
  ExpectError("free_pfn pfn=0x10000000000000000 order=0", MMLAB_EINVAL,
              "number does not fit in 64 bits");
  ExpectError("free_pfn pfn=0x1ffffffffffffffff order=0", MMLAB_EINVAL, "does not fit in 64 bits");
  ExpectError("alloc order=99999999999999999999999999999999999999999999", MMLAB_EINVAL,
              "order='99999999999999999999999999999999...': number does not fit in 64 bits");
  ExpectError("free_pfn pfn=0xffffffffffffffff order=0", MMLAB_EINVAL,
              "pfn 0xffffffffffffffff is not managed");
  EXPECT_EQ(Result("alloc order=0X1").rfind("handle 1 order 1 pfn 0x", 0), 0u);
  EXPECT_EQ(Result("alloc order=00002").rfind("handle 2 order 2 pfn 0x", 0), 0u)
      << "leading zeros are decimal, not octal";
  EXPECT_EQ(Result("free_all"), "freed 2 handles");
}

TEST_F(Control, NonPrintableBytesAreRefusedWherever) {
  ExpectError(std::string("alloc order=1\0", 14), MMLAB_EINVAL,
              "control: non-printable byte 0x00 at offset 13");
  ExpectError(std::string("\0alloc order=1", 14), MMLAB_EINVAL, "byte 0x00 at offset 0");
  ExpectError("alloc\torder=1", MMLAB_EINVAL, "non-printable byte 0x09 at offset 5");
  ExpectError("alloc order=1\r\n", MMLAB_EINVAL, "non-printable byte 0x0d at offset 13");
  ExpectError("alloc order=1\x7f", MMLAB_EINVAL, "non-printable byte 0x7f");
  ExpectError("alloc order=\xff", MMLAB_EINVAL, "non-printable byte 0xff at offset 12");
  ExpectError("free 1\nfree 2", MMLAB_EINVAL, "non-printable byte 0x0a at offset 6");
  EXPECT_EQ(Counters().host_chunks, 0u);
}

TEST_F(Control, LinesLongerThan256BytesAreRefused) {
  std::string ok = "alloc order=1" + std::string(256 - 13, ' ');
  ASSERT_EQ(ok.size(), 256u);
  EXPECT_EQ(CoreTest::Control(ok), MMLAB_OK) << "exactly 256 bytes is fine";
  EXPECT_EQ(CoreTest::Control(ok + "\n"), MMLAB_OK) << "plus its newline";
  ExpectError(ok + " ", MMLAB_EINVAL, "control: command is 257 bytes, longer than 256");
  ExpectError(std::string(1 << 20, 'a'), MMLAB_EINVAL, "command is 1048576 bytes");
  ExpectError(std::string(300, '\0'), MMLAB_EINVAL, "longer than 256");
  std::string long_word(200, 'x');
  ExpectError(long_word, MMLAB_EINVAL, "unknown command 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'");
  EXPECT_EQ(Result("free_all"), "freed 2 handles");
}

TEST_F(Control, TheResultBufferIsNeverOverrun) {
  char small[8];
  memset(small, 'x', sizeof(small));
  EXPECT_EQ(mmlab_core_control(core_, "bogus", 5, small, 4), MMLAB_EINVAL);
  EXPECT_STREQ(small, "con");
  EXPECT_EQ(small[4], 'x');
  EXPECT_EQ(mmlab_core_control(core_, "shrink", 6, nullptr, 0), MMLAB_OK);
  EXPECT_EQ(mmlab_core_control(core_, "shrink", 6, small, 0), MMLAB_OK);
  EXPECT_EQ(small[0], 'c') << "capacity 0: nothing written";
  EXPECT_EQ(mmlab_core_control(core_, nullptr, 0, small, sizeof(small)), MMLAB_EINVAL);
}

// Any bytes at all: never a crash (ASan/UBSan watch), never an allocation
// that is not accounted for, and the core stays consistent.
TEST_F(Control, RandomBytesNeverHurtTheCore) {
  std::mt19937_64 rng(42);
  const char* words[] = {"alloc", "free", "free_pfn", "free_all", "shrink", "check", "order=",
                         "gfp=", "handle=", "pfn=", "0x", "-", "|", "=", " ", "GFP_KERNEL",
                         "__GFP_ZERO", "1", "4", "99999999999999999999", "\n", "\0"};
  for (int i = 0; i < 20000; i++) {
    std::string cmd;
    size_t len = rng() % 40;
    for (size_t j = 0; j < len; j++) {
      if (rng() % 3 == 0) {
        const char* w = words[rng() % (sizeof(words) / sizeof(words[0]))];
        cmd.append(w, *w ? strlen(w) : 1);
      } else {
        cmd.push_back(static_cast<char>(rng() % 256));
      }
    }
    char result[MMLAB_CONTROL_MAX];
    mmlab_status st = mmlab_core_control(core_, cmd.data(), cmd.size(), result, rng() % 2 ? sizeof(result) : rng() % 16);
    ASSERT_TRUE(st == MMLAB_OK || st == MMLAB_EINVAL || st == MMLAB_ENOENT ||
                st == MMLAB_ENOMEM || st == MMLAB_ENOSPC)
        << st;
    if (i % 1000 == 0) {
      ASSERT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
      sim::ClearLogs();
    }
  }
  CoreTest::Control("free_all");
  EXPECT_EQ(Counters().used_pages, 0u);
}

// Found by fuzz_control: "BUG:" written to the control file came back in
// the warning "control: unknown command 'BUG:'", a kernel log line every
// harness reads as a kernel bug. Echoed input never carries a ':' (the
// simulated host would abort on the line, as the VM harness fails on it).
TEST_F(Control, EchoedInputCannotForgeAKernelReport) {
  ExpectError("BUG:", MMLAB_EINVAL, "control: unknown command 'BUG?'");
  ExpectError("WARNING:", MMLAB_EINVAL, "control: unknown command 'WARNING?'");
  ExpectError("alloc BUG:=1", MMLAB_EINVAL, "control: alloc: unknown key 'BUG?'");
  ExpectError("alloc order=WARNING:", MMLAB_EINVAL, "order='WARNING?'");
  // A value ending in BUG, and the reason's own colon after it.
  ExpectError("alloc order=3BUG", MMLAB_EINVAL, "order='3BUG': not a decimal");
  ExpectError("pcp high=1 batch=1 zone=WARNING", MMLAB_EINVAL, "zone='WARNING'");
  ExpectError("alloc order=1 context=BUG", MMLAB_EINVAL, "context='BUG'");
  ExpectError("cache_create name=BUG: size=8", MMLAB_EINVAL, "cache_create");
  // Names are echoed before a ':' by Linux-shaped reports
  // ("kmem_cache_destroy <name>: Slab cache still has objects").
  ExpectError("cache_create name=xBUG size=8", MMLAB_EINVAL, "not ending in BUG");
  ExpectError("cache_create name=WARNING size=8", MMLAB_EINVAL, "not ending in BUG");
  ExpectError("mempool_create name=UBSAN min_nr=1 type=page order=0", MMLAB_EINVAL,
              "not ending in BUG");
  EXPECT_EQ(sim::CountLogs("BUG:") + sim::CountLogs("WARNING:"), 0u) << sim::LogText();
}

}  // namespace
}  // namespace mmlab_test
