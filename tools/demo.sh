#!/bin/bash
# The demo behind `make run`, on the simulated NPU ($NPU_DEVICE, else sim):
#  1. MobileNetV2 at 224x224 built by npu-zoo (seeded random weights,
#     calibrated int8): npu_run(), the top-5, the per-layer profile and
#     cycles against the bound, checked byte for byte against the cpu device;
#  2. the trained Fashion-MNIST MobileNetV2 (models/) on the first 16 test
#     images: accuracy, and the same predictions as on the cpu device.
# Every step's failure fails the demo: pipefail for the filtered npu-eval,
# and outputs are removed before each run so that no file left by an
# earlier run can make a comparison pass.
set -euo pipefail
BUILD=${1:-build}
DEVICE=${NPU_DEVICE:-sim}
out="$BUILD/models"
mkdir -p "$out"
model="$out/mobilenet_v2.npu"
if [ ! -f "$model" ] || [ "$BUILD/bin/npu-zoo" -nt "$model" ]; then
	"$BUILD/bin/npu-zoo" mobilenet_v2 -o "$model"
fi
rm -f "$out/demo.$DEVICE.npy" "$out/demo.cpu.npy" "$out/demo.fmnist.$DEVICE.txt" \
	"$out/demo.fmnist.cpu.txt"
"$BUILD/bin/npu-run" "$model" --device "$DEVICE" --verbose --output "$out/demo.$DEVICE.npy" \
	--profile "$out/demo.profile.json" --svg "$out/demo.svg" --trace "$out/demo.trace.json"
"$BUILD/bin/npu-run" "$model" --device cpu --output "$out/demo.cpu.npy" >/dev/null
if cmp -s "$out/demo.$DEVICE.npy" "$out/demo.cpu.npy"; then
	echo "check: $DEVICE output equals the cpu reference byte for byte"
else
	echo "check: FAILED: $DEVICE output differs from the cpu reference" >&2
	exit 1
fi
echo "profile: $out/demo.profile.json, $out/demo.svg, $out/demo.trace.json"

trained=models/fmnist_mobilenet_v2.npu
data=/usr/share/datasets/fashion-mnist
if [ ! -f "$data/t10k-labels-idx1-ubyte.gz" ] && [ ! -f "$data/t10k-labels-idx1-ubyte" ]; then
	echo "skipping the Fashion-MNIST part: $data absent (Debian's dataset-fashion-mnist)"
	exit 0
fi
echo
echo "== $trained on $DEVICE: the first 16 Fashion-MNIST test images"
"$BUILD/bin/npu-eval" "$trained" --dataset fashion-mnist --device "$DEVICE" --limit 16 \
	--predictions "$out/demo.fmnist.$DEVICE.txt" 2>"$out/demo.fmnist.$DEVICE.log" |
	grep -E '^(model|accuracy)' ||
	{ cat "$out/demo.fmnist.$DEVICE.log" >&2; echo "check: FAILED: npu-eval on $DEVICE" >&2; exit 1; }
"$BUILD/bin/npu-eval" "$trained" --dataset fashion-mnist --device cpu --limit 16 \
	--predictions "$out/demo.fmnist.cpu.txt" >/dev/null 2>"$out/demo.fmnist.cpu.log" ||
	{ cat "$out/demo.fmnist.cpu.log" >&2; echo "check: FAILED: npu-eval on cpu" >&2; exit 1; }
echo "predicted: $(awk 'BEGIN { split("T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot", n, ",") }
	{ printf "%s%s", (NR > 1 ? ", " : ""), n[$1 + 1] }' "$out/demo.fmnist.$DEVICE.txt")"
if cmp -s "$out/demo.fmnist.$DEVICE.txt" "$out/demo.fmnist.cpu.txt"; then
	echo "check: $DEVICE predictions equal the cpu reference's"
else
	echo "check: FAILED: $DEVICE predictions differ from the cpu reference's" >&2
	exit 1
fi
