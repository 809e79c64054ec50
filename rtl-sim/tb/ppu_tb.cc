// Unit test of rtl-sim/rtl/npu_ppu.sv against the lib/ref kernels:
//   REQUANT  clamp(npui_mbqm(acc, mult[c], shift[c]) + zp) over random
//            accumulators (full range, small, extremes), multipliers from
//            npui_quantize_multiplier and raw ones (0, INT32_MIN too), every
//            shift -31..30 (coverage is checked), pixel and channel counts
//            that are not multiples of the lanes, padded pixel strides;
//   ADD      npu_ref_s8_add with constants from npu_ref_add_init (random
//            scales, zero points, NONE/RELU/RELU6) and raw ones, counts not
//            multiples of the word, in place (dst == a or b) too;
//   POOL     npu_ref_s8_maxpool / avgpool (3x3 s2 mostly, kernels 1..7,
//            strides 1..3, every padding < kernel, both count modes) and
//            npu_ref_s8_gap over several sizes, odd channel counts.
// SRAMs are modelled with one cycle of read latency; read data of cycles
// without a request is noise. The whole ACT SRAM is compared after each
// case, so a stray write or a wrong byte enable fails. Two throughput
// checks (a long REQUANT and a long ADD) bound the cycle counts. With
// ActOnePort (default) an ACT read and an ACT write in the same cycle is a
// failure. Built four times: Lanes 8 / AccLanes 16 / ActBytes 16 with 4
// ADD lanes (ppu), 4/4/4 (ppu_small: -DTB_LANES=4 -DTB_ACC=4 -DTB_ACT=4),
// 4/16/16 as npu_top builds it (ppu_l4: -DTB_LANES=4) and 8/16/16 with
// 8 ADD lanes and separate ACT read and write ports (ppu_2port:
// -DTB_ONE_PORT=0 -DTB_ADD_LANES=8). Exit
// status 1 on any mismatch; the last line is "NAME: N passed, N failed".
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "Vnpu_ppu.h"
#include "driver/npu_regs.h"
#include "npu.h"
#include "ref/quant.h"
#include "ref/ref.h"
#include "tb_util.h"
#include "tests/common/test_env.h"
#include "verilated.h"

#ifndef TB_LANES
#define TB_LANES 8
#endif
#ifndef TB_ACC
#define TB_ACC 16
#endif
#ifndef TB_ACT
#define TB_ACT 16
#endif
#ifndef TB_ADD_LANES
#define TB_ADD_LANES (TB_LANES > 4 ? 4 : TB_LANES) // AddLanes default
#endif
#ifndef TB_ONE_PORT
#define TB_ONE_PORT 1 // ActOnePort: ACT read and write never in one cycle
#endif

