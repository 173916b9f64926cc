// SPDX-License-Identifier: GPL-2.0
//
// Tests of the allocation trace (alloc_trace.cc) and its replay
// (replay.cc): the text format both ways, the generator's determinism,
// the replay's (the acceptance check), Linux's extfrag index, the
// per-CPU rings.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "host_sim.h"
#include "test_util.h"
#include "mmlab/core.h"

namespace {

using mmlab_test::CoreTest;

void EmitString(void* ctx, const char* s, size_t len) {
  static_cast<std::string*>(ctx)->append(s, len);
}

std::string RenderTrace(mmlab_core* core) {
  std::string out;
  EXPECT_EQ(mmlab_core_render_trace(core, EmitString, &out), MMLAB_OK);
  return out;
}

std::string RenderReplayTrace(const mmlab_replay_trace* t) {
  std::string out;
  mmlab_replay_render_trace(t, EmitString, &out);
  return out;
}

// Parses text; on failure returns null and the reason in *why.
mmlab_replay_trace* Parse(const std::string& text, std::string* why = nullptr) {
  mmlab_replay_trace* t = nullptr;
  char buf[256] = "";
  mmlab_status st = mmlab_replay_parse(text.data(), text.size(), &t, buf, sizeof(buf));
  if (why)
    *why = buf;
  if (st != MMLAB_OK) {
    EXPECT_EQ(t, nullptr);
  }
  return t;
}

mmlab_replay_trace* Generate(const char* workload, uint64_t seed, uint64_t ops) {
  mmlab_replay_trace* t = nullptr;
  char why[256] = "";
  EXPECT_EQ(mmlab_replay_generate(workload, seed, ops, &t, why, sizeof(why)), MMLAB_OK) << why;
  return t;
}

mmlab_core_config ReplayConfig() {
  mmlab_core_config cfg = {};
  cfg.chunk_order = 8;
  cfg.capacity_pages = 32 << 8;  // 32 MiB
  return cfg;
}

mmlab_replay_result Replay(const mmlab_replay_trace* t, const char* policy = "slub") {
  mmlab_core_config cfg = ReplayConfig();
  mmlab_replay_result r;
  char why[256] = "";
  EXPECT_EQ(mmlab_replay_run(t, &cfg, policy, &r, why, sizeof(why)), MMLAB_OK) << why;
  return r;
}

std::string ResultLine(const mmlab_replay_result& r) {
  std::string out;
  mmlab_replay_render_result(&r, EmitString, &out);
  return out;
}

std::vector<mmlab_replay_op> Ops(const mmlab_replay_trace* t) {
  std::vector<mmlab_replay_op> ops;
  for (uint64_t i = 0; const mmlab_replay_op* op = mmlab_replay_op_at(t, i); i++)
    ops.push_back(*op);
  return ops;
}

bool SameOps(const std::vector<mmlab_replay_op>& a, const std::vector<mmlab_replay_op>& b) {
  return a.size() == b.size() &&
         (a.empty() || memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0);
}

size_t CountLines(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = 0; (pos = text.find(needle, pos)) != std::string::npos; pos += needle.size())
    n++;
  return n;
}

// The cells of the report row `metric`.
std::vector<std::string> Words(const std::string& table, const std::string& metric) {
  std::vector<std::string> out;
  size_t pos = table.find("\n" + metric + " ");
  if (pos == std::string::npos)
    return out;
  std::string line = table.substr(pos + 1, table.find('\n', pos + 1) - pos - 1);
  std::istringstream in(line);
  std::string w;
  in >> w;
  while (in >> w)
    out.push_back(w);
  return out;
}

class ReplayTest : public CoreTest {};

// --- the text format -----------------------------------------------------------

const char kSample[] =
    "# mmlab-trace v1\n"
    "# cpu time_ns op key=value...\n"
    "0 1234567 cache_create cache=3 name=demo_obj size=200 align=8 flags=0x0\n"
    "0 1234600 kmalloc id=9f3a size=40 gfp=GFP_KERNEL caller=foo+0x12/0x40\n"
    "0 1234700 cache_alloc cache=3 id=77 gfp=GFP_KERNEL caller=bar+0x1/0x8\n"
    "1 1234750 alloc_pages id=5000 order=2 gfp=GFP_KERNEL|__GFP_ZERO\n"
    "\n"
    "0 1234800 cache_free cache=3 id=77\n"
    "0 1234900 kfree id=9f3a\n"
    "1 1235100 free_pages id=5000 order=2\n"
    "0 1235200 cache_destroy cache=3\n";

