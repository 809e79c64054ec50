// lwnpu requantizer: one lane of the post-processing unit.
//
// Computes, bit for bit as lib/ref/quant.h (gemmlowp/TFLite reference):
//   scaled = npui_mbqm(acc, mult, shift)
//          = rdivpot(srdhm(sat32(acc << max(shift, 0)), mult), max(-shift, 0))
//   q      = clamp(scaled + zp, act_min, act_max)        (int64 add, no wrap)
// scaled_o is also exported: the residual-add path (TFLite ADD) chains
// three mbqm's and adds the zero point only at the end.
//
// Six pipeline stages, one result per cycle. Flow control is a global
// stall: every stage advances when the output register is empty or being
// taken (out_ready_i); in_ready_o is that advance signal. Only the valid
// bits are reset; data registers need no reset because nothing reads them
// while their valid bit is low.
//
//   S1 saturating left pre-shift      S4 /2^31 toward zero, MIN*MIN case
//   S2 32x16 partial products         S5 rounding divide by 2^rs
//   S3 sum + rounding nudge           S6 + zero point, clamp to int8
module npu_requant #(
  parameter int unsigned TagWidth = 1  // sideband carried alongside (e.g. address)
) (
  input  logic                clk_i,
  input  logic                rst_ni,

  input  logic                in_valid_i,
  output logic                in_ready_o,
  input  logic [31:0]         acc_i,      // int32 accumulator
  input  logic [31:0]         mult_i,     // Q31 multiplier, [2^30, 2^31) or 0
  input  logic [5:0]          shift_i,    // signed, -31 .. 30
  input  logic [7:0]          zp_i,       // signed output zero point
  input  logic [7:0]          act_min_i,  // signed clamp bounds
  input  logic [7:0]          act_max_i,
  input  logic [TagWidth-1:0] tag_i,

  output logic                out_valid_o,
  input  logic                out_ready_i,
  output logic [31:0]         scaled_o,   // mbqm result, before zp and clamp
  output logic [7:0]          q_o,        // int8 result
  output logic [TagWidth-1:0] tag_o
);

  localparam int unsigned NumStages = 6;

  logic [NumStages-1:0] valid_d, valid_q;
  logic                 advance;

  assign advance    = ~valid_q[NumStages-1] | out_ready_i;
  assign in_ready_o = advance;

  always_comb begin
    valid_d = valid_q;
    if (advance) begin
      valid_d = {valid_q[NumStages-2:0], in_valid_i};
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_q <= '0;
    end else begin
      valid_q <= valid_d;
    end
  end

  // Parameters that only travel with the data.
  logic [4:0]          rs_q    [NumStages-1];  // right shift, valid in S1..S5
  logic [7:0]          zp_q    [NumStages-1];
  logic [7:0]          amin_q  [NumStages-1];
  logic [7:0]          amax_q  [NumStages-1];
  logic [TagWidth-1:0] tag_q   [NumStages];

  // ---- S1: saturating pre-shift -----------------------------------------
  logic [4:0]  ls_s0, rs_s0;
  logic [62:0] shifted_s0;
  logic [31:0] x_s1_d, x_s1_q, mult_s1_q;

  always_comb begin
    // shift_i is two's complement in 6 bits: >0 shifts left first.
    if (!shift_i[5] && shift_i != 6'd0) begin
      ls_s0 = shift_i[4:0];
      rs_s0 = 5'd0;
    end else begin
      ls_s0 = 5'd0;
      rs_s0 = 5'(6'd0 - shift_i);
    end
    shifted_s0 = {{31{acc_i[31]}}, acc_i} << ls_s0;
    // The result fits int32 iff bits 62:31 are all copies of the sign.
    if (shifted_s0[62:31] == {32{shifted_s0[62]}}) begin
      x_s1_d = shifted_s0[31:0];
    end else begin
      x_s1_d = acc_i[31] ? 32'h8000_0000 : 32'h7FFF_FFFF;
    end
  end

  // ---- S2: partial products ----------------------------------------------
  // x * mult = x * signed(mult[31:16]) * 2^16 + x * unsigned(mult[15:0]).
  logic signed [47:0] p_hi_s2_q;  // 32 x 16 signed
  logic signed [48:0] p_lo_s2_q;  // 32 x 17 (zero-extended low half)
  logic               neg_s2_q;   // product < 0
  logic               minmin_s2_q, minmin_s3_q;

  logic x_zero_s1, m_zero_s1, minmin_s1;
  assign x_zero_s1 = (x_s1_q == 32'd0);
  assign m_zero_s1 = (mult_s1_q == 32'd0);
  assign minmin_s1 = (x_s1_q == 32'h8000_0000) && (mult_s1_q == 32'h8000_0000);

  // ---- S3: sum + nudge ---------------------------------------------------
  logic signed [63:0] sum_s3_d, sum_s3_q;
  logic signed [63:0] nudge_s2;

  always_comb begin
    nudge_s2 = neg_s2_q ? (64'sd1 - (64'sd1 <<< 30)) : (64'sd1 <<< 30);
    sum_s3_d = (64'(p_hi_s2_q) <<< 16) + 64'(p_lo_s2_q) + nudge_s2;
  end

  // ---- S4: divide by 2^31 truncating toward zero -------------------------
  logic signed [63:0] adj_s3;
  logic [31:0]        srdhm_s4_d, srdhm_s4_q;

  always_comb begin
    adj_s3 = sum_s3_q[63] ? (sum_s3_q + 64'sd2147483647) : sum_s3_q;
    // Outside the MIN*MIN case the quotient fits in int32 (|a*b| < 2^62).
    srdhm_s4_d = minmin_s3_q ? 32'h7FFF_FFFF : adj_s3[62:31];
  end

  // The discarded fraction and the (redundant) top sign bit of the quotient.
  logic unused_adj;
  assign unused_adj = ^{adj_s3[63], adj_s3[30:0]};

  // ---- S5: rounding divide by power of two -------------------------------
  logic [31:0] mask_s4, rem_s4, thr_s4, quo_s4;
  logic [31:0] scaled_s5_d, scaled_s5_q;

  always_comb begin
    mask_s4     = (32'd1 << rs_q[3]) - 32'd1;  // rs <= 31: mask <= 2^31 - 1
    rem_s4      = srdhm_s4_q & mask_s4;
    thr_s4      = (mask_s4 >> 1) + {31'd0, srdhm_s4_q[31]};
    quo_s4      = $unsigned($signed(srdhm_s4_q) >>> rs_q[3]);
    scaled_s5_d = quo_s4 + {31'd0, (rem_s4 > thr_s4)};
  end

  // ---- S6: zero point and clamp ------------------------------------------
  logic signed [32:0] withzp_s5;
  logic signed [32:0] lo_s5, hi_s5;
  logic [7:0]         q_s6_d, q_s6_q;
  logic [31:0]        scaled_s6_q;

  always_comb begin
    withzp_s5 = 33'(signed'(scaled_s5_q)) + 33'(signed'(zp_q[4]));
    lo_s5     = 33'(signed'(amin_q[4]));
    hi_s5     = 33'(signed'(amax_q[4]));
    // Same order as npui_clamp: the lower bound is tested first.
    if (withzp_s5 < lo_s5) begin
      q_s6_d = amin_q[4];
    end else if (withzp_s5 > hi_s5) begin
      q_s6_d = amax_q[4];
    end else begin
      q_s6_d = withzp_s5[7:0];
    end
  end

  always_ff @(posedge clk_i) begin
    if (advance) begin
      // S1
      x_s1_q    <= x_s1_d;
      mult_s1_q <= mult_i;
      rs_q[0]   <= rs_s0;
      zp_q[0]   <= zp_i;
      amin_q[0] <= act_min_i;
      amax_q[0] <= act_max_i;
      tag_q[0]  <= tag_i;
      // S2
      p_hi_s2_q   <= $signed(x_s1_q) * $signed(mult_s1_q[31:16]);
      p_lo_s2_q   <= $signed(x_s1_q) * $signed({1'b0, mult_s1_q[15:0]});
      neg_s2_q    <= (x_s1_q[31] ^ mult_s1_q[31]) & ~x_zero_s1 & ~m_zero_s1;
      minmin_s2_q <= minmin_s1;
      // S3
      sum_s3_q    <= sum_s3_d;
      minmin_s3_q <= minmin_s2_q;
      // S4, S5, S6
      srdhm_s4_q  <= srdhm_s4_d;
      scaled_s5_q <= scaled_s5_d;
      scaled_s6_q <= scaled_s5_q;
      q_s6_q      <= q_s6_d;
      for (int unsigned i = 1; i < NumStages - 1; i++) begin
        rs_q[i]   <= rs_q[i-1];
        zp_q[i]   <= zp_q[i-1];
        amin_q[i] <= amin_q[i-1];
        amax_q[i] <= amax_q[i-1];
      end
      for (int unsigned i = 1; i < NumStages; i++) begin
        tag_q[i] <= tag_q[i-1];
      end
    end
  end

  assign out_valid_o = valid_q[NumStages-1];
  assign scaled_o    = scaled_s6_q;
  assign q_o         = q_s6_q;
  assign tag_o       = tag_q[NumStages-1];

endmodule
