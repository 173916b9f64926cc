// SPDX-License-Identifier: GPL-2.0
//
// command.h - the control file's command parser (docs/debugfs.md, "control").
//
// RunControl() runs one command line given as untrusted bytes. It keeps no
// state between calls, so the same (core, bytes) always take the same path
// and a fuzzer can drive it directly.
#ifndef MMLAB_CXXCORE_COMMAND_H
#define MMLAB_CXXCORE_COMMAND_H

#include "core.h"

namespace mmlab {

// Writes the result (or a one-line reason, also logged at warning level)
// NUL-terminated into result[0..result_cap).
mmlab_status RunControl(Core& core, const char* cmd, size_t len, char* result, size_t result_cap);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_COMMAND_H
