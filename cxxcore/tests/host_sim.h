// SPDX-License-Identifier: GPL-2.0
//
// host_sim.h - a user-space host for the core (implements mmlab/host.h).
//
// Chunks come from aligned_alloc() with a fake pfn of vaddr >> 12, so ASan
// sees every chunk and catches the core touching one after returning it.
// Locks are pthread mutexes that also count, per thread, how many core
// locks are held: calling the page source or the metadata allocator with
// one held aborts the test, as does an assertion, a log line containing
// "BUG:" or "WARNING:", or a format conversion the kernel's vsnprintf would
// print differently. Tests read the captured log and the chunk counters.
#ifndef MMLAB_TESTS_HOST_SIM_H
#define MMLAB_TESTS_HOST_SIM_H

#include <cstdint>
#include <string>
#include <vector>

namespace sim {

struct LogLine {
  int level;
  std::string text;
};

// Forgets logs and failure knobs. Counters keep running across tests, so
// tests compare against values they read at their start.
void Reset();

std::vector<LogLine> Logs();
void ClearLogs();
// Lines containing needle (at the given level, or any level when -1).
size_t CountLogs(const std::string& needle, int level = -1);
std::string LogText();  // every line, newline-separated, for failure output

// The next n chunk (or metadata) allocations fail, after `skip` more have
// succeeded; n < 0 fails all of them.
void FailChunkAllocs(int n);
void FailMetaAllocs(int n, int skip = 0);
// After `allowed` more chunk allocations succeed, fail all further ones.
void LimitChunkAllocs(int allowed);

uint64_t ChunksOutstanding();
uint64_t ChunksBorrowed();
uint64_t ChunksReturned();
uint64_t ChunkAllocsThatMaySleep();
uint64_t ChunkAllocsThatMayNotSleep();
uint64_t MetaBytesOutstanding();
uint64_t LocksOutstanding();

// Returns to the "host" the chunks a core deliberately leaked at destroy,
// so that the test process itself does not leak. Returns how many.
uint64_t ReleaseLeakedChunks();

// While on, chunks are carved one after another from one aligned arena, so
// consecutive chunks are neighbours in memory and in pfn (and thus look
// like buddies of each other one order up). Turn off only once the chunks
// are back.
void UseContiguousChunks(bool on);

// Whether p lies inside a chunk currently lent out.
bool IsLentAddress(const void* p);

}  // namespace sim

#endif  // MMLAB_TESTS_HOST_SIM_H
