# The virtual board (firmware/vboard) and the USB tests: their own
# binary, linked with libumockdev-preload first (docs/USB_BOARD.md).
#
#   make usb-test       build $(BUILD)/bin/npu-usb-tests and run it
#
# $(BUILD)/bin/npu-usb-tests is tests/usb/*.cc (the board's own tests,
# Vboard*, and the usb backend's) over the virtual board: the firmware
# core's host objects, the Verilated NPU and umockdev's emulation of the
# kernel's usbdevfs, reached through Debian's unmodified libusb-1.0.
# tools/npu-vboard puts the same board under any command.
#
# It needs the sim backend (the NPU) and what the usb backend's set-up
# installs (libusb, umockdev); without them neither is built. The
# umockdev and glib flags come from pkg-config, evaluated only in the
# recipes that use them, so that the makefile reads on a machine that has
# none of these packages yet (tools/check-first-run).

VBOARD_ON := $(if $(NPU_HAVE_SIM),$(if $(filter usb,$(NPU_BACKENDS_KNOWN)),$(filter usb,$(NPU_BACKENDS)),sim))

VBOARD_SRCS := $(sort $(wildcard firmware/vboard/*.c))
VBOARD_OBJS := $(VBOARD_SRCS:%.c=$(BUILD)/obj/%.o)
# The firmware core as the host builds it (firmware/firmware.mk).
VBOARD_FW_OBJS := $(or $(FW_HOST_OBJS),$(BUILD)/obj/firmware/fw.o $(BUILD)/obj/driver/npu_dev.o)
USB_TEST_SRCS := $(sort $(wildcard tests/usb/*.cc))
# The zoo models the sim tests build, shared with them.
USB_TEST_OBJS := $(USB_TEST_SRCS:%.cc=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/sim/zoo_model.o
USB_TEST_BIN := $(BUILD)/bin/npu-usb-tests

# Recursive on purpose: pkg-config runs when a recipe needs them.
VBOARD_PKGS := umockdev-1.0 gobject-2.0 glib-2.0
VBOARD_CFLAGS = $(shell pkg-config --cflags $(VBOARD_PKGS))
VBOARD_LIBS = $(shell pkg-config --libs $(VBOARD_PKGS))
# The preload library first of all: it interposes libc's open, stat,
# ioctl, ... for this process (the testbed's /sys and /dev).
VBOARD_PRELOAD := -Wl,--no-as-needed -lumockdev-preload -Wl,--as-needed

.PHONY: usb-test usb-tests

# The tool's object differs with and without the board: it is rebuilt when
# BACKENDS changes in this BUILD (the registry's header changes then).
$(BUILD)/obj/tools/npu-vboard/main.o: $(NPU_BACKENDS_H)

ifneq ($(VBOARD_ON),)

$(VBOARD_OBJS): CPPFLAGS += $(VBOARD_CFLAGS)

usb-tests: $(USB_TEST_BIN)
tests: $(USB_TEST_BIN)

$(USB_TEST_BIN): $(USB_TEST_OBJS) $(VBOARD_OBJS) $(VBOARD_FW_OBJS) $(LIB) $(NPU_SIM_LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(VBOARD_PRELOAD) -o $@ $(USB_TEST_OBJS) $(VBOARD_OBJS) $(VBOARD_FW_OBJS) \
		$(LIB) $(or $(BACKEND_LDLIBS),$(SIM_LDLIBS)) -lusb-1.0 $(VBOARD_LIBS) \
		-lgtest_main -lgtest $(LDLIBS)

usb-test: $(USB_TEST_BIN)
	NPU_BUILD=$(BUILD) $(USB_TEST_BIN)

# The tool (TOOL_RULE links it): the board's objects, the preload first.
$(BUILD)/bin/npu-vboard: $(VBOARD_OBJS) $(VBOARD_FW_OBJS)
$(BUILD)/bin/npu-vboard: LDFLAGS += $(VBOARD_PRELOAD)
$(BUILD)/bin/npu-vboard: LDLIBS += $(VBOARD_LIBS)

else

# Without the board the tool still builds (tools/npu-* are all built) and
# says why it cannot run a command.
$(BUILD)/obj/tools/npu-vboard/main.o: CPPFLAGS += \
	-DNPU_VBOARD_MISSING='"this build has no virtual board (BACKENDS=$(strip $(BACKENDS)); it needs sim and usb)"'

usb-test usb-tests:
	@echo "make $@: no virtual board: BACKENDS=$(strip $(BACKENDS)) lacks sim or usb"

endif
