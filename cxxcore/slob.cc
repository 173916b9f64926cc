// SPDX-License-Identifier: GPL-2.0
//
// slob.cc - the SLOB policy (Linux's mm/slob.c). Placeholder until issue
// #7's SLOB policy lands: runs SLUB; no page is ever kPgSlob.
#include "core.h"
#include "log.h"
#include "slab.h"

namespace mmlab {

SlabPolicy& SlobPolicy() { return SlubPolicy(); }

Page* SlobFindObject(Core&, Page*, KmemCache* s, const void* obj, KmemCache**, const char* func,
                     TextBuf* why) {
  char ptr[32];
  mmlab_host_format_ptr(obj, ptr, sizeof(ptr));
  Report(why, MMLAB_LOG_WARN, "%s(%s): object %s is not in a slab; ignored", func,
         s ? s->name : "kmalloc", ptr);
  return nullptr;
}

}  // namespace mmlab
