# lwnpu RTL: register-map generation, lint, unit tests, synthesis.
#
# Included from the top-level Makefile (paths are relative to the repo
# root); also usable alone: make -f rtl-sim/rtl.mk rtl-test
#
#   rtl-regs         regenerate npu_regs_pkg.sv, driver/npu_regs.h,
#                    driver/npu_desc.h (descriptor layouts) and the register
#                    and descriptor tables in docs/HARDWARE.md from npu_regs.def
#   rtl-regs-check   fail if any of those checked-in files is stale
#   rtl-lint         verilator --lint-only -Wall over every RTL module
#   rtl-test         build and run every Verilator unit testbench
#   rtl-test-netlist the same testbenches on yosys's synthesized netlist
#   rtl-synth        yosys synth_xilinx (xc7) of each block and of the whole
#                    npu_top; LUT/FF/DSP/BRAM report against the XC7Z020
#   rtl-synth-top    the whole npu_top only
#
# Outputs go under $(BUILD)/rtl-sim/. Verilator builds run single-threaded
# (-j 1, no --threads): the machines running CI are small.

BUILD ?= build
CC ?= cc
VERILATOR ?= verilator
YOSYS ?= yosys
PYTHON ?= python3

RTL_DIR := rtl-sim
RTL_OUT := $(BUILD)/rtl-sim
RTL_DEF := $(RTL_DIR)/regs/npu_regs.def
RTL_GEN := $(RTL_DIR)/scripts/gen_regs.py
RTL_GEN_ARGS := $(RTL_DEF) --sv $(RTL_DIR)/rtl/npu_regs_pkg.sv --h driver/npu_regs.h \
	--desc-h driver/npu_desc.h --doc docs/HARDWARE.md

