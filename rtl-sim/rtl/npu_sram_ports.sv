// lwnpu SRAM port b (docs/HARDWARE.md §1, §6, §7): the DMA's and the conv
// epilogue's accesses to port b of the four SRAMs, cut out of npu_top so
// that the top is wiring.
//
// Port b of every SRAM belongs to the DMA (npu_sram_dma_port adapts its
// DmaBytes chunks to SRAM words), except that the conv epilogue writes
// ACT and reads PARAM on it. Priority: the store read (never held), then
// the epilogue (ACT write, PARAM read), then the load write (its beat is
// held by lw_gnt_o).
//
// Ports (flat, Verilator 5.006 / yosys 0.23):
//   lw_*, sr_*             the load-write and store-read chunk ports of
//                          npu_dma (sr_rdata_o: the chunk read in the last
//                          cycle, from the SRAM that read was for)
//   epi_act_*, epi_param_* the epilogue's accesses (npu_compute); *_gnt_o
//                          says they are on port b this cycle; epi_drop_i
//                          (an epilogue access out of range) keeps the ACT
//                          write off the SRAM. The PARAM read data is
//                          param_b_rdata_i, wired to the epilogue in npu_top
//   act_b_*, wgt_b_*, acc_b_*, param_b_*
//                          port b of each npu_sram
//
// Depths are SRAM words; word widths as npu_compute.
module npu_sram_ports #(
  parameter int unsigned PwRows     = 16,
  parameter int unsigned PwCols     = 16,
  parameter int unsigned DwLanes    = 16,
  parameter int unsigned DmaBytes   = 8,
  parameter int unsigned CaW        = 20,
  parameter int unsigned ActDepth   = 8192,
  parameter int unsigned WgtDepth   = 512,
  parameter int unsigned AccDepth   = 1024,
  parameter int unsigned ParamDepth = 128
) (
  input  logic                            clk_i,

  input  logic                            lw_req_i,
  input  logic [1:0]                      lw_sel_i,
  input  logic [CaW-1:0]                  lw_addr_i,
  input  logic [DmaBytes-1:0]             lw_be_i,
  input  logic [DmaBytes*8-1:0]           lw_wdata_i,
  output logic                            lw_gnt_o,
  input  logic                            sr_req_i,
  input  logic [1:0]                      sr_sel_i,
  input  logic [CaW-1:0]                  sr_addr_i,
  output logic                            sr_gnt_o,
  output logic [DmaBytes*8-1:0]           sr_rdata_o,

  input  logic                            epi_act_we_i,
  input  logic [$clog2(ActDepth)-1:0]     epi_act_addr_i,
  input  logic [PwCols-1:0]               epi_act_be_i,
  input  logic [PwCols*8-1:0]             epi_act_wdata_i,
  output logic                            epi_act_gnt_o,
  input  logic                            epi_param_req_i,
  input  logic [$clog2(ParamDepth)-1:0]   epi_param_addr_i,
  output logic                            epi_param_gnt_o,
  input  logic                            epi_drop_i,

  output logic                            act_b_req_o,
  output logic                            act_b_we_o,
  output logic [$clog2(ActDepth)-1:0]     act_b_addr_o,
  output logic [PwCols-1:0]               act_b_be_o,
  output logic [PwCols*8-1:0]             act_b_wdata_o,
  input  logic [PwCols*8-1:0]             act_b_rdata_i,
  output logic                            wgt_b_req_o,
  output logic                            wgt_b_we_o,
  output logic [$clog2(WgtDepth)-1:0]     wgt_b_addr_o,
  output logic [PwRows*PwCols-1:0]        wgt_b_be_o,
  output logic [PwRows*PwCols*8-1:0]      wgt_b_wdata_o,
  input  logic [PwRows*PwCols*8-1:0]      wgt_b_rdata_i,
  output logic                            acc_b_req_o,
  output logic                            acc_b_we_o,
  output logic [$clog2(AccDepth)-1:0]     acc_b_addr_o,
  output logic [PwRows*4-1:0]             acc_b_be_o,
  output logic [PwRows*32-1:0]            acc_b_wdata_o,
  input  logic [PwRows*32-1:0]            acc_b_rdata_i,
  output logic                            param_b_req_o,
  output logic                            param_b_we_o,
  output logic [$clog2(ParamDepth)-1:0]   param_b_addr_o,
  output logic [DwLanes*4-1:0]            param_b_be_o,
  output logic [DwLanes*32-1:0]           param_b_wdata_o,
  input  logic [DwLanes*32-1:0]           param_b_rdata_i
);

  localparam int unsigned ActWordB   = PwCols;
  localparam int unsigned WgtRowB    = PwRows * PwCols;
  localparam int unsigned AccWordB   = PwRows * 4;
  localparam int unsigned ParamWordB = DwLanes * 4;
  localparam int unsigned ActAw      = $clog2(ActDepth);
  localparam int unsigned WgtAw      = $clog2(WgtDepth);
  localparam int unsigned AccAw      = $clog2(AccDepth);
  localparam int unsigned ParamAw    = $clog2(ParamDepth);

  // ---- arbitration -------------------------------------------------------------------------
  assign sr_gnt_o        = 1'b1;
  assign epi_act_gnt_o   = epi_act_we_i &&
                           !(sr_req_i && (sr_sel_i == 2'(npu_regs_pkg::NPU_HW_SRAM_ACT)));
  assign epi_param_gnt_o = epi_param_req_i &&
                           !(sr_req_i && (sr_sel_i == 2'(npu_regs_pkg::NPU_HW_SRAM_PARAM)));
  assign lw_gnt_o        = !(sr_req_i && sr_gnt_o && (sr_sel_i == lw_sel_i)) &&
                           !(epi_act_gnt_o && (lw_sel_i == 2'(npu_regs_pkg::NPU_HW_SRAM_ACT))) &&
                           !(epi_param_gnt_o && (lw_sel_i == 2'(npu_regs_pkg::NPU_HW_SRAM_PARAM)));

  // ---- the DMA's port b ---------------------------------------------------------------------
  logic                    lw_req_g;
  logic                    act_b_req, act_b_we, param_b_req;
  logic [ActAw-1:0]        act_b_addr;
  logic [ParamAw-1:0]      param_b_addr;
  logic [ActWordB-1:0]     act_b_be;
  logic [ActWordB*8-1:0]   act_b_wdata;
  logic [DmaBytes*8-1:0]   sr_act, sr_wgt, sr_acc, sr_param;
  logic                    sr_fire;
  logic [1:0]              sr_sel_q;

  assign lw_req_g = lw_req_i && lw_gnt_o;
  assign sr_fire  = sr_req_i && sr_gnt_o;

  npu_sram_dma_port #(.WordBytes(ActWordB), .DmaBytes(DmaBytes), .AddrBits(ActAw), .CaW(CaW),
                      .Sel(2'(npu_regs_pkg::NPU_HW_SRAM_ACT))) u_act_dp (
    .clk_i (clk_i), .lw_req_i (lw_req_g), .lw_sel_i (lw_sel_i), .lw_addr_i (lw_addr_i),
    .lw_be_i (lw_be_i), .lw_wdata_i (lw_wdata_i), .sr_req_i (sr_fire), .sr_sel_i (sr_sel_i),
    .sr_addr_i (sr_addr_i), .sr_rdata_o (sr_act), .b_req_o (act_b_req), .b_we_o (act_b_we),
    .b_addr_o (act_b_addr), .b_be_o (act_b_be), .b_wdata_o (act_b_wdata),
    .b_rdata_i (act_b_rdata_i)
  );
  npu_sram_dma_port #(.WordBytes(WgtRowB), .DmaBytes(DmaBytes), .AddrBits(WgtAw), .CaW(CaW),
                      .Sel(2'(npu_regs_pkg::NPU_HW_SRAM_WGT))) u_wgt_dp (
    .clk_i (clk_i), .lw_req_i (lw_req_g), .lw_sel_i (lw_sel_i), .lw_addr_i (lw_addr_i),
    .lw_be_i (lw_be_i), .lw_wdata_i (lw_wdata_i), .sr_req_i (sr_fire), .sr_sel_i (sr_sel_i),
    .sr_addr_i (sr_addr_i), .sr_rdata_o (sr_wgt), .b_req_o (wgt_b_req_o), .b_we_o (wgt_b_we_o),
    .b_addr_o (wgt_b_addr_o), .b_be_o (wgt_b_be_o), .b_wdata_o (wgt_b_wdata_o),
    .b_rdata_i (wgt_b_rdata_i)
  );
  npu_sram_dma_port #(.WordBytes(AccWordB), .DmaBytes(DmaBytes), .AddrBits(AccAw), .CaW(CaW),
                      .Sel(2'(npu_regs_pkg::NPU_HW_SRAM_ACC))) u_acc_dp (
    .clk_i (clk_i), .lw_req_i (lw_req_g), .lw_sel_i (lw_sel_i), .lw_addr_i (lw_addr_i),
    .lw_be_i (lw_be_i), .lw_wdata_i (lw_wdata_i), .sr_req_i (sr_fire), .sr_sel_i (sr_sel_i),
    .sr_addr_i (sr_addr_i), .sr_rdata_o (sr_acc), .b_req_o (acc_b_req_o), .b_we_o (acc_b_we_o),
    .b_addr_o (acc_b_addr_o), .b_be_o (acc_b_be_o), .b_wdata_o (acc_b_wdata_o),
    .b_rdata_i (acc_b_rdata_i)
  );
  npu_sram_dma_port #(.WordBytes(ParamWordB), .DmaBytes(DmaBytes), .AddrBits(ParamAw),
                      .CaW(CaW), .Sel(2'(npu_regs_pkg::NPU_HW_SRAM_PARAM))) u_param_dp (
    .clk_i (clk_i), .lw_req_i (lw_req_g), .lw_sel_i (lw_sel_i), .lw_addr_i (lw_addr_i),
    .lw_be_i (lw_be_i), .lw_wdata_i (lw_wdata_i), .sr_req_i (sr_fire), .sr_sel_i (sr_sel_i),
    .sr_addr_i (sr_addr_i), .sr_rdata_o (sr_param), .b_req_o (param_b_req),
    .b_we_o (param_b_we_o), .b_addr_o (param_b_addr), .b_be_o (param_b_be_o),
    .b_wdata_o (param_b_wdata_o), .b_rdata_i (param_b_rdata_i)
  );

  always_ff @(posedge clk_i) begin
    if (sr_fire) begin
      sr_sel_q <= sr_sel_i;
    end
  end

  always_comb begin
    unique case (sr_sel_q)
      2'(npu_regs_pkg::NPU_HW_SRAM_ACT): sr_rdata_o = sr_act;
      2'(npu_regs_pkg::NPU_HW_SRAM_WGT): sr_rdata_o = sr_wgt;
      2'(npu_regs_pkg::NPU_HW_SRAM_ACC): sr_rdata_o = sr_acc;
      default:                           sr_rdata_o = sr_param;
    endcase
  end

  // ---- port b with the epilogue's granted accesses muxed in --------------------------------
  // (the DMA is then not on that SRAM's port b, see the arbitration above)
  assign act_b_req_o    = act_b_req | (epi_act_gnt_o && !epi_drop_i);
  assign act_b_we_o     = epi_act_gnt_o ? 1'b1 : act_b_we;
  assign act_b_addr_o   = epi_act_gnt_o ? epi_act_addr_i : act_b_addr;
  assign act_b_be_o     = epi_act_gnt_o ? epi_act_be_i : act_b_be;
  assign act_b_wdata_o  = epi_act_gnt_o ? epi_act_wdata_i : act_b_wdata;
  assign param_b_req_o  = param_b_req | epi_param_gnt_o;
  assign param_b_addr_o = epi_param_gnt_o ? epi_param_addr_i : param_b_addr;

endmodule
