// SPDX-License-Identifier: GPL-2.0
//
// page_desc.cc - names of page states, for reports.
#include "page_desc.h"

namespace mmlab {

const char* PageStateName(PageState state) {
  switch (state) {
    case PageState::kUnset:
      return "unset";
    case PageState::kFreeHead:
      return "free head";
    case PageState::kFreeTail:
      return "free tail";
    case PageState::kAllocHead:
      return "allocated head";
    case PageState::kAllocTail:
      return "allocated tail";
    case PageState::kPcpHead:
      return "per-CPU head";
    case PageState::kPcpTail:
      return "per-CPU tail";
  }
  return "invalid";
}

}  // namespace mmlab
