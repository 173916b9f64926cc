#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh - build the gzip'd newc cpio initramfs the mmlab VM boots:
# busybox-static (with a symlink per applet), kernel modules in /lib/mmlab/,
# statically linked test programs in /mmlab/selftests/, a guest script run as
# /mmlab/run.sh, and an /init that runs it and powers the VM off.
#
# Guest layout:
#   /init                   mounts proc, sysfs, devtmpfs, debugfs, tracefs, tmpfs
#                           on /tmp; runs /mmlab/run.sh with the arguments given
#                           after '--'; on a kmemleak kernel, scans and clears
#                           before it and scans twice after it, printing the
#                           suspects as "mmlab-init: kmemleak: " lines;
#                           prints "MMLAB-TAINT: <n>" and, as its
#                           very last line, "MMLAB-EXIT-STATUS: <status>";
#                           then 'poweroff -f'. It never starts a shell prompt;
#                           if poweroff fails it exits, the kernel panics and
#                           panic=-1 plus QEMU's -no-reboot end the VM.
#   /lib/mmlab/*.ko         modules given with -m
#   /mmlab/selftests/*      programs given with -t (must be static)
#   /mmlab/run.sh           the guest script given with -s
#   /mmlab/args             its arguments, one per line
#   /.mmlab-nonce           a random token; /init reads and deletes it before
#                           the guest script runs, and prints it as
#                           "MMLAB-NONCE: <token>" just before the marker
#
# The token is also written next to the output as OUT.nonce; run-vm.sh uses
# it to tell /init's marker from anything the guest script could print or do
# (even a guest that prints a marker and powers off by itself).
#
# The guest script's exit status is the status in the marker; run-vm.sh
# turns it into its own exit status. Run as root (device nodes, ownership).
set -euo pipefail

usage() {
	cat <<EOF
usage: ${0##*/} -o OUT.cpio.gz -s SCRIPT [-m MODULE.ko]... [-t PROG|DIR]...
                     [-f SRC[:DEST]]... [-- SCRIPT-ARGS...]

Build a gzip'd cpio (newc) initramfs for the mmlab VM.

  -o OUT      output file (written atomically)
  -s SCRIPT   guest script, installed as /mmlab/run.sh and run by /init
  -m MODULE   kernel module to install into /lib/mmlab/ (repeatable)
  -t PROG     statically linked program, or a directory whose executable
              files are all taken, installed into /mmlab/selftests/ (repeatable)
  -f SRC[:DEST]
              any extra file; DEST is an absolute guest path
              (default /mmlab/<basename of SRC>) (repeatable)
  --          everything after it is passed to the guest script as arguments

Example:
  ${0##*/} -o /tmp/mmlab.cpio.gz -s selftests/run-in-vm.sh -m mmlab.ko \\
      -t build/selftests -f build/examples:/mmlab/examples -- chunk_order=10
EOF
}

die() { echo "${0##*/}: $*" >&2; exit 1; }

out='' script=''
modules=() progs=() extras=() guest_args=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	-o) out=${2:?-o needs a value}; shift 2 ;;
	-s) script=${2:?-s needs a value}; shift 2 ;;
	-m) modules+=("${2:?-m needs a value}"); shift 2 ;;
	-t) progs+=("${2:?-t needs a value}"); shift 2 ;;
	-f) extras+=("${2:?-f needs a value}"); shift 2 ;;
	-h|--help) usage; exit 0 ;;
	--) shift; guest_args=("$@"); break ;;
	*) usage >&2; exit 2 ;;
	esac
done
[[ -n $out && -n $script ]] || { usage >&2; exit 2; }
[[ -f $script ]] || die "guest script '$script' not found"
[[ $(id -u) -eq 0 ]] || die "must run as root (device nodes, file ownership)"

busybox=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"
# The initramfs has no libc: busybox must be the static build.
if ! "$busybox" --list-full >/dev/null 2>&1 || ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is not a static busybox (apt-get install busybox-static)"
fi

# is_static FILE: no program interpreter, i.e. runs without a dynamic loader.
is_static() {
	if command -v readelf >/dev/null; then
		if readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; then
			return 1
		fi
	elif ldd "$1" >/dev/null 2>&1; then
		return 1
	fi
	return 0
}

tmp=$(mktemp -d /tmp/mmlab-initramfs.XXXXXX)
tmpout=$out.tmp.$$
trap 'rm -rf "$tmp" "$tmpout" "$tmpout.nonce"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc,lib/mmlab,mmlab/selftests}
chmod 1777 "$root/tmp"

