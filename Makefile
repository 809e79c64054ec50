# lwnpu top-level build.
#
#   make            build libnpu, the tools and the tests into $(BUILD)/
#   make run        set up, build, run the demo on the default device
#   make test       set up, build, run every test
#   make asan       the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make tsan       the concurrency tests under ThreadSanitizer
#   make lint       Verilator lint of all RTL, generated files up to date, the
#                   layer rules (tools/check-layers), the driver core freestanding
#   make synth      yosys synthesis of the RTL, LUT/FF/DSP/BRAM report
#   make format     clang-format the C/C++ sources in place
#   make format-check   fail if any source is not clang-formatted
#   make install    install libnpu (.so, .a), npu.h, npu.pc, the tools and
#                   their man pages (PREFIX, DESTDIR, LIBDIR); make uninstall
#
# Outputs go under $(BUILD) (default build/), programs in $(BUILD)/bin/.
# Sources are found by wildcard: a new lib/**/*.c, tools/NAME/*.c or
# tests/AREA/*_test.cc needs no edit here.

BUILD ?= build
SAN ?=
CC ?= cc
CXX ?= c++
OPT ?= -O2

# Debian packages every target needs; tools/setup-deps installs them.
# The README's targets (run, test, asan, lint, synth) run it first and then
# build in a second make, which reads its variables (the Verilator root,
# the ONNX proto path) only after the packages are there: nothing this
# make evaluates while reading the makefiles may need a package that
# setup-deps installs (tools/check-first-run guards it in CI).
SETUP_DEPS ?= tools/setup-deps

WARN := -Wall -Wextra -Werror
CPPFLAGS += -Ilib/include -Ilib -I. -I$(BUILD)/gen -D_GNU_SOURCE
# Every object is position-independent: the same objects go into
# libnpu.a and libnpu.so (docs/API.md, "Shared library and ABI"). No
# semantic interposition: calls inside the library stay direct.
PIC := -fPIC -fno-semantic-interposition
# Objects built before every object was -fPIC are rebuilt once: this
# stamp is newer than them and a prerequisite of each object, harness
# included (the Verilated model gets the flag through USER_CPPFLAGS, its
# makefile's hook for that).
PIC_STAMP := $(BUILD)/.pic-objects
CFLAGS := -std=c11 $(OPT) -g $(WARN) -fno-strict-aliasing $(PIC) $(SAN)
CXXFLAGS := -std=c++17 $(OPT) -g $(WARN) $(PIC) $(SAN)
LDFLAGS += $(SAN)
LDLIBS := -lpthread -lm

# Driver backends built into libnpu (docs/DRIVER.md, "Choosing backends
# at build time"): driver/NAME.c for each NAME in BACKENDS, and the
# registry (driver/backend.c) lists exactly those, in the order of
# NPU_BACKENDS_KNOWN, through the generated $(BUILD)/gen/npu_backends.h.
# The default is every backend that builds here: null, sim, usb (dev
# boards), cosim (the co-simulated PCIe card on this host), vfio and uio
# (PCIe cards; their tests run in a QEMU guest, tests/pcie/pcie.mk).
# `make BACKENDS=null`
# leaves the simulator out, and with it Verilator, yosys, the harness and
# -lstdc++, and the dev board's usb backend with libusb: libnpu, the cpu
# device, the tools and every test that does not need them still build
# and pass.
NPU_BACKENDS_KNOWN := sim null usb cosim vfio uio
BACKENDS ?= null sim usb cosim vfio uio
NPU_BACKENDS := $(filter $(BACKENDS),$(NPU_BACKENDS_KNOWN))
ifneq ($(filter-out $(NPU_BACKENDS_KNOWN),$(BACKENDS)),)
$(error BACKENDS: unknown backend(s) $(filter-out $(NPU_BACKENDS_KNOWN),$(BACKENDS)); known: $(NPU_BACKENDS_KNOWN))
endif
ifeq ($(NPU_BACKENDS),)
$(error BACKENDS is empty; choose from: $(NPU_BACKENDS_KNOWN))
endif
NPU_HAVE_SIM := $(filter sim,$(NPU_BACKENDS))
NPU_HAVE_USB := $(filter usb,$(NPU_BACKENDS))
NPU_BACKENDS_H := $(BUILD)/gen/npu_backends.h

