// SPDX-License-Identifier: GPL-2.0
//
// fuzz_model.cc - differential fuzzer: the whole core against the
// reference model of model.h.
//
// The input is the sequence of choices: every operation (page alloc/free
// of any order through the page API and the control file, gfp mixes with
// DMA32, ZERO, ATOMIC and NOWAIT, misuse, shrink, drain, pcp high/batch,
// slab cache create/destroy/shrink/alloc, kmalloc, krealloc, frees and bad
// frees of objects) and each of its arguments is read from the input
// (FuzzedDataProvider), until the input runs out (at most 500 steps). The last byte picks the
// core's shape (chunk order 2..5, 2..17 chunks), so small cores that run
// out of memory at once are explored as much as roomy ones. Every step is
// checked against the model; every 64 steps and at the end, the full
// agreement (counters, buddyinfo, every tag), then everything is freed and
// the core destroyed with every page, chunk and lock back (fuzz_util.h).
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_util.h"
#include "model.h"

namespace {

class InputSource : public mmlab_model::Source {
 public:
  explicit InputSource(FuzzedDataProvider* fdp) : fdp_(fdp) {}
  uint64_t Rand(uint64_t n) override {
    return n <= 1 ? 0 : fdp_->ConsumeIntegralInRange<uint64_t>(0, n - 1);
  }

 private:
  FuzzedDataProvider* fdp_;
};

void Check(const mmlab_model::CoreModel& m, size_t step) {
  FUZZ_CHECK(!m.failed(), "step %zu: %s", step, m.failure().c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A sleeping allocation that fails retries 16 times with a 1 ms nap.
  sim::SetInstantSleeps(true);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2)
    return 0;
  sim::Reset();
  FuzzedDataProvider fdp(data, size);
  uint8_t shape = fdp.ConsumeIntegral<uint8_t>();
  uint32_t chunk_order = 2 + (shape & 3);
  uint64_t chunks = 2 + (shape >> 4);
  mmlab_core_config cfg = {};
  cfg.chunk_order = chunk_order;
  cfg.capacity_pages = chunks << chunk_order;
  mmlab_core* core = nullptr;
  if (mmlab_core_create(&cfg, &core) != MMLAB_OK)
    mmlab_fuzz::Fail("core_create(order %u, %lu chunks) failed", chunk_order,
                     static_cast<unsigned long>(chunks));
  if (shape & 4) {  // the model test's setting: refills and drains move several blocks
    char r[MMLAB_CONTROL_MAX + 64];
    FUZZ_CHECK(mmlab_core_control(core, "pcp high=8 batch=3", 18, r, sizeof(r)) == MMLAB_OK,
               "pcp: %s", r);
  }
  InputSource src(&fdp);
  {
    mmlab_model::CoreModel m(core, &src, chunk_order, chunks);
    size_t step = 0;
    while (fdp.remaining_bytes() > 0 && step < 500) {
      m.Step();
      Check(m, step);
      if (++step % 64 == 0) {
        m.CheckAgreement();
        Check(m, step);
      }
    }
    m.CheckAgreement();
    Check(m, step);
    mmlab_fuzz::CheckAllViews(core);
    m.FreeEverything();
    Check(m, step);
    m.CheckAgreement();
    Check(m, step);
  }
  mmlab_fuzz::Teardown(core);
  sim::ClearLogs();
  return 0;
}
