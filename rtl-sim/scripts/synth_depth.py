#!/usr/bin/env python3
"""Logic depth of a synth_xilinx netlist: the slowest register-to-register path.

Usage: synth_depth.py NETLIST.json TOP
Reads the JSON netlist (yosys `write_json`) of a flattened xc7 design and
prints, as yosys `log` commands (rtl-sim/synth/synth.ys runs this script
with `!` and then `script`s its output, so the lines land in the yosys
log), the estimated delay of the slowest register-to-register path, its
logic levels (LUT, MUXF7/8, CARRY4, DSP48E1, LUTRAM cells on it), its
start and end registers and the cells on it, and the deepest path in
levels alone. synth_report.py reads the `lwnpu-depth` lines.

Why not yosys itself: `ltp -noff` only knows yosys's internal flip-flop
types, so on an xc7 netlist it runs through FDRE/FDCE and reports whole
pipelines; `sta` has no arcs for CARRY4, MUXF7 and MUXF8 and no routing.

Delay model (Artix-7 / Zynq-7000 fabric, -1 speed grade), ns. Cell
delays are the ones yosys 0.23 ships in share/xilinx/cells_sim.v (specify
blocks taken from prjxray-db's artix7 timings and, for DSP48E1, the abc9
models): LUT per input pin, CARRY4 per arc, MUXF7/F8, FF clock-to-Q and
setup, BRAM clock-to-out and setup, DSP48E1 per register configuration.
There is no placement, so every net that is not a dedicated in-slice or
cascade connection costs ROUTE_NS (0.45 ns, a typical short net on a -1
part; long or high-fanout nets cost more). No clock skew or jitter.
An estimate before place and route, to compare blocks and find the long
paths, not a timing sign-off. Stdlib only.
"""

import json
import re
import sys

ROUTE_NS = 0.45

# cells_sim.v, LUTn: delay of input Ik to O (ns).
LUT_NS = {
    1: [0.127], 2: [0.238, 0.127], 3: [0.407, 0.238, 0.127],
    4: [0.472, 0.407, 0.238, 0.127], 5: [0.631, 0.472, 0.407, 0.238, 0.127],
    6: [0.642, 0.631, 0.472, 0.407, 0.238, 0.127],
}
MUXF_NS = {"MUXF7": {"I0": 0.217, "I1": 0.223, "S": 0.296},
           "MUXF8": {"I0": 0.104, "I1": 0.094, "S": 0.273}}
# cells_sim.v, CARRY4: (input, output) -> ns; inputs are CI, CYINIT, DIk, Sk.
CARRY4_NS = {}
for _o, _arcs in {
    "O0": "CYINIT 482 S0 223 CI 222",
    "O1": "CYINIT 598 DI0 407 S0 400 S1 205 CI 334",
    "O2": "CYINIT 584 DI0 556 DI1 537 S0 523 S1 558 S2 226 CI 239",
    "O3": "CYINIT 642 DI0 615 DI1 596 DI2 438 S0 582 S1 618 S2 330 S3 227 CI 313",
    "CO0": "CYINIT 536 DI0 379 S0 340 CI 271",
    "CO1": "CYINIT 494 DI0 465 DI1 445 S0 433 S1 469 CI 157",
    "CO2": "CYINIT 592 DI0 540 DI1 520 DI2 356 S0 512 S1 548 S2 292 CI 228",
    "CO3": "CYINIT 580 DI0 526 DI1 507 DI2 398 DI3 385 S0 508 S1 528 S2 378 S3 380 CI 114",
}.items():
    _w = _arcs.split()
    for _i in range(0, len(_w), 2):
        CARRY4_NS[(_w[_i], _o)] = int(_w[_i + 1]) / 1000.0

FF_CKO_NS = 0.303                       # FDRE C -> Q
FF_SETUP_NS = {"D": 0.0, "CE": 0.109, "R": 0.404, "S": 0.404, "CLR": 0.404, "PRE": 0.404}
LUTRAM_CKO_NS = 1.153                   # RAM64X1D WCLK -> SPO
LUTRAM_READ_NS = 0.642                  # address -> output, as a LUT6 I0
SRL_CKO_NS = 1.472                      # SRLC32E CLK -> Q
BRAM_CKO_NS = {False: 2.454, True: 0.882}   # DO*_REG = 0 / 1
BRAM_SETUP_NS = {"ADDR": 0.566, "WE": 0.532, "DI": 0.737, "REGCE": 0.360, "RSTREG": 0.342}

