/*
 * Pooling kernels. Channels are innermost in every loop: NHWC keeps a
 * pixel's channels adjacent, so each tap is one contiguous run.
 */
#include "ref/quant.h"
#include "ref/ref.h"

static inline void tap_range(int32_t start, int32_t k, int32_t size, int32_t *lo, int32_t *hi)
{
	*lo = start < 0 ? -start : 0;
	*hi = size - start < k ? size - start : k;
}

static inline int8_t requant(int32_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t lo,
                             int32_t hi)
{
	int64_t v = (int64_t)npui_mbqm(acc, mult, shift) + zp;

	return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

void npu_ref_s8_maxpool(const struct npu_ref_pool_params *p, const int8_t *in, int8_t *out)
{
	const int32_t c = p->c;

	for (int32_t oy = 0; oy < p->out_h; oy++) {
		const int32_t iy0 = oy * p->stride_h - p->pad_t;
		int32_t ky_lo, ky_hi;

		tap_range(iy0, p->kh, p->in_h, &ky_lo, &ky_hi);
		for (int32_t ox = 0; ox < p->out_w; ox++) {
			const int32_t ix0 = ox * p->stride_w - p->pad_l;
			int8_t *o = out + ((size_t)oy * p->out_w + ox) * c;
			int32_t kx_lo, kx_hi;

			tap_range(ix0, p->kw, p->in_w, &kx_lo, &kx_hi);
			/* Padding never wins: start below every int8 value.
			 * The shape rules guarantee at least one valid tap. */
			for (int32_t ch = 0; ch < c; ch++)
				o[ch] = -128;
			for (int32_t ky = ky_lo; ky < ky_hi; ky++) {
				for (int32_t kx = kx_lo; kx < kx_hi; kx++) {
					const int8_t *x =
					        in +
					        ((size_t)(iy0 + ky) * p->in_w + (ix0 + kx)) * c;

					for (int32_t ch = 0; ch < c; ch++)
						o[ch] = x[ch] > o[ch] ? x[ch] : o[ch];
				}
			}
			for (int32_t ch = 0; ch < c; ch++)
				o[ch] = (int8_t)npui_clamp(o[ch], p->act_min, p->act_max);
		}
	}
}

#define POOL_CB 64

void npu_ref_s8_avgpool(const struct npu_ref_pool_params *p, const int8_t *in, int8_t *out)
{
	const int32_t c = p->c;

	for (int32_t oy = 0; oy < p->out_h; oy++) {
		const int32_t iy0 = oy * p->stride_h - p->pad_t;
		int32_t ky_lo, ky_hi;

		tap_range(iy0, p->kh, p->in_h, &ky_lo, &ky_hi);
		for (int32_t ox = 0; ox < p->out_w; ox++) {
			const int32_t ix0 = ox * p->stride_w - p->pad_l;
			int8_t *o = out + ((size_t)oy * p->out_w + ox) * c;
			int32_t kx_lo, kx_hi, count;

			tap_range(ix0, p->kw, p->in_w, &kx_lo, &kx_hi);
			count = p->count_include_pad ? p->kh * p->kw
			                             : (ky_hi - ky_lo) * (kx_hi - kx_lo);
			for (int32_t c0 = 0; c0 < c; c0 += POOL_CB) {
				const int32_t cb = c - c0 < POOL_CB ? c - c0 : POOL_CB;
				int32_t acc[POOL_CB] = {0};

				for (int32_t ky = ky_lo; ky < ky_hi; ky++) {
					for (int32_t kx = kx_lo; kx < kx_hi; kx++) {
						const int8_t *x = in +
						                  ((size_t)(iy0 + ky) * p->in_w +
						                   (ix0 + kx)) *
						                          c +
						                  c0;

						for (int32_t j = 0; j < cb; j++)
							acc[j] += x[j] - p->in_zp;
					}
				}
				for (int32_t j = 0; j < cb; j++)
					o[c0 + j] = requant(acc[j], p->mult[count - 1],
					                    p->shift[count - 1], p->out_zp,
					                    p->act_min, p->act_max);
			}
		}
	}
}

void npu_ref_s8_gap(const struct npu_ref_gap_params *p, const int8_t *in, int8_t *out)
{
	const size_t npix = (size_t)p->h * p->w;

	for (int32_t c0 = 0; c0 < p->c; c0 += POOL_CB) {
		const int32_t cb = p->c - c0 < POOL_CB ? p->c - c0 : POOL_CB;
		int64_t acc[POOL_CB] = {0};

		for (size_t px = 0; px < npix; px++) {
			const int8_t *x = in + px * p->c + c0;

			for (int32_t j = 0; j < cb; j++)
				acc[j] += x[j] - p->in_zp;
		}
		for (int32_t j = 0; j < cb; j++)
			out[c0 + j] = requant(npui_sat32(acc[j]), p->mult, p->shift, p->out_zp,
			                      p->act_min, p->act_max);
	}
}
