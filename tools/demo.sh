#!/bin/sh
# The demo behind `make run`: build MobileNetV2 with npu-zoo (seeded random
# weights, calibrated int8), run it through npu_run() on the simulated NPU
# ($NPU_DEVICE, else sim), print the top-5 and the per-layer profile, and
# check the result against the cpu reference device byte for byte.
set -eu
BUILD=${1:-build}
DEVICE=${NPU_DEVICE:-sim}
out="$BUILD/models"
mkdir -p "$out"
model="$out/mobilenet_v2.npu"
if [ ! -f "$model" ] || [ "$BUILD/bin/npu-zoo" -nt "$model" ]; then
	"$BUILD/bin/npu-zoo" mobilenet_v2 -o "$model"
fi
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