# Connections with no general routing: (sink type, sink port) -> the driver
# types for which it is dedicated (carry chain, F7/F8 muxes, DSP cascades).
DEDICATED = {("CARRY4", "CI"): ("CARRY4",),
             ("MUXF7", "I0"): ("LUT6",), ("MUXF7", "I1"): ("LUT6",),
             ("MUXF8", "I0"): ("MUXF7",), ("MUXF8", "I1"): ("MUXF7",),
             ("DSP48E1", "PCIN"): ("DSP48E1",), ("DSP48E1", "ACIN"): ("DSP48E1",),
             ("DSP48E1", "BCIN"): ("DSP48E1",), ("DSP48E1", "CARRYCASCIN"): ("DSP48E1",),
             ("DSP48E1", "MULTSIGNIN"): ("DSP48E1",)}


def param(cell, name, default=0):
    v = cell["parameters"].get(name)
    if v is None:
        return default
    if isinstance(v, int):
        return v
    if re.fullmatch(r"[01xz]+", v):
        return int(v.replace("x", "0").replace("z", "0"), 2)
    return v.strip()


# DSP48E1 input -> (the internal registers it can meet first, in order, with
# the delay to each; the delay through to P when it meets none). A pair is
# (with the multiplier, without it).
DSP_PATHS = {
    "A": ([("A", (0.254,)), ("M", (1.416,)), ("P", (2.739, 1.441))], (2.823, 1.523)),
    "B": ([("B", (0.324,)), ("M", (1.285,)), ("P", (2.608, 1.428))], (2.690, 1.509)),
    "C": ([("C", (0.168,)), ("P", (1.244,))], (1.325,)),
    "D": ([("D", (0.248,)), ("AD", (1.195,)), ("M", (2.310,)), ("P", (3.635,))], (3.717,)),
}


def dsp_model(cell):
    """DSP48E1 arcs from cells_sim.v's abc9 model: (comb arcs, clocked outputs, setups).

    comb: {input port: delay to P}; out: {output port: clock-to-out}; setup:
    {input port: delay to the first internal register}. PCOUT and the other
    outputs are taken as P (+0.15 ns for PCOUT, as in the model)."""
    reg = {k: param(cell, k + "REG", 1) for k in ("A", "B", "C", "D", "AD", "M", "P")}
    mult = param(cell, "USE_MULT", "MULTIPLY") != "NONE"
    dport = param(cell, "USE_DPORT", "FALSE") == "TRUE"
    comb, setup = {}, {}
    for port, (stages, through) in DSP_PATHS.items():
        if port == "D" and not dport:
            continue
        hit = [(r, d) for r, d in stages if reg[r] and (r != "M" or mult)]
        if hit:
            d = hit[0][1]
            setup[port] = d[0] if mult or len(d) == 1 else d[1]
        else:
            comb[port] = through[0] if mult or len(through) == 1 else through[1]
    # The post-adder's other inputs behave as C.
    for p in ("PCIN", "OPMODE", "ALUMODE", "CARRYIN", "CARRYINSEL"):
        if "C" in comb:
            comb[p] = comb["C"]
        else:
            setup[p] = setup["C"] if not reg["C"] else 1.244
    setup["ACIN"], setup["BCIN"] = setup.get("A"), setup.get("B")
    if "A" in comb:
        comb["ACIN"] = comb["A"]
    if "B" in comb:
        comb["BCIN"] = comb["B"]
    if reg["P"]:
        ck = 0.329
    elif mult and reg["M"]:
        ck = 1.671
    elif reg["C"]:
        ck = 1.687
    elif reg["A"]:
        ck = 2.952 if mult else 1.632
    elif reg["B"]:
        ck = 2.813 if mult else 1.616
    else:
        ck = None
    return comb, ck, {k: v for k, v in setup.items() if v is not None}


