// SPDX-License-Identifier: GPL-2.0
//
// replay.cc - allocation traces: the parser of the text format, the
// bundled workload generator, the replay through a fresh core and its
// result line and report. See replay.h and docs/replay.md.
//
// A trace is an array of struct mmlab_replay_op in which objects and
// page blocks are named by dense slots (0..nr_slots-1, a slot reused only
// after its free) and caches by index (0..nr_caches-1, never reused), so
// a replayer needs nothing but two arrays. The parser maps the text's
// ids to slots; the generator hands out slots directly, with the same
// slot allocator, so a generated trace rendered and parsed back gives the
// same ops.
#include "replay.h"

#include "alloc_trace.h"
#include "command_parse.h"
#include "format.h"
#include "gfp.h"
#include "log.h"

namespace mmlab {

namespace {

constexpr size_t kNameMax = 64;

// A meta-allocated growable array of trivially copyable T (zeroed).
template <typename T>
struct Vec {
  T* data = nullptr;
  size_t n = 0;
  size_t cap = 0;

  bool Reserve(size_t want) {
    if (want <= cap)
      return true;
    size_t ncap = cap ? cap : 64;
    while (ncap < want)
      ncap *= 2;
    T* fresh = static_cast<T*>(mmlab_host_meta_alloc(ncap * sizeof(T), 1));
    if (!fresh)
      return false;
    for (size_t i = 0; i < n; i++)
      fresh[i] = data[i];
    Free();
    data = fresh;
    cap = ncap;
    return true;
  }
  bool Push(const T& v) {
    if (n == cap && !Reserve(n + 1))
      return false;
    data[n++] = v;
    return true;
  }
  void Free() {
    if (data)
      mmlab_host_meta_free(data, cap * sizeof(T));
    data = nullptr;
    cap = 0;
  }
};

// Dense slots: the most recently freed slot is reused first.
struct SlotAllocator {
  Vec<uint32_t> free_slots;
  uint32_t next = 0;

  bool Get(uint32_t* slot) {
    if (free_slots.n) {
      *slot = free_slots.data[--free_slots.n];
      return true;
    }
    if (next >= MMLAB_REPLAY_MAX_SLOTS)
      return false;
    *slot = next++;
    return true;
  }
  bool Put(uint32_t slot) { return free_slots.Push(slot); }
  void Free() { free_slots.Free(); }
};

// splitmix64: the generator's only source of randomness.
struct Rng {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n >= 1 (the tiny modulo bias does not matter here).
  uint64_t Below(uint64_t n) { return Next() % n; }
  bool Percent(uint32_t p) { return Below(100) < p; }
};

void SetWhy(char* why, size_t cap, const char* fmt, ...) MMLAB_PRINTF(3, 4);
void SetWhy(char* why, size_t cap, const char* fmt, ...) {
  if (!why || !cap)
    return;
  TextBuf text(why, cap);
  __builtin_va_list args;
  __builtin_va_start(args, fmt);
  text.VAppend(fmt, args);
  __builtin_va_end(args);
}

const char* const kOpNames[MMLAB_REPLAY_NR_OPCODES] = {
    "kmalloc", "kfree", "cache_create", "cache_destroy",
    "cache_alloc", "cache_free", "alloc_pages", "free_pages"};

}  // namespace

struct ReplayTrace {
  Vec<mmlab_replay_op> ops;
  Vec<mmlab_replay_cache_info> caches;
  SlotAllocator slots;
  uint64_t skipped = 0;
  char name[kNameMax] = "trace";

  void Free() {
    ops.Free();
    caches.Free();
    slots.Free();
  }
};

namespace {

ReplayTrace* NewTrace() { return MetaNew<ReplayTrace>(); }

void DeleteTrace(ReplayTrace* t) {
  if (!t)
    return;
  t->Free();
  MetaDelete(t);
}

void CopyName(char* dst, size_t cap, const char* src, size_t len) {
  size_t i = 0;
  for (; i + 1 < cap && i < len && src[i]; i++) {
    const char c = src[i];
    dst[i] = (c <= ' ' || c == '=' || c > '~') ? '_' : c;
  }
  dst[i] = '\0';
}

// --- the parser ---------------------------------------------------------------

// What an id names while it is live.
struct IdEntry {
  uint64_t id;
  uint32_t slot;
  uint32_t cache;    // cache ops
  uint32_t line;     // where it was allocated
  uint32_t size;     // what it asked for (kmalloc) or its cache's object size
  uint8_t used;
  uint8_t op;        // the alloc opcode
  uint8_t order;
  uint8_t pad;
};

// Open addressing with linear probing and backward-shift deletion.
struct IdTable {
  IdEntry* e = nullptr;
  size_t cap = 0;  // power of two
  size_t n = 0;

  static size_t Hash(uint64_t id) {
    uint64_t x = id * 0x9e3779b97f4a7c15ull;
    return static_cast<size_t>(x ^ (x >> 29));
  }
  IdEntry* Find(uint64_t id) {
    if (!cap)
      return nullptr;
    for (size_t i = Hash(id) & (cap - 1);; i = (i + 1) & (cap - 1)) {
      if (!e[i].used)
        return nullptr;
      if (e[i].id == id)
        return &e[i];
    }
  }
  bool Grow() {
    size_t ncap = cap ? cap * 2 : 1024;
    IdEntry* fresh = static_cast<IdEntry*>(mmlab_host_meta_alloc(ncap * sizeof(IdEntry), 1));
    if (!fresh)
      return false;
    IdEntry* old = e;
    size_t old_cap = cap;
    e = fresh;
    cap = ncap;
    n = 0;
    for (size_t i = 0; i < old_cap; i++)
      if (old[i].used)
        Insert(old[i]);
    if (old)
      mmlab_host_meta_free(old, old_cap * sizeof(IdEntry));
    return true;
  }
  // The id must not be present.
  bool Insert(const IdEntry& v) {
    if ((n + 1) * 2 > cap && !Grow())
      return false;
    size_t i = Hash(v.id) & (cap - 1);
    while (e[i].used)
      i = (i + 1) & (cap - 1);
    e[i] = v;
    e[i].used = 1;
    n++;
    return true;
  }
  void Remove(IdEntry* victim) {
    size_t i = static_cast<size_t>(victim - e);
    e[i].used = 0;
    n--;
    // Backward shift: move later entries of the run into the hole.
    for (size_t j = (i + 1) & (cap - 1); e[j].used; j = (j + 1) & (cap - 1)) {
      size_t home = Hash(e[j].id) & (cap - 1);
      // Can e[j] move to i? Only if i lies cyclically in [home, j).
      bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
      if (movable) {
        e[i] = e[j];
        e[j].used = 0;
        i = j;
      }
    }
  }
  void Free() {
    if (e)
      mmlab_host_meta_free(e, cap * sizeof(IdEntry));
    e = nullptr;
    cap = n = 0;
  }
};

struct Token {
  const char* s;
  size_t len;
};

// Up to 40 bytes of untrusted input, printable, for a reason text.
struct Shown {
  char s[48];
};
Shown Show(const char* p, size_t len) {
  Shown out;
  size_t i = 0;
  for (; i < len && i < 40; i++)
    out.s[i] = (p[i] < ' ' || p[i] > '~') ? '?' : p[i];
  if (i < len)
    out.s[i++] = '.', out.s[i++] = '.', out.s[i++] = '.';
  out.s[i] = '\0';
  return out;
}

bool TokenIs(const Token& t, const char* lit) {
  size_t i = 0;
  for (; i < t.len; i++)
    if (lit[i] != t.s[i])
      return false;
  return lit[i] == '\0';
}

// A number as the control file takes them (command.cc): decimal, or hex
// after 0x; false on anything else or on overflow.
bool ParseU64(const char* s, size_t len, uint64_t* out) {
  return mmlab::ParseU64(Slice{s, len}, out) == NumError::kOk;
}

// An id: up to 16 hex digits (an optional 0x is allowed), parsed as the
// control file's 0x-hex numbers.
bool ParseId(const char* s, size_t len, uint64_t* out) {
  if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s += 2;
    len -= 2;
  }
  if (!len || len > 16)
    return false;
  char hex[2 + 16] = {'0', 'x'};
  __builtin_memcpy(hex + 2, s, len);
  return ParseU64(hex, 2 + len, out);
}

// "GFP_KERNEL|__GFP_ZERO", "0", "0x10", or names and hex mixed.
bool ParseGfp(const char* s, size_t len, mmlab_gfp_t* out) {
  mmlab_gfp_t gfp = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && s[i] != '|')
      continue;
    const char* part = s + start;
    const size_t plen = i - start;
    uint64_t v;
    mmlab_gfp_t mask;
    if (ParseU64(part, plen, &v) && v <= MMLAB___GFP_ALL)
      gfp |= static_cast<mmlab_gfp_t>(v);
    else if (GfpLookup(part, plen, &mask))
      gfp |= mask;
    else
      return false;
    start = i + 1;
  }
  *out = gfp;
  return true;
}

