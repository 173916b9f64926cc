#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-headers.sh - print a kernel build directory (KDIR) for <release>.
#
# When linux-headers-<release> is installed, that is /lib/modules/<release>/build.
# Otherwise the headers are fetched like the VM's kernel images: the packages
# linux-headers-<release>, its -common and its linux-kbuild are fetched with
# 'apt-get download', unpacked with 'dpkg-deb -x' into a cache outside the
# checkout, and the one absolute path in them (the arch Makefile's include of
# the common tree) is pointed into the cache. Only what the packaged build
# tools need to run (libelf, libssl, pahole, ...) is installed, as usual.
#
# Why not install them: some headers packages (Debian 12's 6.12) depend on
# their kernel image, so installing them would put a new kernel into /boot
# and make it the default at the next reboot of the user's machine.
#
# Cache layout: $MMLAB_CACHE/headers/<release>/
#     root/usr/src/linux-headers-<release>/   the KDIR printed
#     package                                  "<name> <version>" unpacked
set -euo pipefail

usage() {
	cat <<EOF
usage: ${0##*/} <release>

Print the kernel build directory for <release>: the installed headers', or
one unpacked from Debian's packages into \${MMLAB_CACHE:-/var/cache/mmlab}/headers/.
MMLAB_HEADERS=cache forces the cache even when the headers are installed.

Example: make -C "\$(${0##*/} 6.12.117+deb12-amd64)" M=\$PWD modules
EOF
}

die() { echo "${0##*/}: $*" >&2; exit 1; }
log() { echo "${0##*/}: $*" >&2; }

[[ $# -eq 1 ]] || { usage >&2; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac
rel=$1
[[ $rel =~ ^[0-9]+\.[0-9]+[A-Za-z0-9.+~-]*$ ]] || die "bad release '$rel'"

if [[ ${MMLAB_HEADERS:-} != cache && -f /lib/modules/$rel/build/Makefile ]]; then
	echo "/lib/modules/$rel/build"
	exit 0
fi

cache=${MMLAB_CACHE:-/var/cache/mmlab}
dir=$cache/headers/$rel
kdir=$dir/root/usr/src/linux-headers-$rel
hdr=linux-headers-$rel

ver=$(apt-cache policy "$hdr" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }')
[[ -n $ver && $ver != "(none)" ]] || die "$hdr is unknown to apt (try apt-get update)"

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9


# The -common and kbuild packages are named in the headers' Depends line.
deps=$(apt-cache show "$hdr=$ver" | awk -F': ' '$1 == "Depends" { print $2; exit }')
pkgs=("$hdr=$ver")
IFS=',' read -ra dep_list <<<"$deps"
for d in "${dep_list[@]}"; do
	d=${d%%|*}
	name=$(awk '{ print $1 }' <<<"$d")
	case "$name" in
	linux-headers-*-common*|linux-kbuild-*)
		dver=$(sed -n 's/.*(= *\([^)]*\)).*/\1/p' <<<"$d")
		if [[ -z $dver ]]; then
			dver=$(apt-cache policy "$name" | awk '$1 == "Candidate:" { print $2; exit }')
		fi
		pkgs+=("$name=$dver") ;;
	esac
done
[[ ${#pkgs[@]} -ge 3 ]] || die "$hdr=$ver: expected -common and kbuild dependencies, got: $deps"

# What the unpacked tools need to run (kbuild's objtool, modpost and
# resolve_btfids link libelf/libssl; 6.12's BTF step runs pahole) is
# installed as usual: those packages bring no kernel image along.
runtime=()
for p in "${pkgs[@]}"; do
	pdeps=$(apt-cache show "$p" | awk -F': ' '$1 == "Depends" { print $2; exit }')
	IFS=',' read -ra pdep_list <<<"$pdeps"
	for d in "${pdep_list[@]}"; do
		d=${d%%|*}
		name=$(awk '{ print $1 }' <<<"$d")
		case "$name" in
		''|linux-*) ;;
		*) runtime+=("$name") ;;
		esac
	done
done
# Only what is missing: "Inst name (" is a new package, "Inst name [old]"
# an upgrade, which is not this script's business (--no-upgrade).
missing=""
if [[ ${#runtime[@]} -gt 0 ]]; then
	missing=$(apt-get install -s -q --no-upgrade --no-install-recommends "${runtime[@]}" 2>/dev/null |
		sed -nE 's/^Inst ([^ ]+) \(.*/\1/p' | tr '\n' ' ')
fi
if [[ -n $missing ]]; then
	log "installing what the kernel's build tools need: $missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-upgrade --no-install-recommends \
		"${runtime[@]}" >&2 || die "apt-get install ${runtime[*]} failed"
fi

if [[ -f $kdir/Makefile && -f $dir/package ]]; then
	read -r have_pkg have_ver <"$dir/package" || true
	if [[ ${have_ver:-} == "$ver" ]]; then
		echo "$kdir"
		exit 0
	fi
	log "cache holds ${have_pkg:-?} ${have_ver:-?}, want $ver: refetching"
fi

tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "downloading ${pkgs[*]}"
(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "${pkgs[@]}" >&2) ||
	die "apt-get download ${pkgs[*]} failed"
mkdir "$tmp/root"
for deb in "$tmp"/*.deb; do
	dpkg-deb -x "$deb" "$tmp/root"
done
mk=$tmp/root/usr/src/linux-headers-$rel/Makefile
[[ -f $mk ]] || die "$hdr has no usr/src/linux-headers-$rel/Makefile"

# Point the absolute include at the cache (where the tree will live).
sed -i "s|^include /usr/src/|include $dir/root/usr/src/|" "$mk"
grep -q "^include $dir/root/usr/src/" "$mk" || die "unexpected $mk: $(cat "$mk")"

rm -rf "$dir/root" "$dir/package"
mv "$tmp/root" "$dir/root"
echo "$hdr $ver" >"$dir/package"
log "unpacked ${pkgs[*]} into $dir/root"
echo "$kdir"