class Graph:
    """Timing arcs between net bits."""

    def __init__(self, mod, fast_luts=False):
        self.fast_luts = fast_luts
        self.arcs = {}      # out bit -> [(in bit, delay, cell name)]
        self.start = {}     # bit -> (clock-to-out, cell name) of sequential outputs
        self.ends = []      # (bit, setup, cell name) of sequential inputs
        self.driver = {}    # bit -> (cell type, port)
        self.names = {}
        self.unknown = {}
        for name, n in mod["netnames"].items():
            for i, b in enumerate(n["bits"]):
                if isinstance(b, int) and (b not in self.names or self.names[b].startswith("$")):
                    self.names[b] = f"{name}[{i}]" if len(n["bits"]) > 1 else name
        cells = mod["cells"]
        for cname, c in cells.items():
            for port, bits in c["connections"].items():
                if c.get("port_directions", {}).get(port) == "output":
                    for b in bits:
                        if isinstance(b, int):
                            self.driver[b] = (c["type"], port)
        for cname, c in cells.items():
            self.add_cell(cname, c)

    def pins(self, c, direction):
        for port, bits in c["connections"].items():
            if c.get("port_directions", {}).get(port) != direction:
                continue
            for i, b in enumerate(bits):
                if isinstance(b, int):
                    yield port, i, b

    def route(self, t, port, b):
        d = self.driver.get(b)
        if d is None or d[0] in DEDICATED.get((t, port), ()):
            return 0.0
        if t == "CARRY4" and port in ("S", "DI") and re.fullmatch(r"LUT[1-6]", d[0]):
            return 0.0      # the LUT in front of the carry sits in the same slice
        return ROUTE_NS

    def arc(self, cname, t, port, b, out, delay):
        r = self.route(t, port, b)
        self.arcs.setdefault(out, []).append((b, r + delay, cname, r))

    def end(self, cname, t, port, b, setup):
        r = self.route(t, port, b)
        self.ends.append((b, r + setup, cname, r))

    def add_cell(self, cname, c):
        t = c["type"]
        ins = list(self.pins(c, "input"))
        outs = list(self.pins(c, "output"))
        m = re.fullmatch(r"LUT([1-6])", t)
        if m or t == "INV":
            lut = LUT_NS[int(m.group(1))] if m else [0.127]
            for port, _, b in ins:
                k = int(port[1:]) if m else 0
                for _, _, o in outs:
                    self.arc(cname, t, port, b, o, lut[-1] if self.fast_luts else lut[k])
        elif t in MUXF_NS:
            for port, _, b in ins:
                for _, _, o in outs:
                    self.arc(cname, t, port, b, o, MUXF_NS[t][port])
        elif t == "CARRY4":
            for port, i, b in ins:
                pin = port if port in ("CI", "CYINIT") else f"{port}{i}"
                for oport, j, o in outs:
                    d = CARRY4_NS.get((pin, f"{oport}{j}"))
                    if d is not None:
                        self.arc(cname, t, port, b, o, d)
        elif re.fullmatch(r"FD[CPRS]E(_1)?", t):
            for _, _, o in outs:
                self.start[o] = (FF_CKO_NS, cname)
            for port, _, b in ins:
                if port != "C":
                    self.end(cname, t, port, b, FF_SETUP_NS.get(port, 0.0))
        elif t == "DSP48E1":
            comb, ck, setup = dsp_model(c)
            for oport, _, o in outs:
                extra = 0.148 if oport == "PCOUT" else 0.0
                if ck is not None:
                    self.start[o] = (ck + extra, cname)
                for port, _, b in ins:
                    if port in comb:
                        self.arc(cname, t, port, b, o, comb[port] + extra)
            for port, _, b in ins:
                if port in setup:
                    self.end(cname, t, port, b, setup[port])
                elif port.startswith(("CE", "RST")):
                    self.end(cname, t, port, b, 0.4)
        elif t.startswith(("RAMB18", "RAMB36")):
            for oport, _, o in outs:
                regd = bool(param(c, "DOA_REG" if "A" in oport[:4] else "DOB_REG", 0))
                self.start[o] = (BRAM_CKO_NS[regd], cname)
            for port, _, b in ins:
                if not port.startswith("CLK"):
                    key = next((k for k in BRAM_SETUP_NS if port.startswith(k)), None)
                    self.end(cname, t, port, b, BRAM_SETUP_NS.get(key, 0.5))
        elif t.startswith(("RAM", "SRL")):
            srl = t.startswith("SRL")
            for _, _, o in outs:
                self.start[o] = (SRL_CKO_NS if srl else LUTRAM_CKO_NS, cname)
            for port, _, b in ins:
                if port in ("CLK", "WCLK"):
                    continue
                if port.startswith(("A", "DPRA")):
                    for _, _, o in outs:
                        self.arc(cname, t, port, b, o, LUTRAM_READ_NS)
                self.end(cname, t, port, b, 0.45 if port.startswith("D") else 0.65)
        elif t in ("VCC", "GND", "BUFG", "IBUF", "OBUF"):
            pass
        else:
            # Anything else is taken as a register boundary: counted, not timed.
            self.unknown[t] = self.unknown.get(t, 0) + 1
            for _, _, o in outs:
                self.start[o] = (0.0, cname)


def analyse(g):
    """Arrival time (from register outputs only) and levels of every bit, in
    topological order; loops, if any, are cut where they are found."""
    arr, lev, prev = {}, {}, {}
    for b, (ck, cname) in g.start.items():
        arr[b], lev[b], prev[b] = ck, 0, None
    state = {}
    for root in list(g.arcs):
        if root in state:
            continue
        stack = [(root, iter(g.arcs.get(root, ())))]
        state[root] = 1
        while stack:
            b, it = stack[-1]
            nxt = next(it, None)
            if nxt is not None:
                src = nxt[0]
                if src not in state:
                    state[src] = 1
                    stack.append((src, iter(g.arcs.get(src, ()))))
                continue
            stack.pop()
            state[b] = 2
            for src, d, cname, r in g.arcs.get(b, ()):
                if src in arr and state[src] == 2 and src != b:
                    if b not in arr or arr[src] + d > arr[b]:
                        arr[b], prev[b] = arr[src] + d, (src, cname, r)
                    lev[b] = max(lev.get(b, 0), lev[src] + 1)
    return arr, lev, prev


