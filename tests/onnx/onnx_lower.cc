/*
 * ONNX conformance cases lowered onto lwnpu kernel parameters: see
 * onnx_lower.h.
 */
#include "onnx_lower.h"

#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "onnx/onnx.pb-c.h"

namespace onnxtd
{

static const int32_t kU8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
static const int32_t kI8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8;

std::string image_of(const Tensor &t, Image *img)
{
	if (t.dims.size() != 3 && t.dims.size() != 4)
		return "rank-" + std::to_string(t.dims.size()) +
		       " tensor: lwnpu images are 2-D (NCHW) or 1-D (NCW read as H = 1)";
	for (int64_t d : t.dims)
		if (d < 1 || d > NPUI_MAX_DIM)
			return "dimension " + std::to_string(d) + " outside lwnpu's 1.." +
			       std::to_string(NPUI_MAX_DIM);
	img->n = int32_t(t.dims[0]);
	img->c = int32_t(t.dims[1]);
	img->spatial = int32_t(t.dims.size()) - 2;
	img->h = img->spatial == 2 ? int32_t(t.dims[2]) : 1;
	img->w = int32_t(t.dims.back());
	return "";
}

size_t nchw_index(const Image &img, int32_t k, int32_t y, int32_t x, int32_t ch)
{
	return ((size_t(k) * size_t(img.c) + size_t(ch)) * size_t(img.h) + size_t(y)) *
	               size_t(img.w) +
	       size_t(x);
}

std::vector<double> nchw_to_nhwc(const Tensor &t, const Image &img, int32_t k)
{
	std::vector<double> out(size_t(img.h) * img.w * img.c);
	size_t o = 0;
	for (int32_t y = 0; y < img.h; y++)
		for (int32_t x = 0; x < img.w; x++)
			for (int32_t ch = 0; ch < img.c; ch++)
				out[o++] = t.at(nchw_index(img, k, y, x, ch));
	return out;
}

/* An ints attribute with one entry per spatial dim, mapped to (h, w);
 * for 1-D, h gets def. Returns false when its length is wrong. */
static bool spatial_pair(const Node &node, const char *name, const Image &img, int64_t def,
                         int64_t *h, int64_t *w)
{
	std::vector<int64_t> v = node.attr_ints(name);
	*h = def;
	*w = def;
	if (v.empty())
		return !node.has(name);
	if (v.size() != size_t(img.spatial))
		return false;
	if (img.spatial == 2)
		*h = v[0];
	*w = v.back();
	return true;
}

/* One spatial axis: output size and begin/end padding in ONNX terms. */
static std::string axis_geometry(const std::string &auto_pad, bool ceil_mode, int64_t in, int64_t k,
                                 int64_t s, int64_t pb, int64_t pe, int64_t *out, int64_t *pb_out,
                                 int64_t *pe_out, bool *extended)
{
	*extended = false;
	if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
		int64_t o = (in + s - 1) / s;
		int64_t total = std::max<int64_t>((o - 1) * s + k - in, 0);
		pb = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
		pe = total - pb;
		*out = o;
	} else {
		if (auto_pad == "VALID")
			pb = pe = 0;
		else if (auto_pad != "NOTSET" && !auto_pad.empty())
			return "malformed: auto_pad '" + auto_pad + "'";
		int64_t span = in + pb + pe - k;
		if (span < 0)
			return "malformed: kernel larger than the padded input";
		int64_t o = span / s + 1;
		if (ceil_mode && span % s) {
			o++;
			/* The last window must start inside the input or the
			 * begin padding (ONNX/PyTorch rule). */
			if ((o - 1) * s >= in + pb)
				o--;
		}
		if (o > span / s + 1) {
			/* ceil_mode reached past the end padding: extend it so
			 * lwnpu's floor rule gives the same size. For max pool and
			 * valid-count average pool the extra taps are ignored, as
			 * ONNX ignores them. */
			pe = (o - 1) * s + k - in - pb;
			*extended = true;
		}
		*out = o;
	}
	*pb_out = pb;
	*pe_out = pe;
	return "";
}

