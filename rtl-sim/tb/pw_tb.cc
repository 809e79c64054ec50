// Unit test of rtl-sim/rtl/npu_pw.sv against npu_ref_s8_conv2d_acc32
// (lib/ref) with groups == 1: random input/output channel counts (not
// multiples of the array shape), odd spatial sizes, 1x1, 3x3, 5x5 (plus
// 2x2, 7x7, non-square), stride 1 and 2, every padding below the kernel
// size, any input zero point, FC-shaped cases (1x1 input, long K), random
// SRAM bases and strides. SRAMs are modelled with one cycle of read
// latency and noise on cycles without a request and in channel padding;
// the whole ACC SRAM is compared. Built twice: 16x16 (default) and 4x4
// (-DTB_ROWS=4 -DTB_COLS=4 with -GRows=4 -GCols=4).
// Exit status 1 on any mismatch; the last line is "pw: N passed, N failed".
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "Vnpu_pw.h"
#include "ref/ref.h"
#include "tb_util.h"
#include "tests/common/test_env.h"
#include "verilated.h"

#ifndef TB_ROWS
#define TB_ROWS 16
#endif
#ifndef TB_COLS
#define TB_COLS 16
#endif

namespace
{

constexpr int kRows = TB_ROWS;
constexpr int kCols = TB_COLS;
constexpr int kWords = 8192; // modelled depth of every SRAM view
constexpr uint32_t kPoison = 0xDEADBEEFu;

// Access 32-bit word j of a port, narrow (IData) or wide (VlWide).
inline void put(uint32_t &p, int, uint32_t v)
{
	p = v;
}
template <std::size_t N> inline void put(VlWide<N> &p, int j, uint32_t v)
{
	p[j] = v;
}
inline uint32_t get(uint32_t p, int)
{
	return p;
}
template <std::size_t N> inline uint32_t get(const VlWide<N> &p, int j)
{
	return p[j];
}

// An SRAM of kWords words of B int8 lanes.
template <int B> struct Mem8 {
	std::vector<int8_t> b = std::vector<int8_t>(static_cast<size_t>(kWords) * B);
	int8_t &at(int word, int lane)
	{
		return b[static_cast<size_t>(word) * B + lane];
	}
	uint32_t word32(int word, int j)
	{
		uint32_t v = 0;
		for (int k = 0; k < 4; ++k)
			v |= static_cast<uint32_t>(static_cast<uint8_t>(at(word, 4 * j + k)))
			     << (8 * k);
		return v;
	}
	void noise(TbRng &rng, int words)
	{
		for (size_t i = 0; i < static_cast<size_t>(words) * B; ++i)
			b[i] = static_cast<int8_t>(rng.u32());
	}
};

struct Mem32 {
	std::vector<uint32_t> w = std::vector<uint32_t>(static_cast<size_t>(kWords) * kRows);
	uint32_t &at(int word, int lane)
	{
		return w[static_cast<size_t>(word) * kRows + lane];
	}
};

struct Case {
	int h, w, ic, oc, kh, kw, sh, sw, pt, pl, oh, ow, zp;
	int in_base, in_pix, in_row, w_base, bias_base, out_base, out_pix, out_row;
};

using ActMem = Mem8<kCols>;
using WgtMem = Mem8<kRows * kCols>;

class PwTb
{
      public:
	PwTb() : ctx_(new VerilatedContext), top_(new Vnpu_pw(ctx_.get()))
	{
		top_->clk_i = 0;
		top_->rst_ni = 0;
		top_->start_i = 0;
		top_->eval();
		edge();
		top_->rst_ni = 1;
		top_->eval();
	}
	~PwTb()
	{
		top_->final();
	}

