// lwnpu DMA engine (docs/HARDWARE.md §4.2, §6): descriptor fetch, DMA_LOAD
// (host memory -> SRAM) and DMA_STORE (SRAM -> host memory).
//
// Memory port (the top's mem_* ports, see npu_top): byte-addressed bursts
// of at most MaxBeats beats of DmaBytes, never crossing 4 KiB.
//   AR/AW: valid/ready, addr (any byte address), len (bytes, >= 1).
//   R:     valid/ready, data: beat k carries bytes addr + k*DmaBytes ..,
//          packed from byte 0 (the last beat may be partial), err per beat;
//          the responses come in request order.
//   W:     valid/ready, data packed the same way, last on the final beat.
//   B:     valid (always accepted), err; one per write burst, in order.
// Up to Outstanding reads and Outstanding writes may be in flight.
//
// Every burst is checked before it is issued: the address window
// (npu_dma_window, ERR_DMA_WINDOW with the burst address) and, for a load
// or store, the SRAM range (ERR_SRAM_RANGE with the SRAM byte address).
// A refused burst issues nothing and writes nothing; a bus error answer is
// ERR_DMA_BUS with the burst address. After an error the engine issues
// nothing more until soft reset.
//
// SRAM side: one DmaBytes-wide "chunk" port per direction; chunk address
// = SRAM byte address / DmaBytes, and the top maps chunks onto SRAM words.
// Loads stream: beat k of a burst is rotated to the SRAM byte offset and
// written as one chunk per beat (plus one final chunk when the burst ends
// mid-chunk); lw_gnt_i low holds the beat (the store reader and the PPU
// have priority on the shared SRAM port; sr_gnt_i low retries a read).
// Stores gather a burst from SRAM (one chunk per
// cycle, realigned to the host byte order) into one of two burst buffers
// and then send AW and the W beats from it, while the next burst gathers
// into the other buffer: a gathered burst waits (pending) only while the
// one before it is still sending, so W streams a beat a cycle.
//
// Soft reset (clear_i) abandons the jobs, but bursts already handed to the
// bus complete: reads in flight are received and dropped, a write burst
// being sent is finished (its data is buffered and was window-checked; a
// valid stays up until ready) and its response dropped; a gathered burst
// still pending (no AW yet) is dropped. So the bus protocol
// never breaks and no transfer starts after the soft reset.
module npu_dma #(
  parameter int unsigned DmaBytes    = 8,    // power of two, >= 4
  parameter int unsigned NumWindows  = 4,
  parameter int unsigned MaxBeats    = 16,   // power of two
  parameter int unsigned Outstanding = 8,    // power of two
  parameter int unsigned CaW         = 20,   // SRAM chunk-address bits
  parameter int unsigned ActBytes    = 131072,
  parameter int unsigned WgtBytes    = 131072,
  parameter int unsigned AccBytes    = 65536,
  parameter int unsigned ParamBytes  = 8192
) (
  input  logic                      clk_i,
  input  logic                      rst_ni,
  input  logic                      clear_i,   // soft reset pulse
  input  logic                      halt_i,    // device halted: issue nothing new

  input  logic [NumWindows*64-1:0]  win_base_i,
  input  logic [NumWindows*32-1:0]  win_size_i,
  input  logic [NumWindows-1:0]     win_rd_i,
  input  logic [NumWindows-1:0]     win_wr_i,

  // Descriptor fetch: one 64-byte burst per granted request.
  input  logic                      fetch_req_i,
  input  logic [63:0]               fetch_addr_i,
  input  logic [15:0]               fetch_index_i,
  output logic                      fetch_gnt_o,
  output logic                      fetch_rvalid_o,
  output logic [DmaBytes*8-1:0]     fetch_rdata_o,
  output logic                      fetch_rerr_o,

  // DMA_LOAD job.
  input  logic                      ld_start_i,
  output logic                      ld_busy_o,
  output logic                      ld_done_o,
  input  logic [63:0]               ld_host_i,
  input  logic [1:0]                ld_sel_i,
  input  logic [31:0]               ld_sram_i,
  input  logic [15:0]               ld_chans_i,
  input  logic [15:0]               ld_cols_i,
  input  logic [15:0]               ld_rows_i,
  input  logic [31:0]               ld_hcs_i,
  input  logic [31:0]               ld_hps_i,
  input  logic [31:0]               ld_hrs_i,
  input  logic [31:0]               ld_sps_i,
  input  logic [31:0]               ld_srs_i,
  input  logic [15:0]               ld_index_i,

  // DMA_STORE job.
  input  logic                      st_start_i,
  output logic                      st_busy_o,
  output logic                      st_done_o,
  input  logic [63:0]               st_host_i,
  input  logic [1:0]                st_sel_i,
  input  logic [31:0]               st_sram_i,
  input  logic [15:0]               st_chans_i,
  input  logic [15:0]               st_cols_i,
  input  logic [15:0]               st_rows_i,
  input  logic [31:0]               st_hcs_i,
  input  logic [31:0]               st_hps_i,
  input  logic [31:0]               st_hrs_i,
  input  logic [31:0]               st_sps_i,
  input  logic [31:0]               st_srs_i,
  input  logic [15:0]               st_index_i,

  // SRAM chunk ports.
  output logic                      lw_req_o,
  output logic [1:0]                lw_sel_o,
  output logic [CaW-1:0]            lw_addr_o,
  output logic [DmaBytes-1:0]       lw_be_o,
  output logic [DmaBytes*8-1:0]     lw_wdata_o,
  input  logic                      lw_gnt_i,
  output logic                      sr_req_o,
  output logic [1:0]                sr_sel_o,
  output logic [CaW-1:0]            sr_addr_o,
  input  logic                      sr_gnt_i,     // the read happens (else retried)
  input  logic [DmaBytes*8-1:0]     sr_rdata_i,   // one cycle after a granted read

  // Memory port.
  output logic                      ar_valid_o,
  input  logic                      ar_ready_i,
  output logic [63:0]               ar_addr_o,
  output logic [15:0]               ar_len_o,
  input  logic                      r_valid_i,
  output logic                      r_ready_o,
  input  logic [DmaBytes*8-1:0]     r_data_i,
  input  logic                      r_err_i,
  output logic                      aw_valid_o,
  input  logic                      aw_ready_i,
  output logic [63:0]               aw_addr_o,
  output logic [15:0]               aw_len_o,
  output logic                      w_valid_o,
  input  logic                      w_ready_i,
  output logic [DmaBytes*8-1:0]     w_data_o,
  output logic                      w_last_o,
  input  logic                      b_valid_i,
  input  logic                      b_err_i,

  // First error since soft reset (one-cycle pulse).
  output logic                      err_valid_o,
  output logic [7:0]                err_code_o,
  output logic [63:0]               err_addr_o,
  output logic [15:0]               err_index_o,

  // Activity.
  output logic [7:0]                rd_bytes_o,
  output logic [7:0]                wr_bytes_o,
  output logic                      stall_mem_o
);

  localparam int unsigned D        = DmaBytes;
  localparam int unsigned DBits    = $clog2(DmaBytes);
  localparam int unsigned MaxBurst = MaxBeats * DmaBytes;
  localparam int unsigned OBits    = $clog2(Outstanding);
  localparam int unsigned BeatBits = $clog2(MaxBeats) + 1;  // 0 .. MaxBeats

  function automatic logic [32:0] sram_bytes(input logic [1:0] sel);
    logic [32:0] r;
    unique case (sel)
      npu_regs_pkg::NPU_HW_SRAM_ACT[1:0]: r = 33'(ActBytes);
      npu_regs_pkg::NPU_HW_SRAM_WGT[1:0]: r = 33'(WgtBytes);
      npu_regs_pkg::NPU_HW_SRAM_ACC[1:0]: r = 33'(AccBytes);
      default:                            r = 33'(ParamBytes);
    endcase
    sram_bytes = r;
  endfunction

  // Beats of a burst of len bytes.
  function automatic logic [BeatBits-1:0] beats_of(input logic [15:0] len);
    beats_of = BeatBits'((len + 16'(D - 1)) >> DBits);
  endfunction

  // ---- sticky error ----------------------------------------------------------
  logic        err_q;           // an error was reported since soft reset
  logic        err_set;
  logic [7:0]  err_code;
  logic [63:0] err_addr;
  logic [15:0] err_index;

  // =========================================================================
  // Read side: AR issue (fetch or load burst)
  // =========================================================================
  logic        ld_box_valid;
  logic [63:0] ld_box_host;
  logic [31:0] ld_box_sram;
  logic [15:0] ld_box_len;
  logic        ld_box_take;

  npu_dma_box #(.MaxBurst(MaxBurst)) u_ld_box (
    .clk_i         (clk_i),
    .rst_ni        (rst_ni),
    .clear_i       (clear_i),
    .start_i       (ld_start_i),
    .cfg_host_i    (ld_host_i),
    .cfg_sram_i    (ld_sram_i),
    .cfg_chans_i   (ld_chans_i),
    .cfg_cols_i    (ld_cols_i),
    .cfg_rows_i    (ld_rows_i),
    .cfg_hcs_i     (ld_hcs_i),
    .cfg_hps_i     (ld_hps_i),
    .cfg_hrs_i     (ld_hrs_i),
    .cfg_sps_i     (ld_sps_i),
    .cfg_srs_i     (ld_srs_i),
    .burst_valid_o (ld_box_valid),
    .burst_host_o  (ld_box_host),
    .burst_sram_o  (ld_box_sram),
    .burst_len_o   (ld_box_len),
    .burst_take_i  (ld_box_take)
  );

  // Outstanding read bursts, in request order.
  logic             rq_fetch_q [Outstanding];
  logic             rq_dead_q  [Outstanding];
  logic [1:0]       rq_sel_q   [Outstanding];
  logic [31:0]      rq_sram_q  [Outstanding];
  logic [15:0]      rq_len_q   [Outstanding];
  logic [63:0]      rq_host_q  [Outstanding];
  logic [15:0]      rq_index_q [Outstanding];
  logic [OBits-1:0] rq_wr_q, rq_rd_q;
  logic [OBits:0]   rq_cnt_q;
  logic             rq_push, rq_pop;

  logic        ar_valid_q;
  logic [63:0] ar_addr_q;
  logic [15:0] ar_len_q;

  // Candidate burst: a fetch has priority over a load.
  logic        rc_valid, rc_fetch;
  logic [63:0] rc_host;
  logic [15:0] rc_len;
  logic        rc_win_ok, rc_range_ok, ar_free;
  logic [NumWindows-1:0] rc_hit;

  assign rc_fetch = fetch_req_i;
  assign rc_valid = fetch_req_i | ld_box_valid;
  assign rc_host  = rc_fetch ? fetch_addr_i : ld_box_host;
  assign rc_len   = rc_fetch ? 16'd64 : ld_box_len;
  assign rc_range_ok = rc_fetch ||
                       ({1'b0, ld_box_sram} + 33'(ld_box_len) <= sram_bytes(ld_sel_i));

  npu_dma_window #(.NumWindows(NumWindows), .LenBits(16)) u_rd_win (
    .win_base_i (win_base_i),
    .win_size_i (win_size_i),
    .win_rd_i   (win_rd_i),
    .win_wr_i   (win_wr_i),
    .addr_i     (rc_host),
    .len_i      (rc_len),
    .write_i    (1'b0),
    .ok_o       (rc_win_ok),
    .hit_o      (rc_hit)
  );

  logic unused_hits;
  assign unused_hits = ^rc_hit;

  assign ar_free = !ar_valid_q || ar_ready_i;

  logic rd_issue, rd_fault;
  assign rd_issue = rc_valid && ar_free && !halt_i && !err_q && !clear_i &&
                    (rq_cnt_q != (OBits+1)'(Outstanding)) && rc_win_ok && rc_range_ok;
  assign rd_fault = rc_valid && !halt_i && !err_q && !clear_i && !(rc_win_ok && rc_range_ok);

  assign fetch_gnt_o = rd_issue && rc_fetch;
  assign ld_box_take = rd_issue && !rc_fetch;
  assign rq_push     = rd_issue;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ar_valid_q <= 1'b0;
      ar_addr_q  <= '0;
      ar_len_q   <= '0;
    end else if (rd_issue) begin
      ar_valid_q <= 1'b1;
      ar_addr_q  <= rc_host;
      ar_len_q   <= rc_len;
    end else if (ar_ready_i) begin
      ar_valid_q <= 1'b0;
    end
  end

  assign ar_valid_o = ar_valid_q;
  assign ar_addr_o  = ar_addr_q;
  assign ar_len_o   = ar_len_q;

  // =========================================================================
  // Read side: responses
  // =========================================================================
  logic [OBits-1:0]    h;           // head entry
  logic                h_valid, h_fetch, h_dead;
  logic [15:0]         h_len;
  logic [31:0]         h_sram;
  logic [DBits-1:0]    h_off;
  logic [BeatBits-1:0] h_beats;
  logic                h_needs_flush;
  logic [BeatBits-1:0] beat_q;
  logic                flush_q;
  logic [D*8-1:0]      rot_prev_q, rot_cur;
  logic                beat_last, beat_fire;
  logic [15:0]         beat_bytes;

  assign h        = rq_rd_q;
  assign h_valid  = (rq_cnt_q != '0);
  assign h_fetch  = rq_fetch_q[h];
  assign h_dead   = rq_dead_q[h];
  assign h_len    = rq_len_q[h];
  assign h_sram   = rq_sram_q[h];
  assign h_off    = h_sram[DBits-1:0];
  assign h_beats  = beats_of(h_len);
  // The burst ends inside a chunk after its last beat's chunk.
  assign h_needs_flush = (32'(h_off) + 32'(h_len)) > (32'(h_beats) << DBits);
  assign beat_last = (beat_q == h_beats - BeatBits'(1));

  // Rotate the beat to the SRAM byte offset.
  always_comb begin
    for (int unsigned j = 0; j < D; j++) begin
      rot_cur[j*8 +: 8] = r_data_i[((j - 32'(h_off)) & (D - 1))*8 +: 8];
    end
  end

  // Chunk write of the current beat (or of the flush).
  logic [D-1:0]   lw_be;
  logic [D*8-1:0] lw_wdata;
  logic [BeatBits-1:0] lw_k;
  logic signed [19:0]  lw_idx [D];
  assign lw_k = flush_q ? h_beats : beat_q;
  always_comb begin
    for (int unsigned j = 0; j < D; j++) begin
      // Stream index of chunk byte j: k*D + j - off, valid in [0, len).
      lw_idx[j] = $signed({2'b00, 18'(lw_k) << DBits}) + $signed(20'(j)) -
                  $signed({12'd0, 8'(h_off)});
      lw_be[j] = (lw_idx[j] >= 0) && (lw_idx[j] < $signed({4'd0, h_len}));
      lw_wdata[j*8 +: 8] = (!flush_q && (j >= 32'(h_off))) ? rot_cur[j*8 +: 8] :
                                                             rot_prev_q[j*8 +: 8];
    end
  end

  logic ld_live_beat;
  assign ld_live_beat = h_valid && !h_fetch && !h_dead;
  assign lw_req_o   = ld_live_beat && (flush_q || (r_valid_i && !r_err_i && !err_q));
  assign lw_sel_o   = rq_sel_q[h];
  assign lw_addr_o  = CaW'(h_sram >> DBits) + CaW'(lw_k);
  assign lw_be_o    = lw_be;
  assign lw_wdata_o = lw_wdata;

  // A load beat waits for its SRAM write; fetch and dropped beats do not.
  assign r_ready_o = h_valid && !flush_q && (h_fetch || h_dead || r_err_i || err_q || lw_gnt_i);
  assign beat_fire = r_valid_i && r_ready_o;

  assign fetch_rvalid_o = beat_fire && h_fetch && !h_dead;
  assign fetch_rdata_o  = r_data_i;
  assign fetch_rerr_o   = r_err_i;

  logic flush_done;
  assign flush_done = flush_q && (h_dead || err_q || lw_gnt_i);
  assign rq_pop = (beat_fire && beat_last && !(ld_live_beat && h_needs_flush && !err_q)) ||
                  flush_done;

  assign beat_bytes = ((h_len - (16'(beat_q) << DBits)) < 16'(D)) ?
                      (h_len - (16'(beat_q) << DBits)) : 16'(D);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      beat_q     <= '0;
      flush_q    <= 1'b0;
      rot_prev_q <= '0;
    end else begin
      if (beat_fire) begin
        rot_prev_q <= rot_cur;
        if (beat_last) begin
          beat_q  <= '0;
          flush_q <= ld_live_beat && h_needs_flush && !err_q;
        end else begin
          beat_q <= beat_q + BeatBits'(1);
        end
      end else if (flush_done) begin
        flush_q <= 1'b0;
      end
    end
  end

  // Read-burst FIFO. Soft reset marks every entry dead (its data dropped).
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rq_wr_q  <= '0;
      rq_rd_q  <= '0;
      rq_cnt_q <= '0;
      for (int unsigned i = 0; i < Outstanding; i++) begin
        rq_dead_q[i] <= 1'b0;
      end
    end else begin
      if (clear_i) begin
        for (int unsigned i = 0; i < Outstanding; i++) begin
          rq_dead_q[i] <= 1'b1;
        end
      end
      if (rq_push) begin
        rq_wr_q <= rq_wr_q + OBits'(1);
        rq_dead_q[rq_wr_q] <= 1'b0;
      end
      if (rq_pop) begin
        rq_rd_q <= rq_rd_q + OBits'(1);
      end
      rq_cnt_q <= rq_cnt_q + (OBits+1)'(rq_push) - (OBits+1)'(rq_pop);
    end
  end

  always_ff @(posedge clk_i) begin
    if (rq_push) begin
      rq_fetch_q[rq_wr_q] <= rc_fetch;
      rq_sel_q[rq_wr_q]   <= ld_sel_i;
      rq_sram_q[rq_wr_q]  <= ld_box_sram;
      rq_len_q[rq_wr_q]   <= rc_len;
      rq_host_q[rq_wr_q]  <= rc_host;
      rq_index_q[rq_wr_q] <= rc_fetch ? fetch_index_i : ld_index_i;
    end
  end

  // Load job: done when the walk is over and its last burst has landed.
  logic           ld_job_q;
  logic [OBits:0] ld_out_q;
  logic           ld_pop_live;
  assign ld_pop_live = rq_pop && !h_fetch && !h_dead;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ld_job_q <= 1'b0;
      ld_out_q <= '0;
    end else if (clear_i) begin
      ld_job_q <= 1'b0;
      ld_out_q <= '0;
    end else begin
      if (ld_start_i) begin
        ld_job_q <= 1'b1;
      end else if (ld_done_o) begin
        ld_job_q <= 1'b0;
      end
      ld_out_q <= ld_out_q + (OBits+1)'(ld_box_take) - (OBits+1)'(ld_pop_live);
    end
  end

  assign ld_done_o = ld_job_q && !ld_box_valid && (ld_out_q == '0) && !err_q;
  assign ld_busy_o = ld_job_q;

  // =========================================================================
  // Write side: gather a burst from SRAM, then AW + W
  // =========================================================================
  logic        st_box_valid;
  logic [63:0] st_box_host;
  logic [31:0] st_box_sram;
  logic [15:0] st_box_len;
  logic        st_box_take;

  npu_dma_box #(.MaxBurst(MaxBurst)) u_st_box (
    .clk_i         (clk_i),
    .rst_ni        (rst_ni),
    .clear_i       (clear_i),
    .start_i       (st_start_i),
    .cfg_host_i    (st_host_i),
    .cfg_sram_i    (st_sram_i),
    .cfg_chans_i   (st_chans_i),
    .cfg_cols_i    (st_cols_i),
    .cfg_rows_i    (st_rows_i),
    .cfg_hcs_i     (st_hcs_i),
    .cfg_hps_i     (st_hps_i),
    .cfg_hrs_i     (st_hrs_i),
    .cfg_sps_i     (st_sps_i),
    .cfg_srs_i     (st_srs_i),
    .burst_valid_o (st_box_valid),
    .burst_host_o  (st_box_host),
    .burst_sram_o  (st_box_sram),
    .burst_len_o   (st_box_len),
    .burst_take_i  (st_box_take)
  );

  logic        wc_win_ok, wc_range_ok;
  logic [NumWindows-1:0] wc_hit;
  npu_dma_window #(.NumWindows(NumWindows), .LenBits(16)) u_wr_win (
    .win_base_i (win_base_i),
    .win_size_i (win_size_i),
    .win_rd_i   (win_rd_i),
    .win_wr_i   (win_wr_i),
    .addr_i     (st_box_host),
    .len_i      (st_box_len),
    .write_i    (1'b1),
    .ok_o       (wc_win_ok),
    .hit_o      (wc_hit)
  );
  logic unused_whits;
  assign unused_whits = ^wc_hit;
  assign wc_range_ok = ({1'b0, st_box_sram} + 33'(st_box_len) <= sram_bytes(st_sel_i));

  // Gather (cleared by soft reset).
  logic                gat_q;          // gathering a burst
  logic [63:0]         gat_host_q;
  logic [15:0]         gat_len_q;
  logic [CaW-1:0]      gat_chunk_q;    // next chunk to read
  logic [DBits-1:0]    gat_off_q;
  logic [BeatBits-1:0] gat_rd_q;       // chunks requested
  logic [BeatBits-1:0] gat_beats_q;
  logic                gat_rv_q;       // a chunk read is returning
  logic [BeatBits-1:0] gat_ri_q;       // ... its index
  logic [D*8-1:0]      gat_prev_q;     // previous chunk
  // Two burst buffers, {bank, beat}: a burst gathers into the bank the
  // sender did not use last.
  logic [D*8-1:0]      wbuf_q [2*MaxBeats];
  logic                gat_bank_q;

  // Gathered, waiting for the sender (cleared by soft reset: no AW yet).
  logic                pnd_q;
  logic                pnd_bank_q;
  logic [63:0]         pnd_host_q;
  logic [15:0]         pnd_len_q;
  logic [BeatBits-1:0] pnd_beats_q;
  logic [15:0]         pnd_index_q;

  // Send (kept across soft reset: the burst's data is buffered).
  logic                snd_q, snd_aw_q, snd_live_q;
  logic                snd_bank_q;
  logic [63:0]         snd_host_q;
  logic [15:0]         snd_len_q;
  logic [BeatBits-1:0] snd_beat_q, snd_beats_q;
  logic [15:0]         snd_index_q;

  // Outstanding write bursts (their responses).
  logic [63:0]      bq_host_q  [Outstanding];
  logic [15:0]      bq_index_q [Outstanding];
  logic             bq_dead_q  [Outstanding];
  logic [OBits-1:0] bq_wr_q, bq_rd_q;
  logic [OBits:0]   bq_cnt_q;
  logic             bq_push;

  // A burst may gather while the one before it sends (two buffers), not
  // while a gathered one still waits. A fault is taken only with nothing
  // gathered or pending, so the bursts before it complete in order first.
  logic st_issue, st_fault, gat_done;
  // Two bursts (the one sending, before its AW, and this one) may be past
  // this check and not yet in the response FIFO: leave room for both.
  assign st_issue = st_box_valid && !gat_q && !pnd_q && !halt_i && !err_q && !clear_i &&
                    (bq_cnt_q < (OBits+1)'(Outstanding - 1)) && wc_win_ok && wc_range_ok;
  assign st_fault = st_box_valid && !gat_q && !pnd_q && !snd_q && !halt_i && !err_q &&
                    !clear_i && !(wc_win_ok && wc_range_ok);
  assign st_box_take = st_issue;
  assign gat_done = gat_rv_q && (gat_ri_q == gat_beats_q);

  assign sr_req_o  = gat_q && (gat_rd_q <= gat_beats_q) && !clear_i;
  assign sr_sel_o  = st_sel_i;
  assign sr_addr_o = gat_chunk_q;

  // {chunk i, chunk i-1} >> off bytes = beat i-1.
  logic [2*D*8-1:0] gat_pair;
  logic [D*8-1:0]   gat_beat;
  assign gat_pair = {sr_rdata_i, gat_prev_q};
  always_comb begin
    for (int unsigned j = 0; j < D; j++) begin
      gat_beat[j*8 +: 8] = gat_pair[(j + 32'(gat_off_q))*8 +: 8];
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      gat_q       <= 1'b0;
      gat_host_q  <= '0;
      gat_len_q   <= '0;
      gat_chunk_q <= '0;
      gat_off_q   <= '0;
      gat_rd_q    <= '0;
      gat_beats_q <= '0;
      gat_rv_q    <= 1'b0;
      gat_ri_q    <= '0;
      gat_bank_q  <= 1'b0;
    end else if (clear_i) begin
      gat_q    <= 1'b0;
      gat_rv_q <= 1'b0;
    end else begin
      gat_rv_q <= sr_req_o && sr_gnt_i;
      gat_ri_q <= gat_rd_q;
      if (st_issue) begin
        gat_q       <= 1'b1;
        gat_bank_q  <= !snd_bank_q;
        gat_host_q  <= st_box_host;
        gat_len_q   <= st_box_len;
        gat_chunk_q <= CaW'(st_box_sram >> DBits);
        gat_off_q   <= st_box_sram[DBits-1:0];
        gat_rd_q    <= '0;
        gat_beats_q <= beats_of(st_box_len);
      end else if (sr_req_o && sr_gnt_i) begin
        gat_rd_q    <= gat_rd_q + BeatBits'(1);
        gat_chunk_q <= gat_chunk_q + CaW'(1);
      end
      if (gat_done) begin
        gat_q <= 1'b0;
      end
    end
  end

  logic [BeatBits-1:0] gat_wi;
  assign gat_wi = gat_ri_q - BeatBits'(1);

  always_ff @(posedge clk_i) begin
    if (gat_rv_q) begin
      gat_prev_q <= sr_rdata_i;
      if (gat_ri_q != '0) begin
        wbuf_q[{gat_bank_q, gat_wi[BeatBits-2:0]}] <= gat_beat;
      end
    end
  end

  logic aw_fire, w_fire, w_last;
  assign aw_fire = aw_valid_o && aw_ready_i;
  assign w_fire  = w_valid_o && w_ready_i;
  assign w_last  = (snd_beat_q == snd_beats_q - BeatBits'(1));
  assign bq_push = aw_fire;

  // The sender takes the pending burst, else one finishing its gather,
  // when it is idle or sending its last beat.
  logic snd_free, snd_take, snd_from_gat;
  assign snd_free     = !snd_q || (w_fire && w_last);
  assign snd_take     = (pnd_q || gat_done) && snd_free && !clear_i;
  assign snd_from_gat = !pnd_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pnd_q <= 1'b0;
    end else if (clear_i) begin
      pnd_q <= 1'b0;
    end else if (gat_done && !(snd_take && snd_from_gat)) begin
      pnd_q <= 1'b1;  // st_issue waits for !pnd_q: never both at once
    end else if (snd_take) begin
      pnd_q <= 1'b0;
    end
  end

  always_ff @(posedge clk_i) begin
    if (gat_done) begin
      pnd_bank_q  <= gat_bank_q;
      pnd_host_q  <= gat_host_q;
      pnd_len_q   <= gat_len_q;
      pnd_beats_q <= gat_beats_q;
      pnd_index_q <= st_index_i;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      snd_q       <= 1'b0;
      snd_aw_q    <= 1'b0;
      snd_live_q  <= 1'b0;
      snd_bank_q  <= 1'b1;
      snd_host_q  <= '0;
      snd_len_q   <= '0;
      snd_beat_q  <= '0;
      snd_beats_q <= '0;
      snd_index_q <= '0;
    end else begin
      if (snd_take) begin
        snd_q       <= 1'b1;
        snd_aw_q    <= 1'b0;
        snd_live_q  <= 1'b1;
        snd_bank_q  <= snd_from_gat ? gat_bank_q : pnd_bank_q;
        snd_host_q  <= snd_from_gat ? gat_host_q : pnd_host_q;
        snd_len_q   <= snd_from_gat ? gat_len_q : pnd_len_q;
        snd_beat_q  <= '0;
        snd_beats_q <= snd_from_gat ? gat_beats_q : pnd_beats_q;
        snd_index_q <= snd_from_gat ? st_index_i : pnd_index_q;
      end else begin
        if (clear_i) begin
          snd_live_q <= 1'b0;  // finish the burst (valid stays until ready)
        end
        if (aw_fire) begin
          snd_aw_q <= 1'b1;
        end
        if (w_fire) begin
          snd_beat_q <= snd_beat_q + BeatBits'(1);
          if (w_last) begin
            snd_q <= 1'b0;
          end
        end
      end
    end
  end

  // AW goes first; W beats follow (the memory model accepts W only after AW).
  assign aw_valid_o = snd_q && !snd_aw_q;
  assign aw_addr_o  = snd_host_q;
  assign aw_len_o   = snd_len_q;
  assign w_valid_o  = snd_q && snd_aw_q;
  assign w_data_o   = wbuf_q[{snd_bank_q, snd_beat_q[BeatBits-2:0]}];
  assign w_last_o   = w_last;

  // Write-response FIFO.
  logic b_dead;
  assign b_dead = bq_dead_q[bq_rd_q];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      bq_wr_q  <= '0;
      bq_rd_q  <= '0;
      bq_cnt_q <= '0;
      for (int unsigned i = 0; i < Outstanding; i++) begin
        bq_dead_q[i] <= 1'b0;
      end
    end else begin
      if (clear_i) begin
        for (int unsigned i = 0; i < Outstanding; i++) begin
          bq_dead_q[i] <= 1'b1;
        end
      end
      if (bq_push) begin
        bq_wr_q <= bq_wr_q + OBits'(1);
        bq_dead_q[bq_wr_q] <= !snd_live_q || clear_i;
      end
      if (b_valid_i) begin
        bq_rd_q <= bq_rd_q + OBits'(1);
      end
      bq_cnt_q <= bq_cnt_q + (OBits+1)'(bq_push) - (OBits+1)'(b_valid_i);
    end
  end

  always_ff @(posedge clk_i) begin
    if (bq_push) begin
      bq_host_q[bq_wr_q]  <= snd_host_q;
      bq_index_q[bq_wr_q] <= snd_index_q;
    end
  end

  // Store job: done when the walk is over and every burst is acknowledged.
  logic           st_job_q;
  logic [OBits:0] st_out_q;   // live bursts gathered but not acknowledged
  logic           st_b_live;
  assign st_b_live = b_valid_i && !b_dead;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      st_job_q <= 1'b0;
      st_out_q <= '0;
    end else if (clear_i) begin
      st_job_q <= 1'b0;
      st_out_q <= '0;
    end else begin
      if (st_start_i) begin
        st_job_q <= 1'b1;
      end else if (st_done_o) begin
        st_job_q <= 1'b0;
      end
      st_out_q <= st_out_q + (OBits+1)'(st_issue) - (OBits+1)'(st_b_live);
    end
  end

  assign st_done_o = st_job_q && !st_box_valid && !gat_q && !pnd_q && !snd_q &&
                     (st_out_q == '0) && !err_q;
  assign st_busy_o = st_job_q;

  // =========================================================================
  // Errors and activity
  // =========================================================================
  always_comb begin
    err_set   = 1'b0;
    err_code  = npu_regs_pkg::NPU_HW_ERR_NONE;
    err_addr  = '0;
    err_index = '0;
    if (beat_fire && r_err_i && !h_dead) begin
      err_set   = 1'b1;
      err_code  = npu_regs_pkg::NPU_HW_ERR_DMA_BUS;
      err_addr  = rq_host_q[h];
      err_index = rq_index_q[h];
    end else if (b_valid_i && b_err_i && !b_dead) begin
      err_set   = 1'b1;
      err_code  = npu_regs_pkg::NPU_HW_ERR_DMA_BUS;
      err_addr  = bq_host_q[bq_rd_q];
      err_index = bq_index_q[bq_rd_q];
    end else if (rd_fault) begin
      err_set   = 1'b1;
      err_code  = rc_win_ok ? npu_regs_pkg::NPU_HW_ERR_SRAM_RANGE :
                              npu_regs_pkg::NPU_HW_ERR_DMA_WINDOW;
      err_addr  = rc_win_ok ? {32'd0, ld_box_sram} : rc_host;
      err_index = rc_fetch ? fetch_index_i : ld_index_i;
    end else if (st_fault) begin
      err_set   = 1'b1;
      err_code  = wc_win_ok ? npu_regs_pkg::NPU_HW_ERR_SRAM_RANGE :
                              npu_regs_pkg::NPU_HW_ERR_DMA_WINDOW;
      err_addr  = wc_win_ok ? {32'd0, st_box_sram} : st_box_host;
      err_index = st_index_i;
    end
    if (err_q || clear_i) begin
      err_set = 1'b0;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      err_q <= 1'b0;
    end else if (clear_i) begin
      err_q <= 1'b0;
    end else if (err_set) begin
      err_q <= 1'b1;
    end
  end

  assign err_valid_o = err_set;
  assign err_code_o  = err_code;
  assign err_addr_o  = err_addr;
  assign err_index_o = err_index;

  assign rd_bytes_o  = (beat_fire && !h_dead) ? beat_bytes[7:0] : 8'd0;
  logic [15:0] w_bytes;
  assign w_bytes     = ((snd_len_q - (16'(snd_beat_q) << DBits)) < 16'(D)) ?
                       (snd_len_q - (16'(snd_beat_q) << DBits)) : 16'(D);
  assign wr_bytes_o  = w_fire ? w_bytes[7:0] : 8'd0;
  assign stall_mem_o = (ld_job_q && ld_out_q != '0 && !beat_fire) ||
                       (snd_q && !aw_fire && !w_fire);

  logic unused_bits;
  assign unused_bits = ^{beat_bytes[15:8], w_bytes[15:8], gat_wi[BeatBits-1]};

endmodule