std::string window_of(const Node &node, const Image &img, int32_t kh_default, int32_t kw_default,
                      Window *win)
{
	int64_t kh, kw, sh, sw, dh, dw;
	if (!spatial_pair(node, "kernel_shape", img, 0, &kh, &kw))
		return "malformed: kernel_shape rank";
	if (!node.has("kernel_shape")) {
		kh = kh_default;
		kw = kw_default;
	} else if (img.spatial == 1) {
		kh = 1;
	}
	if (kh < 1 || kw < 1)
		return "malformed: kernel_shape missing";
	if (!spatial_pair(node, "strides", img, 1, &sh, &sw))
		return "malformed: strides rank";
	if (!spatial_pair(node, "dilations", img, 1, &dh, &dw))
		return "malformed: dilations rank";
	if (dh != 1 || dw != 1)
		return "dilations " + std::to_string(dh) + "x" + std::to_string(dw) +
		       ": lwnpu windows are dense";
	std::vector<int64_t> pads = node.attr_ints("pads");
	int64_t pt = 0, pl = 0, pb = 0, pr = 0;
	if (!pads.empty()) {
		if (pads.size() != size_t(2 * img.spatial))
			return "malformed: pads rank";
		if (img.spatial == 2) {
			pt = pads[0];
			pl = pads[1];
			pb = pads[2];
			pr = pads[3];
		} else {
			pl = pads[0];
			pr = pads[1];
		}
	}
	std::string auto_pad = node.attr_s("auto_pad", "NOTSET");
	bool ceil_mode = node.attr_i("ceil_mode", 0) != 0;
	int64_t oh, ow;
	bool ext_h, ext_w;
	std::string why =
	        axis_geometry(auto_pad, ceil_mode, img.h, kh, sh, pt, pb, &oh, &pt, &pb, &ext_h);
	if (why.empty())
		why = axis_geometry(auto_pad, ceil_mode, img.w, kw, sw, pl, pr, &ow, &pl, &pr,
		                    &ext_w);
	if (!why.empty())
		return why;
	if (kh > NPUI_MAX_KERNEL || kw > NPUI_MAX_KERNEL)
		return "kernel " + std::to_string(kh) + "x" + std::to_string(kw) +
		       " above lwnpu's " + std::to_string(NPUI_MAX_KERNEL);
	if (sh < 1 || sh > 8 || sw < 1 || sw > 8)
		return "stride outside lwnpu's 1..8";
	if (pt >= kh || pb >= kh || pl >= kw || pr >= kw)
		return "a pad >= the kernel size (lwnpu requires pad < kernel)";
	if (pt < 0 || pb < 0 || pl < 0 || pr < 0)
		return "malformed: negative pads";
	win->kh = int32_t(kh);
	win->kw = int32_t(kw);
	win->sh = int32_t(sh);
	win->sw = int32_t(sw);
	win->pt = int32_t(pt);
	win->pl = int32_t(pl);
	win->pb = int32_t(pb);
	win->pr = int32_t(pr);
	win->oh = int32_t(oh);
	win->ow = int32_t(ow);
	win->ceil_extended = ext_h || ext_w;
	return "";
}

/* Integer tensor values; uint8 or int8 only. */
static bool is_8bit(const Tensor *t)
{
	return t && (t->dtype == kU8 || t->dtype == kI8);
}

static int32_t offset_of(const Tensor &t)
{
	return t.dtype == kU8 ? 128 : 0;
}

static double scalar(const Tensor &t)
{
	return t.at(0);
}

/* Common part: input image, zero point, weights with their zero points,
 * geometry. w_div[oc] is the divisor applied to channel oc's weights. */
