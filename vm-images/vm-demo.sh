#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-demo.sh - what `make run` does after building: boot Debian's kernel in
# QEMU with mmlab.ko in an initramfs and play vm-images/demo-guest.sh, a
# narrated tour of the allocators. With --client, the exported API's test
# module is loaded too; with --examples, the examples/mmdev programs (static
# binaries in DIR) run in the /dev/mmlab part; with --slabtop, that program
# is /mmlab/bin/mmlab-slabtop in the guest. The console log is kept in
# OUT (default build/run).
#
# Afterwards every file the guest printed between "MMLAB-SAVE-BEGIN <name>"
# and "MMLAB-SAVE-END" is extracted into SAVED (default OUT/out, emptied
# first), tools/mmlab-plot draws it into SAVED/images, and the last lines say
# where ("images: <path>"). Exit status: the VM's if it failed, else 1 if
# saved data could not be extracted or plotted (docs/pictures.md).
#
#   vm-images/vm-demo.sh --kver <release> --module <mmlab.ko> [--client <mmlab_client.ko>]
#                        [--examples DIR] [--slabtop PROG] [--out DIR] [--saved DIR]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
kver='' module='' client='' examples='' slabtop='' out=$top/build/run saved=''
while [[ $# -gt 0 ]]; do
	case "$1" in
	--kver) kver=${2:?}; shift 2 ;;
	--module) module=${2:?}; shift 2 ;;
	--client) client=${2:?}; shift 2 ;;
	--examples) examples=${2:?}; shift 2 ;;
	--slabtop) slabtop=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--saved) saved=${2:?}; shift 2 ;;
	-h|--help) sed -n '3,19p' "$0"; exit 0 ;;
	*) echo "${0##*/}: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ -n $kver && -f $module ]] || { sed -n '18,19p' "$0" >&2; exit 2; }
saved=${saved:-$out/out}

mkdir -p "$out"
echo "vm-demo: kernel $kver (Debian's image, fetched into the cache if needed)"
vmlinuz=$("$here/fetch-kernel.sh" "$kver")
"$here/mkinitramfs.sh" -o "$out/demo.cpio.gz" -s "$here/demo-guest.sh" -m "$module" \
	${client:+-m "$client"} ${examples:+-f "$examples:/mmlab/examples"} \
	${slabtop:+-f "$slabtop:/mmlab/bin/mmlab-slabtop"} >/dev/null
echo "vm-demo: booting (console log: $out/console.log)"
status=0
"$here/run-vm.sh" -k "$vmlinuz" -i "$out/demo.cpio.gz" -l "$out/console.log" \
	-m 6G -c 2 -t 300 || status=$?
echo "vm-demo: done; the whole console is in $out/console.log"

# What the guest saved, and its pictures.
rm -rf "$saved"
mkdir -p "$saved"
saved=$(cd "$saved" && pwd)
plot=0
if ! "$top/tools/mmlab-plot" --extract "$out/console.log" "$saved" >"$out/saved.list"; then
	echo "vm-demo: could not extract the saved files from $out/console.log" >&2
	plot=1
fi
if [[ -s $out/saved.list ]]; then
	echo "vm-demo: the guest saved into $saved: $(tr '\n' ' ' <"$out/saved.list")"
fi
if compgen -G "$saved/pagemap-*.txt" >/dev/null || [[ -f $saved/buddyinfo-series.txt ||
   -f $saved/replay-report.txt ]]; then
	if "$top/tools/mmlab-plot" "$saved" -o "$saved/images" >"$out/images.list"; then
		echo "images: $saved/images"
		sed 's|^.*/|  |' "$out/images.list"
	else
		echo "vm-demo: tools/mmlab-plot could not draw what the guest saved (above)" >&2
		plot=1
	fi
else
	echo "vm-demo: nothing saved to draw (this build has no page map, replay or buddyinfo series)"
fi
[[ $status == 0 ]] || exit "$status"
exit "$plot"
