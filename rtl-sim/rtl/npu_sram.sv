// lwnpu on-chip SRAM (docs/HARDWARE.md §7): a generic synchronous RAM with
// two read/write ports and byte enables.
//
// Both ports are synchronous: a request (req) with we == 0 returns the
// word at addr on rdata one cycle later; rdata holds its value until the
// next read of that port. A write (req && we) stores the bytes whose be bit
// is set and also reads (read-before-write: rdata gets the old word). A
// write and a read of the same word on the two ports in one cycle return
// the old word; two writes of the same byte in one cycle are a caller bug
// (the last port, b, wins in simulation).
//
// Written for inference as block RAM by yosys (synth_xilinx: RAMB36E1 in
// true dual-port mode, split by width and depth) and by FPGA tools: one
// clocked process, no reset on the array, byte-wide write enables. Tie
// port b off (req 0) for a single-port RAM.
module npu_sram #(
  parameter int unsigned Width = 128,   // bits, multiple of 8
  parameter int unsigned Depth = 8192,  // words, power of two
  // Derived; do not override (yosys 0.23 reads no localparam in this list).
  parameter int unsigned AddrBits = (Depth > 1) ? $clog2(Depth) : 1,
  parameter int unsigned NumBytes = Width / 8
) (
  input  logic                clk_i,

  input  logic                a_req_i,
  input  logic                a_we_i,
  input  logic [AddrBits-1:0] a_addr_i,
  input  logic [NumBytes-1:0] a_be_i,
  input  logic [Width-1:0]    a_wdata_i,
  output logic [Width-1:0]    a_rdata_o,

  input  logic                b_req_i,
  input  logic                b_we_i,
  input  logic [AddrBits-1:0] b_addr_i,
  input  logic [NumBytes-1:0] b_be_i,
  input  logic [Width-1:0]    b_wdata_i,
  output logic [Width-1:0]    b_rdata_o
);

  logic [Width-1:0] mem_q [Depth];
  logic [Width-1:0] a_rdata_q, b_rdata_q;

  always_ff @(posedge clk_i) begin
    if (a_req_i) begin
      a_rdata_q <= mem_q[a_addr_i];
    end
    if (b_req_i) begin
      b_rdata_q <= mem_q[b_addr_i];
    end
  end

  // One write process per byte lane: Verilator 5.006 cannot unroll a
  // 256-iteration loop of delayed array writes (BLKLOOPINIT), and yosys
  // merges same-address byte writes into one write port with enables.
  for (genvar i = 0; i < NumBytes; i++) begin : g_byte
    always_ff @(posedge clk_i) begin
      if (a_req_i && a_we_i && a_be_i[i]) begin
        mem_q[a_addr_i][i*8 +: 8] <= a_wdata_i[i*8 +: 8];
      end
      if (b_req_i && b_we_i && b_be_i[i]) begin
        mem_q[b_addr_i][i*8 +: 8] <= b_wdata_i[i*8 +: 8];
      end
    end
  end

  assign a_rdata_o = a_rdata_q;
  assign b_rdata_o = b_rdata_q;

endmodule
