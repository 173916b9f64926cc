// SPDX-License-Identifier: GPL-2.0
//
// replay.h - a parsed or generated allocation trace and its replay through
// a fresh core (docs/replay.md). The C ABI in include/mmlab/core.h is the
// whole interface; this header only names the pieces replay.cc keeps apart
// (the trace, the slot allocator shared by the parser and the generator,
// and the policy hook the slab policies plug into).
#ifndef MMLAB_CXXCORE_REPLAY_H
#define MMLAB_CXXCORE_REPLAY_H

#include "base.h"
#include "mmlab/core.h"

namespace mmlab {

// Linux's slab policy of every cache of a replay core. Returns false when
// this build cannot run `policy` (its name is unknown or not merged yet).
bool ReplayPolicyKnown(const char* policy);
// Right after the replay core's creation: its kmalloc caches (empty) and
// every cache created from now on under `policy`; false (why says so) if
// it cannot.
bool ReplayApplyPolicy(mmlab_core* core, const char* policy, char* why, size_t why_cap);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_REPLAY_H
