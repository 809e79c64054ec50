# The co-simulated PCIe card: npu-cosim (docs/PCIE.md).
#
# tools/npu-cosim (TOOL_RULE links it) is rtl-sim/cosim's card over the
# Verilated NPU of the harness: it needs the sim backend's build. Without
# sim the tool still builds and says why it cannot serve a card.

COSIM_OBJS := $(BUILD)/obj/rtl-sim/cosim/cosim.o

# The tool's object differs with and without the NPU: rebuilt when
# BACKENDS changes in this BUILD (the registry's header changes then).
$(BUILD)/obj/tools/npu-cosim/main.o: $(NPU_BACKENDS_H)

ifneq ($(NPU_HAVE_SIM),)
$(BUILD)/bin/npu-cosim: $(COSIM_OBJS)
else
$(BUILD)/obj/tools/npu-cosim/main.o: CPPFLAGS += \
	-DNPU_COSIM_MISSING='"this build has no Verilated NPU (BACKENDS=$(strip $(BACKENDS)); it needs sim)"'
endif
