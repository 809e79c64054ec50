// Unit test of rtl-sim/rtl/npu_dw.sv against npu_ref_s8_conv2d_acc32
// (lib/ref) with groups == channels: random channel counts (not multiples
// of the lane count), odd spatial sizes, 3x3 and 5x5 (plus 1x1, 2x2, 7x7),
// stride 1 and 2, every padding below the kernel size, any input zero
// point, random SRAM strides and bases. The SRAMs are modelled here with
// one cycle of read latency; read data of cycles without a request is
// random, so the engine must not use it. The whole ACC SRAM is compared,
// so a write to a wrong address or lane is caught too. Built twice: Lanes
// 16 (default) and 4 (-DTB_LANES=4 with -GLanes=4).
// Exit status 1 on any mismatch; the last line is "dw: N passed, N failed".
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "Vnpu_dw.h"
#include "ref/ref.h"
#include "tb_util.h"
#include "tests/common/test_env.h"
#include "verilated.h"

#ifndef TB_LANES
#define TB_LANES 16
#endif

namespace
{

constexpr int kLanes = TB_LANES;
constexpr int kWords = 1 << 16; // AW = 16
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

struct Mem8 {
	std::vector<int8_t> b = std::vector<int8_t>(static_cast<size_t>(kWords) * kLanes);
	int8_t &at(int word, int lane)
	{
		return b[static_cast<size_t>(word) * kLanes + lane];
	}
	uint32_t word32(int word, int j)
	{
		uint32_t v = 0;
		for (int k = 0; k < 4; ++k)
			v |= static_cast<uint32_t>(static_cast<uint8_t>(at(word, 4 * j + k)))
			     << (8 * k);
		return v;
	}
};

struct Mem32 {
	std::vector<uint32_t> w = std::vector<uint32_t>(static_cast<size_t>(kWords) * kLanes);
	uint32_t &at(int word, int lane)
	{
		return w[static_cast<size_t>(word) * kLanes + lane];
	}
};

struct Case {
	int h, w, c, kh, kw, sh, sw, pt, pl, oh, ow, zp;
	int in_base, in_pix, in_row, w_base, bias_base, out_base, out_pix, out_row;
};

class DwTb
{
      public:
	DwTb() : ctx_(new VerilatedContext), top_(new Vnpu_dw(ctx_.get()))
	{
		top_->clk_i = 0;
		top_->rst_ni = 0;
		top_->start_i = 0;
		top_->eval();
		edge();
		top_->rst_ni = 1;
		top_->eval();
	}
	~DwTb()
	{
		top_->final();
	}