enum Key : uint32_t {
  kKeyId = 1u << 0,
  kKeyCache = 1u << 1,
  kKeyName = 1u << 2,
  kKeySize = 1u << 3,
  kKeyAlign = 1u << 4,
  kKeyFlags = 1u << 5,
  kKeyCtor = 1u << 6,
  kKeyGfp = 1u << 7,
  kKeyOrder = 1u << 8,
  kKeyCaller = 1u << 9,
};

struct KeyName {
  const char* name;
  Key key;
};
const KeyName kKeys[] = {{"id", kKeyId},       {"cache", kKeyCache}, {"name", kKeyName},
                         {"size", kKeySize},   {"align", kKeyAlign}, {"flags", kKeyFlags},
                         {"ctor", kKeyCtor},   {"gfp", kKeyGfp},     {"order", kKeyOrder},
                         {"caller", kKeyCaller}};

struct OpKeys {
  uint32_t allowed;
  uint32_t required;
};
const OpKeys kOpKeys[MMLAB_REPLAY_NR_OPCODES] = {
    /* kmalloc */ {kKeyId | kKeySize | kKeyGfp | kKeyCaller, kKeyId | kKeySize},
    /* kfree */ {kKeyId | kKeyCaller, kKeyId},
    /* cache_create */
    {kKeyCache | kKeyName | kKeySize | kKeyAlign | kKeyFlags | kKeyCtor, kKeyCache | kKeySize},
    /* cache_destroy */ {kKeyCache, kKeyCache},
    /* cache_alloc */ {kKeyCache | kKeyId | kKeySize | kKeyGfp | kKeyCaller, kKeyCache | kKeyId},
    /* cache_free */ {kKeyCache | kKeyId | kKeyCaller, kKeyCache | kKeyId},
    /* alloc_pages */ {kKeyId | kKeyOrder | kKeyGfp | kKeyCaller, kKeyId | kKeyOrder},
    /* free_pages */ {kKeyId | kKeyOrder | kKeyCaller, kKeyId},
};

// Entries in slot order (heapsort: no recursion, no allocation).
void SortBySlot(IdEntry* a, size_t n) {
  auto sift = [a](size_t root, size_t end) {
    for (;;) {
      size_t child = 2 * root + 1;
      if (child >= end)
        return;
      if (child + 1 < end && a[child].slot < a[child + 1].slot)
        child++;
      if (a[root].slot >= a[child].slot)
        return;
      const IdEntry tmp = a[root];
      a[root] = a[child];
      a[child] = tmp;
      root = child;
    }
  };
  for (size_t i = n / 2; i-- > 0;)
    sift(i, n);
  for (size_t end = n; end > 1; end--) {
    const IdEntry tmp = a[0];
    a[0] = a[end - 1];
    a[end - 1] = tmp;
    sift(0, end - 1);
  }
}

struct Parser {
  ReplayTrace* t;
  IdTable ids;
  IdTable cache_ids;  // live caches: id -> index (in .slot)
  uint32_t line = 0;
  char* why;
  size_t why_cap;

  bool Fail(const char* fmt, ...) MMLAB_PRINTF(2, 3) {
    if (why && why_cap) {
      TextBuf text(why, why_cap);
      text.Append("line %u: ", line);
      __builtin_va_list args;
      __builtin_va_start(args, fmt);
      text.VAppend(fmt, args);
      __builtin_va_end(args);
    }
    return false;
  }

  bool AddOp(const mmlab_replay_op& op) {
    if (t->ops.n >= MMLAB_REPLAY_MAX_OPS)
      return Fail("more than %u ops", MMLAB_REPLAY_MAX_OPS);
    if (!t->ops.Push(op))
      return Fail("out of memory");
    return true;
  }

  IdEntry* FindCache(uint64_t id) { return cache_ids.Find(id); }

  bool NewCache(uint64_t id, const char* name, size_t name_len, uint32_t size, uint32_t align,
                uint32_t flags, uint32_t ctor, uint32_t* index) {
    if (t->caches.n >= MMLAB_REPLAY_MAX_CACHES)
      return Fail("more than %u caches", MMLAB_REPLAY_MAX_CACHES);
    mmlab_replay_cache_info info = {};
    if (name_len)
      CopyName(info.name, sizeof(info.name), name, name_len);
    else
      TextBuf(info.name, sizeof(info.name)).Append("cache-%lu", static_cast<uint64_t>(t->caches.n));
    info.size = size;
    info.align = align;
    info.flags = flags;
    info.ctor = ctor;
    *index = static_cast<uint32_t>(t->caches.n);
    if (!t->caches.Push(info))
      return Fail("out of memory");
    if (IdEntry* lc = FindCache(id)) {
      lc->slot = *index;  // the address was reused after a destroy we never saw
      return true;
    }
    IdEntry e = {};
    e.id = id;
    e.slot = *index;
    if (!cache_ids.Insert(e))
      return Fail("out of memory");
    return true;
  }

  bool Alloc(uint32_t opcode, uint64_t id, mmlab_replay_op* op) {
    if (IdEntry* old = ids.Find(id)) {
      // Still live: its free was lost to a full ring. The old slot is
      // simply left to the end of the run.
      ids.Remove(old);
      t->skipped++;
    }
    uint32_t slot;
    if (!t->slots.Get(&slot))
      return Fail("more than %u objects live at once", MMLAB_REPLAY_MAX_SLOTS);
    op->slot = slot;
    IdEntry e = {};
    e.id = id;
    e.slot = slot;
    e.cache = op->cache;
    e.line = line;
    e.size = op->size;
    e.op = static_cast<uint8_t>(opcode);
    e.order = static_cast<uint8_t>(op->order);
    if (!ids.Insert(e))
      return Fail("out of memory");
    return AddOp(*op);
  }

  // The free of an id: its slot, or skipped (a free whose alloc the ring lost).
  bool Free(uint32_t opcode, uint32_t alloc_op, uint64_t id, bool order_given,
            mmlab_replay_op* op) {
    IdEntry* e = ids.Find(id);
    if (!e) {
      t->skipped++;
      return true;
    }
    if (e->op != alloc_op)
      return Fail("%s of id %lx that line %u allocated with %s", kOpNames[opcode], id, e->line,
                  kOpNames[e->op]);
    if (opcode == MMLAB_REPLAY_CACHE_FREE && e->cache != op->cache)
      return Fail("cache_free of id %lx into another cache than line %u allocated it from", id,
                  e->line);
    if (opcode == MMLAB_REPLAY_FREE_PAGES) {
      if (order_given && op->order != e->order)
        return Fail("free_pages of id %lx with order %u, allocated with order %u at line %u", id,
                    op->order, e->order, e->line);
      op->order = e->order;
    }
    op->slot = e->slot;
    op->cache = e->cache;
    op->size = e->size;
    op->gfp = 0;
    if (!t->slots.Put(e->slot))
      return Fail("out of memory");
    ids.Remove(e);
    return AddOp(*op);
  }

