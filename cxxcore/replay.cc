// SPDX-License-Identifier: GPL-2.0
// Temporary stubs of the replay ABI (replaced by alloc_trace.cc/replay.cc).
#include "mmlab/core.h"
extern "C" {
enum mmlab_status mmlab_core_trace_set(struct mmlab_core*, int, uint32_t) { return MMLAB_EINVAL; }
void mmlab_core_trace_clear(struct mmlab_core*) {}
int mmlab_core_trace_on(struct mmlab_core*) { return 0; }
void mmlab_core_trace_counters(struct mmlab_core*, struct mmlab_trace_counters* out) { *out = {}; }
enum mmlab_status mmlab_core_render_trace(struct mmlab_core*, mmlab_emit_fn, void*) { return MMLAB_EINVAL; }
void mmlab_extfrag_index(const uint64_t*, int32_t* out) { for (int i = 0; i < MMLAB_EXTFRAG_ORDERS; i++) out[i] = 0; }
enum mmlab_status mmlab_core_extfrag_index(struct mmlab_core*, uint32_t, int32_t* out) { mmlab_extfrag_index(nullptr, out); return MMLAB_EINVAL; }
void mmlab_core_render_extfrag(struct mmlab_core*, mmlab_emit_fn, void*) {}
enum mmlab_status mmlab_replay_parse(const char*, size_t, struct mmlab_replay_trace** out, char*, size_t) { *out = nullptr; return MMLAB_EINVAL; }
enum mmlab_status mmlab_replay_generate(const char*, uint64_t, uint64_t, struct mmlab_replay_trace** out, char*, size_t) { *out = nullptr; return MMLAB_EINVAL; }
const char* mmlab_replay_workload_name(uint32_t) { return nullptr; }
const char* mmlab_replay_workload_description(uint32_t) { return nullptr; }
void mmlab_replay_free(struct mmlab_replay_trace*) {}
void mmlab_replay_set_name(struct mmlab_replay_trace*, const char*) {}
void mmlab_replay_trace_info(const struct mmlab_replay_trace*, struct mmlab_replay_trace_info* out) { *out = {}; }
const struct mmlab_replay_op* mmlab_replay_op_at(const struct mmlab_replay_trace*, uint64_t) { return nullptr; }
const struct mmlab_replay_cache_info* mmlab_replay_cache_at(const struct mmlab_replay_trace*, uint32_t) { return nullptr; }
void mmlab_replay_render_trace(const struct mmlab_replay_trace*, mmlab_emit_fn, void*) {}
enum mmlab_status mmlab_replay_run(const struct mmlab_replay_trace*, const struct mmlab_core_config*, const char*, struct mmlab_replay_result*, char*, size_t) { return MMLAB_EINVAL; }
const char* mmlab_replay_policy_name(uint32_t) { return nullptr; }
void mmlab_replay_render_result(const struct mmlab_replay_result*, mmlab_emit_fn, void*) {}
void mmlab_replay_render_report(const struct mmlab_replay_result*, size_t, mmlab_emit_fn, void*) {}
}
