// SPDX-License-Identifier: GPL-2.0
//
// slab_array.cc - the SLAB policy (Linux's mm/slab.c). Placeholder until
// issue #7's SLAB policy lands: runs SLUB.
#include "slab.h"

namespace mmlab {

SlabPolicy& SlabArrayPolicy() { return SlubPolicy(); }

}  // namespace mmlab
