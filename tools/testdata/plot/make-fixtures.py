#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# make-fixtures.py - writes console.log, the input of tools/test-plot.sh
# (see README): the real Part 10 of a make run (real-part10.log) plus
# PROVISIONAL page maps and a replay report in the formats of issue 7's
# shared spec, made by a small buddy simulation (so free pages carry the
# order of a real, aligned buddy block). Deterministic.
#
#   tools/testdata/plot/make-fixtures.py   (writes console.log next to it)
import os
import random

here = os.path.dirname(os.path.abspath(__file__))
rnd = random.Random(7)
MAXO = 10
CHUNKS = [("DMA32", 0, 0x3c000), ("Normal", 1, 0x140400)]


class Buddy:
    def __init__(self):
        self.free = {o: set() for o in range(MAXO + 1)}  # absolute head pfns
        self.owner = {}                                   # pfn -> char
        for _, _, pfn in CHUNKS:
            self.free[MAXO].add(pfn)

    def alloc(self, order, ch):
        # Regions and the pressure pool in DMA32, the rest in Normal, as
        # if each came through its own zonelist.
        lo, hi = (CHUNKS[0][2], CHUNKS[1][2]) if ch in "RM" else (CHUNKS[1][2], 1 << 40)
        for k in range(order, MAXO + 1):
            fit = [h for h in self.free[k] if lo <= h < hi]
            if fit:
                head = min(fit)
                self.free[k].remove(head)
                while k > order:
                    k -= 1
                    self.free[k].add(head + (1 << k))
                for p in range(head, head + (1 << order)):
                    self.owner[p] = ch
                return head
        raise SystemExit("fixture: out of memory")

    def release(self, head, order):
        for p in range(head, head + (1 << order)):
            del self.owner[p]
        while order < MAXO:
            buddy = head ^ (1 << order)
            if buddy not in self.free[order]:
                break
            self.free[order].remove(buddy)
            head = min(head, buddy)
            order += 1
        self.free[order].add(head)

    def state(self, pfn):
        if pfn in self.owner:
            return self.owner[pfn]
        for o in range(MAXO + 1):
            if (pfn & ~((1 << o) - 1)) in self.free[o]:
                return "0123456789a"[o]
        raise AssertionError("page %x lost" % pfn)



b = Buddy()
slabs = []  # (head, order, policy, cache, inuse, objects)


def pagemap(b):
    out = ["# mmlab-pagemap v1 pages=%d page_size=4096" % (1024 * len(CHUNKS)),
           "# PROVISIONAL fixture (tools/testdata/plot/README): hand-made to the spec"]
    for zone, idx, pfn in CHUNKS:
        out.append("zone %s chunk %d pfn 0x%x pages 1024" % (zone, idx, pfn))
        for r in range(0, 1024, 64):
            out.append("0x%x %s" % (pfn + r, "".join(b.state(pfn + r + k) for k in range(64))))
    for head, order, pol, cache, inuse, objs in sorted(slabs):
        out.append("slab 0x%x order %d policy %s cache %s inuse %d objects %d"
                   % (head, order, pol, cache, inuse, objs))
    out.append("region 1 pid 77 pages 96")
    return out


# Fill: per-CPU lists, slabs of the three policies, kmalloc, vmalloc,
# a region, control allocations, the pressure pool.
for _ in range(15):
    b.alloc(0, "p")
for pol, ch, caches in (("slub", "U", [("kmalloc-64", 0, 64), ("demo_obj", 1, 36)]),
                        ("slab", "A", [("slab_obj", 0, 20), ("kmalloc-192", 0, 21)]),
                        ("slob", "O", [("slob-heap", 0, 0)])):
    for cache, order, objs in caches:
        for _ in range(6):
            h = b.alloc(order, ch)
            slabs.append((h, order, pol, cache, rnd.randrange(1, objs + 1) if objs else 0, objs))
large = [b.alloc(2, "K") for _ in range(4)]
vm = [b.alloc(0, "V") for _ in range(10)]
region = []
pressure = []
for i in range(240):
    region.append(b.alloc(0, "M"))
    pressure.append(b.alloc(0, "R"))
ctl = [(b.alloc(o, "C"), o) for o in (0, 3, 5)]
b.alloc(1, "P")
fill = pagemap(b)

# Churn: free every other region and pressure page (a checkerboard that
# cannot merge), then ask for order-2 and order-3 blocks.
for i, h in enumerate(region):
    if i % 2:
        b.release(h, 0)
for i, h in enumerate(pressure):
    if i % 2 == 0:
        b.release(h, 0)
for k in range(12):
    b.alloc(2 + k % 2, "C")
for h in large[:2]:
    b.release(h, 2)
churn = pagemap(b)

report = """replay policy=slab trace=fragmenter-1 ops=12000 failures=0 peak_pages=812 final_pages=64 peak_requested_bytes=2890000 peak_waste_bytes=435952 ns_per_op=412 extfrag=-1.000,-1.000,-1.000,-1.000,0.120,0.310,0.520,0.700,0.860,0.930,0.968
replay policy=slub trace=fragmenter-1 ops=12000 failures=0 peak_pages=790 final_pages=58 peak_requested_bytes=2890000 peak_waste_bytes=345840 ns_per_op=305 extfrag=-1.000,-1.000,-1.000,0.050,0.210,0.400,0.610,0.780,0.890,0.950,0.975
replay policy=slob trace=fragmenter-1 ops=12000 failures=3 peak_pages=731 final_pages=41 peak_requested_bytes=2890000 peak_waste_bytes=104176 ns_per_op=1480 extfrag=-1.000,-1.000,0.020,0.180,0.390,0.590,0.760,0.880,0.940,0.970,0.985
replay policy=host trace=fragmenter-1 ops=12000 failures=0 peak_pages=845 final_pages=70 peak_requested_bytes=2890000 peak_waste_bytes=571120 ns_per_op=190 extfrag=-1.000,-1.000,-1.000,-1.000,-1.000,-1.000,-1.000,-1.000,-1.000,0.000,0.000
metric                 slab      slub      slob      host
ops                   12000     12000     12000     12000
failures                  0         0         3         0
peak_pages              812       790       731       845
final_pages              64        58        41        70
peak_requested_bytes 2890000  2890000  2890000  2890000
peak_waste_bytes     435952   345840   104176   571120
ns_per_op               412       305      1480       190""".split("\n")

# The console log: the real Part 10 of a `make run` (real-part10.log, cut
# from build/run/console.log as run-vm.sh keeps it: CRLF line ends, the
# demo's narration around the saved blocks; it saved slabinfo.txt and a
# real buddyinfo-series.txt), followed by the provisional blocks made here,
# one of them with a kernel message inside (the extractor must drop it).
with open(os.path.join(here, "real-part10.log"), newline="") as f:
    real = f.read()
log = ["==> provisional blocks (make-fixtures.py) follow"]


def save(name, lines, kernel_line=None):
    log.append("MMLAB-SAVE-BEGIN %s" % name)
    for i, line in enumerate(lines):
        log.append(line)
        if kernel_line and i == 3:
            log.append(kernel_line)
    log.append("MMLAB-SAVE-END")


save("pagemap-1.txt", fill)
log.append("$ echo \"free 5\" > control   ->   freed")
save("pagemap-2.txt", churn, "[   42.123456] mmlab: kswapd woke (fixture)")
save("replay-report.txt", report)
log.append("MMLAB-NONCE: fixture")
log.append("MMLAB-EXIT-STATUS: 0")
with open(os.path.join(here, "console.log"), "w", newline="") as f:
    f.write(real + "".join(line + "\r\n" for line in log))
