#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-test.sh - run the mmlab kselftests in a VM on one Debian kernel:
# fetch the kernel, build the selftests (if needed), build the initramfs
# with selftests/run-in-vm.sh as the guest script, boot it, and report.
#
# stdout carries only the guest's TAP, comment lines for failures of the VM
# run itself (kernel splat, timeout, missing marker), and one closing line
#     # <release>/mmlab-vm: N passed, M failed
# where a failed VM run adds one failure to the guest's count. Progress and
# diagnostics go to stderr; the whole serial console goes to the log.
# Exit status 0 only if M is 0.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)

usage() {
	cat <<EOF
usage: ${0##*/} {--kver RELEASE | --kernel-dir DIR} --module MMLAB.KO [--client CLIENT.KO]
                  [--selftests-dir DIR] [--examples-dir DIR] [--log FILE]
                  [--param NAME=VALUE]... [--extra-module KO]... [--timeout SECS]
                  [--mem SIZE] [--cpus N] [--append ARGS] [--expect CLASSES]
                  [--only "PROG..."] [--skip "PROG..."] [--test-timeout SECS]
                  [--suite NAME]

  --kver RELEASE       Debian kernel release, e.g. \$(vm-images/resolve-kver.sh 6.1)
  --kernel-dir DIR     boot a kernel built here instead: DIR/bzImage, its
                       release in DIR/release, brd.ko from DIR/brd.ko (the
                       debug kernel: vm-images/build-debug-kernel.sh)
  --module MMLAB.KO    mmlab.ko built for RELEASE
  --client CLIENT.KO   mmlab_client.ko built against that mmlab.ko; the guest
                       loads it after the selftests (default: DIR/mmlab_client/
                       mmlab_client.ko beside MMLAB.KO, as check-modules builds
                       it, if it exists; --client none: without it)
  --selftests-dir DIR  where the selftest binaries are built (default
                       $top/build/selftests); 'make -C selftests/mmlab OUT=DIR'
                       runs first and does nothing when they are up to date
  --examples-dir DIR   where the examples/mmdev programs are built (default
                       $top/build/examples), the same way; shipped in the
                       guest's /mmlab/examples/, where the 'examples'
                       selftest runs each one
  --log FILE           serial console log (default $top/build/vm/RELEASE.log)
  --param NAME=VALUE   module parameter for insmod (repeatable)
  --extra-module KO    another module to put into /lib/mmlab/ (repeatable)
  --timeout SECS       whole VM run (default 300)
  --append ARGS        more kernel command line (e.g. kasan_multi_shot)
  --expect CLASSES     kernel reports the guest makes on purpose, e.g.
                       kasan,kmemleak: not failures (tools/scan-kernel-log.sh)
  --only "PROG..."     run only these selftest programs
  --skip "PROG..."     run every selftest program but these
  --test-timeout SECS  the guest's limit per selftest program (default 600)
  --suite NAME         name in the closing line (default mmlab-vm)
  --mem SIZE, --cpus N guest memory (default 6G) and vCPUs (default 2). 6G
                       puts memory on both sides of 4 GiB, so the guest has a
                       ZONE_NORMAL as well as a ZONE_DMA32 (the zone tests
                       need both); TCG allocates guest RAM only when touched

environment: MMLAB_ACCEL=kvm|tcg, MMLAB_CACHE (see run-vm.sh, fetch-kernel.sh)

Example:
  ${0##*/} --kver 6.1.0-56-amd64 --module build/kbuild/6.1.0-56-amd64/mmlab.ko \\
      --log build/results/vm-6.1.0-56-amd64.log
EOF
}

die() { echo "${0##*/}: $*" >&2; exit 2; }
note() { echo "${0##*/}: $*" >&2; }

kver='' module='' client='' stdir=$top/build/selftests exdir=$top/build/examples log='' tmo=300 mem=6G cpus=2
kernel_dir='' append='' expect='' only='' skip='' test_tmo='' suite=mmlab-vm
params=() extra=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--kver) kver=${2:?}; shift 2 ;;
	--module) module=${2:?}; shift 2 ;;
	--client) client=${2:?}; shift 2 ;;
	--selftests-dir) stdir=${2:?}; shift 2 ;;
	--examples-dir) exdir=${2:?}; shift 2 ;;
	--log) log=${2:?}; shift 2 ;;
	--param) params+=("${2:?}"); shift 2 ;;
	--extra-module) extra+=("${2:?}"); shift 2 ;;
	--timeout) tmo=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--cpus) cpus=${2:?}; shift 2 ;;
	--kernel-dir) kernel_dir=${2:?}; shift 2 ;;
	--append) append=${2?}; shift 2 ;;
	--expect) expect=${2?}; shift 2 ;;
	--only) only=${2?}; shift 2 ;;
	--skip) skip=${2?}; shift 2 ;;
	--test-timeout) test_tmo=${2:?}; shift 2 ;;
	--suite) suite=${2:?}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