  // Frees the live objects of cache index, lowest slot first: one walk of
  // the table, then the frees (which reshuffle it).
  bool FreeCacheObjects(uint32_t index) {
    Vec<IdEntry> victims;
    for (size_t i = 0; i < ids.cap; i++)
      if (ids.e[i].used && ids.e[i].op == MMLAB_REPLAY_CACHE_ALLOC && ids.e[i].cache == index &&
          !victims.Push(ids.e[i])) {
        victims.Free();
        return Fail("out of memory");
      }
    SortBySlot(victims.data, victims.n);
    bool ok = true;
    for (size_t i = 0; ok && i < victims.n; i++) {
      mmlab_replay_op op = {};
      op.op = MMLAB_REPLAY_CACHE_FREE;
      op.cache = index;
      ok = Free(MMLAB_REPLAY_CACHE_FREE, MMLAB_REPLAY_CACHE_ALLOC, victims.data[i].id, false, &op);
    }
    victims.Free();
    return ok;
  }

  bool Line(const char* s, size_t len) {
    Token tok[16];
    size_t nt = 0;
    for (size_t i = 0; i < len;) {
      while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
        i++;
      if (i >= len)
        break;
      size_t start = i;
      while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
        i++;
      if (nt == ArraySize(tok))
        return Fail("too many fields");
      tok[nt++] = {s + start, i - start};
    }
    if (nt == 0 || tok[0].s[0] == '#')
      return true;
    if (nt < 3)
      return Fail("expected 'cpu time_ns op key=value...'");
    uint64_t cpu, time;
    if (!ParseU64(tok[0].s, tok[0].len, &cpu) || cpu > 0xffffffffu)
      return Fail("bad cpu '%s'", Show(tok[0].s, tok[0].len).s);
    if (!ParseU64(tok[1].s, tok[1].len, &time))
      return Fail("bad time '%s'", Show(tok[1].s, tok[1].len).s);
    uint32_t opcode = MMLAB_REPLAY_NR_OPCODES;
    for (uint32_t i = 0; i < MMLAB_REPLAY_NR_OPCODES; i++)
      if (TokenIs(tok[2], kOpNames[i]))
        opcode = i;
    if (opcode == MMLAB_REPLAY_NR_OPCODES)
      return Fail("unknown op '%s'", Show(tok[2].s, tok[2].len).s);

    uint32_t seen = 0;
    uint64_t id = 0, cache_id = 0, size = 0, align = 0, flags = 0, ctor = 0, order = 0;
    mmlab_gfp_t gfp = MMLAB_GFP_KERNEL;
    Token name = {"", 0};
    for (size_t i = 3; i < nt; i++) {
      const Token& kv = tok[i];
      size_t eq = 0;
      while (eq < kv.len && kv.s[eq] != '=')
        eq++;
      if (eq == kv.len || eq == 0)
        return Fail("expected key=value, got '%s'", Show(kv.s, kv.len).s);
      const Token key = {kv.s, eq};
      const char* v = kv.s + eq + 1;
      const size_t vlen = kv.len - eq - 1;
      Key k = static_cast<Key>(0);
      for (const KeyName& kn : kKeys)
        if (TokenIs(key, kn.name))
          k = kn.key;
      if (!k || !(kOpKeys[opcode].allowed & k))
        return Fail("unknown key '%s' for %s", Show(kv.s, eq).s,
                    kOpNames[opcode]);
      if (seen & k)
        return Fail("key '%s' given twice", Show(kv.s, eq).s);
      seen |= k;
      bool ok = true;
      switch (k) {
        case kKeyId:
          ok = ParseId(v, vlen, &id);
          break;
        case kKeyCache:
          ok = ParseId(v, vlen, &cache_id);
          break;
        case kKeyName:
          ok = vlen > 0 && vlen < MMLAB_KMEM_CACHE_NAME_MAX;
          name = {v, vlen};
          break;
        case kKeySize:
          ok = ParseU64(v, vlen, &size) && size >= 1 &&
               size <= (opcode == MMLAB_REPLAY_KMALLOC ? MMLAB_REPLAY_MAX_KMALLOC
                                                       : 2 * MMLAB_KMALLOC_MAX_CACHE_SIZE);
          break;
        case kKeyAlign:
          ok = ParseU64(v, vlen, &align) && (align & (align - 1)) == 0 && align <= MMLAB_PAGE_SIZE;
          break;
        case kKeyFlags:
          ok = ParseU64(v, vlen, &flags) && (flags & ~uint64_t{MMLAB_SLAB_FLAGS_VALID}) == 0;
          break;
        case kKeyCtor:
          ok = ParseU64(v, vlen, &ctor) && ctor <= 1;
          break;
        case kKeyGfp:
          ok = ParseGfp(v, vlen, &gfp);
          break;
        case kKeyOrder:
          ok = ParseU64(v, vlen, &order) && order <= MMLAB_MAX_CHUNK_ORDER;
          break;
        case kKeyCaller:
          break;  // informative only
      }
      if (!ok)
        return Fail("bad value in '%s'", Show(kv.s, kv.len).s);
    }
    if ((seen & kOpKeys[opcode].required) != kOpKeys[opcode].required) {
      for (const KeyName& kn : kKeys)
        if ((kOpKeys[opcode].required & kn.key) && !(seen & kn.key))
          return Fail("%s needs %s=", kOpNames[opcode], kn.name);
    }

    mmlab_replay_op op = {};
    op.op = opcode;
    op.gfp = gfp;
    op.order = static_cast<uint32_t>(order);
    op.size = static_cast<uint32_t>(size);
    switch (opcode) {
      case MMLAB_REPLAY_KMALLOC:
        return Alloc(opcode, id, &op);
      case MMLAB_REPLAY_KFREE:
        return Free(opcode, MMLAB_REPLAY_KMALLOC, id, false, &op);
      case MMLAB_REPLAY_ALLOC_PAGES:
        return Alloc(opcode, id, &op);
      case MMLAB_REPLAY_FREE_PAGES:
        return Free(opcode, MMLAB_REPLAY_ALLOC_PAGES, id, (seen & kKeyOrder) != 0, &op);
      case MMLAB_REPLAY_CACHE_CREATE: {
        uint32_t index;
        if (!NewCache(cache_id, name.s, name.len, op.size, static_cast<uint32_t>(align),
                      static_cast<uint32_t>(flags), static_cast<uint32_t>(ctor), &index))
          return false;
        const mmlab_replay_cache_info& info = t->caches.data[index];
        op.cache = index;
        op.align = info.align;
        op.flags = info.flags;
        op.gfp = 0;
        return AddOp(op);
      }
      case MMLAB_REPLAY_CACHE_DESTROY: {
        IdEntry* lc = FindCache(cache_id);
        if (!lc) {
          t->skipped++;
          return true;
        }
        const uint32_t index = lc->slot;
        cache_ids.Remove(lc);
        if (!FreeCacheObjects(index))
          return false;
        op.cache = index;
        op.gfp = 0;
        return AddOp(op);
      }
      case MMLAB_REPLAY_CACHE_ALLOC: {
        IdEntry* lc = FindCache(cache_id);
        uint32_t index;
        if (lc) {
          index = lc->slot;
        } else {
          // Its cache_create was lost to a full ring: made here, with the
          // object size the event carries.
          if (!(seen & kKeySize))
            return Fail("cache_alloc from cache %lx, never created, needs size=", cache_id);
          mmlab_replay_op create = {};
          create.op = MMLAB_REPLAY_CACHE_CREATE;
          create.size = op.size;
          if (!NewCache(cache_id, "", 0, op.size, 0, 0, 0, &index))
            return false;
          create.cache = index;
          if (!AddOp(create))
            return false;
        }
        op.cache = index;
        op.size = t->caches.data[index].size;
        return Alloc(opcode, id, &op);
      }
      case MMLAB_REPLAY_CACHE_FREE: {
        IdEntry* lc = FindCache(cache_id);
        if (!lc) {
          t->skipped++;
          return true;
        }
        op.cache = lc->slot;
        op.size = t->caches.data[lc->slot].size;
        return Free(opcode, MMLAB_REPLAY_CACHE_ALLOC, id, false, &op);
      }
    }
    return Fail("internal: op %u", opcode);
  }

