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

# ---- Cortex-M3 (QEMU's mps2-an385) ----------------------------------------
#
# The same sources cross-compiled, freestanding, no C library:
# firmware/cortexm has the vector table and reset (startup.c), the memory
# functions (libc.c), semihosting for output and the exit status, the
# AN385 linker script. Two images:
#   $(BUILD)/firmware/fw-test.elf   the unit tests over the fake board
#   $(BUILD)/firmware/lwnpu-fw.elf  the board image: core, driver core,
#                                   board HAL (hal_board.c), main loop
FW_ARM_CC ?= arm-none-eabi-gcc
FW_ARM_SIZE ?= arm-none-eabi-size
FW_QEMU ?= qemu-system-arm
FW_ARM_DIR := $(BUILD)/firmware
FW_ARM_CFLAGS := -mcpu=cortex-m3 -mthumb -std=c11 -Os -g -ffreestanding -fno-common \
	-ffunction-sections -fdata-sections $(WARN) -Ilib/include -I.
FW_ARM_LDFLAGS := -mcpu=cortex-m3 -mthumb -nostdlib -nostartfiles -Wl,--gc-sections \
	-Wl,-T,firmware/cortexm/an385.ld
FW_ARM_RT := firmware/cortexm/startup.c firmware/cortexm/libc.c firmware/cortexm/semihost.c
FW_ARM_CORE := firmware/fw.c $(FW_DRIVER_SRCS)
FW_ARM_TEST_SRCS := $(FW_ARM_RT) $(FW_ARM_CORE) firmware/tests/fw_test.c \
	firmware/tests/fake_hal.c firmware/cortexm/test_io.c
FW_ARM_BOARD_SRCS := $(FW_ARM_RT) $(FW_ARM_CORE) firmware/cortexm/hal_board.c \
	firmware/cortexm/main.c
FW_ARM_TEST := $(FW_ARM_DIR)/fw-test.elf
FW_ARM_BOARD := $(FW_ARM_DIR)/lwnpu-fw.elf

$(FW_ARM_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FW_ARM_CC) $(FW_ARM_CFLAGS) -MMD -MP -c $< -o $@
# Loops that must stay loops (they are memset and memcpy).
$(FW_ARM_DIR)/obj/firmware/cortexm/libc.o: FW_ARM_CFLAGS += -fno-builtin \
	-fno-tree-loop-distribute-patterns

$(FW_ARM_TEST): $(FW_ARM_TEST_SRCS:%.c=$(FW_ARM_DIR)/obj/%.o) firmware/cortexm/an385.ld
	$(FW_ARM_CC) $(FW_ARM_LDFLAGS) -o $@ $(filter %.o,$^) -lgcc
$(FW_ARM_BOARD): $(FW_ARM_BOARD_SRCS:%.c=$(FW_ARM_DIR)/obj/%.o) firmware/cortexm/an385.ld
	$(FW_ARM_CC) $(FW_ARM_LDFLAGS) -Wl,-Map,$@.map -o $@ $(filter %.o,$^) -lgcc

# The tests on the host, then on the Cortex-M3 under QEMU (0.2 to 0.4 s; the
# exit status is the number of failed checks, through semihosting).
.PHONY: fw-test fw-test-arm fw-size fw-images
fw-images: $(FW_ARM_TEST) $(FW_ARM_BOARD)
fw-test: fw-test-host fw-test-arm
fw-test-arm: $(FW_ARM_TEST)
	timeout 30 $(FW_QEMU) -M mps2-an385 -nographic -monitor none -serial none -semihosting \
		-kernel $(FW_ARM_TEST)

# What the board image costs (text/data/bss, bytes).
fw-size: $(FW_ARM_BOARD)
	$(FW_ARM_SIZE) $(FW_ARM_BOARD)

-include $(shell find $(FW_ARM_DIR)/obj -name '*.d' 2>/dev/null)

# ---- fuzzing (docs/RELIABILITY.md) ------------------------------------------
#
# firmware/fuzz/fw_fuzz.c, a libFuzzer target with ASan and UBSan: its
# input is a trace (firmware/fw_trace.h) replayed against the core and the
# fake board, invariants checked after every record. The seeds are
# checked in (firmware/fuzz/corpus: make fuzz-seeds writes the unit
# tests' sessions there); what a run finds beyond them stays in
# $(BUILD)/fuzz/corpus, a crash in $(BUILD)/fuzz/artifacts.
#   make fuzz           fuzz for FUZZ_SECONDS (60)
#   make fuzz-regress   replay the checked-in corpus once (a second)
FW_FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FW_FUZZ := $(BUILD)/bin/fw-fuzz
FW_FUZZ_CORPUS := firmware/fuzz/corpus
FW_FUZZ_SRCS := firmware/fuzz/fw_fuzz.c firmware/fw.c $(FW_DRIVER_SRCS) firmware/tests/fake_hal.c
FW_FUZZ_HDRS := $(wildcard firmware/*.h firmware/tests/*.h) driver/npu_usb_proto.h \
	driver/npu_dev.h driver/backend.h driver/npu_regs.h lib/include/npu.h

$(FW_FUZZ): $(FW_FUZZ_SRCS) $(FW_FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FW_FUZZ_CC) -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $(WARN) -Ilib/include -I. $(FW_FUZZ_SRCS) -o $@

.PHONY: fuzz fuzz-regress fuzz-seeds
fuzz: $(FW_FUZZ)
	@mkdir -p $(BUILD)/fuzz/corpus $(BUILD)/fuzz/artifacts
	$(FW_FUZZ) $(BUILD)/fuzz/corpus $(FW_FUZZ_CORPUS) -max_total_time=$(FUZZ_SECONDS) \
		-max_len=16384 -artifact_prefix=$(BUILD)/fuzz/artifacts/ -print_final_stats=1
fuzz-regress: $(FW_FUZZ)
	$(FW_FUZZ) $(FW_FUZZ_CORPUS)/*
fuzz-seeds: $(FW_TEST_HOST)
	FW_TEST_TRACE_DIR=$(FW_FUZZ_CORPUS) $(FW_TEST_HOST)
