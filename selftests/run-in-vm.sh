#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run-in-vm.sh - the guest half of the mmlab VM tests. mkinitramfs.sh installs
# it as /mmlab/run.sh and the VM's /init runs it. The guest has busybox only,
# so this is busybox sh (ash), not bash.
#
# usage: /mmlab/run.sh [PARAM=VALUE ...]     (parameters for mmlab.ko)
#
#   1. insmod /lib/mmlab/mmlab.ko with the parameters; debugfs must appear
#   2. run every program in /mmlab/selftests/ in name order; each one's own
#      TAP output is shown indented with "# ", as the kselftest runner does
#   2b. if /lib/mmlab/mmlab_client.ko is there (the exported API's test
#      client), insmod it: its init runs every check and fails on any, and
#      the log must say "mmlab_client: all <N> tests passed"; the
#      mmlab:kmalloc records it caused must name it as call_site (the
#      wrappers pass _RET_IP_); then rmmod it
#   3. rmmod mmlab; the kernel log must then hold exactly
#      "mmlab: unload: <B> pages borrowed from the host, <R> returned" with
#      B == R, and no error-level line from mmlab
#   4. lsmod: mmlab is gone
#
# Output: TAP version 13 with a plan (one line per step and per program),
# then "# mmlab-vm: N passed, M failed" where N and M count the individual
# test cases of the programs plus the steps. Exit status 0 only if M is 0.
#
# environment: MMLAB_MODULE (default /lib/mmlab/mmlab.ko), MMLAB_CLIENT
# (default /lib/mmlab/mmlab_client.ko), MMLAB_SELFTESTS
# (default /mmlab/selftests), MMLAB_TEST_TIMEOUT (per program, default 600 s)
# shellcheck disable=SC3040 # busybox ash has pipefail
set -eu -o pipefail

MOD=${MMLAB_MODULE:-/lib/mmlab/mmlab.ko}
CLIENT=${MMLAB_CLIENT:-/lib/mmlab/mmlab_client.ko}
TESTDIR=${MMLAB_SELFTESTS:-/mmlab/selftests}
TEST_TIMEOUT=${MMLAB_TEST_TIMEOUT:-600}
DEBUGFS=/sys/kernel/debug/mmlab
MODNAME=mmlab

case "${1:-}" in
-h|--help)
	sed -n '3,26p' "$0"
	exit 0 ;;
esac

n=0 passed=0 failed=0 skipped=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }
indent() { sed 's/^/# /'; }

tests=""
if [ -d "$TESTDIR" ]; then
	for t in "$TESTDIR"/*; do
		[ -f "$t" ] && [ -x "$t" ] && tests="$tests $t"
	done
fi
ntests=$(echo "$tests" | wc -w)
nclient=0
[ ! -f "$CLIENT" ] || nclient=3

echo "TAP version 13"
echo "1..$((ntests + nclient + 4))"
echo "# mmlab-vm: kernel $(uname -r), $(nproc) CPUs, module $MOD${*:+, parameters: $*}"

# --- 1. load --------------------------------------------------------------------
loaded=0
if [ ! -f "$MOD" ]; then
	not_ok "insmod $MODNAME # $MOD not found"
elif out=$(insmod "$MOD" "$@" 2>&1); then
	if [ -d "$DEBUGFS" ]; then
		loaded=1
		ok "insmod $MODNAME${*:+ $*}"
	else
		not_ok "insmod $MODNAME # loaded, but $DEBUGFS is missing"
	fi
else
	echo "$out" | indent
	not_ok "insmod $MODNAME # failed"
fi

# --- 2. the selftests -------------------------------------------------------------
for t in $tests; do
	name=${t##*/}
	if [ $loaded -eq 0 ]; then
		not_ok "selftests: mmlab: $name # module not loaded"
		continue
	fi
	echo "# selftests: mmlab: $name"
	out=/tmp/selftest.$name.out
	rcf=/tmp/selftest.$name.rc
	{
		rc=0
		timeout -s KILL "$TEST_TIMEOUT" "$t" 2>&1 || rc=$?
		echo $rc >"$rcf"
	} | tee "$out" | indent
	rc=$(cat "$rcf")
	cases_ok=$(grep -cE '^ok [0-9]+ ' "$out") || true
	cases_skip=$(grep -cE '^ok [0-9]+ .*# SKIP' "$out") || true
	cases_fail=$(grep -cE '^not ok [0-9]+ ' "$out") || true
	passed=$((passed + cases_ok - cases_skip))
	skipped=$((skipped + cases_skip))
	failed=$((failed + cases_fail))
	n=$((n + 1))
	case $rc in
	0)	echo "ok $n selftests: mmlab: $name" ;;
	4)	skipped=$((skipped + 1))
		echo "ok $n selftests: mmlab: $name # SKIP" ;;
	*)	# A crash, a kill or a timeout may leave no "not ok" line: count it.
		[ "$cases_fail" -gt 0 ] || failed=$((failed + 1))
		case $rc in
		137) why="killed after ${TEST_TIMEOUT}s (timeout)" ;;
		*) why="exit=$rc" ;;
		esac
		echo "not ok $n selftests: mmlab: $name # $why" ;;
	esac
