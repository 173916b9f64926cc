#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test-plot.sh - test tools/mmlab-plot (docs/pictures.md), TAP output.
#
#   tools/test-plot.sh [--tap FILE] [CONSOLE-LOG | SAVED-DIR]
#
# Input: a VM console log with MMLAB-SAVE blocks (default: the fixture
# tools/testdata/plot/console.log), or a folder `make run` saved
# (build/run/out). The saved files are extracted (from a log) or copied
# into a scratch folder, plotted, and checked:
#   - extraction: each saved block becomes its file, CR and kernel lines gone;
#   - mmlab-plot succeeds; every expected image exists and is not empty;
#   - every SVG is well-formed XML with a title and labels;
#   - each heatmap draws as many page cells as the page map has pages, each
#     state as often as the map has it; each PNG decodes (zlib, CRCs) to the
#     layout's size with every page in its state's colour;
#   - the comparison has one bar per policy per metric, heights proportional
#     to the report's numbers; extfrag has one bar per policy per order;
#   - buddyinfo over time has an area and a line per order, a point per sample;
#   - index.html lists every image; a second run is byte-identical;
#   - garbage input (wrong header, a missing row, an unknown state, a bad
#     number, a result line missing a key, text as buddyinfo, binary, an
#     empty folder, an unterminated save block) fails with a message that
#     names the file.
# --tap FILE also writes the TAP there (make check-host: build/results/plot.tap).
# Exit status 1 if any check failed.
set -uo pipefail
export PYTHONDONTWRITEBYTECODE=1

here=$(cd "$(dirname "$0")" && pwd)
plot=$here/mmlab-plot
data=$here/testdata/plot
tapfile=''
input=$data/console.log
while [[ $# -gt 0 ]]; do
	case "$1" in
	--tap) tapfile=${2:?}; shift 2 ;;
	-h|--help) sed -n '3,28p' "$0"; exit 0 ;;
	*) input=$1; shift ;;
	esac
done
[[ -z $tapfile ]] || exec > >(tee "$tapfile") 2>&1

work=$(mktemp -d /tmp/mmlab-test-plot.XXXXXX)
trap 'rm -rf "$work"' EXIT
n=0
failed=0
tap() { # tap <status> <what>
	n=$((n + 1))
	if [[ $1 == 0 ]]; then echo "ok $n - plot: $2"; else echo "not ok $n - plot: $2"; failed=$((failed + 1)); fi
}

echo "# mmlab-plot on $input"
saved=$work/saved
if [[ -d $input ]]; then
	mkdir -p "$saved"
	find "$input" -maxdepth 1 -type f -name '*.txt' -exec cp {} "$saved/" \;
