#!/bin/sh
# Issue 5's sim check: each committed model on the simulated NPU and on the
# cpu reference device over the first LIMIT Fashion-MNIST test images; the
# predictions must be identical (models/README.md, "sim equals cpu").
#
#   tools/train/sim_check.sh [NET...]     (default: all eight)
#
# Environment: BIN (default build/bin), MODELS (default models), LIMIT
# (default 200), OUT (default build/sim-check: NET.cpu.txt, NET.sim.txt and
# the npu-eval reports NET.DEVICE.log). About 0.5-2.3 s per image on sim.
# Exit status 0 when every net's predictions agree, 1 otherwise.
set -u

BIN=${BIN:-build/bin}
MODELS=${MODELS:-models}
LIMIT=${LIMIT:-200}
OUT=${OUT:-build/sim-check}
NETS=${*:-squeezenet1_0 squeezenet1_1 mobilenet_v1 shufflenet_v1_g3 mobilenet_v2 mobilenet_v3_large mobilenet_v3_small shufflenet_v2_x1_0}
mkdir -p "$OUT"
status=0
for net in $NETS; do
	for dev in cpu sim; do
		if ! "$BIN/npu-eval" "$MODELS/fmnist_$net.npu" --dataset fashion-mnist \
			--device "$dev" --limit "$LIMIT" --predictions "$OUT/$net.$dev.txt" \
			>"$OUT/$net.$dev.log" 2>&1; then
			echo "$net: npu-eval on $dev failed: $(tail -1 "$OUT/$net.$dev.log")"
			status=1
			continue 2
		fi
	done
	acc=$(grep -o 'accuracy: .*' "$OUT/$net.sim.log")
	t=$(grep -o '[0-9.]* ms per image' "$OUT/$net.sim.log")
	if cmp -s "$OUT/$net.cpu.txt" "$OUT/$net.sim.txt"; then
		echo "$net: $LIMIT predictions identical on sim and cpu ($acc; sim $t)"
	else
		n=$(paste "$OUT/$net.cpu.txt" "$OUT/$net.sim.txt" | awk '$1 != $2' | wc -l)
		echo "$net: $n of $LIMIT predictions DIFFER between sim and cpu"
		status=1
	fi
done
exit $status
