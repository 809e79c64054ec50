/*
 * ONNX's own node conformance data (Debian libonnx-testdata) as external
 * truth for lwnpu's CPU kernels (docs/GOALS.md §6, rung 4).
 *
 * Every single-node case of an op the kernels implement is one test line
 * (OnnxConformance/Case.Matches/test_...). A case runs when lwnpu can
 * express it exactly; otherwise it is GTEST_SKIP()ped with the reason.
 *
 * Exactness per op:
 *   ConvInteger   exact: int32 accumulators (npu_ref_s8_conv2d_acc32).
 *   QLinearConv   ONNX requantizes in float (round half to even), lwnpu in
 *                 Q31 fixed point (docs/NUMERICS.md §2): each output within 1 LSB;
 *                 the number of outputs that differ is reported.
 *   float ops     the float input is quantized with a scale/zero point
 *                 covering its range (and 0), the int8 kernel runs, the
 *                 output is dequantized and compared per element within a
 *                 bound derived beside each comparison. Integer-typed cases
 *                 (uint8/int8 data) use scale 1, where the bound is < 1:
 *                 exact.
 *   Softmax       float kernel on the float data, relative 1e-6.
 *
 * Exact re-expressions used (each changes no value):
 *   - 1-D pools ([N,C,W]) run as 2-D with H = 1.
 *   - ceil_mode: extra bottom/right padding until lwnpu's floor rule gives
 *     ONNX's size; max pool and valid-count average pool ignore those taps
 *     exactly as ONNX does (count_include_pad with it is skipped).
 *   - Concat on axis a of row-major data = channel concat with
 *     hw = prod(dims[:a]) and c = prod(dims[a:]) per input.
 *   - HardSigmoid(alpha, beta) = hsig(6*alpha*x + 6*beta - 3), folded into
 *     the LUT's input quant (see unary_of).
 *   - QLinearConv weights beyond int8 after removing the zero point: the
 *     channel divided by its gcd, w_scale times it (onnx_lower.h).
 * Function-expanded twins (test_*_expanded) hold the same data as several
 * nodes; they are listed and skipped, the single-node case runs.
 */
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <sstream>

#include "ir/graph.h"
#include "npu.h"
#include "onnx/onnx.pb-c.h"
#include "onnx_lower.h"
#include "onnx_testdata.h"
#include "ref/quant.h"
#include "ref/ref.h"

using namespace onnxtd;

namespace
{

const char *const kNoData = "testdata_absent";

/* The ops lwnpu's CPU kernels implement. */
const std::vector<std::string> kOps = {
        "QLinearConv", "ConvInteger", "HardSwish", "HardSigmoid", "GlobalAveragePool",
        "MaxPool",     "AveragePool", "Relu",      "Clip",        "Add",
        "Concat",      "Softmax",
};

const int32_t kF32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
const int32_t kU8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
const int32_t kI8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8;

std::vector<std::string> case_names()
{
	std::vector<std::string> names = discover(kNodeTestRoot, kOps);
	if (names.empty())
		names.push_back(kNoData);
	return names;
}

/* ---- quantization of the float data ------------------------------------ */

/*
 * Scale and zero point covering [lo, hi] and 0, as a calibrated model
 * would have: s = (hi - lo) / 255, zp = round(-128 - lo / s). Every value
 * of [lo, hi] then quantizes within s/2 (the ends may clamp by < s/2).
 */
struct npui_quant range_quant(double lo, double hi)
{
	lo = std::min(lo, 0.0);
	hi = std::max(hi, 0.0);
	if (hi - lo < 1e-30)
		hi = lo + 1.0;
	struct npui_quant q;
	q.scale = float((hi - lo) / 255.0);
	q.zero_point =
	        int32_t(npui_clamp(int32_t(npui_round(-128.0 - lo / double(q.scale))), -128, 127));
	return q;
}

/* Float tensors: their range; uint8 v -> q = v - 128; int8: q = v. */
struct npui_quant quant_for(const Tensor &t)
{
	if (t.dtype == kU8)
		return {1.0f, -128};
	if (t.dtype == kI8)
		return {1.0f, 0};
	double lo = 0, hi = 0;
	for (size_t k = 0; k < t.numel(); k++) {
		lo = std::min(lo, t.at(k));
		hi = std::max(hi, t.at(k));
	}
	return range_quant(lo, hi);
}

double deq(int8_t v, const struct npui_quant &q)
{
	return double(q.scale) * (int32_t(v) - q.zero_point);
}

std::vector<int8_t> quantize(const std::vector<double> &x, const struct npui_quant &q)
{
	std::vector<float> f(x.begin(), x.end());
	std::vector<int8_t> out(x.size());
	npu_ref_f32_quantize(f.data(), f.size(), q.scale, q.zero_point, out.data());
	return out;
}

std::vector<double> values(const Tensor &t)
{
	std::vector<double> v(t.numel());
	for (size_t k = 0; k < v.size(); k++)
		v[k] = t.at(k);
	return v;
}

bool supported_dtype(const Tensor &t)
{
	return t.dtype == kF32 || t.dtype == kU8 || t.dtype == kI8;
}

/* ---- the error bound --------------------------------------------------- */

/*
 * Output-rounding error of npui_mbqm, in output LSBs. With a right shift r
 * it rounds twice: in the doubling high multiply (at 2^-r LSB: <= 2^-(r+1))
 * and in RoundingDivideByPOT (<= 1/2). The Q31 encoding of M is off by at
 * most 2^-31 relative, on values below 2^10 LSB: < 2^-21 LSB.
 */
double mbqm_err_lsb(int32_t shift)
{
	return 0.5 + (shift < 0 ? std::ldexp(0.5, shift) : 0.0) + std::ldexp(1.0, -21);
}

/*
 * Float noise only: the expected outputs are float32 results (a few ulp)
 * and our dequantization is double. 8 ulp of the magnitude (or of 1).
 */
double fslack(double want)
{
	return 8.0 * FLT_EPSILON * (1.0 + std::fabs(want));
}

/* Collects per-element comparisons; reports the first violation. */
struct Checker {
	size_t n = 0, bad = 0, differ = 0;
	double worst = 0; /* max |err| / tol */
	std::string first;

