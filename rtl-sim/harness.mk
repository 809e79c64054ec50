# lwnpu Verilator harness: the device model the driver's `sim` backend links.
#
# Included from the top-level Makefile after rtl-sim/rtl.mk (it uses
# RTL_SRCS, RTL_OUT, RTL_WAIVERS, RTL_REF_OBJS from there); also usable
# alone: make -f rtl-sim/rtl.mk -f rtl-sim/harness.mk rtl-sim-lib
#
#   rtl-sim-lib     $(SIM_BUILD)/rtl-sim/libnpusim.a (libnpusim-fst.a with
#                   NPU_SIM_TRACE=1): npu_top verilated twice
#                   (Vnpu_top_default, Vnpu_top_small), the Verilator
#                   runtime and rtl-sim/harness/npu_sim.cc (C ABI in
#                   rtl-sim/harness/npu_sim.h). Link with -lz if
#                   NPU_SIM_TRACE=1 (FST support).
#   rtl-sim-test    the device tests (tests/rtl/, in npu-tests) alone
#   rtl-sim-bench   simulated cycles and MACs per host second (default config):
#                   the harness alone (Bench.*), then MobileNetV2-224 through
#                   the whole stack (npu-bench --device sim, RTL_SIM_BENCH_NETS)
#
# Both models are single-threaded (no --threads) and built one after the
# other with -j 1. NPU_SIM_TRACE=1 verilates with --trace-fst so that
# $NPU_SIM_FST / npu_sim_config.fst_path write a waveform; it slows every
# cycle, so it is a separate build flavour (its own output directory).
#
# SIM_BUILD (default $(BUILD)) is the build directory that owns the
# harness: the model does not depend on the C flags of the libnpu that
# links it (no $(SAN)), so the sanitizer builds share make test's.

NPU_SIM_TRACE ?= 0
SIM_BUILD ?= $(BUILD)
SIM_OUT := $(SIM_BUILD)/rtl-sim/harness$(if $(filter 1,$(NPU_SIM_TRACE)),-fst)
SIM_LIB := $(SIM_BUILD)/rtl-sim/libnpusim$(if $(filter 1,$(NPU_SIM_TRACE)),-fst,).a
# The Verilator root, asked on first use and then kept: lazy (not :=) so
# that a make started before tools/setup-deps has installed Verilator (a
# fresh machine) does not parse an empty root into the flags
# (`-isystem /include`); nothing below expands it while parsing.
SIM_VROOT = $(eval SIM_VROOT := $$(shell $$(VERILATOR) --getenv VERILATOR_ROOT 2>/dev/null))$(SIM_VROOT)
# Verilator's generated makefile, run as a plain command (not as a
# recursive $(MAKE), which `make -n` would execute before the model exists).
SIM_VMAKE = $(MAKE)
SIM_VINC = $(SIM_VROOT)/include
# C++ optimization of the Verilated model: -O2 runs MobileNetV2-224 about
# 8 % faster than -O1 for about 14 s more compiler time per build of both
# models (docs/PERFORMANCE.md "Simulator speed").
SIM_MODEL_OPT ?= -O2
SIM_CXXFLAGS = -std=c++17 -O2 -g0 -isystem $(SIM_VINC) -isystem $(SIM_VINC)/vltstd \
	-isystem $(abspath $(SIM_OUT)/default) -isystem $(abspath $(SIM_OUT)/small) \
	$(if $(filter 1,$(NPU_SIM_TRACE)),-DNPU_SIM_TRACE -DVM_TRACE=1 -DVM_TRACE_FST=1,)
SIM_VFLAGS := --cc -Wall -Wno-fatal --x-assign unique --x-initial unique -O3 \
	$(if $(filter 1,$(NPU_SIM_TRACE)),--trace-fst --trace-structs,)
SIM_PARAMS_default :=
SIM_PARAMS_small := -GPwRows=4 -GPwCols=4 -GDwLanes=4 -GPpuLanes=4 -GActKb=16 -GWgtKb=16 \
	-GAccKb=4 -GParamKb=2 -GDmaBytes=4
SIM_RT_SRCS := verilated.cpp verilated_threads.cpp \
	$(if $(filter 1,$(NPU_SIM_TRACE)),verilated_fst_c.cpp,)