namespace
{

constexpr int kLanes = TB_LANES;
constexpr int kAcc = TB_ACC;    // int32 lanes of an ACC/PARAM word
constexpr int kAct = TB_ACT;    // bytes of an ACT word
constexpr int kWords = 1 << 16; // AW = 16
constexpr bool kOnePort = TB_ONE_PORT != 0;
constexpr int kAddLanes = TB_ADD_LANES;

// 32-bit word j of a port, narrow (CData/SData/IData/QData) or wide (VlWide).
template <typename T> inline void put(T &p, int j, uint32_t v)
{
	if (sizeof(T) <= 4) {
		p = static_cast<T>(v);
	} else {
		uint64_t m = 0xFFFFFFFFull << (32 * j);
		p = static_cast<T>((static_cast<uint64_t>(p) & ~m) |
		                   (static_cast<uint64_t>(v) << (32 * j)));
	}
}
template <std::size_t N> inline void put(VlWide<N> &p, int j, uint32_t v)
{
	p[j] = v;
}
template <typename T> inline uint32_t get(T p, int j)
{
	return static_cast<uint32_t>(static_cast<uint64_t>(p) >> (32 * j));
}
template <std::size_t N> inline uint32_t get(const VlWide<N> &p, int j)
{
	return p[j];
}

struct Mem {
	std::vector<uint8_t> act = std::vector<uint8_t>(static_cast<size_t>(kWords) * kAct);
	std::vector<uint32_t> acc = std::vector<uint32_t>(static_cast<size_t>(kWords) * kAcc);
	std::vector<uint32_t> param = std::vector<uint32_t>(static_cast<size_t>(kWords) * kAcc);
	uint8_t &a(int word, int byte)
	{
		return act[static_cast<size_t>(word) * kAct + byte];
	}
	uint32_t &c(int word, int lane)
	{
		return acc[static_cast<size_t>(word) * kAcc + lane];
	}
	uint32_t &p(int word, int lane)
	{
		return param[static_cast<size_t>(word) * kAcc + lane];
	}
	uint32_t act32(int word, int j)
	{
		uint32_t v = 0;
		for (int k = 0; k < 4 && 4 * j + k < kAct; ++k)
			v |= static_cast<uint32_t>(a(word, 4 * j + k)) << (8 * k);
		return v;
	}
};

// Every cfg input of the PPU; zero unless a case sets it.
struct Cfg {
	int op = 0, pool_mode = 0, cip = 0;
	int src = 0, src2 = 0, dst = 0, mult_base = 0, shift_base = 0;
	int src_pix = 0, src_row = 0, dst_pix = 0, dst_row = 0;
	int pixels = 0, channels = 0;
	uint32_t count = 0;
	int in_h = 0, in_w = 0, out_h = 0, out_w = 0, kh = 0, kw = 0, sh = 0, sw = 0, pt = 0,
	    pl = 0;
	int in_zp = 0, in2_zp = 0, out_zp = 0;
	int32_t in_mult = 0, in2_mult = 0, out_mult = 0;
	int in_shift = 0, in2_shift = 0, out_shift = 0;
	int act_min = -128, act_max = 127;
};

class PpuTb
{
      public:
	PpuTb() : ctx_(new VerilatedContext), top_(new Vnpu_ppu(ctx_.get()))
	{
		top_->clk_i = 0;
		top_->rst_ni = 0;
		top_->start_i = 0;
		top_->eval();
		edge();
		top_->rst_ni = 1;
		top_->eval();
	}
	~PpuTb()
	{
		top_->final();
	}

