// SPDX-License-Identifier: GPL-2.0
//
// format.h - bounded text building on top of the host's vsnprintf.
//
// Every piece of text the core produces (log lines, control results, view
// lines) is built in a caller-provided buffer through TextBuf, which never
// writes past its capacity, always NUL-terminates when it has room for one
// byte, and remembers whether anything was cut. Only the conversions that
// the kernel's and libc's vsnprintf agree on are used: %d %i %u %x %c %s
// with l/ll/z, width, '-' and '0' (the host test build checks this).
#ifndef MMLAB_CXXCORE_FORMAT_H
#define MMLAB_CXXCORE_FORMAT_H

#include "base.h"
#include "mmlab/core.h"

#define MMLAB_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))

namespace mmlab {

class TextBuf {
 public:
  // buf may be null when cap is 0: the text is then only measured.
  TextBuf(char* buf, size_t cap) : buf_(buf), cap_(buf ? cap : 0) { Clear(); }
  MMLAB_NO_COPY(TextBuf);

  void Clear() {
    len_ = 0;
    truncated_ = false;
    if (cap_)
      buf_[0] = '\0';
  }
  void Append(const char* fmt, ...) MMLAB_PRINTF(2, 3);
  void VAppend(const char* fmt, __builtin_va_list args);
  // Raw bytes, for text that did not come from a format string.
  void AppendBytes(const char* s, size_t n);

  const char* c_str() const { return cap_ ? buf_ : ""; }
  size_t len() const { return len_; }
  bool empty() const { return len_ == 0; }
  bool truncated() const { return truncated_; }

 private:
  char* buf_;
  size_t cap_;
  size_t len_;  // bytes stored, excluding the NUL
  bool truncated_;
};

// Copies at most max_len bytes of s[0..n) into a small buffer as printable
// text, ending in "..." when cut: user input echoed into a report must stay
// one short line. Bytes outside printable ASCII and ':' are shown as '?':
// with no colon, no input can make a log line that reads as a kernel
// report ("BUG:", "WARNING:", "UBSAN:", "Call Trace:"), which the VM
// harness and anyone grepping dmesg would take for a real one.
void QuoteBytes(const char* s, size_t n, size_t max_len, TextBuf* out);

// Formats one view line (at most 255 bytes) and hands it to a view's sink.
void EmitLine(mmlab_emit_fn emit, void* ctx, const char* fmt, ...) MMLAB_PRINTF(3, 4);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_FORMAT_H
