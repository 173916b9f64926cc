// SPDX-License-Identifier: GPL-2.0
//
// check.h - collecting invariant violations for mmlab_core_check().
//
// The checker logs each violation it finds as one line at error level
// ("check: ..."). A badly corrupted zone can produce one violation per page,
// so after kMaxLogged lines the rest are only counted and a final line says
// how many were not shown: the log stays readable and the serial console of
// a VM is not flooded while a spinlock is held.
#ifndef MMLAB_CXXCORE_CHECK_H
#define MMLAB_CXXCORE_CHECK_H

#include "format.h"

namespace mmlab {

class CheckReport {
 public:
  static constexpr uint64_t kMaxLogged = 64;

  CheckReport() = default;
  MMLAB_NO_COPY(CheckReport);

  void Violation(const char* fmt, ...) MMLAB_PRINTF(2, 3);
  // Violations already logged elsewhere (by code running on other CPUs).
  void AddLogged(uint64_t n) { count_ += n; }
  // Logs the "not shown" summary, if any lines were suppressed.
  void Finish();
  uint64_t count() const { return count_; }

 private:
  uint64_t count_ = 0;
};

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_CHECK_H