	// Runs one job; returns cycles from start to done, or -1 on a hang.
	long run(const Cfg &k, Mem &m, TbRng &rng, long limit)
	{
		Vnpu_ppu &t = *top_;
		auto s8 = [](int v) { return static_cast<uint32_t>(v) & 0xFF; };
		auto s6 = [](int v) { return static_cast<uint32_t>(v) & 0x3F; };
		t.cfg_op_i = k.op;
		t.cfg_pool_mode_i = k.pool_mode;
		t.cfg_count_include_pad_i = k.cip;
		t.cfg_src_base_i = k.src;
		t.cfg_src2_base_i = k.src2;
		t.cfg_dst_base_i = k.dst;
		t.cfg_mult_base_i = k.mult_base;
		t.cfg_shift_base_i = k.shift_base;
		t.cfg_src_pix_stride_i = k.src_pix;
		t.cfg_src_row_stride_i = k.src_row;
		t.cfg_dst_pix_stride_i = k.dst_pix;
		t.cfg_dst_row_stride_i = k.dst_row;
		t.cfg_pixels_i = k.pixels;
		t.cfg_channels_i = k.channels;
		t.cfg_count_i = k.count;
		t.cfg_in_h_i = k.in_h;
		t.cfg_in_w_i = k.in_w;
		t.cfg_out_h_i = k.out_h;
		t.cfg_out_w_i = k.out_w;
		t.cfg_kh_i = k.kh;
		t.cfg_kw_i = k.kw;
		t.cfg_stride_h_i = k.sh;
		t.cfg_stride_w_i = k.sw;
		t.cfg_pad_t_i = k.pt;
		t.cfg_pad_l_i = k.pl;
		t.cfg_in_zp_i = s8(k.in_zp);
		t.cfg_in2_zp_i = s8(k.in2_zp);
		t.cfg_out_zp_i = s8(k.out_zp);
		t.cfg_in_mult_i = static_cast<uint32_t>(k.in_mult);
		t.cfg_in2_mult_i = static_cast<uint32_t>(k.in2_mult);
		t.cfg_out_mult_i = static_cast<uint32_t>(k.out_mult);
		t.cfg_in_shift_i = s6(k.in_shift);
		t.cfg_in2_shift_i = s6(k.in2_shift);
		t.cfg_out_shift_i = s6(k.out_shift);
		t.cfg_act_min_i = s8(k.act_min);
		t.cfg_act_max_i = s8(k.act_max);
		t.start_i = 1;
		for (long cyc = 0; cyc < limit; ++cyc) {
			t.eval();
			if (t.done_o) {
				t.start_i = 0;
				edge();
				return cyc;
			}
			bool acc_req = t.acc_req_o, par_req = t.param_req_o, act_req = t.act_req_o;
			int acc_addr = t.acc_addr_o, par_addr = t.param_addr_o,
			    act_addr = t.act_addr_o;
			if (kOnePort && act_req && t.act_we_o)
				++port_conflicts;
			if (t.act_we_o) {
				for (int b = 0; b < kAct; ++b)
					if ((static_cast<uint64_t>(t.act_wbe_o) >> b) & 1)
						m.a(t.act_waddr_o, b) = static_cast<uint8_t>(
						        get(t.act_wdata_o, b / 4) >> (8 * (b % 4)));
			}
			edge();
			t.start_i = 0;
			// Synchronous SRAMs: data for last cycle's request, else noise.
			for (int j = 0; j < kAcc; ++j) {
				put(t.acc_rdata_i, j, acc_req ? m.c(acc_addr, j) : rng.u32());
				put(t.param_rdata_i, j, par_req ? m.p(par_addr, j) : rng.u32());
			}
			for (int j = 0; j < (kAct + 3) / 4; ++j)
				put(t.act_rdata_i, j, act_req ? m.act32(act_addr, j) : rng.u32());
		}
		return -1;
	}

	long port_conflicts = 0;

      private:
	void edge()
	{
		top_->clk_i = 1;
		top_->eval();
		top_->clk_i = 0;
		top_->eval();
	}
	std::unique_ptr<VerilatedContext> ctx_;
	std::unique_ptr<Vnpu_ppu> top_;
};

int ceil_div(int a, int b)
{
	return (a + b - 1) / b;
}

int32_t clamp64(int64_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : (v > hi ? hi : static_cast<int32_t>(v));
}

// A random int32 accumulator: full range, small magnitudes, or an extreme.
int32_t rand_acc(TbRng &rng)
{
	static const int32_t edges[] = {
	        INT32_MIN, INT32_MIN + 1, INT32_MAX,  INT32_MAX - 1, 0,     1, -1, 2,
	        -2,        1 << 30,       -(1 << 30), 65535,         -65536};
	switch (rng.range(0, 3)) {
	case 0:
		return rng.i32();
	case 1:
		return edges[rng.range(0, sizeof(edges) / sizeof(edges[0]) - 1)];
	default: {
		int b = static_cast<int>(rng.range(1, 24));
		return static_cast<int32_t>(rng.range(-(INT64_C(1) << b), INT64_C(1) << b));
	}
	}
}

// A Q31 multiplier: encoded real, raw in [2^30, 2^31), 0, or INT32_MIN.
int32_t rand_mult(TbRng &rng)
{
	int r = static_cast<int>(rng.range(0, 19));
	if (r == 0)
		return 0;
	if (r == 1)
		return INT32_MIN;
	if (r < 8)
		return static_cast<int32_t>(rng.range(INT64_C(1) << 30, (INT64_C(1) << 31) - 1));
	int32_t m;
	int s;
	if (npui_quantize_multiplier(
	            std::ldexp(1.0 + rng.unit(), static_cast<int>(rng.range(-20, 4))), &m, &s) !=
	    NPU_OK)
		return 1 << 30;
	return m;
}

void rand_act(TbRng &rng, int &lo, int &hi)
{
	if (rng.range(0, 1)) {
		lo = -128;
		hi = 127;
		return;
	}
	lo = static_cast<int>(rng.range(-128, 127));
	hi = static_cast<int>(rng.range(lo, 127));
}

std::string act_diff(const Mem &got, const std::vector<uint8_t> &want)
{
	size_t bad = 0, first = 0;
	for (size_t i = 0; i < want.size(); ++i)
		if (got.act[i] != want[i] && bad++ == 0)
			first = i;
	if (!bad)
		return "";
	char buf[200];
	std::snprintf(buf, sizeof buf,
	              " | %zu bytes differ, first ACT word %zu byte %zu: got %d want %d", bad,
	              first / kAct, first % kAct, static_cast<int8_t>(got.act[first]),
	              static_cast<int8_t>(want[first]));
	return buf;
}

struct Runner {
	PpuTb tb;
	Mem m;
	TbRng &rng;
	TbTally tally;
	uint64_t shifts_seen = 0;
	explicit Runner(TbRng &r) : rng(r)
	{
		// Noise everywhere once; each case writes its inputs over it.
		for (auto &v : m.act)
			v = static_cast<uint8_t>(rng.u32());
		for (auto &v : m.acc)
			v = rng.u32();
		for (auto &v : m.param)
			v = rng.u32();
	}

