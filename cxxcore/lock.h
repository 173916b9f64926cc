// SPDX-License-Identifier: GPL-2.0
//
// lock.h - the core's spinlock and its RAII guard.
//
// SpinLock wraps the host's IRQ-safe spinning lock (spinlock_t in the
// kernel, so lockdep sees every core lock under its own class name). It is
// always taken with interrupts saved and disabled through IrqSaveGuard, in
// a narrow scope: nothing that may sleep or call the host page source runs
// while one is held.
#ifndef MMLAB_CXXCORE_LOCK_H
#define MMLAB_CXXCORE_LOCK_H

#include "base.h"

namespace mmlab {

class MMLAB_CAPABILITY("spinlock") SpinLock {
 public:
  SpinLock() = default;
  MMLAB_NO_COPY(SpinLock);

  // name is the lockdep class name; it must outlive the lock.
  bool Init(const char* name) {
    lock_ = mmlab_host_lock_create(name);
    return lock_ != nullptr;
  }
  void Destroy() {
    if (lock_)
      mmlab_host_lock_destroy(lock_);
    lock_ = nullptr;
  }
  bool initialized() const { return lock_ != nullptr; }

  // The analysis cannot see into the host's C functions, so the two
  // primitives are trusted; everything built on them is checked.
  unsigned long AcquireIrqSave() MMLAB_ACQUIRE() MMLAB_NO_THREAD_SAFETY_ANALYSIS {
    return mmlab_host_lock_irqsave(lock_);
  }
  void ReleaseIrqRestore(unsigned long flags) MMLAB_RELEASE()
      MMLAB_NO_THREAD_SAFETY_ANALYSIS {
    mmlab_host_unlock_irqrestore(lock_, flags);
  }

 private:
  mmlab_host_lock* lock_ = nullptr;
};

class MMLAB_SCOPED_CAPABILITY IrqSaveGuard {
 public:
  explicit IrqSaveGuard(SpinLock& lock) MMLAB_ACQUIRE(lock)
      : lock_(lock), flags_(lock.AcquireIrqSave()) {}
  ~IrqSaveGuard() MMLAB_RELEASE() { lock_.ReleaseIrqRestore(flags_); }
  MMLAB_NO_COPY(IrqSaveGuard);

 private:
  SpinLock& lock_;
  unsigned long flags_;
};

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_LOCK_H
