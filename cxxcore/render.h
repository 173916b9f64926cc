// SPDX-License-Identifier: GPL-2.0
//
// render.h - the debugfs views as text (formats in docs/debugfs.md).
//
// Each view takes its numbers from snapshots made under the zone lock (and
// per-CPU counters read without stopping anyone) and formats them with no
// lock held, one line at a time, into a short buffer handed to the
// caller's sink (seq_write() in the kernel, a string in the host tests).
#ifndef MMLAB_CXXCORE_RENDER_H
#define MMLAB_CXXCORE_RENDER_H

#include "core.h"

namespace mmlab {

// /proc/buddyinfo: "Node %d, zone %8s " then "%6lu " per order 0..chunk_order,
// one line per zone, DMA32 first.
void RenderBuddyinfo(Core& core, mmlab_emit_fn emit, void* ctx);
// "key value" lines, then the per-order table, the per-zone table and the
// per-gfp-flag table.
void RenderStats(Core& core, mmlab_emit_fn emit, void* ctx);
// /proc/zoneinfo's shape with mmlab's fields.
void RenderZoneinfo(Core& core, mmlab_emit_fn emit, void* ctx);

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_RENDER_H