	// Runs k, compares the whole ACT SRAM with want; returns cycles.
	long check(const Cfg &k, const std::vector<uint8_t> &want, const char *what, long limit)
	{
		long conflicts = tb.port_conflicts;
		long cyc = tb.run(k, m, rng, limit);
		if (tb.port_conflicts != conflicts)
			tally.check(
			        false,
			        (std::string(what) + ": ACT read and write in one cycle").c_str());
		if (cyc < 0) {
			tally.check(false, (std::string(what) + ": no done_o (hang)").c_str());
			m.act = want;
			return -1;
		}
		std::string d = act_diff(m, want);
		tally.check(d.empty(), (std::string(what) + d).c_str());
		m.act = want; // resync after a failure
		return cyc;
	}

	long requant(int n, int pixels, int c)
	{
		Cfg k;
		k.op = NPU_HW_OP_PPU_REQUANT;
		k.pixels = pixels;
		k.channels = c;
		int g = ceil_div(c, kAcc), aw = ceil_div(c, kAct);
		k.src = static_cast<int>(rng.range(0, 64));
		k.src_pix = g + static_cast<int>(rng.range(0, 2));
		k.mult_base = static_cast<int>(rng.range(0, 64));
		k.shift_base = k.mult_base + g + static_cast<int>(rng.range(0, 4));
		k.dst = static_cast<int>(rng.range(0, 64));
		k.dst_pix = aw + static_cast<int>(rng.range(0, 2));
		k.out_zp = static_cast<int>(rng.range(-128, 127));
		rand_act(rng, k.act_min, k.act_max);
		std::vector<int32_t> mult(c), shift(c);
		for (int ch = 0; ch < c; ++ch) {
			mult[ch] = rand_mult(rng);
			shift[ch] = static_cast<int>(rng.range(-31, 30));
			shifts_seen |= UINT64_C(1) << (shift[ch] + 31);
			m.p(k.mult_base + ch / kAcc, ch % kAcc) = static_cast<uint32_t>(mult[ch]);
			// Shift as s32; only bits 5:0 are used, so noise above is fine.
			m.p(k.shift_base + ch / kAcc, ch % kAcc) =
			        (static_cast<uint32_t>(shift[ch]) & 0x3F) |
			        (rng.range(0, 1) ? 0 : (rng.u32() << 6));
		}
		std::vector<uint8_t> want = m.act;
		for (int p = 0; p < pixels; ++p)
			for (int ch = 0; ch < c; ++ch) {
				int32_t acc = rand_acc(rng);
				m.c(k.src + p * k.src_pix + ch / kAcc, ch % kAcc) =
				        static_cast<uint32_t>(acc);
				int64_t v =
				        static_cast<int64_t>(npui_mbqm(acc, mult[ch], shift[ch])) +
				        k.out_zp;
				want[static_cast<size_t>(k.dst + p * k.dst_pix + ch / kAct) * kAct +
				     ch % kAct] =
				        static_cast<uint8_t>(clamp64(v, k.act_min, k.act_max));
			}
		char what[200];
		std::snprintf(what, sizeof what,
		              "requant case %d: pixels=%d c=%d zp=%d act=[%d,%d]", n, pixels, c,
		              k.out_zp, k.act_min, k.act_max);
		return check(k, want, what, 20L * pixels * (c + 8) + 1000);
	}

