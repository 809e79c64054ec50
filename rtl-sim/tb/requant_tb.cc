// Unit test of rtl-sim/rtl/npu_requant.sv against lib/ref/quant.h.
//
// Edge vectors (every shift -31..30 crossed with extreme accumulators and
// multipliers, including INT32_MIN * INT32_MIN and saturating pre-shifts)
// plus random ones: accumulators of several magnitudes, multipliers from
// npui_quantize_multiplier over a wide range of real scales and raw int32
// multipliers, every zero point and clamp range. The output handshake is
// throttled at random to exercise the pipeline stall. Exit status 1 on
// any mismatch; the last line is "requant: N passed, N failed".
//
// Built with -DTB_ACC_ZEROS=Z (the requant_z20 variant, -GAccZeros=20: the
// PPU's narrow ADD input lanes) every accumulator has its low Z bits
// cleared, as that lane's contract requires, and the ADD inputs' own
// values (a - zp) << 20 for every a - zp in -255..255 are added; shifts
// still cover -31..30, so saturating pre-shifts (INT32_MAX included) are
// crossed with every multiplier.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <vector>

#include "Vnpu_requant.h"
#include "ref/quant.h"
#include "tb_util.h"
#include "tests/common/test_env.h"
#include "verilated.h"

#ifndef TB_ACC_ZEROS
#define TB_ACC_ZEROS 0
#endif

namespace
{

struct Vec {
	int32_t acc, mult;
	int shift;
	int32_t zp, amin, amax;
};

int32_t expect_scaled(const Vec &v)
{
	return npui_mbqm(v.acc, v.mult, v.shift);
}

int32_t expect_q(const Vec &v)
{
	// As lib/ref/conv.c requant(): int64 add of the zero point, then clamp.
	int64_t s = static_cast<int64_t>(expect_scaled(v)) + v.zp;
	return s < v.amin ? v.amin : (s > v.amax ? v.amax : static_cast<int32_t>(s));
}

void add_edges(std::vector<Vec> &out)
{
	const int32_t accs[] = {INT32_MIN,
	                        INT32_MIN + 1,
	                        -(1 << 30) - 1,
	                        -(1 << 30),
	                        -65537,
	                        -65536,
	                        -257,
	                        -3,
	                        -2,
	                        -1,
	                        0,
	                        1,
	                        2,
	                        3,
	                        255,
	                        65535,
	                        65536,
	                        (1 << 30) - 1,
	                        1 << 30,
	                        INT32_MAX - 1,
	                        INT32_MAX};
	const int32_t mults[] = {INT32_MIN, INT32_MIN + 1, -(1 << 30),    -1,         0,
	                         1,         1 << 30,       (1 << 30) + 1, 0x5A5A5A5A, INT32_MAX - 1,
	                         INT32_MAX};
	int k = 0;
	for (int32_t a : accs)
		for (int32_t m : mults)
			for (int s = -31; s <= 30; ++s) {
				// Cycle the output parameters so the edges also hit the clamps.
				const int32_t zps[] = {0, -128, 127, 5};
				out.push_back({a, m, s, zps[k % 4], k % 3 == 0 ? 0 : -128,
				               k % 5 == 0 ? 6 : 127});
				++k;
			}
}

void add_random(std::vector<Vec> &out, TbRng &rng, long n)
{
	for (long i = 0; i < n; ++i) {
		Vec v;
		switch (rng.range(0, 3)) {
		case 0:
			v.acc = rng.i32();
			break;
		case 1:
			v.acc = static_cast<int32_t>(rng.range(-(1 << 20), 1 << 20));
			break;
		case 2:
			v.acc = static_cast<int32_t>(rng.range(-5000, 5000));
			break;
		default:
			v.acc = static_cast<int32_t>(rng.i32() >> rng.range(0, 31));
			break;
		}
		if (rng.range(0, 3) == 0) {
			v.mult = rng.i32();
			v.shift = static_cast<int>(rng.range(-31, 30));
		} else {
			// A real multiplier 2^-36 .. 2^12, encoded as the library does.
			double m =
			        std::ldexp(1.0 + rng.unit(), static_cast<int>(rng.range(-36, 12)));
			int s;
			if (npui_quantize_multiplier(m, &v.mult, &s) != 0) {
				--i;
				continue;
			}
			v.shift = s;
		}
		v.zp = static_cast<int32_t>(rng.range(-128, 127));
		int32_t a = static_cast<int32_t>(rng.range(-128, 127));
		int32_t b = static_cast<int32_t>(rng.range(-128, 127));
		switch (rng.range(0, 3)) {
		case 0:
			v.amin = -128;
			v.amax = 127;
			break;
		case 1:
			v.amin = v.zp;
			v.amax = 127;
			break;
		// Inverted bounds are never produced by the library but must still
		// follow npui_clamp's order (lower bound tested first).
		default:
			v.amin = a;
			v.amax = b;
			break;
		}
		out.push_back(v);
	}
}

} // namespace

