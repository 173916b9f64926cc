#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-vm.sh - boot a kernel and an mmlab initramfs (mkinitramfs.sh) in QEMU,
# log the serial console, and turn what happened into an exit status.
#
# The guest's /init prints "MMLAB-EXIT-STATUS: <n>" as its last line and powers
# off. The run passes only if
#   - QEMU exited on its own before the timeout,
#   - the last line of the log mentioning MMLAB-EXIT-STATUS is exactly that
#     marker (so test output cannot supply the verdict: /init's marker comes
#     last, and a marker followed by a hang is a timeout),
#   - if INITRAMFS.nonce exists (mkinitramfs.sh writes it), the last
#     "MMLAB-NONCE: <token>" line before the marker carries that token: only
#     /init knows it, so a guest that prints a marker and powers off by
#     itself does not pass either,
#   - the marker's status is 0,
#   - the kernel reported no failure (tools/scan-kernel-log.sh: panic, oops,
#     BUG, WARNING, KASAN, UBSAN, kmemleak, lockdep, sleeping in atomic
#     context, hung task, RCU stall, a stray call trace) other than those
#     of the classes given with -e, and the guest's final taint has none of
#     the flags B D W L.
# Kernel lines are recognised by their printk timestamp ("[   12.345678] ";
# printk.time=1 is forced on the command line), so guest output that merely
# mentions "WARNING:" or "BUG:" does not count, and kernel output that is
# interleaved with guest output on one line still does.
#
# Acceleration: MMLAB_ACCEL=kvm|tcg forces one. Otherwise, if /dev/kvm is
# usable, a short probe boots the same kernel with -accel kvm and a trivial
# guest; KVM is used only if that guest reached its exit marker within
# MMLAB_KVM_PROBE_TIMEOUT (10) seconds. /dev/kvm exists but hangs on some
# machines, hence the probe. The verdict is cached per host boot
# (keyed by /proc/sys/kernel/random/boot_id) in the cache directory.
#
# Exit status: the guest's status if non-zero; 124 on timeout; 125 if the
# marker is missing or malformed (early panic, QEMU error); 1 if the guest
# said 0 but the kernel reported a failure; 2 on usage errors.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
	cat <<EOF
usage: ${0##*/} -k KERNEL -i INITRAMFS -l LOG [-m MEM] [-c CPUS] [-t SECS]
                [-a APPEND] [-r REASONS] [-e CLASSES] [-q] [-I] [-- EXTRA-QEMU-ARGS...]

Boot KERNEL with INITRAMFS in qemu-system-x86_64, serial console to LOG and
(unless -q) to stdout; exit with the guest's status or a failure status.

  -k KERNEL     bzImage/vmlinuz to boot
  -i INITRAMFS  initramfs built by mkinitramfs.sh
  -l LOG        console log file (overwritten)
  -m MEM        guest memory (default 1G)
  -c CPUS       vCPUs (default 2)
  -t SECS       timeout for the whole run (default 300)
  -a APPEND     extra kernel command line (appended to
                "console=ttyS0 panic=-1 printk.time=1")
  -r REASONS    write the failure reasons there, one per line (empty on a pass)
  -e CLASSES    kernel reports the guest makes on purpose (e.g. kasan,kmemleak):
                not failures (tools/scan-kernel-log.sh -e; taint B is then
                expected too when kasan is)
  -q            quiet: do not echo the console to stdout
  -I            interactive: the terminal is the guest's console input
                (for a guest script that runs a shell; see docs/walkthrough.md)
  --            everything after it is passed to QEMU

environment:
  MMLAB_ACCEL=kvm|tcg        force the accelerator (default: probe KVM, else TCG)
  MMLAB_CACHE=DIR            cache for the KVM probe verdict (default /var/cache/mmlab)
  MMLAB_KVM_PROBE_TIMEOUT=S  probe timeout (default 10)
EOF
}

die() { echo "${0##*/}: $*" >&2; exit 2; }
note() { echo "${0##*/}: $*" >&2; }

kernel='' initrd='' log='' mem=1G cpus=2 tmo=300 append='' quiet=0 reasons='' interactive=0 expect=''
qemu_extra=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	-k) kernel=${2:?}; shift 2 ;;
	-i) initrd=${2:?}; shift 2 ;;
	-l) log=${2:?}; shift 2 ;;
	-m) mem=${2:?}; shift 2 ;;
	-c) cpus=${2:?}; shift 2 ;;
	-t) tmo=${2:?}; shift 2 ;;
	-a) append=${2?}; shift 2 ;;
	-r) reasons=${2:?}; shift 2 ;;
	-e) expect=${2?}; shift 2 ;;
	-q) quiet=1; shift ;;
	-I) interactive=1; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; qemu_extra=("$@"); break ;;
	*) usage >&2; exit 2 ;;
	esac
