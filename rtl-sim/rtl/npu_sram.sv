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
// true dual-port mode, split by width and depth) and by FPGA tools: no
// reset on the array, byte-wide write enables. The write has two forms
// that store the same bytes: with SYNTHESIS defined (yosys defines it)
// one process per byte lane, the form block RAM inference wants; else
// (Verilator) one masked word per port, which costs the simulator nothing
// while the port does not write (docs/PERFORMANCE.md "Simulator speed").
// Tie port b off (req 0) for a single-port RAM.
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

`ifdef SYNTHESIS
  // One write process per byte lane: yosys merges same-address byte
  // writes into one write port with byte enables (block RAM inference).
  // Verilator 5.006 cannot unroll a 256-iteration loop of delayed array
  // writes (BLKLOOPINIT), and this form costs it a delayed write per lane
  // and port every cycle, so simulation uses the masked-word form below.
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
`else
  // Simulation (docs/HARDWARE.md §7): one masked word per port, merged
  // only when the port writes, so an idle port costs Verilator nothing.
  // Same behaviour as the byte lanes: when both ports write one word, port
  // b merges into port a's result (b wins a byte both write).
  // Bytes in groups of G: Verilator unrolls the short loops (constant
  // selects) and skips a group without enables (a DMA chunk is one group).
  // The merge is written in place on one word variable per port, not as a
  // function: Verilator clears an inlined function's wide locals (result,
  // arguments, temporary: 4 words of Width bits per call) on every cycle,
  // written or not (docs/PERFORMANCE.md "Simulator speed").
  localparam int unsigned G = (NumBytes % 8 == 0) ? 8 : (NumBytes % 4 == 0) ? 4 : 1;

  logic a_wr, b_wr;
  assign a_wr = a_req_i && a_we_i;
  assign b_wr = b_req_i && b_we_i;

  // verilator lint_off BLKSEQ
  always_ff @(posedge clk_i) begin : p_write
    logic [Width-1:0] wa, wb;
    if (a_wr) begin
      wa = mem_q[a_addr_i];
      for (int unsigned g = 0; g < NumBytes / G; g++) begin
        if (a_be_i[g*G +: G] != '0) begin
          for (int unsigned k = 0; k < G; k++) begin
            if (a_be_i[g*G + k]) begin
              wa[(g*G + k)*8 +: 8] = a_wdata_i[(g*G + k)*8 +: 8];
            end
          end
        end
      end
      mem_q[a_addr_i] <= wa;
    end
    if (b_wr) begin
      if (a_wr && a_addr_i == b_addr_i) begin
        wb = wa;
      end else begin
        wb = mem_q[b_addr_i];
      end
      for (int unsigned g = 0; g < NumBytes / G; g++) begin
        if (b_be_i[g*G +: G] != '0) begin
          for (int unsigned k = 0; k < G; k++) begin
            if (b_be_i[g*G + k]) begin
              wb[(g*G + k)*8 +: 8] = b_wdata_i[(g*G + k)*8 +: 8];
            end
          end
        end
      end
      mem_q[b_addr_i] <= wb;
    end
  end
  // verilator lint_on BLKSEQ
`endif

  assign a_rdata_o = a_rdata_q;
  assign b_rdata_o = b_rdata_q;

endmodule