	// Runs one case; returns cycles, or -1 on a hang.
	long run(const Case &k, Mem8 &act, Mem8 &wgt, Mem32 &bias, Mem32 &acc, TbRng &rng)
	{
		Vnpu_dw &t = *top_;
		t.cfg_in_base_i = k.in_base;
		t.cfg_w_base_i = k.w_base;
		t.cfg_bias_base_i = k.bias_base;
		t.cfg_out_base_i = k.out_base;
		t.cfg_in_h_i = k.h;
		t.cfg_in_w_i = k.w;
		t.cfg_channels_i = k.c;
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
		long limit = 64L * k.oh * k.ow * k.kh * k.kw * ((k.c + kLanes - 1) / kLanes) + 1000;
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
			if (t.acc_we_o) {
				for (int l = 0; l < kLanes; ++l)
					if ((static_cast<uint64_t>(t.acc_wmask_o) >> l) & 1)
						acc.at(t.acc_addr_o, l) = get(t.acc_wdata_o, l);
			}
			edge();
			t.start_i = 0;
			// Synchronous SRAM: data for last cycle's request, else noise.
			for (int j = 0; j < kLanes / 4; ++j) {
				put(t.act_rdata_i, j,
				    act_req ? act.word32(act_addr, j) : rng.u32());
				put(t.wgt_rdata_i, j,
				    wgt_req ? wgt.word32(wgt_addr, j) : rng.u32());
			}
			for (int l = 0; l < kLanes; ++l)
				put(t.bias_rdata_i, l,
				    bias_req ? bias.at(bias_addr, l) : rng.u32());
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
	std::unique_ptr<Vnpu_dw> top_;
};

Case random_case(TbRng &rng)
{
	static const int ks[] = {3, 3, 3, 5, 5, 5, 1, 2, 7};
	Case k;
	for (;;) {
		k.kh = ks[rng.range(0, 8)];
		k.kw = rng.range(0, 3) == 0 ? ks[rng.range(0, 8)] : k.kh;
		k.sh = static_cast<int>(rng.range(1, 2));
		k.sw = rng.range(0, 3) == 0 ? static_cast<int>(rng.range(1, 2)) : k.sh;
		k.h = static_cast<int>(rng.range(1, 19));
		k.w = static_cast<int>(rng.range(1, 19));
		k.c = static_cast<int>(rng.range(1, 3 * kLanes + 3));
		k.pt = static_cast<int>(rng.range(0, k.kh - 1));
		k.pl = static_cast<int>(rng.range(0, k.kw - 1));
		int pb = static_cast<int>(rng.range(0, k.kh - 1));
		int pr = static_cast<int>(rng.range(0, k.kw - 1));
		int eh = k.h + k.pt + pb - k.kh, ew = k.w + k.pl + pr - k.kw;
		if (eh < 0 || ew < 0)
			continue;
		k.oh = eh / k.sh + 1;
		k.ow = ew / k.sw + 1;
		break;
	}
	k.zp = static_cast<int>(rng.range(-128, 127));
	int ng = (k.c + kLanes - 1) / kLanes;
	k.in_base = static_cast<int>(rng.range(0, 64));
	k.in_pix = ng + static_cast<int>(rng.range(0, 2));
	k.in_row = k.w * k.in_pix + static_cast<int>(rng.range(0, 3));
	k.w_base = static_cast<int>(rng.range(0, 64));
	k.bias_base = static_cast<int>(rng.range(0, 64));
	k.out_base = static_cast<int>(rng.range(0, 64));
	k.out_pix = ng + static_cast<int>(rng.range(0, 2));
	k.out_row = k.ow * k.out_pix + static_cast<int>(rng.range(0, 3));
	return k;
}

} // namespace

int main(int argc, char **argv)
{
	Verilated::commandArgs(argc, argv);
	int n_cases = 150;
	uint64_t seed = 3;
	seed = static_cast<uint64_t>(
	        npu_test_env_int("NPU_TB_SEED", static_cast<long long>(seed), 0, LLONG_MAX));
	n_cases = static_cast<int>(npu_test_env_int("NPU_TB_CASES", n_cases, 1, 10000000));
	TbRng rng(seed);
	TbTally tally;
	DwTb tb;
	Mem8 act, wgt;
	Mem32 bias, acc;
	long total_cycles = 0;

	for (int n = 0; n < n_cases; ++n) {
		Case k = random_case(rng);
		int ng = (k.c + kLanes - 1) / kLanes;
		// Dense reference tensors.
		std::vector<int8_t> in(static_cast<size_t>(k.h) * k.w * k.c);
		std::vector<int8_t> w(static_cast<size_t>(k.c) * k.kh * k.kw);
		std::vector<int32_t> b(k.c);
		std::vector<int32_t> out(static_cast<size_t>(k.oh) * k.ow * k.c);
		for (auto &v : in)
			v = static_cast<int8_t>(rng.u32());
		for (auto &v : w)
			v = static_cast<int8_t>(rng.u32());
		for (auto &v : b)
			v = static_cast<int32_t>(rng.range(-(1 << 20), 1 << 20));
		// SRAM images: noise everywhere, then the tensors in engine layout.
		for (auto &v : act.b)
			v = static_cast<int8_t>(rng.u32());
		for (auto &v : wgt.b)
			v = static_cast<int8_t>(rng.u32());
		for (auto &v : bias.w)
			v = rng.u32();
		std::fill(acc.w.begin(), acc.w.end(), kPoison);
		for (int y = 0; y < k.h; ++y)
			for (int x = 0; x < k.w; ++x)
				for (int c = 0; c < k.c; ++c)
					act.at(k.in_base + y * k.in_row + x * k.in_pix + c / kLanes,
					       c % kLanes) =
					        in[(static_cast<size_t>(y) * k.w + x) * k.c + c];
		for (int c = 0; c < k.c; ++c) {
			for (int t = 0; t < k.kh * k.kw; ++t)
				wgt.at(k.w_base + t * ng + c / kLanes, c % kLanes) =
				        w[static_cast<size_t>(c) * k.kh * k.kw + t];
			bias.at(k.bias_base + c / kLanes, c % kLanes) = static_cast<uint32_t>(b[c]);
		}

		npu_ref_conv_params p = {};
		p.in_h = k.h;
		p.in_w = k.w;
		p.in_c = k.c;
		p.out_h = k.oh;
		p.out_w = k.ow;
		p.out_c = k.c;
		p.kh = k.kh;
		p.kw = k.kw;
		p.stride_h = k.sh;
		p.stride_w = k.sw;
		p.pad_t = k.pt;
		p.pad_l = k.pl;
		p.groups = k.c;
		p.in_zp = k.zp;
		npu_ref_s8_conv2d_acc32(&p, in.data(), w.data(), b.data(), out.data());

		long cyc = tb.run(k, act, wgt, bias, acc, rng);
		char what[300];
		std::snprintf(what, sizeof what,
		              "case %d: h=%d w=%d c=%d k=%dx%d s=%d,%d pad=%d,%d out=%dx%d zp=%d",
		              n, k.h, k.w, k.c, k.kh, k.kw, k.sh, k.sw, k.pt, k.pl, k.oh, k.ow,
		              k.zp);
		if (cyc < 0) {
			tally.check(false, (std::string(what) + ": no done_o (hang)").c_str());
			break;
		}
		total_cycles += cyc;
		// Expected ACC image: poison except the output lanes.
		std::vector<uint32_t> want(acc.w.size(), kPoison);
		for (int y = 0; y < k.oh; ++y)
			for (int x = 0; x < k.ow; ++x)
				for (int c = 0; c < k.c; ++c)
					want[static_cast<size_t>(k.out_base + y * k.out_row +
					                         x * k.out_pix + c / kLanes) *
					             kLanes +
					     c % kLanes] =
					        static_cast<uint32_t>(
					                out[(static_cast<size_t>(y) * k.ow + x) *
					                            k.c +
					                    c]);
		size_t bad = 0, first = 0;
		for (size_t i = 0; i < want.size(); ++i)
			if (acc.w[i] != want[i] && bad++ == 0)
				first = i;
		if (bad) {
			char more[200];
			std::snprintf(
			        more, sizeof more,
			        " | %zu words differ, first word %zu lane %zu: got %#x want %#x",
			        bad, first / kLanes, first % kLanes, acc.w[first], want[first]);
			tally.check(false, (std::string(what) + more).c_str());
		} else {
			tally.check(true, what);
		}
	}
	std::printf("dw (lanes %d): %d cases, %ld engine cycles, seed %" PRIu64 "\n", kLanes,
	            n_cases, total_cycles, seed);
	return tally.finish(kLanes == 16 ? "dw" : "dw_small");
}
