// SPDX-License-Identifier: GPL-2.0
//
// command.cc - the control file's command language (docs/debugfs.md).
//
// How it works: the input is untrusted bytes of any length. It is checked
// as a whole first (length, printable ASCII only), then split on spaces
// into at most kMaxTokens slices of the caller's buffer; nothing is copied
// and nothing is NUL-terminated, so no byte can run a scan past the end.
// The first slice names the command; the rest are `key=value` arguments
// (plus one bare handle number for `free`), each key allowed once. Numbers
// are decimal or 0x-hex into 64 bits with explicit overflow checks. Only a
// fully parsed command reaches the core, through Core's Control* calls;
// every refusal writes a one-line reason into the result and logs the same
// line at warning level. The parser keeps no state of its own: it is a pure
// function of (core, bytes), which is what the fuzzer needs.
#include "command.h"

#include "command_parse.h"
#include "gfp.h"
#include "log.h"

namespace mmlab {

NumError ParseU64(Slice s, uint64_t* out) {
  if (s.n == 0)
    return NumError::kEmpty;
  if (s.p[0] == '-')
    return NumError::kNegative;
  size_t i = 0;
  uint64_t base = 10;
  if (s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
    base = 16;
    i = 2;
  } else if (s.n == 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) {
    return NumError::kSyntax;  // "0x" with no digits
  }
  uint64_t value = 0;
  for (; i < s.n; i++) {
    char c = s.p[i];
    uint64_t digit;
    if (c >= '0' && c <= '9')
      digit = static_cast<uint64_t>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f')
      digit = static_cast<uint64_t>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F')
      digit = static_cast<uint64_t>(c - 'A' + 10);
    else
      return NumError::kSyntax;
    if (value > (~uint64_t{0} - digit) / base)
      return NumError::kOverflow;
    value = value * base + digit;
  }
  *out = value;
  return NumError::kOk;
}

const char* NumErrorText(NumError e) {
  switch (e) {
    case NumError::kEmpty:
      return "missing value";
    case NumError::kNegative:
      return "negative number";
    case NumError::kSyntax:
      return "not a decimal or 0x-hex number";
    case NumError::kOverflow:
      return "number does not fit in 64 bits";
    case NumError::kOk:
      break;
  }
  return "bad number";
}

mmlab_status ParseNumber(Reply* reply, const char* key, Slice value, uint64_t* out) {
  NumError e = ParseU64(value, out);
  if (e == NumError::kOk)
    return MMLAB_OK;
  return reply->Fail(MMLAB_EINVAL, "%s='%s': %s", key, Quoted(value).buf, NumErrorText(e));
}

mmlab_status Reply::Ok(const char* fmt, ...) {
  out_.Clear();
  __builtin_va_list args;
  __builtin_va_start(args, fmt);
  out_.VAppend(fmt, args);
  __builtin_va_end(args);
  return MMLAB_OK;
}

// Formats "control: <reason>" (with up to one quoted piece of input in
// place of the %s in the format), logs it and stores it as the result.
mmlab_status Reply::Fail(mmlab_status st, const char* fmt, ...) {
  char line[kLogLineMax];
  TextBuf text(line, sizeof(line));
  text.Append("control: ");
  __builtin_va_list args;
  __builtin_va_start(args, fmt);
  text.VAppend(fmt, args);
  __builtin_va_end(args);
  mmlab_host_log(MMLAB_LOG_WARN | MMLAB_LOG_RATELIMITED, text.c_str());
  out_.Clear();
  out_.AppendBytes(text.c_str(), text.len());
  return st;
}

mmlab_status ParseArgs(Reply* reply, const char* cmd, const Slice* args, size_t nargs,
                       uint32_t allowed, uint32_t required, uint32_t bare_key, Args* out) {
  for (size_t a = 0; a < nargs; a++) {
    Slice arg = args[a];
    size_t eq = 0;
    while (eq < arg.n && arg.p[eq] != '=')
      eq++;
    Slice key = {arg.p, eq};
    Slice value = {arg.p + Min(eq + 1, arg.n), eq < arg.n ? arg.n - eq - 1 : 0};
    const char* key_name = "";
    ArgKey id = kKeyHandle;
    if (eq == arg.n) {
      if (!bare_key)
        return reply->Fail(MMLAB_EINVAL, "%s: unexpected argument '%s'", cmd, Quoted(arg).buf);
      id = static_cast<ArgKey>(bare_key);
      for (const KeyName& k : kKeys) {
        if (k.key == id && !*key_name)
          key_name = k.name;
      }
      value = arg;
    } else {
      bool known = false;
      for (const KeyName& k : kKeys) {
        if (key.Is(k.name) && (allowed & k.key)) {
          key_name = k.name;
          id = k.key;
          known = true;
        }
      }
      if (!known)
        return reply->Fail(MMLAB_EINVAL, "%s: unknown key '%s'", cmd, Quoted(key).buf);
    }
    if (out->seen & id)
      return reply->Fail(MMLAB_EINVAL, "%s: %s given twice", cmd, key_name);
    out->seen |= id;

    mmlab_status st = MMLAB_OK;
    switch (id) {
      case kKeyOrder:
        st = ParseNumber(reply, key_name, value, &out->order);
        break;
      case kKeyHandle:
        st = ParseNumber(reply, key_name, value, &out->handle);
        break;
      case kKeyName:
        out->name = value;
        break;
      case kKeyFlags:
        out->flags = value;
        break;
      case kKeyCtor:
        out->ctor = value;
        break;
      case kKeyType:
        out->type = value;
        break;
      case kKeyDebug:
        out->debug = value;
        break;
      case kKeyPolicy:
        out->policy = value;
        break;
      case kKeySize:
        st = ParseNumber(reply, key_name, value, &out->size);
        break;
      case kKeyAlign:
        st = ParseNumber(reply, key_name, value, &out->align);
        break;
      case kKeyCache:
        st = ParseNumber(reply, key_name, value, &out->cache);
        break;
      case kKeyObject:
        st = ParseNumber(reply, key_name, value, &out->object);
        break;
      case kKeyCount:
        st = ParseNumber(reply, key_name, value, &out->count);
        break;
      case kKeyPool:
        st = ParseNumber(reply, key_name, value, &out->pool);
        break;
      case kKeyMinNr:
        st = ParseNumber(reply, key_name, value, &out->min_nr);
        break;
      case kKeyByte:
        st = ParseNumber(reply, key_name, value, &out->byte);
        break;
      case kKeyLen:
        st = ParseNumber(reply, key_name, value, &out->len);
        break;
      case kKeyPfn:
        st = ParseNumber(reply, key_name, value, &out->pfn);
        break;
      case kKeyConsume:
        st = ParseNumber(reply, key_name, value, &out->consume);
        break;
      case kKeyRelease:
        if (value.Is("all"))
          out->release = kAll;
        else
          st = ParseNumber(reply, key_name, value, &out->release);
        break;
      case kKeyHigh:
        st = ParseNumber(reply, key_name, value, &out->high);
        break;
      case kKeyBatch:
        st = ParseNumber(reply, key_name, value, &out->batch);
        break;
      case kKeyZone:
        if (value.Is("DMA32"))
          out->zone = MMLAB_ZONE_DMA32;
        else if (value.Is("Normal"))
          out->zone = MMLAB_ZONE_NORMAL;
        else
          return reply->Fail(MMLAB_EINVAL, "zone='%s': not DMA32 or Normal", Quoted(value).buf);
        break;
      case kKeyContext: {
        bool known_context = false;
        for (const ContextName& c : kContexts) {
          if (value.Is(c.name)) {
            out->context = c.ctx;
            known_context = true;
          }
        }
        if (!known_context)
          return reply->Fail(MMLAB_EINVAL, "context='%s': not process, irqoff or timer",
                             Quoted(value).buf);
        break;
      }
      case kKeyGfp: {
        const char* bad;
        size_t bad_len;
        if (value.n == 0)
          return reply->Fail(MMLAB_EINVAL, "gfp=: missing value");
        if (!GfpParse(value.p, value.n, &out->gfp, &bad, &bad_len))
          return reply->Fail(MMLAB_EINVAL, "gfp: unknown flag '%s'", Quoted({bad, bad_len}).buf);
        break;
      }
    }
    if (st != MMLAB_OK)
      return st;
  }
  uint32_t missing = required & ~out->seen;
  for (const KeyName& k : kKeys) {
    if (missing & k.key)
      return reply->Fail(MMLAB_EINVAL, "%s: %s= is required", cmd, k.name);
  }
  return MMLAB_OK;
}


mmlab_status NoArgs(Reply* reply, const char* cmd, const Slice* args, size_t nargs) {
  if (nargs == 0)
    return MMLAB_OK;
  return reply->Fail(MMLAB_EINVAL, "%s: unexpected argument '%s'", cmd, Quoted(args[0]).buf);
}


namespace {

mmlab_status CheckOrder(Reply* reply, const char* cmd, Core& core, uint64_t order) {
  if (order <= core.chunk_order())
    return MMLAB_OK;
  return reply->Fail(MMLAB_EINVAL, "%s: order %lu out of range 0..%u", cmd, order,
                     core.chunk_order());
}

mmlab_status DoAlloc(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "alloc", args, nargs, kKeyOrder | kKeyGfp | kKeyContext,
                              kKeyOrder, 0, &a);
  if (st != MMLAB_OK || (st = CheckOrder(reply, "alloc", core, a.order)) != MMLAB_OK)
    return st;
  uint64_t id = 0, pfn = 0;
  const char* zone = "";
  uint32_t order = static_cast<uint32_t>(a.order);
  st = core.ControlAlloc(a.gfp, order, a.context, &id, &pfn, &zone, reply->text());
  if (st != MMLAB_OK)
    return reply->Failed(st);
  return reply->Ok("handle %lu order %u pfn 0x%lx zone %s", id, order, pfn, zone);
}

mmlab_status DoFree(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st =
      ParseArgs(reply, "free", args, nargs, kKeyHandle | kKeyOrder, kKeyHandle, kKeyHandle, &a);
  if (st != MMLAB_OK)
    return st;
  bool order_given = a.seen & kKeyOrder;
  if (order_given && (st = CheckOrder(reply, "free", core, a.order)) != MMLAB_OK)
    return st;
  uint32_t freed_order = 0;
  st = core.ControlFree(a.handle, order_given, static_cast<uint32_t>(a.order), &freed_order,
                        reply->text());
  if (st != MMLAB_OK)
    return reply->Failed(st);
  return reply->Ok("freed handle %lu order %u", a.handle, freed_order);
}

mmlab_status DoFreePfn(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st =
      ParseArgs(reply, "free_pfn", args, nargs, kKeyPfn | kKeyOrder, kKeyPfn | kKeyOrder, 0, &a);
  if (st != MMLAB_OK || (st = CheckOrder(reply, "free_pfn", core, a.order)) != MMLAB_OK)
    return st;
  uint32_t order = static_cast<uint32_t>(a.order);
  st = core.ControlFreePfn(a.pfn, order, reply->text());
  if (st != MMLAB_OK)
    return reply->Failed(st);
  return reply->Ok("freed pfn 0x%lx order %u", a.pfn, order);
}

mmlab_status DoFreeAll(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  mmlab_status st = NoArgs(reply, "free_all", args, nargs);
  if (st != MMLAB_OK)
    return st;
  Core::FreeAllCounts rest;
  uint64_t handles = core.ControlFreeAll(&rest);
  reply->Ok("freed %lu handles", handles);
  if (rest.pressure)
    reply->text()->Append(", released %lu pressure pages", rest.pressure);
  if (rest.objects)
    reply->text()->Append(", freed %lu objects", rest.objects);
  if (rest.pools)
    reply->text()->Append(", destroyed %lu mempools", rest.pools);
  if (rest.caches)
    reply->text()->Append(", destroyed %lu caches", rest.caches);
  return MMLAB_OK;
}

mmlab_status DoPressure(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  mmlab_status st = ParseArgs(reply, "pressure", args, nargs, kKeyConsume | kKeyRelease | kKeyGfp,
                              0, 0, &a);
  if (st != MMLAB_OK)
    return st;
  const bool consume = a.seen & kKeyConsume, release = a.seen & kKeyRelease;
  if (consume == release)
    return reply->Fail(MMLAB_EINVAL, "pressure: give consume=N or release=N|all");
  if (release && (a.seen & kKeyGfp))
    return reply->Fail(MMLAB_EINVAL, "pressure: gfp= goes with consume=");
  if (release) {
    uint64_t released = core.PressureRelease(a.release);
    return reply->Ok("pressure: released %lu pages, holding %lu", released, core.PressurePages());
  }
  if (a.consume > core.capacity_pages())
    return reply->Fail(MMLAB_EINVAL, "pressure: consume=%lu is more than the capacity (%lu pages)",
                       a.consume, core.capacity_pages());
  uint64_t got = 0;
  st = core.PressureConsume(a.consume, a.gfp, &got, reply->text());
  if (st == MMLAB_ENOMEM)
    return reply->Fail(MMLAB_ENOMEM, "pressure: consumed %lu of %lu pages, holding %lu", got,
                       a.consume, core.PressurePages());
  if (st != MMLAB_OK)
    return reply->Failed(st);
  return reply->Ok("pressure: consumed %lu pages, holding %lu", got, core.PressurePages());
}

mmlab_status DoDrain(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  mmlab_status st = NoArgs(reply, "drain", args, nargs);
  if (st != MMLAB_OK)
    return st;
  return reply->Ok("drained %lu pages", core.DrainAllPages());
}

// "pcp high=N batch=M [zone=Z]" or "pcp default [zone=Z]" (back to the
// values derived from the zone's share, as at load).
mmlab_status DoPcp(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  Args a;
  const char* where = "";
  if (nargs > 0 && args[0].Is("default")) {
    mmlab_status st = ParseArgs(reply, "pcp default", args + 1, nargs - 1, kKeyZone, 0, 0, &a);
    if (st != MMLAB_OK)
      return st;
    core.ResetPcpHighBatch(a.zone);
    if (a.zone < MMLAB_NR_ZONES)
      where = a.zone == MMLAB_ZONE_DMA32 ? " zone DMA32" : " zone Normal";
    return reply->Ok("pcp: defaults%s", where);
  }
  mmlab_status st = ParseArgs(reply, "pcp", args, nargs, kKeyHigh | kKeyBatch | kKeyZone,
                              kKeyHigh | kKeyBatch, 0, &a);
  if (st != MMLAB_OK)
    return st;
  if (a.batch < 1 || a.batch > a.high || a.high > kPcpHighMax)
    return reply->Fail(MMLAB_EINVAL, "pcp: need 1 <= batch (%lu) <= high (%lu) <= %u", a.batch,
                       a.high, kPcpHighMax);
  st = core.SetPcpHighBatch(a.zone, a.high, a.batch, reply->text());
  if (st != MMLAB_OK)
    return reply->Failed(st);
  if (a.zone < MMLAB_NR_ZONES)
    where = a.zone == MMLAB_ZONE_DMA32 ? " zone DMA32" : " zone Normal";
  return reply->Ok("pcp: high %lu batch %lu%s", a.high, a.batch, where);
}

mmlab_status DoKswapd(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  mmlab_status st = NoArgs(reply, "kswapd", args, nargs);
  if (st != MMLAB_OK)
    return st;
  core.WakeKswapdByHand();
  return reply->Ok("kswapd woken");
}

// "min_free_kbytes=N": the setting is the command, as in sysctl.
mmlab_status DoMinFreeKbytes(Core& core, Reply* reply, Slice value, const Slice* args,
                             size_t nargs) {
  mmlab_status st = NoArgs(reply, "min_free_kbytes", args, nargs);
  if (st != MMLAB_OK)
    return st;
  uint64_t kbytes = 0;
  if ((st = ParseNumber(reply, "min_free_kbytes", value, &kbytes)) != MMLAB_OK)
    return st;
  if (kbytes > kMaxMinFreeKbytes)
    return reply->Fail(MMLAB_EINVAL, "min_free_kbytes %lu out of range 0..%lu", kbytes,
                       kMaxMinFreeKbytes);
  st = core.SetMinFreeKbytes(kbytes, reply->text());
  if (st != MMLAB_OK)
    return reply->Failed(st);
  return reply->Ok("min_free_kbytes %lu", kbytes);
}

mmlab_status DoShrink(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  mmlab_status st = NoArgs(reply, "shrink", args, nargs);
  if (st != MMLAB_OK)
    return st;
  return reply->Ok("returned %lu chunks", core.Shrink());
}

mmlab_status DoCheck(Core& core, Reply* reply, const Slice* args, size_t nargs) {
  mmlab_status st = NoArgs(reply, "check", args, nargs);
  if (st != MMLAB_OK)
    return st;
  uint64_t violations = core.Check();
  if (violations)
    return reply->Fail(MMLAB_EUCLEAN, "check: %lu violations, each logged", violations);
  return reply->Ok("ok");
}

constexpr CommandDef kCommands[] = {
    {"alloc", DoAlloc},       {"free", DoFree},       {"free_pfn", DoFreePfn},
    {"free_all", DoFreeAll}, {"shrink", DoShrink},   {"check", DoCheck},
    {"pressure", DoPressure}, {"drain", DoDrain},     {"pcp", DoPcp},
    {"kswapd", DoKswapd},
};

constexpr char kMinFreeKbytes[] = "min_free_kbytes=";

}  // namespace