done

# --- 2b. the exported API's test client ------------------------------------------
if [ $nclient -gt 0 ]; then
	if [ $loaded -eq 0 ]; then
		not_ok "insmod mmlab_client # mmlab not loaded"
		not_ok "mmlab:kmalloc names mmlab_client as call_site # mmlab not loaded"
		not_ok "rmmod mmlab_client # mmlab not loaded"
	else
		echo "# mmlab_client: the exported API, from another module"
		# mmlab:kmalloc in a tracefs instance of its own, for the call_site check
		# (the client's mempool alloc_fn calls mmlab_kmalloc from non-init
		# text, so its records resolve after init memory is gone)
		inst=/sys/kernel/tracing/instances/mmlab_client
		traced=0
		if mkdir "$inst" 2>/dev/null; then
			echo 1 >"$inst/events/mmlab/kmalloc/enable" 2>/dev/null && traced=1
		fi
		dmesg -c >/dev/null
		if out=$(insmod "$CLIENT" 2>&1); then cst=0; else cst=1; fi
		klog=$(dmesg)
		sites=0
		if [ $traced -eq 1 ]; then
			echo 0 >"$inst/events/mmlab/kmalloc/enable" 2>/dev/null || true
			sites=$(grep -c ' kmalloc: call_site=.*\[mmlab_client\]' "$inst/trace") || true
		fi
		[ ! -d "$inst" ] || rmdir "$inst" 2>/dev/null || true
		echo "$klog" | grep -E 'mmlab_client: |mmlab: ' | sed 's/^\[ *[0-9.]*\] //' | indent
		summary=$(echo "$klog" | grep -oE 'mmlab_client: all [0-9]+ tests passed' | tail -n 1) || true
		if [ $cst -eq 0 ] && [ -n "$summary" ]; then
			ok "insmod mmlab_client: ${summary#mmlab_client: }"
		else
			echo "$out" | indent
			fails=$(echo "$klog" | grep -oE 'failed [0-9]+ out of [0-9]+ tests' | tail -n 1) || true
			not_ok "insmod mmlab_client # ${fails:-insmod failed}"
		fi
		if [ $traced -eq 0 ]; then
			skipped=$((skipped + 1))
			n=$((n + 1)); echo "ok $n mmlab:kmalloc names mmlab_client as call_site # SKIP no tracefs instance"
		elif [ "$sites" -gt 0 ]; then
			ok "mmlab:kmalloc names mmlab_client as call_site ($sites records)"
		else
			not_ok "mmlab:kmalloc names mmlab_client as call_site # no record with [mmlab_client]"
		fi
		if [ $cst -ne 0 ]; then
			not_ok "rmmod mmlab_client # not loaded"
		elif out=$(rmmod mmlab_client 2>&1); then
			ok "rmmod mmlab_client"
		else
			echo "$out" | indent
			not_ok "rmmod mmlab_client # failed"
		fi
	fi
fi

# --- 3. unload and its page accounting ------------------------------------------------
if [ $loaded -eq 0 ]; then
	not_ok "rmmod $MODNAME # module not loaded"
	not_ok "unload accounting # module not loaded"
else
	dmesg -c >/dev/null	# from here on the ring buffer holds the unload only
	if out=$(rmmod "$MODNAME" 2>&1); then
		ok "rmmod $MODNAME"
	else
		echo "$out" | indent
		not_ok "rmmod $MODNAME # failed"
	fi
	klog=$(dmesg -r)
	line=$(echo "$klog" | grep -E "^<[0-9]+>\[ *[0-9.]+\] $MODNAME: unload: [0-9]+ pages borrowed from the host, [0-9]+ returned\$" | tail -n 1) || true
	errors=$(echo "$klog" | grep -E "^<[0-3]>.*$MODNAME: ") || true
	if [ -z "$line" ]; then
		echo "$klog" | indent
		not_ok "unload accounting # no '$MODNAME: unload: <B> pages borrowed from the host, <R> returned' line"
	else
		line=${line#*] }
		borrowed=$(echo "$line" | sed -E 's/.*unload: ([0-9]+) pages borrowed.*/\1/')
		returned=$(echo "$line" | sed -E 's/.*host, ([0-9]+) returned$/\1/')
		if [ "$borrowed" != "$returned" ]; then
			echo "$klog" | indent
			not_ok "unload accounting # $borrowed pages borrowed, $returned returned"
		elif [ -n "$errors" ]; then
			echo "$errors" | indent
			not_ok "unload accounting # error lines from $MODNAME at unload"
		else
			ok "unload accounting: $borrowed pages borrowed from the host, $returned returned"
		fi
	fi
fi

# --- 4. gone? -------------------------------------------------------------------------
if lsmod | grep -q "^$MODNAME " || [ -e "/sys/module/$MODNAME" ]; then
	not_ok "lsmod: $MODNAME still loaded"
else
	ok "lsmod: $MODNAME gone"
fi

[ $skipped -eq 0 ] || echo "# mmlab-vm: $skipped skipped"
echo "# mmlab-vm: $passed passed, $failed failed"
[ $failed -eq 0 ]