# Packages first: every module may import them.
RTL_PKGS := $(RTL_DIR)/rtl/npu_regs_pkg.sv $(filter-out $(RTL_DIR)/rtl/npu_regs_pkg.sv,\
	$(sort $(wildcard $(RTL_DIR)/rtl/*_pkg.sv)))
RTL_MODS := $(filter-out %_pkg.sv,$(sort $(wildcard $(RTL_DIR)/rtl/npu_*.sv)))
RTL_SRCS := $(RTL_PKGS) $(RTL_MODS)
RTL_WAIVERS := $(RTL_DIR)/lint/waivers.vlt

# Unit testbenches: rtl-sim/tb/NAME_tb.cc tests module npu_NAME. Per test,
# RTL_TB_FLAGS_NAME adds Verilator flags (parameters) and RTL_TB_OBJS_NAME
# C objects to link (the golden C code the RTL must match). A variant test
# (another configuration) sets RTL_TB_SRC_NAME and RTL_TB_TOP_NAME, and
# RTL_TB_DEFS_NAME for the testbench's -D defines.
RTL_REF_OBJS := $(RTL_OUT)/ref/quant.o $(RTL_OUT)/ref/conv.o
RTL_TBS := $(patsubst $(RTL_DIR)/tb/%_tb.cc,%,$(wildcard $(RTL_DIR)/tb/*_tb.cc)) dw_small pw_small \
	ppu_small ppu_2port ppu_l4 requant_z20
RTL_TB_FLAGS_requant := -GTagWidth=32
RTL_TB_OBJS_requant := $(RTL_OUT)/ref/quant.o
# The narrow lane of the PPU's ADD input passes (low 20 accumulator bits zero).
RTL_TB_SRC_requant_z20 := requant
RTL_TB_TOP_requant_z20 := requant
RTL_TB_FLAGS_requant_z20 := -GTagWidth=32 -GAccZeros=20
RTL_TB_DEFS_requant_z20 := -DTB_ACC_ZEROS=20
RTL_TB_OBJS_requant_z20 := $(RTL_OUT)/ref/quant.o
RTL_TB_OBJS_dw := $(RTL_REF_OBJS)
# The small configuration: 4 lanes.
RTL_TB_SRC_dw_small := dw
RTL_TB_TOP_dw_small := dw
RTL_TB_FLAGS_dw_small := -GLanes=4
RTL_TB_DEFS_dw_small := -DTB_LANES=4
RTL_TB_OBJS_dw_small := $(RTL_REF_OBJS)
# PPU: ppu (Lanes 8, AccLanes 16, ActBytes 16, AddLanes 4, one ACT port),
# ppu_small (4/4/4), ppu_l4 (Lanes 4, as npu_top) and ppu_2port (8 ADD
# lanes, separate ACT read/write).
RTL_TB_OBJS_ppu := $(RTL_OUT)/ref/quant.o $(RTL_OUT)/ref/pool.o $(RTL_OUT)/ref/eltwise.o \
	$(RTL_OUT)/ref/conv.o
RTL_TB_SRC_ppu_small := ppu
RTL_TB_TOP_ppu_small := ppu
RTL_TB_FLAGS_ppu_small := -GLanes=4 -GAccLanes=4 -GActBytes=4
RTL_TB_DEFS_ppu_small := -DTB_LANES=4 -DTB_ACC=4 -DTB_ACT=4
RTL_TB_OBJS_ppu_small := $(RTL_TB_OBJS_ppu)
# ppu_l4: the default device's PPU (npu_top PpuLanes 4, AccLanes and ActBytes 16).
RTL_TB_SRC_ppu_l4 := ppu
RTL_TB_TOP_ppu_l4 := ppu
RTL_TB_FLAGS_ppu_l4 := -GLanes=4
RTL_TB_DEFS_ppu_l4 := -DTB_LANES=4
RTL_TB_OBJS_ppu_l4 := $(RTL_TB_OBJS_ppu)
RTL_TB_SRC_ppu_2port := ppu
RTL_TB_TOP_ppu_2port := ppu
RTL_TB_FLAGS_ppu_2port := -GActOnePort=0 -GAddLanes=8
RTL_TB_DEFS_ppu_2port := -DTB_ONE_PORT=0 -DTB_ADD_LANES=8
RTL_TB_OBJS_ppu_2port := $(RTL_TB_OBJS_ppu)
RTL_TB_OBJS_pw := $(RTL_REF_OBJS)
# The small configuration: a 4x4 array.
RTL_TB_SRC_pw_small := pw
RTL_TB_TOP_pw_small := pw
RTL_TB_FLAGS_pw_small := -GRows=4 -GCols=4
RTL_TB_DEFS_pw_small := -DTB_ROWS=4 -DTB_COLS=4
RTL_TB_OBJS_pw_small := $(RTL_REF_OBJS)

RTL_VFLAGS := -Wall -Wno-fatal --x-assign unique --x-initial unique
RTL_TB_CFLAGS := -O2 -I$(abspath lib) -I$(abspath lib/include) -I$(abspath $(RTL_DIR)/tb) \
	-I$(abspath .)

.PHONY: rtl-regs rtl-regs-check rtl-lint rtl-test rtl-test-netlist rtl-synth rtl-synth-top \
	rtl-clean \
	$(RTL_TBS:%=rtl-test-%)

rtl-regs:
	$(PYTHON) $(RTL_GEN) $(RTL_GEN_ARGS)

rtl-regs-check:
	$(PYTHON) $(RTL_GEN) --check $(RTL_GEN_ARGS)

# Each module is linted as its own top so that one module's problems do not
# hide behind another's, and parameters take their default values.
rtl-lint: rtl-regs-check
	@set -e; for m in $(RTL_MODS); do \
		top=$$(basename $$m .sv); \
		echo "lint $$top"; \
		$(VERILATOR) --lint-only -Wall $(RTL_WAIVERS) $(RTL_SRCS) --top-module $$top; \
	done
	@echo "rtl-lint: clean"

$(RTL_OUT)/ref/%.o: lib/ref/%.c lib/ref/quant.h lib/ref/ref.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -Ilib/include -Ilib -c $< -o $@

# $(1) = test name, $(2) = testbench source name, $(3) = module (npu_$(3)).
# The model is rebuilt when any RTL or testbench changes.
define RTL_TB_RULE
$(RTL_OUT)/$(1)/$(1)_tb: $(RTL_SRCS) $(RTL_DIR)/tb/$(2)_tb.cc $(wildcard $(RTL_DIR)/tb/*.h) tests/common/test_env.h \
		driver/npu_regs.h driver/npu_desc.h $(RTL_TB_OBJS_$(1))
	@mkdir -p $$(@D)
	$(VERILATOR) --cc --exe --build -j 1 $(RTL_VFLAGS) $(RTL_TB_FLAGS_$(1)) \
		--top-module npu_$(3) --prefix Vnpu_$(3) --Mdir $(RTL_OUT)/$(1) -o $(1)_tb \
		-CFLAGS "$(RTL_TB_CFLAGS) $(RTL_TB_DEFS_$(1))" \
		$(if $(RTL_TB_OBJS_$(1)),-LDFLAGS "$(abspath $(RTL_TB_OBJS_$(1)))") \
		$(RTL_WAIVERS) $(RTL_SRCS) $(abspath $(RTL_DIR)/tb/$(2)_tb.cc) \
		>$(RTL_OUT)/$(1)/build.log 2>&1 || { tail -40 $(RTL_OUT)/$(1)/build.log; exit 1; }

rtl-test-$(1): $(RTL_OUT)/$(1)/$(1)_tb
	$(RTL_OUT)/$(1)/$(1)_tb
endef
$(foreach t,$(RTL_TBS),$(eval $(call RTL_TB_RULE,$(t),$(or $(RTL_TB_SRC_$(t)),$(t)),$(or $(RTL_TB_TOP_$(t)),$(t)))))

# Run every testbench even if one fails, then fail if any did.
rtl-test: $(foreach t,$(RTL_TBS),$(RTL_OUT)/$(t)/$(t)_tb)
	@fail=0; for t in $(RTL_TBS); do \
		$(RTL_OUT)/$$t/$${t}_tb || fail=1; \
	done; exit $$fail

# Netlist tests: the same testbenches on yosys's own synthesized netlist
# (generic gates, `synth -flatten`), which proves yosys reads the RTL the
# way Verilator does. Slower to build (about a minute each); not part of
# rtl-test. RTL_GL_PARAMS_NAME: yosys chparam arguments of the variant.
RTL_GL_TESTS := requant csr dma_window dw_small pw_small
RTL_GL_PARAMS_requant := -set TagWidth 32
RTL_GL_PARAMS_dw_small := -set Lanes 4
RTL_GL_PARAMS_pw_small := -set Rows 4 -set Cols 4

define RTL_GL_RULE
$(RTL_OUT)/gl/$(1)/netlist.v: $(RTL_SRCS)
	@mkdir -p $$(@D)
	$(YOSYS) -q -w "Replacing memory" -l $(RTL_OUT)/gl/$(1)/yosys.log -p "read_verilog -sv $(RTL_SRCS); \
		$(if $(RTL_GL_PARAMS_$(1)),chparam $(RTL_GL_PARAMS_$(1)) npu_$(3);) \
		synth -flatten -top npu_$(3); write_verilog -noattr $$@" >/dev/null

$(RTL_OUT)/gl/$(1)/$(1)_gl: $(RTL_OUT)/gl/$(1)/netlist.v $(RTL_DIR)/tb/$(2)_tb.cc \
		$(wildcard $(RTL_DIR)/tb/*.h) tests/common/test_env.h driver/npu_regs.h driver/npu_desc.h \
		$(RTL_TB_OBJS_$(1))
	$(VERILATOR) --cc --exe --build -j 1 -Wno-fatal -Wno-lint -Wno-style \
		--top-module npu_$(3) --prefix Vnpu_$(3) --Mdir $(RTL_OUT)/gl/$(1) -o $(1)_gl \
		-CFLAGS "$(RTL_TB_CFLAGS) $(RTL_TB_DEFS_$(1))" \
		$(if $(RTL_TB_OBJS_$(1)),-LDFLAGS "$(abspath $(RTL_TB_OBJS_$(1)))") \
		$(abspath $(RTL_OUT)/gl/$(1)/netlist.v) $(abspath $(RTL_DIR)/tb/$(2)_tb.cc) \
		>$(RTL_OUT)/gl/$(1)/build.log 2>&1 || { tail -40 $(RTL_OUT)/gl/$(1)/build.log; exit 1; }
endef
$(foreach t,$(RTL_GL_TESTS),$(eval $(call RTL_GL_RULE,$(t),$(or $(RTL_TB_SRC_$(t)),$(t)),$(or $(RTL_TB_TOP_$(t)),$(t)))))

rtl-test-netlist: $(foreach t,$(RTL_GL_TESTS),$(RTL_OUT)/gl/$(t)/$(t)_gl)
	@fail=0; for t in $(RTL_GL_TESTS); do \
		NPU_TB_N=$${NPU_TB_N:-20000} $(RTL_OUT)/gl/$$t/$${t}_gl || fail=1; \
	done; exit $$fail

# Synthesis. yosys reads RTL_SRCS, the one file list (packages first), and
# then runs a script that holds only the flow: rtl-sim/synth/synth.ys
# synthesizes each block on its own, synth_top.ys the whole npu_top at its
# default parameters (the long one). The logs are the targets, written
# under a temporary name until yosys succeeds, so a second `make
# rtl-synth` with unchanged RTL only prints the report again.
# $(1) = log, $(2) = script.
define RTL_SYNTH_RULE
$(1): $(RTL_SRCS) $(2)
	@mkdir -p $$(@D)
	$(YOSYS) -q -w "Replacing memory" -w "Resizing cell port" -l $$@.tmp \
		-p "read_verilog -sv $(RTL_SRCS); script $(2)"
	@mv $$@.tmp $$@
endef
$(eval $(call RTL_SYNTH_RULE,$(RTL_OUT)/synth.log,$(RTL_DIR)/synth/synth.ys))
$(eval $(call RTL_SYNTH_RULE,$(RTL_OUT)/synth_top.log,$(RTL_DIR)/synth/synth_top.ys))

# Per-block rows, then the whole device against the XC7Z020.
rtl-synth: $(RTL_OUT)/synth.log $(RTL_OUT)/synth_top.log
	@$(PYTHON) $(RTL_DIR)/scripts/synth_report.py --device npu_top $^

rtl-synth-top: $(RTL_OUT)/synth_top.log
	@$(PYTHON) $(RTL_DIR)/scripts/synth_report.py --device npu_top $^

rtl-clean:
	rm -rf $(RTL_OUT)

