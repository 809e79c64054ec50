// Unit test of rtl-sim/rtl/npu_dma_window.sv (default parameters: 4
// windows, 16-bit lengths) against a direct C model of the rule in
// docs/HARDWARE.md §6. Requests are drawn near window edges (one byte
// inside/outside either end), across the top of the 64-bit address space
// and at random, with random permissions, empty windows and zero lengths.
// Exit status 1 on any mismatch; the last line is
// "dma_window: N passed, N failed".
#include <cinttypes>
#include <cstdio>
#include <memory>

#include "Vnpu_dma_window.h"
#include "tb_util.h"
#include "verilated.h"

namespace
{

constexpr int kWin = 4;

struct Win {
	uint64_t base;
	uint32_t size;
	bool rd, wr;
};

// The rule, in 128-bit arithmetic so nothing wraps.
bool model_hit(const Win &w, uint64_t addr, uint32_t len, bool write)
{
	using u128 = unsigned __int128;
	bool perm = write ? w.wr : w.rd;
	return perm && addr >= w.base && (u128)addr + len <= (u128)w.base + w.size;
}

} // namespace

int main(int argc, char **argv)
{
	auto ctx = std::make_unique<VerilatedContext>();
	ctx->commandArgs(argc, argv);
	auto top = std::make_unique<Vnpu_dma_window>(ctx.get());
	TbRng rng(7);
	TbTally tally;
	long allowed = 0;

	for (int round = 0; round < 4000; ++round) {
		Win w[kWin];
		for (int i = 0; i < kWin; ++i) {
			switch (rng.range(0, 3)) {
			case 0:
				w[i].base = rng.next();
				break; // anywhere
			case 1:
				w[i].base = ~0ull - rng.range(0, 1 << 20);
				break; // near 2^64
			default:
				w[i].base = rng.range(0, 1ll << 32) & ~0xFFFull;
				break;
			}
			w[i].size = rng.range(0, 7) == 0
			                    ? 0
			                    : static_cast<uint32_t>(rng.range(1, 1 << 24));
			if (rng.range(0, 15) == 0)
				w[i].size = 0xFFFFFFFFu;
			w[i].rd = rng.range(0, 3) != 0;
			w[i].wr = rng.range(0, 1) != 0;
			top->win_base_i[2 * i] = static_cast<uint32_t>(w[i].base);
			top->win_base_i[2 * i + 1] = static_cast<uint32_t>(w[i].base >> 32);
			top->win_size_i[i] = w[i].size;
		}
		top->win_rd_i = (w[0].rd ? 1 : 0) | (w[1].rd ? 2 : 0) | (w[2].rd ? 4 : 0) |
		                (w[3].rd ? 8 : 0);
		top->win_wr_i = (w[0].wr ? 1 : 0) | (w[1].wr ? 2 : 0) | (w[2].wr ? 4 : 0) |
		                (w[3].wr ? 8 : 0);

		for (int k = 0; k < 50; ++k) {
			const Win &t = w[rng.range(0, kWin - 1)];
			uint32_t len = static_cast<uint32_t>(
			        rng.range(0, 15) == 0 ? 0 : rng.range(1, 0xFFFF));
			uint64_t addr;
			switch (rng.range(0, 5)) {
			case 0:
				addr = t.base + rng.range(-2, 2);
				break; // start edge
			case 1:
				addr = t.base + t.size - len + rng.range(-2, 2);
				break; // end edge
			case 2:
				addr = t.base + (t.size ? rng.next() % t.size : 0);
				break; // inside
			case 3:
				addr = ~0ull - rng.range(0, 0x1FFFF);
				break; // top of space
			default:
				addr = rng.next();
				break;
			}
			bool write = rng.range(0, 1);
			top->addr_i = addr;
			top->len_i = len;
			top->write_i = write;
			top->eval();
			unsigned want_hit = 0;
			for (int i = 0; i < kWin; ++i)
				want_hit |= model_hit(w[i], addr, len, write) ? 1u << i : 0;
			bool want_ok = len != 0 && want_hit != 0;
			allowed += want_ok;
			char what[200];
			std::snprintf(what, sizeof what,
			              "round %d: addr=%#" PRIx64
			              " len=%u write=%d: ok %d hit %#x (want %d, %#x)",
			              round, addr, len, write, top->ok_o, top->hit_o, want_ok,
			              want_hit);
			tally.check(top->ok_o == want_ok && top->hit_o == want_hit, what);
		}
	}
	top->final();
	std::printf("dma_window: %ld of the requests were allowed\n", allowed);
	return tally.finish("dma_window");
}
