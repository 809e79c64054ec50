#!/usr/bin/python3
"""Train one of the eight seed nets on Fashion-MNIST and export it for lwnpu.

    /usr/bin/python3 tools/train/train.py NET --epochs E --size S --out DIR

Writes into DIR:
  model.pt        the state dict
  model.onnx      opset 13, fixed input [1,3,S,S] named "input", output "logits"
  calib.npy       float32 [N,3,S,S]: N training images, preprocessed exactly
                  like training (the npu-compile --calib batch)
  labels.txt      the ten class names, one per line (npu-compile --labels)
  float_pred.npy  int8 [10000]: the float model's class for each test image
  result.json     float test accuracy over all 10,000 test images, the
                  per-epoch history, timings and every option

Reproducible: the seed fixes the initial weights, the order of the training
images (one permutation per epoch) and the calibration images; torch runs
with --threads threads (default 1). E may be fractional: 1.5 is one epoch
and then half of another; the learning rate follows one cosine over all
steps after a short linear warm-up. Before each test the BatchNorm
statistics are re-estimated over --bn-recal fixed training batches.

--bench N only times N training steps (after 2 warm-up steps) and prints the
projected time of one epoch; nothing is written.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402
import nets  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1].strip())
    p.add_argument("net", choices=nets.NETS)
    p.add_argument("--epochs", type=float, default=1.0, help="epochs, may be fractional")
    p.add_argument("--size", type=int, default=64, help="input is 3 x S x S (default 64)")
    p.add_argument("--out", help="output directory (required unless --bench)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--opt", choices=["adam", "sgd"], default="adam")
    p.add_argument("--lr", type=float, default=None,
                   help="peak learning rate (default 2e-3 adam, 0.05 sgd)")
    p.add_argument("--wd", type=float, default=1e-4, help="weight decay (AdamW / SGD)")
    p.add_argument("--warmup", type=float, default=0.03, help="warm-up fraction of steps")
    p.add_argument("--alpha", type=float, default=1.0, help="mobilenet_v1 width multiplier")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--calib", type=int, default=256, help="calibration images (default 256)")
    p.add_argument("--bn-recal", type=int, default=40, metavar="B",
                   help="re-estimate BatchNorm statistics over B training batches "
                        "before each test (default 40; 0 = keep the running averages)")
    p.add_argument("--data-dir", default=fmnist.DATA_DIR)
    p.add_argument("--export-only", action="store_true",
                   help="only write DIR/model.onnx again from DIR/model.pt")
    p.add_argument("--bench", type=int, default=0, metavar="N",
                   help="time N training steps and exit")
    a = p.parse_args()
    if not a.bench and not a.out:
        p.error("--out DIR is required")
    if a.epochs <= 0 or a.size < 28 or a.batch < 1:
        p.error("want --epochs > 0, --size >= 28, --batch >= 1")
    if a.lr is None:
        a.lr = 2e-3 if a.opt == "adam" else 0.05
    return a


def recalibrate_bn(model, pre, img, batches, batch, seed):
    """Replace each BatchNorm's running mean and variance by their plain
    average over `batches` fixed training batches (the weights are not
    touched). torchvision's MobileNet v3 uses BN momentum 0.01, so after an
    epoch or two its running averages still remember their initial values
    and the eval-mode net is far off (15 % test accuracy against 81 % in
    training); the other nets' 0.1 is less bad but not exact either."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or batches <= 0:
        return
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None               # cumulative moving average
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(img), generator=g)[:batches * batch]
    model.train()
    with torch.no_grad():
        for i in range(0, len(idx), batch):
            model(pre(img[idx[i:i + batch]]))
    for m, mom in zip(bns, saved):
        m.momentum = mom


def export_onnx(model, size, path):
    import onnx

    model.eval()
    torch.onnx.export(model, torch.zeros(1, 3, size, size), path, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      do_constant_folding=True)
    # A padded AvgPool2d comes out as Pad + AveragePool: npu-compile folds
    # the pair (docs/COMPILE.md), so the export is used as torch writes it.
    onnx.checker.check_model(onnx.load(path))