if [[ -n $kernel_dir ]]; then
	[[ -f $kernel_dir/bzImage && -f $kernel_dir/release ]] ||
		die "--kernel-dir $kernel_dir: no bzImage and release there (vm-images/build-debug-kernel.sh)"
	krel=$(cat "$kernel_dir/release")
	[[ -z $kver || $kver == "$krel" ]] || die "--kver $kver, but $kernel_dir holds $krel"
	kver=$krel
fi
[[ -n $kver && -n $module ]] || { usage >&2; exit 2; }
[[ -z $test_tmo ]] || [[ $test_tmo =~ ^[0-9]+$ ]] || die "--test-timeout wants seconds"
[[ -f $module ]] || die "module '$module' not found (build it first: make KVER=$kver)"
if [[ -z $client ]]; then
	client=$(dirname "$module")/mmlab_client/mmlab_client.ko
	[[ -f $client ]] || client=none
fi
if [[ $client != none ]]; then
	[[ -f $client ]] || die "client module '$client' not found"
	cvm=$(modinfo -F vermagic "$client" 2>/dev/null | cut -d' ' -f1) || true
	[[ $cvm == "$kver" ]] || die "$client is built for '${cvm:-?}', not $kver"
fi
log=${log:-$top/build/vm/$kver.log}
mkdir -p "$(dirname "$log")"
log=$(cd "$(dirname "$log")" && pwd)/$(basename "$log")

# The module must be built for this very kernel, or insmod fails obscurely.
vermagic=$(modinfo -F vermagic "$module" 2>/dev/null | cut -d' ' -f1) || true
[[ $vermagic == "$kver" ]] ||
	die "$module is built for '${vermagic:-?}', not $kver"

# QEMU reserves the guest's RAM up front but TCG only touches what the guest
# uses (here well under 1 GiB), so a host with less free memory than --mem
# still works; say so when that is the case.
mem_kib() {
	local n=${1%[GgMmKk]} u=${1: -1}
	case $u in
	G|g) echo $((n << 20)) ;;
	M|m) echo $((n << 10)) ;;
	K|k) echo "$n" ;;
	*) echo $((${1} >> 10)) ;;
	esac
}
avail=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo 2>/dev/null) || true
if [[ $mem =~ ^[0-9]+[GgMmKk]?$ && -n $avail ]] && (($(mem_kib "$mem") > avail)); then
	note "guest memory $mem exceeds the host's available $((avail >> 10)) MiB; relying on lazy allocation"
fi

start=$SECONDS
if [[ -n $kernel_dir ]]; then
	vmlinuz=$kernel_dir/bzImage
else
	vmlinuz=$("$here/fetch-kernel.sh" "$kver")
fi

note "building selftests into $stdir"
make -s -C "$top/selftests/mmlab" OUT="$stdir" >&2 || die "selftest build failed"
note "building examples into $exdir"
make -s -C "$top/examples/mmdev" OUT="$exdir" >&2 || die "example build failed"
# The VM's slabtop (docs/pagemap.md), at /bin/mmlab-slabtop in the guest.
make -s -C "$top/tools/slabtop" OUT="$top/build/tools" >&2 || die "mmlab-slabtop build failed"

