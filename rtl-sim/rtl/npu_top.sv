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
// Inside (wiring only): npu_csr, npu_cmdproc (ring fetch, decode,
// LOAD/COMPUTE/STORE queues with tokens, retirement), npu_dma (fetch, load,
// store, windows), npu_compute (the compute sequencer and engines: npu_pw,
// npu_dw, npu_ppu, npu_epilogue), npu_sram_ports (port b arbitration) and
// four npu_sram (ACT, WGT, ACC, PARAM). Port a of each SRAM belongs to the
// compute queue (one engine at a time), port b to the DMA and the conv
// epilogue. CTRL.SOFT_RESET resets the engines and clears the command
// processor and the DMA's jobs (bursts on the bus complete).
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

  // ---- compute: sequencer, engines, port a ----------------------------------------------
  logic                    cmp_err;
  logic [AW-1:0]           cmp_err_addr;
  logic [2:0]              cmp_busy;   // {PPU, DW, PW}
  logic                    act_a_req, act_a_we, wgt_a_req, acc_a_req, acc_a_we, param_a_req;
  logic [ActAw-1:0]        act_a_addr;
  logic [WgtAw-1:0]        wgt_a_addr;
  logic [AccAw-1:0]        acc_a_addr;
  logic [ParamAw-1:0]      param_a_addr;
  logic [ActWordB-1:0]     act_a_be;
  logic [AccWordB-1:0]     acc_a_be;
  logic [ActWordB*8-1:0]   act_a_wdata, act_a_rdata;
  logic [WgtRowB*8-1:0]    wgt_a_rdata;
  logic [AccWordB*8-1:0]   acc_a_wdata, acc_a_rdata;
  logic [ParamWordB*8-1:0] param_a_rdata;
  logic                    epi_act_we, epi_act_gnt, epi_param_req, epi_param_gnt, epi_drop;
  logic [ActAw-1:0]        epi_act_addr;
  logic [ParamAw-1:0]      epi_param_addr;
  logic [ActWordB-1:0]     epi_act_be;
  logic [ActWordB*8-1:0]   epi_act_wdata;
  logic [ParamWordB*8-1:0] param_b_rdata;

  npu_compute #(
    .PwRows     (PwRows),
    .PwCols     (PwCols),
    .DwLanes    (DwLanes),
    .PpuLanes   (PpuLanes),
    .EpiLanes   (EpiLanes),
    .ActDepth   (ActDepth),
    .WgtDepth   (WgtDepth),
    .AccDepth   (AccDepth),
    .ParamDepth (ParamDepth)
  ) u_compute (
    .clk_i             (clk_i),
    .rst_ni            (rst_ni),
    .clear_i           (sreset),
    .start_i           (cmp_start),
    .desc_i            (cmp_desc),
    .done_o            (cmp_done),
    .hold_i            (dbg_engine_hold_i),
    .act_req_o         (act_a_req),
    .act_we_o          (act_a_we),
    .act_addr_o        (act_a_addr),
    .act_be_o          (act_a_be),
    .act_wdata_o       (act_a_wdata),
    .act_rdata_i       (act_a_rdata),
    .wgt_req_o         (wgt_a_req),
    .wgt_addr_o        (wgt_a_addr),
    .wgt_rdata_i       (wgt_a_rdata),
    .acc_req_o         (acc_a_req),
    .acc_we_o          (acc_a_we),
    .acc_addr_o        (acc_a_addr),
    .acc_be_o          (acc_a_be),
    .acc_wdata_o       (acc_a_wdata),
    .acc_rdata_i       (acc_a_rdata),
    .param_req_o       (param_a_req),
    .param_addr_o      (param_a_addr),
    .param_rdata_i     (param_a_rdata),
    .epi_act_we_o      (epi_act_we),
    .epi_act_addr_o    (epi_act_addr),
    .epi_act_be_o      (epi_act_be),
    .epi_act_wdata_o   (epi_act_wdata),
    .epi_act_gnt_i     (epi_act_gnt),
    .epi_param_req_o   (epi_param_req),
    .epi_param_addr_o  (epi_param_addr),
    .epi_param_gnt_i   (epi_param_gnt),
    .epi_param_rdata_i (param_b_rdata),
    .epi_drop_o        (epi_drop),
    .err_o             (cmp_err),
    .err_addr_o        (cmp_err_addr),
    .busy_o            (cmp_busy)
  );

  // ---- port b: the DMA and the conv epilogue ----------------------------------------------
  logic                    act_b_req, act_b_we, wgt_b_req, wgt_b_we;
  logic                    acc_b_req, acc_b_we, param_b_req, param_b_we;
  logic [ActAw-1:0]        act_b_addr;
  logic [WgtAw-1:0]        wgt_b_addr;
  logic [AccAw-1:0]        acc_b_addr;
  logic [ParamAw-1:0]      param_b_addr;
  logic [ActWordB-1:0]     act_b_be;
  logic [WgtRowB-1:0]      wgt_b_be;
  logic [AccWordB-1:0]     acc_b_be;
  logic [ParamWordB-1:0]   param_b_be;
  logic [ActWordB*8-1:0]   act_b_wdata, act_b_rdata;
  logic [WgtRowB*8-1:0]    wgt_b_wdata, wgt_b_rdata;
  logic [AccWordB*8-1:0]   acc_b_wdata, acc_b_rdata;
  logic [ParamWordB*8-1:0] param_b_wdata;

  npu_sram_ports #(
    .PwRows     (PwRows),
    .PwCols     (PwCols),
    .DwLanes    (DwLanes),
    .DmaBytes   (DmaBytes),
    .CaW        (CaW),
    .ActDepth   (ActDepth),
    .WgtDepth   (WgtDepth),
    .AccDepth   (AccDepth),
    .ParamDepth (ParamDepth)
  ) u_ports (
    .clk_i            (clk_i),
    .lw_req_i         (lw_req),
    .lw_sel_i         (lw_sel),
    .lw_addr_i        (lw_addr),
    .lw_be_i          (lw_be),
    .lw_wdata_i       (lw_wdata),
    .lw_gnt_o         (lw_gnt),
    .sr_req_i         (sr_req),
    .sr_sel_i         (sr_sel),
    .sr_addr_i        (sr_addr),
    .sr_gnt_o         (sr_gnt),
    .sr_rdata_o       (sr_rdata),
    .epi_act_we_i     (epi_act_we),
    .epi_act_addr_i   (epi_act_addr),
    .epi_act_be_i     (epi_act_be),
    .epi_act_wdata_i  (epi_act_wdata),
    .epi_act_gnt_o    (epi_act_gnt),
    .epi_param_req_i  (epi_param_req),
    .epi_param_addr_i (epi_param_addr),
    .epi_param_gnt_o  (epi_param_gnt),
    .epi_drop_i       (epi_drop),
    .act_b_req_o      (act_b_req),
    .act_b_we_o       (act_b_we),
    .act_b_addr_o     (act_b_addr),
    .act_b_be_o       (act_b_be),
    .act_b_wdata_o    (act_b_wdata),
    .act_b_rdata_i    (act_b_rdata),
    .wgt_b_req_o      (wgt_b_req),
    .wgt_b_we_o       (wgt_b_we),
    .wgt_b_addr_o     (wgt_b_addr),
    .wgt_b_be_o       (wgt_b_be),
    .wgt_b_wdata_o    (wgt_b_wdata),
    .wgt_b_rdata_i    (wgt_b_rdata),
    .acc_b_req_o      (acc_b_req),
    .acc_b_we_o       (acc_b_we),
    .acc_b_addr_o     (acc_b_addr),
    .acc_b_be_o       (acc_b_be),
    .acc_b_wdata_o    (acc_b_wdata),
    .acc_b_rdata_i    (acc_b_rdata),
    .param_b_req_o    (param_b_req),
    .param_b_we_o     (param_b_we),
    .param_b_addr_o   (param_b_addr),
    .param_b_be_o     (param_b_be),
    .param_b_wdata_o  (param_b_wdata),
    .param_b_rdata_i  (param_b_rdata)
  );

  // ---- SRAMs ---------------------------------------------------------------------------------
  logic [WgtRowB*8-1:0]    unused_wgt_a_w;
  logic [ParamWordB*8-1:0] unused_param_a_w;
  assign unused_wgt_a_w   = '0;
  assign unused_param_a_w = '0;

  npu_sram #(.Width(ActWordB * 8), .Depth(ActDepth)) u_act (
    .clk_i     (clk_i),
    .a_req_i   (act_a_req),
    .a_we_i    (act_a_we),
    .a_addr_i  (act_a_addr),
    .a_be_i    (act_a_be),
    .a_wdata_i (act_a_wdata),
    .a_rdata_o (act_a_rdata),
    .b_req_i   (act_b_req),
    .b_we_i    (act_b_we),
    .b_addr_i  (act_b_addr),
    .b_be_i    (act_b_be),
    .b_wdata_i (act_b_wdata),
    .b_rdata_o (act_b_rdata)
  );

  npu_sram #(.Width(WgtRowB * 8), .Depth(WgtDepth)) u_wgt (
    .clk_i     (clk_i),
    .a_req_i   (wgt_a_req),
    .a_we_i    (1'b0),
    .a_addr_i  (wgt_a_addr),
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
    .a_req_i   (acc_a_req),
    .a_we_i    (acc_a_we),
    .a_addr_i  (acc_a_addr),
    .a_be_i    (acc_a_be),
    .a_wdata_i (acc_a_wdata),
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
    .a_addr_i  (param_a_addr),
    .a_be_i    ('0),
    .a_wdata_i (unused_param_a_w),
    .a_rdata_o (param_a_rdata),
    .b_req_i   (param_b_req),
    .b_we_i    (param_b_we),
    .b_addr_i  (param_b_addr),
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
      err_valid = cmp_err;
      err_code  = npu_regs_pkg::NPU_HW_ERR_SRAM_RANGE;
      err_addr  = {48'd0, cmp_err_addr};
      err_index = cmp_index;
    end
  end

  // {CP, STORE, PPU, DW, PW, LOAD}.
  assign busy = {cp_busy, q_busy[2] | st_busy, cmp_busy, q_busy[0] | ld_busy};

  // Descriptor bits no port takes: the header, the tag and the reserved
  // words and bits (npu_cmdproc has checked them already).
  logic unused_top;
  assign unused_top = ^{ld_desc[511:416], ld_desc[255:240], ld_desc[159:136], ld_desc[63:0],
                        st_desc[511:416], st_desc[255:240], st_desc[159:136], st_desc[63:0],
                        q_busy[1]};

endmodule
