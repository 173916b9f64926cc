#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-debug-kernel.sh - build mmlab's debug kernel (KASAN, kmemleak,
# lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_VM, fault injection) from Debian's
# linux-source-6.1, or reuse the one already built. docs/debug-kernel.md.
#
#   vm-images/build-debug-kernel.sh [--cache DIR] [--jobs N] [--no-deps]
#                                   [--config-only]
#
# The configuration is `make tinyconfig` plus vm-images/debug-kernel.config,
# then `make olddefconfig`; every option the fragment asks for is checked to
# have taken. The result is kept in
#
#   DIR/<key>/bzImage    the kernel to boot (vm-test.sh --kernel-dir DIR/<key>)
#   DIR/<key>/release    its release, e.g. 6.1.192-mmlab-debug
#   DIR/<key>/brd.ko     the RAM disk module the O_DIRECT test loads
#   DIR/<key>/config     its .config
#   DIR/<key>/obj/       the build tree: out-of-tree modules build against it
#                        with `make -C DIR/<key>/obj M=<dir> modules`
#                        (obj/.kernelvariables makes that use gcc-12)
#   DIR/<key>/build.log  the build's output
#
# where <key> is the first 16 hex digits of the SHA-256 of the fragment, the
# linux-source-6.1 package version, gcc-12's version and this script's
# recipe number. A kernel whose key exists (and is complete) is reused:
# the script then prints "cached" and takes a second. The sources are
# unpacked once per package version into DIR/src-<version>/.
#
# stdout: the kernel directory DIR/<key>, alone on the last line.
# Progress and diagnostics go to stderr. A from-scratch build takes about
# 12 minutes on 2 idle CPUs, 33 on busy ones (docs/debug-kernel.md).
#
# --cache DIR  where kernels are kept (default $MMLAB_CACHE/debug-kernel,
#              MMLAB_CACHE defaulting to /var/cache/mmlab)
# --jobs N     make -j (default: the number of CPUs)
# --no-deps    do not run tools/install-deps.sh --debug-kernel first
# --config-only  only configure and check the options, in a temporary
#              directory (a quick check of an edit of the fragment); prints
#              the .config's path
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
frag=$here/debug-kernel.config
# Bump when a change to this script changes the kernel it builds.
recipe=1

die() { echo "${0##*/}: $*" >&2; exit 1; }
note() { echo "${0##*/}: $*" >&2; }

cache=${MMLAB_CACHE:-/var/cache/mmlab}/debug-kernel
jobs=$(nproc)
deps=1
config_only=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	--cache) cache=${2:?}; shift 2 ;;
	--jobs) jobs=${2:?}; shift 2 ;;
	--no-deps) deps=0; shift ;;
	--config-only) config_only=1; shift ;;
	-h|--help) sed -n '3,41p' "$0"; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

[[ $deps == 0 ]] || "$top/tools/install-deps.sh" --debug-kernel >&2
tarball=/usr/src/linux-source-6.1.tar.xz
[[ -f $tarball ]] || die "$tarball missing (apt-get install linux-source-6.1)"
command -v gcc-12 >/dev/null || die "gcc-12 missing (apt-get install gcc-12)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
ccver=$(LC_ALL=C gcc-12 --version | head -n 1)

key=$( { cat "$frag"; echo "linux-source-6.1 $srcver"; echo "$ccver"; echo "recipe $recipe"; } |
	sha256sum | cut -c1-16)
kdir=$cache/$key
[[ $config_only == 0 ]] || kdir=$(mktemp -d /tmp/mmlab-debug-config.XXXXXX)
if [[ -f $kdir/done ]]; then
	note "cached: $(cat "$kdir/release") in $kdir"
	echo "$kdir"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -n 9; then
	note "another build holds $cache/.lock; waiting"
	flock 9
fi
if [[ -f $kdir/done ]]; then	# built meanwhile by the holder of the lock
	note "cached: $(cat "$kdir/release") in $kdir"
	echo "$kdir"
	exit 0
fi
start=$SECONDS

# --- sources ---------------------------------------------------------------------
src=$cache/src-$srcver/linux-source-6.1
if [[ ! -f $cache/src-$srcver/.complete ]]; then
	note "unpacking $tarball ($srcver) into $cache/src-$srcver"
	rm -rf "$cache/src-$srcver" "$cache/src-$srcver.tmp"
	mkdir -p "$cache/src-$srcver.tmp"
	nice tar -xJf "$tarball" -C "$cache/src-$srcver.tmp"
	mv "$cache/src-$srcver.tmp" "$cache/src-$srcver"
	touch "$cache/src-$srcver/.complete"
