#!/usr/bin/python3
"""Real torch.onnx.export output for the npu-compile tests.

    /usr/bin/python3 tools/train/export_check.py OUTDIR [--no-convnext]

Writes to OUTDIR, for tests/agreement/torch_export_test.cc:

  padded.onnx   a small seeded net whose export has the forms torch writes
                for padding: AvgPool2d(3, 2, 1) (count_include_pad, the
                default) becomes Pad + AveragePool; F.pad + an unpadded
                strided Conv becomes Pad + Conv; AvgPool2d(3, 1, 1,
                count_include_pad=False) stays one AveragePool with pads.
                Input [1,3,16,16] named "input", output "logits" [1,10].
  calib.npy     float32 [32,3,16,16] calibration inputs (NCHW)
  x.npy         float32 [4,3,16,16] test inputs (NCHW), not in calib
  want.npy      float32 [4,10] the float torch model's outputs on x.npy
  convnext.onnx torchvision's convnext_tiny (random weights) at 32x32,
                opset 13: a torchvision model with ops lwnpu lacks (its
                first is the NCHW->NHWC Transpose before LayerNorm).
  calib32.npy   float32 [4,3,32,32] calibration inputs for it

Exit status 0, or 2 on a bad command line.
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Padded(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.pool = nn.AvgPool2d(3, 2, 1)  # -> Pad + AveragePool
        self.c2 = nn.Conv2d(16, 24, 3, 2, 0)  # after F.pad: Pad + Conv
        self.pool2 = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.c1(x)))
        x = self.pool(x)
        x = F.relu(self.c2(F.pad(x, (0, 1, 0, 1))))  # TF-style "same" at stride 2
        x = self.pool2(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def export(model, x, path):
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1].strip())
    p.add_argument("outdir")
    p.add_argument("--no-convnext", action="store_true", help="skip convnext.onnx")
    a = p.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    torch.manual_seed(5)
    m = Padded()
    with torch.no_grad():  # BN statistics that are not the identity
        m.bn1.running_mean.normal_(0, 0.2)
        m.bn1.running_var.uniform_(0.5, 2.0)
        m.bn1.weight.uniform_(0.5, 1.5)
        m.bn1.bias.normal_(0, 0.2)
    m.eval()
    calib = torch.randn(32, 3, 16, 16)
    x = torch.randn(4, 3, 16, 16)
    export(m, torch.zeros(1, 3, 16, 16), os.path.join(a.outdir, "padded.onnx"))
    with torch.no_grad():
        want = m(x)
    np.save(os.path.join(a.outdir, "calib.npy"), calib.numpy())
    np.save(os.path.join(a.outdir, "x.npy"), x.numpy())
    np.save(os.path.join(a.outdir, "want.npy"), want.numpy())
    if not a.no_convnext:
        import torchvision

        cn = torchvision.models.convnext_tiny().eval()
        export(cn, torch.zeros(1, 3, 32, 32), os.path.join(a.outdir, "convnext.onnx"))
        np.save(os.path.join(a.outdir, "calib32.npy"), torch.randn(4, 3, 32, 32).numpy())
    return 0


if __name__ == "__main__":
    sys.exit(main())
