#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# check_freestanding.sh CXX CXXCORE_DIR OUT_DIR
#
# Compiles every cxxcore/*.cc with the kernel's C++ flags (warnings are
# errors) and checks the objects: no global constructor or destructor
# sections, and, once linked together, no undefined symbol other than the
# host ABI (mmlab_host_*), mem{set,cpy,move}, the stack protector and
# __cxa_pure_virtual (an abstract class with an out-of-line virtual has a
# vtable naming it; cxxcore/kernel/runtime.cc defines it as a trap).
set -eu
cxx=$1
core=$2
out=$3
mkdir -p "$out"
rm -f "$out"/*.o "$out"/all.o.tmp

flags="-std=gnu++20 -nostdinc -ffreestanding -nostdinc++ -fno-exceptions -fno-rtti
  -fno-threadsafe-statics -mno-sse -mno-mmx -mno-sse2 -mno-red-zone -mcmodel=kernel
  -fno-PIE -O2 -Wall -Wextra -Werror -Wframe-larger-than=2048"

status=0
for src in "$core"/*.cc; do
  obj="$out/$(basename "$src" .cc).o"
  # shellcheck disable=SC2086
  $cxx $flags -I"$core/include" -I"$core" -c "$src" -o "$obj"
  if readelf -SW "$obj" | grep -Eq '\.(init_array|fini_array|ctors|dtors)'; then
    echo "$obj: has a global constructor/destructor section" >&2
    status=1
  fi
done

# all.o was removed above, so the glob holds exactly the core's objects.
ld -r -o "$out/all.o.tmp" "$out"/*.o
mv "$out/all.o.tmp" "$out/all.o"
bad=$(nm -u "$out/all.o" | awk '{print $2}' |
  grep -Ev '^(mmlab_host_[a-z_]+|memset|memcpy|memmove|__stack_chk_fail|__stack_chk_guard|__cxa_pure_virtual)$' || true)
if [ -n "$bad" ]; then
  echo "undefined symbols outside the host ABI:" >&2
  echo "$bad" >&2
  status=1
fi
echo "undefined symbols of the linked core:"
nm -u "$out/all.o"
exit $status