# Driver files that are not a backend (the registry, the driver core) are
# always built.
LIB_SRCS := $(sort $(wildcard lib/*/*.c lib/*.c) \
	$(filter-out $(NPU_BACKENDS_KNOWN:%=driver/%.c),$(wildcard driver/*.c)) \
	$(NPU_BACKENDS:%=driver/%.c))
# The sim backend (driver/sim.c) calls the Verilated NPU: with sim, every
# program that links libnpu also links the harness library (C++ inside).
# The harness is not built with $(SAN), so a sanitizer build shares the
# model of SIM_BUILD instead of verilating its own (make asan, make tsan).
SIM_BUILD ?= $(BUILD)
NPU_SIM_LIB := $(if $(NPU_HAVE_SIM),$(SIM_BUILD)/rtl-sim/libnpusim.a)
SIM_LDLIBS := $(if $(NPU_HAVE_SIM),$(NPU_SIM_LIB) -lstdc++)
# The usb backend (driver/usb.c) is a libusb-1.0 client: Debian's
# libusb-1.0-0-dev, named directly (<libusb-1.0/libusb.h>, -lusb-1.0) so
# that no pkg-config runs while the makefile is read (tools/check-first-run).
USB_LDLIBS := $(if $(NPU_HAVE_USB),-lusb-1.0)
# What every program that links libnpu links besides it.
BACKEND_LDLIBS := $(SIM_LDLIBS) $(USB_LDLIBS)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libnpu.a

# ONNX protobuf bindings, generated from Debian's libonnx-dev.
ONNX_PROTO := /usr/include/onnx/onnx.proto
ONNX_GEN_C := $(BUILD)/gen/onnx/onnx.pb-c.c
ONNX_GEN_H := $(BUILD)/gen/onnx/onnx.pb-c.h
ONNX_OBJ := $(BUILD)/obj/gen/onnx.pb-c.o

# Code the tools share (profile rendering, .npy I/O): not part of libnpu.
TOOLS_COMMON_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/common/*.c))

TOOLS := $(notdir $(wildcard tools/npu-*))
TOOL_BINS := $(TOOLS:%=$(BUILD)/bin/%)

# Tests that call the harness's C ABI (tests/rtl/, and any test that
# includes rtl-sim/harness/npu_sim.h or driver/sim.h) are built only with
# sim; the others skip what needs "sim" at run time, with the reason.
TEST_SIM_SRCS := $(wildcard tests/rtl/*.cc) \
	$(shell grep -l -e 'rtl-sim/harness/npu_sim\.h' -e 'driver/sim\.h' tests/*/*.cc 2>/dev/null)
# tests/usb/ is its own binary (tests/usb/usb.mk): it preloads umockdev.
# tests/guest/ runs inside the PCIe guest (tests/pcie/pcie.mk). The
# cosim backend's tests need that backend (and sim, for npu-cosim).
TEST_COSIM_SRCS := $(if $(and $(NPU_HAVE_SIM),$(filter cosim,$(NPU_BACKENDS))),,tests/pcie/cosim_test.cc)
TEST_SRCS := $(filter-out $(if $(NPU_HAVE_SIM),,$(TEST_SIM_SRCS)) $(TEST_COSIM_SRCS) tests/usb/% tests/guest/%,$(sort $(wildcard tests/*/*.cc)))
TEST_OBJS := $(TEST_SRCS:%.cc=$(BUILD)/obj/%.o)
TEST_BIN := $(BUILD)/bin/npu-tests

.PHONY: all lib tools tests run test asan format format-check deps ort clean lint synth \
	run-after-deps test-after-deps asan-after-deps lint-after-deps synth-after-deps
.DEFAULT_GOAL := all

all: lib shared tools tests
lib: $(LIB)
tools: $(TOOL_BINS)
tests: $(TEST_BIN)

deps:
	$(SETUP_DEPS)

# ONNX Runtime for Node.js: the second float reference of the agreement
# tests (tools/setup-ort, pinned by tools/ort/package-lock.json). Without
# npm or its registry those checks are skipped with the reason; nothing
# else needs it. One copy for every BUILD.
ORT_DIR := build/ort
ORT_STAMP := $(ORT_DIR)/.ok
ort: $(ORT_STAMP)
$(ORT_STAMP): tools/setup-ort tools/ort/package.json tools/ort/package-lock.json
	tools/setup-ort $(ORT_DIR) && touch $@ || echo "make: going on without ONNX Runtime"

$(BUILD)/obj/%.o: %.c $(ONNX_GEN_H) $(PIC_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.cc $(ONNX_GEN_H) $(PIC_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c $< -o $@

# The registry's list, $(BUILD)/gen/npu_backends.h, is written while the
# makefile is read and only when its text changes (BACKENDS changed in this
# BUILD): then the registry and the test that checks it rebuild, nothing
# else, and `make -q` still answers for an unchanged BUILD. The test
# compares the registry with BACKENDS as given (NPU_BUILT_BACKENDS).
$(shell mkdir -p $(BUILD)/gen && \
	{ echo '/* generated by the Makefile from BACKENDS ($(NPU_BACKENDS)), do not edit */'; \
	printf 'NPU_BACKEND(%s)\n' $(NPU_BACKENDS); } >$(NPU_BACKENDS_H).tmp && \
	{ cmp -s $(NPU_BACKENDS_H).tmp $(NPU_BACKENDS_H) && rm -f $(NPU_BACKENDS_H).tmp || \
	mv $(NPU_BACKENDS_H).tmp $(NPU_BACKENDS_H); })
$(BUILD)/obj/driver/backend.o $(BUILD)/obj/tests/driver/backend_test.o: $(NPU_BACKENDS_H)
$(BUILD)/obj/tests/driver/backend_test.o: CPPFLAGS += -DNPU_BUILT_BACKENDS='"$(strip $(BACKENDS))"'
# libdrm (Debian's libdrm-dev), named directly as libusb is: only the
# guest's dma-buf test uses it (libnpu imports an fd and needs no libdrm);
# <xf86drm.h> includes <drm.h> from /usr/include/libdrm.
DRM_CPPFLAGS := -I/usr/include/libdrm
$(BUILD)/obj/tests/guest/dmabuf_test.o: CPPFLAGS += $(DRM_CPPFLAGS)

$(ONNX_GEN_C) $(ONNX_GEN_H) &: $(ONNX_PROTO)
	@mkdir -p $(BUILD)/gen/onnx
	cp $(ONNX_PROTO) $(BUILD)/gen/onnx/onnx.proto
	cd $(BUILD)/gen/onnx && protoc-c --c_out=. onnx.proto

# Generated code is not ours: compile without -Werror.
$(ONNX_OBJ): $(ONNX_GEN_C)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -std=c11 $(OPT) -g $(SAN) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# Each tools/npu-NAME/*.c links into $(BUILD)/bin/npu-NAME.
define TOOL_RULE
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/$(1)/*.c)) $(TOOLS_COMMON_OBJS) $(LIB) $(ONNX_OBJ) $(NPU_SIM_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter-out $(ONNX_OBJ),$$(filter %.o,$$^)) $(LIB) $(ONNX_OBJ) -lprotobuf-c $(BACKEND_LDLIBS) $$(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call TOOL_RULE,$(t))))

$(TEST_BIN): $(TEST_OBJS) $(TOOLS_COMMON_OBJS) $(LIB) $(ONNX_OBJ) $(NPU_SIM_LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) -o $@ $(TEST_OBJS) $(TOOLS_COMMON_OBJS) $(LIB) $(ONNX_OBJ) -lprotobuf-c $(BACKEND_LDLIBS) \
		-lgtest_main -lgtest $(LDLIBS)

# ---- shared library, install (docs/API.md, "Shared library and ABI") --
#
# libnpu.so.MAJOR.MINOR.PATCH, soname libnpu.so.MAJOR: the major number
# changes only when the ABI breaks. lib/libnpu.map lists the exported
# functions (exactly those npu.h declares, under a version node); every
# other symbol, the C++ harness and the Verilator runtime included, is
# local. tools/check-exports fails if anything else is exported. The -u
# flags pull in from the archives only what the API reaches.

NPU_SO_MAJOR := 1
NPU_SO_MINOR := 1
NPU_SO_PATCH := 0
NPU_VERSION := $(NPU_SO_MAJOR).$(NPU_SO_MINOR).$(NPU_SO_PATCH)
NPU_SONAME := libnpu.so.$(NPU_SO_MAJOR)
NPU_MAP := lib/libnpu.map
NPU_EXPORTS := $(shell sed -n 's/^[[:space:]]*\(npu_[a-z0-9_]*\);.*/\1/p' $(NPU_MAP))
SHLIB := $(BUILD)/libnpu.so.$(NPU_VERSION)
SHLIB_LINKS := $(BUILD)/$(NPU_SONAME) $(BUILD)/libnpu.so
# The installed static archive: libnpu.a and (with sim) the harness in
# one, so that `pkg-config --static --libs npu` is enough.
DIST_LIB := $(BUILD)/dist/libnpu.a
comma := ,

.PHONY: shared check-exports install uninstall man man-check
shared: $(SHLIB) $(SHLIB_LINKS)

$(sort $(PIC_STAMP) $(SIM_BUILD)/.pic-objects):
	@mkdir -p $(@D)
	touch $@

$(SHLIB): $(LIB) $(NPU_SIM_LIB) $(NPU_MAP)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(NPU_SONAME) -Wl,--version-script=$(NPU_MAP) \
		-Wl,--no-undefined $(addprefix -Wl$(comma)-u$(comma),$(NPU_EXPORTS)) \
		-o $@ $(LIB) $(BACKEND_LDLIBS) $(LDLIBS)
$(SHLIB_LINKS): $(SHLIB)
	ln -sf $(if $(filter %.so,$@),$(NPU_SONAME),$(notdir $(SHLIB))) $@

$(DIST_LIB): $(LIB) $(NPU_SIM_LIB)
	@mkdir -p $(@D)
	rm -f $@
	printf 'create $@\naddlib $(LIB)\n$(if $(NPU_HAVE_SIM),addlib $(NPU_SIM_LIB)\n)save\nend\n' | $(AR) -M

check-exports: $(SHLIB)
	tools/check-exports $(SHLIB) lib/include/npu.h $(NPU_MAP)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MAN_PAGES := $(TOOLS:%=man/%.1)

# Installs what is built; builds nothing as root beyond what is stale.
install: $(SHLIB) $(SHLIB_LINKS) $(DIST_LIB) $(TOOL_BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(TOOL_BINS) $(DESTDIR)$(BINDIR)/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(NPU_SONAME)
	ln -sf $(NPU_SONAME) $(DESTDIR)$(LIBDIR)/libnpu.so
	install -m 644 $(DIST_LIB) $(DESTDIR)$(LIBDIR)/libnpu.a
	install -m 644 lib/include/npu.h $(DESTDIR)$(INCLUDEDIR)/npu.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(NPU_VERSION)|' \
		-e 's|@BACKENDS@|$(NPU_BACKENDS)|' \
		-e 's|@LIBS_PRIVATE@|$(if $(NPU_HAVE_SIM),-lstdc++ )$(if $(NPU_HAVE_USB),-lusb-1.0 )-lpthread -lm|' \
		npu.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/npu.pc
	install -m 644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man1/

# Exactly the files install writes; directories are left alone.
uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(BINDIR)/%) $(MAN_PAGES:man/%=$(DESTDIR)$(MANDIR)/man1/%) \
		$(DESTDIR)$(LIBDIR)/$(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(NPU_SONAME) \
		$(DESTDIR)$(LIBDIR)/libnpu.so $(DESTDIR)$(LIBDIR)/libnpu.a \
		$(DESTDIR)$(INCLUDEDIR)/npu.h $(DESTDIR)$(PKGCONFIGDIR)/npu.pc

# The man pages are generated from each tool's --help and checked in:
# `make man` rewrites them, `make man-check` fails when one is stale.
man: $(TOOL_BINS)
	man/gen-man $(BUILD)/bin man $(TOOLS)
man-check: $(TOOL_BINS)
	man/gen-man --check $(BUILD)/bin man $(TOOLS)

# ---- the README's two commands ---------------------------------------
#
# Each is set-up (one recipe line, so that `make -n` shows the whole
# sequence), then the real target in a new make.

# run, test, asan and tsan set up what BACKENDS needs (no Verilator or
# yosys without sim); lint and synth need the RTL tools, so everything.
run test asan:
	$(SETUP_DEPS) $(NPU_BACKENDS) && $(MAKE) --no-print-directory $@-after-deps
lint synth:
	$(SETUP_DEPS) && $(MAKE) --no-print-directory $@-after-deps

run-after-deps: all
	tools/demo.sh $(BUILD)

# RTL unit tests first (each engine bit-exact against lib/ref; with sim
# only, as they need Verilator), then the GoogleTest suites over the C API,
# the shared library's exports and the Python package's tests (Debian's
# python3, which has numpy and pytest).
PYTEST = NPU_BUILD=$(BUILD) PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m pytest -q \
	-p no:cacheprovider python/tests
#
# With usb: the dev board's firmware tests (host, then the Cortex-M3 image
# under QEMU) and its fuzz corpus replayed; with sim and usb also the USB
# suite against the virtual board (npu-usb-tests) and tools/hil/run under
# npu-vboard on two nets (the whole zoo on usb is in the USB suite; this
# tests the script).
HIL_TEST_ARGS ?= HIL_SIZE=32 HIL_ARGS=--nets=mobilenet_v2,mobilenet_v3_small
test-after-deps: ort all
	$(if $(NPU_HAVE_SIM),$(MAKE) --no-print-directory rtl-test,@echo "make test: no RTL unit tests: BACKENDS=$(strip $(BACKENDS)) has no sim (no Verilator)")
	NPU_BUILD=$(BUILD) $(TEST_BIN) --gtest_brief=0
	$(if $(NPU_HAVE_USB),$(MAKE) --no-print-directory fw-test fuzz-regress,@echo "make test: no firmware tests: BACKENDS=$(strip $(BACKENDS)) has no usb")
	$(if $(VBOARD_ON),$(MAKE) --no-print-directory usb-test && $(MAKE) --no-print-directory hil-test $(HIL_TEST_ARGS),@echo "make test: no USB suite: BACKENDS=$(strip $(BACKENDS)) lacks sim or usb")
	$(if $(and $(NPU_HAVE_SIM),$(filter vfio,$(NPU_BACKENDS))),$(MAKE) --no-print-directory pcie-test,@echo "make test: no PCIe guest job: BACKENDS=$(strip $(BACKENDS)) lacks sim or vfio")
	$(MAKE) --no-print-directory check-exports
	$(PYTEST)

# What BACKENDS changes, run alone (CI's BACKENDS=null check, after make
# test ran everything on the default build): the registry and the API
# suite over every backend, the tests that need sim (skipped without it,
# with the reason), the installed library and npu.pc, the exports and the
# Python package. `make BACKENDS=null test` runs everything.
BACKENDS_TEST_FILTER ?= Driver*:Backends/*:*Sim*:*/sim:Install.*
.PHONY: test-backends
test-backends: all
	NPU_BUILD=$(BUILD) $(TEST_BIN) --gtest_filter='$(BACKENDS_TEST_FILTER)'
	$(MAKE) --no-print-directory check-exports
	$(PYTEST)

lint-after-deps: rtl-lint driver-core-check ; tools/check-layers --build $(BUILD)

# The driver core (driver/npu_dev.c) also runs on the dev board's firmware:
# it must build freestanding and use nothing from the C library but the
# memory functions a freestanding compiler may emit calls to.
DRIVER_CORE_LIBC := memset memcpy memmove memcmp
.PHONY: driver-core-check
driver-core-check:
	@mkdir -p $(BUILD)/lint
	$(CC) -std=c11 -O2 -ffreestanding -Wall -Wextra -Werror -Ilib/include -I. \
		-c driver/npu_dev.c -o $(BUILD)/lint/npu_dev_freestanding.o
	@extra=$$(nm -u $(BUILD)/lint/npu_dev_freestanding.o | awk '{print $$2}' | \
		grep -vxF $(addprefix -e ,$(DRIVER_CORE_LIBC)) || true); \
	if [ -n "$$extra" ]; then \
		echo "driver/npu_dev.c uses outside the driver core: $$extra"; exit 1; fi; \
	echo "driver-core-check: driver/npu_dev.c builds freestanding"
synth-after-deps: rtl-synth

# The zoo-on-sim exactness tests at 64x64 instead of 224x224 under the
# sanitizers (the release run of make test keeps 224): the same code paths,
# a quarter of the CI time. The harness is never sanitized: both sanitizer
# builds link the one in $(SIM_BUILD) (make test's) rather than verilate
# their own. The RTL device tests (tests/rtl: SimTest, NetTest) are left
# out: they check the Verilated RTL through the harness's C ABI, and the
# host code they share with libnpu (the driver core) runs sanitized in
# SimZoo, SimSmall and the fault suites.
ASAN_FILTER ?= -*/SimTest.*:*/NetTest.*
asan-after-deps: ort
	$(MAKE) BUILD=build-asan SIM_BUILD=$(SIM_BUILD) SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" OPT=-O1 all
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		NPU_SIM_TEST_SIZE=64 NPU_BUILD=build-asan NPU_SIM_BUILD=$(SIM_BUILD) build-asan/bin/npu-tests \
		--gtest_filter='$(ASAN_FILTER)'

# ---- examples ----------------------------------------------------------
#
# examples/NAME/*.c links into $(BUILD)/bin/NAME against libnpu, like any
# application (npu.h only). classify decodes images with Debian's libpng
# and libjpeg-turbo; the tests write their PNG and JPEG files with them.
EXAMPLES := $(notdir $(patsubst %/,%,$(dir $(wildcard examples/*/*.c))))
EXAMPLE_BINS := $(EXAMPLES:%=$(BUILD)/bin/%)
EXAMPLE_LDLIBS := -lpng -ljpeg
.PHONY: examples
examples: $(EXAMPLE_BINS)
all: examples
$(TEST_BIN): LDLIBS += $(EXAMPLE_LDLIBS)
define EXAMPLE_RULE
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard examples/$(1)/*.c)) $(LIB) $(NPU_SIM_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIB) $(BACKEND_LDLIBS) $(EXAMPLE_LDLIBS) $$(LDLIBS)
endef
$(foreach e,$(EXAMPLES),$(eval $(call EXAMPLE_RULE,$(e))))

# ---- ThreadSanitizer: the concurrency tests ---------------------------
#
# `make tsan`: libnpu and the tests under ThreadSanitizer in build-tsan/,
# then the suites that share one device between threads (tests/threads,
# tests/sim/overlap_test.cc). Any report fails the run (halt_on_error).
TSAN_FILTER ?= Devices/Threads.*:SimOverlap.*
.PHONY: tsan tsan-after-deps
tsan:
	$(SETUP_DEPS) $(NPU_BACKENDS) && $(MAKE) --no-print-directory $@-after-deps
tsan-after-deps:
	$(MAKE) BUILD=build-tsan SIM_BUILD=$(SIM_BUILD) SAN="-fsanitize=thread" OPT=-O1 tests
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" NPU_BUILD=build-tsan NPU_SIM_BUILD=$(SIM_BUILD) \
		build-tsan/bin/npu-tests --gtest_filter='$(TSAN_FILTER)'

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' '*.cc')
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	clang-format --dry-run -Werror $(FORMAT_SRCS)

clean:
	rm -rf build build-asan build-tsan build-null

include rtl-sim/rtl.mk
# The dev board: its firmware (host library, Cortex-M build, unit tests
# under QEMU, fuzzing) and the virtual board with the USB tests.
include firmware/firmware.mk
include tests/usb/usb.mk
# The co-simulated PCIe card (npu-cosim) and the guest job (docs/PCIE.md).
include rtl-sim/cosim/cosim.mk
include tests/pcie/pcie.mk

# ---- hardware in the loop (docs/HIL.md) --------------------------------
#
# tools/hil/run finds a dev board, reads its GET_INFO, runs every zoo net
# on it and on cpu and fails on any byte that differs. On a machine with a
# board: `tools/hil/run --bin $(BUILD)/bin`. `make hil-test` runs it in CI
# against the virtual board, at HIL_SIZE x HIL_SIZE to keep it short.
HIL_SIZE ?= 64
HIL_ARGS ?=
.PHONY: hil-test
ifneq ($(VBOARD_ON),)
hil-test: $(BUILD)/bin/npu-vboard $(BUILD)/bin/npu-zoo $(BUILD)/bin/npu-run $(BUILD)/bin/npu-bench
	$(BUILD)/bin/npu-vboard -- tools/hil/run --bin $(BUILD)/bin --size $(HIL_SIZE) $(HIL_ARGS)
else
hil-test:
	@echo "make hil-test: no virtual board: BACKENDS=$(strip $(BACKENDS)) lacks sim or usb"
endif
# The harness only with the sim backend: without it nothing reads the
# Verilator root or names a model.
ifneq ($(NPU_HAVE_SIM),)
include rtl-sim/harness.mk

# The harness goes into libnpu.so too: position-independent, rebuilt once
# in a build directory made before that (PIC_STAMP above, the one of
# SIM_BUILD, which owns the harness).
SIM_CXXFLAGS += $(PIC)
$(SIM_OUT)/npu_sim.o $(SIM_RT_SRCS:%.cpp=$(SIM_OUT)/rt/%.o): $(SIM_BUILD)/.pic-objects
$(foreach c,default small,$(SIM_OUT)/$(c)/Vnpu_top_$(c)__ALL.a): $(SIM_BUILD)/.pic-objects
$(foreach c,default small,$(SIM_OUT)/$(c)/Vnpu_top_$(c)__ALL.a): export USER_CPPFLAGS := $(PIC)
endif

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
