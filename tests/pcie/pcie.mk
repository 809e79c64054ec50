# The PCIe guest job (docs/PCIE.md, "The guest job").
#
#   make pcie-guest   the guest's kernel (fetched once into build/pcie/kernel
#                     by tools/setup-guest-kernel), its static test binary
#                     ($(BUILD)/guest/bin/npu-guest-tests), the models and
#                     the initramfs ($(BUILD)/pcie/initramfs.gz)
#   make pcie-test    all that, npu-cosim, then tools/pcie-guest/run: QEMU
#                     (TCG, q35, emulated IOMMU) boots the kernel with three
#                     co-simulated cards and QEMU's edu device; the tests run
#                     in the guest; the exit status is the verdict
#
# The guest binary is tests/guest/*.cc, GoogleTest and a libnpu of its own
# (BACKENDS="null sim vfio uio", built by a recursive make into
# $(BUILD)/guest with the Verilated model of $(SIM_BUILD)), linked static:
# the guest is busybox and nothing else. The kernel lives under build/
# whatever BUILD is (one download for every build directory); without it
# (no network the first time) pcie-test fails, it never skips.

PCIE_GUEST_BACKENDS := null sim vfio uio
PCIE_GUEST_BUILD := $(BUILD)/guest
PCIE_KERNEL_DIR := build/pcie/kernel
PCIE_OUT := $(BUILD)/pcie
PCIE_INITRAMFS := $(PCIE_OUT)/initramfs.gz
PCIE_GUEST_BIN := $(PCIE_GUEST_BUILD)/bin/npu-guest-tests
PCIE_GUEST_LIB := $(PCIE_GUEST_BUILD)/libnpu.a
PCIE_GUEST_SIM_LIB := $(SIM_BUILD)/rtl-sim/libnpusim.a
PCIE_GUEST_SRCS := $(sort $(wildcard tests/guest/*.cc))
# The placement check's plan (zoo_plan_counts) comes from the sim tests.
PCIE_GUEST_OBJS := $(PCIE_GUEST_SRCS:%.cc=$(PCIE_GUEST_BUILD)/obj/%.o) \
	$(PCIE_GUEST_BUILD)/obj/tests/sim/zoo_model.o
PCIE_GUEST_MAKE := $(MAKE) --no-print-directory BUILD=$(PCIE_GUEST_BUILD) SIM_BUILD=$(SIM_BUILD) \
	BACKENDS="$(PCIE_GUEST_BACKENDS)"

# The models the guest runs (tools/pcie-guest/run --help lists the tests
# that use them): every zoo net at PCIE_ZOO_SIZE and MobileNetV2 at 224,
# built here by npu-zoo (seeded) as NAME-SIZE.npu. calib 2 as in
# tests/sim/zoo_model.cc: exactness does not depend on the calibration.
PCIE_ZOO_NETS := squeezenet1_0 squeezenet1_1 mobilenet_v1 shufflenet_v1_g3 mobilenet_v2 \
	mobilenet_v3_large mobilenet_v3_small shufflenet_v2_x1_0
PCIE_ZOO_SIZE ?= 32
PCIE_MODELS_DIR := $(PCIE_OUT)/models
PCIE_MODELS := $(PCIE_ZOO_NETS:%=$(PCIE_MODELS_DIR)/%-$(PCIE_ZOO_SIZE).npu) \
	$(PCIE_MODELS_DIR)/mobilenet_v2-224.npu
PCIE_RUN_ARGS ?=

.PHONY: pcie-guest pcie-test pcie-kernel pcie-guest-lib

pcie-guest: $(PCIE_INITRAMFS) pcie-kernel

# Idempotent: the script returns at once when the kernel is there.
pcie-kernel:
	tools/setup-guest-kernel $(PCIE_KERNEL_DIR)

# The recursive make decides what is stale in the guest's libnpu and
# objects; this rule always asks it.
pcie-guest-lib:
	+$(PCIE_GUEST_MAKE) lib $(PCIE_GUEST_SIM_LIB) $(PCIE_GUEST_OBJS)

$(PCIE_GUEST_OBJS) $(PCIE_GUEST_LIB): pcie-guest-lib ;

# Static: glibc's static libc warns about getpwnam and the like that
# nothing here calls. libdrm for the dma-buf import test (vgem).
$(PCIE_GUEST_BIN): $(PCIE_GUEST_OBJS) $(PCIE_GUEST_LIB)
	@mkdir -p $(@D)
	$(CXX) -static -o $@.tmp $(PCIE_GUEST_OBJS) $(PCIE_GUEST_LIB) $(PCIE_GUEST_SIM_LIB) \
		-lgtest_main -lgtest -ldrm -lstdc++ -lpthread -lm
	mv $@.tmp $@

$(PCIE_MODELS_DIR)/%.npu: $(BUILD)/bin/npu-zoo
	@mkdir -p $(@D)
	$(BUILD)/bin/npu-zoo $(firstword $(subst -, ,$*)) -o $@.tmp --size $(lastword $(subst -, ,$*)) --calib 2
	mv $@.tmp $@

$(PCIE_INITRAMFS): $(PCIE_GUEST_BIN) $(PCIE_MODELS) tools/pcie-guest/init tools/pcie-guest/mkinitramfs \
		| pcie-kernel
	rm -rf $(PCIE_MODELS_DIR).stage
	mkdir -p $(PCIE_MODELS_DIR).stage
	cp $(PCIE_MODELS) $(PCIE_MODELS_DIR).stage/
	tools/pcie-guest/mkinitramfs $@ $(PCIE_KERNEL_DIR) $(PCIE_GUEST_BIN) $(PCIE_MODELS_DIR).stage
	rm -rf $(PCIE_MODELS_DIR).stage

pcie-test: pcie-guest $(BUILD)/bin/npu-cosim
	tools/pcie-guest/run --kernel $(PCIE_KERNEL_DIR)/vmlinuz --initramfs $(PCIE_INITRAMFS) \
		--cosim $(BUILD)/bin/npu-cosim --out $(PCIE_OUT) $(PCIE_RUN_ARGS)