  void Free() {
    ids.Free();
    cache_ids.Free();
  }
};

// --- the generator ----------------------------------------------------------

struct Live {
  uint32_t slot;
  uint32_t op;     // the alloc opcode
  uint32_t cache;  // cache_alloc
  uint32_t order;  // alloc_pages
  uint32_t size;
  uint32_t kind;   // the workload's own tag (e.g. long-lived)
};

struct Builder {
  ReplayTrace* t;
  uint64_t limit;  // ops to make
  Vec<Live> live;
  bool oom = false;

  bool Full() const { return oom || t->ops.n >= limit; }

  void Add(const mmlab_replay_op& op) {
    if (Full())
      return;
    if (!t->ops.Push(op))
      oom = true;
  }
  uint32_t Cache(const char* name, uint32_t size, uint32_t align, uint32_t flags, bool ctor) {
    mmlab_replay_cache_info info = {};
    CopyName(info.name, sizeof(info.name), name, MMLAB_KMEM_CACHE_NAME_MAX);
    info.size = size;
    info.align = align;
    info.flags = flags;
    info.ctor = ctor ? 1 : 0;
    uint32_t index = static_cast<uint32_t>(t->caches.n);
    if (Full() || t->caches.n >= MMLAB_REPLAY_MAX_CACHES || !t->caches.Push(info)) {
      oom = oom || !Full();
      return 0;
    }
    mmlab_replay_op op = {};
    op.op = MMLAB_REPLAY_CACHE_CREATE;
    op.cache = index;
    op.size = size;
    op.align = align;
    op.flags = flags;
    Add(op);
    return index;
  }
  bool NewLive(uint32_t opcode, uint32_t cache, uint32_t order, uint32_t size, mmlab_gfp_t gfp,
               uint32_t kind) {
    if (Full())
      return false;
    uint32_t slot;
    if (!t->slots.Get(&slot)) {
      oom = true;
      return false;
    }
    mmlab_replay_op op = {};
    op.op = opcode;
    op.cache = cache;
    op.order = order;
    op.size = size;
    op.gfp = gfp;
    op.slot = slot;
    Add(op);
    if (!live.Push({slot, opcode, cache, order, size, kind}))
      oom = true;
    return true;
  }
  bool Kmalloc(uint32_t size, mmlab_gfp_t gfp, uint32_t kind = 0) {
    return NewLive(MMLAB_REPLAY_KMALLOC, 0, 0, size, gfp, kind);
  }
  bool CacheAlloc(uint32_t cache, mmlab_gfp_t gfp, uint32_t kind = 0) {
    return NewLive(MMLAB_REPLAY_CACHE_ALLOC, cache, 0, t->caches.data[cache].size, gfp, kind);
  }
  bool Pages(uint32_t order, mmlab_gfp_t gfp, uint32_t kind = 0) {
    return NewLive(MMLAB_REPLAY_ALLOC_PAGES, 0, order, 0, gfp, kind);
  }
  // Frees live[i] (moves the last entry into its place).
  void FreeAt(size_t i) {
    if (Full() || i >= live.n)
      return;
    FreeEntry(live.data[i]);
    live.data[i] = live.data[--live.n];
  }
  // The free of l, which the caller has taken out of live.
  void FreeEntry(const Live& l) {
    if (Full())
      return;
    mmlab_replay_op op = {};
    op.op = l.op == MMLAB_REPLAY_KMALLOC       ? MMLAB_REPLAY_KFREE
            : l.op == MMLAB_REPLAY_CACHE_ALLOC ? MMLAB_REPLAY_CACHE_FREE
                                               : MMLAB_REPLAY_FREE_PAGES;
    op.cache = l.cache;
    op.order = l.order;
    op.size = l.size;
    op.slot = l.slot;
    Add(op);
    if (!t->slots.Put(l.slot))
      oom = true;
  }
  // Frees every live object of a cache (lowest slot first, as the parser
  // does), then destroys it.
  void DestroyCache(uint32_t cache) {
    for (;;) {
      size_t best = live.n;
      for (size_t i = 0; i < live.n; i++)
        if (live.data[i].op == MMLAB_REPLAY_CACHE_ALLOC && live.data[i].cache == cache &&
            (best == live.n || live.data[i].slot < live.data[best].slot))
          best = i;
      if (best == live.n || Full())
        break;
      FreeAt(best);
    }
    mmlab_replay_op op = {};
    op.op = MMLAB_REPLAY_CACHE_DESTROY;
    op.cache = cache;
    Add(op);
  }
  void Free() { live.Free(); }
};

// Sizes as kernel kmalloc callers ask for them: mostly small, a tail of
// page-sized and larger buffers (the shape /proc/slabinfo's kmalloc-*
// lines show on a desktop: kmalloc-8..256 hold most objects).
uint32_t KmallocSize(Rng& r) {
  const uint32_t p = static_cast<uint32_t>(r.Below(1000));
  if (p < 300)
    return 8 + static_cast<uint32_t>(r.Below(57));  // 8..64
  if (p < 600)
    return 65 + static_cast<uint32_t>(r.Below(192));  // 65..256
  if (p < 800)
    return 257 + static_cast<uint32_t>(r.Below(768));  // 257..1024
  if (p < 950)
    return 1025 + static_cast<uint32_t>(r.Below(3072));  // 1025..4096
  if (p < 990)
    return 4097 + static_cast<uint32_t>(r.Below(4096));  // 4097..8192
  return 8193 + static_cast<uint32_t>(r.Below(24576));  // large kmalloc: pages
}

mmlab_gfp_t SomeGfp(Rng& r) { return r.Percent(10) ? MMLAB_GFP_ATOMIC : MMLAB_GFP_KERNEL; }

// Keep about `target` objects live: allocate while below, free a random
// one above, with some noise so the count wanders.
bool WantAlloc(Rng& r, size_t live, size_t target) {
  if (live == 0)
    return true;
  return r.Below(2 * target) >= live;
}

void GenKmallocMix(Builder& b, Rng& r) {
  const size_t target = 1500;
  while (!b.Full()) {
    if (WantAlloc(r, b.live.n, target))
      b.Kmalloc(KmallocSize(r), SomeGfp(r));
    else
      b.FreeAt(r.Below(b.live.n));
  }
}

void GenCacheChurn(Builder& b, Rng& r) {
  // Odd sizes that fit slabs badly, some cache-line aligned.
  static const struct {
    const char* name;
    uint32_t size;
    uint32_t flags;
  } kCaches[] = {{"churn_24", 24, 0},
                 {"churn_72", 72, MMLAB_SLAB_HWCACHE_ALIGN},
                 {"churn_136", 136, 0},
                 {"churn_200", 200, MMLAB_SLAB_HWCACHE_ALIGN},
                 {"churn_456", 456, 0},
                 {"churn_968", 968, 0}};
  constexpr uint32_t kN = ArraySize(kCaches);
  uint32_t cache[kN];
  for (uint32_t i = 0; i < kN; i++)
    cache[i] = b.Cache(kCaches[i].name, kCaches[i].size, 8, kCaches[i].flags, false);
  const size_t target = 2000;
  uint64_t step = 0;
  while (!b.Full()) {
    step++;
    // Now and then one cache goes away with its objects and comes back.
    if (step % 2500 == 0) {
      const uint32_t i = static_cast<uint32_t>(r.Below(kN));
      b.DestroyCache(cache[i]);
      cache[i] = b.Cache(kCaches[i].name, kCaches[i].size, 8, kCaches[i].flags, false);
      continue;
    }
    if (WantAlloc(r, b.live.n, target)) {
      // Small caches are busier; 1 in 5 objects is long-lived (kind 1).
      const uint32_t i = static_cast<uint32_t>(r.Below(kN * (kN + 1) / 2));
      uint32_t which = 0;
      for (uint32_t acc = kN; i >= acc && which + 1 < kN; acc += kN - which - 1)
        which++;
      b.CacheAlloc(cache[which], MMLAB_GFP_KERNEL, r.Percent(20) ? 1 : 0);
    } else {
      // Prefer short-lived objects: try a few picks for one of kind 0.
      size_t pick = r.Below(b.live.n);
      for (int tries = 0; tries < 4 && b.live.data[pick].kind == 1; tries++)
        pick = r.Below(b.live.n);
      b.FreeAt(pick);
    }
  }
}

