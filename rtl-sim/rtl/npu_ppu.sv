// lwnpu post-processing unit (docs/HARDWARE.md §4.8): requantize, residual
// add, pooling. One job at a time, selected by cfg_op_i:
//
//   NPU_HW_OP_PPU_REQUANT  int32 ACC -> int8 ACT, per channel
//       q = clamp(npui_mbqm(acc, mult[c], shift[c]) + out_zp, act_min, act_max)
//   NPU_HW_OP_PPU_ADD      two int8 ACT streams -> int8 ACT, npu_ref_s8_add:
//       y0 = mbqm((a - in_zp) << 20, in_mult, in_shift)
//       y1 = mbqm((b - in2_zp) << 20, in2_mult, in2_shift)
//       q  = clamp(mbqm(y0 + y1, out_mult, out_shift) + out_zp, act_min, act_max)
//   NPU_HW_OP_PPU_POOL     int8 ACT -> int8 ACT, npu_ref_s8_maxpool / avgpool / gap
//       MAX:    clamp(max over valid taps, act_min, act_max)
//       AVG:    clamp(mbqm(sum(x - in_zp), M[count]) + out_zp, act)
//       GLOBAL: the same over the whole in_h x in_w, M = (out_mult, out_shift)
//
// Every int8 result goes through one of Lanes npu_requant lanes (MAX with
// the identity multiplier 2^30, shift 1, zero point 0); ADD chains two more
// lanes in front of the first AddLanes of them (the input passes, scaled_o
// between them) and runs AddLanes-wide slices.
//
// Memory views (word addresses; the decoder converts descriptor byte
// addresses). ACT words are ActBytes int8 channels, NHWC, every pixel
// starting on a word; ACC and PARAM words are AccLanes int32 lanes.
//   REQUANT  ACC   src_base + p*src_pix_stride + g       (g = c / AccLanes)
//            PARAM mult_base + g, shift_base + g         (lane c % AccLanes;
//                                                          shift in bits 5:0)
//            ACT   dst_base + p*dst_pix_stride + c / ActBytes
//   ADD      ACT   src_base + i, src2_base + i -> dst_base + i, i < ceil(count/ActBytes);
//                  bytes past `count` in the last word are not written
//   POOL     ACT   src_base + iy*src_row_stride + ix*src_pix_stride + c / ActBytes
//            ACT   dst_base + oy*dst_row_stride + ox*dst_pix_stride + c / ActBytes
//            AVG: PARAM entry e = count - 1 at word mult_base + e, mult in
//            lane 0, shift in lane 1 (docs/SCHEDULER.md §3, one entry a word)
// Lanes of a word past `channels` are computed but never written (byte
// enables). ADD may write in place (dst == src or src2); POOL may not.
//
// Port conventions as npu_dw: cfg_* stable from start_i until done_o;
// synchronous SRAM read ports (data the cycle after *_req_o, which the
// PPU owns while busy: no back-pressure); ACT writes with byte enables,
// one per ACT word (the Lanes-wide slices of a word are merged). With
// ActOnePort, act_req_o and act_we_o are never high in the same cycle, so
// both can be muxed onto one read/write port (act_we_o selects the write).
// Throughput (steady state):
//   REQUANT  Lanes channels per cycle, + 2 cycles per AccLanes channel group
//   ADD      ActBytes elements per max(2, ActBytes/AddLanes) cycles (a and
//            b words alternate on the ACT read port), + up to 1 cycle per
//            word with ActOnePort (the write): 16 per 4 at the default
//   POOL     one window tap (ActBytes channels) per cycle, at least
//            ActBytes/Lanes cycles per output word (+ 1 with ActOnePort)
// plus the pipeline latency (about 10 cycles, 17 for ADD) once per job.
//
// Descriptor fields (§4.4-4.6; npu_top slices them with the generated
// npu_regs_pkg::NPU_DESC_<LAYOUT>_<FIELD>_BIT/_WIDTH) to cfg_* (byte
// addresses / word size):
//   REQUANT  src_addr -> src_base (ACC), dst_addr -> dst_base, param_entry:
//            mult_base = entry + G, shift_base = entry + 2G (G =
//            ceil(C/AccLanes), bias not read), pixels, channels, out_zp,
//            act_min/max; src_pix_stride = G, dst_pix_stride = ceil(C/ActBytes)
//   ADD      src_a_addr -> src_base, src_b_addr -> src2_base, dst_addr,
//            count, in0_zp / in1_zp / out_zp, in0_mult / in1_mult / out_mult,
//            the three shifts (bits 5:0 of each), act_min/max
//   POOL     src_addr, dst_addr, param_entry -> mult_base (AVG table), in_h,
//            in_w, channels, out_h, out_w, kh/kw/strides/pads, mode (bits
//            1:0), count_include_pad, in_zp, out_zp, act_min/max,
//            global_mult / global_shift -> out_mult / out_shift (GLOBAL);
//            src/dst_pix_stride = ceil(C/ActBytes), src_row_stride = in_w *
//            that, dst_row_stride = out_w * that
module npu_ppu #(
  parameter int unsigned Lanes    = 8,   // requant lanes (PpuLanes), power of two
  parameter int unsigned AccLanes = 16,  // int32 lanes of an ACC/PARAM word, >= Lanes
  parameter int unsigned ActBytes = 16,  // bytes of an ACT word, >= Lanes
  parameter int unsigned AW       = 16,  // SRAM word-address bits
  // 1: ACT read and write share one SRAM port (npu_sram port a): an ACT
  // write takes the cycle and a read due then waits. 0: separate ports.
  parameter bit          ActOnePort = 1'b1,
  // Lanes with the two ADD input passes (<= Lanes, power of two): each
  // costs two more npu_requant, narrow ones (AccZeros 20: 2 DSP48E1 each,
  // 4 in all). ADD then runs AddLanes elements per cycle at most; 4 keeps
  // the default build in the DSP budget (docs/HARDWARE.md §4.8).
  parameter int unsigned AddLanes = (Lanes > 4) ? 4 : Lanes
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,

  input  logic                    start_i,
  output logic                    busy_o,
  output logic                    done_o,     // one-cycle pulse at the end

  input  logic [7:0]              cfg_op_i,   // NPU_HW_OP_PPU_*
  input  logic [1:0]              cfg_pool_mode_i,          // NPU_HW_POOL_* [1:0]
  input  logic                    cfg_count_include_pad_i,  // AVG divisor kh*kw
  input  logic [AW-1:0]           cfg_src_base_i,     // REQUANT: ACC; ADD a, POOL: ACT
  input  logic [AW-1:0]           cfg_src2_base_i,    // ADD b: ACT
  input  logic [AW-1:0]           cfg_dst_base_i,     // ACT
  input  logic [AW-1:0]           cfg_mult_base_i,    // PARAM: REQUANT mult, AVG table
  input  logic [AW-1:0]           cfg_shift_base_i,   // PARAM: REQUANT shift
  input  logic [AW-1:0]           cfg_src_pix_stride_i,  // REQUANT: ACC words, POOL: ACT
  input  logic [AW-1:0]           cfg_src_row_stride_i,  // POOL
  input  logic [AW-1:0]           cfg_dst_pix_stride_i,  // REQUANT, POOL
  input  logic [AW-1:0]           cfg_dst_row_stride_i,  // POOL
  input  logic [15:0]             cfg_pixels_i,       // REQUANT
  input  logic [15:0]             cfg_channels_i,     // REQUANT, POOL
  input  logic [31:0]             cfg_count_i,        // ADD elements
  input  logic [15:0]             cfg_in_h_i,         // POOL
  input  logic [15:0]             cfg_in_w_i,
  input  logic [15:0]             cfg_out_h_i,        // POOL MAX/AVG
  input  logic [15:0]             cfg_out_w_i,
  input  logic [3:0]              cfg_kh_i,           // POOL MAX/AVG, 1..15
  input  logic [3:0]              cfg_kw_i,
  input  logic [3:0]              cfg_stride_h_i,
  input  logic [3:0]              cfg_stride_w_i,
  input  logic [3:0]              cfg_pad_t_i,        // < kh
  input  logic [3:0]              cfg_pad_l_i,        // < kw
  input  logic [7:0]              cfg_in_zp_i,        // s8: ADD a, POOL input
  input  logic [7:0]              cfg_in2_zp_i,       // s8: ADD b
  input  logic [7:0]              cfg_out_zp_i,       // s8: all but MAX
  input  logic [31:0]             cfg_in_mult_i,      // ADD a
  input  logic [5:0]              cfg_in_shift_i,     // s6, -31..30
  input  logic [31:0]             cfg_in2_mult_i,     // ADD b
  input  logic [5:0]              cfg_in2_shift_i,
  input  logic [31:0]             cfg_out_mult_i,     // ADD out, POOL GLOBAL
  input  logic [5:0]              cfg_out_shift_i,
  input  logic [7:0]              cfg_act_min_i,      // s8 clamp bounds
  input  logic [7:0]              cfg_act_max_i,

  output logic                    acc_req_o,
  output logic [AW-1:0]           acc_addr_o,
  input  logic [AccLanes*32-1:0]  acc_rdata_i,
  output logic                    param_req_o,
  output logic [AW-1:0]           param_addr_o,
  input  logic [AccLanes*32-1:0]  param_rdata_i,
  output logic                    act_req_o,
  output logic [AW-1:0]           act_addr_o,
  input  logic [ActBytes*8-1:0]   act_rdata_i,

  output logic                    act_we_o,
  output logic [AW-1:0]           act_waddr_o,
  output logic [ActBytes-1:0]     act_wbe_o,
  output logic [ActBytes*8-1:0]   act_wdata_o
);

  // ---- derived constants -------------------------------------------------
  localparam int unsigned LaneBits  = (Lanes > 1) ? $clog2(Lanes) : 1;
  localparam int unsigned AccR      = AccLanes / Lanes;   // slices per ACC word
  localparam int unsigned ActR      = ActBytes / Lanes;   // slices per ACT word
  localparam int unsigned AccRBits  = (AccR > 1) ? $clog2(AccR) : 1;
  localparam int unsigned ActRBits  = (ActR > 1) ? $clog2(ActR) : 1;
  localparam int unsigned AccShift  = $clog2(AccLanes);
  localparam int unsigned ActShift  = $clog2(ActBytes);
  // AVG entries per PARAM word: one (the scheduler's table, docs/SCHEDULER.md
  // §3); the lane-pair selection below is kept for a packed table.
  localparam int unsigned Pairs     = 1;
  localparam int unsigned PairBits  = (Pairs > 1) ? $clog2(Pairs) : 1;
  localparam int unsigned AddR      = ActBytes / AddLanes; // ADD slices per ACT word
  localparam int unsigned FdBits    = (AddR > 1) ? $clog2(AddR) : 1;  // >= ActRBits
  localparam int unsigned AddPeriod = (AddR > 2) ? AddR : 2;  // cycles per ADD word
  // Write tag carried through the lanes: ACT word, slice within it, lane
  // mask, last slice of the word (write it out).
  localparam int unsigned TagW      = AW + FdBits + Lanes + 1;

  // ---- op decode (cfg is stable while busy) --------------------------------
  logic op_rq, op_add, op_pool, pool_max, pool_glb;
  assign op_rq    = (cfg_op_i == npu_regs_pkg::NPU_HW_OP_PPU_REQUANT);
  assign op_add   = (cfg_op_i == npu_regs_pkg::NPU_HW_OP_PPU_ADD);
  assign op_pool  = (cfg_op_i == npu_regs_pkg::NPU_HW_OP_PPU_POOL);
  assign pool_max = ({6'd0, cfg_pool_mode_i} == npu_regs_pkg::NPU_HW_POOL_MAX);
  assign pool_glb = ({6'd0, cfg_pool_mode_i} == npu_regs_pkg::NPU_HW_POOL_GLOBAL);

  // n * s for a 4-bit n by shift and add (per-job setup, no DSP).
  function automatic logic [31:0] mul_small(input logic [3:0] n, input logic [31:0] s);
    logic [31:0] r;
    r = 32'd0;
    for (int i = 0; i < 4; i++) begin
      if (n[i]) begin
        r = r + (s << i);
      end
    end
    mul_small = r;
  endfunction

  typedef enum logic [3:0] {
    StIdle,
    StRqMult,   // REQUANT: PARAM read of group g's multipliers
    StRqShift,  // REQUANT: PARAM read of group g's shifts
    StRqRun,    // REQUANT: one ACC slice per cycle
    StAdd,      // ADD: a word, b word, idle phases
    StPoolInit, // POOL: per-job products are ready
    StPoolRun,  // POOL: one window tap per cycle
    StPoolPad,  // POOL: window shorter than ActR cycles
    StDrain,    // last elements in the pipeline
    StDone
  } state_e;

  state_e state_d, state_q;

  // Elements between entering a lane and leaving the main lane: the
  // pipeline is empty when this is zero and no front stage holds data.
  logic [5:0] inflight_q;
  logic       lane_enter, pipe_busy;
  logic       wr_valid_q;  // an ACT write is on the port this cycle

  // ---- issue-side loop state -----------------------------------------------
  // REQUANT: group g (AccLanes channels), pixel p, slice j within the ACC
  // word; s = g*AccR + j is the global slice index (Lanes channels).
  logic [15:0] ngrp_d, ngrp_q;      // REQUANT: ACC groups; POOL: ACT groups
  logic [15:0] nsl_d, nsl_q;        // REQUANT: slices
  logic [15:0] g_d, g_q;
  logic [15:0] p_d, p_q;
  logic [15:0] s_d, s_q;
  logic [15:0] sbase_d, sbase_q;    // first slice of group g
  logic [AccRBits-1:0] j_d, j_q;
  logic [AW-1:0] src_ptr_d, src_ptr_q;  // REQUANT: ACC word of (p, g)
  logic [AW-1:0] dst_ptr_d, dst_ptr_q;  // REQUANT: ACT word of (p, channel 0)

  // ADD: word i, remaining elements from word i on, phase within the word.
  logic [AW-1:0] wi_d, wi_q;
  logic [31:0]   rem_d, rem_q;
  logic [7:0]    ph_d, ph_q;

  // POOL (as npu_dw): group, output pixel, tap; signed pointers because a
  // window origin in the padding lies before the tensor.
  logic [15:0] kh_e_d, kh_e_q, kw_e_d, kw_e_q;   // GLOBAL: in_h x in_w
  logic [15:0] oh_e_d, oh_e_q, ow_e_d, ow_e_q;
  logic [3:0]  pt_e_d, pt_e_q, pl_e_d, pl_e_q;
  logic signed [31:0] org_off_d, org_off_q;
  logic signed [31:0] step_x_d, step_x_q, step_y_d, step_y_q;
  logic [15:0] oy_d, oy_q, ox_d, ox_q, ky_d, ky_q, kx_d, kx_q;
  logic signed [17:0] iy_row_d, iy_row_q, ix_win_d, ix_win_q, iy_d, iy_q, ix_d, ix_q;
  logic signed [31:0] grp_ptr_d, grp_ptr_q;        // window (0,0) of group g
  logic signed [31:0] row_win_ptr_d, row_win_ptr_q;
  logic signed [31:0] win_ptr_d, win_ptr_q;
  logic signed [31:0] row_ptr_d, row_ptr_q;
  logic signed [31:0] tap_ptr_d, tap_ptr_q;
  logic [AW-1:0] out_row_ptr_d, out_row_ptr_q, out_ptr_d, out_ptr_q;
  logic [7:0]  cnt_d, cnt_q;      // taps counted for the AVG divisor
  logic [7:0]  wcyc_d, wcyc_q;    // cycles in this window, saturating at ActR-1

  // ---- issue outputs (to the data stage) ----------------------------------
  logic              is_rq, is_pm, is_ps, is_pool, is_adda, is_addb;
  logic [AW-1:0]     is_waddr;
  logic [ActRBits-1:0] is_wpart;
  logic [Lanes-1:0]  is_lmask;
  logic [ActBytes-1:0] is_bmask;
  logic [AccRBits-1:0] is_apart;
  logic              is_first, is_last, is_inb;
  logic [PairBits-1:0] is_pair;
  logic              is_wlast;
  logic              act_rd;     // the FSM wants an ACT read this cycle
  logic              hold;       // ... but the write owns the port: wait

  // ---- REQUANT helpers -----------------------------------------------------
  logic [15:0] rq_left;        // channels from slice s on
  logic        rq_last_j;
  assign rq_left   = cfg_channels_i - (s_q << LaneBits);
  assign rq_last_j = (32'(j_q) == AccR - 1) || (s_q == nsl_q - 16'd1);

  // ---- POOL helpers --------------------------------------------------------
  logic        pl_inb, pl_last_tap, pl_next_win;
  logic [15:0] pl_left;
  logic [7:0]  pl_count, pl_entry;
  assign pl_inb      = (iy_q >= 0) && (iy_q < $signed({2'b00, cfg_in_h_i})) &&
                       (ix_q >= 0) && (ix_q < $signed({2'b00, cfg_in_w_i}));
  assign pl_last_tap = (ky_q == kh_e_q - 16'd1) && (kx_q == kw_e_q - 16'd1);
  assign pl_next_win = (32'(wcyc_q) + 1 >= ActR) &&
                       (((state_q == StPoolRun) && pl_last_tap) || (state_q == StPoolPad));
  assign pl_left     = cfg_channels_i - (g_q << ActShift);
  assign pl_count    = cnt_q + {7'd0, pl_inb | cfg_count_include_pad_i};
  assign pl_entry    = pl_count - 8'd1;

  always_comb begin
    state_d       = state_q;
    ngrp_d        = ngrp_q;
    nsl_d         = nsl_q;
    g_d           = g_q;
    p_d           = p_q;
    s_d           = s_q;
    sbase_d       = sbase_q;
    j_d           = j_q;
    src_ptr_d     = src_ptr_q;
    dst_ptr_d     = dst_ptr_q;
    wi_d          = wi_q;
    rem_d         = rem_q;
    ph_d          = ph_q;
    kh_e_d        = kh_e_q;
    kw_e_d        = kw_e_q;
    oh_e_d        = oh_e_q;
    ow_e_d        = ow_e_q;
    pt_e_d        = pt_e_q;
    pl_e_d        = pl_e_q;
    org_off_d     = org_off_q;
    step_x_d      = step_x_q;
    step_y_d      = step_y_q;
    oy_d          = oy_q;
    ox_d          = ox_q;
    ky_d          = ky_q;
    kx_d          = kx_q;
    iy_row_d      = iy_row_q;
    ix_win_d      = ix_win_q;
    iy_d          = iy_q;
    ix_d          = ix_q;
    grp_ptr_d     = grp_ptr_q;
    row_win_ptr_d = row_win_ptr_q;
    win_ptr_d     = win_ptr_q;
    row_ptr_d     = row_ptr_q;
    tap_ptr_d     = tap_ptr_q;
    out_row_ptr_d = out_row_ptr_q;
    out_ptr_d     = out_ptr_q;
    cnt_d         = cnt_q;
    wcyc_d        = wcyc_q;

    is_rq    = 1'b0;
    is_pm    = 1'b0;
    is_ps    = 1'b0;
    is_pool  = 1'b0;
    is_adda  = 1'b0;
    is_addb  = 1'b0;
    is_waddr = '0;
    is_wpart = '0;
    is_lmask = '0;
    is_bmask = '0;
    is_apart = j_q;
    is_first = 1'b0;
    is_last  = 1'b0;
    is_inb   = 1'b0;
    is_pair  = '0;
    is_wlast = 1'b1;

    acc_req_o    = 1'b0;
    acc_addr_o   = src_ptr_q;
    param_req_o  = 1'b0;
    param_addr_o = cfg_mult_base_i;
    act_rd       = 1'b0;
    act_addr_o   = AW'(tap_ptr_q);

    unique case (state_q)
      StIdle: begin
        if (start_i) begin
          g_d = 16'd0;
          if (op_rq) begin
            ngrp_d    = 16'((32'(cfg_channels_i) + AccLanes - 1) >> AccShift);
            nsl_d     = 16'((32'(cfg_channels_i) + Lanes - 1) >> LaneBits);
            sbase_d   = 16'd0;
            state_d   = (cfg_pixels_i == 16'd0 || cfg_channels_i == 16'd0) ? StDrain : StRqMult;
          end else if (op_add) begin
            wi_d    = '0;
            rem_d   = cfg_count_i;
            ph_d    = 8'd0;
            state_d = (cfg_count_i == 32'd0) ? StDrain : StAdd;
          end else if (op_pool) begin
            ngrp_d    = 16'((32'(cfg_channels_i) + ActBytes - 1) >> ActShift);
            kh_e_d    = pool_glb ? cfg_in_h_i : {12'd0, cfg_kh_i};
            kw_e_d    = pool_glb ? cfg_in_w_i : {12'd0, cfg_kw_i};
            oh_e_d    = pool_glb ? 16'd1 : cfg_out_h_i;
            ow_e_d    = pool_glb ? 16'd1 : cfg_out_w_i;
            pt_e_d    = pool_glb ? 4'd0 : cfg_pad_t_i;
            pl_e_d    = pool_glb ? 4'd0 : cfg_pad_l_i;
            org_off_d = -$signed(mul_small(pool_glb ? 4'd0 : cfg_pad_t_i,
                                           32'(cfg_src_row_stride_i)) +
                                 mul_small(pool_glb ? 4'd0 : cfg_pad_l_i,
                                           32'(cfg_src_pix_stride_i)));
            step_x_d  = $signed(mul_small(cfg_stride_w_i, 32'(cfg_src_pix_stride_i)));
            step_y_d  = $signed(mul_small(cfg_stride_h_i, 32'(cfg_src_row_stride_i)));
            state_d   = (cfg_channels_i == 16'd0 || cfg_in_h_i == 16'd0 ||
                         cfg_in_w_i == 16'd0 ||
                         (!pool_glb && (cfg_out_h_i == 16'd0 || cfg_out_w_i == 16'd0 ||
                                        cfg_kh_i == 4'd0 || cfg_kw_i == 4'd0)))
                        ? StDrain : StPoolInit;
          end else begin
            state_d = StDrain;  // not a PPU op: nothing to do
          end
        end
      end

      // ---- REQUANT ----------------------------------------------------------
      StRqMult: begin
        param_req_o  = 1'b1;
        param_addr_o = cfg_mult_base_i + AW'(g_q);
        is_pm        = 1'b1;
        p_d          = 16'd0;
        j_d          = '0;
        s_d          = sbase_q;
        src_ptr_d    = cfg_src_base_i + AW'(g_q);
        dst_ptr_d    = cfg_dst_base_i;
        state_d      = StRqShift;
      end

      StRqShift: begin
        param_req_o  = 1'b1;
        param_addr_o = cfg_shift_base_i + AW'(g_q);
        is_ps        = 1'b1;
        state_d      = StRqRun;
      end

      StRqRun: begin
        acc_req_o = 1'b1;
        is_rq     = 1'b1;
        is_apart  = j_q;
        is_waddr  = dst_ptr_q + AW'(s_q >> (ActRBits * (ActR > 1 ? 1 : 0)));
        is_wpart  = ActRBits'(s_q) & ActRBits'(ActR - 1);
        is_wlast  = (32'(is_wpart) == ActR - 1) || rq_last_j;
        for (int unsigned l = 0; l < Lanes; l++) begin
          is_lmask[l] = (32'(rq_left) > l);
        end
        if (!rq_last_j) begin
          j_d = j_q + AccRBits'(1);
          s_d = s_q + 16'd1;
        end else begin
          j_d = '0;
          s_d = sbase_q;
          if (p_q != cfg_pixels_i - 16'd1) begin
            p_d       = p_q + 16'd1;
            src_ptr_d = src_ptr_q + cfg_src_pix_stride_i;
            dst_ptr_d = dst_ptr_q + cfg_dst_pix_stride_i;
          end else if (g_q != ngrp_q - 16'd1) begin
            g_d     = g_q + 16'd1;
            sbase_d = sbase_q + 16'(AccR);
            state_d = StRqMult;
          end else begin
            state_d = StDrain;
          end
        end
      end

      // ---- ADD --------------------------------------------------------------
      StAdd: begin
        for (int unsigned b = 0; b < ActBytes; b++) begin
          is_bmask[b] = (rem_q > b);
        end
        is_waddr = cfg_dst_base_i + wi_q;
        if (ph_q == 8'd0) begin
          act_rd     = 1'b1;
          act_addr_o = cfg_src_base_i + wi_q;
          is_adda    = 1'b1;
        end else if (ph_q == 8'd1) begin
          act_rd     = 1'b1;
          act_addr_o = cfg_src2_base_i + wi_q;
          is_addb    = 1'b1;
        end
        if (32'(ph_q) != AddPeriod - 1) begin
          ph_d = ph_q + 8'd1;
        end else begin
          ph_d = 8'd0;
          if (rem_q <= ActBytes) begin
            state_d = StDrain;
          end else begin
            wi_d  = wi_q + AW'(1);
            rem_d = rem_q - ActBytes;
          end
        end
      end

      // ---- POOL -------------------------------------------------------------
      StPoolInit: begin
        // Origin of group 0; the loops start there.
        grp_ptr_d     = $signed({16'd0, cfg_src_base_i}) + org_off_q;
        row_win_ptr_d = $signed({16'd0, cfg_src_base_i}) + org_off_q;
        win_ptr_d     = $signed({16'd0, cfg_src_base_i}) + org_off_q;
        row_ptr_d     = $signed({16'd0, cfg_src_base_i}) + org_off_q;
        tap_ptr_d     = $signed({16'd0, cfg_src_base_i}) + org_off_q;
        out_row_ptr_d = cfg_dst_base_i;
        out_ptr_d     = cfg_dst_base_i;
        oy_d          = 16'd0;
        ox_d          = 16'd0;
        ky_d          = 16'd0;
        kx_d          = 16'd0;
        iy_row_d      = -$signed({14'd0, pt_e_q});
        iy_d          = -$signed({14'd0, pt_e_q});
        ix_win_d      = -$signed({14'd0, pl_e_q});
        ix_d          = -$signed({14'd0, pl_e_q});
        cnt_d         = 8'd0;
        wcyc_d        = 8'd0;
        state_d       = StPoolRun;
      end

      StPoolRun, StPoolPad: begin
        if (state_q == StPoolRun) begin
          act_rd     = pl_inb;
          act_addr_o = AW'(tap_ptr_q);
          is_pool    = 1'b1;
          is_inb     = pl_inb;
          is_first   = (ky_q == 16'd0) && (kx_q == 16'd0);
          is_last    = pl_last_tap;
          is_waddr   = out_ptr_q;
          for (int unsigned b = 0; b < ActBytes; b++) begin
            is_bmask[b] = (32'(pl_left) > b);
          end
          // The divisor is known with the last tap: fetch its multiplier.
          param_req_o  = pl_last_tap & ~pool_max & ~pool_glb;
          param_addr_o = cfg_mult_base_i + AW'(32'(pl_entry) >> (PairBits * (Pairs > 1 ? 1 : 0)));
          is_pair      = PairBits'(pl_entry) & PairBits'(Pairs - 1);
          cnt_d        = pl_count;
        end
        if (32'(wcyc_q) + 1 < ActR) begin
          wcyc_d = wcyc_q + 8'd1;
        end
        if (pl_next_win) begin
          // Next window: first tap of the next output pixel / row / group.
          ky_d   = 16'd0;
          kx_d   = 16'd0;
          cnt_d  = 8'd0;
          wcyc_d = 8'd0;
          state_d = StPoolRun;
          if (ox_q != ow_e_q - 16'd1) begin
            ox_d      = ox_q + 16'd1;
            ix_win_d  = ix_win_q + $signed({14'd0, cfg_stride_w_i});
            ix_d      = ix_win_q + $signed({14'd0, cfg_stride_w_i});
            iy_d      = iy_row_q;
            win_ptr_d = win_ptr_q + step_x_q;
            row_ptr_d = win_ptr_q + step_x_q;
            tap_ptr_d = win_ptr_q + step_x_q;
            out_ptr_d = out_ptr_q + cfg_dst_pix_stride_i;
          end else if (oy_q != oh_e_q - 16'd1) begin
            ox_d          = 16'd0;
            oy_d          = oy_q + 16'd1;
            ix_win_d      = -$signed({14'd0, pl_e_q});
            ix_d          = -$signed({14'd0, pl_e_q});
            iy_row_d      = iy_row_q + $signed({14'd0, cfg_stride_h_i});
            iy_d          = iy_row_q + $signed({14'd0, cfg_stride_h_i});
            row_win_ptr_d = row_win_ptr_q + step_y_q;
            win_ptr_d     = row_win_ptr_q + step_y_q;
            row_ptr_d     = row_win_ptr_q + step_y_q;
            tap_ptr_d     = row_win_ptr_q + step_y_q;
            out_row_ptr_d = out_row_ptr_q + cfg_dst_row_stride_i;
            out_ptr_d     = out_row_ptr_q + cfg_dst_row_stride_i;
          end else if (g_q != ngrp_q - 16'd1) begin
            g_d           = g_q + 16'd1;
            ox_d          = 16'd0;
            oy_d          = 16'd0;
            ix_win_d      = -$signed({14'd0, pl_e_q});
            ix_d          = -$signed({14'd0, pl_e_q});
            iy_row_d      = -$signed({14'd0, pt_e_q});
            iy_d          = -$signed({14'd0, pt_e_q});
            grp_ptr_d     = grp_ptr_q + 32'sd1;
            row_win_ptr_d = grp_ptr_q + 32'sd1;
            win_ptr_d     = grp_ptr_q + 32'sd1;
            row_ptr_d     = grp_ptr_q + 32'sd1;
            tap_ptr_d     = grp_ptr_q + 32'sd1;
            out_row_ptr_d = cfg_dst_base_i + AW'(g_q) + AW'(1);
            out_ptr_d     = cfg_dst_base_i + AW'(g_q) + AW'(1);
          end else begin
            state_d = StDrain;
          end
        end else if (state_q == StPoolRun) begin
          if (pl_last_tap) begin
            state_d = StPoolPad;  // window shorter than ActR cycles
          end else if (kx_q != kw_e_q - 16'd1) begin
            kx_d      = kx_q + 16'd1;
            ix_d      = ix_q + 18'sd1;
            tap_ptr_d = tap_ptr_q + $signed({16'd0, cfg_src_pix_stride_i});
          end else begin
            kx_d      = 16'd0;
            ky_d      = ky_q + 16'd1;
            ix_d      = ix_win_q;
            iy_d      = iy_q + 18'sd1;
            row_ptr_d = row_ptr_q + $signed({16'd0, cfg_src_row_stride_i});
            tap_ptr_d = row_ptr_q + $signed({16'd0, cfg_src_row_stride_i});
          end
        end
      end

      StDrain: begin
        if (!pipe_busy) begin
          state_d = StDone;
        end
      end

      StDone: state_d = StIdle;

      default: state_d = StIdle;
    endcase

    // One ACT port: the write goes first and the whole issue stage waits
    // a cycle (the loop registers hold, nothing enters the data stage).
    hold = ActOnePort && act_rd && wr_valid_q;
    act_req_o = act_rd & ~hold;
    if (hold) begin
      acc_req_o   = 1'b0;
      param_req_o = 1'b0;
      is_rq       = 1'b0;
      is_pm       = 1'b0;
      is_ps       = 1'b0;
      is_pool     = 1'b0;
      is_adda     = 1'b0;
      is_addb     = 1'b0;
    end
  end

  // ---- data stage: read data arrives -------------------------------------
  logic              d_rq_q, d_pm_q, d_ps_q, d_pool_q, d_adda_q, d_addb_q;
  logic [AW-1:0]     d_waddr_q;
  logic [ActRBits-1:0] d_wpart_q;
  logic [Lanes-1:0]  d_lmask_q;
  logic [ActBytes-1:0] d_bmask_q;
  logic [AccRBits-1:0] d_apart_q;
  logic              d_first_q, d_last_q, d_inb_q;
  logic [PairBits-1:0] d_pair_q;
  logic              d_wlast_q;

  // REQUANT per-group parameters (AccLanes channels).
  logic [31:0] rq_mult_q  [AccLanes];
  logic [5:0]  rq_shift_q [AccLanes];

  // POOL window accumulators (ActBytes channels): max or sum of (x - zp).
  logic [31:0] pacc_q [ActBytes];
  logic [31:0] pacc_d [ActBytes];

  // ADD: a word waits for its b word.
  logic [ActBytes*8-1:0] a_hold_q;

  logic signed [31:0] px_x [ActBytes];
  logic signed [31:0] px_base [ActBytes];
  logic signed [31:0] px_cand [ActBytes];

  always_comb begin
    for (int unsigned b = 0; b < ActBytes; b++) begin
      px_x[b] = 32'(signed'(act_rdata_i[b*8 +: 8]));
      if (pool_max) begin
        px_base[b] = d_first_q ? -32'sd128 : $signed(pacc_q[b]);
        px_cand[b] = d_inb_q ? px_x[b] : -32'sd128;
        pacc_d[b]  = (px_cand[b] > px_base[b]) ? px_cand[b] : px_base[b];
      end else begin
        px_base[b] = d_first_q ? 32'sd0 : $signed(pacc_q[b]);
        px_cand[b] = d_inb_q ? (px_x[b] - 32'(signed'(cfg_in_zp_i))) : 32'sd0;
        pacc_d[b]  = px_base[b] + px_cand[b];
      end
    end
  end

  // ---- feeder: one word of results (POOL) or operand pairs (ADD) -> slices
  logic                fd_busy_q;
  logic [FdBits-1:0]   fd_pos_q;
  logic                fd_last;            // last slice of the word
  logic [31:0]         fd_x_q [ActBytes];  // POOL: acc; ADD: {b, a} in [15:0]
  logic [31:0]         fd_mult_q;
  logic [5:0]          fd_shift_q;
  logic [AW-1:0]       fd_addr_q;
  logic [ActBytes-1:0] fd_bmask_q;
  logic                fd_load;
  logic [31:0]         fd_load_mult;
  logic [5:0]          fd_load_shift;
  logic [31:0]         fd_x   [Lanes];     // the slice at fd_pos_q
  logic [Lanes-1:0]    fd_lmask;

  assign fd_load = (d_pool_q & d_last_q) | d_addb_q;

  logic [PairBits:0] fd_lane;  // PARAM lane of the AVG multiplier
  assign fd_lane = {d_pair_q, 1'b0};

  always_comb begin
    if (pool_max) begin
      fd_load_mult  = 32'h4000_0000;  // mbqm(x, 2^30, 1) == x
      fd_load_shift = 6'd1;
    end else if (pool_glb) begin
      fd_load_mult  = cfg_out_mult_i;
      fd_load_shift = cfg_out_shift_i;
    end else begin
      fd_load_mult  = param_rdata_i[32'(fd_lane) * 32 +: 32];
      fd_load_shift = param_rdata_i[(32'(fd_lane) + 1) * 32 +: 6];
    end
    // Slices are Lanes wide, AddLanes for ADD (the other lanes idle).
    fd_last = op_add ? (32'(fd_pos_q) == AddR - 1) : (32'(fd_pos_q) == ActR - 1);
    // Constant-index selects (a decoder per position, not a shifter).
    for (int unsigned l = 0; l < Lanes; l++) begin
      fd_x[l]     = 32'd0;
      fd_lmask[l] = 1'b0;
      if (op_add) begin
        if (l < AddLanes) begin
          for (int unsigned r = 0; r < AddR; r++) begin
            if (32'(fd_pos_q) == r) begin
              fd_x[l]     = {16'd0, fd_x_q[r*AddLanes + l % AddLanes][15:0]};
              fd_lmask[l] = fd_bmask_q[r*AddLanes + l % AddLanes];
            end
          end
        end
      end else begin
        for (int unsigned r = 0; r < ActR; r++) begin
          if (32'(fd_pos_q) == r) begin
            fd_x[l]     = fd_x_q[r*Lanes + l];
            fd_lmask[l] = fd_bmask_q[r*Lanes + l];
          end
        end
      end
    end
  end

  // ---- lanes -----------------------------------------------------------------
  // ADD input passes (a and b), then the main lane used by every op.
  logic              ina_valid;
  logic [31:0]       ina_x [Lanes];
  logic [31:0]       inb_x [Lanes];
  logic [TagW-1:0]   fd_tag, rq_tag;
  logic [Lanes-1:0]  ina_ovalid, inb_ovalid, m_ovalid;
  logic [Lanes-1:0]  ina_iready, inb_iready, m_iready;
  logic [31:0]       ina_scaled [Lanes];
  logic [31:0]       inb_scaled [Lanes];
  logic [7:0]        ina_q [Lanes];
  logic [7:0]        inb_q [Lanes];
  logic [TagW-1:0]   ina_tag [Lanes];
  logic [TagW-1:0]   inb_tag [Lanes];

  logic              sum_valid_q;
  logic [31:0]       sum_q [Lanes];
  logic [TagW-1:0]   sum_tag_q;

  logic              m_valid;
  logic [31:0]       m_x     [Lanes];
  logic [31:0]       m_mult  [Lanes];
  logic [5:0]        m_shift [Lanes];
  logic [7:0]        m_zp;
  logic [TagW-1:0]   m_tag;
  logic [31:0]       m_scaled [Lanes];
  logic [7:0]        m_q [Lanes];
  logic [TagW-1:0]   m_otag [Lanes];

  assign fd_tag    = {fd_addr_q, fd_pos_q, fd_lmask, fd_last};
  assign rq_tag    = {d_waddr_q, FdBits'(d_wpart_q), d_lmask_q, d_wlast_q};
  assign ina_valid = op_add & fd_busy_q;

  logic [8:0] add_da [Lanes];
  logic [8:0] add_db [Lanes];

  always_comb begin
    for (int unsigned l = 0; l < Lanes; l++) begin
      add_da[l] = 9'(signed'(fd_x[l][7:0])) - 9'(signed'(cfg_in_zp_i));
      add_db[l] = 9'(signed'(fd_x[l][15:8])) - 9'(signed'(cfg_in2_zp_i));
      // (a - zp) << 20: |a - zp| <= 255, exact in int32.
      ina_x[l]  = {{3{add_da[l][8]}}, add_da[l], 20'd0};
      inb_x[l]  = {{3{add_db[l][8]}}, add_db[l], 20'd0};
    end
  end

  always_comb begin
    m_valid = 1'b0;
    m_tag   = rq_tag;
    m_zp    = cfg_out_zp_i;
    for (int unsigned l = 0; l < Lanes; l++) begin
      m_x[l]     = sum_q[l];
      m_mult[l]  = cfg_out_mult_i;
      m_shift[l] = cfg_out_shift_i;
    end
    if (op_rq) begin
      m_valid = d_rq_q;
      m_tag   = rq_tag;
      for (int unsigned l = 0; l < Lanes; l++) begin
        m_x[l]     = acc_rdata_i[(32'(d_apart_q) * Lanes + l) * 32 +: 32];
        m_mult[l]  = rq_mult_q[32'(d_apart_q) * Lanes + l];
        m_shift[l] = rq_shift_q[32'(d_apart_q) * Lanes + l];
      end
    end else if (op_pool) begin
      m_valid = fd_busy_q;
      m_tag   = fd_tag;
      m_zp    = pool_max ? 8'd0 : cfg_out_zp_i;
      for (int unsigned l = 0; l < Lanes; l++) begin
        m_x[l]     = fd_x[l];
        m_mult[l]  = fd_mult_q;
        m_shift[l] = fd_shift_q;
      end
    end else if (op_add) begin
      m_valid = sum_valid_q;
      m_tag   = sum_tag_q;
    end
  end

  for (genvar l = 0; l < Lanes; l++) begin : g_lane
   if (l < AddLanes) begin : g_add
    npu_requant #(
      .TagWidth (TagW),
      .AccZeros (20)  // (x - zp) << 20: the narrow lane
    ) u_in_a (
      .clk_i       (clk_i),
      .rst_ni      (rst_ni),
      .in_valid_i  (ina_valid),
      .in_ready_o  (ina_iready[l]),
      .acc_i       (ina_x[l]),
      .mult_i      (cfg_in_mult_i),
      .shift_i     (cfg_in_shift_i),
      .zp_i        (8'd0),
      .act_min_i   (8'h80),
      .act_max_i   (8'h7f),
      .tag_i       (fd_tag),
      .out_valid_o (ina_ovalid[l]),
      .out_ready_i (1'b1),
      .scaled_o    (ina_scaled[l]),
      .q_o         (ina_q[l]),
      .tag_o       (ina_tag[l])
    );

    npu_requant #(
      .TagWidth (TagW),
      .AccZeros (20)  // (x - zp) << 20: the narrow lane
    ) u_in_b (
      .clk_i       (clk_i),
      .rst_ni      (rst_ni),
      .in_valid_i  (ina_valid),
      .in_ready_o  (inb_iready[l]),
      .acc_i       (inb_x[l]),
      .mult_i      (cfg_in2_mult_i),
      .shift_i     (cfg_in2_shift_i),
      .zp_i        (8'd0),
      .act_min_i   (8'h80),
      .act_max_i   (8'h7f),
      .tag_i       (fd_tag),
      .out_valid_o (inb_ovalid[l]),
      .out_ready_i (1'b1),
      .scaled_o    (inb_scaled[l]),
      .q_o         (inb_q[l]),
      .tag_o       (inb_tag[l])
    );
   end else begin : g_no_add
    assign ina_iready[l] = 1'b1;
    assign inb_iready[l] = 1'b1;
    assign ina_ovalid[l] = 1'b0;
    assign inb_ovalid[l] = 1'b0;
    assign ina_scaled[l] = '0;
    assign inb_scaled[l] = '0;
    assign ina_q[l]      = '0;
    assign inb_q[l]      = '0;
    assign ina_tag[l]    = '0;
    assign inb_tag[l]    = '0;
   end

    npu_requant #(
      .TagWidth (TagW)
    ) u_main (
      .clk_i       (clk_i),
      .rst_ni      (rst_ni),
      .in_valid_i  (m_valid),
      .in_ready_o  (m_iready[l]),
      .acc_i       (m_x[l]),
      .mult_i      (m_mult[l]),
      .shift_i     (m_shift[l]),
      .zp_i        (m_zp),
      .act_min_i   (cfg_act_min_i),
      .act_max_i   (cfg_act_max_i),
      .tag_i       (m_tag),
      .out_valid_o (m_ovalid[l]),
      .out_ready_i (1'b1),
      .scaled_o    (m_scaled[l]),
      .q_o         (m_q[l]),
      .tag_o       (m_otag[l])
    );
  end

  // ---- write stage -------------------------------------------------------------
  logic [AW-1:0]       wr_addr_q;
  logic [ActBytes-1:0] wr_be_q;
  logic [ActBytes*8-1:0] wr_data_q;
  logic [AW-1:0]       m_oaddr;
  logic [FdBits-1:0]   m_opart;

  logic [Lanes-1:0]    m_omask;
  logic                m_olast;
  logic [ActBytes-1:0] m_obe;
  // Slices of one ACT word are merged here and written with its last one.
  logic                mg_open_q;
  logic [ActBytes-1:0] mg_be_q, mg_be;
  logic [ActBytes*8-1:0] mg_data_q, mg_data;

  assign {m_oaddr, m_opart, m_omask, m_olast} = m_otag[0];

  always_comb begin
    // Byte b of the word is lane b % W of slice b / W (W = Lanes, or
    // AddLanes for ADD): constant indices, a decoder per byte.
    mg_data = mg_data_q;
    for (int unsigned b = 0; b < ActBytes; b++) begin
      if (op_add) begin
        m_obe[b] = (32'(m_opart) == b / AddLanes) && m_omask[b % AddLanes];
        if (32'(m_opart) == b / AddLanes) begin
          mg_data[b*8 +: 8] = m_q[b % AddLanes];
        end
      end else begin
        m_obe[b] = (32'(m_opart) == b / Lanes) && m_omask[b % Lanes];
        if (32'(m_opart) == b / Lanes) begin
          mg_data[b*8 +: 8] = m_q[b % Lanes];
        end
      end
    end
    mg_be = (mg_open_q ? mg_be_q : '0) | m_obe;
  end

  assign lane_enter = op_rq ? d_rq_q : fd_busy_q;
  assign pipe_busy  = d_rq_q | d_pm_q | d_ps_q | d_pool_q | d_adda_q | d_addb_q |
                      fd_busy_q | (inflight_q != 6'd0) | wr_valid_q;

  // ---- registers -----------------------------------------------------------------
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q       <= StIdle;
      ngrp_q        <= '0;
      nsl_q         <= '0;
      g_q           <= '0;
      p_q           <= '0;
      s_q           <= '0;
      sbase_q       <= '0;
      j_q           <= '0;
      src_ptr_q     <= '0;
      dst_ptr_q     <= '0;
      wi_q          <= '0;
      rem_q         <= '0;
      ph_q          <= '0;
      kh_e_q        <= '0;
      kw_e_q        <= '0;
      oh_e_q        <= '0;
      ow_e_q        <= '0;
      pt_e_q        <= '0;
      pl_e_q        <= '0;
      org_off_q     <= '0;
      step_x_q      <= '0;
      step_y_q      <= '0;
      oy_q          <= '0;
      ox_q          <= '0;
      ky_q          <= '0;
      kx_q          <= '0;
      iy_row_q      <= '0;
      ix_win_q      <= '0;
      iy_q          <= '0;
      ix_q          <= '0;
      grp_ptr_q     <= '0;
      row_win_ptr_q <= '0;
      win_ptr_q     <= '0;
      row_ptr_q     <= '0;
      tap_ptr_q     <= '0;
      out_row_ptr_q <= '0;
      out_ptr_q     <= '0;
      cnt_q         <= '0;
      wcyc_q        <= '0;
    end else if (!hold) begin
      state_q       <= state_d;
      ngrp_q        <= ngrp_d;
      nsl_q         <= nsl_d;
      g_q           <= g_d;
      p_q           <= p_d;
      s_q           <= s_d;
      sbase_q       <= sbase_d;
      j_q           <= j_d;
      src_ptr_q     <= src_ptr_d;
      dst_ptr_q     <= dst_ptr_d;
      wi_q          <= wi_d;
      rem_q         <= rem_d;
      ph_q          <= ph_d;
      kh_e_q        <= kh_e_d;
      kw_e_q        <= kw_e_d;
      oh_e_q        <= oh_e_d;
      ow_e_q        <= ow_e_d;
      pt_e_q        <= pt_e_d;
      pl_e_q        <= pl_e_d;
      org_off_q     <= org_off_d;
      step_x_q      <= step_x_d;
      step_y_q      <= step_y_d;
      oy_q          <= oy_d;
      ox_q          <= ox_d;
      ky_q          <= ky_d;
      kx_q          <= kx_d;
      iy_row_q      <= iy_row_d;
      ix_win_q      <= ix_win_d;
      iy_q          <= iy_d;
      ix_q          <= ix_d;
      grp_ptr_q     <= grp_ptr_d;
      row_win_ptr_q <= row_win_ptr_d;
      win_ptr_q     <= win_ptr_d;
      row_ptr_q     <= row_ptr_d;
      tap_ptr_q     <= tap_ptr_d;
      out_row_ptr_q <= out_row_ptr_d;
      out_ptr_q     <= out_ptr_d;
      cnt_q         <= cnt_d;
      wcyc_q        <= wcyc_d;
    end
  end

  // Pipeline valid bits and counters (never held: fixed latency).
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      d_rq_q        <= 1'b0;
      d_pm_q        <= 1'b0;
      d_ps_q        <= 1'b0;
      d_pool_q      <= 1'b0;
      d_adda_q      <= 1'b0;
      d_addb_q      <= 1'b0;
      fd_busy_q     <= 1'b0;
      fd_pos_q      <= '0;
      sum_valid_q   <= 1'b0;
      wr_valid_q    <= 1'b0;
      mg_open_q     <= 1'b0;
      inflight_q    <= '0;
    end else begin
      d_rq_q        <= is_rq;
      d_pm_q        <= is_pm;
      d_ps_q        <= is_ps;
      d_pool_q      <= is_pool;
      d_adda_q      <= is_adda;
      d_addb_q      <= is_addb;
      // The feeder emits ActR (ADD: AddR) slices per load; loads are at
      // least that many cycles apart (ADD word period, POOL window length).
      if (fd_load) begin
        fd_busy_q <= 1'b1;
        fd_pos_q  <= '0;
      end else if (fd_busy_q) begin
        if (fd_last) begin
          fd_busy_q <= 1'b0;
          fd_pos_q  <= '0;
        end else begin
          fd_pos_q  <= fd_pos_q + FdBits'(1);
        end
      end
      sum_valid_q   <= ina_ovalid[0];
      wr_valid_q    <= m_ovalid[0] & m_olast & (|mg_be);
      if (m_ovalid[0]) begin
        mg_open_q <= ~m_olast;
      end
      inflight_q    <= inflight_q + {5'd0, lane_enter} - {5'd0, m_ovalid[0]};
    end
  end

  // Data registers, qualified by the valid bits above: no reset needed.
  always_ff @(posedge clk_i) begin
    d_waddr_q <= is_waddr;
    d_wpart_q <= is_wpart;
    d_lmask_q <= is_lmask;
    d_bmask_q <= is_bmask;
    d_apart_q <= is_apart;
    d_first_q <= is_first;
    d_last_q  <= is_last;
    d_inb_q   <= is_inb;
    d_pair_q  <= is_pair;
    d_wlast_q <= is_wlast;
    if (d_pm_q) begin
      for (int unsigned l = 0; l < AccLanes; l++) begin
        rq_mult_q[l] <= param_rdata_i[l*32 +: 32];
      end
    end
    if (d_ps_q) begin
      for (int unsigned l = 0; l < AccLanes; l++) begin
        rq_shift_q[l] <= param_rdata_i[l*32 +: 6];
      end
    end
    if (d_pool_q) begin
      for (int unsigned b = 0; b < ActBytes; b++) begin
        pacc_q[b] <= pacc_d[b];
      end
    end
    if (d_adda_q) begin
      a_hold_q <= act_rdata_i;
    end
    if (fd_load) begin
      fd_addr_q  <= d_waddr_q;
      fd_bmask_q <= d_bmask_q;
      fd_mult_q  <= fd_load_mult;
      fd_shift_q <= fd_load_shift;
      for (int unsigned b = 0; b < ActBytes; b++) begin
        fd_x_q[b] <= op_add ? {16'd0, act_rdata_i[b*8 +: 8], a_hold_q[b*8 +: 8]} : pacc_d[b];
      end
    end
    if (ina_ovalid[0]) begin
      for (int unsigned l = 0; l < Lanes; l++) begin
        sum_q[l] <= ina_scaled[l] + inb_scaled[l];
      end
      sum_tag_q <= ina_tag[0];
    end
    if (m_ovalid[0]) begin
      mg_be_q   <= mg_be;
      mg_data_q <= mg_data;
      wr_addr_q <= m_oaddr;
      wr_be_q   <= mg_be;
      wr_data_q <= mg_data;
    end
  end

  assign act_we_o    = wr_valid_q;
  assign act_waddr_o = wr_addr_q;
  assign act_wbe_o   = wr_be_q;
  assign act_wdata_o = wr_data_q;

  assign busy_o = (state_q != StIdle);
  assign done_o = (state_q == StDone);

  // Outputs a lane variant does not use (no stalls: in_ready is always 1).
  logic unused_lanes;
  always_comb begin
    unused_lanes = ^{ina_iready, inb_iready, m_iready, inb_ovalid, ina_ovalid[Lanes-1:0],
                     m_ovalid[Lanes-1:0]};
    for (int unsigned l = 0; l < Lanes; l++) begin
      unused_lanes = unused_lanes ^ (^{ina_q[l], inb_q[l], m_scaled[l], inb_tag[l]});
      if (l != 0) begin
        unused_lanes = unused_lanes ^ (^{ina_tag[l], m_otag[l]});
      end
    end
  end

endmodule
