#!/bin/sh
# The demo behind `make run`: build MobileNetV2 with npu-zoo (seeded random
# weights, calibrated int8) and run it through npu_run() on the default
# device ($NPU_DEVICE, else cpu), printing the top-5 and a per-layer table.
set -eu
BUILD=${1:-build}
mkdir -p "$BUILD/models"
model="$BUILD/models/mobilenet_v2.npu"
if [ ! -f "$model" ] || [ "$BUILD/bin/npu-zoo" -nt "$model" ]; then
	"$BUILD/bin/npu-zoo" mobilenet_v2 -o "$model"
fi
"$BUILD/bin/npu-run" "$model" --verbose --profile "$BUILD/models/mobilenet_v2.profile.json"
echo "profile written to $BUILD/models/mobilenet_v2.profile.json"
