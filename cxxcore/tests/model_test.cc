// SPDX-License-Identifier: GPL-2.0
//
// model_test.cc - long seeded random sequences of operations checked
// against the reference model (model.h, shared with fuzz/fuzz_model.cc).
//
// The core runs as configured by default: DMA32 and Normal zones,
// watermarks, lowmem reserve, per-CPU lists (with a batch of 3, so refills
// and drains move several blocks). What the model checks after every
// operation is described in model.h. The invariant checker runs every 1000
// operations, along with a full comparison of counters, buddyinfo and the
// tags of everything live.
#include <random>

#include "model.h"
#include "test_util.h"

namespace mmlab_test {
namespace {

constexpr uint32_t kChunkOrder = 5;
constexpr uint64_t kChunks = 12;

class SeededSource : public mmlab_model::Source {
 public:
  explicit SeededSource(uint64_t seed) : rng_(seed) {}
  uint64_t Rand(uint64_t n) override { return rng_() % n; }

 private:
  std::mt19937_64 rng_;
};

class Model : public CoreTest {
 protected:
  // Runs ops steps of the page mix (pages_only) or of everything.
  void Run(mmlab_model::CoreModel& m, int ops, bool pages_only) {
    for (int op = 0; op < ops; op++) {
      if (pages_only)
        m.StepPages();
      else
        m.Step();
      ASSERT_FALSE(m.failed()) << m.failure() << "\nat operation " << op
                               << " (seeded, reproducible)";
      if (op % 1000 == 999) {
        m.CheckAgreement();
        ASSERT_FALSE(m.failed()) << m.failure() << "\nat operation " << op;
      }
    }
  }
};

TEST_F(Model, HundredThousandRandomOperationsAgreeWithTheModel) {
  NewCore(kChunkOrder, kChunks);
  ASSERT_EQ(Control("pcp high=8 batch=3"), MMLAB_OK);
  SeededSource src(20240611);
  mmlab_model::CoreModel m(core_, &src, kChunkOrder, kChunks);
  Run(m, 100000, true);
  if (HasFatalFailure())
    return;
  // The sequence must have exercised every outcome, or it proves little.
  EXPECT_GT(m.allocs(), 30000u);
  EXPECT_GT(m.failures(), 100u);
  EXPECT_GT(m.refusals(), 4000u);
  EXPECT_GT(m.shrinks(), 1000u);

  m.FreeEverything();
  m.CheckAgreement();
  m.DoShrink();
  ASSERT_FALSE(m.failed()) << m.failure();
  EXPECT_EQ(Counters().host_chunks, 0u);
  EXPECT_EQ(Counters().used_pages, 0u);
  // Both zones and the per-CPU lists took part.
  EXPECT_GT(sim::ChunksBorrowed(), 0u);
  EXPECT_GT(ViewValue(Render(MMLAB_VIEW_ZONEINFO), "DMA32", "nr_pcp_drained"), 0u);
  EXPECT_GT(ViewValue(Render(MMLAB_VIEW_ZONEINFO), "Normal", "nr_pcp_drained"), 0u);
  EXPECT_GT(ViewValue(Render(MMLAB_VIEW_ZONEINFO), "DMA32", "nr_alloc_fallback"), 0u);
}

// The same model with slab caches, kmalloc/krealloc, drains and per-CPU
// list tuning mixed in (what fuzz_model runs, from a seed instead of an input).
TEST_F(Model, PagesSlabAndKmallocAgreeWithTheModel) {
  NewCore(kChunkOrder, kChunks);
  SeededSource src(20261206);
  mmlab_model::CoreModel m(core_, &src, kChunkOrder, kChunks);
  Run(m, 30000, false);
  if (HasFatalFailure())
    return;
  EXPECT_GT(m.allocs(), 1000u);
  EXPECT_GT(m.objects_allocated(), 5000u);
  EXPECT_GT(m.failures(), 10u);
  EXPECT_GT(m.refusals(), 1000u);

  m.FreeEverything();
  m.CheckAgreement();
  ASSERT_FALSE(m.failed()) << m.failure();
}

}  // namespace
}  // namespace mmlab_test
