#!/usr/bin/env python3
"""Classify a PNG or JPEG image with an lwnpu model: examples/classify in Python.

    python3 python/examples/classify.py [--device URI] [--top N] MODEL IMAGE

The preprocessing comes from the model file's input metadata
(docs/MODEL_FORMAT.md, "Metadata section"), read here from the file as the
format document describes it: colour, resize (bilinear, half-pixel
centres, whole image or centred crop), x = (p / 255 - mean[c]) / std[c].
The arithmetic is examples/classify.c's, in float32 and in the same order,
so both print the same scores. Images are decoded by torchvision.io
(Debian's python3-torchvision, libpng and libjpeg inside); inference runs
through lwnpu (python/lwnpu, ctypes over libnpu.so).

Exit status: 0 ok; 1 the model, image or device failed (one line on
stderr); 2 bad command line.
"""
import argparse
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lwnpu  # noqa: E402

COLORS = {1: "grey", 2: "RGB", 3: "BGR"}


def read_metadata(path):
    """The metadata record of a version 2 model file as a dict, or None."""
    with open(path, "rb") as f:
        head = f.read(176)
        if len(head) < 160 or head[:8] != b"\x89LWNPU\r\n":
            raise ValueError("not an lwnpu model file")
        if struct.unpack_from("<I", head, 8)[0] != 2 or len(head) < 176:
            return None
        off, size = struct.unpack_from("<QQ", head, 152)
        f.seek(off)
        rec = f.read(size)
    if len(rec) != 64:
        raise ValueError("metadata section is not 64 bytes")
    vals = struct.unpack_from("<4f4ff", rec, 8)
    return {
        "color": rec[0],
        "resize": rec[1],
        "mean": np.array(vals[0:4], np.float32),
        "std": np.array(vals[4:8], np.float32),
        "crop": vals[8],
    }


def decode(path):
    """(H, W, 1 or 3) uint8 pixels of a PNG or JPEG file, and its kind."""
    with open(path, "rb") as f:
        sig = f.read(8)
    if sig == b"\x89PNG\r\n\x1a\n":
        kind = "PNG"
    elif sig[:3] == b"\xff\xd8\xff":
        kind = "JPEG"
    else:
        raise ValueError("not a PNG or JPEG image (unknown signature)")
    import torch  # noqa: F401  (torchvision needs it loaded)
    from torchvision.io import ImageReadMode, decode_image, read_file

    data = read_file(path)
    try:
        img = decode_image(data, mode=ImageReadMode.UNCHANGED)
        mode = ImageReadMode.GRAY if img.shape[0] in (1, 2) else ImageReadMode.RGB
        img = decode_image(data, mode=mode)
    except RuntimeError as e:
        raise ValueError("not a valid %s image: %s" % (kind, str(e).splitlines()[0]))
    return img.permute(1, 2, 0).numpy(), kind


def taps(dst, n, off, length):
    """Half-pixel bilinear taps of one axis: i0, i1, w0, w1 (classify.c)."""
    i0 = np.empty(dst, np.int64)
    w0 = np.empty(dst, np.float32)
    w1 = np.empty(dst, np.float32)
    scale = length / dst
    for o in range(dst):
        s = off + (o + 0.5) * scale - 0.5
        s = min(max(s, 0.0), n - 1.0)
        i0[o] = math.floor(s)
        w1[o] = np.float32(s - i0[o])
        w0[o] = np.float32(1.0 - (s - i0[o]))
    i1 = np.minimum(i0 + 1, n - 1)
    return i0, i1, w0, w1


def preprocess(px, h, w, c, meta):
    """The model's float32 input (1, h, w, c) from (ih, iw, ch) pixels."""
    ih, iw, ch = px.shape
    ox, oy, bw, bh = 0.0, 0.0, float(iw), float(ih)
    if meta["resize"] == 2:
        aspect = w / h
        if iw / ih > aspect:
            bw = ih * aspect
        else:
            bh = iw / aspect
        bw *= meta["crop"]
        bh *= meta["crop"]
        ox, oy = (iw - bw) / 2, (ih - bh) / 2
    xi0, xi1, xw0, xw1 = taps(w, iw, ox, bw)
    yi0, yi1, yw0, yw1 = taps(h, ih, oy, bh)
    out = np.empty((1, h, w, c), np.float32)
    for k in range(c):
        if ch == 1:
            plane = px[:, :, 0]
        elif meta["color"] == 1:
            p = px.astype(np.uint32)
            plane = ((299 * p[:, :, 0] + 587 * p[:, :, 1] + 114 * p[:, :, 2] + 500) // 1000)
        else:
            plane = px[:, :, 2 - k if meta["color"] == 3 else k]
        plane = plane.astype(np.float32)
        rows = yw0[:, None] * plane[yi0, :] + yw1[:, None] * plane[yi1, :]
        v = xw0[None, :] * rows[:, xi0] + xw1[None, :] * rows[:, xi1]
        out[0, :, :, k] = (v / np.float32(255.0) - meta["mean"][k]) / meta["std"][k]
    return out


def main():
    ap = argparse.ArgumentParser(description="Classify a PNG or JPEG image with an lwnpu model.")
    ap.add_argument("model")
    ap.add_argument("image")
    ap.add_argument("-d", "--device", default=None, help="device URI (default $NPU_DEVICE, else cpu)")
    ap.add_argument("-k", "--top", type=int, default=5, help="classes to print (default 5)")
    args = ap.parse_args()
    if args.top < 1:
        ap.error("--top: want >= 1")
    try:
        meta = read_metadata(args.model)
    except (OSError, ValueError) as e:
        print("classify.py: %s: %s" % (args.model, e), file=sys.stderr)
        return 1
    if meta is None:
        print("classify.py: %s: the model carries no input metadata (docs/MODEL_FORMAT.md)"
              % args.model, file=sys.stderr)
        return 1
    # libnpu before torch: torch's libraries take most of the static TLS
    # space that libnpu.so (its Verilator harness) also needs.
    try:
        dev = lwnpu.open(args.device)
        model = dev.load(args.model)
    except lwnpu.NPUError as e:
        print("classify.py: %s" % e, file=sys.stderr)
        return 1
    try:
        px, kind = decode(args.image)
    except (OSError, ValueError) as e:
        print("classify.py: %s: %s" % (args.image, e), file=sys.stderr)
        return 1
    try:
        _, h, w, c = model.input.shape_in("NHWC")
        x = preprocess(px, h, w, c, meta)
        scores = model.run(x).reshape(-1)
        labels = model.labels
    except lwnpu.NPUError as e:
        print("classify.py: %s" % e, file=sys.stderr)
        return 1
    prob = np.exp(scores - scores.max())
    prob /= prob.sum()
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[: args.top]
    print("%s on %s: %s, %dx%d %s %s -> %dx%dx%d, %s, %s" % (
        args.model, dev.uri, args.image, px.shape[1], px.shape[0],
        "grey" if px.shape[2] == 1 else "RGB", kind, h, w, c, COLORS[meta["color"]],
        "stretch" if meta["resize"] == 1 else "centre crop"))
    for r, i in enumerate(order):
        label = labels[i] if i < len(labels) else "-"
        print("%d %.4f %.9g %d %s" % (r + 1, prob[i], scores[i], i, label))
    return 0


if __name__ == "__main__":
    sys.exit(main())