done
[[ -n $kernel && -n $initrd && -n $log ]] || { usage >&2; exit 2; }
[[ -f $kernel ]] || die "kernel '$kernel' not found"
[[ -f $initrd ]] || die "initramfs '$initrd' not found"
[[ $tmo =~ ^[0-9]+$ && $cpus =~ ^[0-9]+$ ]] || die "bad -t or -c"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not installed"

cmdline="console=ttyS0 panic=-1 printk.time=1${append:+ $append}"

# qemu_cmd ACCEL KERNEL INITRD MEM CPUS: the QEMU command line, into qemu[].
qemu_cmd() {
	# shellcheck disable=SC2054 # commas belong to QEMU's option syntax
	qemu=(qemu-system-x86_64 -nodefaults -no-user-config -display none
		-no-reboot -m "$4" -smp "$5" -kernel "$2" -initrd "$3"
		-append "$cmdline" -chardev stdio,id=con0 -serial chardev:con0)
	case "$1" in
	kvm) qemu+=(-accel kvm -cpu host) ;;
	tcg) qemu+=(-accel tcg -cpu max) ;;
	esac
}

# --- acceleration ------------------------------------------------------------

probe_kvm() {
	local tmp pid i rc=1 ptmo=${MMLAB_KVM_PROBE_TIMEOUT:-10}
	[[ -r /dev/kvm && -w /dev/kvm ]] || { echo tcg; return; }
	[[ $(id -u) -eq 0 ]] || { note "KVM probe needs root (mkinitramfs); using TCG"; echo tcg; return; }
	tmp=$(mktemp -d /tmp/mmlab-kvm-probe.XXXXXX)
	printf '#!/bin/sh\nexit 0\n' >"$tmp/probe.sh"
	"$here/mkinitramfs.sh" -o "$tmp/probe.cpio.gz" -s "$tmp/probe.sh" 2>/dev/null ||
		{ rm -rf "$tmp"; echo tcg; return; }
	qemu_cmd kvm "$kernel" "$tmp/probe.cpio.gz" 256M 1
	# In the background: a hung /dev/kvm may leave QEMU unkillable, and the
	# probe must not hang with it (nor keep the probe lock, fd 8, held).
	timeout -k 2 "$ptmo" "${qemu[@]}" </dev/null >"$tmp/log" 2>&1 8>&- &
	pid=$!
	for ((i = 0; i < (ptmo + 4) * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		note "KVM probe QEMU (pid $pid) does not die; abandoning it"
		disown "$pid" 2>/dev/null || true
	else
		wait "$pid" 2>/dev/null || true
		if tr -d '\r' <"$tmp/log" | grep -qx 'MMLAB-EXIT-STATUS: 0'; then
			rc=0
		fi
	fi
	rm -rf "$tmp"
	if [[ $rc -eq 0 ]]; then echo kvm; else echo tcg; fi
}

pick_accel() {
	case "${MMLAB_ACCEL:-}" in
	kvm|tcg) echo "$MMLAB_ACCEL"; return ;;
	"") ;;
	*) die "MMLAB_ACCEL must be kvm or tcg, not '$MMLAB_ACCEL'" ;;
	esac
	local boot_id cdir cfile verdict
	boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
	cdir=${MMLAB_CACHE:-/var/cache/mmlab}
	mkdir -p "$cdir" 2>/dev/null && [[ -w $cdir ]] || cdir=/tmp
	cfile=$cdir/accel-probe.$boot_id
	(
		flock 8
		if [[ ! -s $cfile ]]; then
			note "probing KVM (${MMLAB_KVM_PROBE_TIMEOUT:-10} s at most; cached in $cfile)"
			verdict=$(probe_kvm)
			echo "$verdict" >"$cfile"
			note "KVM probe: using ${verdict^^}"
		fi
	) 8>"$cfile.lock"
	local f	# forget other host boots' verdicts
	for f in "$cdir"/accel-probe.*; do
		[[ $f == "$cfile" || $f == "$cfile.lock" ]] || rm -f "$f"
	done
	cat "$cfile"
}

accel=$(pick_accel)
qemu_cmd "$accel" "$kernel" "$initrd" "$mem" "$cpus"
qemu+=("${qemu_extra[@]}")

# --- run -----------------------------------------------------------------------

