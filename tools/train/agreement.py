#!/usr/bin/python3
"""Agreement of the int8 models with the float PyTorch models they came from.

    /usr/bin/python3 tools/train/agreement.py [NET ...] [--limit N] [--bin DIR]

For each NET (default: the four of issue 5, squeezenet1_1 mobilenet_v2
mobilenet_v3_small shufflenet_v2_x1_0):

  float  nets.build(NET) with the trained state dict models/float/fmnist_NET.pt,
         eval mode, on the first N Fashion-MNIST test images preprocessed by
         fmnist.Preprocess(32) (the training preprocessing);
  int8   models/fmnist_NET.npu on the `cpu` device (the bit-exact reference)
         through `npu-eval --logits`, which preprocesses the same images the
         same way in C and writes the dequantized outputs, float32 [N,10];

and reports, over the N images: top-1 agreement (both predict the same
class), the mean and the minimum cosine similarity of the two 10-vectors,
the largest and the mean |float - int8| in output LSBs (divided by the
output tensor's scale, which npu-eval prints), the share of float scores
outside the range the int8 output can represent ("clip %"), and both
accuracies.

Exit status: 0 every net within the limits; 1 some net below --min-agreement
(top-1 agreement, %) or --min-cosine (mean cosine); 2 bad command line, a
missing file, or npu-eval failed. The default limits and why are in
models/README.md ("Agreement with PyTorch").
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fmnist  # noqa: E402
import nets  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_NETS = ["squeezenet1_1", "mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x1_0"]
SIZE = 32  # the input side every committed model was trained at (models/README.md)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1].strip())
    p.add_argument("nets", nargs="*", metavar="NET", help="default: " + " ".join(DEFAULT_NETS))
    p.add_argument("-n", "--limit", type=int, default=1000,
                   help="the first N test images (default 1000; 10000 = all)")
    p.add_argument("--bin", default=os.path.join(os.environ.get("NPU_BUILD") or "build", "bin"),
                   help="directory of npu-eval (default $NPU_BUILD/bin, else build/bin)")
    p.add_argument("--models", default=os.path.join(ROOT, "models"),
                   help="directory of fmnist_NET.npu and float/fmnist_NET.pt")
    p.add_argument("--data-dir", default=fmnist.DATA_DIR)
    p.add_argument("--device", default="cpu", help="npu-eval --device (default cpu)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--min-agreement", type=float, default=97.0, metavar="PCT",
                   help="fail below this top-1 agreement in %% (default 97)")
    p.add_argument("--min-cosine", type=float, default=0.998, metavar="C",
                   help="fail below this mean cosine similarity (default 0.998)")
    a = p.parse_args()
    a.nets = a.nets or DEFAULT_NETS
    for n in a.nets:
        if n not in nets.NETS:
            p.error(f"unknown net {n!r}; one of {', '.join(nets.NETS)}")
    if not 1 <= a.limit <= 10000:
        p.error("--limit: want 1..10000")
    return a


def die(msg):
    print(f"agreement.py: {msg}", file=sys.stderr)
    sys.exit(2)


def start_int8(a, net, logits_path):
    """Start npu-eval on the int8 model; it runs while torch computes."""
    model = os.path.join(a.models, f"fmnist_{net}.npu")
    cmd = [os.path.join(a.bin, "npu-eval"), model, "--dataset", "fashion-mnist",
           "--data-dir", a.data_dir, "--device", a.device, "--limit", str(a.limit),
           "--size", str(SIZE), "--logits", logits_path]
    try:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        die(f"{cmd[0]}: {e.strerror} (build it: make {cmd[0]}, or pass --bin)")


def finish_int8(proc, logits_path, n):
    """(dequantized logits [n,10], output scale, zero point) from a finished
    npu-eval."""
    out, err = proc.communicate()
    if proc.returncode != 0:
        last = err.strip().splitlines()[-1] if err.strip() else ""
        die(f"{' '.join(proc.args)}: exit {proc.returncode}: {last}")
    m = re.search(r"^output: scale (\S+), zero point (-?\d+)$", out, re.M)
    if not m:
        die(f"npu-eval printed no 'output: scale' line:\n{out}")
    q = np.load(logits_path)
    if q.dtype != np.float32 or q.shape != (n, 10):
        die(f"{logits_path}: {q.dtype} {q.shape}, want float32 ({n}, 10)")
    return q, float(m.group(1)), int(m.group(2))


def float_logits(net, state_path, x):
    model = nets.build(net)
    try:
        sd = torch.load(state_path, map_location="cpu")
    except OSError as e:
        die(f"{state_path}: {e.strerror}")
    model.load_state_dict(sd)  # strict: every key, every shape
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + 500]) for i in range(0, len(x), 500)]).numpy()


def compare(f, q, scale, zp, lab):
    """The figures for one net: float logits f, int8 logits q, [N,10] each,
    the output quantization (scale, zero point) and the true labels."""
    f = f.astype(np.float64)
    q = q.astype(np.float64)
    pf, pq = f.argmax(1), q.argmax(1)
    nf, nq = np.linalg.norm(f, axis=1), np.linalg.norm(q, axis=1)
    # An all-zero int8 output (possible with a ReLU on the scores, as
    # SqueezeNet has) has no direction: cosine 0 unless both are zero.
    den = nf * nq
    cos = np.where(den > 0, (f * q).sum(1) / np.where(den > 0, den, 1), (nf == nq) * 1.0)
    lsb = np.abs(f - q) / scale
    # Float scores the int8 output cannot represent (the calibration images'
    # min/max set the range): where the largest errors come from.
    lo, hi = (-128 - zp - 0.5) * scale, (127 - zp + 0.5) * scale
    return {
        "agree": 100.0 * (pf == pq).mean(),
        "cos_mean": cos.mean(),
        "cos_min": cos.min(),
        "lsb_max": lsb.max(),
        "lsb_mean": lsb.mean(),
        "out_of_range": 100.0 * ((f < lo) | (f > hi)).mean(),
        "acc_float": 100.0 * (pf == lab).mean(),
        "acc_int8": 100.0 * (pq == lab).mean(),
        "scale": scale,
    }


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    try:
        img, lab = fmnist.load("t10k", a.data_dir)
    except OSError as e:
        die(f"{e.filename}: {e.strerror} (install Debian's dataset-fashion-mnist "
            "or pass --data-dir)")
    img, lab = img[:a.limit], lab[:a.limit]
    x = fmnist.Preprocess(SIZE)(img)

    print(f"{len(lab)} Fashion-MNIST test images; int8 on {a.device} "
          f"(npu-eval from {a.bin}), float in torch {torch.__version__}")
    print(f"{'net':<20} {'agree %':>8} {'cos mean':>9} {'cos min':>8} {'max LSB':>8} "
          f"{'mean LSB':>8} {'clip %':>7} {'float %':>8} {'int8 %':>8} {'time s':>7}")
    failed = []
    with tempfile.TemporaryDirectory(prefix="npu-agree-") as tmp:
        for net in a.nets:
            t0 = time.monotonic()
            path = os.path.join(tmp, f"{net}.npy")
            proc = start_int8(a, net, path)
            f = float_logits(net, os.path.join(a.models, "float", f"fmnist_{net}.pt"), x)
            q, scale, zp = finish_int8(proc, path, len(lab))
            r = compare(f, q, scale, zp, lab)
            print(f"{net:<20} {r['agree']:8.2f} {r['cos_mean']:9.5f} {r['cos_min']:8.4f} "
                  f"{r['lsb_max']:8.2f} {r['lsb_mean']:8.3f} {r['out_of_range']:7.3f} "
                  f"{r['acc_float']:8.2f} {r['acc_int8']:8.2f} {time.monotonic() - t0:7.1f}",
                  flush=True)
            if r["agree"] < a.min_agreement or r["cos_mean"] < a.min_cosine:
                failed.append(net)
    if failed:
        print(f"FAIL: {' '.join(failed)} below the limits (top-1 agreement >= "
              f"{a.min_agreement:g} %, mean cosine >= {a.min_cosine:g})")
        return 1
    print(f"ok: every net has top-1 agreement >= {a.min_agreement:g} % and mean cosine "
          f">= {a.min_cosine:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
