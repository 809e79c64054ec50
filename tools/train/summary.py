#!/usr/bin/python3
"""Print the models/README.md table from the training and evaluation records.

    /usr/bin/python3 tools/train/summary.py [OUT] [--models DIR] [--device cpu]

For each net: OUT/NET/result.json (train.py), OUT/NET/eval-DEVICE.log and
OUT/NET/pred-DEVICE.txt (compile_all.sh), MODELS/fmnist_NET.npu.
"""

import argparse
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out", nargs="?", default="build-train/fmnist")
    p.add_argument("--models", default="models")
    p.add_argument("--device", default="cpu")
    a = p.parse_args()

    print("| net | input | epochs | train time | float acc (torch) | int8 acc (%s) | drop (points) "
          "| top-1 agreement | model size |" % a.device)
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    total = 0
    for net in nets.NETS:
        d = os.path.join(a.out, net)
        try:
            with open(os.path.join(d, "result.json")) as f:
                r = json.load(f)
        except OSError:
            print(f"| {net} | not trained | | | | | | | |")
            continue
        fl = r["float_test_acc"] * 100
        int8 = agree = "—"
        drop = "—"
        try:
            with open(os.path.join(d, f"eval-{a.device}.log")) as f:
                m = re.search(r"^accuracy: ([0-9.]+) \((\d+)/(\d+)\)", f.read(), re.M)
            if m and int(m.group(3)) == r["test_images"]:
                q = float(m.group(1)) * 100
                int8 = f"{q:.2f} %"
                drop = f"{fl - q:+.2f}"
                fp = np.load(os.path.join(d, "float_pred.npy")).astype(int)
                qp = np.loadtxt(os.path.join(d, f"pred-{a.device}.txt"), dtype=int)
                agree = f"{(fp == qp).mean() * 100:.2f} %"
        except OSError:
            pass
        path = os.path.join(a.models, f"fmnist_{net}.npu")
        size = "—"
        if os.path.exists(path):
            n = os.path.getsize(path)
            total += n
            size = f"{n / 1e6:.2f} MB"
        opts = r["options"]
        extra = f", alpha {opts['alpha']}" if net == "mobilenet_v1" else ""
        print(f"| {net} | 3x{r['size']}x{r['size']}{extra} | {r['epochs']:g} "
              f"| {r['wall_s'] / 60:.1f} min | {fl:.2f} % | {int8} | {drop} | {agree} | {size} |")
    print(f"\nmodel files: {total / 1e6:.2f} MB in total")


if __name__ == "__main__":
    main()