	// Runs one case; returns cycles, -1 on a hang, -2 on an access outside
	// the modelled SRAM.
	long run(const Case &k, ActMem &act, WgtMem &wgt, Mem32 &bias, Mem32 &acc, TbRng &rng)
	{
		Vnpu_pw &t = *top_;
		t.cfg_in_base_i = k.in_base;
		t.cfg_w_base_i = k.w_base;
		t.cfg_bias_base_i = k.bias_base;
		t.cfg_out_base_i = k.out_base;
		t.cfg_in_h_i = k.h;
		t.cfg_in_w_i = k.w;
		t.cfg_in_c_i = k.ic;
		t.cfg_out_c_i = k.oc;
		t.cfg_out_h_i = k.oh;
		t.cfg_out_w_i = k.ow;
		t.cfg_kh_i = k.kh;
		t.cfg_kw_i = k.kw;
		t.cfg_stride_h_i = k.sh;
		t.cfg_stride_w_i = k.sw;
		t.cfg_pad_t_i = k.pt;
		t.cfg_pad_l_i = k.pl;
		t.cfg_in_zp_i = static_cast<uint32_t>(k.zp) & 0xFF;
		t.cfg_in_row_stride_i = k.in_row;
		t.cfg_in_pix_stride_i = k.in_pix;
		t.cfg_out_row_stride_i = k.out_row;
		t.cfg_out_pix_stride_i = k.out_pix;
		t.start_i = 1;
		long icgs = (k.ic + kCols - 1) / kCols, ocgs = (k.oc + kRows - 1) / kRows;
		long limit = 4L * k.oh * k.ow * k.kh * k.kw * icgs * ocgs + 1000;
		for (long cyc = 0; cyc < limit; ++cyc) {
			t.eval();
			if (t.done_o) {
				t.start_i = 0;
				edge();
				return cyc;
			}
			bool act_req = t.act_req_o, wgt_req = t.wgt_req_o, bias_req = t.bias_req_o;
			int act_addr = t.act_addr_o, wgt_addr = t.wgt_addr_o,
			    bias_addr = t.bias_addr_o;
			if ((act_req && act_addr >= kWords) || (wgt_req && wgt_addr >= kWords) ||
			    (bias_req && bias_addr >= kWords) ||
			    (t.acc_we_o && t.acc_addr_o >= kWords))
				return -2;
			if (t.acc_we_o) {
				for (int r = 0; r < kRows; ++r)
					if ((static_cast<uint64_t>(t.acc_wmask_o) >> r) & 1)
						acc.at(t.acc_addr_o, r) = get(t.acc_wdata_o, r);
			}
			edge();
			t.start_i = 0;
			// Synchronous SRAM: data for last cycle's request, else noise.
			for (int j = 0; j < kCols / 4; ++j)
				put(t.act_rdata_i, j,
				    act_req ? act.word32(act_addr, j) : rng.u32());
			for (int j = 0; j < kRows * kCols / 4; ++j)
				put(t.wgt_rdata_i, j,
				    wgt_req ? wgt.word32(wgt_addr, j) : rng.u32());
			for (int r = 0; r < kRows; ++r)
				put(t.bias_rdata_i, r,
				    bias_req ? bias.at(bias_addr, r) : rng.u32());
		}
		return -1;
	}

