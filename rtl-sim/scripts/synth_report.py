#!/usr/bin/env python3
"""Summarize yosys synth_xilinx logs: LUT/FF/DSP/BRAM per synthesized top.

Usage: synth_report.py [--device TOP]... [--clock-mhz MHZ] YOSYS_LOG...
Takes the last `stat` section of each module name in the logs, groups the
xc7 primitives into the resources a Zynq-7020 budget is written in, and
prints one row per module with its share of the XC7Z020. Each --device
TOP (a whole design, e.g. npu_top) also gets a fit verdict: every
resource against the XC7Z020's, and by how much it is over if it does not
fit. The device's LUTs are shared by logic and LUTRAM/SRL, so the fit
counts both (LUTRAM cells as the LUTs each one occupies). Where the log
has `lwnpu-depth` lines (rtl-sim/scripts/synth_depth.py, run by the synth
scripts), a second table gives each module's slowest register-to-register
path, estimated in ns and logic levels, against the nominal clock period
(NPU_HW_NOMINAL_CLOCK_MHZ in driver/npu_regs.h unless --clock-mhz), and
flags the modules whose estimate is longer. Stdlib only.
Exit status 0 even when a design does not fit: it is a report.
"""

import argparse
import os
import re
import sys

# XC7Z020: 53,200 LUT, 106,400 FF, 220 DSP48E1, 140 RAMB36E1.
DEVICE = {"LUT": 53200, "FF": 106400, "DSP": 220, "BRAM36": 140}

# LUTs each distributed-RAM / shift-register primitive occupies (7-series
# libraries, UG953).
LUTRAM_LUTS = {
    "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1,
    "RAM32X1S": 1, "RAM64X1S": 1, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1S": 2,
    "RAM128X1D": 4, "RAM256X1S": 4, "RAM32M": 4, "RAM64M": 4,
}


def group(cells):
    r = {"LUT": 0, "LUTRAM": 0, "LUTRAM_LUTS": 0, "FF": 0, "CARRY4": 0, "DSP": 0,
         "BRAM36": 0.0, "other": 0}
    for name, n in cells.items():
        if re.fullmatch(r"LUT[1-6]", name):
            r["LUT"] += n
        elif name.startswith(("SRL", "RAM32", "RAM64", "RAM128", "RAM256")):
            r["LUTRAM"] += n
            r["LUTRAM_LUTS"] += n * LUTRAM_LUTS.get(name, 4)
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


def parse_depth(text):
    """The last `lwnpu-depth` report of each module: its lines, in order."""
    depth = {}
    for m in re.finditer(r"^lwnpu-depth (\S+) (.*)$", text, re.M):
        top, rest = m.group(1), m.group(2)
        if top == "model:":
            continue
        if rest.startswith(("ns=", "none", "failed")):
            depth[top] = []
        depth.setdefault(top, []).append(rest)
    return depth


def nominal_mhz():
    """NPU_HW_NOMINAL_CLOCK_MHZ from driver/npu_regs.h, None if not found."""
    h = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "driver",
                     "npu_regs.h")
    try:
        with open(h, encoding="utf-8") as f:
            m = re.search(r"#define\s+NPU_HW_NOMINAL_CLOCK_MHZ\s+(0x[0-9a-fA-F]+|\d+)", f.read())
    except OSError:
        return None
    return int(m.group(1), 0) if m else None


def depth_table(depth, order, mhz):
    """Lines of the logic-depth table: one row per module, then its path."""
    period = 1000.0 / mhz
    lines = [f"Logic depth: slowest register-to-register path, estimated before place and"
             f" route (Artix-7 -1), against {mhz:g} MHz = {period:.2f} ns",
             f"{'module':<16}{'ns':>7}{'fast':>7}{'nets':>7}{'levels':>8}{'deepest':>9}"
             "  cells on the path: verdict"]
    for name in order:
        if name not in depth:
            continue
        head, rest = depth[name][0], depth[name][1:]
        kv = dict(re.findall(r"(\w+)=([\d.]+)", head))
        if "ns" not in kv:
            lines.append(f"{name:<16}{'-':>7}{'-':>7}{'-':>7}{'-':>8}{'-':>9}  {head}")
            continue
        ns = float(kv["ns"])
        mix = " ".join(f"{k}={v}" for k, v in kv.items()
                       if k not in ("ns", "nets", "fastpins", "levels", "deepest"))
        verdict = (f"OVER the period by {ns - period:.2f} ns" if ns > period
                   else f"fits, {period - ns:.2f} ns slack")
        lines.append(f"{name:<16}{ns:>7.2f}{kv.get('fastpins', '-'):>7}{kv.get('nets', '-'):>7}"
                     f"{kv.get('levels', '-'):>8}{kv.get('deepest', '-'):>9}  {mix}: {verdict}")
        lines += [f"{'':<16}{r.strip()}" for r in rest]
    over = [n for n in order if n in depth and
            float(dict(re.findall(r"(\w+)=([\d.]+)", depth[n][0])).get("ns", 0)) > period]
    lines.append("(ns: the estimate; fast: the same with every LUT input on its fastest pin;"
                 " nets: the routing in ns)")
    lines.append(f"over {period:.2f} ns: " + (", ".join(over) if over else "none"))
    return lines


def fit(name, r):
    """Lines of the fit verdict of one whole design."""
    used = {"LUT": r["LUT"] + r["LUTRAM_LUTS"], "FF": r["FF"], "DSP": r["DSP"],
            "BRAM36": r["BRAM36"]}
    parts = [f"{k} {used[k]:,g} of {v:,} ({100.0 * used[k] / v:.1f} %)" for k, v in DEVICE.items()]
    over = [f"{k} {used[k]:,g} of {v:,}: {used[k] - v:,g} over"
            for k, v in DEVICE.items() if used[k] > v]
    lines = [f"{name} on the XC7Z020 (LUT = logic + LUTRAM): " + ", ".join(parts)]
    lines.append(f"{name}: " + ("does NOT fit: " + "; ".join(over) if over else "fits"))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", action="append", default=[], metavar="TOP",
                    help="a whole design to check against the XC7Z020")
    ap.add_argument("--clock-mhz", type=float, default=None,
                    help="clock for the depth table (default NPU_HW_NOMINAL_CLOCK_MHZ)")
    ap.add_argument("logs", nargs="+")
    args = ap.parse_args()
    mods, depth = {}, {}
    for path in args.logs:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        mods.update(parse(text))
        depth.update(parse_depth(text))
    if not mods:
        print("synth_report: no stat sections in the logs", file=sys.stderr)
        return 1
    cols = ["LUT", "LUTRAM", "FF", "CARRY4", "DSP", "BRAM36"]
    print(f"{'module':<16}" + "".join(f"{c:>9}" for c in cols))
    # Blocks first, whole designs last.
    order = [n for n in mods if n not in args.device] + [n for n in args.device if n in mods]
    for name in order:
        r = group(mods[name])
        print(f"{name:<16}" + "".join(f"{r[c]:>9g}" for c in cols))
        share = ", ".join(f"{k} {100.0 * r[k] / v:.2f}%" for k, v in DEVICE.items())
        print(f"{'':<16}of XC7Z020: {share}")
        if r["other"]:
            print(f"{'':<16}(+{r['other']} other cells)")
    if depth:
        mhz = args.clock_mhz or nominal_mhz() or 200.0
        print()
        print("\n".join(depth_table(depth, order, mhz)))
    for name in args.device:
        if name not in mods:
            print(f"synth_report: no stat section for {name}", file=sys.stderr)
            return 1
        print()
        print("\n".join(fit(name, group(mods[name]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