TEST_F(ReplayTest, ParsesTheDocumentedFormat) {
  mmlab_replay_trace* t = Parse(kSample);
  ASSERT_NE(t, nullptr);
  struct mmlab_replay_trace_info info;
  mmlab_replay_trace_info(t, &info);
  EXPECT_EQ(info.nr_ops, 8u);
  EXPECT_EQ(info.nr_caches, 1u);
  EXPECT_EQ(info.nr_slots, 3u) << "three objects live at once";
  EXPECT_EQ(info.skipped, 0u);
  std::vector<mmlab_replay_op> ops = Ops(t);
  EXPECT_EQ(ops[0].op, MMLAB_REPLAY_CACHE_CREATE);
  EXPECT_EQ(ops[1].op, MMLAB_REPLAY_KMALLOC);
  EXPECT_EQ(ops[1].size, 40u);
  EXPECT_EQ(ops[1].gfp, MMLAB_GFP_KERNEL);
  EXPECT_EQ(ops[2].op, MMLAB_REPLAY_CACHE_ALLOC);
  EXPECT_EQ(ops[2].size, 200u) << "a cache_alloc carries its cache's object size";
  EXPECT_EQ(ops[3].op, MMLAB_REPLAY_ALLOC_PAGES);
  EXPECT_EQ(ops[3].order, 2u);
  EXPECT_EQ(ops[3].gfp, MMLAB_GFP_KERNEL | MMLAB___GFP_ZERO);
  EXPECT_EQ(ops[4].slot, ops[2].slot) << "a free names its alloc's slot";
  EXPECT_EQ(ops[5].slot, ops[1].slot);
  EXPECT_EQ(ops[6].slot, ops[3].slot);
  const mmlab_replay_cache_info* c = mmlab_replay_cache_at(t, 0);
  ASSERT_NE(c, nullptr);
  EXPECT_STREQ(c->name, "demo_obj");
  EXPECT_EQ(c->size, 200u);
  EXPECT_EQ(c->align, 8u);

  mmlab_replay_result r = Replay(t);
  EXPECT_EQ(r.ops, 8u);
  EXPECT_EQ(r.failures, 0u);
  EXPECT_GT(r.peak_pages, 0u);
  EXPECT_EQ(r.final_pages, 1u) << "everything was freed, the cache destroyed; SLUB keeps the "
                                  "emptied kmalloc-64 slab as its CPU slab";
  mmlab_replay_free(t);
}

TEST_F(ReplayTest, RefusesBadLinesWithTheLineNumber) {
  const std::string head = "# mmlab-trace v1\n0 1 kmalloc id=1 size=8\n";
  const struct {
    std::string line;
    const char* reason;
  } cases[] = {
      {"0 2 kmallok id=2 size=8", "unknown op"},
      {"0 2 kmalloc id=2 size=8 colour=red", "unknown key 'colour'"},
      {"0 2 kmalloc id=2", "kmalloc needs size="},
      {"0 2 kmalloc id=2 size=0", "bad value"},
      {"0 2 kmalloc id=2 size=8 gfp=GFP_BOGUS", "bad value"},
      {"0 2 kmalloc id=xyz size=8", "bad value"},
      {"0 2 kmalloc id=2 size=8 size=9", "given twice"},
      {"0 2 alloc_pages id=2 order=11", "bad value"},
      {"0 2 cache_create cache=1 size=64 align=3", "bad value"},
      {"0 2 cache_create cache=1 size=64 flags=0x80000000", "bad value"},
      {"0 2 cache_alloc cache=9 id=4", "never created, needs size="},
      {"0 2 kfree", "kfree needs id="},
      {"zero 2 kfree id=1", "bad cpu"},
      {"0 2", "expected 'cpu time_ns op"},
      {"0 2 kfree id", "expected key=value"},
      {"0 2 free_pages id=1", "free_pages of id 1 that line 2 allocated with kmalloc"},
      {"# mmlab-trace v2", "unknown trace version"},
      {"0 2 kmalloc id=2 size=8 caller=" + std::string(600, 'x'), "longer than 512 bytes"},
  };
  for (const auto& c : cases) {
    std::string why;
    mmlab_replay_trace* t = Parse(head + c.line + "\n", &why);
    EXPECT_EQ(t, nullptr) << c.line;
    mmlab_replay_free(t);
    EXPECT_EQ(why.rfind("line 3: ", 0), 0u) << c.line << " -> " << why;
    EXPECT_NE(why.find(c.reason), std::string::npos) << c.line << " -> " << why;
  }
  std::string why;
  EXPECT_EQ(Parse("# only a comment\n", &why), nullptr);
  EXPECT_NE(why.find("no ops"), std::string::npos) << why;
  EXPECT_GE(sim::CountLogs("replay: trace refused"), 1u);
}