# busybox and one symlink per applet (paths as busybox itself lists them).
install -m 0755 "$busybox" "$root/bin/busybox"
while read -r applet; do
	[[ -n $applet && $applet != bin/busybox ]] || continue
	mkdir -p "$root/$(dirname "$applet")"
	[[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
done < <("$busybox" --list-full)

# The kernel opens /dev/console for init before devtmpfs is mounted.
mknod -m 0600 "$root/dev/console" c 5 1
mknod -m 0666 "$root/dev/null" c 1 3

for m in "${modules[@]}"; do
	[[ -f $m ]] || die "module '$m' not found"
	install -m 0644 "$m" "$root/lib/mmlab/"
done

add_prog() {
	is_static "$1" || die "'$1' is dynamically linked; the guest has no libc (link with -static)"
	install -m 0755 "$1" "$root/mmlab/selftests/"
}
for p in "${progs[@]}"; do
	if [[ -d $p ]]; then
		found=0
		for f in "$p"/*; do
			[[ -f $f && -x $f ]] || continue
			add_prog "$f"
			found=1
		done
		[[ $found -eq 1 ]] || die "no executable files in '$p'"
	elif [[ -f $p ]]; then
		add_prog "$p"
	else
		die "program '$p' not found"
	fi
done

for e in "${extras[@]}"; do
	src=${e%%:*}
	dst=/mmlab/$(basename "$src")
	[[ $e == *:* ]] && dst=${e#*:}
	[[ $dst == /* ]] || die "-f $e: DEST must be an absolute path"
	[[ -e $src ]] || die "extra file '$src' not found"
	mkdir -p "$root$(dirname "$dst")"
	cp -a "$src" "$root$dst"
done

install -m 0755 "$script" "$root/mmlab/run.sh"
: >"$root/mmlab/args"
for a in "${guest_args[@]}"; do
	[[ $a != *$'\n'* ]] || die "guest arguments must not contain newlines"
	printf '%s\n' "$a" >>"$root/mmlab/args"
done

nonce=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
(umask 077 && echo "$nonce" >"$root/.mmlab-nonce")

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
EOF
echo mmlab-vm >"$root/etc/hostname"

cat >"$root/init" <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# mmlab VM init: mount, run /mmlab/run.sh, report its status, power off.
# PID 1 must not exit before the marker is printed; nothing here uses 'set -e'.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=linux
# The run's token, kept in an unexported variable only.
nonce=$(cat /.mmlab-nonce 2>/dev/null)
rm -f /.mmlab-nonce

warn() { echo "mmlab-init: $*"; }
mnt() {	# mnt TYPE DIR [OPTS]: mount, complain but carry on if it fails
	mkdir -p "$2"
	mount -t "$1" ${3:+-o "$3"} "$1" "$2" || warn "cannot mount $1 on $2"
}

mnt proc /proc
mnt sysfs /sys
mnt devtmpfs /dev
# Console: stdin/stdout/stderr on the kernel console (the serial port).
exec </dev/console >/dev/console 2>&1
mnt debugfs /sys/kernel/debug
mnt tracefs /sys/kernel/tracing
mnt tmpfs /tmp mode=1777
mkdir -p /dev/pts /dev/shm
mnt devpts /dev/pts
hostname -F /etc/hostname 2>/dev/null
cd /

echo "mmlab-init: $(uname -r) up $(cut -d' ' -f1 /proc/uptime)s, $(nproc) CPUs, $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"

# kmemleak (debug kernels): what boot itself leaked is not the test's; scan
# and mark it reported ("clear"), so the final scan shows only new suspects.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak 2>/dev/null
	echo clear >/sys/kernel/debug/kmemleak 2>/dev/null
fi

set --
if [ -f /mmlab/args ]; then
	while IFS= read -r a; do set -- "$@" "$a"; done </mmlab/args
fi
if [ -f /mmlab/run.sh ]; then
	sh /mmlab/run.sh "$@"
	rc=$?
else
	warn "/mmlab/run.sh missing"
	rc=127
fi
cd /

# kmemleak (debug kernels): the guest script has unloaded mmlab, so every
# object it allocated is gone. Two scans with a pause between them, as
# Documentation/dev-tools/kmemleak.rst advises (an object whose contents
# changed since the previous scan gets another chance), then the suspects,
# which tools/scan-kernel-log.sh reads from these lines.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo "mmlab-init: kmemleak: scanning"
	echo scan >/sys/kernel/debug/kmemleak 2>/dev/null
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak 2>/dev/null
	sed 's/^/mmlab-init: kmemleak: /' /sys/kernel/debug/kmemleak 2>/dev/null | head -n 400
	echo "mmlab-init: kmemleak: $(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak 2>/dev/null) suspects"
fi
echo "MMLAB-TAINT: $(cat /proc/sys/kernel/tainted 2>/dev/null || echo unknown)"
sync
echo "MMLAB-NONCE: ${nonce:-none}"
echo "MMLAB-EXIT-STATUS: $rc"
poweroff -f
# Still here: try sysrq, then let the kernel panic (panic=-1 reboots, and
# QEMU's -no-reboot turns that into an exit).
echo o >/proc/sysrq-trigger 2>/dev/null
sleep 5
exit 1
EOF
chmod 0755 "$root/init"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --quiet) |
	gzip -9n >"$tmpout"
echo "$nonce" >"$tmpout.nonce"
mv "$tmpout.nonce" "$out.nonce"
mv "$tmpout" "$out"
echo "${0##*/}: wrote $out ($(du -k "$out" | cut -f1) KiB)" >&2
