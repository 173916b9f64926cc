// SPDX-License-Identifier: GPL-2.0
//
// test_util.h - a fixture that owns one core on the simulated host and
// checks, after every test, that the core is consistent and that every
// chunk, metadata byte and lock it took from the host went back.
//
// Two kinds of core:
//  - NewCore(): the real thing - DMA32 and Normal zones (a quarter of the
//    capacity to DMA32), watermarks from the default min_free_kbytes,
//    per-CPU lists with their default high/batch.
//  - NewBuddyCore(): for tests of the buddy mechanics underneath, with the
//    policy layers tuned out the way one would on Linux: the whole capacity
//    in ZONE_NORMAL, min_free_kbytes=0 (no reserve held back), and per-CPU
//    lists of high 1 / batch 1, which hand every free straight back to the
//    buddy. What such a test sees of the buddy is exactly what it saw
//    before zones and per-CPU lists existed.
#ifndef MMLAB_TESTS_TEST_UTIL_H
#define MMLAB_TESTS_TEST_UTIL_H

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "host_sim.h"
#include "views.h"
#include "mmlab/core.h"
#include "mmlab/host.h"

namespace mmlab_test {

inline mmlab_core_config Config(uint32_t chunk_order, uint64_t capacity_pages) {
  mmlab_core_config cfg = {};
  cfg.chunk_order = chunk_order;
  cfg.capacity_pages = capacity_pages;
  return cfg;
}

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

inline mmlab_status ControlOn(mmlab_core* core, const std::string& cmd) {
  char buf[MMLAB_CONTROL_MAX + 64];
  return mmlab_core_control(core, cmd.data(), cmd.size(), buf, sizeof(buf));
}

// Tunes the policy layers out of a core (see NewBuddyCore).
inline void MakeBuddyOnly(mmlab_core* core) {
  EXPECT_EQ(ControlOn(core, "min_free_kbytes=0"), MMLAB_OK);
  EXPECT_EQ(ControlOn(core, "pcp high=1 batch=1"), MMLAB_OK);
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

  mmlab_core* NewCoreWith(const mmlab_core_config& cfg) {
    EXPECT_EQ(mmlab_core_create(&cfg, &core_), MMLAB_OK) << sim::LogText();
    return core_;
  }

  // The real thing: zones, watermarks, per-CPU lists as configured by default.
  mmlab_core* NewCore(uint32_t chunk_order = 4, uint64_t capacity_chunks = 4) {
    mmlab_core_config cfg = {};
    cfg.chunk_order = chunk_order;
    cfg.capacity_pages = capacity_chunks << chunk_order;
    return NewCoreWith(cfg);
  }

  // The buddy allocator alone (see the top of this file).
  mmlab_core* NewBuddyCore(uint32_t chunk_order = 4, uint64_t capacity_chunks = 4) {
    mmlab_core_config cfg = {};
    cfg.chunk_order = chunk_order;
    cfg.capacity_pages = capacity_chunks << chunk_order;
    cfg.zone_pages[MMLAB_ZONE_NORMAL] = cfg.capacity_pages;
    NewCoreWith(cfg);
    MakeBuddyOnly(core_);
    sim::ClearLogs();
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
  uint64_t Zoneinfo(const std::string& zone, const std::string& key) {
    return ViewValue(Render(MMLAB_VIEW_ZONEINFO), zone, key);
  }
  uint64_t Stat(const std::string& key) { return ViewValue(Render(MMLAB_VIEW_STATS), "", key); }

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

  uint64_t Pfn(mmlab_page* page) { return mmlab_core_page_to_pfn(core_, page); }
  unsigned char* Addr(mmlab_page* page) {
    return static_cast<unsigned char*>(mmlab_core_page_address(core_, page));
  }
  // nr_free per order of one zone, parsed back from the buddyinfo view.
  std::vector<unsigned long> NrFree(const std::string& zone_name = "Normal") {
    std::vector<unsigned long> v = BuddyinfoNrFree(Render(MMLAB_VIEW_BUDDYINFO), zone_name);
    if (v.empty())
      ADD_FAILURE() << "no zone " << zone_name << " in buddyinfo";
    return v;
  }

  mmlab_core* core_ = nullptr;
};

// The buddyinfo line for the given nr_free counts, built from the format
// of mm/vmstat.c rather than from the core's own code.
inline std::string BuddyinfoLine(const std::vector<unsigned long>& nr_free,
                                 const char* zone = "Normal") {
  char buf[64];
  std::string s;
  snprintf(buf, sizeof(buf), "Node %d, zone %8s ", 0, zone);
  s += buf;
  for (unsigned long n : nr_free) {
    snprintf(buf, sizeof(buf), "%6lu ", n);
    s += buf;
  }
  return s + "\n";
}

// Both zones' lines, DMA32 first, as buddyinfo shows them.
inline std::string Buddyinfo(const std::vector<unsigned long>& dma32,
                             const std::vector<unsigned long>& normal) {
  return BuddyinfoLine(dma32, "DMA32") + BuddyinfoLine(normal, "Normal");
}

}  // namespace mmlab_test

#endif  // MMLAB_TESTS_TEST_UTIL_H
