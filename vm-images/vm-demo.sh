#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-demo.sh - what `make run` does after building: boot Debian's kernel in
# QEMU with mmlab.ko in an initramfs and play vm-images/demo-guest.sh, a
# narrated tour of the allocators. With --client, the exported API's test
# module is loaded too; with --examples, the examples/mmdev programs (static
# binaries in DIR) run in the /dev/mmlab part. The console log is kept.
#
#   vm-images/vm-demo.sh --kver <release> --module <mmlab.ko> [--client <mmlab_client.ko>]
#                        [--examples DIR] [--out DIR]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
kver='' module='' client='' examples='' out=$top/build/run
while [[ $# -gt 0 ]]; do
	case "$1" in
	--kver) kver=${2:?}; shift 2 ;;
	--module) module=${2:?}; shift 2 ;;
	--client) client=${2:?}; shift 2 ;;
	--examples) examples=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	-h|--help) sed -n '3,11p' "$0"; exit 0 ;;
	*) echo "${0##*/}: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ -n $kver && -f $module ]] || { sed -n '10,11p' "$0" >&2; exit 2; }

mkdir -p "$out"
echo "vm-demo: kernel $kver (Debian's image, fetched into the cache if needed)"
vmlinuz=$("$here/fetch-kernel.sh" "$kver")
"$here/mkinitramfs.sh" -o "$out/demo.cpio.gz" -s "$here/demo-guest.sh" -m "$module" \
	${client:+-m "$client"} ${examples:+-f "$examples:/mmlab/examples"} >/dev/null
echo "vm-demo: booting (console log: $out/console.log)"
"$here/run-vm.sh" -k "$vmlinuz" -i "$out/demo.cpio.gz" -l "$out/console.log" \
	-m 6G -c 2 -t 300
echo "vm-demo: done; the whole console is in $out/console.log"
