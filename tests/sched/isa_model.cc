// ISA-level functional model of the descriptors: see isa_model.h. A test
// oracle for the command stream, not a device.
#include "isa_model.h"

#include <cstring>
#include <sstream>

#include "driver/npu_desc.h"
#include "driver/npu_regs.h"
#include "ref/quant.h"

namespace isa
{

namespace
{

uint32_t Rup(uint32_t v, uint32_t a)
{
	return (v + a - 1) / a * a;
}

uint32_t Cdiv(uint32_t v, uint32_t a)
{
	return (v + a - 1) / a;
}

// Any bit the descriptor's layout leaves reserved is set.
bool Reserved(npu_desc_layout layout, const uint32_t *d)
{
	for (unsigned i = 0; i < NPU_HW_DESC_WORDS; i++)
		if (d[i] & npu_desc_reserved(layout, i))
			return true;
	return false;
}

npu_desc_hdr Hdr(const uint32_t *d)
{
	npu_desc_hdr h{};

	npu_desc_hdr_unpack(d, &h);
	return h;
}

std::string Err(const char *what, uint64_t a = 0, uint64_t b = 0)
{
	std::ostringstream os;
	os << what << " (" << a << ", " << b << ")";
	return os.str();
}

} // namespace

Model::Model(const npui_caps &caps, uint32_t seed) : caps_(caps), rng_(seed)
{
	R_ = caps.pw_rows;
	Cc_ = caps.pw_cols;
	L_ = caps.dw_lanes;
	PL_ = R_ > L_ ? R_ : L_;
	act_.resize(caps.act_bytes);
	wgt_.resize(caps.wgt_bytes);
	acc_.resize(caps.acc_bytes / 4);
	param_.resize(caps.param_bytes / 4);
	// Noise everywhere: nothing may depend on what a buffer held before.
	for (auto &v : act_)
		v = (int8_t)rng_();
	for (auto &v : wgt_)
		v = (int8_t)rng_();
	for (auto &v : acc_)
		v = (int32_t)rng_();
	for (auto &v : param_)
		v = (int32_t)rng_();
}

void Model::AddRegion(uint64_t base, uint8_t *ptr, size_t size, bool writable)
{
	regions_.push_back({base, ptr, size, writable});
}

uint8_t *Model::Host(uint64_t addr, bool write)
{
	for (auto &r : regions_)
		if (addr >= r.base && addr < r.base + r.size && (!write || r.writable))
			return r.ptr + (addr - r.base);
	return nullptr;
}

std::string Model::Dma(const uint32_t *d, bool store)
{
	npu_desc_dma s{};
	npu_desc_dma_unpack(d, &s);
	uint64_t host = s.host_addr;
	uint32_t sel = s.sram_sel, sram = s.sram_addr;
	uint32_t chans = s.chans, cols = s.cols, rows = s.rows;
	uint32_t hcs = s.host_chan_stride, hps = s.host_pix_stride, hrs = s.host_row_stride,
	         sps = s.sram_pix_stride, srs = s.sram_row_stride;
	uint32_t word;

	if (Reserved(NPU_DESC_LAYOUT_DMA, d))
		return Err("DMA: reserved field not zero");
	if (!chans || !cols || !rows)
		return Err("DMA: empty box", chans, cols);
	switch (sel) {
	case NPU_HW_SRAM_ACT:
		word = Cc_;
		break;
	case NPU_HW_SRAM_WGT:
		word = R_ * Cc_;
		break;
	case NPU_HW_SRAM_PARAM:
		word = 4 * PL_;
		break;
	default:
		return Err("DMA: SRAM select not modeled", sel);
	}
	// Pixel and row strides are whole words (§7); the box may start and
	// end inside a word (byte enables), as a channel count can.
	if ((cols > 1 && sps % word) || (rows > 1 && srs % word))
		return Err("DMA: SRAM stride not a multiple of the word", sps, srs);
	for (uint32_t r = 0; r < rows; r++)
		for (uint32_t x = 0; x < cols; x++)
			for (uint32_t c = 0; c < chans; c++) {
				uint64_t h = host + (uint64_t)r * hrs + (uint64_t)x * hps +
				             (uint64_t)c * hcs;
				uint64_t s =
				        (uint64_t)sram + (uint64_t)r * srs + (uint64_t)x * sps + c;
				uint8_t *hp = Host(h, store);
				int8_t *sp;

				if (!hp)
					return Err("DMA: host address outside every window", h,
					           store);
				if (sel == NPU_HW_SRAM_ACT) {
					if (s >= act_.size())
						return Err("DMA: ACT range", s);
					sp = &act_[s];
				} else if (sel == NPU_HW_SRAM_WGT) {
					if (s >= wgt_.size())
						return Err("DMA: WGT range", s);
					sp = &wgt_[s];
				} else {
					if (s >= param_.size() * 4)
						return Err("DMA: PARAM range", s);
					sp = (int8_t *)param_.data() + s;
				}
				if (store) {
					if (sel != NPU_HW_SRAM_ACT)
						return Err("DMA_STORE: only from ACT");
					*hp = (uint8_t)*sp;
				} else {
					*sp = (int8_t)*hp;
				}
			}
	(store ? stats_.wr_bytes : stats_.rd_bytes) += (uint64_t)rows * cols * chans;
	(store ? stats_.stores : stats_.loads)++;
	return "";
}

std::string Model::Conv(const uint32_t *d, bool dw)
{
	npu_desc_conv s{};
	npu_desc_conv_unpack(d, &s);
	uint32_t flags = s.flags;
	bool epi = flags & NPU_HW_FLAG_EPILOGUE, accum = flags & NPU_HW_FLAG_ACCUMULATE;
	uint32_t ib = s.in_addr, wb = s.wgt_addr, ob = s.out_addr, pe = s.param_entry;
	int32_t in_h = s.in_h, in_w = s.in_w, in_c = s.in_c, out_c = s.out_c;
	int32_t oh = s.out_h, ow = s.out_w;
	int32_t kh = s.kh, kw = s.kw, sh = s.stride_h, sw = s.stride_w;
	int32_t pt = s.pad_t, pl = s.pad_l;
	int32_t groups = s.groups, in_zp = s.in_zp, out_zp = s.out_zp;
	int32_t amin = s.act_min, amax = s.act_max;
	uint32_t irs = s.in_row_stride, ips = s.in_pix_stride, ors = s.out_row_stride,
	         ops = s.out_pix_stride;
	const uint32_t aw = Cc_;

	if (Reserved(NPU_DESC_LAYOUT_CONV, d))
		return Err("CONV: reserved field not zero");
	if (!in_h || !in_w || !in_c || !out_c || !oh || !ow || !kh || !kw || !sh || !sw ||
	    pt >= kh || pl >= kw)
		return Err("CONV: bad geometry");
	if (ib % aw || irs % aw || ips % aw)
		return Err("CONV: input address/stride not word aligned", ib, ips);
	if (epi && (ob % aw || ors % aw || ops % aw))
		return Err("CONV: output address/stride not word aligned", ob, ops);
	if (dw) {
		if (groups != 0 || in_c != out_c || kh != kw || (kh != 3 && kh != 5) || sh != sw ||
		    (sh != 1 && sh != 2))
			return Err("DW_CONV: shape not supported", kh, sh);
		if (!epi)
			return Err("DW_CONV without EPILOGUE: not modeled");
		if (wb % (R_ * Cc_))
			return Err("DW_CONV: weight address not word aligned", wb);
		int32_t ngr = (int32_t)Cdiv(in_c, L_);
		for (int32_t g = 0; g < ngr; g++)
			for (int32_t oy = 0; oy < oh; oy++)
				for (int32_t ox = 0; ox < ow; ox++)
					for (uint32_t lane = 0; lane < L_; lane++) {
						int32_t ch = g * (int32_t)L_ + (int32_t)lane;
						if (ch >= in_c)
							break;
						uint64_t pw = ((uint64_t)pe + g) * PL_ + lane;
						uint64_t pm = pw + (uint64_t)ngr * PL_;
						uint64_t ps = pm + (uint64_t)ngr * PL_;
						if (ps >= param_.size())
							return Err("DW: PARAM range", pw);
						int64_t acc = param_[pw];
						for (int32_t ky = 0; ky < kh; ky++)
							for (int32_t kx = 0; kx < kw; kx++) {
								int32_t iy = oy * sh - pt + ky,
								        ix = ox * sw - pl + kx;
								if (iy < 0 || iy >= in_h ||
								    ix < 0 || ix >= in_w)
									continue;
								uint64_t ia =
								        ib + (uint64_t)iy * irs +
								        (uint64_t)ix * ips + ch;
								uint64_t wa =
								        wb +
								        ((uint64_t)(ky * kw + kx) *
								                 ngr +
								         g) * L_ +
								        lane;
								if (ia >= act_.size() ||
								    wa >= wgt_.size())
									return Err("DW: SRAM range",
									           ia, wa);
								acc += (int64_t)(act_[ia] - in_zp) *
								       wgt_[wa];
								stats_.dw_macs++;
							}
						int32_t q = npui_mbqm((int32_t)acc, param_[pm],
						                      param_[ps]);
						int64_t v = (int64_t)q + out_zp;
						v = v < amin ? amin : (v > amax ? amax : v);
						uint64_t oa = ob + (uint64_t)oy * ors +
						              (uint64_t)ox * ops + ch;
						if (oa >= act_.size())
							return Err("DW: ACT out range", oa);
						act_[oa] = (int8_t)v;
					}
		stats_.dw++;
		return "";
	}
	if (groups != 1)
		return Err("PW_CONV: groups != 1 not modeled", groups);
	if (wb % (R_ * Cc_))
		return Err("PW_CONV: weight address not word aligned", wb);
	int32_t icgs = (int32_t)Cdiv(in_c, Cc_), ocgs = (int32_t)Cdiv(out_c, R_);
	for (int32_t ocg = 0; ocg < ocgs; ocg++)
		for (int32_t oy = 0; oy < oh; oy++)
			for (int32_t ox = 0; ox < ow; ox++)
				for (uint32_t r = 0; r < R_; r++) {
					int32_t oc = ocg * (int32_t)R_ + (int32_t)r;
					if (oc >= out_c)
						break;
					uint64_t pw = ((uint64_t)pe + ocg) * PL_ + r;
					uint64_t pm = pw + (uint64_t)ocgs * PL_;
					uint64_t ps = pm + (uint64_t)ocgs * PL_;
					uint64_t aw_ = ((uint64_t)ob + ocg + (uint64_t)oy * ors +
					                (uint64_t)ox * ops) *
					                       R_ +
					               r;
					if (ps >= param_.size())
						return Err("PW: PARAM range", pw);
					if (!epi && aw_ >= acc_.size())
						return Err("PW: ACC range", aw_);
					int64_t acc = accum ? acc_[aw_] : param_[pw];
					if (accum && epi)
						return Err(
						        "PW: ACCUMULATE with EPILOGUE not modeled");
					for (int32_t ky = 0; ky < kh; ky++)
						for (int32_t kx = 0; kx < kw; kx++) {
							int32_t iy = oy * sh - pt + ky,
							        ix = ox * sw - pl + kx;
							if (iy < 0 || iy >= in_h || ix < 0 ||
							    ix >= in_w)
								continue;
							for (int32_t icg = 0; icg < icgs; icg++)
								for (uint32_t c = 0; c < Cc_; c++) {
									int32_t ch =
									        icg * (int32_t)Cc_ +
									        (int32_t)c;
									if (ch >= in_c)
										break;
									uint64_t ia =
									        ib +
									        (uint64_t)iy * irs +
									        (uint64_t)ix * ips +
									        ch;
									uint64_t wa =
									        wb +
									        ((((uint64_t)ocg *
									                   kh +
									           ky) * kw +
									          kx) * icgs +
									         icg) * R_ *
									                Cc_ +
									        r * Cc_ + c;
									if (ia >= act_.size() ||
									    wa >= wgt_.size())
										return Err(
										        "PW: SRAM "
										        "range",
										        ia, wa);
									acc += (int64_t)(act_[ia] -
									                 in_zp) *
									       wgt_[wa];
									stats_.pw_macs++;
								}
						}
					if (!epi) {
						acc_[aw_] = (int32_t)acc;
						continue;
					}
					int32_t q = npui_mbqm((int32_t)acc, param_[pm], param_[ps]);
					int64_t v = (int64_t)q + out_zp;
					v = v < amin ? amin : (v > amax ? amax : v);
					uint64_t oa =
					        ob + (uint64_t)oy * ors + (uint64_t)ox * ops + oc;
					if (oa >= act_.size())
						return Err("PW: ACT out range", oa);
					act_[oa] = (int8_t)v;
				}
	stats_.pw++;
	return "";
}

std::string Model::Requant(const uint32_t *d)
{
	npu_desc_requant s{};
	npu_desc_requant_unpack(d, &s);
	uint32_t src = s.src_addr, dst = s.dst_addr, pe = s.param_entry;
	uint32_t P = s.pixels, C = s.channels;
	int32_t out_zp = s.out_zp, amin = s.act_min, amax = s.act_max;
	uint32_t ocgs = Cdiv(C, R_), opad = Rup(C, Cc_);

	if (Reserved(NPU_DESC_LAYOUT_REQUANT, d))
		return Err("PPU_REQUANT: reserved field not zero");
	if (dst % Cc_)
		return Err("PPU_REQUANT: destination not word aligned", dst);
	for (uint32_t p = 0; p < P; p++)
		for (uint32_t c = 0; c < C; c++) {
			uint64_t a = ((uint64_t)src + p * ocgs + c / R_) * R_ + c % R_;
			uint64_t pm = ((uint64_t)pe + ocgs + c / R_) * PL_ + c % R_;
			uint64_t ps = pm + (uint64_t)ocgs * PL_;
			uint64_t o = dst + (uint64_t)p * opad + c;
			if (a >= acc_.size() || ps >= param_.size() || o >= act_.size())
				return Err("PPU_REQUANT: range", a, o);
			int64_t v = (int64_t)npui_mbqm(acc_[a], param_[pm], param_[ps]) + out_zp;
			act_[o] = (int8_t)(v < amin ? amin : (v > amax ? amax : v));
		}
	stats_.ppu++;
	return "";
}

std::string Model::Add(const uint32_t *d)
{
	npu_desc_add s{};
	npu_desc_add_unpack(d, &s);
	uint32_t a = s.src_a_addr, b = s.src_b_addr, o = s.dst_addr, n = s.count;
	int32_t z0 = s.in0_zp, z1 = s.in1_zp, zo = s.out_zp;
	int32_t m0 = s.in0_mult, m1 = s.in1_mult, mo = s.out_mult;
	int32_t s0 = s.in0_shift, s1 = s.in1_shift, so = s.out_shift;
	int32_t amin = s.act_min, amax = s.act_max;

	if (Reserved(NPU_DESC_LAYOUT_ADD, d))
		return Err("PPU_ADD: reserved field not zero");
	if (a % Cc_ || b % Cc_ || o % Cc_)
		return Err("PPU_ADD: address not word aligned");
	if ((uint64_t)a + n > act_.size() || (uint64_t)b + n > act_.size() ||
	    (uint64_t)o + n > act_.size())
		return Err("PPU_ADD: ACT range", n);
	for (uint32_t i = 0; i < n; i++) {
		int32_t y0 = npui_mbqm((act_[a + i] - z0) * (1 << 20), m0, s0);
		int32_t y1 = npui_mbqm((act_[b + i] - z1) * (1 << 20), m1, s1);
		int64_t v = (int64_t)npui_mbqm(y0 + y1, mo, so) + zo;
		act_[o + i] = (int8_t)(v < amin ? amin : (v > amax ? amax : v));
	}
	stats_.ppu++;
	return "";
}

std::string Model::Pool(const uint32_t *d)
{
	npu_desc_pool s{};
	npu_desc_pool_unpack(d, &s);
	uint32_t src = s.src_addr, dst = s.dst_addr, pe = s.param_entry;
	int32_t ih = s.in_h, iw = s.in_w, C = s.channels;
	int32_t oh = s.out_h, ow = s.out_w;
	int32_t kh = s.kh, kw = s.kw, sh = s.stride_h, sw = s.stride_w;
	int32_t pt = s.pad_t, pl = s.pad_l;
	uint32_t mode = s.mode, cip = s.count_include_pad;
	int32_t in_zp = s.in_zp, out_zp = s.out_zp;
	int32_t amin = s.act_min, amax = s.act_max;
	uint32_t cp = Rup((uint32_t)C, Cc_);
	// GLOBAL has no kernel: every kernel field is zero
	bool kernel = kh || kw || sh || sw || pt || pl;

	if (Reserved(NPU_DESC_LAYOUT_POOL, d))
		return Err("PPU_POOL: reserved field not zero");
	if (src % Cc_ || dst % Cc_)
		return Err("PPU_POOL: address not word aligned");
	if ((uint64_t)src + (uint64_t)ih * iw * cp > act_.size() ||
	    (uint64_t)dst + (uint64_t)oh * ow * cp > act_.size())
		return Err("PPU_POOL: ACT range");
	if (mode == NPU_HW_POOL_GLOBAL) {
		if (oh != 1 || ow != 1 || kernel)
			return Err("PPU_POOL GLOBAL: bad shape");
		for (int32_t c = 0; c < C; c++) {
			int64_t sum = 0;
			for (int32_t p = 0; p < ih * iw; p++)
				sum += act_[src + (uint64_t)p * cp + c] - in_zp;
			int64_t v =
			        (int64_t)npui_mbqm(npui_sat32(sum), s.global_mult, s.global_shift) +
			        out_zp;
			act_[dst + c] = (int8_t)(v < amin ? amin : (v > amax ? amax : v));
		}
		stats_.ppu++;
		return "";
	}
	if (s.global_mult || s.global_shift)
		return Err("PPU_POOL: reserved field not zero");
	if (mode > NPU_HW_POOL_AVG || kh != 3 || kw != 3 || sh != 2 || sw != 2)
		return Err("PPU_POOL: only 3x3 s2 and global", kh, sh);
	for (int32_t oy = 0; oy < oh; oy++)
		for (int32_t ox = 0; ox < ow; ox++)
			for (int32_t c = 0; c < C; c++) {
				int32_t mx = -128, n = 0;
				int64_t sum = 0;
				for (int32_t ky = 0; ky < kh; ky++)
					for (int32_t kx = 0; kx < kw; kx++) {
						int32_t iy = oy * sh - pt + ky,
						        ix = ox * sw - pl + kx;
						if (iy < 0 || iy >= ih || ix < 0 || ix >= iw)
							continue;
						int32_t x = act_[src +
						                 ((uint64_t)iy * iw + ix) * cp + c];
						mx = x > mx ? x : mx;
						sum += x - in_zp;
						n++;
					}
				int64_t v;
				if (mode == NPU_HW_POOL_MAX) {
					v = mx;
				} else {
					int32_t cnt = cip ? kh * kw : n;
					uint64_t w = ((uint64_t)pe + cnt - 1) * PL_;
					if (w + 1 >= param_.size())
						return Err("PPU_POOL: PARAM range", w);
					v = (int64_t)npui_mbqm((int32_t)sum, param_[w],
					                       param_[w + 1]) +
					    out_zp;
				}
				act_[dst + ((uint64_t)oy * ow + ox) * cp + c] =
				        (int8_t)(v < amin ? amin : (v > amax ? amax : v));
			}
	stats_.ppu++;
	return "";
}

std::string Model::Exec(const uint32_t *d)
{
	uint32_t op = Hdr(d).opcode;

	switch (op) {
	case NPU_HW_OP_DMA_LOAD:
		return Dma(d, false);
	case NPU_HW_OP_DMA_STORE:
		return Dma(d, true);
	case NPU_HW_OP_PW_CONV:
		return Conv(d, false);
	case NPU_HW_OP_DW_CONV:
		return Conv(d, true);
	case NPU_HW_OP_PPU_REQUANT:
		return Requant(d);
	case NPU_HW_OP_PPU_ADD:
		return Add(d);
	case NPU_HW_OP_PPU_POOL:
		return Pool(d);
	case NPU_HW_OP_SYNC:
		stats_.syncs++;
		return "";
	default:
		return Err("unknown opcode", op);
	}
}

std::string Model::Run(const uint32_t *desc, uint32_t n)
{
	enum { LOAD, COMPUTE, STORE };
	std::vector<uint32_t> q[3];
	size_t head[3] = {0, 0, 0};
	// tokens: l2c, c2l, c2s, s2c
	uint32_t l2c = 0, c2l = 0, c2s = 0, s2c = 0;
	uint32_t next = 0;

	auto queue_of = [&](const uint32_t *d, int *qi) -> std::string {
		uint32_t op = Hdr(d).opcode;
		npu_desc_sync sy{};
		switch (op) {
		case NPU_HW_OP_DMA_LOAD:
			*qi = LOAD;
			return "";
		case NPU_HW_OP_DMA_STORE:
			*qi = STORE;
			return "";
		case NPU_HW_OP_SYNC:
			npu_desc_sync_unpack(d, &sy);
			if (Reserved(NPU_DESC_LAYOUT_SYNC, d))
				return Err("SYNC: reserved field not zero");
			if (sy.queue > 2)
				return Err("SYNC: bad queue", sy.queue);
			*qi = (int)sy.queue;
			return "";
		case NPU_HW_OP_PW_CONV:
		case NPU_HW_OP_DW_CONV:
		case NPU_HW_OP_PPU_REQUANT:
		case NPU_HW_OP_PPU_ADD:
		case NPU_HW_OP_PPU_POOL:
			*qi = COMPUTE;
			return "";
		default:
			return Err("unknown opcode", op);
		}
	};
	auto counters = [&](int qi, uint32_t **pp, uint32_t **pn, uint32_t **up, uint32_t **un) {
		*pp = qi == COMPUTE ? &l2c : qi == STORE ? &c2s : nullptr;
		*pn = qi == LOAD ? &c2l : qi == COMPUTE ? &s2c : nullptr;
		*up = qi == COMPUTE ? &c2l : qi == STORE ? &s2c : nullptr;
		*un = qi == LOAD ? &l2c : qi == COMPUTE ? &c2s : nullptr;
	};

	for (;;) {
		int ready[4], nr = 0;
		bool idle = true;

		for (int qi = 0; qi < 3; qi++) {
			if (head[qi] == q[qi].size())
				continue;
			idle = false;
			const uint32_t *d = &desc[q[qi][head[qi]] * NPU_HW_DESC_WORDS];
			uint32_t f = Hdr(d).flags;
			uint32_t *pp, *pn, *up, *un;
			counters(qi, &pp, &pn, &up, &un);
			if ((f & NPU_HW_FLAG_POP_PREV) && !*pp)
				continue;
			if ((f & NPU_HW_FLAG_POP_NEXT) && !*pn)
				continue;
			ready[nr++] = qi;
		}
		if (next < n) {
			const uint32_t *d = &desc[next * NPU_HW_DESC_WORDS];
			if (Hdr(d).opcode != NPU_HW_OP_FENCE || idle)
				ready[nr++] = 3;
		}
		if (!nr) {
			if (idle && next == n)
				return "";
			return Err("deadlock: queues wait for tokens that never come", next,
			           l2c * 1000000 + c2l * 10000 + c2s * 100 + s2c);
		}
		int pick = ready[rng_() % nr];
		if (pick == 3) {
			const uint32_t *d = &desc[next * NPU_HW_DESC_WORDS];
			npu_desc_hdr h = Hdr(d);
			uint32_t op = h.opcode, ver = h.version, f = h.flags;
			if (ver != NPU_HW_DESC_VERSION)
				return Err("descriptor version", next, ver);
			if (f & 0xfce0)
				return Err("reserved flag", next, f);
			if ((f & (NPU_HW_FLAG_ACCUMULATE | NPU_HW_FLAG_EPILOGUE)) &&
			    op != NPU_HW_OP_PW_CONV && op != NPU_HW_OP_DW_CONV)
				return Err("ACCUMULATE/EPILOGUE on a non-conv", next, op);
			stats_.descs++;
			if (op == NPU_HW_OP_FENCE) {
				if (Reserved(NPU_DESC_LAYOUT_FENCE, d))
					return Err("FENCE: reserved word not zero", next);
				if (f & ~NPU_HW_FLAG_IRQ)
					return Err("FENCE: token flags", next, f);
				// The scheduler's convention (docs/SCHEDULER.md): every
				// layer returns the tokens it primed before its FENCE.
				if (l2c || c2l || c2s || s2c)
					return Err("tokens left at FENCE", next,
					           l2c * 1000000 + c2l * 10000 + c2s * 100 + s2c);
				next++;
				continue;
			}
			int qi = 0;
			std::string e = queue_of(d, &qi);
			if (!e.empty())
				return e + " at " + std::to_string(next);
			if ((qi == LOAD && (f & (NPU_HW_FLAG_POP_PREV | NPU_HW_FLAG_PUSH_PREV))) ||
			    (qi == STORE && (f & (NPU_HW_FLAG_POP_NEXT | NPU_HW_FLAG_PUSH_NEXT))))
				return Err("token flag towards a queue that does not exist", next,
				           f);
			q[qi].push_back(next++);
			continue;
		}
		uint32_t idx = q[pick][head[pick]++];
		const uint32_t *d = &desc[idx * NPU_HW_DESC_WORDS];
		npu_desc_hdr h = Hdr(d);
		uint32_t f = h.flags;
		uint32_t *pp, *pn, *up, *un;
		counters(pick, &pp, &pn, &up, &un);
		if (f & NPU_HW_FLAG_POP_PREV)
			(*pp)--;
		if (f & NPU_HW_FLAG_POP_NEXT)
			(*pn)--;
		const uint64_t macs0 = stats_.pw_macs + stats_.dw_macs;
		std::string e = Exec(d);
		if (!e.empty())
			return e + " at descriptor " + std::to_string(idx);
		if (h.opcode != NPU_HW_OP_SYNC) {
			LayerWork &w = stats_.by_layer[h.tag];
			w.ops++;
			w.macs += stats_.pw_macs + stats_.dw_macs - macs0;
		}
		if (f & NPU_HW_FLAG_PUSH_PREV)
			if (++*up > 255)
				return Err("token counter overflow", idx);
		if (f & NPU_HW_FLAG_PUSH_NEXT)
			if (++*un > 255)
				return Err("token counter overflow", idx);
	}
}

} // namespace isa