int main(int argc, char **argv)
{
	auto ctx = std::make_unique<VerilatedContext>();
	ctx->commandArgs(argc, argv);
	long n_random = 200000;
	uint64_t seed = 1;
	seed = static_cast<uint64_t>(
	        npu_test_env_int("NPU_TB_SEED", static_cast<long long>(seed), 0, LLONG_MAX));
	n_random = static_cast<long>(npu_test_env_int("NPU_TB_N", n_random, 1, 100000000));
	TbRng rng(seed);

	std::vector<Vec> vecs;
	add_edges(vecs);
	const size_t n_edge = vecs.size();
	add_random(vecs, rng, n_random);
	if (TB_ACC_ZEROS > 0) {
		const uint32_t keep = ~((1u << TB_ACC_ZEROS) - 1u);
		for (Vec &v : vecs)
			v.acc = static_cast<int32_t>(static_cast<uint32_t>(v.acc) & keep);
		for (int d = -255; d <= 255; ++d)
			for (int s = -31; s <= 30; s += 3)
				vecs.push_back(
				        {static_cast<int32_t>(static_cast<uint32_t>(d) << 20),
				         static_cast<int32_t>(rng.range(1 << 30, INT32_MAX)), s, 0,
				         -128, 127});
	}

	auto top = std::make_unique<Vnpu_requant>(ctx.get());
	TbTally tally;
	top->clk_i = 0;
	top->rst_ni = 0;
	top->in_valid_i = 0;
	top->out_ready_i = 0;
	top->eval();
	top->clk_i = 1;
	top->eval();
	top->clk_i = 0;
	top->rst_ni = 1;
	top->eval();

	size_t sent = 0, got = 0;
	uint64_t cycles = 0;
	while (got < vecs.size() && cycles < 20 * vecs.size() + 1000) {
		// Drive inputs for this cycle (clock low).
		bool offer = sent < vecs.size() && rng.range(0, 7) != 0;
		if (offer) {
			const Vec &v = vecs[sent];
			top->acc_i = static_cast<uint32_t>(v.acc);
			top->mult_i = static_cast<uint32_t>(v.mult);
			top->shift_i = static_cast<uint32_t>(v.shift) & 0x3F;
			top->zp_i = static_cast<uint32_t>(v.zp) & 0xFF;
			top->act_min_i = static_cast<uint32_t>(v.amin) & 0xFF;
			top->act_max_i = static_cast<uint32_t>(v.amax) & 0xFF;
			top->tag_i = static_cast<uint32_t>(sent);
		}
		top->in_valid_i = offer;
		top->out_ready_i = rng.range(0, 3) != 0;
		top->eval();
		bool in_fire = offer && top->in_ready_o;
		if (top->out_valid_o && top->out_ready_i) {
			size_t idx = top->tag_o;
			char what[256];
			if (idx != got) {
				std::snprintf(what, sizeof what,
				              "out of order: tag %zu, expected %zu", idx, got);
				tally.check(false, what);
			} else {
				const Vec &v = vecs[idx];
				int32_t es = expect_scaled(v), eq = expect_q(v);
				int32_t hs = static_cast<int32_t>(top->scaled_o);
				int32_t hq = static_cast<int8_t>(top->q_o);
				std::snprintf(what, sizeof what,
				              "n=%zu acc=%" PRId32 " mult=%" PRId32
				              " shift=%d zp=%" PRId32 " act=[%" PRId32 ",%" PRId32
				              "]: scaled %" PRId32 " (want %" PRId32 "), q %" PRId32
				              " (want %" PRId32 ")",
				              idx, v.acc, v.mult, v.shift, v.zp, v.amin, v.amax, hs,
				              es, hq, eq);
				tally.check(hs == es && hq == eq, what);
			}
			++got;
		}
		top->clk_i = 1;
		top->eval();
		top->clk_i = 0;
		top->eval();
		if (in_fire)
			++sent;
		++cycles;
	}
	if (got != vecs.size()) {
		std::printf("FAIL: pipeline hung: %zu of %zu results after %" PRIu64 " cycles\n",
		            got, vecs.size(), cycles);
		tally.failed++;
	}
	top->final();
	std::printf("requant: %zu edge + %zu random vectors, %" PRIu64 " cycles, seed %" PRIu64
	            "\n",
	            n_edge, vecs.size() - n_edge, cycles, seed);
	return tally.finish("requant");
}