.PHONY: rtl-sim-lib rtl-sim-test rtl-sim-bench

# $(1) = configuration. Verilate, then compile the model into one archive.
define SIM_MODEL_RULE
$(SIM_OUT)/$(1)/Vnpu_top_$(1)__ALL.a: $(RTL_SRCS) $(RTL_WAIVERS)
	@mkdir -p $(SIM_OUT)/$(1)
	$(VERILATOR) $(SIM_VFLAGS) $(SIM_PARAMS_$(1)) --top-module npu_top \
		--prefix Vnpu_top_$(1) --Mdir $(SIM_OUT)/$(1) $(RTL_WAIVERS) $(RTL_SRCS) \
		>$(SIM_OUT)/$(1)/verilate.log 2>&1 || { tail -40 $(SIM_OUT)/$(1)/verilate.log; exit 1; }
	$(SIM_VMAKE) -j 1 -C $(SIM_OUT)/$(1) -f Vnpu_top_$(1).mk Vnpu_top_$(1)__ALL.a \
		VM_PARALLEL_BUILDS=0 OPT_FAST="$(SIM_MODEL_OPT)" OPT_SLOW="-O0" \
		>$(SIM_OUT)/$(1)/build.log 2>&1 || { tail -40 $(SIM_OUT)/$(1)/build.log; exit 1; }
endef
$(foreach c,default small,$(eval $(call SIM_MODEL_RULE,$(c))))

# The runtime sources are named in the recipe, not as prerequisites: a
# prerequisite is expanded while parsing, before the set-up.
$(SIM_OUT)/rt/%.o:
	@mkdir -p $(@D)
	$(CXX) $(SIM_CXXFLAGS) -c $(SIM_VINC)/$*.cpp -o $@

$(SIM_OUT)/npu_sim.o: rtl-sim/harness/npu_sim.cc rtl-sim/harness/npu_sim.h driver/npu_regs.h \
		driver/npu_desc.h \
		$(SIM_OUT)/default/Vnpu_top_default__ALL.a $(SIM_OUT)/small/Vnpu_top_small__ALL.a
	$(CXX) $(SIM_CXXFLAGS) -Wall -Wextra -Werror -c $< -o $@

# One static library: harness, both models, the Verilator runtime.
$(SIM_LIB): $(SIM_OUT)/npu_sim.o $(SIM_RT_SRCS:%.cpp=$(SIM_OUT)/rt/%.o) \
		$(SIM_OUT)/default/Vnpu_top_default__ALL.a $(SIM_OUT)/small/Vnpu_top_small__ALL.a
	rm -rf $@ $(SIM_OUT)/ar && mkdir -p $(SIM_OUT)/ar/d $(SIM_OUT)/ar/s
	cd $(SIM_OUT)/ar/d && $(AR) x $(abspath $(SIM_OUT)/default/Vnpu_top_default__ALL.a)
	cd $(SIM_OUT)/ar/s && $(AR) x $(abspath $(SIM_OUT)/small/Vnpu_top_small__ALL.a)
	$(AR) rcs $@ $(SIM_OUT)/npu_sim.o $(SIM_RT_SRCS:%.cpp=$(SIM_OUT)/rt/%.o) \
		$(SIM_OUT)/ar/d/*.o $(SIM_OUT)/ar/s/*.o

rtl-sim-lib: $(SIM_LIB)

# The device tests (GoogleTest through the C ABI, golden model lib/ref)
# live in tests/rtl/ and are part of $(BUILD)/bin/npu-tests: run them alone
# with `make rtl-sim-test` (Bench.* with rtl-sim-bench).
rtl-sim-test: tests
	$(TEST_BIN) --gtest_filter='*/SimTest.*:*/NetTest.*'

# The second line is the one docs/PERFORMANCE.md "Simulator speed" tracks:
# host ms per inference and MMAC/hs, simulated MMACs per host second.
RTL_SIM_BENCH_NETS ?= mobilenet_v2
rtl-sim-bench: tests $(BUILD)/bin/npu-bench
	$(TEST_BIN) --gtest_filter='Bench.*' --gtest_also_run_disabled_tests
	$(BUILD)/bin/npu-bench --device sim --size 224 --no-check $(RTL_SIM_BENCH_NETS)
