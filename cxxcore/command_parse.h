// SPDX-License-Identifier: GPL-2.0
//
// command_parse.h - the pieces of the control file's parser shared by the
// command files: command.cc (page allocator, reclaim, tunables),
// command_slab.cc (caches, kmalloc, control objects) and command_pool.cc
// (mempools, vmalloc, kvmalloc).
//
// Input is a slice of the caller's untrusted buffer, already checked to be
// printable ASCII of at most MMLAB_CONTROL_MAX bytes and split on spaces;
// nothing is NUL-terminated, so everything works on (pointer, length).
#ifndef MMLAB_CXXCORE_COMMAND_PARSE_H
#define MMLAB_CXXCORE_COMMAND_PARSE_H

#include "core.h"
#include "format.h"
#include "log.h"

namespace mmlab {

// Words on a command line: a command and at most four arguments are
// meaningful; a few more are parsed so that the error names the extra one.
constexpr size_t kMaxTokens = 8;
// Longest piece of user input echoed into a report.
constexpr size_t kQuoteMax = 32;

struct Slice {
  const char* p;
  size_t n;

  bool Is(const char* word) const {
    size_t i = 0;
    for (; i < n; i++) {
      if (word[i] == '\0' || word[i] != p[i])
        return false;
    }
    return word[i] == '\0';
  }
};

enum ArgKey : uint32_t {
  kKeyOrder = 1u << 0,
  kKeyGfp = 1u << 1,
  kKeyHandle = 1u << 2,
  kKeyPfn = 1u << 3,
  kKeyContext = 1u << 4,
  kKeyConsume = 1u << 5,
  kKeyRelease = 1u << 6,
  kKeyHigh = 1u << 7,
  kKeyBatch = 1u << 8,
  kKeyZone = 1u << 9,
  // Above the page allocator (command_slab.cc, command_pool.cc).
  kKeyName = 1u << 10,    // raw text: checked by the command
  kKeySize = 1u << 11,
  kKeyAlign = 1u << 12,
  kKeyFlags = 1u << 13,   // raw text, e.g. HWCACHE_ALIGN|DMA32
  kKeyCtor = 1u << 14,    // raw text, e.g. fill
  kKeyCache = 1u << 15,   // a cache id
  kKeyObject = 1u << 16,  // an object id (objects.h)
  kKeyCount = 1u << 17,
  kKeyPool = 1u << 18,    // a mempool id
  kKeyMinNr = 1u << 19,
  kKeyType = 1u << 20,    // raw text, e.g. slab|kmalloc|page
  kKeyByte = 1u << 21,
  kKeyLen = 1u << 22,
  kKeyDebug = 1u << 23,   // raw text: slub_debug letters, e.g. FZPU
  kKeyPolicy = 1u << 24,  // raw text: slub, slab or slob
};

struct KeyName {
  const char* name;
  ArgKey key;
};

inline constexpr KeyName kKeys[] = {
    {"order", kKeyOrder},     {"gfp", kKeyGfp},         {"handle", kKeyHandle},
    {"pfn", kKeyPfn},         {"context", kKeyContext}, {"consume", kKeyConsume},
    {"release", kKeyRelease}, {"high", kKeyHigh},       {"batch", kKeyBatch},
    {"zone", kKeyZone},       {"name", kKeyName},       {"size", kKeySize},
    {"align", kKeyAlign},     {"flags", kKeyFlags},     {"ctor", kKeyCtor},
    {"cache", kKeyCache},     {"object", kKeyObject},   {"count", kKeyCount},
    {"pool", kKeyPool},       {"min_nr", kKeyMinNr},    {"type", kKeyType},
    {"byte", kKeyByte},       {"len", kKeyLen},         {"debug", kKeyDebug},
    {"policy", kKeyPolicy},
    {"id", kKeyCache},  // an alias of cache= (cache_policy id=N); last: messages say cache=
};

// release=all
constexpr uint64_t kAll = ~uint64_t{0};

struct ContextName {
  const char* name;
  mmlab_host_context ctx;
};

inline constexpr ContextName kContexts[] = {
    {"process", MMLAB_HOST_CTX_PROCESS},
    {"irqoff", MMLAB_HOST_CTX_IRQS_OFF},
    {"timer", MMLAB_HOST_CTX_TIMER},
};

struct Args {
  uint32_t seen = 0;  // ArgKey bits
  uint64_t order = 0;
  mmlab_gfp_t gfp = MMLAB_GFP_KERNEL;
  uint64_t handle = 0;
  uint64_t pfn = 0;
  mmlab_host_context context = MMLAB_HOST_CTX_PROCESS;
  uint64_t consume = 0;
  uint64_t release = 0;
  uint64_t high = 0;
  uint64_t batch = 0;
  uint32_t zone = MMLAB_NR_ZONES;  // MMLAB_NR_ZONES: every zone
  Slice name = {"", 0};
  Slice flags = {"", 0};
  Slice ctor = {"", 0};
  Slice type = {"", 0};
  Slice debug = {"", 0};
  Slice policy = {"", 0};
  uint64_t size = 0;
  uint64_t align = 0;
  uint64_t cache = 0;
  uint64_t object = 0;
  uint64_t count = 0;
  uint64_t pool = 0;
  uint64_t min_nr = 0;
  uint64_t byte = 0;
  uint64_t len = 0;
};

// One command's result and error reporting.
class Reply {
 public:
  Reply(char* result, size_t cap) : out_(result, cap) {}
  MMLAB_NO_COPY(Reply);

