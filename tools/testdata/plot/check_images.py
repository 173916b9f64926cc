#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# check_images.py <saved-dir> <images-dir> - the checks of tools/test-plot.sh
# on what tools/mmlab-plot made from <saved-dir>. Prints one line per check,
# "PASS <what>" or "FAIL <what>: <why>"; test-plot.sh turns them into TAP.
#
# The expectations come from the saved text itself, parsed here on its own
# (not with mmlab-plot's parsers): page counts per state from the page map
# rows, numbers from the replay result lines, samples from the buddyinfo
# series. Only the colour table and the PNG geometry constants are taken
# from mmlab-plot, as the definition of what is drawn.
import importlib.machinery
import importlib.util
import os
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

sys.dont_write_bytecode = True  # mmlab-plot is imported below: no __pycache__ in the tree

saved, images = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))
loader = importlib.machinery.SourceFileLoader(
    "mmlab_plot", os.path.join(here, "..", "..", "mmlab-plot"))
spec = importlib.util.spec_from_loader("mmlab_plot", loader)
plot = importlib.util.module_from_spec(spec)
loader.exec_module(plot)
NS = "{http://www.w3.org/2000/svg}"


def result(ok, what, why=""):
    print(("PASS %s" % what) if ok else ("FAIL %s: %s" % (what, why)))


def check(what, fn):
    try:
        why = fn()
    except Exception as e:  # a check that crashes is a failed check
        why = "%s: %s" % (type(e).__name__, e)
    result(not why, what, why or "")


def text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# --- what must exist ---------------------------------------------------------
names = sorted(os.listdir(saved))
pagemaps = [n for n in names if re.match(r"^pagemap-[A-Za-z0-9_.-]+\.txt$", n)]
expected = []
for n in pagemaps:
    expected += [n[:-4] + ".svg", n[:-4] + ".png"]
if "buddyinfo-series.txt" in names:
    expected.append("buddyinfo-series.svg")
traces = []
if "replay-report.txt" in names:
    for line in text(os.path.join(saved, "replay-report.txt")).splitlines():
        m = re.match(r"^replay .*\btrace=(\S+)", line)
        if m and m.group(1) not in traces:
            traces.append(m.group(1))
    for t in traces:
        sfx = "" if len(traces) == 1 else "-" + re.sub(r"[^A-Za-z0-9_.-]", "_", t)
        expected += ["replay-compare%s.svg" % sfx, "replay-extfrag%s.svg" % sfx]
expected.append("index.html")


def exists(name):
    p = os.path.join(images, name)
    if not os.path.isfile(p):
        return "missing"
    if os.path.getsize(p) == 0:
        return "empty"
    return ""


if len(expected) == 1:
    result(False, "the saved folder has something to plot", "no pagemap, buddyinfo or replay file")
for name in expected:
    check("%s exists and is not empty" % name, lambda name=name: exists(name))

svgs = {}


def parse_svg(name):
    root = ET.parse(os.path.join(images, name)).getroot()
    if root.tag != NS + "svg":
        return "root element is %s, not svg" % root.tag
    title = root.find(NS + "title")
    if title is None or not (title.text or "").strip():
        return "no <title>"
    if len([t for t in root.iter(NS + "text") if (t.text or "").strip()]) < 3:
        return "fewer than three text labels"
    svgs[name] = root
    return ""


for name in expected:
    if name.endswith(".svg") and not exists(name):
        check("%s is valid SVG (XML) with a title and labels" % name,
              lambda name=name: parse_svg(name))


# --- page maps ---------------------------------------------------------------
def pagemap_rows(path):
    """Header pages, chunks as (pages, states) from the rows, on its own."""
    pages = None
    chunks = []
    for line in text(path).splitlines():
        m = re.match(r"^# mmlab-pagemap v1 pages=(\d+) ", line)
        if m:
            pages = int(m.group(1))
        m = re.match(r"^zone \S+ chunk \d+ pfn 0x[0-9a-f]+ pages (\d+)", line)
        if m:
            chunks.append([int(m.group(1)), ""])
        m = re.match(r"^0x[0-9a-f]+ (\S+)$", line)
        if m:
            chunks[-1][1] += m.group(1)
    return pages, chunks


