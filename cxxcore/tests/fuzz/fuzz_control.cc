// SPDX-License-Identifier: GPL-2.0
//
// fuzz_control.cc - libFuzzer target for the control file's command
// language (command*.cc through mmlab_core_control, as the debugfs write
// handler calls it).
//
// An input is a script: lines separated by '\n', each run as one write to
// the control file (at most 64 per input), so a fuzzer can build state
// (alloc, cache_create, kmalloc, pressure ...) and then attack it (free of
// a wrong handle, cache_destroy with objects out, shrink ...). Bytes are
// passed as they are: NULs, non-ASCII, overlong lines. A line whose first
// byte is 0xff is run with the rest of the input as one write, '\n'
// included, so multi-line and very long writes are covered too.
//
// Checked for every command: the result is NUL-terminated inside its
// buffer, the status is a known one, a refusal writes a reason, no result
// holds a raw pointer. For every input: the invariant checker passes, every
// view renders without a raw pointer, and destroying the core returns
// every page, chunk, metadata byte, lock and vmap (fuzz_util.h). The
// simulated host aborts on a "BUG:"/"WARNING:" line, a lock held across a
// sleep and the other kernel complaints (host_sim.h).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz_util.h"

namespace {

constexpr size_t kMaxLines = 64;
constexpr size_t kResultCap = MMLAB_CONTROL_MAX + 64;

void RunOne(mmlab_core* core, const char* cmd, size_t len) {
  if (mmlab_fuzz::MayBlockForever(cmd, len))
    return;
  char result[kResultCap + 16];
  memset(result, 0x5a, sizeof(result));
  mmlab_status st = mmlab_core_control(core, cmd, len, result, kResultCap);
  FUZZ_CHECK(memchr(result, '\0', kResultCap) != nullptr, "result not NUL-terminated");
  for (size_t i = kResultCap; i < sizeof(result); i++)
    FUZZ_CHECK(result[i] == 0x5a, "result written past its capacity");
  FUZZ_CHECK(st >= MMLAB_OK && st <= MMLAB_EUCLEAN, "unknown status %d", st);
  if (st != MMLAB_OK)
    FUZZ_CHECK(result[0] != '\0', "status %d without a reason for '%.*s'", st,
               static_cast<int>(len), cmd);
  // EUCLEAN is obj_check's answer to a changed fill; only the checker's
  // own verdict matters, and Teardown() asks it.
  mmlab_fuzz::CheckNoPointers(result, "a control result");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A sleeping allocation that fails retries 16 times with a 1 ms nap.
  sim::SetInstantSleeps(true);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sim::Reset();
  // Small: 8 chunks of 16 pages, so pressure and big requests hit the
  // capacity within a few commands.
  mmlab_core_config cfg = {};
  cfg.chunk_order = 4;
  cfg.capacity_pages = 8 << 4;
  mmlab_core* core = nullptr;
  FUZZ_CHECK(mmlab_core_create(&cfg, &core) == MMLAB_OK, "core_create failed");

  const char* p = reinterpret_cast<const char*>(data);
  size_t lines = 0;
  while (size && lines < kMaxLines) {
    lines++;
    if (static_cast<uint8_t>(p[0]) == 0xff) {
      RunOne(core, p + 1, size - 1);
      break;
    }
    const char* nl = static_cast<const char*>(memchr(p, '\n', size));
    size_t len = nl ? static_cast<size_t>(nl - p) : size;
    RunOne(core, p, len);
    if (!nl)
      break;
    p += len + 1;
    size -= len + 1;
  }
  mmlab_fuzz::CheckAllViews(core);
  mmlab_fuzz::Teardown(core);
  sim::ClearLogs();
  return 0;
}