work=$(mktemp -d /tmp/mmlab-vm-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
initrd=$work/initramfs.cpio.gz
# The guest loads /lib/mmlab/mmlab.ko, whatever the file was called here.
cp "$module" "$work/mmlab.ko"
mods=(-m "$work/mmlab.ko")
[[ $client == none ]] || mods+=(-m "$client")
for m in "${extra[@]}"; do mods+=(-m "$m"); done
# brd (a RAM block device) from this kernel's own package, for the O_DIRECT
# test of /dev/mmlab (mmdev_gup): tmpfs has no O_DIRECT, and the guest has no
# other block device. The guest test loads /lib/mmlab/brd.ko itself; Debian
# ships it xz-compressed from 6.12 on, and busybox's finit_module path wants
# it plain.
if [[ -n $kernel_dir ]]; then
	brd=$(ls "$kernel_dir"/brd.ko 2>/dev/null) || true
else
	brd=$(find "$(dirname "$(dirname "$vmlinuz")")/lib/modules/$kver/kernel/drivers/block" \
		-maxdepth 1 -name 'brd.ko*' 2>/dev/null | head -n 1)
fi
case $brd in
'') note "no brd.ko in the $kver package: the O_DIRECT test will fail" ;;
*.xz) xz -dc "$brd" >"$work/brd.ko"; mods+=(-m "$work/brd.ko") ;;
*.zst) zstd -qdc "$brd" >"$work/brd.ko"; mods+=(-m "$work/brd.ko") ;;
*) cp "$brd" "$work/brd.ko"; mods+=(-m "$work/brd.ko") ;;
esac
# --only/--skip: the chosen programs, in a folder of their own.
tdir=$stdir
if [[ -n $only || -n $skip ]]; then
	tdir=$work/selftests
	mkdir -p "$tdir"
	for t in "$stdir"/*; do
		[[ -f $t && -x $t ]] || continue
		name=${t##*/}
		[[ -z $only || " $only " == *" $name "* ]] || continue
		[[ " $skip " != *" $name "* ]] || continue
		cp "$t" "$tdir/"
	done
	for name in $only; do
		[[ -f $tdir/$name ]] || die "--only $name: no such selftest program in $stdir"
	done
	[[ -n $(ls "$tdir") ]] || die "--only/--skip left no selftest program to run"
fi
"$here/mkinitramfs.sh" -o "$initrd" -s "$top/selftests/run-in-vm.sh" "${mods[@]}" \
	-t "$tdir" -f "$exdir:/mmlab/examples" -f "$top/build/tools/mmlab-slabtop:/bin/mmlab-slabtop" \
	-- "${params[@]}"
# Words of the form NAME=VALUE without a dot on the kernel command line
# reach /init's environment, hence the guest script's.
[[ -z $test_tmo ]] || append="MMLAB_TEST_TIMEOUT=$test_tmo${append:+ $append}"

# Stream the guest's TAP to stdout: from its "TAP version 13" on, every line
# that is neither kernel output (printk timestamp) nor /init's bookkeeping.
set +e
"$here/run-vm.sh" -k "$vmlinuz" -i "$initrd" -l "$log" -t "$tmo" -m "$mem" -c "$cpus" \
	-r "$work/reasons" ${append:+-a "$append"} ${expect:+-e "$expect"} |
	awk '{ sub(/\r$/, "") }
	     /^TAP version 13$/ { on = 1 }
	     on && !/^\[ *[0-9]+\.[0-9]+\]/ && !/^MMLAB-(EXIT-STATUS|TAINT|NONCE):/ && !/^mmlab-init:/ {
		print; fflush()
	     }'
vmrc=${PIPESTATUS[0]}
set -e

summary=$(tr -d '\r' <"$log" | grep -E '^# mmlab-vm: [0-9]+ passed, [0-9]+ failed$' | tail -n 1) || true
passed=0 failed=0
if [[ $summary =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
	passed=${BASH_REMATCH[1]}
	failed=${BASH_REMATCH[2]}
else
	echo "# vm: the guest printed no '# mmlab-vm: N passed, M failed' line"
	failed=$((failed + 1))
fi

# Failures of the run itself (not the guest's own status) count once more.
vm_reasons=()
if [[ -s $work/reasons ]]; then
	mapfile -t vm_reasons < <(grep -v '^guest exit status [0-9]*$' "$work/reasons" || true)
fi
if [[ ${#vm_reasons[@]} -gt 0 ]]; then
	printf '# vm: FAIL: %s\n' "${vm_reasons[@]}"
	failed=$((failed + 1))
elif [[ $vmrc -ne 0 && $failed -eq 0 ]]; then
	echo "# vm: run-vm.sh exited $vmrc"
	failed=1
fi

echo "# $kver/$suite: $passed passed, $failed failed"
note "$kver/$suite: $passed passed, $failed failed in $((SECONDS - start))s; log: $log"
[[ $failed -eq 0 ]]