fi
[[ -f $src/Makefile ]] || die "$src/Makefile missing: remove $cache/src-$srcver and run again"

# --- configuration ---------------------------------------------------------------
# An unfinished build of the same key (killed, out of disk) is resumed: make
# rebuilds only what is missing.
obj=$kdir/obj
mkdir -p "$obj"
# Debian's top Makefile includes the build directory's .kernelvariables
# (as in Debian's linux-headers packages): the kernel and every module
# built against obj/ use gcc-12.
echo 'CC = gcc-12' >"$obj/.kernelvariables"
kmake() { nice make -C "$src" O="$obj" "$@"; }

note "configuring: tinyconfig + ${frag#"$top"/}"
kmake -s tinyconfig >"$kdir/config.log" 2>&1 || { cat "$kdir/config.log" >&2; die "make tinyconfig failed"; }
(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$frag") \
	>>"$kdir/config.log" 2>&1 || { cat "$kdir/config.log" >&2; die "merge_config.sh failed"; }
kmake -s olddefconfig >>"$kdir/config.log" 2>&1 || { cat "$kdir/config.log" >&2; die "make olddefconfig failed"; }

# Every option of the fragment must have its value now.
missed=()
while IFS= read -r line; do
	[[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]] || continue
	opt=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
	got=$(grep -E "^$opt=" "$obj/.config" | cut -d= -f2-) || true
	if [[ $want == n ]]; then
		[[ -z $got || $got == n ]] || missed+=("$opt=$got (wanted not set)")
	elif [[ $got != "$want" ]]; then
		missed+=("$opt=${got:-<not set>} (wanted $want)")
	fi
done <"$frag"
if [[ ${#missed[@]} -gt 0 ]]; then
	printf '  %s\n' "${missed[@]}" >&2
	die "${#missed[@]} option(s) of ${frag#"$top"/} did not take (a dependency is missing?); .config: $obj/.config"
fi
note "configuration checked: every option of the fragment took"
if [[ $config_only == 1 ]]; then
	echo "$obj/.config"
	exit 0
fi
cp "$obj/.config" "$kdir/config"

# --- build -------------------------------------------------------------------------
# In the background, with a progress line every minute: a from-scratch build
# is long, and silence would look like a hang.
note "building bzImage and modules with gcc-12, -j$jobs (log: $kdir/build.log)"
kmake -j"$jobs" bzImage modules >"$kdir/build.log" 2>&1 &
mpid=$!
trap 'kill "$mpid" 2>/dev/null || true' EXIT INT TERM
while kill -0 "$mpid" 2>/dev/null; do
	for ((i = 0; i < 60; i++)); do
		sleep 1
		kill -0 "$mpid" 2>/dev/null || break
	done
	kill -0 "$mpid" 2>/dev/null || break
	n=$(grep -cE '^  (CC|AS|LD|AR)' "$kdir/build.log") || true
	note "$((SECONDS - start))s: $n files compiled or linked; last: $(tail -n 1 "$kdir/build.log" | cut -c1-70)"
done
set +e
wait "$mpid"
rc=$?
set -e
trap - EXIT INT TERM
if [[ $rc != 0 ]]; then
	grep -E 'error|Error' "$kdir/build.log" | head -n 30 >&2
	die "kernel build failed (exit $rc); log: $kdir/build.log"
fi
warnings=$(grep -c 'warning:' "$kdir/build.log") || true
[[ $warnings == 0 ]] || note "$warnings compiler warning(s) in $kdir/build.log"

release=$(kmake -s kernelrelease)
cp "$obj/arch/x86/boot/bzImage" "$kdir/bzImage"
cp "$obj/drivers/block/brd.ko" "$kdir/brd.ko"
echo "$release" >"$kdir/release"
# The objects of vmlinux itself are not needed to build modules (vmlinux.o
# is the largest of them, about a third of the tree).
rm -f "$obj/vmlinux.o"
touch "$kdir/done"
note "built $release in $((SECONDS - start))s: $kdir ($(du -sh "$kdir" | cut -f1))"
echo "$kdir"
