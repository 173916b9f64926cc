// SPDX-License-Identifier: GPL-2.0
//
// log.cc - formatted one-line reports through mmlab_host_log().
#include "log.h"

namespace mmlab {

void VLog(mmlab_log_level level, const char* fmt, __builtin_va_list args) {
  char line[kLogLineMax];
  TextBuf text(line, sizeof(line));
  text.VAppend(fmt, args);
  mmlab_host_log(level, text.c_str());
}

void Log(mmlab_log_level level, const char* fmt, ...) {
  __builtin_va_list args;
  __builtin_va_start(args, fmt);
  VLog(level, fmt, args);
  __builtin_va_end(args);
}

void Report(TextBuf* why, mmlab_log_level level, const char* fmt, ...) {
  char line[kLogLineMax];
  TextBuf text(line, sizeof(line));
  __builtin_va_list args;
  __builtin_va_start(args, fmt);
  text.VAppend(fmt, args);
  __builtin_va_end(args);
  // A report answers somebody's request: warnings may be dropped by the
  // host's rate limit, the copy in why never is.
  mmlab_host_log(level == MMLAB_LOG_WARN ? level | MMLAB_LOG_RATELIMITED : level, text.c_str());
  if (why) {
    why->Clear();
    why->AppendBytes(text.c_str(), text.len());
  }
}

}  // namespace mmlab