void GenFragmenter(Builder& b, Rng& r) {
  // Rounds of: fill with interleaved order-0 pages, page blocks of order
  // 1-3 and kmallocs, keeping every 8th order-0 page and a few objects as
  // long-lived pins (kind 1) - the classic pattern that leaves a pinned
  // page in every 8-page block the round used - then free everything
  // else; then a few larger page blocks that must find room around the
  // pins (freed next round).
  uint64_t pages = 0;
  while (!b.Full()) {
    const size_t fill = 600 + r.Below(400);
    for (size_t i = 0; i < fill && !b.Full(); i++) {
      const uint32_t p = static_cast<uint32_t>(r.Below(100));
      if (p < 50)
        b.Pages(0, MMLAB_GFP_KERNEL, ++pages % 8 == 0 ? 1 : 0);
      else if (p < 58)
        b.Pages(1 + static_cast<uint32_t>(r.Below(3)), MMLAB_GFP_KERNEL);  // order 1..3
      else if (p < 85)
        b.Kmalloc(32 + static_cast<uint32_t>(r.Below(480)), MMLAB_GFP_KERNEL, r.Percent(5));
      else
        b.Kmalloc(1024 + static_cast<uint32_t>(r.Below(3072)), MMLAB_GFP_KERNEL, r.Percent(5));
    }
    // Everything but the pins goes, in random order (Fisher-Yates).
    Vec<Live> doomed;
    size_t kept = 0;
    for (size_t i = 0; i < b.live.n; i++) {
      if (b.live.data[i].kind == 1)
        b.live.data[kept++] = b.live.data[i];
      else if (!doomed.Push(b.live.data[i]))
        b.oom = true;
    }
    b.live.n = kept;
    for (size_t i = doomed.n; i > 1; i--) {
      const size_t j = r.Below(i);
      const Live tmp = doomed.data[i - 1];
      doomed.data[i - 1] = doomed.data[j];
      doomed.data[j] = tmp;
    }
    for (size_t i = 0; i < doomed.n; i++)
      b.FreeEntry(doomed.data[i]);
    doomed.Free();
    // A few high-order requests over the fragmented memory.
    for (int i = 0; i < 8 && !b.Full(); i++)
      b.Pages(3 + static_cast<uint32_t>(r.Below(3)), MMLAB_GFP_KERNEL | MMLAB___GFP_NORETRY);
    // Keep the pins bounded: old pins go slowly.
    while (b.live.n > 2500 && !b.Full())
      b.FreeAt(r.Below(b.live.n));
  }
}

void GenCtorHeavy(Builder& b, Rng& r) {
  static const uint32_t kSizes[] = {64, 128, 192, 320, 512};
  uint32_t cache[ArraySize(kSizes)];
  for (uint32_t i = 0; i < ArraySize(kSizes); i++) {
    char name[MMLAB_KMEM_CACHE_NAME_MAX];
    TextBuf(name, sizeof(name)).Append("ctor_%u", kSizes[i]);
    cache[i] = b.Cache(name, kSizes[i], 8, 0, true);
  }
  // Bursts: allocate 50..200 objects of one cache, then free most of what
  // is live (as a network stack's per-packet objects).
  while (!b.Full()) {
    const uint32_t c = static_cast<uint32_t>(r.Below(ArraySize(kSizes)));
    const size_t burst = 50 + r.Below(151);
    for (size_t i = 0; i < burst && !b.Full(); i++)
      b.CacheAlloc(cache[c], r.Percent(30) ? MMLAB_GFP_ATOMIC : MMLAB_GFP_KERNEL);
    for (size_t i = 0; i < b.live.n && !b.Full();) {
      if (r.Percent(90))
        b.FreeAt(i);
      else
        i++;
    }
  }
}

struct Workload {
  const char* name;
  const char* description;
  void (*gen)(Builder& b, Rng& r);
};

const Workload kWorkloads[] = {
    {"kmalloc-mix",
     "kmalloc/kfree churn around 1500 live objects, sizes 8 B..32 KiB mostly small, 10% "
     "GFP_ATOMIC",
     GenKmallocMix},
    {"cache-churn",
     "six caches of odd sizes (24..968 B, some HWCACHE_ALIGN), 20% long-lived objects, "
     "a cache destroyed and recreated every 2500 steps",
     GenCacheChurn},
    {"fragmenter",
     "rounds of interleaved order-0 pages (every 8th kept as a pin), order-1..3 blocks and "
     "kmallocs (5% pins); the rest freed, then order-3..5 requests (__GFP_NORETRY)",
     GenFragmenter},
    {"ctor-heavy",
     "five caches with constructors (64..512 B), bursts of 50..200 allocations then 90% freed",
     GenCtorHeavy},
};

// --- running -------------------------------------------------------------------

const char* const kPolicies[] = {"slab", "slub", "slob"};

void ReplayCtor(void* obj) { *static_cast<volatile uint64_t*>(obj) = 0x6d6d6c6162637472ull; }

uint64_t UsedPages(mmlab_core* core) {
  struct mmlab_core_counters c;
  mmlab_core_counters(core, &c);
  return c.used_pages;
}

// The gfp a replayed allocation uses: the recorded one, but never
// __GFP_NOFAIL (it would retry forever when the replay core is full) and
// always __GFP_NOWARN (failures are counted, not logged); slab requests
// take their zone from the cache, as Linux's (GFP_SLAB_BUG_MASK).
mmlab_gfp_t ReplayGfp(mmlab_gfp_t gfp, bool slab) {
  gfp = (gfp & ~MMLAB___GFP_NOFAIL) | MMLAB___GFP_NOWARN;
  if (slab)
    gfp &= ~MMLAB___GFP_DMA32;
  return gfp;
}

struct Run {
  mmlab_core* core = nullptr;
  void** slot = nullptr;
  uint32_t* slot_bytes = nullptr;  // requested bytes of each live slot
  uint32_t* slot_cache = nullptr;
  mmlab_kmem_cache** cache = nullptr;
  uint32_t nr_slots = 0;
  uint32_t nr_caches = 0;

  bool Alloc(uint32_t slots, uint32_t caches) {
    nr_slots = slots;
    nr_caches = caches;
    const size_t ns = Max<size_t>(slots, 1), nc = Max<size_t>(caches, 1);
    slot = static_cast<void**>(mmlab_host_meta_alloc(ns * sizeof(void*), 1));
    slot_bytes = static_cast<uint32_t*>(mmlab_host_meta_alloc(ns * sizeof(uint32_t), 1));
    slot_cache = static_cast<uint32_t*>(mmlab_host_meta_alloc(ns * sizeof(uint32_t), 1));
    cache = static_cast<mmlab_kmem_cache**>(mmlab_host_meta_alloc(nc * sizeof(void*), 1));
    return slot && slot_bytes && slot_cache && cache;
  }
  void Free() {
    const size_t ns = Max<size_t>(nr_slots, 1), nc = Max<size_t>(nr_caches, 1);
    if (slot)
      mmlab_host_meta_free(slot, ns * sizeof(void*));
    if (slot_bytes)
      mmlab_host_meta_free(slot_bytes, ns * sizeof(uint32_t));
    if (slot_cache)
      mmlab_host_meta_free(slot_cache, ns * sizeof(uint32_t));
    if (cache)
      mmlab_host_meta_free(cache, nc * sizeof(void*));
  }
};

}  // namespace

