// ISA-level functional model of the descriptors: see isa_model.h. A test
// oracle for the command stream, not a device.
#include "isa_model.h"

#include <cstring>
#include <sstream>

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

int32_t S8(uint32_t v)
{
	return (int8_t)(uint8_t)v;
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
	uint64_t host = d[2] | (uint64_t)d[3] << 32;
	uint32_t sel = d[4], sram = d[5];
	uint32_t chans = d[6] & 0xffff, cols = d[6] >> 16, rows = d[7] & 0xffff;
	uint32_t hcs = d[8], hps = d[9], hrs = d[10], sps = d[11], srs = d[12];
	uint32_t word;

	if (d[4] >> 8 || d[7] >> 16 || d[13] || d[14] || d[15])
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
	uint32_t flags = d[0] >> 16;
	bool epi = flags & NPU_HW_FLAG_EPILOGUE, accum = flags & NPU_HW_FLAG_ACCUMULATE;
	uint32_t ib = d[2], wb = d[3], ob = d[4], pe = d[5];
	int32_t in_h = d[6] & 0xffff, in_w = d[6] >> 16, in_c = d[7] & 0xffff, out_c = d[7] >> 16;
	int32_t oh = d[8] & 0xffff, ow = d[8] >> 16;
	int32_t kh = d[9] & 15, kw = (d[9] >> 4) & 15, sh = (d[9] >> 8) & 15,
	        sw = (d[9] >> 12) & 15;
	int32_t pt = (d[9] >> 16) & 15, pl = (d[9] >> 20) & 15;
	int32_t groups = d[10] & 0xffff, in_zp = S8(d[10] >> 16), out_zp = S8(d[10] >> 24);
	int32_t amin = S8(d[11]), amax = S8(d[11] >> 8);
	uint32_t irs = d[12], ips = d[13], ors = d[14], ops = d[15];
	const uint32_t aw = Cc_;

	if (d[9] >> 24 || d[11] >> 16 || (d[10] >> 16 & 0) || (groups >> 16))
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
	uint32_t src = d[2], dst = d[4], pe = d[5];
	uint32_t P = d[6] & 0xffff, C = d[6] >> 16;
	int32_t out_zp = S8(d[10] >> 24), amin = S8(d[11]), amax = S8(d[11] >> 8);
	uint32_t ocgs = Cdiv(C, R_), opad = Rup(C, Cc_);

	if (d[3] || d[7] || d[8] || d[9] || (d[10] & 0xffffff) || d[11] >> 16 || d[12] || d[13] ||
	    d[14] || d[15])
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
	uint32_t a = d[2], b = d[3], o = d[4], n = d[5];
	int32_t z0 = S8(d[6]), z1 = S8(d[6] >> 8), zo = S8(d[6] >> 16);
	int32_t m0 = (int32_t)d[7], m1 = (int32_t)d[8], mo = (int32_t)d[9];
	int32_t s0 = S8(d[10]), s1 = S8(d[10] >> 8), so = S8(d[10] >> 16);
	int32_t amin = S8(d[11]), amax = S8(d[11] >> 8);

	if (d[6] >> 24 || d[10] >> 24 || d[11] >> 16 || d[12] || d[13] || d[14] || d[15])
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
	uint32_t src = d[2], dst = d[4], pe = d[5];
	int32_t ih = d[6] & 0xffff, iw = d[6] >> 16, C = d[7] & 0xffff;
	int32_t oh = d[8] & 0xffff, ow = d[8] >> 16;
	int32_t kh = d[9] & 15, kw = (d[9] >> 4) & 15, sh = (d[9] >> 8) & 15,
	        sw = (d[9] >> 12) & 15;
	int32_t pt = (d[9] >> 16) & 15, pl = (d[9] >> 20) & 15;
	uint32_t mode = d[10] & 0xff, cip = (d[10] >> 8) & 1;
	int32_t in_zp = S8(d[10] >> 16), out_zp = S8(d[10] >> 24);
	int32_t amin = S8(d[11]), amax = S8(d[11] >> 8);
	uint32_t cp = Rup((uint32_t)C, Cc_);

	if (d[3] || d[7] >> 16 || d[9] >> 24 || (d[10] >> 9 & 0x7f) || d[11] >> 16 || d[14] ||
	    d[15])
		return Err("PPU_POOL: reserved field not zero");
	if (src % Cc_ || dst % Cc_)
		return Err("PPU_POOL: address not word aligned");
	if ((uint64_t)src + (uint64_t)ih * iw * cp > act_.size() ||
	    (uint64_t)dst + (uint64_t)oh * ow * cp > act_.size())
		return Err("PPU_POOL: ACT range");
	if (mode == NPU_HW_POOL_GLOBAL) {
		if (oh != 1 || ow != 1 || d[9])
			return Err("PPU_POOL GLOBAL: bad shape");
		for (int32_t c = 0; c < C; c++) {
			int64_t sum = 0;
			for (int32_t p = 0; p < ih * iw; p++)
				sum += act_[src + (uint64_t)p * cp + c] - in_zp;
			int64_t v = (int64_t)npui_mbqm(npui_sat32(sum), (int32_t)d[12], S8(d[13])) +
			            out_zp;
			act_[dst + c] = (int8_t)(v < amin ? amin : (v > amax ? amax : v));
		}
		stats_.ppu++;
		return "";
	}
	if (d[12] || d[13])
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
	switch (d[0] & 0xff) {
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
		return Err("unknown opcode", d[0] & 0xff);
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
		uint32_t op = d[0] & 0xff;
		switch (op) {
		case NPU_HW_OP_DMA_LOAD:
			*qi = LOAD;
			return "";
		case NPU_HW_OP_DMA_STORE:
			*qi = STORE;
			return "";
		case NPU_HW_OP_SYNC:
			if (d[2] > 2)
				return Err("SYNC: bad queue", d[2]);
			for (int w = 3; w < 16; w++)
				if (d[w])
					return Err("SYNC: reserved word not zero", w);
			*qi = (int)d[2];
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
			const uint32_t *d = &desc[q[qi][head[qi]] * 16];
			uint32_t f = d[0] >> 16;
			uint32_t *pp, *pn, *up, *un;
			counters(qi, &pp, &pn, &up, &un);
			if ((f & NPU_HW_FLAG_POP_PREV) && !*pp)
				continue;
			if ((f & NPU_HW_FLAG_POP_NEXT) && !*pn)
				continue;
			ready[nr++] = qi;
		}
		if (next < n) {
			const uint32_t *d = &desc[next * 16];
			if ((d[0] & 0xff) != NPU_HW_OP_FENCE || idle)
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
			const uint32_t *d = &desc[next * 16];
			uint32_t op = d[0] & 0xff, ver = (d[0] >> 8) & 0xff, f = d[0] >> 16;
			if (ver != NPU_HW_DESC_VERSION)
				return Err("descriptor version", next, ver);
			if (f & 0xfce0)
				return Err("reserved flag", next, f);
			if ((f & 0x300) && op != NPU_HW_OP_PW_CONV && op != NPU_HW_OP_DW_CONV)
				return Err("ACCUMULATE/EPILOGUE on a non-conv", next, op);
			stats_.descs++;
			if (op == NPU_HW_OP_FENCE) {
				for (int w = 2; w < 16; w++)
					if (d[w])
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
		const uint32_t *d = &desc[idx * 16];
		uint32_t f = d[0] >> 16;
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
		if ((d[0] & 0xff) != NPU_HW_OP_SYNC) {
			LayerWork &w = stats_.by_layer[d[1]];
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
