// lwnpu in-order queue: a small synchronous FIFO (docs/HARDWARE.md §2).
//
// The command processor keeps the fetched descriptors and the LOAD,
// COMPUTE and STORE queues in these. The head entry is visible on
// head_o while head_valid_o; pop_i removes it. push_i is ignored when
// full_o (the caller checks). clear_i (soft reset) empties the queue.
// Storage is flops (Depth is 2..4): each entry is a whole 64-byte
// descriptor, read combinationally by the decoder and the executors.
module npu_queue #(
  parameter int unsigned Width = 528,
  parameter int unsigned Depth = 2   // power of two
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             clear_i,

  input  logic             push_i,
  input  logic [Width-1:0] data_i,
  output logic             full_o,

  output logic             head_valid_o,
  output logic [Width-1:0] head_o,
  input  logic             pop_i,

  output logic [$clog2(Depth):0] count_o
);

  localparam int unsigned PBits = (Depth > 1) ? $clog2(Depth) : 1;

  logic [Width-1:0] mem_q [Depth];
  logic [PBits-1:0] wr_q, rd_q;
  logic [$clog2(Depth):0] cnt_q;
  logic push, pop;

  assign full_o       = (cnt_q == ($clog2(Depth)+1)'(Depth));
  assign head_valid_o = (cnt_q != '0);
  assign head_o       = mem_q[rd_q];
  assign count_o      = cnt_q;
  assign push         = push_i && !full_o && !clear_i;
  assign pop          = pop_i && head_valid_o && !clear_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_q  <= '0;
      rd_q  <= '0;
      cnt_q <= '0;
    end else if (clear_i) begin
      wr_q  <= '0;
      rd_q  <= '0;
      cnt_q <= '0;
    end else begin
      if (push) begin
        wr_q <= wr_q + PBits'(1);
      end
      if (pop) begin
        rd_q <= rd_q + PBits'(1);
      end
      cnt_q <= cnt_q + ($clog2(Depth)+1)'(push) - ($clog2(Depth)+1)'(pop);
    end
  end

  always_ff @(posedge clk_i) begin
    if (push) begin
      mem_q[wr_q] <= data_i;
    end
  end

endmodule
