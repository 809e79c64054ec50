#!/bin/sh
# Compile each trained net (OUT/NET/model.onnx, from train.py) to
# models/fmnist_NET.npu with its calibration batch, labels and input metadata
# (fmnist.py's preprocessing: grey, resize, mean 0.2860, std 0.3530), then measure
# it with npu-eval on the cpu device over all 10,000 test images.
#
#   tools/train/compile_all.sh [OUT [NET...]]   (default build-train/fmnist, all trained)
#
# Environment: BIN (default build/bin), DEVICE (default cpu), MODELS
# (default models), CALIB_METHOD (default minmax; or percentile).
# Writes OUT/NET/compile.log, OUT/NET/eval-DEVICE.log and the predictions
# OUT/NET/pred-DEVICE.txt (one class per line).
set -eu

OUT=${1:-build-train/fmnist}
[ $# -gt 0 ] && shift
BIN=${BIN:-build/bin}
DEVICE=${DEVICE:-cpu}
MODELS=${MODELS:-models}
CALIB_METHOD=${CALIB_METHOD:-minmax}
NETS=${*:-squeezenet1_0 squeezenet1_1 mobilenet_v1 shufflenet_v1_g3 mobilenet_v2 mobilenet_v3_large mobilenet_v3_small shufflenet_v2_x1_0}

for net in $NETS; do
	d=$OUT/$net
	if [ ! -f "$d/model.onnx" ]; then
		echo "compile_all: $net: no $d/model.onnx (not trained yet), skipped"
		continue
	fi
	"$BIN/npu-compile" "$d/model.onnx" -o "$MODELS/fmnist_$net.npu" --calib "$d/calib.npy" \
		--calib-method "$CALIB_METHOD" --labels "$d/labels.txt" --name "fmnist_$net" \
		--color gray --mean 0.2860 --std 0.3530 --resize stretch --layout nchw \
		>"$d/compile.log" 2>&1 || {
		echo "compile_all: $net: npu-compile failed:"
		cat "$d/compile.log"
		continue
	}
	"$BIN/npu-eval" "$MODELS/fmnist_$net.npu" --dataset fashion-mnist --device "$DEVICE" \
		--predictions "$d/pred-$DEVICE.txt" >"$d/eval-$DEVICE.log" 2>/dev/null || {
		echo "compile_all: $net: npu-eval failed:"
		cat "$d/eval-$DEVICE.log"
		continue
	}
	echo "compile_all: $net: $(grep '^accuracy' "$d/eval-$DEVICE.log")"
done
