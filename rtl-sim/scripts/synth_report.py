#!/usr/bin/env python3
"""Summarize a yosys synth_xilinx log: LUT/FF/DSP/BRAM per synthesized top.

Usage: synth_report.py YOSYS_LOG
Takes the last `stat` section of each module name in the log, groups the
xc7 primitives into the resources a Zynq-7020 budget is written in, and
prints one row per module plus the share of the XC7Z020. Stdlib only.
"""

import re
import sys

# XC7Z020: 53,200 LUT, 106,400 FF, 220 DSP48E1, 140 RAMB36E1.
DEVICE = {"LUT": 53200, "FF": 106400, "DSP": 220, "BRAM36": 140}


def group(cells):
    r = {"LUT": 0, "LUTRAM": 0, "FF": 0, "CARRY4": 0, "DSP": 0, "BRAM36": 0.0, "other": 0}
    for name, n in cells.items():
        if re.fullmatch(r"LUT[1-6]", name):
            r["LUT"] += n
        elif name.startswith(("SRL", "RAM32", "RAM64", "RAM128", "RAM256")):
            r["LUTRAM"] += n
        elif re.fullmatch(r"FD[CPRS]E(_1)?", name):
            r["FF"] += n
        elif name == "CARRY4":
            r["CARRY4"] += n
        elif name.startswith("DSP48"):
            r["DSP"] += n
        elif name.startswith("RAMB36"):
            r["BRAM36"] += n
        elif name.startswith("RAMB18"):
            r["BRAM36"] += n / 2
        elif name in ("MUXF7", "MUXF8", "INV", "BUFG", "IBUF", "OBUF", "VCC", "GND"):
            pass
        else:
            r["other"] += n
    return r


def parse(text):
    mods = {}
    for m in re.finditer(r"^=== (\S+) ===\n(.*?)(?=^\S|\Z)", text, re.M | re.S):
        cells = {}
        for c in re.finditer(r"^\s+(\w+)\s+(\d+)\s*$", m.group(2), re.M):
            if not c.group(1).startswith("Number"):
                cells[c.group(1)] = int(c.group(2))
        if cells:
            mods[m.group(1)] = cells
    return mods


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        mods = parse(f.read())
    if not mods:
        print("synth_report: no stat sections in the log", file=sys.stderr)
        return 1
    cols = ["LUT", "LUTRAM", "FF", "CARRY4", "DSP", "BRAM36"]
    print(f"{'module':<16}" + "".join(f"{c:>9}" for c in cols))
    for name, cells in mods.items():
        r = group(cells)
        print(f"{name:<16}" + "".join(f"{r[c]:>9g}" for c in cols))
        share = ", ".join(f"{k} {100.0 * r[k] / v:.2f}%" for k, v in DEVICE.items())
        print(f"{'':<16}of XC7Z020: {share}")
        if r["other"]:
            print(f"{'':<16}(+{r['other']} other cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