	long add(int n, int count, bool raw)
	{
		Cfg k;
		k.op = NPU_HW_OP_PPU_ADD;
		k.count = static_cast<uint32_t>(count);
		npu_ref_add_params p{};
		if (!raw) {
			for (;;) {
				npui_quant q0{static_cast<float>(std::ldexp(
				                      1.0 + rng.unit(),
				                      static_cast<int>(rng.range(-8, 0)))),
				              static_cast<int32_t>(rng.range(-128, 127))};
				npui_quant q1{
				        static_cast<float>(
				                q0.scale *
				                std::ldexp(0.5 + rng.unit(),
				                           static_cast<int>(rng.range(-3, 3)))),
				        static_cast<int32_t>(rng.range(-128, 127))};
				npui_quant qo{
				        static_cast<float>(
				                q0.scale *
				                std::ldexp(0.5 + rng.unit(),
				                           static_cast<int>(rng.range(-2, 3)))),
				        static_cast<int32_t>(rng.range(-128, 127))};
				int act = static_cast<int>(rng.range(0, 2));
				if (npu_ref_add_init(&p, &q0, &q1, &qo, act) == NPU_OK)
					break;
			}
		} else {
			// Raw constants: input shifts <= 0 keep y0 + y1 inside int32.
			p.in0_zp = static_cast<int32_t>(rng.range(-128, 127));
			p.in1_zp = static_cast<int32_t>(rng.range(-128, 127));
			p.out_zp = static_cast<int32_t>(rng.range(-128, 127));
			p.in0_mult = rand_mult(rng);
			p.in1_mult = rand_mult(rng);
			p.out_mult = rand_mult(rng);
			p.in0_shift = static_cast<int32_t>(rng.range(-31, 0));
			p.in1_shift = static_cast<int32_t>(rng.range(-31, 0));
			p.out_shift = static_cast<int32_t>(rng.range(-31, 30));
			int lo, hi;
			rand_act(rng, lo, hi);
			p.act_min = lo;
			p.act_max = hi;
		}
		k.in_zp = p.in0_zp;
		k.in2_zp = p.in1_zp;
		k.out_zp = p.out_zp;
		k.in_mult = p.in0_mult;
		k.in2_mult = p.in1_mult;
		k.out_mult = p.out_mult;
		k.in_shift = p.in0_shift;
		k.in2_shift = p.in1_shift;
		k.out_shift = p.out_shift;
		k.act_min = p.act_min;
		k.act_max = p.act_max;
		int w = ceil_div(count, kAct);
		k.src = static_cast<int>(rng.range(0, 100));
		k.src2 = k.src + w + static_cast<int>(rng.range(0, 10));
		int mode = static_cast<int>(rng.range(0, 5));
		k.dst = mode == 0 ? k.src
		                  : (mode == 1 ? k.src2
		                               : k.src2 + w + static_cast<int>(rng.range(0, 10)));
		std::vector<int8_t> a(count), b(count), o(count);
		for (int i = 0; i < count; ++i) {
			a[i] = static_cast<int8_t>(rng.u32());
			b[i] = static_cast<int8_t>(rng.u32());
			m.a(k.src + i / kAct, i % kAct) = static_cast<uint8_t>(a[i]);
			m.a(k.src2 + i / kAct, i % kAct) = static_cast<uint8_t>(b[i]);
		}
		npu_ref_s8_add(&p, static_cast<size_t>(count), a.data(), b.data(), o.data());
		std::vector<uint8_t> want = m.act;
		for (int i = 0; i < count; ++i)
			want[static_cast<size_t>(k.dst + i / kAct) * kAct + i % kAct] =
			        static_cast<uint8_t>(o[i]);
		char what[240];
		std::snprintf(
		        what, sizeof what,
		        "add case %d: n=%d %s zp=%d,%d,%d m=%d,%d,%d s=%d,%d,%d act=[%d,%d] dst=%s",
		        n, count, raw ? "raw" : "init", p.in0_zp, p.in1_zp, p.out_zp, p.in0_mult,
		        p.in1_mult, p.out_mult, p.in0_shift, p.in1_shift, p.out_shift, p.act_min,
		        p.act_max, mode == 0 ? "a" : (mode == 1 ? "b" : "separate"));
		return check(k, want, what, 10L * count + 1000);
	}

