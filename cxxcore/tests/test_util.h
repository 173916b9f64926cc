// SPDX-License-Identifier: GPL-2.0
//
// test_util.h - a fixture that owns one core on the simulated host and
// checks, after every test, that the core is consistent and that every
// chunk, metadata byte and lock it took from the host went back.
#ifndef MMLAB_TESTS_TEST_UTIL_H
#define MMLAB_TESTS_TEST_UTIL_H

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "host_sim.h"
#include "mmlab/core.h"
#include "mmlab/host.h"

namespace mmlab_test {

inline std::string Render(mmlab_core* core, mmlab_view view) {
  std::string out;
  mmlab_emit_fn emit = [](void* ctx, const char* s, size_t len) {
    static_cast<std::string*>(ctx)->append(s, len);
  };
  EXPECT_EQ(mmlab_core_render(core, view, emit, &out), MMLAB_OK);
  return out;
}

inline struct mmlab_core_counters Counters(mmlab_core* core) {
  struct mmlab_core_counters c;
  memset(&c, 0, sizeof(c));
  mmlab_core_counters(core, &c);
  return c;
}

class CoreTest : public ::testing::Test {
 protected:
  void SetUp() override { sim::Reset(); }

  void TearDown() override {
    if (core_) {
      EXPECT_EQ(mmlab_core_check(core_), MMLAB_OK) << sim::LogText();
      EXPECT_EQ(mmlab_core_destroy(core_), 0u) << "a test left pages allocated";
      core_ = nullptr;
    }
    EXPECT_EQ(sim::ChunksOutstanding(), 0u) << "every borrowed chunk goes back to the host";
    EXPECT_EQ(sim::MetaBytesOutstanding(), 0u) << "every metadata byte is freed";
    EXPECT_EQ(sim::LocksOutstanding(), 0u) << "every lock is destroyed";
  }

  mmlab_core* NewCore(uint32_t chunk_order = 4, uint64_t capacity_chunks = 4) {
    mmlab_core_config cfg = {};
    cfg.chunk_order = chunk_order;
    cfg.capacity_pages = capacity_chunks << chunk_order;
    EXPECT_EQ(mmlab_core_create(&cfg, &core_), MMLAB_OK) << sim::LogText();
    return core_;
  }

  // Destroys the core now (instead of in TearDown) and returns the result.
  uint64_t Destroy() {
    uint64_t leaked = mmlab_core_destroy(core_);
    core_ = nullptr;
    return leaked;
  }

  std::string Render(mmlab_view view) { return mmlab_test::Render(core_, view); }
  struct mmlab_core_counters Counters() { return mmlab_test::Counters(core_); }

  // Runs one control command; returns its status, result text in *result.
  mmlab_status Control(const std::string& cmd, std::string* result = nullptr) {
    char buf[MMLAB_CONTROL_MAX + 64];
    memset(buf, 0x5a, sizeof(buf));
    mmlab_status st = mmlab_core_control(core_, cmd.data(), cmd.size(), buf, sizeof(buf));
    EXPECT_NE(memchr(buf, '\0', sizeof(buf)), nullptr) << "result is NUL-terminated";
    if (result)
      *result = buf;
    return st;
  }
  std::string Result(const std::string& cmd) {
    std::string r;
    Control(cmd, &r);
    return r;
  }

  uint64_t Pfn(mmlab_page* page) { return mmlab_page_to_pfn(core_, page); }
  unsigned char* Addr(mmlab_page* page) {
    return static_cast<unsigned char*>(mmlab_page_address(core_, page));
  }
  // nr_free per order, parsed back from the buddyinfo view.
  std::vector<unsigned long> NrFree() {
    std::istringstream in(Render(MMLAB_VIEW_BUDDYINFO));
    std::string node, node_id, zone, name;
    in >> node >> node_id >> zone >> name;
    std::vector<unsigned long> v;
    unsigned long n;
    while (in >> n)
      v.push_back(n);
    return v;
  }

  mmlab_core* core_ = nullptr;
};

// The buddyinfo line for the given nr_free counts, built from the format
// of mm/vmstat.c rather than from the core's own code.
inline std::string BuddyinfoLine(const std::vector<unsigned long>& nr_free) {
  char buf[64];
  std::string s;
  snprintf(buf, sizeof(buf), "Node %d, zone %8s ", 0, "Normal");
  s += buf;
  for (unsigned long n : nr_free) {
    snprintf(buf, sizeof(buf), "%6lu ", n);
    s += buf;
  }
  return s + "\n";
}

}  // namespace mmlab_test

#endif  // MMLAB_TESTS_TEST_UTIL_H