def evaluate(model, pre, img, lab, batch=500):
    model.eval()
    pred = np.empty(len(lab), dtype=np.int8)
    with torch.no_grad():
        for i in range(0, len(lab), batch):
            pred[i:i + batch] = model(pre(img[i:i + batch])).argmax(1).numpy()
    model.train()
    return float((pred == lab).mean()), pred


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)

    if a.export_only:
        model = nets.build(a.net, a.alpha)
        model.load_state_dict(torch.load(os.path.join(a.out, "model.pt")))
        export_onnx(model, a.size, os.path.join(a.out, "model.onnx"))
        print(f"{a.net}: wrote {os.path.join(a.out, 'model.onnx')}")
        return

    tr_img, tr_lab = fmnist.load("train", a.data_dir)
    te_img, te_lab = fmnist.load("t10k", a.data_dir)
    tr_img_t = torch.from_numpy(tr_img.copy())
    tr_lab_t = torch.from_numpy(tr_lab)
    pre = fmnist.Preprocess(a.size)

    model = nets.build(a.net, a.alpha)
    n_params = sum(p.numel() for p in model.parameters())
    if a.opt == "adam":
        opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, nesterov=True,
                              weight_decay=a.wd)

    steps_per_epoch = math.ceil(len(tr_lab) / a.batch)
    total = a.bench + 2 if a.bench else math.ceil(a.epochs * steps_per_epoch)
    warm = max(1, int(a.warmup * total))

    def lr_at(step):
        if step < warm:
            return a.lr * (step + 1) / warm
        return a.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    print(f"{a.net}: {n_params} parameters, input 3x{a.size}x{a.size}, {a.opt} lr {a.lr}, "
          f"batch {a.batch}, {total} steps ({total / steps_per_epoch:.3f} epochs), "
          f"seed {a.seed}, {a.threads} thread(s)", flush=True)

    model.train()
    step, history, t_start = 0, [], time.time()
    epoch = 0
    while step < total:
        g = torch.Generator().manual_seed(a.seed * 1000 + epoch)
        perm = torch.randperm(len(tr_lab), generator=g)
        t0, loss_sum, seen, correct = time.time(), 0.0, 0, 0
        for i in range(0, len(perm), a.batch):
            if step >= total:
                break
            if a.bench and step == 2:
                t0 = time.time()
            idx = perm[i:i + a.batch]
            x, y = pre(tr_img_t[idx]), tr_lab_t[idx]
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
            out = model(x)
            loss = F.cross_entropy(out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += loss.item() * len(y)
            seen += len(y)
            correct += int((out.argmax(1) == y).sum())
            if step % 50 == 0:
                print(f"  step {step}/{total} loss {loss_sum / seen:.4f} "
                      f"train acc {correct / seen:.4f} {time.time() - t0:.0f}s", flush=True)
        if a.bench:
            dt = (time.time() - t0) / a.bench
            print(f"bench {a.net} size {a.size}: {dt:.3f} s/step of {a.batch}, "
                  f"epoch ~{dt * steps_per_epoch / 60:.1f} min", flush=True)
            return
        t_train = time.time() - t0
        recalibrate_bn(model, pre, tr_img_t, a.bn_recal, a.batch, a.seed * 1000 + 998)
        acc, pred = evaluate(model, pre, te_img, te_lab)
        epoch += 1
        history.append({"epoch": epoch, "images": seen, "loss": loss_sum / seen,
                        "train_acc": correct / seen, "test_acc": acc,
                        "train_s": round(t_train, 1), "eval_s": round(time.time() - t0 - t_train, 1)})
        print(f"epoch {epoch} ({seen} images): loss {loss_sum / seen:.4f} train acc "
              f"{correct / seen:.4f} test acc {acc:.4f} ({t_train:.0f}s train, "
              f"{time.time() - t0 - t_train:.0f}s test)", flush=True)

    os.makedirs(a.out, exist_ok=True)
    model.eval()
    torch.save(model.state_dict(), os.path.join(a.out, "model.pt"))
    np.save(os.path.join(a.out, "float_pred.npy"), pred)

    g = torch.Generator().manual_seed(a.seed * 1000 + 999)
    cidx = torch.randperm(len(tr_lab), generator=g)[:a.calib]
    np.save(os.path.join(a.out, "calib.npy"), pre(tr_img_t[cidx]).numpy().astype(np.float32))
    with open(os.path.join(a.out, "labels.txt"), "w") as f:
        f.write("\n".join(fmnist.CLASSES) + "\n")

    export_onnx(model, a.size, os.path.join(a.out, "model.onnx"))

    result = {
        "net": a.net, "size": a.size, "normalization": {"mean": fmnist.MEAN, "std": fmnist.STD},
        "float_test_acc": acc, "test_images": len(te_lab), "epochs": a.epochs, "steps": total,
        "train_images_seen": step * a.batch if step * a.batch < a.epochs * len(tr_lab)
        else int(a.epochs * len(tr_lab)),
        "parameters": n_params, "wall_s": round(time.time() - t_start, 1),
        "history": history, "torch": torch.__version__,
        "options": {k: v for k, v in vars(a).items() if k != "bench"},
    }
    with open(os.path.join(a.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"{a.net}: float test accuracy {acc:.4f} over {len(te_lab)} images; "
          f"{time.time() - t_start:.0f}s; wrote {a.out}", flush=True)


if __name__ == "__main__":
    main()
