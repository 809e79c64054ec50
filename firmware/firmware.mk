# The dev-board firmware: host library, Cortex-M build, its unit tests
# under qemu-system-arm, the fuzz target (docs/USB_PROTOCOL.md).

# The core and the driver code it runs (the driver core; the null
# backend's table, which fw.c fills with the HAL's CSR bus), as the host
# build links them: the virtual board links FW_HOST_OBJS. The core
# compiles freestanding here too, so that the host and the Cortex-M image
# build the same sources the same way; the driver objects are libnpu's
# (make lint's driver-core-check proves npu_dev.c freestanding).
FW_DRIVER_SRCS := driver/npu_dev.c driver/null.c
FW_HOST_OBJS := $(BUILD)/obj/firmware/fw.o $(FW_DRIVER_SRCS:%.c=$(BUILD)/obj/%.o)
$(BUILD)/obj/firmware/fw.o: CFLAGS += -ffreestanding

# ---- the unit tests on the host -----------------------------------------
#
# firmware/tests/fw_test.c over the fake board; the exit status is the
# number of failed checks. FW_TEST_TRACE_DIR=DIR also writes each case's
# session there as a trace (the fuzz seeds, make fuzz-seeds).
FW_TEST_HOST_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,firmware/tests/fw_test.c \
	firmware/tests/fake_hal.c firmware/tests/host_io.c)
FW_TEST_HOST := $(BUILD)/bin/fw-test
$(BUILD)/obj/firmware/tests/fw_test.o $(BUILD)/obj/firmware/tests/fake_hal.o: CFLAGS += -ffreestanding

$(FW_TEST_HOST): $(FW_TEST_HOST_OBJS) $(FW_HOST_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^

.PHONY: fw-test-host
fw-test-host: $(FW_TEST_HOST)
	$(FW_TEST_HOST)