TEST_F(ReplayTest, ToleratesWhatAFullRingLost) {
  // A free whose alloc was overwritten, a cache whose create was, an
  // alloc of an id still live (its free was lost).
  const char text[] =
      "0 1 kfree id=aa\n"
      "0 2 cache_free cache=5 id=bb\n"
      "0 3 cache_alloc cache=5 id=cc size=96\n"
      "0 4 kmalloc id=dd size=16\n"
      "0 5 kmalloc id=dd size=16\n"
      "0 6 kfree id=dd\n"
      "0 7 cache_alloc cache=5 id=ee size=96\n"
      "0 8 cache_destroy cache=5\n";
  mmlab_replay_trace* t = Parse(text);
  ASSERT_NE(t, nullptr);
  struct mmlab_replay_trace_info info;
  mmlab_replay_trace_info(t, &info);
  EXPECT_EQ(info.skipped, 3u) << "two orphan frees, one id allocated twice";
  EXPECT_EQ(info.nr_caches, 1u) << "the cache is made from cache_alloc's size";
  std::vector<mmlab_replay_op> ops = Ops(t);
  // create (implicit), alloc cc, kmalloc dd, kmalloc dd, kfree dd, alloc ee,
  // the destroy's two cache_frees (lowest slot first), destroy.
  ASSERT_EQ(ops.size(), 9u);
  EXPECT_EQ(ops[0].op, MMLAB_REPLAY_CACHE_CREATE);
  EXPECT_EQ(ops[0].size, 96u);
  EXPECT_EQ(ops[6].op, MMLAB_REPLAY_CACHE_FREE);
  EXPECT_EQ(ops[7].op, MMLAB_REPLAY_CACHE_FREE);
  EXPECT_LT(ops[6].slot, ops[7].slot);
  EXPECT_EQ(ops[8].op, MMLAB_REPLAY_CACHE_DESTROY);
  mmlab_replay_result r = Replay(t);
  EXPECT_EQ(r.failures, 0u);
  EXPECT_EQ(r.ops, 9u);
  EXPECT_EQ(r.final_pages, 1u) << "the first dd is never freed by the trace: one kmalloc-16 slab";
  mmlab_replay_free(t);
}

// Untrusted input of the largest size parses in linear time: many live
// objects of one cache, then its destroy (which frees them all).
TEST_F(ReplayTest, DestroyOfABigCacheParsesQuickly) {
  std::string text = "0 0 cache_create cache=1 size=32\n";
  const int kObjects = 100000;
  for (int i = 0; i < kObjects; i++)
    text += "0 0 cache_alloc cache=1 id=" + std::to_string(i + 1) + "\n";
  text += "0 0 cache_destroy cache=1\n";
  std::string why;
  mmlab_replay_trace* t = Parse(text, &why);
  ASSERT_NE(t, nullptr) << why;
  std::vector<mmlab_replay_op> ops = Ops(t);
  ASSERT_EQ(ops.size(), 2u * kObjects + 2);
  for (int i = 0; i < kObjects; i++) {
    ASSERT_EQ(ops[kObjects + 1 + i].op, MMLAB_REPLAY_CACHE_FREE);
    ASSERT_EQ(ops[kObjects + 1 + i].slot, static_cast<uint32_t>(i)) << "lowest slot first";
  }
  mmlab_replay_free(t);
}

