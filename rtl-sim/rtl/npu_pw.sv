// lwnpu pointwise/GEMM array, version 1 (docs/HARDWARE.md §4.3).
//
// Computes the int32 accumulators of a (non-grouped) KxK convolution,
// exactly npu_ref_s8_conv2d_acc32 with groups == 1:
//   acc[oy][ox][oc] = bias[oc] + sum over taps inside the input and
//                     ic < in_c of (x[iy][ix][ic] - in_zp) * w[oc][ky][kx][ic]
// 1x1 is the case kh == kw == 1; FC is a 1x1 on a 1x1xK input. Implicit
// im2col: the address generator walks (ky, kx, input-channel group) for
// every output pixel, so nothing is copied. Grouped convolution is one
// pass per group (the command stream points in/w/bias/out at the group).
//
// Output-stationary array of Rows x Cols int8 MACs: each cycle one ACT
// word (Cols input channels of one tap) meets one WGT row (Rows x Cols
// weights) and Rows accumulators each add a Cols-long dot product. An
// output pixel of one output-channel group takes kh*kw*ceil(in_c/Cols)
// cycles. Memory views, in SRAM words:
//   ACT  (int8 x Cols)          in_base + icg + iy*in_row_stride + ix*in_pix_stride
//   WGT  (int8 x Rows*Cols)     w_base + ((ocg*kh + ky)*kw + kx)*icgs + icg,
//                               byte r*Cols + c = w[ocg*Rows + r][ky][kx][icg*Cols + c]
//   BIAS (int32 x Rows)         bias_base + ocg
//   ACC  (int32 x Rows)         out_base + ocg + oy*out_row_stride + ox*out_pix_stride
// with icgs = ceil(in_c / Cols). Input channels beyond in_c (the padding
// of the last group) are masked off, whatever the SRAM holds there; output
// lanes beyond out_c are masked in acc_wmask_o. Reads are synchronous SRAM
// ports (data one cycle after the request), owned by the engine while busy.
//
// The cfg_* inputs must be stable from start_i until done_o.
//
// stall_i freezes the whole engine for a cycle (npu_top: the conv epilogue
// cannot take the output word on acc_we_o): no state changes, no SRAM
// request is issued, and acc_we_o with its address, data and acc_grp_o
// (the output-channel group of the word) is held, so it is a request that
// the consumer takes in a cycle without stall. Read data of a request
// issued before the stall must stay on the read ports (npu_sram holds
// rdata while not requested).
//
// cfg_accumulate_i (FLAG_ACCUMULATE, K split): every output pixel starts
// from the ACC word at its output address instead of the bias: the word is
// read on acc_req_o / acc_raddr_o with the pixel's first tap and arrives
// on acc_rdata_i with it. The ACC read and the engine's own ACC write
// share one SRAM port: a first tap waits a cycle when a write is due.
module npu_pw #(
  parameter int unsigned Rows = 16,  // output channels per pass, power of two >= 2
  parameter int unsigned Cols = 16,  // input channels per cycle, power of two
  parameter int unsigned AW   = 16   // SRAM word-address bits
) (
  input  logic                     clk_i,
  input  logic                     rst_ni,

  input  logic                     start_i,
  input  logic                     stall_i,
  output logic                     busy_o,
  output logic                     done_o,      // one-cycle pulse at the end

  input  logic [AW-1:0]            cfg_in_base_i,
  input  logic [AW-1:0]            cfg_w_base_i,
  input  logic [AW-1:0]            cfg_bias_base_i,
  input  logic [AW-1:0]            cfg_out_base_i,
  input  logic [15:0]              cfg_in_h_i,
  input  logic [15:0]              cfg_in_w_i,
  input  logic [15:0]              cfg_in_c_i,
  input  logic [15:0]              cfg_out_c_i,
  input  logic [15:0]              cfg_out_h_i,
  input  logic [15:0]              cfg_out_w_i,
  input  logic [3:0]               cfg_kh_i,
  input  logic [3:0]               cfg_kw_i,
  input  logic [3:0]               cfg_stride_h_i,
  input  logic [3:0]               cfg_stride_w_i,
  input  logic [3:0]               cfg_pad_t_i,
  input  logic [3:0]               cfg_pad_l_i,
  input  logic [7:0]               cfg_in_zp_i,          // signed
  input  logic [AW-1:0]            cfg_in_row_stride_i,  // words
  input  logic [AW-1:0]            cfg_in_pix_stride_i,
  input  logic [AW-1:0]            cfg_out_row_stride_i,
  input  logic [AW-1:0]            cfg_out_pix_stride_i,
  input  logic                     cfg_accumulate_i,

  output logic                     act_req_o,
  output logic [AW-1:0]            act_addr_o,
  input  logic [Cols*8-1:0]        act_rdata_i,
  output logic                     wgt_req_o,
  output logic [AW-1:0]            wgt_addr_o,
  input  logic [Rows*Cols*8-1:0]   wgt_rdata_i,
  output logic                     bias_req_o,
  output logic [AW-1:0]            bias_addr_o,
  input  logic [Rows*32-1:0]       bias_rdata_i,

  output logic                     acc_req_o,     // ACCUMULATE read
  output logic [AW-1:0]            acc_raddr_o,
  input  logic [Rows*32-1:0]       acc_rdata_i,

  output logic                     acc_we_o,
  output logic [AW-1:0]            acc_addr_o,
  output logic [Rows-1:0]          acc_wmask_o,
  output logic [Rows*32-1:0]       acc_wdata_o,
  output logic [15:0]              acc_grp_o
);

  localparam int unsigned RowBits = (Rows > 1) ? $clog2(Rows) : 1;
  localparam int unsigned ColBits = (Cols > 1) ? $clog2(Cols) : 1;

  typedef enum logic [2:0] {
    StIdle,
    StBias,      // bias read of output-channel group ocg issued
    StBiasWait,  // bias data arrives
    StRun,       // one (tap, input-channel group) issued per cycle
    StDrain,     // last products in flight
    StDone
  } state_e;

  state_e state_d, state_q;

  // n * s for a 4-bit n, by shift and add: these products are formed once
  // per job, and as multiplies they would cost a DSP48 each.
  function automatic logic [31:0] mul_small(input logic [3:0] n, input logic [31:0] s);
    logic [31:0] r;
    r = 32'd0;
    for (int i = 0; i < 4; i++) begin
      if (n[i]) begin
        r = r + (s << i);
      end
    end
    mul_small = r;  // not `return`: yosys 0.23 lacks it
  endfunction

  // ---- per-job constants, registered at start -----------------------------
  logic [15:0]        icgs_d, icgs_q;      // input-channel groups
  logic [15:0]        ocgs_d, ocgs_q;      // output-channel groups
  logic signed [31:0] org_off_d, org_off_q;  // -(pad_t*row_stride + pad_l*pix_stride)
  logic signed [31:0] step_x_d, step_x_q;    // stride_w * pix_stride
  logic signed [31:0] step_y_d, step_y_q;    // stride_h * row_stride

  // ---- loop state --------------------------------------------------------------
  logic [15:0]        ocg_d, ocg_q;
  logic [15:0]        oy_d, oy_q, ox_d, ox_q;
  logic [3:0]         ky_d, ky_q, kx_d, kx_q;
  logic [15:0]        icg_d, icg_q;
  logic signed [17:0] iy_row_d, iy_row_q;     // oy*stride_h - pad_t
  logic signed [17:0] ix_win_d, ix_win_q;     // ox*stride_w - pad_l
  logic signed [17:0] iy_d, iy_q, ix_d, ix_q; // current tap
  logic signed [31:0] row_win_ptr_d, row_win_ptr_q;  // window origin of (oy, 0)
  logic signed [31:0] win_ptr_d, win_ptr_q;          // window origin of (oy, ox)
  logic signed [31:0] row_ptr_d, row_ptr_q;          // tap (ky, 0)
  logic signed [31:0] tap_ptr_d, tap_ptr_q;          // tap (ky, kx), group 0
  logic signed [31:0] w_grp_d, w_grp_q;              // first WGT row of group ocg
  logic signed [31:0] w_ptr_d, w_ptr_q;
  logic signed [31:0] out_row_ptr_d, out_row_ptr_q;
  logic signed [31:0] out_ptr_d, out_ptr_q;

  // ---- pipeline registers (stage 1: MAC, stage 2: accumulator write) -------
  logic              s1_valid_q, s1_in_bounds_q, s1_first_q, s1_last_q;
  logic [AW-1:0]     s1_out_addr_q;
  logic [15:0]       s1_grp_q, wr_grp_q;
  logic [Rows-1:0]   s1_row_mask_q;
  logic [Cols-1:0]   s1_col_mask_q;
  logic [31:0]       bias_q [Rows];
  logic [31:0]       acc_q  [Rows];
  logic [31:0]       acc_d  [Rows];
  logic              wr_valid_q;
  logic [AW-1:0]     wr_addr_q;
  logic [Rows-1:0]   wr_mask_q;
  logic [31:0]       wr_data_q [Rows];

  // ---- issue -------------------------------------------------------------------
  logic            issue, in_bounds, tap_first, tap_last;
  logic            last_icg, last_kx, last_ky;
  logic [Rows-1:0] row_mask;
  logic [Cols-1:0] col_mask;
  logic [15:0]     rows_left, cols_left;

  logic            run, acc_hold;
  assign run       = !stall_i;
  // ACCUMULATE: a first tap's ACC read may not meet the previous write.
  assign acc_hold  = cfg_accumulate_i && (state_q == StRun) && tap_first && wr_valid_q;
  assign issue     = (state_q == StRun) && !acc_hold;
  assign in_bounds = (iy_q >= 0) && (iy_q < $signed({2'b00, cfg_in_h_i})) &&
                     (ix_q >= 0) && (ix_q < $signed({2'b00, cfg_in_w_i}));
  assign last_icg  = (icg_q == icgs_q - 16'd1);
  assign last_kx   = (kx_q == cfg_kw_i - 4'd1);
  assign last_ky   = (ky_q == cfg_kh_i - 4'd1);
  assign tap_first = (ky_q == 4'd0) && (kx_q == 4'd0) && (icg_q == 16'd0);
  assign tap_last  = last_ky && last_kx && last_icg;
  assign rows_left = cfg_out_c_i - (ocg_q << RowBits);
  assign cols_left = cfg_in_c_i - (icg_q << ColBits);

  always_comb begin
    for (int unsigned r = 0; r < Rows; r++) begin
      row_mask[r] = (32'(rows_left) > r);
    end
    for (int unsigned c = 0; c < Cols; c++) begin
      col_mask[c] = (32'(cols_left) > c);
    end
  end

  logic signed [31:0] in_origin;  // input pointer of window (0, 0)
  assign in_origin = $signed({16'd0, cfg_in_base_i}) + org_off_q;

  always_comb begin
    state_d       = state_q;
    icgs_d        = icgs_q;
    ocgs_d        = ocgs_q;
    org_off_d     = org_off_q;
    step_x_d      = step_x_q;
    step_y_d      = step_y_q;
    ocg_d         = ocg_q;
    oy_d          = oy_q;
    ox_d          = ox_q;
    ky_d          = ky_q;
    kx_d          = kx_q;
    icg_d         = icg_q;
    iy_row_d      = iy_row_q;
    ix_win_d      = ix_win_q;
    iy_d          = iy_q;
    ix_d          = ix_q;
    row_win_ptr_d = row_win_ptr_q;
    win_ptr_d     = win_ptr_q;
    row_ptr_d     = row_ptr_q;
    tap_ptr_d     = tap_ptr_q;
    w_grp_d       = w_grp_q;
    w_ptr_d       = w_ptr_q;
    out_row_ptr_d = out_row_ptr_q;
    out_ptr_d     = out_ptr_q;

    unique case (state_q)
      StIdle: begin
        if (start_i) begin
          icgs_d    = (cfg_in_c_i + 16'(Cols - 1)) >> ColBits;
          ocgs_d    = (cfg_out_c_i + 16'(Rows - 1)) >> RowBits;
          org_off_d = -$signed(mul_small(cfg_pad_t_i, 32'(cfg_in_row_stride_i)) +
                               mul_small(cfg_pad_l_i, 32'(cfg_in_pix_stride_i)));
          step_x_d  = $signed(mul_small(cfg_stride_w_i, 32'(cfg_in_pix_stride_i)));
          step_y_d  = $signed(mul_small(cfg_stride_h_i, 32'(cfg_in_row_stride_i)));
          ocg_d     = 16'd0;
          w_grp_d   = $signed({16'd0, cfg_w_base_i});
          state_d   = StBias;
        end
      end

      StBias: begin
        // Reset the pixel loops for group ocg while its bias is read.
        oy_d          = 16'd0;
        ox_d          = 16'd0;
        ky_d          = 4'd0;
        kx_d          = 4'd0;
        icg_d         = 16'd0;
        iy_row_d      = -$signed({14'd0, cfg_pad_t_i});
        ix_win_d      = -$signed({14'd0, cfg_pad_l_i});
        iy_d          = -$signed({14'd0, cfg_pad_t_i});
        ix_d          = -$signed({14'd0, cfg_pad_l_i});
        row_win_ptr_d = in_origin;
        win_ptr_d     = in_origin;
        row_ptr_d     = in_origin;
        tap_ptr_d     = in_origin;
        w_ptr_d       = w_grp_q;
        out_row_ptr_d = $signed({16'd0, cfg_out_base_i}) + $signed({16'd0, ocg_q});
        out_ptr_d     = $signed({16'd0, cfg_out_base_i}) + $signed({16'd0, ocg_q});
        state_d       = StBiasWait;
      end

      StBiasWait: state_d = StRun;

      StRun: if (!acc_hold) begin
        w_ptr_d = w_ptr_q + 32'sd1;
        if (!last_icg) begin
          icg_d = icg_q + 16'd1;
        end else if (!last_kx) begin
          icg_d     = 16'd0;
          kx_d      = kx_q + 4'd1;
          ix_d      = ix_q + 18'sd1;
          tap_ptr_d = tap_ptr_q + $signed({16'd0, cfg_in_pix_stride_i});
        end else if (!last_ky) begin
          icg_d     = 16'd0;
          kx_d      = 4'd0;
          ky_d      = ky_q + 4'd1;
          ix_d      = ix_win_q;
          iy_d      = iy_q + 18'sd1;
          row_ptr_d = row_ptr_q + $signed({16'd0, cfg_in_row_stride_i});
          tap_ptr_d = row_ptr_q + $signed({16'd0, cfg_in_row_stride_i});
        end else begin
          // Output pixel done: the weights of this group start again.
          icg_d   = 16'd0;
          kx_d    = 4'd0;
          ky_d    = 4'd0;
          w_ptr_d = w_grp_q;
          if (ox_q != cfg_out_w_i - 16'd1) begin
            ox_d      = ox_q + 16'd1;
            ix_win_d  = ix_win_q + $signed({14'd0, cfg_stride_w_i});
            ix_d      = ix_win_q + $signed({14'd0, cfg_stride_w_i});
            iy_d      = iy_row_q;
            win_ptr_d = win_ptr_q + step_x_q;
            row_ptr_d = win_ptr_q + step_x_q;
            tap_ptr_d = win_ptr_q + step_x_q;
            out_ptr_d = out_ptr_q + $signed({16'd0, cfg_out_pix_stride_i});
          end else if (oy_q != cfg_out_h_i - 16'd1) begin
            ox_d          = 16'd0;
            oy_d          = oy_q + 16'd1;
            ix_win_d      = -$signed({14'd0, cfg_pad_l_i});
            ix_d          = -$signed({14'd0, cfg_pad_l_i});
            iy_row_d      = iy_row_q + $signed({14'd0, cfg_stride_h_i});
            iy_d          = iy_row_q + $signed({14'd0, cfg_stride_h_i});
            row_win_ptr_d = row_win_ptr_q + step_y_q;
            win_ptr_d     = row_win_ptr_q + step_y_q;
            row_ptr_d     = row_win_ptr_q + step_y_q;
            tap_ptr_d     = row_win_ptr_q + step_y_q;
            out_row_ptr_d = out_row_ptr_q + $signed({16'd0, cfg_out_row_stride_i});
            out_ptr_d     = out_row_ptr_q + $signed({16'd0, cfg_out_row_stride_i});
          end else if (ocg_q != ocgs_q - 16'd1) begin
            // The next group's weights follow this group's last row.
            ocg_d   = ocg_q + 16'd1;
            w_grp_d = w_ptr_q + 32'sd1;
            state_d = StBias;
          end else begin
            state_d = StDrain;
          end
        end
      end

      StDrain: begin
        if (!s1_valid_q && !wr_valid_q) begin
          state_d = StDone;
        end
      end

      StDone:  state_d = StIdle;

      default: state_d = StIdle;
    endcase
  end

  assign act_req_o   = issue & in_bounds & run;
  assign act_addr_o  = AW'(tap_ptr_q + $signed({16'd0, icg_q}));
  assign wgt_req_o   = issue & in_bounds & run;
  assign wgt_addr_o  = AW'(w_ptr_q);
  assign bias_req_o  = (state_q == StBias) & run;
  assign acc_req_o   = issue & tap_first & cfg_accumulate_i & run;
  assign acc_raddr_o = AW'(out_ptr_q);
  assign bias_addr_o = cfg_bias_base_i + AW'(ocg_q);

  // ---- stage 1: Rows dot products of length Cols -----------------------------------
  // Two MACs per multiplier: rows 2q and 2q+1 share the input x[c], so
  //   p = (w[2q+1][c] * 2^16 + w[2q][c]) * x[c] = hi * 2^16 + lo
  // with lo = w[2q][c] * x[c] and hi = w[2q+1][c] * x[c]. |x - zp| <= 255
  // and |w| <= 128 give |lo| < 2^15, so lo is exactly the sign-extended
  // low 16 bits of p and hi = p[33:16] + p[15]. The packed operand has 25
  // bits and x 9: one DSP48E1 (25x18) per pair. A row sum fits 17 +
  // log2(Cols) bits, inside 32 for any Cols <= 2^15. Rows must be even.
  localparam int unsigned Pairs = Rows / 2;

  // The array as a function, called only while stage 1 holds an in-bounds
  // tap: Verilator evaluates all logic every cycle, so an idle array (DW,
  // PPU and DMA phases, padding taps) would otherwise cost it Rows*Cols
  // multiplies per cycle. Row r's sum is dot[r*32 +: 32].
  function automatic logic [Rows*32-1:0] pw_dot(input logic [Cols*8-1:0]      act,
                                                input logic [Rows*Cols*8-1:0] wgt,
                                                input logic [Cols-1:0]        cmask,
                                                input logic [7:0]             zp);
    logic [Cols*9-1:0]  x;  // signed 9-bit x[c] - zp per column
    logic signed [24:0] wpk;
    logic signed [33:0] ppk;
    logic [31:0]        lo, hi;
    logic [Rows*32-1:0] dot;
    for (int unsigned c = 0; c < Cols; c++) begin
      // Channels past in_c contribute nothing, whatever the SRAM holds.
      x[c*9 +: 9] = cmask[c] ? 9'(signed'(act[c*8 +: 8])) - 9'(signed'(zp)) : 9'd0;
    end
    for (int unsigned q = 0; q < Pairs; q++) begin
      lo = 32'd0;
      hi = 32'd0;
      for (int unsigned c = 0; c < Cols; c++) begin
        wpk = (25'(signed'(wgt[((2*q + 1)*Cols + c)*8 +: 8])) <<< 16) +
              25'(signed'(wgt[(2*q*Cols + c)*8 +: 8]));
        ppk = 34'(wpk) * 34'(signed'(x[c*9 +: 9]));
        lo  = lo + 32'(signed'(ppk[15:0]));
        hi  = hi + 32'(signed'(ppk[33:16])) + 32'({31'd0, ppk[15]});
      end
      dot[2*q*32 +: 32]       = lo;
      dot[(2*q + 1)*32 +: 32] = hi;
    end
    pw_dot = dot;
  endfunction

  logic [Rows*32-1:0] dot_s1;

  always_comb begin
    // Not `if/else`: Verilator would fold that into a ?: and evaluate the
    // function before it.
    dot_s1 = '0;
    if (s1_valid_q && s1_in_bounds_q) begin
      dot_s1 = pw_dot(act_rdata_i, wgt_rdata_i, s1_col_mask_q, cfg_in_zp_i);
    end
    for (int unsigned r = 0; r < Rows; r++) begin
      acc_d[r] = (s1_first_q ? (cfg_accumulate_i ? acc_rdata_i[r*32 +: 32] : bias_q[r]) :
                               acc_q[r]) + dot_s1[r*32 +: 32];
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q       <= StIdle;
      icgs_q        <= '0;
      ocgs_q        <= '0;
      org_off_q     <= '0;
      step_x_q      <= '0;
      step_y_q      <= '0;
      ocg_q         <= '0;
      oy_q          <= '0;
      ox_q          <= '0;
      ky_q          <= '0;
      kx_q          <= '0;
      icg_q         <= '0;
      iy_row_q      <= '0;
      ix_win_q      <= '0;
      iy_q          <= '0;
      ix_q          <= '0;
      row_win_ptr_q <= '0;
      win_ptr_q     <= '0;
      row_ptr_q     <= '0;
      tap_ptr_q     <= '0;
      w_grp_q       <= '0;
      w_ptr_q       <= '0;
      out_row_ptr_q <= '0;
      out_ptr_q     <= '0;
      s1_valid_q    <= 1'b0;
      wr_valid_q    <= 1'b0;
    end else if (run) begin
      state_q       <= state_d;
      icgs_q        <= icgs_d;
      ocgs_q        <= ocgs_d;
      org_off_q     <= org_off_d;
      step_x_q      <= step_x_d;
      step_y_q      <= step_y_d;
      ocg_q         <= ocg_d;
      oy_q          <= oy_d;
      ox_q          <= ox_d;
      ky_q          <= ky_d;
      kx_q          <= kx_d;
      icg_q         <= icg_d;
      iy_row_q      <= iy_row_d;
      ix_win_q      <= ix_win_d;
      iy_q          <= iy_d;
      ix_q          <= ix_d;
      row_win_ptr_q <= row_win_ptr_d;
      win_ptr_q     <= win_ptr_d;
      row_ptr_q     <= row_ptr_d;
      tap_ptr_q     <= tap_ptr_d;
      w_grp_q       <= w_grp_d;
      w_ptr_q       <= w_ptr_d;
      out_row_ptr_q <= out_row_ptr_d;
      out_ptr_q     <= out_ptr_d;
      s1_valid_q    <= issue;
      wr_valid_q    <= s1_valid_q & s1_last_q;
    end
  end

  // Data registers: qualified by the valid bits above, no reset needed.
  always_ff @(posedge clk_i) begin
    if (issue && run) begin
      s1_grp_q       <= ocg_q;
      s1_in_bounds_q <= in_bounds;
      s1_first_q     <= tap_first;
      s1_last_q      <= tap_last;
      s1_out_addr_q  <= AW'(out_ptr_q);
      s1_row_mask_q  <= row_mask;
      s1_col_mask_q  <= col_mask;
    end
    if (state_q == StBiasWait && run) begin
      for (int unsigned r = 0; r < Rows; r++) begin
        bias_q[r] <= bias_rdata_i[r*32 +: 32];
      end
    end
    if (s1_valid_q && run) begin
      for (int unsigned r = 0; r < Rows; r++) begin
        acc_q[r] <= acc_d[r];
      end
    end
    if (s1_valid_q && s1_last_q && run) begin
      wr_grp_q  <= s1_grp_q;
      wr_addr_q <= s1_out_addr_q;
      wr_mask_q <= s1_row_mask_q;
      for (int unsigned r = 0; r < Rows; r++) begin
        wr_data_q[r] <= acc_d[r];
      end
    end
  end

  assign acc_we_o    = wr_valid_q;
  assign acc_addr_o  = wr_addr_q;
  assign acc_wmask_o = wr_mask_q;
  assign acc_grp_o   = wr_grp_q;
  for (genvar r = 0; r < Rows; r++) begin : g_wdata
    assign acc_wdata_o[r*32 +: 32] = wr_data_q[r];
  end

  assign busy_o = (state_q != StIdle);
  assign done_o = (state_q == StDone);

endmodule