	long pool(int n, int mode)
	{
		static const int ks[] = {3, 3, 3, 3, 1, 2, 4, 5, 7};
		Cfg k;
		k.op = NPU_HW_OP_PPU_POOL;
		k.pool_mode = mode;
		int c = static_cast<int>(rng.range(1, 3 * kAct + 3));
		k.channels = c;
		int oh, ow;
		if (mode == NPU_HW_POOL_GLOBAL) {
			static const int gs[] = {1, 2, 3, 4, 5, 7, 8, 10, 14, 16};
			k.in_h = gs[rng.range(0, 9)];
			k.in_w = rng.range(0, 2) ? k.in_h : gs[rng.range(0, 9)];
			oh = ow = 1;
			// Fields GLOBAL ignores: noise.
			k.kh = static_cast<int>(rng.range(0, 15));
			k.kw = static_cast<int>(rng.range(0, 15));
			k.sh = static_cast<int>(rng.range(0, 15));
			k.sw = static_cast<int>(rng.range(0, 15));
			k.pt = static_cast<int>(rng.range(0, 15));
			k.pl = static_cast<int>(rng.range(0, 15));
			k.out_h = static_cast<int>(rng.range(0, 9));
			k.out_w = static_cast<int>(rng.range(0, 9));
		} else {
			for (;;) {
				bool std3 = rng.range(0, 1) == 0;
				k.kh = std3 ? 3 : ks[rng.range(0, 8)];
				k.kw = std3 ? 3
				            : (rng.range(0, 3) == 0 ? ks[rng.range(0, 8)] : k.kh);
				k.sh = std3 ? 2 : static_cast<int>(rng.range(1, 3));
				k.sw = rng.range(0, 4) == 0 ? static_cast<int>(rng.range(1, 3))
				                            : k.sh;
				k.in_h = static_cast<int>(rng.range(1, 15));
				k.in_w = static_cast<int>(rng.range(1, 15));
				k.pt = static_cast<int>(rng.range(0, k.kh - 1));
				k.pl = static_cast<int>(rng.range(0, k.kw - 1));
				int pb = static_cast<int>(rng.range(0, k.kh - 1));
				int pr = static_cast<int>(rng.range(0, k.kw - 1));
				int eh = k.in_h + k.pt + pb - k.kh, ew = k.in_w + k.pl + pr - k.kw;
				if (eh < 0 || ew < 0)
					continue;
				oh = eh / k.sh + 1;
				ow = ew / k.sw + 1;
				break;
			}
			k.out_h = oh;
			k.out_w = ow;
			k.cip = static_cast<int>(rng.range(0, 1));
		}
		int aw = ceil_div(c, kAct);
		k.src = static_cast<int>(rng.range(0, 64));
		k.src_pix = aw + static_cast<int>(rng.range(0, 1));
		k.src_row = k.in_w * k.src_pix + static_cast<int>(rng.range(0, 2));
		k.dst = k.src + k.in_h * k.src_row + static_cast<int>(rng.range(0, 16));
		k.dst_pix = aw + static_cast<int>(rng.range(0, 1));
		k.dst_row = ow * k.dst_pix + static_cast<int>(rng.range(0, 2));
		k.in_zp = static_cast<int>(rng.range(-128, 127));
		k.out_zp = static_cast<int>(rng.range(-128, 127));
		rand_act(rng, k.act_min, k.act_max);

		std::vector<int8_t> in(static_cast<size_t>(k.in_h) * k.in_w * c);
		std::vector<int8_t> out(static_cast<size_t>(oh) * ow * c);
		for (auto &v : in)
			v = static_cast<int8_t>(rng.u32());
		for (int y = 0; y < k.in_h; ++y)
			for (int x = 0; x < k.in_w; ++x)
				for (int ch = 0; ch < c; ++ch)
					m.a(k.src + y * k.src_row + x * k.src_pix + ch / kAct,
					    ch % kAct) =
					        static_cast<uint8_t>(
					                in[(static_cast<size_t>(y) * k.in_w + x) *
					                           c +
					                   ch]);
		double in_scale = std::ldexp(1.0 + rng.unit(), -6);
		double out_scale =
		        in_scale * std::ldexp(0.5 + rng.unit(), static_cast<int>(rng.range(-3, 2)));
		if (mode == NPU_HW_POOL_GLOBAL) {
			npu_ref_gap_params g{};
			g.h = k.in_h;
			g.w = k.in_w;
			g.c = c;
			g.in_zp = k.in_zp;
			g.out_zp = k.out_zp;
			g.act_min = k.act_min;
			g.act_max = k.act_max;
			int s = 0;
			if (npui_quantize_multiplier(in_scale / (out_scale * k.in_h * k.in_w),
			                             &g.mult, &s) != NPU_OK)
				std::abort();
			g.shift = s;
			k.out_mult = g.mult;
			k.out_shift = g.shift;
			npu_ref_s8_gap(&g, in.data(), out.data());
		} else {
			npu_ref_pool_params p{};
			p.in_h = k.in_h;
			p.in_w = k.in_w;
			p.c = c;
			p.out_h = oh;
			p.out_w = ow;
			p.kh = k.kh;
			p.kw = k.kw;
			p.stride_h = k.sh;
			p.stride_w = k.sw;
			p.pad_t = k.pt;
			p.pad_l = k.pl;
			p.count_include_pad = k.cip;
			p.in_zp = k.in_zp;
			p.out_zp = k.out_zp;
			p.act_min = k.act_min;
			p.act_max = k.act_max;
			std::vector<int32_t> mult(k.kh * k.kw), shift(k.kh * k.kw);
			if (npu_ref_avgpool_multipliers(static_cast<float>(in_scale),
			                                static_cast<float>(out_scale), k.kh * k.kw,
			                                mult.data(), shift.data()) != NPU_OK)
				std::abort();
			p.mult = mult.data();
			p.shift = shift.data();
			// PARAM table: entry e in word base + e, mult lane 0, shift lane 1.
			k.mult_base = static_cast<int>(rng.range(0, 64));
			for (int e = 0; e < k.kh * k.kw; ++e) {
				m.p(k.mult_base + e, 0) = static_cast<uint32_t>(mult[e]);
				m.p(k.mult_base + e, 1) = static_cast<uint32_t>(shift[e]);
			}
			if (mode == NPU_HW_POOL_MAX)
				npu_ref_s8_maxpool(&p, in.data(), out.data());
			else
				npu_ref_s8_avgpool(&p, in.data(), out.data());
		}
		std::vector<uint8_t> want = m.act;
		for (int y = 0; y < oh; ++y)
			for (int x = 0; x < ow; ++x)
				for (int ch = 0; ch < c; ++ch)
					want[static_cast<size_t>(k.dst + y * k.dst_row +
					                         x * k.dst_pix + ch / kAct) *
					             kAct +
					     ch % kAct] =
					        static_cast<uint8_t>(
					                out[(static_cast<size_t>(y) * ow + x) * c +
					                    ch]);
		static const char *names[] = {"max", "avg", "global"};
		char what[240];
		std::snprintf(what, sizeof what,
		              "pool case %d: %s h=%d w=%d c=%d k=%dx%d s=%d,%d pad=%d,%d out=%dx%d "
		              "cip=%d "
		              "zp=%d,%d act=[%d,%d]",
		              n, names[mode], k.in_h, k.in_w, c, k.kh, k.kw, k.sh, k.sw, k.pt, k.pl,
		              oh, ow, k.cip, k.in_zp, k.out_zp, k.act_min, k.act_max);
		long taps = mode == NPU_HW_POOL_GLOBAL ? static_cast<long>(k.in_h) * k.in_w
		                                       : static_cast<long>(k.kh) * k.kw;
		return check(k, want, what, 4L * (taps + kAct) * oh * ow * aw + 1000);
	}
};

} // namespace

