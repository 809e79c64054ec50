// lwnpu compute block (docs/HARDWARE.md §1, §4): the compute queue's
// sequencer and engines, cut out of npu_top so that the top is wiring.
//
// Inside: the descriptor field slicing for the engines, the sequencer FSM
// (PW with its group loop, DW, PPU; the drain of the conv epilogue), the
// per-descriptor set-up products (wstep, epi_n, pl_irs, pl_ors), npu_dw,
// npu_pw, npu_epilogue, npu_ppu, the port-a muxes of the four SRAMs (one
// engine at a time) and the SRAM-range checks of every engine access.
//
// Ports (flat, Verilator 5.006 / yosys 0.23):
//   start_i/desc_i/done_o  the compute queue of npu_cmdproc: start_i pulses
//                          with a validated descriptor, held in desc_i until
//                          done_o (one cycle) retires it
//   clear_i                CTRL.SOFT_RESET: the sequencer to idle, the
//                          engines and the epilogue reset
//   hold_i                 dbg_engine_hold_i of npu_top (docs/HARDWARE.md §14)
//   act_*, wgt_*, acc_*, param_*
//                          port a of each npu_sram (word addresses, a request
//                          already dropped when out of range); read data one
//                          cycle after the request
//   epi_act_*, epi_param_* the conv epilogue's ACT write and PARAM read on
//                          port b (npu_sram_ports arbitrates: *_gnt_i; the
//                          PARAM data comes on epi_param_rdata_i a cycle after
//                          the grant); epi_drop_o: an epilogue access is out of
//                          range, its ACT write must be dropped
//   err_o/err_addr_o       ERR_SRAM_RANGE and the offending word address
//   busy_o                 {PPU, DW, PW}; the epilogue's drain counts for the
//                          engine whose descriptor it finishes
//
// Depths are SRAM words (npu_top derives them from the KiB sizes); the
// word widths follow the array: ACT PwCols bytes, WGT PwRows*PwCols, ACC
// PwRows*4, PARAM DwLanes*4.
module npu_compute #(
  parameter int unsigned PwRows     = 16,
  parameter int unsigned PwCols     = 16,
  parameter int unsigned DwLanes    = 16,
  parameter int unsigned PpuLanes   = 4,
  parameter int unsigned EpiLanes   = 8,
  parameter int unsigned ActDepth   = 8192,
  parameter int unsigned WgtDepth   = 512,
  parameter int unsigned AccDepth   = 1024,
  parameter int unsigned ParamDepth = 128
) (
  input  logic                            clk_i,
  input  logic                            rst_ni,
  input  logic                            clear_i,

  input  logic                            start_i,
  input  logic [511:0]                    desc_i,
  output logic                            done_o,
  input  logic [2:0]                      hold_i,

  output logic                            act_req_o,
  output logic                            act_we_o,
  output logic [$clog2(ActDepth)-1:0]     act_addr_o,
  output logic [PwCols-1:0]               act_be_o,
  output logic [PwCols*8-1:0]             act_wdata_o,
  input  logic [PwCols*8-1:0]             act_rdata_i,
  output logic                            wgt_req_o,
  output logic [$clog2(WgtDepth)-1:0]     wgt_addr_o,
  input  logic [PwRows*PwCols*8-1:0]      wgt_rdata_i,
  output logic                            acc_req_o,
  output logic                            acc_we_o,
  output logic [$clog2(AccDepth)-1:0]     acc_addr_o,
  output logic [PwRows*4-1:0]             acc_be_o,
  output logic [PwRows*32-1:0]            acc_wdata_o,
  input  logic [PwRows*32-1:0]            acc_rdata_i,
  output logic                            param_req_o,
  output logic [$clog2(ParamDepth)-1:0]   param_addr_o,
  input  logic [DwLanes*32-1:0]           param_rdata_i,

  output logic                            epi_act_we_o,
  output logic [$clog2(ActDepth)-1:0]     epi_act_addr_o,
  output logic [PwCols-1:0]               epi_act_be_o,
  output logic [PwCols*8-1:0]             epi_act_wdata_o,
  input  logic                            epi_act_gnt_i,
  output logic                            epi_param_req_o,
  output logic [$clog2(ParamDepth)-1:0]   epi_param_addr_o,
  input  logic                            epi_param_gnt_i,
  input  logic [DwLanes*32-1:0]           epi_param_rdata_i,
  output logic                            epi_drop_o,

  output logic                            err_o,
  output logic [15:0]                     err_addr_o,
  output logic [2:0]                      busy_o
);

  // ---- geometry ----------------------------------------------------------------
  localparam int unsigned AW         = 16;                 // engine word addresses
  localparam int unsigned ActWordB   = PwCols;
  localparam int unsigned WgtRowB    = PwRows * PwCols;
  localparam int unsigned ActAw      = $clog2(ActDepth);
  localparam int unsigned WgtAw      = $clog2(WgtDepth);
  localparam int unsigned AccAw      = $clog2(AccDepth);
  localparam int unsigned ParamAw    = $clog2(ParamDepth);
  localparam int unsigned DwSlices   = WgtRowB / DwLanes;  // DW words per WGT row
  localparam int unsigned SliceBits  = $clog2(DwSlices);
  localparam int unsigned ActWBits   = $clog2(ActWordB);
  localparam int unsigned WgtRBits   = $clog2(WgtRowB);
  localparam int unsigned DwWBits    = $clog2(DwLanes);
  localparam int unsigned DwWgtWords = WgtDepth * DwSlices;

  // Engines take the soft reset as a reset (a registered pulse, glitch-free).
  logic eng_rst_n;
  assign eng_rst_n = rst_ni & ~clear_i;

  // ---- sequencer: PW (group loop), DW, PPU; conv epilogue -----------------------------
  // cw: the compute descriptor (a CONV, REQUANT, ADD or POOL layout).
  logic [511:0] cw;
  assign cw = desc_i;

  typedef enum logic [2:0] {
    CIdle,
    CDw,
    CPwStart,
    CPwRun,
    CPpu,
    CEpiDrain,   // engine done, epilogue words still in flight
    CDone
  } cstate_e;

  localparam logic [15:0] FAcc = 16'(npu_regs_pkg::NPU_HW_FLAG_ACCUMULATE);
  localparam logic [15:0] FEpi = 16'(npu_regs_pkg::NPU_HW_FLAG_EPILOGUE);

  cstate_e     cs_d, cs_q;
  logic        dw_start, pw_start, ppu_start, dw_busy, pw_busy, ppu_busy;
  logic        dw_done, pw_done, ppu_done, epi_busy;
  logic        dw_done_s, pw_done_s, ppu_done_s;   // as the sequencer sees them
  logic        c_dw, c_ppu, c_epi, c_acc;
  logic [15:0] grp_d, grp_q;
  logic [AW-1:0] pw_in_d, pw_in_q, pw_w_d, pw_w_q, pw_bias_d, pw_bias_q, pw_out_d, pw_out_q;
  logic [AW-1:0] egrp_d, egrp_q;   // epilogue channel group of PW group grp_q's ocg 0
  logic [AW-1:0] icgs, ocgs, dwgs, out_base, out_rs, out_ps;
  logic [31:0]   wstep;    // WGT rows per group: ocgs * kh * kw * icgs
  logic [31:0]   epi_n;    // channel groups of the descriptor (PARAM table)

  assign pw_done_s  = pw_done && !hold_i[0];
  assign dw_done_s  = dw_done && !hold_i[1];
  assign ppu_done_s = ppu_done && !hold_i[2];

  logic [7:0]  c_op;
  logic [15:0] c_flags;
  logic [31:0] cv_in, cv_wgt, cv_out, cv_param, cv_irs, cv_ips, cv_ors, cv_ops;
  logic [15:0] cv_in_c, cv_out_c, cv_groups;
  assign c_op      = cw[npu_regs_pkg::NPU_DESC_HDR_OPCODE_BIT +: npu_regs_pkg::NPU_DESC_HDR_OPCODE_WIDTH];
  assign c_flags   = cw[npu_regs_pkg::NPU_DESC_HDR_FLAGS_BIT +: npu_regs_pkg::NPU_DESC_HDR_FLAGS_WIDTH];
  assign cv_in     = cw[npu_regs_pkg::NPU_DESC_CONV_IN_ADDR_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_ADDR_WIDTH];
  assign cv_wgt    = cw[npu_regs_pkg::NPU_DESC_CONV_WGT_ADDR_BIT +: npu_regs_pkg::NPU_DESC_CONV_WGT_ADDR_WIDTH];
  assign cv_out    = cw[npu_regs_pkg::NPU_DESC_CONV_OUT_ADDR_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_ADDR_WIDTH];
  assign cv_param  = cw[npu_regs_pkg::NPU_DESC_CONV_PARAM_ENTRY_BIT +: npu_regs_pkg::NPU_DESC_CONV_PARAM_ENTRY_WIDTH];
  assign cv_irs    = cw[npu_regs_pkg::NPU_DESC_CONV_IN_ROW_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_ROW_STRIDE_WIDTH];
  assign cv_ips    = cw[npu_regs_pkg::NPU_DESC_CONV_IN_PIX_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_PIX_STRIDE_WIDTH];
  assign cv_ors    = cw[npu_regs_pkg::NPU_DESC_CONV_OUT_ROW_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_ROW_STRIDE_WIDTH];
  assign cv_ops    = cw[npu_regs_pkg::NPU_DESC_CONV_OUT_PIX_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_PIX_STRIDE_WIDTH];
  assign cv_in_c   = cw[npu_regs_pkg::NPU_DESC_CONV_IN_C_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_C_WIDTH];
  assign cv_out_c  = cw[npu_regs_pkg::NPU_DESC_CONV_OUT_C_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_C_WIDTH];
  assign cv_groups = cw[npu_regs_pkg::NPU_DESC_CONV_GROUPS_BIT +: npu_regs_pkg::NPU_DESC_CONV_GROUPS_WIDTH];

  assign c_dw  = (c_op == 8'(npu_regs_pkg::NPU_HW_OP_DW_CONV));
  assign c_ppu = (c_op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_REQUANT)) ||
                 (c_op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_ADD)) ||
                 (c_op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_POOL));
  assign c_epi = (c_flags & FEpi) != 16'd0;
  assign c_acc = (c_flags & FAcc) != 16'd0;

  assign icgs  = AW'((cv_in_c + 16'(PwCols - 1)) >> $clog2(PwCols));
  assign ocgs  = AW'((cv_out_c + 16'(PwRows - 1)) >> $clog2(PwRows));
  assign dwgs  = AW'((cv_in_c + 16'(DwLanes - 1)) >> DwWBits);
  assign wstep = 32'(ocgs) * 32'(cw[npu_regs_pkg::NPU_DESC_CONV_KH_BIT +: npu_regs_pkg::NPU_DESC_CONV_KH_WIDTH]) * 32'(cw[npu_regs_pkg::NPU_DESC_CONV_KW_BIT +: npu_regs_pkg::NPU_DESC_CONV_KW_WIDTH]) * 32'(icgs);
  assign epi_n = c_dw ? 32'(dwgs) : 32'(ocgs) * 32'(cv_groups);
  // Output view: ACC words, or with EPILOGUE ACT words (an ACC word of
  // PwRows lanes is one ACT word of PwCols == PwRows bytes).
  assign out_base = c_epi ? AW'(cv_out >> ActWBits) : AW'(cv_out);
  assign out_rs   = c_epi ? AW'(cv_ors >> ActWBits) : AW'(cv_ors);
  assign out_ps   = c_epi ? AW'(cv_ops >> ActWBits) : AW'(cv_ops);

  always_comb begin
    cs_d      = cs_q;
    grp_d     = grp_q;
    pw_in_d   = pw_in_q;
    pw_w_d    = pw_w_q;
    pw_bias_d = pw_bias_q;
    pw_out_d  = pw_out_q;
    egrp_d    = egrp_q;
    dw_start  = 1'b0;
    pw_start  = 1'b0;
    ppu_start = 1'b0;
    done_o    = 1'b0;
    unique case (cs_q)
      CIdle: begin
        if (start_i) begin
          if (c_ppu) begin
            ppu_start = 1'b1;
            cs_d      = CPpu;
          end else if (c_dw) begin
            dw_start = 1'b1;
            cs_d     = CDw;
          end else begin
            grp_d     = 16'd0;
            pw_in_d   = AW'(cv_in >> ActWBits);
            pw_w_d    = AW'(cv_wgt >> WgtRBits);
            pw_bias_d = AW'(cv_param);
            pw_out_d  = out_base;
            egrp_d    = '0;
            cs_d      = CPwStart;
          end
        end
      end
      CDw: begin
        if (dw_done_s) begin
          cs_d = CEpiDrain;
        end
      end
      CPwStart: begin
        pw_start = 1'b1;
        cs_d     = CPwRun;
      end
      CPwRun: begin
        if (pw_done_s) begin
          if (grp_q == cv_groups - 16'd1) begin
            cs_d = CEpiDrain;
          end else begin
            // Next group: its channels start on the next word boundary.
            grp_d     = grp_q + 16'd1;
            pw_in_d   = pw_in_q + icgs;
            pw_w_d    = pw_w_q + AW'(wstep);
            pw_bias_d = pw_bias_q + ocgs;
            pw_out_d  = pw_out_q + ocgs;
            egrp_d    = egrp_q + ocgs;
            cs_d      = CPwStart;
          end
        end
      end
      CPpu: begin
        if (ppu_done_s) begin
          cs_d = CDone;
        end
      end
      CEpiDrain: begin
        if (!epi_busy) begin
          cs_d = CDone;
        end
      end
      CDone: begin
        done_o   = 1'b1;
        cs_d     = CIdle;
      end
      default: cs_d = CIdle;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cs_q      <= CIdle;
      grp_q     <= '0;
      pw_in_q   <= '0;
      pw_w_q    <= '0;
      pw_bias_q <= '0;
      pw_out_q  <= '0;
      egrp_q    <= '0;
    end else if (clear_i) begin
      cs_q      <= CIdle;
    end else begin
      cs_q      <= cs_d;
      grp_q     <= grp_d;
      pw_in_q   <= pw_in_d;
      pw_w_q    <= pw_w_d;
      pw_bias_q <= pw_bias_d;
      pw_out_q  <= pw_out_d;
      egrp_q    <= egrp_d;
    end
  end

  // ---- engines -------------------------------------------------------------------------
  logic                      dw_act_req, dw_wgt_req, dw_bias_req, dw_acc_we;
  logic [AW-1:0]             dw_act_addr, dw_wgt_addr, dw_bias_addr, dw_acc_addr;
  logic [DwLanes-1:0]        dw_acc_wmask;
  logic [DwLanes*32-1:0]     dw_acc_wdata;
  logic [15:0]               dw_acc_grp, pw_acc_grp;
  logic                      pw_act_req, pw_wgt_req, pw_bias_req, pw_acc_we, pw_acc_rd;
  logic [AW-1:0]             pw_act_addr, pw_wgt_addr, pw_bias_addr, pw_acc_addr, pw_acc_raddr;
  logic [PwRows-1:0]         pw_acc_wmask;
  logic [PwRows*32-1:0]      pw_acc_wdata;
  logic [DwLanes*8-1:0]      dw_wgt_rdata;
  logic                      eng_stall;

  npu_dw #(.Lanes(DwLanes), .AW(AW)) u_dw (
    .clk_i                (clk_i),
    .rst_ni               (eng_rst_n),
    .start_i              (dw_start),
    .stall_i              (eng_stall),
    .busy_o               (dw_busy),
    .done_o               (dw_done),
    .cfg_in_base_i        (AW'(cv_in >> ActWBits)),
    .cfg_w_base_i         (AW'(cv_wgt >> DwWBits)),
    .cfg_bias_base_i      (AW'(cv_param)),
    .cfg_out_base_i       (out_base),
    .cfg_in_h_i           (cw[npu_regs_pkg::NPU_DESC_CONV_IN_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_H_WIDTH]),
    .cfg_in_w_i           (cw[npu_regs_pkg::NPU_DESC_CONV_IN_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_W_WIDTH]),
    .cfg_channels_i       (cv_in_c),
    .cfg_out_h_i          (cw[npu_regs_pkg::NPU_DESC_CONV_OUT_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_H_WIDTH]),
    .cfg_out_w_i          (cw[npu_regs_pkg::NPU_DESC_CONV_OUT_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_W_WIDTH]),
    .cfg_kh_i             (cw[npu_regs_pkg::NPU_DESC_CONV_KH_BIT +: npu_regs_pkg::NPU_DESC_CONV_KH_WIDTH]),
    .cfg_kw_i             (cw[npu_regs_pkg::NPU_DESC_CONV_KW_BIT +: npu_regs_pkg::NPU_DESC_CONV_KW_WIDTH]),
    .cfg_stride_h_i       (cw[npu_regs_pkg::NPU_DESC_CONV_STRIDE_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_STRIDE_H_WIDTH]),
    .cfg_stride_w_i       (cw[npu_regs_pkg::NPU_DESC_CONV_STRIDE_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_STRIDE_W_WIDTH]),
    .cfg_pad_t_i          (cw[npu_regs_pkg::NPU_DESC_CONV_PAD_T_BIT +: npu_regs_pkg::NPU_DESC_CONV_PAD_T_WIDTH]),
    .cfg_pad_l_i          (cw[npu_regs_pkg::NPU_DESC_CONV_PAD_L_BIT +: npu_regs_pkg::NPU_DESC_CONV_PAD_L_WIDTH]),
    .cfg_in_zp_i          (cw[npu_regs_pkg::NPU_DESC_CONV_IN_ZP_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_ZP_WIDTH]),
    .cfg_in_row_stride_i  (AW'(cv_irs >> ActWBits)),
    .cfg_in_pix_stride_i  (AW'(cv_ips >> ActWBits)),
    .cfg_out_row_stride_i (out_rs),
    .cfg_out_pix_stride_i (out_ps),
    .act_req_o            (dw_act_req),
    .act_addr_o           (dw_act_addr),
    .act_rdata_i          (act_rdata_i),
    .wgt_req_o            (dw_wgt_req),
    .wgt_addr_o           (dw_wgt_addr),
    .wgt_rdata_i          (dw_wgt_rdata),
    .bias_req_o           (dw_bias_req),
    .bias_addr_o          (dw_bias_addr),
    .bias_rdata_i         (param_rdata_i),
    .acc_we_o             (dw_acc_we),
    .acc_addr_o           (dw_acc_addr),
    .acc_wmask_o          (dw_acc_wmask),
    .acc_wdata_o          (dw_acc_wdata),
    .acc_grp_o            (dw_acc_grp)
  );

  npu_pw #(.Rows(PwRows), .Cols(PwCols), .AW(AW)) u_pw (
    .clk_i                (clk_i),
    .rst_ni               (eng_rst_n),
    .start_i              (pw_start),
    .stall_i              (eng_stall),
    .busy_o               (pw_busy),
    .done_o               (pw_done),
    .cfg_in_base_i        (pw_in_q),
    .cfg_w_base_i         (pw_w_q),
    .cfg_bias_base_i      (pw_bias_q),
    .cfg_out_base_i       (pw_out_q),
    .cfg_in_h_i           (cw[npu_regs_pkg::NPU_DESC_CONV_IN_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_H_WIDTH]),
    .cfg_in_w_i           (cw[npu_regs_pkg::NPU_DESC_CONV_IN_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_W_WIDTH]),
    .cfg_in_c_i           (cv_in_c),
    .cfg_out_c_i          (cv_out_c),
    .cfg_out_h_i          (cw[npu_regs_pkg::NPU_DESC_CONV_OUT_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_H_WIDTH]),
    .cfg_out_w_i          (cw[npu_regs_pkg::NPU_DESC_CONV_OUT_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_W_WIDTH]),
    .cfg_kh_i             (cw[npu_regs_pkg::NPU_DESC_CONV_KH_BIT +: npu_regs_pkg::NPU_DESC_CONV_KH_WIDTH]),
    .cfg_kw_i             (cw[npu_regs_pkg::NPU_DESC_CONV_KW_BIT +: npu_regs_pkg::NPU_DESC_CONV_KW_WIDTH]),
    .cfg_stride_h_i       (cw[npu_regs_pkg::NPU_DESC_CONV_STRIDE_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_STRIDE_H_WIDTH]),
    .cfg_stride_w_i       (cw[npu_regs_pkg::NPU_DESC_CONV_STRIDE_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_STRIDE_W_WIDTH]),
    .cfg_pad_t_i          (cw[npu_regs_pkg::NPU_DESC_CONV_PAD_T_BIT +: npu_regs_pkg::NPU_DESC_CONV_PAD_T_WIDTH]),
    .cfg_pad_l_i          (cw[npu_regs_pkg::NPU_DESC_CONV_PAD_L_BIT +: npu_regs_pkg::NPU_DESC_CONV_PAD_L_WIDTH]),
    .cfg_in_zp_i          (cw[npu_regs_pkg::NPU_DESC_CONV_IN_ZP_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_ZP_WIDTH]),
    .cfg_in_row_stride_i  (AW'(cv_irs >> ActWBits)),
    .cfg_in_pix_stride_i  (AW'(cv_ips >> ActWBits)),
    .cfg_out_row_stride_i (out_rs),
    .cfg_out_pix_stride_i (out_ps),
    .cfg_accumulate_i     (c_acc),
    .act_req_o            (pw_act_req),
    .act_addr_o           (pw_act_addr),
    .act_rdata_i          (act_rdata_i),
    .wgt_req_o            (pw_wgt_req),
    .wgt_addr_o           (pw_wgt_addr),
    .wgt_rdata_i          (wgt_rdata_i),
    .bias_req_o           (pw_bias_req),
    .bias_addr_o          (pw_bias_addr),
    .bias_rdata_i         (param_rdata_i),
    .acc_req_o            (pw_acc_rd),
    .acc_raddr_o          (pw_acc_raddr),
    .acc_rdata_i          (acc_rdata_i),
    .acc_we_o             (pw_acc_we),
    .acc_addr_o           (pw_acc_addr),
    .acc_wmask_o          (pw_acc_wmask),
    .acc_wdata_o          (pw_acc_wdata),
    .acc_grp_o            (pw_acc_grp)
  );

  // ---- conv epilogue (FLAG_EPILOGUE): engine words -> requant -> ACT port b --------
  logic                  eng_we, epi_in_ready;
  logic [AW-1:0]         eng_waddr;
  logic [PwRows-1:0]     eng_wmask;
  logic [PwRows*32-1:0]  eng_wdata;
  logic [15:0]           eng_grp;
  logic                  epi_param_req, epi_act_we;
  logic [AW-1:0]         epi_param_addr, epi_act_addr;
  logic [ActWordB-1:0]   epi_act_be;
  logic [ActWordB*8-1:0] epi_act_wdata;

  assign eng_we    = dw_acc_we | pw_acc_we;
  assign eng_waddr = dw_busy ? dw_acc_addr : pw_acc_addr;
  assign eng_wmask = dw_busy ? dw_acc_wmask : pw_acc_wmask;
  assign eng_wdata = dw_busy ? dw_acc_wdata : pw_acc_wdata;
  assign eng_grp   = dw_busy ? dw_acc_grp : (pw_acc_grp + 16'(egrp_q));
  // The engine holds its output word (frozen) until the epilogue takes it.
  assign eng_stall = c_epi && eng_we && !epi_in_ready;

  npu_epilogue #(.Rows(PwRows), .Lanes(EpiLanes), .AW(AW)) u_epi (
    .clk_i         (clk_i),
    .rst_ni        (eng_rst_n),
    .start_i       (start_i),
    .cfg_entry_i   (AW'(cv_param)),
    .cfg_ngroups_i (AW'(epi_n)),
    .cfg_out_zp_i  (cw[npu_regs_pkg::NPU_DESC_CONV_OUT_ZP_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_ZP_WIDTH]),
    .cfg_act_min_i (cw[npu_regs_pkg::NPU_DESC_CONV_ACT_MIN_BIT +: npu_regs_pkg::NPU_DESC_CONV_ACT_MIN_WIDTH]),
    .cfg_act_max_i (cw[npu_regs_pkg::NPU_DESC_CONV_ACT_MAX_BIT +: npu_regs_pkg::NPU_DESC_CONV_ACT_MAX_WIDTH]),
    .in_valid_i    (c_epi && eng_we),
    .in_ready_o    (epi_in_ready),
    .in_addr_i     (eng_waddr),
    .in_mask_i     (eng_wmask),
    .in_data_i     (eng_wdata),
    .in_grp_i      (eng_grp),
    .param_req_o   (epi_param_req),
    .param_addr_o  (epi_param_addr),
    .param_gnt_i   (epi_param_gnt_i),
    .param_rdata_i (epi_param_rdata_i),
    .act_we_o      (epi_act_we),
    .act_waddr_o   (epi_act_addr),
    .act_wbe_o     (epi_act_be),
    .act_wdata_o   (epi_act_wdata),
    .act_gnt_i     (epi_act_gnt_i),
    .busy_o        (epi_busy)
  );

  // ---- PPU (PPU_REQUANT / PPU_ADD / PPU_POOL) --------------------------------------------
  logic                  ppu_acc_req, ppu_param_req, ppu_act_req, ppu_act_we;
  logic [AW-1:0]         ppu_acc_addr, ppu_param_addr, ppu_act_addr, ppu_act_waddr;
  logic [ActWordB-1:0]   ppu_act_wbe;
  logic [ActWordB*8-1:0] ppu_act_wdata;
  logic                  p_rq, p_add;
  logic [AW-1:0]         rq_g, rq_cw, pl_cw;
  logic [31:0]           pl_irs, pl_ors;

  logic [31:0]           rq_param, pl_param;
  logic [15:0]           rq_c, pl_c;

  assign p_rq  = (c_op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_REQUANT));
  assign p_add = (c_op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_ADD));
  // REQUANT (§4.4): ACC pixel = G words, ACT pixel = ceil(C / ACT word)
  // words. POOL (§4.6): dense tiles. Where the layouts share bits the
  // selects below pick the same wires, which synthesis merges.
  assign rq_param = cw[npu_regs_pkg::NPU_DESC_REQUANT_PARAM_ENTRY_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_PARAM_ENTRY_WIDTH];
  assign pl_param = cw[npu_regs_pkg::NPU_DESC_POOL_PARAM_ENTRY_BIT +: npu_regs_pkg::NPU_DESC_POOL_PARAM_ENTRY_WIDTH];
  assign rq_c     = cw[npu_regs_pkg::NPU_DESC_REQUANT_CHANNELS_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_CHANNELS_WIDTH];
  assign pl_c     = cw[npu_regs_pkg::NPU_DESC_POOL_CHANNELS_BIT +: npu_regs_pkg::NPU_DESC_POOL_CHANNELS_WIDTH];
  assign rq_g   = AW'((rq_c + 16'(PwRows - 1)) >> $clog2(PwRows));
  assign rq_cw  = AW'((rq_c + 16'(ActWordB - 1)) >> ActWBits);
  assign pl_cw  = AW'((pl_c + 16'(ActWordB - 1)) >> ActWBits);
  assign pl_irs = 32'(cw[npu_regs_pkg::NPU_DESC_POOL_IN_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_IN_W_WIDTH]) * 32'(pl_cw);
  assign pl_ors = 32'(cw[npu_regs_pkg::NPU_DESC_POOL_OUT_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_OUT_W_WIDTH]) * 32'(pl_cw);

  npu_ppu #(
    .Lanes      (PpuLanes),
    .AccLanes   (PwRows),
    .ActBytes   (ActWordB),
    .AW         (AW),
    .ActOnePort (1'b1)
  ) u_ppu (
    .clk_i                   (clk_i),
    .rst_ni                  (eng_rst_n),
    .start_i                 (ppu_start),
    .busy_o                  (ppu_busy),
    .done_o                  (ppu_done),
    .cfg_op_i                (c_op),
    .cfg_pool_mode_i         (2'(cw[npu_regs_pkg::NPU_DESC_POOL_MODE_BIT +: npu_regs_pkg::NPU_DESC_POOL_MODE_WIDTH])),
    .cfg_count_include_pad_i (cw[npu_regs_pkg::NPU_DESC_POOL_COUNT_INCLUDE_PAD_BIT +: npu_regs_pkg::NPU_DESC_POOL_COUNT_INCLUDE_PAD_WIDTH]),
    .cfg_src_base_i          (p_rq  ? AW'(cw[npu_regs_pkg::NPU_DESC_REQUANT_SRC_ADDR_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_SRC_ADDR_WIDTH]) :
                              p_add ? AW'(cw[npu_regs_pkg::NPU_DESC_ADD_SRC_A_ADDR_BIT +: npu_regs_pkg::NPU_DESC_ADD_SRC_A_ADDR_WIDTH] >> ActWBits) :
                                      AW'(cw[npu_regs_pkg::NPU_DESC_POOL_SRC_ADDR_BIT +: npu_regs_pkg::NPU_DESC_POOL_SRC_ADDR_WIDTH] >> ActWBits)),
    .cfg_src2_base_i         (AW'(cw[npu_regs_pkg::NPU_DESC_ADD_SRC_B_ADDR_BIT +: npu_regs_pkg::NPU_DESC_ADD_SRC_B_ADDR_WIDTH] >> ActWBits)),
    .cfg_dst_base_i          (p_rq  ? AW'(cw[npu_regs_pkg::NPU_DESC_REQUANT_DST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_DST_ADDR_WIDTH] >> ActWBits) :
                              p_add ? AW'(cw[npu_regs_pkg::NPU_DESC_ADD_DST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_ADD_DST_ADDR_WIDTH] >> ActWBits) :
                                      AW'(cw[npu_regs_pkg::NPU_DESC_POOL_DST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_POOL_DST_ADDR_WIDTH] >> ActWBits)),
    .cfg_mult_base_i         (p_rq ? AW'(rq_param) + rq_g : AW'(pl_param)),
    .cfg_shift_base_i        (AW'(rq_param) + (rq_g << 1)),
    .cfg_src_pix_stride_i    (p_rq ? rq_g : pl_cw),
    .cfg_src_row_stride_i    (AW'(pl_irs)),
    .cfg_dst_pix_stride_i    (p_rq ? rq_cw : pl_cw),
    .cfg_dst_row_stride_i    (AW'(pl_ors)),
    .cfg_pixels_i            (cw[npu_regs_pkg::NPU_DESC_REQUANT_PIXELS_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_PIXELS_WIDTH]),
    .cfg_channels_i          (p_rq ? rq_c : pl_c),
    .cfg_count_i             (cw[npu_regs_pkg::NPU_DESC_ADD_COUNT_BIT +: npu_regs_pkg::NPU_DESC_ADD_COUNT_WIDTH]),
    .cfg_in_h_i              (cw[npu_regs_pkg::NPU_DESC_POOL_IN_H_BIT +: npu_regs_pkg::NPU_DESC_POOL_IN_H_WIDTH]),
    .cfg_in_w_i              (cw[npu_regs_pkg::NPU_DESC_POOL_IN_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_IN_W_WIDTH]),
    .cfg_out_h_i             (cw[npu_regs_pkg::NPU_DESC_POOL_OUT_H_BIT +: npu_regs_pkg::NPU_DESC_POOL_OUT_H_WIDTH]),
    .cfg_out_w_i             (cw[npu_regs_pkg::NPU_DESC_POOL_OUT_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_OUT_W_WIDTH]),
    .cfg_kh_i                (cw[npu_regs_pkg::NPU_DESC_POOL_KH_BIT +: npu_regs_pkg::NPU_DESC_POOL_KH_WIDTH]),
    .cfg_kw_i                (cw[npu_regs_pkg::NPU_DESC_POOL_KW_BIT +: npu_regs_pkg::NPU_DESC_POOL_KW_WIDTH]),
    .cfg_stride_h_i          (cw[npu_regs_pkg::NPU_DESC_POOL_STRIDE_H_BIT +: npu_regs_pkg::NPU_DESC_POOL_STRIDE_H_WIDTH]),
    .cfg_stride_w_i          (cw[npu_regs_pkg::NPU_DESC_POOL_STRIDE_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_STRIDE_W_WIDTH]),
    .cfg_pad_t_i             (cw[npu_regs_pkg::NPU_DESC_POOL_PAD_T_BIT +: npu_regs_pkg::NPU_DESC_POOL_PAD_T_WIDTH]),
    .cfg_pad_l_i             (cw[npu_regs_pkg::NPU_DESC_POOL_PAD_L_BIT +: npu_regs_pkg::NPU_DESC_POOL_PAD_L_WIDTH]),
    .cfg_in_zp_i             (p_add ? cw[npu_regs_pkg::NPU_DESC_ADD_IN0_ZP_BIT +: npu_regs_pkg::NPU_DESC_ADD_IN0_ZP_WIDTH] : cw[npu_regs_pkg::NPU_DESC_POOL_IN_ZP_BIT +: npu_regs_pkg::NPU_DESC_POOL_IN_ZP_WIDTH]),
    .cfg_in2_zp_i            (cw[npu_regs_pkg::NPU_DESC_ADD_IN1_ZP_BIT +: npu_regs_pkg::NPU_DESC_ADD_IN1_ZP_WIDTH]),
    .cfg_out_zp_i            (p_rq  ? cw[npu_regs_pkg::NPU_DESC_REQUANT_OUT_ZP_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_OUT_ZP_WIDTH] :
                              p_add ? cw[npu_regs_pkg::NPU_DESC_ADD_OUT_ZP_BIT +: npu_regs_pkg::NPU_DESC_ADD_OUT_ZP_WIDTH] : cw[npu_regs_pkg::NPU_DESC_POOL_OUT_ZP_BIT +: npu_regs_pkg::NPU_DESC_POOL_OUT_ZP_WIDTH]),
    .cfg_in_mult_i           (cw[npu_regs_pkg::NPU_DESC_ADD_IN0_MULT_BIT +: npu_regs_pkg::NPU_DESC_ADD_IN0_MULT_WIDTH]),
    .cfg_in_shift_i          (6'(cw[npu_regs_pkg::NPU_DESC_ADD_IN0_SHIFT_BIT +: npu_regs_pkg::NPU_DESC_ADD_IN0_SHIFT_WIDTH])),
    .cfg_in2_mult_i          (cw[npu_regs_pkg::NPU_DESC_ADD_IN1_MULT_BIT +: npu_regs_pkg::NPU_DESC_ADD_IN1_MULT_WIDTH]),
    .cfg_in2_shift_i         (6'(cw[npu_regs_pkg::NPU_DESC_ADD_IN1_SHIFT_BIT +: npu_regs_pkg::NPU_DESC_ADD_IN1_SHIFT_WIDTH])),
    .cfg_out_mult_i          (p_add ? cw[npu_regs_pkg::NPU_DESC_ADD_OUT_MULT_BIT +: npu_regs_pkg::NPU_DESC_ADD_OUT_MULT_WIDTH] : cw[npu_regs_pkg::NPU_DESC_POOL_GLOBAL_MULT_BIT +: npu_regs_pkg::NPU_DESC_POOL_GLOBAL_MULT_WIDTH]),
    .cfg_out_shift_i         (p_add ? 6'(cw[npu_regs_pkg::NPU_DESC_ADD_OUT_SHIFT_BIT +: npu_regs_pkg::NPU_DESC_ADD_OUT_SHIFT_WIDTH]) :
                                      6'(cw[npu_regs_pkg::NPU_DESC_POOL_GLOBAL_SHIFT_BIT +: npu_regs_pkg::NPU_DESC_POOL_GLOBAL_SHIFT_WIDTH])),
    .cfg_act_min_i           (p_rq  ? cw[npu_regs_pkg::NPU_DESC_REQUANT_ACT_MIN_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_ACT_MIN_WIDTH] :
                              p_add ? cw[npu_regs_pkg::NPU_DESC_ADD_ACT_MIN_BIT +: npu_regs_pkg::NPU_DESC_ADD_ACT_MIN_WIDTH] : cw[npu_regs_pkg::NPU_DESC_POOL_ACT_MIN_BIT +: npu_regs_pkg::NPU_DESC_POOL_ACT_MIN_WIDTH]),
    .cfg_act_max_i           (p_rq  ? cw[npu_regs_pkg::NPU_DESC_REQUANT_ACT_MAX_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_ACT_MAX_WIDTH] :
                              p_add ? cw[npu_regs_pkg::NPU_DESC_ADD_ACT_MAX_BIT +: npu_regs_pkg::NPU_DESC_ADD_ACT_MAX_WIDTH] : cw[npu_regs_pkg::NPU_DESC_POOL_ACT_MAX_BIT +: npu_regs_pkg::NPU_DESC_POOL_ACT_MAX_WIDTH]),
    .acc_req_o               (ppu_acc_req),
    .acc_addr_o              (ppu_acc_addr),
    .acc_rdata_i             (acc_rdata_i),
    .param_req_o             (ppu_param_req),
    .param_addr_o            (ppu_param_addr),
    .param_rdata_i           (param_rdata_i),
    .act_req_o               (ppu_act_req),
    .act_addr_o              (ppu_act_addr),
    .act_rdata_i             (act_rdata_i),
    .act_we_o                (ppu_act_we),
    .act_waddr_o             (ppu_act_waddr),
    .act_wbe_o               (ppu_act_wbe),
    .act_wdata_o             (ppu_act_wdata)
  );

  // ---- port a: the running compute descriptor (one engine at a time) --------------------
  // ACT: engine reads, or the PPU's read/write (ActOnePort: never both in
  // one cycle). ACC: the engine's write (no EPILOGUE), PW's ACCUMULATE read
  // (never in the cycle of its write) or the PPU's REQUANT read.
  logic            act_a_req, act_a_we, wgt_a_req, acc_a_we, acc_a_rd, param_a_req;
  logic [AW-1:0]   act_a_addr, wgt_a_word, acc_a_addr, param_a_addr, dw_wgt_row;
  logic [ActWordB-1:0] act_a_be;
  logic [PwRows*4-1:0] acc_a_be;
  logic [SliceBits-1:0] dw_slice, dw_slice_q;

  assign act_a_we     = ppu_act_we;
  assign act_a_req    = dw_act_req | pw_act_req | ppu_act_req | ppu_act_we;
  assign act_a_addr   = ppu_busy ? (ppu_act_we ? ppu_act_waddr : ppu_act_addr) :
                        dw_busy ? dw_act_addr : pw_act_addr;
  assign act_a_be     = ppu_act_wbe;
  assign dw_wgt_row   = dw_wgt_addr >> SliceBits;
  assign dw_slice     = dw_wgt_addr[SliceBits-1:0];
  assign wgt_a_req    = dw_wgt_req | pw_wgt_req;
  assign wgt_a_word   = dw_busy ? dw_wgt_row : pw_wgt_addr;
  assign param_a_req  = dw_bias_req | pw_bias_req | ppu_param_req;
  assign param_a_addr = ppu_busy ? ppu_param_addr : dw_busy ? dw_bias_addr : pw_bias_addr;
  assign acc_a_we     = eng_we && !c_epi;
  assign acc_a_rd     = pw_acc_rd | ppu_acc_req;
  assign acc_a_addr   = acc_a_we ? eng_waddr : ppu_busy ? ppu_acc_addr : pw_acc_raddr;

  always_comb begin
    for (int unsigned l = 0; l < PwRows; l++) begin
      acc_a_be[l*4 +: 4] = {4{eng_wmask[l]}};
    end
  end

  always_ff @(posedge clk_i) begin
    if (dw_wgt_req) begin
      dw_slice_q <= dw_slice;
    end
  end
  assign dw_wgt_rdata = wgt_rdata_i[32'(dw_slice_q)*DwLanes*8 +: DwLanes*8];

  // SRAM range: an engine address past the end of its SRAM is ERR_SRAM_RANGE
  // (a write is dropped; reads return don't-care data).
  logic act_oob, wgt_oob, acc_oob, param_oob, epi_oob, eng_err;
  logic [AW-1:0] eng_err_addr;
  assign act_oob   = act_a_req && (32'(act_a_addr) >= ActDepth);
  assign wgt_oob   = (dw_wgt_req && (32'(dw_wgt_addr) >= DwWgtWords)) ||
                     (pw_wgt_req && (32'(pw_wgt_addr) >= WgtDepth));
  assign acc_oob   = (acc_a_we || acc_a_rd) && (32'(acc_a_addr) >= AccDepth);
  assign param_oob = param_a_req && (32'(param_a_addr) >= ParamDepth);
  assign epi_oob   = (epi_act_we && (32'(epi_act_addr) >= ActDepth)) ||
                     (epi_param_req && (32'(epi_param_addr) >= ParamDepth));
  assign eng_err   = act_oob | wgt_oob | acc_oob | param_oob | epi_oob;
  always_comb begin
    eng_err_addr = param_a_addr;
    if (act_oob) begin
      eng_err_addr = act_a_addr;
    end else if (wgt_oob) begin
      eng_err_addr = dw_busy ? dw_wgt_addr : pw_wgt_addr;
    end else if (acc_oob) begin
      eng_err_addr = acc_a_addr;
    end else if (epi_oob) begin
      eng_err_addr = epi_act_we ? epi_act_addr : epi_param_addr;
    end
  end

  // ---- ports -----------------------------------------------------------------------------
  assign act_req_o    = act_a_req && !act_oob;
  assign act_we_o     = act_a_we;
  assign act_addr_o   = ActAw'(act_a_addr);
  assign act_be_o     = act_a_be;
  assign act_wdata_o  = ppu_act_wdata;
  assign wgt_req_o    = wgt_a_req;
  assign wgt_addr_o   = WgtAw'(wgt_a_word);
  assign acc_req_o    = (acc_a_we || acc_a_rd) && !acc_oob;
  assign acc_we_o     = acc_a_we;
  assign acc_addr_o   = AccAw'(acc_a_addr);
  assign acc_be_o     = acc_a_be;
  assign acc_wdata_o  = eng_wdata;
  assign param_req_o  = param_a_req;
  assign param_addr_o = ParamAw'(param_a_addr);

  assign epi_act_we_o     = epi_act_we;
  assign epi_act_addr_o   = ActAw'(epi_act_addr);
  assign epi_act_be_o     = epi_act_be;
  assign epi_act_wdata_o  = epi_act_wdata;
  assign epi_param_req_o  = epi_param_req;
  assign epi_param_addr_o = ParamAw'(epi_param_addr);
  assign epi_drop_o       = epi_oob;

  assign err_o      = eng_err;
  assign err_addr_o = eng_err_addr;

  // The conv epilogue is shared; its drain counts for the engine whose
  // descriptor it finishes (it drains before the next descriptor starts),
  // so PW work never shows as DW and back.
  logic epi_dw, epi_pw;
  assign epi_dw = c_epi & epi_busy & c_dw;
  assign epi_pw = c_epi & epi_busy & ~c_dw & ~c_ppu;
  assign busy_o = {ppu_busy, dw_busy | epi_dw, pw_busy | epi_pw};

  // Descriptor bits no engine port takes: the header, the tag and the
  // reserved words and bits (npu_cmdproc has checked them already).
  logic unused_desc;
  assign unused_desc = ^{cw[383:368], cw[63:32], cw[15:8], wgt_a_word[AW-1:WgtAw], wstep[31:AW],
                         cv_irs[ActWBits-1:0], cv_ips[ActWBits-1:0], cv_in[ActWBits-1:0],
                         cv_wgt, epi_n[31:AW], pl_irs[31:AW], pl_ors[31:AW],
                         cv_param[31:AW], rq_param[31:AW], pl_param[31:AW]};

endmodule