// --- the generator --------------------------------------------------------------

TEST_F(ReplayTest, GeneratorIsDeterministicPerSeed) {
  for (uint32_t w = 0; const char* name = mmlab_replay_workload_name(w); w++) {
    SCOPED_TRACE(name);
    EXPECT_NE(mmlab_replay_workload_description(w), nullptr);
    mmlab_replay_trace* a = Generate(name, 42, 5000);
    mmlab_replay_trace* b = Generate(name, 42, 5000);
    mmlab_replay_trace* c = Generate(name, 43, 5000);
    ASSERT_TRUE(a && b && c);
    struct mmlab_replay_trace_info info;
    mmlab_replay_trace_info(a, &info);
    EXPECT_EQ(info.nr_ops, 5000u) << "exactly the ops asked for";
    EXPECT_TRUE(SameOps(Ops(a), Ops(b)));
    EXPECT_EQ(RenderReplayTrace(a), RenderReplayTrace(b));
    EXPECT_FALSE(SameOps(Ops(a), Ops(c))) << "another seed, another trace";
    // Rendered and parsed back: the same ops.
    std::string why;
    mmlab_replay_trace* back = Parse(RenderReplayTrace(a), &why);
    ASSERT_NE(back, nullptr) << why;
    EXPECT_TRUE(SameOps(Ops(a), Ops(back)));
    mmlab_replay_free(back);
    mmlab_replay_free(a);
    mmlab_replay_free(b);
    mmlab_replay_free(c);
  }
  EXPECT_EQ(mmlab_replay_workload_name(4), nullptr);
  mmlab_replay_trace* t = nullptr;
  char why[128];
  EXPECT_EQ(mmlab_replay_generate("no-such", 1, 10, &t, why, sizeof(why)), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_replay_generate("kmalloc-mix", 1, 0, &t, why, sizeof(why)), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_replay_generate("kmalloc-mix", 1, MMLAB_REPLAY_MAX_OPS + 1ull, &t, why,
                                  sizeof(why)),
            MMLAB_EINVAL);
  EXPECT_EQ(t, nullptr);
}

// --- replay ----------------------------------------------------------------------

// The acceptance check: the same trace through the same policy
// twice gives identical page counts and fragmentation figures.
TEST_F(ReplayTest, SameTraceTwiceGivesIdenticalFigures) {
  for (uint32_t w = 0; const char* name = mmlab_replay_workload_name(w); w++) {
    SCOPED_TRACE(name);
    mmlab_replay_trace* t = Generate(name, 7, 8000);
    ASSERT_NE(t, nullptr);
    for (uint32_t p = 0; const char* policy = mmlab_replay_policy_name(p); p++) {
      mmlab_replay_result a = Replay(t, policy);
      mmlab_replay_result b = Replay(t, policy);
      EXPECT_STREQ(a.policy, policy);
      EXPECT_EQ(a.ops, 8000u);
      EXPECT_GT(a.peak_pages, 0u);
      EXPECT_EQ(a.peak_pages, b.peak_pages);
      EXPECT_EQ(a.final_pages, b.final_pages);
      EXPECT_EQ(a.peak_requested_bytes, b.peak_requested_bytes);
      EXPECT_EQ(a.peak_waste_bytes, b.peak_waste_bytes);
      EXPECT_EQ(a.failures, b.failures);
      EXPECT_EQ(a.nr_orders, ReplayConfig().chunk_order + 1);
      EXPECT_EQ(memcmp(a.extfrag, b.extfrag, sizeof(a.extfrag)), 0);
      EXPECT_EQ(a.peak_waste_bytes + a.peak_requested_bytes, a.peak_pages * MMLAB_PAGE_SIZE);
    }
    mmlab_replay_free(t);
  }
}

TEST_F(ReplayTest, RefusesUnknownPolicyAndBadConfig) {
  mmlab_replay_trace* t = Generate("kmalloc-mix", 1, 100);
  ASSERT_NE(t, nullptr);
  mmlab_core_config cfg = ReplayConfig();
  mmlab_replay_result r;
  char why[256] = "";
  EXPECT_EQ(mmlab_replay_run(t, &cfg, "slab-o-matic", &r, why, sizeof(why)), MMLAB_EINVAL);
  EXPECT_NE(std::string(why).find("slab-o-matic"), std::string::npos) << why;
  cfg.chunk_order = 99;
  EXPECT_EQ(mmlab_replay_run(t, &cfg, "slub", &r, why, sizeof(why)), MMLAB_EINVAL);
  mmlab_replay_free(t);
}

