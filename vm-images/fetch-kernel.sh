#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-kernel.sh - fetch Debian's kernel image package for <release> with
# 'apt-get download', unpack it with 'dpkg-deb -x' into a cache outside the
# checkout, and print the path of its vmlinuz. Installs nothing.
#
# The image must be the exact build of the installed linux-headers-<release>
# (modules are built against those headers), so the version is taken from
# dpkg's record of the headers package. The image package is called
# linux-image-<release> (signed) or linux-image-<release>-unsigned; whichever
# exists at that version is used (signed first).
#
# Cache layout: $MMLAB_CACHE/kernels/<release>/
#     root/boot/vmlinuz-<release>   unpacked package
#     root/boot/config-<release>
#     package                       "<name> <version>" of what was unpacked
# A cache whose 'package' matches is reused as is.
set -euo pipefail

usage() {
	cat <<EOF
usage: ${0##*/} <release>

Fetch and unpack Debian's linux-image-<release> (same version as the installed
linux-headers-<release>) into \${MMLAB_CACHE:-/var/cache/mmlab}/kernels/<release>/
and print the path of the vmlinuz. Reuses the cache when it is current.

Example: ${0##*/} 6.1.0-56-amd64
EOF
}

die() { echo "${0##*/}: $*" >&2; exit 1; }
log() { echo "${0##*/}: $*" >&2; }

[[ $# -eq 1 ]] || { usage >&2; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac
rel=$1
[[ $rel =~ ^[0-9]+\.[0-9]+[A-Za-z0-9.+~-]*$ ]] || die "bad release '$rel'"

cache=${MMLAB_CACHE:-/var/cache/mmlab}
dir=$cache/kernels/$rel
vmlinuz=$dir/root/boot/vmlinuz-$rel

# Version: that of the installed headers; else apt's candidate for the image.
ver=$(dpkg-query -W -f='${Status} ${Version}\n' "linux-headers-$rel" 2>/dev/null |
	awk '$1 == "install" && $3 == "installed" { print $4 }') || true
if [[ -z $ver && -f $cache/headers/$rel/package ]]; then
	# Headers unpacked by fetch-headers.sh instead of installed.
	read -r _ ver <"$cache/headers/$rel/package" || true
fi
if [[ -z $ver ]]; then
	ver=$(apt-cache policy "linux-image-$rel" 2>/dev/null |
		awk '$1 == "Candidate:" { print $2; exit }')
	[[ -n $ver && $ver != "(none)" ]] ||
		die "linux-headers-$rel not installed and linux-image-$rel unknown to apt"
	log "warning: linux-headers-$rel not installed; using image version $ver"
fi

mkdir -p "$dir"
# One fetcher per release at a time (parallel 'make check' runs).
exec 9>"$dir/.lock"
flock 9

if [[ -f $vmlinuz && -f $dir/package ]]; then
	read -r have_pkg have_ver <"$dir/package" || true
	if [[ ${have_ver:-} == "$ver" ]]; then
		echo "$vmlinuz"
		exit 0
	fi
	log "cache holds ${have_pkg:-?} ${have_ver:-?}, want $ver: refetching"
fi

pkg=
for cand in "linux-image-$rel" "linux-image-$rel-unsigned"; do
	if apt-cache show "$cand=$ver" >/dev/null 2>&1; then
		pkg=$cand
		break
	fi
done
if [[ -z $pkg ]]; then
	die "neither linux-image-$rel nor linux-image-$rel-unsigned at version $ver in apt's lists (try apt-get update; the build may have left the archive)"
fi

tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "downloading $pkg=$ver"
# The download dir is root's: don't drop to apt's sandbox user (_apt).
(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$ver" >&2) || die "apt-get download $pkg=$ver failed"
deb=$(compgen -G "$tmp/*.deb" | head -n1) || true
[[ -n $deb ]] || die "apt-get download produced no .deb"
mkdir "$tmp/root"
dpkg-deb -x "$deb" "$tmp/root"
[[ -f $tmp/root/boot/vmlinuz-$rel ]] || die "$pkg has no /boot/vmlinuz-$rel"

rm -rf "$dir/root" "$dir/package"
mv "$tmp/root" "$dir/root"
echo "$pkg $ver" >"$dir/package"
log "unpacked $pkg $ver into $dir/root"
echo "$vmlinuz"