int main(int argc, char **argv)
{
	Verilated::commandArgs(argc, argv);
	uint64_t seed = 5;
	int n_cases = 250;
	seed = static_cast<uint64_t>(
	        npu_test_env_int("NPU_TB_SEED", static_cast<long long>(seed), 0, LLONG_MAX));
	n_cases = static_cast<int>(npu_test_env_int("NPU_TB_CASES", n_cases, 1, 10000000));
	TbRng rng(seed);
	Runner r(rng);
	const char *name = kLanes != 8 ? (kAcc == 16 ? "ppu_l4" : "ppu_small")
	                               : (kOnePort ? "ppu" : "ppu_2port");
	int n_rq = 0, n_add = 0, n_pool = 0, n_gap = 0;

	for (int n = 0; n < n_cases; ++n) {
		int kind = n % 10;
		if (kind < 4) {
			int px = static_cast<int>(rng.range(1, 40));
			int c = static_cast<int>(rng.range(1, 3 * kAcc + 3));
			r.requant(n, px, c);
			++n_rq;
		} else if (kind < 6) {
			r.add(n, static_cast<int>(rng.range(1, 300)), rng.range(0, 3) == 0);
			++n_add;
		} else if (kind < 9) {
			r.pool(n, static_cast<int>(rng.range(0, 1)) ? NPU_HW_POOL_AVG
			                                            : NPU_HW_POOL_MAX);
			++n_pool;
		} else {
			r.pool(n, NPU_HW_POOL_GLOBAL);
			++n_gap;
		}
	}
	if (n_cases >= 100) {
		uint64_t all = (UINT64_C(1) << 62) - 1;
		r.tally.check((r.shifts_seen & all) == all,
		              "requant: not every shift -31..30 was tested");
	}

	// Throughput: steady state is Lanes per cycle for REQUANT and
	// ActBytes / (max(2, ActBytes/AddLanes) + 1 with one ACT port) for ADD
	// (a bound: the write often falls in an idle phase).
	const int rq_px = 256, rq_c = 2 * kAcc;
	long rq_cyc = r.requant(-1, rq_px, rq_c);
	const double rq_ideal = static_cast<double>(rq_px) * rq_c / kLanes;
	const int add_n = 4096;
	long add_cyc = r.add(-2, add_n, false);
	const int period = std::max(2, kAct / kAddLanes) + (kOnePort ? 1 : 0);
	const double add_ideal = static_cast<double>(add_n) / kAct * period;
	std::printf("%s: REQUANT %d elements in %ld cycles (%.2f/cycle, ideal %d), ADD %d in %ld "
	            "cycles (%.2f/cycle, bound %.2f)\n",
	            name, rq_px * rq_c, rq_cyc, rq_px * rq_c / static_cast<double>(rq_cyc), kLanes,
	            add_n, add_cyc, add_n / static_cast<double>(add_cyc), add_n / add_ideal);
	r.tally.check(rq_cyc > 0 && rq_cyc <= rq_ideal + 4 * (rq_c / kAcc) + 30,
	              "requant throughput below Lanes per cycle");
	r.tally.check(add_cyc > 0 && add_cyc <= add_ideal + 40,
	              "add throughput below the port bound");

	std::printf("%s (lanes %d, acc %d, act %d, add %d, %s): %d requant, %d add, %d max/avg "
	            "pool, %d global cases, seed %" PRIu64 "\n",
	            name, kLanes, kAcc, kAct, kAddLanes,
	            kOnePort ? "one ACT port" : "two ACT ports", n_rq, n_add, n_pool, n_gap, seed);
	return r.tally.finish(name);
}
