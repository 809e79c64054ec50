#!/bin/sh
# Train the eight nets one after another (one thread each) with the epoch
# budget recorded in models/README.md. A net whose OUT/NET/result.json
# exists is skipped, so the script can be re-run after an interruption.
#
#   tools/train/train_all.sh [OUT [NET...]]   (default build-train/fmnist, all)
set -eu

OUT=${1:-build-train/fmnist}
[ $# -gt 0 ] && shift
ONLY=" $* "
HERE=$(dirname "$0")
mkdir -p "$OUT"

# net epochs size [train.py options]: about 60 min of one-thread CPU in
# total (see models/README.md). SqueezeNet has no BatchNorm and a ReLU on its
# class scores: at Adam's 2e-3 one class's scores died (stuck at 0, never
# predicted), so it gets a lower rate and a longer warm-up. shufflenet_v2 ran
# before train.py re-estimated BatchNorm statistics (--bn-recal) and its
# model keeps the running averages; its line reproduces that run.
while read -r net epochs size opts; do
	[ -n "$net" ] || continue
	if [ "$ONLY" != "  " ] && [ "${ONLY#* $net }" = "$ONLY" ]; then
		continue
	fi
	if [ -f "$OUT/$net/result.json" ]; then
		echo "train_all: $net: $OUT/$net/result.json exists, skipped"
		continue
	fi
	echo "train_all: $net: $epochs epochs at ${size}x$size"
	/usr/bin/python3 "$HERE/train.py" "$net" --epochs "$epochs" --size "$size" \
		--out "$OUT/$net" $opts >"$OUT/$net.log" 2>&1
	tail -n 1 "$OUT/$net.log"
done <<EOF
shufflenet_v2_x1_0 2.5 32 --bn-recal 0
mobilenet_v3_small 1.5 32
shufflenet_v1_g3 1.5 32
mobilenet_v1 1.5 32
mobilenet_v2 2 32
mobilenet_v3_large 0.75 32
squeezenet1_1 6 32 --lr 5e-4 --warmup 0.1
squeezenet1_0 2 32 --lr 5e-4 --warmup 0.1
EOF
