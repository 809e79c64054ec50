# The PCIe guest job (docs/PCIE.md, "The guest job").
#
#   make pcie-guest   the guest's kernel (fetched once into build/pcie/kernel
#                     by tools/setup-guest-kernel), its static test binary
#                     ($(BUILD)/guest/bin/npu-guest-tests), the models and
#                     the initramfs ($(BUILD)/pcie/initramfs.gz)
#   make pcie-test    all that and npu-cosim, then tools/pcie-guest/run:
#                     QEMU (TCG, q35, emulated IOMMU) boots the kernel with
#                     three co-simulated cards and QEMU's edu device, the
#                     tests run in the guest; the exit status is the verdict
#                     (console log: $(BUILD)/pcie/console.log)
#
# The guest binary is tests/guest/*.cc, GoogleTest and a libnpu of its own
# with BACKENDS="null sim vfio uio", linked static: the guest has busybox
# and nothing else. A recursive make builds it in $(BUILD)/guest (with the
# Verilated model of $(SIM_BUILD)), and the models and the initramfs too,
# so that one make judges every file's age. The kernel lives under build/
# whatever BUILD is (one download for every build directory); when it
# cannot be fetched (no network the first time) pcie-guest fails: the job
# never skips. Both targets need BACKENDS with sim (npu-cosim runs the
# Verilated NPU); the guest's backends do not depend on BACKENDS.

PCIE_GUEST_BACKENDS := null sim vfio uio
PCIE_KERNEL_DIR := build/pcie/kernel

# The models the guest runs: every zoo net at PCIE_ZOO_SIZE and MobileNetV2
# at 224, built by npu-zoo (seeded) as NAME-SIZE.npu; calib 2 as in
# tests/sim/zoo_model.cc (exactness does not depend on the calibration).
# The cpu device's outputs are computed in the guest (MobileNetV2-224:
# ~2.4 s there, against ~16 s for the card; docs/PCIE.md).
PCIE_ZOO_NETS := squeezenet1_0 squeezenet1_1 mobilenet_v1 shufflenet_v1_g3 mobilenet_v2 \
	mobilenet_v3_large mobilenet_v3_small shufflenet_v2_x1_0
PCIE_ZOO_SIZE ?= 32
# Extra tools/pcie-guest/run arguments (--filter 'GuestEdu.*', --timeout S).
PCIE_RUN_ARGS ?=

.PHONY: pcie-guest pcie-test pcie-kernel pcie-guest-image

ifeq ($(PCIE_IN_GUEST),)

# ---- the top-level make --------------------------------------------------

# Idempotent: the script returns at once when the kernel is there.
pcie-kernel:
	tools/setup-guest-kernel $(PCIE_KERNEL_DIR)

pcie-guest: $(BUILD)/bin/npu-zoo pcie-kernel
	+$(MAKE) --no-print-directory BUILD=$(BUILD)/guest SIM_BUILD=$(SIM_BUILD) \
		BACKENDS="$(PCIE_GUEST_BACKENDS)" PCIE_IN_GUEST=1 PCIE_HOST_BUILD=$(BUILD) \
		pcie-guest-image

pcie-test: pcie-guest $(BUILD)/bin/npu-cosim
	tools/pcie-guest/run --kernel $(PCIE_KERNEL_DIR)/vmlinuz --initramfs $(BUILD)/pcie/initramfs.gz \
		--cosim $(BUILD)/bin/npu-cosim --out $(BUILD)/pcie $(PCIE_RUN_ARGS)

else

# ---- the guest's make: BUILD is $(PCIE_HOST_BUILD)/guest -------------------

PCIE_OUT := $(PCIE_HOST_BUILD)/pcie
PCIE_INITRAMFS := $(PCIE_OUT)/initramfs.gz
PCIE_GUEST_BIN := $(BUILD)/bin/npu-guest-tests
# The placement check's plan (zoo_plan_counts) comes from the sim tests.
PCIE_GUEST_OBJS := $(patsubst %.cc,$(BUILD)/obj/%.o,$(sort $(wildcard tests/guest/*.cc))) \
	$(BUILD)/obj/tests/sim/zoo_model.o
PCIE_MODELS_DIR := $(PCIE_OUT)/models
PCIE_MODELS := $(PCIE_ZOO_NETS:%=$(PCIE_MODELS_DIR)/%-$(PCIE_ZOO_SIZE).npu) \
	$(PCIE_MODELS_DIR)/mobilenet_v2-224.npu
PCIE_ZOO := $(PCIE_HOST_BUILD)/bin/npu-zoo

pcie-guest-image: $(PCIE_INITRAMFS)

# Static; glibc warns that getaddrinfo (GoogleTest's unused streaming
# listener) would need its shared libraries. libdrm for the dma-buf
# import test (vgem).
$(PCIE_GUEST_BIN): $(PCIE_GUEST_OBJS) $(LIB) $(NPU_SIM_LIB)
	@mkdir -p $(@D)
	$(CXX) -static -o $@.tmp $(PCIE_GUEST_OBJS) $(LIB) $(NPU_SIM_LIB) \
		-lgtest_main -lgtest -ldrm -lstdc++ -lpthread -lm
	mv $@.tmp $@

# Made by the top-level make before this one starts (pcie-guest's
# prerequisites). Only a dry run (make -n, tools/check-first-run) gets
# here without them; these empty rules let it print the plan.
$(PCIE_ZOO) $(PCIE_KERNEL_DIR)/.ok:

$(PCIE_MODELS_DIR)/%.npu: $(PCIE_ZOO)
	@mkdir -p $(@D)
	$(PCIE_ZOO) $(firstword $(subst -, ,$*)) -o $@.tmp --size $(lastword $(subst -, ,$*)) --calib 2
	mv $@.tmp $@

$(PCIE_INITRAMFS): $(PCIE_GUEST_BIN) $(PCIE_MODELS) tools/pcie-guest/init tools/pcie-guest/mkinitramfs \
		$(PCIE_KERNEL_DIR)/.ok
	rm -rf $(PCIE_MODELS_DIR).stage
	mkdir -p $(PCIE_MODELS_DIR).stage
	cp $(PCIE_MODELS) $(PCIE_MODELS_DIR).stage/
	tools/pcie-guest/mkinitramfs $@ $(PCIE_KERNEL_DIR) $(PCIE_GUEST_BIN) $(PCIE_MODELS_DIR).stage
	rm -rf $(PCIE_MODELS_DIR).stage

endif
