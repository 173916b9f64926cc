// SPDX-License-Identifier: GPL-2.0
//
// views.h - reading the core's views back, without GoogleTest: shared by
// the tests (test_util.h), the reference model (model.h) and the fuzzers.
#ifndef MMLAB_TESTS_VIEWS_H
#define MMLAB_TESTS_VIEWS_H

#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "mmlab/core.h"

namespace mmlab_test {

// The text of a view ("" if the core refused to render it).
inline std::string RenderText(mmlab_core* core, mmlab_view view) {
  std::string out;
  mmlab_emit_fn emit = [](void* ctx, const char* s, size_t len) {
    static_cast<std::string*>(ctx)->append(s, len);
  };
  if (mmlab_core_render(core, view, emit, &out) != MMLAB_OK)
    return "";
  return out;
}

inline struct mmlab_core_counters CountersOf(mmlab_core* core) {
  struct mmlab_core_counters c;
  memset(&c, 0, sizeof(c));
  mmlab_core_counters(core, &c);
  return c;
}

// The value of "key N" in zone's section of zoneinfo (or stats when zone
// is empty); ~0 when missing.
inline uint64_t ViewValue(const std::string& view, const std::string& zone,
                          const std::string& key) {
  std::istringstream in(view);
  std::string line;
  bool in_zone = zone.empty();
  while (std::getline(in, line)) {
    if (line.rfind("Node 0, zone ", 0) == 0) {
      std::string name = line.substr(13);
      name.erase(0, name.find_first_not_of(' '));
      in_zone = name == zone;
      continue;
    }
    if (!in_zone)
      continue;
    std::istringstream words(line);
    std::string k;
    words >> k;
    if (k == key || k == key + ":") {
      uint64_t v;
      if (words >> v)
        return v;
    }
  }
  return ~uint64_t{0};
}

// zoneinfo's "protection: (a, b)" of zone: the lowmem reserve against
// requests whose preferred zone is highest_zoneidx; ~0 when missing.
inline uint64_t ViewProtection(const std::string& view, const std::string& zone,
                               uint32_t highest_zoneidx) {
  std::istringstream in(view);
  std::string line;
  bool in_zone = false;
  while (std::getline(in, line)) {
    if (line.rfind("Node 0, zone ", 0) == 0) {
      std::string name = line.substr(13);
      name.erase(0, name.find_first_not_of(' '));
      in_zone = name == zone;
      continue;
    }
    size_t at = line.find("protection: (");
    if (!in_zone || at == std::string::npos)
      continue;
    std::istringstream values(line.substr(at + 13));
    uint64_t v = ~uint64_t{0};
    char sep;
    for (uint32_t i = 0; i <= highest_zoneidx; i++) {
      if (i)
        values >> sep;
      values >> v;
    }
    return v;
  }
  return ~uint64_t{0};
}

// nr_free per order of one zone in a buddyinfo view; empty if the zone is
// not there.
inline std::vector<unsigned long> BuddyinfoNrFree(const std::string& buddyinfo,
                                                  const std::string& zone_name) {
  std::istringstream lines(buddyinfo);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::string node, node_id, zone, name;
    in >> node >> node_id >> zone >> name;
    if (name != zone_name)
      continue;
    std::vector<unsigned long> v;
    unsigned long n;
    while (in >> n)
      v.push_back(n);
    return v;
  }
  return {};
}

}  // namespace mmlab_test

#endif  // MMLAB_TESTS_VIEWS_H