	void add(double got, double want, double tol, const std::function<std::string()> &where)
	{
		double err = std::fabs(got - want);
		n++;
		if (err > 0)
			differ++;
		if (tol > 0)
			worst = std::max(worst, err / tol);
		if (err > tol || std::isnan(got)) {
			if (!bad++) {
				std::ostringstream s;
				s.precision(9);
				s << "first mismatch at " << where() << ": got " << got << " want "
				  << want << " |err| " << err << " > tol " << tol;
				first = s.str();
			}
		}
	}
};

std::string flat_where(size_t i)
{
	return "i=" + std::to_string(i);
}

std::string img_where(int32_t k, int32_t y, int32_t x, int32_t c)
{
	return "n=" + std::to_string(k) + " c=" + std::to_string(c) + " y=" + std::to_string(y) +
	       " x=" + std::to_string(x);
}

/* The case's single output must be the one the op produces. */
std::string single_output(const Case &c, const DataSet &ds)
{
	if (c.nodes[0].outputs.size() != 1 || ds.outputs.size() != 1)
		return "node has " + std::to_string(ds.outputs.size()) +
		       " outputs (e.g. MaxPool Indices): lwnpu computes only the values";
	return "";
}

/* ---- unary ops through a 256-entry table -------------------------------- */

struct Unary {
	int fn = 0;              /* enum npui_lut_fn */
	double in_scale_mul = 1; /* the LUT reads the input quant as (s * m, zp - shift) */
	int32_t in_zp_shift = 0;
	double t_mul = 1, t_add = 0;     /* LUT argument t = t_mul * x + t_add, exactly */
	double t_lip = 1;                /* |d out / d t| bound (for the folding noise) */
	std::function<double(double)> f; /* the ONNX function of x */
	/* max |f'| over [lo, hi]: the input error propagated, mean value thm */
	std::function<double(double, double)> lip;
};

/* max of a slope that is `slope` on (a, b) and 0 outside, over [lo, hi]. */
double lip_window(double lo, double hi, double a, double b, double slope)
{
	return (hi >= a && lo <= b) ? slope : 0.0;
}

/* h-swish x*relu6(x+3)/6: f' = 0 below -3, (2x+3)/6 on (-3, 3), 1 above. |f'|
 * is convex on each piece, so its max is at the ends or the break points. */
double lip_hswish(double lo, double hi)
{
	auto g = [](double t) { return t < -3 ? 0.0 : t > 3 ? 1.0 : std::fabs(2 * t + 3) / 6; };
	double m = std::max(g(lo), g(hi));
	if (lo <= -3 && hi >= -3)
		m = std::max(m, 0.5);
	if (lo <= 3 && hi >= 3)
		m = std::max(m, 1.5);
	return m;
}

std::string unary_of(const Case &c, const DataSet &ds, const struct npui_quant &in_q, Unary *u)
{
	const Node &node = c.nodes[0];
	const std::string &op = node.op_type;
	if (op == "Relu") {
		u->fn = NPUI_LUT_RELU;
		u->f = [](double x) { return std::max(x, 0.0); };
		u->lip = [](double lo, double hi) { return lip_window(lo, hi, 0, INFINITY, 1); };
		return "";
	}
	if (op == "HardSwish") {
		u->fn = NPUI_LUT_HSWISH;
		u->f = [](double x) { return x * std::min(std::max(x + 3, 0.0), 6.0) / 6; };
		u->lip = lip_hswish;
		return "";
	}
	if (op == "Clip") {
		double lo = -INFINITY, hi = INFINITY;
		if (c.opset < 11) {
			lo = node.attr_f("min", -FLT_MAX);
			hi = node.attr_f("max", FLT_MAX);
		} else {
			const Tensor *tmin =
			        node.inputs.size() > 1 ? c.value(ds, node.inputs[1]) : nullptr;
			const Tensor *tmax =
			        node.inputs.size() > 2 ? c.value(ds, node.inputs[2]) : nullptr;
			if (tmin)
				lo = tmin->at(0);
			if (tmax)
				hi = tmax->at(0);
		}
		bool no_max = hi >= FLT_MAX;
		if (lo == 0 && no_max) {
			u->fn = NPUI_LUT_RELU;
			u->f = [](double x) { return std::max(x, 0.0); };
			u->lip = [](double a, double b) {
				return lip_window(a, b, 0, INFINITY, 1);
			};
			return "";
		}
		if (lo == 0 && hi == 6) {
			u->fn = NPUI_LUT_RELU6;
			u->f = [](double x) { return std::min(std::max(x, 0.0), 6.0); };
			u->lip = [](double a, double b) { return lip_window(a, b, 0, 6, 1); };
			return "";
		}
		std::ostringstream s;
		s << "Clip(" << lo << ", " << hi
		  << "): lwnpu clamps only as ReLU (min 0) or ReLU6 (0, 6); "
		  << (lo <= -FLT_MAX && no_max ? "an unbounded Clip is the identity"
		                               : "this range has no lwnpu op");
		return s.str();
	}
	if (op == "HardSigmoid") {
		/*
		 * ONNX: max(0, min(1, a*x + b)); lwnpu: hsig(t) = relu6(t + 3) / 6.
		 * hsig(6a*x + 6b - 3) is exactly the ONNX function. With x =
		 * s (q - zp), 6a*x + 6b - 3 = 6a*s * (q - zp + (b - 0.5)/(a*s)): the
		 * affine map folds into the LUT's input quant when (b - 0.5)/(a*s)
		 * is an integer k. For b = 0.5 (default) k = 0; otherwise the caller
		 * picked s so that it is (input_quant_for below).
		 */
		double a = node.attr_f("alpha", 0.2f), b = node.attr_f("beta", 0.5f);
		if (!(a > 0))
			return "HardSigmoid alpha <= 0: not a rescaled h-sigmoid";
		double k = (b - 0.5) / (a * double(in_q.scale));
		double kr = std::round(k);
		if (std::fabs(k - kr) > 1e-3)
			return "malformed: HardSigmoid fold offset not integral";
		u->fn = NPUI_LUT_HSIGMOID;
		u->in_scale_mul = 6 * a;
		u->in_zp_shift = int32_t(kr);
		u->t_mul = 6 * a;
		u->t_add = 6 * b - 3;
		u->t_lip = 1.0 / 6;
		u->f = [a, b](double x) { return std::min(std::max(a * x + b, 0.0), 1.0); };
		u->lip = [a, b](double lo, double hi) {
			return lip_window(lo, hi, -b / a, (1 - b) / a, a);
		};
		return "";
	}
	return "op " + op + " is not unary";
}

/* HardSigmoid with beta != 0.5 needs s with (b - 0.5)/(a s) integral: the
 * largest such s at least the range scale (so the range stays covered). */
std::string input_quant_for(const Case &c, const Tensor &x, struct npui_quant *q)
{
	*q = quant_for(x);
	const Node &node = c.nodes[0];
	if (node.op_type != "HardSigmoid" || x.dtype != kF32)
		return "";
	double a = node.attr_f("alpha", 0.2f), b = node.attr_f("beta", 0.5f);
	if (b == 0.5 || !(a > 0))
		return "";
	double k = std::floor(std::fabs(b - 0.5) / (a * double(q->scale)));
	if (k < 1)
		return "HardSigmoid beta offset below one input LSB: no integral zero-point fold";
	double lo = 0;
	for (size_t i = 0; i < x.numel(); i++)
		lo = std::min(lo, x.at(i));
	q->scale = float(std::fabs(b - 0.5) / (a * k));
	q->zero_point = int32_t(npui_round(-128.0 - lo / double(q->scale)));
	if (q->zero_point < -128 || q->zero_point > 127)
		return "HardSigmoid fold: zero point out of range";
	return "";
}

std::string run_unary(const Case &c, const DataSet &ds, Checker *chk)
{
	const Node &node = c.nodes[0];
	std::string why = single_output(c, ds);
	if (!why.empty())
		return why;
	const Tensor *x = c.value(ds, node.inputs.at(0));
	const Tensor &y = ds.outputs[0];
	if (!x || !supported_dtype(*x) || y.dtype != x->dtype || y.numel() != x->numel())
		return "malformed: input/output types or sizes";
	struct npui_quant in_q;
	why = input_quant_for(c, *x, &in_q);
	if (!why.empty())
		return why;
	Unary u;
	why = unary_of(c, ds, in_q, &u);
	if (!why.empty())
		return why;
	struct npui_quant out_q = quant_for(y);
	struct npui_quant lut_in = {float(double(in_q.scale) * u.in_scale_mul),
	                            in_q.zero_point - u.in_zp_shift};
	if (lut_in.zero_point < -128 || lut_in.zero_point > 127)
		return "HardSigmoid fold: zero point out of range";
	int8_t table[256];
	if (npu_ref_lut_build(u.fn, &lut_in, &out_q, table) != NPU_OK)
		return "malformed: npu_ref_lut_build refused the function";

	std::vector<double> xv = values(*x);
	std::vector<int8_t> q = quantize(xv, in_q);
	std::vector<int8_t> out(q.size(), int8_t(0x5a));
	npu_ref_s8_lut(table, q.size(), q.data(), out.data());
	for (size_t i = 0; i < q.size(); i++) {
		double xh = deq(q[i], in_q);
		double dx = std::fabs(xv[i] - xh);
		/* What the table saw, against the exact argument of x-hat: the
		 * float rounding of the folded scale, through hsig's slope. */
		double t_lut = double(lut_in.scale) * (int32_t(q[i]) - lut_in.zero_point);
		double fold = u.t_lip * std::fabs(t_lut - (u.t_mul * xh + u.t_add));
		if (u.in_scale_mul == 1 && u.in_zp_shift == 0)
			fold = 0;
		/* |f(x) - f(x-hat)| <= max|f'| * |x - x-hat|; the table rounds
		 * f once, in double: <= s_out/2. */
		double tol = u.lip(std::min(xv[i], xh), std::max(xv[i], xh)) * dx + fold +
		             0.5 * double(out_q.scale) + fslack(y.at(i));
		chk->add(deq(out[i], out_q), y.at(i), tol, [i] { return flat_where(i); });
	}
	return "";
}

/* ---- Add ----------------------------------------------------------------- */

std::string run_add(const Case &c, const DataSet &ds, Checker *chk)
{
	const Node &node = c.nodes[0];
	std::string why = single_output(c, ds);
	if (!why.empty())
		return why;
	const Tensor *a = c.value(ds, node.inputs.at(0));
	const Tensor *b = c.value(ds, node.inputs.at(1));
	const Tensor &y = ds.outputs[0];
	if (!a || !b || !supported_dtype(*a) || a->dtype != b->dtype || y.dtype != a->dtype)
		return "malformed: input/output types";
	if (a->dims != b->dims)
		return "broadcasting Add: lwnpu's ADD takes two tensors of one shape";
	if (y.numel() != a->numel())
		return "malformed: output size";
	if (a->dtype != kF32)
		for (size_t i = 0; i < y.numel(); i++)
			if (a->at(i) + b->at(i) != y.at(i))
				return "integer Add wraps around here; lwnpu saturates";
	struct npui_quant qa = quant_for(*a), qb = quant_for(*b), qy = quant_for(y);
	struct npu_ref_add_params p;
	if (npu_ref_add_init(&p, &qa, &qb, &qy, NPUI_ACT_NONE) != NPU_OK)
		return "scale ratio outside what lwnpu's ADD multipliers encode";
	std::vector<double> av = values(*a), bv = values(*b);
	std::vector<int8_t> qav = quantize(av, qa), qbv = quantize(bv, qb);
	std::vector<int8_t> out(qav.size(), int8_t(0x5a));
	npu_ref_s8_add(&p, out.size(), qav.data(), qbv.data(), out.data());
	double smax = std::max(qa.scale, qb.scale);
	for (size_t i = 0; i < out.size(); i++) {
		double da = std::fabs(av[i] - deq(qav[i], qa));
		double db = std::fabs(bv[i] - deq(qbv[i], qb));
		/* Input errors add. TFLite ADD rescales each input at 2^20
		 * (unit 2*s_max/2^20; rounding + Q31 error < 1 unit per input),
		 * then rounds the sum once more into the output. */
		double tol = da + db + 2 * 2 * smax * std::ldexp(1.0, -20) +
		             double(qy.scale) * mbqm_err_lsb(p.out_shift) + fslack(y.at(i));
		chk->add(deq(out[i], qy), y.at(i), tol, [i] { return flat_where(i); });
	}
	return "";
}

/* ---- pools ----------------------------------------------------------------- */

std::string run_pool(const Case &c, const DataSet &ds, Checker *chk)
{
	const Node &node = c.nodes[0];
	bool is_max = node.op_type == "MaxPool";
	bool global = node.op_type == "GlobalAveragePool";
	std::string why = single_output(c, ds);
	if (!why.empty())
		return why;
	const Tensor *x = c.value(ds, node.inputs.at(0));
	const Tensor &y = ds.outputs[0];
	if (!x || !supported_dtype(*x) || y.dtype != x->dtype)
		return "malformed: input/output types";
	if (!is_max && x->dtype != kF32)
		return "integer average pool: ONNX leaves its rounding open";
	Image img, oimg;
	why = image_of(*x, &img);
	if (!why.empty())
		return why;
	why = image_of(y, &oimg);
	if (!why.empty())
		return "malformed: output " + why;
	Window win;
	if (global) {
		win.kh = img.h;
		win.kw = img.w;
		win.oh = win.ow = 1;
	} else {
		why = window_of(node, img, 0, 0, &win);
		if (!why.empty())
			return why;
	}
	bool include_pad = node.attr_i("count_include_pad", 0) != 0;
	if (!is_max && include_pad && win.ceil_extended)
		return "ceil_mode with count_include_pad: ONNX's divisor there is not a "
		       "fixed window size";
	if (oimg.n != img.n || oimg.c != img.c || oimg.h != win.oh || oimg.w != win.ow)
		return "malformed: output shape differs from the computed geometry";

	struct npui_quant in_q = quant_for(*x);
	struct npui_quant out_q = is_max ? in_q : quant_for(y);
	int32_t act_min, act_max;
	if (npu_ref_act_bounds(NPUI_ACT_NONE, &out_q, &act_min, &act_max) != NPU_OK)
		return "malformed: act bounds";

	int32_t kcount = win.kh * win.kw;
	std::vector<int32_t> mult(static_cast<size_t>(kcount)), shift(static_cast<size_t>(kcount));
	struct npu_ref_gap_params gp = {};
	if (global) {
		int sh = 0;
		double m = double(in_q.scale) / (double(out_q.scale) * img.h * img.w);
		if (npui_quantize_multiplier(m, &gp.mult, &sh) != NPU_OK)
			return "GAP multiplier out of lwnpu's range";
		gp.shift = sh;
		gp.h = img.h;
		gp.w = img.w;
		gp.c = img.c;
		gp.in_zp = in_q.zero_point;
		gp.out_zp = out_q.zero_point;
		gp.act_min = act_min;
		gp.act_max = act_max;
	} else if (!is_max) {
		if (npu_ref_avgpool_multipliers(in_q.scale, out_q.scale, kcount, mult.data(),
		                                shift.data()) != NPU_OK)
			return "average-pool multipliers out of lwnpu's range";
	}
	struct npu_ref_pool_params pp = {};
	pp.in_h = img.h;
	pp.in_w = img.w;
	pp.c = img.c;
	pp.out_h = win.oh;
	pp.out_w = win.ow;
	pp.kh = win.kh;
	pp.kw = win.kw;
	pp.stride_h = win.sh;
	pp.stride_w = win.sw;
	pp.pad_t = win.pt;
	pp.pad_l = win.pl;
	pp.count_include_pad = include_pad;
	pp.in_zp = in_q.zero_point;
	pp.out_zp = out_q.zero_point;
	pp.act_min = act_min;
	pp.act_max = act_max;
	pp.mult = mult.data();
	pp.shift = shift.data();

	for (int32_t k = 0; k < img.n; k++) {
		std::vector<double> xv = nchw_to_nhwc(*x, img, k);
		std::vector<int8_t> in = quantize(xv, in_q);
		std::vector<int8_t> out(size_t(win.oh) * win.ow * img.c, int8_t(0x5a));
		if (global)
			npu_ref_s8_gap(&gp, in.data(), out.data());
		else if (is_max)
			npu_ref_s8_maxpool(&pp, in.data(), out.data());
		else
			npu_ref_s8_avgpool(&pp, in.data(), out.data());
		for (int32_t oy = 0; oy < win.oh; oy++)
			for (int32_t ox = 0; ox < win.ow; ox++) {
				int32_t y0 = oy * win.sh - win.pt, x0 = ox * win.sw - win.pl;
				int32_t y1 = std::min(y0 + win.kh, img.h),
				        x1 = std::min(x0 + win.kw, img.w);
				y0 = std::max(y0, 0);
				x0 = std::max(x0, 0);
				int32_t count = include_pad ? kcount : (y1 - y0) * (x1 - x0);
				for (int32_t ch = 0; ch < img.c; ch++) {
					/*
					 * The exact input error of this window, from the
					 * true and the dequantized inputs. Max: q is
					 * monotonic, so max q(x) = q(max x) and the error
					 * is that of the largest input. Average: the error
					 * of the mean (padding is an exact 0), then one
					 * requantization into the output.
					 */
					double sum = 0, sumh = 0, mx = -INFINITY, mxh = 0;
					for (int32_t iy = y0; iy < y1; iy++)
						for (int32_t ix = x0; ix < x1; ix++) {
							size_t i =
							        (size_t(iy) * img.w + ix) * img.c +
							        ch;
							double xh = deq(in[i], in_q);
							sum += xv[i];
							sumh += xh;
							if (xv[i] > mx) {
								mx = xv[i];
								mxh = xh;
							}
						}
					double want = y.at(nchw_index(oimg, k, oy, ox, ch));
					double tol = fslack(want);
					if (is_max)
						tol += std::fabs(mx - mxh);
					else
						tol += std::fabs(sum - sumh) / count +
						       double(out_q.scale) *
						               mbqm_err_lsb(
						                       global ? gp.shift
						                              : shift[size_t(count -
						                                             1)]);
					int8_t got = out[(size_t(oy) * win.ow + ox) * img.c + ch];
					chk->add(deq(got, out_q), want, tol,
					         [=] { return img_where(k, oy, ox, ch); });
				}
			}
	}
	return "";
}

/* ---- Concat ------------------------------------------------------------------ */

std::string run_concat(const Case &c, const DataSet &ds, Checker *chk)
{
	const Node &node = c.nodes[0];
	std::string why = single_output(c, ds);
	if (!why.empty())
		return why;
	const Tensor &y = ds.outputs[0];
	size_t n = node.inputs.size();
	if (n < 1 || n > NPUI_MAX_INPUTS)
		return std::to_string(n) + " inputs: lwnpu's concat takes 1.." +
		       std::to_string(NPUI_MAX_INPUTS);
	std::vector<const Tensor *> ins;
	for (const std::string &name : node.inputs) {
		const Tensor *t = c.value(ds, name);
		if (!t || !supported_dtype(*t) || t->dtype != y.dtype ||
		    t->dims.size() != y.dims.size())
			return "malformed: input types or ranks";
		ins.push_back(t);
	}
	int64_t rank = int64_t(y.dims.size());
	int64_t axis = node.attr_i("axis", 0);
	if (axis < 0)
		axis += rank;
	if (axis < 0 || axis >= rank)
		return "malformed: axis";
	/*
	 * Row-major ONNX data: concatenating along `axis` is, for each index of
	 * the dims before it (the "pixels"), appending each input's block of
	 * dims[axis:] elements (its "channels"): exactly lwnpu's channel
	 * concat over hw = prod(dims[:axis]) pixels.
	 */
	size_t hw = 1;
	for (int64_t d = 0; d < axis; d++)
		hw *= size_t(y.dims[size_t(d)]);
	std::vector<struct npu_ref_concat_input> cin(n);
	std::vector<std::vector<int8_t>> qv(n);
	std::vector<struct npui_quant> qs(n);
	struct npui_quant out_q = quant_for(y);
	int32_t out_c = 0;
	std::vector<int32_t> cs(n);
	for (size_t k = 0; k < n; k++) {
		size_t ck = hw ? ins[k]->numel() / hw : 0;
		if (ck > NPUI_MAX_DIM || hw > size_t(NPUI_MAX_DIM) * NPUI_MAX_DIM)
			return "concat block above lwnpu's tensor limits";
		cs[k] = int32_t(ck);
		out_c += cs[k];
		/* Each input with its own range: the requantizing path of the
		 * kernel, not only the copy. */
		qs[k] = quant_for(*ins[k]);
		qv[k] = quantize(values(*ins[k]), qs[k]);
		cin[k].data = qv[k].data();
		cin[k].c = cs[k];
		cin[k].identity =
		        qs[k].scale == out_q.scale && qs[k].zero_point == out_q.zero_point;
		cin[k].zp = qs[k].zero_point;
		int sh = 0;
		if (npui_quantize_multiplier(double(qs[k].scale) / double(out_q.scale),
		                             &cin[k].mult, &sh) != NPU_OK)
			return "concat multiplier out of lwnpu's range";
		cin[k].shift = sh;
	}
	if (size_t(out_c) * hw != y.numel())
		return "malformed: output size";
	std::vector<int8_t> out(y.numel(), int8_t(0x5a));
	npu_ref_s8_concat(hw, cin.data(), uint32_t(n), out_c, out_q.zero_point, out.data());
	for (size_t p = 0; p < hw; p++) {
		int32_t base = 0;
		for (size_t k = 0; k < n; k++) {
			for (int32_t j = 0; j < cs[k]; j++) {
				size_t src = p * size_t(cs[k]) + size_t(j);
				size_t dst = p * size_t(out_c) + size_t(base + j);
				double x = ins[k]->at(src);
				/* The input's quantization error, then (unless a
				 * copy) one requantization into the output. */
				double tol = std::fabs(x - deq(qv[k][src], qs[k])) + fslack(x);
				if (!cin[k].identity)
					tol += double(out_q.scale) * mbqm_err_lsb(cin[k].shift);
				chk->add(deq(out[dst], out_q), y.at(dst), tol,
				         [=] { return flat_where(dst); });
			}
			base += cs[k];
		}
	}
	return "";
}

/* ---- Softmax ------------------------------------------------------------------ */

std::string run_softmax(const Case &c, const DataSet &ds, Checker *chk)
{
	const Node &node = c.nodes[0];
	std::string why = single_output(c, ds);
	if (!why.empty())
		return why;
	const Tensor *x = c.value(ds, node.inputs.at(0));
	const Tensor &y = ds.outputs[0];
	if (!x || x->dtype != kF32 || y.dtype != kF32 || y.numel() != x->numel() || x->dims.empty())
		return "malformed: input/output";
	int64_t rank = int64_t(x->dims.size());
	/* Opset < 13 flattens to 2-D at `axis` (default 1); from 13 it is one
	 * axis (default -1). Either way only the last axis is lwnpu's. */
	int64_t axis = node.attr_i("axis", c.opset < 13 ? 1 : -1);
	if (axis < 0)
		axis += rank;
	if (axis != rank - 1)
		return "softmax over axis " + std::to_string(axis) + " of rank " +
		       std::to_string(rank) + ": lwnpu's softmax is over the last axis";
	size_t len = size_t(x->dims.back());
	size_t rows = len ? x->numel() / len : 0;
	std::vector<float> out(x->numel(), -1.0f);
	for (size_t r = 0; r < rows; r++)
		npu_ref_f32_softmax(&x->f[r * len], len, &out[r * len]);
	for (size_t i = 0; i < out.size(); i++) {
		double want = y.at(i);
		chk->add(out[i], want, 1e-6 * std::fabs(want), [i] { return flat_where(i); });
	}
	return "";
}

/* ---- convolutions --------------------------------------------------------------- */

std::string run_qlinearconv(const Case &c, const DataSet &ds, Checker *chk)
{
	std::string why = single_output(c, ds);
	if (!why.empty())
		return why;
	QConv q;
	why = lower_qlinearconv(c, ds, &q);
	if (!why.empty())
		return why;
	std::vector<int32_t> mult(size_t(q.out_c)), shift(size_t(q.out_c));
	if (npu_ref_conv_multipliers(q.in_q.scale, q.w_scale.data(), q.out_q.scale, q.out_c,
	                             mult.data(), shift.data()) != NPU_OK)
		return "requantization multiplier out of lwnpu's range";
	struct npu_ref_conv_params p = {};
	p.in_h = q.in_img.h;
	p.in_w = q.in_img.w;
	p.in_c = q.in_img.c;
	p.out_h = q.win.oh;
	p.out_w = q.win.ow;
	p.out_c = q.out_c;
	p.kh = q.win.kh;
	p.kw = q.win.kw;
	p.stride_h = q.win.sh;
	p.stride_w = q.win.sw;
	p.pad_t = q.win.pt;
	p.pad_l = q.win.pl;
	p.groups = q.groups;
	p.in_zp = q.in_zp;
	p.out_zp = q.out_q.zero_point;
	if (npu_ref_act_bounds(NPUI_ACT_NONE, &q.out_q, &p.act_min, &p.act_max) != NPU_OK)
		return "malformed: act bounds";
	p.mult = mult.data();
	p.shift = shift.data();
	const Tensor &y = ds.outputs[0];
	for (int32_t k = 0; k < q.in_img.n; k++) {
		std::vector<int8_t> out(size_t(p.out_h) * p.out_w * p.out_c, int8_t(0x5a));
		npu_ref_s8_conv2d(&p, q.in[size_t(k)].data(), q.w.data(), q.bias.data(),
		                  out.data());
		for (int32_t oy = 0; oy < p.out_h; oy++)
			for (int32_t ox = 0; ox < p.out_w; ox++)
				for (int32_t oc = 0; oc < p.out_c; oc++) {
					int32_t got =
					        out[(size_t(oy) * p.out_w + ox) * p.out_c + oc] +
					        q.out_offset;
					double want = y.at(nchw_index(q.out_img, k, oy, ox, oc));
					/* Float vs Q31 requantization: <= 1 LSB. */
					chk->add(got, want, 1.0,
					         [=] { return img_where(k, oy, ox, oc); });
				}
	}
	if (q.weight_rescaled)
		std::printf("[ onnx     ] %s: %d channel(s) of weights divided by their gcd "
		            "to fit int8 (same real weights)\n",
		            c.name.c_str(), q.weight_rescaled);
	return "";
}

std::string run_convinteger(const Case &c, const DataSet &ds, Checker *chk)
{
	std::string why = single_output(c, ds);
	if (!why.empty())
		return why;
	QConv q;
	why = lower_convinteger(c, ds, &q);
	if (!why.empty())
		return why;
	struct npu_ref_conv_params p = {};
	p.in_h = q.in_img.h;
	p.in_w = q.in_img.w;
	p.in_c = q.in_img.c;
	p.out_h = q.win.oh;
	p.out_w = q.win.ow;
	p.out_c = q.out_c;
	p.kh = q.win.kh;
	p.kw = q.win.kw;
	p.stride_h = q.win.sh;
	p.stride_w = q.win.sw;
	p.pad_t = q.win.pt;
	p.pad_l = q.win.pl;
	p.groups = q.groups;
	p.in_zp = q.in_zp;
	const Tensor &y = ds.outputs[0];
	for (int32_t k = 0; k < q.in_img.n; k++) {
		std::vector<int32_t> out(size_t(p.out_h) * p.out_w * p.out_c, 0x5a5a5a5a);
		npu_ref_s8_conv2d_acc32(&p, q.in[size_t(k)].data(), q.w.data(), nullptr,
		                        out.data());
		for (int32_t oy = 0; oy < p.out_h; oy++)
			for (int32_t ox = 0; ox < p.out_w; ox++)
				for (int32_t oc = 0; oc < p.out_c; oc++) {
					double want = y.at(nchw_index(q.out_img, k, oy, ox, oc));
					double got =
					        out[(size_t(oy) * p.out_w + ox) * p.out_c + oc];
					chk->add(got, want, 0.0,
					         [=] { return img_where(k, oy, ox, oc); });
				}
	}
	return "";
}

using Runner = std::string (*)(const Case &, const DataSet &, Checker *);

Runner runner_for(const std::string &op)
{
	if (op == "QLinearConv")
		return run_qlinearconv;
	if (op == "ConvInteger")
		return run_convinteger;
	if (op == "HardSwish" || op == "HardSigmoid" || op == "Relu" || op == "Clip")
		return run_unary;
	if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool")
		return run_pool;
	if (op == "Add")
		return run_add;
	if (op == "Concat")
		return run_concat;
	if (op == "Softmax")
		return run_softmax;
	return nullptr;
}

std::string case_dir(const std::string &name)
{
	return std::string(kNodeTestRoot) + "/" + name;
}

/* Runs every data set of a case; "" when it ran, else the skip reason. */
std::string run_case(const Case &c, Checker *chk)
{
	if (c.nodes.size() != 1)
		return "function-expanded graph (" + std::to_string(c.nodes.size()) +
		       " nodes): same data as the single-node case, which runs";
	const Node &node = c.nodes[0];
	if (!node.domain.empty() && node.domain != "ai.onnx")
		return "op domain " + node.domain;
	Runner run = runner_for(node.op_type);
	if (!run)
		return "op " + node.op_type + " not implemented by lwnpu";
	for (const DataSet &ds : c.sets) {
		std::string why = run(c, ds, chk);
		if (!why.empty())
			return why;
	}
	return "";
}

class OnnxConformance : public ::testing::TestWithParam<std::string>
{
};

TEST_P(OnnxConformance, Matches)
{
	const std::string &name = GetParam();
	if (name == kNoData)
		GTEST_SKIP() << kNodeTestRoot
		             << " not found: install Debian's libonnx-testdata to run ONNX's "
		                "conformance cases";
	Case c;
	std::string err;
	ASSERT_TRUE(load_case(case_dir(name), &c, &err)) << err;
	Checker chk;
	std::string why = run_case(c, &chk);
	if (why.compare(0, 10, "malformed:") == 0)
		FAIL() << why;
	if (!why.empty()) {
		EXPECT_EQ(chk.n, 0u) << "skipped after comparing";
		GTEST_SKIP() << why;
	}
	ASSERT_GT(chk.n, 0u) << "nothing compared";
	EXPECT_EQ(chk.bad, 0u) << chk.bad << " of " << chk.n << " outside tolerance; " << chk.first;
	RecordProperty("compared", int(chk.n));
	RecordProperty("differ", int(chk.differ));
	std::printf("[ onnx     ] %s: %zu compared, %zu differ, max |err|/tol %.3f\n", name.c_str(),
	            chk.n, chk.differ, chk.worst);
}

INSTANTIATE_TEST_SUITE_P(Case, OnnxConformance, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string> &info) {
	                         return info.param;
                         });

