// SPDX-License-Identifier: GPL-2.0
//
// check.cc - bounded logging of invariant violations.
#include "check.h"

#include "log.h"

namespace mmlab {

void CheckReport::Violation(const char* fmt, ...) {
  count_++;
  if (count_ > kMaxLogged)
    return;
  char line[kLogLineMax];
  TextBuf text(line, sizeof(line));
  text.Append("check: ");
  __builtin_va_list args;
  __builtin_va_start(args, fmt);
  text.VAppend(fmt, args);
  __builtin_va_end(args);
  mmlab_host_log(MMLAB_LOG_ERR, text.c_str());
}

void CheckReport::Finish() {
  if (count_ > kMaxLogged)
    Log(MMLAB_LOG_ERR, "check: %lu more violations not shown (%lu in all)", count_ - kMaxLogged,
        count_);
}

}  // namespace mmlab
