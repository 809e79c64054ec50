// A two-layer int8 model for the buffer tests (tests/api/buffer_test.cc,
// tests/guest/dmabuf_test.cc): conv3x3 + ReLU, then conv1x1, H x W x 4 in,
// H x W x 8 out, random weights from a seed. Both layers run on the NPU,
// so a backend that maps buffers can read the input and write the output
// in place. Serialized to the model file format, for
// npu_model_load_memory.
#ifndef NPU_TEST_BUFFER_MODEL_H
#define NPU_TEST_BUFFER_MODEL_H

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "ir/graph.h"

namespace npu_test
{

inline std::vector<uint8_t> BufferModel(int h, int w, uint32_t seed)
{
	std::mt19937 rng(seed);
	auto *g = static_cast<npui_graph *>(calloc(1, sizeof(npui_graph)));
	const int c[3] = {4, 8, 8};
	const float scale[3] = {0.02f, 0.03f, 0.05f};
	const int zp[3] = {0, -128, 3};
	const char *names[3] = {"input", "conv3x3", "conv1x1"};

	strcpy(g->name, "buffer_test_net");
	g->num_tensors = 3;
	g->tensors = static_cast<npui_tensor *>(calloc(3, sizeof(npui_tensor)));
	for (int i = 0; i < 3; i++) {
		npui_tensor &t = g->tensors[i];
		strcpy(t.name, names[i]);
		t.h = h;
		t.w = w;
		t.c = c[i];
		t.q.scale = scale[i];
		t.q.zero_point = zp[i];
	}
	g->num_layers = 2;
	g->layers = static_cast<npui_layer *>(calloc(2, sizeof(npui_layer)));
	for (int i = 0; i < 2; i++) {
		npui_layer &l = g->layers[i];
		const int k = i == 0 ? 3 : 1;

		strcpy(l.name, names[i + 1]);
		l.op = NPUI_OP_CONV;
		l.act = i == 0 ? NPUI_ACT_RELU : NPUI_ACT_NONE;
		l.num_inputs = 1;
		l.inputs[0] = i;
		l.output = i + 1;
		l.kh = l.kw = k;
		l.stride_h = l.stride_w = 1;
		l.pad_t = l.pad_l = l.pad_b = l.pad_r = k / 2;
		l.groups = 1;
		l.weights_count = npui_layer_weights_expected(g, &l);
		l.weights = static_cast<int8_t *>(malloc(l.weights_count));
		l.bias = static_cast<int32_t *>(malloc(c[i + 1] * sizeof(int32_t)));
		l.w_scale = static_cast<float *>(malloc(c[i + 1] * sizeof(float)));
		std::uniform_int_distribution<int> wd(-127, 127), bd(-500, 500);
		std::uniform_real_distribution<float> sd(0.002f, 0.02f);
		for (size_t j = 0; j < l.weights_count; j++)
			l.weights[j] = static_cast<int8_t>(wd(rng));
		for (int j = 0; j < c[i + 1]; j++) {
			l.bias[j] = bd(rng);
			l.w_scale[j] = sd(rng);
		}
	}
	g->input = 0;
	g->output = 2;

	void *data = nullptr;
	size_t size = 0;
	std::vector<uint8_t> v;
	if (npui_model_serialize(g, &data, &size) == 0)
		v.assign(static_cast<uint8_t *>(data), static_cast<uint8_t *>(data) + size);
	free(data);
	npui_graph_free(g);
	return v;
}

// Deterministic int8 input bytes.
inline void FillInput(int8_t *x, size_t n, uint32_t seed)
{
	std::mt19937 rng(seed);
	std::uniform_int_distribution<int> d(-128, 127);
	for (size_t i = 0; i < n; i++)
		x[i] = static_cast<int8_t>(d(rng));
}

} // namespace npu_test

#endif // NPU_TEST_BUFFER_MODEL_H
