// SPDX-License-Identifier: GPL-2.0
//
// command_pool.cc - STUB, replaced by the mempool/vmalloc work (issue #4).
#include "command_parse.h"

namespace mmlab {

const CommandDef kPoolCommands[] = {{"", nullptr}};
const size_t kNrPoolCommands = 0;

}  // namespace mmlab