for n in pagemaps:
    base = n[:-4]
    pages, chunks = pagemap_rows(os.path.join(saved, n))
    want = {}
    for _, st in chunks:
        for c in st:
            want[c] = want.get(c, 0) + 1

    def cells(base=base, pages=pages, want=want):
        root = svgs.get(base + ".svg")
        if root is None:
            return "no SVG to look at"
        got = {}
        total = 0
        for r in root.iter(NS + "rect"):
            if r.get("data-n") is None:
                continue
            k = int(r.get("data-n"))
            total += k
            got[r.get("class")] = got.get(r.get("class"), 0) + k
            if abs(float(r.get("width")) - 5 * k) > 0.01:
                return "a run of %d pages is %s wide, not %d" % (k, r.get("width"), 5 * k)
        if total != pages:
            return "page cells sum to %d, the page map has %d pages" % (total, pages)
        for c, cnt in want.items():
            cls = plot.CATEGORY[c][0]
            if got.get(cls, 0) != cnt:
                return "'%s' pages: %d drawn, %d in the map" % (c, got.get(cls, 0), cnt)
        if sum(want.values()) != pages:
            return "the map's rows hold %d pages, its header %d" % (sum(want.values()), pages)
        return ""

    check("%s.svg: one cell per page (%s pages), each state as often as in the map"
          % (base, pages), cells)

    def png(base=base, chunks=chunks):
        data = open(os.path.join(images, base + ".png"), "rb").read()
        if data[:8] != b"\x89PNG\r\n\x1a\n":
            return "no PNG signature"
        pos, idat, ihdr = 8, b"", None
        while pos < len(data):
            ln, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + ln]
            crc = struct.unpack(">I", data[pos + 8 + ln:pos + 12 + ln])[0]
            if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
                return "bad CRC in %s" % kind
            if kind == b"IHDR":
                ihdr = struct.unpack(">IIBBBBB", body)
            elif kind == b"IDAT":
                idat += body
            pos += 12 + ln
        w, h, depth, ctype = ihdr[:4]
        if (depth, ctype) != (8, 2):
            return "not 8-bit RGB"
        # The layout of docs/pictures.md, computed here: square tiles a
        # power of two wide, 8 per row, PNG_CELL px per page, PNG_GAP apart.
        side = max(1 << ((p - 1).bit_length() + 1) // 2 for p, _ in chunks)
        rows_t = max((p + (1 << ((p - 1).bit_length() + 1) // 2) - 1) //
                     (1 << ((p - 1).bit_length() + 1) // 2) for p, _ in chunks)
        per_row = min(8, len(chunks))
        nrows = (len(chunks) + per_row - 1) // per_row
        cell, gap = plot.PNG_CELL, plot.PNG_GAP
        ew = per_row * side * cell + (per_row + 1) * gap
        eh = nrows * rows_t * cell + (nrows + 1) * gap
        if (w, h) != (ew, eh):
            return "%dx%d, expected %dx%d" % (w, h, ew, eh)
        raw = zlib.decompress(idat)
        if len(raw) != h * (1 + 3 * w):
            return "decoded %d bytes, expected %d" % (len(raw), h * (1 + 3 * w))
        # Every page's block has its state's colour (filter 0 rows).
        for i, (p, st) in enumerate(chunks):
            cw = 1 << ((p - 1).bit_length() + 1) // 2
            ox = gap + (i % per_row) * (side * cell + gap)
            oy = gap + (i // per_row) * (rows_t * cell + gap)
            for k, c in enumerate(st):
                x, y = ox + (k % cw) * cell + cell - 1, oy + (k // cw) * cell + cell - 1
                o = y * (1 + 3 * w) + 1 + 3 * x
                got = "#%02x%02x%02x" % tuple(raw[o:o + 3])
                if got != plot.CATEGORY[c][1]:
                    return "page %d of chunk %d is %s, '%s' is %s" % (k, i, got, c,
                                                                       plot.CATEGORY[c][1])
        return ""

    check("%s.png decodes (zlib, CRCs) to the expected size with each page's colour" % base, png)


# --- replay comparison -------------------------------------------------------
def report_numbers():
    runs = {}
    for line in text(os.path.join(saved, "replay-report.txt")).splitlines():
        if line.startswith("replay "):
            kv = dict(t.split("=", 1) for t in line.split()[1:])
            runs.setdefault(kv["trace"], {})[kv["policy"]] = kv
    return runs


METRICS = ["peak_pages", "final_pages", "peak_waste_bytes", "failures", "ns_per_op"]
if traces:
    runs = report_numbers()
    for t in traces:
        sfx = "" if len(traces) == 1 else "-" + re.sub(r"[^A-Za-z0-9_.-]", "_", t)

        def bars(t=t, sfx=sfx):
            root = svgs.get("replay-compare%s.svg" % sfx)
            if root is None:
                return "no SVG to look at"
            got = {}
            for r in root.iter(NS + "rect"):
                if r.get("class") == "bar":
                    key = (r.get("data-metric"), r.get("data-policy"))
                    if key in got:
                        return "two bars for %s %s" % key
                    got[key] = float(r.get("height"))
            pols = runs[t]
            want = [(m, p) for m in METRICS for p in pols]
            if sorted(got) != sorted(want):
                return "bars %s, expected one per policy per metric %s" % (sorted(got), sorted(want))
            for m in METRICS:
                vals = {p: float(pols[p][m]) for p in pols}
                vmax = max(vals.values())
                hmax = max(got[(m, p)] for p in pols)
                for p, v in vals.items():
                    h = got[(m, p)]
                    if vmax == 0:
                        if h != 0:
                            return "%s %s: value 0, bar %s high" % (m, p, h)
                    elif abs(h - hmax * v / vmax) > 0.02:
                        return "%s %s: bar %.2f high, %.2f for %s of max %s" % (
                            m, p, h, hmax * v / vmax, v, vmax)
            return ""

        check("replay-compare%s.svg: one bar per policy per metric, heights proportional "
              "to the report's numbers" % sfx, bars)

        def extfrag(t=t, sfx=sfx):
            root = svgs.get("replay-extfrag%s.svg" % sfx)
            if root is None:
                return "no SVG to look at"
            got = {}
            for r in root.iter(NS + "rect"):
                if r.get("class") in ("bar", "free"):
                    got[(int(r.get("data-order")), r.get("data-policy"))] = (
                        r.get("class"), float(r.get("data-value")), float(r.get("height")))
            n = 0
            for p, kv in runs[t].items():
                for o, v in enumerate(float(x) for x in kv["extfrag"].split(",")):
                    n += 1
                    g = got.get((o, p))
                    if g is None:
                        return "no bar for %s order %d" % (p, o)
                    if abs(g[1] - v) > 5e-4:
                        return "%s order %d: %s drawn, %s in the report" % (p, o, g[1], v)
                    if v >= 0 and (g[0] != "bar" or abs(g[2] - 260 * v) > 0.02):
                        return "%s order %d: bar %s high for %s" % (p, o, g[2], v)
                    if v < 0 and g[0] != "free":
                        return "%s order %d: -1 not drawn as a free stub" % (p, o)
            if n != len(got):
                return "%d bars, %d values in the report" % (len(got), n)
            return ""

        check("replay-extfrag%s.svg: one bar per policy per order with the report's values"
              % sfx, extfrag)


# --- buddyinfo series --------------------------------------------------------
if "buddyinfo-series.txt" in names:
    def series():
        root = svgs.get("buddyinfo-series.svg")
        if root is None:
            return "no SVG to look at"
        body = text(os.path.join(saved, "buddyinfo-series.txt"))
        nsamp = len(re.findall(r"(?m)^t_ms \d+$", body))
        first = re.search(r"(?m)^Node \d+, zone +\S+((?: +\d+)+) *$", body)
        norders = len(first.group(1).split())
        areas = [e for e in root.iter(NS + "polygon") if e.get("class") == "area"]
        lines = [e for e in root.iter(NS + "polyline") if e.get("class") == "order"]
        total = [e for e in root.iter(NS + "polyline") if e.get("class") == "total"]
        if len(areas) != norders or len(lines) != norders:
            return "%d areas and %d lines for %d orders" % (len(areas), len(lines), norders)
        if len(total) != 1:
            return "no free pages total line"
        if len(total[0].get("points").split()) != nsamp:
            return "total line has %d points, %d samples" % (
                len(total[0].get("points").split()), nsamp)
        for e in lines:
            if len(e.get("points").split()) != nsamp:
                return "order %s line: wrong number of points" % e.get("data-order")
        return ""

    check("buddyinfo-series.svg: an area and a line per order, a point per sample", series)


def index():
    body = text(os.path.join(images, "index.html"))
    for name in expected[:-1]:
        if 'href="%s"' % name not in body:
            return "%s not listed" % name
    return ""


check("index.html lists every image", index)