mmlab_status RunControl(Core& core, const char* cmd, size_t len, char* result,
                        size_t result_cap) {
  Reply reply(result, result ? result_cap : 0);
  if (!cmd && len)
    return reply.Fail(MMLAB_EINVAL, "no command buffer");
  if (len && cmd[len - 1] == '\n')
    len--;
  if (len > MMLAB_CONTROL_MAX)
    return reply.Fail(MMLAB_EINVAL, "command is %zu bytes, longer than %d", len,
                      MMLAB_CONTROL_MAX);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = static_cast<unsigned char>(cmd[i]);
    if (c < 0x20 || c >= 0x7f)
      return reply.Fail(MMLAB_EINVAL, "non-printable byte 0x%02x at offset %zu", c, i);
  }

  Slice tokens[kMaxTokens];
  size_t ntokens = 0;
  for (size_t i = 0; i < len;) {
    if (cmd[i] == ' ') {
      i++;
      continue;
    }
    size_t start = i;
    while (i < len && cmd[i] != ' ')
      i++;
    if (ntokens == kMaxTokens)
      return reply.Fail(MMLAB_EINVAL, "too many words (at most %zu)", kMaxTokens);
    tokens[ntokens++] = {cmd + start, i - start};
  }
  if (ntokens == 0)
    return reply.Fail(MMLAB_EINVAL, "empty command");

  for (const CommandDef& def : kCommands) {
    if (tokens[0].Is(def.name))
      return def.run(core, &reply, tokens + 1, ntokens - 1);
  }
  for (size_t i = 0; i < kNrSlabCommands; i++) {
    if (tokens[0].Is(kSlabCommands[i].name))
      return kSlabCommands[i].run(core, &reply, tokens + 1, ntokens - 1);
  }
  for (size_t i = 0; i < kNrPoolCommands; i++) {
    if (tokens[0].Is(kPoolCommands[i].name))
      return kPoolCommands[i].run(core, &reply, tokens + 1, ntokens - 1);
  }
  const size_t prefix = sizeof(kMinFreeKbytes) - 1;
  if (tokens[0].n >= prefix && Slice{tokens[0].p, prefix}.Is(kMinFreeKbytes))
    return DoMinFreeKbytes(core, &reply, {tokens[0].p + prefix, tokens[0].n - prefix}, tokens + 1,
                           ntokens - 1);
  return reply.Fail(MMLAB_EINVAL, "unknown command '%s'", Quoted(tokens[0]).buf);
}

}  // namespace mmlab

extern "C" enum mmlab_status mmlab_core_control(struct mmlab_core* core, const char* cmd,
                                                size_t len, char* result, size_t result_cap) {
  if (!MMLAB_ASSERT(core))
    return MMLAB_EINVAL;
  return mmlab::RunControl(*mmlab::Core::From(core), cmd, len, result, result_cap);
}