  TextBuf* text() { return &out_; }

  // Out of line (command.cc): an inline variadic member would be a COMDAT
  // copy in every command file, which the kernel's module link rejects
  // (__mcount_loc refers to the discarded copies).
  mmlab_status Ok(const char* fmt, ...) MMLAB_PRINTF(2, 3);

  // Formats "control: <reason>" (with up to one quoted piece of input in
  // place of the %s in the format), logs it and stores it as the result.
  mmlab_status Fail(mmlab_status st, const char* fmt, ...) MMLAB_PRINTF(3, 4);

  // For failures the core already reported into text(): keep its line.
  mmlab_status Failed(mmlab_status st) { return st; }

 private:
  TextBuf out_;
};

// A name given on the control file ends in a word that, followed by the
// ':' of a message such as "kmem_cache_destroy <name>: Slab cache still has
// objects", reads as a kernel report ("BUG:", "WARNING:", "UBSAN:",
// "Oops:", "KASAN:") to anyone grepping the log. Such names are refused
// (found by fuzz_control). The refusal itself names only some of them:
// the VM harness takes a bare "Oops" or "KASAN" anywhere in the log for
// a kernel report.
inline constexpr const char* kReportWords[] = {"BUG", "WARNING", "UBSAN", "Oops", "KASAN"};

inline bool EndsInReportWord(Slice name) {
  for (const char* w : kReportWords) {
    size_t n = 0;
    while (w[n])
      n++;
    if (name.n >= n && Slice{name.p + name.n - n, n}.Is(w))
      return true;
  }
  return false;
}

// Printable copy of untrusted bytes for a report.
struct Quoted {
  char buf[kQuoteMax + 4];
  explicit Quoted(Slice s) {
    TextBuf text(buf, sizeof(buf));
    QuoteBytes(s.p, s.n, kQuoteMax, &text);
  }
};

enum class NumError { kOk, kEmpty, kNegative, kSyntax, kOverflow };

NumError ParseU64(Slice s, uint64_t* out);
const char* NumErrorText(NumError e);
// key=value as a number, or a reported EINVAL naming the key.
mmlab_status ParseNumber(Reply* reply, const char* key, Slice value, uint64_t* out);

// Parses args[] for command `cmd`, accepting only the keys in `allowed`
// and requiring those in `required`. A bare number is accepted as the
// value of `bare_key` (kKeyHandle for `free`, kKeyObject for the object
// commands) when it is not 0. Raw-text keys (name, flags, ctor, type) are
// stored as slices of the input, not checked.
mmlab_status ParseArgs(Reply* reply, const char* cmd, const Slice* args, size_t nargs,
                       uint32_t allowed, uint32_t required, uint32_t bare_key, Args* out);

// EINVAL naming the first argument if there is any.
mmlab_status NoArgs(Reply* reply, const char* cmd, const Slice* args, size_t nargs);

// A command: its name on the control file and what runs it.
struct CommandDef {
  const char* name;
  mmlab_status (*run)(Core& core, Reply* reply, const Slice* args, size_t nargs);
};

// The command tables of command_slab.cc and command_pool.cc.
extern const CommandDef kSlabCommands[];
extern const size_t kNrSlabCommands;
extern const CommandDef kPoolCommands[];
extern const size_t kNrPoolCommands;

}  // namespace mmlab

#endif  // MMLAB_CXXCORE_COMMAND_PARSE_H
