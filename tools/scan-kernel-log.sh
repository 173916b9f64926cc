#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scan-kernel-log.sh - find the kernel's own failure reports in a VM's serial
# log (vm-images/run-vm.sh's console), print each one with its context, and
# fail if any was not expected.
#
#   tools/scan-kernel-log.sh [-e CLASS[,CLASS...]] [-c LINES] [-q] LOG
#
# A report is a kernel line (it carries a printk timestamp, "[   12.345678]";
# run-vm.sh forces printk.time=1) that opens one of these, by class:
#
#   kasan     BUG: KASAN: ... (the whole block up to its closing ===== line)
#   kmemleak  kmemleak: N new suspected memory leaks; and each
#             "unreferenced object" the guest's /init printed from
#             /sys/kernel/debug/kmemleak after its final scan
#             (lines "mmlab-init: kmemleak: ...", see mkinitramfs.sh)
#   lockdep   possible circular / recursive locking, inconsistent lock state,
#             possible irq lock inversion, suspicious RCU usage,
#             DEBUG_LOCKS_WARN_ON, bad unlock balance, held lock freed,
#             Invalid wait context, lock held when returning to user space
#   sleep     BUG: sleeping function called from invalid context,
#             BUG: scheduling while atomic
#   bug       any other BUG:, kernel BUG at, Oops, general protection
#             fault, Bad page, Kernel panic, UBSAN:
#   warning   any other WARNING:
#   hang      INFO: task ... blocked, RCU stalls, soft/hard lockups
#   trace     a Call Trace: that belongs to none of the above
#
# A report runs to its end marker (KASAN's closing =====; elsewhere the end
# of its first stack trace, "</TASK>", or "---[ end trace"), to the next
# report, or for at most LINES kernel lines (-c, default 150).
# Guest output that merely says "WARNING:" is not a kernel line and does not
# count.
#
# -e CLASSES  reports of these classes are expected (e.g. -e kasan,kmemleak for
#             a test that makes them on purpose): printed, not failed on
# -q          do not print the reports, only the summary lines
#
# stdout: one line per unexpected report, "<class>: line <n>: <first line>",
# which run-vm.sh takes as its failure reasons. stderr: every report with
# its context, and a count. Exit status 1 if a report was not expected,
# 0 otherwise, 2 on usage errors.
set -euo pipefail

usage() { sed -n '3,44p' "$0" >&2; exit 2; }

expect='' ctx=150 quiet=0
while getopts 'e:c:qh' o; do
	case $o in
	e) expect=$OPTARG ;;
	c) ctx=$OPTARG ;;
	q) quiet=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $# -eq 1 && -f $1 ]] || usage
[[ $ctx =~ ^[0-9]+$ ]] || usage
for c in ${expect//,/ }; do
	case $c in
	kasan|kmemleak|lockdep|sleep|bug|warning|hang|trace) ;;
	*) echo "${0##*/}: unknown class '$c'" >&2; exit 2 ;;
	esac
done

tr -d '\r' <"$1" | awk -v expect=",$expect," -v ctx="$ctx" -v quiet="$quiet" '
function classify(t) {
	if (t ~ /KASAN/) return "kasan"
	if (t ~ /kmemleak: [0-9]+ new suspected memory leak/) return "kmemleak"
	if (t ~ /possible circular locking|possible recursive locking|inconsistent lock state|possible irq lock inversion|suspicious RCU usage|DEBUG_LOCKS_WARN_ON|bad unlock balance|held lock freed|Invalid wait context|lock held when returning to user space|INFO: trying to register non-static key/) return "lockdep"
	if (t ~ /sleeping function called from invalid context|scheduling while atomic/) return "sleep"
	if (t ~ /BUG:|kernel BUG at|Oops|general protection fault|Bad page|Kernel panic|UBSAN:/) return "bug"
	if (t ~ /WARNING:/) return "warning"
	if (t ~ /INFO: task .* blocked|rcu: INFO: .*detected stall|soft lockup|hard LOCKUP|watchdog: BUG/) return "hang"
	if (t ~ /Call Trace:/) return "trace"
	return ""
}
function flush(   i) {
	if (cls == "") return
	nrep++
	isexp = index(expect, "," cls ",") > 0
	if (isexp) nexp++; else { nbad++; printf "%s: line %d: %s\n", cls, start, head }
	if (!quiet) {
		printf "===== report %d (%s%s), log line %d:\n", nrep, cls, isexp ? ", expected" : "", start > "/dev/stderr"
		for (i = 1; i <= nl; i++) print "  " buf[i] > "/dev/stderr"
	}
	cls = ""; nl = 0
}
function add(t) { if (nl < ctx + 20) buf[++nl] = t }
BEGIN { nrep = 0; nbad = 0; nexp = 0; cls = ""; nl = 0 }
{
	line = $0
	# The guest prints the kmemleak file after its last scan.
	if (line ~ /^mmlab-init: kmemleak: /) {
		t = substr(line, 23)
		if (t ~ /^unreferenced object/) {
			flush(); cls = "kmemleak"; start = NR; head = t; kind = "leak"; add(t)
		} else if (cls == "kmemleak" && kind == "leak") add(t)
		next
	}
	if (cls == "kmemleak" && kind == "leak") flush()
	if (!match(line, /\[ *[0-9]+\.[0-9]+\](\[ *[CT][0-9]+\])? /)) next
	t = substr(line, RSTART + RLENGTH)
	c = classify(t)
	if (cls != "") {
		# A report absorbs what belongs to it: its own WARNING/Call Trace,
		# the WARNING after a DEBUG_LOCKS_WARN_ON, a KASAN block to its end.
		inner = (c == "" || (c == "trace" && !traced) ||
			 (c == "warning" && cls == "lockdep" && !traced) ||
			 (cls == "kasan" && c != "kasan") || (cls == "bug" && c == "bug" && !traced))
		if (inner) {
			add(t); n++
			if (c == "trace") traced = 1
			if ((cls == "kasan" && t ~ /^=+$/ && nl > 2) || t ~ /---\[ end trace/ ||
			    (cls != "kasan" && traced && t ~ /^ *<\/TASK>/) || n >= ctx) flush()
			next
		}
		flush()
	}
	if (c != "") { cls = c; start = NR; head = t; kind = ""; n = 0; traced = (c == "trace"); add(t) }
}
END {
	flush()
	if (nrep > 0 || !quiet)
		printf "%s: %d report(s), %d expected, %d not expected\n", "scan-kernel-log", nrep, nexp, nbad > "/dev/stderr"
	exit nbad > 0
}'
