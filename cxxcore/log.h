// SPDX-License-Identifier: GPL-2.0
//
// log.h - one-line reports to the host log.
//
// A report is formatted once into a short stack buffer and handed to
// mmlab_host_log(), which never sleeps and so may be called with a core lock
// held. Report() additionally copies the same line into a caller's TextBuf:
// the control file returns to the user exactly the reason that was logged.
//
// Never put "BUG:" or "WARNING:" into a report: the VM harness treats those
// words in the kernel log as a kernel failure.
#ifndef MMLAB_CXXCORE_LOG_H
#define MMLAB_CXXCORE_LOG_H

#include "format.h"

namespace mmlab {

// Longest log line, including the NUL; longer lines are cut.
constexpr size_t kLogLineMax = 192;

void Log(mmlab_log_level level, const char* fmt, ...) MMLAB_PRINTF(2, 3);
void VLog(mmlab_log_level level, const char* fmt, __builtin_va_list args);

// Logs one line at `level` and, when why is non-null, replaces its contents
// with the same text. Warnings logged this way are marked
// MMLAB_LOG_RATELIMITED: they answer a caller's request, and a caller
// looping on a bad request must not flood the log.
void Report(TextBuf* why, mmlab_log_level level, const char* fmt, ...) MMLAB_PRINTF(3, 4);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_LOG_H
