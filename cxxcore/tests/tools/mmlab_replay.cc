// SPDX-License-Identifier: GPL-2.0
//
// mmlab_replay - replay an allocation trace through the core's slab
// policies on the build machine (the core on the simulated host), print
// one result line per policy and, with --compare or --policy all, the
// comparison table. docs/replay.md.
//
//   mmlab_replay [--policy slub|slab|slob|all] [--capacity-mb N] [--chunk-order N]
//                [--min-free-kbytes N] (--trace FILE | --workload NAME [--seed S] [--ops N])
//                [--save-trace FILE] [--compare] [--list]
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "host_sim.h"
#include "mmlab/core.h"

namespace {

void Usage(FILE* f) {
  fprintf(f,
          "usage: mmlab_replay [--policy slub|slab|slob|all] [--capacity-mb N] [--chunk-order N]\n"
          "                    [--min-free-kbytes N]\n"
          "                    (--trace FILE | --workload NAME [--seed S] [--ops N])\n"
          "                    [--save-trace FILE] [--compare] [--list]\n"
          "  --policy      policy of every cache (default slub; all: each this build has)\n"
          "  --capacity-mb the replay core's capacity (default 64)\n"
          "  --chunk-order order of the chunks it borrows (default 10)\n"
          "  --min-free-kbytes its vm.min_free_kbytes (default 0: derived from the capacity)\n"
          "  --trace       a trace file (# mmlab-trace v1; a recorded debugfs trace)\n"
          "  --workload    a bundled workload (--list shows them), with --seed (default 1)\n"
          "                and --ops (default 20000)\n"
          "  --save-trace  write the trace replayed (e.g. a generated one) to FILE\n"
          "  --compare     print the comparison table after the result lines\n");
}

void EmitFile(void* ctx, const char* s, size_t len) { fwrite(s, 1, len, static_cast<FILE*>(ctx)); }

bool ParseNum(const char* s, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || !end || *end || s[0] == '-' || !s[0])
    return false;
  *out = v;
  return true;
}

bool ReadFile(const char* path, std::string* out) {
  FILE* f = fopen(path, "rb");
  if (!f)
    return false;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    out->append(buf, n);
  bool ok = !ferror(f);
  fclose(f);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::string policy = "slub", trace_file, workload, save;
  uint64_t capacity_mb = 64, chunk_order = 10, seed = 1, ops = 20000, min_free_kbytes = 0;
  bool compare = false;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto value = [&](const char* what) -> const char* {
      if (i + 1 >= argc) {
        fprintf(stderr, "mmlab_replay: %s needs a value\n", what);
        exit(2);
      }
      return argv[++i];
    };
    auto number = [&](const char* what, uint64_t* out) {
      const char* v = value(what);
      if (!ParseNum(v, out)) {
        fprintf(stderr, "mmlab_replay: %s: '%s' is not a number\n", what, v);
        exit(2);
      }
    };
    if (a == "--policy")
      policy = value("--policy");
    else if (a == "--capacity-mb")
      number("--capacity-mb", &capacity_mb);
    else if (a == "--chunk-order")
      number("--chunk-order", &chunk_order);
    else if (a == "--min-free-kbytes")
      number("--min-free-kbytes", &min_free_kbytes);
    else if (a == "--trace")
      trace_file = value("--trace");
    else if (a == "--workload")
      workload = value("--workload");
    else if (a == "--seed")
      number("--seed", &seed);
    else if (a == "--ops")
      number("--ops", &ops);
    else if (a == "--save-trace")
      save = value("--save-trace");
    else if (a == "--compare")
      compare = true;
    else if (a == "--list") {
      for (uint32_t w = 0; mmlab_replay_workload_name(w); w++)
        printf("%-12s %s\n", mmlab_replay_workload_name(w), mmlab_replay_workload_description(w));
      printf("policies:");
      for (uint32_t p = 0; mmlab_replay_policy_name(p); p++)
        printf(" %s", mmlab_replay_policy_name(p));
      printf("\n");
      return 0;
    } else if (a == "-h" || a == "--help") {
      Usage(stdout);
      return 0;
    } else {
      fprintf(stderr, "mmlab_replay: unknown argument '%s'\n", a.c_str());
      Usage(stderr);
      return 2;
    }
  }
  if (trace_file.empty() == workload.empty()) {
    fprintf(stderr, "mmlab_replay: give exactly one of --trace and --workload\n");
    Usage(stderr);
    return 2;
  }
  if (chunk_order > MMLAB_MAX_CHUNK_ORDER) {
    fprintf(stderr, "mmlab_replay: --chunk-order %llu is above %d\n",
            static_cast<unsigned long long>(chunk_order), MMLAB_MAX_CHUNK_ORDER);
    return 2;
  }
  sim::Reset();
  char why[256] = "";
  mmlab_replay_trace* trace = nullptr;
  if (!trace_file.empty()) {
    std::string text;
    if (!ReadFile(trace_file.c_str(), &text)) {
      fprintf(stderr, "mmlab_replay: cannot read %s: %s\n", trace_file.c_str(), strerror(errno));
      return 1;
    }
    if (mmlab_replay_parse(text.data(), text.size(), &trace, why, sizeof(why)) != MMLAB_OK) {
      fprintf(stderr, "mmlab_replay: %s: %s\n", trace_file.c_str(), why);
      return 1;
    }
    std::string name = trace_file.substr(trace_file.find_last_of('/') + 1);
    mmlab_replay_set_name(trace, name.c_str());
  } else if (mmlab_replay_generate(workload.c_str(), seed, ops, &trace, why, sizeof(why)) !=
             MMLAB_OK) {
    fprintf(stderr, "mmlab_replay: %s\n", why);
    return 1;
  }
  if (!save.empty()) {
    FILE* f = fopen(save.c_str(), "w");
    if (!f) {
      fprintf(stderr, "mmlab_replay: cannot write %s: %s\n", save.c_str(), strerror(errno));
      return 1;
    }
    mmlab_replay_render_trace(trace, EmitFile, f);
    if (fclose(f) != 0) {
      fprintf(stderr, "mmlab_replay: writing %s failed\n", save.c_str());
      return 1;
    }
  }

  std::vector<std::string> policies;
  if (policy == "all") {
    for (uint32_t p = 0; mmlab_replay_policy_name(p); p++)
      policies.push_back(mmlab_replay_policy_name(p));
    compare = true;
  } else {
    policies.push_back(policy);
  }
  mmlab_core_config cfg = {};
  cfg.chunk_order = static_cast<uint32_t>(chunk_order);
  cfg.capacity_pages = capacity_mb * 256;
  cfg.min_free_kbytes = static_cast<uint32_t>(min_free_kbytes);
  const uint64_t chunk_pages = uint64_t{1} << chunk_order;
  cfg.capacity_pages = (cfg.capacity_pages + chunk_pages - 1) / chunk_pages * chunk_pages;

  std::vector<mmlab_replay_result> results;
  int rc = 0;
  for (const std::string& p : policies) {
    mmlab_replay_result r;
    if (mmlab_replay_run(trace, &cfg, p.c_str(), &r, why, sizeof(why)) != MMLAB_OK) {
      fprintf(stderr, "mmlab_replay: policy %s: %s\n", p.c_str(), why);
      rc = 1;
      continue;
    }
    mmlab_replay_render_result(&r, EmitFile, stdout);
    results.push_back(r);
  }
  if (compare && !results.empty())
    mmlab_replay_render_report(results.data(), results.size(), EmitFile, stdout);
  mmlab_replay_free(trace);
  return rc;
}