// A fragmenting workload leaves pinned pages in the blocks it used: at the
// end no free block of the largest order although free pages would
// suffice (index near 1); a benign one (everything freed) leaves a free
// block of every order. A small min_free_kbytes, so the watermarks do not
// keep a fresh chunk free at the end.
TEST_F(ReplayTest, FragmenterAndBenignWorkloadDiffer) {
  mmlab_core_config cfg = ReplayConfig();
  cfg.min_free_kbytes = 128;
  char why[256] = "";
  std::string benign_text = "# mmlab-trace v1\n";
  for (int i = 0; i < 3000; i++)
    benign_text += "0 0 kmalloc id=" + std::to_string(i + 1) + " size=" +
                   std::to_string(16 + (i * 37) % 2000) + "\n";
  for (int i = 0; i < 3000; i++)
    benign_text += "0 0 kfree id=" + std::to_string(i + 1) + "\n";
  mmlab_replay_trace* benign = Parse(benign_text);
  ASSERT_NE(benign, nullptr);
  mmlab_replay_result b;
  ASSERT_EQ(mmlab_replay_run(benign, &cfg, "slub", &b, why, sizeof(why)), MMLAB_OK) << why;
  EXPECT_GT(b.peak_pages, 0u);
  EXPECT_LT(b.final_pages * 10, b.peak_pages) << "only emptied slabs the kmalloc caches keep";
  EXPECT_EQ(b.nr_orders, cfg.chunk_order + 1);
  for (uint32_t o = 0; o < b.nr_orders; o++)
    EXPECT_EQ(b.extfrag[o], -1000) << "order " << o << ": " << ResultLine(b);
  for (uint64_t seed = 1; seed <= 3; seed++) {
    mmlab_replay_trace* frag = Generate("fragmenter", seed, 20000);
    ASSERT_NE(frag, nullptr);
    mmlab_replay_result f;
    ASSERT_EQ(mmlab_replay_run(frag, &cfg, "slub", &f, why, sizeof(why)), MMLAB_OK) << why;
    EXPECT_GT(f.final_pages * 2, f.peak_pages) << "the pins stay";
    EXPECT_EQ(f.nr_orders, cfg.chunk_order + 1);
    EXPECT_GT(f.extfrag[f.nr_orders - 1], 500)
        << "seed " << seed << ": the largest order fails for fragmentation: " << ResultLine(f);
    mmlab_replay_free(frag);
  }
  mmlab_replay_free(benign);
}

TEST_F(ReplayTest, ResultLineAndReport) {
  mmlab_replay_result r = {};
  strcpy(r.policy, "slub");
  strcpy(r.trace, "demo");
  r.ops = 12000;
  r.peak_pages = 812;
  r.final_pages = 64;
  r.peak_requested_bytes = 2890000;
  r.peak_waste_bytes = 812 * 4096 - 2890000;
  r.ns_total = 12000 * 180;
  r.nr_orders = 4;
  r.extfrag[0] = -1000;
  r.extfrag[1] = 0;
  r.extfrag[2] = 120;
  r.extfrag[3] = 1000;
  EXPECT_EQ(ResultLine(r),
            "replay policy=slub trace=demo ops=12000 failures=0 peak_pages=812 final_pages=64 "
            "peak_requested_bytes=2890000 peak_waste_bytes=435952 ns_per_op=180 "
            "extfrag=-1.000,0.000,0.120,1.000\n");
  mmlab_replay_result cols[2] = {r, r};
  strcpy(cols[1].policy, "host");
  cols[1].nr_orders = 0;
  std::string table;
  mmlab_replay_render_report(cols, 2, EmitString, &table);
  EXPECT_EQ(Words(table, "metric"), (std::vector<std::string>{"slub", "host"})) << table;
  EXPECT_EQ(Words(table, "peak_pages"), (std::vector<std::string>{"812", "812"})) << table;
  EXPECT_EQ(Words(table, "extfrag_order_2"), (std::vector<std::string>{"0.120", "-"})) << table;
  EXPECT_EQ(table.find("extfrag_order_4"), std::string::npos) << "no column has order 4";
  EXPECT_NE(table.find("\nmetric                         slub         host\n"),
            std::string::npos) << table;
}

