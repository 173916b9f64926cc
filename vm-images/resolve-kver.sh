#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# resolve-kver.sh - print the exact kernel release (e.g. 6.1.0-56-amd64) that a
# Debian kernel flavour currently points at, by resolving the metapackages'
# dependencies in apt's package lists. Nothing is hard-coded: old ABI builds
# leave the archive, so the answer changes with the archive.
#
#   flavour  headers metapackage        image metapackage
#   6.1      linux-headers-amd64        linux-image-amd64
#   6.12     linux-headers-6.12-amd64   linux-image-6.12-amd64
#   6.12-rt  linux-headers-6.12-rt-amd64 linux-image-6.12-rt-amd64 (PREEMPT_RT)
#
# The candidate versions of both metapackages must name the same release;
# otherwise the archive is mid-update and the script fails.
set -euo pipefail

usage() {
	cat <<EOF
usage: ${0##*/} <flavour>

Print the kernel release that Debian's metapackages for <flavour> depend on.

  flavour   6.1   (linux-headers-amd64 / linux-image-amd64)
            6.12  (linux-headers-6.12-amd64 / linux-image-6.12-amd64)
            6.12-rt (linux-headers-6.12-rt-amd64 / linux-image-6.12-rt-amd64,
                  Debian's PREEMPT_RT build of 6.12)

Runs 'apt-get update' only if apt's package lists are missing.
Example: ${0##*/} 6.1   ->   6.1.0-56-amd64
EOF
}

die() { echo "${0##*/}: $*" >&2; exit 1; }

[[ $# -eq 1 ]] || { usage >&2; exit 2; }
case "$1" in
-h|--help) usage; exit 0 ;;
6.1)  hdr_meta=linux-headers-amd64;      img_meta=linux-image-amd64 ;;
6.12) hdr_meta=linux-headers-6.12-amd64; img_meta=linux-image-6.12-amd64 ;;
6.12-rt) hdr_meta=linux-headers-6.12-rt-amd64; img_meta=linux-image-6.12-rt-amd64 ;;
*) usage >&2; exit 2 ;;
esac

# Package lists present? (Debian's docker-style images ship without them.)
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
	echo "${0##*/}: apt lists missing, running apt-get update" >&2
	apt-get update -qq >&2 || die "apt-get update failed"
fi

# candidate_version PKG: the version apt would install.
candidate_version() {
	apt-cache policy "$1" 2>/dev/null |
		awk '$1 == "Candidate:" { print $2; exit }'
}

# release_of META PREFIX: the release named by META's candidate Depends:
# "Depends: linux-headers-6.1.0-56-amd64 (= 6.1.192-2)" -> "6.1.0-56-amd64".
release_of() {
	local meta=$1 prefix=$2 ver dep
	ver=$(candidate_version "$meta")
	[[ -n $ver && $ver != "(none)" ]] ||
		die "no candidate version for $meta (apt lists stale? try apt-get update; Debian 12 ships 6.12 and the current 6.1 from bookworm-security and bookworm-updates: are they in apt's sources?)"
	dep=$(apt-cache show "$meta=$ver" 2>/dev/null |
		awk -F': ' '$1 == "Depends" { print $2; exit }')
	[[ -n $dep ]] || die "$meta=$ver has no Depends line"
	# First alternative of the first dependency that starts with PREFIX.
	local d
	IFS=',' read -ra deps <<<"$dep"
	for d in "${deps[@]}"; do
		d=${d%%|*}
		d=${d%%(*}
		d=${d//[[:space:]]/}
		if [[ $d == "$prefix"* ]]; then
			echo "${d#"$prefix"}"
			return 0
		fi
	done
	die "$meta=$ver does not depend on a ${prefix}<release> package: $dep"
}

hdr_rel=$(release_of "$hdr_meta" linux-headers-)
img_rel=$(release_of "$img_meta" linux-image-)
[[ $hdr_rel == "$img_rel" ]] ||
	die "$hdr_meta -> $hdr_rel but $img_meta -> $img_rel (archive mid-update?)"
[[ $hdr_rel =~ ^[0-9]+\.[0-9]+[^[:space:]/]*$ ]] ||
	die "unexpected release string '$hdr_rel'"
echo "$hdr_rel"
