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
//
// AccZeros > 0 is a narrow lane for accumulators whose low AccZeros bits
// are always zero (the PPU's ADD input passes: (a - zp) << 20). S2 then
// multiplies only the top 33 - AccZeros bits of the pre-shifted value
// (two DSP48E1 instead of four at 20) and S3 shifts the product back; the
// result is the same for every such input and every shift (a saturated
// INT32_MAX is taken as 2^31 with the multiplier subtracted once).
module npu_requant #(
  parameter int unsigned TagWidth = 1,  // sideband carried alongside (e.g. address)
  parameter int unsigned AccZeros = 0   // 0, or 1..30: acc_i[AccZeros-1:0] are zero
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

  // Stage k's data registers load only when the pipeline advances and
  // stage k-1 (the input, for S1) holds an element: a stage without one
  // keeps its old data, which nothing reads. Every stage's logic is a
  // function evaluated under that enable, so an idle lane costs the
  // simulator (Verilator evaluates all logic every cycle) nothing.
  logic [NumStages-1:0] load;
  assign load = advance ? {valid_q[NumStages-2:0], in_valid_i} : '0;

  // Parameters that only travel with the data.
  // One flat vector each, stage k at [k*W +: W]: Verilator keeps one
  // variable (not a delayed-write flag per element, tested and cleared
  // every cycle), and yosys 0.23 takes no multi-dimensional packed arrays.
  logic [(NumStages-1)*5-1:0]        rs_q;  // right shift, valid in S1..S5
  logic [(NumStages-1)*8-1:0]        zp_q;
  logic [(NumStages-1)*8-1:0]        amin_q;
  logic [(NumStages-1)*8-1:0]        amax_q;
  logic [NumStages*TagWidth-1:0]     tag_q;

  // ---- S1: saturating pre-shift -----------------------------------------
  // shift is two's complement in 6 bits: > 0 shifts left first, else the
  // result is divided by 2^-shift in S5.
  function automatic logic [4:0] left_shift(input logic [5:0] shift);
    left_shift = (!shift[5] && shift != 6'd0) ? shift[4:0] : 5'd0;
  endfunction

  function automatic logic [4:0] right_shift(input logic [5:0] shift);
    right_shift = (!shift[5] && shift != 6'd0) ? 5'd0 : 5'(6'd0 - shift);
  endfunction

  function automatic logic [31:0] presat(input logic [31:0] acc, input logic [4:0] ls);
    logic [62:0] shifted;
    shifted = {{31{acc[31]}}, acc} << ls;
    // The result fits int32 iff bits 62:31 are all copies of the sign.
    if (shifted[62:31] == {32{shifted[62]}}) begin
      presat = shifted[31:0];
    end else begin
      presat = acc[31] ? 32'h8000_0000 : 32'h7FFF_FFFF;
    end
  endfunction

  logic [31:0] x_s1_q, mult_s1_q;

  // ---- S2: partial products ----------------------------------------------
  logic               neg_s2_q;   // product < 0
  logic               minmin_s2_q, minmin_s3_q;

  // ---- S3: sum + nudge ---------------------------------------------------
  logic signed [63:0] sum_s3_q;

  function automatic logic signed [63:0] nudge(input logic neg);
    nudge = neg ? (64'sd1 - (64'sd1 <<< 30)) : (64'sd1 <<< 30);
  endfunction

  // ---- S4: divide by 2^31 truncating toward zero -------------------------
  logic [31:0] srdhm_s4_q;

  // Outside the MIN*MIN case the quotient fits in int32 (|a*b| < 2^62):
  // bits 62:31 of the adjusted sum; the fraction and the (redundant) top
  // sign bit are discarded.
  function automatic logic [31:0] srdhm_div(input logic signed [63:0] sum,
                                            input logic minmin);
    logic [31:0] quo;
    quo = 32'((sum[63] ? (sum + 64'sd2147483647) : sum) >>> 31);
    srdhm_div = minmin ? 32'h7FFF_FFFF : quo;
  endfunction

  // ---- S5: rounding divide by power of two -------------------------------
  logic [31:0] scaled_s5_q;

  function automatic logic [31:0] rdivpot(input logic [31:0] x, input logic [4:0] rs);
    logic [31:0] mask, rem, thr, quo;
    mask    = (32'd1 << rs) - 32'd1;  // rs <= 31: mask <= 2^31 - 1
    rem     = x & mask;
    thr     = (mask >> 1) + {31'd0, x[31]};
    quo     = $unsigned($signed(x) >>> rs);
    rdivpot = quo + {31'd0, (rem > thr)};
  endfunction

  // ---- S6: zero point and clamp ------------------------------------------
  logic [7:0]  q_s6_q;
  logic [31:0] scaled_s6_q;

  function automatic logic [7:0] zp_clamp(input logic [31:0] scaled, input logic [7:0] zp,
                                          input logic [7:0] amin, input logic [7:0] amax);
    logic signed [32:0] withzp;
    withzp = 33'(signed'(scaled)) + 33'(signed'(zp));
    // Same order as npui_clamp: the lower bound is tested first.
    if (withzp < 33'(signed'(amin))) begin
      zp_clamp = amin;
    end else if (withzp > 33'(signed'(amax))) begin
      zp_clamp = amax;
    end else begin
      zp_clamp = withzp[7:0];
    end
  endfunction

  // The product x * mult as a 64-bit value, from S2's registers.
  logic signed [63:0] prod_s2;

  if (AccZeros == 0) begin : g_full
    // x * mult = x * signed(mult[31:16]) * 2^16 + x * unsigned(mult[15:0]).
    logic signed [47:0] p_hi_s2_q;  // 32 x 16 signed
    logic signed [48:0] p_lo_s2_q;  // 32 x 17 (zero-extended low half)

    always_ff @(posedge clk_i) begin
      if (load[1]) begin
        p_hi_s2_q <= $signed(x_s1_q) * $signed(mult_s1_q[31:16]);
        p_lo_s2_q <= $signed(x_s1_q) * $signed({1'b0, mult_s1_q[15:0]});
      end
    end
    assign prod_s2 = (64'(p_hi_s2_q) <<< 16) + 64'(p_lo_s2_q);
  end else begin : g_narrow
    // x is a multiple of 2^AccZeros (a pre-shift only adds zeros; the
    // saturated INT32_MIN is one) except the saturated INT32_MAX, taken as
    // 2^31 with mult subtracted: x * mult = xs * mult * 2^AccZeros - corr.
    localparam int unsigned XsW = 33 - AccZeros;
    logic               sat_max;
    /* verilator lint_off UNUSEDSIGNAL */
    logic signed [32:0] xr;  // its low AccZeros bits are zero
    /* verilator lint_on UNUSEDSIGNAL */
    logic signed [XsW+31:0] p_n_s2_q;
    logic signed [32:0]     corr_s2_q;

    assign sat_max = (x_s1_q == 32'h7FFF_FFFF);
    assign xr      = $signed({x_s1_q[31], x_s1_q}) + 33'(sat_max);

    always_ff @(posedge clk_i) begin
      if (load[1]) begin
        p_n_s2_q  <= $signed(xr[32:AccZeros]) * $signed(mult_s1_q);
        corr_s2_q <= sat_max ? $signed({mult_s1_q[31], mult_s1_q}) : 33'sd0;
      end
    end
    assign prod_s2 = (64'(p_n_s2_q) <<< AccZeros) - 64'(corr_s2_q);
  end

  always_ff @(posedge clk_i) begin
    if (load[0]) begin
      x_s1_q    <= presat(acc_i, left_shift(shift_i));
      mult_s1_q <= mult_i;
      rs_q[0 +: 5]   <= right_shift(shift_i);
      zp_q[0 +: 8]   <= zp_i;
      amin_q[0 +: 8] <= act_min_i;
      amax_q[0 +: 8] <= act_max_i;
      tag_q[0 +: TagWidth]  <= tag_i;
    end
    if (load[1]) begin
      neg_s2_q    <= (x_s1_q[31] ^ mult_s1_q[31]) & (x_s1_q != 32'd0) & (mult_s1_q != 32'd0);
      minmin_s2_q <= (x_s1_q == 32'h8000_0000) && (mult_s1_q == 32'h8000_0000);
    end
    if (load[2]) begin
      sum_s3_q    <= prod_s2 + nudge(neg_s2_q);
      minmin_s3_q <= minmin_s2_q;
    end
    if (load[3]) begin
      srdhm_s4_q <= srdhm_div(sum_s3_q, minmin_s3_q);
    end
    if (load[4]) begin
      scaled_s5_q <= rdivpot(srdhm_s4_q, rs_q[15 +: 5]);
    end
    if (load[5]) begin
      scaled_s6_q <= scaled_s5_q;
      q_s6_q      <= zp_clamp(scaled_s5_q, zp_q[32 +: 8], amin_q[32 +: 8], amax_q[32 +: 8]);
    end
    for (int unsigned i = 1; i < NumStages - 1; i++) begin
      if (load[i]) begin
        rs_q[i*5 +: 5]   <= rs_q[(i-1)*5 +: 5];
        zp_q[i*8 +: 8]   <= zp_q[(i-1)*8 +: 8];
        amin_q[i*8 +: 8] <= amin_q[(i-1)*8 +: 8];
        amax_q[i*8 +: 8] <= amax_q[(i-1)*8 +: 8];
      end
    end
    for (int unsigned i = 1; i < NumStages; i++) begin
      if (load[i]) begin
        tag_q[i*TagWidth +: TagWidth] <= tag_q[(i-1)*TagWidth +: TagWidth];
      end
    end
  end

  assign out_valid_o = valid_q[NumStages-1];
  assign scaled_o    = scaled_s6_q;
  assign q_o         = q_s6_q;
  assign tag_o       = tag_q[(NumStages-1)*TagWidth +: TagWidth];

endmodule