// --- extfrag ------------------------------------------------------------------------

TEST_F(ReplayTest, ExtfragIndexIsLinuxs) {
  int32_t out[MMLAB_EXTFRAG_ORDERS];
  uint64_t nr_free[MMLAB_EXTFRAG_ORDERS] = {};
  // Nothing free: 0 everywhere (free_blocks_total == 0).
  mmlab_extfrag_index(nr_free, out);
  for (int32_t v : out)
    EXPECT_EQ(v, 0);
  // One big free block: every order would succeed.
  nr_free[10] = 1;
  mmlab_extfrag_index(nr_free, out);
  for (int32_t v : out)
    EXPECT_EQ(v, -1000);
  // 100 free order-0 pages: order 1 = 1000 - (1000 + 100*1000/2) / 100 = 490,
  // order 2 = 1000 - (1000 + 25000) / 100 = 740, order 10 = 1000 - 1097/100 = 990.
  memset(nr_free, 0, sizeof(nr_free));
  nr_free[0] = 100;
  mmlab_extfrag_index(nr_free, out);
  EXPECT_EQ(out[0], -1000);
  EXPECT_EQ(out[1], 490);
  EXPECT_EQ(out[2], 740);
  EXPECT_EQ(out[10], 990);
  // Two order-3 blocks (16 pages): order 4 = 1000 - (1000+1000)/2 = 0 (no
  // memory rather than fragmentation), order 5 = 1000 - 1500/2 = 250.
  memset(nr_free, 0, sizeof(nr_free));
  nr_free[3] = 2;
  mmlab_extfrag_index(nr_free, out);
  EXPECT_EQ(out[3], -1000);
  EXPECT_EQ(out[4], 0);
  EXPECT_EQ(out[5], 250);
}

TEST_F(ReplayTest, ExtfragOfTheLiveCoreInLinuxsFormat) {
  mmlab_core* core = NewBuddyCore(4, 4);  // all Normal, pcp off
  mmlab_page* p = mmlab_core_alloc_pages(core, MMLAB_GFP_KERNEL, 0);
  ASSERT_NE(p, nullptr);
  // One chunk of 16 pages borrowed, one page taken: free 1+2+4+8.
  int32_t idx[MMLAB_EXTFRAG_ORDERS];
  ASSERT_EQ(mmlab_core_extfrag_index(core, MMLAB_NR_ZONES, idx), MMLAB_OK);
  EXPECT_EQ(idx[3], -1000);
  // Order 4: 15 pages in 4 blocks: 1000 - (1000 + 15*1000/16) / 4 = 1000 - 484 = 516;
  // order 5 (beyond the chunk, computed all the same): 1000 - (1000 + 468) / 4 = 633.
  EXPECT_EQ(idx[4], 516);
  EXPECT_EQ(idx[5], 633);
  EXPECT_EQ(mmlab_core_extfrag_index(core, MMLAB_NR_ZONES + 1, idx), MMLAB_EINVAL);
  std::string text;
  mmlab_core_render_extfrag(core, EmitString, &text);
  EXPECT_EQ(text,
            "Node 0, zone   Normal -1.000 -1.000 -1.000 -1.000  0.516 \n")
      << text;
  EXPECT_EQ(mmlab_core___free_pages(core, p, 0), MMLAB_OK);
}

// --- recording ------------------------------------------------------------------------

