/*
 * Convolution and fully-connected kernels.
 *
 * The generic conv is the definition; the 1x1 and depthwise paths reorder
 * the same integer sums (int32 addition is exact, graph validation rules
 * out overflow) and so are bit-identical to it.
 */
#include <string.h>

#include "ref/quant.h"
#include "ref/ref.h"

static inline int8_t requant(int32_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t lo,
                             int32_t hi)
{
	/* int64: mbqm can return INT32_MAX and the zero point must not wrap it. */
	int64_t v = (int64_t)npui_mbqm(acc, mult, shift) + zp;

	return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* First and one-past-last kernel tap that lands inside [0, size). */
static inline void tap_range(int32_t start, int32_t k, int32_t size, int32_t *lo, int32_t *hi)
{
	*lo = start < 0 ? -start : 0;
	*hi = size - start < k ? size - start : k;
}

/*
 * Sum of a[i] * b[i]. Chunks of 16 with a fixed trip count let gcc -O2 (the
 * "very cheap" vectorizer cost model) vectorize without an epilogue.
 */
static inline int32_t dot_s8(const int8_t *a, const int8_t *b, int32_t n)
{
	int32_t acc = 0;
	int32_t i = 0;

	for (; i + 16 <= n; i += 16) {
		int32_t s = 0;

		for (int j = 0; j < 16; j++)
			s += a[i + j] * b[i + j];
		acc += s;
	}
	for (; i < n; i++)
		acc += a[i] * b[i];
	return acc;
}

static inline int32_t sum_s8(const int8_t *a, int32_t n)
{
	int32_t s = 0;

	for (int32_t i = 0; i < n; i++)
		s += a[i];
	return s;
}

/* Shared by the requantizing and the raw-accumulator generic conv. */
static inline int32_t conv_acc(const struct npu_ref_conv_params *p, const int8_t *in,
                               const int8_t *w, const int32_t *bias, int32_t oy, int32_t ox,
                               int32_t oc)
{
	const int32_t cin_g = p->in_c / p->groups;
	const int32_t cout_g = p->out_c / p->groups;
	const int32_t g = oc / cout_g;
	const int32_t iy0 = oy * p->stride_h - p->pad_t;
	const int32_t ix0 = ox * p->stride_w - p->pad_l;
	const int8_t *wo = w + (size_t)oc * p->kh * p->kw * cin_g;
	int32_t ky_lo, ky_hi, kx_lo, kx_hi;
	int32_t acc = bias ? bias[oc] : 0;

	tap_range(iy0, p->kh, p->in_h, &ky_lo, &ky_hi);
	tap_range(ix0, p->kw, p->in_w, &kx_lo, &kx_hi);
	for (int32_t ky = ky_lo; ky < ky_hi; ky++) {
		for (int32_t kx = kx_lo; kx < kx_hi; kx++) {
			const int8_t *x = in +
			                  ((size_t)(iy0 + ky) * p->in_w + (ix0 + kx)) * p->in_c +
			                  (size_t)g * cin_g;
			const int8_t *wk = wo + (size_t)(ky * p->kw + kx) * cin_g;

			for (int32_t ic = 0; ic < cin_g; ic++)
				acc += (x[ic] - p->in_zp) * wk[ic];
		}
	}
	return acc;
}

void npu_ref_s8_conv2d_generic(const struct npu_ref_conv_params *p, const int8_t *in,
                               const int8_t *w, const int32_t *bias, int8_t *out)
{
	for (int32_t oy = 0; oy < p->out_h; oy++) {
		for (int32_t ox = 0; ox < p->out_w; ox++) {
			int8_t *o = out + ((size_t)oy * p->out_w + ox) * p->out_c;

			for (int32_t oc = 0; oc < p->out_c; oc++)
				o[oc] = requant(conv_acc(p, in, w, bias, oy, ox, oc), p->mult[oc],
				                p->shift[oc], p->out_zp, p->act_min, p->act_max);
		}
	}
}

void npu_ref_s8_conv2d_acc32(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
                             const int32_t *bias, int32_t *out)
{
	for (int32_t oy = 0; oy < p->out_h; oy++) {
		for (int32_t ox = 0; ox < p->out_w; ox++) {
			int32_t *o = out + ((size_t)oy * p->out_w + ox) * p->out_c;

			for (int32_t oc = 0; oc < p->out_c; oc++)
				o[oc] = conv_acc(p, in, w, bias, oy, ox, oc);
		}
	}
}

/*
 * 1x1: out[p][oc] = bias - zp*sum(w[oc]) + dot(x[p], w[oc]). The zero point
 * folds into the bias because no tap is ever padding. Pixels go in tiles
 * so a tile of input stays in cache while all weights stream past it once.
 */
#define PW_TILE 64
#define PW_OCB  8

void npu_ref_s8_conv2d_1x1(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
                           const int32_t *bias, int8_t *out)
{
	const int32_t cin_g = p->in_c / p->groups;
	const int32_t cout_g = p->out_c / p->groups;
	const size_t npix = (size_t)p->out_h * p->out_w;

	for (size_t p0 = 0; p0 < npix; p0 += PW_TILE) {
		const size_t p1 = npix - p0 < PW_TILE ? npix : p0 + PW_TILE;

		for (int32_t oc0 = 0; oc0 < p->out_c; oc0 += PW_OCB) {
			const int32_t nb = p->out_c - oc0 < PW_OCB ? p->out_c - oc0 : PW_OCB;
			int32_t fold[PW_OCB];

			for (int32_t j = 0; j < nb; j++) {
				const int32_t oc = oc0 + j;
				const int8_t *wo = w + (size_t)oc * cin_g;
				/* Each partial sum stays within the no-overflow bound. */
				fold[j] = (bias ? bias[oc] : 0) - p->in_zp * sum_s8(wo, cin_g);
			}
			for (size_t px = p0; px < p1; px++) {
				int8_t *o = out + px * p->out_c;

				for (int32_t j = 0; j < nb; j++) {
					const int32_t oc = oc0 + j;
					const int32_t g = oc / cout_g;
					const int8_t *x = in + px * p->in_c + (size_t)g * cin_g;
					int32_t acc = dot_s8(x, w + (size_t)oc * cin_g, cin_g);

					o[oc] = requant(acc + fold[j], p->mult[oc], p->shift[oc],
					                p->out_zp, p->act_min, p->act_max);
				}
			}
		}
	}
}

/*
 * Depthwise: channels in blocks of DW_CB with the block's weights transposed
 * to [tap][channel], so the innermost loop runs over adjacent channels of
 * one input pixel (vectorizable). kh/kw are compile-time constants in the
 * 3x3 and 5x5 variants, which unrolls the tap loops.
 */
#define DW_CB 16

static inline __attribute__((always_inline)) void
dw_block(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
         const int32_t *bias, int8_t *out, int32_t c0, const int32_t kh, const int32_t kw)
{
	const int32_t c = p->in_c;
	const int32_t cb = c - c0 < DW_CB ? c - c0 : DW_CB;
	int16_t wt[NPUI_MAX_KERNEL * NPUI_MAX_KERNEL][DW_CB];
	int32_t b[DW_CB];

	memset(wt, 0, sizeof(wt[0]) * kh * kw);
	for (int32_t j = 0; j < cb; j++) {
		b[j] = bias ? bias[c0 + j] : 0;
		for (int32_t t = 0; t < kh * kw; t++)
			wt[t][j] = w[(size_t)(c0 + j) * kh * kw + t];
	}
	for (int32_t oy = 0; oy < p->out_h; oy++) {
		const int32_t iy0 = oy * p->stride_h - p->pad_t;
		int32_t ky_lo, ky_hi;

		tap_range(iy0, kh, p->in_h, &ky_lo, &ky_hi);
		for (int32_t ox = 0; ox < p->out_w; ox++) {
			const int32_t ix0 = ox * p->stride_w - p->pad_l;
			int8_t *o = out + ((size_t)oy * p->out_w + ox) * c + c0;
			int32_t kx_lo, kx_hi;
			int32_t acc[DW_CB];

			tap_range(ix0, kw, p->in_w, &kx_lo, &kx_hi);
			for (int32_t j = 0; j < DW_CB; j++)
				acc[j] = 0;
			for (int32_t ky = ky_lo; ky < ky_hi; ky++) {
				for (int32_t kx = kx_lo; kx < kx_hi; kx++) {
					const int8_t *x =
					        in +
					        ((size_t)(iy0 + ky) * p->in_w + (ix0 + kx)) * c +
					        c0;
					const int16_t *wk = wt[ky * kw + kx];

					if (cb == DW_CB) {
						for (int32_t j = 0; j < DW_CB; j++)
							acc[j] += (x[j] - p->in_zp) * wk[j];
					} else {
						for (int32_t j = 0; j < cb; j++)
							acc[j] += (x[j] - p->in_zp) * wk[j];
					}
				}
			}
			for (int32_t j = 0; j < cb; j++)
				o[j] = requant(b[j] + acc[j], p->mult[c0 + j], p->shift[c0 + j],
				               p->out_zp, p->act_min, p->act_max);
		}
	}
}

void npu_ref_s8_dwconv(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
                       const int32_t *bias, int8_t *out)
{
	for (int32_t c0 = 0; c0 < p->in_c; c0 += DW_CB)
		dw_block(p, in, w, bias, out, c0, p->kh, p->kw);
}

void npu_ref_s8_dwconv3x3(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
                          const int32_t *bias, int8_t *out)
{
	for (int32_t c0 = 0; c0 < p->in_c; c0 += DW_CB)
		dw_block(p, in, w, bias, out, c0, 3, 3);
}

void npu_ref_s8_dwconv5x5(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
                          const int32_t *bias, int8_t *out)
{
	for (int32_t c0 = 0; c0 < p->in_c; c0 += DW_CB)
		dw_block(p, in, w, bias, out, c0, 5, 5);
}

void npu_ref_s8_conv2d(const struct npu_ref_conv_params *p, const int8_t *in, const int8_t *w,
                       const int32_t *bias, int8_t *out)
{
	if (p->groups == p->in_c && p->groups == p->out_c) {
		if (p->kh == 3 && p->kw == 3)
			npu_ref_s8_dwconv3x3(p, in, w, bias, out);
		else if (p->kh == 5 && p->kw == 5)
			npu_ref_s8_dwconv5x5(p, in, w, bias, out);
		else
			npu_ref_s8_dwconv(p, in, w, bias, out);
	} else if (p->kh == 1 && p->kw == 1 && p->stride_h == 1 && p->stride_w == 1 &&
	           p->pad_t == 0 && p->pad_l == 0 && p->out_h == p->in_h && p->out_w == p->in_w) {
		npu_ref_s8_conv2d_1x1(p, in, w, bias, out);
	} else {
		npu_ref_s8_conv2d_generic(p, in, w, bias, out);
	}
}

void npu_ref_s8_fc(const struct npu_ref_fc_params *p, const int8_t *in, const int8_t *w,
                   const int32_t *bias, int8_t *out)
{
	for (int32_t oc = 0; oc < p->out_c; oc++) {
		const int8_t *wo = w + (size_t)oc * p->k;
		/* sum((x - zp) * w) as dot - zp*sum(w): both terms and the
		 * difference are bounded by the graph's no-overflow rule. */
		int32_t acc = dot_s8(in, wo, p->k) - p->in_zp * sum_s8(wo, p->k);

		acc += bias ? bias[oc] : 0;
		out[oc] =
		        requant(acc, p->mult[oc], p->shift[oc], p->out_zp, p->act_min, p->act_max);
	}
}
