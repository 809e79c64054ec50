// lwnpu conv epilogue (docs/HARDWARE.md §4.3 "Epilogue"): turns the int32
// output words of npu_pw / npu_dw into int8 in ACT SRAM when a PW_CONV or
// DW_CONV carries FLAG_EPILOGUE:
//   q[c] = clamp(npui_mbqm(acc[c], mult[c], shift[c]) + out_zp, act_min, act_max)
// with (mult, shift) of channel c from the PARAM table of the descriptor
// (docs/SCHEDULER.md §3): for channel group j of n, mult at PARAM word
// entry + n + j, shift at entry + 2n + j, lane = channel within the group.
// The bias is already in the accumulator (the engine started from it).
//
// Input: one engine output word per handshake (in_valid_i / in_ready_o):
// Rows int32 lanes, a lane mask, the ACT word address it goes to (an ACC
// word of Rows lanes is exactly one ACT word of Rows bytes, so the
// engine's output address generator runs unchanged on ACT word addresses)
// and its channel group. The engine is stalled while in_ready_o is low.
//
// Datapath: a one-word input buffer hands Lanes-wide slices to Lanes
// npu_requant lanes (Rows/Lanes cycles per word); when the group of the
// word differs from the cached one, the buffer waits while two PARAM reads
// refill the per-channel (mult, shift) registers (elements already in the
// lanes carry their own parameters). start_i (every compute descriptor)
// invalidates the cache: the next descriptor's table may differ. The slices of a word are merged at
// the lane outputs and written as one ACT word with byte enables.
//
// Both SRAM accesses use port b (the DMA's) with a grant, so the engine
// keeps port a to itself and never has to re-read: npu_top arbitrates
// store read > epilogue > load write. Reads are synchronous (data the
// cycle after a granted request).
module npu_epilogue #(
  parameter int unsigned Rows  = 16,  // int32 lanes of an input word == ACT word bytes
  parameter int unsigned Lanes = 8,   // requant lanes, power of two, <= Rows
  parameter int unsigned AW    = 16   // word-address bits
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 start_i,         // new descriptor: drop the cached parameters

  // Per descriptor, stable while busy.
  input  logic [AW-1:0]        cfg_entry_i,     // PARAM word of group 0's bias
  input  logic [AW-1:0]        cfg_ngroups_i,   // n: channel groups of the descriptor
  input  logic [7:0]           cfg_out_zp_i,
  input  logic [7:0]           cfg_act_min_i,
  input  logic [7:0]           cfg_act_max_i,

  input  logic                 in_valid_i,
  output logic                 in_ready_o,
  input  logic [AW-1:0]        in_addr_i,       // ACT word
  input  logic [Rows-1:0]      in_mask_i,
  input  logic [Rows*32-1:0]   in_data_i,
  input  logic [15:0]          in_grp_i,

  output logic                 param_req_o,
  output logic [AW-1:0]        param_addr_o,
  input  logic                 param_gnt_i,
  input  logic [Rows*32-1:0]   param_rdata_i,

  output logic                 act_we_o,
  output logic [AW-1:0]        act_waddr_o,
  output logic [Rows-1:0]      act_wbe_o,
  output logic [Rows*8-1:0]    act_wdata_o,
  input  logic                 act_gnt_i,

  output logic                 busy_o
);

  localparam int unsigned R     = Rows / Lanes;           // slices per word
  localparam int unsigned RBits = (R > 1) ? $clog2(R) : 1;
  localparam int unsigned TagW  = AW + RBits + Lanes + 1; // {addr, slice, mask, last}

  // ---- input buffer ----------------------------------------------------------
  logic              ib_valid_q;
  logic [AW-1:0]     ib_addr_q;
  logic [Rows-1:0]   ib_mask_q;
  logic [31:0]       ib_data_q [Rows];
  logic [15:0]       ib_grp_q;
  logic [RBits-1:0]  sl_q;

  // ---- parameter cache -------------------------------------------------------
  typedef enum logic [2:0] {
    PIdle,
    PMult,      // mult word requested until granted
    PMultData,  // mult word arrives
    PShift,
    PShiftData
  } pstate_e;

  pstate_e     ps_q, ps_d;
  logic        pv_q;
  logic [15:0] pgrp_q;
  logic [31:0] mult_q  [Rows];
  logic [5:0]  shift_q [Rows];
  logic        par_ok;

  assign par_ok = pv_q && (pgrp_q == ib_grp_q) && (ps_q == PIdle);

  always_comb begin
    ps_d         = ps_q;
    param_req_o  = 1'b0;
    param_addr_o = cfg_entry_i + cfg_ngroups_i + AW'(ib_grp_q);
    unique case (ps_q)
      PIdle: begin
        if (ib_valid_q && !(pv_q && pgrp_q == ib_grp_q)) begin
          ps_d = PMult;
        end
      end
      PMult: begin
        param_req_o = 1'b1;
        if (param_gnt_i) begin
          ps_d = PMultData;
        end
      end
      PMultData: ps_d = PShift;
      PShift: begin
        param_req_o  = 1'b1;
        param_addr_o = cfg_entry_i + (cfg_ngroups_i << 1) + AW'(ib_grp_q);
        if (param_gnt_i) begin
          ps_d = PShiftData;
        end
      end
      PShiftData: ps_d = PIdle;
      default: ps_d = PIdle;
    endcase
  end

  // ---- lanes ----------------------------------------------------------------------
  logic              fire, last_sl, lane_rdy, out_rdy;
  logic [Lanes-1:0]  lane_ovalid;
  logic [7:0]        lane_q [Lanes];
  logic [TagW-1:0]   tag_in, tag_out;
  logic [Lanes-1:0]  sl_mask;

  assign last_sl = (32'(sl_q) == R - 1);
  assign fire    = ib_valid_q && par_ok && lane_rdy;
  always_comb begin
    for (int unsigned l = 0; l < Lanes; l++) begin
      sl_mask[l] = ib_mask_q[32'(sl_q)*Lanes + l];
    end
  end
  assign tag_in = {ib_addr_q, sl_q, sl_mask, last_sl};

  for (genvar l = 0; l < Lanes; l++) begin : g_lane
    logic             rdy;
    logic [31:0]      unused_scaled;
    logic [TagW-1:0]  tag_o;
    npu_requant #(.TagWidth(TagW)) u_rq (
      .clk_i       (clk_i),
      .rst_ni      (rst_ni),
      .in_valid_i  (fire),
      .in_ready_o  (rdy),
      .acc_i       (ib_data_q[32'(sl_q)*Lanes + l]),
      .mult_i      (mult_q[32'(sl_q)*Lanes + l]),
      .shift_i     (shift_q[32'(sl_q)*Lanes + l]),
      .zp_i        (cfg_out_zp_i),
      .act_min_i   (cfg_act_min_i),
      .act_max_i   (cfg_act_max_i),
      .tag_i       (tag_in),
      .out_valid_o (lane_ovalid[l]),
      .out_ready_i (out_rdy),
      .scaled_o    (unused_scaled),
      .q_o         (lane_q[l]),
      .tag_o       (tag_o)
    );
    // The lanes run in lock step (same valid, same ready): lane 0 speaks
    // for all of them.
    if (l == 0) begin : g_l0
      assign lane_rdy = rdy;
      assign tag_out  = tag_o;
    end else begin : g_ln
      logic unused_l;
      assign unused_l = ^{rdy, tag_o};
    end
  end

  // ---- merge and write --------------------------------------------------------------
  logic [AW-1:0]    o_addr;
  logic [RBits-1:0] o_sl;
  logic [Lanes-1:0] o_mask;
  logic             o_last, o_valid;
  assign {o_addr, o_sl, o_mask, o_last} = tag_out;
  assign o_valid = lane_ovalid[0];
  logic unused_ovalid;
  assign unused_ovalid = ^lane_ovalid;

  logic [7:0]       asm_q  [Rows];
  logic [Rows-1:0]  asm_be_q;
  logic             wb_valid_q;
  logic [AW-1:0]    wb_addr_q;
  logic [Rows-1:0]  wb_be_q;
  logic [7:0]       wb_data_q [Rows];

  // A word's last slice needs the write buffer free (or leaving now).
  assign out_rdy = !o_last || !wb_valid_q || act_gnt_i;

  // ---- input handshake: accept when the buffer is empty or empties now ----------
  assign in_ready_o = !ib_valid_q || (fire && last_sl);

  logic [3:0] inflight_q;   // elements inside the lanes (lane 0)
  logic       o_fire;
  assign o_fire = o_valid && out_rdy;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ib_valid_q <= 1'b0;
      sl_q       <= '0;
      ps_q       <= PIdle;
      pv_q       <= 1'b0;
      pgrp_q     <= '0;
      wb_valid_q <= 1'b0;
      asm_be_q   <= '0;
      inflight_q <= '0;
    end else begin
      ps_q <= ps_d;
      if (start_i) begin
        pv_q   <= 1'b0;
      end else if (ps_q == PShiftData) begin
        pv_q   <= 1'b1;
        pgrp_q <= ib_grp_q;
      end else if (ps_q == PMult) begin
        pv_q   <= 1'b0;
      end
      if (fire) begin
        sl_q <= last_sl ? '0 : sl_q + RBits'(1);
      end
      if (in_valid_i && in_ready_o) begin
        ib_valid_q <= 1'b1;
      end else if (fire && last_sl) begin
        ib_valid_q <= 1'b0;
      end
      inflight_q <= inflight_q + 4'(fire) - 4'(o_fire);
      if (o_fire) begin
        asm_be_q <= o_last ? '0 : (asm_be_q | (Rows'(o_mask) << (32'(o_sl) * Lanes)));
      end
      if (o_fire && o_last) begin
        wb_valid_q <= 1'b1;
      end else if (act_gnt_i) begin
        wb_valid_q <= 1'b0;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (in_valid_i && in_ready_o) begin
      ib_addr_q <= in_addr_i;
      ib_mask_q <= in_mask_i;
      ib_grp_q  <= in_grp_i;
      for (int unsigned r = 0; r < Rows; r++) begin
        ib_data_q[r] <= in_data_i[r*32 +: 32];
      end
    end
    if (ps_q == PMultData) begin
      for (int unsigned r = 0; r < Rows; r++) begin
        mult_q[r] <= param_rdata_i[r*32 +: 32];
      end
    end
    if (ps_q == PShiftData) begin
      for (int unsigned r = 0; r < Rows; r++) begin
        shift_q[r] <= param_rdata_i[r*32 +: 6];
      end
    end
    if (o_fire) begin
      for (int unsigned l = 0; l < Lanes; l++) begin
        asm_q[32'(o_sl)*Lanes + l] <= lane_q[l];
      end
    end
    if (o_fire && o_last) begin
      wb_addr_q <= o_addr;
      wb_be_q   <= asm_be_q | (Rows'(o_mask) << (32'(o_sl) * Lanes));
      for (int unsigned r = 0; r < Rows; r++) begin
        wb_data_q[r] <= asm_q[r];
      end
      for (int unsigned l = 0; l < Lanes; l++) begin
        wb_data_q[32'(o_sl)*Lanes + l] <= lane_q[l];
      end
    end
  end

  assign act_we_o    = wb_valid_q;
  assign act_waddr_o = wb_addr_q;
  assign act_wbe_o   = wb_be_q;
  for (genvar r = 0; r < Rows; r++) begin : g_wdata
    assign act_wdata_o[r*8 +: 8] = wb_data_q[r];
  end

  assign busy_o = ib_valid_q || (inflight_q != 4'd0) || wb_valid_q || (ps_q != PIdle);

endmodule