mkdir -p "$(dirname "$log")"
note "booting $(basename "$kernel") with $accel, $mem, $cpus vCPUs, timeout ${tmo}s; log: $log"
start=$SECONDS
set +e
if [[ $quiet -eq 1 ]]; then
	timeout -k 5 "$tmo" "${qemu[@]}" </dev/null >"$log" 2>&1
	qrc=$?
else
	if [[ $interactive -eq 1 ]]; then
		# --foreground: QEMU must be allowed to read the terminal.
		timeout --foreground -k 5 "$tmo" "${qemu[@]}" </dev/tty 2>&1 | tee "$log"
	else
		timeout -k 5 "$tmo" "${qemu[@]}" </dev/null 2>&1 | tee "$log"
	fi
	qrc=${PIPESTATUS[0]}
fi
set -e
elapsed=$((SECONDS - start))

# --- verdict -------------------------------------------------------------------

clean=$(mktemp /tmp/mmlab-log.XXXXXX)
trap 'rm -f "$clean" "$clean.reports"' EXIT
tr -d '\r' <"$log" >"$clean"

failed=()
fail() { failed+=("$*"); }

if [[ $qrc -eq 124 || $qrc -eq 137 ]]; then
	fail "timeout: QEMU still running after ${tmo}s"
elif [[ $qrc -ne 0 ]]; then
	fail "QEMU exited with status $qrc"
fi

status=
last=$(grep -n 'MMLAB-EXIT-STATUS' "$clean" | tail -n1) || true
if [[ -z $last ]]; then
	fail "no MMLAB-EXIT-STATUS marker in the log"
elif [[ ${last#*:} =~ ^MMLAB-EXIT-STATUS:\ ([0-9]+)$ ]]; then
	status=${BASH_REMATCH[1]}
	[[ $status -eq 0 ]] || fail "guest exit status $status"
else
	fail "last MMLAB-EXIT-STATUS line is not /init's marker: '${last#*:}'"
fi
if [[ -n $status && -f $initrd.nonce ]]; then
	want_nonce=$(cat "$initrd.nonce")
	got_nonce=$(head -n "${last%%:*}" "$clean" | grep -E '^MMLAB-NONCE: ' | tail -n1) || true
	if [[ "MMLAB-NONCE: $want_nonce" != "$got_nonce" ]]; then
		fail "the marker did not come from /init (no MMLAB-NONCE line with this run's token before it)"
	fi
fi

# The kernel's own reports, each printed with its context on stderr.
mapfile -t reports < <("$here/../tools/scan-kernel-log.sh" ${expect:+-e "$expect"} "$clean" 2>"$clean.reports") || true
for r in "${reports[@]}"; do
	fail "kernel report: $r"
done

taint=$(grep -E '^MMLAB-TAINT: [0-9]+$' "$clean" | tail -n1 | cut -d' ' -f2) || true
if [[ -n $taint ]]; then
	bad=
	# KASAN taints B: an expected KASAN report leaves that flag expected.
	[[ ,$expect, == *,kasan,* ]] || (( !(taint & (1 << 5)) )) || bad+="B(bad page) "
	(( taint & (1 << 7) )) && bad+="D(oops) "
	(( taint & (1 << 9) )) && bad+="W(warning) "
	(( taint & (1 << 14) )) && bad+="L(soft lockup) "
	[[ -z $bad ]] || fail "kernel tainted $taint: ${bad% }"
fi

if [[ -n $reasons ]]; then
	if [[ ${#failed[@]} -gt 0 ]]; then printf '%s\n' "${failed[@]}"; fi >"$reasons"
fi
if [[ ${#failed[@]} -eq 0 ]]; then
	if grep -q '^=====' "$clean.reports" 2>/dev/null; then
		cat "$clean.reports" >&2	# expected reports only: show them
	fi
	note "PASS in ${elapsed}s ($accel)"
	exit 0
fi

{
	echo "===== ${0##*/}: FAIL after ${elapsed}s ($accel), last 60 lines of $log:"
	tail -n 60 "$clean"
	if grep -q '^=====' "$clean.reports" 2>/dev/null; then
		echo "===== ${0##*/}: the kernel's reports (tools/scan-kernel-log.sh):"
		cat "$clean.reports"
	fi
	echo "===== ${0##*/}: FAIL reasons:"
	printf '  - %s\n' "${failed[@]}"
} >&2

if [[ -n $status && $status -ne 0 ]]; then exit "$status"; fi
if [[ $qrc -eq 124 || $qrc -eq 137 ]]; then exit 124; fi
if [[ -z $status ]]; then exit 125; fi
exit 1
