// SPDX-License-Identifier: GPL-2.0
//
// command_slab.cc - STUB, replaced by the slab work (issue #4).
#include "command_parse.h"

namespace mmlab {

const CommandDef kSlabCommands[] = {{"", nullptr}};
const size_t kNrSlabCommands = 0;

}  // namespace mmlab
