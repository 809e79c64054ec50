// lwnpu depthwise convolution engine, version 1 (docs/HARDWARE.md §4.3).
//
// Computes the int32 accumulators of a depthwise convolution, exactly
// npu_ref_s8_conv2d_acc32 with groups == channels:
//   acc[oy][ox][c] = bias[c] + sum over taps inside the input of
//                    (x[iy][ix][c] - in_zp) * w[ky][kx][c]
// Taps in the padding are skipped, which equals reading in_zp there. Any
// kernel size 1..15, stride 1..15 and padding < kernel are accepted here;
// the descriptor decoder restricts DW_CONV to 3x3/5x5, stride 1/2.
//
// Lanes channels run in parallel, one tap per cycle: a KxK output pixel of
// a channel group takes K*K cycles. Memory views, all in words of one
// channel group (Lanes channels, padded with don't-care lanes):
//   ACT  (int8 x Lanes)   input, word addr = in_base + g
//                               + iy * in_row_stride + ix * in_pix_stride
//   WGT  (int8 x Lanes)   weights HWC, word addr = w_base + g + (ky*kw + kx) * groups
//   BIAS (int32 x Lanes)  word addr = bias_base + g
//   ACC  (int32 x Lanes)  output, word addr = out_base + g
//                               + oy * out_row_stride + ox * out_pix_stride
// with groups = ceil(channels / Lanes). Reads are synchronous SRAM ports:
// data one cycle after the request, and the engine owns them while busy
// (no back-pressure). Lanes beyond `channels` are computed but masked off
// in acc_wmask_o.
//
// The cfg_* inputs must be stable from start_i until done_o.
module npu_dw #(
  parameter int unsigned Lanes = 16,  // power of two
  parameter int unsigned AW    = 16   // SRAM word-address bits
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,

  input  logic                 start_i,
  input  logic                 stall_i,     // freeze (see npu_pw)
  output logic                 busy_o,
  output logic                 done_o,      // one-cycle pulse at the end

  input  logic [AW-1:0]        cfg_in_base_i,
  input  logic [AW-1:0]        cfg_w_base_i,
  input  logic [AW-1:0]        cfg_bias_base_i,
  input  logic [AW-1:0]        cfg_out_base_i,
  input  logic [15:0]          cfg_in_h_i,
  input  logic [15:0]          cfg_in_w_i,
  input  logic [15:0]          cfg_channels_i,
  input  logic [15:0]          cfg_out_h_i,
  input  logic [15:0]          cfg_out_w_i,
  input  logic [3:0]           cfg_kh_i,
  input  logic [3:0]           cfg_kw_i,
  input  logic [3:0]           cfg_stride_h_i,
  input  logic [3:0]           cfg_stride_w_i,
  input  logic [3:0]           cfg_pad_t_i,
  input  logic [3:0]           cfg_pad_l_i,
  input  logic [7:0]           cfg_in_zp_i,         // signed
  input  logic [AW-1:0]        cfg_in_row_stride_i,  // words
  input  logic [AW-1:0]        cfg_in_pix_stride_i,
  input  logic [AW-1:0]        cfg_out_row_stride_i,
  input  logic [AW-1:0]        cfg_out_pix_stride_i,

  output logic                 act_req_o,
  output logic [AW-1:0]        act_addr_o,
  input  logic [Lanes*8-1:0]   act_rdata_i,
  output logic                 wgt_req_o,
  output logic [AW-1:0]        wgt_addr_o,
  input  logic [Lanes*8-1:0]   wgt_rdata_i,
  output logic                 bias_req_o,
  output logic [AW-1:0]        bias_addr_o,
  input  logic [Lanes*32-1:0]  bias_rdata_i,

  output logic                 acc_we_o,
  output logic [AW-1:0]        acc_addr_o,
  output logic [Lanes-1:0]     acc_wmask_o,
  output logic [Lanes*32-1:0]  acc_wdata_o,
  output logic [15:0]          acc_grp_o    // channel group of the word
);

  localparam int unsigned LaneBits = (Lanes > 1) ? $clog2(Lanes) : 1;

  // Pointers are signed and wider than an address: a window origin in the
  // padding lies before the tensor. Only in-bounds taps use them.
  // (Plain declarations, no typedef casts: yosys 0.23 rejects casts to
  // user types.)

  typedef enum logic [2:0] {
    StIdle,
    StBias,      // bias read of group g issued
    StBiasWait,  // bias data arrives
    StRun,       // one tap issued per cycle
    StDrain,     // last taps in flight
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
  logic [15:0] ngroups_d, ngroups_q;
  logic signed [31:0] org_off_d, org_off_q;   // -(pad_t*row_stride + pad_l*pix_stride)
  logic signed [31:0] step_x_d, step_x_q;     // stride_w * pix_stride
  logic signed [31:0] step_y_d, step_y_q;     // stride_h * row_stride

  // ---- loop state ------------------------------------------------------------
  logic [15:0] g_d, g_q;
  logic [15:0] oy_d, oy_q, ox_d, ox_q;
  logic [3:0]  ky_d, ky_q, kx_d, kx_q;
  logic signed [17:0] iy_row_d, iy_row_q;     // oy*stride_h - pad_t
  logic signed [17:0] ix_win_d, ix_win_q;     // ox*stride_w - pad_l
  logic signed [17:0] iy_d, iy_q, ix_d, ix_q; // current tap
  logic signed [31:0] row_win_ptr_d, row_win_ptr_q;  // window origin of (oy, 0)
  logic signed [31:0] win_ptr_d, win_ptr_q;          // window origin of (oy, ox)
  logic signed [31:0] row_ptr_d, row_ptr_q;          // tap (ky, 0)
  logic signed [31:0] tap_ptr_d, tap_ptr_q;          // tap (ky, kx)
  logic signed [31:0] w_ptr_d, w_ptr_q;
  logic signed [31:0] out_row_ptr_d, out_row_ptr_q;
  logic signed [31:0] out_ptr_d, out_ptr_q;

  // ---- pipeline registers (stage 1: MAC, stage 2: accumulator write) -------
  logic              s1_valid_q, s1_in_bounds_q, s1_first_q, s1_last_q;
  logic [AW-1:0]     s1_out_addr_q;
  logic [15:0]       s1_grp_q, wr_grp_q;
  logic [Lanes-1:0]  s1_mask_q;
  logic [31:0]       bias_q [Lanes];
  logic [31:0]       acc_q  [Lanes];
  logic [31:0]       acc_d  [Lanes];
  logic              wr_valid_q;
  logic [AW-1:0]     wr_addr_q;
  logic [Lanes-1:0]  wr_mask_q;
  logic [31:0]       wr_data_q [Lanes];

  // ---- issue ----------------------------------------------------------------------
  logic        issue, in_bounds, tap_first, tap_last;
  logic [Lanes-1:0] lane_mask;
  logic [15:0] lanes_left;

  assign issue      = (state_q == StRun);
  assign in_bounds  = (iy_q >= 0) && (iy_q < $signed({2'b00, cfg_in_h_i})) &&
                      (ix_q >= 0) && (ix_q < $signed({2'b00, cfg_in_w_i}));
  assign tap_first  = (ky_q == 4'd0) && (kx_q == 4'd0);
  assign tap_last   = (ky_q == cfg_kh_i - 4'd1) && (kx_q == cfg_kw_i - 4'd1);
  assign lanes_left = cfg_channels_i - (g_q << LaneBits);

  always_comb begin
    for (int unsigned l = 0; l < Lanes; l++) begin
      lane_mask[l] = (32'(lanes_left) > l);
    end
  end

  // Input pointer of window (0, 0) of group g.
  logic signed [31:0] grp_in;
  assign grp_in = $signed({16'd0, cfg_in_base_i}) + $signed({16'd0, g_q}) + org_off_q;

  always_comb begin
    state_d       = state_q;
    ngroups_d     = ngroups_q;
    org_off_d     = org_off_q;
    step_x_d      = step_x_q;
    step_y_d      = step_y_q;
    g_d           = g_q;
    oy_d          = oy_q;
    ox_d          = ox_q;
    ky_d          = ky_q;
    kx_d          = kx_q;
    iy_row_d      = iy_row_q;
    ix_win_d      = ix_win_q;
    iy_d          = iy_q;
    ix_d          = ix_q;
    row_win_ptr_d = row_win_ptr_q;
    win_ptr_d     = win_ptr_q;
    row_ptr_d     = row_ptr_q;
    tap_ptr_d     = tap_ptr_q;
    w_ptr_d       = w_ptr_q;
    out_row_ptr_d = out_row_ptr_q;
    out_ptr_d     = out_ptr_q;

    unique case (state_q)
      StIdle: begin
        if (start_i) begin
          ngroups_d = (cfg_channels_i + 16'(Lanes - 1)) >> LaneBits;
          org_off_d = -$signed(mul_small(cfg_pad_t_i, 32'(cfg_in_row_stride_i)) +
                               mul_small(cfg_pad_l_i, 32'(cfg_in_pix_stride_i)));
          step_x_d  = $signed(mul_small(cfg_stride_w_i, 32'(cfg_in_pix_stride_i)));
          step_y_d  = $signed(mul_small(cfg_stride_h_i, 32'(cfg_in_row_stride_i)));
          g_d       = 16'd0;
          state_d   = StBias;
        end
      end

      StBias: begin
        // Reset the loops to the origin of group g while its bias is read.
        oy_d          = 16'd0;
        ox_d          = 16'd0;
        ky_d          = 4'd0;
        kx_d          = 4'd0;
        iy_row_d      = -$signed({14'd0, cfg_pad_t_i});
        ix_win_d      = -$signed({14'd0, cfg_pad_l_i});
        iy_d          = -$signed({14'd0, cfg_pad_t_i});
        ix_d          = -$signed({14'd0, cfg_pad_l_i});
        row_win_ptr_d = grp_in;
        win_ptr_d     = grp_in;
        row_ptr_d     = grp_in;
        tap_ptr_d     = grp_in;
        w_ptr_d       = $signed({16'd0, cfg_w_base_i}) + $signed({16'd0, g_q});
        out_row_ptr_d = $signed({16'd0, cfg_out_base_i}) + $signed({16'd0, g_q});
        out_ptr_d     = $signed({16'd0, cfg_out_base_i}) + $signed({16'd0, g_q});
        state_d       = StBiasWait;
      end

      StBiasWait: state_d = StRun;

      StRun: begin
        if (kx_q != cfg_kw_i - 4'd1) begin
          // Next tap in the same kernel row.
          kx_d      = kx_q + 4'd1;
          ix_d      = ix_q + 18'sd1;
          tap_ptr_d = tap_ptr_q + $signed({16'd0, cfg_in_pix_stride_i});
          w_ptr_d   = w_ptr_q + $signed({16'd0, ngroups_q});
        end else if (ky_q != cfg_kh_i - 4'd1) begin
          // Next kernel row.
          kx_d      = 4'd0;
          ky_d      = ky_q + 4'd1;
          ix_d      = ix_win_q;
          iy_d      = iy_q + 18'sd1;
          row_ptr_d = row_ptr_q + $signed({16'd0, cfg_in_row_stride_i});
          tap_ptr_d = row_ptr_q + $signed({16'd0, cfg_in_row_stride_i});
          w_ptr_d   = w_ptr_q + $signed({16'd0, ngroups_q});
        end else begin
          // Output pixel done.
          kx_d    = 4'd0;
          ky_d    = 4'd0;
          w_ptr_d = $signed({16'd0, cfg_w_base_i}) + $signed({16'd0, g_q});
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
          end else if (g_q != ngroups_q - 16'd1) begin
            g_d     = g_q + 16'd1;
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

  logic run;
  assign run = !stall_i;

  assign act_req_o   = issue & in_bounds & run;
  assign act_addr_o  = AW'(tap_ptr_q);
  assign wgt_req_o   = issue & in_bounds & run;
  assign wgt_addr_o  = AW'(w_ptr_q);
  assign bias_req_o  = (state_q == StBias) & run;
  assign bias_addr_o = cfg_bias_base_i + AW'(g_q);

  // ---- stage 1: multiply-accumulate (read data arrives) ---------------------------

  // |x - zp| <= 255 and |w| <= 128: the product fits 17 signed bits.
  logic signed [8:0]  x_s1    [Lanes];
  logic signed [16:0] prod_s1 [Lanes];

  always_comb begin
    for (int unsigned l = 0; l < Lanes; l++) begin
      x_s1[l]    = 9'(signed'(act_rdata_i[l*8 +: 8])) - 9'(signed'(cfg_in_zp_i));
      prod_s1[l] = 17'(x_s1[l]) * 17'(signed'(wgt_rdata_i[l*8 +: 8]));
      acc_d[l]   = (s1_first_q ? bias_q[l] : acc_q[l]) +
                   (s1_in_bounds_q ? 32'(prod_s1[l]) : 32'd0);
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q       <= StIdle;
      ngroups_q     <= '0;
      org_off_q     <= '0;
      step_x_q      <= '0;
      step_y_q      <= '0;
      g_q           <= '0;
      oy_q          <= '0;
      ox_q          <= '0;
      ky_q          <= '0;
      kx_q          <= '0;
      iy_row_q      <= '0;
      ix_win_q      <= '0;
      iy_q          <= '0;
      ix_q          <= '0;
      row_win_ptr_q <= '0;
      win_ptr_q     <= '0;
      row_ptr_q     <= '0;
      tap_ptr_q     <= '0;
      w_ptr_q       <= '0;
      out_row_ptr_q <= '0;
      out_ptr_q     <= '0;
      s1_valid_q    <= 1'b0;
      wr_valid_q    <= 1'b0;
    end else if (run) begin
      state_q       <= state_d;
      ngroups_q     <= ngroups_d;
      org_off_q     <= org_off_d;
      step_x_q      <= step_x_d;
      step_y_q      <= step_y_d;
      g_q           <= g_d;
      oy_q          <= oy_d;
      ox_q          <= ox_d;
      ky_q          <= ky_d;
      kx_q          <= kx_d;
      iy_row_q      <= iy_row_d;
      ix_win_q      <= ix_win_d;
      iy_q          <= iy_d;
      ix_q          <= ix_d;
      row_win_ptr_q <= row_win_ptr_d;
      win_ptr_q     <= win_ptr_d;
      row_ptr_q     <= row_ptr_d;
      tap_ptr_q     <= tap_ptr_d;
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
      s1_grp_q      <= g_q;
      s1_in_bounds_q   <= in_bounds;
      s1_first_q    <= tap_first;
      s1_last_q     <= tap_last;
      s1_out_addr_q <= AW'(out_ptr_q);
      s1_mask_q     <= lane_mask;
    end
    if (state_q == StBiasWait && run) begin
      for (int unsigned l = 0; l < Lanes; l++) begin
        bias_q[l] <= bias_rdata_i[l*32 +: 32];
      end
    end
    if (s1_valid_q && run) begin
      for (int unsigned l = 0; l < Lanes; l++) begin
        acc_q[l] <= acc_d[l];
      end
    end
    if (s1_valid_q && s1_last_q && run) begin
      wr_grp_q  <= s1_grp_q;
      wr_addr_q <= s1_out_addr_q;
      wr_mask_q <= s1_mask_q;
      for (int unsigned l = 0; l < Lanes; l++) begin
        wr_data_q[l] <= acc_d[l];
      end
    end
  end

  assign acc_we_o    = wr_valid_q;
  assign acc_addr_o  = wr_addr_q;
  assign acc_wmask_o = wr_mask_q;
  assign acc_grp_o   = wr_grp_q;
  for (genvar l = 0; l < Lanes; l++) begin : g_wdata
    assign acc_wdata_o[l*32 +: 32] = wr_data_q[l];
  end

  assign busy_o = (state_q != StIdle);
  assign done_o = (state_q == StDone);

endmodule
