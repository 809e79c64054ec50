// lwnpu DMA box walker (docs/HARDWARE.md §4.2, §6): turns one 3D strided
// NHWC box into a sequence of bursts for npu_dma.
//
// The box is rows x cols x chans bytes. Host element (r, c, ch) is at
//   host + r*host_row_stride + c*host_pix_stride + ch*host_chan_stride,
// SRAM element at sram + r*sram_row_stride + c*sram_pix_stride + ch
// (channels contiguous on the SRAM side). With a channel stride of 1 a
// pixel's channels are one contiguous run; otherwise every channel is a
// run of one byte (shuffle/strided slices: correct, not fast). A run is
// cut into bursts of at most MaxBurst bytes that never cross a 4 KiB
// boundary of the host address.
//
// burst_valid_o holds the current burst; burst_take_i (with valid) moves
// to the next one. The walk is incremental (adds only, no multiplier).
// The cfg_* inputs must be stable from start_i until the walk ends.
module npu_dma_box #(
  parameter int unsigned MaxBurst = 128  // bytes, <= 4096
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        clear_i,       // soft reset: abandon the walk

  input  logic        start_i,
  input  logic [63:0] cfg_host_i,
  input  logic [31:0] cfg_sram_i,
  input  logic [15:0] cfg_chans_i,   // >= 1
  input  logic [15:0] cfg_cols_i,    // >= 1
  input  logic [15:0] cfg_rows_i,    // >= 1
  input  logic [31:0] cfg_hcs_i,     // host channel stride
  input  logic [31:0] cfg_hps_i,     // host pixel stride
  input  logic [31:0] cfg_hrs_i,     // host row stride
  input  logic [31:0] cfg_sps_i,     // SRAM pixel stride
  input  logic [31:0] cfg_srs_i,     // SRAM row stride

  output logic        burst_valid_o,
  output logic [63:0] burst_host_o,
  output logic [31:0] burst_sram_o,
  output logic [15:0] burst_len_o,   // 1 .. MaxBurst
  input  logic        burst_take_i
);

  logic        active_d, active_q;
  logic [15:0] row_d, row_q, col_d, col_q, run_d, run_q;
  logic [15:0] left_d, left_q;   // bytes left in the current run
  logic [63:0] hcur_d, hcur_q, hrun_d, hrun_q, hpix_d, hpix_q, hrow_d, hrow_q;
  logic [31:0] scur_d, scur_q, srun_d, srun_q, spix_d, spix_q, srow_d, srow_q;

  logic        contig;
  logic [15:0] run_len, last_run;
  logic [12:0] to4k;
  logic [15:0] len;

  assign contig   = (cfg_hcs_i == 32'd1);
  assign run_len  = contig ? cfg_chans_i : 16'd1;
  assign last_run = contig ? 16'd0 : cfg_chans_i - 16'd1;
  assign to4k     = 13'h1000 - {1'b0, hcur_q[11:0]};

  always_comb begin
    len = left_q;
    if ({3'd0, to4k} < len) begin
      len = {3'd0, to4k};
    end
    if (16'(MaxBurst) < len) begin
      len = 16'(MaxBurst);
    end
  end

  always_comb begin
    active_d = active_q;
    row_d    = row_q;
    col_d    = col_q;
    run_d    = run_q;
    left_d   = left_q;
    hcur_d   = hcur_q;
    hrun_d   = hrun_q;
    hpix_d   = hpix_q;
    hrow_d   = hrow_q;
    scur_d   = scur_q;
    srun_d   = srun_q;
    spix_d   = spix_q;
    srow_d   = srow_q;

    if (start_i) begin
      active_d = 1'b1;
      row_d    = 16'd0;
      col_d    = 16'd0;
      run_d    = 16'd0;
      left_d   = run_len;
      hcur_d   = cfg_host_i;
      hrun_d   = cfg_host_i;
      hpix_d   = cfg_host_i;
      hrow_d   = cfg_host_i;
      scur_d   = cfg_sram_i;
      srun_d   = cfg_sram_i;
      spix_d   = cfg_sram_i;
      srow_d   = cfg_sram_i;
    end else if (active_q && burst_take_i) begin
      left_d = left_q - len;
      hcur_d = hcur_q + 64'(len);
      scur_d = scur_q + 32'(len);
      if (left_q == len) begin
        // Run finished: next channel run, pixel or row.
        left_d = run_len;
        if (run_q != last_run) begin
          run_d  = run_q + 16'd1;
          hrun_d = hrun_q + 64'(cfg_hcs_i);
          srun_d = srun_q + 32'd1;
          hcur_d = hrun_q + 64'(cfg_hcs_i);
          scur_d = srun_q + 32'd1;
        end else if (col_q != cfg_cols_i - 16'd1) begin
          run_d  = 16'd0;
          col_d  = col_q + 16'd1;
          hpix_d = hpix_q + 64'(cfg_hps_i);
          spix_d = spix_q + cfg_sps_i;
          hrun_d = hpix_q + 64'(cfg_hps_i);
          srun_d = spix_q + cfg_sps_i;
          hcur_d = hpix_q + 64'(cfg_hps_i);
          scur_d = spix_q + cfg_sps_i;
        end else if (row_q != cfg_rows_i - 16'd1) begin
          run_d  = 16'd0;
          col_d  = 16'd0;
          row_d  = row_q + 16'd1;
          hrow_d = hrow_q + 64'(cfg_hrs_i);
          srow_d = srow_q + cfg_srs_i;
          hpix_d = hrow_q + 64'(cfg_hrs_i);
          spix_d = srow_q + cfg_srs_i;
          hrun_d = hrow_q + 64'(cfg_hrs_i);
          srun_d = srow_q + cfg_srs_i;
          hcur_d = hrow_q + 64'(cfg_hrs_i);
          scur_d = srow_q + cfg_srs_i;
        end else begin
          active_d = 1'b0;
        end
      end
    end
    if (clear_i) begin
      active_d = 1'b0;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q <= 1'b0;
      row_q    <= '0;
      col_q    <= '0;
      run_q    <= '0;
      left_q   <= '0;
      hcur_q   <= '0;
      hrun_q   <= '0;
      hpix_q   <= '0;
      hrow_q   <= '0;
      scur_q   <= '0;
      srun_q   <= '0;
      spix_q   <= '0;
      srow_q   <= '0;
    end else begin
      active_q <= active_d;
      row_q    <= row_d;
      col_q    <= col_d;
      run_q    <= run_d;
      left_q   <= left_d;
      hcur_q   <= hcur_d;
      hrun_q   <= hrun_d;
      hpix_q   <= hpix_d;
      hrow_q   <= hrow_d;
      scur_q   <= scur_d;
      srun_q   <= srun_d;
      spix_q   <= spix_d;
      srow_q   <= srow_d;
    end
  end

  assign burst_valid_o = active_q;
  assign burst_host_o  = hcur_q;
  assign burst_sram_o  = scur_q;
  assign burst_len_o   = len;

endmodule