/*
 * The bound must be able to fail: the same kernels' outputs moved by one
 * output LSB (the smallest defect a kernel can have) must be caught.
 */
TEST(OnnxConformanceTolerance, CatchesOneLsbBias)
{
	const char *names[] = {"test_relu", "test_hardswish", "test_maxpool_2d_default",
	                       "test_averagepool_2d_default", "test_add"};
	for (const char *name : names) {
		Case c;
		std::string err;
		if (!load_case(case_dir(name), &c, &err))
			GTEST_SKIP() << name << ": " << err;
		const DataSet &ds = c.sets[0];
		Checker base, biased;
		ASSERT_EQ(run_case(c, &base), "") << name;
		ASSERT_EQ(base.bad, 0u) << name;
		/* Replay with every expected value moved by one output LSB: the
		 * same as the kernel being off by one, for the comparison. */
		DataSet shifted = ds;
		Tensor &y = shifted.outputs[0];
		double lsb = quant_for(ds.outputs[0]).scale;
		if (c.nodes[0].op_type == "MaxPool")
			lsb = quant_for(*c.value(ds, c.nodes[0].inputs[0])).scale;
		for (float &v : y.f)
			v = float(v + lsb);
		Case cs = c;
		cs.sets = {shifted};
		/* (The output quant follows the shifted range: its scale moves
		 * by under 1/255 of an LSB, which changes nothing here.) */
		(void)run_case(cs, &biased);
		EXPECT_GT(biased.bad, biased.n / 2)
		        << name << ": a one-LSB bias passes the tolerance in "
		        << biased.n - biased.bad << " of " << biased.n << " elements";
	}
}

} // namespace
