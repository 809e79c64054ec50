// lwnpu SRAM port adapter for the DMA (docs/HARDWARE.md §6, §7).
//
// npu_dma moves DmaBytes-wide "chunks" (chunk address = SRAM byte address
// / DmaBytes); an SRAM word holds WordBytes / DmaBytes chunks. This maps
// the DMA's load-write and store-read chunk ports onto port b of one
// npu_sram: word = chunk / chunks-per-word, the chunk's slot selects the
// byte enables (write) and the returned bytes (read, slot registered with
// the request). The store read wins a same-cycle conflict (npu_top holds
// the load write off with lw_gnt); sel_i says which SRAM this adapter is.
module npu_sram_dma_port #(
  parameter int unsigned WordBytes = 16,
  parameter int unsigned DmaBytes  = 8,
  parameter int unsigned AddrBits  = 13,   // SRAM word-address bits
  parameter int unsigned CaW       = 20,   // chunk-address bits
  parameter logic [1:0]  Sel       = 2'd0
) (
  input  logic                     clk_i,

  input  logic                     lw_req_i,   // already granted by npu_top
  input  logic [1:0]               lw_sel_i,
  input  logic [CaW-1:0]           lw_addr_i,
  input  logic [DmaBytes-1:0]      lw_be_i,
  input  logic [DmaBytes*8-1:0]    lw_wdata_i,
  input  logic                     sr_req_i,
  input  logic [1:0]               sr_sel_i,
  input  logic [CaW-1:0]           sr_addr_i,
  output logic [DmaBytes*8-1:0]    sr_rdata_o, // for the read of the last cycle

  output logic                     b_req_o,
  output logic                     b_we_o,
  output logic [AddrBits-1:0]      b_addr_o,
  output logic [WordBytes-1:0]     b_be_o,
  output logic [WordBytes*8-1:0]   b_wdata_o,
  input  logic [WordBytes*8-1:0]   b_rdata_i
);

  localparam int unsigned K     = WordBytes / DmaBytes;   // chunks per word
  localparam int unsigned KBits = (K > 1) ? $clog2(K) : 1;

  logic           rd, wr;
  logic [CaW-1:0] caddr;
  logic [KBits-1:0] slot, rslot_q;

  assign rd    = sr_req_i && (sr_sel_i == Sel);
  assign wr    = lw_req_i && (lw_sel_i == Sel) && !rd;
  assign caddr = rd ? sr_addr_i : lw_addr_i;

  if (K > 1) begin : g_slots
    assign slot = caddr[KBits-1:0];
    assign b_addr_o = AddrBits'(caddr >> KBits);
  end else begin : g_one
    logic unused_caddr;
    assign slot = 1'b0;
    assign b_addr_o = AddrBits'(caddr);
    assign unused_caddr = ^caddr;
  end

  assign b_req_o = rd || wr;
  assign b_we_o  = wr;

  always_comb begin
    for (int unsigned k = 0; k < K; k++) begin
      b_wdata_o[k*DmaBytes*8 +: DmaBytes*8] = lw_wdata_i;
      b_be_o[k*DmaBytes +: DmaBytes] = (32'(slot) == k) ? lw_be_i : '0;
    end
  end

  always_ff @(posedge clk_i) begin
    if (rd) begin
      rslot_q <= slot;
    end
  end

  assign sr_rdata_o = b_rdata_i[32'(rslot_q)*DmaBytes*8 +: DmaBytes*8];

endmodule
