// SPDX-License-Identifier: GPL-2.0
//
// fault_inject.cc - should_fail() for mmlab's sites, and their debugfs
// files as text (see fault_inject.h for how it works).
#include "fault_inject.h"

#include "core.h"
#include "log.h"

namespace mmlab {

namespace {

constexpr uint32_t kVerboseMax = 2;
constexpr int32_t kInt32Max = 0x7fffffff;

const char* const kSiteNames[MMLAB_FAULT_NR_SITES] = {"chunk", "buddy", "slab", "mempool",
                                                      "mmdev_fault"};

// The kernel's file names (fault_create_debugfs_attr, failslab,
// fail_page_alloc), then mmlab's own.
const char* const kParamNames[MMLAB_FAULT_NR_PARAMS] = {
    "probability",  "interval",
    "times",        "space",
    "verbose",      "verbose_ratelimit_interval_ms",
    "verbose_ratelimit_burst", "task-filter",
    "seed",         "ignore-gfp-wait",
    "min-order",    "cache-filter",
    "calls",        "injected",
};

template <typename T>
void AtomicAdd(T& counter, T n) {
  __atomic_fetch_add(&counter, n, __ATOMIC_RELAXED);
}

// SplitMix64's output function (Steele, Lea, Flood 2014): a bijection of
// 64-bit words whose outputs for consecutive inputs are independent enough
// for picking failures.
constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;

// Parsing of what a user wrote into a debugfs file: the number (decimal,
// or hex after 0x), an optional '-' where signed values are allowed, and
// at most one trailing newline, as kstrtoull/kstrtoll take it.
struct Parsed {
  bool ok;
  bool negative;
  uint64_t value;
};

Parsed ParseNumber(const char* buf, size_t len, bool allow_sign) {
  Parsed p = {false, false, 0};
  if (len && buf[len - 1] == '\n')
    len--;
  size_t i = 0;
  if (allow_sign && i < len && buf[i] == '-') {
    p.negative = true;
    i++;
  }
  uint32_t base = 10;
  if (i + 1 < len && buf[i] == '0' && (buf[i + 1] == 'x' || buf[i + 1] == 'X')) {
    base = 16;
    i += 2;
  }
  if (i == len)
    return p;
  uint64_t v = 0;
  for (; i < len; i++) {
    const char c = buf[i];
    uint32_t d;
    if (c >= '0' && c <= '9')
      d = static_cast<uint32_t>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = static_cast<uint32_t>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = static_cast<uint32_t>(c - 'A' + 10);
    else
      return p;
    if (v > (~uint64_t{0} - d) / base)
      return p;  // overflow
    v = v * base + d;
  }
  p.ok = true;
  p.value = v;
  return p;
}

bool Equals(const char* buf, size_t len, const char* word) {
  size_t i = 0;
  for (; i < len; i++) {
    if (word[i] == '\0' || word[i] != buf[i])
      return false;
  }
  return word[i] == '\0';
}

// kstrtobool's words.
int ParseBool(const char* buf, size_t len) {
  if (len && buf[len - 1] == '\n')
    len--;
  static const char* const kTrue[] = {"1", "y", "Y", "on", "yes"};
  static const char* const kFalse[] = {"0", "n", "N", "off", "no"};
  for (const char* w : kTrue)
    if (Equals(buf, len, w))
      return 1;
  for (const char* w : kFalse)
    if (Equals(buf, len, w))
      return 0;
  return -1;
}

bool IsBoolParam(mmlab_fault_param p) {
  return p == MMLAB_FAULT_TASK_FILTER || p == MMLAB_FAULT_IGNORE_GFP_WAIT ||
         p == MMLAB_FAULT_CACHE_FILTER;
}

}  // namespace

void FaultAttr::Init(mmlab_fault_site site, uint32_t host_caps) {
  site_ = site;
  host_caps_ = host_caps;
  // fail_page_alloc's and failslab's defaults: spare what may sleep, and
  // single pages.
  ignore_gfp_wait_ = site == MMLAB_FAULT_BUDDY || site == MMLAB_FAULT_SLAB;
  min_order_ = site == MMLAB_FAULT_BUDDY ? 1 : 0;
  Rearm();
}

uint32_t FaultAttr::Draw(uint64_t seed, mmlab_fault_site site, uint64_t n) {
  const uint64_t x = Mix64(seed ^ Mix64((uint64_t{site} + 1) * kGolden) ^ ((n + 1) * kGolden));
  // get_random_u32_below(100)'s reduction: the high half of a 32x32 product.
  return static_cast<uint32_t>(((x >> 32) * 100) >> 32);
}

bool FaultAttr::ShouldFailSlow(int64_t size, uint32_t flags) {
  // The task's fail-nth countdown comes first and ignores every attribute
  // (should_fail_ex: "if (in_task()) ... fail_nth").
  if ((host_caps_ & MMLAB_HOST_FAIL_NTH) && mmlab_host_fail_nth(size))
    goto fail;

  // No need to check any other properties if the probability is 0.
  if (ReadOnce(probability_) == 0)
    return false;
  AtomicAdd(calls_, uint64_t{1});

  if (ReadOnce(task_filter_) && !((host_caps_ & MMLAB_HOST_FAIL_TASK) && mmlab_host_fail_task()))
    return false;

  if (ReadOnce(times_) == 0)
    return false;

  if (ReadOnce(space_) > size) {
    __atomic_fetch_sub(&space_, static_cast<int32_t>(size), __ATOMIC_RELAXED);
    return false;
  }

  if (const uint64_t interval = ReadOnce(interval_); interval > 1) {
    if (__atomic_add_fetch(&count_, 1, __ATOMIC_RELAXED) % interval)
      return false;
  }

  if (ReadOnce(probability_) <=
      Draw(ReadOnce(seed_), site_, __atomic_fetch_add(&draws_, 1, __ATOMIC_RELAXED)))
    return false;

fail:
  AtomicAdd(injected_, uint64_t{1});
  if (!(flags & kFaultNoWarn))
    FailDump();
  // atomic_dec_not_zero unless -1.
  int32_t times = ReadOnce(times_);
  while (times != -1 && times != 0 &&
         !__atomic_compare_exchange_n(&times_, &times, times - 1, true, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED)) {
  }
  return true;
}

// __ratelimit() without its lock: a window of interval_ms in which at most
// burst reports go out. Races only blur the window's edge.
bool FaultAttr::VerboseRatelimitOk() {
  const uint32_t interval_ms = ReadOnce(ratelimit_interval_ms_);
  if (interval_ms == 0)
    return true;
  const uint64_t now = mmlab_host_now_ns();
  uint64_t begin = ReadOnce(ratelimit_begin_ns_);
  if (begin == 0 || now - begin >= uint64_t{interval_ms} * 1000000) {
    if (__atomic_compare_exchange_n(&ratelimit_begin_ns_, &begin, now ? now : 1, false,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      WriteOnce(ratelimit_printed_, uint32_t{0});
  }
  return __atomic_fetch_add(&ratelimit_printed_, 1, __ATOMIC_RELAXED) < ReadOnce(ratelimit_burst_);
}

// fail_dump(): the kernel's two lines (it prints them with one printk), and
// the stack for verbose 2.
void FaultAttr::FailDump() {
  const uint32_t verbose = ReadOnce(verbose_);
  if (verbose == 0 || !VerboseRatelimitOk())
    return;
  Log(MMLAB_LOG_NOTICE, "FAULT_INJECTION: forcing a failure.");
  Log(MMLAB_LOG_NOTICE, "name %s, interval %lu, probability %lu, space %d, times %d",
      kSiteNames[site_], ReadOnce(interval_), ReadOnce(probability_), ReadOnce(space_),
      ReadOnce(times_));
  if (verbose > 1)
    mmlab_host_dump_stack();
}

size_t FaultAttr::Read(mmlab_fault_param param, char* buf, size_t cap) const {
  TextBuf out(buf, cap);
  switch (param) {
    case MMLAB_FAULT_PROBABILITY:
      out.Append("%lu\n", ReadOnce(probability_));
      break;
    case MMLAB_FAULT_INTERVAL:
      out.Append("%lu\n", ReadOnce(interval_));
      break;
    case MMLAB_FAULT_TIMES:
      out.Append("%d\n", ReadOnce(times_));
      break;
    case MMLAB_FAULT_SPACE:
      out.Append("%d\n", ReadOnce(space_));
      break;
    case MMLAB_FAULT_VERBOSE:
      out.Append("%u\n", ReadOnce(verbose_));
      break;
    case MMLAB_FAULT_VERBOSE_RATELIMIT_INTERVAL_MS:
      out.Append("%u\n", ReadOnce(ratelimit_interval_ms_));
      break;
    case MMLAB_FAULT_VERBOSE_RATELIMIT_BURST:
      out.Append("%u\n", ReadOnce(ratelimit_burst_));
      break;
    case MMLAB_FAULT_TASK_FILTER:
      out.Append("%c\n", ReadOnce(task_filter_) ? 'Y' : 'N');
      break;
    case MMLAB_FAULT_SEED:
      out.Append("%lu\n", ReadOnce(seed_));
      break;
    case MMLAB_FAULT_IGNORE_GFP_WAIT:
      out.Append("%c\n", ReadOnce(ignore_gfp_wait_) ? 'Y' : 'N');
      break;
    case MMLAB_FAULT_MIN_ORDER:
      out.Append("%u\n", ReadOnce(min_order_));
      break;
    case MMLAB_FAULT_CACHE_FILTER:
      out.Append("%c\n", ReadOnce(cache_filter_) ? 'Y' : 'N');
      break;
    case MMLAB_FAULT_CALLS:
      out.Append("%lu\n", ReadOnce(calls_));
      break;
    case MMLAB_FAULT_INJECTED:
      out.Append("%lu\n", ReadOnce(injected_));
      break;
    case MMLAB_FAULT_NR_PARAMS:
      break;
  }
  return out.len();
}

mmlab_status FaultAttr::Write(mmlab_fault_param param, const char* buf, size_t len,
                              TextBuf* why) {
  const char* site = kSiteNames[site_];
  const char* name = kParamNames[param];
  char quoted[48];
  TextBuf quote(quoted, sizeof(quoted));
  QuoteBytes(buf, len && buf[len - 1] == '\n' ? len - 1 : len, 24, &quote);

  if (IsBoolParam(param)) {
    const int b = ParseBool(buf, len);
    if (b < 0) {
      Report(why, MMLAB_LOG_WARN, "fail/%s/%s: '%s' is not a boolean (Y/N/1/0)", site, name,
             quoted);
      return MMLAB_EINVAL;
    }
    if (param == MMLAB_FAULT_TASK_FILTER) {
      if (b && !(host_caps_ & MMLAB_HOST_FAIL_TASK)) {
        Report(why, MMLAB_LOG_WARN,
               "fail/%s/task-filter: the kernel has no /proc/<pid>/make-it-fail "
               "(CONFIG_FAULT_INJECTION is off)",
               site);
        return MMLAB_EINVAL;
      }
      WriteOnce(task_filter_, b != 0);
    } else if (param == MMLAB_FAULT_CACHE_FILTER) {
      WriteOnce(cache_filter_, b != 0);
    } else {
      WriteOnce(ignore_gfp_wait_, b != 0);
    }
    return MMLAB_OK;
  }

  const Parsed p = ParseNumber(buf, len, param == MMLAB_FAULT_TIMES);
  if (!p.ok) {
    Report(why, MMLAB_LOG_WARN, "fail/%s/%s: '%s' is not a%s number", site, name, quoted,
           param == MMLAB_FAULT_TIMES ? " (signed)" : "n unsigned");
    return MMLAB_EINVAL;
  }
  // Range checks; the kernel takes anything, mmlab says what makes no sense.
  uint64_t max = ~uint64_t{0};
  switch (param) {
    case MMLAB_FAULT_PROBABILITY:
      max = 100;
      break;
    case MMLAB_FAULT_TIMES:
    case MMLAB_FAULT_SPACE:
      max = kInt32Max;
      break;
    case MMLAB_FAULT_VERBOSE:
      max = kVerboseMax;
      break;
    case MMLAB_FAULT_VERBOSE_RATELIMIT_INTERVAL_MS:
    case MMLAB_FAULT_VERBOSE_RATELIMIT_BURST:
      max = 0xffffffffu;
      break;
    case MMLAB_FAULT_MIN_ORDER:
      max = MMLAB_MAX_CHUNK_ORDER;
      break;
    default:
      break;
  }
  if (p.negative && !(param == MMLAB_FAULT_TIMES && p.value == 1)) {
    Report(why, MMLAB_LOG_WARN, "fail/%s/times: '%s' out of range: -1 (no limit) or 0..%d", site,
           quoted, kInt32Max);
    return MMLAB_EINVAL;
  }
  if (p.value > max) {
    Report(why, MMLAB_LOG_WARN, "fail/%s/%s: %s out of range 0..%lu", site, name, quoted, max);
    return MMLAB_EINVAL;
  }
  switch (param) {
    case MMLAB_FAULT_PROBABILITY:
      WriteOnce(probability_, p.value);
      Rearm();
      break;
    case MMLAB_FAULT_INTERVAL:
      WriteOnce(interval_, p.value);
      break;
    case MMLAB_FAULT_TIMES:
      WriteOnce(times_, p.negative ? -1 : static_cast<int32_t>(p.value));
      break;
    case MMLAB_FAULT_SPACE:
      WriteOnce(space_, static_cast<int32_t>(p.value));
      break;
    case MMLAB_FAULT_VERBOSE:
      WriteOnce(verbose_, static_cast<uint32_t>(p.value));
      break;
    case MMLAB_FAULT_VERBOSE_RATELIMIT_INTERVAL_MS:
      WriteOnce(ratelimit_interval_ms_, static_cast<uint32_t>(p.value));
      WriteOnce(ratelimit_begin_ns_, uint64_t{0});
      break;
    case MMLAB_FAULT_VERBOSE_RATELIMIT_BURST:
      WriteOnce(ratelimit_burst_, static_cast<uint32_t>(p.value));
      break;
    case MMLAB_FAULT_SEED:
      // A new sequence: the same seed replays the same draws from here,
      // and the interval counts from zero again.
      WriteOnce(seed_, p.value);
      WriteOnce(draws_, uint64_t{0});
      WriteOnce(count_, uint64_t{0});
      break;
    case MMLAB_FAULT_MIN_ORDER:
      WriteOnce(min_order_, static_cast<uint32_t>(p.value));
      break;
    default:
      return MMLAB_EINVAL;  // read-only: refused by the caller already
  }
  return MMLAB_OK;
}

void FaultSet::Init(uint32_t host_caps) {
  for (uint32_t i = 0; i < MMLAB_FAULT_NR_SITES; i++)
    sites_[i].Init(static_cast<mmlab_fault_site>(i), host_caps);
}

bool FaultSet::ShouldFailGfp(FaultAttr& a, mmlab_gfp_t gfp, uint32_t order, int64_t size,
                             uint32_t cache_flags) {
  if (order < a.min_order())
    return false;
  if (gfp & MMLAB___GFP_NOFAIL)
    return false;
  if (a.ignore_gfp_wait() && (gfp & MMLAB___GFP_DIRECT_RECLAIM))
    return false;
  if (a.cache_filter() && !(cache_flags & MMLAB_SLAB_FAILSLAB))
    return false;
  // "In some cases, it expects to specify __GFP_NOWARN to avoid printing
  // any information" (failslab): NOWARN silences the report too.
  return a.ShouldFail(size, (gfp & MMLAB___GFP_NOWARN) ? kFaultNoWarn : 0);
}

}  // namespace mmlab

using mmlab::Core;
using mmlab::FaultAttr;

extern "C" {

const char* mmlab_core_fault_site_name(enum mmlab_fault_site site) {
  return site < MMLAB_FAULT_NR_SITES ? mmlab::kSiteNames[site] : nullptr;
}

const char* mmlab_core_fault_param_name(enum mmlab_fault_param param) {
  return param < MMLAB_FAULT_NR_PARAMS ? mmlab::kParamNames[param] : nullptr;
}

unsigned int mmlab_core_fault_param_mode(enum mmlab_fault_site site,
                                         enum mmlab_fault_param param) {
  if (site >= MMLAB_FAULT_NR_SITES || param >= MMLAB_FAULT_NR_PARAMS)
    return 0;
  switch (param) {
    case MMLAB_FAULT_IGNORE_GFP_WAIT:
      return site == MMLAB_FAULT_BUDDY || site == MMLAB_FAULT_SLAB ? 0600 : 0;
    case MMLAB_FAULT_MIN_ORDER:
      return site == MMLAB_FAULT_BUDDY ? 0600 : 0;
    case MMLAB_FAULT_CACHE_FILTER:
      return site == MMLAB_FAULT_SLAB ? 0600 : 0;
    case MMLAB_FAULT_CALLS:
    case MMLAB_FAULT_INJECTED:
      return 0400;
    default:
      return 0600;
  }
}

size_t mmlab_core_fault_read(struct mmlab_core* core, enum mmlab_fault_site site,
                             enum mmlab_fault_param param, char* buf, size_t cap) {
  if (!MMLAB_ASSERT(core) || !mmlab_core_fault_param_mode(site, param)) {
    if (cap)
      buf[0] = '\0';
    return 0;
  }
  return Core::From(core)->fault().site(site).Read(param, buf, cap);
}

enum mmlab_status mmlab_core_fault_write(struct mmlab_core* core, enum mmlab_fault_site site,
                                         enum mmlab_fault_param param, const char* buf,
                                         size_t len, char* why, size_t why_cap) {
  mmlab::TextBuf reason(why, why_cap);
  if (!MMLAB_ASSERT(core))
    return MMLAB_EINVAL;
  const unsigned int mode = mmlab_core_fault_param_mode(site, param);
  if (mode != 0600) {
    mmlab::Report(&reason, MMLAB_LOG_WARN, "fail: %s/%s is %s", mmlab_core_fault_site_name(site)
                  ? mmlab_core_fault_site_name(site) : "?",
                  mmlab_core_fault_param_name(param) ? mmlab_core_fault_param_name(param) : "?",
                  mode ? "read-only" : "not a file of this site");
    return MMLAB_EINVAL;
  }
  if (!buf)
    len = 0;
  return Core::From(core)->fault().site(site).Write(param, buf ? buf : "", len, &reason);
}

}  // extern "C"
