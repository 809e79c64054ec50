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