else
	"$plot" --extract "$input" "$saved" >"$work/extract.out" 2>"$work/extract.err"
	rc=$?
	want=$(tr -d '\r' <"$input" | sed -n 's/^MMLAB-SAVE-BEGIN //p' | sort)
	got=$(ls "$saved" 2>/dev/null | sort)
	ok=0
	[[ $rc == 0 && -n $want && $want == "$got" && $(sort "$work/extract.out") == "$want" ]] || ok=1
	# No CR, no kernel line, no marker in what was extracted.
	if [[ $ok == 0 ]] && grep -lqE $'\r|^\\[ *[0-9]+\\.[0-9]+\\] |MMLAB-SAVE' "$saved"/*; then ok=1; fi
	tap $ok "--extract writes each MMLAB-SAVE block to its file, without CRs or kernel lines ($(echo $want))"
	[[ $ok == 0 ]] || sed 's/^/#   /' "$work/extract.err"
fi

"$plot" "$saved" -o "$work/img1" >"$work/plot.out" 2>"$work/plot.err"
rc=$?
tap $rc "mmlab-plot $(basename "$input") exits 0"
[[ $rc == 0 ]] || sed 's/^/#   /' "$work/plot.err"

while read -r verdict rest; do
	case $verdict in
	PASS) tap 0 "$rest" ;;
	FAIL) tap 1 "$rest" ;;
	*) tap 1 "checker said: $verdict $rest" ;;
	esac
done < <(python3 "$data/check_images.py" "$saved" "$work/img1" 2>&1)

"$plot" "$saved" -o "$work/img2" >/dev/null 2>&1
if diff -r "$work/img1" "$work/img2" >"$work/diff.out" 2>&1; then
	tap 0 "a second run gives byte-identical files ($(ls "$work/img1" | wc -l) files)"
else
	tap 1 "a second run gives byte-identical files"
	head -5 "$work/diff.out" | sed 's/^/#   /'
fi

# Garbage: each case is a folder with one bad file; mmlab-plot must exit 1
# and name the file and what is wrong with it.
bad() { # bad <what> <file name> <message pattern>   (the file is on stdin)
	local d=$work/bad$n
	mkdir -p "$d"
	[[ $2 == - ]] || cat >"$d/$2"
	"$plot" "$d" -o "$d/img" >/dev/null 2>"$d/err"
	local rc=$?
	if [[ $rc == 1 ]] && grep -qE "$3" "$d/err"; then
		tap 0 "garbage: $1 fails: $(head -1 "$d/err" | sed "s|$d/||")"
	else
		tap 1 "garbage: $1 fails naming the problem (exit $rc)"
		sed 's/^/#   /' "$d/err"
	fi
}
pm=$(ls "$saved"/pagemap-*.txt 2>/dev/null | head -1)
if [[ -n $pm ]]; then
	bad "a page map that is text" pagemap-1.txt 'pagemap-1.txt:1: not a page map' \
		< <(printf 'hello\nworld\n')
	bad "a page map with a row missing" pagemap-1.txt 'pagemap-1.txt:[0-9]+: row starts at pfn' \
		< <(awk '/^0x/ && !done { done = 1; next } { print }' "$pm")
	bad "a page map with an unknown page state" pagemap-1.txt "unknown page state 'Z'" \
		< <(awk '/^0x/ && !done { sub(/ ./, " Z"); done = 1 } { print }' "$pm")
	bad "a page map whose header disagrees with its chunks" pagemap-1.txt 'header says pages=7' \
		< <(sed '1s/pages=[0-9]*/pages=7/' "$pm")
	bad "a binary page map" pagemap-1.txt 'pagemap-1.txt: not UTF-8' \
		< <(printf '# mmlab-pagemap v1 pages=1 page_size=4096\n\xff\xfe\x00\x01\n')
fi
if [[ -f $saved/replay-report.txt ]]; then
	bad "a result line with a bad number" replay-report.txt \
		"replay-report.txt:[0-9]+: peak_pages='lots' is not a number" \
		< <(sed '0,/^replay /s/peak_pages=[0-9]*/peak_pages=lots/' "$saved/replay-report.txt")
	bad "a result line without extfrag" replay-report.txt \
		'replay-report.txt:[0-9]+: result line without extfrag' \
		< <(sed '0,/^replay /s/ extfrag=[^ ]*//' "$saved/replay-report.txt")
	bad "a report without result lines" replay-report.txt 'replay-report.txt: no result lines' \
		< <(grep -v '^replay ' "$saved/replay-report.txt")
fi
bad "buddyinfo going back in time" buddyinfo-series.txt 'buddyinfo-series.txt:3: time goes backwards' \
	< <(printf 't_ms 10\nNode 0, zone DMA32 1 2 3\nt_ms 5\nNode 0, zone DMA32 1 2 3\n')
bad "buddyinfo without t_ms" buddyinfo-series.txt 'buddyinfo-series.txt:1: .*before the first' \
	< <(printf 'Node 0, zone DMA32 1 2 3\n')
bad "text as buddyinfo" buddyinfo-series.txt 'buddyinfo-series.txt:2: expected' \
	< <(printf 't_ms 1\nthis is not buddyinfo\n')
bad "an empty folder" - 'nothing to plot' </dev/null
printf 'MMLAB-SAVE-BEGIN x.txt\nsome\n' >"$work/cut.log"
if "$plot" --extract "$work/cut.log" "$work/cut" >/dev/null 2>"$work/cut.err"; then
	tap 1 "garbage: a save block that never ends fails"
else
	tap 0 "garbage: a save block that never ends fails: $(sed "s|$work/||" "$work/cut.err")"
fi

echo "1..$n"
echo "# plot: $((n - failed)) passed, $failed failed"
[[ $failed == 0 ]]
