#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# install-deps.sh - install, from Debian's archive, every package mmlab's build,
# VM and tests need, and nothing that is already there. Run by the Makefile
# before `make`, `make run` and `make check`; safe to run again.
#
#   tools/install-deps.sh [--kernels "6.1 6.12"] [--release REL] [--tests]
#                         [--debug-kernel]
#
# --kernels  which Debian kernel flavours to install headers for (default 6.1)
# --release  install headers for this exact release instead (e.g. make KVER=)
# --tests    also what the host tests need (cmake, GoogleTest, clang)
# --debug-kernel  also what building the debug kernel from linux-source-6.1
#            needs (vm-images/build-debug-kernel.sh)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
orig_args=("$@")
flavours="6.1"
releases=""
kpkgs=()
tests=0
debugk=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	--kernels) flavours=$2; shift 2 ;;
	--release) releases="$releases $2"; flavours=""; shift 2 ;;
	--tests) tests=1; shift ;;
	--debug-kernel) debugk=1; shift ;;
	-h|--help) sed -n '3,16p' "$0"; exit 0 ;;
	*) echo "${0##*/}: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

export DEBIAN_FRONTEND=noninteractive

# Package lists are needed to resolve kernel releases; fetch them once.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
	echo "install-deps: apt-get update" >&2
	apt-get update -qq
fi

pkgs=(make gcc gcc-12 g++-12 binutils libc6-dev kmod cpio gzip xz-utils
      qemu-system-x86 busybox-static linux-source-6.1 python3)
# resolve_flavours: linux-headers-<release> for every flavour, into kpkgs[].
resolve_flavours() {
	local f rel
	kpkgs=()
	for f in $flavours; do
		rel=$("$here/../vm-images/resolve-kver.sh" "$f") || return 1
		kpkgs+=("linux-headers-$rel")
	done
}
# Lists present but stale (e.g. made before bookworm-security was in the
# sources, or before 6.12 reached it): refresh once and resolve every flavour
# again, so that all of them come from the same, current lists.
if ! resolve_flavours 2>/dev/null; then
	echo "install-deps: a kernel flavour does not resolve; apt-get update" >&2
	apt-get update -qq
	resolve_flavours
fi
for rel in $releases; do
	kpkgs+=("linux-headers-$rel")
done
# Headers that depend on their kernel image (Debian 12's 6.12) would put a
# new kernel into /boot and make it the next boot's default: those are left
# to vm-images/fetch-headers.sh, which unpacks them into a cache instead.
for p in "${kpkgs[@]}"; do
	if apt-cache show "$p" 2>/dev/null | grep -E '^Depends:' | grep -q 'linux-image-'; then
		echo "install-deps: $p depends on its kernel image; not installing it (fetch-headers.sh unpacks it into the cache)" >&2
	else
		pkgs+=("$p")
	fi
done
if [[ $tests == 1 ]]; then
	pkgs+=(cmake libgtest-dev googletest clang-14 libclang-rt-14-dev)
fi

if [[ $debugk == 1 ]]; then
	pkgs+=(linux-source-6.1 bc bison flex libelf-dev libssl-dev dwarves perl xz-utils)
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
		missing+=("$p")
	fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
	# Lists may be stale (an old kernel ABI left the archive): refresh once.
	# A flavour may then resolve to a newer release; the callers resolve it
	# again after this script (the Makefile does so lazily).
	[[ -z ${MMLAB_DEPS_RETRY:-} ]] || exit 1
	apt-get update -qq
	MMLAB_DEPS_RETRY=1 exec "$0" "${orig_args[@]}"
fi
