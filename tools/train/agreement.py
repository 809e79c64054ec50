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

With ONNX Runtime installed (tools/setup-ort; found in --ort-dir), each
float model is also exported to ONNX (torch.onnx.export, opset 13, as
tools/train/train.py exports it) and run by ONNX Runtime for Node.js on the
same images: a second float reference, independent of torch's kernels. A
second table reports ONNX Runtime against torch (largest |difference| of
the float scores, top-1 agreement) and the int8 model against ONNX Runtime
(the figures above). --ort-dir none turns it off; when it is not installed
the script says so and goes on.

Exit status: 0 every net within the limits; 1 some net below --min-agreement
(top-1 agreement, %) or --min-cosine (mean cosine), against torch or
against ONNX Runtime, or ONNX Runtime differing from torch by more than
--max-ort-diff; 2 bad command line, a missing file, or npu-eval or
ONNX Runtime failed. The default limits and why are in
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
    p.add_argument("--ort-dir", default=os.path.join(ROOT, "build", "ort", "node_modules"),
                   help="node_modules holding onnxruntime-node (default build/ort/"
                   "node_modules, where tools/setup-ort puts it); 'none': no ONNX Runtime")
    p.add_argument("--max-ort-diff", type=float, default=1e-3, metavar="D",
                   help="fail when ONNX Runtime and torch float scores differ by more "
                   "(default 1e-3)")
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


def float_model(net, state_path):
    model = nets.build(net)
    try:
        sd = torch.load(state_path, map_location="cpu")
    except OSError as e:
        die(f"{state_path}: {e.strerror}")
    model.load_state_dict(sd)  # strict: every key, every shape
    model.eval()
    return model


def float_logits(model, x):
    with torch.no_grad():
        return torch.cat([model(x[i:i + 500]) for i in range(0, len(x), 500)]).numpy()


def ort_available(a):
    """Why ONNX Runtime cannot be used, or None when it can."""
    if a.ort_dir == "none":
        return "turned off (--ort-dir none)"
    if not os.path.isdir(os.path.join(a.ort_dir, "onnxruntime-node")):
        return (f"not installed in {a.ort_dir} (tools/setup-ort build/ort, "
                "which make test runs)")
    try:
        subprocess.run(["node", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "node not found (Debian's nodejs)"
    return None


def ort_logits(a, net, model, x, tmp):
    """Float scores [N,10] of the torch model exported to ONNX, by ONNX Runtime."""
    onnx_path = os.path.join(tmp, f"{net}.onnx")
    in_path, out_path = os.path.join(tmp, "x.f32"), os.path.join(tmp, f"{net}.ort.f32")
    torch.onnx.export(model, torch.zeros(1, *x.shape[1:]), onnx_path, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      do_constant_folding=True)
    if not os.path.exists(in_path):
        np.ascontiguousarray(x.numpy(), dtype="<f4").tofile(in_path)
    env = dict(os.environ, NODE_PATH=a.ort_dir)
    cmd = ["node", os.path.join(HERE, "ort_run.cjs"), onnx_path, in_path, str(len(x)),
           *map(str, x.shape[1:]), out_path]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        die(f"ONNX Runtime on {net}: {r.stderr.strip() or f'exit {r.returncode}'}")
    y = np.fromfile(out_path, dtype="<f4")
    if y.size != len(x) * 10:
        die(f"ONNX Runtime on {net}: {y.size} scores, want {len(x) * 10}")
    return y.reshape(len(x), 10), r.stdout.strip()


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
    no_ort = ort_available(a)
    ort_rows = []
    failed = []
    with tempfile.TemporaryDirectory(prefix="npu-agree-") as tmp:
        for net in a.nets:
            t0 = time.monotonic()
            path = os.path.join(tmp, f"{net}.npy")
            proc = start_int8(a, net, path)
            model = float_model(net, os.path.join(a.models, "float", f"fmnist_{net}.pt"))
            f = float_logits(model, x)
            q, scale, zp = finish_int8(proc, path, len(lab))
            r = compare(f, q, scale, zp, lab)
            print(f"{net:<20} {r['agree']:8.2f} {r['cos_mean']:9.5f} {r['cos_min']:8.4f} "
                  f"{r['lsb_max']:8.2f} {r['lsb_mean']:8.3f} {r['out_of_range']:7.3f} "
                  f"{r['acc_float']:8.2f} {r['acc_int8']:8.2f} {time.monotonic() - t0:7.1f}",
                  flush=True)
            if r["agree"] < a.min_agreement or r["cos_mean"] < a.min_cosine:
                failed.append(net)
            if no_ort is None:
                o, version = ort_logits(a, net, model, x, tmp)
                ro = compare(o, q, scale, zp, lab)
                diff = float(np.abs(o.astype(np.float64) - f).max())
                same = 100.0 * (o.argmax(1) == f.argmax(1)).mean()
                ort_rows.append((net, diff, same, ro))
                if (diff > a.max_ort_diff or ro["agree"] < a.min_agreement or
                        ro["cos_mean"] < a.min_cosine) and net not in failed:
                    failed.append(net)
    print()
    if no_ort is not None:
        print(f"ONNX Runtime: {no_ort}; skipped")
    else:
        print(f"ONNX Runtime ({version}, node) on the same images, the torch models "
              "exported to ONNX:")
        print(f"{'net':<20} {'|ort-torch|':>11} {'ort=torch %':>11} {'agree %':>8} "
              f"{'cos mean':>9} {'cos min':>8} {'max LSB':>8} {'ort %':>8}")
        for net, diff, same, ro in ort_rows:
            print(f"{net:<20} {diff:11.2e} {same:11.2f} {ro['agree']:8.2f} "
                  f"{ro['cos_mean']:9.5f} {ro['cos_min']:8.4f} {ro['lsb_max']:8.2f} "
                  f"{ro['acc_float']:8.2f}")
    if failed:
        print(f"FAIL: {' '.join(failed)} outside the limits (top-1 agreement >= "
              f"{a.min_agreement:g} %, mean cosine >= {a.min_cosine:g}, "
              f"|ONNX Runtime - torch| <= {a.max_ort_diff:g})")
        return 1
    print(f"ok: every net has top-1 agreement >= {a.min_agreement:g} % and mean cosine "
          f">= {a.min_cosine:g}" + ("" if no_ort else
                                   f" against torch and ONNX Runtime, which differ by "
                                   f"<= {a.max_ort_diff:g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
