// lwnpu command processor (docs/HARDWARE.md §2, §3, §4).
//
// Ring fetch: while CTRL.ENABLE is set, the device is not halted and the
// fetch index differs from the tail latched at the last doorbell, it
// fetches descriptor `index` from ring_base + 64*index by a 64-byte DMA
// read (window-checked in npu_dma), up to DescDepth descriptors ahead and
// at most 63 fetched but not retired.
//
// Decode: the oldest fetched descriptor is validated (version, opcode of
// a built engine, reserved flags and words, parameters, SRAM ranges of
// the base addresses) and dispatched in ring order to the LOAD, COMPUTE or
// STORE queue; a FENCE waits until all three are empty and idle. A bad
// descriptor is an error (ERR_DESC_*, ERR_SRAM_RANGE) with the descriptor
// address and ring index; the device halts (npu_csr latches the first).
//
// Execution: each queue runs its head in order. It waits for the tokens
// its POP flags name (cycles counted as stall_dep_o), takes them, starts
// its executor (npu_dma load/store, the compute engines; SYNC does no
// work), and when that is done gives the tokens its PUSH flags name. Four
// counters (l2c, c2l, c2s, s2c) hold the tokens; a push to a counter at
// TokenMax is ERR_TOKEN.
//
// Retirement: a finished descriptor sets its bit in a 64-entry completion
// bitmap (slot = ring index mod 64); RING_HEAD advances over the done
// prefix one descriptor per cycle (retire_o), with retire_irq_o for
// FLAG_IRQ. So RING_HEAD only passes finished work although the queues
// finish out of ring order.
module npu_cmdproc #(
  parameter int unsigned DmaBytes   = 8,
  parameter int unsigned DescDepth  = 2,    // power of two
  parameter int unsigned QueueDepth = 2,    // power of two
  parameter logic [8:0]  EngineMask = 9'h18f,
  parameter int unsigned PwRows     = 16,
  parameter int unsigned PwCols     = 16,
  parameter int unsigned DwLanes    = 16,
  parameter int unsigned ActBytes   = 131072,
  parameter int unsigned WgtBytes   = 131072,
  parameter int unsigned AccBytes   = 65536,
  parameter int unsigned ParamBytes = 8192
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  input  logic                  clear_i,       // soft reset pulse

  input  logic                  enable_i,
  input  logic                  halted_i,
  input  logic                  doorbell_i,
  input  logic [63:0]           ring_base_i,
  input  logic [16:0]           ring_size_i,
  input  logic [15:0]           ring_head_i,
  input  logic [15:0]           ring_tail_i,
  output logic                  retire_o,
  output logic                  retire_irq_o,

  output logic                  fetch_req_o,
  output logic [63:0]           fetch_addr_o,
  output logic [15:0]           fetch_index_o,
  input  logic                  fetch_gnt_i,
  input  logic                  fetch_rvalid_i,
  input  logic [DmaBytes*8-1:0] fetch_rdata_i,
  input  logic                  fetch_rerr_i,

  // Queue heads: desc/index are stable from start until done.
  output logic                  ld_start_o,
  output logic [511:0]          ld_desc_o,
  output logic [15:0]           ld_index_o,
  input  logic                  ld_done_i,
  output logic                  cmp_start_o,
  output logic [511:0]          cmp_desc_o,
  output logic [15:0]           cmp_index_o,
  input  logic                  cmp_done_i,
  output logic                  st_start_o,
  output logic [511:0]          st_desc_o,
  output logic [15:0]           st_index_o,
  input  logic                  st_done_i,

  output logic                  err_valid_o,
  output logic [7:0]            err_code_o,
  output logic [63:0]           err_addr_o,
  output logic [15:0]           err_index_o,

  output logic                  cp_busy_o,     // fetching or dispatching
  output logic [2:0]            q_busy_o,      // {STORE, COMPUTE, LOAD} queue non-empty
  output logic                  stall_dep_o
);

  localparam int unsigned Beats     = 64 / DmaBytes;
  localparam int unsigned BBits     = $clog2(Beats);
  localparam int unsigned DBits     = (DescDepth > 1) ? $clog2(DescDepth) : 1;
  localparam int unsigned QBits     = $clog2(QueueDepth);
  localparam int unsigned EntryW    = 1 + 16 + 512;   // {poison, index, desc}
  localparam int unsigned QEntryW   = 16 + 512;       // {index, desc}
  localparam logic [7:0]  TokenMax  = 8'd255;
  localparam int unsigned ActWords  = ActBytes / PwCols;
  localparam int unsigned WgtRowB   = PwRows * PwCols;
  localparam int unsigned AccWords  = AccBytes / (PwRows * 4);
  localparam int unsigned ParamWords = ParamBytes / (DwLanes * 4);
  localparam int unsigned ActWBits  = $clog2(PwCols);
  localparam int unsigned WgtRBits  = $clog2(WgtRowB);
  localparam int unsigned DwWBits   = $clog2(DwLanes);

  // ---- fetch ---------------------------------------------------------------
  logic [15:0]      tail_q, fidx_q, aidx_q;
  logic [15:0]      mask, inflight;
  logic [BBits-1:0] abeat_q;
  logic [511:0]     adesc_q;
  logic             apoison_q;
  logic [DBits:0]   fout_q;        // fetches granted, not yet assembled
  logic             desc_push, desc_full, desc_valid, desc_pop;
  logic [EntryW-1:0] desc_head;
  logic [DBits:0]   desc_cnt;
  logic             asm_last;

  assign mask     = 16'(ring_size_i - 17'd1);
  assign inflight = (fidx_q - ring_head_i) & mask;
  assign fetch_req_o = enable_i && !halted_i && !clear_i && (fidx_q != tail_q) &&
                       (inflight < 16'd63) &&
                       (32'(desc_cnt) + 32'(fout_q) < DescDepth);
  assign fetch_addr_o  = ring_base_i + {42'd0, fidx_q, 6'd0};
  assign fetch_index_o = fidx_q;
  assign asm_last      = fetch_rvalid_i && (abeat_q == BBits'(Beats - 1));
  assign desc_push     = asm_last;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tail_q    <= '0;
      fidx_q    <= '0;
      aidx_q    <= '0;
      abeat_q   <= '0;
      apoison_q <= 1'b0;
      fout_q    <= '0;
    end else if (clear_i) begin
      tail_q    <= '0;
      fidx_q    <= '0;
      aidx_q    <= '0;
      abeat_q   <= '0;
      apoison_q <= 1'b0;
      fout_q    <= '0;
    end else begin
      if (doorbell_i) begin
        tail_q <= ring_tail_i;
      end
      if (fetch_gnt_i) begin
        fidx_q <= (fidx_q + 16'd1) & mask;
      end
      fout_q <= fout_q + (DBits+1)'(fetch_gnt_i) - (DBits+1)'(asm_last);
      if (fetch_rvalid_i) begin
        abeat_q <= abeat_q + BBits'(1);
        if (asm_last) begin
          apoison_q <= 1'b0;
          aidx_q    <= (aidx_q + 16'd1) & mask;
        end else if (fetch_rerr_i) begin
          apoison_q <= 1'b1;
        end
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (fetch_rvalid_i) begin
      adesc_q[32'(abeat_q)*DmaBytes*8 +: DmaBytes*8] <= fetch_rdata_i;
    end
  end

  // The last beat goes straight into the queue entry.
  logic [511:0] asm_desc;
  always_comb begin
    asm_desc = adesc_q;
    asm_desc[(Beats-1)*DmaBytes*8 +: DmaBytes*8] = fetch_rdata_i;
  end

  npu_queue #(.Width(EntryW), .Depth(DescDepth)) u_desc_q (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .clear_i      (clear_i),
    .push_i       (desc_push),
    .data_i       ({apoison_q | fetch_rerr_i, aidx_q, asm_desc}),
    .full_o       (desc_full),
    .head_valid_o (desc_valid),
    .head_o       (desc_head),
    .pop_i        (desc_pop),
    .count_o      (desc_cnt)
  );

  logic unused_full;
  assign unused_full = desc_full;

  // ---- decode ----------------------------------------------------------------
  // Fields by their generated names (npu_regs_pkg::npu_desc_*; the
  // layouts are docs/HARDWARE.md §4, the checks §4.9).
  logic [511:0] dd;
  logic         d_poison;
  logic [15:0]  d_index;
  assign dd       = desc_head[511:0];
  assign d_poison = desc_head[EntryW-1];
  assign d_index  = desc_head[EntryW-2 -: 16];

  logic [7:0]  op, ver;
  logic [15:0] fl;
  assign op  = dd[npu_regs_pkg::NPU_DESC_HDR_OPCODE_BIT +: npu_regs_pkg::NPU_DESC_HDR_OPCODE_WIDTH];
  assign ver = dd[npu_regs_pkg::NPU_DESC_HDR_VERSION_BIT +: npu_regs_pkg::NPU_DESC_HDR_VERSION_WIDTH];
  assign fl  = dd[npu_regs_pkg::NPU_DESC_HDR_FLAGS_BIT +: npu_regs_pkg::NPU_DESC_HDR_FLAGS_WIDTH];

  localparam logic [15:0] FIrq     = 16'(npu_regs_pkg::NPU_HW_FLAG_IRQ);
  localparam logic [15:0] FPopP    = 16'(npu_regs_pkg::NPU_HW_FLAG_POP_PREV);
  localparam logic [15:0] FPopN    = 16'(npu_regs_pkg::NPU_HW_FLAG_POP_NEXT);
  localparam logic [15:0] FPushP   = 16'(npu_regs_pkg::NPU_HW_FLAG_PUSH_PREV);
  localparam logic [15:0] FPushN   = 16'(npu_regs_pkg::NPU_HW_FLAG_PUSH_NEXT);
  localparam logic [15:0] FAcc     = 16'(npu_regs_pkg::NPU_HW_FLAG_ACCUMULATE);
  localparam logic [15:0] FEpi     = 16'(npu_regs_pkg::NPU_HW_FLAG_EPILOGUE);
  localparam logic [15:0] FTokens  = FPopP | FPopN | FPushP | FPushN;
  localparam logic [15:0] FKnown   = FIrq | FTokens | FAcc | FEpi;

  localparam int unsigned QLoad    = 0;
  localparam int unsigned QCompute = 1;
  localparam int unsigned QStore   = 2;

  logic [7:0] d_err;
  logic [1:0] d_queue;
  logic       d_fence;
  logic       op_dma, op_conv, op_dw, op_ppu, op_rq, op_add, op_sync, built, epi;

  assign op_dma  = (op == 8'(npu_regs_pkg::NPU_HW_OP_DMA_LOAD)) ||
                   (op == 8'(npu_regs_pkg::NPU_HW_OP_DMA_STORE));
  assign op_dw   = (op == 8'(npu_regs_pkg::NPU_HW_OP_DW_CONV));
  assign op_conv = (op == 8'(npu_regs_pkg::NPU_HW_OP_PW_CONV)) || op_dw;
  assign op_ppu  = (op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_REQUANT)) ||
                   (op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_ADD)) ||
                   (op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_POOL));
  assign op_rq   = (op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_REQUANT));
  assign op_add  = (op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_ADD));
  assign op_sync = (op == 8'(npu_regs_pkg::NPU_HW_OP_SYNC));
  assign epi     = (fl & FEpi) != 16'd0;
  assign d_fence = (op == 8'(npu_regs_pkg::NPU_HW_OP_FENCE));

  // An opcode is accepted only if this build has its engine (CAPS_ENGINES).
  always_comb begin
    built = 1'b0;
    unique case (op)
      8'(npu_regs_pkg::NPU_HW_OP_DMA_LOAD),
      8'(npu_regs_pkg::NPU_HW_OP_DMA_STORE):   built = EngineMask[1];
      8'(npu_regs_pkg::NPU_HW_OP_PW_CONV):     built = EngineMask[2];
      8'(npu_regs_pkg::NPU_HW_OP_DW_CONV):     built = EngineMask[3];
      8'(npu_regs_pkg::NPU_HW_OP_PPU_REQUANT): built = EngineMask[4];
      8'(npu_regs_pkg::NPU_HW_OP_PPU_ADD):     built = EngineMask[5];
      8'(npu_regs_pkg::NPU_HW_OP_PPU_POOL):    built = EngineMask[6];
      8'(npu_regs_pkg::NPU_HW_OP_SYNC),
      8'(npu_regs_pkg::NPU_HW_OP_FENCE):       built = 1'b1;
      default:                                 built = 1'b0;
    endcase
  end

  // Conv fields (§4.3).
  logic [3:0]  kh, kw, sh, sw, pt, pl;
  logic [15:0] cv_in_h, cv_in_w, cv_in_c, cv_out_c, cv_out_h, cv_out_w, cv_groups;
  logic [31:0] cv_in, cv_wgt, cv_out, cv_param, cv_irs, cv_ips, cv_ors, cv_ops;
  assign kh        = dd[npu_regs_pkg::NPU_DESC_CONV_KH_BIT +: npu_regs_pkg::NPU_DESC_CONV_KH_WIDTH];
  assign kw        = dd[npu_regs_pkg::NPU_DESC_CONV_KW_BIT +: npu_regs_pkg::NPU_DESC_CONV_KW_WIDTH];
  assign sh        = dd[npu_regs_pkg::NPU_DESC_CONV_STRIDE_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_STRIDE_H_WIDTH];
  assign sw        = dd[npu_regs_pkg::NPU_DESC_CONV_STRIDE_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_STRIDE_W_WIDTH];
  assign pt        = dd[npu_regs_pkg::NPU_DESC_CONV_PAD_T_BIT +: npu_regs_pkg::NPU_DESC_CONV_PAD_T_WIDTH];
  assign pl        = dd[npu_regs_pkg::NPU_DESC_CONV_PAD_L_BIT +: npu_regs_pkg::NPU_DESC_CONV_PAD_L_WIDTH];
  assign cv_in_h   = dd[npu_regs_pkg::NPU_DESC_CONV_IN_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_H_WIDTH];
  assign cv_in_w   = dd[npu_regs_pkg::NPU_DESC_CONV_IN_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_W_WIDTH];
  assign cv_in_c   = dd[npu_regs_pkg::NPU_DESC_CONV_IN_C_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_C_WIDTH];
  assign cv_out_c  = dd[npu_regs_pkg::NPU_DESC_CONV_OUT_C_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_C_WIDTH];
  assign cv_out_h  = dd[npu_regs_pkg::NPU_DESC_CONV_OUT_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_H_WIDTH];
  assign cv_out_w  = dd[npu_regs_pkg::NPU_DESC_CONV_OUT_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_W_WIDTH];
  assign cv_groups = dd[npu_regs_pkg::NPU_DESC_CONV_GROUPS_BIT +: npu_regs_pkg::NPU_DESC_CONV_GROUPS_WIDTH];
  assign cv_in     = dd[npu_regs_pkg::NPU_DESC_CONV_IN_ADDR_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_ADDR_WIDTH];
  assign cv_wgt    = dd[npu_regs_pkg::NPU_DESC_CONV_WGT_ADDR_BIT +: npu_regs_pkg::NPU_DESC_CONV_WGT_ADDR_WIDTH];
  assign cv_out    = dd[npu_regs_pkg::NPU_DESC_CONV_OUT_ADDR_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_ADDR_WIDTH];
  assign cv_param  = dd[npu_regs_pkg::NPU_DESC_CONV_PARAM_ENTRY_BIT +: npu_regs_pkg::NPU_DESC_CONV_PARAM_ENTRY_WIDTH];
  assign cv_irs    = dd[npu_regs_pkg::NPU_DESC_CONV_IN_ROW_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_ROW_STRIDE_WIDTH];
  assign cv_ips    = dd[npu_regs_pkg::NPU_DESC_CONV_IN_PIX_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_PIX_STRIDE_WIDTH];
  assign cv_ors    = dd[npu_regs_pkg::NPU_DESC_CONV_OUT_ROW_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_ROW_STRIDE_WIDTH];
  assign cv_ops    = dd[npu_regs_pkg::NPU_DESC_CONV_OUT_PIX_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_PIX_STRIDE_WIDTH];

  // Pool fields (§4.6); the kernel fields sit where the conv's do.
  logic [3:0]  pk_h, pk_w, ps_h, ps_w, pp_t, pp_l;
  logic [7:0]  pl_mode;
  assign pk_h    = dd[npu_regs_pkg::NPU_DESC_POOL_KH_BIT +: npu_regs_pkg::NPU_DESC_POOL_KH_WIDTH];
  assign pk_w    = dd[npu_regs_pkg::NPU_DESC_POOL_KW_BIT +: npu_regs_pkg::NPU_DESC_POOL_KW_WIDTH];
  assign ps_h    = dd[npu_regs_pkg::NPU_DESC_POOL_STRIDE_H_BIT +: npu_regs_pkg::NPU_DESC_POOL_STRIDE_H_WIDTH];
  assign ps_w    = dd[npu_regs_pkg::NPU_DESC_POOL_STRIDE_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_STRIDE_W_WIDTH];
  assign pp_t    = dd[npu_regs_pkg::NPU_DESC_POOL_PAD_T_BIT +: npu_regs_pkg::NPU_DESC_POOL_PAD_T_WIDTH];
  assign pp_l    = dd[npu_regs_pkg::NPU_DESC_POOL_PAD_L_BIT +: npu_regs_pkg::NPU_DESC_POOL_PAD_L_WIDTH];
  assign pl_mode = dd[npu_regs_pkg::NPU_DESC_POOL_MODE_BIT +: npu_regs_pkg::NPU_DESC_POOL_MODE_WIDTH];

  // A bit the layout leaves reserved is set (ERR_DESC_FLAGS).
  logic rsvd_dma, rsvd_conv, rsvd_sync, rsvd_fence, rsvd_rq, rsvd_add, rsvd_pool;
  assign rsvd_dma   = (dd & npu_regs_pkg::NPU_DESC_DMA_RSVD) != '0;
  assign rsvd_conv  = (dd & npu_regs_pkg::NPU_DESC_CONV_RSVD) != '0;
  assign rsvd_sync  = (dd & npu_regs_pkg::NPU_DESC_SYNC_RSVD) != '0;
  assign rsvd_fence = (dd & npu_regs_pkg::NPU_DESC_FENCE_RSVD) != '0;
  assign rsvd_rq    = (dd & npu_regs_pkg::NPU_DESC_REQUANT_RSVD) != '0;
  assign rsvd_add   = (dd & npu_regs_pkg::NPU_DESC_ADD_RSVD) != '0;
  assign rsvd_pool  = (dd & npu_regs_pkg::NPU_DESC_POOL_RSVD) != '0;

  function automatic logic misaligned(input logic [31:0] v, input int unsigned bits);
    misaligned = (bits != 0) && ((v & ((32'd1 << bits) - 32'd1)) != 32'd0);
  endfunction

  always_comb begin
    d_err   = npu_regs_pkg::NPU_HW_ERR_NONE;
    d_queue = 2'(QCompute);
    if (op == 8'(npu_regs_pkg::NPU_HW_OP_DMA_LOAD)) begin
      d_queue = 2'(QLoad);
    end else if (op == 8'(npu_regs_pkg::NPU_HW_OP_DMA_STORE)) begin
      d_queue = 2'(QStore);
    end else if (op_sync) begin
      d_queue = dd[npu_regs_pkg::NPU_DESC_SYNC_QUEUE_BIT +: npu_regs_pkg::NPU_DESC_SYNC_QUEUE_WIDTH];
    end

    if (ver != 8'(npu_regs_pkg::NPU_HW_DESC_VERSION)) begin
      d_err = npu_regs_pkg::NPU_HW_ERR_DESC_VERSION;
    end else if (!built) begin
      d_err = npu_regs_pkg::NPU_HW_ERR_DESC_OPCODE;
    end else if ((fl & ~FKnown) != 16'd0 ||
                 (!op_conv && (fl & (FAcc | FEpi)) != 16'd0) ||
                 // ACCUMULATE is PW only and never with EPILOGUE (K split:
                 // raw int32 passes, then PPU_REQUANT; docs/SCHEDULER.md §3)
                 (op_dw && (fl & FAcc) != 16'd0) ||
                 ((fl & (FAcc | FEpi)) == (FAcc | FEpi)) ||
                 (d_fence && (fl & FTokens) != 16'd0) ||
                 (!d_fence && d_queue == 2'(QLoad) && (fl & (FPopP | FPushP)) != 16'd0) ||
                 (!d_fence && d_queue == 2'(QStore) && (fl & (FPopN | FPushN)) != 16'd0)) begin
      d_err = npu_regs_pkg::NPU_HW_ERR_DESC_FLAGS;
    end else if (op_dma) begin
      if (rsvd_dma) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_FLAGS;
      end else if (dd[npu_regs_pkg::NPU_DESC_DMA_SRAM_SEL_BIT +: npu_regs_pkg::NPU_DESC_DMA_SRAM_SEL_WIDTH] > 8'd3 || dd[npu_regs_pkg::NPU_DESC_DMA_CHANS_BIT +: npu_regs_pkg::NPU_DESC_DMA_CHANS_WIDTH] == 16'd0 ||
                   dd[npu_regs_pkg::NPU_DESC_DMA_COLS_BIT +: npu_regs_pkg::NPU_DESC_DMA_COLS_WIDTH] == 16'd0 || dd[npu_regs_pkg::NPU_DESC_DMA_ROWS_BIT +: npu_regs_pkg::NPU_DESC_DMA_ROWS_WIDTH] == 16'd0) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_PARAM;
      end
    end else if (op_conv) begin
      // DW has no groups field in use: it must be 0
      if (rsvd_conv || (op_dw && cv_groups != 16'd0)) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_FLAGS;
      end else if (cv_in_h == 16'd0 || cv_in_w == 16'd0 ||
                   cv_in_c == 16'd0 || cv_out_c == 16'd0 ||
                   cv_out_h == 16'd0 || cv_out_w == 16'd0 ||
                   kh == 4'd0 || kw == 4'd0 || sh == 4'd0 || sw == 4'd0 ||
                   pt >= kh || pl >= kw ||
                   (op_dw && (kh != kw || (kh != 4'd3 && kh != 4'd5) || sh > 4'd2 ||
                              sw > 4'd2 || cv_in_c != cv_out_c)) ||
                   (!op_dw && cv_groups == 16'd0) ||
                   misaligned(cv_in, ActWBits) || misaligned(cv_irs, ActWBits) ||
                   misaligned(cv_ips, ActWBits) ||
                   (cv_irs >> ActWBits) > 32'hffff || (cv_ips >> ActWBits) > 32'hffff ||
                   (epi && (misaligned(cv_out, ActWBits) || misaligned(cv_ors, ActWBits) ||
                            misaligned(cv_ops, ActWBits))) ||
                   (cv_ors >> (epi ? ActWBits : 0)) > 32'hffff ||
                   (cv_ops >> (epi ? ActWBits : 0)) > 32'hffff ||
                   (op_dw ? misaligned(cv_wgt, DwWBits) : misaligned(cv_wgt, WgtRBits))) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_PARAM;
      end else if ((cv_in >> ActWBits) >= 32'(ActWords) || cv_wgt >= 32'(WgtBytes) ||
                   (epi ? (cv_out >> ActWBits) >= 32'(ActWords) : cv_out >= 32'(AccWords)) ||
                   cv_param >= 32'(ParamWords)) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_SRAM_RANGE;
      end
    end else if (op_sync) begin
      if (rsvd_sync) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_FLAGS;
      end else if (dd[npu_regs_pkg::NPU_DESC_SYNC_QUEUE_BIT +: npu_regs_pkg::NPU_DESC_SYNC_QUEUE_WIDTH] == 2'd3) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_PARAM;
      end
    end else if (d_fence) begin
      if (rsvd_fence) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_FLAGS;
      end
    end else if (op_rq) begin
      // PPU_REQUANT (§4.4): ACC words [pixel][G] -> ACT [pixel][round_up(C, word)].
      if (rsvd_rq) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_FLAGS;
      end else if (dd[npu_regs_pkg::NPU_DESC_REQUANT_PIXELS_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_PIXELS_WIDTH] == 16'd0 || dd[npu_regs_pkg::NPU_DESC_REQUANT_CHANNELS_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_CHANNELS_WIDTH] == 16'd0 ||
                   misaligned(dd[npu_regs_pkg::NPU_DESC_REQUANT_DST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_DST_ADDR_WIDTH], ActWBits)) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_PARAM;
      end else if (dd[npu_regs_pkg::NPU_DESC_REQUANT_SRC_ADDR_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_SRC_ADDR_WIDTH] >= 32'(AccWords) ||
                   (dd[npu_regs_pkg::NPU_DESC_REQUANT_DST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_DST_ADDR_WIDTH] >> ActWBits) >= 32'(ActWords) ||
                   dd[npu_regs_pkg::NPU_DESC_REQUANT_PARAM_ENTRY_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_PARAM_ENTRY_WIDTH] >= 32'(ParamWords)) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_SRAM_RANGE;
      end
    end else if (op_add) begin
      // PPU_ADD (§4.5).
      if (rsvd_add) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_FLAGS;
      end else if (dd[npu_regs_pkg::NPU_DESC_ADD_COUNT_BIT +: npu_regs_pkg::NPU_DESC_ADD_COUNT_WIDTH] == 32'd0 || misaligned(dd[npu_regs_pkg::NPU_DESC_ADD_SRC_A_ADDR_BIT +: npu_regs_pkg::NPU_DESC_ADD_SRC_A_ADDR_WIDTH], ActWBits) ||
                   misaligned(dd[npu_regs_pkg::NPU_DESC_ADD_SRC_B_ADDR_BIT +: npu_regs_pkg::NPU_DESC_ADD_SRC_B_ADDR_WIDTH], ActWBits) ||
                   misaligned(dd[npu_regs_pkg::NPU_DESC_ADD_DST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_ADD_DST_ADDR_WIDTH], ActWBits)) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_PARAM;
      end else if ((dd[npu_regs_pkg::NPU_DESC_ADD_SRC_A_ADDR_BIT +: npu_regs_pkg::NPU_DESC_ADD_SRC_A_ADDR_WIDTH] >> ActWBits) >= 32'(ActWords) ||
                   (dd[npu_regs_pkg::NPU_DESC_ADD_SRC_B_ADDR_BIT +: npu_regs_pkg::NPU_DESC_ADD_SRC_B_ADDR_WIDTH] >> ActWBits) >= 32'(ActWords) ||
                   (dd[npu_regs_pkg::NPU_DESC_ADD_DST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_ADD_DST_ADDR_WIDTH] >> ActWBits) >= 32'(ActWords)) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_SRAM_RANGE;
      end
    end else if (op_ppu) begin
      // PPU_POOL (§4.6): dense tiles; GLOBAL has kernel fields 0 and one
      // output pixel, MAX/AVG any kernel/stride 1..15 with pad < kernel.
      if (rsvd_pool ||
          (pl_mode != 8'(npu_regs_pkg::NPU_HW_POOL_GLOBAL) &&
           (dd[npu_regs_pkg::NPU_DESC_POOL_GLOBAL_MULT_BIT +: npu_regs_pkg::NPU_DESC_POOL_GLOBAL_MULT_WIDTH] != 32'd0 || dd[npu_regs_pkg::NPU_DESC_POOL_GLOBAL_SHIFT_BIT +: npu_regs_pkg::NPU_DESC_POOL_GLOBAL_SHIFT_WIDTH] != 8'd0))) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_FLAGS;
      end else if (pl_mode > 8'(npu_regs_pkg::NPU_HW_POOL_GLOBAL) ||
                   dd[npu_regs_pkg::NPU_DESC_POOL_IN_H_BIT +: npu_regs_pkg::NPU_DESC_POOL_IN_H_WIDTH] == 16'd0 || dd[npu_regs_pkg::NPU_DESC_POOL_IN_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_IN_W_WIDTH] == 16'd0 ||
                   dd[npu_regs_pkg::NPU_DESC_POOL_CHANNELS_BIT +: npu_regs_pkg::NPU_DESC_POOL_CHANNELS_WIDTH] == 16'd0 ||
                   dd[npu_regs_pkg::NPU_DESC_POOL_OUT_H_BIT +: npu_regs_pkg::NPU_DESC_POOL_OUT_H_WIDTH] == 16'd0 || dd[npu_regs_pkg::NPU_DESC_POOL_OUT_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_OUT_W_WIDTH] == 16'd0 ||
                   misaligned(dd[npu_regs_pkg::NPU_DESC_POOL_SRC_ADDR_BIT +: npu_regs_pkg::NPU_DESC_POOL_SRC_ADDR_WIDTH], ActWBits) ||
                   misaligned(dd[npu_regs_pkg::NPU_DESC_POOL_DST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_POOL_DST_ADDR_WIDTH], ActWBits) ||
                   (pl_mode == 8'(npu_regs_pkg::NPU_HW_POOL_GLOBAL) ?
                    ({pk_h, pk_w, ps_h, ps_w, pp_t, pp_l} != 24'd0 ||
                     dd[npu_regs_pkg::NPU_DESC_POOL_OUT_H_BIT +: npu_regs_pkg::NPU_DESC_POOL_OUT_H_WIDTH] != 16'd1 || dd[npu_regs_pkg::NPU_DESC_POOL_OUT_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_OUT_W_WIDTH] != 16'd1) :
                    (pk_h == 4'd0 || pk_w == 4'd0 || ps_h == 4'd0 || ps_w == 4'd0 ||
                     pp_t >= pk_h || pp_l >= pk_w))) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_DESC_PARAM;
      end else if ((dd[npu_regs_pkg::NPU_DESC_POOL_SRC_ADDR_BIT +: npu_regs_pkg::NPU_DESC_POOL_SRC_ADDR_WIDTH] >> ActWBits) >= 32'(ActWords) ||
                   (dd[npu_regs_pkg::NPU_DESC_POOL_DST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_POOL_DST_ADDR_WIDTH] >> ActWBits) >= 32'(ActWords) ||
                   dd[npu_regs_pkg::NPU_DESC_POOL_PARAM_ENTRY_BIT +: npu_regs_pkg::NPU_DESC_POOL_PARAM_ENTRY_WIDTH] >= 32'(ParamWords)) begin
        d_err = npu_regs_pkg::NPU_HW_ERR_SRAM_RANGE;
      end
    end
  end

  // ---- dispatch ----------------------------------------------------------------
  logic       err_q;
  logic [2:0] q_push, q_full, q_valid, q_pop;
  logic [QEntryW-1:0] q_head [3];
  logic [2:0] x_idle;           // queue executor idle
  logic       all_idle, dispatch_ok, d_bad, fence_done;

  assign all_idle    = (&x_idle) && (q_valid == 3'b000);
  assign dispatch_ok = desc_valid && !d_poison && !halted_i && !err_q && !clear_i;
  assign d_bad       = dispatch_ok && (d_err != npu_regs_pkg::NPU_HW_ERR_NONE);
  assign fence_done  = dispatch_ok && !d_bad && d_fence && all_idle;

  always_comb begin
    q_push = 3'b000;
    if (dispatch_ok && !d_bad && !d_fence && !q_full[d_queue]) begin
      q_push[d_queue] = 1'b1;
    end
  end
  assign desc_pop = (|q_push) || fence_done;

  for (genvar q = 0; q < 3; q++) begin : g_queue
    logic [QBits:0] unused_cnt;
    npu_queue #(.Width(QEntryW), .Depth(QueueDepth)) u_q (
      .clk_i        (clk_i),
      .rst_ni       (rst_ni),
      .clear_i      (clear_i),
      .push_i       (q_push[q]),
      .data_i       (desc_head[QEntryW-1:0]),
      .full_o       (q_full[q]),
      .head_valid_o (q_valid[q]),
      .head_o       (q_head[q]),
      .pop_i        (q_pop[q]),
      .count_o      (unused_cnt)
    );
  end

  // ---- queue executors and tokens ----------------------------------------------
  typedef enum logic [1:0] {
    XIdle,
    XRun,
    XFin
  } xstate_e;

  xstate_e    x_d [3];
  xstate_e    x_q [3];
  logic [2:0] x_start, x_done, x_sync;
  logic [15:0] x_fl [3];
  logic [15:0] x_idx [3];
  // Counters: fwd[0] = l2c, fwd[1] = c2s; bwd[0] = c2l, bwd[1] = s2c.
  logic [7:0] fwd_q [2];
  logic [7:0] fwd_d [2];
  logic [7:0] bwd_q [2];
  logic [7:0] bwd_d [2];
  logic [2:0] can_go, stall;
  logic       tok_err;
  logic [15:0] tok_err_idx;

  assign x_done = {st_done_i, cmp_done_i, ld_done_i};

  // Counter indices of queue q's neighbours (only used when they exist).
  function automatic int unsigned pidx(input int unsigned q);
    pidx = (q > 0) ? q - 1 : 0;
  endfunction
  function automatic int unsigned nidx(input int unsigned q);
    nidx = (q < 2) ? q : 1;
  endfunction

  always_comb begin
    for (int unsigned q = 0; q < 3; q++) begin
      x_fl[q]   = q_head[q][31:16];
      x_idx[q]  = q_head[q][QEntryW-1 -: 16];
      x_sync[q] = (q_head[q][7:0] == 8'(npu_regs_pkg::NPU_HW_OP_SYNC));
    end
  end

  always_comb begin
    for (int unsigned i = 0; i < 2; i++) begin
      fwd_d[i] = fwd_q[i];
      bwd_d[i] = bwd_q[i];
    end
    tok_err     = 1'b0;
    tok_err_idx = '0;
    for (int unsigned q = 0; q < 3; q++) begin
      x_d[q]     = x_q[q];
      x_start[q] = 1'b0;
      q_pop[q]   = 1'b0;
      x_idle[q]  = (x_q[q] == XIdle);
      // Tokens available for this head's POP flags?
      can_go[q] = 1'b1;
      if ((x_fl[q] & FPopP) != 16'd0 && q > 0 && fwd_q[pidx(q)] == 8'd0) begin
        can_go[q] = 1'b0;
      end
      if ((x_fl[q] & FPopN) != 16'd0 && q < 2 && bwd_q[nidx(q)] == 8'd0) begin
        can_go[q] = 1'b0;
      end
      stall[q] = (x_q[q] == XIdle) && q_valid[q] && !can_go[q];
    end
    for (int unsigned q = 0; q < 3; q++) begin
      unique case (x_q[q])
        XIdle: begin
          if (q_valid[q] && can_go[q] && !halted_i && !err_q && !clear_i) begin
            if ((x_fl[q] & FPopP) != 16'd0 && q > 0) begin
              fwd_d[pidx(q)] = fwd_d[pidx(q)] - 8'd1;
            end
            if ((x_fl[q] & FPopN) != 16'd0 && q < 2) begin
              bwd_d[nidx(q)] = bwd_d[nidx(q)] - 8'd1;
            end
            if (x_sync[q]) begin
              x_d[q] = XFin;
            end else begin
              x_start[q] = 1'b1;
              x_d[q]     = XRun;
            end
          end
        end
        XRun: begin
          if (x_done[q]) begin
            x_d[q] = XFin;
          end
        end
        XFin: begin
          if (!halted_i && !err_q) begin
            if ((x_fl[q] & FPushN) != 16'd0 && q < 2) begin
              if (fwd_q[nidx(q)] == TokenMax) begin
                tok_err     = 1'b1;
                tok_err_idx = x_idx[q];
              end
              fwd_d[nidx(q)] = fwd_d[nidx(q)] + 8'd1;
            end
            if ((x_fl[q] & FPushP) != 16'd0 && q > 0) begin
              if (bwd_q[pidx(q)] == TokenMax) begin
                tok_err     = 1'b1;
                tok_err_idx = x_idx[q];
              end
              bwd_d[pidx(q)] = bwd_d[pidx(q)] + 8'd1;
            end
            q_pop[q] = 1'b1;
            x_d[q]   = XIdle;
          end
        end
        default: x_d[q] = XIdle;
      endcase
    end
    if (tok_err) begin
      // Nothing retires with a broken token count; the device halts.
      for (int unsigned q = 0; q < 3; q++) begin
        q_pop[q] = 1'b0;
        x_d[q]   = x_q[q];
      end
      for (int unsigned i = 0; i < 2; i++) begin
        fwd_d[i] = fwd_q[i];
        bwd_d[i] = bwd_q[i];
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int unsigned q = 0; q < 3; q++) begin
        x_q[q] <= XIdle;
      end
      for (int unsigned i = 0; i < 2; i++) begin
        fwd_q[i] <= '0;
        bwd_q[i] <= '0;
      end
    end else if (clear_i) begin
      for (int unsigned q = 0; q < 3; q++) begin
        x_q[q] <= XIdle;
      end
      for (int unsigned i = 0; i < 2; i++) begin
        fwd_q[i] <= '0;
        bwd_q[i] <= '0;
      end
    end else begin
      for (int unsigned q = 0; q < 3; q++) begin
        x_q[q] <= x_d[q];
      end
      for (int unsigned i = 0; i < 2; i++) begin
        fwd_q[i] <= fwd_d[i];
        bwd_q[i] <= bwd_d[i];
      end
    end
  end

  assign ld_start_o  = x_start[QLoad];
  assign ld_desc_o   = q_head[QLoad][511:0];
  assign ld_index_o  = x_idx[QLoad];
  assign cmp_start_o = x_start[QCompute];
  assign cmp_desc_o  = q_head[QCompute][511:0];
  assign cmp_index_o = x_idx[QCompute];
  assign st_start_o  = x_start[QStore];
  assign st_desc_o   = q_head[QStore][511:0];
  assign st_index_o  = x_idx[QStore];

  // ---- completion bitmap and retirement ---------------------------------------
  logic [63:0] done_d, done_q, irq_d, irq_q;
  logic [5:0]  hslot;
  assign hslot = ring_head_i[5:0];

  always_comb begin
    done_d = done_q;
    irq_d  = irq_q;
    if (retire_o) begin
      done_d[hslot] = 1'b0;
      irq_d[hslot]  = 1'b0;
    end
    for (int unsigned q = 0; q < 3; q++) begin
      if (q_pop[q]) begin
        done_d[x_idx[q][5:0]] = 1'b1;
        irq_d[x_idx[q][5:0]]  = (x_fl[q] & FIrq) != 16'd0;
      end
    end
    if (fence_done) begin
      done_d[d_index[5:0]] = 1'b1;
      irq_d[d_index[5:0]]  = (fl & FIrq) != 16'd0;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      done_q <= '0;
      irq_q  <= '0;
    end else if (clear_i) begin
      done_q <= '0;
      irq_q  <= '0;
    end else begin
      done_q <= done_d;
      irq_q  <= irq_d;
    end
  end

  assign retire_o     = done_q[hslot] && !clear_i;
  assign retire_irq_o = irq_q[hslot];

  // ---- errors --------------------------------------------------------------------
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      err_q <= 1'b0;
    end else if (clear_i) begin
      err_q <= 1'b0;
    end else if (d_bad || tok_err) begin
      err_q <= 1'b1;
    end
  end

  assign err_valid_o = (d_bad || tok_err) && !err_q;
  assign err_code_o  = tok_err ? npu_regs_pkg::NPU_HW_ERR_TOKEN : d_err;
  assign err_addr_o  = tok_err ? 64'd0 : ring_base_i + {42'd0, d_index, 6'd0};
  assign err_index_o = tok_err ? tok_err_idx : d_index;

  assign cp_busy_o   = (fout_q != '0) || desc_valid;
  assign q_busy_o    = q_valid;
  assign stall_dep_o = |stall;

endmodule
