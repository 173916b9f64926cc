#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vm-stress.sh - run the mmlab stress program (selftests/mmlab_stress,
# docs/stress.md) in a VM of its own on one Debian kernel: at least 4 vCPUs,
# fault injection on, a bounded time. The guest is the VM suite's
# (selftests/run-in-vm.sh) with mmlab_stress as its only program, so the
# same end checks apply: the API's test client loads and passes after the
# stress, rmmod returns every page to the host, and run-vm.sh fails the run
# on any kernel report.
#
# stdout carries the guest's TAP (the stress program's progress lines are
# TAP comments) and one closing line
#     # <release>/mmlab-stress: N passed, M failed
# Exit status 0 only if M is 0.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)

usage() {
	cat <<EOF
usage: ${0##*/} --kver RELEASE --module MMLAB.KO [--client CLIENT.KO] [--seconds N]
                    [--seed S] [--fail-percent P] [--cpus N] [--mem SIZE]
                    [--timeout SECS] [--log FILE]

  --kver RELEASE       Debian kernel release, e.g. \$(vm-images/resolve-kver.sh 6.12-rt)
  --module MMLAB.KO    mmlab.ko built for RELEASE
  --client CLIENT.KO   mmlab_client.ko built against it (default: DIR/mmlab_client/
                       mmlab_client.ko beside MMLAB.KO); the stress loads it with
                       stress_seconds=N in a loop; 'none': without it
  --seconds N          how long the stress runs (default 60)
  --seed S             seed of the random choices and the fault-injection sites
                       (default: the guest picks one and prints it)
  --fail-percent P     fault-injection probability per site, 0 = off (default 2)
  --cpus N             vCPUs (default 4: the stress wants at least 4)
  --mem SIZE           guest memory (default 6G, as vm-test.sh)
  --timeout SECS       whole VM run (default: seconds + 300)
  --log FILE           serial console log (default $top/build/vm/stress-RELEASE.log)

environment: MMLAB_ACCEL=kvm|tcg, MMLAB_CACHE (see run-vm.sh, fetch-kernel.sh)

Example:
  ${0##*/} --kver 6.1.0-57-amd64 --module build/kbuild/6.1.0-57-amd64/mmlab.ko --seconds 30
EOF
}

die() { echo "${0##*/}: $*" >&2; exit 2; }
note() { echo "${0##*/}: $*" >&2; }

kver='' module='' client='' seconds=60 seed='' failp=2 cpus=4 mem=6G tmo='' log=''
while [[ $# -gt 0 ]]; do
	case "$1" in
	--kver) kver=${2:?}; shift 2 ;;
	--module) module=${2:?}; shift 2 ;;
	--client) client=${2:?}; shift 2 ;;
	--seconds) seconds=${2:?}; shift 2 ;;
	--seed) seed=${2:?}; shift 2 ;;
	--fail-percent) failp=${2:?}; shift 2 ;;
	--cpus) cpus=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--timeout) tmo=${2:?}; shift 2 ;;
	--log) log=${2:?}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[[ -n $kver && -n $module ]] || { usage >&2; exit 2; }
[[ $seconds =~ ^[0-9]+$ && $failp =~ ^[0-9]+$ && $cpus =~ ^[0-9]+$ ]] ||
	die "--seconds, --fail-percent and --cpus take numbers"
[[ -z $seed || $seed =~ ^[0-9]+$ ]] || die "--seed takes a number"
[[ -f $module ]] || die "module '$module' not found (build it first: make KVER=$kver)"
vermagic=$(modinfo -F vermagic "$module" 2>/dev/null | cut -d' ' -f1) || true
[[ $vermagic == "$kver" ]] || die "$module is built for '${vermagic:-?}', not $kver"
if [[ -z $client ]]; then
	client=$(dirname "$module")/mmlab_client/mmlab_client.ko
	[[ -f $client ]] || client=none
fi
if [[ $client != none ]]; then
	[[ -f $client ]] || die "client module '$client' not found"
	cvm=$(modinfo -F vermagic "$client" 2>/dev/null | cut -d' ' -f1) || true
	[[ $cvm == "$kver" ]] || die "$client is built for '${cvm:-?}', not $kver"
	modinfo -F parm "$client" | grep -q '^stress_seconds:' ||
		die "$client has no stress_seconds parameter (rebuild it)"
fi
tmo=${tmo:-$((seconds + 300))}
log=${log:-$top/build/vm/stress-$kver.log}
mkdir -p "$(dirname "$log")"
log=$(cd "$(dirname "$log")" && pwd)/$(basename "$log")

start=$SECONDS
vmlinuz=$("$here/fetch-kernel.sh" "$kver")
note "building the stress program"
make -s -C "$top/selftests/mmlab_stress" OUT="$top/build/stress" >&2 || die "build failed"

work=$(mktemp -d /tmp/mmlab-vm-stress.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$module" "$work/mmlab.ko"
mods=(-m "$work/mmlab.ko")
[[ $client == none ]] || mods+=(-m "$client")
"$here/mkinitramfs.sh" -o "$work/initramfs.cpio.gz" -s "$top/selftests/run-in-vm.sh" \
	"${mods[@]}" -t "$top/build/stress/mmlab_stress"

# The program's settings reach it as environment variables: the kernel
# hands unknown NAME=VALUE command-line words to init, and /init and
# run-in-vm.sh pass their environment on.
env="MMLAB_STRESS_SECONDS=$seconds MMLAB_STRESS_FAIL_PERCENT=$failp"
[[ -z $seed ]] || env="$env MMLAB_STRESS_SEED=$seed"

set +e
"$here/run-vm.sh" -k "$vmlinuz" -i "$work/initramfs.cpio.gz" -l "$log" -t "$tmo" -m "$mem" \
	-c "$cpus" -a "$env" -r "$work/reasons" |
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

echo "# $kver/mmlab-stress: $passed passed, $failed failed"
note "$kver: $passed passed, $failed failed in $((SECONDS - start))s; log: $log"
[[ $failed -eq 0 ]]
