/* The public quantization helpers of npu.h: thin wrappers over the
 * kernels, so applications get exactly the library's own rounding. */
#include "npu.h"
#include "ref/ref.h"

void npu_quantize(const float *x, size_t n, float scale, int32_t zero_point, int8_t *q)
{
	if (!x || !q)
		return;
	npu_ref_f32_quantize(x, n, scale, zero_point, q);
}

void npu_dequantize(const int8_t *q, size_t n, float scale, int32_t zero_point, float *x)
{
	if (!q || !x)
		return;
	npu_ref_s8_dequantize(q, n, scale, zero_point, x);
}

void npu_softmax(const float *x, size_t n, float *out)
{
	if (!x || !out)
		return;
	npu_ref_f32_softmax(x, n, out);
}
