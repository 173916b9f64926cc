#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-module.sh - build mmlab.ko for one kernel the way packaging tools do,
# in a copy of the tree, and check the result. Prints TAP.
#
#   tools/build-module.sh <release> <kernel build dir> <build dir> [<tap file>]
#
# The kernel build dir is /lib/modules/<release>/build when the headers are
# installed, else the cache vm-images/fetch-headers.sh unpacked them into.
#
# Checks: the plain out-of-tree command (make -C <kernel build dir> M=<dir>
# modules, no extra variables) succeeds; its output has no compiler,
# objtool or modpost warning; the module passes tools/check-ko.sh; modinfo
# reads it back with the right vermagic. Then the API's test client
# (selftests/mmlab_client) is built against that build's Module.symvers the
# way another out-of-tree module would be (docs/api.md), into
# <build dir>/mmlab_client/mmlab_client.ko: it builds without warnings and
# its undefined symbols all come from mmlab or the kernel. So is the
# deliberate-bug module (selftests/mmlab_bugs, docs/kernel-checkers.md),
# into <build dir>/mmlab_bugs/mmlab_bugs.ko.
set -uo pipefail

usage="usage: build-module.sh <release> <kernel build dir> <build dir> [<tap file>]"
rel=${1:?$usage}
kdir=${2:?$usage}
dir=${3:?$usage}
tapfile=${4:-/dev/null}
top=$(cd "$(dirname "$0")/.." && pwd)

exec > >(tee "$tapfile") 2>&1
n=0
fails=0
tap() { # tap <status> <name>
	n=$((n + 1))
	if [[ $1 == 0 ]]; then echo "ok $n - $rel: $2"; else echo "not ok $n - $rel: $2"; fails=$((fails + 1)); fi
}

echo "# building mmlab.ko for $rel in $dir"
mkdir -p "$dir"
# Only the module's sources: the copy must build as a DKMS tree would.
# Copied afresh each time (objects included) so a stale object never hides
# a build problem.
rm -rf "${dir:?}"/{Kbuild,module,cxxcore,include}
cp -a "$top/Kbuild" "$top/module" "$top/cxxcore" "$top/include" "$dir/"
rm -rf "$dir/cxxcore/tests"
find "$dir/module" "$dir/cxxcore" \( -name '*.o' -o -name '*.dwo' -o -name '.*.cmd' -o -name '.*.d' \) -delete

log=$dir/build.log
make -C "$kdir" M="$dir" modules >"$log" 2>&1
st=$?
tap $st "DKMS-style build (make -C $kdir M=... modules)"
if [[ $st != 0 ]]; then
	sed 's/^/#   /' "$log" | tail -40
fi

warnings=$(grep -Ei 'warning|objtool|error' "$log" || true)
if [[ -z $warnings ]]; then tap 0 "no compiler/objtool/modpost warnings"; else
	tap 1 "no compiler/objtool/modpost warnings"; echo "$warnings" | sed 's/^/#   /' | head -40; fi

if [[ -f $dir/mmlab.ko ]]; then
	out=$("$top/tools/check-ko.sh" "$dir/mmlab.ko" "$kdir" --tap)
	st=$?
	echo "$out" | grep '^#' || true
	while read -r line; do
		case "$line" in
		"ok - "*) tap 0 "${line#ok - }" ;;
		"not ok - "*) tap 1 "${line#not ok - }" ;;
		esac
	done <<<"$out"
	vm=$(modinfo -F vermagic "$dir/mmlab.ko" 2>/dev/null | awk '{ print $1 }')
	[[ $vm == "$rel" ]]; tap $? "vermagic is $rel (got '${vm}')"
else
	tap 1 "mmlab.ko produced"
fi

# --- the API client, built against this mmlab build ---------------------------
cdir=$dir/mmlab_client
clog=$cdir.log
rm -rf "$cdir"
if [[ -f $dir/Module.symvers ]]; then
	make -C "$top/selftests/mmlab_client" KDIR="$kdir" MMLAB_BUILD="$dir" OUT="$cdir" \
		>"$clog" 2>&1
	st=$?
	tap $st "mmlab_client.ko builds against mmlab's Module.symvers (KBUILD_EXTRA_SYMBOLS)"
	[[ $st == 0 ]] || sed 's/^/#   /' "$clog" | tail -40
	warnings=$(grep -v '^make' "$clog" | grep -Ei 'warning|objtool|error' || true)
	if [[ -z $warnings ]]; then tap 0 "mmlab_client: no compiler/objtool/modpost warnings"; else
		tap 1 "mmlab_client: no compiler/objtool/modpost warnings"
		echo "$warnings" | sed 's/^/#   /' | head -40; fi
	if [[ -f $cdir/mmlab_client.ko ]]; then
		mapfile -t unknown < <(comm -23 \
			<(nm -u "$cdir/mmlab_client.ko" | awk '{ print $2 }' | sort -u) \
			<(cat "$kdir/Module.symvers" "$dir/Module.symvers" | awk '{ print $2 }' | sort -u))
		tap ${#unknown[@]} "mmlab_client: every undefined symbol is exported by mmlab or the kernel"
		printf '#   undefined: %s\n' "${unknown[@]}" | grep -v ': $' || true
		deps=$(modinfo -F depends "$cdir/mmlab_client.ko" 2>/dev/null)
		[[ $deps == mmlab ]]; tap $? "mmlab_client depends on mmlab (modinfo: '$deps')"
	else
		tap 1 "mmlab_client.ko produced"
	fi
else
	tap 1 "mmlab_client # no Module.symvers from the mmlab build"
fi
# --- the deliberate-bug module (kernel_checkers selftest), the same way ----------
bdir=$dir/mmlab_bugs
rm -rf "$bdir"
if [[ -f $dir/Module.symvers ]]; then
	make -C "$top/selftests/mmlab_bugs" KDIR="$kdir" MMLAB_BUILD="$dir" OUT="$bdir" \
		>"$bdir.log" 2>&1
	tap $? "mmlab_bugs.ko builds against mmlab's Module.symvers"
	warnings=$(grep -v '^make' "$bdir.log" | grep -Ei 'warning|objtool|error' || true)
	[[ -z $warnings && -f $bdir/mmlab_bugs.ko ]]
	tap $? "mmlab_bugs: built, no compiler/objtool/modpost warnings"
	[[ -z $warnings ]] || echo "$warnings" | sed 's/^/#   /' | head -40
else
	tap 1 "mmlab_bugs # no Module.symvers from the mmlab build"
fi
echo "1..$n"
[[ $fails == 0 ]]