TEST_F(ReplayTest, RecordedWorkloadReplaysWithTheSameOps) {
  mmlab_core* core = NewCore(6, 8);
  EXPECT_EQ(mmlab_core_trace_on(core), 0);
  // Off: nothing is recorded (and there are no rings at all).
  void* before = mmlab_core_kmalloc(core, 100, MMLAB_GFP_KERNEL, 0);
  mmlab_core_kfree(core, before, 0);
  ASSERT_EQ(mmlab_core_trace_set(core, 1, 1024), MMLAB_OK);
  EXPECT_EQ(mmlab_core_trace_on(core), 1);

  uint64_t events = 0;
  mmlab_kmem_cache* cache = nullptr;
  ASSERT_EQ(mmlab_core_kmem_cache_create(core, "rec obj", 72, 8, 0, nullptr, &cache), MMLAB_OK);
  events++;
  std::vector<void*> objs, kobjs;
  for (int i = 0; i < 50; i++) {
    objs.push_back(mmlab_core_kmem_cache_alloc(cache, MMLAB_GFP_KERNEL, 0));
    kobjs.push_back(mmlab_core_kmalloc(core, 24 + i * 40, MMLAB_GFP_KERNEL, 0));
    events += 2;
  }
  void* big = mmlab_core_kmalloc(core, 3 * MMLAB_PAGE_SIZE, MMLAB_GFP_KERNEL, 0);  // large
  mmlab_page* page = mmlab_core_alloc_pages(core, MMLAB_GFP_KERNEL, 1);
  uintptr_t addr = mmlab_core___get_free_pages(core, MMLAB_GFP_KERNEL, 0);
  ASSERT_TRUE(big && page && addr);
  events += 3;
  for (int i = 0; i < 50; i += 2) {
    mmlab_core_kmem_cache_free(cache, objs[i], 0);
    mmlab_core_kfree(core, kobjs[i], 0);
    events += 2;
  }
  char result[128];
  ASSERT_EQ(mmlab_test::ControlOn(core, "alloc order=2"), MMLAB_OK);
  events++;
  mmlab_core_kfree(core, big, 0);
  mmlab_core___free_pages(core, page, 1);
  mmlab_core_free_pages(core, addr, 0);
  mmlab_core_kfree(core, nullptr, 0);  // not an event
  events += 3;
  for (int i = 1; i < 50; i += 2) {
    mmlab_core_kmem_cache_free(cache, objs[i], 0);
    mmlab_core_kfree(core, kobjs[i], 0);
    events += 2;
  }
  ASSERT_EQ(mmlab_core_kmem_cache_destroy(cache), MMLAB_OK);
  events++;
  ASSERT_EQ(mmlab_core_control(core, "free_all", 8, result, sizeof(result)), MMLAB_OK) << result;
  events++;  // the control file's block

  mmlab_trace_counters cnt;
  mmlab_core_trace_counters(core, &cnt);
  EXPECT_EQ(cnt.recorded, events);
  EXPECT_EQ(cnt.overwritten, 0u);
  EXPECT_EQ(cnt.held, events);
  std::string text = RenderTrace(core);
  EXPECT_EQ(text.rfind("# mmlab-trace v1\n", 0), 0u);
  EXPECT_NE(text.find("name=rec_obj size=72 align=8"), std::string::npos) << "space made '_'";
  EXPECT_EQ(CountLines(text, " kmalloc id="), 51u);
  EXPECT_EQ(CountLines(text, " cache_alloc cache="), 50u);
  EXPECT_EQ(CountLines(text, " alloc_pages id="), 3u);
  EXPECT_EQ(CountLines(text, " free_pages id="), 3u);
  EXPECT_EQ(CountLines(text, " caller="), events - 2) << "all but cache_create/destroy";
  EXPECT_NE(text.find("order=2 gfp=GFP_KERNEL"), std::string::npos);

  std::string why;
  mmlab_replay_trace* t = Parse(text, &why);
  ASSERT_NE(t, nullptr) << why;
  struct mmlab_replay_trace_info info;
  mmlab_replay_trace_info(t, &info);
  EXPECT_EQ(info.nr_ops, events);
  EXPECT_EQ(info.skipped, 0u);
  mmlab_replay_result r = Replay(t);
  EXPECT_EQ(r.ops, events);
  EXPECT_EQ(r.failures, 0u);
  EXPECT_LT(r.final_pages, r.peak_pages) << "only emptied slabs the caches keep";
  mmlab_replay_free(t);

  // Off keeps what was recorded; clear empties it.
  ASSERT_EQ(mmlab_core_trace_set(core, 0, 0), MMLAB_OK);
  mmlab_core_kfree(core, mmlab_core_kmalloc(core, 8, MMLAB_GFP_KERNEL, 0), 0);
  mmlab_core_trace_counters(core, &cnt);
  EXPECT_EQ(cnt.recorded, events);
  EXPECT_EQ(cnt.on, 0u);
  mmlab_core_trace_clear(core);
  mmlab_core_trace_counters(core, &cnt);
  EXPECT_EQ(cnt.recorded, 0u);
  EXPECT_EQ(cnt.events_per_cpu, 1024u);
}

