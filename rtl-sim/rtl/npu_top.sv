// lwnpu device top level (docs/HARDWARE.md §1, "Harness and C ABI").
//
// Flat ports only (Verilator 5.006 accepts no interface ports on a top):
//
// Register port: the 32-bit request/response bus of npu_csr. A request
// (reg_req_i with reg_we_i, reg_addr_i, reg_wdata_i) is accepted every
// cycle, no back-pressure; its response (reg_rvalid_o with reg_rdata_o, or
// the write acknowledge, reg_err_o for an unmapped/misaligned address)
// comes exactly one cycle later. An AXI-Lite wrapper maps onto it 1:1.
//
// Memory port (host memory, device addresses): a byte-addressed master,
// data DmaBytes wide (see npu_dma for the full contract):
//   mem_ar_*  read request  valid/ready, addr (64), len (bytes, 1..16*DmaBytes)
//   mem_r_*   read data     valid/ready, data (beats packed from addr), err
//   mem_aw_*  write request valid/ready, addr, len
//   mem_w_*   write data    valid/ready, data (packed), last
//   mem_b_*   write response valid (always accepted), err
// Bursts never cross 4 KiB; responses come in request order per channel.
//
// irq_o: level interrupt, |(IRQ_STATUS & IRQ_MASK), registered.
//
// dbg_engine_hold_i: test hook (docs/HARDWARE.md §14), one bit per engine
// (0 PW, 1 DW, 2 PPU). While a bit is set the compute sequencer does not
// see that engine's done: a descriptor running on it never completes (the
// watchdog reports ERR_WATCHDOG). A board ties it to 0 (then it is three
// AND gates that pass done through).
//
// Inside: npu_csr, npu_cmdproc (ring fetch, decode, LOAD/COMPUTE/STORE
// queues with tokens, retirement), npu_dma (fetch, load, store, windows),
// the compute engines (npu_pw, npu_dw) and four npu_sram (ACT, WGT, ACC,
// PARAM). Port a of each SRAM belongs to the compute queue (one engine at a
// time), port b to the DMA. CTRL.SOFT_RESET resets the engines and clears
// the command processor and the DMA's jobs (bursts on the bus complete).
module npu_top #(
  parameter int unsigned PwRows     = 16,
  parameter int unsigned PwCols     = 16,
  parameter int unsigned DwLanes    = 16,   // == PwRows == PwCols (one SRAM word view)
  // PPU requant lanes (REQUANT, POOL, ADD's output pass): 4 keeps the
  // default device inside the XC7Z020's DSP48E1 budget (docs/HARDWARE.md
  // §10.1); its ADD runs 4 lanes either way and a 3x3 pool is tap-bound.
  parameter int unsigned PpuLanes   = 4,
  // Conv epilogue requant lanes behind PW and DW: a 1x1 conv with <= 16
  // input channels hands it a PwRows-wide word per cycle.
  parameter int unsigned EpiLanes   = (PwRows >= 8) ? 8 : PwRows,
  parameter int unsigned ActKb      = 128,
  parameter int unsigned WgtKb      = 128,
  parameter int unsigned AccKb      = 64,
  parameter int unsigned ParamKb    = 8,
  parameter int unsigned DmaBytes   = 8,    // <= PwCols
  parameter int unsigned NumWindows = 4,
  parameter int unsigned AddrBits   = 32,
  // DMA bursts in flight per direction (power of two, <= 128): enough to
  // cover the memory latency with short bursts (100 cycles at the
  // harness's default latency, docs/HARDWARE.md §14.3).
  parameter int unsigned DmaOutstanding = 32
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,

  input  logic                  reg_req_i,
  input  logic                  reg_we_i,
  input  logic [11:0]           reg_addr_i,
  input  logic [31:0]           reg_wdata_i,
  output logic                  reg_rvalid_o,
  output logic [31:0]           reg_rdata_o,
  output logic                  reg_err_o,

  output logic                  mem_ar_valid_o,
  input  logic                  mem_ar_ready_i,
  output logic [63:0]           mem_ar_addr_o,
  output logic [15:0]           mem_ar_len_o,
  input  logic                  mem_r_valid_i,
  output logic                  mem_r_ready_o,
  input  logic [DmaBytes*8-1:0] mem_r_data_i,
  input  logic                  mem_r_err_i,
  output logic                  mem_aw_valid_o,
  input  logic                  mem_aw_ready_i,
  output logic [63:0]           mem_aw_addr_o,
  output logic [15:0]           mem_aw_len_o,
  output logic                  mem_w_valid_o,
  input  logic                  mem_w_ready_i,
  output logic [DmaBytes*8-1:0] mem_w_data_o,
  output logic                  mem_w_last_o,
  input  logic                  mem_b_valid_i,
  input  logic                  mem_b_err_i,

  output logic                  irq_o,

  input  logic [2:0]            dbg_engine_hold_i
);

  // ---- geometry ----------------------------------------------------------------
  localparam int unsigned AW         = 16;                 // engine word addresses
  localparam int unsigned CaW        = 20;                 // DMA chunk addresses
  localparam int unsigned ActBytes   = ActKb * 1024;
  localparam int unsigned WgtBytes   = WgtKb * 1024;
  localparam int unsigned AccBytes   = AccKb * 1024;
  localparam int unsigned ParamBytes = ParamKb * 1024;
  localparam int unsigned ActWordB   = PwCols;
  localparam int unsigned WgtRowB    = PwRows * PwCols;
  localparam int unsigned AccWordB   = PwRows * 4;
  localparam int unsigned ParamWordB = DwLanes * 4;
  localparam int unsigned ActDepth   = ActBytes / ActWordB;
  localparam int unsigned WgtDepth   = WgtBytes / WgtRowB;
  localparam int unsigned AccDepth   = AccBytes / AccWordB;
  localparam int unsigned ParamDepth = ParamBytes / ParamWordB;
  localparam int unsigned ActAw      = $clog2(ActDepth);
  localparam int unsigned WgtAw      = $clog2(WgtDepth);
  localparam int unsigned AccAw      = $clog2(AccDepth);
  localparam int unsigned ParamAw    = $clog2(ParamDepth);
  localparam int unsigned DwSlices   = WgtRowB / DwLanes;  // DW words per WGT row
  localparam int unsigned SliceBits  = $clog2(DwSlices);
  localparam int unsigned ActWBits   = $clog2(ActWordB);
  localparam int unsigned WgtRBits   = $clog2(WgtRowB);
  localparam int unsigned DwWBits    = $clog2(DwLanes);
  localparam int unsigned DwWgtWords = WgtBytes / DwLanes;

  // Blocks of this build: CP, DMA, PW, DW, REQUANT, ADD, POOL, WDOG, PERF.
  localparam logic [8:0] EngineMask = 9'h1ff;

  // ---- CSR -----------------------------------------------------------------------
  logic        enable, halted, sreset, doorbell;
  logic [63:0] ring_base;
  logic [16:0] ring_size;
  logic [15:0] ring_head, ring_tail;
  logic        retire, retire_irq;
  logic        err_valid;
  logic [7:0]  err_code;
  logic [63:0] err_addr;
  logic [15:0] err_index;
  logic [NumWindows*64-1:0] win_base;
  logic [NumWindows*32-1:0] win_size;
  logic [NumWindows-1:0]    win_rd, win_wr;
  logic [5:0]  busy;
  logic [7:0]  rd_bytes, wr_bytes;
  logic        stall_dep, stall_mem;

  npu_csr #(
    .PwRows     (PwRows),
    .PwCols     (PwCols),
    .DwLanes    (DwLanes),
    .PpuLanes   (PpuLanes),
    .EpiLanes   (EpiLanes),
    .DmaOutstanding (DmaOutstanding),
    .ActKb      (ActKb),
    .WgtKb      (WgtKb),
    .AccKb      (AccKb),
    .ParamKb    (ParamKb),
    .DmaBytes   (DmaBytes),
    .AddrBits   (AddrBits),
    .NumWindows (NumWindows),
    .EngineMask (EngineMask)
  ) u_csr (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .reg_req_i    (reg_req_i),
    .reg_we_i     (reg_we_i),
    .reg_addr_i   (reg_addr_i),
    .reg_wdata_i  (reg_wdata_i),
    .reg_rvalid_o (reg_rvalid_o),
    .reg_rdata_o  (reg_rdata_o),
    .reg_err_o    (reg_err_o),
    .enable_o     (enable),
    .halted_o     (halted),
    .soft_reset_o (sreset),
    .doorbell_o   (doorbell),
    .ring_base_o  (ring_base),
    .ring_size_o  (ring_size),
    .ring_head_o  (ring_head),
    .ring_tail_o  (ring_tail),
    .retire_i     (retire),
    .retire_irq_i (retire_irq),
    .err_valid_i  (err_valid),
    .err_code_i   (err_code),
    .err_addr_i   (err_addr),
    .err_index_i  (err_index),
    .win_base_o   (win_base),
    .win_size_o   (win_size),
    .win_rd_o     (win_rd),
    .win_wr_o     (win_wr),
    .busy_i       (busy),
    .rd_bytes_i   (rd_bytes),
    .wr_bytes_i   (wr_bytes),
    .stall_dep_i  (stall_dep),
    .stall_mem_i  (stall_mem),
    .irq_o        (irq_o)
  );

  // Engines take the soft reset as a reset (a registered pulse, glitch-free).
  logic eng_rst_n;
  assign eng_rst_n = rst_ni & ~sreset;

  // ---- command processor -----------------------------------------------------------
  logic                  fetch_req, fetch_gnt, fetch_rvalid, fetch_rerr;
  logic [63:0]           fetch_addr;
  logic [15:0]           fetch_index;
  logic [DmaBytes*8-1:0] fetch_rdata;
  logic                  ld_start, ld_done, cmp_start, cmp_done, st_start, st_done;
  logic [511:0]          ld_desc, cmp_desc, st_desc;
  logic [15:0]           ld_index, cmp_index, st_index;
  logic                  cp_err_valid;
  logic [7:0]            cp_err_code;
  logic [63:0]           cp_err_addr;
  logic [15:0]           cp_err_index;
  logic                  cp_busy;
  logic [2:0]            q_busy;

  npu_cmdproc #(
    .DmaBytes   (DmaBytes),
    .DescDepth  (2),
    .QueueDepth (2),
    .EngineMask (EngineMask),
    .PwRows     (PwRows),
    .PwCols     (PwCols),
    .DwLanes    (DwLanes),
    .ActBytes   (ActBytes),
    .WgtBytes   (WgtBytes),
    .AccBytes   (AccBytes),
    .ParamBytes (ParamBytes)
  ) u_cmdproc (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .clear_i        (sreset),
    .enable_i       (enable),
    .halted_i       (halted),
    .doorbell_i     (doorbell),
    .ring_base_i    (ring_base),
    .ring_size_i    (ring_size),
    .ring_head_i    (ring_head),
    .ring_tail_i    (ring_tail),
    .retire_o       (retire),
    .retire_irq_o   (retire_irq),
    .fetch_req_o    (fetch_req),
    .fetch_addr_o   (fetch_addr),
    .fetch_index_o  (fetch_index),
    .fetch_gnt_i    (fetch_gnt),
    .fetch_rvalid_i (fetch_rvalid),
    .fetch_rdata_i  (fetch_rdata),
    .fetch_rerr_i   (fetch_rerr),
    .ld_start_o     (ld_start),
    .ld_desc_o      (ld_desc),
    .ld_index_o     (ld_index),
    .ld_done_i      (ld_done),
    .cmp_start_o    (cmp_start),
    .cmp_desc_o     (cmp_desc),
    .cmp_index_o    (cmp_index),
    .cmp_done_i     (cmp_done),
    .st_start_o     (st_start),
    .st_desc_o      (st_desc),
    .st_index_o     (st_index),
    .st_done_i      (st_done),
    .err_valid_o    (cp_err_valid),
    .err_code_o     (cp_err_code),
    .err_addr_o     (cp_err_addr),
    .err_index_o    (cp_err_index),
    .cp_busy_o      (cp_busy),
    .q_busy_o       (q_busy),
    .stall_dep_o    (stall_dep)
  );

  // ---- DMA ---------------------------------------------------------------------------
  // Descriptor fields by their generated names (npu_regs_pkg::npu_desc_*,
  // docs/HARDWARE.md §4); the decoder (npu_cmdproc) has validated them.

  logic                  lw_req, lw_gnt, sr_req, sr_gnt;
  logic [1:0]            lw_sel, sr_sel;
  logic [CaW-1:0]        lw_addr, sr_addr;
  logic [DmaBytes-1:0]   lw_be;
  logic [DmaBytes*8-1:0] lw_wdata, sr_rdata;
  logic                  dma_err_valid;
  logic [7:0]            dma_err_code;
  logic [63:0]           dma_err_addr;
  logic [15:0]           dma_err_index;
  logic                  ld_busy, st_busy;

  npu_dma #(
    .DmaBytes    (DmaBytes),
    .NumWindows  (NumWindows),
    .MaxBeats    (16),
    .Outstanding (DmaOutstanding),
    .CaW         (CaW),
    .ActBytes    (ActBytes),
    .WgtBytes    (WgtBytes),
    .AccBytes    (AccBytes),
    .ParamBytes  (ParamBytes)
  ) u_dma (
    .clk_i          (clk_i),
    .rst_ni         (rst_ni),
    .clear_i        (sreset),
    .halt_i         (halted),
    .win_base_i     (win_base),
    .win_size_i     (win_size),
    .win_rd_i       (win_rd),
    .win_wr_i       (win_wr),
    .fetch_req_i    (fetch_req),
    .fetch_addr_i   (fetch_addr),
    .fetch_index_i  (fetch_index),
    .fetch_gnt_o    (fetch_gnt),
    .fetch_rvalid_o (fetch_rvalid),
    .fetch_rdata_o  (fetch_rdata),
    .fetch_rerr_o   (fetch_rerr),
    .ld_start_i     (ld_start),
    .ld_busy_o      (ld_busy),
    .ld_done_o      (ld_done),
    .ld_host_i      (ld_desc[npu_regs_pkg::NPU_DESC_DMA_HOST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_DMA_HOST_ADDR_WIDTH]),
    .ld_sel_i       (2'(ld_desc[npu_regs_pkg::NPU_DESC_DMA_SRAM_SEL_BIT +: npu_regs_pkg::NPU_DESC_DMA_SRAM_SEL_WIDTH])),
    .ld_sram_i      (ld_desc[npu_regs_pkg::NPU_DESC_DMA_SRAM_ADDR_BIT +: npu_regs_pkg::NPU_DESC_DMA_SRAM_ADDR_WIDTH]),
    .ld_chans_i     (ld_desc[npu_regs_pkg::NPU_DESC_DMA_CHANS_BIT +: npu_regs_pkg::NPU_DESC_DMA_CHANS_WIDTH]),
    .ld_cols_i      (ld_desc[npu_regs_pkg::NPU_DESC_DMA_COLS_BIT +: npu_regs_pkg::NPU_DESC_DMA_COLS_WIDTH]),
    .ld_rows_i      (ld_desc[npu_regs_pkg::NPU_DESC_DMA_ROWS_BIT +: npu_regs_pkg::NPU_DESC_DMA_ROWS_WIDTH]),
    .ld_hcs_i       (ld_desc[npu_regs_pkg::NPU_DESC_DMA_HOST_CHAN_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_DMA_HOST_CHAN_STRIDE_WIDTH]),
    .ld_hps_i       (ld_desc[npu_regs_pkg::NPU_DESC_DMA_HOST_PIX_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_DMA_HOST_PIX_STRIDE_WIDTH]),
    .ld_hrs_i       (ld_desc[npu_regs_pkg::NPU_DESC_DMA_HOST_ROW_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_DMA_HOST_ROW_STRIDE_WIDTH]),
    .ld_sps_i       (ld_desc[npu_regs_pkg::NPU_DESC_DMA_SRAM_PIX_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_DMA_SRAM_PIX_STRIDE_WIDTH]),
    .ld_srs_i       (ld_desc[npu_regs_pkg::NPU_DESC_DMA_SRAM_ROW_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_DMA_SRAM_ROW_STRIDE_WIDTH]),
    .ld_index_i     (ld_index),
    .st_start_i     (st_start),
    .st_busy_o      (st_busy),
    .st_done_o      (st_done),
    .st_host_i      (st_desc[npu_regs_pkg::NPU_DESC_DMA_HOST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_DMA_HOST_ADDR_WIDTH]),
    .st_sel_i       (2'(st_desc[npu_regs_pkg::NPU_DESC_DMA_SRAM_SEL_BIT +: npu_regs_pkg::NPU_DESC_DMA_SRAM_SEL_WIDTH])),
    .st_sram_i      (st_desc[npu_regs_pkg::NPU_DESC_DMA_SRAM_ADDR_BIT +: npu_regs_pkg::NPU_DESC_DMA_SRAM_ADDR_WIDTH]),
    .st_chans_i     (st_desc[npu_regs_pkg::NPU_DESC_DMA_CHANS_BIT +: npu_regs_pkg::NPU_DESC_DMA_CHANS_WIDTH]),
    .st_cols_i      (st_desc[npu_regs_pkg::NPU_DESC_DMA_COLS_BIT +: npu_regs_pkg::NPU_DESC_DMA_COLS_WIDTH]),
    .st_rows_i      (st_desc[npu_regs_pkg::NPU_DESC_DMA_ROWS_BIT +: npu_regs_pkg::NPU_DESC_DMA_ROWS_WIDTH]),
    .st_hcs_i       (st_desc[npu_regs_pkg::NPU_DESC_DMA_HOST_CHAN_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_DMA_HOST_CHAN_STRIDE_WIDTH]),
    .st_hps_i       (st_desc[npu_regs_pkg::NPU_DESC_DMA_HOST_PIX_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_DMA_HOST_PIX_STRIDE_WIDTH]),
    .st_hrs_i       (st_desc[npu_regs_pkg::NPU_DESC_DMA_HOST_ROW_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_DMA_HOST_ROW_STRIDE_WIDTH]),
    .st_sps_i       (st_desc[npu_regs_pkg::NPU_DESC_DMA_SRAM_PIX_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_DMA_SRAM_PIX_STRIDE_WIDTH]),
    .st_srs_i       (st_desc[npu_regs_pkg::NPU_DESC_DMA_SRAM_ROW_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_DMA_SRAM_ROW_STRIDE_WIDTH]),
    .st_index_i     (st_index),
    .lw_req_o       (lw_req),
    .lw_sel_o       (lw_sel),
    .lw_addr_o      (lw_addr),
    .lw_be_o        (lw_be),
    .lw_wdata_o     (lw_wdata),
    .lw_gnt_i       (lw_gnt),
    .sr_req_o       (sr_req),
    .sr_sel_o       (sr_sel),
    .sr_addr_o      (sr_addr),
    .sr_gnt_i       (sr_gnt),
    .sr_rdata_i     (sr_rdata),
    .ar_valid_o     (mem_ar_valid_o),
    .ar_ready_i     (mem_ar_ready_i),
    .ar_addr_o      (mem_ar_addr_o),
    .ar_len_o       (mem_ar_len_o),
    .r_valid_i      (mem_r_valid_i),
    .r_ready_o      (mem_r_ready_o),
    .r_data_i       (mem_r_data_i),
    .r_err_i        (mem_r_err_i),
    .aw_valid_o     (mem_aw_valid_o),
    .aw_ready_i     (mem_aw_ready_i),
    .aw_addr_o      (mem_aw_addr_o),
    .aw_len_o       (mem_aw_len_o),
    .w_valid_o      (mem_w_valid_o),
    .w_ready_i      (mem_w_ready_i),
    .w_data_o       (mem_w_data_o),
    .w_last_o       (mem_w_last_o),
    .b_valid_i      (mem_b_valid_i),
    .b_err_i        (mem_b_err_i),
    .err_valid_o    (dma_err_valid),
    .err_code_o     (dma_err_code),
    .err_addr_o     (dma_err_addr),
    .err_index_o    (dma_err_index),
    .rd_bytes_o     (rd_bytes),
    .wr_bytes_o     (wr_bytes),
    .stall_mem_o    (stall_mem)
  );


  // ---- compute sequencer: PW (group loop), DW, PPU; conv epilogue ---------------------
  // cw: the compute descriptor (a CONV, REQUANT, ADD or POOL layout).
  logic [511:0] cw;
  assign cw = cmp_desc;

  typedef enum logic [2:0] {
    CIdle,
    CDw,
    CPwStart,
    CPwRun,
    CPpu,
    CEpiDrain,   // engine done, epilogue words still in flight
    CDone
  } cstate_e;

  localparam logic [15:0] FAcc = 16'(npu_regs_pkg::NPU_HW_FLAG_ACCUMULATE);
  localparam logic [15:0] FEpi = 16'(npu_regs_pkg::NPU_HW_FLAG_EPILOGUE);

  cstate_e     cs_d, cs_q;
  logic        dw_start, pw_start, ppu_start, dw_busy, pw_busy, ppu_busy;
  logic        dw_done, pw_done, ppu_done, epi_busy;
  logic        dw_done_s, pw_done_s, ppu_done_s;   // as the sequencer sees them
  logic        c_dw, c_ppu, c_epi, c_acc;
  logic [15:0] grp_d, grp_q;
  logic [AW-1:0] pw_in_d, pw_in_q, pw_w_d, pw_w_q, pw_bias_d, pw_bias_q, pw_out_d, pw_out_q;
  logic [AW-1:0] egrp_d, egrp_q;   // epilogue channel group of PW group grp_q's ocg 0
  logic [AW-1:0] icgs, ocgs, dwgs, out_base, out_rs, out_ps;
  logic [31:0]   wstep;    // WGT rows per group: ocgs * kh * kw * icgs
  logic [31:0]   epi_n;    // channel groups of the descriptor (PARAM table)

  assign pw_done_s  = pw_done && !dbg_engine_hold_i[0];
  assign dw_done_s  = dw_done && !dbg_engine_hold_i[1];
  assign ppu_done_s = ppu_done && !dbg_engine_hold_i[2];

  logic [7:0]  c_op;
  logic [15:0] c_flags;
  logic [31:0] cv_in, cv_wgt, cv_out, cv_param, cv_irs, cv_ips, cv_ors, cv_ops;
  logic [15:0] cv_in_c, cv_out_c, cv_groups;
  assign c_op      = cw[npu_regs_pkg::NPU_DESC_HDR_OPCODE_BIT +: npu_regs_pkg::NPU_DESC_HDR_OPCODE_WIDTH];
  assign c_flags   = cw[npu_regs_pkg::NPU_DESC_HDR_FLAGS_BIT +: npu_regs_pkg::NPU_DESC_HDR_FLAGS_WIDTH];
  assign cv_in     = cw[npu_regs_pkg::NPU_DESC_CONV_IN_ADDR_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_ADDR_WIDTH];
  assign cv_wgt    = cw[npu_regs_pkg::NPU_DESC_CONV_WGT_ADDR_BIT +: npu_regs_pkg::NPU_DESC_CONV_WGT_ADDR_WIDTH];
  assign cv_out    = cw[npu_regs_pkg::NPU_DESC_CONV_OUT_ADDR_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_ADDR_WIDTH];
  assign cv_param  = cw[npu_regs_pkg::NPU_DESC_CONV_PARAM_ENTRY_BIT +: npu_regs_pkg::NPU_DESC_CONV_PARAM_ENTRY_WIDTH];
  assign cv_irs    = cw[npu_regs_pkg::NPU_DESC_CONV_IN_ROW_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_ROW_STRIDE_WIDTH];
  assign cv_ips    = cw[npu_regs_pkg::NPU_DESC_CONV_IN_PIX_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_PIX_STRIDE_WIDTH];
  assign cv_ors    = cw[npu_regs_pkg::NPU_DESC_CONV_OUT_ROW_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_ROW_STRIDE_WIDTH];
  assign cv_ops    = cw[npu_regs_pkg::NPU_DESC_CONV_OUT_PIX_STRIDE_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_PIX_STRIDE_WIDTH];
  assign cv_in_c   = cw[npu_regs_pkg::NPU_DESC_CONV_IN_C_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_C_WIDTH];
  assign cv_out_c  = cw[npu_regs_pkg::NPU_DESC_CONV_OUT_C_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_C_WIDTH];
  assign cv_groups = cw[npu_regs_pkg::NPU_DESC_CONV_GROUPS_BIT +: npu_regs_pkg::NPU_DESC_CONV_GROUPS_WIDTH];

  assign c_dw  = (c_op == 8'(npu_regs_pkg::NPU_HW_OP_DW_CONV));
  assign c_ppu = (c_op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_REQUANT)) ||
                 (c_op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_ADD)) ||
                 (c_op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_POOL));
  assign c_epi = (c_flags & FEpi) != 16'd0;
  assign c_acc = (c_flags & FAcc) != 16'd0;

  assign icgs  = AW'((cv_in_c + 16'(PwCols - 1)) >> $clog2(PwCols));
  assign ocgs  = AW'((cv_out_c + 16'(PwRows - 1)) >> $clog2(PwRows));
  assign dwgs  = AW'((cv_in_c + 16'(DwLanes - 1)) >> DwWBits);
  assign wstep = 32'(ocgs) * 32'(cw[npu_regs_pkg::NPU_DESC_CONV_KH_BIT +: npu_regs_pkg::NPU_DESC_CONV_KH_WIDTH]) * 32'(cw[npu_regs_pkg::NPU_DESC_CONV_KW_BIT +: npu_regs_pkg::NPU_DESC_CONV_KW_WIDTH]) * 32'(icgs);
  assign epi_n = c_dw ? 32'(dwgs) : 32'(ocgs) * 32'(cv_groups);
  // Output view: ACC words, or with EPILOGUE ACT words (an ACC word of
  // PwRows lanes is one ACT word of PwCols == PwRows bytes).
  assign out_base = c_epi ? AW'(cv_out >> ActWBits) : AW'(cv_out);
  assign out_rs   = c_epi ? AW'(cv_ors >> ActWBits) : AW'(cv_ors);
  assign out_ps   = c_epi ? AW'(cv_ops >> ActWBits) : AW'(cv_ops);

  always_comb begin
    cs_d      = cs_q;
    grp_d     = grp_q;
    pw_in_d   = pw_in_q;
    pw_w_d    = pw_w_q;
    pw_bias_d = pw_bias_q;
    pw_out_d  = pw_out_q;
    egrp_d    = egrp_q;
    dw_start  = 1'b0;
    pw_start  = 1'b0;
    ppu_start = 1'b0;
    cmp_done  = 1'b0;
    unique case (cs_q)
      CIdle: begin
        if (cmp_start) begin
          if (c_ppu) begin
            ppu_start = 1'b1;
            cs_d      = CPpu;
          end else if (c_dw) begin
            dw_start = 1'b1;
            cs_d     = CDw;
          end else begin
            grp_d     = 16'd0;
            pw_in_d   = AW'(cv_in >> ActWBits);
            pw_w_d    = AW'(cv_wgt >> WgtRBits);
            pw_bias_d = AW'(cv_param);
            pw_out_d  = out_base;
            egrp_d    = '0;
            cs_d      = CPwStart;
          end
        end
      end
      CDw: begin
        if (dw_done_s) begin
          cs_d = CEpiDrain;
        end
      end
      CPwStart: begin
        pw_start = 1'b1;
        cs_d     = CPwRun;
      end
      CPwRun: begin
        if (pw_done_s) begin
          if (grp_q == cv_groups - 16'd1) begin
            cs_d = CEpiDrain;
          end else begin
            // Next group: its channels start on the next word boundary.
            grp_d     = grp_q + 16'd1;
            pw_in_d   = pw_in_q + icgs;
            pw_w_d    = pw_w_q + AW'(wstep);
            pw_bias_d = pw_bias_q + ocgs;
            pw_out_d  = pw_out_q + ocgs;
            egrp_d    = egrp_q + ocgs;
            cs_d      = CPwStart;
          end
        end
      end
      CPpu: begin
        if (ppu_done_s) begin
          cs_d = CDone;
        end
      end
      CEpiDrain: begin
        if (!epi_busy) begin
          cs_d = CDone;
        end
      end
      CDone: begin
        cmp_done = 1'b1;
        cs_d     = CIdle;
      end
      default: cs_d = CIdle;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cs_q      <= CIdle;
      grp_q     <= '0;
      pw_in_q   <= '0;
      pw_w_q    <= '0;
      pw_bias_q <= '0;
      pw_out_q  <= '0;
      egrp_q    <= '0;
    end else if (sreset) begin
      cs_q      <= CIdle;
    end else begin
      cs_q      <= cs_d;
      grp_q     <= grp_d;
      pw_in_q   <= pw_in_d;
      pw_w_q    <= pw_w_d;
      pw_bias_q <= pw_bias_d;
      pw_out_q  <= pw_out_d;
      egrp_q    <= egrp_d;
    end
  end

  // ---- engines -------------------------------------------------------------------------
  logic                      dw_act_req, dw_wgt_req, dw_bias_req, dw_acc_we;
  logic [AW-1:0]             dw_act_addr, dw_wgt_addr, dw_bias_addr, dw_acc_addr;
  logic [DwLanes-1:0]        dw_acc_wmask;
  logic [DwLanes*32-1:0]     dw_acc_wdata;
  logic [15:0]               dw_acc_grp, pw_acc_grp;
  logic                      pw_act_req, pw_wgt_req, pw_bias_req, pw_acc_we, pw_acc_rd;
  logic [AW-1:0]             pw_act_addr, pw_wgt_addr, pw_bias_addr, pw_acc_addr, pw_acc_raddr;
  logic [PwRows-1:0]         pw_acc_wmask;
  logic [PwRows*32-1:0]      pw_acc_wdata;
  logic [ActWordB*8-1:0]     act_a_rdata;
  logic [WgtRowB*8-1:0]      wgt_a_rdata;
  logic [ParamWordB*8-1:0]   param_a_rdata;
  logic [AccWordB*8-1:0]     acc_a_rdata;
  logic [DwLanes*8-1:0]      dw_wgt_rdata;
  logic                      eng_stall;

  npu_dw #(.Lanes(DwLanes), .AW(AW)) u_dw (
    .clk_i                (clk_i),
    .rst_ni               (eng_rst_n),
    .start_i              (dw_start),
    .stall_i              (eng_stall),
    .busy_o               (dw_busy),
    .done_o               (dw_done),
    .cfg_in_base_i        (AW'(cv_in >> ActWBits)),
    .cfg_w_base_i         (AW'(cv_wgt >> DwWBits)),
    .cfg_bias_base_i      (AW'(cv_param)),
    .cfg_out_base_i       (out_base),
    .cfg_in_h_i           (cw[npu_regs_pkg::NPU_DESC_CONV_IN_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_H_WIDTH]),
    .cfg_in_w_i           (cw[npu_regs_pkg::NPU_DESC_CONV_IN_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_W_WIDTH]),
    .cfg_channels_i       (cv_in_c),
    .cfg_out_h_i          (cw[npu_regs_pkg::NPU_DESC_CONV_OUT_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_H_WIDTH]),
    .cfg_out_w_i          (cw[npu_regs_pkg::NPU_DESC_CONV_OUT_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_W_WIDTH]),
    .cfg_kh_i             (cw[npu_regs_pkg::NPU_DESC_CONV_KH_BIT +: npu_regs_pkg::NPU_DESC_CONV_KH_WIDTH]),
    .cfg_kw_i             (cw[npu_regs_pkg::NPU_DESC_CONV_KW_BIT +: npu_regs_pkg::NPU_DESC_CONV_KW_WIDTH]),
    .cfg_stride_h_i       (cw[npu_regs_pkg::NPU_DESC_CONV_STRIDE_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_STRIDE_H_WIDTH]),
    .cfg_stride_w_i       (cw[npu_regs_pkg::NPU_DESC_CONV_STRIDE_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_STRIDE_W_WIDTH]),
    .cfg_pad_t_i          (cw[npu_regs_pkg::NPU_DESC_CONV_PAD_T_BIT +: npu_regs_pkg::NPU_DESC_CONV_PAD_T_WIDTH]),
    .cfg_pad_l_i          (cw[npu_regs_pkg::NPU_DESC_CONV_PAD_L_BIT +: npu_regs_pkg::NPU_DESC_CONV_PAD_L_WIDTH]),
    .cfg_in_zp_i          (cw[npu_regs_pkg::NPU_DESC_CONV_IN_ZP_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_ZP_WIDTH]),
    .cfg_in_row_stride_i  (AW'(cv_irs >> ActWBits)),
    .cfg_in_pix_stride_i  (AW'(cv_ips >> ActWBits)),
    .cfg_out_row_stride_i (out_rs),
    .cfg_out_pix_stride_i (out_ps),
    .act_req_o            (dw_act_req),
    .act_addr_o           (dw_act_addr),
    .act_rdata_i          (act_a_rdata),
    .wgt_req_o            (dw_wgt_req),
    .wgt_addr_o           (dw_wgt_addr),
    .wgt_rdata_i          (dw_wgt_rdata),
    .bias_req_o           (dw_bias_req),
    .bias_addr_o          (dw_bias_addr),
    .bias_rdata_i         (param_a_rdata),
    .acc_we_o             (dw_acc_we),
    .acc_addr_o           (dw_acc_addr),
    .acc_wmask_o          (dw_acc_wmask),
    .acc_wdata_o          (dw_acc_wdata),
    .acc_grp_o            (dw_acc_grp)
  );

  npu_pw #(.Rows(PwRows), .Cols(PwCols), .AW(AW)) u_pw (
    .clk_i                (clk_i),
    .rst_ni               (eng_rst_n),
    .start_i              (pw_start),
    .stall_i              (eng_stall),
    .busy_o               (pw_busy),
    .done_o               (pw_done),
    .cfg_in_base_i        (pw_in_q),
    .cfg_w_base_i         (pw_w_q),
    .cfg_bias_base_i      (pw_bias_q),
    .cfg_out_base_i       (pw_out_q),
    .cfg_in_h_i           (cw[npu_regs_pkg::NPU_DESC_CONV_IN_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_H_WIDTH]),
    .cfg_in_w_i           (cw[npu_regs_pkg::NPU_DESC_CONV_IN_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_W_WIDTH]),
    .cfg_in_c_i           (cv_in_c),
    .cfg_out_c_i          (cv_out_c),
    .cfg_out_h_i          (cw[npu_regs_pkg::NPU_DESC_CONV_OUT_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_H_WIDTH]),
    .cfg_out_w_i          (cw[npu_regs_pkg::NPU_DESC_CONV_OUT_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_W_WIDTH]),
    .cfg_kh_i             (cw[npu_regs_pkg::NPU_DESC_CONV_KH_BIT +: npu_regs_pkg::NPU_DESC_CONV_KH_WIDTH]),
    .cfg_kw_i             (cw[npu_regs_pkg::NPU_DESC_CONV_KW_BIT +: npu_regs_pkg::NPU_DESC_CONV_KW_WIDTH]),
    .cfg_stride_h_i       (cw[npu_regs_pkg::NPU_DESC_CONV_STRIDE_H_BIT +: npu_regs_pkg::NPU_DESC_CONV_STRIDE_H_WIDTH]),
    .cfg_stride_w_i       (cw[npu_regs_pkg::NPU_DESC_CONV_STRIDE_W_BIT +: npu_regs_pkg::NPU_DESC_CONV_STRIDE_W_WIDTH]),
    .cfg_pad_t_i          (cw[npu_regs_pkg::NPU_DESC_CONV_PAD_T_BIT +: npu_regs_pkg::NPU_DESC_CONV_PAD_T_WIDTH]),
    .cfg_pad_l_i          (cw[npu_regs_pkg::NPU_DESC_CONV_PAD_L_BIT +: npu_regs_pkg::NPU_DESC_CONV_PAD_L_WIDTH]),
    .cfg_in_zp_i          (cw[npu_regs_pkg::NPU_DESC_CONV_IN_ZP_BIT +: npu_regs_pkg::NPU_DESC_CONV_IN_ZP_WIDTH]),
    .cfg_in_row_stride_i  (AW'(cv_irs >> ActWBits)),
    .cfg_in_pix_stride_i  (AW'(cv_ips >> ActWBits)),
    .cfg_out_row_stride_i (out_rs),
    .cfg_out_pix_stride_i (out_ps),
    .cfg_accumulate_i     (c_acc),
    .act_req_o            (pw_act_req),
    .act_addr_o           (pw_act_addr),
    .act_rdata_i          (act_a_rdata),
    .wgt_req_o            (pw_wgt_req),
    .wgt_addr_o           (pw_wgt_addr),
    .wgt_rdata_i          (wgt_a_rdata),
    .bias_req_o           (pw_bias_req),
    .bias_addr_o          (pw_bias_addr),
    .bias_rdata_i         (param_a_rdata),
    .acc_req_o            (pw_acc_rd),
    .acc_raddr_o          (pw_acc_raddr),
    .acc_rdata_i          (acc_a_rdata),
    .acc_we_o             (pw_acc_we),
    .acc_addr_o           (pw_acc_addr),
    .acc_wmask_o          (pw_acc_wmask),
    .acc_wdata_o          (pw_acc_wdata),
    .acc_grp_o            (pw_acc_grp)
  );

  // ---- conv epilogue (FLAG_EPILOGUE): engine words -> requant -> ACT port b --------
  logic                  eng_we, epi_in_ready;
  logic [AW-1:0]         eng_waddr;
  logic [PwRows-1:0]     eng_wmask;
  logic [PwRows*32-1:0]  eng_wdata;
  logic [15:0]           eng_grp;
  logic                  epi_param_req, epi_param_gnt, epi_act_we, epi_act_gnt;
  logic [AW-1:0]         epi_param_addr, epi_act_addr;
  logic [ActWordB-1:0]   epi_act_be;
  logic [ActWordB*8-1:0] epi_act_wdata;
  logic [ParamWordB*8-1:0] param_b_rdata;

  assign eng_we    = dw_acc_we | pw_acc_we;
  assign eng_waddr = dw_busy ? dw_acc_addr : pw_acc_addr;
  assign eng_wmask = dw_busy ? dw_acc_wmask : pw_acc_wmask;
  assign eng_wdata = dw_busy ? dw_acc_wdata : pw_acc_wdata;
  assign eng_grp   = dw_busy ? dw_acc_grp : (pw_acc_grp + 16'(egrp_q));
  // The engine holds its output word (frozen) until the epilogue takes it.
  assign eng_stall = c_epi && eng_we && !epi_in_ready;

  npu_epilogue #(.Rows(PwRows), .Lanes(EpiLanes), .AW(AW)) u_epi (
    .clk_i         (clk_i),
    .rst_ni        (eng_rst_n),
    .start_i       (cmp_start),
    .cfg_entry_i   (AW'(cv_param)),
    .cfg_ngroups_i (AW'(epi_n)),
    .cfg_out_zp_i  (cw[npu_regs_pkg::NPU_DESC_CONV_OUT_ZP_BIT +: npu_regs_pkg::NPU_DESC_CONV_OUT_ZP_WIDTH]),
    .cfg_act_min_i (cw[npu_regs_pkg::NPU_DESC_CONV_ACT_MIN_BIT +: npu_regs_pkg::NPU_DESC_CONV_ACT_MIN_WIDTH]),
    .cfg_act_max_i (cw[npu_regs_pkg::NPU_DESC_CONV_ACT_MAX_BIT +: npu_regs_pkg::NPU_DESC_CONV_ACT_MAX_WIDTH]),
    .in_valid_i    (c_epi && eng_we),
    .in_ready_o    (epi_in_ready),
    .in_addr_i     (eng_waddr),
    .in_mask_i     (eng_wmask),
    .in_data_i     (eng_wdata),
    .in_grp_i      (eng_grp),
    .param_req_o   (epi_param_req),
    .param_addr_o  (epi_param_addr),
    .param_gnt_i   (epi_param_gnt),
    .param_rdata_i (param_b_rdata),
    .act_we_o      (epi_act_we),
    .act_waddr_o   (epi_act_addr),
    .act_wbe_o     (epi_act_be),
    .act_wdata_o   (epi_act_wdata),
    .act_gnt_i     (epi_act_gnt),
    .busy_o        (epi_busy)
  );

  // Port b: the store read wins, then the conv epilogue (ACT write, PARAM
  // read), then the load write (its beat is held).
  assign sr_gnt = 1'b1;
  assign epi_act_gnt   = epi_act_we &&
                         !(sr_req && (sr_sel == 2'(npu_regs_pkg::NPU_HW_SRAM_ACT)));
  assign epi_param_gnt = epi_param_req &&
                         !(sr_req && (sr_sel == 2'(npu_regs_pkg::NPU_HW_SRAM_PARAM)));
  assign lw_gnt = !(sr_req && sr_gnt && (sr_sel == lw_sel)) &&
                  !(epi_act_gnt && (lw_sel == 2'(npu_regs_pkg::NPU_HW_SRAM_ACT))) &&
                  !(epi_param_gnt && (lw_sel == 2'(npu_regs_pkg::NPU_HW_SRAM_PARAM)));

  // ---- PPU (PPU_REQUANT / PPU_ADD / PPU_POOL) --------------------------------------------
  logic                  ppu_acc_req, ppu_param_req, ppu_act_req, ppu_act_we;
  logic [AW-1:0]         ppu_acc_addr, ppu_param_addr, ppu_act_addr, ppu_act_waddr;
  logic [ActWordB-1:0]   ppu_act_wbe;
  logic [ActWordB*8-1:0] ppu_act_wdata;
  logic                  p_rq, p_add;
  logic [AW-1:0]         rq_g, rq_cw, pl_cw;
  logic [31:0]           pl_irs, pl_ors;

  logic [31:0]           rq_param, pl_param;
  logic [15:0]           rq_c, pl_c;

  assign p_rq  = (c_op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_REQUANT));
  assign p_add = (c_op == 8'(npu_regs_pkg::NPU_HW_OP_PPU_ADD));
  // REQUANT (§4.4): ACC pixel = G words, ACT pixel = ceil(C / ACT word)
  // words. POOL (§4.6): dense tiles. Where the layouts share bits the
  // selects below pick the same wires, which synthesis merges.
  assign rq_param = cw[npu_regs_pkg::NPU_DESC_REQUANT_PARAM_ENTRY_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_PARAM_ENTRY_WIDTH];
  assign pl_param = cw[npu_regs_pkg::NPU_DESC_POOL_PARAM_ENTRY_BIT +: npu_regs_pkg::NPU_DESC_POOL_PARAM_ENTRY_WIDTH];
  assign rq_c     = cw[npu_regs_pkg::NPU_DESC_REQUANT_CHANNELS_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_CHANNELS_WIDTH];
  assign pl_c     = cw[npu_regs_pkg::NPU_DESC_POOL_CHANNELS_BIT +: npu_regs_pkg::NPU_DESC_POOL_CHANNELS_WIDTH];
  assign rq_g   = AW'((rq_c + 16'(PwRows - 1)) >> $clog2(PwRows));
  assign rq_cw  = AW'((rq_c + 16'(ActWordB - 1)) >> ActWBits);
  assign pl_cw  = AW'((pl_c + 16'(ActWordB - 1)) >> ActWBits);
  assign pl_irs = 32'(cw[npu_regs_pkg::NPU_DESC_POOL_IN_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_IN_W_WIDTH]) * 32'(pl_cw);
  assign pl_ors = 32'(cw[npu_regs_pkg::NPU_DESC_POOL_OUT_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_OUT_W_WIDTH]) * 32'(pl_cw);

  npu_ppu #(
    .Lanes      (PpuLanes),
    .AccLanes   (PwRows),
    .ActBytes   (ActWordB),
    .AW         (AW),
    .ActOnePort (1'b1)
  ) u_ppu (
    .clk_i                   (clk_i),
    .rst_ni                  (eng_rst_n),
    .start_i                 (ppu_start),
    .busy_o                  (ppu_busy),
    .done_o                  (ppu_done),
    .cfg_op_i                (c_op),
    .cfg_pool_mode_i         (2'(cw[npu_regs_pkg::NPU_DESC_POOL_MODE_BIT +: npu_regs_pkg::NPU_DESC_POOL_MODE_WIDTH])),
    .cfg_count_include_pad_i (cw[npu_regs_pkg::NPU_DESC_POOL_COUNT_INCLUDE_PAD_BIT +: npu_regs_pkg::NPU_DESC_POOL_COUNT_INCLUDE_PAD_WIDTH]),
    .cfg_src_base_i          (p_rq  ? AW'(cw[npu_regs_pkg::NPU_DESC_REQUANT_SRC_ADDR_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_SRC_ADDR_WIDTH]) :
                              p_add ? AW'(cw[npu_regs_pkg::NPU_DESC_ADD_SRC_A_ADDR_BIT +: npu_regs_pkg::NPU_DESC_ADD_SRC_A_ADDR_WIDTH] >> ActWBits) :
                                      AW'(cw[npu_regs_pkg::NPU_DESC_POOL_SRC_ADDR_BIT +: npu_regs_pkg::NPU_DESC_POOL_SRC_ADDR_WIDTH] >> ActWBits)),
    .cfg_src2_base_i         (AW'(cw[npu_regs_pkg::NPU_DESC_ADD_SRC_B_ADDR_BIT +: npu_regs_pkg::NPU_DESC_ADD_SRC_B_ADDR_WIDTH] >> ActWBits)),
    .cfg_dst_base_i          (p_rq  ? AW'(cw[npu_regs_pkg::NPU_DESC_REQUANT_DST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_DST_ADDR_WIDTH] >> ActWBits) :
                              p_add ? AW'(cw[npu_regs_pkg::NPU_DESC_ADD_DST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_ADD_DST_ADDR_WIDTH] >> ActWBits) :
                                      AW'(cw[npu_regs_pkg::NPU_DESC_POOL_DST_ADDR_BIT +: npu_regs_pkg::NPU_DESC_POOL_DST_ADDR_WIDTH] >> ActWBits)),
    .cfg_mult_base_i         (p_rq ? AW'(rq_param) + rq_g : AW'(pl_param)),
    .cfg_shift_base_i        (AW'(rq_param) + (rq_g << 1)),
    .cfg_src_pix_stride_i    (p_rq ? rq_g : pl_cw),
    .cfg_src_row_stride_i    (AW'(pl_irs)),
    .cfg_dst_pix_stride_i    (p_rq ? rq_cw : pl_cw),
    .cfg_dst_row_stride_i    (AW'(pl_ors)),
    .cfg_pixels_i            (cw[npu_regs_pkg::NPU_DESC_REQUANT_PIXELS_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_PIXELS_WIDTH]),
    .cfg_channels_i          (p_rq ? rq_c : pl_c),
    .cfg_count_i             (cw[npu_regs_pkg::NPU_DESC_ADD_COUNT_BIT +: npu_regs_pkg::NPU_DESC_ADD_COUNT_WIDTH]),
    .cfg_in_h_i              (cw[npu_regs_pkg::NPU_DESC_POOL_IN_H_BIT +: npu_regs_pkg::NPU_DESC_POOL_IN_H_WIDTH]),
    .cfg_in_w_i              (cw[npu_regs_pkg::NPU_DESC_POOL_IN_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_IN_W_WIDTH]),
    .cfg_out_h_i             (cw[npu_regs_pkg::NPU_DESC_POOL_OUT_H_BIT +: npu_regs_pkg::NPU_DESC_POOL_OUT_H_WIDTH]),
    .cfg_out_w_i             (cw[npu_regs_pkg::NPU_DESC_POOL_OUT_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_OUT_W_WIDTH]),
    .cfg_kh_i                (cw[npu_regs_pkg::NPU_DESC_POOL_KH_BIT +: npu_regs_pkg::NPU_DESC_POOL_KH_WIDTH]),
    .cfg_kw_i                (cw[npu_regs_pkg::NPU_DESC_POOL_KW_BIT +: npu_regs_pkg::NPU_DESC_POOL_KW_WIDTH]),
    .cfg_stride_h_i          (cw[npu_regs_pkg::NPU_DESC_POOL_STRIDE_H_BIT +: npu_regs_pkg::NPU_DESC_POOL_STRIDE_H_WIDTH]),
    .cfg_stride_w_i          (cw[npu_regs_pkg::NPU_DESC_POOL_STRIDE_W_BIT +: npu_regs_pkg::NPU_DESC_POOL_STRIDE_W_WIDTH]),
    .cfg_pad_t_i             (cw[npu_regs_pkg::NPU_DESC_POOL_PAD_T_BIT +: npu_regs_pkg::NPU_DESC_POOL_PAD_T_WIDTH]),
    .cfg_pad_l_i             (cw[npu_regs_pkg::NPU_DESC_POOL_PAD_L_BIT +: npu_regs_pkg::NPU_DESC_POOL_PAD_L_WIDTH]),
    .cfg_in_zp_i             (p_add ? cw[npu_regs_pkg::NPU_DESC_ADD_IN0_ZP_BIT +: npu_regs_pkg::NPU_DESC_ADD_IN0_ZP_WIDTH] : cw[npu_regs_pkg::NPU_DESC_POOL_IN_ZP_BIT +: npu_regs_pkg::NPU_DESC_POOL_IN_ZP_WIDTH]),
    .cfg_in2_zp_i            (cw[npu_regs_pkg::NPU_DESC_ADD_IN1_ZP_BIT +: npu_regs_pkg::NPU_DESC_ADD_IN1_ZP_WIDTH]),
    .cfg_out_zp_i            (p_rq  ? cw[npu_regs_pkg::NPU_DESC_REQUANT_OUT_ZP_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_OUT_ZP_WIDTH] :
                              p_add ? cw[npu_regs_pkg::NPU_DESC_ADD_OUT_ZP_BIT +: npu_regs_pkg::NPU_DESC_ADD_OUT_ZP_WIDTH] : cw[npu_regs_pkg::NPU_DESC_POOL_OUT_ZP_BIT +: npu_regs_pkg::NPU_DESC_POOL_OUT_ZP_WIDTH]),
    .cfg_in_mult_i           (cw[npu_regs_pkg::NPU_DESC_ADD_IN0_MULT_BIT +: npu_regs_pkg::NPU_DESC_ADD_IN0_MULT_WIDTH]),
    .cfg_in_shift_i          (6'(cw[npu_regs_pkg::NPU_DESC_ADD_IN0_SHIFT_BIT +: npu_regs_pkg::NPU_DESC_ADD_IN0_SHIFT_WIDTH])),
    .cfg_in2_mult_i          (cw[npu_regs_pkg::NPU_DESC_ADD_IN1_MULT_BIT +: npu_regs_pkg::NPU_DESC_ADD_IN1_MULT_WIDTH]),
    .cfg_in2_shift_i         (6'(cw[npu_regs_pkg::NPU_DESC_ADD_IN1_SHIFT_BIT +: npu_regs_pkg::NPU_DESC_ADD_IN1_SHIFT_WIDTH])),
    .cfg_out_mult_i          (p_add ? cw[npu_regs_pkg::NPU_DESC_ADD_OUT_MULT_BIT +: npu_regs_pkg::NPU_DESC_ADD_OUT_MULT_WIDTH] : cw[npu_regs_pkg::NPU_DESC_POOL_GLOBAL_MULT_BIT +: npu_regs_pkg::NPU_DESC_POOL_GLOBAL_MULT_WIDTH]),
    .cfg_out_shift_i         (p_add ? 6'(cw[npu_regs_pkg::NPU_DESC_ADD_OUT_SHIFT_BIT +: npu_regs_pkg::NPU_DESC_ADD_OUT_SHIFT_WIDTH]) :
                                      6'(cw[npu_regs_pkg::NPU_DESC_POOL_GLOBAL_SHIFT_BIT +: npu_regs_pkg::NPU_DESC_POOL_GLOBAL_SHIFT_WIDTH])),
    .cfg_act_min_i           (p_rq  ? cw[npu_regs_pkg::NPU_DESC_REQUANT_ACT_MIN_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_ACT_MIN_WIDTH] :
                              p_add ? cw[npu_regs_pkg::NPU_DESC_ADD_ACT_MIN_BIT +: npu_regs_pkg::NPU_DESC_ADD_ACT_MIN_WIDTH] : cw[npu_regs_pkg::NPU_DESC_POOL_ACT_MIN_BIT +: npu_regs_pkg::NPU_DESC_POOL_ACT_MIN_WIDTH]),
    .cfg_act_max_i           (p_rq  ? cw[npu_regs_pkg::NPU_DESC_REQUANT_ACT_MAX_BIT +: npu_regs_pkg::NPU_DESC_REQUANT_ACT_MAX_WIDTH] :
                              p_add ? cw[npu_regs_pkg::NPU_DESC_ADD_ACT_MAX_BIT +: npu_regs_pkg::NPU_DESC_ADD_ACT_MAX_WIDTH] : cw[npu_regs_pkg::NPU_DESC_POOL_ACT_MAX_BIT +: npu_regs_pkg::NPU_DESC_POOL_ACT_MAX_WIDTH]),
    .acc_req_o               (ppu_acc_req),
    .acc_addr_o              (ppu_acc_addr),
    .acc_rdata_i             (acc_a_rdata),
    .param_req_o             (ppu_param_req),
    .param_addr_o            (ppu_param_addr),
    .param_rdata_i           (param_a_rdata),
    .act_req_o               (ppu_act_req),
    .act_addr_o              (ppu_act_addr),
    .act_rdata_i             (act_a_rdata),
    .act_we_o                (ppu_act_we),
    .act_waddr_o             (ppu_act_waddr),
    .act_wbe_o               (ppu_act_wbe),
    .act_wdata_o             (ppu_act_wdata)
  );

  // ---- port a: the running compute descriptor (one engine at a time) --------------------
  // ACT: engine reads, or the PPU's read/write (ActOnePort: never both in
  // one cycle). ACC: the engine's write (no EPILOGUE), PW's ACCUMULATE read
  // (never in the cycle of its write) or the PPU's REQUANT read.
  logic            act_a_req, act_a_we, wgt_a_req, acc_a_we, acc_a_rd, param_a_req;
  logic [AW-1:0]   act_a_addr, wgt_a_word, acc_a_addr, param_a_addr, dw_wgt_row;
  logic [ActWordB-1:0] act_a_be;
  logic [PwRows*4-1:0] acc_a_be;
  logic [SliceBits-1:0] dw_slice, dw_slice_q;

  assign act_a_we     = ppu_act_we;
  assign act_a_req    = dw_act_req | pw_act_req | ppu_act_req | ppu_act_we;
  assign act_a_addr   = ppu_busy ? (ppu_act_we ? ppu_act_waddr : ppu_act_addr) :
                        dw_busy ? dw_act_addr : pw_act_addr;
  assign act_a_be     = ppu_act_wbe;
  assign dw_wgt_row   = dw_wgt_addr >> SliceBits;
  assign dw_slice     = dw_wgt_addr[SliceBits-1:0];
  assign wgt_a_req    = dw_wgt_req | pw_wgt_req;
  assign wgt_a_word   = dw_busy ? dw_wgt_row : pw_wgt_addr;
  assign param_a_req  = dw_bias_req | pw_bias_req | ppu_param_req;
  assign param_a_addr = ppu_busy ? ppu_param_addr : dw_busy ? dw_bias_addr : pw_bias_addr;
  assign acc_a_we     = eng_we && !c_epi;
  assign acc_a_rd     = pw_acc_rd | ppu_acc_req;
  assign acc_a_addr   = acc_a_we ? eng_waddr : ppu_busy ? ppu_acc_addr : pw_acc_raddr;

  always_comb begin
    for (int unsigned l = 0; l < PwRows; l++) begin
      acc_a_be[l*4 +: 4] = {4{eng_wmask[l]}};
    end
  end

  always_ff @(posedge clk_i) begin
    if (dw_wgt_req) begin
      dw_slice_q <= dw_slice;
    end
  end
  assign dw_wgt_rdata = wgt_a_rdata[32'(dw_slice_q)*DwLanes*8 +: DwLanes*8];

  // SRAM range: an engine address past the end of its SRAM is ERR_SRAM_RANGE
  // (a write is dropped; reads return don't-care data).
  logic act_oob, wgt_oob, acc_oob, param_oob, epi_oob, eng_err;
  logic [AW-1:0] eng_err_addr;
  assign act_oob   = act_a_req && (32'(act_a_addr) >= ActDepth);
  assign wgt_oob   = (dw_wgt_req && (32'(dw_wgt_addr) >= DwWgtWords)) ||
                     (pw_wgt_req && (32'(pw_wgt_addr) >= WgtDepth));
  assign acc_oob   = (acc_a_we || acc_a_rd) && (32'(acc_a_addr) >= AccDepth);
  assign param_oob = param_a_req && (32'(param_a_addr) >= ParamDepth);
  assign epi_oob   = (epi_act_we && (32'(epi_act_addr) >= ActDepth)) ||
                     (epi_param_req && (32'(epi_param_addr) >= ParamDepth));
  assign eng_err   = act_oob | wgt_oob | acc_oob | param_oob | epi_oob;
  always_comb begin
    eng_err_addr = param_a_addr;
    if (act_oob) begin
      eng_err_addr = act_a_addr;
    end else if (wgt_oob) begin
      eng_err_addr = dw_busy ? dw_wgt_addr : pw_wgt_addr;
    end else if (acc_oob) begin
      eng_err_addr = acc_a_addr;
    end else if (epi_oob) begin
      eng_err_addr = epi_act_we ? epi_act_addr : epi_param_addr;
    end
  end

  // ---- port b: the DMA ----------------------------------------------------------------------
  logic                  lw_req_g;
  logic                  act_b_req, act_b_we, wgt_b_req, wgt_b_we;
  logic                  acc_b_req, acc_b_we, param_b_req, param_b_we;
  logic [ActAw-1:0]      act_b_addr;
  logic [WgtAw-1:0]      wgt_b_addr;
  logic [AccAw-1:0]      acc_b_addr;
  logic [ParamAw-1:0]    param_b_addr;
  logic [ActWordB-1:0]   act_b_be;
  logic [WgtRowB-1:0]    wgt_b_be;
  logic [AccWordB-1:0]   acc_b_be;
  logic [ParamWordB-1:0] param_b_be;
  logic [ActWordB*8-1:0]   act_b_wdata, act_b_rdata;
  logic [WgtRowB*8-1:0]    wgt_b_wdata, wgt_b_rdata;
  logic [AccWordB*8-1:0]   acc_b_wdata, acc_b_rdata;
  logic [ParamWordB*8-1:0] param_b_wdata;
  logic [DmaBytes*8-1:0]   sr_act, sr_wgt, sr_acc, sr_param;
  logic                    sr_fire;
  logic [1:0]              sr_sel_q;

  assign lw_req_g = lw_req && lw_gnt;
  assign sr_fire  = sr_req && sr_gnt;

  npu_sram_dma_port #(.WordBytes(ActWordB), .DmaBytes(DmaBytes), .AddrBits(ActAw), .CaW(CaW),
                      .Sel(2'(npu_regs_pkg::NPU_HW_SRAM_ACT))) u_act_dp (
    .clk_i (clk_i), .lw_req_i (lw_req_g), .lw_sel_i (lw_sel), .lw_addr_i (lw_addr),
    .lw_be_i (lw_be), .lw_wdata_i (lw_wdata), .sr_req_i (sr_fire), .sr_sel_i (sr_sel),
    .sr_addr_i (sr_addr), .sr_rdata_o (sr_act), .b_req_o (act_b_req), .b_we_o (act_b_we),
    .b_addr_o (act_b_addr), .b_be_o (act_b_be), .b_wdata_o (act_b_wdata),
    .b_rdata_i (act_b_rdata)
  );
  npu_sram_dma_port #(.WordBytes(WgtRowB), .DmaBytes(DmaBytes), .AddrBits(WgtAw), .CaW(CaW),
                      .Sel(2'(npu_regs_pkg::NPU_HW_SRAM_WGT))) u_wgt_dp (
    .clk_i (clk_i), .lw_req_i (lw_req_g), .lw_sel_i (lw_sel), .lw_addr_i (lw_addr),
    .lw_be_i (lw_be), .lw_wdata_i (lw_wdata), .sr_req_i (sr_fire), .sr_sel_i (sr_sel),
    .sr_addr_i (sr_addr), .sr_rdata_o (sr_wgt), .b_req_o (wgt_b_req), .b_we_o (wgt_b_we),
    .b_addr_o (wgt_b_addr), .b_be_o (wgt_b_be), .b_wdata_o (wgt_b_wdata),
    .b_rdata_i (wgt_b_rdata)
  );
  npu_sram_dma_port #(.WordBytes(AccWordB), .DmaBytes(DmaBytes), .AddrBits(AccAw), .CaW(CaW),
                      .Sel(2'(npu_regs_pkg::NPU_HW_SRAM_ACC))) u_acc_dp (
    .clk_i (clk_i), .lw_req_i (lw_req_g), .lw_sel_i (lw_sel), .lw_addr_i (lw_addr),
    .lw_be_i (lw_be), .lw_wdata_i (lw_wdata), .sr_req_i (sr_fire), .sr_sel_i (sr_sel),
    .sr_addr_i (sr_addr), .sr_rdata_o (sr_acc), .b_req_o (acc_b_req), .b_we_o (acc_b_we),
    .b_addr_o (acc_b_addr), .b_be_o (acc_b_be), .b_wdata_o (acc_b_wdata),
    .b_rdata_i (acc_b_rdata)
  );
  npu_sram_dma_port #(.WordBytes(ParamWordB), .DmaBytes(DmaBytes), .AddrBits(ParamAw),
                      .CaW(CaW), .Sel(2'(npu_regs_pkg::NPU_HW_SRAM_PARAM))) u_param_dp (
    .clk_i (clk_i), .lw_req_i (lw_req_g), .lw_sel_i (lw_sel), .lw_addr_i (lw_addr),
    .lw_be_i (lw_be), .lw_wdata_i (lw_wdata), .sr_req_i (sr_fire), .sr_sel_i (sr_sel),
    .sr_addr_i (sr_addr), .sr_rdata_o (sr_param), .b_req_o (param_b_req),
    .b_we_o (param_b_we), .b_addr_o (param_b_addr), .b_be_o (param_b_be),
    .b_wdata_o (param_b_wdata), .b_rdata_i (param_b_rdata)
  );

  always_ff @(posedge clk_i) begin
    if (sr_fire) begin
      sr_sel_q <= sr_sel;
    end
  end

  always_comb begin
    unique case (sr_sel_q)
      2'(npu_regs_pkg::NPU_HW_SRAM_ACT): sr_rdata = sr_act;
      2'(npu_regs_pkg::NPU_HW_SRAM_WGT): sr_rdata = sr_wgt;
      2'(npu_regs_pkg::NPU_HW_SRAM_ACC): sr_rdata = sr_acc;
      default:                           sr_rdata = sr_param;
    endcase
  end

  // ---- SRAMs ---------------------------------------------------------------------------------
  // Port b with the epilogue's granted accesses muxed in (the DMA is then
  // not on that SRAM's port b, see the arbitration above).
  logic                    act_b_req_m, act_b_we_m, param_b_req_m;
  logic [ActAw-1:0]        act_b_addr_m;
  logic [ParamAw-1:0]      param_b_addr_m;
  logic [ActWordB-1:0]     act_b_be_m;
  logic [ActWordB*8-1:0]   act_b_wdata_m;
  logic [WgtRowB*8-1:0]    unused_wgt_a_w;
  logic [ParamWordB*8-1:0] unused_param_a_w;
  assign unused_wgt_a_w   = '0;
  assign unused_param_a_w = '0;

  assign act_b_req_m    = act_b_req | (epi_act_gnt && !epi_oob);
  assign act_b_we_m     = epi_act_gnt ? 1'b1 : act_b_we;
  assign act_b_addr_m   = epi_act_gnt ? ActAw'(epi_act_addr) : act_b_addr;
  assign act_b_be_m     = epi_act_gnt ? epi_act_be : act_b_be;
  assign act_b_wdata_m  = epi_act_gnt ? epi_act_wdata : act_b_wdata;
  assign param_b_req_m  = param_b_req | epi_param_gnt;
  assign param_b_addr_m = epi_param_gnt ? ParamAw'(epi_param_addr) : param_b_addr;

  npu_sram #(.Width(ActWordB * 8), .Depth(ActDepth)) u_act (
    .clk_i     (clk_i),
    .a_req_i   (act_a_req && !act_oob),
    .a_we_i    (act_a_we),
    .a_addr_i  (ActAw'(act_a_addr)),
    .a_be_i    (act_a_be),
    .a_wdata_i (ppu_act_wdata),
    .a_rdata_o (act_a_rdata),
    .b_req_i   (act_b_req_m),
    .b_we_i    (act_b_we_m),
    .b_addr_i  (act_b_addr_m),
    .b_be_i    (act_b_be_m),
    .b_wdata_i (act_b_wdata_m),
    .b_rdata_o (act_b_rdata)
  );

  npu_sram #(.Width(WgtRowB * 8), .Depth(WgtDepth)) u_wgt (
    .clk_i     (clk_i),
    .a_req_i   (wgt_a_req),
    .a_we_i    (1'b0),
    .a_addr_i  (WgtAw'(wgt_a_word)),
    .a_be_i    ('0),
    .a_wdata_i (unused_wgt_a_w),
    .a_rdata_o (wgt_a_rdata),
    .b_req_i   (wgt_b_req),
    .b_we_i    (wgt_b_we),
    .b_addr_i  (wgt_b_addr),
    .b_be_i    (wgt_b_be),
    .b_wdata_i (wgt_b_wdata),
    .b_rdata_o (wgt_b_rdata)
  );

  npu_sram #(.Width(AccWordB * 8), .Depth(AccDepth)) u_acc (
    .clk_i     (clk_i),
    .a_req_i   ((acc_a_we || acc_a_rd) && !acc_oob),
    .a_we_i    (acc_a_we),
    .a_addr_i  (AccAw'(acc_a_addr)),
    .a_be_i    (acc_a_be),
    .a_wdata_i (eng_wdata),
    .a_rdata_o (acc_a_rdata),
    .b_req_i   (acc_b_req),
    .b_we_i    (acc_b_we),
    .b_addr_i  (acc_b_addr),
    .b_be_i    (acc_b_be),
    .b_wdata_i (acc_b_wdata),
    .b_rdata_o (acc_b_rdata)
  );

  npu_sram #(.Width(ParamWordB * 8), .Depth(ParamDepth)) u_param (
    .clk_i     (clk_i),
    .a_req_i   (param_a_req),
    .a_we_i    (1'b0),
    .a_addr_i  (ParamAw'(param_a_addr)),
    .a_be_i    ('0),
    .a_wdata_i (unused_param_a_w),
    .a_rdata_o (param_a_rdata),
    .b_req_i   (param_b_req_m),
    .b_we_i    (param_b_we),
    .b_addr_i  (param_b_addr_m),
    .b_be_i    (param_b_be),
    .b_wdata_i (param_b_wdata),
    .b_rdata_o (param_b_rdata)
  );

  // ---- errors, activity ------------------------------------------------------------------------
  always_comb begin
    err_valid = 1'b1;
    if (dma_err_valid) begin
      err_code  = dma_err_code;
      err_addr  = dma_err_addr;
      err_index = dma_err_index;
    end else if (cp_err_valid) begin
      err_code  = cp_err_code;
      err_addr  = cp_err_addr;
      err_index = cp_err_index;
    end else begin
      err_valid = eng_err;
      err_code  = npu_regs_pkg::NPU_HW_ERR_SRAM_RANGE;
      err_addr  = {48'd0, eng_err_addr};
      err_index = cmp_index;
    end
  end

  // {CP, STORE, PPU, DW, PW, LOAD}. The conv epilogue is shared; its drain
  // counts for the engine whose descriptor it finishes (it drains before the
  // next descriptor starts), so PW work never shows as DW and back.
  logic epi_dw, epi_pw;
  assign epi_dw = c_epi & epi_busy & c_dw;
  assign epi_pw = c_epi & epi_busy & ~c_dw & ~c_ppu;
  assign busy = {cp_busy, q_busy[2] | st_busy, ppu_busy, dw_busy | epi_dw, pw_busy | epi_pw,
                q_busy[0] | ld_busy};

  // Descriptor bits no engine port takes: the header, the tag and the
  // reserved words and bits (npu_cmdproc has checked them already).
  logic unused_top;
  assign unused_top = ^{ld_desc[511:416], ld_desc[255:240], ld_desc[159:136], ld_desc[63:0],
                        st_desc[511:416], st_desc[255:240], st_desc[159:136], st_desc[63:0],
                        cw[383:368], cw[63:32], cw[15:8], q_busy[1], wgt_a_word[AW-1:WgtAw], wstep[31:AW],
                        cv_irs[ActWBits-1:0], cv_ips[ActWBits-1:0], cv_in[ActWBits-1:0],
                        cv_wgt, epi_n[31:AW], pl_irs[31:AW], pl_ors[31:AW],
                        cv_param[31:AW], rq_param[31:AW], pl_param[31:AW]};

endmodule
