// lwnpu DMA address-window check (docs/HARDWARE.md §6).
//
// The device may touch host memory only inside windows the driver
// programmed (WIN_BASE/WIN_SIZE/WIN_CTRL). A burst [addr, addr + len) is
// allowed iff one window with the needed permission contains all of it:
//   base <= addr  and  addr + len <= base + size   (65-bit sums: no wrap)
// A zero-length burst is never allowed: the address generators do not
// issue one, so seeing one means a bug, and a fault is the safe answer.
// The DMA checks every burst before it is issued and, on ok_o == 0,
// reports ERR_DMA_WINDOW with the burst address and issues nothing, so
// an out-of-window write never reaches memory.
//
// Purely combinational; the DMA registers the result with its request.
module npu_dma_window #(
  parameter int unsigned NumWindows = 4,
  parameter int unsigned LenBits    = 16
) (
  input  logic [NumWindows*64-1:0] win_base_i,
  input  logic [NumWindows*32-1:0] win_size_i,
  input  logic [NumWindows-1:0]    win_rd_i,
  input  logic [NumWindows-1:0]    win_wr_i,

  input  logic [63:0]              addr_i,
  input  logic [LenBits-1:0]       len_i,    // bytes
  input  logic                     write_i,  // 1 = memory write

  output logic                     ok_o,
  output logic [NumWindows-1:0]    hit_o     // windows that allow the burst
);

  logic [64:0] end_req;

  assign end_req = {1'b0, addr_i} + 65'(len_i);

  for (genvar i = 0; i < NumWindows; i++) begin : g_win
    logic [63:0] base;
    logic [64:0] end_win;
    logic        perm;

    assign base    = win_base_i[i*64 +: 64];
    assign end_win = {1'b0, base} + 65'(win_size_i[i*32 +: 32]);
    assign perm    = write_i ? win_wr_i[i] : win_rd_i[i];
    assign hit_o[i] = perm && (addr_i >= base) && (end_req <= end_win);
  end

  assign ok_o = (len_i != '0) && (|hit_o);

endmodule
