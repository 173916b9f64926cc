// SPDX-License-Identifier: GPL-2.0
//
// format.cc - TextBuf: bounded formatting through mmlab_host_vsnprintf.
#include "format.h"

namespace mmlab {

void TextBuf::Append(const char* fmt, ...) {
  __builtin_va_list args;
  __builtin_va_start(args, fmt);
  VAppend(fmt, args);
  __builtin_va_end(args);
}

void TextBuf::VAppend(const char* fmt, __builtin_va_list args) {
  size_t room = cap_ > len_ ? cap_ - len_ : 0;
  int n = mmlab_host_vsnprintf(room ? buf_ + len_ : nullptr, room, fmt, args);
  if (n < 0)
    return;
  size_t want = static_cast<size_t>(n);
  // vsnprintf stores at most room - 1 characters and the NUL.
  if (room == 0 || want >= room) {
    truncated_ = true;
    len_ = room ? cap_ - 1 : len_;
  } else {
    len_ += want;
  }
}

void TextBuf::AppendBytes(const char* s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (len_ + 1 >= cap_) {
      truncated_ = true;
      return;
    }
    buf_[len_++] = s[i];
    buf_[len_] = '\0';
  }
}

void QuoteBytes(const char* s, size_t n, size_t max_len, TextBuf* out) {
  size_t shown = Min(n, max_len);
  for (size_t i = 0; i < shown; i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    char printable = (c >= 0x20 && c < 0x7f && c != ':') ? static_cast<char>(c) : '?';
    out->AppendBytes(&printable, 1);
  }
  if (shown < n)
    out->AppendBytes("...", 3);
}

void EmitLine(mmlab_emit_fn emit, void* ctx, const char* fmt, ...) {
  char line[256];
  TextBuf text(line, sizeof(line));
  __builtin_va_list args;
  __builtin_va_start(args, fmt);
  text.VAppend(fmt, args);
  __builtin_va_end(args);
  emit(ctx, text.c_str(), text.len());
}

}  // namespace mmlab
