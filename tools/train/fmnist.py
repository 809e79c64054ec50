"""Fashion-MNIST for lwnpu: the IDX reader and the one preprocessing.

The preprocessing here is the contract that tools/npu-eval/main.c
implements again in C; change both or neither:

  1. pixels p in 0..255 (28x28, row-major, as stored in the IDX file);
  2. bilinear resize to SxS with half-pixel centres (PyTorch's
     align_corners=False, no antialiasing): for output index o,
     src = (o + 0.5) * 28 / S - 0.5, clamped below at 0; i0 = floor(src),
     i1 = min(i0 + 1, 27), t = src - i0; rows and columns the same way.
     Written as Y = A P A^T with the S x 28 matrix A of those weights;
  3. x = (Y / 255 - MEAN) / STD with MEAN = 0.2860, STD = 0.3530
     (the training set's pixel mean and standard deviation);
  4. the grey plane copied to 3 channels: NCHW [N, 3, S, S] float32.
"""

import gzip
import os
import struct

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN = 0.2860
STD = 0.3530
CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


def _read_idx(path, want_magic, want_dims):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 + 4 * want_dims:
        raise ValueError(f"{path}: truncated IDX header")
    magic = struct.unpack(">I", data[:4])[0]
    if magic != want_magic:
        raise ValueError(f"{path}: magic {magic:#x}, want {want_magic:#x}")
    dims = struct.unpack(">" + "I" * want_dims, data[4:4 + 4 * want_dims])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * want_dims)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {body.size} bytes of data, header says {dims}")
    return body.reshape(dims).copy()


def load(split, data_dir=DATA_DIR):
    """(images uint8 [N,28,28], labels int64 [N]) of split 'train' or 't10k'."""
    img = _read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte.gz"), 0x803, 3)
    lab = _read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte.gz"), 0x801, 1)
    if img.shape[0] != lab.shape[0] or img.shape[1:] != (28, 28):
        raise ValueError(f"{split}: images {img.shape} and labels {lab.shape} disagree")
    return img, lab.astype(np.int64)


def resize_matrix(size, src=28):
    """The S x 28 bilinear (half-pixel, align_corners=False) weight matrix."""
    a = np.zeros((size, src), dtype=np.float64)
    scale = src / size
    for o in range(size):
        s = max((o + 0.5) * scale - 0.5, 0.0)
        i0 = int(np.floor(s))
        i1 = min(i0 + 1, src - 1)
        t = s - i0
        a[o, i0] += 1.0 - t
        a[o, i1] += t
    return a.astype(np.float32)


class Preprocess:
    """uint8 [N,28,28] (numpy or torch) -> float32 torch [N,3,S,S]."""

    def __init__(self, size):
        import torch

        self.size = size
        self.a = torch.from_numpy(resize_matrix(size))

    def __call__(self, img):
        import torch

        x = torch.as_tensor(img).to(torch.float32)
        if self.size != 28:
            x = self.a @ x @ self.a.t()
        x = (x / 255.0 - MEAN) / STD
        return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()