bool ReplayPolicyKnown(const char* policy) {
  if (!policy)
    return false;
  for (const char* p : kPolicies) {
    size_t i = 0;
    while (p[i] && p[i] == policy[i])
      i++;
    if (!p[i] && !policy[i])
      return true;
  }
  return false;
}

// The kmalloc caches (empty right after create) switch to `policy`, and it
// becomes the default of every cache the trace creates.
bool ReplayApplyPolicy(mmlab_core* core, const char* policy, char* why, size_t why_cap) {
  if (!ReplayPolicyKnown(policy)) {
    SetWhy(why, why_cap, "replay: policy '%s' is not available in this build", policy);
    return false;
  }
  size_t len = 0;
  while (policy[len])
    len++;
  char result[128] = "";
  if (mmlab_core_slab_policy_set(core, policy, len, 1, result, sizeof(result)) != MMLAB_OK) {
    SetWhy(why, why_cap, "replay: policy %s: %s", policy, result);
    return false;
  }
  return true;
}

}  // namespace mmlab

using mmlab::ReplayTrace;

extern "C" {

enum mmlab_status mmlab_replay_parse(const char* text, size_t len, struct mmlab_replay_trace** out,
                                     char* why, size_t why_cap) {
  if (!MMLAB_ASSERT(out && (text || !len)))
    return MMLAB_EINVAL;
  *out = nullptr;
  if (why && why_cap)
    why[0] = '\0';
  ReplayTrace* t = mmlab::NewTrace();
  if (!t) {
    mmlab::SetWhy(why, why_cap, "out of memory");
    return MMLAB_ENOMEM;
  }
  mmlab::Parser p = {};
  p.t = t;
  p.why = why;
  p.why_cap = why_cap;
  bool ok = true;
  bool saw_header = false;
  for (size_t pos = 0; ok && pos < len;) {
    size_t end = pos;
    while (end < len && text[end] != '\n')
      end++;
    p.line++;
    if (end - pos > MMLAB_REPLAY_MAX_LINE) {
      ok = p.Fail("longer than %u bytes", MMLAB_REPLAY_MAX_LINE);
      break;
    }
    for (size_t i = pos; ok && i < end; i++)
      if (text[i] == '\0')
        ok = p.Fail("NUL byte");
    if (ok && end - pos >= 16 && __builtin_memcmp(text + pos, "# mmlab-trace v", 15) == 0) {
      if (end - pos != 16 || text[pos + 15] != '1')
        ok = p.Fail("unknown trace version '%s'", mmlab::Show(text + pos, end - pos).s);
      saw_header = true;
    }
    if (ok)
      ok = p.Line(text + pos, end - pos);
    pos = end + 1;
  }
  (void)saw_header;  // optional: hand-written traces may leave it out
  if (ok && t->ops.n == 0) {
    p.line = 0;
    ok = false;
    mmlab::SetWhy(why, why_cap, "no ops in the trace");
  }
  p.Free();
  if (!ok) {
    mmlab::DeleteTrace(t);
    mmlab::Log(MMLAB_LOG_WARN, "replay: trace refused: %s", why && why_cap ? why : "bad input");
    return MMLAB_EINVAL;
  }
  *out = reinterpret_cast<mmlab_replay_trace*>(t);
  return MMLAB_OK;
}

const char* mmlab_replay_workload_name(uint32_t i) {
  return i < mmlab::ArraySize(mmlab::kWorkloads) ? mmlab::kWorkloads[i].name : nullptr;
}

const char* mmlab_replay_workload_description(uint32_t i) {
  return i < mmlab::ArraySize(mmlab::kWorkloads) ? mmlab::kWorkloads[i].description : nullptr;
}

enum mmlab_status mmlab_replay_generate(const char* workload, uint64_t seed, uint64_t nr_ops,
                                        struct mmlab_replay_trace** out, char* why,
                                        size_t why_cap) {
  if (!MMLAB_ASSERT(out))
    return MMLAB_EINVAL;
  *out = nullptr;
  const mmlab::Workload* w = nullptr;
  for (const mmlab::Workload& cand : mmlab::kWorkloads) {
    size_t i = 0;
    while (workload && cand.name[i] && cand.name[i] == workload[i])
      i++;
    if (workload && !cand.name[i] && !workload[i])
      w = &cand;
  }
  if (!w) {
    mmlab::SetWhy(why, why_cap, "unknown workload '%s' (kmalloc-mix, cache-churn, fragmenter, ctor-heavy)",
                  workload ? workload : "(null)");
    return MMLAB_EINVAL;
  }
  if (nr_ops == 0 || nr_ops > MMLAB_REPLAY_MAX_OPS) {
    mmlab::SetWhy(why, why_cap, "ops %lu out of range 1..%u", nr_ops, MMLAB_REPLAY_MAX_OPS);
    return MMLAB_EINVAL;
  }
  ReplayTrace* t = mmlab::NewTrace();
  if (!t || !t->ops.Reserve(nr_ops)) {
    mmlab::DeleteTrace(t);
    mmlab::SetWhy(why, why_cap, "out of memory");
    return MMLAB_ENOMEM;
  }
  mmlab::Builder b = {};
  b.t = t;
  b.limit = nr_ops;
  mmlab::Rng rng = {seed};
  w->gen(b, rng);
  const bool oom = b.oom;
  b.Free();
  if (oom) {
    mmlab::DeleteTrace(t);
    mmlab::SetWhy(why, why_cap, "out of memory (or more than %u objects live)",
                  MMLAB_REPLAY_MAX_SLOTS);
    return MMLAB_ENOMEM;
  }
  mmlab::TextBuf(t->name, sizeof(t->name)).Append("%s/%lu", w->name, seed);
  *out = reinterpret_cast<mmlab_replay_trace*>(t);
  return MMLAB_OK;
}

void mmlab_replay_free(struct mmlab_replay_trace* trace) {
  mmlab::DeleteTrace(reinterpret_cast<ReplayTrace*>(trace));
}

void mmlab_replay_set_name(struct mmlab_replay_trace* trace, const char* name) {
  if (!MMLAB_ASSERT(trace && name))
    return;
  ReplayTrace* t = reinterpret_cast<ReplayTrace*>(trace);
  size_t len = 0;
  while (name[len] && len < sizeof(t->name))
    len++;
  mmlab::CopyName(t->name, sizeof(t->name), name, len);
}

void mmlab_replay_trace_info(const struct mmlab_replay_trace* trace,
                             struct mmlab_replay_trace_info* out) {
  if (!MMLAB_ASSERT(trace && out))
    return;
  const ReplayTrace* t = reinterpret_cast<const ReplayTrace*>(trace);
  *out = {};
  out->nr_ops = t->ops.n;
  out->nr_slots = t->slots.next;
  out->nr_caches = static_cast<uint32_t>(t->caches.n);
  out->skipped = t->skipped;
  for (size_t i = 0; i + 1 < sizeof(out->name) && t->name[i]; i++)
    out->name[i] = t->name[i];
}

const struct mmlab_replay_op* mmlab_replay_op_at(const struct mmlab_replay_trace* trace,
                                                 uint64_t i) {
  if (!MMLAB_ASSERT(trace))
    return nullptr;
  const ReplayTrace* t = reinterpret_cast<const ReplayTrace*>(trace);
  return i < t->ops.n ? &t->ops.data[i] : nullptr;
}

const struct mmlab_replay_cache_info* mmlab_replay_cache_at(const struct mmlab_replay_trace* trace,
                                                            uint32_t i) {
  if (!MMLAB_ASSERT(trace))
    return nullptr;
  const ReplayTrace* t = reinterpret_cast<const ReplayTrace*>(trace);
  return i < t->caches.n ? &t->caches.data[i] : nullptr;
}

void mmlab_replay_render_trace(const struct mmlab_replay_trace* trace, mmlab_emit_fn emit,
                               void* ctx) {
  if (!MMLAB_ASSERT(trace && emit))
    return;
  const ReplayTrace* t = reinterpret_cast<const ReplayTrace*>(trace);
  const uint32_t nr_slots = t->slots.next;
  // An id is the slot and how often it was allocated, so a reused slot
  // gets a new id, as a reused address does in a recorded trace.
  uint32_t* gen = nr_slots ? static_cast<uint32_t*>(
                                 mmlab_host_meta_alloc(size_t{nr_slots} * sizeof(uint32_t), 1))
                           : nullptr;
  mmlab::EmitLine(emit, ctx, "# mmlab-trace v1\n");
  mmlab::EmitLine(emit, ctx, "# generated %s ops %lu\n", t->name, static_cast<uint64_t>(t->ops.n));
  mmlab::EmitLine(emit, ctx, "# cpu time_ns op key=value...\n");
  if (nr_slots && !gen) {
    mmlab::EmitLine(emit, ctx, "# out of memory\n");
    return;
  }
  for (size_t i = 0; i < t->ops.n; i++) {
    const mmlab_replay_op& op = t->ops.data[i];
    char line[MMLAB_REPLAY_MAX_LINE];
    mmlab::TextBuf out(line, sizeof(line));
    out.Append("0 %lu %s", static_cast<uint64_t>(i), mmlab::kOpNames[op.op]);
    const bool alloc = op.op == MMLAB_REPLAY_KMALLOC || op.op == MMLAB_REPLAY_CACHE_ALLOC ||
                       op.op == MMLAB_REPLAY_ALLOC_PAGES;
    if (alloc && op.slot < nr_slots)
      gen[op.slot]++;
    const uint64_t id =
        op.slot < nr_slots ? (uint64_t{gen[op.slot]} << 20 | op.slot) : 0;
    char gfp[mmlab::kGfpTextMax];
    mmlab::GfpDecode(op.gfp, gfp, sizeof(gfp));
    switch (op.op) {
      case MMLAB_REPLAY_KMALLOC:
        out.Append(" id=%lx size=%u gfp=%s caller=gen", id, op.size, gfp);
        break;
      case MMLAB_REPLAY_KFREE:
        out.Append(" id=%lx caller=gen", id);
        break;
      case MMLAB_REPLAY_CACHE_CREATE: {
        const mmlab_replay_cache_info& c = t->caches.data[op.cache];
        out.Append(" cache=%x name=%s size=%u align=%u flags=0x%x ctor=%u", op.cache + 1, c.name,
                   c.size, c.align, c.flags, c.ctor);
        break;
      }
      case MMLAB_REPLAY_CACHE_DESTROY:
        out.Append(" cache=%x", op.cache + 1);
        break;
      case MMLAB_REPLAY_CACHE_ALLOC:
        out.Append(" cache=%x id=%lx size=%u gfp=%s caller=gen", op.cache + 1, id, op.size, gfp);
        break;
      case MMLAB_REPLAY_CACHE_FREE:
        out.Append(" cache=%x id=%lx caller=gen", op.cache + 1, id);
        break;
      case MMLAB_REPLAY_ALLOC_PAGES:
        out.Append(" id=%lx order=%u gfp=%s caller=gen", id, op.order, gfp);
        break;
      case MMLAB_REPLAY_FREE_PAGES:
        out.Append(" id=%lx order=%u caller=gen", id, op.order);
        break;
    }
    out.Append("\n");
    emit(ctx, out.c_str(), out.len());
  }
  if (gen)
    mmlab_host_meta_free(gen, size_t{nr_slots} * sizeof(uint32_t));
}

const char* mmlab_replay_policy_name(uint32_t i) {
  return i < mmlab::ArraySize(mmlab::kPolicies) ? mmlab::kPolicies[i] : nullptr;
}

enum mmlab_status mmlab_replay_run(const struct mmlab_replay_trace* trace,
                                   const struct mmlab_core_config* cfg, const char* policy,
                                   struct mmlab_replay_result* out, char* why, size_t why_cap) {
  if (!MMLAB_ASSERT(trace && cfg && out))
    return MMLAB_EINVAL;
  *out = {};
  if (why && why_cap)
    why[0] = '\0';
  const ReplayTrace* t = reinterpret_cast<const ReplayTrace*>(trace);
  if (!mmlab::ReplayPolicyKnown(policy)) {
    mmlab::SetWhy(why, why_cap, "replay: unknown or unavailable policy '%s'",
                  policy ? policy : "(null)");
    return MMLAB_EINVAL;
  }
  mmlab_host_might_sleep();
  for (size_t i = 0; policy[i] && i + 1 < sizeof(out->policy); i++)
    out->policy[i] = policy[i];
  for (size_t i = 0; t->name[i] && i + 1 < sizeof(out->trace); i++)
    out->trace[i] = t->name[i];

  mmlab::Run run;
  if (!run.Alloc(t->slots.next, static_cast<uint32_t>(t->caches.n))) {
    run.Free();
    mmlab::SetWhy(why, why_cap, "replay: out of memory");
    return MMLAB_ENOMEM;
  }
  mmlab_status st = mmlab_core_create(cfg, &run.core);
  if (st != MMLAB_OK) {
    run.Free();
    mmlab::SetWhy(why, why_cap, "replay: bad core config (see the log)");
    return st;
  }
  // The kmalloc caches are empty now: the policy for them and for every
  // cache the trace creates.
  if (!mmlab::ReplayApplyPolicy(run.core, policy, why, why_cap))
    st = MMLAB_EINVAL;

  const uint64_t base = mmlab::UsedPages(run.core);
  uint64_t live_bytes = 0;
  const uint64_t t_start = mmlab_host_now_ns();
  for (size_t i = 0; st == MMLAB_OK && i < t->ops.n; i++) {
    const mmlab_replay_op& op = t->ops.data[i];
    switch (op.op) {
      case MMLAB_REPLAY_KMALLOC:
        run.slot[op.slot] =
            mmlab_core_kmalloc(run.core, op.size, mmlab::ReplayGfp(op.gfp, true), 0);
        run.slot_bytes[op.slot] = run.slot[op.slot] ? op.size : 0;
        break;
      case MMLAB_REPLAY_CACHE_ALLOC:
        run.slot[op.slot] = run.cache[op.cache]
                                ? mmlab_core_kmem_cache_alloc(run.cache[op.cache],
                                                              mmlab::ReplayGfp(op.gfp, true), 0)
                                : nullptr;
        run.slot_bytes[op.slot] = run.slot[op.slot] ? op.size : 0;
        run.slot_cache[op.slot] = op.cache;
        break;
      case MMLAB_REPLAY_ALLOC_PAGES: {
        mmlab_page* page =
            mmlab_core_alloc_pages(run.core, mmlab::ReplayGfp(op.gfp, false), op.order);
        run.slot[op.slot] = page;
        run.slot_bytes[op.slot] = page ? static_cast<uint32_t>(MMLAB_PAGE_SIZE << op.order) : 0;
        break;
      }
      case MMLAB_REPLAY_KFREE:
        mmlab_core_kfree(run.core, run.slot[op.slot], 0);
        break;
      case MMLAB_REPLAY_CACHE_FREE:
        if (run.slot[op.slot] && run.cache[op.cache])
          mmlab_core_kmem_cache_free(run.cache[op.cache], run.slot[op.slot], 0);
        break;
      case MMLAB_REPLAY_FREE_PAGES:
        if (run.slot[op.slot])
          mmlab_core___free_pages(run.core, static_cast<mmlab_page*>(run.slot[op.slot]),
                                  op.order);
        break;
      case MMLAB_REPLAY_CACHE_CREATE: {
        const mmlab_replay_cache_info& c = t->caches.data[op.cache];
        mmlab_kmem_cache* s = nullptr;
        if (mmlab_core_kmem_cache_create(run.core, c.name, c.size, c.align, c.flags,
                                         c.ctor ? mmlab::ReplayCtor : nullptr,
                                         &s) != MMLAB_OK)
          out->failures++;
        run.cache[op.cache] = s;
        break;
      }
      case MMLAB_REPLAY_CACHE_DESTROY:
        if (run.cache[op.cache])
          mmlab_core_kmem_cache_destroy(run.cache[op.cache]);
        run.cache[op.cache] = nullptr;
        break;
    }
    const bool alloc = op.op == MMLAB_REPLAY_KMALLOC || op.op == MMLAB_REPLAY_CACHE_ALLOC ||
                       op.op == MMLAB_REPLAY_ALLOC_PAGES;
    const bool free = op.op == MMLAB_REPLAY_KFREE || op.op == MMLAB_REPLAY_CACHE_FREE ||
                      op.op == MMLAB_REPLAY_FREE_PAGES;
    if (alloc) {
      if (run.slot[op.slot])
        live_bytes += run.slot_bytes[op.slot];
      else
        out->failures++;
    } else if (free) {
      live_bytes -= run.slot[op.slot] ? run.slot_bytes[op.slot] : 0;
      run.slot[op.slot] = nullptr;
      run.slot_bytes[op.slot] = 0;
    }
    out->ops++;
    const uint64_t used = mmlab::UsedPages(run.core) - base;
    if (used > out->peak_pages) {
      out->peak_pages = used;
      out->peak_requested_bytes = live_bytes;
    }
  }
  out->ns_total = mmlab_host_now_ns() - t_start;
  out->final_pages = mmlab::UsedPages(run.core) - base;
  const uint64_t peak_bytes = out->peak_pages * MMLAB_PAGE_SIZE;
  out->peak_waste_bytes =
      peak_bytes > out->peak_requested_bytes ? peak_bytes - out->peak_requested_bytes : 0;
  // extfrag over the free lists of both zones summed, with the per-CPU
  // lists drained first so which CPU ran the replay does not matter.
  mmlab_core_drain_all(run.core);
  mmlab_core_extfrag_index(run.core, MMLAB_NR_ZONES, out->extfrag);
  out->nr_orders = cfg->chunk_order + 1;  // the replay core's MAX_ORDER

  // What the trace left live, then its caches. Slots do not remember
  // their kind: the ops, walked backwards, find each live slot's last alloc.
  for (size_t i = t->ops.n; i-- > 0;) {
    const mmlab_replay_op& op = t->ops.data[i];
    const bool alloc = op.op == MMLAB_REPLAY_KMALLOC || op.op == MMLAB_REPLAY_CACHE_ALLOC ||
                       op.op == MMLAB_REPLAY_ALLOC_PAGES;
    if (!alloc || !run.slot[op.slot])
      continue;
    void* p = run.slot[op.slot];
    run.slot[op.slot] = nullptr;
    if (op.op == MMLAB_REPLAY_KMALLOC)
      mmlab_core_kfree(run.core, p, 0);
    else if (op.op == MMLAB_REPLAY_CACHE_ALLOC && run.cache[op.cache])
      mmlab_core_kmem_cache_free(run.cache[op.cache], p, 0);
    else if (op.op == MMLAB_REPLAY_ALLOC_PAGES)
      mmlab_core___free_pages(run.core, static_cast<mmlab_page*>(p), op.order);
  }
  for (uint32_t c = 0; c < run.nr_caches; c++)
    if (run.cache[c])
      mmlab_core_kmem_cache_destroy(run.cache[c]);
  const uint64_t leaked = mmlab_core_destroy(run.core);
  run.Free();
  if (leaked && st == MMLAB_OK) {
    mmlab::SetWhy(why, why_cap, "replay: %lu pages still in use at the end", leaked);
    st = MMLAB_EBUSY;
  }
  return st;
}

void mmlab_replay_render_result(const struct mmlab_replay_result* r, mmlab_emit_fn emit,
                                void* ctx) {
  if (!MMLAB_ASSERT(r && emit))
    return;
  char line[512];
  mmlab::TextBuf out(line, sizeof(line));
  out.Append("replay policy=%s trace=%s ops=%lu failures=%lu peak_pages=%lu final_pages=%lu "
             "peak_requested_bytes=%lu peak_waste_bytes=%lu ns_per_op=%lu extfrag=",
             r->policy[0] ? r->policy : "-", r->trace[0] ? r->trace : "-", r->ops, r->failures,
             r->peak_pages, r->final_pages, r->peak_requested_bytes, r->peak_waste_bytes,
             r->ops ? r->ns_total / r->ops : 0);
  if (!r->nr_orders)
    out.Append("-");
  for (uint32_t o = 0; o < r->nr_orders && o < MMLAB_EXTFRAG_ORDERS; o++) {
    char idx[16];
    mmlab::FormatExtfrag(r->extfrag[o], idx, sizeof(idx));
    out.Append("%s%s", o ? "," : "", idx);
  }
  out.Append("\n");
  emit(ctx, out.c_str(), out.len());
}

void mmlab_replay_render_report(const struct mmlab_replay_result* results, size_t n,
                                mmlab_emit_fn emit, void* ctx) {
  if (!MMLAB_ASSERT(emit && (results || !n)))
    return;
  constexpr size_t kMaxCols = 8;
  n = mmlab::Min(n, kMaxCols);
  auto row = [&](const char* metric, auto cell) {
    char line[256];
    mmlab::TextBuf out(line, sizeof(line));
    out.Append("%-22s", metric);
    for (size_t i = 0; i < n; i++) {
      char v[32];
      mmlab::TextBuf tv(v, sizeof(v));
      cell(results[i], &tv);
      out.Append(" %12s", v);
    }
    out.Append("\n");
    emit(ctx, out.c_str(), out.len());
  };
  mmlab::EmitLine(emit, ctx, "# replay report: trace %s\n",
                  n && results[0].trace[0] ? results[0].trace : "-");
  row("metric", [](const mmlab_replay_result& r, mmlab::TextBuf* v) {
    v->Append("%s", r.policy[0] ? r.policy : "-");
  });
  row("ops", [](const mmlab_replay_result& r, mmlab::TextBuf* v) { v->Append("%lu", r.ops); });
  row("failures",
      [](const mmlab_replay_result& r, mmlab::TextBuf* v) { v->Append("%lu", r.failures); });
  row("peak_pages",
      [](const mmlab_replay_result& r, mmlab::TextBuf* v) { v->Append("%lu", r.peak_pages); });
  row("final_pages",
      [](const mmlab_replay_result& r, mmlab::TextBuf* v) { v->Append("%lu", r.final_pages); });
  row("peak_requested_bytes", [](const mmlab_replay_result& r, mmlab::TextBuf* v) {
    v->Append("%lu", r.peak_requested_bytes);
  });
  row("peak_waste_bytes", [](const mmlab_replay_result& r, mmlab::TextBuf* v) {
    v->Append("%lu", r.peak_waste_bytes);
  });
  row("peak_waste_pct", [](const mmlab_replay_result& r, mmlab::TextBuf* v) {
    const uint64_t bytes = r.peak_pages * MMLAB_PAGE_SIZE;
    if (!bytes) {
      v->Append("-");
      return;
    }
    const uint64_t permille = r.peak_waste_bytes * 1000 / bytes;
    v->Append("%lu.%lu", permille / 10, permille % 10);
  });
  row("ns_per_op", [](const mmlab_replay_result& r, mmlab::TextBuf* v) {
    v->Append("%lu", r.ops ? r.ns_total / r.ops : 0);
  });
  uint32_t orders = 0;
  for (size_t i = 0; i < n; i++)
    orders = mmlab::Max(orders, mmlab::Min<uint32_t>(results[i].nr_orders, MMLAB_EXTFRAG_ORDERS));
  for (uint32_t o = 0; o < orders; o++) {
    char metric[32];
    mmlab::TextBuf(metric, sizeof(metric)).Append("extfrag_order_%u", o);
    row(metric, [o](const mmlab_replay_result& r, mmlab::TextBuf* v) {
      if (o >= r.nr_orders) {
        v->Append("-");
        return;
      }
      char idx[16];
      mmlab::FormatExtfrag(r.extfrag[o], idx, sizeof(idx));
      v->Append("%s", idx);
    });
  }
}

}  // extern "C"
