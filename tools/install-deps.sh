#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# install-deps.sh - install, from Debian's archive, every package mmlab's build,
# VM and tests need, and nothing that is already there. Run by the Makefile
# before `make`, `make run` and `make check`; safe to run again.
#
#   tools/install-deps.sh [--kernels "6.1 6.12"] [--release REL] [--tests]
#
# --kernels  which Debian kernel flavours to install headers for (default 6.1)
# --release  install headers for this exact release instead (e.g. make KVER=)
# --tests    also what the host tests need (cmake, GoogleTest, clang)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
flavours="6.1"
releases=""
tests=0
while [[ $# -gt 0 ]]; do
	case "$1" in
	--kernels) flavours=$2; shift 2 ;;
	--release) releases="$releases $2"; flavours=""; shift 2 ;;
	--tests) tests=1; shift ;;
	-h|--help) sed -n '3,13p' "$0"; exit 0 ;;
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
      qemu-system-x86 busybox-static linux-source-6.1)
for f in $flavours; do
	rel=$("$here/../vm-images/resolve-kver.sh" "$f")
	pkgs+=("linux-headers-$rel")
done
for rel in $releases; do
	pkgs+=("linux-headers-$rel")
done
if [[ $tests == 1 ]]; then
	pkgs+=(cmake libgtest-dev googletest clang-14 libclang-rt-14-dev)
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
	apt-get update -qq
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