      private:
	void edge()
	{
		top_->clk_i = 1;
		top_->eval();
		top_->clk_i = 0;
		top_->eval();
	}
	std::unique_ptr<VerilatedContext> ctx_;
	std::unique_ptr<Vnpu_pw> top_;
};

Case random_case(TbRng &rng)
{
	static const int ks[] = {1, 1, 1, 3, 3, 5, 2, 7};
	Case k;
	const bool fc = rng.range(0, 9) == 0;
	for (;;) {
		k.kh = fc ? 1 : ks[rng.range(0, 7)];
		k.kw = fc ? 1 : (rng.range(0, 3) == 0 ? ks[rng.range(0, 7)] : k.kh);
		k.sh = static_cast<int>(rng.range(1, 2));
		k.sw = rng.range(0, 3) == 0 ? static_cast<int>(rng.range(1, 2)) : k.sh;
		k.h = fc ? 1 : static_cast<int>(rng.range(1, 11));
		k.w = fc ? 1 : static_cast<int>(rng.range(1, 11));
		k.ic = static_cast<int>(fc ? rng.range(1, 24 * kCols)
		                           : rng.range(1, 3 * kCols + 3));
		k.oc = static_cast<int>(rng.range(1, 3 * kRows + 3));
		k.pt = fc ? 0 : static_cast<int>(rng.range(0, k.kh - 1));
		k.pl = fc ? 0 : static_cast<int>(rng.range(0, k.kw - 1));
		int pb = fc ? 0 : static_cast<int>(rng.range(0, k.kh - 1));
		int pr = fc ? 0 : static_cast<int>(rng.range(0, k.kw - 1));
		int eh = k.h + k.pt + pb - k.kh, ew = k.w + k.pl + pr - k.kw;
		if (eh < 0 || ew < 0)
			continue;
		k.oh = eh / k.sh + 1;
		k.ow = ew / k.sw + 1;
		break;
	}
	k.zp = static_cast<int>(rng.range(-128, 127));
	int icgs = (k.ic + kCols - 1) / kCols, ocgs = (k.oc + kRows - 1) / kRows;
	k.in_base = static_cast<int>(rng.range(0, 64));
	k.in_pix = icgs + static_cast<int>(rng.range(0, 2));
	k.in_row = k.w * k.in_pix + static_cast<int>(rng.range(0, 3));
	k.w_base = static_cast<int>(rng.range(0, 64));
	k.bias_base = static_cast<int>(rng.range(0, 64));
	k.out_base = static_cast<int>(rng.range(0, 64));
	k.out_pix = ocgs + static_cast<int>(rng.range(0, 2));
	k.out_row = k.ow * k.out_pix + static_cast<int>(rng.range(0, 3));
	return k;
}

} // namespace