def source(cell):
    """The RTL line a cell came from (yosys's src attribute), file name only."""
    src = cell.get("attributes", {}).get("src", "")
    lines = [m.group(1) + ":" + m.group(2)
             for m in re.finditer(r"([\w.]+\.sv):(\d+)", src)]
    return ",".join(dict.fromkeys(lines)) or "-"


def label(mod, cname, g):
    """A sequential cell: a flip-flop by the net it drives (its register), others by type."""
    c = mod["cells"][cname]
    out = next(g.pins(c, "output"), None)
    if not c["type"].startswith("FD") or out is None:
        return f"{c['type']} ({source(c)})"     # a DSP, BRAM or LUTRAM input
    return f"{c['type']} {g.names.get(out[2], cname)} ({source(c)})"


def worst_end(g):
    """Analyse g: (arrival + setup, end bit, end cell, end net delay) of the
    latest register input, the deepest level count, and the analysis."""
    arr, lev, prev = analyse(g)
    worst, deepest = None, 0
    for b, setup, cname, r in g.ends:
        if b in arr:
            t = arr[b] + setup
            if worst is None or t > worst[0]:
                worst = (t, b, cname, r)
            deepest = max(deepest, lev[b])
    return worst, deepest, (arr, lev, prev)


def report(path, top):
    with open(path, encoding="utf-8") as f:
        mod = json.load(f)["modules"][top]
    g = Graph(mod)
    worst, deepest, (arr, lev, prev) = worst_end(g)
    out = [f"lwnpu-depth model: {ROUTE_NS} ns per general net, cell delays of yosys"
           " share/xilinx/cells_sim.v (Artix-7 -1)"]
    if worst is None:
        # A purely combinational block: its input-to-output depth instead.
        for port in mod["ports"].values():
            if port["direction"] == "input":
                for b in port["bits"]:
                    if isinstance(b, int):
                        g.start[b] = (0.0, None)
        arr, lev, prev = analyse(g)
        io = [(arr[b], lev[b]) for p in mod["ports"].values() if p["direction"] == "output"
              for b in p["bits"] if isinstance(b, int) and b in arr]
        t, n = max(io) if io else (0.0, 0)
        out.append(f"lwnpu-depth {top} none (no register-to-register path),"
                   f" input to output {t:.2f} ns, {max((l for _, l in io), default=0)} levels")
        return out
    t, b, endcell, nets = worst
    # The same with every LUT input on its fastest pin (I5 = A6), as the
    # router would put the critical signals: a lower bound of the model.
    fast = worst_end(Graph(mod, fast_luts=True))[0][0]
    cells, kinds = [], {}
    while prev.get(b) is not None:
        src, cname, r = prev[b]
        nets += r
        cells.append(cname)
        ctype = mod["cells"][cname]["type"]
        k = "LUT" if re.fullmatch(r"LUT[1-6]|INV", ctype) else \
            "MUXF" if ctype.startswith("MUXF") else \
            "LUTRAM" if ctype.startswith(("RAM", "SRL")) else ctype
        kinds[k] = kinds.get(k, 0) + 1
        b = src
    startcell = g.start[b][1]
    mix = " ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
    out.append(f"lwnpu-depth {top} ns={t:.2f} nets={nets:.2f} fastpins={fast:.2f}"
               f" levels={len(cells)} deepest={deepest} {mix}")
    out.append(f"lwnpu-depth {top} from {label(mod, startcell, g)} to {label(mod, endcell, g)}")
    # The cells on the path, runs of one type from one source line merged.
    runs = []
    for cname in reversed(cells):
        key = (mod["cells"][cname]["type"], source(mod["cells"][cname]))
        if runs and runs[-1][0] == key:
            runs[-1][1] += 1
        else:
            runs.append([key, 1])
    for (ctype, src), n in runs:
        out.append(f"lwnpu-depth {top}   {n} x {ctype} {src}")
    if g.unknown:
        out.append(f"lwnpu-depth {top} untimed cell types (taken as registers): "
                   + " ".join(f"{k}={v}" for k, v in sorted(g.unknown.items())))
    return out


def main():
    if len(sys.argv) != 3:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    for line in report(sys.argv[1], sys.argv[2]):
        # One yosys `log` command per line: no comment or command separators.
        print("log " + re.sub(r"[#;\\\"]", "", line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
