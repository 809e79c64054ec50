// lwnpu control/status registers (docs/HARDWARE.md §5, map in
// rtl-sim/regs/npu_regs.def).
//
// Register bus: a request is accepted every cycle (no back-pressure); the
// response (read data, or the write acknowledge) comes one cycle later
// with reg_rvalid_o. reg_err_o flags an unmapped or misaligned address;
// such a write changes nothing. Writes to read-only registers are ignored.
//
// What this block owns beyond storage:
//   - RING_HEAD advances on retire_i; a doorbell with a bad ring
//     configuration is refused with ERR_RING_CONFIG.
//   - The first error (engine error, watchdog, ring configuration) is
//     latched with its address and ring index and halts the device until
//     CTRL.SOFT_RESET; later errors are dropped so the first cause stays.
//   - The watchdog counts busy cycles since the last retirement.
//   - IRQ_STATUS sets on events and clears on IRQ_ACK (a same-cycle event
//     wins, so no event is lost); irq_o = |(IRQ_STATUS & IRQ_MASK),
//     registered.
//   - 64-bit performance counters. Reading a counter's LO half latches its
//     HI half, which any PERF_*_HI read then returns: read LO, then HI.
//
// CTRL.SOFT_RESET gives a one-cycle soft_reset_o pulse (the cycle after the
// write); the registers marked "clr" in the map return to their reset
// values. Ring base/size, windows, IRQ mask, watchdog budget and counters
// are kept.
module npu_csr #(
  parameter int unsigned PwRows     = 16,
  parameter int unsigned PwCols     = 16,
  parameter int unsigned DwLanes    = 16,
  parameter int unsigned PpuLanes   = 4,
  parameter int unsigned EpiLanes   = 8,
  parameter int unsigned DmaOutstanding = 32,  // power of two, 2 .. 2^15
  parameter int unsigned ActKb      = 128,
  parameter int unsigned WgtKb      = 128,
  parameter int unsigned AccKb      = 64,
  parameter int unsigned ParamKb    = 8,
  parameter int unsigned DmaBytes   = 8,
  parameter int unsigned AddrBits   = 32,
  parameter int unsigned NumWindows = 4,       // 1 .. NPU_HW_MAX_WINDOWS
  parameter logic [8:0]  EngineMask = 9'h190   // CAPS_ENGINES of this build
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,

  // Register bus (32-bit, byte addresses in the 4 KiB window).
  input  logic                      reg_req_i,
  input  logic                      reg_we_i,
  input  logic [11:0]               reg_addr_i,
  input  logic [31:0]               reg_wdata_i,
  output logic                      reg_rvalid_o,
  output logic [31:0]               reg_rdata_o,
  output logic                      reg_err_o,

  // Command processor.
  output logic                      enable_o,
  output logic                      halted_o,
  output logic                      soft_reset_o,   // one-cycle pulse
  output logic                      doorbell_o,     // one-cycle pulse, ring config valid
  output logic [63:0]               ring_base_o,
  output logic [16:0]               ring_size_o,
  output logic [15:0]               ring_head_o,
  output logic [15:0]               ring_tail_o,
  input  logic                      retire_i,       // one descriptor retired
  input  logic                      retire_irq_i,   // ... and it had FLAG_IRQ

  // Errors from the engines (the first one is latched).
  input  logic                      err_valid_i,
  input  logic [7:0]                err_code_i,
  input  logic [63:0]               err_addr_i,
  input  logic [15:0]               err_index_i,

  // DMA windows, window i at bits [i*W +: W].
  output logic [NumWindows*64-1:0]  win_base_o,
  output logic [NumWindows*32-1:0]  win_size_o,
  output logic [NumWindows-1:0]     win_rd_o,
  output logic [NumWindows-1:0]     win_wr_o,

  // Activity, for STATUS and the performance counters.
  input  logic [5:0]                busy_i,         // {CP, STORE, PPU, DW, PW, LOAD}
  input  logic [7:0]                rd_bytes_i,     // bytes read from memory this cycle
  input  logic [7:0]                wr_bytes_i,     // bytes written this cycle
  input  logic                      stall_dep_i,
  input  logic                      stall_mem_i,

  output logic                      irq_o
);

  // Package names are used fully qualified (npu_regs_pkg::X): yosys 0.23
  // parses neither header nor body imports.

  // ---- constant registers --------------------------------------------
  localparam logic [31:0] VersionVal = {8'd0,
                                        npu_regs_pkg::NPU_HW_DESC_VERSION[7:0],
                                        npu_regs_pkg::NPU_HW_VERSION_MAJOR[7:0],
                                        npu_regs_pkg::NPU_HW_VERSION_MINOR[7:0]};
  localparam logic [31:0] Caps0Val = {PpuLanes[7:0], DwLanes[7:0], PwCols[7:0], PwRows[7:0]};
  localparam logic [31:0] Caps1Val = {WgtKb[15:0], ActKb[15:0]};
  localparam logic [31:0] Caps2Val = {ParamKb[15:0], AccKb[15:0]};
  localparam int unsigned OutstLog2 = $clog2(DmaOutstanding);
  localparam logic [31:0] Caps3Val = {EpiLanes[7:0], AddrBits[7:0], OutstLog2[3:0],
                                      NumWindows[3:0], DmaBytes[7:0]};

  // Performance counter indices, in register order from PERF_CYCLES_LO.
  localparam int unsigned NumPerf = 11;
  localparam int unsigned PerfCycles  = 0;
  localparam int unsigned PerfBusy    = 1;
  localparam int unsigned PerfLoad    = 2;  // .. PerfStore = 6, busy_i[0..4]
  localparam int unsigned PerfRdBytes = 7;
  localparam int unsigned PerfWrBytes = 8;
  localparam int unsigned PerfStallDep = 9;
  localparam int unsigned PerfStallMem = 10;

  // ---- state -------------------------------------------------------------
  logic        enable_d, enable_q;
  logic        sreset_d, sreset_q;
  logic        pclear_d;
  logic        doorbell_d, doorbell_q;
  logic [63:0] ring_base_d, ring_base_q;
  logic [16:0] ring_size_d, ring_size_q;
  logic [15:0] head_d, head_q;
  logic [15:0] tail_d, tail_q;
  logic [1:0]  irq_status_d, irq_status_q;
  logic [1:0]  irq_mask_d, irq_mask_q;
  logic        irq_d, irq_q;
  logic        halted_d, halted_q;
  logic [7:0]  err_code_d, err_code_q;
  logic [63:0] err_addr_d, err_addr_q;
  logic [15:0] err_index_d, err_index_q;
  logic [31:0] wdog_budget_d, wdog_budget_q;
  logic [31:0] wdog_count_d, wdog_count_q;
  logic [63:0] win_base_d [NumWindows];
  logic [63:0] win_base_q [NumWindows];
  logic [31:0] win_size_d [NumWindows];
  logic [31:0] win_size_q [NumWindows];
  logic [1:0]  win_ctrl_d [NumWindows];
  logic [1:0]  win_ctrl_q [NumWindows];
  logic [63:0] perf_d [NumPerf];
  logic [63:0] perf_q [NumPerf];
  logic [31:0] perf_hi_d, perf_hi_q;
  logic        rvalid_d, rvalid_q;
  logic [31:0] rdata_d, rdata_q;
  logic        rerr_d, rerr_q;

  // ---- address decode ------------------------------------------------------
  logic        wr, rd;
  logic        in_win, in_perf;
  localparam int unsigned WinIdxBits = (NumWindows > 1) ? $clog2(NumWindows) : 1;
  logic [2:0]  win_idx;
  logic [WinIdxBits-1:0] win_sel;  // win_idx, used only when < NumWindows
  logic [1:0]  win_sub;
  logic [3:0]  perf_idx;
  logic        perf_hi_sel;
  logic [11:0] perf_off;

  assign wr       = reg_req_i & reg_we_i & (reg_addr_i[1:0] == 2'b00);
  assign rd       = reg_req_i & ~reg_we_i & (reg_addr_i[1:0] == 2'b00);
  // The window block (8 slots of 16 bytes at 0x100) is 128-byte aligned,
  // so the slot is address bits 6:4.
  localparam logic [11:0] WinFirst  = npu_regs_pkg::NPU_REG_WIN_BASE_LO;
  localparam logic [11:0] WinEnd    = WinFirst + 12'(npu_regs_pkg::NPU_HW_MAX_WINDOWS * 16);
  localparam logic [11:0] PerfFirst = npu_regs_pkg::NPU_REG_PERF_CYCLES_LO;

  assign in_win   = (reg_addr_i >= WinFirst) && (reg_addr_i < WinEnd);
  assign win_idx  = reg_addr_i[6:4];
  assign win_sub  = reg_addr_i[3:2];
  assign win_sel  = WinIdxBits'(win_idx);
  assign perf_off = reg_addr_i - PerfFirst;
  assign in_perf  = (reg_addr_i >= PerfFirst) && (perf_off < 12'(NumPerf * 8));
  assign perf_idx = perf_off[6:3];
  assign perf_hi_sel = perf_off[2];

  // ---- derived status --------------------------------------------------------
  logic pending, busy, ring_ok, wdog_fire, bad_doorbell;

  assign pending = (head_q != tail_q);
  assign busy    = (enable_q & pending & ~halted_q) | (|busy_i);
  // Power of two, and the tail inside the ring.
  assign ring_ok = (ring_size_q != 17'd0) && ((ring_size_q & (ring_size_q - 17'd1)) == 17'd0) &&
                   ({1'b0, tail_q} < ring_size_q);
  assign wdog_fire = (wdog_budget_q != 32'd0) && (wdog_count_q >= wdog_budget_q) && !halted_q;

  // ---- read mux ------------------------------------------------------------
  always_comb begin
    rdata_d   = 32'd0;
    rerr_d    = 1'b0;
    perf_hi_d = perf_hi_q;
    if (reg_addr_i[1:0] != 2'b00) begin
      rerr_d = 1'b1;
    end else if (in_win) begin
      if (32'(win_idx) < NumWindows) begin
        unique case (win_sub)
          2'd0:    rdata_d = win_base_q[win_sel][31:0];
          2'd1:    rdata_d = win_base_q[win_sel][63:32];
          2'd2:    rdata_d = win_size_q[win_sel];
          default: rdata_d = {30'd0, win_ctrl_q[win_sel]};
        endcase
      end
    end else if (in_perf) begin
      if (perf_hi_sel) begin
        rdata_d = perf_hi_q;
      end else begin
        rdata_d = perf_q[perf_idx][31:0];
        if (rd) begin
          perf_hi_d = perf_q[perf_idx][63:32];
        end
      end
    end else begin
      unique case (reg_addr_i)
        npu_regs_pkg::NPU_REG_ID:           rdata_d = npu_regs_pkg::NPU_HW_ID_MAGIC;
        npu_regs_pkg::NPU_REG_VERSION:      rdata_d = VersionVal;
        npu_regs_pkg::NPU_REG_CAPS0:        rdata_d = Caps0Val;
        npu_regs_pkg::NPU_REG_CAPS1:        rdata_d = Caps1Val;
        npu_regs_pkg::NPU_REG_CAPS2:        rdata_d = Caps2Val;
        npu_regs_pkg::NPU_REG_CAPS3:        rdata_d = Caps3Val;
        npu_regs_pkg::NPU_REG_CAPS_ENGINES: rdata_d = {23'd0, EngineMask};
        npu_regs_pkg::NPU_REG_CTRL:         rdata_d = {31'd0, enable_q};
        npu_regs_pkg::NPU_REG_STATUS:       rdata_d = {18'd0, busy_i, 6'd0, halted_q, busy};
        npu_regs_pkg::NPU_REG_RING_BASE_LO: rdata_d = {ring_base_q[31:6], 6'd0};
        npu_regs_pkg::NPU_REG_RING_BASE_HI: rdata_d = ring_base_q[63:32];
        npu_regs_pkg::NPU_REG_RING_SIZE:    rdata_d = {15'd0, ring_size_q};
        npu_regs_pkg::NPU_REG_RING_HEAD:    rdata_d = {16'd0, head_q};
        npu_regs_pkg::NPU_REG_RING_TAIL:    rdata_d = {16'd0, tail_q};
        npu_regs_pkg::NPU_REG_DOORBELL:     rdata_d = 32'd0;
        npu_regs_pkg::NPU_REG_IRQ_STATUS:   rdata_d = {30'd0, irq_status_q};
        npu_regs_pkg::NPU_REG_IRQ_MASK:     rdata_d = {30'd0, irq_mask_q};
        npu_regs_pkg::NPU_REG_IRQ_ACK:      rdata_d = 32'd0;
        npu_regs_pkg::NPU_REG_ERR_CODE:     rdata_d = {24'd0, err_code_q};
        npu_regs_pkg::NPU_REG_ERR_ADDR_LO:  rdata_d = err_addr_q[31:0];
        npu_regs_pkg::NPU_REG_ERR_ADDR_HI:  rdata_d = err_addr_q[63:32];
        npu_regs_pkg::NPU_REG_ERR_INDEX:    rdata_d = {16'd0, err_index_q};
        npu_regs_pkg::NPU_REG_WDOG_BUDGET:  rdata_d = wdog_budget_q;
        npu_regs_pkg::NPU_REG_WDOG_COUNT:   rdata_d = wdog_count_q;
        default:              rerr_d = 1'b1;
      endcase
    end
    rvalid_d = reg_req_i;
  end

  // ---- register writes and hardware updates -----------------------------------
  always_comb begin
    enable_d      = enable_q;
    sreset_d      = 1'b0;
    pclear_d      = 1'b0;
    doorbell_d    = 1'b0;
    bad_doorbell  = 1'b0;
    ring_base_d   = ring_base_q;
    ring_size_d   = ring_size_q;
    head_d        = head_q;
    tail_d        = tail_q;
    irq_status_d  = irq_status_q;
    irq_mask_d    = irq_mask_q;
    halted_d      = halted_q;
    err_code_d    = err_code_q;
    err_addr_d    = err_addr_q;
    err_index_d   = err_index_q;
    wdog_budget_d = wdog_budget_q;
    wdog_count_d  = wdog_count_q;
    // Element by element: yosys 0.23 rejects whole-array assignments.
    for (int unsigned i = 0; i < NumWindows; i++) begin
      win_base_d[i] = win_base_q[i];
      win_size_d[i] = win_size_q[i];
      win_ctrl_d[i] = win_ctrl_q[i];
    end

    // Host writes.
    if (wr && in_win) begin
      if (32'(win_idx) < NumWindows) begin
        unique case (win_sub)
          2'd0:    win_base_d[win_sel][31:0]  = reg_wdata_i;
          2'd1:    win_base_d[win_sel][63:32] = reg_wdata_i;
          2'd2:    win_size_d[win_sel]        = reg_wdata_i;
          default: win_ctrl_d[win_sel]        = reg_wdata_i[1:0];
        endcase
      end
    end else if (wr && !in_perf) begin
      unique case (reg_addr_i)
        npu_regs_pkg::NPU_REG_CTRL: begin
          enable_d = reg_wdata_i[npu_regs_pkg::NPU_REG_CTRL_ENABLE_SHIFT];
          sreset_d = reg_wdata_i[npu_regs_pkg::NPU_REG_CTRL_SOFT_RESET_SHIFT];
          pclear_d = reg_wdata_i[npu_regs_pkg::NPU_REG_CTRL_PERF_CLEAR_SHIFT];
        end
        npu_regs_pkg::NPU_REG_RING_BASE_LO: ring_base_d[31:0]  = {reg_wdata_i[31:6], 6'd0};
        npu_regs_pkg::NPU_REG_RING_BASE_HI: ring_base_d[63:32] = reg_wdata_i;
        npu_regs_pkg::NPU_REG_RING_SIZE:    ring_size_d        = reg_wdata_i[16:0];
        npu_regs_pkg::NPU_REG_RING_TAIL:    tail_d             = reg_wdata_i[15:0];
        npu_regs_pkg::NPU_REG_DOORBELL: begin
          // Checked against the registers as they were before this write.
          if (ring_ok) begin
            doorbell_d = ~halted_q;
          end else begin
            bad_doorbell = 1'b1;
          end
        end
        npu_regs_pkg::NPU_REG_IRQ_MASK:     irq_mask_d    = reg_wdata_i[1:0];
        npu_regs_pkg::NPU_REG_IRQ_ACK:      irq_status_d  = irq_status_q & ~reg_wdata_i[1:0];
        npu_regs_pkg::NPU_REG_WDOG_BUDGET:  wdog_budget_d = reg_wdata_i;
        default: ;  // read-only or unmapped: ignored
      endcase
    end

    // Retirement moves the head and feeds the watchdog.
    if (retire_i) begin
      head_d = (head_q + 16'd1) & 16'(ring_size_q - 17'd1);
      if (retire_irq_i) begin
        irq_status_d[npu_regs_pkg::NPU_REG_IRQ_STATUS_DONE_SHIFT] = 1'b1;
      end
    end
    if (retire_i || !busy || halted_q || wdog_budget_q == 32'd0) begin
      wdog_count_d = 32'd0;
    end else if (!wdog_fire) begin
      wdog_count_d = wdog_count_q + 32'd1;
    end

    // The first error wins; the device halts until soft reset.
    if (!halted_q && (err_valid_i || wdog_fire || bad_doorbell)) begin
      halted_d = 1'b1;
      irq_status_d[npu_regs_pkg::NPU_REG_IRQ_STATUS_ERROR_SHIFT] = 1'b1;
      if (err_valid_i) begin
        err_code_d  = err_code_i;
        err_addr_d  = err_addr_i;
        err_index_d = err_index_i;
      end else if (wdog_fire) begin
        err_code_d  = npu_regs_pkg::NPU_HW_ERR_WATCHDOG;
        err_addr_d  = 64'd0;
        err_index_d = head_q;
      end else begin
        err_code_d  = npu_regs_pkg::NPU_HW_ERR_RING_CONFIG;
        err_addr_d  = ring_base_q;
        err_index_d = tail_q;
      end
    end

    // Soft reset returns the "clr" registers to their reset values: on the
    // edge of the CTRL write (so the next read sees them) and again during
    // the soft_reset_o cycle (so a late event from an engine being reset
    // cannot leave a retirement or an error behind).
    if (sreset_d || sreset_q) begin
      enable_d     = 1'b0;
      head_d       = 16'd0;
      tail_d       = 16'd0;
      irq_status_d = 2'd0;
      halted_d     = 1'b0;
      err_code_d   = npu_regs_pkg::NPU_HW_ERR_NONE;
      err_addr_d   = 64'd0;
      err_index_d  = 16'd0;
      wdog_count_d = 32'd0;
      doorbell_d   = 1'b0;
    end

    irq_d = |(irq_status_d & irq_mask_d);
  end

  // ---- performance counters ----------------------------------------------------
  always_comb begin
    for (int unsigned i = 0; i < NumPerf; i++) begin
      perf_d[i] = perf_q[i];
    end
    if (pclear_d) begin  // on the edge of the CTRL write
      for (int unsigned i = 0; i < NumPerf; i++) begin
        perf_d[i] = 64'd0;
      end
    end else begin
      perf_d[PerfCycles] = perf_q[PerfCycles] + 64'd1;
      perf_d[PerfBusy]   = perf_q[PerfBusy] + 64'(busy);
      for (int unsigned i = 0; i < 5; i++) begin
        perf_d[PerfLoad + i] = perf_q[PerfLoad + i] + 64'(busy_i[i]);
      end
      perf_d[PerfRdBytes]  = perf_q[PerfRdBytes] + 64'(rd_bytes_i);
      perf_d[PerfWrBytes]  = perf_q[PerfWrBytes] + 64'(wr_bytes_i);
      perf_d[PerfStallDep] = perf_q[PerfStallDep] + 64'(stall_dep_i);
      perf_d[PerfStallMem] = perf_q[PerfStallMem] + 64'(stall_mem_i);
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      enable_q      <= 1'b0;
      sreset_q      <= 1'b0;
      doorbell_q    <= 1'b0;
      ring_base_q   <= 64'd0;
      ring_size_q   <= 17'd0;
      head_q        <= 16'd0;
      tail_q        <= 16'd0;
      irq_status_q  <= 2'd0;
      irq_mask_q    <= 2'd0;
      irq_q         <= 1'b0;
      halted_q      <= 1'b0;
      err_code_q    <= npu_regs_pkg::NPU_HW_ERR_NONE;
      err_addr_q    <= 64'd0;
      err_index_q   <= 16'd0;
      wdog_budget_q <= 32'd0;
      wdog_count_q  <= 32'd0;
      for (int unsigned i = 0; i < NumWindows; i++) begin
        win_base_q[i] <= 64'd0;
        win_size_q[i] <= 32'd0;
        win_ctrl_q[i] <= 2'd0;
      end
      for (int unsigned i = 0; i < NumPerf; i++) begin
        perf_q[i] <= 64'd0;
      end
      perf_hi_q     <= 32'd0;
      rvalid_q      <= 1'b0;
      rdata_q       <= 32'd0;
      rerr_q        <= 1'b0;
    end else begin
      enable_q      <= enable_d;
      sreset_q      <= sreset_d;
      doorbell_q    <= doorbell_d;
      ring_base_q   <= ring_base_d;
      ring_size_q   <= ring_size_d;
      head_q        <= head_d;
      tail_q        <= tail_d;
      irq_status_q  <= irq_status_d;
      irq_mask_q    <= irq_mask_d;
      irq_q         <= irq_d;
      halted_q      <= halted_d;
      err_code_q    <= err_code_d;
      err_addr_q    <= err_addr_d;
      err_index_q   <= err_index_d;
      wdog_budget_q <= wdog_budget_d;
      wdog_count_q  <= wdog_count_d;
      for (int unsigned i = 0; i < NumWindows; i++) begin
        win_base_q[i] <= win_base_d[i];
        win_size_q[i] <= win_size_d[i];
        win_ctrl_q[i] <= win_ctrl_d[i];
      end
      for (int unsigned i = 0; i < NumPerf; i++) begin
        perf_q[i] <= perf_d[i];
      end
      perf_hi_q     <= perf_hi_d;
      rvalid_q      <= rvalid_d;
      rdata_q       <= rdata_d;
      rerr_q        <= rerr_d;
    end
  end

  // ---- outputs -------------------------------------------------------------------
  assign reg_rvalid_o = rvalid_q;
  assign reg_rdata_o  = rdata_q;
  assign reg_err_o    = rerr_q;
  assign enable_o     = enable_q;
  assign halted_o     = halted_q;
  assign soft_reset_o = sreset_q;
  assign doorbell_o   = doorbell_q;
  assign ring_base_o  = ring_base_q;
  assign ring_size_o  = ring_size_q;
  assign ring_head_o  = head_q;
  assign ring_tail_o  = tail_q;
  assign irq_o        = irq_q;

  for (genvar i = 0; i < NumWindows; i++) begin : g_win
    assign win_base_o[i*64 +: 64] = win_base_q[i];
    assign win_size_o[i*32 +: 32] = win_size_q[i];
    assign win_rd_o[i] = win_ctrl_q[i][npu_regs_pkg::NPU_REG_WIN_CTRL_READ_SHIFT];
    assign win_wr_o[i] = win_ctrl_q[i][npu_regs_pkg::NPU_REG_WIN_CTRL_WRITE_SHIFT];
  end

endmodule
