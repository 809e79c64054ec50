/*
 * Lowering of ONNX conformance cases onto lwnpu's int8 kernel parameters:
 * NCHW -> NHWC, OIHW -> OHWI weights, uint8 -> int8 (value - 128, zero
 * point - 128: exact), ONNX pads/auto_pad/ceil_mode -> lwnpu's top/left
 * padding plus an output size. Used by conformance_test.cc and by the
 * end-to-end cpu-device test.
 *
 * Every lower_* returns "" on success, or a reason the case does not fit
 * lwnpu (the test skips with it). A reason starting with "malformed:"
 * means the case data itself is inconsistent: the test fails on it.
 */
#ifndef LWNPU_TESTS_ONNX_LOWER_H
#define LWNPU_TESTS_ONNX_LOWER_H

#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "onnx_testdata.h"

namespace onnxtd
{

/* Batch and NHWC geometry of an ONNX [N, C, H, W] or [N, C, W] tensor. */
struct Image {
	int32_t n = 0, c = 0, h = 0, w = 0;
	int32_t spatial = 2; /* ONNX spatial rank: 1 ([N,C,W]) or 2 */
};

/* Rank 3 ([N,C,W], read as H = 1) or 4; else a skip reason. */
std::string image_of(const Tensor &t, Image *img);

/* Image k of an NCHW tensor as NHWC doubles / back. */
std::vector<double> nchw_to_nhwc(const Tensor &t, const Image &img, int32_t k);
/* Element index in the ONNX NCHW tensor of NHWC element (k, y, x, ch). */
size_t nchw_index(const Image &img, int32_t k, int32_t y, int32_t x, int32_t ch);

/* A window geometry in lwnpu terms (pools and convs). */
struct Window {
	int32_t kh = 1, kw = 1;
	int32_t sh = 1, sw = 1;
	int32_t pt = 0, pl = 0, pb = 0, pr = 0; /* pb/pr: what lwnpu's shape rule needs */
	int32_t oh = 0, ow = 0;
	bool ceil_extended = false; /* ceil_mode added bottom/right padding */
};

/*
 * Geometry of a pool/conv node over an image: kernel_shape (or the given
 * kernel when the node has none, for convs), strides, pads, auto_pad,
 * dilations (must be 1), ceil_mode. Checks lwnpu's limits: kernel <=
 * NPUI_MAX_KERNEL, stride 1..8, every pad < kernel.
 */
std::string window_of(const Node &node, const Image &img, int32_t kh_default, int32_t kw_default,
                      Window *win);

/* A QLinearConv / ConvInteger node lowered to lwnpu's conv. */
struct QConv {
	Image in_img, out_img;
	Window win;
	int32_t groups = 1;
	int32_t out_c = 0;
	std::vector<std::vector<int8_t>> in; /* per image, NHWC int8 */
	int32_t in_zp = 0;                   /* int8 domain */
	std::vector<int8_t> w;               /* OHWI [out_c][kh][kw][in_c/groups] */
	std::vector<int32_t> bias;           /* [out_c] */
	/* QLinearConv only: */
	struct npui_quant in_q = {1.0f, 0}, out_q = {1.0f, 0};
	std::vector<float> w_scale;  /* [out_c] */
	int32_t out_offset = 0;      /* ONNX output value = int8 value + out_offset */
	int32_t weight_rescaled = 0; /* channels whose int8 weights were divided */
};

/*
 * QLinearConv: x, w, y uint8 or int8 (uint8 mapped by -128). Weights
 * w - w_zp (per tensor or per channel) go to int8 as they are when they
 * fit; else, per channel, divided by the gcd g of the channel's |w - w_zp|
 * with w_scale multiplied by g (the same real weights exactly) when that
 * fits; else a skip reason.
 */
std::string lower_qlinearconv(const Case &c, const DataSet &ds, QConv *q);

/* ConvInteger: int32 out, exact; w - w_zp must fit int8 (no rescaling is
 * possible for an integer result). */
std::string lower_convinteger(const Case &c, const DataSet &ds, QConv *q);

} // namespace onnxtd

#endif