int main(int argc, char **argv)
{
	Verilated::commandArgs(argc, argv);
	int n_cases = 150;
	uint64_t seed = 5;
	seed = static_cast<uint64_t>(
	        npu_test_env_int("NPU_TB_SEED", static_cast<long long>(seed), 0, LLONG_MAX));
	n_cases = static_cast<int>(npu_test_env_int("NPU_TB_CASES", n_cases, 1, 10000000));
	TbRng rng(seed);
	TbTally tally;
	PwTb tb;
	auto act = std::make_unique<ActMem>();
	auto wgt = std::make_unique<WgtMem>();
	auto bias = std::make_unique<Mem32>();
	auto acc = std::make_unique<Mem32>();
	long total_cycles = 0, total_macs = 0;

	for (int n = 0; n < n_cases; ++n) {
		Case k = random_case(rng);
		const int icgs = (k.ic + kCols - 1) / kCols, ocgs = (k.oc + kRows - 1) / kRows;
		const int kk = k.kh * k.kw;
		std::vector<int8_t> in(static_cast<size_t>(k.h) * k.w * k.ic);
		std::vector<int8_t> w(static_cast<size_t>(k.oc) * kk * k.ic);
		std::vector<int32_t> b(k.oc);
		std::vector<int32_t> out(static_cast<size_t>(k.oh) * k.ow * k.oc);
		// One case in 8 uses only the extreme values, with the zero point at
		// an end too: |x - zp| = 255 times w = -128 is the largest product
		// the two-MACs-per-multiplier packing must keep exact.
		const bool extreme = rng.range(0, 7) == 0;
		if (extreme)
			k.zp = rng.range(0, 1) ? -128 : 127;
		for (auto &v : in)
			v = static_cast<int8_t>(extreme ? (rng.range(0, 1) ? -128 : 127)
			                                : rng.u32());
		for (auto &v : w)
			v = static_cast<int8_t>(extreme ? (rng.range(0, 1) ? -128 : 127)
			                                : rng.u32());
		for (auto &v : b)
			v = static_cast<int32_t>(rng.range(-(1 << 20), 1 << 20));
		// SRAM images: noise over the used range, then the tensors.
		const int act_words = k.in_base + k.h * k.in_row + 8;
		const int wgt_words = k.w_base + ocgs * kk * icgs + 8;
		const int out_words = k.out_base + k.oh * k.out_row + 8;
		if (act_words > kWords || wgt_words > kWords || out_words > kWords) {
			--n;
			continue;
		}
		act->noise(rng, act_words);
		wgt->noise(rng, wgt_words);
		for (auto &v : bias->w)
			v = rng.u32();
		std::fill(acc->w.begin(), acc->w.end(), kPoison);
		for (int y = 0; y < k.h; ++y)
			for (int x = 0; x < k.w; ++x)
				for (int c = 0; c < k.ic; ++c)
					act->at(k.in_base + y * k.in_row + x * k.in_pix + c / kCols,
					        c % kCols) =
					        in[(static_cast<size_t>(y) * k.w + x) * k.ic + c];
		for (int o = 0; o < k.oc; ++o) {
			for (int t = 0; t < kk; ++t)
				for (int c = 0; c < k.ic; ++c)
					wgt->at(k.w_base + ((o / kRows) * kk + t) * icgs +
					                c / kCols,
					        (o % kRows) * kCols + c % kCols) =
					        w[(static_cast<size_t>(o) * kk + t) * k.ic + c];
			bias->at(k.bias_base + o / kRows, o % kRows) = static_cast<uint32_t>(b[o]);
		}

		npu_ref_conv_params p = {};
		p.in_h = k.h;
		p.in_w = k.w;
		p.in_c = k.ic;
		p.out_h = k.oh;
		p.out_w = k.ow;
		p.out_c = k.oc;
		p.kh = k.kh;
		p.kw = k.kw;
		p.stride_h = k.sh;
		p.stride_w = k.sw;
		p.pad_t = k.pt;
		p.pad_l = k.pl;
		p.groups = 1;
		p.in_zp = k.zp;
		npu_ref_s8_conv2d_acc32(&p, in.data(), w.data(), b.data(), out.data());

		long cyc = tb.run(k, *act, *wgt, *bias, *acc, rng);
		char what[300];
		std::snprintf(what, sizeof what,
		              "case %d: h=%d w=%d ic=%d oc=%d k=%dx%d s=%d,%d pad=%d,%d out=%dx%d "
		              "zp=%d",
		              n, k.h, k.w, k.ic, k.oc, k.kh, k.kw, k.sh, k.sw, k.pt, k.pl, k.oh,
		              k.ow, k.zp);
		if (cyc < 0) {
			tally.check(false,
			            (std::string(what) +
			             (cyc == -1 ? ": no done_o (hang)" : ": access out of range"))
			                    .c_str());
			break;
		}
		total_cycles += cyc;
		total_macs += static_cast<long>(k.oh) * k.ow * k.oc * kk * k.ic;
		std::vector<uint32_t> want(acc->w.size(), kPoison);
		for (int y = 0; y < k.oh; ++y)
			for (int x = 0; x < k.ow; ++x)
				for (int o = 0; o < k.oc; ++o)
					want[static_cast<size_t>(k.out_base + y * k.out_row +
					                         x * k.out_pix + o / kRows) *
					             kRows +
					     o % kRows] =
					        static_cast<uint32_t>(
					                out[(static_cast<size_t>(y) * k.ow + x) *
					                            k.oc +
					                    o]);
		size_t bad = 0, first = 0;
		for (size_t i = 0; i < want.size(); ++i)
			if (acc->w[i] != want[i] && bad++ == 0)
				first = i;
		if (bad) {
			char more[200];
			std::snprintf(
			        more, sizeof more,
			        " | %zu words differ, first word %zu lane %zu: got %#x want %#x",
			        bad, first / kRows, first % kRows, acc->w[first], want[first]);
			tally.check(false, (std::string(what) + more).c_str());
		} else {
			tally.check(true, what);
		}
	}
	std::printf("pw (%dx%d): %d cases, %ld engine cycles, %ld MACs (%.1f per cycle), "
	            "seed %" PRIu64 "\n",
	            kRows, kCols, n_cases, total_cycles, total_macs,
	            total_cycles ? static_cast<double>(total_macs) / total_cycles : 0.0, seed);
	return tally.finish(kRows == 16 && kCols == 16 ? "pw" : "pw_small");
}