static std::string lower_conv_common(const Case &c, const Tensor *x, const Tensor *x_zp,
                                     const Tensor *w, const Tensor *w_zp, bool allow_rescale,
                                     QConv *q, std::vector<int32_t> *w_div)
{
	const Node &node = c.nodes[0];
	if (!is_8bit(x) || !is_8bit(w))
		return "x and w must be uint8 or int8";
	if (x->dims.size() != 4 || w->dims.size() != 4)
		return "only 2-D convolutions (rank-4 x and w) map to lwnpu's conv";
	std::string why = image_of(*x, &q->in_img);
	if (!why.empty())
		return why;
	int64_t groups = node.attr_i("group", 1);
	int32_t m = int32_t(w->dims[0]);
	if (groups < 1 || q->in_img.c % groups || m % groups || w->dims[1] != q->in_img.c / groups)
		return "malformed: channels and group disagree";
	q->groups = int32_t(groups);
	q->out_c = m;
	why = window_of(node, q->in_img, int32_t(w->dims[2]), int32_t(w->dims[3]), &q->win);
	if (!why.empty())
		return why;
	if (q->win.kh != w->dims[2] || q->win.kw != w->dims[3])
		return "malformed: kernel_shape differs from the weights";
	if (q->win.ceil_extended)
		return "malformed: ceil_mode on a convolution";

	int32_t xoff = offset_of(*x);
	int64_t xzp = x_zp ? int64_t(scalar(*x_zp)) : 0;
	if (x_zp && (x_zp->dtype != x->dtype || x_zp->numel() != 1))
		return "per-channel or mistyped x_zero_point: lwnpu has one input zero point";
	q->in_zp = int32_t(xzp - xoff);
	q->in.clear();
	for (int32_t k = 0; k < q->in_img.n; k++) {
		std::vector<double> v = nchw_to_nhwc(*x, q->in_img, k);
		std::vector<int8_t> b(v.size());
		for (size_t i = 0; i < v.size(); i++)
			b[i] = int8_t(int32_t(v[i]) - xoff);
		q->in.push_back(std::move(b));
	}

	if (w_zp && w_zp->numel() != 1 && w_zp->numel() != size_t(m))
		return "malformed: w_zero_point size";
	int32_t cpg = int32_t(w->dims[1]), kh = q->win.kh, kw = q->win.kw;
	size_t per_oc = size_t(cpg) * kh * kw;
	q->w.assign(size_t(m) * per_oc, 0);
	w_div->assign(size_t(m), 1);
	for (int32_t oc = 0; oc < m; oc++) {
		int64_t zp = w_zp ? w_zp->i[w_zp->numel() == 1 ? 0 : size_t(oc)] : 0;
		/* ONNX OIHW -> lwnpu OHWI, centred on the zero point. */
		std::vector<int64_t> centred(per_oc);
		int64_t maxabs = 0, g = 0;
		for (int32_t ic = 0; ic < cpg; ic++)
			for (int32_t y = 0; y < kh; y++)
				for (int32_t xx = 0; xx < kw; xx++) {
					size_t src = ((size_t(oc) * cpg + ic) * kh + y) * kw + xx;
					int64_t v = w->i[src] - zp;
					centred[(size_t(y) * kw + xx) * cpg + ic] = v;
					maxabs = std::max<int64_t>(maxabs, std::llabs(v));
					g = std::gcd(g, std::llabs(v));
				}
		int64_t div = 1;
		if (maxabs > 127) {
			if (!allow_rescale)
				return "w - w_zero_point reaches " + std::to_string(maxabs) +
				       ": does not fit int8, and an exact int32 result allows "
				       "no rescaling";
			if (maxabs / g > 127)
				return "channel " + std::to_string(oc) +
				       ": w - w_zero_point does not fit int8 even divided by "
				       "its gcd";
			div = g;
			q->weight_rescaled++;
		}
		(*w_div)[size_t(oc)] = int32_t(div);
		for (size_t i = 0; i < per_oc; i++)
			q->w[size_t(oc) * per_oc + i] = int8_t(centred[i] / div);
	}
	return "";
}