TEST_F(ReplayTest, RingOverwritesTheOldestAndCounts) {
  mmlab_core* core = NewCore(6, 8);
  EXPECT_EQ(mmlab_core_trace_set(core, 1, MMLAB_TRACE_EVENTS_MIN - 1), MMLAB_EINVAL);
  EXPECT_EQ(mmlab_core_trace_set(core, 1, MMLAB_TRACE_EVENTS_MAX + 1), MMLAB_EINVAL);
  ASSERT_EQ(mmlab_core_trace_set(core, 1, 16), MMLAB_OK);
  std::vector<void*> objs;
  for (int i = 0; i < 40; i++)
    objs.push_back(mmlab_core_kmalloc(core, 64, MMLAB_GFP_KERNEL, 0));
  mmlab_trace_counters cnt;
  mmlab_core_trace_counters(core, &cnt);
  EXPECT_EQ(cnt.recorded, 40u);
  EXPECT_EQ(cnt.overwritten, 24u);
  EXPECT_EQ(cnt.held, 16u);
  std::string text = RenderTrace(core);
  EXPECT_EQ(CountLines(text, " kmalloc id="), 16u) << text;
  EXPECT_NE(text.find("# recorded 40 overwritten 24 held 16"), std::string::npos) << text;

  // Frees on another CPU: its ring overflows too, and everything older
  // than its oldest kept event is left out of the text.
  sim::BindCpu(1);
  for (void* p : objs)
    mmlab_core_kfree(core, p, 0);
  sim::BindCpu(0);
  text = RenderTrace(core);
  EXPECT_EQ(CountLines(text, " kmalloc id="), 0u) << text;
  EXPECT_EQ(CountLines(text, " kfree id="), 16u) << text;
  EXPECT_NE(text.find("left_out 16"), std::string::npos) << text;
  // A fresh trace_set(on) starts over with the new size.
  ASSERT_EQ(mmlab_core_trace_set(core, 1, 32), MMLAB_OK);
  mmlab_core_trace_counters(core, &cnt);
  EXPECT_EQ(cnt.recorded, 0u);
  EXPECT_EQ(cnt.events_per_cpu, 32u);
}

}  // namespace

namespace {

TEST_F(ReplayTest, TraceSetWithoutMemoryLeavesRecordingOff) {
  mmlab_core* core = NewCore(6, 8);
  int refused = 0;
  for (int skip = 0; skip < 6; skip++) {
    SCOPED_TRACE(skip);
    sim::FailMetaAllocs(1, skip);
    mmlab_status st = mmlab_core_trace_set(core, 1, 64);
    sim::FailMetaAllocs(0);
    mmlab_trace_counters cnt;
    mmlab_core_trace_counters(core, &cnt);
    if (st == MMLAB_OK) {
      EXPECT_EQ(cnt.on, 1u);
      ASSERT_EQ(mmlab_core_trace_set(core, 0, 0), MMLAB_OK);
      continue;
    }
    EXPECT_EQ(st, MMLAB_ENOMEM);
    refused++;
    EXPECT_EQ(cnt.on, 0u);
    EXPECT_EQ(cnt.held, 0u);
    mmlab_core_kfree(core, mmlab_core_kmalloc(core, 8, MMLAB_GFP_KERNEL, 0), 0);
  }
  EXPECT_GE(refused, 4) << "the trace, its per-CPU array, locks and ring buffers can all fail";
  ASSERT_EQ(mmlab_core_trace_set(core, 1, 64), MMLAB_OK);
  mmlab_core_kfree(core, mmlab_core_kmalloc(core, 8, MMLAB_GFP_KERNEL, 0), 0);
  mmlab_trace_counters cnt;
  mmlab_core_trace_counters(core, &cnt);
  EXPECT_EQ(cnt.recorded, 2u);
}

}  // namespace