std::string lower_qlinearconv(const Case &c, const DataSet &ds, QConv *q)
{
	const Node &node = c.nodes[0];
	if (node.inputs.size() < 8)
		return "malformed: QLinearConv needs 8 inputs";
	const Tensor *in[9] = {};
	for (size_t k = 0; k < 9 && k < node.inputs.size(); k++)
		in[k] = c.value(ds, node.inputs[k]);
	for (int k = 0; k < 8; k++)
		if (!in[k])
			return "malformed: input " + std::to_string(k) + " missing";
	const Tensor *x = in[0], *xs = in[1], *xzp = in[2], *w = in[3], *ws = in[4], *wzp = in[5],
	             *ys = in[6], *yzp = in[7], *b = in[8];
	if (!xs->is_float() || !ws->is_float() || !ys->is_float() || xs->numel() != 1 ||
	    ys->numel() != 1)
		return "malformed: scales";
	if (!is_8bit(yzp) || yzp->numel() != 1)
		return "malformed: y_zero_point";
	std::vector<int32_t> div;
	std::string why = lower_conv_common(c, x, xzp, w, wzp, true, q, &div);
	if (!why.empty())
		return why;
	if (ws->numel() != 1 && ws->numel() != size_t(q->out_c))
		return "malformed: w_scale size";

	q->in_q.scale = float(scalar(*xs));
	q->in_q.zero_point = q->in_zp;
	q->out_offset = offset_of(*yzp);
	q->out_q.scale = float(scalar(*ys));
	q->out_q.zero_point = int32_t(scalar(*yzp)) - q->out_offset;
	q->w_scale.resize(size_t(q->out_c));
	q->bias.assign(size_t(q->out_c), 0);
	for (int32_t oc = 0; oc < q->out_c; oc++) {
		double s = ws->f[ws->numel() == 1 ? 0 : size_t(oc)];
		/* Dividing the int8 weights by d and multiplying the scale by
		 * d keeps every real weight; the bias (scale x_s * w_s) is
		 * divided by d too, which must be exact. */
		q->w_scale[size_t(oc)] = float(s * div[size_t(oc)]);
		if (b) {
			if (b->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ||
			    b->numel() != size_t(q->out_c))
				return "malformed: bias";
			int64_t v = b->i[size_t(oc)];
			if (v % div[size_t(oc)])
				return "bias not divisible by the weight rescale factor";
			q->bias[size_t(oc)] = int32_t(v / div[size_t(oc)]);
		}
	}
	const Tensor *y = ds.outputs.empty() ? nullptr : &ds.outputs[0];
	if (!y || y->dtype != yzp->dtype)
		return "malformed: output";
	why = image_of(*y, &q->out_img);
	if (!why.empty())
		return why;
	if (q->out_img.h != q->win.oh || q->out_img.w != q->win.ow || q->out_img.c != q->out_c ||
	    q->out_img.n != q->in_img.n)
		return "malformed: output shape differs from the computed geometry";
	return "";
}

std::string lower_convinteger(const Case &c, const DataSet &ds, QConv *q)
{
	const Node &node = c.nodes[0];
	if (node.inputs.size() < 2)
		return "malformed: ConvInteger needs 2 inputs";
	const Tensor *x = c.value(ds, node.inputs[0]);
	const Tensor *w = c.value(ds, node.inputs[1]);
	const Tensor *xzp = node.inputs.size() > 2 ? c.value(ds, node.inputs[2]) : nullptr;
	const Tensor *wzp = node.inputs.size() > 3 ? c.value(ds, node.inputs[3]) : nullptr;
	std::vector<int32_t> div;
	std::string why = lower_conv_common(c, x, xzp, w, wzp, false, q, &div);
	if (!why.empty())
		return why;
	q->bias.assign(size_t(q->out_c), 0);
	const Tensor *y = ds.outputs.empty() ? nullptr : &ds.outputs[0];
	if (!y || y->dtype != ONNX__TENSOR_PROTO__DATA_TYPE__INT32)
		return "malformed: output";
	why = image_of(*y, &q->out_img);
	if (!why.empty())
		return why;
	if (q->out_img.h != q->win.oh || q->out_img.w != q->win.ow || q->out_img.c != q->out_c ||
	    q->out_img.n != q->in_img.n)
		return "malformed: output shape differs from the computed geometry";
	return "";
}

} // namespace onnxtd
